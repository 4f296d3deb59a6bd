/*
 * The JSON documents of a layout: image config, manifest and index.json,
 * built with jansson and written in one canonical form (sorted keys, no
 * insignificant whitespace), and index.json read back as untrusted input.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cleanup.h"
#include "base/sha256.h"
#include "base/strmap.h"
#include "oci-internal.h"

/* jansson returns NULL from its constructors only when out of memory (or on strings that are not
 * UTF-8, which never reach this): abort, as xmalloc does. */
static json_t *
must(json_t *json)
{
    if (json == NULL) {
        fputs("temper: out of memory (jansson)\n", stderr);
        abort();
    }
    return json;
}

/* Adds `value` under a key that is a literal here; steals it. */
static void
put(json_t *obj, const char *key, json_t *value)
{
    if (json_object_set_new(obj, key, must(value)) < 0)
        must(NULL);
}

static void
append(json_t *array, json_t *value)
{
    if (json_array_append_new(array, must(value)) < 0)
        must(NULL);
}

/* Adds string `value` under a key that is a literal here; `what` names it in the error. */
static int
put_string(json_t *obj, const char *key, const char *value, const char *what,
           struct temper_err *err)
{
    json_t *s;

    if (value == NULL)
        return temper_err_set(err, TEMPER_E_USAGE, 0, "%s is missing", what);
    s = json_string(value);
    if (s == NULL)
        return temper_err_set(err, TEMPER_E_USAGE, 0, "%s '%s' is not valid UTF-8", what, value);
    put(obj, key, s);
    return 0;
}

/* Adds an array of strings under `key`, or nothing when n is 0. */
static int
put_strings(json_t *obj, const char *key, const char *const *v, size_t n, const char *what,
            struct temper_err *err)
{
    json_auto_t *array = NULL;

    if (n == 0)
        return 0;
    array = must(json_array());
    for (size_t i = 0; i < n; i++) {
        json_t *s = v[i] != NULL ? json_string(v[i]) : NULL;

        if (v[i] == NULL)
            return temper_err_set(err, TEMPER_E_USAGE, 0, "%s %zu is missing", what, i + 1);
        if (s == NULL)
            return temper_err_set(err, TEMPER_E_USAGE, 0, "%s '%s' is not valid UTF-8", what, v[i]);
        append(array, s);
    }
    put(obj, key, json_incref(array));
    return 0;
}

/* Adds an object of string values under `key` (labels, annotations), or nothing when n is 0. */
static int
put_kvs(json_t *obj, const char *key, const struct oci_kv *kv, size_t n, const char *what,
        struct temper_err *err)
{
    json_auto_t *map = NULL;

    if (n == 0)
        return 0;
    map = must(json_object());
    for (size_t i = 0; i < n; i++) {
        json_t *value;

        if (kv[i].key == NULL || kv[i].key[0] == '\0' || kv[i].value == NULL)
            return temper_err_set(err, TEMPER_E_USAGE, 0, "%s %zu has no name or no value", what,
                                  i + 1);
        if (json_object_get(map, kv[i].key) != NULL)
            return temper_err_set(err, TEMPER_E_USAGE, 0, "%s '%s' is given twice", what,
                                  kv[i].key);
        value = json_string(kv[i].value);
        if (value == NULL)
            return temper_err_set(err, TEMPER_E_USAGE, 0, "value of %s '%s' is not valid UTF-8",
                                  what, kv[i].key);
        /* Fails only on a key that is not UTF-8 (it steals value either way). */
        if (json_object_set_new(map, kv[i].key, value) < 0)
            return temper_err_set(err, TEMPER_E_USAGE, 0, "%s '%s' is not valid UTF-8", what,
                                  kv[i].key);
    }
    put(obj, key, json_incref(map));
    return 0;
}

static json_t *
integer(uint64_t v)
{
    /* Callers check v <= INT64_MAX: sizes on disk and in index.json fit. */
    return must(json_integer((json_int_t)v));
}

bool
oci_tag_is_valid(const char *tag)
{
    size_t len;

    if (tag == NULL)
        return false;
    len = strlen(tag);
    if (len == 0 || len > 128 || tag[0] == '.' || tag[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = tag[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

bool
oci_tag_is_attached(const char *tag)
{
    static const char prefix[] = "sha256-";
    const size_t hex = 64, suffix = 4; /* ".sig", ".att" */

    if (tag == NULL || strlen(tag) != sizeof(prefix) - 1 + hex + suffix ||
        strncmp(tag, prefix, sizeof(prefix) - 1) != 0 ||
        (strcmp(tag + sizeof(prefix) - 1 + hex, ".sig") != 0 &&
         strcmp(tag + sizeof(prefix) - 1 + hex, ".att") != 0))
        return false;
    for (size_t i = sizeof(prefix) - 1; i < sizeof(prefix) - 1 + hex; i++) {
        if (!((tag[i] >= '0' && tag[i] <= '9') || (tag[i] >= 'a' && tag[i] <= 'f')))
            return false;
    }
    return true;
}

int
oci_format_time(int64_t epoch, char out[OCI_TIME_LEN], struct temper_err *err)
{
    struct tm tm;
    time_t t;

    if (epoch < 0 || epoch > OCI_EPOCH_MAX)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "creation time %" PRId64 " is out of range: give seconds since "
                              "1970 from 0 to %" PRId64 " (9999-12-31T23:59:59Z)",
                              epoch, OCI_EPOCH_MAX);
    t = (time_t)epoch;
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(out, OCI_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) != OCI_TIME_LEN - 1)
        return temper_err_set(err, TEMPER_E_USAGE, 0, "cannot write creation time %" PRId64, epoch);
    return 0;
}

/* Every "KEY=VALUE" entry has a non-empty KEY. */
static int
check_env(const struct oci_image_spec *spec, struct temper_err *err)
{
    for (size_t i = 0; i < spec->nenv; i++) {
        const char *e = spec->env[i];

        if (e != NULL && (e[0] == '=' || strchr(e, '=') == NULL))
            return temper_err_set(err, TEMPER_E_USAGE, 0, "environment entry '%s' is not KEY=VALUE",
                                  e);
    }
    return 0;
}

static int
put_platform(json_t *obj, const struct oci_image_spec *spec, struct temper_err *err)
{
    if (spec->architecture == NULL || spec->architecture[0] == '\0')
        return temper_err_set(err, TEMPER_E_USAGE, 0, "image architecture is empty");
    if (spec->os == NULL || spec->os[0] == '\0')
        return temper_err_set(err, TEMPER_E_USAGE, 0, "image os is empty");
    if (put_string(obj, "architecture", spec->architecture, "architecture", err) < 0 ||
        put_string(obj, "os", spec->os, "os", err) < 0)
        return -1;
    if (spec->variant != NULL && put_string(obj, "variant", spec->variant, "variant", err) < 0)
        return -1;
    return 0;
}

/* The "config" member of the image config: what a runtime starts. */
static int
put_run_config(json_t *obj, const struct oci_image_spec *spec, struct temper_err *err)
{
    json_auto_t *run = must(json_object());

    if (check_env(spec, err) < 0)
        return -1;
    if ((spec->user != NULL && put_string(run, "User", spec->user, "user", err) < 0) ||
        put_strings(run, "Env", spec->env, spec->nenv, "environment entry", err) < 0 ||
        put_strings(run, "Entrypoint", spec->entrypoint, spec->nentrypoint, "entrypoint argument",
                    err) < 0 ||
        put_strings(run, "Cmd", spec->cmd, spec->ncmd, "cmd argument", err) < 0 ||
        (spec->work_dir != NULL &&
         put_string(run, "WorkingDir", spec->work_dir, "working directory", err) < 0) ||
        put_kvs(run, "Labels", spec->labels, spec->nlabels, "label", err) < 0)
        return -1;
    put(obj, "config", json_incref(run));
    return 0;
}

json_t *
oci_config_new(const struct oci_image_spec *spec, const struct oci_layer_desc *layers,
               size_t nlayers, struct temper_err *err)
{
    json_auto_t *config = must(json_object());
    json_t *rootfs, *diff_ids, *history;
    char created[OCI_TIME_LEN];

    if (oci_format_time(spec->created, created, err) < 0 || put_platform(config, spec, err) < 0 ||
        put_run_config(config, spec, err) < 0)
        return NULL;
    put(config, "created", json_string(created));

    rootfs = must(json_object());
    put(config, "rootfs", rootfs);
    put(rootfs, "type", json_string("layers"));
    diff_ids = must(json_array());
    put(rootfs, "diff_ids", diff_ids);
    history = must(json_array());
    put(config, "history", history);
    for (size_t i = 0; i < nlayers; i++) {
        json_t *entry = must(json_object());

        append(diff_ids, json_string(layers[i].diff_id)); /* checked by the caller */
        append(history, entry);
        put(entry, "created", json_string(created));
        if (spec->created_by != NULL &&
            put_string(entry, "created_by", spec->created_by, "created_by", err) < 0)
            return NULL;
        if (layers[i].comment != NULL &&
            put_string(entry, "comment", layers[i].comment, "comment", err) < 0)
            return NULL;
    }
    return steal_pointer(&config);
}

/* {"digest","mediaType","size"}; media_type is checked by the caller or comes from here. */
static int
descriptor_new(const char *media_type, const char *digest, uint64_t size, json_t **out,
               struct temper_err *err)
{
    json_auto_t *desc = must(json_object());

    if (put_string(desc, "mediaType", media_type, "media type", err) < 0)
        return -1;
    put(desc, "digest", json_string(digest));
    put(desc, "size", integer(size));
    *out = steal_pointer(&desc);
    return 0;
}

json_t *
oci_manifest_new(const struct oci_image_spec *spec, const struct oci_layer_desc *layers,
                 size_t nlayers, struct temper_err *err)
{
    json_auto_t *manifest = must(json_object());
    json_t *array = must(json_array());

    put(manifest, "schemaVersion", json_integer(2));
    put(manifest, "mediaType", json_string(OCI_MEDIA_TYPE_MANIFEST));
    put(manifest, "layers", array);
    for (size_t i = 0; i < nlayers; i++) {
        json_t *desc;

        if (descriptor_new(layers[i].media_type, layers[i].digest, layers[i].size, &desc, err) < 0)
            return NULL;
        append(array, desc);
    }
    if (put_kvs(manifest, "annotations", spec->annotations, spec->nannotations, "annotation", err) <
        0)
        return NULL;
    return steal_pointer(&manifest);
}

void
oci_manifest_set_config(json_t *manifest, const char *digest, uint64_t size)
{
    json_t *desc = must(json_object());

    put(desc, "mediaType", json_string(OCI_MEDIA_TYPE_CONFIG));
    put(desc, "digest", json_string(digest));
    put(desc, "size", integer(size));
    put(manifest, "config", desc);
}

int
oci_layout_file_check(const char *buf, size_t len, struct temper_err *err)
{
    json_error_t jerr;
    json_auto_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *version;
    char shown[160];

    if (doc == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "line %d column %d: %s", jerr.line,
                              jerr.column, temper_printable(jerr.text, shown, sizeof(shown)));
    version = json_string_value(json_object_get(doc, "imageLayoutVersion"));
    if (version == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "imageLayoutVersion is not a string");
    if (strcmp(version, "1.0.0") != 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "imageLayoutVersion is '%s': temper reads and writes only 1.0.0",
                              version);
    return 0;
}

/* Whether two specs name one platform (os, architecture and variant). */
static bool
same_platform(const struct oci_image_spec *a, const struct oci_image_spec *b)
{
    const char *va = a->variant != NULL ? a->variant : "",
               *vb = b->variant != NULL ? b->variant : "";

    return strcmp(a->os, b->os) == 0 && strcmp(a->architecture, b->architecture) == 0 &&
           strcmp(va, vb) == 0;
}

json_t *
oci_image_index_new(const struct oci_index_image *images, size_t nimages, struct temper_err *err)
{
    json_auto_t *index = oci_index_new();
    json_t *manifests = json_object_get(index, "manifests");

    if (nimages == 0) {
        temper_err_set(err, TEMPER_E_USAGE, 0, "an image index needs at least one image");
        return NULL;
    }
    for (size_t i = 0; i < nimages; i++) {
        json_t *entry, *platform = must(json_object());

        if (descriptor_new(images[i].manifest.media_type, images[i].manifest.digest,
                           images[i].manifest.size, &entry, err) < 0) {
            json_decref(platform);
            return NULL;
        }
        append(manifests, entry);
        put(entry, "platform", platform);
        if (put_platform(platform, images[i].spec, err) < 0)
            return NULL;
        for (size_t j = 0; j < i; j++)
            if (same_platform(images[j].spec, images[i].spec)) {
                temper_err_set(err, TEMPER_E_USAGE, 0,
                               "images %zu and %zu are both for %s/%s: an index names one image "
                               "per platform",
                               j + 1, i + 1, images[i].spec->os, images[i].spec->architecture);
                return NULL;
            }
    }
    return steal_pointer(&index);
}

json_t *
oci_index_new(void)
{
    json_t *index = must(json_object());

    put(index, "schemaVersion", json_integer(2));
    put(index, "mediaType", json_string(OCI_MEDIA_TYPE_INDEX));
    put(index, "manifests", json_array());
    return index;
}

/* The checks of one manifests[] entry; `i` counts from 0. */
static int
check_entry(const json_t *entry, size_t i, struct temper_err *err)
{
    const json_t *size = json_object_get(entry, "size");
    const json_t *annotations = json_object_get(entry, "annotations");

    if (!json_is_object(entry))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "manifests[%zu] is not an object", i);
    if (!json_is_string(json_object_get(entry, "mediaType")))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "manifests[%zu].mediaType is not a string",
                              i);
    if (!json_is_string(json_object_get(entry, "digest")))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "manifests[%zu].digest is not a string", i);
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "manifests[%zu].size is not an integer of at least 0", i);
    if (annotations == NULL)
        return 0;
    if (!json_is_object(annotations))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "manifests[%zu].annotations is not an object",
                              i);
    for (void *it = json_object_iter((json_t *)annotations); it != NULL;
         it = json_object_iter_next((json_t *)annotations, it)) {
        if (!json_is_string(json_object_iter_value(it)))
            return temper_err_set(err, TEMPER_E_PARSE, 0,
                                  "manifests[%zu].annotations['%s'] is not a string", i,
                                  json_object_iter_key(it));
    }
    return 0;
}

/*
 * Writes into `out` the key as Go's encoding/json matches it against a struct field: ASCII
 * letters folded, and the two non-ASCII runes that fold to ASCII letters, U+017F (long s) and
 * U+212A (Kelvin sign), as 's' and 'k'. Returns false when it does not fit.
 */
static bool
go_fold(const char *key, char *out, size_t size)
{
    size_t n = 0;

    for (const unsigned char *k = (const unsigned char *)key; *k != '\0'; k++) {
        char c = (char)*k;

        if (k[0] == 0xc5 && k[1] == 0xbf) {
            c = 's';
            k += 1;
        } else if (k[0] == 0xe2 && k[1] == 0x84 && k[2] == 0xaa) {
            c = 'k';
            k += 2;
        } else if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (n + 1 >= size)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

/*
 * Member names of the OCI and Docker image documents (index, manifest, descriptor, platform,
 * config): a key that Go would match to one of them but that is spelled otherwise
 * ("mediaTypE") is read by Go tools as that member and by jansson as an unknown key.
 */
static const char *const member_names[] = {
    "annotations", "architecture", "ArgsEscaped", "artifactType", "author",
    "Cmd",         "comment",      "config",      "created",      "created_by",
    "data",        "diff_ids",     "digest",      "empty_layer",  "Entrypoint",
    "Env",         "ExposedPorts", "features",    "history",      "imageLayoutVersion",
    "Labels",      "layers",       "manifests",   "mediaType",    "os",
    "os.features", "os.version",   "platform",    "rootfs",       "schemaVersion",
    "size",        "StopSignal",   "subject",     "type",         "urls",
    "User",        "variant",      "Volumes",     "WorkingDir",   NULL};

/* Whether member name `name` (ASCII) folds to `folded` (go_fold's output, lowercase). */
static bool
folds_to(const char *name, const char *folded)
{
    for (; *name != '\0'; name++, folded++) {
        char c = *name >= 'A' && *name <= 'Z' ? (char)(*name - 'A' + 'a') : *name;

        if (c != *folded)
            return false;
    }
    return *folded == '\0';
}

/* The member `key` stands for under Go's folding when it is not spelled that way, or NULL. */
static const char *
miscased_member(const char *key, const char *folded)
{
    for (size_t i = 0; member_names[i] != NULL; i++)
        if (folds_to(member_names[i], folded) && strcmp(key, member_names[i]) != 0)
            return member_names[i];
    return NULL;
}

/*
 * One object's keys: each folded key goes into a map (seeded hash) holding the first key that
 * folded to it, so a pair is found with one lookup per key. Comparing each key with every later
 * one, as this once did, took 64 s of CPU for the 80,000 annotation keys a 0.95 MB index.json
 * may hold, before any signature was checked.
 */
static int
check_object_keys(const json_t *json, const char *what, uint64_t *lookups, struct temper_err *err)
{
    struct strmap seen = STRMAP_INIT;
    const char *key;
    const json_t *value;
    int rc = 0;

    json_object_foreach((json_t *)json, key, value)
    {
        char folded[256], shown_a[72], shown_b[72];
        const char *first, *member;

        if (!go_fold(key, folded, sizeof(folded)))
            continue; /* longer than any member name: only a map key can be that long */
        (*lookups)++;
        first = strmap_get(&seen, folded);
        if (first != NULL) {
            rc = temper_err_set(err, TEMPER_E_PARSE, 0,
                                "%s has the keys '%s' and '%s', which Go tools (skopeo, podman, "
                                "containerd) take for one: the file is ambiguous",
                                what, temper_printable(first, shown_a, sizeof(shown_a)),
                                temper_printable(key, shown_b, sizeof(shown_b)));
            break;
        }
        strmap_put(&seen, folded, (void *)key);
        member = miscased_member(key, folded);
        if (member != NULL) {
            rc = temper_err_set(err, TEMPER_E_PARSE, 0,
                                "%s has the key '%s', which Go tools (skopeo, podman, "
                                "containerd) read as '%s': the file is ambiguous",
                                what, temper_printable(key, shown_a, sizeof(shown_a)), member);
            break;
        }
    }
    strmap_release(&seen, NULL);
    return rc;
}

int
oci_json_check_keys_counted(const json_t *json, const char *what, uint64_t *lookups,
                            struct temper_err *err)
{
    const char *key;
    const json_t *value;
    size_t i;

    if (json_is_array(json)) {
        json_array_foreach(json, i, value)
        {
            if (oci_json_check_keys_counted(value, what, lookups, err) < 0)
                return -1;
        }
        return 0;
    }
    if (!json_is_object(json))
        return 0;
    if (check_object_keys(json, what, lookups, err) < 0)
        return -1;
    json_object_foreach((json_t *)json, key, value)
    {
        if (oci_json_check_keys_counted(value, what, lookups, err) < 0)
            return -1;
    }
    return 0;
}

int
oci_json_check_keys(const json_t *json, const char *what, struct temper_err *err)
{
    uint64_t lookups = 0;

    return oci_json_check_keys_counted(json, what, &lookups, err);
}

int
oci_index_parse(const char *buf, size_t len, json_t **out, struct temper_err *err)
{
    json_error_t jerr;
    json_auto_t *index = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *version, *media_type, *manifests;
    char shown[160];

    if (index == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "line %d column %d: %s", jerr.line,
                              jerr.column, temper_printable(jerr.text, shown, sizeof(shown)));
    if (!json_is_object(index))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "not a JSON object");
    if (oci_json_check_keys(index, "index.json", err) < 0)
        return -1;
    version = json_object_get(index, "schemaVersion");
    if (!json_is_integer(version) || json_integer_value(version) != 2)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "schemaVersion is not 2");
    media_type = json_object_get(index, "mediaType");
    if (media_type != NULL && !(json_is_string(media_type) &&
                                strcmp(json_string_value(media_type), OCI_MEDIA_TYPE_INDEX) == 0))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "mediaType is not '%s'",
                              OCI_MEDIA_TYPE_INDEX);
    manifests = json_object_get(index, "manifests");
    if (!json_is_array(manifests))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "manifests is not an array");
    for (size_t i = 0; i < json_array_size(manifests); i++) {
        if (check_entry(json_array_get(manifests, i), i, err) < 0)
            return -1;
    }
    *out = steal_pointer(&index);
    return 0;
}

const char *
oci_entry_ref_name(const json_t *entry)
{
    return json_string_value(
        json_object_get(json_object_get(entry, "annotations"), OCI_ANNOTATION_REF_NAME));
}

const json_t *
oci_index_entry(const json_t *index, const char *tag)
{
    const json_t *manifests = json_object_get(index, "manifests");

    for (size_t i = 0; i < json_array_size(manifests); i++) {
        const json_t *entry = json_array_get(manifests, i);
        const char *name = oci_entry_ref_name(entry);

        if (name != NULL && strcmp(name, tag) == 0)
            return entry;
    }
    return NULL;
}

/*
 * Writes the tags of `manifests` into buf ("a, b, c"), ending in "..." when they do not fit;
 * without the signature tags when `images_only` is set.
 */
static void
list_tags(const json_t *manifests, bool images_only, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < json_array_size(manifests); i++) {
        const char *name = oci_entry_ref_name(json_array_get(manifests, i));
        char shown[136];
        int n;

        if (name == NULL || (images_only && oci_tag_is_attached(name)))
            continue;
        n = snprintf(buf + len, size - len, "%s'%s'", len > 0 ? ", " : "",
                     temper_printable(name, shown, sizeof(shown)));
        if (n < 0 || (size_t)n >= size - len) {
            snprintf(buf + (len < size - 4 ? len : size - 4), 4, "...");
            return;
        }
        len += (size_t)n;
    }
}

static int
fill_descriptor(const json_t *entry, const char *tag, struct oci_descriptor *out,
                struct temper_err *err)
{
    const char *media_type = json_string_value(json_object_get(entry, "mediaType"));
    const char *digest = json_string_value(json_object_get(entry, "digest"));
    const char *name = tag != NULL ? tag : "(the only image)";
    char shown[96];

    if (strlen(media_type) >= sizeof(out->media_type))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "image '%s' has a media type of %zu bytes",
                              name, strlen(media_type));
    if (!sha256_is_digest(digest))
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "image '%s' has digest '%s': temper reads only sha256 digests", name,
                              temper_printable(digest, shown, sizeof(shown)));
    snprintf(out->media_type, sizeof(out->media_type), "%s", media_type);
    snprintf(out->digest, sizeof(out->digest), "%s", digest);
    out->size = (uint64_t)json_integer_value(json_object_get(entry, "size"));
    return 0;
}

bool
oci_platform_tag(const char *tag, const char *architecture, char out[OCI_TAG_MAX + 1])
{
    int n = snprintf(out, OCI_TAG_MAX + 1, "%s-%s", tag, architecture);

    return n > 0 && n <= OCI_TAG_MAX && oci_tag_is_valid(out);
}

/* Whether `entry` is the platform tag (oci_platform_tag) of an image index tagged `of`. */
static bool
is_platform_tag_of(const json_t *entry, const char *of)
{
    const char *name = oci_entry_ref_name(entry);
    const char *arch =
        json_string_value(json_object_get(json_object_get(entry, "platform"), "architecture"));
    size_t n = strlen(of);

    return name != NULL && arch != NULL && strncmp(name, of, n) == 0 && name[n] == '-' &&
           strcmp(name + n + 1, arch) == 0;
}

/* Whether `entry` is the platform tag of an image index tagged in `manifests`. */
static bool
is_index_platform_tag(const json_t *manifests, const json_t *entry)
{
    for (size_t i = 0; i < json_array_size(manifests); i++) {
        const json_t *e = json_array_get(manifests, i);
        const char *media_type = json_string_value(json_object_get(e, "mediaType"));
        const char *name = oci_entry_ref_name(e);

        if (e != entry && name != NULL && media_type != NULL &&
            strcmp(media_type, OCI_MEDIA_TYPE_INDEX) == 0 && is_platform_tag_of(entry, name))
            return true;
    }
    return false;
}

/* The only image of the index, signature tags and the platform tags of an image index not
 * counted (see oci_layout_find_tag). */
static int
find_only_image(const json_t *manifests, struct oci_descriptor *out, struct temper_err *err)
{
    const json_t *only = NULL;
    size_t images = 0, n = json_array_size(manifests);
    char tags[512];

    for (size_t i = 0; i < n; i++) {
        const json_t *entry = json_array_get(manifests, i);
        const char *name = oci_entry_ref_name(entry);

        if (name != NULL && is_index_platform_tag(manifests, entry))
            continue;
        if (name == NULL || !oci_tag_is_attached(name)) {
            images++;
            only = entry;
        }
    }
    if (images == 1)
        return fill_descriptor(only, NULL, out, err);
    if (images == 0 && n > 0)
        return temper_err_set(err, TEMPER_E_MISSING, 0,
                              "the layout holds no image, only %zu signature tag%s", n,
                              n == 1 ? "" : "s");
    if (images == 0)
        return temper_err_set(err, TEMPER_E_MISSING, 0, "the layout holds no image");
    list_tags(manifests, true, tags, sizeof(tags));
    return temper_err_set(err, TEMPER_E_USAGE, 0,
                          "the layout holds %zu images: name one by its tag (%s)", images,
                          tags[0] != '\0' ? tags : "none is tagged");
}

int
oci_index_find(const json_t *index, const char *tag, struct oci_descriptor *out,
               struct temper_err *err)
{
    const json_t *manifests = json_object_get(index, "manifests");
    const json_t *entry;
    char tags[512];

    if (tag == NULL)
        return find_only_image(manifests, out, err);
    if ((entry = oci_index_entry(index, tag)) != NULL)
        return fill_descriptor(entry, tag, out, err);
    if (json_array_size(manifests) == 0)
        return temper_err_set(err, TEMPER_E_MISSING, 0,
                              "no image tagged '%s': the layout holds no image", tag);
    /* Every tag, signatures too: the one asked for may be a signature tag mistyped. */
    list_tags(manifests, false, tags, sizeof(tags));
    return temper_err_set(err, TEMPER_E_MISSING, 0, "no image tagged '%s': the tags are %s", tag,
                          tags[0] != '\0' ? tags : "none (no image is tagged)");
}

int
oci_index_copy_entry(const json_t *index, const char *tag, const char *ref, json_t *to,
                     struct temper_err *err)
{
    const json_t *entry = oci_index_entry(index, tag);
    json_t *copy;

    if (entry == NULL)
        return temper_err_set(err, TEMPER_E_MISSING, 0, "no image tagged '%s'", tag);
    copy = must(json_deep_copy(entry));
    if (json_object_set_new(json_object_get(copy, "annotations"), OCI_ANNOTATION_REF_NAME,
                            must(json_string(ref))) < 0)
        abort();
    append(json_object_get(to, "manifests"), copy);
    return 0;
}

void
oci_index_drop_platform_tags(json_t *manifests, const char *tag)
{
    bool index = false;

    for (size_t i = 0; i < json_array_size(manifests); i++) {
        const json_t *e = json_array_get(manifests, i);
        const char *name = oci_entry_ref_name(e);
        const char *media_type = json_string_value(json_object_get(e, "mediaType"));

        index = index || (name != NULL && media_type != NULL && strcmp(name, tag) == 0 &&
                          strcmp(media_type, OCI_MEDIA_TYPE_INDEX) == 0);
    }
    for (size_t i = 0; index && i < json_array_size(manifests);) {
        if (!is_platform_tag_of(json_array_get(manifests, i), tag))
            i++;
        else if (json_array_remove(manifests, i) < 0)
            must(NULL);
    }
}

int
oci_index_put(json_t *index, const char *tag, const struct oci_descriptor *manifest,
              const struct oci_image_spec *spec, struct temper_err *err)
{
    json_t *manifests = json_object_get(index, "manifests");
    json_auto_t *entry = NULL;
    json_t *annotations, *platform;
    bool placed = false;

    if (descriptor_new(manifest->media_type, manifest->digest, manifest->size, &entry, err) < 0)
        return -1;
    annotations = must(json_object());
    put(entry, "annotations", annotations);
    if (put_string(annotations, OCI_ANNOTATION_REF_NAME, tag, "tag", err) < 0)
        return -1;
    if (spec != NULL) {
        platform = must(json_object());
        put(entry, "platform", platform);
        if (put_platform(platform, spec, err) < 0)
            return -1;
    }

    oci_index_drop_platform_tags(manifests, tag);
    for (size_t i = 0; i < json_array_size(manifests);) {
        const char *name = oci_entry_ref_name(json_array_get(manifests, i));

        if (name == NULL || strcmp(name, tag) != 0) {
            i++;
        } else if (!placed) {
            if (json_array_set(manifests, i++, entry) < 0)
                must(NULL);
            placed = true;
        } else if (json_array_remove(manifests, i) < 0) {
            must(NULL);
        }
    }
    if (!placed && json_array_append(manifests, entry) < 0)
        must(NULL);
    put(index, "mediaType", json_string(OCI_MEDIA_TYPE_INDEX));
    return 0;
}

void
oci_json_dump(const json_t *json, char **out, size_t *len)
{
    char *text = json_dumps(json, OCI_JSON_FLAGS);

    if (text == NULL)
        must(NULL);
    *out = text;
    *len = strlen(text);
}
