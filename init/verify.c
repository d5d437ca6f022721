/* init/verify.c — every metric field of an init file recomputed from its
 * tensors as stored: at build time (ssm_init_set_metrics writes them) and at
 * verify time (ssm_init_verify compares), by the same function, with
 * tolerances that carry their reason (c·n·ε·κ). */
#include "init/init_impl.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double kappa_V, backward_error, perturbation_norm, max_re_lambda, tf_sup_error, b_residual;
    double omega_at_sup;
    double tf_target_sup; /* sup |G_target| on the same grid: the signal tf_sup_error is measured against */
} metrics;



/* The tensors are finite (the loader checked), so a NaN norm is a failed computation (its SVD
 * could not allocate), never a value: fail rather than store "n/a". */
static ssm_status norm_ok(double x)
{
    if (!isnan(x))
        return SSM_OK;
    char why[256]; /* the message buffer is also SSM_ERROR's destination */
    snprintf(why, sizeof why, "%s", ssm_error_message());
    return SSM_ERROR(SSM_ENOMEM, "a spectral norm could not be computed (%s)", why);
}

static ssm_status model_metrics(metrics *mt, const ssm_init_file *m)
{
    size_t N = m->N;
    ssm_status s = SSM_OK;
    mt->kappa_V = mt->backward_error = mt->perturbation_norm = mt->tf_sup_error = mt->b_residual = NAN;
    mt->omega_at_sup = mt->tf_target_sup = NAN;
    mt->max_re_lambda = -INFINITY;
    for (size_t j = 0; j < m->M; j++)
        mt->max_re_lambda = fmax(mt->max_re_lambda, creal(m->lambda[j]));
    if (!m->V->rows)
        return SSM_OK;
    ssm_zmat_t Vf, Vfi, R, T;
    memset(R, 0, sizeof R);
    memset(T, 0, sizeof T);
    if ((s = ssm_init_full_V(Vf, Vfi, m)) != SSM_OK)
        goto out;
    double *sv = malloc(N * sizeof *sv);
    s = sv ? ssm_zmat_singvals(sv, Vf) : SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (s == SSM_OK)
        mt->kappa_V = sv[0] / sv[N - 1];
    free(sv);
    if (s != SSM_OK || !m->A_target->rows)
        goto out;
    double nA = ssm_dmat_norm2(m->A_target);
    if ((s = norm_ok(nA)) != SSM_OK)
        goto out;
    if ((s = ssm_zmat_init(R, N, N)) != SSM_OK || (s = ssm_zmat_init(T, N, N)) != SSM_OK)
        goto out;
    if (m->r) {
        /* ‖A_t − V_f (diag Λ_f − P̃_f P̃_f*) V_f*‖₂/‖A_t‖₂ */
        ssm_zmat_t Mid;
        if ((s = ssm_zmat_init(Mid, N, N)) != SSM_OK)
            goto out;
        for (size_t i = 0; i < N; i++) {
            SSM_D(Mid, i, i) = ssm_init_lambda_full(m, i);
            for (size_t j = 0; j < N; j++)
                for (size_t k = 0; k < m->r; k++) {
                    double complex pi = i < m->M ? SSM_D(m->P, k, i) : conj(SSM_D(m->P, k, i - m->M));
                    double complex pj = j < m->M ? SSM_D(m->P, k, j) : conj(SSM_D(m->P, k, j - m->M));
                    SSM_D(Mid, i, j) -= pi * conj(pj);
                }
        }
        s = ssm_zmat_gemm(T, 1.0, Vf, 0, Mid, 0, 0.0);
        ssm_zmat_clear(Mid);
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++)
                SSM_D(R, i, j) = SSM_D(m->A_target, i, j);
        if (s == SSM_OK) s = ssm_zmat_gemm(R, -1.0, T, 0, Vf, 2, 1.0);
        if (s != SSM_OK)
            goto out;
        mt->backward_error = ssm_zmat_norm2(R) / nA;
        mt->perturbation_norm = 0.0;
        if ((s = norm_ok(mt->backward_error)) != SSM_OK)
            goto out;
    } else {
        /* ‖A_t + E − V_f Λ_f V_f⁻¹‖₂/‖A_t‖₂ */
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) {
                SSM_D(T, i, j) = SSM_D(Vf, i, j) * ssm_init_lambda_full(m, j);
                SSM_D(R, i, j) = SSM_D(m->A_target, i, j) + (m->E->rows ? SSM_D(m->E, i, j) : 0.0);
            }
        if ((s = ssm_zmat_gemm(R, -1.0, T, 0, Vfi, 0, 1.0)) != SSM_OK)
            goto out;
        mt->backward_error = ssm_zmat_norm2(R) / nA;
        mt->perturbation_norm = m->E->rows ? ssm_dmat_norm2(m->E) / nA : 0.0;
        if ((s = norm_ok(mt->backward_error)) != SSM_OK || (s = norm_ok(mt->perturbation_norm)) != SSM_OK)
            goto out;
    }
    /* B̃ = V_f⁻¹ B_t (first M rows): relative residual */
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < m->M; i++) {
        double complex b = 0.0;
        for (size_t k = 0; k < N; k++)
            b += SSM_D(Vfi, i, k) * SSM_D(m->B_target, k, 0);
        num = hypot(num, cabs(b - m->B[i]));
        den = hypot(den, cabs(b));
    }
    mt->b_residual = num / den;
    /* sup over the stated grid of |G_init − G_target| */
    double *om = NULL;
    size_t count;
    if ((s = ssm_init_tf_frequencies(&om, &count, m)) != SSM_OK)
        goto out;
    double complex *sgrid = malloc(count * sizeof *sgrid), *g0 = malloc(count * sizeof *g0),
                   *g1 = malloc(count * sizeof *g1);
    s = sgrid && g0 && g1 ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "out of memory for %zu frequencies", count);
    for (size_t k = 0; s == SSM_OK && k < count; k++)
        sgrid[k] = CMPLX(0.0, om[k]);
    if (s == SSM_OK) s = ssm_init_transfer(g0, m, SSM_INIT_MODEL, sgrid, count);
    if (s == SSM_OK) s = ssm_init_transfer(g1, m, SSM_INIT_TARGET, sgrid, count);
    if (s == SSM_OK) {
        mt->tf_sup_error = mt->tf_target_sup = 0.0;
        for (size_t k = 0; k < count; k++) {
            if (cabs(g0[k] - g1[k]) > mt->tf_sup_error) {
                mt->tf_sup_error = cabs(g0[k] - g1[k]);
                mt->omega_at_sup = om[k];
            }
            mt->tf_target_sup = fmax(mt->tf_target_sup, cabs(g1[k]));
        }
    }
    free(sgrid); free(g0); free(g1); free(om);
out:
    ssm_zmat_clear(Vf); ssm_zmat_clear(Vfi); ssm_zmat_clear(R); ssm_zmat_clear(T);
    return s;
}


void ssm_init_fmt_num(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, "%.17g", v);
}


/* ---- verify ------------------------------------------------------------- */

static void add_item(ssm_verify_report *r, const char *key, const char *stored, double recomputed, double tol)
{
    if (r->count >= (int)(sizeof r->item / sizeof r->item[0]))
        return;
    ssm_verify_item *it = &r->item[r->count++];
    snprintf(it->key, sizeof it->key, "%s", key);
    snprintf(it->stored, sizeof it->stored, "%s", stored ? stored : "(absent)");
    ssm_init_fmt_num(it->recomputed, sizeof it->recomputed, recomputed);
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

ssm_status ssm_init_verify(ssm_verify_report *rep, const ssm_init_file *m)
{
    memset(rep, 0, sizeof *rep);
    rep->tf_error = rep->tf_signal = rep->tf_relative = NAN;
    const ssm_st *f = m->st;
    metrics mt;
    ssm_status s = model_metrics(&mt, m);
    if (s == SSM_OK && mt.tf_target_sup > 0) {
        rep->tf_error = mt.tf_sup_error;
        rep->tf_signal = mt.tf_target_sup;
        rep->tf_relative = mt.tf_sup_error / mt.tf_target_sup;
    }
    size_t N = m->N;
    double u = DBL_EPSILON;
    if (s == SSM_OK) {
        const char *d = ssm_st_meta(f, "data_fnv1a64");
        add_claim(rep, "data_fnv1a64", d ? d : "(absent)", d && ssm_init_digest_matches(f, d));
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
    if (s != SSM_OK)
        return s;
    return rep->failed ? SSM_ERROR(SSM_ECHECK, "verify: %d of %d checks failed", rep->failed, rep->count) : SSM_OK;
}


static ssm_status set_num(ssm_st *f, const char *key, double v)
{
    char buf[48];
    ssm_init_fmt_num(buf, sizeof buf, v);
    return ssm_st_set_meta(f, key, buf);
}

ssm_status ssm_init_set_metrics(ssm_st *f)
{
    ssm_init_file *m = NULL;
    metrics mt;
    char buf[48];
    ssm_status s = ssm_init_file_borrow(&m, f);
    if (s == SSM_OK)
        s = model_metrics(&mt, m);
    ssm_init_file_unborrow(m);
    if (s == SSM_OK) s = set_num(f, "kappa_V", mt.kappa_V);
    if (s == SSM_OK) s = set_num(f, "backward_error", mt.backward_error);
    if (s == SSM_OK) s = set_num(f, "perturbation_norm", mt.perturbation_norm);
    if (s == SSM_OK) s = set_num(f, "max_re_lambda", mt.max_re_lambda);
    if (s == SSM_OK) s = set_num(f, "tf_sup_error", mt.tf_sup_error);
    if (s == SSM_OK) s = set_num(f, "tf_sup_omega", mt.omega_at_sup);
    if (s == SSM_OK) s = set_num(f, "b_residual", mt.b_residual);
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)ssm_init_digest(f));
    if (s == SSM_OK) s = ssm_st_set_meta(f, "data_fnv1a64", buf);
    return s;
}
