/* hippo/hippo.h — HiPPO matrices (A, B) and their low-rank corrections P.
 *
 * Every entry of every measure is an exact real number of one of three forms
 * (a rational, the square root of a dyadic rational, a rational multiple of
 * π), and is rounded ONCE to the target precision: the double results are
 * the correctly rounded values, and the MPFR results are correctly rounded to
 * the precision of each output entry.  Formulas: doc/reference.md §1 and the
 * official S4 code (hippo.py `transition` and `rank_correction`).
 */
#ifndef SSM_HIPPO_H
#define SSM_HIPPO_H

#include "io/io.h"

/* ---- types ----------------------------------------------------------- */

typedef enum {
    SSM_HIPPO_LEGS,          /* scaled Legendre (rank-1 P)                       */
    SSM_HIPPO_LEGT,          /* translated Legendre, halved (rank-2 P)           */
    SSM_HIPPO_LAGT,          /* translated Laguerre, beta = 1 (rank-1 P)         */
    SSM_HIPPO_GLAGT,         /* generalized Laguerre, alpha = 0, beta = 1/100    */
    SSM_HIPPO_LMU,           /* Legendre Memory Unit                             */
    SSM_HIPPO_FOUT,          /* truncated Fourier with a dummy state (rank-1 P)  */
    SSM_HIPPO_FOURIER2,      /* fout with doubled frequencies (rank-1 P)         */
    SSM_HIPPO_FOUD,          /* diagonal-damped Fourier, no dummy state          */
    SSM_HIPPO_FOURIER_DECAY, /* fout with halved endpoint correction (rank-1 P)  */
    SSM_HIPPO_LEGSD,         /* legs + B Bᵀ/2: -I/2 + skew (no correction)       */
    SSM_HIPPO_COUNT
} ssm_hippo_measure;

/* Largest N accepted: keeps every integer in the exact forms below 2^53. */
#define SSM_HIPPO_MAX_N ((size_t)1 << 24)

/* ---- names and properties -------------------------------------------- */

/* Canonical name ("legs", ..., "fourier-decay"); NULL when out of range. */
const char *ssm_hippo_name(ssm_hippo_measure m);
/* Look up a name (also accepts the S4 aliases "fourier", "fourier_decay",
 * "fourier_diag").  EINVAL, listing the valid names, when unknown. */
SSM_MUST_CHECK ssm_status ssm_hippo_lookup(ssm_hippo_measure *m, const char *name);
/* Number of rows r of the correction P with A + Σ_r P_r P_rᵀ normal
 * (0 when the measure has none: legsd, glagt, lmu, foud). */
size_t ssm_hippo_rank(ssm_hippo_measure m);
/* Whether N must be even (the Fourier measures pair sine/cosine states). */
int ssm_hippo_needs_even(ssm_hippo_measure m);
/* EINVAL with a reason when N is 0, above SSM_HIPPO_MAX_N, or odd where the
 * measure needs it even. */
SSM_MUST_CHECK ssm_status ssm_hippo_check_size(ssm_hippo_measure m, size_t N);

/* ---- construction ---------------------------------------------------- */

/* A (N×N), B (N×1), P (r×N, r = ssm_hippo_rank) in double, each entry the
 * correctly rounded value of its exact formula.  Any of A, B, P may be NULL
 * (skipped); the others must be initialised with exactly these shapes
 * (EINVAL otherwise).  Cost O(N^2) flops plus O(N) MPFR evaluations of π·k
 * for the Fourier measures. */
SSM_MUST_CHECK ssm_status ssm_hippo(ssm_dmat_t A, ssm_dmat_t B, ssm_dmat_t P, ssm_hippo_measure m, size_t N);

/* The same in MPFR: every entry is correctly rounded (round-to-nearest) to
 * its own precision, so precision is chosen by ssm_mpmat_init (any value from
 * MPFR_PREC_MIN up).  `prog` (may be NULL) is advanced once per row of A.
 * Cost O(N^2) MPFR operations at the entries' precision. */
SSM_MUST_CHECK ssm_status ssm_hippo_mp(ssm_mpmat_t A, ssm_mpmat_t B, ssm_mpmat_t P, ssm_hippo_measure m, size_t N,
                        ssm_progress *prog);

/* Set x to m·π correctly rounded to nearest at x's precision (Ziv's loop
 * with mpfr_can_round); m may be negative. */
void ssm_mpfr_mul_pi(mpfr_t x, long m);

#endif /* SSM_HIPPO_H */
