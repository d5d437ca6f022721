/* init/file.c — the one loader of ssmkit-init/1 files and what a loaded file
 * gives: its model and target as transfer functions, its state matrix, its
 * check-frequency grid.  Every rule about the format lives here. */
#include "init/init_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- validation helpers -------------------------------------------------- */

static ssm_status finite_tensor(const ssm_tensor *t, const char *name)
{
    for (size_t i = 0; i < t->count; i++)
        if (!isfinite(t->data[i]))
            return SSM_ERROR(SSM_EFORMAT, "init file: tensor '%s' has a non-finite value (%g at flat index %zu)", name,
                             t->data[i], i);
    return SSM_OK;
}

/* a complex tensor [rows, cols, 2] (vec: [rows, 2]) into Z (rows×cols), or into
 * the plain array *v (vec only) */
static ssm_status get_z(ssm_zmat_t Z, double complex **v, const ssm_st *f, const char *name, size_t rows,
                        size_t cols, int vec)
{
    const ssm_tensor *t = ssm_st_get(f, name);
    if (!t)
        return SSM_ERROR(SSM_EFORMAT, "init file lacks tensor '%s'", name);
    int ok = vec ? (t->ndim == 2 && t->shape[0] == rows && t->shape[1] == 2)
                 : (t->ndim == 3 && t->shape[0] == rows && t->shape[1] == cols && t->shape[2] == 2);
    if (!ok)
        return vec ? SSM_ERROR(SSM_EFORMAT, "init file: tensor '%s' must be [%zu, 2]", name, rows)
                   : SSM_ERROR(SSM_EFORMAT, "init file: tensor '%s' must be [%zu, %zu, 2]", name, rows, cols);
    ssm_status s = finite_tensor(t, name);
    if (s != SSM_OK)
        return s;
    double complex *d;
    if (v) {
        d = *v = malloc(rows * sizeof *d);
        if (!d)
            return SSM_ERROR(SSM_ENOMEM, "out of memory");
    } else {
        if ((s = ssm_zmat_init(Z, rows, cols)) != SSM_OK)
            return s;
        d = Z->data;
    }
    for (size_t i = 0; i < rows * cols; i++)
        d[i] = CMPLX(t->data[2 * i], t->data[2 * i + 1]);
    return SSM_OK;
}

static ssm_status get_d(ssm_dmat_t D, const ssm_st *f, const char *name, size_t rows, size_t cols, int vec)
{
    const ssm_tensor *t = ssm_st_get(f, name);
    if (!t)
        return SSM_ERROR(SSM_EFORMAT, "init file lacks tensor '%s'", name);
    int ok = vec ? (t->ndim == 1 && t->shape[0] == rows) : (t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols);
    if (!ok)
        return vec ? SSM_ERROR(SSM_EFORMAT, "init file: tensor '%s' must be [%zu]", name, rows)
                   : SSM_ERROR(SSM_EFORMAT, "init file: tensor '%s' must be [%zu, %zu]", name, rows, cols);
    ssm_status s = finite_tensor(t, name);
    if (s == SSM_OK)
        s = ssm_dmat_init(D, rows, cols);
    if (s == SSM_OK)
        memcpy(D->data, t->data, rows * cols * sizeof(double));
    return s;
}

static int meta_size(size_t *v, const ssm_st *f, const char *key)
{
    const char *s = ssm_st_meta(f, key);
    char *end;
    if (!s || *s < '0' || *s > '9')
        return 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end || x > SSM_INIT_MAX_N)
        return 0;
    *v = (size_t)x;
    return 1;
}

/* the FNV-1a 64 hash from a given offset basis */
static uint64_t digest_from(const ssm_st *f, uint64_t h)
{
#define MIX(byte) (h = (h ^ (uint8_t)(byte)) * 1099511628211ull)
    for (size_t i = 0; i < ssm_st_count(f); i++) {
        const ssm_tensor *t = ssm_st_at(f, i);
        for (const char *c = t->name; *c; c++)
            MIX(*c);
        for (int d = 0; d < t->ndim; d++)
            for (int b = 0; b < 8; b++)
                MIX((uint64_t)t->shape[d] >> (8 * b));
        for (size_t k = 0; k < t->count; k++) {
            uint64_t u;
            memcpy(&u, &t->data[k], 8);
            for (int b = 0; b < 8; b++)
                MIX(u >> (8 * b));
        }
    }
#undef MIX
    return h;
}

uint64_t ssm_init_digest(const ssm_st *f)
{
    return digest_from(f, 14695981039346656037ull); /* FNV-1a 64's offset basis, 0xcbf29ce484222325 */
}

/* ssmkit 0.1.0 wrote digests hashed from 1469598103934665603 (a digit short
 * of the basis): the same tensors, so such files are accepted as written */
int ssm_init_digest_matches(const ssm_st *f, const char *stored)
{
    char buf[32], old[32];
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)ssm_init_digest(f));
    snprintf(old, sizeof old, "%016llx", (unsigned long long)digest_from(f, 1469598103934665603ull));
    return strcmp(stored, buf) == 0 || strcmp(stored, old) == 0;
}

/* ---- the object ---------------------------------------------------------- */

void ssm_init_file_free(ssm_init_file *m)
{
    if (!m)
        return;
    ssm_st_free(m->st);
    free(m->lambda); free(m->B); free(m->C);
    ssm_zmat_clear(m->V); ssm_zmat_clear(m->Vinv); ssm_zmat_clear(m->P);
    ssm_dmat_clear(m->A_target); ssm_dmat_clear(m->B_target); ssm_dmat_clear(m->C_target); ssm_dmat_clear(m->E);
    free(m);
}

static ssm_status load(ssm_init_file *m)
{
    const ssm_st *f = m->st;
    const char *fmt = ssm_st_meta(f, "format");
    if (!fmt || strcmp(fmt, "ssmkit-init/1") != 0)
        return SSM_ERROR(SSM_EFORMAT, "not an ssmkit init file (metadata format = %s)", fmt ? fmt : "absent");
    if (!meta_size(&m->N, f, "N") || !meta_size(&m->M, f, "M") || m->N == 0 || m->M == 0)
        return SSM_ERROR(SSM_EFORMAT, "init file: metadata N and M must be integers in [1, %zu]", SSM_INIT_MAX_N);
    const char *cs = ssm_st_meta(f, "conj_sym");
    m->conj_sym = cs && strcmp(cs, "true") == 0;
    if (m->M * (m->conj_sym ? 2 : 1) != m->N)
        return SSM_ERROR(SSM_EFORMAT, "init file: M = %zu does not fit N = %zu (conj_sym %s)", m->M, m->N,
                         cs ? cs : "absent");
    size_t N = m->N, M = m->M;
    ssm_status s;
    if ((s = get_z(NULL, &m->lambda, f, "Lambda", M, 1, 1)) != SSM_OK || (s = get_z(NULL, &m->B, f, "B", M, 1, 1)) != SSM_OK)
        return s;
    if (ssm_st_get(f, "V") && (s = get_z(m->V, NULL, f, "V", N, M, 0)) != SSM_OK)
        return s;
    if (ssm_st_get(f, "Vinv") && (s = get_z(m->Vinv, NULL, f, "Vinv", M, N, 0)) != SSM_OK)
        return s;
    const ssm_tensor *tp = ssm_st_get(f, "P");
    if (tp) {
        m->r = tp->ndim == 3 ? tp->shape[0] : 0;
        if (m->r < 1 || m->r > SSM_INIT_MAX_RANK)
            return SSM_ERROR(SSM_EFORMAT, "init file: tensor 'P' must be [r, %zu, 2] with 1 <= r <= %zu", M,
                             SSM_INIT_MAX_RANK);
        if ((s = get_z(m->P, NULL, f, "P", m->r, M, 0)) != SSM_OK)
            return s;
    }
    if (ssm_st_get(f, "A_target") || ssm_st_get(f, "B_target") || ssm_st_get(f, "C_target")) {
        if ((s = get_d(m->A_target, f, "A_target", N, N, 0)) != SSM_OK ||
            (s = get_d(m->B_target, f, "B_target", N, 1, 1)) != SSM_OK ||
            (s = get_d(m->C_target, f, "C_target", N, 1, 1)) != SSM_OK)
            return s;
    }
    if (ssm_st_get(f, "E") && (s = get_d(m->E, f, "E", N, N, 0)) != SSM_OK)
        return s;
    if ((m->E->rows || m->r) && !m->A_target->rows)
        return SSM_ERROR(SSM_EFORMAT, "init file: tensor '%s' without A_target", m->r ? "P" : "E");
    if ((m->E->rows || m->r) && !m->V->rows)
        return SSM_ERROR(SSM_EFORMAT, "init file: tensor '%s' without V", m->r ? "P" : "E");
    /* the data as written: every shape and value above is sound, so a mismatch is an edit */
    const char *d = ssm_st_meta(f, "data_fnv1a64");
    if (d && !ssm_init_digest_matches(f, d))
        return SSM_ERROR(SSM_EFORMAT, "init file: the tensors do not match the file's checksum data_fnv1a64 "
                                      "(%s stored, %016llx computed): the file was changed after it was written", d,
                         (unsigned long long)ssm_init_digest(f));
    /* C̃ = C_target V: what the model's output map is, once */
    m->C = malloc(M * sizeof *m->C);
    if (!m->C)
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    int vc = m->V->rows && m->C_target->rows;
    for (size_t j = 0; j < M; j++) {
        double complex acc = vc ? 0.0 : 1.0;
        for (size_t i = 0; vc && i < N; i++)
            acc += SSM_D(m->C_target, i, 0) * SSM_D(m->V, i, j);
        m->C[j] = acc;
    }
    return SSM_OK;
}

ssm_status ssm_init_file_take(ssm_init_file **out, ssm_st *st)
{
    *out = NULL;
    ssm_init_file *m = calloc(1, sizeof *m);
    if (!m) {
        ssm_st_free(st);
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    }
    m->st = st;
    ssm_status s = st ? load(m) : SSM_ERROR(SSM_EINVAL, "no init file");
    if (s != SSM_OK) {
        ssm_init_file_free(m);
        return s;
    }
    *out = m;
    return SSM_OK;
}

ssm_status ssm_init_file_borrow(ssm_init_file **out, const ssm_st *st)
{
    *out = NULL;
    ssm_init_file *m = calloc(1, sizeof *m);
    if (!m)
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    m->st = (ssm_st *)st; /* never freed nor written through: see ssm_init_file_unborrow */
    ssm_status s = load(m);
    if (s != SSM_OK) {
        ssm_init_file_unborrow(m);
        return s;
    }
    *out = m;
    return SSM_OK;
}

void ssm_init_file_unborrow(ssm_init_file *m)
{
    if (m) {
        m->st = NULL;
        ssm_init_file_free(m);
    }
}

ssm_status ssm_init_file_read(ssm_init_file **out, const char *path)
{
    ssm_st *st = NULL;
    *out = NULL;
    ssm_status s = ssm_st_read(&st, path);
    if (s != SSM_OK)
        return s;
    s = ssm_init_file_take(out, st);
    if (s == SSM_EFORMAT) {
        char why[512]; /* the message buffer is also SSM_ERROR's destination */
        snprintf(why, sizeof why, "%s", ssm_error_message());
        return SSM_ERROR(s, "%s: %s", path, why);
    }
    return s;
}

void ssm_init_file_modal(ssm_tf_modal *v, const ssm_init_file *f)
{
    memset(v, 0, sizeof *v);
    v->M = f->M;
    v->conj_sym = f->conj_sym;
    v->lambda = f->lambda;
    v->b = f->B;
    v->c = f->C;
    v->Pt[0] = f->P[0];
    v->D = 0.0;
}

/* ---- what a file gives ---------------------------------------------------- */

ssm_status ssm_init_full_V(ssm_zmat_t Vf, ssm_zmat_t Vfi, const ssm_init_file *m)
{
    size_t N = m->N, M = m->M;
    memset(Vfi, 0, sizeof(ssm_zmat_struct));
    ssm_status s = ssm_zmat_init(Vf, N, N);
    if (s == SSM_OK && (s = ssm_zmat_init(Vfi, N, N)) != SSM_OK)
        ssm_zmat_clear(Vf);
    if (s != SSM_OK)
        return s;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < M; j++) {
            SSM_D(Vf, i, j) = SSM_D(m->V, i, j);
            if (m->conj_sym)
                SSM_D(Vf, i, j + M) = conj(SSM_D(m->V, i, j));
        }
    if (m->Vinv->rows) {
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) {
                SSM_D(Vfi, i, j) = SSM_D(m->Vinv, i, j);
                if (m->conj_sym)
                    SSM_D(Vfi, i + M, j) = conj(SSM_D(m->Vinv, i, j));
            }
        return SSM_OK;
    }
    for (size_t i = 0; i < N; i++)
        SSM_D(Vfi, i, i) = 1.0;
    return ssm_zmat_solve(Vfi, Vf);
}

double complex ssm_init_lambda_full(const ssm_init_file *m, size_t j)
{
    return j < m->M ? m->lambda[j] : conj(m->lambda[j - m->M]);
}

ssm_status ssm_init_tf_frequencies(double **omega, size_t *count, const ssm_init_file *file)
{
    double lo = 1e-3, hi = 1e4;
    size_t n = 2000;
    int poles = 0, used = 0;
    const char *g = ssm_st_meta(file->st, "tf_grid");
    *omega = NULL;
    *count = 0;
    if (g) {
        size_t len = strlen(g);
        poles = len > 6 && strcmp(g + len - 6, "+poles") == 0;
        if (sscanf(g, "log:%lg:%lg:%zu%n", &lo, &hi, &n, &used) != 3 || (size_t)used != len - (poles ? 6 : 0) ||
            !isfinite(lo) || !isfinite(hi) || !(lo > 0.0) || !(hi > lo) || n == 0 || n > SSM_INIT_TF_GRID_MAX)
            return SSM_ERROR(SSM_EFORMAT, "init file: tf_grid '%s' is not log:LO:HI:COUNT[+poles] with 0 < LO < HI, "
                                          "1 <= COUNT <= %zu", g, SSM_INIT_TF_GRID_MAX);
    }
    size_t extra = poles ? file->M : 0;
    double *w = malloc((n + extra) * sizeof *w);
    double complex *sg = malloc(n * sizeof *sg);
    ssm_status s = w && sg ? ssm_tf_omega_grid(sg, w, lo, hi, n, 1) : SSM_ERROR(SSM_ENOMEM, "out of memory");
    free(sg);
    if (s != SSM_OK) {
        free(w);
        return s;
    }
    size_t c = n;
    for (size_t k = 0; k < extra; k++) {
        double om = fabs(cimag(file->lambda[k]));
        if (om > lo && om < hi)
            w[c++] = om;
    }
    c = ssm_sort_unique(w, c);
    *omega = w;
    *count = c;
    return SSM_OK;
}

ssm_status ssm_init_transfer(double complex *G, const ssm_init_file *m, ssm_init_system which,
                             const double complex *s, size_t count)
{
    size_t N = m->N;
    if (which == SSM_INIT_TARGET) {
        if (!m->A_target->rows)
            return SSM_ERROR(SSM_EINVAL, "this init file has no target system (A_target)");
        ssm_zmat_t A, b, c;
        memset(b, 0, sizeof b);
        memset(c, 0, sizeof c);
        ssm_status st = ssm_zmat_init(A, N, N);
        if (st == SSM_OK) st = ssm_zmat_init(b, N, 1);
        if (st == SSM_OK) st = ssm_zmat_init(c, 1, N);
        if (st == SSM_OK && (st = ssm_zmat_set_dmat(A, m->A_target)) == SSM_OK) {
            for (size_t i = 0; i < N; i++) {
                SSM_D(b, i, 0) = SSM_D(m->B_target, i, 0);
                SSM_D(c, 0, i) = SSM_D(m->C_target, i, 0);
            }
            ssm_tf_plan *p = NULL;
            st = ssm_tf_plan_create(&p, A, b, c, 0.0);
            if (p)
                st = ssm_tf_eval(G, p, s, count);
            ssm_tf_plan_free(p);
        }
        ssm_zmat_clear(A); ssm_zmat_clear(b); ssm_zmat_clear(c);
        return st;
    }
    if (which != SSM_INIT_MODEL)
        return SSM_ERROR(SSM_EINVAL, "ssm_init_transfer: which must be SSM_INIT_MODEL or SSM_INIT_TARGET");
    ssm_tf_modal v;
    ssm_init_file_modal(&v, m);
    return ssm_tf_modal_eval(G, &v, s, count);
}

ssm_status ssm_init_state_matrix(ssm_zmat_t A, double complex **lambda, ssm_zmat_t P, const ssm_init_file *m)
{
    size_t N = m->N;
    ssm_status s = SSM_OK;
    memset(A, 0, sizeof(ssm_zmat_struct));
    memset(P, 0, sizeof(ssm_zmat_struct));
    *lambda = NULL;
    if (m->r) {
        /* diag(Λ) − P̃ P̃* over the full conjugate-closed set (P̃ of the conjugate
         * modes is conj(P̃): the eigenvectors are conj(V), P real) */
        double complex *lam = malloc(N * sizeof *lam);
        s = lam ? ssm_zmat_init(P, N, m->r) : SSM_ERROR(SSM_ENOMEM, "out of memory");
        for (size_t j = 0; s == SSM_OK && j < N; j++) {
            lam[j] = ssm_init_lambda_full(m, j);
            for (size_t k = 0; k < m->r; k++)
                SSM_D(P, j, k) = j < m->M ? SSM_D(m->P, k, j) : conj(SSM_D(m->P, k, j - m->M));
        }
        if (s == SSM_OK)
            *lambda = lam;
        else
            free(lam);
    } else if (m->E->rows && m->A_target->rows) {
        /* PTD: the perturbed matrix itself, A_target + E, exactly (real) */
        s = ssm_zmat_init(A, N, N);
        for (size_t i = 0; s == SSM_OK && i < N; i++)
            for (size_t j = 0; j < N; j++)
                SSM_D(A, i, j) = SSM_D(m->A_target, i, j) + SSM_D(m->E, i, j);
    } else if (m->V->rows && m->Vinv->rows) {
        /* V diag(Λ) V⁻¹ over the full set (S5: the normal part of the HiPPO matrix) */
        ssm_zmat_t Vf, Vfi;
        s = ssm_init_full_V(Vf, Vfi, m);
        if (s == SSM_OK) {
            for (size_t j = 0; j < N; j++)
                for (size_t i = 0; i < N; i++)
                    SSM_D(Vf, i, j) *= ssm_init_lambda_full(m, j);
            s = ssm_zmat_init(A, N, N);
            if (s == SSM_OK)
                s = ssm_zmat_gemm(A, 1, Vf, 0, Vfi, 0, 0);
            ssm_zmat_clear(Vf);
            ssm_zmat_clear(Vfi);
        }
    } else {
        s = ssm_zmat_init(A, N, N);
        for (size_t j = 0; s == SSM_OK && j < N; j++)
            SSM_D(A, j, j) = ssm_init_lambda_full(m, j);
    }
    if (s != SSM_OK)
        ssm_zmat_clear(A);
    return s;
}
