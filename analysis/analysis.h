/* analysis/analysis.h — measuring systems: transfer functions G(s) = C (sI − A)⁻¹ B + D
 * by three algorithms (dense Hessenberg, diagonal, DPLR/Woodbury), and
 * (later) pseudospectra and distances.  REFERENCE.md §2 and §7. */
#ifndef SSM_ANALYSIS_H
#define SSM_ANALYSIS_H

#include "core/core.h"
#include "diag/diag.h"

/* ---- dense systems: Hessenberg method (Laub) --------------------------- */

/* Plan: A = Q H Q* (zgehrd/zunghr) once, b̂ = Q* b, ĉ = c Q; then each G(s) is
 * one O(n²) Hessenberg solve of (sI − H) x = b̂.  A is n×n, b n×1, c 1×n (complex
 * or real via ssm_zmat_set_dmat).  NULL on failure (*status set). */
typedef struct ssm_tf_plan ssm_tf_plan;
ssm_tf_plan *ssm_tf_plan_create(const ssm_zmat_t A, const ssm_zmat_t b, const ssm_zmat_t c, double complex D,
                                ssm_status *status);
/* G[k] = G(s[k]), k < count.  A const plan; scratch is per call (O(n²)).
 * ELOSS when sI − A is exactly singular at some s. */
ssm_status ssm_tf_eval(double complex *G, const ssm_tf_plan *p, const double complex *s, size_t count);
void ssm_tf_plan_destroy(ssm_tf_plan *p);

/* Reference: G(s) by a dense LU solve of (sI − A) x = b, O(n³) per point. */
ssm_status ssm_tf_dense_solve(double complex *G, const ssm_zmat_t A, const ssm_zmat_t b, const ssm_zmat_t c,
                              double complex D, const double complex *s, size_t count);

/* ---- diagonal and DPLR systems, O(M r) per point ------------------------ */

/* G(s) = D + Σ_m c_m b_m/(s − λ_m), plus the conjugate modes
 * conj(c_m b_m)/(s − conj λ_m) when conj_sym. */
void ssm_tf_diag(double complex *G, const double complex *lambda, const double complex *b,
                 const double complex *c, size_t M, int conj_sym, double complex D, const double complex *s,
                 size_t count);

/* DPLR: G(s) = c̃ (sI − Λ + P̃ P̃*)⁻¹ b̃ + D by the Woodbury identity
 *   G = G_diag − (c̃ R P̃)(I + P̃* R P̃)⁻¹(P̃* R b̃),  R = (sI − Λ)⁻¹,
 * P̃ given as r rows of M (Pt, r <= 8); with conj_sym the full system has the
 * conjugate modes and conjugate P̃ rows.  ELOSS when I + P̃*RP̃ is singular. */
ssm_status ssm_tf_dplr(double complex *G, const double complex *lambda, const double complex *b,
                       const double complex *c, const ssm_zmat_t Pt, size_t M, int conj_sym, double complex D,
                       const double complex *s, size_t count);

/* count frequencies lo..hi (linear or log-spaced), as s = iω. */
ssm_status ssm_tf_omega_grid(double complex *s, double *omega, double lo, double hi, size_t count, int log_spaced);

/* ===================================================================== */
/* Initialisation files (ssmkit-init/1, DESIGN.md)                        */
/* ===================================================================== */

typedef enum {
    SSM_INIT_S4_DPLR, SSM_INIT_S4D_LEGS, SSM_INIT_S4D_LIN, SSM_INIT_S4D_INV, SSM_INIT_S4D_REAL,
    SSM_INIT_S5_LEGS, SSM_INIT_PTD, SSM_INIT_COUNT
} ssm_init_method;

typedef enum { SSM_C_ONES, SSM_C_RANDOM, SSM_C_LEGENDRE } ssm_c_kind;

typedef struct {
    size_t N;             /* state size (even)                                        */
    double eps;           /* PTD budget ‖E‖₂/‖A‖₂ (default 0.05)                       */
    unsigned long seed;   /* random C and PTD tie-breaking                            */
    int conj_sym;         /* keep N/2 modes (1, default) or all N (0)                 */
    size_t blocks;        /* S5 blocks (default 1)                                    */
    ssm_c_kind C;         /* C for the transfer-function check (default ones)         */
    double clip_im_B;     /* > 0: clip Im B̃ (DPLR/S4D-LegS), stated in metadata       */
    double omega_lo, omega_hi; size_t omega_count; /* tf check grid (0: defaults)      */
    mpfr_prec_t prec;     /* > 53: Lambda, B, V, Vinv, P recomputed by the multiprecision
                           * eigendecomposition at prec bits (from the exact HiPPO matrices
                           * and the stored E) and stored correctly rounded from it          */
    ssm_progress *progress;
} ssm_init_opts;

const char *ssm_init_method_name(ssm_init_method m);
ssm_status ssm_init_method_lookup(ssm_init_method *m, const char *name);
/* C as an N×1 vector: ones; N(0,1)/√N from GSL's mt19937 seeded with seed;
 * legendre = √(2n+1) (the LegS reconstruction at the window's end). */
ssm_status ssm_init_C(ssm_dmat_t C, ssm_c_kind kind, unsigned long seed);

/* Build the init file in memory: tensors + every metadata field computed from
 * the tensors by the same code path that ssm_init_verify uses.  Caller frees. */
ssm_status ssm_init_build(ssm_st **file, ssm_init_method m, const ssm_init_opts *opts);

typedef struct {
    char key[32];
    char stored[48], recomputed[48];
    double tolerance;     /* absolute bound on |stored − recomputed| (0 for claims) */
    int ok;
} ssm_verify_item;

typedef struct {
    ssm_verify_item item[24];
    int count, failed;
} ssm_verify_report;

/* Recompute every metadata field of an init file from its tensors and compare.
 * SSM_OK when all hold, SSM_ECHECK when one does not (see the report),
 * EFORMAT when the file is not an ssmkit-init/1 file or its tensors are
 * inconsistent with its metadata (shapes). */
ssm_status ssm_init_verify(ssm_verify_report *rep, const ssm_st *file);

/* Recompute the decomposition tensors of a freshly built init file at
 * opts->prec bits and overwrite them with the correctly rounded F64 values
 * (ssm_init_build calls it when opts->prec > 53; metadata are recomputed by
 * the caller).  ELOSS when the precision cannot be vouched for, ECHECK when
 * the multiprecision result does not match the double one mode for mode. */
ssm_status ssm_init_refine_mp(ssm_st *file, ssm_init_method m, const ssm_init_opts *opts);

/* Multiprecision verification: kappa_V, backward_error and b_residual of the
 * stored tensors recomputed at prec bits (Arb), each compared with the stored
 * double value; the report's "recomputed" column holds the MPFR value and
 * digits[i] the decimal digits on which the two agree. */
typedef struct {
    char key[32];
    double stored, mp, digits;
} ssm_verify_mp_item;
ssm_status ssm_init_verify_mp(ssm_verify_mp_item *items, int *count, const ssm_st *file, mpfr_prec_t prec);

/* The systems an init file describes: which = 0 the init's model (diagonal or
 * DPLR), 1 its target (A_target, B_target, C_target; EINVAL if absent). */
ssm_status ssm_init_transfer(double complex *G, const ssm_st *file, int which, const double complex *s,
                             size_t count);

#endif
