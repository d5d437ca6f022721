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
    int full;              /* the paper's size instead of the quick default */
} ssm_experiment_opts;

/* κ₂(V) of HiPPO-LegS (unit columns) for N = 2 … n_max (default 128): multiprecision
 * (triangular route, digits vouched for) beside LAPACK in double. */
ssm_status ssm_experiment_kappa_growth(const ssm_experiment_opts *o);

/* Fourier-mode noise robustness of models trained from S4D-LegS, S4D-Lin, S4-PTD (ε = eps, default 0.05)
 * and the DPLR-equivalent init under the PTD protocol on sequential Fashion-MNIST (REFERENCE.md §6);
 * one job per init (--jobs / --job K / --merge).  Writes robustness.tsv, robustness-curves.tsv,
 * robustness.json.  Default size ≈ 10–20 min on 2 cores; full = the paper's model. */
ssm_status ssm_experiment_robustness(const ssm_experiment_opts *o);

#endif
