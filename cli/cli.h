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

/* 1 when s ends with suffix. */
int cli_ends_with(const char *s, const char *suffix);

/* ---- system specs (cli/spec.c) ------------------------------------------ */

typedef enum { CLI_SPEC_HIPPO, CLI_SPEC_INIT, CLI_SPEC_TARGET, CLI_SPEC_MATRIX } cli_spec_kind;

/* A system named on the command line, as read. */
typedef struct {
    cli_spec_kind kind;
    size_t N;                   /* the state size (matrix order)                                */
    ssm_hippo_measure measure;  /* HIPPO                                                        */
    ssm_dmat_t A, B, P;         /* HIPPO with hippo_dense: A, B and the rank correction P (r×N,
                                 * 0×0 when the measure has none)                                */
    ssm_init_file *init;        /* INIT (a file or init:METHOD:N) and TARGET: the file, validated */
    ssm_zmat_t Z;               /* MATRIX: the matrix; is_complex: the file held complex entries */
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
 * (.safetensors tagged ssmkit-init/1), or a matrix file (.npy float64 or
 * complex128 2-d C order, .tsv, a .safetensors with tensor "A" or "A_target";
 * square, non-empty, finite).  Returns -1 on success, else the exit code after
 * printing one line (y is then clear).  cli_spec_clear frees. */
int cli_spec_load(cli_spec *y, const char *text, const cli_spec_rules *r);
void cli_spec_clear(cli_spec *y);

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

#endif
