/*
 * error: the one error type every module reports through.
 *
 * A function that can fail takes `struct temper_err *err` as its last
 * argument, returns 0 (or a pointer) on success and -1 (or NULL) on failure,
 * and writes `err` only on failure. The caller owns the error; its message
 * buffer has a fixed size so that the error path never allocates.
 *
 * Messages follow git's rules: lowercase, no final period, the subject in
 * single quotes, outer context first: "resolve '/usr/bin/x': cannot open ...".
 *
 * A message holds untrusted text as it is (file names, JSON keys, a registry's
 * words): cli escapes the whole message where it is written (base/escape.h), so
 * no module escapes, and none can forget to. A message longer than the buffer
 * is cut after its last whole UTF-8 character and ends in "...".
 */
#ifndef TEMPER_BASE_ERROR_H
#define TEMPER_BASE_ERROR_H

#include <stdarg.h>
#include <stddef.h>

enum temper_errc {
    TEMPER_E_NONE = 0,
    TEMPER_E_IO,      /* a system call failed; sys_errno says why */
    TEMPER_E_PARSE,   /* malformed input: a config file, an argument */
    TEMPER_E_LIMIT,   /* input over one of the caps in limits.h */
    TEMPER_E_ELF,     /* not ELF, truncated or malformed ELF */
    TEMPER_E_MISSING, /* a needed library, image or blob was not found */
    TEMPER_E_USAGE,   /* the caller asked for something impossible */
    TEMPER_E_POLICY,  /* refused by a hardening rule, or a rule the recipe demands */
    TEMPER_E_SIG,     /* a signature, key or signed payload is wrong, or a digest does not match */
    TEMPER_E_NET,     /* a registry could not be reached, or answered with an error */
    TEMPER_E_AUTH,    /* a registry refused the credentials (or their absence) */
};

struct temper_err {
    enum temper_errc code;
    int sys_errno;
    char msg[1024];
};

/* Sets code, errno (0 when none) and the formatted message; returns -1. */
int temper_err_set(struct temper_err *err, enum temper_errc code, int sys_errno, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

/* temper_err_set with a va_list. */
int temper_err_vset(struct temper_err *err, enum temper_errc code, int sys_errno, const char *fmt,
                    va_list ap) __attribute__((format(printf, 4, 0)));

/*
 * Like temper_err_set, and appends ": strerror(sys_errno)" to the message.
 */
int temper_err_sys(struct temper_err *err, enum temper_errc code, int sys_errno, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

/*
 * Copies untrusted text (a name from a file, a key from JSON) into `out` for a message: all of
 * it, or as much as fits `size` (at least 8) before "...", never half a UTF-8 character. The
 * bytes are kept as they are: cli escapes every message where it writes it (base/escape.h), so
 * a message shows `a\nb` and `a?b` apart and no name reaches a terminal raw. (The name is older
 * than that rule: this only bounds the text.) `out` may be `s`. Returns out.
 */
const char *temper_printable(const char *s, char *out, size_t size);

/* Prepends "context: " to the message, keeping code and errno; returns -1. */
int temper_err_prefix(struct temper_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
