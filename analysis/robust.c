/* analysis/robust.c — the pseudospectral abscissa α_ε(A) by the criss-cross
 * algorithm (Burke, Lewis & Overton 2003) and the complex stability radius
 * β(A) = min_ω σ_min(A − iωI) by a Boyd–Balakrishnan-style level iteration
 * (Byers 1988).  Both rest on one fact (Byers): ε is a singular value of
 * B − itI (t real) iff it is an eigenvalue of the Hamiltonian matrix
 *     H(B, ε) = [ B   −εI ]
 *               [ εI  −B* ],
 * so every crossing of a level line is an imaginary eigenvalue of a 2n×2n
 * matrix (zgeev, O(n³)). */
#include "analysis/analysis.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Relative distance from the imaginary axis below which an eigenvalue of H
 * counts as imaginary.  At a tangency the two crossing eigenvalues leave the
 * axis by O(√ε_mach) relative; the intervals they bound are then checked by an
 * SVD at their midpoints, so a generous threshold costs nothing in accuracy. */
#define AXIS_TOL 1e-6

/* σ_min(zI − A) by an SVD (zgesvd, no vectors): O(n³), used for interval tests */
static double sigma_min_svd(const ssm_zmat_t A, double complex z, ssm_status *st)
{
    size_t n = A->rows;
    ssm_zmat_t M;
    double *sv = malloc(n * sizeof *sv);
    if (!sv || ssm_zmat_init(M, n, n) != SSM_OK) {
        free(sv);
        *st = SSM_ERROR(SSM_ENOMEM, "pspec: out of memory");
        return NAN;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            SSM_D(M, i, j) = (i == j ? z : 0) - SSM_D(A, i, j);
    ssm_status s = ssm_zmat_singvals(sv, M);
    double r = sv[n - 1];
    ssm_zmat_clear(M);
    free(sv);
    if (s != SSM_OK) {
        *st = s;
        return NAN;
    }
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The real t with ε a singular value of (alpha·A + shift·I) − itI, sorted:
 * the imaginary eigenvalues it of H(alpha·A + shift·I, ε).  t has room for 2n. */
static ssm_status crossings(double *t, size_t *count, const ssm_zmat_t A, double complex alpha,
                            double complex shift, double eps)
{
    size_t n = A->rows, m = 2 * n;
    ssm_zmat_t H;
    double complex *w = malloc(m * sizeof *w);
    ssm_status s = w ? ssm_zmat_init(H, m, m) : SSM_ERROR(SSM_ENOMEM, "pspec: out of memory");
    if (s != SSM_OK) {
        free(w);
        return s;
    }
    double scale = 0, ssq = 1;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            double complex b = alpha * SSM_D(A, i, j) + (i == j ? shift : 0);
            SSM_D(H, i, j) = b;
            SSM_D(H, n + j, n + i) = -conj(b);
            ssm_ssq_add(&scale, &ssq, cabs(b));
        }
        SSM_D(H, i, n + i) = -eps;
        SSM_D(H, n + i, i) = eps;
    }
    double normH = sqrt(2.0) * hypot(scale * sqrt(ssq), eps * sqrt((double)n));
    s = ssm_zmat_eigvals(w, H);
    *count = 0;
    if (s == SSM_OK)
        for (size_t k = 0; k < m; k++)
            if (fabs(creal(w[k])) <= AXIS_TOL * normH)
                t[(*count)++] = cimag(w[k]);
    qsort(t, *count, sizeof *t, cmp_double);
    ssm_zmat_clear(H);
    free(w);
    return s;
}

ssm_status ssm_pspec_abscissa(double *alpha, double complex *z_at, int *iterations, const ssm_zmat_t A, double eps)
{
    size_t n = A->rows;
    if (n == 0 || A->cols != n)
        return SSM_ERROR(SSM_EINVAL, "abscissa: the matrix must be square and non-empty");
    if (!(eps > 0) || !isfinite(eps))
        return SSM_ERROR(SSM_EINVAL, "abscissa: eps must be positive and finite");
    double complex *lam = malloc(n * sizeof *lam);
    double *t = malloc(2 * n * sizeof *t), *ys = malloc(2 * n * sizeof *ys);
    ssm_status s = lam && t && ys ? ssm_zmat_eigvals(lam, A) : SSM_ERROR(SSM_ENOMEM, "abscissa: out of memory");
    size_t ny = 0;
    double best = -INFINITY, ybest = 0, scale = 0;
    int it = 0;
    if (s == SSM_OK) {
        /* start from every rightmost eigenvalue (ties to 1e-12 relative) */
        double x = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            x = fmax(x, creal(lam[i]));
            scale = fmax(scale, cabs(lam[i]));
        }
        scale = fmax(scale, eps);
        for (size_t i = 0; i < n; i++)
            if (creal(lam[i]) >= x - 1e-12 * scale)
                ys[ny++] = cimag(lam[i]);
    }
    for (; s == SSM_OK && it < 60; it++) {
        /* horizontal searches: x with ε = σ_k(A − (x + iy)I); i(A − iyI) − ixI has the same σ */
        double xnew = -INFINITY, ynew = ybest;
        for (size_t k = 0; k < ny && s == SSM_OK; k++) {
            size_t c;
            s = crossings(t, &c, A, I, ys[k], eps);
            if (s == SSM_OK && c > 0 && t[c - 1] > xnew) {
                xnew = t[c - 1];
                ynew = ys[k];
            }
        }
        if (s != SSM_OK)
            break;
        if (!(xnew > best + 1e-14 * scale)) {
            if (best == -INFINITY)
                s = SSM_ERROR(SSM_ENOCONV, "abscissa: no boundary crossing found from the rightmost eigenvalue");
            break;
        }
        double gain = xnew - best;
        best = xnew;
        ybest = ynew;
        if (gain <= 1e-12 * scale)
            break;
        /* vertical search on Re z = best: the y with σ_k = ε, and the intervals
         * between them where σ_min < ε; their midpoints start the next sweep */
        size_t c;
        s = crossings(t, &c, A, 1, -best, eps);
        ny = 0;
        for (size_t k = 0; s == SSM_OK && k + 1 < c; k++) {
            double mid = 0.5 * (t[k] + t[k + 1]);
            if (t[k + 1] - t[k] > 1e-12 * scale && sigma_min_svd(A, CMPLX(best, mid), &s) < eps)
                ys[ny++] = mid;
        }
        if (ny == 0)
            break; /* the vertical line only touches Λ_ε: a local maximum */
    }
    if (s == SSM_OK && it >= 60)
        s = SSM_ERROR(SSM_ENOCONV, "abscissa: criss-cross did not converge in 60 sweeps");
    if (s == SSM_OK) {
        *alpha = best;
        if (z_at)
            *z_at = CMPLX(best, ybest);
        if (iterations)
            *iterations = it + 1;
    }
    free(lam); free(t); free(ys);
    return s;
}

ssm_status ssm_stability_radius(double *beta, double *omega_at, int *iterations, const ssm_zmat_t A)
{
    size_t n = A->rows;
    if (n == 0 || A->cols != n)
        return SSM_ERROR(SSM_EINVAL, "stability radius: the matrix must be square and non-empty");
    double complex *lam = malloc(n * sizeof *lam);
    double *t = malloc(2 * n * sizeof *t);
    ssm_status s = lam && t ? ssm_zmat_eigvals(lam, A) : SSM_ERROR(SSM_ENOMEM, "stability radius: out of memory");
    double b = INFINITY, w = 0;
    int it = 0;
    for (size_t i = 0; s == SSM_OK && i < n; i++)
        if (creal(lam[i]) >= 0) {
            s = SSM_ERROR(SSM_EINVAL, "stability radius: A is not stable (eigenvalue %g%+gi)", creal(lam[i]),
                          cimag(lam[i]));
        }
    /* start: σ_min on the imaginary axis beside each eigenvalue, and at 0 */
    for (size_t i = 0; s == SSM_OK && i <= n; i++) {
        double om = i < n ? cimag(lam[i]) : 0;
        double v = sigma_min_svd(A, CMPLX(0, om), &s);
        if (v < b) {
            b = v;
            w = om;
        }
    }
    /* level iteration: the crossings of level (1 − 2δ)β bound the intervals
     * where σ_min is lower; the least value at their midpoints is the next β
     * (quadratic convergence, Boyd & Balakrishnan 1990).  δ = 1e-10: β is
     * then within about 2e-10 relative of the minimum when no interval is left. */
    for (; s == SSM_OK && it < 60; it++) {
        double level = b * (1 - 2e-10);
        size_t c;
        s = crossings(t, &c, A, 1, 0, level);
        int improved = 0;
        for (size_t k = 0; s == SSM_OK && k + 1 < c; k++) {
            double mid = 0.5 * (t[k] + t[k + 1]);
            double v = sigma_min_svd(A, CMPLX(0, mid), &s);
            if (v < b) {
                b = v;
                w = mid;
                improved = 1;
            }
        }
        if (!improved)
            break;
    }
    if (s == SSM_OK && it >= 60)
        s = SSM_ERROR(SSM_ENOCONV, "stability radius: no convergence in 60 iterations");
    if (s == SSM_OK) {
        *beta = b;
        if (omega_at)
            *omega_at = w;
        if (iterations)
            *iterations = it + 1;
    }
    free(lam); free(t);
    return s;
}
