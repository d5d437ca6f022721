/* bench/bench-mpeig.c — multiprecision eigendecomposition: ssm_diag_eig_mp
 * against Arb's acb_mat_approx_eig_qr called directly, same matrix, same
 * output precision, equal digits required of both.
 *   bench-mpeig CASE N BITS [REPS [cpu]]   CASE: legs | normal (A + P Pᵀ) | ptd (A + E, ε = 0.05)
 * REPS runs of each (default 5 for N ≤ 32, else 3), interleaved ours, Arb,
 * ours, … so that a change in the machine's load falls on both; medians of
 * wall-clock seconds, or with cpu of the process's CPU seconds (less moved by
 * another job on the cores: time waiting for a core is not counted).
 * prints: ours_s arb_s ours_digits arb_digits (arb's digits: agreement with ours)
 *   bench-mpeig dump CASE N BITS FILE
 * writes the same matrix to FILE for the mpmath peer: "N" on the first line,
 * then the N² entries row by row, decimal, enough digits for 4 BITS + 256 bits */
#define _POSIX_C_SOURCE 200809L
#include "ssmkit.h"
#include "core/arb.h"
#include "bench/bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* seconds: wall clock, or the process's CPU time (cpu) */
static double clock_now(int cpu)
{
    if (!cpu)
        return bench_now();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *dump = NULL;
    if (argc == 6 && strcmp(argv[1], "dump") == 0) {
        dump = argv[5];
        argv++;
        argc = 4;
    }
    int cpu = argc == 6 && strcmp(argv[5], "cpu") == 0;
    if (argc != 4 && argc != 5 && !cpu) {
        fprintf(stderr, "usage: bench-mpeig legs|normal|ptd N BITS [REPS [cpu]]\n"
                        "       bench-mpeig dump legs|normal|ptd N BITS FILE\n");
        return 2;
    }
    size_t N = (size_t)atoi(argv[2]);
    int reps = argc >= 5 ? atoi(argv[4]) : N <= 32 ? 5 : 3;
    if (reps < 1 || reps > 99)
        reps = 1;
    mpfr_prec_t p = atol(argv[3]), ap = 4 * p + 256;
    ssm_mpmat_t R, P;
    BENCH_OK(ssm_mpmat_init(R, N, N, ap));
    BENCH_OK(ssm_mpmat_init(P, 1, N, ap));
    BENCH_OK(ssm_hippo_mp(R, NULL, P, SSM_HIPPO_LEGS, N, NULL));
    if (strcmp(argv[1], "normal") == 0)
        for (size_t i = 0; i < N; i++)
            for (size_t k = 0; k < N; k++)
                mpfr_fma(SSM_MP(R, i, k), SSM_MP(P, 0, i), SSM_MP(P, 0, k), SSM_MP(R, i, k), MPFR_RNDN);
    if (strcmp(argv[1], "ptd") == 0) {
        ssm_dmat_t A, Pd, E;
        BENCH_OK(ssm_dmat_init(A, N, N)); BENCH_OK(ssm_dmat_init(Pd, 1, N)); BENCH_OK(ssm_dmat_init(E, N, N));
        BENCH_OK(ssm_hippo(A, NULL, Pd, SSM_HIPPO_LEGS, N));
        ssm_zmat_t V, Vi;
        BENCH_OK(ssm_zmat_init(V, N, N)); BENCH_OK(ssm_zmat_init(Vi, N, N));
        double complex *l = malloc(N * sizeof *l);
        ssm_ptd_opts o = {.eps = 0.05};
        if (ssm_diag_ptd(E, l, V, Vi, NULL, A, Pd, &o) != SSM_OK)
            return 1;
        for (size_t i = 0; i < N; i++)
            for (size_t k = 0; k < N; k++)
                mpfr_add_d(SSM_MP(R, i, k), SSM_MP(R, i, k), SSM_D(E, i, k), MPFR_RNDN);
        free(l);
    }
    if (dump) {
        FILE *fp = fopen(dump, "w");
        if (!fp) {
            perror(dump);
            return 1;
        }
        fprintf(fp, "%zu\n", N);
        for (size_t i = 0; i < N; i++)
            for (size_t k = 0; k < N; k++)
                mpfr_fprintf(fp, "%.*Re\n", (int)(ap * 0.30103) + 2, SSM_MP(R, i, k));
        return fclose(fp) == 0 ? 0 : 1;
    }
    ssm_mpcmat_t A, L, V, W;
    BENCH_OK(ssm_mpcmat_init(A, N, N, ap));
    BENCH_OK(ssm_mpcmat_set_mpmat(A, R));
    BENCH_OK(ssm_mpcmat_init(L, N, 1, p));
    BENCH_OK(ssm_mpcmat_init(V, N, N, p));
    BENCH_OK(ssm_mpcmat_init(W, N, N, p));
    ssm_mpeig_info info;
    /* Arb's QR at the same output precision plus the same 64 guard bits our first run uses */
    acb_mat_t Aa, Ra;
    acb_ptr E = _acb_vec_init((slong)N);
    acb_mat_init(Aa, (slong)N, (slong)N);
    acb_mat_init(Ra, (slong)N, (slong)N);
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < N; k++) {
            arf_set_mpfr(arb_midref(acb_realref(acb_mat_entry(Aa, i, k))), mpc_realref(SSM_MP(A, i, k)));
            arf_set_mpfr(arb_midref(acb_imagref(acb_mat_entry(Aa, i, k))), mpc_imagref(SSM_MP(A, i, k)));
        }
    double t_ours[99], t_arb[99];
    int ok = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = clock_now(cpu);
        ssm_status s = ssm_diag_eig_mp(L, V, W, &info, A, NULL);
        t_ours[r] = clock_now(cpu) - t0;
        if (s != SSM_OK) {
            fprintf(stderr, "%s\n", ssm_error_message());
            return 1;
        }
        t0 = clock_now(cpu);
        ok = acb_mat_approx_eig_qr(E, NULL, Ra, Aa, NULL, 0, (slong)p + 64);
        t_arb[r] = clock_now(cpu) - t0;
    }
    double ours = bench_median(t_ours, reps), arb = bench_median(t_arb, reps);
    /* Arb's digits: worst relative distance of its eigenvalues to ours */
    double worst = 0.0;
    for (size_t i = 0; i < N; i++) {
        double best = INFINITY;
        double complex x = CMPLX(mpfr_get_d(mpc_realref(SSM_MP(L, i, 0)), MPFR_RNDN), mpfr_get_d(mpc_imagref(SSM_MP(L, i, 0)), MPFR_RNDN));
        for (size_t k = 0; k < N; k++) {
            acb_t d, z;
            acb_init(d);
            acb_init(z);
            acb_set_d_d(z, 0, 0);
            arf_set_mpfr(arb_midref(acb_realref(z)), mpc_realref(SSM_MP(L, i, 0)));
            arf_set_mpfr(arb_midref(acb_imagref(z)), mpc_imagref(SSM_MP(L, i, 0)));
            acb_sub(d, E + k, z, (slong)p + 64);
            double e = hypot(arf_get_d(arb_midref(acb_realref(d)), ARF_RND_NEAR), arf_get_d(arb_midref(acb_imagref(d)), ARF_RND_NEAR));
            best = e < best ? e : best;
            acb_clear(d);
            acb_clear(z);
        }
        worst = fmax(worst, best / fmax(cabs(x), 1e-300));
    }
    printf("%.6g %.6g %.1f %.1f %s %s\n", ours, arb, info.digits, worst > 0 ? -log10(worst) : (double)p * 0.30103,
           ssm_mpeig_route_name(info.route), ok ? "arb-converged" : "arb-not-converged");
    return 0;
}
