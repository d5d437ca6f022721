/* tests/t-train-resume.c — checkpoints and run folders through the `ssmkit` binary ($SSM_BIN): a run killed
 * with SIGKILL at a random step and resumed with --resume ends with exactly the parameters and AdamW
 * moments of an uninterrupted run (bit for bit), the stale temporary of an interrupted write removed;
 * the checksum recomputed here independently (FNV-1a 64 as train/checkpoint.c documents it); any flipped
 * bit, an edited step (with or without a recomputed checksum), impossible moments and a changed frozen
 * parameter refused by eval and --resume with exit 2 and one line; run folders (created, refused, locked,
 * --force); --resume with conflicting options, and extended (bit-identical to one long run when the
 * schedule does not depend on the total); --d-state against an init file; split sizes that follow
 * --n-train; a full disk (stdout on /dev/full: ENOSPC; a checkpoint past RLIMIT_FSIZE: EFBIG) is exit 1
 * with the previous checkpoint intact; `train`/`eval` bad input exits 2 with one stderr line and leaves
 * no file; `eval --noise` at amplitude 0 equals clean; `export` (PyTorch names and layouts against the
 * checkpoint's bytes, eval of the export = eval of the checkpoint, damaged exports refused). */
#define _POSIX_C_SOURCE 200809L
#include "ssmkit.h"
#include "tests/harness.h"
#include "tests/cli_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/ssm-t-resume-XXXXXX";

static pid_t spawn_to(const char *const *args, const char *out_path) { return spawn_env(args, out_path, NULL); }
static pid_t spawn(const char *const *args) { return spawn_env(args, NULL, NULL); }

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#define HDR 24 /* "SSMKTRN\0", version, json_len, checksum (train/checkpoint.c, format 2) */

/* FNV-1a 64 written here from its definition (not the library's), over bytes 0–15 and 24–end */
static uint64_t fnv_checksum(const unsigned char *b, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        if (i < 16 || i >= HDR) {
            h ^= b[i];
            h *= 1099511628211ULL;
        }
    return h;
}

static void reseal(unsigned char *b, size_t n)
{
    uint64_t h = fnv_checksum(b, n);
    for (int i = 0; i < 8; i++)
        b[16 + i] = (unsigned char)(h >> (8 * i));
}

static int put_file(const char *path, const unsigned char *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    int ok = fp && fwrite(b, 1, n, fp) == n;
    if (fp)
        ok &= fclose(fp) == 0;
    return ok;
}

static int same_bytes(const char *a, const char *b)
{
    unsigned char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int same = ssm_read_file(&x, &nx, a) == SSM_OK && ssm_read_file(&y, &ny, b) == SSM_OK && nx == ny &&
               memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

/* entries of a folder whose name starts with prefix */
static int count_prefixed(const char *d, const char *prefix)
{
    DIR *dp = opendir(d);
    int n = 0;
    struct dirent *e;
    while (dp && (e = readdir(dp)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (dp)
        closedir(dp);
    return n;
}

/* the step stored in a checkpoint header ("step":N in the JSON), -1 when unreadable */
static long ckpt_step(const char *path)
{
    static char buf[1 << 16];
    slurp(path, buf, sizeof buf);
    const char *p = strstr(buf + HDR, "\"step\":");
    if (strncmp(buf, "SSMKTRN", 7) != 0 || !p)
        return -1;
    return strtol(p + 7, NULL, 10);
}

/* the arenas (the bytes after the JSON header: the header holds elapsed times) and the step agree */
static int same_file(const char *a, const char *b)
{
    unsigned char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int same = 0;
    if (ssm_read_file(&x, &nx, a) == SSM_OK && ssm_read_file(&y, &ny, b) == SSM_OK && nx >= HDR && ny >= HDR) {
        size_t hx = get_u32(x + 12), hy = get_u32(y + 12);
        same = nx >= HDR + hx && ny >= HDR + hy && nx - HDR - hx == ny - HDR - hy && nx - HDR - hx > 0 &&
               memcmp(x + HDR + hx, y + HDR + hy, nx - HDR - hx) == 0 && ckpt_step(a) == ckpt_step(b);
    }
    free(x);
    free(y);
    return same;
}

/* exit status rc with exactly one line on stderr containing needle */
static void expect_fail(int want, const char *const *args, const char *needle)
{
    int rc = run(args);
    int lines = 0;
    for (const char *q = err_buf; *q; q++)
        lines += *q == '\n';
    CHECK(rc == want && lines == 1 && strstr(err_buf, needle), "%s %s: exit %d, stderr '%s' (wanted %d, '%s')", args[0],
          args[1] ? args[1] : "", rc, err_buf, want, needle);
}

static void expect_usage(const char *const *args, const char *needle) { expect_fail(2, args, needle); }

#define TRAIN_ARGS(d) "train", "adding", "--init", "s4d-lin", "--seq-len", "48", "--n-train", "1280", "--n-val", "64", \
                      "--n-test", "64", "--d-model", "16", "--d-state", "8", "--layers", "2", "--epochs", "3",     \
                      "--batch", "32", "--threads", "2", "--checkpoint-every", "1", "--seed", "5", "-q",          \
                      "--checkpoint", d

static void test_kill_resume(void)
{
    /* uninterrupted reference */
    int rc = run((const char *[]){TRAIN_ARGS(P_("ref")), NULL});
    CHECK(rc == 0, "reference run exit %d: %s", rc, err_buf);
    long total = ckpt_step(P_("ref/ckpt.bin"));
    CHECK(total == 120, "reference run ends at step %ld (expected 3 epochs x 40)", total);
    /* the same run, killed at a random step in [5, total/2) (the other half is the margin for a loaded
     * machine: the poller may be descheduled while the run goes on) */
    long kill_at = 5 + (long)(t_rand() % (uint64_t)(total > 20 ? total / 2 - 5 : 1));
    pid_t pid = spawn((const char *[]){TRAIN_ARGS(P_("run")), NULL});
    long seen = -1;
    struct timespec nap = {0, 200000}; /* 0.2 ms */
    for (int i = 0; i < 300000 && seen < kill_at; i++) {
        nanosleep(&nap, NULL);
        seen = ckpt_step(P_("run/ckpt.bin"));
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            pid = -1;
            break;
        }
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    long at = ckpt_step(P_("run/ckpt.bin"));
    printf("killed with SIGKILL at checkpoint step %ld of %ld (target %ld)\n", at, total, kill_at);
    CHECK(at >= 1 && at < total, "the run was killed mid-way (checkpoint at step %ld of %ld)", at, total);
    /* what a run killed inside an atomic write leaves: removed by the resume, which holds the lock */
    CHECK(put_file(P_("run/.ckpt.bin.tmp.AbC123"), (const unsigned char *)"half", 4) &&
              put_file(P_("run/.log.tsv.tmp.XyZ789"), (const unsigned char *)"half", 4), "plant stale temporaries");
    rc = run((const char *[]){"train", "adding", "--resume", "--checkpoint", P_("run"), "-q", NULL});
    CHECK(rc == 0, "resume exit %d: %s", rc, err_buf);
    CHECK(count_prefixed(P_("run"), ".ckpt.bin.tmp.") == 0 && count_prefixed(P_("run"), ".log.tsv.tmp.") == 0,
          "stale temporaries left after the resume");
    CHECK(same_file(P_("ref/ckpt.bin"), P_("run/ckpt.bin")),
          "the resumed run does not end with the uninterrupted run's parameters and moments");
    /* the per-epoch logs agree in every column except time and throughput */
    ssm_dmat_t A, B;
    if (ssm_tsv_read(A, P_("ref/log.tsv")) == SSM_OK && ssm_tsv_read(B, P_("run/log.tsv")) == SSM_OK) {
        int same = A->rows == B->rows && A->rows == 3;
        for (size_t i = 0; same && i < A->rows; i++)
            for (size_t j = 0; j < 6; j++)
                same &= SSM_D(A, i, j) == SSM_D(B, i, j);
        CHECK(same, "the resumed run's log differs from the uninterrupted one");
        ssm_dmat_clear(A);
        ssm_dmat_clear(B);
    } else {
        CHECK(0, "log.tsv missing: %s", ssm_error_message());
    }
    /* eval: amplitude 0 equals clean; the noisy accuracy is a valid fraction */
    rc = run((const char *[]){"eval", P_("ref"), "--noise", "fourier:100:0", "--amps", "0,0.3", NULL});
    CHECK(rc == 0, "eval exit %d: %s", rc, err_buf);
    double v[4][4] = {{0}};
    const char *p = out_buf;
    int rows = 0;
    while (p && *p && rows < 4) {
        if (*p != '#') {
            if (sscanf(p, "%lf %lf %lf %lf", &v[rows][0], &v[rows][1], &v[rows][2], &v[rows][3]) == 4)
                rows++;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    CHECK(rows == 3 && v[1][1] == 0.0 && v[1][2] == v[0][2] && v[1][3] == v[0][3] && v[2][1] == 0.3 &&
              v[2][3] >= 0 && v[2][3] <= 1,
          "eval rows: %d; clean %g %g, amp 0: %g %g", rows, v[0][2], v[0][3], v[1][2], v[1][3]);
}


/* the first occurrence of text in b[0..n), NULL if none */
static char *find(const unsigned char *b, size_t n, const char *text)
{
    size_t k = strlen(text);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(b + i, text, k) == 0)
            return (char *)(b + i);
    return NULL;
}

/* a small run: 8 steps per epoch, well under a second */
#define SMALL "train", "adding", "--init", "s4d-lin", "--seq-len", "32", "--n-train", "256", "--d-model", "8", "--layers", "1", \
              "--batch", "32", "--threads", "1", "--seed", "3", "-q"

/* the arena offset (in floats) of tensor `name` and the parameter count, from a checkpoint's JSON header */
static int tensor_at(size_t *off, size_t *n_params, const unsigned char *b, size_t len, const char *name)
{
    size_t hl = len >= HDR ? get_u32(b + 12) : 0;
    json_error_t err;
    json_t *j = len >= HDR + hl ? json_loadb((const char *)b + HDR, hl, 0, &err) : NULL;
    int found = 0;
    *n_params = (size_t)json_integer_value(json_object_get(j, "n_params"));
    json_t *tab = json_object_get(j, "tensors"), *t;
    size_t i;
    json_array_foreach(tab, i, t) if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0) {
        *off = (size_t)json_integer_value(json_object_get(t, "offset"));
        found = 1;
    }
    json_decref(j);
    return found;
}

/* a copy of ck with `edit` applied at byte `at` (resealed when asked), refused by eval and by --resume */
static void expect_refused(const unsigned char *ck, size_t len, size_t at, const void *edit, size_t elen, int seal,
                           const char *needle, const char *what)
{
    unsigned char *b = malloc(len);
    memcpy(b, ck, len);
    memcpy(b + at, edit, elen);
    if (seal)
        reseal(b, len);
    static int k;
    char d[64], f[80];
    snprintf(d, sizeof d, "flip%d", k++);
    mkdir(P_(d), 0777);
    snprintf(f, sizeof f, "%s/ckpt.bin", d);
    CHECK(put_file(P_(f), b, len), "write %s", what);
    int rc = run((const char *[]){"eval", P_(f), NULL});
    int lines = 0;
    for (const char *q = err_buf; *q; q++)
        lines += *q == '\n';
    CHECK(rc == 2 && lines == 1 && strstr(err_buf, needle), "%s: eval exit %d, stderr '%s' (wanted '%s')", what, rc,
          err_buf, needle);
    rc = run((const char *[]){"train", "--resume", "--checkpoint", P_(d), "--epochs", "9", NULL});
    unsigned char *after = NULL;
    size_t alen = 0;
    int same = ssm_read_file(&after, &alen, P_(f)) == SSM_OK && alen == len && memcmp(after, b, len) == 0;
    CHECK(rc == 2 && strstr(err_buf, needle) && same, "%s: resume exit %d, stderr '%s', file %s", what, rc, err_buf,
          same ? "kept" : "changed");
    free(after);
    free(b);
}

static void test_integrity(void)
{
    unsigned char *ck;
    size_t len;
    if (ssm_read_file(&ck, &len, P_("ref/ckpt.bin")) != SSM_OK || len < HDR + 100) {
        CHECK(0, "ref/ckpt.bin unreadable");
        return;
    }
    /* the format as documented: magic, version 2, the checksum over all but itself */
    uint64_t stored = (uint64_t)get_u32(ck + 16) | (uint64_t)get_u32(ck + 20) << 32;
    CHECK(memcmp(ck, "SSMKTRN", 8) == 0 && get_u32(ck + 8) == 2 && stored == fnv_checksum(ck, len),
          "checkpoint header: version %u, checksum %016llx, FNV-1a here %016llx", get_u32(ck + 8),
          (unsigned long long)stored, (unsigned long long)fnv_checksum(ck, len));
    size_t hl = get_u32(ck + 12), arenas = HDR + hl, n = (len - arenas) / 12;
    /* one flipped bit anywhere: in the checksum, the JSON, each arena (random bit of a random byte) */
    size_t lo[4] = {16, HDR, arenas, arenas + 4 * n}, hi[4] = {HDR, arenas, arenas + 4 * n, len};
    for (int r = 0; r < 4; r++) {
        size_t at = lo[r] + (size_t)(t_rand() % (hi[r] - lo[r]));
        unsigned char x = (unsigned char)(ck[at] ^ (1u << (t_rand() % 8)));
        char what[64];
        snprintf(what, sizeof what, "bit flip at byte %zu of %zu", at, len);
        expect_refused(ck, len, at, &x, 1, 0, "checksum mismatch", what);
    }
    unsigned char m = 'X', v1[4] = {1, 0, 0, 0};
    expect_refused(ck, len, 0, &m, 1, 0, "bad magic", "bad magic");
    expect_refused(ck, len, 8, v1, 4, 0, "format 1", "format 1");
    /* an edited step: the checksum catches it; resealed, the counters do */
    char *p = find(ck + HDR, hl, "\"step\":120,");
    CHECK(p != NULL, "step 120 in the header");
    if (p) {
        expect_refused(ck, len, (size_t)(p - (char *)ck), "\"step\":119,", 11, 0, "checksum mismatch", "edited step");
        expect_refused(ck, len, (size_t)(p - (char *)ck), "\"step\":119,", 11, 1, "edited step?", "edited step, resealed");
        expect_refused(ck, len, (size_t)(p - (char *)ck), "\"step\":100,", 11, 1, "edited step?", "step 100, resealed");
    }
    /* impossible moments, resealed: v < 0; m far above Adam's bound m^2 <= 52.9 v */
    size_t off, np;
    if (tensor_at(&off, &np, ck, len, "decoder.weight") && np == n) {
        float neg = -1e-3f, v, big;
        memcpy(&v, ck + arenas + 8 * n + 4 * off, 4);
        big = 8.0f * sqrtf(52.9f * v) + 1e-3f;
        expect_refused(ck, len, arenas + 8 * n + 4 * off, &neg, 4, 1, "v < 0", "negative v");
        expect_refused(ck, len, arenas + 4 * n + 4 * off, &big, 4, 1, "impossible", "m beyond Adam's bound");
        float inf = INFINITY;
        expect_refused(ck, len, arenas + 4 * off, &inf, 4, 1, "not finite", "infinite parameter");
    } else {
        CHECK(0, "decoder.weight in the tensor table");
    }
    /* the legitimate file passes the moment bound everywhere: measure how close it comes */
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        float mm, vv;
        memcpy(&mm, ck + arenas + 4 * n + 4 * i, 4);
        memcpy(&vv, ck + arenas + 8 * n + 4 * i, 4);
        if (vv > 0)
            worst = fmax(worst, (double)mm * mm / (52.857 * vv));
    }
    printf("AdamW moments of a 120-step run: max m^2/(C v) = %.3f (C = 52.86; <= 1 by Cauchy-Schwarz)\n", worst);
    CHECK(worst <= 1.0, "moments beyond the bound in a real run: %g", worst);
    free(ck);
    /* a frozen parameter (--freeze-ssm: log_dt) changed, resealed */
    CHECK(run((const char *[]){SMALL, "--freeze-ssm", "--steps", "4", "--checkpoint", P_("frz"), NULL}) == 0,
          "frozen run: %s", err_buf);
    if (ssm_read_file(&ck, &len, P_("frz/ckpt.bin")) == SSM_OK) {
        hl = get_u32(ck + 12);
        if (tensor_at(&off, &np, ck, len, "layers.0.ssm.log_dt")) {
            float x;
            memcpy(&x, ck + HDR + hl + 4 * off, 4);
            x = nextafterf(x, 0.0f);
            expect_refused(ck, len, HDR + hl + 4 * off, &x, 4, 1, "frozen", "frozen log_dt moved by one ulp");
        } else {
            CHECK(0, "log_dt in the frozen run's table");
        }
        free(ck);
    }
}

/* a copy of the export at src with tensor `drop` left out, `name` replaced by data (NULL: kept) and
 * metadata key set to value (NULL: kept), written to dst */
static int edited_export(const char *src, const char *dst, const char *drop, const char *name, const double *data,
                         const char *key, const char *value)
{
    ssm_st *f = NULL, *g = NULL;
    int ok = ssm_st_read(&f, src) == SSM_OK && ssm_st_create(&g) == SSM_OK;
    for (size_t i = 0; ok && i < ssm_st_count(f); i++) {
        const ssm_tensor *t = ssm_st_at(f, i);
        if (!drop || strcmp(t->name, drop) != 0)
            ok = ssm_st_add(g, t->name, t->ndim, t->shape, name && strcmp(t->name, name) == 0 ? data : t->data) ==
                 SSM_OK;
    }
    for (size_t i = 0; ok && i < ssm_st_meta_count(f); i++) {
        const char *k, *v;
        ssm_st_meta_at(f, i, &k, &v);
        ok = ssm_st_set_meta(g, k, key && strcmp(k, key) == 0 ? value : v) == SSM_OK;
    }
    ok = ok && ssm_st_write(g, dst) == SSM_OK;
    ssm_st_free(f);
    ssm_st_free(g);
    return ok;
}

/* export: PyTorch's names and [out, in] layouts, checked against the checkpoint's own arena bytes; eval of
 * the export = eval of the checkpoint (float32 -> F64 -> float32 is exact); damaged exports refused */
static void test_export(void)
{
    CHECK(run((const char *[]){"export", P_("ref"), "-o", P_("ref.safetensors"), NULL}) == 0, "export: %s", err_buf);
    unsigned char *ck = NULL;
    size_t len = 0, off = 0, np = 0;
    ssm_st *f = NULL;
    if (ssm_read_file(&ck, &len, P_("ref/ckpt.bin")) != SSM_OK || ssm_st_read(&f, P_("ref.safetensors")) != SSM_OK) {
        CHECK(0, "export or checkpoint unreadable");
        free(ck);
        return;
    }
    const size_t arenas = HDR + get_u32(ck + 12);
    /* TRAIN_ARGS: adding (din 2, one output), d_model 16, d_state 8 (4 modes), 2 layers, no GLU */
    const ssm_tensor *ew = ssm_st_get(f, "encoder.weight"), *lam = ssm_st_get(f, "layers.1.kernel.Lambda"),
                     *ow = ssm_st_get(f, "layers.0.output_linear.weight"), *dw = ssm_st_get(f, "decoder.weight");
    CHECK(ew && ew->ndim == 2 && ew->shape[0] == 16 && ew->shape[1] == 2, "encoder.weight is [H, din] = [16, 2]");
    CHECK(lam && lam->ndim == 3 && lam->shape[0] == 16 && lam->shape[1] == 4 && lam->shape[2] == 2,
          "kernel.Lambda is [H, N/2, 2]");
    CHECK(ow && ow->ndim == 2 && ow->shape[0] == 16 && ow->shape[1] == 16 && dw && dw->shape[0] == 1 &&
              dw->shape[1] == 16 && ssm_st_get(f, "layers.1.D") && ssm_st_get(f, "layers.0.kernel.log_dt") &&
              ssm_st_get(f, "layers.1.norm.bias") && ssm_st_count(f) == 22,
          "output_linear [Hout, H], decoder [nout, H], D, log_dt, norm; 22 tensors");
    /* the checkpoint stores encoder.weight as [din, H]: element (h, i) of the export is arena [i, h] */
    int same = ew && tensor_at(&off, &np, ck, len, "encoder.weight");
    for (size_t h = 0; same && h < 16; h++)
        for (size_t i = 0; same && i < 2; i++) {
            float x;
            memcpy(&x, ck + arenas + 4 * (off + i * 16 + h), 4);
            same = ew->data[h * 2 + i] == (double)x;
        }
    CHECK(same, "encoder.weight[h, i] = the checkpoint's arena[i, h], exactly");
    same = dw && tensor_at(&off, &np, ck, len, "decoder.weight");
    for (size_t h = 0; same && h < 16; h++) {
        float x;
        memcpy(&x, ck + arenas + 4 * (off + h), 4);
        same = dw->data[h] == (double)x;
    }
    CHECK(same, "decoder.weight as in the checkpoint");
    const char *ev[] = {"eval", P_("ref"), "--noise-sweep", "0.1:2:3", "--amps", "0.3", "-o", P_("ev-ck.tsv"), NULL},
               *ex[] = {"eval", P_("ref.safetensors"), "--noise-sweep", "0.1:2:3", "--amps", "0.3", "-o",
                        P_("ev-ex.tsv"), NULL};
    CHECK(run(ev) == 0 && run(ex) == 0, "eval of both: %s", err_buf);
    /* the rows after the comment lines: the command line differs, the numbers must not */
    static char a[8192], b[8192];
    slurp(P_("ev-ck.tsv"), a, sizeof a);
    slurp(P_("ev-ex.tsv"), b, sizeof b);
    const char *ra = strstr(a, "\n0\t"), *rb = strstr(b, "\n0\t");
    CHECK(ra && rb && strcmp(ra, rb) == 0, "eval of the export = eval of the checkpoint, every row");
    /* damaged exports: exit 2, one line */
    double *x = lam ? malloc(lam->count * sizeof *x) : NULL;
    if (x) {
        memcpy(x, lam->data, lam->count * sizeof *x);
        x[3] = 0.1; /* not a float32 */
        CHECK(edited_export(P_("ref.safetensors"), P_("bad1.safetensors"), NULL, "layers.1.kernel.Lambda", x, NULL,
                            NULL), "edited export written");
        expect_usage((const char *[]){"eval", P_("bad1.safetensors"), NULL}, "not a finite float32");
        free(x);
    }
    CHECK(edited_export(P_("ref.safetensors"), P_("bad2.safetensors"), "layers.0.D", NULL, NULL, NULL, NULL) &&
              edited_export(P_("ref.safetensors"), P_("bad3.safetensors"), NULL, NULL, NULL, "format", "ssmkit-init/1") &&
              edited_export(P_("ref.safetensors"), P_("bad4.safetensors"), NULL, NULL, NULL, "init_fnv1a64",
                            "0123456789abcdef") &&
              edited_export(P_("ref.safetensors"), P_("bad5.safetensors"), NULL, NULL, NULL, "config", "{\"task\":1}") &&
              edited_export(P_("ref.safetensors"), P_("bad6.safetensors"), NULL, NULL, NULL, "step", "-1"),
          "edited exports written");
    expect_usage((const char *[]){"eval", P_("bad2.safetensors"), NULL}, "parameters do not fit");
    expect_usage((const char *[]){"eval", P_("bad3.safetensors"), NULL}, "not an exported ssmkit model");
    expect_usage((const char *[]){"eval", P_("bad4.safetensors"), NULL}, "not the one the model was trained from");
    expect_usage((const char *[]){"eval", P_("bad5.safetensors"), NULL}, "config");
    expect_usage((const char *[]){"eval", P_("bad6.safetensors"), NULL}, "not a step count");
    expect_usage((const char *[]){"export", P_("ref"), "-o", P_("x.npy"), NULL}, "-o must name a .safetensors");
    expect_usage((const char *[]){"export", P_("ref"), "-o", P_("nodir/x.safetensors"), NULL}, "nodir");
    CHECK(access(P_("x.npy"), F_OK) != 0, "no file from a refused export");
    ssm_st_free(f);
    free(ck);
}

/* a run folder: created when absent, refused at once when it cannot be, guarded, locked */
static void test_folders(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* refused before any data or training (this run would take minutes: 1000 epochs) */
    expect_usage((const char *[]){SMALL, "--epochs", "1000", "--checkpoint", P_("ref/ckpt.bin"), NULL}, "not a folder");
    expect_usage((const char *[]){SMALL, "--epochs", "1000", "--checkpoint", P_("ref/ckpt.bin/sub"), NULL},
                 "Not a directory");
    expect_usage((const char *[]){SMALL, "--epochs", "1000", "--checkpoint", P_("no/such/folder"), NULL},
                 "cannot create the checkpoint folder");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    CHECK(secs < 10.0, "three refusals took %.1f s: the folder is not checked first", secs);
    /* another run's checkpoint: refused (file untouched), replaced with --force */
    CHECK(run((const char *[]){SMALL, "--checkpoint", P_("own"), NULL}) == 0, "small run: %s", err_buf);
    unsigned char *before = NULL;
    size_t blen = 0;
    CHECK(ssm_read_file(&before, &blen, P_("own/ckpt.bin")) == SSM_OK, "own/ckpt.bin");
    expect_usage((const char *[]){SMALL, "--seed", "4", "--checkpoint", P_("own"), NULL},
                 "holds the checkpoint of another run (adding, init s4d-lin, step 8 of 8)");
    CHECK(put_file(P_("own.keep"), before, blen) && same_bytes(P_("own/ckpt.bin"), P_("own.keep")),
          "a refused run touched the other run's checkpoint");
    CHECK(run((const char *[]){SMALL, "--seed", "4", "--steps", "2", "--checkpoint", P_("own"), "--force", NULL}) == 0 &&
              ckpt_step(P_("own/ckpt.bin")) == 2, "--force: exit %s, step %ld", err_buf, ckpt_step(P_("own/ckpt.bin")));
    free(before);
    /* a folder made for a run that fails before writing anything is removed again */
    expect_usage((const char *[]){"train", "sfmnist", "--init", "s4d-lin", "--data", P_("no-data"), "--checkpoint",
                                  P_("made"), NULL}, "dataset-fashion-mnist");
    struct stat sb;
    CHECK(stat(P_("made"), &sb) != 0, "a failed run left the folder it created");
    /* two runs on one folder: the second is refused at once, naming the first; SIGKILL frees the lock */
    pid_t a = spawn((const char *[]){SMALL, "--n-train", "2560", "--epochs", "1000", "--checkpoint", P_("busy"), NULL});
    char pid[32] = "", want[32];
    snprintf(want, sizeof want, "%ld\n", (long)a);
    struct timespec nap = {0, 2000000}; /* 2 ms */
    for (int i = 0; i < 5000 && strcmp(pid, want) != 0; i++) {
        nanosleep(&nap, NULL);
        slurp(P_("busy/.lock"), pid, sizeof pid);
    }
    CHECK(strcmp(pid, want) == 0, "the running training did not write its pid into the lock file");
    snprintf(want, sizeof want, "(pid %ld)", (long)a);
    expect_usage((const char *[]){SMALL, "--checkpoint", P_("busy"), "--force", NULL}, want);
    expect_usage((const char *[]){"train", "--resume", "--checkpoint", P_("busy"), "--epochs", "1000", NULL},
                 "in use by another training run");
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);
    CHECK(run((const char *[]){SMALL, "--steps", "1", "--checkpoint", P_("busy"), "--force", NULL}) == 0,
          "after SIGKILL the folder is free: %s", err_buf);
}

/* --resume: conflicting options named and refused; --epochs extends the run */
static void test_resume_options(void)
{
    char d[300];
    snprintf(d, sizeof d, "%s", P_("ext"));
    CHECK(run((const char *[]){SMALL, "--epochs", "2", "--checkpoint", d, NULL}) == 0, "2-epoch run: %s", err_buf);
    expect_usage((const char *[]){"train", "--resume", "--checkpoint", d, "--lr", "0.02", NULL},
                 "--lr 0.02 conflicts with the stored run's 0.01");
    expect_usage((const char *[]){"train", "--resume", "--checkpoint", d, "--d-state", "16", NULL},
                 "--d-state 16 conflicts with the stored run's 64");
    expect_usage((const char *[]){"train", "--resume", "--checkpoint", d, "--freeze-ssm", NULL}, "--freeze-ssm");
    expect_usage((const char *[]){"train", "--resume", "--checkpoint", d, "--glu", NULL}, "--glu on conflicts");
    expect_usage((const char *[]){"train", "--resume", "--checkpoint", d, "--s4-kernel", "dense", NULL},
                 "--s4-kernel dense conflicts with the stored run's dplr");
    expect_usage((const char *[]){"train", "adding", "--init", "s4-dplr", "--s4-kernel", "cauchy", NULL},
                 "--s4-kernel must be dplr or dense, got 'cauchy'");
    expect_usage((const char *[]){"train", "adding", "--init", "s4-dplr", "--s4-kernel", "dense", NULL},
                 "the dense reference path (--s4-kernel dense) is frozen");
    expect_usage((const char *[]){"train", "listops", "--resume", "--checkpoint", d, NULL}, "TASK 'listops' conflicts");
    expect_usage((const char *[]){"train", "--resume", "--checkpoint", d, "--epochs", "1", NULL},
                 "--epochs 1 is fewer than the stored run's 2");
    expect_usage((const char *[]){"train", "--resume", "--checkpoint", d, "--force", NULL}, "--force");
    expect_usage((const char *[]){"train", "--resume", "--checkpoint", P_("nothing"), NULL}, "nothing");
    /* options equal to the stored ones are fine; at the end of the run there is nothing left to do */
    CHECK(run((const char *[]){"train", "adding", "--resume", "--checkpoint", d, "--lr", "0.01", "--n-train", "256",
                               "-q", NULL}) == 0 && ckpt_step(P_("ext/ckpt.bin")) == 16, "agreeing options: %s", err_buf);
    /* extension, with a schedule that does not depend on the total (every step in the warm-up): the
     * bytes of one 3-epoch run */
    CHECK(run((const char *[]){SMALL, "--epochs", "3", "--warmup", "1000", "--checkpoint", P_("long"), NULL}) == 0 &&
              run((const char *[]){SMALL, "--epochs", "2", "--warmup", "1000", "--checkpoint", P_("short"), NULL}) == 0 &&
              run((const char *[]){"train", "--resume", "--checkpoint", P_("short"), "--epochs", "3", "-q", NULL}) == 0,
          "extension runs: %s", err_buf);
    CHECK(ckpt_step(P_("short/ckpt.bin")) == 24 && same_file(P_("long/ckpt.bin"), P_("short/ckpt.bin")),
          "2 epochs + 1 by --resume --epochs 3 is not the 3-epoch run (constant-in-total schedule)");
    /* a run that stopped inside an epoch (--steps 12 of 8 per epoch), extended with --steps: the same
     * parameters as one 20-step run; its log keeps the row of the stop (step 12) between epochs 1 and 2 */
    CHECK(run((const char *[]){SMALL, "--epochs", "3", "--steps", "20", "--warmup", "1000", "--checkpoint", P_("s20"),
                                 NULL}) == 0 &&
              run((const char *[]){SMALL, "--epochs", "3", "--steps", "12", "--warmup", "1000", "--checkpoint", P_("s12"),
                                   NULL}) == 0 &&
              run((const char *[]){"train", "--resume", "--checkpoint", P_("s12"), "--steps", "20", "-q", NULL}) == 0,
          "extension inside an epoch: %s", err_buf);
    ssm_dmat_t L;
    CHECK(same_file(P_("s20/ckpt.bin"), P_("s12/ckpt.bin")) && ssm_tsv_read(L, P_("s12/log.tsv")) == SSM_OK &&
              L->rows == 4 && SSM_D(L, 0, 1) == 8 && SSM_D(L, 1, 1) == 12 && SSM_D(L, 2, 1) == 16 && SSM_D(L, 3, 1) == 20,
          "--steps 12 + --resume --steps 20 is not the 20-step run, or its log rows are not at steps 8 12 16 20");
    if (L->data)
        ssm_dmat_clear(L);
    CHECK(run((const char *[]){"eval", P_("s12"), NULL}) == 0, "eval of the extended run: %s", err_buf);
    /* with the cosine schedule the first two epochs already decayed towards their own end: not the same */
    CHECK(run((const char *[]){SMALL, "--epochs", "3", "--checkpoint", P_("long2"), NULL}) == 0 &&
              run((const char *[]){"train", "--resume", "--checkpoint", d, "--epochs", "3", "-q", NULL}) == 0,
          "cosine extension runs: %s", err_buf);
    CHECK(ckpt_step(P_("ext/ckpt.bin")) == 24 && !same_file(P_("long2/ckpt.bin"), d),
          "cosine schedule: the extended run should differ from one long run (the README says so)");
}

/* --d-state against an init file; validation and test sizes following --n-train */
static void test_sizes(void)
{
    CHECK(run((const char *[]){"init", "s4d-lin", "-N", "8", "-o", P_("n8.safetensors"), "-q", NULL}) == 0,
          "init -N 8: %s", err_buf);
    expect_usage((const char *[]){"train", "adding", "--init", P_("n8.safetensors"), "--d-state", "16", NULL},
                 "--d-state 16 does not match the init file");
    CHECK(run((const char *[]){"train", "adding", "--init", P_("n8.safetensors"), "--d-state", "8", "--n-train", "64",
                               "--d-model", "4", "--layers", "1", "--seq-len", "16", "--steps", "1", "--json", NULL}) == 0 &&
              strstr(out_buf, "\"d_state\":8"), "--d-state 8 with an N = 8 file: %s %s", err_buf, out_buf);
    /* n_val = n_test = ceil(n_train / 10) unless given, at most 1000 (synthetic tasks) */
    const char *cases[3][2] = {{"640", "64"}, {"95", "10"}, {"12345", "1000"}};
    for (int k = 0; k < 3; k++) {
        char d[32];
        snprintf(d, sizeof d, "sz%d", k);
        int rc = run((const char *[]){"train", "adding", "--init", "s4d-lin", "--n-train", cases[k][0], "--d-model", "4",
                                      "--layers", "1", "--seq-len", "16", "--batch", "32", "--steps", "1",
                                      "--checkpoint", P_(d), NULL});
        ssm_train_config c;
        uint64_t step, total;
        char f[48];
        snprintf(f, sizeof f, "%s/ckpt.bin", d);
        ssm_status s = ssm_train_checkpoint_peek(&c, &step, &total, P_(f));
        size_t want = (size_t)atol(cases[k][1]);
        CHECK(rc == 0 && s == SSM_OK && c.n_val == want && c.n_test == want && c.n_train == (size_t)atol(cases[k][0]),
              "--n-train %s: n_val %zu, n_test %zu (want %zu): %s", cases[k][0], c.n_val, c.n_test, want, err_buf);
    }
}

/* a full disk: stdout on /dev/full (ENOSPC), a checkpoint past the file-size limit (EFBIG) */
static void test_disk_full(void)
{
    int rc = wait_for(spawn_to((const char *[]){"eval", P_("ref"), NULL}, "/dev/full"));
    CHECK(rc == 1 && strstr(err_buf, "No space left on device"), "eval > /dev/full: exit %d, '%s'", rc, err_buf);
    CHECK(run((const char *[]){SMALL, "--checkpoint", P_("full"), NULL}) == 0, "small run: %s", err_buf);
    CHECK(put_file(P_("full.keep"), NULL, 0), "scratch");
    unsigned char *b;
    size_t len;
    if (ssm_read_file(&b, &len, P_("full/ckpt.bin")) != SSM_OK)
        return;
    CHECK(put_file(P_("full.keep"), b, len), "keep a copy");
    free(b);
    /* the resumed run writes its next checkpoint one step on; the limit lets the log (~0.5 KB) through */
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)(len / 2);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN); /* inherited: write() fails with EFBIG instead */
    setrlimit(RLIMIT_FSIZE, &lim);
    pid_t pid = spawn((const char *[]){"train", "--resume", "--checkpoint", P_("full"), "--epochs", "2",
                                       "--checkpoint-every", "1", "-q", NULL});
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    rc = wait_for(pid);
    int lines = 0;
    for (const char *q = err_buf; *q; q++)
        lines += *q == '\n';
    CHECK(rc == 1 && lines == 1 && strstr(err_buf, "cannot write the checkpoint") && strstr(err_buf, "File too large"),
          "checkpoint past RLIMIT_FSIZE: exit %d, '%s'", rc, err_buf);
    CHECK(same_bytes(P_("full/ckpt.bin"), P_("full.keep")) && count_prefixed(P_("full"), ".ckpt.bin.tmp.") == 0,
          "the previous checkpoint is not intact, or a temporary was left");
}

static void test_bad_input(void)
{
    expect_usage((const char *[]){"train", NULL}, "missing TASK");
    expect_usage((const char *[]){"train", "mnist", "--init", "s4d-lin", NULL}, "unknown task");
    expect_usage((const char *[]){"train", "adding", NULL}, "missing --init");
    expect_usage((const char *[]){"train", "adding", "--init", "nope", "--checkpoint", P_("bad1"), NULL},
                 "neither a file nor an init method");
    struct stat sb;
    CHECK(stat(P_("bad1"), &sb) != 0, "a failed train created its checkpoint folder");
    expect_usage((const char *[]){"train", "adding", "--init", "s4d-lin", "--dropout", "1.5", NULL}, "--dropout");
    expect_usage((const char *[]){"train", "adding", "--init", "s4d-lin", "--lr", "nan", NULL}, "--lr");
    expect_usage((const char *[]){"train", "adding", "--init", "s4d-lin", "--batch", "0", NULL}, "--batch");
    expect_usage((const char *[]){"train", "adding", "--init", "s4d-lin", "--frobnicate", NULL}, "unknown option");
    expect_usage((const char *[]){"train", "sfmnist", "--init", "s4d-lin", "--data", "/nonexistent", NULL},
                 "dataset-fashion-mnist");
    expect_usage((const char *[]){"train", "adding", "--resume", NULL}, "--resume needs --checkpoint");
    expect_usage((const char *[]){"eval", NULL}, "missing CHECKPOINT");
    expect_usage((const char *[]){"eval", P_("nothing-here"), NULL}, "nothing-here");
    expect_usage((const char *[]){"eval", P_("ref"), "--noise", "gauss:1:2", NULL}, "--noise");
    expect_usage((const char *[]){"eval", P_("ref"), "--noise-sweep", "10:1:5", NULL}, "--noise-sweep");
    expect_usage((const char *[]){"eval", P_("ref"), "-o", P_("x.npy"), NULL}, ".tsv");
    CHECK(stat(P_("x.npy"), &sb) != 0, "eval with a bad -o created a file");
    expect_usage((const char *[]){"eval", P_("ref"), "-o", P_("x.foo"), NULL}, "x.foo");
    /* a truncated checkpoint and one with a bad magic are refused */
    unsigned char *buf;
    size_t len;
    if (ssm_read_file(&buf, &len, P_("ref/ckpt.bin")) == SSM_OK) {
        FILE *fp = fopen(P_("trunc.bin"), "wb");
        fwrite(buf, 1, len - 7, fp);
        fclose(fp);
        expect_usage((const char *[]){"eval", P_("trunc.bin"), NULL}, "truncated");
        buf[0] = 'X';
        fp = fopen(P_("magic.bin"), "wb");
        fwrite(buf, 1, len, fp);
        fclose(fp);
        expect_usage((const char *[]){"eval", P_("magic.bin"), NULL}, "bad magic");
        free(buf);
    }
    /* the robustness experiment's job protocol (the jobs themselves take minutes: not run here) */
    mkdir(P_("exp"), 0777);
    CHECK(run((const char *[]){"experiment", "robustness", "--jobs", "--out", P_("exp"), NULL}) == 0 &&
              strstr(out_buf, "--job 3") && strstr(out_buf, "--merge"), "robustness --jobs: %s", out_buf);
    expect_usage((const char *[]){"experiment", "robustness", "--merge", "--out", P_("exp"), NULL}, "part-0");
    expect_usage((const char *[]){"experiment", "robustness", "--job", "4", "--out", P_("exp"), NULL}, "--job");
    CHECK(run((const char *[]){"train", "--help", NULL}) == 0 && strstr(out_buf, "--checkpoint-every"), "train --help");
    CHECK(run((const char *[]){"eval", "--help", NULL}) == 0 && strstr(out_buf, "--noise-sweep"), "eval --help");
}

/* The S5 layer through checkpoints: an S5-PTD file (init ptd --blocks 2) trained 8 steps, then resumed to
 * 16, ends with the bytes of a 16-step run (the warm-up covers every step, so the schedule does not
 * depend on the planned total); trained and frozen Λ, B̃, Δ; eval reads it back (amplitude 0 = clean). */
static void test_s5_resume(const char *freeze, const char *tag)
{
    char ref[200], part[210], file[200];
    snprintf(ref, sizeof ref, "%s", P_(tag));
    snprintf(part, sizeof part, "%s-part", ref);
    snprintf(file, sizeof file, "%s", P_("s5ptd.safetensors"));
    CHECK(run((const char *[]){"init", "ptd", "-N", "8", "--eps", "0.1", "--blocks", "2", "-o", file, "-q", NULL}) == 0,
          "init ptd --blocks 2: %s", err_buf);
#define S5RUN(dir, steps) "train", "adding", "--init", file, "--seq-len", "32", "--n-train", "256", "--d-model", "8", \
                          "--layers", "2", "--batch", "32", "--threads", "2", "--seed", "4", "--warmup", "16",     \
                          "--epochs", "2", "--steps", steps, freeze, "--checkpoint", dir, "-q"
    int rc = run((const char *[]){S5RUN(ref, "16"), NULL});
    CHECK(rc == 0, "S5 %s: reference run exit %d: %s", tag, rc, err_buf);
    char a[220], b[230];
    snprintf(a, sizeof a, "%s/ckpt.bin", ref);
    snprintf(b, sizeof b, "%s/ckpt.bin", part);
    rc = run((const char *[]){S5RUN(part, "8"), NULL});
    CHECK(rc == 0 && ckpt_step(b) == 8, "S5 %s: 8-step run exit %d: %s", tag, rc, err_buf);
    rc = run((const char *[]){"train", "--resume", "--checkpoint", part, "--steps", "16", "-q", NULL});
    CHECK(rc == 0, "S5 %s: resume exit %d: %s", tag, rc, err_buf);
    CHECK(ckpt_step(a) == 16 && same_file(a, b), "S5 %s: the resumed run does not end with the 16-step run's bytes",
          tag);
    rc = run((const char *[]){"eval", ref, "--noise", "fourier:100:0", "--amps", "0,0.3", NULL});
    double v[3][4] = {{0}};
    int rows = 0;
    for (const char *p = out_buf; p && *p && rows < 3; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (*p != '#' && sscanf(p, "%lf %lf %lf %lf", &v[rows][0], &v[rows][1], &v[rows][2], &v[rows][3]) == 4)
            rows++;
    CHECK(rc == 0 && rows == 3 && v[1][2] == v[0][2] && v[1][3] == v[0][3] && isfinite(v[2][2]) && v[2][2] != v[0][2],
          "S5 %s: eval exit %d, %d rows; clean loss %g, amplitude 0: %g, 0.3: %g", tag, rc, rows, v[0][2], v[1][2],
          v[2][2]);
#undef S5RUN
}


/* ---- experiment robustness --medium: the job protocol at the smoke-test size (--quick) ---------------- */

#define MED(d, ...) "experiment", "robustness", "--medium", "--quick", "--seeds", "2", "--out", d, __VA_ARGS__

/* job 2 (S4-PTD frozen: the shared init) killed (SIGKILL) once its first epoch's checkpoint is on disk,
 * then rerun with --out DIR/ (the stored init path differs, its file name does not): it resumes and
 * writes the part file of the uninterrupted job byte for byte; --quick's files are robustness-medium-quick.* */
static void test_medium_resume(void)
{
    char a[250], b[250], b2[260], pa[300], pb[300], ck[300];
    snprintf(a, sizeof a, "%s", P_("med-a"));
    snprintf(b, sizeof b, "%s", P_("med-b"));
    snprintf(b2, sizeof b2, "%s/", b);
    snprintf(pa, sizeof pa, "%s/robustness-medium-quick.part-2.tsv", a);
    snprintf(pb, sizeof pb, "%s/robustness-medium-quick.part-2.tsv", b);
    snprintf(ck, sizeof ck, "%s/robustness-medium-quick.run-2/ckpt.bin", b);
    int rc = run((const char *[]){MED(a, "--job", "2", "-q"), NULL});
    CHECK(rc == 0 && access(pa, R_OK) == 0, "medium job 2: exit %d: %s", rc, err_buf);
    mkdir(b, 0777);
    pid_t pid = spawn((const char *[]){MED(b, "--job", "2", "-q"), NULL});
    long seen = -1;
    struct timespec nap = {0, 200000}; /* 0.2 ms */
    for (int i = 0; i < 300000 && seen < 8; i++) { /* 8 steps = the first epoch (512 images, batch 64) */
        nanosleep(&nap, NULL);
        seen = ckpt_step(ck);
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            pid = -1;
            break;
        }
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    long at = ckpt_step(ck);
    int interrupted = access(pb, F_OK) != 0;
    printf("medium job 2 killed at checkpoint step %ld of 24 (%s)\n", at, interrupted ? "before its part file" :
           "too late: after its part file, which is removed to resume from the final checkpoint");
    CHECK(at >= 8, "the killed medium job left no checkpoint (step %ld)", at);
    if (!interrupted)
        unlink(pb);
    /* another seed in the same run folder: refused, naming the field */
    expect_usage((const char *[]){MED(b, "--seed", "5", "--job", "2"), NULL}, "its seed differs");
    rc = run((const char *[]){MED(b2, "--job", "2"), NULL});
    CHECK(rc == 0 && strstr(out_buf, "resuming"), "medium job 2 rerun with --out DIR/: exit %d, stdout '%s', stderr "
          "'%s'", rc, out_buf, err_buf);
    CHECK(same_bytes(pa, pb), "the resumed medium job's part file differs from the uninterrupted one's");
    rc = run((const char *[]){MED(b, "--job", "2", "-q"), NULL});
    CHECK(rc == 0 && strstr(err_buf, "nothing to do"), "a job whose part exists, -q: exit %d, stderr '%s'", rc,
          err_buf);
    /* a shared init that is not this run's: refused before any training (here S4-PTD's, N 16, as the
     * S5-PTD file, and as the full size's S4-PTD file, N 64) */
    char from[300], to[300], e[250], cmd[1400];
    snprintf(e, sizeof e, "%s", P_("med-e"));
    mkdir(e, 0777);
    snprintf(from, sizeof from, "%s/robustness-medium-quick.ptd.safetensors", a);
    snprintf(to, sizeof to, "%s/robustness-medium-quick.s5-ptd.safetensors", e);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && cp '%s' '%s/robustness-medium.ptd.safetensors'", from, to, from, e);
    CHECK(system(cmd) == 0, "copy the shared init: %s", cmd);
    expect_usage((const char *[]){MED(e, "--job", "3"), NULL}, "its blocks differs");
    expect_usage((const char *[]){"experiment", "robustness", "--medium", "--seeds", "2", "--job", "2", "--out", e,
                                  NULL}, "its N differs");
    /* eval --noise fourier:top:AMP: the model's own top mode, here (Λ frozen) the init's top |Im λ| that the
     * part file states (c8 of the summary row, from the double-precision init; Λ is float32 in the model) */
    char run0[300];
    snprintf(run0, sizeof run0, "%s/robustness-medium-quick.run-2", a);
    ssm_dmat_t P;
    double own = NAN, w[2][4] = {{0}};
    if (ssm_tsv_read(P, pa) == SSM_OK) {
        own = SSM_D(P, 0, 9);
        ssm_dmat_clear(P);
    }
    rc = run((const char *[]){"eval", run0, "--noise", "fourier:top:0.3", "--n", "64", NULL});
    const char *q = out_buf;
    for (int r = 0; q && *q && r < 2; q = strchr(q, '\n') ? strchr(q, '\n') + 1 : NULL)
        if (*q != '#' && sscanf(q, "%lf %lf %lf %lf", &w[r][0], &w[r][1], &w[r][2], &w[r][3]) == 4)
            r++;
    CHECK(rc == 0 && fabs(w[1][0] - own) <= 1e-6 * own && w[1][1] == 0.3 && w[1][2] != w[0][2],
          "eval fourier:top:0.3: exit %d, omega %.9g (the init's top mode %.9g), loss %g (clean %g): %s", rc, w[1][0],
          own, w[1][2], w[0][2], err_buf);
    expect_usage((const char *[]){"eval", run0, "--noise", "fourier:top:-1", NULL}, "fourier:top:AMP");
    rc = run((const char *[]){MED(a, "--job", "0", "-q"), NULL});
    CHECK(rc == 0, "medium job 0: exit %d: %s", rc, err_buf);
    expect_usage((const char *[]){MED(a, "--merge"), NULL}, "quick.part-1.tsv is missing");
    expect_usage((const char *[]){MED(a, "--job", "16"), NULL}, "--job must be in [0, 15]");
    expect_usage((const char *[]){"experiment", "robustness", "--seeds", "3", "--jobs", NULL}, "--medium only");
    expect_usage((const char *[]){"experiment", "robustness", "--medium", "--full", "--jobs", NULL}, "exclude");
    expect_usage((const char *[]){"experiment", "robustness", "--medium", "--seeds", "1", "--jobs", NULL}, "--seeds");
    expect_usage((const char *[]){"experiment", "spikes", "--medium", NULL}, "robustness only");
    rc = run((const char *[]){MED(a, "--jobs"), NULL});
    int lines = 0;
    for (const char *j = out_buf; (j = strstr(j, "--job ")) != NULL; j++)
        lines++;
    CHECK(rc == 0 && lines == 16 && strstr(out_buf, "--job 15 ") && strstr(out_buf, "--merge"),
          "--medium --seeds 2 --jobs: 16 jobs and the merge line: %s", out_buf);
}

/* a synthetic part file of job k = 8·seed_index + row (3 seeds), its accuracies from acc(row, seed) */
static double med_acc(int row, int si, int m) { return 0.80 + 0.01 * row + 0.02 * si * si + 0.001 * m * (row + si); }

static int write_med_part(const char *d, int row, int si, int n_sweep)
{
    char path[300];
    snprintf(path, sizeof path, "%s/robustness-medium.part-%d.tsv", d, 8 * si + row);
    FILE *fp = fopen(path, "w");
    if (!fp)
        return 0;
    fprintf(fp, "kind\tc0\tc1\tc2\tc3\tc4\tc5\tc6\tc7\tc8\tc9\tc10\n0\t%d\t%d", row, si);
    for (int m = 0; m < 5; m++)
        fprintf(fp, "\t%.17g", med_acc(row, si, m));
    fprintf(fp, "\t81\t%d\t0.5\t0\n", 10 + row);
    for (int i = 0; i < n_sweep; i++) /* the sweep (19): clean, 9 log points, 4 poles, 5 around omega* */
        fprintf(fp, "1\t%d\t%d\t%d\t0.1\t%.17g\t1\t128\t0\t0\t0\t0\n", row, si, 10 * i, 0.5 + 0.01 * i + 0.02 * si);
    return fclose(fp) == 0;
}

/* --merge on hand-made parts (3 seeds): the means, the 95% t intervals and the paired differences against
 * row 0, computed here with the tabulated t_{0.975,2} = 4.302652729749464 (not GSL's quantile) */
static void test_medium_merge(void)
{
    char d[250];
    snprintf(d, sizeof d, "%s", P_("med-c"));
    mkdir(d, 0777);
    int ok = 1;
    for (int si = 0; si < 3; si++)
        for (int row = 0; row < 8; row++)
            ok &= write_med_part(d, row, si, 19);
    CHECK(ok, "write the synthetic part files");
    /* the full size's names: a --quick merge in the same folder finds none of them */
    expect_usage((const char *[]){"experiment", "robustness", "--medium", "--quick", "--seeds", "3", "--merge", "--out",
                                  d, "-q", NULL}, "robustness-medium-quick.part-0.tsv is missing");
    int rc = run((const char *[]){"experiment", "robustness", "--medium", "--seeds", "3", "--merge", "--out", d, "-q",
                                  NULL});
    CHECK(rc == 0, "medium merge: exit %d: %s", rc, err_buf);
    char path[300];
    snprintf(path, sizeof path, "%s/robustness-medium.tsv", d);
    FILE *fp = fopen(path, "r");
    char line[4096];
    int rows = 0, good = 0;
    const double t2 = 4.302652729749464;
    while (fp && fgets(line, sizeof line, fp)) {
        if (line[0] == '#' || strncmp(line, "row", 3) == 0)
            continue;
        int row;
        char key[64];
        double lr, nseed, wstar, wown, v[20];
        char *p = line;
        if (sscanf(p, "%d %63s %lf %lf %lf %lf", &row, key, &lr, &nseed, &wstar, &wown) != 6 || row < 0 || row > 7)
            break;
        for (int f = 0; f < 6; f++)
            p = strchr(p, '\t') + 1;
        for (int j = 0; j < 20; j++)
            v[j] = strtod(p, &p);
        rows++;
        int row_ok = nseed == 3 && wstar == 81 && wown == 10 + row;
        for (int m = 0; m < 5; m++) {
            double x[3], dx[3], mx = 0, md = 0, sx = 0, sd = 0;
            for (int si = 0; si < 3; si++) {
                x[si] = med_acc(row, si, m);
                dx[si] = x[si] - med_acc(0, si, m);
                mx += x[si] / 3;
                md += dx[si] / 3;
            }
            for (int si = 0; si < 3; si++) {
                sx += (x[si] - mx) * (x[si] - mx) / 2;
                sd += (dx[si] - md) * (dx[si] - md) / 2;
            }
            double want[4] = {mx, t2 * sqrt(sx / 3), md, t2 * sqrt(sd / 3)};
            for (int j = 0; j < 4; j++) /* 1e-12: a few roundings of values near 1 */
                row_ok &= fabs(v[4 * m + j] - want[j]) <= 1e-12;
        }
        good += row_ok;
        if (!row_ok)
            printf("merge row %d differs: clean %.17g +- %.17g, diff %.17g +- %.17g\n", row, v[0], v[1], v[2], v[3]);
    }
    if (fp)
        fclose(fp);
    CHECK(rows == 8 && good == 8, "merged means and t intervals: %d rows, %d agree with the hand computation", rows,
          good);
    snprintf(path, sizeof path, "%s/robustness-medium.json", d);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    json_t *r1 = j ? json_array_get(json_object_get(j, "rows"), 1) : NULL;
    double dm = json_real_value(json_object_get(json_object_get(r1, "clean"), "diff_mean"));
    CHECK(r1 && fabs(dm - 0.01) <= 1e-12, "robustness-medium.json: row 1 clean diff_mean %g (expected 0.01)", dm);
    json_decref(j);
    /* an --out too long for the file names (1100-byte paths): one line, exit 2, before any work */
    char lng[1400];
    int L = snprintf(lng, sizeof lng, "%s", P_("med-long"));
    for (int i = 0; i < 6; i++)
        L += snprintf(lng + L, sizeof lng - (size_t)L, "/%0180d", i);
    expect_usage((const char *[]){"experiment", "robustness", "--medium", "--seeds", "2", "--job", "0", "--out", lng,
                                  NULL}, "is too long for robustness-medium.part-0.tsv");
    expect_usage((const char *[]){"experiment", "robustness", "--quick", "--job", "0", "--out", lng, NULL},
                 "is too long for robustness-curves.tsv");
    /* a part with a 20th sweep row: a format error, not ignored */
    CHECK(write_med_part(d, 5, 1, 20), "write a part with 20 sweep rows");
    expect_fail(2, (const char *[]){"experiment", "robustness", "--medium", "--seeds", "3", "--merge", "--out", d, "-q",
                                    NULL}, "part-13.tsv has 1 summary and 20 sweep rows, expected 1 and 19");
}

int main(void)
{
    t_init();
    if (cli_setup("t-train-resume", dir))
        return t_finish();
    test_kill_resume();
    test_s5_resume("--lr-ssm=0.001", "s5");
    test_s5_resume("--freeze-ssm", "s5-frozen");
    test_integrity();
    test_export();
    test_folders();
    test_resume_options();
    test_sizes();
    test_disk_full();
    test_bad_input();
    test_medium_resume();
    test_medium_merge();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return t_finish();
}
