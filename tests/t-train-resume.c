/* tests/t-train-resume.c — checkpoints through the `ssmkit` binary ($SSM_BIN): a run killed with SIGKILL
 * at a random step and resumed with --resume ends with exactly the parameters and AdamW moments of an
 * uninterrupted run (bit for bit); `train`/`eval` bad input exits 2 with one stderr line and leaves no
 * file; a corrupted checkpoint is refused (EFORMAT); `eval --noise` at amplitude 0 equals clean. */
#define _POSIX_C_SOURCE 200809L
#include "ssmkit.h"
#include "tests/harness.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static const char *bin;
static char dir[] = "/tmp/ssm-t-resume-XXXXXX";
static char err_buf[1 << 16], out_buf[1 << 16];

static const char *P_(const char *name)
{
    static char buf[8][300];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    size_t n = fp ? fread(buf, 1, cap - 1, fp) : 0;
    buf[n] = '\0';
    if (fp)
        fclose(fp);
}

static pid_t spawn(const char *const *args)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    while (*args && n < 63)
        argv[n++] = *args++;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, P_(".stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, P_(".stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    if (posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static int run(const char *const *args)
{
    int st = -1;
    pid_t pid = spawn(args);
    if (pid > 0)
        waitpid(pid, &st, 0);
    slurp(P_(".stdout"), out_buf, sizeof out_buf);
    slurp(P_(".stderr"), err_buf, sizeof err_buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* the step stored in a checkpoint header ("step":N in the JSON), -1 when unreadable */
static long ckpt_step(const char *path)
{
    static char buf[1 << 16];
    slurp(path, buf, sizeof buf);
    const char *p = strstr(buf + 16 > buf ? buf + 16 : buf, "\"step\":");
    if (strncmp(buf, "SSMKTRN", 7) != 0 || !p)
        return -1;
    return strtol(p + 7, NULL, 10);
}

static int same_file(const char *a, const char *b)
{
    unsigned char *x, *y;
    size_t nx, ny;
    if (ssm_read_file(&x, &nx, a) != SSM_OK)
        return 0;
    if (ssm_read_file(&y, &ny, b) != SSM_OK) {
        free(x);
        return 0;
    }
    /* the JSON header holds elapsed time; compare the arenas (the last 3·n floats) and the step */
    uint32_t hx = nx >= 16 ? (uint32_t)x[12] | (uint32_t)x[13] << 8 | (uint32_t)x[14] << 16 | (uint32_t)x[15] << 24 : 0;
    uint32_t hy = ny >= 16 ? (uint32_t)y[12] | (uint32_t)y[13] << 8 | (uint32_t)y[14] << 16 | (uint32_t)y[15] << 24 : 0;
    int same = nx - 16 - hx == ny - 16 - hy && nx - 16 - hx > 0 &&
               memcmp(x + 16 + hx, y + 16 + hy, nx - 16 - hx) == 0 && ckpt_step(a) == ckpt_step(b);
    free(x);
    free(y);
    return same;
}

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
    rc = run((const char *[]){"train", "adding", "--resume", "--checkpoint", P_("run"), "-q", NULL});
    CHECK(rc == 0, "resume exit %d: %s", rc, err_buf);
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

static void expect_usage(const char *const *args, const char *needle)
{
    int rc = run(args);
    int lines = 0;
    for (const char *q = err_buf; *q; q++)
        lines += *q == '\n';
    CHECK(rc == 2 && lines == 1 && strstr(err_buf, needle), "%s %s: exit %d, stderr '%s' (wanted '%s')", args[0],
          args[1] ? args[1] : "", rc, err_buf, needle);
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

int main(void)
{
    t_init();
    bin = getenv("SSM_BIN");
    if (!bin || access(bin, X_OK) != 0) {
        fprintf(stderr, "t-train-resume: set SSM_BIN to the ssmkit binary (make check does)\n");
        return 1;
    }
    if (!mkdtemp(dir))
        return 1;
    test_kill_resume();
    test_bad_input();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return t_finish();
}
