/* init/build.c — ssmkit-init/1 files from a method: the decomposition, the
 * tensors, the metadata (doc/design.md).
 *
 * The metric fields are computed by the verify code path (init/verify.c) from
 * the tensors as stored (F64), after loading them as any reader would
 * (init/file.c), so a file is checked exactly as a user's loader sees it. */
#define _POSIX_C_SOURCE 200809L
#include "init/init_impl.h"

#include <float.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const METHOD_NAMES[SSM_INIT_COUNT] = {"s4-dplr", "s4d-legs", "s4d-lin", "s4d-inv",
                                                         "s4d-real", "s5-legs", "ptd"};

const char *ssm_init_method_name(ssm_init_method m)
{
    return (unsigned)m < SSM_INIT_COUNT ? METHOD_NAMES[m] : NULL;
}

ssm_status ssm_init_method_lookup(ssm_init_method *m, const char *name)
{
    for (int i = 0; i < SSM_INIT_COUNT; i++)
        if (strcmp(name, METHOD_NAMES[i]) == 0) {
            *m = (ssm_init_method)i;
            return SSM_OK;
        }
    const char *near = ssm_closest_name(name, METHOD_NAMES, SSM_INIT_COUNT, 2);
    if (near)
        return SSM_ERROR(SSM_EINVAL, "unknown method '%s'; did you mean '%s'?", name, near);
    return SSM_ERROR(SSM_EINVAL, "unknown method '%s' (one of: s4-dplr s4d-legs s4d-lin s4d-inv s4d-real s5-legs ptd)",
                     name);
}

ssm_init_opts ssm_init_opts_default(void)
{
    return (ssm_init_opts){.N = 64, .eps = 0.05, .conj_sym = 1, .blocks = 1, .C = SSM_C_ONES, .prec = 53};
}

ssm_status ssm_init_C(ssm_dmat_t C, ssm_c_kind kind, unsigned long seed)
{
    size_t N = C->rows;
    if (kind == SSM_C_RANDOM) {
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        if (!r)
            return SSM_ERROR(SSM_ENOMEM, "out of memory");
        gsl_rng_set(r, seed);
        for (size_t i = 0; i < N; i++)
            SSM_D(C, i, 0) = gsl_ran_gaussian(r, 1.0) / sqrt((double)N);
        gsl_rng_free(r);
    } else {
        for (size_t i = 0; i < N; i++)
            SSM_D(C, i, 0) = kind == SSM_C_ONES ? 1.0 : sqrt(2.0 * (double)i + 1.0);
    }
    return SSM_OK;
}

/* ---- build -------------------------------------------------------------- */

static ssm_status add_z(ssm_st *f, const char *name, const ssm_zmat_t Z, int vec)
{
    return ssm_st_add_zmat(f, name, Z, vec);
}

/* legs (A, B, P) at size n */
static ssm_status legs(ssm_dmat_t A, ssm_dmat_t B, ssm_dmat_t P, size_t n)
{
    memset(B, 0, sizeof(ssm_dmat_struct));
    memset(P, 0, sizeof(ssm_dmat_struct));
    ssm_status s = ssm_dmat_init(A, n, n);
    if (s == SSM_OK) s = ssm_dmat_init(B, n, 1);
    if (s == SSM_OK) s = ssm_dmat_init(P, 1, n);
    if (s == SSM_OK) s = ssm_hippo(A, B, P, SSM_HIPPO_LEGS, n);
    if (s != SSM_OK) { /* nothing half-built is left to the caller */
        ssm_dmat_clear(A); ssm_dmat_clear(B); ssm_dmat_clear(P);
    }
    return s;
}

static ssm_status build(ssm_st **out, ssm_init_method meth, const ssm_init_opts *o);

/* PTD files are built on the fixed kernel from start to end (optimiser, the
 * stored decomposition, every metric): the same bytes under every OpenBLAS
 * kernel and thread count.  The other methods are one decomposition each,
 * deterministic up to the last bits of their LAPACK calls. */
ssm_status ssm_init_build(ssm_st **out, ssm_init_method meth, const ssm_init_opts *o)
{
    int was = ssm_fixed_kernel(meth == SSM_INIT_PTD || ssm_fixed_kernel_active());
    ssm_status s = build(out, meth, o);
    ssm_fixed_kernel(was);
    return s;
}

/* What a method produces before it is stored: the kept half of the modes (Im λ <= 0), B̃, the
 * eigenvectors (and their inverse for PTD), P̃ for DPLR, the target (A, B, C) and the perturbation E
 * the diagonal form makes.  All zeroed at start, so parts_clear is safe at any point. */
typedef struct {
    size_t N, H, J;                 /* states, kept modes N/2, blocks                       */
    double complex *lam;            /* H                                                     */
    ssm_zmat_t V, Vinv, Bt, Pt;     /* N×H, H×N (PTD), H×1, r×H (DPLR)                       */
    ssm_dmat_t A, B, P, E, C;       /* the target and the perturbation                       */
    ssm_ptd_info pinfo;             /* PTD: the optimiser's report                           */
    double eps, tf_weight;          /* PTD: the budget and the starting transfer weight      */
} parts;

static void parts_clear(parts *q)
{
    free(q->lam);
    ssm_zmat_clear(q->V); ssm_zmat_clear(q->Vinv); ssm_zmat_clear(q->Bt); ssm_zmat_clear(q->Pt);
    ssm_dmat_clear(q->A); ssm_dmat_clear(q->B); ssm_dmat_clear(q->P); ssm_dmat_clear(q->E); ssm_dmat_clear(q->C);
}

/* S4-DPLR and S4D-LegS: the NPLR of LegS; S4D-LegS drops the low-rank term, kept as E = PᵀP */
static ssm_status build_nplr(parts *q, ssm_init_method meth, const ssm_nplr_opts *nopts)
{
    size_t N = q->N, H = q->H;
    ssm_status s = legs(q->A, q->B, q->P, N);
    if (s == SSM_OK) s = ssm_zmat_init(q->V, N, H);
    if (s == SSM_OK) s = ssm_zmat_init(q->Pt, 1, H);
    if (s == SSM_OK) s = ssm_diag_nplr(q->lam, q->V, q->Bt, q->Pt, NULL, q->A, q->B, q->P, nopts);
    if (s == SSM_OK && meth == SSM_INIT_S4D_LEGS) {
        s = ssm_dmat_init(q->E, N, N);
        if (s == SSM_OK) s = ssm_dmat_gemm(q->E, 1.0, q->P, 1, q->P, 0, 0.0); /* the dropped low-rank term */
        ssm_zmat_clear(q->Pt);
    }
    return s;
}

/* The block diagonal of J = N/bs copies of the block's (Ab, Bb stacked, Eb), and room for V (N×H) */
static ssm_status repeat_blocks(parts *q, const ssm_dmat_t Ab, const ssm_dmat_t Bb, const ssm_dmat_t Eb)
{
    size_t N = q->N, bs = Ab->rows;
    ssm_status s = ssm_dmat_init(q->A, N, N);
    if (s == SSM_OK) s = ssm_dmat_init(q->B, N, 1);
    if (s == SSM_OK) s = ssm_dmat_init(q->E, N, N);
    if (s == SSM_OK) s = ssm_zmat_init(q->V, N, q->H);
    for (size_t b = 0; s == SSM_OK && b < N / bs; b++)
        for (size_t i = 0; i < bs; i++) {
            SSM_D(q->B, b * bs + i, 0) = SSM_D(Bb, i, 0);
            for (size_t k = 0; k < bs; k++) {
                SSM_D(q->A, b * bs + i, b * bs + k) = SSM_D(Ab, i, k);
                SSM_D(q->E, b * bs + i, b * bs + k) = SSM_D(Eb, i, k);
            }
        }
    return s;
}

/* S5-LegS: the NPLR of LegS at the block size N/J, its normal part repeated down the diagonal */
static ssm_status build_s5(parts *q, const ssm_nplr_opts *nopts)
{
    size_t N = q->N, J = q->J, bs = N / J, hb = bs / 2;
    ssm_dmat_t Ab, Bb, Pb, Eb;
    ssm_zmat_t Vb, Btb, Ptb;
    memset(Ab, 0, sizeof Ab); memset(Bb, 0, sizeof Bb); memset(Pb, 0, sizeof Pb); memset(Eb, 0, sizeof Eb);
    memset(Vb, 0, sizeof Vb); memset(Btb, 0, sizeof Btb); memset(Ptb, 0, sizeof Ptb);
    double complex *wb = malloc(hb * sizeof *wb);
    ssm_status s = wb ? legs(Ab, Bb, Pb, bs) : SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (s == SSM_OK) s = ssm_zmat_init(Vb, bs, hb);
    if (s == SSM_OK) s = ssm_zmat_init(Btb, hb, 1);
    if (s == SSM_OK) s = ssm_zmat_init(Ptb, 1, hb);
    if (s == SSM_OK) s = ssm_diag_nplr(wb, Vb, Btb, Ptb, NULL, Ab, Bb, Pb, nopts);
    if (s == SSM_OK) s = ssm_dmat_init(Eb, bs, bs);
    if (s == SSM_OK) s = ssm_dmat_gemm(Eb, 1.0, Pb, 1, Pb, 0, 0.0); /* the dropped low-rank term PᵀP */
    if (s == SSM_OK) s = repeat_blocks(q, Ab, Bb, Eb);
    for (size_t b = 0; s == SSM_OK && b < J; b++) {
        for (size_t i = 0; i < bs; i++)
            for (size_t j = 0; j < hb; j++)
                SSM_D(q->V, b * bs + i, b * hb + j) = SSM_D(Vb, i, j);
        for (size_t j = 0; j < hb; j++) {
            q->lam[b * hb + j] = wb[j];
            SSM_D(q->Bt, b * hb + j, 0) = SSM_D(Btb, j, 0);
        }
    }
    free(wb);
    ssm_zmat_clear(Vb); ssm_zmat_clear(Btb); ssm_zmat_clear(Ptb);
    ssm_dmat_clear(Ab); ssm_dmat_clear(Bb); ssm_dmat_clear(Pb); ssm_dmat_clear(Eb);
    return s;
}

/* S4D-Lin/Inv/Real: closed forms, B = 1, no target */
static void build_closed_form(parts *q, ssm_init_method meth)
{
    if (meth == SSM_INIT_S4D_LIN) ssm_diag_s4d_lin(q->lam, q->N);
    else if (meth == SSM_INIT_S4D_INV) ssm_diag_s4d_inv(q->lam, q->N);
    else ssm_diag_s4d_real(q->lam, q->N);
    /* the file keeps the Im <= 0 half, as its lambda_convention says (the formulas give
     * Im >= 0; B = 1 is real, so the conjugate half is the same real system) */
    for (size_t j = 0; j < q->H; j++) {
        q->lam[j] = conj(q->lam[j]);
        SSM_D(q->Bt, j, 0) = 1.0;
    }
}

/* PTD of LegS at the block size bs = N/J; J > 1: the S5 layout, the block's A, E, modes and
 * eigenvectors repeated down the diagonal */
static ssm_status build_ptd(parts *q, const ssm_init_opts *o)
{
    size_t N = q->N, H = q->H, J = q->J, bs = N / J, hb = bs / 2;
    ssm_dmat_t Ab, Bb, Pb, Eb;
    ssm_zmat_t Vf, Vfi;
    memset(Ab, 0, sizeof Ab); memset(Bb, 0, sizeof Bb); memset(Pb, 0, sizeof Pb); memset(Eb, 0, sizeof Eb);
    memset(Vf, 0, sizeof Vf); memset(Vfi, 0, sizeof Vfi);
    double complex *lf = malloc(bs * sizeof *lf);
    ssm_status s = lf ? legs(Ab, Bb, Pb, bs) : SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (s == SSM_OK) s = ssm_dmat_init(Eb, bs, bs);
    if (s == SSM_OK) s = ssm_zmat_init(Vf, bs, bs);
    if (s == SSM_OK) s = ssm_zmat_init(Vfi, bs, bs);
    ssm_ptd_opts po = ssm_ptd_opts_default();
    po.eps = q->eps;
    po.seed = o->seed;
    po.progress = o->progress;
    po.B = Bb->data;
    po.tf_weight = o->tf_weight == 0.0 ? SSM_PTD_TF_WEIGHT : o->tf_weight < 0.0 ? 0.0 : o->tf_weight;
    q->tf_weight = po.tf_weight;
    if (s == SSM_OK) s = ssm_diag_ptd(Eb, lf, Vf, Vfi, &q->pinfo, Ab, Pb, &po);
    if (s == SSM_OK) s = repeat_blocks(q, Ab, Bb, Eb);
    if (s == SSM_OK) s = ssm_zmat_init(q->Vinv, H, N);
    for (size_t b = 0; s == SSM_OK && b < J; b++) {
        for (size_t j = 0; j < hb; j++) {
            q->lam[b * hb + j] = lf[j];
            double complex bt = 0.0;
            for (size_t i = 0; i < bs; i++) {
                SSM_D(q->V, b * bs + i, b * hb + j) = SSM_D(Vf, i, j);
                SSM_D(q->Vinv, b * hb + j, b * bs + i) = SSM_D(Vfi, j, i);
                bt += SSM_D(Vfi, j, i) * SSM_D(Bb, i, 0);
            }
            SSM_D(q->Bt, b * hb + j, 0) = bt; /* B̃ = Ṽ⁻¹ B */
        }
    }
    free(lf);
    ssm_zmat_clear(Vf); ssm_zmat_clear(Vfi);
    ssm_dmat_clear(Ab); ssm_dmat_clear(Bb); ssm_dmat_clear(Pb); ssm_dmat_clear(Eb);
    return s;
}

/* The tensors, M = H modes (conj_sym) or all N (the conjugate half written out) */
static ssm_status store_tensors(ssm_st *f, const parts *q, size_t M, int has_target)
{
    size_t N = q->N, H = q->H;
    ssm_zmat_t Lz, Bz, Vz, Viz, Pz;
    memset(Lz, 0, sizeof Lz); memset(Bz, 0, sizeof Bz); memset(Vz, 0, sizeof Vz); memset(Viz, 0, sizeof Viz);
    memset(Pz, 0, sizeof Pz);
    ssm_status s = ssm_zmat_init(Lz, M, 1);
    if (s == SSM_OK) s = ssm_zmat_init(Bz, M, 1);
    if (s == SSM_OK && q->V->rows) s = ssm_zmat_init(Vz, N, M);
    if (s == SSM_OK && q->Vinv->rows) s = ssm_zmat_init(Viz, M, N);
    if (s == SSM_OK && q->Pt->rows) s = ssm_zmat_init(Pz, q->Pt->rows, M);
    for (size_t j = 0; s == SSM_OK && j < M; j++) {
        size_t h = j % H;
        int cj = j >= H;
        Lz->data[j] = cj ? conj(q->lam[h]) : q->lam[h];
        Bz->data[j] = cj ? conj(q->Bt->data[h]) : q->Bt->data[h];
        for (size_t i = 0; q->V->rows && i < N; i++)
            SSM_D(Vz, i, j) = cj ? conj(SSM_D(q->V, i, h)) : SSM_D(q->V, i, h);
        for (size_t i = 0; q->Vinv->rows && i < N; i++)
            SSM_D(Viz, j, i) = cj ? conj(SSM_D(q->Vinv, h, i)) : SSM_D(q->Vinv, h, i);
        for (size_t k = 0; k < q->Pt->rows; k++)
            SSM_D(Pz, k, j) = cj ? conj(SSM_D(q->Pt, k, h)) : SSM_D(q->Pt, k, h);
    }
    if (s == SSM_OK) s = add_z(f, "Lambda", Lz, 1);
    if (s == SSM_OK) s = add_z(f, "B", Bz, 1);
    if (s == SSM_OK && Pz->rows) s = add_z(f, "P", Pz, 0);
    if (s == SSM_OK && Vz->rows) s = add_z(f, "V", Vz, 0);
    if (s == SSM_OK && Viz->rows) s = add_z(f, "Vinv", Viz, 0);
    if (s == SSM_OK && q->E->rows) s = ssm_st_add_dmat(f, "E", q->E, 0);
    if (s == SSM_OK && has_target) s = ssm_st_add_dmat(f, "A_target", q->A, 0);
    if (s == SSM_OK && has_target) s = ssm_st_add_dmat(f, "B_target", q->B, 1);
    if (s == SSM_OK && has_target) s = ssm_st_add_dmat(f, "C_target", q->C, 1);
    ssm_zmat_clear(Lz); ssm_zmat_clear(Bz); ssm_zmat_clear(Vz); ssm_zmat_clear(Viz); ssm_zmat_clear(Pz);
    return s;
}

/* The metadata of doc/design.md's format (the metrics come later, from the stored tensors) */
static ssm_status store_meta(ssm_st *f, const parts *q, ssm_init_method meth, const ssm_init_opts *o, size_t M,
                             int has_target, double lo, double hi, size_t count)
{
    char buf[160];
    ssm_status s = SSM_OK;
#define META(k, ...) do { snprintf(buf, sizeof buf, __VA_ARGS__); if (s == SSM_OK) s = ssm_st_set_meta(f, k, buf); } while (0)
    META("format", "ssmkit-init/1");
    META("method", "%s", METHOD_NAMES[meth]);
    META("measure", "%s", has_target ? "legs" : "none");
    META("N", "%zu", q->N);
    META("M", "%zu", M);
    if (meth == SSM_INIT_PTD) META("eps", "%.17g", q->eps); else META("eps", "n/a");
    if (meth == SSM_INIT_PTD) {
        /* the optimiser's own transfer errors, relative, on its grid (reported, not re-verified) */
        META("tf_weight", "%.17g", q->tf_weight);
        META("tf_weight_final", "%.17g", q->pinfo.tf_weight_final); /* after the ladder's doublings */
        META("ptd_tf_ones", "%.6g", q->pinfo.tf_ones);
        META("ptd_tf_state", "%.6g", q->pinfo.tf_state);
    }
    META("prec_bits", "53");
    META("seed", "%lu", o->seed);
    META("conj_sym", "%s", o->conj_sym ? "true" : "false");
    if (meth == SSM_INIT_S5_LEGS || (meth == SSM_INIT_PTD && q->J > 1)) META("blocks", "%zu", q->J);
    META("C", "%s", !has_target ? "n/a" : o->C == SSM_C_ONES ? "ones" : o->C == SSM_C_RANDOM ? "random (GSL mt19937, N(0,1)/sqrt(N), seed)" : "legendre (sqrt(2n+1))");
    /* the log grid plus every |Im λ| of the stored modes inside it: a lightly
     * damped mode's resonance (width |Re λ|) cannot fall between grid points */
    META("tf_grid", "log:%.17g:%.17g:%zu+poles", lo, hi, count);
    if (o->clip_im_B > 0) META("clip_im_B", "%.17g", o->clip_im_B); else META("clip_im_B", "off");
    META("B_convention", "%s", !has_target ? "B = 1" : meth == SSM_INIT_PTD ? "B = Vinv B_target (first M rows)"
                                                                       : "B = V* B_target (V unitary), no factor 1/2");
    META("lambda_convention", "%s", "modes with Im <= 0; conj_sym=true: the conjugate modes are implied");
    META("backward_error_def", "%s", meth == SSM_INIT_S4_DPLR
             ? "||A_target - V (diag Lambda - P P*) V*||_2 / ||A_target||_2 over the conjugate-closed set"
             : has_target ? "||A_target + E - V diag(Lambda) V^-1||_2 / ||A_target||_2 (E: the stored perturbation)"
                          : "n/a (no target)");
    META("ssmkit_version", SSM_VERSION);
    META("verified_prec_bits", "53");
#undef META
    return s;
}

static ssm_status build(ssm_st **out, ssm_init_method meth, const ssm_init_opts *o)
{
    *out = NULL;
    size_t N = o->N, H = N / 2;
    if ((unsigned)meth >= SSM_INIT_COUNT)
        return SSM_ERROR(SSM_EINVAL, "invalid init method");
    if (N < 2 || N % 2 || N > SSM_INIT_MAX_N)
        return SSM_ERROR(SSM_EINVAL, "init: N must be even and in [2, %zu], got %zu", SSM_INIT_MAX_N, N);
    size_t J = o->blocks ? o->blocks : 1;
    if ((meth == SSM_INIT_S5_LEGS || meth == SSM_INIT_PTD) && (N % (2 * J) != 0))
        return SSM_ERROR(SSM_EINVAL, "%s: N = %zu must be a multiple of 2 x blocks (%zu)", METHOD_NAMES[meth], N, 2 * J);
    if (J > 1 && meth != SSM_INIT_S5_LEGS && meth != SSM_INIT_PTD)
        return SSM_ERROR(SSM_EINVAL, "%s: --blocks applies to s5-legs and ptd only", METHOD_NAMES[meth]);
    double lo = o->omega_lo > 0 ? o->omega_lo : 1e-3, hi = o->omega_hi > 0 ? o->omega_hi : 10.0 * (double)N * (double)N;
    size_t count = o->omega_count ? o->omega_count : 4000;
    if (!(hi > lo) || count > SSM_INIT_TF_GRID_MAX)
        return SSM_ERROR(SSM_EINVAL, "init: frequency grid needs 0 < LO < HI and COUNT <= %zu", SSM_INIT_TF_GRID_MAX);

    parts q;
    memset(&q, 0, sizeof q);
    q.N = N, q.H = H, q.J = J, q.eps = o->eps > 0 ? o->eps : 0.05;
    q.lam = calloc(H, sizeof *q.lam);
    ssm_status s = q.lam ? ssm_zmat_init(q.Bt, H, 1) : SSM_ERROR(SSM_ENOMEM, "out of memory");
    ssm_nplr_opts nopts = {.clip_im_B = o->clip_im_B};
    int has_target = meth != SSM_INIT_S4D_LIN && meth != SSM_INIT_S4D_INV && meth != SSM_INIT_S4D_REAL;
    if (s == SSM_OK) {
        switch (meth) {
        case SSM_INIT_S4_DPLR:
        case SSM_INIT_S4D_LEGS: s = build_nplr(&q, meth, &nopts); break;
        case SSM_INIT_S5_LEGS: s = build_s5(&q, &nopts); break;
        case SSM_INIT_PTD: s = build_ptd(&q, o); break;
        default: build_closed_form(&q, meth); break;
        }
    }
    if (s == SSM_OK && has_target && (s = ssm_dmat_init(q.C, N, 1)) == SSM_OK)
        s = ssm_init_C(q.C, o->C, o->seed);
    size_t M = o->conj_sym ? H : N; /* the full set instead of conjugate halves when asked */
    ssm_st *f = NULL;
    if (s == SSM_OK)
        s = ssm_st_create(&f);
    if (s == SSM_OK) s = store_tensors(f, &q, M, has_target);
    if (s == SSM_OK) s = store_meta(f, &q, meth, o, M, has_target, lo, hi, count);
    if (s == SSM_OK && o->prec > 53) {
        char buf[32];
        s = ssm_init_refine_mp(f, meth, o);
        snprintf(buf, sizeof buf, "%ld", (long)o->prec);
        if (s == SSM_OK) s = ssm_st_set_meta(f, "prec_bits", buf);
        if (s == SSM_OK)
            s = ssm_st_set_meta(f, "rounding", "Lambda, B, V, Vinv, P correctly rounded to F64 from the multiprecision "
                                               "eigendecomposition at prec_bits (digits vouched for)");
    }
    if (s == SSM_OK)
        s = ssm_init_set_metrics(f);
    if (s != SSM_OK)
        ssm_st_free(f);
    else
        *out = f;
    parts_clear(&q);
    return s;
}

