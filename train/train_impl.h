/* train/train_impl.h — internals of train/ shared between its files (not installed). */
#ifndef SSM_TRAIN_IMPL_H
#define SSM_TRAIN_IMPL_H

#include "train/train.h"

#include <jansson.h>

/* EINVAL naming the choices unless init is an existing path or an init method name (cheap: nothing is
 * read or built). */
SSM_MUST_CHECK ssm_status ssm_train_init_known(const char *init);

/* A run folder held by this process (train/rundir.c; the rules are ssm_train_run's, train/train.h). */
typedef struct {
    int fd;        /* the locked DIR/.lock, -1 when none */
    int created;   /* this run made the folder */
    char dir[1024];
} ssm_train_rundir;

/* Prepare and lock ckpt_dir for a new run (resume = 0; force: replace a checkpoint found there) or a
 * resumed one (the folder must exist).  EINVAL with one line naming the folder and the reason. */
SSM_MUST_CHECK ssm_status ssm_train_rundir_open(ssm_train_rundir *d, const char *ckpt_dir, int resume, int force);
/* Release the lock; a folder this run created and never wrote to (`wrote` = 0) is removed again. */
void ssm_train_rundir_close(ssm_train_rundir *d, int wrote);

/* The run configuration as the checkpoint header's "config" object, and back (EFORMAT for a missing or
 * mistyped key, or a config ssm_train_config_check refuses).  train/checkpoint.c. */
json_t *ssm_train_config_json(const ssm_train_config *c);
SSM_MUST_CHECK ssm_status ssm_train_config_from_json(ssm_train_config *c, json_t *j);
/* Build st->model from st->cfg (data loaded unless load_data is 0: then only the shapes), after checking
 * that n parameters fit the layout the config implies; messages prefixed with `name`. */
SSM_MUST_CHECK ssm_status ssm_train_build_model(ssm_train_state *st, size_t n, int load_data, const char *name);
/* A state allocated here and filled by read (ssm_train_checkpoint_read or ssm_train_export_read); *st NULL
 * on failure (the reader has freed what it built). */
typedef ssm_status (*ssm_train_reader)(ssm_train_state *st, const char *path, int load_data);
SSM_MUST_CHECK ssm_status ssm_train_state_open(ssm_train_state **st, const char *path, int load_data,
                                               ssm_train_reader read);

/* The S5 layer in the model (train/s5_layer.c).  A view of layer l's parameters and derived buffers. */
ssm_train_s5 ssm_train_s5_view(const ssm_train_model *m, size_t l);
/* Every layer's W, Ct, zq from the parameters (ssm_train_model_kernels of an S5 model). */
SSM_MUST_CHECK ssm_status ssm_train_s5_model_kernels(ssm_train_model *m);
/* A layer's initial values, drawn from *rng in this order: log Δ [M] log-uniform in [e^lo, e^hi] (with Λ
 * from the file), D [H] ~ N(0, 1) (LN γ = 1, β = 0), B̃ = V⁻¹B column by column (B [N, H] truncated normal,
 * std 1/√N), C̃ = CV row by row (C [H, N] complex, both parts truncated normal, std 1/√N): the S5
 * recipe (init_VinvB, init_CV with trunc_standard_normal). */
void ssm_train_s5_values(float *p, const ssm_train_layer *ly, size_t H, const ssm_init_file *f, double lo, double hi,
                         uint64_t *rng);

#endif
