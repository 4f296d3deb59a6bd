/*
 * The transport of the registry client: one libcurl easy handle, reset for
 * every request, with TLS verification, timeouts and no redirects; response
 * headers and bodies kept under caps; 401 answered with Basic credentials or
 * a Bearer token; retries with backoff for what is safe to repeat.
 *
 * Credentials go to the registry's own origin only (an upload Location on
 * another host gets none), and never into a message: libcurl's messages go
 * through CURLOPT_ERRORBUFFER, which names hosts and causes, not headers.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "registry-internal.h"

/* A URL's length in a message, NUL included. */
#define URL_SHOWN_MAX 304

/* What the callbacks of one transfer share. */
struct transfer {
    const struct registry_client *client;
    const struct http_request *req;
    struct http_response *resp;
    size_t max_body;
    size_t body_cap;
    uint64_t sent; /* bytes of the body sent so far */
};

void
http_response_release(struct http_response *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
    resp->retry_after_s = -1;
    resp->content_length = -1;
}

void
http_backoff(const struct registry_client *c, unsigned attempt, long retry_after_s)
{
    struct timespec ts;
    long ms, left_ms = c->give_up_at_ms - registry_now_ms();

    if (retry_after_s >= 0)
        ms = (retry_after_s > REGISTRY_RETRY_AFTER_MAX_S ? REGISTRY_RETRY_AFTER_MAX_S
                                                         : retry_after_s) *
             1000L;
    else
        ms = 250L << (attempt > 5 ? 5 : attempt - 1); /* 250 ms, 500 ms, ... 8 s */
    if (ms > left_ms)
        ms = left_ms > 0 ? left_ms : 0; /* the next try then meets out_of_time */
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    struct http_response *r = t->resp;
    size_t n = size * nmemb;

    if (t->req->sink != NULL) {
        long status = 0;

        curl_easy_getinfo(t->client->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            r->sunk = true;
            if (t->req->sink(t->req->sink_arg, data, n) < 0) {
                r->sink_stopped = true;
                return 0; /* aborts the transfer */
            }
            return n;
        }
    }
    if (r->body_len + n > t->max_body) {
        r->body_too_long = true;
        return 0; /* aborts the transfer */
    }
    if (r->body_len + n + 1 > t->body_cap) {
        size_t cap = t->body_cap ? t->body_cap : 4096;
        char *grown;

        while (cap < r->body_len + n + 1)
            cap *= 2;
        /* not realloc: the old copy is wiped first (a token answer is a secret) */
        grown = xmalloc(cap);
        if (r->body != NULL) {
            memcpy(grown, r->body, r->body_len + 1);
            OPENSSL_cleanse(r->body, t->body_cap);
            free(r->body);
        }
        r->body = grown;
        t->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

/* Copies a header value (trimmed) into dst; false when it does not fit. */
static bool
copy_value(const char *v, size_t n, char *dst, size_t cap)
{
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    if (n >= cap)
        return false;
    memcpy(dst, v, n);
    dst[n] = '\0';
    return true;
}

static bool
header_is(const char *line, size_t n, const char *name, const char **value, size_t *vlen)
{
    size_t k = strlen(name);

    if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
        return false;
    *value = line + k + 1;
    *vlen = n - k - 1;
    return true;
}

static size_t
on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    struct http_response *r = t->resp;
    size_t n = size * nmemb, vlen;
    const char *v;
    bool ok = true;

    if (n > REGISTRY_HEADER_MAX_BYTES) {
        r->header_too_long = true;
        return 0;
    }
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* a new response (after a 100 Continue): forget the headers of the last one */
        r->location[0] = r->content_digest[0] = r->www_authenticate[0] = '\0';
        r->content_type[0] = '\0';
        r->retry_after_s = -1;
    } else if (header_is(line, n, "Location", &v, &vlen)) {
        ok = copy_value(v, vlen, r->location, sizeof(r->location));
    } else if (header_is(line, n, "Content-Type", &v, &vlen)) {
        size_t type_len = 0;

        while (vlen > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vlen--;
        }
        while (type_len < vlen && v[type_len] != ';' && v[type_len] != ' ')
            type_len++;
        ok = copy_value(v, type_len, r->content_type, sizeof(r->content_type));
    } else if (header_is(line, n, "Docker-Content-Digest", &v, &vlen)) {
        ok = copy_value(v, vlen, r->content_digest, sizeof(r->content_digest));
    } else if (header_is(line, n, "WWW-Authenticate", &v, &vlen)) {
        if (r->www_authenticate[0] == '\0') /* the first challenge */
            ok = copy_value(v, vlen, r->www_authenticate, sizeof(r->www_authenticate));
    } else if (header_is(line, n, "Retry-After", &v, &vlen)) {
        char value[64]; /* seconds, or an HTTP-date (29 bytes) */

        /* neither form (or too long to be one): -1, backoff instead */
        if (copy_value(v, vlen, value, sizeof(value)))
            r->retry_after_s = registry_retry_after_s(value, time(NULL));
    }
    if (!ok) {
        r->header_too_long = true;
        return 0;
    }
    return n;
}

static size_t
on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct transfer *t = userdata;
    const struct http_request *req = t->req;
    size_t want = size * nitems;
    uint64_t total = req->fd >= 0 ? req->fd_size : req->body_len;

    if (t->sent >= total)
        return 0;
    if (want > total - t->sent)
        want = (size_t)(total - t->sent);
    if (req->fd >= 0) {
        ssize_t got;

        do
            got = pread(req->fd, buf, want, (off_t)t->sent);
        while (got < 0 && errno == EINTR);
        if (got <= 0)
            return CURL_READFUNC_ABORT; /* a file shorter than its descriptor says */
        want = (size_t)got;
    } else {
        memcpy(buf, (const char *)req->body + t->sent, want);
    }
    t->sent += want;
    if (req->progress_digest != NULL && t->client->progress != NULL)
        t->client->progress(t->client->progress_arg, req->progress_digest, t->sent, total);
    return want;
}

/* libcurl rewinds a body it must send again (a reused connection that had closed). */
static int
on_seek(void *userdata, curl_off_t offset, int origin)
{
    struct transfer *t = userdata;
    uint64_t total = t->req->fd >= 0 ? t->req->fd_size : t->req->body_len;

    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > total)
        return CURL_SEEKFUNC_CANTSEEK;
    t->sent = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

long
registry_request_timeout_ms(uint64_t upload_bytes)
{
    uint64_t extra_s = upload_bytes / REGISTRY_UPLOAD_MIN_BYTES_PER_S;
    uint64_t max_extra_s = (uint64_t)(LONG_MAX / 1000 - REGISTRY_REQUEST_DEADLINE_MS / 1000);

    if (extra_s > max_extra_s)
        extra_s = max_extra_s;
    return REGISTRY_REQUEST_DEADLINE_MS + (long)extra_s * 1000L;
}

/* Whether `url` is on the registry's own origin (credentials may go there). */
static bool
is_own_origin(const struct registry_client *c, const char *url)
{
    return registry_is_same_origin(c->base, url);
}

static void
set_transport(struct registry_client *c)
{
    CURL *h = c->curl;

    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (c->stall_timeout_ms + 999) / 1000);
    /* a registry trickling bytes stays over the low-speed limit: a deadline ends it */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, registry_request_timeout_ms(0));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
    if (c->ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "temper");
}

static void
set_method(CURL *h, const struct http_request *req, struct transfer *t)
{
    bool has_body = req->fd >= 0 || req->body != NULL;

    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "POST") == 0 && !has_body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    } else if (strcmp(req->method, "DELETE") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else if (has_body || strcmp(req->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        /* 1 MiB reads instead of curl's 64 KiB: a 13 MB layer in 13 preads, not 200 */
        curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, (long)REGISTRY_UPLOAD_BUFFER);
        curl_easy_setopt(h, CURLOPT_READDATA, t);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, t);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)(req->fd >= 0 ? req->fd_size : req->body_len));
        if (strcmp(req->method, "PUT") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
}

/*
 * How a URL is shown in messages: without its query, which for an upload may be a signed
 * (pre-authorised) URL of the storage behind the registry.
 */
/*
 * A URL for a message: without its query and fragment (an upload URL may be a pre-signed
 * storage URL), at most 300 bytes, printable (a redirect's Location is the registry's text).
 */
static const char *
url_shown(const char *url, char out[URL_SHOWN_MAX])
{
    char cut[URL_SHOWN_MAX];
    size_t n = strcspn(url, "?#");

    if (n >= sizeof(cut))
        n = sizeof(cut) - 1;
    memcpy(cut, url, n);
    cut[n] = '\0';
    return temper_printable(cut, out, URL_SHOWN_MAX);
}

long
registry_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Whether the request ran out its whole deadline (not a connect or low-speed timeout): a
 * registry that slow is not retried, so that a push ends after one deadline, not five.
 * Measured here: libcurl's own total time is not kept for a transfer that timed out.
 */
static bool
hit_deadline(CURLcode rc, long started_ms, long deadline_ms)
{
    return rc == CURLE_OPERATION_TIMEDOUT && registry_now_ms() - started_ms >= deadline_ms - 1000;
}

/* The client's whole time (registry_options.timeout_ms) is spent: nothing is tried again. */
static int
out_of_time(const struct registry_client *c, struct temper_err *err)
{
    return temper_err_set(err, TEMPER_E_NET, 0,
                          "registry '%s': gave up after %ld s with it (--timeout): it is too slow, "
                          "or stalls; try again, or give a longer --timeout",
                          c->host, c->timeout_ms / 1000);
}

/* One try of the request, with the current credentials; 0 when an HTTP answer came. */
static int
perform_once(struct registry_client *c, const struct http_request *req, struct http_response *resp,
             struct temper_err *err)
{
    struct transfer t = {.client = c, .req = req, .resp = resp};
    struct curl_slist *headers = NULL;
    cleanup_free char *accept = NULL, *ctype = NULL, *bearer = NULL;
    bool creds = is_own_origin(c, req->url);
    long deadline_ms = registry_request_timeout_ms(0), started_ms, left_ms;
    char shown[URL_SHOWN_MAX];
    CURLcode rc;

    http_response_release(resp);
    t.max_body = req->max_body ? req->max_body : REGISTRY_BODY_MAX_BYTES;
    curl_easy_reset(c->curl);
    c->errbuf[0] = '\0';
    set_transport(c);
    curl_easy_setopt(c->curl, CURLOPT_URL, req->url);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &t);
    set_method(c->curl, req, &t);
    if (req->fd >= 0 || req->body != NULL)
        deadline_ms = registry_request_timeout_ms(req->fd >= 0 ? req->fd_size : req->body_len);
    else if (req->download_bytes > 0)
        deadline_ms = registry_request_timeout_ms(req->download_bytes);
    left_ms = c->give_up_at_ms - registry_now_ms();
    if (left_ms <= 0)
        return out_of_time(c, err);
    if (deadline_ms > left_ms)
        deadline_ms = left_ms;
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, deadline_ms);
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    if (req->accept != NULL) {
        accept = xasprintf("Accept: %s", req->accept);
        headers = curl_slist_append(headers, accept);
    }
    if (req->content_type != NULL) {
        ctype = xasprintf("Content-Type: %s", req->content_type);
        headers = curl_slist_append(headers, ctype);
    }
    if (creds && c->auth == AUTH_BEARER && c->token != NULL)
        headers =
            curl_slist_append(headers, bearer = xasprintf("Authorization: Bearer %s", c->token));
    if (creds && c->auth == AUTH_BASIC && c->username != NULL) {
        curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c->curl, CURLOPT_USERNAME, c->username);
        curl_easy_setopt(c->curl, CURLOPT_PASSWORD, c->password);
    }
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
    started_ms = registry_now_ms();
    rc = curl_easy_perform(c->curl);
    for (struct curl_slist *l = headers; l != NULL; l = l->next)
        OPENSSL_cleanse(l->data, strlen(l->data)); /* the Authorization header's copy */
    curl_slist_free_all(headers);
    if (bearer != NULL)
        OPENSSL_cleanse(bearer, strlen(bearer));
    /* libcurl keeps a copy of the password: reset drops it */
    curl_easy_setopt(c->curl, CURLOPT_PASSWORD, NULL);
    if (resp->body_too_long)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "%s '%s': the answer is over %zu bytes",
                              req->method, url_shown(req->url, shown), t.max_body);
    if (resp->header_too_long)
        return temper_err_set(err, TEMPER_E_LIMIT, 0, "%s '%s': a header line is too long",
                              req->method, url_shown(req->url, shown));
    if (resp->sink_stopped)
        return temper_err_set(err, TEMPER_E_IO, 0, "%s '%s': its reader stopped", req->method,
                              url_shown(req->url, shown));
    if (rc != CURLE_OK) {
        resp->tls_failed = rc == CURLE_SSL_CONNECT_ERROR;
        /* what a second try would meet again: a refused certificate, a handshake, a bad file */
        resp->transient = rc != CURLE_ABORTED_BY_CALLBACK && rc != CURLE_READ_ERROR &&
                          rc != CURLE_SSL_CONNECT_ERROR && rc != CURLE_SSL_CACERT_BADFILE &&
                          rc != CURLE_PEER_FAILED_VERIFICATION &&
                          rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_URL_MALFORMAT &&
                          !hit_deadline(rc, started_ms, deadline_ms) && !resp->sunk;
        if (rc == CURLE_OPERATION_TIMEDOUT && registry_now_ms() >= c->give_up_at_ms)
            return out_of_time(c, err);
        return temper_err_set(err, TEMPER_E_NET, 0, "%s '%s': %s", req->method,
                              url_shown(req->url, shown),
                              c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
    {
        curl_off_t length = -1;

        if (curl_easy_getinfo(c->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK)
            resp->content_length = length;
    }
    resp->transient = resp->status == 429 || resp->status >= 500;
    if (strncmp(req->url, "https://", 8) == 0 && creds)
        c->may_fall_back = false; /* the registry speaks https: never go down to http */
    return 0;
}

/* A token from the realm's JSON answer ("token", else "access_token"): printable, bounded. */
static int
parse_token(const struct http_response *resp, const char *realm, char **out, struct temper_err *err)
{
    json_t *doc = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, NULL);
    const char *tok = json_string_value(json_object_get(doc, "token"));
    size_t i, n;

    if (tok == NULL || tok[0] == '\0')
        tok = json_string_value(json_object_get(doc, "access_token"));
    n = tok != NULL ? strlen(tok) : 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)tok[i] <= 0x20 || (unsigned char)tok[i] >= 0x7f)
            break;
    if (n == 0 || i < n || n > REGISTRY_TOKEN_MAX_BYTES) {
        json_decref(doc);
        return temper_err_set(err, TEMPER_E_AUTH, 0,
                              "token server '%.300s' gave no usable token (\"token\" or "
                              "\"access_token\": printable, at most %d bytes)",
                              realm, REGISTRY_TOKEN_MAX_BYTES);
    }
    *out = xstrdup(tok);
    json_decref(doc);
    return 0;
}

/* GET realm?service=..&scope=.. (with Basic credentials if any): the new bearer token. */
static int
fetch_token(struct registry_client *c, const struct registry_challenge *ch, struct temper_err *err)
{
    cleanup_free char *url = NULL, *scope = NULL;
    struct http_response resp = {.retry_after_s = -1};
    char *svc = curl_easy_escape(c->curl, ch->service, 0);
    char *sc = curl_easy_escape(c->curl, ch->scope, 0);
    char *mine = NULL, *own_scope = xasprintf("repository:%s:%s", c->repository,
                                              c->read_only ? "pull" : "pull,push");
    char *token = NULL;
    int rc;

    if (registry_realm_check(c->base, c->host, ch->realm, err) < 0) {
        curl_free(svc);
        curl_free(sc);
        free(own_scope);
        return -1;
    }
    mine = curl_easy_escape(c->curl, own_scope, 0);
    scope = ch->scope[0] != '\0' && strcmp(ch->scope, own_scope) != 0
                ? xasprintf("scope=%s&scope=%s", sc, mine)
                : xasprintf("scope=%s", mine);
    url = xasprintf("%s%cservice=%s&%s", ch->realm, strchr(ch->realm, '?') ? '&' : '?', svc, scope);
    curl_free(svc);
    curl_free(sc);
    curl_free(mine);
    free(own_scope);
    {
        /* the token server is another origin: Basic credentials go there explicitly */
        struct http_request req = {.method = "GET",
                                   .url = url,
                                   .fd = -1,
                                   .idempotent = true,
                                   .max_body = REGISTRY_TOKEN_MAX_BYTES * 4};
        struct transfer t = {.client = c, .req = &req, .resp = &resp, .max_body = req.max_body};
        CURLcode cc;

        curl_easy_reset(c->curl);
        c->errbuf[0] = '\0';
        set_transport(c);
        curl_easy_setopt(c->curl, CURLOPT_URL, url);
        curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &t);
        if (c->username != NULL) {
            curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
            curl_easy_setopt(c->curl, CURLOPT_USERNAME, c->username);
            curl_easy_setopt(c->curl, CURLOPT_PASSWORD, c->password);
        }
        cc = curl_easy_perform(c->curl);
        curl_easy_setopt(c->curl, CURLOPT_PASSWORD, NULL);
        if (cc != CURLE_OK) {
            http_response_release(&resp);
            return temper_err_set(err, TEMPER_E_NET, 0, "token server '%.300s': %s", ch->realm,
                                  c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(cc));
        }
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp.status);
    }
    if (resp.status != 200) {
        rc = temper_err_set(
            err, TEMPER_E_AUTH, 0, "token server '%.300s' answered %ld%s", ch->realm, resp.status,
            c->username == NULL ? " (no credentials were given)" : " to the credentials given");
        http_response_release(&resp);
        return rc;
    }
    rc = parse_token(&resp, ch->realm, &token, err);
    if (resp.body != NULL)
        OPENSSL_cleanse(resp.body, resp.body_len);
    http_response_release(&resp);
    if (rc < 0)
        return -1;
    if (c->token != NULL) {
        OPENSSL_cleanse(c->token, strlen(c->token));
        free(c->token);
    }
    c->token = token;
    c->auth = AUTH_BEARER;
    return 0;
}

/* Answers a 401: picks up credentials for the challenge; -1 when there is nothing to try. */
static int
answer_challenge(struct registry_client *c, const struct http_response *resp,
                 struct temper_err *err)
{
    struct registry_challenge ch;

    if (resp->www_authenticate[0] == '\0')
        return temper_err_set(err, TEMPER_E_AUTH, 0,
                              "registry '%s' answered 401 without a WWW-Authenticate challenge",
                              c->host);
    if (registry_auth_parse(resp->www_authenticate, strlen(resp->www_authenticate), &ch, err) < 0)
        return temper_err_prefix(err, "registry '%s'", c->host);
    if (strcmp(ch.scheme, "Bearer") == 0)
        return fetch_token(c, &ch, err);
    if (c->username == NULL)
        return temper_err_set(err, TEMPER_E_AUTH, 0,
                              "registry '%s' requires authentication (401 Unauthorized): give "
                              "--username and --password-stdin, TEMPER_REGISTRY_USERNAME and "
                              "TEMPER_REGISTRY_PASSWORD, or an entry in the docker config",
                              c->host);
    if (c->auth == AUTH_BASIC)
        return temper_err_set(err, TEMPER_E_AUTH, 0,
                              "registry '%s' refused the credentials given (401 Unauthorized)",
                              c->host);
    c->auth = AUTH_BASIC;
    return 0;
}

int
http_status_error(const struct registry_client *c, const char *what,
                  const struct http_response *resp, struct temper_err *err)
{
    json_t *doc = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    json_t *first = json_array_get(json_object_get(doc, "errors"), 0);
    const char *code = json_string_value(json_object_get(first, "code"));
    const char *message = json_string_value(json_object_get(first, "message"));
    enum temper_errc ec = resp->status == 401 || resp->status == 403 ? TEMPER_E_AUTH : TEMPER_E_NET;
    char code_shown[44], message_shown[304];

    /* the registry's own words, with no control character that could reach a terminal */
    if (code != NULL || message != NULL)
        temper_err_set(
            err, ec, 0, "registry '%s': %s: HTTP %ld: %s: %s", c->host, what, resp->status,
            temper_printable(code ? code : "", code_shown, sizeof(code_shown)),
            temper_printable(message ? message : "", message_shown, sizeof(message_shown)));
    else
        temper_err_set(err, ec, 0, "registry '%s': %s: HTTP %ld", c->host, what, resp->status);
    json_decref(doc);
    return -1;
}

/* A 401 after the credentials were tried once in this request. */
static int
refused(const struct registry_client *c, struct temper_err *err)
{
    if (c->username == NULL)
        return temper_err_set(err, TEMPER_E_AUTH, 0,
                              "registry '%s' requires authentication (401 Unauthorized): give "
                              "--username and --password-stdin, TEMPER_REGISTRY_USERNAME and "
                              "TEMPER_REGISTRY_PASSWORD, or an entry in the docker config",
                              c->host);
    return temper_err_set(err, TEMPER_E_AUTH, 0,
                          "registry '%s' refused the credentials given (401 Unauthorized)",
                          c->host);
}

/* A failed request keeps its status and flags (transient) but not its body. */
static int
drop_body(struct http_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    return -1;
}

/* A 401 from another origin (an upload Location elsewhere): no credentials are sent there. */
static int
foreign_challenge(const struct registry_client *c, const char *url, struct temper_err *err)
{
    char shown[URL_SHOWN_MAX];

    return temper_err_set(err, TEMPER_E_AUTH, 0,
                          "registry '%s': '%s' is not the registry's origin and asked for "
                          "authentication (401): no credentials are sent there",
                          c->host, url_shown(url, shown));
}

/* A loopback registry that never answered: https was tried, and plain http would have been
 * once something answered without TLS; say so, since the URL in the message says https. */
static void
say_both_schemes(struct temper_err *err)
{
    size_t n = strlen(err->msg);

    snprintf(err->msg + n, sizeof(err->msg) - n,
             " (nothing answered: a registry on loopback is tried over https, then over plain "
             "http when it answers without TLS)");
}

void
http_probe_plain(struct registry_client *c)
{
    cleanup_free char *url = xasprintf("http://%s/v2/", c->base + 8);
    struct http_request req = {.method = "GET", .url = url, .fd = -1, .max_body = 4096};
    struct http_response resp = {0};
    struct temper_err ignored;

    if (perform_once(c, &req, &resp, &ignored) == 0 && resp.status != 400) {
        char *base = xasprintf("http://%s", c->base + 8);

        free(c->base);
        c->base = base;
        c->may_fall_back = false;
    }
    http_response_release(&resp);
}

int
http_perform(struct registry_client *c, const struct http_request *req, struct http_response *resp,
             struct temper_err *err)
{
    struct http_request r = *req;
    cleanup_free char *plain_url = NULL;
    unsigned attempt = 0;
    bool answered = false;

    for (;;) {
        int rc = perform_once(c, &r, resp, err);

        if (rc < 0 && resp->tls_failed && c->may_fall_back && is_own_origin(c, r.url)) {
            /* a loopback registry without TLS: plain http from now on */
            char *base = xasprintf("http://%s", c->base + 8);

            free(c->base);
            c->base = base;
            c->may_fall_back = false;
            free(plain_url);
            r.url = plain_url = xasprintf("http://%s", r.url + 8);
            continue;
        }

        if (rc == 0 && resp->status == 401) {
            /* another host's challenge would get the user's credentials, or replace the token */
            if (!is_own_origin(c, r.url)) {
                foreign_challenge(c, r.url, err);
                return drop_body(resp);
            }
            /* once per request: a token refused on a later request (expired) is renewed here */
            if (answered) {
                refused(c, err);
                return drop_body(resp);
            }
            answered = true;
            if (answer_challenge(c, resp, err) < 0)
                return drop_body(resp);
            continue;
        }
        if (rc == 0 && !resp->transient)
            return 0;
        if (!r.idempotent || !resp->transient || attempt >= c->retries) {
            if (rc == 0)
                http_status_error(c, r.method, resp, err);
            else if (c->may_fall_back)
                say_both_schemes(err);
            return drop_body(resp);
        }
        attempt++;
        http_backoff(c, attempt, resp->retry_after_s);
    }
}
