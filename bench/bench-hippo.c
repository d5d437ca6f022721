/* bench/bench-hippo.c — time HiPPO construction: median wall time of REPS
 * runs of ssm_hippo (double) or ssm_hippo_mp (MPFR at PREC bits).
 *   usage: bench-hippo MEASURE N PREC REPS      prints the median seconds */
#define _POSIX_C_SOURCE 200809L
#include "ssmkit.h"
#include "bench/bench.h"

#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench-hippo MEASURE N PREC REPS\n");
        return 2;
    }
    ssm_hippo_measure m;
    if (ssm_hippo_lookup(&m, argv[1]) != SSM_OK) {
        fprintf(stderr, "%s\n", ssm_error_message());
        return 2;
    }
    size_t N = strtoul(argv[2], NULL, 10);
    long prec = strtol(argv[3], NULL, 10);
    int reps = atoi(argv[4]);
    double t[64];
    if (reps < 1 || reps > 64)
        return 2;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        if (prec == 53) {
            ssm_dmat_t A, B;
            BENCH_OK(ssm_dmat_init(A, N, N));
            BENCH_OK(ssm_dmat_init(B, N, 1));
            BENCH_OK(ssm_hippo(A, B, NULL, m, N));
            ssm_dmat_clear(A);
            ssm_dmat_clear(B);
        } else {
            ssm_mpmat_t A, B;
            BENCH_OK(ssm_mpmat_init(A, N, N, prec));
            BENCH_OK(ssm_mpmat_init(B, N, 1, prec));
            BENCH_OK(ssm_hippo_mp(A, B, NULL, m, N, NULL));
            ssm_mpmat_clear(A);
            ssm_mpmat_clear(B);
        }
        t[r] = bench_now() - t0;
    }
    printf("%.6g\n", bench_median(t, reps));
    return 0;
}
