/* experiments/robustness.c — does the initialisation make a trained model robust to Fourier-mode noise?
 * (doc/reference.md §6, the PTD paper's robustness test, on sequential Fashion-MNIST.)
 *
 * One job per init: S4D-LegS, S4D-Lin, S4-PTD (ε = --eps, default 0.05) and the DPLR-equivalent S4 init
 * (the dense real system V(Λ − P̃P̃*)V*), each trained under the PTD protocol (Λ, B, Δ frozen; C, D and the
 * rest trained), then evaluated on the test split clean, with noise at ω* = max|Im λ| of the LegS
 * diagonalisation for the d_state in use (≈ N²/π, the top spike of |G_DPLR − G_Diag|) and amplitude 0.1,
 * over a log sweep of ω at amplitude 0.1 (plus 0.9, 0.95, 1.05, 1.1 × ω*), over the amplitudes
 * {0.01, 0.03, 0.1, 0.3} at ω*, and at each init's own top mode (its largest |Im λ|) at amplitude 0.1.
 *
 * Default size (11 min measured on the 2 shared cores, load 8–10): d_model 32, 2 layers, d_state 64, 4000 training images
 * × 4 epochs, 500 validation, 1000 test images.  --full: the paper's model (d_model 128, 4 layers,
 * d_state 64) on the full 55000/5000/10000 split for 10 epochs (hours on a CPU).  --quick: d_model 8,
 * d_state 16, 1 layer, 256 training images × 1 epoch, 128 test images (seconds: checks the pipeline, not
 * the claim).
 *
 * Files: robustness.part-K.tsv (one per job: 3 datasets — summary row, sweep rows, curve rows);
 * robustness.tsv (index 0 summary; 1–4 ω sweeps; 5–8 amplitude sweeps), robustness-curves.tsv (index
 * 0–3), robustness.json; figures from plots/robustness.gp. */
#define _POSIX_C_SOURCE 200809L
#include "experiments/common.h"
#include "experiments/experiments.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NINIT 4
static const char *const INITS[NINIT] = {"s4d-legs", "s4d-lin", "ptd", "s4-dplr"};
static const char *const LABELS[NINIT] = {"S4D-LegS", "S4D-Lin", "S4-PTD", "S4 (DPLR-equivalent)"};
static const double AMPS[4] = {0.01, 0.03, 0.1, 0.3};
#define NLOG 9   /* ω = 10 … 1e4, log-spaced */
static const double NEAR[4] = {0.9, 0.95, 1.05, 1.1}; /* ω/ω* around the spike */
#define NSWEEP (NLOG + 4)

static void config_for(ssm_train_config *c, const ssm_experiment_opts *o, int k)
{
    ssm_train_config_default(c);
    c->task = SSM_TASK_SFMNIST;
    snprintf(c->init, sizeof c->init, "%s", INITS[k]);
    c->init_eps = o->eps > 0 ? o->eps : 0.05;
    c->d_state = 64;
    c->dropout = 0.1;
    c->lr = 0.01;
    c->wd = 0.05;
    c->lr_ssm = 0.0; /* the PTD protocol */
    c->s4_dense = 1; /* s4-dplr: the dense ZOH path its published numbers come from */
    c->batch = 64;
    c->threads = 2;
    c->seed = o->seed;
    if (o->quick) { /* seconds: the pipeline end to end, not a result */
        c->d_model = 8;
        c->d_state = 16;
        c->n_layers = 1;
        c->n_train = 256;
        c->n_val = 64;
        c->n_test = 128;
        c->epochs = 1;
        c->warmup = 0;
    } else if (o->full) {
        c->d_model = 128;
        c->n_layers = 4;
        c->epochs = 10;
        c->warmup = 500;
    } else {
        c->d_model = 32;
        c->n_layers = 2;
        c->n_train = 4000;
        c->n_val = 500;
        c->n_test = 1000;
        c->epochs = 4;
        c->warmup = 20;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ω*: the largest |Im λ| of the S4D-LegS diagonalisation at this state size */
static ssm_status omega_star(double *w, size_t N)
{
    ssm_st *st = NULL;
    ssm_init_file *f = NULL;
    ssm_init_opts io = ssm_init_opts_default();
    io.N = N;
    ssm_status s = ssm_init_build(&st, SSM_INIT_S4D_LEGS, &io);
    if (s == SSM_OK)
        s = ssm_init_file_take(&f, st);
    if (s != SSM_OK)
        return s;
    *w = 0.0;
    for (size_t i = 0; i < f->M; i++)
        *w = fmax(*w, fabs(cimag(f->lambda[i])));
    ssm_init_file_free(f);
    return SSM_OK;
}

/* the three tables of a job as one part table: kind, then the row padded with zeros to 10 columns */
static ssm_status write_part(const char *path, const char *head, const ssm_dmat_t S, const ssm_dmat_t W,
                             const ssm_dmat_t C)
{
    const ssm_dmat_struct *T[3] = {S, W, C};
    ssm_dmat_t P;
    ssm_status s = ssm_dmat_init(P, S->rows + W->rows + C->rows, 11);
    size_t r = 0;
    for (int kind = 0; s == SSM_OK && kind < 3; kind++)
        for (size_t i = 0; i < T[kind]->rows; i++, r++) {
            SSM_D(P, r, 0) = kind;
            for (size_t j = 0; j < T[kind]->cols; j++)
                SSM_D(P, r, 1 + j) = SSM_D(T[kind], i, j);
        }
    if (s == SSM_OK)
        s = ssm_tsv_write_dmat(path, NULL, "kind c0 c1 c2 c3 c4 c5 c6 c7 c8 c9", head, P);
    ssm_dmat_clear(P);
    return s;
}

static ssm_status run_job(const ssm_experiment_opts *o, int k)
{
    ssm_train_config c;
    config_for(&c, o, k);
    double ws;
    ssm_status s = omega_star(&ws, c.d_state);
    if (s != SSM_OK)
        return s;
    ssm_train_run_opts ro = {.quiet = o->quiet};
    ssm_train_state st;
    double t0 = now_s();
    s = ssm_train_run(&st, &c, &ro);
    double train_s = now_s() - t0;
    const size_t nrows = 1 + NSWEEP + 4 + 1;
    /* the model's own top mode: the largest |Im λ| it uses (the dense DPLR system has real eigenvalues,
     * so it gets ω*) */
    double wown = ws;
    if (s == SSM_OK && !st.model->dense) {
        wown = 0.0;
        for (size_t i = 0; i < st.model->H * st.model->M; i++)
            wown = fmax(wown, fabs((double)st.model->params[st.model->layer[0].lam + 2 * i + 1]));
    }
    double noisy_own = NAN;
    ssm_dmat_t S, W, C;
    memset(S, 0, sizeof S); memset(W, 0, sizeof W); memset(C, 0, sizeof C);
    if (s == SSM_OK) s = ssm_dmat_init(S, 1, 10);
    if (s == SSM_OK) s = ssm_dmat_init(W, nrows, 5);
    if (s == SSM_OK) s = ssm_dmat_init(C, st.n_rows, 7);
    double clean_loss = NAN, clean = NAN, noisy = NAN;
    if (s == SSM_OK)
        s = ssm_train_evaluate(&clean_loss, &clean, &st, &st.data.test, 2, 0, NULL);
    ssm_progress *bar = NULL;
    if (s == SSM_OK)
        s = ssm_progress_create(&bar, INITS[k], nrows, !o->quiet);
    for (size_t r = 0; s == SSM_OK && r < nrows; r++) {
        /* row 0: ω*, amp 0.1 (the protocol's point); 1..NLOG: log ω sweep at 0.1; then ω*·NEAR at 0.1;
         * then the amplitudes at ω*; last: the model's own top mode at 0.1 */
        ssm_train_noise nz = {.seed = o->seed + 1, .amp = 0.1};
        if (r == 0) nz.omega = ws;
        else if (r <= NLOG) nz.omega = 10.0 * pow(1e3, (double)(r - 1) / (NLOG - 1));
        else if (r <= NSWEEP) nz.omega = ws * NEAR[r - 1 - NLOG];
        else if (r < nrows - 1) { nz.omega = ws; nz.amp = AMPS[r - 1 - NSWEEP]; }
        else nz.omega = wown;
        double loss, acc;
        s = ssm_train_evaluate(&loss, &acc, &st, &st.data.test, 2, 0, &nz);
        double row[5] = {(double)k, nz.omega, nz.amp, acc, loss};
        memcpy(&SSM_D(W, r, 0), row, sizeof row);
        if (r == 0)
            noisy = acc;
        if (r == nrows - 1)
            noisy_own = acc;
        ssm_progress_update(bar, r + 1);
    }
    ssm_progress_free(bar);
    if (s == SSM_OK) {
        double row[10] = {(double)k, clean, noisy, ws, c.init_eps, train_s,
                          st.n_rows ? st.rows[st.n_rows - 1].val_acc : NAN,
                          st.n_rows ? st.rows[st.n_rows - 1].samples_per_s : NAN, wown, noisy_own};
        memcpy(&SSM_D(S, 0, 0), row, sizeof row);
        for (size_t i = 0; i < st.n_rows; i++) {
            const ssm_train_epoch_row *e = &st.rows[i];
            double cr[7] = {(double)k, e->epoch, e->step, e->train_loss, e->train_acc, e->val_loss, e->val_acc};
            memcpy(&SSM_D(C, i, 0), cr, sizeof cr);
        }
        char path[1100], head[800];
        s = ssm_experiment_path(path, sizeof path, o->out_dir, "robustness.part-%d.tsv", k); /* fits: probed */
        snprintf(head, sizeof head, "ssmkit %s experiment robustness, job %d: %s (init %s, eps %g), sfmnist, d_model "
                 "%zu, layers %zu, d_state %zu, %zu train images x %zu epochs, PTD protocol (Lambda, B, Delta frozen)\n"
                 "part file (merge with --merge): kind 0 = summary (c0..c9: init clean_acc noisy_acc omega_star eps "
                 "train_s final_val_acc samples_per_s omega_own noisy_own_acc), 1 = noise row (c0..c4: init omega amp "
                 "acc loss), 2 = epoch row (c0..c6: init epoch step train_loss train_acc val_loss val_acc); unused "
                 "columns 0", SSM_VERSION, k, LABELS[k], INITS[k], c.init_eps, c.d_model, c.n_layers, c.d_state,
                 st.data.train.n, c.epochs);
        if (s == SSM_OK)
            s = write_part(path, head, S, W, C);
        if (s == SSM_OK && !o->quiet)
            printf("robustness: %-22s clean %.4f  noisy(omega*=%.1f, amp 0.1) %.4f  noisy(own top mode %.1f) %.4f  "
                   "(trained in %.0f s)\n", LABELS[k], clean, ws, noisy, wown, noisy_own, train_s);
        fflush(stdout);
    }
    ssm_dmat_clear(S); ssm_dmat_clear(W); ssm_dmat_clear(C);
    ssm_train_state_clear(&st);
    return s;
}

/* ---- merge --------------------------------------------------------------------------------------- */

/* A part file back into its three tables: out[0] the summary (1×10), out[1] the noise rows (×5), out[2]
 * the epoch rows (×7).  On failure nothing is left allocated. */
static ssm_status read_part(ssm_dmat_t out[3], const char *path)
{
    static const size_t COLS[3] = {10, 5, 7};
    for (int k = 0; k < 3; k++)
        memset(out[k], 0, sizeof out[k]);
    ssm_dmat_t T;
    if (access(path, R_OK) != 0)
        return SSM_ERROR(SSM_EIO, "robustness --merge: %s is missing (run its --job first)", path);
    ssm_status s = ssm_tsv_read(T, path);
    if (s != SSM_OK)
        return SSM_ERROR(s, "robustness --merge: %s", ssm_error_message());
    size_t n[3] = {0, 0, 0};
    for (size_t r = 0; s == SSM_OK && r < T->rows; r++) {
        double kind = SSM_D(T, r, 0);
        if (T->cols != 11 || !(kind == 0 || kind == 1 || kind == 2))
            s = SSM_ERROR(SSM_EFORMAT, "robustness --merge: %s: row %zu is not a part row (kind 0-2, 10 values)", path,
                          r + 1);
        else
            n[(int)kind]++;
    }
    if (s == SSM_OK && n[0] != 1)
        s = SSM_ERROR(SSM_EFORMAT, "robustness --merge: %s has %zu summary rows, expected 1", path, n[0]);
    for (int k = 0; s == SSM_OK && k < 3; k++)
        s = ssm_dmat_init(out[k], n[k], COLS[k]);
    size_t at[3] = {0, 0, 0};
    for (size_t r = 0; s == SSM_OK && r < T->rows; r++) {
        int k = (int)SSM_D(T, r, 0);
        memcpy(&SSM_D(out[k], at[k]++, 0), &SSM_D(T, r, 1), COLS[k] * sizeof(double));
    }
    ssm_dmat_clear(T);
    if (s != SSM_OK)
        for (int k = 0; k < 3; k++)
            ssm_dmat_clear(out[k]);
    return s;
}

/* DIR/robustness.tsv: one row per init */
static ssm_status write_summary(const char *dir, const char *head, ssm_dmat_t P[NINIT][3], size_t n_test,
                                unsigned long seed, const ssm_train_config *c)
{
    char path[1100];
    ssm_atomic *a;
    FILE *fp;
    ssm_status s = ssm_experiment_path(path, sizeof path, dir, "robustness.tsv");
    if (s == SSM_OK)
        s = ssm_atomic_open(&a, &fp, path);
    if (s == SSM_OK)
        s = ssm_tsv_write_head(fp, "init clean_acc noisy_acc omega_star eps train_s final_val_acc samples_per_s "
                                   "omega_own noisy_own_acc n_test seed d_model n_layers d_state n_train epochs", 17, head);
    if (s == SSM_OK)
        fprintf(fp, "# one row per init; noisy_acc: at omega_star, amplitude 0.1; omega_own: the init's largest "
                    "|Im lambda| (omega_star for the dense DPLR system), noisy_own_acc: at it, amplitude 0.1; train_s: "
                    "wall seconds of training; eps: the PTD budget\n");
    for (int k = 0; s == SSM_OK && k < NINIT; k++) {
        fprintf(fp, "%s\t", INITS[k]);
        for (size_t j = 1; j < 10; j++)
            ssm_tsv_print_double(fp, SSM_D(P[k][0], 0, j), '\t');
        fprintf(fp, "%zu\t%lu\t%zu\t%zu\t%zu\t%zu\t%zu\n", n_test, seed, c->d_model, c->n_layers, c->d_state,
                c->n_train ? c->n_train : (size_t)55000, c->epochs);
    }
    return ssm_atomic_close(a, fp, s);
}
/* DIR/robustness-noise.tsv: init, sweep (omega: the ω sweep at amplitude 0.1 with ω* and its neighbours,
 * sorted by ω; amp: the amplitudes at ω*), omega amp acc loss; one block per (sweep, init) */
static ssm_status write_noise(const char *dir, const char *head, ssm_dmat_t P[NINIT][3])
{
    char path[1100];
    ssm_atomic *a;
    FILE *fp;
    ssm_status s = ssm_experiment_path(path, sizeof path, dir, "robustness-noise.tsv");
    if (s == SSM_OK)
        s = ssm_atomic_open(&a, &fp, path);
    if (s == SSM_OK)
        s = ssm_tsv_write_head(fp, "init sweep omega amp acc loss", 6, head);
    for (int pass = 0; s == SSM_OK && pass < 2; pass++)
        for (int k = 0; k < NINIT; k++) {
            fprintf(fp, "%s# [index %d] %s, %s\n", pass || k ? "\n\n" : "", 4 * pass + k, INITS[k],
                    pass ? "amplitude sweep at omega_star" : "omega sweep at amplitude 0.1");
            const ssm_dmat_struct *W = P[k][1];
            size_t idx[32], n = 0;
            for (size_t r = 0; r < W->rows && n < 32; r++) {
                int sweep = r <= NSWEEP, amp = r > NSWEEP && r <= NSWEEP + 4;
                if ((pass == 0 && sweep) || (pass == 1 && amp))
                    idx[n++] = r;
            }
            for (size_t x = 1; x < n; x++) /* insertion sort by ω */
                for (size_t y = x; y > 0 && SSM_D(W, idx[y - 1], 1) > SSM_D(W, idx[y], 1); y--) {
                    size_t t = idx[y]; idx[y] = idx[y - 1]; idx[y - 1] = t;
                }
            for (size_t x = 0; x < n; x++) {
                fprintf(fp, "%s\t%s\t", INITS[k], pass ? "amp" : "omega");
                for (size_t j = 1; j < 5; j++)
                    ssm_tsv_print_double(fp, SSM_D(W, idx[x], j), j < 4 ? '\t' : '\n');
            }
        }
    return ssm_atomic_close(a, fp, s);
}

/* DIR/robustness-curves.tsv: the per-epoch training log of every init, one block per init */
static ssm_status write_curves(const char *dir, const char *head, ssm_dmat_t P[NINIT][3])
{
    char path[1100];
    ssm_atomic *a;
    FILE *fp;
    ssm_status s = ssm_experiment_path(path, sizeof path, dir, "robustness-curves.tsv");
    if (s == SSM_OK)
        s = ssm_atomic_open(&a, &fp, path);
    if (s == SSM_OK)
        s = ssm_tsv_write_head(fp, "init epoch step train_loss train_acc val_loss val_acc", 7, head);
    for (int k = 0; s == SSM_OK && k < NINIT; k++) {
        fprintf(fp, "%s# [index %d] %s: training curve\n", k ? "\n\n" : "", k, INITS[k]);
        for (size_t r = 0; r < P[k][2]->rows; r++) {
            fprintf(fp, "%s\t", INITS[k]);
            for (size_t j = 1; j < 7; j++)
                ssm_tsv_print_double(fp, SSM_D(P[k][2], r, j), j < 6 ? '\t' : '\n');
        }
    }
    return ssm_atomic_close(a, fp, s);
}

static json_t *jnum(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

/* DIR/robustness.json */
static ssm_status write_json(const char *dir, const ssm_train_config *c, ssm_dmat_t P[NINIT][3], size_t n_test,
                             const ssm_experiment_opts *o)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:I, s:I}", "experiment", "robustness",
                          "ssmkit_version", SSM_VERSION, "task", "sfmnist", "d_model", (json_int_t)c->d_model,
                          "n_layers", (json_int_t)c->n_layers, "d_state", (json_int_t)c->d_state, "size",
                          o->full ? "full" : o->quick ? "quick" : "default", "n_test", (json_int_t)n_test, "seed",
                          (json_int_t)o->seed);
    json_t *arr = json_array();
    for (int k = 0; k < NINIT; k++) {
        json_t *sw = json_array(), *am = json_array();
        const ssm_dmat_struct *W = P[k][1], *S = P[k][0];
        for (size_t r = 1; r < 1 + NSWEEP + 4 && r < W->rows; r++)
            json_array_append_new(r <= NSWEEP ? sw : am, json_pack("{s:o, s:o, s:o, s:o}", "omega",
                                                                   jnum(SSM_D(W, r, 1)), "amp", jnum(SSM_D(W, r, 2)),
                                                                   "acc", jnum(SSM_D(W, r, 3)), "loss",
                                                                   jnum(SSM_D(W, r, 4))));
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                                             "init", INITS[k], "label", LABELS[k], "clean_acc", jnum(SSM_D(S, 0, 1)),
                                             "noisy_acc", jnum(SSM_D(S, 0, 2)), "omega_star", jnum(SSM_D(S, 0, 3)),
                                             "omega_own", jnum(SSM_D(S, 0, 8)), "noisy_own_acc", jnum(SSM_D(S, 0, 9)),
                                             "eps", jnum(SSM_D(S, 0, 4)), "train_s", jnum(SSM_D(S, 0, 5)),
                                             "final_val_acc", jnum(SSM_D(S, 0, 6)), "samples_per_s",
                                             jnum(SSM_D(S, 0, 7)), "omega_sweep", sw,
                                             "amp_sweep", am));
    }
    json_object_set_new(j, "results", arr);
    char path[1100];
    ssm_status s = ssm_experiment_path(path, sizeof path, dir, "robustness.json");
    if (s == SSM_OK)
        s = exp_write_json(path, j);
    json_decref(j);
    return s;
}

static ssm_status merge(const ssm_experiment_opts *o)
{
    ssm_dmat_t P[NINIT][3];
    ssm_status s = SSM_OK;
    char path[1100];
    int loaded = 0;
    for (int k = 0; k < NINIT && s == SSM_OK; k++) {
        if ((s = ssm_experiment_path(path, sizeof path, o->out_dir, "robustness.part-%d.tsv", k)) == SSM_OK &&
            (s = read_part(P[k], path)) == SSM_OK)
            loaded++;
    }
    ssm_train_config c;
    config_for(&c, o, 0);
    size_t n_test = c.n_test ? c.n_test : 10000; /* 0: the whole sfmnist test split */
    char head[1200];
    snprintf(head, sizeof head, "ssmkit %s experiment robustness: Fourier-mode noise on the SSM input of every layer "
             "(doc/reference.md section 6), sfmnist test split (%zu images), d_model %zu, layers %zu, d_state %zu%s, "
             "seed %lu\ninits: s4d-legs (S4D-LegS), s4d-lin (S4D-Lin), ptd (S4-PTD), s4-dplr (S4, the DPLR-equivalent "
             "dense system); PTD protocol (Lambda, B, Delta frozen); omega in rad per unit time",
             SSM_VERSION, n_test, c.d_model, c.n_layers, c.d_state, o->full ? " (--full)" : o->quick ? " (--quick: a smoke test)" : "", o->seed);
    if (s == SSM_OK) s = write_summary(o->out_dir, head, P, n_test, o->seed, &c);
    if (s == SSM_OK) s = write_noise(o->out_dir, head, P);
    if (s == SSM_OK) s = write_curves(o->out_dir, head, P);
    if (s == SSM_OK) s = write_json(o->out_dir, &c, P, n_test, o);
    if (s == SSM_OK && !o->quiet) {
        printf("robustness (sfmnist test, noise amp 0.1 at omega* = %.1f and at each init's own top mode):\n"
               "%-22s %9s %9s %11s %9s\n", SSM_D(P[0][0], 0, 3), "init", "clean", "noisy", "own_omega", "noisy_own");
        for (int k = 0; k < NINIT; k++)
            printf("%-22s %9.4f %9.4f %11.1f %9.4f\n", LABELS[k], SSM_D(P[k][0], 0, 1), SSM_D(P[k][0], 0, 2),
                   SSM_D(P[k][0], 0, 8), SSM_D(P[k][0], 0, 9));
    }
    for (int k = 0; k < loaded; k++)
        for (int j = 0; j < 3; j++)
            ssm_dmat_clear(P[k][j]);
    return s;
}
ssm_status ssm_experiment_robustness(const ssm_experiment_opts *o)
{
    if (o->medium)
        return ssm_experiment_robustness_medium(o);
    char probe[1100]; /* every output path fits (checked before any training): the longest name */
    ssm_status ps = ssm_experiment_path(probe, sizeof probe, o->out_dir, "robustness-curves.tsv");
    if (ps != SSM_OK)
        return ps;
    if (o->n_max)
        return SSM_ERROR(SSM_EINVAL, "robustness: --n-max does not apply (d_state is fixed: 64, 16 with --quick; --full for the paper size)");
    if (o->jobs) {
        for (int k = 0; k < NINIT; k++)
            printf("ssmkit experiment robustness --job %d --out %s --seed %lu --eps %.17g%s -q\n", k, o->out_dir,
                   o->seed, o->eps > 0 ? o->eps : 0.05, o->full ? " --full" : o->quick ? " --quick" : "");
        printf("# then: ssmkit experiment robustness --merge --out %s\n", o->out_dir);
        return SSM_OK;
    }
    if (o->merge)
        return merge(o);
    if (o->job >= 0) {
        if (o->job >= NINIT)
            return SSM_ERROR(SSM_EINVAL, "robustness: --job must be in [0, %d]", NINIT - 1);
        return run_job(o, (int)o->job);
    }
    for (int k = 0; k < NINIT; k++) {
        ssm_status s = run_job(o, k);
        if (s != SSM_OK)
            return s;
    }
    return merge(o);
}
