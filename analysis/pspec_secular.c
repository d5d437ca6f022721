/* analysis/pspec_secular.c — σ_min(zI − A) for A = diag(λ) − p q* (rank one)
 * without Lanczos: an inertia count on the Hermitian dilation and a secular
 * equation, O(n) per evaluation, no squaring.
 *
 * M = zI − A = D + p q*, D = diag(d_k), d_k = z − λ_k.  The singular values of M
 * are the positive eigenvalues of H = [[0, M], [M*, 0]] = H₀ + U S U* with
 * H₀ = [[0, D], [D*, 0]] (2×2 blocks, eigenvalues ±|d_k|), U = [[p, 0], [0, q]]
 * and S = [[0, 1], [1, 0]].  For μ > 0 not an |d_k|, the inertia of the bordered
 * matrix [[H₀ − μ, U], [U*, −S]] counted through both Schur complements gives
 *     #{σ_i < μ} = #{k : |d_k| < μ} + neg C(μ) − 1,
 *     C(μ) = −S − U*(H₀ − μ)⁻¹U = [[a, b], [b̄, c]],
 *     a = μ Σ|p_k|² w_k,  c = μ Σ|q_k|² w_k,  b = −1 + Σ d_k p̄_k q_k w_k,
 *     w_k = 1/((μ − |d_k|)(μ + |d_k|)),
 * and neg C (0, 1 or 2) follows from det C = ac − |b|² and tr C = a + c.
 * σ_min is where the count first reaches 1: bisection on the count brackets
 * it; once the bracket holds one root and no |d_k|, det C changes sign across
 * it and the Illinois (modified regula falsi) iteration finishes.
 *
 * Rounding.  |d_k| carries an absolute error δ ≈ 4ε(|z| + |λ_k|), so w_k a
 * relative error δ/|μ − |d_k|| on top of the n ε of the sums; a running bound
 * on det C and tr C from those (computed beside the sums) says when a sign —
 * hence a count — cannot be trusted.  The iteration stops when the bracket is
 * below max(1e-7 σ, 2ε‖A‖_F); an untrustworthy count stops it early when the
 * bracket is already within a fifth of the promise (2e-5 relative, 10ε‖A‖_F)
 * and otherwise hands the point to the Schur-form fallback (counted in
 * info.guard_failed).  Tested
 * against a dense SVD (tests/t-pspec.c). */
#include "analysis/pspec_impl.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* per-point data, split real arrays so that the sums vectorise */
typedef struct {
    size_t n;
    double *ad;          /* |d_k| */
    double *pp, *qq;     /* |p_k|², |q_k|² */
    double *sr, *si;     /* d_k p̄_k q_k */
    double *dl;          /* δ_k: the absolute error of |d_k| */
} secular_point;

typedef struct {
    int count;           /* #{σ_i < μ}, valid when sure */
    int sure;            /* the signs behind the count are above their error bounds */
    double det;          /* det C(μ) */
} secular_eval;

static secular_eval evaluate(const secular_point *sp, double mu)
{
    size_t n = sp->n;
    double a = 0, c = 0, br = 0, bi = 0, ea = 0, ec = 0, eb = 0;
    int below = 0;
    for (size_t k = 0; k < n; k++) {
        double t = mu - sp->ad[k], w = 1.0 / (t * (mu + sp->ad[k]));
        double aw = fabs(w), rel = sp->dl[k] / fabs(t);
        below += sp->ad[k] < mu;
        a += sp->pp[k] * w;
        c += sp->qq[k] * w;
        br += sp->sr[k] * w;
        bi += sp->si[k] * w;
        ea += sp->pp[k] * aw * rel;
        ec += sp->qq[k] * aw * rel;
        eb += hypot(sp->sr[k], sp->si[k]) * aw * rel;
    }
    a *= mu;
    c *= mu;
    ea *= mu;
    ec *= mu;
    br -= 1.0;
    double ub = hypot(br, bi);
    /* rounding of the sums: n ε times the sum of absolute terms, bounded by the
     * same sums with |w| (already in ea/ec/eb through rel ≥ 4ε) plus ε per result */
    double g = (double)(n + 4) * DBL_EPSILON;
    ea += g * fabs(a);
    ec += g * fabs(c);
    eb += g * (ub + 1.0);
    double det = a * c - ub * ub;
    double edet = fabs(a) * ec + fabs(c) * ea + ea * ec + 2.0 * ub * eb + eb * eb + g * (fabs(a * c) + ub * ub);
    secular_eval e = {.det = det, .sure = 1};
    int neg;
    if (!isfinite(det) || !isfinite(edet) || !isfinite(a + c)) { /* μ on an |d_k|, or overflow */
        e.sure = 0;
        neg = 0;
    } else if (fabs(det) <= edet) {
        e.sure = 0;
        neg = det < 0;
    } else if (det < 0) {
        neg = 1;
    } else {
        double tr = a + c;
        if (fabs(tr) <= ea + ec)
            e.sure = 0;
        neg = tr < 0 ? 2 : 0;
    }
    e.count = below + neg - 1;
    return e;
}

/* σ_min for one point; returns 0 when the count cannot be trusted before the
 * bracket is narrow enough (the caller falls back) */
static int sigma_min(double *out, const secular_point *sp, double lo, double hi, double abs_tol, int *evals)
{
    /* invariant: #{σ < lo} = 0 (lo = 0 or counted), #{σ < hi} ≥ 1 */
    secular_eval el = {.count = 0, .sure = 1, .det = NAN}, eh = evaluate(sp, hi);
    *evals = 1;
    for (int grow = 0; (!eh.sure || eh.count < 1) && grow < 60; grow++) {
        hi = 2.0 * hi + abs_tol; /* Weyl's bound fell short by rounding: widen */
        eh = evaluate(sp, hi);
        (*evals)++;
    }
    if (!eh.sure || eh.count < 1)
        return 0;
    int have_lo = 0, side = 0;
    for (int it = 0; it < 200; it++) {
        if (hi - lo <= fmax(1e-7 * lo, abs_tol))
            break;
        /* one root and no pole between lo and hi: Illinois on det C */
        double mu;
        int poles = 0;
        if (have_lo && eh.count == 1) {
            for (size_t k = 0; k < sp->n && !poles; k++)
                poles = sp->ad[k] > lo && sp->ad[k] < hi;
        }
        if (have_lo && eh.count == 1 && !poles && isfinite(el.det) && isfinite(eh.det) &&
            (el.det < 0) != (eh.det < 0)) {
            double fl = el.det, fh = eh.det;
            if (side == -1) fh *= 0.5; /* Illinois: halve the stale end */
            if (side == 1) fl *= 0.5;
            mu = (lo * fh - hi * fl) / (fh - fl);
            double guard = 0.01 * (hi - lo);
            if (!(mu > lo + guard && mu < hi - guard))
                mu = 0.5 * (lo + hi);
        } else {
            mu = lo > 0 && hi > 4.0 * lo ? sqrt(lo * hi) : lo == 0 && hi > 16.0 * abs_tol ? hi / 16.0
                                                                                           : 0.5 * (lo + hi);
        }
        secular_eval e = evaluate(sp, mu);
        (*evals)++;
        if (!e.sure) {
            /* the root is in [lo, hi] (both ends were sure): good enough when the
             * bracket is within a fifth of the promise (1e-4 relative, 20 ε‖A‖) */
            if (hi - lo <= fmax(2e-5 * hi, 5.0 * abs_tol))
                break;
            return 0;
        }
        if (e.count >= 1) {
            hi = mu;
            eh = e;
            side = side == 1 ? 2 : 1;
        } else {
            lo = mu;
            el = e;
            have_lo = 1;
            side = side == -1 ? -2 : -1;
        }
    }
    *out = 0.5 * (lo + hi);
    return 1;
}

void *ssm_pspec_worker_secular(void *arg)
{
    shared_work *w = arg;
    const ssm_pspec_plan *p = w->p;
    size_t n = p->n;
    double *buf = malloc(7 * n * sizeof *buf);
    if (!buf) {
        pthread_mutex_lock(&w->lock);
        if (w->status == SSM_OK)
            w->status = SSM_ERROR(SSM_ENOMEM, "pspec: out of memory");
        w->next = w->count;
        pthread_mutex_unlock(&w->lock);
        return NULL;
    }
    secular_point sp = {.n = n, .ad = buf, .pp = buf + n, .qq = buf + 2 * n, .sr = buf + 3 * n, .si = buf + 4 * n,
                        .dl = buf + 5 * n};
    double np2 = 0, nq2 = 0;
    for (size_t k = 0; k < n; k++) {
        sp.pp[k] = creal(p->P[k]) * creal(p->P[k]) + cimag(p->P[k]) * cimag(p->P[k]);
        sp.qq[k] = creal(p->Q[k]) * creal(p->Q[k]) + cimag(p->Q[k]) * cimag(p->Q[k]);
        np2 += sp.pp[k];
        nq2 += sp.qq[k];
    }
    double pq = sqrt(np2 * nq2), abs_tol = 2.0 * DBL_EPSILON * p->normA;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        size_t next = w->next < w->count ? w->next++ : SIZE_MAX;
        pthread_mutex_unlock(&w->lock);
        if (next == SIZE_MAX)
            break;
        size_t idx = w->todo[next];
        double complex z = w->z[idx];
        double dmin = INFINITY;
        for (size_t k = 0; k < n; k++) {
            double complex d = z - p->lam[k], s = d * conj(p->P[k]) * p->Q[k];
            sp.ad[k] = cabs(d);
            sp.sr[k] = creal(s);
            sp.si[k] = cimag(s);
            sp.dl[k] = 4.0 * DBL_EPSILON * (cabs(z) + cabs(p->lam[k]));
            dmin = fmin(dmin, sp.ad[k]);
        }
        /* Weyl: |σ_min(D + pq*) − σ_min(D)| ≤ ‖p‖‖q‖ */
        double lo = fmax(0.0, dmin - pq), hi = dmin + pq, sig = 0;
        int evals = 0;
        if (sigma_min(&sig, &sp, lo, hi, abs_tol, &evals)) {
            w->sigma[idx] = sig;
            pthread_mutex_lock(&w->lock);
            w->done++;
            w->iterations += (size_t)evals;
            if (w->bar)
                ssm_progress_update(w->bar, w->done);
            pthread_mutex_unlock(&w->lock);
        } else {
            pthread_mutex_lock(&w->lock);
            w->guard_list[w->guard_failed++] = idx;
            pthread_mutex_unlock(&w->lock);
        }
    }
    free(buf);
    return NULL;
}
