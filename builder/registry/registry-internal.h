/*
 * registry-internal: helpers shared inside the registry module, exposed to
 * its unit tests. Not for other modules.
 */
#ifndef TEMPER_REGISTRY_INTERNAL_H
#define TEMPER_REGISTRY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#include "base/error.h"
#include "base/limits.h"
#include "registry_client.h"

/*
 * Finds the credentials for `registry` ("host[:port]") in the text of a
 * docker config.json or a containers auth.json (untrusted: any bytes), in
 * docker's order: the credential helper `credHelpers` names for the host,
 * else the one `credsStore` names (returned in *helper, owned, for
 * registry_credential_helper), else the `auths` entry whose key is that
 * host, with or without a scheme and a path ("https://host/v1/"), or
 * "https://index.docker.io/v1/" for docker.io, whose "auth" is base64 of
 * "username:password". Returns 1 and owned strings when found (a helper, or
 * the username and password), 0 when the file has none for the host, -1 when
 * the file or the entry is malformed (TEMPER_E_PARSE, TEMPER_E_LIMIT), the
 * message never holding any part of a credential.
 */
int registry_docker_auth_parse(const char *json, size_t len, const char *registry, char **username,
                               char **password, char **helper, struct temper_err *err);

/*
 * Asks docker's credential helper `docker-credential-NAME get` (through PATH) for the
 * credentials of `server` (the registry's "host[:port]", "https://index.docker.io/v1/" for
 * docker.io). Returns 1 and owned strings, 0 when the helper has none for it ("credentials
 * not found"), -1 when it cannot run, fails, takes over 60 s, answers over 64 KiB or outside
 * its protocol, or answers an identity token (not exchanged here).
 */
int registry_credential_helper(const char *name, const char *server, char **username,
                               char **password, struct temper_err *err);

/* Whether `host` (without the port; brackets allowed) is loopback: localhost, 127.0.0.0/8, ::1. */
bool registry_host_is_loopback(const char *host);

/*
 * Resolves a Location (of an upload, or a redirect to storage) against the
 * registry's base URL ("https://host:port"). NULL when it is not usable:
 * empty, another scheme, a control character, a fragment, a scheme-relative
 * or relative path, or a move from https to plain http. Owned by the caller.
 */
char *registry_resolve_location(const char *base, const char *location);

/*
 * Resolves an upload Location against the registry's base URL
 * ("https://host:port") and appends "digest=<digest>" with '?' or '&'.
 * NULL when the location is not usable (empty, another scheme, a control
 * character). Owned by the caller.
 */
char *registry_upload_url(const char *base, const char *location, const char *digest);

/*
 * Whether `url` is on the origin of `base` ("https://host[:port]"): same
 * scheme, host and port, compared without case and with default ports
 * made explicit (as curl_url() parses them). Credentials go there only.
 */
bool registry_is_same_origin(const char *base, const char *url);

/*
 * Checks a Bearer challenge's realm before credentials are sent to it
 * (`registry` names the registry in messages): an http(s) URL without
 * userinfo; plain http only on a loopback host, or on the registry's own
 * host when the registry itself is spoken to over plain http (`base`).
 * 0, or -1 with TEMPER_E_AUTH.
 */
int registry_realm_check(const char *base, const char *registry, const char *realm,
                         struct temper_err *err);

/*
 * The repository named by `from` (a --from of a push to `target`): "REPO",
 * or "REGISTRY/REPO" with the target's own registry; docker's rules (a
 * single name on docker.io gets "library/"). An owned string in *out, or
 * -1 with TEMPER_E_USAGE: not a repository, a tag or a digest given, or
 * another registry (blobs mount only within one registry).
 */
int registry_mount_source(const struct registry_ref *target, const char *from, char **out,
                          struct temper_err *err);

/*
 * The seconds a Retry-After value asks to wait, at `now`: delay-seconds
 * ("120"), or an HTTP-date (RFC 9110: "Wed, 21 Oct 2015 07:28:00 GMT",
 * parsed by curl_getdate) made relative to `now`, 0 when already past.
 * -1 when it is neither (the caller backs off instead). Not capped: the
 * caller caps it (REGISTRY_RETRY_AFTER_MAX_S).
 */
long registry_retry_after_s(const char *value, time_t now);

/*
 * The overall deadline of one request, in ms: a fixed allowance for
 * requests without a large body, plus time that grows with the size of a
 * blob upload (REGISTRY_UPLOAD_MIN_BYTES_PER_S), so that a registry
 * trickling bytes cannot hold a push forever.
 */
long registry_request_timeout_ms(uint64_t upload_bytes);

/* ---- transport (registry_http.c) ---- */

enum registry_auth_mode { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct registry_client {
    CURL *curl;
    char *host;       /* "host[:port]" as the reference gives it */
    char *base;       /* "https://host[:port]" */
    char *repository; /* "team/python" */
    char *tag, *digest;
    char **mount_from; /* repositories to mount missing blobs from, in order */
    size_t mount_from_count;
    char *username, *password; /* owned copies, wiped when freed */
    char *token;               /* the bearer token, wiped when replaced or freed */
    enum registry_auth_mode auth;
    bool may_fall_back; /* loopback, no answer over https yet: plain http may be tried */
    bool interrupted;   /* the last failure may pass (unreachable, 5xx): a rerun may complete */
    const char *ca_file;
    bool insecure;
    long connect_timeout_ms, stall_timeout_ms;
    unsigned retries;
    bool read_only;     /* tokens are asked for pull only */
    long timeout_ms;    /* the client's whole time with the registry */
    long give_up_at_ms; /* registry_now_ms() when that time is spent */
    void (*progress)(void *arg, const char *digest, uint64_t sent, uint64_t total);
    void *progress_arg;
    char errbuf[CURL_ERROR_SIZE];
    /* reading back (registry_fetch.c) */
    /* The last manifests find fetched, for the loads after: a verify finds the image, then its
     * signatures, then loads the image's manifest again. */
    struct fetched_manifest {
        char digest[LAYER_DIGEST_LEN]; /* "" when the slot is empty */
        char *bytes;
        size_t len;
    } fetched[REGISTRY_FETCHED_MANIFESTS];
    unsigned fetched_next;       /* the slot the next fetch replaces */
    struct fetch_stream *stream; /* the blob being streamed to a reader, or NULL */
};

/* "<base>/v2/<repository>/<kind>/<what>": the API URL of a blob or manifest. Owned. */
char *registry_api_url(const struct registry_client *c, const char *kind, const char *what);

/* Frees what reading back kept (registry_fetch.c). */
void registry_fetch_release(struct registry_client *c);

/* A request's body: none, bytes in memory, or a file streamed from offset 0. */
struct http_request {
    const char *method; /* "GET", "HEAD", "POST", "PUT", "DELETE" */
    const char *url;
    const char *accept;       /* or NULL */
    const char *content_type; /* or NULL */
    const void *body;         /* in memory, or NULL */
    size_t body_len;
    int fd; /* >= 0: the body is this file's first `fd_size` bytes */
    uint64_t fd_size;
    size_t max_body; /* bytes of the response kept (more is TEMPER_E_LIMIT); 0: the default */
    bool idempotent; /* retried on 429, 5xx and dropped connections */
    const char *progress_digest; /* a blob upload: reported to the client's progress callback */
    /*
     * A download streamed, not kept: a 2xx answer's body goes to sink (which returns -1 to
     * stop the transfer), other answers' bodies to memory as usual. Once a byte went to the
     * sink the request is not retried (the sink cannot take it back).
     */
    int (*sink)(void *arg, const void *data, size_t len);
    void *sink_arg;
    uint64_t download_bytes; /* the size a blob download should have: its deadline grows too */
};

struct http_response {
    long status;
    char *body; /* NUL-terminated, owned; NULL when empty */
    size_t body_len;
    char location[4096]; /* pre-signed storage URLs run to 2 KiB */
    char content_digest[80];
    char www_authenticate[REGISTRY_CHALLENGE_MAX_BYTES + 1];
    char content_type[OCI_MEDIA_TYPE_MAX]; /* without parameters (";charset=...") */
    long retry_after_s;                    /* -1: none */
    int64_t content_length; /* the Content-Length of the answer (of a HEAD too); -1: none */
    bool header_too_long;
    bool body_too_long;
    bool sunk;         /* bytes went to the request's sink */
    bool sink_stopped; /* the sink asked to stop */
    bool transient;    /* on failure: a retry of the whole step could succeed */
    bool tls_failed;   /* the TLS handshake failed (the server may speak plain http) */
};

void http_response_release(struct http_response *resp);

/*
 * Sends `req`, answering a 401 once (Basic with the credentials, or a
 * Bearer token fetched with them; a token refused later is renewed once),
 * and retrying idempotent requests on 429, 5xx and transport errors. 0 with
 * *resp filled for any other final status (the caller checks it), or -1
 * (TEMPER_E_NET, TEMPER_E_AUTH, TEMPER_E_LIMIT) with resp->transient set
 * when the failure may pass and resp->body released (NULL). A 401 from
 * another origin than the registry's (an upload Location elsewhere) is
 * TEMPER_E_AUTH: no credentials go there, and the client's own are kept.
 * Every request has a deadline (registry_request_timeout_ms).
 */
/*
 * For a loopback registry (may_fall_back): one GET /v2/ over plain http, with no credentials
 * (none is sent before a challenge anyway). An HTTP answer other than 400, which is what a TLS
 * server says to plain http, settles the client on http at once; anything else leaves it on
 * https first, as docker does. Setting up TLS loads the system's CA bundle, about 25 ms of a
 * 50 ms push, which a plain-http registry need not pay.
 */
void http_probe_plain(struct registry_client *c);

int http_perform(struct registry_client *c, const struct http_request *req,
                 struct http_response *resp, struct temper_err *err);

/* Sets err from an unexpected status, with the registry's own error code and message. */
int http_status_error(const struct registry_client *c, const char *what,
                      const struct http_response *resp, struct temper_err *err);

/*
 * Sleeps before try number `attempt` (1, 2, ...): Retry-After when given (capped), else
 * backoff; never past the client's whole time.
 */
void http_backoff(const struct registry_client *c, unsigned attempt, long retry_after_s);

/* CLOCK_MONOTONIC in milliseconds. */
long registry_now_ms(void);

#endif
