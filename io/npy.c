/* core/npy.c — NumPy .npy files, float64 and complex128 in C order.
 *
 * The header is a Python dict literal ({'descr': '<f8', 'fortran_order':
 * False, 'shape': (3, 4), }) which numpy itself parses with ast.literal_eval;
 * this file accepts exactly that grammar (strings, True/False, tuples of
 * non-negative integers) and nothing more.  Reference: NEP 1, numpy.lib.format. */
#define _POSIX_C_SOURCE 200809L
#include "io/io.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

void ssm_npy_clear(ssm_npy *a)
{
    free(a->data);
    memset(a, 0, sizeof *a);
}

typedef struct { const char *p, *end; } cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int accept(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* a quoted string without escapes, copied into out (size cap) */
static int parse_string(cursor *c, char *out, size_t cap)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap)
            return 0;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return 0;
    c->p++;
    out[n] = '\0';
    return 1;
}

static int parse_word(cursor *c, const char *w)
{
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

static int parse_uint(cursor *c, size_t *v)
{
    skip_ws(c);
    if (c->p >= c->end || !isdigit((unsigned char)*c->p))
        return 0;
    size_t x = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        unsigned d = (unsigned)(*c->p - '0');
        if (x > (SIZE_MAX - d) / 10)
            return 0;
        x = 10 * x + d;
        c->p++;
    }
    /* numpy may write Python longs as 3L in old files */
    if (c->p < c->end && *c->p == 'L')
        c->p++;
    *v = x;
    return 1;
}

static ssm_status parse_header(const char *h, size_t hlen, char *descr, size_t dcap, int *fortran,
                               int *ndim, size_t *shape)
{
    cursor c = {h, h + hlen};
    int have_descr = 0, have_fo = 0, have_shape = 0;
    if (!accept(&c, '{'))
        return SSM_ERROR(SSM_EFORMAT, "npy: header is not a dict literal");
    while (!accept(&c, '}')) {
        char key[32];
        if (!parse_string(&c, key, sizeof key) || !accept(&c, ':'))
            return SSM_ERROR(SSM_EFORMAT, "npy: malformed header dict");
        if (strcmp(key, "descr") == 0) {
            skip_ws(&c);
            if (c.p < c.end && c.p[0] == '[')
                return SSM_ERROR(SSM_EFORMAT, "npy: structured dtypes are not supported");
            if (!parse_string(&c, descr, dcap))
                return SSM_ERROR(SSM_EFORMAT, "npy: malformed 'descr'");
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (parse_word(&c, "True"))
                *fortran = 1;
            else if (parse_word(&c, "False"))
                *fortran = 0;
            else
                return SSM_ERROR(SSM_EFORMAT, "npy: 'fortran_order' is not True or False");
            have_fo = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (!accept(&c, '('))
                return SSM_ERROR(SSM_EFORMAT, "npy: 'shape' is not a tuple");
            *ndim = 0;
            while (!accept(&c, ')')) {
                if (*ndim >= SSM_ST_MAXDIM)
                    return SSM_ERROR(SSM_EFORMAT, "npy: more than %d dimensions", SSM_ST_MAXDIM);
                if (!parse_uint(&c, &shape[*ndim]))
                    return SSM_ERROR(SSM_EFORMAT, "npy: 'shape' holds a non-integer");
                (*ndim)++;
                if (!accept(&c, ',')) {
                    if (!accept(&c, ')'))
                        return SSM_ERROR(SSM_EFORMAT, "npy: malformed 'shape' tuple");
                    break;
                }
            }
            have_shape = 1;
        } else {
            return SSM_ERROR(SSM_EFORMAT, "npy: unexpected header key '%s'", key);
        }
        if (!accept(&c, ',')) {
            if (!accept(&c, '}'))
                return SSM_ERROR(SSM_EFORMAT, "npy: malformed header dict");
            break;
        }
    }
    skip_ws(&c);
    if (c.p != c.end)
        return SSM_ERROR(SSM_EFORMAT, "npy: trailing characters after the header dict");
    if (!have_descr || !have_fo || !have_shape)
        return SSM_ERROR(SSM_EFORMAT, "npy: header lacks %s", !have_descr ? "'descr'"
                                                              : !have_fo ? "'fortran_order'"
                                                                         : "'shape'");
    return SSM_OK;
}

ssm_status ssm_npy_read_mem(ssm_npy *a, const unsigned char *buf, size_t len)
{
    memset(a, 0, sizeof *a);
    if (len < 10 || memcmp(buf, MAGIC, 6) != 0)
        return SSM_ERROR(SSM_EFORMAT, "npy: missing magic string (not a .npy file)");
    unsigned major = buf[6];
    size_t hlen, start;
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return SSM_ERROR(SSM_EFORMAT, "npy: truncated header");
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        start = 12;
    } else {
        return SSM_ERROR(SSM_EFORMAT, "npy: unsupported format version %u", major);
    }
    if (hlen > len - start)
        return SSM_ERROR(SSM_EFORMAT, "npy: header length %zu exceeds the file (%zu bytes)", hlen, len);
    char descr[32];
    int fortran = 0, ndim = 0;
    size_t shape[SSM_ST_MAXDIM];
    ssm_status s = parse_header((const char *)buf + start, hlen, descr, sizeof descr, &fortran, &ndim, shape);
    if (s != SSM_OK)
        return s;
    int cplx;
    if (strcmp(descr, "<f8") == 0)
        cplx = 0;
    else if (strcmp(descr, "<c16") == 0)
        cplx = 1;
    else if (strcmp(descr, "|O") == 0 || strcmp(descr, "O") == 0)
        return SSM_ERROR(SSM_EFORMAT, "npy: object arrays are not supported");
    else if (strcmp(descr, ">f8") == 0 || strcmp(descr, ">c16") == 0)
        return SSM_ERROR(SSM_EFORMAT, "npy: big-endian dtype '%s' is not supported (use astype('<f8'))", descr);
    else
        return SSM_ERROR(SSM_EFORMAT, "npy: dtype '%s' is not supported (float64 '<f8' or complex128 '<c16' only)",
                         descr);
    if (fortran)
        return SSM_ERROR(SSM_EFORMAT, "npy: Fortran-order arrays are not supported (save with np.ascontiguousarray)");
    size_t count = 1, per = cplx ? 16 : 8;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] != 0 && count > SIZE_MAX / per / shape[d])
            return SSM_ERROR(SSM_EFORMAT, "npy: shape overflows");
        count *= shape[d];
    }
    size_t have = len - start - hlen;
    if (have != count * per)
        return SSM_ERROR(SSM_EFORMAT, "npy: data holds %zu bytes, shape needs %zu", have, count * per);
    size_t nd = cplx ? 2 * count : count;
    double *x = malloc((nd ? nd : 1) * sizeof(double));
    if (!x)
        return SSM_ERROR(SSM_ENOMEM, "npy: cannot allocate %zu doubles", nd);
    const unsigned char *p = buf + start + hlen;
    for (size_t k = 0; k < nd; k++) {
        uint64_t u = 0;
        for (int i = 0; i < 8; i++)
            u |= (uint64_t)p[8 * k + i] << (8 * i);
        memcpy(&x[k], &u, 8);
    }
    a->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        a->shape[d] = shape[d];
    a->count = count;
    a->is_complex = cplx;
    a->data = x;
    return SSM_OK;
}

static ssm_status npy_parse(void *out, const unsigned char *buf, size_t len)
{
    return ssm_npy_read_mem(out, buf, len);
}

ssm_status ssm_npy_read(ssm_npy *a, const char *path)
{
    memset(a, 0, sizeof *a);
    return ssm_parse_file(path, npy_parse, a);
}

ssm_status ssm_npy_write(const char *path, int ndim, const size_t *shape, int is_complex, const double *data)
{
    if (ndim < 0 || ndim > SSM_ST_MAXDIM)
        return SSM_ERROR(SSM_EINVAL, "npy: %d dimensions (at most %d)", ndim, SSM_ST_MAXDIM);
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     is_complex ? "<c16" : "<f8");
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%zu,%s", shape[d], d + 1 < ndim ? " " : "");
        count *= shape[d];
    }
    if (ndim > 1)
        n--; /* "(3, 4,)" → "(3, 4)"; a 1-tuple keeps its comma */
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    /* pad with spaces so that magic + len + header is a multiple of 64, ending in '\n' */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    ssm_atomic *a;
    FILE *fp;
    ssm_status s = ssm_atomic_open(&a, &fp, path);
    if (s != SSM_OK)
        return s;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, 10, fp) == 10 && fwrite(dict, 1, (size_t)n, fp) == (size_t)n;
    for (size_t i = 0; ok && i < pad; i++)
        ok = fputc(' ', fp) != EOF;
    ok = ok && fputc('\n', fp) != EOF;
    size_t nd = is_complex ? 2 * count : count;
    for (size_t k = 0; ok && k < nd; k++) {
        uint64_t u;
        unsigned char b[8];
        memcpy(&u, &data[k], 8);
        for (int i = 0; i < 8; i++)
            b[i] = (unsigned char)(u >> (8 * i));
        ok = fwrite(b, 1, 8, fp) == 8;
    }
    if (!ok)
        return ssm_atomic_fail(a, NULL);
    return ssm_atomic_commit(a);
}
