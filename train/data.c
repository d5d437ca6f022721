/* train/data.c — the tasks: sequential Fashion-MNIST from gzip'd IDX files (zlib), and three synthetic
 * tasks generated from the seed (adding problem, ListOps-style expressions, sinusoid amplitudes). */
#define _POSIX_C_SOURCE 200809L
#include "train/train.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char *const TASKS[SSM_TASK_COUNT] = {"sfmnist", "adding", "listops", "sinusoid"};

const char *ssm_train_task_name(ssm_train_task t) { return (unsigned)t < SSM_TASK_COUNT ? TASKS[t] : "?"; }

ssm_status ssm_train_task_lookup(ssm_train_task *t, const char *name)
{
    for (int i = 0; i < SSM_TASK_COUNT; i++)
        if (strcmp(name, TASKS[i]) == 0) {
            *t = (ssm_train_task)i;
            return SSM_OK;
        }
    return SSM_ERROR(SSM_EINVAL, "unknown task '%s' (sfmnist adding listops sinusoid)", name);
}

void ssm_train_config_default(ssm_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->task = SSM_TASK_ADDING;
    snprintf(c->init, sizeof c->init, "s4d-legs");
    c->d_model = 64;
    c->d_state = 0; /* the init file's N, or 64 for a method */
    c->n_layers = 4;
    c->dropout = 0.1;
    c->dt_min = 1e-3;
    c->dt_max = 1e-1;
    c->lr = 0.01;
    c->lr_ssm = 0.001;
    c->wd = 0.05;
    c->clip = 1.0;
    c->epochs = 1;
    c->batch = 64;
    c->threads = 2;
    c->seed = 0;
}

ssm_status ssm_train_config_check(const ssm_train_config *c)
{
#define REQ(cond, ...) do { if (!(cond)) return SSM_ERROR(SSM_EINVAL, __VA_ARGS__); } while (0)
    REQ((unsigned)c->task < SSM_TASK_COUNT, "invalid task");
    REQ(c->d_model >= 1 && c->d_model <= 4096, "--d-model must be in [1, 4096]");
    REQ(c->d_state == 0 || (c->d_state >= 2 && c->d_state <= 1024 && c->d_state % 2 == 0),
        "--d-state must be even and in [2, 1024]");
    REQ(c->n_layers >= 1 && c->n_layers <= SSM_TRAIN_MAX_LAYERS, "--layers must be in [1, %d]", SSM_TRAIN_MAX_LAYERS);
    REQ(c->dropout >= 0.0 && c->dropout < 1.0, "--dropout must be in [0, 1)");
    REQ(c->dt_min > 0.0 && c->dt_max >= c->dt_min && c->dt_max < 10.0, "need 0 < --dt-min <= --dt-max < 10");
    REQ(isfinite(c->lr) && c->lr >= 0.0 && c->lr < 10.0, "--lr must be in [0, 10)");
    REQ(isfinite(c->lr_ssm) && c->lr_ssm >= 0.0 && c->lr_ssm < 10.0, "--lr-ssm must be in [0, 10)");
    REQ(isfinite(c->wd) && c->wd >= 0.0 && c->wd < 10.0, "--wd must be in [0, 10)");
    REQ(isfinite(c->clip) && c->clip >= 0.0, "--clip must be >= 0 (0: off)");
    REQ(c->epochs >= 1 && c->epochs <= SSM_TRAIN_MAX_EPOCHS, "--epochs must be in [1, %d]", SSM_TRAIN_MAX_EPOCHS);
    REQ(c->batch >= 1 && c->batch <= 4096, "--batch must be in [1, 4096]");
    REQ(c->threads >= 1 && c->threads <= 64, "--threads must be in [1, 64]");
    REQ(c->seq_len <= 100000, "--seq-len must be at most 100000");
    REQ(c->n_train <= 10000000 && c->n_val <= 10000000 && c->n_test <= 10000000, "sample counts must be at most 1e7");
    REQ(c->init_eps >= 0.0 && c->init_eps < 1.0, "--eps must be in (0, 1)");
    REQ(c->s4_dense == 0 || c->s4_dense == 1, "--s4-kernel must be dplr or dense");
#undef REQ
    return SSM_OK;
}

void ssm_train_data_free(ssm_train_data *d)
{
    ssm_train_split *s[3] = {&d->train, &d->val, &d->test};
    for (int i = 0; i < 3; i++) {
        free(s[i]->x); free(s[i]->xb); free(s[i]->y); free(s[i]->freq);
    }
    memset(d, 0, sizeof *d);
}

void ssm_train_split_gather(float *x, float *y, const ssm_train_split *s, const size_t *idx, size_t count)
{
    const size_t per = s->L * s->din;
    for (size_t k = 0; k < count; k++) {
        size_t i = idx[k];
        if (s->x)
            memcpy(x + k * per, s->x + i * per, per * sizeof *x);
        else
            for (size_t j = 0; j < per; j++)
                x[k * per + j] = (float)s->xb[i * per + j] * s->xscale + s->xshift;
        y[k] = s->y[i];
    }
}

static ssm_status split_alloc(ssm_train_split *s, size_t n, size_t L, size_t din, int bytes)
{
    s->n = n; s->L = L; s->din = din;
    size_t count = n * L * din > 0 ? n * L * din : 1;
    if (bytes)
        s->xb = malloc(count);
    else
        s->x = calloc(count, sizeof *s->x);
    s->y = calloc(n ? n : 1, sizeof *s->y);
    if ((bytes ? !s->xb : !s->x) || !s->y)
        return SSM_ERROR(SSM_ENOMEM, "out of memory for %zu sequences of length %zu", n, L);
    return SSM_OK;
}

/* ---- sequential Fashion-MNIST ------------------------------------------------------ */

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

#define IDX_MAX_COUNT 1000000u

/* The size an IDX file must have, from its header h (hlen bytes): 0 when the header is not that of a
 * 28×28 image file (images) or a label file with 1 … IDX_MAX_COUNT items (idx_parse says why). */
static size_t idx_size(const unsigned char *h, int images)
{
    size_t n = be32(h + 4);
    if (be32(h) != (images ? 0x803u : 0x801u) || n == 0 || n > IDX_MAX_COUNT ||
        (images && (be32(h + 8) != 28 || be32(h + 12) != 28)))
        return 0;
    return (images ? 16 : 8) + n * (images ? 784 : 1);
}

/* Check an uncompressed IDX image b[0..len): *n items, the payload from b + header length. */
static ssm_status idx_check(size_t *n, const unsigned char *b, size_t len, int images)
{
    const size_t hlen = images ? 16 : 8, per = images ? 784 : 1;
    if (len < hlen)
        return SSM_ERROR(SSM_EFORMAT, "truncated IDX header (%zu of %zu bytes)", len, hlen);
    if (be32(b) != (images ? 0x803u : 0x801u))
        return SSM_ERROR(SSM_EFORMAT, "not an IDX %s file (magic 0x%x)", images ? "image" : "label", be32(b));
    if (images && (be32(b + 8) != 28 || be32(b + 12) != 28))
        return SSM_ERROR(SSM_EFORMAT, "images are %ux%u, expected 28x28", be32(b + 8), be32(b + 12));
    *n = be32(b + 4);
    if (*n == 0 || *n > IDX_MAX_COUNT)
        return SSM_ERROR(SSM_EFORMAT, "implausible count %zu (1 .. %u)", *n, IDX_MAX_COUNT);
    size_t want = hlen + *n * per;
    if (len < want)
        return SSM_ERROR(SSM_EFORMAT, "truncated (%zu items declared, %zu bytes missing)", *n, want - len);
    if (len > want)
        return SSM_ERROR(SSM_EFORMAT, "%zu bytes of trailing data after the %zu items declared", len - want, *n);
    return SSM_OK;
}

/* Inflate gzip data (one or more members) into a growing buffer: once the IDX header is out, no more
 * than the size it declares plus one byte (so that trailing data shows) is produced — a small
 * file never makes a large allocation unless its header asks for it. */
static ssm_status idx_gunzip(unsigned char **out, size_t *outlen, const unsigned char *in, size_t len, int images)
{
    const size_t hlen = images ? 16 : 8;
    *out = NULL;
    *outlen = 0;
    if (len > UINT_MAX)
        return SSM_ERROR(SSM_EFORMAT, "gzip data of %zu bytes is beyond zlib's single-call input", len);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return SSM_ERROR(SSM_ENOMEM, "out of memory (zlib)");
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    unsigned char *b = NULL;
    size_t cap = 0, have = 0, limit = SIZE_MAX; /* limit: the size the header declares, once known */
    ssm_status s = SSM_OK;
    for (;;) {
        if (have == cap) {
            size_t ncap = cap ? 2 * cap : 4096;
            if (limit != SIZE_MAX && ncap > limit + 1)
                ncap = limit + 1;
            if (ncap > (size_t)UINT_MAX)
                ncap = UINT_MAX;
            if (ncap <= cap)
                break; /* limit + 1 bytes are out: idx_check reports the trailing data */
            unsigned char *nb = realloc(b, ncap);
            if (!nb) {
                s = SSM_ERROR(SSM_ENOMEM, "out of memory inflating %zu bytes", ncap);
                break;
            }
            b = nb;
            cap = ncap;
        }
        z.next_out = b + have;
        z.avail_out = (uInt)(cap - have);
        int rc = inflate(&z, Z_NO_FLUSH);
        have = cap - z.avail_out;
        if (limit == SIZE_MAX && have >= hlen && (limit = idx_size(b, images)) == 0)
            break; /* a bad header: idx_check names it */
        if (have > limit)
            break;
        if (rc == Z_STREAM_END) {
            if (z.avail_in == 0)
                break;
            if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b && inflateReset(&z) == Z_OK)
                continue; /* the next member of a multi-member file */
            s = SSM_ERROR(SSM_EFORMAT, "%u bytes of trailing data after the gzip stream", z.avail_in);
            break;
        }
        if (rc == Z_OK || (rc == Z_BUF_ERROR && z.avail_out == 0))
            continue;
        s = SSM_ERROR(SSM_EFORMAT, "%s", rc == Z_BUF_ERROR ? "truncated gzip stream"
                                         : z.msg ? z.msg : "corrupt gzip stream");
        break;
    }
    inflateEnd(&z);
    if (s != SSM_OK) {
        free(b);
        return s;
    }
    *out = b;
    *outlen = have;
    return SSM_OK;
}

ssm_status ssm_train_idx_read_mem(unsigned char **out, size_t *n, const unsigned char *buf, size_t len, int images)
{
    const size_t hlen = images ? 16 : 8, per = images ? 784 : 1;
    *out = NULL;
    *n = 0;
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        unsigned char *b;
        size_t blen;
        ssm_status s = idx_gunzip(&b, &blen, buf, len, images);
        if (s == SSM_OK && (s = idx_check(n, b, blen, images)) == SSM_OK) {
            memmove(b, b + hlen, *n * per); /* the payload only, in the inflated buffer */
            *out = b;
            return SSM_OK;
        }
        free(b);
        *n = 0;
        return s;
    }
    ssm_status s = idx_check(n, buf, len, images);
    if (s == SSM_OK && !(*out = malloc(*n * per)))
        s = SSM_ERROR(SSM_ENOMEM, "out of memory for %zu items", *n);
    if (s != SSM_OK) {
        *n = 0;
        return s;
    }
    memcpy(*out, buf + hlen, *n * per);
    return SSM_OK;
}

/* Read DIR/NAME, an IDX file (gzip'd or not): images (n×28×28) or labels, into a malloc'd buffer. */
static ssm_status read_idx(unsigned char **out, size_t *n, const char *dir, const char *name, int images)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unsigned char *buf;
    size_t len;
    char why[400]; /* the message buffer is also SSM_ERROR's destination: copied before it is rewritten */
    ssm_status s = ssm_read_file(&buf, &len, path);
    if (s != SSM_OK) {
        snprintf(why, sizeof why, "%s", ssm_error_message());
        return s != SSM_EIO ? SSM_ERROR(s, "sfmnist: %s", why)
                            : SSM_ERROR(s, "sfmnist: %s; install the Debian package dataset-fashion-mnist or pass "
                                           "--data DIR", why);
    }
    s = ssm_train_idx_read_mem(out, n, buf, len, images);
    free(buf);
    if (s != SSM_OK) {
        snprintf(why, sizeof why, "%s", ssm_error_message());
        return SSM_ERROR(s, "sfmnist: %s: %s", path, why);
    }
    return SSM_OK;
}

static ssm_status load_pair(unsigned char **img, unsigned char **lab, size_t *n, const char *dir, const char *pfx)
{
    char a[64], b[64];
    size_t ni = 0, nl = 0;
    snprintf(a, sizeof a, "%s-images-idx3-ubyte.gz", pfx);
    snprintf(b, sizeof b, "%s-labels-idx1-ubyte.gz", pfx);
    ssm_status s = read_idx(img, &ni, dir, a, 1);
    if (s == SSM_OK)
        s = read_idx(lab, &nl, dir, b, 0);
    if (s == SSM_OK && ni != nl)
        s = SSM_ERROR(SSM_EFORMAT, "sfmnist: %s: %zu images but %zu labels", pfx, ni, nl);
    for (size_t i = 0; s == SSM_OK && i < nl; i++)
        if ((*lab)[i] > 9)
            s = SSM_ERROR(SSM_EFORMAT, "sfmnist: %s: label %u out of range", pfx, (*lab)[i]);
    *n = ni;
    return s;
}

/* The size of a validation or test split: as given; else, when n_train is given, ⌈n_train/10⌉ up to the
 * task's default (so that a small run is not dominated by its evaluations); else the task's default. */
static size_t split_size(size_t given, size_t n_train, size_t task_default)
{
    if (given)
        return given;
    size_t k = n_train / 10 + (n_train % 10 != 0);
    return n_train && k < task_default ? k : task_default;
}

static ssm_status load_sfmnist(ssm_train_data *d, const ssm_train_config *c)
{
    const char *dir = c->data_dir[0] ? c->data_dir : "/usr/share/datasets/fashion-mnist";
    unsigned char *ti = NULL, *tl = NULL, *ei = NULL, *el = NULL;
    size_t nt = 0, ne = 0;
    ssm_status s = load_pair(&ti, &tl, &nt, dir, "train");
    if (s == SSM_OK)
        s = load_pair(&ei, &el, &ne, dir, "t10k");
    size_t nval = split_size(c->n_val, c->n_train, 5000);
    if (s == SSM_OK && nval >= nt)
        s = SSM_ERROR(SSM_EINVAL, "sfmnist: --n-val %zu leaves no training images (of %zu)", nval, nt);
    size_t ntrain = c->n_train ? c->n_train : nt - nval, ntest = split_size(c->n_test, c->n_train, ne);
    if (s == SSM_OK && (ntrain > nt - nval || ntest > ne))
        s = SSM_ERROR(SSM_EINVAL, "sfmnist: asked for %zu training / %zu test images; the files have %zu / %zu", ntrain,
                      ntest, nt - nval, ne);
    /* fixed split: validation = the LAST nval training images; training = the first ntrain */
    struct { ssm_train_split *sp; const unsigned char *img, *lab; size_t n; } parts[3] = {
        {&d->train, ti, tl, ntrain}, {&d->val, ti ? ti + (nt - nval) * 784 : NULL, tl ? tl + (nt - nval) : NULL, nval},
        {&d->test, ei, el, ntest}};
    for (int k = 0; k < 3 && s == SSM_OK; k++) {
        ssm_train_split *sp = parts[k].sp;
        if ((s = split_alloc(sp, parts[k].n, 784, 1, 1)) != SSM_OK)
            break;
        memcpy(sp->xb, parts[k].img, parts[k].n * 784);
        for (size_t i = 0; i < parts[k].n; i++)
            sp->y[i] = (float)parts[k].lab[i];
        /* per-pixel normalisation with the Fashion-MNIST training mean 0.2860 and std 0.3530 */
        sp->xscale = (float)(1.0 / (255.0 * 0.3530));
        sp->xshift = (float)(-0.2860 / 0.3530);
    }
    free(ti); free(tl); free(ei); free(el);
    return s;
}

/* ---- synthetic tasks ---------------------------------------------------------------- */

/* adding problem (Hochreiter & Schmidhuber 1997): channel 0 ~ U[0,1), channel 1 marks one position in
 * each half; target = the sum of the two marked values. */
static void gen_adding(ssm_train_split *s, uint64_t seed)
{
    uint64_t r = seed;
    const size_t L = s->L;
    for (size_t i = 0; i < s->n; i++) {
        float *x = s->x + i * L * 2;
        for (size_t l = 0; l < L; l++)
            x[2 * l] = (float)ssm_train_uniform(&r);
        size_t a = (size_t)(ssm_train_uniform(&r) * (double)(L / 2));
        size_t b = L / 2 + (size_t)(ssm_train_uniform(&r) * (double)(L - L / 2));
        x[2 * a + 1] = 1.0f;
        x[2 * b + 1] = 1.0f;
        s->y[i] = x[2 * a] + x[2 * b];
    }
}

/* ListOps-style (Nangia & Bowman 2018): nested [MAX|MIN|MED|SM a b …] over digits; tokens 0–9 digits,
 * 10–13 the operators (with their bracket), 14 ']', 15 padding; one-hot input, target in 0–9.
 * MED takes the lower median; SM is the sum mod 10. */
enum { LO_MAX = 10, LO_MIN, LO_MED, LO_SM, LO_CLOSE, LO_PAD, LO_TOKENS };

static int lo_gen(int *tok, size_t *len, size_t cap, int depth, uint64_t *r)
{
    if (depth == 0 || ssm_train_uniform(r) < 0.3) {
        int v = (int)(ssm_train_uniform(r) * 10.0);
        if (*len < cap)
            tok[*len] = v;
        (*len)++;
        return v;
    }
    int op = LO_MAX + (int)(ssm_train_uniform(r) * 4.0), nargs = 2 + (int)(ssm_train_uniform(r) * 3.0);
    if (*len < cap)
        tok[*len] = op;
    (*len)++;
    int v[8];
    for (int k = 0; k < nargs; k++)
        v[k] = lo_gen(tok, len, cap, depth - 1, r);
    if (*len < cap)
        tok[*len] = LO_CLOSE;
    (*len)++;
    int out = v[0];
    if (op == LO_MAX) for (int k = 1; k < nargs; k++) out = v[k] > out ? v[k] : out;
    if (op == LO_MIN) for (int k = 1; k < nargs; k++) out = v[k] < out ? v[k] : out;
    if (op == LO_SM) { out = 0; for (int k = 0; k < nargs; k++) out = (out + v[k]) % 10; }
    if (op == LO_MED) {
        for (int i = 1; i < nargs; i++) /* insertion sort */
            for (int j = i; j > 0 && v[j - 1] > v[j]; j--) { int t = v[j]; v[j] = v[j - 1]; v[j - 1] = t; }
        out = v[(nargs - 1) / 2];
    }
    return out;
}

static void gen_listops(ssm_train_split *s, uint64_t seed)
{
    uint64_t r = seed;
    const size_t L = s->L;
    int *tok = malloc(L * sizeof *tok);
    for (size_t i = 0; tok && i < s->n; i++) {
        size_t len;
        int v;
        do { /* redraw until the expression fits */
            len = 0;
            v = lo_gen(tok, &len, L, 4, &r);
        } while (len > L);
        float *x = s->x + i * L * LO_TOKENS;
        for (size_t l = 0; l < L; l++)
            x[l * LO_TOKENS + (l < len ? tok[l] : LO_PAD)] = 1.0f;
        s->y[i] = (float)v;
    }
    free(tok);
}

/* sinusoid amplitude (doc/reference.md §6): u_ℓ = a·sin(ω ℓ/L + φ), a ~ U[0.5, 1.5), φ ~ U[0, 2π),
 * ω ~ U[0, wmax] (80 for training/validation, 100 for the test split); target a. */
static void gen_sinusoid(ssm_train_split *s, uint64_t seed, double wmax)
{
    uint64_t r = seed;
    for (size_t i = 0; i < s->n; i++) {
        double a = 0.5 + ssm_train_uniform(&r), w = wmax * ssm_train_uniform(&r),
               ph = 2.0 * M_PI * ssm_train_uniform(&r);
        for (size_t l = 0; l < s->L; l++)
            s->x[i * s->L + l] = (float)(a * sin(w * (double)l / (double)s->L + ph));
        s->y[i] = (float)a;
        s->freq[i] = (float)w;
    }
}

ssm_status ssm_train_task_shape(size_t *L, size_t *din, size_t *nout, int *regression, const ssm_train_config *c)
{
    static const size_t DEF_L[SSM_TASK_COUNT] = {784, 200, 256, 256}, DIN[SSM_TASK_COUNT] = {1, 2, LO_TOKENS, 1};
    if ((unsigned)c->task >= SSM_TASK_COUNT)
        return SSM_ERROR(SSM_EINVAL, "invalid task");
    if (c->task == SSM_TASK_SFMNIST && c->seq_len && c->seq_len != 784)
        return SSM_ERROR(SSM_EINVAL, "sfmnist: the sequence length is 784 (28x28 pixels); drop --seq-len");
    *L = c->seq_len ? c->seq_len : DEF_L[c->task];
    *din = DIN[c->task];
    *nout = c->task == SSM_TASK_LISTOPS || c->task == SSM_TASK_SFMNIST ? 10 : 1;
    *regression = *nout == 1;
    if (*L < 2)
        return SSM_ERROR(SSM_EINVAL, "--seq-len must be at least 2");
    if (c->task == SSM_TASK_LISTOPS && *L < 16)
        return SSM_ERROR(SSM_EINVAL, "listops: --seq-len must be at least 16");
    return SSM_OK;
}

ssm_status ssm_train_data_load(ssm_train_data *d, const ssm_train_config *c)
{
    memset(d, 0, sizeof *d);
    size_t L, din, nout;
    int regression;
    ssm_status s = ssm_train_task_shape(&L, &din, &nout, &regression, c);
    if (s != SSM_OK)
        return s;
    d->n_out = nout;
    d->regression = regression;
    d->tol = c->task == SSM_TASK_ADDING ? 0.04 : 0.05;
    if (c->task == SSM_TASK_SFMNIST) {
        s = load_sfmnist(d, c);
    } else {
        size_t n[3] = {c->n_train ? c->n_train : 10000, split_size(c->n_val, c->n_train, 1000),
                       split_size(c->n_test, c->n_train, 1000)};
        ssm_train_split *sp[3] = {&d->train, &d->val, &d->test};
        for (int k = 0; k < 3 && s == SSM_OK; k++) {
            s = split_alloc(sp[k], n[k], L, din, 0);
            uint64_t seed = ssm_train_stream(c->seed, 0xda7a, (uint64_t)c->task, (uint64_t)k);
            if (s != SSM_OK)
                break;
            if (c->task == SSM_TASK_ADDING)
                gen_adding(sp[k], seed);
            else if (c->task == SSM_TASK_LISTOPS)
                gen_listops(sp[k], seed);
            else {
                sp[k]->freq = calloc(n[k] ? n[k] : 1, sizeof *sp[k]->freq);
                if (!sp[k]->freq) {
                    s = SSM_ERROR(SSM_ENOMEM, "out of memory");
                    break;
                }
                gen_sinusoid(sp[k], seed, k == 2 ? 100.0 : 80.0);
            }
        }
    }
    if (s != SSM_OK)
        ssm_train_data_free(d);
    return s;
}
