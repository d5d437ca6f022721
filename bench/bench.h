/* bench/bench.h — timing helpers shared by the C halves of bench/run. */
#ifndef SSM_BENCH_H
#define SSM_BENCH_H

#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* a call that must succeed: a failure ends the program with the library's message */
#define BENCH_OK(call)                                                                 \
    do {                                                                               \
        ssm_status b_ok_ = (call);                                                     \
        if (b_ok_ != SSM_OK) {                                                         \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, ssm_error_message()); \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* median of t[0..n) (sorts t) */
static inline double bench_median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, bench_cmp);
    return t[n / 2];
}

#endif
