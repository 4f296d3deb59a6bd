/*
 * `url: apt` in a recipe: the archive this machine's apt sources name for a
 * suite. apt reads /etc/apt/sources.list (one-line entries) and then
 * /etc/apt/sources.list.d/ (*.list one-line, *.sources deb822) in
 * alphanumeric order; the first "deb" entry whose suites hold the suite
 * wins. Only http and https archives are taken: a file:, cdrom: or mirror+
 * entry cannot be fetched by temper, and is passed over with the others.
 *
 * The URL found is used to fetch and never written anywhere: a lock holds
 * what the archive served, not where from, so a lock made through one
 * mirror builds through any other.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "pkg-internal.h"

/* What one apt sources file may weigh, and how many files sources.list.d may hold. */
#define SOURCES_FILE_MAX_BYTES (1024 * 1024)
#define SOURCES_FILES_MAX 1024

/* The archive's root, without the slashes a sources file or a recipe may end it with. */
static char *
trim_slashes(char *url)
{
    size_t n = strlen(url);

    while (n > 8 && url[n - 1] == '/')
        url[--n] = '\0';
    return url;
}

struct search {
    const char *suite;
    char *url; /* the answer, once found */
};

static bool
is_fetchable(const char *uri, size_t len)
{
    return (len > 7 && strncmp(uri, "http://", 7) == 0) ||
           (len > 8 && strncmp(uri, "https://", 8) == 0);
}

/* The next word of a whitespace-separated list from *i; false at its end. */
static bool
next_word(const char *words, size_t len, size_t *i, const char **word, size_t *n)
{
    while (*i < len && strchr(" \t\n", words[*i]) != NULL)
        (*i)++;
    *word = words + *i;
    while (*i < len && strchr(" \t\n", words[*i]) == NULL)
        (*i)++;
    *n = (size_t)(words + *i - *word);
    return *n > 0;
}

/* Whether the list `words` (len bytes) holds `word`. */
static bool
has_word(const char *words, size_t len, const char *word)
{
    const char *w;
    size_t i = 0, n;

    while (next_word(words, len, &i, &w, &n)) {
        if (n == strlen(word) && memcmp(w, word, n) == 0)
            return true;
    }
    return false;
}

/* apt's reading of a boolean (StringToBool): these words in any case, or 0, mean false. */
static bool
is_false(const char *value, size_t len)
{
    static const char *const words[] = {"no", "false", "without", "off", "disable", "0"};

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (len == strlen(words[i]) && strncasecmp(value, words[i], len) == 0)
            return true;
    }
    return false;
}

/* The first http(s) URI of a list, as an owned string, or NULL. */
static char *
first_fetchable(const char *words, size_t len)
{
    const char *w;
    size_t i = 0, n;

    while (next_word(words, len, &i, &w, &n)) {
        if (is_fetchable(w, n))
            return xstrndup(w, n);
    }
    return NULL;
}

static int
on_deb822_stanza(const struct pkg_stanza *st, void *arg, struct temper_err *err)
{
    struct search *s = arg;
    const struct pkg_field *types = pkg_stanza_field(st, "Types");
    const struct pkg_field *uris = pkg_stanza_field(st, "URIs");
    const struct pkg_field *suites = pkg_stanza_field(st, "Suites");
    const struct pkg_field *enabled = pkg_stanza_field(st, "Enabled");

    (void)err;
    if (s->url != NULL || types == NULL || uris == NULL || suites == NULL)
        return 0;
    if (enabled != NULL && is_false(enabled->value, enabled->value_len))
        return 0;
    if (!has_word(types->value, types->value_len, "deb") ||
        !has_word(suites->value, suites->value_len, s->suite))
        return 0;
    s->url = first_fetchable(uris->value, uris->value_len);
    return 0;
}

/* "deb [ options ] uri suite [component...]", one entry a line, '#' comments. */
static void
scan_one_line(const char *text, size_t len, struct search *s)
{
    size_t pos = 0;

    while (pos < len && s->url == NULL) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;
        const char *hash = memchr(line, '#', n), *p, *end;
        char word[3][512];
        size_t w = 0;

        pos += n + 1;
        if (hash != NULL)
            n = (size_t)(hash - line);
        p = line;
        end = line + n;
        while (w < 3 && p < end) {
            size_t k;

            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            if (p < end && *p == '[' && w == 1) { /* options: skipped */
                const char *close = memchr(p, ']', (size_t)(end - p));

                if (close == NULL)
                    break;
                p = close + 1;
                continue;
            }
            k = 0;
            while (p < end && *p != ' ' && *p != '\t')
                p++, k++;
            if (k == 0 || k >= sizeof(word[w]))
                break;
            memcpy(word[w], p - k, k);
            word[w++][k] = '\0';
        }
        if (w == 3 && strcmp(word[0], "deb") == 0 && strcmp(word[2], s->suite) == 0 &&
            is_fetchable(word[1], strlen(word[1])))
            s->url = xstrdup(word[1]);
    }
}

/* Looks at one sources file; a file that cannot be read is passed over, as apt warns and goes
 * on. A deb822 file that does not parse is an error: it may be the entry asked for. */
static int
scan_file(int dirfd, const char *name, bool deb822, struct search *s, struct temper_err *err)
{
    cleanup_free char *text = NULL;
    size_t len;

    if (fs_read_file_at(dirfd, name, SOURCES_FILE_MAX_BYTES, &text, &len, err) < 0)
        return err->code == TEMPER_E_LIMIT ? -1 : 0;
    if (!deb822) {
        scan_one_line(text, len, s);
        return 0;
    }
    if (pkg_control_parse(text, len, on_deb822_stanza, s, err) != 0)
        return temper_err_prefix(err, "apt sources '%s'", name);
    return 0;
}

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);

    return n > k && strcmp(name + n - k, suffix) == 0;
}

/* sources.list.d: *.list and *.sources, in alphanumeric order, as apt reads them. */
static int
scan_dir(const char *apt_dir, struct search *s, struct temper_err *err)
{
    cleanup_free char *path = xasprintf("%s/sources.list.d", apt_dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    DIR *dir = opendir(path);
    int fd, rc = 0;

    if (dir == NULL)
        return errno == ENOENT ? 0
                               : temper_err_sys(err, TEMPER_E_IO, errno, "cannot list '%s'", path);
    while ((de = readdir(dir)) != NULL) {
        if (!has_suffix(de->d_name, ".list") && !has_suffix(de->d_name, ".sources"))
            continue;
        if (n == SOURCES_FILES_MAX) {
            rc = temper_err_set(err, TEMPER_E_LIMIT, 0, "'%s' holds over %d sources files", path,
                                SOURCES_FILES_MAX);
            break;
        }
        names = xreallocarray(names, n + 1, sizeof(*names));
        names[n++] = xstrdup(de->d_name);
    }
    if (rc == 0)
        qsort(names, n, sizeof(*names), compare_names);
    fd = dirfd(dir);
    for (size_t i = 0; rc == 0 && i < n && s->url == NULL; i++)
        rc = scan_file(fd, names[i], has_suffix(names[i], ".sources"), s, err);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(dir);
    return rc;
}

int
pkg_apt_url(const char *apt_dir, const char *suite, char **url, struct temper_err *err)
{
    struct search s = {suite, NULL};
    int fd = open(apt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd >= 0) {
        rc = scan_file(fd, "sources.list", false, &s, err);
        close(fd);
    }
    if (rc == 0 && s.url == NULL)
        rc = scan_dir(apt_dir, &s, err);
    if (rc < 0) {
        free(s.url);
        return -1;
    }
    if (s.url == NULL)
        return temper_err_set(err, TEMPER_E_MISSING, 0,
                              "this machine's apt sources ('%s') name no http(s) archive for "
                              "suite '%s': add one there, or give the repository's url in the "
                              "recipe",
                              apt_dir, suite);
    *url = trim_slashes(s.url);
    return 0;
}

int
pkg_repository_url(const struct pkg_repository *r, const char *apt_dir, char **url,
                   struct temper_err *err)
{
    if (strcmp(r->url, "apt") == 0)
        return pkg_apt_url(apt_dir, r->suite, url, err);
    *url = trim_slashes(xstrdup(r->url));
    return 0;
}
