#include "error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

/*
 * A message too long for the buffer ends in "..." after its last whole character, so that the
 * cut shows and no half UTF-8 character is left for the writer to show as bytes. Nothing is
 * appended after a cut. Each function returns false once the message is cut.
 */
static bool
mark_cut(char *msg, size_t size)
{
    memcpy(msg + utf8_cut(msg, size - 4), "...", 4);
    return false;
}

static bool __attribute__((format(printf, 2, 0)))
set_message(struct temper_err *err, const char *fmt, va_list ap)
{
    int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);

    return n >= (int)sizeof(err->msg) ? mark_cut(err->msg, sizeof(err->msg)) : true;
}

/* Appends s to the message at *len. */
static bool
append(struct temper_err *err, size_t *len, const char *s)
{
    size_t room = sizeof(err->msg) - 1 - *len, n = strlen(s);

    if (n > room) {
        memcpy(err->msg + *len, s, room);
        err->msg[sizeof(err->msg) - 1] = '\0';
        return mark_cut(err->msg, sizeof(err->msg));
    }
    memcpy(err->msg + *len, s, n);
    *len += n;
    err->msg[*len] = '\0';
    return true;
}

int
temper_err_set(struct temper_err *err, enum temper_errc code, int sys_errno, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    temper_err_vset(err, code, sys_errno, fmt, ap);
    va_end(ap);
    return -1;
}

int
temper_err_vset(struct temper_err *err, enum temper_errc code, int sys_errno, const char *fmt,
                va_list ap)
{
    err->code = code;
    err->sys_errno = sys_errno;
    set_message(err, fmt, ap);
    return -1;
}

int
temper_err_sys(struct temper_err *err, enum temper_errc code, int sys_errno, const char *fmt, ...)
{
    va_list ap;
    size_t len;
    bool whole;

    err->code = code;
    err->sys_errno = sys_errno;
    va_start(ap, fmt);
    whole = set_message(err, fmt, ap);
    va_end(ap);
    len = strlen(err->msg);
    if (whole && append(err, &len, ": "))
        append(err, &len, strerror(sys_errno));
    return -1;
}

int
temper_err_prefix(struct temper_err *err, const char *fmt, ...)
{
    char old[sizeof(err->msg)];
    va_list ap;
    size_t len;
    bool whole;

    memcpy(old, err->msg, sizeof(old));
    va_start(ap, fmt);
    whole = set_message(err, fmt, ap);
    va_end(ap);
    len = strlen(err->msg);
    if (whole && append(err, &len, ": "))
        append(err, &len, old);
    return -1;
}

const char *
temper_printable(const char *s, char *out, size_t size)
{
    size_t len = strlen(s);

    if (len < size) {
        memmove(out, s, len + 1);
        return out;
    }
    len = utf8_cut(s, size - 4);
    memmove(out, s, len);
    memcpy(out + len, "...", 4);
    return out;
}
