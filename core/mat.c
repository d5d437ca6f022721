/* core/mat.c — dense matrix types in double, complex double, MPFR and MPC. */
#include "core/core.h"

#include <gsl/gsl_sort.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* rows*cols elements of `size` bytes, or 0 on overflow */
static int checked_count(size_t *n, size_t rows, size_t cols, size_t size)
{
    if (cols != 0 && rows > SIZE_MAX / cols)
        return 0;
    *n = rows * cols;
    if (size != 0 && *n > SIZE_MAX / size)
        return 0;
    return 1;
}

#define DEFINE_PLAIN_INIT(NAME, TYPE, ELEM)                                          \
    ssm_status NAME(TYPE A, size_t rows, size_t cols)                                \
    {                                                                                \
        size_t n;                                                                    \
        A->data = NULL;                                                              \
        A->rows = A->cols = A->ld = 0;                                               \
        if (!checked_count(&n, rows, cols, sizeof(ELEM)))                            \
            return SSM_ERROR(SSM_ENOMEM, "matrix %zu x %zu is too large", rows, cols); \
        if (n > 0) {                                                                 \
            A->data = calloc(n, sizeof(ELEM));                                       \
            if (!A->data)                                                            \
                return SSM_ERROR(SSM_ENOMEM, "cannot allocate a %zu x %zu matrix", rows, cols); \
        }                                                                            \
        A->rows = rows;                                                              \
        A->cols = cols;                                                              \
        A->ld = cols;                                                                \
        return SSM_OK;                                                               \
    }

DEFINE_PLAIN_INIT(ssm_dmat_init, ssm_dmat_t, double)
DEFINE_PLAIN_INIT(ssm_zmat_init, ssm_zmat_t, double complex)

void ssm_dmat_clear(ssm_dmat_t A)
{
    free(A->data);
    A->data = NULL;
    A->rows = A->cols = A->ld = 0;
}

void ssm_zmat_clear(ssm_zmat_t A)
{
    free(A->data);
    A->data = NULL;
    A->rows = A->cols = A->ld = 0;
}

static ssm_status check_prec(mpfr_prec_t prec)
{
    if (prec < MPFR_PREC_MIN || prec > MPFR_PREC_MAX)
        return SSM_ERROR(SSM_EINVAL, "precision %ld bits is outside [%ld, %ld]", (long)prec,
                         (long)MPFR_PREC_MIN, (long)MPFR_PREC_MAX);
    return SSM_OK;
}

ssm_status ssm_mpmat_init(ssm_mpmat_t A, size_t rows, size_t cols, mpfr_prec_t prec)
{
    size_t n;
    A->data = NULL;
    A->rows = A->cols = A->ld = 0;
    A->prec = prec;
    if (check_prec(prec) != SSM_OK)
        return SSM_EINVAL;
    if (!checked_count(&n, rows, cols, sizeof(mpfr_t)))
        return SSM_ERROR(SSM_ENOMEM, "matrix %zu x %zu is too large", rows, cols);
    if (n > 0) {
        A->data = malloc(n * sizeof(mpfr_t));
        if (!A->data)
            return SSM_ERROR(SSM_ENOMEM, "cannot allocate a %zu x %zu MPFR matrix", rows, cols);
        for (size_t k = 0; k < n; k++) {
            mpfr_init2(A->data[k], prec);
            mpfr_set_zero(A->data[k], 1);
        }
    }
    A->rows = rows;
    A->cols = cols;
    A->ld = cols;
    return SSM_OK;
}

ssm_status ssm_mpcmat_init(ssm_mpcmat_t A, size_t rows, size_t cols, mpfr_prec_t prec)
{
    size_t n;
    A->data = NULL;
    A->rows = A->cols = A->ld = 0;
    A->prec = prec;
    if (check_prec(prec) != SSM_OK)
        return SSM_EINVAL;
    if (!checked_count(&n, rows, cols, sizeof(mpc_t)))
        return SSM_ERROR(SSM_ENOMEM, "matrix %zu x %zu is too large", rows, cols);
    if (n > 0) {
        A->data = malloc(n * sizeof(mpc_t));
        if (!A->data)
            return SSM_ERROR(SSM_ENOMEM, "cannot allocate a %zu x %zu MPC matrix", rows, cols);
        for (size_t k = 0; k < n; k++) {
            mpc_init2(A->data[k], prec);
            mpc_set_ui(A->data[k], 0, MPC_RNDNN);
        }
    }
    A->rows = rows;
    A->cols = cols;
    A->ld = cols;
    return SSM_OK;
}

void ssm_mpmat_clear(ssm_mpmat_t A)
{
    if (A->data)
        for (size_t i = 0; i < A->rows; i++)
            for (size_t j = 0; j < A->cols; j++)
                mpfr_clear(SSM_MP(A, i, j));
    free(A->data);
    A->data = NULL;
    A->rows = A->cols = A->ld = 0;
}

void ssm_mpcmat_clear(ssm_mpcmat_t A)
{
    if (A->data)
        for (size_t i = 0; i < A->rows; i++)
            for (size_t j = 0; j < A->cols; j++)
                mpc_clear(SSM_MP(A, i, j));
    free(A->data);
    A->data = NULL;
    A->rows = A->cols = A->ld = 0;
}

#define CHECK_SAME_SHAPE(X, Y)                                                        \
    do {                                                                              \
        if ((X)->rows != (Y)->rows || (X)->cols != (Y)->cols)                         \
            return SSM_ERROR(SSM_EINVAL, "shape mismatch: %zu x %zu vs %zu x %zu",    \
                             (X)->rows, (X)->cols, (Y)->rows, (Y)->cols);             \
    } while (0)

ssm_status ssm_mpmat_get_dmat(ssm_dmat_t D, const ssm_mpmat_t A)
{
    CHECK_SAME_SHAPE(D, A);
    for (size_t i = 0; i < A->rows; i++)
        for (size_t j = 0; j < A->cols; j++)
            SSM_D(D, i, j) = mpfr_get_d(SSM_MP(A, i, j), MPFR_RNDN);
    return SSM_OK;
}

ssm_status ssm_mpmat_set_dmat(ssm_mpmat_t A, const ssm_dmat_t D)
{
    CHECK_SAME_SHAPE(D, A);
    for (size_t i = 0; i < A->rows; i++)
        for (size_t j = 0; j < A->cols; j++)
            mpfr_set_d(SSM_MP(A, i, j), SSM_D(D, i, j), MPFR_RNDN);
    return SSM_OK;
}

ssm_status ssm_zmat_set_dmat(ssm_zmat_t Z, const ssm_dmat_t D)
{
    CHECK_SAME_SHAPE(Z, D);
    for (size_t i = 0; i < D->rows; i++)
        for (size_t j = 0; j < D->cols; j++)
            SSM_D(Z, i, j) = SSM_D(D, i, j);
    return SSM_OK;
}

ssm_status ssm_mpcmat_set_mpmat(ssm_mpcmat_t Z, const ssm_mpmat_t A)
{
    CHECK_SAME_SHAPE(Z, A);
    for (size_t i = 0; i < A->rows; i++)
        for (size_t j = 0; j < A->cols; j++)
            mpc_set_fr(SSM_MP(Z, i, j), SSM_MP(A, i, j), MPC_RNDNN);
    return SSM_OK;
}

ssm_status ssm_mpcmat_get_zmat(ssm_zmat_t Z, const ssm_mpcmat_t A)
{
    CHECK_SAME_SHAPE(Z, A);
    for (size_t i = 0; i < A->rows; i++)
        for (size_t j = 0; j < A->cols; j++) {
            double re = mpfr_get_d(mpc_realref(SSM_MP(A, i, j)), MPFR_RNDN);
            double im = mpfr_get_d(mpc_imagref(SSM_MP(A, i, j)), MPFR_RNDN);
            SSM_D(Z, i, j) = CMPLX(re, im);
        }
    return SSM_OK;
}

ssm_status ssm_mpcmat_set_zmat(ssm_mpcmat_t Z, const ssm_zmat_t A)
{
    CHECK_SAME_SHAPE(Z, A);
    for (size_t i = 0; i < A->rows; i++)
        for (size_t j = 0; j < A->cols; j++)
            mpc_set_d_d(SSM_MP(Z, i, j), creal(SSM_D(A, i, j)), cimag(SSM_D(A, i, j)), MPC_RNDNN);
    return SSM_OK;
}

ssm_status ssm_mpcmat_split(ssm_mpmat_t T, const ssm_mpcmat_t Z)
{
    if (T->rows != Z->rows || T->cols != 2 * Z->cols)
        return SSM_ERROR(SSM_EINVAL, "split: T is %zu x %zu, need %zu x %zu", T->rows, T->cols, Z->rows, 2 * Z->cols);
    for (size_t i = 0; i < Z->rows; i++)
        for (size_t j = 0; j < Z->cols; j++) {
            mpfr_set(SSM_MP(T, i, 2 * j), mpc_realref(SSM_MP(Z, i, j)), MPFR_RNDN);
            mpfr_set(SSM_MP(T, i, 2 * j + 1), mpc_imagref(SSM_MP(Z, i, j)), MPFR_RNDN);
        }
    return SSM_OK;
}

ssm_status ssm_dmat_copy(ssm_dmat_t B, const ssm_dmat_t A)
{
    CHECK_SAME_SHAPE(B, A);
    for (size_t i = 0; i < A->rows; i++)
        memcpy(&SSM_D(B, i, 0), &SSM_D(A, i, 0), A->cols * sizeof(double));
    return SSM_OK;
}

size_t ssm_sort_unique(double *x, size_t n)
{
    gsl_sort(x, 1, n);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || x[i] > x[u - 1])
            x[u++] = x[i];
    return u;
}

size_t ssm_mpmat_bytes(size_t rows, size_t cols, mpfr_prec_t prec)
{
    size_t n;
    if (prec < 1 || !checked_count(&n, rows, cols, 1))
        return SIZE_MAX;
    size_t limb_bytes = (size_t)((prec + mp_bits_per_limb - 1) / mp_bits_per_limb) * sizeof(mp_limb_t);
    /* malloc keeps ~16 bytes of bookkeeping per limb array */
    size_t per = sizeof(mpfr_t) + limb_bytes + 16;
    if (n != 0 && per > SIZE_MAX / n)
        return SIZE_MAX;
    return n * per;
}

size_t ssm_physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long size = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || size <= 0)
        return 0;
    if ((unsigned long)pages > SIZE_MAX / (unsigned long)size)
        return SIZE_MAX;
    return (size_t)pages * (size_t)size;
}
