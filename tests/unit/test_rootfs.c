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
    rc = rootfs_plan_build(r, root, &(struct rootfs_options){1}, out, err);
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
    testutil_write("root/etc/conf", "conf", 4);
    testutil_symlink("../a.py", "root/opt/app/sub/link");
    testutil_symlink("/etc/conf", "root/opt/app/conf");
    testutil_symlink("/nowhere", "root/opt/app/dangling");
    ck_assert_msg(plan(yaml, NULL, &p, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(find(p, "opt/app/a.py"));
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
    ck_assert_ptr_nonnull(strstr(err.msg, "not an ELF file"));
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

static Suite *
rootfs_suite(void)
{
    Suite *s = suite_create("rootfs");
    TCase *tc = tcase_create("rootfs_plan_build");

    tcase_add_checked_fixture(tc, testutil_setup, testutil_teardown);
    tcase_add_test(tc, test_rootfs_plan_build_normalises_what_it_takes);
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
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(rootfs_suite());
}
