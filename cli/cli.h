/* cli/cli.h — helpers shared by the subcommands of the `ssmkit` binary.
 * The CLI is the only place that prints errors and chooses exit codes:
 * 0 success, 1 a check failed (or numerical failure), 2 bad usage/input. */
#ifndef SSM_CLI_H
#define SSM_CLI_H

#include "ssmkit.h"

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

/* "hippo:MEASURE:N" → measure and N (checked, N <= nmax).  Returns -1 on
 * success, else the exit code after printing the error. */
int cli_parse_hippo_spec(ssm_hippo_measure *m, size_t *N, const char *spec, size_t nmax, const char *cmd);

/* 1 when s ends with suffix. */
int cli_ends_with(const char *s, const char *suffix);

/* "init:METHOD:N" → method and N.  Returns -1 on success, else the exit code
 * after printing the error. */
int cli_parse_init_spec(ssm_init_method *m, size_t *N, const char *spec, const char *cmd);

/* A matrix file (.npy float64/complex128 2-d C order, .tsv, .safetensors with
 * tensor "A" or else "A_target") as a complex double matrix; *is_complex says
 * whether the file held complex entries.  Square, non-empty, at most nmax,
 * finite entries.  Returns -1 on success, else the exit code after printing. */
int cli_load_matrix_file(ssm_zmat_t A, int *is_complex, const char *path, const char *cmd, size_t nmax);

/* The command line joined by spaces, for '#' provenance lines (static buffer). */
const char *cli_command_line(void);
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
