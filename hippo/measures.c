/* hippo/measures.c — the exact entries of every HiPPO measure.
 *
 * Each entry is described, not computed: hippo_entry() returns its exact
 * form, and build.c rounds that form once to double or MPFR.  Indices: n is
 * the row, k the column, both from 0.  Sources: doc/reference.md §1 and the
 * official S4 hippo.py (`transition`, `rank_correction`). */
#include "hippo/hippo_impl.h"

#include <string.h>

static const char *const NAMES[SSM_HIPPO_COUNT] = {
    "legs", "legt", "lagt", "glagt", "lmu", "fout", "fourier2", "foud", "fourier-decay", "legsd",
};

const char *ssm_hippo_name(ssm_hippo_measure m)
{
    return (unsigned)m < SSM_HIPPO_COUNT ? NAMES[m] : NULL;
}

ssm_status ssm_hippo_lookup(ssm_hippo_measure *m, const char *name)
{
    for (int i = 0; i < SSM_HIPPO_COUNT; i++)
        if (strcmp(name, NAMES[i]) == 0) {
            *m = (ssm_hippo_measure)i;
            return SSM_OK;
        }
    /* names used by the S4 code base */
    if (strcmp(name, "fourier") == 0) { *m = SSM_HIPPO_FOUT; return SSM_OK; }
    if (strcmp(name, "fourier_decay") == 0) { *m = SSM_HIPPO_FOURIER_DECAY; return SSM_OK; }
    if (strcmp(name, "fourier_diag") == 0) { *m = SSM_HIPPO_FOUD; return SSM_OK; }
    const char *near = ssm_closest_name(name, NAMES, SSM_HIPPO_COUNT, 2);
    if (near)
        return SSM_ERROR(SSM_EINVAL, "unknown measure '%s'; did you mean '%s'?", name, near);
    return SSM_ERROR(SSM_EINVAL,
                     "unknown measure '%s' (one of: legs legt lagt glagt lmu fout fourier2 foud "
                     "fourier-decay legsd)", name);
}

size_t ssm_hippo_rank(ssm_hippo_measure m)
{
    switch (m) {
    case SSM_HIPPO_LEGS: case SSM_HIPPO_LAGT: case SSM_HIPPO_FOUT:
    case SSM_HIPPO_FOURIER2: case SSM_HIPPO_FOURIER_DECAY:
        return 1;
    case SSM_HIPPO_LEGT:
        return 2;
    default:
        return 0;
    }
}

int ssm_hippo_needs_even(ssm_hippo_measure m)
{
    return m == SSM_HIPPO_FOUT || m == SSM_HIPPO_FOURIER2 || m == SSM_HIPPO_FOUD ||
           m == SSM_HIPPO_FOURIER_DECAY;
}

ssm_status ssm_hippo_check_size(ssm_hippo_measure m, size_t N)
{
    if ((unsigned)m >= SSM_HIPPO_COUNT)
        return SSM_ERROR(SSM_EINVAL, "invalid measure %d", (int)m);
    if (N == 0)
        return SSM_ERROR(SSM_EINVAL, "N must be positive");
    if (N > SSM_HIPPO_MAX_N)
        return SSM_ERROR(SSM_EINVAL, "N = %zu exceeds the limit %zu", N, SSM_HIPPO_MAX_N);
    if (ssm_hippo_needs_even(m) && N % 2 != 0)
        return SSM_ERROR(SSM_EINVAL, "measure %s needs an even N (sine/cosine pairs), got %zu",
                         NAMES[m], N);
    return SSM_OK;
}

/* ---- exact forms ------------------------------------------------------ */

static hippo_exact zero(void) { return (hippo_exact){HIPPO_RATIONAL, 0, 0, 1}; }
static hippo_exact rat(int sign, uint64_t num, uint64_t den) { return (hippo_exact){HIPPO_RATIONAL, sign, num, den}; }
/* sign·sqrt(num / 2^e), den = 2^e */
static hippo_exact root(int sign, uint64_t num, uint64_t den) { return (hippo_exact){HIPPO_SQRT, sign, num, den}; }
static hippo_exact pi(int sign, uint64_t mult) { return (hippo_exact){HIPPO_PI, sign, mult, 1}; }

static int parity_sign(uint64_t n) { return (n & 1) ? -1 : 1; }   /* (-1)^n */

/* Fourier measures: squared b (b_0 = 1, b_{2j} = √2, b_odd = 0) */
static uint64_t fourier_bsq(size_t n) { return n == 0 ? 1 : (n % 2 == 0 ? 2 : 0); }

/* The skew frequency part: entry (n, k) is -f·j at (2j, 2j+1) and +f·j at
 * (2j+1, 2j) for j >= 1 (f = 1 for fout/fourier-decay, 2 for fourier2/foud),
 * in units of π.  Returns 1 and fills *e when (n, k) is such a position. */
static int fourier_freq(hippo_exact *e, size_t n, size_t k, uint64_t f)
{
    if (n % 2 == 0 && k == n + 1 && n >= 2) {
        *e = pi(-1, f * (n / 2));
        return 1;
    }
    if (k % 2 == 0 && n == k + 1 && k >= 2) {
        *e = pi(+1, f * (k / 2));
        return 1;
    }
    return 0;
}

hippo_exact hippo_entry(ssm_hippo_measure m, size_t N, hippo_which w, size_t n, size_t k)
{
    (void)N;
    const uint64_t a = 2 * (uint64_t)n + 1, b = 2 * (uint64_t)k + 1;
    hippo_exact e;
    switch (m) {
    case SSM_HIPPO_LEGS:
        /* A_nk = -sqrt((2n+1)(2k+1)) (n > k), -(n+1) (n = k); B_n = sqrt(2n+1); P_n = sqrt(n + 1/2) */
        if (w == HIPPO_A)
            return n > k ? root(-1, a * b, 1) : n == k ? rat(-1, n + 1, 1) : zero();
        return w == HIPPO_B ? root(+1, a, 1) : root(+1, a, 2);
    case SSM_HIPPO_LEGSD:
        /* A_legs + B Bᵀ/2 = -I/2 + skew part ±sqrt((2n+1)(2k+1))/2; B = B_legs/2 */
        if (w == HIPPO_A)
            return n == k ? rat(-1, 1, 2) : root(n > k ? -1 : +1, a * b, 4);
        return root(+1, a, 4);
    case SSM_HIPPO_LEGT:
        /* A_nk = -R_n R_k/2 · (1 if n >= k else (-1)^(n-k)); B_n = R_n/2;
         * P0 = R/√2 on odd n, P1 = R/√2 on even n (k = row of P here) */
        if (w == HIPPO_A)
            return root(n >= k ? -1 : -parity_sign(k - n), a * b, 4);
        if (w == HIPPO_B)
            return root(+1, a, 4);
        /* P: row k of P, column n */
        return ((k == 0) == (n % 2 == 1)) ? root(+1, a, 2) : zero();
    case SSM_HIPPO_LMU:
        /* A_nk = (2n+1)·(-1 if n < k else (-1)^(n-k+1)); B_n = (-1)^n (2n+1) */
        if (w == HIPPO_A)
            return rat(n < k ? -1 : -parity_sign(n - k), a, 1);
        return rat(parity_sign(n), a, 1);
    case SSM_HIPPO_LAGT:
        /* A = I/2 - tril(ones): -1/2 on the diagonal, -1 below; B = 1; P = sqrt(1/2) */
        if (w == HIPPO_A)
            return n == k ? rat(-1, 1, 2) : n > k ? rat(-1, 1, 1) : zero();
        return w == HIPPO_B ? rat(+1, 1, 1) : root(+1, 1, 2);
    case SSM_HIPPO_GLAGT:
        /* alpha = 0 makes L = 1: A = -(1+beta)/2 I - tril(ones, -1), B = beta^(1/2),
         * with beta = 1/100 exactly: A_nn = -101/200, B_n = 1/10 */
        if (w == HIPPO_A)
            return n == k ? rat(-1, 101, 200) : n > k ? rat(-1, 1, 1) : zero();
        return rat(+1, 1, 10);
    case SSM_HIPPO_FOUT:
    case SSM_HIPPO_FOURIER2:
    case SSM_HIPPO_FOURIER_DECAY: {
        /* A = π·J(f) - c·b bᵀ, B = c·b, P = sqrt(c)·b with
         * (f, c) = (1, 1) fout, (2, 2) fourier2, (1, 1/2) fourier-decay */
        uint64_t f = m == SSM_HIPPO_FOURIER2 ? 2 : 1;
        /* c² as num/den: 1, 4, 1/4 */
        uint64_t c2n = m == SSM_HIPPO_FOURIER2 ? 4 : 1, c2d = m == SSM_HIPPO_FOURIER_DECAY ? 4 : 1;
        if (w == HIPPO_A) {
            if (fourier_freq(&e, n, k, f))
                return e; /* never overlaps b bᵀ: one index is odd there */
            uint64_t bb = fourier_bsq(n) * fourier_bsq(k);
            return bb ? root(-1, bb * c2n, c2d) : zero();
        }
        uint64_t bsq = fourier_bsq(n);
        if (w == HIPPO_B)
            return bsq ? root(+1, bsq * c2n, c2d) : zero();
        /* P = sqrt(c) b: squared c·b² = b²·1, b²·2, b²/2 */
        return bsq ? root(+1, bsq * (m == SSM_HIPPO_FOURIER2 ? 2 : 1), m == SSM_HIPPO_FOURIER_DECAY ? 2 : 1)
                   : zero();
    }
    case SSM_HIPPO_FOUD:
        /* A = 2π(-diag(d,1) + diag(d,-1)) - I/2, B = b (no rank correction) */
        if (w == HIPPO_A) {
            if (fourier_freq(&e, n, k, 2))
                return e;
            return n == k ? rat(-1, 1, 2) : zero();
        }
        return fourier_bsq(n) ? root(+1, fourier_bsq(n), 1) : zero();
    default:
        return zero();
    }
}
