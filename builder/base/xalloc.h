/*
 * xalloc: allocation that never returns NULL. Running out of memory is not an
 * error temper can recover from, so it aborts with a message instead of
 * spreading NULL checks through every caller. Sizes are checked for overflow.
 */
#ifndef TEMPER_BASE_XALLOC_H
#define TEMPER_BASE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
/* Grows (or shrinks) to nmemb * size bytes, checking the product. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/*
 * What malloc(size) holds, as glibc's allocator lays it out on 64-bit hosts: the size plus an
 * 8-byte header, rounded up to 16 bytes, 32 at least. Caps on what untrusted input makes temper
 * keep count this rather than the bytes asked for: a million empty strings hold 32 MB, not 1.
 */
size_t xalloc_held(size_t size);
/* Returns a newly allocated formatted string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* NULL-terminated lists of strings the list owns; NULL is the empty list. */
size_t strv_len(char *const *v);
/* Appends s (taken) to *v, whose length the caller keeps in *n. */
void strv_append(char ***v, size_t *n, char *s);
/* Appends s (taken) to *v, counting it first. */
void strv_push(char ***v, char *s);
void strv_free(char **v);

#endif
