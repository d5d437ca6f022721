/* cli/spec.c — the one reader of system specs (doc/design.md "system spec"):
 * hippo:MEASURE:N, init:METHOD:N, target:FILE, an init file, or a matrix file
 * (.npy, .tsv, a .safetensors without the ssmkit-init/1 tag).  Every command
 * that names a system takes it from here, with the same rules and messages. */
#include "cli/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* "PREFIX:NAME:N" → NAME (in name, 64 bytes) and N; form names the shape in the error.
 * Returns -1 on success, else the exit code after printing. */
static int split_spec(char name[64], size_t *N, const char *spec, size_t prefix_len, const char *form,
                      const char *cmd)
{
    const char *colon = strrchr(spec + prefix_len, ':');
    if (!colon || colon == spec + prefix_len || (size_t)(colon - spec - prefix_len) >= 64)
        return cli_usage_error("%s: bad system spec '%s' (%s)", cmd, spec, form);
    memcpy(name, spec + prefix_len, (size_t)(colon - spec - prefix_len));
    name[colon - spec - prefix_len] = '\0';
    return cli_parse_size(N, "N in the spec", colon + 1) ? -1 : EXIT_USAGE;
}

static int parse_hippo_spec(ssm_hippo_measure *m, size_t *N, const char *spec, size_t nmax, const char *cmd)
{
    char name[64];
    int rc = split_spec(name, N, spec, 6, "hippo:MEASURE:N", cmd);
    if (rc >= 0)
        return rc;
    ssm_status s = ssm_hippo_lookup(m, name);
    if (s != SSM_OK)
        return cli_fail(s);
    if ((s = ssm_hippo_check_size(*m, *N)) != SSM_OK)
        return cli_fail(s);
    if (*N > nmax)
        return cli_usage_error("%s: N = %zu is above the %zu supported here", cmd, *N, nmax);
    return -1;
}


static int parse_init_spec(ssm_init_method *m, size_t *N, const char *spec, const char *cmd)
{
    char name[64];
    int rc = split_spec(name, N, spec, 5, "init:METHOD:N", cmd);
    if (rc >= 0)
        return rc;
    ssm_status st = ssm_init_method_lookup(m, name);
    return st == SSM_OK ? -1 : cli_fail(st);
}


/* a matrix from a .npy, .tsv or plain .safetensors file (st: already read) */
static int load_matrix_file(ssm_zmat_t A, int *is_complex, const char *path, ssm_st *st, const char *cmd, size_t nmax)
{
    ssm_status s;
    size_t rows = 0, cols = 0;
    const double *re = NULL;
    int cplx = 0;
    ssm_dmat_t D;
    ssm_npy np;
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
    } else if (st) {
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
    return rc;
}

void cli_spec_clear(cli_spec *y)
{
    ssm_dmat_clear(y->A);
    ssm_dmat_clear(y->B);
    ssm_dmat_clear(y->P);
    ssm_init_file_free(y->init);
    ssm_zmat_clear(y->Z);
    memset(y, 0, sizeof *y);
}

static int load_hippo(cli_spec *y, const char *text, const cli_spec_rules *r)
{
    int rc = parse_hippo_spec(&y->measure, &y->N, text, r->nmax, r->cmd);
    if (rc >= 0 || !r->hippo_dense)
        return rc;
    size_t N = y->N, rank = ssm_hippo_rank(y->measure);
    ssm_status s = ssm_dmat_init(y->A, N, N);
    if (s == SSM_OK) s = ssm_dmat_init(y->B, N, 1);
    if (s == SSM_OK && rank) s = ssm_dmat_init(y->P, rank, N);
    if (s == SSM_OK) s = ssm_hippo(y->A, y->B, rank ? y->P : NULL, y->measure, N);
    return s == SSM_OK ? -1 : cli_fail(s);
}

static int load_init_spec(cli_spec *y, const char *text, const cli_spec_rules *r)
{
    ssm_init_method m;
    ssm_init_opts io = r->io ? *r->io : ssm_init_opts_default();
    int rc = parse_init_spec(&m, &io.N, text, r->cmd);
    if (rc >= 0)
        return rc;
    size_t cap = r->init_nmax ? r->init_nmax : r->nmax;
    if (io.N > cap)
        return cli_usage_error("%s: N = %zu in '%s' is above the %zu supported for init specs", r->cmd, io.N, text,
                               cap);
    io.progress = NULL;
    ssm_st *st = NULL;
    ssm_status s = ssm_init_build(&st, m, &io);
    if (s == SSM_OK)
        s = ssm_init_file_take(&y->init, st);
    y->N = io.N;
    return s == SSM_OK ? -1 : cli_fail(s);
}

int cli_spec_load(cli_spec *y, const char *text, const cli_spec_rules *r)
{
    memset(y, 0, sizeof *y);
    int rc;
    if (strncmp(text, "hippo:", 6) == 0) {
        y->kind = CLI_SPEC_HIPPO;
        rc = load_hippo(y, text, r);
    } else if (strncmp(text, "init:", 5) == 0) {
        y->kind = CLI_SPEC_INIT;
        rc = load_init_spec(y, text, r);
    } else if (strncmp(text, "target:", 7) == 0) {
        y->kind = CLI_SPEC_TARGET;
        ssm_status s = ssm_init_file_read(&y->init, text + 7);
        rc = s != SSM_OK ? cli_fail(s)
           : !y->init->A_target->rows ? cli_usage_error("%s: %s has no target system (A_target)", r->cmd, text + 7)
           : -1;
    } else if (cli_ends_with(text, ".npy") || cli_ends_with(text, ".tsv")) {
        y->kind = CLI_SPEC_MATRIX;
        rc = load_matrix_file(y->Z, &y->is_complex, text, NULL, r->cmd, r->nmax);
    } else if (cli_ends_with(text, ".safetensors")) {
        /* read once: an init file by its format tag, else a matrix file */
        ssm_st *st = NULL;
        ssm_status s = ssm_st_read(&st, text);
        if (s != SSM_OK)
            return cli_fail(s);
        const char *fmt = ssm_st_meta(st, "format");
        if (fmt && strcmp(fmt, "ssmkit-init/1") == 0) {
            y->kind = CLI_SPEC_INIT;
            if ((s = ssm_init_file_take(&y->init, st)) != SSM_OK) {
                char why[512]; /* the message buffer is also the next error's destination */
                snprintf(why, sizeof why, "%s", ssm_error_message());
                rc = cli_usage_error("%s: %s: %s", r->cmd, text, why);
            } else {
                rc = -1;
            }
        } else {
            y->kind = CLI_SPEC_MATRIX;
            rc = load_matrix_file(y->Z, &y->is_complex, text, st, r->cmd, r->nmax);
            ssm_st_free(st);
        }
    } else {
        return cli_usage_error("%s: cannot read '%s' (hippo:MEASURE:N, init:METHOD:N, target:FILE, an init file "
                               ".safetensors, or a matrix file .npy, .safetensors, .tsv)", r->cmd, text);
    }
    if (rc < 0 && y->init)
        y->N = y->init->N;
    if (rc < 0 && y->kind == CLI_SPEC_MATRIX)
        y->N = y->Z->rows;
    if (rc < 0 && y->N > r->nmax)
        rc = cli_usage_error("%s: N = %zu in '%s' is above the %zu supported here", r->cmd, y->N, text, r->nmax);
    if (rc >= 0)
        cli_spec_clear(y);
    return rc;
}
