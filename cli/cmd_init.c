/* cli/cmd_init.c — `ssmkit init`, `ssmkit verify`, `ssmkit transfer`. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <errno.h>
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
    "  --tf-weight W     PTD: weight of the transfer error in the objective (default 64; 0: conditioning\n"
    "                    only); stated in the file with the optimiser's errors ptd_tf_ones, ptd_tf_state\n"
    "  --seed S          seed for --C random and PTD tie-breaking (default 0)\n"
    "  --conj-sym        keep N/2 modes, conjugates implied (default)\n"
    "  --no-conj-sym     store all N modes\n"
    "  --blocks J        S5 block count (default 1): s5-legs, and ptd (S5-PTD: PTD of LegS at N/J per block)\n"
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
    "unreadable or not an ssmkit init file.  With --prec BITS (> 53) kappa_V, backward_error,\n"
    "b_residual and tf_sup_error are recomputed from the tensors in multiprecision (Arb/MPC) and the digits on which the\n"
    "double and the multiprecision values agree are printed.\n"
    "\n"
    "Two verdicts, kept apart: integrity (\"N of N checks hold\": the stored numbers are those of the\n"
    "tensors; decides the exit status) and quality (the transfer error sup|G_init - G_target| on the\n"
    "stored grid relative to sup|G_target| there: good when <= 10%, poor above; n/a without a target;\n"
    "informative only, a poor init still exits 0).\n";

static const char TRANSFER_HELP[] =
    "usage: ssmkit transfer SPEC --omega LO:HI:COUNT[:log] [--vs SPEC2] [--sup] [--hinf] [-o FILE.tsv] [options]\n"
    "\n"
    "Transfer function G(iw) = C (iwI - A)^-1 B on a frequency grid.  SPEC is an init file (its\n"
    "diagonal/DPLR model), hippo:MEASURE:N (the dense HiPPO pair, Hessenberg method, C from --C),\n"
    "init:METHOD:N (built on the fly with the init options) or target:FILE (an init file's target).\n"
    "Columns: omega re im abs [re2 im2 abs2 absdiff].  Without -o, TSV goes to stdout.\n"
    "\n"
    "  --sup    print sup |G1 - G2| (or sup |G|) over the band LO..HI (LO > 0): the log grid of COUNT\n"
    "           points plus the poles' |Im lambda|, every local peak refined by Brent's method, so the\n"
    "           value is the true local maximum, not the largest grid value\n"
    "  --hinf   print the H-infinity norm of G (or of G1 - G2, as one block system) by the\n"
    "           Bruinsma-Steinbuch Hamiltonian iteration over all frequencies (modes on the imaginary\n"
    "           axis that G cannot see, like FouT's decoupled state, removed first; the upper bound\n"
    "           includes the rounding of evaluating G); O(n^3) per iteration\n"
    "           on the 2n x 2n Hamiltonian (n = states of SPEC plus SPEC2, at most 4096)\n"
    "  With --sup, --hinf or --json the table is written only with -o; --json prints the results as one\n"
    "  object (every key always present, null where not computed: doc/json.md).\n"
    "\n"
    "options: --C ones|random|legendre  --seed S  --eps E  --blocks J  --no-conj-sym  -q\n";

enum { O_EPS = 1000, O_SEED, O_CONJ, O_NOCONJ, O_BLOCKS, O_C, O_CLIP, O_OMEGA, O_PREC, O_JSON, O_VS, O_SUP, O_HINF, O_TFW };

static const struct option INIT_OPTS[] = {
    {"help", no_argument, NULL, 'h'},       {"eps", required_argument, NULL, O_EPS},
    {"seed", required_argument, NULL, O_SEED}, {"conj-sym", no_argument, NULL, O_CONJ},
    {"no-conj-sym", no_argument, NULL, O_NOCONJ}, {"blocks", required_argument, NULL, O_BLOCKS},
    {"C", required_argument, NULL, O_C},     {"clip-im-B", required_argument, NULL, O_CLIP},
    {"omega", required_argument, NULL, O_OMEGA}, {"prec", required_argument, NULL, O_PREC},
    {"json", no_argument, NULL, O_JSON},     {"quiet", no_argument, NULL, 'q'},
    {"output", required_argument, NULL, 'o'}, {"vs", required_argument, NULL, O_VS},
    {"sup", no_argument, NULL, O_SUP},       {"hinf", no_argument, NULL, O_HINF},
    {"tf-weight", required_argument, NULL, O_TFW},
    {NULL, 0, NULL, 0},
};

typedef struct {
    ssm_init_opts io;
    const char *out, *vs, *omega;
    int json, quiet, sup, hinf, tf_given;
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
        case O_TFW:
            if (!parse_double(&c->io.tf_weight, "--tf-weight", optarg)) return EXIT_USAGE;
            if (!(c->io.tf_weight >= 0)) return cli_usage_error("--tf-weight must be >= 0, got %s", optarg);
            if (c->io.tf_weight == 0) c->io.tf_weight = -1; /* conditioning only */
            c->tf_given = 1;
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
        case O_CLIP:
            if (!parse_double(&c->io.clip_im_B, "--clip-im-B", optarg)) return EXIT_USAGE;
            if (!(c->io.clip_im_B > 0)) return cli_usage_error("--clip-im-B must be > 0, got %s", optarg);
            break;
        case O_OMEGA: c->omega = optarg; break;
        case O_PREC:
            if (!cli_parse_long(&l, "--prec", optarg, 53, 1L << 16)) return EXIT_USAGE;
            c->io.prec = (mpfr_prec_t)l;
            break;
        case O_JSON: c->json = 1; break;
        case O_VS: c->vs = optarg; break;
        case O_SUP: c->sup = 1; break;
        case O_HINF: c->hinf = 1; break;
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

/* one metadata value, typed: integers as integers, other numbers as reals,
 * "true"/"false" as booleans, "n/a" and non-finite numbers as null, the rest
 * (names, conventions, the hex digest) as strings */
static json_t *meta_json_value(const char *key, const char *v)
{
    if (strcmp(key, "data_fnv1a64") == 0)
        return json_string(v);
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
        return json_boolean(v[0] == 't');
    if (strcmp(v, "n/a") == 0 || (strcmp(key, "measure") == 0 && strcmp(v, "none") == 0) ||
        (strcmp(key, "clip_im_B") == 0 && strcmp(v, "off") == 0))
        return json_null(); /* absent: no value applies (no target, no clipping) */
    /* the type follows the key, not the value: counts are integers, measurements reals
     * (an integral κ or a perturbation norm of "0" stays a real) */
    static const char *const INTEGER_KEYS[] = {"N", "M", "seed", "prec_bits", "verified_prec_bits", "blocks"};
    char *end;
    for (size_t k = 0; k < sizeof INTEGER_KEYS / sizeof *INTEGER_KEYS; k++)
        if (strcmp(key, INTEGER_KEYS[k]) == 0) {
            errno = 0;
            long long i = strtoll(v, &end, 10);
            return *v && *end == '\0' && errno == 0 ? json_integer((json_int_t)i) : json_string(v);
        }
    if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
        return json_string(v);
    double x = strtod(v, &end);
    if (end != v && *end == '\0')
        return isfinite(x) ? json_real(x) : json_null();
    return json_string(v);
}

/* init --json: every key of an ssmkit-init/1 file, in this order, whatever the method (doc/json.md):
 * a key the file does not carry (tf_weight outside PTD, blocks outside S5 layouts, rounding in double)
 * is null */
static const char *const INIT_JSON_KEYS[] = {
    "format", "method", "measure", "N", "M", "eps", "tf_weight", "tf_weight_final", "ptd_tf_ones", "ptd_tf_state",
    "prec_bits", "seed", "conj_sym", "blocks", "C", "tf_grid", "clip_im_B", "B_convention", "lambda_convention",
    "backward_error_def", "ssmkit_version", "verified_prec_bits", "rounding", "kappa_V", "backward_error",
    "perturbation_norm", "max_re_lambda", "tf_sup_error", "tf_sup_omega", "b_residual", "data_fnv1a64"};

static ssm_status print_meta_json(const ssm_st *f)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < sizeof INIT_JSON_KEYS / sizeof *INIT_JSON_KEYS; i++) {
        const char *v = ssm_st_meta(f, INIT_JSON_KEYS[i]);
        json_object_set_new(o, INIT_JSON_KEYS[i], v ? meta_json_value(INIT_JSON_KEYS[i], v) : json_null());
    }
    for (size_t i = 0; o && i < ssm_st_meta_count(f); i++) { /* a key this list lacks is a bug: kept, and the */
        const char *k, *v;                                    /* schema test fails on it                      */
        ssm_st_meta_at(f, i, &k, &v);
        if (!json_object_get(o, k))
            json_object_set_new(o, k, meta_json_value(k, v));
    }
    return cli_json_print(o);
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
    if (m != SSM_INIT_PTD && c.tf_given)
        return cli_usage_error("init: --tf-weight applies to ptd only");
    ssm_progress *bar = NULL;
    ssm_st *f = NULL;
    s = m == SSM_INIT_PTD ? ssm_progress_create(&bar, "ptd", 100, !c.quiet) : SSM_OK;
    c.io.progress = bar;
    if (s == SSM_OK)
        s = ssm_init_build(&f, m, &c.io);
    ssm_progress_free(bar);
    if (s != SSM_OK)
        return cli_fail(s);
    s = ssm_st_write(f, c.out);
    if (s == SSM_OK && c.json)
        s = print_meta_json(f);
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

static json_t *real_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

/* Quality, apart from integrity: how far the model's transfer function is from its target's,
 * relative to the target's own peak, judged against SSM_VERIFY_TF_GOOD (init/init.h). */
static void print_quality(const char *path, const ssm_verify_report *rep)
{
    if (isnan(rep->tf_relative)) {
        printf("%s: quality: n/a (the file has no target system to compare with)\n", path);
        return;
    }
    char rel[64];
    if (rep->tf_relative < 1.0)
        snprintf(rel, sizeof rel, "%.3g%% of", 100.0 * rep->tf_relative);
    else
        snprintf(rel, sizeof rel, "%.3g times", rep->tf_relative);
    printf("%s: quality: transfer error %.3g = %s sup|G_target| = %.4g on the stored grid: %s (good: <= %g%%)\n",
           path, rep->tf_error, rel, rep->tf_signal, rep->tf_relative <= SSM_VERIFY_TF_GOOD ? "good" : "poor",
           100.0 * SSM_VERIFY_TF_GOOD);
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
    ssm_init_file *f = NULL;
    ssm_status s = ssm_init_file_read(&f, argv[optind]);
    if (s != SSM_OK)
        return cli_fail(s);
    ssm_verify_report rep;
    s = ssm_init_verify(&rep, f);
    ssm_verify_mp_item mp[8];
    int nmp = 0;
    if ((s == SSM_OK || s == SSM_ECHECK) && c.io.prec > 53) {
        ssm_status s2 = ssm_init_verify_mp(mp, (int)(sizeof mp / sizeof mp[0]), &nmp, f, c.io.prec);
        if (s2 != SSM_OK) {
            ssm_init_file_free(f);
            return cli_fail(s2);
        }
    }
    ssm_init_file_free(f);
    if (s != SSM_OK && s != SSM_ECHECK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s: %s", argv[optind], ssm_error_message());
        fprintf(stderr, "ssmkit: %s\n", msg);
        return EXIT_USAGE;
    }
    if (c.json) {
        json_t *o = json_object(), *items = json_array();
        for (int i = 0; i < rep.count; i++)
            /* numbers as numbers (claims keep their words: "holds", the digest) */
            json_array_append_new(items, json_pack("{s:s, s:o, s:o, s:o, s:b}", "key", rep.item[i].key, "stored",
                                                   meta_json_value(rep.item[i].key, rep.item[i].stored), "recomputed",
                                                   meta_json_value(rep.item[i].key, rep.item[i].recomputed),
                                                   "tolerance", cli_jnum(rep.item[i].tolerance), "ok", rep.item[i].ok));
        json_object_set_new(o, "file", json_string(argv[optind]));
        json_object_set_new(o, "ok", json_boolean(rep.failed == 0));
        json_object_set_new(o, "failed", json_integer(rep.failed));
        json_object_set_new(o, "checks", items);
        json_t *q = json_object(); /* quality: null fields without a target */
        json_object_set_new(q, "tf_error", real_or_null(rep.tf_error));
        json_object_set_new(q, "tf_signal", real_or_null(rep.tf_signal));
        json_object_set_new(q, "tf_relative", real_or_null(rep.tf_relative));
        json_object_set_new(q, "threshold", json_real(SSM_VERIFY_TF_GOOD));
        json_object_set_new(q, "verdict", isnan(rep.tf_relative) ? json_null()
                                          : json_string(rep.tf_relative <= SSM_VERIFY_TF_GOOD ? "good" : "poor"));
        json_object_set_new(o, "quality", q);
        /* the multiprecision recomputation: null without --prec */
        json_t *m = nmp ? json_array() : json_null();
        for (int i = 0; i < nmp; i++)
            json_array_append_new(m, json_pack("{s:s, s:o, s:o, s:o}", "key", mp[i].key, "double",
                                               cli_jnum(mp[i].stored), "mpfr", cli_jnum(mp[i].mp), "digits",
                                               cli_jnum(mp[i].digits)));
        json_object_set_new(o, "mpfr_prec", nmp ? json_integer((json_int_t)c.io.prec) : json_null());
        json_object_set_new(o, "mpfr", m);
        ssm_status sj = cli_json_print(o);
        if (sj != SSM_OK)
            return cli_fail(sj);
    } else if (!c.quiet || rep.failed) {
        for (int i = 0; i < rep.count; i++)
            if (!c.quiet || !rep.item[i].ok)
                printf("%-4s %-18s stored %-24s recomputed %-24s tol %.3g\n", rep.item[i].ok ? "ok" : "FAIL",
                       rep.item[i].key, rep.item[i].stored, rep.item[i].recomputed, rep.item[i].tolerance);
        printf("%s: integrity: %d of %d checks hold\n", argv[optind], rep.count - rep.failed, rep.count);
        print_quality(argv[optind], &rep);
        for (int i = 0; i < nmp; i++)
            printf("mp   %-18s double %-24.17g MPFR(%ld) %-24.17g agree to %.1f digits\n", mp[i].key, mp[i].stored,
                   (long)c.io.prec, mp[i].mp, mp[i].digits);
    }
    if (rep.failed)
        fprintf(stderr, "ssmkit: verify: %d check%s failed\n", rep.failed, rep.failed > 1 ? "s" : "");
    return rep.failed ? EXIT_CHECK : 0;
}

/* a spec as a system to evaluate (cli/system.c); transfer takes SISO systems.  -1 on success */
static int load_spec(cli_system *y, const char *text, const common_opts *c)
{
    cli_spec_rules rules = {.cmd = "transfer", .nmax = 8192, .hippo_dense = 1, .io = &c->io};
    int rc = cli_system_load(y, text, &rules);
    if (rc < 0 && (y->p != 1 || y->m != 1)) {
        rc = cli_usage_error("transfer: '%s' has %zu outputs and %zu inputs; transfer takes single-input "
                             "single-output systems ('ssmkit plot bode' draws every channel)", text, y->p, y->m);
        cli_system_clear(y);
    }
    return rc;
}

/* H∞ norm of G1 (or of G1 − G2 as the block system [A1 0; 0 A2], [b1; b2], [c1, −c2]) */
static ssm_status hinf_of(ssm_hinf_info *h, const cli_system *y1, const cli_system *y2)
{
    size_t want = y1->n + (y2 ? y2->n : 0);
    if (want > 4096) /* refused before the dense forms are built */
        return SSM_ERROR(SSM_EINVAL, "--hinf: %zu states (a %zu x %zu Hamiltonian) is above the 4096 supported", want,
                         2 * want, 2 * want);
    ssm_zmat_t A1, b1, c1, A2, b2, c2, A, b, c;
    double complex D1 = 0.0, D2 = 0.0;
    memset(A2, 0, sizeof A2); memset(b2, 0, sizeof b2); memset(c2, 0, sizeof c2);
    memset(A, 0, sizeof A); memset(b, 0, sizeof b); memset(c, 0, sizeof c);
    ssm_status s = cli_system_dense(A1, b1, c1, &D1, y1);
    if (s == SSM_OK && y2)
        s = cli_system_dense(A2, b2, c2, &D2, y2);
    size_t n1 = A1->rows, n2 = y2 ? A2->rows : 0, n = n1 + n2;
    if (s == SSM_OK && n > 4096)
        s = SSM_ERROR(SSM_EINVAL, "--hinf: %zu states (a %zu x %zu Hamiltonian) is above the 4096 supported", n,
                      2 * n, 2 * n);
    if (s == SSM_OK) s = ssm_zmat_init(A, n, n);
    if (s == SSM_OK) s = ssm_zmat_init(b, n, 1);
    if (s == SSM_OK) s = ssm_zmat_init(c, 1, n);
    for (size_t i = 0; s == SSM_OK && i < n; i++) {
        int first = i < n1;
        size_t k = first ? i : i - n1;
        SSM_D(b, i, 0) = first ? SSM_D(b1, k, 0) : SSM_D(b2, k, 0);
        SSM_D(c, 0, i) = first ? SSM_D(c1, 0, k) : -SSM_D(c2, 0, k);
        for (size_t j = 0; j < (first ? n1 : n2); j++)
            SSM_D(A, i, first ? j : n1 + j) = first ? SSM_D(A1, k, j) : SSM_D(A2, k, j);
    }
    if (s == SSM_OK)
        s = ssm_tf_hinf(h, A, b, c, D1 - D2, 1e-10);
    ssm_zmat_clear(A1); ssm_zmat_clear(b1); ssm_zmat_clear(c1);
    ssm_zmat_clear(A2); ssm_zmat_clear(b2); ssm_zmat_clear(c2);
    ssm_zmat_clear(A); ssm_zmat_clear(b); ssm_zmat_clear(c);
    return s;
}

/* transfer --json: every key present from the start (doc/json.md), the summaries null until computed */
static json_t *transfer_json_head(const char *spec, const common_opts *c, double lo, double hi, size_t K, int logs)
{
    static const char *const LATER[] = {"sup", "omega_at_sup", "grid_sup", "omega_at_grid_sup", "peaks_refined",
                                        "at_band_edge", "ref_sup", "relative_sup", "hinf", "omega_at_hinf",
                                        "hinf_upper", "hinf_iterations", "hinf_eval_error", "hinf_modes_removed",
                                        "ref_hinf", "relative_hinf"};
    json_t *o = json_pack("{s:s, s:o, s:s, s:I, s:f, s:f, s:I, s:b, s:o}", "spec", spec, "vs",
                          c->vs ? json_string(c->vs) : json_null(), "C",
                          c->io.C == SSM_C_ONES ? "ones" : c->io.C == SSM_C_RANDOM ? "random" : "legendre", "seed",
                          (json_int_t)c->io.seed, "omega_lo",
                          lo, "omega_hi", hi, "count", (json_int_t)K, "log", logs, "output",
                          c->out ? json_string(c->out) : json_null());
    for (size_t i = 0; o && i < sizeof LATER / sizeof *LATER; i++)
        json_object_set_new(o, LATER[i], json_null());
    return o;
}

/* The table G1 [, G2, |G1 − G2|] on the --omega grid, kept in T (written last, by the caller). */
static ssm_status transfer_table(ssm_dmat_t T, char *header, size_t hn, ssm_tf_fn f1, ssm_tf_fn f2,
                                 const common_opts *c, const char *spec, double lo, double hi, size_t K, int logs)
{
    double complex *s = malloc(K * sizeof *s), *G1 = malloc(K * sizeof *G1), *G2 = malloc(K * sizeof *G2);
    double *w = malloc(K * sizeof *w);
    ssm_status st = s && G1 && G2 && w ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "transfer: out of memory for %zu frequencies", K);
    if (st == SSM_OK) st = ssm_tf_omega_grid(s, w, lo, hi, K, logs);
    if (st == SSM_OK) st = f1.eval(G1, s, K, f1.ctx);
    if (st == SSM_OK && c->vs) st = f2.eval(G2, s, K, f2.ctx);
    if (st == SSM_OK) st = ssm_dmat_init(T, K, c->vs ? 8 : 4);
    for (size_t k = 0; st == SSM_OK && k < K; k++) {
        double *r = &SSM_D(T, k, 0);
        r[0] = w[k]; r[1] = creal(G1[k]); r[2] = cimag(G1[k]); r[3] = cabs(G1[k]);
        if (c->vs) {
            r[4] = creal(G2[k]); r[5] = cimag(G2[k]); r[6] = cabs(G2[k]); r[7] = cabs(G1[k] - G2[k]);
        }
    }
    snprintf(header, hn,
             "ssmkit %s transfer: G(i omega) of %s%s%s (C of hippo: specs: %s; other specs carry their own)\n"
             "command: %s\n"
             "omega in rad per unit time; re, im, abs: G1(i omega)%s",
             SSM_VERSION, spec, c->vs ? " vs " : "", c->vs ? c->vs : "",
             c->io.C == SSM_C_ONES ? "ones" : c->io.C == SSM_C_RANDOM ? "random" : "legendre", cli_command_line(),
             c->vs ? "; re2, im2, abs2: G2(i omega); absdiff = |G1 - G2|" : "");
    free(s); free(G1); free(G2); free(w);
    return st;
}

/* the refined sup over the band of |g1 − g2| (of |g1| when g2.eval is NULL), the poles' |Im λ| of
 * the systems given merged into the coarse grid */
static ssm_status band_sup(ssm_dist_info *in, ssm_tf_fn g1, ssm_tf_fn g2, const cli_system *y1, const cli_system *y2,
                           double lo, double hi, size_t K)
{
    double *extra = NULL;
    size_t ne = 0;
    ssm_status st = cli_system_poles(&extra, &ne, y1);
    if (st == SSM_OK && y2)
        st = cli_system_poles(&extra, &ne, y2);
    ssm_dist_opts o = {.omega_lo = lo, .omega_hi = hi, .grid = K, .extra = extra, .extra_count = ne};
    if (st == SSM_OK)
        st = ssm_dist_sup(in, g1, g2, &o);
    free(extra);
    return st;
}

/* "(3.67% of sup|G2| = 1)" or "(47.4 times sup|G2| = 1)": a distance next to the size of its reference */
static void relative_words(char *buf, size_t n, double dist, double ref, const char *refname)
{
    double r = dist / ref;
    if (!(ref > 0) || !isfinite(r))
        snprintf(buf, n, "(%s = %.4g: no relative size)", refname, ref);
    else if (r < 1.0)
        snprintf(buf, n, "(%.3g%% of %s = %.4g)", 100.0 * r, refname, ref);
    else
        snprintf(buf, n, "(%.3g times %s = %.4g)", r, refname, ref);
}

/* --sup: sup |G1 − G2| (or sup |G|), refined; with --vs also sup |G2| on the same band, the reference
 * the distance is stated against */
static ssm_status transfer_sup(char *line, size_t ln, json_t *js, ssm_tf_fn f1, ssm_tf_fn f2, const cli_system *y1,
                               const cli_system *y2, const common_opts *c, double lo, double hi, size_t K)
{
    ssm_dist_info in, ref;
    ssm_status st = band_sup(&in, f1, f2, y1, c->vs ? y2 : NULL, lo, hi, K);
    if (st == SSM_OK && c->vs)
        st = band_sup(&ref, f2, (ssm_tf_fn){NULL, NULL}, y2, NULL, lo, hi, K);
    if (st != SSM_OK)
        return st;
    if (js) {
        json_object_set_new(js, "sup", cli_jnum(in.sup));
        json_object_set_new(js, "omega_at_sup", cli_jnum(in.omega));
        json_object_set_new(js, "grid_sup", cli_jnum(in.grid_sup));
        json_object_set_new(js, "omega_at_grid_sup", cli_jnum(in.grid_omega));
        json_object_set_new(js, "peaks_refined", json_integer((json_int_t)in.peaks));
        json_object_set_new(js, "at_band_edge", json_boolean(in.at_edge));
        json_object_set_new(js, "ref_sup", c->vs ? cli_jnum(ref.sup) : json_null());
        json_object_set_new(js, "relative_sup", c->vs && ref.sup > 0 ? cli_jnum(in.sup / ref.sup) : json_null());
        return SSM_OK;
    }
    char rel[160] = "";
    if (c->vs)
        relative_words(rel, sizeof rel, in.sup, ref.sup, "sup|G2|");
    snprintf(line, ln, "sup %s = %.17g%s%s at omega = %.17g (refined; grid alone: %.17g at %.17g; %zu peaks refined%s)\n",
             c->vs ? "|G1 - G2|" : "|G|", in.sup, c->vs ? " " : "", rel, in.omega, in.grid_sup, in.grid_omega,
             in.peaks, in.at_edge ? "; at the band's edge: the sup may lie outside" : "");
    return SSM_OK;
}

/* --hinf: the H∞ norm of G1 − G2 (or G1); with --vs also that of G2, the reference */
static ssm_status transfer_hinf(char *line, size_t ln, json_t *js, const cli_system *y1, const cli_system *y2,
                                const common_opts *c)
{
    ssm_hinf_info h, ref;
    ssm_status st = hinf_of(&h, y1, c->vs ? y2 : NULL);
    if (st == SSM_OK && c->vs)
        st = hinf_of(&ref, y2, NULL);
    if (st != SSM_OK)
        return st;
    if (js) {
        json_object_set_new(js, "hinf", cli_jnum(h.hinf));
        json_object_set_new(js, "omega_at_hinf", cli_jnum(h.omega));
        json_object_set_new(js, "hinf_upper", cli_jnum(h.upper));
        json_object_set_new(js, "hinf_iterations", json_integer(h.iterations));
        json_object_set_new(js, "hinf_eval_error", cli_jnum(h.eval_error));
        json_object_set_new(js, "hinf_modes_removed", json_integer((json_int_t)h.removed));
        json_object_set_new(js, "ref_hinf", c->vs ? cli_jnum(ref.hinf) : json_null());
        json_object_set_new(js, "relative_hinf", c->vs && ref.hinf > 0 ? cli_jnum(h.hinf / ref.hinf) : json_null());
        return SSM_OK;
    }
    char rel[160] = "";
    if (c->vs)
        relative_words(rel, sizeof rel, h.hinf, ref.hinf, "||G2||_inf");
    char removed[160] = "";
    if (h.removed)
        snprintf(removed, sizeof removed, "; %zu mode%s on the imaginary axis that G cannot see removed", h.removed,
                 h.removed > 1 ? "s" : "");
    snprintf(line, ln, "H-infinity norm of %s = %.17g%s%s at omega = %.17g (certified upper bound %.17g, evaluation "
             "rounding included; %d Hamiltonian iterations%s)\n", c->vs ? "G1 - G2" : "G", h.hinf, c->vs ? " " : "",
             rel, h.omega, h.upper, h.iterations, removed);
    return SSM_OK;
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
    if (c.sup && !(lo > 0 && hi > lo && K >= 3))
        return cli_usage_error("transfer: --sup needs a band 0 < LO < HI and COUNT >= 3 (its coarse log grid)");
    cli_out_kind kind;
    if (!cli_out_kind_of(&kind, c.out))
        return EXIT_USAGE;
    if (kind != OUT_TSV && kind != OUT_STDOUT_TSV)
        return cli_usage_error("transfer: output must be .tsv (or stdout)");
    cli_system y1, y2;
    memset(&y2, 0, sizeof y2);
    rc = load_spec(&y1, argv[optind], &c);
    if (rc >= 0)
        return rc;
    if (c.vs && (rc = load_spec(&y2, c.vs, &c)) >= 0) {
        cli_system_clear(&y1);
        return rc;
    }
    ssm_tf_fn f1, f2 = {NULL, NULL};
    ssm_status sf = cli_system_channel(&f1, &y1, 0, 0);
    if (sf == SSM_OK && c.vs)
        sf = cli_system_channel(&f2, &y2, 0, 0);
    if (sf != SSM_OK) {
        cli_system_clear(&y1);
        cli_system_clear(&y2);
        return cli_fail(sf);
    }
    /* the table: always with -o; on stdout unless a summary (--sup/--hinf) or --json was asked for.
     * Every part is computed first; the table and the summaries are written only when all succeeded
     * (--sup used to fail after the file existed) */
    int table = c.out || !(c.sup || c.hinf || c.json);
    ssm_dmat_t T;
    memset(T, 0, sizeof T);
    char header[1400];
    json_t *js = c.json ? transfer_json_head(argv[optind], &c, lo, hi, K, logs) : NULL;
    char lines[2][900] = {"", ""};
    ssm_status st = SSM_OK;
    if (table)
        st = transfer_table(T, header, sizeof header, f1, f2, &c, argv[optind], lo, hi, K, logs);
    if (st == SSM_OK && c.sup)
        st = transfer_sup(lines[0], sizeof lines[0], js, f1, f2, &y1, &y2, &c, lo, hi, K);
    if (st == SSM_OK && c.hinf)
        st = transfer_hinf(lines[1], sizeof lines[1], js, &y1, &y2, &c);
    if (st == SSM_OK && c.json && !js)
        st = SSM_ERROR(SSM_ENOMEM, "out of memory (JSON)");
    if (st == SSM_OK && table)
        st = ssm_tsv_write_dmat(c.out, c.out ? NULL : stdout,
                                c.vs ? "omega re im abs re2 im2 abs2 absdiff" : "omega re im abs", header, T);
    if (st == SSM_OK) {
        fputs(lines[0], stdout), fputs(lines[1], stdout);
        if (js) {
            st = cli_json_print(js); /* releases js */
            js = NULL;
        }
    }
    json_decref(js);
    ssm_dmat_clear(T);
    cli_system_clear(&y1);
    cli_system_clear(&y2);
    return st == SSM_OK ? 0 : cli_fail(st);
}
