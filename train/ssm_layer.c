/* train/ssm_layer.c — the SSM layer: the convolution kernel from (Λ, B, C, Δ) in double (diagonal ZOH
 * Vandermonde form, or a dense real basis for the DPLR-equivalent system) and the long convolution by
 * FFTW real transforms in float.  doc/reference.md §3. */
#include "train/train.h"

#include <complex.h>
#include <fftw3.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <xmmintrin.h>
#endif

/* ---- diagonal kernel (double) --------------------------------------------- */

static inline double complex cf(const float *p) { return CMPLX((double)p[0], (double)p[1]); }

enum { NB = 4 }; /* modes per pass of the kernel recurrences */

ssm_status ssm_train_kernel_diag_forward(float *K, const float *lam, const float *B, const float *C,
                                         const float *logdt, size_t H, size_t M, size_t L)
{
    double *acc = malloc((L ? L : 1) * sizeof *acc);
    if (!acc)
        return SSM_ERROR(SSM_ENOMEM, "SSM kernel: out of memory (L = %zu)", L);
    for (size_t h = 0; h < H; h++) {
        double dt = exp((double)logdt[h]);
        memset(acc, 0, L * sizeof *acc);
        for (size_t n0 = 0; n0 < M; n0 += NB) {
            /* NB modes side by side: independent recurrences, so they overlap in the pipeline; each
             * acc[ℓ] still adds the modes in n order, and w·z is C's complex product (re = ac − bd,
             * im = ad + bc) spelled out, so the bits are those of one mode at a time */
            double wr[NB] = {0}, wi[NB] = {0}, zr[NB] = {0}, zi[NB] = {0};
            size_t nb = M - n0 < NB ? M - n0 : NB;
            for (size_t k = 0; k < nb; k++) {
                size_t i = (h * M + n0 + k) * 2;
                double complex la = cf(lam + i), z = cexp(dt * la);
                double complex w = cf(C + i) * cf(B + i) * (z - 1.0) / la; /* C B (e^{ΔΛ} − 1)/Λ · z^ℓ, ℓ = 0 */
                wr[k] = creal(w); wi[k] = cimag(w); zr[k] = creal(z); zi[k] = cimag(z);
            }
            for (size_t l = 0; l < L; l++)
                for (size_t k = 0; k < nb; k++) {
                    acc[l] += wr[k];
                    double re = wr[k] * zr[k] - wi[k] * zi[k], im = wr[k] * zi[k] + wi[k] * zr[k];
                    wr[k] = re;
                    wi[k] = im;
                }
        }
        for (size_t l = 0; l < L; l++)
            K[h * L + l] = (float)(2.0 * acc[l]);
    }
    free(acc);
    return SSM_OK;
}

/* A0 = Σ_ℓ g_ℓ z^ℓ and A1 = Σ_ℓ ℓ g_ℓ z^ℓ for nb ≤ NB modes (z = e^{ΔΛ}) side by side, each summed in ℓ
 * order with C's complex products spelled out (the bits of one mode at a time). */
static void mode_sums(double complex *a0, double complex *a1, const double *g, const float *lam, double dt,
                      size_t nb, size_t L)
{
    double zr[NB] = {0}, zi[NB] = {0}, pr[NB] = {0}, pi[NB] = {0};
    double s0r[NB] = {0}, s0i[NB] = {0}, s1r[NB] = {0}, s1i[NB] = {0};
    for (size_t k = 0; k < nb; k++) {
        double complex z = cexp(dt * cf(lam + 2 * k));
        zr[k] = creal(z);
        zi[k] = cimag(z);
        pr[k] = 1.0; /* z^0 */
    }
    for (size_t l = 0; l < L; l++) {
        double gl = g[l], lg = (double)l * g[l];
        for (size_t k = 0; k < nb; k++) {
            s0r[k] += gl * pr[k];
            s0i[k] += gl * pi[k];
            s1r[k] += lg * pr[k];
            s1i[k] += lg * pi[k];
            double re = pr[k] * zr[k] - pi[k] * zi[k], im = pr[k] * zi[k] + pi[k] * zr[k];
            pr[k] = re;
            pi[k] = im;
        }
    }
    for (size_t k = 0; k < nb; k++) {
        a0[k] = CMPLX(s0r[k], s0i[k]);
        a1[k] = CMPLX(s1r[k], s1i[k]);
    }
}

void ssm_train_kernel_diag_backward(float *dlam, float *dB, float *dC, float *dlogdt, const double *dK,
                                    const float *lam, const float *B, const float *C, const float *logdt,
                                    size_t H, size_t M, size_t L)
{
    /* K = 2 Re Σ_n f_n with f holomorphic in each complex parameter p, so
     * (∂/∂Re p, ∂/∂Im p) = (Re, Im) of 2·conj(Σ_ℓ dK_ℓ ∂f_ℓ/∂p).  With z = e^{ΔΛ}, Bf = (z − 1)/Λ,
     * A0 = Σ dK_ℓ z^ℓ and A1 = Σ ℓ dK_ℓ z^ℓ:
     *   ∂/∂C: B Bf A0     ∂/∂B: C Bf A0     ∂/∂Λ: C B ((ΔzΛ − (z − 1))/Λ² A0 + Bf Δ A1)
     *   ∂/∂Δ (real): 2 Re Σ_n C B (z A0 + (z − 1) A1),  ∂/∂logΔ = Δ ∂/∂Δ. */
    for (size_t h = 0; h < H; h++) {
        double dt = exp((double)logdt[h]);
        const double *g = dK + h * L;
        double ddt = 0.0;
        for (size_t n0 = 0; n0 < M; n0 += NB) {
            size_t nb = M - n0 < NB ? M - n0 : NB;
            double complex a0[NB], a1[NB];
            mode_sums(a0, a1, g, lam + (h * M + n0) * 2, dt, nb, L);
            for (size_t k = 0; k < nb; k++) {
                size_t i = (h * M + n0 + k) * 2;
                double complex la = cf(lam + i), z = cexp(dt * la), bf = (z - 1.0) / la;
                double complex c = cf(C + i), b = cf(B + i);
                double complex gc = 2.0 * conj(b * bf * a0[k]);
                dC[i] += (float)creal(gc);
                dC[i + 1] += (float)cimag(gc);
                if (dB) {
                    double complex gb = 2.0 * conj(c * bf * a0[k]);
                    dB[i] += (float)creal(gb);
                    dB[i + 1] += (float)cimag(gb);
                }
                if (dlam) {
                    double complex dbf = (dt * z * la - (z - 1.0)) / (la * la);
                    double complex gl = 2.0 * conj(c * b * (dbf * a0[k] + bf * dt * a1[k]));
                    dlam[i] += (float)creal(gl);
                    dlam[i + 1] += (float)cimag(gl);
                }
                if (dlogdt)
                    ddt += 2.0 * creal(c * b * (z * a0[k] + (z - 1.0) * a1[k]));
            }
        }
        if (dlogdt)
            dlogdt[h] += (float)(dt * ddt);
    }
}

/* ---- dense (DPLR-equivalent) kernel from a precomputed basis ------------------ */

void ssm_train_kernel_dense_forward(float *K, const double *X, const float *C, size_t H, size_t L, size_t N)
{
    for (size_t h = 0; h < H; h++) {
        const double *x = X + h * L * N;
        const float *c = C + h * N;
        for (size_t l = 0; l < L; l++) {
            double s = 0.0;
            for (size_t n = 0; n < N; n++)
                s += x[l * N + n] * (double)c[n];
            K[h * L + l] = (float)s;
        }
    }
}

void ssm_train_kernel_dense_backward(float *dC, const double *dK, const double *X, size_t H, size_t L, size_t N)
{
    for (size_t h = 0; h < H; h++) {
        const double *x = X + h * L * N, *g = dK + h * L;
        for (size_t n = 0; n < N; n++) {
            double s = 0.0;
            for (size_t l = 0; l < L; l++)
                s += g[l] * x[l * N + n];
            dC[h * N + n] += (float)s;
        }
    }
}

ssm_status ssm_train_dense_basis(double *X, const double *A, const double *B, const float *logdt, size_t H,
                                 size_t L, size_t N)
{
    gsl_set_error_handler_off();
    gsl_matrix *dA = gsl_matrix_alloc(N, N), *eA = gsl_matrix_alloc(N, N), *LU = gsl_matrix_alloc(N, N);
    gsl_permutation *perm = gsl_permutation_alloc(N);
    gsl_vector *rhs = gsl_vector_alloc(N), *bb = gsl_vector_alloc(N);
    double *x = malloc(N * sizeof *x), *xn = malloc(N * sizeof *xn);
    ssm_status s = SSM_OK;
    int sign;
    if (!dA || !eA || !LU || !perm || !rhs || !bb || !x || !xn) {
        s = SSM_ERROR(SSM_ENOMEM, "dense SSM basis: out of memory (N = %zu)", N);
        goto done;
    }
    memcpy(LU->data, A, N * N * sizeof *A); /* gsl_matrix_alloc gives tda == N */
    if (gsl_linalg_LU_decomp(LU, perm, &sign) != 0 || gsl_linalg_LU_det(LU, sign) == 0.0) {
        s = SSM_ERROR(SSM_EINVAL, "dense SSM basis: the state matrix is singular (ZOH needs A invertible)");
        goto done;
    }
    for (size_t h = 0; h < H; h++) {
        double dt = exp((double)logdt[h]);
        for (size_t i = 0; i < N * N; i++)
            dA->data[i] = dt * A[i];
        if (gsl_linalg_exponential_ss(dA, eA, GSL_PREC_DOUBLE) != 0) {
            s = SSM_ERROR(SSM_ENOCONV, "dense SSM basis: matrix exponential failed (Δ = %g)", dt);
            goto done;
        }
        /* B̄ = A⁻¹ (Ā − I) B */
        for (size_t i = 0; i < N; i++) {
            double r = -B[i];
            for (size_t k = 0; k < N; k++)
                r += eA->data[i * N + k] * B[k];
            rhs->data[i] = r;
        }
        gsl_linalg_LU_solve(LU, perm, rhs, bb);
        memcpy(x, bb->data, N * sizeof *x);
        double *Xh = X + h * L * N;
        for (size_t l = 0; l < L; l++) {
            memcpy(Xh + l * N, x, N * sizeof *x);
            for (size_t i = 0; i < N; i++) { /* x ← Ā x */
                double acc = 0.0;
                for (size_t k = 0; k < N; k++)
                    acc += eA->data[i * N + k] * x[k];
                xn[i] = acc;
            }
            memcpy(x, xn, N * sizeof *x);
        }
    }
done:
    gsl_matrix_free(dA); gsl_matrix_free(eA); gsl_matrix_free(LU);
    gsl_permutation_free(perm); gsl_vector_free(rhs); gsl_vector_free(bb);
    free(x); free(xn);
    return s;
}

/* ---- FFT long convolution (float) ---------------------------------------------- */

struct ssm_train_conv {
    size_t H, L, nfft, nfreq;
    fftwf_plan r2c, c2r;   /* H transforms at once: [H][nfft] ↔ [H][nfreq] */
};

struct ssm_train_conv_ws {
    float *rin;            /* [H][nfft], tail beyond L kept zero */
    float *rout;           /* [H][nfft] */
    fftwf_complex *c1, *c2;/* [H][nfreq] */
};

/* smallest even n ≥ m whose prime factors are 2, 3, 5, 7 (FFTW's fast sizes) */
static size_t good_size(size_t m)
{
    for (size_t n = m + (m & 1);; n += 2) {
        size_t r = n;
        for (size_t p = 2; p <= 7; p++)
            while (r % p == 0)
                r /= p;
        if (r == 1)
            return n;
    }
}

static ssm_train_conv *conv_new(size_t H, size_t L, ssm_status *status)
{
    ssm_train_conv *p = calloc(1, sizeof *p);
    if (!p) {
        *status = SSM_ERROR(SSM_ENOMEM, "out of memory");
        return NULL;
    }
    p->H = H;
    p->L = L;
    p->nfft = good_size(2 * L);
    p->nfreq = p->nfft / 2 + 1;
    float *r = fftwf_malloc(H * p->nfft * sizeof *r);
    fftwf_complex *c = fftwf_malloc(H * p->nfreq * sizeof *c);
    if (r && c) {
        int n = (int)p->nfft;
        /* FFTW_ESTIMATE: the plan (hence every rounding) is the same in every process, which a
         * bit-identical resume needs; FFTW_MEASURE may pick a different algorithm per run. */
        p->r2c = fftwf_plan_many_dft_r2c(1, &n, (int)H, r, NULL, 1, (int)p->nfft, c, NULL, 1, (int)p->nfreq,
                                         FFTW_ESTIMATE);
        p->c2r = fftwf_plan_many_dft_c2r(1, &n, (int)H, c, NULL, 1, (int)p->nfreq, r, NULL, 1, (int)p->nfft,
                                         FFTW_ESTIMATE);
    }
    fftwf_free(r);
    fftwf_free(c);
    if (!p->r2c || !p->c2r) {
        ssm_train_conv_free(p);
        *status = SSM_ERROR(SSM_ENOMEM, "FFTW could not plan %zu transforms of length %zu", H, 2 * L);
        return NULL;
    }
    *status = SSM_OK;
    return p;
}

void ssm_train_conv_free(ssm_train_conv *p)
{
    if (!p)
        return;
    if (p->r2c) fftwf_destroy_plan(p->r2c);
    if (p->c2r) fftwf_destroy_plan(p->c2r);
    free(p);
}

size_t ssm_train_conv_nfreq(const ssm_train_conv *p) { return p->nfreq; }

static ssm_train_conv_ws *conv_ws_new(const ssm_train_conv *p)
{
    ssm_train_conv_ws *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->rin = fftwf_malloc(p->H * p->nfft * sizeof *w->rin);
    w->rout = fftwf_malloc(p->H * p->nfft * sizeof *w->rout);
    w->c1 = fftwf_malloc(p->H * p->nfreq * sizeof *w->c1);
    w->c2 = fftwf_malloc(p->H * p->nfreq * sizeof *w->c2);
    if (!w->rin || !w->rout || !w->c1 || !w->c2) {
        ssm_train_conv_ws_free(w);
        return NULL;
    }
    memset(w->rin, 0, p->H * p->nfft * sizeof *w->rin);
    return w;
}

void ssm_train_conv_ws_free(ssm_train_conv_ws *w)
{
    if (!w)
        return;
    fftwf_free(w->rin); fftwf_free(w->rout); fftwf_free(w->c1); fftwf_free(w->c2);
    free(w);
}

/* dst[c·ldd + r] = src[r·lds + c] for r < R, c < C: 4×4 blocks through SSE registers where there are
 * any (the sequence ↔ channel-major copies were a tenth of a training step as scalar moves); a copy,
 * so the result is the same on every CPU. */
static void transpose(float *restrict dst, size_t ldd, const float *restrict src, size_t lds, size_t R, size_t C)
{
    size_t r0 = 0;
#ifdef __SSE2__
    for (; r0 + 4 <= R; r0 += 4) {
        const float *s0 = src + r0 * lds;
        size_t c0 = 0;
        for (; c0 + 4 <= C; c0 += 4) {
            __m128 a = _mm_loadu_ps(s0 + c0), b = _mm_loadu_ps(s0 + lds + c0);
            __m128 c = _mm_loadu_ps(s0 + 2 * lds + c0), d = _mm_loadu_ps(s0 + 3 * lds + c0);
            _MM_TRANSPOSE4_PS(a, b, c, d);
            _mm_storeu_ps(dst + c0 * ldd + r0, a);
            _mm_storeu_ps(dst + (c0 + 1) * ldd + r0, b);
            _mm_storeu_ps(dst + (c0 + 2) * ldd + r0, c);
            _mm_storeu_ps(dst + (c0 + 3) * ldd + r0, d);
        }
        for (; c0 < C; c0++)
            for (size_t r = r0; r < r0 + 4; r++)
                dst[c0 * ldd + r] = src[r * lds + c0];
    }
#endif
    for (; r0 < R; r0++)
        for (size_t c = 0; c < C; c++)
            dst[c * ldd + r0] = src[r0 * lds + c];
}

/* rin[h][ℓ] = src[ℓ·H + h] for ℓ < L (one sequence of [L, H] → channel-major, tail stays zero) */
static void load_seq(float *rin, const float *src, size_t H, size_t L, size_t nfft)
{
    transpose(rin, nfft, src, H, L, H);
}

/* The inverse transform's causal part back in sequence order, combined with the direct term on the way
 * (one pass instead of a transpose and a loop; the same operations in the same order):
 *   forward   y[ℓ,h]   = k[h][ℓ]·inv + D[h]·u[ℓ,h]
 *   backward  du[ℓ,h] += k[h][ℓ]·inv + D[h]·dy[ℓ,h],   dD[h] += dy[ℓ,h]·u[ℓ,h] (summed in ℓ order) */
static void out_scalar(float *restrict y, float *restrict dD, const float *restrict k, size_t nfft,
                       const float *restrict v, const float *restrict u, const float *restrict D, float inv,
                       size_t H, size_t l, size_t h0, size_t h1)
{
    for (size_t h = h0; h < h1; h++) {
        size_t i = l * H + h;
        if (dD) {
            y[i] += k[h * nfft + l] * inv + D[h] * v[i];
            dD[h] += v[i] * u[i];
        } else {
            y[i] = k[h * nfft + l] * inv + D[h] * v[i];
        }
    }
}

/* y, v, u: [L, H]; k: [H][nfft].  Forward: dD = NULL, v = u.  Backward: y = du, v = dy. */
static void conv_out(float *restrict y, float *restrict dD, const float *restrict k, size_t nfft,
                     const float *restrict v, const float *restrict u, const float *restrict D, float inv,
                     size_t H, size_t L)
{
    size_t l0 = 0;
#ifdef __SSE2__
    const __m128 vinv = _mm_set1_ps(inv);
    for (; l0 + 4 <= L; l0 += 4) {
        size_t h0 = 0;
        for (; h0 + 4 <= H; h0 += 4) {
            const float *k0 = k + h0 * nfft + l0;
            __m128 r[4] = {_mm_loadu_ps(k0), _mm_loadu_ps(k0 + nfft), _mm_loadu_ps(k0 + 2 * nfft),
                           _mm_loadu_ps(k0 + 3 * nfft)};
            _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]); /* r[j]: position l0 + j, channels h0 … h0 + 3 */
            __m128 d = _mm_loadu_ps(D + h0), dd = dD ? _mm_loadu_ps(dD + h0) : _mm_setzero_ps();
            for (size_t j = 0; j < 4; j++) {
                size_t i = (l0 + j) * H + h0;
                __m128 t = _mm_add_ps(_mm_mul_ps(r[j], vinv), _mm_mul_ps(d, _mm_loadu_ps(v + i)));
                if (dD) {
                    _mm_storeu_ps(y + i, _mm_add_ps(_mm_loadu_ps(y + i), t));
                    dd = _mm_add_ps(dd, _mm_mul_ps(_mm_loadu_ps(v + i), _mm_loadu_ps(u + i)));
                } else {
                    _mm_storeu_ps(y + i, t);
                }
            }
            if (dD)
                _mm_storeu_ps(dD + h0, dd);
        }
        for (size_t l = l0; l < l0 + 4; l++)
            out_scalar(y, dD, k, nfft, v, u, D, inv, H, l, h0, H);
    }
#endif
    for (; l0 < L; l0++)
        out_scalar(y, dD, k, nfft, v, u, D, inv, H, l0, 0, H);
}

void ssm_train_conv_kernel_fft(float *Kf, const ssm_train_conv *p, ssm_train_conv_ws *w, const float *K)
{
    for (size_t h = 0; h < p->H; h++)
        memcpy(w->rin + h * p->nfft, K + h * p->L, p->L * sizeof *K);
    fftwf_execute_dft_r2c(p->r2c, w->rin, w->c1);
    memcpy(Kf, w->c1, p->H * p->nfreq * sizeof *w->c1);
}

void ssm_train_conv_forward(float *y, float *Uf, const ssm_train_conv *p, ssm_train_conv_ws *w, const float *u,
                            const float *Kf, const float *D, size_t B)
{
    const size_t H = p->H, L = p->L, nfft = p->nfft, nfreq = p->nfreq;
    const float inv = 1.0f / (float)nfft;
    const float *kf = Kf;
    float *c1 = (float *)w->c1; /* interleaved (re, im) */
    for (size_t b = 0; b < B; b++) {
        const float *ub = u + b * L * H;
        float *yb = y + b * L * H, *ufb = Uf ? Uf + b * H * nfreq * 2 : NULL;
        /* the spectrum U, kept for the backward pass: FFTW writes it there itself when that slot has
         * the alignment the plan was made for, else it is copied from c1 */
        int direct = ufb && fftwf_alignment_of(ufb) == fftwf_alignment_of(c1);
        float *spec = direct ? ufb : c1;
        load_seq(w->rin, ub, H, L, nfft);
        fftwf_execute_dft_r2c(p->r2c, w->rin, (fftwf_complex *)spec);
        if (ufb && !direct)
            memcpy(ufb, c1, H * nfreq * 2 * sizeof *c1);
        for (size_t i = 0; i < H * nfreq; i++) { /* pointwise product of spectra */
            float re = spec[2 * i] * kf[2 * i] - spec[2 * i + 1] * kf[2 * i + 1];
            float im = spec[2 * i] * kf[2 * i + 1] + spec[2 * i + 1] * kf[2 * i];
            c1[2 * i] = re;
            c1[2 * i + 1] = im;
        }
        fftwf_execute_dft_c2r(p->c2r, w->c1, w->rout);
        conv_out(yb, NULL, w->rout, nfft, ub, ub, D, inv, H, L);
    }
}

void ssm_train_conv_backward(float *du, float *dKf, float *dD, const ssm_train_conv *p, ssm_train_conv_ws *w,
                             const float *dy, const float *u, const float *Uf, const float *Kf, const float *D,
                             size_t B)
{
    /* y = K ⋆ u (causal, linear) + D u:  du_m = Σ_{ℓ≥m} dy_ℓ K_{ℓ−m} (correlation with K), dK_j = Σ_{ℓ≥j} dy_ℓ
     * u_{ℓ−j}; with zero padding to nfft ≥ 2L both are exact circular correlations: spectra
     * DY·conj(Kf) and DY·conj(U). */
    const size_t H = p->H, L = p->L, nfft = p->nfft, nfreq = p->nfreq;
    const float inv = 1.0f / (float)nfft;
    const float *kf = Kf;
    float *dkf = dKf, *c1 = (float *)w->c1, *c2 = (float *)w->c2; /* interleaved (re, im) */
    for (size_t b = 0; b < B; b++) {
        const float *ub = u + b * L * H, *dyb = dy + b * L * H;
        float *dub = du + b * L * H;
        load_seq(w->rin, dyb, H, L, nfft);
        fftwf_execute_dft_r2c(p->r2c, w->rin, w->c1);   /* DY */
        const float *uf = c2;
        if (Uf) {
            uf = Uf + b * H * nfreq * 2;
        } else {
            load_seq(w->rin, ub, H, L, nfft);
            fftwf_execute_dft_r2c(p->r2c, w->rin, w->c2);   /* U  */
        }
        for (size_t i = 0; i < H * nfreq; i++) {
            float dr = c1[2 * i], di = c1[2 * i + 1];
            float ur = uf[2 * i], ui = uf[2 * i + 1];
            float kr = kf[2 * i], ki = kf[2 * i + 1];
            dkf[2 * i] += ur * dr + ui * di;         /* conj(U)·DY */
            dkf[2 * i + 1] += ur * di - ui * dr;
            c2[2 * i] = dr * kr + di * ki;           /* DY·conj(Kf) */
            c2[2 * i + 1] = di * kr - dr * ki;
        }
        fftwf_execute_dft_c2r(p->c2r, w->c2, w->rout);
        conv_out(dub, dD, w->rout, nfft, dyb, ub, D, inv, H, L);
    }
}

void ssm_train_conv_kernel_grad(double *dK, const ssm_train_conv *p, ssm_train_conv_ws *w, const float *dKf)
{
    memcpy(w->c1, dKf, p->H * p->nfreq * sizeof *w->c1); /* c2r overwrites its input */
    fftwf_execute_dft_c2r(p->c2r, w->c1, w->rout);
    for (size_t h = 0; h < p->H; h++)
        for (size_t l = 0; l < p->L; l++)
            dK[h * p->L + l] = (double)w->rout[h * p->nfft + l] / (double)p->nfft;
}

ssm_status ssm_train_conv_create(ssm_train_conv **out, size_t H, size_t L)
{
    ssm_status s = SSM_OK;
    *out = conv_new(H, L, &s);
    return *out ? SSM_OK : s != SSM_OK ? s : SSM_ERROR(SSM_ENOMEM, "train: out of memory for a convolution plan");
}

ssm_status ssm_train_conv_ws_create(ssm_train_conv_ws **out, const ssm_train_conv *p)
{
    *out = conv_ws_new(p);
    return *out ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "train: out of memory for a convolution workspace");
}
