/* experiments/robustness_medium.c — `experiment robustness --medium`: the robustness result at a size
 * that trains to ≥ 0.85 clean accuracy, with seeds, confidence intervals and paired differences
 * (issue 15, "The experiment"; doc/reference.md §6).
 *
 * Rows (ROWS below): S4D-LegS, S4D-Lin, S4-PTD (ε 0.05), S5-PTD (init ptd --blocks 2 at the same N) and
 * S4 (DPLR: the Cauchy/Woodbury kernel, s4_dense = 0) under the frozen protocol of the official PTD code
 * (Λ, (P,) B, Δ frozen; C, D and the rest trained), and S4D-LegS, S4-PTD, S4 (DPLR) fully trained
 * (lr_ssm 0.001, S4's usual SSM rate).  The PTD inits (S4-PTD and S5-PTD) are built once, seed 0 as
 * `ssmkit init ptd` does, into DIR/robustness-medium.{ptd,s5-ptd}.safetensors by whichever job needs
 * one first (written atomically; the same bytes whoever writes them) and shared by every seed and row.
 *
 * With --quick (the smoke-test size) every file below is named robustness-medium-quick.* instead, so a
 * quick run never mixes with a full one in the same folder; an existing shared init is checked (method,
 * N, ε, blocks) before it is reused.  A job killed while building a shared init may leave
 * DIR/.robustness-medium*.safetensors.tmp.*: only a writer that died leaves one (jobs may run at once, so
 * no job removes them); delete them when no job is running.
 *
 * One job per (row, seed): job K = seed_index·8 + row, seed = --seed + seed_index.  A job trains in the
 * run folder DIR/robustness-medium.run-K (a checkpoint every epoch; rerunning a killed job resumes it
 * bit-identically), then evaluates on the test split: clean, Fourier noise at ω* (the top |Im λ| of
 * S4D-LegS at this N) and at the init's own top mode, amplitudes 0.1 and 0.3 (the headline points, all
 * test images), and an ω sweep at 0.1 (log-spaced points, the init's 4 largest pole frequencies, ω* and
 * 0.9/0.95/1.05/1.1·ω*) on the first SWEEP_N test images.  It writes DIR/robustness-medium.part-K.tsv
 * (no timings: a resumed job gives the bytes of an uninterrupted one) and the timings in
 * DIR/robustness-medium.time-K.tsv.  --merge: per row mean and 95% t confidence interval over the
 * seeds, and paired differences against S4D-LegS frozen with the same seed. */
#define _POSIX_C_SOURCE 200809L
#include "experiments/common.h"
#include "experiments/experiments.h"

#include <gsl/gsl_cdf.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NROW 8
typedef struct {
    const char *init, *label, *key; /* init method (or "s5-ptd": the shared file), figure label, table key */
    double lr_ssm;
} row_def;
static const row_def ROWS[NROW] = {
    {"s4d-legs", "S4D-LegS (frozen)", "s4d-legs-frozen", 0.0},
    {"s4d-lin", "S4D-Lin (frozen)", "s4d-lin-frozen", 0.0},
    {"ptd", "S4-PTD (frozen)", "s4-ptd-frozen", 0.0},
    {"s5-ptd", "S5-PTD (frozen)", "s5-ptd-frozen", 0.0},
    {"s4-dplr", "S4 DPLR (frozen)", "s4-dplr-frozen", 0.0},
    {"s4d-legs", "S4D-LegS (trained)", "s4d-legs-trained", 0.001},
    {"ptd", "S4-PTD (trained)", "s4-ptd-trained", 0.001},
    {"s4-dplr", "S4 DPLR (trained)", "s4-dplr-trained", 0.001},
};
#define NHEAD 5 /* clean, (ω*, 0.1), (ω*, 0.3), (own, 0.1), (own, 0.3) */
static const char *const HEAD_KEYS[NHEAD] = {"clean", "star_01", "star_03", "own_01", "own_03"};
#define NLOG 9      /* ω = 10 … 1e4, log-spaced */
#define NPOLE 4     /* the init's largest pole frequencies */
static const double NEAR[5] = {0.9, 0.95, 1.0, 1.05, 1.1}; /* ω/ω* */
#define NSWEEP (1 + NLOG + NPOLE + 5)   /* first: clean on the sweep subset (ω = 0, amplitude 0) */
/* The sweep's test images: the first SWEEP_N of the 10000 (measured: the sweep on all of them would
 * cost as much as a third of the training; the headline points use all of them). */
#define SWEEP_N 2000
#define PART_COLS 12
/* Epochs of the medium size (d_model 64, 4 layers, N 64, the full 55000/5000/10000 split). */
#define SSM_MEDIUM_EPOCHS 3

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The size: --quick with --medium is the smoke-test size (checks the protocol, not the claim). */
static void medium_config(ssm_train_config *c, const ssm_experiment_opts *o, int row, unsigned long seed,
                          const char *init_path)
{
    ssm_train_config_default(c);
    c->task = SSM_TASK_SFMNIST;
    snprintf(c->init, sizeof c->init, "%s", init_path);
    c->init_eps = 0.05;
    c->lr_ssm = ROWS[row].lr_ssm;
    c->s4_dense = 0;
    c->dropout = 0.1;
    c->lr = 0.01;
    c->wd = 0.05;
    c->batch = 64;
    c->threads = 2;
    c->seed = seed;
    if (o->quick) {
        c->d_model = 8; c->d_state = 16; c->n_layers = 1;
        c->n_train = 512; c->n_val = 64; c->n_test = 128;
        c->epochs = 3; c->warmup = 0;
    } else {
        c->d_model = 64; c->d_state = 64; c->n_layers = 4;
        c->n_train = 0; c->n_val = 0; c->n_test = 0; /* 55000 / 5000 / 10000 */
        c->epochs = SSM_MEDIUM_EPOCHS; c->warmup = 200;
    }
    c->ckpt_every = (c->n_train ? c->n_train : 55000) / c->batch; /* one epoch */
}

static size_t medium_n_seeds(const ssm_experiment_opts *o) { return o->seeds ? o->seeds : 3; }

const char *ssm_experiment_medium_prefix(const ssm_experiment_opts *o)
{
    return o->quick ? "robustness-medium-quick" : "robustness-medium";
}

/* An existing shared init must be the one this run builds: method ptd, N, ε 0.05, the blocks (metadata) */
static ssm_status check_shared_init(const char *path, int s5, size_t N)
{
    ssm_init_file *f = NULL;
    ssm_status s = ssm_init_file_read(&f, path);
    if (s != SSM_OK)
        return SSM_ERROR(s, "robustness --medium: the shared init %s: %s", path, ssm_error_message());
    const char *meth = ssm_st_meta(f->st, "method"), *eps = ssm_st_meta(f->st, "eps"),
               *blk = ssm_st_meta(f->st, "blocks");
    const char *bad = !meth || strcmp(meth, "ptd") != 0 ? "method"
                    : f->N != N ? "N"
                    : !eps || strtod(eps, NULL) != 0.05 ? "eps"
                    : (s5 ? !blk || strcmp(blk, "2") != 0 : blk && strcmp(blk, "1") != 0) ? "blocks" : NULL;
    if (bad)
        s = SSM_ERROR(SSM_EINVAL, "robustness --medium: %s is not this run's shared init (its %s differs: method %s, "
                      "N %zu, eps %s, blocks %s; want ptd, %zu, 0.05, %d); move it away", path, bad, meth ? meth : "?",
                      f->N, eps ? eps : "?", blk ? blk : "1", N, s5 ? 2 : 1);
    ssm_init_file_free(f);
    return s;
}

/* DIR/PREFIX.{ptd,s5-ptd}.safetensors: built when absent (atomic write), else checked */
static ssm_status shared_init(char *path, size_t cap, const ssm_experiment_opts *o, int s5, size_t N)
{
    ssm_status s = ssm_experiment_path(path, cap, o->out_dir, "%s.%s.safetensors", ssm_experiment_medium_prefix(o),
                                       s5 ? "s5-ptd" : "ptd");
    if (s != SSM_OK)
        return s;
    if (access(path, F_OK) == 0)
        return check_shared_init(path, s5, N);
    ssm_init_opts io = ssm_init_opts_default();
    io.N = N;
    io.eps = 0.05;
    io.blocks = s5 ? 2 : 1;
    ssm_st *st = NULL;
    s = ssm_init_build(&st, SSM_INIT_PTD, &io);
    if (s == SSM_OK)
        s = ssm_st_write(st, path);
    ssm_st_free(st);
    return s;
}

/* the k largest distinct |Im λ| of an init (method name or file), descending; w[0] its top mode */
static ssm_status top_modes(double *w, size_t k, const char *init, size_t N)
{
    ssm_init_file *f = NULL;
    ssm_status s;
    ssm_init_method meth;
    if (access(init, F_OK) == 0)
        s = ssm_init_file_read(&f, init);
    else if ((s = ssm_init_method_lookup(&meth, init)) == SSM_OK) {
        ssm_init_opts io = ssm_init_opts_default();
        io.N = N;
        ssm_st *st = NULL;
        s = ssm_init_build(&st, meth, &io);
        if (s == SSM_OK)
            s = ssm_init_file_take(&f, st);
    }
    if (s != SSM_OK)
        return s;
    for (size_t j = 0; j < k; j++) {
        double best = 0.0;
        for (size_t i = 0; i < f->M; i++) {
            double v = fabs(cimag(f->lambda[i]));
            if (v > best && (j == 0 || v < w[j - 1] * (1 - 1e-9)))
                best = v;
        }
        w[j] = best;
    }
    ssm_init_file_free(f);
    return SSM_OK;
}

static const char *base_name(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

/* A resumed job must continue the run this job describes: the stored config must be the job's.  A shared
 * init is a path under --out (D, D/, ./D and /abs/D name the same file): its file name is compared. */
static ssm_status same_run(ssm_train_config *stored, void *ctx)
{
    const ssm_train_config *w = ctx;
    int shared = strchr(w->init, '/') != NULL;
    const char *diff = strcmp(shared ? base_name(stored->init) : stored->init, shared ? base_name(w->init) : w->init)
                     ? "init" : stored->seed != w->seed ? "seed" : stored->lr_ssm != w->lr_ssm ? "lr_ssm"
                     : stored->d_model != w->d_model ? "d_model" : stored->n_layers != w->n_layers ? "n_layers"
                     : stored->d_state != w->d_state ? "d_state" : stored->epochs != w->epochs ? "epochs"
                     : stored->task != w->task ? "task" : stored->s4_dense != w->s4_dense ? "s4_dense" : NULL;
    if (diff)
        return SSM_ERROR(SSM_EINVAL, "robustness --medium: the run folder holds a different run (its %s differs; "
                                     "stored: init %s, seed %llu); move it away or remove it", diff, stored->init,
                         (unsigned long long)stored->seed);
    return SSM_OK;
}

typedef struct {
    ssm_train_state st;
    double w_star, w_own[NPOLE];
    unsigned long seed;
    int row;
    double head[NHEAD], head_loss[NHEAD];
    double sweep[NSWEEP][4]; /* omega amp acc loss */
    double eval_head_s, eval_sweep_s;
} job_result;

static ssm_status evaluate_job(job_result *R, int quiet)
{
    const double om[NHEAD] = {0, R->w_star, R->w_star, R->w_own[0], R->w_own[0]};
    const double amp[NHEAD] = {0, 0.1, 0.3, 0.1, 0.3};
    ssm_progress *bar = NULL;
    ssm_status s = ssm_progress_create(&bar, "eval", NHEAD + NSWEEP, !quiet);
    double t0 = now_s();
    for (int i = 0; s == SSM_OK && i < NHEAD; i++) {
        ssm_train_noise nz = {.omega = om[i], .amp = amp[i], .seed = R->seed + 1};
        s = ssm_train_evaluate(&R->head_loss[i], &R->head[i], &R->st, &R->st.data.test, 2, 0, i ? &nz : NULL);
        ssm_progress_update(bar, (uint64_t)i + 1);
    }
    double t1 = now_s();
    size_t n = R->st.data.test.n < SWEEP_N ? R->st.data.test.n : SWEEP_N;
    for (int i = 0; s == SSM_OK && i < NSWEEP; i++) {
        double w = i == 0 ? 0.0
                 : i <= NLOG ? 10.0 * pow(1e3, (double)(i - 1) / (NLOG - 1))
                 : i <= NLOG + NPOLE ? R->w_own[i - 1 - NLOG]
                 : R->w_star * NEAR[i - 1 - NLOG - NPOLE];
        ssm_train_noise nz = {.omega = w, .amp = i ? 0.1 : 0.0, .seed = R->seed + 1};
        R->sweep[i][0] = w;
        R->sweep[i][1] = nz.amp;
        s = ssm_train_evaluate(&R->sweep[i][3], &R->sweep[i][2], &R->st, &R->st.data.test, 2, n, i ? &nz : NULL);
        ssm_progress_update(bar, (uint64_t)(NHEAD + i) + 1);
    }
    ssm_progress_free(bar);
    R->eval_head_s = t1 - t0;
    R->eval_sweep_s = now_s() - t1;
    return s;
}

static ssm_status write_job_part(const char *path, const job_result *R, const ssm_train_config *c)
{
    size_t nep = R->st.n_rows;
    ssm_dmat_t P;
    ssm_status s = ssm_dmat_init(P, 1 + NSWEEP + nep, PART_COLS);
    if (s != SSM_OK)
        return s;
    double sum[PART_COLS] = {0, R->row, (double)R->seed, R->head[0], R->head[1], R->head[2], R->head[3],
                             R->head[4], R->w_star, R->w_own[0], nep ? R->st.rows[nep - 1].val_acc : NAN,
                             c->lr_ssm};
    memcpy(&SSM_D(P, 0, 0), sum, sizeof sum);
    size_t n = R->st.data.test.n < SWEEP_N ? R->st.data.test.n : SWEEP_N;
    for (int i = 0; i < NSWEEP; i++) {
        double r[7] = {1, R->row, (double)R->seed, R->sweep[i][0], R->sweep[i][1], R->sweep[i][2], R->sweep[i][3]};
        memcpy(&SSM_D(P, 1 + i, 0), r, sizeof r);
        SSM_D(P, 1 + i, 7) = (double)n;
    }
    for (size_t e = 0; e < nep; e++) {
        const ssm_train_epoch_row *x = &R->st.rows[e];
        double r[9] = {2, R->row, (double)R->seed, x->epoch, x->step, x->train_loss, x->train_acc, x->val_loss,
                       x->val_acc};
        memcpy(&SSM_D(P, 1 + NSWEEP + e, 0), r, sizeof r);
    }
    char head[1200];
    snprintf(head, sizeof head, "ssmkit experiment robustness --medium: row %d %s (init %s, lr_ssm %g), seed %lu; "
             "sfmnist, d_model %zu, layers %zu, d_state %zu, %zu epochs, test %zu images (sweep: first %zu)\n"
             "kind 0 = summary (c0..c10: row seed clean star_01 star_03 own_01 own_03 omega_star omega_own "
             "final_val_acc lr_ssm), 1 = sweep point (c0..c6: row seed omega amp acc loss n_images; omega 0 = clean), "
             "2 = epoch (c0..c7: row seed epoch step train_loss train_acc val_loss val_acc); unused columns 0",
             R->row, ROWS[R->row].label, ROWS[R->row].init, c->lr_ssm, R->seed, c->d_model, c->n_layers, c->d_state,
             c->epochs, R->st.data.test.n, n);
    s = ssm_tsv_write_dmat(path, NULL, "kind c0 c1 c2 c3 c4 c5 c6 c7 c8 c9 c10", head, P);
    ssm_dmat_clear(P);
    return s;
}

static ssm_status write_job_time(const ssm_experiment_opts *o, long k, const job_result *R)
{
    char path[1100], head[300];
    ssm_status s = ssm_experiment_path(path, sizeof path, o->out_dir, "%s.time-%ld.tsv", ssm_experiment_medium_prefix(o),
                                       k);
    if (s != SSM_OK)
        return s;
    snprintf(head, sizeof head, "ssmkit experiment robustness --medium: job %ld wall seconds (train_s: the run's training "
             "time, kept across resumes, without the work lost to a kill; samples_per_s: the last epoch's)", k);
    size_t nep = R->st.n_rows;
    ssm_dmat_t T;
    s = ssm_dmat_init(T, 1, 5);
    if (s != SSM_OK)
        return s;
    double r[5] = {R->st.elapsed_s, nep ? R->st.rows[nep - 1].time_s : NAN,
                   nep ? R->st.rows[nep - 1].samples_per_s : NAN, R->eval_head_s, R->eval_sweep_s};
    memcpy(&SSM_D(T, 0, 0), r, sizeof r);
    s = ssm_tsv_write_dmat(path, NULL, "train_s last_epoch_s samples_per_s eval_head_s eval_sweep_s", head, T);
    ssm_dmat_clear(T);
    return s;
}

static ssm_status medium_job(const ssm_experiment_opts *o, long k)
{
    int row = (int)(k % NROW);
    unsigned long seed = o->seed + (unsigned long)(k / NROW);
    const char *pre = ssm_experiment_medium_prefix(o);
    char part[1100], run_dir[1100], init[sizeof ((ssm_train_config *)0)->init], ckpt[1100];
    ssm_status s = ssm_experiment_path(part, sizeof part, o->out_dir, "%s.part-%ld.tsv", pre, k);
    if (s == SSM_OK) s = ssm_experiment_path(run_dir, sizeof run_dir, o->out_dir, "%s.run-%ld", pre, k);
    if (s == SSM_OK) s = ssm_experiment_path(ckpt, sizeof ckpt, run_dir, "ckpt.bin");
    if (s != SSM_OK)
        return s;
    if (access(part, F_OK) == 0) { /* said even with -q (the --jobs lines carry it): a skipped job is news */
        fprintf(stderr, "ssmkit: robustness --medium: job %ld: %s exists, nothing to do\n", k, part);
        return SSM_OK;
    }
    size_t N = o->quick ? 16 : 64;
    snprintf(init, sizeof init, "%s", ROWS[row].init);
    if (strcmp(ROWS[row].init, "ptd") == 0 || strcmp(ROWS[row].init, "s5-ptd") == 0)
        s = shared_init(init, sizeof init, o, ROWS[row].init[1] == '5', N);
    job_result *R = calloc(1, sizeof *R);
    if (!R)
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    R->row = row;
    R->seed = seed;
    ssm_train_config c;
    medium_config(&c, o, row, seed, init);
    if (s == SSM_OK) s = top_modes(&R->w_star, 1, "s4d-legs", N);
    if (s == SSM_OK) s = top_modes(R->w_own, NPOLE, init, N);
    ssm_train_run_opts ro = {.ckpt_dir = run_dir, .quiet = o->quiet, .resume = access(ckpt, F_OK) == 0,
                             .on_resume = same_run, .resume_ctx = &c};
    if (s == SSM_OK && ro.resume && !o->quiet)
        printf("robustness --medium: job %ld: resuming %s\n", k, run_dir);
    if (s == SSM_OK) s = ssm_train_run(&R->st, &c, &ro);
    if (s == SSM_OK) s = evaluate_job(R, o->quiet);
    if (s == SSM_OK) s = write_job_time(o, k, R);
    if (s == SSM_OK) s = write_job_part(part, R, &c);
    if (s == SSM_OK && !o->quiet)
        printf("robustness --medium: job %ld %-20s seed %lu: clean %.4f, omega* %.1f: %.4f/%.4f, own %.1f: %.4f/%.4f "
               "(amp 0.1/0.3); train %.0f s, eval %.0f + %.0f s\n", k, ROWS[row].label, seed, R->head[0], R->w_star,
               R->head[1], R->head[2], R->w_own[0], R->head[3], R->head[4], R->st.elapsed_s, R->eval_head_s,
               R->eval_sweep_s);
    ssm_train_state_clear(&R->st);
    free(R);
    return s;
}

/* ---- merge --------------------------------------------------------------------------------------- */

ssm_status ssm_experiment_t_ci(double *mean, double *half, const double *x, size_t n)
{
    if (n == 0)
        return SSM_ERROR(SSM_EINVAL, "a confidence interval needs at least one value");
    double m = 0.0, q = 0.0;
    for (size_t i = 0; i < n; i++)
        m += x[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++)
        q += (x[i] - m) * (x[i] - m);
    *mean = m;
    *half = n < 2 ? NAN : gsl_cdf_tdist_Pinv(0.975, (double)(n - 1)) * sqrt(q / (double)(n - 1)) / sqrt((double)n);
    return SSM_OK;
}

typedef struct {
    size_t n_seeds;
    double head[NROW][16][NHEAD];            /* [row][seed][metric] */
    double sweep[NROW][16][NSWEEP][3];       /* omega amp acc */
    double w_star, w_own[NROW];
} merged;

static ssm_status read_medium_part(merged *M, const ssm_experiment_opts *o, long k)
{
    char path[1100];
    ssm_status s = ssm_experiment_path(path, sizeof path, o->out_dir, "%s.part-%ld.tsv", ssm_experiment_medium_prefix(o),
                                       k);
    if (s != SSM_OK)
        return s;
    if (access(path, R_OK) != 0)
        return SSM_ERROR(SSM_EIO, "robustness --medium --merge: %s is missing (run its --job first)", path);
    ssm_dmat_t T;
    s = ssm_tsv_read(T, path);
    if (s != SSM_OK)
        return SSM_ERROR(s, "robustness --medium --merge: %s", ssm_error_message());
    int row = (int)(k % NROW);
    size_t si = (size_t)(k / NROW), ns = 0, nh = 0;
    double seed = (double)(o->seed + si);
    for (size_t r = 0; s == SSM_OK && r < T->rows; r++) {
        double kind = SSM_D(T, r, 0);
        int ok = T->cols == PART_COLS && (kind == 0 || kind == 1 || kind == 2) && SSM_D(T, r, 1) == row &&
                 SSM_D(T, r, 2) == seed;
        if (!ok) {
            s = SSM_ERROR(SSM_EFORMAT, "robustness --medium --merge: %s: row %zu is not a row of job %ld (row %d, "
                          "seed %.0f, %d columns)", path, r + 1, k, row, seed, PART_COLS);
        } else if (kind == 0 && nh++ == 0) {
            for (int m = 0; m < NHEAD; m++)
                M->head[row][si][m] = SSM_D(T, r, 3 + m);
            M->w_star = SSM_D(T, r, 8);
            M->w_own[row] = SSM_D(T, r, 9);
        } else if (kind == 1 && ns++ < NSWEEP) {
            for (int j = 0; j < 3; j++)
                M->sweep[row][si][ns - 1][j] = SSM_D(T, r, 3 + j);
        }
    }
    if (s == SSM_OK && (nh != 1 || ns != NSWEEP))
        s = SSM_ERROR(SSM_EFORMAT, "robustness --medium --merge: %s has %zu summary and %zu sweep rows, expected 1 and "
                      "%d", path, nh, ns, NSWEEP);
    ssm_dmat_clear(T);
    return s;
}

/* mean and CI of x[row][*][m] (or of the paired difference against row 0 when paired) */
static void stat_of(double *mean, double *half, const merged *M, int row, int m, int paired)
{
    double x[16];
    for (size_t i = 0; i < M->n_seeds; i++)
        x[i] = M->head[row][i][m] - (paired ? M->head[0][i][m] : 0.0);
    if (ssm_experiment_t_ci(mean, half, x, M->n_seeds) != SSM_OK)
        *mean = *half = NAN;
}

static ssm_status write_medium_summary(const merged *M, const ssm_experiment_opts *o, const char *head)
{
    char path[1100], cols[2000] = "row label lr_ssm n_seeds omega_star omega_own";
    ssm_status s = ssm_experiment_path(path, sizeof path, o->out_dir, "%s.tsv", ssm_experiment_medium_prefix(o));
    if (s != SSM_OK)
        return s;
    for (int m = 0; m < NHEAD; m++) {
        size_t L = strlen(cols);
        snprintf(cols + L, sizeof cols - L, " %s_mean %s_ci %s_diff %s_diff_ci", HEAD_KEYS[m], HEAD_KEYS[m],
                 HEAD_KEYS[m], HEAD_KEYS[m]);
    }
    ssm_atomic *a;
    FILE *fp;
    s = ssm_atomic_open(&a, &fp, path);
    if (s == SSM_OK) s = ssm_tsv_write_head(fp, cols, 6 + 4 * NHEAD, head);
    if (s == SSM_OK)
        fprintf(fp, "# accuracies on the test split; *_ci: half-width of the 95%% t interval over the seeds "
                    "(t_{0.975, n-1} sd/sqrt(n)); *_diff: paired difference against s4d-legs-frozen, same seed\n");
    for (int r = 0; s == SSM_OK && r < NROW; r++) {
        fprintf(fp, "%d\t%s\t%g\t%zu\t", r, ROWS[r].key, ROWS[r].lr_ssm, M->n_seeds);
        ssm_tsv_print_double(fp, M->w_star, '\t');
        ssm_tsv_print_double(fp, M->w_own[r], '\t');
        for (int m = 0; m < NHEAD; m++) {
            double v[4];
            stat_of(&v[0], &v[1], M, r, m, 0);
            stat_of(&v[2], &v[3], M, r, m, 1);
            for (int j = 0; j < 4; j++)
                ssm_tsv_print_double(fp, v[j], m == NHEAD - 1 && j == 3 ? '\n' : '\t');
        }
    }
    return ssm_atomic_close(a, fp, s);
}

/* one block per row (gnuplot index r), points sorted by ω: omega amp acc_mean acc_ci; the first row of a
 * block is the clean accuracy on the sweep subset (ω = 0) */
static ssm_status write_medium_sweep(const merged *M, const ssm_experiment_opts *o, const char *head)
{
    char path[1100];
    ssm_status s = ssm_experiment_path(path, sizeof path, o->out_dir, "%s-sweep.tsv", ssm_experiment_medium_prefix(o));
    if (s != SSM_OK)
        return s;
    ssm_atomic *a;
    FILE *fp;
    s = ssm_atomic_open(&a, &fp, path);
    if (s == SSM_OK) s = ssm_tsv_write_head(fp, "row omega amp acc_mean acc_ci", 5, head);
    for (int r = 0; s == SSM_OK && r < NROW; r++) {
        fprintf(fp, "%s# [index %d] %s: omega sweep at amplitude 0.1 (first row: clean)\n", r ? "\n\n" : "", r,
                ROWS[r].label);
        int idx[NSWEEP];
        for (int i = 0; i < NSWEEP; i++)
            idx[i] = i;
        for (int x = 2; x < NSWEEP; x++) /* insertion sort by ω (seed 0's; the same init for every seed) */
            for (int y = x; y > 1 && M->sweep[r][0][idx[y - 1]][0] > M->sweep[r][0][idx[y]][0]; y--) {
                int t = idx[y]; idx[y] = idx[y - 1]; idx[y - 1] = t;
            }
        for (int i = 0; i < NSWEEP; i++) {
            double x[16], mean, half;
            for (size_t j = 0; j < M->n_seeds; j++)
                x[j] = M->sweep[r][j][idx[i]][2];
            if (ssm_experiment_t_ci(&mean, &half, x, M->n_seeds) != SSM_OK)
                mean = half = NAN;
            fprintf(fp, "%s\t", ROWS[r].key);
            ssm_tsv_print_double(fp, M->sweep[r][0][idx[i]][0], '\t');
            ssm_tsv_print_double(fp, M->sweep[r][0][idx[i]][1], '\t');
            ssm_tsv_print_double(fp, mean, '\t');
            ssm_tsv_print_double(fp, half, '\n');
        }
    }
    return ssm_atomic_close(a, fp, s);
}

static json_t *jval(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static ssm_status write_medium_json(const merged *M, const ssm_experiment_opts *o)
{
    ssm_train_config c;
    medium_config(&c, o, 0, o->seed, "s4d-legs");
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "experiment",
                          "robustness-medium", "ssmkit_version", SSM_VERSION, "task", "sfmnist", "size",
                          o->quick ? "quick" : "medium", "d_model", (json_int_t)c.d_model, "n_layers",
                          (json_int_t)c.n_layers, "d_state", (json_int_t)c.d_state, "epochs", (json_int_t)c.epochs,
                          "n_seeds", (json_int_t)M->n_seeds, "seed", (json_int_t)o->seed, "sweep_n_test",
                          (json_int_t)SWEEP_N, "omega_star", jval(M->w_star));
    json_t *arr = json_array();
    for (int r = 0; r < NROW; r++) {
        json_t *row = json_pack("{s:s, s:s, s:s, s:f, s:o}", "key", ROWS[r].key, "label", ROWS[r].label, "init",
                                ROWS[r].init, "lr_ssm", ROWS[r].lr_ssm, "omega_own", jval(M->w_own[r]));
        for (int m = 0; m < NHEAD; m++) {
            double v[4];
            stat_of(&v[0], &v[1], M, r, m, 0);
            stat_of(&v[2], &v[3], M, r, m, 1);
            json_t *per = json_array();
            for (size_t i = 0; i < M->n_seeds; i++)
                json_array_append_new(per, jval(M->head[r][i][m]));
            json_object_set_new(row, HEAD_KEYS[m], json_pack("{s:o, s:o, s:o, s:o, s:o}", "mean", jval(v[0]), "ci95",
                                                             jval(v[1]), "diff_mean", jval(v[2]), "diff_ci95", jval(v[3]),
                                                             "per_seed", per));
        }
        json_array_append_new(arr, row);
    }
    json_object_set_new(j, "rows", arr);
    char path[1100];
    ssm_status s = ssm_experiment_path(path, sizeof path, o->out_dir, "%s.json", ssm_experiment_medium_prefix(o));
    if (s == SSM_OK)
        s = exp_write_json(path, j);
    json_decref(j);
    return s;
}

static ssm_status medium_merge(const ssm_experiment_opts *o)
{
    merged *M = calloc(1, sizeof *M);
    if (!M)
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    M->n_seeds = medium_n_seeds(o);
    ssm_status s = SSM_OK;
    for (long k = 0; s == SSM_OK && k < (long)(NROW * M->n_seeds); k++)
        s = read_medium_part(M, o, k);
    ssm_train_config c;
    medium_config(&c, o, 0, o->seed, "s4d-legs");
    char head[800];
    snprintf(head, sizeof head, "ssmkit %s experiment robustness --medium%s: sfmnist, d_model %zu, layers %zu, "
             "d_state %zu, %zu epochs, seeds %lu..%lu; Fourier-mode noise on the SSM input of every layer "
             "(doc/reference.md section 6); omega_star %.6g (top |Im lambda| of S4D-LegS)", SSM_VERSION,
             o->quick ? " --quick (a smoke test)" : "", c.d_model, c.n_layers, c.d_state, c.epochs, o->seed,
             o->seed + M->n_seeds - 1, M->w_star);
    if (s == SSM_OK) s = write_medium_summary(M, o, head);
    if (s == SSM_OK) s = write_medium_sweep(M, o, head);
    if (s == SSM_OK) s = write_medium_json(M, o);
    if (s == SSM_OK && !o->quiet) {
        printf("robustness --medium (%zu seeds; mean +- 95%% t CI; diff: paired vs S4D-LegS frozen):\n%-20s %17s %17s "
               "%17s %17s %17s\n", M->n_seeds, "row", "clean", "omega* 0.1", "omega* 0.3", "own 0.3", "diff omega* 0.3");
        for (int r = 0; r < NROW; r++) {   /* the amplitude-0.3 columns carry the result; the files have all ten */
            double v[10];
            stat_of(&v[0], &v[1], M, r, 0, 0);
            stat_of(&v[2], &v[3], M, r, 1, 0);
            stat_of(&v[4], &v[5], M, r, 2, 0);
            stat_of(&v[6], &v[7], M, r, 4, 0);
            stat_of(&v[8], &v[9], M, r, 2, 1);
            printf("%-20s %8.4f +- %.4f %8.4f +- %.4f %8.4f +- %.4f %8.4f +- %.4f %+8.4f +- %.4f\n", ROWS[r].label,
                   v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
        }
    }
    free(M);
    return s;
}

ssm_status ssm_experiment_robustness_medium(const ssm_experiment_opts *o)
{
    size_t ns = medium_n_seeds(o);
    if (ns < 2 || ns > 16)
        return SSM_ERROR(SSM_EINVAL, "robustness --medium: --seeds must be in [2, 16] (a confidence interval needs 2)");
    long njobs = (long)(NROW * ns);
    if (o->jobs) {
        for (long k = 0; k < njobs; k++)
            printf("ssmkit experiment robustness --medium%s --seeds %zu --seed %lu --job %ld --out %s -q\n",
                   o->quick ? " --quick" : "", ns, o->seed, k, o->out_dir);
        printf("# then: ssmkit experiment robustness --medium%s --seeds %zu --seed %lu --merge --out %s\n",
               o->quick ? " --quick" : "", ns, o->seed, o->out_dir);
        return SSM_OK;
    }
    if (o->merge)
        return medium_merge(o);
    if (o->job >= 0) {
        if (o->job >= njobs)
            return SSM_ERROR(SSM_EINVAL, "robustness --medium: --job must be in [0, %ld] (8 rows x %zu seeds)",
                             njobs - 1, ns);
        return medium_job(o, o->job);
    }
    for (long k = 0; k < njobs; k++) {
        ssm_status s = medium_job(o, k);
        if (s != SSM_OK)
            return s;
    }
    return medium_merge(o);
}
