/* bench/ptd-table.c — the PTD table and ε-sweep of the closing notes.
 *   ptd-table table [EPS]          N = 8 … 128 at one budget (default 0.05)
 *   ptd-table sweep N              ε from 0.3 down to 1e-4 in one warm-started run
 * Columns: N eps ||E||/||A|| kappa_2(V) max_Re_lambda seconds iterations */
#include "ssmkit.h"
#include "bench/bench.h"

#include <stdlib.h>
#include <string.h>

static void legs(ssm_dmat_t A, ssm_dmat_t P, size_t N)
{
    BENCH_OK(ssm_dmat_init(A, N, N));
    BENCH_OK(ssm_dmat_init(P, 1, N));
    BENCH_OK(ssm_hippo(A, NULL, P, SSM_HIPPO_LEGS, N));
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "table") == 0) {
        double eps = argc > 2 ? atof(argv[2]) : 0.05;
        printf("# N\teps\tpert\tkappa\tmax_re\tseconds\titerations\n");
        for (size_t N = 8; N <= 128; N *= 2) {
            ssm_dmat_t A, P, E;
            legs(A, P, N);
            BENCH_OK(ssm_dmat_init(E, N, N));
            ssm_zmat_t V, Vi;
            BENCH_OK(ssm_zmat_init(V, N, N));
            BENCH_OK(ssm_zmat_init(Vi, N, N));
            double complex *l = malloc(N * sizeof *l);
            ssm_ptd_opts o = {.eps = eps};
            ssm_ptd_info in;
            ssm_status s = ssm_diag_ptd(E, l, V, Vi, &in, A, P, &o);
            if (s != SSM_OK)
                printf("%zu\t%g\tfailed: %s\n", N, eps, ssm_error_message());
            else
                printf("%zu\t%g\t%.4f\t%.4g\t%.4g\t%.3f\t%d\n", N, eps, in.perturbation_norm, in.kappa_V,
                       in.max_re_lambda, in.seconds, in.iterations);
            fflush(stdout);
            free(l);
            ssm_dmat_clear(A); ssm_dmat_clear(P); ssm_dmat_clear(E);
            ssm_zmat_clear(V); ssm_zmat_clear(Vi);
        }
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "sweep") == 0) {
        size_t N = (size_t)atoi(argv[2]);
        const double sweep[] = {0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005, 0.003, 0.002, 0.001, 0.0005, 0.0003};
        const size_t ns = sizeof sweep / sizeof *sweep;
        ssm_ptd_info rec[16], in;
        ssm_dmat_t A, P, E;
        legs(A, P, N);
        BENCH_OK(ssm_dmat_init(E, N, N));
        ssm_zmat_t V, Vi;
        BENCH_OK(ssm_zmat_init(V, N, N));
        BENCH_OK(ssm_zmat_init(Vi, N, N));
        double complex *l = malloc(N * sizeof *l);
        ssm_ptd_opts o = {.eps = 1e-4, .sweep = sweep, .sweep_count = ns, .sweep_info = rec};
        ssm_status s = ssm_diag_ptd(E, l, V, Vi, &in, A, P, &o);
        printf("# N\teps\tpert\tkappa\tkappa*eps\tmax_re\tseconds\titerations\n");
        for (size_t k = 0; k < ns && s == SSM_OK; k++)
            printf("%zu\t%g\t%.5f\t%.4g\t%.3g\t%.4g\t%.3f\t%d\n", N, rec[k].eps, rec[k].perturbation_norm,
                   rec[k].kappa_V, rec[k].kappa_V * rec[k].eps, rec[k].max_re_lambda, rec[k].seconds, rec[k].iterations);
        if (s == SSM_OK)
            printf("%zu\t%g\t%.5f\t%.4g\t%.3g\t%.4g\t%.3f\t%d\n", N, in.eps, in.perturbation_norm, in.kappa_V,
                   in.kappa_V * in.eps, in.max_re_lambda, in.seconds, in.iterations);
        else
            printf("failed: %s\n", ssm_error_message());
        return s != SSM_OK;
    }
    fprintf(stderr, "usage: ptd-table table [EPS] | ptd-table sweep N\n");
    return 2;
}
