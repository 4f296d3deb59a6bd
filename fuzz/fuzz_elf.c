/*
 * libFuzzer target for elf_object_parse: any byte string, parsed as an ELF
 * image, must give either an object or TEMPER_E_ELF / TEMPER_E_LIMIT, never a
 * crash, an out-of-bounds read, a leak or an unbounded allocation.
 *
 * The same bytes are also put in a memfd and read with elf_object_read, the
 * path the resolver takes (libelf's ELF_C_READ, pread of the pieces needed):
 * both entry points promise the same answer, so any difference is reported.
 * The symbol versions are read too (elf_versions_parse): each need names a
 * file and a version, each definition a name, or the reading fails with
 * TEMPER_E_ELF / TEMPER_E_LIMIT; never more than ELF_VERSIONS_MAX of them. The imports read
 * with them (DT_SYMTAB's undefined symbols, counted through DT_GNU_HASH or DT_HASH) are bounded
 * by ELF_IMPORTS_MAX and set only the bits of elf_resolver.h.
 *
 * Seeds: fuzz/corpus/elf, made by fuzz/make-corpus.sh.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/limits.h"
#include "elf/elf-internal.h"
#include "elf/elf_resolver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_elf: %s\n", what);
    abort();
}

/* A string the object owns must be terminated within ELF_STRING_MAX (ASan checks the bytes). */
static void
check_string(const char *s, int may_be_null)
{
    if (s == NULL) {
        if (!may_be_null)
            fail("missing string");
        return;
    }
    if (strnlen(s, ELF_STRING_MAX + 1) > ELF_STRING_MAX)
        fail("string longer than ELF_STRING_MAX");
}

static void
check_object(const struct elf_object *o, const uint8_t *data)
{
    check_string(o->path, 0);
    check_string(o->interp, 1);
    check_string(o->soname, 1);
    check_string(o->rpath, 1);
    check_string(o->runpath, 1);
    if (o->rpath != NULL && o->runpath != NULL)
        fail("both DT_RPATH and DT_RUNPATH kept");
    if (o->interp != NULL && o->interp[0] != '/')
        fail("relative PT_INTERP accepted");
    if (o->nneeded > ELF_NEEDED_MAX)
        fail("more DT_NEEDED than ELF_NEEDED_MAX");
    if (o->nneeded > 0 && o->needed == NULL)
        fail("DT_NEEDED count without names");
    for (size_t i = 0; i < o->nneeded; i++) {
        check_string(o->needed[i], 0);
        if (o->needed[i][0] == '\0')
            fail("empty DT_NEEDED name accepted");
    }
    if (o->elf_class != data[EI_CLASS] || o->data != data[EI_DATA])
        fail("class or byte order differs from e_ident");
    if (o->type != ET_EXEC && o->type != ET_DYN)
        fail("accepted an object that is neither ET_EXEC nor ET_DYN");
    (void)elf_machine_name(o->machine);
    (void)ld_machine_find(o->machine, o->elf_class);
}

static int
same_string(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int
same_object(const struct elf_object *a, const struct elf_object *b)
{
    if (a->elf_class != b->elf_class || a->data != b->data || a->machine != b->machine ||
        a->type != b->type || a->is_dynamic != b->is_dynamic || a->nodeflib != b->nodeflib ||
        a->is_pie != b->is_pie || a->has_relro != b->has_relro ||
        a->has_bind_now != b->has_bind_now || a->has_exec_stack != b->has_exec_stack ||
        a->nneeded != b->nneeded)
        return 0;
    if (!same_string(a->interp, b->interp) || !same_string(a->soname, b->soname) ||
        !same_string(a->rpath, b->rpath) || !same_string(a->runpath, b->runpath))
        return 0;
    for (size_t i = 0; i < a->nneeded; i++) {
        if (strcmp(a->needed[i], b->needed[i]) != 0)
            return 0;
    }
    return 1;
}

static void
check_error(const struct temper_err *err)
{
    if (err->code != TEMPER_E_ELF && err->code != TEMPER_E_LIMIT)
        fail("failure with an unexpected error code");
    if (memchr(err->msg, '\0', sizeof(err->msg)) == NULL || err->msg[0] == '\0')
        fail("failure without a message");
}

/* The memfd holding the current input for elf_object_read; made once. */
static int
input_fd(void)
{
    static int fd = -1;

    if (fd < 0) {
        fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
        if (fd < 0)
            fail("memfd_create");
    }
    return fd;
}

static int
read_through_fd(const uint8_t *data, size_t size, struct elf_object *out, struct elf_ident *ident,
                struct temper_err *err)
{
    int fd = input_fd();
    size_t done = 0;

    if (ftruncate(fd, 0) != 0)
        fail("ftruncate");
    while (done < size) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);

        if (n <= 0)
            fail("pwrite");
        done += (size_t)n;
    }
    return elf_object_read(fd, size, "fuzz", out, ident, err);
}

static void
check_versions(const uint8_t *data, size_t size)
{
    struct elf_versions v = {0};
    struct temper_err err = {0};

    if (elf_versions_parse(data, size, "fuzz", &v, &err) < 0) {
        check_error(&err);
        return;
    }
    if (v.nneeds > ELF_VERSIONS_MAX || v.ndefs > ELF_VERSIONS_MAX)
        fail("more versions than the cap");
    if ((v.imports & ~(unsigned)(ELF_IMPORT_UNWIND | ELF_IMPORT_ICONV)) != 0)
        fail("an import bit no watched function sets");
    for (size_t i = 0; i < v.nneeds; i++)
        if (v.needs[i].file == NULL || v.needs[i].version == NULL)
            fail("a version need without its file or name");
    for (size_t i = 0; i < v.ndefs; i++)
        if (v.defs[i].name == NULL)
            fail("a version definition without a name");
    elf_versions_release(&v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct elf_object mem = {0}, file = {0};
    struct elf_ident ident;
    struct temper_err err_mem = {0}, err_file = {0};
    int rc_mem, rc_file;

    check_versions(data, size);
    rc_mem = elf_object_parse(data, size, "fuzz", &mem, &err_mem);
    if (rc_mem == 0)
        check_object(&mem, data);
    else if (rc_mem == -1)
        check_error(&err_mem);
    else
        fail("elf_object_parse returned neither 0 nor -1");

    /* elf_object_read has no magic check of its own (libelf's elf_kind does it); only ELF
     * images are compared, so archives and other kinds libelf knows are not a difference. */
    if (size >= EI_NIDENT && memcmp(data, ELFMAG, SELFMAG) == 0) {
        rc_file = read_through_fd(data, size, &file, &ident, &err_file);
        if (rc_file == 0)
            check_object(&file, data);
        else if (rc_file == -1)
            check_error(&err_file);
        else
            fail("elf_object_read returned neither 0 nor -1");
        if (rc_mem != rc_file) {
            fprintf(stderr, "elf_object_parse: %s\nelf_object_read: %s\n",
                    rc_mem == 0 ? "ok" : err_mem.msg, rc_file == 0 ? "ok" : err_file.msg);
            fail("elf_object_parse and elf_object_read disagree");
        }
        if (rc_mem == 0 && !same_object(&mem, &file))
            fail("elf_object_parse and elf_object_read read different objects");
        /* The start the resolver judges candidates by is the file's own, and a file is never
         * skipped as another class or machine than itself. */
        if (rc_file == 0) {
            struct temper_err verdict_err;

            if (!ident.valid || ident.bytes[EI_CLASS] != file.elf_class ||
                ident.bytes[EI_DATA] != file.data)
                fail("elf_ident disagrees with the object read");
            if (elf_ident_verdict(&ident, &file, "fuzz", NULL, &verdict_err) == 0)
                fail("elf_ident_verdict skips a file as another class or machine than itself");
        }
        if (rc_file == 0)
            elf_object_release(&file);
    }
    if (rc_mem == 0)
        elf_object_release(&mem);
    return 0;
}
