/* experiments/experiments.h — one driver per experiment; each writes
 * DIR/NAME.tsv and DIR/NAME.json (and the figure via plots/NAME.gp). */
#ifndef SSM_EXPERIMENTS_H
#define SSM_EXPERIMENTS_H

#include "ssmkit.h"

typedef struct {
    const char *out_dir;   /* where NAME.tsv / NAME.json / NAME.png go */
    size_t n_max;          /* largest N (experiment specific default when 0) */
    int quiet;
    int jobs;              /* print the job list instead of running */
} ssm_experiment_opts;

/* κ₂(V) of HiPPO-LegS (unit columns) for N = 2 … n_max (default 128): multiprecision
 * (triangular route, digits vouched for) beside LAPACK in double. */
ssm_status ssm_experiment_kappa_growth(const ssm_experiment_opts *o);

#endif
