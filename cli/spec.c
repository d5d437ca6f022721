/* cli/spec.c — the one reader of system specs (doc/design.md "system spec"):
 * hippo:MEASURE:N, init:METHOD:N, target:FILE, an init file, a matrix file
 * (.npy, .npz, .tsv, a .safetensors without the ssmkit-init/1 tag), or a plain
 * (A, B, C[, D]) system in a .safetensors or .npz (MIMO included).  Every command
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


/* an array as read: a safetensors tensor (real F64) or an npy/npz array (float64 or complex128) */
typedef struct {
    const char *name;
    int ndim;
    const size_t *shape;
    const double *data;
    int cplx;
} tview;

static int view_st(tview *v, const ssm_st *st, const char *name)
{
    const ssm_tensor *t = st ? ssm_st_get(st, name) : NULL;
    if (t)
        *v = (tview){name, t->ndim, t->shape, t->data, 0};
    return t != NULL;
}

static int view_npz(tview *v, const ssm_npz *z, const char *name)
{
    const ssm_npy *a = z ? ssm_npz_get(z, name) : NULL;
    if (a)
        *v = (tview){name, a->ndim, a->shape, a->data, a->is_complex};
    return a != NULL;
}

/* copy v into Z (initialised here, rows×cols): every entry finite.  Returns -1 or the exit code. */
static int take(ssm_zmat_t Z, const tview *v, size_t rows, size_t cols, const char *path, const char *cmd)
{
    ssm_status s = ssm_zmat_init(Z, rows, cols);
    if (s != SSM_OK)
        return cli_fail(s);
    for (size_t i = 0; i < rows * cols; i++) {
        double a = v->cplx ? v->data[2 * i] : v->data[i], b = v->cplx ? v->data[2 * i + 1] : 0.0;
        if (!isfinite(a) || !isfinite(b)) {
            ssm_zmat_clear(Z);
            return cli_usage_error("%s: %s: '%s' holds a non-finite entry (index %zu)", cmd, path, v->name, i);
        }
        Z->data[i] = CMPLX(a, b);
    }
    return -1;
}

/* the state matrix A of a file: non-empty, square, at most nmax */
static int take_A(ssm_zmat_t A, const tview *v, const char *path, const char *cmd, size_t nmax)
{
    size_t rows = v->ndim == 2 ? v->shape[0] : 0, cols = v->ndim == 2 ? v->shape[1] : 0;
    if (v->ndim != 2)
        return cli_usage_error("%s: %s holds a %d-d array '%s', need a 2-d matrix", cmd, path, v->ndim, v->name);
    if (rows != cols || rows == 0)
        return cli_usage_error("%s: the matrix in %s is %zu x %zu, need a non-empty square matrix", cmd, path, rows,
                               cols);
    if (rows > nmax)
        return cli_usage_error("%s: the matrix in %s is %zu x %zu, above the %zu supported here", cmd, path, rows, cols,
                               nmax);
    return take(A, v, rows, cols, path, cmd);
}

enum { CLI_MAX_IO = 64 }; /* inputs and outputs of an (A, B, C, D) file */

/* B [n, m] or [n], C [p, n] or [n], D absent (zero), a scalar or [1] (p = m = 1), or [p, m] */
static int take_BCD(cli_spec *y, const tview *B, const tview *C, const tview *D, const char *path, const char *cmd)
{
    size_t n = y->Z->rows;
    int okB = (B->ndim == 2 || B->ndim == 1) && B->shape[0] == n, okC = C->ndim == 2 ? C->shape[1] == n
                                                                        : C->ndim == 1 && C->shape[0] == n;
    size_t m = okB && B->ndim == 2 ? B->shape[1] : 1, p = okC && C->ndim == 2 ? C->shape[0] : 1;
    if (!okB || !okC || m == 0 || p == 0)
        return cli_usage_error("%s: %s: B must be [%zu, m] or [%zu] and C [p, %zu] or [%zu] for the %zu x %zu A", cmd,
                               path, n, n, n, n, n, n);
    if (m > CLI_MAX_IO || p > CLI_MAX_IO)
        return cli_usage_error("%s: %s: %zu inputs and %zu outputs, above the %d supported", cmd, path, m, p,
                               CLI_MAX_IO);
    int rc = take(y->Bm, B, n, m, path, cmd);
    if (rc < 0) rc = take(y->Cm, C, p, n, path, cmd);
    if (rc >= 0)
        return rc;
    if (!D->data) {
        ssm_status s = ssm_zmat_init(y->Dm, p, m);
        return s == SSM_OK ? -1 : cli_fail(s);
    }
    int scalar = D->ndim == 0 || (D->ndim == 1 && D->shape[0] == 1);
    if (!(scalar && p == 1 && m == 1) && !(D->ndim == 2 && D->shape[0] == p && D->shape[1] == m))
        return cli_usage_error("%s: %s: D must be [%zu, %zu]%s", cmd, path, p, m, p == 1 && m == 1 ? " or a scalar" : "");
    return take(y->Dm, D, p, m, path, cmd);
}

/* a matrix (A alone) or a system (A, B, C, optional D) from a .npy, .npz, .tsv or plain
 * .safetensors file (st: already read).  Sets y->kind, y->Z (A), y->Bm/Cm/Dm for systems. */
static int load_matrix_file(cli_spec *y, const char *path, ssm_st *st, const char *cmd, size_t nmax)
{
    ssm_status s;
    ssm_dmat_t T;
    ssm_npy np;
    ssm_npz nz;
    memset(T, 0, sizeof T);
    memset(&np, 0, sizeof np);
    memset(&nz, 0, sizeof nz);
    tview A = {0}, B = {0}, C = {0}, D = {0};
    int rc = -1, sys = 0;
    y->kind = CLI_SPEC_MATRIX;
    if (cli_ends_with(path, ".npy")) {
        if ((s = ssm_npy_read(&np, path)) != SSM_OK)
            return cli_fail(s);
        A = (tview){"(the array)", np.ndim, np.shape, np.data, np.is_complex};
    } else if (cli_ends_with(path, ".npz")) {
        if ((s = ssm_npz_read(&nz, path)) != SSM_OK)
            return cli_fail(s);
        if (!view_npz(&A, &nz, "A"))
            rc = cli_usage_error("%s: %s has no array 'A' (a matrix, or a system A, B, C[, D])", cmd, path);
        sys = rc < 0 && view_npz(&B, &nz, "B") && view_npz(&C, &nz, "C");
        if (sys)
            view_npz(&D, &nz, "D");
    } else if (cli_ends_with(path, ".tsv")) {
        if ((s = ssm_tsv_read(T, path)) != SSM_OK)
            return cli_fail(s);
        size_t shape[2] = {T->rows, T->cols};
        A = (tview){"(the table)", 2, NULL, T->data, 0};
        A.shape = shape;
        rc = take_A(y->Z, &A, path, cmd, nmax);
        ssm_dmat_clear(T);
        return rc;
    } else if (st) {
        if (!view_st(&A, st, "A") && !view_st(&A, st, "A_target"))
            rc = cli_usage_error("%s: %s has no 2-d tensor 'A' (or 'A_target')", cmd, path);
        sys = rc < 0 && strcmp(A.name, "A") == 0 && view_st(&B, st, "B") && view_st(&C, st, "C");
        if (sys)
            view_st(&D, st, "D");
    } else {
        return cli_usage_error("%s: cannot read '%s' (a system spec, .npy, .npz, .safetensors or .tsv)", cmd, path);
    }
    if (rc < 0)
        rc = take_A(y->Z, &A, path, cmd, nmax);
    if (rc < 0 && sys) {
        y->kind = CLI_SPEC_SYSTEM;
        rc = take_BCD(y, &B, &C, &D, path, cmd);
    }
    y->is_complex = A.cplx || B.cplx || C.cplx || D.cplx;
    ssm_npy_clear(&np);
    ssm_npz_clear(&nz);
    return rc;
}

void cli_spec_clear(cli_spec *y)
{
    ssm_dmat_clear(y->A);
    ssm_dmat_clear(y->B);
    ssm_dmat_clear(y->P);
    ssm_init_file_free(y->init);
    ssm_zmat_clear(y->Z);
    ssm_zmat_clear(y->Bm);
    ssm_zmat_clear(y->Cm);
    ssm_zmat_clear(y->Dm);
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
    } else if (cli_ends_with(text, ".npy") || cli_ends_with(text, ".npz") || cli_ends_with(text, ".tsv")) {
        rc = load_matrix_file(y, text, NULL, r->cmd, r->nmax);
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
            rc = load_matrix_file(y, text, st, r->cmd, r->nmax);
            ssm_st_free(st);
        }
    } else {
        return cli_usage_error("%s: cannot read '%s' (hippo:MEASURE:N, init:METHOD:N, target:FILE, an init file "
                               ".safetensors, a matrix file .npy, .npz, .safetensors, .tsv, or a system (A, B, C[, D]) .safetensors, .npz)",
                               r->cmd, text);
    }
    if (rc < 0 && y->init)
        y->N = y->init->N;
    if (rc < 0 && (y->kind == CLI_SPEC_MATRIX || y->kind == CLI_SPEC_SYSTEM))
        y->N = y->Z->rows;
    if (rc < 0 && y->N > r->nmax)
        rc = cli_usage_error("%s: N = %zu in '%s' is above the %zu supported here", r->cmd, y->N, text, r->nmax);
    if (rc >= 0)
        cli_spec_clear(y);
    return rc;
}
