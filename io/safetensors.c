/* core/safetensors.c — read/write safetensors files (F64 only) with jansson.
 *
 * Layout: u64 little-endian header length n; n bytes of UTF-8 JSON
 * {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {..}};
 * then the data buffer, offsets relative to its start.  The reader enforces
 * what the format promises: offsets inside the buffer, sizes equal to
 * 8·prod(shape), no overlap and no holes. */
#define _POSIX_C_SOURCE 200809L
#include "io/io.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER ((uint64_t)100 * 1024 * 1024) /* the format's own 100 MB cap */

struct ssm_st {
    ssm_tensor *t;
    size_t n, cap;
    char **key, **val;
    size_t nm, mcap;
};

ssm_status ssm_st_create(ssm_st **out)
{
    *out = calloc(1, sizeof(ssm_st));
    return *out ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "out of memory for a tensor file");
}

void ssm_st_free(ssm_st *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->t[i].name);
        free(f->t[i].data);
    }
    for (size_t i = 0; i < f->nm; i++) {
        free(f->key[i]);
        free(f->val[i]);
    }
    free(f->t);
    free(f->key);
    free(f->val);
    free(f);
}

size_t ssm_st_count(const ssm_st *f) { return f->n; }
const ssm_tensor *ssm_st_at(const ssm_st *f, size_t i) { return i < f->n ? &f->t[i] : NULL; }
size_t ssm_st_meta_count(const ssm_st *f) { return f->nm; }

void ssm_st_meta_at(const ssm_st *f, size_t i, const char **key, const char **value)
{
    *key = i < f->nm ? f->key[i] : NULL;
    *value = i < f->nm ? f->val[i] : NULL;
}

const ssm_tensor *ssm_st_get(const ssm_st *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0)
            return &f->t[i];
    return NULL;
}

const char *ssm_st_meta(const ssm_st *f, const char *key)
{
    for (size_t i = 0; i < f->nm; i++)
        if (strcmp(f->key[i], key) == 0)
            return f->val[i];
    return NULL;
}

static int shape_count(size_t *count, int ndim, const size_t *shape)
{
    size_t c = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] != 0 && c > SIZE_MAX / 8 / shape[d])
            return 0;
        c *= shape[d];
    }
    *count = c;
    return 1;
}

/* Append a tensor taking ownership of `data` (freed on failure). */
static ssm_status st_push(ssm_st *f, const char *name, int ndim, const size_t *shape, size_t count,
                          double *data)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 8;
        ssm_tensor *t = realloc(f->t, cap * sizeof *t);
        if (!t) {
            free(data);
            return SSM_ERROR(SSM_ENOMEM, "out of memory");
        }
        f->t = t;
        f->cap = cap;
    }
    ssm_tensor *t = &f->t[f->n];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name) {
        free(data);
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    }
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t->shape[d] = shape[d];
    t->count = count;
    t->data = data;
    f->n++;
    return SSM_OK;
}

ssm_status ssm_st_add(ssm_st *f, const char *name, int ndim, const size_t *shape, const double *data)
{
    if (!name || !*name || strcmp(name, "__metadata__") == 0)
        return SSM_ERROR(SSM_EINVAL, "invalid tensor name '%s'", name ? name : "(null)");
    if (ssm_st_get(f, name))
        return SSM_ERROR(SSM_EINVAL, "duplicate tensor name '%s'", name);
    if (ndim < 0 || ndim > SSM_ST_MAXDIM)
        return SSM_ERROR(SSM_EINVAL, "tensor '%s': %d dimensions (at most %d)", name, ndim, SSM_ST_MAXDIM);
    size_t count;
    if (!shape_count(&count, ndim, shape))
        return SSM_ERROR(SSM_ENOMEM, "tensor '%s' is too large", name);
    double *copy = malloc((count ? count : 1) * sizeof(double));
    if (!copy)
        return SSM_ERROR(SSM_ENOMEM, "cannot allocate tensor '%s'", name);
    if (count)
        memcpy(copy, data, count * sizeof(double));
    return st_push(f, name, ndim, shape, count, copy);
}

ssm_status ssm_st_replace(ssm_st *f, const char *name, const double *data)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) {
            if (f->t[i].count)
                memcpy(f->t[i].data, data, f->t[i].count * sizeof(double));
            return SSM_OK;
        }
    return SSM_ERROR(SSM_EINVAL, "no tensor '%s' to replace", name);
}

ssm_status ssm_st_add_dmat(ssm_st *f, const char *name, const ssm_dmat_t A, int as_vector)
{
    size_t shape[2] = {A->rows, A->cols};
    size_t count = A->rows * A->cols;
    double *tmp = malloc((count ? count : 1) * sizeof(double));
    if (!tmp)
        return SSM_ERROR(SSM_ENOMEM, "cannot allocate tensor '%s'", name);
    for (size_t i = 0; i < A->rows; i++)
        for (size_t j = 0; j < A->cols; j++)
            tmp[i * A->cols + j] = SSM_D(A, i, j);
    if (as_vector)
        shape[0] = count;
    ssm_status s = ssm_st_add(f, name, as_vector ? 1 : 2, shape, tmp);
    free(tmp);
    return s;
}

ssm_status ssm_st_add_zmat(ssm_st *f, const char *name, const ssm_zmat_t A, int as_vector)
{
    size_t count = A->rows * A->cols;
    size_t shape[3] = {A->rows, A->cols, 2};
    double *tmp = malloc((count ? 2 * count : 1) * sizeof(double));
    if (!tmp)
        return SSM_ERROR(SSM_ENOMEM, "cannot allocate tensor '%s'", name);
    for (size_t i = 0; i < A->rows; i++)
        for (size_t j = 0; j < A->cols; j++) {
            tmp[2 * (i * A->cols + j)] = creal(SSM_D(A, i, j));
            tmp[2 * (i * A->cols + j) + 1] = cimag(SSM_D(A, i, j));
        }
    ssm_status s;
    if (as_vector) {
        size_t vshape[2] = {count, 2};
        s = ssm_st_add(f, name, 2, vshape, tmp);
    } else {
        s = ssm_st_add(f, name, 3, shape, tmp);
    }
    free(tmp);
    return s;
}

ssm_status ssm_st_set_meta(ssm_st *f, const char *key, const char *value)
{
    if (!key || !value)
        return SSM_ERROR(SSM_EINVAL, "metadata key and value must be strings");
    for (size_t i = 0; i < f->nm; i++)
        if (strcmp(f->key[i], key) == 0) {
            char *v = strdup(value);
            if (!v)
                return SSM_ERROR(SSM_ENOMEM, "out of memory");
            free(f->val[i]);
            f->val[i] = v;
            return SSM_OK;
        }
    if (f->nm == f->mcap) {
        size_t cap = f->mcap ? 2 * f->mcap : 16;
        char **k = realloc(f->key, cap * sizeof *k);
        if (!k)
            return SSM_ERROR(SSM_ENOMEM, "out of memory");
        f->key = k;
        char **v = realloc(f->val, cap * sizeof *v);
        if (!v)
            return SSM_ERROR(SSM_ENOMEM, "out of memory");
        f->val = v;
        f->mcap = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    }
    f->key[f->nm] = k;
    f->val[f->nm] = v;
    f->nm++;
    return SSM_OK;
}

/* little-endian IEEE doubles, independent of the host's byte order */
static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static double get_le_double(const unsigned char *p)
{
    uint64_t u = get_le64(p);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static void put_le_double(unsigned char *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_le64(p, u);
}

ssm_status ssm_st_write(const ssm_st *f, const char *path)
{
    json_t *root = json_object();
    if (!root)
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    ssm_status s = SSM_OK;
    uint64_t off = 0;
    if (f->nm) {
        json_t *meta = json_object();
        for (size_t i = 0; meta && i < f->nm; i++)
            json_object_set_new(meta, f->key[i], json_string(f->val[i]));
        if (!meta || json_object_set_new(root, "__metadata__", meta) != 0)
            s = SSM_ERROR(SSM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; s == SSM_OK && i < f->n; i++) {
        const ssm_tensor *t = &f->t[i];
        json_t *shape = json_array();
        for (int d = 0; shape && d < t->ndim; d++)
            json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
        uint64_t end = off + 8 * (uint64_t)t->count;
        json_t *obj = json_pack("{s:s, s:o, s:[I,I]}", "dtype", "F64", "shape", shape,
                                "data_offsets", (json_int_t)off, (json_int_t)end);
        if (!obj || json_object_set_new(root, t->name, obj) != 0)
            s = SSM_ERROR(SSM_ENOMEM, "out of memory");
        off = end;
    }
    char *hdr = s == SSM_OK ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (s == SSM_OK && !hdr)
        s = SSM_ERROR(SSM_ENOMEM, "cannot serialise the safetensors header");
    if (s != SSM_OK) {
        free(hdr);
        return s;
    }
    size_t hlen = strlen(hdr);
    size_t padded = (hlen + 7) / 8 * 8; /* data buffer starts 8-byte aligned */
    ssm_atomic *a;
    FILE *fp;
    s = ssm_atomic_open(&a, &fp, path);
    if (s != SSM_OK) {
        free(hdr);
        return s;
    }
    unsigned char b8[8];
    put_le64(b8, padded);
    int ok = fwrite(b8, 1, 8, fp) == 8 && fwrite(hdr, 1, hlen, fp) == hlen;
    for (size_t i = hlen; ok && i < padded; i++)
        ok = fputc(' ', fp) != EOF;
    free(hdr);
    for (size_t i = 0; ok && i < f->n; i++)
        for (size_t k = 0; ok && k < f->t[i].count; k++) {
            put_le_double(b8, f->t[i].data[k]);
            ok = fwrite(b8, 1, 8, fp) == 8;
        }
    if (!ok)
        return ssm_atomic_fail(a, NULL);
    return ssm_atomic_commit(a);
}

typedef struct { uint64_t begin, end; const char *name; } span;

static int span_cmp(const void *x, const void *y)
{
    const span *a = x, *b = y;
    return a->begin < b->begin ? -1 : a->begin > b->begin ? 1 : (a->end < b->end ? -1 : a->end > b->end);
}

/* non-negative integer of a JSON value, or -1 */
static int json_size(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static ssm_status parse_tensor(ssm_st *f, span *sp, const char *name, json_t *obj,
                               const unsigned char *data, uint64_t dlen)
{
    if (!json_is_object(obj))
        return SSM_ERROR(SSM_EFORMAT, "safetensors: entry '%s' is not an object", name);
    json_t *dt = json_object_get(obj, "dtype"), *sh = json_object_get(obj, "shape"),
           *of = json_object_get(obj, "data_offsets");
    if (!json_is_string(dt) || !json_is_array(sh) || !json_is_array(of) || json_array_size(of) != 2)
        return SSM_ERROR(SSM_EFORMAT, "safetensors: tensor '%s' lacks dtype, shape or data_offsets", name);
    if (strcmp(json_string_value(dt), "F64") != 0)
        return SSM_ERROR(SSM_EFORMAT, "safetensors: tensor '%s' has dtype %s; only F64 is supported",
                         name, json_string_value(dt));
    size_t ndim = json_array_size(sh);
    if (ndim > SSM_ST_MAXDIM)
        return SSM_ERROR(SSM_EFORMAT, "safetensors: tensor '%s' has %zu dimensions (at most %d)", name,
                         ndim, SSM_ST_MAXDIM);
    size_t shape[SSM_ST_MAXDIM];
    for (size_t d = 0; d < ndim; d++) {
        uint64_t v;
        if (json_size(json_array_get(sh, d), &v) != 0 || v > SIZE_MAX)
            return SSM_ERROR(SSM_EFORMAT, "safetensors: tensor '%s' has an invalid shape", name);
        shape[d] = (size_t)v;
    }
    size_t count;
    if (!shape_count(&count, (int)ndim, shape))
        return SSM_ERROR(SSM_EFORMAT, "safetensors: tensor '%s' shape overflows", name);
    uint64_t b, e;
    if (json_size(json_array_get(of, 0), &b) != 0 || json_size(json_array_get(of, 1), &e) != 0)
        return SSM_ERROR(SSM_EFORMAT, "safetensors: tensor '%s' has invalid data_offsets", name);
    if (b > e || e > dlen)
        return SSM_ERROR(SSM_EFORMAT,
                         "safetensors: tensor '%s' data_offsets [%llu, %llu] exceed the %llu-byte data buffer",
                         name, (unsigned long long)b, (unsigned long long)e, (unsigned long long)dlen);
    if (e - b != 8 * (uint64_t)count)
        return SSM_ERROR(SSM_EFORMAT, "safetensors: tensor '%s' spans %llu bytes, its shape needs %llu",
                         name, (unsigned long long)(e - b), (unsigned long long)(8 * (uint64_t)count));
    double *x = malloc((count ? count : 1) * sizeof(double));
    if (!x)
        return SSM_ERROR(SSM_ENOMEM, "cannot allocate tensor '%s'", name);
    for (size_t k = 0; k < count; k++)
        x[k] = get_le_double(data + b + 8 * k);
    sp->begin = b;
    sp->end = e;
    return st_push(f, name, (int)ndim, shape, count, x);
}

ssm_status ssm_st_read_mem(ssm_st **out, const unsigned char *buf, size_t len)
{
    *out = NULL;
    if (len < 8)
        return SSM_ERROR(SSM_EFORMAT, "safetensors: %zu bytes is too short for a header", len);
    uint64_t hlen = get_le64(buf);
    if (hlen > len - 8)
        return SSM_ERROR(SSM_EFORMAT, "safetensors: header length %llu exceeds the file (%zu bytes)",
                         (unsigned long long)hlen, len);
    if (hlen > ST_MAX_HEADER)
        return SSM_ERROR(SSM_EFORMAT, "safetensors: header length %llu exceeds the 100 MB limit",
                         (unsigned long long)hlen);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return SSM_ERROR(SSM_EFORMAT, "safetensors: header is not valid JSON (%s at byte %d)", jerr.text,
                         jerr.position);
    if (!json_is_object(root)) {
        json_decref(root);
        return SSM_ERROR(SSM_EFORMAT, "safetensors: header is not a JSON object");
    }
    const unsigned char *data = buf + 8 + hlen;
    uint64_t dlen = len - 8 - hlen;
    ssm_st *f = NULL;
    size_t ntens = json_object_size(root);
    span *sp = calloc(ntens ? ntens : 1, sizeof *sp);
    ssm_status s = ssm_st_create(&f);
    if (s == SSM_OK && !sp)
        s = SSM_ERROR(SSM_ENOMEM, "out of memory");
    size_t nsp = 0;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (s != SSM_OK)
            break;
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(val)) {
                s = SSM_ERROR(SSM_EFORMAT, "safetensors: __metadata__ is not an object");
                break;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    s = SSM_ERROR(SSM_EFORMAT, "safetensors: metadata '%s' is not a string", mk);
                    break;
                }
                s = ssm_st_set_meta(f, mk, json_string_value(mv));
                if (s != SSM_OK)
                    break;
            }
            continue;
        }
        if (!*key) {
            s = SSM_ERROR(SSM_EFORMAT, "safetensors: empty tensor name");
            break;
        }
        s = parse_tensor(f, &sp[nsp], key, val, data, dlen);
        if (s == SSM_OK)
            sp[nsp++].name = f->t[f->n - 1].name;
    }
    if (s == SSM_OK) {
        /* the data buffer must be covered exactly: no overlaps, no holes */
        qsort(sp, nsp, sizeof *sp, span_cmp);
        uint64_t pos = 0;
        for (size_t i = 0; s == SSM_OK && i < nsp; i++) {
            if (sp[i].begin < pos)
                s = SSM_ERROR(SSM_EFORMAT, "safetensors: tensor '%s' overlaps another tensor", sp[i].name);
            else if (sp[i].begin > pos)
                s = SSM_ERROR(SSM_EFORMAT, "safetensors: %llu unindexed bytes before tensor '%s'",
                              (unsigned long long)(sp[i].begin - pos), sp[i].name);
            pos = sp[i].end;
        }
        if (s == SSM_OK && pos != dlen)
            s = SSM_ERROR(SSM_EFORMAT, "safetensors: %llu trailing bytes not covered by any tensor",
                          (unsigned long long)(dlen - pos));
    }
    free(sp);
    json_decref(root);
    if (s != SSM_OK) {
        ssm_st_free(f);
        return s;
    }
    *out = f;
    return SSM_OK;
}

static ssm_status st_parse(void *out, const unsigned char *buf, size_t len)
{
    return ssm_st_read_mem((ssm_st **)out, buf, len);
}

ssm_status ssm_st_read(ssm_st **f, const char *path)
{
    *f = NULL;
    return ssm_parse_file(path, st_parse, f);
}
