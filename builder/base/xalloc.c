#define _GNU_SOURCE
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void __attribute__((noreturn)) out_of_memory(void)
{
    fputs("temper: out of memory\n", stderr);
    abort();
}

void *
xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        out_of_memory();
    return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (p == NULL)
        out_of_memory();
    return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
    void *p = reallocarray(ptr, nmemb ? nmemb : 1, size ? size : 1);

    if (p == NULL)
        out_of_memory();
    return p;
}

size_t
xalloc_held(size_t size)
{
    size_t held = (size + 8 + 15) & ~(size_t)15;

    return held < 32 ? 32 : held;
}

char *
xstrdup(const char *s)
{
    char *p = strdup(s);

    if (p == NULL)
        out_of_memory();
    return p;
}

char *
xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);

    if (p == NULL)
        out_of_memory();
    return p;
}

char *
xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory();
    return p;
}

size_t
strv_len(char *const *v)
{
    size_t n = 0;

    while (v != NULL && v[n] != NULL)
        n++;
    return n;
}

void
strv_append(char ***v, size_t *n, char *s)
{
    *v = xreallocarray(*v, *n + 2, sizeof(**v));
    (*v)[(*n)++] = s;
    (*v)[*n] = NULL;
}

void
strv_push(char ***v, char *s)
{
    size_t n = strv_len(*v);

    strv_append(v, &n, s);
}

void
strv_free(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}
