/* cli/cmd_eig.c — `ssmkit eig SPEC [--prec BITS] [--certify] ...` */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <float.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "usage: ssmkit eig SPEC [--prec BITS] [--digits D] [--route R] [--certify] [--rotate SEED]\n"
    "                       [-o FILE.tsv] [--json] [-q]\n"
    "\n"
    "Eigenvalues, kappa_2(V) (unit-norm eigenvectors) and the backward error of a matrix.\n"
    "SPEC: hippo:MEASURE:N (the exact HiPPO A, rounded once at a precision well above BITS),\n"
    "      or a matrix file: .npy (float64/complex128), .safetensors (tensor A, or A_target of an\n"
    "      init file), .tsv.  File entries are taken as exact.\n"
    "\n"
    "options:\n"
    "  --prec BITS    53 (default): LAPACK in double; more: multiprecision (MPFR/MPC + Arb), results\n"
    "                 vouched for by agreement of two working precisions, raised until they agree\n"
    "  --digits D     decimal digits to vouch for (default: those of BITS, minus 2)\n"
    "  --route R      auto (default), triangular, newton, qr (multiprecision only)\n"
    "  --certify      Arb enclosures of every eigenpair (acb_mat_eig_simple); also says whether the\n"
    "                 double-precision eigenvalues are right to 100 n eps ||A||\n"
    "  --rotate SEED  apply an orthogonal similarity (2 Householder reflections) first: same spectrum\n"
    "                 and kappa, no triangular structure (doc/reference.md section 4)\n"
    "  -o FILE.tsv    eigenvalues (re, im) with every digit of BITS\n"
    "  --json         one JSON object on stdout (eigenvalues as [[re, im], ...] in double)\n"
    "  -q, --quiet    summary only\n"
    "Exit status: 0, 1 when precision could not be vouched for or certification failed, 2 bad input.\n";

enum { O_PREC = 1000, O_DIGITS, O_ROUTE, O_CERT, O_ROT, O_JSON };

/* the matrix of a spec as MPC at precision ap: hippo: exactly (rounded once at
 * ap), a matrix file's or an init file's target A_target as exact doubles */
static int load_matrix(ssm_mpcmat_t A, const char *spec, mpfr_prec_t ap)
{
    if (strncmp(spec, "init:", 5) == 0 || strncmp(spec, "target:", 7) == 0)
        return cli_usage_error("eig: '%s': eig reads hippo:MEASURE:N, a matrix file, or an init file (its A_target)",
                               spec);
    cli_spec sp;
    cli_spec_rules rules = {.cmd = "eig", .nmax = 1024};
    int rc = cli_spec_load(&sp, spec, &rules);
    if (rc >= 0)
        return rc;
    ssm_status s = SSM_OK;
    size_t N = sp.N;
    memset(A, 0, sizeof(ssm_mpcmat_struct));
    if (sp.kind == CLI_SPEC_HIPPO) {
        ssm_mpmat_t R;
        s = ssm_mpmat_init(R, N, N, ap);
        if (s == SSM_OK) s = ssm_hippo_mp(R, NULL, NULL, sp.measure, N, NULL);
        if (s == SSM_OK) s = ssm_mpcmat_init(A, N, N, ap);
        if (s == SSM_OK) s = ssm_mpcmat_set_mpmat(A, R);
        ssm_mpmat_clear(R);
    } else if (sp.kind == CLI_SPEC_MATRIX || sp.kind == CLI_SPEC_SYSTEM) { /* a system file: its A */
        if ((s = ssm_mpcmat_init(A, N, N, ap)) == SSM_OK)
            for (size_t i = 0; i < N * N; i++)
                mpc_set_d_d(A->data[i], creal(sp.Z->data[i]), cimag(sp.Z->data[i]), MPC_RNDNN);
    } else if (sp.init->A_target->rows) {
        if ((s = ssm_mpcmat_init(A, N, N, ap)) == SSM_OK)
            for (size_t i = 0; i < N * N; i++)
                mpc_set_d_d(A->data[i], sp.init->A_target->data[i], 0.0, MPC_RNDNN);
    } else {
        cli_spec_clear(&sp);
        return cli_usage_error("eig: '%s' has no target matrix A_target (eig reads hippo:, a matrix file, or an "
                               "init file's A_target)", spec);
    }
    cli_spec_clear(&sp);
    if (s != SSM_OK)
        ssm_mpcmat_clear(A);
    return s == SSM_OK ? -1 : cli_fail(s);
}

/* what cmd_eig reports: the double result (ld, di) and, with mp, the multiprecision one */
typedef struct {
    const char *spec;
    size_t n;
    int mp, certify, double_ok; /* double_ok: the double eigenvalues inside the certified balls (−1: not judged) */
    mpfr_prec_t p;
    const ssm_mpcmat_struct *L; /* mp: the eigenvalues (n×1) at p bits */
    const double complex *ld;
    ssm_eig_info di;
    ssm_mpeig_info mi;
} eig_report;

/* the double eigenvalues ld inside Arb's enclosures of A's eigenpairs (L, V), widened by 100 n ε ‖A‖₂
 * (Ad: A in double)?  Not judged (−1) when Arb gives no enclosures. */
static ssm_status judge_double(int *double_ok, const ssm_mpcmat_t A, const ssm_mpcmat_t L, const ssm_mpcmat_t V,
                               const double complex *ld, const ssm_zmat_t Ad)
{
    size_t inside, n = A->rows;
    double nAd;
    ssm_status s = ssm_zmat_norm2(&nAd, Ad);
    if (s == SSM_OK)
        s = ssm_diag_eig_mp_contains(&inside, A, L, V, ld, 100.0 * (double)n * DBL_EPSILON * nAd);
    if (s == SSM_OK)
        *double_ok = inside == n;
    else if (s == SSM_ELOSS) { /* no enclosures: the double result is not judged */
        ssm_error_clear();
        s = SSM_OK;
    }
    return s;
}

static double eig_re(const eig_report *r, size_t i)
{
    return r->mp ? mpfr_get_d(mpc_realref(SSM_MP(r->L, i, 0)), MPFR_RNDN) : creal(r->ld[i]);
}

static double eig_im(const eig_report *r, size_t i)
{
    return r->mp ? mpfr_get_d(mpc_imagref(SSM_MP(r->L, i, 0)), MPFR_RNDN) : cimag(r->ld[i]);
}

static ssm_status print_json(const eig_report *r, const char *out)
{
    const ssm_eig_info *di = &r->di;
    const ssm_mpeig_info *mi = &r->mi;
    int mp = r->mp;
    json_t *o = json_object(), *ev = json_array();
    for (size_t i = 0; i < r->n; i++)
        json_array_append_new(ev, json_pack("[o, o]", cli_jnum(eig_re(r, i)), cli_jnum(eig_im(r, i))));
    json_object_set_new(o, "spec", json_string(r->spec));
    json_object_set_new(o, "n", json_integer((json_int_t)r->n));
    json_object_set_new(o, "prec_bits", json_integer(mp ? (json_int_t)r->p : 53));
    json_object_set_new(o, "route", json_string(mp ? ssm_mpeig_route_name(mi->route) : "lapack"));
    json_object_set_new(o, "working_prec", json_integer(mp ? (json_int_t)mi->working_prec : 53));
    json_object_set_new(o, "digits", mp ? cli_jnum(mi->digits) : json_null());
    json_object_set_new(o, "kappa_V", cli_jnum(mp ? mi->kappa_V : di->kappa_V));
    json_object_set_new(o, "kappa_V_log10", cli_jnum(mp ? mi->kappa_V_log10 : log10(di->kappa_V)));
    json_object_set_new(o, "backward_error", cli_jnum(mp ? mi->backward_error : di->backward_error));
    json_object_set_new(o, "backward_error_log10", cli_jnum(mp ? mi->backward_error_log10 : log10(di->backward_error)));
    json_object_set_new(o, "kappa_V_double", cli_jnum(di->kappa_V));
    /* Arb's enclosures: null without --certify */
    json_object_set_new(o, "certified", r->certify ? json_boolean(mp && mi->certified) : json_null());
    json_object_set_new(o, "radius_lambda", r->certify ? cli_jnum(mi->radius_lambda) : json_null());
    json_object_set_new(o, "radius_V", r->certify ? cli_jnum(mi->radius_V) : json_null());
    json_object_set_new(o, "double_result_correct",
                        r->certify && r->double_ok >= 0 ? json_boolean(r->double_ok) : json_null());
    json_object_set_new(o, "output", out ? json_string(out) : json_null());
    json_object_set_new(o, "eigenvalues", ev);
    return cli_json_print(o);
}

static void print_text(const eig_report *r, int quiet)
{
    const ssm_eig_info *di = &r->di;
    const ssm_mpeig_info *mi = &r->mi;
    size_t n = r->n;
    char dbl[96] = "double: n/a (LAPACK failed)";
    if (!isnan(di->kappa_V))
        snprintf(dbl, sizeof dbl, "double: kappa_V = %.6g, backward %.2g", di->kappa_V, di->backward_error);
    if (r->mp)
        printf("eig %s (%zu x %zu): route %s, working precision %ld bits, %.1f digits vouched for\n"
               "  kappa_V = %.6g (10^%.4f)   backward error = 10^%.1f   [%s]\n",
               r->spec, n, n, ssm_mpeig_route_name(mi->route), (long)mi->working_prec, mi->digits, mi->kappa_V,
               mi->kappa_V_log10, mi->backward_error_log10, dbl);
    else
        printf("eig %s (%zu x %zu): LAPACK zgeev in double\n  kappa_V = %.6g   backward error = %.3g\n", r->spec, n,
               n, di->kappa_V, di->backward_error);
    if (r->certify)
        printf("  certified: %s (eigenvalue radius %.3g, eigenvector radius %.3g); double eigenvalues %s\n",
               mi->certified ? "yes" : "NO", mi->radius_lambda, mi->radius_V,
               r->double_ok < 0 ? "not judged"
               : r->double_ok   ? "right to 100 n eps ||A||"
                                : "WRONG (outside the certified balls)");
    if (!quiet) {
        size_t show = n < 8 ? n : 8;
        printf("  eigenvalues%s:", n > show ? " (first 8)" : "");
        for (size_t i = 0; i < show; i++)
            if (r->mp)
                mpfr_printf(" %.10Rg%+.10Rgi", mpc_realref(SSM_MP(r->L, i, 0)), mpc_imagref(SSM_MP(r->L, i, 0)));
            else
                printf(" %.10g%+.10gi", creal(r->ld[i]), cimag(r->ld[i]));
        printf("\n");
    }
}

/* the eigenvalues (re, im) as TSV, every digit of p bits (53: double) */
static ssm_status write_tsv(const char *out, const eig_report *r)
{
    size_t n = r->n;
    ssm_mpmat_t T;
    ssm_status s = ssm_mpmat_init(T, n, 2, r->mp ? r->p : 53);
    for (size_t i = 0; s == SSM_OK && i < n; i++) {
        if (r->mp) {
            mpfr_set(SSM_MP(T, i, 0), mpc_realref(SSM_MP(r->L, i, 0)), MPFR_RNDN);
            mpfr_set(SSM_MP(T, i, 1), mpc_imagref(SSM_MP(r->L, i, 0)), MPFR_RNDN);
        } else {
            mpfr_set_d(SSM_MP(T, i, 0), creal(r->ld[i]), MPFR_RNDN);
            mpfr_set_d(SSM_MP(T, i, 1), cimag(r->ld[i]), MPFR_RNDN);
        }
    }
    char header[1200];
    snprintf(header, sizeof header, "ssmkit %s eig: eigenvalues of %s, %ld bits\ncommand: %s",
             SSM_VERSION, r->spec, r->mp ? (long)r->p : 53L, cli_command_line());
    if (s == SSM_OK)
        s = ssm_tsv_write_mpmat(out, NULL, "re im", header, T);
    ssm_mpmat_clear(T);
    return s;
}

/* the command line of eig, parsed and checked */
typedef struct {
    long prec, rot;
    double digits;
    int certify, json, quiet;
    const char *out, *spec;
    ssm_mpeig_route route;
} eig_args;

/* -1 when the arguments are good, else the exit code */
static int eig_parse(eig_args *e, int argc, char **argv)
{
    static const struct option LONG[] = {
        {"help", no_argument, NULL, 'h'},        {"prec", required_argument, NULL, O_PREC},
        {"digits", required_argument, NULL, O_DIGITS}, {"route", required_argument, NULL, O_ROUTE},
        {"certify", no_argument, NULL, O_CERT},  {"rotate", required_argument, NULL, O_ROT},
        {"json", no_argument, NULL, O_JSON},     {"quiet", no_argument, NULL, 'q'},
        {"output", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0},
    };
    memset(e, 0, sizeof *e);
    e->prec = 53;
    e->rot = -1;
    e->route = SSM_MPEIG_AUTO;
    opterr = 0;
    optind = 1;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, ":ho:q", LONG, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(HELP, stdout); return 0;
        case 'o': e->out = optarg; break;
        case 'q': e->quiet = 1; break;
        case O_PREC: if (!cli_parse_long(&e->prec, "--prec", optarg, 53, 1L << 20)) return EXIT_USAGE; break;
        case O_DIGITS:
            e->digits = strtod(optarg, &end);
            if (*end || !(e->digits > 0 && e->digits < 1e6))
                return cli_usage_error("--digits must be a positive number, got '%s'", optarg);
            break;
        case O_ROUTE:
            if (ssm_mpeig_route_lookup(&e->route, optarg) != SSM_OK)
                return cli_fail(SSM_EINVAL);
            break;
        case O_CERT: e->certify = 1; break;
        case O_ROT: if (!cli_parse_long(&e->rot, "--rotate", optarg, 0, 0x7fffffffL)) return EXIT_USAGE; break;
        case O_JSON: e->json = 1; break;
        case ':': return cli_usage_error("eig: option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("eig: unknown option '%s' (see 'ssmkit eig --help')", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("eig: missing SPEC (see 'ssmkit eig --help')");
    if (optind + 1 < argc)
        return cli_usage_error("eig: unexpected argument '%s'", argv[optind + 1]);
    cli_out_kind kind;
    if (!cli_out_kind_of(&kind, e->out))
        return EXIT_USAGE;
    if (e->out && kind != OUT_TSV)
        return cli_usage_error("eig: -o must name a .tsv file");
    e->spec = argv[optind];
    return -1;
}

int cmd_eig(int argc, char **argv)
{
    eig_args e;
    int rc = eig_parse(&e, argc, argv);
    if (rc >= 0)
        return rc;
    long prec = e.prec, rot = e.rot;
    double digits = e.digits;
    int certify = e.certify, json = e.json, quiet = e.quiet;
    const char *out = e.out;
    ssm_mpeig_route route = e.route;
    const char *spec = e.spec;
    int mp = prec > 53 || certify;
    mpfr_prec_t p = prec > 53 ? prec : 128;
    mpfr_prec_t ap = 4 * p + 256 > 1024 ? 4 * p + 256 : 1024; /* the input, well above the output */
    ssm_mpcmat_t A;
    rc = load_matrix(A, spec, ap);
    if (rc >= 0)
        return rc;
    size_t n = A->rows;
    ssm_status s = rot >= 0 ? ssm_diag_rotate_mp(A, (unsigned long)rot, 2) : SSM_OK;
    /* double precision always (the user's baseline; also the judged result with --certify) */
    ssm_zmat_t Ad, Vd, Wd;
    memset(Ad, 0, sizeof Ad); memset(Vd, 0, sizeof Vd); memset(Wd, 0, sizeof Wd);
    double complex *ld = malloc(n * sizeof *ld);
    ssm_eig_info di;
    memset(&di, 0, sizeof di);
    if (s == SSM_OK && !ld) s = SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (s == SSM_OK) s = ssm_zmat_init(Ad, n, n);
    if (s == SSM_OK) s = ssm_zmat_init(Vd, n, n);
    if (s == SSM_OK) s = ssm_zmat_init(Wd, n, n);
    if (s != SSM_OK) {
        rc = cli_fail(s);
        goto done;
    }
    for (size_t i = 0; i < n * n; i++)
        Ad->data[i] = CMPLX(mpfr_get_d(mpc_realref(A->data[i]), MPFR_RNDN), mpfr_get_d(mpc_imagref(A->data[i]), MPFR_RNDN));
    s = ssm_diag_eig(ld, Vd, Wd, &di, Ad);
    if (s != SSM_OK && (!mp || s == SSM_ENOMEM)) { /* --prec carries on without the double baseline, not without memory */
        rc = cli_fail(s);
        goto done;
    }
    int have_double = s == SSM_OK;
    if (!have_double) /* no double baseline: null in JSON, n/a in text (never a fake 0) */
        di.kappa_V = di.backward_error = NAN;
    ssm_error_clear();
    s = SSM_OK;
    ssm_mpcmat_t L, V, W;
    ssm_mpeig_info mi;
    memset(&mi, 0, sizeof mi);
    int double_ok = -1;
    if (mp) {
        memset(V, 0, sizeof V); memset(W, 0, sizeof W);
        s = ssm_mpcmat_init(L, n, 1, p);
        if (s == SSM_OK) s = ssm_mpcmat_init(V, n, n, p);
        if (s == SSM_OK) s = ssm_mpcmat_init(W, n, n, p);
        ssm_mpeig_opts o = {.route = route, .digits = digits, .certify = certify};
        if (s == SSM_OK) s = ssm_diag_eig_mp(L, V, W, &mi, A, &o);
        if (s != SSM_OK) {
            rc = cli_fail(s);
            ssm_mpcmat_clear(L); ssm_mpcmat_clear(V); ssm_mpcmat_clear(W);
            goto done;
        }
        if (certify && mi.certified && have_double && (s = judge_double(&double_ok, A, L, V, ld, Ad)) != SSM_OK) {
            rc = cli_fail(s);
            ssm_mpcmat_clear(L); ssm_mpcmat_clear(V); ssm_mpcmat_clear(W);
            goto done;
        }
    }
    eig_report r = {.spec = spec, .n = n, .mp = mp, .certify = certify, .double_ok = double_ok, .p = p,
                    .L = mp ? L : NULL, .ld = ld, .di = di, .mi = mi};
    if (json)
        s = print_json(&r, out);
    else
        print_text(&r, quiet);
    if (s == SSM_OK && out)
        s = write_tsv(out, &r);
    rc = s == SSM_OK ? 0 : cli_fail(s);
    if (certify && !mi.certified && rc == 0) {
        fprintf(stderr, "ssmkit: eig: certification failed (the enclosures could not be computed)\n");
        rc = EXIT_CHECK;
    }
    if (mp) {
        ssm_mpcmat_clear(L); ssm_mpcmat_clear(V); ssm_mpcmat_clear(W);
    }
done:
    free(ld);
    ssm_zmat_clear(Ad); ssm_zmat_clear(Vd); ssm_zmat_clear(Wd);
    ssm_mpcmat_clear(A);
    return rc;
}
