/*
 * The libcurl functions temper calls, forwarded to libcurl.so.4 opened on first use (see
 * curl_lazy.h for why). Only the functions named in CURL_FUNCTIONS exist here: a new call
 * elsewhere fails to link until it is added, so the list cannot fall behind the code.
 */
#define CURL_DISABLE_TYPECHECK /* the typechecking macros would hide the functions defined here */
#include "curl_lazy.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#define CURL_FUNCTIONS(X)                                                                          \
    X(curl_easy_cleanup)                                                                           \
    X(curl_easy_escape)                                                                            \
    X(curl_easy_getinfo)                                                                           \
    X(curl_easy_init)                                                                              \
    X(curl_easy_perform)                                                                           \
    X(curl_easy_reset)                                                                             \
    X(curl_easy_setopt)                                                                            \
    X(curl_easy_strerror)                                                                          \
    X(curl_free)                                                                                   \
    X(curl_getdate)                                                                                \
    X(curl_global_cleanup)                                                                         \
    X(curl_global_init)                                                                            \
    X(curl_multi_add_handle)                                                                       \
    X(curl_multi_cleanup)                                                                          \
    X(curl_multi_info_read)                                                                        \
    X(curl_multi_init)                                                                             \
    X(curl_multi_perform)                                                                          \
    X(curl_multi_poll)                                                                             \
    X(curl_multi_remove_handle)                                                                    \
    X(curl_slist_append)                                                                           \
    X(curl_slist_free_all)                                                                         \
    X(curl_url)                                                                                    \
    X(curl_url_cleanup)                                                                            \
    X(curl_url_get)                                                                                \
    X(curl_url_set)

static struct {
#define POINTER(name) __typeof__(&name) name;
    CURL_FUNCTIONS(POINTER)
#undef POINTER
} lib;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;
static char why[512]; /* the loader's reason when it failed */

static void
load(void)
{
    void *handle = dlopen(CURL_LAZY_SONAME, RTLD_NOW | RTLD_LOCAL);

    if (handle == NULL) {
        snprintf(why, sizeof(why), "%s", dlerror());
        return;
    }
#define RESOLVE(name)                                                                              \
    *(void **)&lib.name = dlsym(handle, #name);                                                    \
    if (lib.name == NULL) {                                                                        \
        snprintf(why, sizeof(why), "it has no %s", #name);                                         \
        dlclose(handle);                                                                           \
        return;                                                                                    \
    }
    CURL_FUNCTIONS(RESOLVE)
#undef RESOLVE
    loaded = true; /* the handle stays open for the life of the process */
}

static bool
ready(void)
{
    pthread_once(&once, load);
    return loaded;
}

int
curl_lazy_load(struct temper_err *err)
{
    if (ready())
        return 0;
    return temper_err_set(err, TEMPER_E_MISSING, 0,
                          "cannot load libcurl (%s): %s; temper needs it to talk to registries "
                          "and package archives: install libcurl4",
                          CURL_LAZY_SONAME, why);
}

/* ---- the forwarding functions: on a library that could not be loaded, each fails ---- */

CURLcode
curl_global_init(long flags)
{
    return ready() ? lib.curl_global_init(flags) : CURLE_FAILED_INIT;
}

void
curl_global_cleanup(void)
{
    if (ready())
        lib.curl_global_cleanup();
}

CURL *
curl_easy_init(void)
{
    return ready() ? lib.curl_easy_init() : NULL;
}

void
curl_easy_cleanup(CURL *curl)
{
    if (ready())
        lib.curl_easy_cleanup(curl);
}

void
curl_easy_reset(CURL *curl)
{
    if (ready())
        lib.curl_easy_reset(curl);
}

CURLcode
curl_easy_perform(CURL *curl)
{
    return ready() ? lib.curl_easy_perform(curl) : CURLE_FAILED_INIT;
}

/*
 * The option's number says the type of its argument (CURLOPTTYPE_*, curl_easy_setopt(3)), as
 * libcurl itself reads it: the argument is taken as that type and passed on as that type.
 */
CURLcode
curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    CURLcode rc = CURLE_FAILED_INIT;
    va_list ap;

    va_start(ap, option);
    if (!ready())
        rc = CURLE_FAILED_INIT;
    else if (option < CURLOPTTYPE_OBJECTPOINT)
        rc = lib.curl_easy_setopt(curl, option, va_arg(ap, long));
    else if (option < CURLOPTTYPE_FUNCTIONPOINT)
        rc = lib.curl_easy_setopt(curl, option, va_arg(ap, void *));
    else if (option < CURLOPTTYPE_OFF_T)
        rc = lib.curl_easy_setopt(curl, option, va_arg(ap, void (*)(void)));
    else if (option < CURLOPTTYPE_BLOB)
        rc = lib.curl_easy_setopt(curl, option, va_arg(ap, curl_off_t));
    else
        rc = lib.curl_easy_setopt(curl, option, va_arg(ap, struct curl_blob *));
    va_end(ap);
    return rc;
}

/* Every CURLINFO_* takes a pointer to where the answer goes. */
CURLcode
curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    CURLcode rc = CURLE_FAILED_INIT;
    va_list ap;

    va_start(ap, info);
    if (ready())
        rc = lib.curl_easy_getinfo(curl, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

const char *
curl_easy_strerror(CURLcode code)
{
    return ready() ? lib.curl_easy_strerror(code) : "libcurl could not be loaded";
}

char *
curl_easy_escape(CURL *handle, const char *string, int length)
{
    return ready() ? lib.curl_easy_escape(handle, string, length) : NULL;
}

void
curl_free(void *p)
{
    if (p != NULL && ready())
        lib.curl_free(p);
}

time_t
curl_getdate(const char *p, const time_t *unused)
{
    return ready() ? lib.curl_getdate(p, unused) : -1;
}

struct curl_slist *
curl_slist_append(struct curl_slist *list, const char *data)
{
    return ready() ? lib.curl_slist_append(list, data) : NULL;
}

void
curl_slist_free_all(struct curl_slist *list)
{
    if (list != NULL && ready())
        lib.curl_slist_free_all(list);
}

CURLM *
curl_multi_init(void)
{
    return ready() ? lib.curl_multi_init() : NULL;
}

CURLMcode
curl_multi_add_handle(CURLM *multi_handle, CURL *curl_handle)
{
    return ready() ? lib.curl_multi_add_handle(multi_handle, curl_handle) : CURLM_INTERNAL_ERROR;
}

CURLMcode
curl_multi_remove_handle(CURLM *multi_handle, CURL *curl_handle)
{
    return ready() ? lib.curl_multi_remove_handle(multi_handle, curl_handle) : CURLM_INTERNAL_ERROR;
}

CURLMcode
curl_multi_poll(CURLM *multi_handle, struct curl_waitfd extra_fds[], unsigned int extra_nfds,
                int timeout_ms, int *ret)
{
    return ready() ? lib.curl_multi_poll(multi_handle, extra_fds, extra_nfds, timeout_ms, ret)
                   : CURLM_INTERNAL_ERROR;
}

CURLMcode
curl_multi_perform(CURLM *multi_handle, int *running_handles)
{
    return ready() ? lib.curl_multi_perform(multi_handle, running_handles) : CURLM_INTERNAL_ERROR;
}

CURLMsg *
curl_multi_info_read(CURLM *multi_handle, int *msgs_in_queue)
{
    return ready() ? lib.curl_multi_info_read(multi_handle, msgs_in_queue) : NULL;
}

CURLMcode
curl_multi_cleanup(CURLM *multi_handle)
{
    return ready() ? lib.curl_multi_cleanup(multi_handle) : CURLM_INTERNAL_ERROR;
}

CURLU *
curl_url(void)
{
    return ready() ? lib.curl_url() : NULL;
}

void
curl_url_cleanup(CURLU *handle)
{
    if (handle != NULL && ready())
        lib.curl_url_cleanup(handle);
}

CURLUcode
curl_url_get(CURLU *handle, CURLUPart what, char **part, unsigned int flags)
{
    return ready() ? lib.curl_url_get(handle, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

CURLUcode
curl_url_set(CURLU *handle, CURLUPart what, const char *part, unsigned int flags)
{
    return ready() ? lib.curl_url_set(handle, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}
