/* diag/mpeig_impl.h — internal: Arb helpers shared by diag/ and analysis/. */
#ifndef SSM_MPEIG_IMPL_H
#define SSM_MPEIG_IMPL_H

#include <acb_mat.h>

/* log2 ‖M‖₂ of the midpoints, through a double copy scaled by an exact power
 * of two (norms are perfectly conditioned: the rounding costs ≤ √n ε relative);
 * −inf for the zero matrix. */
double ssm_acb_mat_log2_norm2(const acb_mat_t M);

#endif
