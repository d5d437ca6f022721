/* train/layers.c — the position-wise layers: linear (sgemm), GELU, GLU, LayerNorm, mean pooling, and the
 * two losses.  Each is a forward/backward pair on flat float buffers; backward passes accumulate. */
#include "train/train.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- vector-unit variants ------------------------------------------------------ */

/* The hot elementwise and row loops exist three times: for the x86-64 baseline (SSE2), AVX2 and AVX-512F,
 * picked per call by the CPU (or by ssm_train_simd_force).  Each is the same C body (an always-inline
 * function) compiled for a wider unit: lanes are independent IEEE operations, sums keep their written
 * order and nothing contracts into an FMA (-ffp-contract=off), so every variant gives the baseline's bits
 * (t-train runs all that the CPU has and compares them byte for byte). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SSM_SIMD_VARIANTS 1
#define SIMD_BODY static inline __attribute__((always_inline))
#define SIMD_VARIANTS(name, params, args)                                                                  \
    __attribute__((target("avx512f"))) static void name##_avx512 params { name##_body args; }          \
    __attribute__((target("avx2"))) static void name##_avx2 params { name##_body args; }               \
    static void name##_base params { name##_body args; }
#define SIMD_CALL(name, args)                                                                              \
    do {                                                                                                   \
        int isa_ = simd_level();                                                                           \
        if (isa_ >= 2) name##_avx512 args;                                                                 \
        else if (isa_ == 1) name##_avx2 args;                                                              \
        else name##_base args;                                                                             \
    } while (0)
#else
#define SSM_SIMD_VARIANTS 0
#define SIMD_BODY static inline
#define SIMD_VARIANTS(name, params, args)
#define SIMD_CALL(name, args) name##_body args
#endif

#if SSM_SIMD_VARIANTS
static int simd_forced = -1; /* set only by ssm_train_simd_force, before any thread starts */

/* 0 baseline, 1 AVX2, 2 AVX-512F */
static int simd_level(void)
{
    if (simd_forced >= 0)
        return simd_forced;
    return __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
}

int ssm_train_simd_force(int level)
{
    if (level > 2 || (level == 2 && !__builtin_cpu_supports("avx512f")) ||
        (level == 1 && !__builtin_cpu_supports("avx2")))
        return -1;
    simd_forced = level < 0 ? -1 : level;
    return 0;
}
#else
int ssm_train_simd_force(int level) { return level > 0 ? -1 : 0; } /* one variant: the build's own */
#endif

/* ---- linear --------------------------------------------------------------- */

void ssm_train_linear_forward(float *out, const float *inp, const float *w, const float *b, size_t R, size_t In,
                              size_t O)
{
    /* out[R,O] = inp[R,In] · w[In,O] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)R, (int)O, (int)In, 1.0f, inp, (int)In, w, (int)O,
                0.0f, out, (int)O);
    if (b)
        for (size_t r = 0; r < R; r++)
            for (size_t o = 0; o < O; o++)
                out[r * O + o] += b[o];
}

void ssm_train_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                               const float *w, size_t R, size_t In, size_t O)
{
    /* dinp[R,In] += dout[R,O] · w[In,O]ᵀ */
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)R, (int)In, (int)O, 1.0f, dout, (int)O, w, (int)O,
                    1.0f, dinp, (int)In);
    /* dw[In,O] += inp[R,In]ᵀ · dout[R,O] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)In, (int)O, (int)R, 1.0f, inp, (int)In, dout, (int)O,
                1.0f, dw, (int)O);
    if (db)
        for (size_t r = 0; r < R; r++)
            for (size_t o = 0; o < O; o++)
                db[o] += dout[r * O + o];
}

/* ---- e^x for x ≤ 0 in float, vectorisable ------------------------------------ */

/* e^x for x ≤ 0 (x < −87, and a NaN with its sign bit set, are taken as −87: e^−87 ≈ 1.6e-38, i.e. 0
 * next to the terms it multiplies; the callers carry a NaN through x itself): x = n ln2 + r with n = round(x/ln2) by the 1.5·2²³ shifter, ln2 in two parts (Cody–Waite),
 * |r| ≤ ln2/2, e^r by Cephes' degree-7 expf polynomial (≤ 2 ulp), 2ⁿ built in the exponent bits.  Only
 * IEEE float + − × and integer bit operations: the compiler vectorises the loops that call it, and
 * every vector width gives the scalar code's bits (no FMA: the file is built with -ffp-contract=off). */
SIMD_BODY float exp_nonpos(float x)
{
    const float shifter = 12582912.0f; /* 1.5·2²³: adding it rounds to an integer in the low bits */
    union { float f; uint32_t u; } xb = {.f = x};
    xb.u = xb.u > 0xc2ae0000u ? 0xc2ae0000u : xb.u; /* −87.0f: below 0 the bits grow with |x| (an integer
                                                       select: a float compare would stop the vectoriser) */
    x = xb.f;
    float t = x * 1.44269504088896341f + shifter;
    float n = t - shifter;
    float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { float f; uint32_t u; } tb = {.f = t}, sc;
    sc.u = (tb.u - 0x4b400000u + 127u) << 23; /* n + 127 in the exponent field, n ∈ [−126, 0] */
    return p * sc.f;
}

/* ---- GELU (exact form, erf by Abramowitz & Stegun 7.1.26) ------------------------- */

/* GELU(x) = x·Φ(x) and its derivative Φ(x) + x·φ(x) from one exponential: with e = exp(−x²/2),
 * φ = e/√(2π) and erf(|x|/√2) = 1 − poly(t)·e, t = 1/(1 + p|x|/√2) (A&S 7.1.26, |error| ≤ 1.5e-7, the
 * size of float rounding of Φ; glibc's erff cost as much as all the FFTs together).  One branch-free loop
 * that vectorises (exp_nonpos instead of libm's expf). */
SIMD_BODY void gelu_forward_body(float *restrict out, float *restrict deriv, const float *restrict inp, size_t n)
{
    const float p = 0.3275911f, a1 = 0.254829592f, a2 = -0.284496736f, a3 = 1.421413741f, a4 = -1.453152027f,
                a5 = 1.061405429f, inv_sqrt_2pi = 0.3989422804014327f;
    for (size_t i = 0; i < n; i++) {
        float x = inp[i], e = exp_nonpos(-0.5f * x * x);
        float t = 1.0f / (1.0f + p * fabsf(x) * (float)M_SQRT1_2);
        float erf_abs = 1.0f - ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t * e; /* e^{−z²}, z = |x|/√2 */
        float cdf = 0.5f * (1.0f + copysignf(erf_abs, x));
        out[i] = x * cdf;
        deriv[i] = cdf + x * inv_sqrt_2pi * e;
    }
}
SIMD_VARIANTS(gelu_forward, (float *restrict out, float *restrict deriv, const float *restrict inp, size_t n),
              (out, deriv, inp, n))

void ssm_train_gelu_forward(float *restrict out, float *restrict deriv, const float *restrict inp, size_t n)
{
    SIMD_CALL(gelu_forward, (out, deriv, inp, n));
}

void ssm_train_gelu_backward(float *restrict dinp, const float *restrict deriv, const float *restrict dout,
                             size_t n)
{
    for (size_t i = 0; i < n; i++)
        dinp[i] += dout[i] * deriv[i];
}

/* ---- GLU -------------------------------------------------------------------- */

void ssm_train_glu_forward(float *out, const float *inp, size_t R, size_t H)
{
    /* out[r,h] = inp[r,h] · σ(inp[r,H+h]) */
    for (size_t r = 0; r < R; r++) {
        const float *a = inp + r * 2 * H, *g = a + H;
        for (size_t h = 0; h < H; h++)
            out[r * H + h] = a[h] / (1.0f + expf(-g[h]));
    }
}

void ssm_train_glu_backward(float *dinp, const float *inp, const float *dout, size_t R, size_t H)
{
    for (size_t r = 0; r < R; r++) {
        const float *a = inp + r * 2 * H, *g = a + H;
        float *da = dinp + r * 2 * H, *dg = da + H;
        for (size_t h = 0; h < H; h++) {
            float s = 1.0f / (1.0f + expf(-g[h]));
            float d = dout[r * H + h];
            da[h] += d * s;
            dg[h] += d * a[h] * s * (1.0f - s);
        }
    }
}

/* ---- LayerNorm ---------------------------------------------------------------- */

/* Sums over a row in one fixed order, whatever the vector width: eight interleaved partial sums
 * (element h goes to sum h mod 8), combined pairwise.  The partial sums are independent, so the loop
 * vectorises (one AVX or two SSE registers) and the dependency chain is H/8 long instead of H. */
enum { NSUM = 8 };

SIMD_BODY float combine8(const float *acc)
{
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* Σ x[h] and Σ (x[h] − m)² */
SIMD_BODY float row_sum(const float *x, size_t H)
{
    float acc[NSUM] = {0};
    size_t h = 0;
    for (; h + NSUM <= H; h += NSUM)
        for (size_t k = 0; k < NSUM; k++)
            acc[k] += x[h + k];
    for (; h < H; h++)
        acc[h % NSUM] += x[h];
    return combine8(acc);
}

SIMD_BODY float row_sqdev(const float *x, float m, size_t H)
{
    float acc[NSUM] = {0};
    size_t h = 0;
    for (; h + NSUM <= H; h += NSUM)
        for (size_t k = 0; k < NSUM; k++)
            acc[k] += (x[h + k] - m) * (x[h + k] - m);
    for (; h < H; h++)
        acc[h % NSUM] += (x[h] - m) * (x[h] - m);
    return combine8(acc);
}

/* The rows of H = 8k in vectors of eight (GCC vector extension: elementwise IEEE arithmetic): lane k
 * holds partial sum k, exactly as row_sum and row_sqdev, so these are the same sums in the same order,
 * written so that the compiler keeps them in registers. */
typedef float v8f __attribute__((vector_size(32)));
#define LD8(v, p) memcpy(&(v), (p), sizeof(v8f))
#define ST8(p, v) memcpy((p), &(v), sizeof(v8f))

SIMD_BODY float combine_v8(const v8f *v) /* by address: a v8f passed by value would change the ABI */
{
    const float *a = (const float *)v;
    return combine8(a);
}

SIMD_BODY void ln_forward_rows8(float *restrict out, float *restrict mean, float *restrict rstd,
                                const float *restrict inp, const float *restrict g, const float *restrict b,
                                size_t R, size_t H, float eps)
{
    for (size_t r = 0; r < R; r++) {
        const float *x = inp + r * H;
        v8f acc = {0}, sq = {0}, xv, gv, bv;
        for (size_t h = 0; h < H; h += NSUM) {
            LD8(xv, x + h);
            acc += xv;
        }
        float m = combine_v8(&acc) / (float)H;
        for (size_t h = 0; h < H; h += NSUM) {
            LD8(xv, x + h);
            sq += (xv - m) * (xv - m);
        }
        float v = combine_v8(&sq) / (float)H;
        float s = 1.0f / sqrtf(v + eps);
        for (size_t h = 0; h < H; h += NSUM) {
            LD8(xv, x + h);
            LD8(gv, g + h);
            LD8(bv, b + h);
            v8f o = (xv - m) * s * gv + bv;
            ST8(out + r * H + h, o);
        }
        mean[r] = m;
        rstd[r] = s;
    }
}

/* one row of the backward pass for H = 8k (row_dn_sums' sums, then the update, lane by lane) */
SIMD_BODY void ln_backward_row8(float *restrict dx, float *restrict dg, float *restrict db, const float *restrict x,
                                const float *restrict dy, const float *restrict g, float m, float s, size_t H)
{
    v8f a0 = {0}, a1 = {0}, xv, dyv, gv, t;
    for (size_t h = 0; h < H; h += NSUM) {
        LD8(xv, x + h);
        LD8(dyv, dy + h);
        LD8(gv, g + h);
        v8f n = (xv - m) * s, dn = dyv * gv;
        a0 += dn;
        a1 += dn * n;
    }
    float dn_mean = combine_v8(&a0) / (float)H, dnn_mean = combine_v8(&a1) / (float)H;
    for (size_t h = 0; h < H; h += NSUM) {
        LD8(xv, x + h);
        LD8(dyv, dy + h);
        LD8(gv, g + h);
        v8f n = (xv - m) * s, dn = dyv * gv;
        LD8(t, db + h);
        t += dyv;
        ST8(db + h, t);
        LD8(t, dg + h);
        t += n * dyv;
        ST8(dg + h, t);
        LD8(t, dx + h);
        t += s * (dn - dn_mean - n * dnn_mean);
        ST8(dx + h, t);
    }
}

SIMD_BODY void layernorm_forward_body(float *restrict out, float *restrict mean, float *restrict rstd,
                                      const float *restrict inp, const float *restrict g, const float *restrict b,
                                      size_t R, size_t H)
{
    const float eps = 1e-5f; /* torch.nn.LayerNorm's default */
    if (H % NSUM == 0) {
        ln_forward_rows8(out, mean, rstd, inp, g, b, R, H, eps);
        return;
    }
    for (size_t r = 0; r < R; r++) {
        const float *x = inp + r * H;
        float m = row_sum(x, H) / (float)H;
        float v = row_sqdev(x, m, H) / (float)H;
        float s = 1.0f / sqrtf(v + eps);
        for (size_t h = 0; h < H; h++)
            out[r * H + h] = (x[h] - m) * s * g[h] + b[h];
        mean[r] = m;
        rstd[r] = s;
    }
}
SIMD_VARIANTS(layernorm_forward, (float *restrict out, float *restrict mean, float *restrict rstd,
                                  const float *restrict inp, const float *restrict g, const float *restrict b,
                                  size_t R, size_t H), (out, mean, rstd, inp, g, b, R, H))

void ssm_train_layernorm_forward(float *restrict out, float *restrict mean, float *restrict rstd,
                                 const float *restrict inp, const float *restrict g, const float *restrict b,
                                 size_t R, size_t H)
{
    SIMD_CALL(layernorm_forward, (out, mean, rstd, inp, g, b, R, H));
}

/* Σ dn and Σ dn·n over a row, with n = (x − m)s and dn = dy·g, in row_sum's order */
SIMD_BODY void row_dn_sums(float *dn_sum, float *dnn_sum, const float *x, const float *dy, const float *g,
                               float m, float s, size_t H)
{
    float a0[NSUM] = {0}, a1[NSUM] = {0};
    size_t h = 0;
    for (; h + NSUM <= H; h += NSUM)
        for (size_t k = 0; k < NSUM; k++) {
            float n = (x[h + k] - m) * s, dn = dy[h + k] * g[h + k];
            a0[k] += dn;
            a1[k] += dn * n;
        }
    for (; h < H; h++) {
        float n = (x[h] - m) * s, dn = dy[h] * g[h];
        a0[h % NSUM] += dn;
        a1[h % NSUM] += dn * n;
    }
    *dn_sum = combine8(a0);
    *dnn_sum = combine8(a1);
}

SIMD_BODY void layernorm_backward_body(float *restrict dinp, float *restrict dg, float *restrict db,
                                       const float *restrict dout, const float *restrict inp,
                                       const float *restrict g, const float *restrict mean,
                                       const float *restrict rstd, size_t R, size_t H)
{
    for (size_t r = 0; r < R; r++) {
        const float *x = inp + r * H, *dy = dout + r * H;
        float m = mean[r], s = rstd[r];
        /* with n = (x − m)s and dn = dy·g:  dx = s·(dn − mean(dn) − n·mean(dn·n)) */
        float dn_mean, dnn_mean;
        if (H % NSUM == 0) {
            ln_backward_row8(dinp + r * H, dg, db, x, dy, g, m, s, H);
            continue;
        }
        row_dn_sums(&dn_mean, &dnn_mean, x, dy, g, m, s, H);
        dn_mean /= (float)H;
        dnn_mean /= (float)H;
        for (size_t h = 0; h < H; h++) {
            float n = (x[h] - m) * s, dn = dy[h] * g[h];
            db[h] += dy[h];
            dg[h] += n * dy[h];
            dinp[r * H + h] += s * (dn - dn_mean - n * dnn_mean);
        }
    }
}
SIMD_VARIANTS(layernorm_backward, (float *restrict dinp, float *restrict dg, float *restrict db,
                                   const float *restrict dout, const float *restrict inp, const float *restrict g,
                                   const float *restrict mean, const float *restrict rstd, size_t R, size_t H),
              (dinp, dg, db, dout, inp, g, mean, rstd, R, H))

void ssm_train_layernorm_backward(float *restrict dinp, float *restrict dg, float *restrict db,
                                  const float *restrict dout, const float *restrict inp, const float *restrict g,
                                  const float *restrict mean, const float *restrict rstd, size_t R, size_t H)
{
    SIMD_CALL(layernorm_backward, (dinp, dg, db, dout, inp, g, mean, rstd, R, H));
}

/* ---- mean pooling over the sequence -------------------------------------------- */

void ssm_train_meanpool_forward(float *out, const float *inp, size_t B, size_t L, size_t H)
{
    for (size_t b = 0; b < B; b++) {
        float *o = out + b * H;
        memset(o, 0, H * sizeof *o);
        for (size_t l = 0; l < L; l++)
            for (size_t h = 0; h < H; h++)
                o[h] += inp[(b * L + l) * H + h];
        for (size_t h = 0; h < H; h++)
            o[h] /= (float)L;
    }
}

void ssm_train_meanpool_backward(float *dinp, const float *dout, size_t B, size_t L, size_t H)
{
    for (size_t b = 0; b < B; b++)
        for (size_t l = 0; l < L; l++)
            for (size_t h = 0; h < H; h++)
                dinp[(b * L + l) * H + h] += dout[b * H + h] / (float)L;
}

/* ---- losses ------------------------------------------------------------------------ */

double ssm_train_crossentropy(float *dlogits, const float *logits, const float *y, size_t B, size_t C,
                              float scale, size_t *correct)
{
    double total = 0.0;
    for (size_t b = 0; b < B; b++) {
        const float *z = logits + b * C;
        size_t label = (size_t)y[b], arg = 0;
        double zmax = z[0];
        for (size_t c = 1; c < C; c++)
            if (z[c] > zmax) {
                zmax = z[c];
                arg = c;
            }
        double sum = 0.0;
        for (size_t c = 0; c < C; c++)
            sum += exp((double)z[c] - zmax);
        double lse = zmax + log(sum);
        total += lse - (double)z[label];
        if (correct && arg == label)
            (*correct)++;
        if (dlogits)
            for (size_t c = 0; c < C; c++) {
                double p = exp((double)z[c] - lse);
                dlogits[b * C + c] += (float)((p - (c == label ? 1.0 : 0.0)) * scale);
            }
    }
    return total;
}

double ssm_train_mse(float *dpred, const float *pred, const float *y, size_t B, float scale, double tol,
                     size_t *correct)
{
    double total = 0.0;
    for (size_t b = 0; b < B; b++) {
        double e = (double)pred[b] - (double)y[b];
        total += e * e;
        if (correct && fabs(e) < tol)
            (*correct)++;
        if (dpred)
            dpred[b] += (float)(2.0 * e * scale);
    }
    return total;
}
