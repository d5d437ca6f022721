/* analysis/kernel.c — the discrete convolution kernel of a continuous system under
 * zero-order hold (ZOH) at step Δ, as an S4/S4D layer computes it (doc/reference.md §3):
 *
 *   x_ℓ = Ā x_{ℓ−1} + B̄ u_ℓ,  y_ℓ = C x_ℓ  ⇒  y = K * u,  K_ℓ = C Ā^ℓ B̄,  ℓ = 0 .. L−1,
 *   Ā = e^{ΔA},  B̄ = ∫₀^Δ e^{sA} ds · B  (= A⁻¹(Ā − I)B when A is invertible).
 *
 * D is the layer's skip term (y += D u), not part of K.  Two routes: the diagonal (modal) form in
 * closed form, K_ℓ = Σ_k c_k b_k Δ φ₁(Δλ_k) e^{ℓΔλ_k} with φ₁(z) = (e^z − 1)/z (the Vandermonde
 * kernel of train/ssm_layer.c and python/ssmkit/torch.py S4DKernel), and any dense (A, B, C) by
 * Van Loan's block exponential exp(Δ[[A, B], [0, 0]]) = [[Ā, B̄], [0, I]] (no inverse of A needed)
 * followed by L products with Ā. */
#include "analysis/analysis.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* φ₁(z) = (e^z − 1)/z without the cancellation of e^z − 1 near 0 (Taylor series for |z| < 1/2,
 * whose terms fall by 2 at least: 60 terms leave < 2⁻⁶⁰ relative) */
static double complex phi1(double complex z)
{
    if (cabs(z) >= 0.5)
        return (cexp(z) - 1.0) / z;
    double complex term = 1.0, sum = 1.0;
    for (int k = 2; k < 60 && cabs(term) > 1e-17 * cabs(sum); k++) {
        term *= z / (double)k;
        sum += term;
    }
    return sum;
}

ssm_status ssm_tf_modal_kernel(double complex *K, const ssm_tf_modal *m, double dt, size_t L)
{
    if (m->Pt->rows)
        return SSM_ERROR(SSM_EINVAL, "kernel: a DPLR system has no diagonal kernel (use its dense form)");
    if (!(dt > 0.0) || !isfinite(dt))
        return SSM_ERROR(SSM_EINVAL, "kernel: the step must be a positive number, got %g", dt);
    for (size_t l = 0; l < L; l++)
        K[l] = 0.0;
    for (size_t k = 0; k < m->M; k++) {
        double complex z = cexp(dt * m->lambda[k]);
        double complex w = m->c[k] * m->b[k] * dt * phi1(dt * m->lambda[k]); /* ℓ = 0 */
        if (!isfinite(creal(z)) || !isfinite(cimag(z)))
            return SSM_ERROR(SSM_ELOSS, "kernel: e^{dt lambda} overflows for lambda = %g%+gi", creal(m->lambda[k]),
                             cimag(m->lambda[k]));
        for (size_t l = 0; l < L; l++) {
            K[l] += m->conj_sym ? 2.0 * creal(w) : w; /* the implied conjugate mode adds conj(w) */
            w *= z;
        }
    }
    for (size_t l = 0; l < L; l++)
        if (!isfinite(creal(K[l])) || !isfinite(cimag(K[l])))
            return SSM_ERROR(SSM_ELOSS, "kernel: K is not finite at l = %zu (an unstable mode grows past the "
                                        "double range)", l);
    return SSM_OK;
}

/* [[Ā, B̄], [0, I]] = exp(Δ[[A, B], [0, 0]]) by GSL (scaling and squaring), in real arithmetic: a
 * complex X = Xr + iXi enters as [[Xr, −Xi], [Xi, Xr]], whose exponential is that of X in the same
 * layout (the embedding is an algebra homomorphism).  Abar n×n, Bbar n×m. */
static ssm_status zoh(ssm_zmat_t Abar, ssm_zmat_t Bbar, const ssm_zmat_t A, const ssm_zmat_t B, double dt)
{
    size_t n = A->rows, m = B->cols, q = n + m;
    int cplx = 0;
    for (size_t i = 0; i < n * n && !cplx; i++)
        cplx = cimag(A->data[i]) != 0.0;
    for (size_t i = 0; i < n * m && !cplx; i++)
        cplx = cimag(B->data[i]) != 0.0;
    size_t Q = cplx ? 2 * q : q;
    gsl_set_error_handler_off();
    gsl_matrix *X = gsl_matrix_calloc(Q, Q), *E = gsl_matrix_alloc(Q, Q);
    ssm_status s = X && E ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "kernel: out of memory for the %zu x %zu exponential", Q, Q);
    for (size_t i = 0; s == SSM_OK && i < n; i++)
        for (size_t j = 0; j < q; j++) {
            double complex v = dt * (j < n ? SSM_D(A, i, j) : SSM_D(B, i, j - n));
            gsl_matrix_set(X, i, j, creal(v));
            if (cplx) {
                gsl_matrix_set(X, q + i, q + j, creal(v));
                gsl_matrix_set(X, i, q + j, -cimag(v));
                gsl_matrix_set(X, q + i, j, cimag(v));
            }
        }
    if (s == SSM_OK && gsl_linalg_exponential_ss(X, E, GSL_PREC_DOUBLE) != 0)
        s = SSM_ERROR(SSM_ENOCONV, "kernel: the matrix exponential failed (dt = %g)", dt);
    for (size_t i = 0; s == SSM_OK && i < n; i++)
        for (size_t j = 0; j < q; j++) {
            double re = gsl_matrix_get(E, i, j), im = cplx ? gsl_matrix_get(E, q + i, j) : 0.0;
            if (!isfinite(re) || !isfinite(im)) {
                s = SSM_ERROR(SSM_ELOSS, "kernel: exp(dt A) is not finite (dt = %g)", dt);
                break;
            }
            if (j < n)
                SSM_D(Abar, i, j) = CMPLX(re, im);
            else
                SSM_D(Bbar, i, j - n) = CMPLX(re, im);
        }
    gsl_matrix_free(X);
    gsl_matrix_free(E);
    return s;
}

ssm_status ssm_tf_dense_kernel(double complex *K, const ssm_zmat_t A, const ssm_zmat_t B, const ssm_zmat_t C,
                               double dt, size_t L)
{
    size_t n = A->rows, m = B->cols, p = C->rows;
    if (n == 0 || A->cols != n || B->rows != n || C->cols != n || m == 0 || p == 0)
        return SSM_ERROR(SSM_EINVAL, "kernel: A must be n x n, B n x m, C p x n (got %zux%zu, %zux%zu, %zux%zu)",
                         A->rows, A->cols, B->rows, B->cols, C->rows, C->cols);
    if (!(dt > 0.0) || !isfinite(dt))
        return SSM_ERROR(SSM_EINVAL, "kernel: the step must be a positive number, got %g", dt);
    if (n > 65536 || m > 4096 || p > 4096)
        return SSM_ERROR(SSM_EINVAL, "kernel: %zu states, %zu inputs, %zu outputs is above what is supported", n, m, p);
    ssm_zmat_t Abar, X, Y, CX;
    memset(Abar, 0, sizeof Abar); memset(X, 0, sizeof X); memset(Y, 0, sizeof Y); memset(CX, 0, sizeof CX);
    ssm_status s = ssm_zmat_init(Abar, n, n);
    if (s == SSM_OK) s = ssm_zmat_init(X, n, m);
    if (s == SSM_OK) s = ssm_zmat_init(Y, n, m);
    if (s == SSM_OK) s = ssm_zmat_init(CX, p, m);
    if (s == SSM_OK) s = zoh(Abar, X, A, B, dt);
    /* X = Ā^ℓ B̄: K[:, :, ℓ] = C X, then X ← Ā X */
    for (size_t l = 0; s == SSM_OK && l < L; l++) {
        ssm_k_zgemm(1, 0, 0, (int)p, (int)m, (int)n, 1.0, C->data, (int)C->ld, X->data, (int)X->ld, 0.0, CX->data,
                    (int)CX->ld);
        for (size_t i = 0; i < p; i++)
            for (size_t j = 0; j < m; j++) {
                double complex v = SSM_D(CX, i, j);
                if (!isfinite(creal(v)) || !isfinite(cimag(v))) {
                    s = SSM_ERROR(SSM_ELOSS, "kernel: K is not finite at l = %zu (an unstable mode grows past the "
                                             "double range)", l);
                    break;
                }
                K[(i * m + j) * L + l] = v;
            }
        if (l + 1 < L) {
            ssm_k_zgemm(1, 0, 0, (int)n, (int)m, (int)n, 1.0, Abar->data, (int)Abar->ld, X->data, (int)X->ld, 0.0,
                        Y->data, (int)Y->ld);
            ssm_zmat_struct t = X[0];
            X[0] = Y[0];
            Y[0] = t;
        }
    }
    ssm_zmat_clear(Abar); ssm_zmat_clear(X); ssm_zmat_clear(Y); ssm_zmat_clear(CX);
    return s;
}
