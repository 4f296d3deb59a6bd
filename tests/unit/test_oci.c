/*
 * Unit tests of the oci module: the exact bytes of a layout written from a
 * fixed spec (digests computed here from the expected bytes), tags kept and
 * replaced, failures that leave index.json and the directory as they were,
 * refusals of directories that are not layouts, blobs, and the reading API.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/limits.h"
#include "base/sha256.h"
#include "oci/oci-internal.h"
#include "oci/oci_layout.h"
#include "testutil.h"

#define GZIP_LAYER "application/vnd.oci.image.layer.v1.tar+gzip"
#define LAYOUT_FILE_TEXT "{\"imageLayoutVersion\":\"1.0.0\"}"

static const char *const env[] = {"PATH=/usr/bin"};
static const char *const entrypoint[] = {"/usr/bin/python3"};
static const char *const cmd[] = {"-c", "print(1)"};
static const struct oci_kv labels[] = {{"org.example.team", "agents"}};
static const struct oci_kv annotations[] = {
    {"org.opencontainers.image.source", "https://example.com/x"}};

/* The spec whose JSON the golden test spells out. */
static struct oci_image_spec
fixed_spec(void)
{
    return (struct oci_image_spec){
        .architecture = "amd64",
        .os = "linux",
        .created = 1700000000, /* 2023-11-14T22:13:20Z */
        .user = "65532",
        .env = env,
        .nenv = 1,
        .entrypoint = entrypoint,
        .nentrypoint = 1,
        .cmd = cmd,
        .ncmd = 2,
        .work_dir = "/app",
        .labels = labels,
        .nlabels = 1,
        .annotations = annotations,
        .nannotations = 1,
        .created_by = "temper build python.yaml",
    };
}

/* A layer for tests: blob `content`, diff_id the digest of `tar`. */
struct test_layer {
    char digest[LAYER_DIGEST_LEN];
    char diff_id[LAYER_DIGEST_LEN];
    struct oci_layer_desc desc;
};

static void
put_layer(struct oci_layout *layout, const char *content, const char *tar, struct test_layer *out)
{
    struct temper_err err;

    ck_assert_msg(oci_blob_put(layout, content, strlen(content), out->digest, &err) == 0, "%s",
                  err.msg);
    sha256_digest(tar, strlen(tar), out->diff_id);
    out->desc = (struct oci_layer_desc){
        .media_type = GZIP_LAYER,
        .digest = out->digest,
        .size = strlen(content),
        .diff_id = out->diff_id,
    };
}

static struct oci_layout *
open_layout(const char *rel, bool create)
{
    struct oci_layout *layout = NULL;
    struct temper_err err;

    ck_assert_msg(oci_layout_open(testutil_path(rel), create, &layout, &err) == 0, "%s", err.msg);
    return layout;
}

/* Commits one image of one layer under `tag`; *manifest gets its digest. */
static void
commit(struct oci_layout *layout, const struct oci_image_spec *spec, const char *layer,
       const char *tag, char manifest[LAYER_DIGEST_LEN])
{
    struct test_layer l;
    struct temper_err err;

    put_layer(layout, layer, layer, &l);
    ck_assert_msg(oci_image_commit(layout, spec, &l.desc, 1, tag, manifest, &err) == 0, "%s",
                  err.msg);
}

static char *
read_text(const char *rel)
{
    char *text;
    size_t len;

    testutil_read(testutil_path(rel), &text, &len);
    text[len] = '\0'; /* testutil_read allocates one byte more */
    return text;
}

/* The names in directory rel, sorted, joined by ','. */
static char *
list(const char *rel)
{
    struct dirent **names;
    char *out = calloc(1, 4096);
    int n = scandir(testutil_path(rel), &names, NULL, alphasort);
    size_t len = 0;

    ck_assert_msg(n >= 0, "scandir %s: %s", rel, strerror(errno));
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0)
            len += (size_t)snprintf(out + len, 4096 - len, "%s%s", len > 0 ? "," : "",
                                    names[i]->d_name);
        free(names[i]);
    }
    free(names);
    return out;
}

static void
assert_list(const char *rel, const char *expected)
{
    char *names = list(rel);

    ck_assert_str_eq(names, expected);
    free(names);
}

static bool
exists(const char *rel)
{
    struct stat st;

    return lstat(testutil_path(rel), &st) == 0;
}

static void
assert_file(const char *rel, const char *expected)
{
    char *text = read_text(rel);

    ck_assert_str_eq(text, expected);
    free(text);
}

static void
assert_blob(const char *digest, const char *expected)
{
    char rel[128];
    struct stat st;

    snprintf(rel, sizeof(rel), "L/blobs/sha256/%s", digest + 7);
    assert_file(rel, expected);
    ck_assert_int_eq(stat(testutil_path(rel), &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0644);
}

START_TEST(test_oci_image_commit_writes_the_spec_bytes)
{
    struct oci_image_spec spec = fixed_spec();
    struct oci_layout *layout;
    struct test_layer l;
    struct temper_err err;
    char config[2048], manifest[2048], index[2048];
    char config_digest[LAYER_DIGEST_LEN], manifest_digest[LAYER_DIGEST_LEN], got[LAYER_DIGEST_LEN];
    mode_t old_umask = umask(077); /* blobs are 0644 whatever the umask */

    layout = open_layout("L", true);
    put_layer(layout, "layer one", "tar one", &l);
    ck_assert_msg(oci_image_commit(layout, &spec, &l.desc, 1, "latest", got, &err) == 0, "%s",
                  err.msg);
    oci_layout_free(layout);
    umask(old_umask);

    snprintf(config, sizeof(config),
             "{\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"-c\",\"print(1)\"],"
             "\"Entrypoint\":[\"/usr/bin/python3\"],\"Env\":[\"PATH=/usr/bin\"],"
             "\"Labels\":{\"org.example.team\":\"agents\"},\"User\":\"65532\","
             "\"WorkingDir\":\"/app\"},\"created\":\"2023-11-14T22:13:20Z\","
             "\"history\":[{\"created\":\"2023-11-14T22:13:20Z\","
             "\"created_by\":\"temper build python.yaml\"}],\"os\":\"linux\","
             "\"rootfs\":{\"diff_ids\":[\"%s\"],\"type\":\"layers\"}}",
             l.diff_id);
    sha256_digest(config, strlen(config), config_digest);
    snprintf(manifest, sizeof(manifest),
             "{\"annotations\":{\"org.opencontainers.image.source\":\"https://example.com/x\"},"
             "\"config\":{\"digest\":\"%s\",\"mediaType\":"
             "\"application/vnd.oci.image.config.v1+json\",\"size\":%zu},"
             "\"layers\":[{\"digest\":\"%s\",\"mediaType\":"
             "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"size\":9}],"
             "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"schemaVersion\":2}",
             config_digest, strlen(config), l.digest);
    sha256_digest(manifest, strlen(manifest), manifest_digest);
    snprintf(index, sizeof(index),
             "{\"manifests\":[{\"annotations\":{\"org.opencontainers.image.ref.name\":"
             "\"latest\"},\"digest\":\"%s\",\"mediaType\":"
             "\"application/vnd.oci.image.manifest.v1+json\",\"platform\":{\"architecture\":"
             "\"amd64\",\"os\":\"linux\"},\"size\":%zu}],\"mediaType\":"
             "\"application/vnd.oci.image.index.v1+json\",\"schemaVersion\":2}",
             manifest_digest, strlen(manifest));

    ck_assert_str_eq(got, manifest_digest);
    assert_file("L/oci-layout", LAYOUT_FILE_TEXT);
    assert_file("L/index.json", index);
    assert_blob(config_digest, config);
    assert_blob(manifest_digest, manifest);
    assert_blob(l.digest, "layer one");
    assert_list("L", "blobs,index.json,oci-layout");
    assert_list("L/blobs", "sha256");
}
END_TEST

START_TEST(test_oci_image_commit_writes_variant_and_leaves_out_absent_members)
{
    struct oci_image_spec spec = {.architecture = "arm64", .variant = "v8", .os = "linux"};
    struct oci_layout *layout = open_layout("L", true);
    struct oci_descriptor desc;
    struct temper_err err;
    char digest[LAYER_DIGEST_LEN], *manifest, *config, *index;
    size_t len;
    json_t *doc;

    commit(layout, &spec, "x", "v1", digest);
    ck_assert_int_eq(oci_layout_find_tag(layout, "v1", &desc, &err), 0);
    ck_assert_msg(oci_blob_read(layout, desc.digest, 4096, &manifest, &len, &err) == 0, "%s",
                  err.msg);
    ck_assert_ptr_null(strstr(manifest, "annotations"));
    doc = json_loads(manifest, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_msg(
        oci_blob_read(layout,
                      json_string_value(json_object_get(json_object_get(doc, "config"), "digest")),
                      4096, &config, &len, &err) == 0,
        "%s", err.msg);
    ck_assert_ptr_nonnull(strstr(config, "\"architecture\":\"arm64\",\"config\":{},"));
    ck_assert_ptr_nonnull(strstr(config, "\"variant\":\"v8\"}"));
    ck_assert_ptr_nonnull(strstr(config, "\"history\":[{\"created\":\"1970-01-01T00:00:00Z\"}]"));
    oci_layout_free(layout);
    json_decref(doc);
    free(manifest);
    free(config);
    index = read_text("L/index.json");
    ck_assert_ptr_nonnull(strstr(
        index, "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}"));
    free(index);
}
END_TEST

START_TEST(test_oci_image_commit_keeps_two_tags)
{
    struct oci_image_spec spec = fixed_spec();
    struct oci_layout *layout = open_layout("L", true);
    struct oci_descriptor desc;
    struct temper_err err;
    char a[LAYER_DIGEST_LEN], b[LAYER_DIGEST_LEN];

    commit(layout, &spec, "one", "a", a);
    commit(layout, &spec, "two", "b", b);
    oci_layout_free(layout);

    layout = open_layout("L", false);
    ck_assert_int_eq(oci_layout_find_tag(layout, "a", &desc, &err), 0);
    ck_assert_str_eq(desc.digest, a);
    ck_assert_int_eq(oci_layout_find_tag(layout, "b", &desc, &err), 0);
    ck_assert_str_eq(desc.digest, b);
    ck_assert_str_ne(a, b);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_image_commit_replaces_a_tag_in_place)
{
    struct oci_image_spec spec = fixed_spec();
    struct oci_layout *layout = open_layout("L", true);
    struct oci_descriptor desc;
    struct temper_err err;
    char a1[LAYER_DIGEST_LEN], a2[LAYER_DIGEST_LEN], b[LAYER_DIGEST_LEN], *text, *pa, *pb;

    commit(layout, &spec, "one", "a", a1);
    commit(layout, &spec, "two", "b", b);
    oci_layout_free(layout);
    layout = open_layout("L", true);
    spec.created = 1800000000;
    commit(layout, &spec, "three", "a", a2);
    oci_layout_free(layout);

    text = read_text("L/index.json");
    ck_assert_ptr_null(strstr(text, a1));
    pa = strstr(text, a2);
    pb = strstr(text, b);
    ck_assert_ptr_nonnull(pa);
    ck_assert_ptr_nonnull(pb);
    ck_assert_msg(pa < pb, "the replaced tag keeps its place: %s", text);
    free(text);
    layout = open_layout("L", false);
    ck_assert_int_eq(oci_layout_find_tag(layout, "a", &desc, &err), 0);
    ck_assert_str_eq(desc.digest, a2);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_index_put_keeps_other_entries_and_drops_duplicates)
{
    static const char doc[] = "{\"schemaVersion\":2,\"annotations\":{\"k\":\"v\"},\"manifests\":["
                              "{\"mediaType\":\"m\",\"digest\":\"sha256:1\",\"size\":1,"
                              "\"annotations\":{\"org.opencontainers.image.ref.name\":\"a\"}},"
                              "{\"mediaType\":\"m\",\"digest\":\"sha256:2\",\"size\":2},"
                              "{\"mediaType\":\"m\",\"digest\":\"sha256:3\",\"size\":3,"
                              "\"annotations\":{\"org.opencontainers.image.ref.name\":\"a\"}}]}";
    struct oci_image_spec spec = fixed_spec();
    struct oci_descriptor desc = {.media_type = OCI_MEDIA_TYPE_MANIFEST, .size = 7};
    struct temper_err err;
    json_t *index;
    char *text;
    size_t len;

    memset(desc.digest, 0, sizeof(desc.digest));
    sha256_digest("m", 1, desc.digest);
    ck_assert_msg(oci_index_parse(doc, strlen(doc), &index, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(oci_index_put(index, "a", &desc, &spec, &err), 0);
    oci_json_dump(index, &text, &len);
    ck_assert_uint_eq(json_array_size(json_object_get(index, "manifests")), 2);
    ck_assert_ptr_nonnull(strstr(text, "\"annotations\":{\"k\":\"v\"}"));
    ck_assert_ptr_nonnull(strstr(text, "sha256:2"));
    ck_assert_ptr_null(strstr(text, "sha256:1\""));
    ck_assert_ptr_null(strstr(text, "sha256:3"));
    ck_assert_msg(strstr(text, desc.digest) < strstr(text, "sha256:2"), "%s", text);
    ck_assert_ptr_nonnull(
        strstr(text, "\"mediaType\":\"application/vnd.oci.image.index.v1+json\""));
    free(text);
    json_decref(index);
}
END_TEST

/* Makes directory rel refuse new entries, even to root; false when this system cannot. */
static bool
make_unwritable(const char *rel, bool on)
{
    int fd, flags;
    bool ok;

    if (geteuid() != 0)
        return chmod(testutil_path(rel), on ? 0555 : 0755) == 0;
    fd = open(testutil_path(rel), O_RDONLY | O_DIRECTORY);
    ck_assert_int_ge(fd, 0);
    ok = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    if (ok) {
        flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
        ok = ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
    }
    close(fd);
    return ok;
}

START_TEST(test_oci_image_commit_failure_leaves_index_unchanged)
{
    struct oci_image_spec spec = fixed_spec();
    struct oci_layout *layout = open_layout("L", true);
    struct test_layer l;
    struct temper_err err;
    char digest[LAYER_DIGEST_LEN], *before, *after, *blobs;
    int rc;

    commit(layout, &spec, "one", "a", digest);
    put_layer(layout, "two", "two", &l);
    before = read_text("L/index.json");
    blobs = list("L/blobs/sha256");

    /* Refused before anything is written. */
    rc = oci_image_commit(layout, &spec, &l.desc, 1, "-bad", digest, &err);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "invalid tag '-bad'"));
    spec.os = "";
    ck_assert_int_eq(oci_image_commit(layout, &spec, &l.desc, 1, "b", digest, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_str_eq(err.msg, "image 'b': image os is empty");
    spec.os = "linux";
    spec.created = -1;
    ck_assert_int_eq(oci_image_commit(layout, &spec, &l.desc, 1, "b", digest, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "creation time -1 is out of range"));
    spec.created = 0;
    assert_list("L/blobs/sha256", blobs);
    assert_file("L/index.json", before);

    /* Failing where index.json is written. */
    if (make_unwritable("L", true)) {
        rc = oci_image_commit(layout, &spec, &l.desc, 1, "b", digest, &err);
        make_unwritable("L", false);
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(err.code, TEMPER_E_IO);
        ck_assert_msg(strstr(err.msg, "index.json'") != NULL, "%s", err.msg);
        assert_file("L/index.json", before);
        assert_list("L", "blobs,index.json,oci-layout");
    }
    oci_layout_free(layout);
    free(before);
    free(blobs);
    after = list("L/blobs/sha256");
    ck_assert_ptr_null(strstr(after, ".tmp-"));
    free(after);
}
END_TEST

START_TEST(test_oci_image_commit_refuses_layers_that_are_not_blobs)
{
    struct oci_image_spec spec = fixed_spec();
    struct oci_layout *layout = open_layout("L", true);
    struct test_layer l;
    struct temper_err err;
    char digest[LAYER_DIGEST_LEN];

    put_layer(layout, "one", "one", &l);
    l.desc.size = 4;
    ck_assert_int_eq(oci_image_commit(layout, &spec, &l.desc, 1, "a", digest, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "has 3 bytes"));
    sha256_digest("absent", 6, l.digest);
    ck_assert_int_eq(oci_image_commit(layout, &spec, &l.desc, 1, "a", digest, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_MISSING);
    ck_assert_ptr_nonnull(strstr(err.msg, l.digest));
    ck_assert_int_eq(oci_image_commit(layout, &spec, &l.desc, 0, "a", digest, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "at least one layer"));
    ck_assert(!exists("L/index.json"));
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_layout_free_removes_a_fresh_directory_without_images)
{
    struct oci_layout *layout = open_layout("a/b/L", true);
    char digest[LAYER_DIGEST_LEN];
    struct temper_err err;
    int fd;

    ck_assert_int_eq(oci_blob_put(layout, "x", 1, digest, &err), 0);
    fd = oci_blob_begin(layout, &err); /* begun, never committed */
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert(exists("a/b/L/oci-layout"));
    oci_layout_free(layout);
    assert_list("", "");
}
END_TEST

START_TEST(test_oci_layout_free_empties_an_empty_directory_it_was_given)
{
    struct oci_layout *layout;
    char digest[LAYER_DIGEST_LEN];
    struct temper_err err;

    testutil_mkdir("L");
    layout = open_layout("L", true);
    ck_assert_int_eq(oci_blob_put(layout, "x", 1, digest, &err), 0);
    oci_layout_free(layout);
    assert_list("", "L");
    assert_list("L", "");
}
END_TEST

START_TEST(test_oci_layout_free_never_removes_from_an_existing_layout)
{
    struct oci_image_spec spec = fixed_spec();
    struct oci_layout *layout = open_layout("L", true);
    char digest[LAYER_DIGEST_LEN], rel[128];
    struct temper_err err;

    commit(layout, &spec, "one", "a", digest);
    oci_layout_free(layout);
    layout = open_layout("L", true);
    ck_assert_int_eq(oci_blob_put(layout, "new", 3, digest, &err), 0);
    oci_layout_free(layout);
    snprintf(rel, sizeof(rel), "L/blobs/sha256/%s", digest + 7);
    ck_assert(exists(rel));
}
END_TEST

START_TEST(test_oci_layout_open_refuses_a_directory_that_is_not_a_layout)
{
    struct oci_layout *layout = NULL;
    struct temper_err err;

    testutil_write("d/notes.txt", "keep", 4);
    ck_assert_int_eq(oci_layout_open(testutil_path("d"), true, &layout, &err), -1);
    ck_assert_ptr_null(layout);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, testutil_path("d")));
    ck_assert_ptr_nonnull(strstr(err.msg, "pick an empty directory or an existing layout"));
    assert_list("d", "notes.txt");

    testutil_mkdir("e");
    ck_assert_int_eq(oci_layout_open(testutil_path("e"), false, &layout, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "has no 'oci-layout' file"));
    assert_list("e", "");

    ck_assert_int_eq(oci_layout_open(testutil_path("missing"), false, &layout, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_MISSING);
    ck_assert_ptr_nonnull(strstr(err.msg, testutil_path("missing")));
    ck_assert(!exists("missing"));
}
END_TEST

START_TEST(test_oci_layout_open_refuses_another_layout_version)
{
    static const char v2[] = "{\"imageLayoutVersion\":\"2.0.0\"}";
    struct oci_layout *layout = NULL;
    struct temper_err err;

    testutil_write("L/oci-layout", v2, strlen(v2));
    ck_assert_int_eq(oci_layout_open(testutil_path("L"), true, &layout, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "oci-layout'"));
    ck_assert_ptr_nonnull(strstr(err.msg, "'2.0.0'"));
    assert_list("L", "oci-layout");
}
END_TEST

START_TEST(test_oci_layout_open_refuses_a_damaged_index)
{
    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "{\"schemaVersion\":2,\"manifests\":[]} trailing",
        "{\"schemaVersion\":1,\"manifests\":[]}",
        "{\"schemaVersion\":2}",
        "{\"schemaVersion\":2,\"manifests\":{}}",
        "{\"schemaVersion\":2,\"mediaType\":\"x\",\"manifests\":[]}",
        "{\"schemaVersion\":2,\"manifests\":[1]}",
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"m\",\"digest\":1,\"size\":1}]}",
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"d\",\"size\":-1}]}",
        ("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"d\",\"size\":1,"
         "\"annotations\":{\"a\":1}}]}"),
        "{\"schemaVersion\":2,\"schemaVersion\":2,\"manifests\":[]}",
    };
    struct oci_layout *layout = NULL;
    struct temper_err err;

    testutil_write("L/oci-layout", LAYOUT_FILE_TEXT, strlen(LAYOUT_FILE_TEXT));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        testutil_write("L/index.json", bad[i], strlen(bad[i]));
        ck_assert_msg(oci_layout_open(testutil_path("L"), true, &layout, &err) == -1, "%s", bad[i]);
        ck_assert_int_eq(err.code, TEMPER_E_PARSE);
        ck_assert_msg(strstr(err.msg, "index.json' is damaged") != NULL, "%s", err.msg);
        assert_file("L/index.json", bad[i]);
        assert_list("L", "index.json,oci-layout");
    }
}
END_TEST

START_TEST(test_oci_layout_open_caps_the_index)
{
    struct oci_layout *layout = NULL;
    struct temper_err err;
    char *big = malloc(OCI_INDEX_MAX_BYTES + 1);

    memset(big, ' ', OCI_INDEX_MAX_BYTES + 1);
    testutil_write("L/oci-layout", LAYOUT_FILE_TEXT, strlen(LAYOUT_FILE_TEXT));
    testutil_write("L/index.json", big, OCI_INDEX_MAX_BYTES + 1);
    free(big);
    ck_assert_int_eq(oci_layout_open(testutil_path("L"), false, &layout, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_ptr_nonnull(strstr(err.msg, "index.json' is larger than"));
}
END_TEST

START_TEST(test_oci_layout_open_refuses_symlinked_blobs)
{
    struct oci_layout *layout = NULL;
    struct temper_err err;

    testutil_mkdir("elsewhere/sha256");
    testutil_write("L/oci-layout", LAYOUT_FILE_TEXT, strlen(LAYOUT_FILE_TEXT));
    testutil_symlink("../elsewhere", "L/blobs");
    ck_assert_int_eq(oci_layout_open(testutil_path("L"), true, &layout, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_msg(strstr(err.msg, "blobs' is a symlink") != NULL, "%s", err.msg);

    testutil_write("M/oci-layout", LAYOUT_FILE_TEXT, strlen(LAYOUT_FILE_TEXT));
    testutil_symlink("../../elsewhere/sha256", "M/blobs/sha256");
    ck_assert_int_eq(oci_layout_open(testutil_path("M"), false, &layout, &err), -1);
    ck_assert_msg(strstr(err.msg, "blobs/sha256' is a symlink") != NULL, "%s", err.msg);
    assert_list("elsewhere/sha256", "");
}
END_TEST

START_TEST(test_oci_layout_open_takes_a_layout_without_index)
{
    struct oci_layout *layout;
    struct oci_descriptor desc;
    struct temper_err err;

    testutil_write("L/oci-layout", LAYOUT_FILE_TEXT, strlen(LAYOUT_FILE_TEXT));
    layout = open_layout("L", false);
    ck_assert_int_eq(oci_layout_find_tag(layout, NULL, &desc, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_MISSING);
    ck_assert_ptr_nonnull(strstr(err.msg, "holds no image"));
    oci_layout_free(layout);
    assert_list("L", "oci-layout"); /* opened without create: nothing written */
}
END_TEST

static void
blob_twice(bool named)
{
    struct oci_layout *layout = open_layout("L", true);
    char d1[LAYER_DIGEST_LEN], d2[LAYER_DIGEST_LEN], expected[LAYER_DIGEST_LEN];
    struct temper_err err;
    char *names;
    int fd;

    if (named)
        oci_layout_force_named_tmp(layout);
    ck_assert_int_eq(oci_blob_put(layout, "same", 4, d1, &err), 0);
    ck_assert_int_eq(oci_blob_put(layout, "same", 4, d2, &err), 0);
    ck_assert_str_eq(d1, d2);
    sha256_digest("same", 4, expected);
    ck_assert_str_eq(d1, expected);
    fd = oci_blob_begin(layout, &err);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "same", 4), 4);
    ck_assert_int_eq(oci_blob_commit(layout, fd, d1, &err), 0);
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1); /* closed */
    names = list("L/blobs/sha256");
    ck_assert_str_eq(names, d1 + 7);
    free(names);
    assert_blob(d1, "same");
    oci_layout_free(layout);
}

START_TEST(test_oci_blob_put_keeps_an_existing_blob)
{
    blob_twice(false);
}
END_TEST

START_TEST(test_oci_blob_put_keeps_an_existing_blob_through_named_temporaries)
{
    blob_twice(true);
}
END_TEST

START_TEST(test_oci_blob_commit_refuses_a_damaged_blob_of_that_name)
{
    struct oci_layout *layout = open_layout("L", true);
    char digest[LAYER_DIGEST_LEN], rel[128];
    struct temper_err err;
    int fd;

    sha256_digest("right", 5, digest);
    snprintf(rel, sizeof(rel), "L/blobs/sha256/%s", digest + 7);
    testutil_write(rel, "partial", 7);
    fd = oci_blob_begin(layout, &err);
    ck_assert_int_eq(write(fd, "right", 5), 5);
    ck_assert_int_eq(oci_blob_commit(layout, fd, digest, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "the layout is damaged"));
    ck_assert_ptr_nonnull(strstr(err.msg, digest + 7));
    assert_file(rel, "partial");
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_blob_commit_closes_the_descriptor_on_failure)
{
    struct oci_layout *layout = open_layout("L", true);
    struct temper_err err;
    int fd;

    oci_layout_force_named_tmp(layout);
    fd = oci_blob_begin(layout, &err);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(oci_blob_commit(layout, fd, "sha256:ABC", &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "'sha256:ABC'"));
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
    assert_list("L/blobs/sha256", "");
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_blob_read_checks_the_digest)
{
    struct oci_layout *layout = open_layout("L", true);
    char digest[LAYER_DIGEST_LEN], other[LAYER_DIGEST_LEN], rel[128], *buf;
    struct temper_err err;
    size_t len;

    ck_assert_int_eq(oci_blob_put(layout, "content", 7, digest, &err), 0);
    ck_assert_int_eq(oci_blob_read(layout, digest, 7, &buf, &len, &err), 0);
    ck_assert_uint_eq(len, 7);
    ck_assert_str_eq(buf, "content");
    free(buf);

    ck_assert_int_eq(oci_blob_read(layout, digest, 6, &buf, &len, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);

    sha256_digest("expected", 8, other);
    snprintf(rel, sizeof(rel), "L/blobs/sha256/%s", other + 7);
    testutil_write(rel, "tampered", 8);
    ck_assert_int_eq(oci_blob_read(layout, other, 100, &buf, &len, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "does not match its digest"));
    ck_assert_ptr_nonnull(strstr(err.msg, other + 7));

    sha256_digest("absent", 6, other);
    ck_assert_int_eq(oci_blob_read(layout, other, 100, &buf, &len, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_MISSING);
    ck_assert_ptr_nonnull(strstr(err.msg, other));
    ck_assert_int_eq(oci_blob_read(layout, "sha256:../../x", 100, &buf, &len, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_layout_find_tag_names_the_tags_there_are)
{
    struct oci_image_spec spec = fixed_spec();
    struct oci_layout *layout = open_layout("L", true);
    struct oci_descriptor desc;
    struct temper_err err;
    char a[LAYER_DIGEST_LEN], b[LAYER_DIGEST_LEN], rel[128];
    struct stat st;

    commit(layout, &spec, "one", "a", a);
    ck_assert_int_eq(oci_layout_find_tag(layout, NULL, &desc, &err), 0);
    ck_assert_str_eq(desc.digest, a);
    ck_assert_str_eq(desc.media_type, OCI_MEDIA_TYPE_MANIFEST);
    snprintf(rel, sizeof(rel), "L/blobs/sha256/%s", a + 7);
    ck_assert_int_eq(stat(testutil_path(rel), &st), 0);
    ck_assert_uint_eq(desc.size, (uint64_t)st.st_size);

    commit(layout, &spec, "two", "b", b);
    ck_assert_int_eq(oci_layout_find_tag(layout, "zzz", &desc, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_MISSING);
    ck_assert_ptr_nonnull(strstr(err.msg, "no image tagged 'zzz'"));
    ck_assert_ptr_nonnull(strstr(err.msg, "'a', 'b'"));
    ck_assert_ptr_nonnull(strstr(err.msg, testutil_path("L")));
    ck_assert_int_eq(oci_layout_find_tag(layout, NULL, &desc, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "holds 2 images"));
    ck_assert_int_eq(oci_layout_find_tag(layout, "b", &desc, &err), 0);
    ck_assert_str_eq(desc.digest, b);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_index_find_refuses_digests_it_cannot_read)
{
    static const char doc[] =
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"sha512:ab\","
        "\"size\":1,\"annotations\":{\"org.opencontainers.image.ref.name\":\"a\"}}]}";
    struct oci_descriptor desc;
    struct temper_err err;
    json_t *index;

    ck_assert_int_eq(oci_index_parse(doc, strlen(doc), &index, &err), 0);
    ck_assert_int_eq(oci_index_find(index, "a", &desc, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "'sha512:ab'"));
    json_decref(index);
}
END_TEST

START_TEST(test_oci_tag_is_valid_follows_the_distribution_grammar)
{
    char longest[130];

    ck_assert(oci_tag_is_valid("latest"));
    ck_assert(oci_tag_is_valid("_x"));
    ck_assert(oci_tag_is_valid("v1.2.3-rc_1"));
    ck_assert(!oci_tag_is_valid(""));
    ck_assert(!oci_tag_is_valid(NULL));
    ck_assert(!oci_tag_is_valid(".x"));
    ck_assert(!oci_tag_is_valid("-x"));
    ck_assert(!oci_tag_is_valid("a/b"));
    ck_assert(!oci_tag_is_valid("a:b"));
    ck_assert(!oci_tag_is_valid("caf\xc3\xa9"));
    memset(longest, 'a', 128);
    longest[128] = '\0';
    ck_assert(oci_tag_is_valid(longest));
    longest[128] = 'a';
    longest[129] = '\0';
    ck_assert(!oci_tag_is_valid(longest));
}
END_TEST

START_TEST(test_oci_format_time_takes_0_to_9999)
{
    char out[OCI_TIME_LEN];
    struct temper_err err;

    ck_assert_int_eq(oci_format_time(0, out, &err), 0);
    ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
    ck_assert_int_eq(oci_format_time(OCI_EPOCH_MAX, out, &err), 0);
    ck_assert_str_eq(out, "9999-12-31T23:59:59Z");
    ck_assert_int_eq(oci_format_time(OCI_EPOCH_MAX + 1, out, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "253402300800 is out of range"));
    ck_assert_int_eq(oci_format_time(INT64_MIN, out, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
}
END_TEST

START_TEST(test_oci_config_new_refuses_unusable_specs)
{
    static const char *const bad_env[] = {"NOEQUALS"};
    static const char *const not_utf8[] = {"A=\xff"};
    static const struct oci_kv twice[] = {{"k", "1"}, {"k", "2"}};
    struct oci_image_spec spec = {.architecture = "amd64", .os = "linux"};
    struct oci_layer_desc layer = {.diff_id = "sha256:x"};
    struct temper_err err;

    spec.env = bad_env;
    spec.nenv = 1;
    ck_assert_ptr_null(oci_config_new(&spec, &layer, 1, &err));
    ck_assert_str_eq(err.msg, "environment entry 'NOEQUALS' is not KEY=VALUE");
    spec.env = not_utf8;
    ck_assert_ptr_null(oci_config_new(&spec, &layer, 1, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "is not valid UTF-8"));
    spec.nenv = 0;
    spec.labels = twice;
    spec.nlabels = 2;
    ck_assert_ptr_null(oci_config_new(&spec, &layer, 1, &err));
    ck_assert_str_eq(err.msg, "label 'k' is given twice");
    spec.nlabels = 0;
    spec.architecture = "";
    ck_assert_ptr_null(oci_config_new(&spec, &layer, 1, &err));
    ck_assert_str_eq(err.msg, "image architecture is empty");
}
END_TEST

static Suite *
oci_suite(void)
{
    Suite *s = suite_create("oci");
    TCase *tc;

    tc = tcase_create("oci_image_commit");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_oci_image_commit_writes_the_spec_bytes);
    tcase_add_test(tc, test_oci_image_commit_writes_variant_and_leaves_out_absent_members);
    tcase_add_test(tc, test_oci_image_commit_keeps_two_tags);
    tcase_add_test(tc, test_oci_image_commit_replaces_a_tag_in_place);
    tcase_add_test(tc, test_oci_image_commit_failure_leaves_index_unchanged);
    tcase_add_test(tc, test_oci_image_commit_refuses_layers_that_are_not_blobs);
    suite_add_tcase(s, tc);

    tc = tcase_create("oci_index");
    tcase_add_test(tc, test_oci_index_put_keeps_other_entries_and_drops_duplicates);
    tcase_add_test(tc, test_oci_index_find_refuses_digests_it_cannot_read);
    tcase_add_test(tc, test_oci_tag_is_valid_follows_the_distribution_grammar);
    tcase_add_test(tc, test_oci_format_time_takes_0_to_9999);
    tcase_add_test(tc, test_oci_config_new_refuses_unusable_specs);
    suite_add_tcase(s, tc);

    tc = tcase_create("oci_layout_free");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_oci_layout_free_removes_a_fresh_directory_without_images);
    tcase_add_test(tc, test_oci_layout_free_empties_an_empty_directory_it_was_given);
    tcase_add_test(tc, test_oci_layout_free_never_removes_from_an_existing_layout);
    suite_add_tcase(s, tc);

    tc = tcase_create("oci_layout_open");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_oci_layout_open_refuses_a_directory_that_is_not_a_layout);
    tcase_add_test(tc, test_oci_layout_open_refuses_another_layout_version);
    tcase_add_test(tc, test_oci_layout_open_refuses_a_damaged_index);
    tcase_add_test(tc, test_oci_layout_open_caps_the_index);
    tcase_add_test(tc, test_oci_layout_open_refuses_symlinked_blobs);
    tcase_add_test(tc, test_oci_layout_open_takes_a_layout_without_index);
    suite_add_tcase(s, tc);

    tc = tcase_create("oci_blob");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_oci_blob_put_keeps_an_existing_blob);
    tcase_add_test(tc, test_oci_blob_put_keeps_an_existing_blob_through_named_temporaries);
    tcase_add_test(tc, test_oci_blob_commit_refuses_a_damaged_blob_of_that_name);
    tcase_add_test(tc, test_oci_blob_commit_closes_the_descriptor_on_failure);
    tcase_add_test(tc, test_oci_blob_read_checks_the_digest);
    suite_add_tcase(s, tc);

    tc = tcase_create("oci_layout_find_tag");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_oci_layout_find_tag_names_the_tags_there_are);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(oci_suite());
}
