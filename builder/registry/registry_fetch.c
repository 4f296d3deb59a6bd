/*
 * Reading an image back from a registry, as an oci_source: remote verify
 * and diff walk it exactly as they walk a layout.
 *
 *  - find GETs a manifest with Accept set for the OCI and Docker manifest and
 *    index types; the last two are kept, so that the loads that follow (the
 *    verify of the image after its signatures were found) fetch nothing again;
 *  - load GETs a manifest or a blob into memory, under the caller's cap;
 *  - open streams a blob: a thread of the client's own runs the GET and
 *    writes the body into one end of a socket pair, and the caller reads the
 *    other end as it would read a blob file, so that layer_read_digests (or
 *    libarchive) takes it unchanged and nothing is stored. close joins the
 *    thread and says whether every byte came.
 *
 * Blob GETs follow redirects (registries send blobs from storage elsewhere:
 * a CDN, S3) through registry_resolve_location, so never from https down to
 * http; credentials go to the registry's own origin only (http_perform), not
 * to the storage a redirect names, whose URL carries its own signature.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/sha256.h"
#include "base/xalloc.h"
#include "registry-internal.h"

/* What a manifest GET accepts: images and indexes, OCI and Docker. */
static const char manifest_accept[] = "application/vnd.oci.image.manifest.v1+json, "
                                      "application/vnd.docker.distribution.manifest.v2+json, "
                                      "application/vnd.oci.image.index.v1+json, "
                                      "application/vnd.docker.distribution.manifest.list.v2+json";

/* A blob being streamed to the caller by a thread (open to close). */
struct fetch_stream {
    struct registry_client *client;
    struct oci_descriptor desc;
    pthread_t thread;
    int write_fd;  /* the thread's end of the socket pair; closed by the thread */
    uint64_t sent; /* bytes handed to the reader */
    bool stopped;  /* the reader closed its end first: it knows why */
    bool overrun;  /* the registry sent more than the descriptor's size: cut off there */
    int rc;        /* the transfer's outcome, read after the join */
    struct temper_err err;
};

static bool
is_manifest_type(const char *media_type)
{
    return strstr(media_type, "manifest") != NULL || strstr(media_type, "image.index") != NULL;
}

/* "registry 'host/repo'" for messages. */
static int
name_of(const struct registry_client *c, char *out, size_t cap)
{
    return snprintf(out, cap, "registry '%s/%s'", c->host, c->repository);
}

/*
 * GET `url`, following redirects (at most REGISTRY_REDIRECTS_MAX). *resp holds the final
 * answer, whatever its status; the caller checks it.
 */
static int
get_following(struct registry_client *c, struct http_request *req, struct http_response *resp,
              struct temper_err *err)
{
    cleanup_free char *next = NULL;

    for (unsigned hops = 0;; hops++) {
        char *url;

        if (http_perform(c, req, resp, err) < 0)
            return -1;
        if (resp->status != 301 && resp->status != 302 && resp->status != 303 &&
            resp->status != 307 && resp->status != 308)
            return 0;
        if (hops == REGISTRY_REDIRECTS_MAX)
            return temper_err_set(err, TEMPER_E_NET, 0,
                                  "registry '%s': more than %d redirects for one blob", c->host,
                                  REGISTRY_REDIRECTS_MAX);
        url = registry_resolve_location(c->base, resp->location);
        if (url == NULL)
            return temper_err_set(err, TEMPER_E_NET, 0,
                                  "registry '%s': a redirect to a location temper does not follow "
                                  "(another scheme, plain http from https, or malformed)",
                                  c->host);
        http_response_release(resp);
        free(next);
        req->url = next = url;
    }
}

static int
missing(const struct registry_client *c, const char *what, const char *ref, struct temper_err *err)
{
    char name[OCI_SOURCE_NAME_MAX];

    name_of(c, name, sizeof(name));
    return temper_err_set(err, TEMPER_E_MISSING, 0, "%s has no %s '%s'", name, what, ref);
}

/*
 * The manifest's media type: its own mediaType, which its digest covers, else the Content-Type
 * it came with (an OCI manifest need not name its type; a header is the registry's word only).
 */
static int
manifest_type(const struct registry_client *c, const struct http_response *resp,
              const char *reference, char out[OCI_MEDIA_TYPE_MAX], struct temper_err *err)
{
    json_t *doc = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, NULL);
    const char *member = json_string_value(json_object_get(doc, "mediaType"));
    bool found = false;

    if (member != NULL && member[0] != '\0' && strlen(member) < OCI_MEDIA_TYPE_MAX) {
        snprintf(out, OCI_MEDIA_TYPE_MAX, "%s", member);
        found = true;
    } else if (member == NULL && resp->content_type[0] != '\0' &&
               strcmp(resp->content_type, "application/json") != 0) {
        snprintf(out, OCI_MEDIA_TYPE_MAX, "%s", resp->content_type);
        found = true;
    }
    json_decref(doc);
    if (!found)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "registry '%s': manifest '%s' came without a usable media type, in "
                              "its body or its header",
                              c->host, reference);
    return 0;
}

/* Keeps `bytes` (owned from now on) as the manifest `digest`, in place of the oldest kept. */
static void
keep_manifest(struct registry_client *c, const char *digest, char *bytes, size_t len)
{
    struct fetched_manifest *f = &c->fetched[c->fetched_next];

    free(f->bytes);
    snprintf(f->digest, sizeof(f->digest), "%s", digest);
    f->bytes = bytes;
    f->len = len;
    c->fetched_next = (c->fetched_next + 1) % REGISTRY_FETCHED_MANIFESTS;
}

static const struct fetched_manifest *
kept_manifest(const struct registry_client *c, const char *digest)
{
    for (size_t i = 0; i < REGISTRY_FETCHED_MANIFESTS; i++)
        if (c->fetched[i].bytes != NULL && strcmp(c->fetched[i].digest, digest) == 0)
            return &c->fetched[i];
    return NULL;
}

static int
source_find(void *arg, const char *tag, struct oci_descriptor *out, struct temper_err *err)
{
    struct registry_client *c = arg;
    const char *reference = tag ? tag : c->digest ? c->digest : c->tag ? c->tag : "latest";
    cleanup_free char *url = registry_api_url(c, "manifests", reference);
    struct http_request req = {.method = "GET",
                               .url = url,
                               .fd = -1,
                               .accept = manifest_accept,
                               .max_body = OCI_MANIFEST_MAX_BYTES,
                               .idempotent = true};
    struct http_response resp = {.retry_after_s = -1};
    struct oci_descriptor desc = {.size = 0};
    int rc = 0;

    if (http_perform(c, &req, &resp, err) < 0)
        return temper_err_prefix(err, "manifest '%s'", reference);
    if (resp.status == 404)
        rc = missing(c, "manifest", reference, err);
    else if (resp.status != 200)
        rc = http_status_error(c, "get a manifest", &resp, err);
    else
        rc = manifest_type(c, &resp, reference, desc.media_type, err);
    if (rc < 0) {
        http_response_release(&resp);
        return -1;
    }
    /* by digest: the bytes must hash to it, which oci_source_read checks against desc */
    if (sha256_is_digest(reference))
        snprintf(desc.digest, sizeof(desc.digest), "%s", reference);
    else
        sha256_digest(resp.body ? resp.body : "", resp.body_len, desc.digest);
    desc.size = resp.body_len;
    keep_manifest(c, desc.digest, resp.body ? resp.body : xstrdup(""), resp.body_len);
    resp.body = NULL;
    http_response_release(&resp);
    *out = desc;
    return 0;
}

static int
source_load(void *arg, const struct oci_descriptor *desc, size_t max_bytes, char **out, size_t *len,
            struct temper_err *err)
{
    struct registry_client *c = arg;
    bool manifest = is_manifest_type(desc->media_type);
    cleanup_free char *url = registry_api_url(c, manifest ? "manifests" : "blobs", desc->digest);
    struct http_request req = {.method = "GET",
                               .url = url,
                               .fd = -1,
                               .accept = manifest ? desc->media_type : NULL,
                               .max_body = max_bytes,
                               .idempotent = true};
    struct http_response resp = {.retry_after_s = -1};
    const struct fetched_manifest *kept;
    int rc = 0;

    if (!sha256_is_digest(desc->digest))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s' is not a sha256 digest", desc->digest);
    if (manifest && (kept = kept_manifest(c, desc->digest)) != NULL) {
        if (kept->len > max_bytes)
            return temper_err_set(err, TEMPER_E_LIMIT, 0, "manifest '%s' is over %zu bytes",
                                  desc->digest, max_bytes);
        *out = xmalloc(kept->len + 1);
        memcpy(*out, kept->bytes, kept->len + 1);
        *len = kept->len;
        return 0;
    }
    if (get_following(c, &req, &resp, err) < 0)
        return temper_err_prefix(err, "'%s'", desc->digest);
    if (resp.status == 404)
        rc = missing(c, manifest ? "manifest" : "blob", desc->digest, err);
    else if (resp.status != 200)
        rc = http_status_error(c, manifest ? "get a manifest" : "get a blob", &resp, err);
    if (rc == 0) {
        *out = resp.body ? resp.body : xstrdup("");
        *len = resp.body_len;
        resp.body = NULL;
    }
    http_response_release(&resp);
    return rc;
}

/* Hands a piece of the body to the reader; -1 once the reader has gone. */
static int
to_reader(void *arg, const void *data, size_t len)
{
    struct fetch_stream *s = arg;
    const char *p = data;

    /* more than the descriptor says cannot be the blob: stop, rather than hash an endless body */
    if (len > s->desc.size - s->sent) {
        s->overrun = true;
        return -1;
    }
    s->sent += len;
    while (len > 0) {
        ssize_t n = send(s->write_fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            s->stopped = true; /* EPIPE: the reader closed its end */
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *
stream_thread(void *arg)
{
    struct fetch_stream *s = arg;
    struct registry_client *c = s->client;
    cleanup_free char *url = registry_api_url(c, "blobs", s->desc.digest);
    struct http_request req = {.method = "GET",
                               .url = url,
                               .fd = -1,
                               .idempotent = true,
                               .sink = to_reader,
                               .sink_arg = s,
                               .download_bytes = s->desc.size};
    struct http_response resp = {.retry_after_s = -1};

    s->rc = get_following(c, &req, &resp, &s->err);
    if (s->overrun)
        s->rc = temper_err_set(&s->err, TEMPER_E_SIG, 0,
                               "registry '%s' sends more than the %llu bytes blob '%s' has by its "
                               "descriptor",
                               c->host, (unsigned long long)s->desc.size, s->desc.digest);
    else if (s->rc == 0 && resp.status == 404)
        s->rc = missing(c, "blob", s->desc.digest, &s->err);
    else if (s->rc == 0 && resp.status != 200)
        s->rc = http_status_error(c, "get a blob", &resp, &s->err);
    http_response_release(&resp);
    close(s->write_fd); /* the reader sees the end of the stream */
    return NULL;
}

static int
source_open(void *arg, const struct oci_descriptor *desc, struct temper_err *err)
{
    struct registry_client *c = arg;
    struct fetch_stream *s;
    int pair[2], rc;

    if (c->stream != NULL)
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "registry '%s': one blob at a time is streamed per client", c->host);
    if (!sha256_is_digest(desc->digest))
        return temper_err_set(err, TEMPER_E_PARSE, 0, "'%s' is not a sha256 digest", desc->digest);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
        return temper_err_sys(err, TEMPER_E_IO, errno, "cannot make a socket pair for '%s'",
                              desc->digest);
    s = xcalloc(1, sizeof(*s));
    s->client = c;
    s->desc = *desc;
    s->write_fd = pair[1];
    rc = pthread_create(&s->thread, NULL, stream_thread, s);
    if (rc != 0) {
        close(pair[0]);
        close(pair[1]);
        free(s);
        return temper_err_sys(err, TEMPER_E_IO, rc, "cannot start a thread for '%s'", desc->digest);
    }
    c->stream = s;
    return pair[0];
}

static int
source_close(void *arg, int fd, struct temper_err *err)
{
    struct registry_client *c = arg;
    struct fetch_stream *s = c->stream;
    int rc;

    close(fd); /* a transfer still running stops at its next write */
    if (s == NULL)
        return 0;
    pthread_join(s->thread, NULL);
    rc = s->rc < 0 && !s->stopped ? -1 : 0;
    if (rc < 0)
        *err = s->err;
    free(s);
    c->stream = NULL;
    return rc;
}

static const struct oci_source_ops registry_source_ops = {
    .find = source_find,
    .load = source_load,
    .open = source_open,
    .close = source_close,
};

void
registry_client_source(struct registry_client *c, struct oci_source *out)
{
    out->ops = &registry_source_ops;
    out->arg = c;
    name_of(c, out->name, sizeof(out->name));
}

void
registry_fetch_release(struct registry_client *c)
{
    for (size_t i = 0; i < REGISTRY_FETCHED_MANIFESTS; i++) {
        free(c->fetched[i].bytes);
        c->fetched[i] = (struct fetched_manifest){.bytes = NULL};
    }
}
