/* analysis/pspec_multishift.c — the multi-shift triangular solves of the fast
 * dense path: X_j ← (T − z_j I)⁻¹ X_j and X_j ← (T − z_j I)⁻* X_j for a block
 * of shifts z_j at once, on the complex Schur form (triangular T) or, for a
 * real matrix, on the real Schur form (quasi-triangular T with 2×2 blocks for
 * the conjugate pairs).
 *
 * The shifts' vectors are held as rows: X[k·ldx + j] is component k of shift
 * j's vector, real and imaginary parts in separate arrays (Xr, Xi), so that
 * the work inside a diagonal block is plain vector arithmetic across shifts
 * and the updates between row blocks, which do not involve the shift, are
 * DGEMMs: in column-major terms Xᵀ is (shifts)×n with leading dimension ldx.
 * A complex T costs four real DGEMMs per update (split complex).  A real T
 * costs one: the real and imaginary parts of a row are stored next to each
 * other (Xi = Xr + m for the m active shifts), so the real matrix multiplies
 * both in a single product with 2m rows — half the flops of the complex form,
 * the factor that the real Schur form buys.  The shift then only enters the diagonal: a scalar 1/(t_kk
 * − z) for a 1×1 block, the inverse of B − zI for a 2×2 block B, by Cramer's
 * rule, which is forward stable for n = 2 (Higham, Accuracy and Stability of
 * Numerical Algorithms, §1.10.1); κ(B − zI) ≤ κ(T − zI) since (B − zI)⁻¹ is a
 * diagonal block of (T − zI)⁻¹, so its errors are within what the triangular
 * solve of T − zI commits anyway. */
#define _POSIX_C_SOURCE 200809L
#include "analysis/pspec_impl.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Row blocks of about nb rows, a 2×2 block never split between two of them:
 * bnd[0] = 0 < bnd[1] < … < bnd[nblk] = n (bnd has room for n + 1 entries). */
size_t ssm_pspec_ms_blocks(size_t *bnd, const unsigned char *pair, size_t n, size_t nb)
{
    size_t nblk = 0;
    bnd[0] = 0;
    for (size_t lo = 0; lo < n;) {
        size_t hi = lo + nb < n ? lo + nb : n;
        if (pair && hi < n && pair[hi - 1]) /* rows hi − 1, hi form a 2×2 block */
            hi++;
        bnd[++nblk] = hi;
        lo = hi;
    }
    return nblk;
}

/* Column j of D (and E) for the shift z: 1/(t_kk − z), or for a 2×2 block
 * rows (k, k+1) of B = [[a, b], [c, d]] the inverse of B − zI,
 * [[D_k, E_k], [E_{k+1}, D_{k+1}]] = [[d − z, −b], [−c, a − z]]/det.  Returns 0
 * when T − zI is exactly singular (a diagonal entry or det is 0), σ = 0 to
 * within 2ε‖B − zI‖. */
int ssm_pspec_ms_shift(const ssm_pspec_ms *w, size_t j, double complex z)
{
    size_t n = w->n, ld = w->ldd;
    for (size_t k = 0; k < n; k++) {
        if (w->pair && w->pair[k]) {
            double a = w->Tr[k * n + k], b = w->Tr[(k + 1) * n + k];
            double c = w->Tr[k * n + k + 1], d = w->Tr[(k + 1) * n + k + 1];
            double complex det = (a - z) * (d - z) - b * c;
            if (det == 0)
                return 0;
            double complex id = 1.0 / det; /* one complex division (the careful, scaled one) per pair */
            double complex p = (d - z) * id, q = -b * id, r = -c * id, s = (a - z) * id;
            w->Dr[k * ld + j] = creal(p); w->Di[k * ld + j] = cimag(p);
            w->Er[k * ld + j] = creal(q); w->Ei[k * ld + j] = cimag(q);
            w->Er[(k + 1) * ld + j] = creal(r); w->Ei[(k + 1) * ld + j] = cimag(r);
            w->Dr[(k + 1) * ld + j] = creal(s); w->Di[(k + 1) * ld + j] = cimag(s);
            k++;
            continue;
        }
        double complex t = w->Ti ? CMPLX(w->Tr[k * n + k], w->Ti[k * n + k]) : w->Tr[k * n + k];
        if (t == z)
            return 0;
        double complex dk = 1.0 / (t - z);
        w->Dr[k * ld + j] = creal(dk);
        w->Di[k * ld + j] = cimag(dk);
    }
    return 1;
}

/* Xᵀ[:, I] −= Xᵀ[:, K] · op(S) with S = T[rows, cols] at S (leading dimension
 * n), |I| = ni, |K| = nk; trans: op transposes.  Complex T: four real DGEMMs on
 * m rows, conj_s uses conj(S).  Real T: one DGEMM on 2m rows (the real
 * parts, then the imaginary parts of the m active shifts). */
static void ms_update(const ssm_pspec_ms *w, size_t m, size_t i0, size_t ni, size_t k0, size_t nk, size_t soff,
                      int trans, int conj_s)
{
    CBLAS_TRANSPOSE t = trans ? CblasTrans : CblasNoTrans;
    int ld = (int)w->ldx, ldt = (int)w->n;
    double *Cr = w->Xr + i0 * w->ldx, *Ci = w->Xi + i0 * w->ldx;
    const double *Ar = w->Xr + k0 * w->ldx, *Ai = w->Xi + k0 * w->ldx, *Sr = w->Tr + soff;
    if (!w->Ti) {
        cblas_dgemm(CblasColMajor, CblasNoTrans, t, (int)(2 * m), (int)ni, (int)nk, -1.0, Ar, ld, Sr, ldt,
                    1.0, Cr, ld);
        return;
    }
    const double *Si = w->Ti + soff;
    double sg = conj_s ? -1.0 : 1.0;
    /* (Ar + iAi)(Sr + i sg Si) = Ar Sr − sg Ai Si + i(Ai Sr + sg Ar Si) */
    cblas_dgemm(CblasColMajor, CblasNoTrans, t, (int)m, (int)ni, (int)nk, -1.0, Ar, ld, Sr, ldt, 1.0, Cr, ld);
    cblas_dgemm(CblasColMajor, CblasNoTrans, t, (int)m, (int)ni, (int)nk, sg, Ai, ld, Si, ldt, 1.0, Cr, ld);
    cblas_dgemm(CblasColMajor, CblasNoTrans, t, (int)m, (int)ni, (int)nk, -1.0, Ai, ld, Sr, ldt, 1.0, Ci, ld);
    cblas_dgemm(CblasColMajor, CblasNoTrans, t, (int)m, (int)ni, (int)nk, -sg, Ar, ld, Si, ldt, 1.0, Ci, ld);
}

/* rows: x ·= (dr + i sg di) */
static void row_scale(double *restrict xr, double *restrict xi, const double *restrict dr,
                      const double *restrict di, double sg, size_t m)
{
    for (size_t j = 0; j < m; j++) {
        double a = xr[j], b = xi[j], c = dr[j], d = sg * di[j];
        xr[j] = a * c - b * d;
        xi[j] = a * d + b * c;
    }
}

/* rows k, k+1 (a 2×2 block): (x1, x2) ← M (x1, x2) per shift with M = [[P, Q],
 * [R, S]] the stored inverse (adj = 0) or M = its conjugate transpose (adj = 1) */
static void row_mix2(const ssm_pspec_ms *w, size_t k, size_t m, int adj)
{
    size_t ld = w->ldd;
    double *x1r = w->Xr + k * w->ldx, *x1i = w->Xi + k * w->ldx;
    double *x2r = x1r + w->ldx, *x2i = x1i + w->ldx;
    const double *Pr = w->Dr + k * ld, *Pi = w->Di + k * ld, *Qr = w->Er + k * ld, *Qi = w->Ei + k * ld;
    const double *Rr = Qr + ld, *Ri = Qi + ld, *Sr = Pr + ld, *Si = Pi + ld;
    double sg = adj ? -1.0 : 1.0;
    if (adj) { /* [[P̄, R̄], [Q̄, S̄]] */
        const double *t = Qr; Qr = Rr; Rr = t;
        t = Qi; Qi = Ri; Ri = t;
    }
    for (size_t j = 0; j < m; j++) {
        double ar = x1r[j], ai = x1i[j], br = x2r[j], bi = x2i[j];
        double pr = Pr[j], pi = sg * Pi[j], qr = Qr[j], qi = sg * Qi[j];
        double rr = Rr[j], ri = sg * Ri[j], sr = Sr[j], si = sg * Si[j];
        x1r[j] = pr * ar - pi * ai + qr * br - qi * bi;
        x1i[j] = pr * ai + pi * ar + qr * bi + qi * br;
        x2r[j] = rr * ar - ri * ai + sr * br - si * bi;
        x2i[j] = rr * ai + ri * ar + sr * bi + si * br;
    }
}

/* y ← y − Σ_c t[c·ts]·x_c over the rows x_c = X + c·ldx, c in [c0, c1), len
 * entries: the gather form of the in-block substitutions (a real T), each
 * chunk of y held in registers over the whole sum (the scatter form loads
 * and stores y once per term).  GCC vector extensions, cloned for AVX2: the
 * clones only process more entries at once, elementwise and in the same
 * order, without FMA contraction (ISO C), so every CPU gets the same bits. */
typedef double v4d __attribute__((vector_size(32)));
#define LOAD4(v, p) memcpy(&(v), (p), sizeof(v4d))
#define STORE4(p, v) memcpy((p), &(v), sizeof(v4d))

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
static void row_gather(double *restrict y, const double *restrict X, size_t ldx, const double *t, size_t ts,
                       size_t c0, size_t c1, size_t len)
{
    size_t j = 0;
    for (; j + 16 <= len; j += 16) {
        v4d a0, a1, a2, a3;
        LOAD4(a0, y + j); LOAD4(a1, y + j + 4); LOAD4(a2, y + j + 8); LOAD4(a3, y + j + 12);
        for (size_t c = c0; c < c1; c++) {
            const double *x = X + c * ldx + j;
            double tc = t[c * ts];
            v4d tv = {tc, tc, tc, tc}, x0, x1, x2, x3;
            LOAD4(x0, x); LOAD4(x1, x + 4); LOAD4(x2, x + 8); LOAD4(x3, x + 12);
            a0 -= tv * x0; a1 -= tv * x1; a2 -= tv * x2; a3 -= tv * x3;
        }
        STORE4(y + j, a0); STORE4(y + j + 4, a1); STORE4(y + j + 8, a2); STORE4(y + j + 12, a3);
    }
    for (; j < len; j++) {
        double acc = y[j];
        for (size_t c = c0; c < c1; c++)
            acc -= t[c * ts] * X[c * ldx + j];
        y[j] = acc;
    }
}

/* the complex form's gather: y −= Σ_c (tr + i·sg·ti)[c·ts]·x_c over m shifts,
 * x_c = (Xr, Xi) + c·ldx (same clones, same bits) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
static void row_gather_c(double *restrict yr, double *restrict yi, const double *restrict Xr,
                         const double *restrict Xi, size_t ldx, const double *tr, const double *ti, size_t ts,
                         double sg, size_t c0, size_t c1, size_t m)
{
    size_t j = 0;
    for (; j + 8 <= m; j += 8) {
        v4d r0, r1, i0, i1;
        LOAD4(r0, yr + j); LOAD4(r1, yr + j + 4); LOAD4(i0, yi + j); LOAD4(i1, yi + j + 4);
        for (size_t c = c0; c < c1; c++) {
            const double *xr = Xr + c * ldx + j, *xi = Xi + c * ldx + j;
            double a = tr[c * ts], b = sg * ti[c * ts];
            v4d av = {a, a, a, a}, bv = {b, b, b, b}, xr0, xr1, xi0, xi1;
            LOAD4(xr0, xr); LOAD4(xr1, xr + 4); LOAD4(xi0, xi); LOAD4(xi1, xi + 4);
            r0 -= av * xr0 - bv * xi0; r1 -= av * xr1 - bv * xi1;
            i0 -= av * xi0 + bv * xr0; i1 -= av * xi1 + bv * xr1;
        }
        STORE4(yr + j, r0); STORE4(yr + j + 4, r1); STORE4(yi + j, i0); STORE4(yi + j + 4, i1);
    }
    for (; j < m; j++) {
        double accr = yr[j], acci = yi[j];
        for (size_t c = c0; c < c1; c++) {
            double a = tr[c * ts], b = sg * ti[c * ts], xr = Xr[c * ldx + j], xi = Xi[c * ldx + j];
            accr -= a * xr - b * xi;
            acci -= a * xi + b * xr;
        }
        yr[j] = accr;
        yi[j] = acci;
    }
}

/* inside the diagonal block [lo, hi): back substitution, from row hi − 1 up */
static void block_back(const ssm_pspec_ms *w, size_t m, size_t lo, size_t hi)
{
    size_t n = w->n, ldx = w->ldx, len = 2 * m;
    for (size_t k = hi; k-- > lo;) {
        if (!w->Ti) { /* rows k0..k (a 1×1 or 2×2 block) from the rows solved below them */
            size_t k0 = k > lo && w->pair[k - 1] ? k - 1 : k;
            for (size_t r = k0; r <= k; r++)
                row_gather(w->Xr + r * ldx, w->Xr, ldx, w->Tr + r, n, k + 1, hi, len);
            if (k0 < k)
                row_mix2(w, k0, m, 0);
            else
                row_scale(w->Xr + k * ldx, w->Xi + k * ldx, w->Dr + k * w->ldd, w->Di + k * w->ldd, 1.0, m);
            k = k0;
            continue;
        }
        double *xr = w->Xr + k * ldx, *xi = w->Xi + k * ldx; /* x_k −= Σ_{c>k} T_kc x_c, then ·D_k */
        row_gather_c(xr, xi, w->Xr, w->Xi, ldx, w->Tr + k, w->Ti + k, n, 1.0, k + 1, hi, m);
        row_scale(xr, xi, w->Dr + k * w->ldd, w->Di + k * w->ldd, 1.0, m);
    }
}

/* inside the diagonal block [lo, hi): forward substitution with (T − zI)*,
 * from row lo down */
static void block_forward(const ssm_pspec_ms *w, size_t m, size_t lo, size_t hi)
{
    size_t n = w->n, ldx = w->ldx, len = 2 * m;
    for (size_t k = lo; k < hi; k++) {
        if (!w->Ti) { /* x_r −= Σ_i T[i, r] x_i for the rows r of this 1×1 or 2×2 block */
            size_t k1 = w->pair[k] ? k + 1 : k;
            for (size_t r = k; r <= k1; r++)
                row_gather(w->Xr + r * ldx, w->Xr, ldx, w->Tr + r * n, 1, lo, k, len);
            if (k1 > k)
                row_mix2(w, k, m, 1);
            else
                row_scale(w->Xr + k * ldx, w->Xi + k * ldx, w->Dr + k * w->ldd, w->Di + k * w->ldd, -1.0, m);
            k = k1;
            continue;
        }
        double *xr = w->Xr + k * ldx, *xi = w->Xi + k * ldx; /* x_k −= Σ_{i<k} conj(T_ik) x_i */
        row_gather_c(xr, xi, w->Xr, w->Xi, ldx, w->Tr + k * n, w->Ti + k * n, 1, -1.0, lo, k, m);
        row_scale(xr, xi, w->Dr + k * w->ldd, w->Di + k * w->ldd, -1.0, m);
    }
}

/* Blocks [b0, b1) of the back substitution, recursively: the lower half,
 * then one product for the whole upper half (X_I −= T[I, K] X_K  ⇔  Xᵀ_I −=
 * Xᵀ_K T[I, K]ᵀ), then the upper half.  The same flops as a left-looking
 * sweep over the row blocks, in fewer and larger products (the half at the
 * top is n/2 × n/2), which pack their operands fewer times. */
static void solve_rec(const ssm_pspec_ms *w, size_t m, size_t b0, size_t b1)
{
    if (b1 - b0 == 1) {
        block_back(w, m, w->bnd[b0], w->bnd[b1]);
        return;
    }
    size_t bm = (b0 + b1) / 2, lo = w->bnd[b0], mid = w->bnd[bm], hi = w->bnd[b1];
    solve_rec(w, m, bm, b1);
    ms_update(w, m, lo, mid - lo, mid, hi - mid, mid * w->n + lo, 1, 0);
    solve_rec(w, m, b0, bm);
}

/* the same for the forward substitution with (T − zI)*: X_I −= T[K, I]* X_K
 * ⇔ Xᵀ_I −= Xᵀ_K conj(T[K, I]) */
static void solve_adj_rec(const ssm_pspec_ms *w, size_t m, size_t b0, size_t b1)
{
    if (b1 - b0 == 1) {
        block_forward(w, m, w->bnd[b0], w->bnd[b1]);
        return;
    }
    size_t bm = (b0 + b1) / 2, lo = w->bnd[b0], mid = w->bnd[bm], hi = w->bnd[b1];
    solve_adj_rec(w, m, b0, bm);
    ms_update(w, m, mid, hi - mid, lo, mid - lo, mid * w->n + lo, 0, 1);
    solve_adj_rec(w, m, bm, b1);
}

/* X_j ← (T − z_j I)⁻¹ X_j for the m active shifts */
void ssm_pspec_ms_solve(const ssm_pspec_ms *w, size_t m)
{
    solve_rec(w, m, 0, w->nblk);
}

/* X_j ← (T − z_j I)⁻* X_j: forward substitution with the lower (quasi-)triangular (T − zI)* */
void ssm_pspec_ms_solve_adj(const ssm_pspec_ms *w, size_t m)
{
    solve_adj_rec(w, m, 0, w->nblk);
}
