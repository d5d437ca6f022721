/* cli/plot_gp.c — the figures of `ssmkit plot`: a gnuplot script generated from the figure's
 * description (series names, channels, peaks, pspec blocks), read from the TSV the command just
 * wrote, and run by gnuplot with the script on its standard input and the image on its standard
 * output, which is a temporary file beside FILE.png|svg renamed into place only when gnuplot
 * succeeded (no half-written figure).  No shell is involved: paths and labels reach gnuplot as
 * single-quoted strings ('' escapes a quote) and labels are drawn `noenhanced`. */
#define _POSIX_C_SOURCE 200809L
#include "cli/plot.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* the legend right of the panels, text left-aligned after its sample, in the margin */
static const char KEY[] = "set key outside right top Left reverse font ',9' spacing 1.1 width -2\n"
                          "set lmargin 12\nset rmargin at screen 0.64\n";

static const char *const COLOURS[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e",
                                      "#e6ab02", "#a6761d", "#1f78b4", "#e31a1c", "#666666"};

int plot_have_gnuplot(void)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        return 0;
    char dir[4096];
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        if (n && n + 9 < sizeof dir) {
            snprintf(dir, sizeof dir, "%.*s/gnuplot", (int)n, p);
            struct stat st;
            if (stat(dir, &st) == 0 && S_ISREG(st.st_mode) && access(dir, X_OK) == 0)
                return 1;
        }
        p += n;
        if (*p == ':')
            p++;
    }
    return 0;
}

/* a gnuplot single-quoted string: '' stands for ' and nothing else is special */
static void gp_str(FILE *g, const char *s)
{
    fputc('\'', g);
    for (; *s; s++) {
        if (*s == '\n' || *s == '\r')
            fputc(' ', g);
        else {
            if (*s == '\'')
                fputc('\'', g);
            fputc(*s, g);
        }
    }
    fputc('\'', g);
}

/* the legend entry: the series, its channel (MIMO), the reference, the peak of the panel */
static void curve_title(char *t, size_t cap, const plot_figure *fig, const plot_curve *c, const char *mark)
{
    int mimo = 0, n;
    for (size_t i = 0; i < fig->count; i++)
        mimo |= fig->curve[i].out || fig->curve[i].in;
    n = snprintf(t, cap, "%s", c->label);
    if (mimo && n >= 0 && (size_t)n < cap)
        n += snprintf(t + n, cap - (size_t)n, " [y%zu <- u%zu]", c->out, c->in);
    if (c->is_vs && n >= 0 && (size_t)n < cap)
        n += snprintf(t + n, cap - (size_t)n, " (reference)");
    if (mark && n >= 0 && (size_t)n < cap) {
        int sup = strcmp(mark, "sup") == 0;
        if (sup)
            snprintf(t + n, cap - (size_t)n, ": sup %.4g at ω = %.4g", c->sup, c->omega);
        else
            snprintf(t + n, cap - (size_t)n, ": sup %.4g at ω = %.4g", c->dsup / c->dscale, c->domega);
    }
}

/* the terminal, the data file, the colours and the multiplot of `rows` × `cols` panels */
static void preamble(FILE *g, const plot_figure *fig, int width, int height, int rows, int cols, const char *title)
{
    if (fig->svg)
        fprintf(g, "set terminal svg size %d,%d dynamic enhanced font 'DejaVu Sans,12' background '#ffffff'\n", width,
                height);
    else
        fprintf(g, "set terminal pngcairo size %d,%d enhanced font 'DejaVu Sans,11'\n", width, height);
    fputs("f = ", g); /* whitespace-separated: the labels have no blanks (contour tables need it) */
    gp_str(g, fig->tsv);
    fputc('\n', g);
    for (size_t k = 0; k < sizeof COLOURS / sizeof *COLOURS; k++)
        fprintf(g, "set linetype %zu lc rgb '%s' lw 1.6\n", k + 1, COLOURS[k]);
    fprintf(g, "set linetype cycle %zu\nset grid\n", sizeof COLOURS / sizeof *COLOURS);
    fprintf(g, "set multiplot layout %d,%d title ", rows, cols);
    gp_str(g, fig->title ? fig->title : title);
    fputs(" noenhanced font ',13'\n", g);
}

/* the selection of one curve's rows: x where series, output and input match, else NaN */
static void sel(FILE *g, const plot_curve *c, int xcol, const char *extra)
{
    fputs("(strcol(1) eq ", g);
    gp_str(g, c->label);
    fprintf(g, " && $2 == %zu && $3 == %zu%s ? $%d : NaN)", c->out, c->in, extra ? extra : "", xcol);
}

/* one panel of bode or kernel: every curve (lines), its marked peak rows, the reference in grey */
static void curves_panel(FILE *g, const plot_figure *fig, const char *ycol, int errors, const char *mark)
{
    int first = 1, lt = 0;
    fputs("plot ", g);
    for (size_t k = 0; k < fig->count; k++) {
        const plot_curve *c = &fig->curve[k];
        if (errors && c->is_vs)
            continue;
        char t[200];
        curve_title(t, sizeof t, fig, c, mark);
        fputs(first ? "f using " : ", \\\n     f using ", g);
        first = 0;
        sel(g, c, 4, NULL);
        if (c->is_vs)
            fprintf(g, ":%s with lines lw 5 lc rgb '#b0b0b0' title ", ycol);
        else
            fprintf(g, ":%s with lines lt %d title ", ycol, ++lt);
        gp_str(g, t);
        fputs(" noenhanced", g);
        if (mark) { /* the refined peak of this curve */
            char cond[64];
            snprintf(cond, sizeof cond, " && strcol(5) eq '%s'", mark);
            fputs(", \\\n     f using ", g);
            sel(g, c, 4, cond);
            if (c->is_vs)
                fprintf(g, ":%s with points pt 7 ps 1.3 lc rgb '#808080' notitle", ycol);
            else
                fprintf(g, ":%s with points pt 7 ps 1.3 lt %d notitle", ycol, lt);
        }
    }
    if (mark)
        fprintf(g, ", \\\n     NaN with points pt 7 ps 1.3 lc rgb 'black' title '%s'",
                strcmp(mark, "sup") == 0 ? "refined sup (marked)" : "refined sup of |G - G_vs| (marked)");
    fputc('\n', g);
}

static void bode_script(FILE *g, const plot_figure *fig)
{
    int rows = fig->vs ? 3 : 2;
    char title[200];
    snprintf(title, sizeof title, "Bode plot: |G(iω)| and arg G(iω) on a log grid plus every pole's |Im λ| and the "
                                  "refined sup%s", fig->vs ? "; error against the reference" : "");
    preamble(g, fig, 1400, 330 * rows + 60, rows, 1, title);
    fprintf(g, "set logscale x\nset format x '10^{%%T}'\nset xrange [%.17g:%.17g]\n", fig->lo, fig->hi);
    fputs(KEY, g);
    fputs("set logscale y\nset format y '10^{%T}'\nset ylabel '|G(iω)|'\nset xlabel ''\n", g);
    curves_panel(g, fig, "6", 0, "sup");
    fputs("unset logscale y\nset format y '%g'\nset ylabel 'arg G(iω)  (degrees, unwrapped)'\n", g);
    if (!fig->vs)
        fputs("set xlabel 'frequency ω'\n", g);
    curves_panel(g, fig, "7", 0, NULL);
    if (fig->vs) {
        fputs("set logscale y\nset format y '10^{%T}'\nset ylabel '|G - G_{vs}| / sup|G_{vs}|'\n"
              "set xlabel 'frequency ω'\n", g);
        curves_panel(g, fig, "9", 1, "diffsup");
    }
    fputs("unset multiplot\n", g);
}

static void kernel_script(FILE *g, const plot_figure *fig)
{
    int rows = fig->vs ? 3 : 2;
    char title[200];
    snprintf(title, sizeof title, "ZOH convolution kernel K_l = C Ā^l B̄ at Δ = %.6g, l = 0 … %zu", fig->dt,
             fig->length - 1);
    preamble(g, fig, 1400, 330 * rows + 60, rows, 1, title);
    fprintf(g, "set xrange [0:%zu]\n", fig->length - 1);
    fputs(KEY, g);
    fputs("set ylabel 'K_l  (real part)'\nset xlabel ''\n", g);
    curves_panel(g, fig, "5", 0, NULL);
    fputs("set logscale y\nset format y '10^{%T}'\nset ylabel '|K_l|'\n", g);
    if (!fig->vs)
        fputs("set xlabel 'l  (steps of Δ)'\n", g);
    curves_panel(g, fig, "(sqrt($5**2 + $6**2))", 0, NULL);
    if (fig->vs) {
        fputs("set ylabel '|K_l - K_{vs,l}| / max|K_{vs}|'\nset xlabel 'l  (steps of Δ)'\n", g);
        curves_panel(g, fig, "8", 1, NULL);
    }
    fputs("unset multiplot\n", g);
}

static void spectrum_script(FILE *g, const plot_figure *fig)
{
    preamble(g, fig, 1400, 800, 1, 1, "Eigenvalues of the state matrix; κ(V) of the unit-column eigenvectors");
    fputs("set xlabel 'Re λ'\nset ylabel 'Im λ'\nset xzeroaxis lt -1 lw 0.5\nset yzeroaxis lt -1 lw 0.5\n", g);
    fputs(KEY, g);
    fputs("plot ", g);
    for (size_t k = 0; k < fig->count; k++) {
        const plot_curve *c = &fig->curve[k];
        char t[200];
        if (!(c->kappa * DBL_EPSILON <= 1e-3)) /* past ~4.5e12 double's eigenvectors cannot resolve κ */
            snprintf(t, sizeof t, "%s   (n = %zu, κ(V) = %.3g in double: unreliable, κε > 1e-3; ssmkit eig --prec 256)",
                     c->label, c->n, c->kappa);
        else
            snprintf(t, sizeof t, "%s   (n = %zu, κ(V) = %.3g)", c->label, c->n, c->kappa);
        fprintf(g, "%sf using (strcol(1) eq ", k ? ", \\\n     " : "");
        gp_str(g, c->label);
        fprintf(g, " ? $2 : NaN):3 with points pt %zu ps 1.1 lt %zu title ", (size_t)(k % 6) * 2 + 4, k + 1);
        gp_str(g, t);
        fputs(" noenhanced", g);
    }
    fputs("\nunset multiplot\n", g);
}

/* contour levels: the decades of log10 σ_min inside the data (every other one past 12) */
static void pspec_levels(FILE *g, const plot_curve *c)
{
    double lo = log10(fmax(c->smin, 1e-300)), hi = log10(fmax(c->smax, 1e-300));
    int a = (int)ceil(fmax(lo, -16.0)), b = (int)floor(hi), step = b - a > 11 ? 2 : 1;
    if (b - a < 2) { /* less than two decades: half decades */
        a = (int)ceil(2.0 * fmax(lo, -16.0));
        b = (int)floor(2.0 * hi);
        if (b < a) {
            fputs("set cntrparam levels 6\n", g);
            return;
        }
        fputs("set cntrparam levels discrete ", g);
        for (int v = a; v <= b; v++)
            fprintf(g, "%s%g", v == a ? "" : ",", 0.5 * v);
        fputc('\n', g);
        return;
    }
    fputs("set cntrparam levels discrete ", g);
    for (int v = a; v <= b; v += step)
        fprintf(g, "%s%d", v == a ? "" : ",", v);
    fputc('\n', g);
}

static void pspec_script(FILE *g, const plot_figure *fig)
{
    int cols = fig->count <= 3 ? (int)fig->count : (int)((fig->count + 1) / 2), rows = fig->count <= 3 ? 1 : 2;
    preamble(g, fig, 620 * cols, 560 * rows + 60, rows, cols,
             "ε-pseudospectra: log10 σ_min(zI − A), contours at its decades, dots = eigenvalues");
    fputs("set palette defined (0 '#08306b', 0.25 '#2171b5', 0.5 '#41ab5d', 0.75 '#fe9929', 1 '#d7301f')\n"
          "set xlabel 'Re z'\nset ylabel 'Im z'\nunset key\nset cblabel 'log_{10} σ_{min}'\n", g);
    for (size_t k = 0; k < fig->count; k++) {
        const plot_curve *c = &fig->curve[k];
        size_t b0 = c->block0, b1 = c->block0 + fig->ny - 1, be = c->block0 + fig->ny;
        const char *z = "(log10($5 > 1e-300 ? $5 : 1e-300))";
        fputs("reset\n", g); /* keeps the terminal, the multiplot, f and $C */
        fputs("set contour base\nunset surface\nset view map\n", g);
        pspec_levels(g, c);
        fprintf(g, "set table $C%zu\nsplot f every :::%zu::%zu using 3:4:%s with lines\nunset table\n", k, b0, b1, z);
        /* explicit: only the contour curves themselves; two curves of equal length would otherwise
         * read as a grid and be joined by cross lines */
        fputs("unset contour\nset surface explicit\nset view map\nset pm3d map\n", g);
        fputs("set palette defined (0 '#08306b', 0.25 '#2171b5', 0.5 '#41ab5d', 0.75 '#fe9929', 1 '#d7301f')\n"
              "set xlabel 'Re z'\nset ylabel 'Im z'\nunset key\nset cblabel 'log_{10} σ_{min}'\n", g);
        fprintf(g, "set xrange [%.17g:%.17g]\nset yrange [%.17g:%.17g]\n", c->box[0], c->box[1], c->box[2], c->box[3]);
        char t[200];
        snprintf(t, sizeof t, "%s   (n = %zu; σ_{min} from %.2g to %.2g)", c->label, c->n, c->smin, c->smax);
        fputs("set title ", g);
        gp_str(g, t);
        fputs(" font ',11'\n", g);
        fprintf(g, "splot f every :::%zu::%zu using 3:4:%s with pm3d, \\\n"
                   "      $C%zu using 1:2:(0) with lines lw 1 lc rgb 'black', \\\n"
                   "      f every :::%zu::%zu using 3:4:(0) with points pt 7 ps 0.6 lc rgb 'white'\n",
                b0, b1, z, k, be, be);
    }
    fputs("unset multiplot\n", g);
}

static void script(FILE *g, const plot_figure *fig)
{
    switch (fig->kind) {
    case PLOT_BODE: bode_script(g, fig); break;
    case PLOT_KERNEL: kernel_script(g, fig); break;
    case PLOT_SPECTRUM: spectrum_script(g, fig); break;
    case PLOT_PSPEC: pspec_script(g, fig); break;
    }
}

/* run gnuplot: script on stdin, image on stdout (fd), its messages into errfd */
static int run_gnuplot(const plot_figure *fig, int fd, int errfd)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(pfd[0], 0);
        dup2(fd, 1);
        dup2(errfd, 2);
        close(pfd[0]);
        close(pfd[1]);
        execlp("gnuplot", "gnuplot", (char *)NULL);
        _exit(127);
    }
    close(pfd[0]);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN); /* gnuplot may stop reading on an error */
    FILE *g = fdopen(pfd[1], "w");
    if (g) {
        script(g, fig);
        fclose(g);
    } else {
        close(pfd[1]);
    }
    signal(SIGPIPE, old);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int plot_draw(const plot_figure *fig)
{
    if (!plot_have_gnuplot()) {
        fprintf(stderr, "ssmkit: plot: figure skipped: gnuplot is not installed (apt-get install gnuplot-nox); the data "
                        "is in %s\n", fig->tsv);
        return EXIT_CHECK;
    }
    ssm_atomic *at = NULL;
    FILE *img = NULL, *err = tmpfile();
    ssm_status s = ssm_atomic_open(&at, &img, fig->image);
    if (s != SSM_OK || !err) {
        if (err) fclose(err);
        return s != SSM_OK ? cli_fail(s) : cli_usage_error("plot: cannot create a temporary file");
    }
    fflush(img);
    int rc = run_gnuplot(fig, fileno(img), fileno(err));
    struct stat st;
    int empty = fstat(fileno(img), &st) != 0 || st.st_size == 0;
    if (rc != 0 || empty) {
        ssm_atomic_abort(at);
        char line[300] = "", buf[300];
        rewind(err);
        while (fgets(buf, sizeof buf, err)) /* gnuplot's last line that says something: the error */
            if (strspn(buf, " \t\n^") != strlen(buf))
                snprintf(line, sizeof line, "%s", buf + strspn(buf, " \t"));
        line[strcspn(line, "\n")] = '\0';
        fprintf(stderr, "ssmkit: plot: gnuplot failed (exit %d)%s%s; the data is in %s\n", rc, *line ? ": " : "", line,
                fig->tsv);
        fclose(err);
        return EXIT_CHECK;
    }
    fclose(err);
    if ((s = ssm_atomic_commit(at)) != SSM_OK)
        return cli_fail(s);
    return 0;
}
