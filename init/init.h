/* init/init.h — initialisation files (ssmkit-init/1, doc/design.md): build them
 * from a method in double or multiprecision, load them once into one validated
 * object, verify them by recomputing every stored check from the tensors.
 *
 * Every consumer (verify, transfer, distances, pseudospectra, eig, training)
 * takes an ssm_init_file: the format is parsed by one loader with one set of
 * rules, and C̃ = C_target·V is computed once. */
#ifndef SSM_INIT_H
#define SSM_INIT_H

#include "analysis/analysis.h"

typedef enum {
    SSM_INIT_S4_DPLR, SSM_INIT_S4D_LEGS, SSM_INIT_S4D_LIN, SSM_INIT_S4D_INV, SSM_INIT_S4D_REAL,
    SSM_INIT_S5_LEGS, SSM_INIT_PTD, SSM_INIT_COUNT
} ssm_init_method;

typedef enum { SSM_C_ONES, SSM_C_RANDOM, SSM_C_LEGENDRE } ssm_c_kind;

/* The largest state size a file may have (build and load alike). */
#define SSM_INIT_MAX_N ((size_t)8192)
/* The largest rank of the low-rank term P of a DPLR file. */
#define SSM_INIT_MAX_RANK ((size_t)8)

typedef struct {
    size_t N;             /* state size (even)                                        */
    double eps;           /* PTD budget ‖E‖₂/‖A‖₂ (default 0.05)                       */
    double tf_weight;     /* PTD transfer weight τ (ssm_diag_ptd): 0 means the default
                           * SSM_PTD_TF_WEIGHT, < 0 conditioning only                     */
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

/* The documented defaults: N = 64, eps = 0.05, conj_sym = 1, blocks = 1,
 * C = ones, prec = 53, the PTD transfer weight and frequency grid of the
 * method (the zero fields that mean "default"). */
ssm_init_opts ssm_init_opts_default(void);

const char *ssm_init_method_name(ssm_init_method m);
SSM_MUST_CHECK ssm_status ssm_init_method_lookup(ssm_init_method *m, const char *name);
/* C as an N×1 vector: ones; N(0,1)/√N from GSL's mt19937 seeded with seed;
 * legendre = √(2n+1) (the LegS reconstruction at the window's end). */
SSM_MUST_CHECK ssm_status ssm_init_C(ssm_dmat_t C, ssm_c_kind kind, unsigned long seed);

/* Build the init file in memory: tensors + every metadata field computed from
 * the tensors by the same code path that ssm_init_verify uses.  Caller frees
 * (ssm_st_free) or hands it to ssm_init_file_take. */
SSM_MUST_CHECK ssm_status ssm_init_build(ssm_st **file, ssm_init_method m, const ssm_init_opts *opts);

/* ===================================================================== */
/* The file object: loaded once, validated, read by every consumer          */
/* ===================================================================== */

/* What an ssmkit-init/1 file holds, checked: the format tag; 1 ≤ N ≤
 * SSM_INIT_MAX_N, M = N/2 with conj_sym ("true") else M = N; every tensor's
 * shape (Lambda, B [M,2]; V [N,M,2]; Vinv [M,N,2]; P [r,M,2] with
 * 1 ≤ r ≤ SSM_INIT_MAX_RANK; A_target, E [N,N]; B_target, C_target [N]);
 * every value finite; E or P only with A_target and V; and, when the file
 * carries data_fnv1a64, that checksum of its tensors.  Errors are EFORMAT and
 * name the tensor or the field.  The arrays below are the file's, read-only. */
typedef struct {
    ssm_st *st;                      /* the file: tensors and metadata (owned)          */
    size_t N, M, r;                  /* state size, stored modes, rank of P (0: none)   */
    int conj_sym;                    /* the conjugate of each stored mode is implied    */
    double complex *lambda, *B, *C;  /* M each: Λ, B̃, and C̃ = C_target·V (ones when the
                                      * file has no V or no C_target)                    */
    ssm_zmat_t V, Vinv, P;           /* N×M, M×N, r×M; 0×0 when absent                  */
    ssm_dmat_t A_target, B_target, C_target, E;  /* N×N, N×1, N×1, N×N; 0×0 when absent */
} ssm_init_file;

/* Read and validate a file (EIO, EFORMAT naming the path and what is wrong). */
SSM_MUST_CHECK ssm_status ssm_init_file_read(ssm_init_file **out, const char *path);
/* Validate an in-memory file and take ownership of st: on failure st is freed
 * too, so `ssm_init_file_take(&f, built)` never leaks. */
SSM_MUST_CHECK ssm_status ssm_init_file_take(ssm_init_file **out, ssm_st *st);
void ssm_init_file_free(ssm_init_file *f);   /* NULL ok */
/* The file's model as a modal system (diagonal, or DPLR when it has P), D = 0:
 * a view into f that lives as long as f; do not clear it. */
void ssm_init_file_modal(ssm_tf_modal *view, const ssm_init_file *f);
/* FNV-1a 64 over the names, shapes and data of every tensor in file order:
 * the data_fnv1a64 metadata field. */
uint64_t ssm_init_digest(const ssm_st *st);

typedef struct {
    char key[32];
    char stored[48], recomputed[48];
    double tolerance;     /* absolute bound on |stored − recomputed| (0 for claims) */
    int ok;
} ssm_verify_item;

typedef struct {
    ssm_verify_item item[24];
    int count, failed;
    /* quality, apart from integrity: the transfer error sup |G_init − G_target| on the file's stored
     * grid (= tf_sup_error), the signal sup |G_target| on the same grid, and their ratio; NaN when the
     * file has no target.  SSM_VERIFY_TF_GOOD is the threshold `ssmkit verify` judges by. */
    double tf_error, tf_signal, tf_relative;
} ssm_verify_report;

/* A transfer error below a tenth of the target's peak response keeps every resonance of the target
 * recognisable in the model (the error cannot move a peak by more than 10% of the largest one);
 * S4D-LegS at N >= 16 is far above it (its spike near N²/π), PTD at its default budget below. */
#define SSM_VERIFY_TF_GOOD 0.1

/* Recompute every metadata field of an init file from its tensors and compare.
 * SSM_OK when all hold, SSM_ECHECK when one does not (see the report); the quality
 * fields never change the status. */
SSM_MUST_CHECK ssm_status ssm_init_verify(ssm_verify_report *rep, const ssm_init_file *file);

/* Multiprecision verification: kappa_V, backward_error, b_residual and
 * tf_sup_error (on the stored grid, target in pole–residue form from the
 * multiprecision eigendecomposition, model in MPC) of the stored tensors
 * recomputed at prec bits (Arb/MPC), each compared with the stored double
 * value; items[i].mp holds the multiprecision value and digits the decimal
 * digits on which the two agree.  capacity: the length of items (at least 4
 * fill every measure). */
typedef struct {
    char key[32];
    double stored, mp, digits;
} ssm_verify_mp_item;
SSM_MUST_CHECK ssm_status ssm_init_verify_mp(ssm_verify_mp_item *items, int capacity, int *count, const ssm_init_file *file,
                              mpfr_prec_t prec);

/* The state matrix of an init file's model, for pseudospectra: a DPLR file
 * gives *lambda (N, the full conjugate-closed set, malloc'd) and P (N×r) with
 * A = diag(λ) − P P* (A left empty); a PTD file gives A_target + E (real, as
 * stored); another file with V and Vinv (S5) gives the dense V diag(Λ) V⁻¹; a
 * diagonal init gives the diagonal matrix in A.  The caller clears A, P and
 * frees *lambda. */
SSM_MUST_CHECK ssm_status ssm_init_state_matrix(ssm_zmat_t A, double complex **lambda, ssm_zmat_t P, const ssm_init_file *file);

/* The frequencies of an init file's tf_sup_error check, ascending:
 * tf_grid = "log:LO:HI:COUNT" is COUNT log-spaced ω in [LO, HI] (as
 * ssm_tf_omega_grid); a "+poles" suffix adds |Im λ| of every stored mode
 * inside (LO, HI), where lightly damped modes resonate.  No tf_grid: the
 * default log:1e-3:1e4:2000.  *omega is malloc'd.  EFORMAT for a malformed
 * grid. */
SSM_MUST_CHECK ssm_status ssm_init_tf_frequencies(double **omega, size_t *count, const ssm_init_file *file);

/* Which system of an init file to evaluate. */
typedef enum { SSM_INIT_MODEL = 0, SSM_INIT_TARGET = 1 } ssm_init_system;
/* G(s) of the init's model (diagonal or DPLR, C̃ as in the file object) or of
 * its target (A_target, B_target, C_target; EINVAL when absent). */
SSM_MUST_CHECK ssm_status ssm_init_transfer(double complex *G, const ssm_init_file *file, ssm_init_system which,
                             const double complex *s, size_t count);

#endif
