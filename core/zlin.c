/* core/zlin.c — complex dense linear algebra through LAPACKE/CBLAS. */
#include "core/core.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static ssm_status zpack(double complex **out, const ssm_zmat_t A)
{
    size_t n = A->rows * A->cols;
    *out = ssm_lapack_alloc(n, sizeof(double complex));
    if (!*out)
        return SSM_ERROR(SSM_ENOMEM, "cannot allocate a %zu x %zu work matrix", A->rows, A->cols);
    for (size_t i = 0; i < A->rows; i++)
        memcpy(*out + i * A->cols, &SSM_D(A, i, 0), A->cols * sizeof(double complex));
    return SSM_OK;
}

ssm_status ssm_zmat_copy(ssm_zmat_t B, const ssm_zmat_t A)
{
    if (A->rows != B->rows || A->cols != B->cols)
        return SSM_ERROR(SSM_EINVAL, "copy: shape mismatch");
    for (size_t i = 0; i < A->rows; i++)
        memcpy(&SSM_D(B, i, 0), &SSM_D(A, i, 0), A->cols * sizeof(double complex));
    return SSM_OK;
}

ssm_status ssm_zmat_singvals(double *s, const ssm_zmat_t A)
{
    size_t m = A->rows, n = A->cols;
    if (m == 0 || n == 0)
        return SSM_OK;
    double complex *a;
    ssm_status st = zpack(&a, A);
    if (st != SSM_OK)
        return st;
    /* the buffer is Aᵀ in column-major order (n x m): same singular values */
    int info = ssm_k_zgesvd('N', 'N', (int)n, (int)m, a, (int)n, s, NULL, 1, NULL, 1);
    free(a);
    return ssm_lapack_status("zgesvd", info);
}

/* σ_max through the given singular-value routine (k = min(rows, cols)) */
static double top_singval(size_t k, ssm_status (*sv)(double *, const void *), const void *A)
{
    if (k == 0)
        return 0.0;
    double *s = malloc(k * sizeof *s);
    double r = s && sv(s, A) == SSM_OK ? s[0] : NAN;
    free(s);
    return r;
}

static ssm_status zsv(double *s, const void *A) { return ssm_zmat_singvals(s, A); }
static ssm_status dsv(double *s, const void *A) { return ssm_dmat_singvals(s, A); }

double ssm_zmat_norm2(const ssm_zmat_t A)
{
    return top_singval(A->rows < A->cols ? A->rows : A->cols, zsv, A);
}

double ssm_dmat_norm2(const ssm_dmat_t A)
{
    return top_singval(A->rows < A->cols ? A->rows : A->cols, dsv, A);
}

double ssm_zmat_norm_fro(const ssm_zmat_t A)
{
    double scale = 0.0, ssq = 1.0;
    for (size_t i = 0; i < A->rows; i++)
        for (size_t j = 0; j < A->cols; j++) {
            ssm_ssq_add(&scale, &ssq, creal(SSM_D(A, i, j)));
            ssm_ssq_add(&scale, &ssq, cimag(SSM_D(A, i, j)));
        }
    return scale * sqrt(ssq);
}

ssm_status ssm_zmat_gemm(ssm_zmat_t C, double complex alpha, const ssm_zmat_t A, int opA,
                         const ssm_zmat_t B, int opB, double complex beta)
{
    size_t m = opA ? A->cols : A->rows, k = opA ? A->rows : A->cols;
    size_t kb = opB ? B->cols : B->rows, n = opB ? B->rows : B->cols;
    if (k != kb || C->rows != m || C->cols != n)
        return SSM_ERROR(SSM_EINVAL, "zgemm: incompatible shapes");
    if (m == 0 || n == 0)
        return SSM_OK;
    ssm_k_zgemm(1, opA, opB, (int)m, (int)n, (int)k, alpha, A->data, (int)(A->ld ? A->ld : 1), B->data,
                (int)(B->ld ? B->ld : 1), beta, C->data, (int)(C->ld ? C->ld : 1));
    return SSM_OK;
}

ssm_status ssm_zmat_solve(ssm_zmat_t B, const ssm_zmat_t A)
{
    size_t n = A->rows, k = B->cols;
    if (A->cols != n || B->rows != n)
        return SSM_ERROR(SSM_EINVAL, "solve: A must be square and match B's rows");
    if (n == 0 || k == 0)
        return SSM_OK;
    /* column-major copies of A and B */
    double complex *a = ssm_lapack_alloc(n * n, sizeof *a), *b = ssm_lapack_alloc(n * k, sizeof *b);
    int *ipiv = malloc(n * sizeof *ipiv);
    if (!a || !b || !ipiv) {
        free(a); free(b); free(ipiv);
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++)
            a[j * n + i] = SSM_D(A, i, j);
        for (size_t j = 0; j < k; j++)
            b[j * n + i] = SSM_D(B, i, j);
    }
    int info = ssm_k_zgesv((int)n, (int)k, a, (int)n, ipiv, b, (int)n);
    if (info == 0)
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < k; j++)
                SSM_D(B, i, j) = b[j * n + i];
    free(a);
    free(b);
    free(ipiv);
    if (info > 0)
        return SSM_ERROR(SSM_ELOSS, "zgesv: the matrix is exactly singular (U(%d,%d) = 0)", (int)info, (int)info);
    return ssm_lapack_status("zgesv", info);
}

ssm_status ssm_zmat_eigvals(double complex *w, const ssm_zmat_t A)
{
    size_t n = A->rows;
    if (A->cols != n)
        return SSM_ERROR(SSM_EINVAL, "eigenvalues need a square matrix");
    if (n == 0)
        return SSM_OK;
    double complex *a;
    ssm_status st = zpack(&a, A);
    if (st != SSM_OK)
        return st;
    /* Aᵀ in column-major order: same eigenvalues */
    int info = ssm_k_zgeev('N', 'N', (int)n, a, (int)n, w, NULL, 1, NULL, 1);
    free(a);
    return ssm_lapack_status("zgeev", info);
}

ssm_status ssm_zmat_svd_min(double *smin, double *smax, double complex *u, double complex *v, const ssm_zmat_t A)
{
    size_t n = A->rows;
    if (A->cols != n || n == 0)
        return SSM_ERROR(SSM_EINVAL, "svd_min: A must be square and non-empty");
    double complex *a, *U = ssm_lapack_alloc(n * n, sizeof *U), *VT = ssm_lapack_alloc(n * n, sizeof *VT);
    double *s = malloc(n * sizeof *s);
    ssm_status st = U && VT && s ? zpack(&a, A) : SSM_ERROR(SSM_ENOMEM, "svd_min: out of memory (n = %zu)", n);
    if (st == SSM_OK) {
        /* the buffer is Aᵀ in column-major order: Aᵀ = U Σ VT gives A = conj(VT)ᵀ Σ conj(U)ᵀ, so A's
         * left singular vectors are the rows of VT read as columns, its right ones conj(U)'s columns */
        int ni = (int)n;
        st = ssm_lapack_status("zgesvd", ssm_k_zgesvd('A', 'A', ni, ni, a, ni, s, U, ni, VT, ni));
        free(a);
    }
    if (st == SSM_OK) {
        *smin = s[n - 1];
        *smax = s[0];
        for (size_t i = 0; i < n; i++) {
            u[i] = VT[(n - 1) + i * n];
            v[i] = conj(U[i + (n - 1) * n]);
        }
    }
    free(U); free(VT); free(s);
    return st;
}
