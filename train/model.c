/* train/model.c — the model: the parameter arena and its name → offset table, initialisation from an
 * ssmkit-init/1 file (or a method built on the fly), per-thread activations, and the forward/backward
 * pass of one chunk of the batch. */
#define _POSIX_C_SOURCE 200809L
#include "train/train_impl.h"

#include <complex.h>
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the init: Λ, B̃ (and V, P̃) from a file or a method name -------------------- */

ssm_status ssm_train_init_known(const char *init)
{
    ssm_init_method meth;
    if (access(init, F_OK) == 0)
        return SSM_OK;
    if (ssm_init_method_lookup(&meth, init) != SSM_OK) {
        ssm_error_clear();
        return SSM_ERROR(SSM_EINVAL, "--init '%s' is neither a file nor an init method (s4-dplr s4d-legs s4d-lin "
                                     "s4d-inv s4d-real s5-legs ptd)", init);
    }
    return SSM_OK;
}

static ssm_status load_init(ssm_init_file **f, const ssm_train_config *c)
{
    ssm_init_method meth;
    *f = NULL;
    if (access(c->init, F_OK) == 0) {
        ssm_status s = ssm_init_file_read(f, c->init);
        if (s == SSM_OK && c->d_state && (*f)->N != c->d_state) {
            s = SSM_ERROR(SSM_EINVAL, "--d-state %zu does not match the init file '%s' (N = %zu); drop --d-state or "
                                      "give %zu", c->d_state, c->init, (*f)->N, (*f)->N);
            ssm_init_file_free(*f);
            *f = NULL;
        }
        return s;
    }
    ssm_status s = ssm_train_init_known(c->init);
    if (s != SSM_OK || (s = ssm_init_method_lookup(&meth, c->init)) != SSM_OK)
        return s;
    ssm_init_opts o = ssm_init_opts_default();
    o.N = c->d_state ? c->d_state : 64;
    o.eps = c->init_eps;
    o.seed = c->seed;
    ssm_st *st = NULL;
    s = ssm_init_build(&st, meth, &o);
    return s == SSM_OK ? ssm_init_file_take(f, st) : s;
}

/* ---- the arena table ------------------------------------------------------------ */

static size_t add_tensor(ssm_train_model *m, const char *name, size_t count, int group)
{
    ssm_train_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->offset = m->n_params;
    t->count = count;
    t->group = group;
    m->n_params += count;
    return t->offset;
}

const ssm_train_tensor *ssm_train_model_tensor(const ssm_train_model *m, const char *name)
{
    for (size_t i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return &m->tensors[i];
    return NULL;
}

void ssm_train_model_free(ssm_train_model *m)
{
    if (!m)
        return;
    free(m->params); free(m->grads);
    ssm_train_conv_ws_free(m->ws);
    ssm_train_conv_free(m->conv);
    free(m->kernel); free(m->kernel_f); free(m->dkernel);
    free(m->dense_A); free(m->dense_B); free(m->basis);
    free(m->s5_W); free(m->s5_Ct); free(m->s5_zq);
    ssm_train_dplr_free(m->dplr_plan);
    free(m);
}

static void uniform_fill(float *p, size_t n, double bound, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(bound * (2.0 * ssm_train_uniform(rng) - 1.0));
}

/* the parameter table: every tensor's offset, count and group, in the engine's order */
static void model_layout(ssm_train_model *m, const ssm_train_config *c, size_t din, size_t nout)
{
    const size_t H = c->d_model, K = c->n_layers, N = m->N, M = m->M;
    m->enc_w = add_tensor(m, "encoder.weight", din * H, SSM_TRAIN_DECAY);
    m->enc_b = add_tensor(m, "encoder.bias", H, SSM_TRAIN_NODECAY);
    for (size_t l = 0; l < K; l++) {
        ssm_train_layer *ly = &m->layer[l];
        char nb[40];
#define T(field, nm_, count, group) (snprintf(nb, sizeof nb, "layers.%zu.%s", l, nm_), ly->field = add_tensor(m, nb, count, group))
        ly->P = SIZE_MAX;
        if (m->s5) { /* S5: one state for all channels (train/s5_layer.c), S5's shapes */
            T(lam, "ssm.Lambda", M * 2, SSM_TRAIN_SSM);
            T(B, "ssm.B", M * H * 2, SSM_TRAIN_SSM);
            T(C, "ssm.C", H * M * 2, SSM_TRAIN_DECAY);
            T(logdt, "ssm.log_step", M, SSM_TRAIN_SSM);
        } else if (!m->dense) {
            T(lam, "ssm.Lambda", H * M * 2, SSM_TRAIN_SSM);
            if (m->dplr)
                T(P, "ssm.P", H * M * 2, SSM_TRAIN_SSM);
            T(B, "ssm.B", H * M * 2, SSM_TRAIN_SSM);
            T(C, "ssm.C", H * M * 2, SSM_TRAIN_DECAY);
        } else {
            ly->lam = ly->B = SIZE_MAX;
            T(C, "ssm.C", H * N, SSM_TRAIN_DECAY);
        }
        if (!m->s5)
            T(logdt, "ssm.log_dt", H, SSM_TRAIN_SSM);
        T(D, "ssm.D", H, SSM_TRAIN_NODECAY);
        T(W, "out.weight", H * m->Hout, SSM_TRAIN_DECAY);
        T(b, "out.bias", m->Hout, SSM_TRAIN_NODECAY);
        T(ln_g, "norm.weight", H, SSM_TRAIN_NODECAY);
        T(ln_b, "norm.bias", H, SSM_TRAIN_NODECAY);
#undef T
    }
    m->dec_w = add_tensor(m, "decoder.weight", H * nout, SSM_TRAIN_DECAY);
    m->dec_b = add_tensor(m, "decoder.bias", nout, SSM_TRAIN_NODECAY);
}

/* parameters, gradients, the convolution plan and the kernel buffers */
static ssm_status model_buffers(ssm_train_model *m)
{
    const size_t H = m->H, K = m->K, L = m->L, N = m->N;
    ssm_status s;
    m->params = calloc(m->n_params, sizeof *m->params);
    m->grads = calloc(m->n_params, sizeof *m->grads);
    s = ssm_train_conv_create(&m->conv, H, L);
    if (s == SSM_OK) {
        m->nfreq = ssm_train_conv_nfreq(m->conv);
        s = ssm_train_conv_ws_create(&m->ws, m->conv);
    }
    if (s == SSM_OK && m->dplr)
        s = ssm_train_dplr_create(&m->dplr_plan, H, m->M, L);
    m->kernel = malloc(K * H * L * sizeof *m->kernel);
    m->kernel_f = malloc(K * H * m->nfreq * 2 * sizeof *m->kernel_f);
    m->dkernel = malloc(K * H * L * sizeof *m->dkernel);
    if (m->dense) {
        m->dense_A = calloc(N * N, sizeof *m->dense_A);
        m->dense_B = calloc(N, sizeof *m->dense_B);
        m->basis = malloc(K * H * L * N * sizeof *m->basis);
    }
    if (m->s5) {
        m->s5_W = malloc(K * H * 2 * m->M * sizeof *m->s5_W);
        m->s5_Ct = malloc(K * H * 2 * m->M * sizeof *m->s5_Ct);
        m->s5_zq = malloc(K * m->M * 4 * sizeof *m->s5_zq);
    }
    if (s == SSM_OK && (!m->params || !m->grads || !m->ws || !m->kernel || !m->kernel_f || !m->dkernel ||
                        (m->dense && (!m->dense_A || !m->dense_B || !m->basis)) ||
                        (m->s5 && (!m->s5_W || !m->s5_Ct || !m->s5_zq))))
        s = SSM_ERROR(SSM_ENOMEM, "out of memory for the model (%zu parameters)", m->n_params);
    return s;
}

/* initial values: one stream from the seed, consumed in table order */
static void model_values(ssm_train_model *m, const ssm_train_config *c, const ssm_init_file *f)
{
    const size_t H = m->H, K = m->K, N = m->N, M = m->M, din = m->din, nout = m->nout;
    const double complex *lam = f->lambda, *Bt = f->B;
    const ssm_zmat_struct *V = f->V->rows ? f->V : NULL;
    uint64_t rng = ssm_train_stream(c->seed, 0x5eed, 1, 0);
    float *p = m->params;
    uniform_fill(p + m->enc_w, din * H, 1.0 / sqrt((double)din), &rng);
    uniform_fill(p + m->enc_b, H, 1.0 / sqrt((double)din), &rng);
    double lo = log(c->dt_min), hi = log(c->dt_max);
    for (size_t l = 0; l < K; l++) {
        ssm_train_layer *ly = &m->layer[l];
        if (m->s5)
            ssm_train_s5_values(p, ly, H, f, lo, hi, &rng);
        for (size_t h = 0; h < H && !m->s5; h++) {
            p[ly->logdt + h] = (float)(lo + (hi - lo) * ssm_train_uniform(&rng));
            p[ly->D + h] = (float)ssm_train_normal(&rng);
            p[ly->ln_g + h] = 1.0f;
            p[ly->ln_b + h] = 0.0f;
            double c0[1024];
            for (size_t i = 0; i < N; i++)
                c0[i] = ssm_train_normal(&rng);
            if (m->dense) {
                for (size_t i = 0; i < N; i++)
                    p[ly->C + h * N + i] = (float)c0[i];
                continue;
            }
            for (size_t n = 0; n < M; n++) {
                size_t o = (h * M + n) * 2;
                p[ly->lam + o] = (float)creal(lam[n]);
                p[ly->lam + o + 1] = (float)cimag(lam[n]);
                p[ly->B + o] = (float)creal(Bt[n]);
                p[ly->B + o + 1] = (float)cimag(Bt[n]);
                if (m->dplr) { /* rank 1: P̃ = V*P of the file */
                    p[ly->P + o] = (float)creal(SSM_D(f->P, 0, n));
                    p[ly->P + o + 1] = (float)cimag(SSM_D(f->P, 0, n));
                }
                double complex cn = 0.0;
                if (V) /* C̃ = C₀ V: the same real C₀ seen through the init's eigenvectors */
                    for (size_t i = 0; i < N; i++)
                        cn += c0[i] * SSM_D(V, i, n);
                else   /* complex normal, E|C|² = 1 (S4D) */
                    cn = CMPLX(c0[2 * (n % (N / 2))] * M_SQRT1_2, c0[2 * (n % (N / 2)) + 1] * M_SQRT1_2);
                p[ly->C + o] = (float)creal(cn);
                p[ly->C + o + 1] = (float)cimag(cn);
            }
        }
        uniform_fill(p + ly->W, H * m->Hout, 1.0 / sqrt((double)H), &rng);
        uniform_fill(p + ly->b, m->Hout, 1.0 / sqrt((double)H), &rng);
    }
    uniform_fill(p + m->dec_w, H * nout, 1.0 / sqrt((double)H), &rng);
    uniform_fill(p + m->dec_b, nout, 1.0 / sqrt((double)H), &rng);

}

/* the dense path's frozen state matrix and input vector, in real coordinates */
static void model_dense(ssm_train_model *m, const ssm_init_file *f)
{
    const size_t N = m->N, M = m->M, r = f->r;
    const double complex *lam = f->lambda, *Bt = f->B;
    const ssm_zmat_struct *V = f->V, *P = f->P;
    {
        /* A = V_f (Λ_f − P_f P_f*) V_f* over the conjugate-closed set = 2 Re(V Λ V*) − Σ_k q_k q_kᵀ with
         * q_k = 2 Re(V P̃_k) (real); B = 2 Re(V B̃).  V is unitary for the NPLR decomposition. */
        for (size_t i = 0; i < N; i++) {
            double complex bi = 0.0;
            for (size_t n = 0; n < M; n++)
                bi += SSM_D(V, i, n) * Bt[n];
            m->dense_B[i] = 2.0 * creal(bi);
            for (size_t j = 0; j < N; j++) {
                double complex a = 0.0;
                for (size_t n = 0; n < M; n++)
                    a += SSM_D(V, i, n) * lam[n] * conj(SSM_D(V, j, n));
                m->dense_A[i * N + j] = 2.0 * creal(a);
            }
        }
        for (size_t k = 0; k < r; k++) {
            double q[1024];
            for (size_t i = 0; i < N; i++) {
                double complex s_ = 0.0;
                for (size_t n = 0; n < M; n++)
                    s_ += SSM_D(V, i, n) * SSM_D(P, k, n);
                q[i] = 2.0 * creal(s_);
            }
            for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < N; j++)
                    m->dense_A[i * N + j] -= q[i] * q[j];
        }
    }
}

ssm_status ssm_train_model_create(ssm_train_model **out, const ssm_train_config *c, size_t L, size_t din,
                                  size_t nout, int regression)
{
    *out = NULL;
    if (c->n_layers < 1 || c->n_layers > SSM_TRAIN_MAX_LAYERS)
        return SSM_ERROR(SSM_EINVAL, "--layers must be in [1, %d]", SSM_TRAIN_MAX_LAYERS);
    ssm_init_file *f = NULL;
    ssm_status s = load_init(&f, c);
    if (s != SSM_OK)
        return s;
    const size_t N = f->N, M = f->M, r = f->r;
    ssm_status code = SSM_EFORMAT;
    const char *why = NULL;
    if (!f->conj_sym)
        why = "the engine needs a conj_sym init (ssmkit init --conj-sym)";
    else if (N > 1024)
        why = "the engine takes state sizes N <= 1024";
    else if (r && !f->V->rows)
        why = "a DPLR init (P) needs V to rebuild its state matrix";
    else if (ssm_st_meta(f->st, "blocks") && !f->V->rows)
        why = "an S5 init (blocks) needs V for the S5 recipe B̃ = V⁻¹B, C̃ = CV";
    else if (r && c->s4_dense && c->lr_ssm != 0.0)
        code = SSM_EINVAL, why = "the dense reference path (--s4-kernel dense) is frozen: Lambda, B, Delta cannot "
                                 "train (use --freeze-ssm)";
    else if (r > 1 && !c->s4_dense)
        code = SSM_EINVAL, why = "the DPLR kernel takes rank 1 (P = Q); use --s4-kernel dense for a higher rank";
    if (why) {
        s = SSM_ERROR(code, "init '%s': %s", c->init, why);
        ssm_init_file_free(f);
        return s;
    }
    ssm_train_model *m = calloc(1, sizeof *m);
    if (!m) {
        ssm_init_file_free(f);
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    }
    m->L = L; m->din = din; m->H = c->d_model; m->N = N; m->M = M; m->K = c->n_layers; m->nout = nout;
    m->glu = c->glu; m->prenorm = c->prenorm; m->regression = regression;
    m->dense = r > 0 && c->s4_dense;
    m->dplr = r > 0 && !c->s4_dense;
    m->s5 = r == 0 && ssm_st_meta(f->st, "blocks") != NULL; /* s5-legs, ptd --blocks J: the S5 layer */
    m->train_ssm = c->lr_ssm > 0.0;
    m->dropout = (float)c->dropout;
    m->Hout = m->glu ? 2 * m->H : m->H;
    model_layout(m, c, din, nout);
    s = model_buffers(m);
    if (s != SSM_OK) {
        ssm_init_file_free(f);
        ssm_train_model_free(m);
        return s;
    }
    model_values(m, c, f);
    if (m->dense)
        model_dense(m, f);
    m->init_digest = ssm_init_digest(f->st);
    ssm_init_file_free(f);
    for (size_t l = 0; l < m->K && m->dplr && s == SSM_OK; l++) { /* the trained C̃ = C₀V(I − Ā^L) */
        const ssm_train_layer *ly = &m->layer[l];
        s = ssm_train_dplr_ctilde(m->params + ly->C, m->params + ly->lam, m->params + ly->P, m->params + ly->logdt,
                                  m->H, M, L);
    }
    if (s == SSM_OK)
        s = ssm_train_model_kernels(m, 1);
    if (s != SSM_OK) {
        ssm_train_model_free(m);
        return s;
    }
    *out = m;
    return SSM_OK;
}

ssm_status ssm_train_model_kernels(ssm_train_model *m, int basis_too)
{
    const size_t H = m->H, L = m->L;
    if (m->s5)
        return ssm_train_s5_model_kernels(m);
    for (size_t l = 0; l < m->K; l++) {
        const ssm_train_layer *ly = &m->layer[l];
        float *K = m->kernel + l * H * L;
        if (m->dense) {
            double *X = m->basis + l * H * L * m->N;
            if (basis_too) {
                ssm_status s = ssm_train_dense_basis(X, m->dense_A, m->dense_B, m->params + ly->logdt, H, L, m->N);
                if (s != SSM_OK)
                    return s;
            }
            ssm_train_kernel_dense_forward(K, X, m->params + ly->C, H, L, m->N);
        } else if (m->dplr) {
            const float *p = m->params;
            ssm_status s = ssm_train_kernel_dplr_forward(K, m->dplr_plan, p + ly->lam, p + ly->P, p + ly->B, p + ly->C,
                                                         p + ly->logdt);
            if (s != SSM_OK) {
                char why[300]; /* the message buffer is also SSM_ERROR's destination */
                snprintf(why, sizeof why, "%s", ssm_error_message());
                return SSM_ERROR(s, "layer %zu: %s (diverged training?)", l, why);
            }
        } else {
            ssm_status s = ssm_train_kernel_diag_forward(K, m->params + ly->lam, m->params + ly->B,
                                                         m->params + ly->C, m->params + ly->logdt, H, m->M, L);
            if (s != SSM_OK)
                return s;
        }
        for (size_t i = 0; i < H * L; i++)
            if (!isfinite(K[i]))
                return SSM_ERROR(SSM_ELOSS, "layer %zu: the SSM kernel is not finite (diverged training?)", l);
        ssm_train_conv_kernel_fft(m->kernel_f + l * H * m->nfreq * 2, m->conv, m->ws, K);
    }
    return SSM_OK;
}

void ssm_train_model_kernels_backward(ssm_train_model *m, const float *dKf, int train_ssm)
{
    const size_t H = m->H, L = m->L;
    if (m->s5) /* the S5 layer's gradients are complete after the chunks' backward passes */
        return;
    for (size_t l = 0; l < m->K; l++) {
        const ssm_train_layer *ly = &m->layer[l];
        double *dK = m->dkernel + l * H * L;
        ssm_train_conv_kernel_grad(dK, m->conv, m->ws, dKf + l * H * m->nfreq * 2);
        float *g = m->grads;
        const float *p = m->params;
        if (m->dense)
            ssm_train_kernel_dense_backward(g + ly->C, dK, m->basis + l * H * L * m->N, H, L, m->N);
        else if (m->dplr)
            ssm_train_kernel_dplr_backward(train_ssm ? g + ly->lam : NULL, train_ssm ? g + ly->P : NULL,
                                           train_ssm ? g + ly->B : NULL, g + ly->C, train_ssm ? g + ly->logdt : NULL,
                                           m->dplr_plan, dK, p + ly->lam, p + ly->P, p + ly->B, p + ly->C,
                                           p + ly->logdt);
        else
            ssm_train_kernel_diag_backward(train_ssm ? g + ly->lam : NULL, train_ssm ? g + ly->B : NULL, g + ly->C,
                                           train_ssm ? g + ly->logdt : NULL, dK, p + ly->lam, p + ly->B,
                                           p + ly->C, p + ly->logdt, H, m->M, L);
    }
}

/* ---- activations ------------------------------------------------------------------ */

struct ssm_train_acts {
    size_t bmax;
    float *xs;              /* [K+1][B,L,H] the residual stream: xs[0] = encoder output          */
    float *u, *y, *g, *o;   /* [K][B,L,H] SSM input, SSM output, GELU output; o [K][B,L,Hout]      */
    float *gd;              /* [K][B,L,H] GELU derivative at y                                   */
    float *uf;              /* [K][B,H,nfreq,2] spectra of the SSM inputs (training only)        */
    float *a, *mask, *r;    /* [K][B,L,H] GLU output, dropout mask (0 or 1/(1−p)), residual sum   */
    float *n1m, *n1r;       /* [K][B,L] pre-LN statistics                                        */
    float *n2m, *n2r;       /* [K][B,L] post-LN statistics                                       */
    float *pool, *out;      /* [B,H], [B,nout]                                                   */
    float *d[4], *dbig;     /* backward scratch [B,L,H] ×4, [B,L,Hout]                            */
    float *dpool, *dout;    /* [B,H], [B,nout]                                                   */
    float *grads, *dkf;     /* private gradient arena, kernel spectra [K,H,nfreq,2]               */
    float *s5x, *s5s;       /* S5: [K][B,L,2M] states, backward scratch (ssm_train_s5_scratch)    */
    ssm_train_conv_ws *ws;
};

void ssm_train_acts_free(ssm_train_acts *a)
{
    if (!a)
        return;
    free(a->xs); free(a->u); free(a->y); free(a->g); free(a->gd); fftwf_free(a->uf); free(a->o); free(a->a); free(a->mask); free(a->r);
    free(a->n1m); free(a->n1r); free(a->n2m); free(a->n2r); free(a->pool); free(a->out);
    for (int i = 0; i < 4; i++)
        free(a->d[i]);
    free(a->dbig); free(a->dpool); free(a->dout); free(a->grads); free(a->dkf); free(a->s5x); free(a->s5s);
    ssm_train_conv_ws_free(a->ws);
    free(a);
}

static ssm_train_acts *acts_new(const ssm_train_model *m, size_t bmax)
{
    ssm_train_acts *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    const size_t K = m->K, BLH = bmax * m->L * m->H, BL = bmax * m->L;
    a->bmax = bmax;
    a->xs = malloc((K + 1) * BLH * sizeof(float));
    a->u = malloc(K * BLH * sizeof(float));
    a->y = malloc(K * BLH * sizeof(float));
    a->g = malloc(K * BLH * sizeof(float));
    a->gd = malloc(K * BLH * sizeof(float));
    /* FFTW's alignment: the FFT writes the spectra straight into it (ssm_train_conv_forward) */
    a->uf = m->s5 ? NULL : fftwf_malloc(K * bmax * m->H * m->nfreq * 2 * sizeof(float));
    if (m->s5) {
        a->s5x = malloc(K * bmax * m->L * 2 * m->M * sizeof(float));
        a->s5s = malloc(ssm_train_s5_scratch(bmax, m->L, m->H, m->M) * sizeof(float));
    }
    a->o = malloc(K * bmax * m->L * m->Hout * sizeof(float));
    a->a = malloc(K * BLH * sizeof(float));
    a->mask = malloc(K * BLH * sizeof(float));
    a->r = malloc(K * BLH * sizeof(float));
    a->n1m = malloc(K * BL * sizeof(float)); a->n1r = malloc(K * BL * sizeof(float));
    a->n2m = malloc(K * BL * sizeof(float)); a->n2r = malloc(K * BL * sizeof(float));
    a->pool = malloc(bmax * m->H * sizeof(float));
    a->out = malloc(bmax * m->nout * sizeof(float));
    for (int i = 0; i < 4; i++)
        a->d[i] = malloc(BLH * sizeof(float));
    a->dbig = malloc(bmax * m->L * m->Hout * sizeof(float));
    a->dpool = malloc(bmax * m->H * sizeof(float));
    a->dout = malloc(bmax * m->nout * sizeof(float));
    a->grads = calloc(m->n_params, sizeof(float));
    a->dkf = calloc(K * m->H * m->nfreq * 2, sizeof(float));
    int ok = ssm_train_conv_ws_create(&a->ws, m->conv) == SSM_OK; /* (ENOMEM: this function's NULL) */
    ok = ok && (m->s5 ? a->s5x && a->s5s : a->uf != NULL);
    ok = ok && a->xs && a->u && a->y && a->g && a->gd && a->o && a->a && a->mask && a->r && a->n1m && a->n1r && a->n2m &&
             a->n2r && a->pool && a->out && a->d[0] && a->d[1] && a->d[2] && a->d[3] && a->dbig && a->dpool &&
             a->dout && a->grads && a->dkf && a->ws;
    if (!ok) {
        ssm_train_acts_free(a);
        return NULL;
    }
    return a;
}

float *ssm_train_acts_grads(ssm_train_acts *a) { return a->grads; }
float *ssm_train_acts_dkf(ssm_train_acts *a) { return a->dkf; }
const float *ssm_train_acts_output(const ssm_train_acts *a) { return a->out; }

/* ---- one chunk: forward (+ backward) ------------------------------------------------- */

/* the mean of an S5 layer's log Δ over its modes: the Δ of its Fourier-mode noise */
static float s5_mean_logstep(const float *logstep, size_t M)
{
    double s = 0.0;
    for (size_t n = 0; n < M; n++)
        s += logstep[n];
    return (float)(s / (double)M);
}

/* layer l's SSM on the chunk: y [B,L,H] from u — the S5 layer, or the FFT convolution with the step's
 * kernel (keeping the input spectra for the backward pass when `backward`) */
static void ssm_forward(const ssm_train_model *m, ssm_train_acts *a, size_t l, float *y, const float *u, size_t B,
                        int backward)
{
    const size_t H = m->H, nf2 = m->nfreq * 2;
    if (m->s5) {
        ssm_train_s5 s5 = ssm_train_s5_view(m, l);
        ssm_train_s5_forward(y, a->s5x + l * a->bmax * m->L * 2 * m->M, &s5, u, B, m->L);
        return;
    }
    float *uf = backward ? a->uf + l * a->bmax * H * nf2 : NULL;
    ssm_train_conv_forward(y, uf, m->conv, a->ws, u, m->kernel_f + l * H * nf2, m->params + m->layer[l].D, B);
}

/* its backward pass: du += ∂/∂u from dy; the S5 layer's parameter gradients into the private arena (Λ,
 * B̃, Δ only when they train), the convolution's kernel spectra into the workspace's accumulator */
static void ssm_backward(const ssm_train_model *m, ssm_train_acts *a, size_t l, float *du, const float *dy,
                         const float *u, size_t B)
{
    const ssm_train_layer *ly = &m->layer[l];
    const size_t H = m->H, nf2 = m->nfreq * 2;
    float *gr = a->grads;
    if (m->s5) {
        ssm_train_s5 s5 = ssm_train_s5_view(m, l);
        const int t = m->train_ssm;
        ssm_train_s5_grads g5 = {t ? gr + ly->lam : NULL, t ? gr + ly->B : NULL, gr + ly->C,
                                 t ? gr + ly->logdt : NULL, gr + ly->D};
        ssm_train_s5_backward(du, &g5, a->s5s, &s5, dy, u, a->s5x + l * a->bmax * m->L * 2 * m->M, B, m->L);
        return;
    }
    ssm_train_conv_backward(du, a->dkf + l * H * nf2, gr + ly->D, m->conv, a->ws, dy, u, a->uf + l * a->bmax * H * nf2,
                            m->kernel_f + l * H * nf2, m->params + ly->D, B);
}

/* The cosines cos(ω Δ_h ℓ) do not depend on the sequence: they are computed once per call into a table
 * of H×L doubles (the same double expression, so the same bits as computing them per sequence, which is
 * what happens when the table cannot be allocated); this took most of a noisy evaluation's time. */
static void add_noise(float *u, const ssm_train_noise *nz, const float *logdt, size_t dstride, const uint64_t *ids,
                      size_t B, size_t L, size_t H, size_t layer)
{
    double *cw = malloc(H * L * sizeof *cw);
    for (size_t h = 0; cw && h < H; h++) {
        double w = nz->omega * exp((double)logdt[h * dstride]);
        for (size_t l = 0; l < L; l++)
            cw[h * L + l] = cos(w * (double)l);
    }
    for (size_t b = 0; b < B; b++)
        for (size_t h = 0; h < H; h++) {
            uint64_t st = ssm_train_stream(nz->seed, ids[b], layer, h);
            double amp = nz->amp * ssm_train_uniform(&st), w = nz->omega * exp((double)logdt[h * dstride]);
            for (size_t l = 0; l < L; l++)
                u[(b * L + l) * H + h] += (float)(amp * (cw ? cw[h * L + l] : cos(w * (double)l)));
        }
    free(cw);
}

/* Layer l's SSM input: LN(x) (pre-norm), x plus noise, or (post-norm, no noise) the residual stream x
 * itself, which then needs no copy. */
static float *ssm_input(ssm_train_acts *a, size_t l, size_t stride, int prenorm, const ssm_train_noise *noise)
{
    if (!prenorm && !(noise && noise->amp != 0.0))
        return a->xs + l * stride;
    return a->u + l * stride;
}

double ssm_train_model_step(ssm_train_model *m, ssm_train_acts *a, const float *x, const float *y,
                            const uint64_t *ids, size_t B, int train, uint64_t seed, uint64_t step,
                            const ssm_train_noise *noise, int backward, float scale, size_t *correct,
                            double tol)
{
    const size_t L = m->L, H = m->H, K = m->K, Ho = m->Hout, BL = B * L, BLH = BL * H;
    const size_t stride = a->bmax * L * H, ostride = a->bmax * L * Ho, sstride = a->bmax * L;
    const float *p = m->params;
    const int drop = train && m->dropout > 0.0f;
    const float keep_scale = drop ? 1.0f / (1.0f - m->dropout) : 1.0f;

    /* ---- forward ---- */
    ssm_train_linear_forward(a->xs, x, p + m->enc_w, p + m->enc_b, BL, m->din, H);
    for (size_t l = 0; l < K; l++) {
        const ssm_train_layer *ly = &m->layer[l];
        float *cur = a->xs + l * stride, *nxt = a->xs + (l + 1) * stride;
        float *u = ssm_input(a, l, stride, m->prenorm, noise), *yy = a->y + l * stride, *g = a->g + l * stride;
        float *o = a->o + l * ostride;
        float *act = m->glu ? a->a + l * stride : o, *mask = a->mask + l * stride, *r = a->r + l * stride;
        if (m->prenorm)
            ssm_train_layernorm_forward(u, a->n1m + l * sstride, a->n1r + l * sstride, cur, p + ly->ln_g,
                                        p + ly->ln_b, BL, H);
        else if (u != cur)
            memcpy(u, cur, BLH * sizeof *u);
        if (noise && noise->amp != 0.0) { /* S5: Δ per mode; the noise takes the layer's geometric mean */
            float s5dt = m->s5 ? s5_mean_logstep(p + ly->logdt, m->M) : 0.0f;
            add_noise(u, noise, m->s5 ? &s5dt : p + ly->logdt, m->s5 ? 0 : 1, ids, B, L, H, l);
        }
        ssm_forward(m, a, l, yy, u, B, backward);
        ssm_train_gelu_forward(g, a->gd + l * stride, yy, BLH);
        ssm_train_linear_forward(o, g, p + ly->W, p + ly->b, BL, H, Ho);
        if (m->glu)
            ssm_train_glu_forward(act, o, BL, H);
        if (drop)
            for (size_t b = 0; b < B; b++) {
                uint64_t st = ssm_train_stream(seed, step, ids[b], 1000 + l);
                float *mk = mask + b * L * H;
                const uint32_t thr = (uint32_t)(m->dropout * 16777216.0); /* keep when 24 random bits >= p·2^24 */
                for (size_t i = 0; i < L * H; i += 2) {
                    uint64_t bits = ssm_train_rand(&st);
                    mk[i] = (uint32_t)(bits >> 40) < thr ? 0.0f : keep_scale;
                    if (i + 1 < L * H)
                        mk[i + 1] = (uint32_t)((bits >> 8) & 0xffffff) < thr ? 0.0f : keep_scale;
                }
            }
        for (size_t i = 0; i < BLH; i++)
            r[i] = cur[i] + (drop ? act[i] * mask[i] : act[i]);
        if (m->prenorm)
            memcpy(nxt, r, BLH * sizeof *r);
        else
            ssm_train_layernorm_forward(nxt, a->n2m + l * sstride, a->n2r + l * sstride, r, p + ly->ln_g,
                                        p + ly->ln_b, BL, H);
    }
    ssm_train_meanpool_forward(a->pool, a->xs + K * stride, B, L, H);
    ssm_train_linear_forward(a->out, a->pool, p + m->dec_w, p + m->dec_b, B, H, m->nout);
    float *dout = backward ? a->dout : NULL;
    if (dout)
        memset(dout, 0, B * m->nout * sizeof *dout);
    double loss = m->regression ? ssm_train_mse(dout, a->out, y, B, scale, tol, correct)
                                : ssm_train_crossentropy(dout, a->out, y, B, m->nout, scale, correct);
    if (!backward)
        return loss;

    /* ---- backward (all gradients accumulate into the private arena) ---- */
    float *gr = a->grads;
    memset(a->dpool, 0, B * H * sizeof *a->dpool);
    ssm_train_linear_backward(a->dpool, gr + m->dec_w, gr + m->dec_b, dout, a->pool, p + m->dec_w, B, H, m->nout);
    float *dS = a->d[0];
    memset(dS, 0, BLH * sizeof *dS);
    ssm_train_meanpool_backward(dS, a->dpool, B, L, H);
    for (size_t l = K; l-- > 0;) {
        const ssm_train_layer *ly = &m->layer[l];
        float *cur = a->xs + l * stride;
        float *u = ssm_input(a, l, stride, m->prenorm, noise), *g = a->g + l * stride, *o = a->o + l * ostride;
        float *mask = a->mask + l * stride, *r = a->r + l * stride;
        float *dR = dS, *d1, *d2;
        if (!m->prenorm) { /* nxt = LN(r): dR = ∂/∂r */
            dR = dS == a->d[0] ? a->d[1] : a->d[0];
            memset(dR, 0, BLH * sizeof *dR);
            ssm_train_layernorm_backward(dR, gr + ly->ln_g, gr + ly->ln_b, dS, r, p + ly->ln_g,
                                         a->n2m + l * sstride, a->n2r + l * sstride, BL, H);
        }
        d1 = a->d[2];
        d2 = a->d[3];
        /* r = cur + dropout(act): ∂/∂cur = dR (kept in dR), ∂/∂act = dR ⊙ mask */
        const float *dact = dR;
        if (drop) {
            for (size_t i = 0; i < BLH; i++)
                d1[i] = dR[i] * mask[i];
            dact = d1;
        }
        const float *dlin = dact;
        if (m->glu) {
            memset(a->dbig, 0, B * L * Ho * sizeof *a->dbig);
            ssm_train_glu_backward(a->dbig, o, dact, BL, H);
            dlin = a->dbig;
        }
        memset(d2, 0, BLH * sizeof *d2); /* ∂/∂g */
        ssm_train_linear_backward(d2, gr + ly->W, gr + ly->b, dlin, g, p + ly->W, BL, H, Ho);
        memset(d1, 0, BLH * sizeof *d1); /* ∂/∂y */
        ssm_train_gelu_backward(d1, a->gd + l * stride, d2, BLH);
        float *du = m->prenorm ? d2 : dR;  /* post-LN: u = cur, so ∂/∂u adds straight into ∂/∂cur */
        if (m->prenorm)
            memset(du, 0, BLH * sizeof *du);
        ssm_backward(m, a, l, du, d1, u, B);
        if (m->prenorm)
            ssm_train_layernorm_backward(dR, gr + ly->ln_g, gr + ly->ln_b, du, cur, p + ly->ln_g,
                                         a->n1m + l * sstride, a->n1r + l * sstride, BL, H);
        dS = dR;
    }
    ssm_train_linear_backward(NULL, gr + m->enc_w, gr + m->enc_b, dS, x, p + m->enc_w, BL, m->din, H);
    return loss;
}

ssm_status ssm_train_acts_create(ssm_train_acts **out, const ssm_train_model *m, size_t bmax)
{
    *out = acts_new(m, bmax);
    return *out ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "train: out of memory for the activations of %zu sequences", bmax);
}

ssm_status ssm_train_model_top_mode(double *w, const ssm_train_model *m)
{
    if (m->dense)
        return SSM_ERROR(SSM_EINVAL, "the dense s4-dplr path stores no Lambda: its top mode is not defined "
                                     "(give the frequency: fourier:OMEGA:AMP)");
    size_t per_layer = (m->s5 ? 1 : m->H) * m->M; /* S5: one Λ [M] per layer */
    double top = 0.0;
    for (size_t l = 0; l < m->K; l++)
        for (size_t k = 0; k < per_layer; k++)
            top = fmax(top, fabs((double)m->params[m->layer[l].lam + 2 * k + 1]));
    *w = top;
    return SSM_OK;
}
