/* experiments/pseudospectra.c — Λ_ε of HiPPO-LegS, S4D-LegS and PTD side by
 * side (doc/reference.md §4, §5, §7): σ_min(zI − A) on each system's EigTool box,
 * the eigenvalues, and three scalars that say the same in numbers — the
 * pseudospectral abscissa α_ε at ε = 1e-2·‖A‖₂ and 1e-6·‖A‖₂, and the complex
 * stability radius β (the distance to instability).
 *
 * The three state matrices at N (default 64):
 *   legs      HiPPO-LegS A (dense; κ(V) ~ 1e30 at N = 64)
 *   s4d-legs  diag(Λ) of S4D-LegS (normal: Λ_ε is a union of discs)
 *   ptd       A + E = Ṽ Λ̃ Ṽ⁻¹ of the PTD init at ε = 0.05 (or --eps)
 * All three on one box, EigTool's box of HiPPO-LegS, so the panels compare.
 * Job k ∈ {0, 1, 2} computes system k.  Datasets: 0 the scalars (one row per
 * system: k N normA alpha_1e-2 alpha_1e-6 beta kappa_V (0: not computed) min_sigma box x0 x1 y0 y1 grid),
 * 1..3 the grids (re im sigma), 4..6 the eigenvalues (re im).  Finishing also
 * writes DIR/pseudospectra-K.grid.tsv (one block per grid row) for gnuplot's
 * contour plots. */
#define _POSIX_C_SOURCE 200809L
#include "experiments/common.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const NAMES[3] = {"legs", "s4d-legs", "ptd"};
static const char *const TITLES[3] = {"HiPPO-LegS", "S4D-LegS", "PTD (A + E)"};

static size_t jobs(const ssm_experiment_opts *o)
{
    (void)o;
    return 3;
}

static size_t grid_points(const ssm_experiment_opts *o)
{
    return o->full ? 400 : 200;
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

static ssm_status job(exp_data *x, const ssm_experiment_opts *o, size_t k)
{
    size_t N = o->n_max ? o->n_max : 64, g = grid_points(o);
    double eps = o->eps > 0 ? o->eps : 0.05, kappa;
    ssm_zmat_t A;
    memset(A, 0, sizeof A);
    ssm_status s = system_matrix(A, &kappa, k, N, eps);
    ssm_pspec_plan *p = NULL;
    double *sig = NULL, box[4];
    ssm_pspec_info info;
    if (s == SSM_OK)
        p = ssm_pspec_plan_create(A, NULL, &s);
    if (s == SSM_OK) {
        /* one box for all three, so the panels compare: EigTool's box of
         * HiPPO-LegS (eigenvalues −1 … −N) */
        double complex *legs_ev = malloc(N * sizeof *legs_ev);
        if (!legs_ev)
            s = SSM_ERROR(SSM_ENOMEM, "pseudospectra: out of memory");
        for (size_t i = 0; legs_ev && i < N; i++)
            legs_ev[i] = -(double)(i + 1);
        if (legs_ev)
            ssm_pspec_box(box, legs_ev, N, 1);
        free(legs_ev);
    }
    if (s == SSM_OK) {
        sig = malloc(g * g * sizeof *sig);
        s = sig ? ssm_pspec_grid(sig, p, box, g, g, &info, NULL) : SSM_ERROR(SSM_ENOMEM, "pseudospectra: out of memory");
    }
    double normA = s == SSM_OK ? ssm_zmat_norm2(A) : NAN, a2 = NAN, a6 = NAN, beta = NAN, om;
    if (s == SSM_OK)
        s = ssm_pspec_abscissa(&a2, NULL, NULL, A, 1e-2 * normA);
    if (s == SSM_OK)
        s = ssm_pspec_abscissa(&a6, NULL, NULL, A, 1e-6 * normA);
    if (s == SSM_OK)
        s = ssm_stability_radius(&beta, &om, NULL, A);
    if (s == SSM_OK) {
        double smin = INFINITY;
        for (size_t i = 0; i < g * g; i++)
            smin = fmin(smin, sig[i]);
        /* κ(V) of LegS overflows no double as a logarithm: column 14 holds log10 κ for every
         * system (LegS in 256-bit arithmetic), column 7 κ itself where it is finite (else 0) */
        double lk = NAN;
        if (k == 0)
            s = legs_log10_kappa(&lk, N);
        else
            lk = log10(kappa);
        double row[15] = {(double)k, (double)N, normA, a2, a6, beta, isfinite(kappa) ? kappa : 0.0, smin, box[0],
                          box[1], box[2], box[3], (double)g, lk, k == 2 ? (o->eps > 0 ? o->eps : 0.05) : 0.0};
        if (s == SSM_OK)
            s = exp_add(x, 0, row, 15);
        for (size_t iy = 0; s == SSM_OK && iy < g; iy++)
            for (size_t ix = 0; s == SSM_OK && ix < g; ix++) {
                double v[3] = {box[0] + (double)ix * (box[1] - box[0]) / (double)(g - 1),
                               box[2] + (double)iy * (box[3] - box[2]) / (double)(g - 1), sig[iy * g + ix]};
                s = exp_add(x, 1 + k, v, 3);
            }
        const double complex *ev = ssm_pspec_eigenvalues(p);
        for (size_t i = 0; s == SSM_OK && i < N; i++) {
            double v[2] = {creal(ev[i]), cimag(ev[i])};
            s = exp_add(x, 4 + k, v, 2);
        }
        exp_title(x, 0, "systems: k N normA alpha_eps(1e-2 normA) alpha_eps(1e-6 normA) beta kappa_V min_sigma "
                        "box_x0 box_x1 box_y0 box_y1 grid log10_kappa_V eps");
        exp_title(x, 1 + k, "%s N = %zu: re im sigma_min (grid %zux%zu on LegS's EigTool box)", TITLES[k], N, g, g);
        exp_title(x, 4 + k, "%s N = %zu: eigenvalues re im", TITLES[k], N);
    }
    ssm_pspec_plan_destroy(p);
    free(sig);
    ssm_zmat_clear(A);
    return s;
}

static ssm_status write_grid(const char *dir, size_t k, const exp_set *t, size_t g)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/pseudospectra-%zu.grid.tsv", dir, k);
    ssm_atomic *at;
    FILE *fp;
    ssm_status s = ssm_atomic_open(&at, &fp, path);
    if (s != SSM_OK)
        return s;
    fprintf(fp, "# %s: re im sigma_min, one block per grid row (for gnuplot's splot/contour)\n", t->title);
    for (size_t r = 0; r < t->rows; r++) {
        fprintf(fp, "%.17g\t%.17g\t%.17g\n", t->v[3 * r], t->v[3 * r + 1], t->v[3 * r + 2]);
        if ((r + 1) % g == 0)
            fputc('\n', fp);
    }
    return ssm_atomic_commit(at);
}

static ssm_status finish(exp_data *x, const ssm_experiment_opts *o, char *header, size_t hcap, json_t *j,
                         char *summary, size_t scap)
{
    const exp_set *t = &x->set[0];
    if (t->rows != 3)
        return SSM_ERROR(SSM_EINVAL, "pseudospectra: %zu of 3 systems present", t->rows);
    size_t g = grid_points(o);
    snprintf(header, hcap,
             "ssmkit %s experiment pseudospectra: sigma_min(zI - A) of HiPPO-LegS, S4D-LegS and PTD (eps %g), "
             "grid on EigTool's box of HiPPO-LegS (common to the three), %zux%zu (ssm_pspec_grid, fast path)\n"
             "alpha: pseudospectral abscissa (criss-cross) at eps = 1e-2 |A|_2 and 1e-6 |A|_2; beta: complex "
             "stability radius min_w sigma_min(A - iwI)",
             SSM_VERSION, o->eps > 0 ? o->eps : 0.05, g, g);
    json_t *sys = json_array();
    char line[3][200];
    for (size_t r = 0; r < 3; r++) {
        const double *v = t->v + r * t->cols;
        if (!(v[0] >= 0 && v[0] <= 2)) { /* checked before the conversion: a part file may hold anything */
            json_decref(sys);
            return SSM_ERROR(SSM_EFORMAT, "pseudospectra: bad system index %g", v[0]);
        }
        size_t k = (size_t)v[0];
        json_t *e = json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:f}", "system", NAMES[k], "N", (json_int_t)exp_index(v[1]),
                              "norm_A", v[2], "abscissa_1e-2", v[3], "abscissa_1e-6", v[4], "stability_radius", v[5],
                              "min_sigma_on_grid", v[7]);
        if (v[6] > 0)
            json_object_set_new(e, "kappa_V", json_real(v[6]));
        json_object_set_new(e, "box", json_pack("[ffff]", v[8], v[9], v[10], v[11]));
        /* β below the SVD's own error ~10 ε‖A‖ is rounding: say so */
        json_object_set_new(e, "stability_radius_below_rounding", json_boolean(v[5] <= 10 * DBL_EPSILON * v[2]));
        json_array_append_new(sys, e);
        snprintf(line[k], sizeof line[k], "%s beta = %.3g, alpha(1e-6|A|) = %.3g", NAMES[k], v[5], v[4]);
        ssm_status s = write_grid(o->out_dir, k, &x->set[1 + k], g);
        if (s != SSM_OK) {
            json_decref(sys);
            return s;
        }
    }
    json_object_set_new(j, "systems", sys);
    snprintf(summary, scap, "pseudospectra: %s; %s; %s", line[0], line[1], line[2]);
    return SSM_OK;
}

ssm_status ssm_experiment_pseudospectra(const ssm_experiment_opts *o)
{
    static const size_t widths[] = {15, 3, 3, 3, 2, 0}; /* the datasets' widths (exp_def) */
    static const exp_def def = {"pseudospectra", jobs, job, finish, NULL, widths};
    return exp_run(&def, o);
}
