/* tests/t-train-dplr.c — the S4 DPLR kernel (train/dplr_kernel.c) against an independent computation:
 * the dense bilinear recurrence K_ℓ = C Ā^ℓ B̄ over the conjugate-closed set of N = 2M modes, built
 * here with plain complex loops (Gaussian elimination with partial pivoting, explicit matrix powers) —
 * no Cauchy sums, no Woodbury, no FFT — and central finite differences of that recurrence in double for
 * every parameter kind (Λ re/im, P, B, C̃, log Δ).  Then the engine's model: the DPLR kernel of an
 * s4-dplr init against the dense frozen ZOH path on the same init (they differ by the discretisation
 * only), a short trained run whose checkpoint reads back bit for bit, and DPLR models frozen and trained.
 *
 * Tolerances (relative to the largest entry of the tensor; reasons):
 *  - FWD_RTOL 1e-6: the engine computes K in double and rounds once to float (2^-24 ≈ 6e-8 relative to
 *    each entry, ≤ that relative to the largest); its double path (M-term Cauchy sums, an FFT of length
 *    L ≤ 16) adds ≲ 1e-13.  The dense reference is double (Ā^ℓ by ℓ ≤ 16 products of 8×8 matrices,
 *    κ(I − ΔA/2) < 10 here): ≲ 1e-13.  1e-6 is 16× the float rounding.
 *  - GRAD_RTOL 1e-5 (+ GRAD_ATOL 1e-9): the backward runs in double and rounds once to float (6e-8);
 *    the FD side (step h = 1e-6·max(1, |p|)) has truncation h²|f'''|/6 ≲ 1e-11 and rounding
 *    ε_double·Σ|r K|/h ≲ 2.2e-16·50/1e-6 ≈ 1e-8 relative to gradients of size O(1–10).  A 1 %
 *    error in the largest entry must be caught (mutation check), 1000× above the tolerance.
 *  - C̃ = C(I − Ā^L) (ssm_train_dplr_ctilde, O(M) per step) against the dense product: 1e-6, the same
 *    float rounding of the result.
 *  - dense ZOH path vs the DPLR (bilinear) kernel: see test_vs_dense_path. */
#define _POSIX_C_SOURCE 200809L
#include "ssmkit.h"
#include "tests/harness.h"

#include <complex.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define FWD_RTOL 1e-6
#define GRAD_RTOL 1e-5
#define GRAD_ATOL 1e-9
#define FD_H 1e-6
#define HH 2      /* channels */
#define MM 4      /* stored modes (N = 8) */
#define NN (2 * MM)
#define LMAX 16

/* ---- the dense bilinear reference -------------------------------------------------------------------- */

/* x ← A⁻¹ b for an n×n complex matrix (copied), Gaussian elimination with partial pivoting; nrhs columns
 * in b [n, nrhs] row-major. */
static void zsolve(double complex *x, const double complex *A, const double complex *b, int n, int nrhs)
{
    double complex a[NN * NN], r[NN * NN];
    memcpy(a, A, (size_t)(n * n) * sizeof *a);
    memcpy(r, b, (size_t)(n * nrhs) * sizeof *r);
    for (int k = 0; k < n; k++) {
        int piv = k;
        for (int i = k + 1; i < n; i++)
            if (cabs(a[i * n + k]) > cabs(a[piv * n + k]))
                piv = i;
        for (int j = 0; j < n; j++) { double complex t = a[k * n + j]; a[k * n + j] = a[piv * n + j]; a[piv * n + j] = t; }
        for (int j = 0; j < nrhs; j++) { double complex t = r[k * nrhs + j]; r[k * nrhs + j] = r[piv * nrhs + j]; r[piv * nrhs + j] = t; }
        for (int i = k + 1; i < n; i++) {
            double complex f = a[i * n + k] / a[k * n + k];
            for (int j = k; j < n; j++)
                a[i * n + j] -= f * a[k * n + j];
            for (int j = 0; j < nrhs; j++)
                r[i * nrhs + j] -= f * r[k * nrhs + j];
        }
    }
    for (int i = n - 1; i >= 0; i--)
        for (int j = 0; j < nrhs; j++) {
            double complex s = r[i * nrhs + j];
            for (int k = i + 1; k < n; k++)
                s -= a[i * n + k] * x[k * nrhs + j];
            x[i * nrhs + j] = s / a[i * n + i];
        }
}

/* One channel over the full set: Ā, B̄ (bilinear) and Ā^L.  lam, p, b: the M stored modes (double
 * complex); full-set index j < M is mode j, j ≥ M the conjugate of mode j − M. */
static void discretise(double complex *Ab, double complex *Bb, double complex *AL, const double complex *lam,
                       const double complex *p, const double complex *b, double dt, size_t L)
{
    double complex lf[NN], pf[NN], bf[NN], M1[NN * NN], M2[NN * NN];
    for (int j = 0; j < NN; j++) {
        lf[j] = j < MM ? lam[j] : conj(lam[j - MM]);
        pf[j] = j < MM ? p[j] : conj(p[j - MM]);
        bf[j] = j < MM ? b[j] : conj(b[j - MM]);
    }
    for (int i = 0; i < NN; i++)
        for (int j = 0; j < NN; j++) {
            double complex A = (i == j ? lf[i] : 0.0) - pf[i] * conj(pf[j]); /* Λ − p p* */
            M1[i * NN + j] = (i == j ? 1.0 : 0.0) - 0.5 * dt * A;
            M2[i * NN + j] = (i == j ? 1.0 : 0.0) + 0.5 * dt * A;
        }
    zsolve(Ab, M1, M2, NN, NN);
    for (int j = 0; j < NN; j++)
        bf[j] *= dt;
    zsolve(Bb, M1, bf, NN, 1);
    for (int i = 0; i < NN * NN; i++)
        AL[i] = (i % (NN + 1)) == 0 ? 1.0 : 0.0;
    for (size_t l = 0; l < L; l++) {
        double complex T[NN * NN];
        for (int i = 0; i < NN; i++)
            for (int j = 0; j < NN; j++) {
                double complex s = 0.0;
                for (int k = 0; k < NN; k++)
                    s += AL[i * NN + k] * Ab[k * NN + j];
                T[i * NN + j] = s;
            }
        memcpy(AL, T, sizeof T);
    }
}

typedef struct {
    double lam[HH * MM * 2], P[HH * MM * 2], B[HH * MM * 2], C[HH * MM * 2], logdt[HH]; /* C: the trained C̃ */
    double r[HH * LMAX]; /* probe: loss = Σ r ⊙ K */
    size_t L;
} dctx;

static void unpack(double complex *z, const double *v, size_t h)
{
    for (int n = 0; n < MM; n++)
        z[n] = CMPLX(v[(h * MM + n) * 2], v[(h * MM + n) * 2 + 1]);
}

/* K [HH, L] = Re(C Ā^ℓ B̄) with C = C̃(I − Ā^L)⁻¹ (the row system solved as its transpose) */
static void ref_kernel(double *K, const dctx *c)
{
    for (size_t h = 0; h < HH; h++) {
        double complex lam[MM], p[MM], b[MM], ct[MM], Ab[NN * NN], Bb[NN], AL[NN * NN], T[NN * NN], cf[NN], cr[NN];
        unpack(lam, c->lam, h); unpack(p, c->P, h); unpack(b, c->B, h); unpack(ct, c->C, h);
        discretise(Ab, Bb, AL, lam, p, b, exp(c->logdt[h]), c->L);
        for (int i = 0; i < NN; i++) {
            cf[i] = i < MM ? ct[i] : conj(ct[i - MM]);
            for (int j = 0; j < NN; j++) /* (I − Ā^L)ᵀ */
                T[i * NN + j] = (i == j ? 1.0 : 0.0) - AL[j * NN + i];
        }
        zsolve(cr, T, cf, NN, 1);
        double complex x[NN];
        memcpy(x, Bb, sizeof x);
        for (size_t l = 0; l < c->L; l++) {
            double complex s = 0.0, xn[NN];
            for (int i = 0; i < NN; i++)
                s += cr[i] * x[i];
            K[h * c->L + l] = creal(s);
            for (int i = 0; i < NN; i++) {
                xn[i] = 0.0;
                for (int k = 0; k < NN; k++)
                    xn[i] += Ab[i * NN + k] * x[k];
            }
            memcpy(x, xn, sizeof x);
        }
    }
}

static double ref_loss(const dctx *c)
{
    double K[HH * LMAX], s = 0.0;
    ref_kernel(K, c);
    for (size_t i = 0; i < HH * c->L; i++)
        s += c->r[i] * K[i];
    return s;
}

/* central differences of ref_loss in every entry of v[0..n) */
static void fd(double *g, double *v, size_t n, dctx *c)
{
    for (size_t i = 0; i < n; i++) {
        double v0 = v[i], h = FD_H * fmax(1.0, fabs(v0));
        v[i] = v0 + h;
        double fp = ref_loss(c), step = v[i];
        v[i] = v0 - h;
        double fm = ref_loss(c);
        step -= v[i];
        v[i] = v0;
        g[i] = (fp - fm) / step;
    }
}

static int grad_ok(const float *g, const double *gfd, size_t n, double *r)
{
    double m;
    *r = t_rel_err_f32(g, gfd, n, NULL, &m);
    return *r * m <= GRAD_RTOL * m + GRAD_ATOL;
}

static void check_grad(const char *what, const float *g, const double *gfd, size_t n, double *worst)
{
    double r, rm;
    CHECK(grad_ok(g, gfd, n, &r), "DPLR d/d%s: float backward vs double FD of the dense recurrence: %.3g", what, r);
    *worst = fmax(*worst, r);
    float mut[HH * MM * 2];
    memcpy(mut, g, n * sizeof *g);
    size_t imax = 0;
    for (size_t i = 1; i < n; i++)
        if (fabs(gfd[i]) > fabs(gfd[imax]))
            imax = i;
    mut[imax] *= 1.01f;
    CHECK(!grad_ok(mut, gfd, n, &rm), "DPLR d/d%s: a 1%% error went undetected (%.3g)", what, rm);
}

/* random stable parameters: Re λ ∈ [−1, −0.2], Im λ ∈ [−6, 6], P, B, C̃ complex O(1), Δ ∈ [0.05, 0.3] */
static void random_params(dctx *c, float *f)
{
    double *all[4] = {c->lam, c->P, c->B, c->C};
    for (int t = 0; t < 4; t++)
        for (size_t i = 0; i < HH * MM * 2; i++) {
            double v = t == 0 ? (i % 2 ? 6.0 * t_uniform() : -0.6 + 0.4 * t_uniform()) : t_uniform();
            f[t * HH * MM * 2 + i] = (float)v;
            all[t][i] = (double)(float)v;
        }
    for (size_t h = 0; h < HH; h++) {
        float v = (float)log(0.175 + 0.125 * t_uniform());
        f[4 * HH * MM * 2 + h] = v;
        c->logdt[h] = v;
    }
    for (size_t i = 0; i < HH * LMAX; i++)
        c->r[i] = t_uniform();
}

static void test_kernel_and_grad(size_t L)
{
    dctx c = {.L = L};
    float f[4 * HH * MM * 2 + HH], K[HH * LMAX];
    random_params(&c, f);
    const size_t S = HH * MM * 2;
    const float *lam = f, *P = f + S, *B = f + 2 * S, *C = f + 3 * S, *logdt = f + 4 * S;
    ssm_train_dplr *d = NULL;
    TRY(ssm_train_dplr_create(&d, HH, MM, L));
    if (!d)
        return;
    double Kref[HH * LMAX], m;
    ref_kernel(Kref, &c);
    TRY(ssm_train_kernel_dplr_forward(K, d, lam, P, B, C, logdt));
    double rf = t_rel_err_f32(K, Kref, HH * L, NULL, &m);
    CHECK(rf <= FWD_RTOL, "DPLR kernel (L = %zu) vs the dense bilinear recurrence: %.3g > %g", L, rf, FWD_RTOL);
    CHECK(m > 0.1, "DPLR kernel (L = %zu): the reference is not trivially small (max %.3g)", L, m);

    float dlam[S], dP[S], dB[S], dC[S], dlogdt[HH];
    memset(dlam, 0, sizeof dlam); memset(dP, 0, sizeof dP); memset(dB, 0, sizeof dB); memset(dC, 0, sizeof dC);
    memset(dlogdt, 0, sizeof dlogdt);
    ssm_train_kernel_dplr_backward(dlam, dP, dB, dC, dlogdt, d, c.r, lam, P, B, C, logdt);
    double g[S], worst = 0.0;
    fd(g, c.lam, S, &c); check_grad("Lambda", dlam, g, S, &worst);
    fd(g, c.P, S, &c); check_grad("P", dP, g, S, &worst);
    fd(g, c.B, S, &c); check_grad("B", dB, g, S, &worst);
    fd(g, c.C, S, &c); check_grad("C", dC, g, S, &worst);
    fd(g, c.logdt, HH, &c); check_grad("log_dt", dlogdt, g, HH, &worst);
    /* the frozen variant: only dC is written */
    float dC2[S];
    memset(dC2, 0, sizeof dC2);
    ssm_train_kernel_dplr_backward(NULL, NULL, NULL, dC2, NULL, d, c.r, lam, P, B, C, logdt);
    CHECK(memcmp(dC, dC2, sizeof dC) == 0, "DPLR backward: dC does not depend on which other gradients are asked");
    printf("DPLR kernel L = %2zu: forward vs dense bilinear recurrence %.2e, backward vs double FD %.2e\n", L, rf,
           worst);

    /* C̃ = C(I − Ā^L) from C (here C := the probe's first entries, any complex row) */
    float Cf[S];
    double Cd[S];
    for (size_t i = 0; i < S; i++)
        Cd[i] = Cf[i] = (float)t_uniform();
    TRY(ssm_train_dplr_ctilde(Cf, lam, P, logdt, HH, MM, L));
    double Ct[S];
    for (size_t h = 0; h < HH; h++) {
        double complex la[MM], p[MM], b[MM], Ab[NN * NN], Bb[NN], AL[NN * NN], cr[MM];
        unpack(la, c.lam, h); unpack(p, c.P, h); unpack(b, c.B, h); unpack(cr, Cd, h);
        discretise(Ab, Bb, AL, la, p, b, exp(c.logdt[h]), L);
        for (int n = 0; n < MM; n++) {
            double complex s = cr[n];
            for (int i = 0; i < NN; i++)
                s -= (i < MM ? cr[i] : conj(cr[i - MM])) * AL[i * NN + n];
            Ct[(h * MM + n) * 2] = creal(s);
            Ct[(h * MM + n) * 2 + 1] = cimag(s);
        }
    }
    double rc = t_rel_err_f32(Cf, Ct, S, NULL, &m);
    CHECK(rc <= FWD_RTOL, "C~ = C(I - Abar^L) (L = %zu) vs the dense matrix power: %.3g", L, rc);
    ssm_train_dplr_free(d);
}

/* ---- the engine's model ------------------------------------------------------------------------------ */

static ssm_status model(ssm_train_model **m, int dense, double dt, size_t L, double lr_ssm)
{
    ssm_train_config cfg;
    ssm_train_config_default(&cfg);
    snprintf(cfg.init, sizeof cfg.init, "s4-dplr");
    cfg.d_state = 8;
    cfg.d_model = 3;
    cfg.n_layers = 1;
    cfg.dt_min = cfg.dt_max = dt;
    cfg.lr_ssm = lr_ssm;
    cfg.s4_dense = dense;
    return ssm_train_model_create(m, &cfg, L, 1, 2, 0);
}

/* The DPLR kernel of the s4-dplr init at N = 8 (C̃ from the same C₀V) against the dense frozen path
 * (A = V(Λ − P̃P̃*)V* rebuilt, ZOH by expm): both sample the same continuous impulse response C e^{tA} B,
 * with different discretisations.  With a ≥ ‖A‖₂ (a = max|λ_n| + ‖p‖² over the full set, since
 * A = Λ − pp*), bilinear Ā = ZOH Ā·(I + O((Δa)³)) per step and B̄ differs by Δ(Δa)²‖B‖/12, so the kernels
 * differ by about (Δa)²/12·(1 + LΔa) of their size: the envelope checked at Δ = 1e-3, L = 64.  The
 * difference must also be second order — halving Δ divides it by 4 (3.5 … 4.5 allowed: the next term
 * is O(Δa) ≈ 5 % smaller) — which a wrong kernel would not do, and at Δ = 0.1 (Δa ≈ 5) the two must
 * differ by more than 1e-3: the comparison can fail. */
static void test_vs_dense_path(void)
{
    const size_t L = 64;
    const double dts[3] = {1e-3, 5e-4, 0.1};
    double diff[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        ssm_train_model *a = NULL, *b = NULL;
        TRY(model(&a, 0, dts[k], L, 0.0));
        TRY(model(&b, 1, dts[k], L, 0.0));
        if (!a || !b) {
            ssm_train_model_free(a);
            ssm_train_model_free(b);
            return;
        }
        CHECK(a->dplr && !a->dense && b->dense && !b->dplr && ssm_train_model_tensor(a, "layers.0.ssm.P"),
              "s4-dplr: DPLR path by default, dense with s4_dense");
        double rho = 0.0, pp = 0.0, e = 0.0, mx = 0.0;
        for (size_t n = 0; n < a->M; n++) {
            const float *l = a->params + a->layer[0].lam + 2 * n, *p = a->params + a->layer[0].P + 2 * n;
            rho = fmax(rho, hypot(l[0], l[1]));
            pp += 2.0 * ((double)p[0] * p[0] + (double)p[1] * p[1]);
        }
        for (size_t i = 0; i < a->H * L; i++) {
            e = fmax(e, fabs((double)a->kernel[i] - b->kernel[i]));
            mx = fmax(mx, fabs((double)b->kernel[i]));
        }
        diff[k] = e / mx;
        double da = dts[k] * (rho + pp), bound = da * da * (1.0 + (double)L * da) / 12.0 + 1e-6;
        if (k == 0)
            CHECK(diff[k] <= bound, "DPLR (bilinear) vs dense (ZOH) on s4-dplr N = 8, dt %g: %.3g > envelope %.3g",
                  dts[k], diff[k], bound);
        printf("s4-dplr N = 8, dt %-6g: DPLR (bilinear) vs dense (ZOH) kernel %.3e of max |K| (dt*a = %.3g)\n",
               dts[k], diff[k], da);
        ssm_train_model_free(a);
        ssm_train_model_free(b);
    }
    double ratio = diff[0] / diff[1];
    CHECK(ratio > 3.5 && ratio < 4.5, "DPLR vs dense: halving dt divided the difference by %.3g, not ~4", ratio);
    CHECK(diff[2] > 1e-3, "DPLR vs dense at dt 0.1 differ by only %.3g: the comparison cannot fail", diff[2]);
    printf("DPLR vs dense: second order in dt (ratio %.3f for dt/2)\n", ratio);
}

/* A short trained DPLR run on the adding task with a checkpoint; the checkpoint reads back with the
 * same parameters and moments bit for bit, every SSM tensor moved (trained), and the loss fell. */
static void test_run_and_checkpoint(double lr_ssm)
{
    char dir[] = "/tmp/ssm-t-dplr-XXXXXX", path[300];
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    ssm_train_config cfg;
    ssm_train_config_default(&cfg);
    cfg.task = SSM_TASK_ADDING;
    snprintf(cfg.init, sizeof cfg.init, "s4-dplr");
    cfg.seq_len = 48; cfg.n_train = 512; cfg.n_val = 64; cfg.n_test = 64;
    cfg.d_model = 8; cfg.d_state = 8; cfg.n_layers = 2; cfg.dropout = 0.0;
    cfg.epochs = 3; cfg.batch = 32; cfg.lr_ssm = lr_ssm; cfg.lr = 0.005;
    ssm_train_run_opts o = {.quiet = 1, .ckpt_dir = dir};
    ssm_train_state st, rd;
    memset(&rd, 0, sizeof rd);
    ssm_status s = ssm_train_run(&st, &cfg, &o);
    CHECK(s == SSM_OK, "DPLR run (lr_ssm %g): %s", lr_ssm, ssm_error_message());
    snprintf(path, sizeof path, "%s/ckpt.bin", dir);
    if (s == SSM_OK) {
        ssm_train_model *m0 = NULL;
        size_t L, din, nout;
        int regr;
        TRY(ssm_train_task_shape(&L, &din, &nout, &regr, &cfg));
        TRY(ssm_train_model_create(&m0, &cfg, L, din, nout, regr)); /* the initial parameters */
        s = ssm_train_checkpoint_read(&rd, path, 0);
        CHECK(s == SSM_OK, "DPLR checkpoint read: %s", ssm_error_message());
        if (s == SSM_OK && m0) {
            const ssm_train_model *m = st.model;
            CHECK(rd.model->dplr && rd.model->n_params == m->n_params &&
                      memcmp(rd.model->params, m->params, m->n_params * sizeof(float)) == 0 &&
                      memcmp(rd.adam_v, st.adam_v, m->n_params * sizeof(float)) == 0,
                  "DPLR checkpoint: parameters and moments read back bit for bit");
            const char *ssm[4] = {"layers.0.ssm.Lambda", "layers.0.ssm.P", "layers.0.ssm.B", "layers.0.ssm.log_dt"};
            for (int t = 0; t < 4; t++) {
                const ssm_train_tensor *tn = ssm_train_model_tensor(m, ssm[t]);
                int moved = tn && memcmp(m->params + tn->offset, m0->params + tn->offset, tn->count * sizeof(float));
                CHECK(moved == (lr_ssm > 0), "%s %s with lr_ssm %g", ssm[t], moved ? "moved" : "stayed", lr_ssm);
            }
            double first = st.rows[0].train_loss, last = st.rows[st.n_rows - 1].train_loss;
            CHECK(last < first, "DPLR adding (lr_ssm %g): loss %.4g -> %.4g did not fall", lr_ssm, first, last);
            printf("DPLR adding run, lr_ssm %g: train loss %.4f -> %.4f; checkpoint round trip ok\n", lr_ssm, first,
                   last);
        }
        ssm_train_model_free(m0);
    }
    ssm_train_state_clear(&rd);
    ssm_train_state_clear(&st);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK(system(path) == 0, "cleanup");
}

int main(void)
{
    t_init();
    test_kernel_and_grad(16); /* even L: w = −1 among the roots of unity */
    test_kernel_and_grad(15);
    test_vs_dense_path();
    test_run_and_checkpoint(0.002);
    test_run_and_checkpoint(0.0);
    return t_finish();
}
