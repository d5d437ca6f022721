/* train/state.c — a training state's lifetime: its per-thread activations and
 * batch buffers, and freeing all of it (the engine and the checkpoint reader
 * both build states; neither depends on the other). */
#include "train/train.h"

#include <stdlib.h>
#include <string.h>

void ssm_train_state_clear(ssm_train_state *st)
{
    for (size_t t = 0; t < st->n_acts; t++)
        ssm_train_acts_free(st->acts[t]);
    free(st->acts);
    free(st->bx); free(st->by); free(st->dkf); free(st->bidx); free(st->perm); free(st->bids);
    ssm_train_model_free(st->model);
    free(st->adam_m); free(st->adam_v);
    ssm_train_data_free(&st->data);
    memset(st, 0, sizeof *st);
}

ssm_status ssm_train_state_buffers(ssm_train_state *st)
{
    const ssm_train_model *m = st->model;
    size_t T = st->cfg.threads, B = st->cfg.batch;
    if (T > B)
        T = B;
    st->chunk = (B + T - 1) / T;
    st->acts = calloc(T, sizeof *st->acts);
    st->n_acts = st->acts ? T : 0; /* what ssm_train_state_clear walks */
    for (size_t t = 0; st->acts && t < T; t++)
        if (ssm_train_acts_create(&st->acts[t], m, st->chunk) != SSM_OK)
            return SSM_ERROR(SSM_ENOMEM, "out of memory for the activations (%zu threads x %zu sequences)", T, st->chunk);
    st->bx = malloc(B * m->L * m->din * sizeof *st->bx);
    st->by = malloc(B * sizeof *st->by);
    st->dkf = malloc(m->K * m->H * m->nfreq * 2 * sizeof *st->dkf);
    st->bidx = malloc(B * sizeof *st->bidx);
    st->bids = malloc(B * sizeof *st->bids);
    size_t ntr = st->data.train.n ? st->data.train.n : 1;
    st->perm = malloc(ntr * sizeof *st->perm);
    if (!st->acts || !st->bx || !st->by || !st->dkf || !st->bidx || !st->bids || !st->perm)
        return SSM_ERROR(SSM_ENOMEM, "out of memory for the batch buffers");
    /* each thread calls sgemm on its own chunk: OpenBLAS must not spawn threads of its own */
    (void)ssm_blas_threads_set(1); /* for the run's lifetime: the engine owns the process's threads */
    return SSM_OK;
}
