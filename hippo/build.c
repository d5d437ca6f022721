/* hippo/build.c — round exact entries once, to double or to MPFR. */
#include "hippo/hippo_impl.h"

#include <math.h>

void ssm_mpfr_mul_pi(mpfr_t x, long m)
{
    mpfr_prec_t p = mpfr_get_prec(x);
    unsigned long am = m < 0 ? 0UL - (unsigned long)m : (unsigned long)m;
    if (am == 0) {
        mpfr_set_zero(x, 1);
        return;
    }
    /* Ziv's loop.  At working precision w, t = RN(RN_w(π)·|m|) has relative
     * error below 2^(1-w)·(1 + 2^-w) and so absolute error below
     * 2^(EXP(t) - w + 1): mpfr_can_round with err = w - 1 decides. */
    mpfr_t t;
    mpfr_prec_t w = p + 32;
    mpfr_init2(t, w);
    for (;;) {
        mpfr_set_prec(t, w);
        mpfr_const_pi(t, MPFR_RNDN);
        mpfr_mul_ui(t, t, am, MPFR_RNDN);
        if (mpfr_can_round(t, w - 1, MPFR_RNDN, MPFR_RNDZ, p + 1))
            break;
        w += w / 2;
    }
    mpfr_set(x, t, MPFR_RNDN); /* the single rounding to p bits */
    if (m < 0)
        mpfr_neg(x, x, MPFR_RNDN);
    mpfr_clear(t);
}

/* Round e once to x's precision.  tmp: scratch of >= 64 bits precision. */
static void exact_to_mpfr(mpfr_t x, hippo_exact e, mpfr_t tmp)
{
    if (e.sign == 0 || e.num == 0) {
        mpfr_set_zero(x, 1);
        return;
    }
    switch (e.kind) {
    case HIPPO_RATIONAL:
        mpfr_set_ui(tmp, (unsigned long)e.den, MPFR_RNDN);         /* exact: 64-bit tmp */
        mpfr_ui_div(x, (unsigned long)e.num, tmp, MPFR_RNDN);      /* one rounding */
        break;
    case HIPPO_SQRT:
        mpfr_set_ui(tmp, (unsigned long)e.num, MPFR_RNDN);         /* exact */
        mpfr_div_ui(tmp, tmp, (unsigned long)e.den, MPFR_RNDN);    /* exact: den = 2^e */
        mpfr_sqrt(x, tmp, MPFR_RNDN);                              /* one rounding */
        break;
    case HIPPO_PI:
        ssm_mpfr_mul_pi(x, (long)e.num);
        break;
    }
    if (e.sign < 0)
        mpfr_neg(x, x, MPFR_RNDN); /* exact */
}

/* Correctly rounded double of e: num and den are below 2^53 and den is a
 * power of two for square roots, so each case is one IEEE operation on
 * exact operands — except π, which MPFR rounds at 53 bits. */
static double exact_to_double(hippo_exact e)
{
    if (e.sign == 0 || e.num == 0)
        return 0.0;
    double v;
    switch (e.kind) {
    case HIPPO_RATIONAL:
        v = (double)e.num / (double)e.den;
        break;
    case HIPPO_SQRT:
        v = sqrt((double)e.num / (double)e.den);
        break;
    default: {
        mpfr_t x;
        mpfr_init2(x, 53);
        ssm_mpfr_mul_pi(x, (long)e.num);
        v = mpfr_get_d(x, MPFR_RNDN); /* exact: x has 53 bits */
        mpfr_clear(x);
        break;
    }
    }
    return e.sign < 0 ? -v : v;
}

static ssm_status check_shape(size_t rows, size_t cols, size_t r, size_t c, const char *what)
{
    if (rows != r || cols != c)
        return SSM_ERROR(SSM_EINVAL, "%s must be %zu x %zu, got %zu x %zu", what, r, c, rows, cols);
    return SSM_OK;
}

#define CHECK_OUTPUTS(A, B, P, m, N)                                                    \
    do {                                                                                \
        ssm_status s_ = ssm_hippo_check_size(m, N);                                     \
        if (s_ == SSM_OK && A)                                                          \
            s_ = check_shape(A->rows, A->cols, N, N, "A");                              \
        if (s_ == SSM_OK && B)                                                          \
            s_ = check_shape(B->rows, B->cols, N, 1, "B");                              \
        if (s_ == SSM_OK && P)                                                          \
            s_ = check_shape(P->rows, P->cols, ssm_hippo_rank(m), N, "P");              \
        if (s_ != SSM_OK)                                                               \
            return s_;                                                                  \
    } while (0)

ssm_status ssm_hippo(ssm_dmat_t A, ssm_dmat_t B, ssm_dmat_t P, ssm_hippo_measure m, size_t N)
{
    CHECK_OUTPUTS(A, B, P, m, N);
    if (A)
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < N; k++)
                SSM_D(A, n, k) = exact_to_double(hippo_entry(m, N, HIPPO_A, n, k));
    if (B)
        for (size_t n = 0; n < N; n++)
            SSM_D(B, n, 0) = exact_to_double(hippo_entry(m, N, HIPPO_B, n, 0));
    if (P)
        for (size_t r = 0; r < P->rows; r++)
            for (size_t n = 0; n < N; n++)
                SSM_D(P, r, n) = exact_to_double(hippo_entry(m, N, HIPPO_P, n, r));
    return SSM_OK;
}

ssm_status ssm_hippo_mp(ssm_mpmat_t A, ssm_mpmat_t B, ssm_mpmat_t P, ssm_hippo_measure m, size_t N,
                        ssm_progress *prog)
{
    CHECK_OUTPUTS(A, B, P, m, N);
    mpfr_t tmp;
    mpfr_init2(tmp, 64);
    if (A)
        for (size_t n = 0; n < N; n++) {
            for (size_t k = 0; k < N; k++)
                exact_to_mpfr(SSM_MP(A, n, k), hippo_entry(m, N, HIPPO_A, n, k), tmp);
            ssm_progress_update(prog, n + 1);
        }
    if (B)
        for (size_t n = 0; n < N; n++)
            exact_to_mpfr(SSM_MP(B, n, 0), hippo_entry(m, N, HIPPO_B, n, 0), tmp);
    if (P)
        for (size_t r = 0; r < P->rows; r++)
            for (size_t n = 0; n < N; n++)
                exact_to_mpfr(SSM_MP(P, r, n), hippo_entry(m, N, HIPPO_P, n, r), tmp);
    mpfr_clear(tmp);
    return SSM_OK;
}
