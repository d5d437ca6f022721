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

/* Products of the midpoints of Arb matrices by exact double-precision
 * products (the Ozaki split).  Row i of A is scaled by 2^-e_i (|a_ik| < 2^e_i),
 * column j of B by 2^-f_j, and each entry cut into S slices of s bits,
 * s = ⌊(53 − ⌈log2 k⌉)/2⌋, S·s ≥ prec + 8; the slice products A_t B_u with
 * t + u < S are formed by one dgemm per group of c consecutive A slices
 * ([A_t … A_(t+c−1)] times the B slices laid out so that column block j sums
 * the c products of level t + j), whose partial sums are integers below 2^53,
 * so exact whatever the BLAS kernel, the summation order or the thread count;
 * each level (t + u = d) is summed in integers, the levels combined and
 * rounded once to prec bits.  Error per entry ≤ k 2^-prec max_q |a_iq|
 * max_q |b_qj| (the truncated slices; the same order as a product of inputs
 * rounded to prec bits).  Against Arb's arb_mat_approx_mul, 64×64: ~5× at
 * 128 bits, ~3× at 374 bits (tests/t-mpeig.c checks the bound and the bits).
 * The workspace grows with the largest product asked of it. */
typedef struct ssm_arb_mul_ws ssm_arb_mul_ws;
SSM_MUST_CHECK ssm_status ssm_arb_mul_ws_create(ssm_arb_mul_ws **out);
/* room for an n×k times k×m product at prec bits up front (one allocation for a
 * sequence of growing products); ENOMEM */
SSM_MUST_CHECK ssm_status ssm_arb_mul_ws_reserve(ssm_arb_mul_ws *ws, slong n, slong k, slong m, slong prec);
void ssm_arb_mul_ws_free(ssm_arb_mul_ws *ws); /* NULL ok */

/* C = A B (midpoints; C's radii zero, entries rounded to prec bits); C may
 * alias A or B.  Through Arb's arb_mat_approx_mul instead where the split does
 * not pay or does not apply: prec > SSM_ARB_SPLIT_MAX_PREC, slices beyond
 * SSM_ARB_SPLIT_MAX_BYTES, a non-finite entry or an exponent beyond ±2^40.
 * ENOMEM when the workspace cannot grow (C is then unchanged). */
#define SSM_ARB_SPLIT_MAX_PREC 2048
#define SSM_ARB_SPLIT_MAX_BYTES ((size_t)64 << 20)
SSM_MUST_CHECK ssm_status ssm_arb_mat_approx_mul_split(arb_mat_t C, const arb_mat_t A, const arb_mat_t B,
                                                       slong prec, ssm_arb_mul_ws *ws);

/* The left factor's slices kept for several products: a matrix that is the
 * left factor of a sequence of products (the Newton residual's A at every
 * step; X in X Z and, one step later, in X C; Z in the step's Z R and Z T)
 * is cut into slices once.  The slices of a precision are a prefix of those
 * of a higher one (the same width, set by the inner dimension), so the
 * slices held serve every product up to the precision they were cut for;
 * the results are those of ssm_arb_mat_approx_mul_split, bit for bit.  The
 * caller says when the matrix changes (ssm_arb_split_forget); C = A does so
 * itself. */
typedef struct ssm_arb_split ssm_arb_split;
SSM_MUST_CHECK ssm_status ssm_arb_split_create(ssm_arb_split **out);
void ssm_arb_split_free(ssm_arb_split *sp); /* NULL ok */
/* the matrix changed (or another is meant): the next product splits anew */
void ssm_arb_split_forget(ssm_arb_split *sp);
/* the next split cuts slices for products of up to prec bits (at least what
 * its own product needs): one split for a sequence of rising precisions */
void ssm_arb_split_plan(ssm_arb_split *sp, slong prec);
/* also keep, from each product, the right factor's slices and the exact
 * level sums: the next product whose right factor agrees with the last one in
 * its leading slices (the same column exponents; a Newton step's X after a
 * correction of 2^-b relative agrees in about b/s of them) forms only the
 * slice products of the slices that differ, twice (the new ones added, the
 * last ones taken away), where that is fewer than all of them: the same
 * integers, the same bits (those slice products one A slice a dgemm: where
 * the split groups several, as at inner dimension 64, reused only where the
 * products left are that many times fewer). */
void ssm_arb_split_track(ssm_arb_split *sp);
/* C = A B as ssm_arb_mat_approx_mul_split, A's slices from sp (cut there when
 * it holds too few).  ENOMEM when the workspace or sp cannot grow. */
SSM_MUST_CHECK ssm_status ssm_arb_mat_approx_mul_split_keep(arb_mat_t C, const arb_mat_t A, ssm_arb_split *sp,
                                                            const arb_mat_t B, slong prec, ssm_arb_mul_ws *ws);

/* x 2^-e rounded to the nearest double (ties to even): arf_get_d(x 2^-e,
 * ARF_RND_NEAR) to the bit (x and e are not changed).  Where the result is a
 * normal double (|exponent| ≤ 1000), from x's top limb and a scan of the
 * others for the sticky bit, the double put together from its fields (no
 * ldexp): about 70 instructions (callgrind), against about 350 and an
 * allocation (MPFR's temporary) for arf_get_d; zero, NaN, ±∞ and the rest go
 * Arb's own way.  tests/t-mpeig.c checks it against arf_get_d. */
double ssm_arf_get_d_2exp(const arf_t x, slong e);

/* log2 ‖M‖₂ of the midpoints into *l2, through a double copy scaled by an
 * exact power of two (norms are perfectly conditioned: the rounding costs
 * ≤ √n ε relative); −inf for the zero matrix.  ENOMEM when the copy or its SVD
 * cannot be allocated (*l2 is then −inf: use it only after SSM_OK). */
SSM_MUST_CHECK ssm_status ssm_acb_mat_log2_norm2(double *l2, const acb_mat_t M);

#endif
