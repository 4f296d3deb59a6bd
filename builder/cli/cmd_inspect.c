/*
 * temper inspect [--format text|json] [registry options] IMAGE
 *
 * What is inside an image: its tags (in a layout), digests, config summary,
 * the hardening summary temper build prints, and every file with its type,
 * mode, owner and size, in tar order. Layers are streamed through the diff
 * module's entry reader, never unpacked. Every string from the image is
 * escaped or made printable before it reaches the terminal.
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
    "usage: temper inspect [--format text|json] [registry options] IMAGE\n"
    "\n"
    "Shows what is inside an image: its tags (in a layout) and digests, the config\n"
    "(platform, created, User, Env, Entrypoint, Cmd, WorkingDir, Labels, annotations), the\n"
    "hardening summary (run-as user, setuid/setgid files, world-writable paths, shells, ELF\n"
    "files), then every file: type, mode, uid:gid, size and path, in tar order.\n"
    "\n"
    "IMAGE is LAYOUT[:TAG] or [docker://]REGISTRY/REPO[:TAG|@DIGEST].\n"
    "\n"
    "  --format F          text (default) or json\n"
    "\n"
    "Registry options:\n" CLI_REGISTRY_USAGE;

/* What inspect read: the documents, every layer's entries, the tags. */
struct seen {
    struct image_doc doc;
    struct image_layer_entries *layers;
    struct image_hardening hardening;
    char **tags; /* NULL for a registry image */
};

static void
seen_release(struct seen *s)
{
    for (size_t i = 0; s->layers != NULL && i < s->doc.nlayers; i++)
        image_layer_entries_release(&s->layers[i]);
    free(s->layers);
    image_hardening_release(&s->hardening);
    for (size_t i = 0; s->tags != NULL && s->tags[i] != NULL; i++)
        free(s->tags[i]);
    free(s->tags);
    image_doc_release(&s->doc);
}

/* ---- text ---- */

/* A JSON value as ASCII-only compact JSON, printable. */
static void
print_value(const char *name, const json_t *v)
{
    char *text;
    size_t len;
    char *shown;

    if (v == NULL)
        return;
    text = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (text == NULL)
        return;
    len = strlen(text);
    shown = xmalloc(len + 8);
    printf("%s: %s\n", name, temper_printable(text, shown, len + 8));
    free(shown);
    free(text);
}

static void
print_paths(const char *what, char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(paths[i]);
        char *shown = xmalloc(len + 8);

        printf("  %s %s\n", what, temper_printable(paths[i], shown, len + 8));
        free(shown);
    }
}

static void
print_entry(const struct image_entry *e)
{
    size_t len = strlen(e->path);
    char *shown = xmalloc(len + 8);

    printf("%-9s %04o %" PRId64 ":%" PRId64 " %" PRIu64 " %s", image_entry_type_name(e->type),
           e->mode, e->uid, e->gid, e->size, temper_printable(e->path, shown, len + 8));
    free(shown);
    if (e->link != NULL) {
        size_t llen = strlen(e->link);
        char *q = xmalloc(4 * llen + 3);

        printf(" -> %s", image_quote(e->link, llen, q, 4 * llen + 3));
        free(q);
    }
    putchar('\n');
}

static void
print_text(const char *image, const struct seen *s)
{
    const struct image_doc *d = &s->doc;
    const json_t *cfg = json_object_get(d->config, "config");
    const struct image_hardening *h = &s->hardening;
    char shown[512];

    printf("image: %s\n", temper_printable(image, shown, sizeof(shown)));
    if (s->tags != NULL) {
        printf("tags:");
        for (size_t i = 0; s->tags[i] != NULL; i++)
            printf("%s %s", i ? "," : "", temper_printable(s->tags[i], shown, sizeof(shown)));
        printf("%s\n", s->tags[0] == NULL ? " none" : "");
    }
    printf("manifest: %s (%" PRIu64 " bytes, %s)\n", d->desc.digest, d->desc.size,
           temper_printable(d->desc.media_type, shown, sizeof(shown)));
    printf("config: %s (%" PRIu64 " bytes)\n", d->config_desc.digest, d->config_desc.size);
    for (size_t i = 0; i < d->nlayers; i++)
        printf("layer %zu: %s (%" PRIu64 " bytes, %s), diff_id %s\n", i + 1, d->layers[i].digest,
               d->layers[i].size, temper_printable(d->layers[i].media_type, shown, sizeof(shown)),
               d->diff_ids[i][0] ? d->diff_ids[i] : "unknown");
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
    printf("hardening: user %s; setuid/setgid files: %zu; world-writable: %zu; shells: %zu; "
           "ELF files: %zu\n",
           h->user ? temper_printable(h->user, shown, sizeof(shown)) : "(none: root)", h->setid,
           h->nworld_writable, h->nshells, h->elves);
    print_paths("setuid/setgid:", h->setid_paths, h->nsetid_paths);
    print_paths("world-writable:", h->world_writable, h->nworld_writable);
    print_paths("shell:", h->shells, h->nshells);
    for (size_t l = 0; l < d->nlayers; l++) {
        printf("layer %zu files: %zu entries\n", l + 1, s->layers[l].n);
        for (size_t i = 0; i < s->layers[l].n; i++)
            print_entry(&s->layers[l].entries[i]);
    }
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
path_list(char **paths, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, str_bytes(paths[i]));
    return a;
}

static json_t *
entry_json(const struct image_entry *e)
{
    char mode[16];
    json_t *j;

    snprintf(mode, sizeof(mode), "%04o", e->mode);
    j = json_pack("{sosssssIsIsI}", "path", str_bytes(e->path), "type",
                  image_entry_type_name(e->type), "mode", mode, "uid", (json_int_t)e->uid, "gid",
                  (json_int_t)e->gid, "size", (json_int_t)e->size);
    if (e->link != NULL)
        json_object_set_new(j, "link", str_bytes(e->link));
    if (e->sha256[0] != '\0')
        json_object_set_new(j, "sha256", json_string(e->sha256));
    return j;
}

static json_t *
copy_or_null(const json_t *v)
{
    return v ? json_deep_copy(v) : json_null();
}

static json_t *
inspect_json(const char *image, const struct seen *s)
{
    const struct image_doc *d = &s->doc;
    const json_t *cfg = json_object_get(d->config, "config");
    const struct image_hardening *h = &s->hardening;
    static const char *const fields[] = {"User",       "Env",    "Entrypoint", "Cmd",
                                         "WorkingDir", "Labels", NULL};
    json_t *doc = json_object(), *layers = json_array(), *config;

    json_object_set_new(doc, "image", str_bytes(image));
    if (s->tags != NULL) {
        size_t n = 0;

        while (s->tags[n] != NULL)
            n++;
        json_object_set_new(doc, "tags", path_list(s->tags, n));
    }
    json_object_set_new(doc, "manifest",
                        json_pack("{sssIss}", "digest", d->desc.digest, "size",
                                  (json_int_t)d->desc.size, "mediaType", d->desc.media_type));
    config = json_pack("{sssI}", "digest", d->config_desc.digest, "size",
                       (json_int_t)d->config_desc.size);
    json_object_set_new(config, "architecture",
                        copy_or_null(json_object_get(d->config, "architecture")));
    json_object_set_new(config, "os", copy_or_null(json_object_get(d->config, "os")));
    json_object_set_new(config, "created", copy_or_null(json_object_get(d->config, "created")));
    if (json_object_get(d->config, "variant") != NULL)
        json_object_set_new(config, "variant", copy_or_null(json_object_get(d->config, "variant")));
    for (size_t i = 0; fields[i] != NULL; i++)
        json_object_set_new(config, fields[i], copy_or_null(json_object_get(cfg, fields[i])));
    json_object_set_new(doc, "config", config);
    json_object_set_new(doc, "annotations",
                        copy_or_null(json_object_get(d->manifest, "annotations")));
    json_object_set_new(
        doc, "hardening",
        json_pack("{sosIsosososI}", "user", h->user ? json_string(h->user) : json_null(), "setid",
                  (json_int_t)h->setid, "setid_paths", path_list(h->setid_paths, h->nsetid_paths),
                  "world_writable", path_list(h->world_writable, h->nworld_writable), "shells",
                  path_list(h->shells, h->nshells), "elf_files", (json_int_t)h->elves));
    for (size_t l = 0; l < d->nlayers; l++) {
        json_t *files = json_array();

        for (size_t i = 0; i < s->layers[l].n; i++)
            json_array_append_new(files, entry_json(&s->layers[l].entries[i]));
        json_array_append_new(
            layers,
            json_pack("{sssIsssoso}", "digest", d->layers[l].digest, "size",
                      (json_int_t)d->layers[l].size, "mediaType", d->layers[l].media_type,
                      "diff_id", d->diff_ids[l][0] ? json_string(d->diff_ids[l]) : json_null(),
                      "files", files));
    }
    json_object_set_new(doc, "layers", layers);
    return doc;
}

static int
read_image(const struct cli_image *img, struct seen *s, struct temper_err *err)
{
    if (image_load(&img->source, &img->desc, &s->doc, err) < 0)
        return -1;
    s->layers = xcalloc(s->doc.nlayers + 1, sizeof(*s->layers));
    for (size_t i = 0; i < s->doc.nlayers; i++)
        if (image_layer_load(&img->source, &s->doc, i, &s->layers[i], err) < 0)
            return -1;
    image_hardening_of(&s->doc, s->layers, s->doc.nlayers, &s->hardening);
    if (img->layout != NULL)
        s->tags = oci_layout_tags_of(img->layout, img->desc.digest);
    return 0;
}

static int
inspect(const struct image_args *a, const struct registry_options *opts)
{
    struct cli_image img;
    struct seen s = {0};
    struct temper_err err;
    int rc;

    if (cli_image_open(a->image[0], opts, &img, &err) < 0)
        return cli_error(&err);
    rc = read_image(&img, &s, &err);
    cli_image_close(&img);
    if (rc == 0 && a->json) {
        json_t *doc = inspect_json(a->image[0], &s);

        json_dumpf(doc, stdout, JSON_COMPACT | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(doc);
    } else if (rc == 0) {
        print_text(a->image[0], &s);
    }
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
