/* tests/t-mpeig.c — eigendecomposition at any precision, checked two ways:
 * κ₂(V) of LegS against doc/reference.md §4; the triangular route against the
 * closed-form eigenvectors; route against route (triangular vs QR vs Newton,
 * on LegS, on a rotated LegS and on the normal part S); Arb enclosures contain
 * the result, and expose the double-precision result of the rotated LegS as
 * wrong; an unreachable precision is ELOSS, never a silent result.  The
 * products through double slices (core/arb.c) against Arb's exact product. */
#include "ssmkit.h"
#include "core/arb.h"
#include "tests/harness.h"

#include <float.h>
#include <gmp.h>
#include <math.h>
#include <string.h>

/* LegS (or its normal part S when normal) at precision ap, as an MPC matrix;
 * rot > 0 applies two Householder reflections H = I − 2uuᵀ/uᵀu (exactly
 * orthogonal in exact arithmetic, formed at precision ap) */
static void legs_mpc(ssm_mpcmat_t A, size_t N, mpfr_prec_t ap, int normal, int rot)
{
    ssm_mpmat_t R, P;
    TRY(ssm_mpmat_init(R, N, N, ap));
    TRY(ssm_mpmat_init(P, 1, N, ap));
    TRY(ssm_hippo_mp(R, NULL, P, SSM_HIPPO_LEGS, N, NULL));
    if (normal)
        for (size_t i = 0; i < N; i++)
            for (size_t k = 0; k < N; k++)
                mpfr_fma(SSM_MP(R, i, k), SSM_MP(P, 0, i), SSM_MP(P, 0, k), SSM_MP(R, i, k), MPFR_RNDN);
    TRY(ssm_mpcmat_init(A, N, N, ap));
    TRY(ssm_mpcmat_set_mpmat(A, R));
    if (rot)
        TRY(ssm_diag_rotate_mp(A, t_rand(), rot));
    ssm_mpmat_clear(R);
    ssm_mpmat_clear(P);
}

typedef struct {
    ssm_mpcmat_t L, V, W;
    ssm_mpeig_info info;
    ssm_status s;
} result;

static void eig(result *r, const ssm_mpcmat_t A, mpfr_prec_t p, ssm_mpeig_route route, int certify)
{
    size_t N = A->rows;
    TRY(ssm_mpcmat_init(r->L, N, 1, p));
    TRY(ssm_mpcmat_init(r->V, N, N, p));
    TRY(ssm_mpcmat_init(r->W, N, N, p));
    ssm_mpeig_opts o = {.route = route, .certify = certify};
    r->s = ssm_diag_eig_mp(r->L, r->V, r->W, &r->info, A, &o);
}

static void result_clear(result *r)
{
    ssm_mpcmat_clear(r->L);
    ssm_mpcmat_clear(r->V);
    ssm_mpcmat_clear(r->W);
}

/* max |λ_a − λ_b| relative, both sorted the same way */
static double lam_diff(const result *a, const result *b)
{
    double worst = 0;
    mpc_t d;
    mpc_init2(d, 64);
    for (size_t i = 0; i < a->L->rows; i++) {
        mpc_sub(d, SSM_MP(a->L, i, 0), SSM_MP(b->L, i, 0), MPC_RNDNN);
        mpfr_t m, n;
        mpfr_inits2(64, m, n, (mpfr_ptr)0);
        mpc_abs(m, d, MPFR_RNDN);
        mpc_abs(n, SSM_MP(b->L, i, 0), MPFR_RNDN);
        double x = mpfr_get_d(m, MPFR_RNDN) / fmax(mpfr_get_d(n, MPFR_RNDN), 1e-300);
        worst = fmax(worst, x);
        mpfr_clears(m, n, (mpfr_ptr)0);
    }
    mpc_clear(d);
    return worst;
}

static void test_kappa_reference(void)
{
    /* doc/reference.md §4: κ₂(V), unit columns */
    static const struct { size_t N; double kappa; } ref[] = {
        {2, 3.73205}, {4, 86.1124}, {8, 7.70324e4}, {16, 8.31986e10}, {24, 9.89857e16}};
    for (size_t k = 0; k < sizeof ref / sizeof *ref; k++) {
        ssm_mpcmat_t A;
        legs_mpc(A, ref[k].N, 1024, 0, 0);
        result r;
        eig(&r, A, 128, SSM_MPEIG_AUTO, 0);
        CHECK(r.s == SSM_OK && r.info.route == SSM_MPEIG_TRIANGULAR, "N=%zu: %s", ref[k].N, ssm_error_message());
        /* six significant digits given: relative 5e-6 */
        CHECK(fabs(r.info.kappa_V / ref[k].kappa - 1) < 5e-6, "κ(N=%zu) = %.6g, reference %.6g", ref[k].N,
              r.info.kappa_V, ref[k].kappa);
        CHECK(r.info.digits >= 128 * log10(2.0) - 2, "digits vouched %.1f", r.info.digits);
        CHECK(r.info.backward_error_log10 < -30, "backward error 10^%.1f", r.info.backward_error_log10);
        result_clear(&r);
        ssm_mpcmat_clear(A);
    }
}

/* triangular route vs the closed form v_j(i) = √(2i+1)(−1)^(i−j) C(i+j, i−j), normalised */
static void test_closed_form(void)
{
    const size_t N = 32;
    const mpfr_prec_t p = 256;
    ssm_mpcmat_t A;
    legs_mpc(A, N, 2048, 0, 0);
    result r;
    eig(&r, A, p, SSM_MPEIG_TRIANGULAR, 0);
    CHECK(r.s == SSM_OK, "triangular N=32");
    /* eigenvalues sorted by decreasing real part: λ_j = −(j+1), column j ↔ closed-form column j */
    mpz_t c;
    mpz_init(c);
    mpfr_t nrm, x, y, worst;
    mpfr_inits2(p + 64, nrm, x, y, worst, (mpfr_ptr)0);
    mpfr_set_zero(worst, 1);
    int eig_ok = 1;
    for (size_t j = 0; j < N; j++) {
        eig_ok &= mpfr_cmp_si(mpc_realref(SSM_MP(r.L, j, 0)), -(long)(j + 1)) == 0 &&
                  mpfr_zero_p(mpc_imagref(SSM_MP(r.L, j, 0)));
        mpfr_set_zero(nrm, 1);
        for (size_t i = j; i < N; i++) {
            mpz_bin_uiui(c, i + j, i - j);
            mpfr_sqrt_ui(x, 2 * i + 1, MPFR_RNDN);
            mpfr_mul_z(x, x, c, MPFR_RNDN);
            mpfr_fma(nrm, x, x, nrm, MPFR_RNDN);
        }
        mpfr_sqrt(nrm, nrm, MPFR_RNDN);
        /* the largest entry is made real positive: compare |v| entrywise and signs via the product */
        for (size_t i = 0; i < N; i++) {
            if (i < j) {
                mpfr_abs(y, mpc_realref(SSM_MP(r.V, i, j)), MPFR_RNDN);
            } else {
                mpz_bin_uiui(c, i + j, i - j);
                mpfr_sqrt_ui(x, 2 * i + 1, MPFR_RNDN);
                mpfr_mul_z(x, x, c, MPFR_RNDN);
                mpfr_div(x, x, nrm, MPFR_RNDN);
                mpfr_abs(y, mpc_realref(SSM_MP(r.V, i, j)), MPFR_RNDN);
                mpfr_sub(y, y, x, MPFR_RNDN);
                mpfr_abs(y, y, MPFR_RNDN);
            }
            mpfr_max(worst, worst, y, MPFR_RNDN);
            mpfr_abs(y, mpc_imagref(SSM_MP(r.V, i, j)), MPFR_RNDN);
            mpfr_max(worst, worst, y, MPFR_RNDN);
        }
    }
    CHECK(eig_ok, "eigenvalues exactly −(j+1)");
    /* unit vectors at 256 bits: entries agree to a few ulps of 2^-256 */
    CHECK(mpfr_get_d(worst, MPFR_RNDN) < ldexp(1.0, -240), "closed-form eigenvectors: max difference %g",
          mpfr_get_d(worst, MPFR_RNDN));
    mpfr_clears(nrm, x, y, worst, (mpfr_ptr)0);
    mpz_clear(c);
    result_clear(&r);
    ssm_mpcmat_clear(A);
}

static void test_routes(void)
{
    /* LegS N = 16: triangular vs QR vs Newton on the same matrix */
    ssm_mpcmat_t A;
    legs_mpc(A, 16, 1024, 0, 0);
    result t, q, n;
    eig(&t, A, 192, SSM_MPEIG_TRIANGULAR, 0);
    eig(&q, A, 192, SSM_MPEIG_QR, 0);
    eig(&n, A, 192, SSM_MPEIG_NEWTON, 0);
    CHECK(t.s == SSM_OK && q.s == SSM_OK && n.s == SSM_OK, "three routes run");
    /* each route vouches for 192·log10(2) − 2 ≈ 55 digits: agreement to 1e-50 follows */
    CHECK(lam_diff(&t, &q) < 1e-50 && lam_diff(&t, &n) < 1e-50, "eigenvalues agree across routes (%g, %g)",
          lam_diff(&t, &q), lam_diff(&t, &n));
    /* κ from double-rounded V, V⁻¹ (√n ε relative): 1e-12 */
    CHECK(fabs(t.info.kappa_V / q.info.kappa_V - 1) < 1e-12 && fabs(t.info.kappa_V / n.info.kappa_V - 1) < 1e-12,
          "κ agrees across routes");
    result_clear(&t); result_clear(&q); result_clear(&n);
    ssm_mpcmat_clear(A);
    /* rotated LegS N = 24 (not triangular): QR must find κ of the unrotated matrix */
    ssm_mpcmat_t B;
    legs_mpc(B, 24, 1024, 0, 2);
    eig(&q, B, 192, SSM_MPEIG_AUTO, 0);
    CHECK(q.s == SSM_OK && q.info.route == SSM_MPEIG_QR, "rotated LegS: auto picks QR (%s)",
          ssm_mpeig_route_name(q.info.route));
    CHECK(fabs(q.info.kappa_V / 9.89857e16 - 1) < 5e-6, "rotated LegS N=24: κ = %.6g", q.info.kappa_V);
    int exact = 1;
    for (size_t j = 0; j < 24; j++) {
        double re = mpfr_get_d(mpc_realref(SSM_MP(q.L, j, 0)), MPFR_RNDN);
        /* the rotation is exact to 2^-1024; κ ≈ 1e17 amplifies it, far below 1e-40 */
        exact &= fabs(re + (double)(j + 1)) < 1e-40;
    }
    CHECK(exact, "rotated LegS: eigenvalues −(j+1) recovered to 40 digits");
    result_clear(&q);
    ssm_mpcmat_clear(B);
    /* the normal part S: auto picks Newton; QR agrees */
    ssm_mpcmat_t S;
    legs_mpc(S, 24, 1024, 1, 1);
    eig(&n, S, 256, SSM_MPEIG_AUTO, 0);
    eig(&q, S, 256, SSM_MPEIG_QR, 0);
    CHECK(n.s == SSM_OK && n.info.route == SSM_MPEIG_NEWTON, "S: auto picks Newton (%s)", ssm_mpeig_route_name(n.info.route));
    /* 256 bits: 75 digits vouched for by both routes */
    CHECK(q.s == SSM_OK && lam_diff(&n, &q) < 1e-70, "S: Newton vs QR eigenvalues %g", lam_diff(&n, &q));
    /* S is normal: V unitary to 2^-256; κ through doubles carries √n ε */
    CHECK(fabs(n.info.kappa_V - 1) < 1e-12, "S normal: κ = 1 (%.17g)", n.info.kappa_V);
    result_clear(&n); result_clear(&q);
    ssm_mpcmat_clear(S);
}

/* A = D + 0.05 U (+ 0.05 i U' when complex): D block diagonal with the real
 * eigenvalues −1 … −5 and the pairs −1/2 ± ik, k = 1 … 8 (2×2 blocks
 * [[a, b], [−b, a]]), U uniform in [−1, 1).  The gaps (≥ 1/2) dwarf the
 * perturbation (‖0.05 U‖₂ ≲ 0.3 at N = 21), so the spectrum keeps its shape —
 * 5 real eigenvalues, 8 pairs — and κ(V) stays modest for any seed: a real,
 * dense, non-normal matrix exercising every block pairing of the real basis. */
#define MIXED_N 21
static void mixed_mpc(ssm_mpcmat_t A, mpfr_prec_t ap, int complex_part)
{
    const size_t N = MIXED_N;
    TRY(ssm_mpcmat_init(A, N, N, ap));
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < N; k++)
            mpc_set_d_d(SSM_MP(A, i, k), 0.05 * t_uniform(), complex_part ? 0.05 * t_uniform() : 0.0, MPC_RNDNN);
    for (size_t j = 0; j < 5; j++)
        mpfr_sub_si(mpc_realref(SSM_MP(A, j, j)), mpc_realref(SSM_MP(A, j, j)), (long)j + 1, MPFR_RNDN);
    for (size_t k = 1, j = 5; j + 1 < N; k++, j += 2) {
        mpfr_sub_d(mpc_realref(SSM_MP(A, j, j)), mpc_realref(SSM_MP(A, j, j)), 0.5, MPFR_RNDN);
        mpfr_sub_d(mpc_realref(SSM_MP(A, j + 1, j + 1)), mpc_realref(SSM_MP(A, j + 1, j + 1)), 0.5, MPFR_RNDN);
        mpfr_add_ui(mpc_realref(SSM_MP(A, j, j + 1)), mpc_realref(SSM_MP(A, j, j + 1)), k, MPFR_RNDN);
        mpfr_sub_ui(mpc_realref(SSM_MP(A, j + 1, j)), mpc_realref(SSM_MP(A, j + 1, j)), k, MPFR_RNDN);
    }
}

/* max |(A V − V Λ)_ij| and max |(V⁻¹ V − I)_ij|, in MPC at 2p + 64 bits from
 * the returned (rounded) values: an independent check of the result */
static void residuals(double *res, double *inv, const ssm_mpcmat_t A, const result *r)
{
    size_t N = A->rows;
    mpfr_prec_t q = 2 * r->L->prec + 64;
    mpc_t acc, t;
    mpfr_t m;
    mpc_init2(acc, q);
    mpc_init2(t, q);
    mpfr_init2(m, 64);
    *res = *inv = 0.0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            mpc_mul(acc, SSM_MP(r->V, i, j), SSM_MP(r->L, j, 0), MPC_RNDNN);
            mpc_neg(acc, acc, MPC_RNDNN);
            for (size_t k = 0; k < N; k++)
                mpc_fma(acc, SSM_MP(A, i, k), SSM_MP(r->V, k, j), acc, MPC_RNDNN);
            mpc_abs(m, acc, MPFR_RNDN);
            *res = fmax(*res, mpfr_get_d(m, MPFR_RNDN));
            mpc_set_si(acc, i == j ? -1 : 0, MPC_RNDNN);
            for (size_t k = 0; k < N; k++)
                mpc_fma(acc, SSM_MP(r->W, i, k), SSM_MP(r->V, k, j), acc, MPC_RNDNN);
            mpc_abs(m, acc, MPFR_RNDN);
            *inv = fmax(*inv, mpfr_get_d(m, MPFR_RNDN));
        }
    mpc_clear(acc);
    mpc_clear(t);
    mpfr_clear(m);
}

/* max |V_a − V_b| entrywise (both unit columns, same phase and order) */
static double vec_diff(const result *a, const result *b)
{
    double worst = 0;
    mpc_t d;
    mpfr_t m;
    mpc_init2(d, 64);
    mpfr_init2(m, 64);
    for (size_t i = 0; i < a->V->rows; i++)
        for (size_t j = 0; j < a->V->cols; j++) {
            mpc_sub(d, SSM_MP(a->V, i, j), SSM_MP(b->V, i, j), MPC_RNDNN);
            mpc_abs(m, d, MPFR_RNDN);
            worst = fmax(worst, mpfr_get_d(m, MPFR_RNDN));
        }
    mpc_clear(d);
    mpfr_clear(m);
    return worst;
}

static void test_newton_real(void)
{
    const size_t N = MIXED_N;
    const mpfr_prec_t p = 256;
    ssm_mpcmat_t A;
    mixed_mpc(A, 512, 0);
    result n, q, ref;
    eig(&n, A, p, SSM_MPEIG_AUTO, 1);
    eig(&q, A, p, SSM_MPEIG_QR, 0);
    eig(&ref, A, 2 * p, SSM_MPEIG_QR, 0);
    CHECK(n.s == SSM_OK && n.info.route == SSM_MPEIG_NEWTON, "mixed real: auto picks Newton (%s, %s)",
          ssm_mpeig_route_name(n.info.route), ssm_error_message());
    CHECK(q.s == SSM_OK && ref.s == SSM_OK, "mixed real: QR at 256 and 512 bits");
    /* digits asked by default: 256 log10(2) − 2 = 75.1 */
    CHECK(n.info.digits >= 256 * log10(2.0) - 2, "mixed real: %.1f digits vouched for", n.info.digits);
    /* the vouched digits are honest: against QR at twice the precision; both are
     * rounded to 256 bits (2^-256 ≈ 1e-77 relative), so the floor is ~1e-76 */
    double dl = lam_diff(&n, &ref), dv = vec_diff(&n, &ref);
    CHECK(dl < fmax(pow(10.0, -n.info.digits), 1e-75) && dv < fmax(pow(10.0, -n.info.digits), 1e-75),
          "mixed real: Newton vs QR at 512 bits: λ %g, V %g (vouched 1e-%.1f)", dl, dv, n.info.digits);
    CHECK(lam_diff(&n, &q) < 1e-70 && vec_diff(&n, &q) < 1e-70, "mixed real: Newton vs QR at 256 bits: λ %g, V %g",
          lam_diff(&n, &q), vec_diff(&n, &q));
    /* κ from double-rounded V, V⁻¹ (√n ε relative): 1e-12 */
    CHECK(fabs(n.info.kappa_V / q.info.kappa_V - 1) < 1e-12, "mixed real: κ %.17g vs %.17g", n.info.kappa_V,
          q.info.kappa_V);
    /* residuals of the returned values: entries rounded to 2^-256 relative, sums of N
     * terms of size ‖A‖ (≤ 9 here), and V⁻¹V amplifies by κ; factor 16 for the sums */
    double res, inv;
    residuals(&res, &inv, A, &n);
    CHECK(res < 16.0 * N * 9.0 * ldexp(1.0, -256), "mixed real: |AV − VΛ| = %g", res);
    CHECK(inv < 16.0 * N * n.info.kappa_V * ldexp(1.0, -256), "mixed real: |V⁻¹V − I| = %g", inv);
    /* the real basis keeps the structure exactly: 5 real eigenvalues with zero imaginary
     * part and real eigenvectors; every other eigenpair's conjugate is also returned */
    size_t real = 0, paired = 0;
    for (size_t j = 0; j < N; j++) {
        if (mpfr_zero_p(mpc_imagref(SSM_MP(n.L, j, 0)))) {
            int vreal = 1;
            for (size_t i = 0; i < N; i++)
                vreal &= mpfr_zero_p(mpc_imagref(SSM_MP(n.V, i, j)));
            real += (size_t)vreal;
            continue;
        }
        for (size_t k = 0; k < N; k++) {
            int conj = mpfr_equal_p(mpc_realref(SSM_MP(n.L, j, 0)), mpc_realref(SSM_MP(n.L, k, 0))) &&
                       mpfr_cmpabs(mpc_imagref(SSM_MP(n.L, j, 0)), mpc_imagref(SSM_MP(n.L, k, 0))) == 0 &&
                       mpfr_sgn(mpc_imagref(SSM_MP(n.L, j, 0))) == -mpfr_sgn(mpc_imagref(SSM_MP(n.L, k, 0)));
            for (size_t i = 0; i < N && conj; i++)
                conj = mpfr_equal_p(mpc_realref(SSM_MP(n.V, i, j)), mpc_realref(SSM_MP(n.V, i, k))) &&
                       mpfr_cmpabs(mpc_imagref(SSM_MP(n.V, i, j)), mpc_imagref(SSM_MP(n.V, i, k))) == 0;
            if (conj) {
                paired++;
                break;
            }
        }
    }
    CHECK(real == 5 && paired == 16, "mixed real: %zu real eigenpairs, %zu with their exact conjugate", real, paired);
    /* certified: Arb's enclosures contain the result (and give it to ~1e-70) */
    CHECK(n.info.certified && n.info.contains_result && n.info.radius_lambda < 1e-70,
          "mixed real: certified (radius %g)", n.info.radius_lambda);
    /* the backward error at the working precision (> 256 bits) */
    CHECK(n.info.backward_error_log10 < -256 * log10(2.0), "mixed real: backward error 10^%.1f",
          n.info.backward_error_log10);
    result_clear(&n); result_clear(&q); result_clear(&ref);
    ssm_mpcmat_clear(A);

    /* a complex matrix takes the complex Newton iteration; QR agrees */
    mixed_mpc(A, 512, 1);
    eig(&n, A, p, SSM_MPEIG_AUTO, 0);
    eig(&q, A, p, SSM_MPEIG_QR, 0);
    CHECK(n.s == SSM_OK && n.info.route == SSM_MPEIG_NEWTON && q.s == SSM_OK, "mixed complex: Newton");
    CHECK(lam_diff(&n, &q) < 1e-70 && vec_diff(&n, &q) < 1e-70, "mixed complex: Newton vs QR: λ %g, V %g",
          lam_diff(&n, &q), vec_diff(&n, &q));
    residuals(&res, &inv, A, &n);
    CHECK(res < 16.0 * N * 9.0 * ldexp(1.0, -256) && inv < 16.0 * N * n.info.kappa_V * ldexp(1.0, -256),
          "mixed complex: |AV − VΛ| = %g, |V⁻¹V − I| = %g", res, inv);
    result_clear(&n); result_clear(&q);
    ssm_mpcmat_clear(A);

    /* small real cases: a lone pair (the rotation generator, eigenvalues ±i, exact
     * eigenvectors (1, ±i)/√2) and a repeated eigenvalue of a symmetric matrix
     * Q diag(1, 1, 2) Qᵀ, where Newton's correction divides by λ_1 − λ_2 ≈ 0: it must
     * hand over to QR, never return NaN (a defect found while writing this test) */
    ssm_mpcmat_t R2;
    TRY(ssm_mpcmat_init(R2, 2, 2, 128));
    mpc_set_si(SSM_MP(R2, 0, 1), 1, MPC_RNDNN);
    mpc_set_si(SSM_MP(R2, 1, 0), -1, MPC_RNDNN);
    eig(&n, R2, 128, SSM_MPEIG_AUTO, 0);
    CHECK(n.s == SSM_OK && n.info.route == SSM_MPEIG_NEWTON && mpfr_zero_p(mpc_realref(SSM_MP(n.L, 0, 0))) &&
              mpfr_cmp_si(mpc_imagref(SSM_MP(n.L, 0, 0)), -1) == 0 && mpfr_cmp_si(mpc_imagref(SSM_MP(n.L, 1, 0)), 1) == 0,
          "rotation generator: eigenvalues ∓i exactly");
    result_clear(&n);
    ssm_mpcmat_clear(R2);
    ssm_mpcmat_t Q3;
    TRY(ssm_mpcmat_init(Q3, 3, 3, 128));
    {
        /* Q = I − 2uuᵀ, u = (1, 2, 2)/3 (so Q = I − (2/9) w wᵀ, w = (1, 2, 2)); A = Q diag(1, 1, 2) Q
         * = I + q qᵀ with q the third column of Q: exact rationals with denominator 81 */
        static const long w[3] = {1, 2, 2};
        long qc[3];
        for (int i = 0; i < 3; i++)
            qc[i] = 9 * (i == 2) - 2 * w[i] * w[2]; /* 9 q */
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++) {
                mpfr_set_si(mpc_realref(SSM_MP(Q3, i, k)), qc[i] * qc[k] + 81 * (i == k), MPFR_RNDN);
                mpfr_div_ui(mpc_realref(SSM_MP(Q3, i, k)), mpc_realref(SSM_MP(Q3, i, k)), 81, MPFR_RNDN);
            }
    }
    eig(&n, Q3, 128, SSM_MPEIG_AUTO, 0);
    int finite = n.s == SSM_OK;
    double worst3 = 0.0;
    for (size_t j = 0; j < 3 && finite; j++) {
        finite = mpfr_number_p(mpc_realref(SSM_MP(n.L, j, 0))) && mpfr_number_p(mpc_imagref(SSM_MP(n.L, j, 0)));
        worst3 = fmax(worst3, fabs(mpfr_get_d(mpc_realref(SSM_MP(n.L, j, 0)), MPFR_RNDN) - (j == 0 ? 2.0 : 1.0)));
    }
    /* the matrix is exact to 2^-128 (entries k/81): eigenvalues 2, 1, 1 to ~1e-35 */
    CHECK(finite && worst3 < 1e-30 && n.info.route == SSM_MPEIG_QR,
          "repeated eigenvalue: %s, route %s, eigenvalues off by %g", ssm_strerror(n.s),
          ssm_mpeig_route_name(n.info.route), worst3);
    result_clear(&n);
    /* the same with i 2^-100 added on the diagonal: complex, so the complex Newton
     * iteration is tried first; it too must hand over */
    for (int i = 0; i < 3; i++)
        mpfr_set_si_2exp(mpc_imagref(SSM_MP(Q3, i, i)), 1, -100, MPFR_RNDN);
    eig(&n, Q3, 128, SSM_MPEIG_AUTO, 0);
    finite = n.s == SSM_OK;
    for (size_t j = 0; j < 3 && finite; j++)
        finite = mpfr_number_p(mpc_realref(SSM_MP(n.L, j, 0))) && mpfr_number_p(mpc_imagref(SSM_MP(n.L, j, 0)));
    CHECK(finite && n.info.route == SSM_MPEIG_QR, "repeated eigenvalue, complex: %s, route %s", ssm_strerror(n.s),
          ssm_mpeig_route_name(n.info.route));
    result_clear(&n);
    ssm_mpcmat_clear(Q3);

    /* Newton forced on a non-normal, non-triangular matrix whose double start is only
     * good to ~1e-7 (rotated LegS N = 14, κ ≈ 1e9): still converges, and the digits it
     * vouches for hold against QR at twice the precision (outputs rounded to 256 bits) */
    legs_mpc(A, 14, 1024, 0, 2);
    eig(&n, A, p, SSM_MPEIG_NEWTON, 0);
    eig(&ref, A, 2 * p, SSM_MPEIG_QR, 0);
    CHECK(n.s == SSM_OK && ref.s == SSM_OK && n.info.digits >= 256 * log10(2.0) - 2,
          "rotated LegS N=14, Newton: %s, %.1f digits", ssm_strerror(n.s), n.info.digits);
    if (n.s == SSM_OK && ref.s == SSM_OK) {
        double tol = fmax(pow(10.0, -n.info.digits), 1e-75);
        CHECK(lam_diff(&n, &ref) < tol && vec_diff(&n, &ref) < tol, "rotated LegS N=14: λ %g, V %g vs QR at 512 bits",
              lam_diff(&n, &ref), vec_diff(&n, &ref));
    }
    result_clear(&n); result_clear(&ref);
    ssm_mpcmat_clear(A);

    /* Newton forced where the double start is useless (rotated LegS N = 32, κ ≈ 1e22):
     * no convergence, reported as such */
    legs_mpc(A, 32, 1024, 0, 2);
    eig(&n, A, 128, SSM_MPEIG_NEWTON, 0);
    CHECK(n.s == SSM_ENOCONV, "rotated LegS N=32, Newton forced: ENOCONV (%d: %s)", (int)n.s, ssm_error_message());
    result_clear(&n);
    ssm_mpcmat_clear(A);
}

static void test_certify(void)
{
    ssm_mpcmat_t A;
    legs_mpc(A, 12, 512, 0, 0);
    result r;
    eig(&r, A, 128, SSM_MPEIG_AUTO, 1);
    /* enclosures at ~300 bits around a 128-bit-accurate result: radii far below 1e-30 */
    CHECK(r.s == SSM_OK && r.info.certified && r.info.contains_result && r.info.radius_lambda < 1e-30,
          "LegS N=12 certified (radius %g)", r.info.radius_lambda);
    result_clear(&r);
    ssm_mpcmat_clear(A);
    /* the trap of doc/reference.md §4: double eig of the rotated LegS is wrong at N = 32, and the
     * certified enclosures say so */
    const size_t N = 32;
    ssm_mpcmat_t B;
    legs_mpc(B, N, 1024, 0, 2);
    eig(&r, B, 256, SSM_MPEIG_QR, 0);
    CHECK(r.s == SSM_OK, "rotated LegS N=32 at 256 bits");
    ssm_zmat_t D;
    TRY(ssm_zmat_init(D, N, N));
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < N; k++)
            SSM_D(D, i, k) = CMPLX(mpfr_get_d(mpc_realref(SSM_MP(B, i, k)), MPFR_RNDN), 0.0);
    double complex w[32];
    TRY(ssm_zmat_eigvals(w, D));
    size_t inside = 99;
    /* a double result is "right" when within c n ε ‖A‖ of the certified eigenvalue, c = 100 */
    double tol = 100.0 * N * DBL_EPSILON * t_znorm2(D);
    ssm_status s = ssm_diag_eig_mp_contains(&inside, B, r.L, r.V, w, tol);
    CHECK(s == SSM_OK && inside < N, "double eigenvalues of rotated LegS N=32: %zu of %zu inside the enclosures",
          inside, N);
    /* and the MP result itself is inside */
    double complex wm[32];
    for (size_t i = 0; i < N; i++)
        wm[i] = CMPLX(mpfr_get_d(mpc_realref(SSM_MP(r.L, i, 0)), MPFR_RNDN), mpfr_get_d(mpc_imagref(SSM_MP(r.L, i, 0)), MPFR_RNDN));
    s = ssm_diag_eig_mp_contains(&inside, B, r.L, r.V, wm, tol);
    CHECK(s == SSM_OK && inside == N, "the multiprecision result rounded to double is inside (%zu)", inside);
    ssm_zmat_clear(D);
    result_clear(&r);
    ssm_mpcmat_clear(B);
}

static void test_errors(void)
{
    ssm_mpcmat_t A;
    legs_mpc(A, 24, 512, 0, 2);
    result r;
    TRY(ssm_mpcmat_init(r.L, 24, 1, 128));
    TRY(ssm_mpcmat_init(r.V, 24, 24, 128));
    TRY(ssm_mpcmat_init(r.W, 24, 24, 128));
    /* 38 digits asked, working precision capped at 150 bits: not reachable */
    ssm_mpeig_opts o = {.route = SSM_MPEIG_QR, .max_prec = 150};
    CHECK(ssm_diag_eig_mp(r.L, r.V, r.W, NULL, A, &o) == SSM_ELOSS && strstr(ssm_error_message(), "vouched"),
          "unreachable digits -> ELOSS: %s", ssm_error_message());
    o.route = SSM_MPEIG_TRIANGULAR;
    o.max_prec = 0;
    CHECK(ssm_diag_eig_mp(r.L, r.V, r.W, NULL, A, &o) == SSM_EINVAL, "triangular route on a full matrix -> EINVAL");
    result_clear(&r);
    ssm_mpcmat_clear(A);
    /* repeated diagonal: defective Jordan-like block */
    TRY(ssm_mpcmat_init(A, 2, 2, 128));
    mpc_set_ui(SSM_MP(A, 0, 0), 1, MPC_RNDNN);
    mpc_set_ui(SSM_MP(A, 1, 1), 1, MPC_RNDNN);
    mpc_set_ui(SSM_MP(A, 1, 0), 1, MPC_RNDNN);
    TRY(ssm_mpcmat_init(r.L, 2, 1, 64));
    TRY(ssm_mpcmat_init(r.V, 2, 2, 64));
    TRY(ssm_mpcmat_init(r.W, 2, 2, 64));
    CHECK(ssm_diag_eig_mp(r.L, r.V, r.W, NULL, A, NULL) == SSM_ELOSS, "Jordan block -> ELOSS");
    result_clear(&r);
    ssm_mpcmat_clear(A);
}

/* a random exact entry: up to bits mantissa bits, exponent spread over ±spread, zero one time in eight */
static void rand_entry(arb_t x, int bits, int spread)
{
    if (t_rand() % 8 == 0) {
        arb_zero(x);
        return;
    }
    fmpz_t m;
    fmpz_init(m);
    for (int b = 0; b < bits; b += 60)
        fmpz_mul_2exp(m, m, 60), fmpz_add_ui(m, m, t_rand() >> 4);
    fmpz_fdiv_q_2exp(m, m, (ulong)((60 - bits % 60) % 60 + (int)(t_rand() % 8)));
    if (t_rand() & 1)
        fmpz_neg(m, m);
    arb_set_fmpz(x, m);
    arb_mul_2exp_si(x, x, (slong)(t_rand() % (2 * (uint64_t)spread + 1)) - spread - bits);
    fmpz_clear(m);
}

/* largest |m| over row (col = 0) or column i of M, as a midpoint */
static void line_max(arf_t r, const arb_mat_t M, slong i, int col)
{
    arf_zero(r);
    slong len = col ? arb_mat_nrows(M) : arb_mat_ncols(M);
    for (slong q = 0; q < len; q++) {
        const arf_struct *x = arb_midref(col ? arb_mat_entry(M, q, i) : arb_mat_entry(M, i, q));
        if (arf_cmpabs(x, r) > 0)
            arf_abs(r, x);
    }
}

/* C against the exact product: every entry within k 2^-prec max|a_i·| max|b_·j|;
 * returns the largest error in units of that bound */
static double split_error(const arb_mat_t C, const arb_mat_t A, const arb_mat_t B, slong prec)
{
    slong n = arb_mat_nrows(A), k = arb_mat_ncols(A), m = arb_mat_ncols(B);
    arb_mat_t E;
    arb_mat_init(E, n, m);
    arb_mat_mul(E, A, B, ARF_PREC_EXACT); /* exact inputs: an exact product */
    arf_t ra, cb, d;
    arf_init(ra); arf_init(cb); arf_init(d);
    double worst = 0.0;
    for (slong i = 0; i < n; i++) {
        line_max(ra, A, i, 0);
        for (slong j = 0; j < m; j++) {
            line_max(cb, B, j, 1);
            arf_sub(d, arb_midref(arb_mat_entry(C, i, j)), arb_midref(arb_mat_entry(E, i, j)), 64, ARF_RND_UP);
            arf_mul(cb, cb, ra, 64, ARF_RND_DOWN);
            arf_mul_2exp_si(cb, cb, -prec);
            arf_mul_si(cb, cb, k, 64, ARF_RND_DOWN);
            double e; /* a nonzero error against a zero bound fails */
            if (arf_is_zero(cb) || arf_is_zero(d))
                e = arf_is_zero(d) ? 0.0 : INFINITY;
            else {
                arf_div(d, d, cb, 64, ARF_RND_UP);
                e = fabs(arf_get_d(d, ARF_RND_UP));
            }
            worst = e > worst ? e : worst;
        }
    }
    arf_clear(ra); arf_clear(cb); arf_clear(d);
    arb_mat_clear(E);
    return worst;
}

/* ssm_arf_get_d_2exp against Arb's arf_get_d of the exactly scaled value:
 * random mantissas of 1 to 400 bits, exact ties ((2^52 + r)·2 + 1: 53 bits
 * and a half, r even and odd), the same with a far sticky bit (no tie), ties
 * by hand against their known doubles, 2^53 − 1/2 rounding up to a power of two,
 * and exponents at and beyond the fast path's range (±1000 and beyond the
 * double range: Arb's own path) */
static void test_get_d(void)
{
    arf_t x, y;
    arf_init(x);
    arf_init(y);
    int bad = 0;
    for (int it = 0; it < 4000; it++) {
        fmpz_t m;
        fmpz_init(m);
        int bits = 1 + (int)(t_rand() % 400), kind = it % 8;
        if (kind == 0 || kind == 1) { /* (2^52 + r)·2 + 1, r even/odd: 54 bits, the dropped bit exactly 1/2 */
            fmpz_set_ui(m, 1);
            fmpz_mul_2exp(m, m, 52);
            fmpz_add_ui(m, m, (t_rand() % 1000) * 2 + (ulong)kind);
            fmpz_mul_2exp(m, m, 1);
            fmpz_add_ui(m, m, 1);
            if (it % 16 >= 8) { /* a far sticky bit breaks the tie (upward in magnitude) */
                fmpz_mul_2exp(m, m, 200);
                fmpz_add_ui(m, m, 1);
            }
        } else if (kind == 2) { /* 2^54 − 1: rounds up to 2^54 */
            fmpz_set_ui(m, 1);
            fmpz_mul_2exp(m, m, 54);
            fmpz_sub_ui(m, m, 1);
        } else
            for (int b = 0; b < bits; b += 60)
                fmpz_mul_2exp(m, m, 60), fmpz_add_ui(m, m, t_rand() >> 4);
        if (t_rand() & 1)
            fmpz_neg(m, m);
        arf_set_fmpz(x, m);
        slong sh = (slong)(t_rand() % 2400) - 1200, e = (slong)(t_rand() % 200) - 100;
        arf_mul_2exp_si(x, x, sh);
        arf_mul_2exp_si(y, x, -e);
        double want = arf_get_d(y, ARF_RND_NEAR), got = ssm_arf_get_d_2exp(x, e);
        bad += !(want == got || (isnan(want) && isnan(got)));
        fmpz_clear(m);
    }
    CHECK(bad == 0, "ssm_arf_get_d_2exp: %d of 4000 values differ from arf_get_d", bad);
    /* the tie rule by hand: 2^53 + 1 (even neighbour 2^53: down), 2^53 + 3 (even neighbour 2^53 + 4: up),
     * 2^53 + 1 + 2^-300 (above the tie: up), each scaled by 2^-e and negated */
    static const struct { ulong add; int sticky; double want; } ties[] = {
        {1, 0, 9007199254740992.0}, {3, 0, 9007199254740996.0}, {1, 1, 9007199254740994.0}};
    for (int i = 0; i < 3; i++)
        for (int sg = 0; sg < 2; sg++) {
            arf_set_ui(x, 1);
            arf_mul_2exp_si(x, x, 53);
            arf_add_ui(x, x, ties[i].add, ARF_PREC_EXACT, ARF_RND_DOWN);
            if (ties[i].sticky) {
                arf_set_ui(y, 1);
                arf_mul_2exp_si(y, y, -300);
                arf_add(x, x, y, ARF_PREC_EXACT, ARF_RND_DOWN);
            }
            if (sg)
                arf_neg(x, x);
            arf_mul_2exp_si(x, x, 7);
            double got = ssm_arf_get_d_2exp(x, 7), want = sg ? -ties[i].want : ties[i].want;
            CHECK(got == want, "ssm_arf_get_d_2exp: 2^53 + %lu%s (sign %d) gives %.17g, want %.17g (ties to even)",
                  ties[i].add, ties[i].sticky ? " + 2^-300" : "", sg, got, want);
        }
    arf_zero(x);
    CHECK(ssm_arf_get_d_2exp(x, 5) == 0.0, "ssm_arf_get_d_2exp: zero");
    arf_nan(x);
    CHECK(isnan(ssm_arf_get_d_2exp(x, 0)), "ssm_arf_get_d_2exp: NaN");
    arf_pos_inf(x);
    CHECK(ssm_arf_get_d_2exp(x, 0) == INFINITY, "ssm_arf_get_d_2exp: +inf");
    arf_clear(x);
    arf_clear(y);
}

/* entries far below their row's (column's) scale, 2^-(prec+700) and 2^-5000 next to 1: every slice of
 * them is zero (the split's shortcut past the last slice, where the bit window's shift would be out of
 * range); the product against the exact one and the same bits on the reference BLAS */
static void test_split_far_below(ssm_arb_mul_ws *ws)
{
    static const slong precs[] = {53, 120, 374, 1000};
    for (size_t q = 0; q < sizeof precs / sizeof precs[0]; q++) {
        slong prec = precs[q], n = 4, k = 5, m = 3;
        arb_mat_t A, B, C, D;
        arb_mat_init(A, n, k); arb_mat_init(B, k, m); arb_mat_init(C, n, m); arb_mat_init(D, n, m);
        for (slong i = 0; i < n; i++)
            for (slong j = 0; j < k; j++)
                rand_entry(arb_mat_entry(A, i, j), (int)(prec + 40), 4);
        for (slong i = 0; i < k; i++)
            for (slong j = 0; j < m; j++)
                rand_entry(arb_mat_entry(B, i, j), (int)(prec + 40), 4);
        for (slong i = 0; i < n; i++) { /* A: row scale 1, two entries far below it */
            arb_set_si(arb_mat_entry(A, i, 0), i % 2 ? -1 : 1);
            arb_set_si(arb_mat_entry(A, i, 1 + i % 3), 3 - 6 * (i % 2));
            arb_mul_2exp_si(arb_mat_entry(A, i, 1 + i % 3), arb_mat_entry(A, i, 1 + i % 3), -(prec + 700));
            arb_one(arb_mat_entry(A, i, 4));
            arb_mul_2exp_si(arb_mat_entry(A, i, 4), arb_mat_entry(A, i, 4), -5000);
        }
        for (slong j = 0; j < m; j++) { /* B: the same down its columns */
            arb_one(arb_mat_entry(B, 0, j));
            arb_set_si(arb_mat_entry(B, 2, j), -5);
            arb_mul_2exp_si(arb_mat_entry(B, 2, j), arb_mat_entry(B, 2, j), -(prec + 700));
        }
        TRY(ssm_arb_mat_approx_mul_split(C, A, B, prec, ws));
        double e = split_error(C, A, B, prec);
        CHECK(e <= 1.0, "split product, entries 2^-(prec+700) and 2^-5000 below the row scale, %ld bits: error %.3g "
              "of the bound", (long)prec, e);
        int was = ssm_fixed_kernel(1);
        TRY(ssm_arb_mat_approx_mul_split(D, A, B, prec, ws));
        ssm_fixed_kernel(was);
        CHECK(arb_mat_equal(C, D), "split product, entries far below the row scale, %ld bits: the same bits on the "
              "reference BLAS", (long)prec);
        arb_mat_clear(A); arb_mat_clear(B); arb_mat_clear(C); arb_mat_clear(D);
    }
}

/* the split product's one rounding against arf_set_round of the exact product, 1×1×1 (slice width
 * 26): a with at most S·26 bits fills slices 0 … S − 1 at most and b of at most 26 bits slice 0, so no
 * slice product is dropped (t + u < S) and the slices' sum is a b exactly; a b rounded to p bits, to
 * nearest: the top p bits of a random, then the bit below them 1 and zeros after it (a tie; both
 * parities of the last bit kept), or nonzero bits after it, or all ones (the rounding carries into a
 * new top bit), or a short a (exact); b = ±1 (those patterns) or random below 2^25 */
static void test_split_round(ssm_arb_mul_ws *ws)
{
    arb_mat_t A, B, C;
    arb_mat_init(A, 1, 1); arb_mat_init(B, 1, 1); arb_mat_init(C, 1, 1);
    arf_t want;
    arf_init(want);
    fmpz_t a;
    fmpz_init(a);
    int bad = 0, n = 0;
    for (int it = 0; it < 3000; it++) {
        slong p = 20 + (slong)(t_rand() % 400), S = (p + 8 + 25) / 26, room = S * 26 - p; /* bits below the p: ≥ 8 */
        int kind = it % 5;
        fmpz_zero(a);
        if (kind == 3) { /* p + room ones: rounds up to a power of two */
            fmpz_one(a);
            fmpz_mul_2exp(a, a, (ulong)(p + room));
            fmpz_sub_ui(a, a, 1);
        } else {
            for (slong b = 0; b < p; b += 60)
                fmpz_mul_2exp(a, a, 60), fmpz_add_ui(a, a, t_rand() >> 4);
            fmpz_fdiv_q_2exp(a, a, (ulong)((60 - p % 60) % 60));
            fmpz_setbit(a, (ulong)(p - 1)); /* exactly p bits */
            if (kind == 4) /* short: exact */
                fmpz_fdiv_q_2exp(a, a, (ulong)(t_rand() % (ulong)p));
            else {
                slong r = (slong)(t_rand() % (ulong)room) + 1; /* bits below the p: 1 … room */
                fmpz_mul_2exp(a, a, (ulong)r);
                fmpz_setbit(a, (ulong)(r - 1)); /* the bit below the p: one half */
                if (kind == 2 && r > 1) { /* above the half: some of the bits below it */
                    slong h = r - 1 < 30 ? r - 1 : 30;
                    fmpz_add_ui(a, a, 1 + t_rand() % (((ulong)1 << h) - 1));
                }
            }
        }
        if (t_rand() & 1)
            fmpz_neg(a, a);
        arb_set_fmpz(arb_mat_entry(A, 0, 0), a);
        arb_mul_2exp_si(arb_mat_entry(A, 0, 0), arb_mat_entry(A, 0, 0), (slong)(t_rand() % 200) - 100);
        slong bb = it % 3 == 0 ? (t_rand() & 1 ? 1 : -1) : (slong)(t_rand() % ((ulong)1 << 26)) - ((slong)1 << 25);
        arb_set_si(arb_mat_entry(B, 0, 0), bb);
        arf_mul(want, arb_midref(arb_mat_entry(A, 0, 0)), arb_midref(arb_mat_entry(B, 0, 0)), ARF_PREC_EXACT,
                ARF_RND_DOWN);
        arf_set_round(want, want, p, ARF_RND_NEAR);
        TRY(ssm_arb_mat_approx_mul_split(C, A, B, p, ws));
        bad += !arf_equal(want, arb_midref(arb_mat_entry(C, 0, 0)));
        n++;
    }
    CHECK(bad == 0, "split product, exact slice sums rounded once: %d of %d differ from arf_set_round (ties, "
          "carries, exact)", bad, n);
    fmpz_clear(a);
    arf_clear(want);
    arb_mat_clear(A); arb_mat_clear(B); arb_mat_clear(C);
}

/* the kept slices of a left factor (ssm_arb_mat_approx_mul_split_keep) give the plain product's bits:
 * precisions rising (past what the slices held were cut for), falling, planned ahead, after the factor
 * changed (forgotten), and with C = A (which forgets them itself) */
static void test_split_keep(ssm_arb_mul_ws *ws)
{
    static const slong precs[] = {120, 97, 195, 126, 383, 383, 64, 289, 600};
    const slong n = 12, k = 33, m = 7;
    arb_mat_t A, B, C, D, Q;
    arb_mat_init(A, n, k); arb_mat_init(B, k, m); arb_mat_init(C, n, m); arb_mat_init(D, n, m);
    arb_mat_init(Q, k, k);
    ssm_arb_split *sp = NULL;
    TRY(ssm_arb_split_create(&sp));
    for (slong i = 0; i < n; i++)
        for (slong j = 0; j < k; j++)
            rand_entry(arb_mat_entry(A, i, j), 700, 6);
    int same = 1, cases = 0;
    for (int round = 0; round < 3; round++) {
        if (round == 1)
            ssm_arb_split_plan(sp, 450);
        if (round == 2) { /* the factor changes */
            rand_entry(arb_mat_entry(A, 3, 5), 700, 6);
            ssm_arb_split_forget(sp);
        }
        for (size_t q = 0; q < sizeof precs / sizeof precs[0]; q++) {
            for (slong i = 0; i < k; i++)
                for (slong j = 0; j < m; j++)
                    rand_entry(arb_mat_entry(B, i, j), (int)precs[q] + 40, 6);
            TRY(ssm_arb_mat_approx_mul_split_keep(C, A, sp, B, precs[q], ws));
            TRY(ssm_arb_mat_approx_mul_split(D, A, B, precs[q], ws));
            same &= arb_mat_equal(C, D);
            cases++;
        }
    }
    /* C = A: a square factor, its slices forgotten by the product that overwrites it */
    for (slong i = 0; i < k; i++)
        for (slong j = 0; j < k; j++)
            rand_entry(arb_mat_entry(Q, i, j), 300, 3);
    arb_mat_t Q2, R, E;
    arb_mat_init(Q2, k, k);
    arb_mat_init(R, k, k);
    arb_mat_init(E, k, k);
    arb_mat_set(Q2, Q);
    TRY(ssm_arb_mat_approx_mul_split_keep(Q, Q, sp, Q2, 200, ws)); /* Q ← Q Q2 */
    TRY(ssm_arb_mat_approx_mul_split(R, Q2, Q2, 200, ws));
    same &= arb_mat_equal(Q, R);
    TRY(ssm_arb_mat_approx_mul_split_keep(E, Q, sp, Q2, 150, ws)); /* the new Q's slices */
    TRY(ssm_arb_mat_approx_mul_split(R, Q, Q2, 150, ws));
    same &= arb_mat_equal(E, R);
    CHECK(same, "split product with kept slices of the left factor: the plain product's bits (%d products, "
          "rising, falling and planned precisions, a changed factor, C = A)", cases + 2);
    ssm_arb_split_free(sp);
    arb_mat_clear(A); arb_mat_clear(B); arb_mat_clear(C); arb_mat_clear(D);
    arb_mat_clear(Q); arb_mat_clear(Q2); arb_mat_clear(R); arb_mat_clear(E);
}

/* the tracked left factor (ssm_arb_split_track): products A B_i with B_(i+1) = B_i + a small change
 * (relative 2^-40 … 2^-300, so B_(i+1) agrees with B_i in its leading slices), a change that carries
 * into a leading slice (B + 2^-ε … rounding up through ones), a column's exponent that moves, rising and
 * falling precisions, inner dimensions 24 (one A slice a dgemm: the levels reused) and 40 (two: not
 * reused) — every product the plain product's bits */
static void test_split_track(ssm_arb_mul_ws *ws)
{
    static const slong ks[] = {24, 40};
    static const slong precs[] = {120, 195, 289, 383, 383, 383, 200, 383, 600, 600};
    static const int shrink[] = {0, 40, 90, 180, 290, 300, 60, 0, 250, 1};
    int same = 1, cases = 0;
    for (size_t h = 0; h < 2; h++) {
        slong n = 13, k = ks[h], m = 11;
        arb_mat_t A, B, D, C, E;
        arb_mat_init(A, n, k); arb_mat_init(B, k, m); arb_mat_init(D, k, m); arb_mat_init(C, n, m); arb_mat_init(E, n, m);
        ssm_arb_split *sp = NULL;
        TRY(ssm_arb_split_create(&sp));
        ssm_arb_split_track(sp);
        ssm_arb_split_plan(sp, 700);
        for (slong i = 0; i < n; i++)
            for (slong j = 0; j < k; j++)
                rand_entry(arb_mat_entry(A, i, j), 800, 5);
        for (slong i = 0; i < k; i++)
            for (slong j = 0; j < m; j++)
                rand_entry(arb_mat_entry(B, i, j), 700, 5);
        for (size_t q = 0; q < sizeof precs / sizeof precs[0]; q++) {
            if (q > 0 && shrink[q] > 1) /* B += a change 2^-shrink below each entry */
                for (slong i = 0; i < k; i++)
                    for (slong j = 0; j < m; j++) {
                        rand_entry(arb_mat_entry(D, i, j), 64, 2);
                        arb_mul_2exp_si(arb_mat_entry(D, i, j), arb_mat_entry(D, i, j), -shrink[q]);
                        arb_mul(arb_mat_entry(D, i, j), arb_mat_entry(D, i, j), arb_mat_entry(B, i, j), ARF_PREC_EXACT);
                        arb_add(arb_mat_entry(B, i, j), arb_mat_entry(B, i, j), arb_mat_entry(D, i, j), ARF_PREC_EXACT);
                    }
            if (shrink[q] == 1) { /* a carry through a run of ones into a leading slice, and a column scaled */
                arb_set_si(arb_mat_entry(B, 2, 3), 1);
                arb_mul_2exp_si(arb_mat_entry(B, 2, 3), arb_mat_entry(B, 2, 3), 400);
                arb_sub_ui(arb_mat_entry(B, 2, 3), arb_mat_entry(B, 2, 3), 1, ARF_PREC_EXACT);
                arb_mul_2exp_si(arb_mat_entry(B, 2, 3), arb_mat_entry(B, 2, 3), -400);
            }
            if (q == 7)
                for (slong i = 0; i < k; i++)
                    arb_mul_2exp_si(arb_mat_entry(B, i, 4), arb_mat_entry(B, i, 4), 3);
            TRY(ssm_arb_mat_approx_mul_split_keep(C, A, sp, B, precs[q], ws));
            TRY(ssm_arb_mat_approx_mul_split(E, A, B, precs[q], ws));
            same &= arb_mat_equal(C, E);
            if (shrink[q] == 1) { /* the next product: that entry one unit up (2^0: the carry) */
                arb_add_ui(arb_mat_entry(B, 2, 3), arb_mat_entry(B, 2, 3), 0, ARF_PREC_EXACT);
                arb_one(arb_mat_entry(D, 0, 0));
                arb_mul_2exp_si(arb_mat_entry(D, 0, 0), arb_mat_entry(D, 0, 0), -400);
                arb_add(arb_mat_entry(B, 2, 3), arb_mat_entry(B, 2, 3), arb_mat_entry(D, 0, 0), ARF_PREC_EXACT);
                TRY(ssm_arb_mat_approx_mul_split_keep(C, A, sp, B, precs[q], ws));
                TRY(ssm_arb_mat_approx_mul_split(E, A, B, precs[q], ws));
                same &= arb_mat_equal(C, E);
                cases++;
            }
            cases++;
        }
        ssm_arb_split_free(sp);
        arb_mat_clear(A); arb_mat_clear(B); arb_mat_clear(D); arb_mat_clear(C); arb_mat_clear(E);
    }
    CHECK(same, "split product with a tracked left factor (levels of the last product reused where the right "
          "factor's leading slices agree): the plain product's bits (%d products)", cases);
}

static void test_split_mul(void)
{
    static const slong shapes[][3] = {{1, 1, 1}, {5, 7, 3}, {33, 64, 17}, {64, 64, 64}, {20, 130, 9}};
    static const slong precs[] = {53, 120, 374, 1000};
    ssm_arb_mul_ws *ws = NULL;
    TRY(ssm_arb_mul_ws_create(&ws));
    for (size_t h = 0; h < sizeof shapes / sizeof shapes[0]; h++)
        for (size_t q = 0; q < sizeof precs / sizeof precs[0]; q++) {
            slong n = shapes[h][0], k = shapes[h][1], m = shapes[h][2], prec = precs[q];
            arb_mat_t A, B, C, D;
            arb_mat_init(A, n, k); arb_mat_init(B, k, m); arb_mat_init(C, n, m); arb_mat_init(D, n, m);
            for (slong i = 0; i < n; i++)
                for (slong j = 0; j < k; j++)
                    rand_entry(arb_mat_entry(A, i, j), (int)(prec + 40), h % 2 ? 40 : 4);
            for (slong i = 0; i < k; i++)
                for (slong j = 0; j < m; j++)
                    rand_entry(arb_mat_entry(B, i, j), (int)(prec + 40), 4);
            if (n > 2) /* a zero row */
                for (slong j = 0; j < k; j++)
                    arb_zero(arb_mat_entry(A, 1, j));
            TRY(ssm_arb_mat_approx_mul_split(C, A, B, prec, ws));
            double e = split_error(C, A, B, prec);
            CHECK(e <= 1.0, "split product %ldx%ldx%ld at %ld bits: error %.3g of the bound", (long)n, (long)k,
                  (long)m, (long)prec, e);
            /* exact slice sums: the reference BLAS gives the same bits */
            int was = ssm_fixed_kernel(1);
            TRY(ssm_arb_mat_approx_mul_split(D, A, B, prec, ws));
            ssm_fixed_kernel(was);
            CHECK(arb_mat_equal(C, D), "split product %ldx%ldx%ld at %ld bits: the same bits on the reference BLAS",
                  (long)n, (long)k, (long)m, (long)prec);
            arb_mat_clear(A); arb_mat_clear(B); arb_mat_clear(C); arb_mat_clear(D);
        }
    test_split_far_below(ws);
    test_split_round(ws);
    test_split_keep(ws);
    test_split_track(ws);
    /* aliasing, and a non-finite entry (Arb's product: NaN propagates) */
    arb_mat_t A, B;
    arb_mat_init(A, 3, 3);
    arb_mat_init(B, 3, 3);
    for (slong i = 0; i < 3; i++)
        for (slong j = 0; j < 3; j++)
            arb_set_si(arb_mat_entry(A, i, j), (slong)(3 * i + j) - 4);
    arb_mat_mul(B, A, A, ARF_PREC_EXACT);
    TRY(ssm_arb_mat_approx_mul_split(A, A, A, 64, ws));
    CHECK(arb_mat_equal(A, B), "split product: C = A A in place, exact for small integers");
    arf_nan(arb_midref(arb_mat_entry(A, 0, 0)));
    TRY(ssm_arb_mat_approx_mul_split(B, A, A, 64, ws));
    CHECK(arf_is_nan(arb_midref(arb_mat_entry(B, 0, 0))), "split product: a NaN entry gives NaN");
    arb_mat_clear(A);
    arb_mat_clear(B);
    ssm_arb_mul_ws_free(ws);
}

int main(void)
{
    t_init();
    test_get_d();
    test_split_mul();
    test_kappa_reference();
    test_closed_form();
    test_routes();
    test_newton_real();
    test_certify();
    test_errors();
    return t_finish();
}
