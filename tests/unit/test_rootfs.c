/*
 * Unit tests for rootfs: plans built from recipes (parsed from YAML text)
 * over small roots made in each test's directory, and over this machine's
 * own root for ELF closures.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs/rootfs_plan.h"
#include "testutil.h"

/* Plans `yaml` over `root_dir` (the test directory's "root" when NULL). */
static int
plan(const char *yaml, const char *root_dir, struct rootfs_plan **out, struct temper_err *err)
{
    struct recipe *r = NULL;
    struct fs_root *root = NULL;
    int rc;

    rc = recipe_parse(yaml, strlen(yaml), testutil_path("x.yaml"), &r, err);
    ck_assert_msg(rc == 0, "recipe: %s", err->msg);
    ck_assert_int_eq(fs_root_open(root_dir ? root_dir : testutil_path("root"), &root, err), 0);
    rc = rootfs_plan_build(r, root, &(struct rootfs_options){.jobs = 1}, out, err);
    fs_root_free(root);
    recipe_free(r);
    return rc;
}

static const struct rootfs_entry *
find(const struct rootfs_plan *p, const char *path)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->entries[i].path, path) == 0)
            return &p->entries[i];
    return NULL;
}

static void
make_root(void)
{
    testutil_write("root/usr/bin/tool", "#!tool\n", 7);
    chmod(testutil_path("root/usr/bin/tool"), 04755);
    testutil_write("root/etc/data", "data", 4);
    chmod(testutil_path("root/etc/data"), 0666);
    testutil_symlink("usr/bin", "root/bin");
}

static const char files_recipe[] = "name: x\narchitecture: amd64\n"
                                   "contents:\n  files: [/bin/tool, /etc/data]\n";

/* The program a runtime starts must be an executable file of the image. */
START_TEST(test_rootfs_plan_build_checks_the_entrypoint)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;
    char yaml[512];
    const char *paths = "name: x\narchitecture: amd64\npaths:\n"
                        "  - {path: /usr/bin/app, type: file, content: x, permissions: 0o755}\n"
                        "  - {path: /opt/link, type: symlink, target: /usr/bin/app}\n"
                        "  - {path: /etc/conf, type: file, content: x}\n";
    const char *ok[] = {"entrypoint: {command: /opt/link}\n", "entrypoint: {command: app}\n",
                        "cmd: [/usr/bin/app, -v]\n",
                        "environment: {PATH: /opt}\nentrypoint: {command: link}\n",
                        "work-dir: /usr\nentrypoint: {command: bin/app}\n"};

    testutil_mkdir("root");
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(yaml, sizeof(yaml), "%s%s", paths, ok[i]);
        ck_assert_msg(plan(yaml, NULL, &p, &err) == 0, "%s: %s", ok[i], err.msg);
        rootfs_plan_free(p);
    }
    snprintf(yaml, sizeof(yaml), "%sentrypoint: {command: /etc/conf}\n", paths);
    ck_assert_int_eq(plan(yaml, NULL, &p, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_POLICY);
    ck_assert_ptr_nonnull(strstr(err.msg, "x.yaml:7:23: entrypoint.command '/etc/conf' is not an "
                                          "executable file of the image: the image would fail"));
    snprintf(yaml, sizeof(yaml), "%scmd: [app2]\n", paths);
    ck_assert_int_eq(plan(yaml, NULL, &p, &err), -1);
    ck_assert_ptr_nonnull(
        strstr(err.msg, "x.yaml:7:7: cmd 'app2' is not an executable file of the image in any "
                        "directory of its PATH"));
}
END_TEST

START_TEST(test_rootfs_plan_build_normalises_what_it_takes)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;
    const struct rootfs_entry *e;

    make_root();
    ck_assert_msg(plan(files_recipe, NULL, &p, &err) == 0, "%s", err.msg);
    for (size_t i = 1; i < p->n; i++)
        ck_assert_msg(strcmp(p->entries[i - 1].path, p->entries[i].path) < 0, "order at %s",
                      p->entries[i].path);
    e = find(p, "bin");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->type, ROOTFS_SYMLINK);
    ck_assert_str_eq(e->target, "usr/bin");
    e = find(p, "usr/bin/tool");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->type, ROOTFS_FILE);
    ck_assert_uint_eq(e->mode, 0755); /* setuid cleared */
    ck_assert_uint_eq(e->uid, 0);
    ck_assert_uint_eq(e->size, 7);
    ck_assert_str_eq(e->source, "/usr/bin/tool");
    ck_assert_uint_eq(find(p, "etc/data")->mode, 0644); /* group and other write cleared */
    ck_assert_uint_eq(find(p, "usr")->mode, 0755);
    ck_assert_uint_eq(find(p, "tmp")->mode, 01777);
    ck_assert_uint_eq(find(p, "root")->mode, 0700);
    e = find(p, "home/nonroot");
    ck_assert_uint_eq(e->mode, 0700);
    ck_assert_uint_eq(e->uid, 65532);
    ck_assert_uint_eq(e->gid, 65532);
    ck_assert_str_eq(find(p, "etc/passwd")->content,
                     "root:x:0:0:root:/root:/sbin/nologin\n"
                     "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n");
    ck_assert_str_eq(find(p, "etc/group")->content, "root:x:0:\nnonroot:x:65532:\n");
    ck_assert_ptr_nonnull(strstr(find(p, "etc/nsswitch.conf")->content, "hosts: files dns\n"));
    ck_assert_uint_eq(p->summary.setid_cleared, 1);
    ck_assert_ptr_null(p->summary.setid_kept);
    ck_assert_uint_eq(p->summary.nelves, 0);
    ck_assert_str_eq(p->architecture, "amd64");
    ck_assert_uint_eq(p->summary.entries, p->n);
    rootfs_plan_free(p);
}
END_TEST

START_TEST(test_rootfs_plan_build_allow_setuid_keeps_and_lists)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;
    char yaml[256];

    make_root();
    snprintf(yaml, sizeof(yaml), "%shardening: {allow-setuid: true}\n", files_recipe);
    ck_assert_msg(plan(yaml, NULL, &p, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(find(p, "usr/bin/tool")->mode, 04755);
    ck_assert_ptr_nonnull(p->summary.setid_kept);
    ck_assert_str_eq(p->summary.setid_kept[0], "/usr/bin/tool");
    ck_assert_ptr_null(p->summary.setid_kept[1]);
    rootfs_plan_free(p);
}
END_TEST

START_TEST(test_rootfs_plan_build_refuses_a_shell)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;
    const char *yaml = "name: x\narchitecture: amd64\ncontents:\n  files: [/bin/sh]\n";

    testutil_write("root/usr/bin/sh", "sh", 2);
    testutil_symlink("usr/bin", "root/bin");
    ck_assert_int_eq(plan(yaml, NULL, &p, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_POLICY);
    ck_assert_ptr_nonnull(strstr(err.msg, "'/usr/bin/sh'"));
    ck_assert_ptr_nonnull(strstr(err.msg, "allow-shell"));
    ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_rootfs_plan_build_names_a_missing_file_where_written)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;
    const char *yaml = "name: x\ncontents:\n  files: [/etc/data, /etc/nope]\n";

    make_root();
    ck_assert_int_eq(plan(yaml, NULL, &p, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "x.yaml:3:22: "));
    ck_assert_ptr_nonnull(strstr(err.msg, "'/etc/nope' is not in the root"));
}
END_TEST

START_TEST(test_rootfs_plan_build_walks_trees_with_excludes)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;
    const char *yaml = "name: x\narchitecture: amd64\ncontents:\n  trees:\n"
                       "    - {path: /opt/app, exclude: ['**/__pycache__', 'test/**']}\n";

    testutil_write("root/opt/app/a.py", "a", 1);
    testutil_write("root/opt/app/__pycache__/a.pyc", "c", 1);
    testutil_write("root/opt/app/sub/__pycache__/b.pyc", "c", 1);
    testutil_write("root/opt/app/test/t.py", "t", 1);
    /* a relocatable object (ET_REL, little-endian) is never loaded: data, with no closure */
    testutil_write("root/opt/app/python.o",
                   "\x7f"
                   "ELF\2\1\1\0\0\0\0\0\0\0\0\0\1\0",
                   18);
    testutil_write("root/etc/conf", "conf", 4);
    testutil_symlink("../a.py", "root/opt/app/sub/link");
    testutil_symlink("/etc/conf", "root/opt/app/conf");
    testutil_symlink("/nowhere", "root/opt/app/dangling");
    ck_assert_msg(plan(yaml, NULL, &p, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(find(p, "opt/app/a.py"));
    ck_assert_uint_eq(find(p, "opt/app/python.o")->size, 18);
    ck_assert_uint_eq(p->summary.nelves, 0);
    ck_assert_ptr_nonnull(find(p, "opt/app/sub"));
    ck_assert_str_eq(find(p, "opt/app/sub/link")->target, "../a.py");
    ck_assert_ptr_null(find(p, "opt/app/__pycache__"));
    ck_assert_ptr_null(find(p, "opt/app/sub/__pycache__"));
    ck_assert_ptr_null(find(p, "opt/app/test"));
    /* A symlink out of the tree brings its target; a dangling one stays, with a warning. */
    ck_assert_ptr_nonnull(find(p, "etc/conf"));
    ck_assert_str_eq(find(p, "opt/app/dangling")->target, "/nowhere");
    ck_assert_ptr_nonnull(p->summary.warnings);
    ck_assert_ptr_nonnull(strstr(p->summary.warnings[0], "dangling"));
    rootfs_plan_free(p);
}
END_TEST

START_TEST(test_rootfs_plan_build_applies_paths)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;
    const struct rootfs_entry *e;
    const char *yaml =
        "name: x\narchitecture: amd64\npaths:\n"
        "  - {path: /workspace, type: directory, uid: 65532, gid: 65532, permissions: 0o750}\n"
        "  - {path: /etc/agent.conf, type: file, content: \"mode=strict\\n\"}\n"
        "  - {path: /usr/bin/python, type: symlink, target: python3}\n";

    testutil_mkdir("root");
    ck_assert_msg(plan(yaml, NULL, &p, &err) == 0, "%s", err.msg);
    e = find(p, "workspace");
    ck_assert_uint_eq(e->mode, 0750);
    ck_assert_uint_eq(e->uid, 65532);
    e = find(p, "etc/agent.conf");
    ck_assert_str_eq(e->content, "mode=strict\n");
    ck_assert_uint_eq(e->size, 12);
    ck_assert_uint_eq(e->mode, 0644);
    ck_assert_str_eq(find(p, "usr/bin/python")->target, "python3");
    ck_assert_uint_eq(find(p, "usr/bin")->mode, 0755);
    rootfs_plan_free(p);
}
END_TEST

START_TEST(test_rootfs_plan_build_refuses_world_writable_and_setuid_paths)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    testutil_mkdir("root");
    ck_assert_int_eq(plan("name: x\narchitecture: amd64\npaths:\n"
                          "  - {path: /w, type: directory, permissions: 0o777}\n",
                          NULL, &p, &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "x.yaml:4:12: '/w' would be world-writable"));
    ck_assert_int_eq(err.code, TEMPER_E_POLICY);
    ck_assert_int_eq(plan("name: x\narchitecture: amd64\npaths:\n"
                          "  - {path: /s, type: file, content: x, permissions: 0o4755}\n",
                          NULL, &p, &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "allow-setuid"));
}
END_TEST

START_TEST(test_rootfs_plan_build_refuses_a_path_of_another_type)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    make_root();
    ck_assert_int_eq(plan("name: x\narchitecture: amd64\ncontents:\n  files: [/etc/data]\n"
                          "paths:\n  - {path: /etc/data, type: directory}\n",
                          NULL, &p, &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "'/etc/data' is a file from the root"));
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "x.yaml:6:"));
    ck_assert_int_eq(plan("name: x\narchitecture: amd64\npaths:\n"
                          "  - {path: /bin/x, type: file, content: x}\n"
                          "  - {path: /bin, type: symlink, target: usr/bin}\n",
                          NULL, &p, &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "'/bin' is a symlink"));
}
END_TEST

START_TEST(test_rootfs_plan_build_refuses_passwd_from_the_root)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    testutil_write("root/etc/passwd", "x", 1);
    ck_assert_int_eq(
        plan("name: x\narchitecture: amd64\ncontents:\n  files: [/etc/passwd]\n", NULL, &p, &err),
        -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "temper writes '/etc/passwd' itself"));
}
END_TEST

START_TEST(test_rootfs_plan_build_takes_elf_closures_from_the_host)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;
    const struct rootfs_entry *e;
    bool found_true = false;

    ck_assert_msg(plan("name: x\ncontents:\n  binaries: [/usr/bin/true]\n"
                       "  libraries: [libm.so.6]\n",
                       "/", &p, &err) == 0,
                  "%s", err.msg);
    e = find(p, "lib64");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->type, ROOTFS_SYMLINK);
    ck_assert_ptr_nonnull(find(p, "usr/lib/x86_64-linux-gnu/libc.so.6"));
    ck_assert_ptr_nonnull(find(p, "usr/lib/x86_64-linux-gnu/libm.so.6"));
    ck_assert_str_eq(p->architecture, "amd64");
    for (size_t i = 0; i < p->summary.nelves; i++) {
        if (strcmp(p->summary.elves[i].path, "/usr/bin/true") == 0) {
            found_true = true;
            ck_assert(p->summary.elves[i].is_executable);
        }
        if (strstr(p->summary.elves[i].path, "libc.so.6") != NULL)
            ck_assert(!p->summary.elves[i].is_executable);
    }
    ck_assert(found_true);
    rootfs_plan_free(p);
}
END_TEST

START_TEST(test_rootfs_plan_build_checks_the_machine)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    ck_assert_int_eq(plan("name: x\narchitecture: arm64\ncontents:\n"
                          "  binaries: [/usr/bin/true]\n",
                          "/", &p, &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "x.yaml:2:15: architecture 'arm64' does not match"));
    /* libc6-i386 puts an i386 libc in /usr/lib32: one image runs one machine. */
    ck_assert_int_eq(plan("name: x\ncontents:\n  binaries: [/usr/bin/true, /usr/lib32/libc.so.6]\n",
                          "/", &p, &err),
                     -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "the image mixes machines"));
    ck_assert_ptr_nonnull(strstr(err.msg, "is i386 ELF32"));
    ck_assert_int_eq(plan("name: x\ncontents:\n  libraries: [libm.so.6]\n", "/", &p, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "needs an ELF binary"));
    ck_assert_int_eq(plan("name: x\ncontents:\n  binaries: [/etc/hostname]\n", "/", &p, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "not an ELF program or shared library"));
}
END_TEST

START_TEST(test_rootfs_plan_build_requires_hardening)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;
    size_t lacking = 0;
    int rc;

    /* Whatever this machine's files are, the verdict must follow the flags reported. */
    ck_assert_int_eq(plan("name: x\ncontents:\n  binaries: [/usr/bin/true]\n", "/", &p, &err), 0);
    for (size_t i = 0; i < p->summary.nelves; i++)
        lacking += !p->summary.elves[i].has_full_relro;
    rootfs_plan_free(p);
    p = NULL;
    rc = plan("name: x\ncontents:\n  binaries: [/usr/bin/true]\n"
              "hardening: {require: [relro]}\n",
              "/", &p, &err);
    if (lacking > 0) {
        ck_assert_int_eq(rc, -1);
        ck_assert_ptr_nonnull(strstr(err.msg, "hardening.require 'relro'"));
        ck_assert_int_eq(err.code, TEMPER_E_POLICY);
    } else {
        ck_assert_int_eq(rc, 0);
        rootfs_plan_free(p);
    }
}
END_TEST

START_TEST(test_rootfs_plan_build_refuses_a_home_claimed_twice)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    testutil_mkdir("root");
    ck_assert_int_eq(plan("name: x\narchitecture: amd64\naccounts:\n  users:\n"
                          "    - {username: a, uid: 1001, home: /srv}\n"
                          "    - {username: b, uid: 1002, home: /srv}\n  run-as: a\n",
                          NULL, &p, &err),
                     -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "x.yaml:6:38: '/srv' is already a directory temper"));
    ck_assert_ptr_nonnull(strstr(err.msg, "(the first at "));
    ck_assert_int_eq(plan("name: x\narchitecture: amd64\naccounts:\n  users:\n"
                          "    - {username: a, uid: 1001, home: /tmp}\n",
                          NULL, &p, &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "'/tmp' is already a directory temper makes"));
}
END_TEST

START_TEST(test_rootfs_plan_build_gives_each_user_gid_a_group)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    testutil_mkdir("root");
    ck_assert_msg(plan("name: x\narchitecture: amd64\naccounts:\n  users:\n"
                       "    - {username: a, uid: 1001}\n    - {username: b, uid: 1002, gid: 1001}\n"
                       "  run-as: a\n",
                       NULL, &p, &err) == 0,
                  "%s", err.msg);
    ck_assert_str_eq(find(p, "etc/group")->content, "root:x:0:\na:x:1001:\n");
    rootfs_plan_free(p);
}
END_TEST

START_TEST(test_rootfs_plan_build_refuses_an_elf_file_under_files)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    ck_assert_int_eq(plan("name: x\ncontents:\n  files: [/usr/bin/true]\n", "/", &p, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "x.yaml:3:11: file '/usr/bin/true' is an ELF file; "
                                          "list it under contents.binaries"));
}
END_TEST

START_TEST(test_rootfs_plan_build_wants_an_architecture_without_elf)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    make_root();
    ck_assert_int_eq(plan("name: x\ncontents:\n  files: [/etc/data]\n", NULL, &p, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "say which it is with 'architecture:'"));
}
END_TEST

START_TEST(test_rootfs_plan_build_wants_a_sticky_tmp)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    testutil_mkdir("root");
    ck_assert_int_eq(plan("name: x\narchitecture: amd64\npaths:\n"
                          "  - {path: /tmp, type: directory, permissions: 0o777}\n",
                          NULL, &p, &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "with the sticky bit (01777)"));
    ck_assert_msg(plan("name: x\narchitecture: amd64\npaths:\n"
                       "  - {path: /tmp, type: directory, permissions: 0o1777}\n",
                       NULL, &p, &err) == 0,
                  "%s", err.msg);
    ck_assert_uint_eq(find(p, "tmp")->mode, 01777);
    rootfs_plan_free(p);
}
END_TEST

START_TEST(test_rootfs_plan_build_finds_static_shells)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    testutil_write("root/usr/bin/bash-static", "x", 1);
    ck_assert_int_eq(plan("name: x\narchitecture: amd64\ncontents:\n"
                          "  files: [/usr/bin/bash-static]\n",
                          NULL, &p, &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "'/usr/bin/bash-static'"));
}
END_TEST

START_TEST(test_rootfs_plan_build_names_where_a_parent_is_a_symlink)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    make_root();
    ck_assert_int_eq(plan("name: x\narchitecture: amd64\ncontents:\n  files: [/bin/tool]\n"
                          "paths:\n  - {path: /bin/extra, type: file, content: x}\n",
                          NULL, &p, &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "x.yaml:6:12: '/bin' is a symlink in the image, so "
                                          "'/bin/extra' cannot be under it; name the path the "
                                          "symlink leads to instead"));
}
END_TEST

/* ---- the root's dpkg database (rootfs_dpkg.c) ---- */

#define MD5_TOOL "a6e3f3b8c6a5e0c4f4a0f3d1e5b7c9d1" /* not "tool\n": only compared when changed */
#define MD5_CONF "b1946ac92492d2347c6235b4d2611184" /* md5("hello\n") */
#define MD5_LIBZ "f6b61d2b1b7ba4f3d3bfbbe26d1a2c33"
#define MD5_CHANGED "00000000000000000000000000000000"

static void
write_text(const char *rel, const char *text)
{
    testutil_write(rel, text, strlen(text));
}

/*
 * A merged-/usr root with a dpkg database: "tools" ships /bin/tool (through the bin symlink),
 * /usr/bin/changed (whose bytes change after its md5sums was written), the conffile /etc/conf
 * and its copyright; "libz1" (Multi-Arch: same: info files named libz1:amd64) ships a library
 * and a doc directory that is a symlink to tools'; base-files ships os-release and
 * debian_version; "unused" ships nothing the image takes; "gone" is removed, its config left.
 */
static void
make_dpkg_root(const char *status_extra)
{
    char status[4096];

    testutil_symlink("usr/bin", "root/bin");
    testutil_symlink("usr/lib", "root/lib");
    write_text("root/usr/bin/tool", "tool\n");
    write_text("root/usr/bin/other", "other\n");
    write_text("root/etc/conf", "hello\n");
    write_text("root/usr/lib/x/libz.so.1", "libz\n");
    write_text("root/usr/share/doc/tools/copyright", "Files: *\nLicense: MIT\n");
    testutil_symlink("tools", "root/usr/share/doc/libz1");
    write_text("root/usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
    testutil_symlink("../usr/lib/os-release", "root/etc/os-release");
    write_text("root/etc/debian_version", "12.9\n");
    write_text("root/usr/share/doc/base-files/copyright", "base\n");
    snprintf(status, sizeof(status),
             "Package: base-files\nStatus: install ok installed\nArchitecture: amd64\n"
             "Version: 12.4+deb12u9\n\n"
             "Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\n"
             "Version: 1.0\n\n"
             "Package: libz1\nStatus: install ok installed\nArchitecture: amd64\n"
             "Multi-Arch: same\nSource: zlib (1:1.2.13-1)\nVersion: 1:1.2.13-1+b1\n\n"
             "Package: tools\nStatus: install ok installed\nPriority: optional\n"
             "Architecture: amd64\nVersion: 2.0-1\nConffiles:\n /etc/conf " MD5_CONF "\n"
             "Description: the tools\n more text\n .\n last\n\n"
             "Package: unused\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n%s",
             status_extra);
    write_text("root/var/lib/dpkg/status", status);
    write_text("root/var/lib/dpkg/info/base-files.list",
               "/.\n/etc\n/etc/debian_version\n/usr/lib/os-release\n/etc/os-release\n"
               "/usr/share/doc/base-files/copyright\n");
    write_text("root/var/lib/dpkg/info/base-files.md5sums",
               "0123456789abcdef0123456789abcdef  usr/lib/os-release\n");
    write_text("root/var/lib/dpkg/info/gone.list", "/bin/tool\n");
    write_text("root/var/lib/dpkg/info/libz1:amd64.list",
               "/.\n/lib\n/lib/x\n/lib/x/libz.so.1\n/usr/share/doc/libz1\n");
    write_text("root/var/lib/dpkg/info/libz1:amd64.md5sums", MD5_LIBZ "  lib/x/libz.so.1\n");
    write_text("root/var/lib/dpkg/info/tools.list",
               "/.\n/bin\n/bin/tool\n/usr/bin/changed\n/etc/conf\n/usr/share/doc/tools\n"
               "/usr/share/doc/tools/copyright\n");
    write_text("root/var/lib/dpkg/info/tools.md5sums",
               MD5_TOOL "  bin/tool\n" MD5_CHANGED "  usr/bin/changed\n");
    write_text("root/var/lib/dpkg/info/unused.list", "/usr/bin/other\n");
    /* Written after the md5sums, a tick of the clock later: it changed since it was installed. */
    usleep(20 * 1000);
    write_text("root/usr/bin/changed", "changed\n");
}

static const char dpkg_recipe[] =
    "name: x\narchitecture: amd64\n"
    "contents:\n  files: [/bin/tool, /usr/bin/changed, /etc/conf, /usr/lib/x/libz.so.1]\n";

static const struct rootfs_package *
package_of(const struct rootfs_plan *p, const char *path)
{
    const struct rootfs_entry *e = find(p, path);

    ck_assert_msg(e != NULL, "'%s' is not in the plan", path);
    return e->package != 0 ? &p->packages[e->package - 1] : NULL;
}

static bool
warned(const struct rootfs_plan *p, const char *text)
{
    for (size_t i = 0; p->summary.warnings != NULL && p->summary.warnings[i] != NULL; i++)
        if (strstr(p->summary.warnings[i], text) != NULL)
            return true;
    return false;
}

START_TEST(test_rootfs_dpkg_names_the_package_of_each_file)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;
    const struct rootfs_entry *e;

    make_dpkg_root("");
    ck_assert_msg(plan(dpkg_recipe, NULL, &p, &err) == 0, "%s", err.msg);
    ck_assert(p->summary.has_dpkg);
    /* only the packages that ship a file or symlink of the image, by name */
    ck_assert_uint_eq(p->npackages, 3);
    ck_assert_str_eq(p->packages[0].name, "base-files");
    ck_assert_str_eq(p->packages[1].name, "libz1");
    ck_assert_str_eq(p->packages[2].name, "tools");
    ck_assert_str_eq(p->packages[1].source, "zlib");
    ck_assert_str_eq(p->packages[1].source_version, "1:1.2.13-1");
    ck_assert_str_eq(p->packages[2].source, "tools");
    ck_assert_str_eq(p->packages[2].source_version, "2.0-1");
    /* through the merged-/usr symlink, and the info files of a Multi-Arch: same package */
    ck_assert_str_eq(package_of(p, "usr/bin/tool")->name, "tools");
    ck_assert_str_eq(package_of(p, "usr/lib/x/libz.so.1")->name, "libz1");
    ck_assert_str_eq(package_of(p, "etc/conf")->name, "tools");
    /* the symlink merged /usr made is no package's, though packages list "/bin" */
    ck_assert_ptr_null(package_of(p, "bin"));
    /* changed since installed: reported, and no package's */
    ck_assert_ptr_null(package_of(p, "usr/bin/changed"));
    ck_assert_uint_eq(p->summary.modified, 1);
    ck_assert(warned(p, "'/usr/bin/changed' (tools)"));
    ck_assert_uint_eq(p->summary.unowned, 2); /* bin, usr/bin/changed */
    /* what scanners read: os-release and debian_version, base-files' */
    ck_assert_str_eq(package_of(p, "etc/os-release")->name, "base-files");
    ck_assert_str_eq(package_of(p, "usr/lib/os-release")->name, "base-files");
    ck_assert_str_eq(package_of(p, "etc/debian_version")->name, "base-files");
    /* copyright files, through a doc directory that is a symlink to another package's */
    ck_assert_str_eq(p->packages[1].license_file, "usr/share/doc/tools/copyright");
    ck_assert_str_eq(package_of(p, "usr/share/doc/libz1")->name, "libz1");
    ck_assert_str_eq(package_of(p, "usr/share/doc/tools/copyright")->name, "tools");
    ck_assert_str_eq(p->packages[0].license_file, "usr/share/doc/base-files/copyright");
    /* status.d: the control fields without dpkg's bookkeeping, md5sums of the image's files */
    e = find(p, "var/lib/dpkg/status.d/tools");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->content, "Package: tools\nPriority: optional\nArchitecture: amd64\n"
                                 "Version: 2.0-1\nDescription: the tools\n more text\n .\n"
                                 " last\n");
    ck_assert_uint_eq(e->mode, 0644);
    ck_assert_str_eq(find(p, "var/lib/dpkg/status.d/tools.md5sums")->content,
                     MD5_TOOL "  usr/bin/tool\n");
    ck_assert_str_eq(find(p, "var/lib/dpkg/status.d/libz1.md5sums")->content,
                     MD5_LIBZ "  usr/lib/x/libz.so.1\n");
    ck_assert_ptr_nonnull(find(p, "var/lib/dpkg/status.d/base-files"));
    ck_assert_ptr_null(find(p, "var/lib/dpkg/status.d/unused"));
    ck_assert_ptr_null(find(p, "var/lib/dpkg/status.d/gone"));
    ck_assert_ptr_null(find(p, "usr/bin/other"));
    ck_assert_uint_eq(find(p, "var/lib/dpkg/status.d")->mode, 0755);
    rootfs_plan_free(p);
}
END_TEST

START_TEST(test_rootfs_dpkg_finds_a_changed_conffile)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    make_dpkg_root("");
    write_text("root/etc/conf", "edited\n");
    ck_assert_msg(plan(dpkg_recipe, NULL, &p, &err) == 0, "%s", err.msg);
    ck_assert_ptr_null(package_of(p, "etc/conf"));
    ck_assert_uint_eq(p->summary.modified, 2);
    ck_assert(warned(p, "'/etc/conf' (tools)"));
    rootfs_plan_free(p);
}
END_TEST

START_TEST(test_rootfs_dpkg_switches_leave_out_release_and_licenses)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;
    char yaml[512];

    make_dpkg_root("");
    snprintf(yaml, sizeof(yaml), "%ssbom: {os-release: false, copyright: false}\n", dpkg_recipe);
    ck_assert_msg(plan(yaml, NULL, &p, &err) == 0, "%s", err.msg);
    ck_assert_ptr_null(find(p, "etc/os-release"));
    ck_assert_ptr_null(find(p, "etc/debian_version"));
    ck_assert_ptr_null(find(p, "usr/share/doc/tools/copyright"));
    ck_assert_uint_eq(p->npackages, 2); /* base-files ships nothing here now */
    ck_assert_ptr_null(p->packages[1].license_file);
    ck_assert(warned(p, "sbom.copyright is false: the image leaves out the license texts of "
                        "the 2 packages"));
    ck_assert(!warned(p, "no /etc/os-release"));
    rootfs_plan_free(p);
}
END_TEST

START_TEST(test_rootfs_dpkg_refuses_what_dpkg_would_not_take)
{
    static const char *const bad[] = {
        "\nPackage: ../x\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n",
        "\nPackage: y\nStatus: install ok installed\nArchitecture: AMD/64\nVersion: 1\n",
        "\nPackage: y\nStatus: install ok installed\nArchitecture: amd64\nVersion: -1\n",
        ("\nPackage: y\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n"
         "Source: z (1 2\n"),
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rootfs_plan *p = NULL;
        struct temper_err err;

        testutil_teardown();
        testutil_setup();
        make_dpkg_root(bad[i]);
        ck_assert_int_eq(plan(dpkg_recipe, NULL, &p, &err), -1);
        ck_assert_msg(strstr(err.msg, "/var/lib/dpkg/status' line 35:") != NULL &&
                          strstr(err.msg, "dpkg --audit") != NULL,
                      "%zu: %s", i, err.msg);
    }
}
END_TEST

START_TEST(test_rootfs_dpkg_warns_without_a_database)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    make_root();
    ck_assert_msg(plan(files_recipe, NULL, &p, &err) == 0, "%s", err.msg);
    ck_assert(!p->summary.has_dpkg);
    ck_assert_uint_eq(p->npackages, 0);
    ck_assert(warned(p, "the root has no dpkg database"));
    ck_assert_ptr_null(find(p, "var/lib/dpkg/status.d"));
    rootfs_plan_free(p);
}
END_TEST

/* glibc for an architecture whose cache temper does not write: said, not silently left out. */
START_TEST(test_rootfs_ld_cache_warns_where_it_writes_none)
{
    struct rootfs_plan *p = NULL;
    struct temper_err err;

    testutil_write("root/lib/s390x-linux-gnu/libc.so.6", "not ELF: a name is enough", 25);
    ck_assert_msg(plan("name: x\narchitecture: s390x\n"
                       "contents: {files: [/lib/s390x-linux-gnu/libc.so.6]}\n",
                       NULL, &p, &err) == 0,
                  "%s", err.msg);
    ck_assert_ptr_null(find(p, "etc/ld.so.cache"));
    ck_assert(warned(p, "the image has glibc ('/lib/s390x-linux-gnu/libc.so.6') for s390x, for "
                        "which temper writes no /etc/ld.so.cache"));
    rootfs_plan_free(p);
}
END_TEST

/* Entries of a hand-made plan: what rootfs_plan_layers compares. */
static struct rootfs_entry
dir_entry(const char *path)
{
    return (struct rootfs_entry){.path = (char *)path, .type = ROOTFS_DIR, .mode = 0755};
}

static struct rootfs_entry
text_entry(const char *path, const char *content)
{
    return (struct rootfs_entry){.path = (char *)path,
                                 .type = ROOTFS_FILE,
                                 .mode = 0644,
                                 .size = strlen(content),
                                 .content = (char *)content};
}

static void
ck_layer(const struct rootfs_layer *l, const char *const *paths, size_t n)
{
    ck_assert_uint_eq(l->view.n, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(l->view.entries[i].path, paths[i]);
}

START_TEST(test_rootfs_layers_cut_parts_into_layers)
{
    struct rootfs_entry a[] = {dir_entry("etc"), text_entry("etc/passwd", "a\n"),
                               text_entry("etc/x", "x")};
    struct rootfs_entry b[] = {dir_entry("etc"), text_entry("etc/passwd", "a\n"),
                               text_entry("etc/x", "x")};
    struct rootfs_entry c[] = {dir_entry("etc"),         text_entry("etc/passwd", "a\nb\n"),
                               text_entry("etc/x", "x"), dir_entry("usr"),
                               dir_entry("usr/bin"),     text_entry("usr/bin/y", "y")};
    struct rootfs_plan pa = {.entries = a, .n = 3}, pb = {.entries = b, .n = 3},
                       pc = {.entries = c, .n = 6};
    struct rootfs_plan *plans[] = {&pa, &pb, &pc};
    const char *files[] = {"a.yaml", "b.yaml", "c.yaml"};
    static const char *const first[] = {"etc", "etc/passwd", "etc/x"};
    static const char *const top[] = {"etc", "etc/passwd", "usr", "usr/bin", "usr/bin/y"};
    struct rootfs_layer *layers = NULL;
    struct temper_err err = {0};
    size_t n = 0;

    /* b plans nothing new: no layer; c changes passwd and adds usr, with etc above passwd. */
    ck_assert_msg(rootfs_plan_layers(plans, files, 3, &layers, &n, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 2);
    ck_layer(&layers[0], first, 3);
    ck_assert_uint_eq(layers[0].part, 0);
    ck_layer(&layers[1], top, 5);
    ck_assert_uint_eq(layers[1].part, 2);
    /* The image keeps c's passwd: the one of the first layer is replaced. */
    ck_assert_uint_eq(layers[0].final_index[1], SIZE_MAX);
    ck_assert_uint_eq(layers[0].final_index[2], 2);
    ck_assert_uint_eq(layers[1].final_index[1], 1);
    ck_assert_uint_eq(layers[1].final_index[4], 5);
    rootfs_layers_free(layers, 3);

    /* A part that leaves out what a part below plans needs a whiteout: refused. */
    pc.n = 2; /* etc, etc/passwd: no etc/x */
    ck_assert_int_eq(rootfs_plan_layers(plans, files, 3, &layers, &n, &err), -1);
    ck_assert_int_eq(err.code, TEMPER_E_POLICY);
    ck_assert_str_eq(err.msg, "layering: '/etc/x' is in the layer of 'a.yaml' but not in what "
                              "'c.yaml' plans (a part takes out what it includes): a layer "
                              "cannot remove it; take it out of 'a.yaml' too, or build one "
                              "layer (layering: {strategy: single})");
}
END_TEST

static Suite *
rootfs_suite(void)
{
    Suite *s = suite_create("rootfs");
    TCase *tc = tcase_create("rootfs_plan_build");

    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_rootfs_plan_build_normalises_what_it_takes);
    tcase_add_test(tc, test_rootfs_plan_build_checks_the_entrypoint);
    tcase_add_test(tc, test_rootfs_plan_build_allow_setuid_keeps_and_lists);
    tcase_add_test(tc, test_rootfs_plan_build_refuses_a_shell);
    tcase_add_test(tc, test_rootfs_plan_build_names_a_missing_file_where_written);
    tcase_add_test(tc, test_rootfs_plan_build_walks_trees_with_excludes);
    tcase_add_test(tc, test_rootfs_plan_build_applies_paths);
    tcase_add_test(tc, test_rootfs_plan_build_refuses_world_writable_and_setuid_paths);
    tcase_add_test(tc, test_rootfs_plan_build_refuses_a_path_of_another_type);
    tcase_add_test(tc, test_rootfs_plan_build_refuses_passwd_from_the_root);
    tcase_add_test(tc, test_rootfs_plan_build_takes_elf_closures_from_the_host);
    tcase_add_test(tc, test_rootfs_plan_build_checks_the_machine);
    tcase_add_test(tc, test_rootfs_plan_build_requires_hardening);
    tcase_add_test(tc, test_rootfs_plan_build_refuses_a_home_claimed_twice);
    tcase_add_test(tc, test_rootfs_plan_build_gives_each_user_gid_a_group);
    tcase_add_test(tc, test_rootfs_plan_build_refuses_an_elf_file_under_files);
    tcase_add_test(tc, test_rootfs_plan_build_wants_an_architecture_without_elf);
    tcase_add_test(tc, test_rootfs_plan_build_wants_a_sticky_tmp);
    tcase_add_test(tc, test_rootfs_plan_build_finds_static_shells);
    tcase_add_test(tc, test_rootfs_plan_build_names_where_a_parent_is_a_symlink);
    tcase_add_test(tc, test_rootfs_dpkg_names_the_package_of_each_file);
    tcase_add_test(tc, test_rootfs_dpkg_finds_a_changed_conffile);
    tcase_add_test(tc, test_rootfs_dpkg_switches_leave_out_release_and_licenses);
    tcase_add_test(tc, test_rootfs_dpkg_refuses_what_dpkg_would_not_take);
    tcase_add_test(tc, test_rootfs_dpkg_warns_without_a_database);
    tcase_add_test(tc, test_rootfs_layers_cut_parts_into_layers);
    tcase_add_test(tc, test_rootfs_ld_cache_warns_where_it_writes_none);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(rootfs_suite());
}
