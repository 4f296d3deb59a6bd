/*
 * Pushing an image of a layout: blobs (HEAD, then POST and one streamed
 * PUT), the manifest as its exact bytes, then its signature manifest merged
 * with the registry's. The transport is in registry_http.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/cleanup.h"
#include "base/curl_lazy.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "registry-internal.h"
#include "sign/signing.h"

static void
wipe_free(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

/* Reads the auth file at `path` (podman's auth.json or docker's config.json) for credentials
 * of c->host; a missing file has none. */
static int
load_auth_file(struct registry_client *c, const char *path, struct temper_err *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    cleanup_free char *text = NULL, *helper = NULL;
    size_t len = 0;
    struct stat st;
    int rc;

    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0 || fstat(fd, &st) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot read auth file '%s'", path);
    if (!S_ISREG(st.st_mode))
        return temper_err_set(err, TEMPER_E_IO, 0, "auth file '%s' is not a regular file", path);
    if (st.st_size > REGISTRY_DOCKER_CONFIG_MAX_BYTES)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "auth file '%s' is over %d bytes", path,
                              REGISTRY_DOCKER_CONFIG_MAX_BYTES);
    text = xmalloc((size_t)st.st_size + 1);
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, text + len, (size_t)st.st_size - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot read auth file '%s'", path);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    rc = registry_docker_auth_parse(text, len, c->host, &c->username, &c->password, &helper, err);
    OPENSSL_cleanse(text, len);
    if (rc > 0 && helper != NULL)
        rc = registry_credential_helper(
            helper, strcmp(c->host, "docker.io") == 0 ? "https://index.docker.io/v1/" : c->host,
            &c->username, &c->password, err);
    if (rc < 0)
        return temper_err_prefix(err, "'%s'", path);
    return 0;
}

/* The host of "host[:port]" or "[v6]:port", without the port. */
static void
host_only(const char *hostport, char *out, size_t cap)
{
    const char *end;
    size_t n;

    if (hostport[0] == '[') {
        end = strchr(hostport, ']');
        n = end != NULL ? (size_t)(end - hostport) + 1 : strlen(hostport);
    } else {
        end = strrchr(hostport, ':');
        n = end != NULL ? (size_t)(end - hostport) : strlen(hostport);
    }
    if (n >= cap)
        n = 0;
    memcpy(out, hostport, n);
    out[n] = '\0';
}

int
registry_client_new(const struct registry_ref *ref, const struct registry_options *opts,
                    struct registry_client **out, struct temper_err *err)
{
    struct registry_client *c;
    char host[256];
    bool plain;

    if (curl_lazy_load(err) < 0)
        return -1;
    /* reference-counted by libcurl: registry_client_free calls curl_global_cleanup */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return temper_err_set(err, TEMPER_E_NET, 0, "cannot initialise libcurl");
    host_only(ref->registry, host, sizeof(host));
    /* a loopback registry may speak plain http: https is tried first (as docker does) */
    plain = opts->plain_http;
    c = xcalloc(1, sizeof(*c));
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        free(c);
        curl_global_cleanup();
        return temper_err_set(err, TEMPER_E_NET, 0, "cannot initialise libcurl");
    }
    c->host = xstrdup(ref->registry);
    /* docker.io's API lives on registry-1.docker.io */
    c->base =
        xasprintf("%s://%s", plain ? "http" : "https",
                  strcmp(ref->registry, "docker.io") == 0 ? "registry-1.docker.io" : ref->registry);
    c->may_fall_back = !plain && registry_host_is_loopback(host);
    c->repository = xstrdup(ref->repository);
    c->tag = ref->tag ? xstrdup(ref->tag) : NULL;
    c->digest = ref->digest ? xstrdup(ref->digest) : NULL;
    c->ca_file = opts->ca_file;
    c->insecure = opts->insecure;
    c->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 10000;
    c->stall_timeout_ms = opts->stall_timeout_ms > 0 ? opts->stall_timeout_ms : 30000;
    c->retries = opts->retries > 0 ? opts->retries : 4;
    c->read_only = opts->read_only;
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : REGISTRY_CLIENT_TIMEOUT_MS;
    c->give_up_at_ms = registry_now_ms() + c->timeout_ms;
    c->progress = opts->progress;
    c->progress_arg = opts->progress_arg;
    if (opts->mount_from_count > REGISTRY_MOUNT_FROM_MAX) {
        registry_client_free(c);
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "more than %d repositories to mount from; name the likeliest",
                              REGISTRY_MOUNT_FROM_MAX);
    }
    c->mount_from = xcalloc(opts->mount_from_count + 1, sizeof(*c->mount_from));
    for (; c->mount_from_count < opts->mount_from_count; c->mount_from_count++) {
        if (registry_mount_source(ref, opts->mount_from[c->mount_from_count],
                                  &c->mount_from[c->mount_from_count], err) < 0) {
            registry_client_free(c);
            return -1;
        }
    }
    if (opts->username != NULL) {
        c->username = xstrdup(opts->username);
        c->password = xstrdup(opts->password ? opts->password : "");
    } else {
        for (size_t i = 0;
             opts->auth_files != NULL && opts->auth_files[i] != NULL && c->username == NULL; i++) {
            if (load_auth_file(c, opts->auth_files[i], err) < 0) {
                registry_client_free(c);
                return -1;
            }
        }
    }
    if (c->may_fall_back)
        http_probe_plain(c);
    *out = c;
    return 0;
}

void
registry_client_free(struct registry_client *c)
{
    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    free(c->host);
    free(c->base);
    free(c->repository);
    free(c->tag);
    free(c->digest);
    registry_fetch_release(c);
    for (size_t i = 0; i < c->mount_from_count; i++)
        free(c->mount_from[i]);
    free(c->mount_from);
    wipe_free(c->username);
    wipe_free(c->password);
    wipe_free(c->token);
    free(c);
    curl_global_cleanup();
}

/* http_perform, noting whether a failure was one that may pass (the registry down, a 5xx). */
static int
perform(struct registry_client *c, const struct http_request *req, struct http_response *resp,
        struct temper_err *err)
{
    int rc = http_perform(c, req, resp, err);

    c->interrupted = rc < 0 && resp->transient;
    return rc;
}

char *
registry_api_url(const struct registry_client *c, const char *kind, const char *what)
{
    return xasprintf("%s/v2/%s/%s/%s", c->base, c->repository, kind, what);
}

/*
 * 1 when the registry has blob `digest` of `size` bytes, 0 when not. A 200 whose Content-Length
 * or Docker-Content-Digest names other bytes counts as not there: the blob is uploaded again.
 */
static int
blob_exists(struct registry_client *c, const char *digest, uint64_t size, struct temper_err *err)
{
    cleanup_free char *url = registry_api_url(c, "blobs", digest);
    struct http_request req = {.method = "HEAD", .url = url, .fd = -1, .idempotent = true};
    struct http_response resp = {.retry_after_s = -1};
    int rc;

    if (perform(c, &req, &resp, err) < 0)
        return temper_err_prefix(err, "blob '%s'", digest);
    rc = resp.status == 200 ? 1 : resp.status == 404 ? 0 : -1;
    if (rc == 1 && ((resp.content_length >= 0 && (uint64_t)resp.content_length != size) ||
                    (resp.content_digest[0] != '\0' && strcmp(resp.content_digest, digest) != 0)))
        rc = 0;
    if (rc < 0)
        http_status_error(c, "HEAD blob", &resp, err);
    http_response_release(&resp);
    return rc;
}

/*
 * POST an upload (unless `started` names one the registry began already), then PUT the bytes
 * (from fd, or from memory) with the digest.
 */
static int
upload_once(struct registry_client *c, const char *digest, int fd, const void *bytes, uint64_t size,
            const char *started, bool *transient, struct temper_err *err)
{
    cleanup_free char *url = xasprintf("%s/v2/%s/blobs/uploads/", c->base, c->repository);
    cleanup_free char *put_url = NULL;
    struct http_request post = {.method = "POST", .url = url, .fd = -1};
    struct http_request put = {.method = "PUT",
                               .fd = fd,
                               .fd_size = size,
                               .body = bytes,
                               .body_len = (size_t)size,
                               .content_type = "application/octet-stream",
                               .progress_digest = digest};
    struct http_response resp = {.retry_after_s = -1};
    int rc = -1;

    *transient = false;
    if (started != NULL && started[0] != '\0') {
        resp.status = 202;
        snprintf(resp.location, sizeof(resp.location), "%s", started);
    } else if (perform(c, &post, &resp, err) < 0) {
        *transient = resp.transient;
        goto out;
    }
    if (resp.status != 202) {
        *transient = resp.transient;
        http_status_error(c, "start an upload", &resp, err);
        goto out;
    }
    put_url = registry_upload_url(c->base, resp.location, digest);
    if (put_url == NULL) {
        char shown[320];

        /* shown without its query, which may sign the URL */
        resp.location[strcspn(resp.location, "?")] = '\0';
        temper_err_set(err, TEMPER_E_NET, 0,
                       "registry '%s' gave no usable upload Location '%s' (a relative path or "
                       "an http(s) URL, no fragment, no plain http after https)",
                       c->host, temper_printable(resp.location, shown, sizeof(shown)));
        goto out;
    }
    put.url = put_url;
    if (perform(c, &put, &resp, err) < 0) {
        *transient = resp.transient;
        goto out;
    }
    if (resp.status != 201) {
        *transient = resp.transient;
        http_status_error(c, "upload", &resp, err);
        goto out;
    }
    if (resp.content_digest[0] != '\0' && strcmp(resp.content_digest, digest) != 0) {
        char shown[84];

        temper_err_set(err, TEMPER_E_NET, 0, "registry '%s' stored the blob as '%s'", c->host,
                       temper_printable(resp.content_digest, shown, sizeof(shown)));
        goto out;
    }
    rc = 0;
out:
    http_response_release(&resp);
    return rc;
}

/* Cancels an upload the registry started (a mount it did not do): best effort. */
static void
cancel_upload(struct registry_client *c, const char *location)
{
    cleanup_free char *url = registry_upload_url(c->base, location, "");
    struct http_request req = {.method = "DELETE", .fd = -1};
    struct http_response resp = {.retry_after_s = -1};
    struct temper_err ignored;

    if (url == NULL)
        return;
    /* registry_upload_url appended "[?&]digest=": not part of the upload's own URL */
    url[strlen(url) - strlen("digest=") - 1] = '\0';
    req.url = url;
    http_perform(c, &req, &resp, &ignored); /* a failure here changes nothing */
    http_response_release(&resp);
}

/*
 * Asks the registry to mount `digest` from each repository of c->mount_from in turn: 1 when one
 * did (201), 0 when none did, with `started` the upload the registry began instead after the
 * last (202; empty when it began none), -1 on a failure to reach it.
 */
static int
mount_blob(struct registry_client *c, const char *digest, char *started, size_t cap,
           struct temper_err *err)
{
    started[0] = '\0';
    for (size_t i = 0; i < c->mount_from_count; i++) {
        cleanup_free char *url = xasprintf("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", c->base,
                                           c->repository, digest, c->mount_from[i]);
        /* a second try of a mount asks the same again; an upload left begun expires */
        struct http_request req = {.method = "POST", .url = url, .fd = -1, .idempotent = true};
        struct http_response resp = {.retry_after_s = -1};
        bool mounted;

        if (perform(c, &req, &resp, err) < 0)
            return temper_err_prefix(err, "mount from '%s'", c->mount_from[i]);
        mounted = resp.status == 201 &&
                  (resp.content_digest[0] == '\0' || strcmp(resp.content_digest, digest) == 0);
        if (resp.status == 202 && resp.location[0] != '\0') {
            if (i + 1 < c->mount_from_count)
                cancel_upload(c, resp.location); /* as docker does before the next source */
            else if (strlen(resp.location) < cap)
                memcpy(started, resp.location, strlen(resp.location) + 1);
        }
        http_response_release(&resp);
        if (mounted)
            return 1;
        /* anything else (202, or a registry without mounts): the next source, then an upload */
    }
    return 0;
}

/*
 * Uploads one blob (or mounts it from another repository: *mounted), restarting from the POST
 * when a try fails in a way that may pass.
 */
static int
upload_blob(struct registry_client *c, const char *digest, int fd, const void *bytes, uint64_t size,
            bool *mounted, struct temper_err *err)
{
    char started[sizeof(((struct http_response *)NULL)->location)];
    unsigned attempt = 0;
    int rc;

    *mounted = false;
    rc = mount_blob(c, digest, started, sizeof(started), err);
    if (rc < 0)
        return temper_err_prefix(err, "blob '%s'", digest);
    if (rc == 1) {
        *mounted = true;
        return 0;
    }
    for (;;) {
        bool transient;

        if (upload_once(c, digest, fd, bytes, size, attempt == 0 ? started : NULL, &transient,
                        err) == 0)
            return 0;
        if (!transient || attempt >= c->retries) {
            c->interrupted = transient;
            return temper_err_prefix(err, "blob '%s'", digest);
        }
        attempt++;
        http_backoff(c, attempt, -1);
    }
}

/* Counts a blob sent (or mounted). */
static void
count_sent(struct registry_push_stats *stats, bool mounted, uint64_t size)
{
    if (mounted) {
        stats->blobs_mounted++;
        return;
    }
    stats->blobs_uploaded++;
    stats->bytes_uploaded += size;
}

/* Opens blob `digest` of the layout, checking it has the size its descriptor says. */
static int
open_layout_blob(struct oci_layout *layout, const char *digest, uint64_t size,
                 struct temper_err *err)
{
    cleanup_close int fd = oci_blob_open_read(layout, digest, err);
    struct stat st;

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != size)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "blob '%s' is not the %llu bytes its descriptor says: the layout "
                              "is damaged",
                              digest, (unsigned long long)size);
    return steal_fd(&fd);
}

/* Uploads (or mounts) one blob of the layout that the registry lacks. */
static int
upload_layout_blob(struct registry_client *c, struct oci_layout *layout, const char *digest,
                   uint64_t size, struct registry_push_stats *stats, struct temper_err *err)
{
    cleanup_close int fd = open_layout_blob(layout, digest, size, err);
    bool mounted;

    if (fd < 0 || upload_blob(c, digest, fd, NULL, size, &mounted, err) < 0)
        return -1;
    count_sent(stats, mounted, size);
    return 0;
}

/* Pushes one blob of the layout unless the registry has it. */
static int
push_layout_blob(struct registry_client *c, struct oci_layout *layout, const char *digest,
                 uint64_t size, struct registry_push_stats *stats, struct temper_err *err)
{
    int has = blob_exists(c, digest, size, err);

    if (has < 0)
        return -1;
    stats->blobs++;
    return has == 1 ? 0 : upload_layout_blob(c, layout, digest, size, stats, err);
}

/* Pushes blob bytes held in memory unless the registry has them. */
static int
push_memory_blob(struct registry_client *c, const char *bytes, size_t len,
                 struct registry_push_stats *stats, struct temper_err *err)
{
    char digest[LAYER_DIGEST_LEN];
    bool mounted;
    int has;

    sha256_digest(bytes, len, digest);
    has = blob_exists(c, digest, len, err);
    if (has < 0)
        return -1;
    stats->blobs++;
    if (has == 1)
        return 0;
    if (upload_blob(c, digest, -1, bytes, len, &mounted, err) < 0)
        return -1;
    count_sent(stats, mounted, len);
    return 0;
}

/* A descriptor of a manifest: a sha256 digest and a size. */
static int
descriptor_of(const json_t *d, const char **digest, uint64_t *size, struct temper_err *err)
{
    json_t *s = json_object_get(d, "size");

    *digest = json_string_value(json_object_get(d, "digest"));
    if (*digest == NULL || !sha256_is_digest(*digest) || !json_is_integer(s) ||
        json_integer_value(s) < 0)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "a descriptor without a sha256 digest and a size");
    *size = (uint64_t)json_integer_value(s);
    return 0;
}

/* Pushes the config and layers a manifest (JSON) names, but `skip` (pushed apart), if any. */
static int
push_manifest_blobs(struct registry_client *c, struct oci_layout *layout, const json_t *manifest,
                    const char *skip, struct registry_push_stats *stats, struct temper_err *err)
{
    const json_t *layers = json_object_get(manifest, "layers"), *layer;
    const char *digest = NULL;
    uint64_t size = 0;
    size_t i;

    if (!json_is_array(layers) || json_array_size(layers) > OCI_MANIFEST_MAX_LAYERS)
        return temper_err_set(err, TEMPER_E_PARSE, 0, "the manifest has no usable list of layers");
    if (descriptor_of(json_object_get(manifest, "config"), &digest, &size, err) < 0 ||
        push_layout_blob(c, layout, digest, size, stats, err) < 0)
        return -1;
    json_array_foreach(layers, i, layer)
    {
        if (descriptor_of(layer, &digest, &size, err) < 0)
            return -1;
        if (skip != NULL && strcmp(digest, skip) == 0)
            continue;
        if (push_layout_blob(c, layout, digest, size, stats, err) < 0)
            return -1;
    }
    return 0;
}

/* PUT manifest bytes under `reference` and check the digest the registry computed. */
static int
put_manifest(struct registry_client *c, const char *reference, const char *media_type,
             const char *bytes, size_t len, struct temper_err *err)
{
    cleanup_free char *url = registry_api_url(c, "manifests", reference);
    char digest[LAYER_DIGEST_LEN];
    struct http_request req = {.method = "PUT",
                               .url = url,
                               .fd = -1,
                               .body = bytes,
                               .body_len = len,
                               .content_type = media_type,
                               .idempotent = true};
    struct http_response resp = {.retry_after_s = -1};
    char shown[84];
    int rc = 0;

    sha256_digest(bytes, len, digest);
    if (perform(c, &req, &resp, err) < 0)
        return temper_err_prefix(err, "manifest '%s'", reference);
    if (resp.status != 201)
        rc = http_status_error(c, "put the manifest", &resp, err);
    else if (resp.content_digest[0] != '\0' && strcmp(resp.content_digest, digest) != 0)
        rc = temper_err_set(
            err, TEMPER_E_SIG, 0, "registry '%s' stored manifest '%s' as '%s', not '%s'", c->host,
            reference, temper_printable(resp.content_digest, shown, sizeof(shown)), digest);
    http_response_release(&resp);
    return rc < 0 ? temper_err_prefix(err, "manifest '%s'", reference) : 0;
}

/* The registry's manifest under `reference`, or NULL (0) when it has none. */
static int
get_manifest(struct registry_client *c, const char *reference, json_t **out, struct temper_err *err)
{
    cleanup_free char *url = registry_api_url(c, "manifests", reference);
    struct http_request req = {.method = "GET",
                               .url = url,
                               .fd = -1,
                               .accept = OCI_MEDIA_TYPE_MANIFEST,
                               .max_body = SIGN_MANIFEST_MAX_BYTES,
                               .idempotent = true};
    struct http_response resp = {.retry_after_s = -1};
    int rc = 0;

    *out = NULL;
    if (perform(c, &req, &resp, err) < 0)
        return temper_err_prefix(err, "manifest '%s'", reference);
    if (resp.status == 200) {
        *out = json_loadb(resp.body ? resp.body : "", resp.body_len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(*out) || !json_is_array(json_object_get(*out, "layers"))) {
            json_decref(*out);
            *out = NULL;
            rc = temper_err_set(err, TEMPER_E_PARSE, 0,
                                "registry '%s': manifest '%s' is not an image manifest", c->host,
                                reference);
        }
    } else if (resp.status != 404) {
        rc = http_status_error(c, "get a manifest", &resp, err);
    }
    http_response_release(&resp);
    return rc;
}

/* Whether `layers` holds a signature of `sig`'s payload that `sig`'s key made. */
static bool
signed_before(const json_t *layers, const struct registry_signature *sig, const json_t *layer)
{
    const char *digest = json_string_value(json_object_get(layer, "digest"));
    const json_t *l;
    size_t i;

    if (sig->key == NULL)
        return false;
    json_array_foreach(layers, i, l)
    {
        const char *d = json_string_value(json_object_get(l, "digest"));
        const char *b64 =
            json_string_value(json_object_get(json_object_get(l, "annotations"), SIGN_ANNOTATION));
        struct temper_err why;

        if (d != NULL && b64 != NULL && strcmp(d, digest) == 0 &&
            sign_verify_bytes(sig->key, sig->payload, sig->len, b64, &why) == 0)
            return true;
    }
    return false;
}

/* What a push attaches to the image under one tag: signatures (.sig) or attestations (.att). */
struct attached {
    char tag[80];
    const char *what;
    json_t *layers;     /* one per blob */
    const char **blobs; /* the layers' blobs */
    size_t *lens, n;
    const struct registry_signature *sigs; /* signatures: `n` of them; else NULL */
};

/*
 * The manifest to put under the tag: the registry's layers, then those of `a` it lacks, its
 * config pushed here. *text NULL when the registry has every one of them already.
 */
static int
merge_attached(struct registry_client *c, const json_t *remote, const struct attached *a,
               char **text, struct registry_push_stats *stats, struct temper_err *err)
{
    json_t *layers = remote != NULL ? json_deep_copy(json_object_get(remote, "layers")) : NULL;
    cleanup_free char *config = NULL;
    size_t before;
    int rc;

    *text = NULL;
    if (!json_is_array(layers)) {
        json_decref(layers);
        layers = json_array();
    }
    before = json_array_size(layers);
    for (size_t i = 0; i < a->n; i++) {
        json_t *layer = json_array_get(a->layers, i);

        if (!sign_has_layer(layers, layer) &&
            (a->sigs == NULL || !signed_before(layers, &a->sigs[i], layer)))
            json_array_append(layers, layer);
    }
    if (json_array_size(layers) > SIGN_LAYERS_MAX) {
        json_decref(layers);
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "more than %d %s", SIGN_LAYERS_MAX, a->what);
    }
    rc =
        json_array_size(layers) == before ? 0 : sign_signature_manifest(layers, &config, text, err);
    json_decref(layers);
    if (rc == 0 && config != NULL && push_memory_blob(c, config, strlen(config), stats, err) < 0)
        rc = -1;
    if (rc < 0) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

/* Whether blob i of `a` is the same as an earlier one: two signatures by two keys for one
 * identity share their payload, which is one blob, sent and counted once. */
static bool
same_as_earlier(const struct attached *a, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (a->lens[k] == a->lens[i] && memcmp(a->blobs[k], a->blobs[i], a->lens[i]) == 0)
            return true;
    return false;
}

/*
 * The blobs of what is attached under a tag, and the config of its manifest merged with the
 * registry's, which goes to *merged (NULL when the registry has every one already), to be put
 * once the image's manifest is (put_attached).
 */
static int
push_attached_blobs(struct registry_client *c, const struct attached *a, char **merged,
                    struct registry_push_stats *stats, struct temper_err *err)
{
    json_t *remote = NULL;
    int rc = 0;

    *merged = NULL;
    if (a->n == 0)
        return 0;
    for (size_t i = 0; i < a->n && rc == 0; i++)
        rc = same_as_earlier(a, i) ? 0 : push_memory_blob(c, a->blobs[i], a->lens[i], stats, err);
    if (rc == 0)
        rc = get_manifest(c, a->tag, &remote, err);
    if (rc == 0)
        rc = merge_attached(c, remote, a, merged, stats, err);
    json_decref(remote);
    return rc < 0 ? temper_err_prefix(err, "%s '%s'", a->what, a->tag) : 0;
}

static int
put_attached(struct registry_client *c, const struct attached *a, const char *merged,
             struct temper_err *err)
{
    if (merged == NULL)
        return 0;
    if (put_manifest(c, a->tag, OCI_MEDIA_TYPE_MANIFEST, merged, strlen(merged), err) < 0)
        return temper_err_prefix(err, "%s '%s'", a->what, a->tag);
    return 0;
}

/* The signatures (sigs) or attestations (atts) of `digest` as what is attached under a tag. */
static void
attached_init(struct attached *a, const char *digest, const struct registry_signature *sigs,
              const struct registry_attestation *atts, size_t n)
{
    *a = (struct attached){.what = sigs != NULL ? "signatures" : "attestations",
                           .layers = json_array(),
                           .blobs = xcalloc(n + 1, sizeof(*a->blobs)),
                           .lens = xcalloc(n + 1, sizeof(*a->lens)),
                           .n = n,
                           .sigs = sigs};
    if (sigs != NULL)
        sign_tag_of(digest, a->tag);
    else
        sign_attestation_tag_of(digest, a->tag);
    for (size_t i = 0; i < n; i++) {
        a->blobs[i] = sigs != NULL ? sigs[i].payload : atts[i].envelope;
        a->lens[i] = sigs != NULL ? sigs[i].len : atts[i].len;
        json_array_append_new(
            a->layers,
            sigs != NULL
                ? sign_signature_layer(sigs[i].payload, sigs[i].len, sigs[i].signature)
                : sign_attestation_layer(atts[i].envelope, atts[i].len, atts[i].predicate_type));
    }
}

static void
attached_release(struct attached *a)
{
    json_decref(a->layers);
    free(a->blobs);
    free(a->lens);
}

/*
 * The layer of a one-layer image (every image temper builds), when the registry lacks it, is
 * uploaded on a second connection (a clone of the client, in a thread) while the first pushes
 * the config and the signature blobs: on a cold push the registry spends most of the time
 * storing the layer, and the small blobs' round trips fit inside it. Not with a Bearer token: a
 * token server may keep one token valid at a time, and two connections renewing theirs would
 * take it from each other.
 */
struct layer_job {
    struct registry_client *clone; /* NULL: no upload in the background */
    pthread_t thread;
    char digest[LAYER_DIGEST_LEN]; /* "": not a one-layer image */
    uint64_t size;
    int fd;
    bool mounted;
    int rc;
    struct temper_err err;
};

static void *
layer_job_run(void *arg)
{
    struct layer_job *j = arg;

    j->rc = upload_blob(j->clone, j->digest, j->fd, NULL, j->size, &j->mounted, &j->err);
    return NULL;
}

/* A client of its own (easy handle, credentials, token) for the same registry and repository. */
static struct registry_client *
client_clone(const struct registry_client *c)
{
    struct registry_client *k;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    k = xcalloc(1, sizeof(*k));
    k->curl = curl_easy_init();
    if (k->curl == NULL) {
        free(k);
        curl_global_cleanup();
        return NULL;
    }
    k->host = xstrdup(c->host);
    k->base = xstrdup(c->base);
    k->repository = xstrdup(c->repository);
    k->mount_from = xcalloc(c->mount_from_count + 1, sizeof(*k->mount_from));
    for (; k->mount_from_count < c->mount_from_count; k->mount_from_count++)
        k->mount_from[k->mount_from_count] = xstrdup(c->mount_from[k->mount_from_count]);
    k->username = c->username ? xstrdup(c->username) : NULL;
    k->password = c->password ? xstrdup(c->password) : NULL;
    k->auth = c->auth;
    k->may_fall_back = c->may_fall_back;
    k->ca_file = c->ca_file;
    k->insecure = c->insecure;
    k->connect_timeout_ms = c->connect_timeout_ms;
    k->stall_timeout_ms = c->stall_timeout_ms;
    k->retries = c->retries;
    k->read_only = c->read_only;
    k->timeout_ms = c->timeout_ms;
    k->give_up_at_ms = c->give_up_at_ms;
    k->progress = c->progress;
    k->progress_arg = c->progress_arg;
    return k;
}

/*
 * HEADs the layer of a one-layer image (counted here); when the registry lacks it, starts its
 * upload in the background, or, when that cannot be, uploads it now.
 */
static int
layer_job_start(struct registry_client *c, struct oci_layout *layout, const json_t *manifest,
                struct layer_job *job, struct registry_push_stats *stats, struct temper_err *err)
{
    const json_t *layers = json_object_get(manifest, "layers");
    const char *digest;
    int has;

    job->fd = -1;
    if (json_array_size(layers) != 1 ||
        descriptor_of(json_array_get(layers, 0), &digest, &job->size, err) < 0)
        return 0; /* push_manifest_blobs pushes it, or says what is wrong */
    has = blob_exists(c, digest, job->size, err);
    if (has < 0)
        return -1;
    snprintf(job->digest, sizeof(job->digest), "%s", digest);
    stats->blobs++;
    if (has == 1)
        return 0;
    if (c->auth == AUTH_BEARER || (job->clone = client_clone(c)) == NULL)
        return upload_layout_blob(c, layout, digest, job->size, stats, err);
    job->fd = open_layout_blob(layout, digest, job->size, err);
    if (job->fd >= 0 && pthread_create(&job->thread, NULL, layer_job_run, job) == 0) {
        c->progress = NULL; /* the layer's progress only, from the thread */
        return 0;
    }
    registry_client_free(job->clone);
    job->clone = NULL;
    if (job->fd < 0)
        return -1;
    close(job->fd);
    job->fd = -1;
    return upload_layout_blob(c, layout, digest, job->size, stats, err);
}

/* Waits for the layer's upload; its failure is the push's unless `err` holds one already. */
static int
layer_job_finish(struct registry_client *c, struct layer_job *job, bool failed,
                 struct registry_push_stats *stats, struct temper_err *err)
{
    int rc = 0;

    if (job->clone == NULL)
        return 0;
    pthread_join(job->thread, NULL);
    close(job->fd);
    c->progress = job->clone->progress;
    if (job->rc == 0) {
        count_sent(stats, job->mounted, job->size);
    } else if (!failed) {
        *err = job->err;
        c->interrupted = job->clone->interrupted;
        rc = -1;
    }
    registry_client_free(job->clone);
    job->clone = NULL;
    return rc;
}

/* Names the push in a failure and, for one that may pass (the registry down), says what to do. */
static int
push_failed(const struct registry_client *c, struct temper_err *err)
{
    size_t n;

    temper_err_prefix(err, "push to '%s/%s'", c->host, c->repository);
    n = strlen(err->msg);
    if (c->interrupted && n < sizeof(err->msg))
        snprintf(err->msg + n, sizeof(err->msg) - n,
                 "; once the registry answers again, rerun the push: the blobs it has already "
                 "are not sent again");
    return -1;
}

int
registry_push(struct registry_client *c, struct oci_layout *layout,
              const struct registry_push_item *item, struct registry_push_stats *stats,
              struct temper_err *err)
{
    const struct oci_descriptor *manifest = item->manifest;
    /* an index names manifests, which its caller pushed first; an image, blobs */
    bool has_blobs = !oci_is_image_index(manifest->media_type);
    struct registry_push_stats s = {0};
    struct layer_job job = {0};
    struct attached signed_by, attested;
    cleanup_free char *raw = NULL, *signatures = NULL, *attestations = NULL;
    json_t *doc;
    size_t len;
    int rc;

    if (!item->by_digest && c->digest != NULL && strcmp(c->digest, manifest->digest) != 0)
        return temper_err_set(err, TEMPER_E_USAGE, 0, "the reference names '%s', the image is '%s'",
                              c->digest, manifest->digest);
    if (oci_blob_read(layout, manifest->digest, OCI_MANIFEST_MAX_BYTES, &raw, &len, err) < 0)
        return -1;
    doc = json_loadb(raw, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return temper_err_set(err, TEMPER_E_PARSE, 0, "manifest '%s' is not JSON",
                              manifest->digest);
    }
    attached_init(&signed_by, manifest->digest, item->sigs, NULL, item->nsigs);
    attached_init(&attested, manifest->digest, NULL, item->atts, item->natts);
    /* blobs first (the layer perhaps in the background), then the manifests */
    rc = has_blobs ? layer_job_start(c, layout, doc, &job, &s, err) : 0;
    if (rc == 0 && has_blobs)
        rc = push_manifest_blobs(c, layout, doc, job.digest[0] ? job.digest : NULL, &s, err);
    if (rc == 0)
        rc = push_attached_blobs(c, &signed_by, &signatures, &s, err);
    if (rc == 0)
        rc = push_attached_blobs(c, &attested, &attestations, &s, err);
    if (layer_job_finish(c, &job, rc < 0, &s, err) < 0)
        rc = -1;
    json_decref(doc);
    if (rc == 0 && (put_manifest(c, c->tag != NULL && !item->by_digest ? c->tag : manifest->digest,
                                 manifest->media_type[0] != '\0' ? manifest->media_type
                                                                 : OCI_MEDIA_TYPE_MANIFEST,
                                 raw, len, err) < 0 ||
                    put_attached(c, &signed_by, signatures, err) < 0 ||
                    put_attached(c, &attested, attestations, err) < 0))
        rc = -1;
    attached_release(&signed_by);
    attached_release(&attested);
    if (rc < 0)
        return push_failed(c, err);
    *stats = s;
    return 0;
}
