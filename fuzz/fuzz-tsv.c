/* fuzz/fuzz-tsv.c — libFuzzer target for the TSV matrix reader.
 * Build: make fuzz.  Run: build/fuzz/fuzz-tsv -max_total_time=600 fuzz/corpus-tsv */
#include "ssmkit.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ssm_dmat_t A;
    if (ssm_tsv_read_mem(A, (const char *)data, size) == SSM_OK) {
        volatile double sink = 0.0;
        for (size_t i = 0; i < A->rows; i++)
            for (size_t j = 0; j < A->cols; j++)
                sink += SSM_D(A, i, j);
        (void)sink;
        ssm_dmat_clear(A);
    }
    return 0;
}
