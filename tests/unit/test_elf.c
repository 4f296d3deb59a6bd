/*
 * Unit tests of the elf module: the ELF reader on crafted images, ld.so.conf
 * parsing, token expansion, and the loader simulation on crafted roots (tiny
 * ELF files written here, so every case is exact and needs no compiler).
 */
#define _GNU_SOURCE
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <iconv.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "elf/elf-internal.h"
#include "elf/elf_resolver.h"
#include "testutil.h"

/* What a crafted ELF says; NULL or 0 leaves a field out. */
struct spec {
    uint16_t machine;
    uint16_t type;
    const char *interp;
    const char *soname;
    const char *rpath;
    const char *runpath;
    const char *needed[8];
    uint64_t flags_1;
};

#define IMAGE_SIZE 4096
#define STRTAB_OFF 0x400
#define DYNAMIC_OFF 0x800
#define INTERP_OFF 0x300

/* Writes a minimal little-endian ELF64 with one PT_LOAD over the whole image; returns its size. */
static size_t
craft(const struct spec *sp, unsigned char *img)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
    Elf64_Dyn *dyn = (Elf64_Dyn *)(img + DYNAMIC_OFF);
    char *strtab = (char *)img + STRTAB_OFF;
    size_t str = 1, nph = 0, nd = 0;

    memset(img, 0, IMAGE_SIZE);
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = sp->type ? sp->type : ET_DYN;
    eh->e_machine = sp->machine ? sp->machine : EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_phoff = sizeof(*eh);
    eh->e_ehsize = sizeof(*eh);
    eh->e_phentsize = sizeof(*ph);
    ph[nph++] = (Elf64_Phdr){.p_type = PT_LOAD,
                             .p_flags = PF_R,
                             .p_filesz = IMAGE_SIZE,
                             .p_memsz = IMAGE_SIZE,
                             .p_align = 4096};
    if (sp->interp != NULL) {
        memcpy(img + INTERP_OFF, sp->interp, strlen(sp->interp) + 1);
        ph[nph++] = (Elf64_Phdr){
            .p_type = PT_INTERP, .p_offset = INTERP_OFF, .p_filesz = strlen(sp->interp) + 1};
    }
#define ADD_STRING(tag, s)                                                                         \
    do {                                                                                           \
        dyn[nd++] = (Elf64_Dyn){.d_tag = (tag), .d_un.d_val = str};                                \
        memcpy(strtab + str, (s), strlen(s) + 1);                                                  \
        str += strlen(s) + 1;                                                                      \
    } while (0)
    for (size_t i = 0; i < 8 && sp->needed[i] != NULL; i++)
        ADD_STRING(DT_NEEDED, sp->needed[i]);
    if (sp->soname)
        ADD_STRING(DT_SONAME, sp->soname);
    if (sp->rpath)
        ADD_STRING(DT_RPATH, sp->rpath);
    if (sp->runpath)
        ADD_STRING(DT_RUNPATH, sp->runpath);
#undef ADD_STRING
    if (sp->flags_1)
        dyn[nd++] = (Elf64_Dyn){.d_tag = DT_FLAGS_1, .d_un.d_val = sp->flags_1};
    dyn[nd++] = (Elf64_Dyn){.d_tag = DT_STRTAB, .d_un.d_ptr = STRTAB_OFF};
    dyn[nd++] = (Elf64_Dyn){.d_tag = DT_STRSZ, .d_un.d_val = str};
    dyn[nd++] = (Elf64_Dyn){.d_tag = DT_NULL};
    ph[nph++] = (Elf64_Phdr){.p_type = PT_DYNAMIC,
                             .p_offset = DYNAMIC_OFF,
                             .p_vaddr = DYNAMIC_OFF,
                             .p_filesz = nd * sizeof(*dyn)};
    ph[nph++] = (Elf64_Phdr){.p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W};
    eh->e_phnum = (uint16_t)nph;
    return IMAGE_SIZE;
}

static void
write_elf(const char *rel, const struct spec *sp)
{
    unsigned char img[IMAGE_SIZE];

    testutil_write(rel, img, craft(sp, img));
}

/* The same as an ELF32 (i386 unless sp->machine says otherwise): PT_INTERP, DT_NEEDED and
 * DT_SONAME only. */
static void
write_elf32(const char *rel, const struct spec *sp)
{
    unsigned char img[IMAGE_SIZE];
    Elf32_Ehdr *eh = (Elf32_Ehdr *)img;
    Elf32_Phdr *ph = (Elf32_Phdr *)(img + sizeof(*eh));
    Elf32_Dyn *dyn = (Elf32_Dyn *)(img + DYNAMIC_OFF);
    char *strtab = (char *)img + STRTAB_OFF;
    size_t str = 1, nph = 0, nd = 0;

    memset(img, 0, IMAGE_SIZE);
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS32;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = sp->type ? sp->type : ET_DYN;
    eh->e_machine = sp->machine ? sp->machine : EM_386;
    eh->e_version = EV_CURRENT;
    eh->e_phoff = sizeof(*eh);
    eh->e_ehsize = sizeof(*eh);
    eh->e_phentsize = sizeof(*ph);
    ph[nph++] = (Elf32_Phdr){.p_type = PT_LOAD,
                             .p_flags = PF_R,
                             .p_filesz = IMAGE_SIZE,
                             .p_memsz = IMAGE_SIZE,
                             .p_align = 4096};
    if (sp->interp != NULL) {
        memcpy(img + INTERP_OFF, sp->interp, strlen(sp->interp) + 1);
        ph[nph++] = (Elf32_Phdr){.p_type = PT_INTERP,
                                 .p_offset = INTERP_OFF,
                                 .p_filesz = (Elf32_Word)strlen(sp->interp) + 1};
    }
    for (size_t i = 0; i < 9; i++) {
        const char *s = i < 8 ? sp->needed[i] : sp->soname;

        if (s == NULL)
            continue;
        dyn[nd++] = (Elf32_Dyn){.d_tag = i < 8 ? DT_NEEDED : DT_SONAME, .d_un.d_val = str};
        memcpy(strtab + str, s, strlen(s) + 1);
        str += strlen(s) + 1;
    }
    dyn[nd++] = (Elf32_Dyn){.d_tag = DT_STRTAB, .d_un.d_ptr = STRTAB_OFF};
    dyn[nd++] = (Elf32_Dyn){.d_tag = DT_STRSZ, .d_un.d_val = (Elf32_Word)str};
    dyn[nd++] = (Elf32_Dyn){.d_tag = DT_NULL};
    ph[nph++] = (Elf32_Phdr){.p_type = PT_DYNAMIC,
                             .p_offset = DYNAMIC_OFF,
                             .p_vaddr = DYNAMIC_OFF,
                             .p_filesz = (Elf32_Word)(nd * sizeof(*dyn))};
    ph[nph++] = (Elf32_Phdr){.p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W};
    eh->e_phnum = (uint16_t)nph;
    testutil_write(rel, img, IMAGE_SIZE);
}

static int
parse_spec(const struct spec *sp, struct elf_object *obj, struct temper_err *err)
{
    unsigned char img[IMAGE_SIZE];

    return elf_object_parse(img, craft(sp, img), "crafted", obj, err);
}

START_TEST(test_elf_object_parse_reads_the_dynamic_segment)
{
    struct spec sp = {.interp = "/lib64/ld-linux-x86-64.so.2",
                      .needed = {"libm.so.6", "libc.so.6"},
                      .soname = "libx.so.1",
                      .runpath = "$ORIGIN/../lib",
                      .flags_1 = DF_1_NOW | DF_1_PIE};
    struct elf_object obj;
    struct temper_err err;

    ck_assert_msg(parse_spec(&sp, &obj, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(obj.elf_class, ELFCLASS64);
    ck_assert_int_eq(obj.machine, EM_X86_64);
    ck_assert_str_eq(obj.interp, "/lib64/ld-linux-x86-64.so.2");
    ck_assert_uint_eq(obj.nneeded, 2);
    ck_assert_str_eq(obj.needed[0], "libm.so.6");
    ck_assert_str_eq(obj.needed[1], "libc.so.6");
    ck_assert_str_eq(obj.soname, "libx.so.1");
    ck_assert_str_eq(obj.runpath, "$ORIGIN/../lib");
    ck_assert_ptr_null(obj.rpath);
    ck_assert(obj.is_pie);
    ck_assert(obj.has_bind_now);
    ck_assert(!obj.has_exec_stack);
    ck_assert_str_eq(obj.path, "crafted");
    elf_object_release(&obj);
}
END_TEST

START_TEST(test_elf_object_parse_ignores_rpath_when_runpath_is_present)
{
    struct spec sp = {.rpath = "/a", .runpath = "/b"};
    struct elf_object obj;
    struct temper_err err;

    ck_assert_int_eq(parse_spec(&sp, &obj, &err), 0);
    ck_assert_ptr_null(obj.rpath);
    ck_assert_str_eq(obj.runpath, "/b");
    elf_object_release(&obj);
}
END_TEST

START_TEST(test_elf_object_parse_reads_the_test_program_itself)
{
    struct elf_object obj;
    struct temper_err err;
    char *img;
    size_t len;
    bool has_libc = false;

    testutil_read("/proc/self/exe", &img, &len);
    ck_assert_msg(elf_object_parse(img, len, "self", &obj, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(obj.interp);
    for (size_t i = 0; i < obj.nneeded; i++)
        has_libc |= strcmp(obj.needed[i], "libc.so.6") == 0;
    ck_assert(has_libc);
    elf_object_release(&obj);
    free(img);
}
END_TEST

/* Imported by this test program, so that it reads its own imports: the functions for which
 * glibc opens libgcc_s.so.1 and gconv modules. */
int (*volatile imported_cancel)(pthread_t) = pthread_cancel;
iconv_t (*volatile imported_iconv_open)(const char *, const char *) = iconv_open;

static int
find_libc(struct dl_phdr_info *info, size_t size, void *out)
{
    (void)size;
    if (strstr(info->dlpi_name, "/libc.so.6") != NULL)
        *(const char **)out = info->dlpi_name;
    return 0;
}

START_TEST(test_elf_versions_read_the_imports_glibc_serves_by_dlopen)
{
    struct elf_versions v;
    struct temper_err err;
    const char *libc = NULL;
    char *img;
    size_t len;

    testutil_read("/proc/self/exe", &img, &len);
    ck_assert_msg(elf_versions_parse(img, len, "self", &v, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(v.imports, ELF_IMPORT_UNWIND | ELF_IMPORT_ICONV);
    elf_versions_release(&v);
    free(img);
    /* libc defines them, imports none of them */
    dl_iterate_phdr(find_libc, &libc);
    ck_assert_ptr_nonnull(libc);
    testutil_read(libc, &img, &len);
    ck_assert_msg(elf_versions_parse(img, len, libc, &v, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(v.imports, 0);
    ck_assert(v.has_verdef);
    elf_versions_release(&v);
    free(img);
}
END_TEST

/* Each malformed image fails with TEMPER_E_ELF and a message naming the file. */
static void
assert_rejected(const unsigned char *img, size_t len, const char *why)
{
    struct elf_object obj;
    struct temper_err err;

    ck_assert_msg(elf_object_parse(img, len, "bad.so", &obj, &err) == -1, "%s accepted", why);
    ck_assert_msg(err.code == TEMPER_E_ELF, "%s: code %d", why, err.code);
    ck_assert_msg(strstr(err.msg, "'bad.so'") != NULL, "%s: message '%s'", why, err.msg);
}

START_TEST(test_elf_object_parse_rejects_malformed_images)
{
    struct spec sp = {.interp = "/lib64/ld.so", .needed = {"libc.so.6"}};
    unsigned char img[IMAGE_SIZE];
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
    Elf64_Dyn *dyn = (Elf64_Dyn *)(img + DYNAMIC_OFF);

    assert_rejected((const unsigned char *)"#!/bin/sh\n", 10, "a script");
    assert_rejected(img, 0, "an empty file");
    craft(&sp, img);
    assert_rejected(img, 20, "20 bytes");
    assert_rejected(img, 100, "100 bytes: program headers cut");
    assert_rejected(img, DYNAMIC_OFF + 8, "dynamic segment cut");
    craft(&sp, img);
    eh->e_phoff = 1u << 30;
    assert_rejected(img, IMAGE_SIZE, "e_phoff past the end");
    craft(&sp, img);
    eh->e_phnum = 0xffff;
    assert_rejected(img, IMAGE_SIZE, "e_phnum huge");
    craft(&sp, img);
    eh->e_phentsize = 1;
    assert_rejected(img, IMAGE_SIZE, "e_phentsize not the native size");
    craft(&sp, img);
    eh->e_phnum = PN_XNUM;
    assert_rejected(img, IMAGE_SIZE, "e_phnum PN_XNUM, which ld.so does not read");
    craft(&sp, img);
    eh->e_type = ET_REL;
    assert_rejected(img, IMAGE_SIZE, "a relocatable object");
    craft(&sp, img);
    dyn[0].d_un.d_val = 1u << 20;
    assert_rejected(img, IMAGE_SIZE, "DT_NEEDED past DT_STRSZ");
    craft(&sp, img);
    ph[0].p_filesz = 16; /* DT_STRTAB no longer inside a PT_LOAD */
    assert_rejected(img, IMAGE_SIZE, "DT_STRTAB outside the loaded segments");
}
END_TEST

/* A PT_INTERP that cannot be used is noted, not fatal: only a program's is ever read. */
static void
assert_interp_problem(const unsigned char *img, const char *why)
{
    struct elf_object obj;
    struct temper_err err;

    ck_assert_msg(elf_object_parse(img, IMAGE_SIZE, "x.so", &obj, &err) == 0, "%s: %s", why,
                  err.msg);
    ck_assert_msg(obj.interp == NULL && obj.interp_problem != NULL, "%s: not noted", why);
    elf_object_release(&obj);
}

START_TEST(test_elf_object_parse_notes_an_unusable_interpreter)
{
    struct spec sp = {.interp = "/lib64/ld.so", .needed = {"libc.so.6"}};
    unsigned char img[IMAGE_SIZE];
    Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr));

    craft(&sp, img);
    ph[1].p_filesz = 1u << 20;
    assert_interp_problem(img, "PT_INTERP running past the end");
    craft(&sp, img);
    memset(img + INTERP_OFF, 'a', 64);
    ph[1].p_filesz = 64;
    assert_interp_problem(img, "unterminated PT_INTERP");
    craft(&sp, img);
    img[INTERP_OFF] = 'x';
    assert_interp_problem(img, "relative PT_INTERP");
}
END_TEST

START_TEST(test_elf_object_parse_reads_program_headers_far_in_the_file)
{
    enum { SIZE = 16384, FAR = 12000 };
    struct spec sp = {.interp = "/lib64/ld.so", .needed = {"libm.so.6", "libc.so.6"}};
    unsigned char *img = calloc(1, SIZE);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    struct elf_object obj;
    struct temper_err err;

    /* Beyond the head read first: read on their own, decoded the same. */
    craft(&sp, img);
    memcpy(img + FAR, img + eh->e_phoff, (size_t)eh->e_phnum * sizeof(Elf64_Phdr));
    memset(img + eh->e_phoff, 0, (size_t)eh->e_phnum * sizeof(Elf64_Phdr));
    eh->e_phoff = FAR;
    ck_assert_msg(elf_object_parse(img, SIZE, "far", &obj, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(obj.interp, "/lib64/ld.so");
    ck_assert_uint_eq(obj.nneeded, 2);
    ck_assert_str_eq(obj.needed[1], "libc.so.6");
    elf_object_release(&obj);
    free(img);
}
END_TEST

START_TEST(test_elf_object_parse_caps_dt_needed)
{
    unsigned char *img = calloc(1, 1 << 20);
    struct spec sp = {.needed = {"a"}};
    Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr));
    Elf64_Dyn *dyn;
    size_t n = ELF_NEEDED_MAX + 1;

    /* A dynamic segment of ELF_NEEDED_MAX + 1 DT_NEEDED entries, all naming "a". */
    craft(&sp, img);
    dyn = (Elf64_Dyn *)(img + 8192);
    for (size_t i = 0; i < n; i++)
        dyn[i] = (Elf64_Dyn){.d_tag = DT_NEEDED, .d_un.d_val = 1};
    dyn[n] = (Elf64_Dyn){.d_tag = DT_STRTAB, .d_un.d_ptr = STRTAB_OFF};
    dyn[n + 1] = (Elf64_Dyn){.d_tag = DT_STRSZ, .d_un.d_val = 3};
    dyn[n + 2] = (Elf64_Dyn){.d_tag = DT_NULL};
    ph[0].p_filesz = ph[0].p_memsz = 1 << 20;
    ph[1].p_offset = ph[1].p_vaddr = 8192;
    ph[1].p_filesz = (n + 3) * sizeof(*dyn);
    assert_rejected(img, 1 << 20, "too many DT_NEEDED");
    free(img);
}
END_TEST

START_TEST(test_elf_object_parse_caps_the_dynamic_segment)
{
    size_t size = (ELF_DYN_MAX + 16) * sizeof(Elf64_Dyn) + 8192;
    unsigned char *img = calloc(1, size);
    struct spec sp = {.needed = {"a"}};
    Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr));

    /* A PT_DYNAMIC of ELF_DYN_MAX + 1 entries (all DT_NULL would end early: use DT_DEBUG). */
    craft(&sp, img);
    for (size_t i = 0; i <= ELF_DYN_MAX; i++)
        ((Elf64_Dyn *)(img + 8192))[i] = (Elf64_Dyn){.d_tag = DT_DEBUG};
    ph[0].p_filesz = ph[0].p_memsz = size;
    ph[1].p_offset = ph[1].p_vaddr = 8192;
    ph[1].p_filesz = (ELF_DYN_MAX + 1) * sizeof(Elf64_Dyn);
    assert_rejected(img, size, "too many dynamic entries");
    free(img);
}
END_TEST

/* Records the include patterns seen, separated by ';'. */
static int
count_include(void *ctx, const char *pattern, struct temper_err *err)
{
    size_t used;

    (void)err;
    if (ctx == NULL)
        return 0;
    used = strlen(ctx);
    snprintf((char *)ctx + used, 256 - used, "%s%s", used ? ";" : "", pattern);
    return 0;
}

START_TEST(test_ld_conf_parse_reads_dirs_includes_and_comments)
{
    static const char text[] = "# comment\n"
                               "/usr/local/lib\n"
                               "  /opt/lib/  # trailing comment\r\n"
                               "include conf.d/*.conf\n"
                               "include\t/a/*.conf  b.conf\n"
                               "includes /not/an/include\n"
                               "HWCAP 0 nosegneg\n"
                               "/usr/X11R6/lib=libc5\n"
                               "relative/dir\n"
                               "/usr/local/lib\n";
    struct ld_dirs dirs = {0};
    struct temper_err err;
    char included[256] = "";

    ck_assert_int_eq(ld_conf_parse(text, sizeof(text) - 1, "ld.so.conf", "/etc", &dirs,
                                   count_include, included, &err),
                     0);
    ck_assert_uint_eq(dirs.count, 3);
    ck_assert_str_eq(dirs.dirs[0], "/usr/local/lib");
    ck_assert_str_eq(dirs.dirs[1], "/opt/lib");
    ck_assert_str_eq(dirs.dirs[2], "/usr/X11R6/lib");
    ck_assert_str_eq(included, "/etc/conf.d/*.conf;/a/*.conf;/etc/b.conf");
    ld_dirs_release(&dirs);
}
END_TEST

START_TEST(test_ld_conf_parse_rejects_nul_bytes_with_the_line)
{
    static const char text[] = "/a\n/b\0c\n";
    struct ld_dirs dirs = {0};
    struct temper_err err;

    ck_assert_int_eq(
        ld_conf_parse(text, sizeof(text) - 1, "x.conf", "/etc", &dirs, count_include, NULL, &err),
        -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_str_eq(err.msg, "'x.conf' line 2: NUL byte");
    ld_dirs_release(&dirs);
}
END_TEST

START_TEST(test_ld_conf_parse_caps_the_directories)
{
    size_t cap = (LDCONF_MAX_DIRS + 1) * 8, len = 0;
    char *text = malloc(cap);
    struct ld_dirs dirs = {0};
    struct temper_err err;

    for (int i = 0; i <= LDCONF_MAX_DIRS; i++)
        len += (size_t)snprintf(text + len, cap - len, "/d%d\n", i);
    ck_assert_int_eq(
        ld_conf_parse(text, len, "many.conf", "/etc", &dirs, count_include, NULL, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_uint_eq(dirs.count, LDCONF_MAX_DIRS);
    ld_dirs_release(&dirs);
    free(text);
}
END_TEST

START_TEST(test_ld_conf_load_walks_a_deep_include_without_recursing)
{
    char *conf = malloc(TEMPER_PATH_MAX + 16);
    struct fs_root *root;
    struct ld_dirs dirs = {0};
    struct temper_err err;
    size_t len = 0;

    /* 2,000 literal components: walked in a loop (each used to be a 8 KiB stack frame). */
    len += (size_t)snprintf(conf, 16, "include ");
    for (int i = 0; i < 2000; i++)
        len += (size_t)snprintf(conf + len, 3, "/a");
    conf[len++] = '\n';
    testutil_write("etc/ld.so.conf", conf, len);
    testutil_write("etc/ld.so.conf.d/x.conf", "/opt/x\n", 7);
    ck_assert_int_eq(fs_root_open(testutil_dir, &root, &err), 0);
    ck_assert_msg(ld_conf_load(root, &dirs, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(dirs.count, 0);
    ld_dirs_release(&dirs);
    fs_root_free(root);
    free(conf);
}
END_TEST

START_TEST(test_ld_expand_substitutes_tokens)
{
    char out[TEMPER_PATH_MAX];
    char *longer = malloc(TEMPER_PATH_MAX);

    ck_assert_int_eq(
        ld_expand("$ORIGIN/../lib:${ORIGIN}/x", "/opt/app/bin", "lib64", "x86_64", out), 0);
    ck_assert_str_eq(out, "/opt/app/bin/../lib:/opt/app/bin/x");
    ck_assert_int_eq(
        ld_expand("/usr/$LIB/$PLATFORM/${LIB}", "/o", "lib/x86_64-linux-gnu", "x86_64", out), 0);
    ck_assert_str_eq(out, "/usr/lib/x86_64-linux-gnu/x86_64/lib/x86_64-linux-gnu");
    ck_assert_int_eq(ld_expand("$ORIGINAL/$FOO/${ORIGIN", "/o", "l", "p", out), 0);
    ck_assert_str_eq(out, "$ORIGINAL/$FOO/${ORIGIN");
    memset(longer, 'a', TEMPER_PATH_MAX - 10);
    longer[TEMPER_PATH_MAX - 10] = '\0';
    ck_assert_int_eq(ld_expand("$ORIGIN", longer, "l", "p", out), 0);
    ck_assert_int_eq(ld_expand("$ORIGIN/$ORIGIN", longer, "l", "p", out), -1);
    free(longer);
}
END_TEST

/* A crafted Debian-like root: the interpreter, libc, and the multiarch directory. */
static void
make_base_root(void)
{
    write_elf("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
              &(struct spec){.soname = "ld-linux-x86-64.so.2"});
    write_elf("usr/lib/x86_64-linux-gnu/libc.so.6",
              &(struct spec){.soname = "libc.so.6", .needed = {"ld-linux-x86-64.so.2"}});
    testutil_symlink("usr/lib", "lib");
    testutil_mkdir("usr/lib64");
    testutil_symlink("usr/lib64", "lib64");
    testutil_symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                     "usr/lib64/ld-linux-x86-64.so.2");
}

struct resolved {
    struct fs_root *root;
    struct elf_resolver *r;
    const struct elf_closure *c;
    struct temper_err err;
    int rc;
};

static void
resolve(struct resolved *res, const char *path, bool allow_missing)
{
    struct elf_resolver_options opts = {.allow_missing = allow_missing};

    ck_assert_int_eq(fs_root_open(testutil_dir, &res->root, &res->err), 0);
    ck_assert_msg(elf_resolver_new(res->root, &opts, &res->r, &res->err) == 0, "%s", res->err.msg);
    res->rc = elf_resolver_resolve(res->r, path, &res->c, &res->err);
}

static void
release(struct resolved *res)
{
    elf_resolver_free(res->r);
    fs_root_free(res->root);
}

/* The path the loader opens for DT_NEEDED `name` of the input, or NULL. */
static const char *
load_path(const struct elf_closure *c, const char *name)
{
    for (size_t i = 0; i < c->nloads; i++) {
        if (strcmp(c->loads[i].name, name) == 0)
            return c->loads[i].path;
    }
    return NULL;
}

static const char exe_interp[] = "/lib64/ld-linux-x86-64.so.2";

START_TEST(test_resolver_follows_the_loader_through_symlinks)
{
    struct resolved res;
    struct elf_path *paths;
    size_t n;

    make_base_root();
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp, .needed = {"libc.so.6"}});
    resolve(&res, "/usr/bin/app", false);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_int_ge(res.c->interp, 0);
    ck_assert_str_eq(res.c->loads[res.c->interp].path, exe_interp);
    ck_assert_str_eq(load_path(res.c, "libc.so.6"), "/lib/x86_64-linux-gnu/libc.so.6");
    /* libc's DT_NEEDED on the interpreter is the interpreter itself: three loads, no more */
    ck_assert_uint_eq(res.c->nloads, 3);
    elf_resolver_paths(res.r, &paths, &n);
    ck_assert_uint_eq(n, 6); /* /usr/lib64 is a plain directory: implied, not listed */
    ck_assert_str_eq(paths[0].path, "/lib");
    ck_assert_str_eq(paths[0].target, "usr/lib");
    ck_assert_str_eq(paths[1].path, "/lib64");
    ck_assert_str_eq(paths[2].path, "/usr/bin/app");
    ck_assert_ptr_null(paths[2].target);
    ck_assert_str_eq(paths[3].path, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    ck_assert_str_eq(paths[4].path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    ck_assert_str_eq(paths[1].target, "usr/lib64");
    ck_assert_str_eq(paths[5].path, "/usr/lib64/ld-linux-x86-64.so.2");
    ck_assert_str_eq(paths[5].target, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    free(paths);
    release(&res);
}
END_TEST

START_TEST(test_resolver_searches_runpath_then_skips_wrong_machines)
{
    struct resolved res;

    make_base_root();
    /* First in DT_RUNPATH: an aarch64 library of the right name, which ld.so skips. */
    write_elf("opt/arm/libdep.so.1",
              &(struct spec){.machine = EM_AARCH64, .soname = "libdep.so.1"});
    write_elf("opt/app/lib/libdep.so.1", &(struct spec){.soname = "libdep.so.1"});
    write_elf("usr/lib/x86_64-linux-gnu/libdep.so.1", &(struct spec){.soname = "libdep.so.1"});
    write_elf("opt/app/bin/app", &(struct spec){.interp = exe_interp,
                                                .needed = {"libdep.so.1", "libc.so.6"},
                                                .runpath = "/opt/arm:$ORIGIN/../lib"});
    resolve(&res, "/opt/app/bin/app", false);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_str_eq(load_path(res.c, "libdep.so.1"), "/opt/app/bin/../lib/libdep.so.1");
    ck_assert_str_eq(res.c->loads[1 + (res.c->interp == 1)].object->path,
                     "/opt/app/lib/libdep.so.1");
    release(&res);
}
END_TEST

START_TEST(test_resolver_inherits_rpath_only_without_runpath)
{
    struct resolved res;

    make_base_root();
    write_elf("a/libleaf.so.1", &(struct spec){.soname = "libleaf.so.1"});
    write_elf("b/libleaf.so.1", &(struct spec){.soname = "libleaf.so.1"});
    write_elf("a/libmid.so.1", &(struct spec){.needed = {"libleaf.so.1"}});
    write_elf("a/libmid2.so.1", &(struct spec){.needed = {"libleaf2.so.1"}, .runpath = "/b"});
    write_elf("b/libleaf2.so.1", &(struct spec){.soname = "libleaf2.so.1"});
    write_elf("a/libleaf2.so.1", &(struct spec){.soname = "libleaf2.so.1"});
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp,
                                            .needed = {"libmid.so.1", "libmid2.so.1", "libc.so.6"},
                                            .rpath = "/a"});
    resolve(&res, "/usr/bin/app", false);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    /* libmid has no DT_RUNPATH: the executable's DT_RPATH applies to its needs. */
    ck_assert_str_eq(load_path(res.c, "libleaf.so.1"), "/a/libleaf.so.1");
    /* libmid2 has DT_RUNPATH: its own list only, the inherited DT_RPATH is ignored. */
    ck_assert_str_eq(load_path(res.c, "libleaf2.so.1"), "/b/libleaf2.so.1");
    release(&res);
}
END_TEST

START_TEST(test_resolver_names_the_missing_library_and_where_it_looked)
{
    struct resolved res;

    make_base_root();
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp,
                                            .needed = {"libnope.so.9", "libc.so.6"},
                                            .runpath = "/opt/x"});
    resolve(&res, "/usr/bin/app", false);
    ck_assert_int_eq(res.rc, -1);
    ck_assert_int_eq(res.err.code, TEMPER_E_MISSING);
    ck_assert_msg(strstr(res.err.msg, "'libnope.so.9' needed by '/usr/bin/app' not found") != NULL,
                  "%s", res.err.msg);
    ck_assert_msg(strstr(res.err.msg, "/opt/x:") != NULL, "%s", res.err.msg);
    ck_assert_msg(strstr(res.err.msg, "/usr/lib/x86_64-linux-gnu") != NULL, "%s", res.err.msg);
    release(&res);

    resolve(&res, "/usr/bin/app", true);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_uint_eq(res.c->nmissing, 1);
    ck_assert_str_eq(res.c->missing[0].name, "libnope.so.9");
    ck_assert_str_eq(res.c->missing[0].needed_by, "/usr/bin/app");
    ck_assert_int_eq(res.c->loads[0].edges[0].target, -1);
    release(&res);
}
END_TEST

START_TEST(test_resolver_ends_a_search_segment_at_a_symlink_loop)
{
    struct resolved res;

    /* ld.so's open_path gives up on a whole DT_RUNPATH when an entry cannot be opened for
     * another reason than ENOENT (here ELOOP), and goes on with the system directories. */
    make_base_root();
    testutil_symlink("libx2.so.1", "loop/libx.so.1");
    testutil_symlink("libx.so.1", "loop/libx2.so.1");
    write_elf("good/libx.so.1", &(struct spec){.soname = "libx.so.1"});
    write_elf("usr/lib/x86_64-linux-gnu/libx.so.1", &(struct spec){.soname = "libx.so.1"});
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp,
                                            .needed = {"libx.so.1", "libc.so.6"},
                                            .runpath = "/loop:/good"});
    resolve(&res, "/usr/bin/app", false);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_str_eq(load_path(res.c, "libx.so.1"), "/lib/x86_64-linux-gnu/libx.so.1");
    release(&res);
}
END_TEST

/* How many of `want` elf_resolver_paths lists. */
static size_t
count_paths(const struct elf_resolver *r, const char *const *want, size_t nwant)
{
    struct elf_path *paths;
    size_t n, found = 0;

    elf_resolver_paths(r, &paths, &n);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < nwant; k++)
            found += strcmp(paths[i].path, want[k]) == 0;
    }
    free(paths);
    return found;
}

START_TEST(test_resolver_takes_every_hwcaps_variant)
{
    struct resolved res;
    static const char *const want[] = {
        "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v2/libv.so.1",
        "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libv.so.1",
        "/usr/lib/x86_64-linux-gnu/tls/libv.so.1",
    };
    static const char *const never[] = {"/usr/lib/x86_64-linux-gnu/libv.so.1"};

    /* Which variant ld.so maps depends on the CPU that runs the image: every one a CPU may
     * take is needed, the best is what the name resolves to. glibc 2.36 still searches the
     * legacy "tls" subdirectory, on every CPU, before the directory itself: the plain file
     * beside it is never loaded. */
    make_base_root();
    write_elf("usr/lib/x86_64-linux-gnu/libv.so.1", &(struct spec){.soname = "libv.so.1"});
    write_elf("usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libv.so.1",
              &(struct spec){.soname = "libv.so.1"});
    write_elf("usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v2/libv.so.1",
              &(struct spec){.soname = "libv.so.1"});
    write_elf("usr/lib/x86_64-linux-gnu/tls/libv.so.1", &(struct spec){.soname = "libv.so.1"});
    write_elf("usr/bin/app",
              &(struct spec){.interp = exe_interp, .needed = {"libv.so.1", "libc.so.6"}});
    resolve(&res, "/usr/bin/app", false);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_str_eq(load_path(res.c, "libv.so.1"),
                     "/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libv.so.1");
    ck_assert_uint_eq(count_paths(res.r, want, 3), 3);
    ck_assert_uint_eq(count_paths(res.r, never, 1), 0);
    release(&res);
}
END_TEST

START_TEST(test_resolver_takes_what_a_cpu_without_the_variant_finds_later)
{
    struct resolved res;
    static const char *const want[] = {
        "/opt/a/glibc-hwcaps/x86-64-v4/libw.so.1",
        "/opt/b/libw.so.1",
    };

    /* A CPU without x86-64-v4 passes over /opt/a and takes /opt/b: both are needed, whichever
     * input asks first (the second input searches the same name through its DT_RUNPATH). */
    make_base_root();
    write_elf("opt/a/glibc-hwcaps/x86-64-v4/libw.so.1", &(struct spec){.soname = "libw.so.1"});
    write_elf("opt/b/libw.so.1", &(struct spec){.soname = "libw.so.1"});
    write_elf("usr/bin/first", &(struct spec){.interp = exe_interp, .needed = {"libc.so.6"}});
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp,
                                            .needed = {"libw.so.1", "libc.so.6"},
                                            .runpath = "/opt/a:/opt/b"});
    resolve(&res, "/usr/bin/first", false);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_int_eq(elf_resolver_resolve(res.r, "/usr/bin/app", &res.c, &res.err), 0);
    ck_assert_str_eq(load_path(res.c, "libw.so.1"), "/opt/a/glibc-hwcaps/x86-64-v4/libw.so.1");
    ck_assert_uint_eq(count_paths(res.r, want, 2), 2);
    release(&res);
}
END_TEST

START_TEST(test_resolver_takes_paths_with_no_absolute_entry)
{
    struct resolved res;

    /* Every entry skipped (relative, empty): an empty list. An empty DT_RUNPATH is still a
     * DT_RUNPATH: the DT_RPATH of the program that loaded libmid no longer applies to it. */
    make_base_root();
    write_elf("a/libx.so.1", &(struct spec){.soname = "libx.so.1"});
    write_elf("usr/lib/x86_64-linux-gnu/libmid.so.1",
              &(struct spec){.soname = "libmid.so.1", .needed = {"libx.so.1"}, .runpath = ""});
    write_elf("usr/bin/rel",
              &(struct spec){.interp = exe_interp, .needed = {"libc.so.6"}, .rpath = "lib:"});
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp,
                                            .needed = {"libmid.so.1", "libc.so.6"},
                                            .rpath = "/a"});
    resolve(&res, "/usr/bin/rel", true);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_str_eq(load_path(res.c, "libc.so.6"), "/lib/x86_64-linux-gnu/libc.so.6");
    ck_assert_int_eq(elf_resolver_resolve(res.r, "/usr/bin/app", &res.c, &res.err), 0);
    ck_assert_uint_eq(res.c->nmissing, 1);
    ck_assert_str_eq(res.c->missing[0].name, "libx.so.1");
    ck_assert_str_eq(res.c->missing[0].needed_by, "/lib/x86_64-linux-gnu/libmid.so.1");
    release(&res);
}
END_TEST

START_TEST(test_resolver_ends_dt_needed_cycles)
{
    struct resolved res;

    make_base_root();
    write_elf("usr/lib/x86_64-linux-gnu/liba.so.1",
              &(struct spec){.soname = "liba.so.1", .needed = {"libb.so.1"}});
    write_elf("usr/lib/x86_64-linux-gnu/libb.so.1",
              &(struct spec){.soname = "libb.so.1", .needed = {"liba.so.1", "libc.so.6"}});
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp, .needed = {"liba.so.1"}});
    resolve(&res, "/usr/bin/app", false);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_uint_eq(res.c->nloads, 5); /* app, ld.so, liba, libb, libc */
    release(&res);
}
END_TEST

START_TEST(test_resolver_reads_ld_so_conf_includes_inside_the_root)
{
    struct resolved res;
    static const char conf[] = "include /etc/ld.so.conf.d/*.conf\ninclude missing/*.conf\n";
    static const char custom[] = "/opt/custom/lib\n";

    make_base_root();
    testutil_write("etc/ld.so.conf", conf, sizeof(conf) - 1);
    testutil_write("etc/ld.so.conf.d/custom.conf", custom, sizeof(custom) - 1);
    testutil_write("etc/ld.so.conf.d/ignored.txt", "/wrong\n", 7);
    write_elf("opt/custom/lib/libcustom.so.1", &(struct spec){.soname = "libcustom.so.1"});
    write_elf("usr/bin/app",
              &(struct spec){.interp = exe_interp, .needed = {"libcustom.so.1", "libc.so.6"}});
    resolve(&res, "/usr/bin/app", false);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_str_eq(load_path(res.c, "libcustom.so.1"), "/opt/custom/lib/libcustom.so.1");
    release(&res);
}
END_TEST

START_TEST(test_resolver_finds_ld_so_conf_directories_as_the_cache_does)
{
    struct resolved res;
    static const char conf[] = "/opt/lib\n";

    /* ld.so finds ld.so.conf's directories through ld.so.cache, which ldconfig keys by
     * DT_SONAME and fills with lib* and ld-* files only; the default directories it searches by
     * file name. */
    make_base_root();
    testutil_write("etc/ld.so.conf", conf, sizeof(conf) - 1);
    write_elf("opt/lib/libfoo.so.1", &(struct spec){.soname = "libother.so.1"});
    write_elf("opt/lib/plugin.so", &(struct spec){.soname = "plugin.so"});
    write_elf("usr/lib/x86_64-linux-gnu/plugin.so", &(struct spec){.soname = "plugin.so"});
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp,
                                            .needed = {"libfoo.so.1", "plugin.so", "libc.so.6"}});
    resolve(&res, "/usr/bin/app", true);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_uint_eq(res.c->nmissing, 1);
    ck_assert_str_eq(res.c->missing[0].name, "libfoo.so.1");
    ck_assert_str_eq(load_path(res.c, "plugin.so"), "/lib/x86_64-linux-gnu/plugin.so");
    release(&res);
}
END_TEST

START_TEST(test_resolver_honours_nodeflib)
{
    struct resolved res;
    static const char conf[] = "/opt/lib\n";

    /* Under DF_1_NODEFLIB ld.so refuses what the cache finds in a default directory and skips
     * the default directories; an ld.so.conf directory of its own still counts. */
    make_base_root();
    testutil_write("etc/ld.so.conf", conf, sizeof(conf) - 1);
    write_elf("opt/lib/libfoo.so.1", &(struct spec){.soname = "libfoo.so.1"});
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp,
                                            .needed = {"libfoo.so.1", "libc.so.6"},
                                            .flags_1 = DF_1_NODEFLIB});
    resolve(&res, "/usr/bin/app", true);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_str_eq(load_path(res.c, "libfoo.so.1"), "/opt/lib/libfoo.so.1");
    ck_assert_uint_eq(res.c->nmissing, 1);
    ck_assert_str_eq(res.c->missing[0].name, "libc.so.6");
    release(&res);
}
END_TEST

START_TEST(test_resolver_takes_a_static_file_alone)
{
    struct resolved res;

    write_elf("bin/static", &(struct spec){.type = ET_EXEC});
    resolve(&res, "/bin/static", false);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_uint_eq(res.c->nloads, 1);
    ck_assert_int_eq(res.c->interp, -1);
    release(&res);
}
END_TEST

START_TEST(test_resolver_names_a_corrupt_library)
{
    struct resolved res;

    make_base_root();
    testutil_write("usr/lib/x86_64-linux-gnu/libbad.so.1", "\177ELF garbage", 12);
    write_elf("usr/bin/app",
              &(struct spec){.interp = exe_interp, .needed = {"libbad.so.1", "libc.so.6"}});
    resolve(&res, "/usr/bin/app", false);
    ck_assert_int_eq(res.rc, -1);
    ck_assert_int_eq(res.err.code, TEMPER_E_ELF);
    ck_assert_msg(strstr(res.err.msg, "'/usr/lib/x86_64-linux-gnu/libbad.so.1'") != NULL, "%s",
                  res.err.msg);
    release(&res);
}
END_TEST

START_TEST(test_resolver_refuses_a_bad_interpreter_only_for_the_input)
{
    struct resolved res;

    make_base_root();
    write_elf("usr/lib/x86_64-linux-gnu/libodd.so.1",
              &(struct spec){.soname = "libodd.so.1", .interp = "relative/ld.so"});
    write_elf("usr/bin/app",
              &(struct spec){.interp = exe_interp, .needed = {"libodd.so.1", "libc.so.6"}});
    write_elf("usr/bin/bad", &(struct spec){.interp = "relative/ld.so", .needed = {"libc.so.6"}});
    resolve(&res, "/usr/bin/app", false);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_str_eq(load_path(res.c, "libodd.so.1"), "/lib/x86_64-linux-gnu/libodd.so.1");
    ck_assert_int_eq(elf_resolver_resolve(res.r, "/usr/bin/bad", &res.c, &res.err), -1);
    ck_assert_int_eq(res.err.code, TEMPER_E_ELF);
    ck_assert_str_eq(res.err.msg, "'/usr/bin/bad': PT_INTERP is not an absolute path");
    release(&res);
}
END_TEST

START_TEST(test_resolver_reports_a_missing_interpreter)
{
    struct resolved res;

    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp, .needed = {"libc.so.6"}});
    resolve(&res, "/usr/bin/app", false);
    ck_assert_int_eq(res.rc, -1);
    ck_assert_msg(strstr(res.err.msg, "interpreter of '/usr/bin/app'") != NULL, "%s", res.err.msg);
    ck_assert_msg(strstr(res.err.msg, "'/lib64/ld-linux-x86-64.so.2'") != NULL, "%s", res.err.msg);
    release(&res);
}
END_TEST

/* Opens the test root and resolves library `name` as dlopen would for the program `like`. */
static void
resolve_library(struct resolved *res, const char *name, const char *like)
{
    ck_assert_int_eq(fs_root_open(testutil_dir, &res->root, &res->err), 0);
    ck_assert_msg(elf_resolver_new(res->root, NULL, &res->r, &res->err) == 0, "%s", res->err.msg);
    res->c = NULL;
    res->rc = elf_resolver_resolve_library(res->r, name, like, &res->c, &res->err);
}

/* The load opened as `path`, or NULL. */
static const struct elf_load *
load_at(const struct elf_closure *c, const char *path)
{
    for (size_t i = 0; i < c->nloads; i++) {
        if (strcmp(c->loads[i].path, path) == 0)
            return &c->loads[i];
    }
    return NULL;
}

static const char ld_conf_opt_lib[] = "/opt/lib\n";

START_TEST(test_elf_resolver_resolve_library_finds_soname_in_default_dir)
{
    struct resolved res;
    static const char *const want[] = {
        "/usr/lib/x86_64-linux-gnu/libfoo.so.1",
        "/usr/lib/x86_64-linux-gnu/libbar.so.1",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
    };

    /* The first default directory of a Debian x86_64 root is /lib/x86_64-linux-gnu (here a
     * symlink into /usr): the path opened goes through it. */
    make_base_root();
    write_elf("usr/lib/x86_64-linux-gnu/libfoo.so.1",
              &(struct spec){.soname = "libfoo.so.1", .needed = {"libbar.so.1", "libc.so.6"}});
    write_elf("usr/lib/x86_64-linux-gnu/libbar.so.1",
              &(struct spec){.soname = "libbar.so.1", .needed = {"libc.so.6"}});
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp, .needed = {"libc.so.6"}});
    resolve_library(&res, "libfoo.so.1", "/usr/bin/app");
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_str_eq(res.c->loads[0].path, "/lib/x86_64-linux-gnu/libfoo.so.1");
    ck_assert_str_eq(res.c->loads[0].object->path, "/usr/lib/x86_64-linux-gnu/libfoo.so.1");
    ck_assert(!res.c->loads[0].by_cache_only);
    /* Its DT_NEEDED are followed as for an input: libfoo, libbar, libc, ld.so. */
    ck_assert_uint_eq(res.c->loads[0].nedges, 2);
    ck_assert_int_ge(res.c->loads[0].edges[0].target, 0);
    ck_assert_int_ge(res.c->loads[0].edges[1].target, 0);
    ck_assert_str_eq(load_path(res.c, "libbar.so.1"), "/lib/x86_64-linux-gnu/libbar.so.1");
    ck_assert_str_eq(load_path(res.c, "libc.so.6"), "/lib/x86_64-linux-gnu/libc.so.6");
    ck_assert_uint_eq(res.c->nloads, 4);
    for (size_t i = 0; i < res.c->nloads; i++)
        ck_assert_msg(!res.c->loads[i].by_cache_only, "%s", res.c->loads[i].path);
    ck_assert_uint_eq(count_paths(res.r, want, 3), 3);
    release(&res);
}
END_TEST

START_TEST(test_elf_resolver_resolve_library_marks_a_soname_only_ld_so_conf_finds)
{
    struct resolved res;
    const struct elf_load *libc;

    make_base_root();
    testutil_write("etc/ld.so.conf", ld_conf_opt_lib, sizeof(ld_conf_opt_lib) - 1);
    write_elf("opt/lib/libplug.so.1",
              &(struct spec){.soname = "libplug.so.1", .needed = {"libc.so.6"}});
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp, .needed = {"libc.so.6"}});
    resolve_library(&res, "libplug.so.1", "/usr/bin/app");
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_str_eq(res.c->loads[0].path, "/opt/lib/libplug.so.1");
    ck_assert(res.c->loads[0].by_cache_only);
    libc = load_at(res.c, "/lib/x86_64-linux-gnu/libc.so.6");
    ck_assert_ptr_nonnull(libc);
    ck_assert(!libc->by_cache_only);
    release(&res);
}
END_TEST

START_TEST(test_elf_resolver_resolve_library_marks_dt_needed_only_ld_so_conf_finds)
{
    struct resolved res;
    const struct elf_load *plug, *libc;

    /* An input's DT_NEEDED found only through ld.so.conf is marked; what the default
     * directories hold is not, though the cache holds it too. */
    make_base_root();
    testutil_write("etc/ld.so.conf", ld_conf_opt_lib, sizeof(ld_conf_opt_lib) - 1);
    write_elf("opt/lib/libplug.so.1",
              &(struct spec){.soname = "libplug.so.1", .needed = {"libc.so.6"}});
    write_elf("usr/bin/app",
              &(struct spec){.interp = exe_interp, .needed = {"libplug.so.1", "libc.so.6"}});
    resolve(&res, "/usr/bin/app", false);
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    plug = load_at(res.c, "/opt/lib/libplug.so.1");
    libc = load_at(res.c, "/lib/x86_64-linux-gnu/libc.so.6");
    ck_assert_ptr_nonnull(plug);
    ck_assert_ptr_nonnull(libc);
    ck_assert(plug->by_cache_only);
    ck_assert(!libc->by_cache_only);
    ck_assert(!res.c->loads[0].by_cache_only);
    ck_assert(!res.c->loads[res.c->interp].by_cache_only);
    /* A second input asking for the same names (the search answered once per run) alike. */
    write_elf("usr/bin/other",
              &(struct spec){.interp = exe_interp, .needed = {"libc.so.6", "libplug.so.1"}});
    ck_assert_int_eq(elf_resolver_resolve(res.r, "/usr/bin/other", &res.c, &res.err), 0);
    ck_assert(load_at(res.c, "/opt/lib/libplug.so.1")->by_cache_only);
    ck_assert(!load_at(res.c, "/lib/x86_64-linux-gnu/libc.so.6")->by_cache_only);
    release(&res);
}
END_TEST

START_TEST(test_elf_resolver_resolve_library_marks_a_subdirectory_of_a_default_dir)
{
    struct resolved res;
    static const char conf[] = "/usr/lib/x86_64-linux-gnu/libfakeroot\n";
    const struct elf_load *fake;

    /* Debian lists /usr/lib/x86_64-linux-gnu/libfakeroot in ld.so.conf.d: under a default
     * directory, but not one ld.so searches without the cache. */
    make_base_root();
    testutil_write("etc/ld.so.conf", conf, sizeof(conf) - 1);
    write_elf("usr/lib/x86_64-linux-gnu/libfakeroot/libfakeroot-tcp.so",
              &(struct spec){.soname = "libfakeroot-tcp.so", .needed = {"libc.so.6"}});
    write_elf("usr/bin/app",
              &(struct spec){.interp = exe_interp, .needed = {"libfakeroot-tcp.so", "libc.so.6"}});
    resolve_library(&res, "libfakeroot-tcp.so", "/usr/bin/app");
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_str_eq(res.c->loads[0].path,
                     "/usr/lib/x86_64-linux-gnu/libfakeroot/libfakeroot-tcp.so");
    ck_assert(res.c->loads[0].by_cache_only);
    ck_assert_int_eq(elf_resolver_resolve(res.r, "/usr/bin/app", &res.c, &res.err), 0);
    fake = load_at(res.c, "/usr/lib/x86_64-linux-gnu/libfakeroot/libfakeroot-tcp.so");
    ck_assert_ptr_nonnull(fake);
    ck_assert(fake->by_cache_only);
    ck_assert(!load_at(res.c, "/lib/x86_64-linux-gnu/libc.so.6")->by_cache_only);
    release(&res);
}
END_TEST

START_TEST(test_elf_resolver_resolve_library_takes_a_default_dir_by_another_name)
{
    struct resolved res;
    static const char conf[] = "/opt/multiarch\n";

    /* An ld.so.conf entry that is a default directory under another name: the cache finds the
     * file there first, but ld.so finds the same file without the cache. */
    make_base_root();
    testutil_write("etc/ld.so.conf", conf, sizeof(conf) - 1);
    testutil_symlink("/usr/lib/x86_64-linux-gnu", "opt/multiarch");
    write_elf("usr/lib/x86_64-linux-gnu/libfoo.so.1",
              &(struct spec){.soname = "libfoo.so.1", .needed = {"libc.so.6"}});
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp, .needed = {"libc.so.6"}});
    resolve_library(&res, "libfoo.so.1", "/usr/bin/app");
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_str_eq(res.c->loads[0].path, "/opt/multiarch/libfoo.so.1");
    ck_assert(!res.c->loads[0].by_cache_only);
    release(&res);
}
END_TEST

START_TEST(test_elf_resolver_resolve_library_needs_every_hwcaps_variant)
{
    struct resolved res;
    static const char *const want[] = {
        "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libv.so.1",
        "/usr/lib/x86_64-linux-gnu/libv.so.1",
    };

    /* As for a DT_NEEDED name: the best variant is what the name resolves to, and the file a
     * CPU without x86-64-v3 takes is needed in the image too. */
    make_base_root();
    write_elf("usr/lib/x86_64-linux-gnu/libv.so.1", &(struct spec){.soname = "libv.so.1"});
    write_elf("usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libv.so.1",
              &(struct spec){.soname = "libv.so.1"});
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp, .needed = {"libc.so.6"}});
    resolve_library(&res, "libv.so.1", "/usr/bin/app");
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_str_eq(res.c->loads[0].path,
                     "/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libv.so.1");
    ck_assert(!res.c->loads[0].by_cache_only);
    ck_assert_uint_eq(count_paths(res.r, want, 2), 2);
    release(&res);
}
END_TEST

START_TEST(test_elf_resolver_resolve_library_names_the_directories_searched)
{
    struct resolved res;
    struct elf_path *paths;
    size_t n;

    make_base_root();
    testutil_write("etc/ld.so.conf", ld_conf_opt_lib, sizeof(ld_conf_opt_lib) - 1);
    testutil_mkdir("opt/lib");
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp, .needed = {"libc.so.6"}});
    resolve_library(&res, "libnope.so.9", "/usr/bin/app");
    ck_assert_int_eq(res.rc, -1);
    ck_assert_int_eq(res.err.code, TEMPER_E_MISSING);
    ck_assert_msg(strstr(res.err.msg, "'libnope.so.9'") != NULL, "%s", res.err.msg);
    ck_assert_msg(strstr(res.err.msg, "x86_64") != NULL, "%s", res.err.msg);
    ck_assert_msg(strstr(res.err.msg, "/opt/lib:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:"
                                      "/lib:/usr/lib") != NULL,
                  "%s", res.err.msg);
    /* Nothing was resolved, so the image needs nothing yet. */
    elf_resolver_paths(res.r, &paths, &n);
    ck_assert_uint_eq(n, 0);
    free(paths);
    release(&res);
}
END_TEST

START_TEST(test_elf_resolver_resolve_library_refuses_a_name_that_is_not_a_file_name)
{
    static const char *const names[] = {"", "x86_64-linux-gnu/libc.so.6",
                                        "/lib/x86_64-linux-gnu/libc.so.6", "libc.so.6/"};
    struct resolved res;

    make_base_root();
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp, .needed = {"libc.so.6"}});
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        resolve_library(&res, names[i], "/usr/bin/app");
        ck_assert_msg(res.rc == -1, "'%s' accepted", names[i]);
        ck_assert_msg(res.err.code == TEMPER_E_USAGE, "'%s': code %d", names[i], res.err.code);
        ck_assert_ptr_null(res.c);
        release(&res);
    }
}
END_TEST

START_TEST(test_elf_resolver_resolve_library_skips_candidates_of_another_class)
{
    struct resolved res;
    const struct elf_load *libc;

    /* An i386 program beside the x86_64 one: /opt/lib (in ld.so.conf, searched first) holds
     * only an x86_64 libfoo, which a 32-bit program's search skips. */
    make_base_root();
    write_elf32("usr/lib/i386-linux-gnu/ld-linux.so.2", &(struct spec){.soname = "ld-linux.so.2"});
    write_elf32("usr/lib/i386-linux-gnu/libc.so.6",
                &(struct spec){.soname = "libc.so.6", .needed = {"ld-linux.so.2"}});
    testutil_symlink("i386-linux-gnu/ld-linux.so.2", "usr/lib/ld-linux.so.2");
    testutil_write("etc/ld.so.conf", ld_conf_opt_lib, sizeof(ld_conf_opt_lib) - 1);
    write_elf("opt/lib/libfoo.so.1",
              &(struct spec){.soname = "libfoo.so.1", .needed = {"libc.so.6"}});
    write_elf32("usr/lib/i386-linux-gnu/libfoo.so.1",
                &(struct spec){.soname = "libfoo.so.1", .needed = {"libc.so.6"}});
    write_elf32("usr/bin/app32",
                &(struct spec){.interp = "/lib/ld-linux.so.2", .needed = {"libc.so.6"}});
    write_elf("usr/bin/app", &(struct spec){.interp = exe_interp, .needed = {"libc.so.6"}});
    resolve_library(&res, "libfoo.so.1", "/usr/bin/app32");
    ck_assert_msg(res.rc == 0, "%s", res.err.msg);
    ck_assert_str_eq(res.c->loads[0].path, "/lib/i386-linux-gnu/libfoo.so.1");
    ck_assert_int_eq(res.c->loads[0].object->elf_class, ELFCLASS32);
    ck_assert_int_eq(res.c->loads[0].object->machine, EM_386);
    ck_assert(!res.c->loads[0].by_cache_only);
    libc = load_at(res.c, "/lib/i386-linux-gnu/libc.so.6");
    ck_assert_ptr_nonnull(libc);
    ck_assert_int_eq(libc->object->machine, EM_386);
    /* The x86_64 program of the same root finds the other one. */
    ck_assert_int_eq(
        elf_resolver_resolve_library(res.r, "libfoo.so.1", "/usr/bin/app", &res.c, &res.err), 0);
    ck_assert_str_eq(res.c->loads[0].path, "/opt/lib/libfoo.so.1");
    ck_assert_int_eq(res.c->loads[0].object->machine, EM_X86_64);
    ck_assert(res.c->loads[0].by_cache_only);
    ck_assert_str_eq(load_path(res.c, "libc.so.6"), "/lib/x86_64-linux-gnu/libc.so.6");
    release(&res);
}
END_TEST

START_TEST(test_elf_resolver_resolve_library_refuses_a_like_that_is_not_elf)
{
    struct resolved res;

    make_base_root();
    testutil_write("usr/bin/script", "#!/bin/sh\necho hi\n", 18);
    resolve_library(&res, "libc.so.6", "/usr/bin/script");
    ck_assert_int_eq(res.rc, -1);
    ck_assert_int_eq(res.err.code, TEMPER_E_ELF);
    ck_assert_msg(strstr(res.err.msg, "/usr/bin/script") != NULL, "%s", res.err.msg);
    ck_assert_ptr_null(res.c);
    release(&res);
}
END_TEST

static Suite *
elf_suite(void)
{
    Suite *s = suite_create("elf");
    TCase *tc;

    tc = tcase_create("elf_object_parse");
    tcase_add_test(tc, test_elf_object_parse_reads_the_dynamic_segment);
    tcase_add_test(tc, test_elf_object_parse_ignores_rpath_when_runpath_is_present);
    tcase_add_test(tc, test_elf_object_parse_reads_the_test_program_itself);
    tcase_add_test(tc, test_elf_versions_read_the_imports_glibc_serves_by_dlopen);
    tcase_add_test(tc, test_elf_object_parse_rejects_malformed_images);
    tcase_add_test(tc, test_elf_object_parse_notes_an_unusable_interpreter);
    tcase_add_test(tc, test_elf_object_parse_caps_dt_needed);
    tcase_add_test(tc, test_elf_object_parse_reads_program_headers_far_in_the_file);
    tcase_add_test(tc, test_elf_object_parse_caps_the_dynamic_segment);
    suite_add_tcase(s, tc);

    tc = tcase_create("ld_conf_parse");
    tcase_add_test(tc, test_ld_conf_parse_reads_dirs_includes_and_comments);
    tcase_add_test(tc, test_ld_conf_parse_rejects_nul_bytes_with_the_line);
    tcase_add_test(tc, test_ld_conf_parse_caps_the_directories);
    suite_add_tcase(s, tc);

    tc = tcase_create("ld_conf_load");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_ld_conf_load_walks_a_deep_include_without_recursing);
    suite_add_tcase(s, tc);

    tc = tcase_create("ld_expand");
    tcase_add_test(tc, test_ld_expand_substitutes_tokens);
    suite_add_tcase(s, tc);

    tc = tcase_create("elf_resolver_resolve");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_resolver_follows_the_loader_through_symlinks);
    tcase_add_test(tc, test_resolver_searches_runpath_then_skips_wrong_machines);
    tcase_add_test(tc, test_resolver_inherits_rpath_only_without_runpath);
    tcase_add_test(tc, test_resolver_names_the_missing_library_and_where_it_looked);
    tcase_add_test(tc, test_resolver_ends_a_search_segment_at_a_symlink_loop);
    tcase_add_test(tc, test_resolver_takes_every_hwcaps_variant);
    tcase_add_test(tc, test_resolver_takes_what_a_cpu_without_the_variant_finds_later);
    tcase_add_test(tc, test_resolver_takes_paths_with_no_absolute_entry);
    tcase_add_test(tc, test_resolver_ends_dt_needed_cycles);
    tcase_add_test(tc, test_resolver_reads_ld_so_conf_includes_inside_the_root);
    tcase_add_test(tc, test_resolver_finds_ld_so_conf_directories_as_the_cache_does);
    tcase_add_test(tc, test_resolver_honours_nodeflib);
    tcase_add_test(tc, test_resolver_takes_a_static_file_alone);
    tcase_add_test(tc, test_resolver_names_a_corrupt_library);
    tcase_add_test(tc, test_resolver_reports_a_missing_interpreter);
    tcase_add_test(tc, test_resolver_refuses_a_bad_interpreter_only_for_the_input);
    suite_add_tcase(s, tc);

    tc = tcase_create("elf_resolver_resolve_library");
    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_elf_resolver_resolve_library_finds_soname_in_default_dir);
    tcase_add_test(tc, test_elf_resolver_resolve_library_marks_a_soname_only_ld_so_conf_finds);
    tcase_add_test(tc, test_elf_resolver_resolve_library_marks_dt_needed_only_ld_so_conf_finds);
    tcase_add_test(tc, test_elf_resolver_resolve_library_marks_a_subdirectory_of_a_default_dir);
    tcase_add_test(tc, test_elf_resolver_resolve_library_takes_a_default_dir_by_another_name);
    tcase_add_test(tc, test_elf_resolver_resolve_library_needs_every_hwcaps_variant);
    tcase_add_test(tc, test_elf_resolver_resolve_library_names_the_directories_searched);
    tcase_add_test(tc, test_elf_resolver_resolve_library_refuses_a_name_that_is_not_a_file_name);
    tcase_add_test(tc, test_elf_resolver_resolve_library_skips_candidates_of_another_class);
    tcase_add_test(tc, test_elf_resolver_resolve_library_refuses_a_like_that_is_not_elf);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(elf_suite());
}
