/* experiments/common.h — the machinery shared by the grid experiments (not
 * installed): datasets that jobs append rows to, the job protocol (--jobs /
 * --job K / --merge / all in process), and the writers of the tables
 * (DIR/NAME.tsv and DIR/NAME-SUFFIX.tsv, one table per file, README "File
 * formats") and of NAME.json. */
#ifndef SSM_EXPERIMENTS_COMMON_H
#define SSM_EXPERIMENTS_COMMON_H

#include "experiments/experiments.h"

#include <jansson.h>

#define EXP_MAX_SETS 64

/* dataset d: rows of `cols` doubles, a title (a comment line above its rows) and
 * its label in the table's key column (a word: no blanks, no '#') */
typedef struct {
    double *v;
    size_t rows, cols, cap;
    char title[160];
    char series[48];
    size_t scan; /* > 0: a blank line after every `scan` rows (grid rows for gnuplot's splot) */
} exp_set;

typedef struct {
    exp_set set[EXP_MAX_SETS];
    size_t nsets;
} exp_data;

/* append one row (cols doubles) to dataset d; the first row fixes the width */
SSM_MUST_CHECK ssm_status exp_add(exp_data *x, size_t d, const double *row, size_t cols);
void exp_title(exp_data *x, size_t d, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* the label of dataset d in its table's key column */
void exp_series(exp_data *x, size_t d, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void exp_data_clear(exp_data *x);
/* A stored value that should be a count or an index (N, a method number) as an integer: -1 unless it
 * is a whole number in [0, 2^53] — merged part files may hold anything, and converting an
 * out-of-range double to an integer type is undefined behaviour. */
static inline long long exp_index(double v)
{
    return v >= 0 && v <= 9007199254740992.0 && v == (double)(long long)v ? (long long)v : -1;
}

/* element (r, c) of dataset d */
#define EXP_AT(x, d, r, c) ((x)->set[d].v[(r) * (x)->set[d].cols + (c)])

/* One output table: datasets first … last (EXP_LAST: through the last one) of
 * the experiment in DIR/NAME<suffix>.tsv.  With a key, the first column (named
 * key: "series", "method", …) holds each dataset's label, so several datasets
 * form one long table; blocks: two blank lines between datasets (gnuplot's
 * `index`; pandas and genfromtxt skip blank lines).  Every dataset of a table
 * has the columns named in `columns`; `about` is a comment line on the table. */
#define EXP_LAST ((size_t)-1)
typedef struct {
    const char *suffix;
    const char *key;
    const char *columns;
    size_t first, last;
    int blocks;
    const char *about;
} exp_table;

#define EXP_MAX_TABLES 8

typedef struct {
    const char *name;
    /* the tables written on finishing (the first is NAME.tsv: suffix "") */
    exp_table tables[EXP_MAX_TABLES];
    /* number of independent jobs for these options */
    size_t (*jobs)(const ssm_experiment_opts *o);
    /* run job k (k < jobs), appending its rows; title its datasets */
    ssm_status (*job)(exp_data *x, const ssm_experiment_opts *o, size_t k);
    /* all jobs done (or merged): header lines for NAME.tsv (without '#'), the
     * JSON summary (add keys to j) and the printed summary line */
    ssm_status (*finish)(exp_data *x, const ssm_experiment_opts *o, char *header, size_t header_cap, json_t *j,
                         char *summary, size_t summary_cap);
    /* optional: every job at once when run in process (e.g. one warm-started sweep instead of one
     * continuation per job); must append exactly what the jobs would */
    ssm_status (*all)(exp_data *x, const ssm_experiment_opts *o);
} exp_def;

/* The job protocol: --jobs prints one command per job; --job K writes
 * DIR/NAME.part-K.tsv; --merge reads every part (EINVAL naming the first
 * missing one) and finishes; otherwise every job runs here (progress bar
 * unless quiet) and finishes.  Finishing writes DIR/NAME.tsv and NAME.json
 * atomically and prints the summary unless quiet. */
SSM_MUST_CHECK ssm_status exp_run(const exp_def *e, const ssm_experiment_opts *o);

/* a JSON number, or null for NaN and infinities (which JSON has no spelling for) */
json_t *exp_jnum(double x);
/* j written to path atomically (temp + rename), indented, doubles to 17 digits, keys in order */
SSM_MUST_CHECK ssm_status exp_write_json(const char *path, json_t *j);
/* Parse one part file (what --job K writes: the names line, '#' lines with titles and series labels,
 * rows "set cols v1 v2 …") held in memory and append its rows to x; `name` prefixes the messages.
 * EFORMAT for anything else (fuzz/fuzz-merge.c feeds it arbitrary bytes). */
SSM_MUST_CHECK ssm_status exp_read_part_mem(exp_data *x, const char *buf, size_t len, const char *name);

/* the command line options that reproduce o (for --jobs), into buf */
void exp_opts_string(char *buf, size_t cap, const ssm_experiment_opts *o);

/* An init file built in memory (C = ones, conjugate symmetric) and its modal
 * system; *bc = ‖B_target‖₂‖C_target‖₂ when the file has a target (else 1):
 * dividing by it gives the paper's unit-normalised B, C. */
SSM_MUST_CHECK ssm_status exp_init_modal(ssm_tf_modal *m, ssm_init_file **file, double *bc, ssm_init_method meth, size_t N, double eps);

/* the HiPPO-LegS pair with C = ones as a Hessenberg plan (= the DPLR system in exact arithmetic) */
ssm_tf_plan *exp_legs_plan(size_t N, ssm_status *s);

/* HiPPO-LegS at N as a 2048-bit complex matrix in A (initialised here; the caller
 * clears it, also on failure) and its 256-bit eigendecomposition's report in *mi
 * (κ₂(V), digits vouched); the triangular route is exact to the digits it vouches */
SSM_MUST_CHECK ssm_status exp_legs_mp_eig(ssm_mpcmat_t A, ssm_mpeig_info *mi, size_t N);

/* |Im λ| of a modal system's poles, for ssm_dist_opts.extra (caller frees) */
double *exp_pole_freqs(const ssm_tf_modal *m);

/* least-squares slope of log(column col) against log(column 0) over the rows
 * of t where both logs are finite (NaN with fewer than two such rows) */
double exp_loglog_slope(const exp_set *t, size_t col);

/* sizes N = 8, 16, …, up to n_max (from `first`) */
size_t exp_sizes(size_t *N, size_t cap, size_t first, size_t n_max);

/* The transfer errors of A + E (N×N row-major E) against HiPPO-LegS (A lower
 * triangular, B), on 2500 log points on [1e-2, 50 N²/π] plus 1500 linear on
 * [0.5, 1.5] N²/π: target C(sI − A)⁻¹B by forward substitution, model
 * C Ṽ (sI − Λ)⁻¹ Ṽ⁻¹ B from the eigendecomposition of A + E.
 *   ones  = sup|G − G_LegS| / sup|G_LegS| with C = ones;
 *   randC = the median of that ratio over 200 Gaussian C (GSL mt19937, seed 1). */
SSM_MUST_CHECK ssm_status exp_ptd_errors(double *ones, double *randc, const ssm_dmat_t A, const ssm_dmat_t B, const double *E);

/* ---- resolved pseudospectrum contours (experiments/contour.c) ---- */

typedef struct {
    double level_log10[32]; /* the levels ε (log10), at most 32 */
    size_t nlevels;
    double accept;          /* a cell is accepted when σ at its edge midpoints and centre is within this
                             * factor of the bilinear interpolation of log σ (e.g. 1.05) */
    int max_depth;          /* quadtree depth below a coarse cell */
    size_t max_points;      /* σ evaluations allowed */
} exp_contour_opts;

typedef struct {
    size_t segments;        /* segments kept (0 when unresolved) */
    size_t unresolved;      /* cells left unaccepted at the limits: > 0 means the level is not drawn */
    double worst_log10;     /* the largest |log10 σ − interpolation| over the accepted cells it crosses */
} exp_level_info;

/* The contours σ_min(zI − A) = 10^level of every level through the nx×ny grid
 * sigma over box (ssm_pspec_grid's layout), refined where needed (see
 * contour.c): rows level_log10 xa ya xb yb (one segment each) appended to
 * dataset d, only for resolved levels.  ev: the nev eigenvalues (every
 * component of Λ_ε holds one).  li: one record per level; *points: the σ
 * evaluations spent. */
SSM_MUST_CHECK ssm_status exp_contours(exp_data *x, size_t d, exp_level_info *li, size_t *points,
                                       const ssm_pspec_plan *p, const double box[4], size_t nx, size_t ny,
                                       const double *sigma, const double complex *ev, size_t nev,
                                       const exp_contour_opts *o);

#endif
