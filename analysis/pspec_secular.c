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
 * below max(1e-6 σ, 2ερ), ρ = max|A_ii| ≤ ‖A‖₂.  An untrustworthy sign at
 * μ leaves the root in the bracket (its ends were sure): when the bracket is
 * within a tenth of the promise (2e-5 relative above 1e-8‖A‖_F) or half of it (20ερ: the midpoint is
 * then within 1e-5 relative / 10ε‖A‖₂) that is the answer, else the quarter points are tried and,
 * failing those, the point goes to the Schur-form fallback (counted in
 * info.guard_failed).  Tested
 * against a dense SVD (tests/t-pspec.c). */
#include "analysis/pspec_impl.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* per-point data, split real arrays so that the sums vectorise */
typedef struct {
    size_t n, npad;      /* npad: n rounded up to a multiple of 4 */
    double *ad;          /* |d_k| */
    double *pp, *qq;     /* |p_k|², |q_k|² */
    double *sr, *si, *sa;/* d_k p̄_k q_k and its modulus */
    double *lmod;        /* |λ_k| */
    double *dl;          /* δ_k: the absolute error of |d_k| */
} secular_point;

typedef struct {
    int count;           /* #{σ_i < μ}, valid when sure */
    int sure;            /* the signs behind the count are above their error bounds */
    double det;          /* det C(μ) */
} secular_eval;

/* Four lanes of partial sums (GCC vector extension: lowered to SSE2 or wider;
 * the lanes are added in a fixed order at the end, so the value does not
 * depend on the vector unit).  Arrays are padded to a multiple of four with
 * zero weights and |d| = 1e300 (below μ never, terms zero). */
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));
#define LD4(v, p) memcpy(&(v), (p), sizeof(v4d))

/* |x| lane by lane: clear the sign bits (a macro: a v4d returned by value
 * would change the ABI between the clones) */
#define VABS(out, x)                                                                                              \
    do {                                                                                                          \
        v4l b_;                                                                                                   \
        memcpy(&b_, &(x), sizeof b_);                                                                             \
        b_ &= (v4l){0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL};     \
        memcpy(&(out), &b_, sizeof(out));                                                                         \
    } while (0)

#define lanes(x) (((x)[0] + (x)[1]) + ((x)[2] + (x)[3]))

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
static secular_eval evaluate(const secular_point *sp, double mu)
{
    size_t n = sp->npad;
    v4d vmu = {mu, mu, mu, mu}, A = {0}, Cc = {0}, Br = {0}, Bi = {0}, Ea = {0}, Ec = {0}, Eb = {0}, Sa = {0},
        Sc = {0}, Sb = {0};
    v4l below4 = {0};
    for (size_t k = 0; k < n; k += 4) {
        v4d ad, pp, qq, sr, si, sab, dl;
        LD4(ad, sp->ad + k); LD4(pp, sp->pp + k); LD4(qq, sp->qq + k);
        LD4(sr, sp->sr + k); LD4(si, sp->si + k); LD4(sab, sp->sa + k); LD4(dl, sp->dl + k);
        v4d t = vmu - ad, u = vmu + ad, w = 1.0 / (t * u), aw, au;
        VABS(aw, w);
        VABS(au, u);
        v4d r = dl * aw * aw * au; /* |w_k| × δ_k/|t_k| = δ_k/(t_k²|u_k|), no second division */
        below4 -= (v4l)(ad < vmu);
        Sa += pp * aw; /* Σ|terms|: the sums' own rounding */
        Sc += qq * aw;
        Sb += sab * aw;
        A += pp * w;
        Cc += qq * w;
        Br += sr * w;
        Bi += si * w;
        Ea += pp * r;
        Ec += qq * r;
        Eb += sab * r;
    }
    double a = lanes(A), c = lanes(Cc), br = lanes(Br), bi = lanes(Bi), ea = lanes(Ea), ec = lanes(Ec),
           eb = lanes(Eb), sa = lanes(Sa), sc = lanes(Sc), sb = lanes(Sb);
    int below = (int)((below4[0] + below4[1]) + (below4[2] + below4[3]));
    a *= mu;
    c *= mu;
    ea *= mu;
    ec *= mu;
    br -= 1.0;
    double ub = hypot(br, bi);
    /* rounding of the sums: (n + 4) ε times the sum of the absolute terms (the
     * recursive-summation bound; b = −1 + Σ cancels when σ_min is tiny, and
     * this is the term that says so) */
    double g = (double)(n + 4) * DBL_EPSILON;
    ea += g * mu * sa;
    ec += g * mu * sc;
    eb += g * (sb + 1.0);
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
/* the midpoint of [lo, hi] is within 1e-5 relative where σ > 1e-8‖A‖
 * (rel_floor = 1e-8‖A‖_F ≥ that), else 20ε‖A‖ absolute (abs_tol = 2ερ ≤ 2ε‖A‖₂) */
static int within_promise(double lo, double hi, double rel_floor, double abs_tol)
{
    return (lo > rel_floor && hi - lo <= 2e-5 * lo) || hi - lo <= 10.0 * abs_tol;
}

static int sigma_min(double *out, const secular_point *sp, double lo, double hi, double abs_tol, double rel_floor,
                     int *evals)
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
        if (hi - lo <= fmax(1e-6 * lo, abs_tol))
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
            mu = lo > 0 && hi > 4.0 * lo ? sqrt(lo * hi) : lo == 0 && hi > 16.0 * abs_tol ? hi / 256.0
                                                                                           : 0.5 * (lo + hi);
        }
        secular_eval e = evaluate(sp, mu);
        (*evals)++;
        /* an untrustworthy sign: the root is still in [lo, hi] (both ends were
         * sure); within the promise (1e-4 relative, 20ε‖A‖, halved for the
         * midpoint) that is the answer, else try the quarter points */
        double mu0 = mu;
        for (int q = 1; !e.sure && q <= 2; q++) {
            if (within_promise(lo, hi, rel_floor, abs_tol))
                break;
            mu = q == 1 ? 0.5 * (lo + mu0) : 0.5 * (mu0 + hi);
            e = evaluate(sp, mu);
            (*evals)++;
        }
        if (!e.sure) {
            if (within_promise(lo, hi, rel_floor, abs_tol))
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
    size_t n = p->n, np = (n + 3) / 4 * 4;
    double *buf = malloc(9 * np * sizeof *buf);
    if (!buf) {
        pthread_mutex_lock(&w->lock);
        if (w->status == SSM_OK)
            w->status = SSM_ERROR(SSM_ENOMEM, "pspec: out of memory");
        w->next = w->count;
        pthread_mutex_unlock(&w->lock);
        return NULL;
    }
    secular_point sp = {.n = n, .npad = np, .ad = buf, .pp = buf + np, .qq = buf + 2 * np, .sr = buf + 3 * np,
                        .si = buf + 4 * np, .dl = buf + 5 * np, .sa = buf + 6 * np, .lmod = buf + 7 * np};
    for (size_t k = n; k < np; k++) { /* padding: no terms, never below μ */
        sp.ad[k] = 1e300;
        sp.pp[k] = sp.qq[k] = sp.sr[k] = sp.si[k] = sp.sa[k] = sp.dl[k] = sp.lmod[k] = 0.0;
    }
    double np2 = 0, nq2 = 0;
    for (size_t k = 0; k < n; k++) {
        sp.pp[k] = creal(p->P[k]) * creal(p->P[k]) + cimag(p->P[k]) * cimag(p->P[k]);
        sp.qq[k] = creal(p->Q[k]) * creal(p->Q[k]) + cimag(p->Q[k]) * cimag(p->Q[k]);
        np2 += sp.pp[k];
        nq2 += sp.qq[k];
        sp.lmod[k] = cabs(p->lam[k]);
    }
    /* absolute tolerance from ρ = max |A_ii|, a lower bound of ‖A‖₂ (the promise is in ‖A‖₂) */
    double pq = sqrt(np2 * nq2), abs_tol = 2.0 * DBL_EPSILON * p->rho;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        size_t next = w->next < w->count ? w->next++ : SIZE_MAX;
        pthread_mutex_unlock(&w->lock);
        if (next == SIZE_MAX)
            break;
        size_t idx = w->todo[next];
        double complex z = w->z[idx];
        double dmin = INFINITY, hi = INFINITY, az = cabs(z);
        for (size_t k = 0; k < n; k++) {
            double dr = creal(z) - creal(p->lam[k]), di = cimag(z) - cimag(p->lam[k]);
            double pr = creal(p->P[k]), pi = cimag(p->P[k]), qr = creal(p->Q[k]), qi = cimag(p->Q[k]);
            double cr = pr * qr + pi * qi, ci = pr * qi - pi * qr; /* p̄_k q_k */
            double d2 = dr * dr + di * di;
            sp.ad[k] = sqrt(d2); /* |d| ≤ |z| + ‖A‖: no overflow for any box of interest */
            sp.sr[k] = dr * cr - di * ci;
            sp.si[k] = dr * ci + di * cr;
            sp.sa[k] = sp.ad[k] * sqrt(sp.pp[k] * sp.qq[k]);
            sp.dl[k] = 4.0 * DBL_EPSILON * (az + sp.lmod[k]);
            dmin = fmin(dmin, sp.ad[k]);
            /* σ_min ≤ ‖M e_k‖ and ≤ ‖e_k* M‖: |d_k|² + 2 Re(d̄_k p_k q̄_k) + |q_k|²‖p‖² (or |p_k|²‖q‖²) */
            double cross = 2.0 * sp.sr[k];
            hi = fmin(hi, sqrt(fmax(0.0, d2 + cross + fmin(sp.qq[k] * np2, sp.pp[k] * nq2))));
        }
        /* Weyl: |σ_min(D + pq*) − σ_min(D)| ≤ ‖p‖‖q‖ */
        double lo = fmax(0.0, dmin - pq), sig = 0;
        hi = fmin(hi, dmin + pq) * (1.0 + 1e-12) + abs_tol;
        int evals = 0;
        if (sigma_min(&sig, &sp, lo, hi, abs_tol, 1e-8 * p->normA, &evals)) {
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
