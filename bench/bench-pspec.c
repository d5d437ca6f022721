/* bench/bench-pspec.c — the C half of bench/run pspec-*: pseudospectra of
 * HiPPO-LegS on EigTool's default box, 100×100 grid (real matrix: the upper
 * half is computed, 5000 points).
 *
 *   bench-pspec N MODE REPS [OUT.tsv]
 * MODE: record  EigTool's method of record (Schur + inverse Lanczos, one point
 *               at a time, ZTRSV, EigTool's stopping rule), one thread;
 *               at N > 256 on one grid row (50 points) and EXTRAPOLATED
 *       dense   the fast path on the Schur form (multi-shift blocks, all cores;
 *               the real Schur form for this real matrix)
 *       dense1  the same on one thread
 *       fast    the default fast path: the DPLR route (NPLR form of LegS),
 *               all cores
 * Prints: median_seconds (the full grid, setup included) steps points
 * median_setup_seconds (the NPLR/DPLR form or the Schur form); writes the grid
 * (re im sigma) to OUT.tsv when given, for the accuracy check of the peer. */
#define _POSIX_C_SOURCE 200809L
#include "ssmkit.h"
#include "bench/bench.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 4)
        return fprintf(stderr, "usage: bench-pspec N record|dense|dense1|fast REPS [OUT.tsv]\n"), 2;
    size_t n = (size_t)atol(argv[1]), r = 1, M = n / 2;
    const char *mode = argv[2];
    int reps = atoi(argv[3]);
    ssm_dmat_t A, B, P;
    BENCH_OK(ssm_dmat_init(A, n, n)); BENCH_OK(ssm_dmat_init(B, n, 1)); BENCH_OK(ssm_dmat_init(P, r, n));
    BENCH_OK(ssm_hippo(A, B, P, SSM_HIPPO_LEGS, n));
    ssm_zmat_t Z;
    BENCH_OK(ssm_zmat_init(Z, n, n));
    BENCH_OK(ssm_zmat_set_dmat(Z, A));
    /* EigTool's box from the eigenvalues (the diagonal: A is triangular) */
    double complex *ev = malloc(n * sizeof *ev);
    for (size_t i = 0; i < n; i++)
        ev[i] = SSM_D(A, i, i);
    double box[4];
    ssm_pspec_box(box, ev, n, 1);
    const size_t nx = 100, ny = 100;
    double *sig = malloc(nx * ny * sizeof *sig), t[16], tset[16];
    ssm_pspec_info info = {0};
    ssm_status s = SSM_OK;
    double scale = 1;
    for (int k = 0; k < reps && k < 16; k++) {
        ssm_pspec_plan *p = NULL;
        double t0 = bench_now();
        if (strcmp(mode, "fast") == 0) {
            double complex *W = malloc(M * sizeof *W), *lam = malloc(n * sizeof *lam);
            ssm_zmat_t V, Bt, Pt, Pf;
            BENCH_OK(ssm_zmat_init(V, n, M)); BENCH_OK(ssm_zmat_init(Bt, M, 1)); BENCH_OK(ssm_zmat_init(Pt, r, M)); BENCH_OK(ssm_zmat_init(Pf, n, r));
            s = ssm_diag_nplr(W, V, Bt, Pt, NULL, A, B, P, NULL);
            for (size_t i = 0; i < M; i++) {
                lam[i] = W[i];
                lam[i + M] = conj(W[i]);
                SSM_D(Pf, i, 0) = SSM_D(Pt, 0, i);
                SSM_D(Pf, i + M, 0) = conj(SSM_D(Pt, 0, i));
            }
            BENCH_OK(ssm_pspec_plan_create_dplr(&p, lam, Pf, Pf, 1, NULL));
            tset[k] = bench_now() - t0;
            free(W); free(lam);
            ssm_zmat_clear(V); ssm_zmat_clear(Bt); ssm_zmat_clear(Pt); ssm_zmat_clear(Pf);
        } else {
            ssm_pspec_opts o = {.method = strcmp(mode, "record") == 0 ? SSM_PSPEC_RECORD : SSM_PSPEC_FAST_DENSE,
                                .threads = strcmp(mode, "dense1") == 0 ? 1 : 0};
            BENCH_OK(ssm_pspec_plan_create(&p, Z, &o));
            tset[k] = bench_now() - t0;
        }
        if (strcmp(mode, "record") == 0 && n > 256) {
            /* one grid row of the upper half (50 of its 100 points), extrapolated */
            double sub[4] = {box[0], box[1], box[3] * 0.5, box[3] * 0.5};
            s = ssm_pspec_grid(sig, p, sub, 50, 1, &info, NULL);
            scale = 5000.0 / 50.0;
        } else {
            s = ssm_pspec_grid(sig, p, box, nx, ny, &info, NULL);
        }
        t[k] = (bench_now() - t0) * scale;
        ssm_pspec_plan_free(p);
        if (s != SSM_OK)
            return fprintf(stderr, "bench-pspec: %s\n", ssm_error_message()), 1;
    }
    if (argc > 4 && scale == 1) {
        FILE *f = fopen(argv[4], "w");
        if (!f || ssm_tsv_write_head(f, "re im sigma_min", 3, "bench-pspec: the grid, for bench/peer_pspec.py") != SSM_OK)
            return fprintf(stderr, "bench-pspec: cannot write %s\n", argv[4]), 1;
        for (size_t iy = 0; iy < ny; iy++)
            for (size_t ix = 0; ix < nx; ix++)
                fprintf(f, "%.17g\t%.17g\t%.17g\n", box[0] + (double)ix * (box[1] - box[0]) / 99.0,
                        box[2] + (double)iy * (box[3] - box[2]) / 99.0, sig[iy * nx + ix]);
        fclose(f);
    }
    printf("%.6g %zu %zu %.6g\n", bench_median(t, reps < 16 ? reps : 16), info.iterations, info.points,
           bench_median(tset, reps < 16 ? reps : 16));
    free(sig); free(ev);
    ssm_zmat_clear(Z); ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P);
    return 0;
}
