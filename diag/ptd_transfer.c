/* diag/ptd_transfer.c — the transfer term of the PTD objective.
 *
 * The perturbed system's state response r(s) = (sI − X)⁻¹B, X = A + E, is
 * evaluated from the eigendecomposition X = V Λ W the optimiser has anyway:
 * r(s) = V diag(1/(s − λ)) W B, one N×K product for K frequencies.  Its error
 * e(s) = r(s) − g₀(s), g₀ = (sI − A)⁻¹B (solved once per grid), is measured two
 * ways at every grid frequency ω_k:
 *     ρ_k = ‖e_k‖² / max_k‖g₀_k‖²   and   |1ᵀe_k|² / max_k|1ᵀg₀_k|²,
 * the squared relative error of the state response (which bounds every C; a
 * Gaussian C sees ‖e‖ on average) and of the C = ones response.  A soft maximum
 * over the grid of each, T = (mean_k ρ_k^p)^{1/p}, and the term
 * τ (α √T_state + (1 − α) √T_ones) (τ: the transfer weight) enters the
 * objective: each √T is a relative error.
 *
 * Gradient.  de_k = R_k dE r_k with R_k = (s_k I − X)⁻¹, so
 *     d(τ√T) = Σ_k ω_k 2 Re(a_k* dE r_k),   a_k = R_k* q_k,   q_k = Q e_k,
 *     ω_k = τ T^{1/2−p} ρ_k^{p−1} / (2K)   (for each of the two terms),
 * and ∇_E = 2 Re Σ_k ω_k a_k r_kᴴ; a_k = W* diag(1/conj(s_k − λ)) V* q_k comes
 * from the same decomposition: three more N×N×K products.
 *
 * Grid: K_LOG log-spaced points on [1e-2, 50 N²/π] (the range where HiPPO-LegS
 * responds), K_LIN linear points on [0.5, 1.5] N²/π (where S4D-LegS spikes),
 * and the current |Im λ| of every mode (a lightly damped mode's resonance,
 * width |Re λ|, cannot fall between grid points); the optimiser refreshes the
 * pole points as the spectrum moves. */
#include "diag/ptd_impl.h"
#include "core/core.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define K_LOG 160
#define K_LIN 48
/* p = 8: the soft maximum is within K^{1/8} ≈ 2 of the true one and follows
 * its peak; α = 0.6 leans on the state response (randC) a little more than on
 * the C = ones response (measured on LegS N = 16, 32, 64 at the official
 * budgets: see the README's PTD section) */
#define TF_P 8.0
#define TF_ALPHA 0.6

/* Above N = TF_DENSE_MIN_N the grid is denser: the quasi-Newton optimiser
 * there (ptd.c, LBFGS_MIN_N) converges far enough to push the error's peaks
 * between the points of the 160-point log grid (LegS N = 128: the optimiser's
 * C = ones error 0.026 against 0.095 on the README's 4000-point protocol, the
 * sup at ω = 181 between the poles at 174 and 190).  So the log grid gets
 * TF_DENSE_LOG points and every gap between adjacent pole points its
 * midpoint (where two resonances add up).  Up to N = 64 the grid is as it
 * was: those results are pinned bit for bit. */
#define TF_DENSE_MIN_N 64
#ifndef TF_DENSE_LOG
#define TF_DENSE_LOG 320
#endif
#ifndef TF_MIDPOINTS
#define TF_MIDPOINTS 1
#endif
static size_t k_log(size_t N) { return N > TF_DENSE_MIN_N ? TF_DENSE_LOG : K_LOG; }

size_t ptd_tf_grid_max(size_t N) { return k_log(N) + K_LIN + (N > TF_DENSE_MIN_N && TF_MIDPOINTS ? N : N / 2); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int ptd_tf_alloc(ptd_tf *t, size_t N)
{
    memset(t, 0, sizeof *t);
    size_t K = ptd_tf_grid_max(N), lw1 = ssm_k_zgemm_lwork((int)N, (int)K, (int)N),
           lw2 = ssm_k_zgemm_lwork((int)N, (int)N, (int)K);
    t->N = N;
    t->omega = malloc(K * sizeof *t->omega);
    t->rho = malloc(2 * K * sizeof *t->rho);
    t->bt = malloc(N * sizeof *t->bt);
    t->g0 = malloc(N * K * sizeof *t->g0);
    t->R = malloc(N * K * sizeof *t->R);
    t->Q = malloc(N * K * sizeof *t->Q);
    t->U = malloc(N * K * sizeof *t->U);
    t->G = malloc(N * N * sizeof *t->G);
    t->g = malloc(N * sizeof *t->g);
    t->M = ssm_lapack_alloc(N * N, sizeof *t->M);
    t->ipiv = malloc(N * sizeof *t->ipiv);
    t->zwork = malloc((lw1 > lw2 ? lw1 : lw2) * sizeof *t->zwork);
    return t->omega && t->rho && t->bt && t->g0 && t->R && t->Q && t->U && t->G && t->g && t->M && t->ipiv &&
           t->zwork;
}

void ptd_tf_free(ptd_tf *t)
{
    free(t->omega); free(t->rho); free(t->bt); free(t->g0); free(t->R); free(t->Q); free(t->U); free(t->G);
    free(t->g); free(t->M); free(t->ipiv); free(t->zwork);
    memset(t, 0, sizeof *t);
}

/* g = (sI − A)⁻¹ b for one s: forward substitution when A is lower triangular
 * (HiPPO-LegS), else LAPACK's zgesv on scratch M (N×N, column-major; the
 * fixed kernel during PTD).  Returns 0 when sI − A is singular. */
static int resolvent_solve(double complex *g, double complex *M, int *ipiv, const double *A, const double *b,
                           size_t N, double complex s, int lower)
{
    if (lower) {
        for (size_t i = 0; i < N; i++) {
            double complex acc = b[i];
            for (size_t j = 0; j < i; j++)
                acc += A[i * N + j] * g[j];
            double complex d = s - A[i * N + i];
            if (d == 0.0)
                return 0;
            g[i] = acc / d;
        }
        return 1;
    }
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < N; j++)
            M[j * N + i] = (i == j ? s : 0.0) - A[i * N + j];
        g[i] = b[i];
    }
    return ssm_k_zgesv((int)N, 1, M, (int)N, ipiv, g, (int)N) == 0;
}

int ptd_tf_set_grid(ptd_tf *t, const double *A, const double *B, const double complex *lam, size_t nlam)
{
    size_t N = t->N, K = 0;
    double top = (double)N * (double)N / M_PI;
    double lo = log(1e-2), hi = log(50.0 * top);
    size_t nlog = k_log(N), kmax = ptd_tf_grid_max(N);
    for (size_t k = 0; k < nlog; k++)
        t->omega[K++] = exp(lo + (hi - lo) * (double)k / (double)(nlog - 1));
    for (size_t k = 0; k < K_LIN; k++)
        t->omega[K++] = top * (0.5 + (double)k / (K_LIN - 1));
    size_t k0 = K;
    for (size_t j = 0; lam && j < nlam && K < kmax; j++)
        if (cimag(lam[j]) < 0.0)
            t->omega[K++] = -cimag(lam[j]);
    if (N > TF_DENSE_MIN_N && TF_MIDPOINTS && K > k0 + 1) {
        size_t np = K - k0;
        qsort(t->omega + k0, np, sizeof *t->omega, cmp_double);
        for (size_t j = 0; j + 1 < np && K < kmax; j++)
            t->omega[K++] = 0.5 * (t->omega[k0 + j] + t->omega[k0 + j + 1]);
    }
    t->K = K;
    int lower = 1;
    for (size_t i = 0; i < N && lower; i++)
        for (size_t j = i + 1; j < N; j++)
            if (A[i * N + j] != 0.0) {
                lower = 0;
                break;
            }
    double complex *g = t->g;
    int ok = 1;
    t->s_state = t->s_ones = 0.0;
    for (size_t k = 0; ok && k < K; k++) {
        ok = resolvent_solve(g, t->M, t->ipiv, A, B, N, CMPLX(0.0, t->omega[k]), lower);
        double complex one = 0.0;
        double st = 0.0;
        for (size_t i = 0; ok && i < N; i++) {
            t->g0[i * K + k] = g[i];
            one += g[i];
            st += creal(g[i]) * creal(g[i]) + cimag(g[i]) * cimag(g[i]);
        }
        t->s_state = fmax(t->s_state, st);
        t->s_ones = fmax(t->s_ones, creal(one) * creal(one) + cimag(one) * cimag(one));
    }
    return ok && t->s_state > 0.0 && t->s_ones > 0.0;
}

/* 1/(iω − λ) without the library's scaled complex division (|iω − λ| ≥
 * |Re λ| > 0 inside the optimiser's region: no overflow) */
static inline double complex inv_shift(double omega, double complex lam)
{
    double re = -creal(lam), im = omega - cimag(lam), d = re * re + im * im;
    return CMPLX(re / d, -im / d);
}

/* (mean ρ^p)^{1/p}, scaled by the largest ρ: no overflow or underflow */
static double soft_max(const double *rho, size_t K, double big)
{
    if (!(big > 0.0) || !isfinite(big))
        return isfinite(big) ? 0.0 : INFINITY;
    double sum = 0.0;
    for (size_t k = 0; k < K; k++)
        sum += pow(rho[k] / big, TF_P);
    return big * pow(sum / (double)K, 1.0 / TF_P);
}

double ptd_tf_value(ptd_tf *t, const double complex *V, const double complex *W, const double complex *lam,
                    const double *B)
{
    size_t N = t->N, K = t->K;
    for (size_t j = 0; j < N; j++) {
        double complex acc = 0.0;
        for (size_t i = 0; i < N; i++)
            acc += W[j * N + i] * B[i];
        t->bt[j] = acc;
    }
    /* U = diag(b̃) ⊙ 1/(s − λ) (N×K), R = V U */
    for (size_t j = 0; j < N; j++)
        for (size_t k = 0; k < K; k++)
            t->U[j * K + k] = t->bt[j] * inv_shift(t->omega[k], lam[j]);
    ptd_zgemm(0, N, K, N, V, t->U, t->R, t->zwork);
    t->sup_state = t->sup_ones = 0.0;
    for (size_t k = 0; k < K; k++) {
        double st = 0.0;
        double complex one = 0.0;
        for (size_t i = 0; i < N; i++) {
            double complex e = t->R[i * K + k] - t->g0[i * K + k];
            st += creal(e) * creal(e) + cimag(e) * cimag(e);
            one += e;
        }
        t->rho[k] = st / t->s_state;
        t->rho[K + k] = (creal(one) * creal(one) + cimag(one) * cimag(one)) / t->s_ones;
        t->sup_state = fmax(t->sup_state, t->rho[k]);
        t->sup_ones = fmax(t->sup_ones, t->rho[K + k]);
    }
    t->T[0] = soft_max(t->rho, K, t->sup_state);
    t->T[1] = soft_max(t->rho + K, K, t->sup_ones);
    t->sup_state = sqrt(t->sup_state);
    t->sup_ones = sqrt(t->sup_ones);
    return TF_ALPHA * sqrt(t->T[0]) + (1.0 - TF_ALPHA) * sqrt(t->T[1]);
}

void ptd_tf_gradient(ptd_tf *t, double *g, double scale, const double complex *V, const double complex *W,
                     const double complex *lam)
{
    size_t N = t->N, K = t->K;
    /* q_k = Σ_terms ω_k^term Q_term e_k into Q */
    /* ω_k = c·T^{1/2 − p}·ρ_k^{p − 1} = c·T^{−1/2}·(ρ_k/T)^{p − 1}: ratios, so that
     * neither T^{1/2 − p} nor ρ^{p − 1} can overflow or underflow alone */
    double c[2] = {0.0, 0.0};
    for (int m = 0; m < 2; m++)
        if (t->T[m] > 0.0 && isfinite(t->T[m]))
            c[m] = (m ? 1.0 - TF_ALPHA : TF_ALPHA) * scale / (2.0 * (double)K * sqrt(t->T[m]));
    if (c[0] == 0.0 && c[1] == 0.0)
        return;
    for (size_t k = 0; k < K; k++) {
        double ws = c[0] == 0.0 ? 0.0 : c[0] * pow(t->rho[k] / t->T[0], TF_P - 1.0) / t->s_state;
        double wo = c[1] == 0.0 ? 0.0 : c[1] * pow(t->rho[K + k] / t->T[1], TF_P - 1.0) / t->s_ones;
        double complex one = 0.0;
        for (size_t i = 0; i < N; i++)
            one += t->R[i * K + k] - t->g0[i * K + k];
        for (size_t i = 0; i < N; i++)
            t->Q[i * K + k] = ws * (t->R[i * K + k] - t->g0[i * K + k]) + wo * one;
    }
    /* U = V* Q, scaled by 1 / conj(s_k − λ_j) */
    ptd_zgemm(1, N, K, N, V, t->Q, t->U, t->zwork);
    for (size_t j = 0; j < N; j++)
        for (size_t k = 0; k < K; k++)
            t->U[j * K + k] *= conj(inv_shift(t->omega[k], lam[j]));
    /* a = W* U into Q, then ∇ += 2 Re(a Rᴴ) */
    ptd_zgemm(1, N, K, N, W, t->U, t->Q, t->zwork);
    double *re = (double *)t->G; /* Re(a Rᴴ) alone: half the arithmetic */
    ssm_k_zgemm_re_work(0, 2, (int)N, (int)N, (int)K, t->Q, (int)K, t->R, (int)K, re, (int)N, t->zwork);
    for (size_t a = 0; a < N * N; a++)
        g[a] += 2.0 * re[a];
}

void ptd_zgemm(int conj_a, size_t m, size_t n, size_t k, const double complex *A, const double complex *B,
               double complex *C, double *work)
{
    ssm_k_zgemm_work(1, conj_a ? 2 : 0, 0, (int)m, (int)n, (int)k, 1.0, A, conj_a ? (int)m : (int)k, B, (int)n, 0.0,
                     C, (int)n, work);
}
