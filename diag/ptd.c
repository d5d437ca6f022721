/* diag/ptd.c — perturb-then-diagonalise (doc/reference.md §5).
 *
 * Minimise  F(E) = Σ_i s_i(A+E)²  − μ Σ_i log(−Re λ_i − m)  [+ τ·transfer term]
 * over real E with ‖E‖₂ ≤ δ,
 * where s_i = ‖x_i‖‖w_i‖ (x_i right eigenvector, w_i the matching row of V⁻¹,
 * w_i x_i = 1) are the eigenvalue condition numbers: Σ s_i² = κ_F(V̂)²/N for the
 * unit-column eigenvector matrix V̂.  The log barrier keeps every iterate strictly
 * inside the half-plane Re λ < −m; its weight μ is small, so it acts only near
 * the boundary.
 *
 * Gradient from one eigendecomposition X = A + E = V Λ W (W = V⁻¹): with
 * G = V*V, H = W W*, Z_ik = ‖w_i‖² G_ik − ‖x_k‖² H_ik and Ω_ki = Z_ik/(λ_i − λ_k)
 * (k ≠ i, zero diagonal),
 *     ∇_E Σ s_i² = 2 Re (V Ωᵀ W)ᵀ,      ∇_E Re λ_i = Re (x_i w_i)ᵀ,
 * from dV = V C, C_ki = (W dE V)_ki/(λ_i − λ_k) (first-order eigenvector
 * perturbation; the diagonal of C drops out by scale invariance).
 *
 * Optimiser: spectral projected gradient (Birgin, Martínez & Raydan 2000) —
 * Barzilai–Borwein step, projection onto the spectral-norm ball by clipping
 * singular values, non-monotone Armijo line search over the last 10 values;
 * trial points that are not strictly stable are rejected by the search.
 * Above N = 64 the direction is L-BFGS's (P(E − H g) − E, H from the last 8
 * step/gradient-change pairs of the stage; the SPG direction where it is no
 * descent direction) and a full stage has max(128, 32768/N) steps: LegS
 * N = 256 at ε = 0.05 in 640 steps instead of SPG's 9216, to a point no worse
 * on any of the README's measures (README, PTD).
 * Continuation: start at E₀ = Σ P_rᵀP_r (A + E₀ normal, κ = 1) and shrink the
 * radius δ geometrically to ε‖A‖₂, each stage warm-started from the last.
 *
 * With opts->B and tf_weight τ > 0 the objective adds τ·(α√T_state + (1 − α)√T_ones),
 * soft maxima over a frequency grid of the relative error of the state and the
 * C = ones responses (ptd_transfer.c, with its gradient).  Such a run visits the
 * ladder of budgets m·10^k (m = 5, 3, 2, 1) above ε as full stages (those above
 * 0.1 with a quarter of the steps), so a run to ε passes through the same points
 * as a sweep; along them the weight doubles wherever an error would grow.  The
 * whole run uses the fixed kernel (core/kernel.c; OpenBLAS on one thread, the
 * kernel's own products split deterministically over two): the result is a
 * function of the input alone. */
#define _POSIX_C_SOURCE 200809L
#include "diag/diag.h"
#include "diag/ptd_impl.h"

#include <float.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Profiling hooks (build with EXTRA_CFLAGS=-DPTD_TRACE): time per phase and
 * steps per stage on stderr; nothing at all in a normal build. */
#ifdef PTD_TRACE
#include <stdio.h>
enum { TR_GEEV, TR_INV, TR_OBJ, TR_GRAD, TR_TFGRAD, TR_PROJ, TR_N };
static double tr_sec[TR_N];
static long tr_cnt[TR_N];
static double tr_clock(void) /* CPU time: the machine may be shared */
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#define TR_BEGIN double tr_t0_ = tr_clock()
#define TR_END(slot) (tr_sec[slot] += tr_clock() - tr_t0_, tr_cnt[slot]++)
#define TR_AGAIN (tr_t0_ = tr_clock())
static void tr_report(void)
{
    static const char *name[TR_N] = {"dgeev", "V^-1", "objective", "gradient", "tf-gradient", "project"};
    for (int k = 0; k < TR_N; k++)
        fprintf(stderr, "ptd-trace %-12s %8ld calls %9.3f s %8.3f ms/call\n", name[k], tr_cnt[k], tr_sec[k],
                tr_cnt[k] ? 1e3 * tr_sec[k] / (double)tr_cnt[k] : 0.0);
}
#else
#define TR_BEGIN (void)0
#define TR_END(slot) (void)0
#define TR_AGAIN (void)0
#endif

/* continuation schedule: radius ratio per stage, iterations and flatness
 * threshold of the intermediate stages (tuned on LegS N = 32, 64: see the
 * closing note of the PTD issue for the κ/time trade-off) */
#ifndef SHRINK
#define SHRINK 0.7
#endif
#ifndef TF_SHRINK
#define TF_SHRINK 0.5
#endif
#ifndef INTERMEDIATE_ITER
#define INTERMEDIATE_ITER 25
#endif
#ifndef INTERMEDIATE_FLAT
#define INTERMEDIATE_FLAT 1e-7
#endif

typedef struct {
    size_t N;
    const double *A;       /* N×N row-major */
    double margin;         /* m: Re λ <= −m */
    double mu;             /* barrier weight */
    /* scratch */
    double *X, *wr, *wi, *VR;
    double complex *V, *W, *G, *H, *T;
    long full_eigs;        /* statistics */
    double complex *lam;
    int *ipiv;
    /* LAPACK workspaces of the queried lengths (work_alloc): dgeev with vectors,
     * dgesdd 'S' (the projection, on proj: 3 N² + N) and 'N' (‖E‖₂), zgesvd 'N'
     * (κ₂(V), on zsv_a), and the fixed kernel's zgemm panels: nothing in the
     * optimiser's loop allocates */
    double *geev_work, *proj, *sdd_work, *zsv_rwork, *zgemm_work;
    double complex *zsv_a, *zsv_work;
    int *sdd_iwork;
    int geev_lw, sdd_lw_s, sdd_lw_n, zsv_lw;
    /* transfer term (use_tf): τ·(α√T_state + (1 − α)√T_ones), see ptd_transfer.c */
    int use_tf;
    double tau;
    const double *B;
    ptd_tf tf;
} ptd_work;

static void work_free(ptd_work *w)
{
    free(w->X); free(w->wr); free(w->wi); free(w->VR);
    free(w->V); free(w->W); free(w->G); free(w->H); free(w->T);
    free(w->lam); free(w->ipiv);
    free(w->geev_work); free(w->proj); free(w->sdd_work); free(w->zsv_rwork); free(w->zgemm_work);
    free(w->zsv_a); free(w->zsv_work); free(w->sdd_iwork);
    ptd_tf_free(&w->tf);
}

/* the length a LAPACK workspace query returned (at least 1) */
static int query_length(double q)
{
    return q >= 1.0 && q < 2147483647.0 ? (int)q : 1;
}

/* The LAPACK workspaces, of the lengths the queries give on the kernel the run
 * uses (the allocating wrappers query the same way: the same bits).  Returns 0
 * when a query fails or memory runs out. */
static int work_query(ptd_work *w)
{
    int N = (int)w->N;
    size_t n2 = w->N * w->N;
    double q = 0.0, *a = w->proj, *U = a + n2, *Vt = U + n2, *sv = Vt + n2;
    double complex zq = 0.0;
    if (ssm_k_dgeev_work('N', 'V', N, w->X, N, w->wr, w->wi, NULL, 1, w->VR, N, &q, -1) != 0)
        return 0;
    w->geev_lw = query_length(q);
    if (ssm_k_dgesdd_work('S', N, N, a, N, sv, U, N, Vt, N, &q, -1, w->sdd_iwork) != 0)
        return 0;
    w->sdd_lw_s = query_length(q);
    if (ssm_k_dgesdd_work('N', N, N, a, N, sv, NULL, 1, NULL, 1, &q, -1, w->sdd_iwork) != 0)
        return 0;
    w->sdd_lw_n = query_length(q);
    if (ssm_k_zgesvd_work('N', 'N', N, N, w->zsv_a, N, sv, NULL, 1, NULL, 1, &zq, -1, w->zsv_rwork) != 0)
        return 0;
    w->zsv_lw = query_length(creal(zq));
    w->geev_work = malloc((size_t)w->geev_lw * sizeof(double));
    w->sdd_work = malloc((size_t)(w->sdd_lw_s > w->sdd_lw_n ? w->sdd_lw_s : w->sdd_lw_n) * sizeof(double));
    w->zsv_work = malloc((size_t)w->zsv_lw * sizeof(double complex));
    return w->geev_work && w->sdd_work && w->zsv_work;
}

/* Every buffer of the run, before it starts; LAPACK-facing ones are padded
 * (ssm_lapack_alloc).  Returns 0 when memory runs out (work_free frees what
 * was allocated). */
static int work_alloc(ptd_work *w, size_t N)
{
    size_t n2 = N * N;
    w->X = ssm_lapack_alloc(n2, sizeof(double));
    w->VR = ssm_lapack_alloc(n2, sizeof(double));
    w->wr = malloc(N * sizeof(double));
    w->wi = malloc(N * sizeof(double));
    w->V = malloc(n2 * sizeof(double complex));
    w->W = ssm_lapack_alloc(n2, sizeof(double complex));
    w->G = malloc(n2 * sizeof(double complex));
    w->H = malloc(n2 * sizeof(double complex));
    w->T = ssm_lapack_alloc(n2, sizeof(double complex));
    w->lam = malloc(N * sizeof(double complex));
    w->ipiv = malloc(N * sizeof(int));
    w->proj = ssm_lapack_alloc(3 * n2 + N, sizeof(double));
    w->sdd_iwork = malloc(SSM_K_DGESDD_LIWORK(N) * sizeof(int));
    w->zsv_a = ssm_lapack_alloc(n2, sizeof(double complex));
    w->zsv_rwork = malloc(SSM_K_ZGESVD_LRWORK(N) * sizeof(double));
    w->zgemm_work = malloc(ssm_k_zgemm_lwork((int)N, (int)N, (int)N) * sizeof(double));
    return w->X && w->VR && w->wr && w->wi && w->V && w->W && w->G && w->H && w->T && w->lam && w->ipiv &&
           w->proj && w->sdd_iwork && w->zsv_a && w->zsv_rwork && w->zgemm_work && work_query(w);
}

/* A LAPACK outcome inside the optimiser: 0 → OK; info > 0 (no convergence, an
 * exactly singular matrix) → SSM_ENOCONV with nothing recorded, a point the
 * optimiser rejects; info < 0 → the recorded error (a bad argument, or memory),
 * passed on and never taken for a rejection. */
static ssm_status outcome(const char *routine, int info)
{
    return info > 0 ? SSM_ENOCONV : ssm_lapack_status(routine, info);
}

/* W = V⁻¹ from the real inverse R = VR⁻¹ (V = VR·M with M block diagonal: for a
 * pair (j, j+1) the columns c(vr_j ± i vr_{j+1}), M_jj = [[c, c], [i c, −i c]],
 * whose inverse is [[1, −i], [1, i]]/(2c); for a real column c): a real LU of
 * dgeev's own VR, a quarter of the complex one's flops.  R goes to w->proj
 * (column-major, after the N² copy of VR that dgesv factors); scale: the c of
 * every column.  SSM_ENOCONV (nothing recorded) when VR is singular. */
static ssm_status invert_vectors(ptd_work *w, const double *scale)
{
    size_t N = w->N, n2 = N * N;
    double *lu = w->proj, *R = lu + n2;
    memcpy(lu, w->VR, n2 * sizeof(double));
    memset(R, 0, n2 * sizeof(double));
    for (size_t i = 0; i < N; i++)
        R[i * N + i] = 1.0;
    ssm_status s = outcome("dgesv", ssm_k_dgesv((int)N, (int)N, lu, (int)N, w->ipiv, R, (int)N));
    if (s != SSM_OK)
        return s;
    for (size_t j = 0; j < N; j++) { /* row j of R is R[k N + j], k = 0 … N − 1 */
        if (w->wi[j] != 0.0 && j + 1 < N) {
            double h = 0.5 / scale[j];
            for (size_t k = 0; k < N; k++) {
                double re = R[k * N + j], im = R[k * N + j + 1];
                w->W[j * N + k] = CMPLX(h * re, -h * im);
                w->W[(j + 1) * N + k] = CMPLX(h * re, h * im);
            }
            j++;
        } else {
            for (size_t k = 0; k < N; k++)
                w->W[j * N + k] = R[k * N + j] / scale[j];
        }
    }
    return SSM_OK;
}

/* Eigendecomposition of A + E into w->lam, w->V (unit columns, row-major),
 * w->W = V⁻¹ (row-major).  SSM_ENOCONV (nothing recorded) when dgeev does not
 * converge or V is singular; allocates nothing. */
static ssm_status decompose(ptd_work *w, const double *E)
{
    w->full_eigs++;
    TR_BEGIN;
    size_t N = w->N;
    for (size_t i = 0; i < N; i++) /* column-major X = A + E */
        for (size_t j = 0; j < N; j++)
            w->X[j * N + i] = w->A[i * N + j] + E[i * N + j];
    ssm_status s = outcome("dgeev", ssm_k_dgeev_work('N', 'V', (int)N, w->X, (int)N, w->wr, w->wi, NULL, 1, w->VR,
                                                     (int)N, w->geev_work, w->geev_lw));
    TR_END(TR_GEEV);
    if (s != SSM_OK)
        return s;
    TR_AGAIN;
    double *scale = w->X; /* N entries: X is free after dgeev */
    for (size_t j = 0; j < N; j++) {
        int pair = w->wi[j] != 0.0 && j + 1 < N;
        /* c = 1/‖column‖ (entries of a unit LAPACK vector: no overflow); a pair's two share it */
        double ss = 0.0;
        for (size_t i = 0; i < N; i++) {
            double re = w->VR[j * N + i], im = pair ? w->VR[(j + 1) * N + i] : 0.0;
            ss += re * re + im * im;
        }
        scale[j] = 1.0 / sqrt(ss);
        w->lam[j] = CMPLX(w->wr[j], w->wi[j]);
        if (pair) {
            scale[j + 1] = scale[j];
            w->lam[j + 1] = CMPLX(w->wr[j + 1], w->wi[j + 1]);
            for (size_t i = 0; i < N; i++) {
                double re = scale[j] * w->VR[j * N + i], im = scale[j] * w->VR[(j + 1) * N + i];
                w->V[i * N + j] = CMPLX(re, im);
                w->V[i * N + j + 1] = CMPLX(re, -im);
            }
            j++;
        } else {
            for (size_t i = 0; i < N; i++)
                w->V[i * N + j] = scale[j] * w->VR[j * N + i];
        }
    }
    s = invert_vectors(w, scale);
    TR_END(TR_INV);
    return s;
}

/* objective at the current decomposition; +inf when not strictly stable */
static double objective(ptd_work *w, double *sum_s2)
{
    size_t N = w->N;
    double f = 0.0, bar = 0.0;
    for (size_t i = 0; i < N; i++) {
        double d = -creal(w->lam[i]) - w->margin;
        if (!(d > 0.0) || cimag(w->lam[i]) == 0.0)
            return INFINITY; /* unstable, or a pair split into two reals: outside the region */
        bar -= log(d);
        double wn = 0.0;
        for (size_t k = 0; k < N; k++) {
            double complex z = w->W[i * N + k];
            wn += creal(z) * creal(z) + cimag(z) * cimag(z);
        }
        f += wn; /* ‖x_i‖ = 1 */
    }
    if (sum_s2)
        *sum_s2 = f;
    if (!isfinite(f))
        return INFINITY;
    f += w->mu * bar;
    if (w->use_tf) {
        TR_BEGIN;
        f += w->tau * ptd_tf_value(&w->tf, w->V, w->W, w->lam, w->B);
        TR_END(TR_OBJ);
    }
    return isfinite(f) ? f : INFINITY;
}

/* gradient (real N×N) at the current decomposition */
static void gradient(ptd_work *w, double *g)
{
    size_t N = w->N;
    TR_BEGIN;
    /* G = V* V, H = W W* */
    ssm_k_zgram_work(1, (int)N, w->V, w->G, w->zgemm_work);
    ssm_k_zgram_work(0, (int)N, w->W, w->H, w->zgemm_work);
    /* Ωᵀ into T: (Ωᵀ)_ik = Ω_ki = Z_ik/(λ_i − λ_k) */
    for (size_t i = 0; i < N; i++) {
        double wi2 = creal(w->H[i * N + i]); /* ‖w_i‖² */
        for (size_t k = 0; k < N; k++) {
            if (k == i) {
                w->T[i * N + k] = 0.0;
                continue;
            }
            double xk2 = creal(w->G[k * N + k]); /* ‖x_k‖² = 1 */
            double complex Z = wi2 * w->G[i * N + k] - xk2 * w->H[i * N + k];
            w->T[i * N + k] = Z / (w->lam[i] - w->lam[k]);
        }
    }
    /* barrier: add β_i on the diagonal, since V diag(β) W = the Re λ gradients */
    for (size_t i = 0; i < N; i++) {
        double d = -creal(w->lam[i]) - w->margin;
        w->T[i * N + i] = 0.5 * w->mu / d; /* the factor 2 below restores μ/d */
    }
    /* Γ = V T W, gradient = 2 Re Γᵀ (Re Γ alone into H, seen as real) */
    double *re = (double *)w->H;
    ptd_zgemm(0, N, N, N, w->V, w->T, w->G, w->zgemm_work);
    ssm_k_zgemm_re_work(0, 0, (int)N, (int)N, (int)N, w->G, (int)N, w->W, (int)N, re, (int)N, w->zgemm_work);
    for (size_t a = 0; a < N; a++)
        for (size_t b = 0; b < N; b++)
            g[a * N + b] = 2.0 * re[b * N + a];
    TR_END(TR_GRAD);
    if (w->use_tf) {
        TR_AGAIN;
        ptd_tf_gradient(&w->tf, g, w->tau, w->V, w->W, w->lam);
        TR_END(TR_TFGRAD);
    }
}

/* E ← the nearest point (Frobenius) of {‖E‖₂ <= delta}: clip singular values.
 * Works on the row-major E seen as Eᵀ in column-major order (clipping commutes
 * with transposition), in w->proj.  SSM_ENOCONV (nothing recorded) when the
 * SVD does not converge. */
static ssm_status project(ptd_work *w, double *E, double delta)
{
    size_t N = w->N;
    double *a = w->proj, *U = a + N * N, *Vt = U + N * N, *s = Vt + N * N;
    memcpy(a, E, N * N * sizeof(double));
    TR_BEGIN;
    ssm_status st = outcome("dgesdd", ssm_k_dgesdd_work('S', (int)N, (int)N, a, (int)N, s, U, (int)N, Vt, (int)N,
                                                        w->sdd_work, w->sdd_lw_s, w->sdd_iwork));
    TR_END(TR_PROJ);
    if (st != SSM_OK || s[0] <= delta)
        return st;
    /* Eᵀ += U diag(min(σ, δ) − σ) Vᵀ; U column k is U[k N .. k N + N) */
    for (size_t k = 0; k < N; k++) {
        double f = s[k] > delta ? delta - s[k] : 0.0;
        for (size_t i = 0; i < N; i++)
            U[k * N + i] *= f;
    }
    ssm_k_dgemm(0, 0, 0, (int)N, (int)N, (int)N, 1.0, U, (int)N, Vt, (int)N, 1.0, E, (int)N);
    return SSM_OK;
}

/* ‖E‖₂ (row-major N×N) in w->proj, as ssm_dmat_norm2 computes it (dgesdd
 * values only on Eᵀ): the same bits, without allocating */
static ssm_status spectral_norm(ptd_work *w, double *nrm, const double *E)
{
    size_t N = w->N;
    double *a = w->proj, *s = a + 3 * N * N;
    memcpy(a, E, N * N * sizeof(double));
    int info = ssm_k_dgesdd_work('N', (int)N, (int)N, a, (int)N, s, NULL, 1, NULL, 1, w->sdd_work, w->sdd_lw_n,
                                 w->sdd_iwork);
    *nrm = info == 0 ? s[0] : NAN;
    return ssm_lapack_status("dgesdd", info);
}

static double dot(const double *x, const double *y, size_t n)
{
    double s = 0.0;
    for (size_t k = 0; k < n; k++)
        s += x[k] * y[k];
    return s;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* κ₂ of the current unit-column eigenvector matrix (zgesvd values only on
 * w->zsv_a; +inf when the SVD does not converge or V is singular) */
static ssm_status kappa2(ptd_work *w, double *kappa)
{
    size_t N = w->N;
    double *sv = w->proj; /* N values */
    memcpy(w->zsv_a, w->V, N * N * sizeof(double complex));
    ssm_status s = outcome("zgesvd", ssm_k_zgesvd_work('N', 'N', (int)N, (int)N, w->zsv_a, (int)N, sv, NULL, 1,
                                                       NULL, 1, w->zsv_work, w->zsv_lw, w->zsv_rwork));
    *kappa = s == SSM_OK && sv[N - 1] > 0 ? sv[0] / sv[N - 1] : INFINITY;
    return s == SSM_ENOCONV ? SSM_OK : s;
}

/* Limited-memory BFGS on the projected problem, for N > LBFGS_MIN_N with the
 * transfer term only: the regime where SPG was step-capped (12 N steps per
 * full stage), where its Barzilai–Borwein steps were still falling 0.3–1 % per 100 steps
 * at the cap.  Up to N = 64 the
 * schedule's stages end flat and their points are pinned bit for bit (t-cli,
 * `make readme-numbers`), so the SPG path there is untouched. */
#define LBFGS_MIN_N 64
#ifndef LBFGS_MEM
#define LBFGS_MEM 8
#endif

/* steps of a full stage above LBFGS_MIN_N (transit stages: a quarter):
 * max(LBFGS_FULL, LBFGS_WORK / N), about the same N² · steps per stage.  What
 * was measured (README protocol, ε = 0.05): LegS N = 256 with 128 / 192 / 256
 * steps: κ 15.7 / 13.8 / 13.1, C = ones 0.038 / 0.035 / 0.025, randC 0.20 /
 * 0.19 / 0.17 in 72 / 115 / 166 CPU-s (SPG at 12 N = 3072: κ 15.9, 0.057, 0.33
 * in 998 CPU-s); N = 128, seeds 0–3, with 256 steps κ 6.15–6.27 against SPG's
 * 8.11–9.13, but with 128 steps κ 9.8–11.1: worse, hence more steps there. */
#ifndef LBFGS_FULL
#define LBFGS_FULL 128
#endif
#define LBFGS_WORK 32768

typedef struct {
    double *E, *g, *Et, *gt, *D;
    double f, alpha;
    int iterations;
    /* L-BFGS pairs (s, y) in a ring of LBFGS_MEM (NULL: plain SPG): S, Y are
     * LBFGS_MEM × N² each, rho_k = 1/(s_kᵀy_k); mem_n pairs, the newest at
     * mem_head − 1 */
    double *S, *Y, rho[LBFGS_MEM];
    int mem_n, mem_head;
    /* with the pairs: the best point of the current round (the line search is
     * non-monotone, so a round can end above a point it passed) */
    double *Ebest, fbest;
} spg_state;

/* r = H g with H the L-BFGS inverse-Hessian approximation of the stored pairs
 * (two-loop recursion, H₀ = (sᵀy/yᵀy) I of the newest pair); 0 when no pair is
 * stored */
static int lbfgs_direction(const spg_state *st, size_t n2, double *r)
{
    if (!st->S || st->mem_n == 0)
        return 0;
    double a[LBFGS_MEM];
    memcpy(r, st->g, n2 * sizeof(double));
    for (int j = 0; j < st->mem_n; j++) {
        int k = (st->mem_head - 1 - j + LBFGS_MEM) % LBFGS_MEM;
        const double *s = st->S + (size_t)k * n2, *y = st->Y + (size_t)k * n2;
        a[j] = st->rho[k] * dot(s, r, n2);
        for (size_t q = 0; q < n2; q++)
            r[q] -= a[j] * y[q];
    }
    int k0 = (st->mem_head - 1 + LBFGS_MEM) % LBFGS_MEM;
    const double *y0 = st->Y + (size_t)k0 * n2;
    double gamma = 1.0 / (st->rho[k0] * dot(y0, y0, n2));
    for (size_t q = 0; q < n2; q++)
        r[q] *= gamma;
    for (int j = st->mem_n - 1; j >= 0; j--) {
        int k = (st->mem_head - 1 - j + LBFGS_MEM) % LBFGS_MEM;
        const double *s = st->S + (size_t)k * n2, *y = st->Y + (size_t)k * n2;
        double b = st->rho[k] * dot(y, r, n2);
        for (size_t q = 0; q < n2; q++)
            r[q] += (a[j] - b) * s[q];
    }
    return 1;
}

/* store the pair (s, y) = (t D, g_new − g) when its curvature is positive
 * enough to keep H positive definite */
static void lbfgs_store(spg_state *st, size_t n2, double t)
{
    if (!st->S)
        return;
    double sy = 0.0, ss = 0.0, yy = 0.0;
    for (size_t q = 0; q < n2; q++) { /* the test first: a full memory's next slot holds its oldest pair */
        double sq = t * st->D[q], yq = st->gt[q] - st->g[q];
        sy += sq * yq;
        ss += sq * sq;
        yy += yq * yq;
    }
    if (!(sy > 1e-10 * sqrt(ss * yy)))
        return;
    double *s = st->S + (size_t)st->mem_head * n2, *y = st->Y + (size_t)st->mem_head * n2;
    for (size_t q = 0; q < n2; q++) {
        s[q] = t * st->D[q];
        y[q] = st->gt[q] - st->g[q];
    }
    st->rho[st->mem_head] = 1.0 / sy;
    st->mem_head = (st->mem_head + 1) % LBFGS_MEM;
    st->mem_n += st->mem_n < LBFGS_MEM;
}

/* D = P(E − step) − E, the projected direction for a step (α g or H g);
 * returns gᵀD (not negative: no descent) or NaN when the SVD fails (*s set) */
static double projected_direction(ptd_work *w, spg_state *st, const double *step, double scale, double delta,
                                  ssm_status *s)
{
    size_t n2 = w->N * w->N;
    for (size_t k = 0; k < n2; k++)
        st->D[k] = st->E[k] - scale * step[k];
    if ((*s = project(w, st->D, delta)) != SSM_OK)
        return NAN;
    for (size_t k = 0; k < n2; k++)
        st->D[k] -= st->E[k];
    return dot(st->g, st->D, n2);
}

/* One stage of SPG at radius delta from st->E (feasible, decomposed into w,
 * with st->f and st->g current); *accepted: the number of accepted steps.
 * A point whose decomposition fails numerically is rejected by the line
 * search; any other failure is returned (recorded). */
static ssm_status spg_stage(ptd_work *w, spg_state *st, int *accepted, double delta, int max_iter,
                            double kappa_target, double flat_tol)
{
    size_t N = w->N, n2 = N * N;
    enum { HIST = 10 };
    double hist[HIST];
    for (int k = 0; k < HIST; k++)
        hist[k] = st->f;
    int flat = 0;
    ssm_status s = SSM_OK;
    *accepted = 0;
    for (int it = 0; it < max_iter; it++) {
        /* projected quasi-Newton direction where pairs are stored (N > LBFGS_MIN_N),
         * else (or when it is no descent direction) the projected gradient one */
        double gd = NAN;
        if (lbfgs_direction(st, n2, st->gt)) {
            gd = projected_direction(w, st, st->gt, 1.0, delta, &s);
            if (s == SSM_ENOCONV) { /* the projection's SVD failed: forget the pairs, take SPG's direction */
                st->mem_n = st->mem_head = 0;
                s = SSM_OK;
                gd = NAN;
            }
            if (s != SSM_OK)
                break;
        }
        if (!(gd < 0.0)) {
            gd = projected_direction(w, st, st->g, st->alpha, delta, &s);
            if (s != SSM_OK)
                break;
        }
        if (!(gd < 0.0))
            break; /* stationary on the ball */
        double fmax = hist[0];
        for (int k = 1; k < HIST; k++)
            fmax = fmax > hist[k] ? fmax : hist[k];
        double t = 1.0, ft = INFINITY;
        int ok = 0;
        for (int ls = 0; ls < 40; ls++) {
            for (size_t k = 0; k < n2; k++)
                st->Et[k] = st->E[k] + t * st->D[k];
            if ((s = decompose(w, st->Et)) != SSM_OK && s != SSM_ENOCONV)
                return s;
            ft = s == SSM_OK ? objective(w, NULL) : INFINITY;
            if (ft <= fmax + 1e-4 * t * gd) {
                ok = 1;
                break;
            }
            /* safeguarded quadratic interpolation of f along the direction
             * (Birgin–Martínez–Raydan); infeasible points: a quarter step */
            double tq = isfinite(ft) ? -0.5 * gd * t * t / (ft - st->f - t * gd) : 0.25 * t;
            t = tq < 0.1 * t ? 0.1 * t : tq > 0.5 * t ? 0.5 * t : tq;
        }
        if (!ok)
            break;
        gradient(w, st->gt);
        /* Barzilai–Borwein: α = sᵀs / sᵀy with s = t D, y = g_new − g */
        double ss = 0.0, sy = 0.0;
        for (size_t k = 0; k < n2; k++) {
            double sk = t * st->D[k], y = st->gt[k] - st->g[k];
            ss += sk * sk;
            sy += sk * y;
        }
        st->alpha = sy > 0.0 ? ss / sy : st->alpha * 4.0;
        lbfgs_store(st, n2, t);
        double fold = st->f;
        memcpy(st->E, st->Et, n2 * sizeof(double));
        memcpy(st->g, st->gt, n2 * sizeof(double));
        st->f = ft;
        if (st->Ebest && ft < st->fbest) {
            st->fbest = ft;
            memcpy(st->Ebest, st->E, n2 * sizeof(double));
        }
        hist[it % HIST] = ft;
        ++*accepted;
        st->iterations++;
        flat = fold - ft < flat_tol * fabs(ft) ? flat + 1 : 0;
#ifdef PTD_TRACE
        if (st->iterations % 100 == 0)
            fprintf(stderr, "ptd-trace   step %d f %.8g ones %.4g state %.4g\n", st->iterations, ft,
                    w->use_tf ? w->tf.sup_ones : 0.0, w->use_tf ? w->tf.sup_state : 0.0);
#endif
        if (flat >= 5)
            break;
        double kappa;
        if (kappa_target > 0 && ((s = kappa2(w, &kappa)) != SSM_OK || kappa <= kappa_target))
            break;
    }
    return s == SSM_ENOCONV ? SSM_OK : s; /* an SVD that failed to converge ends the stage */
}

/* With the transfer term the grid's pole points follow the spectrum: the
 * stage runs in rounds of TF_ROUND steps, each on a grid refreshed at the
 * current poles (the objective changes with the grid, so each round restarts
 * the non-monotone history).  Returns 0 when the grid cannot be built. */
#define TF_ROUND 40
/* weight doublings allowed per sweep budget to keep the errors monotone */
#define TF_ESCALATE 4
/* the budget ladder m·10^k, m = 5, 3, 2, 1 (descending), that every transfer-
 * aware run visits on its way to eps: a run to eps passes through the same
 * optimised points as a sweep, so `--eps 0.01` alone is the sweep's 0.01 */
#define LADDER_MAX 64
static size_t ladder(double *b, double eps, double top)
{
    static const double m[4] = {5, 3, 2, 1};
    size_t n = 0;
    for (int k = 1; k >= -15 && n < LADDER_MAX; k--)
        for (int i = 0; i < 4 && n < LADDER_MAX; i++) {
            double v = k >= 0 ? m[i] * pow(10.0, k) : m[i] / pow(10.0, -k); /* 0.3, not 3 × 0.1 */
            if (v < top * (1.0 - 1e-9) && v > eps * (1.0 + 1e-9))
                b[n++] = v;
        }
    return n;
}
/* Steps for a budget: budgets above 0.1 ‖A‖ are transit (nobody keeps a
 * perturbation that large) and get a quarter; a function of the budget alone,
 * so a run to ε and a sweep through ε still meet at the same points.  LegS
 * N = 128 to 0.0323: 110 s → 70 s at the same final point quality. */
static int stage_iter(int max_iter, double budget)
{
    return budget > 0.1 * (1.0 + 1e-9) ? (max_iter + 3) / 4 : max_iter;
}

static int refresh(ptd_work *w, spg_state *st)
{
    if (w->use_tf && !ptd_tf_set_grid(&w->tf, w->A, w->B, w->lam, w->N))
        return 0;
    st->f = objective(w, NULL);
    gradient(w, st->g);
    return isfinite(st->f);
}

/* decompose st->E and refresh the grid, f and g there; SSM_ENOCONV (nothing
 * recorded) when either fails numerically */
static ssm_status redecompose(ptd_work *w, spg_state *st)
{
    ssm_status s = decompose(w, st->E);
    return s != SSM_OK ? s : refresh(w, st) ? SSM_OK : SSM_ENOCONV;
}

/* the SPG steps at radius delta (in rounds with the transfer term, see above);
 * SSM_ENOCONV (nothing recorded) for a numerical failure */
static ssm_status stage(ptd_work *w, spg_state *st, double delta, int max_iter, double kappa_target,
                        double flat_tol)
{
    int acc;
    /* a new radius (or weight): the pairs describe another problem.  Across the rounds of one stage
     * they are kept although each round rebuilds the grid's pole points (the objective moves a little):
     * clearing them every round was measured at LegS N = 128, seeds 0 and 1 — κ 8.99 / 8.75 against
     * 6.15 / 6.27 kept, `ones` 0.031 / 0.031 against 0.035 / 0.042, state 0.20 / 0.20 against 0.22 / 0.25
     * (the run escalated the weight once more): another point of the same front, not a better one. */
    st->mem_n = st->mem_head = 0;
    if (!w->use_tf)
        return spg_stage(w, st, &acc, delta, max_iter, kappa_target, flat_tol);
    for (int done = 0; done < max_iter;) {
        int n = max_iter - done < TF_ROUND ? max_iter - done : TF_ROUND;
        ssm_status s = redecompose(w, st);
        double f0 = st->f;
        if (st->Ebest) {
            st->fbest = f0;
            memcpy(st->Ebest, st->E, w->N * w->N * sizeof(double));
        }
        if (s == SSM_OK)
            s = spg_stage(w, st, &acc, delta, n, kappa_target, flat_tol);
        if (s != SSM_OK)
            return s;
        done += n;
#ifdef PTD_TRACE
        fprintf(stderr, "ptd-trace   round %d f %.8g rel %.3g\n", st->iterations, st->f, (f0 - st->f) / fabs(st->f));
#endif
        if (acc < n)
            break;
        if (st->Ebest && f0 - st->f < 0.0) { /* quasi-Newton: a round that ends above its start (the line
                                                * search is non-monotone) has nothing left to gain at this
                                                * radius; its best point (the start, or one it passed) stays */
            memcpy(st->E, st->Ebest, w->N * w->N * sizeof(double));
            break;
        }
    }
    return redecompose(w, st);
}

/* the transfer errors of the decomposed point on a grid at its own poles (NaN
 * where the grid cannot be built); allocates nothing */
static void tf_record(ptd_work *w, ssm_ptd_info *r)
{
    r->tf_ones = r->tf_state = NAN;
    if (w->use_tf && ptd_tf_set_grid(&w->tf, w->A, w->B, w->lam, w->N)) {
        ptd_tf_value(&w->tf, w->V, w->W, w->lam, w->B);
        r->tf_ones = w->tf.sup_ones;
        r->tf_state = w->tf.sup_state;
    }
}

static int cmp_lambda(const void *a, const void *b)
{
    double x = cimag(*(const double complex *)a), y = cimag(*(const double complex *)b);
    return (x > y) - (x < y);
}

/* One PTD run: the optimiser's work and state, and what the steps below share */
typedef struct {
    ptd_work w;
    spg_state st;
    double *Ad;                 /* A, row-major                                        */
    const ssm_ptd_opts *opts;
    double nA, eps, delta, delta0, ratio, prev_ones, prev_state, t_start;
    int max_iter, stages;
    double *visit;              /* the budgets to visit, descending, eps last           */
    long *visit_user;           /* visit_user[v]: the sweep index of budget v, or −1     */
    size_t nvisit;              /* budgets before eps                                   */
} ptd_ctx;

static void ctx_free(ptd_ctx *c)
{
    free(c->Ad);
    free(c->st.E); free(c->st.g); free(c->st.Et); free(c->st.gt); free(c->st.D);
    free(c->st.S); free(c->st.Y); free(c->st.Ebest);
    free(c->visit); free(c->visit_user);
    work_free(&c->w);
}

/* every buffer of the run, before any work: ENOMEM here or never */
static ssm_status ctx_alloc(ptd_ctx *c, size_t N, size_t nsweep, size_t nladder)
{
    size_t n2 = N * N;
    c->Ad = malloc(n2 * sizeof(double));
    c->st.E = malloc(n2 * sizeof(double));
    c->st.g = malloc(n2 * sizeof(double));
    c->st.Et = malloc(n2 * sizeof(double));
    c->st.gt = malloc(n2 * sizeof(double));
    c->st.D = malloc(n2 * sizeof(double));
    if (c->w.use_tf && N > LBFGS_MIN_N) { /* conditioning alone keeps SPG: not measured with L-BFGS */
        c->st.S = malloc(LBFGS_MEM * n2 * sizeof(double));
        c->st.Y = malloc(LBFGS_MEM * n2 * sizeof(double));
        c->st.Ebest = malloc(n2 * sizeof(double));
        if (!c->st.S || !c->st.Y || !c->st.Ebest)
            return SSM_ERROR(SSM_ENOMEM, "ptd: out of memory (N = %zu)", N);
    }
    c->visit = malloc((nladder + nsweep + 1) * sizeof *c->visit);
    c->visit_user = malloc((nladder + nsweep + 1) * sizeof *c->visit_user);
    if (!c->Ad || !c->st.E || !c->st.g || !c->st.Et || !c->st.gt || !c->st.D || !c->visit || !c->visit_user ||
        !work_alloc(&c->w, N) || (c->w.use_tf && !ptd_tf_alloc(&c->w.tf, N)))
        return SSM_ERROR(SSM_ENOMEM, "ptd: out of memory (N = %zu)", N);
    return SSM_OK;
}

/* The start E₀ = Σ P_rᵀ P_r (A + E₀ normal), plus a seeded perturbation of
 * relative size 1e-9 so that ties in the spectrum are broken reproducibly;
 * decomposed, with the barrier weight, the grid, f, g and δ₀ = ‖E₀‖₂. */
static ssm_status ctx_start(ptd_ctx *c, const ssm_dmat_t A, const ssm_dmat_t P)
{
    ptd_work *w = &c->w;
    spg_state *st = &c->st;
    size_t N = w->N, n2 = N * N;
    for (size_t i = 0; i < N; i++)
        memcpy(c->Ad + i * N, &SSM_D(A, i, 0), N * sizeof(double));
    w->A = c->Ad;
    memset(st->E, 0, n2 * sizeof(double));
    for (size_t r = 0; r < P->rows; r++)
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++)
                st->E[i * N + j] += SSM_D(P, r, i) * SSM_D(P, r, j);
    uint64_t x = (c->opts ? c->opts->seed : 0) * 2654435761u + 88172645463325252ull;
    for (size_t k = 0; k < n2; k++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        st->E[k] += 1e-9 * c->nA * ((double)(x >> 11) * 0x1p-53 - 0.5) / (double)N;
    }
    ssm_status s = decompose(w, st->E);
    if (s != SSM_OK)
        return s == SSM_ENOCONV ? SSM_ERROR(s, "ptd: eigendecomposition of the starting point failed") : s;
    double sum_s2;
    w->mu = 0.0;
    objective(w, &sum_s2);
    w->mu = 1e-3 * sum_s2 / (double)N; /* barrier small next to F (F >= N) */
    if (w->use_tf && !ptd_tf_set_grid(&w->tf, c->Ad, w->B, w->lam, N))
        return SSM_ERROR(SSM_EINVAL, "ptd: iω − A is singular on the transfer grid");
    st->f = objective(w, NULL);
    if (!isfinite(st->f))
        return SSM_ERROR(SSM_EINVAL, "ptd: the normal part A + P Pᵀ is not strictly stable; PTD starts from it");
    gradient(w, st->g);
    return spectral_norm(w, &c->delta0, st->E);
}

/* the budgets to visit, descending: with the transfer term every ladder value
 * below the start's radius and above eps, merged with the sweep's; eps last */
static void ctx_visits(ptd_ctx *c, const double *lad, size_t nl)
{
    const ssm_ptd_opts *o = c->opts;
    size_t nsweep = o && o->sweep ? o->sweep_count : 0, a = 0, b = 0, n = 0;
    while (a < nl || b < nsweep) {
        double xl = a < nl ? lad[a] : -1.0, ys = b < nsweep ? o->sweep[b] : -1.0;
        if (ys >= xl * (1.0 - 1e-9)) {
            if (fabs(ys - xl) <= 1e-9 * ys)
                a++;
            c->visit_user[n] = (long)b;
            c->visit[n++] = o->sweep[b++];
        } else {
            c->visit_user[n] = -1;
            c->visit[n++] = lad[a++];
        }
    }
    c->visit_user[n] = -1;
    c->visit[n] = c->eps;
    c->nvisit = n;
}

/* Shrink the radius from c->delta down to goal (absolute), optimising at each
 * radius; last: goal is eps itself. */
static ssm_status ctx_descend(ptd_ctx *c, double goal, int last)
{
    ptd_work *w = &c->w;
    spg_state *st = &c->st;
    size_t n2 = w->N * w->N;
    const ssm_ptd_opts *opts = c->opts;
    double target = c->eps * c->nA;
    while (c->delta > goal * (1.0 + 1e-12)) {
        double next = c->delta * c->ratio < goal ? goal : c->delta * c->ratio;
        /* shrink onto the smaller ball; if the projected point is not strictly
         * stable, shrink less (bisect the radius in log scale) */
        int ok = 0;
        ssm_status s = SSM_OK;
        for (int tries = 0; tries < 30 && !ok; tries++) {
            memcpy(st->D, st->E, n2 * sizeof(double));
            if ((s = project(w, st->D, next)) != SSM_OK)
                break;
            if ((s = decompose(w, st->D)) != SSM_OK && s != SSM_ENOCONV)
                return s;
            if (s == SSM_OK && isfinite(objective(w, NULL)))
                ok = 1;
            else
                next = sqrt(next * c->delta);
        }
        if (s != SSM_OK && s != SSM_ENOCONV)
            return s;
        if (!ok)
            return SSM_ERROR(SSM_ENOCONV, "ptd: cannot shrink the perturbation below %.3g ‖A‖ while keeping the "
                                          "spectrum stable", c->delta / c->nA);
        memcpy(st->E, st->D, n2 * sizeof(double));
        if (!refresh(w, st))
            return SSM_ERROR(SSM_ENOCONV, "ptd: the transfer term is not finite at budget %.3g", next / c->nA);
        c->delta = next;
        c->stages++;
        int at_goal = c->delta <= goal * (1.0 + 1e-12);
        /* intermediate radii only carry the iterate along: a loose stop */
#ifdef PTD_TRACE
        int it0 = st->iterations;
        double t0 = tr_clock();
#endif
        s = stage(w, st, c->delta, at_goal ? stage_iter(c->max_iter, goal / c->nA) : INTERMEDIATE_ITER,
                  at_goal && last && opts ? opts->kappa_target : 0.0, at_goal ? 1e-7 : INTERMEDIATE_FLAT);
#ifdef PTD_TRACE
        fprintf(stderr, "ptd-trace stage %.4g max %d steps %d %.2f s f %.6g\n", c->delta / c->nA,
                at_goal ? stage_iter(c->max_iter, goal / c->nA) : INTERMEDIATE_ITER, st->iterations - it0,
                tr_clock() - t0, st->f);
#endif
        if (s != SSM_OK)
            return s == SSM_ENOCONV ? SSM_ERROR(s, "ptd: eigendecomposition failed at budget %.3g", c->delta / c->nA)
                                    : s;
        if (opts && opts->progress)
            ssm_progress_update(opts->progress,
                                (uint64_t)(100.0 * log(c->delta0 / c->delta) / log(c->delta0 / target)));
    }
    return SSM_OK;
}

/* In a sweep, neither transfer error may grow as the budget shrinks: where
 * one did, double the weight (kept for the smaller budgets) and optimise this
 * budget again from where it stands.  first: the first budget visited. */
static ssm_status ctx_keep_monotone(ptd_ctx *c, double goal, int first)
{
    ptd_work *w = &c->w;
    ssm_status s = SSM_OK;
    ssm_ptd_info now;
    for (int up = 0; w->use_tf && !first && up < TF_ESCALATE; up++) {
        if ((s = decompose(w, c->st.E)) != SSM_OK)
            break;
        tf_record(w, &now);
        if (now.tf_ones <= c->prev_ones && now.tf_state <= c->prev_state)
            break;
        w->tau *= 2.0;
#ifdef PTD_TRACE
        fprintf(stderr, "ptd-trace escalate tau %g at %.4g\n", w->tau, c->delta / c->nA);
#endif
        if ((s = stage(w, &c->st, c->delta, stage_iter(c->max_iter, goal / c->nA), 0.0, 1e-7)) != SSM_OK)
            return s == SSM_ENOCONV ? SSM_ERROR(s, "ptd: eigendecomposition failed at budget %.3g", c->delta / c->nA)
                                    : s;
    }
    if (s != SSM_OK && s != SSM_ENOCONV)
        return s;
    if (w->use_tf) {
        if ((s = decompose(w, c->st.E)) == SSM_ENOCONV)
            return SSM_OK;
        if (s != SSM_OK)
            return s;
        tf_record(w, &now);
        c->prev_ones = now.tf_ones;
        c->prev_state = now.tf_state;
    }
    return SSM_OK;
}

/* the sweep's record ti (and E) at the current point */
static ssm_status ctx_record(ptd_ctx *c, size_t ti)
{
    ptd_work *w = &c->w;
    const ssm_ptd_opts *opts = c->opts;
    size_t N = w->N, n2 = N * N;
    if (opts->sweep_info) {
        ssm_ptd_info *r = &opts->sweep_info[ti];
        memset(r, 0, sizeof *r);
        ssm_status s = decompose(w, c->st.E);
        if (s == SSM_ENOCONV)
            return SSM_ERROR(s, "ptd: eigendecomposition failed at budget %.3g", c->delta / c->nA);
        double pn;
        if (s != SSM_OK || (s = kappa2(w, &r->kappa_V)) != SSM_OK || (s = spectral_norm(w, &pn, c->st.E)) != SSM_OK)
            return s;
        r->eps = opts->sweep[ti];
        r->perturbation_norm = pn / c->nA;
        r->max_re_lambda = -INFINITY;
        for (size_t j = 0; j < N; j++)
            r->max_re_lambda = fmax(r->max_re_lambda, creal(w->lam[j]));
        r->iterations = c->st.iterations;
        r->stages = c->stages;
        r->seconds = now_seconds() - c->t_start;
        r->reconstruction_error = NAN;
        r->kappa_F = NAN;
        tf_record(w, r);
    }
    if (opts->sweep_E)
        memcpy(opts->sweep_E + ti * n2, c->st.E, n2 * sizeof(double));
    return SSM_OK;
}

/* The final decomposition, ordered: the N/2 modes with Im λ < 0 (ascending),
 * then their conjugates in the same order; V with unit columns, Vinv = V⁻¹. */
static ssm_status ctx_result(ptd_ctx *c, ssm_dmat_t E, double complex *lambda, ssm_zmat_t V, ssm_zmat_t Vinv)
{
    ptd_work *w = &c->w;
    size_t N = w->N, M = 0;
    ssm_status s = decompose(w, c->st.E);
    if (s != SSM_OK)
        return s == SSM_ENOCONV ? SSM_ERROR(s, "ptd: final eigendecomposition failed") : s;
    double complex *half = w->G; /* N² entries, free after the last gradient */
    for (size_t j = 0; j < N; j++)
        if (cimag(w->lam[j]) < 0.0)
            half[M++] = w->lam[j];
    if (M != N / 2)
        return SSM_ERROR(SSM_ENOCONV, "ptd: the perturbed spectrum has %zu real eigenvalues; no conjugate-pair form",
                         N - 2 * M);
    qsort(half, M, sizeof *half, cmp_lambda);
    for (size_t j = 0; j < M; j++) {
        /* the eigenvector of each kept eigenvalue */
        size_t at = 0;
        for (size_t q = 0; q < N; q++)
            if (w->lam[q] == half[j])
                at = q;
        lambda[j] = half[j];
        lambda[j + M] = conj(half[j]);
        for (size_t i = 0; i < N; i++) {
            SSM_D(V, i, j) = w->V[i * N + at];
            SSM_D(V, i, j + M) = conj(w->V[i * N + at]);
        }
    }
    ssm_diag_normalize_columns(V);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            SSM_D(Vinv, i, j) = i == j;
    if ((s = ssm_zmat_solve(Vinv, V)) != SSM_OK)
        return s;
    for (size_t i = 0; i < N; i++)
        memcpy(&SSM_D(E, i, 0), c->st.E + i * N, N * sizeof(double));
    return SSM_OK;
}

/* the result's diagnostics (w still holds the final decomposition) */
static ssm_status ctx_info(ssm_ptd_info *info, ptd_ctx *c, const ssm_dmat_t E, const double complex *lambda,
                           const ssm_zmat_t V, const ssm_zmat_t Vinv, const ssm_dmat_t A)
{
    size_t N = c->w.N;
    memset(info, 0, sizeof *info);
    tf_record(&c->w, info);
    info->tf_weight_final = c->w.use_tf ? c->w.tau : 0.0;
    info->eps = c->eps;
    info->iterations = c->st.iterations;
    info->stages = c->stages;
    info->seconds = now_seconds() - c->t_start;
    info->eigendecompositions = c->w.full_eigs;
    info->max_re_lambda = -INFINITY;
    for (size_t j = 0; j < N; j++)
        info->max_re_lambda = fmax(info->max_re_lambda, creal(lambda[j]));
    info->kappa_F = sqrt((double)N * ssm_zmat_norm_fro(Vinv) * ssm_zmat_norm_fro(Vinv));
    double *sv = c->w.proj, nE, nR; /* N singular values */
    ssm_status s = ssm_dmat_norm2(&nE, E);
    if (s == SSM_OK)
        s = ssm_zmat_singvals(sv, V);
    if (s != SSM_OK)
        return s;
    info->perturbation_norm = nE / c->nA;
    info->kappa_V = sv[0] / sv[N - 1];
    /* ‖A + E − V Λ V⁻¹‖₂ / ‖A‖₂ */
    ssm_zmat_t R, VL;
    memset(VL, 0, sizeof VL);
    s = ssm_zmat_init(R, N, N);
    if (s == SSM_OK)
        s = ssm_zmat_init(VL, N, N);
    for (size_t i = 0; s == SSM_OK && i < N; i++)
        for (size_t j = 0; j < N; j++) {
            SSM_D(R, i, j) = SSM_D(A, i, j) + SSM_D(E, i, j);
            SSM_D(VL, i, j) = SSM_D(V, i, j) * lambda[j];
        }
    if (s == SSM_OK)
        s = ssm_zmat_gemm(R, -1.0, VL, 0, Vinv, 0, 1.0);
    if (s == SSM_OK)
        s = ssm_zmat_norm2(&nR, R);
    if (s == SSM_OK)
        info->reconstruction_error = nR / c->nA;
    ssm_zmat_clear(R);
    ssm_zmat_clear(VL);
    return s;
}

/* the budgets in turn: descend to each, keep the transfer errors monotone,
 * record the sweep's */
static ssm_status ctx_optimise(ptd_ctx *c)
{
    size_t nsweep = c->opts && c->opts->sweep ? c->opts->sweep_count : 0;
    for (size_t vi = 0; vi <= c->nvisit; vi++) {
        long ui = c->visit_user[vi];
        size_t ti = ui >= 0 ? (size_t)ui : nsweep; /* the sweep record this budget fills (nsweep: none) */
        double goal = c->visit[vi] * c->nA;
        ssm_status s = ctx_descend(c, goal, vi == c->nvisit);
        if (s == SSM_OK)
            s = ctx_keep_monotone(c, goal, vi == 0);
        if (s == SSM_OK && ti < nsweep)
            s = ctx_record(c, ti);
        if (s != SSM_OK)
            return s;
    }
    return SSM_OK;
}

/* the options, checked before anything is allocated */
static ssm_status ctx_check(ptd_ctx *c, const ssm_dmat_t E, const ssm_zmat_t V, const ssm_zmat_t Vinv,
                            const ssm_dmat_t A, const ssm_dmat_t P)
{
    size_t N = A->rows;
    const ssm_ptd_opts *opts = c->opts;
    if (A->cols != N || P->cols != N || E->rows != N || E->cols != N || V->rows != N || V->cols != N ||
        Vinv->rows != N || Vinv->cols != N)
        return SSM_ERROR(SSM_EINVAL, "ptd: A, E, V, Vinv must be N x N and P r x N");
    if (N < 2 || N % 2)
        return SSM_ERROR(SSM_EINVAL, "ptd: N must be even (conjugate pairs), got %zu", N);
    c->eps = opts ? opts->eps : 0.0;
    if (!(c->eps > 0.0) || !(c->eps < 10.0))
        return SSM_ERROR(SSM_EINVAL, "ptd: eps must be in (0, 10), got %g", c->eps);
    double tau = opts ? opts->tf_weight : 0.0;
    if (!(tau >= 0.0) || !isfinite(tau))
        return SSM_ERROR(SSM_EINVAL, "ptd: the transfer weight must be finite and >= 0, got %g", tau);
    size_t nsweep = opts && opts->sweep ? opts->sweep_count : 0;
    for (size_t k = 0; k < nsweep; k++)
        if (!(opts->sweep[k] > c->eps) || (k > 0 && !(opts->sweep[k] < opts->sweep[k - 1])))
            return SSM_ERROR(SSM_EINVAL, "ptd: sweep budgets must be strictly decreasing and above eps");
    return SSM_OK;
}

static ssm_status ptd_run(ssm_dmat_t E, double complex *lambda, ssm_zmat_t V, ssm_zmat_t Vinv, ssm_ptd_info *info,
                          const ssm_dmat_t A, const ssm_dmat_t P, const ssm_ptd_opts *opts)
{
    size_t N = A->rows;
    ptd_ctx c = {.opts = opts, .prev_ones = INFINITY, .prev_state = INFINITY};
    ssm_status s = ctx_check(&c, E, V, Vinv, A, P);
    if (s != SSM_OK || (s = ssm_dmat_norm2(&c.nA, A)) != SSM_OK)
        return s;
    /* final-stage iterations: conditioning alone, 200 suffice to N = 64 and
     * larger N needs about 6 N (LegS N = 128, eps = 0.05: kappa 18 after 200,
     * 8.7 after 800); with the transfer term 800 to N = 64 (LegS N = 64 at
     * eps 0.0341: kappa 9.6 after 200, 8.3 after 800) and max(LBFGS_FULL,
     * LBFGS_WORK / N) above,
     * where the stages take L-BFGS steps (SPG needed 12 N and was still
     * falling at the cap) */
    int use_tf = opts && opts->B && opts->tf_weight > 0.0;
    c.max_iter = opts && opts->max_iter > 0 ? opts->max_iter
                 : use_tf ? (N <= 64 ? 800 : N < LBFGS_WORK / LBFGS_FULL ? LBFGS_WORK / (int)N : LBFGS_FULL)
                 : (N <= 64 ? 200 : 6 * (int)N);
    c.w = (ptd_work){.N = N, .margin = (opts && opts->margin > 0.0 ? opts->margin : 1e-8) * c.nA,
                     .use_tf = use_tf, .tau = opts ? opts->tf_weight : 0.0, .B = opts ? opts->B : NULL};
    size_t nsweep = opts && opts->sweep ? opts->sweep_count : 0;
    if ((s = ctx_alloc(&c, N, nsweep, LADDER_MAX)) != SSM_OK || (s = ctx_start(&c, A, P)) != SSM_OK)
        goto out;
    c.st.alpha = 0.01 * c.delta0 / sqrt(dot(c.st.g, c.st.g, N * N));
    /* with the transfer term the ladder budgets carry the optimisation and the
     * radius may shrink faster in between (bench/run ptd-64: 0.62 s at 0.7,
     * 0.30 s at 0.5) */
    c.delta = c.delta0;
    c.ratio = use_tf ? TF_SHRINK : SHRINK;
    c.t_start = now_seconds();
    ssm_progress_update(opts ? opts->progress : NULL, 0);
    double lad[LADDER_MAX];
    ctx_visits(&c, lad, use_tf && !(opts && opts->kappa_target > 0) ? ladder(lad, c.eps, c.delta0 / c.nA) : 0);
    if ((s = ctx_optimise(&c)) == SSM_OK && (s = ctx_result(&c, E, lambda, V, Vinv)) == SSM_OK && info)
        s = ctx_info(info, &c, E, lambda, V, Vinv, A);
out:
#ifdef PTD_TRACE
    tr_report();
#endif
    ctx_free(&c);
    return s;
}

/* The optimiser is a long chain of eigendecompositions whose path depends on
 * every rounding: with OpenBLAS's threads the BLAS sums change order with the
 * thread count and the result changed with it (N = 64, eps 0.05: kappa 6.26
 * on one thread, 8.95 with two, one mode then at Re = −6.7e-4), and with
 * OpenBLAS's kernel (OPENBLAS_CORETYPE Prescott / Haswell / SkylakeX: N = 32
 * files with kappa 7.538 / 7.537 / 7.540).  The whole run uses the fixed
 * kernel (core/kernel.c: reference LAPACK with ssmkit's own products, one
 * code path on every CPU, any thread count), so the result is a function of
 * the input alone; the caller's settings are restored afterwards. */
ssm_status ssm_diag_ptd(ssm_dmat_t E, double complex *lambda, ssm_zmat_t V, ssm_zmat_t Vinv, ssm_ptd_info *info,
                        const ssm_dmat_t A, const ssm_dmat_t P, const ssm_ptd_opts *opts)
{
    int threads = ssm_blas_threads_set(1);
    int was = ssm_fixed_kernel(1);
    ssm_fixed_kernel_lost(); /* nothing from before this run */
    ssm_status s = ptd_run(E, lambda, V, Vinv, info, A, P, opts);
    if (ssm_fixed_kernel_lost() && s == SSM_OK)
        s = SSM_ERROR(SSM_ENOMEM, "ptd: out of memory (a product's panel in the fixed kernel)");
    ssm_fixed_kernel(was);
    ssm_blas_threads_set(threads);
    return s;
}

ssm_status ssm_diag_ptd_objective(double *f, ssm_dmat_t grad, const ssm_dmat_t A, const ssm_dmat_t E, double mu,
                                  double margin, const double *B, double tf_weight)
{
    size_t N = A->rows, n2 = N * N;
    if (A->cols != N || E->rows != N || E->cols != N || (grad && (grad->rows != N || grad->cols != N)))
        return SSM_ERROR(SSM_EINVAL, "ptd objective: A, E, grad must be N x N");
    if (!(tf_weight >= 0.0) || !isfinite(tf_weight))
        return SSM_ERROR(SSM_EINVAL, "ptd objective: the transfer weight must be finite and >= 0");
    ptd_work w = {.N = N, .margin = margin, .mu = mu, .use_tf = B && tf_weight > 0.0, .tau = tf_weight, .B = B};
    *f = INFINITY;
    double *Ad = malloc(n2 * sizeof(double)), *Ed = malloc(n2 * sizeof(double)), *g = malloc(n2 * sizeof(double));
    ssm_status s = SSM_OK;
    if (!Ad || !Ed || !g || !work_alloc(&w, N) || (w.use_tf && !ptd_tf_alloc(&w.tf, N))) {
        s = SSM_ERROR(SSM_ENOMEM, "ptd objective: out of memory");
        goto out;
    }
    for (size_t i = 0; i < N; i++) {
        memcpy(Ad + i * N, &SSM_D(A, i, 0), N * sizeof(double));
        memcpy(Ed + i * N, &SSM_D(E, i, 0), N * sizeof(double));
    }
    w.A = Ad;
    /* a fixed grid (log + linear, no pole points): a function of E alone */
    if (w.use_tf && !ptd_tf_set_grid(&w.tf, Ad, B, NULL, 0)) {
        s = SSM_ERROR(SSM_EINVAL, "ptd objective: iω − A is singular on the transfer grid");
        goto out;
    }
    if ((s = decompose(&w, Ed)) != SSM_OK) {
        if (s == SSM_ENOCONV) /* no decomposition: outside the region */
            s = SSM_OK;
        goto out;
    }
    *f = objective(&w, NULL);
    if (grad && isfinite(*f)) {
        gradient(&w, g);
        for (size_t i = 0; i < N; i++)
            memcpy(&SSM_D(grad, i, 0), g + i * N, N * sizeof(double));
    }
out:
    free(Ad); free(Ed); free(g);
    work_free(&w);
    return s;
}

ssm_ptd_opts ssm_ptd_opts_default(void)
{
    ssm_ptd_opts o = {.eps = 0.05, .tf_weight = SSM_PTD_TF_WEIGHT};
    return o;
}
