/*
 * limits: every cap temper puts on what it reads. Input is untrusted (a root
 * directory someone else filled, ELF files, config files), so each buffer
 * that grows from input has a cap here; going over it is TEMPER_E_LIMIT with a
 * message that names the subject, never an unbounded allocation.
 */
#ifndef TEMPER_BASE_LIMITS_H
#define TEMPER_BASE_LIMITS_H

/* Longest path temper builds or accepts, terminator included (Linux PATH_MAX). */
#define TEMPER_PATH_MAX 4096
/* Symlinks followed while resolving one path (Linux's MAXSYMLINKS). */
#define TEMPER_SYMLINK_MAX 40
/* Path components walked while resolving one path, symlink targets included: enough for the
 * longest path (2,047 components) and then some. Each is one small stack frame. */
#define TEMPER_PATH_STEPS_MAX 4096

/* Largest ELF file the resolver maps (the largest library on a Debian system is ~200 MiB). */
#define ELF_FILE_MAX_BYTES (1024L * 1024 * 1024)
/* Program headers per ELF file (real files have about 15). */
#define ELF_PHNUM_MAX 1024
/* Entries of a PT_DYNAMIC segment (real files have about 40). */
#define ELF_DYN_MAX 8192
/* DT_NEEDED entries per object (the most on a Debian system is about 110). */
#define ELF_NEEDED_MAX 1024
/* Length of one string read from an ELF string table, terminator excluded. */
#define ELF_STRING_MAX 4095
/* Symbol versions: the bytes of an object's DT_VERNEED or DT_VERDEF records (libstdc++'s, the
 * largest on a Debian system, take 3 KB), and the versions it needs or defines in all. */
#define ELF_VERSION_BYTES_MAX (256 * 1024)
#define ELF_VERSIONS_MAX 4096
/* The dynamic symbols read for what an object imports: the symbols before DT_GNU_HASH's first
 * hashed one (every undefined symbol sits there), or all DT_HASH counts. A C++ library imports a
 * few thousand; libLLVM, the most on a Debian system, under 5,000. */
#define ELF_IMPORTS_MAX (256 * 1024)

/* The CA bundle temper makes: certificates of /usr/share/ca-certificates (Debian 12's: 146 files,
 * 210 KB) and those a recipe names. */
#define CA_BUNDLE_MAX_BYTES (16 * 1024 * 1024)
#define CA_CERTIFICATES_MAX 4096

/* A service name of nsswitch.conf (glibc's are under 16 bytes: files, systemd, winbind). */
#define NSS_SERVICE_MAX 64
/* One gconv-modules file (glibc's own is 60 KB), and the files of gconv-modules.d listed. */
#define GCONV_CONF_MAX_BYTES (4 * 1024 * 1024)
#define GCONV_CONF_FILES_MAX 1024

/* Size of one ld.so.conf file, and how deeply `include` may nest. */
#define LDCONF_MAX_BYTES (1024 * 1024)
/* Bytes of ld.so.conf and every file it includes, together. */
#define LDCONF_TOTAL_MAX_BYTES (16 * 1024 * 1024)
#define LDCONF_INCLUDE_DEPTH 16
/* Directories in the whole ld.so.conf search list. */
#define LDCONF_MAX_DIRS 4096
/* Directory entries listed for every `include` glob of one load, together; files read in all;
 * and components with wildcards in one pattern (each one is a level of recursion). */
#define LDCONF_GLOB_MAX 65536
#define LDCONF_FILES_MAX 1024
#define LDCONF_GLOB_COMPONENTS 4

/* Lookups (a directory visited, a file tried in one of its subdirectories) for one DT_NEEDED
 * name, over every DT_RPATH up a chain of loaders; and for a whole run (every lookup that
 * misses leaves a cached answer of about 150 bytes: 600 MB at most). A whole Debian system
 * takes about 30,000. */
#define SEARCH_MAX_PROBES 65536
#define RESOLVE_MAX_PROBES (4L * 1024 * 1024)

/* Objects loaded for one input file (glibc's own practical limit is far lower). */
#define RESOLVE_MAX_OBJECTS 65536

/* Entries of one image (a Debian system has about 200,000 files), and names listed from one
 * directory of a tree. */
#define PLAN_MAX_ENTRIES (4 * 1024 * 1024)
/* The root's dpkg database, read to say which package shipped each file of the image: the status
 * file (Debian 12 with every package of main installed: about 60 MB), each package's .list and
 * .md5sums, and how many packages it may hold. */
#define DPKG_STATUS_MAX_BYTES (256L * 1024 * 1024)
#define DPKG_LIST_MAX_BYTES (64L * 1024 * 1024)
#define DPKG_PACKAGES_MAX (256 * 1024)
/* A copyright file or /etc/debian_version read for the SBOM (the largest copyright file in
 * Debian 12's main is about 1.5 MB). */
#define SBOM_TEXT_MAX_BYTES (16L * 1024 * 1024)
#define TREE_DIR_MAX_ENTRIES (1024 * 1024)
/* Size of one recipe file (real recipes are a few KiB), and of a recipe with every file it
 * includes, together. */
#define RECIPE_MAX_BYTES (1024 * 1024)
#define RECIPE_TOTAL_MAX_BYTES (16 * 1024 * 1024)
/* How deeply recipe `include`s may nest (the top recipe is level 0). */
#define RECIPE_INCLUDE_DEPTH 16
/* YAML nodes (scalars, lists, maps) of a recipe and its includes, together: this bounds every
 * list and map of struct recipe. A python image's recipe has about a hundred. */
#define RECIPE_MAX_NODES 65536
/* Lists and maps nested inside each other in one recipe file. The vocabulary needs 5 (a tree's
 * exclude list); the cap bounds the parser's recursion. */
#define RECIPE_MAX_NESTING 16
/* An OCI layout's index.json (one tagged image takes about 300 bytes: some 14,000 images), and
 * its oci-layout file (30 bytes). */
#define OCI_INDEX_MAX_BYTES (4 * 1024 * 1024)
#define OCI_LAYOUT_FILE_MAX_BYTES 4096
/* An image manifest (the distribution spec lets a registry refuse one over 4 MiB; temper's are
 * under 1 KiB), and an image config (one history entry per layer: a few KiB). */
#define OCI_MANIFEST_MAX_BYTES (4 * 1024 * 1024)
#define OCI_CONFIG_MAX_BYTES (8 * 1024 * 1024)
/* Layers of one image, and diff_ids of one config (Docker's overlay2 stacks at most 128). */
#define OCI_MANIFEST_MAX_LAYERS 1024
/* Images one image index names (distroless publishes up to 6 platforms; Docker Official Images
 * 8, with as many attestation manifests). */
#define OCI_INDEX_MAX_IMAGES 64
/* The largest zstd window a layer being read may ask for, as a power of 2: 2^27 = 128 MiB, which
 * is libzstd's own default limit (zstd -19 uses 2^23; only --long or --ultra go beyond). */
#define LAYER_ZSTD_WINDOW_LOG_MAX 27

/* temper diff and inspect: entries kept from one layer (a Debian system has about 200,000
 * files); memory one layer's entries hold (their slots, and their paths, link targets and pax
 * records with the slots of these, each allocation counted as xalloc_held says: 1,048,576
 * entries with short names take about 230 MiB); memory one entry's pax records hold (xattrs,
 * ACLs: real ones are a few hundred bytes; at most about 700 records); and differences kept for
 * one comparison (more are counted, not listed). */
#define DIFF_LAYER_MAX_ENTRIES (1024 * 1024)
#define DIFF_LAYER_MAX_HELD_BYTES (256L * 1024 * 1024)
#define DIFF_PAX_MAX_BYTES (64 * 1024)
/* A file of /var/lib/dpkg/status.d/ that the diff module keeps to name an image's packages: a
 * stanza is a few KB; the md5sums of libpython3.11-stdlib, Debian's longest, 230 KB. A bigger
 * one names no package (and counts as held memory all the same while read). */
#define DIFF_DPKG_FILE_MAX_BYTES (4 * 1024 * 1024)
#define DIFF_MAX_ITEMS (256 * 1024)
/* Bytes of the differences kept (text lines and JSON text together, plus a few hundred bytes of
 * bookkeeping each): more are counted, not listed. And the bytes of one value (a pax record, a
 * config field, a key) shown in a difference: a longer one is cut there and followed by its
 * length and sha256, so that one difference takes a few KiB at most. */
#define DIFF_MAX_ITEM_BYTES (256L * 1024 * 1024)
#define DIFF_VALUE_SHOWN_BYTES 1024
/* temper inspect's hardening summary: paths of the whole image it keeps (what extraction would
 * leave; a Debian system has about 200,000), and the memory they hold: each path's string as
 * allocated and its record twice (a layer is merged into a new array beside the old one). */
#define DIFF_IMAGE_MAX_PATHS (4 * 1024 * 1024)
#define DIFF_IMAGE_MAX_HELD_BYTES (256LL * 1024 * 1024)
/* temper diff and inspect: uncompressed bytes one layer may expand to (its tar stream; and, counted
 * apart, the contents hashed, whose sparse holes are made up without being read): 1 GiB, plus
 * 1100 times its compressed size (gzip cannot go beyond 1032 times, so only zstd and sparse
 * entries ever meet this), at most 64 GiB (the largest real layers are a few GiB). Each byte
 * is hashed twice at most: this bounds the time a layer takes. */
#define DIFF_LAYER_FREE_BYTES (1LL << 30)
#define DIFF_LAYER_MAX_RATIO 1100
#define DIFF_LAYER_MAX_BYTES (64LL << 30)

/* A key file read by sign (a P-256 or Ed25519 PEM key is under 1 KiB, encrypted or not): anything
 * bigger is not a key. */
#define SIGN_KEY_MAX_BYTES (64 * 1024)
/* A simple-signing payload (cosign's is about 250 bytes, plus any `optional` annotations). */
#define SIGN_PAYLOAD_MAX_BYTES (64 * 1024)
/* critical.identity.docker-reference: a repository name is at most 255 bytes (distribution's
 * reference grammar), with room for a tag (128) or a digest (71) after it. */
#define SIGN_IDENTITY_MAX_BYTES 512
/* Base64 text of one signature: DER ECDSA P-256 takes at most 96 characters, Ed25519 88. */
#define SIGN_SIGNATURE_MAX_B64 512
/* A key password: OpenSSL's PEM and PKCS#8 decoders hand the passphrase callback 1024 bytes. */
#define SIGN_PASSWORD_MAX_BYTES 1024
/* What decrypting an encrypted key may cost, read from its PKCS#8 parameters before any work:
 * PBKDF2 iterations (and those of the older PKCS#5 v1.5 and PKCS#12 schemes), about 2.3 s here
 * (PBKDF2-HMAC-SHA256 on one core), 4,900 times `openssl pkcs8`'s default of 2048 and 16 times
 * OWASP's 600,000; scrypt's N * r * p, about 2.6 s, 32 times `temper keygen`'s and `openssl
 * pkcs8 -scrypt`'s N=16384, r=8, p=1 (80 ms); and scrypt's memory, 128 * r * (N + p + 2) bytes
 * as OpenSSL counts it, at most what OpenSSL allows scrypt (32 MiB). A key over one of them
 * would keep temper busy for minutes (2^31-1 PBKDF2 iterations: about 8 minutes) and is
 * refused. */
#define SIGN_KDF_MAX_ITERATIONS 10000000
#define SIGN_SCRYPT_MAX_WORK (1 << 22)
#define SIGN_SCRYPT_MAX_MEMORY (32 * 1024 * 1024)

/* A signature manifest (one layer per signature: about 300 bytes each), and the signatures of
 * one image. */
#define SIGN_MANIFEST_MAX_BYTES (4 * 1024 * 1024)
#define SIGN_LAYERS_MAX 1024
/* An attestation's DSSE envelope: its statement holds a whole SPDX document (about 400 bytes a
 * file: 0.7 MB for the python image, 60 MB for an image of 100,000 files), in base64. */
#define SIGN_ENVELOPE_MAX_BYTES (128 * 1024 * 1024)

/* A registry's answer that temper reads (an error document, a token, a signature manifest: a few
 * KiB; a manifest is capped by OCI_MANIFEST_MAX_BYTES), one response header line, and a
 * WWW-Authenticate value (realm, service and scope fit in about 300 bytes). */
#define REGISTRY_BODY_MAX_BYTES (4 * 1024 * 1024)
#define REGISTRY_HEADER_MAX_BYTES 8192
#define REGISTRY_CHALLENGE_MAX_BYTES 4096
/* A docker config.json (a few KiB, even with many registries), a credential from it or from the
 * command line, and a bearer token (JWTs from real registries are 1-4 KiB). */
#define REGISTRY_DOCKER_CONFIG_MAX_BYTES (1024 * 1024)
#define REGISTRY_CREDENTIAL_MAX_BYTES 1024
#define REGISTRY_TOKEN_MAX_BYTES (16 * 1024)
/* Seconds of Retry-After honoured at most, and of backoff between tries. */
#define REGISTRY_RETRY_AFTER_MAX_S 60
/* A registry client's whole time, by default (--timeout): one hour. */
#define REGISTRY_CLIENT_TIMEOUT_MS (3600L * 1000L)
/* Manifests a registry client keeps after finding them (each under OCI_MANIFEST_MAX_BYTES). */
#define REGISTRY_FETCHED_MANIFESTS 2
/* Redirects followed for one blob download (to storage, a CDN). */
#define REGISTRY_REDIRECTS_MAX 5
/* The deadline of one registry request, whatever the bytes trickle in at: 120 s for a request
 * without a large body (HEAD, GET, a manifest PUT, a token), plus, for a blob upload, one second
 * per 64 KiB (a 1 GiB layer gets about 4.6 h; a slower link than 64 KiB/s fails it). */
#define REGISTRY_REQUEST_DEADLINE_MS 120000L
#define REGISTRY_UPLOAD_MIN_BYTES_PER_S (64 * 1024)

/* Repositories a push may mount blobs from (--from): each missing blob may cost a request per
 * repository. */
#define REGISTRY_MOUNT_FROM_MAX 16

/* Bytes libcurl reads from a blob file at a time while uploading it (libcurl's most is 2 MiB). */
#define REGISTRY_UPLOAD_BUFFER (1024 * 1024)

/* ---- Debian package sources (pkg) ---- */

/* A version (the longest in bookworm's main is under 80 bytes). */
#define PKG_VERSION_MAX_BYTES 256
/* Fields of one stanza (a Packages stanza has about 20), and bytes of one field's value, its
 * continuation lines included (a Release file's SHA256 list of bookworm main is about 120 KB). */
#define PKG_STANZA_FIELDS_MAX 256
#define PKG_FIELD_MAX_BYTES (4 * 1024 * 1024)
/* Items of one relationship field, and alternatives of one item (Debian's most: about 200
 * and 10). */
#define PKG_DEPS_MAX 4096
#define PKG_ALTS_MAX 64
/* An InRelease file (bookworm's is about 180 KB), and the indexes one lists (about 600). */
#define PKG_RELEASE_MAX_BYTES (16 * 1024 * 1024)
#define PKG_RELEASE_FILES_MAX 65536
/* A decompressed Packages index (bookworm main amd64: 45 MB), and packages in all the indexes
 * of one lock (bookworm main amd64: 63,000). */
#define PKG_INDEX_MAX_BYTES (512L * 1024 * 1024)
#define PKG_INDEX_PACKAGES_MAX (1024 * 1024)
/* Packages chosen for one architecture (a python image takes about 30). */
#define PKG_CHOSEN_MAX 65536
/* A keyring file (Debian's archive keyring is 8 KB), a lock file and one of its strings, and
 * the suites of one lock. */
#define PKG_KEYRING_MAX_BYTES (4 * 1024 * 1024)
#define PKG_LOCK_MAX_BYTES (64 * 1024 * 1024)
#define PKG_LOCK_STRING_MAX_BYTES 4096
#define PKG_LOCK_REPOSITORIES_MAX 64
/* Downloads retried. */
#define PKG_FETCH_RETRIES 4
/* A compressed Packages index fetched (bookworm main amd64: 8.8 MB as xz). */
#define PKG_INDEX_COMPRESSED_MAX_BYTES (128L * 1024 * 1024)

/* A .deb (an ar archive): members read (real ones have 3: debian-binary, control.tar, data.tar;
 * dpkg allows more whose names start with '_', and ignores any after data.tar); bytes of
 * debian-binary read ("2.0\n" today; deb(5) lets later minor versions add lines); and bytes of
 * any other member skipped unread, control.tar above all (the largest, a package with a hundred
 * thousand files, has a few MiB of md5sums): on a pipe, skipping is reading. */
#define PKG_DEB_MEMBERS_MAX 16
#define PKG_DEB_BINARY_MAX_BYTES 1024
#define PKG_DEB_SKIP_MAX_BYTES (64L * 1024 * 1024)
/* The control and md5sums files of one package's control.tar, kept for the root's dpkg
 * database (python3.11's md5sums, the largest in Debian 12's main, is under 200 KiB). */
#define PKG_DEB_CONTROL_MAX_BYTES (4 * 1024 * 1024)
/* Entries of one data.tar (the largest icon themes ship about a hundred thousand files): each
 * costs a record of about 150 bytes for the root's life. */
#define PKG_DEB_MAX_ENTRIES (1024 * 1024)
/* Bytes one data.tar may expand to, its tar stream and the contents written or hashed alike: an
 * xz or zstd member can expand a thousandfold and more (a decompression bomb), and the largest
 * package in bookworm (linux-image-*-dbg) unpacks to 5.4 GiB. And the contents of every package
 * of one root together: the disk a root may fill (images are a few GiB at most). */
#define PKG_DEB_MAX_BYTES (16LL << 30)
#define PKG_ROOT_MAX_BYTES (64LL << 30)
/* A path in a data.tar, terminator excluded: once "usr/" is put in front of it (merged /usr), it
 * must still fit TEMPER_PATH_MAX. And a symlink's target: the kernel's own limit (PATH_MAX less
 * the terminator). */
#define PKG_DEB_PATH_MAX_BYTES (TEMPER_PATH_MAX - 5)
#define PKG_DEB_LINK_MAX_BYTES (TEMPER_PATH_MAX - 1)
#endif
