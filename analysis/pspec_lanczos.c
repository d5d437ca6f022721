/* analysis/pspec_lanczos.c — the inverse Lanczos iterations of the
 * pseudospectra (see analysis/pspec.c for the whole design): start vectors,
 * the top Ritz value of the tridiagonal, the stopping rules, the triangular
 * solves (one shift at a time; many shifts at once), the DPLR Woodbury solves
 * and the four workers. */
#define _POSIX_C_SOURCE 200809L
#include "analysis/pspec_impl.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- pseudo-random start vectors (splitmix64 + Box–Muller) -------------- */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* point's start vector: entries uniform in the unit square (any distribution
 * with no preferred direction serves; a Gaussian costs a log and a sincos per
 * entry, which showed in the profile), normalised */
static void start_vector(double complex *q, size_t n, uint64_t seed, size_t point)
{
    uint64_t st = seed * 0x2545F4914F6CDD1Dull + point;
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = splitmix(&st);
        double re = (double)(r >> 32) * 0x1p-31 - 1.0, im = (double)(r & 0xFFFFFFFFu) * 0x1p-31 - 1.0;
        q[i] = CMPLX(re, im);
        ss += re * re + im * im;
    }
    double nrm = sqrt(ss);
    if (!(nrm > 0)) { /* all zero: astronomically unlikely, but a start must not vanish */
        q[0] = 1;
        nrm = 1;
    }
    for (size_t i = 0; i < n; i++)
        q[i] /= nrm;
}

static double znorm(const double complex *x, size_t n)
{
    return cblas_dznrm2((int)n, x, 1);
}

/* G = χ_l'(x)/χ_l(x) = Σ 1/(x − λ_i) and H = Σ 1/(x − λ_i)² = G² − χ_l''/χ_l
 * for x above every eigenvalue of every leading block (χ_k the characteristic
 * polynomial of the leading k×k block of T), by ratio recurrences (r_k =
 * χ_k/χ_{k−1}, d_k = χ_k'/χ_k, e_k = χ_k''/χ_k) that cannot overflow; also
 * *s2 = χ_{l−1}(x)/χ_l'(x), which at x = λ_max is u_l², the squared last
 * component of its unit eigenvector.  Returns 0 when some r_k ≤ 0 (x is not
 * above every eigenvalue). */
static int tridiag_ratio(double *G, double *H, double *s2, const double *a, const double *b, size_t l, double x)
{
    double rinv = 1, d1 = 0, d2 = 0, e1 = 0, e2 = 0; /* rinv = 1/r_{k−1}: one division per k */
    for (size_t k = 0; k < l; k++) {
        double bq = k > 0 ? b[k - 1] * b[k - 1] * rinv : 0, xa = x - a[k];
        double r = xa - bq;
        double dnum = 1 + xa * d1 - bq * d2;
        double enum_ = 2 * d1 + xa * e1 - bq * e2;
        if (k + 1 == l)
            *s2 = dnum > 1 ? 1 / dnum : 1;
        if (!(r > 0))
            return 0;
        rinv = 1 / r;
        d2 = d1;
        d1 = dnum * rinv;
        e2 = e1;
        e1 = enum_ * rinv;
    }
    *G = d1;
    *H = d1 * d1 - e1;
    return 1;
}

/* The largest eigenvalue θ of the symmetric tridiagonal T_l (diagonal a,
 * off-diagonal b, l ≥ 1) and u_l² (see tridiag_ratio).  Laguerre's method on
 * χ_l from above: for a polynomial with real roots it converges monotonically
 * to the largest root, cubically, and is not slowed by a distant start (Newton
 * is: linear rate 1 − 1/l far out).  Start: max(θ_prev, a_l) + |b_{l−1}|, an
 * upper bound by Weyl's inequality when θ_prev = λ_max(T_{l−1}); Sturm-count
 * bisection takes over if that bound fails.  θ to ~1e-10 relative (the
 * stopping rules look at changes of 1e-5, 1e-7 for the strict one; closer
 * than that the steps are rounding noise and overshoot).  About 10 passes per
 * call on HiPPO-LegS n = 256 (clustered top Ritz values slow Laguerre to a
 * linear rate). */
static double top_ritz(const double *a, const double *b, size_t l, double prev, double s2prev, double *s2)
{
    /* Bracket from the previous step (θ_prev = λ_max(T_{l−1}), u² its
     * eigenvector's squared last component): the secular equation of the
     * bordered matrix, f(x) = x − a_l − b² Σ u_i²/(x − μ_i), lies between
     * x − a_l − b² u²/(x − θ_prev) and x − a_l − b²/(x − θ_prev) above θ_prev,
     * whose largest roots bound θ from below and above (the 2×2 problems). */
    double x, lo = -INFINITY, G, H;
    if (l > 1 && prev > 0) {
        double al = a[l - 1], bb = b[l - 2] * b[l - 2], dd = prev - al;
        x = 0.5 * (al + prev + sqrt(dd * dd + 4 * bb));
        lo = 0.5 * (al + prev + sqrt(dd * dd + 4 * bb * s2prev));
    } else {
        x = fmax(prev, a[l - 1]) + (l > 1 ? fabs(b[l - 2]) : 0);
    }
    x += 4 * DBL_EPSILON * fabs(x);
    double ln = (double)l, above = NAN; /* above: the last point known to be above θ */
    for (int it = 0; it < 80; it++) {
        if (!tridiag_ratio(&G, &H, s2, a, b, l, x)) {
            /* rounding carried a step past θ: back to the middle of the last step */
            if (isnan(above))
                break;
            if (above - x <= 1e-10 * fabs(above)) {
                tridiag_ratio(&G, &H, s2, a, b, l, above);
                return above;
            }
            x = 0.5 * (x + above);
            continue;
        }
        above = x;
        if (x - lo <= 1e-10 * fabs(x))
            return x;
        double disc = (ln - 1) * (ln * H - G * G);
        double step = ln / (G + sqrt(disc > 0 ? disc : 0));
        if (!(step > 1e-10 * fabs(x)))
            return x;
        x -= step;
    }
    /* fallback: bisection on Sturm counts over the Gershgorin interval */
    double hi = -INFINITY;
    lo = INFINITY;
    for (size_t k = 0; k < l; k++) {
        double r = (k > 0 ? fabs(b[k - 1]) : 0) + (k + 1 < l ? fabs(b[k]) : 0);
        hi = fmax(hi, a[k] + r);
        lo = fmin(lo, a[k] - r);
    }
    for (int it = 0; it < 200 && hi - lo > 4 * DBL_EPSILON * fmax(fabs(hi), fabs(lo)); it++) {
        double m = 0.5 * (lo + hi), d = 1;
        size_t below = 0; /* eigenvalues < m: negative pivots of T − mI = LDLᵀ */
        for (size_t k = 0; k < l; k++) {
            d = a[k] - m - (k > 0 ? b[k - 1] * b[k - 1] / d : 0);
            if (d == 0)
                d = -DBL_MIN;
            below += d < 0;
        }
        if (below == l)
            hi = m;
        else
            lo = m;
    }
    if (!tridiag_ratio(&G, &H, s2, a, b, l, hi))
        *s2 = 1;
    return hi;
}

/* ---- clusters ------------------------------------------------------------
 *
 * Single-vector Lanczos cannot tell the top eigenvalue θ₁ of the operator
 * from θ₂ when they agree to ~1e-3 and stops on a plateau near θ₂ (HiPPO-LegS
 * n = 256 right of its spectrum: σ₁..σ₃ of zI − A within 1e-4..1e-3; 5 of 431
 * checked points came out 1.4e-4..2.6e-4 off).  When the converged
 * tridiagonal has a second Ritz value within CLUSTER of the first (and σ is in
 * the relative-accuracy region), the fast paths keep iterating the same
 * Lanczos run under a ten times stricter rule, for up to twice max_iter
 * steps: the Krylov polynomial then separates the cluster (about 20 more
 * steps on those points, each O(n²) — far cheaper than a dense SVD or a block
 * method with full orthogonalisation, both tried).  Ten, not a hundred: on
 * the Schur route, LegS n = 256, 100×100 EigTool grid, about 745 of the 5000
 * points are clustered; against numpy's SVD at every one of them the values
 * at the first (EigTool-rule) stop are off by up to 1.5e-4 (2 points above
 * 1e-4, 18 above 1e-5), after the strict continuation by at most 1.1e-5 with
 * either factor, but a hundred took 54 000 of the grid's 74 000 steps there
 * and ten takes 36 000 of 56 000 (three instead of ten: 2.2e-5 worst, 48 000
 * steps on the grid — too close to the promise to be worth it). */
#define CLUSTER 1e-2
#define STRICT 1e-1

/* do the converged Lanczos values (a, b, l steps, top θ) have a second Ritz
 * value within CLUSTER·θ?  One Sturm count: fewer than l − 1 eigenvalues
 * below θ(1 − CLUSTER) */
static int clustered(const double *a, const double *b, size_t l, double theta)
{
    if (l < 2)
        return 0;
    double x = theta * (1 - CLUSTER), d = 1;
    size_t below = 0;
    for (size_t k = 0; k < l; k++) {
        d = a[k] - x - (k > 0 ? b[k - 1] * b[k - 1] / d : 0);
        if (d == 0)
            d = -DBL_MIN;
        below += d < 0;
    }
    return below + 1 < l;
}

/* ---- one Lanczos slot ---------------------------------------------------- */

typedef struct {
    size_t point;          /* index into z, or SIZE_MAX when idle */
    double complex z;
    int it;
    double beta, sigold;
    double th[4];          /* the last four top Ritz values (ring) */
    int strict;            /* continuing a clustered point under the strict rule */
    double s2;             /* u_l² of the top Ritz vector at the last step */
    size_t lane;           /* fast path: index of this slot's history, basis and warm vector */
    size_t cnext, cend;    /* fast path: the rest of this slot's chunk (indices into todo) */
    int warm_ok;           /* fast path: the lane's warm vector is valid for the next point */
    double *alpha, *betas; /* max_iter each */
} slot;

/* One Lanczos step for a slot after w = op(q): returns 1 when done, with *sig
 * the top Ritz value.  q, qold, w are the slot's columns. */
static int lanczos_step(slot *s, double complex *q, double complex *qold, double complex *w, size_t n, double tol,
                        int max_iter, double abs_floor, double *sig)
{
    if (s->it > 0)
        cblas_zaxpy((int)n, &(double complex){-s->beta}, qold, 1, w, 1);
    double complex dot;
    cblas_zdotc_sub((int)n, q, 1, w, 1, &dot);
    double alpha = creal(dot);
    cblas_zaxpy((int)n, &(double complex){-alpha}, q, 1, w, 1);
    double beta = znorm(w, n);
    s->alpha[s->it] = alpha;
    s->betas[s->it] = beta;
    s->it++;
    size_t l = (size_t)s->it;
    double s2;
    *sig = top_ritz(s->alpha, s->betas, l, s->sigold, s->s2, &s2);
    s->s2 = s2;
    if (s->strict) {
        tol *= STRICT;
        max_iter *= 2;
    }
    double change = fabs(s->sigold / *sig - 1);
    int done = change < tol; /* EigTool's rule */
    s->th[l % 4] = *sig;
    if (done && abs_floor >= 0) {
        /* EigTool's rule alone stops early where σ_min is nearly multiple and
         * convergence is slow (one small step among larger ones: 3e-4 errors
         * on HiPPO-LegS).  The careful rule asks in addition either the Ritz
         * residual β_l |u_l| to be below req·θ (then an eigenvalue lies within
         * req·θ of θ; req = tol, or the relative accuracy that the absolute
         * floor 10ε‖A‖ allows when σ is that small), or, for clusters where
         * the residual lags, θ to have moved over the last three steps
         * together by less than tol/2. */
        double req = fmax(tol, abs_floor * sqrt(*sig));
        done = beta * sqrt(s2) <= req * *sig || (l > 4 && fabs(s->th[(l - 3) % 4] / *sig - 1) < 0.5 * tol);
    }
    done = done || s->it >= max_iter || !(beta > 0) || !isfinite(*sig);
    s->sigold = *sig;
    s->beta = beta;
    memcpy(qold, q, n * sizeof *q);
    if (beta > 0) /* the next vector, also when done (a strict continuation needs it) */
        for (size_t i = 0; i < n; i++)
            q[i] = w[i] / beta;
    return done;
}

/* After a fast-path point converged: should it go on under the strict rule
 * (clustered top Ritz values, σ in the relative-accuracy region, room left)? */
static int go_strict(slot *s, double theta, double normA, int max_iter)
{
    if (s->strict || !(theta > 0) || 1 / sqrt(theta) <= 1e-8 * normA || s->it >= max_iter ||
        !(s->beta > 0) || !clustered(s->alpha, s->betas, (size_t)s->it, theta))
        return 0;
    s->strict = 1;
    return 1;
}

/* σ from the converged top Ritz value θ of (T−zI)⁻¹(T−zI)⁻*: σ = 1/√θ */
static double sigma_of(double theta) { return theta > 0 ? 1.0 / sqrt(theta) : 0.0; }

/* ---- triangular solves --------------------------------------------------- */

/* x ← (T − zI)⁻¹ x, then x ← (T − zI)⁻* x, one shift, BLAS-2 ZTRSV on
 * Tz = T − zI (formed once per point), as EigTool's two backslashes */
static void solve_pair_single(const double complex *Tz, size_t n, double complex *x)
{
    cblas_ztrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, Tz, (int)n, x, 1);
    cblas_ztrsv(CblasColMajor, CblasUpper, CblasConjTrans, CblasNonUnit, (int)n, Tz, (int)n, x, 1);
}

/* the multi-shift solves of the fast path: pspec_multishift.c */

/* ---- DPLR: Sherman–Morrison–Woodbury solves, O(n r) ------------------------ */

/* Per point: zI − A = D + P Q*, D = diag(z − λ).  Stores D⁻¹ and the inverse
 * of the capacitance matrix C = I + Q* D⁻¹ P (r×r).  0 when D or C is
 * exactly singular (the point then goes to the Schur form). */
typedef struct {
    size_t n, r;
    double complex *dinv;  /* n */
    double complex C[64], Cinv[64];
} dplr_point;

static int small_inverse(double complex *Ainv, const double complex *A, size_t r)
{
    double complex M[64];
    memcpy(M, A, r * r * sizeof *M);
    for (size_t i = 0; i < r * r; i++)
        Ainv[i] = 0;
    for (size_t i = 0; i < r; i++)
        Ainv[i * r + i] = 1;
    for (size_t k = 0; k < r; k++) { /* Gauss–Jordan with partial pivoting, r <= 8 */
        size_t piv = k;
        for (size_t i = k + 1; i < r; i++)
            if (cabs(M[i * r + k]) > cabs(M[piv * r + k]))
                piv = i;
        if (M[piv * r + k] == 0)
            return 0;
        for (size_t j = 0; j < r; j++) {
            double complex t = M[k * r + j]; M[k * r + j] = M[piv * r + j]; M[piv * r + j] = t;
            t = Ainv[k * r + j]; Ainv[k * r + j] = Ainv[piv * r + j]; Ainv[piv * r + j] = t;
        }
        double complex d = M[k * r + k];
        for (size_t j = 0; j < r; j++) {
            M[k * r + j] /= d;
            Ainv[k * r + j] /= d;
        }
        for (size_t i = 0; i < r; i++)
            if (i != k) {
                double complex f = M[i * r + k];
                for (size_t j = 0; j < r; j++) {
                    M[i * r + j] -= f * M[k * r + j];
                    Ainv[i * r + j] -= f * Ainv[k * r + j];
                }
            }
    }
    return 1;
}

static int dplr_prepare(dplr_point *d, const ssm_pspec_plan *p, double complex z)
{
    size_t n = p->n, r = p->r;
    for (size_t i = 0; i < n; i++) {
        double complex den = z - p->lam[i];
        if (den == 0)
            return 0;
        d->dinv[i] = 1.0 / den;
    }
    for (size_t a = 0; a < r; a++)
        for (size_t b = 0; b < r; b++) {
            double complex acc = a == b ? 1 : 0;
            const double complex *qa = p->Q + a * n, *pb = p->P + b * n;
            for (size_t i = 0; i < n; i++)
                acc += conj(qa[i]) * d->dinv[i] * pb[i];
            d->C[a * r + b] = acc;
        }
    return small_inverse(d->Cinv, d->C, r);
}

/* x ← (zI − A)⁻¹ x (adj = 0) or x ← (zI − A)⁻* x (adj = 1), by Woodbury:
 * (D + P Q*)⁻¹ x = y − D⁻¹P C⁻¹ Q* y with y = D⁻¹ x, and for the adjoint
 * (D* + Q P*)⁻¹ x = y − D⁻*Q C⁻* P* y with y = D⁻* x. */
static void dplr_solve(const dplr_point *d, const ssm_pspec_plan *p, double complex *x, int adj)
{
    /* written in real arithmetic on the interleaved parts so that the loops
     * vectorise (C's complex product carries a NaN-recovery branch) */
    size_t n = p->n, r = p->r;
    const double *L = (const double *)(adj ? p->P : p->Q), *R = (const double *)(adj ? p->Q : p->P);
    const double *di = (const double *)d->dinv;
    double *xv = (double *)x, sg = adj ? -1.0 : 1.0; /* D⁻¹ or D⁻* = conj(D⁻¹) */
    double complex t[8], u[8];
    for (size_t i = 0; i < n; i++) {
        double xr = xv[2 * i], xi = xv[2 * i + 1], dr = di[2 * i], dm = sg * di[2 * i + 1];
        xv[2 * i] = xr * dr - xi * dm;
        xv[2 * i + 1] = xr * dm + xi * dr;
    }
    for (size_t a = 0; a < r; a++) { /* t_a = L_a* x */
        const double *la = L + 2 * a * n;
        double tr = 0, ti = 0;
        for (size_t i = 0; i < n; i++) {
            tr += la[2 * i] * xv[2 * i] + la[2 * i + 1] * xv[2 * i + 1];
            ti += la[2 * i] * xv[2 * i + 1] - la[2 * i + 1] * xv[2 * i];
        }
        t[a] = CMPLX(tr, ti);
    }
    for (size_t a = 0; a < r; a++) {
        u[a] = 0;
        for (size_t b = 0; b < r; b++)
            u[a] += (adj ? conj(d->Cinv[b * r + a]) : d->Cinv[a * r + b]) * t[b];
    }
    for (size_t a = 0; a < r; a++) { /* x −= D⁻¹ R_a u_a */
        const double *ra = R + 2 * a * n;
        double ur = creal(u[a]), ui = cimag(u[a]);
        for (size_t i = 0; i < n; i++) {
            double vr = ra[2 * i] * ur - ra[2 * i + 1] * ui, vi = ra[2 * i] * ui + ra[2 * i + 1] * ur;
            double dr = di[2 * i], dm = sg * di[2 * i + 1];
            xv[2 * i] -= vr * dr - vi * dm;
            xv[2 * i + 1] -= vr * dm + vi * dr;
        }
    }
}

/* ‖(zI − A) y − b‖₂ / ‖y‖₂ (adj: with (zI − A)*): the size of the smallest
 * perturbation of zI − A for which y is the exact solution */
static double dplr_backward_error(const ssm_pspec_plan *p, double complex z, const double complex *y,
                                  const double complex *b, int adj, double complex *res)
{
    size_t n = p->n, r = p->r;
    const double complex *L = adj ? p->P : p->Q, *R = adj ? p->Q : p->P;
    double complex t[8];
    for (size_t a = 0; a < r; a++) {
        double complex acc;
        cblas_zdotc_sub((int)n, L + a * n, 1, y, 1, &acc);
        t[a] = acc;
    }
    for (size_t i = 0; i < n; i++) {
        double complex d = z - p->lam[i];
        res[i] = (adj ? conj(d) : d) * y[i] - b[i];
    }
    for (size_t a = 0; a < r; a++)
        cblas_zaxpy((int)n, &t[a], R + a * n, 1, res, 1);
    return znorm(res, n) / znorm(y, n);
}

static size_t take(shared_work *w)
{
    pthread_mutex_lock(&w->lock);
    size_t k = w->next < w->count ? w->todo[w->next++] : SIZE_MAX;
    pthread_mutex_unlock(&w->lock);
    return k;
}

static void report(shared_work *w, size_t points, size_t its, size_t unconv)
{
    pthread_mutex_lock(&w->lock);
    w->done += points;
    w->iterations += its;
    w->unconverged += unconv;
    if (w->bar)
        ssm_progress_update(w->bar, w->done);
    pthread_mutex_unlock(&w->lock);
}

static void count_refined(shared_work *w)
{
    pthread_mutex_lock(&w->lock);
    w->refined++;
    pthread_mutex_unlock(&w->lock);
}

static void fail(shared_work *w, ssm_status s)
{
    pthread_mutex_lock(&w->lock);
    if (w->status == SSM_OK)
        w->status = s;
    w->next = w->count; /* stop handing out work */
    pthread_mutex_unlock(&w->lock);
}

/* σ_min of T − zI by SVD (small n) */
static double svd_point(const double complex *T, size_t n, double complex z, double complex *a, double *s,
                        double complex *work, size_t lwork, double *rwork, ssm_status *st)
{
    memcpy(a, T, n * n * sizeof *a);
    for (size_t k = 0; k < n; k++)
        a[k * n + k] -= z;
    lapack_int info = LAPACKE_zgesvd_work(LAPACK_COL_MAJOR, 'N', 'N', (lapack_int)n, (lapack_int)n, a,
                                          (lapack_int)n, s, NULL, 1, NULL, 1, work, (lapack_int)lwork, rwork);
    if (info != 0) {
        *st = ssm_lapack_status("zgesvd", info);
        return NAN;
    }
    return s[n - 1];
}

void *ssm_pspec_worker_svd(void *arg)
{
    shared_work *w = arg;
    size_t n = w->p->n;
    double complex q;
    lapack_int info = LAPACKE_zgesvd_work(LAPACK_COL_MAJOR, 'N', 'N', (lapack_int)n, (lapack_int)n, NULL,
                                          (lapack_int)n, NULL, NULL, 1, NULL, 1, &q, -1, NULL);
    size_t lwork = info == 0 ? (size_t)creal(q) + 1 : 4 * n;
    double complex *a = ssm_lapack_alloc(n * n, sizeof *a), *work = ssm_lapack_alloc(lwork, sizeof *work);
    double *s = ssm_lapack_alloc(n, sizeof *s), *rwork = ssm_lapack_alloc(5 * n, sizeof *rwork);
    if (!a || !work || !s || !rwork)
        fail(w, SSM_ERROR(SSM_ENOMEM, "pspec: out of memory"));
    size_t k;
    while (a && work && s && rwork && (k = take(w)) != SIZE_MAX) {
        ssm_status st = SSM_OK;
        w->sigma[k] = svd_point(w->T, n, w->z[k], a, s, work, lwork, rwork, &st);
        if (st != SSM_OK) {
            fail(w, st);
            break;
        }
        report(w, 1, 0, 0);
    }
    free(a); free(work); free(s); free(rwork);
    return NULL;
}

/* method of record: one point at a time, BLAS-2 triangular solves */
void *ssm_pspec_worker_record(void *arg)
{
    shared_work *w = arg;
    const ssm_pspec_plan *p = w->p;
    size_t n = p->n, mi = (size_t)p->o.max_iter;
    double complex *q = malloc(3 * n * sizeof *q), *Tz = malloc(n * n * sizeof *Tz);
    double *buf = malloc(4 * mi * sizeof *buf);
    if (!q || !Tz || !buf) {
        fail(w, SSM_ERROR(SSM_ENOMEM, "pspec: out of memory"));
        free(q); free(Tz); free(buf);
        return NULL;
    }
    double complex *qold = q + n, *v = q + 2 * n;
    slot s = {.alpha = buf, .betas = buf + mi};
    size_t k;
    while ((k = take(w)) != SIZE_MAX) {
        s.point = k;
        s.z = w->z[k];
        s.it = 0;
        s.beta = 0;
        s.sigold = 0;
        s.s2 = 1;
        int singular = 0;
        for (size_t i = 0; i < n; i++)
            singular |= w->T[i * n + i] == s.z;
        if (singular) {
            w->sigma[k] = 0;
            report(w, 1, 0, 0);
            continue;
        }
        start_vector(q, n, w->seed, k);
        memcpy(Tz, w->T, n * n * sizeof *Tz);
        for (size_t i = 0; i < n; i++)
            Tz[i * n + i] -= s.z;
        double sig = 0;
        for (;;) {
            memcpy(v, q, n * sizeof *v);
            solve_pair_single(Tz, n, v);
            if (lanczos_step(&s, q, qold, v, n, p->o.tol, p->o.max_iter, w->abs_floor, &sig))
                break;
        }
        w->sigma[k] = sigma_of(sig);
        report(w, 1, (size_t)s.it, s.it >= p->o.max_iter);
    }
    free(q); free(Tz); free(buf);
    return NULL;
}

/* fast path: a block of shifts iterating together */
/* Warm starts (fast and DPLR routes): points come in chunks of WARM_CHUNK
 * consecutive entries (neighbours on a grid row), and each point after the
 * first starts from the previous point's top Ritz vector plus WARM_MIX times
 * its own random unit vector.  The random part must be as large as the warm
 * one: where σ_min changes branch between neighbours (a level crossing) the
 * old vector is an eigenvector of a lower eigenvalue, its Ritz pair converges
 * at once, and only the random part leads to the new top one.  With 1%, 30%
 * and 50% a weighted cyclic permutation (tests/t-pspec.c) came out up to 3%
 * off at a few points of a 17×15 grid; with equal parts every start carries at
 * least 1/√2 of a random start's component along any direction (as safe as a
 * random start, to that factor) and every point met the promise.  The gain is
 * smaller than with 1% (LegS N = 256: 15 Lanczos steps per point, against 4.3
 * with 1% and 25 with random starts).  Chunks are fixed by the point order, so
 * the values do not depend on the thread count. */
#define WARM_CHUNK 32
#define WARM_MIX 1.0

static size_t take_chunk(shared_work *w, size_t *first)
{
    pthread_mutex_lock(&w->lock);
    size_t c = 0;
    if (w->next < w->count) {
        *first = w->next;
        c = w->count - w->next < WARM_CHUNK ? w->count - w->next : WARM_CHUNK;
        w->next += c;
    }
    pthread_mutex_unlock(&w->lock);
    return c;
}

/* y = Σ_k u_k Qb[:, k] with u the top eigenvector of the Lanczos tridiagonal
 * (dstevx: bisection + inverse iteration); 0 when LAPACK declines */
static int ritz_vector(double complex *y, const double complex *Qb, const slot *s, size_t n, double *scratch,
                       lapack_int *iscratch)
{
    size_t l = (size_t)s->it;
    double *d = scratch, *e = scratch + l, *u = scratch + 2 * l, *work = scratch + 3 * l, ev;
    memcpy(d, s->alpha, l * sizeof *d);
    if (l > 1)
        memcpy(e, s->betas, (l - 1) * sizeof *e);
    lapack_int m = 0;
    if (LAPACKE_dstevx_work(LAPACK_COL_MAJOR, 'V', 'I', (lapack_int)l, d, e, 0, 0, (lapack_int)l, (lapack_int)l,
                            0.0, &m, &ev, u, (lapack_int)l, work, iscratch, iscratch + 5 * l) != 0 || m != 1)
        return 0;
    memset(y, 0, n * sizeof *y);
    for (size_t k = 0; k < l; k++)
        cblas_zaxpy((int)n, &(double complex){u[k]}, Qb + k * n, 1, y, 1);
    return 1;
}

typedef struct {
    shared_work *w;
    size_t n, m, lmax, kb;
    double complex *Q, *Qb, *warm;
    double *buf;
    ssm_pspec_ms *ws;
} fast_ctx;

/* Give the slot at position j its next point: the next one of its chunk
 * (warm-started from its lane's Ritz vector when that is valid), else the
 * first of a new chunk; its diagonal inverses go to column j.  Points where
 * T − zI is exactly singular (σ = 0) are answered here.  0 when no work is
 * left. */
static int fast_next(fast_ctx *c, slot *s, size_t j)
{
    shared_work *w = c->w;
    size_t n = c->n;
    for (;;) {
        if (s->cnext == s->cend) {
            size_t first, cnt = take_chunk(w, &first);
            if (!cnt)
                return 0;
            s->cnext = first;
            s->cend = first + cnt;
            s->warm_ok = 0;
        }
        size_t k = w->todo[s->cnext++];
        if (!ssm_pspec_ms_shift(c->ws, j, w->z[k])) {
            w->sigma[k] = 0;
            report(w, 1, 0, 0);
            s->warm_ok = 0;
            continue;
        }
        size_t lane = s->lane, cnext = s->cnext, cend = s->cend;
        int warm_ok = s->warm_ok;
        /* history room for a strict continuation: 2·max_iter per lane */
        *s = (slot){.point = k, .z = w->z[k], .s2 = 1, .lane = lane, .cnext = cnext, .cend = cend,
                    .alpha = c->buf + 2 * lane * c->lmax, .betas = c->buf + (2 * lane + 1) * c->lmax};
        double complex *q = c->Q + j * n;
        start_vector(q, n, w->seed, k);
        if (warm_ok) {
            const double complex *wv = c->warm + lane * n;
            for (size_t i = 0; i < n; i++)
                q[i] = wv[i] + WARM_MIX * q[i];
            double nq = znorm(q, n);
            for (size_t i = 0; i < n; i++)
                q[i] /= nq;
        }
        return 1;
    }
}

/* The multi-shift workspace of a fast worker with m slots: on the real Schur
 * form w->Tq when there is one (real matrix), else on the complex one w->T
 * split into its parts.  Returns the one allocation that holds everything
 * (zeroed), NULL when out of memory. */
static double *ms_setup(ssm_pspec_ms *ws, const shared_work *w, size_t m)
{
    size_t n = w->p->n, real = w->Tq != NULL;
    /* row blocks: large enough for efficient DGEMMs, small enough that the
     * vector work inside the diagonal blocks (∝ nb) stays minor (measured on
     * HiPPO-LegS n = 256: 32 to 64 best for the complex form, 24 to 32 for
     * the real one, whose products are half as costly) */
    size_t nb = n < 64 ? n : real ? 32 : 48;
    size_t nd = real ? 4 * n * m : 2 * n * m, nt = real ? 0 : 2 * n * n;
    double *mem = calloc(nt + 2 * n * m + nd + (n + 1) + n, sizeof *mem);
    if (!mem)
        return NULL;
    double *X = mem + nt, *D = X + 2 * n * m;
    _Static_assert(_Alignof(size_t) <= sizeof(double), "the block bounds follow the doubles");
    size_t *bnd = (size_t *)(D + nd); /* n + 1 entries, then n flags */
    unsigned char *pair = (unsigned char *)(bnd + n + 1);
    *ws = (ssm_pspec_ms){.n = n, .ldd = m, .Tr = real ? w->Tq : mem, .Ti = real ? NULL : mem + n * n,
                         .pair = real ? pair : NULL, .bnd = bnd, .Xr = X, .Dr = D, .Di = D + n * m,
                         .Er = real ? D + 2 * n * m : NULL, .Ei = real ? D + 3 * n * m : NULL};
    if (real) { /* both parts of a row in one run (Xi is set per call) */
        ws->ldx = 2 * m;
        ws->Xi = X + m;
        for (size_t k = 0; k + 1 < n; k++)
            pair[k] = w->Tq[k * n + k + 1] != 0;
    } else {
        ws->ldx = m;
        ws->Xi = X + n * m;
        for (size_t i = 0; i < n * n; i++) {
            mem[i] = creal(w->T[i]);
            mem[n * n + i] = cimag(w->T[i]);
        }
    }
    ws->nblk = ssm_pspec_ms_blocks(bnd, ws->pair, n, nb);
    return mem;
}

void *ssm_pspec_worker_fast(void *arg)
{
    shared_work *w = arg;
    const ssm_pspec_plan *p = w->p;
    size_t n = p->n, m = (size_t)p->o.block, mi = (size_t)p->o.max_iter, lmax = 2 * mi;
    /* Lanczos bases for the Ritz vectors of the warm starts: kb vectors per
     * lane, capped at 48 MiB per worker (a point that runs longer passes no
     * warm vector on) */
    size_t kb = lmax, cap = ((size_t)48 << 20) / (n * m * sizeof(double complex));
    if (kb > cap)
        kb = cap < 8 ? 8 : cap;
    double complex *Q = malloc(n * m * sizeof *Q), *Qold = malloc(n * m * sizeof *Qold),
                   *W = malloc(n * m * sizeof *W), *Qb = malloc(n * kb * m * sizeof *Qb),
                   *warm = malloc(n * m * sizeof *warm);
    double *buf = malloc((2 * m * lmax + 10 * lmax) * sizeof *buf), *split = NULL;
    lapack_int *ibuf = malloc(6 * lmax * sizeof *ibuf);
    slot *sl = calloc(m, sizeof *sl);
    ssm_pspec_ms ws;
    if (!Q || !Qold || !W || !Qb || !warm || !buf || !ibuf || !sl || !(split = ms_setup(&ws, w, m))) {
        fail(w, SSM_ERROR(SSM_ENOMEM, "pspec: out of memory"));
        goto out;
    }
    size_t ldx = ws.ldx;
    fast_ctx c = {.w = w, .n = n, .m = m, .lmax = lmax, .kb = kb, .Q = Q, .Qb = Qb, .warm = warm, .buf = buf,
                  .ws = &ws};
    double *scratch = buf + 2 * m * lmax;
    size_t active = 0; /* slots 0..active−1 are busy; each slot keeps its lane when slots swap */
    for (size_t j = 0; j < m; j++)
        sl[j].lane = j;
    while (active < m && fast_next(&c, &sl[active], active))
        active++;
    while (active > 0) {
        if (ws.pair) /* real form: the imaginary parts right after the active real ones */
            ws.Xi = ws.Xr + active;
        for (size_t j = 0; j < active; j++) {
            if ((size_t)sl[j].it < kb)
                memcpy(Qb + (sl[j].lane * kb + (size_t)sl[j].it) * n, Q + j * n, n * sizeof *Q);
            for (size_t i = 0; i < n; i++) {
                ws.Xr[i * ldx + j] = creal(Q[j * n + i]);
                ws.Xi[i * ldx + j] = cimag(Q[j * n + i]);
            }
        }
        ssm_pspec_ms_solve(&ws, active);
        ssm_pspec_ms_solve_adj(&ws, active);
        for (size_t j = 0; j < active; j++)
            for (size_t i = 0; i < n; i++)
                W[j * n + i] = CMPLX(ws.Xr[i * ldx + j], ws.Xi[i * ldx + j]);
        size_t j = 0;
        while (j < active) {
            double sig;
            slot *s = &sl[j];
            if (!lanczos_step(s, Q + j * n, Qold + j * n, W + j * n, n, p->o.tol, p->o.max_iter,
                              w->abs_floor, &sig)) {
                j++;
                continue;
            }
            if (go_strict(s, sig, p->normA, p->o.max_iter)) {
                count_refined(w);
                j++;
                continue;
            }
            w->sigma[s->point] = sigma_of(sig);
            report(w, 1, (size_t)s->it, s->it >= (s->strict ? 2 : 1) * p->o.max_iter);
            /* the Ritz vector for the next point of the chunk */
            double complex *wv = warm + s->lane * n;
            s->warm_ok = s->cnext < s->cend && (size_t)s->it <= kb &&
                         ritz_vector(wv, Qb + s->lane * kb * n, s, n, scratch, ibuf);
            if (s->warm_ok) {
                double nw = znorm(wv, n);
                s->warm_ok = nw > 0 && isfinite(nw);
                for (size_t i = 0; s->warm_ok && i < n; i++)
                    wv[i] /= nw;
            }
            if (fast_next(&c, s, j)) {
                j++;
                continue;
            }
            /* no work left for this slot: swap it with the last active one
             * (lanes travel with the slots; the columns move) */
            size_t last = active - 1;
            if (j != last) {
                slot t = *s;
                *s = sl[last];
                sl[last] = t;
                memcpy(Q + j * n, Q + last * n, n * sizeof *Q);
                memcpy(Qold + j * n, Qold + last * n, n * sizeof *Q);
                memcpy(W + j * n, W + last * n, n * sizeof *Q);
                for (size_t i = 0; i < n; i++) {
                    ws.Dr[i * m + j] = ws.Dr[i * m + last];
                    ws.Di[i * m + j] = ws.Di[i * m + last];
                    if (ws.Er) {
                        ws.Er[i * m + j] = ws.Er[i * m + last];
                        ws.Ei[i * m + j] = ws.Ei[i * m + last];
                    }
                }
            }
            active--;
        }
    }
out:
    free(Q); free(Qold); free(W); free(Qb); free(warm); free(buf); free(split); free(ibuf); free(sl);
    return NULL;
}

void *ssm_pspec_worker_dplr(void *arg)
{
    shared_work *w = arg;
    const ssm_pspec_plan *p = w->p;
    size_t n = p->n, mi = (size_t)p->o.max_iter, lmax = 2 * mi;
    double complex *q = malloc(6 * n * sizeof *q), *Qb = malloc(n * lmax * sizeof *Qb);
    double *buf = malloc((4 + 8) * lmax * sizeof *buf); /* alpha, beta (2·max_iter each), dstevx scratch */
    lapack_int *ibuf = malloc(6 * lmax * sizeof *ibuf);
    dplr_point d = {.n = n, .r = p->r, .dinv = malloc(n * sizeof(double complex))};
    if (!q || !Qb || !buf || !ibuf || !d.dinv) {
        fail(w, SSM_ERROR(SSM_ENOMEM, "pspec: out of memory"));
        free(q); free(Qb); free(buf); free(ibuf); free(d.dinv);
        return NULL;
    }
    double complex *qold = q + n, *v = q + 2 * n, *y = q + 3 * n, *u = q + 4 * n, *warm = q + 5 * n;
    slot s = {.alpha = buf, .betas = buf + lmax};
    size_t first, c;
    while ((c = take_chunk(w, &first)) > 0) {
        int have_warm = 0;
        for (size_t jj = 0; jj < c; jj++) {
            size_t k = w->todo[first + jj];
            double complex z = w->z[k];
            int ok = dplr_prepare(&d, p, z);
            double sig = 0;
            if (ok) {
                s.point = k;
                s.z = z;
                s.it = 0;
                s.beta = 0;
                s.sigold = 0;
                s.s2 = 1;
                s.strict = 0;
                start_vector(q, n, w->seed, k);
                if (have_warm) {
                    for (size_t i = 0; i < n; i++)
                        q[i] = warm[i] + WARM_MIX * q[i];
                    double nq = znorm(q, n);
                    for (size_t i = 0; i < n; i++)
                        q[i] /= nq;
                }
                for (;;) {
                    memcpy(Qb + (size_t)s.it * n, q, n * sizeof *q);
                    memcpy(v, q, n * sizeof *v);
                    dplr_solve(&d, p, v, 0);
                    dplr_solve(&d, p, v, 1);
                    if (lanczos_step(&s, q, qold, v, n, p->o.tol, p->o.max_iter, w->abs_floor, &sig)) {
                        if (!go_strict(&s, sig, p->normA, p->o.max_iter))
                            break;
                        count_refined(w);
                    }
                }
                have_warm = ritz_vector(warm, Qb, &s, n, buf + 2 * lmax, ibuf);
                if (have_warm) {
                    double nw = znorm(warm, n);
                    have_warm = nw > 0 && isfinite(nw);
                    for (size_t i = 0; have_warm && i < n; i++)
                        warm[i] /= nw;
                }
                /* the guard, a posteriori: both solves on the last Lanczos vector
                 * must be backward stable to within what the result promises —
                 * a perturbation of size η moves σ by at most η (Weyl) — relative
                 * DPLR_REL_OK·σ, or absolute 10·ε·‖A‖_F where σ is that small */
                memcpy(y, qold, n * sizeof *y);
                dplr_solve(&d, p, y, 0);
                memcpy(u, y, n * sizeof *u);
                dplr_solve(&d, p, u, 1);
                double eta = fmax(dplr_backward_error(p, z, y, qold, 0, v), dplr_backward_error(p, z, u, y, 1, v));
                ok = isfinite(eta) && eta <= fmax(DPLR_REL_OK * sigma_of(sig), 10 * DBL_EPSILON * p->normA);
            } else {
                have_warm = 0;
            }
            if (!ok) {
                pthread_mutex_lock(&w->lock);
                w->guard_list[w->guard_failed++] = k;
                pthread_mutex_unlock(&w->lock);
                continue;
            }
            w->sigma[k] = sigma_of(sig);
            report(w, 1, (size_t)s.it, s.it >= (s.strict ? 2 : 1) * p->o.max_iter);
        }
    }
    free(q); free(Qb); free(buf); free(ibuf); free(d.dinv);
    return NULL;
}
