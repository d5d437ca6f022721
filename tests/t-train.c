/* tests/t-train.c — the training engine computed two ways: every layer's backward pass against central
 * finite differences (per layer on small shapes, then the whole model in each configuration), the FFT
 * convolution against the direct sum, the ZOH kernel against the dense real system it diagonalises;
 * then a tiny end-to-end training run on the adding problem, the data errors, the IDX reader against
 * files written here (raw, and gzip'd by zlib's deflate), the split sizes, and the optimiser.
 *
 * Finite differences: the layers run in float32 (the engine's type), so the loss is a float computation
 * accumulated in double.  A 4-point stencil (f(−2h) − 8f(−h) + 8f(h) − f(2h))/12h with h = 1e-2 has
 * truncation error O(h⁴) ~ 1e-8·|f⁽⁵⁾| and rounding error ~ (float eps 6e-8)·|terms|·(few)/h ~ 1e-5 relative
 * to the loss's scale; the tolerance FD_TOL = 2e-3 relative to the largest gradient entry of the tensor
 * (plus the same absolute floor) sits two orders above that noise and far below what any wrong term
 * (an O(1) relative error) produces.  The rounding part of the stencil is bounded by
 * (1 + 8 + 8 + 1)/(12h) = 150 times the rounding error of one loss evaluation (a few float eps·|f| after
 * the float forward), hence the absolute floor FD_ABS = 500·FLT_EPSILON·max(1, |f|) ≈ 6e-5·max(1, |f|),
 * which only matters for tensors whose gradients are themselves that small.  The PyTorch comparison (make check-torch) checks the same gradients
 * against float64 autograd. */
#define _POSIX_C_SOURCE 200809L
#include "ssmkit.h"
#include "tests/harness.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define FD_TOL 2e-3
#define FD_H 1e-2

/* ---- generic finite-difference check of one float array ------------------------------------------- */

typedef double (*loss_fn)(void *ctx);

/* compare g[i] with the stencil derivative of f with respect to p[i], for i < n (every `stride`-th) */
static void fd_check(const char *what, float *p, const float *g, size_t n, size_t stride, loss_fn f, void *ctx)
{
    double gmax = 0.0, worst = 0.0, f0 = fabs(f(ctx));
    size_t iworst = 0;
    for (size_t i = 0; i < n; i++)
        gmax = fmax(gmax, fabs((double)g[i]));
    for (size_t i = 0; i < n; i += stride) {
        float p0 = p[i];
        double fv[4];
        const double off[4] = {-2, -1, 1, 2};
        for (int k = 0; k < 4; k++) {
            p[i] = (float)(p0 + off[k] * FD_H);
            fv[k] = f(ctx);
        }
        p[i] = p0;
        /* the actual float steps, not the nominal ones */
        double h = ((double)(float)(p0 + FD_H) - (double)(float)(p0 - FD_H)) / 2.0;
        double fd = (fv[0] - 8.0 * fv[1] + 8.0 * fv[2] - fv[3]) / (12.0 * h);
        double err = fabs(fd - (double)g[i]);
        if (err > worst) {
            worst = err;
            iworst = i;
        }
    }
    double floor_abs = 500.0 * FLT_EPSILON * fmax(1.0, f0);
    CHECK(worst <= FD_TOL * gmax + floor_abs, "%s: finite differences differ by %.3g at %zu (largest gradient %.3g)",
          what, worst, iworst, gmax);
}

static void fill(float *p, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(scale * t_uniform());
}

/* Σ r·out in double: the probe loss of a layer */
static double dotf(const float *r, const float *out, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)r[i] * (double)out[i];
    return s;
}

/* ---- per-layer checks --------------------------------------------------------------------------------- */

enum { R_ = 5, I_ = 4, O_ = 3, H_ = 6, L_ = 7, B_ = 2 };

typedef struct {
    int kind;
    float *x, *w, *b, *out, *r, *m, *s;
    size_t R, H;
} lctx;

static double layer_loss(void *v)
{
    lctx *c = v;
    switch (c->kind) {
    case 0: ssm_train_linear_forward(c->out, c->x, c->w, c->b, R_, I_, O_); return dotf(c->r, c->out, R_ * O_);
    case 1: ssm_train_gelu_forward(c->out, c->m, c->x, R_ * H_); return dotf(c->r, c->out, R_ * H_);
    case 2: ssm_train_glu_forward(c->out, c->x, R_, H_); return dotf(c->r, c->out, R_ * H_);
    case 3: ssm_train_layernorm_forward(c->out, c->m, c->s, c->x, c->w, c->b, R_, H_); return dotf(c->r, c->out, R_ * H_);
    case 4: ssm_train_meanpool_forward(c->out, c->x, B_, L_, H_); return dotf(c->r, c->out, B_ * H_);
    case 5: return ssm_train_crossentropy(NULL, c->x, c->b, R_, H_, 1.0f, NULL);
    default: return ssm_train_mse(NULL, c->x, c->b, R_, 1.0f, 0.1, NULL);
    }
}

static void test_layers(void)
{
    float x[R_ * 2 * H_ + B_ * L_ * H_], w[I_ * O_ + H_], b[O_ + H_ + R_], out[R_ * 2 * H_ + B_ * L_ * H_];
    float r[R_ * 2 * H_ + B_ * L_ * H_], m[R_ * H_], s[R_], gd[R_ * H_];
    float dx[sizeof x / sizeof *x], dw[sizeof w / sizeof *w], db[sizeof b / sizeof *b];
    lctx c = {.x = x, .w = w, .b = b, .out = out, .r = r, .m = m, .s = s};
    fill(x, sizeof x / sizeof *x, 2.0);
    fill(w, sizeof w / sizeof *w, 1.0);
    fill(b, sizeof b / sizeof *b, 1.0);
    fill(r, sizeof r / sizeof *r, 1.0);
#define ZERO() (memset(dx, 0, sizeof dx), memset(dw, 0, sizeof dw), memset(db, 0, sizeof db))
    /* linear */
    c.kind = 0;
    ZERO();
    ssm_train_linear_backward(dx, dw, db, r, x, w, R_, I_, O_);
    fd_check("linear d/dx", x, dx, R_ * I_, 1, layer_loss, &c);
    fd_check("linear d/dw", w, dw, I_ * O_, 1, layer_loss, &c);
    fd_check("linear d/db", b, db, O_, 1, layer_loss, &c);
    /* GELU */
    c.kind = 1;
    ZERO();
    ssm_train_gelu_forward(out, gd, x, R_ * H_);
    ssm_train_gelu_backward(dx, gd, r, R_ * H_);
    {   /* against libm's erff */
        double worst = 0.0;
        for (size_t i = 0; i < (size_t)R_ * H_; i++)
            worst = fmax(worst, fabs(out[i] - 0.5 * x[i] * (1.0 + erf(x[i] * M_SQRT1_2))));
        CHECK(worst < 4e-7, "GELU vs 0.5x(1 + erf(x/sqrt 2)): %.3g (A&S 7.1.26 is good to 1.5e-7 in erf, |x| <= 2)", worst);
    }
    fd_check("gelu d/dx", x, dx, R_ * H_, 1, layer_loss, &c);
    /* GLU */
    c.kind = 2;
    ZERO();
    ssm_train_glu_backward(dx, x, r, R_, H_);
    fd_check("glu d/dx", x, dx, R_ * 2 * H_, 1, layer_loss, &c);
    /* LayerNorm */
    c.kind = 3;
    ZERO();
    ssm_train_layernorm_forward(out, m, s, x, w, b, R_, H_);
    ssm_train_layernorm_backward(dx, dw, db, r, x, w, m, s, R_, H_);
    fd_check("layernorm d/dx", x, dx, R_ * H_, 1, layer_loss, &c);
    fd_check("layernorm d/dgamma", w, dw, H_, 1, layer_loss, &c);
    fd_check("layernorm d/dbeta", b, db, H_, 1, layer_loss, &c);
    /* mean pooling */
    c.kind = 4;
    ZERO();
    ssm_train_meanpool_backward(dx, r, B_, L_, H_);
    fd_check("meanpool d/dx", x, dx, B_ * L_ * H_, 1, layer_loss, &c);
    /* cross-entropy against classes in b (as floats) */
    c.kind = 5;
    for (int i = 0; i < R_; i++)
        b[i] = (float)(i % H_);
    ZERO();
    size_t correct = 0;
    ssm_train_crossentropy(dx, x, b, R_, H_, 1.0f, &correct);
    fd_check("cross-entropy d/dlogits", x, dx, R_ * H_, 1, layer_loss, &c);
    c.kind = 6;
    ZERO();
    ssm_train_mse(dx, x, b, R_, 1.0f, 0.1, &correct);
    fd_check("mse d/dpred", x, dx, R_, 1, layer_loss, &c);
#undef ZERO
}

/* ---- the SSM convolution and kernels --------------------------------------------------------------- */

typedef struct {
    ssm_train_conv *p;
    ssm_train_conv_ws *w;
    float *u, *K, *Kf, *D, *y, *r;
    size_t H, L, B;
} cctx;

static double conv_loss(void *v)
{
    cctx *c = v;
    ssm_train_conv_kernel_fft(c->Kf, c->p, c->w, c->K);
    ssm_train_conv_forward(c->y, NULL, c->p, c->w, c->u, c->Kf, c->D, c->B);
    return dotf(c->r, c->y, c->B * c->L * c->H);
}

/* The vector-unit variants of GELU and LayerNorm (train/layers.c) give the baseline's bits: each one the
 * CPU has, forced in turn, on rows whose length is and is not a multiple of 8 or 16, and on inputs from
 * 0 and subnormals to 1e30 where exp(-x^2/2) underflows. */
enum { SV_N = 1000, SV_R = 37 };
typedef struct {
    float o[SV_N], d[SV_N];                                          /* GELU */
    float y[3][SV_N], m[3][SV_R], s[3][SV_R], dx[3][SV_N], dg[3][64], db[3][64]; /* LN, per row length */
} simd_out;

static void simd_run(simd_out *u, const float *x, const float *r, const float *g, const float *b)
{
    static const size_t hs[3] = {64, 13, 5};
    memset(u, 0, sizeof *u);
    ssm_train_gelu_forward(u->o, u->d, x, SV_N);
    for (size_t k = 0; k < 3; k++) {
        size_t H = hs[k], R = SV_N / H < SV_R ? SV_N / H : SV_R;
        ssm_train_layernorm_forward(u->y[k], u->m[k], u->s[k], x, g, b, R, H);
        ssm_train_layernorm_backward(u->dx[k], u->dg[k], u->db[k], r, x, g, u->m[k], u->s[k], R, H);
    }
}

static void test_simd_variants(void)
{
    static float x[SV_N], r[SV_N], g[64], b[64];
    static simd_out out[3];
    fill(x, SV_N, 8.0);
    fill(r, SV_N, 1.0);
    fill(g, 64, 2.0);
    fill(b, 64, 1.0);
    const float special[] = {0.0f, -0.0f, 1e-40f, -1e-40f, 13.2f, -13.2f, 40.0f, -1e30f, 1e30f, 1e-3f};
    const size_t ns = sizeof special / sizeof *special;
    memcpy(x + 100, special, sizeof special);
    int have = 0;
    for (int lv = 0; lv <= 2; lv++)
        if (ssm_train_simd_force(lv) == 0) { /* else the CPU (or the build) lacks it */
            have |= 1 << lv;
            simd_run(&out[lv], x, r, g, b);
        }
    CHECK(ssm_train_simd_force(-1) == 0 && (have & 1), "the baseline variant runs (variants here: mask %d)", have);
    printf("GELU/LayerNorm variants compared with the baseline:%s%s\n", have & 2 ? " AVX2" : "",
           have & 4 ? " AVX-512F" : have & 6 ? "" : " none on this CPU");
    for (int lv = 1; lv <= 2; lv++)
        if (have & 1 << lv) {
            CHECK(memcmp(out[lv].o, out[0].o, sizeof out[0].o) == 0 && memcmp(out[lv].d, out[0].d, sizeof out[0].d) == 0,
                  "GELU forward: variant %d gives the baseline's bits", lv);
            CHECK(memcmp(out[lv].y, out[0].y, sizeof out[0].y) == 0 && memcmp(out[lv].m, out[0].m, sizeof out[0].m) == 0 &&
                      memcmp(out[lv].s, out[0].s, sizeof out[0].s) == 0,
                  "LayerNorm forward: variant %d gives the baseline's bits (H = 64, 13, 5)", lv);
            CHECK(memcmp(out[lv].dx, out[0].dx, sizeof out[0].dx) == 0 && memcmp(out[lv].dg, out[0].dg, sizeof out[0].dg) == 0 &&
                      memcmp(out[lv].db, out[0].db, sizeof out[0].db) == 0,
                  "LayerNorm backward: variant %d gives the baseline's bits (H = 64, 13, 5)", lv);
        }
    /* the special inputs against erf in double: absolute 4e-7 (A&S 7.1.26: 1.5e-7 in erf, plus float
     * rounding of x·Φ) relative to max(1, |x|); the derivative finite (Φ + xφ: 0 or 1 far out) */
    for (size_t i = 100; i < 100 + ns; i++)
        CHECK(fabs(out[0].o[i] - 0.5 * x[i] * (1.0 + erf(x[i] * M_SQRT1_2))) <= 4e-7 * fmax(1.0, fabs(x[i])) &&
                  isfinite(out[0].d[i]),
              "GELU(%g) = %g, derivative %g", x[i], out[0].o[i], out[0].d[i]);
}

/* The convolution's 4×4 SSE blocks and their edges (H, L not multiples of 4, and multiples) against the
 * direct sums in double: y = K ⋆ u + D u, du_m = Σ_{ℓ≥m} dy_ℓ K_{ℓ−m} + D dy_m, dD = Σ dy u. */
static void conv_blocks(size_t H, size_t L, size_t B)
{
    ssm_train_conv *p = NULL;
    ssm_train_conv_ws *w = NULL;
    TRY(ssm_train_conv_create(&p, H, L));
    TRY(ssm_train_conv_ws_create(&w, p));
    size_t nf = ssm_train_conv_nfreq(p), n = B * L * H;
    float *u = malloc(n * sizeof *u), *dy = malloc(n * sizeof *dy), *y = malloc(n * sizeof *y),
          *du = calloc(n, sizeof *du), *K = malloc(H * L * sizeof *K), *D = malloc(H * sizeof *D),
          *dD = calloc(H, sizeof *dD), *Kf = malloc(H * nf * 2 * sizeof *Kf), *dKf = calloc(H * nf * 2, sizeof *dKf);
    fill(u, n, 1.0); fill(dy, n, 1.0); fill(K, H * L, 1.0); fill(D, H, 1.0);
    ssm_train_conv_kernel_fft(Kf, p, w, K);
    ssm_train_conv_forward(y, NULL, p, w, u, Kf, D, B);
    ssm_train_conv_backward(du, dKf, dD, p, w, dy, u, NULL, Kf, D, B);
    double ey = 0.0, edu = 0.0, edD = 0.0;
    for (size_t h = 0; h < H; h++) {
        double sD = 0.0;
        for (size_t b = 0; b < B; b++)
            for (size_t l = 0; l < L; l++) {
                size_t i = (b * L + l) * H + h;
                double fy = (double)D[h] * u[i], fd = (double)D[h] * dy[i];
                for (size_t j = 0; j <= l; j++)
                    fy += (double)K[h * L + j] * u[i - j * H];
                for (size_t j = l; j < L; j++)
                    fd += (double)dy[(b * L + j) * H + h] * K[h * L + j - l];
                sD += (double)dy[i] * u[i];
                ey = fmax(ey, fabs(fy - y[i]));
                edu = fmax(edu, fabs(fd - du[i]));
            }
        edD = fmax(edD, fabs(sD - dD[h]));
    }
    /* float FFTs of length ≥ 2L: error ~ eps·log2(n)·Σ|K||u| ≤ 1e-7·6·L here; dD is a float sum of B·L terms */
    CHECK(ey < 1e-5 && edu < 1e-5 && edD < 1e-5 * (double)(B * L),
          "convolution H = %zu, L = %zu: y %.3g, du %.3g, dD %.3g from the direct sums", H, L, ey, edu, edD);
    free(u); free(dy); free(y); free(du); free(K); free(D); free(dD); free(Kf); free(dKf);
    ssm_train_conv_ws_free(w);
    ssm_train_conv_free(p);
}

static void test_conv(void)
{
    const size_t H = 3, L = 9, B = 2;
    cctx c = {.H = H, .L = L, .B = B};
    TRY(ssm_train_conv_create(&c.p, H, L));
    TRY(ssm_train_conv_ws_create(&c.w, c.p));
    size_t nf = ssm_train_conv_nfreq(c.p);
    float u[2 * 9 * 3], K[3 * 9], D[3], y[2 * 9 * 3], r[2 * 9 * 3], du[2 * 9 * 3], dD[3], *Kf = malloc(H * nf * 2 * sizeof *Kf),
          *dKf = calloc(H * nf * 2, sizeof *dKf);
    double dK[3 * 9];
    c.u = u; c.K = K; c.Kf = Kf; c.D = D; c.y = y; c.r = r;
    fill(u, B * L * H, 1.0); fill(K, H * L, 1.0); fill(D, H, 1.0); fill(r, B * L * H, 1.0);
    conv_loss(&c);
    /* the direct causal sum */
    double worst = 0.0;
    for (size_t b = 0; b < B; b++)
        for (size_t l = 0; l < L; l++)
            for (size_t h = 0; h < H; h++) {
                double acc = D[h] * u[(b * L + l) * H + h];
                for (size_t j = 0; j <= l; j++)
                    acc += (double)K[h * L + j] * u[(b * L + l - j) * H + h];
                worst = fmax(worst, fabs(acc - y[(b * L + l) * H + h]));
            }
    /* float FFT of length 18..: error ~ eps·log2(n)·Σ|K||u| ≲ 1e-5 here */
    CHECK(worst < 1e-5, "FFT convolution vs the direct sum: %.3g", worst);
    memset(du, 0, sizeof du);
    memset(dD, 0, sizeof dD);
    ssm_train_conv_backward(du, dKf, dD, c.p, c.w, r, u, NULL, Kf, D, B);
    {   /* with the spectra kept by the forward pass: the same gradients */
        float *Uf = malloc(B * H * nf * 2 * sizeof *Uf), *dKf2 = calloc(H * nf * 2, sizeof *dKf2);
        float du2[2 * 9 * 3] = {0}, dD2[3] = {0};
        ssm_train_conv_forward(y, Uf, c.p, c.w, u, Kf, D, B);
        ssm_train_conv_backward(du2, dKf2, dD2, c.p, c.w, r, u, Uf, Kf, D, B);
        CHECK(memcmp(du, du2, sizeof du) == 0 && memcmp(dD, dD2, sizeof dD) == 0 &&
                  memcmp(dKf, dKf2, H * nf * 2 * sizeof *dKf) == 0, "kept spectra give the same gradients");
        free(Uf); free(dKf2);
    }
    ssm_train_conv_kernel_grad(dK, c.p, c.w, dKf);
    float dKfl[3 * 9];
    for (size_t i = 0; i < H * L; i++)
        dKfl[i] = (float)dK[i];
    fd_check("conv d/du", u, du, B * L * H, 1, conv_loss, &c);
    fd_check("conv d/dD", D, dD, H, 1, conv_loss, &c);
    fd_check("conv d/dK", K, dKfl, H * L, 1, conv_loss, &c);
    free(Kf); free(dKf);
    ssm_train_conv_ws_free(c.w);
    ssm_train_conv_free(c.p);
}

typedef struct {
    float *lam, *B, *C, *logdt, *K;
    double *dK;
    size_t H, M, L;
} kctx;

static double kernel_loss(void *v)
{
    kctx *c = v;
    if (ssm_train_kernel_diag_forward(c->K, c->lam, c->B, c->C, c->logdt, c->H, c->M, c->L) != SSM_OK)
        return NAN; /* fails every finite-difference comparison made with it */
    double s = 0.0;
    for (size_t i = 0; i < c->H * c->L; i++)
        s += c->dK[i] * c->K[i];
    return s;
}

static void test_kernel(void)
{
    enum { H = 2, M = 3, L = 12 };
    float lam[H * M * 2], B[H * M * 2], C[H * M * 2], logdt[H], K[H * L];
    float dlam[H * M * 2] = {0}, dB[H * M * 2] = {0}, dC[H * M * 2] = {0}, dlogdt[H] = {0};
    double dK[H * L];
    for (size_t i = 0; i < H * M; i++) {
        lam[2 * i] = (float)(-0.5 - 0.4 * (t_uniform() + 1.0));
        lam[2 * i + 1] = (float)(3.0 * t_uniform());
    }
    fill(B, H * M * 2, 1.0); fill(C, H * M * 2, 1.0);
    for (size_t h = 0; h < H; h++)
        logdt[h] = (float)(log(0.1) + 0.5 * t_uniform());
    for (size_t i = 0; i < H * L; i++)
        dK[i] = t_uniform();
    kctx c = {lam, B, C, logdt, K, dK, H, M, L};
    ssm_train_kernel_diag_backward(dlam, dB, dC, dlogdt, dK, lam, B, C, logdt, H, M, L);
    fd_check("kernel d/dLambda", lam, dlam, H * M * 2, 1, kernel_loss, &c);
    fd_check("kernel d/dB", B, dB, H * M * 2, 1, kernel_loss, &c);
    fd_check("kernel d/dC", C, dC, H * M * 2, 1, kernel_loss, &c);
    fd_check("kernel d/dlogdt", logdt, dlogdt, H, 1, kernel_loss, &c);

    /* the ZOH Vandermonde kernel equals the dense real system it came from: one conjugate pair
     * λ = a ± ib with B = 1, C = c as the 2×2 real system A = [[a, −b],[b, a]] in the basis where
     * x = (Re, Im): K_ℓ = 2 Re(c (e^{Δλ} − 1)/λ e^{ℓΔλ}) */
    {
        float l1[2] = {-0.3f, 2.0f}, b1[2] = {1.0f, 0.0f}, c1[2] = {0.7f, -0.4f}, ld[1] = {(float)log(0.05)}, Kd[L], Kx[L];
        TRY(ssm_train_kernel_diag_forward(Kd, l1, b1, c1, ld, 1, 1, L));
        /* real form: z = x + iy evolves by λ; K = 2 Re(c z) = 2(c_r x − c_i y) with z_0 = B̄ */
        double A[4] = {-0.3, -2.0, 2.0, -0.3}, Bv[2] = {2.0, 0.0}; /* B real, the 2 absorbs 2·Re */
        double X[L * 2];
        TRY(ssm_train_dense_basis(X, A, Bv, ld, 1, L, 2));
        float Cd[2] = {0.7f, 0.4f}; /* K = c_r x − c_i y  ⇒  C = (c_r, −c_i) */
        ssm_train_kernel_dense_forward(Kx, X, Cd, 1, L, 2);
        double worst = 0.0;
        for (int i = 0; i < L; i++)
            worst = fmax(worst, fabs((double)Kd[i] - (double)Kx[i]));
        /* both in double, rounded to float at the end: a few float ulps of |K| ≤ 1 */
        CHECK(worst < 1e-6, "diagonal ZOH kernel vs the dense real system (GSL expm): %.3g", worst);
    }
}

/* ---- the whole model ---------------------------------------------------------------------------------- */

typedef struct {
    ssm_train_model *m;
    ssm_train_acts *a;
    float *x, *y;
    uint64_t *ids;
    size_t B;
} mctx;

static double model_loss(void *v)
{
    mctx *c = v;
    TRY(ssm_train_model_kernels(c->m, 0));
    return ssm_train_model_step(c->m, c->a, c->x, c->y, c->ids, c->B, 1, 7, 3, NULL, 0, 1.0f, NULL, 0.1);
}

static int model_s4_dense; /* test_model's cfg.s4_dense: s4-dplr on the dense reference path */

static void test_model(const char *init, int glu, int prenorm, int regression, double dropout, double lr_ssm)
{
    ssm_train_config cfg;
    ssm_train_config_default(&cfg);
    cfg.s4_dense = model_s4_dense;
    snprintf(cfg.init, sizeof cfg.init, "%s", init);
    cfg.d_model = 4;
    cfg.d_state = 4;
    cfg.n_layers = 2;
    cfg.glu = glu;
    cfg.prenorm = prenorm;
    cfg.dropout = dropout;
    cfg.lr_ssm = lr_ssm;
    cfg.seed = 3;
    const size_t L = 6, din = 2, nout = regression ? 1 : 3, B = 3;
    ssm_train_model *m;
    ssm_status s = ssm_train_model_create(&m, &cfg, L, din, nout, regression);
    CHECK(s == SSM_OK, "model %s: %s", init, ssm_error_message());
    if (s != SSM_OK)
        return;
    CHECK(m->s5 == (strcmp(init, "s5-legs") == 0), "model %s: the S5 layer is %s", init, m->s5 ? "on" : "off");
    ssm_train_acts *a = NULL;
    TRY(ssm_train_acts_create(&a, m, B));
    float x[3 * 6 * 2], y[3] = {0, 2, 1};
    uint64_t ids[3] = {11, 12, 13};
    fill(x, B * L * din, 1.0);
    if (regression)
        fill(y, B, 1.0);
    mctx c = {m, a, x, y, ids, B};
    /* gradients: private arena + the kernel path */
    memset(ssm_train_acts_grads(a), 0, m->n_params * sizeof(float));
    memset(ssm_train_acts_dkf(a), 0, m->K * m->H * m->nfreq * 2 * sizeof(float));
    TRY(ssm_train_model_kernels(m, 0));
    ssm_train_model_step(m, a, x, y, ids, B, 1, 7, 3, NULL, 1, 1.0f, NULL, 0.1);
    memcpy(m->grads, ssm_train_acts_grads(a), m->n_params * sizeof(float));
    ssm_train_model_kernels_backward(m, ssm_train_acts_dkf(a), lr_ssm > 0);
    char what[160];
    for (size_t t = 0; t < m->n_tensors; t++) {
        const ssm_train_tensor *tn = &m->tensors[t];
        if (tn->group == SSM_TRAIN_SSM && lr_ssm == 0.0)
            continue; /* frozen: no gradient computed */
        snprintf(what, sizeof what, "model(%s%s%s%s%s) d/d%s", init, glu ? ",glu" : "", prenorm ? ",prenorm" : ",postnorm",
                 regression ? ",mse" : ",ce", dropout > 0 ? ",dropout" : "", tn->name);
        fd_check(what, m->params + tn->offset, m->grads + tn->offset, tn->count, tn->count > 24 ? 3 : 1, model_loss, &c);
    }
    ssm_train_acts_free(a);
    ssm_train_model_free(m);
}

/* ---- end to end -------------------------------------------------------------------------------------- */

static void test_adding_end_to_end(void)
{
    ssm_train_config cfg;
    ssm_train_config_default(&cfg);
    cfg.task = SSM_TASK_ADDING;
    snprintf(cfg.init, sizeof cfg.init, "s4d-legs");
    cfg.seq_len = 64;
    cfg.n_train = 3200;
    cfg.n_val = 500;
    cfg.n_test = 500;
    cfg.d_model = 32;
    cfg.d_state = 16;
    cfg.n_layers = 2;
    cfg.dropout = 0.0;
    cfg.lr = 0.005;
    cfg.warmup = 20;
    cfg.epochs = 4;
    cfg.batch = 32;
    cfg.threads = 2;
    ssm_train_run_opts o = {.quiet = 1};
    ssm_train_state st;
    ssm_status s = ssm_train_run(&st, &cfg, &o);
    CHECK(s == SSM_OK, "adding: %s", ssm_error_message());
    if (s == SSM_OK) {
        double first = st.rows[0].train_loss, last = st.rows[st.n_rows - 1].train_loss;
        double acc = st.rows[st.n_rows - 1].val_acc;
        /* chance: the best constant guess (1) is within 0.04 of a sum of two U[0,1) with probability
         * 1 − 0.96² = 0.078; the untrained mean-squared error is ≈ 1/6 */
        CHECK(last < 0.5 * first, "adding: training loss fell only from %.4g to %.4g", first, last);
        CHECK(acc > 2.0 * 0.078, "adding: validation accuracy %.3f is not clearly above chance (0.078)", acc);
        printf("adding end to end: loss %.4f -> %.4f, validation accuracy %.3f (chance 0.078), %.1f samples/s\n", first,
               last, acc, st.rows[st.n_rows - 1].samples_per_s);
    }
    ssm_train_state_clear(&st);
}

/* ---- data, optimiser, errors -------------------------------------------------------------------------- */

static void test_data_and_errors(void)
{
    ssm_train_config cfg;
    ssm_train_config_default(&cfg);
    ssm_train_data d;
    /* sfmnist from a folder without the files: EIO naming the package */
    cfg.task = SSM_TASK_SFMNIST;
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "/nonexistent-ssmkit");
    CHECK(ssm_train_data_load(&d, &cfg) == SSM_EIO && strstr(ssm_error_message(), "dataset-fashion-mnist"),
          "missing sfmnist: %s", ssm_error_message());
    /* a malformed IDX file: EFORMAT */
    char dir[] = "/tmp/ssm-t-train-XXXXXX";
    if (mkdtemp(dir)) {
        char p[300];
        snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", dir);
        FILE *fp = fopen(p, "wb");
        if (fp) {
            fputs("not gzip, not idx", fp);
            fclose(fp);
        }
        snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", dir);
        CHECK(ssm_train_data_load(&d, &cfg) == SSM_EFORMAT, "bad IDX: %s", ssm_error_message());
        unlink(p);
        rmdir(dir);
    }
    /* the real dataset when installed: shapes, labels, the fixed split */
    cfg.data_dir[0] = '\0';
    cfg.n_train = 100;
    cfg.n_val = 50;
    cfg.n_test = 20;
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) == 0) {
        ssm_status s = ssm_train_data_load(&d, &cfg);
        CHECK(s == SSM_OK && d.train.n == 100 && d.val.n == 50 && d.test.n == 20 && d.train.L == 784 && d.n_out == 10,
              "sfmnist load: %s", ssm_error_message());
        int labels_ok = 1;
        for (size_t i = 0; s == SSM_OK && i < d.train.n; i++)
            labels_ok &= d.train.y[i] >= 0 && d.train.y[i] <= 9;
        CHECK(labels_ok, "sfmnist labels in 0..9");
        ssm_train_data_free(&d);
    } else {
        printf("sfmnist: dataset not installed, load test skipped\n");
    }
    /* synthetic tasks: reproducible from the seed; listops targets are digits */
    cfg = (ssm_train_config){0};
    ssm_train_config_default(&cfg);
    cfg.task = SSM_TASK_LISTOPS;
    cfg.n_train = 50; cfg.n_val = 5; cfg.n_test = 5;
    ssm_train_data d2;
    CHECK(ssm_train_data_load(&d, &cfg) == SSM_OK && ssm_train_data_load(&d2, &cfg) == SSM_OK, "listops");
    CHECK(memcmp(d.train.x, d2.train.x, d.train.n * d.train.L * d.train.din * sizeof(float)) == 0, "listops is reproducible");
    int digits = 1;
    for (size_t i = 0; i < d.train.n; i++)
        digits &= d.train.y[i] >= 0 && d.train.y[i] <= 9 && d.train.y[i] == floorf(d.train.y[i]);
    CHECK(digits, "listops targets are digits");
    ssm_train_data_free(&d);
    ssm_train_data_free(&d2);
    cfg.task = SSM_TASK_SINUSOID;
    CHECK(ssm_train_data_load(&d, &cfg) == SSM_OK, "sinusoid");
    float fmax_train = 0, fmax_test = 0;
    for (size_t i = 0; i < d.train.n; i++) fmax_train = fmaxf(fmax_train, d.train.freq[i]);
    for (size_t i = 0; i < d.test.n; i++) fmax_test = fmaxf(fmax_test, d.test.freq[i]);
    CHECK(fmax_train <= 80.0f && fmax_test <= 100.0f, "sinusoid frequency ranges %g %g", fmax_train, fmax_test);
    ssm_train_data_free(&d);
    /* config errors */
    ssm_train_task t;
    CHECK(ssm_train_task_lookup(&t, "mnist") == SSM_EINVAL, "unknown task");
    ssm_train_config_default(&cfg);
    cfg.dropout = 1.0;
    CHECK(ssm_train_config_check(&cfg) == SSM_EINVAL, "dropout 1 refused");
    ssm_train_config_default(&cfg);
    snprintf(cfg.init, sizeof cfg.init, "no-such-init");
    ssm_train_model *m;
    CHECK(ssm_train_model_create(&m, &cfg, 8, 1, 2, 0) == SSM_EINVAL, "unknown init: %s", ssm_error_message());
    snprintf(cfg.init, sizeof cfg.init, "s4-dplr");
    cfg.d_state = 8;
    cfg.s4_dense = 1;
    CHECK(ssm_train_model_create(&m, &cfg, 8, 1, 2, 0) == SSM_EINVAL, "the dense s4-dplr path with a trained A refused");
    cfg.s4_dense = 2;
    CHECK(ssm_train_config_check(&cfg) == SSM_EINVAL, "s4_dense 2 refused");

    /* schedule and clipping */
    CHECK(fabs(ssm_train_lr_at(1.0, 0, 100, 10) - 0.1) < 1e-15, "warm-up starts at lr/warmup");
    CHECK(fabs(ssm_train_lr_at(1.0, 10, 100, 10) - 1.0) < 1e-15, "cosine starts at lr");
    CHECK(fabs(ssm_train_lr_at(1.0, 55, 100, 10) - 0.5) < 1e-12, "cosine half way is lr/2");
    float g[2] = {3.0f, 4.0f};
    double nrm = ssm_train_clip(g, 2, 1.0);
    CHECK(nrm == 5.0 && fabsf(g[0] - 0.6f) < 1e-7f && fabsf(g[1] - 0.8f) < 1e-7f, "clip to norm 1");
    /* AdamW first step moves each parameter by lr·sign(g) (+ decay); a frozen group does not move */
    ssm_train_tensor tt[2] = {{"w", 0, 1, SSM_TRAIN_DECAY}, {"ssm", 1, 1, SSM_TRAIN_SSM}};
    float p[2] = {1.0f, 1.0f}, mm[2] = {0}, vv[2] = {0}, gg[2] = {0.5f, 0.5f};
    double lrs[3] = {0.1, 0.1, 0.0};
    ssm_train_adamw(p, mm, vv, gg, tt, 2, lrs, 1.0, 0.5, 1);
    CHECK(fabs(p[0] - (1.0 - 0.1 * (1.0 / (1.0 + 1e-8 / 0.5) + 0.5))) < 1e-6 && p[1] == 1.0f, "adamw step: %g %g", p[0],
          p[1]);
}

/* ---- the IDX reader and the split sizes ----------------------------------------------------------------- */

/* gzip of b[0..n) by zlib's deflate (the writer side: the reader under test inflates) */
static unsigned char *gz(size_t *out, const unsigned char *b, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    unsigned char *o = malloc(n + 1024);
    if (!o || deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(o);
        return NULL;
    }
    z.next_in = (Bytef *)b;
    z.avail_in = (uInt)n;
    z.next_out = o;
    z.avail_out = (uInt)(n + 1024);
    int rc = deflate(&z, Z_FINISH);
    *out = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(o);
        return NULL;
    }
    return o;
}

static void be32put(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

/* an IDX image file of n images (pixels from t_rand) or labels (0..9) */
static unsigned char *idx_make(size_t *len, size_t n, int images)
{
    size_t h = images ? 16 : 8, per = images ? 784 : 1;
    unsigned char *b = malloc(h + n * per);
    be32put(b, images ? 0x803 : 0x801);
    be32put(b + 4, (uint32_t)n);
    if (images) {
        be32put(b + 8, 28);
        be32put(b + 12, 28);
    }
    for (size_t i = 0; i < n * per; i++)
        b[h + i] = (unsigned char)(images ? t_rand() % 256 : t_rand() % 10);
    *len = h + n * per;
    return b;
}

/* read_mem of b must give exactly the payload (want_ok) or fail with EFORMAT naming `needle` */
static void idx_case(const char *what, const unsigned char *b, size_t len, int images, const unsigned char *payload,
                     size_t n, const char *needle)
{
    unsigned char *out = NULL;
    size_t got = 0;
    ssm_status s = ssm_train_idx_read_mem(&out, &got, b, len, images);
    if (payload)
        CHECK(s == SSM_OK && got == n && memcmp(out, payload, n * (images ? 784 : 1)) == 0, "%s: %s", what,
              ssm_error_message());
    else
        CHECK(s == SSM_EFORMAT && strstr(ssm_error_message(), needle), "%s: status %d, '%s' (wanted '%s')", what, s,
              ssm_error_message(), needle);
    free(out);
}

static void test_idx(void)
{
    for (int images = 0; images < 2; images++) {
        size_t n = images ? 3 : 17, len, zlen, hl = images ? 16 : 8;
        unsigned char *b = idx_make(&len, n, images), *z = gz(&zlen, b, len);
        idx_case("raw", b, len, images, b + hl, n, NULL);
        idx_case("gzip", z, zlen, images, b + hl, n, NULL);
        /* two gzip members (gzip -c a b > ab), split inside the header */
        size_t z1, z2;
        unsigned char *p1 = gz(&z1, b, 5), *p2 = gz(&z2, b + 5, len - 5), *two = malloc(z1 + z2);
        memcpy(two, p1, z1);
        memcpy(two + z1, p2, z2);
        idx_case("two gzip members", two, z1 + z2, images, b + hl, n, NULL);
        idx_case("raw, one byte short", b, len - 1, images, NULL, 0, "truncated");
        idx_case("gzip, cut short", z, zlen - 9, images, NULL, 0, "truncated gzip stream");
        idx_case("header only", b, hl - 1, images, NULL, 0, "truncated IDX header");
        unsigned char *more = malloc(len + 1), *zmore = malloc(zlen + 3);
        memcpy(more, b, len);
        more[len] = 0;
        idx_case("raw, one byte more", more, len + 1, images, NULL, 0, "trailing data");
        size_t zm;
        unsigned char *zt = gz(&zm, more, len + 1);
        idx_case("gzip, one byte more", zt, zm, images, NULL, 0, "trailing data");
        memcpy(zmore, z, zlen);
        memcpy(zmore + zlen, "xyz", 3);
        idx_case("gzip, garbage after", zmore, zlen + 3, images, NULL, 0, "after the gzip stream");
        idx_case("the other kind", b, len, !images, NULL, 0, "not an IDX");
        /* a header that declares 10^6 items over a few bytes: refused, nothing that size allocated */
        be32put(b + 4, 1000000);
        size_t zbig;
        unsigned char *big = gz(&zbig, b, len);
        idx_case("10^6 declared, gzip", big, zbig, images, NULL, 0, "truncated");
        be32put(b + 4, 1000001);
        idx_case("count above 10^6", b, len, images, NULL, 0, "implausible count");
        if (images) {
            be32put(b + 4, (uint32_t)n);
            be32put(b + 8, 27);
            idx_case("27x28 images", b, len, images, NULL, 0, "expected 28x28");
        }
        free(b); free(z); free(p1); free(p2); free(two); free(more); free(zmore); free(zt); free(big);
    }
}

/* validation and test sizes: as given; else ceil(n_train/10) up to the task default when --n-train is
 * given; else the defaults.  sfmnist from a made-up dataset: validation = the LAST training images. */
static void test_split_sizes(void)
{
    ssm_train_config c;
    ssm_train_data d;
    const size_t cases[][4] = {{95, 0, 10, 10}, {100, 0, 10, 10}, {123456, 0, 1000, 1000}, {95, 7, 7, 10}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ssm_train_config_default(&c);
        c.seq_len = 4;
        c.n_train = cases[k][0];
        c.n_val = cases[k][1];
        TRY(ssm_train_data_load(&d, &c));
        CHECK(d.train.n == cases[k][0] && d.val.n == cases[k][2] && d.test.n == cases[k][3],
              "n_train %zu, n_val %zu: sizes %zu %zu %zu", cases[k][0], cases[k][1], d.train.n, d.val.n, d.test.n);
        ssm_train_data_free(&d);
    }
    ssm_train_config_default(&c);
    c.seq_len = 4;
    TRY(ssm_train_data_load(&d, &c));
    CHECK(d.train.n == 10000 && d.val.n == 1000 && d.test.n == 1000, "default sizes %zu %zu %zu", d.train.n, d.val.n,
          d.test.n);
    ssm_train_data_free(&d);
    /* a made-up sfmnist folder: 30 training images (gzip), 10 test images (raw bytes under the .gz name) */
    char dir[] = "/tmp/ssm-t-idx-XXXXXX";
    if (!mkdtemp(dir))
        return;
    size_t li, ll, ti, tl, zi, zl;
    unsigned char *img = idx_make(&li, 30, 1), *lab = idx_make(&ll, 30, 0), *timg = idx_make(&ti, 10, 1),
                  *tlab = idx_make(&tl, 10, 0), *zimg = gz(&zi, img, li), *zlab = gz(&zl, lab, ll);
    const struct { const char *name; const unsigned char *b; size_t n; } files[4] = {
        {"train-images-idx3-ubyte.gz", zimg, zi}, {"train-labels-idx1-ubyte.gz", zlab, zl},
        {"t10k-images-idx3-ubyte.gz", timg, ti}, {"t10k-labels-idx1-ubyte.gz", tlab, tl}};
    for (int k = 0; k < 4; k++) {
        char p[300];
        snprintf(p, sizeof p, "%s/%s", dir, files[k].name);
        FILE *fp = fopen(p, "wb");
        CHECK(fp && fwrite(files[k].b, 1, files[k].n, fp) == files[k].n && fclose(fp) == 0, "write %s", p);
    }
    ssm_train_config_default(&c);
    c.task = SSM_TASK_SFMNIST;
    snprintf(c.data_dir, sizeof c.data_dir, "%s", dir);
    c.n_train = 20;
    ssm_status s = ssm_train_data_load(&d, &c);
    CHECK(s == SSM_OK && d.train.n == 20 && d.val.n == 2 && d.test.n == 2, "made-up sfmnist: %s", ssm_error_message());
    if (s == SSM_OK) {
        CHECK(memcmp(d.train.xb, img + 16, 20 * 784) == 0 && memcmp(d.val.xb, img + 16 + 28 * 784, 2 * 784) == 0 &&
                  memcmp(d.test.xb, timg + 16, 2 * 784) == 0, "sfmnist pixels: training first, validation last");
        CHECK(d.val.y[0] == lab[8 + 28] && d.val.y[1] == lab[8 + 29] && d.train.y[19] == lab[8 + 19] &&
                  d.test.y[1] == tlab[8 + 1], "sfmnist labels follow their images");
        ssm_train_data_free(&d);
    }
    for (int k = 0; k < 4; k++) {
        char p[300];
        snprintf(p, sizeof p, "%s/%s", dir, files[k].name);
        unlink(p);
    }
    rmdir(dir);
    free(img); free(lab); free(timg); free(tlab); free(zimg); free(zlab);
}

int main(void)
{
    t_init();
    test_layers();
    test_simd_variants();
    test_conv();
    conv_blocks(6, 11, 2);
    conv_blocks(8, 16, 1);
    conv_blocks(5, 4, 3);
    test_kernel();
    /* the model in its configurations: diagonal with and without V, trained and frozen SSM, GLU,
     * pre/post norm, dropout (masks are deterministic in (seed, step, id)), both losses, and the
     * dense DPLR-equivalent path */
    test_model("s4d-lin", 0, 0, 0, 0.0, 0.001);
    test_model("s4d-legs", 1, 1, 1, 0.0, 0.001);
    test_model("s4d-inv", 1, 0, 0, 0.3, 0.0);
    test_model("s4-dplr", 0, 1, 0, 0.0, 0.0);       /* the DPLR kernel, frozen and trained */
    test_model("s4-dplr", 1, 0, 1, 0.0, 0.001);
    model_s4_dense = 1;                              /* the dense reference path (frozen) */
    test_model("s4-dplr", 0, 1, 0, 0.0, 0.0);
    model_s4_dense = 0;
    test_model("ptd", 0, 0, 1, 0.2, 0.0);
    /* the S5 layer (an S5 init selects it): trained and frozen Λ, B̃, Δ */
    test_model("s5-legs", 0, 1, 0, 0.1, 0.001);
    test_model("s5-legs", 1, 0, 1, 0.0, 0.0);
    test_data_and_errors();
    test_idx();
    test_split_sizes();
    test_adding_end_to_end();
    return t_finish();
}
