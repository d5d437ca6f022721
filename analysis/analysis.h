/* analysis/analysis.h — measuring systems: transfer functions G(s) = C (sI − A)⁻¹ B + D
 * by three algorithms (dense Hessenberg, diagonal, DPLR/Woodbury), and
 * (later) pseudospectra and distances.  doc/reference.md §2 and §7. */
#ifndef SSM_ANALYSIS_H
#define SSM_ANALYSIS_H

#include "diag/diag.h"

/* ---- dense systems: Hessenberg method (Laub) --------------------------- */

/* Plan: A = Q H Q* (zgehrd/zunghr) once, b̂ = Q* b, ĉ = c Q; then each G(s) is
 * one O(n²) Hessenberg solve of (sI − H) x = b̂.  A is n×n, b n×1, c 1×n (complex
 * or real via ssm_zmat_set_dmat).  *out is NULL on failure. */
typedef struct ssm_tf_plan ssm_tf_plan;
SSM_MUST_CHECK ssm_status ssm_tf_plan_create(ssm_tf_plan **out, const ssm_zmat_t A, const ssm_zmat_t b,
                                            const ssm_zmat_t c, double complex D);
/* G[k] = G(s[k]), k < count.  A const plan; scratch is per call (O(n²)).
 * ELOSS when sI − A is exactly singular at some s. */
SSM_MUST_CHECK ssm_status ssm_tf_eval(double complex *G, const ssm_tf_plan *p, const double complex *s, size_t count);
void ssm_tf_plan_free(ssm_tf_plan *p); /* NULL ok */

/* Reference: G(s) by a dense LU solve of (sI − A) x = b, O(n³) per point. */
SSM_MUST_CHECK ssm_status ssm_tf_dense_solve(double complex *G, const ssm_zmat_t A, const ssm_zmat_t b, const ssm_zmat_t c,
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
SSM_MUST_CHECK ssm_status ssm_tf_dplr(double complex *G, const double complex *lambda, const double complex *b,
                       const double complex *c, const ssm_zmat_t Pt, size_t M, int conj_sym, double complex D,
                       const double complex *s, size_t count);

/* count frequencies lo..hi (linear or log-spaced), as s = iω. */
SSM_MUST_CHECK ssm_status ssm_tf_omega_grid(double complex *s, double *omega, double lo, double hi, size_t count, int log_spaced);

/* The frequencies at which to draw a curve so that its peaks are on it: points log-spaced ω
 * in [lo, hi] (as ssm_tf_omega_grid) merged with every extra frequency inside (lo, hi) — the poles'
 * |Im λ|, where resonances of width |Re λ| sit, and refined maxima (ssm_dist_sup) — ascending,
 * duplicates removed.  *omega is malloc'd (*count entries).  EINVAL, ENOMEM. */
SSM_MUST_CHECK ssm_status ssm_tf_draw_grid(double **omega, size_t *count, double lo, double hi, size_t points,
                                           const double *extra, size_t extra_count);
/* deg[k] = arg G[k] in degrees, unwrapped along k (consecutive values differ by at most 180°). */
void ssm_tf_phase_unwrap(double *deg, const double complex *G, size_t count);

/* ===================================================================== */
/* Pseudospectra (doc/reference.md §7): σ_min(zI − A) on many points           */
/* ===================================================================== */

typedef enum {
    SSM_PSPEC_FAST = 0,       /* default: multi-shift blocks, threads, normal/DPLR shortcuts */
    SSM_PSPEC_RECORD,         /* EigTool's method of record: one point at a time, one thread,
                               * BLAS-2 triangular solves, no shortcuts                     */
    SSM_PSPEC_FAST_DENSE      /* the fast path without the normal-matrix shortcut (tests)    */
} ssm_pspec_method;

typedef struct {
    ssm_pspec_method method;
    double tol;           /* stop when the top Ritz value changes by < tol relatively (1e-5) */
    int max_iter;         /* Lanczos steps per point (99)                                    */
    int block;            /* shifts iterating together in the fast path (48)                  */
    int threads;          /* worker threads (0: the online CPUs); RECORD always uses one     */
    unsigned long seed;   /* start vectors: point k's vector depends on (seed, k) only       */
} ssm_pspec_opts;

typedef struct {
    const char *route;    /* "fast", "record", "normal" or "dplr"                             */
    size_t points;        /* points asked for                                                  */
    size_t mirrored;      /* grid points copied from their conjugate (real matrices)            */
    size_t iterations;    /* Lanczos steps in all                                               */
    size_t unconverged;   /* points that used all max_iter steps (their value is still a bound) */
    size_t guard_failed;  /* DPLR points redone on the Schur form (Woodbury error too large)     */
    size_t refined;       /* points whose top Ritz values clustered, redone by block Krylov      */
    size_t secular_handed;/* rank-one DPLR: points the secular count could not vouch for, given
                           * to inverse Lanczos on the same form                                 */
} ssm_pspec_info;

typedef struct ssm_pspec_plan ssm_pspec_plan;

/* Plan for a dense A (n×n, complex or real): complex Schur form T (zgees, no
 * vectors), O(n³) once.  A is real when every imaginary part is 0 (then
 * σ(z̄) = σ(z) and a grid computes half).  Normal to working accuracy (strict
 * upper part of T below 10·ε·ρ(A)) → σ_min = min_k |z − λ_k| exactly up to
 * 10·ε·‖A‖₂ (unless method is RECORD or FAST_DENSE).  opts may be NULL.
 * *out NULL on failure (EINVAL non-square/non-finite, ENOMEM, ENOCONV). */
SSM_MUST_CHECK ssm_status ssm_pspec_plan_create(ssm_pspec_plan **out, const ssm_zmat_t A, const ssm_pspec_opts *opts);

/* Plan for A = diag(λ) − P Q* (P, Q n×r, 1 ≤ r ≤ 8): each inverse-Lanczos step
 * costs O(n r) by Sherman–Morrison–Woodbury.  A point whose estimated relative
 * error 4·n·ε·γ (γ = growth through the r×r capacitance matrix) exceeds 1e-6
 * while σ·4nεγ > ε‖A‖_F is recomputed on the Schur form of the dense matrix
 * (formed only when needed).  real: A is real (conjugate symmetry of σ). */
SSM_MUST_CHECK ssm_status ssm_pspec_plan_create_dplr(ssm_pspec_plan **out, const double complex *lambda,
                                                    const ssm_zmat_t P, const ssm_zmat_t Q, int real,
                                                    const ssm_pspec_opts *opts);
void ssm_pspec_plan_free(ssm_pspec_plan *p); /* NULL ok */

/* sigma[k] = σ_min(z[k] I − A), k < count.  Accuracy (tests/t-pspec.c, vs a
 * dense SVD): relative 1e-4 where σ > 1e-8‖A‖, absolute 10·ε·‖A‖ elsewhere.
 * Cost per point: ~2k·n² flops (dense, k Lanczos steps, typically 3–10),
 * O(k n r) (DPLR), O(n) (normal).  bar may be NULL.  info may be NULL. */
SSM_MUST_CHECK ssm_status ssm_pspec_eval(double *sigma, const ssm_pspec_plan *p, const double complex *z, size_t count,
                          ssm_pspec_info *info, ssm_progress *bar);

/* The nx×ny grid over box = {x0, x1, y0, y1}: sigma[iy·nx + ix] at
 * z = x0 + ix·(x1−x0)/(nx−1) + i(y0 + iy·(y1−y0)/(ny−1)).  Real matrices
 * compute only the rows without a mirror row in the grid. */
SSM_MUST_CHECK ssm_status ssm_pspec_grid(double *sigma, const ssm_pspec_plan *p, const double box[4], size_t nx, size_t ny,
                          ssm_pspec_info *info, ssm_progress *bar);

/* EigTool's default box from the eigenvalues: their bounding box padded on
 * every side by half its larger side (a single point: by max(1, ρ)/2);
 * symmetric about the real axis when real. */
void ssm_pspec_box(double box[4], const double complex *lambda, size_t n, int real);
/* The eigenvalues a dense plan computed (n of them), NULL for a DPLR plan. */
const double complex *ssm_pspec_eigenvalues(const ssm_pspec_plan *p);
const char *ssm_pspec_route(const ssm_pspec_plan *p);
size_t ssm_pspec_order(const ssm_pspec_plan *p);
int ssm_pspec_is_real(const ssm_pspec_plan *p);
/* ‖A‖_F, an upper bound of ‖A‖₂ (the scale of the absolute accuracy). */
double ssm_pspec_norm_bound(const ssm_pspec_plan *p);

/* Pseudospectral abscissa α_ε(A) = max{Re z : σ_min(zI − A) ≤ ε} by the
 * criss-cross algorithm (Burke, Lewis & Overton, IMA J. Numer. Anal. 2003):
 * horizontal and vertical searches through the imaginary eigenvalues of 2n×2n
 * Hamiltonian matrices, from the rightmost eigenvalue(s).  Quadratic
 * convergence; stops when a sweep gains < 1e-12·max(ρ(A), ε).  z_at: the
 * point reached (σ_min = ε there).  Finds a local maximiser of Re z on Λ_ε that
 * is global in the generic case (as the paper's algorithm).  Cost O(n³) per
 * sweep (zgeev of 2n×2n).  EINVAL, ENOCONV (60 sweeps). */
SSM_MUST_CHECK ssm_status ssm_pspec_abscissa(double *alpha, double complex *z_at, int *iterations, const ssm_zmat_t A, double eps);

/* Complex stability radius β(A) = min_ω σ_min(A − iωI) of a stable A (the
 * distance to the nearest complex matrix with an eigenvalue on the imaginary
 * axis): Byers' Hamiltonian characterisation with Boyd–Balakrishnan level
 * steps from the eigenvalues' imaginary parts; relative accuracy ~2e-10 plus
 * the SVD's ε‖A‖.  omega_at: where the minimum is.  EINVAL when A is not
 * stable; ENOCONV after 60 levels.  Cost O(n³) per level. */
SSM_MUST_CHECK ssm_status ssm_stability_radius(double *beta, double *omega_at, int *iterations, const ssm_zmat_t A);

/* ===================================================================== */
/* Distances between systems (analysis/distance.c)                        */
/* ===================================================================== */
/* sup_ω |G₁(iω) − G₂(iω)| over a band, refined past the grid, and the H∞
 * norm of a dense system.  These are the measures of doc/reference.md §5: the
 * PTD bound sup_s |G_PTD(is) − G_DPLR(is)| ≤ (2 ln n + 4)ε and the Θ(1) spikes
 * of G_DPLR − G_S4D-LegS near ω = N²/π. */

/* A transfer function as a callback: G[k] = G(s[k]), k < count. */
typedef struct {
    ssm_status (*eval)(double complex *G, const double complex *s, size_t count, const void *ctx);
    const void *ctx;
} ssm_tf_fn;

/* A diagonal or DPLR system in modal coordinates:
 *   G(s) = D + c̃ (sI − Λ + P̃P̃*)⁻¹ b̃   (P̃ = Pt, r×M; r = 0: diagonal),
 * with the conjugate modes (conj λ, conj b̃, conj c̃, conj P̃) implied when
 * conj_sym.  Caller owns; ssm_tf_modal_clear frees (a zeroed struct is clear). */
typedef struct {
    size_t M;
    int conj_sym;
    double complex *lambda, *b, *c;   /* M each */
    ssm_zmat_t Pt;                    /* r×M, 0×0 for a diagonal system */
    double complex D;
} ssm_tf_modal;

void ssm_tf_modal_clear(ssm_tf_modal *m);
/* G at count points: ssm_tf_diag or ssm_tf_dplr (O(M r²) per point). */
SSM_MUST_CHECK ssm_status ssm_tf_modal_eval(double complex *G, const ssm_tf_modal *m, const double complex *s, size_t count);
/* The same system as a dense state space of size n = M (2M when conj_sym):
 * A = diag(Λ_f) − P̃_f P̃_f*, b = b̃_f, c = c̃_f (A, b, c initialised here,
 * n×n, n×1, 1×n).  For ssm_tf_hinf.  Cost O(n² r). */
SSM_MUST_CHECK ssm_status ssm_tf_modal_dense(ssm_zmat_t A, ssm_zmat_t b, ssm_zmat_t c, const ssm_tf_modal *m);

/* Callback adapters: a Hessenberg plan, a modal system (the object must
 * outlive the callback). */
ssm_tf_fn ssm_tf_fn_plan(const ssm_tf_plan *p);
ssm_tf_fn ssm_tf_fn_modal(const ssm_tf_modal *m);

/* ---- discrete convolution kernels under zero-order hold (analysis/kernel.c) ---- */

/* K[ℓ] = Σ_k c_k b_k Δ φ₁(Δλ_k) e^{ℓΔλ_k}, φ₁(z) = (e^z − 1)/z, ℓ < L: the ZOH kernel C Ā^ℓ B̄ of a
 * diagonal modal system (D excluded: the layer's skip term); with conj_sym the implied conjugate
 * modes make it 2 Re Σ (K real).  The formula of train/ssm_layer.c and ssmkit.torch.S4DKernel
 * (doc/reference.md §3), φ₁ evaluated without cancellation near 0.  O(M L).  EINVAL for a DPLR
 * system (Pt) or dt <= 0, ELOSS when K overflows. */
SSM_MUST_CHECK ssm_status ssm_tf_modal_kernel(double complex *K, const ssm_tf_modal *m, double dt, size_t L);
/* The ZOH kernel of a dense system, every channel: K[(i·m + j)·L + ℓ] = (C Ā^ℓ B̄)_{ij}, A n×n,
 * B n×m, C p×n (complex; real systems give real K), [[Ā, B̄], [0, I]] = exp(Δ[[A, B], [0, 0]])
 * (Van Loan; GSL's scaling and squaring on the real form, a complex system through its real 2×2
 * block embedding), then L products with Ā.  O((n+m)³ + L n² m).  EINVAL, ENOMEM, ENOCONV (the
 * exponential), ELOSS (overflow). */
SSM_MUST_CHECK ssm_status ssm_tf_dense_kernel(double complex *K, const ssm_zmat_t A, const ssm_zmat_t B,
                                              const ssm_zmat_t C, double dt, size_t L);

typedef struct {
    double omega_lo, omega_hi;  /* the band, 0 < lo < hi                                         */
    size_t grid;                /* coarse log-spaced points (default 2000, at least 3)           */
    const double *extra;        /* extra frequencies merged into the grid (those inside the band),
                                 * e.g. |Im λ| of the poles of both systems, where resonances sit */
    size_t extra_count;
    double xtol;                /* Brent's stopping tolerance, relative, on ln ω (default 1e-12).
                                 * At distance δ = xtol·|ln ω| from the top a resonance of quality
                                 * Q = ω/|Re λ| is lower by ≈ (Q ω δ/ω)²/2 relative, so sharp peaks
                                 * need a small xtol; steps that only see rounding cost evaluations
                                 * but never leave the best point found                          */
    double refine_ratio;        /* refine only peaks whose grid value >= ratio·(grid max); 0: all */
} ssm_dist_opts;

typedef struct {
    double sup, omega;            /* the refined sup and where it is attained                      */
    double grid_sup, grid_omega;  /* the largest value on the grid alone (what a plain scan reports) */
    size_t peaks;                 /* local peaks of the grid values refined                        */
    size_t evaluations;           /* frequencies at which each system was evaluated                */
    int at_edge;                  /* the sup is at LO or HI: the true sup may lie outside the band */
} ssm_dist_info;

/* sup over ω in [lo, hi] of |G₁(iω) − G₂(iω)| (of |G₁(iω)| when g2.eval is
 * NULL).  A log grid (plus opts->extra) is evaluated as one batch; then every
 * strict local peak of the grid values is refined by Brent's method
 * (parabolic interpolation + golden section; Brent 1973, ch. 5) on |ΔG| as a
 * function of ln ω over its two neighbouring cells, so the result is the
 * largest local maximum, not the largest grid value.  It finds every peak
 * whose basin contains a grid point; a resonance narrower than the grid
 * spacing can fall between points unless its frequency is given in extra
 * (a resonance at pole λ has width ≈ |Re λ|).  Cost: (grid + extra) batch
 * evaluations plus ~20–40 single ones per peak.  EINVAL for a bad band, ELOSS
 * when |ΔG| is not finite on the grid, else the callbacks' status. */
SSM_MUST_CHECK ssm_status ssm_dist_sup(ssm_dist_info *info, ssm_tf_fn g1, ssm_tf_fn g2, const ssm_dist_opts *opts);

typedef struct {
    double hinf;       /* the H∞ norm sup_ω |G(iω)| (= lower)                                 */
    double omega;      /* a frequency where |G(iω)| = hinf (∞ when the sup is |D| at ω → ∞;
                        * reported >= 0 for a real system, where |G(−iω)| = |G(iω)|)         */
    double lower, upper; /* lower: attained value; upper: (1 + 2 tol)·lower, certified by a
                          * Hamiltonian with no eigenvalue on the imaginary axis, plus eval_error */
    int iterations;    /* Hamiltonian eigenvalue problems solved                             */
    double eval_error; /* first-order bound on the rounding error of the attained |G(iω)|, included in
                        * upper (10 n ε κ(iωI − A) ‖b‖‖c‖/σ_min(iωI − A))                  */
    size_t removed;    /* modes on or right of the imaginary axis that G cannot see (uncontrollable
                        * or unobservable, e.g. FouT's decoupled zero state), removed first: the norm
                        * is that of the minimal part                                         */
} ssm_hinf_info;

/* H∞ norm of a stable SISO system G(s) = c(sI − A)⁻¹b + D, A n×n complex, by
 * the Bruinsma–Steinbuch / Boyd–Balakrishnan iteration (Bruinsma & Steinbuch,
 * Systems & Control Letters 14, 1990; Boyd, Balakrishnan & Kabamba, MCSS 2,
 * 1989): γ is a singular value of G(iω) iff iω is an eigenvalue of the 2n×2n
 * Hamiltonian H(γ) = [[A + b d̄ c/Q, (γ/Q) b b*], [−(γ/Q) c* c, −(A + b d̄ c/Q)*]],
 * Q = γ² − |D|².  Start from the largest |G| at ω = 0 and at ±Im λ(A); at
 * γ = (1 + 2 tol)·lower take the imaginary-axis eigenvalues (|Re μ| ≤ 1e-7
 * ρ(H), generous on purpose: a false candidate costs one evaluation, a missed
 * one would end the iteration early), raise lower to the largest |G| at the
 * midpoints of consecutive crossings; stop when H(γ) has none (or the
 * midpoints bring no progress).  Quadratic convergence; tol (relative,
 * default 1e-10 when <= 0) must be >= 1e-14.  Cost O(n³) per iteration
 * (zgeev of 2n×2n), typically < 10 iterations.  Modes on or right of the axis
 * that G cannot see (uncontrollable or unobservable) are removed first (see
 * removed).  EINVAL for bad shapes or a mode of G with Re λ >= 0 (norm not
 * finite), ENOCONV after 60 iterations. */
SSM_MUST_CHECK ssm_status ssm_tf_hinf(ssm_hinf_info *info, const ssm_zmat_t A, const ssm_zmat_t b, const ssm_zmat_t c,
                       double complex D, double tol);

#endif
