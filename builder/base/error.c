#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void
set_message(struct temper_err *err, const char *fmt, va_list ap)
{
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int
temper_err_set(struct temper_err *err, enum temper_errc code, int sys_errno, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    err->sys_errno = sys_errno;
    va_start(ap, fmt);
    set_message(err, fmt, ap);
    va_end(ap);
    return -1;
}

int
temper_err_sys(struct temper_err *err, enum temper_errc code, int sys_errno, const char *fmt, ...)
{
    va_list ap;
    size_t len;

    err->code = code;
    err->sys_errno = sys_errno;
    va_start(ap, fmt);
    set_message(err, fmt, ap);
    va_end(ap);
    len = strlen(err->msg);
    snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(sys_errno));
    return -1;
}

int
temper_err_prefix(struct temper_err *err, const char *fmt, ...)
{
    char old[sizeof(err->msg)];
    va_list ap;
    int n;

    memcpy(old, err->msg, sizeof(old));
    va_start(ap, fmt);
    n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(err->msg))
        snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", old);
    return -1;
}

void
temper_err_clear(struct temper_err *err)
{
    err->code = TEMPER_E_NONE;
    err->sys_errno = 0;
    err->msg[0] = '\0';
}
