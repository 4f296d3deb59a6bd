/*
 * libFuzzer target for the layer-entry reader of temper diff and inspect:
 * any bytes, given as a layer (tar, gzip or zstd), must be read to a list
 * of entries temper may print and compare (normalised absolute paths under
 * TEMPER_PATH_MAX, modes within 07777, positions in order, pax records
 * sorted and under their cap, a content digest only where there is
 * content), or fail with TEMPER_E_PARSE or TEMPER_E_LIMIT and a message;
 * never crash, read out of bounds or leak. The bytes reach the reader
 * through a descriptor (a memfd), as a blob's do. A layer that reads is then
 * added twice to inspect's hardening view (over an empty view: a hard link
 * to nothing; then over itself: its whiteouts remove what its first copy
 * holds, its hard links find targets below), and summed up; and its dpkg
 * status.d files (kept only there, under their cap) read as packages, twice
 * over: every package has a name, and every owner is one of them.
 *
 * Seeds: fuzz/corpus/layer_entries, made by fuzz/make-corpus.sh.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/limits.h"
#include "diff/image_diff.h"
#include "fuzz_memfd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_layer_entries: %s\n", what);
    abort();
}

static void
check_entry(const struct image_entry *e, size_t i)
{
    size_t bytes = 0;

    if (e->path[0] != '/' || strlen(e->path) >= TEMPER_PATH_MAX)
        fail("path not absolute or over TEMPER_PATH_MAX");
    if (strstr(e->path, "//") != NULL || strstr(e->path, "/./") != NULL)
        fail("path not normalised");
    if (e->mode > 07777)
        fail("mode beyond 07777");
    if (e->position != i + 1)
        fail("positions out of order");
    if (e->sha256[0] != '\0' && strncmp(e->sha256, "sha256:", 7) != 0)
        fail("content digest malformed");
    for (size_t j = 0; j < e->npax; j++) {
        bytes += strlen(e->pax[j].key) + e->pax[j].len;
        if (j > 0 && strcmp(e->pax[j - 1].key, e->pax[j].key) > 0)
            fail("pax records not sorted");
    }
    if (bytes > DIFF_PAX_MAX_BYTES)
        fail("pax records over the cap");
}

/* The layer over an empty view, then over itself: fine, or over the view's caps. */
static void
check_hardening(const struct image_layer_entries *layer)
{
    struct image_hardening_view *v = image_hardening_view_new();
    struct image_doc doc = {0};
    struct image_hardening h;
    struct temper_err err = {0};

    for (int i = 0; i < 2; i++)
        if (image_hardening_view_add(v, layer, "layer", &err) < 0 && err.code != TEMPER_E_LIMIT)
            fail("the hardening view failed with a code other than TEMPER_E_LIMIT");
    image_hardening_view_finish(v, &doc, &h);
    if (h.setid != h.nsetid_paths + h.ncapability_paths)
        fail("setid is not the sum of its lists");
    image_hardening_release(&h);
    image_hardening_view_free(v);
}

/* The layer's status.d as packages, over itself: names, and owners among them. */
static void
check_packages(const struct image_layer_entries *layer)
{
    struct image_packages p;

    for (size_t i = 0; i < layer->n; i++)
        if (layer->entries[i].text != NULL &&
            (strncmp(layer->entries[i].path, "/var/lib/dpkg/status.d/", 23) != 0 ||
             layer->entries[i].text_len > DIFF_DPKG_FILE_MAX_BYTES ||
             strlen(layer->entries[i].text) > layer->entries[i].text_len))
            fail("a kept text that is not a status.d file under its cap");
    image_packages_init(&p);
    image_packages_add(&p, layer);
    image_packages_add(&p, layer);
    image_packages_finish(&p);
    for (size_t i = 0; i < p.n; i++)
        if (p.pkgs[i].name == NULL || p.pkgs[i].name[0] == '\0' || p.pkgs[i].version == NULL)
            fail("a package without a name");
    for (size_t s = 0; s < p.owners.cap; s++) {
        const struct image_package *pk = p.owners.slots[s].value;

        if (p.owners.slots[s].key != NULL && (pk < p.pkgs || pk >= p.pkgs + p.n))
            fail("a path owned by no package of the list");
    }
    image_packages_release(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct image_layer_entries got = {.n = 12345};
    struct temper_err err = {0};
    int fd = fuzz_memfd(data, size, fail);
    int rc;

    rc = image_layer_read(fd, NULL, "layer 1 'fuzz'", &got, &err);
    close(fd);
    if (rc != 0) {
        if (err.code != TEMPER_E_PARSE && err.code != TEMPER_E_LIMIT)
            fail("failed with a code other than TEMPER_E_PARSE or TEMPER_E_LIMIT");
        if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL || err.msg[0] == '\0')
            fail("failure without a message");
        if (got.n != 12345)
            fail("out-parameter set on failure");
        return 0;
    }
    if (got.n > DIFF_LAYER_MAX_ENTRIES)
        fail("more entries than the cap");
    for (size_t i = 0; i < got.n; i++)
        check_entry(&got.entries[i], i);
    check_hardening(&got);
    check_packages(&got);
    image_layer_entries_release(&got);
    return 0;
}
