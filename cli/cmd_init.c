/* cli/cmd_init.c — `ssmkit init`, `ssmkit verify`, `ssmkit transfer`. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char INIT_HELP[] =
    "usage: ssmkit init METHOD -N N -o FILE.safetensors [options]\n"
    "\n"
    "Write an ssmkit-init/1 initialisation file: the diagonal (or DPLR) form, everything needed to use\n"
    "it, and every check (kappa_V, backward_error, perturbation_norm, max_re_lambda, tf_sup_error, ...)\n"
    "computed from the stored tensors, so that 'ssmkit verify' can recompute them.\n"
    "\n"
    "METHOD: s4-dplr s4d-legs s4d-lin s4d-inv s4d-real s5-legs ptd\n"
    "\n"
    "options:\n"
    "  -N N              state size, even, 2 .. 8192\n"
    "  --eps E           PTD budget ||E||_2/||A||_2 (default 0.05)\n"
    "  --seed S          seed for --C random and PTD tie-breaking (default 0)\n"
    "  --conj-sym        keep N/2 modes, conjugates implied (default)\n"
    "  --no-conj-sym     store all N modes\n"
    "  --blocks J        S5 block count (default 1)\n"
    "  --C KIND          C for the transfer-function check: ones (default), random, legendre\n"
    "  --clip-im-B C     clip Im B~ to [-C, C] as the S4 reference code does (default off)\n"
    "  --omega LO:HI:COUNT   log grid of the tf_sup_error check (default 1e-3 : 10 N^2 : 4000)\n"
    "  --prec BITS       53 (default): double; more: Lambda, B, V, Vinv, P recomputed by the multiprecision\n"
    "                    eigendecomposition at BITS (exact HiPPO input, stored E) and stored correctly\n"
    "                    rounded from it (53 .. 65536)\n"
    "  --json            print the metadata as one JSON object on stdout\n"
    "  -q, --quiet       no summary, no progress bar\n";

static const char VERIFY_HELP[] =
    "usage: ssmkit verify FILE [--prec BITS] [--json] [-q]\n"
    "\n"
    "Recompute every metadata field of an ssmkit init file from its tensors and compare with the\n"
    "stored value (tolerances printed).  Exit 0: all hold; 1: a check failed (listed); 2: the file is\n"
    "unreadable or not an ssmkit init file.  With --prec BITS (> 53) kappa_V, backward_error and\n"
    "b_residual are recomputed from the tensors in multiprecision (Arb) and the digits on which the\n"
    "double and the multiprecision values agree are printed.\n";

static const char TRANSFER_HELP[] =
    "usage: ssmkit transfer SPEC --omega LO:HI:COUNT[:log] [--vs SPEC2] [-o FILE.tsv] [options]\n"
    "\n"
    "Transfer function G(iw) = C (iwI - A)^-1 B on a frequency grid.  SPEC is an init file (its\n"
    "diagonal/DPLR model), hippo:MEASURE:N (the dense HiPPO pair, Hessenberg method, C from --C),\n"
    "init:METHOD:N (built on the fly with the init options) or target:FILE (an init file's target).\n"
    "Columns: omega re im abs [re2 im2 abs2 absdiff].  Without -o, TSV goes to stdout.\n"
    "\n"
    "options: --C ones|random|legendre  --seed S  --eps E  --blocks J  --no-conj-sym  -q\n";

enum { O_EPS = 1000, O_SEED, O_CONJ, O_NOCONJ, O_BLOCKS, O_C, O_CLIP, O_OMEGA, O_PREC, O_JSON, O_VS };

static const struct option INIT_OPTS[] = {
    {"help", no_argument, NULL, 'h'},       {"eps", required_argument, NULL, O_EPS},
    {"seed", required_argument, NULL, O_SEED}, {"conj-sym", no_argument, NULL, O_CONJ},
    {"no-conj-sym", no_argument, NULL, O_NOCONJ}, {"blocks", required_argument, NULL, O_BLOCKS},
    {"C", required_argument, NULL, O_C},     {"clip-im-B", required_argument, NULL, O_CLIP},
    {"omega", required_argument, NULL, O_OMEGA}, {"prec", required_argument, NULL, O_PREC},
    {"json", no_argument, NULL, O_JSON},     {"quiet", no_argument, NULL, 'q'},
    {"output", required_argument, NULL, 'o'}, {"vs", required_argument, NULL, O_VS},
    {NULL, 0, NULL, 0},
};

typedef struct {
    ssm_init_opts io;
    const char *out, *vs, *omega;
    int json, quiet;
} common_opts;

static int parse_double(double *v, const char *opt, const char *text)
{
    char *end;
    *v = strtod(text, &end);
    if (end == text || *end || !isfinite(*v)) {
        cli_usage_error("%s must be a number, got '%s'", opt, text);
        return 0;
    }
    return 1;
}

/* returns -1 on success (continue), else an exit code */
static int parse_common(common_opts *c, int argc, char **argv, const char *help, const char *cmd)
{
    memset(c, 0, sizeof *c);
    c->io.conj_sym = 1;
    c->io.C = SSM_C_ONES;
    opterr = 0;
    optind = 1;
    int ch;
    long l;
    size_t z;
    while ((ch = getopt_long(argc, argv, ":hN:o:q", INIT_OPTS, NULL)) != -1) {
        switch (ch) {
        case 'h': fputs(help, stdout); return 0;
        case 'N': if (!cli_parse_size(&c->io.N, "-N", optarg)) return EXIT_USAGE; break;
        case 'o': c->out = optarg; break;
        case 'q': c->quiet = 1; break;
        case O_EPS:
            if (!parse_double(&c->io.eps, "--eps", optarg)) return EXIT_USAGE;
            if (!(c->io.eps > 0 && c->io.eps < 10)) return cli_usage_error("--eps must be in (0, 10), got %s", optarg);
            break;
        case O_SEED: if (!cli_parse_long(&l, "--seed", optarg, 0, 0x7fffffffL)) return EXIT_USAGE; c->io.seed = (unsigned long)l; break;
        case O_CONJ: c->io.conj_sym = 1; break;
        case O_NOCONJ: c->io.conj_sym = 0; break;
        case O_BLOCKS: if (!cli_parse_size(&z, "--blocks", optarg)) return EXIT_USAGE; c->io.blocks = z; break;
        case O_C:
            if (strcmp(optarg, "ones") == 0) c->io.C = SSM_C_ONES;
            else if (strcmp(optarg, "random") == 0) c->io.C = SSM_C_RANDOM;
            else if (strcmp(optarg, "legendre") == 0) c->io.C = SSM_C_LEGENDRE;
            else return cli_usage_error("--C must be ones, random or legendre, got '%s'", optarg);
            break;
        case O_CLIP: if (!parse_double(&c->io.clip_im_B, "--clip-im-B", optarg)) return EXIT_USAGE; break;
        case O_OMEGA: c->omega = optarg; break;
        case O_PREC:
            if (!cli_parse_long(&l, "--prec", optarg, 53, 1L << 16)) return EXIT_USAGE;
            c->io.prec = (mpfr_prec_t)l;
            break;
        case O_JSON: c->json = 1; break;
        case O_VS: c->vs = optarg; break;
        case ':': return cli_usage_error("%s: option '%s' needs a value", cmd, argv[optind - 1]);
        default: return cli_usage_error("%s: unknown option '%s' (see 'ssmkit %s --help')", cmd, argv[optind - 1], cmd);
        }
    }
    return -1;
}

/* LO:HI:COUNT[:log] */
static int parse_omega(double *lo, double *hi, size_t *count, int *logs, const char *text, int need_log_flag)
{
    char buf[128], *save, *a, *b, *c, *d;
    snprintf(buf, sizeof buf, "%s", text);
    a = strtok_r(buf, ":", &save);
    b = strtok_r(NULL, ":", &save);
    c = strtok_r(NULL, ":", &save);
    d = strtok_r(NULL, ":", &save);
    *logs = !need_log_flag;
    if (!a || !b || !c || (d && strcmp(d, "log") != 0) || strtok_r(NULL, ":", &save)) {
        cli_usage_error("--omega must be LO:HI:COUNT%s, got '%s'", need_log_flag ? "[:log]" : "", text);
        return 0;
    }
    if (d)
        *logs = 1;
    if (!parse_double(lo, "--omega LO", a) || !parse_double(hi, "--omega HI", b) ||
        !cli_parse_size(count, "--omega COUNT", c))
        return 0;
    if (!(*hi >= *lo) || (*logs && *lo <= 0) || *count > 10000000) {
        cli_usage_error("--omega %s: need LO <= HI%s and COUNT <= 1e7", text, *logs ? ", LO > 0 (log grid)" : "");
        return 0;
    }
    return 1;
}

static void print_meta_json(const ssm_st *f)
{
    json_t *o = json_object();
    for (size_t i = 0; i < ssm_st_meta_count(f); i++) {
        const char *k, *v;
        ssm_st_meta_at(f, i, &k, &v);
        char *end;
        double x = strtod(v, &end);
        json_object_set_new(o, k, (*end == '\0' && end != v && isfinite(x) && strcmp(k, "seed") != 0 &&
                                   strcmp(k, "data_fnv1a64") != 0)
                                      ? json_real(x)
                                      : json_string(v));
    }
    char *t = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER);
    if (t)
        printf("%s\n", t);
    free(t);
    json_decref(o);
}

int cmd_init(int argc, char **argv)
{
    common_opts c;
    int rc = parse_common(&c, argc, argv, INIT_HELP, "init");
    if (rc >= 0)
        return rc;
    if (optind >= argc)
        return cli_usage_error("init: missing METHOD (see 'ssmkit init --help')");
    if (optind + 1 < argc)
        return cli_usage_error("init: unexpected argument '%s'", argv[optind + 1]);
    ssm_init_method m;
    ssm_status s = ssm_init_method_lookup(&m, argv[optind]);
    if (s != SSM_OK)
        return cli_fail(s);
    if (c.io.N == 0)
        return cli_usage_error("init: missing -N (the state size)");
    if (!c.out)
        return cli_usage_error("init: missing -o FILE.safetensors");
    cli_out_kind k;
    if (!cli_out_kind_of(&k, c.out))
        return EXIT_USAGE;
    if (k != OUT_SAFETENSORS)
        return cli_usage_error("init: the output must be a .safetensors file, got '%s'", c.out);
    if (c.omega) {
        int logs;
        if (!parse_omega(&c.io.omega_lo, &c.io.omega_hi, &c.io.omega_count, &logs, c.omega, 0))
            return EXIT_USAGE;
        if (c.io.omega_lo <= 0)
            return cli_usage_error("init: --omega LO must be > 0 (log grid)");
    }
    if (m != SSM_INIT_PTD && c.io.eps > 0)
        return cli_usage_error("init: --eps applies to ptd only");
    ssm_progress *bar = m == SSM_INIT_PTD ? ssm_progress_create("ptd", 100, !c.quiet) : NULL;
    c.io.progress = bar;
    ssm_st *f = NULL;
    s = ssm_init_build(&f, m, &c.io);
    ssm_progress_finish(bar);
    if (s != SSM_OK)
        return cli_fail(s);
    s = ssm_st_write(f, c.out);
    if (s == SSM_OK && c.json)
        print_meta_json(f);
    else if (s == SSM_OK && !c.quiet) {
        static const char *const keys[] = {"kappa_V", "backward_error", "perturbation_norm", "max_re_lambda",
                                           "tf_sup_error"};
        printf("%s N=%s M=%s", ssm_st_meta(f, "method"), ssm_st_meta(f, "N"), ssm_st_meta(f, "M"));
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
            const char *v = ssm_st_meta(f, keys[i]);
            char *end;
            double x = strtod(v, &end);
            if (*end == '\0' && end != v)
                printf(" %s=%.4g", keys[i], x);
            else
                printf(" %s=%s", keys[i], v);
        }
        printf(" -> %s\n", c.out);
    }
    ssm_st_free(f);
    return s == SSM_OK ? 0 : cli_fail(s);
}

int cmd_verify(int argc, char **argv)
{
    common_opts c;
    int rc = parse_common(&c, argc, argv, VERIFY_HELP, "verify");
    if (rc >= 0)
        return rc;
    if (optind >= argc)
        return cli_usage_error("verify: missing FILE");
    if (optind + 1 < argc)
        return cli_usage_error("verify: unexpected argument '%s'", argv[optind + 1]);
    ssm_st *f = NULL;
    ssm_status s = ssm_st_read(&f, argv[optind]);
    if (s != SSM_OK)
        return cli_fail(s);
    ssm_verify_report rep;
    s = ssm_init_verify(&rep, f);
    ssm_verify_mp_item mp[8];
    int nmp = 0;
    if ((s == SSM_OK || s == SSM_ECHECK) && c.io.prec > 53) {
        ssm_status s2 = ssm_init_verify_mp(mp, &nmp, f, c.io.prec);
        if (s2 != SSM_OK) {
            ssm_st_free(f);
            return cli_fail(s2);
        }
    }
    ssm_st_free(f);
    if (s != SSM_OK && s != SSM_ECHECK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s: %s", argv[optind], ssm_error_message());
        fprintf(stderr, "ssmkit: %s\n", msg);
        return EXIT_USAGE;
    }
    if (c.json) {
        json_t *o = json_object(), *items = json_array();
        for (int i = 0; i < rep.count; i++)
            json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:f, s:b}", "key", rep.item[i].key, "stored",
                                                   rep.item[i].stored, "recomputed", rep.item[i].recomputed,
                                                   "tolerance", rep.item[i].tolerance, "ok", rep.item[i].ok));
        json_object_set_new(o, "ok", json_boolean(rep.failed == 0));
        json_object_set_new(o, "failed", json_integer(rep.failed));
        json_object_set_new(o, "checks", items);
        if (nmp) {
            json_t *m = json_array();
            for (int i = 0; i < nmp; i++)
                json_array_append_new(m, json_pack("{s:s, s:f, s:f, s:f}", "key", mp[i].key, "double", mp[i].stored,
                                                   "mpfr", mp[i].mp, "digits", mp[i].digits));
            json_object_set_new(o, "mpfr_prec", json_integer((json_int_t)c.io.prec));
            json_object_set_new(o, "mpfr", m);
        }
        char *t = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER);
        printf("%s\n", t);
        free(t);
        json_decref(o);
    } else if (!c.quiet || rep.failed) {
        for (int i = 0; i < rep.count; i++)
            if (!c.quiet || !rep.item[i].ok)
                printf("%-4s %-18s stored %-24s recomputed %-24s tol %.3g\n", rep.item[i].ok ? "ok" : "FAIL",
                       rep.item[i].key, rep.item[i].stored, rep.item[i].recomputed, rep.item[i].tolerance);
        printf("%s: %d of %d checks hold\n", argv[optind], rep.count - rep.failed, rep.count);
        for (int i = 0; i < nmp; i++)
            printf("mp   %-18s double %-24.17g MPFR(%ld) %-24.17g agree to %.1f digits\n", mp[i].key, mp[i].stored,
                   (long)c.io.prec, mp[i].mp, mp[i].digits);
    }
    if (rep.failed)
        fprintf(stderr, "ssmkit: verify: %d check%s failed\n", rep.failed, rep.failed > 1 ? "s" : "");
    return rep.failed ? EXIT_CHECK : 0;
}

/* evaluate a system spec on the grid */
static int eval_spec(double complex *G, const char *spec, const common_opts *c, const double complex *s, size_t K)
{
    ssm_status st;
    if (strncmp(spec, "hippo:", 6) == 0) {
        size_t N;
        ssm_hippo_measure m;
        int rc = cli_parse_hippo_spec(&m, &N, spec, 8192, "transfer");
        if (rc >= 0)
            return rc;
        ssm_dmat_t A, B, C;
        ssm_zmat_t Az, bz, cz;
        ssm_dmat_init(A, N, N); ssm_dmat_init(B, N, 1); ssm_dmat_init(C, N, 1);
        ssm_hippo(A, B, NULL, m, N);
        ssm_init_C(C, c->io.C, c->io.seed);
        ssm_zmat_init(Az, N, N); ssm_zmat_init(bz, N, 1); ssm_zmat_init(cz, 1, N);
        ssm_zmat_set_dmat(Az, A);
        for (size_t i = 0; i < N; i++) {
            SSM_D(bz, i, 0) = SSM_D(B, i, 0);
            SSM_D(cz, 0, i) = SSM_D(C, i, 0);
        }
        ssm_tf_plan *p = ssm_tf_plan_create(Az, bz, cz, 0, &st);
        if (p)
            st = ssm_tf_eval(G, p, s, K);
        ssm_tf_plan_destroy(p);
        ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(C);
        ssm_zmat_clear(Az); ssm_zmat_clear(bz); ssm_zmat_clear(cz);
        return st == SSM_OK ? -1 : cli_fail(st);
    }
    ssm_st *f = NULL;
    int which = 0;
    if (strncmp(spec, "init:", 5) == 0) {
        char name[64];
        const char *colon = strrchr(spec + 5, ':');
        if (!colon || colon == spec + 4 || (size_t)(colon - spec - 5) >= sizeof name)
            return cli_usage_error("bad system spec '%s' (init:METHOD:N)", spec);
        memcpy(name, spec + 5, (size_t)(colon - spec - 5));
        name[colon - spec - 5] = '\0';
        ssm_init_method m;
        if ((st = ssm_init_method_lookup(&m, name)) != SSM_OK)
            return cli_fail(st);
        ssm_init_opts io = c->io;
        if (!cli_parse_size(&io.N, "N in the spec", colon + 1))
            return EXIT_USAGE;
        io.progress = NULL;
        if ((st = ssm_init_build(&f, m, &io)) != SSM_OK)
            return cli_fail(st);
    } else {
        const char *path = spec;
        if (strncmp(spec, "target:", 7) == 0) {
            path = spec + 7;
            which = 1;
        }
        if ((st = ssm_st_read(&f, path)) != SSM_OK)
            return cli_fail(st);
    }
    st = ssm_init_transfer(G, f, which, s, K);
    ssm_st_free(f);
    return st == SSM_OK ? -1 : cli_fail(st);
}

int cmd_transfer(int argc, char **argv)
{
    common_opts c;
    int rc = parse_common(&c, argc, argv, TRANSFER_HELP, "transfer");
    if (rc >= 0)
        return rc;
    if (optind >= argc)
        return cli_usage_error("transfer: missing SPEC (see 'ssmkit transfer --help')");
    if (optind + 1 < argc)
        return cli_usage_error("transfer: unexpected argument '%s'", argv[optind + 1]);
    if (!c.omega)
        return cli_usage_error("transfer: missing --omega LO:HI:COUNT[:log]");
    double lo, hi;
    size_t K;
    int logs;
    if (!parse_omega(&lo, &hi, &K, &logs, c.omega, 1))
        return EXIT_USAGE;
    cli_out_kind kind;
    if (!cli_out_kind_of(&kind, c.out))
        return EXIT_USAGE;
    if (kind != OUT_TSV && kind != OUT_STDOUT_TSV)
        return cli_usage_error("transfer: output must be .tsv (or stdout)");
    double complex *s = malloc(K * sizeof *s), *G1 = malloc(K * sizeof *G1), *G2 = c.vs ? malloc(K * sizeof *G2) : NULL;
    double *w = malloc(K * sizeof *w);
    if (!s || !G1 || !w || (c.vs && !G2))
        return cli_usage_error("transfer: out of memory for %zu frequencies", K);
    ssm_tf_omega_grid(s, w, lo, hi, K, logs);
    rc = eval_spec(G1, argv[optind], &c, s, K);
    if (rc < 0 && c.vs)
        rc = eval_spec(G2, c.vs, &c, s, K);
    if (rc < 0) {
        size_t cols = c.vs ? 8 : 4;
        ssm_dmat_t T;
        ssm_dmat_init(T, K, cols);
        for (size_t k = 0; k < K; k++) {
            double *r = &SSM_D(T, k, 0);
            r[0] = w[k]; r[1] = creal(G1[k]); r[2] = cimag(G1[k]); r[3] = cabs(G1[k]);
            if (c.vs) {
                r[4] = creal(G2[k]); r[5] = cimag(G2[k]); r[6] = cabs(G2[k]); r[7] = cabs(G1[k] - G2[k]);
            }
        }
        char header[1400];
        snprintf(header, sizeof header,
                 "ssmkit %s transfer: G(i omega) of %s%s%s, C = %s\n"
                 "command: %s\n"
                 "columns: omega re im abs%s",
                 SSM_VERSION, argv[optind], c.vs ? " vs " : "", c.vs ? c.vs : "",
                 c.io.C == SSM_C_ONES ? "ones" : c.io.C == SSM_C_RANDOM ? "random" : "legendre", cli_command_line(),
                 c.vs ? " re2 im2 abs2 absdiff" : "");
        ssm_status st = ssm_tsv_write_dmat(c.out, c.out ? NULL : stdout, header, T);
        ssm_dmat_clear(T);
        rc = st == SSM_OK ? 0 : cli_fail(st);
    }
    free(s); free(G1); free(G2); free(w);
    return rc;
}
