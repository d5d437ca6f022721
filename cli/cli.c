/* cli/cli.c — error printing, number parsing, output kinds. */
#include "cli/cli.h"
#include <unistd.h>
#include <sys/stat.h>
#include <libgen.h>
#include <limits.h>

#include <math.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("ssmkit: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

int cli_fail(ssm_status s)
{
    const char *msg = ssm_error_message();
    fprintf(stderr, "ssmkit: %s\n", *msg ? msg : ssm_strerror(s));
    switch (s) {
    case SSM_ECHECK:
    case SSM_EWRITE: /* the command was right; the disk (or a limit) failed it */
    case SSM_ENOCONV:
    case SSM_ELOSS:
        return EXIT_CHECK;
    default:
        return EXIT_USAGE;
    }
}

int cli_parse_size(size_t *out, const char *opt, const char *text)
{
    if (!text || !*text) {
        cli_usage_error("%s needs a value", opt);
        return 0;
    }
    const char *p = text;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == text || *p != '\0') {
        cli_usage_error("%s must be a positive integer, got '%s'", opt, text);
        return 0;
    }
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    if (errno == ERANGE || v > SIZE_MAX) {
        cli_usage_error("%s = %s is too large", opt, text);
        return 0;
    }
    if (v == 0) {
        cli_usage_error("%s must be positive, got 0", opt);
        return 0;
    }
    *out = (size_t)v;
    return 1;
}

int cli_parse_long(long *out, const char *opt, const char *text, long lo, long hi)
{
    char *end;
    if (!text || !*text) {
        cli_usage_error("%s needs a value", opt);
        return 0;
    }
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*end != '\0' || end == text) {
        cli_usage_error("%s must be an integer, got '%s'", opt, text);
        return 0;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        cli_usage_error("%s = %s is out of range [%ld, %ld]", opt, text, lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* the folder of path exists and is writable: checked with the format, before
 * any work (a 25 s PTD used to run before "cannot create" was said) */
int cli_output_dir_ok(const char *path)
{
    char d[PATH_MAX]; /* dirname works in place: a copy, without allocating */
    if (strlen(path) >= sizeof d) {
        cli_usage_error("cannot write '%.64s...': %s", path, strerror(ENAMETOOLONG));
        return 0;
    }
    strcpy(d, path);
    const char *dir = dirname(d);
    struct stat st;
    int ok = 0;
    if (stat(dir, &st) != 0)
        cli_usage_error("cannot write '%s': %s", path, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        cli_usage_error("cannot write '%s': %s", path, strerror(ENOTDIR));
    else if (access(dir, W_OK | X_OK) != 0)
        cli_usage_error("cannot write '%s': %s", path, strerror(errno));
    else
        ok = 1;
    return ok;
}

int cli_out_kind_of(cli_out_kind *k, const char *path)
{
    if (path && !cli_output_dir_ok(path))
        return 0;
    if (!path)
        *k = OUT_STDOUT_TSV;
    else if (cli_ends_with(path, ".safetensors"))
        *k = OUT_SAFETENSORS;
    else if (cli_ends_with(path, ".npy"))
        *k = OUT_NPY;
    else if (cli_ends_with(path, ".tsv"))
        *k = OUT_TSV;
    else {
        cli_usage_error("cannot tell the output format of '%s' (use .safetensors, .npy or .tsv)", path);
        return 0;
    }
    return 1;
}

static char command_line[1024];

void cli_set_command_line(int argc, char **argv)
{
    size_t n = 0;
    command_line[0] = '\0';
    for (int i = 0; i < argc && n + 2 < sizeof command_line; i++) {
        int w = snprintf(command_line + n, sizeof command_line - n, "%s%s", i ? " " : "", argv[i]);
        if (w < 0)
            break;
        n += (size_t)w;
        if (n >= sizeof command_line)
            n = sizeof command_line - 1;
    }
}

const char *cli_command_line(void)
{
    return command_line;
}



#ifndef SSM_DATADIR
#define SSM_DATADIR "/usr/local/share/ssmkit"
#endif

int cli_plot_script(char *buf, size_t n, const char *name)
{
    const char *env = getenv("SSMKIT_PLOTS");
    if (env && *env) { /* the user's choice is the only place looked */
        snprintf(buf, n, "%s/%s.gp", env, name);
        return access(buf, R_OK) == 0;
    }
    snprintf(buf, n, "plots/%s.gp", name);
    if (access(buf, R_OK) == 0)
        return 1;
    snprintf(buf, n, "%s/plots/%s.gp", SSM_DATADIR, name);
    return access(buf, R_OK) == 0;
}

json_t *cli_jnum(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

ssm_status cli_json_print(json_t *o)
{
    if (!o)
        return SSM_ERROR(SSM_ENOMEM, "out of memory (JSON)");
    char *t = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!t)
        return SSM_ERROR(SSM_ENOMEM, "out of memory (JSON)");
    errno = 0;
    int ok = printf("%s\n", t) >= 0 && fflush(stdout) == 0;
    free(t);
    /* a full disk behind a redirection is a failed write (exit 1), not bad input */
    return ok ? SSM_OK : ssm_atomic_fail(NULL, NULL);
}
