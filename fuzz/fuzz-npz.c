/* fuzz/fuzz-npz.c — libFuzzer target for the .npz reader (libzip + the .npy parser).
 * Build: make fuzz.  Run: build/fuzz/fuzz-npz -max_total_time=600 fuzz/corpus-npz fuzz/seeds/npz */
#include "ssmkit.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ssm_npz z;
    if (ssm_npz_read_mem(&z, data, size) == SSM_OK) {
        volatile double sink = 0.0;
        for (size_t i = 0; i < z.count; i++) {
            const ssm_npy *a = &z.arrays[i];
            size_t n = a->is_complex ? 2 * a->count : a->count;
            for (size_t k = 0; k < n; k++)
                sink += a->data[k];
        }
        (void)sink;
        ssm_npz_clear(&z);
    }
    return 0;
}
