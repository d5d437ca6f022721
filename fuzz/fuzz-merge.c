/* fuzz/fuzz-merge.c — libFuzzer target for `ssmkit experiment NAME --merge`: the part files a job writes
 * (experiments/common.c: titles, rows "set cols values…"; robustness.c: three datasets; robustness --medium:
 * 16 parts of 2 seeds), read back and
 * handed to the experiment's finishing code, which writes NAME.tsv and NAME.json into a scratch folder.
 * Input: byte 0 chooses the experiment; the rest, split at form feeds ('\f'), gives the part files
 * (part k = segment k mod the number of segments).  The number of parts each experiment expects at its
 * default options is found once, at start-up, from its "missing part" message.
 * Build: make fuzz.  Run: build/fuzz/fuzz-merge -max_total_time=600 fuzz/corpus-merge fuzz/seeds/merge */
#define _POSIX_C_SOURCE 200809L
#include "experiments/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

typedef ssm_status (*exp_fn)(const ssm_experiment_opts *o);
/* robustness --medium with 2 seeds: 16 parts robustness-medium.part-K.tsv */
static ssm_status robustness_medium(const ssm_experiment_opts *o)
{
    ssm_experiment_opts m = *o;
    m.medium = 1;
    m.seeds = 2;
    return ssm_experiment_robustness(&m);
}
static const struct {
    const char *name;
    exp_fn run;
} EXPS[] = {
    {"kappa-growth", ssm_experiment_kappa_growth}, {"spikes", ssm_experiment_spikes},
    {"convergence", ssm_experiment_convergence}, {"eps-sweep", ssm_experiment_eps_sweep},
    {"ptd-front", ssm_experiment_ptd_front}, {"bode", ssm_experiment_bode},
    {"pseudospectra", ssm_experiment_pseudospectra}, {"robustness", ssm_experiment_robustness},
    {"robustness-medium", robustness_medium},
};
#define NEXP (sizeof EXPS / sizeof EXPS[0])
#define MAXJ 64
static char dir[64];
static size_t parts[NEXP];

static void write_part(size_t e, size_t k, const unsigned char *b, size_t n)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s.part-%zu.tsv", dir, EXPS[e].name, k);
    FILE *fp = fopen(path, "wb");
    if (fp) {
        if (n)
            fwrite(b, 1, n, fp);
        fclose(fp);
    }
}

static ssm_status merge(size_t e)
{
    ssm_experiment_opts o = {.out_dir = dir, .quiet = 1, .job = -1, .merge = 1};
    return EXPS[e].run(&o);
}

/* how many parts experiment e reads: add parts until the message no longer asks for the next one */
static size_t count_parts(size_t e)
{
    for (size_t j = 0; j < MAXJ; j++) {
        char want[48];
        snprintf(want, sizeof want, "part-%zu.tsv", j);
        if (merge(e) == SSM_OK || !strstr(ssm_error_message(), want))
            return j;
        write_part(e, j, (const unsigned char *)"0\t1\t0\n", 6);
    }
    return MAXJ;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!dir[0]) {
        /* a memory file system where there is one: every merge writes (and fsyncs) two files */
        snprintf(dir, sizeof dir, "%s/ssm-fuzz-merge-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(dir))
            abort();
        for (size_t e = 0; e < NEXP; e++)
            parts[e] = count_parts(e);
    }
    if (size < 1)
        return 0;
    size_t e = data[0] % NEXP;
    const unsigned char *seg[MAXJ], *p = data + 1, *end = data + size;
    size_t len[MAXJ], nseg = 0;
    while (nseg < MAXJ) {
        const unsigned char *q = memchr(p, '\f', (size_t)(end - p));
        seg[nseg] = p;
        len[nseg++] = (size_t)((q ? q : end) - p);
        if (!q)
            break;
        p = q + 1;
    }
    for (size_t k = 0; k < parts[e]; k++)
        write_part(e, k, seg[k % nseg], len[k % nseg]);
    (void)merge(e);
    return 0;
}
