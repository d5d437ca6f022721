/* fuzz/fuzz-npy.c — libFuzzer target for the .npy reader.
 * Build: make fuzz.  Run: build/fuzz/fuzz-npy -max_total_time=600 fuzz/corpus-npy */
#include "ssmkit.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ssm_npy a;
    if (ssm_npy_read_mem(&a, data, size) == SSM_OK) {
        volatile double sink = 0.0;
        size_t n = a.is_complex ? 2 * a.count : a.count;
        for (size_t k = 0; k < n; k++)
            sink += a.data[k];
        (void)sink;
        ssm_npy_clear(&a);
    }
    return 0;
}
