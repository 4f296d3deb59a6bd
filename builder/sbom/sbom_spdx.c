/*
 * The SPDX 2.3 JSON document of an image (sbom.h), built with jansson and dumped with sorted
 * keys, so that its bytes depend only on the image.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "pkg/pkg.h"
#include "sbom.h"

#define NOASSERTION "NOASSERTION"

static void
set(json_t *obj, const char *key, json_t *value)
{
    if (value == NULL || json_object_set_new(obj, key, value) != 0)
        abort();
}

static void
set_str(json_t *obj, const char *key, const char *value)
{
    set(obj, key, json_string(value));
}

static void
push(json_t *array, json_t *value)
{
    if (value == NULL || json_array_append_new(array, value) != 0)
        abort();
}

/* The fields every SPDX package has; NOASSERTION where temper does not know. */
static json_t *
package_new(const char *id, const char *name, const char *version, const char *purpose)
{
    json_t *p = json_object();

    if (p == NULL)
        abort();
    set_str(p, "SPDXID", id);
    set_str(p, "name", name);
    set_str(p, "versionInfo", version);
    set_str(p, "downloadLocation", NOASSERTION);
    set(p, "filesAnalyzed", json_false());
    set_str(p, "supplier", NOASSERTION);
    set_str(p, "licenseConcluded", NOASSERTION);
    set_str(p, "licenseDeclared", NOASSERTION);
    set_str(p, "copyrightText", NOASSERTION);
    if (purpose != NULL)
        set_str(p, "primaryPackagePurpose", purpose);
    return p;
}

static void
add_purl(json_t *package, const char *purl)
{
    json_t *refs = json_array(), *ref = json_object();

    if (refs == NULL || ref == NULL)
        abort();
    set_str(ref, "referenceCategory", "PACKAGE-MANAGER");
    set_str(ref, "referenceType", "purl");
    set_str(ref, "referenceLocator", purl);
    push(refs, ref);
    set(package, "externalRefs", refs);
}

static void
relate(json_t *relationships, const char *from, const char *how, const char *to)
{
    json_t *r = json_object();

    if (r == NULL)
        abort();
    set_str(r, "spdxElementId", from);
    set_str(r, "relationshipType", how);
    set_str(r, "relatedSpdxElement", to);
    push(relationships, r);
}

/* A purl component: what purl-spec leaves as it is, the rest as %XX. */
static char *
purl_escape(const char *s)
{
    char *out = xmalloc(3 * strlen(s) + 1), *o = out;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-' || c == '_' || c == '~')
            *o++ = (char)c;
        else
            o += snprintf(o, 4, "%%%02X", c);
    }
    *o = '\0';
    return out;
}

/* An SPDX identifier's tail: letters, digits, '.' and '-' only. */
static char *
spdx_id(const char *prefix, size_t index, const char *name)
{
    char *id = xasprintf("SPDXRef-%s-%zu-%s", prefix, index, name);

    for (char *c = id + strlen("SPDXRef-"); *c != '\0'; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '-'))
            *c = '-';
    return id;
}

/* ---- licenses from DEP-5 copyright files ---- */

/* Debian's short names (copyright-format 1.0) that are SPDX identifiers under another name. */
static const struct {
    const char *debian, *spdx;
} license_names[] = {
    {"AGPL-3", "AGPL-3.0-only"},
    {"AGPL-3+", "AGPL-3.0-or-later"},
    {"Apache-2.0", "Apache-2.0"},
    {"Artistic-2.0", "Artistic-2.0"},
    {"BSD-2-clause", "BSD-2-Clause"},
    {"BSD-3-clause", "BSD-3-Clause"},
    {"BSD-4-clause", "BSD-4-Clause"},
    {"CC0-1.0", "CC0-1.0"},
    {"Expat", "MIT"},
    {"GFDL-1.2", "GFDL-1.2-only"},
    {"GFDL-1.2+", "GFDL-1.2-or-later"},
    {"GFDL-1.3", "GFDL-1.3-only"},
    {"GFDL-1.3+", "GFDL-1.3-or-later"},
    {"GPL-1", "GPL-1.0-only"},
    {"GPL-1+", "GPL-1.0-or-later"},
    {"GPL-2", "GPL-2.0-only"},
    {"GPL-2+", "GPL-2.0-or-later"},
    {"GPL-3", "GPL-3.0-only"},
    {"GPL-3+", "GPL-3.0-or-later"},
    {"ISC", "ISC"},
    {"LGPL-2", "LGPL-2.0-only"},
    {"LGPL-2+", "LGPL-2.0-or-later"},
    {"LGPL-2.1", "LGPL-2.1-only"},
    {"LGPL-2.1+", "LGPL-2.1-or-later"},
    {"LGPL-3", "LGPL-3.0-only"},
    {"LGPL-3+", "LGPL-3.0-or-later"},
    {"MIT", "MIT"},
    {"MPL-1.1", "MPL-1.1"},
    {"MPL-2.0", "MPL-2.0"},
    {"PSF-2", "PSF-2.0"},
    {"Zlib", "Zlib"},
    {"zlib", "Zlib"},
};

/* One license name as an SPDX identifier: the table's, else LicenseRef-<name> (letters, digits,
 * '.' and '-': "+" becomes "-or-later", anything else '-'). */
static void
license_id(FILE *out, const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(license_names) / sizeof(license_names[0]); i++) {
        if (strlen(license_names[i].debian) == len &&
            strncasecmp(license_names[i].debian, name, len) == 0) {
            fputs(license_names[i].spdx, out);
            return;
        }
    }
    fputs("LicenseRef-", out);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];

        if (c == '+')
            fputs("-or-later", out);
        else
            fputc((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                          c == '.' || c == '-'
                      ? c
                      : '-',
                  out);
    }
}

struct licenses {
    char **names; /* License: first lines of the Files stanzas, each once */
    size_t n;
    bool dep5;
};

static int
take_license(const struct pkg_stanza *st, void *arg, struct temper_err *err)
{
    struct licenses *l = arg;
    const struct pkg_field *format = pkg_stanza_field(st, "Format");
    const struct pkg_field *files = pkg_stanza_field(st, "Files");
    const struct pkg_field *license = pkg_stanza_field(st, "License");
    size_t len;

    (void)err;
    if (format != NULL && memmem(format->value, format->value_len, "copyright-format", 16))
        l->dep5 = true;
    if (files == NULL || license == NULL)
        return 0;
    len = strcspn(license->value, "\n");
    if (len > license->value_len)
        len = license->value_len;
    while (len > 0 && (license->value[len - 1] == ' ' || license->value[len - 1] == '\t'))
        len--;
    if (len == 0)
        return 0;
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->names[i]) == len && memcmp(l->names[i], license->value, len) == 0)
            return 0;
    l->names = xreallocarray(l->names, l->n + 1, sizeof(*l->names));
    l->names[l->n++] = xstrndup(license->value, len);
    return 0;
}

/* One Files stanza's License ("GPL-2+ or Artistic", "BSD-3-clause and MIT"): SPDX's operators
 * for "or" and "and", commas dropped; parenthesised when it has an operator. "with" takes an
 * exception SPDX would have to know: the whole value becomes one LicenseRef. */
static void
license_expression(FILE *out, const char *value)
{
    const char *p = value;
    bool compound = strstr(value, " or ") != NULL || strstr(value, " and ") != NULL;

    if (strstr(value, " with ") != NULL) {
        license_id(out, value, strlen(value));
        return;
    }
    if (compound)
        fputc('(', out);
    while (*p != '\0') {
        size_t len = strcspn(p, " ,");

        if (len == 2 && strncasecmp(p, "or", 2) == 0)
            fputs(" OR ", out);
        else if (len == 3 && strncasecmp(p, "and", 3) == 0)
            fputs(" AND ", out);
        else if (len > 0)
            license_id(out, p, len);
        p += len;
        p += strspn(p, " ,");
    }
    if (compound)
        fputc(')', out);
}

/* The declared license of a package whose copyright file is machine-readable, or NULL. */
static char *
declared_license(struct fs_root *root, const char *source, struct temper_err *err)
{
    const struct fs_path *fp;
    cleanup_free char *text = NULL;
    struct licenses l = {0};
    struct temper_err ignored;
    char *expr = NULL;
    size_t len, expr_len = 0;

    if (fs_resolve(root, source, &fp, err) < 0 ||
        fs_read_file(root, fp, SBOM_TEXT_MAX_BYTES, &text, &len, err) < 0)
        return NULL;
    /* A copyright file that is not deb822 is free text: no license is declared. */
    if (pkg_control_parse(text, len, take_license, &l, &ignored) == 0 && l.dep5 && l.n > 0) {
        FILE *out = open_memstream(&expr, &expr_len);

        if (out == NULL)
            abort();
        for (size_t i = 0; i < l.n; i++) {
            if (i > 0)
                fputs(" AND ", out);
            license_expression(out, l.names[i]);
        }
        if (fclose(out) != 0)
            abort();
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.names[i]);
    free(l.names);
    return expr;
}

/* ---- the document ---- */

/* The first line of /etc/debian_version in the image ("12.11"), or NULL. */
static char *
debian_version(const struct rootfs_plan *plan, struct fs_root *root, struct temper_err *err)
{
    for (size_t i = 0; i < plan->n; i++) {
        const struct rootfs_entry *e = &plan->entries[i];
        const struct fs_path *fp;
        char *text = NULL;
        size_t len;

        if (strcmp(e->path, "etc/debian_version") != 0 || e->type != ROOTFS_FILE ||
            e->source == NULL)
            continue;
        if (fs_resolve(root, e->source, &fp, err) < 0 ||
            fs_read_file(root, fp, SBOM_TEXT_MAX_BYTES, &text, &len, err) < 0)
            return NULL;
        text[strcspn(text, "\n")] = '\0';
        return text;
    }
    return NULL;
}

static int
add_packages(const struct rootfs_plan *plan, struct fs_root *root, const char *os_version,
             json_t *packages, json_t *relationships, char **ids, struct temper_err *err)
{
    cleanup_free char *distro = NULL;

    if (os_version != NULL)
        distro = xasprintf("debian-%.*s", (int)strcspn(os_version, "."), os_version);
    for (size_t i = 0; i < plan->npackages; i++) {
        const struct rootfs_package *pk = &plan->packages[i];
        cleanup_free char *version = purl_escape(pk->version),
                          *arch = purl_escape(pk->architecture);
        cleanup_free char *purl = NULL, *source = NULL, *license = NULL;
        json_t *p;

        ids[i] = spdx_id("Package-deb", i + 1, pk->name);
        p = package_new(ids[i], pk->name, pk->version, "LIBRARY");
        purl = distro != NULL ? xasprintf("pkg:deb/debian/%s@%s?arch=%s&distro=%s", pk->name,
                                          version, arch, distro)
                              : xasprintf("pkg:deb/debian/%s@%s?arch=%s", pk->name, version, arch);
        add_purl(p, purl);
        source = xasprintf("built package from: %s %s", pk->source, pk->source_version);
        set_str(p, "sourceInfo", source);
        if (pk->license_file != NULL) {
            cleanup_free char *path = xasprintf("/%s", pk->license_file);

            license = declared_license(root, path, err);
            if (license == NULL && err->code != TEMPER_E_NONE) {
                json_decref(p);
                return -1;
            }
            if (license != NULL)
                set_str(p, "licenseDeclared", license);
        }
        push(packages, p);
        relate(relationships, "SPDXRef-OperatingSystem", "CONTAINS", ids[i]);
    }
    return 0;
}

static void
add_files(const struct rootfs_plan *plan, const struct layer_file_digest *digests, char **ids,
          json_t *files, json_t *relationships)
{
    for (size_t i = 0; i < plan->n; i++) {
        const struct rootfs_entry *e = &plan->entries[i];
        cleanup_free char *id = NULL, *name = NULL;
        json_t *f, *sums;

        if (e->type != ROOTFS_FILE)
            continue;
        id = xasprintf("SPDXRef-File-%zu", i + 1);
        name = xasprintf("./%s", e->path);
        f = json_object();
        sums = json_array();
        if (f == NULL || sums == NULL)
            abort();
        set_str(f, "SPDXID", id);
        set_str(f, "fileName", name);
        for (int k = 0; k < 2; k++) {
            json_t *sum = json_object();

            if (sum == NULL)
                abort();
            set_str(sum, "algorithm", k == 0 ? "SHA1" : "SHA256");
            set_str(sum, "checksumValue", k == 0 ? digests[i].sha1 : digests[i].sha256);
            push(sums, sum);
        }
        set(f, "checksums", sums);
        set_str(f, "licenseConcluded", NOASSERTION);
        set_str(f, "copyrightText", NOASSERTION);
        push(files, f);
        relate(relationships, e->package != 0 ? ids[e->package - 1] : "SPDXRef-Image", "CONTAINS",
               id);
    }
}

static json_t *
document_new(const struct sbom_image *image, json_t *packages, json_t *files, json_t *relationships)
{
    char created[32];
    struct tm tm;
    time_t t = (time_t)image->epoch;
    json_t *doc = json_object(), *info = json_object(), *creators = json_array();
    cleanup_free char *name = xasprintf("%s:%s", image->name, image->tag);
    cleanup_free char *ns = xasprintf("https://spdx.org/spdxdocs/temper-%s-%s", image->name,
                                      image->manifest_digest + strlen("sha256:"));
    cleanup_free char *tool = xasprintf("Tool: %s", image->tool);

    if (doc == NULL || info == NULL || creators == NULL || gmtime_r(&t, &tm) == NULL)
        abort();
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    set_str(doc, "spdxVersion", "SPDX-2.3");
    set_str(doc, "dataLicense", "CC0-1.0");
    set_str(doc, "SPDXID", "SPDXRef-DOCUMENT");
    set_str(doc, "name", name);
    set_str(doc, "documentNamespace", ns);
    push(creators, json_string(tool));
    set(info, "creators", creators);
    set_str(info, "created", created);
    set(doc, "creationInfo", info);
    set(doc, "packages", packages);
    set(doc, "files", files);
    set(doc, "relationships", relationships);
    return doc;
}

int
sbom_spdx(const struct rootfs_plan *plan, const struct layer_file_digest *digests,
          struct fs_root *root, const struct sbom_image *image, char **json, struct temper_err *err)
{
    json_t *packages = json_array(), *files = json_array(), *relationships = json_array();
    char **ids = xcalloc(plan->npackages + 1, sizeof(*ids));
    cleanup_free char *os_version = NULL, *image_purl = NULL, *digest = NULL, *arch = NULL;
    json_t *img, *doc;
    char *text;
    int rc = -1;

    if (packages == NULL || files == NULL || relationships == NULL)
        abort();
    *err = (struct temper_err){0};
    os_version = debian_version(plan, root, err);
    if (os_version == NULL && err->code != TEMPER_E_NONE)
        goto out;
    digest = purl_escape(image->manifest_digest);
    arch = purl_escape(plan->architecture);
    image_purl = xasprintf("pkg:oci/%s@%s?arch=%s&tag=%s", image->name, digest, arch, image->tag);
    img = package_new("SPDXRef-Image", image->name, image->manifest_digest, "CONTAINER");
    add_purl(img, image_purl);
    push(packages, img);
    relate(relationships, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image");
    if (plan->npackages > 0 || os_version != NULL) {
        /* trivy and grype find the distribution by this identifier and name */
        push(packages,
             package_new("SPDXRef-OperatingSystem", "debian",
                         os_version != NULL ? os_version : NOASSERTION, "OPERATING-SYSTEM"));
        relate(relationships, "SPDXRef-Image", "CONTAINS", "SPDXRef-OperatingSystem");
    }
    if (add_packages(plan, root, os_version, packages, relationships, ids, err) < 0)
        goto out;
    add_files(plan, digests, ids, files, relationships);
    doc = document_new(image, packages, files, relationships);
    packages = files = relationships = NULL;
    text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(doc);
    if (text == NULL)
        abort();
    *json = xasprintf("%s\n", text);
    free(text);
    rc = 0;
out:
    json_decref(packages);
    json_decref(files);
    json_decref(relationships);
    for (size_t i = 0; i < plan->npackages; i++)
        free(ids[i]);
    free(ids);
    return rc;
}
