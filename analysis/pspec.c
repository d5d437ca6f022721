/* analysis/pspec.c — pseudospectra: σ_min(zI − A) on many points z: plans,
 * grids, EigTool's box and the dispatch to the workers of pspec_lanczos.c.
 *
 * Method of record (EigTool, doc/reference.md §7): complex Schur form A = U T U*
 * once; per point inverse Lanczos on (T − zI)⁻¹(T − zI)⁻* — two triangular
 * solves per step — stopped when the top Ritz value changes by less than tol
 * (1e-5) relatively, at most 99 steps; a plain SVD of T − zI below n = 55.
 *
 * Fast path (the default): the same iteration, but a block of shifts moves
 * together.  In a blocked back substitution the update of a row block by the
 * rows below it does not involve the shift, so it is one matrix product for
 * all the shifts of the block (split complex: four DGEMMs; one on the real
 * Schur form of a real matrix, pspec_multishift.c); only the small diagonal
 * blocks are solved per shift.  A point that converges leaves its
 * slot and the next point takes it.  Worker threads pull points from a shared
 * counter.  The fast path also asks the Ritz residual to be small and keeps
 * clustered points going under a stricter rule (pspec_lanczos.c).  Normal
 * matrices are answered by σ_min = min_k |z − λ_k|, and a DPLR matrix
 * diag(λ) − P Q* by inverse Lanczos with O(n r) Sherman–Morrison–Woodbury
 * solves, warm-started along chunks of neighbouring points and guarded a
 * posteriori (points that fail the guard are redone on the Schur form).
 *
 * Every start vector is a function of (seed, point index) and, on the DPLR
 * route, of the preceding points of its fixed chunk, so the values do not
 * depend on the thread count or block layout beyond rounding. */
#define _POSIX_C_SOURCE 200809L
#include "analysis/pspec_impl.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void opts_default(ssm_pspec_opts *o, const ssm_pspec_opts *in)
{
    memset(o, 0, sizeof *o);
    if (in)
        *o = *in;
    if (!(o->tol > 0))
        o->tol = 1e-5;
    if (o->max_iter <= 0)
        o->max_iter = 99;
    if (o->block <= 0)
        o->block = 48;
    if (o->threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        o->threads = c > 0 ? (int)(c < 64 ? c : 64) : 1;
    }
}

void ssm_pspec_plan_free(ssm_pspec_plan *p)
{
    if (!p)
        return;
    free(p->T);
    free(p->Tq);
    free(p->lam);
    free(p->P);
    free(p->Q);
    free(p);
}

/* complex Schur form of the column-major n×n matrix a (overwritten by T),
 * eigenvalues in w */
static ssm_status schur(double complex *a, double complex *w, size_t n)
{
    lapack_int ln = (lapack_int)n, sdim = 0;
    double complex qwork;
    double *rwork = malloc((n ? n : 1) * sizeof *rwork);
    if (!rwork)
        return SSM_ERROR(SSM_ENOMEM, "pspec: out of memory");
    lapack_int info = LAPACKE_zgees_work(LAPACK_COL_MAJOR, 'N', 'N', NULL, ln, a, ln, &sdim, w, NULL, 1, &qwork,
                                         -1, rwork, NULL);
    double complex *work = NULL;
    if (info == 0) {
        lapack_int lw = (lapack_int)creal(qwork);
        work = ssm_lapack_alloc((size_t)(lw > 1 ? lw : 1), sizeof *work);
        if (!work)
            info = LAPACK_WORK_MEMORY_ERROR;
        else
            info = LAPACKE_zgees_work(LAPACK_COL_MAJOR, 'N', 'N', NULL, ln, a, ln, &sdim, w, NULL, 1, work, lw,
                                      rwork, NULL);
    }
    free(work);
    free(rwork);
    return ssm_lapack_status("zgees", info);
}

/* The fast path on a real matrix: its real Schur form (DGEES, quasi-triangular
 * with standardised 2×2 blocks for the conjugate pairs) into p->Tq, the
 * eigenvalues into p->lam.  The multi-shift solves on it cost half the flops
 * of the complex form (pspec_multishift.c). */
static ssm_status real_schur(ssm_pspec_plan *p, const ssm_zmat_t A)
{
    size_t n = p->n;
    lapack_int ln = (lapack_int)n, sdim = 0;
    double *wr = malloc(2 * n * sizeof *wr), q;
    p->Tq = ssm_lapack_alloc(n * n, sizeof *p->Tq);
    if (!wr || !p->Tq) {
        free(wr);
        return SSM_ERROR(SSM_ENOMEM, "pspec: out of memory (n = %zu)", n);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            p->Tq[j * n + i] = creal(SSM_D(A, i, j));
    lapack_int info = LAPACKE_dgees_work(LAPACK_COL_MAJOR, 'N', 'N', NULL, ln, p->Tq, ln, &sdim, wr, wr + n, NULL,
                                         1, &q, -1, NULL);
    double *work = NULL;
    if (info == 0) {
        lapack_int lw = (lapack_int)q;
        work = ssm_lapack_alloc((size_t)(lw > 1 ? lw : 1), sizeof *work);
        if (!work)
            info = LAPACK_WORK_MEMORY_ERROR;
        else
            info = LAPACKE_dgees_work(LAPACK_COL_MAJOR, 'N', 'N', NULL, ln, p->Tq, ln, &sdim, wr, wr + n, NULL, 1,
                                      work, lw, NULL);
    }
    free(work);
    for (size_t i = 0; info == 0 && i < n; i++)
        p->lam[i] = CMPLX(wr[i], wr[n + i]);
    free(wr);
    return ssm_lapack_status("dgees", info);
}

/* The same test on the real Schur form: the strictly upper part outside the
 * 2×2 blocks, and for each block B = [[a, b], [c, d]] (complex pair) its own
 * departure from normality, ‖B‖_F² − 2|λ|² = (a − d)² + (b + c)² — together
 * Henrici's departure of A, which the complex form shows as its strictly
 * upper part. */
static int real_schur_is_normal(const double *T, size_t n, double rho)
{
    double scale = 0, ssq = 1;
    for (size_t j = 1; j < n; j++)
        for (size_t i = 0; i < j; i++) {
            if (i + 1 == j && T[i * n + j] != 0) { /* rows i, j form a 2×2 block */
                ssm_ssq_add(&scale, &ssq, T[i * n + i] - T[j * n + j]);
                ssm_ssq_add(&scale, &ssq, T[j * n + i] + T[i * n + j]);
                continue;
            }
            ssm_ssq_add(&scale, &ssq, T[j * n + i]);
        }
    return scale * sqrt(ssq) <= 10.0 * DBL_EPSILON * rho;
}

/* T (column-major, ld n) is normal to working accuracy when its strictly upper
 * part is below 10·ε·ρ(A): Weyl's inequality for singular values then bounds
 * the error of min_k |z − λ_k| by 10·ε·‖A‖₂ (ρ ≤ ‖A‖₂), the absolute accuracy
 * the dense paths promise. */
static int schur_is_normal(const double complex *T, size_t n, double rho)
{
    double scale = 0, ssq = 1;
    for (size_t j = 1; j < n; j++)
        for (size_t i = 0; i < j; i++) {
            ssm_ssq_add(&scale, &ssq, creal(T[j * n + i]));
            ssm_ssq_add(&scale, &ssq, cimag(T[j * n + i]));
        }
    return scale * sqrt(ssq) <= 10.0 * DBL_EPSILON * rho;
}

static ssm_pspec_plan *plan_alloc(size_t n, const ssm_pspec_opts *o, ssm_status *st)
{
    ssm_pspec_plan *p = calloc(1, sizeof *p);
    if (p) {
        p->n = n;
        opts_default(&p->o, o);
        p->lam = malloc((n ? n : 1) * sizeof *p->lam);
    }
    if (!p || !p->lam) {
        ssm_pspec_plan_free(p);
        *st = SSM_ERROR(SSM_ENOMEM, "pspec: out of memory");
        return NULL;
    }
    return p;
}

static ssm_pspec_plan *plan_dense(const ssm_zmat_t A, const ssm_pspec_opts *o, ssm_status *status)
{
    size_t n = A->rows;
    ssm_status s = SSM_OK;
    if (A->cols != n || n == 0) {
        *status = SSM_ERROR(SSM_EINVAL, "pspec: the matrix must be square and non-empty");
        return NULL;
    }
    ssm_pspec_plan *p = plan_alloc(n, o, status);
    if (!p)
        return NULL;
    p->T = ssm_lapack_alloc(n * n, sizeof *p->T);
    if (!p->T) {
        ssm_pspec_plan_free(p);
        *status = SSM_ERROR(SSM_ENOMEM, "pspec: out of memory (n = %zu)", n);
        return NULL;
    }
    p->real = 1;
    double scale = 0, ssq = 1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double complex a = SSM_D(A, i, j);
            if (!isfinite(creal(a)) || !isfinite(cimag(a))) {
                ssm_pspec_plan_free(p);
                *status = SSM_ERROR(SSM_EINVAL, "pspec: the matrix has a non-finite entry at (%zu, %zu)", i, j);
                return NULL;
            }
            if (cimag(a) != 0)
                p->real = 0;
            ssm_ssq_add(&scale, &ssq, creal(a));
            ssm_ssq_add(&scale, &ssq, cimag(a));
            p->T[j * n + i] = a;
        }
    p->normA = scale * sqrt(ssq);
    /* a real matrix on the fast path needs only its real Schur form; the
     * complex one is for the method of record and the small-n SVD */
    int real_form = p->real && p->o.method != SSM_PSPEC_RECORD && n >= SVD_BELOW;
    if (real_form) {
        free(p->T);
        p->T = NULL;
    }
    if ((s = real_form ? real_schur(p, A) : schur(p->T, p->lam, n)) != SSM_OK) {
        ssm_pspec_plan_free(p);
        *status = s;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        p->rho = fmax(p->rho, cabs(p->lam[i]));
    int normal = real_form ? real_schur_is_normal(p->Tq, n, p->rho) : schur_is_normal(p->T, n, p->rho);
    p->kind = normal ? KIND_NORMAL : KIND_DENSE;
    if (p->o.method == SSM_PSPEC_RECORD || p->o.method == SSM_PSPEC_FAST_DENSE)
        p->kind = KIND_DENSE;
    *status = SSM_OK;
    return p;
}

static ssm_pspec_plan *plan_dplr(const double complex *lambda, const ssm_zmat_t P, const ssm_zmat_t Q, int real,
                                 const ssm_pspec_opts *o, ssm_status *status)
{
    size_t n = P->rows, r = P->cols;
    if (n == 0 || Q->rows != n || Q->cols != r || r == 0 || r > 8) {
        *status = SSM_ERROR(SSM_EINVAL, "pspec: DPLR form needs P and Q of the same shape n x r, 1 <= r <= 8");
        return NULL;
    }
    ssm_pspec_plan *p = plan_alloc(n, o, status);
    if (!p)
        return NULL;
    p->r = r;
    p->real = real;
    p->kind = KIND_DPLR;
    p->P = malloc(n * r * sizeof *p->P);
    p->Q = malloc(n * r * sizeof *p->Q);
    if (!p->P || !p->Q) {
        ssm_pspec_plan_free(p);
        *status = SSM_ERROR(SSM_ENOMEM, "pspec: out of memory");
        return NULL;
    }
    /* ‖A‖_F of diag(λ) − P Q*, entry by entry (O(n² r), once) */
    double scale = 0, ssq = 1;
    for (size_t i = 0; i < n; i++) {
        p->lam[i] = lambda[i];
        p->rho = fmax(p->rho, cabs(lambda[i]));
        for (size_t k = 0; k < r; k++) {
            p->P[k * n + i] = SSM_D(P, i, k);
            p->Q[k * n + i] = SSM_D(Q, i, k);
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double complex a = i == j ? lambda[i] : 0;
            for (size_t k = 0; k < r; k++)
                a -= p->P[k * n + i] * conj(p->Q[k * n + j]);
            if (!isfinite(creal(a)) || !isfinite(cimag(a))) {
                ssm_pspec_plan_free(p);
                *status = SSM_ERROR(SSM_EINVAL, "pspec: the DPLR form has a non-finite entry");
                return NULL;
            }
            ssm_ssq_add(&scale, &ssq, creal(a));
            ssm_ssq_add(&scale, &ssq, cimag(a));
        }
    p->normA = scale * sqrt(ssq);
    /* ρ(A) is not ρ(diag λ); a lower bound of ‖A‖₂ that holds: max |A_ii| */
    p->rho = 0;
    for (size_t i = 0; i < n; i++) {
        double complex a = lambda[i];
        for (size_t k = 0; k < r; k++)
            a -= p->P[k * n + i] * conj(p->Q[k * n + i]);
        p->rho = fmax(p->rho, cabs(a));
    }
    *status = SSM_OK;
    return p;
}

size_t ssm_pspec_order(const ssm_pspec_plan *p) { return p->n; }
int ssm_pspec_is_real(const ssm_pspec_plan *p) { return p->real; }
double ssm_pspec_norm_bound(const ssm_pspec_plan *p) { return p->normA; }

const char *ssm_pspec_route(const ssm_pspec_plan *p)
{
    if (p->kind == KIND_NORMAL)
        return "normal";
    if (p->kind == KIND_DPLR)
        return p->r == 1 ? "dplr-secular" : "dplr";
    return p->o.method == SSM_PSPEC_RECORD ? "record" : "fast";
}

void ssm_pspec_box(double box[4], const double complex *lambda, size_t n, int real)
{
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY, rho = 0;
    for (size_t i = 0; i < n; i++) {
        x0 = fmin(x0, creal(lambda[i]));
        x1 = fmax(x1, creal(lambda[i]));
        y0 = fmin(y0, cimag(lambda[i]));
        y1 = fmax(y1, cimag(lambda[i]));
        rho = fmax(rho, cabs(lambda[i]));
    }
    if (real) {
        y1 = fmax(fabs(y0), fabs(y1));
        y0 = -y1;
    }
    double pad = fmax(x1 - x0, y1 - y0) / 2;
    if (!(pad > 0))
        pad = fmax(1.0, rho) / 2; /* a single eigenvalue (or all equal) */
    box[0] = x0 - pad;
    box[1] = x1 + pad;
    box[2] = y0 - pad;
    box[3] = y1 + pad;
}

const double complex *ssm_pspec_eigenvalues(const ssm_pspec_plan *p)
{
    return p->kind == KIND_DPLR ? NULL : p->lam;
}

static ssm_status run_threads(shared_work *w, void *(*fn)(void *), int threads)
{
    /* our workers call BLAS on small blocks: one BLAS thread each (OpenBLAS's
     * own threads would spin on these sizes) — restored afterwards */
    int blas_threads = ssm_blas_threads_set(1);
    if (threads > 1 && w->count > 1) {
        pthread_t tid[64];
        int started = 0;
        for (int t = 0; t < threads && t < 64; t++) {
            if (pthread_create(&tid[t], NULL, fn, w) != 0)
                break;
            started++;
        }
        if (started == 0)
            fn(w);
        for (int t = 0; t < started; t++)
            pthread_join(tid[t], NULL);
    } else {
        fn(w);
    }
    ssm_blas_threads_set(blas_threads);
    return w->status;
}

ssm_status ssm_pspec_eval(double *sigma, const ssm_pspec_plan *p, const double complex *z, size_t count,
                          ssm_pspec_info *info, ssm_progress *bar)
{
    ssm_pspec_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    info->route = ssm_pspec_route(p);
    for (size_t k = 0; k < count; k++)
        if (!isfinite(creal(z[k])) || !isfinite(cimag(z[k])))
            return SSM_ERROR(SSM_EINVAL, "pspec: point %zu is not finite", k);
    if (p->kind == KIND_NORMAL) {
        for (size_t k = 0; k < count; k++) {
            double best = INFINITY;
            for (size_t i = 0; i < p->n; i++)
                best = fmin(best, cabs(z[k] - p->lam[i]));
            sigma[k] = best;
        }
        info->points = count;
        if (bar)
            ssm_progress_update(bar, count);
        return SSM_OK;
    }
    size_t *todo = malloc((count ? count : 1) * sizeof *todo);
    if (!todo)
        return SSM_ERROR(SSM_ENOMEM, "pspec: out of memory");
    for (size_t k = 0; k < count; k++)
        todo[k] = k;
    shared_work w = {.p = p, .T = p->T, .Tq = p->Tq, .z = z, .sigma = sigma, .todo = todo, .count = count, .bar = bar,
                     .seed = p->o.seed, .status = SSM_OK};
    pthread_mutex_init(&w.lock, NULL);
    int threads = p->o.method == SSM_PSPEC_RECORD ? 1 : p->o.threads;
    w.abs_floor = p->o.method != SSM_PSPEC_RECORD ? 10 * DBL_EPSILON * p->normA : -1;
    ssm_status s = SSM_OK;
    double complex *Tfb = NULL;
    if (p->kind == KIND_DPLR) {
        w.guard_list = malloc((count ? count : 1) * sizeof *w.guard_list);
        if (!w.guard_list)
            s = SSM_ERROR(SSM_ENOMEM, "pspec: out of memory");
        if (s == SSM_OK)
            s = run_threads(&w, p->r == 1 ? ssm_pspec_worker_secular : ssm_pspec_worker_dplr, threads);
        if (s == SSM_OK && p->r == 1 && w.guard_failed > 0) {
            /* the points whose count the secular route could not vouch for:
             * inverse Lanczos on the same DPLR form (its own guard below) */
            info->secular_handed = w.guard_failed;
            memcpy(todo, w.guard_list, w.guard_failed * sizeof *todo);
            w.todo = todo;
            w.count = w.guard_failed;
            w.next = 0;
            w.guard_failed = 0;
            s = run_threads(&w, ssm_pspec_worker_dplr, threads);
        }
        info->guard_failed = w.guard_failed;
        if (s == SSM_OK && w.guard_failed > 0) {
            /* the points the Woodbury route could not vouch for, on the Schur
             * form of the dense matrix */
            size_t n = p->n;
            Tfb = ssm_lapack_alloc(n * n, sizeof *Tfb);
            double complex *ev = malloc(n * sizeof *ev);
            if (!Tfb || !ev)
                s = SSM_ERROR(SSM_ENOMEM, "pspec: out of memory (n = %zu)", n);
            for (size_t j = 0; s == SSM_OK && j < n; j++)
                for (size_t i = 0; i < n; i++) {
                    double complex a = i == j ? p->lam[i] : 0;
                    for (size_t k = 0; k < p->r; k++)
                        a -= p->P[k * n + i] * conj(p->Q[k * n + j]);
                    Tfb[j * n + i] = a;
                }
            if (s == SSM_OK)
                s = schur(Tfb, ev, n);
            free(ev);
            memcpy(todo, w.guard_list, w.guard_failed * sizeof *todo);
            w.T = Tfb;
            w.todo = todo;
            w.count = w.guard_failed;
            w.next = 0;
        }
    }
    if (s == SSM_OK && (p->kind == KIND_DENSE || (Tfb && w.count > 0))) {
        void *(*fn)(void *) = p->n < SVD_BELOW ? ssm_pspec_worker_svd
                              : p->o.method == SSM_PSPEC_RECORD ? ssm_pspec_worker_record : ssm_pspec_worker_fast;
        s = run_threads(&w, fn, threads);
    }
    info->points = count;
    info->iterations = w.iterations;
    info->unconverged = w.unconverged;
    info->refined = w.refined;
    pthread_mutex_destroy(&w.lock);
    free(w.guard_list);
    free(Tfb);
    free(todo);
    return s;
}

ssm_status ssm_pspec_grid(double *sigma, const ssm_pspec_plan *p, const double box[4], size_t nx, size_t ny,
                          ssm_pspec_info *info, ssm_progress *bar)
{
    if (nx == 0 || ny == 0 || !(box[1] >= box[0]) || !(box[3] >= box[2]) || !isfinite(box[0]) ||
        !isfinite(box[1]) || !isfinite(box[2]) || !isfinite(box[3]))
        return SSM_ERROR(SSM_EINVAL, "pspec: empty grid or box");
    if ((nx > 1 && box[1] == box[0]) || (ny > 1 && box[3] == box[2]))
        return SSM_ERROR(SSM_EINVAL, "pspec: a box side of length 0 with more than one grid line");
    /* row iy has y = y0 + iy·hy; for a real matrix σ(z̄) = σ(z), so the rows
     * whose mirror row is in the grid are copied, not computed */
    double hy = ny > 1 ? (box[3] - box[2]) / (double)(ny - 1) : 0;
    double hx = nx > 1 ? (box[1] - box[0]) / (double)(nx - 1) : 0;
    size_t *mirror = malloc(ny * sizeof *mirror);
    double complex *z = malloc(nx * ny * sizeof *z);
    size_t *where = malloc(nx * ny * sizeof *where);
    double *sg = malloc(nx * ny * sizeof *sg);
    if (!mirror || !z || !where || !sg) {
        free(mirror); free(z); free(where); free(sg);
        return SSM_ERROR(SSM_ENOMEM, "pspec: out of memory");
    }
    double yscale = fmax(fabs(box[2]), fabs(box[3]));
    size_t count = 0;
    for (size_t iy = 0; iy < ny; iy++) {
        double y = box[2] + (double)iy * hy;
        mirror[iy] = SIZE_MAX;
        if (p->real && y < 0) {
            size_t jy = ny - 1 - iy;
            double ym = box[2] + (double)jy * hy;
            if (fabs(ym + y) <= 1e-13 * yscale && ym >= 0)
                mirror[iy] = jy;
        }
        if (mirror[iy] != SIZE_MAX)
            continue;
        for (size_t ix = 0; ix < nx; ix++) {
            where[count] = iy * nx + ix;
            z[count++] = CMPLX(box[0] + (double)ix * hx, y);
        }
    }
    if (bar)
        ssm_progress_set_total(bar, count);
    ssm_status s = ssm_pspec_eval(sg, p, z, count, info, bar);
    if (s == SSM_OK) {
        for (size_t k = 0; k < count; k++)
            sigma[where[k]] = sg[k];
        for (size_t iy = 0; iy < ny; iy++)
            if (mirror[iy] != SIZE_MAX)
                memcpy(sigma + iy * nx, sigma + mirror[iy] * nx, nx * sizeof *sigma);
        if (info)
            info->mirrored = nx * ny - count;
    }
    free(mirror); free(z); free(where); free(sg);
    return s;
}

ssm_status ssm_pspec_plan_create(ssm_pspec_plan **out, const ssm_zmat_t A, const ssm_pspec_opts *opts)
{
    ssm_status s = SSM_OK;
    *out = plan_dense(A, opts, &s);
    return *out ? SSM_OK : s != SSM_OK ? s : SSM_ERROR(SSM_ENOMEM, "pspec: out of memory for a plan");
}

ssm_status ssm_pspec_plan_create_dplr(ssm_pspec_plan **out, const double complex *lambda, const ssm_zmat_t P,
                                      const ssm_zmat_t Q, int real, const ssm_pspec_opts *opts)
{
    ssm_status s = SSM_OK;
    *out = plan_dplr(lambda, P, Q, real, opts, &s);
    return *out ? SSM_OK : s != SSM_OK ? s : SSM_ERROR(SSM_ENOMEM, "pspec: out of memory for a plan");
}
