/* train/checkpoint.c — checkpoint = fixed header + JSON (config, step, RNG state, tensor table, epoch log)
 * + the parameter and AdamW-moment arenas, written atomically.
 *
 * Layout:  "SSMKTRN\0" (8 bytes) | version u32 LE | json_len u32 LE | JSON (json_len bytes) |
 *          params, adam_m, adam_v: n_params float32 LE each.
 * Doubles go through JSON with 17 significant digits, which round-trips them exactly (the resumed run
 * must be bit-identical). */
#define _POSIX_C_SOURCE 200809L
#include "train/train.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "SSMKTRN"
#define VERSION 1u

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
        return SSM_ERROR(SSM_EFORMAT, "checkpoint: the config is incomplete or mistyped");
    c->glu = glu != 0;
    c->prenorm = pre != 0;
    c->seed = strtoull(seed, NULL, 10);
    ssm_status s = ssm_train_task_lookup(&c->task, task);
    if (s == SSM_OK)
        s = ssm_train_config_check(c);
    if (s != SSM_OK)
        return SSM_ERROR(SSM_EFORMAT, "checkpoint: bad config: %s", ssm_error_message());
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

ssm_status ssm_train_checkpoint_write(const ssm_train_state *st, const char *path)
{
    const ssm_train_model *m = st->model;
    char u64[32];
    json_t *j = json_object();
    json_object_set_new(j, "format", json_string("ssmkit-train/1"));
    json_object_set_new(j, "ssmkit_version", json_string(SSM_VERSION));
    json_object_set_new(j, "config", config_json(&st->cfg));
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
    if (!text)
        return SSM_ERROR(SSM_ENOMEM, "checkpoint: cannot format the header");
    unsigned char hdr[16];
    memcpy(hdr, MAGIC, 8);
    put_u32(hdr + 8, VERSION);
    put_u32(hdr + 12, (uint32_t)strlen(text));
    ssm_atomic *a;
    FILE *fp;
    ssm_status s = ssm_atomic_open(&a, &fp, path);
    if (s == SSM_OK) {
        size_t n = m->n_params;
        int ok = fwrite(hdr, 1, 16, fp) == 16 && fwrite(text, 1, strlen(text), fp) == strlen(text) &&
                 fwrite(m->params, sizeof(float), n, fp) == n && fwrite(st->adam_m, sizeof(float), n, fp) == n &&
                 fwrite(st->adam_v, sizeof(float), n, fp) == n;
        if (!ok) {
            ssm_atomic_abort(a);
            s = SSM_ERROR(SSM_EIO, "cannot write the checkpoint '%s'", path);
        } else {
            s = ssm_atomic_commit(a);
        }
    }
    free(text);
    return s;
}

static ssm_status parse_header(ssm_train_state *st, json_t *j, size_t *n_params, json_t **tab)
{
    const char *fmt = json_string_value(json_object_get(j, "format"));
    if (!fmt || strcmp(fmt, "ssmkit-train/1") != 0)
        return SSM_ERROR(SSM_EFORMAT, "not an ssmkit-train/1 checkpoint");
    ssm_status s = config_from_json(&st->cfg, json_object_get(j, "config"));
    if (s != SSM_OK)
        return s;
    char rng[32];
    size_t step, total, cor, cnt;
    json_t *rows = json_object_get(j, "rows");
    *tab = json_object_get(j, "tensors");
    if (!get_size(&step, j, "step") || !get_size(&total, j, "total_steps") || !get_str(rng, sizeof rng, j, "rng") ||
        !get_real(&st->ep_loss, j, "ep_loss") || !get_real(&st->ep_time, j, "ep_time") ||
        !get_size(&cor, j, "ep_correct") || !get_size(&cnt, j, "ep_count") || !get_real(&st->elapsed_s, j, "elapsed_s") ||
        !get_size(n_params, j, "n_params") || !json_is_array(rows) || !json_is_array(*tab) || step > total ||
        json_array_size(rows) > SSM_TRAIN_MAX_EPOCHS)
        return SSM_ERROR(SSM_EFORMAT, "checkpoint: the header is incomplete or inconsistent");
    st->step = step;
    st->total_steps = total;
    st->rng = strtoull(rng, NULL, 10);
    st->ep_correct = cor;
    st->ep_count = cnt;
    st->n_rows = json_array_size(rows);
    for (size_t i = 0; i < st->n_rows; i++) {
        double v[8];
        json_t *r = json_array_get(rows, i);
        if (json_array_size(r) != 8)
            return SSM_ERROR(SSM_EFORMAT, "checkpoint: log row %zu is malformed", i);
        for (int k = 0; k < 8; k++) {
            json_t *x = json_array_get(r, (size_t)k);
            if (!json_is_number(x))
                return SSM_ERROR(SSM_EFORMAT, "checkpoint: log row %zu is malformed", i);
            v[k] = json_number_value(x);
        }
        st->rows[i] = (ssm_train_epoch_row){v[0], v[1], v[2], v[3], v[4] < 0 ? NAN : v[4], v[5] < 0 ? NAN : v[5],
                                            v[6], v[7]};
    }
    return SSM_OK;
}

ssm_status ssm_train_checkpoint_read(ssm_train_state *st, const char *path, int load_data)
{
    memset(st, 0, sizeof *st);
    unsigned char *buf;
    size_t len;
    ssm_status s = ssm_read_file(&buf, &len, path);
    if (s != SSM_OK)
        return s;
    json_t *j = NULL, *tab = NULL;
    size_t n = 0;
    if (len < 16 || memcmp(buf, MAGIC, 8) != 0) {
        s = SSM_ERROR(SSM_EFORMAT, "%s: not an ssmkit checkpoint (bad magic)", path);
    } else if (get_u32(buf + 8) != VERSION) {
        s = SSM_ERROR(SSM_EFORMAT, "%s: checkpoint version %u, this build reads %u", path, get_u32(buf + 8), VERSION);
    } else if (get_u32(buf + 12) > len - 16) {
        s = SSM_ERROR(SSM_EFORMAT, "%s: truncated checkpoint header", path);
    } else {
        size_t hl = get_u32(buf + 12);
        json_error_t err;
        j = json_loadb((const char *)buf + 16, hl, 0, &err);
        if (!j)
            s = SSM_ERROR(SSM_EFORMAT, "%s: bad checkpoint header: %s", path, err.text);
        else if ((s = parse_header(st, j, &n, &tab)) != SSM_OK)
            s = SSM_ERROR(s, "%s: %s", path, ssm_error_message());
        else if (len - 16 - hl != 3 * n * sizeof(float))
            s = SSM_ERROR(SSM_EFORMAT, "%s: the arenas are %zu bytes, expected %zu (truncated?)", path, len - 16 - hl,
                          3 * n * sizeof(float));
        if (s == SSM_OK && load_data)
            s = ssm_train_data_load(&st->data, &st->cfg);
        else if (s == SSM_OK) { /* shapes only: the task decides L, din, outputs */
            ssm_train_config small = st->cfg;
            small.n_train = small.n_val = small.n_test = 1;
            if (small.task == SSM_TASK_SFMNIST)
                small.n_val = 1;
            s = ssm_train_data_load(&st->data, &small);
        }
        if (s == SSM_OK)
            s = ssm_train_model_create(&st->model, &st->cfg, st->data.train.L, st->data.train.din, st->data.n_out,
                                       st->data.regression);
        if (s == SSM_OK) {
            ssm_train_model *m = st->model;
            if (m->n_params != n || json_array_size(tab) != m->n_tensors)
                s = SSM_ERROR(SSM_EFORMAT, "%s: the tensor table does not match the model its config builds", path);
            for (size_t i = 0; s == SSM_OK && i < m->n_tensors; i++) {
                json_t *t = json_array_get(tab, i);
                const char *nm = json_string_value(json_object_get(t, "name"));
                size_t off, cnt;
                if (!nm || strcmp(nm, m->tensors[i].name) != 0 || !get_size(&off, t, "offset") ||
                    !get_size(&cnt, t, "count") || off != m->tensors[i].offset || cnt != m->tensors[i].count)
                    s = SSM_ERROR(SSM_EFORMAT, "%s: tensor %zu of the table does not match the model", path, i);
            }
            st->adam_m = malloc(n * sizeof(float));
            st->adam_v = malloc(n * sizeof(float));
            if (s == SSM_OK && (!st->adam_m || !st->adam_v))
                s = SSM_ERROR(SSM_ENOMEM, "out of memory");
            if (s == SSM_OK) {
                const unsigned char *a = buf + len - 3 * n * sizeof(float);
                memcpy(m->params, a, n * sizeof(float));
                memcpy(st->adam_m, a + n * sizeof(float), n * sizeof(float));
                memcpy(st->adam_v, a + 2 * n * sizeof(float), n * sizeof(float));
                for (size_t i = 0; i < n; i++)
                    if (!isfinite(m->params[i])) {
                        s = SSM_ERROR(SSM_EFORMAT, "%s: parameter %zu is not finite", path, i);
                        break;
                    }
            }
            if (s == SSM_OK)
                s = ssm_train_model_kernels(m, 1); /* the dense basis depends on the stored Δ */
        }
    }
    json_decref(j);
    free(buf);
    if (s != SSM_OK)
        ssm_train_state_free(st);
    return s;
}
