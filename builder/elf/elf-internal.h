/*
 * Shared inside the elf module only: the search-path pieces of ld.so
 * (ld.so.conf, default directories, dynamic string tokens), kept apart from
 * the loader simulation in elf_resolver.c so each can be read and tested
 * alone.
 */
#ifndef TEMPER_ELF_INTERNAL_H
#define TEMPER_ELF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/fs.h"

/* What ld.so of one machine type substitutes and searches. */
struct ld_machine {
    uint16_t machine;
    unsigned char elf_class;
    const char *triplet;           /* Debian multiarch triplet, or NULL */
    const char *platform;          /* $PLATFORM (AT_PLATFORM) */
    const char *const *hwcaps;     /* glibc-hwcaps subdirectories, best first, NULL-terminated */
};

/* The entry for a machine and class; an entry with a NULL triplet when the machine is unknown. */
const struct ld_machine *ld_machine_find(uint16_t machine, unsigned char elf_class);

/* A list of directory strings, as ld.so would write them. */
struct ld_dirs {
    char **dirs;
    size_t count;
};

void ld_dirs_release(struct ld_dirs *dirs);
/* Appends a copy of dir unless it is already listed; fails over LDCONF_MAX_DIRS. */
int ld_dirs_add(struct ld_dirs *dirs, const char *dir, struct temper_err *err);

/*
 * Parses the text of one ld.so.conf file. Directory lines are added to dirs;
 * each `include PATTERN` is handed to on_include with the pattern made
 * absolute against conf_dir. `hwcap` lines are ignored, as ldconfig does.
 */
int ld_conf_parse(const char *text, size_t len, const char *name, const char *conf_dir,
                  struct ld_dirs *dirs,
                  int (*on_include)(void *ctx, const char *pattern, struct temper_err *err),
                  void *ctx, struct temper_err *err);

/* Reads /etc/ld.so.conf inside root, following includes; a missing file gives no directories. */
int ld_conf_load(struct fs_root *root, struct ld_dirs *dirs, struct temper_err *err);

/*
 * The default directories of ld.so for this machine inside root, and the value
 * of $LIB (into lib, LD_LIB_MAX bytes): Debian's multiarch layout when root has
 * /usr/lib/<triplet>, else /lib64:/usr/lib64 (64-bit) or /lib:/usr/lib.
 */
#define LD_LIB_MAX 64
int ld_default_dirs(struct fs_root *root, const struct ld_machine *m, struct ld_dirs *dirs,
                    char *lib, struct temper_err *err);

/*
 * Expands $ORIGIN, ${ORIGIN}, $LIB, ${LIB}, $PLATFORM and ${PLATFORM} in s into
 * out (TEMPER_PATH_MAX bytes). Returns -1 when the result is too long.
 */
int ld_expand(const char *s, const char *origin, const char *lib, const char *platform,
              char *out);

#endif
