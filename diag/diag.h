/* diag/diag.h — decompositions: general eigendecomposition, NPLR/DPLR (S4),
 * the diagonal initialisations (S4D, S5) and perturb-then-diagonalise (PTD).
 *
 * Conventions.  Complex vectors are n×1 ssm_zmat_t.  A conjugate-symmetric
 * diagonal system keeps M = N/2 modes (λ_m, column v_m); the full system is
 * {λ_m, conj λ_m} with eigenvectors {v_m, conj v_m}.  Eigenvector phase: every
 * column is scaled so that its entry of largest modulus (lowest index on ties)
 * is real and positive, and to unit 2-norm.
 */
#ifndef SSM_DIAG_H
#define SSM_DIAG_H

#include "hippo/hippo.h"

/* ===================================================================== */
/* General dense eigendecomposition (double)                              */
/* ===================================================================== */

typedef struct {
    double kappa_V;               /* κ₂(V) = σ_max(V)/σ_min(V), unit-norm columns          */
    double backward_error;        /* ‖A V − V Λ‖₂ / (‖A‖₂ ‖V‖₂)                              */
    double reconstruction_error;  /* ‖A − V Λ V⁻¹‖₂ / ‖A‖₂ (V⁻¹ from an LU solve)              */
} ssm_eig_info;

/* A = V diag(lambda) V⁻¹ for a complex n×n A (zgeev with balancing).  V and
 * Vinv (n×n, initialised by the caller) receive unit-norm eigenvectors with
 * the phase convention above and V⁻¹ computed by solving V X = I (LU with
 * partial pivoting; never an explicit inverse formula).  info may be NULL.
 * The conditioning is part of the result: a large kappa_V means V and the
 * eigenvalues' sensitivity are untrustworthy, not that the call failed.
 * ENOCONV when QR does not converge, ELOSS when V is numerically singular.
 * Cost O(n^3). */
SSM_MUST_CHECK ssm_status ssm_diag_eig(double complex *lambda, ssm_zmat_t V, ssm_zmat_t Vinv, ssm_eig_info *info,
                        const ssm_zmat_t A);
/* Column scaling to unit norm + phase convention (in place). */
void ssm_diag_normalize_columns(ssm_zmat_t V);

/* ===================================================================== */
/* Eigendecomposition at any precision (MPC/Arb)                          */
/* ===================================================================== */

typedef enum {
    SSM_MPEIG_AUTO,        /* triangular if the input is; else Newton if double eig is trustworthy; else QR */
    SSM_MPEIG_TRIANGULAR,  /* eigenvalues = diagonal, eigenvectors by substitution, O(n³)              */
    SSM_MPEIG_NEWTON,      /* double-precision start, simultaneous Newton refinement (digits double)  */
    SSM_MPEIG_QR           /* Arb's acb_mat_approx_eig_qr                                             */
} ssm_mpeig_route;

const char *ssm_mpeig_route_name(ssm_mpeig_route r);
SSM_MUST_CHECK ssm_status ssm_mpeig_route_lookup(ssm_mpeig_route *r, const char *name);

typedef struct {
    ssm_mpeig_route route;  /* requested route (default AUTO)                                        */
    double digits;          /* decimal digits to vouch for; 0: those of the output precision, minus 2 */
    mpfr_prec_t max_prec;   /* cap on the working precision (0: 64 x output precision, >= 4096)     */
    int certify;            /* Arb enclosures (acb_mat_eig_simple) of every eigenpair               */
} ssm_mpeig_opts;

typedef struct {
    ssm_mpeig_route route;       /* route used                                                      */
    mpfr_prec_t working_prec;    /* the precision of the accepted result                            */
    double digits;               /* decimal digits on which two working precisions agree (λ and V)  */
    double kappa_V;              /* κ₂(V), unit columns (inf if beyond double range: see log10)      */
    double kappa_V_log10;
    double backward_error;       /* ‖AV − VΛ‖_F / (‖A‖_F ‖V‖_F) at the working precision, log10 too  */
    double backward_error_log10;
    int certified;               /* 1: every eigenpair enclosed (isolated, simple) by Arb           */
    double radius_lambda;        /* largest enclosure radius of an eigenvalue (absolute)             */
    double radius_V;             /* largest enclosure radius of an eigenvector entry                 */
    int contains_result;         /* 1: the returned midpoints lie inside the enclosures             */
} ssm_mpeig_info;

/* A = V diag(λ) V⁻¹ for a complex n×n A taken as exact at its own precision.
 * Results are rounded to the precision of lambda (n×1), V and Vinv (n×n),
 * which must share one precision p.  The working precision starts at p + 64
 * and is raised (doubled) until two results, at w and at a higher w2, agree
 * on the requested digits for every eigenvalue and unit eigenvector; ELOSS
 * when the cap is reached first (never a silent result).  Triangular and QR:
 * two runs, w2 = 1.5 w.  Newton: the first result refined to the digits asked
 * + 16 bits (all of w on a retry), the second one more step from it at w2 ∈
 * [w + 32, 1.5 w] (the step's correction is the first result's error).
 * Eigenvectors: unit 2-norm, largest entry real positive; eigenvalues sorted
 * by decreasing real part, then increasing imaginary part.  info may be NULL.
 * Routes and costs: triangular O(n³) multiprecision operations; Newton O(n³)
 * per step with the correct digits doubling per step, the precision of each
 * step following its accuracy (fails over to QR when the double start is too
 * poor), the residual at the step's precision and the corrections at what
 * their size needs; a real A in a real basis (conjugate pairs as 2×2 blocks,
 * real products, pairs returned exactly conjugate); QR as Arb's implicit
 * double-shift QR (O(n³) per sweep).
 * With opts->certify, acb_mat_eig_simple encloses each eigenpair; "certified"
 * means that succeeded and the enclosures contain the returned values. */
SSM_MUST_CHECK ssm_status ssm_diag_eig_mp(ssm_mpcmat_t lambda, ssm_mpcmat_t V, ssm_mpcmat_t Vinv, ssm_mpeig_info *info,
                           const ssm_mpcmat_t A, const ssm_mpeig_opts *opts);

/* Certify (acb_mat_eig_simple, at A's precision) the eigenpairs (lambda, V)
 * of A and count how many of the n values lambda_d (e.g. a double-precision
 * result) lie within tol of an enclosure: *inside = n confirms the double
 * result to tol, fewer means it is wrong (farther than tol from every
 * certified ball).  ELOSS when the certification itself fails. */
SSM_MUST_CHECK ssm_status ssm_diag_eig_mp_contains(size_t *inside, const ssm_mpcmat_t A, const ssm_mpcmat_t lambda,
                                    const ssm_mpcmat_t V, const double complex *lambda_d, double tol);

/* A ← H_k … H_1 A H_1 … H_k, an orthogonal similarity by k Householder
 * reflections H = I − 2uuᵀ/uᵀu with u from GSL's mt19937 (seed), uᵀu exact,
 * formed and applied at A's precision: the same spectrum and κ(V) in exact
 * arithmetic, but no triangular structure for LAPACK's balancing to exploit
 * (the trap of doc/reference.md §4).  O(k n³) MPC operations. */
SSM_MUST_CHECK ssm_status ssm_diag_rotate_mp(ssm_mpcmat_t A, unsigned long seed, int reflections);

/* ===================================================================== */
/* NPLR / DPLR (S4): A = V (diag W − P̃ P̃*) V*, V unitary                   */
/* ===================================================================== */

typedef struct {
    double clip_im_B;  /* > 0: clip Im B̃ to [−c, c] as the reference code (default 0 = off) */
} ssm_nplr_opts;

typedef struct {
    double reconstruction_error;  /* ‖A − V_f (diag W_f − P̃_f P̃_f*) V_f*‖₂ / ‖A‖₂, full set */
    double unitarity_error;       /* ‖V_f* V_f − I‖₂                                       */
    double skew_defect;           /* ‖(S + Sᵀ) − 2cI‖_F / ‖S‖_F, S = A + P Pᵀ               */
    double max_re_W;
    int zero_pair;                /* 1 when a zero eigenvalue pair was merged (fout)       */
} ssm_nplr_info;

/* From A (N×N), B (N×1), P (r×N) with S = A + Σ P_r P_rᵀ = c I + K, K real
 * skew (every HiPPO measure with a correction): W (M = N/2, Im W ascending,
 * i.e. the half with Im W <= 0), V (N×M), Bt = V* B (M×1), Pt (r×M, row r =
 * (V* P_rᵀ)ᵀ).  A zero eigenvalue pair of K (fout's dummy state) is replaced by
 * v = (u₁ + i u₂)/√2 from a real orthonormal basis of the null space.  N must
 * be even.  info may be NULL; opts may be NULL (defaults).  EINVAL when S is
 * not c I + skew (skew_defect > 1e-12) or N is odd.  Cost O(N^3) (zheev). */
SSM_MUST_CHECK ssm_status ssm_diag_nplr(double complex *W, ssm_zmat_t V, ssm_zmat_t Bt, ssm_zmat_t Pt, ssm_nplr_info *info,
                         const ssm_dmat_t A, const ssm_dmat_t B, const ssm_dmat_t P, const ssm_nplr_opts *opts);

/* ===================================================================== */
/* Diagonal initialisations (doc/reference.md §3)                              */
/* ===================================================================== */

/* S4D-Lin: λ_n = −½ + iπn.  S4D-Inv: λ_n = −½ + i(N/π)(N/(2n+1) − 1).
 * S4D-Real: λ_n = −(n+1).  n = 0 .. N/2−1 (lambda has N/2 entries). */
void ssm_diag_s4d_lin(double complex *lambda, size_t N);
void ssm_diag_s4d_inv(double complex *lambda, size_t N);
void ssm_diag_s4d_real(double complex *lambda, size_t N);

/* ===================================================================== */
/* Perturb-then-diagonalise                                               */
/* ===================================================================== */

typedef struct {
    double eps;          /* budget: ‖E‖₂ ≤ eps·‖A‖₂                                      */
    unsigned long seed;  /* tie-breaking perturbation of the start (deterministic)        */
    int max_iter;        /* steps per full stage (default with the transfer term 800 to N = 64,
                          * max(128, 32768/N) above; conditioning only: 200 to N = 64, 6N above) */
    double margin;       /* keep max Re λ ≤ −margin·‖A‖₂ (default 1e-8)                    */
    double kappa_target; /* > 0: stop the last stage as soon as κ₂(Ṽ) <= this (benchmarks)  */
    const double *sweep; /* optional budgets > eps visited on the way down (warm starts)     */
    size_t sweep_count;
    struct ssm_ptd_info_s *sweep_info; /* out: one record per sweep budget, same order      */
    double *sweep_E;     /* optional out: E (N×N row-major) at each sweep budget, sweep_count·N² */
    ssm_progress *progress;
    const double *B;     /* input vector (N) of the target system; with tf_weight > 0 the     */
    double tf_weight;    /* objective adds tf_weight·(soft max over ω of the relative transfer  */
                         /* error), see ssm_diag_ptd_objective; NULL or 0: conditioning only   */
} ssm_ptd_opts;

/* the default transfer weight of ssm_ptd_opts_default and `ssmkit init ptd` */
#define SSM_PTD_TF_WEIGHT 64.0
/* eps 0.05, seed 0, B NULL (set it to use the transfer term), tf_weight
 * SSM_PTD_TF_WEIGHT, everything else at its documented default */
ssm_ptd_opts ssm_ptd_opts_default(void);

typedef struct ssm_ptd_info_s {
    double eps;                 /* the budget this record belongs to                     */
    double kappa_V;             /* κ₂(Ṽ), unit-norm columns                              */
    double kappa_F;             /* ‖Ṽ‖_F ‖Ṽ⁻¹‖_F, the smooth objective's square root      */
    double perturbation_norm;   /* ‖E‖₂/‖A‖₂                                             */
    double max_re_lambda;
    double reconstruction_error;/* ‖A + E − Ṽ Λ̃ Ṽ⁻¹‖₂/‖A‖₂                                */
    int iterations, stages;     /* cumulative when part of a sweep                        */
    double seconds;             /* wall time from the start to this record                */
    long eigendecompositions;   /* dgeev calls (objective evaluations)                     */
    double tf_weight_final;     /* the transfer weight at the end (doubled along a ladder/sweep */
                                /* where an error would have grown); 0 without the term         */
    double tf_ones, tf_state;   /* with the transfer term: max over the optimiser's grid of   */
                                /* |1ᵀe(iω)|/max|1ᵀg₀| and ‖e(iω)‖/max‖g₀‖, e = the state    */
                                /* response error, g₀ = (iω − A)⁻¹B; NaN without it          */
} ssm_ptd_info;

/* Find a real E with ‖E‖₂ ≤ eps‖A‖₂ that minimises κ_F(Ṽ)² = N Σ_i s_i² (s_i the
 * eigenvalue condition numbers of A + E), starting from the normal matrix
 * A + Σ P_r P_rᵀ (κ = 1) and shrinking the budget geometrically to eps with
 * warm starts (a continuation in ε); at each budget a spectral projected
 * gradient method (Barzilai–Borwein steps, non-monotone line search,
 * projection onto the spectral-norm ball by clipping singular values; above
 * N = 64 with the transfer term, L-BFGS directions projected the same way and
 * max(128, 32768/N) steps per full budget), the gradient from one
 * eigendecomposition per step.  Every accepted iterate has
 * max Re λ ≤ −margin‖A‖₂ (steps that leave the region are shortened), so the
 * spectrum is in the open left half-plane by construction.
 * With opts->sweep, every budget in the list (each > eps) is reached on the way
 * down and optimised like the final one; its record (κ, ‖E‖/‖A‖, max Re λ,
 * time) goes to opts->sweep_info: the whole κ(ε) curve from one warm-started
 * run.  Outputs: E (N×N real), lambda (N), V and Vinv (N×N) for eps.  EINVAL
 * for bad sizes/eps, ENOCONV when no feasible progress is possible. */
SSM_MUST_CHECK ssm_status ssm_diag_ptd(ssm_dmat_t E, double complex *lambda, ssm_zmat_t V, ssm_zmat_t Vinv, ssm_ptd_info *info,
                        const ssm_dmat_t A, const ssm_dmat_t P, const ssm_ptd_opts *opts);

/* The PTD objective at a given E: f = Σ s_i² − mu Σ log(−Re λ_i − margin) of
 * A + E, plus with B (length N) and tf_weight > 0 the transfer term
 * tf_weight·(α √T_state + (1 − α) √T_ones) of ssm_diag_ptd on its fixed log and
 * linear grid (without the pole points, so that f is a function of E alone),
 * and its gradient (N×N, may be NULL).  f = +inf outside the region (unstable
 * or a real eigenvalue).  Exposed for gradient checks and for users who drive
 * their own optimiser. */
SSM_MUST_CHECK ssm_status ssm_diag_ptd_objective(double *f, ssm_dmat_t grad, const ssm_dmat_t A, const ssm_dmat_t E, double mu,
                                  double margin, const double *B, double tf_weight);

#endif /* SSM_DIAG_H */
