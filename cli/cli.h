/* cli/cli.h — helpers shared by the subcommands of the `ssmkit` binary.
 * The CLI is the only place that prints errors and chooses exit codes:
 * 0 success, 1 a check failed (or numerical failure), 2 bad usage/input. */
#ifndef SSM_CLI_H
#define SSM_CLI_H

#include "ssmkit.h"

#include <jansson.h>

enum { EXIT_CHECK = 1, EXIT_USAGE = 2 };

/* Print "ssmkit: <message>" (one line) on stderr and return EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Print the library's last error message and return the exit code for s. */
int cli_fail(ssm_status s);

/* Parse a positive integer option value (no sign, no trailing junk). */
int cli_parse_size(size_t *out, const char *opt, const char *text);
/* Parse a long in [lo, hi]. */
int cli_parse_long(long *out, const char *opt, const char *text, long lo, long hi);

typedef enum { OUT_STDOUT_TSV, OUT_TSV, OUT_NPY, OUT_SAFETENSORS } cli_out_kind;
/* Output format from the extension of path (NULL → TSV on stdout).
 * Returns 0 and prints the error for an unknown extension. */
int cli_out_kind_of(cli_out_kind *k, const char *path);

/* 1 when the folder of path exists and is writable; else 0 after printing why. */
int cli_output_dir_ok(const char *path);

/* 1 when s ends with suffix. */
int cli_ends_with(const char *s, const char *suffix);

/* ---- system specs (cli/spec.c) ------------------------------------------ */

typedef enum { CLI_SPEC_HIPPO, CLI_SPEC_INIT, CLI_SPEC_TARGET, CLI_SPEC_MATRIX, CLI_SPEC_SYSTEM } cli_spec_kind;

/* A system named on the command line, as read. */
typedef struct {
    cli_spec_kind kind;
    size_t N;                   /* the state size (matrix order)                                */
    ssm_hippo_measure measure;  /* HIPPO                                                        */
    ssm_dmat_t A, B, P;         /* HIPPO with hippo_dense: A, B and the rank correction P (r×N,
                                 * 0×0 when the measure has none)                                */
    ssm_init_file *init;        /* INIT (a file or init:METHOD:N) and TARGET: the file, validated */
    ssm_zmat_t Z;               /* MATRIX and SYSTEM: the matrix A; is_complex: the file held complex
                                 * entries                                                        */
    ssm_zmat_t Bm, Cm, Dm;      /* SYSTEM: B n×m, C p×n, D p×m (zero when the file has none)      */
    int is_complex;
} cli_spec;

typedef struct {
    const char *cmd;            /* the command, for messages                                  */
    size_t nmax;                /* the largest state size the command takes                   */
    int hippo_dense;            /* build a hippo: spec's A, B, P in double (0: measure, N only) */
    const ssm_init_opts *io;    /* the options of init:METHOD:N (NULL: the defaults)          */
    size_t init_nmax;           /* the largest N of an init:METHOD:N spec, refused before it is
                                 * built (0: nmax)                                             */
} cli_spec_rules;

/* Read a spec: hippo:MEASURE:N, init:METHOD:N, target:FILE, an init file
 * (.safetensors tagged ssmkit-init/1), a matrix file (.npy float64 or
 * complex128 2-d C order, .tsv, a .safetensors with tensor "A" or "A_target",
 * an .npz with array "A"; square, non-empty, finite), or a system file: a
 * .safetensors (F64) or .npz (float64/complex128) holding A [n,n], B [n,m] or
 * [n], C [p,n] or [n] and optionally D [p,m] (a scalar when p = m = 1).  Returns -1 on success, else the exit code after
 * printing one line (y is then clear).  cli_spec_clear frees. */
int cli_spec_load(cli_spec *y, const char *text, const cli_spec_rules *r);
void cli_spec_clear(cli_spec *y);

/* ---- systems to evaluate and state matrices (cli/system.c) ---------------- */

/* A spec ready to evaluate: modal (init files, init:METHOD:N) or dense (hippo:MEASURE:N with C
 * from the rules' io->C and io->seed, target:FILE, (A, B, C, D) files).  Channel (i, j) is
 * output i, input j; p = m = 1 except for system files. */
typedef struct {
    size_t n, p, m;           /* states, outputs, inputs                                        */
    ssm_init_file *file;      /* modal systems: the init file (owned)                           */
    ssm_tf_modal modal;       /* a view into file                                               */
    int is_modal;
    ssm_zmat_t A, B, C, D;    /* dense systems: A n×n, B n×m, C p×n, D p×m                      */
    ssm_tf_plan **plan;       /* dense: one Hessenberg plan per channel, (i, j) at i·m + j, built
                               * by cli_system_channel when first asked for                     */
    int real;                 /* a real system (init models are complexified real systems)      */
} cli_system;

/* -1 on success, else the exit code after one line (matrix files are refused: no B, C). */
int cli_system_load(cli_system *y, const char *text, const cli_spec_rules *r);
void cli_system_clear(cli_system *y);
/* The transfer function of channel (i, j) as a callback (valid while y lives). */
SSM_MUST_CHECK ssm_status cli_system_channel(ssm_tf_fn *f, cli_system *y, size_t i, size_t j);
/* |Im λ| of every pole appended to *w (realloc'd; *count updated): where resonances sit. */
SSM_MUST_CHECK ssm_status cli_system_poles(double **w, size_t *count, const cli_system *y);
/* The eigenvalues of the state matrix (the full conjugate-closed set of a modal system). */
SSM_MUST_CHECK ssm_status cli_system_eigvals(double complex **lam, size_t *n, const cli_system *y);
/* The dense SISO form A, b, c (initialised here) and D; a modal system in its modal coordinates. */
SSM_MUST_CHECK ssm_status cli_system_dense(ssm_zmat_t A, ssm_zmat_t b, ssm_zmat_t c, double complex *D,
                                           const cli_system *y);
/* The ZOH kernel at step dt, every channel: K[(i·m + j)·L + ℓ], ℓ < L (analysis/kernel.c). */
SSM_MUST_CHECK ssm_status cli_system_kernel(double complex *K, const cli_system *y, double dt, size_t L);

/* A spec's state matrix for pseudospectra: dense A, or the DPLR form diag(λ) − P P*. */
typedef struct {
    ssm_zmat_t A;              /* dense matrix (rows 0 when only the DPLR form is at hand) */
    double complex *lambda;    /* DPLR form, or NULL */
    ssm_zmat_t P;
    int real;
} cli_matrix;

/* route: 0 auto, 1 dense, 2 dplr (pspec --route); nmax > 0: a matrix of order above it is refused
 * before anything is built.  -1 on success, else the exit code. */
int cli_matrix_load(cli_matrix *m, const char *spec, int route, const char *cmd, size_t nmax);
void cli_matrix_clear(cli_matrix *m);
/* The dense matrix of a DPLR-only form (A initialised here). */
SSM_MUST_CHECK ssm_status cli_matrix_dense(ssm_zmat_t A, const cli_matrix *m);
/* Its eigenvalues (*ev malloc'd, n of them): the diagonal of a triangular matrix, else zgeev. */
SSM_MUST_CHECK ssm_status cli_matrix_eigvals(double complex **ev, const cli_matrix *m);
/* EigTool's default box (ssm_pspec_box) from the plan's eigenvalues or cli_matrix_eigvals. */
SSM_MUST_CHECK ssm_status cli_matrix_box(double box[4], const cli_matrix *m, const ssm_pspec_plan *p);

/* ---- JSON on stdout (the schemas: doc/json.md) --------------------------- */

/* a JSON number, or null for NaN and infinities (JSON has no spelling for them) */
json_t *cli_jnum(double x);
/* Print o as one compact line on stdout (17 significant digits, keys in insertion order) and release
 * it.  ENOMEM when o is NULL (a failed json_pack), EIO when stdout cannot be written. */
SSM_MUST_CHECK ssm_status cli_json_print(json_t *o);

/* The command line joined by spaces, for '#' provenance lines (static buffer). */
const char *cli_command_line(void);

/* The gnuplot script plots/NAME.gp, looked up in $SSMKIT_PLOTS, then ./plots (a source checkout), then
 * the installed SSM_DATADIR/plots (`make install`: PREFIX/share/ssmkit/plots).  Writes the path into
 * buf; returns 1 when found (readable), 0 otherwise (buf then holds the last place looked). */
int cli_plot_script(char *buf, size_t n, const char *name);
void cli_set_command_line(int argc, char **argv);

int cmd_hippo(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_transfer(int argc, char **argv);
int cmd_eig(int argc, char **argv);
int cmd_experiment(int argc, char **argv);
int cmd_pspec(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_plot(int argc, char **argv);

#endif
