/* tests/t-core.c — status codes and the error path, matrix types, the
 * LAPACKE wrapper (against an independent computation), atomic writes. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* posix_openpt: the progress bar drawn on a terminal */
#include "ssmkit.h"
#include "tests/harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static int handler_calls;
static ssm_status handler_last;
static void handler(ssm_status s, const char *msg, const char *file, int line)
{
    (void)msg; (void)file; (void)line;
    handler_calls++;
    handler_last = s;
}

static void test_status(void)
{
    for (int s = 0; s < SSM_STATUS_COUNT; s++)
        CHECK(ssm_strerror((ssm_status)s) && *ssm_strerror((ssm_status)s), "strerror(%d)", s);
    CHECK(strcmp(ssm_strerror((ssm_status)99), "unknown status") == 0, "unknown status");
    ssm_error_handler *old = ssm_set_error_handler(handler);
    ssm_status s = SSM_ERROR(SSM_EFORMAT, "line one\nline two %d", 2);
    CHECK(s == SSM_EFORMAT && handler_calls == 1 && handler_last == SSM_EFORMAT, "handler called");
    CHECK(strchr(ssm_error_message(), '\n') == NULL && strstr(ssm_error_message(), "line two 2"),
          "message kept on one line: '%s'", ssm_error_message());
    ssm_set_error_handler(old);
    ssm_error_clear();
    CHECK(ssm_error_message()[0] == '\0', "clear");
}

static void test_matrices(void)
{
    ssm_dmat_t A, B;
    CHECK(ssm_dmat_init(A, 3, 4) == SSM_OK && A->ld == 4, "dmat init");
    int zero = 1;
    for (size_t i = 0; i < 12; i++)
        zero &= A->data[i] == 0.0;
    CHECK(zero, "zero-filled");
    /* ENOMEM on purpose: rows*cols overflows size_t */
    CHECK(ssm_dmat_init(B, SIZE_MAX / 2, 3) == SSM_ENOMEM && B->data == NULL, "overflow -> ENOMEM");
    ssm_dmat_clear(B); /* clear after a failed init is safe */
    CHECK(ssm_dmat_init(B, 0, 5) == SSM_OK && B->data == NULL, "empty matrix");
    ssm_dmat_clear(B);
    /* EINVAL on purpose: precision 0 */
    ssm_mpmat_t M;
    CHECK(ssm_mpmat_init(M, 2, 2, 0) == SSM_EINVAL, "prec 0 -> EINVAL");
    ssm_mpmat_clear(M);
    CHECK(ssm_mpmat_init(M, 3, 4, 200) == SSM_OK, "mpmat init");
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++)
            SSM_D(A, i, j) = t_uniform() * 1e10;
    CHECK(ssm_mpmat_set_dmat(M, A) == SSM_OK, "set");
    TRY(ssm_dmat_init(B, 3, 4));
    CHECK(ssm_mpmat_get_dmat(B, M) == SSM_OK && memcmp(A->data, B->data, 12 * sizeof(double)) == 0,
          "double -> MPFR -> double is exact");
    ssm_dmat_t C;
    TRY(ssm_dmat_init(C, 4, 3));
    CHECK(ssm_mpmat_get_dmat(C, M) == SSM_EINVAL, "shape mismatch -> EINVAL");
    ssm_dmat_clear(C);
    ssm_mpmat_clear(M);
    ssm_mpcmat_t Z;
    ssm_zmat_t Zd;
    CHECK(ssm_mpcmat_init(Z, 2, 2, 80) == SSM_OK && ssm_zmat_init(Zd, 2, 2) == SSM_OK, "mpc init");
    mpc_set_d_d(SSM_MP(Z, 1, 0), 1.5, -2.25, MPC_RNDNN);
    TRY(ssm_mpcmat_get_zmat(Zd, Z));
    CHECK(SSM_D(Zd, 1, 0) == CMPLX(1.5, -2.25) && SSM_D(Zd, 0, 0) == 0.0, "mpc -> complex double");
    /* complex double -> MPC is exact at >= 53 bits; 0.1 at 80 bits keeps the double's value, not 1/10 */
    SSM_D(Zd, 0, 1) = CMPLX(0.1, -DBL_MIN);
    TRY(ssm_mpcmat_set_zmat(Z, Zd));
    CHECK(mpfr_cmp_d(mpc_realref(SSM_MP(Z, 0, 1)), 0.1) == 0 && mpfr_cmp_d(mpc_imagref(SSM_MP(Z, 0, 1)), -DBL_MIN) == 0 &&
          mpfr_cmp_d(mpc_imagref(SSM_MP(Z, 1, 0)), -2.25) == 0, "complex double -> mpc exactly");
    /* split: (re, im) column pairs, rounded to T's precision (2 bits: 0.1 -> 0.09375, 1.5 stays) */
    ssm_mpmat_t T;
    TRY(ssm_mpmat_init(T, 2, 4, 2));
    TRY(ssm_mpcmat_split(T, Z));
    CHECK(mpfr_cmp_d(SSM_MP(T, 0, 2), 0.09375) == 0 && mpfr_cmp_d(SSM_MP(T, 1, 0), 1.5) == 0 &&
          mpfr_cmp_d(SSM_MP(T, 1, 1), -2.0) == 0 && mpfr_cmp_d(SSM_MP(T, 0, 3), -DBL_MIN) == 0, "mpc split");
    ssm_mpmat_clear(T);
    TRY(ssm_mpmat_init(T, 2, 3, 53));
    CHECK(ssm_mpcmat_split(T, Z) == SSM_EINVAL && ssm_mpcmat_set_zmat(Z, Zd) == SSM_OK, "split shape refused");
    ssm_mpmat_clear(T);
    ssm_mpcmat_clear(Z);
    ssm_zmat_clear(Zd);
    CHECK(ssm_mpmat_bytes(10, 10, 64) >= 100 * (sizeof(mpfr_t) + 8), "mpmat bytes");
    CHECK(ssm_mpmat_bytes(SIZE_MAX, 2, 64) == SIZE_MAX, "mpmat bytes saturate");
    CHECK(ssm_physical_memory() > ((size_t)1 << 26), "physical memory known");
    ssm_dmat_clear(A);
    ssm_dmat_clear(B);
}

static void test_lapack(void)
{
    /* the wrapper's translations, each provoked */
    CHECK(ssm_lapack_status("dgeev", 0) == SSM_OK, "info 0");
    CHECK(ssm_lapack_status("dgeev", -3) == SSM_EINVAL && strstr(ssm_error_message(), "argument 3"), "info < 0");
    CHECK(ssm_lapack_status("dgeev", 2) == SSM_ENOCONV && strstr(ssm_error_message(), "converge"), "info > 0");
    CHECK(ssm_lapack_status("dgeev", -1010) == SSM_ENOMEM, "work memory error");
    /* eigenvalues of a rotation-scaling block and a triangular part, known exactly */
    ssm_dmat_t A;
    TRY(ssm_dmat_init(A, 3, 3));
    SSM_D(A, 0, 0) = 1; SSM_D(A, 0, 1) = -2;
    SSM_D(A, 1, 0) = 2; SSM_D(A, 1, 1) = 1;
    SSM_D(A, 2, 2) = -3; SSM_D(A, 2, 0) = 5;
    double complex w[3];
    CHECK(ssm_dmat_eigvals(w, A) == SSM_OK, "dgeev");
    int hit = 0;
    for (int i = 0; i < 3; i++)
        hit += cabs(w[i] - CMPLX(1, 2)) < 1e-14 || cabs(w[i] - CMPLX(1, -2)) < 1e-14 ||
               cabs(w[i] + 3) < 1e-14;
    CHECK(hit == 3, "eigenvalues 1±2i, -3");
    ssm_dmat_t R;
    TRY(ssm_dmat_init(R, 2, 3));
    CHECK(ssm_dmat_eigvals(w, R) == SSM_EINVAL, "non-square eig -> EINVAL");
    /* singular values vs sqrt(eig(AᵀA)) of a random 5x3, and Frobenius = sqrt(Σσ²) */
    ssm_dmat_t X, G;
    TRY(ssm_dmat_init(X, 5, 3));
    TRY(ssm_dmat_init(G, 3, 3));
    for (size_t i = 0; i < 15; i++)
        X->data[i] = t_uniform();
    double s[3];
    CHECK(ssm_dmat_singvals(s, X) == SSM_OK && s[0] >= s[1] && s[1] >= s[2], "dgesdd descending");
    TRY(ssm_dmat_gemm(G, 1.0, X, 1, X, 0, 0.0));
    CHECK(ssm_dmat_eigvals(w, G) == SSM_OK, "eig(XᵀX)");
    double ssq = 0, f = ssm_dmat_norm_fro(X);
    for (int i = 0; i < 3; i++) {
        ssq += s[i] * s[i];
        double best = INFINITY;
        for (int j = 0; j < 3; j++)
            best = fmin(best, fabs(sqrt(fabs(creal(w[j]))) - s[i]));
        /* σ from eig(XᵀX) loses half the digits for small σ: tolerance ε‖X‖²/σ */
        CHECK(best <= 10 * DBL_EPSILON * f * f / s[i], "singular value %d", i);
    }
    CHECK(fabs(sqrt(ssq) - f) <= 10 * DBL_EPSILON * f, "Frobenius norm");
    CHECK(ssm_dmat_gemm(G, 1.0, X, 0, X, 0, 0.0) == SSM_EINVAL, "gemm shape check");
    /* norm_fro does not overflow */
    SSM_D(R, 0, 0) = 1e300; SSM_D(R, 1, 2) = 1e300;
    CHECK(fabs(ssm_dmat_norm_fro(R) / (sqrt(2.0) * 1e300) - 1) < 1e-15, "scaled Frobenius");
    /* spectral norms of rank-one matrices u vᵀ and u vᴴ: ‖u‖‖v‖ exactly; the SVD is backward stable,
     * so within a small multiple of n ε of it (10·5 ε here); an empty matrix: 0 */
    ssm_zmat_t Z, E0;
    TRY(ssm_zmat_init(Z, 5, 3));
    TRY(ssm_zmat_init(E0, 0, 3));
    double complex zu[5], zv[3];
    double nu = 0, nv = 0, du = 0, dv = 0, n2 = -1, z2 = -1, e2 = -1;
    for (int i = 0; i < 5; i++) {
        zu[i] = CMPLX(t_uniform(), t_uniform());
        nu = hypot(nu, cabs(zu[i]));
        du = hypot(du, creal(zu[i]));
    }
    for (int j = 0; j < 3; j++) {
        zv[j] = CMPLX(t_uniform(), t_uniform());
        nv = hypot(nv, cabs(zv[j]));
        dv = hypot(dv, creal(zv[j]));
    }
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 3; j++) {
            SSM_D(X, i, j) = creal(zu[i]) * creal(zv[j]);
            SSM_D(Z, i, j) = zu[i] * conj(zv[j]);
        }
    CHECK(ssm_dmat_norm2(&n2, X) == SSM_OK && fabs(n2 - du * dv) <= 50 * DBL_EPSILON * du * dv,
          "dmat_norm2 of u vT: %.17g vs %.17g", n2, du * dv);
    CHECK(ssm_zmat_norm2(&z2, Z) == SSM_OK && fabs(z2 - nu * nv) <= 50 * DBL_EPSILON * nu * nv,
          "zmat_norm2 of u vH: %.17g vs %.17g", z2, nu * nv);
    CHECK(ssm_zmat_norm2(&e2, E0) == SSM_OK && e2 == 0.0, "norm2 of a 0 x 3 matrix: %g", e2);
    ssm_zmat_clear(Z); ssm_zmat_clear(E0);
    ssm_dmat_clear(A); ssm_dmat_clear(R); ssm_dmat_clear(X); ssm_dmat_clear(G);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' || strstr(e->d_name, ".tmp."))
            n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static void test_atomic(void)
{
    char dir[] = "/tmp/ssm-t-core-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    ssm_atomic *a;
    FILE *fp;
    CHECK(ssm_atomic_open(&a, &fp, path) == SSM_OK, "open");
    fputs("hello\n", fp);
    CHECK(access(path, F_OK) != 0, "destination absent before commit");
    CHECK(ssm_atomic_commit(a) == SSM_OK, "commit");
    unsigned char *buf;
    size_t len;
    CHECK(ssm_read_file(&buf, &len, path) == SSM_OK && len == 6 && memcmp(buf, "hello\n", 6) == 0, "content");
    free(buf);
    /* abort leaves the old content and no temporary file */
    CHECK(ssm_atomic_open(&a, &fp, path) == SSM_OK, "open 2");
    fputs("partial", fp);
    ssm_atomic_abort(a);
    CHECK(ssm_read_file(&buf, &len, path) == SSM_OK && len == 6, "abort keeps the old file");
    free(buf);
    CHECK(count_entries(dir) == 1, "no temporary file left (%d entries)", count_entries(dir));
    /* EIO on purpose: missing folder, and a folder as destination */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/missing/out.txt", dir);
    CHECK(ssm_atomic_open(&a, &fp, bad) == SSM_EIO && strstr(ssm_error_message(), "missing/out.txt"),
          "missing folder -> EIO: %s", ssm_error_message());
    CHECK(ssm_atomic_open(&a, &fp, dir) == SSM_EIO, "directory as destination -> EIO");
    CHECK(ssm_read_file(&buf, &len, bad) == SSM_EIO, "read missing -> EIO");
    CHECK(ssm_read_file(&buf, &len, dir) == SSM_EIO, "read a directory -> EIO");
    /* while open, the temporary file sits beside the destination */
    CHECK(ssm_atomic_open(&a, &fp, path) == SSM_OK, "open 3");
    CHECK(count_entries(dir) == 2, "temporary file beside the destination");
    ssm_atomic_abort(a);
    /* a write the system refused: EWRITE with its reason (errno at the call), the temporary removed and
     * the destination as it was */
    CHECK(ssm_atomic_open(&a, &fp, path) == SSM_OK, "open 4");
    fputs("more", fp);
    errno = ENOSPC;
    CHECK(ssm_atomic_fail(a, "the checkpoint ") == SSM_EWRITE && strstr(ssm_error_message(), "the checkpoint '") &&
              strstr(ssm_error_message(), "No space left on device"), "atomic_fail: %s", ssm_error_message());
    CHECK(count_entries(dir) == 1 && ssm_read_file(&buf, &len, path) == SSM_OK && len == 6, "atomic_fail keeps the old file");
    free(buf);
    /* a destination that is not a regular file (a FIFO here; /dev/null for root) is refused, not renamed over */
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    struct stat sb;
    CHECK(mkfifo(fifo, 0600) == 0 && ssm_atomic_open(&a, &fp, fifo) == SSM_EIO &&
              strstr(ssm_error_message(), "not a regular file") && stat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode),
          "FIFO destination: %s", ssm_error_message());
    unlink(fifo);
    unlink(path);
    rmdir(dir);
}

/* On a pseudo-terminal: the note is drawn after the ETA, a clear erases exactly the drawn width and the
 * next update redraws at once (the training loop's epoch line between two bars). */
static void test_progress_tty(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        printf("  (no pseudo-terminal here: the drawn bar is not checked)\n");
        if (master >= 0)
            close(master);
        return;
    }
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY), saved = dup(2);
    CHECK(slave >= 0 && saved >= 0, "pseudo-terminal opened");
    if (slave < 0 || saved < 0)
        return;
    fflush(stderr);
    dup2(slave, 2);
    ssm_progress *p = NULL;
    ssm_status s = ssm_progress_create(&p, "train", 10, 1);
    int made = s == SSM_OK && p != NULL;
    ssm_progress_set_note(p, "loss 0.1234");
    ssm_progress_update(p, 5);
    ssm_progress_clear(p);
    ssm_progress_update(p, 6); /* within 0.1 s of the last draw: drawn anyway after a clear */
    ssm_progress_free(p);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(slave);
    /* the terminal layer hands the slave's bytes to the master asynchronously: read until nothing more
     * arrives for 0.3 s (at most 5 s), not once */
    char buf[1024] = {0};
    ssize_t got = 0;
    for (int idle = 0, rounds = 0; idle < 3 && rounds < 50 && got < (ssize_t)sizeof buf - 1; rounds++) {
        struct pollfd pf = {.fd = master, .events = POLLIN};
        ssize_t n = poll(&pf, 1, 100) == 1 ? read(master, buf + got, sizeof buf - 1 - (size_t)got) : 0;
        if (n > 0)
            got += n, idle = 0;
        else
            idle++;
    }
    close(master);
    CHECK(made && got > 0, "a bar is drawn on a terminal (%zd bytes)", got);
    const char *a = strstr(buf, " 50.0%"), *b = strstr(buf, " 60.0%");
    CHECK(a && b && a < b, "drawn at 5 and redrawn at 6 right after the clear");
    CHECK(a && strstr(a, "loss 0.1234") && strstr(a, "loss 0.1234") < (b ? b : a + 1), "the note follows the ETA");
    /* the first line's width, then a clear of exactly that many blanks between two carriage returns */
    const char *line = strchr(buf, '\r'), *end = line ? strchr(line + 1, '\r') : NULL;
    size_t w = line && end ? (size_t)(end - line - 1) : 0;
    char blanks[256];
    int ok = w > 0 && w < sizeof blanks - 3;
    if (ok) {
        blanks[0] = '\r';
        memset(blanks + 1, ' ', w);
        blanks[w + 1] = '\r';
        blanks[w + 2] = '\0';
    }
    CHECK(ok && strstr(buf, blanks) != NULL, "clear blanks the %zu drawn characters", w);
}

static void test_progress(void)
{
    /* disabled bars are NULL and every call accepts NULL */
    ssm_progress *p = (ssm_progress *)&p; /* not NULL: the constructor must set it */
    CHECK(ssm_progress_create(&p, "x", 10, 0) == SSM_OK && p == NULL, "disabled progress is NULL");
    ssm_progress_update(p, 5);
    ssm_progress_free(p);
    /* enabled but stderr is not a terminal under make check → still NULL */
    if (!isatty(2)) {
        p = (ssm_progress *)&p;
        CHECK(ssm_progress_create(&p, "x", 10, 1) == SSM_OK && p == NULL, "no bar when stderr is not a TTY");
    }
    test_progress_tty();
}

/* the BLAS kernel: the upgrade rule, the self-test, and the fixed kernel's
 * products against OpenBLAS's (c k u |A||B|) for every transpose pairing */
static void test_kernel(void)
{
    CHECK(ssm_blas_upgrade("Prescott", "SkylakeX") && strcmp(ssm_blas_upgrade("Prescott", "SkylakeX"), "SkylakeX") == 0,
          "Prescott on an AVX-512 CPU -> SkylakeX");
    CHECK(ssm_blas_upgrade("Nehalem", "Haswell") != NULL, "Nehalem on an AVX2 CPU -> Haswell");
    CHECK(ssm_blas_upgrade("Cooperlake", "SkylakeX") == NULL, "a recognised AVX-512 core stays");
    CHECK(ssm_blas_upgrade("Haswell", "SkylakeX") == NULL && ssm_blas_upgrade("Zen", "SkylakeX") == NULL,
          "an AVX2 core OpenBLAS chose itself stays");
    CHECK(ssm_blas_upgrade("Prescott", NULL) == NULL && ssm_blas_upgrade("SomethingNew", "SkylakeX") == NULL,
          "no known better core, or an unknown report: keep");
    CHECK(ssm_blas_core() && *ssm_blas_core(), "OpenBLAS names its core (%s)", ssm_blas_core());
    CHECK(ssm_blas_selftest() == 1, "BLAS self-test on %s", ssm_blas_core());
    CHECK(ssm_fixed_kernel_active() == 0 && ssm_fixed_kernel(1) == 0 && ssm_fixed_kernel_active() == 1 &&
              ssm_fixed_kernel(0) == 1, "fixed kernel switch");
    enum { M = 13, N = 21, K = 17 };
    double complex a[K * K + M * K], b[K * N + K * K], c0[M * N + K * N], c1[M * N + K * N];
    for (size_t i = 0; i < sizeof a / sizeof *a; i++) a[i] = CMPLX(t_uniform(), t_uniform());
    for (size_t i = 0; i < sizeof b / sizeof *b; i++) b[i] = CMPLX(t_uniform(), t_uniform());
    double worst = 0.0;
    for (int ta = 0; ta < 3; ta++)
        for (int tb = 0; tb < 3; tb++)
            for (int rm = 0; rm < 2; rm++) {
                /* op(A) is M×K: A stored M×K (ta = 0) or K×M; op(B) K×N */
                int lda = rm ? (ta ? M : K) : (ta ? K : M), ldb = rm ? (tb ? K : N) : (tb ? N : K), ldc = rm ? N : M;
                for (int f = 0; f < 2; f++) {
                    ssm_fixed_kernel(f);
                    CHECK(ssm_k_zgemm(rm, ta, tb, M, N, K, CMPLX(0.5, -1.0), a, lda, b, ldb, 0.0, f ? c1 : c0, ldc) == 0,
                          "zgemm %d %d %d on kernel %d", ta, tb, rm, f);
                }
                ssm_fixed_kernel(0);
                for (int i = 0; i < M * N; i++)
                    worst = fmax(worst, cabs(c0[i] - c1[i]));
            }
    /* |entries| ≤ √2 each, so |α| Σ|a||b| ≤ 1.2 · 2K; both sides within 2K u of it */
    CHECK(worst <= 8.0 * K * K * DBL_EPSILON, "fixed zgemm vs OpenBLAS, all 18 layouts: %.3g", worst);
}

static int same_bits(const void *x, const void *y, size_t bytes) { return memcmp(x, y, bytes) == 0; }

/* The fixed kernel's own dgemm (which the reference LAPACK inside calls too):
 * every transpose pairing and layout against a long-double sum (each entry
 * within 2(k + 2) u (|α| Σ|a||b| + |β c|), the standard bound for a dot product
 * summed in any order); β = 0 never reads C (NaN there stays out); α = 0 is
 * β C; a transposed A (copied into a panel) gives the same bits as the same
 * numbers stored untransposed; M, N not multiples of the 8 × 4 block. */
static void test_kernel_dgemm(void)
{
    enum { M = 21, N = 13, K = 17, S = 21 * 17 };
    static double a[S], at[S], b[K * N + 4 * K], c[M * N], c0[M * N], c1[M * N];
    for (int i = 0; i < S; i++) a[i] = t_uniform();
    for (int i = 0; i < M; i++) /* at: a's M×K row-major numbers, stored K×M (op = transpose) */
        for (int l = 0; l < K; l++) at[l * M + i] = a[i * K + l];
    for (size_t i = 0; i < sizeof b / sizeof *b; i++) b[i] = t_uniform();
    for (int i = 0; i < M * N; i++) c[i] = t_uniform();
    int was = ssm_fixed_kernel(1);
    double worst = 0.0;
    for (int tb = 0; tb < 2; tb++)
        for (int rm = 0; rm < 2; rm++)
            for (int ta = 0; ta < 2; ta++) {
                /* op(A)_il = a[i K + l] either way; op(B)_lj = b at (l, j) of a K×N (tb = 0) or N×K matrix */
                const double *A = ta ? at : a;
                int lda = rm ? (ta ? M : K) : (ta ? K : M), ldb = rm ? (tb ? K : N) : (tb ? N : K);
                if (!rm) /* column-major: op(A)_il at A[l lda + i] (ta = 0) needs a's numbers column-major */
                    A = ta ? a : at;
                memcpy(c0, c, sizeof c);
                ssm_k_dgemm(rm, ta, tb, M, N, K, 0.5, A, lda, b, ldb, -1.0, c0, rm ? N : M);
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        long double p = 0.0L, mag = 0.0L;
                        for (int l = 0; l < K; l++) {
                            double bl = rm ? (tb ? b[j * K + l] : b[l * N + j]) : (tb ? b[l * N + j] : b[j * K + l]);
                            p += (long double)a[i * K + l] * bl;
                            mag += fabsl((long double)a[i * K + l] * bl);
                        }
                        size_t at_c = rm ? (size_t)i * N + j : (size_t)j * M + i;
                        double want = (double)(0.5L * p - (long double)c[at_c]);
                        double tol = 2.0 * (K + 2) * DBL_EPSILON * (double)(0.5L * mag + fabsl((long double)c[at_c]));
                        worst = fmax(worst, fabs(c0[at_c] - want) / tol);
                    }
                if (ta) /* the same product from the untransposed copy: the same bits */
                    CHECK(same_bits(c0, c1, sizeof c0), "dgemm: transposed A (panel) = untransposed, tb %d rm %d", tb,
                          rm);
                memcpy(c1, c0, sizeof c0);
            }
    CHECK(worst <= 1.0, "fixed dgemm vs long double, 8 layouts: %.3g of the bound", worst);
    for (int i = 0; i < M * N; i++) c0[i] = NAN;
    ssm_k_dgemm(1, 0, 0, M, N, K, 1.0, a, K, b, N, 0.0, c0, N);
    int finite = 1;
    for (int i = 0; i < M * N; i++) finite &= isfinite(c0[i]);
    CHECK(finite, "dgemm: beta = 0 does not read C");
    memcpy(c0, c, sizeof c);
    ssm_k_dgemm(1, 0, 0, M, N, K, 0.0, a, K, b, N, 2.0, c0, N);
    int scaled = 1;
    for (int i = 0; i < M * N; i++) scaled &= c0[i] == 2.0 * c[i];
    CHECK(scaled, "dgemm: alpha = 0 gives beta C");
    ssm_fixed_kernel(was);
}

/* The two-thread split, the register blocks and the padded panels give the
 * bits of the documented order: a product large enough to be split (192 × 192
 * × 128 multiply-adds, above the kernel's 2²² threshold; 93 columns of the real
 * one: ragged) against a plain sum over l = 0, 1, … from 0 written here —
 * complex (re: ar br − ai bi, im: ar bi + ai br per term), real (a b per term),
 * then α p. */
static void test_kernel_split(void)
{
    enum { M = 192, N = 192, K = 128, NR = 93 };
    static double complex za[M * K], zb[K * N], zc[M * N], zr[M * N];
    static double da[M * K], db[K * N], dc[M * N], dr[M * N];
    for (int i = 0; i < M * K; i++) za[i] = CMPLX(t_uniform(), t_uniform()), da[i] = t_uniform();
    for (int i = 0; i < K * N; i++) zb[i] = CMPLX(t_uniform(), t_uniform()), db[i] = t_uniform();
    int was = ssm_fixed_kernel(1), ok = 1;
    ok &= ssm_k_zgemm(1, 0, 0, M, N, K, 1.0, za, K, zb, N, 0.0, zc, N) == 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double sr = 0.0, si = 0.0;
            for (int l = 0; l < K; l++) {
                double ar = creal(za[i * K + l]), ai = cimag(za[i * K + l]);
                double br = creal(zb[l * N + j]), bi = cimag(zb[l * N + j]);
                sr += ar * br - ai * bi;
                si += ar * bi + ai * br;
            }
            zr[i * N + j] = CMPLX(sr, si);
        }
    CHECK(ok && same_bits(zc, zr, sizeof zc), "complex product: split, blocked, padded = the plain sum in order");
    /* column-major C (M × NR) = A (M × K) B (K × NR), alpha 0.5 */
    ssm_k_dgemm(0, 0, 0, M, NR, K, 0.5, da, M, db, K, 0.0, dc, M);
    for (int j = 0; j < NR; j++)
        for (int i = 0; i < M; i++) {
            double p = 0.0;
            for (int l = 0; l < K; l++)
                p += da[l * M + i] * db[j * K + l];
            dr[j * M + i] = 0.5 * p;
        }
    CHECK(same_bits(dc, dr, (size_t)M * NR * sizeof *dc), "real product: split, blocked, ragged = the plain sum in order");
    ssm_fixed_kernel(was);
}

/* The split's helper thread, kept between products: two threads splitting
 * products at once (one owns the helper, the other starts a thread of its
 * own) and a forked child (which has no helper and must start one, not wait
 * for the parent's) all give the one-row-at-a-time bits; the child is killed
 * by an alarm if it hangs. */
enum { PM = 192, PN = 192, PK = 128 }; /* above the split threshold */
static double complex pa[PM * PK], pb[PK * PN], pref[PM * PN];

static int pool_product_ok(void)
{
    static _Thread_local double complex c[PM * PN];
    return ssm_k_zgemm(1, 0, 0, PM, PN, PK, 1.0, pa, PK, pb, PN, 0.0, c, PN) == 0 && same_bits(c, pref, sizeof c);
}

static void *pool_caller(void *arg)
{
    int *ok = arg, was = ssm_fixed_kernel(1); /* the switch is per thread */
    for (int r = 0; r < 50; r++)
        *ok &= pool_product_ok();
    ssm_fixed_kernel(was);
    return NULL;
}

static void test_kernel_pool(void)
{
    for (int i = 0; i < PM * PK; i++) pa[i] = CMPLX(t_uniform(), t_uniform());
    for (int i = 0; i < PK * PN; i++) pb[i] = CMPLX(t_uniform(), t_uniform());
    int was = ssm_fixed_kernel(1), ok = 1, ok2 = 1;
    for (int i = 0; i < PM; i++)
        ok &= ssm_k_zgemm(1, 0, 0, 1, PN, PK, 1.0, pa + i * PK, PK, pb, PN, 0.0, pref + i * PN, PN) == 0;
    pthread_t t;
    int started = pthread_create(&t, NULL, pool_caller, &ok2) == 0;
    pool_caller(&ok);
    if (started)
        pthread_join(t, NULL);
    CHECK(started && ok && ok2, "split products from two threads at once: the bits of the plain loop");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        _exit(pool_product_ok() && pool_product_ok() ? 0 : 1);
    }
    int st = -1;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "a forked child's split product (its own helper thread): status %d", st);
    ssm_fixed_kernel(was);
}

/* The fixed kernel's own dgemv (called by the reference LAPACK only, so
 * through its Fortran symbol): both operations, increments ±1 and ±2 (a
 * negative one walks from the end), against long double within the
 * dot-product bound; β = 0 does not read y. */
void ssm_ref_dgemv_(const char *trans, const int *m, const int *n, const double *alpha, const double *a,
                    const int *lda, const double *x, const int *incx, const double *beta, double *y, const int *incy,
                    size_t lt);
static void test_kernel_dgemv(void)
{
    enum { M = 19, N = 11, LDA = 23 };
    static double a[LDA * N], x[2 * M], y0[2 * M], y[2 * M];
    for (int i = 0; i < LDA * N; i++) a[i] = t_uniform();
    for (int i = 0; i < 2 * M; i++) x[i] = t_uniform(), y0[i] = t_uniform();
    double worst = 0.0, al = 0.75, be = -0.5;
    for (int t = 0; t < 2; t++)
        for (int inc = -2; inc <= 2; inc++) {
            if (inc == 0)
                continue;
            int lx = t ? M : N, ly = t ? N : M, m = M, n = N, lda = LDA, ix = inc, iy = -inc;
            memcpy(y, y0, sizeof y);
            ssm_ref_dgemv_(t ? "T" : "N", &m, &n, &al, a, &lda, x, &ix, &be, y, &iy, 1);
            for (int i = 0; i < ly; i++) {
                long double p = 0.0L, mag = 0.0L;
                for (int j = 0; j < lx; j++) {
                    double aij = t ? a[i * LDA + j] : a[j * LDA + i];
                    double xj = x[ix > 0 ? j * ix : (lx - 1 - j) * -ix];
                    p += (long double)aij * xj;
                    mag += fabsl((long double)aij * xj);
                }
                int at = iy > 0 ? i * iy : (ly - 1 - i) * -iy;
                double want = (double)(al * p + be * (long double)y0[at]);
                double tol = 2.0 * (lx + 2) * DBL_EPSILON * (double)(al * mag + fabsl(be * (long double)y0[at]));
                worst = fmax(worst, fabs(y[at] - want) / tol);
            }
        }
    CHECK(worst <= 1.0, "fixed dgemv vs long double, 2 operations x 4 increments: %.3g of the bound", worst);
    for (int i = 0; i < 2 * M; i++) y[i] = NAN;
    int m = M, n = N, lda = LDA, one = 1;
    double zero = 0.0, unit = 1.0;
    ssm_ref_dgemv_("N", &m, &n, &unit, a, &lda, x, &one, &zero, y, &one, 1);
    int finite = 1;
    for (int i = 0; i < M; i++) finite &= isfinite(y[i]);
    CHECK(finite, "dgemv: beta = 0 does not read y");
    /* the documented order, bit for bit: p = sum over j = 0, 1, ... from 0, then alpha p + beta y (75 rows:
     * blocks of 32 and of 8 and single rows) */
    enum { MB = 75, NB = 9 };
    static double ab[MB * NB], yb[MB], yr[MB];
    for (int i = 0; i < MB * NB; i++) ab[i] = t_uniform();
    for (int i = 0; i < MB; i++) yb[i] = yr[i] = t_uniform();
    int mb = MB, nb = NB;
    ssm_ref_dgemv_("N", &mb, &nb, &al, ab, &mb, x, &one, &be, yb, &one, 1);
    for (int i = 0; i < MB; i++) {
        double p = 0.0;
        for (int j = 0; j < NB; j++)
            p += ab[j * MB + i] * x[j];
        yr[i] = al * p + be * yr[i];
    }
    CHECK(same_bits(yb, yr, sizeof yb), "dgemv N: each entry summed in order, bit for bit (75 rows)");
}

/* The fixed kernel's own dtrsm, dtrmm and dger (which the reference LAPACK
 * inside calls) against the reference BLAS's (linked as t_ref_*, see the
 * Makefile): every side, triangle, transpose and diagonal, α = 1, −0.7, 0,
 * zeros in B and A (the reference skips them), sizes below and above the
 * two-thread split — the same bits. */
typedef void trxm_fn(const char *, const char *, const char *, const char *, const int *, const int *,
                     const double *, const double *, const int *, double *, const int *, size_t, size_t, size_t,
                     size_t);
trxm_fn ssm_ref_dtrsm_, ssm_ref_dtrmm_, t_ref_dtrsm_, t_ref_dtrmm_;
typedef void ger_fn(const int *, const int *, const double *, const double *, const int *, const double *,
                    const int *, double *, const int *);
ger_fn ssm_ref_dger_, t_ref_dger_;

static int trxm_same(trxm_fn *ours, trxm_fn *ref, int m, int n, int solve)
{
    static const char *side = "LR", *uplo = "UL", *tr = "NT", *dg = "NU";
    static const double alphas[3] = {1.0, -0.7, 0.0};
    int ok = 1;
    for (int c = 0; c < 16 * 3; c++) {
        int left = (c & 1) == 0, k = left ? m : n, lda = k + 3, ldb = m + 2;
        double al = alphas[c / 16];
        double *a = malloc(sizeof(double) * (size_t)lda * k), *b0 = malloc(sizeof(double) * (size_t)ldb * n),
               *b1 = malloc(sizeof(double) * (size_t)ldb * n);
        if (!a || !b0 || !b1) {
            free(a); free(b0); free(b1);
            return 0;
        }
        for (int i = 0; i < lda * k; i++) /* a solve's off-diagonal small: κ stays modest */
            a[i] = (i % 7 == 3) ? 0.0 : (solve ? 0.1 : 1.0) * t_uniform();
        for (int i = 0; i < k; i++)
            a[i * lda + i] = 1.5 + t_uniform();
        for (int i = 0; i < ldb * n; i++)
            b0[i] = b1[i] = (i % 5 == 2) ? 0.0 : t_uniform();
        ours(&side[c & 1], &uplo[(c >> 1) & 1], &tr[(c >> 2) & 1], &dg[(c >> 3) & 1], &m, &n, &al, a, &lda, b0, &ldb,
             1, 1, 1, 1);
        ref(&side[c & 1], &uplo[(c >> 1) & 1], &tr[(c >> 2) & 1], &dg[(c >> 3) & 1], &m, &n, &al, a, &lda, b1, &ldb,
            1, 1, 1, 1);
        ok &= same_bits(b0, b1, sizeof(double) * (size_t)ldb * n);
        free(a); free(b0); free(b1);
    }
    return ok;
}

static void test_kernel_triangular(void)
{
    static const int mn[][2] = {{1, 1}, {7, 3}, {13, 21}, {33, 17}, {130, 70}, {200, 150}}; /* the last: split */
    for (size_t s = 0; s < sizeof mn / sizeof *mn; s++) {
        int m = mn[s][0], n = mn[s][1];
        CHECK(trxm_same(ssm_ref_dtrsm_, t_ref_dtrsm_, m, n, 1), "dtrsm = reference dtrsm bit for bit, %d x %d", m, n);
        CHECK(trxm_same(ssm_ref_dtrmm_, t_ref_dtrmm_, m, n, 0), "dtrmm = reference dtrmm bit for bit, %d x %d", m, n);
    }
    enum { M = 37, N = 29 };
    static double x[2 * M], y[2 * N], a0[M * N], a1[M * N];
    int ok = 1;
    for (int i = 0; i < 2 * M; i++) x[i] = t_uniform();
    for (int i = 0; i < 2 * N; i++) y[i] = i % 4 == 1 ? 0.0 : t_uniform();
    for (int ix = -2; ix <= 2; ix++)
        for (int iy = -2; iy <= 2; iy++) {
            if (!ix || !iy)
                continue;
            int m = M, n = N, lda = M;
            double al = ix == iy ? 0.0 : -1.3;
            for (int i = 0; i < M * N; i++) a0[i] = a1[i] = t_uniform();
            ssm_ref_dger_(&m, &n, &al, x, &ix, y, &iy, a0, &lda);
            t_ref_dger_(&m, &n, &al, x, &ix, y, &iy, a1, &lda);
            ok &= same_bits(a0, a1, sizeof a0);
        }
    CHECK(ok, "dger = reference dger bit for bit, increments +-1, +-2, alpha 0 and -1.3");
}

/* Re(op(A) op(B)) alone: on the fixed kernel the bits of the whole product's
 * real part (every transpose pairing; a size the 8-row blocks do not divide;
 * one large enough to be split), on OpenBLAS within rounding of it; and the
 * Hermitian X* X, X X*: on the fixed kernel the whole product's bits, the
 * mirrored triangle included. */
static void test_kernel_real_part(void)
{
    enum { M = 37, N = 29, K = 41, S = 192 };
    static double complex a[S * S], b[S * S], c[S * S], g[S * S];
    static double re[S * S], work[2 * 3 * S * S];
    for (int i = 0; i < S * S; i++) a[i] = CMPLX(t_uniform(), t_uniform()), b[i] = CMPLX(t_uniform(), t_uniform());
    int was = ssm_fixed_kernel(1), ok = 1;
    double worst = 0.0;
    for (int f = 1; f >= 0; f--) {
        ssm_fixed_kernel(f);
        for (int ta = 0; ta < 3; ta++)
            for (int tb = 0; tb < 3; tb++)
                for (int big = 0; big < 2; big++) {
                    int m = big ? S : M, n = big ? S : N, k = big ? S : K; /* big: split */
                    int lda = ta ? m : k, ldb = tb ? k : n;
                    ssm_k_zgemm_work(1, ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, n, work);
                    ssm_k_zgemm_re_work(ta, tb, m, n, k, a, lda, b, ldb, re, n, work);
                    for (int i = 0; i < m * n; i++) {
                        ok &= !f || re[i] == creal(c[i]);
                        worst = fmax(worst, fabs(re[i] - creal(c[i])));
                    }
                }
    }
    ssm_fixed_kernel(1);
    CHECK(ok, "real part alone = the whole product's real part, bit for bit (fixed kernel, 18 cases)");
    /* on OpenBLAS the real part is taken from the same zgemm call: deterministic, so exactly equal */
    CHECK(worst == 0.0, "real part alone on OpenBLAS = the product's real part: %.3g", worst);
    for (int xstar = 0; xstar < 2; xstar++) {
        ssm_k_zgemm_work(1, xstar ? 2 : 0, xstar ? 0 : 2, S, S, S, 1.0, a, S, a, S, 0.0, c, S, work);
        ssm_k_zgram_work(xstar, S, a, g, work);
        CHECK(same_bits(c, g, sizeof c), "Hermitian %s: the whole product's bits, mirrored half included",
              xstar ? "X* X" : "X X*");
    }
    ssm_fixed_kernel(was);
}

/* the *_work wrappers with the queried workspace give the allocating wrappers' bits (PTD's loop
 * relies on it: its result must not depend on who allocated), on both kernels; queries are
 * queries; the workspace zgemm is the allocating one's code without the allocation */

static void test_kernel_work(void)
{
    enum { N = 11, M = 7 };
    double a0[N * N], a1[N * N + SSM_LAPACK_PAD], a2[N * N + SSM_LAPACK_PAD];
    double wr[2][N], wi[2][N], vr[2][N * N], s[2][N], u[2][N * M], vt[2][M * M], q = 0.0;
    double complex z0[N * M], z1[N * M], z2[N * M], gc[2][N * N];
    int iw[8 * N];
    double rw[5 * N];
    for (int i = 0; i < N * N; i++)
        a0[i] = t_uniform();
    for (int i = 0; i < N * M; i++)
        z0[i] = CMPLX(t_uniform(), t_uniform());
    for (int f = 0; f < 2; f++) {
        int was = ssm_fixed_kernel(f);
        /* dgeev, right vectors */
        memcpy(a1, a0, sizeof a0);
        memcpy(a2, a0, sizeof a0);
        CHECK(ssm_k_dgeev('N', 'V', N, a1, N, wr[0], wi[0], NULL, 1, vr[0], N) == 0, "dgeev (kernel %d)", f);
        CHECK(ssm_k_dgeev_work('N', 'V', N, a2, N, wr[1], wi[1], NULL, 1, vr[1], N, &q, -1) == 0 && q >= 1.0,
              "dgeev query (kernel %d): %g", f, q);
        int lw = (int)q;
        double *w = malloc((size_t)lw * sizeof *w);
        CHECK(w && ssm_k_dgeev_work('N', 'V', N, a2, N, wr[1], wi[1], NULL, 1, vr[1], N, w, lw) == 0,
              "dgeev_work (kernel %d)", f);
        CHECK(same_bits(wr[0], wr[1], sizeof wr[0]) && same_bits(wi[0], wi[1], sizeof wi[0]) &&
                  same_bits(vr[0], vr[1], sizeof vr[0]), "dgeev_work: the allocating call's bits (kernel %d)", f);
        free(w);
        /* dgesdd, thin vectors, on an N×M block (column-major, lda = N) */
        memcpy(a1, a0, sizeof a0);
        memcpy(a2, a0, sizeof a0);
        CHECK(ssm_k_dgesdd('S', N, M, a1, N, s[0], u[0], N, vt[0], M) == 0, "dgesdd (kernel %d)", f);
        CHECK(ssm_k_dgesdd_work('S', N, M, a2, N, s[1], u[1], N, vt[1], M, &q, -1, iw) == 0 && q >= 1.0,
              "dgesdd query (kernel %d)", f);
        lw = (int)q;
        w = malloc((size_t)lw * sizeof *w);
        CHECK(w && ssm_k_dgesdd_work('S', N, M, a2, N, s[1], u[1], N, vt[1], M, w, lw, iw) == 0,
              "dgesdd_work (kernel %d)", f);
        CHECK(same_bits(s[0], s[1], M * sizeof(double)) && same_bits(u[0], u[1], sizeof u[0]) &&
                  same_bits(vt[0], vt[1], sizeof vt[0]), "dgesdd_work: the allocating call's bits (kernel %d)", f);
        free(w);
        /* zgesvd, values only */
        double complex zq = 0.0;
        memcpy(z1, z0, sizeof z0);
        memcpy(z2, z0, sizeof z0);
        CHECK(ssm_k_zgesvd('N', 'N', N, M, z1, N, s[0], NULL, 1, NULL, 1) == 0, "zgesvd (kernel %d)", f);
        CHECK(ssm_k_zgesvd_work('N', 'N', N, M, z2, N, s[1], NULL, 1, NULL, 1, &zq, -1, rw) == 0 && creal(zq) >= 1.0,
              "zgesvd query (kernel %d)", f);
        lw = (int)creal(zq);
        double complex *zw = malloc((size_t)lw * sizeof *zw);
        CHECK(zw && ssm_k_zgesvd_work('N', 'N', N, M, z2, N, s[1], NULL, 1, NULL, 1, zw, lw, rw) == 0,
              "zgesvd_work (kernel %d)", f);
        CHECK(same_bits(s[0], s[1], M * sizeof(double)), "zgesvd_work: the allocating call's bits (kernel %d)", f);
        free(zw);
        /* zgemm: C = −op(A) op(B) + C, the residual form (α = −1, β = 1) */
        size_t zl = ssm_k_zgemm_lwork(N, N, M);
        double *zg = malloc((zl ? zl : 1) * sizeof *zg);
        for (int i = 0; i < N * N; i++)
            gc[0][i] = gc[1][i] = CMPLX(t_uniform(), t_uniform());
        CHECK(ssm_k_zgemm(1, 0, 2, N, N, M, -1.0, z0, M, z0, M, 1.0, gc[0], N) == 0, "zgemm (kernel %d)", f);
        if (zg)
            ssm_k_zgemm_work(1, 0, 2, N, N, M, -1.0, z0, M, z0, M, 1.0, gc[1], N, zg);
        CHECK(zg && same_bits(gc[0], gc[1], sizeof gc[0]), "zgemm_work: the allocating call's bits (kernel %d)", f);
        free(zg);
        ssm_fixed_kernel(was);
    }
    CHECK(ssm_k_zgemm_lwork(N, N, M) == 2 * (16 * M + M * 16 + 16 * 16) && ssm_k_zgemm_lwork(0, N, M) == 0,
          "zgemm panels: 2(m8 k + k n8 + m8 n8) doubles (m, n padded to multiples of 8), none for an empty product");
}

int main(void)
{
    t_init();
    test_status();
    test_matrices();
    test_lapack();
    test_atomic();
    test_progress();
    test_kernel();
    test_kernel_dgemm();
    test_kernel_split();
    test_kernel_pool();
    test_kernel_dgemv();
    test_kernel_triangular();
    test_kernel_real_part();
    test_kernel_work();
    return t_finish();
}
