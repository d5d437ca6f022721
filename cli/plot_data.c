/* cli/plot_data.c — the data of `ssmkit plot`: each kind reads its specs, computes, writes the
 * rows of the TSV (after the header cli/cmd_plot.c wrote) and describes the curves for the figure.
 *
 * bode: every curve is evaluated on the log grid merged with its poles' |Im λ| (and the
 * reference's) and the refined maxima of |G| and |G − G_vs| (ssm_dist_sup, Brent on every local
 * peak), ssm_tf_draw_grid: the drawn maximum of each curve is its refined sup, the number that
 * `ssmkit transfer SPEC --sup` prints.  kernel: analysis/kernel.c.  spectrum: ssm_diag_eig.
 * pspec: the pseudospectra plan of `ssmkit pspec` (analysis/pspec.c) on EigTool's box. */
#define _POSIX_C_SOURCE 200809L
#include "cli/plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- series labels and curves ---- */

static int label_taken(const char *label, const plot_figure *fig, const char (*more)[96], size_t nmore)
{
    for (size_t i = 0; i < fig->count; i++)
        if (strcmp(fig->curve[i].label, label) == 0)
            return 1;
    for (size_t i = 0; i < nmore; i++)
        if (strcmp(more[i], label) == 0)
            return 1;
    return 0;
}

void plot_label(char *dst, size_t cap, const char *spec, const plot_figure *fig, const char (*more)[96], size_t nmore)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)spec; *p && n + 1 < cap - 4; p++)
        dst[n++] = *p <= ' ' || *p == '#' || *p == '\'' || *p == '"' || *p == '\\' || *p == 127 ? '_' : (char)*p;
    dst[n] = '\0';
    for (int k = 2; k < 100 && label_taken(dst, fig, more, nmore); k++) /* the same spec twice: kept apart */
        snprintf(dst + n, cap - n, "_%d", k);
}

plot_curve *plot_add_curve(plot_figure *fig, const char *label, size_t out, size_t in)
{
    if (fig->count >= PLOT_MAX_CURVES)
        return NULL;
    plot_curve *c = &fig->curve[fig->count++];
    memset(c, 0, sizeof *c);
    snprintf(c->label, sizeof c->label, "%s", label);
    c->out = out;
    c->in = in;
    c->kappa = c->sup = c->omega = c->dsup = c->domega = NAN;
    return c;
}

/* a system of the figure: the spec, its eigenvalues and its poles' |Im λ| (sorted, unique) */
typedef struct {
    const char *spec;
    cli_system y;
    double complex *lam;
    size_t nlam;
    double *poles;
    size_t npoles;
    char label[96];
} psys;

static void psys_clear(psys *p)
{
    cli_system_clear(&p->y);
    free(p->lam);
    free(p->poles);
    memset(p, 0, sizeof *p);
}

static int psys_load(psys *p, const char *spec, const plot_opts *o, plot_figure *fig, const psys *before, size_t nbefore)
{
    memset(p, 0, sizeof *p);
    p->spec = spec;
    cli_spec_rules r = {.cmd = "plot", .nmax = 8192, .hippo_dense = 1, .io = &o->io, .init_nmax = 1024};
    int rc = cli_system_load(&p->y, spec, &r);
    if (rc >= 0)
        return rc;
    ssm_status s = cli_system_eigvals(&p->lam, &p->nlam, &p->y);
    if (s == SSM_OK && !(p->poles = malloc((p->nlam ? p->nlam : 1) * sizeof *p->poles)))
        s = SSM_ERROR(SSM_ENOMEM, "out of memory");
    for (size_t k = 0; s == SSM_OK && k < p->nlam; k++)
        p->poles[k] = fabs(cimag(p->lam[k]));
    if (s == SSM_OK)
        p->npoles = ssm_sort_unique(p->poles, p->nlam);
    if (s != SSM_OK) {
        psys_clear(p);
        return cli_fail(s);
    }
    char taken[PLOT_MAX_SPECS + 1][96];
    for (size_t k = 0; k < nbefore && k <= PLOT_MAX_SPECS; k++)
        memcpy(taken[k], before[k].label, sizeof taken[k]);
    plot_label(p->label, sizeof p->label, spec, fig, (const char (*)[96])taken, nbefore);
    return -1;
}

/* the specs (ys[0 .. nspec)) and the reference (ys[nspec], when --vs), with the channel rules */
static int load_all(psys *ys, size_t *n, const plot_opts *o, plot_figure *fig)
{
    size_t total = o->nspec + (o->vs ? 1 : 0), curves = 0;
    int rc = -1;
    *n = 0;
    for (size_t k = 0; rc < 0 && k < total; k++) {
        rc = psys_load(&ys[k], k < o->nspec ? o->spec[k] : o->vs, o, fig, ys, k);
        if (rc < 0)
            (*n)++;
    }
    for (size_t k = 0; rc < 0 && k < *n; k++) {
        const cli_system *y = &ys[k].y;
        if (o->have_channel && (o->ch_out >= y->p || o->ch_in >= y->m))
            rc = cli_usage_error("plot: --channel %zu:%zu is not a channel of '%s' (%zu outputs, %zu inputs)", o->ch_out,
                                 o->ch_in, ys[k].spec, y->p, y->m);
        else if (o->vs && k < o->nspec && (y->p != ys[o->nspec].y.p || y->m != ys[o->nspec].y.m))
            rc = cli_usage_error("plot: '%s' has %zu x %zu channels, the reference '%s' %zu x %zu", ys[k].spec, y->p, y->m,
                                 o->vs, ys[o->nspec].y.p, ys[o->nspec].y.m);
        curves += o->have_channel ? 1 : y->p * y->m;
    }
    if (rc < 0 && curves > PLOT_MAX_CURVES)
        rc = cli_usage_error("plot: %zu curves, at most %d (pick a channel with --channel OUTPUT:INPUT)", curves,
                             PLOT_MAX_CURVES);
    return rc;
}

/* the default band: two decades below the smallest |λ| ≠ 0 to one above the largest */
static void default_band(double *lo, double *hi, const psys *ys, size_t n)
{
    double rmin = INFINITY, rmax = 0.0;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < ys[k].nlam; i++) {
            double r = cabs(ys[k].lam[i]);
            if (r > 0.0 && isfinite(r)) {
                rmin = fmin(rmin, r);
                rmax = fmax(rmax, r);
            }
        }
    if (!(rmax > 0.0)) {
        *lo = 1e-3;
        *hi = 1e3;
        return;
    }
    *lo = pow(10.0, floor(log10(rmin)) - 2.0);
    *hi = pow(10.0, ceil(log10(rmax)) + 1.0);
}

/* the row nearest (in ln ω) to w: the refined peaks are on the grid, the band's ends nearly */
static size_t nearest(const double *grid, size_t count, double w)
{
    size_t best = 0;
    for (size_t k = 1; k < count; k++)
        if (fabs(log(grid[k] / w)) < fabs(log(grid[best] / w)))
            best = k;
    return best;
}

static int is_pole(const double *poles, size_t n, double w)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (poles[mid] < w) lo = mid + 1; else hi = mid;
    }
    return lo < n && poles[lo] == w;
}

typedef struct {
    ssm_tf_fn f, fvs;          /* the curve's transfer function, the reference's (eval NULL: none) */
    const double *extra;       /* the poles of both */
    size_t nextra;
    const double *poles;       /* the curve's own poles (sorted), for the point column */
    size_t npoles;
    double vs_sup;             /* sup |G_vs| of the channel (relerr's scale)                       */
} bode_in;

/* one curve: refined sups, the drawn grid, G (and G_vs) on it, the rows */
static ssm_status bode_curve(FILE *fp, plot_curve *c, const bode_in *b, const plot_opts *o, double lo, double hi)
{
    ssm_tf_fn none = {NULL, NULL};
    ssm_dist_opts d = {.omega_lo = lo, .omega_hi = hi, .grid = o->count > 2000 ? o->count : 2000, .extra = b->extra,
                       .extra_count = b->nextra};
    ssm_dist_info in, din;
    ssm_status s = ssm_dist_sup(&in, b->f, none, &d);
    if (s == SSM_OK && b->fvs.eval)
        s = ssm_dist_sup(&din, b->f, b->fvs, &d);
    double *ex = s == SSM_OK ? malloc((b->nextra + 2) * sizeof *ex) : NULL, *w = NULL, *ph = NULL;
    double complex *sv = NULL, *G = NULL, *Gv = NULL;
    size_t n = 0;
    if (s == SSM_OK && !ex)
        s = SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (s == SSM_OK) {
        memcpy(ex, b->extra, b->nextra * sizeof *ex);
        ex[b->nextra] = in.omega;
        ex[b->nextra + 1] = b->fvs.eval ? din.omega : in.omega;
        s = ssm_tf_draw_grid(&w, &n, lo, hi, o->count, ex, b->nextra + 2);
    }
    if (s == SSM_OK && (!(sv = malloc(n * sizeof *sv)) || !(G = malloc(n * sizeof *G)) ||
                        !(Gv = malloc(n * sizeof *Gv)) || !(ph = malloc(n * sizeof *ph))))
        s = SSM_ERROR(SSM_ENOMEM, "out of memory for %zu frequencies", n);
    for (size_t k = 0; s == SSM_OK && k < n; k++)
        sv[k] = CMPLX(0.0, w[k]);
    if (s == SSM_OK) s = b->f.eval(G, sv, n, b->f.ctx);
    if (s == SSM_OK && b->fvs.eval) s = b->fvs.eval(Gv, sv, n, b->fvs.ctx);
    if (s == SSM_OK) {
        ssm_tf_phase_unwrap(ph, G, n);
        size_t ks = nearest(w, n, in.omega), kd = b->fvs.eval ? nearest(w, n, din.omega) : n;
        c->sup = in.sup; c->omega = in.omega;
        if (b->fvs.eval) { c->dsup = din.sup; c->domega = din.omega; c->dscale = b->vs_sup; }
        fprintf(fp, "# %s[%zu,%zu]: refined sup |G| = %.17g at omega = %.17g (grid alone: %.17g)%s\n", c->label, c->out,
                c->in, in.sup, in.omega, in.grid_sup, in.at_edge ? "; at the band's edge" : "");
        if (b->fvs.eval)
            fprintf(fp, "# %s[%zu,%zu]: refined sup |G - G_vs| = %.17g at omega = %.17g; / sup|G_vs| = %.6g\n", c->label,
                    c->out, c->in, din.sup, din.omega, din.sup / b->vs_sup);
        for (size_t k = 0; k < n; k++) {
            const char *pt = k == ks ? "sup" : k == kd ? "diffsup" : is_pole(b->poles, b->npoles, w[k]) ? "pole" : "grid";
            fprintf(fp, "%s\t%zu\t%zu\t%.17g\t%s\t%.17g\t%.17g", c->label, c->out, c->in, w[k], pt, cabs(G[k]), ph[k]);
            if (o->vs) {
                double diff = b->fvs.eval ? cabs(G[k] - Gv[k]) : 0.0;
                fprintf(fp, "\t%.17g\t%.17g", diff, b->fvs.eval ? diff / b->vs_sup : 0.0);
            }
            fputc('\n', fp);
        }
    }
    free(ex); free(w); free(ph); free(sv); free(G); free(Gv);
    return s;
}

/* the channels of system k as curves (the reference first, so that relerr has its scale) */
static ssm_status bode_system(FILE *fp, plot_figure *fig, psys *ys, size_t k, const plot_opts *o, double *vs_sups)
{
    psys *p = &ys[k], *v = o->vs ? &ys[o->nspec] : NULL;
    int is_vs = v == p;
    double *extra = malloc((p->npoles + (v ? v->npoles : 0) + 1) * sizeof *extra);
    if (!extra)
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    size_t ne = p->npoles;
    memcpy(extra, p->poles, p->npoles * sizeof *extra);
    if (v && !is_vs) {
        memcpy(extra + ne, v->poles, v->npoles * sizeof *extra);
        ne += v->npoles;
    }
    ssm_status s = SSM_OK;
    for (size_t i = 0; s == SSM_OK && i < p->y.p; i++)
        for (size_t j = 0; s == SSM_OK && j < p->y.m; j++) {
            if (o->have_channel && (i != o->ch_out || j != o->ch_in))
                continue;
            plot_curve *c = plot_add_curve(fig, p->label, i, j);
            bode_in b = {.extra = extra, .nextra = ne, .poles = p->poles, .npoles = p->npoles,
                         .vs_sup = v ? vs_sups[i * v->y.m + j] : 1.0};
            c->is_vs = is_vs;
            s = cli_system_channel(&b.f, &p->y, i, j);
            if (s == SSM_OK && v && !is_vs)
                s = cli_system_channel(&b.fvs, &v->y, i, j);
            if (s == SSM_OK)
                s = bode_curve(fp, c, &b, o, fig->lo, fig->hi);
            if (s == SSM_OK && is_vs && !(c->sup > 0.0))
                s = SSM_ERROR(SSM_EINVAL, "plot: the reference '%s' has G = 0 on the band (channel %zu, %zu): no scale for "
                                          "the relative error", v->spec, i, j);
            if (s == SSM_OK && is_vs)
                vs_sups[i * v->y.m + j] = c->sup;
        }
    free(extra);
    return s;
}

int plot_bode(plot_figure *fig, FILE *fp, const plot_opts *o)
{
    psys ys[PLOT_MAX_SPECS + 1];
    double vs_sups[64 * 64];
    size_t n = 0;
    int rc = load_all(ys, &n, o, fig);
    if (rc < 0) {
        fig->lo = o->lo;
        fig->hi = o->hi;
        if (!o->have_omega)
            default_band(&fig->lo, &fig->hi, ys, n);
        fprintf(fp, "# band %.17g .. %.17g, %zu log points plus the poles and the refined peaks\n", fig->lo, fig->hi,
                o->count);
        ssm_status s = SSM_OK;
        if (o->vs)
            s = bode_system(fp, fig, ys, o->nspec, o, vs_sups);
        for (size_t k = 0; s == SSM_OK && k < o->nspec; k++)
            s = bode_system(fp, fig, ys, k, o, vs_sups);
        if (s != SSM_OK)
            rc = cli_fail(s);
    }
    for (size_t k = 0; k < n; k++)
        psys_clear(&ys[k]);
    return rc;
}

/* ---- kernel ---- */

/* K of every channel of system p (b_half: init files' B~/2); *K malloc'd [p·m·L] */
static ssm_status kernel_of(double complex **K, const psys *p, const plot_opts *o)
{
    size_t L = o->length, count = p->y.p * p->y.m;
    if (p->y.n > 4096 || (double)p->y.n * (double)p->y.n * (double)L * (double)count > 4e10)
        return SSM_ERROR(SSM_EINVAL, "plot kernel: '%s': %zu states x L = %zu is above what is supported here "
                                     "(n^2 L channels <= 4e10, n <= 4096)", p->spec, p->y.n, L);
    if (!(*K = malloc(count * L * sizeof **K)))
        return SSM_ERROR(SSM_ENOMEM, "out of memory for the kernel");
    ssm_status s = cli_system_kernel(*K, &p->y, o->dt, L);
    if (s == SSM_OK && o->b_half && p->y.is_modal)
        for (size_t k = 0; k < count * L; k++)
            (*K)[k] *= 0.5;
    return s;
}

static void kernel_rows(FILE *fp, plot_curve *c, const double complex *K, const double complex *Kv, double vs_max,
                        const plot_opts *o)
{
    size_t L = o->length, at = 0, atd = 0;
    double mx = -1.0, md = -1.0;
    for (size_t l = 0; l < L; l++) {
        double a = cabs(K[l]), d = Kv ? cabs(K[l] - Kv[l]) : 0.0;
        if (a > mx) { mx = a; at = l; }
        if (d > md) { md = d; atd = l; }
    }
    c->sup = mx;
    c->omega = (double)at;
    fprintf(fp, "# %s[%zu,%zu]: max_l |K_l| = %.17g at l = %zu", c->label, c->out, c->in, mx, at);
    if (Kv) {
        c->dsup = md;
        c->domega = (double)atd;
        c->dscale = vs_max;
        fprintf(fp, "; max_l |K_l - K_vs,l| = %.17g at l = %zu (/ max |K_vs| = %.6g)", md, atd, md / vs_max);
    }
    fputc('\n', fp);
    for (size_t l = 0; l < L; l++) {
        fprintf(fp, "%s\t%zu\t%zu\t%zu\t%.17g\t%.17g", c->label, c->out, c->in, l, creal(K[l]), cimag(K[l]));
        if (o->vs) {
            double d = Kv ? cabs(K[l] - Kv[l]) : 0.0;
            fprintf(fp, "\t%.17g\t%.17g", d, Kv ? d / vs_max : 0.0);
        }
        fputc('\n', fp);
    }
}

static ssm_status kernel_system(FILE *fp, plot_figure *fig, const psys *p, const double complex *Kv, int is_vs,
                                const plot_opts *o)
{
    double complex *K = NULL;
    ssm_status s = kernel_of(&K, p, o);
    size_t L = o->length;
    for (size_t i = 0; s == SSM_OK && i < p->y.p; i++)
        for (size_t j = 0; s == SSM_OK && j < p->y.m; j++) {
            if (o->have_channel && (i != o->ch_out || j != o->ch_in))
                continue;
            const double complex *Kc = K + (i * p->y.m + j) * L, *Kr = Kv && !is_vs ? Kv + (i * p->y.m + j) * L : NULL;
            double vs_max = 0.0;
            for (size_t l = 0; Kr && l < L; l++)
                vs_max = fmax(vs_max, cabs(Kr[l]));
            if (Kr && !(vs_max > 0.0)) {
                s = SSM_ERROR(SSM_EINVAL, "plot kernel: the reference's kernel is 0 (channel %zu, %zu): no scale for the "
                                          "relative error", i, j);
                break;
            }
            plot_curve *c = plot_add_curve(fig, p->label, i, j);
            c->is_vs = is_vs;
            kernel_rows(fp, c, Kc, Kr, vs_max, o);
        }
    free(K);
    return s;
}

int plot_kernel(plot_figure *fig, FILE *fp, const plot_opts *o)
{
    psys ys[PLOT_MAX_SPECS + 1];
    size_t n = 0;
    int rc = load_all(ys, &n, o, fig);
    double complex *Kv = NULL;
    if (rc < 0) {
        fprintf(fp, "# dt = %.17g, L = %zu, zero-order hold%s\n", o->dt, o->length,
                o->b_half ? "; init files with B~/2 (--b-half)" : "; init files with B~ as stored (no 1/2)");
        ssm_status s = SSM_OK;
        if (o->vs) {
            s = kernel_of(&Kv, &ys[o->nspec], o);
            if (s == SSM_OK)
                s = kernel_system(fp, fig, &ys[o->nspec], Kv, 1, o);
        }
        for (size_t k = 0; s == SSM_OK && k < o->nspec; k++)
            s = kernel_system(fp, fig, &ys[k], Kv, 0, o);
        if (s != SSM_OK)
            rc = cli_fail(s);
    }
    free(Kv);
    for (size_t k = 0; k < n; k++)
        psys_clear(&ys[k]);
    return rc;
}

/* ---- spectrum ---- */

static ssm_status spectrum_one(FILE *fp, plot_figure *fig, const cli_matrix *m, const char *spec)
{
    size_t n = m->A->rows;
    double complex *lam = malloc(n * sizeof *lam);
    ssm_zmat_t V, W;
    memset(V, 0, sizeof V);
    memset(W, 0, sizeof W);
    ssm_eig_info info;
    ssm_status s = lam ? ssm_zmat_init(V, n, n) : SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (s == SSM_OK) s = ssm_zmat_init(W, n, n);
    if (s == SSM_OK) s = ssm_diag_eig(lam, V, W, &info, m->A);
    /* κ and the backward error come from SVDs that report a failure (ENOMEM) as NaN */
    if (s == SSM_OK && (isnan(info.kappa_V) || isnan(info.backward_error)))
        s = SSM_ERROR(SSM_ENOMEM, "plot spectrum: kappa_V of '%s' could not be computed (its SVD failed: out of "
                                  "memory)", spec);
    if (s == SSM_OK) {
        char label[96];
        plot_label(label, sizeof label, spec, fig, NULL, 0);
        plot_curve *c = plot_add_curve(fig, label, 0, 0);
        c->kappa = info.kappa_V;
        c->n = n;
        fprintf(fp, "# %s: n = %zu, kappa_V = %.17g, backward error %.3g%s\n", label, n, info.kappa_V,
                info.backward_error, info.kappa_V * 2.220446049250313e-16 <= 1e-3 ? ""
                : " (kappa_V * eps > 1e-3: double cannot resolve it; 'ssmkit eig SPEC --prec 256' can)");
        for (size_t i = 0; i < n; i++)
            fprintf(fp, "%s\t%.17g\t%.17g\t%.17g\n", label, creal(lam[i]), cimag(lam[i]), info.kappa_V);
    }
    free(lam);
    ssm_zmat_clear(V);
    ssm_zmat_clear(W);
    return s;
}

int plot_spectrum(plot_figure *fig, FILE *fp, const plot_opts *o)
{
    for (size_t k = 0; k < o->nspec; k++) {
        cli_matrix m;
        int rc = cli_matrix_load(&m, o->spec[k], 1, "plot", 0); /* dense: the eigenvectors too */
        if (rc >= 0)
            return rc;
        if (m.A->rows > 4096) {
            cli_matrix_clear(&m);
            return cli_usage_error("plot spectrum: '%s' has n = %zu, above the 4096 supported here", o->spec[k],
                                   m.A->rows);
        }
        ssm_status s = spectrum_one(fp, fig, &m, o->spec[k]);
        cli_matrix_clear(&m);
        if (s != SSM_OK)
            return cli_fail(s);
    }
    return -1;
}

/* ---- pspec ---- */

static ssm_status pspec_one(FILE *fp, plot_figure *fig, const cli_matrix *m, const char *spec, const plot_opts *o,
                            size_t *blocks)
{
    size_t nx = fig->nx, ny = fig->ny, n = m->lambda ? m->P->rows : m->A->rows;
    ssm_status s = SSM_OK;
    ssm_pspec_plan *p = NULL;
    s = m->lambda ? ssm_pspec_plan_create_dplr(&p, m->lambda, m->P, m->P, m->real, NULL)
                  : ssm_pspec_plan_create(&p, m->A, NULL);
    double box[4], *sigma = NULL;
    double complex *ev = NULL;
    memcpy(box, o->box, sizeof box);
    if (s == SSM_OK && !o->have_box)
        s = cli_matrix_box(box, m, p);
    if (s == SSM_OK) s = cli_matrix_eigvals(&ev, m);
    if (s == SSM_OK && !(sigma = malloc(nx * ny * sizeof *sigma)))
        s = SSM_ERROR(SSM_ENOMEM, "out of memory");
    ssm_pspec_info info = {0};
    if (s == SSM_OK) {
        ssm_progress *bar = NULL;
        s = ssm_progress_create(&bar, "pspec", nx * ny, !o->quiet);
        if (s == SSM_OK)
            s = ssm_pspec_grid(sigma, p, box, nx, ny, &info, bar);
        ssm_progress_free(bar);
    }
    if (s == SSM_OK) {
        char label[96];
        plot_label(label, sizeof label, spec, fig, NULL, 0);
        plot_curve *c = plot_add_curve(fig, label, 0, 0);
        memcpy(c->box, box, sizeof box);
        c->n = n;
        c->block0 = *blocks;
        c->smin = INFINITY;
        c->smax = 0.0;
        for (size_t k = 0; k < nx * ny; k++) {
            c->smin = fmin(c->smin, sigma[k]);
            c->smax = fmax(c->smax, sigma[k]);
        }
        fprintf(fp, "# %s: n = %zu, route %s, grid %zux%zu over box %.17g:%.17g:%.17g:%.17g, %zu unconverged; sigma_min "
                    "from %.6g to %.6g\n", label, n, info.route, nx, ny, box[0], box[1], box[2], box[3], info.unconverged,
                c->smin, c->smax);
        for (size_t iy = 0; iy < ny; iy++) {
            double y = box[2] + (double)iy * (box[3] - box[2]) / (double)(ny - 1);
            for (size_t ix = 0; ix < nx; ix++)
                fprintf(fp, "%s\tgrid\t%.17g\t%.17g\t%.17g\n", label,
                        box[0] + (double)ix * (box[1] - box[0]) / (double)(nx - 1), y, sigma[iy * nx + ix]);
            fputc('\n', fp);
        }
        for (size_t i = 0; i < n; i++)
            fprintf(fp, "%s\teig\t%.17g\t%.17g\t0\n", label, creal(ev[i]), cimag(ev[i]));
        fputc('\n', fp);
        *blocks += ny + 1;
    }
    ssm_pspec_plan_free(p);
    free(sigma);
    free(ev);
    return s;
}

int plot_pspec(plot_figure *fig, FILE *fp, const plot_opts *o)
{
    fputc('\n', fp); /* the header is block 0; each series' grid rows and eigenvalues follow */
    size_t blocks = 1;
    for (size_t k = 0; k < o->nspec; k++) {
        cli_matrix m;
        int rc = cli_matrix_load(&m, o->spec[k], 0, "plot", 0);
        if (rc >= 0)
            return rc;
        ssm_status s = pspec_one(fp, fig, &m, o->spec[k], o, &blocks);
        cli_matrix_clear(&m);
        if (s != SSM_OK)
            return cli_fail(s);
    }
    return -1;
}
