/* tests/t-cli.c — the `ssmkit` binary as a user meets it: help texts, every
 * bad-input case of the hippo command (exit 2, one line on stderr, no file
 * created or touched), and every output format read back and compared with
 * the library called directly. */
#define _POSIX_C_SOURCE 200809L
#include "ssmkit.h"
#include "tests/harness.h"
#include "tests/cli_harness.h"

#include <fcntl.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/ssm-t-cli-XXXXXX";

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* files in dir other than our capture files */
static int user_files(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -v -e '^.stdout$' -e '^.stderr$' -e '^keep' | wc -l", dir);
    FILE *fp = popen(cmd, "r");
    int n = -1;
    if (fp) {
        if (fscanf(fp, "%d", &n) != 1)
            n = -1;
        pclose(fp);
    }
    return n;
}

static void expect_usage_error(const char *const *args, const char *needle)
{
    int before = user_files();
    int rc = run(args);
    char what[300] = "";
    for (const char *const *a = args; *a; a++) {
        strncat(what, *a, sizeof what - strlen(what) - 2);
        strncat(what, " ", sizeof what - strlen(what) - 1);
    }
    CHECK(rc == 2, "[%s] exit %d, want 2", what, rc);
    CHECK(lines(err_buf) == 1 && strncmp(err_buf, "ssmkit: ", 8) == 0, "[%s] one line on stderr: '%s'", what, err_buf);
    CHECK(strstr(err_buf, needle) != NULL, "[%s] stderr '%s' lacks '%s'", what, err_buf, needle);
    CHECK(user_files() == before, "[%s] left a file behind", what);
}

static void test_help(void)
{
    CHECK(run((const char *[]){"--help", NULL}) == 0 && strstr(out_buf, "usage: ssmkit"), "--help");
    CHECK(run((const char *[]){"--version", NULL}) == 0 && strstr(out_buf, "ssmkit " SSM_VERSION) &&
              strstr(out_buf, "BLAS: OpenBLAS, core "), "--version names the BLAS core: %s", out_buf);
    /* a core the user set stands, and the self-test passes on it */
    const char *old = getenv("OPENBLAS_CORETYPE");
    char keep[64] = "";
    if (old) snprintf(keep, sizeof keep, "%s", old);
    setenv("OPENBLAS_CORETYPE", "Prescott", 1);
    CHECK(run((const char *[]){"--version", NULL}) == 0 && strstr(out_buf, "core Prescott, set by OPENBLAS_CORETYPE"),
          "OPENBLAS_CORETYPE=Prescott left alone: %s", out_buf);
    CHECK(run((const char *[]){"--blas-selftest", NULL}) == 0, "BLAS self-test on Prescott");
    if (old) setenv("OPENBLAS_CORETYPE", keep, 1); else unsetenv("OPENBLAS_CORETYPE");
    CHECK(run((const char *[]){"hippo", "--help", NULL}) == 0 && strstr(out_buf, "MEASURE") &&
              strstr(out_buf, "fourier-decay"), "hippo --help");
    CHECK(run((const char *[]){NULL}) == 2 && strstr(err_buf, "usage"), "no command -> 2");
    CHECK(run((const char *[]){"help", "init", NULL}) == 0 && strstr(out_buf, "usage: ssmkit init"), "help init");
    expect_usage_error((const char *[]){"train", "sinusoid", "--init", "s4d-lin", "--log", P_("x.npy"), NULL},
                       "must be a .tsv file");
    expect_usage_error((const char *[]){"inti", NULL}, "did you mean 'init'");
    expect_usage_error((const char *[]){"help", "verfiy", NULL}, "did you mean 'verify'");
    expect_usage_error((const char *[]){"hippo", "lgs", "-N", "4", NULL}, "did you mean 'legs'");
    expect_usage_error((const char *[]){"init", "s4d-lgs", "-N", "4", "-o", "x.safetensors", NULL}, "did you mean 's4d-legs'");
    expect_usage_error((const char *[]){"transfer", "init:s4dlegs:8", "--omega", "1:2:2", NULL}, "did you mean 's4d-legs'");
    expect_usage_error((const char *[]){"eig", "init:ptd:8", NULL}, "eig reads hippo:MEASURE:N");
    expect_usage_error((const char *[]){"transfer", "init::8", "--omega", "1:2:2", NULL}, "bad system spec");
}

/* pspec: a grid file with the advertised layout, the values of a diagonal
 * system (σ = distance to the nearest eigenvalue, exactly), scalars as JSON,
 * and every bad input refused with exit 2 and nothing written */
static void test_pspec(void)
{
    char o[300], tsv[300];
    snprintf(o, sizeof o, "%s/ps.tsv", dir);
    snprintf(tsv, sizeof tsv, "%s/diag.tsv", dir);
    FILE *f = fopen(tsv, "w");
    fputs("# diag(-1, -2, -4)\n-1 0 0\n0 -2 0\n0 0 -4\n", f);
    fclose(f);
    CHECK(run((const char *[]){"pspec", tsv, "--grid", "5x4", "--box", "-5:0:-1:1", "-o", o, "-q", NULL}) == 0,
          "pspec diag tsv: %s", err_buf);
    slurp(o, out_buf, sizeof out_buf);
    int rows = 0, ok = strncmp(out_buf, "re\tim\tsigma_min\n", 16) == 0; /* the names line first */
    for (char *line = strtok(out_buf + 16, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        double x, y, sg;
        if (sscanf(line, "%lf %lf %lf", &x, &y, &sg) != 3) {
            ok = 0;
            continue;
        }
        rows++;
        double want = fmin(fmin(hypot(x + 1, y), hypot(x + 2, y)), hypot(x + 4, y));
        /* the normal shortcut computes exactly this min |z − λ| (a few ulps of cabs apart) */
        ok &= fabs(sg - want) <= 1e-14 * (1 + want);
    }
    CHECK(ok && rows == 20, "pspec diag: %d rows, values %s", rows, ok ? "right" : "wrong");
    CHECK(run((const char *[]){"pspec", "hippo:legs:16", "--abscissa", "0.01", "--radius", "--json", NULL}) == 0 &&
              strstr(out_buf, "\"abscissa\":") && strstr(out_buf, "\"stability_radius\":"),
          "pspec --abscissa --radius --json: %s %s", out_buf, err_buf);
    CHECK(run((const char *[]){"pspec", "init:s4-dplr:16", "--grid", "6", "--json", NULL}) == 0 &&
              strstr(out_buf, "\"route\":\"dplr-secular\""), "pspec init:s4-dplr:16 takes the DPLR (secular) route: %s", out_buf);
    CHECK(run((const char *[]){"pspec", "--help", NULL}) == 0 && strstr(out_buf, "--abscissa"), "pspec --help");
    remove(o);
    expect_usage_error((const char *[]){"pspec", "hippo:legs:8", "--grid", "1", "-o", o, NULL}, "--grid '1'");
    expect_usage_error((const char *[]){"pspec", "hippo:legs:8", "--box", "1:0:0:1", "-o", o, NULL}, "--box '1:0:0:1'");
    expect_usage_error((const char *[]){"pspec", "hippo:legs:8", "--tol", "0", "-o", o, NULL}, "--tol '0'");
    expect_usage_error((const char *[]){"pspec", "hippo:legs:8", "--abscissa", "-1", NULL}, "--abscissa '-1'");
    expect_usage_error((const char *[]){"pspec", "hippo:legs:8", "--method", "magic", NULL}, "--method 'magic'");
    expect_usage_error((const char *[]){"pspec", "hippo:legs:8", "-o", "x.png", NULL}, "must be a .tsv");
    expect_usage_error((const char *[]){"pspec", "hippo:lagt:9", "--route", "dplr", "-o", o, NULL}, "even N");
    expect_usage_error((const char *[]){"pspec", "/nonexistent.npy", "-o", o, NULL}, "nonexistent");
    expect_usage_error((const char *[]){"pspec", "matrix.xyz", "-o", o, NULL}, "cannot read 'matrix.xyz'");
    expect_usage_error((const char *[]){"pspec", NULL}, "missing SPEC");
    CHECK(access(o, F_OK) != 0, "pspec: no output file after refused input");
}

static void test_errors(void)
{
    char o[300];
    snprintf(o, sizeof o, "%s/x.safetensors", dir);
    expect_usage_error((const char *[]){"frobnicate", NULL}, "unknown command 'frobnicate'");
    expect_usage_error((const char *[]){"hippo", "legendre", "-N", "4", "-o", o, NULL}, "unknown measure 'legendre'");
    expect_usage_error((const char *[]){"hippo", "-N", "4", "-o", o, NULL}, "missing MEASURE");
    expect_usage_error((const char *[]){"hippo", "legs", "-o", o, NULL}, "missing -N");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "abc", "-o", o, NULL}, "positive integer, got 'abc'");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "4x", "-o", o, NULL}, "positive integer");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "0", "-o", o, NULL}, "must be positive");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "-3", "-o", o, NULL}, "positive integer");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "99999999999999999999999", "-o", o, NULL}, "too large");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "20000000", "-o", o, NULL}, "exceeds the limit 16777216");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "2000000", "-o", o, NULL}, "GiB of memory");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "30000", "--prec", "100000", "-o", o, NULL},
                       "GiB of memory");
    expect_usage_error((const char *[]){"hippo", "fout", "-N", "7", "-o", o, NULL}, "even N");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "4", "--prec", "1", "-o", o, NULL}, "out of range");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "4", "--prec", "0", "-o", o, NULL}, "out of range");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "4", "--prec", "ten", "-o", o, NULL}, "integer");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "4", "--prec", "99999999999", "-o", o, NULL}, "out of range");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "4", "-o", "/nonexistent-ssm/x.tsv", NULL},
                       "cannot write '/nonexistent-ssm/x.tsv'");
    /* a parent that is a file: unwritable even for root */
    FILE *fp = fopen(P_("keep-file"), "w");
    fputs("x", fp);
    fclose(fp);
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "4", "-o", P_("keep-file/x.tsv"), NULL},
                       "Not a directory");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "4", "--frobnicate", NULL}, "unknown option '--frobnicate'");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "4", "-o", P_("x.csv"), NULL}, "cannot tell the output format");
    expect_usage_error((const char *[]){"hippo", "legsd", "-N", "4", "--what", "P", NULL}, "no rank correction");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "4", "--what", "Q", NULL}, "--what must be A, B or P");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", NULL}, "needs a value");
    expect_usage_error((const char *[]){"hippo", "legs", "extra", "-N", "4", NULL}, "unexpected argument 'extra'");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "4", "--json", NULL}, "--json needs -o");
    expect_usage_error((const char *[]){"hippo", "legs", "-N", "4", "--what", "B", "-o", o, NULL}, "--what applies");
    /* an existing output is not touched by a failing run */
    const char *keep = P_("keep.safetensors");
    fp = fopen(keep, "w");
    fputs("old", fp);
    fclose(fp);
    CHECK(run((const char *[]){"hippo", "fout", "-N", "5", "-o", keep, NULL}) == 2, "odd N, existing file");
    char buf[16];
    slurp(keep, buf, sizeof buf);
    CHECK(strcmp(buf, "old") == 0, "existing output untouched: '%s'", buf);
}

static int same_dmat(const ssm_dmat_t X, const double *y, size_t n)
{
    return X->rows * X->cols == n && memcmp(X->data, y, n * sizeof(double)) == 0;
}

static void test_outputs(void)
{
    const size_t N = 12;
    ssm_dmat_t A, B, P;
    TRY(ssm_dmat_init(A, N, N));
    TRY(ssm_dmat_init(B, N, 1));
    TRY(ssm_dmat_init(P, 2, N));
    TRY(ssm_hippo(A, B, P, SSM_HIPPO_LEGT, N));

    /* safetensors: A, B, P and metadata */
    const char *f = P_("legt.safetensors");
    CHECK(run((const char *[]){"hippo", "legt", "-N", "12", "-o", f, NULL}) == 0, "write safetensors: %s", err_buf);
    CHECK(strstr(out_buf, "legt") && lines(out_buf) == 1, "one summary line: %s", out_buf);
    ssm_st *st = NULL;
    CHECK(ssm_st_read(&st, f) == SSM_OK, "read back");
    if (st) {
        const ssm_tensor *a = ssm_st_get(st, "A"), *b = ssm_st_get(st, "B"), *p = ssm_st_get(st, "P");
        CHECK(a && a->ndim == 2 && a->shape[0] == N && memcmp(a->data, A->data, N * N * 8) == 0, "A");
        CHECK(b && b->ndim == 1 && b->shape[0] == N && memcmp(b->data, B->data, N * 8) == 0, "B");
        CHECK(p && p->ndim == 2 && p->shape[0] == 2 && memcmp(p->data, P->data, 2 * N * 8) == 0, "P");
        CHECK(strcmp(ssm_st_meta(st, "measure"), "legt") == 0 && strcmp(ssm_st_meta(st, "N"), "12") == 0 &&
                  strcmp(ssm_st_meta(st, "prec_bits"), "53") == 0 && strcmp(ssm_st_meta(st, "rank"), "2") == 0,
              "metadata");
        ssm_st_free(st);
    }
    /* no P tensor where the measure has none */
    CHECK(run((const char *[]){"hippo", "lmu", "-N", "4", "-q", "-o", P_("lmu.safetensors"), NULL}) == 0 &&
              out_buf[0] == '\0', "quiet");
    CHECK(ssm_st_read(&st, P_("lmu.safetensors")) == SSM_OK && !ssm_st_get(st, "P") && ssm_st_get(st, "A"), "no P");
    ssm_st_free(st);

    /* npy of B, tsv of P, stdout of A */
    ssm_npy np;
    CHECK(run((const char *[]){"hippo", "legt", "-N", "12", "--what", "B", "-o", P_("b.npy"), NULL}) == 0, "npy");
    CHECK(ssm_npy_read(&np, P_("b.npy")) == SSM_OK && np.ndim == 1 && np.count == N &&
              memcmp(np.data, B->data, N * 8) == 0, "npy B");
    ssm_npy_clear(&np);
    CHECK(run((const char *[]){"hippo", "legt", "-N", "12", "--what", "P", "-o", P_("p.tsv"), NULL}) == 0, "tsv");
    ssm_dmat_t X;
    CHECK(ssm_tsv_read(X, P_("p.tsv")) == SSM_OK && X->rows == 2 && same_dmat(X, P->data, 2 * N), "tsv P");
    ssm_dmat_clear(X);
    CHECK(run((const char *[]){"hippo", "legt", "-N", "12", NULL}) == 0 && strncmp(out_buf, "col0\tcol1\t", 10) == 0 &&
              strstr(out_buf, "col11\n# ssmkit"), "stdout tsv: the names line, then the comments");
    CHECK(ssm_tsv_read_mem(X, out_buf, strlen(out_buf)) == SSM_OK && same_dmat(X, A->data, N * N), "stdout A");
    ssm_dmat_clear(X);

    /* --prec 256 TSV: every printed entry parses back to the library's MPFR value */
    CHECK(run((const char *[]){"hippo", "fout", "-N", "8", "--prec", "256", NULL}) == 0, "prec 256");
    ssm_mpmat_t M;
    TRY(ssm_mpmat_init(M, 8, 8, 256));
    TRY(ssm_hippo_mp(M, NULL, NULL, SSM_HIPPO_FOUT, 8, NULL));
    mpfr_t y;
    mpfr_init2(y, 256);
    int same = 0, count = 0;
    char *save, *line = strtok_r(out_buf, "\n", &save);
    CHECK(line && strncmp(line, "col0\t", 5) == 0, "prec-256 TSV: the names line first");
    for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *s2, *tok = strtok_r(line, "\t", &s2);
        for (; tok; tok = strtok_r(NULL, "\t", &s2), count++) {
            mpfr_set_str(y, tok, 10, MPFR_RNDN);
            same += count < 64 && mpfr_equal_p(y, SSM_MP(M, count / 8, count % 8));
        }
    }
    CHECK(count == 64 && same == 64, "prec-256 TSV round trip: %d of %d", same, count);
    mpfr_clear(y);
    ssm_mpmat_clear(M);

    /* --prec 12 to npy: the F64 values are the 12-bit roundings */
    CHECK(run((const char *[]){"hippo", "legs", "-N", "6", "--prec", "12", "-o", P_("l12.npy"), "-q", NULL}) == 0, "prec 12");
    TRY(ssm_mpmat_init(M, 6, 6, 12));
    TRY(ssm_hippo_mp(M, NULL, NULL, SSM_HIPPO_LEGS, 6, NULL));
    ssm_dmat_t D;
    TRY(ssm_dmat_init(D, 6, 6));
    TRY(ssm_mpmat_get_dmat(D, M));
    CHECK(ssm_npy_read(&np, P_("l12.npy")) == SSM_OK && memcmp(np.data, D->data, 36 * 8) == 0, "12-bit values");
    ssm_npy_clear(&np);
    ssm_dmat_clear(D);
    ssm_mpmat_clear(M);

    /* --json summary */
    CHECK(run((const char *[]){"hippo", "legs", "-N", "16", "-o", P_("j.safetensors"), "--json", NULL}) == 0, "json");
    json_error_t je;
    json_t *o = json_loads(out_buf, 0, &je);
    CHECK(o && json_integer_value(json_object_get(o, "N")) == 16 &&
              json_real_value(json_object_get(o, "spectral_abscissa")) == -1.0 &&
              json_real_value(json_object_get(o, "normality_defect")) < 1e-14,
          "json summary: %s", out_buf);
    json_decref(o);
    ssm_dmat_clear(A);
    ssm_dmat_clear(B);
    ssm_dmat_clear(P);
}

/* distances stated next to their reference: verify's quality verdict and transfer --vs's relative sup */
static double jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* a full disk behind stdout is a failed write (exit 1, one line naming the reason), whatever the output:
 * the JSON summary, a pspec grid, a transfer table */
static void test_full_stdout(void)
{
    if (access("/dev/full", W_OK) != 0)
        return; /* not on this system */
    const char *cases[][8] = {
        {"eig", "hippo:legs:8", "--json", NULL},
        {"pspec", "hippo:legs:8", "--grid", "5", NULL},
        {"transfer", "hippo:legs:8", "--omega", "1:10:5", "--sup", "--json", NULL},
        {"hippo", "legs", "-N", "8", NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int rc = wait_for(spawn_env(cases[k], "/dev/full", NULL));
        CHECK(rc == 1 && lines(err_buf) == 1 && strstr(err_buf, "No space left"), "%s > /dev/full: exit %d, %s",
              cases[k][0], rc, err_buf);
    }
}

static void test_relative_errors(void)
{
    char ptd[320], legs[320], tsv[320], tgt[400]; /* (P_'s buffers rotate: run() uses them too) */
    snprintf(ptd, sizeof ptd, "%s", P_("rel-ptd.safetensors"));
    snprintf(legs, sizeof legs, "%s", P_("rel-legs.safetensors"));
    snprintf(tsv, sizeof tsv, "%s", P_("rel.tsv"));
    CHECK(run((const char *[]){"init", "ptd", "-N", "16", "--eps", "0.05", "-q", "-o", ptd, NULL}) == 0, "init ptd: %s", err_buf);
    CHECK(run((const char *[]){"init", "s4d-legs", "-N", "16", "-q", "-o", legs, NULL}) == 0, "init s4d-legs: %s", err_buf);
    /* the signal sup |G_target| the verdict divides by, checked against the refined sup of the target
     * (a different algorithm over a wider band): the stored grid's value is a lower bound within 2% */
    snprintf(tgt, sizeof tgt, "target:%s", ptd);
    CHECK(run((const char *[]){"transfer", tgt, "--omega", "1e-3:1e5:400:log", "--sup", "--json", NULL}) == 0,
          "transfer target --sup: %s", err_buf);
    json_error_t je;
    json_t *t = json_loads(out_buf, 0, &je);
    double target_sup = jnum(t, "sup");
    json_decref(t);
    const char *files[2] = {ptd, legs}, *verdict[2] = {"good", "poor"};
    for (int i = 0; i < 2; i++) {
        CHECK(run((const char *[]){"verify", files[i], "--json", NULL}) == 0, "verify --json: %s", err_buf);
        json_t *o = json_loads(out_buf, 0, &je), *q = o ? json_object_get(o, "quality") : NULL;
        double e = jnum(q, "tf_error"), sig = jnum(q, "tf_signal"), rel = jnum(q, "tf_relative");
        double stored = NAN;
        json_t *checks = o ? json_object_get(o, "checks") : NULL;
        for (size_t k = 0; k < json_array_size(checks); k++)
            if (strcmp(json_string_value(json_object_get(json_array_get(checks, k), "key")), "tf_sup_error") == 0)
                stored = jnum(json_array_get(checks, k), "stored");
        CHECK(fabs(e - stored) <= 1e-6 * stored, "quality's error is the stored tf_sup_error: %g vs %g", e, stored);
        CHECK(fabs(rel - e / sig) <= 4 * DBL_EPSILON * rel, "tf_relative = tf_error / tf_signal");
        CHECK(sig <= target_sup * (1 + 1e-9) && sig >= 0.98 * target_sup, "tf_signal %g vs refined sup|G_target| %g",
              sig, target_sup);
        const json_t *v = json_object_get(q, "verdict");
        CHECK(json_is_string(v) && strcmp(json_string_value(v), verdict[i]) == 0, "%s verdict %s (rel %g)",
              files[i], json_is_string(v) ? json_string_value(v) : "?", rel);
        json_decref(o);
        CHECK(run((const char *[]){"verify", files[i], NULL}) == 0 && strstr(out_buf, "integrity: ") &&
                  strstr(out_buf, verdict[i]), "verify text: %s", out_buf);
    }
    /* transfer --vs --sup: the reference's sup is at least every |G2| of the table on the same grid, and
     * the relative distance is the ratio printed in words */
    snprintf(tgt, sizeof tgt, "target:%s", legs);
    CHECK(run((const char *[]){"transfer", legs, "--vs", tgt, "--omega", "0.01:2000:300:log", "--sup", "--hinf",
                               "--json", "-o", tsv, NULL}) == 0, "transfer --vs --sup --json: %s", err_buf);
    json_t *o = json_loads(out_buf, 0, &je);
    double sup = jnum(o, "sup"), ref = jnum(o, "ref_sup"), rel = jnum(o, "relative_sup");
    double hinf = jnum(o, "hinf"), rhinf = jnum(o, "ref_hinf");
    json_decref(o);
    ssm_dmat_t T;
    double gridmax = 0;
    CHECK(ssm_tsv_read(T, tsv) == SSM_OK && T->cols == 8, "table");
    for (size_t k = 0; k < T->rows; k++)
        gridmax = fmax(gridmax, SSM_D(T, k, 6));
    ssm_dmat_clear(T);
    CHECK(ref >= gridmax * (1 - 1e-12) && ref <= 1.05 * gridmax, "ref_sup %g vs the table's max |G2| %g", ref, gridmax);
    CHECK(fabs(rel - sup / ref) <= 4 * DBL_EPSILON * rel && rel > 10, "relative_sup %g = %g / %g", rel, sup, ref);
    CHECK(rhinf >= ref * (1 - 1e-9) && fabs(hinf - sup) <= 1e-6 * sup, "H-inf %g (ref %g) vs sup %g (ref %g)", hinf, rhinf,
          sup, ref);
    CHECK(run((const char *[]){"transfer", legs, "--vs", tgt, "--omega", "0.01:2000:300:log", "--sup", NULL}) == 0 &&
              strstr(out_buf, "times sup|G2|"), "transfer --vs --sup text: %s", out_buf);
    remove(ptd); remove(legs); remove(tsv);
}

/* init / verify / transfer from the command line */
static void test_init_verify_transfer(void)
{
    char f[300], g[300];
    snprintf(f, sizeof f, "%s/ptd.safetensors", dir);
    snprintf(g, sizeof g, "%s/bad.safetensors", dir);
    CHECK(run((const char *[]){"init", "ptd", "-N", "16", "--eps", "0.05", "-o", f, NULL}) == 0, "init ptd: %s", err_buf);
    CHECK(strstr(out_buf, "kappa_V=") != NULL, "init summary: %s", out_buf);
    CHECK(run((const char *[]){"verify", f, NULL}) == 0 && strstr(out_buf, "checks hold"), "verify good: %s", out_buf);
    CHECK(run((const char *[]){"verify", f, "--json", NULL}) == 0 && strstr(out_buf, "\"ok\":true"), "verify --json");
    {
        json_error_t je;
        json_t *o = json_loads(out_buf, 0, &je), *checks = o ? json_object_get(o, "checks") : NULL;
        int numbers = 0;
        for (size_t i = 0; checks && i < json_array_size(checks); i++) {
            json_t *it = json_array_get(checks, i);
            if (strcmp(json_string_value(json_object_get(it, "key")), "kappa_V") == 0)
                numbers = json_is_real(json_object_get(it, "stored")) && json_is_real(json_object_get(it, "recomputed"));
        }
        CHECK(numbers, "verify --json: kappa_V stored and recomputed as numbers");
        json_decref(o);
    }
    /* init --json is typed: integers, reals, booleans, null for "n/a", strings for names */
    CHECK(run((const char *[]){"init", "s4d-legs", "-N", "8", "--seed", "3", "-o", g, "--json", NULL}) == 0,
          "init --json: %s", err_buf);
    {
        json_error_t je;
        json_t *o = json_loads(out_buf, 0, &je);
        CHECK(o && json_is_integer(json_object_get(o, "N")) && json_integer_value(json_object_get(o, "N")) == 8 &&
                  json_is_integer(json_object_get(o, "seed")) && json_is_true(json_object_get(o, "conj_sym")) &&
                  json_is_null(json_object_get(o, "eps")) && json_is_real(json_object_get(o, "kappa_V")) &&
                  json_is_string(json_object_get(o, "method")) && json_is_string(json_object_get(o, "data_fnv1a64")),
              "init --json typed: %s", out_buf);
        json_decref(o);
        remove(g);
    }
    /* multiprecision recomputation: κ agrees to at least 12 digits with the stored double */
    CHECK(run((const char *[]){"verify", f, "--prec", "256", "--json", NULL}) == 0, "verify --prec 256: %s", err_buf);
    {
        json_error_t je;
        json_t *o = json_loads(out_buf, 0, &je), *m = json_object_get(o, "mpfr");
        double dk = -1;
        for (size_t i = 0; i < json_array_size(m); i++)
            if (strcmp(json_string_value(json_object_get(json_array_get(m, i), "key")), "kappa_V") == 0)
                dk = json_real_value(json_object_get(json_array_get(m, i), "digits"));
        CHECK(dk >= 12.0, "verify --prec 256: kappa_V digits %g", dk);
        json_decref(o);
    }
    /* one altered byte in the data area (the last double) → refused at load by the checksum, exit 2 */
    unsigned char *buf;
    size_t len;
    TRY(ssm_read_file(&buf, &len, f));
    buf[len - 3] ^= 0x10;
    FILE *fp = fopen(g, "wb");
    fwrite(buf, 1, len, fp);
    fclose(fp);
    CHECK(run((const char *[]){"verify", g, NULL}) == 2 && strstr(err_buf, "data_fnv1a64") && lines(err_buf) == 1,
          "verify altered -> 2: %s / %s", out_buf, err_buf);
    /* truncated → 2 */
    fp = fopen(g, "wb");
    fwrite(buf, 1, len / 2, fp);
    fclose(fp);
    free(buf);
    CHECK(run((const char *[]){"verify", g, NULL}) == 2 && lines(err_buf) == 1, "verify truncated -> 2: %s", err_buf);
    /* a hippo file is not an init file → 2 */
    CHECK(run((const char *[]){"hippo", "legs", "-N", "4", "-q", "-o", g, NULL}) == 0, "hippo file");
    CHECK(run((const char *[]){"verify", g, NULL}) == 2 && strstr(err_buf, "not an ssmkit init file"), "foreign: %s", err_buf);
    unlink(g);
    char o[300];
    snprintf(o, sizeof o, "%s/x.safetensors", dir);
    expect_usage_error((const char *[]){"init", "s4d-foo", "-N", "8", "-o", o, NULL}, "unknown method 's4d-foo'");
    expect_usage_error((const char *[]){"init", "s4d-lin", "-N", "7", "-o", o, NULL}, "even");
    expect_usage_error((const char *[]){"init", "s4d-lin", "-N", "8", NULL}, "missing -o");
    expect_usage_error((const char *[]){"init", "s4d-lin", "-N", "8", "-o", P_("x.npy"), NULL}, ".safetensors");
    expect_usage_error((const char *[]){"init", "ptd", "-N", "8", "--prec", "20", "-o", o, NULL}, "out of range");
    expect_usage_error((const char *[]){"init", "s4d-lin", "-N", "8", "--eps", "0.1", "-o", o, NULL}, "ptd only");
    expect_usage_error((const char *[]){"init", "ptd", "-N", "8", "--eps", "-1", "-o", o, NULL}, "--eps must be in");
    expect_usage_error((const char *[]){"init", "s4d-legs", "-N", "8", "--C", "zeros", "-o", o, NULL}, "--C must be");
    expect_usage_error((const char *[]){"init", "s5-legs", "-N", "8", "--blocks", "3", "-o", o, NULL}, "multiple of");
    expect_usage_error((const char *[]){"verify", P_("missing.safetensors"), NULL}, "cannot open");
    /* transfer: Hessenberg (hippo spec) vs Woodbury (DPLR init) agree */
    CHECK(run((const char *[]){"transfer", "hippo:legs:16", "--omega", "0.1:1000:7:log", "--vs", "init:s4-dplr:16",
                               NULL}) == 0, "transfer --vs: %s", err_buf);
    ssm_dmat_t T;
    CHECK(ssm_tsv_read_mem(T, out_buf, strlen(out_buf)) == SSM_OK && T->rows == 7 && T->cols == 8, "8 columns");
    double worst = 0;
    for (size_t k = 0; k < T->rows; k++)
        worst = fmax(worst, SSM_D(T, k, 7) / fmax(SSM_D(T, k, 3), 1e-300));
    CHECK(worst < 1e-10, "Hessenberg vs Woodbury relative difference %g", worst);
    ssm_dmat_clear(T);
    CHECK(run((const char *[]){"transfer", f, "--omega", "1:10:3", "-o", P_("tf.tsv"), NULL}) == 0, "transfer to file");
    CHECK(ssm_tsv_read(T, P_("tf.tsv")) == SSM_OK && T->rows == 3 && T->cols == 4 && SSM_D(T, 1, 0) == 5.5, "linear grid");
    ssm_dmat_clear(T);
    /* --sup and --hinf: two algorithms on the DPLR − S4D-LegS spike agree, and it sits at the largest
     * |Im W| = 325.4263 of doc/reference.md §2 (half-width 1/2) */
    CHECK(run((const char *[]){"transfer", "init:s4-dplr:32", "--vs", "init:s4d-legs:32", "--omega", "1:10240:300:log",
                               "--sup", "--hinf", "--json", NULL}) == 0, "transfer --sup --hinf: %s", err_buf);
    {
        json_error_t je;
        json_t *jo = json_loads(out_buf, 0, &je);
        double sup = json_real_value(json_object_get(jo, "sup")), hinf = json_real_value(json_object_get(jo, "hinf")),
               w = json_real_value(json_object_get(jo, "omega_at_sup"));
        /* the H∞ gap is 2e-10; the evaluations' rounding ~1.5e-9 relative (t-distance.c) */
        CHECK(jo && sup > 1 && fabs(sup - hinf) <= 1.5e-9 * hinf && fabs(w - 325.4263) < 0.5,
              "--sup %.17g vs --hinf %.17g at %g", sup, hinf, w);
        json_decref(jo);
    }
    CHECK(run((const char *[]){"transfer", "hippo:legs:8", "--omega", "0.1:100:50:log", "--sup", NULL}) == 0 &&
              lines(out_buf) == 1 && strstr(out_buf, "sup |G| = "), "--sup alone prints one line: %s", out_buf);
    expect_usage_error((const char *[]){"transfer", "hippo:legs:8", "--omega", "0:10:5", "--sup", NULL}, "0 < LO < HI");
    /* FouT's zero state is uncontrollable: the H-infinity norm is the minimal system's, as the refined sup */
    CHECK(run((const char *[]){"transfer", "hippo:fout:8", "--omega", "1e-3:1e3:400:log", "--hinf", "--sup", "--json",
                               NULL}) == 0, "FouT --hinf: %s", err_buf);
    {
        json_error_t je;
        json_t *jo = json_loads(out_buf, 0, &je);
        double sup = json_real_value(json_object_get(jo, "sup")), hinf = json_real_value(json_object_get(jo, "hinf"));
        CHECK(jo && fabs(sup - hinf) <= 1e-9 * hinf &&
                  json_integer_value(json_object_get(jo, "hinf_modes_removed")) == 1,
              "FouT --hinf %.17g vs --sup %.17g: %s", hinf, sup, out_buf);
        json_decref(jo);
    }
    expect_usage_error((const char *[]){"transfer", "hippo:legs:16", NULL}, "missing --omega");
    expect_usage_error((const char *[]){"transfer", "hippo:legs:16", "--omega", "0:10:5:log", NULL}, "LO > 0");
    expect_usage_error((const char *[]){"transfer", "hippo:legs:16", "--omega", "1:10", NULL}, "LO:HI:COUNT");
    expect_usage_error((const char *[]){"transfer", "hippo:nope:16", "--omega", "1:10:5", NULL}, "unknown measure");
    expect_usage_error((const char *[]){"transfer", "target:nofile", "--omega", "1:10:5", NULL}, "cannot open");
    expect_usage_error((const char *[]){"transfer", "init:s4d-lin:16", "--vs", "target:x", "--omega", "1:10:5", NULL},
                       "cannot open");
    unlink(f);
}

/* eig: double vs multiprecision on LegS, certification, errors */
static void test_eig(void)
{
    CHECK(run((const char *[]){"eig", "hippo:legs:16", "--prec", "128", "--json", NULL}) == 0, "eig mp: %s", err_buf);
    json_error_t je;
    json_t *o = json_loads(out_buf, 0, &je);
    double k = json_real_value(json_object_get(o, "kappa_V"));
    CHECK(o && fabs(k / 8.31986e10 - 1) < 5e-6 && strcmp(json_string_value(json_object_get(o, "route")), "triangular") == 0,
          "eig LegS N=16 κ = %g (REFERENCE 8.31986e10)", k);
    CHECK(json_array_size(json_object_get(o, "eigenvalues")) == 16, "16 eigenvalues");
    json_decref(o);
    CHECK(run((const char *[]){"eig", "hippo:legs:32", "--rotate", "3", "--prec", "128", "--certify", "-q", NULL}) == 0 &&
              strstr(out_buf, "certified: yes") && strstr(out_buf, "WRONG"),
          "rotated LegS N=32: certified, double result exposed: %s", out_buf);
    /* a matrix file, and eigenvalues to a TSV with all digits */
    CHECK(run((const char *[]){"hippo", "legs", "-N", "6", "-q", "-o", P_("l6.npy"), NULL}) == 0, "npy");
    CHECK(run((const char *[]){"eig", P_("l6.npy"), "--prec", "200", "-o", P_("ev.tsv"), "-q", NULL}) == 0, "eig npy: %s",
          err_buf);
    ssm_dmat_t T;
    CHECK(ssm_tsv_read(T, P_("ev.tsv")) == SSM_OK && T->rows == 6 && T->cols == 2 && SSM_D(T, 0, 0) == -1.0 &&
              SSM_D(T, 5, 0) == -6.0, "eigenvalue TSV");
    ssm_dmat_clear(T);
    expect_usage_error((const char *[]){"eig", "hippo:legs:0", NULL}, "must be positive");
    expect_usage_error((const char *[]){"eig", "hippo:legs:8", "--prec", "20", NULL}, "out of range");
    expect_usage_error((const char *[]){"eig", "hippo:legs:8", "--route", "lu", NULL}, "unknown route");
    expect_usage_error((const char *[]){"eig", "hippo:legs:8", "-o", P_("x.npy"), NULL}, ".tsv");
    expect_usage_error((const char *[]){"eig", P_("nothing.npy"), NULL}, "cannot open");
    expect_usage_error((const char *[]){"eig", "matrix.csv", NULL}, "cannot read");
    CHECK(run((const char *[]){"hippo", "legs", "-N", "4", "--what", "B", "-q", "-o", P_("b4.npy"), NULL}) == 0, "vector");
    expect_usage_error((const char *[]){"eig", P_("b4.npy"), NULL}, "need a 2-d matrix");
    /* triangular route on a rotated (full) matrix is refused as bad input */
    CHECK(run((const char *[]){"eig", "hippo:legs:8", "--rotate", "1", "--prec", "64", "--route", "triangular", NULL}) == 2,
          "triangular route on a full matrix -> 2");
    /* precision that cannot be vouched for: exit 1 (numerical failure), one line */
    CHECK(run((const char *[]){"eig", "hippo:legs:24", "--rotate", "2", "--prec", "64", "--route", "newton", NULL}) == 1 &&
              lines(err_buf) == 1, "Newton from a hopeless double start -> 1: %s", err_buf);
}

/* experiment kappa-growth at a small size: TSV, JSON, job list, errors */
static void test_experiment(void)
{
    CHECK(run((const char *[]){"experiment", "kappa-growth", "--n-max", "16", "--out", dir, "-q", NULL}) == 0,
          "kappa-growth: %s", err_buf);
    ssm_dmat_t T;
    CHECK(ssm_tsv_read(T, P_("kappa-growth.tsv")) == SSM_OK && T->rows == 5 && T->cols == 6, "kappa-growth.tsv");
    if (T->data) {
        /* N = 16 row: κ = 8.31986e10 (doc/reference.md §4), double agrees there */
        CHECK(fabs(SSM_D(T, 4, 1) - log10(8.31986e10)) < 1e-5 && SSM_D(T, 4, 5) < 1e-3, "N=16 row");
        ssm_dmat_clear(T);
    }
    json_error_t je;
    json_t *o = json_load_file(P_("kappa-growth.json"), 0, &je);
    CHECK(o && json_is_array(json_object_get(o, "kappa")), "kappa-growth.json");
    json_decref(o);
    CHECK(run((const char *[]){"experiment", "kappa-growth", "--jobs", NULL}) == 0 && lines(out_buf) == 17,
          "job list: %d lines", lines(out_buf));
    /* the output folder is created with its parents; one that cannot be (under a file) is refused first */
    expect_usage_error((const char *[]){"experiment", "kappa-growth", "--out", "/dev/null/sub", NULL},
                       "cannot create the output folder");
    {
        char nested[300];
        snprintf(nested, sizeof nested, "%s/made/here", dir);
        CHECK(run((const char *[]){"experiment", "spikes", "--n-max", "16", "--out", nested, "--json", "-q", NULL}) == 0 &&
                  strncmp(out_buf, "{\"experiment\":\"spikes\",", 23) == 0,
              "experiment --out NEW/DIR --json: %s %s", out_buf, err_buf);
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s/made'", dir);
        CHECK(system(cmd) == 0, "cleanup");
    }
    /* refused before any work: an output folder that does not exist (init ptd used to optimise
     * first), a negative clip, a FIFO given as input (verify used to wait for a writer forever) */
    expect_usage_error((const char *[]){"init", "ptd", "-N", "64", "-o", "/nonexistent-ssm/x.safetensors", NULL},
                       "cannot write '/nonexistent-ssm/x.safetensors'");
    expect_usage_error((const char *[]){"init", "s4d-legs", "-N", "8", "--clip-im-B", "-1", "-o", P_("c.safetensors"),
                                        NULL}, "--clip-im-B must be > 0");
    {
        char fifo[300];
        snprintf(fifo, sizeof fifo, "%s/keep-fifo", dir);
        CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
        CHECK(run((const char *[]){"verify", fifo, NULL}) == 2 && strstr(err_buf, "not a regular file"),
              "verify on a FIFO: exit 2 at once: %s", err_buf);
        remove(fifo);
    }
    /* a non-finite value in an init file: refused naming the tensor, exit 2 (verify, transfer) */
    {
        char good[300], bad[300];
        snprintf(good, sizeof good, "%s/nan-src.safetensors", dir);
        snprintf(bad, sizeof bad, "%s/nan.safetensors", dir);
        CHECK(run((const char *[]){"init", "s4d-legs", "-N", "8", "-o", good, "-q", NULL}) == 0, "init for NaN test");
        ssm_st *f = NULL;
        CHECK(ssm_st_read(&f, good) == SSM_OK, "read back");
        const ssm_tensor *L = f ? ssm_st_get(f, "Lambda") : NULL;
        if (L) {
            double *v = malloc(L->count * sizeof *v);
            memcpy(v, L->data, L->count * sizeof *v);
            v[3] = NAN;
            CHECK(ssm_st_replace(f, "Lambda", v) == SSM_OK && ssm_st_write(f, bad) == SSM_OK, "write NaN file");
            free(v);
        }
        ssm_st_free(f);
        CHECK(run((const char *[]){"verify", bad, NULL}) == 2 && strstr(err_buf, "'Lambda'"), "verify NaN: %s", err_buf);
        CHECK(run((const char *[]){"transfer", bad, "--omega", "1:10:3", NULL}) == 2 && strstr(err_buf, "'Lambda'"),
              "transfer NaN: %s", err_buf);
        remove(good);
        remove(bad);
    }
    /* transfer -o with a summary that fails (H-infinity of 4100 states, above the cap): no table left behind */
    {
        char tt[300];
        snprintf(tt, sizeof tt, "%s/hinf-fail.tsv", dir);
        CHECK(run((const char *[]){"transfer", "init:s4d-lin:2050", "--vs", "init:s4d-lin:2050", "--omega",
                                   "0.01:100:50:log", "-o", tt, "--hinf", NULL}) == 2 && strstr(err_buf, "4096") &&
                  access(tt, F_OK) != 0,
              "transfer --hinf failing: no table written (%s)", err_buf);
        remove(tt);
    }
    /* eig: a Jordan block gets no digits vouched for (exit 1, said so); the zero matrix prints no nan */
    {
        char jf[300], zf[300];
        snprintf(jf, sizeof jf, "%s/jordan.tsv", dir);
        snprintf(zf, sizeof zf, "%s/zero.tsv", dir);
        FILE *fp = fopen(jf, "w");
        if (fp) { fputs("1 1\n0 1\n", fp); fclose(fp); }
        fp = fopen(zf, "w");
        if (fp) { fputs("0 0\n0 0\n", fp); fclose(fp); }
        CHECK(run((const char *[]){"eig", jf, "--prec", "256", "--route", "qr", NULL}) == 1 &&
                  strstr(err_buf, "not diagonalisable"), "eig Jordan block: %s %s", out_buf, err_buf);
        CHECK(run((const char *[]){"eig", jf, "--prec", "256", "--rotate", "1", NULL}) == 1 &&
                  strstr(err_buf, "not diagonalisable"), "eig rotated Jordan block: %s %s", out_buf, err_buf);
        CHECK(run((const char *[]){"eig", zf, NULL}) == 0 && !strstr(out_buf, "nan"), "eig zero matrix: %s", out_buf);
        remove(jf);
        remove(zf);
    }
    expect_usage_error((const char *[]){"experiment", "spikes", "--out", "", NULL}, "--out needs a folder name");
    expect_usage_error((const char *[]){"pspec", "hippo:legs:8", "-o", "/nonexistent-ssm/p.tsv", NULL}, "cannot write");
    /* "-o=FILE" and "-N=8" mean "-o FILE", "-N 8" */
    CHECK(run((const char *[]){"hippo", "legs", "-N=8", "-o=/dev/null/x.tsv", NULL}) == 2 &&
              strstr(err_buf, "/dev/null/x.tsv") && !strstr(err_buf, "=/dev"),
          "-o=FILE split: %s", err_buf);
    expect_usage_error((const char *[]){"experiment", "frobnicate", NULL}, "unknown experiment");
}

/* the issue-5 experiments at tiny sizes: claims that can fail, the job protocol reproducing the in-process
 * run, and the usage errors */
static double tsv_at(const char *name, size_t r, size_t c, size_t *rows)
{
    ssm_dmat_t T;
    double v = NAN;
    if (ssm_tsv_read(T, P_(name)) == SSM_OK) {
        if (rows)
            *rows = T->rows;
        if (r < T->rows && c < T->cols)
            v = SSM_D(T, r, c);
        ssm_dmat_clear(T);
    } else if (rows) {
        *rows = 0;
    }
    return v;
}

/* A table by its column names (the first line), as pandas reads it: the value of column `col` in the
 * r-th row whose first field equals key (key NULL: every row), NAN when absent; *rows: how many rows
 * match.  With r == (size_t)-1: the largest value over the matching rows. */
static double tab_at(const char *name, const char *key, const char *col, size_t r, size_t *rows)
{
    FILE *fp = fopen(P_(name), "r");
    char line[8192];
    size_t n = 0, c = (size_t)-1;
    double v = NAN, best = -INFINITY;
    if (fp && fgets(line, sizeof line, fp)) { /* the names line */
        line[strcspn(line, "\n")] = '\0';
        char *save, *t = strtok_r(line, "\t", &save);
        for (size_t i = 0; t; i++, t = strtok_r(NULL, "\t", &save))
            if (strcmp(t, col) == 0)
                c = i;
    }
    while (fp && c != (size_t)-1 && fgets(line, sizeof line, fp)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *save, *t = strtok_r(line, "\t", &save), *field = NULL;
        if (key && (!t || strcmp(t, key) != 0))
            continue;
        for (size_t i = 0; t; i++, t = strtok_r(NULL, "\t", &save))
            if (i == c)
                field = t;
        double x = field ? strtod(field, NULL) : NAN;
        if (n == r)
            v = x;
        if (x > best)
            best = x;
        n++;
    }
    if (fp)
        fclose(fp);
    if (rows)
        *rows = n;
    return r == (size_t)-1 ? (n ? best : NAN) : v;
}

/* pseudospectra at N = 8: three systems; S4D-LegS is normal with Re λ = −½, so
 * its stability radius is ½ to the SVD's accuracy, and LegS's pseudospectrum
 * reaches values far below PTD's on the same box */
static void test_pseudospectra_experiment(void)
{
    size_t rows = 0;
    CHECK(run((const char *[]){"experiment", "pseudospectra", "--n-max", "8", "--out", dir, "-q", NULL}) == 0,
          "pseudospectra: %s", err_buf);
    double beta_s4d = tab_at("pseudospectra.tsv", "s4d-legs", "beta", 0, &rows);
    /* on the same box: LegS's own EigTool box is the box of the zoom panels */
    double min_legs = tab_at("pseudospectra-panels.tsv", "legs", "min_sigma", 0, NULL);
    double min_ptd = tab_at("pseudospectra-panels.tsv", "ptd-zoom", "min_sigma", 0, NULL);
    CHECK(rows == 1 && fabs(beta_s4d - 0.5) <= 1e-12, "S4D-LegS beta %.17g, expected 1/2", beta_s4d);
    CHECK(min_legs < 1e-3 * min_ptd, "min sigma on LegS's box: LegS %g, PTD %g", min_legs, min_ptd);
    /* the titles' numbers come from the data: κ₂(V) of LegS at N = 8 is 7.70324e4 (doc/reference.md §4,
     * six significant digits, so |Δ log10| < 5e-6 / ln 10), the PTD budget the default 0.05 */
    double lk = tab_at("pseudospectra.tsv", "legs", "log10_kappa_V", 0, NULL);
    double eps_ptd = tab_at("pseudospectra.tsv", "ptd", "eps", 0, NULL);
    CHECK(fabs(lk - log10(7.70324e4)) < 5e-6 / M_LN10 && eps_ptd == 0.05, "pseudospectra: log10 kappa(LegS) %.6g, eps %g", lk,
          eps_ptd);
    /* every panel's grid in the one grid table: 5 panels of 200 x 200 */
    tab_at("pseudospectra-grid.tsv", "ptd-zoom", "sigma_min", 0, &rows);
    CHECK(rows == 200 * 200, "pseudospectra: the ptd-zoom grid has %zu points", rows);
    CHECK(run((const char *[]){"experiment", "pseudospectra", "--jobs", NULL}) == 0 && lines(out_buf) == 5,
          "pseudospectra --jobs: 5 jobs (panels)");
}

static void test_experiments_issue5(void)
{
    size_t rows = 0;
    CHECK(run((const char *[]){"experiment", "spikes", "--n-max", "32", "--out", dir, "-q", NULL}) == 0, "spikes: %s",
          err_buf);
    double w32 = tsv_at("spikes.tsv", 1, 1, &rows), im32 = tsv_at("spikes.tsv", 1, 3, NULL);
    double h16 = tsv_at("spikes.tsv", 0, 5, NULL), h32 = tsv_at("spikes.tsv", 1, 5, NULL);
    /* doc/reference.md §2: the largest |Im W| at N = 32 is 325.4263; the spike is that resonance (half-width 1/2) */
    CHECK(rows == 2 && fabs(im32 - 325.4263) < 1e-4 && fabs(w32 - 325.4263) < 0.5, "spike at %g (max |Im W| %g)", w32,
          im32);
    /* no uniform convergence: the normalised height does not fall from N = 16 to 32 (within 5%) */
    CHECK(h32 > 0.95 * h16 && h16 > 0.1, "spike heights %g, %g", h16, h32);
    /* the job protocol: 2 jobs; run each, merge, and the merged table equals the in-process one */
    CHECK(run((const char *[]){"experiment", "spikes", "--n-max", "32", "--out", dir, "--jobs", NULL}) == 0 &&
              lines(out_buf) == 2 && strstr(out_buf, "--job 1"), "spikes --jobs: %s", out_buf);
    char keep[300];
    snprintf(keep, sizeof keep, "%s/keep-merge", dir);
    mkdir(keep, 0755);
    CHECK(run((const char *[]){"experiment", "spikes", "--n-max", "32", "--out", keep, "--job", "0", NULL}) == 0 &&
              run((const char *[]){"experiment", "spikes", "--n-max", "32", "--out", keep, "--job", "1", NULL}) == 0,
          "spikes --job: %s", err_buf);
    expect_usage_error((const char *[]){"experiment", "spikes", "--n-max", "32", "--out", keep, "--job", "2", NULL},
                       "out of range");
    CHECK(run((const char *[]){"experiment", "spikes", "--n-max", "32", "--out", keep, "--merge", "-q", NULL}) == 0,
          "spikes --merge: %s", err_buf);
    ssm_dmat_t A, B;
    char pa[400];
    snprintf(pa, sizeof pa, "%s/spikes.tsv", keep);
    if (ssm_tsv_read(A, P_("spikes.tsv")) == SSM_OK && ssm_tsv_read(B, pa) == SSM_OK) {
        int same = A->rows == B->rows && A->cols == B->cols;
        for (size_t i = 0; same && i < A->rows * A->cols; i++)
            same = A->data[i] == B->data[i];
        CHECK(same, "merged spikes table differs from the in-process one");
        ssm_dmat_clear(A);
        ssm_dmat_clear(B);
    } else {
        CHECK(0, "read spikes tables");
    }
    expect_usage_error((const char *[]){"experiment", "spikes", "--n-max", "64", "--out", keep, "--merge", NULL},
                       "missing part");
    expect_usage_error((const char *[]){"experiment", "spikes", "--n-max", "8", "--out", dir, NULL}, "at least 16");

    /* convergence at N = 8, 16: the output error halves (weak convergence ~1/N: ratio in [1.6, 2.4]),
     * the PTD error stays below (2 ln N + 4)|E|_2 */
    CHECK(run((const char *[]){"experiment", "convergence", "--n-max", "16", "--out", dir, "-q", NULL}) == 0,
          "convergence: %s", err_buf);
    double e8 = tsv_at("convergence.tsv", 0, 2, &rows), e16 = tsv_at("convergence.tsv", 1, 2, NULL);
    CHECK(rows == 2 && e8 / e16 > 1.6 && e8 / e16 < 2.4, "output error %g -> %g", e8, e16);
    CHECK(tsv_at("convergence.tsv", 1, 7, NULL) < tsv_at("convergence.tsv", 1, 8, NULL), "PTD below its bound");

    /* eps-sweep at N = 8 down to 0.05 (4 budgets): job 2 (eps 0.1) reproduces row 2 of the in-process sweep */
    CHECK(run((const char *[]){"experiment", "eps-sweep", "--n-max", "8", "--eps", "0.05", "--out", dir, "-q", NULL}) == 0,
          "eps-sweep: %s", err_buf);
    double k2 = tsv_at("eps-sweep.tsv", 2, 3, &rows), e2 = tsv_at("eps-sweep.tsv", 2, 0, NULL);
    CHECK(rows == 4 && e2 == 0.1 && k2 >= 1.0, "eps-sweep rows %zu, eps %g kappa %g", rows, e2, k2);
    /* κ falls as the budget grows (the cost PTD pays for a small E) */
    CHECK(tsv_at("eps-sweep.tsv", 3, 3, NULL) >= tsv_at("eps-sweep.tsv", 0, 3, NULL), "kappa(0.05) >= kappa(0.3)");
    CHECK(run((const char *[]){"experiment", "eps-sweep", "--n-max", "8", "--eps", "0.05", "--out", keep, "--job", "2",
                               NULL}) == 0, "eps-sweep --job 2: %s", err_buf);
    char part[400];
    snprintf(part, sizeof part, "%s/eps-sweep.part-2.tsv", keep);
    ssm_dmat_t Pm;
    if (ssm_tsv_read(Pm, part) == SSM_OK) {
        /* part rows: set, cols, values…; the same deterministic continuation: equal κ */
        CHECK(Pm->rows == 1 && SSM_D(Pm, 0, 2) == 0.1 && fabs(SSM_D(Pm, 0, 5) - k2) <= 1e-9 * k2,
              "job 2 kappa %g vs in-process %g", SSM_D(Pm, 0, 5), k2);
        ssm_dmat_clear(Pm);
    } else {
        CHECK(0, "read %s", part);
    }
    expect_usage_error((const char *[]){"experiment", "eps-sweep", "--n-max", "7", "--out", dir, NULL}, "even");

    /* bode at N = 8: 7 inits; the DPLR init is the LegS system (sup of the difference at rounding level) */
    CHECK(run((const char *[]){"experiment", "bode", "--n-max", "8", "--out", dir, "-q", NULL}) == 0, "bode: %s", err_buf);
    double rel_dplr = tab_at("bode.tsv", "s4-dplr", "sup_rel", 0, NULL);
    tab_at("bode.tsv", NULL, "sup_rel", 0, &rows);
    CHECK(rel_dplr < 1e-12 && rows == 7, "bode: s4-dplr vs LegS %g (rows %zu)", rel_dplr, rows);
    json_error_t je;
    json_t *o = json_load_file(P_("bode.json"), 0, &je);
    CHECK(o && json_array_size(json_object_get(o, "methods")) == 7, "bode.json");
    json_decref(o);
    /* every drawn curve reaches its refined peak: at N = 32 the S4D-LegS resonance (width 1/2 at
     * ω ≈ 326, grid spacing 3) falls between grid points (at N = 64: drawn 22 of 378.6); the S4D-LegS and PTD curves
     * (series s4d-legs and ptd of bode-curves.tsv) against sup|G| refined by `transfer --sup` on the same band (a
     * separate code path), 2% */
    CHECK(run((const char *[]){"experiment", "bode", "--n-max", "32", "--out", dir, "-q", NULL}) == 0, "bode 32: %s",
          err_buf);
    static const char *const inits[2] = {"init:s4d-legs:32", "init:ptd:32"};
    static const char *const series[2] = {"s4d-legs", "ptd"};
    for (int i = 0; i < 2; i++) {
        double drawn = tab_at("bode-curves.tsv", series[i], "abs_G", (size_t)-1, NULL), sup = NAN;
        if (run((const char *[]){"transfer", inits[i], "--omega", "0.01:10240:2000:log", "--sup", "--json", NULL}) == 0) {
            const char *q = strstr(out_buf, "\"sup\":");
            sup = q ? strtod(q + 6, NULL) : NAN;
        }
        CHECK(fabs(drawn - sup) <= 0.02 * sup, "bode: %s drawn to %.6g, refined sup |G| %.6g", inits[i], drawn, sup);
    }
}

/* The README's loading snippet and examples/load_safetensors.py, run by the
 * Debian python (numpy; PyTorch where installed) on a file we just wrote. */
static void test_python(void)
{
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        printf("skipped: README/numpy loading snippet (no /usr/bin/python3 with numpy)\n");
        return;
    }
    char f[300];
    snprintf(f, sizeof f, "%s/legs.safetensors", dir);
    CHECK(run((const char *[]){"hippo", "legs", "-N", "5", "-q", "-o", f, NULL}) == 0, "write");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 examples/load_safetensors.py '%s' > '%s' 2>&1", f, P_(".py"));
    CHECK(system(cmd) == 0, "examples/load_safetensors.py runs");
    slurp(P_(".py"), out_buf, sizeof out_buf);
    CHECK(strstr(out_buf, "A (5, 5) float64") && strstr(out_buf, "'measure': 'legs'"), "example output: %s", out_buf);
    int torch = system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
    if (!torch) {
        printf("skipped: README snippet's PyTorch lines (no python3-torch)\n");
        return;
    }
    /* the README's python block, verbatim, with its path pointed at an init file
     * we write here; the values python sees must be those our reader sees */
    char g[300];
    snprintf(g, sizeof g, "%s/init-ptd.safetensors", dir);
    CHECK(run((const char *[]){"init", "ptd", "-N", "16", "-q", "-o", g, NULL}) == 0, "init for the README snippet");
    ssm_st *st = NULL;
    double re = 0, im = 0;
    if (ssm_st_read(&st, g) == SSM_OK && ssm_st_get(st, "Lambda")) {
        re = ssm_st_get(st, "Lambda")->data[2];
        im = ssm_st_get(st, "Lambda")->data[3];
    }
    ssm_st_free(st);
    char check[400];
    snprintf(check, sizeof check,
             "\\nassert lam.shape == (8,) and lam[1] == complex(%.17g, %.17g) and lam_t.dtype == torch.complex128"
             "\\nassert complex(lam_t[1]) == lam[1] and A_t.shape == (16, 16)\\nprint(\"readme ok\")\\n",
             re, im);
    snprintf(cmd, sizeof cmd,
             "awk '/^```python$/ { f = 1; b = \"\"; next } f && /^```$/ { f = 0; if (b ~ /def load_safetensors/) "
             "{ printf \"%%s\", b; exit } next } f { b = b $0 \"\\n\" }' README.md | " /* the loading block */
             "sed 's|out/demo/init-ptd.safetensors|%s|' > '%s' && printf '%s' >> '%s' && "
             "/usr/bin/python3 '%s' > '%s' 2>&1",
             g, P_("readme.py"), check, P_("readme.py"), P_("readme.py"), P_(".py"));
    CHECK(system(cmd) == 0, "README snippet runs");
    slurp(P_(".py"), out_buf, sizeof out_buf);
    CHECK(strstr(out_buf, "readme ok") != NULL, "README snippet output: %s", out_buf);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 examples/load_safetensors.py '%s' --torch > '%s' 2>&1", g, P_(".py"));
    CHECK(system(cmd) == 0, "example --torch runs");
    slurp(P_(".py"), out_buf, sizeof out_buf);
    CHECK(strstr(out_buf, "torch Lambda (8,) torch.complex128") != NULL, "example --torch output: %s", out_buf);
}

/* `init ptd` writes the same bytes under every OpenBLAS kernel this CPU can run
 * and under 1 or 2 BLAS threads (the fixed kernel, core/kernel.c) */
static int cpu_has(const char *flag)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "grep -qw %s /proc/cpuinfo", flag);
    return system(cmd) == 0;
}

/* N: 64 (SPG; every core and thread count) or 128 (the L-BFGS path and the
 * denser transfer grid above N = 64: Prescott on one thread against the
 * fastest core on two, about 3 s each) */
static void test_ptd_determinism(const char *N)
{
    int big = strcmp(N, "64") != 0;
    const char *best = cpu_has("avx512f") ? "SkylakeX" : cpu_has("avx2") ? "Haswell" : "Prescott";
    const char *cores[3] = {"Prescott", big ? NULL : cpu_has("avx2") ? "Haswell" : NULL,
                            big ? best : cpu_has("avx512f") ? "SkylakeX" : NULL};
    const char *old_core = getenv("OPENBLAS_CORETYPE"), *old_threads = getenv("OPENBLAS_NUM_THREADS");
    char keep_core[64] = "", keep_threads[64] = "";
    if (old_core) snprintf(keep_core, sizeof keep_core, "%s", old_core);
    if (old_threads) snprintf(keep_threads, sizeof keep_threads, "%s", old_threads);
    static char first[1 << 21], now[1 << 21]; /* N = 128: about 0.7 MB */
    size_t nfirst = 0;
    int runs = 0;
    for (int c = 0; c < 3; c++)
        for (int t = big && c == 2 ? 2 : 1; t <= (big && c == 0 ? 1 : 2) && cores[c]; t++) {
            setenv("OPENBLAS_CORETYPE", cores[c], 1);
            setenv("OPENBLAS_NUM_THREADS", t == 1 ? "1" : "2", 1);
            const char *out = P_(runs ? "det.safetensors" : "det-first.safetensors");
            /* N = 64: the fixed kernel's 64 × 64 × 64 products are split over two threads */
            int rc = run((const char *const[]){"init", "ptd", "-N", N, "--eps", "0.3", "--seed", "1", "-o", out, "-q",
                                               NULL});
            CHECK(rc == 0, "init ptd -N %s under %s, %d threads: exit %d (%s)", N, cores[c], t, rc, err_buf);
            FILE *fp = fopen(out, "rb");
            size_t n = fp ? fread(runs ? now : first, 1, sizeof first, fp) : 0;
            if (fp)
                fclose(fp);
            CHECK(n < sizeof first, "init ptd -N %s: the file fits the comparison buffer (%zu bytes)", N, n);
            if (!runs)
                nfirst = n;
            else
                CHECK(n == nfirst && memcmp(first, now, n) == 0,
                      "init ptd -N %s under OPENBLAS_CORETYPE=%s, %d threads: the same %zu bytes as under %s, 1 thread",
                      N, cores[c], t, nfirst, cores[0]);
            runs++;
        }
    if (old_core) setenv("OPENBLAS_CORETYPE", keep_core, 1); else unsetenv("OPENBLAS_CORETYPE");
    if (old_threads) setenv("OPENBLAS_NUM_THREADS", keep_threads, 1); else unsetenv("OPENBLAS_NUM_THREADS");
    CHECK(runs >= 2 && nfirst > 1000, "determinism at N = %s: %d runs compared", N, runs);
}

/* --job K for every job, then --merge, for the quick experiments (the part files a job writes are what
 * --merge reads: their widths are declared in each exp_def); a part with rows of the wrong width, or
 * with a row of another dataset's width, is refused (it used to be read past its rows). */
static void test_merge_roundtrip(void)
{
    const char *exps[][2] = {{"kappa-growth", "16"}, {"bode", "16"}, {"pseudospectra", "8"}};
    int J0 = 0;
    for (size_t e = 0; e < sizeof exps / sizeof exps[0]; e++) {
        char d[300];
        snprintf(d, sizeof d, "%s/merge-%s", dir, exps[e][0]);
        mkdir(d, 0755);
        int rc = run((const char *[]){"experiment", exps[e][0], "--n-max", exps[e][1], "--out", d, "--jobs", NULL});
        int J = lines(out_buf);
        for (int k = 0; rc == 0 && k < J; k++) {
            char ks[16];
            snprintf(ks, sizeof ks, "%d", k);
            rc = run((const char *[]){"experiment", exps[e][0], "--n-max", exps[e][1], "--out", d, "--job", ks, NULL});
        }
        CHECK(rc == 0 && J >= 1, "%s: %d jobs: %s", exps[e][0], J, err_buf);
        if (e == 0)
            J0 = J;
        CHECK(run((const char *[]){"experiment", exps[e][0], "--n-max", exps[e][1], "--out", d, "--merge", "-q", NULL}) == 0,
              "%s --merge of its own parts: %s", exps[e][0], err_buf);
    }
    /* kappa-growth's rows have 6 values: parts whose rows have 2 (60 of them in part 0: enough to reach
     * past the allocation) are refused */
    char d[300], part[400];
    snprintf(d, sizeof d, "%s/merge-kappa-growth", dir);
    for (int k = 0; k < J0; k++) {
        snprintf(part, sizeof part, "%s/kappa-growth.part-%d.tsv", d, k);
        FILE *fp = fopen(part, "w");
        for (int r = 0; fp && r < (k ? 1 : 60); r++)
            fputs("0\t2\t8\t1\n", fp);
        if (fp)
            fclose(fp);
    }
    expect_usage_error((const char *[]){"experiment", "kappa-growth", "--n-max", "16", "--out", d, "--merge", NULL},
                       "dataset 0 of the parts has rows of 2 values, the experiment's jobs write 6");
}

int main(void)
{
    t_init();
    if (cli_setup("t-cli", dir))
        return t_finish();
    test_help();
    test_errors();
    test_outputs();
    test_init_verify_transfer();
    test_relative_errors();
    test_full_stdout();
    test_eig();
    test_experiment();
    test_pspec();
    test_experiments_issue5();
    test_pseudospectra_experiment();
    test_merge_roundtrip();
    test_python();
    test_ptd_determinism("64");
    test_ptd_determinism("128");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
    return t_finish();
}
