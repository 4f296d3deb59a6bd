/*
 * cleanup: scope-bound ownership, as in systemd, bubblewrap and crun.
 *
 * A variable declared `cleanup_free char *p = NULL;` is freed when it goes out
 * of scope; `steal_pointer(&p)` hands the value on and leaves NULL behind, so
 * the owner is always exactly one name. The same for descriptors with
 * `cleanup_close` and `steal_fd`.
 */
#ifndef TEMPER_BASE_CLEANUP_H
#define TEMPER_BASE_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
cleanup_freep(void *p)
{
    free(*(void **)p);
}

static inline void
cleanup_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

static inline void
cleanup_fclosep(FILE **f)
{
    if (*f != NULL)
        fclose(*f);
}

#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))
#define cleanup_file __attribute__((cleanup(cleanup_fclosep)))

static inline void *
steal_pointer_impl(void *pp)
{
    void **p = pp;
    void *v = *p;
    *p = NULL;
    return v;
}

/* Type-safe: the result has the type of *pp. */
#define steal_pointer(pp) ((__typeof__(*(pp)))steal_pointer_impl(pp))

static inline int
steal_fd(int *fd)
{
    int v = *fd;
    *fd = -1;
    return v;
}

#endif
