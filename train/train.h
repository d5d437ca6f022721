/* train/train.h — the compact training engine (doc/design.md "Training engine").
 *
 * Model (doc/reference.md §3, §6):
 *   input projection → K × [ (pre-LN) → diagonal complex SSM long convolution + D skip (or, for an S5
 *   init, the S5 layer: one MIMO state shared by the channels) → GELU → position-wise linear (optional
 *   GLU) → dropout → residual → (post-LN) ] → mean pool → linear decoder.
 * Every layer is a *_forward / *_backward pair on flat float buffers (shapes in the comments; B = batch
 * rows handled by the caller, L = sequence length, H = d_model).  Backward functions ACCUMULATE (+=) into
 * every gradient they write (llm.c convention), so the caller zeroes once per step.
 * Parameters, gradients and the two AdamW moments each live in one float arena; a name → offset table
 * (ssm_train_tensor) describes the arena.  Checkpoint = JSON header (magic, version, config, step, RNG
 * state, tensor table) + the arenas, written atomically.
 *
 * Threads: the batch is split into one contiguous chunk per thread; each thread runs the whole model on
 * its chunk with private activations and a private gradient arena; the arenas are summed in thread
 * order.  Results are therefore deterministic for a given seed and thread count.
 */
#ifndef SSM_TRAIN_H
#define SSM_TRAIN_H

#include "init/init.h"

#include <stdint.h>

/* ===================================================================== */
/* Configuration                                                          */
/* ===================================================================== */

typedef enum { SSM_TASK_SFMNIST, SSM_TASK_ADDING, SSM_TASK_LISTOPS, SSM_TASK_SINUSOID, SSM_TASK_COUNT } ssm_train_task;

/* Everything that defines a run; stored in the checkpoint header. */
typedef struct {
    ssm_train_task task;
    size_t seq_len;                  /* 0: task default (sfmnist 784, adding 200, listops 256, sinusoid 256) */
    size_t n_train, n_val, n_test;   /* 0: default — n_train the task's (synthetic 10000; sfmnist all but the
                                      * validation images); n_val, n_test ⌈n_train/10⌉ when n_train is
                                      * given, at most the task's defaults (synthetic 1000, 1000; sfmnist
                                      * 5000, 10000), which they are otherwise                              */
    char data_dir[512];              /* sfmnist: folder with the four gzip'd IDX files ("" = Debian path) */
    char init[512];                  /* ssmkit-init/1 file path, or an init method name (built on the fly) */
    double init_eps;                 /* PTD budget when built by name (0: 0.05)                           */
    size_t d_model;
    size_t d_state;                  /* 0: the init file's N, or 64 for a method; else an init file must
                                      * have exactly this N (EINVAL otherwise)                              */
    size_t n_layers;
    int glu, prenorm;
    double dropout, dt_min, dt_max;
    double lr, lr_ssm, wd, clip;     /* lr_ssm = 0 freezes Lambda, (P,) B, Delta (the PTD protocol)       */
    size_t epochs, max_steps, batch, warmup, threads, ckpt_every;
    uint64_t seed;
    int s4_dense;                    /* inits with a rank correction P (s4-dplr): 0 = the DPLR Cauchy kernel
                                      * (trainable, the default), 1 = the dense reference path (frozen)    */
} ssm_train_config;

/* The defaults (sinusoid-free S4D-style small model): d_model 64, d_state 0 (the init's; 64 by name), 4
 * layers, post-LN, dropout 0.1, Δ ∈ [1e-3, 1e-1], AdamW lr 0.01, wd 0.05, lr_ssm 0.001, clip 1, 1 epoch,
 * batch 64, 2 threads. */
void ssm_train_config_default(ssm_train_config *c);
/* "sfmnist", "adding", "listops", "sinusoid". */
const char *ssm_train_task_name(ssm_train_task t);
/* EINVAL naming the tasks when `name` is none of them. */
SSM_MUST_CHECK ssm_status ssm_train_task_lookup(ssm_train_task *t, const char *name);
/* Range checks of every field (EINVAL with the field name). */
SSM_MUST_CHECK ssm_status ssm_train_config_check(const ssm_train_config *c);

/* ===================================================================== */
/* Random numbers: splitmix64, reproducible everywhere                    */
/* ===================================================================== */

/* Next 64 random bits of the stream *state (splitmix64, Steele et al. 2014). */
uint64_t ssm_train_rand(uint64_t *state);
/* Uniform in [0, 1) with 53 random bits; standard normal (Box–Muller, two draws). */
double ssm_train_uniform(uint64_t *state);
/* Standard normal from two uniforms of *state (Box–Muller). */
double ssm_train_normal(uint64_t *state);
/* A stream seed from several counters (order matters): for counter-based streams such as dropout
 * masks, independent of how the batch is split over threads. */
uint64_t ssm_train_stream(uint64_t a, uint64_t b, uint64_t c, uint64_t d);

/* ===================================================================== */
/* Data                                                                   */
/* ===================================================================== */

/* One split: n sequences of L steps × din features; y holds the class (as a float) or the regression
 * target.  Images are kept as bytes (x = xb·xscale + xshift), synthetic data as floats. */
typedef struct {
    size_t n, L, din;
    float *x;                 /* [n, L, din] or NULL */
    uint8_t *xb;              /* [n, L, din] or NULL */
    float xscale, xshift;
    float *y;                 /* [n] */
    float *freq;              /* sinusoid only: the frequency of each sample [n] (else NULL) */
} ssm_train_split;

typedef struct {
    ssm_train_split train, val, test;
    size_t n_out;             /* classes, or 1 for regression */
    int regression;
    double tol;               /* regression: |prediction − target| < tol counts as correct */
} ssm_train_data;

/* The shapes of a task's data without loading it: sequence length, features per step, outputs
 * (classes, or 1 for regression).  EINVAL for a --seq-len the task cannot take. */
SSM_MUST_CHECK ssm_status ssm_train_task_shape(size_t *L, size_t *din, size_t *nout, int *regression,
                                               const ssm_train_config *cfg);
/* Parse an IDX file held in memory, raw or gzip'd (one or more members): magic 0x803 with 28×28
 * images (images = 1) or 0x801 labels (images = 0), 1 … 10⁶ items, and exactly the bytes the header
 * declares.  *out (malloc'd): n·784 or n bytes.  EFORMAT naming what is wrong; a small input never
 * allocates more than its header declares. */
SSM_MUST_CHECK ssm_status ssm_train_idx_read_mem(unsigned char **out, size_t *n, const unsigned char *buf, size_t len,
                                                 int images);
/* Load or generate the task's data (synthetic tasks from cfg->seed; sfmnist from cfg->data_dir or
 * /usr/share/datasets/fashion-mnist, the last n_val training images forming the fixed validation split).
 * EIO naming the missing file and the Debian package when the dataset is absent; EFORMAT for a bad
 * IDX file. */
SSM_MUST_CHECK ssm_status ssm_train_data_load(ssm_train_data *d, const ssm_train_config *cfg);
/* Free every split of d (safe on a zeroed or partly loaded d). */
void ssm_train_data_free(ssm_train_data *d);
/* Gather samples idx[0..count) into x [count, L, din] and y [count]. */
void ssm_train_split_gather(float *x, float *y, const ssm_train_split *s, const size_t *idx, size_t count);

/* ===================================================================== */
/* Layers: forward/backward pairs on flat float buffers                   */
/* ===================================================================== */

/* out[R,O] = inp[R,I] · w[I,O] + b[O] (cblas_sgemm).  b may be NULL. */
void ssm_train_linear_forward(float *out, const float *inp, const float *w, const float *b, size_t R, size_t In,
                              size_t O);
/* dinp[R,I] += dout·wᵀ (skipped when dinp is NULL), dw[I,O] += inpᵀ·dout, db[O] += Σ_rows dout. */
void ssm_train_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                               const float *w, size_t R, size_t In, size_t O);
/* Exact GELU: out = x·Φ(x) (erf form, as torch.nn.functional.gelu; erf to 1.5e-7 absolute), n elements;
 * deriv = dGELU/dx saved for the backward pass, which is then dinp += dout ⊙ deriv.  out, deriv and inp
 * must not overlap. */
void ssm_train_gelu_forward(float *out, float *deriv, const float *inp, size_t n);
/* dinp[i] += dout[i]·deriv[i], deriv from ssm_train_gelu_forward. */
void ssm_train_gelu_backward(float *dinp, const float *deriv, const float *dout, size_t n);
/* GLU over the last axis: out[R,H] = a ⊙ σ(g) with inp[R,2H] = [a | g] (torch.nn.functional.glu). */
void ssm_train_glu_forward(float *out, const float *inp, size_t R, size_t H);
/* dinp[R,2H] += ∂/∂[a | g] of Σ dout ⊙ a ⊙ σ(g). */
void ssm_train_glu_backward(float *dinp, const float *inp, const float *dout, size_t R, size_t H);
/* LayerNorm over the last axis (eps 1e-5): out[R,H], mean[R], rstd[R] saved for backward. */
void ssm_train_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *g,
                                 const float *b, size_t R, size_t H);
/* dinp += ∂/∂inp, dg += ∂/∂γ, db += ∂/∂β, from the saved mean and rstd. */
void ssm_train_layernorm_backward(float *dinp, float *dg, float *db, const float *dout, const float *inp,
                                  const float *g, const float *mean, const float *rstd, size_t R, size_t H);
/* The vector unit the GELU and LayerNorm loops use (train/layers.c): −1 the CPU's widest (default), 0 the
 * x86-64 baseline, 1 AVX2, 2 AVX-512F.  Every variant gives the same bits; this is for tests that check
 * it.  Returns −1 (and changes nothing) for a variant the CPU or the build lacks.  Not thread-safe: call
 * before training starts. */
int ssm_train_simd_force(int level);
/* Mean over the sequence: out[B,H] = (1/L) Σ_ℓ inp[B,L,H]. */
void ssm_train_meanpool_forward(float *out, const float *inp, size_t B, size_t L, size_t H);
/* dinp[b,ℓ,h] += dout[b,h]/L. */
void ssm_train_meanpool_backward(float *dinp, const float *dout, size_t B, size_t L, size_t H);
/* Cross-entropy of logits[B,C] against integer classes y (as floats).  Writes dlogits (softmax − onehot)
 * scaled by `scale` (1/global batch) when dlogits is not NULL.  Returns Σ_b loss and counts the correct
 * argmax predictions in *correct. */
double ssm_train_crossentropy(float *dlogits, const float *logits, const float *y, size_t B, size_t C,
                              float scale, size_t *correct);
/* Squared error of pred[B] against y; dpred = 2(pred − y)·scale; correct when |pred − y| < tol. */
double ssm_train_mse(float *dpred, const float *pred, const float *y, size_t B, float scale, double tol,
                     size_t *correct);

/* ===================================================================== */
/* The SSM layer: kernel (double) and FFT long convolution (float)        */
/* ===================================================================== */

/* Diagonal ZOH Vandermonde kernel (doc/reference.md §3), per channel h < H, in double, rounded to float:
 *   K[h,ℓ] = 2·Re Σ_{n<M} C[h,n] B[h,n] (e^{Δ_h Λ[h,n]} − 1)/Λ[h,n] · e^{ℓ Δ_h Λ[h,n]},  Δ_h = exp(logdt[h]).
 * lam, B, C: [H, M, 2] (re, im); logdt [H]; K [H, L].  Cost O(H·M·L).  ENOMEM when its L-double
 * accumulator cannot be allocated (K is then not written: never a stale kernel). */
SSM_MUST_CHECK ssm_status ssm_train_kernel_diag_forward(float *K, const float *lam, const float *B, const float *C,
                                                        const float *logdt, size_t H, size_t M, size_t L);
/* Gradients of Σ dK·K: dC always; dlam, dB, dlogdt when not NULL (accumulated).  dK [H, L] in double. */
void ssm_train_kernel_diag_backward(float *dlam, float *dB, float *dC, float *dlogdt, const double *dK,
                                    const float *lam, const float *B, const float *C, const float *logdt,
                                    size_t H, size_t M, size_t L);
/* Dense (DPLR-equivalent) kernel K[h,ℓ] = Σ_n C[h,n] X[h,ℓ,n] from a precomputed basis X [H, L, N]
 * (double); dC[h,n] += Σ_ℓ dK[h,ℓ] X[h,ℓ,n]. */
void ssm_train_kernel_dense_forward(float *K, const double *X, const float *C, size_t H, size_t L, size_t N);
/* dC[h,n] += Σ_ℓ dK[h,ℓ] X[h,ℓ,n]: the gradient of the dense kernel (C only; A, B, Δ frozen). */
void ssm_train_kernel_dense_backward(float *dC, const double *dK, const double *X, size_t H, size_t L, size_t N);
/* The dense basis X[h,ℓ,:] = Ā_h^ℓ B̄_h of the real system (A [N,N], B [N]) under ZOH with
 * Δ_h = exp(logdt[h]): Ā = expm(ΔA) (GSL, scaling and squaring), B̄ = A⁻¹(Ā − I)B.  EINVAL when A is
 * singular.  Cost O(H·(N³ + L·N²)). */
SSM_MUST_CHECK ssm_status ssm_train_dense_basis(double *X, const double *A, const double *B, const float *logdt, size_t H,
                                 size_t L, size_t N);

/* The S4 DPLR kernel (train/dplr_kernel.c; doc/reference.md §2–3): per channel h < H, A = Λ − pp* over
 * the conjugate-closed set of the M stored modes (rank 1, P = Q), bilinear discretisation with
 * Δ_h = exp(logdt[h]), and the trained C̃ = C(I − Ā^L):  K[h,ℓ] = C Ā^ℓ B̄ for ℓ < L, computed as the
 * Cauchy sums + Woodbury at the L roots of unity and one inverse real FFT (FFTW, double).  lam, P, B, C:
 * [H, M, 2] (re, im); logdt [H]; K [H, L].  A plan holds the transforms and the scratch (one thread). */
typedef struct ssm_train_dplr ssm_train_dplr;
/* Plan the kernels of H channels, M stored modes, length L (EINVAL for empty sizes, ENOMEM). */
SSM_MUST_CHECK ssm_status ssm_train_dplr_create(ssm_train_dplr **out, size_t H, size_t M, size_t L);
/* Free a plan (NULL ok). */
void ssm_train_dplr_free(ssm_train_dplr *d);
/* K [H, L] (rounded to float) from the parameters.  ELOSS when a value is not finite (K partly written).
 * Cost O(H·M·L). */
SSM_MUST_CHECK ssm_status ssm_train_kernel_dplr_forward(float *K, ssm_train_dplr *d, const float *lam, const float *P,
                                                        const float *B, const float *C, const float *logdt);
/* Gradients of Σ dK·K (dK [H, L] double), accumulated: dC always; dlam, dP, dB, dlogdt when not NULL.
 * Cost about 3·O(H·M·L). */
void ssm_train_kernel_dplr_backward(float *dlam, float *dP, float *dB, float *dC, float *dlogdt, ssm_train_dplr *d,
                                    const double *dK, const float *lam, const float *P, const float *B,
                                    const float *C, const float *logdt);
/* C ← C(I − Ā^L) in place, per channel (the trained C̃ of the S4 paper from a given C); O(H·M·L).  ENOMEM. */
SSM_MUST_CHECK ssm_status ssm_train_dplr_ctilde(float *C, const float *lam, const float *P, const float *logdt,
                                                size_t H, size_t M, size_t L);

/* FFT convolution plan for H channels of length L (real transforms of length nfft ≥ 2L, FFTW, planned
 * once; execute is thread-safe on the plan's per-call buffers). */
typedef struct ssm_train_conv ssm_train_conv;
/* Plan the convolution of H channels of length L (*out NULL on failure). */
SSM_MUST_CHECK ssm_status ssm_train_conv_create(ssm_train_conv **out, size_t H, size_t L);
/* Free a plan (NULL ok). */
void ssm_train_conv_free(ssm_train_conv *p);
/* Per-thread scratch for a plan. */
typedef struct ssm_train_conv_ws ssm_train_conv_ws;
/* Per-thread scratch of a plan (ENOMEM: *out NULL); one per thread executing the plan. */
SSM_MUST_CHECK ssm_status ssm_train_conv_ws_create(ssm_train_conv_ws **out, const ssm_train_conv *p);
/* Free a workspace (NULL ok). */
void ssm_train_conv_ws_free(ssm_train_conv_ws *w);
/* Complex spectrum length nfft/2 + 1. */
size_t ssm_train_conv_nfreq(const ssm_train_conv *p);
/* Kf [H, nfreq, 2] = rfft of K [H, L] zero-padded. */
void ssm_train_conv_kernel_fft(float *Kf, const ssm_train_conv *p, ssm_train_conv_ws *w, const float *K);
/* y[b,ℓ,h] = Σ_{j≤ℓ} K[h,j] u[b,ℓ−j,h] + D[h] u[b,ℓ,h] for b < B; u, y [B, L, H].  Uf [B, H, nfreq, 2]
 * (may be NULL) receives the input spectra for the backward pass.  Cost 2·B·H FFTs. */
void ssm_train_conv_forward(float *y, float *Uf, const ssm_train_conv *p, ssm_train_conv_ws *w, const float *u,
                            const float *Kf, const float *D, size_t B);
/* du += ∂/∂u, dD += ∂/∂D, dKf [H, nfreq, 2] += spectrum whose inverse (ssm_train_conv_kernel_grad)
 * is ∂/∂K.  Uf: the forward's input spectra, or NULL to recompute them from u.  Cost 2–3·B·H FFTs. */
void ssm_train_conv_backward(float *du, float *dKf, float *dD, const ssm_train_conv *p, ssm_train_conv_ws *w,
                             const float *dy, const float *u, const float *Uf, const float *Kf, const float *D,
                             size_t B);
/* dK [H, L] (double) from the accumulated spectrum dKf. */
void ssm_train_conv_kernel_grad(double *dK, const ssm_train_conv *p, ssm_train_conv_ws *w, const float *dKf);

/* ===================================================================== */
/* The S5 layer (train/s5_layer.c): one MIMO state shared by H channels   */
/* ===================================================================== */

/* S5 (lindermanlab/S5, s5/ssm.py) with conj_sym and ZOH: M stored modes (state size N = 2M), one Δ per
 * mode.  Λ̄_n = e^{Δ_n Λ_n}, B̄[n,:] = (Λ̄_n − 1)/Λ_n · B̃[n,:]; x_ℓ = Λ̄ ⊙ x_{ℓ−1} + B̄ u_ℓ (x_{−1} = 0),
 * y_ℓ = 2·Re(C̃ x_ℓ) + D ⊙ u_ℓ.  A layer's parameters and the per-step quantities derived from them: */
#define SSM_TRAIN_S5_MAX_M 512
typedef struct {
    size_t H, M;                               /* channels, stored modes (M ≤ SSM_TRAIN_S5_MAX_M)          */
    const float *lam, *B, *C, *logstep, *D;    /* Λ [M,2], B̃ [M,H,2], C̃ [H,M,2], log Δ [M], D [H]          */
    float *W;                                  /* [H, 2M]: B̄ᵀ as (re, im) pairs     (ssm_train_s5_discretize) */
    float *Ct;                                 /* [2M, H]: rows 2n, 2n+1 = 2·Re C̃[:,n], −2·Im C̃[:,n]       */
    double *zq;                                /* [M, 4]: Λ̄_n and (Λ̄_n − 1)/Λ_n as (re, im)               */
} ssm_train_s5;
/* Gradient destinations (accumulated); lam, B, logstep NULL: Λ, B̃, Δ frozen (not computed). */
typedef struct {
    float *lam, *B, *C, *logstep, *D;
} ssm_train_s5_grads;

/* W, Ct and zq from the parameters (in double, rounded to float once per step).  ELOSS when a mode or
 * B̄, C̃ is not finite. */
SSM_MUST_CHECK ssm_status ssm_train_s5_discretize(const ssm_train_s5 *s);
/* y [B, L, H] for u [B, L, H]; X [B, L, 2M] receives the states (re, im) for the backward pass.  The
 * recurrence runs in double per mode; the two projections are sgemms.  Cost O(B·L·M·H). */
void ssm_train_s5_forward(float *y, float *X, const ssm_train_s5 *s, const float *u, size_t B, size_t L);
/* du += ∂/∂u and the parameter gradients into g, from dy and the forward's u and X; the adjoint
 * recurrence runs backwards in time.  scratch: ssm_train_s5_scratch(B, L, H, M) floats. */
void ssm_train_s5_backward(float *du, const ssm_train_s5_grads *g, float *scratch, const ssm_train_s5 *s,
                           const float *dy, const float *u, const float *X, size_t B, size_t L);
/* Floats of scratch that ssm_train_s5_backward needs. */
size_t ssm_train_s5_scratch(size_t B, size_t L, size_t H, size_t M);

/* ===================================================================== */
/* Model: parameter arena, name → offset table, forward/backward          */
/* ===================================================================== */

enum { SSM_TRAIN_DECAY, SSM_TRAIN_NODECAY, SSM_TRAIN_SSM, SSM_TRAIN_NGROUPS };

typedef struct {
    char name[40];
    size_t offset, count;   /* in floats, into the arena */
    int group;              /* SSM_TRAIN_DECAY (weights, C), _NODECAY (biases, LN, D), _SSM (Λ, P, B, logΔ) */
} ssm_train_tensor;

/* per-layer offsets into the parameter arena */
typedef struct {
    size_t lam, B, C, logdt, D, W, b, ln_g, ln_b;
    size_t P;               /* the DPLR path's low-rank factor (SIZE_MAX elsewhere) */
} ssm_train_layer;

#define SSM_TRAIN_MAX_LAYERS 16
#define SSM_TRAIN_MAX_TENSORS (4 + 10 * SSM_TRAIN_MAX_LAYERS)

typedef struct {
    /* shapes */
    size_t L, din, H, N, M, K, nout, Hout;   /* Hout = H, or 2H with GLU */
    int glu, prenorm, dense, regression;
    float dropout;
    /* arena: parameters and gradients, same layout */
    size_t n_params;
    float *params, *grads;
    ssm_train_tensor tensors[SSM_TRAIN_MAX_TENSORS];
    size_t n_tensors;
    size_t enc_w, enc_b, dec_w, dec_b;
    ssm_train_layer layer[SSM_TRAIN_MAX_LAYERS];
    /* the SSM kernels of the current step */
    ssm_train_conv *conv;
    ssm_train_conv_ws *ws;       /* scratch for the kernel transforms */
    size_t nfreq;
    float *kernel;       /* [K, H, L] */
    float *kernel_f;     /* [K, H, nfreq, 2] */
    double *dkernel;     /* [K, H, L] */
    /* dense (DPLR-equivalent) path: the real system and its basis per layer */
    double *dense_A, *dense_B;   /* [N, N], [N] */
    double *basis;               /* [K, H, L, N] */
    uint64_t init_digest;        /* ssm_init_digest of the init the model was built from */
    /* the S5 layer (an init with S5 blocks: s5-legs, ptd --blocks J): per layer Λ [M,2], B̃ [M,H,2],
     * C̃ [H,M,2], log Δ [M] (layer's lam, B, C, logdt offsets), D [H]; no kernel, no FFT */
    int s5, train_ssm;           /* train_ssm: Λ, B̃, Δ get gradients (lr_ssm > 0)               */
    float *s5_W, *s5_Ct;         /* [K, H, 2M], [K, 2M, H] (ssm_train_model_kernels)             */
    double *s5_zq;               /* [K, M, 4]                                                   */
    /* DPLR path (s4-dplr inits unless cfg.s4_dense): Λ, P, B, C̃ [H, M, 2] per layer, Cauchy kernel */
    int dplr;
    ssm_train_dplr *dplr_plan;
} ssm_train_model;

/* Build the model for data with L steps, din features and nout outputs from cfg (init file or method,
 * Δ log-uniform per channel and layer, C = C₀V where the init has V (C₀ ~ N(0,1) real), else complex
 * normal; PyTorch-style uniform(±1/√fan_in) linear weights; LN γ = 1, β = 0; D ~ N(0,1)).  An init with a
 * rank correction P (s4-dplr) takes the DPLR path (Λ, P̃, B̃ per channel, the trained C̃ = C₀V(I − Ā^L),
 * ssm_train_kernel_dplr_forward; rank 1 only, EINVAL otherwise), or with cfg->s4_dense the dense path:
 * A = V(Λ − P̃P̃*)V* over the conjugate-closed set, rebuilt from the file's tensors, which needs
 * lr_ssm = 0 (EINVAL).  An S5 init (metadata `blocks`: s5-legs, ptd --blocks J) builds the S5 layer
 * (ssm_train_s5; S5's shapes and init recipe, train/s5_layer.c).  EINVAL for a bad init name/file,
 * EFORMAT for a file that is not ssmkit-init/1 with conj_sym. */
SSM_MUST_CHECK ssm_status ssm_train_model_create(ssm_train_model **m, const ssm_train_config *cfg, size_t L, size_t din,
                                  size_t nout, int regression);
/* Free a model and its plans (NULL ok). */
void ssm_train_model_free(ssm_train_model *m);
/* The model's top mode: the largest |Im λ| of its current Λ over every layer (and channel): the
 * diagonal and S5 layers' Λ, the DPLR path's normal part Λ.  EINVAL for the dense path (its A is real:
 * no Λ is stored). */
SSM_MUST_CHECK ssm_status ssm_train_model_top_mode(double *w, const ssm_train_model *m);
/* Tensor by name, NULL if absent. */
const ssm_train_tensor *ssm_train_model_tensor(const ssm_train_model *m, const char *name);
/* Recompute kernel and kernel_f from the parameters (once per step, before the forward passes, in one
 * thread); for the dense path also the basis when `basis_too`.  Cost O(K·H·M·L) (+ basis).  ELOSS when
 * a kernel is not finite. */
SSM_MUST_CHECK ssm_status ssm_train_model_kernels(ssm_train_model *m, int basis_too);
/* Back from the summed kernel spectra dKf [K, H, nfreq, 2] (the chunks' accumulators added up) to the
 * SSM parameter gradients in m->grads: C always, Λ, (P,) B, logΔ when train_ssm. */
void ssm_train_model_kernels_backward(ssm_train_model *m, const float *dKf, int train_ssm);

/* Fourier-mode noise (doc/reference.md §6): added to the SSM input of every layer,
 * noise[b,h,ℓ] = amp·U_{b,h}·cos(ω·Δ_h·ℓ), U ~ U[0,1) from (seed, sample id, layer, h). */
typedef struct {
    double omega, amp;
    uint64_t seed;
} ssm_train_noise;

/* Per-thread activations and gradient arena for chunks of up to bmax sequences. */
typedef struct ssm_train_acts ssm_train_acts;
/* Activations for chunks of up to bmax sequences (ENOMEM: *out NULL). */
SSM_MUST_CHECK ssm_status ssm_train_acts_create(ssm_train_acts **out, const ssm_train_model *m, size_t bmax);
/* Free a workspace (NULL ok). */
void ssm_train_acts_free(ssm_train_acts *a);
/* The private gradient arena (n_params floats) of a workspace. */
float *ssm_train_acts_grads(ssm_train_acts *a);
/* The workspace's accumulator of kernel-gradient spectra [K, H, nfreq, 2]. */
float *ssm_train_acts_dkf(ssm_train_acts *a);

/* Forward on a chunk: x [B, L, din], y [B]; loss summed over the chunk (returned), correct counted.
 * train: dropout on, with masks from (seed, step, sample id); noise may be NULL; ids[B] are the global
 * sample ids (dropout and noise streams).  When `backward`, gradients are accumulated into the
 * workspace's private arena and dKf with the loss scaled by `scale` (1/global batch). */
double ssm_train_model_step(ssm_train_model *m, ssm_train_acts *a, const float *x, const float *y,
                            const uint64_t *ids, size_t B, int train, uint64_t seed, uint64_t step,
                            const ssm_train_noise *noise, int backward, float scale, size_t *correct,
                            double tol);
/* Model output (logits or prediction) of the last forward on a workspace: [B, nout]. */
const float *ssm_train_acts_output(const ssm_train_acts *a);

/* ===================================================================== */
/* Optimiser                                                              */
/* ===================================================================== */

/* Learning rate at step t of T: linear warm-up over `warmup` steps to lr, then cosine decay to 0. */
double ssm_train_lr_at(double lr, size_t t, size_t T, size_t warmup);
/* Global L2 norm of the gradient arena; scales it to max_norm when above (max_norm ≤ 0: no clipping).
 * Returns the norm before clipping. */
double ssm_train_clip(float *grads, size_t n, double max_norm);
/* One AdamW step (β = 0.9, 0.999, eps 1e-8, decoupled weight decay on the DECAY group) over the arena;
 * `scale` multiplies every group's rate (the schedule), lr[group] is the base rate per group (0 = frozen).
 * t is the 1-based step count for bias correction. */
void ssm_train_adamw(float *params, float *m, float *v, const float *grads, const ssm_train_tensor *tensors,
                     size_t n_tensors, const double *lr, double scale, double wd, uint64_t t);

/* ===================================================================== */
/* Engine: training loop, evaluation, checkpoints                        */
/* ===================================================================== */

/* One row of the per-epoch log. */
typedef struct {
    double epoch, step, train_loss, train_acc, val_loss, val_acc, time_s, samples_per_s;
} ssm_train_epoch_row;
#define SSM_TRAIN_MAX_EPOCHS 1000

/* Training state: everything a checkpoint holds, plus the run's buffers. */
typedef struct {
    ssm_train_config cfg;
    ssm_train_data data;
    ssm_train_model *model;
    float *adam_m, *adam_v;          /* the AdamW moments, same layout as the parameter arena          */
    uint64_t step, total_steps;      /* steps done / planned                                         */
    uint64_t rng;                    /* base of every random stream: all randomness is counter-based  *
                                      * from (rng, epoch, step, sample id), so (rng, step) is the whole *
                                      * RNG state                                                     */
    double ep_loss, ep_time;         /* running sums of the current epoch (survive a resume)          */
    uint64_t ep_correct, ep_count;
    size_t n_rows;
    ssm_train_epoch_row rows[SSM_TRAIN_MAX_EPOCHS];
    double elapsed_s;
    /* run buffers (not in the checkpoint) */
    ssm_train_acts **acts;
    size_t n_acts, chunk;
    float *bx, *by, *dkf;
    size_t *bidx, *perm;
    uint64_t *bids;
} ssm_train_state;

/* Options of a run that are not part of the model (not stored in the checkpoint). */
typedef struct {
    const char *ckpt_dir;     /* NULL: no checkpoints; else DIR/ckpt.bin (the run folder, below)       */
    const char *log_path;     /* per-epoch TSV (atomically rewritten each epoch); NULL: none           */
    int quiet;                /* no progress bar                                                       */
    int resume;               /* continue from ckpt_dir/ckpt.bin (its config wins; cfg is not read)    */
    int force;                /* a new run may replace the checkpoint (and DIR/log.tsv) of another one  */
    void (*on_epoch)(const ssm_train_epoch_row *row, void *ctx);   /* may be NULL                        */
    void *ctx;
    /* With resume, may be NULL: called once the folder is locked, with the stored config (checksum and
     * counters checked, before the data and the model are loaded).  It may refuse the run (its status
     * and message stand) or change epochs, max_steps and ckpt_every, nothing else (EINVAL): a run is
     * extended, never shortened (EINVAL when the new total of steps is below the stored one). */
    ssm_status (*on_resume)(ssm_train_config *cfg, void *resume_ctx);
    void *resume_ctx;
} ssm_train_run_opts;

/* Train from cfg (or resume), writing checkpoints every cfg->ckpt_every steps and at the end.  The
 * final state stays in *st (free with ssm_train_state_clear, also after a failure).  Results are
 * bit-identical between a run and a killed-and-resumed run with the same thread count.  ELOSS when the
 * loss or the kernel stops being finite; EWRITE when a checkpoint or the log cannot be written (the
 * previous checkpoint stays intact).
 *
 * The run folder ckpt_dir, before any data is loaded: created when absent (its parent must exist),
 * EINVAL when it cannot be, or is not a folder, or cannot take a file; locked for the run (flock on
 * DIR/.lock, which holds the pid: a second run on the same folder gets EINVAL at once; the kernel
 * releases the lock when the process ends, also by a crash or SIGKILL); a new run refuses (EINVAL) a
 * folder holding a checkpoint unless force; temporaries of an interrupted write (DIR/.ckpt.bin.tmp.*,
 * DIR/.log.tsv.tmp.*) are removed.  A folder created by a run that fails before writing anything is
 * removed again. */
SSM_MUST_CHECK ssm_status ssm_train_run(ssm_train_state *st, const ssm_train_config *cfg, const ssm_train_run_opts *o);
/* Free everything a state owns (model, data, moments, run buffers) and zero it. */
void ssm_train_state_clear(ssm_train_state *st);
/* Set up the run buffers of a state whose model exists (called by ssm_train_run; eval uses it too). */
SSM_MUST_CHECK ssm_status ssm_train_state_buffers(ssm_train_state *st);

/* Loss (mean) and accuracy of the model on a split (first n samples, n = 0: all), forward only, with
 * optional noise; `split_id` (0 train, 1 val, 2 test) separates the noise streams of the splits. */
SSM_MUST_CHECK ssm_status ssm_train_evaluate(double *loss, double *acc, ssm_train_state *st, const ssm_train_split *s,
                              int split_id, size_t n, const ssm_train_noise *noise);

/* Write the checkpoint (format 2: header + params + AdamW moments, checksummed; train/checkpoint.c)
 * atomically to path.  EWRITE when the disk refuses it (path then keeps its previous content). */
SSM_MUST_CHECK ssm_status ssm_train_checkpoint_write(const ssm_train_state *st, const char *path);
/* Read a checkpoint into a fresh state (model rebuilt from the stored config, data loaded unless
 * load_data is 0: then only the shapes).  Everything is validated before it is used: the checksum, the
 * header, the progress counters against each other and the config, the tensor table and the init's
 * digest against the model the config builds, the parameters (finite; frozen ones equal to their
 * initial values) and the AdamW moments (finite, v ≥ 0, m² ≤ C·v, zero at step 0).  EFORMAT with one
 * line naming the path and what failed; EIO when it cannot be read. */
SSM_MUST_CHECK ssm_status ssm_train_checkpoint_read(ssm_train_state *st, const char *path, int load_data);
/* The same from a checkpoint image in memory; `name` (the path) prefixes the messages. */
SSM_MUST_CHECK ssm_status ssm_train_checkpoint_read_mem(ssm_train_state *st, const unsigned char *buf, size_t len,
                                                        const char *name, int load_data);
/* For bindings that cannot hold an ssm_train_state by value (python/ssmkit, ctypes): the same read into
 * a state allocated here; *st is NULL on failure (the status and message are the reader's).  Free it
 * with ssm_train_state_free. */
SSM_MUST_CHECK ssm_status ssm_train_checkpoint_open(ssm_train_state **st, const char *path, int load_data);
/* Free a state of ssm_train_checkpoint_open and everything it owns; NULL does nothing. */
void ssm_train_state_free(ssm_train_state *st);
/* Write the model's parameters as a safetensors file with PyTorch's names and layouts (train/export.c:
 * nn.Linear weights as [out, in], complex as a trailing (re, im)) and the run's config and init digest
 * as metadata, atomically.  The AdamW moments are not exported. */
SSM_MUST_CHECK ssm_status ssm_train_export(const ssm_train_state *st, const char *path);
/* Read an exported model into a fresh state: the model rebuilt from the stored config (data loaded
 * unless load_data is 0), the init's digest checked, every tensor's name and shape checked against the
 * model and its values (finite float32s) taken.  EFORMAT with one line naming the path and what failed. */
SSM_MUST_CHECK ssm_status ssm_train_export_read(ssm_train_state *st, const char *path, int load_data);
/* The same into a state allocated here (bindings: python/ssmkit); *st NULL on failure; free with
 * ssm_train_state_free.  The state has no AdamW moments (adam_m, adam_v NULL). */
SSM_MUST_CHECK ssm_status ssm_train_export_open(ssm_train_state **st, const char *path, int load_data);
/* The stored configuration and progress of a checkpoint, its checksum, header and counters validated,
 * without building the model (cheap: for "does this folder hold a run?" and resume option checks). */
SSM_MUST_CHECK ssm_status ssm_train_checkpoint_peek(ssm_train_config *cfg, uint64_t *step, uint64_t *total_steps,
                                                    const char *path);
/* The checksum a checkpoint image of len ≥ 24 bytes must carry in bytes 16–23 (little-endian): FNV-1a 64
 * over bytes 0–15 and 24 to the end. */
uint64_t ssm_train_checkpoint_checksum(const unsigned char *buf, size_t len);

#endif
