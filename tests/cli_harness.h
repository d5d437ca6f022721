/* tests/cli_harness.h — running the `ssmkit` binary from a test: a scratch folder, the binary's path,
 * its captured stdout/stderr.  For the tests that drive the CLI (t-cli, t-plot, t-train-resume); include
 * after tests/harness.h, with _POSIX_C_SOURCE 200809L defined, and set bin and cli_dir in main.  With an
 * out_path of its own, a spawn's stdout is that file, not out_buf. */
#ifndef SSM_TESTS_CLI_HARNESS_H
#define SSM_TESTS_CLI_HARNESS_H

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static const char *bin;                              /* the binary under test ($SSM_BIN)            */
static char out_buf[1 << 20], err_buf[1 << 16];      /* the last run's stdout and stderr            */
static char *cli_dir;                                /* the scratch folder (mkdtemp'd by the test)  */

/* DIR/name in one of 16 rotating buffers (run() uses two of them) */
static const char *P_(const char *name)
{
    static char buf[16][300];
    static int k;
    k = (k + 1) % 16;
    snprintf(buf[k], sizeof buf[k], "%s/%s", cli_dir, name);
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

/* start bin with args (NULL-terminated, without argv[0]) and environment envp (NULL: ours); stdout to
 * out_path (NULL: DIR/.stdout), stderr to DIR/.stderr.  The pid, or -1. */
static pid_t spawn_env(const char *const *args, const char *out_path, char *const *envp)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    while (*args && n < 63)
        argv[n++] = *args++;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path ? out_path : P_(".stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, P_(".stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    if (posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, envp ? envp : environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

/* wait for pid and read its captured output: the exit status, 128 + the signal, or -1 */
static int wait_for(pid_t pid)
{
    int st = -1;
    if (pid > 0)
        waitpid(pid, &st, 0);
    slurp(P_(".stdout"), out_buf, sizeof out_buf);
    slurp(P_(".stderr"), err_buf, sizeof err_buf);
    if (pid <= 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int run(const char *const *args) { return wait_for(spawn_env(args, NULL, NULL)); }

/* The binary ($SSM_BIN, else build/ssmkit) and the scratch folder (a mkdtemp template, kept as
 * cli_dir).  0 when both are ready; otherwise the reason is printed and the binary's absence recorded
 * as a failed check, and the test should return t_finish(). */
static int cli_setup(const char *test, char *dir_template)
{
    bin = getenv("SSM_BIN");
    if (!bin || !*bin)
        bin = "build/ssmkit";
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "%s: cannot run '%s' (set SSM_BIN)\n", test, bin);
        CHECK(0, "binary present");
        return 1;
    }
    if (!mkdtemp(dir_template)) {
        perror("mkdtemp");
        CHECK(0, "scratch folder");
        return 1;
    }
    cli_dir = dir_template;
    return 0;
}

#endif
