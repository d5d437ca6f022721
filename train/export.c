/* train/export.c — a trained model as a safetensors file with PyTorch's names and layouts, and back.
 *
 * The file (format "ssmkit-model/1"): every parameter as F64 (float32 values, so exact both ways) under
 * the name and shape a PyTorch module of the same model uses:
 *   encoder.weight [H, din]          (nn.Linear: [out, in]; the arena holds [din, H], transposed here)
 *   encoder.bias [H]
 *   layers.l.kernel.Lambda [H, M, 2], layers.l.kernel.B [H, M, 2], layers.l.kernel.C [H, M, 2]
 *                                    (complex as a trailing (re, im): torch.view_as_complex)
 *   layers.l.kernel.P [H, M, 2]      (the DPLR path: the rank-one correction, A = Λ − PP*)
 *   layers.l.kernel.C [H, N]         (the dense DPLR-equivalent path: real C)
 *   S5 layers: layers.l.kernel.Lambda [M, 2], .B [M, H, 2], .C [H, M, 2], .log_step [M] (S5's shapes)
 *   layers.l.kernel.log_dt [H], layers.l.D [H]
 *   layers.l.output_linear.weight [Hout, H], layers.l.output_linear.bias [Hout]
 *   layers.l.norm.weight [H], layers.l.norm.bias [H]
 *   decoder.weight [nout, H], decoder.bias [nout]
 * A tensor without a mapping keeps its arena name and is stored flat.  Metadata: format, ssmkit_version,
 * the run's config (the checkpoint's JSON object), init_fnv1a64, step.  Reading rebuilds the model from
 * the stored config (the init is rebuilt or read again and must have the stored digest) and takes every
 * parameter from the file: the names, shapes and the tensor count must be exactly the model's, and every
 * value finite and a float32. */
#define _POSIX_C_SOURCE 200809L
#include "train/train_impl.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT "ssmkit-model/1"

/* Export name, shape and whether the arena holds the transpose, for arena tensor t of model m. */
typedef struct {
    char name[64];
    int ndim, transpose;
    size_t shape[3];
} export_spec;

static void spec_of(export_spec *e, const ssm_train_model *m, const ssm_train_tensor *t)
{
    const size_t H = m->H, M = m->M;
    size_t l = 0;
    int at = 0;
    const char *rest = t->name;
    if (sscanf(t->name, "layers.%zu.%n", &l, &at) == 1 && at > 0)
        rest = t->name + at;
    char pre[24] = "";
    if (rest != t->name)
        snprintf(pre, sizeof pre, "layers.%zu.", l);
    struct {
        const char *arena, *out;
        int ndim, transpose;
        size_t s0, s1, s2;
    } map[] = {
        {"encoder.weight", "encoder.weight", 2, 1, H, m->din, 0},
        {"encoder.bias", "encoder.bias", 1, 0, H, 0, 0},
        {"decoder.weight", "decoder.weight", 2, 1, m->nout, H, 0},
        {"decoder.bias", "decoder.bias", 1, 0, m->nout, 0, 0},
        {"ssm.Lambda", "kernel.Lambda", m->s5 ? 2 : 3, 0, m->s5 ? M : H, m->s5 ? 2 : M, 2},
        {"ssm.B", "kernel.B", 3, 0, m->s5 ? M : H, m->s5 ? H : M, 2},
        {"ssm.P", "kernel.P", 3, 0, H, M, 2},
        {"ssm.log_step", "kernel.log_step", 1, 0, M, 0, 0},
        {"ssm.C", "kernel.C", m->dense ? 2 : 3, 0, H, m->dense ? m->N : M, 2},
        {"ssm.log_dt", "kernel.log_dt", 1, 0, H, 0, 0},
        {"ssm.D", "D", 1, 0, H, 0, 0},
        {"out.weight", "output_linear.weight", 2, 1, m->Hout, H, 0},
        {"out.bias", "output_linear.bias", 1, 0, m->Hout, 0, 0},
        {"norm.weight", "norm.weight", 1, 0, H, 0, 0},
        {"norm.bias", "norm.bias", 1, 0, H, 0, 0},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const int layer = strncmp(map[i].arena, "ssm.", 4) == 0 || strncmp(map[i].arena, "out.", 4) == 0 ||
                          strncmp(map[i].arena, "norm.", 5) == 0;
        if (layer != (rest != t->name) || strcmp(rest, map[i].arena) != 0)
            continue;
        const size_t s[3] = {map[i].s0, map[i].s1, map[i].s2};
        size_t count = 1;
        for (int d = 0; d < map[i].ndim; d++)
            count *= s[d];
        if (count != t->count)
            break; /* a layout this table does not know: stored flat below */
        snprintf(e->name, sizeof e->name, "%s%s", pre, map[i].out);
        e->ndim = map[i].ndim;
        e->transpose = map[i].transpose;
        memcpy(e->shape, s, sizeof s);
        return;
    }
    snprintf(e->name, sizeof e->name, "%s", t->name);
    e->ndim = 1;
    e->transpose = 0;
    e->shape[0] = t->count;
}

/* The arena's [rows, cols] block p as doubles, transposed when the export stores [cols, rows]. */
static void to_export(double *out, const float *p, const export_spec *e)
{
    size_t n = 1;
    for (int d = 0; d < e->ndim; d++)
        n *= e->shape[d];
    if (!e->transpose) {
        for (size_t i = 0; i < n; i++)
            out[i] = p[i];
        return;
    }
    const size_t R = e->shape[1], C = e->shape[0]; /* the arena holds [R, C] */
    for (size_t r = 0; r < R; r++)
        for (size_t c = 0; c < C; c++)
            out[c * R + r] = p[r * C + c];
}

static void from_export(float *p, const double *in, const export_spec *e)
{
    size_t n = 1;
    for (int d = 0; d < e->ndim; d++)
        n *= e->shape[d];
    if (!e->transpose) {
        for (size_t i = 0; i < n; i++)
            p[i] = (float)in[i];
        return;
    }
    const size_t R = e->shape[1], C = e->shape[0];
    for (size_t r = 0; r < R; r++)
        for (size_t c = 0; c < C; c++)
            p[r * C + c] = (float)in[c * R + r];
}

static ssm_status set_meta(ssm_st *f, const ssm_train_state *st)
{
    json_t *cfg = ssm_train_config_json(&st->cfg);
    char *text = cfg ? json_dumps(cfg, JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
    json_decref(cfg);
    if (!text)
        return SSM_ERROR(SSM_ENOMEM, "export: cannot format the config");
    char dig[32], step[32];
    snprintf(dig, sizeof dig, "%016llx", (unsigned long long)st->model->init_digest);
    snprintf(step, sizeof step, "%llu", (unsigned long long)st->step);
    ssm_status s = ssm_st_set_meta(f, "format", FORMAT);
    if (s == SSM_OK)
        s = ssm_st_set_meta(f, "ssmkit_version", SSM_VERSION);
    if (s == SSM_OK)
        s = ssm_st_set_meta(f, "config", text);
    if (s == SSM_OK)
        s = ssm_st_set_meta(f, "init_fnv1a64", dig);
    if (s == SSM_OK)
        s = ssm_st_set_meta(f, "step", step);
    free(text);
    return s;
}

ssm_status ssm_train_export(const ssm_train_state *st, const char *path)
{
    const ssm_train_model *m = st->model;
    ssm_st *f = NULL;
    double *buf = malloc((m->n_params ? m->n_params : 1) * sizeof *buf);
    ssm_status s = buf ? ssm_st_create(&f) : SSM_ERROR(SSM_ENOMEM, "export: out of memory");
    for (size_t i = 0; s == SSM_OK && i < m->n_tensors; i++) {
        const ssm_train_tensor *t = &m->tensors[i];
        export_spec e;
        spec_of(&e, m, t);
        to_export(buf, m->params + t->offset, &e);
        s = ssm_st_add(f, e.name, e.ndim, e.shape, buf);
    }
    if (s == SSM_OK)
        s = set_meta(f, st);
    if (s == SSM_OK)
        s = ssm_st_write(f, path);
    ssm_st_free(f);
    free(buf);
    return s;
}

/* The stored config, checked, and the total parameter count of the file. */
static ssm_status read_config(ssm_train_config *cfg, size_t *n, const ssm_st *f, const char *path)
{
    const char *fmt = ssm_st_meta(f, "format"), *text = ssm_st_meta(f, "config");
    if (!fmt || strcmp(fmt, FORMAT) != 0)
        return SSM_ERROR(SSM_EFORMAT, "%s: not an exported ssmkit model (metadata format is %s%s%s, expected %s)",
                         path, fmt ? "'" : "", fmt ? fmt : "missing", fmt ? "'" : "", FORMAT);
    json_error_t err;
    json_t *j = text ? json_loads(text, 0, &err) : NULL;
    ssm_status s = j ? ssm_train_config_from_json(cfg, j)
                     : SSM_ERROR(SSM_EFORMAT, "the metadata 'config' is missing or not JSON");
    json_decref(j);
    if (s != SSM_OK) {
        char why[400]; /* the message buffer is also SSM_ERROR's destination */
        snprintf(why, sizeof why, "%s", ssm_error_message());
        return SSM_ERROR(SSM_EFORMAT, "%s: %s", path, why);
    }
    *n = 0;
    for (size_t i = 0; i < ssm_st_count(f); i++)
        *n += ssm_st_at(f, i)->count;
    return SSM_OK;
}

/* "[16, 4, 2]" */
static void shape_text(char *out, size_t cap, int ndim, const size_t *shape)
{
    size_t at = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < ndim && at < cap; d++)
        at += (size_t)snprintf(out + at, cap - at, "%s%zu", d ? ", " : "", shape[d]);
    if (at < cap)
        snprintf(out + at, cap - at, "]");
}

/* Every model tensor from the file: same name, shape, count; finite float32 values. */
static ssm_status read_params(ssm_train_model *m, const ssm_st *f, const char *path)
{
    if (ssm_st_count(f) != m->n_tensors)
        return SSM_ERROR(SSM_EFORMAT, "%s: %zu tensors, the model its config builds has %zu", path, ssm_st_count(f),
                         m->n_tensors);
    for (size_t i = 0; i < m->n_tensors; i++) {
        export_spec e;
        spec_of(&e, m, &m->tensors[i]);
        const ssm_tensor *t = ssm_st_get(f, e.name);
        int same = t && t->ndim == e.ndim;
        for (int d = 0; same && d < e.ndim; d++)
            same = t->shape[d] == e.shape[d];
        if (!same) {
            char want[64], got[64];
            shape_text(want, sizeof want, e.ndim, e.shape);
            if (t)
                shape_text(got, sizeof got, t->ndim, t->shape);
            return SSM_ERROR(SSM_EFORMAT, "%s: tensor '%s' is %s%s (the model its config builds needs %s)", path,
                             e.name, t ? "" : "missing", t ? got : "", want);
        }
        for (size_t k = 0; k < t->count; k++)
            if (!isfinite(t->data[k]) || fabs(t->data[k]) > FLT_MAX || (double)(float)t->data[k] != t->data[k])
                return SSM_ERROR(SSM_EFORMAT, "%s: %s[%zu] = %g is not a finite float32", path, e.name, k,
                                 t->data[k]);
        from_export(m->params + m->tensors[i].offset, t->data, &e);
    }
    return SSM_OK;
}

static int parse_step(uint64_t *out, const char *text)
{
    char *end;
    errno = 0;
    unsigned long long v = text && *text >= '0' && *text <= '9' ? strtoull(text, &end, 10) : 0;
    if (!text || !(*text >= '0' && *text <= '9') || errno || *end)
        return 0;
    *out = (uint64_t)v;
    return 1;
}

ssm_status ssm_train_export_read(ssm_train_state *st, const char *path, int load_data)
{
    memset(st, 0, sizeof *st);
    ssm_st *f = NULL;
    size_t n = 0;
    ssm_status s = ssm_st_read(&f, path);
    if (s == SSM_OK)
        s = read_config(&st->cfg, &n, f, path);
    if (s == SSM_OK)
        s = ssm_train_build_model(st, n, load_data, path);
    if (s == SSM_OK) {
        const char *dig = ssm_st_meta(f, "init_fnv1a64"), *step = ssm_st_meta(f, "step");
        char want[32];
        snprintf(want, sizeof want, "%016llx", (unsigned long long)st->model->init_digest);
        if (!dig || strcmp(dig, want) != 0)
            s = SSM_ERROR(SSM_EFORMAT, "%s: the init '%s' is not the one the model was trained from (its digest is "
                                       "%s, the file's %s)", path, st->cfg.init, want, dig ? dig : "missing");
        else if (!parse_step(&st->step, step))
            s = SSM_ERROR(SSM_EFORMAT, "%s: the metadata 'step' is %s%s%s, not a step count", path,
                          step ? "'" : "", step ? step : "missing", step ? "'" : "");
    }
    if (s == SSM_OK)
        s = read_params(st->model, f, path);
    if (s == SSM_OK)
        s = ssm_train_model_kernels(st->model, 1); /* the dense basis depends on the stored Δ */
    ssm_st_free(f);
    if (s != SSM_OK)
        ssm_train_state_clear(st);
    return s;
}

ssm_status ssm_train_export_open(ssm_train_state **st, const char *path, int load_data)
{
    return ssm_train_state_open(st, path, load_data, ssm_train_export_read);
}
