/* train/optim.c — AdamW (decoupled weight decay, Loshchilov & Hutter 2019) with per-group learning rates,
 * a cosine schedule with linear warm-up, and global-norm gradient clipping. */
#include "train/train.h"

#include <math.h>

double ssm_train_lr_at(double lr, size_t t, size_t T, size_t warmup)
{
    if (t < warmup)
        return lr * (double)(t + 1) / (double)warmup;
    if (T <= warmup)
        return lr;
    double progress = (double)(t - warmup) / (double)(T - warmup);
    if (progress > 1.0)
        progress = 1.0;
    return lr * 0.5 * (1.0 + cos(M_PI * progress));
}

double ssm_train_clip(float *grads, size_t n, double max_norm)
{
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (double)grads[i] * (double)grads[i];
    double norm = sqrt(ss);
    if (max_norm > 0.0 && norm > max_norm) {
        float f = (float)(max_norm / norm);
        for (size_t i = 0; i < n; i++)
            grads[i] *= f;
    }
    return norm;
}

void ssm_train_adamw(float *params, float *m, float *v, const float *grads, const ssm_train_tensor *tensors,
                     size_t n_tensors, const double *lr, double scale, double wd, uint64_t t)
{
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const double c1 = 1.0 - pow(b1, (double)t), c2 = 1.0 - pow(b2, (double)t);
    for (size_t k = 0; k < n_tensors; k++) {
        const ssm_train_tensor *tn = &tensors[k];
        double rate = lr[tn->group] * scale;
        if (lr[tn->group] == 0.0)
            continue; /* frozen group: parameters and moments untouched */
        double decay = tn->group == SSM_TRAIN_DECAY ? wd : 0.0;
        for (size_t i = tn->offset; i < tn->offset + tn->count; i++) {
            double g = grads[i];
            double mi = b1 * m[i] + (1.0 - b1) * g;
            double vi = b2 * v[i] + (1.0 - b2) * g * g;
            m[i] = (float)mi;
            v[i] = (float)vi;
            double mhat = mi / c1, vhat = vi / c2;
            params[i] = (float)(params[i] - rate * (mhat / (sqrt(vhat) + eps) + decay * params[i]));
        }
    }
}
