/* fuzz/fuzz-idx.c — libFuzzer target for the IDX reader of the sfmnist task (train/data.c), raw and
 * gzip'd: every input is read as an image file and as a label file.
 * Build: make fuzz.  Run: build/fuzz/fuzz-idx -max_total_time=600 fuzz/corpus-idx fuzz/seeds/idx */
#include "ssmkit.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    for (int images = 0; images < 2; images++) {
        unsigned char *out;
        size_t n;
        if (ssm_train_idx_read_mem(&out, &n, data, size, images) == SSM_OK) {
            volatile unsigned sink = 0;
            for (size_t i = 0; i < n * (images ? 784 : 1); i++)
                sink += out[i];
            (void)sink;
            free(out);
        }
    }
    return 0;
}
