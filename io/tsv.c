/* core/tsv.c — numeric tables: '#' header lines, whitespace-separated
 * columns, %.17g for doubles, two blank lines between datasets (gnuplot's
 * `index`).  MPFR matrices print with enough digits to round-trip. */
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

ssm_status ssm_tsv_read_mem(ssm_dmat_t A, const char *buf, size_t len)
{
    A->data = NULL;
    A->rows = A->cols = A->ld = 0;
    size_t cap = 0, n = 0, cols = 0, rows = 0, line = 0;
    double *x = NULL;
    size_t blank_run = 0;
    const char *p = buf, *end = buf + len;
    ssm_status s = SSM_OK;
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

static int write_header(FILE *fp, const char *header)
{
    if (!header)
        return 1;
    const char *p = header;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (fprintf(fp, "# %.*s\n", (int)n, p) < 0)
            return 0;
        p += n + (eol != NULL);
    }
    return 1;
}

typedef int (*row_writer)(FILE *fp, const void *M, size_t i, char *scratch);

static int dmat_row(FILE *fp, const void *M, size_t i, char *scratch)
{
    (void)scratch;
    const ssm_dmat_struct *A = M;
    for (size_t j = 0; j < A->cols; j++)
        if (fprintf(fp, "%.17g%c", SSM_D(A, i, j), j + 1 < A->cols ? '\t' : '\n') < 0)
            return 0;
    return 1;
}

static int mpmat_row(FILE *fp, const void *M, size_t i, char *scratch)
{
    (void)scratch;
    const ssm_mpmat_struct *A = M;
    for (size_t j = 0; j < A->cols; j++) {
        mpfr_srcptr v = SSM_MP(A, i, j);
        size_t digits = ssm_digits_for_prec(mpfr_get_prec(v));
        if (mpfr_fprintf(fp, "%.*Rg%c", (int)digits, v, j + 1 < A->cols ? '\t' : '\n') < 0)
            return 0;
    }
    return 1;
}

static ssm_status write_table(const char *path, FILE *stream, const char *header, const void *M,
                              size_t rows, row_writer w)
{
    ssm_atomic *a = NULL;
    FILE *fp = stream;
    if (path) {
        ssm_status s = ssm_atomic_open(&a, &fp, path);
        if (s != SSM_OK)
            return s;
    }
    int ok = write_header(fp, header);
    for (size_t i = 0; ok && i < rows; i++)
        ok = w(fp, M, i, NULL);
    if (!ok)
        return ssm_atomic_fail(a, NULL);
    if (a)
        return ssm_atomic_commit(a);
    if (fflush(fp) != 0)
        return SSM_ERROR(SSM_EWRITE, "cannot write to the output stream: %s", strerror(errno));
    return SSM_OK;
}

ssm_status ssm_tsv_write_dmat(const char *path, FILE *stream, const char *header, const ssm_dmat_t A)
{
    return write_table(path, stream, header, A, A->rows, dmat_row);
}

ssm_status ssm_tsv_write_mpmat(const char *path, FILE *stream, const char *header, const ssm_mpmat_t A)
{
    return write_table(path, stream, header, A, A->rows, mpmat_row);
}
