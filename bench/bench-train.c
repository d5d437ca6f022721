/* bench/bench-train.c — the C half of bench/run train-throughput's efficiency line.
 *   bench-train flops B L H K N DIN NOUT   floating-point operations of one training step of the
 *       diagonal post-norm model (no GLU, no dropout, every parameter trained) with batch B, sequence
 *       length L, d_model H, K layers, state size N (N/2 modes), DIN inputs and NOUT outputs; prints
 *       the total, then one line per part
 *   bench-train peak REPS                  one-thread cblas_sgemm GFLOP/s (1024³, best of REPS): the
 *       fp32 peak that the step's rate is set against, on the OpenBLAS core of this process
 * Counting convention: a multiply, add, divide or square root is one operation; a real FFT of size n
 * is 2.5 n log2 n, a GEMM m×k by k×n is 2mnk; exp and the erf polynomial are counted by their
 * operations as written in train/layers.c. */
#include "ssmkit.h"
#include "bench/bench.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void openblas_set_num_threads(int);

/* operations per element, from the code (train/layers.c, train/ssm_layer.c, train/model.c) */
enum {
    GELU_FWD = 45,   /* −x²/2 (2), exp_nonpos (22), 1/(1 + p|x|/√2) (4), erf poly (11), Φ (2), xΦ (1), Φ + xφ (3) */
    GELU_BWD = 2,    /* dinp += dout·deriv */
    LN_FWD = 8,      /* Σx (1), Σ(x − m)² (3), (x − m)s·g + b (4) */
    LN_BWD = 17,     /* the two row sums (6), dβ (1), dγ (2), dx (5), n and dn again (3) */
    CONV_OUT = 3,    /* y = k·(1/n) + D·u */
    CONV_BWD_OUT = 6,/* du += k·(1/n) + D·dy, dD += dy·u */
    SPEC_FWD = 6,    /* U·K̂ per frequency and channel */
    SPEC_BWD = 14,   /* dK̂ += conj(U)·DY (8), DY·conj(K̂) (6) */
    KER_FWD = 7,     /* per mode and ℓ: acc += Re w (1), w·z (6) */
    KER_BWD = 15,    /* per mode and ℓ: two complex sums of real × complex (8), ℓ·g (1), z^ℓ·z (6) */
    ADAMW = 14       /* per parameter, with the clip's scale */
};

static double rfft(double n) { return 2.5 * n * log2(n); }

static int flops(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: bench-train flops B L H K N DIN NOUT\n");
        return 2;
    }
    double v[7];
    for (int i = 0; i < 7; i++)
        v[i] = atof(argv[2 + i]);
    const double B = v[0], L = v[1], H = v[2], K = v[3], M = v[4] / 2, din = v[5], nout = v[6];
    ssm_train_conv *c = NULL;
    BENCH_OK(ssm_train_conv_create(&c, (size_t)H, (size_t)L)); /* the engine's own transform length */
    const double nfreq = (double)ssm_train_conv_nfreq(c), nfft = 2 * (nfreq - 1);
    ssm_train_conv_free(c);
    const double BL = B * L, BLH = BL * H;
    /* per layer */
    double gemm = 3 * 2 * BL * H * H;                                  /* forward, ∂input, ∂W */
    double fft = 4 * B * H * rfft(nfft) + 2 * H * rfft(nfft);           /* U, Y, DY, DU; K̂ and ∂K */
    double spec = (SPEC_FWD + SPEC_BWD) * B * H * nfreq;
    double elem = BLH * (GELU_FWD + GELU_BWD + LN_FWD + LN_BWD + CONV_OUT + CONV_BWD_OUT + 1 /* residual */
                         + 2 /* bias, ∂bias */);
    double kernel = (KER_FWD + KER_BWD) * H * M * L;
    /* once per step */
    double n_params = din * H + H + K * (3 * 2 * H * M + 2 * H + H * H + H + 2 * H) + H * nout + nout; /* Λ B C, Δ D, W b, γ β */
    double io = 2 * (2 * BL * din * H + BL * H) /* encoder, ∂W */ + 2 * BLH /* mean pool, ∂ */
                + 3 * 2 * B * H * nout /* decoder */ + ADAMW * n_params;
    double total = K * (gemm + fft + spec + elem + kernel) + io;
    printf("%.6g\n", total);
    printf("params %.0f\ngemm %.6g\nfft %.6g\nspectra %.6g\nelementwise %.6g\nkernel %.6g\nother %.6g\nnfft %.0f\n", n_params, K * gemm,
           K * fft, K * spec, K * elem, K * kernel, io, nfft);
    return 0;
}

static int peak(int argc, char **argv)
{
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    const int n = 1024;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    if (!a || !b || !c) {
        fprintf(stderr, "bench-train: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n * n; i++) {
        a[i] = (float)((i % 17) - 8) / 8.0f;
        b[i] = (float)((i % 13) - 6) / 6.0f;
    }
    openblas_set_num_threads(1);
    double best = 0.0;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double t = bench_now() - t0, g = 2.0 * n * n * (double)n / t / 1e9;
        best = g > best ? g : best;
    }
    printf("%.4g\n", best);
    free(a); free(b); free(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "flops") == 0)
        return flops(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "peak") == 0)
        return peak(argc, argv);
    fprintf(stderr, "usage: bench-train flops B L H K N DIN NOUT | bench-train peak [REPS]\n");
    return 2;
}
