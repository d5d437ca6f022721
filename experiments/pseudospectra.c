/* experiments/pseudospectra.c — Λ_ε of HiPPO-LegS, S4D-LegS and PTD (doc/reference.md §4, §5, §7):
 * σ_min(zI − A) on a grid, the eigenvalues, the resolved ε-boundaries (contour.c) and three scalars that
 * say the same in numbers — the pseudospectral abscissa α_ε at ε = 1e-2·‖A‖₂ and 1e-6·‖A‖₂, and the complex
 * stability radius β (the distance to instability).
 *
 * The three state matrices at N (default 64):
 *   legs      HiPPO-LegS A (dense; κ(V) ~ 1e47 at N = 64)
 *   s4d-legs  diag(Λ) of S4D-LegS (normal: Λ_ε is a union of discs)
 *   ptd       A + E = Ṽ Λ̃ Ṽ⁻¹ of the PTD init at ε = 0.05 (or --eps)
 * Five panels, one job each: every system on its own EigTool box (the spectrum's bounding box padded by
 * half its larger side: no mode outside), then S4D-LegS and PTD on HiPPO-LegS's box (a zoom near the
 * imaginary axis, where their ε-discs are visible; the modes outside it are counted).
 * The contour levels are the decades 10^k, k = -12 … 4, drawn when at least 1000·u·‖A‖₂ (below, σ_min is at
 * its rounding level: not drawn) and resolved (contour.c; else not drawn).
 * Tables: pseudospectra.tsv (per system), -panels.tsv (per panel), -levels.tsv (per panel and level),
 * -grid.tsv (re im sigma_min, one block per panel, a blank line after every grid row), -eigenvalues.tsv,
 * -contours.tsv (one segment per row). */
#define _POSIX_C_SOURCE 200809L
#include "experiments/common.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NSYS = 3, NPANEL = 5, NLEV = 17, LEV_TOP = 4 };
static const char *const NAMES[NSYS] = {"legs", "s4d-legs", "ptd"};
static const char *const PANELS[NPANEL] = {"legs", "s4d-legs", "ptd", "s4d-legs-zoom", "ptd-zoom"};
/* the datasets: per system, per panel, grids, eigenvalues, contour segments, levels */
enum { D_SYS = 0, D_PANEL = D_SYS + NSYS, D_GRID = D_PANEL + NPANEL, D_EIG = D_GRID + NPANEL,
       D_CONT = D_EIG + NSYS, D_LEV = D_CONT + NPANEL };
/* level status in -levels.tsv */
enum { LEV_DRAWN = 0, LEV_FLOOR = 1, LEV_ABSENT = 2, LEV_UNRESOLVED = 3 };

static size_t jobs(const ssm_experiment_opts *o)
{
    (void)o;
    return NPANEL;
}

static size_t grid_points(const ssm_experiment_opts *o)
{
    return o->full ? 400 : 200;
}

static size_t size_N(const ssm_experiment_opts *o)
{
    return o->n_max ? o->n_max : 64;
}

/* log10 κ₂(V) of HiPPO-LegS at N in 256-bit arithmetic (double precision
 * saturates near 1e20; the triangular route is exact to the digits it vouches) */
static ssm_status legs_log10_kappa(double *out, size_t N)
{
    ssm_mpcmat_t A;
    ssm_mpeig_info mi;
    ssm_status s = exp_legs_mp_eig(A, &mi, N);
    *out = s == SSM_OK ? mi.kappa_V_log10 : NAN;
    ssm_mpcmat_clear(A);
    return s;
}

/* the state matrix of system k as a dense complex matrix (and its κ(V)) */
static ssm_status system_matrix(ssm_zmat_t A, double *kappa, size_t k, size_t N, double eps)
{
    ssm_status s;
    *kappa = NAN;
    if (k == 0) {
        ssm_dmat_t Ad;
        if ((s = ssm_dmat_init(Ad, N, N)) != SSM_OK)
            return s;
        if ((s = ssm_hippo(Ad, NULL, NULL, SSM_HIPPO_LEGS, N)) == SSM_OK && (s = ssm_zmat_init(A, N, N)) == SSM_OK)
            s = ssm_zmat_set_dmat(A, Ad);
        ssm_dmat_clear(Ad);
        return s;
    }
    ssm_init_opts io = ssm_init_opts_default();
    io.N = N;
    io.eps = eps;
    ssm_st *st = NULL;
    ssm_init_file *f = NULL;
    if ((s = ssm_init_build(&st, k == 1 ? SSM_INIT_S4D_LEGS : SSM_INIT_PTD, &io)) != SSM_OK ||
        (s = ssm_init_file_take(&f, st)) != SSM_OK)
        return s;
    const char *kv = ssm_st_meta(f->st, "kappa_V");
    *kappa = kv ? strtod(kv, NULL) : NAN;
    double complex *lam = NULL;
    ssm_zmat_t P;
    s = ssm_init_state_matrix(A, &lam, P, f);
    ssm_init_file_free(f);
    free(lam); /* neither S4D-LegS nor PTD has a DPLR form */
    ssm_zmat_clear(P);
    return s;
}

/* the system's row (dataset D_SYS + k): N norm_A abscissa_eps2 abscissa_eps6 beta kappa_V log10_kappa_V eps
 * max_abs_im (the largest |Im λ|) */
static ssm_status system_row(exp_data *x, const ssm_experiment_opts *o, size_t k, const ssm_zmat_t A,
                             double kappa, const double complex *ev)
{
    size_t N = size_N(o);
    double normA = NAN, a2 = NAN, a6 = NAN, beta = NAN, om, lk = NAN, wmax = 0;
    ssm_status s = ssm_zmat_norm2(&normA, A);
    if (s == SSM_OK)
        s = ssm_pspec_abscissa(&a2, NULL, NULL, A, 1e-2 * normA);
    if (s == SSM_OK)
        s = ssm_pspec_abscissa(&a6, NULL, NULL, A, 1e-6 * normA);
    if (s == SSM_OK)
        s = ssm_stability_radius(&beta, &om, NULL, A);
    if (s == SSM_OK) /* LegS's κ₂(V) in 256-bit arithmetic (double saturates near 1e20) */
        s = k == 0 ? legs_log10_kappa(&lk, N) : SSM_OK;
    if (k != 0)
        lk = log10(kappa);
    for (size_t i = 0; i < N; i++)
        wmax = fmax(wmax, fabs(cimag(ev[i])));
    double row[9] = {(double)N, normA, a2, a6, beta, pow(10.0, lk), lk, k == 2 ? (o->eps > 0 ? o->eps : 0.05) : NAN,
                     wmax};
    if (s == SSM_OK)
        s = exp_add(x, D_SYS + k, row, 9);
    exp_series(x, D_SYS + k, "%s", NAMES[k]);
    for (size_t i = 0; s == SSM_OK && i < N; i++) {
        double v[2] = {creal(ev[i]), cimag(ev[i])};
        s = exp_add(x, D_EIG + k, v, 2);
    }
    exp_series(x, D_EIG + k, "%s", NAMES[k]);
    return s;
}

/* the contours of panel k (datasets D_CONT + k and D_LEV + k) and the panel's summary values r[...] */
static ssm_status panel_contours(exp_data *x, double *r, size_t k, const ssm_pspec_plan *p, const double box[4],
                                 size_t g, const double *sig, const double complex *ev, size_t N, double normA)
{
    exp_contour_opts co = {.accept = 1.05, .max_depth = 60, .max_points = 2000000};
    double floor_ = 1000.0 * DBL_EPSILON * normA, lev[NLEV];
    int code[NLEV];
    for (size_t i = 0; i < NLEV; i++) {
        lev[i] = (double)(LEV_TOP - (int)i);
        code[i] = pow(10.0, lev[i]) >= floor_ ? LEV_DRAWN : LEV_FLOOR;
        if (code[i] == LEV_DRAWN)
            co.level_log10[co.nlevels++] = lev[i];
    }
    exp_level_info li[NLEV];
    size_t spent = 0;
    ssm_status s = exp_contours(x, D_CONT + k, li, &spent, p, box, g, g, sig, ev, N, &co);
    exp_series(x, D_CONT + k, "%s", PANELS[k]);
    exp_series(x, D_LEV + k, "%s", PANELS[k]);
    double lo = NAN, hi = NAN, worst = 0;
    for (size_t i = 0, j = 0; s == SSM_OK && i < NLEV; i++) {
        double segs = 0, w = NAN;
        if (code[i] == LEV_DRAWN) {
            const exp_level_info *l = &li[j++];
            code[i] = l->unresolved ? LEV_UNRESOLVED : l->segments ? LEV_DRAWN : LEV_ABSENT;
            segs = (double)l->segments;
            if (code[i] == LEV_DRAWN) {
                w = pow(10.0, l->worst_log10);
                worst = fmax(worst, w);
                hi = isnan(hi) ? lev[i] : hi;
                lo = lev[i];
            }
        }
        double row[4] = {lev[i], (double)code[i], segs, w};
        s = exp_add(x, D_LEV + k, row, 4);
    }
    r[0] = floor_;
    r[1] = lo;
    r[2] = hi;
    r[3] = worst;
    r[4] = co.accept;
    r[5] = (double)spent;
    return s;
}

static ssm_status job(exp_data *x, const ssm_experiment_opts *o, size_t k)
{
    size_t N = size_N(o), g = grid_points(o), sys = k < NSYS ? k : k - 2;
    double eps = o->eps > 0 ? o->eps : 0.05, kappa;
    ssm_zmat_t A;
    memset(A, 0, sizeof A);
    ssm_status s = system_matrix(A, &kappa, sys, N, eps);
    ssm_pspec_plan *p = NULL;
    double *sig = NULL, box[4];
    const double complex *ev = NULL;
    if (s == SSM_OK)
        s = ssm_pspec_plan_create(&p, A, NULL);
    if (s == SSM_OK) {
        /* the panel's box: EigTool's box of its own spectrum, or (zoom panels) of HiPPO-LegS's,
         * eigenvalues −1 … −N */
        ev = ssm_pspec_eigenvalues(p);
        double complex *legs_ev = malloc(N * sizeof *legs_ev);
        if (!legs_ev)
            s = SSM_ERROR(SSM_ENOMEM, "pseudospectra: out of memory");
        for (size_t i = 0; legs_ev && i < N; i++)
            legs_ev[i] = -(double)(i + 1);
        if (legs_ev)
            ssm_pspec_box(box, k < NSYS ? ev : legs_ev, N, 1);
        free(legs_ev);
    }
    if (s == SSM_OK) {
        sig = malloc(g * g * sizeof *sig);
        s = sig ? ssm_pspec_grid(sig, p, box, g, g, NULL, NULL) : SSM_ERROR(SSM_ENOMEM, "pseudospectra: out of memory");
    }
    double normA = NAN, r[6];
    if (s == SSM_OK)
        s = ssm_zmat_norm2(&normA, A);
    if (s == SSM_OK && k < NSYS)
        s = system_row(x, o, k, A, kappa, ev);
    if (s == SSM_OK)
        s = panel_contours(x, r, k, p, box, g, sig, ev, N, normA);
    if (s == SSM_OK) {
        double smin = INFINITY, smax = 0, inside = 0;
        for (size_t i = 0; i < g * g; i++) {
            smin = fmin(smin, sig[i]);
            smax = fmax(smax, sig[i]);
        }
        for (size_t i = 0; i < N; i++)
            inside += creal(ev[i]) >= box[0] && creal(ev[i]) <= box[1] && cimag(ev[i]) >= box[2] &&
                      cimag(ev[i]) <= box[3];
        double row[16] = {(double)sys, box[0], box[1], box[2], box[3], (double)g, smin, smax, inside, (double)N,
                          r[0], r[1], r[2], r[3], r[4], r[5]};
        s = exp_add(x, D_PANEL + k, row, 16);
        exp_series(x, D_PANEL + k, "%s", PANELS[k]);
    }
    for (size_t iy = 0; s == SSM_OK && iy < g; iy++)
        for (size_t ix = 0; s == SSM_OK && ix < g; ix++) {
            double v[3] = {box[0] + (double)ix * (box[1] - box[0]) / (double)(g - 1),
                           box[2] + (double)iy * (box[3] - box[2]) / (double)(g - 1), sig[iy * g + ix]};
            s = exp_add(x, D_GRID + k, v, 3);
        }
    x->set[D_GRID + k].scan = g;
    exp_series(x, D_GRID + k, "%s", PANELS[k]);
    ssm_pspec_plan_free(p);
    free(sig);
    ssm_zmat_clear(A);
    return s;
}

static ssm_status finish(exp_data *x, const ssm_experiment_opts *o, char *header, size_t hcap, json_t *j,
                         char *summary, size_t scap)
{
    for (size_t d = 0; d < D_LEV + NPANEL; d++)
        if (d < D_GRID && x->set[d].rows != 1)
            return SSM_ERROR(SSM_EINVAL, "pseudospectra: dataset %zu (%s) has %zu rows, expected 1", d,
                             x->set[d].series, x->set[d].rows);
    size_t g = grid_points(o);
    snprintf(header, hcap,
             "ssmkit %s experiment pseudospectra: sigma_min(zI - A) of HiPPO-LegS, S4D-LegS and PTD (eps %g), N = "
             "%zu, %zux%zu grid per panel (ssm_pspec_grid, fast path); z = re + i im\n"
             "alpha: pseudospectral abscissa (criss-cross) at eps = 1e-2 |A|_2 and 1e-6 |A|_2; beta: complex "
             "stability radius min_w sigma_min(A - iwI)\n"
             "contours: decades 10^k drawn when >= 1000 u |A|_2 and resolved (quadtree refinement until sigma_min "
             "at every checked point is within 5%% of the interpolation, see experiments/contour.c)",
             SSM_VERSION, o->eps > 0 ? o->eps : 0.05, size_N(o), g, g);
    json_t *sys = json_array(), *pan = json_array();
    char line[NSYS][200];
    for (size_t k = 0; k < NSYS; k++) {
        const double *v = x->set[D_SYS + k].v;
        json_array_append_new(sys, json_pack("{s:s, s:I, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:o}", "system",
                                             NAMES[k], "N", (json_int_t)exp_index(v[0]), "norm_A", exp_jnum(v[1]),
                                             "abscissa_eps2", exp_jnum(v[2]), "abscissa_eps6", exp_jnum(v[3]),
                                             "stability_radius", exp_jnum(v[4]), "stability_radius_below_rounding",
                                             v[4] <= 10 * DBL_EPSILON * v[1], "kappa_V", exp_jnum(v[5]),
                                             "log10_kappa_V", exp_jnum(v[6]), "eps", exp_jnum(v[7]), "max_abs_im",
                                             exp_jnum(v[8])));
        snprintf(line[k], sizeof line[k], "%s beta = %.3g, alpha(1e-6|A|) = %.3g", NAMES[k], v[4], v[3]);
    }
    for (size_t k = 0; k < NPANEL; k++) {
        const double *v = x->set[D_PANEL + k].v;
        long long si = exp_index(v[0]); /* merged parts may hold anything */
        if (si < 0 || si >= (long long)NSYS) {
            json_decref(sys);
            json_decref(pan);
            return SSM_ERROR(SSM_EFORMAT, "pseudospectra: panel %zu names system %g", k, v[0]);
        }
        json_t *drawn = json_array(), *unres = json_array();
        const exp_set *L = &x->set[D_LEV + k];
        for (size_t r = 0; r < L->rows; r++) {
            long long code = exp_index(L->v[4 * r + 1]);
            double lv = L->v[4 * r]; /* a decade: a whole number, negative as a rule */
            if ((code == LEV_DRAWN || code == LEV_UNRESOLVED) && isfinite(lv) && fabs(lv) < 1e6 && lv == floor(lv))
                json_array_append_new(code == LEV_DRAWN ? drawn : unres, json_integer((json_int_t)lv));
        }
        /* every stored double through exp_jnum: a non-finite value from a merged part would make
         * json_pack fail and the panel vanish silently */
        json_array_append_new(pan, json_pack("{s:s, s:s, s:[oooo], s:I, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:I}",
                                             "panel", PANELS[k], "system", NAMES[si], "box", exp_jnum(v[1]),
                                             exp_jnum(v[2]), exp_jnum(v[3]), exp_jnum(v[4]), "grid", (json_int_t)exp_index(v[5]), "min_sigma", exp_jnum(v[6]),
                                             "max_sigma", exp_jnum(v[7]), "eigenvalues_inside", (json_int_t)exp_index(v[8]),
                                             "eigenvalues", (json_int_t)exp_index(v[9]), "level_floor", exp_jnum(v[10]),
                                             "levels_drawn_log10", drawn, "levels_unresolved_log10", unres,
                                             "worst_check_ratio", exp_jnum(v[13]), "accept_ratio", exp_jnum(v[14]),
                                             "points_refined", (json_int_t)exp_index(v[15])));
    }
    json_object_set_new(j, "N", json_integer((json_int_t)size_N(o)));
    json_object_set_new(j, "grid", json_integer((json_int_t)g));
    json_object_set_new(j, "systems", sys);
    json_object_set_new(j, "panels", pan);
    snprintf(summary, scap, "pseudospectra: %s; %s; %s", line[0], line[1], line[2]);
    return SSM_OK;
}

ssm_status ssm_experiment_pseudospectra(const ssm_experiment_opts *o)
{
    static const exp_def def = {
        .name = "pseudospectra",
        .tables = {
            {"", "system", "N norm_A abscissa_eps2 abscissa_eps6 beta kappa_V log10_kappa_V eps max_abs_im", D_SYS,
             D_SYS + NSYS - 1, 0,
             "one row per system: abscissa_eps2, abscissa_eps6: pseudospectral abscissa at eps = 1e-2, 1e-6 |A|_2; beta: "
             "complex stability radius; kappa_V: kappa_2 of the unit-column eigenvector matrix (legs: 256-bit); "
             "eps: the PTD budget |E|_2/|A|_2 (nan: not applicable); max_abs_im: the largest |Im lambda|"},
            {"-panels", "panel", "system box_x0 box_x1 box_y0 box_y1 grid min_sigma max_sigma eig_inside eig_count "
                                 "level_floor level_lo level_hi worst_ratio accept_ratio points_refined", D_PANEL,
             D_PANEL + NPANEL - 1, 0,
             "one row per panel: system (0 legs, 1 s4d-legs, 2 ptd), the box and grid, sigma range on the grid, "
             "eigenvalues inside the box of eig_count; level_floor = 1000 u |A|_2; level_lo, level_hi: log10 of the "
             "smallest and largest level drawn; worst_ratio: the largest factor between sigma_min and its "
             "interpolation at the checked points of accepted cells, accept_ratio the factor a cell is accepted "
             "within; points_refined: sigma evaluations of the refinement"},
            {"-levels", "panel", "level_log10 status segments worst_ratio", D_LEV, D_LEV + NPANEL - 1, 0,
             "one row per panel and decade: status 0 drawn, 1 below the rounding floor (not drawn), 2 not reached "
             "in the box, 3 unresolved at the refinement limits (not drawn); worst_ratio as in -panels.tsv"},
            {"-grid", "panel", "re im sigma_min", D_GRID, D_GRID + NPANEL - 1, 1,
             "one block per panel (gnuplot index = panel order), a blank line after every grid row (splot)"},
            {"-eigenvalues", "system", "re im", D_EIG, D_EIG + NSYS - 1, 1, "one block per system"},
            {"-contours", "panel", "level_log10 xa ya xb yb", D_CONT, D_CONT + NPANEL - 1, 1,
             "one block per panel: segments (xa, ya)-(xb, yb) of the contour sigma_min = 10^level_log10"}},
        .jobs = jobs, .job = job, .finish = finish};
    if (size_N(o) < 2)
        return SSM_ERROR(SSM_EINVAL, "pseudospectra: --n-max (the state size N) must be at least 2");
    return exp_run(&def, o);
}
