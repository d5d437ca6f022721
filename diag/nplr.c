/* diag/nplr.c — the normal-plus-low-rank (S4) decomposition and the fixed
 * diagonal initialisations of S4D.  doc/reference.md §2–§3. */
#include "diag/diag.h"

#include <float.h>
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ssm_diag_s4d_lin(double complex *lambda, size_t N)
{
    for (size_t n = 0; n < N / 2; n++)
        lambda[n] = CMPLX(-0.5, M_PI * (double)n);
}

void ssm_diag_s4d_inv(double complex *lambda, size_t N)
{
    double dN = (double)N;
    for (size_t n = 0; n < N / 2; n++)
        lambda[n] = CMPLX(-0.5, dN / M_PI * (dN / (2.0 * (double)n + 1.0) - 1.0));
}

void ssm_diag_s4d_real(double complex *lambda, size_t N)
{
    for (size_t n = 0; n < N / 2; n++)
        lambda[n] = -(double)(n + 1);
}

/* A_rec = V_f (diag W_f − P̃_f P̃_f*) V_f* over the conjugate-closed set */
static ssm_status nplr_residuals(ssm_nplr_info *info, const double complex *W, const ssm_zmat_t V,
                                 const ssm_dmat_t A, const ssm_dmat_t P)
{
    size_t N = A->rows, M = N / 2, r = P->rows;
    ssm_zmat_t Vf, Pf, Mid, T, R;
    memset(Pf, 0, sizeof Pf); memset(Mid, 0, sizeof Mid); memset(T, 0, sizeof T); memset(R, 0, sizeof R);
    ssm_status s = ssm_zmat_init(Vf, N, N);
    if (s == SSM_OK) s = ssm_zmat_init(Pf, N, r ? r : 1);
    if (s == SSM_OK) s = ssm_zmat_init(Mid, N, N);
    if (s == SSM_OK) s = ssm_zmat_init(T, N, N);
    if (s == SSM_OK) s = ssm_zmat_init(R, N, N);
    if (s != SSM_OK)
        goto out;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < M; j++) {
            SSM_D(Vf, i, j) = SSM_D(V, i, j);
            SSM_D(Vf, i, j + M) = conj(SSM_D(V, i, j));
        }
    /* P̃_f = V_f* Pᵀ */
    ssm_zmat_t Pz;
    s = ssm_zmat_init(Pz, N, r ? r : 1);
    if (s != SSM_OK)
        goto out;
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < r; k++)
            SSM_D(Pz, i, k) = SSM_D(P, k, i);
    s = ssm_zmat_gemm(Pf, 1.0, Vf, 2, Pz, 0, 0.0);
    ssm_zmat_clear(Pz);
    /* Mid = diag(W_f) − P̃_f P̃_f* */
    if (s == SSM_OK) s = ssm_zmat_gemm(Mid, -1.0, Pf, 0, Pf, 2, 0.0);
    if (s != SSM_OK)
        goto out;
    if (r == 0)
        memset(Mid->data, 0, N * N * sizeof(double complex));
    for (size_t j = 0; j < M; j++) {
        SSM_D(Mid, j, j) += W[j];
        SSM_D(Mid, j + M, j + M) += conj(W[j]);
    }
    s = ssm_zmat_gemm(T, 1.0, Vf, 0, Mid, 0, 0.0);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            SSM_D(R, i, j) = SSM_D(A, i, j);
    if (s == SSM_OK) s = ssm_zmat_gemm(R, -1.0, T, 0, Vf, 2, 1.0);
    double nR, nA;
    if (s == SSM_OK) s = ssm_zmat_norm2(&nR, R);
    if (s == SSM_OK) s = ssm_dmat_norm2(&nA, A);
    if (s == SSM_OK) info->reconstruction_error = nR / nA;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            SSM_D(R, i, j) = i == j;
    if (s == SSM_OK) s = ssm_zmat_gemm(R, 1.0, Vf, 2, Vf, 0, -1.0);
    if (s == SSM_OK) s = ssm_zmat_norm2(&info->unitarity_error, R);
out:
    ssm_zmat_clear(Vf);
    ssm_zmat_clear(Pf);
    ssm_zmat_clear(Mid);
    ssm_zmat_clear(T);
    ssm_zmat_clear(R);
    return s;
}

/* The M + 1 smallest eigenpairs (μ ascending) of the Hermitian −iK, K the
 * skew part of S, in real arithmetic:
 *   1. K = Q T Qᵀ by dgehrd: an orthogonal similarity keeps K skew, so the
 *      Hessenberg T is skew tridiagonal; its subdiagonal e defines it (the
 *      discarded entries are rounding-sized: a backward error O(N ε ‖K‖));
 *   2. with D = diag(i^k), −iT = −D S_e D* where S_e is the real symmetric
 *      tridiagonal with zero diagonal and off-diagonal e, so −iK has the
 *      eigenpairs (−θ, Q D z) for S_e z = θ z (dstevd), the M + 1 largest θ;
 *   3. v = Q (D z) as two real products.
 * About 4x fewer flops than zheevr on the complex matrix.  H (N×(M+1),
 * column-major, eigenvector j in column j) is allocated here. */
static ssm_status skew_eig_half(double complex **Hout, double *mu, double *knorm, const ssm_dmat_t S)
{
    size_t N = S->rows, M = N / 2, m1 = M + 1;
    double *a = ssm_lapack_alloc(N * N, sizeof *a), *tau = ssm_lapack_alloc(N, sizeof *tau);
    double *d = ssm_lapack_alloc(N, sizeof *d), *e = ssm_lapack_alloc(N, sizeof *e), *w = ssm_lapack_alloc(N, sizeof *w);
    double *Z = ssm_lapack_alloc(N * m1, sizeof *Z), *Zr = ssm_lapack_alloc(N * m1, sizeof *Zr);
    double *Zi = ssm_lapack_alloc(N * m1, sizeof *Zi), *Vr = ssm_lapack_alloc(N * m1, sizeof *Vr);
    double *Vi = ssm_lapack_alloc(N * m1, sizeof *Vi), *Zfull = ssm_lapack_alloc(N * N, sizeof *Zfull);
    double complex *H = ssm_lapack_alloc(N * m1, sizeof *H);
    ssm_status s = SSM_OK;
    if (!a || !tau || !d || !e || !w || !Z || !Zr || !Zi || !Vr || !Vi || !H || !Zfull) {
        s = SSM_ERROR(SSM_ENOMEM, "nplr: out of memory");
        goto out;
    }
    *knorm = 0.0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double k = 0.5 * (SSM_D(S, i, j) - SSM_D(S, j, i));
            a[j * N + i] = k;
            *knorm = hypot(*knorm, k);
        }
    lapack_int li = LAPACKE_dgehrd(LAPACK_COL_MAJOR, (lapack_int)N, 1, (lapack_int)N, a, (lapack_int)N, tau);
    if ((s = ssm_lapack_status("dgehrd", li)) != SSM_OK)
        goto out;
    for (size_t i = 0; i + 1 < N; i++)
        e[i] = a[i * N + i + 1]; /* T(i+1, i) */
    li = LAPACKE_dorghr(LAPACK_COL_MAJOR, (lapack_int)N, 1, (lapack_int)N, a, (lapack_int)N, tau); /* a ← Q */
    if ((s = ssm_lapack_status("dorghr", li)) != SSM_OK)
        goto out;
    /* all eigenpairs of the tridiagonal by divide and conquer (dstevd): its
     * vectors are orthogonal to O(√N ε), where MRRR (dstemr) left 140 N ε at
     * N = 64; the M + 1 largest θ (the last columns) are used */
    li = LAPACKE_dstevd(LAPACK_COL_MAJOR, 'V', (lapack_int)N, d, e, Zfull, (lapack_int)N);
    if ((s = ssm_lapack_status("dstevd", li)) != SSM_OK)
        goto out;
    memcpy(w, d, N * sizeof *w);
    for (size_t k = 0; k < m1; k++) /* keep θ_(N−M−1) .. θ_(N−1) as w[0..M], Z[.., 0..M] */
        memcpy(Z + k * N, Zfull + (N - m1 + k) * N, N * sizeof *Z);
    for (size_t k = 0; k < m1; k++)
        w[k] = d[N - m1 + k];
    /* μ_j = −θ_(M−j) ascending; its vector D z_(M−j) split into real and imaginary parts */
    for (size_t j = 0; j < m1; j++) {
        size_t c = M - j;
        mu[j] = -w[c];
        for (size_t k = 0; k < N; k++) {
            double z = Z[c * N + k];
            switch (k % 4) {
            case 0: Zr[j * N + k] = z; break;
            case 1: Zi[j * N + k] = z; break;
            case 2: Zr[j * N + k] = -z; break;
            default: Zi[j * N + k] = -z; break;
            }
        }
    }
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)m1, (int)N, 1.0, a, (int)N, Zr, (int)N, 0.0,
                Vr, (int)N);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)m1, (int)N, 1.0, a, (int)N, Zi, (int)N, 0.0,
                Vi, (int)N);
    for (size_t k = 0; k < N * m1; k++)
        H[k] = CMPLX(Vr[k], Vi[k]);
out:
    free(a); free(tau); free(d); free(e); free(w); free(Z); free(Zr); free(Zi); free(Vr); free(Vi);
    free(Zfull);
    if (s != SSM_OK) {
        free(H);
        H = NULL;
    }
    *Hout = H;
    return s;
}

ssm_status ssm_diag_nplr(double complex *W, ssm_zmat_t V, ssm_zmat_t Bt, ssm_zmat_t Pt, ssm_nplr_info *info,
                         const ssm_dmat_t A, const ssm_dmat_t B, const ssm_dmat_t P, const ssm_nplr_opts *opts)
{
    size_t N = A->rows, M = N / 2, r = P->rows;
    if (A->cols != N || B->rows != N || B->cols != 1 || P->cols != N)
        return SSM_ERROR(SSM_EINVAL, "nplr: A must be N x N, B N x 1, P r x N");
    if (N == 0 || N % 2)
        return SSM_ERROR(SSM_EINVAL, "nplr: N must be even and positive (conjugate pairs), got %zu", N);
    if (V->rows != N || V->cols != M || Bt->rows != M || Bt->cols != 1 || Pt->rows != r || Pt->cols != M)
        return SSM_ERROR(SSM_EINVAL, "nplr: V must be N x N/2, Bt N/2 x 1, Pt r x N/2");
    ssm_dmat_t S;
    ssm_status s = ssm_dmat_init(S, N, N);
    if (s != SSM_OK)
        return s;
    s = ssm_dmat_copy(S, A);
    if (s == SSM_OK) s = ssm_dmat_gemm(S, 1.0, P, 1, P, 0, 1.0); /* S = A + Σ P_r P_rᵀ */
    if (s != SSM_OK) {
        ssm_dmat_clear(S);
        return s;
    }
    double c = 0.0;
    for (size_t i = 0; i < N; i++)
        c += SSM_D(S, i, i);
    c /= (double)N;
    /* S must be c I + skew: the defect is rounding-sized for HiPPO inputs */
    double num = 0.0, den = ssm_dmat_norm_fro(S);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double d = SSM_D(S, i, j) + SSM_D(S, j, i) - (i == j ? 2 * c : 0.0);
            num += d * d;
        }
    double defect = sqrt(num) / den;
    /* tolerance: each entry of S carries a few roundings of terms no larger than ‖S‖ */
    if (defect > 100.0 * (double)N * DBL_EPSILON) {
        ssm_dmat_clear(S);
        return SSM_ERROR(SSM_EINVAL, "nplr: A + P Pᵀ is not c I + skew (defect %.3g); no DPLR form", defect);
    }
    double complex *H = NULL;
    double *mu = malloc((M + 1) * sizeof *mu);
    double knorm = 0.0;
    s = mu ? skew_eig_half(&H, mu, &knorm, S) : SSM_ERROR(SSM_ENOMEM, "out of memory");
    ssm_dmat_clear(S);
    int zero_pair = 0;
    if (s == SSM_OK) {
        /* zero eigenvalues of K: |mu| at rounding level */
        double tol = 10.0 * (double)N * DBL_EPSILON * knorm;
        size_t nz = 0; /* among the M + 1 computed: a 2-dimensional null space sits at M−1, M */
        for (size_t i = 0; i <= M; i++)
            nz += fabs(mu[i]) <= tol;
        if (nz != 0 && nz != 2)
            s = SSM_ERROR(SSM_EINVAL, "nplr: %zu zero eigenvalues in the skew part (0 or 2 supported)", nz);
        for (size_t j = 0; s == SSM_OK && j < M; j++) {
            for (size_t i = 0; i < N; i++)
                SSM_D(V, i, j) = H[j * N + i]; /* eigenvector j = column j */
            W[j] = CMPLX(c, mu[j]);
        }
        if (s == SSM_OK && nz == 2) {
            /* null space spanned by columns M−1, M; real orthonormal basis u1, u2 from the
             * real and imaginary parts; the pair is v = (u1 + i u2)/√2 and its conjugate */
            double *X = ssm_lapack_alloc(N * 4, sizeof *X), *sv = malloc(4 * sizeof *sv),
                   *U = ssm_lapack_alloc(N * N, sizeof *U), *vt = ssm_lapack_alloc(16, sizeof *vt);
            if (!X || !sv || !U || !vt)
                s = SSM_ERROR(SSM_ENOMEM, "out of memory");
            else {
                /* X (N×4, column-major) = [Re z, Im z, Re z', Im z'] */
                for (size_t i = 0; i < N; i++) {
                    X[0 * N + i] = creal(H[(M - 1) * N + i]);
                    X[1 * N + i] = cimag(H[(M - 1) * N + i]);
                    X[2 * N + i] = creal(H[M * N + i]);
                    X[3 * N + i] = cimag(H[M * N + i]);
                }
                lapack_int li = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'A', (lapack_int)N, 4, X, (lapack_int)N, sv, U, (lapack_int)N,
                                    vt, 4);
                s = ssm_lapack_status("dgesdd", li);
                for (size_t i = 0; s == SSM_OK && i < N; i++)
                    SSM_D(V, i, M - 1) = CMPLX(U[0 * N + i], U[1 * N + i]) / sqrt(2.0);
                W[M - 1] = c;
                zero_pair = 1;
            }
            free(X);
            free(sv);
            free(U);
            free(vt);
        }
    }
    free(mu);
    free(H);
    if (s != SSM_OK)
        return s;
    ssm_diag_normalize_columns(V);
    /* B̃ = V* B, P̃ = V* Pᵀ */
    for (size_t j = 0; j < M; j++) {
        double complex b = 0.0;
        for (size_t i = 0; i < N; i++)
            b += conj(SSM_D(V, i, j)) * SSM_D(B, i, 0);
        if (opts && opts->clip_im_B > 0.0) {
            double im = fmax(-opts->clip_im_B, fmin(opts->clip_im_B, cimag(b)));
            b = CMPLX(creal(b), im);
        }
        SSM_D(Bt, j, 0) = b;
        for (size_t k = 0; k < r; k++) {
            double complex p = 0.0;
            for (size_t i = 0; i < N; i++)
                p += conj(SSM_D(V, i, j)) * SSM_D(P, k, i);
            SSM_D(Pt, k, j) = p;
        }
    }
    if (info) {
        memset(info, 0, sizeof *info);
        info->skew_defect = defect;
        info->zero_pair = zero_pair;
        info->max_re_W = -INFINITY;
        for (size_t j = 0; j < M; j++)
            info->max_re_W = fmax(info->max_re_W, creal(W[j]));
        s = nplr_residuals(info, W, V, A, P);
    }
    return s;
}
