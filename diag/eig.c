/* diag/eig.c — general dense eigendecomposition in double with its
 * conditioning and residuals reported alongside (never hidden). */
#include "diag/diag.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ssm_diag_normalize_columns(ssm_zmat_t V)
{
    for (size_t j = 0; j < V->cols; j++) {
        double nrm = 0.0, big = -1.0;
        size_t at = 0;
        for (size_t i = 0; i < V->rows; i++) {
            double a = cabs(SSM_D(V, i, j));
            nrm = hypot(nrm, a);
            if (a > big * (1.0 + 1e-12)) { /* lowest index wins near-ties */
                big = a;
                at = i;
            }
        }
        if (nrm == 0.0)
            continue;
        double complex ph = SSM_D(V, at, j) / cabs(SSM_D(V, at, j));
        double complex f = conj(ph) / nrm;
        for (size_t i = 0; i < V->rows; i++)
            SSM_D(V, i, j) *= f;
        SSM_D(V, at, j) = creal(SSM_D(V, at, j)); /* exactly real */
    }
}

/* ‖A V − V Λ‖₂/(‖A‖₂‖V‖₂) and ‖A − V Λ V⁻¹‖₂/‖A‖₂ */
static ssm_status residuals(ssm_eig_info *info, const ssm_zmat_t A, const double complex *lambda,
                            const ssm_zmat_t V, const ssm_zmat_t Vinv)
{
    size_t n = A->rows;
    ssm_zmat_t R, VL;
    ssm_status s = ssm_zmat_init(R, n, n);
    if (s == SSM_OK)
        s = ssm_zmat_init(VL, n, n);
    if (s != SSM_OK) {
        ssm_zmat_clear(R);
        return s;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            SSM_D(VL, i, j) = SSM_D(V, i, j) * lambda[j];
    /* ssm_zmat_norm2 answers NaN when its SVD fails (out of memory): a failure, not a value */
#define NORM2_OK(x) (!isnan(x) ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "eig: a spectral norm of the residual could not be "  \
                                                                "computed (out of memory)"))
    double nA = ssm_zmat_norm2(A), nV = ssm_zmat_norm2(V), r = 0.0;
    s = NORM2_OK(nA + nV);
    if (s == SSM_OK) s = ssm_zmat_copy(R, VL);
    if (s == SSM_OK) s = ssm_zmat_gemm(R, 1.0, A, 0, V, 0, -1.0); /* A V − V Λ */
    if (s == SSM_OK) s = NORM2_OK(r = ssm_zmat_norm2(R));
    /* relative to ‖A‖‖V‖; for A = 0 the absolute residual (0/0 printed "nan") */
    if (s == SSM_OK) info->backward_error = nA * nV > 0 ? r / (nA * nV) : r;
    if (s == SSM_OK) s = ssm_zmat_copy(R, A);
    if (s == SSM_OK) s = ssm_zmat_gemm(R, -1.0, VL, 0, Vinv, 0, 1.0); /* A − V Λ V⁻¹ */
    if (s == SSM_OK) s = NORM2_OK(r = ssm_zmat_norm2(R));
    if (s == SSM_OK) info->reconstruction_error = nA > 0 ? r / nA : r;
#undef NORM2_OK
    ssm_zmat_clear(R);
    ssm_zmat_clear(VL);
    return s;
}

ssm_status ssm_diag_eig(double complex *lambda, ssm_zmat_t V, ssm_zmat_t Vinv, ssm_eig_info *info,
                        const ssm_zmat_t A)
{
    size_t n = A->rows;
    if (A->cols != n || V->rows != n || V->cols != n || Vinv->rows != n || Vinv->cols != n)
        return SSM_ERROR(SSM_EINVAL, "eig: A, V and Vinv must be %zu x %zu", n, n);
    if (n == 0)
        return SSM_OK;
    /* column-major padded copies (see ssm_lapack_alloc) */
    double complex *a = ssm_lapack_alloc(n * n, sizeof *a), *vr = ssm_lapack_alloc(n * n, sizeof *vr);
    ssm_status s = SSM_OK;
    if (!a || !vr) {
        free(a);
        free(vr);
        return SSM_ERROR(SSM_ENOMEM, "eig: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            a[j * n + i] = SSM_D(A, i, j);
    int info_l = ssm_k_zgeev('N', 'V', (int)n, a, (int)n, lambda, NULL, 1, vr, (int)n);
    s = ssm_lapack_status("zgeev", info_l);
    if (s == SSM_OK)
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                SSM_D(V, i, j) = vr[j * n + i];
    free(a);
    free(vr);
    if (s == SSM_OK) {
        ssm_diag_normalize_columns(V);
        /* V⁻¹ by solving V X = I */
        memset(Vinv->data, 0, n * Vinv->ld * sizeof(double complex));
        for (size_t i = 0; i < n; i++)
            SSM_D(Vinv, i, i) = 1.0;
        s = ssm_zmat_solve(Vinv, V);
        if (s == SSM_ELOSS)
            s = SSM_ERROR(SSM_ELOSS, "eig: the eigenvector matrix is singular (defective matrix)");
    }
    if (s == SSM_OK && info) {
        double *sv = malloc(n * sizeof *sv);
        if (!sv)
            s = SSM_ERROR(SSM_ENOMEM, "out of memory");
        else {
            s = ssm_zmat_singvals(sv, V);
            info->kappa_V = sv[n - 1] > 0 ? sv[0] / sv[n - 1] : INFINITY;
            free(sv);
        }
        if (s == SSM_OK)
            s = residuals(info, A, lambda, V, Vinv);
    }
    return s;
}
