/* analysis/transfer.c — transfer functions by three algorithms. */
#include "analysis/analysis.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ssm_tf_plan {
    size_t n;
    int real;            /* A was real: H and Q real (dgehrd/dorghr), Hi unused */
    double *Hr, *Hi;     /* n×n upper Hessenberg, row-major, split real/imaginary parts */
    double complex *b;   /* Q* b */
    double complex *c;   /* c Q  */
    double complex D;
};

void ssm_tf_plan_free(ssm_tf_plan *p)
{
    if (!p)
        return;
    free(p->Hr);
    free(p->Hi);
    free(p->b);
    free(p->c);
    free(p);
}

static ssm_tf_plan *plan_new(const ssm_zmat_t A, const ssm_zmat_t b, const ssm_zmat_t c, double complex D,
                             ssm_status *status)
{
    size_t n = A->rows;
    ssm_status s = SSM_OK;
    if (A->cols != n || b->rows != n || b->cols != 1 || c->rows != 1 || c->cols != n) {
        *status = SSM_ERROR(SSM_EINVAL, "transfer: A must be n x n, b n x 1, c 1 x n");
        return NULL;
    }
    int real = 1;
    for (size_t i = 0; real && i < n; i++)
        for (size_t j = 0; real && j < n; j++)
            real = cimag(SSM_D(A, i, j)) == 0.0;
    ssm_tf_plan *p = calloc(1, sizeof *p);
    double complex *tau = malloc((n ? n : 1) * sizeof *tau);
    if (p) {
        p->n = n;
        p->D = D;
        p->real = real;
        p->Hr = malloc((n > 0 ? n * n : 1) * sizeof *p->Hr);
        p->Hi = real ? NULL : malloc((n > 0 ? n * n : 1) * sizeof *p->Hi);
        p->b = malloc((n ? n : 1) * sizeof *p->b);
        p->c = malloc((n ? n : 1) * sizeof *p->c);
    }
    if (!p || !tau || !p->Hr || (!real && !p->Hi) || !p->b || !p->c) {
        ssm_tf_plan_free(p);
        free(tau);
        *status = SSM_ERROR(SSM_ENOMEM, "transfer: out of memory");
        return NULL;
    }
    if (n > 0 && real) {
        /* real A: A = Q H Qᵀ in real arithmetic (dgehrd/dorghr); column-major padded copies */
        double *h = ssm_lapack_alloc(n * n, sizeof *h), *Q = ssm_lapack_alloc(n * n, sizeof *Q),
               *tr = malloc(n * sizeof *tr);
        lapack_int info = 0;
        if (!h || !Q || !tr)
            s = SSM_ERROR(SSM_ENOMEM, "transfer: out of memory");
        if (s == SSM_OK) {
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++)
                    h[j * n + i] = creal(SSM_D(A, i, j));
            info = ssm_k_dgehrd((int)n, h, (int)n, tr);
            s = ssm_lapack_status("dgehrd", info);
        }
        if (s == SSM_OK) {
            memcpy(Q, h, n * n * sizeof *Q);
            info = ssm_k_dorghr((int)n, Q, (int)n, tr);
            s = ssm_lapack_status("dorghr", info);
        }
        if (s == SSM_OK) {
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++)
                    p->Hr[i * n + j] = j + 1 < i ? 0.0 : h[j * n + i];
            for (size_t j = 0; j < n; j++) {
                double complex bb = 0.0, cc = 0.0;
                for (size_t i = 0; i < n; i++) {
                    bb += Q[j * n + i] * SSM_D(b, i, 0);
                    cc += SSM_D(c, 0, i) * Q[j * n + i];
                }
                p->b[j] = bb;
                p->c[j] = cc;
            }
        }
        free(h);
        free(Q);
        free(tr);
    } else if (n > 0) {
        /* column-major padded work copies (see ssm_lapack_alloc) */
        double complex *h = ssm_lapack_alloc(n * n, sizeof *h), *Q = ssm_lapack_alloc(n * n, sizeof *Q);
        lapack_int info = 0;
        if (!h || !Q)
            s = SSM_ERROR(SSM_ENOMEM, "transfer: out of memory");
        if (s == SSM_OK) {
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++)
                    h[j * n + i] = SSM_D(A, i, j);
            info = ssm_k_zgehrd((int)n, h, (int)n, tau);
            s = ssm_lapack_status("zgehrd", info);
        }
        if (s == SSM_OK) {
            memcpy(Q, h, n * n * sizeof *Q);
            info = ssm_k_zunghr((int)n, Q, (int)n, tau);
            s = ssm_lapack_status("zunghr", info);
        }
        if (s == SSM_OK) {
            /* H row-major, zero below the subdiagonal (the reflectors live there) */
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++) {
                    double complex v = j + 1 < i ? 0.0 : h[j * n + i];
                    p->Hr[i * n + j] = creal(v);
                    p->Hi[i * n + j] = cimag(v);
                }
            for (size_t j = 0; j < n; j++) {
                double complex bb = 0.0, cc = 0.0;
                for (size_t i = 0; i < n; i++) {
                    bb += conj(Q[j * n + i]) * SSM_D(b, i, 0);
                    cc += SSM_D(c, 0, i) * Q[j * n + i];
                }
                p->b[j] = bb;
                p->c[j] = cc;
            }
        }
        free(h);
        free(Q);
    }
    free(tau);
    if (s != SSM_OK) {
        ssm_tf_plan_free(p);
        *status = s;
        return NULL;
    }
    *status = SSM_OK;
    return p;
}

/* A block of F <= TF_BLOCK frequencies: G_f = D + ĉ (s_f I − H)⁻¹ b̂.  Gaussian
 * elimination with partial pivoting between the only two candidates (the
 * running row and the next row of s_f I − H, generated from H on the fly);
 * with T = P L U, ĉ T⁻¹ b̂ = (ĉ U⁻¹)(L⁻¹P b̂) = w·y, and w = ĉ U⁻¹ is built
 * column by column as each U row appears (w_j = (ĉ_j − acc_j)/U_jj, then
 * acc += w_j U_j,·): U is never stored, a frequency needs two rows of work
 * space, and the F frequencies share each pass over H (read once per block).
 * Real arithmetic with split real/imaginary parts (no complex-multiplication
 * library calls).  O(n²) per frequency.  Returns the index of the first
 * frequency with an exactly zero pivot (sI − A singular), or F. */
enum { TF_BLOCK = 8 };

static size_t eval_block(double complex *G, const ssm_tf_plan *p, const double complex *s, size_t F, double *work)
{
    const size_t n = p->n;
    const double *Hr = p->Hr, *Hi = p->Hi;
    double *cr = work, *ci = cr + TF_BLOCK * n, *ar = ci + TF_BLOCK * n, *ai = ar + TF_BLOCK * n;
    double br[TF_BLOCK], bi[TF_BLOCK], gr[TF_BLOCK], gi[TF_BLOCK];
    for (size_t f = 0; f < F; f++) {
        double *xr = cr + f * n, *xi = ci + f * n;
        for (size_t q = 0; q < n; q++) {
            xr[q] = -Hr[q];
            xi[q] = Hi ? -Hi[q] : 0.0;
            ar[f * n + q] = ai[f * n + q] = 0.0;
        }
        xr[0] += creal(s[f]);
        xi[0] += cimag(s[f]);
        br[f] = creal(p->b[0]);
        bi[f] = cimag(p->b[0]);
        gr[f] = creal(p->D);
        gi[f] = cimag(p->D);
    }
    for (size_t j = 0; j < n; j++) {
        const int last = j + 1 == n;
        const double *hr = last ? NULL : Hr + (j + 1) * n, *hi = last || !Hi ? NULL : Hi + (j + 1) * n;
        const double cjr = creal(p->c[j]), cji = cimag(p->c[j]);
        for (size_t f = 0; f < F; f++) {
            double *xr = cr + f * n, *xi = ci + f * n, *accr = ar + f * n, *acci = ai + f * n;
            const double sr = creal(s[f]), si = cimag(s[f]);
            /* next row (j+1) of sI − H at column j is −H[j+1, j] */
            double nr = last ? 0.0 : -hr[j], ni = last || !hi ? 0.0 : -hi[j];
            int swap = !last && fabs(nr) + fabs(ni) > fabs(xr[j]) + fabs(xi[j]);
            double pr = swap ? nr : xr[j], pi = swap ? ni : xi[j]; /* the pivot U_jj */
            double den = pr * pr + pi * pi;
            if (den == 0.0)
                return f;
            /* w_j = (ĉ_j − acc_j)/U_jj and y_j (the pivot row's right-hand side) */
            double tr = cjr - accr[j], ti = cji - acci[j];
            double wr = (tr * pr + ti * pi) / den, wi = (ti * pr - tr * pi) / den;
            double nbr = last ? 0.0 : creal(p->b[j + 1]), nbi = last ? 0.0 : cimag(p->b[j + 1]);
            double yr = swap ? nbr : br[f], yi = swap ? nbi : bi[f];
            gr[f] += wr * yr - wi * yi;
            gi[f] += wr * yi + wi * yr;
            if (last)
                continue;
            /* l = other[j]/pivot; the new running row = other − l·pivot; acc += w_j · pivot row */
            double or_ = swap ? xr[j] : nr, oi = swap ? xi[j] : ni;
            double lr = (or_ * pr + oi * pi) / den, li = (oi * pr - or_ * pi) / den;
            double obr = swap ? br[f] : nbr, obi = swap ? bi[f] : nbi;
            br[f] = obr - (lr * yr - li * yi);
            bi[f] = obi - (lr * yi + li * yr);
            /* column j+1 carries s on the diagonal of the next row: done apart, so that the loops over
             * q >= j+2 are plain streams (and, for real H, free of the imaginary part of H) */
            size_t q1 = j + 1;
            {
                double vr = -hr[q1] + sr, vi = (hi ? -hi[q1] : 0.0) + si; /* next row at column j+1 */
                double pr1 = swap ? vr : xr[q1], pi1 = swap ? vi : xi[q1];   /* pivot row there */
                double or1 = swap ? xr[q1] : vr, oi1 = swap ? xi[q1] : vi;   /* other row there */
                xr[q1] = or1 - (lr * pr1 - li * pi1);
                xi[q1] = oi1 - (lr * pi1 + li * pr1);
                accr[q1] += wr * pr1 - wi * pi1;
                acci[q1] += wr * pi1 + wi * pr1;
            }
            double *restrict Xr = xr, *restrict Xi = xi, *restrict Ar = accr, *restrict Ai = acci;
            const double *restrict Hrow = hr, *restrict Hirow = hi;
            if (swap && !Hirow) {
                for (size_t q = j + 2; q < n; q++) {
                    double vr = -Hrow[q];
                    Xr[q] -= lr * vr;
                    Xi[q] -= li * vr;
                    Ar[q] += wr * vr;
                    Ai[q] += wi * vr;
                }
            } else if (swap) {
                for (size_t q = j + 2; q < n; q++) {
                    double vr = -Hrow[q], vi = -Hirow[q];
                    Xr[q] -= lr * vr - li * vi;
                    Xi[q] -= lr * vi + li * vr;
                    Ar[q] += wr * vr - wi * vi;
                    Ai[q] += wr * vi + wi * vr;
                }
            } else if (!Hirow) {
                for (size_t q = j + 2; q < n; q++) {
                    double vr = Xr[q], vi = Xi[q];
                    Xr[q] = -Hrow[q] - (lr * vr - li * vi);
                    Xi[q] = -(lr * vi + li * vr);
                    Ar[q] += wr * vr - wi * vi;
                    Ai[q] += wr * vi + wi * vr;
                }
            } else {
                for (size_t q = j + 2; q < n; q++) {
                    double vr = Xr[q], vi = Xi[q];
                    Xr[q] = -Hrow[q] - (lr * vr - li * vi);
                    Xi[q] = -Hirow[q] - (lr * vi + li * vr);
                    Ar[q] += wr * vr - wi * vi;
                    Ai[q] += wr * vi + wi * vr;
                }
            }
        }
    }
    for (size_t f = 0; f < F; f++)
        G[f] = CMPLX(gr[f], gi[f]);
    return F;
}

ssm_status ssm_tf_eval(double complex *G, const ssm_tf_plan *p, const double complex *s, size_t count)
{
    size_t n = p->n;
    if (n == 0) {
        for (size_t k = 0; k < count; k++)
            G[k] = p->D;
        return SSM_OK;
    }
    double *work = malloc(4 * TF_BLOCK * n * sizeof *work);
    if (!work)
        return SSM_ERROR(SSM_ENOMEM, "transfer: out of memory");
    ssm_status st = SSM_OK;
    for (size_t k = 0; k < count; k += TF_BLOCK) {
        size_t F = count - k < TF_BLOCK ? count - k : TF_BLOCK;
        size_t bad = eval_block(G + k, p, s + k, F, work);
        if (bad < F) {
            st = SSM_ERROR(SSM_ELOSS, "transfer: sI - A is singular at s = %g%+gi", creal(s[k + bad]),
                           cimag(s[k + bad]));
            break;
        }
    }
    free(work);
    return st;
}

ssm_status ssm_tf_dense_solve(double complex *G, const ssm_zmat_t A, const ssm_zmat_t b, const ssm_zmat_t c,
                              double complex D, const double complex *s, size_t count)
{
    size_t n = A->rows;
    ssm_zmat_t T, x;
    ssm_status st = ssm_zmat_init(T, n, n);
    if (st == SSM_OK)
        st = ssm_zmat_init(x, n, 1);
    for (size_t k = 0; st == SSM_OK && k < count; k++) {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < n; j++)
                SSM_D(T, i, j) = -SSM_D(A, i, j);
            SSM_D(T, i, i) += s[k];
            SSM_D(x, i, 0) = SSM_D(b, i, 0);
        }
        st = ssm_zmat_solve(x, T);
        double complex g = D;
        for (size_t i = 0; i < n; i++)
            g += SSM_D(c, 0, i) * SSM_D(x, i, 0);
        G[k] = g;
    }
    ssm_zmat_clear(T);
    ssm_zmat_clear(x);
    return st;
}

void ssm_tf_diag(double complex *G, const double complex *lambda, const double complex *b,
                 const double complex *c, size_t M, int conj_sym, double complex D, const double complex *s,
                 size_t count)
{
    for (size_t k = 0; k < count; k++) {
        double complex g = D;
        for (size_t m = 0; m < M; m++) {
            double complex cb = c[m] * b[m];
            g += cb / (s[k] - lambda[m]);
            if (conj_sym)
                g += conj(cb) / (s[k] - conj(lambda[m]));
        }
        G[k] = g;
    }
}

/* solve the small r×r system X y = z in place (Gaussian elimination with partial pivoting) */
static int small_solve(double complex *X, double complex *z, size_t r)
{
    for (size_t j = 0; j < r; j++) {
        size_t piv = j;
        for (size_t i = j + 1; i < r; i++)
            if (cabs(X[i * r + j]) > cabs(X[piv * r + j]))
                piv = i;
        if (X[piv * r + j] == 0.0)
            return 0;
        if (piv != j) {
            for (size_t q = 0; q < r; q++) {
                double complex t = X[j * r + q];
                X[j * r + q] = X[piv * r + q];
                X[piv * r + q] = t;
            }
            double complex t = z[j];
            z[j] = z[piv];
            z[piv] = t;
        }
        for (size_t i = j + 1; i < r; i++) {
            double complex l = X[i * r + j] / X[j * r + j];
            for (size_t q = j; q < r; q++)
                X[i * r + q] -= l * X[j * r + q];
            z[i] -= l * z[j];
        }
    }
    for (size_t i = r; i-- > 0;) {
        double complex acc = z[i];
        for (size_t q = i + 1; q < r; q++)
            acc -= X[i * r + q] * z[q];
        z[i] = acc / X[i * r + i];
    }
    return 1;
}

ssm_status ssm_tf_dplr(double complex *G, const double complex *lambda, const double complex *b,
                       const double complex *c, const ssm_zmat_t Pt, size_t M, int conj_sym, double complex D,
                       const double complex *s, size_t count)
{
    enum { RMAX = 8 };
    size_t r = Pt->rows;
    if (r > RMAX || Pt->cols != M)
        return SSM_ERROR(SSM_EINVAL, "dplr transfer: P must be r x M with r <= %d", RMAX);
    for (size_t k = 0; k < count; k++) {
        /* accumulate over the modes (and their conjugates): g0 = c R b, u = c R P̃,
         * v = P̃* R b, X = I + P̃* R P̃ (r×r) */
        double complex g0 = 0.0, u[RMAX] = {0}, v[RMAX] = {0}, X[RMAX * RMAX] = {0};
        for (size_t half = 0; half < (conj_sym ? 2u : 1u); half++) {
            for (size_t m = 0; m < M; m++) {
                double complex lam = half ? conj(lambda[m]) : lambda[m];
                double complex bm = half ? conj(b[m]) : b[m], cm = half ? conj(c[m]) : c[m];
                double complex R = 1.0 / (s[k] - lam);
                g0 += cm * R * bm;
                for (size_t i = 0; i < r; i++) {
                    double complex pi = half ? conj(SSM_D(Pt, i, m)) : SSM_D(Pt, i, m);
                    u[i] += cm * R * pi;
                    v[i] += conj(pi) * R * bm;
                    for (size_t j = 0; j < r; j++) {
                        double complex pj = half ? conj(SSM_D(Pt, j, m)) : SSM_D(Pt, j, m);
                        X[i * r + j] += conj(pi) * R * pj;
                    }
                }
            }
        }
        for (size_t i = 0; i < r; i++)
            X[i * r + i] += 1.0;
        if (!small_solve(X, v, r))
            return SSM_ERROR(SSM_ELOSS, "dplr transfer: I + P*RP is singular at s = %g%+gi", creal(s[k]),
                             cimag(s[k]));
        double complex corr = 0.0;
        for (size_t i = 0; i < r; i++)
            corr += u[i] * v[i];
        G[k] = D + g0 - corr;
    }
    return SSM_OK;
}

ssm_status ssm_tf_omega_grid(double complex *s, double *omega, double lo, double hi, size_t count, int log_spaced)
{
    if (count == 0 || !(hi >= lo) || !isfinite(lo) || !isfinite(hi) || (log_spaced && lo <= 0.0))
        return SSM_ERROR(SSM_EINVAL, "frequency grid %g:%g:%zu%s is invalid", lo, hi, count,
                         log_spaced ? ":log (needs 0 < LO <= HI)" : " (needs LO <= HI, COUNT > 0)");
    for (size_t k = 0; k < count; k++) {
        double t = count > 1 ? (double)k / (double)(count - 1) : 0.0;
        double w = log_spaced ? exp(log(lo) + t * (log(hi) - log(lo))) : lo + t * (hi - lo);
        if (omega)
            omega[k] = w;
        s[k] = CMPLX(0.0, w);
    }
    return SSM_OK;
}

ssm_status ssm_tf_draw_grid(double **omega, size_t *count, double lo, double hi, size_t points, const double *extra,
                            size_t extra_count)
{
    *omega = NULL;
    *count = 0;
    if (!(lo > 0.0) || !(hi > lo) || !isfinite(hi) || points < 2 || points > 100000000 || (extra_count && !extra))
        return SSM_ERROR(SSM_EINVAL, "draw grid %g:%g:%zu is invalid (needs 0 < LO < HI, 2 <= COUNT <= 1e8)", lo, hi,
                         points);
    double *w = malloc((points + extra_count) * sizeof *w);
    if (!w)
        return SSM_ERROR(SSM_ENOMEM, "out of memory for %zu frequencies", points + extra_count);
    for (size_t k = 0; k < points; k++) /* as ssm_tf_omega_grid */
        w[k] = exp(log(lo) + (double)k / (double)(points - 1) * (log(hi) - log(lo)));
    size_t n = points;
    for (size_t k = 0; k < extra_count; k++)
        if (extra[k] > lo && extra[k] < hi)
            w[n++] = extra[k];
    *count = ssm_sort_unique(w, n);
    *omega = w;
    return SSM_OK;
}

void ssm_tf_phase_unwrap(double *deg, const double complex *G, size_t count)
{
    double prev = 0.0, shift = 0.0;
    for (size_t k = 0; k < count; k++) {
        double ph = carg(G[k]) * 180.0 / M_PI;
        if (k) {
            while (ph + shift - prev > 180.0)
                shift -= 360.0;
            while (ph + shift - prev < -180.0)
                shift += 360.0;
        }
        prev = deg[k] = ph + shift;
    }
}

ssm_status ssm_tf_plan_create(ssm_tf_plan **out, const ssm_zmat_t A, const ssm_zmat_t b, const ssm_zmat_t c,
                              double complex D)
{
    ssm_status s = SSM_OK;
    *out = plan_new(A, b, c, D, &s);
    return *out ? SSM_OK : s != SSM_OK ? s : SSM_ERROR(SSM_ENOMEM, "transfer: out of memory for a plan");
}
