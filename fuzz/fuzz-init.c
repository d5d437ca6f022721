/* fuzz/fuzz-init.c — libFuzzer target for the init-file loader (ssm_init_file_take on a safetensors
 * image: the format tag, N and M, every tensor's shape, finiteness, the data checksum).  Each input is
 * loaded as it is and again with its data_fnv1a64 set to the tensors' digest, which takes a mutation
 * past the checksum into the shape and value checks and C̃ = C·V.
 * Build: make fuzz.  Run: build/fuzz/fuzz-init -max_total_time=600 fuzz/corpus-init fuzz/seeds/init */
#include "ssmkit.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void load(ssm_st *st)
{
    ssm_init_file *f;
    if (ssm_init_file_take(&f, st) == SSM_OK) { /* st is f's now, or freed */
        volatile double sink = 0.0;
        for (size_t i = 0; i < f->M; i++)
            sink += creal(f->lambda[i]) + cimag(f->B[i]) + creal(f->C[i]);
        ssm_tf_modal v;
        ssm_init_file_modal(&v, f);
        sink += (double)v.M;
        (void)sink;
        ssm_init_file_free(f);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ssm_st *st = NULL;
    if (ssm_st_read_mem(&st, data, size) != SSM_OK)
        return 0;
    load(st);
    if (ssm_st_read_mem(&st, data, size) != SSM_OK)
        return 0;
    char digest[32];
    snprintf(digest, sizeof digest, "%016llx", (unsigned long long)ssm_init_digest(st));
    if (ssm_st_set_meta(st, "data_fnv1a64", digest) != SSM_OK) {
        ssm_st_free(st);
        return 0;
    }
    load(st);
    return 0;
}
