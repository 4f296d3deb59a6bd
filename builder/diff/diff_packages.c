/*
 * The Debian packages an image names (image_diff.h): its
 * /var/lib/dpkg/status.d/ files, kept by the layer reader (diff_layer.c), as
 * untrusted as the rest of the layer. Only what a person reads is taken from
 * a stanza: Package (a Debian package name, else the stanza names nothing),
 * Version and Architecture (printable, no space, at most 256 bytes, else
 * ""); a md5sums line is "<32 hex>  <path>". Where two packages list a path,
 * the status.d file first in byte order owns it, so the result does not
 * depend on the layers' or the hash map's order.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "diff-internal.h"

#define STATUS_D "/var/lib/dpkg/status.d/"
#define FIELD_MAX 256

void
image_packages_init(struct image_packages *p)
{
    *p = (struct image_packages){0};
    strmap_init(&p->owners);
    strmap_init(&p->texts);
}

/* The text under `name` is gone (a later layer's whiteout, or replaced). */
static void
drop(struct image_packages *p, const char *name)
{
    free(strmap_get(&p->texts, name));
    if (strmap_key(&p->texts, name) != NULL)
        strmap_put(&p->texts, name, NULL);
}

void
image_packages_add(struct image_packages *p, const struct image_layer_entries *layer)
{
    for (size_t i = 0; i < layer->n; i++) {
        const struct image_entry *e = &layer->entries[i];
        const char *name = e->path + sizeof(STATUS_D) - 1;
        bool opaque;
        cleanup_free char *target = NULL;

        if (strncmp(e->path, STATUS_D, sizeof(STATUS_D) - 1) != 0 || strchr(name, '/') != NULL)
            continue;
        if (image_entry_is_whiteout(e)) {
            target = image_whiteout_target(e->path, &opaque);
            for (size_t s = 0; opaque && s < p->texts.cap; s++)
                if (p->texts.slots[s].key != NULL)
                    drop(p, p->texts.slots[s].key);
            if (!opaque && target != NULL && strncmp(target, STATUS_D, sizeof(STATUS_D) - 1) == 0)
                drop(p, target + sizeof(STATUS_D) - 1);
            continue;
        }
        drop(p, name);
        if (e->text != NULL)
            strmap_put(&p->texts, name, xstrdup(e->text));
    }
}

static bool
is_package_name(const char *s, size_t len)
{
    if (len < 2 || len > FIELD_MAX ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '+' ||
              s[i] == '-' || s[i] == '.'))
            return false;
    return true;
}

/* A field's value when it is a printable token, else "". */
static char *
token(const char *s, size_t len)
{
    if (len == 0 || len > FIELD_MAX)
        return xstrdup("");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return xstrdup("");
    return xstrndup(s, len);
}

/* Package, Version and Architecture of the first stanza of `text`; false when no package. */
static bool
parse_stanza(const char *text, struct image_package *out)
{
    *out = (struct image_package){0};
    for (const char *line = text, *end; *line != '\0' && *line != '\n'; line = end) {
        const char *colon, *value;
        size_t len;

        end = strchrnul(line, '\n');
        colon = memchr(line, ':', (size_t)(end - line));
        if (*end == '\n')
            end++;
        if (line[0] == ' ' || line[0] == '\t' || colon == NULL)
            continue;
        for (value = colon + 1; *value == ' ' || *value == '\t'; value++)
            ;
        len = strcspn(value, "\n");
        while (len > 0 &&
               (value[len - 1] == ' ' || value[len - 1] == '\t' || value[len - 1] == '\r'))
            len--;
        if ((size_t)(colon - line) == 7 && strncasecmp(line, "Package", 7) == 0 &&
            out->name == NULL)
            out->name = is_package_name(value, len) ? xstrndup(value, len) : NULL;
        else if ((size_t)(colon - line) == 7 && strncasecmp(line, "Version", 7) == 0 &&
                 out->version == NULL)
            out->version = token(value, len);
        else if ((size_t)(colon - line) == 12 && strncasecmp(line, "Architecture", 12) == 0 &&
                 out->architecture == NULL)
            out->architecture = token(value, len);
    }
    if (out->name == NULL) {
        free(out->version);
        free(out->architecture);
        return false;
    }
    if (out->version == NULL)
        out->version = xstrdup("");
    if (out->architecture == NULL)
        out->architecture = xstrdup("");
    return true;
}

static void
package_release(struct image_package *pk)
{
    free(pk->name);
    free(pk->version);
    free(pk->architecture);
}

static int
by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
by_name(const void *a, const void *b)
{
    const struct image_package *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : strcmp(x->architecture, y->architecture);
}

/* Each "<md5>  <path>" line of `text`: the path is pk's, unless a package before it has it. */
static void
own_lines(struct image_packages *p, const char *text, const struct image_package *pk)
{
    for (const char *line = text, *end; *line != '\0'; line = *end ? end + 1 : end) {
        char path[TEMPER_PATH_MAX];
        size_t len;

        end = strchrnul(line, '\n');
        len = (size_t)(end - line);
        if (len < 35 || len - 34 >= sizeof(path) - 1 || line[32] != ' ' || line[33] != ' ' ||
            strspn(line, "0123456789abcdef") != 32)
            continue;
        path[0] = '/';
        memcpy(path + 1, line + 34, len - 34);
        path[len - 33] = '\0';
        if (strmap_get(&p->owners, path) == NULL)
            strmap_put(&p->owners, path, (void *)pk);
    }
}

void
image_packages_finish(struct image_packages *p)
{
    cleanup_free const char **names = xcalloc(p->texts.count + 1, sizeof(*names));
    size_t n = 0;

    for (size_t i = 0; i < p->n; i++)
        package_release(&p->pkgs[i]);
    free(p->pkgs);
    strmap_release(&p->owners, NULL);
    strmap_init(&p->owners);
    p->pkgs = xcalloc(p->texts.count + 1, sizeof(*p->pkgs));
    p->n = 0;
    for (size_t s = 0; s < p->texts.cap; s++)
        if (p->texts.slots[s].key != NULL && p->texts.slots[s].value != NULL)
            names[n++] = p->texts.slots[s].key;
    qsort(names, n, sizeof(*names), by_string);
    /* stanzas first (a md5sums file is "<stanza's file>.md5sums"), in name order */
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);

        if (!(len > 8 && strcmp(names[i] + len - 8, ".md5sums") == 0) &&
            parse_stanza(strmap_get(&p->texts, names[i]), &p->pkgs[p->n]))
            p->n++;
    }
    qsort(p->pkgs, p->n, sizeof(*p->pkgs), by_name);
    /* then each stanza's md5sums, in its file's order */
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        cleanup_free char *stanza_file = NULL;
        struct image_package want;
        const struct image_package *pk;

        if (!(len > 8 && strcmp(names[i] + len - 8, ".md5sums") == 0))
            continue;
        stanza_file = xstrndup(names[i], len - 8);
        if (strmap_get(&p->texts, stanza_file) == NULL ||
            !parse_stanza(strmap_get(&p->texts, stanza_file), &want))
            continue;
        pk = bsearch(&want, p->pkgs, p->n, sizeof(*p->pkgs), by_name);
        package_release(&want);
        if (pk != NULL)
            own_lines(p, strmap_get(&p->texts, names[i]), pk);
    }
}

const struct image_package *
image_package_of(const struct image_packages *p, const char *path)
{
    return strmap_get(&p->owners, path);
}

void
image_packages_release(struct image_packages *p)
{
    for (size_t i = 0; i < p->n; i++)
        package_release(&p->pkgs[i]);
    free(p->pkgs);
    strmap_release(&p->owners, NULL);
    strmap_release(&p->texts, free);
    *p = (struct image_packages){0};
}
