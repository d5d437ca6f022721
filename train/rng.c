/* train/rng.c — the engine's random numbers: splitmix64 streams, uniform and normal draws, and
 * counter-based stream seeds (train/train.h "Random numbers").  A file of its own so that every layer's
 * initialisation can draw from it without depending on the model. */
#include "train/train.h"

#include <math.h>

uint64_t ssm_train_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double ssm_train_uniform(uint64_t *s) { return (double)(ssm_train_rand(s) >> 11) * 0x1p-53; }

double ssm_train_normal(uint64_t *s)
{
    double u1 = ssm_train_uniform(s), u2 = ssm_train_uniform(s);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

uint64_t ssm_train_stream(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    uint64_t s = a;
    uint64_t x = ssm_train_rand(&s) ^ b;
    x = ssm_train_rand(&x) ^ c;
    x = ssm_train_rand(&x) ^ d;
    return ssm_train_rand(&x);
}

