/* bench/train-export.c — writes one model, batch and the engine's loss and gradients to a safetensors
 * file, for the PyTorch comparison (bench/torch_model.py, `make check-torch`).
 *   train-export OUT.safetensors INIT GLU PRENORM REGRESSION [FREEZE]
 * INIT s4-dplr: the DPLR kernel with trained Λ, P, B, Δ; s4-dplr-dense: the dense frozen path.
 * (FREEZE = 1: Λ, B, Δ frozen, lr_ssm = 0, as the dense s4-dplr path always is.)
 * Tensors: every parameter by its arena name (F64 copies of the float values), "x" [B,L,din], "y" [B],
 * "grad.<name>" for every trainable tensor, "loss" [1]; dense inits also "dense_A" [N,N], "dense_B" [N].
 * Metadata: the shapes and flags. */
#include "ssmkit.h"
#include "bench/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: train-export OUT.safetensors INIT GLU PRENORM REGRESSION [FREEZE]\n");
        return 2;
    }
    ssm_train_config c;
    ssm_train_config_default(&c);
    int dense = strcmp(argv[2], "s4-dplr-dense") == 0;
    snprintf(c.init, sizeof c.init, "%s", dense ? "s4-dplr" : argv[2]);
    c.s4_dense = dense;
    c.glu = atoi(argv[3]);
    c.prenorm = atoi(argv[4]);
    int regression = atoi(argv[5]);
    c.d_model = 8;
    c.d_state = 8;
    c.n_layers = 2;
    c.dropout = 0.0;
    c.seed = 11;
    c.lr_ssm = dense || (argc == 7 && atoi(argv[6])) ? 0.0 : 0.001;
    const size_t L = 40, din = 3, nout = regression ? 1 : 5, B = 4;
    ssm_train_model *m;
    ssm_status s = ssm_train_model_create(&m, &c, L, din, nout, regression);
    if (s != SSM_OK) {
        fprintf(stderr, "train-export: %s\n", ssm_error_message());
        return 1;
    }
    ssm_train_acts *a = NULL;
    BENCH_OK(ssm_train_acts_create(&a, m, B));
    float x[4 * 40 * 3], y[4];
    uint64_t ids[4] = {0, 1, 2, 3}, r = 99;
    for (size_t i = 0; i < B * L * din; i++)
        x[i] = (float)(2.0 * ssm_train_uniform(&r) - 1.0);
    for (size_t b = 0; b < B; b++)
        y[b] = regression ? (float)ssm_train_uniform(&r) : (float)(b % nout);
    memset(ssm_train_acts_grads(a), 0, m->n_params * sizeof(float));
    memset(ssm_train_acts_dkf(a), 0, m->K * m->H * m->nfreq * 2 * sizeof(float));
    BENCH_OK(ssm_train_model_kernels(m, 0));
    double loss = ssm_train_model_step(m, a, x, y, ids, B, 0, 0, 0, NULL, 1, 1.0f / (float)B, NULL, 0.1) / (double)B;
    memcpy(m->grads, ssm_train_acts_grads(a), m->n_params * sizeof(float));
    ssm_train_model_kernels_backward(m, ssm_train_acts_dkf(a), c.lr_ssm > 0);

    ssm_st *f = NULL;
    BENCH_OK(ssm_st_create(&f));
    double *buf = malloc((m->n_params + B * L * din + m->N * m->N) * sizeof *buf);
    char name[64], v[64];
    for (size_t t = 0; t < m->n_tensors; t++) {
        const ssm_train_tensor *tn = &m->tensors[t];
        size_t shape[1] = {tn->count};
        for (size_t i = 0; i < tn->count; i++)
            buf[i] = m->params[tn->offset + i];
        BENCH_OK(ssm_st_add(f, tn->name, 1, shape, buf));
        if (tn->group == SSM_TRAIN_SSM && c.lr_ssm == 0.0)
            continue;
        for (size_t i = 0; i < tn->count; i++)
            buf[i] = m->grads[tn->offset + i];
        snprintf(name, sizeof name, "grad.%s", tn->name);
        BENCH_OK(ssm_st_add(f, name, 1, shape, buf));
    }
    size_t sx[3] = {B, L, din}, sy[1] = {B}, s1[1] = {1};
    for (size_t i = 0; i < B * L * din; i++)
        buf[i] = x[i];
    BENCH_OK(ssm_st_add(f, "x", 3, sx, buf));
    for (size_t i = 0; i < B; i++)
        buf[i] = y[i];
    BENCH_OK(ssm_st_add(f, "y", 1, sy, buf));
    BENCH_OK(ssm_st_add(f, "loss", 1, s1, &loss));
    if (m->dense) {
        size_t sa[2] = {m->N, m->N}, sb[1] = {m->N};
        BENCH_OK(ssm_st_add(f, "dense_A", 2, sa, m->dense_A));
        BENCH_OK(ssm_st_add(f, "dense_B", 1, sb, m->dense_B));
    }
#define META(k, fmt, val) do { snprintf(v, sizeof v, fmt, val); BENCH_OK(ssm_st_set_meta(f, k, v)); } while (0)
    META("H", "%zu", m->H); META("N", "%zu", m->N); META("M", "%zu", m->M); META("K", "%zu", m->K);
    META("L", "%zu", L); META("din", "%zu", din); META("nout", "%zu", nout); META("glu", "%d", m->glu);
    META("prenorm", "%d", m->prenorm); META("dense", "%d", m->dense); META("regression", "%d", regression);
    META("train_ssm", "%d", c.lr_ssm > 0); META("s5", "%d", m->s5); META("dplr", "%d", m->dplr);
    s = ssm_st_write(f, argv[1]);
    ssm_st_free(f);
    free(buf);
    ssm_train_acts_free(a);
    ssm_train_model_free(m);
    if (s != SSM_OK) {
        fprintf(stderr, "train-export: %s\n", ssm_error_message());
        return 1;
    }
    return 0;
}
