/* train/layers.c — the position-wise layers: linear (sgemm), GELU, GLU, LayerNorm, mean pooling, and the
 * two losses.  Each is a forward/backward pair on flat float buffers; backward passes accumulate. */
#include "train/train.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

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

/* ---- GELU (exact form, erf by Abramowitz & Stegun 7.1.26) ------------------------- */

/* GELU(x) = x·Φ(x) and its derivative Φ(x) + x·φ(x) from one expf: with e = exp(−x²/2), φ = e/√(2π) and
 * erf(|x|/√2) = 1 − poly(t)·e, t = 1/(1 + p|x|/√2) (A&S 7.1.26, |error| ≤ 1.5e-7, the size of float
 * rounding of Φ; glibc's erff cost as much as all the FFTs together). */
void ssm_train_gelu_forward(float *restrict out, float *restrict deriv, const float *restrict inp, size_t n)
{
    const float p = 0.3275911f, a1 = 0.254829592f, a2 = -0.284496736f, a3 = 1.421413741f, a4 = -1.453152027f,
                a5 = 1.061405429f, inv_sqrt_2pi = 0.3989422804014327f;
    for (size_t i = 0; i < n; i++) /* the libm calls in a loop of their own ... */
        deriv[i] = expf(-0.5f * inp[i] * inp[i]);
    for (size_t i = 0; i < n; i++) { /* ... so that this one is branch-free and vectorises */
        float x = inp[i], e = deriv[i];
        float t = 1.0f / (1.0f + p * fabsf(x) * (float)M_SQRT1_2);
        float erf_abs = 1.0f - ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t * e; /* e^{−z²}, z = |x|/√2 */
        float cdf = 0.5f * (1.0f + copysignf(erf_abs, x));
        out[i] = x * cdf;
        deriv[i] = cdf + x * inv_sqrt_2pi * e;
    }
}

void ssm_train_gelu_backward(float *dinp, const float *deriv, const float *dout, size_t n)
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

void ssm_train_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *g,
                                 const float *b, size_t R, size_t H)
{
    const float eps = 1e-5f; /* torch.nn.LayerNorm's default */
    for (size_t r = 0; r < R; r++) {
        const float *x = inp + r * H;
        float m = 0.0f;
        for (size_t h = 0; h < H; h++)
            m += x[h];
        m /= (float)H;
        float v = 0.0f;
        for (size_t h = 0; h < H; h++)
            v += (x[h] - m) * (x[h] - m);
        v /= (float)H;
        float s = 1.0f / sqrtf(v + eps);
        for (size_t h = 0; h < H; h++)
            out[r * H + h] = (x[h] - m) * s * g[h] + b[h];
        mean[r] = m;
        rstd[r] = s;
    }
}

void ssm_train_layernorm_backward(float *dinp, float *dg, float *db, const float *dout, const float *inp,
                                  const float *g, const float *mean, const float *rstd, size_t R, size_t H)
{
    for (size_t r = 0; r < R; r++) {
        const float *x = inp + r * H, *dy = dout + r * H;
        float m = mean[r], s = rstd[r];
        /* with n = (x − m)s and dn = dy·g:  dx = s·(dn − mean(dn) − n·mean(dn·n)) */
        float dn_mean = 0.0f, dnn_mean = 0.0f;
        for (size_t h = 0; h < H; h++) {
            float n = (x[h] - m) * s, dn = dy[h] * g[h];
            dn_mean += dn;
            dnn_mean += dn * n;
        }
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
