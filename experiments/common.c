/* experiments/common.c — datasets, the job protocol, the TSV/JSON writers. */
#define _POSIX_C_SOURCE 200809L
#include "experiments/common.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ssm_status exp_add(exp_data *x, size_t d, const double *row, size_t cols)
{
    if (d >= EXP_MAX_SETS)
        return SSM_ERROR(SSM_EINVAL, "experiment: dataset %zu beyond %d", d, EXP_MAX_SETS);
    exp_set *s = &x->set[d];
    if (s->rows && s->cols != cols)
        return SSM_ERROR(SSM_EFORMAT, "experiment: dataset %zu has rows of %zu and %zu columns", d, s->cols, cols);
    if (s->rows == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        double *v = realloc(s->v, cap * cols * sizeof *v);
        if (!v)
            return SSM_ERROR(SSM_ENOMEM, "experiment: out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->cols = cols;
    memcpy(s->v + s->rows * cols, row, cols * sizeof *row);
    s->rows++;
    if (d + 1 > x->nsets)
        x->nsets = d + 1;
    return SSM_OK;
}

/* a dataset's title or series label, from a format; the dataset then exists */
static void set_label(exp_data *x, size_t d, int series, const char *fmt, va_list ap)
{
    if (d >= EXP_MAX_SETS)
        return;
    if (series)
        vsnprintf(x->set[d].series, sizeof x->set[d].series, fmt, ap);
    else
        vsnprintf(x->set[d].title, sizeof x->set[d].title, fmt, ap);
    if (d + 1 > x->nsets)
        x->nsets = d + 1;
}

void exp_title(exp_data *x, size_t d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_label(x, d, 0, fmt, ap);
    va_end(ap);
}

void exp_series(exp_data *x, size_t d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_label(x, d, 1, fmt, ap);
    va_end(ap);
}

json_t *exp_jnum(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

void exp_data_clear(exp_data *x)
{
    for (size_t d = 0; d < EXP_MAX_SETS; d++)
        free(x->set[d].v);
    memset(x, 0, sizeof *x);
}

size_t exp_sizes(size_t *N, size_t cap, size_t first, size_t n_max)
{
    size_t k = 0;
    for (size_t n = first; n <= n_max && k < cap; n *= 2)
        N[k++] = n;
    return k;
}

void exp_opts_string(char *buf, size_t cap, const ssm_experiment_opts *o)
{
    int n = snprintf(buf, cap, "--out '%s'", o->out_dir);
    if (o->n_max && n >= 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, " --n-max %zu", o->n_max);
    if (o->eps > 0 && n >= 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, " --eps %.17g", o->eps);
    if (o->seed && n >= 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, " --seed %lu", o->seed);
    if (o->full && n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, " --full");
    else if (o->quick && n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, " --quick");
}

/* ---- writers ------------------------------------------------------------ */

/* the header lines (without '#') as comment lines */
static void put_comments(FILE *fp, const char *header)
{
    for (const char *h = header; h && *h;) {
        const char *nl = strchr(h, '\n');
        size_t len = nl ? (size_t)(nl - h) : strlen(h);
        fprintf(fp, "# %.*s\n", (int)len, h);
        h += len + (nl ? 1 : 0);
    }
}

/* a part file (DIR/NAME.part-K.tsv): one numeric table "set cols v0 … v(w-1)", every dataset's rows
 * padded with 0 to the widest; titles and labels as '# title d …' and '# series d …' lines */
static ssm_status write_part(const char *path, const char *header, const exp_data *x)
{
    size_t w = 1;
    for (size_t d = 0; d < x->nsets; d++)
        if (x->set[d].cols > w)
            w = x->set[d].cols;
    char names[EXP_MAX_SETS * 8 + 64];
    int n = snprintf(names, sizeof names, "set cols");
    for (size_t c = 0; c < w && n > 0 && (size_t)n < sizeof names; c++)
        n += snprintf(names + n, sizeof names - (size_t)n, " v%zu", c);
    ssm_atomic *a;
    FILE *fp;
    ssm_status s = ssm_atomic_open(&a, &fp, path);
    if (s != SSM_OK)
        return s;
    s = ssm_tsv_write_head(fp, names, w + 2, header);
    for (size_t d = 0; s == SSM_OK && d < x->nsets; d++) {
        if (x->set[d].title[0])
            fprintf(fp, "# title %zu %s\n", d, x->set[d].title);
        if (x->set[d].series[0])
            fprintf(fp, "# series %zu %s\n", d, x->set[d].series);
        if (x->set[d].scan)
            fprintf(fp, "# scan %zu %zu\n", d, x->set[d].scan);
    }
    for (size_t d = 0; s == SSM_OK && d < x->nsets; d++)
        for (size_t r = 0; r < x->set[d].rows; r++) {
            fprintf(fp, "%zu\t%zu\t", d, x->set[d].cols);
            for (size_t c = 0; c < w; c++)
                ssm_tsv_print_double(fp, c < x->set[d].cols ? x->set[d].v[r * x->set[d].cols + c] : 0.0,
                                     c + 1 < w ? '\t' : '\n');
        }
    return ssm_atomic_close(a, fp, s);
}

static size_t count_words(const char *s)
{
    size_t n = 0;
    for (const char *p = s; p && *p;) {
        while (*p == ' ')
            p++;
        if (*p)
            n++;
        while (*p && *p != ' ')
            p++;
    }
    return n;
}

/* a label usable in a table: non-empty, no blanks, no '#' (pandas' comment character) */
static int valid_label(const char *l)
{
    if (!l[0])
        return 0;
    for (const char *p = l; *p; p++)
        if (*p == '#' || isspace((unsigned char)*p))
            return 0;
    return 1;
}

/* one table of the finished experiment (see exp_table) */
static ssm_status write_table(const char *path, const char *header, const exp_table *t, const exp_data *x)
{
    size_t ncol = count_words(t->columns), last = t->last == EXP_LAST ? x->nsets - 1 : t->last;
    char names[1200];
    snprintf(names, sizeof names, "%s%s%s", t->key ? t->key : "", t->key ? " " : "", t->columns);
    if (last >= x->nsets || t->first > last)
        return SSM_ERROR(SSM_EINVAL, "experiment: table '%s' names datasets %zu..%zu of %zu", path, t->first, last,
                         x->nsets);
    for (size_t d = t->first; d <= last; d++) {
        if (x->set[d].rows && x->set[d].cols != ncol)
            return SSM_ERROR(SSM_EINVAL, "experiment: dataset %zu has %zu columns, table '%s' names %zu", d,
                             x->set[d].cols, path, ncol);
        if (x->set[d].rows && t->key && !valid_label(x->set[d].series))
            return SSM_ERROR(SSM_EINVAL, "experiment: dataset %zu has no usable %s label ('%s')", d, t->key,
                             x->set[d].series);
    }
    ssm_atomic *a;
    FILE *fp;
    ssm_status s = ssm_atomic_open(&a, &fp, path);
    if (s != SSM_OK)
        return s;
    s = ssm_tsv_write_head(fp, names, ncol + (t->key != NULL), header);
    if (s == SSM_OK && t->about)
        put_comments(fp, t->about);
    size_t index = 0;
    for (size_t d = t->first; s == SSM_OK && d <= last; d++) {
        const exp_set *e = &x->set[d];
        if (!e->rows)
            continue;
        if (t->blocks && index)
            fputs("\n\n", fp);
        /* a comment above each dataset: its gnuplot index, label and title */
        char tag[80] = "";
        if (t->blocks)
            snprintf(tag, sizeof tag, "[index %zu] ", index);
        if (t->key)
            snprintf(tag + strlen(tag), sizeof tag - strlen(tag), "%s %s%s", t->key, e->series, e->title[0] ? ": " : "");
        if (tag[0] || e->title[0])
            fprintf(fp, "# %s%s\n", tag, e->title);
        index++;
        for (size_t r = 0; r < e->rows; r++) {
            if (t->key)
                fprintf(fp, "%s\t", e->series);
            for (size_t c = 0; c < e->cols; c++)
                ssm_tsv_print_double(fp, e->v[r * e->cols + c], c + 1 < e->cols ? '\t' : '\n');
            if (e->scan && (r + 1) % e->scan == 0 && r + 1 < e->rows)
                fputc('\n', fp);
        }
    }
    return ssm_atomic_close(a, fp, s);
}

ssm_status exp_write_json(const char *path, json_t *j)
{
    ssm_atomic *a;
    FILE *fp;
    ssm_status s = ssm_atomic_open(&a, &fp, path);
    if (s != SSM_OK)
        return s;
    if (json_dumpf(j, fp, JSON_INDENT(1) | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', fp) == EOF)
        return ssm_atomic_fail(a, NULL);
    return ssm_atomic_commit(a);
}

/* one line of a part file into x: a title or label comment, the names line, or a row "set cols values…"
 * (values may be nan: a missing entry) */
static ssm_status part_line(exp_data *x, char *line, const char *path, size_t lineno)
{
    size_t d, n;
    int off = 0;
    line[strcspn(line, "\r\n")] = '\0'; /* a CRLF part is read like an LF one */
    if (sscanf(line, "# title %zu %n", &d, &off) == 1 && off > 0 && d < EXP_MAX_SETS)
        snprintf(x->set[d].title, sizeof x->set[d].title, "%s", line + off);
    else if (sscanf(line, "# series %zu %n", &d, &off) == 1 && off > 0 && d < EXP_MAX_SETS)
        snprintf(x->set[d].series, sizeof x->set[d].series, "%s", line + off);
    else if (sscanf(line, "# scan %zu %zu", &d, &n) == 2 && d < EXP_MAX_SETS)
        x->set[d].scan = n;
    if (line[0] == '#' || line[strspn(line, " \t\r")] == '\0' || strncmp(line, "set\t", 4) == 0)
        return SSM_OK;
    double v[2 + 64];
    n = 0;
    char *p = line, *end;
    for (; n < sizeof v / sizeof *v; p = end) {
        v[n] = strtod(p, &end);
        if (end == p)
            break;
        n++;
    }
    double dd = v[0], cc = v[1];
    if (*end != '\0' || n < 3 || !(dd >= 0 && dd < EXP_MAX_SETS && dd == floor(dd) && cc >= 1 && cc + 2 <= (double)n &&
                                   cc == floor(cc)))
        return SSM_ERROR(SSM_EFORMAT, "%s: line %zu is not a part row (set, cols, values)", path, lineno);
    return exp_add(x, (size_t)dd, v + 2, (size_t)cc);
}

ssm_status exp_read_part_mem(exp_data *x, const char *buf, size_t len, const char *name)
{
    char line[4096];
    ssm_status s = SSM_OK;
    size_t lineno = 0;
    for (size_t i = 0; s == SSM_OK && i < len; lineno++) {
        size_t e = i;
        while (e < len && buf[e] != '\n')
            e++;
        if (e - i >= sizeof line)
            return SSM_ERROR(SSM_EFORMAT, "%s: line %zu is longer than %zu bytes", name, lineno + 1, sizeof line - 1);
        if (memchr(buf + i, '\0', e - i))
            return SSM_ERROR(SSM_EFORMAT, "%s: line %zu holds a NUL byte", name, lineno + 1);
        memcpy(line, buf + i, e - i);
        line[e - i] = '\0';
        s = part_line(x, line, name, lineno + 1);
        i = e + 1;
    }
    return s;
}

/* read DIR/NAME.part-K.tsv back into x */
static ssm_status read_part(exp_data *x, const char *path)
{
    unsigned char *buf;
    size_t len;
    if (ssm_read_file(&buf, &len, path) != SSM_OK) {
        char why[400];
        snprintf(why, sizeof why, "%s", ssm_error_message());
        return SSM_ERROR(SSM_EINVAL, "merge: missing part '%s' (run its --job first): %s", path, why);
    }
    ssm_status s = exp_read_part_mem(x, (const char *)buf, len, path);
    free(buf);
    return s;
}

/* merged parts: every dataset as wide as its table's columns (the finishing code indexes columns by
 * position, so a part from another version or an edited one must not reach it) */
static ssm_status check_widths(const exp_def *e, const exp_data *x)
{
    for (size_t d = 0; d < x->nsets; d++) {
        if (!x->set[d].rows)
            continue;
        const exp_table *t = NULL;
        for (size_t k = 0; k < EXP_MAX_TABLES && e->tables[k].columns && !t; k++)
            if (d >= e->tables[k].first && d <= e->tables[k].last)
                t = &e->tables[k];
        if (!t)
            return SSM_ERROR(SSM_EFORMAT, "%s --merge: the parts hold a dataset %zu this experiment does not write",
                             e->name, d);
        size_t w = 0;
        for (const char *c = t->columns; *c;) { /* the number of column names */
            c += strspn(c, " ");
            if (*c)
                w++;
            c += strcspn(c, " ");
        }
        if (x->set[d].cols != w)
            return SSM_ERROR(SSM_EFORMAT, "%s --merge: dataset %zu of the parts has rows of %zu values, the "
                                          "experiment's jobs write %zu (a part from another version, or edited?)",
                             e->name, d, x->set[d].cols, w);
    }
    return SSM_OK;
}

ssm_status exp_run(const exp_def *e, const ssm_experiment_opts *o)
{
    size_t J = e->jobs(o);
    char opts[1200], path[1200];
    if (o->jobs) {
        exp_opts_string(opts, sizeof opts, o);
        for (size_t k = 0; k < J; k++)
            printf("ssmkit experiment %s --job %zu %s -q\n", e->name, k, opts);
        return SSM_OK;
    }
    if (o->job >= 0 && (size_t)o->job >= J)
        return SSM_ERROR(SSM_EINVAL, "%s: --job %ld is out of range (this experiment has %zu jobs, 0 .. %zu)", e->name,
                         o->job, J, J - 1);
    exp_data x;
    memset(&x, 0, sizeof x);
    ssm_status s = SSM_OK;
    if (o->job >= 0) {
        s = e->job(&x, o, (size_t)o->job);
        if (s == SSM_OK) {
            char hdr[1400];
            exp_opts_string(opts, sizeof opts, o);
            snprintf(hdr, sizeof hdr, "ssmkit %s experiment %s, job %ld of %zu (part file: merge with --merge)\n"
                                      "options: %s", SSM_VERSION, e->name, o->job, J, opts);
            snprintf(path, sizeof path, "%s/%s.part-%ld.tsv", o->out_dir, e->name, o->job);
            s = write_part(path, hdr, &x);
        }
        exp_data_clear(&x);
        return s;
    }
    if (o->merge) {
        for (size_t k = 0; s == SSM_OK && k < J; k++) {
            snprintf(path, sizeof path, "%s/%s.part-%zu.tsv", o->out_dir, e->name, k);
            s = read_part(&x, path);
        }
        if (s == SSM_OK)
            s = check_widths(e, &x);
    } else {
        if (e->all) {
            s = e->all(&x, o);
        } else {
            ssm_progress *bar = NULL;
            s = ssm_progress_create(&bar, e->name, J, !o->quiet);
            for (size_t k = 0; s == SSM_OK && k < J; k++) {
                s = e->job(&x, o, k);
                ssm_progress_update(bar, k + 1);
            }
            ssm_progress_free(bar);
        }
    }
    char header[4096], summary[2048] = "";
    json_t *j = json_object();
    if (!j)
        s = s == SSM_OK ? SSM_ERROR(SSM_ENOMEM, "experiment: out of memory") : s;
    if (s == SSM_OK) {
        json_object_set_new(j, "experiment", json_string(e->name));
        json_object_set_new(j, "ssmkit_version", json_string(SSM_VERSION));
        s = e->finish(&x, o, header, sizeof header, j, summary, sizeof summary);
    }
    for (size_t t = 0; s == SSM_OK && t < EXP_MAX_TABLES && e->tables[t].columns; t++) {
        snprintf(path, sizeof path, "%s/%s%s.tsv", o->out_dir, e->name, e->tables[t].suffix);
        s = write_table(path, header, &e->tables[t], &x);
    }
    if (s == SSM_OK) {
        snprintf(path, sizeof path, "%s/%s.json", o->out_dir, e->name);
        s = exp_write_json(path, j);
    }
    if (s == SSM_OK && !o->quiet)
        printf("%s\n", summary);
    json_decref(j);
    exp_data_clear(&x);
    return s;
}

/* ---- systems ------------------------------------------------------------ */

ssm_status exp_init_modal(ssm_tf_modal *m, ssm_init_file **file, double *bc, ssm_init_method meth, size_t N, double eps)
{
    ssm_init_opts io = ssm_init_opts_default();
    io.N = N;
    io.eps = eps > 0 ? eps : io.eps;
    memset(m, 0, sizeof *m);
    *file = NULL;
    *bc = 1.0;
    ssm_st *st = NULL;
    ssm_status s = ssm_init_build(&st, meth, &io);
    if (s == SSM_OK)
        s = ssm_init_file_take(file, st);
    if (s != SSM_OK)
        return s;
    ssm_init_file_modal(m, *file);
    if ((*file)->B_target->rows) {
        double nb = 0, nc = 0;
        for (size_t i = 0; i < N; i++) {
            nb = hypot(nb, SSM_D((*file)->B_target, i, 0));
            nc = hypot(nc, SSM_D((*file)->C_target, i, 0));
        }
        *bc = nb * nc;
    }
    return SSM_OK;
}

ssm_tf_plan *exp_legs_plan(size_t N, ssm_status *s)
{
    ssm_dmat_t A, B;
    ssm_zmat_t Az, b, c;
    ssm_tf_plan *p = NULL;
    memset(A, 0, sizeof A); memset(B, 0, sizeof B);
    memset(Az, 0, sizeof Az); memset(b, 0, sizeof b); memset(c, 0, sizeof c);
    *s = ssm_dmat_init(A, N, N);
    if (*s == SSM_OK) *s = ssm_dmat_init(B, N, 1);
    if (*s == SSM_OK) *s = ssm_hippo(A, B, NULL, SSM_HIPPO_LEGS, N);
    if (*s == SSM_OK) *s = ssm_zmat_init(Az, N, N);
    if (*s == SSM_OK) *s = ssm_zmat_init(b, N, 1);
    if (*s == SSM_OK) *s = ssm_zmat_init(c, 1, N);
    if (*s == SSM_OK && (*s = ssm_zmat_set_dmat(Az, A)) == SSM_OK) {
        for (size_t i = 0; i < N; i++) {
            b->data[i] = B->data[i];
            c->data[i] = 1.0;
        }
        *s = ssm_tf_plan_create(&p, Az, b, c, 0.0);
    }
    ssm_dmat_clear(A); ssm_dmat_clear(B);
    ssm_zmat_clear(Az); ssm_zmat_clear(b); ssm_zmat_clear(c);
    return p;
}

ssm_status exp_legs_mp_eig(ssm_mpcmat_t A, ssm_mpeig_info *mi, size_t N)
{
    const mpfr_prec_t p = 256, ap = 2048;
    ssm_mpmat_t R;
    ssm_mpcmat_t L, V, W;
    ssm_status s = ssm_mpcmat_init(A, N, N, ap);
    if (s != SSM_OK || (s = ssm_mpmat_init(R, N, N, ap)) != SSM_OK)
        return s;
    if ((s = ssm_hippo_mp(R, NULL, NULL, SSM_HIPPO_LEGS, N, NULL)) == SSM_OK)
        s = ssm_mpcmat_set_mpmat(A, R);
    ssm_mpmat_clear(R);
    if (s != SSM_OK)
        return s;
    ssm_status sl = ssm_mpcmat_init(L, N, 1, p), sv = ssm_mpcmat_init(V, N, N, p), sw = ssm_mpcmat_init(W, N, N, p);
    ssm_mpeig_opts mo = {.route = SSM_MPEIG_AUTO, .digits = 10};
    s = sl != SSM_OK ? sl : sv != SSM_OK ? sv : sw != SSM_OK ? sw : ssm_diag_eig_mp(L, V, W, mi, A, &mo);
    ssm_mpcmat_clear(L); ssm_mpcmat_clear(V); ssm_mpcmat_clear(W);
    return s;
}

double *exp_pole_freqs(const ssm_tf_modal *m)
{
    double *w = malloc((m->M ? m->M : 1) * sizeof *w);
    for (size_t i = 0; w && i < m->M; i++)
        w[i] = fabs(cimag(m->lambda[i]));
    return w;
}

double exp_loglog_slope(const exp_set *t, size_t col)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t n = 0;
    for (size_t r = 0; r < t->rows; r++) {
        double X = log(t->v[r * t->cols]), Y = log(t->v[r * t->cols + col]);
        if (!isfinite(X) || !isfinite(Y))
            continue;
        sx += X; sy += Y; sxx += X * X; sxy += X * Y;
        n++;
    }
    return n >= 2 ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : NAN;
}

/* ones and randC of A + E (decomposed as V diag(lam) Vi) against (A, B) */
static ssm_status measure(double *ones, double *randc, const ssm_dmat_t A, const ssm_dmat_t B,
                          const double complex *lam, const ssm_zmat_t V, const ssm_zmat_t Vi)
{
    const size_t NLOG = 2500, NLIN = 1500, K = NLOG + NLIN, NC = 200;
    size_t N = A->rows;
    double complex *g0 = malloc(N * K * sizeof *g0), *e = malloc(N * K * sizeof *e), *bt = malloc(N * sizeof *bt),
                   *u = malloc(N * sizeof *u);
    double *om = malloc(K * sizeof *om), *rel = malloc(NC * sizeof *rel), *c = malloc(N * sizeof *c);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!g0 || !e || !bt || !u || !om || !rel || !c || !rng) {
        free(g0); free(e); free(bt); free(u); free(om); free(rel); free(c);
        if (rng) gsl_rng_free(rng);
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    }
    double top = (double)N * N / M_PI;
    for (size_t k = 0; k < NLOG; k++)
        om[k] = exp(log(1e-2) + (log(50 * top) - log(1e-2)) * (double)k / (NLOG - 1));
    for (size_t k = 0; k < NLIN; k++)
        om[NLOG + k] = top * (0.5 + (double)k / (NLIN - 1));
    for (size_t j = 0; j < N; j++) {
        bt[j] = 0.0;
        for (size_t i = 0; i < N; i++)
            bt[j] += SSM_D(Vi, j, i) * SSM_D(B, i, 0);
    }
    for (size_t k = 0; k < K; k++) {
        double complex s = CMPLX(0.0, om[k]);
        for (size_t j = 0; j < N; j++) /* (s − Λ)⁻¹ b̃ once per frequency */
            u[j] = bt[j] / (s - lam[j]);
        for (size_t i = 0; i < N; i++) { /* g₀ by forward substitution; model state V (s − Λ)⁻¹ b̃ */
            double complex acc = SSM_D(B, i, 0), r = 0.0;
            for (size_t j = 0; j < i; j++)
                acc += SSM_D(A, i, j) * g0[j * K + k];
            g0[i * K + k] = acc / (s - SSM_D(A, i, i));
            for (size_t j = 0; j < N; j++)
                r += SSM_D(V, i, j) * u[j];
            e[i * K + k] = r;
        }
        for (size_t i = 0; i < N; i++)
            e[i * K + k] -= g0[i * K + k];
    }
    gsl_rng_set(rng, 1);
    for (size_t t = 0; t <= NC; t++) {
        for (size_t i = 0; i < N; i++)
            c[i] = t == 0 ? 1.0 : gsl_ran_gaussian(rng, 1.0);
        double num = 0.0, den = 0.0;
        for (size_t k = 0; k < K; k++) {
            double complex a = 0.0, b = 0.0;
            for (size_t i = 0; i < N; i++) {
                a += c[i] * e[i * K + k];
                b += c[i] * g0[i * K + k];
            }
            num = fmax(num, cabs(a));
            den = fmax(den, cabs(b));
        }
        if (t == 0)
            *ones = num / den;
        else
            rel[t - 1] = num / den;
    }
    gsl_sort(rel, 1, NC);
    *randc = 0.5 * (rel[NC / 2 - 1] + rel[NC / 2]);
    free(g0); free(e); free(bt); free(u); free(om); free(rel); free(c);
    gsl_rng_free(rng);
    return SSM_OK;
}

ssm_status exp_ptd_errors(double *ones, double *randc, const ssm_dmat_t A, const ssm_dmat_t B, const double *E)
{
    size_t N = A->rows;
    ssm_zmat_t X, V, Vi;
    memset(X, 0, sizeof X); memset(V, 0, sizeof V); memset(Vi, 0, sizeof Vi);
    double complex *l = malloc(N * sizeof *l);
    ssm_status s = l ? ssm_zmat_init(X, N, N) : SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (s == SSM_OK) s = ssm_zmat_init(V, N, N);
    if (s == SSM_OK) s = ssm_zmat_init(Vi, N, N);
    for (size_t i = 0; s == SSM_OK && i < N; i++)
        for (size_t j = 0; j < N; j++)
            SSM_D(X, i, j) = SSM_D(A, i, j) + E[i * N + j];
    if (s == SSM_OK) s = ssm_diag_eig(l, V, Vi, NULL, X);
    if (s == SSM_OK) s = measure(ones, randc, A, B, l, V, Vi);
    free(l);
    ssm_zmat_clear(X); ssm_zmat_clear(V); ssm_zmat_clear(Vi);
    return s;
}

ssm_status ssm_experiment_path(char *path, size_t cap, const char *dir, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int n = m < 0 || (size_t)m >= sizeof name ? -1 : snprintf(path, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return SSM_ERROR(SSM_EINVAL, "experiment: the folder '%.40s...' (%zu characters) is too long for %s: "
                         "the path would exceed %zu bytes", dir, strlen(dir), m < 0 ? fmt : name, cap - 1);
    return SSM_OK;
}
