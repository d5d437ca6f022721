/* core/arb.h — the Arb headers (certified ball arithmetic), wherever this
 * system keeps them, and the Arb helpers the stages share.
 *
 * FLINT 2 with Arb 2.x (Debian 12: libflint-arb-dev) installs <acb_mat.h>;
 * FLINT 3 merged Arb into libflint and installs <flint/acb_mat.h>.  The
 * Makefile links -lflint-arb -lflint or -lflint to match (its ARB_LIBS probe). */
#ifndef SSM_ARB_H
#define SSM_ARB_H

#include "core/core.h"

#if defined(__has_include)
#if __has_include(<flint/acb_mat.h>)
#define SSM_FLINT3 1
#endif
#endif

#ifdef SSM_FLINT3
#include <flint/acb_mat.h>
#include <flint/arb_mat.h>
#else
#include <acb_mat.h>
#include <arb_mat.h>
#endif

/* log2 ‖M‖₂ of the midpoints into *l2, through a double copy scaled by an
 * exact power of two (norms are perfectly conditioned: the rounding costs
 * ≤ √n ε relative); −inf for the zero matrix.  ENOMEM when the copy or its SVD
 * cannot be allocated (*l2 is then −inf: use it only after SSM_OK). */
SSM_MUST_CHECK ssm_status ssm_acb_mat_log2_norm2(double *l2, const acb_mat_t M);

#endif
