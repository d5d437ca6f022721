/* diag/mpeig_newton.c — the Newton route of diag/mpeig.c: eigenpair
 * refinement in mixed precision, for a real matrix in a real basis (below),
 * for a complex one in the plain basis (the same step with 1×1 blocks).
 *
 * A real A = X D X⁻¹ with D block diagonal: a 1×1 block λ per real eigenvalue,
 * a 2×2 block [[a, b], [−b, a]] per pair a ± ib (b > 0), whose columns x, y in
 * X are the real and imaginary parts of v = x + iy.  Everything is real
 * (arb_mat midpoints, radii ignored), so a product costs about a quarter of
 * the complex one, and the conjugate pairs stay exactly conjugate.
 *
 * One step, with Z ≈ X⁻¹ and X = X*(I + O(e)) (e the current relative error):
 *   R = A X − X D          at the high precision ph (cancellation: R = O(e));
 *   Y = Z R                at a low precision (Y = O(e) needs e relatively);
 *   D_k C − C D_b = −Y_kb  off-diagonal blocks, 1 or 2 complex divisions each;
 *   D_b += canonical part of Y_bb, C_bb removes the rest (the commutator of
 *          D_b spans exactly the non-canonical 2×2 matrices);
 *   X ← X + X C            product low, sum high;
 *   Z ← Z + Z (I − X Z)    Newton–Schulz: residual high, product low.
 * Since Y = (I + G)(X⁻¹AX − D) when Z X = I + G, the error of Z enters the
 * correction only at second order: one Newton–Schulz step per step keeps Z in
 * pace and e → O(e²).  The high precision follows the accuracy: 2 × the bits
 * reached + a guard, or bits + 104 where that adds no step on the way to the
 * target, which keeps the small products at 128 bits (from double to 75
 * digits: steps at ~120, ~196, ~286 bits, the check at ~380).  Each low
 * precision is what the size of its small factor leaves (ph − cancelled bits
 * + guard), so a step costs two real products at ph and three far cheaper
 * ones.  The real products are core/arb.c's split products (exact double
 * slices of 23 bits through dgemm: 6 slices at 128 bits, 17 at 374; the
 * same bits on every BLAS kernel and thread count); the complex route's are
 * Arb's, inputs rounded to the product's precision.  A left factor is cut
 * into slices once for the products it enters unchanged (ssm_arb_split: A
 * for every residual, X for X Z and the next step's X C, Z for the step's
 * Z R and Z T), and the residual keeps its exact level sums, so that the
 * next A X, whose X differs from the last only past the bits the step
 * corrected, forms only the slice products of the slices that changed (the
 * check step's and the backward error's: 7 and 11 of 17 slices reused at
 * N = 32 and 256 bits). */
#include "diag/diag.h"
#include "core/arb.h"
#include "diag/mpeig_impl.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* bits kept beyond what a product with a small factor must deliver */
#define GUARD 24
/* the lowest precision a product is ever run at */
#define MIN_PREC 64
/* the small products' precision the schedule aims for: 6 slices of the split
 * product (Arb's complex products: its two-limb fast path) */
#define FAST_PREC 128
/* the accuracy assumed of the double start (53 bits less rounding and κ) */
#define START_BITS 48

#define NO_CONV() SSM_ERROR(SSM_ENOCONV, "eig: Newton refinement from double precision did not converge " \
                                         "(the double start is too poor; use the qr route)")

/* scratch midpoints of the block solves, kept in the state: no limbs
 * allocated and freed per block */
enum { T_DEN, T_DENM, T_RE, T_IM, T_YR, T_YI, T_DR, T_DI, T_CR, T_CI, T_MR, T_MI, T_N };

struct ssm_mpeig_newton {
    slong n, m;   /* order, number of diagonal blocks */
    slong *off;   /* block k: columns off[k], off[k] + sz[k] − 1 */
    int *sz;      /* 1: real eigenvalue a; 2: the pair a ± ib, b > 0 */
    arb_ptr a, b; /* D per block */
    arb_mat_t A, X, Z, T, R, Y, C;
    ssm_arb_mul_ws *ws; /* the products' scratch */
    ssm_arb_split *kA, *kX, *kZ; /* the slices of A, X and Z as left factors, kept while they hold */
    /* a complex A (cplx = 1): the plain iteration, V = X, W = Z, 1×1 blocks */
    int cplx;
    acb_ptr lam;
    acb_mat_t cA, cV, cW, cT, cR, cY, cC, cP, cQ;
    arf_struct tmp[T_N]; /* the block solves' scratch */
    slong room;   /* limbs reserved in the state's long mantissas (room_for) */
    double bits;  /* estimated accuracy of X (bits) */
    slong kb;     /* log2 |X|max |Z|max: a cheap stand-in for log2 κ */
};

void ssm_mpeig_newton_free(ssm_mpeig_newton *s)
{
    if (!s)
        return;
    free(s->off);
    free(s->sz);
    for (int i = 0; i < T_N; i++)
        arf_clear(s->tmp + i);
    if (s->a) {
        _arb_vec_clear(s->a, s->n);
        _arb_vec_clear(s->b, s->n);
        arb_mat_clear(s->A); arb_mat_clear(s->X); arb_mat_clear(s->Z); arb_mat_clear(s->T);
        arb_mat_clear(s->R); arb_mat_clear(s->Y); arb_mat_clear(s->C);
    }
    ssm_arb_mul_ws_free(s->ws);
    ssm_arb_split_free(s->kA);
    ssm_arb_split_free(s->kX);
    ssm_arb_split_free(s->kZ);
    if (s->lam) {
        _acb_vec_clear(s->lam, s->n);
        acb_mat_clear(s->cA); acb_mat_clear(s->cV); acb_mat_clear(s->cW); acb_mat_clear(s->cT);
        acb_mat_clear(s->cR); acb_mat_clear(s->cY); acb_mat_clear(s->cC); acb_mat_clear(s->cP);
        acb_mat_clear(s->cQ);
    }
    free(s);
}

/* largest exponent e with |m_ik| < 2^e over the midpoints; WORD_MIN for 0 */
static slong max_exp(const arb_mat_t M)
{
    slong e = WORD_MIN;
    for (slong i = 0; i < arb_mat_nrows(M); i++)
        for (slong k = 0; k < arb_mat_ncols(M); k++) {
            const arf_struct *x = arb_midref(arb_mat_entry(M, i, k));
            if (!arf_is_zero(x)) {
                slong ex = arf_abs_bound_lt_2exp_si(x);
                e = ex > e ? ex : e;
            }
        }
    return e;
}

/* the precision at which a product with a small factor of relative size
 * 2^rel (rel ≤ 0), errors amplified by up to 2^amp, must run for its result
 * to be good to 2^-ph of the big one */
static slong low_prec(slong ph, slong rel, slong amp)
{
    if (rel == WORD_MIN)
        return MIN_PREC;
    if (rel + amp >= 0 || amp >= ph) /* also: an infinite factor (exponent WORD_MAX) */
        return ph;
    slong p = ph + rel + amp + GUARD;
    return p < MIN_PREC ? MIN_PREC : p > ph ? ph : p;
}

/* C = A B at prec, radii ignored (core/arb.c: exact double slices, error
 * ≤ n 2^-prec max|a_i·| max|b_·j|, what inputs rounded to prec bits give);
 * A's slices kept in k (the caller forgets them when A changes) */
static ssm_status mul(ssm_mpeig_newton *s, arb_mat_t C, const arb_mat_t A, ssm_arb_split *k, const arb_mat_t B,
                      slong prec)
{
    return ssm_arb_mat_approx_mul_split_keep(C, A, k, B, prec, s->ws);
}

ssm_status ssm_mpeig_newton_create(ssm_mpeig_newton **out, const arb_mat_t A)
{
    *out = NULL;
    slong n = arb_mat_nrows(A);
    ssm_mpeig_newton *s = calloc(1, sizeof *s);
    for (int i = 0; s && i < T_N; i++)
        arf_init(s->tmp + i);
    double *a = malloc((size_t)(n * n) * sizeof *a), *vr = malloc((size_t)(n * n) * sizeof *vr);
    double *zi = malloc((size_t)(n * n) * sizeof *zi), *wr = malloc((size_t)n * sizeof *wr);
    double *wi = malloc((size_t)n * sizeof *wi);
    lapack_int *ipiv = malloc((size_t)n * sizeof *ipiv);
    ssm_status st = SSM_OK;
    if (!s || !a || !vr || !zi || !wr || !wi || !ipiv || !(s->off = malloc((size_t)n * sizeof *s->off)) ||
        !(s->sz = malloc((size_t)n * sizeof *s->sz))) {
        st = SSM_ERROR(SSM_ENOMEM, "eig: out of memory");
        goto done;
    }
    s->n = n;
    s->a = _arb_vec_init(n);
    s->b = _arb_vec_init(n);
    arb_mat_init(s->A, n, n); arb_mat_init(s->X, n, n); arb_mat_init(s->Z, n, n); arb_mat_init(s->T, n, n);
    arb_mat_init(s->R, n, n); arb_mat_init(s->Y, n, n); arb_mat_init(s->C, n, n);
    arb_mat_get_mid(s->A, A);
    if ((st = ssm_arb_mul_ws_create(&s->ws)) != SSM_OK || (st = ssm_arb_split_create(&s->kA)) != SSM_OK ||
        (st = ssm_arb_split_create(&s->kX)) != SSM_OK || (st = ssm_arb_split_create(&s->kZ)) != SSM_OK)
        goto done;
    ssm_arb_split_track(s->kA); /* A X: each X agrees with the last in its leading slices */
    /* double start: dgeev (balanced) gives X directly, pairs as (Re v, Im v) columns */
    for (slong i = 0; i < n; i++)
        for (slong k = 0; k < n; k++) {
            a[k * n + i] = ssm_arf_get_d_2exp(arb_midref(arb_mat_entry(A, i, k)), 0);
            zi[k * n + i] = i == k;
        }
    lapack_int info = LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', 'V', (lapack_int)n, a, (lapack_int)n, wr, wi, NULL, 1, vr,
                                    (lapack_int)n);
    if (info != 0) {
        st = ssm_lapack_status("dgeev", info);
        goto done;
    }
    s->m = 0;
    for (slong j = 0; j < n; j++) {
        slong k = s->m++;
        s->off[k] = j;
        arb_set_d(s->a + k, wr[j]);
        if (wi[j] == 0.0)
            s->sz[k] = 1;
        else if (wi[j] > 0.0 && j + 1 < n) {
            s->sz[k] = 2;
            arb_set_d(s->b + k, wi[j]);
            j++;
        } else {
            st = SSM_ERROR(SSM_ENOCONV, "eig: dgeev returned an unpaired complex eigenvalue");
            goto done;
        }
    }
    for (slong i = 0; i < n; i++)
        for (slong k = 0; k < n; k++)
            arb_set_d(arb_mat_entry(s->X, i, k), vr[k * n + i]);
    /* Z = X⁻¹ (LU); vr is overwritten by its factors */
    info = LAPACKE_dgesv(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)n, vr, (lapack_int)n, ipiv, zi, (lapack_int)n);
    if (info != 0) {
        st = info > 0 ? SSM_ERROR(SSM_ENOCONV, "eig: the double-precision eigenvector matrix is singular")
                      : ssm_lapack_status("dgesv", info);
        goto done;
    }
    for (slong i = 0; i < n; i++)
        for (slong k = 0; k < n; k++)
            arb_set_d(arb_mat_entry(s->Z, i, k), zi[k * n + i]);
    s->bits = START_BITS;
done:
    free(a); free(vr); free(zi); free(wr); free(wi); free(ipiv);
    if (st != SSM_OK)
        ssm_mpeig_newton_free(s);
    else
        *out = s;
    return st;
}

ssm_status ssm_mpeig_newton_kappa(double *kappa, const ssm_mpeig_newton *s)
{
    /* [v, v̄] = [x, y] [[1, 1], [i, −i]] / ‖x + iy‖ and [[1, 1], [i, −i]]/√2 is unitary:
     * V (unit columns) has the singular values of X with each pair's columns scaled by
     * √2/‖x + iy‖ and each real column by 1/‖x‖ — a real SVD */
    slong n = s->n;
    *kappa = INFINITY;
    if (s->cplx) {
        double lv, lw;
        ssm_status st = ssm_acb_mat_log2_norm2(&lv, s->cV);
        if (st == SSM_OK)
            st = ssm_acb_mat_log2_norm2(&lw, s->cW);
        if (st == SSM_OK)
            *kappa = exp2(lv + lw);
        return st;
    }
    ssm_dmat_t Xd;
    double *sv = malloc((size_t)n * sizeof *sv);
    ssm_status st = sv ? ssm_dmat_init(Xd, (size_t)n, (size_t)n) : SSM_ERROR(SSM_ENOMEM, "eig: out of memory");
    if (st != SSM_OK) {
        free(sv);
        return st;
    }
    for (slong k = 0; k < s->m; k++) {
        slong j = s->off[k];
        double ss = 0.0;
        for (slong c = j; c < j + s->sz[k]; c++)
            for (slong i = 0; i < n; i++) {
                double x = ssm_arf_get_d_2exp(arb_midref(arb_mat_entry(s->X, i, c)), 0);
                SSM_D(Xd, i, c) = x;
                ss += x * x;
            }
        double f = (s->sz[k] == 2 ? sqrt(2.0) : 1.0) / sqrt(ss);
        for (slong c = j; c < j + s->sz[k]; c++)
            for (slong i = 0; i < n; i++)
                SSM_D(Xd, i, c) *= f;
    }
    st = ssm_dmat_singvals(sv, Xd);
    if (st == SSM_OK && sv[n - 1] > 0.0)
        *kappa = sv[0] / sv[n - 1];
    if (st == SSM_ENOCONV) { /* no SVD: no κ either (inf) */
        ssm_error_clear();
        st = SSM_OK;
    }
    ssm_dmat_clear(Xd);
    free(sv);
    return st;
}

/* (cr, ci) = (yr + i yi) / (dr + i di) on midpoints at prec: (y conj d)/|d|²,
 * the products and |d|² 8 bits wider; a zero d gives NaN/∞, as acb_div's
 * midpoint.  |d|² in *den, computed there unless kept (then it is that of
 * ±conj… of this d: the mirror block's, the same bits) */
static void cdiv_mid(arf_t cr, arf_t ci, const arf_t yr, const arf_t yi, const arf_t dr, const arf_t di, slong prec,
                     arf_struct *tmp, arf_ptr den, int kept)
{
    arf_ptr re = tmp + T_RE, im = tmp + T_IM;
    if (!kept) {
        arf_mul(den, dr, dr, prec + 8, ARF_RND_NEAR);
        arf_addmul(den, di, di, prec + 8, ARF_RND_NEAR);
    }
    arf_mul(re, yr, dr, prec + 8, ARF_RND_NEAR);
    arf_addmul(re, yi, di, prec + 8, ARF_RND_NEAR);
    arf_mul(im, yi, dr, prec + 8, ARF_RND_NEAR);
    arf_submul(im, yr, di, prec + 8, ARF_RND_NEAR);
    arf_div(cr, re, den, prec, ARF_RND_NEAR);
    arf_div(ci, im, den, prec, ARF_RND_NEAR);
}

/* C block (k, b) from Y block (k, b): D_k C − C D_b = −Y; the 2×2 case splits
 * C = C₊ + C₋ with C₊ ∈ span{I, J} ≅ ℂ (J ↔ i, J = [[0, 1], [−1, 0]]) and C₋
 * ∈ span{K, L} (K = diag(1, −1), L = [[0, 1], [1, 0]]; γK + δL ↔ γ − iδ, on
 * which J also acts as i): C₊ = Y₊/(λ_b − λ_k), C₋ = Y₋/(conj λ_b − λ_k).
 * The 1×2 row c1 + i c2 and the 2×1 column c1 − i c2 are C₊ alone.  On
 * midpoints, sums and quotients rounded as Arb's ball operations round theirs
 * (towards zero, ARB_RND), C's radii zero.  kept: block (b, k) was solved
 * just before, and its |d|² (in the scratch) serve here: its d are −d and
 * −conj d of this block's (rounded towards zero: the negatives, bit for bit),
 * of the same modulus. */
static void solve_block(ssm_mpeig_newton *s, slong k, slong b, slong prec, double *rmax, int kept)
{
    slong ik = s->off[k], jb = s->off[b];
    int sk = s->sz[k], sb = s->sz[b];
    const arf_rnd_t rd = ARF_RND_DOWN;
    arf_struct *t = s->tmp;
    arf_ptr yr = t + T_YR, yi = t + T_YI, dr = t + T_DR, di = t + T_DI, cr = t + T_CR, ci = t + T_CI;
    arf_srcptr ak = arb_midref(s->a + k), bk = arb_midref(s->b + k), ab = arb_midref(s->a + b),
               bb = arb_midref(s->b + b);
#define YE(i, j) arb_midref(arb_mat_entry(s->Y, ik + (i), jb + (j)))
#define CE(i, j) arb_midref(arb_mat_entry(s->C, ik + (i), jb + (j)))
    if (k == b) {
        /* diagonal: C₊ = 0 (the free complex scale of v), C₋ = Y₋/(−2ib) */
        if (sk == 1)
            arf_zero(CE(0, 0));
        else {
            arf_sub(yr, YE(0, 0), YE(1, 1), prec, rd);
            arf_add(yi, YE(0, 1), YE(1, 0), prec, rd);
            arf_neg(yi, yi);
            arf_mul_2exp_si(yr, yr, -1);
            arf_mul_2exp_si(yi, yi, -1);
            arf_zero(dr); /* d = −2ib */
            arf_mul_si(di, bk, -2, prec, rd);
            cdiv_mid(cr, ci, yr, yi, dr, di, prec, t, t + T_DEN, 0);
            arf_set(CE(0, 0), cr);
            arf_neg(CE(0, 1), ci);
            arf_set(CE(1, 0), CE(0, 1));
            arf_neg(CE(1, 1), CE(0, 0));
        }
    } else if (sk == 1 && sb == 1) {
        arf_sub(dr, ab, ak, prec, rd);
        arf_div(CE(0, 0), YE(0, 0), dr, prec, rd);
    } else if (sk == 1 || sb == 1) {
        /* row: c = c1 + i c2, y = y1 + i y2; column: c = c1 − i c2, y = y1 − i y2 */
        int row = sk == 1;
        arf_set(yr, YE(0, 0));
        if (row)
            arf_set(yi, YE(0, 1));
        else
            arf_neg(yi, YE(1, 0));
        arf_sub(dr, ab, ak, prec, rd);
        arf_sub(di, bb, bk, prec, rd);
        cdiv_mid(cr, ci, yr, yi, dr, di, prec, t, t + T_DEN, kept);
        arf_set(CE(0, 0), cr);
        if (row)
            arf_set(CE(0, 1), ci);
        else
            arf_neg(CE(1, 0), ci);
    } else {
        arf_ptr mr = t + T_MR, mi = t + T_MI;
        /* C₊ */
        arf_add(yr, YE(0, 0), YE(1, 1), prec, rd);
        arf_sub(yi, YE(0, 1), YE(1, 0), prec, rd);
        arf_mul_2exp_si(yr, yr, -1);
        arf_mul_2exp_si(yi, yi, -1);
        arf_sub(dr, ab, ak, prec, rd);
        arf_sub(di, bb, bk, prec, rd);
        cdiv_mid(cr, ci, yr, yi, dr, di, prec, t, t + T_DEN, kept);
        /* C₋: conj λ_b − λ_k */
        arf_sub(yr, YE(0, 0), YE(1, 1), prec, rd);
        arf_add(yi, YE(0, 1), YE(1, 0), prec, rd);
        arf_neg(yi, yi);
        arf_mul_2exp_si(yr, yr, -1);
        arf_mul_2exp_si(yi, yi, -1);
        arf_neg(di, bb);
        arf_sub(di, di, bk, prec, rd);
        cdiv_mid(mr, mi, yr, yi, dr, di, prec, t, t + T_DENM, kept);
        /* C = [[α+γ, β+δ], [δ−β, α−γ]] with c₊ = α + iβ, c₋ = γ − iδ */
        arf_add(CE(0, 0), cr, mr, prec, rd);
        arf_sub(CE(1, 1), cr, mr, prec, rd);
        arf_sub(CE(0, 1), ci, mi, prec, rd);
        arf_add(CE(1, 0), ci, mi, prec, rd);
        arf_neg(CE(1, 0), CE(1, 0));
    }
    for (int i = 0; i < sk; i++)
        for (int j = 0; j < sb; j++) {
            mag_zero(arb_radref(arb_mat_entry(s->C, ik + i, jb + j)));
            /* a repeated eigenvalue divides by 0: NaN or ∞, reported as an infinite correction */
            double v = arf_is_finite(CE(i, j)) ? fabs(ssm_arf_get_d_2exp(CE(i, j), 0)) : INFINITY;
            *rmax = v > *rmax ? v : *rmax;
        }
#undef YE
#undef CE
}

/* ---- complex A ------------------------------------------------------------ */

static slong max_exp_c(const acb_mat_t M)
{
    slong e = WORD_MIN;
    for (slong i = 0; i < acb_mat_nrows(M); i++)
        for (slong k = 0; k < acb_mat_ncols(M); k++)
            for (int part = 0; part < 2; part++) {
                const arf_struct *x = arb_midref(part ? acb_imagref(acb_mat_entry(M, i, k)) : acb_realref(acb_mat_entry(M, i, k)));
                if (!arf_is_zero(x)) {
                    slong ex = arf_abs_bound_lt_2exp_si(x);
                    e = ex > e ? ex : e;
                }
            }
    return e;
}

/* C = A B at prec, inputs rounded to prec first (as mul) */
static void mul_c(ssm_mpeig_newton *s, acb_mat_t C, const acb_mat_t A, const acb_mat_t B, slong prec)
{
    for (int which = 0; which < 2; which++) {
        const acb_mat_struct *M = which ? B : A;
        acb_mat_struct *D = which ? s->cQ : s->cP;
        for (slong i = 0; i < acb_mat_nrows(M); i++)
            for (slong k = 0; k < acb_mat_ncols(M); k++) {
                acb_srcptr x = acb_mat_entry(M, i, k);
                acb_ptr y = acb_mat_entry(D, i, k);
                arf_set_round(arb_midref(acb_realref(y)), arb_midref(acb_realref(x)), prec, ARF_RND_NEAR);
                arf_set_round(arb_midref(acb_imagref(y)), arb_midref(acb_imagref(x)), prec, ARF_RND_NEAR);
                mag_zero(arb_radref(acb_realref(y)));
                mag_zero(arb_radref(acb_imagref(y)));
            }
    }
    acb_mat_approx_mul(C, s->cP, s->cQ, prec);
}

ssm_status ssm_mpeig_newton_create_complex(ssm_mpeig_newton **out, const acb_mat_t A)
{
    *out = NULL;
    slong n = acb_mat_nrows(A);
    ssm_mpeig_newton *s = calloc(1, sizeof *s);
    for (int i = 0; s && i < T_N; i++)
        arf_init(s->tmp + i);
    double complex *ld = malloc((size_t)n * sizeof *ld);
    ssm_zmat_t Ad, Vd, Wd;
    memset(Ad, 0, sizeof Ad); memset(Vd, 0, sizeof Vd); memset(Wd, 0, sizeof Wd);
    ssm_status st = s && ld ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "eig: out of memory");
    if (st == SSM_OK)
        st = ssm_zmat_init(Ad, (size_t)n, (size_t)n);
    if (st == SSM_OK)
        st = ssm_zmat_init(Vd, (size_t)n, (size_t)n);
    if (st == SSM_OK)
        st = ssm_zmat_init(Wd, (size_t)n, (size_t)n);
    if (st != SSM_OK) {
        free(s);
        free(ld);
        ssm_zmat_clear(Ad); ssm_zmat_clear(Vd); ssm_zmat_clear(Wd);
        return st;
    }
    s->n = n;
    s->cplx = 1;
    s->lam = _acb_vec_init(n);
    acb_mat_init(s->cA, n, n); acb_mat_init(s->cV, n, n); acb_mat_init(s->cW, n, n); acb_mat_init(s->cT, n, n);
    acb_mat_init(s->cR, n, n); acb_mat_init(s->cY, n, n); acb_mat_init(s->cC, n, n); acb_mat_init(s->cP, n, n);
    acb_mat_init(s->cQ, n, n);
    acb_mat_get_mid(s->cA, A);
    for (slong i = 0; i < n; i++)
        for (slong k = 0; k < n; k++) {
            acb_srcptr z = acb_mat_entry(A, i, k);
            SSM_D(Ad, i, k) = CMPLX(ssm_arf_get_d_2exp(arb_midref(acb_realref(z)), 0),
                                    ssm_arf_get_d_2exp(arb_midref(acb_imagref(z)), 0));
        }
    /* double start: zgeev (balanced), unit columns, V⁻¹ by LU */
    st = ssm_diag_eig(ld, Vd, Wd, NULL, Ad);
    if (st == SSM_OK)
        for (slong i = 0; i < n; i++) {
            acb_set_d_d(s->lam + i, creal(ld[i]), cimag(ld[i]));
            for (slong k = 0; k < n; k++) {
                acb_set_d_d(acb_mat_entry(s->cV, i, k), creal(SSM_D(Vd, i, k)), cimag(SSM_D(Vd, i, k)));
                acb_set_d_d(acb_mat_entry(s->cW, i, k), creal(SSM_D(Wd, i, k)), cimag(SSM_D(Wd, i, k)));
            }
        }
    s->bits = START_BITS;
    free(ld);
    ssm_zmat_clear(Ad); ssm_zmat_clear(Vd); ssm_zmat_clear(Wd);
    if (st != SSM_OK) {
        ssm_mpeig_newton_free(s);
        return st == SSM_ENOMEM ? st : SSM_ERROR(SSM_ENOCONV, "eig: no double-precision start (%s)", ssm_strerror(st));
    }
    *out = s;
    return SSM_OK;
}

/* T = A V and R = A V − V Λ at ph (midpoints) */
static void residual_c(ssm_mpeig_newton *s, slong ph)
{
    acb_t t;
    acb_init(t);
    mul_c(s, s->cT, s->cA, s->cV, ph);
    for (slong i = 0; i < s->n; i++)
        for (slong j = 0; j < s->n; j++) {
            acb_mul(t, acb_mat_entry(s->cV, i, j), s->lam + j, ph);
            acb_sub(acb_mat_entry(s->cR, i, j), acb_mat_entry(s->cT, i, j), t, ph);
            acb_get_mid(acb_mat_entry(s->cR, i, j), acb_mat_entry(s->cR, i, j));
        }
    acb_clear(t);
}

/* the step of the header with V, W, diag λ for X, Z, D: C_ki = Y_ki/(λ_i − λ_k) */
static ssm_status step_complex(ssm_mpeig_newton *s, slong ph, double *rmax)
{
    slong n = s->n;
    acb_t t;
    acb_init(t);
    residual_c(s, ph);
    slong eT = max_exp_c(s->cT), eR = max_exp_c(s->cR);
    s->kb = max_exp_c(s->cV) + max_exp_c(s->cW);
    s->kb = s->kb > 0 ? s->kb : 0;
    slong pc = low_prec(ph, eR == WORD_MIN ? WORD_MIN : eR - eT, s->kb);
    mul_c(s, s->cY, s->cW, s->cR, pc);
    *rmax = 0.0;
    for (slong k = 0; k < n; k++)
        for (slong i = 0; i < n; i++) {
            acb_ptr c = acb_mat_entry(s->cC, k, i);
            if (k == i) {
                acb_zero(c);
                continue;
            }
            acb_sub(t, s->lam + i, s->lam + k, pc);
            acb_div(c, acb_mat_entry(s->cY, k, i), t, pc);
            acb_get_mid(c, c);
            double v = acb_is_finite(c) ? hypot(ssm_arf_get_d_2exp(arb_midref(acb_realref(c)), 0),
                                                ssm_arf_get_d_2exp(arb_midref(acb_imagref(c)), 0))
                                        : INFINITY; /* a repeated eigenvalue */
            *rmax = v > *rmax ? v : *rmax;
        }
    if (!(*rmax < 0.25)) {
        acb_clear(t);
        return NO_CONV();
    }
    for (slong i = 0; i < n; i++) {
        acb_add(s->lam + i, s->lam + i, acb_mat_entry(s->cY, i, i), ph);
        acb_get_mid(s->lam + i, s->lam + i);
    }
    slong eC = max_exp_c(s->cC);
    mul_c(s, s->cT, s->cV, s->cC, low_prec(ph, eC, 0));
    acb_mat_add(s->cV, s->cV, s->cT, ph);
    acb_mat_get_mid(s->cV, s->cV);
    mul_c(s, s->cT, s->cV, s->cW, ph);
    acb_mat_neg(s->cT, s->cT);
    for (slong i = 0; i < n; i++)
        acb_add_ui(acb_mat_entry(s->cT, i, i), acb_mat_entry(s->cT, i, i), 1, ph);
    acb_mat_get_mid(s->cT, s->cT);
    mul_c(s, s->cR, s->cW, s->cT, low_prec(ph, max_exp_c(s->cT), 0));
    acb_mat_add(s->cW, s->cW, s->cR, ph);
    acb_mat_get_mid(s->cW, s->cW);
    acb_clear(t);
    return SSM_OK;
}

/* the midpoint of entry (i, j): the real state's sums work on midpoints only
 * (every matrix of it has zero radii) */
#define MID(M, i, j) arb_midref(arb_mat_entry(M, i, j))

/* T = A X and R = A X − X D at ph (midpoints) */
static ssm_status residual(ssm_mpeig_newton *s, slong ph)
{
    ssm_status st = mul(s, s->T, s->A, s->kA, s->X, ph);
    if (st != SSM_OK)
        return st;
    arf_t t;
    arf_init(t);
    for (slong k = 0; k < s->m; k++) {
        slong j = s->off[k];
        arf_srcptr a = arb_midref(s->a + k), b = arb_midref(s->b + k);
        for (slong i = 0; i < s->n; i++) {
            arf_srcptr x = MID(s->X, i, j);
            arf_mul(t, a, x, ph, ARF_RND_NEAR);
            arf_sub(MID(s->R, i, j), MID(s->T, i, j), t, ph, ARF_RND_NEAR);
            if (s->sz[k] == 2) {
                arf_srcptr y = MID(s->X, i, j + 1);
                /* column x: A x − (a x − b y); column y: A y − (b x + a y) */
                arf_addmul(MID(s->R, i, j), b, y, ph, ARF_RND_NEAR);
                arf_mul(t, b, x, ph, ARF_RND_NEAR);
                arf_sub(MID(s->R, i, j + 1), MID(s->T, i, j + 1), t, ph, ARF_RND_NEAR);
                arf_submul(MID(s->R, i, j + 1), a, y, ph, ARF_RND_NEAR);
            }
        }
    }
    arf_clear(t);
    return SSM_OK;
}

/* every mantissa of M that is on the heap (over two limbs) given room for
 * limbs limbs: Arb grows a mantissa by a reallocation whenever a longer result
 * is written into it, which the rising precision of the steps does to every
 * entry of X, Z, R and T at every step; reserved once, the steps write in place */
static void room_for(arb_mat_t M, slong limbs)
{
    for (slong i = 0; i < arb_mat_nrows(M); i++)
        for (slong k = 0; k < arb_mat_ncols(M); k++) {
            arf_ptr x = MID(M, i, k);
            if (ARF_HAS_PTR(x) && ARF_PTR_ALLOC(x) < limbs) {
                ARF_PTR_D(x) = flint_realloc(ARF_PTR_D(x), (size_t)limbs * sizeof(mp_limb_t));
                ARF_PTR_ALLOC(x) = limbs;
            }
        }
}

/* M += D at ph, midpoints (radii stay zero) */
static void add_mid(arb_mat_t M, const arb_mat_t D, slong ph)
{
    for (slong i = 0; i < arb_mat_nrows(M); i++)
        for (slong k = 0; k < arb_mat_ncols(M); k++)
            arf_add(MID(M, i, k), MID(M, i, k), MID(D, i, k), ph, ARF_RND_NEAR);
}

/* D += the canonical part of Y's diagonal blocks, at ph */
static void update_d(ssm_mpeig_newton *s, slong ph)
{
    arb_t t;
    arb_init(t);
    for (slong k = 0; k < s->m; k++) {
        slong j = s->off[k];
        if (s->sz[k] == 1)
            arb_add(s->a + k, s->a + k, arb_mat_entry(s->Y, j, j), ph);
        else {
            /* a += (y11 + y22)/2, b += (y12 − y21)/2 */
            arb_add(t, arb_mat_entry(s->Y, j, j), arb_mat_entry(s->Y, j + 1, j + 1), ph);
            arb_mul_2exp_si(t, t, -1);
            arb_add(s->a + k, s->a + k, t, ph);
            arb_sub(t, arb_mat_entry(s->Y, j, j + 1), arb_mat_entry(s->Y, j + 1, j), ph);
            arb_mul_2exp_si(t, t, -1);
            arb_add(s->b + k, s->b + k, t, ph);
            arb_get_mid_arb(s->b + k, s->b + k);
        }
        arb_get_mid_arb(s->a + k, s->a + k);
    }
    arb_clear(t);
}

/* X ← X + X C, then Z ← Z + Z (I − X Z): the small products low, sums at ph.
 * The low products go to Y (spent by then), the high ones to T: each matrix
 * keeps entries of one size, so Arb does not free and reallocate their limbs
 * at every switch between two limbs and more */
static ssm_status update_xz(ssm_mpeig_newton *s, slong ph)
{
    ssm_status st = mul(s, s->Y, s->X, s->kX, s->C, low_prec(ph, max_exp(s->C), 0));
    if (st != SSM_OK)
        return st;
    add_mid(s->X, s->Y, ph);
    ssm_arb_split_forget(s->kX);
    if ((st = mul(s, s->T, s->X, s->kX, s->Z, ph)) != SSM_OK)
        return st;
    for (slong i = 0; i < s->n; i++)
        for (slong k = 0; k < s->n; k++)
            arf_neg(MID(s->T, i, k), MID(s->T, i, k));
    for (slong i = 0; i < s->n; i++)
        arf_add_ui(MID(s->T, i, i), MID(s->T, i, i), 1, ph, ARF_RND_NEAR);
    if ((st = mul(s, s->Y, s->Z, s->kZ, s->T, low_prec(ph, max_exp(s->T), 0))) != SSM_OK)
        return st;
    add_mid(s->Z, s->Y, ph);
    ssm_arb_split_forget(s->kZ);
    return SSM_OK;
}

ssm_status ssm_mpeig_newton_step(ssm_mpeig_newton *s, slong ph, double *rmax)
{
    if (s->cplx)
        return step_complex(s, ph, rmax);
    if (ph > 2 * FLINT_BITS) { /* the mantissas on the heap (from the step before): room for the precisions to come */
        room_for(s->X, s->room);
        room_for(s->Z, s->room);
        room_for(s->R, s->room);
        room_for(s->T, s->room);
    }
    ssm_status st = residual(s, ph);
    if (st != SSM_OK)
        return st;
    /* Y = Z R; its diagonal blocks correct D, the rest gives C.  |R|/|A X| =
     * 2^(eR − eT) are the bits cancelled; Z amplifies errors by up to |X| |Z|
     * (entrywise, a cheap stand-in for κ), so that many more bits */
    slong eT = max_exp(s->T), eR = max_exp(s->R);
    s->kb = max_exp(s->X) + max_exp(s->Z);
    s->kb = s->kb > 0 ? s->kb : 0;
    slong pc = low_prec(ph, eR == WORD_MIN ? WORD_MIN : eR - eT, s->kb);
    if ((st = mul(s, s->Y, s->Z, s->kZ, s->R, pc)) != SSM_OK)
        return st;
    *rmax = 0.0;
    for (slong k = 0; k < s->m; k++) /* (k, b) and its mirror (b, k): one |d|² for both */
        for (slong b = k; b < s->m; b++) {
            solve_block(s, k, b, pc, rmax, 0);
            if (b != k)
                solve_block(s, b, k, pc, rmax, 1);
        }
    if (!(*rmax < 0.25)) /* outside the region of quadratic convergence (or ∞): stop here */
        return NO_CONV();
    update_d(s, ph);
    return update_xz(s, ph);
}

/* the accuracy a step at ph reaches from bits (the model refine keeps) */
static double after_step(const ssm_mpeig_newton *s, double ph)
{
    double sq = 2.0 * s->bits - 2.0, floor = ph - (double)s->kb - 8.0;
    return sq < floor ? sq : floor;
}

/* doubling steps from b to target bits */
static int steps_to(double b, double target)
{
    int k = 0;
    for (; b < target && k < 64 && b > 2.0; k++)
        b = 2.0 * b - 2.0;
    return k;
}

/* the precision of the next step: twice the bits reached plus a guard (a step
 * cannot do better), or bits + 104 where that keeps the small products at 128
 * bits without adding a step on the way to target (a lower ph: fewer slices
 * in the two big products too) */
slong ssm_mpeig_newton_next_prec(const ssm_mpeig_newton *s, double target)
{
    double dbl = 2.0 * s->bits + GUARD, fast = s->bits + FAST_PREC - GUARD - (double)s->kb;
    if (fast < s->bits + 48.0 || fast >= dbl)
        return (slong)dbl;
    return steps_to(after_step(s, fast), target) <= steps_to(after_step(s, dbl), target) ? (slong)fast : (slong)dbl;
}

ssm_status ssm_mpeig_newton_refine(ssm_mpeig_newton *s, double target, slong w)
{
    double prev = INFINITY;
    /* the products' room for the check step that follows (1.5 w): one allocation */
    if (!s->cplx) {
        ssm_status st = ssm_arb_mul_ws_reserve(s->ws, s->n, s->n, s->n, w + w / 2);
        if (st != SSM_OK)
            return st;
        ssm_arb_split_plan(s->kA, w + w / 2); /* A's slices cut once for every residual */
        s->room = (w + w / 2 + FLINT_BITS - 1) / FLINT_BITS + 1;
    }
    for (int it = 0; it < 40 && s->bits < target; it++) {
        slong ph = ssm_mpeig_newton_next_prec(s, target);
        ph = ph < w ? ph : w;
        double rmax;
        ssm_status st = ssm_mpeig_newton_step(s, ph, &rmax);
        if (st != SSM_OK)
            return st;
        /* the correction measures the error before the step; the step squares it,
         * down to the rounding of its precision amplified by κ */
        double before = rmax > 0.0 ? -log2(rmax) : (double)ph;
        s->bits = before;
        s->bits = after_step(s, (double)ph);
        if (ph == w) {
            if (rmax == 0.0 || before >= 0.5 * (double)w)
                return SSM_OK; /* at the rounding floor of w: as good as w allows */
            if (!(rmax < 0.5 * prev))
                break; /* stagnation above half the working digits: failure */
            prev = rmax;
        }
    }
    if (s->bits >= target)
        return SSM_OK;
    return NO_CONV();
}

void ssm_mpeig_newton_get(acb_ptr lam, acb_mat_t V, acb_mat_t W, const ssm_mpeig_newton *s)
{
    slong n = s->n;
    if (s->cplx) {
        _acb_vec_set(lam, s->lam, n);
        acb_mat_set(V, s->cV);
        if (W)
            acb_mat_set(W, s->cW);
        return;
    }
    for (slong k = 0; k < s->m; k++) {
        slong j = s->off[k];
        if (s->sz[k] == 1) {
            acb_set_arb(lam + j, s->a + k);
            for (slong i = 0; i < n; i++) {
                acb_set_arb(acb_mat_entry(V, i, j), arb_mat_entry(s->X, i, j));
                if (W)
                    acb_set_arb(acb_mat_entry(W, j, i), arb_mat_entry(s->Z, j, i));
            }
            continue;
        }
        /* v = x ± iy; rows of V⁻¹: (z_x ∓ i z_y)/2 */
        acb_set_arb_arb(lam + j, s->a + k, s->b + k);
        acb_conj(lam + j + 1, lam + j);
        for (slong i = 0; i < n; i++) {
            acb_set_arb_arb(acb_mat_entry(V, i, j), arb_mat_entry(s->X, i, j), arb_mat_entry(s->X, i, j + 1));
            acb_conj(acb_mat_entry(V, i, j + 1), acb_mat_entry(V, i, j));
            if (!W)
                continue;
            acb_set_arb_arb(acb_mat_entry(W, j + 1, i), arb_mat_entry(s->Z, j, i), arb_mat_entry(s->Z, j + 1, i));
            acb_mul_2exp_si(acb_mat_entry(W, j + 1, i), acb_mat_entry(W, j + 1, i), -1);
            acb_conj(acb_mat_entry(W, j, i), acb_mat_entry(W, j + 1, i));
        }
    }
}

/* ---- κ and the backward error of the state -------------------------------- */

/* log2 |x| of a midpoint without leaving double's range; −inf for 0 */
static double log2_arf(const arf_t x)
{
    if (arf_is_zero(x))
        return -INFINITY;
    slong e = arf_abs_bound_lt_2exp_si(x);
    arf_t sc;
    arf_init(sc);
    arf_mul_2exp_si(sc, x, -e);
    double r = log2(fabs(arf_get_d(sc, ARF_RND_NEAR))) + (double)e;
    arf_clear(sc);
    return r;
}

/* x 2^-e as a double */
static double scaled_d(const arf_t x, slong e)
{
    return ssm_arf_get_d_2exp(x, e);
}

/* entry (i, c) of X (real) or V (complex) as a double scaled by 2^-e */
static double complex basis_d(const ssm_mpeig_newton *s, slong i, slong c, slong e)
{
    if (!s->cplx)
        return scaled_d(arb_midref(arb_mat_entry(s->X, i, c)), e);
    acb_srcptr z = acb_mat_entry(s->cV, i, c);
    return CMPLX(scaled_d(arb_midref(acb_realref(z)), e), scaled_d(arb_midref(acb_imagref(z)), e));
}

/* entry (c, i) of Z (real) or W (complex) as a double scaled by 2^-e */
static double complex inverse_d(const ssm_mpeig_newton *s, slong c, slong i, slong e)
{
    if (!s->cplx)
        return scaled_d(arb_midref(arb_mat_entry(s->Z, c, i)), e);
    acb_srcptr z = acb_mat_entry(s->cW, c, i);
    return CMPLX(scaled_d(arb_midref(acb_realref(z)), e), scaled_d(arb_midref(acb_imagref(z)), e));
}

/* largest exponent over columns j … j + w − 1 (rows: rows = 1) of M or of the complex cM */
static slong span_exp(const ssm_mpeig_newton *s, int inverse, slong j, int w)
{
    slong e = WORD_MIN;
    for (slong i = 0; i < s->n; i++)
        for (slong c = j; c < j + w; c++)
            for (int part = 0; part < 1 + s->cplx; part++) {
                const arf_struct *x;
                if (!s->cplx)
                    x = arb_midref(inverse ? arb_mat_entry(s->Z, c, i) : arb_mat_entry(s->X, i, c));
                else {
                    acb_srcptr z = inverse ? acb_mat_entry(s->cW, c, i) : acb_mat_entry(s->cV, i, c);
                    x = arb_midref(part ? acb_imagref(z) : acb_realref(z));
                }
                if (!arf_is_zero(x)) {
                    slong ex = arf_abs_bound_lt_2exp_si(x);
                    e = ex > e ? ex : e;
                }
            }
    return e;
}

/* block k's columns: the real basis' blocks, or one column per eigenvalue */
static void block_of(const ssm_mpeig_newton *s, slong k, slong *j, int *w)
{
    *j = s->cplx ? k : s->off[k];
    *w = s->cplx ? 1 : s->sz[k];
}

/* the unit-column V (a real A: [x, y] with the pair's scale √2/‖x + iy‖, whose
 * singular values are V's) and V⁻¹ (block rows of Z scaled back, times 2^-G)
 * as double matrices; *ok = 0 when a column is zero.  ENOMEM. */
static ssm_status kappa_copies(ssm_zmat_t Vd, ssm_zmat_t Wd, slong *G, int *okp, const ssm_mpeig_newton *s)
{
    slong nb = s->cplx ? s->n : s->m, *e = malloc((size_t)nb * sizeof *e);
    double *f = malloc((size_t)nb * sizeof *f);
    if (!e || !f) {
        free(e);
        free(f);
        return SSM_ERROR(SSM_ENOMEM, "eig: out of memory (n = %ld)", (long)s->n);
    }
    int ok = 1;
    *G = WORD_MIN;
    for (slong k = 0; ok && k < nb; k++) {
        slong j;
        int w;
        block_of(s, k, &j, &w);
        e[k] = span_exp(s, 0, j, w);
        double ss = 0.0;
        for (slong c = j; c < j + w && e[k] != WORD_MIN; c++)
            for (slong i = 0; i < s->n; i++) {
                SSM_D(Vd, i, c) = basis_d(s, i, c, e[k]);
                ss += creal(SSM_D(Vd, i, c) * conj(SSM_D(Vd, i, c)));
            }
        ok = ss > 0.0;
        f[k] = (w == 2 ? sqrt(2.0) : 1.0) / sqrt(ss);
        for (slong c = j; ok && c < j + w; c++)
            for (slong i = 0; i < s->n; i++)
                SSM_D(Vd, i, c) *= f[k];
        slong ez = span_exp(s, 1, j, w);
        if (ez != WORD_MIN && e[k] + ez > *G)
            *G = e[k] + ez;
    }
    ok = ok && *G != WORD_MIN;
    for (slong k = 0; ok && k < nb; k++) {
        slong j;
        int w;
        block_of(s, k, &j, &w);
        for (slong c = j; c < j + w; c++)
            for (slong i = 0; i < s->n; i++)
                SSM_D(Wd, c, i) = inverse_d(s, c, i, *G - e[k]) / f[k];
    }
    free(e);
    free(f);
    *okp = ok;
    return SSM_OK;
}

/* log2 ‖M‖₂ of a double copy; a real basis' copy is real: a real SVD */
static ssm_status log2_norm2_d(double *l2, const ssm_zmat_t M, int cplx)
{
    double nrm = 0.0;
    ssm_status st;
    if (cplx)
        st = ssm_zmat_norm2(&nrm, M);
    else {
        ssm_dmat_t D;
        if ((st = ssm_dmat_init(D, M->rows, M->cols)) != SSM_OK)
            return st;
        for (size_t i = 0; i < M->rows; i++)
            for (size_t k = 0; k < M->cols; k++)
                SSM_D(D, i, k) = creal(SSM_D(M, i, k));
        st = ssm_dmat_norm2(&nrm, D);
        ssm_dmat_clear(D);
    }
    *l2 = log2(nrm);
    return st;
}

ssm_status ssm_mpeig_newton_log2_kappa(double *lk, const ssm_mpeig_newton *s)
{
    ssm_zmat_t Vd, Wd;
    memset(Wd, 0, sizeof Wd);
    ssm_status st = ssm_zmat_init(Vd, (size_t)s->n, (size_t)s->n);
    if (st == SSM_OK)
        st = ssm_zmat_init(Wd, (size_t)s->n, (size_t)s->n);
    slong G = 0;
    int ok = 0;
    *lk = INFINITY;
    if (st == SSM_OK)
        st = kappa_copies(Vd, Wd, &G, &ok, s);
    if (st == SSM_OK && ok) {
        double lv, lw;
        if ((st = log2_norm2_d(&lv, Vd, s->cplx)) == SSM_OK && (st = log2_norm2_d(&lw, Wd, s->cplx)) == SSM_OK)
            *lk = lv + lw + (double)G;
    }
    ssm_zmat_clear(Vd);
    ssm_zmat_clear(Wd);
    return st;
}

/* Σ over columns j … j + w − 1 of M (real, or the complex M) of Σ_i |m_ic|², at 64 bits */
static void col_ss(arb_t ss, const arb_mat_t M, const acb_mat_t cM, slong j, int w, slong n)
{
    arb_zero(ss);
    for (slong c = j; c < j + w; c++) {
        if (!cM) {
            arb_srcptr x = arb_mat_entry(M, 0, c);
            arb_approx_dot(ss, ss, 0, x, n, x, n, n, 64);
            continue;
        }
        arb_srcptr re = acb_realref(acb_mat_entry(cM, 0, c)), im = acb_imagref(acb_mat_entry(cM, 0, c));
        arb_approx_dot(ss, ss, 0, re, 2 * n, re, 2 * n, n, 64);
        arb_approx_dot(ss, ss, 0, im, 2 * n, im, 2 * n, n, 64);
    }
}

ssm_status ssm_mpeig_newton_log2_backward(double *lb, ssm_mpeig_newton *s, slong prec)
{
    slong n = s->n, nb = s->cplx ? n : s->m;
    if (s->cplx)
        residual_c(s, prec);
    else {
        ssm_status st = residual(s, prec);
        if (st != SSM_OK)
            return st;
    }
    /* unit columns v = f(x + iy): ‖A v − λ v‖² = (‖r_x‖² + ‖r_y‖²)/(‖x‖² + ‖y‖²), twice for a pair */
    arb_t num, den, sum;
    arb_init(num); arb_init(den); arb_init(sum);
    for (slong k = 0; k < nb; k++) {
        slong j;
        int w;
        block_of(s, k, &j, &w);
        col_ss(num, s->R, s->cplx ? s->cR : NULL, j, w, n);
        col_ss(den, s->X, s->cplx ? s->cV : NULL, j, w, n);
        arb_mul_si(num, num, w, 64);
        arb_div(num, num, den, 64);
        arb_add(sum, sum, num, 64);
    }
    double lr = 0.5 * log2_arf(arb_midref(sum));
    /* ‖A‖_F: the row-major entries are n² contiguous arbs (2n² for a complex A) */
    arb_srcptr a0 = s->cplx ? acb_realref(acb_mat_entry(s->cA, 0, 0)) : arb_mat_entry(s->A, 0, 0);
    arb_approx_dot(sum, NULL, 0, a0, 1, a0, 1, (1 + s->cplx) * n * n, 64);
    *lb = lr - 0.5 * log2_arf(arb_midref(sum)) - 0.5 * log2((double)n);
    arb_clear(num); arb_clear(den); arb_clear(sum);
    return SSM_OK;
}
