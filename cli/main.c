/* cli/main.c — the `ssmkit` binary: subcommand dispatch only. */
#include "cli/cli.h"

#include <string.h>

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
    "  experiment NAME [--out DIR]                  run an experiment: NAME.tsv, NAME.json, NAME.png\n"
    "  train TASK --init FILE|METHOD [options]      train an SSM model (sfmnist adding listops sinusoid)\n"
    "  eval CHECKPOINT [--noise fourier:OMEGA:AMP]  evaluate a checkpoint, clean and with Fourier-mode noise\n"
    "\n"
    "Run 'ssmkit COMMAND --help' for the options of a command.\n"
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
    {"train", cmd_train},
    {"eval", cmd_eval},
};

int main(int argc, char **argv)
{
    cli_set_command_line(argc, argv);
    if (argc < 2)
        return fputs(USAGE, stderr), EXIT_USAGE;
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("ssmkit %s (MPFR %s, MPC %s)\n", SSM_VERSION, mpfr_get_version(), mpc_get_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(cmd, COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    return cli_usage_error("unknown command '%s' (see 'ssmkit --help')", cmd);
}
