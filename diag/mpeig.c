/* diag/mpeig.c — eigendecomposition at any precision, with precision control
 * and Arb certification.  Internally everything is Arb (acb_mat midpoints; the
 * "approx" functions ignore radii), converted to MPC at the boundary.
 *
 * Routes (doc/reference.md §4 explains why they are needed: the LegS eigenvector
 * matrix has κ ≈ c (3+2√2)^N, so double precision is useless from N ≈ 24):
 *   triangular  λ = diag(A); v_j by substitution; V⁻¹ by a triangular solve;
 *   newton      diag/mpeig_newton.c: a LAPACK start refined in mixed precision,
 *               quadratically (a real A in a real basis);
 *   qr          acb_mat_approx_eig_qr, V⁻¹ by acb_mat_approx_inv. */
#include "diag/diag.h"
#include "core/arb.h"
#include "diag/mpeig_impl.h"

#include <gsl/gsl_rng.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const ROUTES[] = {"auto", "triangular", "newton", "qr"};

const char *ssm_mpeig_route_name(ssm_mpeig_route r)
{
    return (unsigned)r < 4 ? ROUTES[r] : NULL;
}

ssm_status ssm_mpeig_route_lookup(ssm_mpeig_route *r, const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, ROUTES[i]) == 0) {
            *r = (ssm_mpeig_route)i;
            return SSM_OK;
        }
    return SSM_ERROR(SSM_EINVAL, "unknown route '%s' (auto, triangular, newton, qr)", name);
}

/* ---- conversions -------------------------------------------------------- */

static void acb_from_mpc(acb_t z, mpc_srcptr x)
{
    arf_set_mpfr(arb_midref(acb_realref(z)), mpc_realref(x));
    arf_set_mpfr(arb_midref(acb_imagref(z)), mpc_imagref(x));
    mag_zero(arb_radref(acb_realref(z)));
    mag_zero(arb_radref(acb_imagref(z)));
}

static void mpc_from_acb(mpc_ptr x, const acb_t z)
{
    arf_get_mpfr(mpc_realref(x), arb_midref(acb_realref(z)), MPFR_RNDN);
    arf_get_mpfr(mpc_imagref(x), arb_midref(acb_imagref(z)), MPFR_RNDN);
}

static double complex acb_to_d(const acb_t z)
{
    return CMPLX(ssm_arf_get_d_2exp(arb_midref(acb_realref(z)), 0), ssm_arf_get_d_2exp(arb_midref(acb_imagref(z)), 0));
}

/* ---- one result at a working precision ---------------------------------- */

typedef struct {
    slong n, prec;
    acb_ptr lam;
    acb_mat_t V, W;
} eigres;

static void eigres_init(eigres *r, slong n, slong prec)
{
    r->n = n;
    r->prec = prec;
    r->lam = _acb_vec_init(n);
    acb_mat_init(r->V, n, n);
    acb_mat_init(r->W, n, n);
}

static void eigres_clear(eigres *r)
{
    _acb_vec_clear(r->lam, r->n);
    acb_mat_clear(r->V);
    acb_mat_clear(r->W);
}

/* v ← v f on midpoints at prec: acb_mul's midpoint (arf_complex_mul rounded
 * towards zero, ARB_RND), without its radius bookkeeping */
static void mul_mid(acb_t v, const acb_t f, slong prec)
{
    arf_complex_mul(arb_midref(acb_realref(v)), arb_midref(acb_imagref(v)), arb_midref(acb_realref(v)),
                    arb_midref(acb_imagref(v)), arb_midref(acb_realref(f)), arb_midref(acb_imagref(f)), prec,
                    ARF_RND_DOWN);
    mag_zero(arb_radref(acb_realref(v)));
    mag_zero(arb_radref(acb_imagref(v)));
}

/* column j + 1 of V is exactly the conjugate of column j (and λ likewise):
 * Newton's real basis gives its pairs so */
static int conj_next(const eigres *r, slong j)
{
    if (j + 1 >= r->n || arb_is_zero(acb_imagref(r->lam + j)) ||
        !arb_equal(acb_realref(r->lam + j), acb_realref(r->lam + j + 1)))
        return 0;
    arb_t t;
    arb_init(t);
    int same = 1;
    for (slong i = -1; i < r->n && same; i++) {
        const acb_struct *x = i < 0 ? r->lam + j : acb_mat_entry(r->V, i, j);
        const acb_struct *y = i < 0 ? r->lam + j + 1 : acb_mat_entry(r->V, i, j + 1);
        arb_neg(t, acb_imagref(x));
        same = arb_equal(acb_realref(x), acb_realref(y)) && arb_equal(t, acb_imagref(y));
    }
    arb_clear(t);
    return same;
}

/* unit columns, largest entry real positive (lowest index within a relative
 * 1e-12, as diag/eig.c); W rows rescaled to keep W V = I (with_w = 0: W is
 * not wanted and left as it is).  A column that is the exact conjugate of the
 * one before (and W's row j + 1 of row j, where W is wanted) gets the
 * conjugate factor, so its result is the conjugate of that column's (the
 * products are symmetric under conjugation, bit for bit): copied instead of
 * recomputed */
static void normalize(eigres *r, int with_w)
{
    slong n = r->n, prec = r->prec;
    arb_t nrm, t;
    acb_t f, g;
    arb_init(nrm);
    arb_init(t);
    acb_init(f);
    acb_init(g);
    for (slong j = 0; j < n; j++) {
        int pair = conj_next(r, j);
        for (slong k = 0; pair && with_w && k < n; k++) { /* W's rows j, j + 1 conjugate too */
            const acb_struct *x = acb_mat_entry(r->W, j, k), *y = acb_mat_entry(r->W, j + 1, k);
            arb_neg(t, acb_imagref(x));
            pair = arb_equal(acb_realref(x), acb_realref(y)) && arb_equal(t, acb_imagref(y));
        }
        /* ‖v‖² = re·re + im·im, a column being every 2n-th arb of the row-major entries */
        arb_srcptr re = acb_realref(acb_mat_entry(r->V, 0, j)), im = acb_imagref(acb_mat_entry(r->V, 0, j));
        arb_approx_dot(nrm, NULL, 0, re, 2 * n, re, 2 * n, n, prec);
        arb_approx_dot(nrm, nrm, 0, im, 2 * n, im, 2 * n, n, prec);
        double big = -1.0;
        slong at = 0;
        for (slong i = 0; i < n; i++) {
            /* picking the index needs no more than double: |v_i|² of one column */
            double a = cabs(acb_to_d(acb_mat_entry(r->V, i, j)));
            if (a > big * (1.0 + 1e-12)) {
                big = a;
                at = i;
            }
        }
        arb_sqrt(nrm, nrm, prec);
        arb_get_mid_arb(nrm, nrm);
        /* f = conj(v_at)/|v_at| / nrm */
        acb_abs(t, acb_mat_entry(r->V, at, j), prec);
        acb_conj(f, acb_mat_entry(r->V, at, j));
        acb_div_arb(f, f, t, prec);
        acb_div_arb(f, f, nrm, prec);
        acb_get_mid(f, f);
        for (slong i = 0; i < n; i++) {
            mul_mid(acb_mat_entry(r->V, i, j), f, prec);
            if (pair)
                acb_conj(acb_mat_entry(r->V, i, j + 1), acb_mat_entry(r->V, i, j));
        }
        arb_zero(acb_imagref(acb_mat_entry(r->V, at, j)));
        if (pair)
            arb_zero(acb_imagref(acb_mat_entry(r->V, at, j + 1)));
        if (with_w) {
            acb_inv(g, f, prec);
            for (slong k = 0; k < n; k++) {
                mul_mid(acb_mat_entry(r->W, j, k), g, prec);
                if (pair)
                    acb_conj(acb_mat_entry(r->W, j + 1, k), acb_mat_entry(r->W, j, k));
            }
        }
        j += pair;
    }
    arb_clear(nrm);
    arb_clear(t);
    acb_clear(f);
    acb_clear(g);
}

static int is_triangular(const acb_mat_t A, int lower)
{
    slong n = acb_mat_nrows(A);
    for (slong i = 0; i < n; i++)
        for (slong k = 0; k < n; k++)
            if ((lower ? k > i : k < i) && !acb_is_zero(acb_mat_entry(A, i, k)))
                return 0;
    return 1;
}

static ssm_status route_triangular(eigres *r, const acb_mat_t A)
{
    slong n = r->n, prec = r->prec;
    int lower = is_triangular(A, 1);
    if (!lower && !is_triangular(A, 0))
        return SSM_ERROR(SSM_EINVAL, "eig: the triangular route needs a triangular matrix");
    acb_t s, t, d;
    acb_init(s); acb_init(t); acb_init(d);
    ssm_status st = SSM_OK;
    for (slong j = 0; j < n; j++)
        acb_set(r->lam + j, acb_mat_entry(A, j, j));
    acb_mat_zero(r->V);
    for (slong j = 0; j < n && st == SSM_OK; j++) {
        acb_one(acb_mat_entry(r->V, j, j));
        /* lower: rows below j, forward; upper: rows above j, backward */
        for (slong q = 1; q < n && st == SSM_OK; q++) {
            slong i = lower ? j + q : j - q;
            if (i < 0 || i >= n)
                break;
            acb_zero(s);
            slong k0 = lower ? j : i + 1, k1 = lower ? i - 1 : j;
            for (slong k = k0; k <= k1; k++)
                acb_addmul(s, acb_mat_entry(A, i, k), acb_mat_entry(r->V, k, j), prec);
            acb_sub(d, r->lam + j, acb_mat_entry(A, i, i), prec);
            if (acb_is_zero(d)) {
                st = SSM_ERROR(SSM_ELOSS, "eig: repeated eigenvalue on the diagonal (rows %ld and %ld): "
                                          "the matrix may be defective", (long)i, (long)j);
                break;
            }
            acb_div(t, s, d, prec);
            acb_get_mid(acb_mat_entry(r->V, i, j), t);
        }
    }
    if (st == SSM_OK) {
        acb_mat_t Id;
        acb_mat_init(Id, n, n);
        acb_mat_one(Id);
        if (lower)
            acb_mat_approx_solve_tril(r->W, r->V, Id, 1, prec); /* V has a unit diagonal */
        else
            acb_mat_approx_solve_triu(r->W, r->V, Id, 1, prec);
        acb_mat_clear(Id);
        normalize(r, 1);
    }
    acb_clear(s); acb_clear(t); acb_clear(d);
    return st;
}

static ssm_status route_qr(eigres *r, const acb_mat_t A)
{
    slong prec = r->prec;
    if (!acb_mat_approx_eig_qr(r->lam, NULL, r->V, A, NULL, 0, prec))
        return SSM_ERROR(SSM_ENOCONV, "eig: Arb's QR did not converge at %ld bits", (long)prec);
    if (!acb_mat_approx_inv(r->W, r->V, prec))
        return SSM_ERROR(SSM_ELOSS, "eig: the eigenvector matrix is singular at %ld bits", (long)prec);
    normalize(r, 1);
    return SSM_OK;
}

/* order: decreasing real part, then increasing imaginary part; real parts
 * within 2^(−w/2)·scale count as equal, so that rounding cannot reorder
 * eigenvalues with one real part (normal HiPPO parts: all −1/2) */
static ssm_status sort_result(eigres *r, double scale)
{
    slong n = r->n;
    double tol = scale * ldexp(1.0, -(int)(r->prec / 2 > 1000 ? 1000 : r->prec / 2));
    slong *p = malloc((size_t)n * sizeof *p);
    acb_struct *tmp = malloc((size_t)n * sizeof *tmp);
    if (!p || !tmp) {
        free(p);
        free(tmp);
        return SSM_ERROR(SSM_ENOMEM, "eig: out of memory (n = %ld)", (long)n);
    }
    for (slong a = 0; a < n; a++)
        p[a] = a;
    for (slong a = 1; a < n; a++)
        for (slong b = a; b > 0; b--) {
            const acb_struct *x = r->lam + p[b - 1], *y = r->lam + p[b];
            double dre = creal(acb_to_d(y)) - creal(acb_to_d(x));
            int c;
            if (fabs(dre) > tol)
                c = dre > 0 ? 1 : -1;
            else
                c = arf_cmp(arb_midref(acb_imagref(x)), arb_midref(acb_imagref(y)));
            if (c <= 0)
                break;
            slong t = p[b - 1];
            p[b - 1] = p[b];
            p[b] = t;
        }
    /* apply the permutation by moving the structs (ownership moves with them):
     * λ_j ← λ_p(j), column j of V ← column p(j), row j of W ← row p(j) */
    for (slong j = 0; j < n; j++)
        tmp[j] = r->lam[p[j]];
    memcpy(r->lam, tmp, (size_t)n * sizeof *tmp);
    for (slong i = 0; i < n; i++) {
        for (slong j = 0; j < n; j++)
            tmp[j] = *acb_mat_entry(r->V, i, p[j]);
        for (slong j = 0; j < n; j++)
            *acb_mat_entry(r->V, i, j) = tmp[j];
    }
    for (slong k = 0; k < n; k++) {
        for (slong j = 0; j < n; j++)
            tmp[j] = *acb_mat_entry(r->W, p[j], k);
        for (slong j = 0; j < n; j++)
            *acb_mat_entry(r->W, j, k) = tmp[j];
    }
    free(p);
    free(tmp);
    return SSM_OK;
}

/* the Newton state as a normalised, sorted complex result (with_w = 0: λ and
 * V only) */
static ssm_status rnewton_result(eigres *r, const ssm_mpeig_newton *rn, double scale, int with_w)
{
    ssm_mpeig_newton_get(r->lam, r->V, with_w ? r->W : NULL, rn);
    normalize(r, with_w);
    return sort_result(r, scale);
}

static ssm_status run_route(eigres *r, ssm_mpeig_route route, const acb_mat_t A, double scale)
{
    ssm_status s;
    switch (route) {
    case SSM_MPEIG_TRIANGULAR: s = route_triangular(r, A); break;
    default: s = route_qr(r, A); break; /* Newton: ssm_mpeig_newton_* */
    }
    if (s == SSM_OK)
        s = sort_result(r, scale);
    return s;
}

/* decimal digits on which two results agree: eigenvalues relative to max(|λ|, ‖A‖ 2^-w),
 * eigenvectors (unit, same phase convention) absolutely */
static double agreement(const eigres *a, const eigres *b, double scale)
{
    slong n = a->n, prec = b->prec;
    double worst = 0.0;
    acb_t d; /* differences rounded once from the exact value: 64 bits are plenty for a double */
    acb_init(d);
    for (slong i = 0; i < n; i++) {
        acb_sub(d, a->lam + i, b->lam + i, 64);
        double den = cabs(acb_to_d(b->lam + i));
        double e = cabs(acb_to_d(d)) / (den > scale ? den : scale);
        worst = !(e <= worst) ? e : worst; /* NaN included */
        for (slong k = 0; k < n; k++) {
            acb_sub(d, acb_mat_entry(a->V, k, i), acb_mat_entry(b->V, k, i), 64);
            double ev = cabs(acb_to_d(d));
            worst = !(ev <= worst) ? ev : worst;
        }
    }
    acb_clear(d);
    if (isnan(worst))
        return -INFINITY; /* a NaN anywhere: no digit can be vouched for */
    if (worst == 0.0)
        return (double)prec * log10(2.0);
    return -log10(worst);
}

static double log2_norm_fro(const acb_mat_t M, slong prec)
{
    arb_t s;
    arb_init(s);
    /* Σ |m_ik|² as one dot product: the row-major entries are 2 r c contiguous arbs */
    slong len = 2 * acb_mat_nrows(M) * acb_mat_ncols(M);
    if (len > 0) {
        arb_srcptr x = acb_realref(acb_mat_entry(M, 0, 0));
        arb_approx_dot(s, NULL, 0, x, 1, x, 1, len, prec);
    }
    double r = -INFINITY;
    const arf_struct *m = arb_midref(s);
    if (!arf_is_zero(m)) {
        /* log2 of the midpoint without leaving double's range: 2^e · (m 2^-e) */
        slong e = arf_abs_bound_lt_2exp_si(m);
        arf_t sc;
        arf_init(sc);
        arf_mul_2exp_si(sc, m, -e);
        r = 0.5 * (log2(arf_get_d(sc, ARF_RND_NEAR)) + (double)e);
        arf_clear(sc);
    }
    arb_clear(s);
    return r;
}

/* R = A V at prec.  For a real A (Ar != NULL) as A Re V + i A Im V (real
 * products), and a column that is exactly the conjugate of an earlier one
 * (eigenvalue and entries; Newton's real basis makes them so) takes the
 * conjugate of that column's product, A v̄ = conj(A v): half the work. */
static ssm_status mul_av(acb_mat_t R, const acb_mat_t A, const arb_mat_t Ar, const eigres *r, slong prec)
{
    if (!Ar) {
        acb_mat_approx_mul(R, A, r->V, prec);
        return SSM_OK;
    }
    slong n = r->n, m = 0;
    slong *src = malloc((size_t)n * sizeof *src), *rep = malloc((size_t)n * sizeof *rep);
    char *used = calloc((size_t)n, 1);
    if (!src || !rep || !used) {
        free(src); free(rep); free(used);
        return SSM_ERROR(SSM_ENOMEM, "eig: out of memory (n = %ld)", (long)n);
    }
    acb_t z;
    acb_init(z);
    for (slong j = 0; j < n; j++) {
        src[j] = -1;
        for (slong q = 0; q < m && src[j] < 0 && !arb_is_zero(acb_imagref(r->lam + j)); q++) {
            acb_conj(z, r->lam + rep[q]);
            if (used[q] || !acb_equal(z, r->lam + j))
                continue;
            int same = 1;
            for (slong i = 0; i < n && same; i++) {
                acb_conj(z, acb_mat_entry(r->V, i, rep[q]));
                same = acb_equal(z, acb_mat_entry(r->V, i, j));
            }
            if (same) {
                used[q] = 1;
                src[j] = -2 - q; /* the conjugate of representative q */
            }
        }
        if (src[j] == -1) {
            src[j] = m;
            rep[m++] = j;
        }
    }
    arb_mat_t P, Q[2], Ap;
    arb_mat_init(P, n, m);
    /* A rounded to prec: an error of the size of the product's own rounding,
     * and long mantissas cost Arb's products more */
    arb_mat_init(Ap, n, n);
    for (slong i = 0; i < n; i++)
        for (slong k = 0; k < n; k++)
            arb_set_round(arb_mat_entry(Ap, i, k), arb_mat_entry(Ar, i, k), prec);
    for (int part = 0; part < 2; part++) {
        arb_mat_init(Q[part], n, m);
        for (slong i = 0; i < n; i++)
            for (slong q = 0; q < m; q++) {
                const acb_struct *v = acb_mat_entry(r->V, i, rep[q]);
                arb_set(arb_mat_entry(P, i, q), part ? acb_imagref(v) : acb_realref(v));
            }
        arb_mat_approx_mul(Q[part], Ap, P, prec);
    }
    for (slong i = 0; i < n; i++)
        for (slong j = 0; j < n; j++) {
            slong q = src[j] >= 0 ? src[j] : -2 - src[j];
            acb_set_arb_arb(acb_mat_entry(R, i, j), arb_mat_entry(Q[0], i, q), arb_mat_entry(Q[1], i, q));
            if (src[j] < 0)
                acb_conj(acb_mat_entry(R, i, j), acb_mat_entry(R, i, j));
        }
    arb_mat_clear(P);
    arb_mat_clear(Ap);
    arb_mat_clear(Q[0]);
    arb_mat_clear(Q[1]);
    acb_clear(z);
    free(src);
    free(rep);
    free(used);
    return SSM_OK;
}

/* log2 ‖V‖₂ + log2 ‖W‖₂ of a result */
static ssm_status log2_kappa(double *lk, const eigres *r)
{
    double lv, lw;
    ssm_status s = ssm_acb_mat_log2_norm2(&lv, r->V);
    if (s == SSM_OK)
        s = ssm_acb_mat_log2_norm2(&lw, r->W);
    if (s == SSM_OK)
        *lk = lv + lw;
    return s;
}

/* κ(V) from lk = log2 κ, and the backward error: from the Newton state rn
 * where there is one (its residual at r's precision), else from r */
static ssm_status metrics(ssm_mpeig_info *info, const eigres *r, const acb_mat_t A, const arb_mat_t Ar, double lk,
                          ssm_mpeig_newton *rn)
{
    slong n = r->n, prec = r->prec;
    info->kappa_V_log10 = lk * log10(2.0);
    info->kappa_V = exp2(lk);
    double lb;
    ssm_status s = SSM_OK;
    if (rn)
        s = ssm_mpeig_newton_log2_backward(&lb, rn, prec);
    else {
        acb_mat_t R, VL;
        acb_mat_init(R, n, n);
        acb_mat_init(VL, n, n);
        if ((s = mul_av(R, A, Ar, r, prec)) == SSM_OK) {
            for (slong i = 0; i < n; i++)
                for (slong j = 0; j < n; j++)
                    acb_mul(acb_mat_entry(VL, i, j), acb_mat_entry(r->V, i, j), r->lam + j, prec);
            acb_mat_sub(R, R, VL, prec);
            lb = log2_norm_fro(R, prec) - log2_norm_fro(A, prec) - log2_norm_fro(r->V, prec);
        }
        acb_mat_clear(R);
        acb_mat_clear(VL);
    }
    if (s != SSM_OK)
        return s;
    info->backward_error_log10 = lb * log10(2.0);
    info->backward_error = exp2(lb);
    return SSM_OK;
}

/* acb_mat_eig_simple around (lam, V); radii and containment of the midpoints */
static int certify(ssm_mpeig_info *info, const acb_mat_t A, const eigres *r, slong prec)
{
    slong n = r->n;
    acb_ptr E = _acb_vec_init(n);
    acb_mat_t R;
    acb_mat_init(R, n, n);
    int ok = acb_mat_eig_simple(E, NULL, R, A, r->lam, r->V, prec);
    info->certified = ok;
    info->radius_lambda = info->radius_V = NAN;
    info->contains_result = 0;
    if (ok) {
        double rl = 0.0, rv = 0.0;
        int contains = 1;
        for (slong i = 0; i < n; i++) {
            double x = mag_get_d(arb_radref(acb_realref(E + i))) + mag_get_d(arb_radref(acb_imagref(E + i)));
            rl = x > rl ? x : rl;
            /* the enclosure set is unordered: is λ_i inside some enclosure? */
            int in = 0;
            for (slong k = 0; k < n && !in; k++)
                in = acb_contains(E + k, r->lam + i);
            contains &= in;
        }
        for (slong i = 0; i < n; i++)
            for (slong k = 0; k < n; k++) {
                const acb_struct *z = acb_mat_entry(R, i, k);
                double x = mag_get_d(arb_radref(acb_realref(z))) + mag_get_d(arb_radref(acb_imagref(z)));
                rv = x > rv ? x : rv;
            }
        info->radius_lambda = rl;
        info->radius_V = rv;
        info->contains_result = contains;
        info->certified = contains;
    }
    _acb_vec_clear(E, n);
    acb_mat_clear(R);
    return ok;
}

/* The automatic route: triangular for a triangular A; else Newton when its
 * double start is good to a few digits (κ(V) ε n < 1e-4; the start is kept in
 * *rn), else QR.  A start that fails numerically means QR; any other failure
 * (memory) is returned. */
static ssm_status auto_route(ssm_mpeig_route *route, ssm_mpeig_newton **rn, const acb_mat_t Aa, const arb_mat_t Ar)
{
    if (is_triangular(Aa, 1) || is_triangular(Aa, 0)) {
        *route = SSM_MPEIG_TRIANGULAR;
        return SSM_OK;
    }
    double kappa = INFINITY;
    ssm_status s = Ar ? ssm_mpeig_newton_create(rn, Ar) : ssm_mpeig_newton_create_complex(rn, Aa);
    if (s == SSM_OK)
        s = ssm_mpeig_newton_kappa(&kappa, *rn);
    if (s == SSM_OK && kappa * DBL_EPSILON * (double)acb_mat_nrows(Aa) < 1e-4) {
        *route = SSM_MPEIG_NEWTON;
        return SSM_OK;
    }
    ssm_mpeig_newton_free(*rn);
    *rn = NULL;
    if (s != SSM_OK && s != SSM_ENOCONV)
        return s;
    ssm_error_clear();
    *route = SSM_MPEIG_QR;
    return SSM_OK;
}

static void acb_mat_from_mpc(acb_mat_t M, const ssm_mpcmat_t A)
{
    for (size_t i = 0; i < A->rows; i++)
        for (size_t k = 0; k < A->cols; k++)
            acb_from_mpc(acb_mat_entry(M, i, k), SSM_MP(A, i, k));
}

/* The accepted result r (route info->route; rn its Newton state or NULL): its metrics (lk =
 * log2 κ(V)), the defectiveness test, the optional certification, and the copy out to MPC.
 * growth_bits: how much log2 κ(V) grew between the two working precisions, which differ by
 * added_bits. */
static ssm_status finish(ssm_mpcmat_t lambda, ssm_mpcmat_t V, ssm_mpcmat_t Vinv, ssm_mpeig_info *info,
                         const eigres *r, const acb_mat_t Aa, const arb_mat_t Ar, double lk, ssm_mpeig_newton *rn,
                         double growth_bits, double added_bits, int cert)
{
    size_t n = (size_t)r->n;
    ssm_status s = metrics(info, r, Aa, Ar, lk, rn);
    /* A defective (Jordan block) or numerically defective matrix: its eigenvalues move
     * like u^(1/k), κ(V) ~ u^(−1/k) grows with the working precision instead of settling
     * (by more than a tenth of the added bits between the two runs), or κ(V) reaches
     * 1/u.  Nothing is vouched for then (QR used to claim 96 digits and κ = 6e144 for
     * [[1, 1], [0, 1]]).  The triangular route refuses repeated diagonal entries itself. */
    if (s == SSM_OK && info->route != SSM_MPEIG_TRIANGULAR &&
        (growth_bits > 0.1 * added_bits + 2.0 ||
         !(info->kappa_V_log10 < (double)info->working_prec * log10(2.0) - 3.0))) {
        info->kappa_V = INFINITY;
        info->kappa_V_log10 = INFINITY;
        info->digits = 0;
        s = SSM_ERROR(SSM_ELOSS, "eig: kappa_V grows with the precision (or reaches 1/u) at %ld bits: the matrix is not diagonalisable to working "
                                 "precision (defective or nearly so); no digits vouched for",
                      (long)info->working_prec);
    }
    if (s == SSM_OK && cert)
        certify(info, Aa, r, r->prec);
    for (size_t i = 0; i < n; i++) {
        mpc_from_acb(SSM_MP(lambda, i, 0), r->lam + i);
        for (size_t k = 0; k < n; k++) {
            mpc_from_acb(SSM_MP(V, i, k), acb_mat_entry(r->V, (slong)i, (slong)k));
            mpc_from_acb(SSM_MP(Vinv, i, k), acb_mat_entry(r->W, (slong)i, (slong)k));
        }
    }
    return s;
}

/* The Newton route's two results at w: r1 refined to the digits wanted plus 16
 * bits (all of w on a retry, *retry set after the first), r2 one more step
 * from r1 at w2 > w (r2 − r1 is r1's error to first order: the check costs one
 * step); lk: log2 κ(V) of each, from the state.  w2 is what that step wants
 * (twice r1's bits, or less where its small products stay fast), kept within
 * [w + 32, 1.5 w]; r2 is initialised at it whatever happens (s: the status so
 * far).  A retry at a higher w continues from the state. */
static ssm_status newton_pair(eigres *r1, eigres *r2, double lk[2], ssm_mpeig_newton *rn, ssm_status s, int *retry,
                              double want, slong w, double scale)
{
    slong w2 = w + w / 2;
    double rmax, target = (double)w - 16.0;
    if (!*retry) {
        double first = ceil(want * log2(10.0)) + 16.0;
        target = first < target ? first : target;
        *retry = 1;
    }
    if (s == SSM_OK)
        s = ssm_mpeig_newton_refine(rn, target, w);
    if (s == SSM_OK && (s = rnewton_result(r1, rn, scale, 0)) == SSM_OK) {
        slong q = ssm_mpeig_newton_next_prec(rn, 0.0);
        w2 = q < w + 32 ? w + 32 : q > w2 ? w2 : q;
        s = ssm_mpeig_newton_log2_kappa(&lk[0], rn);
    }
    eigres_init(r2, r1->n, w2);
    if (s == SSM_OK)
        s = ssm_mpeig_newton_step(rn, w2, &rmax);
    if (s == SSM_OK && (s = rnewton_result(r2, rn, scale, 1)) == SSM_OK)
        s = ssm_mpeig_newton_log2_kappa(&lk[1], rn);
    return s;
}

ssm_status ssm_diag_eig_mp(ssm_mpcmat_t lambda, ssm_mpcmat_t V, ssm_mpcmat_t Vinv, ssm_mpeig_info *info,
                           const ssm_mpcmat_t A, const ssm_mpeig_opts *opts)
{
    size_t n = A->rows;
    if (A->cols != n || lambda->rows != n || lambda->cols != 1 || V->rows != n || V->cols != n ||
        Vinv->rows != n || Vinv->cols != n)
        return SSM_ERROR(SSM_EINVAL, "eig: A, V, Vinv must be %zu x %zu and lambda %zu x 1", n, n, n);
    if (V->prec != lambda->prec || Vinv->prec != lambda->prec)
        return SSM_ERROR(SSM_EINVAL, "eig: lambda, V and Vinv must share one precision");
    if (n == 0)
        return SSM_OK;
    mpfr_prec_t p = lambda->prec;
    double want = opts && opts->digits > 0 ? opts->digits : (double)p * log10(2.0) - 2.0;
    if (want < 1.0)
        want = 1.0;
    mpfr_prec_t cap = opts && opts->max_prec > 0 ? opts->max_prec : (64 * p > 4096 ? 64 * p : 4096);
    ssm_mpeig_route route = opts ? opts->route : SSM_MPEIG_AUTO;
    ssm_mpeig_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);

    acb_mat_t Aa;
    acb_mat_init(Aa, (slong)n, (slong)n);
    acb_mat_from_mpc(Aa, A);
    /* a real A: the Newton route works in a real basis, products are real */
    arb_mat_t Ar;
    int areal = acb_mat_is_real(Aa);
    arb_mat_init(Ar, areal ? (slong)n : 0, areal ? (slong)n : 0);
    for (slong i = 0; areal && i < (slong)n; i++)
        for (slong k = 0; k < (slong)n; k++)
            arb_set(arb_mat_entry(Ar, i, k), acb_realref(acb_mat_entry(Aa, i, k)));
    ssm_mpeig_newton *rn = NULL; /* the real Newton state, kept across retries */
    int retry = 0;
    double scale = exp2(log2_norm_fro(Aa, 64));
    ssm_status s = SSM_OK;
    if (route == SSM_MPEIG_AUTO)
        s = auto_route(&route, &rn, Aa, areal ? Ar : NULL);
    if (s != SSM_OK) {
        arb_mat_clear(Ar);
        acb_mat_clear(Aa);
        return s;
    }
    eigres r1, r2;
    int have = 0;
    double kappa_growth_bits = 0.0, added_bits = 1.0, lk[2] = {0.0, 0.0};
    for (mpfr_prec_t w = p + 64; ; w *= 2) {
        if (w > cap) {
            s = SSM_ERROR(SSM_ELOSS, "eig: %.1f digits could not be vouched for below the %ld-bit cap "
                                     "(best agreement %.1f digits)", want, (long)cap, info->digits);
            break;
        }
        mpfr_prec_t w2 = w + w / 2;
        eigres_init(&r1, (slong)n, (slong)w);
        if (route == SSM_MPEIG_NEWTON) {
            if (!rn)
                s = areal ? ssm_mpeig_newton_create(&rn, Ar) : ssm_mpeig_newton_create_complex(&rn, Aa);
            s = newton_pair(&r1, &r2, lk, rn, s, &retry, want, (slong)w, scale);
            w2 = r2.prec;
        } else {
            eigres_init(&r2, (slong)n, (slong)w2);
            if ((s = run_route(&r1, route, Aa, scale)) == SSM_OK && (s = run_route(&r2, route, Aa, scale)) == SSM_OK &&
                (s = log2_kappa(&lk[1], &r2)) == SSM_OK)
                s = log2_kappa(&lk[0], &r1);
        }
        if (s == SSM_ENOCONV && route == SSM_MPEIG_NEWTON && (!opts || opts->route == SSM_MPEIG_AUTO)) {
            route = SSM_MPEIG_QR; /* automatic fall-over */
            ssm_error_clear();
            ssm_mpeig_newton_free(rn);
            rn = NULL;
            eigres_clear(&r1);
            eigres_clear(&r2);
            w /= 2;
            continue;
        }
        if (s == SSM_OK)
            info->digits = agreement(&r1, &r2, scale * ldexp(1.0, -(int)(w > 1000 ? 1000 : w)));
        eigres_clear(&r1);
        if (s != SSM_OK) {
            eigres_clear(&r2);
            break;
        }
        info->working_prec = w2;
        /* log2 of ‖V‖‖W‖ at both precisions: settled for a diagonalisable matrix, growing
         * like half the added bits for a Jordan block (κ ~ u^(−1/2)) */
        kappa_growth_bits = lk[1] - lk[0];
        added_bits = (double)(w2 - w);
        if (info->digits >= want) {
            have = 1;
            break;
        }
        eigres_clear(&r2);
    }
    if (have) {
        info->route = route;
        s = finish(lambda, V, Vinv, info, &r2, Aa, areal ? Ar : NULL, lk[1], route == SSM_MPEIG_NEWTON ? rn : NULL,
                   kappa_growth_bits, added_bits, opts && opts->certify);
        eigres_clear(&r2);
    }
    ssm_mpeig_newton_free(rn);
    arb_mat_clear(Ar);
    acb_mat_clear(Aa);
    return s;
}

ssm_status ssm_diag_eig_mp_contains(size_t *inside, const ssm_mpcmat_t A, const ssm_mpcmat_t lambda,
                                    const ssm_mpcmat_t V, const double complex *lambda_d, double tol)
{
    size_t n = A->rows;
    slong prec = (slong)A->prec;
    acb_mat_t Aa, Va;
    acb_mat_init(Aa, (slong)n, (slong)n);
    acb_mat_init(Va, (slong)n, (slong)n);
    acb_mat_from_mpc(Aa, A);
    acb_mat_from_mpc(Va, V);
    acb_ptr L = _acb_vec_init((slong)n), E = _acb_vec_init((slong)n);
    for (size_t i = 0; i < n; i++)
        acb_from_mpc(L + i, SSM_MP(lambda, i, 0));
    int ok = acb_mat_eig_simple(E, NULL, NULL, Aa, L, Va, prec);
    ssm_status s = SSM_OK;
    *inside = 0;
    if (!ok)
        s = SSM_ERROR(SSM_ELOSS, "eig: Arb could not certify the eigenvalues at %ld bits", (long)prec);
    else {
        acb_t z;
        acb_init(z);
        mag_t m;
        mag_init(m);
        mag_set_d(m, tol);
        for (size_t i = 0; i < n; i++)
            acb_add_error_mag(E + i, m);
        mag_clear(m);
        for (size_t i = 0; i < n; i++) {
            acb_set_d_d(z, creal(lambda_d[i]), cimag(lambda_d[i]));
            int in = 0;
            for (size_t k = 0; k < n && !in; k++)
                in = acb_contains(E + k, z);
            *inside += (size_t)in;
        }
        acb_clear(z);
    }
    _acb_vec_clear(L, (slong)n);
    _acb_vec_clear(E, (slong)n);
    acb_mat_clear(Aa);
    acb_mat_clear(Va);
    return s;
}

ssm_status ssm_diag_rotate_mp(ssm_mpcmat_t A, unsigned long seed, int reflections)
{
    size_t N = A->rows;
    mpfr_prec_t ap = A->prec;
    if (A->cols != N)
        return SSM_ERROR(SSM_EINVAL, "rotate: A must be square");
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double *u = malloc((N ? N : 1) * sizeof *u);
    ssm_mpcmat_t H, T;
    memset(T, 0, sizeof T);
    ssm_status s = ssm_mpcmat_init(H, N, N, ap);
    if (s == SSM_OK)
        s = ssm_mpcmat_init(T, N, N, ap);
    if (!rng || !u || s != SSM_OK) {
        gsl_rng_free(rng);
        free(u);
        ssm_mpcmat_clear(H);
        ssm_mpcmat_clear(T);
        return s != SSM_OK ? s : SSM_ERROR(SSM_ENOMEM, "rotate: out of memory");
    }
    gsl_rng_set(rng, seed);
    mpfr_t uu, sq, c;
    mpfr_init2(uu, ap > 256 ? ap : 256);
    mpfr_init2(sq, 128);
    mpfr_init2(c, ap);
    mpc_t acc;
    mpc_init2(acc, ap);
    for (int h = 0; h < reflections; h++) {
        mpfr_set_zero(uu, 1);
        for (size_t i = 0; i < N; i++) {
            u[i] = gsl_rng_uniform(rng) - 0.5;
            mpfr_set_d(sq, u[i], MPFR_RNDN);
            mpfr_sqr(sq, sq, MPFR_RNDN); /* exact: 106 bits */
            mpfr_add(uu, uu, sq, MPFR_RNDN);
        }
        for (size_t i = 0; i < N; i++)
            for (size_t k = 0; k < N; k++) {
                mpfr_set_d(c, u[i], MPFR_RNDN);
                mpfr_mul_d(c, c, -2.0 * u[k], MPFR_RNDN);
                mpfr_div(c, c, uu, MPFR_RNDN);
                if (i == k)
                    mpfr_add_ui(c, c, 1, MPFR_RNDN);
                mpc_set_fr(SSM_MP(H, i, k), c, MPC_RNDNN);
            }
        for (int side = 0; side < 2; side++) /* T = H A, then A = T H */
            for (size_t i = 0; i < N; i++)
                for (size_t k = 0; k < N; k++) {
                    mpc_set_ui(acc, 0, MPC_RNDNN);
                    for (size_t q = 0; q < N; q++)
                        mpc_fma(acc, side ? SSM_MP(T, i, q) : SSM_MP(H, i, q), side ? SSM_MP(H, q, k) : SSM_MP(A, q, k),
                                acc, MPC_RNDNN);
                    mpc_set(side ? SSM_MP(A, i, k) : SSM_MP(T, i, k), acc, MPC_RNDNN);
                }
    }
    mpc_clear(acc);
    mpfr_clear(uu);
    mpfr_clear(sq);
    mpfr_clear(c);
    gsl_rng_free(rng);
    free(u);
    ssm_mpcmat_clear(H);
    ssm_mpcmat_clear(T);
    return SSM_OK;
}
