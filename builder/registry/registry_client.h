/*
 * registry: an OCI distribution client on libcurl: pushes an image of a
 * layout (and its signatures) to a registry, and reads images back for
 * remote verification.
 *
 * The protocol (OCI distribution spec 1.0): blobs first, each HEADed and
 * skipped when the registry has it, else uploaded with POST
 * /v2/<name>/blobs/uploads/ and one PUT of the bytes, streamed from the
 * file, to the returned Location (absolute or relative, possibly with a
 * query already) with `digest=`; then the manifest, PUT with its media type
 * as Content-Type and its exact bytes, the returned Docker-Content-Digest
 * checked against the local digest; then the signature manifest under its
 * `sha256-<hex>.sig` tag, after its own blobs, merged with the one the
 * registry already has so that earlier signatures stay.
 *
 * Cross-repository mount: with `mount_from` repositories (of the same
 * registry), a blob the target repository lacks is first asked for with
 * POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repo>, each source in
 * turn: 201 means mounted (nothing sent); 202 means the registry started an
 * ordinary upload instead, which is cancelled (DELETE) to try the next
 * source, or, after the last, used to upload the blob.
 *
 * Usage:
 *     registry_ref_parse("registry.example/team/python:1", &ref, &err);
 *     registry_client_new(&ref, &opts, &client, &err);
 *     registry_push(client, layout, &item, &stats, &err);  (item.manifest from
 *                                                 oci_layout_find_tag)
 *     registry_client_free(client); registry_ref_release(&ref);
 *
 * Errors: TEMPER_E_NET (unreachable, or an unexpected status, with the
 * registry's own error code and message), TEMPER_E_AUTH (401/403),
 * TEMPER_E_LIMIT (an answer over a cap of limits.h), TEMPER_E_USAGE.
 *
 * Authentication: anonymous; HTTP Basic; the Bearer token flow
 * (WWW-Authenticate: Bearer realm=..., service=..., scope=... parsed by
 * registry_auth_parse, a token fetched with the credentials, the request
 * retried, the token renewed when refused). Credentials are never printed,
 * and go only to the registry's own origin and the token realm.
 *
 * Transport: TLS verified against the system CAs (or ca_file); plain HTTP
 * only for loopback hosts (after a failed TLS handshake, as docker does) or
 * with plain_http; timeouts on connect and on
 * stalled transfers, and a deadline on every request (growing with the
 * size of a blob upload); retries with backoff for 429 (Retry-After), 5xx and
 * dropped connections on steps that are safe to repeat.
 */
#ifndef TEMPER_REGISTRY_CLIENT_H
#define TEMPER_REGISTRY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "oci/oci_layout.h"

/* REGISTRY/REPO[:TAG|@DIGEST], split. */
struct registry_ref {
    char *registry;   /* "registry.example:5000", "127.0.0.1:5000"; docker.io for none */
    char *repository; /* "team/python" (library/ prepended for docker.io single names) */
    char *tag;        /* or NULL */
    char *digest;     /* "sha256:...", or NULL */
};

/*
 * Parses a reference; TEMPER_E_USAGE says what is wrong with it. The first
 * component is a registry when it holds '.' or ':' or is "localhost"
 * (docker's rule); the repository is lowercase [a-z0-9] parts joined by
 * '/', '.', '_', '-' (at most 255 bytes); a digest must be sha256. Release
 * with registry_ref_release (also after a failure: out is set only on
 * success).
 */
int registry_ref_parse(const char *text, struct registry_ref *out, struct temper_err *err);
void registry_ref_release(struct registry_ref *ref);

struct registry_options {
    const char *username; /* or NULL: anonymous unless the docker config has an entry */
    const char *password; /* borrowed; never printed */
    /* the files to read `auths` from, in order, the first with an entry for the registry
     * winning (podman's auth.json, docker's config.json: one format); NULL-terminated, or NULL */
    const char *const *auth_files;
    const char *ca_file;     /* extra CA bundle, or NULL */
    bool plain_http;         /* allow http:// for a host that is not loopback */
    bool insecure;           /* skip TLS verification (the caller says so on stderr) */
    long connect_timeout_ms; /* 0: 10 s */
    long stall_timeout_ms;   /* a transfer slower than 1 byte/s for this long fails; 0: 30 s */
    unsigned retries;        /* tries after the first, for steps safe to repeat; 0: 4 */
    /* The client's whole time with the registry, retries and waits included: a registry that
     * answers slowly on purpose cannot hold a command for longer; 0: REGISTRY_CLIENT_TIMEOUT_MS */
    long timeout_ms;
    bool read_only; /* reading only (verify, diff): tokens are asked for pull, not push */
    /* Repositories of the same registry to mount missing blobs from, in order ("team/base", or
     * "REGISTRY/team/base" with the target's registry; no tag or digest), at most
     * REGISTRY_MOUNT_FROM_MAX; borrowed. A bad one is TEMPER_E_USAGE from registry_client_new. */
    const char *const *mount_from;
    size_t mount_from_count;
    /* Called as a blob's bytes are sent (sent == total at its end), or NULL; the caller prints
     * (and throttles) it. */
    void (*progress)(void *arg, const char *digest, uint64_t sent, uint64_t total);
    void *progress_arg;
};

struct registry_client;

int registry_client_new(const struct registry_ref *ref, const struct registry_options *opts,
                        struct registry_client **out, struct temper_err *err);
void registry_client_free(struct registry_client *c);

struct registry_push_stats {
    size_t blobs;          /* blobs of the image and its signatures */
    size_t blobs_uploaded; /* of which sent */
    size_t blobs_mounted;  /* of which mounted from another repository (nothing sent) */
    uint64_t bytes_uploaded;
};

struct sign_key;
/* A signature of the pushed image: the payload's bytes and the base64 signature over them. */
struct registry_signature {
    const char *payload;
    size_t len;
    const char *signature;
    /* The key that has just made it, or NULL. A registry signature of the same payload that
     * this key made is the same signature (ECDSA's differ at each signing), so pushing again
     * does not pile them up. */
    const struct sign_key *key;
};

/* An attestation of the pushed image: a DSSE envelope's bytes and its predicate type. */
struct registry_attestation {
    const char *envelope;
    size_t len;
    const char *predicate_type;
};

/* What registry_push sends: a manifest of the layout and what is attached to it. */
struct registry_push_item {
    const struct oci_descriptor *manifest; /* an image manifest, or an image index */
    const struct registry_signature *sigs;
    size_t nsigs;
    const struct registry_attestation *atts;
    size_t natts;
    bool by_digest; /* put under its digest, not the reference's tag: an image of an index */
};

/*
 * Pushes the image `item->manifest` of `layout` (its config and layers, then
 * the manifest under ref's tag, or by digest when ref has none or with
 * by_digest) and, when `sigs` holds any, its signature manifest (the
 * registry's, with those of `sigs` it lacks added; the caller chooses them:
 * the layout's, new ones, or both); and so its attestation manifest with
 * `atts`. An image index is put as it is: the images it names go first, each
 * pushed by_digest. Never a manifest before all its blobs are there. A rerun
 * after an interruption sends only what is missing. With a digest in the
 * reference, it must be the manifest's (TEMPER_E_USAGE). *stats (counted
 * from 0) is set on success only.
 */
int registry_push(struct registry_client *c, struct oci_layout *layout,
                  const struct registry_push_item *item, struct registry_push_stats *stats,
                  struct temper_err *err);

/*
 * The client's repository as an oci_source, for remote verify and diff:
 * find GETs a manifest with Accept set for OCI and Docker manifests and
 * indexes (tag NULL: the reference's digest, else its tag, else "latest");
 * load GETs a manifest or a blob under the caller's cap; open streams a blob
 * (one at a time per client) through a socket pair from a thread, following
 * redirects to storage elsewhere without the credentials. The client must
 * outlive the source.
 */
void registry_client_source(struct registry_client *c, struct oci_source *out);

/*
 * WWW-Authenticate, as untrusted input: the scheme ("Basic" or "Bearer",
 * however it was cased) and realm, service and scope (token or quoted
 * string with backslash escapes; other parameters are skipped). With
 * several challenges, the first. Bounded, fuzzed. 0 on success; another
 * scheme, a Bearer without a realm, bad quoting or a control character is
 * TEMPER_E_PARSE; a header over REGISTRY_CHALLENGE_MAX_BYTES or a value
 * longer than its field TEMPER_E_LIMIT.
 */
struct registry_challenge {
    char scheme[16];
    char realm[1024];
    char service[256];
    char scope[1024];
};
int registry_auth_parse(const char *header, size_t len, struct registry_challenge *out,
                        struct temper_err *err);

#endif
