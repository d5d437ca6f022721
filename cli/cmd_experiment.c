/* cli/cmd_experiment.c — `ssmkit experiment NAME [--out DIR] [--n-max N] [--jobs]` */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"
#include "experiments/experiments.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char HELP[] =
    "usage: ssmkit experiment NAME [--out DIR] [--n-max N] [--jobs] [-q]\n"
    "\n"
    "Run an experiment: writes DIR/NAME.tsv and DIR/NAME.json, then DIR/NAME.png with gnuplot from\n"
    "plots/NAME.gp (looked up in ./plots or $SSMKIT_PLOTS; skipped, and said so, when absent).\n"
    "\n"
    "NAME: kappa-growth   kappa_2(V) of HiPPO-LegS vs N to --n-max (default 128), multiprecision\n"
    "                     beside double precision (about a minute)\n"
    "options: --out DIR (default .), --n-max N, --jobs (print the job list for GNU parallel/Slurm), -q\n";

static void figure(const char *name, const char *dir, int quiet)
{
    char script[1024];
    const char *env = getenv("SSMKIT_PLOTS");
    snprintf(script, sizeof script, "%s/%s.gp", env && *env ? env : "plots", name);
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "ssmkit: experiment: figure skipped (%s not found; set SSMKIT_PLOTS)\n", script);
        return;
    }
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr, "ssmkit: experiment: figure skipped (gnuplot not installed: apt-get install gnuplot-nox)\n");
        return;
    }
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "gnuplot -e \"dir='%s'\" '%s'", dir, script);
    if (system(cmd) != 0)
        fprintf(stderr, "ssmkit: experiment: gnuplot failed on %s\n", script);
    else if (!quiet)
        printf("figure: %s/%s.png\n", dir, name);
}

int cmd_experiment(int argc, char **argv)
{
    static const struct option LONG[] = {
        {"help", no_argument, NULL, 'h'}, {"out", required_argument, NULL, 'o'},
        {"n-max", required_argument, NULL, 'n'}, {"jobs", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'}, {NULL, 0, NULL, 0},
    };
    ssm_experiment_opts o = {.out_dir = "."};
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":ho:q", LONG, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(HELP, stdout); return 0;
        case 'o': o.out_dir = optarg; break;
        case 'n': if (!cli_parse_size(&o.n_max, "--n-max", optarg)) return EXIT_USAGE; break;
        case 'j': o.jobs = 1; break;
        case 'q': o.quiet = 1; break;
        case ':': return cli_usage_error("experiment: option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("experiment: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("experiment: missing NAME (see 'ssmkit experiment --help')");
    if (optind + 1 < argc)
        return cli_usage_error("experiment: unexpected argument '%s'", argv[optind + 1]);
    const char *name = argv[optind];
    struct stat st;
    if (stat(o.out_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cli_usage_error("experiment: output folder '%s' does not exist", o.out_dir);
    if (access(o.out_dir, W_OK) != 0)
        return cli_usage_error("experiment: cannot write to '%s': %s", o.out_dir, strerror(errno));
    ssm_status s;
    if (strcmp(name, "kappa-growth") == 0) {
        if (o.n_max > 256)
            return cli_usage_error("experiment: --n-max %zu is above the 256 supported", o.n_max);
        s = ssm_experiment_kappa_growth(&o);
    } else {
        return cli_usage_error("experiment: unknown or not yet implemented experiment '%s' (have: kappa-growth)", name);
    }
    if (s != SSM_OK)
        return cli_fail(s);
    if (!o.jobs)
        figure(name, o.out_dir, o.quiet);
    return 0;
}
