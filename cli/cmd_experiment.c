/* cli/cmd_experiment.c — `ssmkit experiment NAME [options]`: one table of drivers. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"
#include "experiments/experiments.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One line per experiment: name, driver, largest --n-max accepted, one-line description. */
static const struct {
    const char *name;
    ssm_status (*run)(const ssm_experiment_opts *);
    size_t n_max_limit;
    const char *what;
} EXPERIMENTS[] = {
    {"kappa-growth", ssm_experiment_kappa_growth, 256,
     "kappa_2(V) of HiPPO-LegS vs N to --n-max (default 128), multiprecision beside double (~1 min)"},
    {"spikes", ssm_experiment_spikes, 1024,
     "|G_DPLR - G_S4D-LegS| for N = 16 .. --n-max (default 256): spike location ~ N^2/pi, height (~5 s)"},
    {"convergence", ssm_experiment_convergence, 512,
     "N = 8 .. --n-max (default 128, --full 256): output error, sup|G_DPLR - G_Diag|, PTD error (~1 min)"},
    {"eps-sweep", ssm_experiment_eps_sweep, 256,
     "PTD at N = --n-max (default 64), eps 0.3 .. 1e-4: kappa, transfer errors (ones, randC), max Re lambda (~40 s)"},
    {"ptd-front", ssm_experiment_ptd_front, 128,
     "PTD of LegS at N = 16 .. --n-max (default 64; 128), eps 0.3 .. 1e-3, 4 transfer weights: kappa vs "
     "transfer error, the official points (~2 min)"},
    {"pseudospectra", ssm_experiment_pseudospectra, 512,
     "sigma_min(zI - A) of LegS, S4D-LegS, PTD at N = --n-max (default 64): resolved contours, alpha_eps, beta "
     "(~25 s)"},
    {"bode", ssm_experiment_bode, 1024,
     "magnitude and phase of every init's G at N = --n-max (default 64) against HiPPO-LegS (~5 s)"},
    {"robustness", ssm_experiment_robustness, 0,
     "Fourier-noise robustness of sfmnist models from 4 inits, PTD protocol (~10-20 min; --full: paper size; "
     "--quick: a smoke-test size, ~20 s; --medium: 8 models x 3 seeds, full split, CIs, ~5 h on 2 free cores as 24 jobs)"},
};

static void help(void)
{
    fputs("usage: ssmkit experiment NAME [--out DIR] [--n-max N] [--eps E] [--seed S] [--full | --quick]\n"
          "                              [--jobs | --job K | --merge] [--json] [-q]\n"
          "       ssmkit experiment robustness --medium [--quick] [--seeds K] [--seed S] [--out DIR]\n"
          "                              [--jobs | --job K | --merge] [--json] [-q]\n"
          "\n"
          "Run an experiment: writes DIR/NAME.tsv (and, where the experiment has more tables, DIR/NAME-*.tsv)\n"
          "and DIR/NAME.json, then DIR/NAME.png with gnuplot from plots/NAME.gp (looked up in $SSMKIT_PLOTS,\n"
          "else ./plots, else the installed share/ssmkit/plots; skipped, and said so, when absent).  Tables\n"
          "and JSON: README, \"File formats\", and doc/json.md.\n"
          "\n",
          stdout);
    for (size_t i = 0; i < sizeof EXPERIMENTS / sizeof *EXPERIMENTS; i++)
        printf("  %-14s %s\n", EXPERIMENTS[i].name, EXPERIMENTS[i].what);
    fputs("\n"
          "options: --out DIR (default ., created if absent), --n-max N, --eps E, --seed S, --full (paper size),\n"
          "         --quick (robustness only: a smoke-test size for checking the pipeline, not for conclusions),\n"
          "         --medium (robustness only: 8 models x --seeds K (default 3) on the full sfmnist split, d_model 64,\n"
          "         4 layers, d_state 64, 3 epochs; one resumable job per (model, seed): DIR/robustness-medium.*;\n"
          "         measured on 2 free cores: 10-11 min per job, S4 (DPLR) 18 min, 24 jobs ~5 h of wall time;\n"
          "         --quick with --medium: the protocol at a toy size, ~30 s,\n"
          "         files DIR/robustness-medium-quick.*),\n"
          "         --json (the summary NAME.json as one line on stdout), -q\n"
          "grid experiments: --jobs prints one command per job (GNU parallel / a Slurm array), --job K runs\n"
          "job K only (DIR/NAME.part-K.tsv), --merge joins the parts into NAME.tsv/.json and draws the figure\n",
          stdout);
}

/* plots/NAME.gp on DIR; pre: the files' prefix when it is not NAME (gnuplot variable pre) */
static void figure(const char *name, const char *pre, const char *dir, int quiet)
{
    char script[1024];
    if (!cli_plot_script(script, sizeof script, name)) {
        fprintf(stderr, "ssmkit: experiment: figure skipped (%s not found; set SSMKIT_PLOTS)\n", script);
        return;
    }
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr, "ssmkit: experiment: figure skipped (gnuplot not installed: apt-get install gnuplot-nox)\n");
        return;
    }
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "gnuplot -e \"dir='%s'; pre='%s'\" '%s'", dir, pre, script);
    if (system(cmd) != 0)
        fprintf(stderr, "ssmkit: experiment: gnuplot failed on %s\n", script);
    else if (!quiet)
        printf("figure: %s/%s.png\n", dir, pre);
}

int cmd_experiment(int argc, char **argv)
{
    static const struct option LONG[] = {
        {"help", no_argument, NULL, 'h'}, {"out", required_argument, NULL, 'o'},
        {"n-max", required_argument, NULL, 'n'}, {"jobs", no_argument, NULL, 'j'},
        {"job", required_argument, NULL, 'k'}, {"merge", no_argument, NULL, 'm'},
        {"eps", required_argument, NULL, 'e'}, {"seed", required_argument, NULL, 's'},
        {"full", no_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'}, {"json", no_argument, NULL, 'J'},
        {"quick", no_argument, NULL, 'Q'}, {"medium", no_argument, NULL, 'M'},
        {"seeds", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    ssm_experiment_opts o = {.out_dir = ".", .job = -1};
    int json = 0;
    opterr = 0;
    optind = 1;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, ":ho:q", LONG, NULL)) != -1) {
        switch (c) {
        case 'h': help(); return 0;
        case 'o': o.out_dir = optarg; break;
        case 'n': if (!cli_parse_size(&o.n_max, "--n-max", optarg)) return EXIT_USAGE; break;
        case 'j': o.jobs = 1; break;
        case 'k':
            if (!cli_parse_long(&o.job, "--job", optarg, 0, 1000000)) return EXIT_USAGE;
            break;
        case 'm': o.merge = 1; break;
        case 'e': {
            char *end;
            errno = 0;
            o.eps = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o.eps > 0 && o.eps < 1))
                return cli_usage_error("experiment: --eps '%s' is not a number in (0, 1)", optarg);
            break;
        }
        case 's':
            if (!cli_parse_long(&v, "--seed", optarg, 0, 2147483647L)) return EXIT_USAGE;
            o.seed = (unsigned long)v;
            break;
        case 'f': o.full = 1; break;
        case 'Q': o.quick = 1; break;
        case 'M': o.medium = 1; break;
        case 'S':
            if (!cli_parse_long(&v, "--seeds", optarg, 2, 16)) return EXIT_USAGE;
            o.seeds = (size_t)v;
            break;
        case 'q': o.quiet = 1; break;
        case 'J': json = 1; break;
        case ':': return cli_usage_error("experiment: option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("experiment: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("experiment: missing NAME (see 'ssmkit experiment --help')");
    if (optind + 1 < argc)
        return cli_usage_error("experiment: unexpected argument '%s'", argv[optind + 1]);
    if (o.jobs + o.merge + (o.job >= 0) > 1)
        return cli_usage_error("experiment: --jobs, --job and --merge exclude each other");
    const char *name = argv[optind];
    size_t e = 0, ne = sizeof EXPERIMENTS / sizeof *EXPERIMENTS;
    while (e < ne && strcmp(name, EXPERIMENTS[e].name) != 0)
        e++;
    if (e == ne)
        return cli_usage_error("experiment: unknown experiment '%s' (see 'ssmkit experiment --help')", name);
    if (o.quick && strcmp(name, "robustness") != 0)
        return cli_usage_error("experiment: --quick applies to robustness only (the others take --n-max)");
    if (o.quick && o.full)
        return cli_usage_error("experiment: --quick and --full exclude each other");
    if (o.medium && strcmp(name, "robustness") != 0)
        return cli_usage_error("experiment: --medium applies to robustness only");
    if (o.medium && o.full)
        return cli_usage_error("experiment: --medium and --full exclude each other");
    if (o.seeds && !o.medium)
        return cli_usage_error("experiment: --seeds applies to robustness --medium only");
    if (o.medium && o.eps > 0)
        return cli_usage_error("experiment: --medium fixes the PTD budget at 0.05 (no --eps)");
    if (o.n_max > EXPERIMENTS[e].n_max_limit)
        return cli_usage_error("experiment: --n-max %zu is above the %zu supported by %s", o.n_max,
                               EXPERIMENTS[e].n_max_limit, name);
    if (json && (o.jobs || o.job >= 0))
        return cli_usage_error("experiment: --json prints the merged summary: not with --jobs or --job");
    if (json)
        o.quiet = 1; /* stdout carries the JSON line alone */
    /* the output folder is created (with its parents) before any work; only the missing
     * prefixes are made (mkdir on an existing one may say EACCES or EROFS, not EEXIST) */
    char path[4096];
    if (!*o.out_dir)
        return cli_usage_error("experiment: --out needs a folder name");
    if ((size_t)snprintf(path, sizeof path, "%s", o.out_dir) >= sizeof path)
        return cli_usage_error("experiment: the output folder name is too long");
    for (char *q = path + 1; ; q++) {
        int end = *q == '\0';
        if (*q == '/' || end) {
            *q = '\0';
            struct stat pst;
            if (stat(path, &pst) != 0 && mkdir(path, 0777) != 0 && errno != EEXIST)
                return cli_usage_error("experiment: cannot create the output folder '%s': %s", path, strerror(errno));
            if (end)
                break;
            *q = '/';
        }
    }
    struct stat st;
    if (stat(o.out_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cli_usage_error("experiment: output folder '%s' is not a folder", o.out_dir);
    if (access(o.out_dir, W_OK) != 0)
        return cli_usage_error("experiment: cannot write to '%s': %s", o.out_dir, strerror(errno));
    ssm_status s = EXPERIMENTS[e].run(&o);
    if (s != SSM_OK)
        return cli_fail(s);
    if (!o.jobs && o.job < 0)
        figure(o.medium ? "robustness-medium" : name, o.medium ? ssm_experiment_medium_prefix(&o) : name, o.out_dir,
               o.quiet);
    if (json) { /* the summary DIR/NAME.json, as one line on stdout */
        snprintf(path, sizeof path, "%s/%s.json", o.out_dir, o.medium ? ssm_experiment_medium_prefix(&o) : name);
        json_error_t je;
        json_t *j = json_load_file(path, 0, &je);
        char *t = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER) : NULL;
        if (t)
            printf("%s\n", t);
        free(t);
        json_decref(j);
        if (!t)
            return cli_fail(SSM_ERROR(SSM_EIO, "experiment: cannot read back %s", path));
    }
    return 0;
}
