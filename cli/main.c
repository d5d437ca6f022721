/* cli/main.c — the `ssmkit` binary: subcommand dispatch only. */
#include "cli/cli.h"

#include <errno.h>
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: ssmkit [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "Numerical analysis of state-space-model initialisations.\n"
    "\n"
    "commands:\n"
    "  hippo MEASURE -N N [--prec BITS] [-o FILE]   HiPPO matrices A, B, P (exact to the last bit)\n"
    "  init METHOD -N N [--eps E] -o FILE.safetensors  a verified initialisation file\n"
    "  verify FILE                                  recompute every check of an init file\n"
    "  transfer SPEC --omega LO:HI:COUNT[:log] [--vs SPEC2]   transfer functions\n"
    "  eig SPEC [--prec BITS] [--certify]           eigenvalues, kappa(V), backward error, any precision\n"
    "  pspec SPEC [--grid NXxNY] [--abscissa EPS] [--radius]   pseudospectra, abscissa, stability radius\n"
    "  plot bode|pspec|spectrum|kernel SPEC... -o FILE.png|svg   draw systems (data in FILE.tsv)\n"
    "  experiment NAME [--out DIR]                  run an experiment: NAME.tsv, NAME.json, NAME.png\n"
    "  train TASK --init FILE|METHOD [options]      train an SSM model (sfmnist adding listops sinusoid)\n"
    "  eval CHECKPOINT [--noise fourier:OMEGA:AMP]  evaluate a checkpoint, clean and with Fourier-mode noise\n"
    "  export CHECKPOINT -o MODEL.safetensors       a trained model with PyTorch's names and layouts\n"
    "\n"
    "Run 'ssmkit COMMAND --help' (or 'ssmkit help COMMAND') for the options of a command.\n"
    "Exit status: 0 success, 1 a check failed, 2 bad usage or bad input.\n";

static const struct {
    const char *name;
    int (*run)(int, char **);
} COMMANDS[] = {
    {"hippo", cmd_hippo},
    {"init", cmd_init},
    {"verify", cmd_verify},
    {"transfer", cmd_transfer},
    {"eig", cmd_eig},
    {"experiment", cmd_experiment},
    {"pspec", cmd_pspec},
    {"plot", cmd_plot},
    {"train", cmd_train},
    {"eval", cmd_eval},
    {"export", cmd_export},
};

/* OpenBLAS 0.3.21 does not know every CPU: on an unrecognised one it falls back
 * to a slow core (an AVX-512 Xeon ran its Prescott/SSE3 kernels: one-thread
 * sgemm 19.7 GFLOP/s against 101.9 on SkylakeX).  Unless OPENBLAS_CORETYPE is
 * set (by the user or the machine: then it stands), ssmkit picks the fastest
 * core the CPU's instruction set allows, runs the BLAS self-test on it in a
 * child process, and if it passes re-executes itself with OPENBLAS_CORETYPE
 * set (OpenBLAS reads it only when it loads).  SSMKIT_BLAS_CHOSE tells the new
 * process (and --version) what happened. */
static void choose_blas_core(char **argv)
{
    const char *set = getenv("OPENBLAS_CORETYPE");
    if ((set && *set) || getenv("SSMKIT_BLAS_CHOSE"))
        return;
    const char *best = ssm_blas_best_core(), *up = ssm_blas_upgrade(ssm_blas_core(), best);
    if (!up)
        return;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || (size_t)n >= sizeof self - 1) /* unavailable or (perhaps) truncated: keep OpenBLAS's choice */
        return;
    self[n] = '\0';
    pid_t pid = fork();
    if (pid == 0) { /* the candidate core on trial */
        setenv("OPENBLAS_CORETYPE", up, 1);
        setenv("SSMKIT_BLAS_CHOSE", "trial", 1);
        execl(self, self, "--blas-selftest", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        setenv("SSMKIT_BLAS_CHOSE", "kept (the faster core failed its self-test)", 1);
        return;
    }
    char why[160];
    snprintf(why, sizeof why, "%s (OpenBLAS chose %s on this CPU; self-test passed)", up, ssm_blas_core());
    setenv("OPENBLAS_CORETYPE", up, 1);
    setenv("SSMKIT_BLAS_CHOSE", why, 1);
    execv(self, argv);
    unsetenv("OPENBLAS_CORETYPE"); /* exec failed: carry on as we are */
    setenv("SSMKIT_BLAS_CHOSE", "kept (re-exec failed)", 1);
}

static void print_version(void)
{
    const char *chose = getenv("SSMKIT_BLAS_CHOSE"), *set = getenv("OPENBLAS_CORETYPE");
    printf("ssmkit %s (MPFR %s, MPC %s)\n", SSM_VERSION, mpfr_get_version(), mpc_get_version());
    printf("BLAS: OpenBLAS, core %s", ssm_blas_core());
    if (chose && set && *set && strncmp(chose, set, strlen(set)) == 0)
        printf(", chosen by ssmkit: %s\n", chose);
    else if (set && *set)
        printf(", set by OPENBLAS_CORETYPE=%s\n", set);
    else
        printf(" (OpenBLAS's own choice%s%s)\n", chose ? "; " : "", chose ? chose : "");
    printf("fixed kernel (PTD): reference LAPACK with ssmkit's own BLAS products, one code path on every CPU and thread count\n");
}

static int run_command(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--blas-selftest") == 0)
        return ssm_blas_selftest() ? 0 : 1;
    choose_blas_core(argv);
    /* GSL's default error handler prints and aborts (gsl_rng_alloc out of memory, say): ssmkit checks
     * every GSL return itself, so a failure becomes a status (ENOMEM) and one line, not SIGABRT */
    gsl_set_error_handler_off();
    /* a short option written "-o=FILE" or "-N=64" means "-o FILE", "-N 64" (as the long
     * options take "--out=DIR"): split it before any command parses argv */
    /* kept in statics: they live as long as the process (and are reachable, for the leak checker) */
    static char **args, *flags;
    args = malloc((size_t)(2 * argc + 1) * sizeof *args);
    flags = malloc((size_t)(3 * argc + 1));
    if (!args || !flags)
        return cli_usage_error("out of memory");
    {
        int n = 0;
        int rest = 0; /* after "--" nothing is an option */
        for (int i = 0; i < argc; i++) {
            char *a = argv[i];
            if (strcmp(a, "--") == 0)
                rest = 1;
            /* only the short options that take a value: -o FILE, -N SIZE */
            if (i > 0 && !rest && a[0] == '-' && (a[1] == 'o' || a[1] == 'N') && a[2] == '=') {
                char *flag = flags + 3 * i; /* "-X": lives as long as the process */
                flag[0] = '-'; flag[1] = a[1]; flag[2] = '\0';
                args[n++] = flag;
                args[n++] = a + 3;
            } else {
                args[n++] = a;
            }
        }
        args[n] = NULL;
        argc = n;
        argv = args;
    }
    cli_set_command_line(argc, argv);
    if (argc < 2)
        return fputs(USAGE, stderr), EXIT_USAGE;
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 && argc == 3) { /* ssmkit help CMD = ssmkit CMD --help */
        for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
            if (strcmp(argv[2], COMMANDS[i].name) == 0) {
                char *h[3] = {argv[2], "--help", NULL};
                return COMMANDS[i].run(2, h);
            }
        cmd = argv[2]; /* unknown: said below, with a suggestion */
    } else if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        print_version();
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(cmd, COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    /* did you mean: the command at the smallest edit distance, when it is close */
    const char *names[sizeof COMMANDS / sizeof COMMANDS[0]];
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        names[i] = COMMANDS[i].name;
    const char *near = ssm_closest_name(cmd, names, sizeof names / sizeof names[0], 2);
    if (near)
        return cli_usage_error("unknown command '%s'; did you mean '%s'? (see 'ssmkit --help')", cmd, near);
    return cli_usage_error("unknown command '%s' (see 'ssmkit --help')", cmd);
}

/* Everything a command printed on stdout must reach it: a full disk behind a redirection (or
 * `> /dev/full`) is reported, with exit status 1, instead of being lost at exit (EWRITE's status). */
int main(int argc, char **argv)
{
    int rc = run_command(argc, argv);
    errno = 0;
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) { /* a failed command has said why already */
        fprintf(stderr, "ssmkit: cannot write to standard output: %s\n", errno ? strerror(errno) : "write error");
        return EXIT_CHECK;
    }
    return rc;
}
