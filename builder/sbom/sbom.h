/*
 * sbom: what an image holds, as a document for auditors and scanners.
 *
 * sbom_spdx writes an SPDX 2.3 JSON document of an image from its plan (each entry's package,
 * the packages' names, versions and sources: rootfs_dpkg.c) and the digests of its files (as
 * the layer writer hashed them):
 *
 * - a package for the image (purpose CONTAINER, its manifest digest as version), one for the
 *   operating system, SPDXRef-OperatingSystem: "debian" and /etc/debian_version's version, what
 *   trivy and grype read to pick advisories; and one per Debian package that ships a file or
 *   symlink of the image, with its purl (pkg:deb/debian/NAME@VERSION?arch=A&distro=debian-12),
 *   its source package, and its declared license when its copyright file is machine-readable
 *   (DEP-5; Debian's short names as SPDX identifiers, the others as LicenseRef-), else
 *   NOASSERTION;
 * - every regular file of the image, with its SHA-1 (which SPDX 2.3 requires) and SHA-256;
 * - relationships: the document DESCRIBES the image, the image CONTAINS the operating system,
 *   which CONTAINS each package, which CONTAINS its files; the image CONTAINS the files no
 *   package shipped (what temper wrote, what the recipe added).
 *
 * No time but the image's epoch, no random identifier (the namespace is made of the name and
 * the manifest digest), keys sorted, arrays in the plan's order: a rebuild gives the same
 * bytes.
 */
#ifndef TEMPER_SBOM_SBOM_H
#define TEMPER_SBOM_SBOM_H

#include <stdint.h>

#include "base/error.h"
#include "base/fs.h"
#include "layer/layer_writer.h"
#include "rootfs/rootfs_plan.h"

struct sbom_image {
    const char *name;            /* the recipe's name */
    const char *tag;             /* the tag the layout gives it */
    const char *manifest_digest; /* "sha256:<hex>" */
    const char *tool;            /* "temper-0.1.0" */
    int64_t epoch;               /* the image's time, the document's creation time */
};

/*
 * The SPDX 2.3 JSON document of the image built from `plan` (`digests`: one per plan entry, as
 * layer_write filled them). Reads the copyright files and /etc/debian_version the plan takes
 * from `root`, each at most SBOM_TEXT_MAX_BYTES. *json is NUL-terminated, ends with a newline,
 * and is the caller's.
 */
int sbom_spdx(const struct rootfs_plan *plan, const struct layer_file_digest *digests,
              struct fs_root *root, const struct sbom_image *image, char **json,
              struct temper_err *err);

#endif
