/* tests/t-train-fd64.c — every training layer's float forward and backward against an independent
 * double-precision reference (plain loops written from the math in train/train.h, not calling the engine)
 * and central finite differences of that reference in double (issue 6: "gradient checks in double on
 * small shapes").  tests/t-train does the same with finite differences of the float engine itself; here
 * the derivative side carries essentially no error, so what is measured is the float engine's own
 * rounding.
 *
 * Each layer: random float inputs (fixed seed via t_rand, SSM_TEST_SEED overrides), promoted exactly to
 * double for the reference; a random probe r; the scalar loss L = Σ r ⊙ out (so dL/dout = r), or the loss
 * itself (times `scale`) for cross-entropy and MSE.
 *
 * Finite differences (double): g_i ≈ (L(p + h e_i) − L(p − h e_i)) / (actual step), with
 * h = FD64_H·max(1, |p_i|), FD64_H = 1e-6.  Truncation error h²|L'''|/6 ~ 1e-13 for these O(1) smooth
 * functions; rounding error ~ ε_double·Σ|terms of L|/h ≈ 2.2e-16·(≤ 100)/1e-6 ≈ 2e-8 at worst here (the
 * loss sums ≤ 100 terms of size ≤ ~1–10).  (The optimum h ~ ε^{1/3} ~ 6e-6 would balance the two; 1e-6
 * keeps truncation negligible and rounding well below the tolerances.)
 *
 * Tolerances (error measured as max_i |a_i − b_i| / max_i |b_i| over one tensor, b the double side):
 *  - GRAD_RTOL = 1e-4: the float backward accumulates each gradient entry from at most n ≈ 20–50 float
 *    operations (linear: R = 5 products; LayerNorm: two H = 6 sums; conv: three float FFTs of length
 *    nfft = 20 (≈ log2 nfft·ε each) plus sums over B·L = 20 terms; the kernel runs in double and rounds
 *    once to float), so the expected error is c·n·ε_float ≈ 50·6e-8 ≈ 3e-6 relative to the largest
 *    entry; GELU adds the engine's A&S 7.1.26 erf (1.5e-7 absolute).  1e-4 leaves a margin of ~30 over
 *    that and is 100× below the 1 % perturbation that the mutation checks must catch.
 *  - GRAD_ATOL = 1e-7: an absolute floor of a few times the double FD rounding (≈ 2e-8, above) so that
 *    tensors whose gradients are all tiny do not fail on FD noise; every gradient here is O(0.1–10), so
 *    the floor is ≪ 1 % of any tensor's largest entry.
 *  - FWD_RTOL = 1e-5: the float forward's rounding, c·n·ε_float with n ≤ ~20 accumulated terms
 *    (≈ 1e-6), plus the A&S erf error 1.5e-7·|x|/2 in GELU and the float FFT error
 *    ε·log2(nfft)·Σ|K||u| (≈ 1e-6 of the largest output) in the convolution.
 * Mutation checks: for every tensor the float gradient is copied, its largest entry is changed by 1 %, and
 * the same comparison must then report failure — so every check here is shown to be able to fail.
 */
#define _POSIX_C_SOURCE 200809L
#include "ssmkit.h"
#include "tests/harness.h"

#include <math.h>
#include <string.h>
#include <time.h>

#define FD64_H 1e-6
#define GRAD_RTOL 1e-4
#define GRAD_ATOL 1e-7
#define FWD_RTOL 1e-5
#define LN_EPS 1e-5 /* the engine's LayerNorm eps (train/layers.c, torch's default) */

/* ---- helpers ------------------------------------------------------------------------------------------ */

/* float inputs, uniform in scale·[−1, 1), and their exact double copies */
static void fill2(float *pf, double *pd, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++) {
        pf[i] = (float)(scale * t_uniform());
        pd[i] = (double)pf[i];
    }
}

static double dot(const double *r, const double *out, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += r[i] * out[i];
    return s;
}

typedef double (*ref_loss)(void *ctx);

/* gfd[i] = central difference of f with respect to p[i] (double), i < n */
static void fd64(double *gfd, double *p, size_t n, ref_loss f, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        double p0 = p[i], h = FD64_H * fmax(1.0, fabs(p0));
        p[i] = p0 + h;
        double fp = f(ctx), step = p[i];
        p[i] = p0 - h;
        double fm = f(ctx);
        step -= p[i]; /* the actual (rounded) step, not the nominal 2h */
        p[i] = p0;
        gfd[i] = (fp - fm) / step;
    }
}

/* the gradient comparison: 1 when every entry is within GRAD_RTOL·max|gfd| + GRAD_ATOL */
static int grad_close(const float *g, const double *gfd, size_t n, double *rel)
{
    double e, m;
    *rel = t_rel_err_f32(g, gfd, n, &e, &m);
    return e <= GRAD_RTOL * m + GRAD_ATOL;
}

static double worst_grad, worst_fwd; /* per layer, reset by layer_begin */

static void layer_begin(void) { worst_grad = worst_fwd = 0.0; }

static void layer_end(const char *layer)
{
    printf("%-14s float backward vs double FD: %.2e   float forward vs double reference: %.2e\n", layer,
           worst_grad, worst_fwd);
}

/* float gradient g vs the double FD gradient gfd, then the mutation check on a perturbed copy of g */
static void check_grad(const char *what, const float *g, const double *gfd, size_t n)
{
    double rel;
    int ok = grad_close(g, gfd, n, &rel);
    worst_grad = fmax(worst_grad, rel);
    CHECK(ok, "%s: float backward vs double FD: relative %.3g > %g", what, rel, GRAD_RTOL);
    /* mutation: the largest entry off by 1 % must be caught */
    float *mut = malloc(n * sizeof *mut);
    if (!mut) {
        CHECK(0, "%s: out of memory", what);
        return;
    }
    memcpy(mut, g, n * sizeof *mut);
    size_t imax = 0;
    for (size_t i = 1; i < n; i++)
        if (fabs(gfd[i]) > fabs(gfd[imax]))
            imax = i;
    mut[imax] = (float)(mut[imax] * 1.01);
    double rel_mut;
    CHECK(!grad_close(mut, gfd, n, &rel_mut), "%s: a 1%% error in entry %zu went undetected (relative %.3g)", what,
          imax, rel_mut);
    free(mut);
}

static void check_fwd(const char *what, const float *out, const double *ref, size_t n)
{
    double e, m, rel = t_rel_err_f32(out, ref, n, &e, &m);
    worst_fwd = fmax(worst_fwd, rel);
    CHECK(rel <= FWD_RTOL, "%s: float forward vs double reference: relative %.3g > %g", what, rel, FWD_RTOL);
}

/* ---- double reference forwards (independent of the engine) -------------------------------------------- */

/* out[R,O] = inp[R,I]·w[I,O] + b[O] (train.h's layout) */
static void ref_linear(double *out, const double *x, const double *w, const double *b, size_t R, size_t In,
                       size_t O)
{
    for (size_t r = 0; r < R; r++)
        for (size_t o = 0; o < O; o++) {
            double s = b[o];
            for (size_t i = 0; i < In; i++)
                s += x[r * In + i] * w[i * O + o];
            out[r * O + o] = s;
        }
}

/* GELU(x) = x·Φ(x) = x/2·(1 + erf(x/√2)) */
static void ref_gelu(double *out, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0)));
}

/* out[r,h] = a·σ(g), inp[r] = [a | g] */
static void ref_glu(double *out, const double *x, size_t R, size_t H)
{
    for (size_t r = 0; r < R; r++)
        for (size_t h = 0; h < H; h++)
            out[r * H + h] = x[r * 2 * H + h] / (1.0 + exp(-x[r * 2 * H + H + h]));
}

/* (x − mean)/sqrt(var + eps)·γ + β over the last axis, biased variance (torch.nn.LayerNorm) */
static void ref_layernorm(double *out, const double *x, const double *g, const double *b, size_t R, size_t H)
{
    for (size_t r = 0; r < R; r++) {
        double m = 0.0, v = 0.0;
        for (size_t h = 0; h < H; h++)
            m += x[r * H + h];
        m /= (double)H;
        for (size_t h = 0; h < H; h++)
            v += (x[r * H + h] - m) * (x[r * H + h] - m);
        v /= (double)H;
        for (size_t h = 0; h < H; h++)
            out[r * H + h] = (x[r * H + h] - m) / sqrt(v + LN_EPS) * g[h] + b[h];
    }
}

/* out[b,h] = (1/L) Σ_ℓ inp[b,ℓ,h] */
static void ref_meanpool(double *out, const double *x, size_t B, size_t L, size_t H)
{
    for (size_t b = 0; b < B; b++)
        for (size_t h = 0; h < H; h++) {
            double s = 0.0;
            for (size_t l = 0; l < L; l++)
                s += x[(b * L + l) * H + h];
            out[b * H + h] = s / (double)L;
        }
}

/* Σ_b −log softmax(z_b)[y_b] */
static double ref_crossentropy(const double *z, const double *y, size_t B, size_t C)
{
    double total = 0.0;
    for (size_t b = 0; b < B; b++) {
        double s = 0.0;
        for (size_t c = 0; c < C; c++)
            s += exp(z[b * C + c]);
        total += log(s) - z[b * C + (size_t)y[b]];
    }
    return total;
}

/* Σ_b (pred_b − y_b)² */
static double ref_mse(const double *pred, const double *y, size_t B)
{
    double total = 0.0;
    for (size_t b = 0; b < B; b++)
        total += (pred[b] - y[b]) * (pred[b] - y[b]);
    return total;
}

/* the causal convolution as a direct sum: y[b,ℓ,h] = Σ_{j≤ℓ} K[h,j] u[b,ℓ−j,h] + D[h] u[b,ℓ,h] */
static void ref_conv(double *y, const double *u, const double *K, const double *D, size_t B, size_t L, size_t H)
{
    for (size_t b = 0; b < B; b++)
        for (size_t l = 0; l < L; l++)
            for (size_t h = 0; h < H; h++) {
                double s = D[h] * u[(b * L + l) * H + h];
                for (size_t j = 0; j <= l; j++)
                    s += K[h * L + j] * u[(b * L + l - j) * H + h];
                y[(b * L + l) * H + h] = s;
            }
}

/* K[h,ℓ] = 2 Re Σ_n C B (e^{ΔΛ} − 1)/Λ · e^{ℓΔΛ}, Δ = exp(logdt[h]); lam, B, C [H, M, 2] (re, im).
 * Real arithmetic only; e^{ℓΔΛ} evaluated directly (no recurrence), unlike the engine. */
static void ref_kernel(double *K, const double *lam, const double *Bp, const double *C, const double *logdt, size_t H,
                       size_t M, size_t L)
{
    for (size_t h = 0; h < H; h++) {
        double dt = exp(logdt[h]);
        for (size_t l = 0; l < L; l++)
            K[h * L + l] = 0.0;
        for (size_t n = 0; n < M; n++) {
            size_t i = (h * M + n) * 2;
            double a = lam[i], w = lam[i + 1];
            /* cb = C·B */
            double cbr = C[i] * Bp[i] - C[i + 1] * Bp[i + 1], cbi = C[i] * Bp[i + 1] + C[i + 1] * Bp[i];
            /* q = (e^{ΔΛ} − 1)/Λ */
            double er = exp(dt * a) * cos(dt * w) - 1.0, ei = exp(dt * a) * sin(dt * w), den = a * a + w * w;
            double qr = (er * a + ei * w) / den, qi = (ei * a - er * w) / den;
            double cr = cbr * qr - cbi * qi, ci = cbr * qi + cbi * qr;
            for (size_t l = 0; l < L; l++) {
                double mag = exp((double)l * dt * a), ph = (double)l * dt * w;
                K[h * L + l] += 2.0 * (cr * mag * cos(ph) - ci * mag * sin(ph));
            }
        }
    }
}

/* ---- position-wise layers ----------------------------------------------------------------------------- */

enum { R_ = 5, I_ = 4, O_ = 3, H_ = 6, L_ = 7, B_ = 2 };
#define NX (R_ * 2 * H_ + B_ * L_ * H_) /* the largest input / output of the position-wise layers */

typedef struct {
    int kind;
    double *x, *w, *b, *y, *r, *out;
    double scale;
} lctx;

static double layer_loss(void *v)
{
    lctx *c = v;
    switch (c->kind) {
    case 0: ref_linear(c->out, c->x, c->w, c->b, R_, I_, O_); return dot(c->r, c->out, R_ * O_);
    case 1: ref_gelu(c->out, c->x, R_ * H_); return dot(c->r, c->out, R_ * H_);
    case 2: ref_glu(c->out, c->x, R_, H_); return dot(c->r, c->out, R_ * H_);
    case 3: ref_layernorm(c->out, c->x, c->w, c->b, R_, H_); return dot(c->r, c->out, R_ * H_);
    case 4: ref_meanpool(c->out, c->x, B_, L_, H_); return dot(c->r, c->out, B_ * H_);
    case 5: return c->scale * ref_crossentropy(c->x, c->y, R_, H_);
    default: return c->scale * ref_mse(c->x, c->y, R_);
    }
}

static void test_layers(void)
{
    float xf[NX], wf[I_ * O_ + H_], bf[O_ + H_], rf[NX], yf[R_], outf[NX], m[R_], s[R_], deriv[R_ * H_];
    float dx[NX], dw[I_ * O_ + H_], db[O_ + H_];
    double xd[NX], wd[I_ * O_ + H_], bd[O_ + H_], rd[NX], yd[R_], outd[NX];
    double gx[NX], gw[I_ * O_ + H_], gb[O_ + H_];
    lctx c = {.x = xd, .w = wd, .b = bd, .y = yd, .r = rd, .out = outd, .scale = 1.0};
    fill2(xf, xd, NX, 2.0);
    fill2(wf, wd, I_ * O_ + H_, 1.0);
    fill2(bf, bd, O_ + H_, 1.0);
    fill2(rf, rd, NX, 1.0);
#define ZERO() (memset(dx, 0, sizeof dx), memset(dw, 0, sizeof dw), memset(db, 0, sizeof db))

    /* linear */
    layer_begin();
    c.kind = 0;
    ZERO();
    ssm_train_linear_forward(outf, xf, wf, bf, R_, I_, O_);
    layer_loss(&c);
    check_fwd("linear", outf, outd, R_ * O_);
    ssm_train_linear_backward(dx, dw, db, rf, xf, wf, R_, I_, O_);
    fd64(gx, xd, R_ * I_, layer_loss, &c);
    fd64(gw, wd, I_ * O_, layer_loss, &c);
    fd64(gb, bd, O_, layer_loss, &c);
    check_grad("linear d/dx", dx, gx, R_ * I_);
    check_grad("linear d/dw", dw, gw, I_ * O_);
    check_grad("linear d/db", db, gb, O_);
    layer_end("linear");

    /* GELU */
    layer_begin();
    c.kind = 1;
    ZERO();
    ssm_train_gelu_forward(outf, deriv, xf, R_ * H_);
    layer_loss(&c);
    check_fwd("gelu", outf, outd, R_ * H_);
    ssm_train_gelu_backward(dx, deriv, rf, R_ * H_);
    fd64(gx, xd, R_ * H_, layer_loss, &c);
    check_grad("gelu d/dx", dx, gx, R_ * H_);
    layer_end("gelu");

    /* GLU */
    layer_begin();
    c.kind = 2;
    ZERO();
    ssm_train_glu_forward(outf, xf, R_, H_);
    layer_loss(&c);
    check_fwd("glu", outf, outd, R_ * H_);
    ssm_train_glu_backward(dx, xf, rf, R_, H_);
    fd64(gx, xd, R_ * 2 * H_, layer_loss, &c);
    check_grad("glu d/dx", dx, gx, R_ * 2 * H_);
    layer_end("glu");

    /* LayerNorm: γ in w[0..H), β in b[0..H) */
    layer_begin();
    c.kind = 3;
    ZERO();
    ssm_train_layernorm_forward(outf, m, s, xf, wf, bf, R_, H_);
    layer_loss(&c);
    check_fwd("layernorm", outf, outd, R_ * H_);
    ssm_train_layernorm_backward(dx, dw, db, rf, xf, wf, m, s, R_, H_);
    fd64(gx, xd, R_ * H_, layer_loss, &c);
    fd64(gw, wd, H_, layer_loss, &c);
    fd64(gb, bd, H_, layer_loss, &c);
    check_grad("layernorm d/dx", dx, gx, R_ * H_);
    check_grad("layernorm d/dgamma", dw, gw, H_);
    check_grad("layernorm d/dbeta", db, gb, H_);
    layer_end("layernorm");

    /* mean pooling over L */
    layer_begin();
    c.kind = 4;
    ZERO();
    ssm_train_meanpool_forward(outf, xf, B_, L_, H_);
    layer_loss(&c);
    check_fwd("meanpool", outf, outd, B_ * H_);
    ssm_train_meanpool_backward(dx, rf, B_, L_, H_);
    fd64(gx, xd, B_ * L_ * H_, layer_loss, &c);
    check_grad("meanpool d/dx", dx, gx, B_ * L_ * H_);
    layer_end("meanpool");

    /* cross-entropy: logits x [R, H], classes y (as floats), loss scaled by 1/2 (a power of two, exact) */
    layer_begin();
    c.kind = 5;
    c.scale = 0.5;
    for (size_t i = 0; i < R_; i++)
        yd[i] = yf[i] = (float)((3 * i + 1) % H_);
    ZERO();
    size_t correct = 0;
    double ce = ssm_train_crossentropy(dx, xf, yf, R_, H_, 0.5f, &correct);
    {
        double ref = ref_crossentropy(xd, yd, R_, H_), rel = fabs(ce - ref) / fabs(ref);
        worst_fwd = fmax(worst_fwd, rel);
        CHECK(rel <= FWD_RTOL, "cross-entropy: loss %.17g vs double reference %.17g", ce, ref);
    }
    fd64(gx, xd, R_ * H_, layer_loss, &c);
    check_grad("cross-entropy d/dlogits", dx, gx, R_ * H_);
    layer_end("cross-entropy");

    /* MSE: predictions x [R], targets y */
    layer_begin();
    c.kind = 6;
    fill2(yf, yd, R_, 1.0);
    ZERO();
    double mse = ssm_train_mse(dx, xf, yf, R_, 0.5f, 0.1, &correct);
    {
        double ref = ref_mse(xd, yd, R_), rel = fabs(mse - ref) / fabs(ref);
        worst_fwd = fmax(worst_fwd, rel);
        CHECK(rel <= FWD_RTOL, "mse: loss %.17g vs double reference %.17g", mse, ref);
    }
    fd64(gx, xd, R_, layer_loss, &c);
    check_grad("mse d/dpred", dx, gx, R_);
    layer_end("mse");
#undef ZERO
}

/* ---- FFT convolution + D skip ------------------------------------------------------------------------- */

enum { CH = 3, CL = 10, CB = 2 };

typedef struct {
    double *u, *K, *D, *r, *y;
} cctx;

static double conv_loss(void *v)
{
    cctx *c = v;
    ref_conv(c->y, c->u, c->K, c->D, CB, CL, CH);
    return dot(c->r, c->y, CB * CL * CH);
}

static void test_conv(void)
{
    ssm_train_conv *p = NULL;
    ssm_train_conv_ws *w = NULL;
    TRY(ssm_train_conv_create(&p, CH, CL));
    TRY(ssm_train_conv_ws_create(&w, p));
    CHECK(p && w, "conv plan: %s", p ? "no workspace" : ssm_error_message());
    if (!p || !w) {
        ssm_train_conv_ws_free(w);
        ssm_train_conv_free(p);
        return;
    }
    size_t nf = ssm_train_conv_nfreq(p);
    float uf[CB * CL * CH], Kf_[CH * CL], Df[CH], rf[CB * CL * CH], yf[CB * CL * CH], du[CB * CL * CH] = {0},
          dD[CH] = {0}, dKl[CH * CL];
    double ud[CB * CL * CH], Kd[CH * CL], Dd[CH], rd[CB * CL * CH], yd[CB * CL * CH], dK[CH * CL];
    double gu[CB * CL * CH], gK[CH * CL], gD[CH];
    float *Kspec = malloc(CH * nf * 2 * sizeof *Kspec), *dKspec = calloc(CH * nf * 2, sizeof *dKspec);
    fill2(uf, ud, CB * CL * CH, 1.0);
    fill2(Kf_, Kd, CH * CL, 1.0);
    fill2(Df, Dd, CH, 1.0);
    fill2(rf, rd, CB * CL * CH, 1.0);
    cctx c = {ud, Kd, Dd, rd, yd};
    layer_begin();
    if (!Kspec || !dKspec) {
        CHECK(0, "conv: out of memory");
        goto done;
    }
    ssm_train_conv_kernel_fft(Kspec, p, w, Kf_);
    ssm_train_conv_forward(yf, NULL, p, w, uf, Kspec, Df, CB);
    conv_loss(&c);
    check_fwd("conv", yf, yd, CB * CL * CH);
    ssm_train_conv_backward(du, dKspec, dD, p, w, rf, uf, NULL, Kspec, Df, CB);
    ssm_train_conv_kernel_grad(dK, p, w, dKspec);
    for (size_t i = 0; i < CH * CL; i++)
        dKl[i] = (float)dK[i]; /* dK is double but computed from float spectra; compare as float */
    fd64(gu, ud, CB * CL * CH, conv_loss, &c);
    fd64(gK, Kd, CH * CL, conv_loss, &c);
    fd64(gD, Dd, CH, conv_loss, &c);
    check_grad("conv d/du", du, gu, CB * CL * CH);
    check_grad("conv d/dK", dKl, gK, CH * CL);
    check_grad("conv d/dD", dD, gD, CH);
    layer_end("conv");
done:
    free(Kspec);
    free(dKspec);
    ssm_train_conv_ws_free(w);
    ssm_train_conv_free(p);
}

/* ---- ZOH diagonal Vandermonde kernel ------------------------------------------------------------------ */

enum { KH = 2, KM = 3, KL = 12 };

typedef struct {
    double *lam, *B, *C, *logdt, *r, *K;
} kctx;

static double kernel_loss(void *v)
{
    kctx *c = v;
    ref_kernel(c->K, c->lam, c->B, c->C, c->logdt, KH, KM, KL);
    return dot(c->r, c->K, KH * KL);
}

static void test_kernel(void)
{
    float lamf[KH * KM * 2], Bf[KH * KM * 2], Cf[KH * KM * 2], ldf[KH], Kf_[KH * KL];
    float dlam[KH * KM * 2] = {0}, dB[KH * KM * 2] = {0}, dC[KH * KM * 2] = {0}, dld[KH] = {0};
    double lamd[KH * KM * 2], Bd[KH * KM * 2], Cd[KH * KM * 2], ldd[KH], Kd[KH * KL], rd[KH * KL];
    double glam[KH * KM * 2], gB[KH * KM * 2], gC[KH * KM * 2], gld[KH];
    /* stable Λ: Re ∈ [−0.9, −0.1], Im ∈ [−3, 3]; Δ ≈ 0.1·e^{±0.5} */
    for (size_t i = 0; i < KH * KM; i++) {
        lamf[2 * i] = (float)(-0.5 - 0.4 * t_uniform());
        lamf[2 * i + 1] = (float)(3.0 * t_uniform());
        lamd[2 * i] = lamf[2 * i];
        lamd[2 * i + 1] = lamf[2 * i + 1];
    }
    fill2(Bf, Bd, KH * KM * 2, 1.0);
    fill2(Cf, Cd, KH * KM * 2, 1.0);
    for (size_t h = 0; h < KH; h++) {
        ldf[h] = (float)(log(0.1) + 0.5 * t_uniform());
        ldd[h] = ldf[h];
    }
    for (size_t i = 0; i < KH * KL; i++)
        rd[i] = (double)(float)t_uniform();
    kctx c = {lamd, Bd, Cd, ldd, rd, Kd};
    layer_begin();
    TRY(ssm_train_kernel_diag_forward(Kf_, lamf, Bf, Cf, ldf, KH, KM, KL));
    kernel_loss(&c);
    check_fwd("kernel", Kf_, Kd, KH * KL);
    ssm_train_kernel_diag_backward(dlam, dB, dC, dld, rd, lamf, Bf, Cf, ldf, KH, KM, KL);
    fd64(glam, lamd, KH * KM * 2, kernel_loss, &c);
    fd64(gB, Bd, KH * KM * 2, kernel_loss, &c);
    fd64(gC, Cd, KH * KM * 2, kernel_loss, &c);
    fd64(gld, ldd, KH, kernel_loss, &c);
    check_grad("kernel d/dLambda", dlam, glam, KH * KM * 2);
    check_grad("kernel d/dB", dB, gB, KH * KM * 2);
    check_grad("kernel d/dC", dC, gC, KH * KM * 2);
    check_grad("kernel d/dlogdt", dld, gld, KH);
    layer_end("kernel");
}

/* ---- the S5 layer (MIMO, one state shared by the channels) --------------------------------------------- */

enum { SH = 3, SM = 2, SL = 12, SB = 2 };

/* The S5 layer as a dense real recurrence in double, written from the math (train.h), not from the engine:
 * the state is the real vector ξ = (Re x_0, Im x_0, …, Re x_{M−1}, Im x_{M−1}) of size 2M, Ā its full
 * 2M×2M real matrix (the 2×2 rotation-scaling block e^{Δa}[[cos Δw, −sin Δw], [sin Δw, cos Δw]] of each
 * mode Λ = a + iw on the diagonal), B̄ = Λ⁻¹(Ā − I)B̃ per mode with Λ as the real 2×2 matrix [[a, −w],
 * [w, a]] (inverted explicitly), and a plain matrix-vector product per step:
 *   ξ_ℓ = Ā ξ_{ℓ−1} + B̄ u_ℓ,  y_ℓ[h] = 2 Σ_n (Re C̃[h,n] ξ_{2n} − Im C̃[h,n] ξ_{2n+1}) + D[h] u_ℓ[h]. */
static void ref_s5(double *y, const double *u, const double *lam, const double *Bt, const double *C,
                   const double *logstep, const double *D, size_t B, size_t L, size_t H, size_t M)
{
    const size_t S = 2 * M;
    double A[2 * SM][2 * SM] = {{0}}, Bb[2 * SM][SH], xi[2 * SM], xn[2 * SM];
    for (size_t n = 0; n < M; n++) {
        double a = lam[2 * n], w = lam[2 * n + 1], dt = exp(logstep[n]), e = exp(dt * a);
        double blk[2][2] = {{e * cos(dt * w), -e * sin(dt * w)}, {e * sin(dt * w), e * cos(dt * w)}};
        double det = a * a + w * w, inv[2][2] = {{a / det, w / det}, {-w / det, a / det}}; /* [[a,−w],[w,a]]⁻¹ */
        double m2[2][2]; /* Λ⁻¹(Ā − I) */
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                m2[i][j] = inv[i][0] * (blk[0][j] - (j == 0)) + inv[i][1] * (blk[1][j] - (j == 1));
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                A[2 * n + i][2 * n + j] = blk[i][j];
        for (size_t h = 0; h < H; h++) {
            double br = Bt[2 * (n * H + h)], bi = Bt[2 * (n * H + h) + 1];
            Bb[2 * n][h] = m2[0][0] * br + m2[0][1] * bi;
            Bb[2 * n + 1][h] = m2[1][0] * br + m2[1][1] * bi;
        }
    }
    for (size_t b = 0; b < B; b++) {
        for (size_t i = 0; i < S; i++)
            xi[i] = 0.0;
        for (size_t l = 0; l < L; l++) {
            const double *ul = u + (b * L + l) * H;
            for (size_t i = 0; i < S; i++) {
                double acc = 0.0;
                for (size_t j = 0; j < S; j++)
                    acc += A[i][j] * xi[j];
                for (size_t h = 0; h < H; h++)
                    acc += Bb[i][h] * ul[h];
                xn[i] = acc;
            }
            for (size_t i = 0; i < S; i++)
                xi[i] = xn[i];
            for (size_t h = 0; h < H; h++) {
                double acc = D[h] * ul[h];
                for (size_t n = 0; n < M; n++)
                    acc += 2.0 * (C[2 * (h * M + n)] * xi[2 * n] - C[2 * (h * M + n) + 1] * xi[2 * n + 1]);
                y[(b * L + l) * H + h] = acc;
            }
        }
    }
}

typedef struct {
    double *u, *lam, *B, *C, *logstep, *D, *r, *y;
} s5ctx;

static double s5_loss(void *v)
{
    s5ctx *c = v;
    ref_s5(c->y, c->u, c->lam, c->B, c->C, c->logstep, c->D, SB, SL, SH, SM);
    return dot(c->r, c->y, SB * SL * SH);
}

static void test_s5(void)
{
    enum { NU = SB * SL * SH, NL = SM * 2, NB = SM * SH * 2, NC = SH * SM * 2 };
    float uf[NU], lamf[NL], Bf[NB], Cf[NC], lsf[SM], Df[SH], rf[NU], yf[NU], X[SB * SL * 2 * SM];
    float W[SH * 2 * SM], Ct[2 * SM * SH], scratch[SB * SL * 2 * SM + 4 * SM * SH];
    float du[NU] = {0}, dlam[NL] = {0}, dB[NB] = {0}, dC[NC] = {0}, dls[SM] = {0}, dD[SH] = {0};
    float du2[NU] = {0}, dC2[NC] = {0}, dD2[SH] = {0};
    double zq[SM * 4], ud[NU], lamd[NL], Bd[NB], Cd[NC], lsd[SM], Dd[SH], rd[NU], yd[NU];
    double gu[NU], glam[NL], gB[NB], gC[NC], gls[SM], gD[SH];
    CHECK(ssm_train_s5_scratch(SB, SL, SH, SM) == sizeof scratch / sizeof *scratch, "S5 scratch size");
    /* stable modes: Re Λ ∈ [−0.9, −0.1], Im Λ ∈ [−3, 3], Δ ≈ 0.3·e^{±0.5}, so |Λ̄| ≈ 0.8–0.99 and the
     * recurrence carries the state over the whole sequence */
    for (size_t n = 0; n < SM; n++) {
        lamf[2 * n] = (float)(-0.5 - 0.4 * t_uniform());
        lamf[2 * n + 1] = (float)(3.0 * t_uniform());
        lamd[2 * n] = lamf[2 * n];
        lamd[2 * n + 1] = lamf[2 * n + 1];
        lsf[n] = (float)(log(0.3) + 0.5 * t_uniform());
        lsd[n] = lsf[n];
    }
    fill2(uf, ud, NU, 1.0);
    fill2(Bf, Bd, NB, 1.0);
    fill2(Cf, Cd, NC, 1.0);
    fill2(Df, Dd, SH, 1.0);
    fill2(rf, rd, NU, 1.0);
    s5ctx c = {ud, lamd, Bd, Cd, lsd, Dd, rd, yd};
    ssm_train_s5 s = {.H = SH, .M = SM, .lam = lamf, .B = Bf, .C = Cf, .logstep = lsf, .D = Df, .W = W, .Ct = Ct,
                      .zq = zq};
    layer_begin();
    TRY(ssm_train_s5_discretize(&s));
    ssm_train_s5_forward(yf, X, &s, uf, SB, SL);
    s5_loss(&c);
    check_fwd("s5", yf, yd, NU);
    ssm_train_s5_grads g = {dlam, dB, dC, dls, dD};
    ssm_train_s5_backward(du, &g, scratch, &s, rf, uf, X, SB, SL);
    fd64(gu, ud, NU, s5_loss, &c);
    fd64(glam, lamd, NL, s5_loss, &c);
    fd64(gB, Bd, NB, s5_loss, &c);
    fd64(gC, Cd, NC, s5_loss, &c);
    fd64(gls, lsd, SM, s5_loss, &c);
    fd64(gD, Dd, SH, s5_loss, &c);
    check_grad("s5 d/du", du, gu, NU);
    check_grad("s5 d/dLambda", dlam, glam, NL);
    check_grad("s5 d/dB", dB, gB, NB);
    check_grad("s5 d/dC", dC, gC, NC);
    check_grad("s5 d/dlog_step", dls, gls, SM);
    check_grad("s5 d/dD", dD, gD, SH);
    /* frozen Λ, B̃, Δ: the same input, C and D gradients, and nothing written for the frozen ones */
    ssm_train_s5_grads gf = {NULL, NULL, dC2, NULL, dD2};
    ssm_train_s5_backward(du2, &gf, scratch, &s, rf, uf, X, SB, SL);
    CHECK(memcmp(du, du2, sizeof du) == 0 && memcmp(dC, dC2, sizeof dC) == 0 && memcmp(dD, dD2, sizeof dD) == 0,
          "s5 frozen: du, dC, dD differ from the training pass");
    layer_end("s5");
}

int main(void)
{
    t_init();
    clock_t t0 = clock();
    test_layers();
    test_conv();
    test_kernel();
    test_s5();
    printf("(tolerances: backward %g relative + %g absolute, forward %g relative; FD step %g; %.2f s CPU)\n",
           GRAD_RTOL, GRAD_ATOL, FWD_RTOL, FD64_H, (double)(clock() - t0) / CLOCKS_PER_SEC);
    return t_finish();
}
