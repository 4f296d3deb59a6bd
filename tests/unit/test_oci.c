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
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "layer/layer_writer.h"
#include "oci/oci-internal.h"
#include "oci/oci_layout.h"
#include "rootfs/rootfs_plan.h"
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

/* Not inlined: gcc 12 at -O2 takes strstr results on what it returns for pointers into its
 * local variable ("dangling pointer") once it is. */
__attribute__((noinline)) static char *
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

/* A build killed while it wrote oci-layout into a new directory leaves only its temporary. */
START_TEST(test_oci_layout_open_takes_a_directory_left_by_a_killed_build)
{
    struct oci_layout *layout = NULL;
    struct temper_err err;

    testutil_write("K/oci-layout.tmp-Ab3xY9", "{\"imageLay", 11);
    layout = open_layout("K", true);
    assert_list("K", "blobs,oci-layout");
    assert_file("K/oci-layout", LAYOUT_FILE_TEXT);
    oci_layout_free(layout);
    layout = NULL;
    assert_list("K", "");

    /* Anything else in the directory, even a name that only looks like one, is the user's. */
    testutil_write("M/oci-layout.tmp-Ab3xY9", "", 0);
    testutil_write("M/notes.txt", "keep", 4);
    testutil_write("N/oci-layout.tmp-Ab3xY9z", "", 0);
    testutil_write("O/index.json.tmp-Ab3xY9", "", 0);
    ck_assert_int_eq(oci_layout_open(testutil_path("M"), true, &layout, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "pick an empty directory or an existing layout"));
    assert_list("M", "notes.txt,oci-layout.tmp-Ab3xY9");
    ck_assert_int_eq(oci_layout_open(testutil_path("N"), true, &layout, &err), -1);
    assert_list("N", "oci-layout.tmp-Ab3xY9z");
    ck_assert_int_eq(oci_layout_open(testutil_path("O"), true, &layout, &err), -1);
    assert_list("O", "index.json.tmp-Ab3xY9");
    ck_assert_ptr_null(layout);
}
END_TEST

/* A writer killed between a temporary and its rename leaves it; the next writer removes it. */
START_TEST(test_oci_layout_writers_take_turns_and_clear_what_a_killed_one_left)
{
    struct oci_layout *second = NULL;
    struct temper_err err;
    char digest[LAYER_DIGEST_LEN];
    int fd;

    testutil_write("L/oci-layout", LAYOUT_FILE_TEXT, strlen(LAYOUT_FILE_TEXT));
    testutil_write("L/index.json.tmp-Ab3xY9", "{", 1);
    testutil_write("L/blobs/sha256/.tmp-Zz9qQ1", "half", 4);
    testutil_write("L/index.json.tmp-notmine", "keep", 4); /* not a name temper makes */

    /* a reader takes no lock and removes nothing */
    ck_assert_int_eq(oci_layout_open(testutil_path("L"), false, &second, &err), 0);
    assert_list("L/blobs/sha256", ".tmp-Zz9qQ1");
    /* a writer does, at its first write */
    ck_assert_int_eq(oci_blob_put(second, "x", 1, digest, &err), 0);
    assert_list("L", "blobs,index.json.tmp-notmine,oci-layout");
    assert_list("L/blobs/sha256", digest + 7);
    /* and holds the lock until it is freed */
    fd = open(testutil_path("L"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), -1);
    ck_assert_int_eq(errno, EWOULDBLOCK);
    oci_layout_free(second);
    ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    close(fd);
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

/* ---- signature tags ---- */

START_TEST(test_oci_json_check_keys_refuses_what_go_folds_together)
{
    static const struct {
        const char *json;
        const char *keys; /* NULL: accepted */
    } cases[] = {
        {"{\"layers\":[],\"config\":{}}", NULL},
        {"{\"layers\":[],\"Layers\":[]}", "'layers' and 'Layers'"},
        {"{\"a\":{\"mediaType\":1,\"MEDIATYPE\":2}}", "'mediaType' and 'MEDIATYPE'"},
        {"[{\"x\":1},{\"digest\":1,\"DiGeSt\":2}]", "'digest' and 'DiGeSt'"},
        /* U+017F (long s) and U+212A (Kelvin sign) fold to 's' and 'k' in Go; the message keeps
         * them as they are (cli escapes what it writes) */
        {"{\"manifests\":[],\"manife\u017fts\":[]}", "'manifests' and 'manife\u017fts'"},
        {"{\"kind\":1,\"\u212aind\":2}", "'kind' and '\u212aind'"},
        {"{\"caf\u00e9\":1,\"CAF\u00c9\":2}", NULL}, /* only ASCII folds to a field */
        /* alone, a miscased member name is still read as that member by Go */
        {"{\"mediaTypE\":\"x\"}", "'mediaTypE', which Go tools"},
        {"{\"config\":{\"user\":\"0\"}}", "read as 'User'"},
    };
    struct temper_err err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = json_loads(cases[i].json, 0, NULL);
        int rc;

        ck_assert_ptr_nonnull(doc);
        rc = oci_json_check_keys(doc, "doc", &err);
        json_decref(doc);
        if (cases[i].keys == NULL) {
            ck_assert_msg(rc == 0, "%s: %s", cases[i].json, err.msg);
            continue;
        }
        ck_assert_msg(rc == -1, "%s accepted", cases[i].json);
        ck_assert_int_eq(err.code, TEMPER_E_PARSE);
        ck_assert_msg(strstr(err.msg, cases[i].keys) != NULL, "%s: %s", cases[i].json, err.msg);
    }
}
END_TEST

/* Issue 17: each key is looked up once among its object's others, not compared with every
 * later one (80,000 annotation keys took 64 s that way): 20,000 keys, one lookup each, against
 * the 200 million comparisons of the pairwise check. A pair at the very end is still found. */
START_TEST(test_oci_json_check_keys_is_linear_in_the_keys)
{
    enum { KEYS = 20000 };
    json_t *doc = json_object(), *keys = json_object();
    struct temper_err err;
    uint64_t lookups = 0;
    char key[32];

    for (int i = 0; i < KEYS; i++) {
        snprintf(key, sizeof(key), "org.example.k%05d", i);
        json_object_set_new(keys, key, json_string(""));
    }
    json_object_set_new(doc, "annotations", keys);
    ck_assert_msg(oci_json_check_keys_counted(doc, "index.json", &lookups, &err) == 0, "%s",
                  err.msg);
    ck_assert_msg(lookups <= KEYS + 1, "%llu lookups for %d keys", (unsigned long long)lookups,
                  KEYS);
    json_object_set_new(keys, "ORG.example.K00000", json_string(""));
    lookups = 0;
    ck_assert_int_eq(oci_json_check_keys_counted(doc, "index.json", &lookups, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_msg(strstr(err.msg, "'org.example.k00000' and 'ORG.example.K00000'") != NULL, "%s",
                  err.msg);
    ck_assert_msg(lookups <= KEYS + 2, "%llu lookups for %d keys", (unsigned long long)lookups,
                  KEYS + 1);
    json_decref(doc);
}
END_TEST

START_TEST(test_oci_tag_is_attached_takes_cosign_tags_only)
{
    static const char hex[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    static const struct {
        const char *prefix, *middle, *suffix;
        bool attached;
    } cases[] = {
        {"sha256-", hex, ".sig", true},
        {"sha256-", hex, ".att", true},   /* attestations */
        {"sha256-", hex, ".sbom", false}, /* cosign's attached SBOM: temper writes none */
        {"sha256-", hex, ".atx", false},
        {"sha256-", hex, ".sig.x", false},   /* too long */
        {"sha256-", hex, ".si", false},      /* too short */
        {"sha256:", hex, ".sig", false},     /* ':' is no tag character */
        {"sha512-", hex, ".sig", false},     /* another algorithm */
        {"SHA256-", hex, ".sig", false},     /* case matters */
        {"sha256-", hex + 1, ".sig", false}, /* 63 digits */
        {"sha256-0", hex, ".sig", false},    /* 65 digits */
        {"", "", "", false},
        {"latest", "", "", false},
    };
    char tag[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(tag, sizeof(tag), "%s%s%s", cases[i].prefix, cases[i].middle, cases[i].suffix);
        ck_assert_msg(oci_tag_is_attached(tag) == cases[i].attached, "%s", tag);
    }
    /* upper-case hex and other letters in the digest */
    snprintf(tag, sizeof(tag), "sha256-%s.sig", hex);
    tag[7] = 'A';
    ck_assert(!oci_tag_is_attached(tag));
    tag[7] = 'g';
    ck_assert(!oci_tag_is_attached(tag));
    ck_assert(!oci_tag_is_attached(NULL));
    /* 75 characters, and a valid tag of the distribution grammar */
    snprintf(tag, sizeof(tag), "sha256-%s.sig", hex);
    ck_assert_uint_eq(strlen(tag), 75);
    ck_assert(oci_tag_is_valid(tag));
}
END_TEST

/* "sha256-<hex of digest>.sig", the tag of the signatures of `digest`. */
static void
signature_tag(const char *digest, char tag[80])
{
    snprintf(tag, 80, "sha256-%s.sig", digest + 7);
}

START_TEST(test_oci_layout_find_tag_skips_signature_tags)
{
    static const char sig_manifest[] = "{\"schemaVersion\":2}";
    struct oci_image_spec spec = fixed_spec();
    struct oci_layout *layout = open_layout("L", true);
    struct oci_descriptor desc;
    struct temper_err err;
    char a[LAYER_DIGEST_LEN], b[LAYER_DIGEST_LEN], sig[LAYER_DIGEST_LEN], tag[80];

    commit(layout, &spec, "one", "a", a);
    signature_tag(a, tag);
    ck_assert_msg(oci_manifest_put(layout, tag, OCI_MEDIA_TYPE_MANIFEST, sig_manifest,
                                   strlen(sig_manifest), sig, &err) == 0,
                  "%s", err.msg);
    /* one image and its signatures: the image */
    ck_assert_msg(oci_layout_find_tag(layout, NULL, &desc, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(desc.digest, a);
    /* the signature manifest is still found by its tag */
    ck_assert_int_eq(oci_layout_find_tag(layout, tag, &desc, &err), 0);
    ck_assert_str_eq(desc.digest, sig);

    /* two images: both named, the signature tag not among them */
    commit(layout, &spec, "two", "b", b);
    ck_assert_int_eq(oci_layout_find_tag(layout, NULL, &desc, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_msg(strstr(err.msg, "holds 2 images: name one by its tag ('a', 'b')") != NULL, "%s",
                  err.msg);
    ck_assert_ptr_null(strstr(err.msg, ".sig"));
    /* a tag not found lists every tag, signatures too */
    ck_assert_int_eq(oci_layout_find_tag(layout, "c", &desc, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_MISSING);
    ck_assert_ptr_nonnull(strstr(err.msg, tag));
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_index_find_counts_no_image_among_signatures_only)
{
    static const char doc[] =
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"sha256:"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"size\":1,"
        "\"annotations\":{\"org.opencontainers.image.ref.name\":\"sha256-"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig\"}}]}";
    struct oci_descriptor desc;
    struct temper_err err;
    json_t *index;

    ck_assert_int_eq(oci_index_parse(doc, strlen(doc), &index, &err), 0);
    ck_assert_int_eq(oci_index_find(index, NULL, &desc, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_MISSING);
    ck_assert_str_eq(err.msg, "the layout holds no image, only 1 signature tag");
    json_decref(index);
}
END_TEST

/* ---- oci_manifest_put ---- */

static const char manifest_a[] = "{\"schemaVersion\":2,\"layers\":[],\"note\":\"a\"}";
static const char manifest_b[] = "{\"schemaVersion\":2,\"layers\":[],\"note\":\"b\"}";

/* The index entry of `tag` in L/index.json, as text. */
static json_t *
index_entry(const char *tag)
{
    char *text = read_text("L/index.json");
    json_t *index = json_loads(text, 0, NULL), *found = NULL;
    json_t *manifests = json_object_get(index, "manifests");

    for (size_t i = 0; i < json_array_size(manifests); i++) {
        json_t *entry = json_array_get(manifests, i);
        const char *name = json_string_value(json_object_get(json_object_get(entry, "annotations"),
                                                             "org.opencontainers.image.ref.name"));

        if (name != NULL && strcmp(name, tag) == 0)
            found = json_incref(entry);
    }
    json_decref(index);
    free(text);
    return found;
}

START_TEST(test_oci_manifest_put_adds_a_tag_without_platform)
{
    struct oci_image_spec spec = fixed_spec();
    struct oci_layout *layout = open_layout("L", true);
    struct temper_err err;
    char image[LAYER_DIGEST_LEN], digest[LAYER_DIGEST_LEN], want[LAYER_DIGEST_LEN], rel[128];
    json_t *entry;

    commit(layout, &spec, "one", "latest", image);
    ck_assert_msg(oci_manifest_put(layout, "extra", OCI_MEDIA_TYPE_MANIFEST, manifest_a,
                                   strlen(manifest_a), digest, &err) == 0,
                  "%s", err.msg);
    oci_layout_free(layout);
    sha256_digest(manifest_a, strlen(manifest_a), want);
    ck_assert_str_eq(digest, want);
    /* the exact bytes, not re-serialized */
    snprintf(rel, sizeof(rel), "L/blobs/sha256/%s", digest + 7);
    assert_file(rel, manifest_a);
    entry = index_entry("extra");
    ck_assert_ptr_nonnull(entry);
    ck_assert_str_eq(json_string_value(json_object_get(entry, "digest")), digest);
    ck_assert_str_eq(json_string_value(json_object_get(entry, "mediaType")),
                     OCI_MEDIA_TYPE_MANIFEST);
    ck_assert_int_eq(json_integer_value(json_object_get(entry, "size")),
                     (json_int_t)strlen(manifest_a));
    ck_assert_ptr_null(json_object_get(entry, "platform"));
    ck_assert_uint_eq(json_object_size(entry), 4);
    json_decref(entry);
    /* the image's entry is kept, with its platform, and comes first */
    entry = index_entry("latest");
    ck_assert_str_eq(json_string_value(json_object_get(entry, "digest")), image);
    ck_assert_ptr_nonnull(json_object_get(entry, "platform"));
    json_decref(entry);
    {
        char *text = read_text("L/index.json");

        ck_assert_msg(strstr(text, image) < strstr(text, digest), "%s", text);
        free(text);
    }
}
END_TEST

START_TEST(test_oci_manifest_put_replaces_a_tag_in_place_on_an_existing_layout)
{
    struct oci_image_spec spec = fixed_spec();
    struct oci_layout *layout = open_layout("L", true);
    struct oci_descriptor desc;
    struct temper_err err;
    char a[LAYER_DIGEST_LEN], b[LAYER_DIGEST_LEN], first[LAYER_DIGEST_LEN];
    char second[LAYER_DIGEST_LEN], *text;

    commit(layout, &spec, "one", "a", a);
    ck_assert_int_eq(oci_manifest_put(layout, "x", "application/vnd.example+json", manifest_a,
                                      strlen(manifest_a), first, &err),
                     0);
    commit(layout, &spec, "two", "b", b);
    oci_layout_free(layout);

    /* an existing layout, opened without create */
    layout = open_layout("L", false);
    ck_assert_msg(oci_manifest_put(layout, "x", OCI_MEDIA_TYPE_MANIFEST, manifest_b,
                                   strlen(manifest_b), second, &err) == 0,
                  "%s", err.msg);
    ck_assert_int_eq(oci_layout_find_tag(layout, "x", &desc, &err), 0);
    ck_assert_str_eq(desc.digest, second);
    ck_assert_str_eq(desc.media_type, OCI_MEDIA_TYPE_MANIFEST);
    oci_layout_free(layout);

    text = read_text("L/index.json");
    ck_assert_ptr_null(strstr(text, first));
    ck_assert_ptr_nonnull(strstr(text, a));
    ck_assert_ptr_nonnull(strstr(text, b));
    {
        const char *at_a = strstr(text, a), *at_second = strstr(text, second);
        const char *at_b = strstr(text, b);

        ck_assert_msg(at_a < at_second && at_second < at_b, "the tag keeps its place: %s", text);
    }
    free(text);
    /* the old manifest's blob stays: a layout that existed is never removed from */
    layout = open_layout("L", false);
    ck_assert_int_eq(oci_layout_find_tag(layout, "a", &desc, &err), 0);
    ck_assert_str_eq(desc.digest, a);
    ck_assert_int_eq(oci_layout_find_tag(layout, "b", &desc, &err), 0);
    ck_assert_str_eq(desc.digest, b);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_manifest_put_works_on_a_layout_without_blobs)
{
    struct oci_layout *layout;
    struct oci_descriptor desc;
    struct temper_err err;
    char digest[LAYER_DIGEST_LEN];

    testutil_write("L/oci-layout", LAYOUT_FILE_TEXT, strlen(LAYOUT_FILE_TEXT));
    layout = open_layout("L", false);
    ck_assert_msg(oci_manifest_put(layout, "only", OCI_MEDIA_TYPE_MANIFEST, manifest_a,
                                   strlen(manifest_a), digest, &err) == 0,
                  "%s", err.msg);
    oci_layout_free(layout);
    assert_list("L", "blobs,index.json,oci-layout");
    layout = open_layout("L", false);
    ck_assert_int_eq(oci_layout_find_tag(layout, NULL, &desc, &err), 0);
    ck_assert_str_eq(desc.digest, digest);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_manifest_put_failure_leaves_index_unchanged)
{
    struct oci_image_spec spec = fixed_spec();
    struct oci_layout *layout = open_layout("L", true);
    struct temper_err err;
    char a[LAYER_DIGEST_LEN], digest[LAYER_DIGEST_LEN], *before, *blobs;
    int rc;

    commit(layout, &spec, "one", "a", a);
    oci_layout_free(layout);
    layout = open_layout("L", false);
    before = read_text("L/index.json");
    blobs = list("L/blobs/sha256");

    /* refused before anything is written */
    ck_assert_int_eq(oci_manifest_put(layout, "-bad", OCI_MEDIA_TYPE_MANIFEST, manifest_a,
                                      strlen(manifest_a), digest, &err),
                     -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "invalid tag '-bad'"));
    ck_assert_int_eq(
        oci_manifest_put(layout, "a", "", manifest_a, strlen(manifest_a), digest, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "media type '' is empty or too long"));
    ck_assert_int_eq(
        oci_manifest_put(layout, "a", "x/\xff", manifest_a, strlen(manifest_a), digest, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "is not valid UTF-8"));
    assert_file("L/index.json", before);
    assert_list("L/blobs/sha256", blobs);

    /* failing where index.json is written: byte-identical, the tag still the old image */
    if (make_unwritable("L", true)) {
        rc = oci_manifest_put(layout, "a", OCI_MEDIA_TYPE_MANIFEST, manifest_a, strlen(manifest_a),
                              digest, &err);
        make_unwritable("L", false);
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(err.code, TEMPER_E_IO);
        ck_assert_msg(strstr(err.msg, "index.json'") != NULL, "%s", err.msg);
        assert_file("L/index.json", before);
        assert_list("L", "blobs,index.json,oci-layout");
    }
    oci_layout_free(layout);
    layout = open_layout("L", false);
    {
        struct oci_descriptor desc;

        ck_assert_int_eq(oci_layout_find_tag(layout, "a", &desc, &err), 0);
        ck_assert_str_eq(desc.digest, a);
    }
    oci_layout_free(layout);
    free(before);
    free(blobs);
}
END_TEST

/* ---- oci_image_verify ---- */

#define VERIFY_EPOCH 1700000000
/* 1.5 MiB of content: two gzip members */
#define NOISE_SIZE (3 * 1024 * 1024 / 2)

/* Text and noise, so that compression has work of both kinds; `seed` makes other content. */
static char *
noise(size_t size, uint64_t seed)
{
    char *buf = malloc(size + 1);
    uint64_t x = 88172645463325252ull ^ seed;

    for (size_t i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = i % 80 < 40 ? (char)('a' + i % 26) : (char)(x & 0xff);
    }
    buf[size] = '\0';
    return buf;
}

/* Writes one layer holding etc/data = content as a blob of the layout, as cmd_build does. */
static void
write_layer(struct oci_layout *layout, enum layer_compression c, const char *content, size_t size,
            struct layer_result *res)
{
    struct rootfs_entry entries[] = {
        {.path = "etc", .type = ROOTFS_DIR, .mode = 0755},
        {.path = "etc/data",
         .type = ROOTFS_FILE,
         .mode = 0644,
         .size = size,
         .content = (char *)content},
    };
    struct rootfs_plan plan = {.entries = entries, .n = 2};
    struct layer_options o = {.compression = c, .jobs = 2, .epoch = VERIFY_EPOCH};
    struct fs_root *root = NULL;
    struct temper_err err;
    int fd;

    ck_assert_msg(fs_root_open(testutil_dir, &root, &err) == 0, "%s", err.msg);
    fd = oci_blob_begin(layout, &err);
    ck_assert_msg(fd >= 0, "%s", err.msg);
    ck_assert_msg(layer_write(&plan, root, fd, &o, res, &err) == 0, "%s", err.msg);
    ck_assert_msg(oci_blob_commit(layout, fd, res->digest, &err) == 0, "%s", err.msg);
    fs_root_free(root);
}

/* An image of two layers: a gzip one of two members, and a zstd one. */
struct image {
    struct layer_result layers[2];
    char manifest[LAYER_DIGEST_LEN];
    char config[LAYER_DIGEST_LEN];
};

static void
build_image(struct oci_layout *layout, const char *tag, struct image *img)
{
    struct oci_image_spec spec = fixed_spec();
    struct oci_layer_desc desc[2];
    struct temper_err err;
    char *big = noise(NOISE_SIZE, 0);
    json_t *manifest;
    char *text;
    size_t len;

    write_layer(layout, LAYER_COMPRESSION_GZIP, big, NOISE_SIZE, &img->layers[0]);
    ck_assert_uint_gt(img->layers[0].tar_size, LAYER_GZIP_CHUNK);
    write_layer(layout, LAYER_COMPRESSION_ZSTD, "second layer\n", 13, &img->layers[1]);
    for (size_t i = 0; i < 2; i++)
        desc[i] = (struct oci_layer_desc){
            layer_media_type(i == 0 ? LAYER_COMPRESSION_GZIP : LAYER_COMPRESSION_ZSTD),
            img->layers[i].digest, img->layers[i].size, img->layers[i].diff_id, NULL};
    ck_assert_msg(oci_image_commit(layout, &spec, desc, 2, tag, img->manifest, &err) == 0, "%s",
                  err.msg);
    ck_assert_int_eq(oci_blob_read(layout, img->manifest, 1 << 20, &text, &len, &err), 0);
    manifest = json_loads(text, 0, NULL);
    snprintf(img->config, sizeof(img->config), "%s",
             json_string_value(json_object_get(json_object_get(manifest, "config"), "digest")));
    json_decref(manifest);
    free(text);
    free(big);
}

static const char *
blob_rel(const char *digest)
{
    static char rel[512];

    snprintf(rel, sizeof(rel), "L/blobs/sha256/%s", digest + 7);
    return rel;
}

/* Changes one byte of blob `digest` in place. */
static void
flip_byte(const char *digest, size_t at)
{
    char *buf;
    size_t len;
    char rel[512];

    snprintf(rel, sizeof(rel), "%s", blob_rel(digest));
    testutil_read(testutil_path(rel), &buf, &len);
    ck_assert_uint_lt(at, len);
    buf[at] ^= 0x20;
    testutil_write(rel, buf, len);
    free(buf);
}

static size_t
blob_size(const char *digest)
{
    struct stat st;

    ck_assert_int_eq(stat(testutil_path(blob_rel(digest)), &st), 0);
    return (size_t)st.st_size;
}

static json_t *
load_json_blob(struct oci_layout *layout, const char *digest)
{
    struct temper_err err;
    json_t *doc;
    char *text;
    size_t len;

    ck_assert_msg(oci_blob_read(layout, digest, 1 << 20, &text, &len, &err) == 0, "%s", err.msg);
    doc = json_loadb(text, len, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    free(text);
    return doc;
}

/* Writes `manifest` (canonical JSON) under `tag` with oci_manifest_put; *digest gets its digest. */
static void
put_manifest(struct oci_layout *layout, const char *tag, const char *media_type,
             const json_t *manifest, char digest[LAYER_DIGEST_LEN])
{
    struct temper_err err;
    char *text = json_dumps(manifest, JSON_COMPACT | JSON_SORT_KEYS);

    ck_assert_ptr_nonnull(text);
    ck_assert_msg(oci_manifest_put(layout, tag, media_type, text, strlen(text), digest, &err) == 0,
                  "%s", err.msg);
    free(text);
}

/* Sets member `key` of the descriptor at `path` ("config", "layers/0") of the manifest. */
static json_t *
descriptor_at(json_t *manifest, const char *path)
{
    if (strcmp(path, "config") == 0)
        return json_object_get(manifest, "config");
    return json_array_get(json_object_get(manifest, "layers"), (size_t)atoi(path + 7));
}

/* Re-points, in the manifest tagged `tag`, the descriptor at `path` to digest and size. */
static void
repoint(struct oci_layout *layout, const char *tag, const char *path, const char *digest,
        size_t size, char manifest_digest[LAYER_DIGEST_LEN])
{
    struct oci_descriptor desc;
    struct temper_err err;
    json_t *manifest, *d;

    ck_assert_int_eq(oci_layout_find_tag(layout, tag, &desc, &err), 0);
    manifest = load_json_blob(layout, desc.digest);
    d = descriptor_at(manifest, path);
    ck_assert_ptr_nonnull(d);
    if (digest != NULL)
        json_object_set_new(d, "digest", json_string(digest));
    json_object_set_new(d, "size", json_integer((json_int_t)size));
    put_manifest(layout, tag, OCI_MEDIA_TYPE_MANIFEST, manifest, manifest_digest);
    json_decref(manifest);
}

static int
verify_tag(struct oci_layout *layout, const char *tag, struct temper_err *err)
{
    struct oci_descriptor desc;

    ck_assert_msg(oci_layout_find_tag(layout, tag, &desc, err) == 0, "%s", err->msg);
    return oci_image_verify(layout, &desc, err);
}

static void
assert_verify_fails(struct oci_layout *layout, const char *tag, enum temper_errc code,
                    const char *message)
{
    struct temper_err err = {0};

    ck_assert_int_eq(verify_tag(layout, tag, &err), -1);
    ck_assert_msg(err.code == code, "code %d, not %d: %s", (int)err.code, (int)code, err.msg);
    ck_assert_msg(strstr(err.msg, message) != NULL, "'%s' not in '%s'", message, err.msg);
}

START_TEST(test_oci_image_verify_accepts_a_built_image)
{
    struct oci_layout *layout = open_layout("L", true);
    struct temper_err err;
    struct image img;

    build_image(layout, "latest", &img);
    ck_assert_msg(verify_tag(layout, "latest", &err) == 0, "%s", err.msg);
    oci_layout_free(layout);
    /* an existing layout, opened without create, writes nothing when verified */
    layout = open_layout("L", false);
    ck_assert_msg(verify_tag(layout, "latest", &err) == 0, "%s", err.msg);
    oci_layout_free(layout);
    assert_list("L", "blobs,index.json,oci-layout");
}
END_TEST

START_TEST(test_oci_image_verify_accepts_docker_v2_and_manifests_without_media_type)
{
    struct oci_layout *layout = open_layout("L", true);
    struct temper_err err;
    struct image img;
    json_t *manifest;
    char digest[LAYER_DIGEST_LEN];

    build_image(layout, "latest", &img);
    manifest = load_json_blob(layout, img.manifest);
    json_object_set_new(manifest, "mediaType", json_string(OCI_MEDIA_TYPE_DOCKER_MANIFEST));
    json_object_set_new(json_object_get(manifest, "config"), "mediaType",
                        json_string(OCI_MEDIA_TYPE_DOCKER_CONFIG));
    json_object_set_new(json_array_get(json_object_get(manifest, "layers"), 0), "mediaType",
                        json_string("application/vnd.docker.image.rootfs.diff.tar.gzip"));
    json_array_remove(json_object_get(manifest, "layers"), 1);
    put_manifest(layout, "docker", OCI_MEDIA_TYPE_DOCKER_MANIFEST, manifest, digest);
    json_decref(manifest);
    /* one layer, so one diff_id: a config of its own */
    {
        json_t *config = load_json_blob(layout, img.config), *manifest2;
        char *text, config_digest[LAYER_DIGEST_LEN];

        json_array_remove(json_object_get(json_object_get(config, "rootfs"), "diff_ids"), 1);
        text = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
        ck_assert_int_eq(oci_blob_put(layout, text, strlen(text), config_digest, &err), 0);
        manifest2 = load_json_blob(layout, digest);
        json_object_set_new(json_object_get(manifest2, "config"), "digest",
                            json_string(config_digest));
        json_object_set_new(json_object_get(manifest2, "config"), "size",
                            json_integer((json_int_t)strlen(text)));
        put_manifest(layout, "docker", OCI_MEDIA_TYPE_DOCKER_MANIFEST, manifest2, digest);
        json_object_del(manifest2, "mediaType");
        json_object_set_new(json_object_get(manifest2, "config"), "mediaType",
                            json_string(OCI_MEDIA_TYPE_CONFIG));
        put_manifest(layout, "bare", OCI_MEDIA_TYPE_MANIFEST, manifest2, digest);
        json_decref(manifest2);
        json_decref(config);
        free(text);
    }
    ck_assert_msg(verify_tag(layout, "docker", &err) == 0, "%s", err.msg);
    ck_assert_msg(verify_tag(layout, "bare", &err) == 0, "%s", err.msg);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_image_verify_names_a_changed_manifest_byte)
{
    struct oci_layout *layout = open_layout("L", true);
    struct image img;
    char message[256];

    build_image(layout, "latest", &img);
    flip_byte(img.manifest, 20);
    snprintf(message, sizeof(message), "manifest '%s': its bytes hash to 'sha256:", img.manifest);
    assert_verify_fails(layout, "latest", TEMPER_E_SIG, message);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_image_verify_names_a_manifest_size_off_by_one)
{
    struct oci_layout *layout = open_layout("L", true);
    struct oci_descriptor desc;
    struct temper_err err = {0};
    struct image img;
    char message[256];

    build_image(layout, "latest", &img);
    ck_assert_int_eq(oci_layout_find_tag(layout, "latest", &desc, &err), 0);
    desc.size++;
    ck_assert_int_eq(oci_image_verify(layout, &desc, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_SIG);
    snprintf(message, sizeof(message), "manifest '%s' is %zu bytes, its descriptor says %zu",
             img.manifest, blob_size(img.manifest), blob_size(img.manifest) + 1);
    ck_assert_str_eq(err.msg, message);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_image_verify_names_a_changed_config_byte)
{
    struct oci_layout *layout = open_layout("L", true);
    struct image img;
    char message[256];

    build_image(layout, "latest", &img);
    flip_byte(img.config, 30);
    snprintf(message, sizeof(message), "config '%s': its bytes hash to 'sha256:", img.config);
    assert_verify_fails(layout, "latest", TEMPER_E_SIG, message);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_image_verify_names_a_config_size_off_by_one)
{
    struct oci_layout *layout = open_layout("L", true);
    struct image img;
    char message[256], digest[LAYER_DIGEST_LEN];

    build_image(layout, "latest", &img);
    repoint(layout, "latest", "config", NULL, blob_size(img.config) + 1, digest);
    snprintf(message, sizeof(message), "config '%s' is %zu bytes, its descriptor says %zu",
             img.config, blob_size(img.config), blob_size(img.config) + 1);
    assert_verify_fails(layout, "latest", TEMPER_E_SIG, message);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_image_verify_names_a_changed_layer_byte)
{
    struct oci_layout *layout = open_layout("L", true);
    struct image img;
    char message[256];

    build_image(layout, "latest", &img);
    /* in the middle of the second gzip member: the stream breaks, the digest is what is said */
    flip_byte(img.layers[0].digest, (size_t)img.layers[0].size * 3 / 4);
    snprintf(message, sizeof(message),
             "layer 1 '%s': its bytes hash to 'sha256:", img.layers[0].digest);
    assert_verify_fails(layout, "latest", TEMPER_E_SIG, message);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_image_verify_names_a_layer_size_off_by_one)
{
    struct oci_layout *layout = open_layout("L", true);
    struct image img;
    char message[256], digest[LAYER_DIGEST_LEN];

    build_image(layout, "latest", &img);
    repoint(layout, "latest", "layers/1", NULL, (size_t)img.layers[1].size - 1, digest);
    snprintf(message, sizeof(message), "layer 2 '%s' is %zu bytes, its descriptor says %zu",
             img.layers[1].digest, (size_t)img.layers[1].size, (size_t)img.layers[1].size - 1);
    assert_verify_fails(layout, "latest", TEMPER_E_SIG, message);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_image_verify_names_a_diff_id_that_lies)
{
    struct oci_layout *layout = open_layout("L", true);
    struct layer_result other;
    struct image img;
    char message[512], digest[LAYER_DIGEST_LEN];
    char *content = noise(NOISE_SIZE, 1);

    build_image(layout, "latest", &img);
    /* a valid gzip layer of other content, its digest and size right in the manifest */
    write_layer(layout, LAYER_COMPRESSION_GZIP, content, NOISE_SIZE, &other);
    repoint(layout, "latest", "layers/0", other.digest, (size_t)other.size, digest);
    snprintf(message, sizeof(message),
             "layer 1 '%s' decompresses to '%s', the config's diff_id is '%s'", other.digest,
             other.diff_id, img.layers[0].diff_id);
    assert_verify_fails(layout, "latest", TEMPER_E_SIG, message);
    free(content);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_image_verify_names_a_truncated_layer)
{
    struct oci_layout *layout = open_layout("L", true);
    struct temper_err err;
    struct image img;
    char message[512], digest[LAYER_DIGEST_LEN], cut[LAYER_DIGEST_LEN], rel[512], *buf;
    size_t len;

    build_image(layout, "latest", &img);
    snprintf(rel, sizeof(rel), "%s", blob_rel(img.layers[0].digest));
    testutil_read(testutil_path(rel), &buf, &len);
    /* the blob truncated where it is: its bytes are not the ones named */
    testutil_write(rel, buf, len / 2);
    snprintf(message, sizeof(message), "layer 1 '%s': its bytes hash to '", img.layers[0].digest);
    assert_verify_fails(layout, "latest", TEMPER_E_SIG, message);
    /* the bytes truncated inside the last member, named rightly by the manifest: they do not
     * decompress */
    ck_assert_int_eq(oci_blob_put(layout, buf, len - 100, cut, &err), 0);
    repoint(layout, "latest", "layers/0", cut, len - 100, digest);
    snprintf(message, sizeof(message), "layer 1: '%s' is truncated: it ends inside gzip member 2",
             cut);
    assert_verify_fails(layout, "latest", TEMPER_E_SIG, message);
    free(buf);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_image_verify_names_a_missing_blob)
{
    struct oci_layout *layout = open_layout("L", true);
    struct image img;
    char message[512];

    build_image(layout, "latest", &img);
    ck_assert_int_eq(unlink(testutil_path(blob_rel(img.layers[1].digest))), 0);
    snprintf(message, sizeof(message), "layer 2: blob '%s' is missing from '%s'",
             img.layers[1].digest, testutil_path("L"));
    assert_verify_fails(layout, "latest", TEMPER_E_MISSING, message);
    ck_assert_int_eq(unlink(testutil_path(blob_rel(img.config))), 0);
    snprintf(message, sizeof(message), "config: blob '%s' is missing", img.config);
    assert_verify_fails(layout, "latest", TEMPER_E_MISSING, message);
    ck_assert_int_eq(unlink(testutil_path(blob_rel(img.manifest))), 0);
    snprintf(message, sizeof(message), "manifest: blob '%s' is missing", img.manifest);
    assert_verify_fails(layout, "latest", TEMPER_E_MISSING, message);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_image_verify_names_a_diff_id_count_mismatch)
{
    struct oci_layout *layout = open_layout("L", true);
    struct temper_err err;
    struct image img;
    char message[256], digest[LAYER_DIGEST_LEN], config_digest[LAYER_DIGEST_LEN], *text;
    json_t *config;

    build_image(layout, "latest", &img);
    config = load_json_blob(layout, img.config);
    json_array_append_new(json_object_get(json_object_get(config, "rootfs"), "diff_ids"),
                          json_string(img.layers[0].diff_id));
    text = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_int_eq(oci_blob_put(layout, text, strlen(text), config_digest, &err), 0);
    repoint(layout, "latest", "config", config_digest, strlen(text), digest);
    snprintf(message, sizeof(message), "config '%s' has 3 diff_ids, the manifest has 2 layers",
             config_digest);
    assert_verify_fails(layout, "latest", TEMPER_E_SIG, message);
    json_decref(config);
    free(text);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_image_verify_refuses_a_digest_other_than_sha256)
{
    struct oci_layout *layout = open_layout("L", true);
    struct oci_descriptor desc;
    struct temper_err err;
    struct image img;
    char message[2048], digest[LAYER_DIGEST_LEN], sha512[1024];
    json_t *manifest;

    build_image(layout, "latest", &img);
    snprintf(sha512, sizeof(sha512), "sha512:%s%s", img.layers[0].digest + 7,
             img.layers[0].digest + 7);
    ck_assert_int_eq(oci_layout_find_tag(layout, "latest", &desc, &err), 0);
    manifest = load_json_blob(layout, desc.digest);
    json_object_set_new(descriptor_at(manifest, "layers/0"), "digest", json_string(sha512));
    put_manifest(layout, "latest", OCI_MEDIA_TYPE_MANIFEST, manifest, digest);
    json_decref(manifest);
    snprintf(message, sizeof(message),
             "manifest '%s': layers[0].digest '%s' is not 'sha256:' and 64 lowercase hex digits",
             digest, sha512);
    assert_verify_fails(layout, "latest", TEMPER_E_PARSE, message);
    oci_layout_free(layout);
}
END_TEST

START_TEST(test_oci_image_verify_names_a_media_type_that_lies)
{
    struct oci_layout *layout = open_layout("L", true);
    struct oci_descriptor desc;
    struct temper_err err;
    struct image img;
    json_t *manifest;
    char message[512], digest[LAYER_DIGEST_LEN];

    build_image(layout, "latest", &img);
    manifest = load_json_blob(layout, img.manifest);
    /* the same bytes, under a Docker descriptor: the manifest says OCI */
    put_manifest(layout, "latest", OCI_MEDIA_TYPE_DOCKER_MANIFEST, manifest, digest);
    ck_assert_str_eq(digest, img.manifest);
    snprintf(message, sizeof(message),
             "manifest '%s' says its mediaType is '%s', its descriptor says '%s'", digest,
             OCI_MEDIA_TYPE_MANIFEST, OCI_MEDIA_TYPE_DOCKER_MANIFEST);
    assert_verify_fails(layout, "latest", TEMPER_E_SIG, message);
    /* an index is not an image manifest */
    put_manifest(layout, "latest", OCI_MEDIA_TYPE_INDEX, manifest, digest);
    assert_verify_fails(layout, "latest", TEMPER_E_PARSE, "not an image manifest");
    /* a layer type temper cannot decompress */
    json_object_set_new(descriptor_at(manifest, "layers/1"), "mediaType",
                        json_string("application/vnd.oci.image.layer.v1.tar+xz"));
    put_manifest(layout, "latest", OCI_MEDIA_TYPE_MANIFEST, manifest, digest);
    snprintf(message, sizeof(message), "layer 2: '%s' has media type", img.layers[1].digest);
    assert_verify_fails(layout, "latest", TEMPER_E_SIG, message);
    json_decref(manifest);
    ck_assert_int_eq(oci_layout_find_tag(layout, "latest", &desc, &err), 0);
    oci_layout_free(layout);
}
END_TEST

/* ---- oci_manifest_parse, oci_config_parse ---- */

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CONFIG_DESC                                                                                \
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"           \
    "\"sha256:" D64 "\",\"size\":2}"
#define LAYER_DESC                                                                                 \
    "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:" D64      \
    "\",\"size\":3}"

START_TEST(test_oci_manifest_parse_reads_descriptors)
{
    static const char doc[] = "{\"schemaVersion\":2,\"mediaType\":"
                              "\"application/vnd.oci.image.manifest.v1+json\"," CONFIG_DESC
                              ",\"layers\":[" LAYER_DESC "," LAYER_DESC "],\"x\":[1]}";
    struct oci_manifest m;
    struct temper_err err;

    ck_assert_msg(oci_manifest_parse(doc, strlen(doc), &m, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(m.media_type, OCI_MEDIA_TYPE_MANIFEST);
    ck_assert_str_eq(m.config.digest, "sha256:" D64);
    ck_assert_uint_eq(m.config.size, 2);
    ck_assert_uint_eq(m.nlayers, 2);
    ck_assert_str_eq(m.layers[1].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
    ck_assert_uint_eq(m.layers[1].size, 3);
    oci_manifest_release(&m);
}
END_TEST

/* Two images, amd64 and arm64, put untagged; m[0] and m[1] get their descriptors. */
static void
put_two_platforms(struct oci_layout *layout, struct oci_image_spec spec[2],
                  struct oci_descriptor m[2])
{
    struct test_layer l[2];
    struct temper_err err;

    spec[0] = fixed_spec();
    spec[1] = fixed_spec();
    spec[1].architecture = "arm64";
    put_layer(layout, "amd64 layer", "amd64 tar", &l[0]);
    put_layer(layout, "arm64 layer", "arm64 tar", &l[1]);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(oci_image_put(layout, &spec[i], &l[i].desc, 1, &m[i], &err) == 0, "%s",
                      err.msg);
}

START_TEST(test_oci_index_commit_names_each_image_with_its_platform)
{
    struct oci_layout *layout = open_layout("L", true);
    struct oci_image_spec spec[2];
    struct oci_descriptor m[2], found;
    struct oci_source src;
    struct oci_platform_image *images = NULL;
    struct temper_err err;
    char digest[LAYER_DIGEST_LEN], want_digest[LAYER_DIGEST_LEN], *want;
    size_t n = 0;
    json_t *entry;

    put_two_platforms(layout, spec, m);
    /* put alone tags nothing */
    ck_assert_int_eq(oci_layout_find_tag(layout, NULL, &found, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_MISSING);
    const struct oci_index_image images_in[2] = {{m[0], &spec[0]}, {m[1], &spec[1]}};
    ck_assert_msg(oci_index_commit(layout, images_in, 2, "latest", digest, &err) == 0, "%s",
                  err.msg);
    /* the index's exact bytes: each image in the order given, with its platform */
    want = NULL;
    ck_assert_int_gt(
        asprintf(&want,
                 "{\"manifests\":[{\"digest\":\"%s\",\"mediaType\":\"%s\",\"platform\":"
                 "{\"architecture\":\"amd64\",\"os\":\"linux\"},\"size\":%llu},"
                 "{\"digest\":\"%s\",\"mediaType\":\"%s\",\"platform\":"
                 "{\"architecture\":\"arm64\",\"os\":\"linux\"},\"size\":%llu}],"
                 "\"mediaType\":\"" OCI_MEDIA_TYPE_INDEX "\",\"schemaVersion\":2}",
                 m[0].digest, OCI_MEDIA_TYPE_MANIFEST, (unsigned long long)m[0].size, m[1].digest,
                 OCI_MEDIA_TYPE_MANIFEST, (unsigned long long)m[1].size),
        0);
    sha256_digest(want, strlen(want), want_digest);
    ck_assert_str_eq(digest, want_digest);
    assert_blob(digest, want);
    free(want);
    /* the tag names the index; the layout's only image is the index, the platform tags aside */
    ck_assert_msg(oci_layout_find_tag(layout, NULL, &found, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(found.digest, digest);
    ck_assert_str_eq(found.media_type, OCI_MEDIA_TYPE_INDEX);
    oci_layout_source(layout, &src);
    ck_assert_msg(oci_source_index(&src, &found, &images, &n, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(images[0].manifest.digest, m[0].digest);
    ck_assert_str_eq(images[1].architecture, "arm64");
    ck_assert_str_eq(images[1].os, "linux");
    ck_assert_str_eq(images[1].variant, "");
    ck_assert_ptr_eq(oci_platform_find(images, n, "arm64"), &images[1]);
    ck_assert_ptr_null(oci_platform_find(images, n, "s390x"));
    free(images);
    oci_layout_free(layout);
    /* each image has its platform tag, for a reader that takes one image by tag (umoci) */
    entry = index_entry("latest-arm64");
    ck_assert_ptr_nonnull(entry);
    ck_assert_str_eq(json_string_value(json_object_get(entry, "digest")), m[1].digest);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(entry, "platform"), "architecture")),
        "arm64");
    json_decref(entry);
    entry = index_entry("latest");
    ck_assert_str_eq(json_string_value(json_object_get(entry, "mediaType")), OCI_MEDIA_TYPE_INDEX);
    ck_assert_ptr_null(json_object_get(entry, "platform"));
    json_decref(entry);
}
END_TEST

START_TEST(test_oci_index_commit_refuses_one_platform_twice_and_long_platform_tags)
{
    struct oci_layout *layout = open_layout("L", true);
    struct oci_image_spec spec[2];
    struct oci_descriptor m[2];
    struct temper_err err;
    char digest[LAYER_DIGEST_LEN], before[LAYER_DIGEST_LEN], tag[130];
    char *index_before;

    put_two_platforms(layout, spec, m);
    commit(layout, &spec[0], "kept", "kept", before);
    index_before = read_text("L/index.json");
    const struct oci_index_image twice[2] = {{m[0], &spec[0]}, {m[1], &spec[0]}};
    ck_assert_int_eq(oci_index_commit(layout, twice, 2, "latest", digest, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_msg(strstr(err.msg, "images 1 and 2 are both for linux/amd64") != NULL, "%s",
                  err.msg);
    /* a tag of 123 characters is one, its "-amd64" platform tag (129) is not */
    memset(tag, 'a', 123);
    tag[123] = '\0';
    const struct oci_index_image both[2] = {{m[0], &spec[0]}, {m[1], &spec[1]}};
    ck_assert_int_eq(oci_index_commit(layout, both, 2, tag, digest, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_msg(strstr(err.msg, "longer than a tag may be") != NULL, "%s", err.msg);
    ck_assert_int_eq(oci_index_commit(layout, both, 0, "latest", digest, &err), -1);
    oci_layout_free(layout);
    assert_file("L/index.json", index_before);
    free(index_before);
}
END_TEST

START_TEST(test_oci_index_put_drops_the_platform_tags_of_a_replaced_index)
{
    struct oci_layout *layout = open_layout("L", true);
    struct oci_image_spec spec[2];
    struct oci_descriptor m[2];
    struct temper_err err;
    char digest[LAYER_DIGEST_LEN], image[LAYER_DIGEST_LEN];
    json_t *entry;

    put_two_platforms(layout, spec, m);
    const struct oci_index_image both[2] = {{m[0], &spec[0]}, {m[1], &spec[1]}};
    ck_assert_msg(oci_index_commit(layout, both, 2, "latest", digest, &err) == 0, "%s", err.msg);
    /* "v1-amd64" is a tag of its own: "v1" names an image, not an index */
    commit(layout, &spec[0], "v1 image", "v1", image);
    commit(layout, &spec[0], "v1-amd64 image", "v1-amd64", image);
    /* latest becomes one image: the index's platform tags go with the index */
    commit(layout, &spec[0], "one image", "latest", image);
    commit(layout, &spec[0], "v1 again", "v1", image);
    oci_layout_free(layout);
    ck_assert_ptr_null(index_entry("latest-amd64"));
    ck_assert_ptr_null(index_entry("latest-arm64"));
    entry = index_entry("v1-amd64");
    ck_assert_ptr_nonnull(entry);
    json_decref(entry);
}
END_TEST

START_TEST(test_oci_index_commit_keeps_a_tag_it_did_not_make)
{
    struct oci_layout *layout = open_layout("L", true);
    struct oci_image_spec spec[2];
    struct oci_descriptor m[2];
    struct temper_err err;
    char digest[LAYER_DIGEST_LEN], again[LAYER_DIGEST_LEN], image[LAYER_DIGEST_LEN];
    char *index_before;
    json_t *entry;

    put_two_platforms(layout, spec, m);
    const struct oci_index_image both[2] = {{m[0], &spec[0]}, {m[1], &spec[1]}};
    /* the index again over its own platform tags */
    ck_assert_msg(oci_index_commit(layout, both, 2, "latest", digest, &err) == 0, "%s", err.msg);
    ck_assert_msg(oci_index_commit(layout, both, 2, "latest", again, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(again, digest);
    /* a user's own "v2-arm64" is not the platform tag of an index "v2": it is refused, whole */
    commit(layout, &spec[0], "mine", "v2-arm64", image);
    index_before = read_text("L/index.json");
    ck_assert_int_eq(oci_index_commit(layout, both, 2, "v2", digest, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_USAGE);
    ck_assert_msg(strstr(err.msg, "image index 'v2': its image for arm64 would be tagged "
                                  "'v2-arm64', which the layout already holds") != NULL,
                  "%s", err.msg);
    oci_layout_free(layout);
    assert_file("L/index.json", index_before);
    free(index_before);
    entry = index_entry("v2-arm64");
    ck_assert_str_eq(json_string_value(json_object_get(entry, "digest")), image);
    json_decref(entry);
}
END_TEST

START_TEST(test_oci_index_images_refuses_what_is_not_an_index_of_images)
{
#define IMAGE_ENTRY(platform)                                                                      \
    "{\"mediaType\":\"" OCI_MEDIA_TYPE_MANIFEST "\",\"digest\":\"sha256:" D64                      \
    "\",\"size\":3" platform "}"
#define LINUX_AMD64 ",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}"
    static const struct {
        const char *doc, *message;
        enum temper_errc code;
    } bad[] = {
        {"{\"schemaVersion\":2,\"manifests\":[]}", "it names no image", TEMPER_E_PARSE},
        {"{\"schemaVersion\":2,\"mediaType\":\"" OCI_MEDIA_TYPE_MANIFEST
         "\",\"manifests\":[" IMAGE_ENTRY(LINUX_AMD64) "]}",
         "mediaType is not an image index's", TEMPER_E_PARSE},
        {"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MEDIA_TYPE_INDEX
         "\",\"digest\":\"sha256:" D64 "\",\"size\":3" LINUX_AMD64 "}]}",
         "is a 'application/vnd.oci.image.index.v1+json', not an image manifest", TEMPER_E_PARSE},
        {"{\"schemaVersion\":2,\"manifests\":[" IMAGE_ENTRY("") "]}", "has no platform",
         TEMPER_E_PARSE},
        {"{\"schemaVersion\":2,\"manifests\":[" IMAGE_ENTRY(
             ",\"platform\":{\"os\":\"linux\"}") "]}",
         "manifests[0].platform.architecture is not a string", TEMPER_E_PARSE},
        {"{\"schemaVersion\":2,\"manifests\":[" IMAGE_ENTRY(
             ",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64/../x\"}") "]}",
         "manifests[0].platform.architecture 'amd64/../x' is not a name", TEMPER_E_PARSE},
        {"{\"schemaVersion\":2,\"manifests\":[" IMAGE_ENTRY(
             ",\"platform\":{\"os\":\"linux\\u001b[2J\",\"architecture\":\"amd64\"}") "]}",
         "manifests[0].platform.os 'linux\x1b[2J' is not a name", TEMPER_E_PARSE},
        {"{\"schemaVersion\":2,\"manifests\":[" IMAGE_ENTRY(LINUX_AMD64) "," IMAGE_ENTRY(
             ",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":7}") "]}",
         "manifests[1].platform.variant is not a string", TEMPER_E_PARSE},
    };
    struct oci_platform_image *images = NULL;
    struct temper_err err;
    size_t n = 0;
    char *many = NULL;
    size_t len = 0;
    FILE *f;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(oci_index_images(bad[i].doc, strlen(bad[i].doc), &images, &n, &err), -1);
        ck_assert_ptr_null(images);
        ck_assert_int_eq(err.code, bad[i].code);
        ck_assert_msg(strstr(err.msg, bad[i].message) != NULL, "%zu: %s", i, err.msg);
    }
    /* one more image than the cap */
    f = open_memstream(&many, &len);
    fputs("{\"schemaVersion\":2,\"manifests\":[", f);
    for (int i = 0; i <= OCI_INDEX_MAX_IMAGES; i++)
        fprintf(f, "%s" IMAGE_ENTRY(LINUX_AMD64), i > 0 ? "," : "");
    fputs("]}", f);
    fclose(f);
    ck_assert_int_eq(oci_index_images(many, len, &images, &n, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    free(many);
#undef IMAGE_ENTRY
#undef LINUX_AMD64
}
END_TEST

START_TEST(test_oci_manifest_parse_refuses_what_is_not_a_manifest)
{
    static const struct {
        const char *doc, *message;
        enum temper_errc code;
    } bad[] = {
        {"", "line 1 column 0", TEMPER_E_PARSE},
        {"[]", "not a JSON object", TEMPER_E_PARSE},
        {"{\"schemaVersion\":1," CONFIG_DESC ",\"layers\":[]}", "schemaVersion is not 2",
         TEMPER_E_PARSE},
        {"{\"schemaVersion\":2,\"schemaVersion\":2," CONFIG_DESC ",\"layers\":[]}", "duplicate",
         TEMPER_E_PARSE},
        {"{\"schemaVersion\":2,\"mediaType\":\"application/"
         "vnd.oci.image.index.v1+json\"," CONFIG_DESC ",\"layers\":[]}",
         "mediaType 'application/vnd.oci.image.index.v1+json' is not an image manifest",
         TEMPER_E_PARSE},
        {"{\"schemaVersion\":2,\"layers\":[]}", "config is missing", TEMPER_E_PARSE},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
         "vnd.dev.cosign.artifact.sig.v1+json\",\"digest\":\"sha256:" D64 "\",\"size\":2},"
         "\"layers\":[]}",
         "config.mediaType 'application/vnd.dev.cosign.artifact.sig.v1+json' is not an image "
         "config",
         TEMPER_E_PARSE},
        {"{\"schemaVersion\":2," CONFIG_DESC "}", "layers is not an array", TEMPER_E_PARSE},
        {"{\"schemaVersion\":2," CONFIG_DESC ",\"layers\":[1]}", "layers[0] is not an object",
         TEMPER_E_PARSE},
        {"{\"schemaVersion\":2," CONFIG_DESC
         ",\"layers\":[{\"mediaType\":\"m\",\"digest\":\"sha256:" D64 "\",\"size\":-1}]}",
         "layers[0].size is not an integer of at least 0", TEMPER_E_PARSE},
        {"{\"schemaVersion\":2," CONFIG_DESC
         ",\"layers\":[{\"mediaType\":\"m\",\"digest\":\"sha256:" D64 "\",\"size\":1.5}]}",
         "layers[0].size is not an integer", TEMPER_E_PARSE},
        {"{\"schemaVersion\":2," CONFIG_DESC
         ",\"layers\":[{\"mediaType\":\"m\",\"digest\":\"sha256:" D64 "\\u0000\",\"size\":1}]}",
         "NUL", TEMPER_E_PARSE},
        {"{\"schemaVersion\":2," CONFIG_DESC
         ",\"layers\":[{\"mediaType\":\"m\",\"digest\":\"sha256:../../x\",\"size\":1}]}",
         "layers[0].digest 'sha256:../../x' is not 'sha256:'", TEMPER_E_PARSE},
        {"{\"schemaVersion\":2," CONFIG_DESC
         ",\"layers\":[{\"mediaType\":7,\"digest\":\"sha256:" D64 "\",\"size\":1}]}",
         "layers[0].mediaType is not a string", TEMPER_E_PARSE},
    };
    struct temper_err err;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct oci_manifest m = {.nlayers = 99};

        ck_assert_msg(oci_manifest_parse(bad[i].doc, strlen(bad[i].doc), &m, &err) == -1, "%s",
                      bad[i].doc);
        ck_assert_int_eq(err.code, bad[i].code);
        ck_assert_msg(strstr(err.msg, bad[i].message) != NULL, "'%s' not in '%s'", bad[i].message,
                      err.msg);
        ck_assert_uint_eq(m.nlayers, 99); /* untouched */
    }
}
END_TEST

START_TEST(test_oci_manifest_parse_caps_the_layers)
{
    size_t cap = 64 + (OCI_MANIFEST_MAX_LAYERS + 1) * (sizeof(LAYER_DESC) + 1) + 200;
    char *doc = malloc(cap);
    size_t len = (size_t)snprintf(doc, cap, "{\"schemaVersion\":2," CONFIG_DESC ",\"layers\":[");
    struct oci_manifest m;
    struct temper_err err;

    for (size_t i = 0; i <= OCI_MANIFEST_MAX_LAYERS; i++)
        len += (size_t)snprintf(doc + len, cap - len, "%s" LAYER_DESC, i > 0 ? "," : "");
    len += (size_t)snprintf(doc + len, cap - len, "]}");
    ck_assert_int_eq(oci_manifest_parse(doc, len, &m, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_ptr_nonnull(strstr(err.msg, "it has 1025 layers, more than 1024"));
    free(doc);
}
END_TEST

START_TEST(test_oci_config_parse_reads_diff_ids)
{
    static const char doc[] = "{\"architecture\":\"amd64\",\"rootfs\":{\"type\":\"layers\","
                              "\"diff_ids\":[\"sha256:" D64 "\"]}}";
    static const struct {
        const char *doc, *message;
    } bad[] = {
        {"{}", "rootfs is not an object"},
        {"{\"rootfs\":{\"type\":\"layer\",\"diff_ids\":[]}}", "rootfs.type is not 'layers'"},
        {"{\"rootfs\":{\"type\":\"layers\"}}", "rootfs.diff_ids is not an array"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[1]}}",
         "rootfs.diff_ids[0] is not a string"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" D64 "\",\"sha256:X\"]}}",
         "rootfs.diff_ids[1] 'sha256:X' is not 'sha256:'"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"rootfs\":{}}", "duplicate"},
    };
    struct oci_config c;
    struct temper_err err;

    ck_assert_msg(oci_config_parse(doc, strlen(doc), &c, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(c.ndiff_ids, 1);
    ck_assert_str_eq(c.diff_ids[0], "sha256:" D64);
    oci_config_release(&c);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(oci_config_parse(bad[i].doc, strlen(bad[i].doc), &c, &err) == -1, "%s",
                      bad[i].doc);
        ck_assert_int_eq(err.code, TEMPER_E_PARSE);
        ck_assert_msg(strstr(err.msg, bad[i].message) != NULL, "'%s' not in '%s'", bad[i].message,
                      err.msg);
    }
}
END_TEST

/* ---- oci_reference_parse: docker's grammar and normalization (distribution's and
 * containers/image's normalize_test.go, reference_test.go and regexp_test.go) ---- */

#define REF_HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

START_TEST(test_oci_reference_parse_normalizes_as_docker_does)
{
    static const struct {
        const char *text, *name, *tag, *digest;
        size_t domain_len;
    } cases[] = {
        {"python", "docker.io/library/python", NULL, NULL, 9},
        {"python:3.11", "docker.io/library/python", "3.11", NULL, 9},
        {"library/python", "docker.io/library/python", NULL, NULL, 9},
        {"docker.io/python", "docker.io/library/python", NULL, NULL, 9},
        {"docker.io/library/python", "docker.io/library/python", NULL, NULL, 9},
        {"index.docker.io/python", "docker.io/library/python", NULL, NULL, 9},
        {"index.docker.io/library/python", "docker.io/library/python", NULL, NULL, 9},
        {"index.docker.io/docker/docker", "docker.io/docker/docker", NULL, NULL, 9},
        {"docker/docker", "docker.io/docker/docker", NULL, NULL, 9},
        {"docker.io/library/foo/bar", "docker.io/library/foo/bar", NULL, NULL, 9},
        {"user/app", "docker.io/user/app", NULL, NULL, 9},
        {"localhost/a", "localhost/a", NULL, NULL, 9},
        {"localhost:5000/a/b", "localhost:5000/a/b", NULL, NULL, 14},
        /* no '/': the port is a tag of docker.io's "localhost" */
        {"localhost:5000", "docker.io/library/localhost", "5000", NULL, 9},
        {"127.0.0.1:5000/acc/tools", "127.0.0.1:5000/acc/tools", NULL, NULL, 14},
        {"127.0.0.1:5000/debian", "127.0.0.1:5000/debian", NULL, NULL, 14},
        {"test.com:8080/foo", "test.com:8080/foo", NULL, NULL, 13},
        {"test-com:8080/foo", "test-com:8080/foo", NULL, NULL, 13},
        {"xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo", NULL, NULL, 17},
        /* a first component without '.' or ':' is docker.io's namespace */
        {"test_com/foo", "docker.io/test_com/foo", NULL, NULL, 9},
        {"hostname/library/busybox:latest", "docker.io/hostname/library/busybox", "latest", NULL,
         9},
        /* the registry keeps its case */
        {"Foo.com/bar", "Foo.com/bar", NULL, NULL, 7},
        {"registry.access.redhat.com/rhel7/rhel:7.2.3", "registry.access.redhat.com/rhel7/rhel",
         "7.2.3", NULL, 26},
        {"busybox:latest@sha256:" REF_HEX64, "docker.io/library/busybox", "latest",
         "sha256:" REF_HEX64, 9},
        {"busybox@sha256:" REF_HEX64, "docker.io/library/busybox", NULL, "sha256:" REF_HEX64, 9},
        {"lowercase:Uppercase", "docker.io/library/lowercase", "Uppercase", NULL, 9},
        {"b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io/test.example.com/my-app",
         "test.example.com", NULL, 8},
        {"registry.io/foo/project--id.module--name.ver---sion--name",
         "registry.io/foo/project--id.module--name.ver---sion--name", NULL, NULL, 11},
        {"example.com/some_separator__underscore/myimage",
         "example.com/some_separator__underscore/myimage", NULL, NULL, 11},
        {"docker.io/" REF_HEX64, "docker.io/library/" REF_HEX64, NULL, NULL, 9},
        {"dock__er/docker", "docker.io/dock__er/docker", NULL, NULL, 9},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct oci_reference ref;
        struct temper_err err = {0};
        char *text;

        ck_assert_msg(oci_reference_parse(cases[i].text, 0, &ref, &err) == 0, "%s: %s",
                      cases[i].text, err.msg);
        ck_assert_str_eq(ref.name, cases[i].name);
        ck_assert_pstr_eq(ref.tag, cases[i].tag);
        ck_assert_pstr_eq(ref.digest, cases[i].digest);
        ck_assert_msg(ref.domain_len == cases[i].domain_len, "%s: domain %zu", cases[i].text,
                      ref.domain_len);
        /* String() parses back to itself (ParseNamed's "canonical") */
        text = oci_reference_string(&ref);
        oci_reference_release(&ref);
        ck_assert_int_eq(oci_reference_parse(text, 0, &ref, &err), 0);
        ck_assert_str_eq(ref.name, cases[i].name);
        oci_reference_release(&ref);
        free(text);
    }
}
END_TEST

START_TEST(test_oci_reference_parse_refuses_what_docker_refuses)
{
    static const char *const bad[] = {
        "",
        "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES",
        "INVALID",
        "Python",
        "FOO/bar",
        "docker/Docker",
        "docker.io/docker/Docker",
        "test:5000/Uppercase/lowercase:tag",
        "https://github.com/docker/docker",
        "-docker",
        "-docker/docker",
        "-docker.io/docker/docker",
        "docker///docker",
        "docker.io/docker///docker",
        REF_HEX64,
        "docker-/docker",
        "____/____",
        "_docker/_docker",
        "dock..er/docker",
        "dock_.er/docker",
        "dock-.er/docker",
        "docker/",
        "aa/asdf$$^/aa",
        "foo.com:http/bar",
        "ab-.com/x",
        "-ab.com/x",
        "ab.-com/x",
        "a.b..c/x",
        "example.com/__underscore/myimage",
        "example.com/..dots/myimage",
        "example.com/.dots/myimage",
        "example.com/nodouble..dots/myimage",
        "docker./docker",
        ".docker/docker",
        "do__cker:8080/docker",
        "[::1]:5000/x",
        "127.0.0.1:5000/",
        "r.example/a//b",
        "r.example/a:bad tag",
        "r.example/a:-x",
        "r.example/a:",
        "r.example/a@",
        "r.example/a@sha256:1234",
        "r.example/a@sha256:" REF_HEX64 "00",
        "r.example/a@md5:" REF_HEX64,
        "r.example/a@SHA256:" REF_HEX64,
        "r.example/a@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
        "@sha256:" REF_HEX64,
        ":justtag",
        "r.ex ample/a",
        "a/a:b/c",
        "a@b@sha256:" REF_HEX64,
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct oci_reference ref = {0};
        struct temper_err err = {0};

        ck_assert_msg(oci_reference_parse(bad[i], 0, &ref, &err) == -1, "took '%s'", bad[i]);
        ck_assert_int_eq(err.code, TEMPER_E_USAGE);
        ck_assert_msg(strstr(err.msg, "is not an image reference") != NULL, "%s", err.msg);
        ck_assert_ptr_null(ref.name);
    }
}
END_TEST

START_TEST(test_oci_reference_parse_counts_the_normalized_name_length)
{
    struct oci_reference ref;
    struct temper_err err;
    char text[400];

    /* "xy.io/" + "a/a/.../a" of 249 bytes: a name of 255, whatever the tag adds */
    memcpy(text, "xy.io/", 6);
    for (size_t i = 6; i < 255; i++)
        text[i] = i % 2 ? '/' : 'a';
    snprintf(text + 255, sizeof(text) - 255, ":tag-puts-this-over-max");
    ck_assert_int_eq(oci_reference_parse(text, 0, &ref, &err), 0);
    ck_assert_uint_eq(strlen(ref.name), 255);
    ck_assert_str_eq(ref.tag, "tag-puts-this-over-max");
    oci_reference_release(&ref);
    snprintf(text + 255, sizeof(text) - 255, "/a");
    ck_assert_int_eq(oci_reference_parse(text, 0, &ref, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "over 255 bytes"));
    /* the normalized name counts: 250 bytes of path become 260 with docker.io/ */
    for (size_t i = 0; i < 250; i++)
        text[i] = i % 2 ? '/' : 'a';
    text[249] = '\0';
    ck_assert_int_eq(oci_reference_parse(text, 0, &ref, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "over 255 bytes"));
}
END_TEST

START_TEST(test_oci_reference_parse_takes_ipv6_only_when_asked)
{
    struct oci_reference ref;
    struct temper_err err;

    ck_assert_int_eq(oci_reference_parse("[::1]:5000/x", 0, &ref, &err), -1);
    ck_assert_int_eq(oci_reference_parse("[::1]:5000/x:t", OCI_REFERENCE_IPV6, &ref, &err), 0);
    ck_assert_str_eq(ref.name, "[::1]:5000/x");
    ck_assert_uint_eq(ref.domain_len, 10);
    ck_assert_str_eq(ref.tag, "t");
    oci_reference_release(&ref);
    ck_assert_int_eq(oci_reference_parse("[fe80::1]/a/b", OCI_REFERENCE_IPV6, &ref, &err), 0);
    oci_reference_release(&ref);
    ck_assert_int_eq(oci_reference_parse("[::g]:5000/x", OCI_REFERENCE_IPV6, &ref, &err), -1);
    ck_assert_int_eq(oci_reference_parse("[::1]x/x", OCI_REFERENCE_IPV6, &ref, &err), -1);
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
    tcase_add_test(tc, test_oci_layout_open_takes_a_directory_left_by_a_killed_build);
    tcase_add_test(tc, test_oci_layout_writers_take_turns_and_clear_what_a_killed_one_left);
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
    tcase_add_test(tc, test_oci_layout_find_tag_skips_signature_tags);
    suite_add_tcase(s, tc);

    tc = tcase_create("oci_tag_is_attached");
    tcase_add_test(tc, test_oci_tag_is_attached_takes_cosign_tags_only);
    tcase_add_test(tc, test_oci_json_check_keys_refuses_what_go_folds_together);
    tcase_add_test(tc, test_oci_json_check_keys_is_linear_in_the_keys);
    tcase_add_test(tc, test_oci_index_find_counts_no_image_among_signatures_only);
    suite_add_tcase(s, tc);

    tc = tcase_create("oci_manifest_put");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_oci_manifest_put_adds_a_tag_without_platform);
    tcase_add_test(tc, test_oci_manifest_put_replaces_a_tag_in_place_on_an_existing_layout);
    tcase_add_test(tc, test_oci_manifest_put_works_on_a_layout_without_blobs);
    tcase_add_test(tc, test_oci_manifest_put_failure_leaves_index_unchanged);
    suite_add_tcase(s, tc);

    tc = tcase_create("oci_image_verify");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_oci_image_verify_accepts_a_built_image);
    tcase_add_test(tc, test_oci_image_verify_accepts_docker_v2_and_manifests_without_media_type);
    tcase_add_test(tc, test_oci_image_verify_names_a_changed_manifest_byte);
    tcase_add_test(tc, test_oci_image_verify_names_a_manifest_size_off_by_one);
    tcase_add_test(tc, test_oci_image_verify_names_a_changed_config_byte);
    tcase_add_test(tc, test_oci_image_verify_names_a_config_size_off_by_one);
    tcase_add_test(tc, test_oci_image_verify_names_a_changed_layer_byte);
    tcase_add_test(tc, test_oci_image_verify_names_a_layer_size_off_by_one);
    tcase_add_test(tc, test_oci_image_verify_names_a_diff_id_that_lies);
    tcase_add_test(tc, test_oci_image_verify_names_a_truncated_layer);
    tcase_add_test(tc, test_oci_image_verify_names_a_missing_blob);
    tcase_add_test(tc, test_oci_image_verify_names_a_diff_id_count_mismatch);
    tcase_add_test(tc, test_oci_image_verify_refuses_a_digest_other_than_sha256);
    tcase_add_test(tc, test_oci_image_verify_names_a_media_type_that_lies);
    suite_add_tcase(s, tc);

    tc = tcase_create("oci_reference_parse");
    tcase_add_test(tc, test_oci_reference_parse_normalizes_as_docker_does);
    tcase_add_test(tc, test_oci_reference_parse_refuses_what_docker_refuses);
    tcase_add_test(tc, test_oci_reference_parse_counts_the_normalized_name_length);
    tcase_add_test(tc, test_oci_reference_parse_takes_ipv6_only_when_asked);
    suite_add_tcase(s, tc);

    tc = tcase_create("oci_manifest_parse");
    tcase_add_test(tc, test_oci_manifest_parse_reads_descriptors);
    tcase_add_test(tc, test_oci_manifest_parse_refuses_what_is_not_a_manifest);
    tcase_add_test(tc, test_oci_manifest_parse_caps_the_layers);
    tcase_add_test(tc, test_oci_config_parse_reads_diff_ids);
    tcase_add_test(tc, test_oci_index_images_refuses_what_is_not_an_index_of_images);
    suite_add_tcase(s, tc);

    tc = tcase_create("oci_index_commit");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_oci_index_commit_names_each_image_with_its_platform);
    tcase_add_test(tc, test_oci_index_commit_refuses_one_platform_twice_and_long_platform_tags);
    tcase_add_test(tc, test_oci_index_put_drops_the_platform_tags_of_a_replaced_index);
    tcase_add_test(tc, test_oci_index_commit_keeps_a_tag_it_did_not_make);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(oci_suite());
}
