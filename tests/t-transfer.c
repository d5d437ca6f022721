/* tests/t-transfer.c — G(s) = C(sI − A)⁻¹B by three algorithms (Hessenberg,
 * diagonal, DPLR/Woodbury) against a dense LU solve and each other, on random
 * and HiPPO systems. */
#include "ssmkit.h"
#include "tests/harness.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ‖(sI − A)⁻¹‖₂ and κ₂(sI − A): the error scale of any backward-stable solve */
static void resolvent_scale(double *inv_norm, double *kappa, const ssm_zmat_t A, double complex s)
{
    size_t n = A->rows;
    ssm_zmat_t T;
    TRY(ssm_zmat_init(T, n, n));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            SSM_D(T, i, j) = (i == j ? s : 0.0) - SSM_D(A, i, j);
    double sv[256];
    TRY(ssm_zmat_singvals(sv, T));
    *inv_norm = 1.0 / sv[n - 1];
    *kappa = sv[0] / sv[n - 1];
    ssm_zmat_clear(T);
}

static void test_random_dense(void)
{
    const size_t n = 24, K = 15;
    ssm_zmat_t A, b, c;
    TRY(ssm_zmat_init(A, n, n));
    TRY(ssm_zmat_init(b, n, 1));
    TRY(ssm_zmat_init(c, 1, n));
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++)
            SSM_D(A, i, j) = CMPLX(t_uniform(), t_uniform()) - (i == j ? 3.0 : 0.0);
        SSM_D(b, i, 0) = CMPLX(t_uniform(), t_uniform());
        SSM_D(c, 0, i) = CMPLX(t_uniform(), t_uniform());
    }
    double complex s[15], g1[15], g2[15];
    double w[15];
    TRY(ssm_tf_omega_grid(s, w, 0.01, 100.0, K, 1));
    ssm_status st;
    ssm_tf_plan *p = NULL;
    TRY(ssm_tf_plan_create(&p, A, b, c, 0.5));
    CHECK(p != NULL, "plan");
    CHECK(ssm_tf_eval(g1, p, s, K) == SSM_OK, "eval");
    CHECK(ssm_tf_dense_solve(g2, A, b, c, 0.5, s, K) == SSM_OK, "dense");
    int ok = 0;
    double nb = t_znorm2(b), nc = t_znorm2(c);
    for (size_t k = 0; k < K; k++) {
        double inv, kap;
        resolvent_scale(&inv, &kap, A, s[k]);
        /* both solves are backward stable: |ΔG| <= c n ε κ ‖c‖‖b‖‖(sI−A)⁻¹‖, c = 10 */
        ok += cabs(g1[k] - g2[k]) <= 10.0 * n * DBL_EPSILON * kap * nb * nc * inv;
    }
    CHECK(ok == (int)K, "Hessenberg vs dense LU: %d of %zu points agree", ok, K);
    ssm_tf_plan_free(p);

    /* a diagonal system: the O(M) formula equals the Hessenberg route */
    ssm_zmat_t Dm;
    TRY(ssm_zmat_init(Dm, n, n));
    double complex lam[24], bb[24], cc[24];
    for (size_t i = 0; i < n; i++) {
        lam[i] = CMPLX(-0.1 - fabs(t_uniform()), 20 * t_uniform());
        SSM_D(Dm, i, i) = lam[i];
        bb[i] = SSM_D(b, i, 0);
        cc[i] = SSM_D(c, 0, i);
    }
    TRY(ssm_tf_plan_create(&p, Dm, b, c, 0.0));
    TRY(ssm_tf_eval(g1, p, s, K));
    ssm_tf_diag(g2, lam, bb, cc, n, 0, 0.0, s, K);
    double err = 0, mag = 0;
    for (size_t k = 0; k < K; k++) {
        err = fmax(err, cabs(g1[k] - g2[k]));
        mag = fmax(mag, cabs(g2[k]));
    }
    /* |1/(s−λ)| <= 1/0.1: terms at most 10 ‖b‖∞‖c‖∞; n terms, c = 10 */
    CHECK(err <= 10.0 * n * DBL_EPSILON * 10.0 * n * 2, "diag vs Hessenberg: %g", err);
    /* DPLR with P̃ = 0 is the diagonal system */
    ssm_zmat_t P0;
    TRY(ssm_zmat_init(P0, 1, n));
    TRY(ssm_tf_dplr(g1, lam, bb, cc, P0, n, 0, 0.0, s, K));
    double dd = 0;
    for (size_t k = 0; k < K; k++)
        dd = fmax(dd, cabs(g1[k] - g2[k]));
    /* same sum, different association: n terms of size <= 10 ‖b‖∞‖c‖∞, c = 4 */
    CHECK(dd <= 4.0 * n * DBL_EPSILON * 10.0 * n * 2, "DPLR with P = 0 equals diagonal (%g)", dd);
    ssm_tf_plan_free(p);
    ssm_zmat_clear(P0);
    ssm_zmat_clear(Dm);
    ssm_zmat_clear(A);
    ssm_zmat_clear(b);
    ssm_zmat_clear(c);
    /* errors */
    ssm_zmat_t Bad;
    TRY(ssm_zmat_init(Bad, 2, 3));
    TRY(ssm_zmat_init(b, 2, 1));
    TRY(ssm_zmat_init(c, 1, 2));
    ssm_tf_plan *bad = (ssm_tf_plan *)&st; /* the constructor must set it to NULL */
    CHECK(ssm_tf_plan_create(&bad, Bad, b, c, 0) == SSM_EINVAL && !bad, "plan shape check");
    CHECK(ssm_tf_omega_grid(s, w, 0.0, 1.0, 5, 1) == SSM_EINVAL, "log grid needs LO > 0");
    ssm_zmat_clear(Bad); ssm_zmat_clear(b); ssm_zmat_clear(c);
}

/* HiPPO: the dense target, the DPLR form (Woodbury) and the full-set diagonal
 * of the normal part minus the low-rank term agree. */
static void test_hippo_dplr(void)
{
    const ssm_hippo_measure ms[] = {SSM_HIPPO_LEGS, SSM_HIPPO_LEGT, SSM_HIPPO_FOUT, SSM_HIPPO_LAGT};
    for (size_t a = 0; a < 4; a++)
        for (size_t N = 16; N <= 64; N *= 2) {
            ssm_hippo_measure m = ms[a];
            size_t M = N / 2, r = ssm_hippo_rank(m), K = 40;
            ssm_dmat_t A, B, P;
            TRY(ssm_dmat_init(A, N, N));
            TRY(ssm_dmat_init(B, N, 1));
            TRY(ssm_dmat_init(P, r, N));
            TRY(ssm_hippo(A, B, P, m, N));
            double complex W[32];
            ssm_zmat_t V, Bt, Pt;
            TRY(ssm_zmat_init(V, N, M));
            TRY(ssm_zmat_init(Bt, M, 1));
            TRY(ssm_zmat_init(Pt, r, M));
            TRY(ssm_diag_nplr(W, V, Bt, Pt, NULL, A, B, P, NULL));
            /* C = ones: C̃ = C V */
            double complex Ct[32];
            for (size_t j = 0; j < M; j++) {
                Ct[j] = 0;
                for (size_t i = 0; i < N; i++)
                    Ct[j] += SSM_D(V, i, j);
            }
            ssm_zmat_t Az, bz, cz;
            TRY(ssm_zmat_init(Az, N, N));
            TRY(ssm_zmat_init(bz, N, 1));
            TRY(ssm_zmat_init(cz, 1, N));
            TRY(ssm_zmat_set_dmat(Az, A));
            for (size_t i = 0; i < N; i++) {
                SSM_D(bz, i, 0) = SSM_D(B, i, 0);
                SSM_D(cz, 0, i) = 1.0;
            }
            double complex s[40], g_h[40], g_d[40], g_w[40];
            TRY(ssm_tf_omega_grid(s, NULL, 0.1, 4.0 * N * N, K, 1));
            ssm_tf_plan *p = NULL;
            TRY(ssm_tf_plan_create(&p, Az, bz, cz, 0));
            TRY(ssm_tf_eval(g_h, p, s, K));
            TRY(ssm_tf_dense_solve(g_d, Az, bz, cz, 0, s, K));
            CHECK(ssm_tf_dplr(g_w, W, &SSM_D(Bt, 0, 0), Ct, Pt, M, 1, 0, s, K) == SSM_OK,
                  "dplr eval");
            double worst_hd = 0, worst_hw = 0, worst_tol = 0;
            int ok_hd = 0, ok_hw = 0;
            double nb = t_znorm2(bz), nc = sqrt((double)N);
            for (size_t k = 0; k < K; k++) {
                double inv, kap;
                resolvent_scale(&inv, &kap, Az, s[k]);
                /* backward-stable solves: c n ε κ ‖c‖‖b‖‖R‖; the Woodbury route adds
                 * the eigendecomposition's error (c N ε ‖S‖) times ‖R‖² ‖c‖‖b‖ — both
                 * bounded by the same expression with c = 50 */
                double tol = 50.0 * N * DBL_EPSILON * kap * nb * nc * inv;
                ok_hd += cabs(g_h[k] - g_d[k]) <= tol;
                ok_hw += cabs(g_h[k] - g_w[k]) <= tol;
                worst_hd = fmax(worst_hd, cabs(g_h[k] - g_d[k]) / tol);
                worst_hw = fmax(worst_hw, cabs(g_h[k] - g_w[k]) / tol);
                worst_tol = fmax(worst_tol, tol);
            }
            CHECK(ok_hd == (int)K, "%s N=%zu: Hessenberg vs dense (worst %.2g of tol)", ssm_hippo_name(m), N, worst_hd);
            CHECK(ok_hw == (int)K, "%s N=%zu: Hessenberg vs DPLR Woodbury (worst %.2g of tol)", ssm_hippo_name(m), N,
                  worst_hw);
            ssm_tf_plan_free(p);
            ssm_zmat_clear(Az); ssm_zmat_clear(bz); ssm_zmat_clear(cz);
            ssm_zmat_clear(V); ssm_zmat_clear(Bt); ssm_zmat_clear(Pt);
            ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P);
        }
}

int main(void)
{
    t_init();
    test_random_dense();
    test_hippo_dplr();
    return t_finish();
}
