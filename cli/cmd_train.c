/* cli/cmd_train.c — `ssmkit train TASK ...` and `ssmkit eval CHECKPOINT ...`: argument parsing only;
 * the engine is train/. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int parse_real(double *out, const char *opt, const char *text)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v)) {
        cli_usage_error("%s must be a finite number, got '%s'", opt, text);
        return 0;
    }
    *out = v;
    return 1;
}

static const char TRAIN_HELP[] =
    "usage: ssmkit train TASK --init FILE|METHOD [options]\n"
    "       ssmkit train [TASK] --resume --checkpoint DIR [--epochs E] [--steps S] [run options]\n"
    "\n"
    "Train an SSM classifier/regressor (input projection -> K x [SSM conv + D -> GELU -> linear (GLU) -> dropout\n"
    "-> residual -> LayerNorm] -> mean pool -> linear decoder) with AdamW and a cosine schedule.\n"
    "TASK: sfmnist (sequential Fashion-MNIST, L = 784), adding, listops, sinusoid (synthetic, from --seed)\n"
    "\n"
    "model:     --init FILE|METHOD (ssmkit-init/1 file or s4-dplr s4d-legs s4d-lin s4d-inv s4d-real s5-legs ptd)\n"
    "           --eps E (PTD budget when built by name, 0.05)  --d-model H (64)  --d-state N (an init file's N,\n"
    "           which it must match if given; 64 for a METHOD)  --layers K (4)  --glu  --prenorm  --dropout P (0.1)\n"
    "           --dt-min (1e-3)  --dt-max (1e-1)  --s4-kernel dplr|dense (inits with a low-rank P, s4-dplr:\n"
    "           dplr = the S4 Cauchy/Woodbury kernel, bilinear, trainable (default); dense = the frozen ZOH\n"
    "           reference on the rebuilt dense A)\n"
    "           an S5 init (s5-legs, or a file of init s5-legs / init ptd --blocks J, J >= 2) selects the S5 layer:\n"
    "           one MIMO state of N/2 stored modes shared by the H channels, a Delta per mode, S5's init recipe\n"
    "           (B = V^-1 B, C = C V); Lambda, B, Delta train with --lr-ssm or are frozen\n"
    "optimiser: --lr (0.01)  --lr-ssm (0.001; 0 = Lambda, B, Delta frozen)  --freeze-ssm (= --lr-ssm 0, the PTD\n"
    "           protocol)  --wd (0.05)  --clip (1; 0 = off)  --warmup STEPS (0)  --epochs E (1)  --steps S (cap)\n"
    "           --batch B (64)  --threads T (2)  --seed S (0)\n"
    "data:      --seq-len L  --n-train N  --n-val N  --n-test N  --data DIR (sfmnist files; default\n"
    "           /usr/share/datasets/fashion-mnist from the Debian package dataset-fashion-mnist)\n"
    "           sizes: --n-train defaults to 10000 (sfmnist: the 55000 images before the validation ones);\n"
    "           --n-val and --n-test to n_train/10 (rounded up) when --n-train is given, at most 1000 each\n"
    "           (sfmnist 5000 and 10000), which they are otherwise\n"
    "output:    --checkpoint DIR (DIR/ckpt.bin, DIR/log.tsv; created if absent, refused at once if it cannot be;\n"
    "           locked while the run lasts)  --checkpoint-every S  --force (replace the checkpoint of another\n"
    "           run in DIR)  --log FILE.tsv  --json (one JSON summary on stdout)  -q\n"
    "resume:    --resume continues DIR/ckpt.bin bit-identically with its stored options; an option given with it\n"
    "           must agree with the stored value, except --epochs and --steps, which may extend the run (the\n"
    "           cosine schedule then stretches to the new end: not the bytes of one long run, unless --warmup\n"
    "           covers every step), and --checkpoint-every.\n";

static void print_row(const ssm_train_epoch_row *r, void *ctx)
{
    if (*(int *)ctx)
        return;
    printf("epoch %6.2f  step %6.0f  train loss %.4f acc %.4f  val loss %.4f acc %.4f  %.1f s  %.1f samples/s\n",
           r->epoch, r->step, r->train_loss, r->train_acc, r->val_loss, r->val_acc, r->time_s, r->samples_per_s);
    fflush(stdout);
}

enum { O_INIT = 256, O_EPS, O_DM, O_DS, O_LAYERS, O_GLU, O_PRE, O_DROP, O_DTMIN, O_DTMAX, O_LR, O_LRSSM, O_FREEZE,
       O_WD, O_CLIP, O_WARM, O_EPOCHS, O_STEPS, O_BATCH, O_THREADS, O_SEED, O_SEQ, O_NTR, O_NVAL, O_NTEST, O_DATA,
       O_CKPT, O_EVERY, O_RESUME, O_FORCE, O_LOG, O_JSON, O_S4K, O_END };

/* The options that are part of the stored run: with --resume each one given must agree with it. */
typedef enum { K_SIZE, K_REAL, K_FLAG, K_STR, K_U64, K_S4K } opt_kind;
static const struct {
    int code;
    const char *name;
    opt_kind kind;
    size_t off;
} RUN_OPTS[] = {
#define F(field) offsetof(ssm_train_config, field)
    {O_INIT, "--init", K_STR, F(init)}, {O_EPS, "--eps", K_REAL, F(init_eps)},
    {O_DM, "--d-model", K_SIZE, F(d_model)}, {O_DS, "--d-state", K_SIZE, F(d_state)},
    {O_LAYERS, "--layers", K_SIZE, F(n_layers)}, {O_GLU, "--glu", K_FLAG, F(glu)},
    {O_PRE, "--prenorm", K_FLAG, F(prenorm)}, {O_DROP, "--dropout", K_REAL, F(dropout)},
    {O_DTMIN, "--dt-min", K_REAL, F(dt_min)}, {O_DTMAX, "--dt-max", K_REAL, F(dt_max)},
    {O_LR, "--lr", K_REAL, F(lr)}, {O_LRSSM, "--lr-ssm", K_REAL, F(lr_ssm)},
    {O_FREEZE, "--freeze-ssm (--lr-ssm)", K_REAL, F(lr_ssm)}, {O_WD, "--wd", K_REAL, F(wd)},
    {O_CLIP, "--clip", K_REAL, F(clip)}, {O_WARM, "--warmup", K_SIZE, F(warmup)},
    {O_BATCH, "--batch", K_SIZE, F(batch)}, {O_THREADS, "--threads", K_SIZE, F(threads)},
    {O_SEED, "--seed", K_U64, F(seed)}, {O_SEQ, "--seq-len", K_SIZE, F(seq_len)},
    {O_NTR, "--n-train", K_SIZE, F(n_train)}, {O_NVAL, "--n-val", K_SIZE, F(n_val)},
    {O_NTEST, "--n-test", K_SIZE, F(n_test)}, {O_DATA, "--data", K_STR, F(data_dir)},
    {O_S4K, "--s4-kernel", K_S4K, F(s4_dense)},
#undef F
};

/* A stored option as text, for messages. */
static void opt_text(char *buf, size_t cap, opt_kind k, const void *p)
{
    switch (k) {
    case K_SIZE: snprintf(buf, cap, "%zu", *(const size_t *)p); break;
    case K_REAL: snprintf(buf, cap, "%.17g", *(const double *)p); break;
    case K_FLAG: snprintf(buf, cap, "%s", *(const int *)p ? "on" : "off"); break;
    case K_S4K: snprintf(buf, cap, "%s", *(const int *)p ? "dense" : "dplr"); break;
    case K_STR: snprintf(buf, cap, "'%s'", (const char *)p); break;
    case K_U64: snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)p); break;
    }
}

static int opt_same(opt_kind k, const void *a, const void *b)
{
    switch (k) {
    case K_SIZE: return *(const size_t *)a == *(const size_t *)b;
    case K_REAL: return *(const double *)a == *(const double *)b;
    case K_FLAG:
    case K_S4K: return (*(const int *)a != 0) == (*(const int *)b != 0);
    case K_STR: return strcmp(a, b) == 0;
    case K_U64: return *(const uint64_t *)a == *(const uint64_t *)b;
    }
    return 0;
}

/* What --resume compares: the options as parsed and which of them were given. */
typedef struct {
    const ssm_train_config *c;
    const unsigned char *given;
    int have_task;
} resume_check;

/* ssm_train_run_opts.on_resume: the options given must agree with the stored run (named when they do
 * not); --epochs and --steps extend it (the engine refuses a shorter run), --checkpoint-every changes. */
static ssm_status check_resume(ssm_train_config *st, void *ctx)
{
    const resume_check *r = ctx;
    const ssm_train_config *c = r->c;
    if (r->have_task && c->task != st->task)
        return SSM_ERROR(SSM_EINVAL, "train --resume: TASK '%s' conflicts with the stored run's '%s'",
                         ssm_train_task_name(c->task), ssm_train_task_name(st->task));
    for (size_t i = 0; i < sizeof RUN_OPTS / sizeof RUN_OPTS[0]; i++) {
        const char *mine = (const char *)c + RUN_OPTS[i].off, *theirs = (const char *)st + RUN_OPTS[i].off;
        if (!r->given[RUN_OPTS[i].code - O_INIT] || opt_same(RUN_OPTS[i].kind, mine, theirs))
            continue;
        char a[600], b[600];
        opt_text(a, sizeof a, RUN_OPTS[i].kind, mine);
        opt_text(b, sizeof b, RUN_OPTS[i].kind, theirs);
        return SSM_ERROR(SSM_EINVAL, "train --resume: %s %s conflicts with the stored run's %s (a resumed run keeps "
                                     "its options; only --epochs and --steps may extend it)", RUN_OPTS[i].name, a, b);
    }
    if (r->given[O_EPOCHS - O_INIT] && c->epochs < st->epochs)
        return SSM_ERROR(SSM_EINVAL, "train --resume: --epochs %zu is fewer than the stored run's %zu (a resumed run "
                                     "can only be extended)", c->epochs, st->epochs);
    if (r->given[O_EPOCHS - O_INIT])
        st->epochs = c->epochs;
    if (r->given[O_STEPS - O_INIT])
        st->max_steps = c->max_steps;
    if (r->given[O_EVERY - O_INIT])
        st->ckpt_every = c->ckpt_every;
    return SSM_OK;
}

static const struct option TRAIN_LONG[] = {
    {"help", no_argument, NULL, 'h'}, {"quiet", no_argument, NULL, 'q'},
    {"init", required_argument, NULL, O_INIT}, {"eps", required_argument, NULL, O_EPS},
    {"d-model", required_argument, NULL, O_DM}, {"d-state", required_argument, NULL, O_DS},
    {"layers", required_argument, NULL, O_LAYERS}, {"glu", no_argument, NULL, O_GLU},
    {"prenorm", no_argument, NULL, O_PRE}, {"dropout", required_argument, NULL, O_DROP},
    {"dt-min", required_argument, NULL, O_DTMIN}, {"dt-max", required_argument, NULL, O_DTMAX},
    {"lr", required_argument, NULL, O_LR}, {"lr-ssm", required_argument, NULL, O_LRSSM},
    {"freeze-ssm", no_argument, NULL, O_FREEZE}, {"wd", required_argument, NULL, O_WD},
    {"clip", required_argument, NULL, O_CLIP}, {"warmup", required_argument, NULL, O_WARM},
    {"epochs", required_argument, NULL, O_EPOCHS}, {"steps", required_argument, NULL, O_STEPS},
    {"batch", required_argument, NULL, O_BATCH}, {"threads", required_argument, NULL, O_THREADS},
    {"seed", required_argument, NULL, O_SEED}, {"seq-len", required_argument, NULL, O_SEQ},
    {"n-train", required_argument, NULL, O_NTR}, {"n-val", required_argument, NULL, O_NVAL},
    {"n-test", required_argument, NULL, O_NTEST}, {"data", required_argument, NULL, O_DATA},
    {"s4-kernel", required_argument, NULL, O_S4K},
    {"checkpoint", required_argument, NULL, O_CKPT}, {"checkpoint-every", required_argument, NULL, O_EVERY},
    {"resume", no_argument, NULL, O_RESUME}, {"force", no_argument, NULL, O_FORCE},
    {"log", required_argument, NULL, O_LOG}, {"json", no_argument, NULL, O_JSON}, {NULL, 0, NULL, 0},
};

/* One option of `train` into c / o.  0 when fine, else the exit status (the reason printed). */
static int train_option(ssm_train_config *c, ssm_train_run_opts *o, int *json, int ch, char **argv)
{
    long v;
#define SIZE_OPT(field, name) return cli_parse_size(&c->field, name, optarg) ? 0 : EXIT_USAGE
#define REAL_OPT(field, name) return parse_real(&c->field, name, optarg) ? 0 : EXIT_USAGE
    switch (ch) {
    case 'h': fputs(TRAIN_HELP, stdout); return -1;
    case 'q': o->quiet = 1; return 0;
    case O_INIT:
        if (strlen(optarg) >= sizeof c->init) return cli_usage_error("train: --init path is too long");
        snprintf(c->init, sizeof c->init, "%s", optarg);
        return 0;
    case O_EPS: REAL_OPT(init_eps, "--eps");
    case O_DM: SIZE_OPT(d_model, "--d-model");
    case O_DS: SIZE_OPT(d_state, "--d-state");
    case O_LAYERS: SIZE_OPT(n_layers, "--layers");
    case O_GLU: c->glu = 1; return 0;
    case O_PRE: c->prenorm = 1; return 0;
    case O_DROP: REAL_OPT(dropout, "--dropout");
    case O_DTMIN: REAL_OPT(dt_min, "--dt-min");
    case O_DTMAX: REAL_OPT(dt_max, "--dt-max");
    case O_LR: REAL_OPT(lr, "--lr");
    case O_LRSSM: REAL_OPT(lr_ssm, "--lr-ssm");
    case O_FREEZE: c->lr_ssm = 0.0; return 0;
    case O_S4K:
        if (strcmp(optarg, "dplr") != 0 && strcmp(optarg, "dense") != 0)
            return cli_usage_error("train: --s4-kernel must be dplr or dense, got '%s'", optarg);
        c->s4_dense = strcmp(optarg, "dense") == 0;
        return 0;
    case O_WD: REAL_OPT(wd, "--wd");
    case O_CLIP: REAL_OPT(clip, "--clip");
    case O_WARM:
        if (!cli_parse_long(&v, "--warmup", optarg, 0, 100000000L)) return EXIT_USAGE;
        c->warmup = (size_t)v;
        return 0;
    case O_EPOCHS: SIZE_OPT(epochs, "--epochs");
    case O_STEPS: SIZE_OPT(max_steps, "--steps");
    case O_BATCH: SIZE_OPT(batch, "--batch");
    case O_THREADS: SIZE_OPT(threads, "--threads");
    case O_SEED:
        if (!cli_parse_long(&v, "--seed", optarg, 0, 2147483647L)) return EXIT_USAGE;
        c->seed = (uint64_t)v;
        return 0;
    case O_SEQ: SIZE_OPT(seq_len, "--seq-len");
    case O_NTR: SIZE_OPT(n_train, "--n-train");
    case O_NVAL: SIZE_OPT(n_val, "--n-val");
    case O_NTEST: SIZE_OPT(n_test, "--n-test");
    case O_DATA:
        if (strlen(optarg) >= sizeof c->data_dir) return cli_usage_error("train: --data path is too long");
        snprintf(c->data_dir, sizeof c->data_dir, "%s", optarg);
        return 0;
    case O_CKPT: o->ckpt_dir = optarg; return 0;
    case O_EVERY: SIZE_OPT(ckpt_every, "--checkpoint-every");
    case O_RESUME: o->resume = 1; return 0;
    case O_FORCE: o->force = 1; return 0;
    case O_LOG: o->log_path = optarg; return 0;
    case O_JSON: *json = 1; return 0;
    case ':': return cli_usage_error("train: option '%s' needs a value", argv[optind - 1]);
    default: return cli_usage_error("train: unknown option '%s'", argv[optind - 1]);
    }
#undef SIZE_OPT
#undef REAL_OPT
}

/* Train (or resume), then evaluate on the test split and report. */
static int run_and_report(const ssm_train_config *c, ssm_train_run_opts *o, int json)
{
    int silent = json;
    o->on_epoch = print_row;
    o->ctx = &silent;
    ssm_train_state st;
    ssm_status s = ssm_train_run(&st, c, o);
    double tl = NAN, ta = NAN;
    if (s == SSM_OK)
        s = ssm_train_evaluate(&tl, &ta, &st, &st.data.test, 2, 0, NULL);
    if (s != SSM_OK) {
        ssm_train_state_clear(&st);
        return cli_fail(s);
    }
    const ssm_train_epoch_row *last = st.n_rows ? &st.rows[st.n_rows - 1] : NULL;
    if (json) {
        json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "task",
                              ssm_train_task_name(st.cfg.task), "init", st.cfg.init, "d_model",
                              (json_int_t)st.cfg.d_model, "d_state", (json_int_t)st.model->N, "n_layers",
                              (json_int_t)st.cfg.n_layers, "seed", (json_int_t)st.cfg.seed, "steps", (json_int_t)st.step,
                              "n_params", (json_int_t)st.model->n_params, "test_loss", cli_jnum(tl), "test_acc",
                              cli_jnum(ta), "val_loss", cli_jnum(last ? last->val_loss : NAN), "val_acc",
                              cli_jnum(last ? last->val_acc : NAN), "samples_per_s",
                              cli_jnum(last ? last->samples_per_s : NAN), "elapsed_s", cli_jnum(st.elapsed_s),
                              "threads", (json_int_t)st.cfg.threads);
        s = cli_json_print(j);
        if (s != SSM_OK) {
            ssm_train_state_clear(&st);
            return cli_fail(s);
        }
    } else {
        printf("test: loss %.6g acc %.4f  (%zu samples, %llu steps, %.1f s)\n", tl, ta, st.data.test.n,
               (unsigned long long)st.step, st.elapsed_s);
    }
    ssm_train_state_clear(&st);
    return 0;
}

int cmd_train(int argc, char **argv)
{
    ssm_train_config c;
    ssm_train_config_default(&c);
    ssm_train_run_opts o = {0};
    int json = 0, ch;
    unsigned char given[O_END - O_INIT] = {0};
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":hq", TRAIN_LONG, NULL)) != -1) {
        int rc = train_option(&c, &o, &json, ch, argv);
        if (rc)
            return rc < 0 ? 0 : rc;
        if (ch >= O_INIT && ch < O_END)
            given[ch - O_INIT] = 1;
    }
    if (optind + 1 < argc)
        return cli_usage_error("train: unexpected argument '%s'", argv[optind + 1]);
    int have_task = optind < argc;
    if (!have_task && !o.resume)
        return cli_usage_error("train: missing TASK (sfmnist adding listops sinusoid; see 'ssmkit train --help')");
    ssm_status s = have_task ? ssm_train_task_lookup(&c.task, argv[optind]) : SSM_OK;
    if (s != SSM_OK)
        return cli_fail(s);
    if (o.resume && !o.ckpt_dir)
        return cli_usage_error("train: --resume needs --checkpoint DIR");
    if (!given[O_INIT - O_INIT] && !o.resume)
        return cli_usage_error("train: missing --init FILE|METHOD");
    if ((s = ssm_train_config_check(&c)) != SSM_OK)
        return cli_fail(s);
    if (o.resume && o.force)
        return cli_usage_error("train: --force starts a new run; it does not go with --resume");
    resume_check rcheck = {&c, given, have_task};
    o.on_resume = check_resume;
    o.resume_ctx = &rcheck;
    /* the log is a TSV table: another extension is refused, and its folder checked, before training */
    cli_out_kind lk;
    if (o.log_path && (!cli_ends_with(o.log_path, ".tsv") || !cli_out_kind_of(&lk, o.log_path)))
        return cli_ends_with(o.log_path, ".tsv") ? EXIT_USAGE
                                                 : cli_usage_error("train: --log '%s' must be a .tsv file", o.log_path);
    char logbuf[1100];
    if (!o.log_path && o.ckpt_dir) {
        snprintf(logbuf, sizeof logbuf, "%s/log.tsv", o.ckpt_dir);
        o.log_path = logbuf;
    }
    return run_and_report(&c, &o, json);
}

/* ---- eval ----------------------------------------------------------------------------------------- */

static const char EVAL_HELP[] =
    "usage: ssmkit eval CHECKPOINT [--noise fourier:OMEGA:AMP|fourier:top:AMP] [--noise-sweep LO:HI:COUNT] [--amps A1,A2,...]\n"
    "                   [--split test|val] [--n N] [--seed S] [--json] [-o FILE.tsv]\n"
    "\n"
    "Evaluate a checkpoint (DIR or DIR/ckpt.bin) or an exported model (MODEL.safetensors of 'ssmkit export')\n"
    "clean and with Fourier-mode noise added to the SSM input of every layer:\n"
    "noise[b,h,l] = AMP * U_{b,h} * cos(OMEGA * Delta_h * l), U ~ U[0,1) per sequence and channel\n"
    "(doc/reference.md section 6); fourier:top:AMP: OMEGA = the model's own top mode, the largest |Im lambda|\n"
    "of its Lambda (not for the dense s4-dplr path).  --noise-sweep: COUNT log-spaced OMEGA in [LO, HI], at each amplitude of --amps\n"
    "(default: the --noise amplitude, else 0.1).  Output: TSV rows 'omega amp loss acc' (first row clean,\n"
    "omega = amp = 0) on stdout or -o FILE.tsv; --json: one JSON object instead.\n";

/* the command line of eval: noise settings (omegas × amplitudes), split, sample cap, seed, output */
typedef struct {
    double omegas[1024], amps[64];
    size_t n_om, n_amp, nmax;
    int json, split; /* split: 2 test, 1 validation */
    int top;         /* some omega is "top" (stored as -1): the model's largest |Im lambda| */
    uint64_t seed;
    const char *out, *ckpt;
} eval_args;

static int eval_noise(eval_args *e, const char *arg)
{
    double w, a;
    char tail;
    if (sscanf(arg, "fourier:top:%lf%c", &a, &tail) == 1 && a >= 0 && isfinite(a)) {
        w = -1.0; /* the model's own top mode, resolved once the model is loaded */
        e->top = 1;
    } else if (sscanf(arg, "fourier:%lf:%lf%c", &w, &a, &tail) != 2 || !(w >= 0) || !isfinite(w) || !(a >= 0) || !isfinite(a))
        return cli_usage_error("eval: --noise must be fourier:OMEGA:AMP or fourier:top:AMP with OMEGA, AMP >= 0, got "
                               "'%s'", arg);
    if (e->n_om >= 1024)
        return cli_usage_error("eval: too many noise settings");
    e->omegas[e->n_om++] = w;
    if (e->n_amp == 0)
        e->amps[e->n_amp++] = a;
    return -1;
}

static int eval_sweep(eval_args *e, const char *arg)
{
    double lo, hi;
    unsigned long cnt;
    char tail;
    if (sscanf(arg, "%lf:%lf:%lu%c", &lo, &hi, &cnt, &tail) != 3 || !(lo > 0) || !(hi >= lo) || !isfinite(hi) ||
        cnt < 1 || cnt > 1000)
        return cli_usage_error("eval: --noise-sweep must be LO:HI:COUNT with 0 < LO <= HI, COUNT in [1, 1000], got '%s'",
                               arg);
    e->n_om = 0;
    for (unsigned long k = 0; k < cnt; k++)
        e->omegas[e->n_om++] = cnt == 1 ? lo : lo * pow(hi / lo, (double)k / (double)(cnt - 1));
    return -1;
}

static int eval_amps(eval_args *e, const char *arg)
{
    e->n_amp = 0;
    const char *p = arg;
    char *end;
    while (*p) {
        errno = 0;
        double a = strtod(p, &end);
        if (end == p || errno || !(a >= 0) || !isfinite(a) || e->n_amp >= 64)
            return cli_usage_error("eval: --amps must be a comma-separated list of amplitudes >= 0, got '%s'", arg);
        e->amps[e->n_amp++] = a;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return cli_usage_error("eval: --amps must be a comma-separated list, got '%s'", arg);
    }
    return -1;
}

/* -1 when the arguments are good, else the exit code */
static int eval_parse(eval_args *e, int argc, char **argv)
{
    static const struct option LONG[] = {
        {"help", no_argument, NULL, 'h'}, {"noise", required_argument, NULL, 'n'},
        {"noise-sweep", required_argument, NULL, 'w'}, {"amps", required_argument, NULL, 'a'},
        {"split", required_argument, NULL, 's'}, {"n", required_argument, NULL, 'N'},
        {"seed", required_argument, NULL, 'S'}, {"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    memset(e, 0, sizeof *e);
    e->split = 2;
    e->seed = 1;
    long v;
    int ch, rc = -1;
    opterr = 0;
    optind = 1;
    while (rc < 0 && (ch = getopt_long(argc, argv, ":ho:q", LONG, NULL)) != -1) {
        switch (ch) {
        case 'h': fputs(EVAL_HELP, stdout); return 0;
        case 'q': break;
        case 'o': e->out = optarg; break;
        case 'n': rc = eval_noise(e, optarg); break;
        case 'w': rc = eval_sweep(e, optarg); break;
        case 'a': rc = eval_amps(e, optarg); break;
        case 's':
            if (strcmp(optarg, "test") == 0) e->split = 2;
            else if (strcmp(optarg, "val") == 0) e->split = 1;
            else return cli_usage_error("eval: --split must be test or val, got '%s'", optarg);
            break;
        case 'N': if (!cli_parse_size(&e->nmax, "--n", optarg)) return EXIT_USAGE; break;
        case 'S':
            if (!cli_parse_long(&v, "--seed", optarg, 0, 2147483647L)) return EXIT_USAGE;
            e->seed = (uint64_t)v;
            break;
        case 'j': e->json = 1; break;
        case ':': return cli_usage_error("eval: option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("eval: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (rc >= 0)
        return rc;
    if (optind >= argc)
        return cli_usage_error("eval: missing CHECKPOINT (see 'ssmkit eval --help')");
    if (optind + 1 < argc)
        return cli_usage_error("eval: unexpected argument '%s'", argv[optind + 1]);
    cli_out_kind kind = OUT_STDOUT_TSV;
    if (e->out && !cli_out_kind_of(&kind, e->out))
        return EXIT_USAGE; /* the reason is printed */
    if (e->out && kind != OUT_TSV)
        return cli_usage_error("eval: -o must name a .tsv file, got '%s'", e->out);
    if (e->n_amp == 0)
        e->amps[e->n_amp++] = 0.1;
    e->ckpt = argv[optind];
    return -1;
}

/* rows omega amp loss acc: clean first, then every (omega, amp) */
static ssm_status eval_table(ssm_dmat_t T, ssm_train_state *st, const eval_args *e)
{
    const ssm_train_split *sp = e->split == 2 ? &st->data.test : &st->data.val;
    size_t rows = 1 + e->n_om * e->n_amp;
    ssm_status s = ssm_dmat_init(T, rows, 4);
    for (size_t r = 0; s == SSM_OK && r < rows; r++) {
        ssm_train_noise nz = {0};
        nz.seed = e->seed;
        if (r > 0) {
            nz.omega = e->omegas[(r - 1) / e->n_amp];
            nz.amp = e->amps[(r - 1) % e->n_amp];
        }
        double loss, acc;
        s = ssm_train_evaluate(&loss, &acc, st, sp, e->split, e->nmax, r > 0 ? &nz : NULL);
        SSM_D(T, r, 0) = nz.omega;
        SSM_D(T, r, 1) = nz.amp;
        SSM_D(T, r, 2) = loss;
        SSM_D(T, r, 3) = acc;
    }
    return s;
}

static ssm_status eval_json(const ssm_dmat_t T, const ssm_train_state *st, const eval_args *e, const char *path)
{
    const ssm_train_split *sp = e->split == 2 ? &st->data.test : &st->data.val;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:{s:o, s:o}}", "checkpoint", path, "task",
                          ssm_train_task_name(st->cfg.task), "init", st->cfg.init, "split",
                          e->split == 2 ? "test" : "val", "n", (json_int_t)(e->nmax && e->nmax < sp->n ? e->nmax : sp->n),
                          "seed", (json_int_t)e->seed, "clean", "loss", cli_jnum(SSM_D(T, 0, 2)), "acc",
                          cli_jnum(SSM_D(T, 0, 3)));
    json_t *arr = json_array();
    for (size_t r = 1; r < T->rows; r++)
        json_array_append_new(arr, json_pack("{s:o, s:o, s:o, s:o}", "omega", cli_jnum(SSM_D(T, r, 0)), "amp",
                                             cli_jnum(SSM_D(T, r, 1)), "loss", cli_jnum(SSM_D(T, r, 2)), "acc",
                                             cli_jnum(SSM_D(T, r, 3))));
    if (j)
        json_object_set_new(j, "noisy", arr);
    else
        json_decref(arr);
    return cli_json_print(j);
}

/* A run folder (DIR/ckpt.bin), a checkpoint file, or an exported model (.safetensors) into a fresh
 * state; path receives the file read. */
static ssm_status load_run(ssm_train_state *st, char *path, size_t cap, const char *arg, int load_data)
{
    struct stat sb;
    if (stat(arg, &sb) == 0 && S_ISDIR(sb.st_mode))
        snprintf(path, cap, "%s/ckpt.bin", arg);
    else
        snprintf(path, cap, "%s", arg);
    if (cli_ends_with(path, ".safetensors"))
        return ssm_train_export_read(st, path, load_data);
    return ssm_train_checkpoint_read(st, path, load_data);
}

int cmd_eval(int argc, char **argv)
{
    eval_args e;
    int rc = eval_parse(&e, argc, argv);
    if (rc >= 0)
        return rc;
    char path[1100];
    ssm_train_state st;
    ssm_status s = load_run(&st, path, sizeof path, e.ckpt, 1);
    if (s == SSM_OK)
        s = ssm_train_state_buffers(&st);
    if (s != SSM_OK) {
        ssm_train_state_clear(&st);
        return cli_fail(s);
    }
    double top = 0.0;
    if (e.top && (s = ssm_train_model_top_mode(&top, st.model)) != SSM_OK) {
        ssm_train_state_clear(&st);
        return cli_fail(s);
    }
    for (size_t i = 0; i < e.n_om; i++)
        if (e.omegas[i] < 0)
            e.omegas[i] = top;
    ssm_dmat_t T;
    memset(T, 0, sizeof T);
    s = eval_table(T, &st, &e);
    if (s == SSM_OK && e.json) {
        s = eval_json(T, &st, &e, path);
    } else if (s == SSM_OK) {
        char header[4096];
        snprintf(header, sizeof header,
                 "ssmkit %s eval %s (%s split, task %s, init %s)\n"
                 "noise: amp * U[0,1) * cos(omega * Delta_h * l) on the SSM input of every layer; first row clean\n"
                 "command: %s", SSM_VERSION, path, e.split == 2 ? "test" : "val",
                 ssm_train_task_name(st.cfg.task), st.cfg.init, cli_command_line());
        s = ssm_tsv_write_dmat(e.out, e.out ? NULL : stdout, "omega amp loss acc", header, T);
    }
    ssm_dmat_clear(T);
    ssm_train_state_clear(&st);
    return s == SSM_OK ? 0 : cli_fail(s);
}

static const char EXPORT_HELP[] =
    "usage: ssmkit export CHECKPOINT -o MODEL.safetensors [--json]\n"
    "\n"
    "Write the parameters of a trained model (a run folder DIR, DIR/ckpt.bin, or another export) as a\n"
    "safetensors file with PyTorch's names and layouts: encoder.weight [H, din] (nn.Linear's [out, in]),\n"
    "layers.L.kernel.Lambda / .B / .C [H, N/2, 2] (complex as (re, im): torch.view_as_complex; the DPLR\n"
    "kernel also .P [H, N/2, 2]; the dense s4-dplr path .C [H, N] real; an S5 layer in S5's shapes: .Lambda\n"
    "[N/2, 2], .B [N/2, H, 2], .C [H, N/2, 2], .log_step [N/2]), layers.L.kernel.log_dt [H], layers.L.D [H],\n"
    "layers.L.output_linear.weight [Hout, H] and .bias,\n"
    "layers.L.norm.weight / .bias [H], decoder.weight [nout, H] and .bias; float32 values stored as F64\n"
    "(exact).  The metadata holds the run's config and the init's digest: 'ssmkit eval MODEL.safetensors'\n"
    "rebuilds the model from them (an init file must still be where the run found it) and evaluates it.\n"
    "The AdamW moments are not exported (resume from the checkpoint).  --json: a summary object on stdout.\n";

int cmd_export(int argc, char **argv)
{
    static const struct option LONG[] = {
        {"help", no_argument, NULL, 'h'}, {"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    int ch, json = 0;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":ho:q", LONG, NULL)) != -1) {
        switch (ch) {
        case 'h': fputs(EXPORT_HELP, stdout); return 0;
        case 'q': break;
        case 'o': out = optarg; break;
        case 'j': json = 1; break;
        case ':': return cli_usage_error("export: option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("export: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("export: missing CHECKPOINT (see 'ssmkit export --help')");
    if (optind + 1 < argc)
        return cli_usage_error("export: unexpected argument '%s'", argv[optind + 1]);
    if (!out || !cli_ends_with(out, ".safetensors"))
        return cli_usage_error("export: -o must name a .safetensors file%s%s%s", out ? ", got '" : "",
                               out ? out : "", out ? "'" : "");
    if (!cli_output_dir_ok(out))
        return EXIT_USAGE;
    char path[1100];
    ssm_train_state st;
    ssm_status s = load_run(&st, path, sizeof path, argv[optind], 0);
    if (s == SSM_OK)
        s = ssm_train_export(&st, out);
    if (s == SSM_OK && json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "checkpoint", path, "output", out, "init",
                              st.cfg.init, "step", (json_int_t)st.step, "n_params", (json_int_t)st.model->n_params,
                              "n_tensors", (json_int_t)st.model->n_tensors);
        s = j ? cli_json_print(j) : SSM_ERROR(SSM_ENOMEM, "export: out of memory");
    }
    ssm_train_state_clear(&st);
    return s == SSM_OK ? 0 : cli_fail(s);
}
