/* train/engine.c — the training loop: batches, threads over the batch, gradient reduction in thread
 * order, clipping, AdamW with the schedule, checkpoints, per-epoch log; and evaluation with noise. */
#define _POSIX_C_SOURCE 200809L
#include "train/train_impl.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- one batch over the threads ---------------------------------------------------------- */

typedef struct {
    ssm_train_state *st;
    ssm_train_acts *acts;
    const float *x, *y;
    const uint64_t *ids;
    size_t B;
    int train, backward;
    uint64_t step;
    const ssm_train_noise *noise;
    float scale;
    double loss;
    size_t correct;
} chunk_job;

static void *chunk_run(void *arg)
{
    chunk_job *j = arg;
    ssm_train_model *m = j->st->model;
    if (j->backward) {
        memset(ssm_train_acts_grads(j->acts), 0, m->n_params * sizeof(float));
        memset(ssm_train_acts_dkf(j->acts), 0, m->K * m->H * m->nfreq * 2 * sizeof(float));
    }
    j->correct = 0;
    j->loss = j->B ? ssm_train_model_step(m, j->acts, j->x, j->y, j->ids, j->B, j->train, j->st->rng, j->step,
                                          j->noise, j->backward, j->scale, &j->correct, j->st->data.tol)
                   : 0.0;
    return NULL;
}

/* Run B sequences (st->bx, st->by, st->bids) split into contiguous chunks, one per thread; the chunk
 * results are combined in thread order, so the sums do not depend on scheduling. */
static ssm_status run_batch(ssm_train_state *st, size_t B, int train, int backward, const ssm_train_noise *noise,
                            double *loss, size_t *correct)
{
    ssm_train_model *m = st->model;
    const size_t per = m->L * m->din;
    chunk_job jobs[64];
    pthread_t tid[64];
    int started[64] = {0};
    size_t T = st->n_acts;
    for (size_t t = 0; t < T; t++) {
        size_t lo = t * st->chunk < B ? t * st->chunk : B, hi = (t + 1) * st->chunk < B ? (t + 1) * st->chunk : B;
        jobs[t] = (chunk_job){.st = st, .acts = st->acts[t], .x = st->bx + lo * per, .y = st->by + lo,
                              .ids = st->bids + lo, .B = hi - lo, .train = train, .backward = backward,
                              .step = st->step, .noise = noise, .scale = 1.0f / (float)B};
    }
    for (size_t t = 1; t < T; t++)
        started[t] = pthread_create(&tid[t], NULL, chunk_run, &jobs[t]) == 0;
    chunk_run(&jobs[0]);
    for (size_t t = 1; t < T; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            chunk_run(&jobs[t]); /* could not start a thread: same result, just slower */
    }
    *loss = 0.0;
    *correct = 0;
    for (size_t t = 0; t < T; t++) {
        *loss += jobs[t].loss;
        *correct += jobs[t].correct;
    }
    if (!isfinite(*loss))
        return SSM_ERROR(SSM_ELOSS, "the loss is not finite at step %llu (diverged: lower --lr?)",
                         (unsigned long long)st->step);
    if (backward) {
        const size_t nk = m->K * m->H * m->nfreq * 2;
        memcpy(m->grads, ssm_train_acts_grads(st->acts[0]), m->n_params * sizeof *m->grads);
        memcpy(st->dkf, ssm_train_acts_dkf(st->acts[0]), nk * sizeof *st->dkf);
        for (size_t t = 1; t < T; t++) {
            const float *g = ssm_train_acts_grads(st->acts[t]), *d = ssm_train_acts_dkf(st->acts[t]);
            for (size_t i = 0; i < m->n_params; i++)
                m->grads[i] += g[i];
            for (size_t i = 0; i < nk; i++)
                st->dkf[i] += d[i];
        }
        ssm_train_model_kernels_backward(m, st->dkf, st->cfg.lr_ssm > 0.0);
    }
    return SSM_OK;
}

ssm_status ssm_train_evaluate(double *loss, double *acc, ssm_train_state *st, const ssm_train_split *s,
                              int split_id, size_t n, const ssm_train_noise *noise)
{
    if (n == 0 || n > s->n)
        n = s->n;
    *loss = *acc = NAN;
    if (n == 0)
        return SSM_OK;
    ssm_status status = ssm_train_model_kernels(st->model, 0);
    double total = 0.0;
    size_t correct = 0;
    for (size_t i0 = 0; status == SSM_OK && i0 < n; i0 += st->cfg.batch) {
        size_t B = n - i0 < st->cfg.batch ? n - i0 : st->cfg.batch;
        for (size_t k = 0; k < B; k++) {
            st->bidx[k] = i0 + k;
            st->bids[k] = ((uint64_t)split_id << 40) + i0 + k;
        }
        ssm_train_split_gather(st->bx, st->by, s, st->bidx, B);
        double l;
        size_t c;
        status = run_batch(st, B, 0, 0, noise, &l, &c);
        total += l;
        correct += c;
    }
    if (status == SSM_OK) {
        *loss = total / (double)n;
        *acc = (double)correct / (double)n;
    }
    return status;
}

/* ---- the log ------------------------------------------------------------------------------ */

static ssm_status write_log(const ssm_train_state *st, const char *path)
{
    ssm_dmat_t T;
    ssm_status s = ssm_dmat_init(T, st->n_rows, 8);
    if (s != SSM_OK)
        return s;
    for (size_t i = 0; i < st->n_rows; i++) {
        const ssm_train_epoch_row *r = &st->rows[i];
        double v[8] = {r->epoch, r->step, r->train_loss, r->train_acc, r->val_loss, r->val_acc, r->time_s,
                       r->samples_per_s};
        memcpy(&SSM_D(T, i, 0), v, sizeof v);
    }
    char header[1400], acc[80];
    if (st->data.regression)
        snprintf(acc, sizeof acc, "fraction with |prediction - target| < %g", st->data.tol);
    else
        snprintf(acc, sizeof acc, "fraction of correct classes");
    snprintf(header, sizeof header,
             "ssmkit %s train %s: per-epoch log (init %s, d_model %zu, d_state %zu, layers %zu, seed %llu)\n"
             "accuracy: %s; time_s: wall seconds of the epoch's training steps (validation excluded), "
             "samples_per_s = training samples / time_s", SSM_VERSION,
             ssm_train_task_name(st->cfg.task), st->cfg.init, st->cfg.d_model, st->model->N, st->cfg.n_layers,
             (unsigned long long)st->cfg.seed,
             acc);
    s = T->rows ? ssm_tsv_write_dmat(path, NULL, "epoch step train_loss train_acc val_loss val_acc time_s samples_per_s",
                                     header, T)
                : SSM_OK;
    ssm_dmat_clear(T);
    return s;
}

/* ---- training ------------------------------------------------------------------------------ */

static void permutation(size_t *perm, size_t n, uint64_t rng, uint64_t epoch)
{
    uint64_t r = ssm_train_stream(rng, 0x5417, epoch, 0);
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i > 1; i--) { /* Fisher–Yates */
        size_t j = (size_t)(ssm_train_uniform(&r) * (double)i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

static uint64_t planned_steps(const ssm_train_config *c, size_t n_train)
{
    uint64_t total = (uint64_t)(n_train / c->batch) * c->epochs;
    return c->max_steps && c->max_steps < total ? c->max_steps : total;
}

static ssm_status fresh_state(ssm_train_state *st, const ssm_train_config *cfg)
{
    st->cfg = *cfg;
    ssm_status s = ssm_train_data_load(&st->data, cfg);
    if (s != SSM_OK)
        return s;
    if (st->data.train.n < cfg->batch)
        return SSM_ERROR(SSM_EINVAL, "%zu training samples are fewer than one batch (%zu)", st->data.train.n, cfg->batch);
    if ((s = ssm_train_model_create(&st->model, cfg, st->data.train.L, st->data.train.din, st->data.n_out,
                                    st->data.regression)) != SSM_OK)
        return s;
    /* the stored config says what the defaults became: the init's state size, the split sizes and the
     * sequence length, so that a resumed run (and its option checks) never depends on them again */
    st->cfg.d_state = st->model->N;
    st->cfg.seq_len = st->data.train.L;
    st->cfg.n_train = st->data.train.n;
    st->cfg.n_val = st->data.val.n;
    st->cfg.n_test = st->data.test.n;
    st->adam_m = calloc(st->model->n_params, sizeof *st->adam_m);
    st->adam_v = calloc(st->model->n_params, sizeof *st->adam_v);
    if (!st->adam_m || !st->adam_v)
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    st->rng = ssm_train_stream(cfg->seed, 0x7a1d, 0, 0);
    st->total_steps = planned_steps(cfg, st->data.train.n);
    return SSM_OK;
}

/* The stored run, after o->on_resume has seen its config (and perhaps extended it). */
static ssm_status resume_state(ssm_train_state *st, const char *ckpt, const ssm_train_run_opts *o)
{
    ssm_train_config stored, c;
    uint64_t step, total;
    ssm_status s = ssm_train_checkpoint_peek(&stored, &step, &total, ckpt);
    if (s != SSM_OK)
        return s;
    c = stored;
    if (o->on_resume && (s = o->on_resume(&c, o->resume_ctx)) != SSM_OK)
        return s;
    ssm_train_config same = c;
    same.epochs = stored.epochs;
    same.max_steps = stored.max_steps;
    same.ckpt_every = stored.ckpt_every;
    if (memcmp(&same, &stored, sizeof same) != 0)
        return SSM_ERROR(SSM_EINVAL, "--resume: only the epochs, the step cap and the checkpoint interval of a stored "
                                     "run may change");
    if ((s = ssm_train_config_check(&c)) != SSM_OK)
        return s;
    uint64_t extended = planned_steps(&c, c.n_train);
    if (extended < total)
        return SSM_ERROR(SSM_EINVAL, "--resume: --epochs %zu / --steps %zu would end the run at step %llu, before its "
                                     "stored end (%llu); a resumed run can only be extended", c.epochs, c.max_steps,
                         (unsigned long long)extended, (unsigned long long)total);
    if ((s = ssm_train_checkpoint_read(st, ckpt, 1)) != SSM_OK)
        return s;
    st->cfg = c;
    st->total_steps = extended;
    return SSM_OK;
}

/* The Re Λ ≤ −1e-4 clamp that keeps trained modes stable (diagonal path, SSM parameters training). */
static void clamp_modes(ssm_train_model *m)
{
    for (size_t l = 0; l < m->K; l++)
        for (size_t k = 0; k < (m->s5 ? 1 : m->H) * m->M; k++) { /* S5: one Λ [M] per layer */
            float *re = m->params + m->layer[l].lam + 2 * k;
            if (*re > -1e-4f)
                *re = -1e-4f;
        }
}

/* Close the epoch that ends at step i of `epoch`: its log row (with the validation pass), the log file,
 * the callback. */
static ssm_status end_epoch(ssm_train_state *st, const ssm_train_run_opts *o, ssm_progress *bar, uint64_t epoch,
                            uint64_t i, uint64_t spe, double *t_epoch)
{
    double t1 = now_s();
    st->ep_time += t1 - *t_epoch;
    ssm_train_epoch_row *r = &st->rows[st->n_rows < SSM_TRAIN_MAX_EPOCHS ? st->n_rows : SSM_TRAIN_MAX_EPOCHS - 1];
    r->epoch = (double)epoch + (double)(i + 1) / (double)spe;
    r->step = (double)st->step;
    r->train_loss = st->ep_loss / (double)st->ep_count;
    r->train_acc = (double)st->ep_correct / (double)st->ep_count;
    r->time_s = st->ep_time;
    r->samples_per_s = (double)st->ep_count / st->ep_time;
    ssm_status s = ssm_train_evaluate(&r->val_loss, &r->val_acc, st, &st->data.val, 1, 0, NULL);
    if (st->n_rows < SSM_TRAIN_MAX_EPOCHS)
        st->n_rows++;
    st->ep_loss = st->ep_time = 0.0;
    st->ep_correct = st->ep_count = 0;
    *t_epoch = now_s();
    if (s == SSM_OK && o->log_path)
        s = write_log(st, o->log_path);
    if (s == SSM_OK && o->on_epoch) {
        ssm_progress_clear(bar); /* the epoch line starts on a clean line; the bar redraws below it */
        o->on_epoch(r, o->ctx);
    }
    return s;
}

/* Steps until the planned total (or a failure); *wrote counts the checkpoints and logs written (a run
 * that fails after writing keeps them: its checkpoint is what --resume continues). */
static ssm_status train_loop(ssm_train_state *st, const ssm_train_run_opts *o, const char *ckpt, int *wrote)
{
    const ssm_train_config *c = &st->cfg;
    ssm_train_model *m = st->model;
    const size_t B = c->batch, spe = st->data.train.n / B;
    const double lrs[SSM_TRAIN_NGROUPS] = {c->lr, c->lr, c->lr_ssm};
    ssm_progress *bar = NULL;
    ssm_status s = ssm_progress_create(&bar, "train", st->total_steps, !o->quiet);
    double t_start = now_s(), t_epoch = now_s();
    uint64_t perm_epoch = UINT64_MAX;
    while (s == SSM_OK && st->step < st->total_steps) {
        uint64_t epoch = st->step / spe, i = st->step % spe;
        if (epoch != perm_epoch) {
            permutation(st->perm, st->data.train.n, st->rng, epoch);
            perm_epoch = epoch;
        }
        for (size_t k = 0; k < B; k++) {
            st->bidx[k] = st->perm[i * B + k];
            st->bids[k] = st->bidx[k];
        }
        ssm_train_split_gather(st->bx, st->by, &st->data.train, st->bidx, B);
        double loss;
        size_t correct;
        s = ssm_train_model_kernels(m, 0);
        if (s == SSM_OK)
            s = run_batch(st, B, 1, 1, NULL, &loss, &correct);
        if (s != SSM_OK)
            break;
        ssm_train_clip(m->grads, m->n_params, c->clip);
        double sched = ssm_train_lr_at(1.0, st->step, st->total_steps, c->warmup);
        ssm_train_adamw(m->params, st->adam_m, st->adam_v, m->grads, m->tensors, m->n_tensors, lrs, sched, c->wd,
                        st->step + 1);
        if (!m->dense && c->lr_ssm > 0.0)
            clamp_modes(m);
        st->step++;
        st->ep_loss += loss;
        st->ep_correct += correct;
        st->ep_count += B;
        char note[48];
        snprintf(note, sizeof note, "loss %.4f", st->ep_loss / (double)st->ep_count); /* running, this epoch */
        ssm_progress_set_note(bar, note);
        ssm_progress_update(bar, st->step);
        if (i + 1 == spe || st->step == st->total_steps) {
            s = end_epoch(st, o, bar, epoch, i, spe, &t_epoch);
            *wrote += s == SSM_OK && o->log_path != NULL;
        }
        if (s == SSM_OK && ckpt[0] && ((c->ckpt_every && st->step % c->ckpt_every == 0) || st->step == st->total_steps)) {
            double t1 = now_s();
            st->ep_time += t1 - t_epoch; /* time so far in this epoch, kept across a resume */
            t_epoch = t1;
            st->elapsed_s += t1 - t_start;
            t_start = t1;
            s = ssm_train_checkpoint_write(st, ckpt);
            *wrote += s == SSM_OK;
        }
    }
    st->elapsed_s += now_s() - t_start;
    ssm_progress_free(bar);
    return s;
}

ssm_status ssm_train_run(ssm_train_state *st, const ssm_train_config *cfg, const ssm_train_run_opts *o)
{
    memset(st, 0, sizeof *st);
    char ckpt[1100] = "";
    if (o->ckpt_dir)
        snprintf(ckpt, sizeof ckpt, "%s/ckpt.bin", o->ckpt_dir);
    if (o->resume && !o->ckpt_dir)
        return SSM_ERROR(SSM_EINVAL, "--resume needs --checkpoint DIR");
    /* everything cheap first: the options, the init's name, then the run folder (created, locked);
     * only then the data and the model */
    ssm_status s = o->resume ? SSM_OK : ssm_train_config_check(cfg);
    if (s == SSM_OK && !o->resume)
        s = ssm_train_init_known(cfg->init);
    ssm_train_rundir dir = {.fd = -1};
    if (s == SSM_OK && o->ckpt_dir)
        s = ssm_train_rundir_open(&dir, o->ckpt_dir, o->resume, o->force);
    if (s == SSM_OK)
        s = o->resume ? resume_state(st, ckpt, o) : fresh_state(st, cfg);
    if (s == SSM_OK)
        s = ssm_train_state_buffers(st);
    int wrote = 0;
    if (s == SSM_OK)
        s = train_loop(st, o, ckpt, &wrote);
    ssm_train_rundir_close(&dir, wrote || o->resume);
    return s;
}
