/* fuzz/fuzz-merge.c — libFuzzer target for the part files `ssmkit experiment NAME --merge` reads
 * (experiments/common.c: titles, then rows "set cols values…" appended to the datasets).
 * Build: make fuzz.  Run: build/fuzz/fuzz-merge -max_total_time=600 fuzz/corpus-merge fuzz/seeds/merge */
#include "experiments/common.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static exp_data x; /* large (64 datasets with titles): not on the stack */
    memset(&x, 0, sizeof x);
    /* twice: a second part appended to the first, as --merge does with parts 0 … J−1 */
    for (int k = 0; k < 2; k++)
        if (exp_read_part_mem(&x, (const char *)data, size, "fuzz") != SSM_OK)
            break;
    volatile double sink = 0.0;
    for (size_t d = 0; d < x.nsets; d++)
        for (size_t i = 0; i < x.set[d].rows * x.set[d].cols; i++)
            sink += x.set[d].v[i];
    (void)sink;
    exp_data_clear(&x);
    return 0;
}
