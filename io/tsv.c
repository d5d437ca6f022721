/* io/tsv.c — tables: the column names on the first line, then '#' comment
 * lines (what produced the file, units), then tab-separated rows, %.17g for
 * doubles ("nan" for a missing value), blank lines only between blocks.
 * MPFR matrices print with enough digits to round-trip.  The layout is the one
 * pandas.read_csv(f, sep='\t', comment='#') and numpy.genfromtxt(f, names=True)
 * both load: genfromtxt takes its names from the first line even when it is a
 * comment, so the names come first and the comments after them. */
#define _POSIX_C_SOURCE 200809L
#include "io/io.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t ssm_digits_for_prec(mpfr_prec_t prec)
{
    /* MPFR's own rule: 1 + ceil(prec * log10(2)) digits round-trip (mpfr_get_str_ndigits) */
    return mpfr_get_str_ndigits(10, prec);
}

/* the number of whitespace-separated tokens of [q, eol) when none of them is a number
 * (a line of column names), else 0 */
static size_t names_line(const char *q, const char *eol)
{
    size_t n = 0;
    while (q < eol) {
        const char *t = q;
        while (q < eol && !isspace((unsigned char)*q))
            q++;
        char tok[128];
        size_t len = (size_t)(q - t) < sizeof tok - 1 ? (size_t)(q - t) : sizeof tok - 1;
        memcpy(tok, t, len);
        tok[len] = '\0';
        char *e;
        (void)strtod(tok, &e);
        if (e != tok && *e == '\0')
            return 0;
        n++;
        while (q < eol && isspace((unsigned char)*q))
            q++;
    }
    return n;
}

ssm_status ssm_tsv_read_mem(ssm_dmat_t A, const char *buf, size_t len)
{
    A->data = NULL;
    A->rows = A->cols = A->ld = 0;
    size_t cap = 0, n = 0, cols = 0, rows = 0, line = 0, names = 0, names_at = 0;
    double *x = NULL;
    size_t blank_run = 0;
    int content = 0; /* a non-comment line was seen */
    const char *p = buf, *end = buf + len;
    ssm_status s = SSM_OK;
    const char *nul = memchr(buf, '\0', len);
    if (nul) { /* a binary file, or a text one damaged: say so rather than "not a number" */
        size_t at = 1;
        for (const char *q = buf; q < nul; q++)
            at += *q == '\n';
        return SSM_ERROR(SSM_EFORMAT, "tsv: line %zu holds a NUL byte (not a text table)", at);
    }
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        line++;
        const char *q = p;
        while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q == eol) {
            if (rows > 0 && ++blank_run >= 2)
                break; /* end of the first dataset */
            p = eol + (eol < end);
            continue;
        }
        blank_run = 0;
        if (*q == '#') {
            p = eol + (eol < end);
            continue;
        }
        if (!content++ && (names = names_line(q, eol)) > 0) {
            names_at = line; /* the first line holds the column names */
            p = eol + (eol < end);
            continue;
        }
        size_t c = 0;
        while (q < eol) {
            char tok[128];
            size_t t = 0;
            while (q < eol && !isspace((unsigned char)*q)) {
                if (t + 1 >= sizeof tok) {
                    s = SSM_ERROR(SSM_EFORMAT, "tsv: line %zu: token too long", line);
                    goto done;
                }
                tok[t++] = *q++;
            }
            tok[t] = '\0';
            char *e;
            errno = 0;
            double v = strtod(tok, &e);
            if (e == tok || *e != '\0') {
                s = SSM_ERROR(SSM_EFORMAT, "tsv: line %zu: '%s' is not a number", line, tok);
                goto done;
            }
            if (!isfinite(v)) {
                s = SSM_ERROR(SSM_EFORMAT, "tsv: line %zu: non-finite value '%s'", line, tok);
                goto done;
            }
            if (n == cap) {
                size_t nc = cap ? 2 * cap : 256;
                double *y = realloc(x, nc * sizeof *y);
                if (!y) {
                    s = SSM_ERROR(SSM_ENOMEM, "tsv: out of memory");
                    goto done;
                }
                x = y;
                cap = nc;
            }
            x[n++] = v;
            c++;
            while (q < eol && isspace((unsigned char)*q))
                q++;
        }
        if (rows == 0)
            cols = c;
        else if (c != cols) {
            s = SSM_ERROR(SSM_EFORMAT, "tsv: line %zu has %zu columns, expected %zu", line, c, cols);
            goto done;
        }
        rows++;
        p = eol + (eol < end);
    }
    if (rows == 0)
        s = SSM_ERROR(SSM_EFORMAT, "tsv: no numeric rows");
    else if (names && names != cols)
        s = SSM_ERROR(SSM_EFORMAT, "tsv: line %zu names %zu columns, the rows have %zu", names_at, names, cols);
done:
    if (s != SSM_OK) {
        free(x);
        return s;
    }
    A->data = x;
    A->rows = rows;
    A->cols = cols;
    A->ld = cols;
    return SSM_OK;
}

static ssm_status tsv_parse(void *out, const unsigned char *buf, size_t len)
{
    return ssm_tsv_read_mem(out, (const char *)buf, len);
}

ssm_status ssm_tsv_read(ssm_dmat_t A, const char *path)
{
    A->data = NULL;
    A->rows = A->cols = A->ld = 0;
    return ssm_parse_file(path, tsv_parse, A);
}

/* a column name both loaders keep as it is: [A-Za-z_][A-Za-z0-9_]*, not a number ("inf",
 * "nan") and not one of the names numpy.genfromtxt renames (return, file, print) */
static int valid_name(const char *t, size_t len)
{
    static const char *const RENAMED[] = {"return", "file", "print"};
    if (len == 0 || len > 64 || !(isalpha((unsigned char)t[0]) || t[0] == '_'))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!(isalnum((unsigned char)t[i]) || t[i] == '_'))
            return 0;
    char tok[72], *e;
    memcpy(tok, t, len);
    tok[len] = '\0';
    (void)strtod(tok, &e);
    if (e != tok && *e == '\0')
        return 0;
    for (size_t k = 0; k < sizeof RENAMED / sizeof *RENAMED; k++)
        if (strcmp(tok, RENAMED[k]) == 0)
            return 0;
    return 1;
}

ssm_status ssm_tsv_columns_check(const char *columns, size_t ncols)
{
    if (!columns)
        return SSM_OK;
    size_t n = 0;
    for (const char *p = columns; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *t = p;
        while (*p && *p != ' ')
            p++;
        if (!valid_name(t, (size_t)(p - t)))
            return SSM_ERROR(SSM_EINVAL, "tsv: column name '%.*s' is not [A-Za-z_][A-Za-z0-9_]* (or is a number or a "
                                         "name numpy renames)", (int)(p - t), t);
        n++;
    }
    if (n != ncols)
        return SSM_ERROR(SSM_EINVAL, "tsv: %zu column names for %zu columns", n, ncols);
    return SSM_OK;
}

ssm_status ssm_tsv_write_head(FILE *fp, const char *columns, size_t ncols, const char *header)
{
    ssm_status s = ssm_tsv_columns_check(columns, ncols);
    if (s != SSM_OK)
        return s;
    int ok = 1;
    if (columns) {
        int first = 1;
        for (const char *p = columns; ok && *p;) {
            while (*p == ' ')
                p++;
            if (!*p)
                break;
            const char *t = p;
            while (*p && *p != ' ')
                p++;
            ok = fprintf(fp, "%s%.*s", first ? "" : "\t", (int)(p - t), t) >= 0;
            first = 0;
        }
    } else {
        for (size_t j = 0; ok && j < ncols; j++)
            ok = fprintf(fp, "%scol%zu", j ? "\t" : "", j) >= 0;
    }
    ok = ok && fputc('\n', fp) != EOF;
    for (const char *p = header; ok && p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        ok = fprintf(fp, "# %.*s\n", (int)n, p) >= 0;
        p += n + (eol != NULL);
    }
    return ok ? SSM_OK : SSM_ERROR(SSM_EWRITE, "tsv: cannot write the header: %s", strerror(errno ? errno : EIO));
}

int ssm_tsv_print_double(FILE *fp, double x, char sep)
{
    if (isnan(x))
        return fprintf(fp, "nan%c", sep);
    return fprintf(fp, "%.17g%c", x, sep);
}

typedef int (*row_writer)(FILE *fp, const void *M, size_t i);

static int dmat_row(FILE *fp, const void *M, size_t i)
{
    const ssm_dmat_struct *A = M;
    for (size_t j = 0; j < A->cols; j++)
        if (ssm_tsv_print_double(fp, SSM_D(A, i, j), j + 1 < A->cols ? '\t' : '\n') < 0)
            return 0;
    return 1;
}

static int mpmat_row(FILE *fp, const void *M, size_t i)
{
    const ssm_mpmat_struct *A = M;
    for (size_t j = 0; j < A->cols; j++) {
        mpfr_srcptr v = SSM_MP(A, i, j);
        size_t digits = ssm_digits_for_prec(mpfr_get_prec(v));
        int rc = mpfr_nan_p(v) ? fprintf(fp, "nan%c", j + 1 < A->cols ? '\t' : '\n')
                               : mpfr_fprintf(fp, "%.*Rg%c", (int)digits, v, j + 1 < A->cols ? '\t' : '\n');
        if (rc < 0)
            return 0;
    }
    return 1;
}

static ssm_status write_table(const char *path, FILE *stream, const char *columns, const char *header, const void *M,
                              size_t rows, size_t cols, row_writer w)
{
    ssm_status s = ssm_tsv_columns_check(columns, cols);
    if (s != SSM_OK)
        return s;
    ssm_atomic *a = NULL;
    FILE *fp = stream;
    if (path && (s = ssm_atomic_open(&a, &fp, path)) != SSM_OK)
        return s;
    int ok = ssm_tsv_write_head(fp, columns, cols, header) == SSM_OK;
    for (size_t i = 0; ok && i < rows; i++)
        ok = w(fp, M, i);
    if (!ok)
        return ssm_atomic_fail(a, NULL);
    if (a)
        return ssm_atomic_commit(a);
    if (fflush(fp) != 0)
        return SSM_ERROR(SSM_EWRITE, "cannot write to the output stream: %s", strerror(errno));
    return SSM_OK;
}

ssm_status ssm_tsv_write_dmat(const char *path, FILE *stream, const char *columns, const char *header,
                              const ssm_dmat_t A)
{
    return write_table(path, stream, columns, header, A, A->rows, A->cols, dmat_row);
}

ssm_status ssm_tsv_write_mpmat(const char *path, FILE *stream, const char *columns, const char *header,
                               const ssm_mpmat_t A)
{
    return write_table(path, stream, columns, header, A, A->rows, A->cols, mpmat_row);
}
