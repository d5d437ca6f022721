/* core/status.c — status codes and the single error path. */
#include "core/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

static _Thread_local char error_message[512];
static ssm_error_handler *error_handler = NULL;

const char *ssm_strerror(ssm_status s)
{
    switch (s) {
    case SSM_OK:      return "success";
    case SSM_EINVAL:  return "invalid argument";
    case SSM_ENOMEM:  return "out of memory";
    case SSM_ENOCONV: return "iteration did not converge";
    case SSM_ELOSS:   return "loss of precision";
    case SSM_EFORMAT: return "malformed or unsupported file";
    case SSM_EIO:     return "input/output error";
    case SSM_ECHECK:  return "verification failed";
    case SSM_EWRITE:  return "cannot write the output";
    default:          return "unknown status";
    }
}

const char *ssm_error_message(void)
{
    return error_message;
}

void ssm_error_clear(void)
{
    error_message[0] = '\0';
}

ssm_error_handler *ssm_set_error_handler(ssm_error_handler *h)
{
    ssm_error_handler *old = error_handler;
    error_handler = h;
    return old;
}

ssm_status ssm_error_at(ssm_status s, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    /* keep it one line: the CLI promises a single line on stderr */
    for (char *c = error_message; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    if (error_handler)
        error_handler(s, error_message, file, line);
    return s;
}

/* Levenshtein distance of two short words; SIZE_MAX past 32 characters */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 32 || lb > 32)
        return SIZE_MAX;
    size_t d[33][33];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]), del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

const char *ssm_closest_name(const char *word, const char *const *names, size_t count, size_t max_distance)
{
    const char *best = NULL;
    size_t bestd = SIZE_MAX;
    for (size_t i = 0; i < count; i++) {
        size_t d = names[i] ? edit_distance(word, names[i]) : SIZE_MAX;
        if (d < bestd) {
            bestd = d;
            best = names[i];
        }
    }
    return bestd <= max_distance ? best : NULL;
}
