/*
 * curl_lazy: libcurl, loaded the first time a command talks to a registry or an archive.
 *
 * Linking libcurl costs every temper-image start about 12 ms (it brings 25 more shared
 * libraries: GnuTLS, Kerberos, LDAP, SSH, ... and their constructors), a tenth of a python image
 * build that never touches the network. So temper-image is not linked with it: curl_lazy.c
 * defines the libcurl functions temper calls, each forwarding to the same function of
 * libcurl.so.4, opened with dlopen() on first use (systemd loads its optional libraries the
 * same way). The code that uses libcurl includes <curl/curl.h> and calls it as usual.
 */
#ifndef TEMPER_BASE_CURL_LAZY_H
#define TEMPER_BASE_CURL_LAZY_H

#include "error.h"

/* The soname opened: the ABI of libcurl 7.x and 8.x. */
#define CURL_LAZY_SONAME "libcurl.so.4"

/*
 * Loads libcurl (once per process; thread-safe). 0, or TEMPER_E_MISSING naming the library
 * and the loader's reason. Call it before curl_global_init(): a libcurl function called while
 * the library cannot be loaded fails as it does when out of memory (NULL, an error code, -1).
 */
int curl_lazy_load(struct temper_err *err);

#endif
