/*
 * pkg-internal: what the files of the pkg module share. Not for other
 * modules.
 */
#ifndef TEMPER_PKG_INTERNAL_H
#define TEMPER_PKG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/strmap.h"
#include "pkg.h"

/* Indices into pkg_index.packages, grown as packages are added. */
struct pkg_list {
    size_t *items;
    size_t n;
};

struct pkg_index {
    char **texts; /* the indexes' texts, which the packages' Depends spans point into */
    size_t ntexts;
    struct pkg_package *packages;
    size_t n, cap;
    struct strmap by_name;     /* name -> struct pkg_list of packages of that name */
    struct strmap by_provides; /* name -> struct pkg_list of packages providing it */
};

/* The packages of that name, or NULL. */
const struct pkg_list *pkg_index_named(const struct pkg_index *idx, const char *name);
/* The packages that provide that name, or NULL. */
const struct pkg_list *pkg_index_providers(const struct pkg_index *idx, const char *name);

/* ---- fetching (pkg_fetch.c) ---- */

struct pkg_fetcher;

/* One download into a file: `fd` is empty, readable and writable. */
struct pkg_job {
    const char *url;
    int fd;
    uint64_t size;      /* expected bytes, or 0: unknown, at most `max` */
    uint64_t max;       /* with size 0 */
    const char *sha256; /* expected digest (hex), or NULL */
    const char *what;   /* names it in messages */
};

int pkg_fetcher_new(const struct pkg_env *env, struct pkg_fetcher **out, struct temper_err *err);
void pkg_fetcher_free(struct pkg_fetcher *f);
/* Runs the jobs, env->jobs at a time, each retried and resumed as pkg_fetch.c says, and checked
 * against its size and digest; -1 at the first that fails for good, the others stopped. */
int pkg_fetch_files(struct pkg_fetcher *f, struct pkg_job *jobs, size_t n, struct temper_err *err);
/* GET into memory, at most `max` bytes; *out NUL-terminated. */
int pkg_fetch_memory(struct pkg_fetcher *f, const char *url, size_t max, const char *what,
                     char **out, size_t *len, struct temper_err *err);
/* "sha256:<hex>" of a whole file, read with pread from offset 0. */
int pkg_digest_fd(int fd, char digest[72], struct temper_err *err);

#endif
