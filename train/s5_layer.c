/* train/s5_layer.c — the S5 layer (Smith, Warrington & Linderman 2023; lindermanlab/S5 s5/ssm.py): one
 * MIMO state of N = 2M complex modes shared by the H channels, conjugate-symmetric (M stored modes, their
 * conjugates implied, output 2·Re), ZOH with one step Δ_n per mode:
 *
 *   Λ̄_n = e^{Δ_n Λ_n},  B̄[n,:] = (Λ̄_n − 1)/Λ_n · B̃[n,:],
 *   x_ℓ = Λ̄ ⊙ x_{ℓ−1} + B̄ u_ℓ   (x_{−1} = 0),    y_ℓ = 2·Re(C̃ x_ℓ) + D ⊙ u_ℓ.
 *
 * Computed per sequence as  V = u·W  (W [H, 2M] = B̄ᵀ as (re, im) pairs: one real sgemm), the diagonal
 * recurrence per mode over ℓ (in double, O(L·M)), then  y = X·Cᵗ + D u  (Cᵗ [2M, H] = 2·(Re C̃, −Im C̃)ᵀ: one
 * sgemm).  The backward pass is the adjoint: G = dy·Cᵗᵀ, the adjoint recurrence backwards in time
 * (g_ℓ = G_ℓ + conj(Λ̄) g_{ℓ+1}), then du = G·Wᵀ and dW = uᵀG, mapped to B̃, Λ and log Δ through B̄.
 * Complex gradients follow train/ssm_layer.c: g = ∂/∂Re + i ∂/∂Im, so through a holomorphic w = f(p),
 * g_p = conj(f'(p))·g_w. */
#include "train/train_impl.h"

#include <cblas.h>
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static inline double complex cf(const float *p) { return CMPLX((double)p[0], (double)p[1]); }

size_t ssm_train_s5_scratch(size_t B, size_t L, size_t H, size_t M) { return B * L * 2 * M + 4 * M * H; }

ssm_status ssm_train_s5_discretize(const ssm_train_s5 *s)
{
    const size_t H = s->H, M = s->M;
    for (size_t n = 0; n < M; n++) {
        double complex la = cf(s->lam + 2 * n), z = cexp(exp((double)s->logstep[n]) * la), q = (z - 1.0) / la;
        if (!isfinite(creal(z)) || !isfinite(cimag(z)) || !isfinite(creal(q)) || !isfinite(cimag(q)))
            return SSM_ERROR(SSM_ELOSS, "S5 layer: mode %zu is not finite after discretisation (diverged training?)",
                             n);
        s->zq[4 * n] = creal(z);
        s->zq[4 * n + 1] = cimag(z);
        s->zq[4 * n + 2] = creal(q);
        s->zq[4 * n + 3] = cimag(q);
        for (size_t h = 0; h < H; h++) {
            double complex b = q * cf(s->B + 2 * (n * H + h)), c = cf(s->C + 2 * (h * M + n));
            s->W[h * 2 * M + 2 * n] = (float)creal(b);
            s->W[h * 2 * M + 2 * n + 1] = (float)cimag(b);
            s->Ct[2 * n * H + h] = (float)(2.0 * creal(c));
            s->Ct[(2 * n + 1) * H + h] = (float)(-2.0 * cimag(c));
        }
    }
    for (size_t i = 0; i < 2 * M * H; i++)
        if (!isfinite(s->W[i]) || !isfinite(s->Ct[i]))
            return SSM_ERROR(SSM_ELOSS, "S5 layer: B̄ or C̃ is not finite (diverged training?)");
    return SSM_OK;
}

/* x_ℓ = Λ̄ x_{ℓ−1} + v_ℓ in place over X [L, 2M] (one sequence), the states in double, row by row */
static void s5_scan(float *X, const double *zq, size_t L, size_t M)
{
    double complex x[SSM_TRAIN_S5_MAX_M] = {0}, z[SSM_TRAIN_S5_MAX_M];
    for (size_t n = 0; n < M; n++)
        z[n] = CMPLX(zq[4 * n], zq[4 * n + 1]);
    for (size_t l = 0; l < L; l++) {
        float *row = X + l * 2 * M;
        for (size_t n = 0; n < M; n++) {
            x[n] = z[n] * x[n] + cf(row + 2 * n);
            row[2 * n] = (float)creal(x[n]);
            row[2 * n + 1] = (float)cimag(x[n]);
        }
    }
}

void ssm_train_s5_forward(float *y, float *X, const ssm_train_s5 *s, const float *u, size_t B, size_t L)
{
    const size_t H = s->H, M = s->M, R = B * L;
    ssm_train_linear_forward(X, u, s->W, NULL, R, H, 2 * M);   /* V = u·W: the inputs of the modes */
    for (size_t b = 0; b < B; b++)
        s5_scan(X + b * L * 2 * M, s->zq, L, M);
    ssm_train_linear_forward(y, X, s->Ct, NULL, R, 2 * M, H);  /* 2·Re(C̃ x) */
    for (size_t r = 0; r < R; r++)
        for (size_t h = 0; h < H; h++)
            y[r * H + h] += s->D[h] * u[r * H + h];
}

/* The adjoint recurrence in place over G [L, 2M] (one sequence): g_ℓ = G_ℓ + conj(Λ̄) g_{ℓ+1}; returns
 * in gz[n] (accumulated) Σ_ℓ conj(x_{ℓ−1}) g_ℓ, the gradient with respect to Λ̄ through the recurrence. */
static void s5_adjoint(float *G, double complex *gz, const float *X, const double *zq, size_t L, size_t M)
{
    double complex g[SSM_TRAIN_S5_MAX_M] = {0}, zc[SSM_TRAIN_S5_MAX_M], acc[SSM_TRAIN_S5_MAX_M] = {0};
    for (size_t n = 0; n < M; n++)
        zc[n] = CMPLX(zq[4 * n], -zq[4 * n + 1]);
    for (size_t l = L; l-- > 0;) {
        float *row = G + l * 2 * M;
        for (size_t n = 0; n < M; n++) {
            g[n] = cf(row + 2 * n) + zc[n] * g[n];
            row[2 * n] = (float)creal(g[n]);
            row[2 * n + 1] = (float)cimag(g[n]);
            if (l > 0)
                acc[n] += conj(cf(X + (l - 1) * 2 * M + 2 * n)) * g[n];
        }
    }
    for (size_t n = 0; n < M; n++)
        gz[n] += acc[n];
}

/* From dW [H, 2M] (the gradient of B̄ᵀ) and gz (of Λ̄ through the recurrence) to B̃, Λ and log Δ:
 * B̄ = q B̃ with q = (Λ̄ − 1)/Λ, Λ̄ = e^{ΔΛ}:  g_B̃ = conj(q) g_B̄,  g_q = Σ_h conj(B̃) g_B̄,
 * g_Λ̄ (total) = gz + conj(1/Λ) g_q,  g_Λ = conj(Δ Λ̄) g_Λ̄ − conj(q/Λ) g_q,  ∂/∂log Δ = Δ·Re(conj(g_Λ̄) Λ Λ̄). */
static void s5_param_grads(const ssm_train_s5_grads *g, const ssm_train_s5 *s, const float *dW,
                           const double complex *gz)
{
    const size_t H = s->H, M = s->M;
    for (size_t n = 0; n < M; n++) {
        const double complex z = CMPLX(s->zq[4 * n], s->zq[4 * n + 1]), q = CMPLX(s->zq[4 * n + 2], s->zq[4 * n + 3]);
        const double complex la = cf(s->lam + 2 * n);
        const double dt = exp((double)s->logstep[n]);
        double complex gq = 0.0;
        for (size_t h = 0; h < H; h++) {
            double complex gbar = cf(dW + h * 2 * M + 2 * n), gb = conj(q) * gbar;
            gq += conj(cf(s->B + 2 * (n * H + h))) * gbar;
            g->B[2 * (n * H + h)] += (float)creal(gb);
            g->B[2 * (n * H + h) + 1] += (float)cimag(gb);
        }
        double complex gzt = gz[n] + conj(1.0 / la) * gq;
        double complex gl = conj(dt * z) * gzt - conj(q / la) * gq;
        g->lam[2 * n] += (float)creal(gl);
        g->lam[2 * n + 1] += (float)cimag(gl);
        g->logstep[n] += (float)(dt * creal(conj(gzt) * la * z));
    }
}

void ssm_train_s5_backward(float *du, const ssm_train_s5_grads *g, float *scratch, const ssm_train_s5 *s,
                           const float *dy, const float *u, const float *X, size_t B, size_t L)
{
    const size_t H = s->H, M = s->M, R = B * L;
    float *G = scratch, *dCt = scratch + R * 2 * M, *dW = dCt + 2 * M * H;
    /* y = X·Cᵗ + D u */
    memset(G, 0, R * 2 * M * sizeof *G);
    memset(dCt, 0, 2 * M * H * sizeof *dCt);
    ssm_train_linear_backward(G, dCt, NULL, dy, X, s->Ct, R, 2 * M, H);
    for (size_t r = 0; r < R; r++)
        for (size_t h = 0; h < H; h++) {
            du[r * H + h] += s->D[h] * dy[r * H + h];
            g->D[h] += dy[r * H + h] * u[r * H + h];
        }
    for (size_t n = 0; n < M; n++)
        for (size_t h = 0; h < H; h++) {
            g->C[2 * (h * M + n)] += 2.0f * dCt[2 * n * H + h];
            g->C[2 * (h * M + n) + 1] -= 2.0f * dCt[(2 * n + 1) * H + h];
        }
    /* the recurrence, backwards in time */
    double complex gz[SSM_TRAIN_S5_MAX_M];
    memset(gz, 0, sizeof gz);
    for (size_t b = 0; b < B; b++)
        s5_adjoint(G + b * L * 2 * M, gz, X + b * L * 2 * M, s->zq, L, M);
    /* V = u·W: du += G·Wᵀ, dW = uᵀG (only when Λ, B̃, Δ train) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)R, (int)H, (int)(2 * M), 1.0f, G, (int)(2 * M), s->W,
                (int)(2 * M), 1.0f, du, (int)H);
    if (!g->lam)
        return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)H, (int)(2 * M), (int)R, 1.0f, u, (int)H, G,
                (int)(2 * M), 0.0f, dW, (int)(2 * M));
    s5_param_grads(g, s, dW, gz);
}

/* ---- the S5 layer in the model (train/model.c) ------------------------------------------------------ */

ssm_train_s5 ssm_train_s5_view(const ssm_train_model *m, size_t l)
{
    const ssm_train_layer *ly = &m->layer[l];
    const size_t H = m->H, M = m->M;
    const float *p = m->params;
    return (ssm_train_s5){.H = H, .M = M, .lam = p + ly->lam, .B = p + ly->B, .C = p + ly->C,
                          .logstep = p + ly->logdt, .D = p + ly->D, .W = m->s5_W + l * H * 2 * M,
                          .Ct = m->s5_Ct + l * 2 * M * H, .zq = m->s5_zq + l * M * 4};
}

ssm_status ssm_train_s5_model_kernels(ssm_train_model *m)
{
    for (size_t l = 0; l < m->K; l++) {
        ssm_train_s5 s = ssm_train_s5_view(m, l);
        ssm_status st = ssm_train_s5_discretize(&s);
        if (st != SSM_OK) {
            char why[256];
            snprintf(why, sizeof why, "%s", ssm_error_message());
            return SSM_ERROR(st, "layer %zu: %s", l, why);
        }
    }
    return SSM_OK;
}

/* jax.nn.initializers.lecun_normal's draw, as S5 uses it: a standard normal truncated to [−2, 2]
 * (rejection) rescaled to standard deviation `std` (÷ 0.87962566103423978, the truncated unit normal's). */
static double trunc_normal(uint64_t *rng, double std)
{
    double x;
    do
        x = ssm_train_normal(rng);
    while (fabs(x) > 2.0);
    return x * (std / 0.87962566103423978);
}

void ssm_train_s5_values(float *p, const ssm_train_layer *ly, size_t H, const ssm_init_file *f, double lo, double hi,
                         uint64_t *rng)
{
    const size_t N = f->N, M = f->M;
    const ssm_zmat_struct *V = f->V, *Vi = f->Vinv->rows ? f->Vinv : NULL;
    const double sd = 1.0 / sqrt((double)N);
    for (size_t n = 0; n < M; n++) {
        p[ly->logdt + n] = (float)(lo + (hi - lo) * ssm_train_uniform(rng));
        p[ly->lam + 2 * n] = (float)creal(f->lambda[n]);
        p[ly->lam + 2 * n + 1] = (float)cimag(f->lambda[n]);
    }
    for (size_t h = 0; h < H; h++) {
        p[ly->D + h] = (float)ssm_train_normal(rng);
        p[ly->ln_g + h] = 1.0f;
        p[ly->ln_b + h] = 0.0f;
    }
    double b[1024];
    for (size_t h = 0; h < H; h++) { /* B̃ = V⁻¹B, B [N, H] real lecun_normal (V⁻¹ = V* for a unitary V) */
        for (size_t i = 0; i < N; i++)
            b[i] = trunc_normal(rng, sd);
        for (size_t n = 0; n < M; n++) {
            double complex s = 0.0;
            for (size_t i = 0; i < N; i++)
                s += (Vi ? SSM_D(Vi, n, i) : conj(SSM_D(V, i, n))) * b[i];
            p[ly->B + 2 * (n * H + h)] = (float)creal(s);
            p[ly->B + 2 * (n * H + h) + 1] = (float)cimag(s);
        }
    }
    double complex c[1024];
    for (size_t h = 0; h < H; h++) { /* C̃ = C V, C [H, N] complex, parts lecun_normal over (1, N, 2) */
        for (size_t i = 0; i < N; i++) {
            double re = trunc_normal(rng, sd);
            c[i] = CMPLX(re, trunc_normal(rng, sd));
        }
        for (size_t n = 0; n < M; n++) {
            double complex s = 0.0;
            for (size_t i = 0; i < N; i++)
                s += c[i] * SSM_D(V, i, n);
            p[ly->C + 2 * (h * M + n)] = (float)creal(s);
            p[ly->C + 2 * (h * M + n) + 1] = (float)cimag(s);
        }
    }
}
