/*
 * libFuzzer target for the .deb reader: any bytes, given as a package, must
 * be unpacked into a fresh root or refused with TEMPER_E_PARSE,
 * TEMPER_E_LIMIT or TEMPER_E_POLICY (TEMPER_E_IO for what the file system
 * refuses, such as a name over 255 bytes) and a message naming the package;
 * never crash, leak, or make anything outside the root. After an unpack, the
 * owners are listed in strictly increasing bytewise order, each path
 * relative and clean, and each one there (lstat, never following the
 * merged-/usr symlinks: they are recorded themselves). Then the root is
 * generated (the CA bundle, the dpkg database from the control file) and
 * removed.
 *
 * Seeds: fuzz/corpus/deb, made by fuzz/make-corpus.sh.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "pkg/pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[4096], root_dir[4200];

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_deb: %s\n", what);
    abort();
}

static void
remove_base(void)
{
    rmdir(base);
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

struct walk {
    const char *last;
    int dirfd;
};

static int
check_owner(const char *path, const char *package, void *arg)
{
    struct walk *w = arg;
    struct stat st;

    if (w->last != NULL && strcmp(w->last, path) >= 0)
        fail("owners not in strictly increasing order");
    w->last = path;
    if (path[0] == '/' || path[0] == '\0' || strstr(path, "//") != NULL ||
        strcmp(path, "..") == 0 || strncmp(path, "../", 3) == 0 || strstr(path, "/../") != NULL ||
        strstr(path, "/./") != NULL)
        fail("an owner's path is not relative and clean");
    if (package[0] == '\0')
        fail("an owner without a package");
    if (fstatat(w->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
        fail("a recorded path is not in the root");
    if (!S_ISLNK(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)) != 0)
        fail("a setuid or setgid file in the root");
    return 0;
}

/* The base directory must hold the root and nothing else. */
static void
check_nothing_outside(void)
{
    DIR *d = opendir(base);
    struct dirent *de;

    if (d == NULL)
        fail("cannot list the base directory");
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            strcmp(de->d_name, "root") != 0)
            fail("something was made outside the root");
    closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pkg_root *root = NULL;
    struct temper_err err = {0};
    int fd = memfd_create("deb", MFD_CLOEXEC);
    int rc;

    if (base[0] == '\0') {
        const char *tmp = getenv("TMPDIR");

        snprintf(base, sizeof(base), "%s/fuzz-deb-XXXXXX", tmp ? tmp : "/tmp");
        if (mkdtemp(base) == NULL)
            fail("cannot make a directory");
        snprintf(root_dir, sizeof(root_dir), "%s/root", base);
        atexit(remove_base); /* each root is removed after its input: base is empty by then */
    }
    if (fd < 0)
        fail("cannot make a memfd");
    if (size > 0 && write(fd, data, size) != (ssize_t)size)
        fail("cannot write the input");
    if (lseek(fd, 0, SEEK_SET) != 0)
        fail("cannot rewind");
    if (pkg_root_new(root_dir, &root, &err) < 0)
        fail(err.msg);
    rc = pkg_root_unpack(root, fd, "fuzz", &err);
    close(fd);
    if (rc != 0) {
        if (err.code != TEMPER_E_PARSE && err.code != TEMPER_E_LIMIT &&
            err.code != TEMPER_E_POLICY && err.code != TEMPER_E_IO)
            fail("failed with an unexpected code");
        if (strncmp(err.msg, "package 'fuzz': ", 16) != 0)
            fail("a message that does not name the package");
    } else {
        struct walk w = {NULL, open(root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)};

        if (w.dirfd < 0)
            fail("cannot open the root");
        if (pkg_root_owners(root, check_owner, &w) != 0)
            fail("pkg_root_owners failed");
        close(w.dirfd);
        if (pkg_root_generate(root, &err) < 0 && err.code != TEMPER_E_POLICY &&
            err.code != TEMPER_E_IO)
            fail("pkg_root_generate failed with an unexpected code");
    }
    pkg_root_free(root);
    check_nothing_outside();
    nftw(root_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
