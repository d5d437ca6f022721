/* core/core.h — plumbing shared by every ssmkit stage.
 *
 * Status codes and the one error path; dense matrix types in double, complex
 * double, MPFR and MPC; the LAPACKE/BLAS wrappers and the fixed kernel.  Files
 * and the terminal are one stage up, in io/io.h.
 *
 * The library never prints and never exits: every function that can fail
 * returns an ssm_status and leaves a one-line human-readable reason in a
 * thread-local buffer (ssm_error_message), which the CLI prints.
 */
#ifndef SSM_CORE_H
#define SSM_CORE_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <mpfr.h>
#include <mpc.h>

#define SSM_VERSION "0.1.0"

/* glibc defines CMPLX for gcc only; clang has the same builtin */
#ifndef CMPLX
#define CMPLX(x, y) __builtin_complex((double)(x), (double)(y))
#endif

/* ===================================================================== */
/* Status codes and the error path                                       */
/* ===================================================================== */

/* Every function returning an ssm_status is declared SSM_MUST_CHECK: ignoring
 * a status is a compile-time warning (an error under make WERROR=1).  Clang
 * also takes the attribute on the type itself, which extends the warning to
 * every function that returns an ssm_status, static ones included (the
 * clang builds: make check-asan, check-oom). */
#if defined(__GNUC__)
#define SSM_MUST_CHECK __attribute__((warn_unused_result))
#else
#define SSM_MUST_CHECK
#endif
#if defined(__clang__)
#define SSM_MUST_CHECK_TYPE __attribute__((warn_unused_result))
#else
#define SSM_MUST_CHECK_TYPE
#endif

typedef enum SSM_MUST_CHECK_TYPE {
    SSM_OK = 0,
    SSM_EINVAL,   /* invalid argument (bad size, unknown name, out of range) */
    SSM_ENOMEM,   /* allocation failed or the request exceeds memory        */
    SSM_ENOCONV,  /* an iteration did not converge                          */
    SSM_ELOSS,    /* loss of precision: the result cannot be vouched for    */
    SSM_EFORMAT,  /* malformed or unsupported file content                  */
    SSM_EIO,      /* operating-system I/O failure                           */
    SSM_ECHECK,   /* a verification found a violated tolerance              */
    SSM_EWRITE,   /* an output could not be written (disk full, quota, file
                   * size limit, device error); the destination is untouched */
    SSM_STATUS_COUNT
} ssm_status;


/* For "did you mean": the entry of names[0..count) nearest to word in edit
 * distance, or NULL when none is within max_distance. */
const char *ssm_closest_name(const char *word, const char *const *names, size_t count, size_t max_distance);

/* Short fixed description of a status code ("invalid argument", ...). */
const char *ssm_strerror(ssm_status s);

/* The detailed one-line reason recorded by the last failing call in this
 * thread ("" when none).  Valid until the next failing call. */
const char *ssm_error_message(void);

/* Optional hook called on every error (after the message is recorded), in the
 * manner of gsl_set_error_handler.  NULL (the default) = no hook.  Returns the
 * previous handler. */
typedef void ssm_error_handler(ssm_status s, const char *message, const char *file, int line);
ssm_error_handler *ssm_set_error_handler(ssm_error_handler *h);

/* Record an error and return its status; use through SSM_ERROR. */
SSM_MUST_CHECK ssm_status ssm_error_at(ssm_status s, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
#define SSM_ERROR(status, ...) ssm_error_at((status), __FILE__, __LINE__, __VA_ARGS__)
/* Clear the recorded message (used by callers that recover from an error). */
void ssm_error_clear(void);

/* ===================================================================== */
/* Matrix types: row-major, element (i, j) at data[i*ld + j]; caller owns */
/* ===================================================================== */
/* Vectors are n×1 matrices.  A matrix with rows == 0 or cols == 0 is valid
 * and owns no storage.  All *_init functions leave a cleared-safe object even
 * when they fail (ENOMEM), so *_clear may always be called. */

typedef struct { double *data; size_t rows, cols, ld; } ssm_dmat_struct;
typedef ssm_dmat_struct ssm_dmat_t[1];

typedef struct { double complex *data; size_t rows, cols, ld; } ssm_zmat_struct;
typedef ssm_zmat_struct ssm_zmat_t[1];

typedef struct { mpfr_t *data; size_t rows, cols, ld; mpfr_prec_t prec; } ssm_mpmat_struct;
typedef ssm_mpmat_struct ssm_mpmat_t[1];

typedef struct { mpc_t *data; size_t rows, cols, ld; mpfr_prec_t prec; } ssm_mpcmat_struct;
typedef ssm_mpcmat_struct ssm_mpcmat_t[1];

#define SSM_D(M, i, j)  ((M)->data[(size_t)(i) * (M)->ld + (size_t)(j)])
#define SSM_MP(M, i, j) ((M)->data[(size_t)(i) * (M)->ld + (size_t)(j)])

/* Zero-filled rows×cols matrices.  ENOMEM when rows*cols overflows or the
 * allocation fails.  MPFR/MPC entries get precision prec (MPFR_PREC_MIN ..
 * MPFR_PREC_MAX, else EINVAL) and value +0. */
SSM_MUST_CHECK ssm_status ssm_dmat_init(ssm_dmat_t A, size_t rows, size_t cols);
SSM_MUST_CHECK ssm_status ssm_zmat_init(ssm_zmat_t A, size_t rows, size_t cols);
SSM_MUST_CHECK ssm_status ssm_mpmat_init(ssm_mpmat_t A, size_t rows, size_t cols, mpfr_prec_t prec);
SSM_MUST_CHECK ssm_status ssm_mpcmat_init(ssm_mpcmat_t A, size_t rows, size_t cols, mpfr_prec_t prec);
void ssm_dmat_clear(ssm_dmat_t A);
void ssm_zmat_clear(ssm_zmat_t A);
void ssm_mpmat_clear(ssm_mpmat_t A);
void ssm_mpcmat_clear(ssm_mpcmat_t A);

/* Conversions (sizes must match, else EINVAL).  *_get_d round to nearest. */
SSM_MUST_CHECK ssm_status ssm_mpmat_get_dmat(ssm_dmat_t D, const ssm_mpmat_t A);
SSM_MUST_CHECK ssm_status ssm_mpmat_set_dmat(ssm_mpmat_t A, const ssm_dmat_t D);     /* rounds to A's precision */
SSM_MUST_CHECK ssm_status ssm_zmat_set_dmat(ssm_zmat_t Z, const ssm_dmat_t D);
SSM_MUST_CHECK ssm_status ssm_mpcmat_set_mpmat(ssm_mpcmat_t Z, const ssm_mpmat_t A);  /* imaginary parts 0, rounds to Z's precision */
SSM_MUST_CHECK ssm_status ssm_mpcmat_get_zmat(ssm_zmat_t Z, const ssm_mpcmat_t A);
/* Z ← A entry by entry, rounded to Z's precision (exact when it is ≥ 53 bits): a double matrix
 * taken as exact, as the CLI takes matrix files. */
SSM_MUST_CHECK ssm_status ssm_mpcmat_set_zmat(ssm_mpcmat_t Z, const ssm_zmat_t A);
/* T (rows × 2·cols) ← the real and imaginary parts of Z side by side, T(i, 2j) = Re Z(i, j),
 * T(i, 2j+1) = Im Z(i, j), rounded to T's precision: the (re, im) column pairs of a complex table
 * (ssm_tsv_write_mpmat prints them with every digit).  EINVAL for other shapes. */
SSM_MUST_CHECK ssm_status ssm_mpcmat_split(ssm_mpmat_t T, const ssm_mpcmat_t Z);
SSM_MUST_CHECK ssm_status ssm_dmat_copy(ssm_dmat_t B, const ssm_dmat_t A);

/* Sorts x[0..n) ascending (gsl_sort; entries must not be NaN) and removes
 * repeated values in place; returns the number of distinct values kept. */
size_t ssm_sort_unique(double *x, size_t n);

/* Bytes needed by an rows×cols MPFR matrix at precision prec (entries plus
 * limbs), saturating at SIZE_MAX; lets callers refuse requests beyond memory. */
size_t ssm_mpmat_bytes(size_t rows, size_t cols, mpfr_prec_t prec);
/* Physical memory of this machine in bytes (0 when unknown). */
size_t ssm_physical_memory(void);

/* ===================================================================== */
/* LAPACKE wrapper: LAPACK's info and memory errors become ssm_status     */
/* ===================================================================== */

/* Every LAPACK call in ssmkit goes through LAPACK_COL_MAJOR on buffers from
 * ssm_lapack_alloc, padded by SSM_LAPACK_PAD elements plus eight columns of a
 * square matrix of that size: OpenBLAS 0.3.21's
 * zgemv_n kernels (reached from zgesvd/zgebrd) read past the end of the matrix
 * they are given (found by valgrind, crashing at N = 64), and LAPACKE's
 * row-major path hands them an unpadded internal copy. */
#define SSM_LAPACK_PAD 64
void *ssm_lapack_alloc(size_t count, size_t elem);   /* zeroed; NULL on ENOMEM */

/* The fixed kernel (core/kernel.c).  OpenBLAS chooses its kernels by CPU, so
 * the last bits of its results depend on the machine.  With
 * ssm_fixed_kernel(1) the calling thread's BLAS/LAPACK calls below run
 * Debian's reference LAPACK/BLAS instead (linked in under ssm_ref_ names): the
 * same bits on every x86-64 CPU, for any OPENBLAS_CORETYPE.  Returns the
 * previous setting (restore it with a second call). */
int ssm_fixed_kernel(int on);
int ssm_fixed_kernel_active(void);
/* 1 (and cleared) when a fixed-kernel BLAS routine on this thread could not
 * allocate since the last LAPACK wrapper call (which reports it as −1010):
 * for callers whose last fixed-kernel call was a product (ssm_k_dgemm) */
int ssm_fixed_kernel_lost(void);
/* Column-major LAPACK drivers (LAPACKE's argument order without the layout;
 * info returned, −1010 when workspace cannot be allocated) and row- or
 * column-major gemm (t = 0 none, 1 transpose, 2 conjugate transpose), on
 * OpenBLAS or on the fixed kernel. */
SSM_MUST_CHECK int ssm_k_dgeev(char jl, char jr, int n, double *a, int lda, double *wr, double *wi, double *vl,
                               int ldvl, double *vr, int ldvr);
SSM_MUST_CHECK int ssm_k_dgesdd(char jz, int m, int n, double *a, int lda, double *s, double *u, int ldu, double *vt,
                                int ldvt);
SSM_MUST_CHECK int ssm_k_dgesv(int n, int nrhs, double *a, int lda, int *ipiv, double *b, int ldb);
SSM_MUST_CHECK int ssm_k_zgesv(int n, int nrhs, double complex *a, int lda, int *ipiv, double complex *b, int ldb);
SSM_MUST_CHECK int ssm_k_zgesvd(char ju, char jvt, int m, int n, double complex *a, int lda, double *s,
                                double complex *u, int ldu, double complex *vt, int ldvt);
SSM_MUST_CHECK int ssm_k_zgeev(char jl, char jr, int n, double complex *a, int lda, double complex *w,
                               double complex *vl, int ldvl, double complex *vr, int ldvr);
/* The same with the caller's workspace, allocating nothing (LAPACK's *_work
 * convention): lwork = −1 is a query that stores the length wanted in work[0]
 * and does nothing else.  Pass exactly the queried lwork — LAPACK picks its
 * block sizes by lwork, and the bits of the fixed kernel's results are those
 * of the allocating calls above only with it.  iwork: SSM_K_DGESDD_LIWORK(min(m, n))
 * ints; rwork: SSM_K_ZGESVD_LRWORK(min(m, n)) doubles.  Allocate once, call
 * many times (the PTD optimiser's inner loop). */
#define SSM_K_DGESDD_LIWORK(mn) ((size_t)8 * (size_t)((mn) > 0 ? (mn) : 1))
#define SSM_K_ZGESVD_LRWORK(mn) ((size_t)5 * (size_t)((mn) > 0 ? (mn) : 1))
SSM_MUST_CHECK int ssm_k_dgeev_work(char jl, char jr, int n, double *a, int lda, double *wr, double *wi, double *vl,
                                    int ldvl, double *vr, int ldvr, double *work, int lwork);
SSM_MUST_CHECK int ssm_k_dgesdd_work(char jz, int m, int n, double *a, int lda, double *s, double *u, int ldu,
                                     double *vt, int ldvt, double *work, int lwork, int *iwork);
SSM_MUST_CHECK int ssm_k_zgesvd_work(char ju, char jvt, int m, int n, double complex *a, int lda, double *s,
                                     double complex *u, int ldu, double complex *vt, int ldvt, double complex *work,
                                     int lwork, double *rwork);
/* Which OpenBLAS kernel runs: the core OpenBLAS chose (openblas_get_corename),
 * the fastest core this CPU's instruction set allows ("SkylakeX", "Haswell",
 * "Sandybridge" or NULL), the core to switch to when OpenBLAS fell back to a
 * slower one it knows (NULL: keep), and a self-test of the running kernel: a
 * few small dgemm/zgemm/zgesv/dgeev against the fixed kernel, within rounding
 * bounds (1 = pass).  OpenBLAS reads OPENBLAS_CORETYPE once, when it loads: a
 * program switches by setting it and re-executing itself (the ssmkit binary
 * does, see cli/main.c); a library caller sets it before starting. */
const char *ssm_blas_core(void);
/* The BLAS thread count: set it to n (> 0) and return the count before, so a
 * caller restores it with ssm_blas_threads_set(previous).  The one place
 * ssmkit calls OpenBLAS's own thread API. */
int ssm_blas_threads_set(int n);
const char *ssm_blas_best_core(void);
const char *ssm_blas_upgrade(const char *reported, const char *best);
int ssm_blas_selftest(void);
/* Hessenberg reduction (ilo = 1, ihi = n) and the explicit Q */
SSM_MUST_CHECK int ssm_k_dgehrd(int n, double *a, int lda, double *tau);
SSM_MUST_CHECK int ssm_k_dorghr(int n, double *a, int lda, double *tau);
SSM_MUST_CHECK int ssm_k_zgehrd(int n, double complex *a, int lda, double complex *tau);
SSM_MUST_CHECK int ssm_k_zunghr(int n, double complex *a, int lda, double complex *tau);
void ssm_k_dgemm(int row_major, int ta, int tb, int m, int n, int k, double alpha, const double *a, int lda,
                 const double *b, int ldb, double beta, double *c, int ldc);
/* C = α op(A) op(B) + β C.  On the fixed kernel the product runs on split
 * real/imaginary panels: ssm_k_zgemm allocates them (returns 0, or −1010 when
 * it cannot: there is no fallback, see core/kernel.c); ssm_k_zgemm_work takes
 * them from work, ssm_k_zgemm_lwork(m, n, k) doubles (0 for an empty product;
 * work is not used on OpenBLAS), and cannot fail. */
SSM_MUST_CHECK int ssm_k_zgemm(int row_major, int ta, int tb, int m, int n, int k, double complex alpha,
                               const double complex *a, int lda, const double complex *b, int ldb,
                               double complex beta, double complex *c, int ldc);
size_t ssm_k_zgemm_lwork(int m, int n, int k);
void ssm_k_zgemm_work(int row_major, int ta, int tb, int m, int n, int k, double complex alpha,
                      const double complex *a, int lda, const double complex *b, int ldb, double complex beta,
                      double complex *c, int ldc, double *work);
/* C = Re(op(A) op(B)) for row-major A, B and the real row-major C (m×n, ldc):
 * on the fixed kernel half the arithmetic of ssm_k_zgemm_work and each finite
 * entry with the bits of that product's real part (where the imaginary part
 * overflows, the whole product's 1·P makes the real part NaN; this one keeps
 * it); work: ssm_k_zgemm_lwork(m, n, k) doubles on either kernel. */
void ssm_k_zgemm_re_work(int ta, int tb, int m, int n, int k, const double complex *a, int lda,
                         const double complex *b, int ldb, double *c, int ldc, double *work);
/* The Hermitian G = X* X (xstar) or X X* of the row-major n×n X, on
 * ssm_k_zgemm_work (work: ssm_k_zgemm_lwork(n, n, n) doubles): the upper
 * triangle computed in blocks of rows, the lower one mirrored — about half
 * the arithmetic.  On the fixed kernel every entry has the whole product's
 * bits: an entry is summed on its own in one order, and the terms of G_ki are
 * those of G_ik conjugated with the same roundings (round to nearest is
 * symmetric), summed from +0, so G_ki = conj(G_ik) exactly where an imaginary
 * part that sums to zero is +0 both ways (tests/t-core.c checks it). */
void ssm_k_zgram_work(int xstar, int n, const double complex *x, double complex *g, double *work);

/* Translate a LAPACKE return value of `routine`: 0 → OK, < 0 → EINVAL (or
 * ENOMEM for LAPACKE's work-memory error), > 0 → ENOCONV. */
SSM_MUST_CHECK ssm_status ssm_lapack_status(const char *routine, int info);

/* Eigenvalues of a real square matrix (dgeev, no vectors).  w has A->rows
 * entries.  A is not modified.  Cost O(n^3). */
SSM_MUST_CHECK ssm_status ssm_dmat_eigvals(double complex *w, const ssm_dmat_t A);
/* Singular values, descending (dgesdd, no vectors).  s has min(rows, cols)
 * entries.  A is not modified. */
SSM_MUST_CHECK ssm_status ssm_dmat_singvals(double *s, const ssm_dmat_t A);
/* C = alpha op(A) op(B) + beta C via cblas_dgemm; tA, tB: 0 = as is, 1 = transposed. */
SSM_MUST_CHECK ssm_status ssm_dmat_gemm(ssm_dmat_t C, double alpha, const ssm_dmat_t A, int tA,
                         const ssm_dmat_t B, int tB, double beta);
/* Frobenius norm (scaled, overflow-safe). */
double ssm_dmat_norm_fro(const ssm_dmat_t A);
/* LAPACK's dlassq step: add |x|² to scale²·ssq without overflow (start with
 * scale = 0, ssq = 1; the norm is scale·sqrt(ssq)). */
void ssm_ssq_add(double *scale, double *ssq, double x);
/* Spectral norm ‖A‖₂ = σ_max (dgesdd, values only) into *nrm; 0 for an empty
 * matrix.  ENOMEM when the SVD's work cannot be allocated, ENOCONV when it does
 * not converge (*nrm is then 0: use it only after SSM_OK). */
SSM_MUST_CHECK ssm_status ssm_dmat_norm2(double *nrm, const ssm_dmat_t A);

/* Complex counterparts (zgeev/zgesdd/zgesv/cblas_zgemm). */
SSM_MUST_CHECK ssm_status ssm_zmat_singvals(double *s, const ssm_zmat_t A);
SSM_MUST_CHECK ssm_status ssm_zmat_norm2(double *nrm, const ssm_zmat_t A);  /* as ssm_dmat_norm2 (zgesvd) */
double ssm_zmat_norm_fro(const ssm_zmat_t A);
/* C = alpha op(A) op(B) + beta C; op: 0 = as is, 1 = transpose, 2 = conjugate transpose. */
SSM_MUST_CHECK ssm_status ssm_zmat_gemm(ssm_zmat_t C, double complex alpha, const ssm_zmat_t A, int opA,
                         const ssm_zmat_t B, int opB, double complex beta);
/* Solve A X = B in place of B (LU with partial pivoting, zgesv).  A is not
 * modified.  ELOSS when A is exactly singular (info > 0). */
SSM_MUST_CHECK ssm_status ssm_zmat_solve(ssm_zmat_t B, const ssm_zmat_t A);
/* The smallest and largest singular values of a square A (zgesvd) with the singular vectors of the
 * smallest: u*A = smin v*, A v = smin u (u: left, v: right; n entries each, unit norm).  A near-null
 * pair shows an (almost) eigenvalue λ of M when A = M − λI: u its left, v its right eigenvector. */
SSM_MUST_CHECK ssm_status ssm_zmat_svd_min(double *smin, double *smax, double complex *u, double complex *v,
                                           const ssm_zmat_t A);
/* Eigenvalues of a complex square matrix (zgeev, no vectors). */
SSM_MUST_CHECK ssm_status ssm_zmat_eigvals(double complex *w, const ssm_zmat_t A);
SSM_MUST_CHECK ssm_status ssm_zmat_copy(ssm_zmat_t B, const ssm_zmat_t A);

#endif /* SSM_CORE_H */
