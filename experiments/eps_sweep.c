/* experiments/eps_sweep.c — the cost and benefit of PTD as the budget shrinks
 * (doc/reference.md §5): for HiPPO-LegS at N = n_max (default 64) and relative
 * budgets ε = ‖E‖₂/‖A‖₂ from 0.3 down to --eps (default 1e-4): κ₂(Ṽ) (expected
 * ∝ 1/ε), sup_ω |G_PTD − G_DPLR| with unit-normalised B, C (expected ∝ ε) and
 * max Re λ(A + E).  In process: one warm-started ssm_diag_ptd sweep (the κ(ε)
 * curve from one continuation).  With --jobs: one job per ε, each running the
 * same continuation down to its own ε (the path is deterministic, so job k
 * reproduces row k of the in-process run).
 * The PTD is the transfer-aware one of `init ptd` (default weight); its budgets
 * are the ladder every run visits, so row ε is the file `init ptd --eps ε` writes.
 * Columns: eps perturbation_norm (|E|/|A|) E_norm2 kappa_V kappa_eps (κ·ε) sup_norm
 *          (sup/(|B||C|)) sup_per_E (sup/(|B||C||E|_2)) max_re_lambda omega_at_sup seconds
 *          sup_dplr_norm (sup|G_DPLR|/(|B||C|), the signal's size) ones randC (relative
 *          errors on the acceptance grid, exp_ptd_errors) N */
#define _POSIX_C_SOURCE 200809L
#include "experiments/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double EPS[] = {0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005, 0.003, 0.002, 0.001, 5e-4, 3e-4, 1e-4};
enum { NEPS = sizeof EPS / sizeof *EPS };

/* the budgets for these options: EPS down to (excluding) o->eps, then o->eps */
static size_t budgets(double *b, const ssm_experiment_opts *o)
{
    double last = o->eps > 0 ? o->eps : 1e-4;
    size_t n = 0;
    for (size_t i = 0; i < NEPS; i++)
        if (EPS[i] > last * (1 + 1e-12))
            b[n++] = EPS[i];
    b[n++] = last;
    return n;
}

static size_t jobs(const ssm_experiment_opts *o)
{
    double b[NEPS + 1];
    return budgets(b, o);
}

static size_t size_N(const ssm_experiment_opts *o)
{
    return o->n_max ? o->n_max : 64;
}

/* one row from the perturbation E at budget eps and its PTD record */
static ssm_status row_for(exp_data *x, const ssm_dmat_t A, const ssm_dmat_t B, const ssm_tf_plan *legs,
                          const double *E, const ssm_ptd_info *r, double eps)
{
    size_t N = A->rows;
    ssm_zmat_t Az, b, c;
    memset(Az, 0, sizeof Az); memset(b, 0, sizeof b); memset(c, 0, sizeof c);
    ssm_status s = ssm_zmat_init(Az, N, N);
    if (s == SSM_OK) s = ssm_zmat_init(b, N, 1);
    if (s == SSM_OK) s = ssm_zmat_init(c, 1, N);
    double nb = 0, nE = NAN;
    for (size_t i = 0; s == SSM_OK && i < N; i++) {
        b->data[i] = SSM_D(B, i, 0);
        c->data[i] = 1.0;
        nb = hypot(nb, SSM_D(B, i, 0));
        for (size_t j = 0; j < N; j++)
            SSM_D(Az, i, j) = SSM_D(A, i, j) + E[i * N + j];
    }
    if (s == SSM_OK) {
        ssm_dmat_t Em = {{(double *)E, N, N, N}};
        s = ssm_dmat_norm2(&nE, Em);
    }
    /* the poles of A + E: where its resonances sit */
    double complex *lam = s == SSM_OK ? malloc(N * sizeof *lam) : NULL;
    double *w = lam ? malloc(N * sizeof *w) : NULL;
    if (s == SSM_OK && !w)
        s = SSM_ERROR(SSM_ENOMEM, "eps-sweep: out of memory");
    if (s == SSM_OK)
        s = ssm_zmat_eigvals(lam, Az);
    for (size_t i = 0; s == SSM_OK && i < N; i++)
        w[i] = fabs(cimag(lam[i]));
    ssm_tf_plan *p = NULL;
    if (s == SSM_OK)
        s = ssm_tf_plan_create(&p, Az, b, c, 0.0);
    ssm_dist_info in, inl;
    ssm_dist_opts d = {.omega_lo = 1e-2, .omega_hi = 10.0 * (double)N * (double)N, .grid = 2000, .extra = w,
                       .extra_count = N};
    if (s == SSM_OK)
        s = ssm_dist_sup(&in, ssm_tf_fn_plan(p), ssm_tf_fn_plan(legs), &d);
    if (s == SSM_OK) {
        ssm_tf_fn none = {NULL, NULL};
        d.extra_count = 0;
        s = ssm_dist_sup(&inl, ssm_tf_fn_plan(legs), none, &d);
    }
    double ones = NAN, randc = NAN;
    if (s == SSM_OK)
        s = exp_ptd_errors(&ones, &randc, A, B, E);
    if (s == SSM_OK) {
        double bc = nb * sqrt((double)N);
        double row[14] = {eps, r->perturbation_norm, nE, r->kappa_V, r->kappa_V * eps, in.sup / bc,
                          in.sup / bc / nE, r->max_re_lambda, in.omega, r->seconds, inl.sup / bc, ones, randc, (double)N};
        s = exp_add(x, 0, row, 14);
    }
    ssm_tf_plan_free(p);
    free(lam);
    free(w);
    ssm_zmat_clear(Az); ssm_zmat_clear(b); ssm_zmat_clear(c);
    return s;
}

/* PTD down to budgets[last] through budgets[0..last); E of every budget (when Eall) */
static ssm_status run_ptd(double *Eall, ssm_ptd_info *rec, const ssm_dmat_t A, const ssm_dmat_t B,
                          const ssm_dmat_t P, const double *b, size_t nb, ssm_progress *bar)
{
    size_t N = A->rows;
    ssm_dmat_t E;
    ssm_zmat_t V, Vi;
    double complex *lam = malloc(N * sizeof *lam);
    memset(E, 0, sizeof E); memset(V, 0, sizeof V); memset(Vi, 0, sizeof Vi);
    ssm_status s = lam ? ssm_dmat_init(E, N, N) : SSM_ERROR(SSM_ENOMEM, "eps-sweep: out of memory");
    if (s == SSM_OK) s = ssm_zmat_init(V, N, N);
    if (s == SSM_OK) s = ssm_zmat_init(Vi, N, N);
    /* the transfer-aware PTD of `init ptd` (default weight) */
    ssm_ptd_opts po = ssm_ptd_opts_default();
    po.eps = b[nb - 1];
    po.sweep = nb > 1 ? b : NULL;
    po.sweep_count = nb - 1;
    po.sweep_info = rec;
    po.sweep_E = Eall;
    po.progress = bar;
    po.B = B->data;
    if (s == SSM_OK)
        s = ssm_diag_ptd(E, lam, V, Vi, &rec[nb - 1], A, P, &po);
    if (s == SSM_OK) {
        rec[nb - 1].eps = b[nb - 1];
        memcpy(Eall + (nb - 1) * N * N, E->data, N * N * sizeof(double));
    }
    free(lam);
    ssm_dmat_clear(E); ssm_zmat_clear(V); ssm_zmat_clear(Vi);
    return s;
}

/* the whole sweep (first `upto` budgets; all when upto = 0), rows from `from` on */
static ssm_status sweep(exp_data *x, const ssm_experiment_opts *o, size_t upto, size_t from)
{
    double b[NEPS + 1];
    size_t nb = budgets(b, o);
    if (upto)
        nb = upto;
    size_t N = size_N(o);
    ssm_dmat_t A, B, P;
    memset(A, 0, sizeof A); memset(B, 0, sizeof B); memset(P, 0, sizeof P);
    ssm_status s = ssm_dmat_init(A, N, N);
    if (s == SSM_OK) s = ssm_dmat_init(B, N, 1);
    if (s == SSM_OK) s = ssm_dmat_init(P, 1, N);
    if (s == SSM_OK) s = ssm_hippo(A, B, P, SSM_HIPPO_LEGS, N);
    double *Eall = s == SSM_OK ? malloc(nb * N * N * sizeof *Eall) : NULL;
    ssm_ptd_info rec[NEPS + 1];
    if (s == SSM_OK && !Eall)
        s = SSM_ERROR(SSM_ENOMEM, "eps-sweep: out of memory");
    ssm_progress *bar = NULL;
    if (s == SSM_OK)
        s = ssm_progress_create(&bar, "eps-sweep (ptd)", 100, !o->quiet && upto == 0);
    if (s == SSM_OK)
        s = run_ptd(Eall, rec, A, B, P, b, nb, bar);
    ssm_progress_free(bar);
    ssm_tf_plan *legs = s == SSM_OK ? exp_legs_plan(N, &s) : NULL;
    for (size_t k = from; s == SSM_OK && k < nb; k++)
        s = row_for(x, A, B, legs, Eall + k * N * N, &rec[k], b[k]);
    ssm_tf_plan_free(legs);
    free(Eall);
    ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P);
    return s;
}

static ssm_status job(exp_data *x, const ssm_experiment_opts *o, size_t k)
{
    return sweep(x, o, k + 1, k);
}

static ssm_status all(exp_data *x, const ssm_experiment_opts *o)
{
    return sweep(x, o, 0, 0);
}

static ssm_status finish(exp_data *x, const ssm_experiment_opts *o, char *header, size_t hcap, json_t *j,
                         char *summary, size_t scap)
{
    const exp_set *t = &x->set[0];
    if (!t->rows)
        return SSM_ERROR(SSM_EINVAL, "eps-sweep: no rows");
    size_t N = size_N(o);
    snprintf(header, hcap,
             "ssmkit %s experiment eps-sweep: PTD of HiPPO-LegS, N = %zu, budget eps = |E|_2/|A|_2 (|A|_2 = %.6g)\n"
             "kappa_V: kappa_2 of the unit-column eigenvector matrix of A + E; sup over [1e-2, 10 N^2] of "
             "|G_PTD - G_DPLR| (refined), G_PTD = C (sI - A - E)^-1 B, G_DPLR = the LegS system, B = LegS B, "
             "C = ones, divided by |B|_2 |C|_2\n"
             "seconds: cumulative wall time of the warm-started sweep at that budget\n"
             "ones, randC: sup|G_PTD - G_LegS| / sup|G_LegS| with C = ones, and its median over 200 Gaussian C, "
             "on 2500 log points 1e-2 .. 50 N^2/pi + 1500 linear on [0.5, 1.5] N^2/pi",
             SSM_VERSION, N, t->v[2] / t->v[1]);
    double sk = exp_loglog_slope(t, 3), se = exp_loglog_slope(t, 5);
    json_t *rows = json_array();
    double maxre = -INFINITY;
    for (size_t r = 0; r < t->rows; r++) {
        const double *v = t->v + r * t->cols;
        json_array_append_new(rows, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "eps", exp_jnum(v[0]),
                                              "perturbation_norm", exp_jnum(v[1]), "E_norm2", exp_jnum(v[2]), "kappa_V",
                                              exp_jnum(v[3]), "sup_error_normalised", exp_jnum(v[5]), "max_re_lambda",
                                              exp_jnum(v[7]), "omega_at_sup", exp_jnum(v[8]), "ones", exp_jnum(v[11]),
                                              "randC", exp_jnum(v[12])));
        maxre = fmax(maxre, v[7]);
    }
    json_object_set_new(j, "N", json_integer((json_int_t)N));
    json_object_set_new(j, "rows", rows);
    json_object_set_new(j, "kappa_slope_vs_eps", exp_jnum(sk));
    json_object_set_new(j, "sup_error_slope_vs_eps", exp_jnum(se));
    json_object_set_new(j, "max_re_lambda_over_sweep", exp_jnum(maxre));
    snprintf(summary, scap,
             "eps-sweep N=%zu: kappa ~ eps^%.2f (%.3g at eps %.3g .. %.3g at %.3g), sup|G_PTD - G_DPLR| ~ eps^%.2f, "
             "max Re lambda <= %.3g", N, sk, t->v[3], t->v[0], t->v[(t->rows - 1) * t->cols + 3],
             t->v[(t->rows - 1) * t->cols], se, maxre);
    return SSM_OK;
}

ssm_status ssm_experiment_eps_sweep(const ssm_experiment_opts *o)
{
    static const exp_def def = {
        .name = "eps-sweep",
        .tables = {{"", NULL, "eps perturbation_norm E_norm2 kappa_V kappa_eps sup_norm sup_per_E max_re_lambda "
                              "omega_at_sup seconds sup_dplr_norm ones randC N", 0, 0, 0,
                    "one row per budget eps; perturbation_norm = |E|_2/|A|_2, E_norm2 = |E|_2, kappa_eps = kappa_V "
                    "eps, sup_norm = sup/(|B|_2 |C|_2), sup_per_E = sup_norm / |E|_2, sup_dplr_norm = sup |G_DPLR| / "
                    "(|B|_2 |C|_2)"}},
        .jobs = jobs, .job = job, .finish = finish, .all = all};
    if (size_N(o) < 4 || size_N(o) % 2)
        return SSM_ERROR(SSM_EINVAL, "eps-sweep: --n-max (the state size N) must be even and at least 4");
    if (o->eps > 0 && o->eps >= EPS[0])
        return SSM_ERROR(SSM_EINVAL, "eps-sweep: --eps (the smallest budget) must be below %g", EPS[0]);
    return exp_run(&def, o);
}
