/* bench/bench-freqresp.c — the C half of bench/run freqresp-1024: G(iω) of
 * HiPPO-LegS (B = LegS B, C = ones) at K log-spaced frequencies in [1e-2, 1e4]
 * by the Hessenberg plan (ssm_tf_plan_create once + ssm_tf_eval).
 *   bench-freqresp N K REPS [CHECKFILE]
 * prints the median seconds of plan + evaluation; with CHECKFILE, also writes
 * the first 50 values (re im per line) for the peer to compare against. */
#include "ssmkit.h"
#include "bench/bench.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench-freqresp N K REPS [CHECKFILE]\n");
        return 2;
    }
    size_t N = (size_t)atol(argv[1]), K = (size_t)atol(argv[2]);
    int reps = atoi(argv[3]);
    ssm_dmat_t A, B;
    BENCH_OK(ssm_dmat_init(A, N, N));
    BENCH_OK(ssm_dmat_init(B, N, 1));
    BENCH_OK(ssm_hippo(A, B, NULL, SSM_HIPPO_LEGS, N));
    ssm_zmat_t Az, b, c;
    BENCH_OK(ssm_zmat_init(Az, N, N)); BENCH_OK(ssm_zmat_init(b, N, 1)); BENCH_OK(ssm_zmat_init(c, 1, N));
    BENCH_OK(ssm_zmat_set_dmat(Az, A));
    for (size_t i = 0; i < N; i++) {
        b->data[i] = B->data[i];
        c->data[i] = 1.0;
    }
    double complex *s = malloc(K * sizeof *s), *G = malloc(K * sizeof *G);
    BENCH_OK(ssm_tf_omega_grid(s, NULL, 1e-2, 1e4, K, 1));
    double t[64];
    ssm_status st = SSM_OK;
    for (int r = 0; r < reps && r < 64; r++) {
        double t0 = bench_now();
        ssm_tf_plan *p = NULL;
        BENCH_OK(ssm_tf_plan_create(&p, Az, b, c, 0.0));
        if (p)
            st = ssm_tf_eval(G, p, s, K);
        ssm_tf_plan_free(p);
        t[r] = bench_now() - t0;
        if (st != SSM_OK) {
            fprintf(stderr, "bench-freqresp: %s\n", ssm_error_message());
            return 1;
        }
    }
    printf("%.6g\n", bench_median(t, reps < 64 ? reps : 64));
    if (argc > 4) {
        FILE *fp = fopen(argv[4], "w");
        for (size_t k = 0; fp && k < K && k < 50; k++)
            fprintf(fp, "%.17g %.17g\n", creal(G[k * (K / 50 ? K / 50 : 1)]), cimag(G[k * (K / 50 ? K / 50 : 1)]));
        if (fp)
            fclose(fp);
    }
    free(s); free(G);
    ssm_dmat_clear(A); ssm_dmat_clear(B);
    ssm_zmat_clear(Az); ssm_zmat_clear(b); ssm_zmat_clear(c);
    return 0;
}
