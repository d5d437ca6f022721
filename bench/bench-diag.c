/* bench/bench-diag.c — timing of decompositions for bench/run.
 *   bench-diag ptd N EPS KAPPA_TARGET REPS   median seconds, then "pert kappa max_re"
 *   bench-diag nplr N REPS                   median seconds of NPLR of legs (incl. B̃, P̃) */
#define _POSIX_C_SOURCE 200809L
#include "ssmkit.h"
#include "bench/bench.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    double t[64];
    if (argc == 6 && strcmp(argv[1], "ptd") == 0) {
        size_t N = (size_t)atoi(argv[2]);
        int reps = atoi(argv[5]);
        ssm_dmat_t A, B, P, E;
        BENCH_OK(ssm_dmat_init(A, N, N)); BENCH_OK(ssm_dmat_init(B, N, 1)); BENCH_OK(ssm_dmat_init(P, 1, N)); BENCH_OK(ssm_dmat_init(E, N, N));
        BENCH_OK(ssm_hippo(A, B, P, SSM_HIPPO_LEGS, N));
        ssm_zmat_t V, Vi;
        BENCH_OK(ssm_zmat_init(V, N, N)); BENCH_OK(ssm_zmat_init(Vi, N, N));
        double complex *l = malloc(N * sizeof *l);
        ssm_ptd_opts o = ssm_ptd_opts_default(); /* transfer-aware, default weight */
        o.eps = atof(argv[3]);
        o.kappa_target = atof(argv[4]);
        o.B = B->data;
        ssm_ptd_info in;
        for (int r = 0; r < reps && r < 64; r++) {
            double t0 = bench_now();
            if (ssm_diag_ptd(E, l, V, Vi, &in, A, P, &o) != SSM_OK) {
                fprintf(stderr, "%s\n", ssm_error_message());
                return 1;
            }
            t[r] = bench_now() - t0;
        }
        printf("%.6g %.6g %.6g %.6g %.6g\n", bench_median(t, reps), in.perturbation_norm, in.kappa_V, in.max_re_lambda,
               in.tf_ones);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "nplr") == 0) {
        size_t N = (size_t)atoi(argv[2]), M = N / 2;
        int reps = atoi(argv[3]);
        ssm_dmat_t A, B, P;
        BENCH_OK(ssm_dmat_init(A, N, N)); BENCH_OK(ssm_dmat_init(B, N, 1)); BENCH_OK(ssm_dmat_init(P, 1, N));
        BENCH_OK(ssm_hippo(A, B, P, SSM_HIPPO_LEGS, N));
        ssm_zmat_t V, Bt, Pt;
        BENCH_OK(ssm_zmat_init(V, N, M)); BENCH_OK(ssm_zmat_init(Bt, M, 1)); BENCH_OK(ssm_zmat_init(Pt, 1, M));
        double complex *W = malloc(M * sizeof *W);
        for (int r = 0; r < reps && r < 64; r++) {
            double t0 = bench_now();
            if (ssm_diag_nplr(W, V, Bt, Pt, NULL, A, B, P, NULL) != SSM_OK) {
                fprintf(stderr, "%s\n", ssm_error_message());
                return 1;
            }
            t[r] = bench_now() - t0;
        }
        printf("%.6g\n", bench_median(t, reps));
        return 0;
    }
    fprintf(stderr, "usage: bench-diag ptd N EPS KAPPA_TARGET REPS | bench-diag nplr N REPS\n");
    return 2;
}
