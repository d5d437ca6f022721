/* tests/oom.c — allocation-failure injection for `make check-oom` (scripts/check-oom).
 *
 * Linked only into build-oom/ssmkit with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup:
 * the linker rewrites the calls made by the objects and static archives of that link (ssmkit's own
 * code) to the __wrap_* functions below; shared libraries (OpenBLAS, FLINT, GMP, MPFR, GSL, jansson,
 * FFTW, glibc) keep calling the real allocator and never see a failure.
 *
 *   SSM_OOM_FAIL_AT=k   the k-th wrapped call (from 1, across all four functions) returns NULL with
 *                       errno = ENOMEM; every other call goes through
 *   SSM_OOM_COUNT=FILE  FILE receives the number of wrapped calls: written at exit, and also at the
 *                       moment the injected failure happens (so a crash still leaves ">= k" behind)
 *   SSM_OOM_STACK=1     print the call stack of the failed allocation to stderr (needs a sanitizer
 *                       runtime; a no-op without one) — for diagnosing one run, not for the sweep
 *
 * The counter is atomic; with more than one thread allocating, the order (and so which call is the
 * k-th) is not reproducible: the driver runs everything single-threaded. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);

/* from the sanitizer runtime when there is one */
extern void __sanitizer_print_stack_trace(void) __attribute__((weak));

static atomic_ullong oom_calls;
static unsigned long long oom_fail_at; /* 0: never */
static const char *oom_count_file;
static int oom_stack;

__attribute__((constructor(101))) static void oom_setup(void)
{
    const char *k = getenv("SSM_OOM_FAIL_AT"), *c = getenv("SSM_OOM_COUNT"), *s = getenv("SSM_OOM_STACK");
    if (k && *k)
        oom_fail_at = strtoull(k, NULL, 10);
    if (c && *c)
        oom_count_file = c;
    oom_stack = s && *s && strcmp(s, "0") != 0;
}

/* open/write only: no stdio, no allocation, callable from inside a failing malloc */
static void oom_write_count(unsigned long long n)
{
    if (!oom_count_file)
        return;
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%llu\n", n);
    int fd = open(oom_count_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    if (len > 0 && write(fd, buf, (size_t)len) < 0) {
        /* nothing to do: the driver treats a missing count as "unknown" */
    }
    close(fd);
}

__attribute__((destructor(101))) static void oom_finish(void)
{
    oom_write_count(atomic_load(&oom_calls));
}

/* one more wrapped call; nonzero when this one must fail */
static int oom_tick(void)
{
    unsigned long long n = atomic_fetch_add(&oom_calls, 1) + 1;
    if (oom_fail_at == 0 || n != oom_fail_at)
        return 0;
    oom_write_count(n);
    if (oom_stack && __sanitizer_print_stack_trace) {
        static const char msg[] = "check-oom: injected allocation failure here:\n";
        if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
            /* ignored */
        }
        __sanitizer_print_stack_trace();
    }
    errno = ENOMEM;
    return 1;
}

void *__wrap_malloc(size_t size)
{
    return oom_tick() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return oom_tick() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return oom_tick() ? NULL : __real_realloc(p, size); /* on failure p is left as it was */
}

char *__wrap_strdup(const char *s)
{
    if (oom_tick())
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = __real_malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}
