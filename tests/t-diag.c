/* tests/t-diag.c — decompositions, each checked two ways: NPLR eigenvalues
 * against the doc/reference.md §2 check values and against a general eig of S;
 * reconstruction A = V(diag W − P̃P̃*)V* with a rounding tolerance; the general
 * eig wrapper against a matrix built from known eigenpairs; PTD against its
 * own promises (budget, κ, stability, reconstruction). */
#include "ssmkit.h"
#include "tests/harness.h"

#include <float.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>

#include <float.h>
#include <math.h>
#include <string.h>

static void hippo_d(ssm_dmat_t A, ssm_dmat_t B, ssm_dmat_t P, ssm_hippo_measure m, size_t N)
{
    TRY(ssm_dmat_init(A, N, N));
    TRY(ssm_dmat_init(B, N, 1));
    TRY(ssm_dmat_init(P, ssm_hippo_rank(m), N));
    TRY(ssm_hippo(A, B, P, m, N));
}

static void test_nplr_check_values(void)
{
    static const double w4[] = {-4.6032930071, -0.5565011151};
    static const double w8[] = {-19.857410371, -5.354208515, -1.9577941509, -0.4274887123};
    for (int t = 0; t < 3; t++) {
        size_t N = t == 0 ? 4 : t == 1 ? 8 : 32;
        ssm_dmat_t A, B, P;
        hippo_d(A, B, P, SSM_HIPPO_LEGS, N);
        size_t M = N / 2;
        double complex W[16];
        ssm_zmat_t V, Bt, Pt;
        TRY(ssm_zmat_init(V, N, M));
        TRY(ssm_zmat_init(Bt, M, 1));
        TRY(ssm_zmat_init(Pt, 1, M));
        ssm_nplr_info info;
        CHECK(ssm_diag_nplr(W, V, Bt, Pt, &info, A, B, P, NULL) == SSM_OK, "nplr legs N=%zu", N);
        double err = 0.0;
        for (size_t j = 0; j < M && N <= 8; j++) {
            err = fmax(err, fabs(creal(W[j]) + 0.5));
            err = fmax(err, fabs(cimag(W[j]) - (N == 4 ? w4[j] : w8[j])));
        }
        if (N <= 8)
            CHECK(err < 1e-8, "legs N=%zu Im W check values: error %g", N, err);
        else /* largest |Im W| ≈ N²/π: 325.4263 at N = 32 */
            CHECK(fabs(cimag(W[0]) + 325.4263) < 1e-4, "legs N=32 |Im W|max = %.7f", -cimag(W[0]));
        /* B = √2 P for legs, so B̃ = √2 P̃ */
        double rel = 0.0;
        for (size_t j = 0; j < M; j++)
            rel = fmax(rel, cabs(SSM_D(Bt, j, 0) - sqrt(2.0) * SSM_D(Pt, 0, j)) / cabs(SSM_D(Bt, j, 0)));
        /* B and √2 P are each correctly rounded (1 ulp apart at most); the same unitary V
         * maps both, so the relative gap is a few ε times N: 1e-13 ≈ 30 N ε at N = 32 */
        CHECK(rel < 1e-13, "legs B̃ = √2 P̃ (%g)", rel);
        ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P);
        ssm_zmat_clear(V); ssm_zmat_clear(Bt); ssm_zmat_clear(Pt);
    }
}

static int cmp_im(const void *a, const void *b)
{
    double x = cimag(*(const double complex *)a), y = cimag(*(const double complex *)b);
    return (x > y) - (x < y);
}

static void test_nplr_measures(void)
{
    const ssm_hippo_measure ms[] = {SSM_HIPPO_LEGS, SSM_HIPPO_LEGT, SSM_HIPPO_LAGT, SSM_HIPPO_FOUT,
                                    SSM_HIPPO_FOURIER2, SSM_HIPPO_FOURIER_DECAY, SSM_HIPPO_LEGSD};
    const size_t sizes[] = {8, 32, 64};
    for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
        for (size_t si = 0; si < 3; si++) {
            ssm_hippo_measure m = ms[a];
            size_t N = sizes[si], M = N / 2, r = ssm_hippo_rank(m);
            ssm_dmat_t A, B, P;
            hippo_d(A, B, P, m, N);
            double complex *W = malloc(M * sizeof *W);
            ssm_zmat_t V, Bt, Pt;
            TRY(ssm_zmat_init(V, N, M));
            TRY(ssm_zmat_init(Bt, M, 1));
            TRY(ssm_zmat_init(Pt, r, M));
            ssm_nplr_info info;
            ssm_status s = ssm_diag_nplr(W, V, Bt, Pt, &info, A, B, P, NULL);
            CHECK(s == SSM_OK, "nplr %s N=%zu: %s", ssm_hippo_name(m), N, ssm_error_message());
            if (s != SSM_OK)
                goto next;
            /* Tolerance: zheev is backward stable (‖ΔS‖ <= c N ε ‖S‖) and V is
             * unitary to c N ε, so the reconstruction is off by c N ε (‖S‖ + ‖P‖²);
             * relative to ‖A‖, with c = 20. */
            double nS = t_dnorm2(A), nP = t_dnorm2(P);
            double tol = 20.0 * (double)N * DBL_EPSILON * (nS + 2 * nP * nP) / nS;
            CHECK(info.reconstruction_error <= tol, "%s N=%zu: reconstruction %g > %g", ssm_hippo_name(m), N,
                  info.reconstruction_error, tol);
            CHECK(info.unitarity_error <= 20.0 * N * DBL_EPSILON, "%s N=%zu: unitarity %g", ssm_hippo_name(m), N,
                  info.unitarity_error);
            int dummy = m == SSM_HIPPO_FOUT || m == SSM_HIPPO_FOURIER2 || m == SSM_HIPPO_FOURIER_DECAY;
            CHECK(info.zero_pair == dummy, "%s: zero pair %d", ssm_hippo_name(m), info.zero_pair);
            /* second route: eigenvalues of S from a general complex eig */
            ssm_zmat_t S;
            TRY(ssm_zmat_init(S, N, N));
            for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < N; j++) {
                    double v = SSM_D(A, i, j);
                    for (size_t k = 0; k < r; k++)
                        v += SSM_D(P, k, i) * SSM_D(P, k, j);
                    SSM_D(S, i, j) = v;
                }
            double complex *ev = malloc(N * sizeof *ev);
            TRY(ssm_zmat_eigvals(ev, S));
            qsort(ev, N, sizeof *ev, cmp_im);
            double d = 0.0, sc = t_znorm2(S);
            for (size_t j = 0; j < M; j++)
                d = fmax(d, cabs(ev[j] - W[j]));
            /* S is normal: eigenvalues are perfectly conditioned, |Δλ| <= c N ε ‖S‖ */
            CHECK(d <= 20.0 * N * DBL_EPSILON * sc, "%s N=%zu: W vs eig(S) differ by %g", ssm_hippo_name(m), N, d);
            /* every column: S v = w v (residual) */
            double res = 0.0;
            for (size_t j = 0; j < M; j++)
                for (size_t i = 0; i < N; i++) {
                    double complex acc = -W[j] * SSM_D(V, i, j);
                    for (size_t k = 0; k < N; k++)
                        acc += SSM_D(S, i, k) * SSM_D(V, k, j);
                    res = fmax(res, cabs(acc));
                }
            CHECK(res <= 20.0 * N * DBL_EPSILON * sc, "%s N=%zu: eigen-residual %g", ssm_hippo_name(m), N, res);
            /* phase convention: largest entry real positive */
            int phase = 1;
            for (size_t j = 0; j < M; j++) {
                size_t at = 0;
                for (size_t i = 1; i < N; i++)
                    if (cabs(SSM_D(V, i, j)) > cabs(SSM_D(V, at, j)) * (1 + 1e-12))
                        at = i;
                phase &= cimag(SSM_D(V, at, j)) == 0.0 && creal(SSM_D(V, at, j)) > 0;
            }
            CHECK(phase, "%s: phase convention", ssm_hippo_name(m));
            free(ev);
            ssm_zmat_clear(S);
        next:
            free(W);
            ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P);
            ssm_zmat_clear(V); ssm_zmat_clear(Bt); ssm_zmat_clear(Pt);
        }
    /* errors: lmu has no DPLR form, odd N refused */
    ssm_dmat_t A, B, P;
    hippo_d(A, B, P, SSM_HIPPO_LMU, 8);
    double complex W[8];
    ssm_zmat_t V, Bt, Pt;
    TRY(ssm_zmat_init(V, 8, 4));
    TRY(ssm_zmat_init(Bt, 4, 1));
    TRY(ssm_zmat_init(Pt, 0, 4));
    CHECK(ssm_diag_nplr(W, V, Bt, Pt, NULL, A, B, P, NULL) == SSM_EINVAL && strstr(ssm_error_message(), "skew"),
          "lmu: no DPLR form");
    ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P);
    hippo_d(A, B, P, SSM_HIPPO_LEGS, 7);
    CHECK(ssm_diag_nplr(W, V, Bt, Pt, NULL, A, B, P, NULL) == SSM_EINVAL, "odd N");
    ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P);
    ssm_zmat_clear(V); ssm_zmat_clear(Bt); ssm_zmat_clear(Pt);
    /* Im B̃ clipping */
    hippo_d(A, B, P, SSM_HIPPO_LEGS, 16);
    TRY(ssm_zmat_init(V, 16, 8));
    TRY(ssm_zmat_init(Bt, 8, 1));
    TRY(ssm_zmat_init(Pt, 1, 8));
    ssm_nplr_opts o = {.clip_im_B = 0.5};
    double complex W16[8];
    TRY(ssm_diag_nplr(W16, V, Bt, Pt, NULL, A, B, P, &o));
    int clipped = 1;
    for (size_t j = 0; j < 8; j++)
        clipped &= fabs(cimag(SSM_D(Bt, j, 0))) <= 0.5;
    CHECK(clipped, "Im B̃ clipped to [-0.5, 0.5]");
    ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P);
    ssm_zmat_clear(V); ssm_zmat_clear(Bt); ssm_zmat_clear(Pt);
}

/* A = X D X⁻¹ with known X (columns normalised) and D: the wrapper's
 * eigenvalues, κ₂(V) and residuals are checked against the construction. */
static void test_eig(void)
{
    const size_t n = 12;
    ssm_zmat_t X, Xi, A, V, Vi, T;
    TRY(ssm_zmat_init(X, n, n));
    TRY(ssm_zmat_init(Xi, n, n));
    TRY(ssm_zmat_init(A, n, n));
    TRY(ssm_zmat_init(V, n, n));
    TRY(ssm_zmat_init(Vi, n, n));
    TRY(ssm_zmat_init(T, n, n));
    double complex d[12], lam[12];
    for (size_t i = 0; i < n; i++) {
        d[i] = CMPLX(-1.0 - (double)i, 3.0 * t_uniform());
        for (size_t j = 0; j < n; j++)
            SSM_D(X, i, j) = (i == j ? 1.0 : 0.0) + 0.3 * CMPLX(t_uniform(), t_uniform());
    }
    ssm_diag_normalize_columns(X);
    for (size_t i = 0; i < n; i++)
        SSM_D(Xi, i, i) = 1.0;
    TRY(ssm_zmat_solve(Xi, X));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            SSM_D(T, i, j) = SSM_D(X, i, j) * d[j];
    TRY(ssm_zmat_gemm(A, 1.0, T, 0, Xi, 0, 0.0));
    ssm_eig_info info;
    CHECK(ssm_diag_eig(lam, V, Vi, &info, A) == SSM_OK, "eig");
    double sx[12];
    TRY(ssm_zmat_singvals(sx, X));
    double kx = sx[0] / sx[n - 1];
    /* same unit-column matrix up to phases; the eigenvectors are computed to κ_eig n ε ≈ 1e-13
     * (κ(X) ≈ 10, n = 12) and κ inherits that relative error times κ: 1e-8 is ample */
    CHECK(fabs(info.kappa_V / kx - 1.0) < 1e-8, "κ(V) %g vs κ(X) %g", info.kappa_V, kx);
    double nA = t_znorm2(A);
    /* eigenvalue error <= κ(X) n ε ‖A‖ (Bauer–Fike), c = 10 */
    int found = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (cabs(lam[j] - d[i]) <= 10.0 * kx * n * DBL_EPSILON * nA) {
                found++;
                break;
            }
    CHECK(found == (int)n, "eigenvalues recovered (%d of %zu)", found, n);
    CHECK(info.backward_error <= 10.0 * n * DBL_EPSILON, "backward error %g", info.backward_error);
    CHECK(info.reconstruction_error <= 10.0 * n * DBL_EPSILON * kx, "reconstruction %g", info.reconstruction_error);
    /* each column of V is parallel to a column of X (same eigenvalue): |x* v| = 1 */
    int parallel = 0;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++)
            if (cabs(lam[j] - d[i]) < 1e-8) { /* matching only: eigenvalues ≥ 1 apart in real part */
                double complex ip = 0;
                for (size_t k = 0; k < n; k++)
                    ip += conj(SSM_D(X, k, i)) * SSM_D(V, k, j);
                parallel += fabs(cabs(ip) - 1.0) < 1e-10; /* |x* v| = 1 up to κ n ε ≈ 1e-13 */
            }
    CHECK(parallel == (int)n, "eigenvectors match the construction (%d)", parallel);
    /* the LegS trap: QᵀAQ hides nothing — κ(V) is reported huge (doc/reference.md §4) */
    const size_t N = 32;
    ssm_dmat_t L, Q, R1, R2;
    TRY(ssm_dmat_init(L, N, N));
    TRY(ssm_dmat_init(Q, N, N));
    TRY(ssm_dmat_init(R1, N, N));
    TRY(ssm_dmat_init(R2, N, N));
    TRY(ssm_hippo(L, NULL, NULL, SSM_HIPPO_LEGS, N));
    /* orthogonal Q from Householder reflections of random vectors */
    for (size_t i = 0; i < N; i++)
        SSM_D(Q, i, i) = 1.0;
    for (int h = 0; h < 3; h++) {
        double u[32], nu = 0;
        for (size_t i = 0; i < N; i++)
            nu = hypot(nu, u[i] = t_uniform());
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++)
                SSM_D(R1, i, j) = (i == j) - 2.0 * u[i] * u[j] / (nu * nu);
        TRY(ssm_dmat_gemm(R2, 1.0, Q, 0, R1, 0, 0.0));
        TRY(ssm_dmat_copy(Q, R2));
    }
    TRY(ssm_dmat_gemm(R1, 1.0, Q, 1, L, 0, 0.0));
    TRY(ssm_dmat_gemm(R2, 1.0, R1, 0, Q, 0, 0.0));
    ssm_zmat_t Z, VZ, VZi;
    TRY(ssm_zmat_init(Z, N, N));
    TRY(ssm_zmat_init(VZ, N, N));
    TRY(ssm_zmat_init(VZi, N, N));
    TRY(ssm_zmat_set_dmat(Z, R2));
    double complex lz[32];
    ssm_status s = ssm_diag_eig(lz, VZ, VZi, &info, Z);
    CHECK((s == SSM_OK && info.kappa_V > 1e12) || s == SSM_ELOSS, "rotated LegS N=32: κ reported %g", info.kappa_V);
    ssm_zmat_clear(Z); ssm_zmat_clear(VZ); ssm_zmat_clear(VZi);
    ssm_dmat_clear(L); ssm_dmat_clear(Q); ssm_dmat_clear(R1); ssm_dmat_clear(R2);
    ssm_zmat_clear(X); ssm_zmat_clear(Xi); ssm_zmat_clear(A);
    ssm_zmat_clear(V); ssm_zmat_clear(Vi); ssm_zmat_clear(T);
}

static void test_s4d(void)
{
    double complex l[4];
    ssm_diag_s4d_lin(l, 8);
    CHECK(l[3] == CMPLX(-0.5, 3 * M_PI), "S4D-Lin");
    ssm_diag_s4d_inv(l, 8);
    /* a different evaluation order of the same formula: a few ulps of values ≤ 18 */
    CHECK(fabs(cimag(l[0]) - 8 / M_PI * 7) < 1e-13 && fabs(cimag(l[3]) - 8 / M_PI * (8.0 / 7 - 1)) < 1e-13, "S4D-Inv");
    ssm_diag_s4d_real(l, 8);
    CHECK(l[0] == -1.0 && l[3] == -4.0, "S4D-Real");
}

/* PTD gradient against central finite differences, with the barrier on, and
 * with the transfer term (weight tfw) on or off */
static void test_ptd_gradient(double tfw)
{
    const size_t N = 8;
    ssm_dmat_t A, B, P, E, G, Ep, Em;
    hippo_d(A, B, P, SSM_HIPPO_LEGS, N);
    TRY(ssm_dmat_init(E, N, N));
    TRY(ssm_dmat_init(G, N, N));
    TRY(ssm_dmat_init(Ep, N, N));
    TRY(ssm_dmat_init(Em, N, N));
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            SSM_D(E, i, j) = SSM_D(P, 0, i) * SSM_D(P, 0, j) * 0.8 + 0.3 * t_uniform();
    double f;
    const double mu = 0.5, margin = 0.01;
    CHECK(ssm_diag_ptd_objective(&f, G, A, E, mu, margin, B->data, tfw) == SSM_OK && isfinite(f), "objective at E (f = %g)", f);
    double worst = 0.0;
    for (int trial = 0; trial < 6; trial++) {
        double dir[64], gd = 0.0, dn = 0.0;
        for (size_t k = 0; k < N * N; k++) {
            dir[k] = t_uniform();
            dn += dir[k] * dir[k];
        }
        dn = sqrt(dn);
        for (size_t k = 0; k < N * N; k++)
            gd += G->data[k] * dir[k] / dn;
        /* central differences: truncation O(h²), rounding O(ε f / h); h = 1e-5 balances them */
        double h = 1e-5, fp, fm;
        for (size_t k = 0; k < N * N; k++) {
            Ep->data[k] = E->data[k] + h * dir[k] / dn;
            Em->data[k] = E->data[k] - h * dir[k] / dn;
        }
        TRY(ssm_diag_ptd_objective(&fp, NULL, A, Ep, mu, margin, B->data, tfw));
        TRY(ssm_diag_ptd_objective(&fm, NULL, A, Em, mu, margin, B->data, tfw));
        double fd = (fp - fm) / (2 * h);
        worst = fmax(worst, fabs(fd - gd) / fmax(fabs(gd), 1e-3 * f));
    }
    CHECK(worst < 1e-5, "PTD gradient (transfer weight %g) vs finite differences: worst relative error %g", tfw,
          worst);
    /* the target's response by LU (A not triangular) against forward substitution: a 1e-300
     * entry above the diagonal changes nothing but the route; both backward stable, agree to c n ε κ */
    double f2;
    SSM_D(A, 0, N - 1) = 1e-300;
    CHECK(ssm_diag_ptd_objective(&f2, NULL, A, E, mu, margin, B->data, tfw) == SSM_OK && fabs(f2 - f) <= 1e-10 * fabs(f),
          "objective with the LU route for the target: %.17g vs %.17g", f2, f);
    ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P);
    ssm_dmat_clear(E); ssm_dmat_clear(G); ssm_dmat_clear(Ep); ssm_dmat_clear(Em);
}

static double run_ptd(size_t N, double eps, unsigned long seed, ssm_ptd_info *info, ssm_dmat_t Eout)
{
    ssm_dmat_t A, B, P;
    hippo_d(A, B, P, SSM_HIPPO_LEGS, N);
    ssm_zmat_t V, Vi;
    TRY(ssm_zmat_init(V, N, N));
    TRY(ssm_zmat_init(Vi, N, N));
    double complex *lam = malloc(N * sizeof *lam);
    ssm_ptd_opts o = {.eps = eps, .seed = seed};
    ssm_status s = ssm_diag_ptd(Eout, lam, V, Vi, info, A, P, &o);
    CHECK(s == SSM_OK, "ptd N=%zu eps=%g: %s", N, eps, ssm_error_message());
    if (s == SSM_OK) {
        /* second route: a fresh general eig of A + E must report the same κ and spectrum */
        ssm_zmat_t X, V2, V2i;
        TRY(ssm_zmat_init(X, N, N));
        TRY(ssm_zmat_init(V2, N, N));
        TRY(ssm_zmat_init(V2i, N, N));
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++)
                SSM_D(X, i, j) = SSM_D(A, i, j) + SSM_D(Eout, i, j);
        double complex *l2 = malloc(N * sizeof *l2);
        ssm_eig_info ei;
        TRY(ssm_diag_eig(l2, V2, V2i, &ei, X));
        /* same E, another eig: κ moves by ≲ κ² n ε (< 1e-12 for κ <= 10); 1e-6 is a loose bound */
        CHECK(fabs(ei.kappa_V / info->kappa_V - 1) < 1e-6, "κ by a second eig: %g vs %g", ei.kappa_V, info->kappa_V);
        int found = 0;
        double nA = t_dnorm2(A);
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++)
                if (cabs(l2[j] - lam[i]) <= 100.0 * N * DBL_EPSILON * info->kappa_V * nA) {
                    found++;
                    break;
                }
        CHECK(found == (int)N, "spectrum by a second eig (%d of %zu)", found, N);
        /* conjugate-pair layout: lam[j + N/2] = conj(lam[j]), Im lam[j] < 0 */
        int layout = 1;
        for (size_t j = 0; j < N / 2; j++)
            layout &= lam[j + N / 2] == conj(lam[j]) && cimag(lam[j]) < 0;
        CHECK(layout, "conjugate-pair layout");
        free(l2);
        ssm_zmat_clear(X); ssm_zmat_clear(V2); ssm_zmat_clear(V2i);
    }
    free(lam);
    ssm_zmat_clear(V); ssm_zmat_clear(Vi);
    ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P);
    return info->kappa_V;
}

/* The transfer-aware PTD at the official N = 16 budget (0.0506): its transfer
 * errors measured two ways on the fine grid of the acceptance (2500 log points
 * 1e-2 … 50 N²/π plus 1500 linear on [0.5, 1.5] N²/π) — the model's diagonal
 * form (Λ, Ṽ⁻¹B, CṼ) and a dense LU solve with A + E — must agree, and must
 * beat the official perturbation on every axis (κ 6.555, ones 0.0729, randC
 * 0.169, max Re λ < 0; REFERENCE values measured with numpy).  randC here
 * draws its 200 Gaussian C from GSL, not numpy: a different sample of the
 * same median. */
static void test_ptd_transfer(void)
{
    const size_t N = 16, NLOG = 2500, NLIN = 1500, K = NLOG + NLIN, NC = 200;
    ssm_dmat_t A, B, P, E;
    hippo_d(A, B, P, SSM_HIPPO_LEGS, N);
    TRY(ssm_dmat_init(E, N, N));
    ssm_zmat_t V, Vi, Az, Xz, bz, cz, bt, ct;
    TRY(ssm_zmat_init(V, N, N)); TRY(ssm_zmat_init(Vi, N, N));
    TRY(ssm_zmat_init(Az, N, N)); TRY(ssm_zmat_init(Xz, N, N));
    TRY(ssm_zmat_init(bz, N, 1)); TRY(ssm_zmat_init(cz, 1, N));
    TRY(ssm_zmat_init(bt, N, 1)); TRY(ssm_zmat_init(ct, 1, N));
    double complex lam[16], *s = malloc(K * sizeof *s), *g0 = malloc(K * sizeof *g0),
                   *g1 = malloc(K * sizeof *g1), *g2 = malloc(K * sizeof *g2);
    ssm_ptd_opts o = ssm_ptd_opts_default();
    o.eps = 0.0506;
    o.seed = 1;
    o.B = B->data;
    ssm_ptd_info info;
    CHECK(ssm_diag_ptd(E, lam, V, Vi, &info, A, P, &o) == SSM_OK, "ptd N = 16 with the transfer term: %s",
          ssm_error_message());
    double top = (double)N * N / M_PI;
    for (size_t k = 0; k < NLOG; k++)
        s[k] = CMPLX(0.0, exp(log(1e-2) + (log(50 * top) - log(1e-2)) * (double)k / (NLOG - 1)));
    for (size_t k = 0; k < NLIN; k++)
        s[NLOG + k] = CMPLX(0.0, top * (0.5 + (double)k / (NLIN - 1)));
    for (size_t i = 0; i < N; i++) {
        SSM_D(bz, i, 0) = SSM_D(B, i, 0);
        for (size_t j = 0; j < N; j++) {
            SSM_D(Az, i, j) = SSM_D(A, i, j);
            SSM_D(Xz, i, j) = SSM_D(A, i, j) + SSM_D(E, i, j);
        }
    }
    double ones = NAN, agree = 0.0, gmax = 0.0;
    double rel[200];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);
    for (size_t c = 0; c <= NC; c++) {
        for (size_t i = 0; i < N; i++) /* c = 0: C = ones; then Gaussian */
            SSM_D(cz, 0, i) = c == 0 ? 1.0 : gsl_ran_gaussian(rng, 1.0);
        for (size_t j = 0; j < N; j++) { /* b̃ = Ṽ⁻¹ B, c̃ = C Ṽ */
            double complex bb = 0.0, cc = 0.0;
            for (size_t i = 0; i < N; i++) {
                bb += SSM_D(Vi, j, i) * SSM_D(B, i, 0);
                cc += SSM_D(cz, 0, i) * SSM_D(V, i, j);
            }
            SSM_D(bt, j, 0) = bb;
            SSM_D(ct, 0, j) = cc;
        }
        TRY(ssm_tf_dense_solve(g0, Az, bz, cz, 0.0, s, K));
        ssm_tf_diag(g1, lam, bt->data, ct->data, N, 0, 0.0, s, K);
        double num = 0.0, den = 0.0;
        for (size_t k = 0; k < K; k++) {
            num = fmax(num, cabs(g1[k] - g0[k]));
            den = fmax(den, cabs(g0[k]));
        }
        if (c == 0) {
            ones = num / den;
            TRY(ssm_tf_dense_solve(g2, Xz, bz, cz, 0.0, s, K));
            for (size_t k = 0; k < K; k++) {
                agree = fmax(agree, cabs(g1[k] - g2[k]));
                gmax = fmax(gmax, cabs(g2[k]));
            }
        } else {
            rel[c - 1] = num / den;
        }
    }
    gsl_rng_free(rng);
    gsl_sort(rel, 1, NC);
    double randc = 0.5 * (rel[NC / 2 - 1] + rel[NC / 2]);
    /* the diagonal form and the dense solve of the same system: c N ε κ */
    CHECK(agree <= 1e3 * N * DBL_EPSILON * info.kappa_V * gmax, "diagonal form vs dense solve: %.3g (|G| <= %.3g)",
          agree, gmax);
    /* the optimiser's own grid value is the same quantity on a coarser grid */
    CHECK(info.tf_ones <= ones * 1.05 && info.tf_ones >= 0.5 * ones, "ones: optimiser %.4f, fine grid %.4f",
          info.tf_ones, ones);
    CHECK(info.perturbation_norm <= 0.0506 * (1 + 1e-12), "budget: %.6f", info.perturbation_norm);
    CHECK(info.kappa_V <= 6.555, "kappa %.4f <= official 6.555", info.kappa_V);
    CHECK(info.max_re_lambda < 0, "max Re lambda %.3f < 0", info.max_re_lambda);
    CHECK(ones <= 0.0729, "ones %.4f <= official 0.0729", ones);
    CHECK(randc <= 0.169, "randC %.4f <= official 0.169", randc);
    printf("# ptd N = 16 at 0.0506: kappa %.4f ones %.4f randC %.4f max Re %.3f\n", info.kappa_V, ones, randc,
           info.max_re_lambda);
    free(s); free(g0); free(g1); free(g2);
    ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P); ssm_dmat_clear(E);
    ssm_zmat_clear(V); ssm_zmat_clear(Vi); ssm_zmat_clear(Az); ssm_zmat_clear(Xz);
    ssm_zmat_clear(bz); ssm_zmat_clear(cz); ssm_zmat_clear(bt); ssm_zmat_clear(ct);
}

/* Above N = 64 PTD runs the quasi-Newton (L-BFGS) path on a denser transfer
 * grid (diag/ptd.c, diag/ptd_transfer.c).  LegS N = 80 at budget 0.2, seed 0,
 * measured independently on the README's protocol (2500 log + 1500 linear
 * points; the state responses by forward substitution on the lower-triangular
 * LegS A and from the returned V, Λ, V⁻¹, the latter checked against dense
 * solves of A + E): the optimiser's own C = ones error must be the fine
 * grid's (the coarse grid let L-BFGS push the peaks between its points: 0.026
 * against 0.095 at N = 128), and the point must not be worse than the previous
 * optimiser's (SPG, 12 N steps per stage; numpy on its file: κ 5.074, ones
 * 0.0810, randC 0.264, state 0.323).  randC here draws its Gaussian C from
 * GSL, not numpy: the bound has 10 % slack for the other sample's median. */
static void test_ptd_large(void)
{
    const size_t N = 80, NLOG = 2500, NLIN = 1500, K = NLOG + NLIN, NC = 200;
    ssm_dmat_t A, B, P, E;
    hippo_d(A, B, P, SSM_HIPPO_LEGS, N);
    TRY(ssm_dmat_init(E, N, N));
    ssm_zmat_t V, Vi, Xz, bz, cz;
    TRY(ssm_zmat_init(V, N, N)); TRY(ssm_zmat_init(Vi, N, N)); TRY(ssm_zmat_init(Xz, N, N));
    TRY(ssm_zmat_init(bz, N, 1)); TRY(ssm_zmat_init(cz, 1, N));
    double complex lam[80], bt[80], *s = malloc(K * sizeof *s), *X0 = malloc(K * N * sizeof *X0),
                   *X1 = malloc(K * N * sizeof *X1), *g2 = malloc(K * sizeof *g2);
    double *rel = malloc(NC * sizeof *rel);
    ssm_ptd_opts o = ssm_ptd_opts_default();
    o.eps = 0.2;
    o.B = B->data;
    ssm_ptd_info info;
    CHECK(ssm_diag_ptd(E, lam, V, Vi, &info, A, P, &o) == SSM_OK, "ptd N = 80: %s", ssm_error_message());
    int lower = 1;
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++)
            lower &= SSM_D(A, i, j) == 0.0;
    CHECK(lower, "LegS A is lower triangular (the forward substitution below relies on it)");
    double top = (double)N * N / M_PI;
    for (size_t k = 0; k < NLOG; k++)
        s[k] = CMPLX(0.0, exp(log(1e-2) + (log(50 * top) - log(1e-2)) * (double)k / (NLOG - 1)));
    for (size_t k = 0; k < NLIN; k++)
        s[NLOG + k] = CMPLX(0.0, top * (0.5 + (double)k / (NLIN - 1)));
    for (size_t j = 0; j < N; j++) { /* b̃ = Ṽ⁻¹ B */
        bt[j] = 0.0;
        for (size_t i = 0; i < N; i++)
            bt[j] += SSM_D(Vi, j, i) * SSM_D(B, i, 0);
    }
    for (size_t k = 0; k < K; k++) {
        double complex *x0 = X0 + k * N, *x1 = X1 + k * N;
        for (size_t i = 0; i < N; i++) { /* (s − A) x₀ = B, forward */
            double complex acc = SSM_D(B, i, 0);
            for (size_t j = 0; j < i; j++)
                acc += SSM_D(A, i, j) * x0[j];
            x0[i] = acc / (s[k] - SSM_D(A, i, i));
        }
        for (size_t i = 0; i < N; i++) { /* x₁ = Ṽ (s − Λ)⁻¹ b̃ */
            x1[i] = 0.0;
            for (size_t j = 0; j < N; j++)
                x1[i] += SSM_D(V, i, j) * bt[j] / (s[k] - lam[j]);
        }
    }
    /* the diagonal form against dense solves of A + E (C = ones, every 10th point): c N ε κ */
    for (size_t i = 0; i < N; i++) {
        SSM_D(bz, i, 0) = SSM_D(B, i, 0);
        SSM_D(cz, 0, i) = 1.0;
        for (size_t j = 0; j < N; j++)
            SSM_D(Xz, i, j) = SSM_D(A, i, j) + SSM_D(E, i, j);
    }
    double complex *s10 = malloc(K / 10 * sizeof *s10);
    for (size_t k = 0; k < K / 10; k++)
        s10[k] = s[10 * k];
    TRY(ssm_tf_dense_solve(g2, Xz, bz, cz, 0.0, s10, K / 10));
    double agree = 0.0, gmax = 0.0;
    for (size_t k = 0; k < K / 10; k++) {
        double complex one = 0.0;
        for (size_t i = 0; i < N; i++)
            one += X1[10 * k * N + i];
        agree = fmax(agree, cabs(one - g2[k]));
        gmax = fmax(gmax, cabs(g2[k]));
    }
    CHECK(agree <= 1e3 * N * DBL_EPSILON * info.kappa_V * gmax, "N = 80: diagonal form vs dense solve %.3g (|G| <= %.3g)",
          agree, gmax);
    double ones = NAN, state = 0.0, smax = 0.0;
    for (size_t k = 0; k < K; k++) {
        double e2 = 0.0, g2n = 0.0;
        for (size_t i = 0; i < N; i++) {
            double complex e = X1[k * N + i] - X0[k * N + i];
            e2 += creal(e) * creal(e) + cimag(e) * cimag(e);
            g2n += creal(X0[k * N + i]) * creal(X0[k * N + i]) + cimag(X0[k * N + i]) * cimag(X0[k * N + i]);
        }
        state = fmax(state, sqrt(e2));
        smax = fmax(smax, sqrt(g2n));
    }
    state /= smax;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);
    double c[80];
    for (size_t q = 0; q <= NC; q++) {
        for (size_t i = 0; i < N; i++) /* q = 0: C = ones; then Gaussian */
            c[i] = q == 0 ? 1.0 : gsl_ran_gaussian(rng, 1.0);
        double num = 0.0, den = 0.0;
        for (size_t k = 0; k < K; k++) {
            double complex y0 = 0.0, y1 = 0.0;
            for (size_t i = 0; i < N; i++) {
                y0 += c[i] * X0[k * N + i];
                y1 += c[i] * X1[k * N + i];
            }
            num = fmax(num, cabs(y1 - y0));
            den = fmax(den, cabs(y0));
        }
        if (q == 0)
            ones = num / den;
        else
            rel[q - 1] = num / den;
    }
    gsl_rng_free(rng);
    gsl_sort(rel, 1, NC);
    double randc = 0.5 * (rel[NC / 2 - 1] + rel[NC / 2]);
    CHECK(info.tf_ones <= ones * 1.05 && info.tf_ones >= 0.5 * ones, "N = 80 ones: optimiser %.4f, fine grid %.4f",
          info.tf_ones, ones);
    CHECK(info.perturbation_norm <= 0.2 * (1 + 1e-12), "N = 80 budget: %.6f", info.perturbation_norm);
    CHECK(info.max_re_lambda < 0, "N = 80: max Re lambda %.3f < 0", info.max_re_lambda);
    CHECK(info.kappa_V <= 5.074, "N = 80: kappa %.4f <= SPG's 5.074", info.kappa_V);
    CHECK(ones <= 0.0810, "N = 80: ones %.4f <= SPG's 0.0810", ones);
    CHECK(randc <= 1.1 * 0.264, "N = 80: randC %.4f <= SPG's 0.264 (+10 %%)", randc);
    CHECK(state <= 0.323, "N = 80: state %.4f <= SPG's 0.323", state);
    printf("# ptd N = 80 at 0.2 (L-BFGS): kappa %.4f ones %.4f randC %.4f state %.4f max Re %.3f, %d steps\n",
           info.kappa_V, ones, randc, state, info.max_re_lambda, info.iterations);
    free(s); free(X0); free(X1); free(g2); free(rel); free(s10);
    ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P); ssm_dmat_clear(E);
    ssm_zmat_clear(V); ssm_zmat_clear(Vi); ssm_zmat_clear(Xz); ssm_zmat_clear(bz); ssm_zmat_clear(cz);
}

/* The ladder: a run to eps passes through the same optimised budgets as a
 * sweep, so a standalone run at 0.01 gives the sweep's E at 0.01 bit for bit;
 * in the sweep neither transfer error grows as the budget shrinks; the BLAS
 * thread count does not change the result. */
/* OpenBLAS's thread control (cblas.h clashes with GSL's CBLAS declarations here) */

static void test_ptd_ladder(void)
{
    const size_t N = 16;
    const double sweep[] = {0.1, 0.03, 0.01, 0.003};
    ssm_dmat_t A, B, P, E, E1;
    hippo_d(A, B, P, SSM_HIPPO_LEGS, N);
    TRY(ssm_dmat_init(E, N, N));
    TRY(ssm_dmat_init(E1, N, N));
    ssm_zmat_t V, Vi;
    TRY(ssm_zmat_init(V, N, N));
    TRY(ssm_zmat_init(Vi, N, N));
    double complex lam[16];
    double Es[4 * 16 * 16];
    ssm_ptd_info rec[4], last;
    ssm_ptd_opts o = ssm_ptd_opts_default();
    o.eps = 0.001;
    o.seed = 1;
    o.B = B->data;
    o.sweep = sweep;
    o.sweep_count = 4;
    o.sweep_info = rec;
    o.sweep_E = Es;
    CHECK(ssm_diag_ptd(E, lam, V, Vi, &last, A, P, &o) == SSM_OK, "sweep to 0.001: %s", ssm_error_message());
    for (int k = 1; k <= 4; k++) {
        const ssm_ptd_info *a = &rec[k - 1], *b = k < 4 ? &rec[k] : &last;
        CHECK(b->tf_ones <= a->tf_ones && b->tf_state <= a->tf_state,
              "errors do not grow from eps %g to %g: ones %.4g -> %.4g, state %.4g -> %.4g", a->eps, b->eps,
              a->tf_ones, b->tf_ones, a->tf_state, b->tf_state);
    }
    ssm_ptd_opts o1 = ssm_ptd_opts_default();
    o1.eps = 0.01;
    o1.seed = 1;
    o1.B = B->data;
    int threads = ssm_blas_threads_set(2);
    CHECK(ssm_diag_ptd(E1, lam, V, Vi, NULL, A, P, &o1) == SSM_OK, "alone to 0.01: %s", ssm_error_message());
    ssm_blas_threads_set(threads);
    CHECK(memcmp(E1->data, Es + 2 * N * N, N * N * sizeof(double)) == 0,
          "init ptd --eps 0.01 is the sweep's 0.01 point, bit for bit (BLAS threads 2 vs the caller's)");
    ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P); ssm_dmat_clear(E); ssm_dmat_clear(E1);
    ssm_zmat_clear(V); ssm_zmat_clear(Vi);
}

static void test_ptd(void)
{
    /* doc/reference.md §5: the official shipped perturbations reach (0.098, 5.1) at
     * N = 8, (0.051, 6.6) at N = 16, (0.038, 8.3) at N = 32; the issue asks for
     * κ <= 10 at ‖E‖/‖A‖ <= 0.05 */
    const size_t sizes[] = {8, 16, 32};
    for (int k = 0; k < 3; k++) {
        size_t N = sizes[k];
        ssm_dmat_t E;
        TRY(ssm_dmat_init(E, N, N));
        ssm_ptd_info info;
        double kappa = run_ptd(N, 0.05, 1, &info, E);
        CHECK(info.perturbation_norm <= 0.05 * (1 + 1e-10), "N=%zu budget: %g", N, info.perturbation_norm);
        CHECK(kappa <= 10.0, "N=%zu: κ = %g > 10 at ε = 0.05", N, kappa);
        CHECK(info.max_re_lambda < 0.0, "N=%zu: max Re λ = %g", N, info.max_re_lambda);
        CHECK(info.reconstruction_error <= 20.0 * N * DBL_EPSILON * kappa, "N=%zu reconstruction %g", N,
              info.reconstruction_error);
        ssm_dmat_clear(E);
    }
    /* κ falls as the budget grows, and runs are deterministic for a seed */
    ssm_dmat_t E1, E2;
    TRY(ssm_dmat_init(E1, 16, 16));
    TRY(ssm_dmat_init(E2, 16, 16));
    ssm_ptd_info i1, i2;
    double k_small = run_ptd(16, 0.01, 7, &i1, E1);
    double k_big = run_ptd(16, 0.05, 7, &i2, E2);
    CHECK(k_small > 2.0 * k_big, "κ(ε=0.01) = %g should exceed κ(ε=0.05) = %g clearly", k_small, k_big);
    run_ptd(16, 0.05, 7, &i1, E1);
    CHECK(memcmp(E1->data, E2->data, 16 * 16 * sizeof(double)) == 0, "same seed, same E (bit for bit)");
    ssm_dmat_clear(E1);
    ssm_dmat_clear(E2);
    /* one warm-started sweep: κ grows like 1/ε (doc/reference.md §5: κ = O(1/ε)),
     * i.e. κ·ε stays within a narrow band while ε spans two decades */
    {
        const double sweep[] = {0.2, 0.1, 0.05, 0.02, 0.01, 0.005};
        ssm_ptd_info rec[6], last;
        ssm_dmat_t A, B, P, E;
        hippo_d(A, B, P, SSM_HIPPO_LEGS, 16);
        TRY(ssm_dmat_init(E, 16, 16));
        ssm_zmat_t V, Vi;
        TRY(ssm_zmat_init(V, 16, 16));
        TRY(ssm_zmat_init(Vi, 16, 16));
        double complex lam[16];
        ssm_ptd_opts o = {.eps = 0.002, .sweep = sweep, .sweep_count = 6, .sweep_info = rec};
        CHECK(ssm_diag_ptd(E, lam, V, Vi, &last, A, P, &o) == SSM_OK, "sweep");
        double lo = INFINITY, hi = 0;
        int mono = 1, budget = 1;
        for (int k = 0; k < 6; k++) {
            lo = fmin(lo, rec[k].kappa_V * rec[k].eps);
            hi = fmax(hi, rec[k].kappa_V * rec[k].eps);
            mono &= k == 0 || rec[k].kappa_V > rec[k - 1].kappa_V;
            budget &= rec[k].perturbation_norm <= rec[k].eps * (1 + 1e-10) && rec[k].max_re_lambda < 0;
        }
        mono &= last.kappa_V > rec[5].kappa_V;
        CHECK(mono && budget, "sweep: κ increases as ε decreases, budgets and stability hold");
        CHECK(hi / lo < 4.0, "κ·ε within a factor 4 over ε in [0.005, 0.2] (%g .. %g)", lo, hi);
        ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P); ssm_dmat_clear(E);
        ssm_zmat_clear(V); ssm_zmat_clear(Vi);
        const double bad[] = {0.1, 0.2};
        o.sweep = bad;
        o.sweep_count = 2;
        hippo_d(A, B, P, SSM_HIPPO_LEGS, 8);
        TRY(ssm_dmat_init(E, 8, 8));
        TRY(ssm_zmat_init(V, 8, 8));
        TRY(ssm_zmat_init(Vi, 8, 8));
        CHECK(ssm_diag_ptd(E, lam, V, Vi, NULL, A, P, &o) == SSM_EINVAL, "unsorted sweep -> EINVAL");
        ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P); ssm_dmat_clear(E);
        ssm_zmat_clear(V); ssm_zmat_clear(Vi);
    }
    /* errors */
    ssm_dmat_t A, B, P, E;
    hippo_d(A, B, P, SSM_HIPPO_LAGT, 8);
    TRY(ssm_dmat_init(E, 8, 8));
    ssm_zmat_t V, Vi;
    TRY(ssm_zmat_init(V, 8, 8));
    TRY(ssm_zmat_init(Vi, 8, 8));
    double complex lam[8];
    ssm_ptd_opts o = {.eps = 0.05};
    CHECK(ssm_diag_ptd(E, lam, V, Vi, NULL, A, P, &o) == SSM_EINVAL && strstr(ssm_error_message(), "stable"),
          "lagt: normal part on the imaginary axis -> EINVAL");
    o.eps = -1;
    CHECK(ssm_diag_ptd(E, lam, V, Vi, NULL, A, P, &o) == SSM_EINVAL, "eps < 0 -> EINVAL");
    ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P); ssm_dmat_clear(E);
    ssm_zmat_clear(V); ssm_zmat_clear(Vi);
}

int main(void)
{
    t_init();
    test_nplr_check_values();
    test_nplr_measures();
    test_eig();
    test_s4d();
    test_ptd_gradient(0.0);
    test_ptd_gradient(64.0);
    test_ptd_gradient(1e4); /* the transfer term dominates */
    test_ptd_transfer();
    test_ptd_large();
    test_ptd_ladder();
    test_ptd();
    return t_finish();
}
