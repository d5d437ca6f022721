/* core/status.c — status codes and the single error path. */
#include "core/core.h"

#include <stdarg.h>
#include <stdio.h>
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
