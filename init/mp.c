/* init/mp.c — init files from the multiprecision eigendecomposition,
 * and their verification at any precision.  The exact inputs are the HiPPO
 * matrices (hippo/, correctly rounded at prec + 256 bits) and the stored E
 * (exact binary numbers); everything stored is rounded once from the MPC
 * result. */
#include "init/init_impl.h"
#include "core/arb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double mpfr_d(mpfr_srcptr x) { return mpfr_get_d(x, MPFR_RNDN); }

/* eigendecomposition of the real matrix X (MPFR, n×n) at p bits; the modes
 * with Im λ < 0 sorted by increasing Im λ (the double layout): lam (h), V
 * (n×h), Vinv rows (h×n) as MPC at p bits.  h must equal n/2. */
static ssm_status half_eig(ssm_mpcmat_t lam, ssm_mpcmat_t V, ssm_mpcmat_t Vi, const ssm_mpmat_t X, mpfr_prec_t p)
{
    size_t n = X->rows, h = n / 2;
    ssm_mpcmat_t A, L, Vf, Wf;
    memset(L, 0, sizeof L); memset(Vf, 0, sizeof Vf); memset(Wf, 0, sizeof Wf);
    memset(lam, 0, sizeof(ssm_mpcmat_struct)); memset(V, 0, sizeof(ssm_mpcmat_struct));
    memset(Vi, 0, sizeof(ssm_mpcmat_struct));
    ssm_status s = ssm_mpcmat_init(A, n, n, X->prec);
    if (s == SSM_OK) s = ssm_mpcmat_set_mpmat(A, X);
    if (s == SSM_OK) s = ssm_mpcmat_init(L, n, 1, p);
    if (s == SSM_OK) s = ssm_mpcmat_init(Vf, n, n, p);
    if (s == SSM_OK) s = ssm_mpcmat_init(Wf, n, n, p);
    ssm_mpeig_opts o = {.route = SSM_MPEIG_AUTO};
    if (s == SSM_OK) s = ssm_diag_eig_mp(L, Vf, Wf, NULL, A, &o);
    size_t *idx = malloc(n * sizeof *idx), k = 0;
    if (s == SSM_OK && !idx)
        s = SSM_ERROR(SSM_ENOMEM, "out of memory");
    for (size_t i = 0; s == SSM_OK && i < n; i++)
        if (mpfr_sgn(mpc_imagref(SSM_MP(L, i, 0))) < 0)
            idx[k++] = i;
    if (s == SSM_OK && k != h)
        s = SSM_ERROR(SSM_ECHECK, "multiprecision spectrum has %zu modes with Im < 0, expected %zu", k, h);
    if (s == SSM_OK) {
        /* insertion sort by increasing imaginary part */
        for (size_t a = 1; a < h; a++)
            for (size_t b = a; b > 0 && mpfr_cmp(mpc_imagref(SSM_MP(L, idx[b], 0)), mpc_imagref(SSM_MP(L, idx[b - 1], 0))) < 0; b--) {
                size_t t = idx[b];
                idx[b] = idx[b - 1];
                idx[b - 1] = t;
            }
        s = ssm_mpcmat_init(lam, h, 1, p);
        if (s == SSM_OK) s = ssm_mpcmat_init(V, n, h, p);
        if (s == SSM_OK) s = ssm_mpcmat_init(Vi, h, n, p);
        for (size_t j = 0; s == SSM_OK && j < h; j++) {
            mpc_set(SSM_MP(lam, j, 0), SSM_MP(L, idx[j], 0), MPC_RNDNN);
            for (size_t i = 0; i < n; i++) {
                mpc_set(SSM_MP(V, i, j), SSM_MP(Vf, i, idx[j]), MPC_RNDNN);
                mpc_set(SSM_MP(Vi, j, i), SSM_MP(Wf, idx[j], i), MPC_RNDNN);
            }
        }
    }
    free(idx);
    ssm_mpcmat_clear(A); ssm_mpcmat_clear(L); ssm_mpcmat_clear(Vf); ssm_mpcmat_clear(Wf);
    if (s != SSM_OK) {
        ssm_mpcmat_clear(lam); ssm_mpcmat_clear(V); ssm_mpcmat_clear(Vi);
    }
    return s;
}

/* out_j = Σ_i op(M)_ji x_i with op = conjugate transpose (M is n×h) or plain rows (M is h×n) */
static void apply(mpc_t *out, const ssm_mpcmat_t M, int conj_transpose, const ssm_mpmat_t x, size_t xrow, mpfr_prec_t p)
{
    size_t h = conj_transpose ? M->cols : M->rows, n = conj_transpose ? M->rows : M->cols;
    mpc_t t, c;
    mpc_init2(t, p + 64);
    mpc_init2(c, p + 64);
    for (size_t j = 0; j < h; j++) {
        mpc_set_ui(out[j], 0, MPC_RNDNN);
        for (size_t i = 0; i < n; i++) {
            if (conj_transpose)
                mpc_conj(c, SSM_MP(M, i, j), MPC_RNDNN);
            else
                mpc_set(c, SSM_MP(M, j, i), MPC_RNDNN);
            mpc_mul_fr(t, c, SSM_MP(x, xrow, i), MPC_RNDNN);
            mpc_add(out[j], out[j], t, MPC_RNDNN);
        }
    }
    mpc_clear(t);
    mpc_clear(c);
}

/* write complex values into a [.., 2] tensor, j < H the modes, j ≥ H (full storage) their conjugates */
static void put(double *buf, size_t pos, mpc_srcptr z, int conj)
{
    buf[2 * pos] = mpfr_d(mpc_realref(z));
    buf[2 * pos + 1] = conj ? -mpfr_d(mpc_imagref(z)) : mpfr_d(mpc_imagref(z));
}

ssm_status ssm_init_refine_mp(ssm_st *f, ssm_init_method meth, const ssm_init_opts *o)
{
    size_t N = o->N, H = N / 2, M = o->conj_sym ? H : N;
    mpfr_prec_t p = o->prec, ap = p + 256;
    size_t J = meth == SSM_INIT_S5_LEGS || meth == SSM_INIT_PTD ? (o->blocks ? o->blocks : 1) : 1, bs = N / J,
           hb = bs / 2;
    double *lam = calloc(2 * M, sizeof *lam), *B = calloc(2 * M, sizeof *B);
    double *V = calloc(2 * N * M, sizeof *V), *Vi = calloc(2 * M * N, sizeof *Vi), *P = calloc(2 * M, sizeof *P);
    ssm_status s = SSM_OK;
    if (!lam || !B || !V || !Vi || !P) {
        s = SSM_ERROR(SSM_ENOMEM, "out of memory");
        goto out;
    }
    if (meth == SSM_INIT_S4D_LIN || meth == SSM_INIT_S4D_INV || meth == SSM_INIT_S4D_REAL) {
        mpfr_t x, t;
        mpfr_init2(x, p);
        mpfr_init2(t, p + 64);
        for (size_t j = 0; j < M; j++) {
            size_t n = j % H;
            double re = meth == SSM_INIT_S4D_REAL ? -(double)(n + 1) : -0.5, im = 0.0;
            if (meth == SSM_INIT_S4D_LIN) {
                ssm_mpfr_mul_pi(x, (long)n);            /* π n, correctly rounded at p */
                im = mpfr_d(x);
            } else if (meth == SSM_INIT_S4D_INV) {
                mpfr_const_pi(t, MPFR_RNDN);             /* (N/π)(N/(2n+1) − 1) at p + 64 */
                mpfr_ui_div(t, (unsigned long)N, t, MPFR_RNDN);
                mpfr_set_ui(x, (unsigned long)N, MPFR_RNDN);
                mpfr_div_ui(x, x, 2 * n + 1, MPFR_RNDN);
                mpfr_sub_ui(x, x, 1, MPFR_RNDN);
                mpfr_mul(x, x, t, MPFR_RNDN);
                im = mpfr_d(x);
            }
            lam[2 * j] = re;
            lam[2 * j + 1] = j >= H ? im : -im; /* the stored half has Im <= 0 (init.c) */
        }
        mpfr_clear(x);
        mpfr_clear(t);
        s = ssm_st_replace(f, "Lambda", lam);
        goto out;
    }
    /* the exact inputs at ap bits: legs (A, B, P) of the block size, and E for PTD */
    size_t n = bs, h = n / 2;
    ssm_mpmat_t A, Bm, Pm, Bc; /* B as a row: hippo wants n×1, so fill through a column matrix */
    memset(Bm, 0, sizeof Bm); memset(Pm, 0, sizeof Pm); memset(Bc, 0, sizeof Bc);
    s = ssm_mpmat_init(A, n, n, ap);
    if (s == SSM_OK) s = ssm_mpmat_init(Bm, 1, n, ap);
    if (s == SSM_OK) s = ssm_mpmat_init(Pm, 1, n, ap);
    if (s == SSM_OK) s = ssm_mpmat_init(Bc, n, 1, ap);
    if (s == SSM_OK) s = ssm_hippo_mp(A, Bc, Pm, SSM_HIPPO_LEGS, n, NULL);
    for (size_t i = 0; s == SSM_OK && i < n; i++)
        mpfr_set(SSM_MP(Bm, 0, i), SSM_MP(Bc, i, 0), MPFR_RNDN);
    ssm_mpmat_clear(Bc);
    if (s != SSM_OK) {
        ssm_mpmat_clear(A); ssm_mpmat_clear(Bm); ssm_mpmat_clear(Pm);
        goto out;
    }
    if (meth == SSM_INIT_PTD) {
        const ssm_tensor *E = ssm_st_get(f, "E");
        for (size_t i = 0; i < n; i++) /* the first block of E (all blocks are equal) */
            for (size_t k = 0; k < n; k++)
                mpfr_add_d(SSM_MP(A, i, k), SSM_MP(A, i, k), E->data[i * N + k], MPFR_RNDN); /* exact, ap bits */
    } else {
        for (size_t i = 0; i < n; i++) /* the normal part S = A + P Pᵀ */
            for (size_t k = 0; k < n; k++)
                mpfr_fma(SSM_MP(A, i, k), SSM_MP(Pm, 0, i), SSM_MP(Pm, 0, k), SSM_MP(A, i, k), MPFR_RNDN);
    }
    ssm_mpcmat_t L, Vh, Wh;
    s = half_eig(L, Vh, Wh, A, p);
    if (s == SSM_OK) {
        mpc_t *bt = malloc(h * sizeof *bt), *pt = malloc(h * sizeof *pt);
        if (!bt || !pt) {
            free(bt);
            free(pt);
            ssm_mpcmat_clear(L); ssm_mpcmat_clear(Vh); ssm_mpcmat_clear(Wh);
            ssm_mpmat_clear(A); ssm_mpmat_clear(Bm); ssm_mpmat_clear(Pm);
            s = SSM_ERROR(SSM_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t j = 0; j < h; j++) {
            mpc_init2(bt[j], p);
            mpc_init2(pt[j], p);
        }
        /* B̃ = V⁻¹ B (PTD) or V* B (unitary V); P̃ = V* P (DPLR) */
        apply(bt, meth == SSM_INIT_PTD ? Wh : Vh, meth != SSM_INIT_PTD, Bm, 0, p);
        apply(pt, Vh, 1, Pm, 0, p);
        for (size_t b = 0; b < J; b++)
            for (size_t j = 0; j < h; j++)
                for (int c = 0; c < (o->conj_sym ? 1 : 2); c++) {
                    size_t col = b * hb + j + (size_t)c * H; /* mode index in the file */
                    put(lam, col, SSM_MP(L, j, 0), c);
                    put(B, col, bt[j], c);
                    put(P, col, pt[j], c);
                    for (size_t i = 0; i < n; i++) {
                        put(V, (b * bs + i) * M + col, SSM_MP(Vh, i, j), c);
                        if (meth == SSM_INIT_PTD)
                            put(Vi, col * N + b * bs + i, SSM_MP(Wh, j, i), c);
                    }
                }
        for (size_t j = 0; j < h; j++) {
            mpc_clear(bt[j]);
            mpc_clear(pt[j]);
        }
        free(bt);
        free(pt);
        /* the multiprecision modes must be the double ones, improved: same order and
         * phase, eigenvalues within 1e-6 relative */
        const ssm_tensor *old = ssm_st_get(f, "Lambda");
        for (size_t j = 0; j < M && s == SSM_OK; j++) {
            double d = hypot(old->data[2 * j] - lam[2 * j], old->data[2 * j + 1] - lam[2 * j + 1]);
            if (d > 1e-6 * hypot(lam[2 * j], lam[2 * j + 1]) + 1e-12)
                s = SSM_ERROR(SSM_ECHECK, "multiprecision mode %zu (%g%+gi) does not match the double one (%g%+gi)", j,
                              lam[2 * j], lam[2 * j + 1], old->data[2 * j], old->data[2 * j + 1]);
        }
        if (s == SSM_OK) s = ssm_st_replace(f, "Lambda", lam);
        if (s == SSM_OK) s = ssm_st_replace(f, "B", B);
        if (s == SSM_OK) s = ssm_st_replace(f, "V", V);
        if (s == SSM_OK && ssm_st_get(f, "Vinv")) s = ssm_st_replace(f, "Vinv", Vi);
        if (s == SSM_OK && ssm_st_get(f, "P")) s = ssm_st_replace(f, "P", P);
        ssm_mpcmat_clear(L); ssm_mpcmat_clear(Vh); ssm_mpcmat_clear(Wh);
    }
    ssm_mpmat_clear(A); ssm_mpmat_clear(Bm); ssm_mpmat_clear(Pm);
out:
    free(lam); free(B); free(V); free(Vi); free(P);
    return s;
}

/* ‖X‖₂·‖Y‖₂ (divide = 0) or ‖X‖₂/‖Y‖₂ (divide = 1) of the midpoints */
static ssm_status norm2_acb(double *v, const acb_mat_t X, int divide, const acb_mat_t Y)
{
    double lx, ly;
    ssm_status s = ssm_acb_mat_log2_norm2(&lx, X);
    if (s == SSM_OK)
        s = ssm_acb_mat_log2_norm2(&ly, Y);
    if (s == SSM_OK)
        *v = divide ? exp2(lx) / exp2(ly) : exp2(lx) * exp2(ly);
    return s;
}

/* a tensor of a loaded (validated) file */
static const ssm_tensor *tensor(const ssm_init_file *f, const char *name)
{
    return ssm_st_get(f->st, name);
}

/* ---- tf_sup_error in MPC -------------------------------------------------- */

/* One irreducible block of the target in pole–residue form, c (sI − A)⁻¹ b =
 * Σ_j r_j/(s − λ_j) for the N×N A (row-major doubles, exact): A = V Λ V⁻¹ by
 * ssm_diag_eig_mp (a LegS block takes its triangular route), r_j = (c v_j)(w_j b).
 * The residues carry the eigenvector error twice (v_j and the row w_j of V⁻¹,
 * |w_j| ≤ κ), so the decomposition runs at w + 64 + 2 log₂ κ(V) bits (κ from a
 * first run at w + 64); *pe receives that precision.  ELOSS when the
 * eigendecomposition cannot be vouched for (e.g. a repeated eigenvalue). */
static ssm_status block_poles(acb_ptr pole, acb_ptr res, slong *pe, const double *Ad, const double *bd,
                              const double *cd, slong N, slong w)
{
    ssm_mpcmat_t A, L, V, W;
    ssm_status s = ssm_mpcmat_init(A, (size_t)N, (size_t)N, 53); /* the stored doubles, exactly */
    if (s != SSM_OK)
        return s;
    for (slong i = 0; i < N; i++)
        for (slong k = 0; k < N; k++)
            mpc_set_d(SSM_MP(A, i, k), Ad[i * N + k], MPC_RNDNN);
    ssm_mpeig_info info;
    double lk = 0.0;
    for (int pass = 0; pass < 2 && s == SSM_OK; pass++) {
        *pe = w + 64 + 2 * (slong)ceil(lk > 0.0 ? lk : 0.0);
        memset(L, 0, sizeof L);
        memset(V, 0, sizeof V);
        memset(W, 0, sizeof W);
        if ((s = ssm_mpcmat_init(L, (size_t)N, 1, (mpfr_prec_t)*pe)) == SSM_OK &&
            (s = ssm_mpcmat_init(V, (size_t)N, (size_t)N, (mpfr_prec_t)*pe)) == SSM_OK &&
            (s = ssm_mpcmat_init(W, (size_t)N, (size_t)N, (mpfr_prec_t)*pe)) == SSM_OK)
            s = ssm_diag_eig_mp(L, V, W, &info, A, NULL);
        if (s == SSM_OK && pass == 0 && info.kappa_V_log10 * log2(10.0) > 1.0) {
            lk = info.kappa_V_log10 * log2(10.0);
            ssm_mpcmat_clear(L); ssm_mpcmat_clear(V); ssm_mpcmat_clear(W);
            continue;
        }
        if (s == SSM_OK) {
            acb_t cv, wb, z;
            arb_t x;
            acb_init(cv); acb_init(wb); acb_init(z);
            arb_init(x);
            for (slong j = 0; j < N; j++) {
                arf_set_mpfr(arb_midref(acb_realref(pole + j)), mpc_realref(SSM_MP(L, j, 0)));
                arf_set_mpfr(arb_midref(acb_imagref(pole + j)), mpc_imagref(SSM_MP(L, j, 0)));
                acb_zero(cv);
                acb_zero(wb);
                for (slong i = 0; i < N; i++) {
                    arf_set_mpfr(arb_midref(acb_realref(z)), mpc_realref(SSM_MP(V, i, j)));
                    arf_set_mpfr(arb_midref(acb_imagref(z)), mpc_imagref(SSM_MP(V, i, j)));
                    arb_set_d(x, cd[i]);
                    acb_addmul_arb(cv, z, x, *pe);
                    arf_set_mpfr(arb_midref(acb_realref(z)), mpc_realref(SSM_MP(W, j, i)));
                    arf_set_mpfr(arb_midref(acb_imagref(z)), mpc_imagref(SSM_MP(W, j, i)));
                    arb_set_d(x, bd[i]);
                    acb_addmul_arb(wb, z, x, *pe);
                }
                acb_mul(res + j, cv, wb, *pe);
                acb_get_mid(res + j, res + j);
            }
            acb_clear(cv); acb_clear(wb); acb_clear(z);
            arb_clear(x);
        }
        ssm_mpcmat_clear(L); ssm_mpcmat_clear(V); ssm_mpcmat_clear(W);
        break;
    }
    ssm_mpcmat_clear(A);
    return s;
}

static slong uf_find(slong *parent, slong i)
{
    while (parent[i] != i)
        i = parent[i] = parent[parent[i]];
    return i;
}

/* The target G_t(s) = C_t (sI − A_t)⁻¹ B_t in pole–residue form (N poles and
 * residues): A_t splits along the connected components of its nonzero pattern
 * (S5's block-diagonal target: one LegS per block, whose eigenvalues repeat
 * across blocks but not within one), each decomposed by block_poles; *pe is
 * the largest precision used. */
static ssm_status target_poles(acb_ptr pole, acb_ptr res, slong *pe, const ssm_tensor *At, const ssm_tensor *B0,
                               const ssm_tensor *C0, slong N, slong w)
{
    slong *parent = malloc((size_t)N * sizeof *parent), *idx = malloc((size_t)N * sizeof *idx);
    double *Ab = malloc((size_t)(N * N) * sizeof *Ab), *bb = malloc((size_t)N * sizeof *bb);
    double *cb = malloc((size_t)N * sizeof *cb);
    ssm_status s = parent && idx && Ab && bb && cb ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "out of memory");
    for (slong i = 0; s == SSM_OK && i < N; i++)
        parent[i] = i;
    for (slong i = 0; s == SSM_OK && i < N; i++)
        for (slong k = 0; k < N; k++)
            if (At->data[i * N + k] != 0.0)
                parent[uf_find(parent, i)] = uf_find(parent, k);
    slong done = 0;
    *pe = w;
    for (slong root = 0; s == SSM_OK && root < N; root++) {
        if (uf_find(parent, root) != root)
            continue;
        slong m = 0;
        for (slong i = 0; i < N; i++)
            if (uf_find(parent, i) == root)
                idx[m++] = i;
        for (slong i = 0; i < m; i++) {
            bb[i] = B0->data[idx[i]];
            cb[i] = C0->data[idx[i]];
            for (slong k = 0; k < m; k++)
                Ab[i * m + k] = At->data[idx[i] * N + idx[k]];
        }
        slong pb = w;
        s = block_poles(pole + done, res + done, &pb, Ab, bb, cb, m, w);
        *pe = pb > *pe ? pb : *pe;
        done += m;
    }
    free(parent); free(idx); free(Ab); free(bb); free(cb);
    return s;
}

/* sup over the stated grid of |G_init(iω) − G_target(iω)|, as analysis/init.c
 * defines it (ssm_init_tf_frequencies: tf_grid, default log:1e-3:1e4:2000,
 * "+poles" adding the modes' |Im λ|; exact binary numbers), in MPC from the stored
 * tensors:
 *   G_target = C_t (sI − A_t)⁻¹ B_t = Σ_j r_j/(s − λ_j)   (target_poles);
 *   G_init   = Σ_j c̃_j b̃_j/(s − λ_j) − u X⁻¹ v   over the conjugate-closed
 *              modes, c̃ = C_t V, the Woodbury term only with a stored P
 *              (the transfer function of diag Λ − P P*): R_j = 1/(s − λ_j),
 *              u_i = Σ c̃_j R_j p_ij, v_i = Σ p̄_ij R_j b̃_j, X = I + Σ p̄_ij R_j p_qj.
 * O(N³) once, then O(N r²) per frequency. */
static ssm_status tf_sup_error_mp(double *sup, const ssm_init_file *f, const acb_mat_t Vf, acb_srcptr lam, slong w)
{
    const ssm_tensor *At = tensor(f, "A_target"), *B0 = tensor(f, "B_target"), *C0 = tensor(f, "C_target");
    const ssm_tensor *Bt = tensor(f, "B"), *Pt = tensor(f, "P"), *Vt = tensor(f, "V");
    *sup = NAN;
    if (!At || !B0 || !C0 || !Bt)
        return SSM_OK;
    slong N = acb_mat_nrows(Vf), M = (slong)Vt->shape[1], r = Pt ? (slong)Pt->shape[0] : 0, pe;
    double *om = NULL;
    size_t count = 0;
    ssm_status st = ssm_init_tf_frequencies(&om, &count, f);
    if (st != SSM_OK)
        return st;
    double complex *sg = malloc(count * sizeof *sg);
    if (!sg) {
        free(om);
        return SSM_ERROR(SSM_ENOMEM, "out of memory for %zu frequencies", count);
    }
    for (size_t k = 0; k < count; k++)
        sg[k] = CMPLX(0.0, om[k]);
    free(om);
    acb_ptr pole = _acb_vec_init(N), res = _acb_vec_init(N);
    if (st == SSM_OK)
        st = target_poles(pole, res, &pe, At, B0, C0, N, w);
    if (st != SSM_OK) {
        free(sg);
        _acb_vec_clear(pole, N);
        _acb_vec_clear(res, N);
        return st;
    }
    acb_ptr bt = _acb_vec_init(N), ct = _acb_vec_init(N), R = _acb_vec_init(N);
    acb_mat_t P, X, u, v, z;
    acb_mat_init(P, r ? r : 1, N);
    acb_mat_init(X, r ? r : 1, r ? r : 1);
    acb_mat_init(u, 1, r ? r : 1);
    acb_mat_init(v, r ? r : 1, 1);
    acb_mat_init(z, r ? r : 1, 1);
    arb_t x;
    arb_init(x);
    /* the init's modes, conjugate-closed: b̃_j, c̃_j = Σ_i C_t,i V_ij, p_ij (j ≥ M: conjugates) */
    for (slong j = 0; j < N; j++) {
        slong h = j % M;
        int cj = j >= M;
        acb_set_d_d(bt + j, Bt->data[2 * h], cj ? -Bt->data[2 * h + 1] : Bt->data[2 * h + 1]);
        acb_zero(ct + j);
        for (slong i = 0; i < N; i++) {
            arb_set_d(x, C0->data[i]);
            acb_addmul_arb(ct + j, acb_mat_entry(Vf, i, j), x, w);
        }
        acb_mul(ct + j, ct + j, bt + j, w); /* from here on c̃_j b̃_j … */
        for (slong q = 0; q < r; q++)
            acb_set_d_d(acb_mat_entry(P, q, j), Pt->data[2 * (q * M + h)],
                        cj ? -Pt->data[2 * (q * M + h) + 1] : Pt->data[2 * (q * M + h) + 1]);
    }
    acb_ptr cc = _acb_vec_init(N); /* … and c̃_j alone for the Woodbury term */
    for (slong j = 0; r && j < N; j++)
        acb_div(cc + j, ct + j, bt + j, w);
    acb_t s, gt, gi, t;
    acb_init(s); acb_init(gt); acb_init(gi); acb_init(t);
    *sup = 0.0;
    for (size_t k = 0; k < count && st == SSM_OK; k++) {
        acb_set_d_d(s, 0.0, cimag(sg[k]));
        acb_zero(gt);
        acb_zero(gi);
        for (slong j = 0; j < N; j++) {
            acb_sub(t, s, pole + j, pe);
            acb_div(t, res + j, t, pe);
            acb_add(gt, gt, t, pe);
            acb_sub(t, s, lam + j, w);
            acb_inv(R + j, t, w);
            acb_addmul(gi, ct + j, R + j, w);
        }
        if (r) {
            acb_mat_one(X);
            for (slong i = 0; i < r; i++) {
                acb_zero(acb_mat_entry(u, 0, i));
                acb_zero(acb_mat_entry(v, i, 0));
                for (slong j = 0; j < N; j++) {
                    acb_mul(t, cc + j, R + j, w);
                    acb_addmul(acb_mat_entry(u, 0, i), t, acb_mat_entry(P, i, j), w);
                    acb_conj(t, acb_mat_entry(P, i, j));
                    acb_mul(t, t, R + j, w);
                    acb_addmul(acb_mat_entry(v, i, 0), t, bt + j, w);
                    for (slong q = 0; q < r; q++)
                        acb_addmul(acb_mat_entry(X, i, q), t, acb_mat_entry(P, q, j), w);
                }
            }
            if (!acb_mat_approx_solve(z, X, v, w)) {
                st = SSM_ERROR(SSM_ELOSS, "verify: I + P*RP is singular at s = %gi (%ld bits)", cimag(sg[k]), (long)w);
                break;
            }
            for (slong i = 0; i < r; i++)
                acb_submul(gi, acb_mat_entry(u, 0, i), acb_mat_entry(z, i, 0), w);
        }
        acb_sub(t, gi, gt, w);
        acb_abs(x, t, w);
        double d = arf_get_d(arb_midref(x), ARF_RND_NEAR);
        *sup = d > *sup ? d : *sup;
    }
    acb_clear(s); acb_clear(gt); acb_clear(gi); acb_clear(t);
    arb_clear(x);
    _acb_vec_clear(pole, N); _acb_vec_clear(res, N);
    _acb_vec_clear(bt, N); _acb_vec_clear(ct, N); _acb_vec_clear(cc, N); _acb_vec_clear(R, N);
    acb_mat_clear(P); acb_mat_clear(X); acb_mat_clear(u); acb_mat_clear(v); acb_mat_clear(z);
    free(sg);
    if (st != SSM_OK)
        *sup = NAN;
    return st;
}

static void add_mp_item(ssm_verify_mp_item *items, int capacity, int *count, const char *key, const ssm_init_file *f,
                        double mp)
{
    if (*count >= capacity)
        return;
    ssm_verify_mp_item *it = &items[(*count)++];
    snprintf(it->key, sizeof it->key, "%s", key);
    const char *v = ssm_st_meta(f->st, key);
    it->stored = v ? strtod(v, NULL) : NAN;
    it->mp = mp;
    double rel = fabs(it->stored - mp) / fabs(mp);
    it->digits = rel == 0.0 ? 17.0 : -log10(rel);
    if (!(it->digits >= 0.0))
        it->digits = 0.0; /* NaN or wrong in the first digit */
    if (it->digits > 17.0)
        it->digits = 17.0;
}

/* X = the file's reconstruction of A_t + E: V_f (diag Λ_f − P̃_f P̃_f*) V_f* with a rank-r P (Pt), else
 * V_f Λ_f W_f; T is scratch (N×N); M stored modes (conj_sym: M = N/2, mode j >= M is the conjugate of
 * j − M) */
static void reconstruct(acb_mat_t X, acb_mat_t T, const acb_mat_t Vf, const acb_mat_t Wf, acb_srcptr lam,
                        const ssm_tensor *Pt, size_t M, slong w)
{
    size_t N = (size_t)acb_mat_nrows(Vf);
    if (Pt) {
        /* V_f (diag Λ_f − P̃_f P̃_f*) V_f*, P̃ conjugated for the implied modes */
        size_t r = Pt->shape[0];
        acb_t a, b;
        acb_init(a);
        acb_init(b);
        for (size_t i = 0; i < N; i++)
            for (size_t k = 0; k < N; k++) {
                acb_ptr x = acb_mat_entry(X, (slong)i, (slong)k);
                acb_zero(x);
                if (i == k)
                    acb_set(x, lam + i);
                for (size_t q = 0; q < r; q++) {
                    size_t hi = i % M, hk = k % M;
                    acb_set_d_d(a, Pt->data[2 * (q * M + hi)], (i >= M ? -1 : 1) * Pt->data[2 * (q * M + hi) + 1]);
                    acb_set_d_d(b, Pt->data[2 * (q * M + hk)], (k >= M ? 1 : -1) * Pt->data[2 * (q * M + hk) + 1]);
                    acb_submul(x, a, b, w); /* − p_i conj(p_k) */
                }
            }
        acb_clear(a);
        acb_clear(b);
        acb_mat_approx_mul(T, Vf, X, w);
        acb_mat_conjugate_transpose(X, Vf);
        acb_mat_approx_mul(X, T, X, w);
    } else {
        for (size_t i = 0; i < N; i++)
            for (size_t k = 0; k < N; k++)
                acb_mul(acb_mat_entry(T, (slong)i, (slong)k), acb_mat_entry(Vf, (slong)i, (slong)k), lam + k, w);
        acb_mat_approx_mul(X, T, Wf, w);
    }
}

ssm_status ssm_init_verify_mp(ssm_verify_mp_item *items, int capacity, int *count, const ssm_init_file *f,
                              mpfr_prec_t prec)
{
    *count = 0;
    ssm_status s = SSM_OK;
    const ssm_tensor *Vt = tensor(f, "V"), *Lt = tensor(f, "Lambda"), *At = tensor(f, "A_target");
    if (!Vt || !At)
        return SSM_OK; /* nothing with a target and eigenvectors to recompute */
    size_t N = Vt->shape[0], M = Vt->shape[1];
    /* conj_sym: M = N/2 stored modes, mode j >= M is the conjugate of j − M (M = N otherwise) */
    slong w = (slong)prec;
    acb_mat_t Vf, Wf, Winv, R, T, X;
    acb_mat_init(Vf, (slong)N, (slong)N);
    acb_mat_init(Wf, (slong)N, (slong)N);
    acb_mat_init(Winv, (slong)N, (slong)N);
    acb_mat_init(R, (slong)N, (slong)N);
    acb_mat_init(T, (slong)N, (slong)N);
    acb_mat_init(X, (slong)N, (slong)N);
    acb_ptr lam = _acb_vec_init((slong)N);
    for (size_t j = 0; j < N; j++) {
        size_t h = j % M;
        int c = j >= M;
        acb_set_d_d(lam + j, Lt->data[2 * h], c ? -Lt->data[2 * h + 1] : Lt->data[2 * h + 1]);
        for (size_t i = 0; i < N; i++) {
            double re = Vt->data[2 * (i * M + h)], im = Vt->data[2 * (i * M + h) + 1];
            acb_set_d_d(acb_mat_entry(Vf, (slong)i, (slong)j), re, c ? -im : im);
        }
    }
    if (!acb_mat_approx_inv(Winv, Vf, w)) {
        s = SSM_ERROR(SSM_ELOSS, "verify: the eigenvector matrix is singular at %ld bits", (long)w);
        goto out;
    }
    /* κ₂(V) with V⁻¹ in multiprecision */
    double v;
    if ((s = norm2_acb(&v, Vf, 0, Winv)) != SSM_OK)
        goto out;
    add_mp_item(items, capacity, count, "kappa_V", f, v);
    const ssm_tensor *Vit = tensor(f, "Vinv"), *Et = tensor(f, "E"), *Pt = tensor(f, "P");
    /* W: the stored inverse where there is one (as the double check), else V⁻¹ */
    if (Vit) {
        for (size_t j = 0; j < N; j++) {
            size_t h = j % M;
            int c = j >= M;
            for (size_t i = 0; i < N; i++) {
                double re = Vit->data[2 * (h * N + i)], im = Vit->data[2 * (h * N + i) + 1];
                acb_set_d_d(acb_mat_entry(Wf, (slong)j, (slong)i), re, c ? -im : im);
            }
        }
    } else {
        acb_mat_set(Wf, Winv);
    }
    /* the backward error, by the file's own definition */
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < N; k++) {
            acb_set_d(acb_mat_entry(R, (slong)i, (slong)k), At->data[i * N + k]);
            if (Et) {
                acb_t e;
                acb_init(e);
                acb_set_d(e, Et->data[i * N + k]);
                acb_add(acb_mat_entry(R, (slong)i, (slong)k), acb_mat_entry(R, (slong)i, (slong)k), e, w);
                acb_clear(e);
            }
        }
    reconstruct(X, T, Vf, Wf, lam, Pt, M, w);
    acb_mat_sub(R, R, X, w);
    acb_mat_t Am;
    acb_mat_init(Am, (slong)N, (slong)N);
    for (size_t i = 0; i < N * N; i++)
        acb_set_d(acb_mat_entry(Am, (slong)(i / N), (slong)(i % N)), At->data[i]);
    s = norm2_acb(&v, R, 1, Am);
    acb_mat_clear(Am);
    if (s != SSM_OK)
        goto out;
    add_mp_item(items, capacity, count, "backward_error", f, v);
    /* B̃ against V⁻¹ B_target (first M rows) */
    const ssm_tensor *Bt = tensor(f, "B"), *B0 = tensor(f, "B_target");
    if (Bt && B0) {
        acb_mat_t b0, wb, d;
        acb_mat_init(b0, (slong)N, 1);
        acb_mat_init(wb, (slong)N, 1);
        acb_mat_init(d, (slong)M, 1);
        for (size_t i = 0; i < N; i++)
            acb_set_d(acb_mat_entry(b0, (slong)i, 0), B0->data[i]);
        acb_mat_approx_mul(wb, Wf, b0, w);
        acb_mat_t top;
        acb_mat_window_init(top, wb, 0, 0, (slong)M, 1);
        for (size_t j = 0; j < M; j++) {
            acb_set_d_d(acb_mat_entry(d, (slong)j, 0), Bt->data[2 * j], Bt->data[2 * j + 1]);
            acb_sub(acb_mat_entry(d, (slong)j, 0), acb_mat_entry(d, (slong)j, 0), acb_mat_entry(top, (slong)j, 0), w);
        }
        s = norm2_acb(&v, d, 1, top);
        if (s == SSM_OK)
            add_mp_item(items, capacity, count, "b_residual", f, v);
        acb_mat_window_clear(top);
        acb_mat_clear(b0); acb_mat_clear(wb); acb_mat_clear(d);
    }
    /* the transfer-function error over the stated grid */
    if (s == SSM_OK && ssm_st_meta(f->st, "tf_sup_error")) {
        double sup;
        s = tf_sup_error_mp(&sup, f, Vf, lam, w);
        if (s == SSM_OK && !isnan(sup))
            add_mp_item(items, capacity, count, "tf_sup_error", f, sup);
    }
out:
    _acb_vec_clear(lam, (slong)N);
    acb_mat_clear(Vf); acb_mat_clear(Wf); acb_mat_clear(Winv); acb_mat_clear(R); acb_mat_clear(T); acb_mat_clear(X);
    return s;
}
