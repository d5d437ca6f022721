/* diag/mpeig_impl.h — private to diag/: the Newton route of the multiprecision eigensolver. */
#ifndef SSM_MPEIG_IMPL_H
#define SSM_MPEIG_IMPL_H

#include "core/arb.h"

/* The Newton route (diag/mpeig_newton.c): for a real A, A = X D X⁻¹ in a real
 * basis (pairs a ± ib as 2×2 blocks, columns Re v, Im v); for a complex A,
 * A = V Λ V⁻¹; refined in mixed precision from a double-precision start.
 * Opaque state, caller owns. */
typedef struct ssm_mpeig_newton ssm_mpeig_newton;

/* dgeev start of the real matrix of midpoints A (imaginary parts ignored);
 * ENOCONV when dgeev fails or its eigenvector matrix is singular. */
SSM_MUST_CHECK ssm_status ssm_mpeig_newton_create(ssm_mpeig_newton **s, const arb_mat_t A);
/* the same for a complex A (zgeev start; the plain basis V, W, diagonal Λ) */
SSM_MUST_CHECK ssm_status ssm_mpeig_newton_create_complex(ssm_mpeig_newton **s, const acb_mat_t A);
void ssm_mpeig_newton_free(ssm_mpeig_newton *s); /* NULL ok */

/* κ₂ of the unit-column eigenvector matrix V of the current state, through
 * doubles (a real SVD; complex: ‖V‖₂ ‖V⁻¹‖₂) into *kappa; inf when the SVD
 * does not converge.  ENOMEM when its work cannot be allocated. */
SSM_MUST_CHECK ssm_status ssm_mpeig_newton_kappa(double *kappa, const ssm_mpeig_newton *s);

/* log2 κ₂(V) of the state, V with unit columns: log2 ‖V‖₂ + log2 ‖V⁻¹‖₂ with
 * V⁻¹ the state's own inverse (Z), each through a double copy whose blocks are
 * scaled by powers of two first (a real A: a real basis, the pair [x, y] scaled
 * by √2/‖x + iy‖ has the singular values of [v, v̄]); inf for a zero column.
 * ENOMEM, or ENOCONV when an SVD does not converge. */
SSM_MUST_CHECK ssm_status ssm_mpeig_newton_log2_kappa(double *lk, const ssm_mpeig_newton *s);

/* log2 of the backward error ‖A V − V Λ‖_F / (‖A‖_F ‖V‖_F) of the state, V with
 * unit columns, the residual at prec bits (the state is unchanged; its scratch
 * is overwritten).  ENOMEM. */
SSM_MUST_CHECK ssm_status ssm_mpeig_newton_log2_backward(double *lb, ssm_mpeig_newton *s, slong prec);

/* One step with the residual at prec bits; *rmax = the largest entry of the
 * correction C (the relative error before the step).  ENOCONV when rmax ≥ 1/4
 * (outside the region of quadratic convergence). */
SSM_MUST_CHECK ssm_status ssm_mpeig_newton_step(ssm_mpeig_newton *s, slong prec, double *rmax);

/* Steps until the estimated accuracy reaches target bits (or the rounding
 * floor of w, the cap on every step's precision); the precision of each step
 * follows the accuracy (ssm_mpeig_newton_next_prec).  ENOCONV on stagnation. */
SSM_MUST_CHECK ssm_status ssm_mpeig_newton_refine(ssm_mpeig_newton *s, double target, slong w);

/* The precision the next step would want on the way to target bits: twice
 * the accuracy reached (by the model of quadratic convergence; the caller's
 * two-result check verifies), or less where the small products stay at 128
 * bits and no step is added. */
slong ssm_mpeig_newton_next_prec(const ssm_mpeig_newton *s, double target);

/* The complex result: λ, V (v = x ± iy, the pair's + first), W = V⁻¹ (NULL:
 * not wanted); unnormalised, exact copies of the state. */
void ssm_mpeig_newton_get(acb_ptr lam, acb_mat_t V, acb_mat_t W, const ssm_mpeig_newton *s);

#endif
