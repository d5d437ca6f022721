/* cli/cli.c — error printing, number parsing, output kinds. */
#include "cli/cli.h"
#include <unistd.h>
#include <sys/stat.h>
#include <libgen.h>

#include <math.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("ssmkit: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

int cli_fail(ssm_status s)
{
    const char *msg = ssm_error_message();
    fprintf(stderr, "ssmkit: %s\n", *msg ? msg : ssm_strerror(s));
    switch (s) {
    case SSM_ECHECK:
    case SSM_ENOCONV:
    case SSM_ELOSS:
        return EXIT_CHECK;
    default:
        return EXIT_USAGE;
    }
}

int cli_parse_size(size_t *out, const char *opt, const char *text)
{
    if (!text || !*text) {
        cli_usage_error("%s needs a value", opt);
        return 0;
    }
    const char *p = text;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == text || *p != '\0') {
        cli_usage_error("%s must be a positive integer, got '%s'", opt, text);
        return 0;
    }
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    if (errno == ERANGE || v > SIZE_MAX) {
        cli_usage_error("%s = %s is too large", opt, text);
        return 0;
    }
    if (v == 0) {
        cli_usage_error("%s must be positive, got 0", opt);
        return 0;
    }
    *out = (size_t)v;
    return 1;
}

int cli_parse_long(long *out, const char *opt, const char *text, long lo, long hi)
{
    char *end;
    if (!text || !*text) {
        cli_usage_error("%s needs a value", opt);
        return 0;
    }
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*end != '\0' || end == text) {
        cli_usage_error("%s must be an integer, got '%s'", opt, text);
        return 0;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        cli_usage_error("%s = %s is out of range [%ld, %ld]", opt, text, lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* the folder of path exists and is writable: checked with the format, before
 * any work (a 25 s PTD used to run before "cannot create" was said) */
static int output_dir_ok(const char *path)
{
    char *d = strdup(path);
    if (!d)
        return 1;
    const char *dir = dirname(d);
    struct stat st;
    int ok = 0;
    if (stat(dir, &st) != 0)
        cli_usage_error("cannot write '%s': %s", path, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        cli_usage_error("cannot write '%s': %s", path, strerror(ENOTDIR));
    else if (access(dir, W_OK | X_OK) != 0)
        cli_usage_error("cannot write '%s': %s", path, strerror(errno));
    else
        ok = 1;
    free(d);
    return ok;
}

int cli_out_kind_of(cli_out_kind *k, const char *path)
{
    if (path && !output_dir_ok(path))
        return 0;
    if (!path)
        *k = OUT_STDOUT_TSV;
    else if (cli_ends_with(path, ".safetensors"))
        *k = OUT_SAFETENSORS;
    else if (cli_ends_with(path, ".npy"))
        *k = OUT_NPY;
    else if (cli_ends_with(path, ".tsv"))
        *k = OUT_TSV;
    else {
        cli_usage_error("cannot tell the output format of '%s' (use .safetensors, .npy or .tsv)", path);
        return 0;
    }
    return 1;
}

static char command_line[1024];

void cli_set_command_line(int argc, char **argv)
{
    size_t n = 0;
    command_line[0] = '\0';
    for (int i = 0; i < argc && n + 2 < sizeof command_line; i++) {
        int w = snprintf(command_line + n, sizeof command_line - n, "%s%s", i ? " " : "", argv[i]);
        if (w < 0)
            break;
        n += (size_t)w;
        if (n >= sizeof command_line)
            n = sizeof command_line - 1;
    }
}

const char *cli_command_line(void)
{
    return command_line;
}

int cli_parse_hippo_spec(ssm_hippo_measure *m, size_t *N, const char *spec, size_t nmax, const char *cmd)
{
    char name[64];
    const char *colon = strrchr(spec + 6, ':');
    if (strncmp(spec, "hippo:", 6) != 0 || !colon || (size_t)(colon - spec - 6) >= sizeof name)
        return cli_usage_error("bad system spec '%s' (hippo:MEASURE:N)", spec);
    memcpy(name, spec + 6, (size_t)(colon - spec - 6));
    name[colon - spec - 6] = '\0';
    ssm_status s = ssm_hippo_lookup(m, name);
    if (s != SSM_OK)
        return cli_fail(s);
    if (!cli_parse_size(N, "N in the spec", colon + 1))
        return EXIT_USAGE;
    if ((s = ssm_hippo_check_size(*m, *N)) != SSM_OK)
        return cli_fail(s);
    if (*N > nmax)
        return cli_usage_error("%s: N = %zu is above the %zu supported here", cmd, *N, nmax);
    return -1;
}

int cli_parse_init_spec(ssm_init_method *m, size_t *N, const char *spec, const char *cmd)
{
    char name[64];
    const char *colon = strrchr(spec + 5, ':');
    if (strncmp(spec, "init:", 5) != 0 || !colon || colon == spec + 4 || (size_t)(colon - spec - 5) >= sizeof name)
        return cli_usage_error("%s: bad system spec '%s' (init:METHOD:N)", cmd, spec);
    memcpy(name, spec + 5, (size_t)(colon - spec - 5));
    name[colon - spec - 5] = '\0';
    ssm_status st = ssm_init_method_lookup(m, name);
    if (st != SSM_OK)
        return cli_fail(st);
    if (!cli_parse_size(N, "N in the spec", colon + 1))
        return EXIT_USAGE;
    return -1;
}

int cli_load_matrix_file(ssm_zmat_t A, int *is_complex, const char *path, const char *cmd, size_t nmax)
{
    ssm_status s;
    size_t rows = 0, cols = 0;
    const double *re = NULL;
    int cplx = 0;
    ssm_dmat_t D;
    ssm_npy np;
    ssm_st *st = NULL;
    memset(D, 0, sizeof D);
    memset(&np, 0, sizeof np);
    memset(A, 0, sizeof(ssm_zmat_struct));
    if (cli_ends_with(path, ".npy")) {
        if ((s = ssm_npy_read(&np, path)) != SSM_OK)
            return cli_fail(s);
        if (np.ndim != 2) {
            ssm_npy_clear(&np);
            return cli_usage_error("%s: %s holds a %d-d array, need a 2-d matrix", cmd, path, np.ndim);
        }
        rows = np.shape[0];
        cols = np.shape[1];
        re = np.data;
        cplx = np.is_complex;
    } else if (cli_ends_with(path, ".tsv")) {
        if ((s = ssm_tsv_read(D, path)) != SSM_OK)
            return cli_fail(s);
        rows = D->rows;
        cols = D->cols;
        re = D->data;
    } else if (cli_ends_with(path, ".safetensors")) {
        if ((s = ssm_st_read(&st, path)) != SSM_OK)
            return cli_fail(s);
        const ssm_tensor *t = ssm_st_get(st, "A");
        if (!t)
            t = ssm_st_get(st, "A_target");
        if (!t || t->ndim != 2) {
            ssm_st_free(st);
            return cli_usage_error("%s: %s has no 2-d tensor 'A' (or 'A_target')", cmd, path);
        }
        rows = t->shape[0];
        cols = t->shape[1];
        re = t->data;
    } else {
        return cli_usage_error("%s: cannot read '%s' (a system spec, .npy, .safetensors or .tsv)", cmd, path);
    }
    int rc = -1;
    if (rows != cols || rows == 0)
        rc = cli_usage_error("%s: the matrix in %s is %zu x %zu, need a non-empty square matrix", cmd, path, rows, cols);
    else if (rows > nmax)
        rc = cli_usage_error("%s: the matrix in %s is %zu x %zu, above the %zu supported here", cmd, path, rows, cols,
                             nmax);
    else if ((s = ssm_zmat_init(A, rows, cols)) != SSM_OK)
        rc = cli_fail(s);
    else {
        for (size_t i = 0; i < rows * cols; i++) {
            double a = cplx ? re[2 * i] : re[i], b = cplx ? re[2 * i + 1] : 0.0;
            if (!isfinite(a) || !isfinite(b)) {
                ssm_zmat_clear(A);
                rc = cli_usage_error("%s: %s holds a non-finite entry", cmd, path);
                break;
            }
            A->data[i] = CMPLX(a, b);
        }
    }
    if (is_complex)
        *is_complex = cplx;
    ssm_npy_clear(&np);
    ssm_dmat_clear(D);
    ssm_st_free(st);
    return rc;
}
