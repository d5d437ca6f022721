/* fuzz/fuzz-safetensors.c — libFuzzer target for the safetensors reader.
 * Build: make fuzz.  Run: build/fuzz/fuzz-safetensors -max_total_time=600 fuzz/corpus-safetensors */
#include "ssmkit.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ssm_st *f = NULL;
    if (ssm_st_read_mem(&f, data, size) == SSM_OK) {
        /* touch everything the reader claims to hold */
        volatile double sink = 0.0;
        for (size_t i = 0; i < ssm_st_count(f); i++) {
            const ssm_tensor *t = ssm_st_at(f, i);
            for (size_t k = 0; k < t->count; k++)
                sink += t->data[k];
        }
        for (size_t i = 0; i < ssm_st_meta_count(f); i++) {
            const char *k, *v;
            ssm_st_meta_at(f, i, &k, &v);
            sink += (double)(k[0] + v[0]);
        }
        (void)sink;
        ssm_st_free(f);
    }
    return 0;
}
