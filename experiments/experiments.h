/* experiments/experiments.h — one driver per experiment; each writes
 * DIR/NAME.tsv and DIR/NAME.json (and the figure via plots/NAME.gp). */
#ifndef SSM_EXPERIMENTS_H
#define SSM_EXPERIMENTS_H

#include "ssmkit.h"

/* Options shared by every driver; a driver ignores what it has no use for and
 * documents its defaults.  Grid experiments follow one job protocol:
 *   --jobs        print one shell command per independent job (GNU parallel, a Slurm array);
 *   --job K       run job K only, writing DIR/NAME.part-K.tsv;
 *   --merge       join DIR/NAME.part-*.tsv into DIR/NAME.tsv + NAME.json (and the figure). */
typedef struct {
    const char *out_dir;   /* where NAME.tsv / NAME.json / NAME.png go */
    size_t n_max;          /* largest N (experiment specific default when 0) */
    int quiet;
    int jobs;              /* print the job list instead of running */
    long job;              /* run only this job (-1: all) */
    int merge;             /* merge DIR/NAME.part-*.tsv instead of computing */
    double eps;            /* perturbation size where the experiment has one (0: its default) */
    unsigned long seed;    /* random choices (0 is a valid seed) */
    int full;              /* the paper's size instead of the default */
    int quick;             /* robustness: a smoke-test size (checks the pipeline, not the claim) */
    int medium;            /* robustness: the seeded experiment of issue 15 (robustness_medium.c)   */
    size_t seeds;          /* robustness --medium: seeds per row (0: 3)                              */
} ssm_experiment_opts;

/* κ₂(V) of HiPPO-LegS (unit columns) for N = 2 … n_max (default 128): multiprecision
 * (triangular route, digits vouched for) beside LAPACK in double. */
SSM_MUST_CHECK ssm_status ssm_experiment_kappa_growth(const ssm_experiment_opts *o);

/* |G_DPLR − G_S4D-LegS|(iω) for N = 16 … n_max (default 256): the top spike's
 * location (≈ N²/π) and height (refined sup, unit-normalised B, C) per N. */
SSM_MUST_CHECK ssm_status ssm_experiment_spikes(const ssm_experiment_opts *o);

/* N = 8 … n_max (default 128; --full 256): relative output error of S4D-LegS (B̃/2)
 * for Gaussian pulses (weak convergence), sup|G_DPLR − G_Diag| (no uniform
 * convergence), sup|G_PTD − G_DPLR| against (2 ln N + 4)‖E‖₂ (PTD at --eps, default 0.05). */
SSM_MUST_CHECK ssm_status ssm_experiment_convergence(const ssm_experiment_opts *o);

/* PTD of LegS at N = n_max (default 64) for ε = 0.3 … 1e-4: κ(Ṽ), sup|G_PTD − G_DPLR|,
 * max Re λ; one warm-started sweep in process, one job per ε with --jobs. */
SSM_MUST_CHECK ssm_status ssm_experiment_eps_sweep(const ssm_experiment_opts *o);

/* The PTD front: κ(Ṽ) against the transfer errors (C = ones, median over
 * Gaussian C) of LegS at N = 16 … n_max (default 64, 128 with --full), ε = 0.3 …
 * 1e-3, transfer weights 0, 16, 64, 256; `init ptd` at the official budgets
 * beside the official perturbations.  One job per (N, weight). */
SSM_MUST_CHECK ssm_status ssm_experiment_ptd_front(const ssm_experiment_opts *o);

/* Bode plots (magnitude, phase) of every init method at N = n_max (default 64)
 * against HiPPO-LegS. */
SSM_MUST_CHECK ssm_status ssm_experiment_bode(const ssm_experiment_opts *o);

/* σ_min(zI − A) of HiPPO-LegS, S4D-LegS and PTD at N = n_max (default 64) on
 * LegS's EigTool box (200², --full 400²), eigenvalues, α_ε and β; 3 jobs. */
SSM_MUST_CHECK ssm_status ssm_experiment_pseudospectra(const ssm_experiment_opts *o);

/* Fourier-mode noise robustness of models trained from S4D-LegS, S4D-Lin, S4-PTD (ε = eps, default 0.05)
 * and the DPLR-equivalent init under the PTD protocol on sequential Fashion-MNIST (doc/reference.md §6);
 * one job per init (--jobs / --job K / --merge).  Writes robustness.tsv, robustness-curves.tsv,
 * robustness.json.  Default size ≈ 10–20 min on 2 cores; full = the paper's model. */
SSM_MUST_CHECK ssm_status ssm_experiment_robustness(const ssm_experiment_opts *o);
/* robustness --medium (experiments/robustness_medium.c): 8 rows (5 inits frozen, 3 trained) x --seeds,
 * one resumable job per (row, seed), means with 95% t intervals and paired differences on merge. */
SSM_MUST_CHECK ssm_status ssm_experiment_robustness_medium(const ssm_experiment_opts *o);
/* The prefix of robustness --medium's files: "robustness-medium", or "robustness-medium-quick" with
 * --quick (a smoke-test run in the same folder never mixes with a full one). */
const char *ssm_experiment_medium_prefix(const ssm_experiment_opts *o);
/* DIR/NAME, NAME from fmt, into path (cap bytes); EINVAL (exit 2) naming the file when it does not fit */
SSM_MUST_CHECK ssm_status ssm_experiment_path(char *path, size_t cap, const char *dir, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Mean of x[0..n) and the half-width of its 95% Student-t interval, t_{0.975,n-1} s/sqrt(n) (NaN for
 * n = 1); EINVAL for n = 0. */
SSM_MUST_CHECK ssm_status ssm_experiment_t_ci(double *mean, double *half, const double *x, size_t n);

#endif
