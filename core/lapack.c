/* core/lapack.c — the one place where LAPACK's info becomes an ssm_status. */
#include "core/core.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

ssm_status ssm_lapack_status(const char *routine, int info)
{
    if (info == 0)
        return SSM_OK;
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return SSM_ERROR(SSM_ENOMEM, "%s: out of memory for workspace", routine);
    if (info < 0)
        return SSM_ERROR(SSM_EINVAL, "%s: argument %d has an illegal value", routine, -info);
    return SSM_ERROR(SSM_ENOCONV, "%s: the algorithm failed to converge (info = %d)", routine, info);
}

void *ssm_lapack_alloc(size_t count, size_t elem)
{
    /* the over-read reaches past the last column by a few columns' worth: a
     * fixed 64 elements sufficed for the ZEN kernels, not for the HASWELL ones
     * that run under valgrind (a read 1040 bytes past a 72×72 matrix, from
     * zgesvd → zgebrd → zlarf → zgemv_n) — pad by 8 columns of a square matrix
     * as well */
    size_t side = 1;
    while (side * side < count)
        side++;
    return calloc(count + SSM_LAPACK_PAD + 8 * side, elem);
}

/* packed row-major copy = column-major storage of Aᵀ, padded */
static ssm_status copy_packed(double **out, const ssm_dmat_t A)
{
    size_t n = A->rows * A->cols;
    *out = ssm_lapack_alloc(n, sizeof(double));
    if (!*out)
        return SSM_ERROR(SSM_ENOMEM, "cannot allocate a %zu x %zu work matrix", A->rows, A->cols);
    for (size_t i = 0; i < A->rows; i++)
        memcpy(*out + i * A->cols, &SSM_D(A, i, 0), A->cols * sizeof(double));
    return SSM_OK;
}

ssm_status ssm_dmat_eigvals(double complex *w, const ssm_dmat_t A)
{
    if (A->rows != A->cols)
        return SSM_ERROR(SSM_EINVAL, "eigenvalues need a square matrix, got %zu x %zu", A->rows, A->cols);
    size_t n = A->rows;
    if (n == 0)
        return SSM_OK;
    double *a, *wr = malloc(2 * n * sizeof(double));
    if (!wr)
        return SSM_ERROR(SSM_ENOMEM, "cannot allocate eigenvalue workspace");
    ssm_status s = copy_packed(&a, A);
    if (s != SSM_OK) {
        free(wr);
        return s;
    }
    double *wi = wr + n;
    /* the buffer holds Aᵀ in column-major order: same eigenvalues */
    int info = ssm_k_dgeev('N', 'N', (int)n, a, (int)n, wr, wi, NULL, 1, NULL, 1);
    s = ssm_lapack_status("dgeev", info);
    if (s == SSM_OK)
        for (size_t k = 0; k < n; k++)
            w[k] = CMPLX(wr[k], wi[k]);
    free(a);
    free(wr);
    return s;
}

ssm_status ssm_dmat_singvals(double *sv, const ssm_dmat_t A)
{
    size_t m = A->rows, n = A->cols;
    if (m == 0 || n == 0)
        return SSM_OK;
    double *a;
    ssm_status s = copy_packed(&a, A);
    if (s != SSM_OK)
        return s;
    /* Aᵀ in column-major order (n x m): same singular values */
    int info = ssm_k_dgesdd('N', (int)n, (int)m, a, (int)n, sv, NULL, 1, NULL, 1);
    free(a);
    return ssm_lapack_status("dgesdd", info);
}

ssm_status ssm_dmat_gemm(ssm_dmat_t C, double alpha, const ssm_dmat_t A, int tA,
                         const ssm_dmat_t B, int tB, double beta)
{
    size_t m = tA ? A->cols : A->rows, k = tA ? A->rows : A->cols;
    size_t kb = tB ? B->cols : B->rows, n = tB ? B->rows : B->cols;
    if (k != kb || C->rows != m || C->cols != n)
        return SSM_ERROR(SSM_EINVAL, "gemm: incompatible shapes");
    if (m == 0 || n == 0)
        return SSM_OK;
    ssm_k_dgemm(1, tA != 0, tB != 0, (int)m, (int)n, (int)k, alpha, A->data, (int)(A->ld ? A->ld : 1), B->data,
                (int)(B->ld ? B->ld : 1), beta, C->data, (int)(C->ld ? C->ld : 1));
    return SSM_OK;
}

void ssm_ssq_add(double *scale, double *ssq, double x)
{
    x = fabs(x);
    if (x == 0.0)
        return;
    if (*scale < x) {
        *ssq = 1.0 + *ssq * (*scale / x) * (*scale / x);
        *scale = x;
    } else {
        *ssq += (x / *scale) * (x / *scale);
    }
}

double ssm_dmat_norm_fro(const ssm_dmat_t A)
{
    double scale = 0.0, ssq = 1.0;
    for (size_t i = 0; i < A->rows; i++)
        for (size_t j = 0; j < A->cols; j++)
            ssm_ssq_add(&scale, &ssq, SSM_D(A, i, j));
    return scale * sqrt(ssq);
}
