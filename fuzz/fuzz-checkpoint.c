/* fuzz/fuzz-checkpoint.c — libFuzzer target for the training checkpoint reader (train/checkpoint.c).
 * Each input is read twice: as it is (magic, version, checksum: almost every mutation stops at the
 * checksum) and with its checksum recomputed, which takes the mutation on into the JSON header, the
 * counters, the model the stored config builds (shapes only, no data) and the arena checks.
 * Build: make fuzz.  Run: build/fuzz/fuzz-checkpoint -max_total_time=600 fuzz/corpus-checkpoint fuzz/seeds/checkpoint */
#include "ssmkit.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void read_one(const unsigned char *b, size_t n)
{
    ssm_train_state st;
    if (ssm_train_checkpoint_read_mem(&st, b, n, "fuzz", 0) == SSM_OK) {
        volatile double sink = 0.0; /* touch what the reader claims to hold */
        for (size_t i = 0; i < st.model->n_params; i++)
            sink += st.model->params[i] + st.adam_m[i] + st.adam_v[i];
        for (size_t i = 0; i < st.n_rows; i++)
            sink += st.rows[i].train_loss;
        (void)sink;
        ssm_train_state_clear(&st);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    read_one(data, size);
    if (size >= 24) {
        unsigned char *b = malloc(size);
        if (!b)
            return 0;
        memcpy(b, data, size);
        uint64_t h = ssm_train_checkpoint_checksum(b, size);
        for (int i = 0; i < 8; i++)
            b[16 + i] = (unsigned char)(h >> (8 * i));
        read_one(b, size);
        free(b);
    }
    return 0;
}
