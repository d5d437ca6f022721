/* core/kernel.c — the BLAS/LAPACK calls of ssmkit, on OpenBLAS or on the fixed kernel.
 *
 * OpenBLAS picks its kernels by CPU (or OPENBLAS_CORETYPE): the same product
 * summed in another order, with or without FMA, differs in the last bits, and a
 * long optimisation (PTD) amplifies that into a different result.  The fixed
 * kernel is Debian's reference LAPACK and BLAS (plain Fortran, one compiled
 * code path on every x86-64 CPU), linked into libssmkit under ssm_ref_ names
 * by scripts/ref-kernel; with ssm_fixed_kernel(1) this thread's calls go there.
 * The BLAS products are ssmkit's own (below: dgemm, dgemv, the complex
 * product), for the reference LAPACK inside too: register blocked, each entry
 * summed in one fixed order without FMA, the large ones split over two threads
 * by halves of the output — the same bits on every CPU and thread count, and
 * a short PTD run at N = 256 takes half the CPU time it took on the reference
 * BLAS (9.5 s → 4.7 s, with diag/ptd.c's real inverse of V).  So are dtrsm,
 * dtrmm and dger (the reference's operations in its order, vectorised and
 * split where entries are independent: the reference's bits).
 * Measured here at N = 64: dgeev 1.0 ms (OpenBLAS 0.9 ms), a 64×64×240 zgemm
 * 0.65 ms (OpenBLAS 0.13 ms).
 *
 * Every wrapper is column-major and returns LAPACK's info (LAPACKE's −1010 when
 * workspace cannot be allocated). */
#include "core/core.h"

/* the products below must not contract a*b + c into an FMA (their vector
 * clones give the baseline's bits only without it), whatever CFLAGS says */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* reference LAPACK/BLAS (Fortran calling convention: hidden string lengths last) */
void ssm_ref_dgeev_(const char *jl, const char *jr, const int *n, double *a, const int *lda, double *wr, double *wi,
                    double *vl, const int *ldvl, double *vr, const int *ldvr, double *work, const int *lwork, int *info,
                    size_t, size_t);
void ssm_ref_dgesdd_(const char *jz, const int *m, const int *n, double *a, const int *lda, double *s, double *u,
                     const int *ldu, double *vt, const int *ldvt, double *work, const int *lwork, int *iwork,
                     int *info, size_t);
void ssm_ref_zgesv_(const int *n, const int *nrhs, double complex *a, const int *lda, int *ipiv, double complex *b,
                    const int *ldb, int *info);
void ssm_ref_dgesv_(const int *n, const int *nrhs, double *a, const int *lda, int *ipiv, double *b, const int *ldb,
                    int *info);
void ssm_ref_zgesvd_(const char *ju, const char *jvt, const int *m, const int *n, double complex *a, const int *lda,
                     double *s, double complex *u, const int *ldu, double complex *vt, const int *ldvt,
                     double complex *work, const int *lwork, double *rwork, int *info, size_t, size_t);
void ssm_ref_zgeev_(const char *jl, const char *jr, const int *n, double complex *a, const int *lda, double complex *w,
                    double complex *vl, const int *ldvl, double complex *vr, const int *ldvr, double complex *work,
                    const int *lwork, double *rwork, int *info, size_t, size_t);
void ssm_ref_dgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k, const double *alpha,
                    const double *a, const int *lda, const double *b, const int *ldb, const double *beta, double *c,
                    const int *ldc, size_t, size_t);
void ssm_ref_dgemv_(const char *trans, const int *m, const int *n, const double *alpha, const double *a,
                    const int *lda, const double *x, const int *incx, const double *beta, double *y, const int *incy,
                    size_t lt);
void ssm_ref_zgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k,
                    const double complex *alpha, const double complex *a, const int *lda, const double complex *b,
                    const int *ldb, const double complex *beta, double complex *c, const int *ldc, size_t, size_t);

/* the BLAS that core/kernel.c defines for the reference LAPACK inside (REF_OWN in the Makefile) */
typedef void ssm_tri_fn(const char *side, const char *uplo, const char *transa, const char *diag, const int *m,
                        const int *n, const double *alpha, const double *a, const int *lda, double *b,
                        const int *ldb, size_t, size_t, size_t, size_t);
ssm_tri_fn ssm_ref_dtrsm_, ssm_ref_dtrmm_;
void ssm_ref_dger_(const int *m, const int *n, const double *alpha, const double *x, const int *incx,
                   const double *y, const int *incy, double *a, const int *lda);

enum { WORK_MEMORY_ERROR = -1010 };

static _Thread_local int fixed;
/* A fixed-kernel BLAS routine (called from the reference LAPACK, which cannot
 * take an error) could not allocate its panel: it computed its result without
 * it, and the next wrapper below reports the lost memory as LAPACKE's −1010
 * (ssm_fixed_kernel_lost() takes it where no wrapper follows). */
static _Thread_local int lost;

static int lapack_info(int info)
{
    if (!lost)
        return info;
    lost = 0;
    return WORK_MEMORY_ERROR;
}

int ssm_fixed_kernel_lost(void)
{
    int was = lost;
    lost = 0;
    return was;
}

int ssm_fixed_kernel(int on)
{
    int was = fixed;
    fixed = on != 0;
    return was;
}

int ssm_fixed_kernel_active(void) { return fixed; }

/* LAPACK's leading dimensions are at least 1 */
static int ld1(int x) { return x > 0 ? x : 1; }

/* The reference LAPACK reports a bad argument through its Fortran XERBLA, which
 * STOPs the process: the fixed-kernel paths check what LAPACKE would and return
 * −(position) as LAPACKE does instead. */
static int bad_args(int m, int n, int lda, int rows)
{
    if (m < 0) return -2;
    if (n < 0) return -3;
    if (lda < (rows > 1 ? rows : 1)) return -5;
    return 0;
}

int ssm_k_dgeev_work(char jl, char jr, int n, double *a, int lda, double *wr, double *wi, double *vl, int ldvl,
                     double *vr, int ldvr, double *work, int lwork)
{
    if (!fixed)
        return LAPACKE_dgeev_work(LAPACK_COL_MAJOR, jl, jr, n, a, lda, wr, wi, vl, ldvl, vr, ldvr, work, lwork);
    int info = bad_args(n, n, lda, n);
    if (info)
        return info;
    ldvl = ld1(ldvl);
    ldvr = ld1(ldvr);
    ssm_ref_dgeev_(&jl, &jr, &n, a, &lda, wr, wi, vl, &ldvl, vr, &ldvr, work, &lwork, &info, 1, 1);
    return lapack_info(info);
}

int ssm_k_dgeev(char jl, char jr, int n, double *a, int lda, double *wr, double *wi, double *vl, int ldvl, double *vr,
                int ldvr)
{
    if (!fixed)
        return LAPACKE_dgeev(LAPACK_COL_MAJOR, jl, jr, n, a, lda, wr, wi, vl, ldvl, vr, ldvr);
    double q = 0.0;
    int info = ssm_k_dgeev_work(jl, jr, n, a, lda, wr, wi, vl, ldvl, vr, ldvr, &q, -1), lw = (int)q;
    if (info)
        return info;
    double *w = malloc((size_t)(lw > 1 ? lw : 1) * sizeof *w);
    if (!w)
        return WORK_MEMORY_ERROR;
    info = ssm_k_dgeev_work(jl, jr, n, a, lda, wr, wi, vl, ldvl, vr, ldvr, w, lw);
    free(w);
    return info;
}

int ssm_k_dgesdd_work(char jz, int m, int n, double *a, int lda, double *s, double *u, int ldu, double *vt, int ldvt,
                      double *work, int lwork, int *iwork)
{
    if (!fixed)
        return LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, jz, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, iwork);
    int info = bad_args(m, n, lda, m);
    if (info)
        return info;
    ldu = ld1(ldu);
    ldvt = ld1(ldvt);
    ssm_ref_dgesdd_(&jz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork, &info, 1);
    return lapack_info(info);
}

int ssm_k_dgesdd(char jz, int m, int n, double *a, int lda, double *s, double *u, int ldu, double *vt, int ldvt)
{
    if (!fixed)
        return LAPACKE_dgesdd(LAPACK_COL_MAJOR, jz, m, n, a, lda, s, u, ldu, vt, ldvt);
    int mn = m < n ? m : n;
    int *iw = malloc(SSM_K_DGESDD_LIWORK(mn) * sizeof *iw);
    if (!iw)
        return WORK_MEMORY_ERROR;
    double q = 0.0;
    int info = ssm_k_dgesdd_work(jz, m, n, a, lda, s, u, ldu, vt, ldvt, &q, -1, iw), lw = (int)q;
    double *w = info ? NULL : malloc((size_t)(lw > 1 ? lw : 1) * sizeof *w);
    if (!info && !w)
        info = WORK_MEMORY_ERROR;
    if (!info)
        info = ssm_k_dgesdd_work(jz, m, n, a, lda, s, u, ldu, vt, ldvt, w, lw, iw);
    free(w);
    free(iw);
    return info;
}

int ssm_k_zgesv(int n, int nrhs, double complex *a, int lda, int *ipiv, double complex *b, int ldb)
{
    if (!fixed)
        return LAPACKE_zgesv(LAPACK_COL_MAJOR, n, nrhs, a, lda, ipiv, b, ldb);
    int info = bad_args(n, nrhs, lda, n);
    if (info)
        return info;
    if (ldb < (n > 1 ? n : 1))
        return -7;
    ssm_ref_zgesv_(&n, &nrhs, a, &lda, ipiv, b, &ldb, &info);
    return lapack_info(info);
}

int ssm_k_dgesv(int n, int nrhs, double *a, int lda, int *ipiv, double *b, int ldb)
{
    if (!fixed)
        return LAPACKE_dgesv(LAPACK_COL_MAJOR, n, nrhs, a, lda, ipiv, b, ldb);
    int info = bad_args(n, nrhs, lda, n);
    if (info)
        return info;
    if (ldb < (n > 1 ? n : 1))
        return -7;
    ssm_ref_dgesv_(&n, &nrhs, a, &lda, ipiv, b, &ldb, &info);
    return lapack_info(info);
}

int ssm_k_zgesvd_work(char ju, char jvt, int m, int n, double complex *a, int lda, double *s, double complex *u,
                      int ldu, double complex *vt, int ldvt, double complex *work, int lwork, double *rwork)
{
    if (!fixed)
        return LAPACKE_zgesvd_work(LAPACK_COL_MAJOR, ju, jvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, rwork);
    int info = bad_args(m, n, lda, m);
    if (info)
        return info;
    ldu = ld1(ldu);
    ldvt = ld1(ldvt);
    ssm_ref_zgesvd_(&ju, &jvt, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, rwork, &info, 1, 1);
    return lapack_info(info);
}

int ssm_k_zgesvd(char ju, char jvt, int m, int n, double complex *a, int lda, double *s, double complex *u, int ldu,
                 double complex *vt, int ldvt)
{
    int mn = m < n ? m : n;
    double *rw = malloc(SSM_K_ZGESVD_LRWORK(mn) * sizeof *rw);
    if (!rw)
        return WORK_MEMORY_ERROR;
    int info;
    if (!fixed) {
        info = LAPACKE_zgesvd(LAPACK_COL_MAJOR, ju, jvt, m, n, a, lda, s, u, ldu, vt, ldvt, rw);
        free(rw);
        return info;
    }
    double complex q = 0.0;
    info = ssm_k_zgesvd_work(ju, jvt, m, n, a, lda, s, u, ldu, vt, ldvt, &q, -1, rw);
    int lw = (int)creal(q);
    double complex *w = info ? NULL : malloc((size_t)(lw > 1 ? lw : 1) * sizeof *w);
    if (!info && !w)
        info = WORK_MEMORY_ERROR;
    if (!info)
        info = ssm_k_zgesvd_work(ju, jvt, m, n, a, lda, s, u, ldu, vt, ldvt, w, lw, rw);
    free(w);
    free(rw);
    return info;
}

int ssm_k_zgeev(char jl, char jr, int n, double complex *a, int lda, double complex *w, double complex *vl, int ldvl,
                double complex *vr, int ldvr)
{
    if (!fixed)
        return LAPACKE_zgeev(LAPACK_COL_MAJOR, jl, jr, n, a, lda, w, vl, ldvl, vr, ldvr);
    int info = bad_args(n, n, lda, n), lw = -1;
    if (info)
        return info;
    double complex q;
    double *rw = malloc((size_t)(2 * (n > 0 ? n : 1)) * sizeof *rw);
    if (!rw)
        return WORK_MEMORY_ERROR;
    ldvl = ld1(ldvl);
    ldvr = ld1(ldvr);
    ssm_ref_zgeev_(&jl, &jr, &n, a, &lda, w, vl, &ldvl, vr, &ldvr, &q, &lw, rw, &info, 1, 1);
    lw = (int)creal(q);
    double complex *wk = malloc((size_t)(lw > 1 ? lw : 1) * sizeof *wk);
    if (!wk) {
        free(rw);
        return WORK_MEMORY_ERROR;
    }
    ssm_ref_zgeev_(&jl, &jr, &n, a, &lda, w, vl, &ldvl, vr, &ldvr, wk, &lw, rw, &info, 1, 1);
    free(wk);
    free(rw);
    return lapack_info(info);
}

static char tr(int t) { return t == 2 ? 'C' : t == 1 ? 'T' : 'N'; }

/* Row-major C = α op(A) op(B) + β C is column-major Cᵀ = α op(B)ᵀ op(A)ᵀ + β Cᵀ:
 * the same call with the operands swapped.  t: 0 none, 1 transpose, 2 conjugate
 * transpose. */
void ssm_k_dgemm(int row_major, int ta, int tb, int m, int n, int k, double alpha, const double *a, int lda,
                 const double *b, int ldb, double beta, double *c, int ldc)
{
    if (!fixed) {
        cblas_dgemm(row_major ? CblasRowMajor : CblasColMajor, ta ? CblasTrans : CblasNoTrans,
                    tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    char ca = tr(ta), cb = tr(tb);
    lda = ld1(lda); ldb = ld1(ldb); ldc = ld1(ldc);
    if (row_major)
        ssm_ref_dgemm_(&cb, &ca, &n, &m, &k, &alpha, b, &ldb, a, &lda, &beta, c, &ldc, 1, 1);
    else
        ssm_ref_dgemm_(&ca, &cb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc, 1, 1);
}

/* Both cores on the large products, deterministically: the rows (complex
 * product) or columns (real product) of C are cut in two and each half is
 * computed by the same code as the whole, each entry in its own fixed order —
 * so the bits do not depend on whether a second thread ran, or how many CPUs
 * there are.  Below SPLIT_WORK multiply-adds the hand-over (a wake-up and a
 * wait on a condition, ~330 000 context switches in a PTD run at N = 256 with
 * the threshold at 2¹⁸) costs about what the second core saves: at 2²² that
 * run takes 46–52 s of wall time against 59–60 s at 2¹⁸ and 49–51 s at 2²⁰
 * (quiet machine, alternated runs; 12 000 context switches).  A helper that
 * spins before it sleeps was faster still with both cores free, but four
 * times slower on split products when the two threads share a core (another
 * job, taskset), so it was not kept.  Where no thread can be started both
 * halves run here, one after the other. */
#define SPLIT_WORK 4194304.0
typedef void *(*half_fn)(void *);

static int split_worth(int m, int n, int k)
{
    static _Thread_local int cpus; /* per thread: no race on the first call */
    if (!cpus) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        cpus = c > 1 ? 2 : 1;
    }
    return cpus > 1 && (double)m * (double)n * (double)k >= SPLIT_WORK;
}

/* One helper thread for the second halves, started on first use and kept: a
 * PTD run at N = 256 splits about 120 000 products, and a thread created and
 * joined per product (clone, its stack handed back by madvise and faulted in
 * again) cost ~10 % of the run in the kernel, on the caller's critical path.
 * One caller at a time owns the helper (trylock); any other caller meanwhile
 * starts a thread of its own as before.  Which thread computes a half never
 * changes its bits. */
static struct {
    pthread_mutex_t own, mu;
    pthread_cond_t go, done;
    half_fn f;
    void *arg;
    int state; /* 0 idle, 1 job posted, 2 job done */
    int up;    /* 1 once the helper runs, -1 when it could not be started */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
          NULL, NULL, 0, 0};

static void *pool_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (pool.state != 1)
            pthread_cond_wait(&pool.go, &pool.mu);
        pthread_mutex_unlock(&pool.mu);
        pool.f(pool.arg);
        pthread_mutex_lock(&pool.mu);
        pool.state = 2;
        pthread_cond_signal(&pool.done);
    }
    return NULL;
}

/* a forked child has no helper: it starts its own on first use */
static void pool_after_fork(void)
{
    pthread_mutex_init(&pool.own, NULL);
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.go, NULL);
    pthread_cond_init(&pool.done, NULL);
    pool.state = 0;
    pool.up = 0;
}

/* with pool.own held: start the helper if it is not running (signals blocked in it) */
static int pool_start(void)
{
    if (pool.up)
        return pool.up > 0;
    pthread_attr_t at;
    pthread_t t;
    sigset_t all, old;
    sigfillset(&all);
    pool.up = -1;
    if (pthread_attr_init(&at) != 0)
        return 0;
    if (pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED) == 0 &&
        pthread_sigmask(SIG_SETMASK, &all, &old) == 0) {
        if (pthread_create(&t, &at, pool_main, NULL) == 0)
            pool.up = 1;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    pthread_attr_destroy(&at);
    if (pool.up > 0)
        pthread_atfork(NULL, NULL, pool_after_fork);
    return pool.up > 0;
}

/* f(lo) on a second thread and f(hi) on this one */
static void run_halves(half_fn f, void *lo, void *hi)
{
    if (pthread_mutex_trylock(&pool.own) == 0) {
        if (pool_start()) {
            pthread_mutex_lock(&pool.mu);
            pool.f = f;
            pool.arg = lo;
            pool.state = 1;
            pthread_cond_signal(&pool.go);
            pthread_mutex_unlock(&pool.mu);
            f(hi);
            pthread_mutex_lock(&pool.mu);
            while (pool.state != 2)
                pthread_cond_wait(&pool.done, &pool.mu);
            pool.state = 0;
            pthread_mutex_unlock(&pool.mu);
            pthread_mutex_unlock(&pool.own);
            return;
        }
        pthread_mutex_unlock(&pool.own);
    }
    pthread_t t;
    if (pthread_create(&t, NULL, f, lo) != 0) {
        f(lo);
        f(hi);
        return;
    }
    f(hi);
    pthread_join(t, NULL);
}

/* The fixed kernel's complex product (the optimiser's hot spot: 63% of a PTD
 * run on reference zgemm).  Split real/imaginary panels, eight rows of C at a
 * time; every entry of C is summed over l = 0, 1, … in this order and each
 * step is (cr + ((ar br) − (ai bi))) — no FMA (ISO C: -ffp-contract=off), so
 * the clones for wider vector units (which only process more j at once) give
 * the same bits as the baseline build.  P (m×n, split) = op(A) op(B). */
typedef double v8 __attribute__((vector_size(64))); /* GCC vector extension: elementwise IEEE arithmetic */

/* unaligned loads and stores of 8 doubles (macros: a v8 passed by value would change the ABI between clones) */
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(v8))
#define STORE8(p, v) memcpy((p), &(v), sizeof(v8))

/* Blocks of 8 rows × 8 columns of P in registers (m and n are multiples of 8:
 * split_panels pads with zeros); the 8-column chunk of B (k × 8, real and
 * imaginary) is the outer loop, so that it stays in cache while every row
 * block passes over it (with the rows outside, each row block streamed all of
 * B from memory: at N = 256 the product ran at the speed of the L3, and its
 * real part alone no faster than the whole). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void panel_product(double *pr, double *pi, const double *ar, const double *ai, const double *br,
                          const double *bi, int m, int n, int k)
{
    enum { JB = 8, RB = 8 };
    for (int j0 = 0; j0 < n; j0 += JB)
        for (int i0 = 0; i0 < m; i0 += RB) {
            const double *a0r = ar + (size_t)i0 * k, *a0i = ai + (size_t)i0 * k;
            v8 cr[RB] = {{0}}, ci[RB] = {{0}};
            for (int l = 0; l < k; l++) {
                v8 x, y;
                LOAD8(x, br + (size_t)l * n + j0);
                LOAD8(y, bi + (size_t)l * n + j0);
                for (int r = 0; r < RB; r++) {
                    double xr = a0r[(size_t)r * k + l], xi = a0i[(size_t)r * k + l];
                    cr[r] += xr * x - xi * y;
                    ci[r] += xr * y + xi * x;
                }
            }
            for (int r = 0; r < RB; r++) {
                STORE8(pr + (size_t)(i0 + r) * n + j0, cr[r]);
                STORE8(pi + (size_t)(i0 + r) * n + j0, ci[r]);
            }
        }
}

/* panel_product's real part alone, for the products of which only Re is used
 * (half the arithmetic), 8 rows at a time: each entry is summed as the real
 * part is there, (cr + ((ar br) − (ai bi))) over l = 0, 1, …, so it has those
 * bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void panel_product_re(double *pr, const double *ar, const double *ai, const double *br, const double *bi,
                             int m, int n, int k)
{
    enum { JB = 8, RB = 8 };
    for (int j0 = 0; j0 < n; j0 += JB)
        for (int i0 = 0; i0 < m; i0 += RB) {
            const double *a0r = ar + (size_t)i0 * k, *a0i = ai + (size_t)i0 * k;
            v8 c[RB] = {{0}};
            for (int l = 0; l < k; l++) {
                v8 x, y;
                LOAD8(x, br + (size_t)l * n + j0);
                LOAD8(y, bi + (size_t)l * n + j0);
                for (int r = 0; r < RB; r++)
                    c[r] += a0r[(size_t)r * k + l] * x - a0i[(size_t)r * k + l] * y;
            }
            for (int r = 0; r < RB; r++)
                STORE8(pr + (size_t)(i0 + r) * n + j0, c[r]);
        }
}

typedef struct {
    double *pr, *pi;
    const double *ar, *ai, *br, *bi;
    int m, n, k;
} panel_job;

/* pi == NULL: the real part alone */
static void *panel_half(void *arg)
{
    panel_job *j = arg;
    if (j->pi)
        panel_product(j->pr, j->pi, j->ar, j->ai, j->br, j->bi, j->m, j->n, j->k);
    else
        panel_product_re(j->pr, j->ar, j->ai, j->br, j->bi, j->m, j->n, j->k);
    return NULL;
}

/* panel_product (or its real part), its rows split in two when that pays */
static void panel_rows(double *pr, double *pi, const double *ar, const double *ai, const double *br,
                       const double *bi, int m, int n, int k)
{
    int m1 = m / 16 * 8; /* a multiple of both kernels' row blocks */
    if (m1 == 0 || !split_worth(m, n, k)) {
        panel_job all = {pr, pi, ar, ai, br, bi, m, n, k};
        panel_half(&all);
        return;
    }
    size_t o = (size_t)m1 * n, oa = (size_t)m1 * k;
    panel_job lo = {pr, pi, ar, ai, br, bi, m1, n, k},
              hi = {pr + o, pi ? pi + o : NULL, ar + oa, ai + oa, br, bi, m - m1, n, k};
    run_halves(panel_half, &lo, &hi);
}

/* m or n rounded up to the panels' multiple of 8 */
static int pad8(int x) { return (x + 7) / 8 * 8; }

/* op(X)_il of the row-major X into the split panel rows (re, im: rows × cols,
 * row-major), zero beyond the rows × cols given */
static void split_one(double *re, double *im, int rows, int cols, int rows8, int cols8, const double complex *x,
                      int ld, int t)
{
    double sign = t == 2 ? -1.0 : 1.0; /* conjugate: the imaginary part negated (exact) */
    for (int i = 0; i < rows8; i++) { /* the padding */
        int from = i < rows ? cols : 0;
        memset(re + (size_t)i * cols8 + from, 0, (size_t)(cols8 - from) * sizeof *re);
        memset(im + (size_t)i * cols8 + from, 0, (size_t)(cols8 - from) * sizeof *im);
    }
    if (!t) {
        for (int i = 0; i < rows; i++)
            for (int l = 0; l < cols; l++) {
                re[(size_t)i * cols8 + l] = creal(x[(size_t)i * ld + l]);
                im[(size_t)i * cols8 + l] = cimag(x[(size_t)i * ld + l]);
            }
        return;
    }
    enum { T = 16 }; /* X stored transposed: copied in T × T tiles, both sides within a few cache lines */
    for (int i0 = 0; i0 < rows; i0 += T)
        for (int l0 = 0; l0 < cols; l0 += T)
            for (int i = i0; i < i0 + T && i < rows; i++)
                for (int l = l0; l < l0 + T && l < cols; l++) {
                    re[(size_t)i * cols8 + l] = creal(x[(size_t)l * ld + i]);
                    im[(size_t)i * cols8 + l] = sign * cimag(x[(size_t)l * ld + i]);
                }
}

/* op(A) (m×k) and op(B) (k×n) of row-major A, B into split real/imaginary
 * panels at the start of work, m and n padded to multiples of 8 with zeros
 * (zero terms in padded entries only; a real entry's sum is untouched);
 * returns where the product P (pad8(m) × pad8(n)) goes after them */
static double *split_panels(int ta, int tb, int m, int n, int k, const double complex *a, int lda,
                            const double complex *b, int ldb, double *work)
{
    size_t mk = (size_t)pad8(m) * k, kn = (size_t)k * pad8(n);
    double *ar = work, *ai = ar + mk, *br = ai + mk, *bi = br + kn;
    split_one(ar, ai, m, k, pad8(m), k, a, lda, ta);
    split_one(br, bi, k, n, k, pad8(n), b, ldb, tb);
    return bi + kn;
}

/* P (m×n, split) = op(A) op(B) on the fixed kernel, then C = α P + β C; work:
 * ssm_k_zgemm_lwork(m, n, k) doubles for the split panels */
static void fixed_zgemm(int row_major, int ta, int tb, int m, int n, int k, double complex alpha,
                        const double complex *a, int lda, const double complex *b, int ldb, double complex beta,
                        double complex *c, int ldc, double *work)
{
    if (!row_major) { /* column-major C = op(A) op(B) is row-major Cᵀ = op(B)ᵀ op(A)ᵀ */
        fixed_zgemm(1, tb, ta, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc, work);
        return;
    }
    const int m8 = pad8(m), n8 = pad8(n);
    double *pr = split_panels(ta, tb, m, n, k, a, lda, b, ldb, work), *pi = pr + (size_t)m8 * n8;
    const double *ar = work, *ai = ar + (size_t)m8 * k, *br = ai + (size_t)m8 * k, *bi = br + (size_t)k * n8;
    panel_rows(pr, pi, ar, ai, br, bi, m8, n8, k);
    /* α = 1, β = 0: C = P, which is what 1·P gives for finite P (neither part of a sum from +0 is −0,
     * so 1·p − 0·q and 1·q + 0·p are p and q exactly) */
    const int plain = creal(alpha) == 1.0 && cimag(alpha) == 0.0 && beta == 0.0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double xr = pr[(size_t)i * n8 + j], xi = pi[(size_t)i * n8 + j];
            double complex *cij = c + (size_t)i * ldc + j;
            if (plain && isfinite(xr) && isfinite(xi))
                *cij = CMPLX(xr, xi);
            else
                *cij = beta == 0.0 ? alpha * CMPLX(xr, xi) : alpha * CMPLX(xr, xi) + beta * *cij;
        }
}

size_t ssm_k_zgemm_lwork(int m, int n, int k)
{
    if (m <= 0 || n <= 0 || k <= 0)
        return 0;
    size_t m8 = (size_t)pad8(m), n8 = (size_t)pad8(n);
    return 2 * (m8 * (size_t)k + (size_t)k * n8 + m8 * n8);
}

void ssm_k_zgemm_work(int row_major, int ta, int tb, int m, int n, int k, double complex alpha,
                      const double complex *a, int lda, const double complex *b, int ldb, double complex beta,
                      double complex *c, int ldc, double *work)
{
    if (!fixed) {
        static const enum CBLAS_TRANSPOSE T[3] = {CblasNoTrans, CblasTrans, CblasConjTrans};
        cblas_zgemm(row_major ? CblasRowMajor : CblasColMajor, T[ta], T[tb], m, n, k, &alpha, a, lda, b, ldb, &beta,
                    c, ldc);
        return;
    }
    if (m > 0 && n > 0 && k > 0) {
        fixed_zgemm(row_major, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work);
        return;
    }
    /* an empty product: the reference zgemm's quick return and β scaling */
    char ca = tr(ta), cb = tr(tb);
    lda = ld1(lda); ldb = ld1(ldb); ldc = ld1(ldc);
    if (row_major)
        ssm_ref_zgemm_(&cb, &ca, &n, &m, &k, &alpha, b, &ldb, a, &lda, &beta, c, &ldc, 1, 1);
    else
        ssm_ref_zgemm_(&ca, &cb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc, 1, 1);
}

void ssm_k_zgemm_re_work(int ta, int tb, int m, int n, int k, const double complex *a, int lda,
                         const double complex *b, int ldb, double *c, int ldc, double *work)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) { /* an empty sum (no workspace: ssm_k_zgemm_lwork is 0) */
        for (int i = 0; i < m; i++)
            memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof *c);
        return;
    }
    if (!fixed) { /* the whole product into work (m n complex), its real part out */
        double complex *p = (double complex *)work;
        ssm_k_zgemm_work(1, ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, p, n, NULL);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c[(size_t)i * ldc + j] = creal(p[(size_t)i * n + j]);
        return;
    }
    const int m8 = pad8(m), n8 = pad8(n);
    double *pr = split_panels(ta, tb, m, n, k, a, lda, b, ldb, work);
    const double *ar = work, *ai = ar + (size_t)m8 * k, *br = ai + (size_t)m8 * k, *bi = br + (size_t)k * n8;
    panel_rows(pr, NULL, ar, ai, br, bi, m8, n8, k);
    for (int i = 0; i < m; i++)
        memcpy(c + (size_t)i * ldc, pr + (size_t)i * n8, (size_t)n * sizeof *c);
}

void ssm_k_zgram_work(int xstar, int n, const double complex *x, double complex *g, double *work)
{
    enum { RB = 32 };
    size_t N = n > 0 ? (size_t)n : 0;
    for (size_t i0 = 0; i0 < N; i0 += RB) {
        int m = (int)(N - i0 < RB ? N - i0 : RB), cols = (int)(N - i0);
        const double complex *xi = xstar ? x + i0 : x + i0 * N;
        ssm_k_zgemm_work(1, xstar ? 2 : 0, xstar ? 0 : 2, m, cols, n, 1.0, xi, n, xi, n, 0.0, g + i0 * N + i0, n,
                         work);
    }
    for (size_t i = 1; i < N; i++)
        for (size_t k = 0; k < i; k++) {
            double complex z = g[k * N + i];
            double im = cimag(z);
            g[i * N + k] = CMPLX(creal(z), im == 0.0 ? 0.0 : -im);
        }
}

/* No fallback when the panels cannot be allocated: the reference zgemm sums
 * α op(A) op(B) + β C in another order (α inside the sum, C as its first term),
 * so its bits differ from fixed_zgemm's whenever α ≠ 1 or β ≠ 0 — the failure
 * is reported instead (tests/t-core.c shows the difference). */
int ssm_k_zgemm(int row_major, int ta, int tb, int m, int n, int k, double complex alpha, const double complex *a,
                int lda, const double complex *b, int ldb, double complex beta, double complex *c, int ldc)
{
    size_t lw = fixed ? ssm_k_zgemm_lwork(m, n, k) : 0;
    double *work = lw ? malloc(lw * sizeof *work) : NULL;
    if (lw && !work)
        return WORK_MEMORY_ERROR;
    ssm_k_zgemm_work(row_major, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work);
    free(work);
    return 0;
}

/* The fixed kernel's real product, in place of the reference BLAS dgemm (which
 * scripts/ref-kernel leaves out of the reference object, so that the reference
 * LAPACK inside — dgeev's Hessenberg and QR sweeps, dgesdd's bidiagonalisation —
 * calls this one; it was 43 % of a PTD step at N = 256).  Column-major, BLAS
 * semantics (β = 0: C is not read; α = 0 or k = 0: C = β C).  Every entry is
 * P_ij = Σ_l op(A)_il op(B)_lj summed over l = 0, 1, … in this order from 0,
 * then C_ij = α P_ij (+ β C_ij): an 8-row × 4-column block of C is held in
 * registers and the clones only process more rows at once (no FMA), so every
 * build gives the same bits.  op(A) is copied into a column-major panel when
 * it is transposed or M is not a multiple of 8, padded with zero rows to a
 * multiple of 8 (a thread-local buffer; where it cannot grow, the entries are
 * computed one at a time, read in place, in the same order). */
static _Thread_local double *dg_buf;
static _Thread_local size_t dg_cap;

/* op(X)_il of a column-major X */
static inline double dg_at(const double *x, int ld, int t, int i, int l)
{
    return t ? x[(size_t)i * ld + l] : x[(size_t)l * ld + i];
}

/* C_ij = α p (+ β C_ij) */
static inline void dg_store(double *c, double p, double alpha, double beta)
{
    *c = beta == 0.0 ? alpha * p : alpha * p + beta * *c;
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void dg_blocks(int m, int n, int k, double alpha, const double *a, int lda, const double *b, int ldb, int tb,
                      double beta, double *c, int ldc)
{
    for (int j0 = 0; j0 < n; j0 += 4) {
        const int nq = n - j0 < 4 ? n - j0 : 4;
        for (int i0 = 0; i0 < m; i0 += 8) {
            v8 acc[4] = {{0}};
            if (nq == 4) {
                v8 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
                for (int l = 0; l < k; l++) {
                    v8 x;
                    LOAD8(x, a + (size_t)l * lda + i0);
                    c0 += x * dg_at(b, ldb, tb, l, j0);
                    c1 += x * dg_at(b, ldb, tb, l, j0 + 1);
                    c2 += x * dg_at(b, ldb, tb, l, j0 + 2);
                    c3 += x * dg_at(b, ldb, tb, l, j0 + 3);
                }
                acc[0] = c0; acc[1] = c1; acc[2] = c2; acc[3] = c3;
            } else { /* the last 1–3 columns */
                for (int l = 0; l < k; l++) {
                    v8 x;
                    LOAD8(x, a + (size_t)l * lda + i0);
                    for (int q = 0; q < nq; q++)
                        acc[q] += x * dg_at(b, ldb, tb, l, j0 + q);
                }
            }
            for (int q = 0; q < nq; q++) {
                double *cq = c + (size_t)(j0 + q) * ldc + i0;
                if (m - i0 >= 8) { /* C = α P (+ β C), elementwise as dg_store */
                    v8 y = alpha * acc[q];
                    if (beta != 0.0) {
                        v8 old;
                        LOAD8(old, cq);
                        y = alpha * acc[q] + beta * old;
                    }
                    STORE8(cq, y);
                } else {
                    for (int r = 0; r < m - i0; r++)
                        dg_store(cq + r, acc[q][r], alpha, beta);
                }
            }
        }
    }
}

typedef struct {
    int m, n, k, lda, ldb, tb, ldc;
    double alpha, beta;
    const double *a, *b;
    double *c;
} dg_job;

static void *dg_half(void *arg)
{
    dg_job *j = arg;
    dg_blocks(j->m, j->n, j->k, j->alpha, j->a, j->lda, j->b, j->ldb, j->tb, j->beta, j->c, j->ldc);
    return NULL;
}

/* dg_blocks, its columns split in two (at a multiple of 4) when that pays */
static void dg_columns(int m, int n, int k, double alpha, const double *a, int lda, const double *b, int ldb, int tb,
                       double beta, double *c, int ldc)
{
    int n1 = n / 8 * 4;
    if (n1 == 0 || !split_worth(m, n, k)) {
        dg_blocks(m, n, k, alpha, a, lda, b, ldb, tb, beta, c, ldc);
        return;
    }
    /* column j of op(B) starts at b + j ldb (tb = 0) or b + j (tb = 1) */
    const double *b1 = tb ? b + n1 : b + (size_t)n1 * ldb;
    dg_job lo = {m, n1, k, lda, ldb, tb, ldc, alpha, beta, a, b, c},
           hi = {m, n - n1, k, lda, ldb, tb, ldc, alpha, beta, a, b1, c + (size_t)n1 * ldc};
    run_halves(dg_half, &lo, &hi);
}

/* every entry one at a time, in dg_blocks' order (where no panel can be allocated) */
static void dg_each(int m, int n, int k, double alpha, const double *a, int lda, int ta, const double *b, int ldb,
                    int tb, double beta, double *c, int ldc)
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double p = 0.0;
            for (int l = 0; l < k; l++)
                p += dg_at(a, lda, ta, i, l) * dg_at(b, ldb, tb, l, j);
            dg_store(c + (size_t)j * ldc + i, p, alpha, beta);
        }
}

void ssm_ref_dgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
                    const double *alpha, const double *a, const int *lda, const double *b, const int *ldb,
                    const double *beta, double *c, const int *ldc, size_t la, size_t lb)
{
    (void)la; (void)lb;
    int M = *m, N = *n, K = *k, ldA = *lda, ldC = *ldc;
    int ta = *transa != 'N' && *transa != 'n', tb = *transb != 'N' && *transb != 'n';
    double al = *alpha, be = *beta;
    if (M <= 0 || N <= 0)
        return;
    if (al == 0.0 || K <= 0) {
        for (int j = 0; j < N; j++)
            for (int i = 0; i < M; i++)
                c[(size_t)j * ldC + i] = be == 0.0 ? 0.0 : be * c[(size_t)j * ldC + i];
        return;
    }
    /* op(A) into a column-major panel of M rounded up to 8 rows (zeros below) when it is transposed or M
     * is not a multiple of 8: the blocks then cover every entry (rows beyond M are computed, not stored) */
    const int M8 = (M + 7) / 8 * 8;
    if (ta || M8 != M) {
        size_t need = (size_t)M8 * (size_t)K;
        if (need > dg_cap) {
            double *nb = realloc(dg_buf, need * sizeof *nb);
            if (!nb) { /* no panel: every entry one at a time, read in place, in the same order, and the
                        * lost memory reported by the LAPACK wrapper that called this (lapack_info) */
                dg_each(M, N, K, al, a, ldA, ta, b, *ldb, tb, be, c, ldC);
                lost = 1;
                return;
            }
            dg_buf = nb;
            dg_cap = need;
        }
        for (int l = 0; l < K; l++) {
            double *col = dg_buf + (size_t)l * M8;
            for (int i = 0; i < M; i++)
                col[i] = ta ? a[(size_t)i * ldA + l] : a[(size_t)l * ldA + i];
            for (int i = M; i < M8; i++)
                col[i] = 0.0;
        }
        a = dg_buf;
        ldA = M8;
    }
    dg_columns(M, N, K, al, a, ldA, b, *ldb, tb, be, c, ldC);
}

/* The fixed kernel's matrix–vector product, in place of the reference BLAS
 * dgemv for the same reason as dgemm above (the Householder panels of dgeev's
 * Hessenberg and dgesdd's bidiagonal reductions).  BLAS semantics, any
 * increments; each entry p = Σ op(A)_ij x_j summed over j = 0, 1, … from 0, then
 * y = α p (+ β y): 8 rows at a time in registers (A as is; the clones only
 * widen the rows) or 4 columns at a time in scalars (Aᵀ). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void dv_rows(int m, int n, double alpha, const double *a, int lda, const double *x, int incx, double beta,
                    double *y, int incy)
{
    int i0 = 0;
    for (; i0 + 32 <= m; i0 += 32) { /* four independent sums per column: not bound by the adder's latency */
        v8 acc[4] = {{0}};
        for (int j = 0; j < n; j++) {
            const double *col = a + (size_t)j * lda + i0;
            double xj = x[(ptrdiff_t)j * incx];
            for (int q = 0; q < 4; q++) {
                v8 v;
                LOAD8(v, col + 8 * q);
                acc[q] += v * xj;
            }
        }
        for (int q = 0; q < 4; q++)
            for (int r = 0; r < 8; r++)
                dg_store(y + (ptrdiff_t)(i0 + 8 * q + r) * incy, acc[q][r], alpha, beta);
    }
    for (; i0 + 8 <= m; i0 += 8) {
        v8 acc = {0};
        for (int j = 0; j < n; j++) {
            v8 col;
            LOAD8(col, a + (size_t)j * lda + i0);
            acc += col * x[(ptrdiff_t)j * incx];
        }
        for (int r = 0; r < 8; r++)
            dg_store(y + (ptrdiff_t)(i0 + r) * incy, acc[r], alpha, beta);
    }
    for (int i = m / 8 * 8; i < m; i++) {
        double p = 0.0;
        for (int j = 0; j < n; j++)
            p += a[(size_t)j * lda + i] * x[(ptrdiff_t)j * incx];
        dg_store(y + (ptrdiff_t)i * incy, p, alpha, beta);
    }
}

static void dv_cols(int m, int n, double alpha, const double *a, int lda, const double *x, int incx, double beta,
                    double *y, int incy)
{
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const double *c0 = a + (size_t)j * lda, *c1 = c0 + lda, *c2 = c1 + lda, *c3 = c2 + lda;
        double p0 = 0.0, p1 = 0.0, p2 = 0.0, p3 = 0.0;
        for (int i = 0; i < m; i++) {
            double xi = x[(ptrdiff_t)i * incx];
            p0 += c0[i] * xi;
            p1 += c1[i] * xi;
            p2 += c2[i] * xi;
            p3 += c3[i] * xi;
        }
        dg_store(y + (ptrdiff_t)j * incy, p0, alpha, beta);
        dg_store(y + (ptrdiff_t)(j + 1) * incy, p1, alpha, beta);
        dg_store(y + (ptrdiff_t)(j + 2) * incy, p2, alpha, beta);
        dg_store(y + (ptrdiff_t)(j + 3) * incy, p3, alpha, beta);
    }
    for (; j < n; j++) {
        const double *c0 = a + (size_t)j * lda;
        double p = 0.0;
        for (int i = 0; i < m; i++)
            p += c0[i] * x[(ptrdiff_t)i * incx];
        dg_store(y + (ptrdiff_t)j * incy, p, alpha, beta);
    }
}

void ssm_ref_dgemv_(const char *trans, const int *m, const int *n, const double *alpha, const double *a,
                    const int *lda, const double *x, const int *incx, const double *beta, double *y, const int *incy,
                    size_t lt)
{
    (void)lt;
    int M = *m, N = *n, ix = *incx, iy = *incy, t = *trans != 'N' && *trans != 'n';
    double al = *alpha, be = *beta;
    if (M <= 0 || N <= 0 || (al == 0.0 && be == 1.0))
        return;
    int lx = t ? M : N, ly = t ? N : M;
    /* a negative increment walks the vector from its end (BLAS) */
    x += ix < 0 ? -(ptrdiff_t)(lx - 1) * ix : 0;
    y += iy < 0 ? -(ptrdiff_t)(ly - 1) * iy : 0;
    if (al == 0.0) {
        for (int i = 0; i < ly; i++)
            y[(ptrdiff_t)i * iy] = be == 0.0 ? 0.0 : be * y[(ptrdiff_t)i * iy];
        return;
    }
    if (t)
        dv_cols(M, N, al, a, *lda, x, ix, be, y, iy);
    else
        dv_rows(M, N, al, a, *lda, x, ix, be, y, iy);
}

/* The fixed kernel's triangular solve, in place of the reference BLAS dtrsm
 * (scripts/ref-kernel leaves it out; the LU solves of PTD's V⁻¹ and dgetrf
 * spent ~9 % of a PTD run at N = 256 in its scalar loops).  BLAS semantics,
 * and the reference's operations in the reference's order entry by entry, so
 * the bits are the reference's: op(A) X = α B (left) or X op(A) = α B (right),
 * X over B.  The left, untransposed solves (the LU's) update each column of B
 * as a sequence of axpys B(i) −= B(k)·A(i,k) over k; those run 8 rows at a
 * time (the clones only widen the rows: no FMA), and the columns split over
 * two threads when that pays — columns are independent,
 * so neither changes a bit.  The other six cases are the reference loops. */
#define TA(i, k) a[(size_t)(k) * lda + (i)]
#define TB(i, j) b[(size_t)(j) * ldb + (i)]

/* y_i += s·x_i for i in [i0, i1), 8 at a time where they fit (y_i −= s·x_i is this with −s: the
 * product of −s is the negated product, and y + (−p) is y − p, bit for bit) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void axpy8(double *restrict y, const double *restrict x, double s, int i0, int i1)
{
    int i = i0;
    for (; i + 8 <= i1; i += 8) {
        v8 u, v;
        LOAD8(u, y + i);
        LOAD8(v, x + i);
        u = u + v * s;
        STORE8(y + i, u);
    }
    for (; i < i1; i++)
        y[i] = y[i] + x[i] * s;
}

/* a dtrsm or dtrmm call, decoded (tri_decode), with its operands; a thread's
 * half is a copy with fewer columns (n) or rows (m) and b moved to its first entry */
typedef struct {
    int m, n, lda, ldb, left, upper, trans, unit;
    double alpha;
    const double *a;
    double *b;
} tri_call;

/* left, untransposed: the reference's loops for columns [0, n) of the call */
static void *trsm_left_cols(void *arg)
{
    const tri_call *t = arg;
    const int m = t->m, lda = t->lda, ldb = t->ldb;
    const double *a = t->a;
    double *b = t->b;
    for (int j = 0; j < t->n; j++) {
        double *bj = b + (size_t)j * ldb;
        if (t->alpha != 1.0)
            for (int i = 0; i < m; i++)
                bj[i] = t->alpha * bj[i];
        for (int s = 0; s < m; s++) {
            int k = t->upper ? m - 1 - s : s;
            if (bj[k] != 0.0) {
                if (!t->unit)
                    bj[k] = bj[k] / TA(k, k);
                if (t->upper)
                    axpy8(bj, a + (size_t)k * lda, -bj[k], 0, k);
                else
                    axpy8(bj, a + (size_t)k * lda, -bj[k], k + 1, m);
            }
        }
    }
    return NULL;
}

/* op(A) = Aᵀ on the left: dot products, the reference's order */
static void trsm_left_trans(int upper, int unit, int m, int n, double alpha, const double *a, int lda, double *b,
                            int ldb)
{
    for (int j = 0; j < n; j++)
        for (int s = 0; s < m; s++) {
            int i = upper ? s : m - 1 - s;
            double temp = alpha * TB(i, j);
            if (upper)
                for (int k = 0; k < i; k++)
                    temp = temp - TA(k, i) * TB(k, j);
            else
                for (int k = i + 1; k < m; k++)
                    temp = temp - TA(k, i) * TB(k, j);
            if (!unit)
                temp = temp / TA(i, i);
            TB(i, j) = temp;
        }
}

/* X op(A) = α B: the reference's column operations */
static void trsm_right(int upper, int trans, int unit, int m, int n, double alpha, const double *a, int lda,
                       double *b, int ldb)
{
    if (!trans) {
        for (int s = 0; s < n; s++) {
            int j = upper ? s : n - 1 - s;
            if (alpha != 1.0)
                for (int i = 0; i < m; i++)
                    TB(i, j) = alpha * TB(i, j);
            for (int k = upper ? 0 : j + 1; k < (upper ? j : n); k++)
                if (TA(k, j) != 0.0)
                    for (int i = 0; i < m; i++)
                        TB(i, j) = TB(i, j) - TA(k, j) * TB(i, k);
            if (!unit) {
                double temp = 1.0 / TA(j, j);
                for (int i = 0; i < m; i++)
                    TB(i, j) = temp * TB(i, j);
            }
        }
        return;
    }
    for (int s = 0; s < n; s++) {
        int k = upper ? n - 1 - s : s;
        if (!unit) {
            double temp = 1.0 / TA(k, k);
            for (int i = 0; i < m; i++)
                TB(i, k) = temp * TB(i, k);
        }
        for (int j = upper ? 0 : k + 1; j < (upper ? k : n); j++)
            if (TA(j, k) != 0.0) {
                double temp = TA(j, k);
                for (int i = 0; i < m; i++)
                    TB(i, j) = TB(i, j) - temp * TB(i, k);
            }
        if (alpha != 1.0)
            for (int i = 0; i < m; i++)
                TB(i, k) = alpha * TB(i, k);
    }
}

/* the arguments dtrsm and dtrmm share, decoded; 0 when nothing is left to do (an empty B, or α = 0,
 * where both set B = 0 as the reference does) */
static int tri_decode(tri_call *t, const char *side, const char *uplo, const char *transa, const char *diag,
                      const int *m, const int *n, const double *alpha, const double *a, const int *lda, double *b,
                      const int *ldb)
{
    *t = (tri_call){*m, *n, *lda, *ldb, *side == 'L' || *side == 'l', *uplo == 'U' || *uplo == 'u',
                    !(*transa == 'N' || *transa == 'n'), *diag == 'U' || *diag == 'u', *alpha, a, b};
    if (t->m == 0 || t->n == 0)
        return 0;
    if (t->alpha == 0.0) {
        for (int j = 0; j < t->n; j++)
            for (int i = 0; i < t->m; i++)
                b[(size_t)j * t->ldb + i] = 0.0;
        return 0;
    }
    return 1;
}

/* a decoded dtrsm with work to do */
static void trsm(tri_call *t)
{
    if (!t->left) {
        trsm_right(t->upper, t->trans, t->unit, t->m, t->n, t->alpha, t->a, t->lda, t->b, t->ldb);
        return;
    }
    if (t->trans) {
        trsm_left_trans(t->upper, t->unit, t->m, t->n, t->alpha, t->a, t->lda, t->b, t->ldb);
        return;
    }
    int n1 = t->n / 2;
    if (n1 == 0 || !split_worth(t->m, t->n, t->m)) {
        trsm_left_cols(t);
        return;
    }
    tri_call lo = *t, hi = *t;
    lo.n = n1;
    hi.n = t->n - n1;
    hi.b = t->b + (size_t)n1 * t->ldb;
    run_halves(trsm_left_cols, &lo, &hi);
}

/* The fixed kernel's triangular product and rank-1 update, in place of the
 * reference dtrmm and dger for the same reason as dtrsm (the block reflectors
 * of dgeev's Hessenberg reduction and of dgesdd: ~6 % of a PTD run at N = 256
 * in their scalar loops): the reference's operations in its order entry by
 * entry.  Right-side products transform each row of B on its own, so they run
 * their rows in two halves on two threads when that pays; the axpys go 8 rows
 * at a time. */

/* y_i = s·y_i for i in [0, m) */
static void scale_col(double *y, double s, int m)
{
    for (int i = 0; i < m; i++)
        y[i] = s * y[i];
}

/* B := α B op(A) on rows [0, m) of the call's B (the reference's column operations) */
static void *trmm_right_rows(void *arg)
{
    const tri_call *t = arg;
    const int m = t->m, n = t->n, lda = t->lda, ldb = t->ldb, upper = t->upper;
    const double *a = t->a, alpha = t->alpha;
    double *b = t->b;
    if (!t->trans) {
        for (int s = 0; s < n; s++) {
            int j = upper ? n - 1 - s : s;
            double temp = alpha;
            if (!t->unit)
                temp = temp * TA(j, j);
            scale_col(&TB(0, j), temp, m);
            for (int k = upper ? 0 : j + 1; k < (upper ? j : n); k++)
                if (TA(k, j) != 0.0)
                    axpy8(&TB(0, j), &TB(0, k), alpha * TA(k, j), 0, m);
        }
        return NULL;
    }
    for (int s = 0; s < n; s++) {
        int k = upper ? s : n - 1 - s;
        for (int j = upper ? 0 : k + 1; j < (upper ? k : n); j++)
            if (TA(j, k) != 0.0)
                axpy8(&TB(0, j), &TB(0, k), alpha * TA(j, k), 0, m);
        double temp = alpha;
        if (!t->unit)
            temp = temp * TA(k, k);
        if (temp != 1.0)
            scale_col(&TB(0, k), temp, m);
    }
    return NULL;
}

/* B := α op(A) B (the reference's loops: axpys untransposed, dot products transposed) */
static void trmm_left(int upper, int trans, int unit, int m, int n, double alpha, const double *a, int lda,
                      double *b, int ldb)
{
    for (int j = 0; j < n; j++) {
        double *bj = &TB(0, j);
        if (!trans) {
            for (int s = 0; s < m; s++) {
                int k = upper ? s : m - 1 - s;
                if (bj[k] == 0.0)
                    continue;
                double temp = alpha * bj[k];
                if (upper) {
                    axpy8(bj, a + (size_t)k * lda, temp, 0, k);
                    if (!unit)
                        temp = temp * TA(k, k);
                    bj[k] = temp;
                } else {
                    bj[k] = temp;
                    if (!unit)
                        bj[k] = bj[k] * TA(k, k);
                    axpy8(bj, a + (size_t)k * lda, temp, k + 1, m);
                }
            }
            continue;
        }
        for (int s = 0; s < m; s++) {
            int i = upper ? m - 1 - s : s;
            double temp = bj[i];
            if (!unit)
                temp = temp * TA(i, i);
            for (int k = upper ? 0 : i + 1; k < (upper ? i : m); k++)
                temp = temp + TA(k, i) * bj[k];
            bj[i] = alpha * temp;
        }
    }
}

/* a decoded dtrmm with work to do */
static void trmm(tri_call *t)
{
    if (t->left) {
        trmm_left(t->upper, t->trans, t->unit, t->m, t->n, t->alpha, t->a, t->lda, t->b, t->ldb);
        return;
    }
    int m1 = t->m / 16 * 8; /* the first half a multiple of 8 rows */
    if (m1 == 0 || !split_worth(t->m, t->n, t->n)) {
        trmm_right_rows(t);
        return;
    }
    tri_call lo = *t, hi = *t;
    lo.m = m1;
    hi.m = t->m - m1;
    hi.b = t->b + m1;
    run_halves(trmm_right_rows, &lo, &hi);
}

/* the Fortran entries: hidden string lengths last */
void ssm_ref_dtrsm_(const char *side, const char *uplo, const char *transa, const char *diag, const int *m,
                    const int *n, const double *alpha, const double *a, const int *lda, double *b, const int *ldb,
                    size_t l1, size_t l2, size_t l3, size_t l4)
{
    tri_call t;
    (void)l1; (void)l2; (void)l3; (void)l4;
    if (tri_decode(&t, side, uplo, transa, diag, m, n, alpha, a, lda, b, ldb))
        trsm(&t);
}

void ssm_ref_dtrmm_(const char *side, const char *uplo, const char *transa, const char *diag, const int *m,
                    const int *n, const double *alpha, const double *a, const int *lda, double *b, const int *ldb,
                    size_t l1, size_t l2, size_t l3, size_t l4)
{
    tri_call t;
    (void)l1; (void)l2; (void)l3; (void)l4;
    if (tri_decode(&t, side, uplo, transa, diag, m, n, alpha, a, lda, b, ldb))
        trmm(&t);
}

/* A += α x yᵀ (the reference's order: column by column, skipping y_j = 0) */
void ssm_ref_dger_(const int *m, const int *n, const double *alpha, const double *x, const int *incx,
                   const double *y, const int *incy, double *a, const int *lda)
{
    int M = *m, N = *n, ix = *incx, iy = *incy, ldA = *lda;
    double al = *alpha;
    if (M == 0 || N == 0 || al == 0.0)
        return;
    int jy = iy > 0 ? 0 : -(N - 1) * iy, kx = ix > 0 ? 0 : -(M - 1) * ix;
    for (int j = 0; j < N; j++, jy += iy) {
        if (y[jy] == 0.0)
            continue;
        double temp = al * y[jy];
        double *aj = a + (size_t)j * ldA;
        if (ix == 1) {
            axpy8(aj, x, temp, 0, M);
        } else {
            for (int i = 0, k = kx; i < M; i++, k += ix)
                aj[i] = aj[i] + x[k] * temp;
        }
    }
}
#undef TA
#undef TB

/* Hessenberg reduction and its Q, real and complex (ilo = 1, ihi = n) */
void ssm_ref_dgehrd_(const int *n, const int *ilo, const int *ihi, double *a, const int *lda, double *tau, double *work,
                     const int *lwork, int *info);
void ssm_ref_dorghr_(const int *n, const int *ilo, const int *ihi, double *a, const int *lda, const double *tau,
                     double *work, const int *lwork, int *info);
void ssm_ref_zgehrd_(const int *n, const int *ilo, const int *ihi, double complex *a, const int *lda,
                     double complex *tau, double complex *work, const int *lwork, int *info);
void ssm_ref_zunghr_(const int *n, const int *ilo, const int *ihi, double complex *a, const int *lda,
                     const double complex *tau, double complex *work, const int *lwork, int *info);

/* the four share one shape: query, allocate, run */
#define HESS(name, T, REF, LAPACKE, query_cast)                                                                   \
    int name(int n, T *a, int lda, T *tau)                                                                         \
    {                                                                                                               \
        if (!fixed)                                                                                                 \
            return LAPACKE(LAPACK_COL_MAJOR, n, 1, n, a, lda, tau);                                                 \
        int one = 1, info = bad_args(n, n, lda, n), lw = -1;                                                        \
        if (info)                                                                                                   \
            return info;                                                                                            \
        T q;                                                                                                        \
        REF(&n, &one, &n, a, &lda, tau, &q, &lw, &info);                                                            \
        lw = (int)query_cast(q);                                                                                    \
        T *w = malloc((size_t)(lw > 1 ? lw : 1) * sizeof *w);                                                       \
        if (!w)                                                                                                     \
            return WORK_MEMORY_ERROR;                                                                               \
        REF(&n, &one, &n, a, &lda, tau, w, &lw, &info);                                                             \
        free(w);                                                                                                    \
        return lapack_info(info);                                                                                   \
    }
#define IDENT(x) (x)
HESS(ssm_k_dgehrd, double, ssm_ref_dgehrd_, LAPACKE_dgehrd, IDENT)
HESS(ssm_k_dorghr, double, ssm_ref_dorghr_, LAPACKE_dorghr, IDENT)
HESS(ssm_k_zgehrd, double complex, ssm_ref_zgehrd_, LAPACKE_zgehrd, creal)
HESS(ssm_k_zunghr, double complex, ssm_ref_zunghr_, LAPACKE_zunghr, creal)

/* ===================================================================== */
/* Which OpenBLAS kernel runs                                             */
/* ===================================================================== */

char *openblas_get_corename(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int n);

const char *ssm_blas_core(void) { return openblas_get_corename(); }

int ssm_blas_threads_set(int n)
{
    int was = openblas_get_num_threads();
    if (n > 0 && n != was)
        openblas_set_num_threads(n);
    return was;
}

/* OpenBLAS's x86-64 cores by the widest vector unit their kernels use */
static int core_rank(const char *name)
{
    static const struct { const char *name; int rank; } R[] = {
        {"Prescott", 1}, {"Katmai", 1}, {"Coppermine", 1}, {"Northwood", 1}, {"Banias", 1}, {"Athlon", 1},
        {"Opteron", 1}, {"Opteron_SSE3", 1}, {"Core2", 2}, {"Penryn", 2}, {"Dunnington", 2}, {"Nehalem", 2},
        {"Atom", 2}, {"Barcelona", 2}, {"Bobcat", 2}, {"Nano", 2}, {"Sandybridge", 3}, {"Bulldozer", 3},
        {"Piledriver", 3}, {"Steamroller", 3}, {"Excavator", 3}, {"Haswell", 4}, {"Zen", 4}, {"SkylakeX", 5},
        {"Cooperlake", 5}, {"SapphireRapids", 5},
    };
    for (size_t i = 0; name && i < sizeof R / sizeof *R; i++)
        if (strcmp(name, R[i].name) == 0)
            return R[i].rank;
    return 0;
}

const char *ssm_blas_best_core(void)
{
#if defined(__GNUC__) && defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    if (__builtin_cpu_supports("avx"))
        return "Sandybridge";
#endif
    return NULL;
}

const char *ssm_blas_upgrade(const char *reported, const char *best)
{
    int r = core_rank(reported), b = core_rank(best);
    return r > 0 && r <= 3 && b > r ? best : NULL; /* a fallback: pre-AVX2 core on a newer CPU */
}

/* |x − y| ≤ tol for every entry (NaN fails) */
static int close_all(const double *x, const double *y, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs(x[i] - y[i]) <= tol))
            return 0;
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* uniform in [−½, ½) (xorshift64) */
static double rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return (double)(*x >> 11) * 0x1p-53 - 0.5;
}

int ssm_blas_selftest(void)
{
    enum { M = 37, N = 29, K = 41, E = 24 };
    const double u = 0x1p-53;
    double *a = malloc(sizeof(double) * (M * K + K * N + 2 * M * N + 2 * E * E + 4 * E));
    double complex *za = malloc(sizeof(double complex) * (M * K + K * N + 2 * M * N + 2 * E * E + 2 * E));
    int *ipiv = malloc(sizeof(int) * E);
    if (!a || !za || !ipiv) {
        free(a); free(za); free(ipiv);
        return 0;
    }
    double *b = a + M * K, *c0 = b + K * N, *c1 = c0 + M * N, *s0 = c1 + M * N, *s1 = s0 + E * E, *w = s1 + E * E;
    double complex *zb = za + M * K, *zc0 = zb + K * N, *zc1 = zc0 + M * N, *g0 = zc1 + M * N, *g1 = g0 + E * E,
                   *r0 = g1 + E * E, *r1 = r0 + E;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < M * K; i++) {
        a[i] = rnd(&x);
        double re = rnd(&x);
        za[i] = CMPLX(re, rnd(&x));
    }
    for (int i = 0; i < K * N; i++) {
        b[i] = rnd(&x);
        double re = rnd(&x);
        zb[i] = CMPLX(re, rnd(&x));
    }
    int ok = 1, was = fixed;
    /* products: |A||B| ≤ K/4 entrywise, rounding ≤ K u |A||B| on either side */
    for (int f = 0; f < 2; f++) {
        fixed = f;
        ssm_k_dgemm(1, 0, 0, M, N, K, 1.0, a, K, b, N, 0.0, f ? c1 : c0, N);
    }
    fixed = was;
    ok &= close_all(c0, c1, M * N, 4.0 * K * u * K * 0.25);
    if (!ok)
        goto done;
    /* complex product and solve, eigenvalues of a symmetric matrix (κ = 1) */
    for (int f = 0; f < 2 && ok; f++) {
        fixed = f;
        ok &= ssm_k_zgemm(1, 0, 0, M, N, K, 1.0, za, K, zb, N, 0.0, f ? zc1 : zc0, N) == 0;
        for (int i = 0; i < E; i++)
            for (int j = 0; j < E; j++) {
                (f ? g1 : g0)[i * E + j] = za[i * E + j] + (i == j ? 4.0 : 0.0);
                (f ? s1 : s0)[i * E + j] = b[i * E + j] + b[j * E + i];
            }
        for (int i = 0; i < E; i++)
            (f ? r1 : r0)[i] = zb[i];
        ok &= ssm_k_zgesv(E, 1, f ? g1 : g0, E, ipiv, f ? r1 : r0, E) == 0;
        ok &= ssm_k_dgeev('N', 'N', E, f ? s1 : s0, E, w + 2 * E * f, w + E, NULL, 1, NULL, 1) == 0;
        qsort(w + 2 * E * f, E, sizeof *w, cmp_double);
    }
    fixed = was;
    if (!ok) /* a solve or eigenvalue call failed: the rest was not computed */
        goto done;
    ok &= close_all((const double *)zc0, (const double *)zc1, 2 * M * N, 8.0 * K * u * K * 0.5);
    /* diagonally dominant solve: κ ≤ 10, forward error ≤ c n κ u */
    ok &= close_all((const double *)r0, (const double *)r1, 2 * E, 1e3 * E * u);
    /* symmetric eigenvalues: perturbation ≤ c n u ‖S‖ (‖S‖ ≤ E) */
    ok &= close_all(w, w + 2 * E, E, 1e3 * E * u * E);
done:
    fixed = was;
    free(a); free(za); free(ipiv);
    return ok;
}
