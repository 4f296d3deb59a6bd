/*
 * Reading what an ELF file says of itself, from its program headers only:
 * the loader never looks at section headers, and neither do we (a stripped or
 * deliberately broken section table must not change the answer). Strings of
 * the dynamic segment are found as ld.so finds them: DT_STRTAB is an address,
 * mapped to a file offset through the PT_LOAD segment holding it.
 *
 * I/O and decoding are split. temper reads the few ranges it needs itself,
 * from a descriptor with pread or from a memory image (the fuzz target), the
 * same code either way: the head of the file (ELF header and program
 * headers, usually the interpreter and often the strings too), the dynamic
 * segment, and one window of the string table when the head does not hold
 * it. Two or three reads of a file that may be hundreds of megabytes. libelf decodes what was read:
 * the head through elf_memory (with the section table fields zeroed in our copy, since the head
 * alone does not hold it and nothing here uses it), the dynamic segment through gelf_xlatetom, for
 * either class and byte order. libelf's own descriptor mode costs four more system calls and a
 * section table allocation per file, which is most of the time of resolving a whole system.
 */
#include <elf.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "elf_resolver.h"

/*
 * The head read first: the ELF header and the program headers of nearly every file, and for
 * small and middling files the string table too (8 KiB measured best over a whole system:
 * fewer reads, little copying).
 */
#define HEAD_BYTES 8192

/*
 * The strings an object names (DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH) are
 * read in one window from the lowest to the highest index, plus this much for
 * the last string; a window larger than STRTAB_WINDOW_MAX, or a string that
 * does not end inside it, is read alone. Tables can be megabytes (C++
 * libraries) while the names wanted sit together in a few hundred bytes.
 */
#define STRTAB_WINDOW_SLACK 256
#define STRTAB_WINDOW_MAX (64 * 1024)

/* Dynamic segments up to this many entries (real ones have about 40) are read on the stack. */
#define SMALL_DYN 128

/* Where the bytes come from: a memory image, or a descriptor (mem == NULL). */
struct source {
    const char *mem;
    int fd;
    size_t len;
};

/* What the dynamic segment says, before strings are looked up. */
struct dynamic_info {
    GElf_Addr strtab;
    GElf_Xword strsz;
    bool has_strtab;
    GElf_Xword soname, rpath, runpath;
    bool has_soname, has_rpath, has_runpath;
    GElf_Xword *needed; /* grown as entries come, up to ELF_NEEDED_MAX */
    size_t nneeded;
    GElf_Addr verneed, verdef; /* DT_VERNEED, DT_VERDEF, when has_verneed, has_verdef */
    bool has_verneed, has_verdef;
    GElf_Addr symtab, hash, gnu_hash; /* DT_SYMTAB, DT_HASH, DT_GNU_HASH, when nonzero */
};

struct string_window {
    char *bytes; /* NULL: no window, every string read alone; else small or a heap copy */
    GElf_Xword lo, len;
    char small[1024];
};

struct image {
    const struct source *src;
    const char *name;
    char head[HEAD_BYTES]; /* the first head_len bytes of the file, section fields zeroed */
    size_t head_len;
    char *compact; /* when the program headers are not in head: ELF header + them */
    Elf *elf;      /* libelf's view of head, or of compact */
    GElf_Ehdr eh;
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

/* Reads [off, off + size) of the file into buf: 0, or -1 when the range is not all there. */
static int
source_read(const struct source *src, GElf_Off off, void *buf, size_t size)
{
    size_t done = 0;

    if (off > src->len || size > src->len - off)
        return -1;
    if (src->mem != NULL) {
        memcpy(buf, src->mem + off, size);
        return 0;
    }
    while (done < size) {
        ssize_t n = pread(src->fd, (char *)buf + done, size - done, (off_t)(off + done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* an error, or a file that shrank since it was measured */
        done += (size_t)n;
    }
    return 0;
}

/* Reads [off, off + size) of the file, from the head already read when it holds the range
 * (past the ELF header, whose section fields the head has zeroed). */
static int
image_read(const struct image *im, GElf_Off off, void *buf, size_t size)
{
    if (off >= sizeof(Elf64_Ehdr) && off <= im->head_len && size <= im->head_len - off) {
        memcpy(buf, im->head + off, size);
        return 0;
    }
    return source_read(im->src, off, buf, size);
}

/* Copies the NUL-terminated string at [off, off + max) of the file, or fails. */
static int
copy_string(const struct image *im, const char *what, GElf_Off off, GElf_Xword max, char **out,
            struct temper_err *err)
{
    char buf[ELF_STRING_MAX + 1];
    size_t room;
    const char *nul;

    if (off >= im->src->len)
        return temper_err_set(err, TEMPER_E_ELF, 0, "'%s': %s past the end of the file", im->name,
                              what);
    room = im->src->len - (size_t)off;
    if (max < room)
        room = (size_t)max;
    if (room > sizeof(buf))
        room = sizeof(buf);
    if (image_read(im, off, buf, room) < 0)
        return temper_err_set(err, TEMPER_E_IO, errno, "'%s': cannot read %s", im->name, what);
    nul = memchr(buf, '\0', room);
    if (nul == NULL)
        return temper_err_set(err, TEMPER_E_ELF, 0, "'%s': %s is unterminated or too long",
                              im->name, what);
    *out = xstrndup(buf, (size_t)(nul - buf));
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

            if (p->p_offset > im->src->len || delta > im->src->len - p->p_offset)
                return -1;
            *off = p->p_offset + delta;
            *avail = p->p_filesz - delta;
            return 0;
        }
    }
    return -1;
}

static void
take_dynamic_entry(GElf_Sxword tag, GElf_Xword val, struct dynamic_info *dyn,
                   struct elf_object *obj)
{
    switch (tag) {
    case DT_NEEDED:
        if ((dyn->nneeded & (dyn->nneeded - 1)) == 0) /* 0, 1, 2, 4...: double */
            dyn->needed =
                xreallocarray(dyn->needed, dyn->nneeded ? 2 * dyn->nneeded : 1, sizeof(GElf_Xword));
        dyn->needed[dyn->nneeded++] = val;
        break;
    case DT_STRTAB:
        dyn->strtab = val;
        dyn->has_strtab = true;
        break;
    case DT_STRSZ:
        dyn->strsz = val;
        break;
    case DT_SONAME:
        dyn->soname = val;
        dyn->has_soname = true;
        break;
    case DT_RPATH:
        dyn->rpath = val;
        dyn->has_rpath = true;
        break;
    case DT_RUNPATH:
        dyn->runpath = val;
        dyn->has_runpath = true;
        break;
    case DT_VERNEED:
        dyn->verneed = val;
        dyn->has_verneed = true;
        break;
    case DT_VERDEF:
        dyn->verdef = val;
        dyn->has_verdef = true;
        break;
    case DT_SYMTAB:
        dyn->symtab = val;
        break;
    case DT_HASH:
        dyn->hash = val;
        break;
    case DT_GNU_HASH:
        dyn->gnu_hash = val;
        break;
    case DT_BIND_NOW:
        obj->has_bind_now = true;
        break;
    case DT_FLAGS:
        if (val & DF_BIND_NOW)
            obj->has_bind_now = true;
        break;
    case DT_FLAGS_1:
        if (val & DF_1_NOW)
            obj->has_bind_now = true;
        if (val & DF_1_PIE)
            obj->is_pie = true;
        if (val & DF_1_NODEFLIB)
            obj->nodeflib = true;
        break;
    default:
        break;
    }
}

static int
read_dynamic(const struct image *im, const GElf_Phdr *ph, struct dynamic_info *dyn,
             struct elf_object *obj, struct temper_err *err)
{
    size_t entsize = gelf_fsize(im->elf, ELF_T_DYN, 1, EV_CURRENT);
    Elf64_Dyn raw_small[SMALL_DYN], mem_small[SMALL_DYN];
    cleanup_free char *raw_big = NULL;
    cleanup_free char *mem_big = NULL;
    char *raw = (char *)raw_small, *mem = (char *)mem_small;
    Elf_Data src, dst;
    size_t count;

    if (entsize == 0)
        return libelf_error(err, im->name, "cannot size the dynamic segment");
    if (ph->p_offset > im->src->len || ph->p_filesz > im->src->len - ph->p_offset)
        return elf_error(err, im->name, "dynamic segment past the end of the file");
    count = (size_t)ph->p_filesz / entsize;
    if (count > ELF_DYN_MAX)
        return elf_error(err, im->name, "dynamic segment has too many entries");
    if (count > SMALL_DYN) {
        raw = raw_big = xmalloc(count * entsize);
        mem = mem_big = xmalloc(count * sizeof(Elf64_Dyn));
    }
    if (image_read(im, ph->p_offset, raw, count * entsize) < 0)
        return temper_err_set(err, TEMPER_E_IO, errno, "'%s': cannot read the dynamic segment",
                              im->name);
    src = (Elf_Data){
        .d_buf = raw, .d_type = ELF_T_DYN, .d_size = count * entsize, .d_version = EV_CURRENT};
    dst = (Elf_Data){.d_buf = mem, .d_size = count * sizeof(Elf64_Dyn), .d_version = EV_CURRENT};
    if (gelf_xlatetom(im->elf, &dst, &src, im->eh.e_ident[EI_DATA]) == NULL)
        return libelf_error(err, im->name, "cannot decode the dynamic segment");
    for (size_t i = 0; i < count; i++) {
        GElf_Sxword tag;
        GElf_Xword val;

        if (im->eh.e_ident[EI_CLASS] == ELFCLASS64) {
            tag = ((const Elf64_Dyn *)mem)[i].d_tag;
            val = ((const Elf64_Dyn *)mem)[i].d_un.d_val;
        } else {
            tag = ((const Elf32_Dyn *)mem)[i].d_tag;
            val = ((const Elf32_Dyn *)mem)[i].d_un.d_val;
        }
        if (tag == DT_NULL)
            return 0;
        if (tag == DT_NEEDED && dyn->nneeded == ELF_NEEDED_MAX)
            return elf_error(err, im->name, "too many DT_NEEDED entries");
        take_dynamic_entry(tag, val, dyn, obj);
    }
    return 0;
}

static int
dynamic_string(const struct image *im, const struct dynamic_info *dyn,
               const struct string_window *win, GElf_Xword index, char **out,
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
    if (win->bytes != NULL && index >= win->lo && index - win->lo < win->len) {
        const char *start = win->bytes + (index - win->lo);
        const char *nul = memchr(start, '\0', (size_t)(win->len - (index - win->lo)));

        if (nul != NULL && (size_t)(nul - start) <= ELF_STRING_MAX) {
            *out = xstrndup(start, (size_t)(nul - start));
            return 0;
        }
    }
    return copy_string(im, "dynamic string", off + index,
                       (dyn->strsz < avail ? dyn->strsz : avail) - index, out, err);
}

/* Reads the window of the string table from index lo to index hi and a string's length beyond,
 * when it is small. */
static void
read_span(const struct image *im, const struct dynamic_info *dyn, GElf_Xword lo, GElf_Xword hi,
          struct string_window *win)
{
    GElf_Xword limit, len, avail;
    GElf_Off off;

    if (lo == UINT64_MAX || !dyn->has_strtab || lo >= dyn->strsz ||
        address_to_offset(im, dyn->strtab, &off, &avail) < 0 || lo >= avail)
        return; /* dynamic_string reports what is wrong, string by string */
    limit = (dyn->strsz < avail ? dyn->strsz : avail) - lo;
    len = hi - lo + STRTAB_WINDOW_SLACK < limit ? hi - lo + STRTAB_WINDOW_SLACK : limit;
    if (len > STRTAB_WINDOW_MAX || off + lo > im->src->len)
        return;
    if (len > im->src->len - (off + lo))
        len = im->src->len - (off + lo);
    win->bytes = len <= sizeof(win->small) ? win->small : xmalloc((size_t)len);
    if (image_read(im, off + lo, win->bytes, (size_t)len) < 0) {
        if (win->bytes != win->small)
            free(win->bytes);
        win->bytes = NULL;
        return;
    }
    win->lo = lo;
    win->len = len;
}

/* Reads the window of the string table that holds every string wanted, when it is small. */
static void
read_window(const struct image *im, const struct dynamic_info *dyn, struct string_window *win)
{
    GElf_Xword lo = UINT64_MAX, hi = 0;

#define WANT(index)                                                                                \
    do {                                                                                           \
        lo = (index) < lo ? (index) : lo;                                                          \
        hi = (index) > hi ? (index) : hi;                                                          \
    } while (0)
    if (dyn->has_soname)
        WANT(dyn->soname);
    if (dyn->has_runpath)
        WANT(dyn->runpath);
    else if (dyn->has_rpath)
        WANT(dyn->rpath);
    for (size_t i = 0; i < dyn->nneeded; i++)
        WANT(dyn->needed[i]);
#undef WANT
    read_span(im, dyn, lo, hi, win);
}

static int
read_dynamic_strings(const struct image *im, const struct dynamic_info *dyn, struct elf_object *obj,
                     struct temper_err *err)
{
    struct string_window win;
    int rc = -1;

    win.bytes = NULL;

    read_window(im, dyn, &win);
    if (dyn->has_soname && dynamic_string(im, dyn, &win, dyn->soname, &obj->soname, err) < 0)
        goto out;
    /* glibc ignores DT_RPATH when DT_RUNPATH is present (elf/get-dynamic-info.h). */
    if (dyn->has_runpath) {
        if (dynamic_string(im, dyn, &win, dyn->runpath, &obj->runpath, err) < 0)
            goto out;
    } else if (dyn->has_rpath && dynamic_string(im, dyn, &win, dyn->rpath, &obj->rpath, err) < 0)
        goto out;
    obj->needed = xreallocarray(NULL, dyn->nneeded, sizeof(*obj->needed));
    for (size_t i = 0; i < dyn->nneeded; i++) {
        if (dynamic_string(im, dyn, &win, dyn->needed[i], &obj->needed[i], err) < 0)
            goto out;
        obj->nneeded = i + 1;
        if (obj->needed[i][0] == '\0') {
            elf_error(err, im->name, "empty DT_NEEDED name");
            goto out;
        }
    }
    rc = 0;
out:
    if (win.bytes != win.small)
        free(win.bytes);
    return rc;
}

/* The kernel refuses a program whose PT_INTERP's last byte is not NUL (binfmt_elf.c). */
static bool
ends_in_nul(const struct image *im, const GElf_Phdr *ph)
{
    char last;

    return ph->p_filesz > 0 && image_read(im, ph->p_offset + ph->p_filesz - 1, &last, 1) == 0 &&
           last == '\0';
}

/* A PT_GNU_PROPERTY segment larger than this (a real one is 32 to 64 bytes) is read only this
 * far: a property past it is not seen. */
#define PROPERTY_MAX_BYTES 4096

static uint32_t
le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t
align_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/*
 * GNU_PROPERTY_X86_ISA_1_NEEDED, as x86's ldconfig reads it (elf/readelflib.c, compiled once
 * per class, and x86's elf-read-prop.h, glibc 2.33 to 2.36): only a segment aligned to the
 * class's address size (8, or 4 in a 32-bit file), only the first NT_GNU_PROPERTY_TYPE_0 note,
 * properties in ascending type order, their data aligned to the address size. Anything
 * malformed leaves it 0, as there.
 */
static void
read_x86_isa_needed(const struct image *im, const GElf_Phdr *ph, struct elf_object *obj)
{
    unsigned char buf[PROPERTY_MAX_BYTES];
    size_t size = ph->p_filesz < sizeof(buf) ? (size_t)ph->p_filesz : sizeof(buf);
    size_t addr_size = im->eh.e_ident[EI_CLASS] == ELFCLASS64 ? 8 : 4;

    if ((im->eh.e_machine != EM_X86_64 && im->eh.e_machine != EM_386) ||
        im->eh.e_ident[EI_DATA] != ELFDATA2LSB || ph->p_align != addr_size ||
        image_read(im, ph->p_offset, buf, size) < 0)
        return;
    for (size_t off = 0; off + 16 <= size;) {
        uint32_t namesz = le32(buf + off), descsz = le32(buf + off + 4);
        size_t next;

        if (namesz == 4 && le32(buf + off + 8) == NT_GNU_PROPERTY_TYPE_0 &&
            memcmp(buf + off + 12, "GNU", 4) == 0) {
            size_t p = off + 16, end = p + descsz;
            uint32_t last_type = 0;

            if (descsz < 8 || descsz % addr_size != 0 || end > size)
                return;
            do {
                uint32_t type = le32(buf + p), datasz = le32(buf + p + 4);

                if (type < last_type || datasz > end - p - 8)
                    return;
                p += 8;
                last_type = type;
                if (type > GNU_PROPERTY_X86_ISA_1_NEEDED)
                    return;
                if (type == GNU_PROPERTY_X86_ISA_1_NEEDED) {
                    if (datasz == 4)
                        obj->x86_isa_needed = le32(buf + p);
                    return;
                }
                p += align_up(datasz, addr_size);
            } while (p <= end && end - p >= 8);
            return; /* only the first property note */
        }
        next = align_up(align_up(12 + (size_t)namesz, addr_size) + descsz, addr_size);
        if (next > size - off)
            return;
        off += next;
    }
}

static int
read_program_headers(struct image *im, struct elf_object *obj, GElf_Phdr *dynamic_ph,
                     struct temper_err *err)
{
    struct temper_err ignored;
    bool has_stack = false;
    size_t phnum;

    if (elf_getphdrnum(im->elf, &phnum) != 0)
        return libelf_error(err, im->name, "cannot read program headers");
    /* libelf quietly counts only the program headers that fit; ld.so refuses such a file. */
    if (phnum != im->eh.e_phnum)
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
            /* Only a program's PT_INTERP is ever used (a shared library such as libc.so.6 may
             * have one too): a bad one is noted here and refused only for an input. */
            if (obj->interp != NULL || obj->interp_problem != NULL)
                break;
            if (ph.p_offset > im->src->len || ph.p_filesz > im->src->len - ph.p_offset)
                obj->interp_problem = "PT_INTERP runs past the end of the file";
            else if (!ends_in_nul(im, &ph))
                obj->interp_problem = "PT_INTERP does not end in a NUL byte";
            else if (copy_string(im, "PT_INTERP", ph.p_offset, ph.p_filesz, &obj->interp,
                                 &ignored) < 0)
                obj->interp_problem = "PT_INTERP is unterminated or too long";
            else if (obj->interp[0] != '/') {
                obj->interp_problem = "PT_INTERP is not an absolute path";
                free(obj->interp);
                obj->interp = NULL;
            }
            break;
        case PT_DYNAMIC:
            *dynamic_ph = ph;
            obj->is_dynamic = true;
            break;
        case PT_GNU_RELRO:
            obj->has_relro = true;
            break;
        case PT_GNU_STACK:
            has_stack = true;
            obj->has_exec_stack = (ph.p_flags & PF_X) != 0;
            break;
        case PT_GNU_PROPERTY:
            read_x86_isa_needed(im, &ph, obj);
            break;
        default:
            break;
        }
    }
    if (!has_stack)
        obj->has_exec_stack = true;
    return 0;
}

/* elf_version sets libelf's global state: once, whichever thread parses first. */
static pthread_once_t libelf_once = PTHREAD_ONCE_INIT;
static unsigned libelf_version;

static void
start_libelf(void)
{
    libelf_version = elf_version(EV_CURRENT);
}

/* Writes value into a field of `size` bytes in the file's byte order. */
static void
store(unsigned char *field, uint64_t value, size_t size, bool msb)
{
    for (size_t i = 0; i < size; i++)
        field[msb ? size - 1 - i : i] = (unsigned char)(value >> (8 * i));
}

/*
 * Reads the head of the file and hands its ELF header to libelf. The section
 * table lies elsewhere: its fields are zeroed in this copy so that libelf
 * neither looks for it nor allocates for it (nothing here uses sections).
 */
static int
open_head(struct image *im, struct elf_ident *ident, struct temper_err *err)
{
    unsigned char *h = (unsigned char *)im->head;
    bool is64;

    im->head_len = im->src->len < HEAD_BYTES ? im->src->len : HEAD_BYTES;
    if (source_read(im->src, 0, im->head, im->head_len) < 0)
        return temper_err_set(err, TEMPER_E_IO, errno, "'%s': cannot read the ELF header",
                              im->name);
    /* What ld.so looks at first, to skip another class or machine or to refuse the file. */
    if (ident != NULL) {
        memset(ident, 0, sizeof(*ident));
        ident->valid = true;
        ident->len = im->src->len;
        memcpy(ident->bytes, h,
               im->head_len < sizeof(ident->bytes) ? im->head_len : sizeof(ident->bytes));
    }
    if (im->head_len < EI_NIDENT || memcmp(im->head, ELFMAG, SELFMAG) != 0)
        return elf_error(err, im->name, "not an ELF file");
    is64 = h[EI_CLASS] == ELFCLASS64;
    if (h[EI_CLASS] != ELFCLASS32 && !is64)
        return elf_error(err, im->name, "unknown ELF class");
    if (im->head_len < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
        return elf_error(err, im->name, "file too short for its ELF header");
    if (is64) {
        memset(h + offsetof(Elf64_Ehdr, e_shoff), 0, sizeof(Elf64_Off));
        memset(h + offsetof(Elf64_Ehdr, e_shnum), 0, 2 * sizeof(Elf64_Half));
    } else {
        memset(h + offsetof(Elf32_Ehdr, e_shoff), 0, sizeof(Elf32_Off));
        memset(h + offsetof(Elf32_Ehdr, e_shnum), 0, 2 * sizeof(Elf32_Half));
    }
    im->elf = elf_memory(im->head, im->head_len);
    if (im->elf == NULL || elf_kind(im->elf) != ELF_K_ELF || gelf_getehdr(im->elf, &im->eh) == NULL)
        return libelf_error(err, im->name, "truncated or malformed ELF header");
    return 0;
}

/*
 * Program headers beyond the head (rare, and a hostile file may put them at
 * the end of a huge file): libelf gets a compact image of the ELF header
 * followed by just the program headers, e_phoff rewritten to match.
 */
static int
open_compact(struct image *im, struct temper_err *err)
{
    bool is64 = im->eh.e_ident[EI_CLASS] == ELFCLASS64;
    bool msb = im->eh.e_ident[EI_DATA] == ELFDATA2MSB;
    size_t ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    size_t phsize = (size_t)im->eh.e_phnum * im->eh.e_phentsize;

    im->compact = xmalloc(ehsize + phsize);
    memcpy(im->compact, im->head, ehsize);
    store((unsigned char *)im->compact +
              (is64 ? offsetof(Elf64_Ehdr, e_phoff) : offsetof(Elf32_Ehdr, e_phoff)),
          ehsize, is64 ? sizeof(Elf64_Off) : sizeof(Elf32_Off), msb);
    if (source_read(im->src, im->eh.e_phoff, im->compact + ehsize, phsize) < 0)
        return temper_err_set(err, TEMPER_E_IO, errno, "'%s': cannot read the program headers",
                              im->name);
    elf_end(im->elf);
    im->elf = elf_memory(im->compact, ehsize + phsize);
    if (im->elf == NULL || gelf_getehdr(im->elf, &im->eh) == NULL)
        return libelf_error(err, im->name, "malformed program headers");
    return 0;
}

static int
read_head(struct image *im, struct elf_ident *ident, struct temper_err *err)
{
    if (open_head(im, ident, err) < 0)
        return -1;
    if (im->eh.e_type != ET_EXEC && im->eh.e_type != ET_DYN)
        return elf_error(err, im->name, "not an executable or shared object");
    /* ld.so and the kernel read e_phnum as it is (no PN_XNUM extension) and want program
     * headers of exactly the native size. */
    if (im->eh.e_phnum > ELF_PHNUM_MAX)
        return elf_error(err, im->name, "too many program headers");
    if (im->eh.e_phnum > 0 && im->eh.e_phentsize != gelf_fsize(im->elf, ELF_T_PHDR, 1, EV_CURRENT))
        return elf_error(err, im->name, "program header size is not the expected size");
    if (im->eh.e_phoff > im->src->len ||
        (size_t)im->eh.e_phnum * im->eh.e_phentsize > im->src->len - im->eh.e_phoff)
        return elf_error(err, im->name, "truncated: program headers past the end of the file");
    if (im->eh.e_phoff + (size_t)im->eh.e_phnum * im->eh.e_phentsize > im->head_len)
        return open_compact(im, err);
    return 0;
}

/* The headers and the dynamic segment, up to the strings: what parse and read_versions share. */
static int
open_image(const struct source *src, const char *name, struct image *im, struct elf_object *obj,
           struct dynamic_info *dyn, struct elf_ident *ident, struct temper_err *err)
{
    GElf_Phdr dynamic_ph = {0};

    /* Not zeroed whole: the head buffer is filled by the read. */
    im->src = src;
    im->name = name;
    im->head_len = 0;
    im->compact = NULL;
    im->elf = NULL;
    im->loads = NULL;
    im->nloads = 0;
    pthread_once(&libelf_once, start_libelf);
    if (libelf_version == EV_NONE)
        return libelf_error(err, name, "libelf is unusable");
    if (ident != NULL)
        ident->valid = false;
    if (read_head(im, ident, err) < 0)
        return -1;
    obj->elf_class = im->eh.e_ident[EI_CLASS];
    obj->data = im->eh.e_ident[EI_DATA];
    obj->machine = im->eh.e_machine;
    obj->flags = im->eh.e_flags;
    obj->type = im->eh.e_type;
    if (read_program_headers(im, obj, &dynamic_ph, err) < 0)
        return -1;
    if (obj->type == ET_DYN && obj->interp != NULL)
        obj->is_pie = true;
    if (obj->is_dynamic && read_dynamic(im, &dynamic_ph, dyn, obj, err) < 0)
        return -1;
    return 0;
}

static void
close_image(struct image *im, struct dynamic_info *dyn)
{
    free(dyn->needed);
    free(im->loads);
    elf_end(im->elf);
    free(im->compact);
}

static int
parse(const struct source *src, const char *name, struct elf_object *out, struct elf_ident *ident,
      struct temper_err *err)
{
    struct image im;
    struct dynamic_info dyn = {0};
    struct elf_object obj = {0};
    int rc = -1;

    if (open_image(src, name, &im, &obj, &dyn, ident, err) < 0 ||
        (obj.is_dynamic && read_dynamic_strings(&im, &dyn, &obj, err) < 0))
        goto out;
    obj.path = xstrdup(name);
    *out = obj;
    memset(&obj, 0, sizeof(obj));
    rc = 0;
out:
    elf_object_release(&obj);
    close_image(&im, &dyn);
    return rc;
}

int
elf_object_parse(const void *image, size_t len, const char *name, struct elf_object *out,
                 struct temper_err *err)
{
    struct source src = {.mem = image, .fd = -1, .len = len};

    return parse(&src, name, out, NULL, err);
}

int
elf_object_read(int fd, size_t len, const char *name, struct elf_object *out,
                struct elf_ident *ident, struct temper_err *err)
{
    struct source src = {.mem = NULL, .fd = fd, .len = len};

    return parse(&src, name, out, ident, err);
}

/* ---- symbol versions: DT_VERNEED and DT_VERDEF ---- */

/* Reads a field of `size` bytes stored in byte order `data`. */
static uint32_t load(const unsigned char *field, size_t size, unsigned char data);

/*
 * Records read through a small buffer: the version records of an object sit together, usually
 * in a page or two, while the segment that holds them may be the whole text of the library.
 */
struct records {
    const struct image *im;
    const char *what; /* "DT_VERNEED", for errors */
    GElf_Off base;    /* the file offset of the first record */
    GElf_Xword avail; /* bytes from base to the end of its segment (and of the file) */
    unsigned char buf[4096];
    GElf_Xword buf_at; /* offset from base of buf[0] */
    size_t buf_len;
};

static int
records_open(struct records *rd, const struct image *im, GElf_Addr addr, const char *what,
             GElf_Xword cap, struct temper_err *err)
{
    rd->im = im;
    rd->what = what;
    rd->buf_len = 0;
    rd->buf_at = 0;
    if (address_to_offset(im, addr, &rd->base, &rd->avail) < 0)
        return temper_err_set(err, TEMPER_E_ELF, 0, "'%s': %s is outside every loaded segment",
                              im->name, what);
    if (rd->avail > im->src->len - rd->base)
        rd->avail = im->src->len - rd->base;
    if (rd->avail > cap)
        rd->avail = cap;
    return 0;
}

/* The `size` bytes at offset `at` from the first record, or NULL (err says why). */
static const unsigned char *
records_at(struct records *rd, GElf_Xword at, size_t size, struct temper_err *err)
{
    if (at > rd->avail || size > rd->avail - at) {
        temper_err_set(err, TEMPER_E_ELF, 0, "'%s': %s records run past their segment",
                       rd->im->name, rd->what);
        return NULL;
    }
    if (at < rd->buf_at || at + size > rd->buf_at + rd->buf_len) {
        rd->buf_at = at;
        rd->buf_len = rd->avail - at < sizeof(rd->buf) ? (size_t)(rd->avail - at) : sizeof(rd->buf);
        if (image_read(rd->im, rd->base + at, rd->buf, rd->buf_len) < 0) {
            rd->buf_len = 0;
            temper_err_set(err, TEMPER_E_IO, errno, "'%s': cannot read its %s records",
                           rd->im->name, rd->what);
            return NULL;
        }
    }
    return rd->buf + (at - rd->buf_at);
}

/* Where the walk of the records left the strings: each is read once every index is known, from
 * one window of the string table when they sit together (they usually do). */
struct version_walk {
    const struct image *im;
    const struct dynamic_info *dyn;
    struct elf_versions *out;
    GElf_Xword *file, *version; /* per need: vn_file and vna_name */
    GElf_Xword *def;            /* per definition: vda_name */
    size_t count;               /* versions walked, against ELF_VERSIONS_MAX */
};

/* Counts one more version against ELF_VERSIONS_MAX (which also ends a cycle of records). */
static int
count_version(struct version_walk *w, struct temper_err *err)
{
    if (++w->count > ELF_VERSIONS_MAX)
        return temper_err_set(err, TEMPER_E_ELF, 0,
                              "'%s': over %d symbol versions (or a loop of version records)",
                              w->im->name, ELF_VERSIONS_MAX);
    return 0;
}

/* DT_VERNEED, walked as ld.so walks it (_dl_check_map_versions): each Verneed (vn_version 1,
 * vn_file, vn_aux, vn_next: 16 bytes in either class) and its Vernaux (vna_hash, vna_flags,
 * vna_name, vna_next: 16 bytes), until a next of 0. */
static int
walk_verneed(struct version_walk *w, struct temper_err *err)
{
    unsigned char data = w->im->eh.e_ident[EI_DATA];
    struct elf_versions *out = w->out;
    struct records rd;
    GElf_Xword at = 0;

    if (records_open(&rd, w->im, w->dyn->verneed, "DT_VERNEED", ELF_VERSION_BYTES_MAX, err) < 0)
        return -1;
    for (;;) {
        const unsigned char *vn = records_at(&rd, at, 16, err);
        GElf_Xword aux, file;

        if (vn == NULL)
            return -1;
        if (load(vn, 2, data) != 1)
            return temper_err_set(err, TEMPER_E_ELF, 0,
                                  "'%s': unsupported version %u of Verneed record", w->im->name,
                                  load(vn, 2, data));
        file = load(vn + 4, 4, data);
        aux = at + load(vn + 8, 4, data);
        for (;;) {
            const unsigned char *vna = records_at(&rd, aux, 16, err);
            size_t i = out->nneeds;

            if (vna == NULL || count_version(w, err) < 0)
                return -1;
            out->needs = xreallocarray(out->needs, i + 1, sizeof(*out->needs));
            w->file = xreallocarray(w->file, i + 1, sizeof(*w->file));
            w->version = xreallocarray(w->version, i + 1, sizeof(*w->version));
            out->needs[i] = (struct elf_version_need){
                .hash = load(vna, 4, data), .weak = (load(vna + 4, 2, data) & VER_FLG_WEAK) != 0};
            w->file[i] = file;
            w->version[i] = load(vna + 8, 4, data);
            out->nneeds++;
            if (load(vna + 12, 4, data) == 0)
                break;
            aux += load(vna + 12, 4, data);
        }
        if (load(vn + 12, 4, data) == 0)
            return 0;
        at += load(vn + 12, 4, data);
    }
}

/* DT_VERDEF, as match_symbol walks it: each Verdef (vd_version 1, vd_flags, vd_ndx, vd_cnt,
 * vd_hash, vd_aux, vd_next: 20 bytes) names its version in its first Verdaux (vda_name). */
static int
walk_verdef(struct version_walk *w, struct temper_err *err)
{
    unsigned char data = w->im->eh.e_ident[EI_DATA];
    struct elf_versions *out = w->out;
    struct records rd;
    GElf_Xword at = 0;

    if (records_open(&rd, w->im, w->dyn->verdef, "DT_VERDEF", ELF_VERSION_BYTES_MAX, err) < 0)
        return -1;
    for (;;) {
        const unsigned char *vd = records_at(&rd, at, 20, err), *vda;
        size_t i = out->ndefs;

        if (vd == NULL || count_version(w, err) < 0)
            return -1;
        if (load(vd, 2, data) != 1)
            return temper_err_set(err, TEMPER_E_ELF, 0,
                                  "'%s': unsupported version %u of Verdef record", w->im->name,
                                  load(vd, 2, data));
        vda = records_at(&rd, at + load(vd + 12, 4, data), 8, err);
        if (vda == NULL)
            return -1;
        out->defs = xreallocarray(out->defs, i + 1, sizeof(*out->defs));
        w->def = xreallocarray(w->def, i + 1, sizeof(*w->def));
        out->defs[i] = (struct elf_version_def){.hash = load(vd + 8, 4, data)};
        w->def[i] = load(vda, 4, data);
        out->ndefs++;
        if (load(vd + 16, 4, data) == 0)
            return 0;
        at += load(vd + 16, 4, data);
    }
}

/* The strings the walks found, through one window when they sit together. */
static int
read_version_strings(struct version_walk *w, struct temper_err *err)
{
    struct elf_versions *out = w->out;
    struct string_window win = {.bytes = NULL};
    GElf_Xword lo = UINT64_MAX, hi = 0;
    int rc = -1;

    for (size_t i = 0; i < out->nneeds; i++) {
        lo = w->file[i] < lo ? w->file[i] : lo;
        hi = w->file[i] > hi ? w->file[i] : hi;
        lo = w->version[i] < lo ? w->version[i] : lo;
        hi = w->version[i] > hi ? w->version[i] : hi;
    }
    for (size_t i = 0; i < out->ndefs; i++) {
        lo = w->def[i] < lo ? w->def[i] : lo;
        hi = w->def[i] > hi ? w->def[i] : hi;
    }
    read_span(w->im, w->dyn, lo, hi, &win);
    for (size_t i = 0; i < out->nneeds; i++)
        if (dynamic_string(w->im, w->dyn, &win, w->file[i], &out->needs[i].file, err) < 0 ||
            dynamic_string(w->im, w->dyn, &win, w->version[i], &out->needs[i].version, err) < 0)
            goto out;
    for (size_t i = 0; i < out->ndefs; i++)
        if (dynamic_string(w->im, w->dyn, &win, w->def[i], &out->defs[i].name, err) < 0)
            goto out;
    rc = 0;
out:
    if (win.bytes != win.small)
        free(win.bytes);
    return rc;
}

/* ---- imports: the functions for which glibc opens a library of its own ---- */

static const struct {
    const char *name;
    unsigned bit;
} watched[] = {
    {"pthread_cancel", ELF_IMPORT_UNWIND}, {"pthread_exit", ELF_IMPORT_UNWIND},
    {"thrd_exit", ELF_IMPORT_UNWIND},      {"backtrace", ELF_IMPORT_UNWIND},
    {"iconv_open", ELF_IMPORT_ICONV},
};

/* The ELF_IMPORT_* bit of the symbol name at `index` in the string table, or 0. */
static unsigned
watched_bit(struct records *strings, GElf_Xword index)
{
    /* The longest watched name and its NUL; a shorter read near the table's end still works. */
    enum { LONGEST = 15 };
    size_t len = strings->avail > index && strings->avail - index < LONGEST
                     ? (size_t)(strings->avail - index)
                     : LONGEST;
    struct temper_err ignored;
    const unsigned char *s =
        index < strings->avail ? records_at(strings, index, len, &ignored) : NULL;

    for (size_t i = 0; s != NULL && i < sizeof(watched) / sizeof(watched[0]); i++) {
        size_t n = strlen(watched[i].name) + 1;

        if (n <= len && memcmp(s, watched[i].name, n) == 0)
            return watched[i].bit;
    }
    return 0;
}

/* How many entries of DT_SYMTAB may be undefined: with DT_HASH, all of them (nchain); with
 * DT_GNU_HASH alone, those before its first hashed symbol (symoffset), since only defined
 * symbols are hashed and the linkers put the others first. DT_HASH comes first because a linker
 * that writes both may leave symoffset meaningless when nothing is defined (Free Pascal's does).
 * 0 when neither is there. */
static int
count_unhashed(const struct image *im, const struct dynamic_info *dyn, size_t *out,
               struct temper_err *err)
{
    unsigned char data = im->eh.e_ident[EI_DATA];
    struct records rd;
    const unsigned char *h;

    *out = 0;
    if (dyn->gnu_hash == 0 && dyn->hash == 0)
        return 0;
    if (records_open(&rd, im, dyn->hash != 0 ? dyn->hash : dyn->gnu_hash,
                     dyn->hash != 0 ? "DT_HASH" : "DT_GNU_HASH", 16, err) < 0)
        return -1;
    h = records_at(&rd, 0, 8, err);
    if (h == NULL)
        return -1;
    *out = load(h + 4, 4, data); /* symoffset, or nchain */
    return 0;
}

/* Sets out->imports from the undefined symbols of DT_SYMTAB that name a watched function. */
static int
read_imports(const struct image *im, const struct dynamic_info *dyn, struct elf_versions *out,
             struct temper_err *err)
{
    unsigned char data = im->eh.e_ident[EI_DATA];
    bool is64 = im->eh.e_ident[EI_CLASS] == ELFCLASS64;
    size_t entsize = is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym), count;
    struct records syms, strings;

    if (dyn->symtab == 0 || !dyn->has_strtab || count_unhashed(im, dyn, &count, err) < 0)
        return dyn->symtab == 0 || !dyn->has_strtab ? 0 : -1;
    if (count > ELF_IMPORTS_MAX)
        return temper_err_set(err, TEMPER_E_ELF, 0,
                              "'%s': over %d dynamic symbols before the hashed ones", im->name,
                              ELF_IMPORTS_MAX);
    if (count < 2 || records_open(&syms, im, dyn->symtab, "DT_SYMTAB", count * entsize, err) < 0 ||
        records_open(&strings, im, dyn->strtab, "DT_STRTAB", dyn->strsz, err) < 0)
        return count < 2 ? 0 : -1;
    for (size_t i = 1; i < count; i++) { /* entry 0 is the null symbol */
        const unsigned char *sym = records_at(&syms, i * entsize, entsize, err);
        unsigned bind, shndx;
        GElf_Xword name;

        if (sym == NULL)
            return -1;
        /* Elf64_Sym: name, info, other, shndx; Elf32_Sym: name, value, size, info, other, shndx */
        name = load(sym, 4, data);
        bind = ELF64_ST_BIND(sym[is64 ? 4 : 12]);
        shndx = load(sym + (is64 ? 6 : 14), 2, data);
        if (shndx == SHN_UNDEF && name != 0 && (bind == STB_GLOBAL || bind == STB_WEAK))
            out->imports |= watched_bit(&strings, name);
    }
    return 0;
}

static int
read_versions(const struct source *src, const char *name, struct elf_versions *out,
              struct temper_err *err)
{
    struct image im;
    struct dynamic_info dyn = {0};
    struct elf_object obj = {0};
    struct elf_versions v = {0};
    struct version_walk w = {.im = &im, .dyn = &dyn, .out = &v};
    int rc = -1;

    if (open_image(src, name, &im, &obj, &dyn, NULL, err) < 0 ||
        (dyn.has_verneed && walk_verneed(&w, err) < 0) ||
        (dyn.has_verdef && walk_verdef(&w, err) < 0) || read_version_strings(&w, err) < 0 ||
        read_imports(&im, &dyn, &v, err) < 0)
        goto out;
    v.has_verdef = dyn.has_verdef;
    *out = v;
    memset(&v, 0, sizeof(v));
    rc = 0;
out:
    free(w.file);
    free(w.version);
    free(w.def);
    elf_versions_release(&v);
    elf_object_release(&obj);
    close_image(&im, &dyn);
    return rc;
}

int
elf_versions_parse(const void *image, size_t len, const char *name, struct elf_versions *out,
                   struct temper_err *err)
{
    struct source src = {.mem = image, .fd = -1, .len = len};

    return read_versions(&src, name, out, err);
}

int
elf_versions_read(int fd, size_t len, const char *name, struct elf_versions *out,
                  struct temper_err *err)
{
    struct source src = {.mem = NULL, .fd = fd, .len = len};

    return read_versions(&src, name, out, err);
}

void
elf_versions_release(struct elf_versions *v)
{
    for (size_t i = 0; i < v->nneeds; i++) {
        free(v->needs[i].file);
        free(v->needs[i].version);
    }
    free(v->needs);
    for (size_t i = 0; i < v->ndefs; i++)
        free(v->defs[i].name);
    free(v->defs);
    memset(v, 0, sizeof(*v));
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

static uint32_t
load(const unsigned char *field, size_t size, unsigned char data)
{
    uint32_t v = 0;

    for (size_t i = 0; i < size; i++)
        v |= (uint32_t)field[data == ELFDATA2MSB ? size - 1 - i : i] << (8 * i);
    return v;
}

static int
refuse(struct temper_err *err, const char *path, const char *why)
{
    return temper_err_set(err, TEMPER_E_ELF, 0, "'%s': %s", path, why);
}

int
elf_ident_verdict(const struct elf_ident *id, const struct elf_object *main, const char *path,
                  const struct temper_err *parse_error, struct temper_err *err)
{
    static const unsigned char zeros[EI_NIDENT - EI_PAD];
    const unsigned char *b = id->bytes;
    /* The glibc ABI versions an object may ask for (LIBC_ABI_MAX in 2.36). */
    enum { LIBC_ABI_MAX = 4 };

    if (!id->valid) {
        if (parse_error != NULL)
            *err = *parse_error;
        else
            refuse(err, path, "cannot be read");
        return -1;
    }
    if (id->len < (main->elf_class == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
        return refuse(err, path, "file too short");
    if (memcmp(b, ELFMAG, SELFMAG) != 0)
        return refuse(err, path, "invalid ELF header");
    if (b[EI_CLASS] != main->elf_class)
        return 0;
    if (load(b + 18, 2, main->data) != main->machine)
        return 0;
    if (b[EI_DATA] != main->data)
        return refuse(err, path,
                      main->data == ELFDATA2MSB ? "ELF file data encoding not big-endian"
                                                : "ELF file data encoding not little-endian");
    if (b[EI_VERSION] != EV_CURRENT)
        return refuse(err, path, "ELF file version ident does not match current one");
    if (b[EI_OSABI] != ELFOSABI_SYSV && b[EI_OSABI] != ELFOSABI_GNU)
        return refuse(err, path, "ELF file OS ABI invalid");
    if (b[EI_ABIVERSION] != 0 && !(b[EI_OSABI] == ELFOSABI_GNU && b[EI_ABIVERSION] < LIBC_ABI_MAX))
        return refuse(err, path, "ELF file ABI version invalid");
    if (memcmp(b + EI_PAD, zeros, sizeof(zeros)) != 0)
        return refuse(err, path, "nonzero padding in e_ident");
    if (load(b + 20, 4, b[EI_DATA]) != EV_CURRENT)
        return refuse(err, path, "ELF file version does not match current one");
    if (parse_error != NULL) {
        *err = *parse_error;
        return -1;
    }
    return 1;
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
