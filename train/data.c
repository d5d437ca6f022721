/* train/data.c — the tasks: sequential Fashion-MNIST from gzip'd IDX files (zlib), and three synthetic
 * tasks generated from the seed (adding problem, ListOps-style expressions, sinusoid amplitudes). */
#define _POSIX_C_SOURCE 200809L
#include "train/train.h"

#include <errno.h>
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
    c->d_state = 64;
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
    REQ(c->d_state >= 2 && c->d_state <= 1024 && c->d_state % 2 == 0, "--d-state must be even and in [2, 1024]");
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

/* Read a gzip'd IDX file: magic 0x801 (labels, 1-D) or 0x803 (images n×28×28) into a malloc'd buffer. */
static ssm_status read_idx(unsigned char **out, size_t *n, const char *dir, const char *name, int images)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return SSM_ERROR(SSM_EIO, "sfmnist: cannot open %s (%s); install the Debian package dataset-fashion-mnist "
                                  "or pass --data DIR", path, errno ? strerror(errno) : "gzopen failed");
    unsigned char hdr[16];
    int hlen = images ? 16 : 8;
    ssm_status s = SSM_OK;
    if (gzread(gz, hdr, (unsigned)hlen) != hlen) {
        s = SSM_ERROR(SSM_EFORMAT, "sfmnist: %s: truncated IDX header", path);
    } else if (be32(hdr) != (images ? 0x803u : 0x801u)) {
        s = SSM_ERROR(SSM_EFORMAT, "sfmnist: %s: not an IDX %s file (magic 0x%x)", path, images ? "image" : "label",
                      be32(hdr));
    } else if (images && (be32(hdr + 8) != 28 || be32(hdr + 12) != 28)) {
        s = SSM_ERROR(SSM_EFORMAT, "sfmnist: %s: images are %ux%u, expected 28x28", path, be32(hdr + 8), be32(hdr + 12));
    } else if (be32(hdr + 4) == 0 || be32(hdr + 4) > 1000000) {
        s = SSM_ERROR(SSM_EFORMAT, "sfmnist: %s: implausible count %u", path, be32(hdr + 4));
    } else {
        *n = be32(hdr + 4);
        size_t bytes = *n * (images ? 784 : 1);
        *out = malloc(bytes);
        if (!*out)
            s = SSM_ERROR(SSM_ENOMEM, "out of memory");
        else if ((size_t)gzread(gz, *out, (unsigned)bytes) != bytes) {
            free(*out);
            *out = NULL;
            s = SSM_ERROR(SSM_EFORMAT, "sfmnist: %s: truncated (expected %zu items)", path, *n);
        }
    }
    gzclose(gz);
    return s;
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

static ssm_status load_sfmnist(ssm_train_data *d, const ssm_train_config *c)
{
    const char *dir = c->data_dir[0] ? c->data_dir : "/usr/share/datasets/fashion-mnist";
    if (c->seq_len && c->seq_len != 784)
        return SSM_ERROR(SSM_EINVAL, "sfmnist: the sequence length is 784 (28x28 pixels); drop --seq-len");
    unsigned char *ti = NULL, *tl = NULL, *ei = NULL, *el = NULL;
    size_t nt = 0, ne = 0;
    ssm_status s = load_pair(&ti, &tl, &nt, dir, "train");
    if (s == SSM_OK)
        s = load_pair(&ei, &el, &ne, dir, "t10k");
    size_t nval = c->n_val ? c->n_val : 5000;
    if (s == SSM_OK && nval >= nt)
        s = SSM_ERROR(SSM_EINVAL, "sfmnist: --n-val %zu leaves no training images (of %zu)", nval, nt);
    size_t ntrain = c->n_train ? c->n_train : nt - nval, ntest = c->n_test ? c->n_test : ne;
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
    d->n_out = 10;
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

ssm_status ssm_train_data_load(ssm_train_data *d, const ssm_train_config *c)
{
    memset(d, 0, sizeof *d);
    ssm_status s = SSM_OK;
    if (c->task == SSM_TASK_SFMNIST) {
        s = load_sfmnist(d, c);
    } else {
        static const size_t DEF_L[SSM_TASK_COUNT] = {784, 200, 256, 256}, DIN[SSM_TASK_COUNT] = {1, 2, LO_TOKENS, 1};
        size_t L = c->seq_len ? c->seq_len : DEF_L[c->task], din = DIN[c->task];
        if (L < 2)
            return SSM_ERROR(SSM_EINVAL, "--seq-len must be at least 2");
        if (c->task == SSM_TASK_LISTOPS && L < 16)
            return SSM_ERROR(SSM_EINVAL, "listops: --seq-len must be at least 16");
        size_t n[3] = {c->n_train ? c->n_train : 10000, c->n_val ? c->n_val : 1000, c->n_test ? c->n_test : 1000};
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
        d->n_out = c->task == SSM_TASK_LISTOPS ? 10 : 1;
        d->regression = c->task != SSM_TASK_LISTOPS;
        d->tol = c->task == SSM_TASK_ADDING ? 0.04 : 0.05;
    }
    if (s != SSM_OK)
        ssm_train_data_free(d);
    return s;
}
