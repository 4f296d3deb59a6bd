/*
 * Reading what an ELF file says of itself, through libelf, from its program
 * headers only: the loader never looks at section headers, and neither do we
 * (a stripped or deliberately broken section table must not change the answer).
 * Strings of the dynamic segment are found as ld.so finds them: DT_STRTAB is
 * an address, mapped to a file offset through the PT_LOAD segment holding it.
 *
 * Every byte is fetched with elf_getdata_rawchunk, which checks the range
 * against the file size: from a descriptor (ELF_C_READ) that is a pread of
 * just the headers and strings needed, a few kilobytes of a file that may be
 * hundreds of megabytes; from memory (the fuzz target) the same calls read
 * the buffer.
 */
#include <elf.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "elf_resolver.h"

/* What the dynamic segment says, before strings are looked up. */
struct dynamic_info {
    GElf_Addr strtab;
    GElf_Xword strsz;
    bool has_strtab;
    GElf_Xword soname, rpath, runpath;
    bool has_soname, has_rpath, has_runpath;
    GElf_Xword *needed; /* grown as entries come, up to ELF_NEEDED_MAX */
    size_t nneeded;
};

struct image {
    size_t len;
    const char *name;
    Elf *elf;
    GElf_Phdr *loads; /* PT_LOAD headers, to map addresses to offsets */
    size_t nloads;
};

static int
elf_error(struct temper_err *err, const char *name, const char *what)
{
    return temper_err_set(err, TEMPER_E_ELF, 0, "'%s': %s", name, what);
}

static int
libelf_error(struct temper_err *err, const char *name, const char *what)
{
    return temper_err_set(err, TEMPER_E_ELF, 0, "'%s': %s: %s", name, what, elf_errmsg(-1));
}

/* Strings tables up to this size are read whole, in one go; larger ones a string at a time. */
#define STRTAB_READ_WHOLE (16 * 1024)

/* Fetches [off, off + size) of the file, bounds-checked by libelf. */
static const char *
read_bytes(const struct image *im, GElf_Off off, size_t size)
{
    Elf_Data *d;

    if (off > im->len || size > im->len - off)
        return NULL;
    d = elf_getdata_rawchunk(im->elf, (int64_t)off, size, ELF_T_BYTE);
    return d != NULL && d->d_size == size ? d->d_buf : NULL;
}

/* Copies the NUL-terminated string at [off, off + max) of the file, or fails. */
static int
copy_string(const struct image *im, const char *what, GElf_Off off, GElf_Xword max, char **out,
            struct temper_err *err)
{
    const char *start, *nul;
    size_t room;

    if (off >= im->len)
        return temper_err_set(err, TEMPER_E_ELF, 0, "'%s': %s past the end of the file", im->name,
                              what);
    room = im->len - (size_t)off;
    if (max < room)
        room = (size_t)max;
    if (room > ELF_STRING_MAX + 1)
        room = ELF_STRING_MAX + 1;
    start = read_bytes(im, off, room);
    if (start == NULL)
        return libelf_error(err, im->name, "cannot read a string");
    nul = memchr(start, '\0', room);
    if (nul == NULL)
        return temper_err_set(err, TEMPER_E_ELF, 0, "'%s': %s is unterminated or too long",
                              im->name, what);
    *out = xstrndup(start, (size_t)(nul - start));
    return 0;
}

/* Maps a virtual address to a file offset and the bytes readable from there in its segment. */
static int
address_to_offset(const struct image *im, GElf_Addr addr, GElf_Off *off, GElf_Xword *avail)
{
    for (size_t i = 0; i < im->nloads; i++) {
        const GElf_Phdr *p = &im->loads[i];

        if (addr >= p->p_vaddr && addr - p->p_vaddr < p->p_filesz) {
            GElf_Off delta = addr - p->p_vaddr;

            if (p->p_offset > im->len || delta > im->len - p->p_offset)
                return -1;
            *off = p->p_offset + delta;
            *avail = p->p_filesz - delta;
            return 0;
        }
    }
    return -1;
}

static int
read_dynamic(struct image *im, const GElf_Phdr *ph, struct dynamic_info *dyn,
             struct elf_object *obj, struct temper_err *err)
{
    size_t entsize = gelf_fsize(im->elf, ELF_T_DYN, 1, EV_CURRENT);
    Elf_Data *data;
    size_t count;

    if (entsize == 0)
        return libelf_error(err, im->name, "cannot size the dynamic segment");
    if (ph->p_offset > im->len || ph->p_filesz > im->len - ph->p_offset)
        return elf_error(err, im->name, "dynamic segment past the end of the file");
    count = (size_t)ph->p_filesz / entsize;
    if (count > ELF_DYN_MAX)
        return elf_error(err, im->name, "dynamic segment has too many entries");
    data = elf_getdata_rawchunk(im->elf, (int64_t)ph->p_offset, count * entsize, ELF_T_DYN);
    if (data == NULL)
        return libelf_error(err, im->name, "cannot read the dynamic segment");
    for (size_t i = 0; i < count; i++) {
        GElf_Dyn d;

        if (gelf_getdyn(data, (int)i, &d) == NULL)
            return libelf_error(err, im->name, "cannot read a dynamic entry");
        switch (d.d_tag) {
        case DT_NULL:
            return 0;
        case DT_NEEDED:
            if (dyn->nneeded == ELF_NEEDED_MAX)
                return elf_error(err, im->name, "too many DT_NEEDED entries");
            dyn->needed = xreallocarray(dyn->needed, dyn->nneeded + 1, sizeof(*dyn->needed));
            dyn->needed[dyn->nneeded++] = d.d_un.d_val;
            break;
        case DT_STRTAB:
            dyn->strtab = d.d_un.d_ptr;
            dyn->has_strtab = true;
            break;
        case DT_STRSZ:
            dyn->strsz = d.d_un.d_val;
            break;
        case DT_SONAME:
            dyn->soname = d.d_un.d_val;
            dyn->has_soname = true;
            break;
        case DT_RPATH:
            dyn->rpath = d.d_un.d_val;
            dyn->has_rpath = true;
            break;
        case DT_RUNPATH:
            dyn->runpath = d.d_un.d_val;
            dyn->has_runpath = true;
            break;
        case DT_BIND_NOW:
            obj->has_bind_now = true;
            break;
        case DT_FLAGS:
            if (d.d_un.d_val & DF_BIND_NOW)
                obj->has_bind_now = true;
            break;
        case DT_FLAGS_1:
            if (d.d_un.d_val & DF_1_NOW)
                obj->has_bind_now = true;
            if (d.d_un.d_val & DF_1_PIE)
                obj->is_pie = true;
            if (d.d_un.d_val & DF_1_NODEFLIB)
                obj->nodeflib = true;
            break;
        default:
            break;
        }
    }
    return 0;
}

static int
dynamic_string(const struct image *im, const struct dynamic_info *dyn, GElf_Xword index, char **out,
               struct temper_err *err)
{
    GElf_Off off;
    GElf_Xword avail;

    if (!dyn->has_strtab)
        return elf_error(err, im->name, "dynamic segment has strings but no DT_STRTAB");
    if (index >= dyn->strsz)
        return elf_error(err, im->name, "dynamic string index past DT_STRSZ");
    if (address_to_offset(im, dyn->strtab, &off, &avail) < 0)
        return elf_error(err, im->name, "DT_STRTAB is outside every loaded segment");
    if (index >= avail)
        return elf_error(err, im->name, "dynamic string past the end of its segment");
    /* A small table is fetched whole once (libelf keeps the chunk), so all its strings cost one
     * read; the copy below then finds the same bytes in it. */
    if (dyn->strsz <= STRTAB_READ_WHOLE && dyn->strsz <= avail) {
        const char *table = read_bytes(im, off, (size_t)dyn->strsz);
        const char *nul;

        if (table == NULL)
            return libelf_error(err, im->name, "cannot read the dynamic string table");
        nul = memchr(table + index, '\0', (size_t)(dyn->strsz - index));
        if (nul == NULL || (size_t)(nul - (table + index)) > ELF_STRING_MAX)
            return temper_err_set(err, TEMPER_E_ELF, 0,
                                  "'%s': dynamic string is unterminated or too long", im->name);
        *out = xstrndup(table + index, (size_t)(nul - (table + index)));
        return 0;
    }
    return copy_string(im, "dynamic string", off + index,
                       (dyn->strsz < avail ? dyn->strsz : avail) - index, out, err);
}

static int
read_dynamic_strings(const struct image *im, const struct dynamic_info *dyn, struct elf_object *obj,
                     struct temper_err *err)
{
    if (dyn->has_soname && dynamic_string(im, dyn, dyn->soname, &obj->soname, err) < 0)
        return -1;
    /* glibc ignores DT_RPATH when DT_RUNPATH is present (elf/get-dynamic-info.h). */
    if (dyn->has_runpath) {
        if (dynamic_string(im, dyn, dyn->runpath, &obj->runpath, err) < 0)
            return -1;
    } else if (dyn->has_rpath && dynamic_string(im, dyn, dyn->rpath, &obj->rpath, err) < 0)
        return -1;
    obj->needed = xreallocarray(NULL, dyn->nneeded, sizeof(*obj->needed));
    for (size_t i = 0; i < dyn->nneeded; i++) {
        if (dynamic_string(im, dyn, dyn->needed[i], &obj->needed[i], err) < 0)
            return -1;
        obj->nneeded = i + 1;
        if (obj->needed[i][0] == '\0')
            return elf_error(err, im->name, "empty DT_NEEDED name");
    }
    return 0;
}

static int
read_headers(struct image *im, const GElf_Ehdr *eh, struct elf_object *obj, struct temper_err *err)
{
    struct dynamic_info dyn_info = {0}, *dyn = &dyn_info;
    GElf_Phdr dynamic_ph = {0};
    bool has_stack = false;
    size_t phnum;

    /* ld.so and the kernel read e_phnum as it is (no PN_XNUM extension) and want program
     * headers of exactly the native size. */
    if (eh->e_phnum > ELF_PHNUM_MAX)
        return elf_error(err, im->name, "too many program headers");
    if (eh->e_phnum > 0 && eh->e_phentsize != gelf_fsize(im->elf, ELF_T_PHDR, 1, EV_CURRENT))
        return elf_error(err, im->name, "program header size is not the expected size");
    if (elf_getphdrnum(im->elf, &phnum) != 0)
        return libelf_error(err, im->name, "cannot read program headers");
    /* libelf quietly counts only the program headers that fit in a truncated file; ld.so
     * refuses such a file, and so do we. */
    if (phnum != eh->e_phnum || eh->e_phoff > im->len ||
        (size_t)phnum * eh->e_phentsize > im->len - eh->e_phoff)
        return elf_error(err, im->name, "truncated: program headers past the end of the file");
    im->loads = xreallocarray(NULL, phnum, sizeof(*im->loads));
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;

        if (gelf_getphdr(im->elf, (int)i, &ph) == NULL)
            return libelf_error(err, im->name, "cannot read a program header");
        switch (ph.p_type) {
        case PT_LOAD:
            im->loads[im->nloads++] = ph;
            break;
        case PT_INTERP:
            if (ph.p_offset > im->len || ph.p_filesz > im->len - ph.p_offset)
                return elf_error(err, im->name, "PT_INTERP past the end of the file");
            if (obj->interp == NULL &&
                copy_string(im, "PT_INTERP", ph.p_offset, ph.p_filesz, &obj->interp, err) < 0)
                return -1;
            break;
        case PT_DYNAMIC:
            dynamic_ph = ph;
            obj->is_dynamic = true;
            break;
        case PT_GNU_RELRO:
            obj->has_relro = true;
            break;
        case PT_GNU_STACK:
            has_stack = true;
            obj->has_exec_stack = (ph.p_flags & PF_X) != 0;
            break;
        default:
            break;
        }
    }
    if (!has_stack)
        obj->has_exec_stack = true;
    if (obj->interp != NULL && obj->interp[0] != '/')
        return elf_error(err, im->name, "PT_INTERP is not an absolute path");
    if (obj->type == ET_DYN && obj->interp != NULL)
        obj->is_pie = true;
    if (obj->is_dynamic) {
        int rc = read_dynamic(im, &dynamic_ph, dyn, obj, err) < 0 ||
                         read_dynamic_strings(im, dyn, obj, err) < 0
                     ? -1
                     : 0;

        free(dyn->needed);
        return rc;
    }
    return 0;
}

/* Reads an image libelf has opened (from memory or from a descriptor); ends it either way. */
static int
parse(Elf *elf, size_t len, const char *name, struct elf_object *out, struct temper_err *err)
{
    struct image im = {.len = len, .name = name, .elf = elf};
    struct elf_object obj = {0};
    GElf_Ehdr eh;
    int rc = -1;

    if (elf == NULL)
        return libelf_error(err, name, "cannot read ELF");
    if (elf_kind(elf) != ELF_K_ELF) {
        elf_error(err, name, "not an ELF file");
        goto out;
    }
    if (gelf_getehdr(elf, &eh) == NULL) {
        libelf_error(err, name, "truncated or malformed ELF header");
        goto out;
    }
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
        elf_error(err, name, "not an executable or shared object");
        goto out;
    }
    obj.elf_class = eh.e_ident[EI_CLASS];
    obj.data = eh.e_ident[EI_DATA];
    obj.machine = eh.e_machine;
    obj.type = eh.e_type;
    if (read_headers(&im, &eh, &obj, err) < 0)
        goto out;
    obj.path = xstrdup(name);
    *out = obj;
    memset(&obj, 0, sizeof(obj));
    rc = 0;
out:
    elf_object_release(&obj);
    free(im.loads);
    elf_end(elf);
    return rc;
}

static int
start_libelf(const char *name, struct temper_err *err)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return libelf_error(err, name, "libelf is unusable");
    return 0;
}

int
elf_object_parse(const void *image, size_t len, const char *name, struct elf_object *out,
                 struct temper_err *err)
{
    if (len < EI_NIDENT || memcmp(image, ELFMAG, SELFMAG) != 0)
        return elf_error(err, name, "not an ELF file");
    if (start_libelf(name, err) < 0)
        return -1;
    /* libelf only reads an image opened this way; the cast drops a const it honours. */
    return parse(elf_memory((char *)image, len), len, name, out, err);
}

int
elf_object_read(int fd, size_t len, const char *name, struct elf_object *out,
                struct temper_err *err)
{
    if (start_libelf(name, err) < 0)
        return -1;
    return parse(elf_begin(fd, ELF_C_READ, NULL), len, name, out, err);
}

void
elf_object_release(struct elf_object *obj)
{
    if (obj == NULL)
        return;
    free((char *)obj->path);
    free(obj->interp);
    free(obj->soname);
    free(obj->rpath);
    free(obj->runpath);
    for (size_t i = 0; i < obj->nneeded; i++)
        free(obj->needed[i]);
    free(obj->needed);
    memset(obj, 0, sizeof(*obj));
}

const char *
elf_machine_name(uint16_t machine)
{
    switch (machine) {
    case EM_X86_64:
        return "x86_64";
    case EM_386:
        return "i386";
    case EM_AARCH64:
        return "aarch64";
    case EM_ARM:
        return "arm";
    case EM_PPC64:
        return "ppc64";
    case EM_PPC:
        return "ppc";
    case EM_S390:
        return "s390";
    case EM_RISCV:
        return "riscv";
    case EM_MIPS:
        return "mips";
    case EM_LOONGARCH:
        return "loongarch";
    default:
        return "unknown";
    }
}
