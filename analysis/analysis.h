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

#endif
