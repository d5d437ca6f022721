/* train/dplr_kernel.c — the S4 kernel of a diagonal-plus-low-rank state matrix A = Λ − P P* (rank 1,
 * P = Q), bilinear discretisation, evaluated by the Cauchy kernel and the Woodbury identity at the L-th
 * roots of unity and brought back to the time domain by one inverse real FFT (Gu et al. 2022, Algorithm
 * 1); its hand-written gradient; and C̃ = C(I − Ā^L) for the initial C.  doc/reference.md §2, §3 and
 * doc/design.md "Training engine".
 *
 * Everything is over the conjugate-closed set of N = 2M modes, of which the M stored ones are the first
 * half (λ_n, p_n, B_n, C̃_n, n < M; the other half their conjugates), per channel h with its own Δ_h.
 * At w on the unit circle, with g(w) = (2/Δ)(1 − w)/(1 + w), the Cauchy sums κ_ab = Σ_n v^{ab}_n/(g − λ_n)
 * over all N modes, v^00 = C̃B, v^01 = C̃p, v^10 = p̄B, v^11 = |p|², give (Woodbury for the rank-1 term)
 *   K̂(w) = Σ_{ℓ<L} K_ℓ w^ℓ = 2/(1 + w)·[κ00 − κ01 κ10/(1 + κ11)].
 * The code uses s = 1 + w, a = (2/Δ)(1 − w), d_n = a − sλ_n = s(g − λ_n), r_n = 1/d_n, r̄_n the same with
 * conj(λ_n) (the conjugate mode), and k_ab = κ_ab/s = Σ_n v_n r_n + conj(v_n) r̄_n:
 *   K̂ = 2[k00 − s k01 k10/(1 + s k11)],
 * which has no pole at w = −1 (d_n ≠ 0 while Re λ < 0).  K̂(w_k) at w_k = e^{−2πik/L} is the DFT of K, so
 * K = irfft(K̂(w_0 … w_{L/2})).  Cost O(H·M·L) (forward) and about three times that (backward). */
#include "train/train.h"

#include <complex.h>
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ssm_train_dplr {
    size_t H, M, L, nh;          /* nh = L/2 + 1 frequencies of a real kernel                      */
    double complex *w;           /* [L] the roots of unity e^{−2πik/L}                             */
    fftw_complex *spec;          /* [H][nh] (double complex: <complex.h> comes before <fftw3.h>)    */
    double *time;                /* [H][L]                                                        */
    fftw_plan c2r, r2c;          /* H transforms of length L: spec → time, time → spec             */
    double complex *r, *rb;      /* [M] scratch: r_n, r̄_n at one frequency                        */
    double complex *acc;         /* [4M] scratch: the backward's per-mode sums                    */
};

static inline double complex cf(const float *p) { return CMPLX((double)p[0], (double)p[1]); }

/* The inner loops' complex product and reciprocal written out: C's own complex * and / carry the Annex G
 * infinity/NaN recovery (a library call per division), about 10× the cost here.  Every operand is finite
 * and moderate (|a − sλ| ≤ 4/Δ + 2|λ|), so |z|² neither overflows nor underflows; 1/z = z̄/|z|² is then
 * accurate to a few ulps. */
static inline double complex mul(double complex a, double complex b)
{
    return CMPLX(creal(a) * creal(b) - cimag(a) * cimag(b), creal(a) * cimag(b) + cimag(a) * creal(b));
}

static inline double complex inv(double complex z)
{
    double m = creal(z) * creal(z) + cimag(z) * cimag(z);
    return CMPLX(creal(z) / m, -cimag(z) / m);
}

void ssm_train_dplr_free(ssm_train_dplr *d)
{
    if (!d)
        return;
    if (d->c2r) fftw_destroy_plan(d->c2r);
    if (d->r2c) fftw_destroy_plan(d->r2c);
    fftw_free(d->spec); fftw_free(d->time);
    free(d->w); free(d->r); free(d->rb); free(d->acc);
    free(d);
}

ssm_status ssm_train_dplr_create(ssm_train_dplr **out, size_t H, size_t M, size_t L)
{
    *out = NULL;
    if (H == 0 || M == 0 || L == 0 || L > (size_t)1 << 24 || H > (size_t)1 << 20)
        return SSM_ERROR(SSM_EINVAL, "DPLR kernel: H = %zu, M = %zu, L = %zu out of range", H, M, L);
    ssm_train_dplr *d = calloc(1, sizeof *d);
    if (!d)
        return SSM_ERROR(SSM_ENOMEM, "DPLR kernel: out of memory");
    d->H = H; d->M = M; d->L = L; d->nh = L / 2 + 1;
    d->w = malloc(L * sizeof *d->w);
    d->spec = fftw_malloc(H * d->nh * sizeof *d->spec);
    d->time = fftw_malloc(H * L * sizeof *d->time);
    d->r = malloc(M * sizeof *d->r);
    d->rb = malloc(M * sizeof *d->rb);
    d->acc = malloc(4 * M * sizeof *d->acc);
    if (d->w && d->spec && d->time) {
        int n = (int)L;
        /* FFTW_ESTIMATE: the same plan, hence the same roundings, in every process (see conv_new) */
        d->c2r = fftw_plan_many_dft_c2r(1, &n, (int)H, d->spec, NULL, 1, (int)d->nh, d->time, NULL, 1, n,
                                        FFTW_ESTIMATE);
        d->r2c = fftw_plan_many_dft_r2c(1, &n, (int)H, d->time, NULL, 1, n, d->spec, NULL, 1, (int)d->nh,
                                        FFTW_ESTIMATE);
    }
    if (!d->c2r || !d->r2c || !d->r || !d->rb || !d->acc) {
        ssm_train_dplr_free(d);
        return SSM_ERROR(SSM_ENOMEM, "DPLR kernel: out of memory for %zu transforms of length %zu", H, L);
    }
    for (size_t k = 0; k < L; k++) { /* e^{−2πik/L} from the angle of min(k, L − k): conjugate pairs exact */
        size_t j = k <= L - k ? k : L - k;
        double t = 2.0 * M_PI * (double)j / (double)L;
        d->w[k] = CMPLX(cos(t), k <= L - k ? -sin(t) : sin(t));
    }
    *out = d;
    return SSM_OK;
}

/* The four Cauchy sums k_ab at one frequency (a = (2/Δ)(1 − w), s = 1 + w) of channel h, and r, r̄ in
 * d->r, d->rb.  lam, P, B, C point at the channel's M modes ([M, 2]). */
static void cauchy_sums(double complex k[4], ssm_train_dplr *d, double complex a, double complex s,
                        const float *lam, const float *P, const float *B, const float *C)
{
    double complex k00 = 0.0, k01 = 0.0, k10 = 0.0, k11 = 0.0;
    for (size_t n = 0; n < d->M; n++) {
        double complex la = cf(lam + 2 * n), p = cf(P + 2 * n), b = cf(B + 2 * n), c = cf(C + 2 * n);
        double complex r = inv(a - mul(s, la)), rb = inv(a - mul(s, conj(la)));
        double complex v00 = mul(c, b), v01 = mul(c, p), v10 = mul(conj(p), b);
        double v11 = creal(p) * creal(p) + cimag(p) * cimag(p);
        d->r[n] = r;
        d->rb[n] = rb;
        k00 += mul(v00, r) + mul(conj(v00), rb);
        k01 += mul(v01, r) + mul(conj(v01), rb);
        k10 += mul(v10, r) + mul(conj(v10), rb);
        k11 += v11 * (r + rb);
    }
    k[0] = k00; k[1] = k01; k[2] = k10; k[3] = k11;
}

ssm_status ssm_train_kernel_dplr_forward(float *K, ssm_train_dplr *d, const float *lam, const float *P,
                                         const float *B, const float *C, const float *logdt)
{
    const size_t H = d->H, M = d->M, L = d->L, nh = d->nh;
    for (size_t h = 0; h < H; h++) {
        const double dt = exp((double)logdt[h]);
        const size_t o = h * M * 2;
        for (size_t k = 0; k < nh; k++) {
            double complex w = d->w[k], s = 1.0 + w, a = (2.0 / dt) * (1.0 - w), q[4];
            cauchy_sums(q, d, a, s, lam + o, P + o, B + o, C + o);
            double complex X = 2.0 * (q[0] - s * q[1] * q[2] / (1.0 + s * q[3]));
            d->spec[h * nh + k] = X;
        }
    }
    fftw_execute(d->c2r);
    for (size_t h = 0; h < H; h++)
        for (size_t l = 0; l < L; l++) {
            double v = d->time[h * L + l] / (double)L;
            if (!isfinite(v))
                return SSM_ERROR(SSM_ELOSS, "DPLR kernel: channel %zu is not finite (Re Lambda >= 0 or 1 + k11 = 0)",
                                 h);
            K[h * L + l] = (float)v;
        }
    return SSM_OK;
}

/* One frequency's share of a channel's backward.  The loss is Σ_ℓ dK_ℓ K_ℓ = (1/L) Σ_{k<L} G_k X_k with
 * X_k = K̂(w_k) and G_k = Σ_ℓ dK_ℓ e^{+2πikℓ/L}.  For a complex parameter θ (Wirtinger ∂/∂θ, θ̄ held fixed)
 * the real gradient is (∂/∂Re θ, ∂/∂Im θ) = (Re, Im) of 2·conj(∂loss/∂θ).  With D = 1 + s k11 the
 * coefficients c_ab = G ∂X/∂k_ab are c00 = 2G, c01 = −2Gs k10/D, c10 = −2Gs k01/D,
 * c11 = 2Gs² k01 k10/D², and
 *   ∂/∂C̃_n:  (c00 B + c01 p) r            ∂/∂B_n:  (c00 C̃ + c10 p̄) r
 *   ∂/∂p_n:  c01 C̃ r + c10 B̄ r̄ + c11 p̄ (r + r̄)     (p enters v^01, v^11 and, conjugated, v^10)
 *   ∂/∂λ_n:  (Σ_ab c_ab v^ab) s r²        ∂/∂Δ:  (2/Δ²)(1 − w) Σ_n Σ_ab c_ab (v^ab r² + conj(v^ab) r̄²).
 * The mirrored frequency w̄ (k → L − k) has r_n(w̄) = conj(r̄_n(w)), r̄_n(w̄) = conj(r_n(w)) and
 * k_ab(w̄) = conj(k_ab(w)): `mirror` evaluates it from the sums of w (d->r, d->rb, q). */
static double complex freq_backward(ssm_train_dplr *d, double complex G, double complex w, double dt,
                                    const double complex q0[4], int mirror, const float *P, const float *B,
                                    const float *C)
{
    double complex *aC = d->acc, *aB = aC + d->M, *aP = aB + d->M, *aL = aP + d->M, q[4];
    for (int i = 0; i < 4; i++)
        q[i] = mirror ? conj(q0[i]) : q0[i];
    if (mirror)
        w = conj(w);
    double complex s = 1.0 + w, D = 1.0 + s * q[3], sdt = 0.0;
    double complex c00 = 2.0 * G, c01 = -2.0 * G * s * q[2] / D, c10 = -2.0 * G * s * q[1] / D;
    double complex c11 = 2.0 * G * s * s * q[1] * q[2] / (D * D);
    for (size_t n = 0; n < d->M; n++) {
        double complex p = cf(P + 2 * n), b = cf(B + 2 * n), c = cf(C + 2 * n);
        double complex r = mirror ? conj(d->rb[n]) : d->r[n], rb = mirror ? conj(d->r[n]) : d->rb[n];
        double complex v00 = mul(c, b), v01 = mul(c, p), v10 = mul(conj(p), b), r2 = mul(r, r), rb2 = mul(rb, rb);
        double v11 = creal(p) * creal(p) + cimag(p) * cimag(p);
        double complex cv = mul(c00, v00) + mul(c01, v01) + mul(c10, v10) + c11 * v11;
        double complex cvb = mul(c00, conj(v00)) + mul(c01, conj(v01)) + mul(c10, conj(v10)) + c11 * v11;
        aC[n] += mul(mul(c00, b) + mul(c01, p), r);
        aB[n] += mul(mul(c00, c) + mul(c10, conj(p)), r);
        aP[n] += mul(mul(c01, c), r) + mul(mul(c10, conj(b)), rb) + mul(mul(c11, conj(p)), r + rb);
        aL[n] += mul(mul(cv, s), r2);
        sdt += mul(cv, r2) + mul(cvb, rb2);
    }
    return sdt * (2.0 / (dt * dt)) * (1.0 - w);
}

/* One channel's backward: the Cauchy sums once per frequency pair (k, L − k), both frequencies' shares,
 * then the gradients (see freq_backward). */
static void backward_channel(float *dlam, float *dP, float *dB, float *dC, double *ddt, ssm_train_dplr *d,
                             const fftw_complex *F, double dt, const float *lam, const float *P, const float *B,
                             const float *C)
{
    const size_t M = d->M, L = d->L;
    double complex *aC = d->acc, *aB = aC + M, *aP = aB + M, *aL = aP + M;
    memset(d->acc, 0, 4 * M * sizeof *d->acc);
    double complex gdt = 0.0;
    for (size_t k = 0; k < d->nh; k++) { /* G_k = conj(F_k) for k < nh; G_{L−k} = F_k (F = rfft(dK), real dK) */
        double complex w = d->w[k], q[4];
        cauchy_sums(q, d, (2.0 / dt) * (1.0 - w), 1.0 + w, lam, P, B, C);
        gdt += freq_backward(d, conj(F[k]), w, dt, q, 0, P, B, C);
        if (k > 0 && k < L - k)
            gdt += freq_backward(d, F[k], w, dt, q, 1, P, B, C);
    }
    const double il = 1.0 / (double)L;
    for (size_t n = 0; n < M; n++) {
        double complex g;
        g = 2.0 * conj(aC[n]) * il; dC[2 * n] += (float)creal(g); dC[2 * n + 1] += (float)cimag(g);
        if (dB) { g = 2.0 * conj(aB[n]) * il; dB[2 * n] += (float)creal(g); dB[2 * n + 1] += (float)cimag(g); }
        if (dP) { g = 2.0 * conj(aP[n]) * il; dP[2 * n] += (float)creal(g); dP[2 * n + 1] += (float)cimag(g); }
        if (dlam) { g = 2.0 * conj(aL[n]) * il; dlam[2 * n] += (float)creal(g); dlam[2 * n + 1] += (float)cimag(g); }
    }
    *ddt = creal(gdt) * il;
}

void ssm_train_kernel_dplr_backward(float *dlam, float *dP, float *dB, float *dC, float *dlogdt, ssm_train_dplr *d,
                                    const double *dK, const float *lam, const float *P, const float *B,
                                    const float *C, const float *logdt)
{
    const size_t H = d->H, M = d->M, L = d->L;
    memcpy(d->time, dK, H * L * sizeof *dK);
    fftw_execute(d->r2c);
    for (size_t h = 0; h < H; h++) {
        const size_t o = h * M * 2;
        const double dt = exp((double)logdt[h]);
        double ddt = 0.0;
        backward_channel(dlam ? dlam + o : NULL, dP ? dP + o : NULL, dB ? dB + o : NULL, dC + o, &ddt, d,
                         d->spec + h * d->nh, dt, lam + o, P + o, B + o, C + o);
        if (dlogdt)
            dlogdt[h] += (float)(dt * ddt);
    }
}

/* C ← C(I − Ā^L) per channel, Ā = (I − ΔA/2)⁻¹(I + ΔA/2), A = Λ − pp* over the conjugate-closed set:
 * the row vector x = C is carried through L steps x ← xĀ in O(M) each.  With d_n = 1 − Δλ_n/2,
 * (I − ΔA/2) = diag(d) + (Δ/2)pp* and Sherman–Morrison, y = x(I − ΔA/2)⁻¹ is
 * y_n = (x_n − σ p̄_n)/d_n,  σ = (Δ/2)(Σ x p/d)/(1 + (Δ/2)Σ |p|²/d)  (sums over all N modes: 2 Re of the
 * stored half, so σ is real), and x' = y(I + ΔA/2): x'_n = y_n(1 + Δλ_n/2) − (Δ/2)(Σ y p) p̄_n. */
ssm_status ssm_train_dplr_ctilde(float *C, const float *lam, const float *P, const float *logdt, size_t H, size_t M,
                                 size_t L)
{
    double complex *x = malloc((M ? M : 1) * sizeof *x);
    if (!x)
        return SSM_ERROR(SSM_ENOMEM, "DPLR kernel: out of memory (M = %zu)", M);
    for (size_t h = 0; h < H; h++) {
        const size_t o = h * M * 2;
        const double dt = exp((double)logdt[h]), hd = 0.5 * dt;
        double den = 1.0;
        for (size_t n = 0; n < M; n++) {
            double complex p = cf(P + o + 2 * n), dn = 1.0 - hd * cf(lam + o + 2 * n);
            den += 2.0 * hd * creal(conj(p) * p / dn);
            x[n] = cf(C + o + 2 * n);
        }
        for (size_t l = 0; l < L; l++) {
            double sxp = 0.0, syp = 0.0;
            for (size_t n = 0; n < M; n++)
                sxp += 2.0 * creal(x[n] * cf(P + o + 2 * n) / (1.0 - hd * cf(lam + o + 2 * n)));
            double sigma = hd * sxp / den;
            for (size_t n = 0; n < M; n++) {
                double complex la = cf(lam + o + 2 * n), p = cf(P + o + 2 * n);
                x[n] = (x[n] - sigma * conj(p)) / (1.0 - hd * la);
                syp += 2.0 * creal(x[n] * p);
            }
            for (size_t n = 0; n < M; n++) {
                double complex la = cf(lam + o + 2 * n), p = cf(P + o + 2 * n);
                x[n] = x[n] * (1.0 + hd * la) - hd * syp * conj(p);
            }
        }
        for (size_t n = 0; n < M; n++) { /* C̃ = C − C Ā^L */
            double complex c = cf(C + o + 2 * n) - x[n];
            C[o + 2 * n] = (float)creal(c);
            C[o + 2 * n + 1] = (float)cimag(c);
        }
    }
    free(x);
    return SSM_OK;
}
