#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void __attribute__((format(printf, 2, 0)))
set_message(struct temper_err *err, const char *fmt, va_list ap)
{
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

/* Appends s to the message at *len, truncating at the buffer's end. */
static void
append(struct temper_err *err, size_t *len, const char *s)
{
    size_t room = sizeof(err->msg) - 1 - *len, n = strlen(s);

    if (n > room)
        n = room;
    memcpy(err->msg + *len, s, n);
    *len += n;
    err->msg[*len] = '\0';
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
    append(err, &len, ": ");
    append(err, &len, strerror(sys_errno));
    return -1;
}

int
temper_err_prefix(struct temper_err *err, const char *fmt, ...)
{
    char old[sizeof(err->msg)];
    va_list ap;
    size_t len;

    memcpy(old, err->msg, sizeof(old));
    va_start(ap, fmt);
    set_message(err, fmt, ap);
    va_end(ap);
    len = strlen(err->msg);
    append(err, &len, ": ");
    append(err, &len, old);
    return -1;
}

const char *
temper_printable(const char *s, char *out, size_t size)
{
    size_t i = 0;

    for (; s[i] != '\0' && i + 4 < size; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (s[i] != '\0') {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}
