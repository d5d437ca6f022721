/* cli/cmd_plot.c — `ssmkit plot bode|pspec|spectrum|kernel SPEC... -o FILE.png|svg`: the user's
 * own systems drawn, with the data beside the figure (FILE.tsv).
 *
 * Every TSV is one table in long format: the first line holds the column names (so that
 * numpy.genfromtxt(names=True), which takes its names from the first line, even from a '#'
 * comment line, and pandas.read_csv(sep='\t', comment='#') both read it), then '#' comment lines
 * (program, command line, what each column means, the refined peaks), then the rows, one series
 * after another (the `series` column; values without blanks or '#').  pspec rows come in blocks of
 * one grid row each (single blank lines, which both readers skip) for gnuplot's pm3d. */
#define _POSIX_C_SOURCE 200809L
#include "cli/plot.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char HELP[] =
    "usage: ssmkit plot KIND SPEC [SPEC...] -o FILE.png|FILE.svg [options]\n"
    "\n"
    "Draw systems and write the data beside the figure: FILE.tsv (same stem), one table with a\n"
    "header row of column names (then '#' comments), long format with a 'series' column: read\n"
    "it with pandas.read_csv(f, sep='\\t', comment='#') or numpy.genfromtxt(f, names=True, dtype=None,\n"
    "encoding=None).  Up to 8 SPECs, overlaid (pspec: one panel each).\n"
    "\n"
    "KIND:\n"
    "  bode      magnitude |G(iw)| and unwrapped phase; every curve is drawn on a log grid plus\n"
    "            its poles' |Im lambda| and its refined sup (marked), so no resonance falls between\n"
    "            points; with --vs a third panel, |G - G_vs|(w) / sup|G_vs| (its sup marked).\n"
    "            Columns: series output input omega point abs phase_deg [absdiff relerr]\n"
    "            (point: grid, pole, sup, diffsup)\n"
    "  pspec     sigma_min(zI - A) as colour with log10 contours, eigenvalues on top; one panel per\n"
    "            SPEC on EigTool's box (or --box).  Columns: series point re im sigma_min\n"
    "            (point: grid, eig; sigma_min = 0 at an eigenvalue by definition)\n"
    "  spectrum  the eigenvalues in the complex plane, kappa_2(V) (unit columns) from the matrix.\n"
    "            Columns: series re im kappa_V\n"
    "  kernel    the discrete convolution kernel K_l = C Abar^l Bbar, l = 0..L-1, under zero-order\n"
    "            hold at step --dt (what an S4D layer computes: for an init file 2 Re sum C~ B~\n"
    "            (e^{dt L} - 1)/L e^{l dt L} with its C~ = C_target V, B~ as stored, as\n"
    "            ssmkit.torch.S4DKernel.from_init(f, C=\"file\"); D is the skip term, not in K).\n"
    "            Columns: series output input l k k_im [absdiff relerr]\n"
    "\n"
    "SPEC: an init file (its model), init:METHOD:N, hippo:MEASURE:N (C from --C), target:FILE, a\n"
    "(A, B, C[, D]) .safetensors (F64) or .npz (float64/complex128; B [n,m] or [n], C [p,n] or [n],\n"
    "D [p,m] or scalar), and for pspec/spectrum also a matrix file (.npy, .npz with A, .tsv,\n"
    ".safetensors with A).  MIMO systems: every channel (output i, input j) is a curve of its own\n"
    "(magnitude and phase; --channel I:J picks one); at most 32 curves in all.\n"
    "\n"
    "options:\n"
    "  -o FILE.png|FILE.svg   the figure (the format from the extension); FILE.tsv beside it\n"
    "  --omega LO:HI[:COUNT]  bode band and drawn log points (default: two decades below the\n"
    "                         smallest |lambda| to one above the largest, 1000 points)\n"
    "  --vs SPEC              bode, kernel: the reference (drawn too), with the error panel\n"
    "  --channel I:J          MIMO: output I, input J only (0-based)\n"
    "  --dt DT                kernel: the step Delta (required)\n"
    "  --length L             kernel: L (default 1000)\n"
    "  --b-half               kernel of init files: fold B~/2 (the S4D theory's system) instead of B~\n"
    "  --grid NX[xNY]         pspec grid (default 100x100)\n"
    "  --box X0:X1:Y0:Y1      pspec region (default: EigTool's box of each SPEC)\n"
    "  --C KIND, --seed S     C of hippo: specs (ones, random, legendre; default ones)\n"
    "  --title TEXT           the figure's title\n"
    "  --data-only            write FILE.tsv only (no gnuplot)\n"
    "  -q, --quiet            no summary line\n"
    "Exit status: 0 done; 1 a numerical failure, or gnuplot missing or failing (FILE.tsv is\n"
    "written, the figure is not: use --data-only where gnuplot is absent); 2 bad usage or input.\n";

static const char *const KINDS[] = {"bode", "pspec", "spectrum", "kernel"};
enum { O_OMEGA = 1000, O_VS, O_CHANNEL, O_DT, O_LENGTH, O_BHALF, O_GRID, O_BOX, O_C, O_SEED, O_TITLE, O_DATA };

static int parse_num(double *v, const char *opt, const char *text)
{
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(*v))
        return cli_usage_error("plot: %s must be a number, got '%s'", opt, text), 0;
    return 1;
}

/* "A:B[:C]" of numbers; returns how many were read (0 on a syntax error) */
static int parse_fields(double *v, int most, const char *text)
{
    char *end;
    const char *p = text;
    for (int k = 0; k < most; k++) {
        errno = 0;
        v[k] = strtod(p, &end);
        if (end == p || errno || !isfinite(v[k]))
            return 0;
        if (*end == '\0')
            return k + 1;
        if (*end != ':')
            return 0;
        p = end + 1;
    }
    return 0;
}

static int parse_option(plot_opts *o, int c, const char *arg)
{
    double v[4];
    long l;
    char *end;
    switch (c) {
    case 'o': o->out = arg; return -1;
    case 'q': o->quiet = 1; return -1;
    case O_VS: o->vs = arg; return -1;
    case O_TITLE: o->title = arg; return -1;
    case O_BHALF: o->b_half = 1; return -1;
    case O_DATA: o->data_only = 1; return -1;
    case O_OMEGA: {
        int k = parse_fields(v, 3, arg);
        if (k < 2 || !(v[0] > 0 && v[1] > v[0]) || (k == 3 && !(v[2] >= 10 && v[2] <= 1e6 && v[2] == floor(v[2]))))
            return cli_usage_error("plot: --omega '%s' must be LO:HI[:COUNT] with 0 < LO < HI, 10 <= COUNT <= 1e6", arg);
        o->lo = v[0]; o->hi = v[1]; o->have_omega = 1;
        if (k == 3) o->count = (size_t)v[2];
        return -1;
    }
    case O_CHANNEL: {
        int k = parse_fields(v, 2, arg);
        if (k != 2 || !(v[0] >= 0 && v[1] >= 0 && v[0] < 64 && v[1] < 64) || v[0] != floor(v[0]) || v[1] != floor(v[1]))
            return cli_usage_error("plot: --channel '%s' must be OUTPUT:INPUT (0-based integers below 64)", arg);
        o->ch_out = (size_t)v[0]; o->ch_in = (size_t)v[1]; o->have_channel = 1;
        return -1;
    }
    case O_DT:
        if (!parse_num(&o->dt, "--dt", arg)) return EXIT_USAGE;
        return o->dt > 0 ? -1 : cli_usage_error("plot: --dt must be positive, got %s", arg);
    case O_LENGTH:
        if (!cli_parse_long(&l, "--length", arg, 1, 1000000)) return EXIT_USAGE;
        o->length = (size_t)l;
        return -1;
    case O_GRID: {
        errno = 0;
        unsigned long a = strtoul(arg, &end, 10), b = a;
        if (!errno && end != arg && *end == 'x')
            b = strtoul(end + 1, &end, 10);
        if (errno || *end || a < 2 || b < 2 || a > 1000 || b > 1000 || arg[0] == '-')
            return cli_usage_error("plot: --grid '%s' must be NX or NXxNY with 2 <= NX, NY <= 1000", arg);
        o->nx = a; o->ny = b;
        return -1;
    }
    case O_BOX:
        if (parse_fields(o->box, 4, arg) != 4 || !(o->box[1] > o->box[0] && o->box[3] > o->box[2]))
            return cli_usage_error("plot: --box '%s' must be X0:X1:Y0:Y1 with X0 < X1, Y0 < Y1", arg);
        o->have_box = 1;
        return -1;
    case O_C:
        if (strcmp(arg, "ones") == 0) o->io.C = SSM_C_ONES;
        else if (strcmp(arg, "random") == 0) o->io.C = SSM_C_RANDOM;
        else if (strcmp(arg, "legendre") == 0) o->io.C = SSM_C_LEGENDRE;
        else return cli_usage_error("plot: --C must be ones, random or legendre, got '%s'", arg);
        return -1;
    case O_SEED:
        if (!cli_parse_long(&l, "--seed", arg, 0, 0x7fffffffL)) return EXIT_USAGE;
        o->io.seed = (unsigned long)l;
        return -1;
    }
    return EXIT_USAGE;
}

/* the kind, with "did you mean" */
static int parse_kind(plot_kind *k, const char *name)
{
    for (size_t i = 0; i < sizeof KINDS / sizeof *KINDS; i++)
        if (strcmp(name, KINDS[i]) == 0)
            return *k = (plot_kind)i, -1;
    const char *near = ssm_closest_name(name, KINDS, sizeof KINDS / sizeof *KINDS, 3);
    if (near)
        return cli_usage_error("plot: unknown kind '%s'; did you mean '%s'? (bode pspec spectrum kernel)", name, near);
    return cli_usage_error("plot: unknown kind '%s' (bode pspec spectrum kernel)", name);
}

/* the rules between options and kinds, checked before anything is read or computed */
static int check_opts(const plot_opts *o)
{
    static const char *const name[] = {"bode", "pspec", "spectrum", "kernel"};
    const char *k = name[o->kind];
    if (!o->out)
        return cli_usage_error("plot: missing -o FILE.png or FILE.svg");
    if (!cli_ends_with(o->out, ".png") && !cli_ends_with(o->out, ".svg"))
        return cli_usage_error("plot: -o '%s' must end in .png or .svg (the data goes to the .tsv beside it)", o->out);
    if (strlen(o->out) < 5 || o->out[strlen(o->out) - 5] == '/')
        return cli_usage_error("plot: -o '%s' needs a file name before the extension", o->out);
    if (o->nspec == 0)
        return cli_usage_error("plot %s: missing SPEC (see 'ssmkit plot --help')", k);
    if (o->nspec > PLOT_MAX_SPECS)
        return cli_usage_error("plot %s: %zu specs, at most %d", k, o->nspec, PLOT_MAX_SPECS);
    if (o->vs && (o->kind == PLOT_PSPEC || o->kind == PLOT_SPECTRUM))
        return cli_usage_error("plot %s: --vs applies to bode and kernel", k);
    if (o->kind == PLOT_KERNEL && !(o->dt > 0))
        return cli_usage_error("plot kernel: missing --dt DT (the step Delta)");
    if (o->kind != PLOT_KERNEL && (o->dt > 0 || o->length || o->b_half))
        return cli_usage_error("plot %s: --dt, --length and --b-half apply to kernel", k);
    if (o->kind != PLOT_BODE && o->have_omega)
        return cli_usage_error("plot %s: --omega applies to bode", k);
    if (o->kind != PLOT_PSPEC && (o->have_box || o->nx))
        return cli_usage_error("plot %s: --grid and --box apply to pspec", k);
    if (o->have_channel && (o->kind == PLOT_PSPEC || o->kind == PLOT_SPECTRUM))
        return cli_usage_error("plot %s: --channel applies to bode and kernel", k);
    for (const char *c = o->out; *c; c++)
        if ((unsigned char)*c < ' ')
            return cli_usage_error("plot: -o holds a control character");
    return cli_output_dir_ok(o->out) ? -1 : EXIT_USAGE;
}

/* the data file must not be one of the inputs (plot spectrum m.tsv -o m.png would replace m.tsv) */
static int check_inputs(const plot_opts *o, const char *tsv)
{
    struct stat a, b;
    int have = stat(tsv, &a) == 0;
    for (size_t k = 0; k <= o->nspec; k++) {
        const char *in = k < o->nspec ? o->spec[k] : o->vs;
        if (!in)
            continue;
        if (strncmp(in, "target:", 7) == 0)
            in += 7;
        if (strcmp(in, tsv) == 0 || (have && stat(in, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino))
            return cli_usage_error("plot: the data file %s would replace the input '%s' (choose another -o)", tsv, in);
    }
    return -1;
}

static const char *columns(const plot_opts *o)
{
    switch (o->kind) {
    case PLOT_BODE: return o->vs ? "series\toutput\tinput\tomega\tpoint\tabs\tphase_deg\tabsdiff\trelerr"
                                 : "series\toutput\tinput\tomega\tpoint\tabs\tphase_deg";
    case PLOT_KERNEL: return o->vs ? "series\toutput\tinput\tl\tk\tk_im\tabsdiff\trelerr" : "series\toutput\tinput\tl\tk\tk_im";
    case PLOT_SPECTRUM: return "series\tre\tim\tkappa_V";
    case PLOT_PSPEC: return "series\tpoint\tre\tim\tsigma_min";
    }
    return "";
}

static const char *meaning(const plot_opts *o)
{
    switch (o->kind) {
    case PLOT_BODE:
        return "# G(i omega) per channel (output, input; 0-based) of each series; abs = |G|, phase_deg = arg G unwrapped\n"
               "# along omega; point: grid (log grid), pole (a pole's |Im lambda|), sup (the refined sup of |G|),\n"
               "# diffsup (the refined sup of |G - G_vs|); absdiff = |G - G_vs|, relerr = absdiff / sup|G_vs| of the\n"
               "# same channel (0 on the reference's own rows)\n";
    case PLOT_KERNEL:
        return "# the ZOH convolution kernel K_l = C Abar^l Bbar (l = 0..L-1; D, the skip term, not included) per\n"
               "# channel: k = Re K_l, k_im = Im K_l (0 for real systems); absdiff = |K_l - K_vs,l|, relerr = absdiff /\n"
               "# max_l |K_vs,l| (0 on the reference's own rows)\n";
    case PLOT_SPECTRUM:
        return "# eigenvalues (re, im) of each series' state matrix (an init file: its model) by LAPACK zgeev;\n"
               "# kappa_V = kappa_2(V), unit-norm eigenvector columns, from the same decomposition\n";
    case PLOT_PSPEC:
        return "# sigma_min(zI - A) at z = re + i im: point grid (one block per grid row, blank-line separated) and\n"
               "# point eig (the eigenvalues, where sigma_min = 0 by definition)\n";
    }
    return "";
}

static int compute(plot_figure *fig, FILE *fp, const plot_opts *o)
{
    switch (o->kind) {
    case PLOT_BODE: return plot_bode(fig, fp, o);
    case PLOT_KERNEL: return plot_kernel(fig, fp, o);
    case PLOT_SPECTRUM: return plot_spectrum(fig, fp, o);
    case PLOT_PSPEC: return plot_pspec(fig, fp, o);
    }
    return EXIT_USAGE;
}

/* the data: FILE.tsv written atomically (names, comments, rows); -1 on success */
static int write_data(plot_figure *fig, const plot_opts *o)
{
    ssm_atomic *at = NULL;
    FILE *fp = NULL;
    ssm_status s = ssm_atomic_open(&at, &fp, fig->tsv);
    if (s != SSM_OK)
        return cli_fail(s);
    fprintf(fp, "%s\n# ssmkit %s plot %s\n# command: %s\n%s", columns(o), SSM_VERSION, KINDS[o->kind],
            cli_command_line(), meaning(o));
    int rc = compute(fig, fp, o);
    if (rc >= 0) {
        ssm_atomic_abort(at);
        return rc;
    }
    if ((s = ssm_atomic_commit(at)) != SSM_OK)
        return cli_fail(s);
    return -1;
}

static int parse(plot_opts *o, int argc, char **argv)
{
    static const struct option LONG[] = {
        {"help", no_argument, NULL, 'h'},          {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},         {"omega", required_argument, NULL, O_OMEGA},
        {"vs", required_argument, NULL, O_VS},     {"channel", required_argument, NULL, O_CHANNEL},
        {"dt", required_argument, NULL, O_DT},     {"length", required_argument, NULL, O_LENGTH},
        {"b-half", no_argument, NULL, O_BHALF},    {"grid", required_argument, NULL, O_GRID},
        {"box", required_argument, NULL, O_BOX},   {"C", required_argument, NULL, O_C},
        {"seed", required_argument, NULL, O_SEED}, {"title", required_argument, NULL, O_TITLE},
        {"data-only", no_argument, NULL, O_DATA},  {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->io = ssm_init_opts_default();
    o->io.C = SSM_C_ONES;
    opterr = 0;
    optind = 1;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":ho:q", LONG, NULL)) != -1) {
        if (c == 'h')
            return fputs(HELP, stdout), 0;
        if (c == ':')
            return cli_usage_error("plot: option '%s' needs a value", argv[optind - 1]);
        if (c == '?')
            return cli_usage_error("plot: unknown option '%s' (see 'ssmkit plot --help')", argv[optind - 1]);
        if ((rc = parse_option(o, c, optarg)) >= 0)
            return rc;
    }
    if (optind >= argc)
        return cli_usage_error("plot: missing KIND (bode pspec spectrum kernel; see 'ssmkit plot --help')");
    if ((rc = parse_kind(&o->kind, argv[optind])) >= 0)
        return rc;
    o->spec = argv + optind + 1;
    o->nspec = (size_t)(argc - optind - 1);
    if (!o->count) o->count = 1000;
    if (!o->length && o->kind == PLOT_KERNEL) o->length = 1000;
    return check_opts(o);
}

int cmd_plot(int argc, char **argv)
{
    plot_opts o;
    int rc = parse(&o, argc, argv);
    if (rc >= 0)
        return rc;
    size_t n = strlen(o.out);
    char *tsv = malloc(n + 1);
    plot_curve *curves = calloc(PLOT_MAX_CURVES, sizeof *curves);
    if (!tsv || !curves) {
        free(tsv); free(curves);
        return cli_usage_error("out of memory");
    }
    memcpy(tsv, o.out, n - 4);
    memcpy(tsv + n - 4, ".tsv", 5);
    if ((rc = check_inputs(&o, tsv)) >= 0) {
        free(tsv); free(curves);
        return rc;
    }
    plot_figure fig = {.kind = o.kind, .image = o.out, .tsv = tsv, .title = o.title, .svg = cli_ends_with(o.out, ".svg"),
                       .vs = o.vs != NULL, .curve = curves, .nx = o.nx ? o.nx : 100, .ny = o.ny ? o.ny : 100,
                       .dt = o.dt, .length = o.length};
    rc = write_data(&fig, &o);
    if (rc < 0 && !o.quiet)
        printf("plot %s: %s (%zu %s)\n", KINDS[o.kind], tsv, fig.count, o.kind == PLOT_PSPEC ? "panels" : o.kind == PLOT_SPECTRUM ? "spectra" : "curves");
    if (rc < 0 && !o.data_only) {
        rc = plot_draw(&fig);
        if (rc == 0 && !o.quiet)
            printf("figure: %s\n", o.out);
    }
    free(tsv);
    free(curves);
    return rc < 0 ? 0 : rc;
}
