/* analysis/init.c — ssmkit-init/1 files: build them from a method, and verify
 * them by recomputing every metadata field from the tensors (DESIGN.md).
 *
 * One code path, model_load → model_metrics, computes the metadata at build
 * time and again at verify time, from the tensors as stored (F64), so that a
 * file is checked exactly as a user's loader will see it. */
#define _POSIX_C_SOURCE 200809L
#include "analysis/analysis.h"

#include <float.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const METHOD_NAMES[SSM_INIT_COUNT] = {"s4-dplr", "s4d-legs", "s4d-lin", "s4d-inv",
                                                         "s4d-real", "s5-legs", "ptd"};

const char *ssm_init_method_name(ssm_init_method m)
{
    return (unsigned)m < SSM_INIT_COUNT ? METHOD_NAMES[m] : NULL;
}

ssm_status ssm_init_method_lookup(ssm_init_method *m, const char *name)
{
    for (int i = 0; i < SSM_INIT_COUNT; i++)
        if (strcmp(name, METHOD_NAMES[i]) == 0) {
            *m = (ssm_init_method)i;
            return SSM_OK;
        }
    return SSM_ERROR(SSM_EINVAL, "unknown method '%s' (one of: s4-dplr s4d-legs s4d-lin s4d-inv s4d-real s5-legs ptd)",
                     name);
}

ssm_status ssm_init_C(ssm_dmat_t C, ssm_c_kind kind, unsigned long seed)
{
    size_t N = C->rows;
    if (kind == SSM_C_RANDOM) {
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        if (!r)
            return SSM_ERROR(SSM_ENOMEM, "out of memory");
        gsl_rng_set(r, seed);
        for (size_t i = 0; i < N; i++)
            SSM_D(C, i, 0) = gsl_ran_gaussian(r, 1.0) / sqrt((double)N);
        gsl_rng_free(r);
    } else {
        for (size_t i = 0; i < N; i++)
            SSM_D(C, i, 0) = kind == SSM_C_ONES ? 1.0 : sqrt(2.0 * (double)i + 1.0);
    }
    return SSM_OK;
}

/* ---- the model an init file describes ---------------------------------- */

typedef struct {
    size_t N, M, r;
    int conj_sym, dplr;
    double complex *lam;                       /* M */
    ssm_zmat_t Bt, V, Vinv, Pt;                /* M×1, N×M, M×N, r×M (V/Vinv/Pt may be 0×0) */
    ssm_dmat_t At, Bt0, Ct, E;                 /* targets, E: may be 0×0 */
} model;

static void model_clear(model *m)
{
    free(m->lam);
    ssm_zmat_clear(m->Bt); ssm_zmat_clear(m->V); ssm_zmat_clear(m->Vinv); ssm_zmat_clear(m->Pt);
    ssm_dmat_clear(m->At); ssm_dmat_clear(m->Bt0); ssm_dmat_clear(m->Ct); ssm_dmat_clear(m->E);
    memset(m, 0, sizeof *m);
}

/* complex tensor [rows, cols, 2] (or [rows, 2] with cols = 1) → zmat */
/* every value of a tensor finite (a NaN Lambda used to give a NaN table and exit 0) */
static ssm_status finite_tensor(const ssm_tensor *t, const char *name)
{
    for (size_t i = 0; i < t->count; i++)
        if (!isfinite(t->data[i]))
            return SSM_ERROR(SSM_EFORMAT, "tensor '%s' has a non-finite value (%g at flat index %zu)", name,
                             t->data[i], i);
    return SSM_OK;
}

static ssm_status get_z(ssm_zmat_t Z, const ssm_st *f, const char *name, size_t rows, size_t cols, int vec)
{
    const ssm_tensor *t = ssm_st_get(f, name);
    if (!t)
        return SSM_ERROR(SSM_EFORMAT, "init file lacks tensor '%s'", name);
    int okshape = vec ? (t->ndim == 2 && t->shape[0] == rows && t->shape[1] == 2)
                      : (t->ndim == 3 && t->shape[0] == rows && t->shape[1] == cols && t->shape[2] == 2);
    if (!okshape)
        return SSM_ERROR(SSM_EFORMAT, "tensor '%s' has the wrong shape (expected [%zu%s%s, 2])", name, rows,
                         vec ? "" : ", ", vec ? "" : "...");
    ssm_status s = finite_tensor(t, name);
    if (s != SSM_OK)
        return s;
    s = ssm_zmat_init(Z, rows, cols);
    for (size_t i = 0; s == SSM_OK && i < rows * cols; i++)
        Z->data[i] = CMPLX(t->data[2 * i], t->data[2 * i + 1]);
    return s;
}

static ssm_status get_d(ssm_dmat_t D, const ssm_st *f, const char *name, size_t rows, size_t cols, int vec)
{
    const ssm_tensor *t = ssm_st_get(f, name);
    if (!t)
        return SSM_ERROR(SSM_EFORMAT, "init file lacks tensor '%s'", name);
    int okshape = vec ? (t->ndim == 1 && t->shape[0] == rows) : (t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols);
    if (!okshape)
        return SSM_ERROR(SSM_EFORMAT, "tensor '%s' has the wrong shape", name);
    ssm_status s = finite_tensor(t, name);
    if (s != SSM_OK)
        return s;
    s = ssm_dmat_init(D, rows, cols);
    if (s == SSM_OK)
        memcpy(D->data, t->data, rows * cols * sizeof(double));
    return s;
}

static int meta_size(size_t *v, const ssm_st *f, const char *key)
{
    const char *s = ssm_st_meta(f, key);
    char *end;
    if (!s)
        return 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end || end == s)
        return 0;
    *v = (size_t)x;
    return 1;
}

static ssm_status model_load(model *m, const ssm_st *f)
{
    memset(m, 0, sizeof *m);
    const char *fmt = ssm_st_meta(f, "format");
    if (!fmt || strcmp(fmt, "ssmkit-init/1") != 0)
        return SSM_ERROR(SSM_EFORMAT, "not an ssmkit init file (metadata format = %s)", fmt ? fmt : "absent");
    if (!meta_size(&m->N, f, "N") || !meta_size(&m->M, f, "M") || m->N == 0 || m->M == 0)
        return SSM_ERROR(SSM_EFORMAT, "init file: metadata N/M missing or invalid");
    const char *cs = ssm_st_meta(f, "conj_sym");
    m->conj_sym = cs && strcmp(cs, "true") == 0;
    if (m->M * (m->conj_sym ? 2 : 1) != m->N)
        return SSM_ERROR(SSM_EFORMAT, "init file: M = %zu does not fit N = %zu (conj_sym %s)", m->M, m->N,
                         cs ? cs : "absent");
    size_t N = m->N, M = m->M;
    ssm_zmat_t L;
    ssm_status s = get_z(L, f, "Lambda", M, 1, 1);
    if (s != SSM_OK)
        return s;
    m->lam = malloc(M * sizeof *m->lam);
    for (size_t i = 0; i < M; i++)
        m->lam[i] = L->data[i];
    ssm_zmat_clear(L);
    if ((s = get_z(m->Bt, f, "B", M, 1, 1)) != SSM_OK)
        goto fail;
    if (ssm_st_get(f, "V") && (s = get_z(m->V, f, "V", N, M, 0)) != SSM_OK)
        goto fail;
    if (ssm_st_get(f, "Vinv") && (s = get_z(m->Vinv, f, "Vinv", M, N, 0)) != SSM_OK)
        goto fail;
    const ssm_tensor *tp = ssm_st_get(f, "P");
    if (tp) {
        if (tp->ndim != 3) {
            s = SSM_ERROR(SSM_EFORMAT, "tensor 'P' must be [r, M, 2]");
            goto fail;
        }
        m->r = tp->shape[0];
        if ((s = get_z(m->Pt, f, "P", m->r, M, 0)) != SSM_OK)
            goto fail;
        m->dplr = 1;
    }
    if (ssm_st_get(f, "A_target")) {
        if ((s = get_d(m->At, f, "A_target", N, N, 0)) != SSM_OK || (s = get_d(m->Bt0, f, "B_target", N, 1, 1)) != SSM_OK ||
            (s = get_d(m->Ct, f, "C_target", N, 1, 1)) != SSM_OK)
            goto fail;
    }
    if (ssm_st_get(f, "E") && (s = get_d(m->E, f, "E", N, N, 0)) != SSM_OK)
        goto fail;
    if ((m->E->rows || m->dplr) && !m->At->rows) {
        s = SSM_ERROR(SSM_EFORMAT, "init file: E or P without A_target");
        goto fail;
    }
    if ((m->E->rows || m->dplr) && !m->V->rows) {
        s = SSM_ERROR(SSM_EFORMAT, "init file: E or P without V");
        goto fail;
    }
    return SSM_OK;
fail:
    model_clear(m);
    return s;
}

/* full eigenvector matrix (N×N) and its inverse */
static ssm_status model_full_V(ssm_zmat_t Vf, ssm_zmat_t Vfi, const model *m)
{
    size_t N = m->N, M = m->M;
    ssm_status s = ssm_zmat_init(Vf, N, N);
    if (s == SSM_OK)
        s = ssm_zmat_init(Vfi, N, N);
    if (s != SSM_OK)
        return s;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < M; j++) {
            SSM_D(Vf, i, j) = SSM_D(m->V, i, j);
            if (m->conj_sym)
                SSM_D(Vf, i, j + M) = conj(SSM_D(m->V, i, j));
        }
    if (m->Vinv->rows) {
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) {
                SSM_D(Vfi, i, j) = SSM_D(m->Vinv, i, j);
                if (m->conj_sym)
                    SSM_D(Vfi, i + M, j) = conj(SSM_D(m->Vinv, i, j));
            }
        return SSM_OK;
    }
    for (size_t i = 0; i < N; i++)
        SSM_D(Vfi, i, i) = 1.0;
    return ssm_zmat_solve(Vfi, Vf);
}

static double complex lam_full(const model *m, size_t j)
{
    return j < m->M ? m->lam[j] : conj(m->lam[j - m->M]);
}

typedef struct {
    double kappa_V, backward_error, perturbation_norm, max_re_lambda, tf_sup_error, b_residual;
    double omega_at_sup;
} metrics;

static ssm_status model_eval(double complex *G, const model *m, int which, const double complex *s, size_t count);

#define TF_GRID_MAX ((size_t)1000000)

/* the stated frequency grid "log:LO:HI:COUNT" (a file is untrusted input) */
static int cmp_omega(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

ssm_status ssm_init_tf_frequencies(double **omega, size_t *count, const ssm_st *f)
{
    double lo = 1e-3, hi = 1e4;
    size_t n = 2000;
    int poles = 0, used = 0;
    const char *g = ssm_st_meta(f, "tf_grid");
    *omega = NULL;
    *count = 0;
    if (g) {
        size_t len = strlen(g);
        poles = len > 6 && strcmp(g + len - 6, "+poles") == 0;
        if (sscanf(g, "log:%lg:%lg:%zu%n", &lo, &hi, &n, &used) != 3 || (size_t)used != len - (poles ? 6 : 0) ||
            !isfinite(lo) || !isfinite(hi) || !(lo > 0.0) || !(hi > lo) || n == 0 || n > TF_GRID_MAX)
            return SSM_ERROR(SSM_EFORMAT, "init file: tf_grid '%s' is not log:LO:HI:COUNT[+poles] with 0 < LO < HI, "
                                          "1 <= COUNT <= %zu", g, TF_GRID_MAX);
    }
    const ssm_tensor *L = poles ? ssm_st_get(f, "Lambda") : NULL;
    if (poles && (!L || L->ndim != 2 || L->shape[1] != 2))
        return SSM_ERROR(SSM_EFORMAT, "init file: tf_grid '%s' needs a Lambda tensor [M, 2]", g);
    size_t extra = L ? L->shape[0] : 0;
    double *w = malloc((n + extra) * sizeof *w);
    double complex *sg = malloc(n * sizeof *sg);
    ssm_status s = w && sg ? ssm_tf_omega_grid(sg, w, lo, hi, n, 1) : SSM_ERROR(SSM_ENOMEM, "out of memory");
    free(sg);
    if (s != SSM_OK) {
        free(w);
        return s;
    }
    size_t c = n;
    for (size_t k = 0; k < extra; k++) {
        double om = fabs(L->data[2 * k + 1]);
        if (om > lo && om < hi)
            w[c++] = om;
    }
    qsort(w, c, sizeof *w, cmp_omega);
    *omega = w;
    *count = c;
    return SSM_OK;
}

static ssm_status model_metrics(metrics *mt, const model *m, const ssm_st *f)
{
    size_t N = m->N;
    ssm_status s = SSM_OK;
    mt->kappa_V = mt->backward_error = mt->perturbation_norm = mt->tf_sup_error = mt->b_residual = NAN;
    mt->omega_at_sup = NAN;
    mt->max_re_lambda = -INFINITY;
    for (size_t j = 0; j < m->M; j++)
        mt->max_re_lambda = fmax(mt->max_re_lambda, creal(m->lam[j]));
    if (!m->V->rows)
        return SSM_OK;
    ssm_zmat_t Vf, Vfi, R, T;
    memset(R, 0, sizeof R);
    memset(T, 0, sizeof T);
    if ((s = model_full_V(Vf, Vfi, m)) != SSM_OK)
        goto out;
    double *sv = malloc(N * sizeof *sv);
    s = ssm_zmat_singvals(sv, Vf);
    mt->kappa_V = sv[0] / sv[N - 1];
    free(sv);
    if (s != SSM_OK || !m->At->rows)
        goto out;
    double nA = ssm_dmat_norm2(m->At);
    ssm_zmat_init(R, N, N);
    ssm_zmat_init(T, N, N);
    if (m->dplr) {
        /* ‖A_t − V_f (diag Λ_f − P̃_f P̃_f*) V_f*‖₂/‖A_t‖₂ */
        ssm_zmat_t Mid;
        ssm_zmat_init(Mid, N, N);
        for (size_t i = 0; i < N; i++) {
            SSM_D(Mid, i, i) = lam_full(m, i);
            for (size_t j = 0; j < N; j++)
                for (size_t k = 0; k < m->r; k++) {
                    double complex pi = i < m->M ? SSM_D(m->Pt, k, i) : conj(SSM_D(m->Pt, k, i - m->M));
                    double complex pj = j < m->M ? SSM_D(m->Pt, k, j) : conj(SSM_D(m->Pt, k, j - m->M));
                    SSM_D(Mid, i, j) -= pi * conj(pj);
                }
        }
        ssm_zmat_gemm(T, 1.0, Vf, 0, Mid, 0, 0.0);
        ssm_zmat_clear(Mid);
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++)
                SSM_D(R, i, j) = SSM_D(m->At, i, j);
        ssm_zmat_gemm(R, -1.0, T, 0, Vf, 2, 1.0);
        mt->backward_error = ssm_zmat_norm2(R) / nA;
        mt->perturbation_norm = 0.0;
    } else {
        /* ‖A_t + E − V_f Λ_f V_f⁻¹‖₂/‖A_t‖₂ */
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) {
                SSM_D(T, i, j) = SSM_D(Vf, i, j) * lam_full(m, j);
                SSM_D(R, i, j) = SSM_D(m->At, i, j) + (m->E->rows ? SSM_D(m->E, i, j) : 0.0);
            }
        ssm_zmat_gemm(R, -1.0, T, 0, Vfi, 0, 1.0);
        mt->backward_error = ssm_zmat_norm2(R) / nA;
        mt->perturbation_norm = m->E->rows ? ssm_dmat_norm2(m->E) / nA : 0.0;
    }
    /* B̃ = V_f⁻¹ B_t (first M rows): relative residual */
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < m->M; i++) {
        double complex b = 0.0;
        for (size_t k = 0; k < N; k++)
            b += SSM_D(Vfi, i, k) * SSM_D(m->Bt0, k, 0);
        num = hypot(num, cabs(b - SSM_D(m->Bt, i, 0)));
        den = hypot(den, cabs(b));
    }
    mt->b_residual = num / den;
    /* sup over the stated grid of |G_init − G_target| */
    double *om = NULL;
    size_t count;
    if ((s = ssm_init_tf_frequencies(&om, &count, f)) != SSM_OK)
        goto out;
    double complex *sgrid = malloc(count * sizeof *sgrid), *g0 = malloc(count * sizeof *g0),
                   *g1 = malloc(count * sizeof *g1);
    s = sgrid && g0 && g1 ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "out of memory for %zu frequencies", count);
    for (size_t k = 0; s == SSM_OK && k < count; k++)
        sgrid[k] = CMPLX(0.0, om[k]);
    if (s == SSM_OK) s = model_eval(g0, m, 0, sgrid, count);
    if (s == SSM_OK) s = model_eval(g1, m, 1, sgrid, count);
    if (s == SSM_OK) {
        mt->tf_sup_error = 0.0;
        for (size_t k = 0; k < count; k++)
            if (cabs(g0[k] - g1[k]) > mt->tf_sup_error) {
                mt->tf_sup_error = cabs(g0[k] - g1[k]);
                mt->omega_at_sup = om[k];
            }
    }
    free(sgrid); free(g0); free(g1); free(om);
out:
    ssm_zmat_clear(Vf); ssm_zmat_clear(Vfi); ssm_zmat_clear(R); ssm_zmat_clear(T);
    return s;
}

static ssm_status model_eval(double complex *G, const model *m, int which, const double complex *s, size_t count)
{
    size_t N = m->N, M = m->M;
    if (which == 1) {
        if (!m->At->rows)
            return SSM_ERROR(SSM_EINVAL, "this init file has no target system (A_target)");
        ssm_zmat_t A, b, c;
        ssm_zmat_init(A, N, N);
        ssm_zmat_init(b, N, 1);
        ssm_zmat_init(c, 1, N);
        ssm_zmat_set_dmat(A, m->At);
        for (size_t i = 0; i < N; i++) {
            SSM_D(b, i, 0) = SSM_D(m->Bt0, i, 0);
            SSM_D(c, 0, i) = SSM_D(m->Ct, i, 0);
        }
        ssm_status st;
        ssm_tf_plan *p = ssm_tf_plan_create(A, b, c, 0.0, &st);
        if (p)
            st = ssm_tf_eval(G, p, s, count);
        ssm_tf_plan_destroy(p);
        ssm_zmat_clear(A); ssm_zmat_clear(b); ssm_zmat_clear(c);
        return st;
    }
    /* C̃ = C_t V (half), or ones when the init has no V/target */
    double complex *ct = malloc(M * sizeof *ct);
    for (size_t j = 0; j < M; j++) {
        ct[j] = m->V->rows && m->Ct->rows ? 0.0 : 1.0;
        if (m->V->rows && m->Ct->rows)
            for (size_t i = 0; i < N; i++)
                ct[j] += SSM_D(m->Ct, i, 0) * SSM_D(m->V, i, j);
    }
    ssm_status st = SSM_OK;
    if (m->dplr)
        st = ssm_tf_dplr(G, m->lam, m->Bt->data, ct, m->Pt, M, m->conj_sym, 0.0, s, count);
    else
        ssm_tf_diag(G, m->lam, m->Bt->data, ct, M, m->conj_sym, 0.0, s, count);
    free(ct);
    return st;
}

ssm_status ssm_init_transfer(double complex *G, const ssm_st *file, int which, const double complex *s, size_t count)
{
    model m;
    ssm_status st = model_load(&m, file);
    if (st != SSM_OK)
        return st;
    st = model_eval(G, &m, which, s, count);
    model_clear(&m);
    return st;
}

/* FNV-1a over names, shapes and data of every tensor (insertion order) */
ssm_status ssm_init_state_matrix(ssm_zmat_t A, double complex **lambda, ssm_zmat_t P, const ssm_st *file)
{
    model m;
    ssm_status s = model_load(&m, file);
    if (s != SSM_OK)
        return s;
    size_t N = m.N;
    memset(A, 0, sizeof(ssm_zmat_struct));
    memset(P, 0, sizeof(ssm_zmat_struct));
    *lambda = NULL;
    if (m.dplr) {
        /* diag(Λ) − P̃ P̃* over the full conjugate-closed set (P̃ of the conjugate
         * modes is conj(P̃): the eigenvectors are conj(V), P real) */
        double complex *lam = malloc(N * sizeof *lam);
        s = lam ? ssm_zmat_init(P, N, m.r) : SSM_ERROR(SSM_ENOMEM, "out of memory");
        for (size_t j = 0; s == SSM_OK && j < N; j++) {
            lam[j] = lam_full(&m, j);
            for (size_t k = 0; k < m.r; k++)
                SSM_D(P, j, k) = j < m.M ? SSM_D(m.Pt, k, j) : conj(SSM_D(m.Pt, k, j - m.M));
        }
        if (s == SSM_OK)
            *lambda = lam;
        else
            free(lam);
    } else if (m.E->rows && m.At->rows) {
        /* PTD: the perturbed matrix itself, A_target + E, exactly (real) */
        s = ssm_zmat_init(A, N, N);
        for (size_t i = 0; s == SSM_OK && i < N; i++)
            for (size_t j = 0; j < N; j++)
                SSM_D(A, i, j) = SSM_D(m.At, i, j) + SSM_D(m.E, i, j);
    } else if (m.V->rows && m.Vinv->rows) {
        /* V diag(Λ) V⁻¹ over the full set (S5: the normal part of the HiPPO matrix) */
        ssm_zmat_t Vf, Vfi;
        s = model_full_V(Vf, Vfi, &m);
        if (s == SSM_OK) {
            for (size_t j = 0; j < N; j++)
                for (size_t i = 0; i < N; i++)
                    SSM_D(Vf, i, j) *= lam_full(&m, j);
            s = ssm_zmat_init(A, N, N);
        }
        if (s == SSM_OK)
            s = ssm_zmat_gemm(A, 1, Vf, 0, Vfi, 0, 0);
        ssm_zmat_clear(Vf);
        ssm_zmat_clear(Vfi);
    } else {
        s = ssm_zmat_init(A, N, N);
        for (size_t j = 0; s == SSM_OK && j < N; j++)
            SSM_D(A, j, j) = lam_full(&m, j);
    }
    model_clear(&m);
    return s;
}

static uint64_t data_digest(const ssm_st *f)
{
    uint64_t h = 1469598103934665603ull;
#define MIX(byte) (h = (h ^ (uint8_t)(byte)) * 1099511628211ull)
    for (size_t i = 0; i < ssm_st_count(f); i++) {
        const ssm_tensor *t = ssm_st_at(f, i);
        for (const char *c = t->name; *c; c++)
            MIX(*c);
        for (int d = 0; d < t->ndim; d++)
            for (int b = 0; b < 8; b++)
                MIX((uint64_t)t->shape[d] >> (8 * b));
        for (size_t k = 0; k < t->count; k++) {
            uint64_t u;
            memcpy(&u, &t->data[k], 8);
            for (int b = 0; b < 8; b++)
                MIX(u >> (8 * b));
        }
    }
#undef MIX
    return h;
}

static void fmt_num(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, "%.17g", v);
}

/* ---- build -------------------------------------------------------------- */

/* every metric field and the digest, from the tensors as stored */
static ssm_status set_metrics(ssm_st *f);

static ssm_status add_z(ssm_st *f, const char *name, const ssm_zmat_t Z, int vec)
{
    return ssm_st_add_zmat(f, name, Z, vec);
}

static ssm_status set_num(ssm_st *f, const char *key, double v)
{
    char buf[48];
    fmt_num(buf, sizeof buf, v);
    return ssm_st_set_meta(f, key, buf);
}

/* legs (A, B, P) at size n */
static ssm_status legs(ssm_dmat_t A, ssm_dmat_t B, ssm_dmat_t P, size_t n)
{
    ssm_status s = ssm_dmat_init(A, n, n);
    if (s == SSM_OK) s = ssm_dmat_init(B, n, 1);
    if (s == SSM_OK) s = ssm_dmat_init(P, 1, n);
    if (s == SSM_OK) s = ssm_hippo(A, B, P, SSM_HIPPO_LEGS, n);
    return s;
}

static ssm_status build(ssm_st **out, ssm_init_method meth, const ssm_init_opts *o);

/* PTD files are built on the fixed kernel from start to end (optimiser, the
 * stored decomposition, every metric): the same bytes under every OpenBLAS
 * kernel and thread count.  The other methods are one decomposition each,
 * deterministic up to the last bits of their LAPACK calls. */
ssm_status ssm_init_build(ssm_st **out, ssm_init_method meth, const ssm_init_opts *o)
{
    int was = ssm_fixed_kernel(meth == SSM_INIT_PTD || ssm_fixed_kernel_active());
    ssm_status s = build(out, meth, o);
    ssm_fixed_kernel(was);
    return s;
}

static ssm_status build(ssm_st **out, ssm_init_method meth, const ssm_init_opts *o)
{
    *out = NULL;
    size_t N = o->N, H = N / 2;
    if ((unsigned)meth >= SSM_INIT_COUNT)
        return SSM_ERROR(SSM_EINVAL, "invalid init method");
    if (N < 2 || N % 2 || N > 8192)
        return SSM_ERROR(SSM_EINVAL, "init: N must be even and in [2, 8192], got %zu", N);
    size_t J = o->blocks ? o->blocks : 1;
    if ((meth == SSM_INIT_S5_LEGS || meth == SSM_INIT_PTD) && (N % (2 * J) != 0))
        return SSM_ERROR(SSM_EINVAL, "%s: N = %zu must be a multiple of 2 x blocks (%zu)", METHOD_NAMES[meth], N, 2 * J);
    if (J > 1 && meth != SSM_INIT_S5_LEGS && meth != SSM_INIT_PTD)
        return SSM_ERROR(SSM_EINVAL, "%s: --blocks applies to s5-legs and ptd only", METHOD_NAMES[meth]);
    double eps = o->eps > 0 ? o->eps : 0.05;
    double tf_weight = 0.0;
    ssm_ptd_info pinfo = {0};
    double lo = o->omega_lo > 0 ? o->omega_lo : 1e-3, hi = o->omega_hi > 0 ? o->omega_hi : 10.0 * (double)N * (double)N;
    size_t count = o->omega_count ? o->omega_count : 4000;
    if (!(hi > lo) || count > TF_GRID_MAX)
        return SSM_ERROR(SSM_EINVAL, "init: frequency grid needs 0 < LO < HI and COUNT <= %zu", TF_GRID_MAX);

    double complex *lam = calloc(H, sizeof *lam);
    ssm_zmat_t V, Vinv, Bt, Pt;
    ssm_dmat_t A, B, P, E, C;
    memset(V, 0, sizeof V); memset(Vinv, 0, sizeof Vinv); memset(Pt, 0, sizeof Pt);
    memset(A, 0, sizeof A); memset(B, 0, sizeof B); memset(P, 0, sizeof P); memset(E, 0, sizeof E);
    memset(C, 0, sizeof C);
    ssm_status s = ssm_zmat_init(Bt, H, 1);
    ssm_nplr_opts nopts = {.clip_im_B = o->clip_im_B};
    int has_target = meth != SSM_INIT_S4D_LIN && meth != SSM_INIT_S4D_INV && meth != SSM_INIT_S4D_REAL;
    if (s != SSM_OK || !lam)
        goto fail;
    switch (meth) {
    case SSM_INIT_S4_DPLR:
    case SSM_INIT_S4D_LEGS:
        if ((s = legs(A, B, P, N)) != SSM_OK) goto fail;
        ssm_zmat_init(V, N, H);
        ssm_zmat_init(Pt, 1, H);
        if ((s = ssm_diag_nplr(lam, V, Bt, Pt, NULL, A, B, P, &nopts)) != SSM_OK) goto fail;
        if (meth == SSM_INIT_S4D_LEGS) {
            ssm_dmat_init(E, N, N);
            ssm_dmat_gemm(E, 1.0, P, 1, P, 0, 0.0); /* the dropped low-rank term */
            ssm_zmat_clear(Pt);
        }
        break;
    case SSM_INIT_S5_LEGS: {
        size_t bs = N / J, hb = bs / 2;
        ssm_dmat_t Ab, Bb, Pb;
        if ((s = legs(Ab, Bb, Pb, bs)) != SSM_OK) goto fail;
        double complex *wb = malloc(hb * sizeof *wb);
        ssm_zmat_t Vb, Btb, Ptb;
        ssm_zmat_init(Vb, bs, hb); ssm_zmat_init(Btb, hb, 1); ssm_zmat_init(Ptb, 1, hb);
        s = ssm_diag_nplr(wb, Vb, Btb, Ptb, NULL, Ab, Bb, Pb, &nopts);
        ssm_dmat_init(A, N, N); ssm_dmat_init(B, N, 1); ssm_dmat_init(E, N, N); ssm_zmat_init(V, N, H);
        for (size_t b = 0; s == SSM_OK && b < J; b++) {
            for (size_t i = 0; i < bs; i++) {
                SSM_D(B, b * bs + i, 0) = SSM_D(Bb, i, 0);
                for (size_t k = 0; k < bs; k++) {
                    SSM_D(A, b * bs + i, b * bs + k) = SSM_D(Ab, i, k);
                    SSM_D(E, b * bs + i, b * bs + k) = SSM_D(Pb, 0, i) * SSM_D(Pb, 0, k);
                }
                for (size_t j = 0; j < hb; j++)
                    SSM_D(V, b * bs + i, b * hb + j) = SSM_D(Vb, i, j);
            }
            for (size_t j = 0; j < hb; j++) {
                lam[b * hb + j] = wb[j];
                SSM_D(Bt, b * hb + j, 0) = SSM_D(Btb, j, 0);
            }
        }
        free(wb);
        ssm_zmat_clear(Vb); ssm_zmat_clear(Btb); ssm_zmat_clear(Ptb);
        ssm_dmat_clear(Ab); ssm_dmat_clear(Bb); ssm_dmat_clear(Pb);
        if (s != SSM_OK) goto fail;
        break;
    }
    case SSM_INIT_S4D_LIN:
    case SSM_INIT_S4D_INV:
    case SSM_INIT_S4D_REAL:
        if (meth == SSM_INIT_S4D_LIN) ssm_diag_s4d_lin(lam, N);
        else if (meth == SSM_INIT_S4D_INV) ssm_diag_s4d_inv(lam, N);
        else ssm_diag_s4d_real(lam, N);
        /* the file keeps the Im <= 0 half, as its lambda_convention says (the formulas give
         * Im >= 0; B = 1 is real, so the conjugate half is the same real system) */
        for (size_t j = 0; j < H; j++) {
            lam[j] = conj(lam[j]);
            SSM_D(Bt, j, 0) = 1.0;
        }
        break;
    case SSM_INIT_PTD: {
        /* PTD of LegS at the block size bs = N/J; J > 1: the S5 layout, the
         * block's A, E, modes and eigenvectors repeated down the diagonal */
        size_t bs = N / J, hb = bs / 2;
        ssm_dmat_t Ab, Bb, Pb, Eb;
        ssm_zmat_t Vf, Vfi;
        memset(Ab, 0, sizeof Ab); memset(Bb, 0, sizeof Bb); memset(Pb, 0, sizeof Pb); memset(Eb, 0, sizeof Eb);
        memset(Vf, 0, sizeof Vf); memset(Vfi, 0, sizeof Vfi);
        double complex *lf = malloc(bs * sizeof *lf);
        s = legs(Ab, Bb, Pb, bs);
        if (s == SSM_OK) s = ssm_dmat_init(Eb, bs, bs);
        if (s == SSM_OK) s = ssm_zmat_init(Vf, bs, bs);
        if (s == SSM_OK) s = ssm_zmat_init(Vfi, bs, bs);
        ssm_ptd_opts po = ssm_ptd_opts_default();
        po.eps = eps;
        po.seed = o->seed;
        po.progress = o->progress;
        po.B = Bb->data;
        po.tf_weight = o->tf_weight == 0.0 ? SSM_PTD_TF_WEIGHT : o->tf_weight < 0.0 ? 0.0 : o->tf_weight;
        tf_weight = po.tf_weight;
        if (s == SSM_OK)
            s = lf ? ssm_diag_ptd(Eb, lf, Vf, Vfi, &pinfo, Ab, Pb, &po) : SSM_ERROR(SSM_ENOMEM, "out of memory");
        if (s == SSM_OK) s = ssm_dmat_init(A, N, N);
        if (s == SSM_OK) s = ssm_dmat_init(B, N, 1);
        if (s == SSM_OK) s = ssm_dmat_init(E, N, N);
        if (s == SSM_OK) s = ssm_zmat_init(V, N, H);
        if (s == SSM_OK) s = ssm_zmat_init(Vinv, H, N);
        if (s == SSM_OK) {
            for (size_t b = 0; b < J; b++) {
                for (size_t i = 0; i < bs; i++) {
                    SSM_D(B, b * bs + i, 0) = SSM_D(Bb, i, 0);
                    for (size_t k = 0; k < bs; k++) {
                        SSM_D(A, b * bs + i, b * bs + k) = SSM_D(Ab, i, k);
                        SSM_D(E, b * bs + i, b * bs + k) = SSM_D(Eb, i, k);
                    }
                }
                for (size_t j = 0; j < hb; j++) {
                    lam[b * hb + j] = lf[j];
                    double complex bt = 0.0;
                    for (size_t i = 0; i < bs; i++) {
                        SSM_D(V, b * bs + i, b * hb + j) = SSM_D(Vf, i, j);
                        SSM_D(Vinv, b * hb + j, b * bs + i) = SSM_D(Vfi, j, i);
                        bt += SSM_D(Vfi, j, i) * SSM_D(Bb, i, 0);
                    }
                    SSM_D(Bt, b * hb + j, 0) = bt; /* B̃ = Ṽ⁻¹ B */
                }
            }
        }
        free(lf);
        ssm_zmat_clear(Vf); ssm_zmat_clear(Vfi);
        ssm_dmat_clear(Ab); ssm_dmat_clear(Bb); ssm_dmat_clear(Pb); ssm_dmat_clear(Eb);
        if (s != SSM_OK) goto fail;
        break;
    }
    default:
        break;
    }
    if (has_target) {
        ssm_dmat_init(C, N, 1);
        ssm_init_C(C, o->C, o->seed);
    }
    /* full set instead of conjugate halves when asked */
    size_t M = o->conj_sym ? H : N;
    ssm_zmat_t Lz, Bz, Vz, Viz, Pz;
    memset(Vz, 0, sizeof Vz); memset(Viz, 0, sizeof Viz); memset(Pz, 0, sizeof Pz);
    ssm_zmat_init(Lz, M, 1);
    ssm_zmat_init(Bz, M, 1);
    if (V->rows) ssm_zmat_init(Vz, N, M);
    if (Vinv->rows) ssm_zmat_init(Viz, M, N);
    if (Pt->rows) ssm_zmat_init(Pz, Pt->rows, M);
    for (size_t j = 0; j < M; j++) {
        size_t h = j % H;
        int cj = j >= H;
        Lz->data[j] = cj ? conj(lam[h]) : lam[h];
        Bz->data[j] = cj ? conj(Bt->data[h]) : Bt->data[h];
        for (size_t i = 0; V->rows && i < N; i++)
            SSM_D(Vz, i, j) = cj ? conj(SSM_D(V, i, h)) : SSM_D(V, i, h);
        for (size_t i = 0; Vinv->rows && i < N; i++)
            SSM_D(Viz, j, i) = cj ? conj(SSM_D(Vinv, h, i)) : SSM_D(Vinv, h, i);
        for (size_t k = 0; k < Pt->rows; k++)
            SSM_D(Pz, k, j) = cj ? conj(SSM_D(Pt, k, h)) : SSM_D(Pt, k, h);
    }
    ssm_st *f = ssm_st_create();
    s = f ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (s == SSM_OK) s = add_z(f, "Lambda", Lz, 1);
    if (s == SSM_OK) s = add_z(f, "B", Bz, 1);
    if (s == SSM_OK && Pz->rows) s = add_z(f, "P", Pz, 0);
    if (s == SSM_OK && Vz->rows) s = add_z(f, "V", Vz, 0);
    if (s == SSM_OK && Viz->rows) s = add_z(f, "Vinv", Viz, 0);
    if (s == SSM_OK && E->rows) s = ssm_st_add_dmat(f, "E", E, 0);
    if (s == SSM_OK && has_target) s = ssm_st_add_dmat(f, "A_target", A, 0);
    if (s == SSM_OK && has_target) s = ssm_st_add_dmat(f, "B_target", B, 1);
    if (s == SSM_OK && has_target) s = ssm_st_add_dmat(f, "C_target", C, 1);
    ssm_zmat_clear(Lz); ssm_zmat_clear(Bz); ssm_zmat_clear(Vz); ssm_zmat_clear(Viz); ssm_zmat_clear(Pz);
    char buf[160];
#define META(k, ...) do { snprintf(buf, sizeof buf, __VA_ARGS__); if (s == SSM_OK) s = ssm_st_set_meta(f, k, buf); } while (0)
    META("format", "ssmkit-init/1");
    META("method", "%s", METHOD_NAMES[meth]);
    META("measure", "%s", has_target ? "legs" : "none");
    META("N", "%zu", N);
    META("M", "%zu", M);
    if (meth == SSM_INIT_PTD) META("eps", "%.17g", eps); else META("eps", "n/a");
    if (meth == SSM_INIT_PTD) {
        /* the optimiser's own transfer errors, relative, on its grid (reported, not re-verified) */
        META("tf_weight", "%.17g", tf_weight);
        META("tf_weight_final", "%.17g", pinfo.tf_weight_final); /* after the ladder's doublings */
        META("ptd_tf_ones", "%.6g", pinfo.tf_ones);
        META("ptd_tf_state", "%.6g", pinfo.tf_state);
    }
    META("prec_bits", "53");
    META("seed", "%lu", o->seed);
    META("conj_sym", "%s", o->conj_sym ? "true" : "false");
    if (meth == SSM_INIT_S5_LEGS || (meth == SSM_INIT_PTD && J > 1)) META("blocks", "%zu", J);
    META("C", "%s", !has_target ? "n/a" : o->C == SSM_C_ONES ? "ones" : o->C == SSM_C_RANDOM ? "random (GSL mt19937, N(0,1)/sqrt(N), seed)" : "legendre (sqrt(2n+1))");
    /* the log grid plus every |Im λ| of the stored modes inside it: a lightly
     * damped mode's resonance (width |Re λ|) cannot fall between grid points */
    META("tf_grid", "log:%.17g:%.17g:%zu+poles", lo, hi, count);
    if (o->clip_im_B > 0) META("clip_im_B", "%.17g", o->clip_im_B); else META("clip_im_B", "off");
    META("B_convention", "%s", !has_target ? "B = 1" : meth == SSM_INIT_PTD ? "B = Vinv B_target (first M rows)"
                                                                       : "B = V* B_target (V unitary), no factor 1/2");
    META("lambda_convention", "%s", "modes with Im <= 0; conj_sym=true: the conjugate modes are implied");
    META("backward_error_def", "%s", meth == SSM_INIT_S4_DPLR
             ? "||A_target - V (diag Lambda - P P*) V*||_2 / ||A_target||_2 over the conjugate-closed set"
             : has_target ? "||A_target + E - V diag(Lambda) V^-1||_2 / ||A_target||_2 (E: the stored perturbation)"
                          : "n/a (no target)");
    META("ssmkit_version", SSM_VERSION);
    META("verified_prec_bits", "53");
#undef META
    if (s == SSM_OK && o->prec > 53) {
        s = ssm_init_refine_mp(f, meth, o);
        snprintf(buf, sizeof buf, "%ld", (long)o->prec);
        if (s == SSM_OK) s = ssm_st_set_meta(f, "prec_bits", buf);
        if (s == SSM_OK)
            s = ssm_st_set_meta(f, "rounding", "Lambda, B, V, Vinv, P correctly rounded to F64 from the multiprecision "
                                               "eigendecomposition at prec_bits (digits vouched for)");
    }
    if (s == SSM_OK)
        s = set_metrics(f);
    if (s != SSM_OK)
        ssm_st_free(f);
    else
        *out = f;
fail:
    free(lam);
    ssm_zmat_clear(V); ssm_zmat_clear(Vinv); ssm_zmat_clear(Bt); ssm_zmat_clear(Pt);
    ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P); ssm_dmat_clear(E); ssm_dmat_clear(C);
    return s;
}

/* ---- verify ------------------------------------------------------------- */

static void add_item(ssm_verify_report *r, const char *key, const char *stored, double recomputed, double tol)
{
    if (r->count >= (int)(sizeof r->item / sizeof r->item[0]))
        return;
    ssm_verify_item *it = &r->item[r->count++];
    snprintf(it->key, sizeof it->key, "%s", key);
    snprintf(it->stored, sizeof it->stored, "%s", stored ? stored : "(absent)");
    fmt_num(it->recomputed, sizeof it->recomputed, recomputed);
    it->tolerance = tol;
    if (!stored)
        it->ok = 0;
    else if (strcmp(stored, "n/a") == 0)
        it->ok = isnan(recomputed);
    else {
        char *end;
        double v = strtod(stored, &end);
        it->ok = *end == '\0' && !isnan(recomputed) && fabs(v - recomputed) <= tol;
    }
    r->failed += !it->ok;
}

static void add_claim(ssm_verify_report *r, const char *key, const char *what, int ok)
{
    if (r->count >= (int)(sizeof r->item / sizeof r->item[0]))
        return;
    ssm_verify_item *it = &r->item[r->count++];
    snprintf(it->key, sizeof it->key, "%s", key);
    snprintf(it->stored, sizeof it->stored, "%s", what);
    snprintf(it->recomputed, sizeof it->recomputed, "%s", ok ? "holds" : "violated");
    it->tolerance = 0;
    it->ok = ok;
    r->failed += !ok;
}

ssm_status ssm_init_verify(ssm_verify_report *rep, const ssm_st *f)
{
    memset(rep, 0, sizeof *rep);
    model m;
    ssm_status s = model_load(&m, f);
    if (s != SSM_OK)
        return s;
    metrics mt;
    s = model_metrics(&mt, &m, f);
    size_t N = m.N;
    double u = DBL_EPSILON;
    if (s == SSM_OK) {
        char buf[32];
        snprintf(buf, sizeof buf, "%016llx", (unsigned long long)data_digest(f));
        const char *d = ssm_st_meta(f, "data_fnv1a64");
        add_claim(rep, "data_fnv1a64", d ? d : "(absent)", d && strcmp(d, buf) == 0);
        /* tolerances: the same computation on another BLAS differs by rounding;
         * κ from an SVD is relatively accurate to c n ε κ, residual norms to c n ε */
        add_item(rep, "kappa_V", ssm_st_meta(f, "kappa_V"), mt.kappa_V,
                 isnan(mt.kappa_V) ? 0 : (1e-12 + 100.0 * N * u * mt.kappa_V) * mt.kappa_V);
        add_item(rep, "backward_error", ssm_st_meta(f, "backward_error"), mt.backward_error,
                 100.0 * N * u * (isnan(mt.kappa_V) ? 1 : mt.kappa_V));
        add_item(rep, "perturbation_norm", ssm_st_meta(f, "perturbation_norm"), mt.perturbation_norm,
                 100.0 * N * u * fmax(1.0, isnan(mt.perturbation_norm) ? 0 : mt.perturbation_norm));
        add_item(rep, "max_re_lambda", ssm_st_meta(f, "max_re_lambda"), mt.max_re_lambda, 0.0);
        add_item(rep, "tf_sup_error", ssm_st_meta(f, "tf_sup_error"), mt.tf_sup_error,
                 isnan(mt.tf_sup_error) ? 0 : 1e-6 * mt.tf_sup_error + 1e4 * N * u);
        add_item(rep, "b_residual", ssm_st_meta(f, "b_residual"), mt.b_residual,
                 100.0 * N * u * (isnan(mt.kappa_V) ? 1 : mt.kappa_V));
        /* claims the file makes about itself */
        add_claim(rep, "stable", "max Re lambda < 0", mt.max_re_lambda < 0.0);
        if (!isnan(mt.backward_error))
            add_claim(rep, "decomposition", "backward_error <= 1e3 N eps kappa_V",
                      mt.backward_error <= 1e3 * N * u * mt.kappa_V);
        if (!isnan(mt.b_residual))
            add_claim(rep, "B_consistent", "B = V^-1 B_target to 1e3 N eps kappa_V",
                      mt.b_residual <= 1e3 * N * u * mt.kappa_V);
        const char *meth = ssm_st_meta(f, "method"), *eps = ssm_st_meta(f, "eps");
        if (meth && strcmp(meth, "ptd") == 0) {
            double e = eps ? strtod(eps, NULL) : NAN;
            add_claim(rep, "budget", "perturbation_norm <= eps", mt.perturbation_norm <= e * (1.0 + 1e-9));
        }
    }
    model_clear(&m);
    if (s != SSM_OK)
        return s;
    return rep->failed ? SSM_ERROR(SSM_ECHECK, "verify: %d of %d checks failed", rep->failed, rep->count) : SSM_OK;
}

static ssm_status set_metrics(ssm_st *f)
{
    model m;
    metrics mt;
    char buf[48];
    ssm_status s = model_load(&m, f);
    if (s == SSM_OK) {
        s = model_metrics(&mt, &m, f);
        model_clear(&m);
    }
    if (s == SSM_OK) s = set_num(f, "kappa_V", mt.kappa_V);
    if (s == SSM_OK) s = set_num(f, "backward_error", mt.backward_error);
    if (s == SSM_OK) s = set_num(f, "perturbation_norm", mt.perturbation_norm);
    if (s == SSM_OK) s = set_num(f, "max_re_lambda", mt.max_re_lambda);
    if (s == SSM_OK) s = set_num(f, "tf_sup_error", mt.tf_sup_error);
    if (s == SSM_OK) s = set_num(f, "tf_sup_omega", mt.omega_at_sup);
    if (s == SSM_OK) s = set_num(f, "b_residual", mt.b_residual);
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)data_digest(f));
    if (s == SSM_OK) s = ssm_st_set_meta(f, "data_fnv1a64", buf);
    return s;
}
