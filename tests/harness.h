/* tests/harness.h — the tiny shared test harness.
 *
 * CHECK(cond, fmt, ...) counts a pass or a failure (printing file:line and the
 * message); t_finish() prints "N passed, M failed" as the last line and
 * returns the exit status (non-zero when M > 0).  Random tests draw from
 * t_rand(), seeded from SSM_TEST_SEED (default 20261129), printed on failure. */
#ifndef SSM_TEST_HARNESS_H
#define SSM_TEST_HARNESS_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static long t_passed, t_failed;
static uint64_t t_seed = 20261129u, t_state;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (cond) {                                                         \
            t_passed++;                                                     \
        } else {                                                            \
            t_failed++;                                                     \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);            \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

/* A setup call whose status must be SSM_OK: a failed setup is a failed test
 * (every ssm_status is SSM_MUST_CHECK; tests do not ignore one either). */
#define TRY(call)                                                           \
    do {                                                                    \
        ssm_status t_try_ = (call);                                         \
        if (t_try_ != SSM_OK) {                                             \
            t_failed++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, #call, \
                    ssm_error_message());                                   \
        }                                                                   \
    } while (0)

#ifdef SSM_CORE_H
/* ‖A‖₂ for a test's reference values; a failed computation is a failed test
 * and gives NaN, which then fails every comparison made with it */
#define T_NORM2(fn)                                                         \
    {                                                                       \
        double r;                                                           \
        if (fn(&r, A) == SSM_OK)                                            \
            return r;                                                       \
        t_failed++;                                                         \
        fprintf(stderr, "FAIL %s: %s\n", #fn, ssm_error_message());         \
        return NAN;                                                         \
    }
static inline double t_dnorm2(const ssm_dmat_t A) T_NORM2(ssm_dmat_norm2)
static inline double t_znorm2(const ssm_zmat_t A) T_NORM2(ssm_zmat_norm2)
#endif

/* max |a − b| / max |b| for a float result a against a double reference b (max |a − b| when b = 0);
 * *abs_err gets max |a − b| and *bmax max |b| (either may be NULL) */
static inline double t_rel_err_f32(const float *a, const double *b, size_t n, double *abs_err, double *bmax)
{
    double e = 0.0, m = 0.0;
    for (size_t i = 0; i < n; i++) {
        e = fmax(e, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs(b[i]));
    }
    if (abs_err)
        *abs_err = e;
    if (bmax)
        *bmax = m;
    return m > 0.0 ? e / m : e;
}

static inline void t_init(void)
{
    const char *s = getenv("SSM_TEST_SEED");
    if (s && *s)
        t_seed = strtoull(s, NULL, 10);
    t_state = t_seed ? t_seed : 1;
}

/* xorshift64*: reproducible, platform independent */
static inline uint64_t t_rand(void)
{
    t_state ^= t_state >> 12;
    t_state ^= t_state << 25;
    t_state ^= t_state >> 27;
    return t_state * 2685821657736338717ULL;
}

/* uniform in [-1, 1) */
static inline double t_uniform(void)
{
    return (double)(t_rand() >> 11) * 0x1p-52 - 1.0;
}

static inline int t_finish(void)
{
    if (t_failed)
        fprintf(stderr, "(seed %" PRIu64 "; rerun with SSM_TEST_SEED=%" PRIu64 ")\n", t_seed, t_seed);
    printf("%ld passed, %ld failed\n", t_passed, t_failed);
    return t_failed ? 1 : 0;
}

#endif
