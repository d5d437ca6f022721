/* init/init_impl.h — private to init/: the pieces build.c, verify.c and mp.c share. */
#ifndef SSM_INIT_IMPL_H
#define SSM_INIT_IMPL_H

#include "init/init.h"

/* The tf_grid a file may state has at most this many points. */
#define SSM_INIT_TF_GRID_MAX ((size_t)1000000)

/* "%.17g", or "n/a" for NaN: how metadata numbers are written. */
void ssm_init_fmt_num(char *buf, size_t n, double v);
/* Every metric field and data_fnv1a64 of a file being built, recomputed from
 * its tensors as stored by the verify code path. */
SSM_MUST_CHECK ssm_status ssm_init_set_metrics(ssm_st *f);
/* Recompute the decomposition tensors of a freshly built init file at
 * opts->prec bits and overwrite them with the correctly rounded F64 values
 * (the metadata are recomputed by the caller).  ELOSS when the precision
 * cannot be vouched for, ECHECK when the multiprecision result does not match
 * the double one mode for mode. */
SSM_MUST_CHECK ssm_status ssm_init_refine_mp(ssm_st *file, ssm_init_method m, const ssm_init_opts *opts);
/* stored is the data_fnv1a64 of st's tensors (ssm_init_digest, or the
 * digest ssmkit 0.1.0 wrote) */
int ssm_init_digest_matches(const ssm_st *st, const char *stored);
/* Load st as ssm_init_file_take does, without taking it: the object must be
 * released by ssm_init_file_unborrow (NULL ok) while st is alive. */
SSM_MUST_CHECK ssm_status ssm_init_file_borrow(ssm_init_file **out, const ssm_st *st);
void ssm_init_file_unborrow(ssm_init_file *f);
/* The full N×N eigenvector matrix (conjugate columns appended under
 * conj_sym) and its inverse (the stored Vinv, else solved). */
SSM_MUST_CHECK ssm_status ssm_init_full_V(ssm_zmat_t Vf, ssm_zmat_t Vfi, const ssm_init_file *f);
/* Mode j of the conjugate-closed set (j < N). */
double complex ssm_init_lambda_full(const ssm_init_file *f, size_t j);

#endif
