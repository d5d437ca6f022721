/* tests/t-hippo.c — HiPPO matrices, each property computed two ways.
 *
 *  1. The library's entries against an independent MPFR evaluation of the
 *     doc/reference.md §1 formulas written out literally here (products of square
 *     roots, π·J − b bᵀ, lnΓ for glagt, ...) at prec + 128 bits, rounded to
 *     prec: equality means correctly rounded (0 ulp, stronger than ≤ 1 ulp).
 *  2. A + P Pᵀ is normal for every measure with P, in MPFR and in double, with
 *     a rounding-error bound; A alone (or legt with half its correction) is not.
 *  3. legs: the closed-form eigenvectors of doc/reference.md §4 satisfy
 *     (A + (j+1)I) v_j = 0 at 512 bits up to rounding; LAPACK sees −(n+1).
 *  4. fout: exact zero eigenvalue (dummy state); N = 8 spectrum check values.
 *  5. doc/reference.md §1 check values; argument errors. */
#include "ssmkit.h"
#include "tests/harness.h"

#include <float.h>
#include <gmp.h>
#include <math.h>
#include <string.h>

/* ---- reference formulas (working precision of `out`) ------------------ */

static void ref_sqrt_ui(mpfr_t x, unsigned long v) { mpfr_sqrt_ui(x, v, MPFR_RNDN); }

/* R_n = sqrt(2n+1) */
static void R(mpfr_t x, size_t n) { ref_sqrt_ui(x, 2 * n + 1); }

/* Fourier b_n: b_0 = 1, b_{2j} = √2, odd 0 */
static void fb(mpfr_t x, size_t n)
{
    if (n == 0)
        mpfr_set_ui(x, 1, MPFR_RNDN);
    else if (n % 2 == 0)
        ref_sqrt_ui(x, 2);
    else
        mpfr_set_zero(x, 1);
}

/* d = interleave(0, 0..N/2-1)[1:] (fout) or interleave(0..N/2-1, 0)[:-1] (foud) */
static unsigned long dvec(size_t i, int foud)
{
    size_t pos = foud ? i : i + 1; /* index into the interleaved array */
    if (foud)
        return pos % 2 == 0 ? pos / 2 : 0;
    return pos % 2 == 1 ? pos / 2 : 0;
}

/* J(d)_{nk} = -d_n if k = n+1, +d_k if n = k+1 */
static long Jd(size_t n, size_t k, int foud)
{
    if (k == n + 1)
        return -(long)dvec(n, foud);
    if (n == k + 1)
        return (long)dvec(k, foud);
    return 0;
}

/* which: 0 = A(n,k), 1 = B(n), 2 = P(row k, state n) */
static void ref_entry(mpfr_t out, ssm_hippo_measure m, int which, size_t n, size_t k)
{
    mpfr_prec_t w = mpfr_get_prec(out);
    mpfr_t a, b, t;
    mpfr_inits2(w, a, b, t, (mpfr_ptr)0);
    mpfr_set_zero(out, 1);
    switch (m) {
    case SSM_HIPPO_LEGS:
    case SSM_HIPPO_LEGSD:
        if (which == 0) {
            if (n > k) {
                R(a, n); R(b, k);
                mpfr_mul(out, a, b, MPFR_RNDN);
                mpfr_neg(out, out, MPFR_RNDN);
            } else if (n == k) {
                mpfr_set_si(out, -(long)(n + 1), MPFR_RNDN);
            }
            if (m == SSM_HIPPO_LEGSD) { /* + B Bᵀ / 2 */
                R(a, n); R(b, k);
                mpfr_mul(t, a, b, MPFR_RNDN);
                mpfr_div_2ui(t, t, 1, MPFR_RNDN);
                mpfr_add(out, out, t, MPFR_RNDN);
            }
        } else if (which == 1) {
            R(out, n);
            if (m == SSM_HIPPO_LEGSD)
                mpfr_div_2ui(out, out, 1, MPFR_RNDN);
        } else {
            mpfr_set_d(t, 0.5, MPFR_RNDN);
            mpfr_add_ui(t, t, n, MPFR_RNDN);
            mpfr_sqrt(out, t, MPFR_RNDN);
        }
        break;
    case SSM_HIPPO_LEGT:
        if (which == 0) {
            R(a, n); R(b, k);
            mpfr_mul(out, a, b, MPFR_RNDN);
            mpfr_mul_d(out, out, -0.5, MPFR_RNDN);
            if (n < k && (k - n) % 2 == 1)
                mpfr_neg(out, out, MPFR_RNDN);
        } else if (which == 1) {
            R(out, n);
            mpfr_mul_d(out, out, 0.5, MPFR_RNDN);
        } else if ((k == 0 && n % 2 == 1) || (k == 1 && n % 2 == 0)) {
            R(a, n);
            ref_sqrt_ui(b, 2);
            mpfr_div(out, a, b, MPFR_RNDN);
        }
        break;
    case SSM_HIPPO_LMU: {
        long sgn = (which == 0) ? (n < k ? -1 : ((n - k + 1) % 2 ? -1 : 1)) : (n % 2 ? -1 : 1);
        mpfr_set_si(out, sgn * (long)(2 * n + 1), MPFR_RNDN);
        break;
    }
    case SSM_HIPPO_LAGT:
        if (which == 0)
            mpfr_set_d(out, (n == k ? 0.5 : 0.0) - (n >= k ? 1.0 : 0.0), MPFR_RNDN);
        else if (which == 1)
            mpfr_set_ui(out, 1, MPFR_RNDN);
        else
            mpfr_sqrt(out, (mpfr_set_d(t, 0.5, MPFR_RNDN), t), MPFR_RNDN);
        break;
    case SSM_HIPPO_GLAGT: {
        /* literal S4 formula with alpha = 0, beta = 1/100:
         * L_n = exp((lnΓ(n+α+1) − lnΓ(n+1))/2), A = L⁻¹ A0 L,
         * B_n = C(α+n, n)/L_n · exp(−lnΓ(1−α)/2) · β^((1−α)/2) */
        mpfr_t beta, Ln, Lk;
        mpfr_inits2(w, beta, Ln, Lk, (mpfr_ptr)0);
        mpfr_set_ui(beta, 1, MPFR_RNDN);
        mpfr_div_ui(beta, beta, 100, MPFR_RNDN);
        for (int z = 0; z < 2; z++) {
            size_t idx = z ? k : n;
            mpfr_ptr L = z ? Lk : Ln;
            mpfr_set_ui(a, idx + 1, MPFR_RNDN);    /* n + α + 1 */
            mpfr_lngamma(a, a, MPFR_RNDN);
            mpfr_set_ui(b, idx + 1, MPFR_RNDN);    /* n + 1 */
            mpfr_lngamma(b, b, MPFR_RNDN);
            mpfr_sub(L, a, b, MPFR_RNDN);
            mpfr_div_2ui(L, L, 1, MPFR_RNDN);
            mpfr_exp(L, L, MPFR_RNDN);
        }
        if (which == 0) {
            if (n == k) {
                mpfr_add_ui(out, beta, 1, MPFR_RNDN);
                mpfr_div_si(out, out, -2, MPFR_RNDN);
            } else if (n > k) {
                mpfr_set_si(out, -1, MPFR_RNDN);
            }
            mpfr_mul(out, out, Lk, MPFR_RNDN);
            mpfr_div(out, out, Ln, MPFR_RNDN);
        } else {
            mpfr_set_ui(out, 1, MPFR_RNDN);           /* C(n, n) */
            mpfr_div(out, out, Ln, MPFR_RNDN);
            mpfr_set_ui(t, 1, MPFR_RNDN);
            mpfr_lngamma(t, t, MPFR_RNDN);            /* lnΓ(1 − α) = 0 */
            mpfr_div_si(t, t, -2, MPFR_RNDN);
            mpfr_exp(t, t, MPFR_RNDN);
            mpfr_mul(out, out, t, MPFR_RNDN);
            mpfr_set_d(t, 0.5, MPFR_RNDN);            /* (1 − α)/2 */
            mpfr_pow(t, beta, t, MPFR_RNDN);
            mpfr_mul(out, out, t, MPFR_RNDN);
        }
        mpfr_clears(beta, Ln, Lk, (mpfr_ptr)0);
        break;
    }
    case SSM_HIPPO_FOUT:
    case SSM_HIPPO_FOURIER2:
    case SSM_HIPPO_FOURIER_DECAY: {
        /* fout: πJ − b bᵀ, b, b; fourier2: π J(2d) − 2 b bᵀ, 2b, √2 b;
         * fourier-decay: πJ − b bᵀ/2, b/2, b/√2 */
        double cA = m == SSM_HIPPO_FOURIER2 ? 2.0 : m == SSM_HIPPO_FOURIER_DECAY ? 0.5 : 1.0;
        long f = m == SSM_HIPPO_FOURIER2 ? 2 : 1;
        if (which == 0) {
            mpfr_const_pi(out, MPFR_RNDN);
            mpfr_mul_si(out, out, f * Jd(n, k, 0), MPFR_RNDN);
            fb(a, n); fb(b, k);
            mpfr_mul(t, a, b, MPFR_RNDN);
            mpfr_mul_d(t, t, cA, MPFR_RNDN);
            mpfr_sub(out, out, t, MPFR_RNDN);
        } else if (which == 1) {
            fb(out, n);
            mpfr_mul_d(out, out, cA, MPFR_RNDN);
        } else {
            fb(out, n);
            ref_sqrt_ui(t, 2);
            if (m == SSM_HIPPO_FOURIER2)
                mpfr_mul(out, out, t, MPFR_RNDN);
            else if (m == SSM_HIPPO_FOURIER_DECAY)
                mpfr_div(out, out, t, MPFR_RNDN);
        }
        break;
    }
    case SSM_HIPPO_FOUD:
        if (which == 0) {
            mpfr_const_pi(out, MPFR_RNDN);
            mpfr_mul_si(out, out, 2 * Jd(n, k, 1), MPFR_RNDN);
            if (n == k)
                mpfr_sub_d(out, out, 0.5, MPFR_RNDN);
        } else {
            fb(out, n);
        }
        break;
    default:
        break;
    }
    mpfr_clears(a, b, t, (mpfr_ptr)0);
}

static size_t even_up(ssm_hippo_measure m, size_t N)
{
    return ssm_hippo_needs_even(m) && N % 2 ? N + 1 : N;
}

/* ---- 1. correct rounding, double and MPFR ------------------------------ */

static long ties_seen;

/* Is `got` (precision p) the round-to-nearest-even of the exact value that
 * `ref` approximates to within a few ulps at its much higher precision?  When
 * ref is too close to a p-bit midpoint to decide (the exact value is then a
 * midpoint: e.g. sqrt(25/4) = 2.5 at 2 bits), require ties-to-even: got is a
 * neighbour of ref and its significand is even. */
static int rounds_like(mpfr_srcptr got, mpfr_srcptr ref, mpfr_prec_t p, long *ties)
{
    if (mpfr_zero_p(ref))
        return mpfr_zero_p(got);
    mpfr_prec_t w = mpfr_get_prec(ref);
    mpfr_t x;
    mpfr_init2(x, p);
    int ok;
    mpfr_t d, h;
    mpfr_inits2(w + 8, d, h, (mpfr_ptr)0);
    mpfr_set(x, ref, MPFR_RNDN);
    mpfr_sub(d, x, ref, MPFR_RNDN);
    mpfr_abs(d, d, MPFR_RNDN);
    mpfr_set_ui_2exp(h, 1, mpfr_get_exp(ref) - w + 8, MPFR_RNDN); /* ref's error bound */
    if (mpfr_cmp(d, h) <= 0 || mpfr_can_round(ref, w - 8, MPFR_RNDN, MPFR_RNDZ, p + 1)) {
        /* the exact value is representable at p bits (ref sits on it), or the
         * rounding direction is decided */
        ok = mpfr_equal_p(x, got);
    } else {
        /* within ref's error of a p-bit midpoint: the exact value is that midpoint */
        mpfr_sub(d, got, ref, MPFR_RNDN);
        mpfr_abs(d, d, MPFR_RNDN);
        mpfr_set_ui_2exp(h, 1, mpfr_get_exp(got) - p - 1, MPFR_RNDN); /* half an ulp of got */
        mpfr_mul_d(h, h, 1.0 + 0x1p-40, MPFR_RNDN);
        mpz_t sig;
        mpz_init(sig);
        mpfr_get_z_2exp(sig, got);
        ok = mpfr_cmp(d, h) <= 0 && mpz_even_p(sig);
        mpz_clear(sig);
        (*ties)++;
    }
    mpfr_clears(d, h, (mpfr_ptr)0);
    mpfr_clear(x);
    return ok;
}

static void test_rounding(void)
{
    static const size_t sizes[] = {1, 2, 3, 4, 5, 8, 9, 16, 33, 64};
    static const mpfr_prec_t precs[] = {2, 3, 5, 11, 24, 53, 64, 113, 256, 1000};
    for (int mi = 0; mi < SSM_HIPPO_COUNT; mi++) {
        ssm_hippo_measure m = (ssm_hippo_measure)mi;
        size_t r = ssm_hippo_rank(m);
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
            size_t N = even_up(m, sizes[si]);
            ssm_dmat_t A, B, P;
            TRY(ssm_dmat_init(A, N, N));
            TRY(ssm_dmat_init(B, N, 1));
            TRY(ssm_dmat_init(P, r, N));
            CHECK(ssm_hippo(A, B, P, m, N) == SSM_OK, "%s N=%zu", ssm_hippo_name(m), N);
            /* double vs the reference at 256 + 128 bits */
            long bad = 0, worst_ulp = 0;
            mpfr_t ref, x;
            mpfr_init2(ref, 384);
            mpfr_init2(x, 53);
            for (int which = 0; which < 3; which++) {
                size_t rows = which == 0 ? N : which == 1 ? N : r;
                size_t cols = which == 0 ? N : which == 1 ? 1 : N;
                for (size_t i = 0; i < rows; i++)
                    for (size_t j = 0; j < cols; j++) {
                        double got;
                        if (which == 0) { ref_entry(ref, m, 0, i, j); got = SSM_D(A, i, j); }
                        else if (which == 1) { ref_entry(ref, m, 1, i, 0); got = SSM_D(B, i, 0); }
                        else { ref_entry(ref, m, 2, j, i); got = SSM_D(P, i, j); }
                        double want = mpfr_get_d(ref, MPFR_RNDN);
                        if (got != want) {
                            bad++;
                            long ulp = (long)fabs((got - want) / (nextafter(fabs(want), INFINITY) - fabs(want)));
                            if (ulp > worst_ulp)
                                worst_ulp = ulp;
                        }
                    }
            }
            long ties = 0;
            CHECK(bad == 0, "%s N=%zu double: %ld entries not correctly rounded (worst %ld ulp)",
                  ssm_hippo_name(m), N, bad, worst_ulp);
            /* MPFR at every precision vs the reference at prec + 128 bits */
            for (size_t pi = 0; pi < sizeof precs / sizeof *precs; pi++) {
                mpfr_prec_t p = precs[pi];
                if (N > 16 && p > 256)
                    continue; /* keep the suite fast: large N at moderate precision only */
                ssm_mpmat_t Am, Bm, Pm;
                TRY(ssm_mpmat_init(Am, N, N, p));
                TRY(ssm_mpmat_init(Bm, N, 1, p));
                TRY(ssm_mpmat_init(Pm, r, N, p));
                CHECK(ssm_hippo_mp(Am, Bm, Pm, m, N, NULL) == SSM_OK, "mp");
                mpfr_set_prec(ref, p + 128);
                mpfr_set_prec(x, p);
                long wrong = 0;
                for (int which = 0; which < 3; which++) {
                    size_t rows = which == 0 ? N : which == 1 ? N : r;
                    size_t cols = which == 0 ? N : which == 1 ? 1 : N;
                    for (size_t i = 0; i < rows; i++)
                        for (size_t j = 0; j < cols; j++) {
                            mpfr_srcptr got;
                            if (which == 0) { ref_entry(ref, m, 0, i, j); got = SSM_MP(Am, i, j); }
                            else if (which == 1) { ref_entry(ref, m, 1, i, 0); got = SSM_MP(Bm, i, 0); }
                            else { ref_entry(ref, m, 2, j, i); got = SSM_MP(Pm, i, j); }
                            if (!rounds_like(got, ref, p, &ties)) {
                                wrong++;
                                if (getenv("T_DEBUG"))
                                    mpfr_fprintf(stderr, "  %s which=%d (%zu,%zu) p=%ld got %Rg ref %.40Rg\n",
                                                 ssm_hippo_name(m), which, i, j, (long)p, got, ref);
                            }
                        }
                }
                CHECK(wrong == 0, "%s N=%zu prec=%ld: %ld entries not correctly rounded",
                      ssm_hippo_name(m), N, (long)p, wrong);
                /* and at 53 bits MPFR and double agree bit for bit */
                if (p == 53) {
                    ssm_dmat_t D;
                    TRY(ssm_dmat_init(D, N, N));
                    TRY(ssm_mpmat_get_dmat(D, Am));
                    CHECK(memcmp(D->data, A->data, N * N * sizeof(double)) == 0,
                          "%s N=%zu: MPFR at 53 bits differs from double", ssm_hippo_name(m), N);
                    ssm_dmat_clear(D);
                }
                ssm_mpmat_clear(Am);
                ssm_mpmat_clear(Bm);
                ssm_mpmat_clear(Pm);
            }
            ties_seen += ties;
            mpfr_clear(ref);
            mpfr_clear(x);
            ssm_dmat_clear(A);
            ssm_dmat_clear(B);
            ssm_dmat_clear(P);
        }
    }
}

/* ---- 2. normality of A + P Pᵀ ----------------------------------------- */

/* ‖S Sᵀ − Sᵀ S‖_F in MPFR at precision w; S = A + Σ_{r in mask} P_r P_rᵀ.
 * Also returns M = ‖A‖_F + Σ‖P_r‖², which bounds ‖S‖_F and the size of
 * every intermediate. */
static void mp_defect(mpfr_t defect, mpfr_t M, const ssm_mpmat_t A, const ssm_mpmat_t P, unsigned mask)
{
    size_t N = A->rows;
    mpfr_prec_t w = mpfr_get_prec(defect);
    ssm_mpmat_t S;
    TRY(ssm_mpmat_init(S, N, N, w));
    mpfr_t t, u, acc;
    mpfr_inits2(w, t, u, acc, (mpfr_ptr)0);
    mpfr_set_zero(M, 1);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            mpfr_set(SSM_MP(S, i, j), SSM_MP(A, i, j), MPFR_RNDN);
            mpfr_fma(M, SSM_MP(A, i, j), SSM_MP(A, i, j), M, MPFR_RNDN);
            for (size_t r = 0; r < P->rows; r++)
                if (mask >> r & 1)
                    mpfr_fma(SSM_MP(S, i, j), SSM_MP(P, r, i), SSM_MP(P, r, j), SSM_MP(S, i, j), MPFR_RNDN);
        }
    mpfr_sqrt(M, M, MPFR_RNDN);
    for (size_t r = 0; r < P->rows; r++)
        if (mask >> r & 1)
            for (size_t i = 0; i < N; i++)
                mpfr_fma(M, SSM_MP(P, r, i), SSM_MP(P, r, i), M, MPFR_RNDN);
    mpfr_set_zero(defect, 1);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            mpfr_set_zero(acc, 1);
            for (size_t k = 0; k < N; k++) {
                mpfr_fma(acc, SSM_MP(S, i, k), SSM_MP(S, j, k), acc, MPFR_RNDN);   /* (S Sᵀ)_ij */
                mpfr_mul(u, SSM_MP(S, k, i), SSM_MP(S, k, j), MPFR_RNDN);          /* (Sᵀ S)_ij */
                mpfr_sub(acc, acc, u, MPFR_RNDN);
            }
            mpfr_fma(defect, acc, acc, defect, MPFR_RNDN);
        }
    mpfr_sqrt(defect, defect, MPFR_RNDN);
    mpfr_clears(t, u, acc, (mpfr_ptr)0);
    ssm_mpmat_clear(S);
}

static void test_normality(void)
{
    const size_t N = 24;
    const mpfr_prec_t p = 256;
    for (int mi = 0; mi < SSM_HIPPO_COUNT; mi++) {
        ssm_hippo_measure m = (ssm_hippo_measure)mi;
        size_t r = ssm_hippo_rank(m);
        if (r == 0)
            continue;
        ssm_mpmat_t A, B, P;
        TRY(ssm_mpmat_init(A, N, N, p));
        TRY(ssm_mpmat_init(B, N, 1, p));
        TRY(ssm_mpmat_init(P, r, N, p));
        TRY(ssm_hippo_mp(A, B, P, m, N, NULL));
        mpfr_t d, M, dA, MA;
        mpfr_inits2(p, d, M, dA, MA, (mpfr_ptr)0);
        mp_defect(d, M, A, P, (1u << r) - 1);
        mp_defect(dA, MA, A, P, 0);
        /* Tolerance: every entry of A and P carries one rounding (u = 2^-p), S
         * one more per rank term, and each entry of S Sᵀ − Sᵀ S is a sum of 2N
         * rounded products; standard bounds give |error| <= (2N + 4) u M² per
         * entry, so ‖·‖_F <= N (2N + 4) u M².  The constant 2 is slack. */
        double Md = mpfr_get_d(M, MPFR_RNDN);
        double tol = 2.0 * (double)N * (2.0 * N + 4.0) * ldexp(1.0, -(int)p) * Md * Md;
        double def = mpfr_get_d(d, MPFR_RNDN), defA = mpfr_get_d(dA, MPFR_RNDN);
        CHECK(def <= tol, "%s: ||SS'-S'S|| = %g > tol %g (MPFR %ld bits)", ssm_hippo_name(m), def, tol, (long)p);
        CHECK(defA > 1e6 * tol, "%s: A alone should be far from normal (%g vs tol %g)", ssm_hippo_name(m), defA, tol);
        if (m == SSM_HIPPO_LEGT) {
            /* one half of the rank-2 correction is not enough */
            mp_defect(dA, MA, A, P, 1);
            CHECK(mpfr_get_d(dA, MPFR_RNDN) > 1e6 * tol, "legt: A + P0 P0ᵀ should not be normal");
            mp_defect(dA, MA, A, P, 2);
            CHECK(mpfr_get_d(dA, MPFR_RNDN) > 1e6 * tol, "legt: A + P1 P1ᵀ should not be normal");
        }
        /* the same in double through BLAS: tolerance with u = 2^-53 */
        ssm_dmat_t Ad, Pd, S, X;
        TRY(ssm_dmat_init(Ad, N, N));
        TRY(ssm_dmat_init(Pd, r, N));
        TRY(ssm_dmat_init(S, N, N));
        TRY(ssm_dmat_init(X, N, N));
        TRY(ssm_hippo(Ad, NULL, Pd, m, N));
        TRY(ssm_dmat_copy(S, Ad));
        TRY(ssm_dmat_gemm(S, 1.0, Pd, 1, Pd, 0, 1.0));
        TRY(ssm_dmat_gemm(X, 1.0, S, 0, S, 1, 0.0));
        TRY(ssm_dmat_gemm(X, -1.0, S, 1, S, 0, 1.0));
        double tol_d = 2.0 * (double)N * (2.0 * N + 4.0) * 0x1p-53 * Md * Md;
        CHECK(ssm_dmat_norm_fro(X) <= tol_d, "%s: double defect %g > %g", ssm_hippo_name(m),
              ssm_dmat_norm_fro(X), tol_d);
        ssm_dmat_clear(Ad); ssm_dmat_clear(Pd); ssm_dmat_clear(S); ssm_dmat_clear(X);
        mpfr_clears(d, M, dA, MA, (mpfr_ptr)0);
        ssm_mpmat_clear(A);
        ssm_mpmat_clear(B);
        ssm_mpmat_clear(P);
    }
}

/* ---- 3. legs eigenpairs ------------------------------------------------ */

static void test_legs_eigenvectors(void)
{
    static const size_t sizes[] = {8, 16, 32, 64};
    const mpfr_prec_t p = 512;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t N = sizes[si];
        ssm_mpmat_t A;
        TRY(ssm_mpmat_init(A, N, N, p));
        TRY(ssm_hippo_mp(A, NULL, NULL, SSM_HIPPO_LEGS, N, NULL));
        int diag_ok = 1;
        for (size_t i = 0; i < N; i++)
            diag_ok &= mpfr_cmp_si(SSM_MP(A, i, i), -(long)(i + 1)) == 0;
        CHECK(diag_ok, "legs N=%zu: diagonal is not exactly -(n+1)", N);
        /* v_j(i) = sqrt(2i+1) (-1)^(i-j) C(i+j, i-j), i >= j */
        mpfr_t *v = malloc(N * sizeof *v);
        for (size_t i = 0; i < N; i++)
            mpfr_init2(v[i], p);
        mpz_t c;
        mpz_init(c);
        mpfr_t res, mag, t;
        mpfr_inits2(p, res, mag, t, (mpfr_ptr)0);
        double worst = 0.0, wrong_lambda_min = INFINITY;
        for (size_t j = 0; j < N; j++) {
            for (size_t i = 0; i < N; i++) {
                if (i < j) {
                    mpfr_set_zero(v[i], 1);
                    continue;
                }
                mpz_bin_uiui(c, i + j, i - j);
                mpfr_sqrt_ui(v[i], 2 * i + 1, MPFR_RNDN);
                mpfr_mul_z(v[i], v[i], c, MPFR_RNDN);
                if ((i - j) % 2)
                    mpfr_neg(v[i], v[i], MPFR_RNDN);
            }
            for (int shift = 0; shift < 2; shift++) {
                /* shift 0: (A + (j+1) I) v_j must vanish; shift 1: the wrong
                 * eigenvalue -(j+2) must leave a residual of size |v| */
                long lam = (long)(j + 1 + (size_t)shift);
                for (size_t i = 0; i < N; i++) {
                    mpfr_mul_si(res, v[i], lam, MPFR_RNDN);
                    mpfr_abs(mag, res, MPFR_RNDN);
                    for (size_t k = 0; k <= i; k++) {
                        mpfr_fma(res, SSM_MP(A, i, k), v[k], res, MPFR_RNDN);
                        mpfr_mul(t, SSM_MP(A, i, k), v[k], MPFR_RNDN);
                        mpfr_abs(t, t, MPFR_RNDN);
                        mpfr_add(mag, mag, t, MPFR_RNDN);
                    }
                    if (mpfr_zero_p(mag))
                        continue;
                    /* relative residual |r_i| / Σ|A_ik v_k|: rounding bound (N+2)·2^-p */
                    mpfr_div(t, res, mag, MPFR_RNDN);
                    double rel = fabs(mpfr_get_d(t, MPFR_RNDN));
                    if (shift == 0 && rel > worst)
                        worst = rel;
                    if (shift == 1 && i == j && rel < wrong_lambda_min)
                        wrong_lambda_min = rel;
                }
            }
        }
        double bound = 4.0 * (double)(N + 2) * ldexp(1.0, -(int)p);
        CHECK(worst <= bound, "legs N=%zu: eigenvector residual %g > %g", N, worst, bound);
        CHECK(wrong_lambda_min > 1e-3, "legs N=%zu: residual test cannot tell a wrong eigenvalue", N);
        mpfr_clears(res, mag, t, (mpfr_ptr)0);
        mpz_clear(c);
        for (size_t i = 0; i < N; i++)
            mpfr_clear(v[i]);
        free(v);
        ssm_mpmat_clear(A);

        /* LAPACK on the double matrix: triangular, so balancing isolates every
         * eigenvalue and they come out as the exact integers −(n+1) */
        ssm_dmat_t Ad;
        TRY(ssm_dmat_init(Ad, N, N));
        TRY(ssm_hippo(Ad, NULL, NULL, SSM_HIPPO_LEGS, N));
        double complex *w = malloc(N * sizeof *w);
        CHECK(ssm_dmat_eigvals(w, Ad) == SSM_OK, "dgeev");
        int found = 0;
        for (size_t n = 0; n < N; n++)
            for (size_t i = 0; i < N; i++)
                if (fabs(creal(w[i]) + (double)(n + 1)) <= 4.0 * N * DBL_EPSILON * (n + 1) && cimag(w[i]) == 0.0) {
                    found++;
                    break;
                }
        CHECK(found == (int)N, "legs N=%zu: %d of %zu eigenvalues -(n+1) found by dgeev", N, found, N);
        free(w);
        ssm_dmat_clear(Ad);
    }
}

/* ---- 4. fout zero eigenvalue and spectrum -------------------------------- */

static void test_fourier_spectrum(void)
{
    const ssm_hippo_measure dummy[] = {SSM_HIPPO_FOUT, SSM_HIPPO_FOURIER2, SSM_HIPPO_FOURIER_DECAY};
    for (int d = 0; d < 3; d++) {
        size_t N = 16;
        ssm_mpmat_t A;
        TRY(ssm_mpmat_init(A, N, N, 128));
        TRY(ssm_hippo_mp(A, NULL, NULL, dummy[d], N, NULL));
        int zero = 1; /* state 1 is a dummy: row and column exactly zero → A e_1 = 0 */
        for (size_t k = 0; k < N; k++)
            zero &= mpfr_zero_p(SSM_MP(A, 1, k)) && mpfr_zero_p(SSM_MP(A, k, 1));
        CHECK(zero, "%s: row/column 1 not exactly zero", ssm_hippo_name(dummy[d]));
        ssm_mpmat_clear(A);
    }
    /* N = 8 spectrum of fout (doc/reference.md §1), 5 decimals */
    const double complex want[] = {-1.57315, -1.25354 + 2.62457 * I, -1.25354 - 2.62457 * I,
                                   -0.87778 + 5.67666 * I, -0.87778 - 5.67666 * I,
                                   -0.58211 + 8.85888 * I, -0.58211 - 8.85888 * I, 0.0};
    ssm_dmat_t A;
    TRY(ssm_dmat_init(A, 8, 8));
    TRY(ssm_hippo(A, NULL, NULL, SSM_HIPPO_FOUT, 8));
    double complex w[8];
    CHECK(ssm_dmat_eigvals(w, A) == SSM_OK, "dgeev fout");
    int used[8] = {0}, matched = 0;
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            if (!used[j] && cabs(w[j] - want[i]) <= 1e-5 + 1e-5 * cabs(want[i])) {
                used[j] = 1;
                matched++;
                break;
            }
    CHECK(matched == 8, "fout N=8: %d of 8 check eigenvalues matched", matched);
    double minabs = INFINITY;
    for (int j = 0; j < 8; j++)
        minabs = fmin(minabs, cabs(w[j]));
    /* backward-stable eig: |λ| <= c n ε ‖A‖_F for an exact zero, c = 10 */
    CHECK(minabs <= 10 * 8 * DBL_EPSILON * ssm_dmat_norm_fro(A), "fout: smallest |eig| %g", minabs);
    ssm_dmat_clear(A);
}

/* ---- 5. check values and errors ------------------------------------------ */

static void test_check_values(void)
{
    const double A4[4][4] = {{-1, 0, 0, 0},
                             {-1.7320508076, -2, 0, 0},
                             {-2.2360679775, -3.8729833462, -3, 0},
                             {-2.6457513111, -4.582575695, -5.9160797831, -4}};
    const double B4[4] = {1, 1.7320508076, 2.2360679775, 2.6457513111};
    ssm_dmat_t A, B, P;
    TRY(ssm_dmat_init(A, 4, 4));
    TRY(ssm_dmat_init(B, 4, 1));
    TRY(ssm_dmat_init(P, 1, 4));
    TRY(ssm_hippo(A, B, P, SSM_HIPPO_LEGS, 4));
    double err = 0;
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++)
            err = fmax(err, fabs(SSM_D(A, i, j) - A4[i][j]));
        err = fmax(err, fabs(SSM_D(B, i, 0) - B4[i]));
        /* B = √2 P */
        err = fmax(err, fabs(SSM_D(B, i, 0) - sqrt(2.0) * SSM_D(P, 0, i)) / 4);
    }
    CHECK(err <= 6e-11, "legs N=4 check values: max error %g (10 decimals given)", err);
    ssm_dmat_clear(A);
    ssm_dmat_clear(B);
    ssm_dmat_clear(P);

    /* glagt: beta = 1/100 → A_nn = −0.505, B = 0.1, correctly rounded */
    TRY(ssm_dmat_init(A, 3, 3));
    TRY(ssm_dmat_init(B, 3, 1));
    TRY(ssm_hippo(A, B, NULL, SSM_HIPPO_GLAGT, 3));
    CHECK(SSM_D(A, 2, 2) == -0.505 && SSM_D(A, 2, 0) == -1.0 && SSM_D(A, 0, 2) == 0.0, "glagt A");
    CHECK(SSM_D(B, 1, 0) == 0.1, "glagt B = %.17g", SSM_D(B, 1, 0));
    ssm_dmat_clear(A);
    ssm_dmat_clear(B);

    /* 2-bit precision: sqrt(3) = 1.73... rounds to 1.5 (candidates 1, 1.5, 2) */
    ssm_mpmat_t Am;
    TRY(ssm_mpmat_init(Am, 2, 2, 2));
    TRY(ssm_hippo_mp(Am, NULL, NULL, SSM_HIPPO_LEGS, 2, NULL));
    CHECK(mpfr_cmp_d(SSM_MP(Am, 1, 0), -1.5) == 0, "legs at 2 bits: A[1,0] = %g", mpfr_get_d(SSM_MP(Am, 1, 0), MPFR_RNDN));
    ssm_mpmat_clear(Am);

    /* π multiples: 3π to 200 bits equals the reference π·3 at 400 bits rounded */
    mpfr_t x, y;
    mpfr_init2(x, 200);
    mpfr_init2(y, 400);
    ssm_mpfr_mul_pi(x, -3);
    mpfr_const_pi(y, MPFR_RNDN);
    mpfr_mul_si(y, y, -3, MPFR_RNDN);
    mpfr_prec_round(y, 200, MPFR_RNDN);
    CHECK(mpfr_equal_p(x, y), "ssm_mpfr_mul_pi(-3)");
    mpfr_clears(x, y, (mpfr_ptr)0);
}

static void test_errors(void)
{
    ssm_hippo_measure m;
    CHECK(ssm_hippo_lookup(&m, "legs") == SSM_OK && m == SSM_HIPPO_LEGS, "lookup legs");
    CHECK(ssm_hippo_lookup(&m, "fourier_decay") == SSM_OK && m == SSM_HIPPO_FOURIER_DECAY, "alias");
    CHECK(ssm_hippo_lookup(&m, "legendre") == SSM_EINVAL && strstr(ssm_error_message(), "legendre"),
          "unknown measure named in the message");
    for (int i = 0; i < SSM_HIPPO_COUNT; i++) {
        CHECK(ssm_hippo_lookup(&m, ssm_hippo_name((ssm_hippo_measure)i)) == SSM_OK && m == (ssm_hippo_measure)i,
              "name round trip %d", i);
    }
    CHECK(ssm_hippo_check_size(SSM_HIPPO_LEGS, 0) == SSM_EINVAL, "N = 0");
    CHECK(ssm_hippo_check_size(SSM_HIPPO_FOUT, 7) == SSM_EINVAL && strstr(ssm_error_message(), "even"), "odd N");
    CHECK(ssm_hippo_check_size(SSM_HIPPO_LEGS, 7) == SSM_OK, "odd N legs");
    CHECK(ssm_hippo_check_size(SSM_HIPPO_LEGS, SSM_HIPPO_MAX_N + 1) == SSM_EINVAL, "N too large");
    ssm_dmat_t A;
    TRY(ssm_dmat_init(A, 3, 4));
    CHECK(ssm_hippo(A, NULL, NULL, SSM_HIPPO_LEGS, 3) == SSM_EINVAL, "shape mismatch");
    ssm_dmat_clear(A);
    TRY(ssm_dmat_init(A, 2, 3));
    CHECK(ssm_hippo(NULL, NULL, A, SSM_HIPPO_LEGT, 3) == SSM_OK, "legt P is 2 x N");
    CHECK(ssm_hippo(NULL, NULL, A, SSM_HIPPO_LEGS, 3) == SSM_EINVAL, "legs P is 1 x N");
    ssm_dmat_clear(A);
}

int main(void)
{
    t_init();
    test_rounding();
    /* the tie rule must actually have been exercised (legt/legsd at low precision) */
    CHECK(ties_seen > 0, "no exact midpoints met: the ties-to-even branch is untested");
    printf("correct-rounding tests met %ld exact midpoints (ties-to-even checked)\n", ties_seen);
    test_normality();
    test_legs_eigenvectors();
    test_fourier_spectrum();
    test_check_values();
    test_errors();
    return t_finish();
}
