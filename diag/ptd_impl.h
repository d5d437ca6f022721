/* diag/ptd_impl.h — internals shared by ptd.c and ptd_transfer.c (diag/ only). */
#ifndef SSM_DIAG_PTD_IMPL_H
#define SSM_DIAG_PTD_IMPL_H

#include <complex.h>
#include <stddef.h>

/* C (m×n) = op(A) · B, row-major, op(A) = A (m×k) or, with conj_a, Aᴴ where A
 * is k×m (BLAS zgemm); work: ssm_k_zgemm_lwork(m, n, k) doubles.  Allocates
 * nothing and cannot fail. */
void ptd_zgemm(int conj_a, size_t m, size_t n, size_t k, const double complex *A, const double complex *B,
               double complex *C, double *work);

typedef struct {
    size_t N, K;
    double *omega;          /* K grid frequencies                                   */
    double complex *g0;     /* N×K: (iω_k − A)⁻¹ B, the target's state response        */
    double s_state, s_ones; /* max_k ‖g₀_k‖², max_k |1ᵀg₀_k|²                         */
    /* cache of the last ptd_tf_value */
    double complex *bt, *R, *Q, *U, *G;
    double *rho, T[2];          /* ρ (state, then ones: 2K), soft maxima   */
    double sup_state, sup_ones; /* max_k relative errors (not squared) on the grid   */
    /* workspaces, so that nothing below allocates: a resolvent solve (g, M, ipiv) and the
     * fixed kernel's zgemm panels */
    double complex *g, *M;
    int *ipiv;
    double *zwork;
} ptd_tf;

size_t ptd_tf_grid_max(size_t N);
/* Every array above, for state size N (1 on success, 0 when memory runs out:
 * ptd_tf_free then frees what was allocated). */
int ptd_tf_alloc(ptd_tf *t, size_t N);
void ptd_tf_free(ptd_tf *t);
/* The grid (log + linear + the |Im λ| of lam's Im < 0 modes) and g₀ on it.
 * A row-major N×N, B length N.  Allocates nothing; returns 0 when iω − A is
 * singular at a grid point or g₀ vanishes on the grid (a numerical failure). */
int ptd_tf_set_grid(ptd_tf *t, const double *A, const double *B, const double complex *lam, size_t nlam);
/* √T for X = V diag(lam) W (W = V⁻¹, row-major); caches what the gradient needs. */
double ptd_tf_value(ptd_tf *t, const double complex *V, const double complex *W, const double complex *lam,
                    const double *B);
/* g += ∇_E (scale·√T) at the point of the last ptd_tf_value. */
void ptd_tf_gradient(ptd_tf *t, double *g, double scale, const double complex *V, const double complex *W,
                     const double complex *lam);

#endif
