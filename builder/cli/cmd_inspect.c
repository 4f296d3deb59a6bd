/*
 * temper inspect [--format text|json] [registry options] IMAGE
 *
 * What is inside an image: its tags (in a layout), digests, config summary,
 * every file with its type, mode, owner and size, in tar order, the Debian
 * package that ships it, the packages, and the hardening summary temper
 * build prints. A file's package is known from the status.d files of its own
 * layer and those below it (distroless and temper put a package's record in
 * the layer that holds its files). Layers are streamed through the diff
 * module's entry reader, never unpacked, one at a time: a layer's entries are
 * printed (text, or JSON written as it goes), added to the hardening view and
 * released before the next layer is read, so the summary comes last. Every
 * string from the image reaches the terminal escaped (cli_put, base/escape.h);
 * the JSON format keeps the exact text, ASCII-only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "cli.h"
#include "diff/image_diff.h"
#include "registry/registry_client.h"

static const char inspect_usage[] =
    "usage: temper inspect [--format text|json] [--arch ARCH] [registry options] IMAGE\n"
    "\n"
    "Shows what is inside an image: its tags (in a layout) and digests, the config\n"
    "(platform, created, User, Env, Entrypoint, Cmd, WorkingDir, Labels, annotations), every\n"
    "file of each layer (type, mode, uid:gid, size and path, in tar order, and the Debian\n"
    "package that ships it, from the image's /var/lib/dpkg/status.d) with the layer's\n"
    "diff_id as read, then the packages and the hardening summary (run-as user,\n"
    "setuid/setgid and file capability files, world-writable paths, shells, ELF files) of\n"
    "what extraction leaves.\n"
    "\n"
    "IMAGE is [oci:]LAYOUT[:TAG] or [docker://]REGISTRY/REPO[:TAG|@DIGEST].\n"
    "\n"
    "  --format F          text (default) or json\n"
    "  --arch ARCH         of an image index, the image for ARCH (default: this machine's)\n"
    "\n"
    "Registry options:\n" CLI_REGISTRY_USAGE;

/* What inspect read: the documents and the tags; each layer only while it is printed. */
struct seen {
    struct image_doc doc;
    struct image_hardening hardening;
    struct image_packages packages; /* of the layers read so far */
    char **tags;                    /* NULL for a registry image */
};

static void
seen_release(struct seen *s)
{
    image_packages_release(&s->packages);
    image_hardening_release(&s->hardening);
    for (size_t i = 0; s->tags != NULL && s->tags[i] != NULL; i++)
        free(s->tags[i]);
    free(s->tags);
    image_doc_release(&s->doc);
}

static json_t *
must(json_t *j)
{
    if (j == NULL)
        abort(); /* out of memory, or a string not UTF-8, which str_bytes rules out */
    return j;
}

/* ---- text: every string from the image goes out through cli_text, cli_line or cli_put ---- */

/* A JSON value as ASCII-only compact JSON: its own escapes, kept (cli_put's net aside). */
static void
print_value(const char *name, const json_t *v)
{
    char *text;

    if (v == NULL)
        return;
    text = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (text == NULL)
        return;
    cli_text(stdout, "%s: ", name);
    cli_put(stdout, text, ESCAPE_KEEP_BACKSLASH);
    putchar('\n');
    free(text);
}

static void
print_paths(const char *what, char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cli_line(stdout, "  %s %s", what, paths[i]);
}

static void
print_entry(const struct image_entry *e, const struct image_packages *packages)
{
    const struct image_package *pk = image_package_of(packages, e->path);

    cli_text(stdout, "%-9s %04o %" PRId64 ":%" PRId64 " %" PRIu64 " %s",
             image_entry_is_whiteout(e) ? "whiteout" : image_entry_type_name(e->type), e->mode,
             e->uid, e->gid, e->size, e->path);
    if (e->link != NULL) {
        size_t llen = strlen(e->link);
        char *q = xmalloc(4 * llen + 3);

        fputs(" -> ", stdout);
        cli_put(stdout, image_quote(e->link, llen, q, 4 * llen + 3), ESCAPE_KEEP_BACKSLASH);
        free(q);
    }
    if (pk != NULL)
        cli_text(stdout, "  [%s]", pk->name);
    putchar('\n');
}

/* The comment of the config's history entry that made layer i (entries marked empty_layer make
 * none), or NULL: temper's say which recipe file the layer is of, and how it was compressed. */
static const char *
layer_comment(const struct image_doc *d, size_t i)
{
    const json_t *history = json_object_get(d->config, "history"), *entry;
    size_t index, k = 0;

    json_array_foreach(history, index, entry)
    {
        if (json_is_true(json_object_get(entry, "empty_layer")))
            continue;
        if (k++ == i)
            return json_string_value(json_object_get(entry, "comment"));
    }
    return NULL;
}

static void
print_head(const char *image, const struct seen *s)
{
    const struct image_doc *d = &s->doc;
    const json_t *cfg = json_object_get(d->config, "config");

    cli_line(stdout, "image: %s", image);
    if (s->tags != NULL) {
        fputs("tags:", stdout);
        for (size_t i = 0; s->tags[i] != NULL; i++)
            cli_text(stdout, "%s %s", i ? "," : "", s->tags[i]);
        puts(s->tags[0] == NULL ? " none" : "");
    }
    cli_line(stdout, "manifest: %s (%" PRIu64 " bytes, %s)", d->desc.digest, d->desc.size,
             d->desc.media_type);
    cli_line(stdout, "config: %s (%" PRIu64 " bytes)", d->config_desc.digest, d->config_desc.size);
    for (size_t i = 0; i < d->nlayers; i++) {
        const char *comment = layer_comment(d, i);

        cli_line(stdout, "layer %zu: %s (%" PRIu64 " bytes, %s)%s%s", i + 1, d->layers[i].digest,
                 d->layers[i].size, d->layers[i].media_type, comment ? ": " : "",
                 comment ? comment : "");
    }
    print_value("architecture", json_object_get(d->config, "architecture"));
    print_value("os", json_object_get(d->config, "os"));
    print_value("variant", json_object_get(d->config, "variant"));
    print_value("created", json_object_get(d->config, "created"));
    print_value("User", json_object_get(cfg, "User"));
    print_value("Env", json_object_get(cfg, "Env"));
    print_value("Entrypoint", json_object_get(cfg, "Entrypoint"));
    print_value("Cmd", json_object_get(cfg, "Cmd"));
    print_value("WorkingDir", json_object_get(cfg, "WorkingDir"));
    print_value("Labels", json_object_get(cfg, "Labels"));
    print_value("annotations", json_object_get(d->manifest, "annotations"));
}

/* "layer 1 files: 3 entries, diff_id sha256:..." and a word when the config names another. */
static void
print_layer(const struct image_doc *d, size_t l, const struct image_layer_entries *e,
            const struct image_packages *packages)
{
    cli_text(stdout, "layer %zu files: %zu entries, diff_id %s", l + 1, e->n, e->diff_id);
    if (d->diff_ids[l][0] == '\0')
        cli_text(stdout, " (the config names none)");
    else if (strcmp(d->diff_ids[l], e->diff_id) != 0)
        cli_text(stdout, " (MISMATCH: the config names %s)", d->diff_ids[l]);
    putchar('\n');
    for (size_t i = 0; i < e->n; i++)
        print_entry(&e->entries[i], packages);
}

/* "packages: 3 (var/lib/dpkg/status.d)" and one line each. */
static void
print_packages(const struct image_packages *p)
{
    cli_line(stdout, "packages: %zu (var/lib/dpkg/status.d)", p->n);
    for (size_t i = 0; i < p->n; i++)
        cli_line(stdout, "  %s %s %s", p->pkgs[i].name, p->pkgs[i].version,
                 p->pkgs[i].architecture);
}

static void
print_hardening(const struct image_hardening *h)
{
    cli_line(stdout,
             "hardening: user %s; setuid/setgid/capability files: %zu; world-writable: %zu; "
             "shells: %zu; ELF files: %zu",
             h->user ? h->user : "(none: root)", h->setid, h->nworld_writable, h->nshells,
             h->elves);
    print_paths("setuid/setgid:", h->setid_paths, h->nsetid_paths);
    print_paths("capability:", h->capability_paths, h->ncapability_paths);
    print_paths("world-writable:", h->world_writable, h->nworld_writable);
    print_paths("shell:", h->shells, h->nshells);
}

/* ---- JSON ---- */

static json_t *
str_bytes(const char *s)
{
    json_t *j = json_string(s);

    if (j == NULL) { /* not UTF-8: shown escaped, as in the text format */
        size_t len = strlen(s);
        char *q = xmalloc(4 * len + 3);

        image_quote(s, len, q, 4 * len + 3);
        q[strlen(q) - 1] = '\0';
        j = json_string(q + 1);
        free(q);
    }
    return j;
}

static json_t *
entry_json(const struct image_entry *e)
{
    char mode[16];
    json_t *j;

    snprintf(mode, sizeof(mode), "%04o", e->mode);
    j = must(json_pack("{sosssssIsIsI}", "path", must(str_bytes(e->path)), "type",
                       image_entry_type_name(e->type), "mode", mode, "uid", (json_int_t)e->uid,
                       "gid", (json_int_t)e->gid, "size", (json_int_t)e->size));
    if (e->link != NULL)
        json_object_set_new(j, "link", must(str_bytes(e->link)));
    if (e->sha256[0] != '\0')
        json_object_set_new(j, "sha256", must(json_string(e->sha256)));
    if (image_entry_is_whiteout(e))
        json_object_set_new(j, "whiteout", json_true());
    return j;
}

static json_t *
copy_or_null(const json_t *v)
{
    return v ? must(json_deep_copy(v)) : json_null();
}

#define JSON_OUT (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII | JSON_ENCODE_ANY)

/* Writes `"key":value` (value stolen), after a comma unless it is the first member. */
static void
put_member(const char *key, json_t *value, bool first)
{
    printf("%s\"%s\":", first ? "" : ",", key);
    json_dumpf(value, stdout, JSON_OUT);
    json_decref(value);
}

/* The document's members known before any layer is read, sorted by key; "layers" and
 * "hardening" follow, written as the layers are read. */
static void
json_head(const char *image, const struct seen *s)
{
    const struct image_doc *d = &s->doc;
    const json_t *cfg = json_object_get(d->config, "config");
    static const char *const fields[] = {"User",       "Env",    "Entrypoint", "Cmd",
                                         "WorkingDir", "Labels", NULL};
    json_t *config;

    config = must(json_pack("{sssI}", "digest", d->config_desc.digest, "size",
                            (json_int_t)d->config_desc.size));
    json_object_set_new(config, "architecture",
                        copy_or_null(json_object_get(d->config, "architecture")));
    json_object_set_new(config, "os", copy_or_null(json_object_get(d->config, "os")));
    json_object_set_new(config, "created", copy_or_null(json_object_get(d->config, "created")));
    if (json_object_get(d->config, "variant") != NULL)
        json_object_set_new(config, "variant", copy_or_null(json_object_get(d->config, "variant")));
    for (size_t i = 0; fields[i] != NULL; i++)
        json_object_set_new(config, fields[i], copy_or_null(json_object_get(cfg, fields[i])));
    putchar('{');
    put_member("annotations", copy_or_null(json_object_get(d->manifest, "annotations")), true);
    put_member("config", config, false);
    put_member("image", must(str_bytes(image)), false);
    put_member("manifest",
               must(json_pack("{sssIss}", "digest", d->desc.digest, "size",
                              (json_int_t)d->desc.size, "mediaType", d->desc.media_type)),
               false);
    if (s->tags != NULL) {
        json_t *tags = must(json_array());

        for (size_t i = 0; s->tags[i] != NULL; i++)
            json_array_append_new(tags, must(str_bytes(s->tags[i])));
        put_member("tags", tags, false);
    }
    printf(",\"layers\":[");
}

/* One layer: its members, then "files" written entry by entry. */
static void
json_layer(const struct image_doc *d, size_t l, const struct image_layer_entries *e,
           const struct image_packages *packages)
{
    const char *comment = layer_comment(d, l);
    json_t *j = must(json_pack("{sssIsssssoso}", "digest", d->layers[l].digest, "size",
                               (json_int_t)d->layers[l].size, "mediaType", d->layers[l].media_type,
                               "diff_id", e->diff_id, "config_diff_id",
                               d->diff_ids[l][0] ? must(json_string(d->diff_ids[l])) : json_null(),
                               "comment", comment ? must(str_bytes(comment)) : json_null()));
    char *text = json_dumps(j, JSON_OUT);

    if (text == NULL)
        abort();
    text[strlen(text) - 1] = '\0'; /* the closing brace: "files" goes last */
    printf("%s%s,\"files\":[", l ? "," : "", text);
    free(text);
    json_decref(j);
    for (size_t i = 0; i < e->n; i++) {
        json_t *f = entry_json(&e->entries[i]);
        const struct image_package *pk = image_package_of(packages, e->entries[i].path);

        if (pk != NULL)
            json_object_set_new(f, "package", must(json_string(pk->name)));
        if (i > 0)
            putchar(',');
        json_dumpf(f, stdout, JSON_OUT);
        json_decref(f);
    }
    printf("]}");
}

static json_t *
path_list(char **paths, size_t n)
{
    json_t *a = must(json_array());

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, must(str_bytes(paths[i])));
    return a;
}

static void
json_tail(const struct image_hardening *h, const struct image_packages *p)
{
    json_t *packages = must(json_array());

    for (size_t i = 0; i < p->n; i++)
        json_array_append_new(
            packages, must(json_pack("{ssssss}", "name", p->pkgs[i].name, "version",
                                     p->pkgs[i].version, "architecture", p->pkgs[i].architecture)));
    printf("],");
    put_member(
        "hardening",
        must(json_pack("{sosIsososososI}", "user", h->user ? must(str_bytes(h->user)) : json_null(),
                       "setid", (json_int_t)h->setid, "setid_paths",
                       path_list(h->setid_paths, h->nsetid_paths), "capability_paths",
                       path_list(h->capability_paths, h->ncapability_paths), "world_writable",
                       path_list(h->world_writable, h->nworld_writable), "shells",
                       path_list(h->shells, h->nshells), "elf_files", (json_int_t)h->elves)),
        true);
    put_member("packages", packages, false);
    printf("}\n");
}

/* Each layer read, printed, added to the hardening view and released before the next. */
static int
stream_layers(const struct cli_image *img, struct seen *s, bool json, struct temper_err *err)
{
    struct image_hardening_view *v = image_hardening_view_new();
    int rc = 0;

    for (size_t l = 0; rc == 0 && l < s->doc.nlayers; l++) {
        struct image_layer_entries e;
        char name[32];

        snprintf(name, sizeof(name), "layer %zu", l + 1);
        rc = image_layer_load(&img->source, &s->doc, l, &e, err);
        if (rc < 0)
            break;
        image_packages_add(&s->packages, &e);
        image_packages_finish(&s->packages);
        if (json)
            json_layer(&s->doc, l, &e, &s->packages);
        else
            print_layer(&s->doc, l, &e, &s->packages);
        rc = image_hardening_view_add(v, &e, name, err);
        image_layer_entries_release(&e);
    }
    if (rc == 0)
        image_hardening_view_finish(v, &s->doc, &s->hardening);
    image_hardening_view_free(v);
    return rc;
}

static int
inspect(const struct image_args *a, const struct registry_options *opts)
{
    struct cli_image img;
    struct seen s = {0};
    struct temper_err err;
    int rc;

    image_packages_init(&s.packages);
    if (cli_image_open(a->image[0], opts, &img, &err) < 0)
        return cli_error(&err);
    rc = cli_image_platform(&img, a->arch, &err);
    if (rc == 0)
        rc = image_load(&img.source, &img.desc, &s.doc, &err);
    if (rc == 0) {
        if (img.layout != NULL)
            s.tags = oci_layout_tags_of(img.layout, img.desc.digest);
        if (a->json)
            json_head(a->image[0], &s);
        else
            print_head(a->image[0], &s);
        rc = stream_layers(&img, &s, a->json, &err);
    }
    cli_image_close(&img);
    if (rc == 0 && a->json) {
        json_tail(&s.hardening, &s.packages);
    } else if (rc == 0) {
        print_packages(&s.packages);
        print_hardening(&s.hardening);
    }
    fflush(stdout);
    seen_release(&s);
    return rc < 0 ? cli_error(&err) : CLI_EXIT_OK;
}
int
cmd_inspect(int argc, char **argv)
{
    struct image_args a;
    struct registry_options opts;
    struct registry_login login;
    int rc = cli_parse_image_args(argc, argv, inspect_usage, 1, &a);

    if (rc >= 0)
        return rc;
    rc = cli_registry_login("inspect", &a.registry, &opts, &login);
    if (rc >= 0)
        return rc;
    opts.read_only = true;
    rc = inspect(&a, &opts);
    cli_registry_logout(&login);
    return rc;
}
