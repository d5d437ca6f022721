/* cli/cmd_hippo.c — `ssmkit hippo MEASURE -N N [--prec BITS] [-o FILE]`. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char HELP[] =
    "usage: ssmkit hippo MEASURE -N N [--prec BITS] [-o FILE] [--what A|B|P] [--json] [--quiet]\n"
    "\n"
    "Write the HiPPO matrices of MEASURE: A (N x N), B (N) and the rank-r correction P (r x N)\n"
    "that makes A + P Pᵀ normal, where the measure has one.  Every entry is its exact value\n"
    "rounded once (correctly rounded) to the requested precision.\n"
    "\n"
    "MEASURE: legs legt lagt glagt lmu fout fourier2 foud fourier-decay legsd\n"
    "         (fout, fourier2, foud and fourier-decay need an even N)\n"
    "\n"
    "options:\n"
    "  -N N            state size (1 .. 16777216, and what memory allows)\n"
    "  --prec BITS     precision in bits, 2 .. 1073741824 (default 53 = IEEE double);\n"
    "                  other values use MPFR; .tsv output then prints every entry with enough\n"
    "                  digits to round-trip at BITS, binary formats store the F64 rounding\n"
    "  -o FILE         output file; format from the extension:\n"
    "                    .safetensors  tensors A [N,N], B [N], P [r,N] + metadata\n"
    "                    .npy          one matrix (float64, C order), chosen by --what\n"
    "                    .tsv          one matrix as text, chosen by --what\n"
    "                  without -o the matrix (--what) goes to stdout as TSV\n"
    "  --what A|B|P    which matrix .npy/.tsv/stdout output holds (default A)\n"
    "  --json          print the summary as one JSON object on stdout (with -o)\n"
    "  -q, --quiet     no summary line, no progress bar\n"
    "  -h, --help      this text\n"
    "\n"
    "With -o, a one-line summary is printed: Frobenius norm of A, spectral abscissa\n"
    "max Re λ(A), and the normality defect ||S Sᵀ - Sᵀ S||_F / ||S||_F² of S = A + P Pᵀ\n"
    "(the last two computed in double for N <= 2048).\n";

enum { OPT_PREC = 1000, OPT_WHAT, OPT_JSON };

/* spectral abscissa and normality defect of the double matrices (NaN when skipped) */
static ssm_status summarise(double *abscissa, double *defect, const ssm_dmat_t A, const ssm_dmat_t P)
{
    size_t N = A->rows;
    *abscissa = NAN;
    *defect = NAN;
    if (N > 2048)
        return SSM_OK;
    double complex *w = malloc(N * sizeof *w);
    if (!w)
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    ssm_status s = ssm_dmat_eigvals(w, A);
    if (s == SSM_OK) {
        double a = -INFINITY;
        for (size_t i = 0; i < N; i++)
            a = fmax(a, creal(w[i]));
        *abscissa = a;
    }
    free(w);
    if (s != SSM_OK || P->rows == 0)
        return s;
    ssm_dmat_t S, X;
    s = ssm_dmat_init(S, N, N);
    if (s == SSM_OK)
        s = ssm_dmat_init(X, N, N);
    if (s == SSM_OK) {
        s = ssm_dmat_copy(S, A);
        if (s == SSM_OK) s = ssm_dmat_gemm(S, 1.0, P, 1, P, 0, 1.0);   /* S = A + Pᵀ P (P is r x N) */
        if (s == SSM_OK) s = ssm_dmat_gemm(X, 1.0, S, 0, S, 1, 0.0);   /* S Sᵀ */
        if (s == SSM_OK) s = ssm_dmat_gemm(X, -1.0, S, 1, S, 0, 1.0);  /* - Sᵀ S */
        double ns = ssm_dmat_norm_fro(S);
        if (s == SSM_OK) *defect = ssm_dmat_norm_fro(X) / (ns * ns);
        ssm_dmat_clear(X);
    }
    ssm_dmat_clear(S);
    return s;
}


/* the command line, parsed and checked (everything that can be refused before any work) */
typedef struct {
    ssm_hippo_measure m;
    size_t N, r;
    long prec;
    const char *out, *what;
    int json, quiet;
    cli_out_kind kind;
} hippo_args;

/* the matrices: double always, MPFR when prec != 53 (zeroed at start: hippo_mats_clear is safe) */
typedef struct {
    ssm_dmat_t A, B, P;
    ssm_mpmat_t Am, Bm, Pm;
    int mp;
} hippo_mats;

static void hippo_mats_clear(hippo_mats *x)
{
    ssm_dmat_clear(x->A); ssm_dmat_clear(x->B); ssm_dmat_clear(x->P);
    if (x->mp) {
        ssm_mpmat_clear(x->Am); ssm_mpmat_clear(x->Bm); ssm_mpmat_clear(x->Pm);
    }
}

/* -1 when the arguments are good, else the exit code (the error printed) */
static int hippo_parse(hippo_args *h, int argc, char **argv)
{
    static const struct option LONG[] = {
        {"help", no_argument, NULL, 'h'},   {"prec", required_argument, NULL, OPT_PREC},
        {"output", required_argument, NULL, 'o'}, {"what", required_argument, NULL, OPT_WHAT},
        {"json", no_argument, NULL, OPT_JSON}, {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    memset(h, 0, sizeof *h);
    h->prec = 53;
    h->what = "A";
    int what_given = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hN:o:q", LONG, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(HELP, stdout); return 0;
        case 'N':
            if (!cli_parse_size(&h->N, "-N", optarg))
                return EXIT_USAGE;
            break;
        case OPT_PREC:
            if (!cli_parse_long(&h->prec, "--prec", optarg, 2, 1L << 30))
                return EXIT_USAGE;
            break;
        case 'o': h->out = optarg; break;
        case OPT_WHAT: h->what = optarg, what_given = 1; break;
        case OPT_JSON: h->json = 1; break;
        case 'q': h->quiet = 1; break;
        case ':': return cli_usage_error("hippo: option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("hippo: unknown option '%s' (see 'ssmkit hippo --help')", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("hippo: missing MEASURE (see 'ssmkit hippo --help')");
    if (optind + 1 < argc)
        return cli_usage_error("hippo: unexpected argument '%s'", argv[optind + 1]);
    ssm_status s = ssm_hippo_lookup(&h->m, argv[optind]);
    if (s != SSM_OK)
        return cli_fail(s);
    if (h->N == 0)
        return cli_usage_error("hippo: missing -N (the state size)");
    if ((s = ssm_hippo_check_size(h->m, h->N)) != SSM_OK)
        return cli_fail(s);
    h->r = ssm_hippo_rank(h->m);
    if (strcmp(h->what, "A") != 0 && strcmp(h->what, "B") != 0 && strcmp(h->what, "P") != 0)
        return cli_usage_error("hippo: --what must be A, B or P, got '%s'", h->what);
    if (h->what[0] == 'P' && h->r == 0)
        return cli_usage_error("hippo: measure %s has no rank correction P", ssm_hippo_name(h->m));
    if (!cli_out_kind_of(&h->kind, h->out))
        return EXIT_USAGE;
    if (h->kind == OUT_SAFETENSORS && what_given)
        return cli_usage_error("hippo: --what applies to .npy/.tsv output; .safetensors holds A, B and P");
    if (h->json && !h->out)
        return cli_usage_error("hippo: --json needs -o (stdout carries the matrix)");
    /* memory: the double matrices always, the MPFR ones when prec != 53 */
    size_t mem = ssm_physical_memory(), N = h->N;
    double need = 8.0 * ((double)N * (double)N * 3 + (double)N * (double)(h->r + 1));
    if (h->prec != 53)
        need += (double)ssm_mpmat_bytes(N, N + h->r + 1, (mpfr_prec_t)h->prec);
    if (mem && need > 0.9 * (double)mem)
        return cli_usage_error("hippo: N = %zu at %ld bits needs %.1f GiB, more than the %.1f GiB of "
                               "memory on this machine", N, h->prec, need / 1073741824.0,
                               (double)mem / 1073741824.0);
    return -1;
}

/* the matrices, correctly rounded: in double directly, or at prec bits and then rounded to double */
static ssm_status hippo_compute(hippo_mats *x, const hippo_args *h)
{
    size_t N = h->N, r = h->r;
    memset(x, 0, sizeof *x);
    x->mp = h->prec != 53;
    ssm_status s = ssm_dmat_init(x->A, N, N);
    if (s == SSM_OK) s = ssm_dmat_init(x->B, N, 1);
    if (s == SSM_OK) s = ssm_dmat_init(x->P, r, N);
    if (s != SSM_OK || !x->mp)
        return s == SSM_OK ? ssm_hippo(x->A, x->B, x->P, h->m, N) : s;
    s = ssm_mpmat_init(x->Am, N, N, h->prec);
    if (s == SSM_OK) s = ssm_mpmat_init(x->Bm, N, 1, h->prec);
    if (s == SSM_OK) s = ssm_mpmat_init(x->Pm, r, N, h->prec);
    if (s == SSM_OK) {
        ssm_progress *bar = NULL;
        s = ssm_progress_create(&bar, "hippo", N, !h->quiet);
        if (s == SSM_OK)
            s = ssm_hippo_mp(x->Am, x->Bm, x->Pm, h->m, N, bar);
        ssm_progress_free(bar);
    }
    if (s == SSM_OK) s = ssm_mpmat_get_dmat(x->A, x->Am);
    if (s == SSM_OK) s = ssm_mpmat_get_dmat(x->B, x->Bm);
    if (s == SSM_OK) s = ssm_mpmat_get_dmat(x->P, x->Pm);
    return s;
}

static ssm_status hippo_write_safetensors(const hippo_mats *x, const hippo_args *h)
{
    ssm_st *f = NULL;
    char buf[64];
    ssm_status s = ssm_st_create(&f);
    if (s == SSM_OK) s = ssm_st_add_dmat(f, "A", x->A, 0);
    if (s == SSM_OK) s = ssm_st_add_dmat(f, "B", x->B, 1);
    if (s == SSM_OK && h->r > 0) s = ssm_st_add_dmat(f, "P", x->P, 0);
    if (s == SSM_OK) s = ssm_st_set_meta(f, "format", "ssmkit-hippo/1");
    if (s == SSM_OK) s = ssm_st_set_meta(f, "measure", ssm_hippo_name(h->m));
    snprintf(buf, sizeof buf, "%zu", h->N);
    if (s == SSM_OK) s = ssm_st_set_meta(f, "N", buf);
    snprintf(buf, sizeof buf, "%zu", h->r);
    if (s == SSM_OK) s = ssm_st_set_meta(f, "rank", buf);
    snprintf(buf, sizeof buf, "%ld", h->prec);
    if (s == SSM_OK) s = ssm_st_set_meta(f, "prec_bits", buf);
    if (s == SSM_OK)
        s = ssm_st_set_meta(f, "rounding", h->prec <= 53 ? "exact value correctly rounded to prec_bits (exact in F64)"
                                                         : "exact value correctly rounded to prec_bits, then to F64");
    if (s == SSM_OK) s = ssm_st_set_meta(f, "ssmkit_version", SSM_VERSION);
    if (s == SSM_OK) s = ssm_st_write(f, h->out);
    ssm_st_free(f);
    return s;
}

/* the output: the chosen matrix as TSV (file or stdout) or .npy, or every matrix as .safetensors */
static ssm_status hippo_write(const hippo_mats *x, const hippo_args *h)
{
    const char *what = h->what, *out = h->out;
    size_t N = h->N;
    if (h->kind == OUT_SAFETENSORS)
        return hippo_write_safetensors(x, h);
    const ssm_dmat_struct *Dsel = what[0] == 'A' ? x->A : what[0] == 'B' ? x->B : x->P;
    if (h->kind == OUT_NPY) {
        size_t shape[2] = {Dsel->rows, Dsel->cols};
        return ssm_npy_write(out, what[0] == 'B' ? 1 : 2, shape, 0, Dsel->data);
    }
    char header[1600];
    snprintf(header, sizeof header,
             "ssmkit %s hippo: measure %s, N %zu, precision %ld bits, matrix %s (%zu x %zu), entries correctly rounded\n"
             "command: %s",
             SSM_VERSION, ssm_hippo_name(h->m), N, h->prec, what, what[0] == 'P' ? h->r : N,
             what[0] == 'B' ? (size_t)1 : N, cli_command_line());
    const ssm_mpmat_struct *Msel = !x->mp ? NULL : what[0] == 'A' ? x->Am : what[0] == 'B' ? x->Bm : x->Pm;
    /* columns col0 … (B: one column named B) */
    return x->mp ? ssm_tsv_write_mpmat(out, out ? NULL : stdout, what[0] == 'B' ? "B" : NULL, header, Msel)
                 : ssm_tsv_write_dmat(out, out ? NULL : stdout, what[0] == 'B' ? "B" : NULL, header, Dsel);
}

/* the one-line summary (or its JSON) after a file was written */
static ssm_status hippo_summary(const hippo_mats *x, const hippo_args *h)
{
    double absc, defect;
    ssm_status s = summarise(&absc, &defect, x->A, x->P);
    if (s != SSM_OK)
        return s;
    double nf = ssm_dmat_norm_fro(x->A);
    if (h->json) {
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:s}", "measure", ssm_hippo_name(h->m), "N",
                              (json_int_t)h->N, "prec_bits", (json_int_t)h->prec, "rank", (json_int_t)h->r, "what",
                              h->kind == OUT_SAFETENSORS ? json_null() : json_string(h->what), "norm_fro_A",
                              cli_jnum(nf), "spectral_abscissa", cli_jnum(absc), "normality_defect", cli_jnum(defect),
                              "output", h->out);
        return cli_json_print(o);
    }
    char ab[32] = "(N>2048)", de[32] = "(no P)";
    if (!isnan(absc))
        snprintf(ab, sizeof ab, "%.4g", absc);
    if (h->r > 0)
        snprintf(de, sizeof de, isnan(defect) ? "(N>2048)" : "%.2g", defect);
    printf("%-13s N=%-5zu prec=%-4ld rank=%zu  ||A||_F=%-11.5g max Re eig(A)=%-9s "
           "normality defect of A+PPT=%-9s -> %s\n",
           ssm_hippo_name(h->m), h->N, h->prec, h->r, nf, ab, de, h->out);
    return SSM_OK;
}

int cmd_hippo(int argc, char **argv)
{
    hippo_args h;
    int rc = hippo_parse(&h, argc, argv);
    if (rc >= 0)
        return rc;
    hippo_mats x;
    ssm_status s = hippo_compute(&x, &h);
    if (s == SSM_OK)
        s = hippo_write(&x, &h);
    if (s == SSM_OK && h.out && (h.json || !h.quiet))
        s = hippo_summary(&x, &h);
    hippo_mats_clear(&x);
    return s == SSM_OK ? 0 : cli_fail(s);
}
