/* analysis/distance.c — distances between systems: the refined sup of
 * |G₁(iω) − G₂(iω)| over a frequency band (coarse log grid, then Brent's
 * method on every local peak), the H∞ norm of a dense system by the
 * Bruinsma–Steinbuch / Boyd–Balakrishnan Hamiltonian iteration, and the
 * modal (diagonal / DPLR) form of a system as a reusable callback. */
#include "analysis/analysis.h"

#include <gsl/gsl_sort.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- callbacks ---------------------------------------------------------- */

static ssm_status eval_plan(double complex *G, const double complex *s, size_t count, const void *ctx)
{
    return ssm_tf_eval(G, (const ssm_tf_plan *)ctx, s, count);
}

static ssm_status eval_modal(double complex *G, const double complex *s, size_t count, const void *ctx)
{
    return ssm_tf_modal_eval(G, (const ssm_tf_modal *)ctx, s, count);
}

ssm_tf_fn ssm_tf_fn_plan(const ssm_tf_plan *p)
{
    return (ssm_tf_fn){eval_plan, p};
}

ssm_tf_fn ssm_tf_fn_modal(const ssm_tf_modal *m)
{
    return (ssm_tf_fn){eval_modal, m};
}

/* ---- modal systems ------------------------------------------------------ */

void ssm_tf_modal_clear(ssm_tf_modal *m)
{
    if (!m)
        return;
    free(m->lambda);
    free(m->b);
    free(m->c);
    ssm_zmat_clear(m->Pt);
    memset(m, 0, sizeof *m);
}

ssm_status ssm_tf_modal_eval(double complex *G, const ssm_tf_modal *m, const double complex *s, size_t count)
{
    if (m->Pt->rows)
        return ssm_tf_dplr(G, m->lambda, m->b, m->c, m->Pt, m->M, m->conj_sym, m->D, s, count);
    ssm_tf_diag(G, m->lambda, m->b, m->c, m->M, m->conj_sym, m->D, s, count);
    return SSM_OK;
}

ssm_status ssm_tf_modal_dense(ssm_zmat_t A, ssm_zmat_t b, ssm_zmat_t c, const ssm_tf_modal *m)
{
    size_t M = m->M, n = m->conj_sym ? 2 * M : M, r = m->Pt->rows;
    ssm_status s = ssm_zmat_init(A, n, n);
    if (s == SSM_OK) s = ssm_zmat_init(b, n, 1);
    if (s == SSM_OK) s = ssm_zmat_init(c, 1, n);
    if (s != SSM_OK) {
        ssm_zmat_clear(A); ssm_zmat_clear(b); ssm_zmat_clear(c);
        return s;
    }
    /* mode j of the full set: j < M as stored, j >= M the conjugate of j − M */
#define FULL(x, j) ((j) < M ? (x) : conj(x))
    for (size_t i = 0; i < n; i++) {
        size_t hi = i % M;
        SSM_D(A, i, i) = FULL(m->lambda[hi], i);
        SSM_D(b, i, 0) = FULL(m->b[hi], i);
        SSM_D(c, 0, i) = FULL(m->c[hi], i);
        for (size_t j = 0; j < n; j++) {
            size_t hj = j % M;
            for (size_t k = 0; k < r; k++)
                SSM_D(A, i, j) -= FULL(SSM_D(m->Pt, k, hi), i) * conj(FULL(SSM_D(m->Pt, k, hj), j));
        }
    }
#undef FULL
    return SSM_OK;
}

/* ---- refined sup over a band -------------------------------------------- */

typedef struct {
    ssm_tf_fn g1, g2;
    size_t evaluations;
    ssm_status status;
} diff_ctx;

/* |G₁(iω) − G₂(iω)| at ω = e^t (NaN and the status kept on failure) */
static double diff_at(diff_ctx *d, double t)
{
    double complex s = CMPLX(0.0, exp(t)), a, b = 0.0;
    if (d->status != SSM_OK)
        return NAN;
    d->evaluations++;
    d->status = d->g1.eval(&a, &s, 1, d->g1.ctx);
    if (d->status == SSM_OK && d->g2.eval)
        d->status = d->g2.eval(&b, &s, 1, d->g2.ctx);
    return d->status == SSM_OK ? cabs(a - b) : NAN;
}

/* Brent's method (parabolic interpolation + golden section, as Brent 1973,
 * "Algorithms for minimization without derivatives", ch. 5) maximising
 * f(t) = |ΔG(i e^t)| on [a, c] from the interior point b with f(b) >= f(a),
 * f(c).  Stops when x is within 2·(xtol·|t| + 1e-14) of the bracket's
 * midpoint and the bracket is that narrow (t = ln ω, so xtol is relative in ω). */
static void brent_max(double *tbest, double *fbest, diff_ctx *d, double a, double b, double c, double fb, double xtol)
{
    const double CGOLD = 0.3819660112501051, ZEPS = 1e-14;
    double x = b, w = b, v = b, fx = -fb, fw = -fb, fv = -fb, e = 0.0, dd = 0.0;
    for (int it = 0; it < 200; it++) {
        double xm = 0.5 * (a + c), tol1 = xtol * fabs(x) + ZEPS, tol2 = 2.0 * tol1;
        if (fabs(x - xm) <= tol2 - 0.5 * (c - a))
            break;
        if (fabs(e) > tol1) {
            double r = (x - w) * (fx - fv), q = (x - v) * (fx - fw), p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if (q > 0.0)
                p = -p;
            q = fabs(q);
            double etemp = e;
            e = dd;
            if (fabs(p) >= fabs(0.5 * q * etemp) || p <= q * (a - x) || p >= q * (c - x)) {
                e = x >= xm ? a - x : c - x;
                dd = CGOLD * e;
            } else {
                dd = p / q;
                double u = x + dd;
                if (u - a < tol2 || c - u < tol2)
                    dd = xm - x >= 0 ? tol1 : -tol1;
            }
        } else {
            e = x >= xm ? a - x : c - x;
            dd = CGOLD * e;
        }
        double u = fabs(dd) >= tol1 ? x + dd : x + (dd >= 0 ? tol1 : -tol1);
        double fu = -diff_at(d, u);
        if (d->status != SSM_OK)
            break;
        if (fu <= fx) {
            if (u >= x) a = x; else c = x;
            v = w; w = x; x = u;
            fv = fw; fw = fx; fx = fu;
        } else {
            if (u < x) a = u; else c = u;
            if (fu <= fw || w == x) {
                v = w; w = u;
                fv = fw; fw = fu;
            } else if (fu <= fv || v == x || v == w) {
                v = u;
                fv = fu;
            }
        }
    }
    *tbest = x;
    *fbest = -fx;
}

ssm_status ssm_dist_sup(ssm_dist_info *info, ssm_tf_fn g1, ssm_tf_fn g2, const ssm_dist_opts *o)
{
    memset(info, 0, sizeof *info);
    info->sup = info->omega = info->grid_sup = info->grid_omega = NAN;
    if (!g1.eval || !o)
        return SSM_ERROR(SSM_EINVAL, "sup: no transfer function given");
    double lo = o->omega_lo, hi = o->omega_hi, xtol = o->xtol > 0 ? o->xtol : 1e-12;
    size_t K0 = o->grid ? o->grid : 2000;
    if (!(lo > 0.0) || !(hi > lo) || !isfinite(hi) || K0 < 3 || K0 > 100000000)
        return SSM_ERROR(SSM_EINVAL, "sup: the band needs 0 < LO < HI (finite) and 3 <= grid points <= 1e8, "
                                     "got %g:%g:%zu", lo, hi, K0);
    if (o->extra_count && !o->extra)
        return SSM_ERROR(SSM_EINVAL, "sup: extra_count without extra frequencies");
    /* the grid in t = ln ω: K0 log-spaced points plus the extra frequencies inside the band */
    size_t K = K0;
    double *t = malloc((K0 + o->extra_count) * sizeof *t), *f = NULL;
    if (!t)
        return SSM_ERROR(SSM_ENOMEM, "sup: out of memory for %zu frequencies", K0 + o->extra_count);
    for (size_t k = 0; k < K0; k++)
        t[k] = log(lo) + (double)k / (double)(K0 - 1) * (log(hi) - log(lo));
    t[K0 - 1] = log(hi);
    for (size_t k = 0; k < o->extra_count; k++)
        if (o->extra[k] > lo && o->extra[k] < hi)
            t[K++] = log(o->extra[k]);
    K = ssm_sort_unique(t, K);
    f = malloc(K * sizeof *f);
    double complex *s = malloc(K * sizeof *s), *G1 = malloc(K * sizeof *G1), *G2 = malloc(K * sizeof *G2);
    diff_ctx d = {g1, g2, 0, SSM_OK};
    if (!f || !s || !G1 || !G2)
        d.status = SSM_ERROR(SSM_ENOMEM, "sup: out of memory for %zu frequencies", K);
    /* the coarse grid as one batch per system */
    if (d.status == SSM_OK) {
        for (size_t k = 0; k < K; k++)
            s[k] = CMPLX(0.0, exp(t[k]));
        d.status = g1.eval(G1, s, K, g1.ctx);
        if (d.status == SSM_OK && g2.eval)
            d.status = g2.eval(G2, s, K, g2.ctx);
        d.evaluations = K;
    }
    if (d.status == SSM_OK) {
        double fmax = 0.0;
        size_t kmax = 0;
        for (size_t k = 0; k < K; k++) {
            f[k] = cabs(G1[k] - (g2.eval ? G2[k] : 0.0));
            if (!isfinite(f[k])) {
                d.status = SSM_ERROR(SSM_ELOSS, "sup: |G1 - G2| is not finite at omega = %g", exp(t[k]));
                break;
            }
            if (f[k] > fmax || k == 0) {
                fmax = f[k];
                kmax = k;
            }
        }
        /* grid points are exp(t[k]); the band's ends are reported as given */
#define OMEGA_AT(k) ((k) == 0 ? lo : (k) + 1 == K ? hi : exp(t[k]))
        info->grid_sup = fmax;
        info->grid_omega = OMEGA_AT(kmax);
        info->sup = fmax;
        info->omega = info->grid_omega;
        info->at_edge = kmax == 0 || kmax + 1 == K;
        double floor = o->refine_ratio > 0 ? o->refine_ratio * fmax : 0.0;
        /* every strict interior local peak of the grid values gets Brent's method on its two neighbouring
         * cells (a peak at an end of the band is the band's sup there: nothing to refine inside) */
        for (size_t k = 1; d.status == SSM_OK && k + 1 < K; k++) {
            if (!(f[k] > f[k - 1]) || !(f[k] >= f[k + 1]) || f[k] < floor)
                continue;
            info->peaks++;
            double tb, fb;
            brent_max(&tb, &fb, &d, t[k - 1], t[k], t[k + 1], f[k], xtol);
            if (d.status == SSM_OK && fb > info->sup) {
                info->sup = fb;
                info->omega = exp(tb);
                info->at_edge = 0;
            }
        }
#undef OMEGA_AT
    }
    info->evaluations = d.evaluations;
    free(t); free(f); free(s); free(G1); free(G2);
    return d.status;
}

/* ---- H∞ norm: Bruinsma–Steinbuch ---------------------------------------- */

/* |G(iω)| at count frequencies through the Hessenberg plan */
static ssm_status abs_at(double *out, const ssm_tf_plan *p, const double *omega, size_t count, double complex *sbuf,
                         double complex *gbuf)
{
    for (size_t k = 0; k < count; k++)
        sbuf[k] = CMPLX(0.0, omega[k]);
    ssm_status s = ssm_tf_eval(gbuf, p, sbuf, count);
    for (size_t k = 0; s == SSM_OK && k < count; k++)
        out[k] = cabs(gbuf[k]);
    return s;
}

/* A first-order bound on the rounding error of the computed |G(iω)| (a backward-stable solve of
 * (iωI − A) x = b, then c x): |Ĝ − G| ≤ c_n ε κ(iωI − A) ‖c‖ ‖x‖ with ‖x‖ ≤ ‖b‖/σ_min, c_n = 10 n.  For
 * a lightly damped pole at ω (σ_min ≈ |Re λ|) it is what separates the attained value from the true one. */
static ssm_status eval_error(double *err, const ssm_zmat_t A, const ssm_zmat_t b, const ssm_zmat_t c, double omega)
{
    size_t n = A->rows;
    ssm_zmat_t M;
    double complex *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v);
    double smin = 0.0, smax = 0.0;
    ssm_status s = u && v ? ssm_zmat_init(M, n, n) : SSM_ERROR(SSM_ENOMEM, "hinf: out of memory");
    if (s == SSM_OK) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                SSM_D(M, i, j) = (i == j ? CMPLX(0.0, omega) : 0.0) - SSM_D(A, i, j);
        s = ssm_zmat_svd_min(&smin, &smax, u, v, M);
        ssm_zmat_clear(M);
    }
    free(u); free(v);
    if (s == SSM_OK)
        *err = smin > 0 ? 10.0 * (double)n * DBL_EPSILON * (smax / smin) * ssm_zmat_norm_fro(b) *
                              ssm_zmat_norm_fro(c) / smin : INFINITY;
    return s;
}

/* The starting lower bound: the largest |G| at ω = 0 and at ±Im λ of every pole (the resonances), above
 * *lb = |D| (ω → ∞); when all of those vanish, at 1, |λ|max and its half and double.  om, val: scratch of
 * 2n + 1 entries. */
static ssm_status hinf_start(double *lb, double *wlb, const ssm_tf_plan *p, const double complex *lam, size_t n,
                             double amax, double *om, double *val, double complex *sbuf, double complex *gbuf)
{
    size_t m = 0;
    om[m++] = 0.0;
    for (size_t i = 0; i < n; i++) {
        om[m++] = cimag(lam[i]);
        if (cimag(lam[i]) != 0.0)
            om[m++] = -cimag(lam[i]);
    }
    ssm_status s = abs_at(val, p, om, m, sbuf, gbuf);
    for (size_t k = 0; s == SSM_OK && k < m; k++)
        if (val[k] > *lb)
            *lb = val[k], *wlb = om[k];
    if (s == SSM_OK && *lb == 0.0) { /* D = 0 and G vanishes at every resonance and at 0 */
        const double more[] = {1.0, amax, 0.5 * amax, 2.0 * amax};
        s = abs_at(val, p, more, 4, sbuf, gbuf);
        for (size_t k = 0; s == SSM_OK && k < 4; k++)
            if (val[k] > *lb)
                *lb = val[k], *wlb = more[k];
    }
    return s;
}

/* The candidate frequencies where |G(iω)| = γ: the imaginary parts of the eigenvalues on the imaginary
 * axis of H(γ) = [[A + b d̄ c/Q, (γ/Q) b b*], [−(γ/Q) c* c, −(A + b d̄ c/Q)*]], Q = γ² − |d|²: iω is an
 * eigenvalue iff γ is a singular value of G(iω) (Bruinsma & Steinbuch 1990, Boyd, Balakrishnan &
 * Kabamba 1989), for A without imaginary eigenvalues.  "On the axis" up to a generous threshold: a
 * false candidate only costs an evaluation (the iteration stops when the midpoints bring no progress);
 * a missed one would stop the iteration early, so err on the side of accepting.  H: 2n×2n scratch,
 * lam: 2n scratch, om: at least 2n. */
static ssm_status crossings(double *om, size_t *m, ssm_zmat_t H, double complex *lam, const ssm_zmat_t A,
                            const ssm_zmat_t b, const ssm_zmat_t c, double complex D, double g, double amax)
{
    size_t n = A->rows, n2 = 2 * n;
    double q = g * g - creal(D * conj(D));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double complex a = SSM_D(A, i, j) + SSM_D(b, i, 0) * conj(D) * SSM_D(c, 0, j) / q;
            SSM_D(H, i, j) = a;
            SSM_D(H, n + j, n + i) = -conj(a);
            SSM_D(H, i, n + j) = g / q * SSM_D(b, i, 0) * conj(SSM_D(b, j, 0));
            SSM_D(H, n + i, j) = -g / q * conj(SSM_D(c, 0, i)) * SSM_D(c, 0, j);
        }
    ssm_status s = ssm_zmat_eigvals(lam, H);
    if (s != SSM_OK)
        return s;
    double rho = amax;
    for (size_t i = 0; i < n2; i++)
        rho = fmax(rho, cabs(lam[i]));
    *m = 0;
    for (size_t i = 0; i < n2; i++)
        if (fabs(creal(lam[i])) <= 1e-7 * rho)
            om[(*m)++] = cimag(lam[i]);
    return SSM_OK;
}

static ssm_status hinf_stable(ssm_hinf_info *info, const ssm_zmat_t A, const ssm_zmat_t b, const ssm_zmat_t c,
                              double complex D, double tol)
{
    info->hinf = info->omega = info->lower = info->upper = NAN;
    size_t n = A->rows;
    if (A->cols != n || b->rows != n || b->cols != 1 || c->rows != 1 || c->cols != n || n == 0)
        return SSM_ERROR(SSM_EINVAL, "hinf: A must be n x n (n >= 1), b n x 1, c 1 x n");
    if (!(tol > 0.0))
        tol = 1e-10;
    if (tol < 1e-14)
        return SSM_ERROR(SSM_EINVAL, "hinf: tolerance %g is below what double precision resolves (1e-14)", tol);
    size_t n2 = 2 * n, cand = n2 + n + 2;
    double complex *lam = malloc(n2 * sizeof *lam), *sbuf = malloc(cand * sizeof *sbuf),
                   *gbuf = malloc(cand * sizeof *gbuf);
    double *om = malloc(cand * sizeof *om), *val = malloc(cand * sizeof *val), *mp = malloc(cand * sizeof *mp);
    ssm_zmat_t H;
    memset(H, 0, sizeof H);
    ssm_tf_plan *p = NULL;
    ssm_status s = SSM_OK;
    if (!lam || !sbuf || !gbuf || !om || !val || !mp)
        s = SSM_ERROR(SSM_ENOMEM, "hinf: out of memory");
    /* stability: the H∞ norm of a system with a pole in the closed right half-plane is not finite */
    if (s == SSM_OK)
        s = ssm_zmat_eigvals(lam, A);
    double amax = 0.0;
    for (size_t i = 0; s == SSM_OK && i < n; i++) {
        amax = fmax(amax, cabs(lam[i]));
        if (!(creal(lam[i]) < 0.0))
            s = SSM_ERROR(SSM_EINVAL, "hinf: A has the eigenvalue %g%+gi, not in the open left half-plane "
                                      "(the H-infinity norm is not finite)", creal(lam[i]), cimag(lam[i]));
    }
    if (s == SSM_OK)
        s = ssm_tf_plan_create(&p, A, b, c, D);
    /* start: the largest |G| at ω = 0, at ±Im λ of every pole (the resonances) and |D| (ω → ∞) */
    double lb = cabs(D), wlb = INFINITY;
    if (s == SSM_OK)
        s = hinf_start(&lb, &wlb, p, lam, n, amax, om, val, sbuf, gbuf);
    if (s == SSM_OK && lb == 0.0) {
        double nb = ssm_zmat_norm_fro(b), nc = ssm_zmat_norm_fro(c);
        if (nb == 0.0 || nc == 0.0) {
            info->hinf = info->lower = info->upper = info->omega = 0.0;
            goto done;
        }
        s = SSM_ERROR(SSM_ELOSS, "hinf: G(iw) is exactly 0 at every starting frequency; no lower bound to "
                                 "start the iteration from");
    }
    if (s == SSM_OK)
        s = ssm_zmat_init(H, n2, n2);
    int it = 0;
    double ub = NAN;
    while (s == SSM_OK) {
        if (++it > 60) {
            s = SSM_ERROR(SSM_ENOCONV, "hinf: no convergence in 60 Hamiltonian iterations (bounds %.17g, %.17g)",
                          lb, lb * (1 + 2 * tol));
            break;
        }
        double g = lb * (1.0 + 2.0 * tol);
        size_t m = 0;
        s = crossings(om, &m, H, lam, A, b, c, D, g, amax);
        if (s != SSM_OK)
            break;
        if (m == 0) {
            ub = g;
            break;
        }
        gsl_sort(om, 1, m);
        size_t mid = 0;
        for (size_t k = 0; k + 1 < m; k++)
            if (om[k + 1] > om[k])
                mp[mid++] = 0.5 * (om[k] + om[k + 1]);
        if (mid == 0) {
            ub = g;
            break;
        }
        s = abs_at(val, p, mp, mid, sbuf, gbuf);
        double best = lb, wbest = wlb;
        for (size_t k = 0; s == SSM_OK && k < mid; k++)
            if (val[k] > best) {
                best = val[k];
                wbest = mp[k];
            }
        if (s != SSM_OK)
            break;
        if (!(best > g)) {
            /* the candidates bound no interval where |G| > γ: they were not true crossings */
            ub = g;
            break;
        }
        lb = best;
        wlb = wbest;
    }
    if (s == SSM_OK) {
        /* a real system has |G(−iω)| = |G(iω)|: report the frequency as ω >= 0 */
        int real = cimag(D) == 0.0;
        for (size_t i = 0; real && i < n; i++) {
            real = cimag(SSM_D(b, i, 0)) == 0.0 && cimag(SSM_D(c, 0, i)) == 0.0;
            for (size_t j = 0; real && j < n; j++)
                real = cimag(SSM_D(A, i, j)) == 0.0;
        }
        if (real)
            wlb = fabs(wlb);
        /* the Hamiltonian test certifies γ in exact arithmetic; the attained value carries the rounding
         * of evaluating G, which the upper bound must cover (it dominates for lightly damped poles) */
        double err = 0.0;
        if (isfinite(wlb))
            s = eval_error(&err, A, b, c, wlb);
        info->lower = lb;
        info->upper = ub + err;
        info->hinf = lb;
        info->omega = wlb;
        info->iterations = it;
        info->eval_error = err;
    }
done:
    ssm_tf_plan_free(p);
    ssm_zmat_clear(H);
    free(lam); free(sbuf); free(gbuf); free(om); free(val); free(mp);
    return s;
}

/* ---- the part of a system G sees ----------------------------------------- */

/* Replace (A, b, c) by Q*AQ, Q*b, cQ with Q an orthonormal basis of z^⊥ (|z| = 1): the columns 2..n of
 * the Householder reflector P = I − β h h*, h = z + e^{i arg z₀} e₀, whose first column is ∝ z.  For z a
 * left eigenvector with z*b = 0 (uncontrollable mode) z^⊥ is A-invariant and holds b; for z a right
 * eigenvector with c z = 0 (unobservable) the quotient by span z loses nothing c sees: either way G is
 * unchanged and the mode is gone.  O(n²). */
static ssm_status deflate(ssm_zmat_t A, ssm_zmat_t b, ssm_zmat_t c, const double complex *z)
{
    size_t n = A->rows;
    double complex *h = malloc(n * sizeof *h), *t = malloc(n * sizeof *t);
    ssm_zmat_t A2, b2, c2;
    memset(A2, 0, sizeof A2); memset(b2, 0, sizeof b2); memset(c2, 0, sizeof c2);
    ssm_status s = h && t ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "hinf: out of memory");
    if (s == SSM_OK) s = ssm_zmat_init(A2, n - 1, n - 1);
    if (s == SSM_OK) s = ssm_zmat_init(b2, n - 1, 1);
    if (s == SSM_OK) s = ssm_zmat_init(c2, 1, n - 1);
    if (s != SSM_OK)
        goto out;
    double complex ph = cabs(z[0]) > 0 ? z[0] / cabs(z[0]) : 1.0;
    double hh = 0.0;
    for (size_t i = 0; i < n; i++) {
        h[i] = z[i] + (i == 0 ? ph : 0.0);
        hh += creal(h[i] * conj(h[i]));
    }
    double beta = 2.0 / hh;
    /* A ← P A P (P Hermitian): rows, then columns */
    for (size_t j = 0; j < n; j++) { /* t = h* A */
        t[j] = 0.0;
        for (size_t i = 0; i < n; i++)
            t[j] += conj(h[i]) * SSM_D(A, i, j);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            SSM_D(A, i, j) -= beta * h[i] * t[j];
    for (size_t i = 0; i < n; i++) { /* t = A h */
        t[i] = 0.0;
        for (size_t j = 0; j < n; j++)
            t[i] += SSM_D(A, i, j) * h[j];
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            SSM_D(A, i, j) -= beta * t[i] * conj(h[j]);
    double complex hb = 0.0, ch = 0.0;
    for (size_t i = 0; i < n; i++) {
        hb += conj(h[i]) * SSM_D(b, i, 0);
        ch += SSM_D(c, 0, i) * h[i];
    }
    for (size_t i = 1; i < n; i++) {
        SSM_D(b2, i - 1, 0) = SSM_D(b, i, 0) - beta * h[i] * hb;
        SSM_D(c2, 0, i - 1) = SSM_D(c, 0, i) - beta * ch * conj(h[i]);
        for (size_t j = 1; j < n; j++)
            SSM_D(A2, i - 1, j - 1) = SSM_D(A, i, j);
    }
    ssm_zmat_clear(A); ssm_zmat_clear(b); ssm_zmat_clear(c);
    *A = *A2; *b = *b2; *c = *c2;
    memset(A2, 0, sizeof A2); memset(b2, 0, sizeof b2); memset(c2, 0, sizeof c2);
out:
    ssm_zmat_clear(A2); ssm_zmat_clear(b2); ssm_zmat_clear(c2);
    free(h); free(t);
    return s;
}

/* Remove from (A, b, c), in place, every mode with Re λ >= −1e3 n ε ‖A‖_F (on or right of the axis, to
 * rounding) that is uncontrollable (|u*b| <= 1e3 n ε ‖b‖, u the left singular vector of A − λI for its
 * smallest singular value) or unobservable (|c v| <= 1e3 n ε ‖c‖, v the right one).  Such a mode is not
 * a pole of G (FouT's decoupled zero state), so the H∞ norm is that of the minimal part.  A mode on or
 * right of the axis that G sees is left in place (the norm is then not finite). */
static ssm_status minimal_part(ssm_zmat_t A, ssm_zmat_t b, ssm_zmat_t c, size_t *removed)
{
    *removed = 0;
    ssm_status s = SSM_OK;
    while (s == SSM_OK && A->rows > 0) {
        size_t n = A->rows;
        double complex *lam = malloc(n * sizeof *lam), *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v);
        ssm_zmat_t M;
        memset(M, 0, sizeof M);
        s = lam && u && v ? ssm_zmat_eigvals(lam, A) : SSM_ERROR(SSM_ENOMEM, "hinf: out of memory");
        double nA = ssm_zmat_norm_fro(A), tau = 1e3 * (double)n * DBL_EPSILON;
        int found = 0;
        for (size_t k = 0; s == SSM_OK && k < n && !found; k++) {
            if (creal(lam[k]) < -tau * nA)
                continue;
            if ((s = ssm_zmat_init(M, n, n)) != SSM_OK)
                break;
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++)
                    SSM_D(M, i, j) = SSM_D(A, i, j) - (i == j ? lam[k] : 0.0);
            double smin, smax;
            s = ssm_zmat_svd_min(&smin, &smax, u, v, M);
            ssm_zmat_clear(M);
            double complex ub = 0.0, cv = 0.0;
            for (size_t i = 0; s == SSM_OK && i < n; i++) {
                ub += conj(u[i]) * SSM_D(b, i, 0);
                cv += SSM_D(c, 0, i) * v[i];
            }
            if (s == SSM_OK && cabs(ub) <= tau * ssm_zmat_norm_fro(b))
                found = 1, s = deflate(A, b, c, u);
            else if (s == SSM_OK && cabs(cv) <= tau * ssm_zmat_norm_fro(c))
                found = 1, s = deflate(A, b, c, v);
        }
        free(lam); free(u); free(v);
        if (!found)
            break;
        if (s == SSM_OK)
            ++*removed;
    }
    return s;
}

ssm_status ssm_tf_hinf(ssm_hinf_info *info, const ssm_zmat_t A, const ssm_zmat_t b, const ssm_zmat_t c,
                       double complex D, double tol)
{
    memset(info, 0, sizeof *info);
    info->hinf = info->omega = info->lower = info->upper = NAN;
    size_t n = A->rows;
    if (A->cols != n || b->rows != n || b->cols != 1 || c->rows != 1 || c->cols != n || n == 0)
        return SSM_ERROR(SSM_EINVAL, "hinf: A must be n x n (n >= 1), b n x 1, c 1 x n");
    ssm_zmat_t A1, b1, c1;
    memset(A1, 0, sizeof A1); memset(b1, 0, sizeof b1); memset(c1, 0, sizeof c1);
    size_t removed = 0;
    ssm_status s = ssm_zmat_init(A1, n, n);
    if (s == SSM_OK) s = ssm_zmat_init(b1, n, 1);
    if (s == SSM_OK) s = ssm_zmat_init(c1, 1, n);
    if (s == SSM_OK) s = ssm_zmat_copy(A1, A);
    if (s == SSM_OK) s = ssm_zmat_copy(b1, b);
    if (s == SSM_OK) s = ssm_zmat_copy(c1, c);
    if (s == SSM_OK) s = minimal_part(A1, b1, c1, &removed);
    if (s == SSM_OK && A1->rows == 0) { /* G ≡ D */
        info->hinf = info->lower = info->upper = cabs(D);
        info->omega = INFINITY;
    } else if (s == SSM_OK) {
        s = hinf_stable(info, A1, b1, c1, D, tol);
    }
    info->removed = removed;
    ssm_zmat_clear(A1); ssm_zmat_clear(b1); ssm_zmat_clear(c1);
    return s;
}
