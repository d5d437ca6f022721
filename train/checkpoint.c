/* train/checkpoint.c — checkpoint = fixed header + JSON (config, step, RNG state, tensor table, epoch log,
 * the init's digest) + the parameter and AdamW-moment arenas, checksummed and written atomically.
 *
 * Layout (format 2):
 *   offset 0   "SSMKTRN\0"
 *          8   version, u32 LE (2)
 *         12   json_len, u32 LE
 *         16   checksum, u64 LE: FNV-1a 64 (offset basis 14695981039346656037, prime 1099511628211, as the
 *              init files' data_fnv1a64) over every byte of the file but these 8: bytes 0–15, then 24–end
 *         24   JSON header (json_len bytes)
 *              params, adam_m, adam_v: n_params float32 LE each
 * Doubles go through JSON with 17 significant digits, which round-trips them exactly (the resumed run
 * must be bit-identical).  Format 1 (no checksum) is refused with a message saying so.
 *
 * Reading validates before anything is used, in this order: magic, version, checksum (any flipped bit
 * fails here), the JSON header and config, the progress counters against each other and the config
 * (an edited step fails here even with a recomputed checksum), the arena size against the layout the
 * config implies (before any init is built), the tensor table and the init's digest against the model
 * the config builds, then the arenas: parameters finite, frozen ones (learning rate 0) equal to their
 * initial values with zero moments; moments finite, v ≥ 0, all zero at step 0, and m² ≤ C·v (below). */
#define _POSIX_C_SOURCE 200809L
#include "train/train_impl.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "SSMKTRN"
#define VERSION 2u
#define HDR 24 /* magic, version, json_len, checksum */

static json_t *config_json(const ssm_train_config *c)
{
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    json_t *j = json_object();
    json_object_set_new(j, "task", json_string(ssm_train_task_name(c->task)));
    json_object_set_new(j, "seq_len", json_integer((json_int_t)c->seq_len));
    json_object_set_new(j, "n_train", json_integer((json_int_t)c->n_train));
    json_object_set_new(j, "n_val", json_integer((json_int_t)c->n_val));
    json_object_set_new(j, "n_test", json_integer((json_int_t)c->n_test));
    json_object_set_new(j, "data_dir", json_string(c->data_dir));
    json_object_set_new(j, "init", json_string(c->init));
    json_object_set_new(j, "init_eps", json_real(c->init_eps));
    json_object_set_new(j, "d_model", json_integer((json_int_t)c->d_model));
    json_object_set_new(j, "d_state", json_integer((json_int_t)c->d_state));
    json_object_set_new(j, "n_layers", json_integer((json_int_t)c->n_layers));
    json_object_set_new(j, "glu", json_integer(c->glu));
    json_object_set_new(j, "prenorm", json_integer(c->prenorm));
    json_object_set_new(j, "s4_dense", json_integer(c->s4_dense));
    json_object_set_new(j, "dropout", json_real(c->dropout));
    json_object_set_new(j, "dt_min", json_real(c->dt_min));
    json_object_set_new(j, "dt_max", json_real(c->dt_max));
    json_object_set_new(j, "lr", json_real(c->lr));
    json_object_set_new(j, "lr_ssm", json_real(c->lr_ssm));
    json_object_set_new(j, "wd", json_real(c->wd));
    json_object_set_new(j, "clip", json_real(c->clip));
    json_object_set_new(j, "epochs", json_integer((json_int_t)c->epochs));
    json_object_set_new(j, "max_steps", json_integer((json_int_t)c->max_steps));
    json_object_set_new(j, "batch", json_integer((json_int_t)c->batch));
    json_object_set_new(j, "warmup", json_integer((json_int_t)c->warmup));
    json_object_set_new(j, "threads", json_integer((json_int_t)c->threads));
    json_object_set_new(j, "ckpt_every", json_integer((json_int_t)c->ckpt_every));
    json_object_set_new(j, "seed", json_string(seed));
    return j;
}

static int get_size(size_t *out, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return 0;
    *out = (size_t)json_integer_value(v);
    return 1;
}

static int get_real(double *out, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return 1;
}

static int get_str(char *out, size_t cap, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v) || strlen(json_string_value(v)) >= cap)
        return 0;
    snprintf(out, cap, "%s", json_string_value(v));
    return 1;
}

static ssm_status config_from_json(ssm_train_config *c, json_t *j)
{
    char task[32], seed[32];
    size_t glu, pre;
    memset(c, 0, sizeof *c);
    int ok = json_is_object(j) && get_str(task, sizeof task, j, "task") && get_size(&c->seq_len, j, "seq_len") &&
             get_size(&c->n_train, j, "n_train") && get_size(&c->n_val, j, "n_val") &&
             get_size(&c->n_test, j, "n_test") && get_str(c->data_dir, sizeof c->data_dir, j, "data_dir") &&
             get_str(c->init, sizeof c->init, j, "init") && get_real(&c->init_eps, j, "init_eps") &&
             get_size(&c->d_model, j, "d_model") && get_size(&c->d_state, j, "d_state") &&
             get_size(&c->n_layers, j, "n_layers") && get_size(&glu, j, "glu") && get_size(&pre, j, "prenorm") &&
             get_real(&c->dropout, j, "dropout") && get_real(&c->dt_min, j, "dt_min") &&
             get_real(&c->dt_max, j, "dt_max") && get_real(&c->lr, j, "lr") && get_real(&c->lr_ssm, j, "lr_ssm") &&
             get_real(&c->wd, j, "wd") && get_real(&c->clip, j, "clip") && get_size(&c->epochs, j, "epochs") &&
             get_size(&c->max_steps, j, "max_steps") && get_size(&c->batch, j, "batch") &&
             get_size(&c->warmup, j, "warmup") && get_size(&c->threads, j, "threads") &&
             get_size(&c->ckpt_every, j, "ckpt_every") && get_str(seed, sizeof seed, j, "seed");
    if (!ok)
        return SSM_ERROR(SSM_EFORMAT, "the stored config is incomplete or mistyped");
    c->glu = glu != 0;
    c->prenorm = pre != 0;
    /* "s4_dense" is absent from checkpoints written before the DPLR kernel, when s4-dplr was always dense */
    size_t s4d = 1;
    if (json_object_get(j, "s4_dense") && !get_size(&s4d, j, "s4_dense"))
        return SSM_ERROR(SSM_EFORMAT, "the stored config is incomplete or mistyped");
    c->s4_dense = s4d != 0;
    c->seed = strtoull(seed, NULL, 10);
    ssm_status s = ssm_train_task_lookup(&c->task, task);
    if (s == SSM_OK)
        s = ssm_train_config_check(c);
    if (s != SSM_OK) {
        char why[400]; /* the message buffer is also SSM_ERROR's destination */
        snprintf(why, sizeof why, "%s", ssm_error_message());
        return SSM_ERROR(SSM_EFORMAT, "bad config: %s", why);
    }
    return SSM_OK;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static uint64_t fnv1a64(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#define FNV_BASIS 14695981039346656037ULL

uint64_t ssm_train_checkpoint_checksum(const unsigned char *buf, size_t len)
{
    if (len < HDR)
        return 0;
    return fnv1a64(fnv1a64(FNV_BASIS, buf, 16), buf + HDR, len - HDR);
}

/* ---- writing ------------------------------------------------------------------------------------ */

static char *header_text(const ssm_train_state *st)
{
    const ssm_train_model *m = st->model;
    char u64[32], dig[32];
    json_t *j = json_object();
    json_object_set_new(j, "format", json_string("ssmkit-train/2"));
    json_object_set_new(j, "ssmkit_version", json_string(SSM_VERSION));
    json_object_set_new(j, "config", config_json(&st->cfg));
    snprintf(dig, sizeof dig, "%016llx", (unsigned long long)m->init_digest);
    json_object_set_new(j, "init_fnv1a64", json_string(dig));
    json_object_set_new(j, "step", json_integer((json_int_t)st->step));
    json_object_set_new(j, "total_steps", json_integer((json_int_t)st->total_steps));
    snprintf(u64, sizeof u64, "%llu", (unsigned long long)st->rng);
    json_object_set_new(j, "rng", json_string(u64));
    json_object_set_new(j, "ep_loss", json_real(st->ep_loss));
    json_object_set_new(j, "ep_time", json_real(st->ep_time));
    json_object_set_new(j, "ep_correct", json_integer((json_int_t)st->ep_correct));
    json_object_set_new(j, "ep_count", json_integer((json_int_t)st->ep_count));
    json_object_set_new(j, "elapsed_s", json_real(st->elapsed_s));
    json_object_set_new(j, "n_params", json_integer((json_int_t)m->n_params));
    json_t *tab = json_array(), *rows = json_array();
    for (size_t i = 0; i < m->n_tensors; i++)
        json_array_append_new(tab, json_pack("{s:s, s:I, s:I, s:i}", "name", m->tensors[i].name, "offset",
                                             (json_int_t)m->tensors[i].offset, "count", (json_int_t)m->tensors[i].count,
                                             "group", m->tensors[i].group));
    for (size_t i = 0; i < st->n_rows; i++) {
        const ssm_train_epoch_row *r = &st->rows[i];
        json_array_append_new(rows, json_pack("[f,f,f,f,f,f,f,f]", r->epoch, r->step, r->train_loss, r->train_acc,
                                              isfinite(r->val_loss) ? r->val_loss : -1.0,
                                              isfinite(r->val_acc) ? r->val_acc : -1.0, r->time_s, r->samples_per_s));
    }
    json_object_set_new(j, "tensors", tab);
    json_object_set_new(j, "rows", rows);
    char *text = json_dumps(j, JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(j);
    return text;
}

ssm_status ssm_train_checkpoint_write(const ssm_train_state *st, const char *path)
{
    const ssm_train_model *m = st->model;
    char *text = header_text(st);
    if (!text)
        return SSM_ERROR(SSM_ENOMEM, "checkpoint: cannot format the header");
    const size_t tl = strlen(text), n = m->n_params;
    unsigned char hdr[HDR];
    memcpy(hdr, MAGIC, 8);
    put_u32(hdr + 8, VERSION);
    put_u32(hdr + 12, (uint32_t)tl);
    uint64_t h = fnv1a64(FNV_BASIS, hdr, 16);
    h = fnv1a64(h, text, tl);
    h = fnv1a64(h, m->params, n * sizeof(float));
    h = fnv1a64(h, st->adam_m, n * sizeof(float));
    h = fnv1a64(h, st->adam_v, n * sizeof(float));
    put_u32(hdr + 16, (uint32_t)h);
    put_u32(hdr + 20, (uint32_t)(h >> 32));
    ssm_atomic *a;
    FILE *fp;
    ssm_status s = ssm_atomic_open(&a, &fp, path);
    if (s == SSM_OK) {
        int ok = fwrite(hdr, 1, HDR, fp) == HDR && fwrite(text, 1, tl, fp) == tl &&
                 fwrite(m->params, sizeof(float), n, fp) == n && fwrite(st->adam_m, sizeof(float), n, fp) == n &&
                 fwrite(st->adam_v, sizeof(float), n, fp) == n;
        s = ok ? ssm_atomic_commit(a) : ssm_atomic_fail(a, "the checkpoint ");
    }
    free(text);
    return s;
}

/* ---- reading: the header -------------------------------------------------------------------------- */

static ssm_status parse_rows(ssm_train_state *st, json_t *rows, const char *name)
{
    st->n_rows = json_array_size(rows);
    for (size_t i = 0; i < st->n_rows; i++) {
        double v[8];
        json_t *r = json_array_get(rows, i);
        if (json_array_size(r) != 8)
            return SSM_ERROR(SSM_EFORMAT, "%s: log row %zu is malformed", name, i);
        for (int k = 0; k < 8; k++) {
            json_t *x = json_array_get(r, (size_t)k);
            if (!json_is_number(x))
                return SSM_ERROR(SSM_EFORMAT, "%s: log row %zu is malformed", name, i);
            v[k] = json_number_value(x);
        }
        st->rows[i] = (ssm_train_epoch_row){v[0], v[1], v[2], v[3], v[4] < 0 ? NAN : v[4], v[5] < 0 ? NAN : v[5],
                                            v[6], v[7]};
    }
    return SSM_OK;
}

static ssm_status parse_header(ssm_train_state *st, uint64_t *digest, size_t *n_params, json_t **tab, json_t *j,
                               const char *name)
{
    const char *fmt = json_string_value(json_object_get(j, "format"));
    if (!fmt || strcmp(fmt, "ssmkit-train/2") != 0)
        return SSM_ERROR(SSM_EFORMAT, "%s: not an ssmkit-train/2 checkpoint header", name);
    ssm_status s = config_from_json(&st->cfg, json_object_get(j, "config"));
    if (s != SSM_OK) {
        char why[400]; /* the message buffer is also SSM_ERROR's destination */
        snprintf(why, sizeof why, "%s", ssm_error_message());
        return SSM_ERROR(s, "%s: %s", name, why);
    }
    char rng[32], dig[32], *end;
    size_t step, total, cor, cnt;
    json_t *rows = json_object_get(j, "rows");
    *tab = json_object_get(j, "tensors");
    if (!get_size(&step, j, "step") || !get_size(&total, j, "total_steps") || !get_str(rng, sizeof rng, j, "rng") ||
        !get_real(&st->ep_loss, j, "ep_loss") || !get_real(&st->ep_time, j, "ep_time") ||
        !get_size(&cor, j, "ep_correct") || !get_size(&cnt, j, "ep_count") || !get_real(&st->elapsed_s, j, "elapsed_s") ||
        !get_size(n_params, j, "n_params") || !get_str(dig, sizeof dig, j, "init_fnv1a64") || !json_is_array(rows) ||
        !json_is_array(*tab) || json_array_size(rows) > SSM_TRAIN_MAX_EPOCHS)
        return SSM_ERROR(SSM_EFORMAT, "%s: the checkpoint header is incomplete or mistyped", name);
    *digest = strtoull(dig, &end, 16);
    if (strlen(dig) != 16 || *end)
        return SSM_ERROR(SSM_EFORMAT, "%s: init_fnv1a64 '%s' is not 16 hex digits", name, dig);
    st->step = step;
    st->total_steps = total;
    st->rng = strtoull(rng, &end, 10);
    if (!*rng || *end)
        return SSM_ERROR(SSM_EFORMAT, "%s: rng '%s' is not a number", name, rng);
    st->ep_correct = cor;
    st->ep_count = cnt;
    return parse_rows(st, rows, name);
}

/* The epoch-log row the engine writes at the end of an epoch at step s (s ≥ 1) of spe steps per epoch. */
static double row_epoch(uint64_t s, uint64_t spe)
{
    return (double)((s - 1) / spe) + (double)((s - 1) % spe + 1) / (double)spe;
}

/* The epoch log: one row at every epoch end up to the step (at multiples of spe) and one where the run
 * stopped inside an epoch (the planned end; a run extended from there keeps that row, and the next
 * one covers the rest of the epoch), rows in order, each with the epoch the engine computes. */
static ssm_status check_rows(const ssm_train_state *st, uint64_t spe, uint64_t total, const char *name)
{
    uint64_t prev = 0, full = 0;
    for (size_t k = 0; k < st->n_rows; k++) {
        const ssm_train_epoch_row *r = &st->rows[k];
        if (!(r->step >= 1 && r->step <= (double)st->step && r->step == floor(r->step)) ||
            (uint64_t)r->step <= prev)
            return SSM_ERROR(SSM_EFORMAT, "%s: epoch-log row %zu is at step %g, not after %llu and up to step %llu "
                                          "(edited step?)", name, k, r->step, (unsigned long long)prev,
                             (unsigned long long)st->step);
        uint64_t at = (uint64_t)r->step;
        full += at % spe == 0;
        int ok = r->epoch == row_epoch(at, spe) && r->train_loss >= 0 && isfinite(r->train_loss) &&
                 r->train_acc >= 0 && r->train_acc <= 1 &&
                 (isnan(r->val_loss) || (isfinite(r->val_loss) && r->val_acc >= 0 && r->val_acc <= 1)) &&
                 r->time_s >= 0 && isfinite(r->time_s) && r->samples_per_s >= 0 && isfinite(r->samples_per_s);
        if (!ok)
            return SSM_ERROR(SSM_EFORMAT, "%s: epoch-log row %zu (step %llu) is out of range", name, k,
                             (unsigned long long)at);
        prev = at;
    }
    if (full != st->step / spe || (st->step == total && st->step % spe != 0 && prev != st->step))
        return SSM_ERROR(SSM_EFORMAT, "%s: step %llu has %llu epoch ends, the log has %llu (edited step?)", name,
                         (unsigned long long)st->step, (unsigned long long)(st->step / spe), (unsigned long long)full);
    return SSM_OK;
}

/* The counters of a run follow from its config and from each other: the planned total, the epoch log,
 * the running sums of the current epoch (batch samples per step since the last row) and the RNG base
 * (derived from the seed). */
static ssm_status check_progress(const ssm_train_state *st, const char *name)
{
    const ssm_train_config *c = &st->cfg;
#define BAD(...) return SSM_ERROR(SSM_EFORMAT, __VA_ARGS__)
    if (c->n_train < c->batch)
        BAD("%s: %zu training samples are fewer than one batch (%zu)", name, c->n_train, c->batch);
    const uint64_t spe = c->n_train / c->batch;
    uint64_t total = spe * c->epochs;
    if (c->max_steps && c->max_steps < total)
        total = c->max_steps;
    if (st->total_steps != total)
        BAD("%s: total_steps %llu does not follow from the stored options (%llu)", name,
            (unsigned long long)st->total_steps, (unsigned long long)total);
    if (st->step > total)
        BAD("%s: step %llu is beyond the run's %llu steps", name, (unsigned long long)st->step,
            (unsigned long long)total);
    ssm_status s = check_rows(st, spe, total, name);
    if (s != SSM_OK)
        return s;
    uint64_t since = st->step - (st->n_rows ? (uint64_t)st->rows[st->n_rows - 1].step : 0);
    if (st->ep_count != since * c->batch)
        BAD("%s: the running sums cover %llu samples, but %llu steps since the last epoch end make %llu "
            "(edited step?)", name, (unsigned long long)st->ep_count, (unsigned long long)since,
            (unsigned long long)(since * c->batch));
    if (st->ep_correct > st->ep_count || !(st->ep_loss >= 0) || !isfinite(st->ep_loss) || !(st->ep_time >= 0) ||
        !isfinite(st->ep_time) || !(st->elapsed_s >= 0) || !isfinite(st->elapsed_s))
        BAD("%s: the running sums of the epoch are out of range", name);
    if (st->rng != ssm_train_stream(c->seed, 0x7a1d, 0, 0))
        BAD("%s: the RNG base does not follow from the seed", name);
#undef BAD
    return SSM_OK;
}

/* Magic, version, checksum and the JSON text of a checkpoint image; *hl = the JSON's length. */
static ssm_status open_image(json_t **j, size_t *hl, const unsigned char *buf, size_t len, const char *name)
{
    *j = NULL;
    if (len < 12 || memcmp(buf, MAGIC, 8) != 0)
        return SSM_ERROR(SSM_EFORMAT, "%s: not an ssmkit checkpoint (bad magic)", name);
    uint32_t v = get_u32(buf + 8);
    if (v == 1)
        return SSM_ERROR(SSM_EFORMAT, "%s: checkpoint format 1 (before ssmkit checksummed its checkpoints); this "
                                      "build reads format %u only: train the run again", name, VERSION);
    if (v != VERSION)
        return SSM_ERROR(SSM_EFORMAT, "%s: checkpoint format %u, this build reads %u", name, v, VERSION);
    if (len < HDR)
        return SSM_ERROR(SSM_EFORMAT, "%s: truncated checkpoint (%zu bytes)", name, len);
    uint64_t stored = get_u64(buf + 16), sum = ssm_train_checkpoint_checksum(buf, len);
    if (stored != sum)
        return SSM_ERROR(SSM_EFORMAT, "%s: checksum mismatch (stored %016llx, computed %016llx): the file is "
                                      "truncated, corrupt or edited", name, (unsigned long long)stored,
                         (unsigned long long)sum);
    *hl = get_u32(buf + 12);
    if (*hl > len - HDR)
        return SSM_ERROR(SSM_EFORMAT, "%s: truncated checkpoint header", name);
    json_error_t err;
    *j = json_loadb((const char *)buf + HDR, *hl, JSON_REJECT_DUPLICATES, &err);
    if (!*j)
        return SSM_ERROR(SSM_EFORMAT, "%s: bad checkpoint header: %s", name, err.text);
    return SSM_OK;
}

/* Image → header fields of st and the counters checked; *n, *tab, *digest, *hl for the rest. */
static ssm_status read_header(ssm_train_state *st, json_t **j, json_t **tab, size_t *n, uint64_t *digest, size_t *hl,
                              const unsigned char *buf, size_t len, const char *name)
{
    ssm_status s = open_image(j, hl, buf, len, name);
    if (s == SSM_OK)
        s = parse_header(st, digest, n, tab, *j, name);
    if (s == SSM_OK)
        s = check_progress(st, name);
    if (s == SSM_OK && (len - HDR - *hl) != 3 * *n * sizeof(float))
        s = SSM_ERROR(SSM_EFORMAT, "%s: the arenas are %zu bytes, expected 3 x %zu parameters (truncated?)", name,
                      len - HDR - *hl, *n);
    return s;
}

ssm_status ssm_train_checkpoint_peek(ssm_train_config *cfg, uint64_t *step, uint64_t *total_steps, const char *path)
{
    unsigned char *buf;
    size_t len, n, hl;
    ssm_status s = ssm_read_file(&buf, &len, path);
    if (s != SSM_OK)
        return s;
    ssm_train_state *st = calloc(1, sizeof *st);
    json_t *j = NULL, *tab;
    uint64_t digest;
    s = st ? read_header(st, &j, &tab, &n, &digest, &hl, buf, len, path) : SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (s == SSM_OK) {
        *cfg = st->cfg;
        *step = st->step;
        *total_steps = st->total_steps;
    }
    json_decref(j);
    free(st);
    free(buf);
    return s;
}

/* ---- reading: the model and the arenas ------------------------------------------------------------ */

/* The parameter count of the layout ssm_train_model_create builds (train/model.c), diagonal (kind 0),
 * dense (1), S5 (2: Λ [M,2], B̃ [M,H,2], C̃ [H,M,2], log Δ [M]) or DPLR (3: Λ, P̃, B̃, C̃ [H,M,2]): checked
 * before the model is built, so that a small file never has a large model built for it. */
static size_t layout_count(const ssm_train_config *c, size_t din, size_t nout, int kind)
{
    const size_t H = c->d_model, N = c->d_state, M = N / 2, Hout = c->glu ? 2 * H : H;
    size_t ssm = kind == 1 ? H * N + H : kind == 2 ? 2 * M + 4 * M * H + M : (kind == 3 ? 4 : 3) * H * M * 2 + H;
    return din * H + H + c->n_layers * (ssm + H + H * Hout + Hout + 2 * H) + H * nout + nout;
}

static ssm_status build_model(ssm_train_state *st, size_t n, int load_data, const char *name)
{
    size_t L, din, nout;
    int regression;
    ssm_status s = ssm_train_task_shape(&L, &din, &nout, &regression, &st->cfg);
    if (s == SSM_OK && n != layout_count(&st->cfg, din, nout, 0) && n != layout_count(&st->cfg, din, nout, 1) &&
        n != layout_count(&st->cfg, din, nout, 2) && n != layout_count(&st->cfg, din, nout, 3))
        s = SSM_ERROR(SSM_EFORMAT, "%s: %zu parameters do not fit the model the stored options describe", name, n);
    if (s == SSM_OK && load_data)
        s = ssm_train_data_load(&st->data, &st->cfg);
    else if (s == SSM_OK) { /* shapes only */
        st->data.train.L = L;
        st->data.train.din = din;
        st->data.n_out = nout;
        st->data.regression = regression;
        st->data.tol = st->cfg.task == SSM_TASK_ADDING ? 0.04 : 0.05;
    }
    if (s == SSM_OK)
        s = ssm_train_model_create(&st->model, &st->cfg, L, din, nout, regression);
    if (s != SSM_OK && !strstr(ssm_error_message(), name)) {
        char why[400]; /* the message buffer is also SSM_ERROR's destination */
        snprintf(why, sizeof why, "%s", ssm_error_message());
        s = SSM_ERROR(s, "%s: %s", name, why);
    }
    return s;
}

static ssm_status check_table(const ssm_train_model *m, const char *init, json_t *tab, size_t n, uint64_t digest,
                              const char *name)
{
    if (m->init_digest != digest)
        return SSM_ERROR(SSM_EFORMAT, "%s: the init '%s' is not the one the run started from (its digest is %016llx, "
                                      "the run's %016llx)", name, init, (unsigned long long)m->init_digest,
                         (unsigned long long)digest);
    if (m->n_params != n || json_array_size(tab) != m->n_tensors)
        return SSM_ERROR(SSM_EFORMAT, "%s: the tensor table does not match the model its config builds", name);
    for (size_t i = 0; i < m->n_tensors; i++) {
        json_t *t = json_array_get(tab, i);
        const char *nm = json_string_value(json_object_get(t, "name"));
        size_t off, cnt;
        if (!nm || strcmp(nm, m->tensors[i].name) != 0 || !get_size(&off, t, "offset") ||
            !get_size(&cnt, t, "count") || off != m->tensors[i].offset || cnt != m->tensors[i].count)
            return SSM_ERROR(SSM_EFORMAT, "%s: tensor %zu of the table does not match the model", name, i);
    }
    return SSM_OK;
}

/* AdamW's moments (train/optim.c, β₁ = 0.9, β₂ = 0.999) are m = (1−β₁) Σ β₁^(t−k) g_k and
 * v = (1−β₂) Σ β₂^(t−k) g_k², so by Cauchy–Schwarz m² ≤ C·v with C = (1−β₁)²/((1−β₂)(1 − β₁²/β₂)) ≈ 52.86,
 * whatever the gradients.  Stored in float: the relative rounding of m is below 10u and that of v below
 * t·u (u = 2⁻²⁴, t steps), hence the factor 1 + (t + 20)·2⁻²²; below 1e-40 (|g| ≲ 1e-20, v in the float
 * subnormals) v loses its digits, hence the absolute term. */
static int moments_possible(double m, double v, uint64_t step)
{
    const double b1 = 0.9, b2 = 0.999, C = (1 - b1) * (1 - b1) / ((1 - b2) * (1 - b1 * b1 / b2));
    return m * m <= C * v * (1.0 + ((double)step + 20.0) * 0x1p-22) + 1e-40;
}

static ssm_status check_arenas(const ssm_train_state *st, const float *init, const char *name)
{
    const ssm_train_model *m = st->model;
    const ssm_train_config *c = &st->cfg;
    const double lr[SSM_TRAIN_NGROUPS] = {c->lr, c->lr, c->lr_ssm};
    for (size_t k = 0; k < m->n_tensors; k++) {
        const ssm_train_tensor *t = &m->tensors[k];
        const int frozen = lr[t->group] == 0.0;
        for (size_t i = t->offset; i < t->offset + t->count; i++) {
            const float p = m->params[i], mi = st->adam_m[i], vi = st->adam_v[i];
            if (!isfinite(p))
                return SSM_ERROR(SSM_EFORMAT, "%s: parameter %s[%zu] is not finite", name, t->name, i - t->offset);
            if (!isfinite(mi) || !isfinite(vi) || !(vi >= 0))
                return SSM_ERROR(SSM_EFORMAT, "%s: the AdamW moments of %s[%zu] are not finite, or v < 0", name,
                                 t->name, i - t->offset);
            if ((st->step == 0 || frozen) && (mi != 0 || vi != 0))
                return SSM_ERROR(SSM_EFORMAT, "%s: %s[%zu] has AdamW moments but %s", name, t->name, i - t->offset,
                                 frozen ? "its learning rate is 0 (frozen)" : "no step was taken");
            if (frozen && memcmp(&p, &init[i], sizeof p) != 0)
                return SSM_ERROR(SSM_EFORMAT, "%s: %s[%zu] is frozen (learning rate 0) but differs from its initial "
                                              "value", name, t->name, i - t->offset);
            if (!moments_possible(mi, vi, st->step))
                return SSM_ERROR(SSM_EFORMAT, "%s: the AdamW moments of %s[%zu] are impossible (m = %g, v = %g: "
                                              "m^2 > 52.9 v)", name, t->name, i - t->offset, (double)mi, (double)vi);
        }
    }
    return SSM_OK;
}

/* Copy the arenas in (the model's freshly initialised parameters kept for the frozen-value check). */
static ssm_status load_arenas(ssm_train_state *st, const unsigned char *a, const char *name)
{
    ssm_train_model *m = st->model;
    const size_t n = m->n_params, bytes = n * sizeof(float);
    float *init = malloc(bytes ? bytes : 1);
    st->adam_m = malloc(bytes ? bytes : 1);
    st->adam_v = malloc(bytes ? bytes : 1);
    if (!init || !st->adam_m || !st->adam_v) {
        free(init);
        return SSM_ERROR(SSM_ENOMEM, "out of memory for the optimiser state (%zu parameters)", n);
    }
    memcpy(init, m->params, bytes);
    memcpy(m->params, a, bytes);
    memcpy(st->adam_m, a + bytes, bytes);
    memcpy(st->adam_v, a + 2 * bytes, bytes);
    ssm_status s = check_arenas(st, init, name);
    free(init);
    return s;
}

ssm_status ssm_train_checkpoint_read_mem(ssm_train_state *st, const unsigned char *buf, size_t len, const char *name,
                                         int load_data)
{
    memset(st, 0, sizeof *st);
    json_t *j = NULL, *tab = NULL;
    size_t n = 0, hl = 0;
    uint64_t digest = 0;
    ssm_status s = read_header(st, &j, &tab, &n, &digest, &hl, buf, len, name);
    if (s == SSM_OK)
        s = build_model(st, n, load_data, name);
    if (s == SSM_OK)
        s = check_table(st->model, st->cfg.init, tab, n, digest, name);
    if (s == SSM_OK)
        s = load_arenas(st, buf + HDR + hl, name);
    if (s == SSM_OK)
        s = ssm_train_model_kernels(st->model, 1); /* the dense basis depends on the stored Δ */
    json_decref(j);
    if (s != SSM_OK)
        ssm_train_state_clear(st);
    return s;
}

ssm_status ssm_train_checkpoint_read(ssm_train_state *st, const char *path, int load_data)
{
    memset(st, 0, sizeof *st);
    unsigned char *buf;
    size_t len;
    ssm_status s = ssm_read_file(&buf, &len, path);
    if (s != SSM_OK)
        return s;
    s = ssm_train_checkpoint_read_mem(st, buf, len, path, load_data);
    free(buf);
    return s;
}

ssm_status ssm_train_state_open(ssm_train_state **st, const char *path, int load_data, ssm_train_reader read)
{
    *st = malloc(sizeof **st);
    if (!*st)
        return SSM_ERROR(SSM_ENOMEM, "out of memory for a training state");
    ssm_status s = read(*st, path, load_data);
    if (s != SSM_OK) { /* the reader freed what it built */
        free(*st);
        *st = NULL;
    }
    return s;
}

ssm_status ssm_train_checkpoint_open(ssm_train_state **st, const char *path, int load_data)
{
    return ssm_train_state_open(st, path, load_data, ssm_train_checkpoint_read);
}

void ssm_train_state_free(ssm_train_state *st)
{
    if (!st)
        return;
    ssm_train_state_clear(st);
    free(st);
}

/* ---- shared with the model export (train/export.c) ----------------------------------------------- */

json_t *ssm_train_config_json(const ssm_train_config *c) { return config_json(c); }

ssm_status ssm_train_config_from_json(ssm_train_config *c, json_t *j) { return config_from_json(c, j); }

ssm_status ssm_train_build_model(ssm_train_state *st, size_t n, int load_data, const char *name)
{
    return build_model(st, n, load_data, name);
}
