/*
 * Unit tests of the recipe module: the vocabulary, composition through
 * include, every error class with its location, defaults, glob matching.
 *
 * Each test runs in a fresh directory that is also the working directory, so
 * that recipes are named as a user would name them ("r.yaml") and messages
 * can be compared whole.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/limits.h"
#include "recipe/recipe.h"
#include "testutil.h"

static void
setup(void)
{
    testutil_setup();
    ck_assert_int_eq(chdir(testutil_dir), 0);
}

static void
teardown(void)
{
    ck_assert_int_eq(chdir("/"), 0);
    testutil_teardown();
}

static void
put(const char *rel, const char *text)
{
    testutil_write(rel, text, strlen(text));
}

static struct recipe *
parse_ok(const char *text)
{
    struct recipe *r = NULL;
    struct temper_err err = {0};

    ck_assert_msg(recipe_parse(text, strlen(text), "r.yaml", &r, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(r);
    return r;
}

static struct recipe *
load_ok(const char *path)
{
    struct recipe *r = NULL;
    struct temper_err err = {0};

    ck_assert_msg(recipe_load(path, &r, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* Parses text that must fail; *out must stay untouched. */
static struct temper_err
parse_err(const char *text, size_t len)
{
    struct recipe *r = (struct recipe *)&r;
    struct temper_err err = {0};

    ck_assert_int_eq(recipe_parse(text, len, "r.yaml", &r, &err), -1);
    ck_assert_ptr_eq(r, (struct recipe *)&r);
    return err;
}

static struct temper_err
load_err(const char *path)
{
    struct recipe *r = NULL;
    struct temper_err err = {0};

    ck_assert_int_eq(recipe_load(path, &r, &err), -1);
    ck_assert_ptr_null(r);
    return err;
}

/* The whole message is compared: location, wording and quoted subject. */
#define ck_parse_fails(text, errc, message)                                                        \
    do {                                                                                           \
        struct temper_err e_ = parse_err((text), strlen(text));                                    \
        ck_assert_str_eq(e_.msg, (message));                                                       \
        ck_assert_int_eq(e_.code, (errc));                                                         \
    } while (0)

#define ck_loc(loc_, file_, line_, column_)                                                        \
    do {                                                                                           \
        ck_assert_str_eq((loc_).file, (file_));                                                    \
        ck_assert_uint_eq((loc_).line, (line_));                                                   \
        ck_assert_uint_eq((loc_).column, (column_));                                               \
    } while (0)

/* The example of the issue that introduced recipes, every key used once. */
static const char example[] =
    "name: python                  # default tag: latest\n"
    "contents:\n"
    "  binaries: [/usr/bin/python3]\n"
    "  files: [/etc/ssl/certs/ca-certificates.crt]\n"
    "  trees:\n"
    "    - path: /usr/lib/python3.11\n"
    "      exclude: [\"**/__pycache__\", \"test/**\", \"**/*.pyc\"]\n"
    "  libraries: [libnss_dns.so.2]\n"
    "accounts:\n"
    "  groups: [{groupname: nonroot, gid: 65532}]\n"
    "  users: [{username: nonroot, uid: 65532, gid: 65532, home: /home/nonroot}]\n"
    "  run-as: nonroot\n"
    "paths:\n"
    "  - {path: /workspace, type: directory, uid: 65532, gid: 65532, permissions: 0o755}\n"
    "  - {path: /etc/agent.conf, type: file, content: \"mode=strict\\n\", permissions: 0o644}\n"
    "  - {path: /usr/bin/python, type: symlink, target: python3}\n"
    "entrypoint: {command: /usr/bin/python3}\n"
    "cmd: [-I]\n"
    "work-dir: /home/nonroot\n"
    "environment: {PATH: /usr/bin:/bin, SSL_CERT_FILE: /etc/ssl/certs/ca-certificates.crt}\n"
    "annotations: {org.opencontainers.image.source: https://example.invalid/agents}\n"
    "hardening: {allow-setuid: false, allow-shell: false, require: [pie, relro, nx]}\n"
    "compression: zstd\n"
    "level: 9\n"
    "epoch: 1700000000\n"
    "architecture: amd64\n"
    "tag: v1\n";

START_TEST(test_recipe_parse_reads_every_field_of_the_example)
{
    struct recipe *r = parse_ok(example);

    ck_assert_str_eq(r->name.value, "python");
    ck_loc(r->name.loc, "r.yaml", 1, 7);
    ck_assert_str_eq(r->tag.value, "v1");
    ck_loc(r->tag.loc, "r.yaml", 27, 6);

    ck_assert_uint_eq(r->binaries.n, 1);
    ck_assert_str_eq(r->binaries.items[0].value, "/usr/bin/python3");
    ck_loc(r->binaries.items[0].loc, "r.yaml", 3, 14);
    ck_assert_uint_eq(r->files.n, 1);
    ck_assert_str_eq(r->files.items[0].value, "/etc/ssl/certs/ca-certificates.crt");
    ck_assert_uint_eq(r->ntrees, 1);
    ck_assert_str_eq(r->trees[0].path.value, "/usr/lib/python3.11");
    ck_loc(r->trees[0].path.loc, "r.yaml", 6, 13);
    ck_assert_uint_eq(r->trees[0].exclude.n, 3);
    ck_assert_str_eq(r->trees[0].exclude.items[0].value, "**/__pycache__");
    ck_assert_str_eq(r->trees[0].exclude.items[1].value, "test/**");
    ck_assert_str_eq(r->trees[0].exclude.items[2].value, "**/*.pyc");
    ck_loc(r->trees[0].exclude.items[1].loc, "r.yaml", 7, 35);
    ck_assert_uint_eq(r->libraries.n, 1);
    ck_assert_str_eq(r->libraries.items[0].value, "libnss_dns.so.2");

    ck_assert_uint_eq(r->ngroups, 1);
    ck_assert_str_eq(r->groups[0].name.value, "nonroot");
    ck_assert_uint_eq(r->groups[0].gid, 65532);
    ck_assert_uint_eq(r->nusers, 1);
    ck_assert_str_eq(r->users[0].name.value, "nonroot");
    ck_assert_uint_eq(r->users[0].uid, 65532);
    ck_assert_uint_eq(r->users[0].gid, 65532);
    ck_assert_str_eq(r->users[0].home.value, "/home/nonroot");
    ck_assert_str_eq(r->users[0].shell.value, "/sbin/nologin");
    ck_assert_str_eq(r->run_as.value, "nonroot");
    ck_loc(r->run_as.loc, "r.yaml", 12, 11);

    ck_assert_uint_eq(r->npaths, 3);
    ck_assert_str_eq(r->paths[0].path.value, "/workspace");
    ck_assert_int_eq(r->paths[0].type, RECIPE_PATH_DIRECTORY);
    ck_assert_uint_eq(r->paths[0].uid, 65532);
    ck_assert_uint_eq(r->paths[0].gid, 65532);
    ck_assert_uint_eq(r->paths[0].permissions, 0755);
    ck_assert(r->paths[0].has_permissions);
    ck_assert_ptr_null(r->paths[0].content);
    ck_assert_ptr_null(r->paths[0].target.value);
    ck_assert_str_eq(r->paths[1].path.value, "/etc/agent.conf");
    ck_assert_int_eq(r->paths[1].type, RECIPE_PATH_FILE);
    ck_assert_uint_eq(r->paths[1].uid, 0);
    ck_assert_uint_eq(r->paths[1].permissions, 0644);
    ck_assert_uint_eq(r->paths[1].content_len, 12);
    ck_assert_str_eq(r->paths[1].content, "mode=strict\n");
    ck_assert_str_eq(r->paths[2].path.value, "/usr/bin/python");
    ck_assert_int_eq(r->paths[2].type, RECIPE_PATH_SYMLINK);
    ck_assert_str_eq(r->paths[2].target.value, "python3");
    ck_assert(!r->paths[2].has_permissions);
    ck_loc(r->paths[2].path.loc, "r.yaml", 16, 12);

    ck_assert_uint_eq(r->entrypoint.n, 1);
    ck_assert_str_eq(r->entrypoint.items[0].value, "/usr/bin/python3");
    ck_assert_uint_eq(r->cmd.n, 1);
    ck_assert_str_eq(r->cmd.items[0].value, "-I");
    ck_assert_str_eq(r->work_dir.value, "/home/nonroot");
    ck_assert_uint_eq(r->environment.n, 2);
    ck_assert_str_eq(r->environment.keys[0].value, "PATH");
    ck_assert_str_eq(r->environment.values[0].value, "/usr/bin:/bin");
    ck_assert_str_eq(r->environment.keys[1].value, "SSL_CERT_FILE");
    ck_assert_str_eq(r->environment.values[1].value, "/etc/ssl/certs/ca-certificates.crt");
    ck_loc(r->environment.values[1].loc, "r.yaml", 20, 51);
    ck_assert_uint_eq(r->annotations.n, 1);
    ck_assert_str_eq(r->annotations.keys[0].value, "org.opencontainers.image.source");
    ck_assert_str_eq(r->annotations.values[0].value, "https://example.invalid/agents");

    ck_assert(!r->allow_setuid);
    ck_assert(!r->allow_shell);
    ck_assert_uint_eq(r->require, RECIPE_REQUIRE_PIE | RECIPE_REQUIRE_RELRO | RECIPE_REQUIRE_NX);
    ck_assert_int_eq(r->compression, RECIPE_COMPRESSION_ZSTD);
    ck_assert_int_eq(r->level, 9);
    ck_assert(r->has_epoch);
    ck_assert_int_eq(r->epoch, 1700000000);
    ck_assert_str_eq(r->architecture.value, "amd64");
    recipe_free(r);
}
END_TEST

START_TEST(test_recipe_parse_applies_defaults)
{
    struct recipe *r = parse_ok("name: base\n");

    ck_assert_str_eq(r->tag.value, "latest");
    ck_loc(r->tag.loc, "r.yaml", 0, 0);
    ck_assert_uint_eq(r->ngroups, 1);
    ck_assert_str_eq(r->groups[0].name.value, "nonroot");
    ck_assert_uint_eq(r->groups[0].gid, 65532);
    ck_assert_uint_eq(r->nusers, 1);
    ck_assert_str_eq(r->users[0].name.value, "nonroot");
    ck_assert_uint_eq(r->users[0].uid, 65532);
    ck_assert_uint_eq(r->users[0].gid, 65532);
    ck_assert_str_eq(r->users[0].home.value, "/home/nonroot");
    ck_assert_str_eq(r->users[0].shell.value, "/sbin/nologin");
    ck_assert_str_eq(r->run_as.value, "nonroot");
    ck_assert_uint_eq(r->binaries.n + r->files.n + r->ntrees + r->libraries.n + r->npaths, 0);
    ck_assert_uint_eq(r->entrypoint.n + r->cmd.n + r->environment.n + r->annotations.n, 0);
    ck_assert_ptr_null(r->work_dir.value);
    ck_assert_ptr_null(r->architecture.value);
    ck_assert(!r->allow_setuid && !r->allow_shell);
    ck_assert_uint_eq(r->require, 0);
    ck_assert_int_eq(r->compression, RECIPE_COMPRESSION_UNSET);
    ck_assert_int_eq(r->level, 0);
    ck_assert(!r->has_epoch);
    recipe_free(r);
}
END_TEST

START_TEST(test_recipe_parse_defaults_each_user)
{
    struct recipe *r = parse_ok("name: app\n"
                                "accounts:\n"
                                "  users:\n"
                                "    - {username: app, uid: 1000}\n");

    /* A user is defined: no nonroot account is added, and the only user runs. */
    ck_assert_uint_eq(r->ngroups, 0);
    ck_assert_uint_eq(r->nusers, 1);
    ck_assert_uint_eq(r->users[0].gid, 1000);
    ck_assert_str_eq(r->users[0].home.value, "/home/app");
    ck_assert_str_eq(r->users[0].shell.value, "/sbin/nologin");
    ck_loc(r->users[0].home.loc, "r.yaml", 4, 7);
    ck_assert_str_eq(r->run_as.value, "app");
    recipe_free(r);

    r = parse_ok("name: app\n"
                 "accounts:\n"
                 "  users: [{username: app, uid: 1000}, {username: nonroot, uid: 65532}]\n");
    ck_assert_str_eq(r->run_as.value, "nonroot");
    recipe_free(r);

    /* A group already named nonroot, or holding gid 65532, is not added twice. */
    r = parse_ok("name: app\naccounts: {groups: [{groupname: nonroot, gid: 65532}]}\n");
    ck_assert_uint_eq(r->ngroups, 1);
    ck_assert_uint_eq(r->nusers, 1);
    recipe_free(r);
    r = parse_ok("name: app\naccounts: {groups: [{groupname: staff, gid: 65532}]}\n");
    ck_assert_uint_eq(r->ngroups, 1);
    ck_assert_str_eq(r->groups[0].name.value, "staff");
    recipe_free(r);
}
END_TEST

/* apko's keys that temper spells otherwise: the error says which key to use. */
START_TEST(test_recipe_parse_names_temper_keys_for_apko_ones)
{
    struct temper_err e = parse_err("name: a\narchs: [x86_64]\n", 23);

    ck_assert_ptr_nonnull(strstr(e.msg, "r.yaml:2:1: unknown key 'archs' (allowed at the top: "));
    ck_assert_ptr_nonnull(strstr(e.msg, "; apko's 'archs' is temper's 'architectures'"));
    e = parse_err("name: a\nentrypoint: {type: service-bundle}\n", 42);
    ck_assert_ptr_nonnull(strstr(e.msg, "unknown key 'type' in 'entrypoint'"));
    ck_assert_ptr_nonnull(strstr(e.msg, "temper runs no service supervisor"));
}
END_TEST

START_TEST(test_recipe_parse_checks_run_as)
{
    ck_parse_fails("name: a\naccounts: {run-as: app}\n", TEMPER_E_PARSE,
                   "r.yaml:2:20: run-as user 'app' is not defined: add it to accounts.users or "
                   "run as one that is");
    ck_parse_fails("name: a\n"
                   "accounts:\n"
                   "  users: [{username: a, uid: 1}, {username: b, uid: 2}]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:1:1: 2 users and no 'accounts.run-as': add run-as naming the one "
                   "that runs the entrypoint");
    /* apko's spelling: a uid */
    struct recipe *r = parse_ok("name: a\naccounts:\n"
                                "  users: [{username: a, uid: 1000}, {username: b, uid: 2}]\n"
                                "  run-as: 1000\n");

    ck_assert_str_eq(r->run_as.value, "a");
    recipe_free(r);
    ck_parse_fails("name: a\naccounts: {users: [{username: a, uid: 1}], run-as: 7}\n",
                   TEMPER_E_PARSE,
                   "r.yaml:2:52: run-as uid 7 is no user's of accounts.users: add a user with "
                   "that uid, or name one that is there");
}
END_TEST

START_TEST(test_recipe_parse_reads_tests)
{
    struct recipe *r = parse_ok("name: app\n"
                                "accounts:\n"
                                "  users: [{username: app, uid: 1000}, {username: nonroot, "
                                "uid: 65532}]\n"
                                "tests:\n"
                                "  - command: [/usr/bin/app, --version]\n"
                                "    stdout: \"^app [0-9]+$\"\n"
                                "    user: app\n"
                                "    timeout: 5\n"
                                "    native-only: true\n"
                                "  - command: /usr/bin/true\n");

    ck_assert_uint_eq(r->ntests, 2);
    ck_assert_uint_eq(r->tests[0].command.n, 2);
    ck_assert_str_eq(r->tests[0].command.items[1].value, "--version");
    ck_assert_str_eq(r->tests[0].output.value, "^app [0-9]+$");
    ck_assert_str_eq(r->tests[0].user.value, "app");
    ck_assert_uint_eq(r->tests[0].timeout_s, 5);
    ck_assert(r->tests[0].native_only);
    ck_loc(r->tests[0].loc, "r.yaml", 5, 5);
    /* a string is a command of one element; the defaults: any output, run-as, 60 s */
    ck_assert_uint_eq(r->tests[1].command.n, 1);
    ck_assert_ptr_null(r->tests[1].output.value);
    ck_assert_ptr_null(r->tests[1].user.value);
    ck_assert_uint_eq(r->tests[1].timeout_s, RECIPE_TEST_TIMEOUT_S);
    ck_assert(!r->tests[1].native_only);
    recipe_free(r);
}
END_TEST

START_TEST(test_recipe_parse_refuses_bad_tests)
{
    ck_parse_fails("name: a\ntests: [{stdout: x}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:9: an entry of 'tests' has no 'command': add it");
    ck_parse_fails("name: a\ntests: [{command: []}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:19: 'tests.command' is empty: name the program to run");
    ck_parse_fails("name: a\ntests: [{command: python3}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:19: 'tests.command' 'python3' is not an absolute path: the image "
                   "has no shell or PATH search to find it; write /usr/bin/...");
    ck_parse_fails("name: a\ntests: [{command: /x, stdout: \"a(\"}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:31: 'tests.stdout' 'a(' is not an extended regular expression "
                   "(Unmatched ( or \\(): escape what is meant literally with a backslash");
    ck_parse_fails("name: a\ntests: [{command: /x, timeout: 0}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:32: 'tests.timeout' is 0: give seconds from 1 to 3600");
    ck_parse_fails("name: a\ntests: [{command: /x, user: root}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:29: tests.user 'root' is not defined: add it to accounts.users "
                   "or leave 'user' out to run as the run-as user");
    ck_parse_fails("name: a\ntests: [{command: /x, env: {A: b}}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:23: unknown key 'env' in 'tests' (allowed: command, stdout, user, "
                   "timeout, native-only)");
    ck_parse_fails("name: a\ntests: [{command: /x, native-only: 1}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:36: 'tests.native-only' must be true or false, found '1'");
}
END_TEST

START_TEST(test_recipe_parse_rejects_unknown_key)
{
    ck_parse_fails("name: a\nbinaries: [/x]\n", TEMPER_E_PARSE,
                   "r.yaml:2:1: unknown key 'binaries' (allowed at the top: name, include, "
                   "contents, accounts, paths, entrypoint, cmd, work-dir, environment, "
                   "annotations, hardening, sbom, compression, level, epoch, architecture, "
                   "architectures, tag, tests, ld-so-cache, layering)");
    ck_parse_fails("name: a\ncontents:\n  binary: [/x]\n", TEMPER_E_PARSE,
                   "r.yaml:3:3: unknown key 'binary' in 'contents' (allowed: binaries, files, "
                   "trees, libraries, repositories, keyring, packages, exclude, gconv, "
                   "ca-certificates)");
    ck_parse_fails("name: a\naccounts: {users: [{username: a, uid: 1, groups: [x]}]}\n",
                   TEMPER_E_PARSE,
                   "r.yaml:2:42: unknown key 'groups' in 'accounts.users' (allowed: username, "
                   "uid, gid, home, shell)");
    ck_parse_fails("name: a\nhardening: {allow-root: true}\n", TEMPER_E_PARSE,
                   "r.yaml:2:13: unknown key 'allow-root' in 'hardening' (allowed: "
                   "allow-setuid, allow-shell, require)");
    /* Checked before any include is read. */
    ck_parse_fails("include: [missing.yaml]\nnmae: a\n", TEMPER_E_PARSE,
                   "r.yaml:2:1: unknown key 'nmae' (allowed at the top: name, include, contents, "
                   "accounts, paths, entrypoint, cmd, work-dir, environment, annotations, "
                   "hardening, sbom, compression, level, epoch, architecture, architectures, tag, "
                   "tests, ld-so-cache, layering)");
}
END_TEST

START_TEST(test_recipe_parse_rejects_wrong_types)
{
    ck_parse_fails("name: a\ncontents: [/usr/bin/x]\n", TEMPER_E_PARSE,
                   "r.yaml:2:11: 'contents' must be a map, found a list");
    ck_parse_fails("name: a\ncontents: {binaries: /usr/bin/x}\n", TEMPER_E_PARSE,
                   "r.yaml:2:22: 'contents.binaries' must be a list, found a string");
    ck_parse_fails("name: a\nenvironment: [A=b]\n", TEMPER_E_PARSE,
                   "r.yaml:2:14: 'environment' must be a map, found a list");
    ck_parse_fails("name: a\naccounts: {users: [app]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:20: 'accounts.users' must be a map, found a string");
    ck_parse_fails("name: [a]\n", TEMPER_E_PARSE,
                   "r.yaml:1:7: 'name' must be a string, found a list");
    ck_parse_fails("name:\n", TEMPER_E_PARSE, "r.yaml:1:6: 'name' must be a string, found nothing");
    ck_parse_fails("name: a\nenvironment: {A: {b: c}}\n", TEMPER_E_PARSE,
                   "r.yaml:2:18: 'environment.A' must be a string, found a map");
    ck_parse_fails("name: a\nenvironment: {A: }\n", TEMPER_E_PARSE,
                   "r.yaml:2:18: 'environment.A' must be a string, found nothing");
    ck_parse_fails("name: a\ncontents: {binaries: [[/x]]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:23: 'contents.binaries' must be a string, found a list");
    ck_parse_fails("name: a\ninclude: {a: b}\n", TEMPER_E_PARSE,
                   "r.yaml:2:10: 'include' must be a list, found a map");
    ck_parse_fails("name: a\n{x: 1}: b\n", TEMPER_E_PARSE,
                   "r.yaml:2:1: a key must be a string, found a map");
}
END_TEST

START_TEST(test_recipe_parse_rejects_empty_and_non_map_documents)
{
    ck_parse_fails("", TEMPER_E_PARSE, "r.yaml:1:1: recipe is empty: write at least 'name: IMAGE'");
    ck_parse_fails("# only a comment\n", TEMPER_E_PARSE,
                   "r.yaml:1:1: recipe is empty: write at least 'name: IMAGE'");
    ck_parse_fails(
        "- name: a\n", TEMPER_E_PARSE,
        "r.yaml:1:1: a recipe must be a map of keys (name, contents, ...), found a list");
    ck_parse_fails("python\n", TEMPER_E_PARSE,
                   "r.yaml:1:1: a recipe must be a map of keys (name, contents, ...), found a "
                   "string");
    ck_parse_fails("tag: v1\n", TEMPER_E_PARSE,
                   "r.yaml:1:1: recipe has no 'name': add name: IMAGE");
}
END_TEST

START_TEST(test_recipe_parse_rejects_duplicate_key)
{
    ck_parse_fails("name: a\ntag: v1\nname: b\n", TEMPER_E_PARSE,
                   "r.yaml:3:1: duplicate key 'name' (first at line 1 column 1)");
    ck_parse_fails("name: a\nenvironment: {A: x, B: y, A: z}\n", TEMPER_E_PARSE,
                   "r.yaml:2:27: duplicate key 'A' (first at line 2 column 15)");
}
END_TEST

START_TEST(test_recipe_parse_rejects_aliases_and_anchors)
{
    ck_parse_fails("name: a\nbase: &b /usr/bin/x\n", TEMPER_E_PARSE,
                   "r.yaml:2:7: anchor '&b' is not supported (nor are aliases): write the value "
                   "out");
    ck_parse_fails("name: a\ncontents: {binaries: [*x]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:23: alias '*x' is not supported: write the value out");
    /* Billion laughs: refused at the first anchor, before anything is expanded. */
    ck_parse_fails("a: &a [x, x, x, x, x, x, x, x, x]\n"
                   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:1:4: anchor '&a' is not supported (nor are aliases): write the value "
                   "out");
    ck_parse_fails("name: a\n<<: *base\n", TEMPER_E_PARSE,
                   "r.yaml:2:5: alias '*base' is not supported: write the value out");
}
END_TEST

START_TEST(test_recipe_parse_rejects_tags)
{
    ck_parse_fails("name: !!binary cHl0aG9u\n", TEMPER_E_PARSE,
                   "r.yaml:1:7: tag 'tag:yaml.org,2002:binary' is not supported: remove it, "
                   "recipe values are plain text");
    ck_parse_fails("name: a\nlevel: !!int 3\n", TEMPER_E_PARSE,
                   "r.yaml:2:8: tag 'tag:yaml.org,2002:int' is not supported: remove it, recipe "
                   "values are plain text");
    ck_parse_fails("name: a\ncontents: !custom {}\n", TEMPER_E_PARSE,
                   "r.yaml:2:11: tag '!custom' is not supported: remove it, recipe values are "
                   "plain text");
}
END_TEST

START_TEST(test_recipe_parse_rejects_several_documents)
{
    ck_parse_fails("name: a\n---\nname: b\n", TEMPER_E_PARSE,
                   "r.yaml:2:1: a second YAML document: a recipe is one document, remove this "
                   "'---' and what follows (or use include)");
    /* One document with explicit markers is fine. */
    recipe_free(parse_ok("---\nname: a\n...\n"));
}
END_TEST

START_TEST(test_recipe_parse_maps_libyaml_errors_to_file_line_column)
{
    struct temper_err err;

    ck_parse_fails("name: a\ncontents: {binaries: [/x}\n", TEMPER_E_PARSE,
                   "r.yaml:2:25: invalid YAML: did not find expected ',' or ']' (while parsing "
                   "a flow sequence at line 2 column 22)");
    ck_parse_fails("name: a\n  tag: b\n", TEMPER_E_PARSE,
                   "r.yaml:2:6: invalid YAML: mapping values are not allowed in this context");
    ck_parse_fails("name: \"a\n", TEMPER_E_PARSE,
                   "r.yaml:2:1: invalid YAML: found unexpected end of stream (while scanning a "
                   "quoted scalar at line 1 column 7)");
    /* Reader errors carry a byte offset, turned into a line and column here. */
    ck_parse_fails("name: a\ntag: v\xff\n", TEMPER_E_PARSE,
                   "r.yaml:2:7: invalid YAML: invalid leading UTF-8 octet (byte 0xff): save the "
                   "file as UTF-8");
    err = parse_err("name: a\0b\n", 10);
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_str_eq(err.msg, "r.yaml:1:8: invalid YAML: control characters are not allowed "
                              "(byte 0x00): save the file as UTF-8");
}
END_TEST

/* Every place an absolute path is wanted applies the same rules. */
START_TEST(test_recipe_parse_rejects_bad_paths)
{
    char *text, *path;

    ck_parse_fails("name: a\ncontents: {binaries: [usr/bin/x]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:23: path 'usr/bin/x' in 'contents.binaries' is relative: write it "
                   "from the root, '/usr/bin/x'");
    ck_parse_fails("name: a\ncontents: {files: [/etc/./passwd]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:20: path '/etc/./passwd' in 'contents.files' has a '.' component: "
                   "write it without '.' or '..'");
    ck_parse_fails("name: a\ncontents: {trees: [{path: /usr/lib/..}]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:27: path '/usr/lib/..' in 'contents.trees.path' has a '..' "
                   "component: write it without '.' or '..'");
    ck_parse_fails("name: a\npaths: [{path: /a//b, type: directory}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:16: path '/a//b' in 'paths.path' has an empty component ('//'): "
                   "remove the extra '/'");
    ck_parse_fails("name: a\nwork-dir: /home/a/\n", TEMPER_E_PARSE,
                   "r.yaml:2:11: path '/home/a/' in 'work-dir' ends with '/': remove it");
    ck_parse_fails("name: a\ncontents: {binaries: [/]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:23: path '/' in 'contents.binaries' is the root itself: name a "
                   "path below it");
    ck_parse_fails("name: a\ncontents: {files: [\"\"]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:20: 'contents.files' is an empty path: write an absolute path");
    ck_parse_fails("name: a\ncontents: {files: [\"/etc/a\\0b\"]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:20: 'contents.files' contains a NUL byte");
    ck_parse_fails("name: a\naccounts: {users: [{username: a, uid: 1, home: home/a}]}\n",
                   TEMPER_E_PARSE,
                   "r.yaml:2:48: path 'home/a' in 'home' is relative: write it from the root, "
                   "'/home/a'");
    ck_parse_fails("name: a\naccounts: {users: [{username: a, uid: 1, shell: /bin/./sh}]}\n",
                   TEMPER_E_PARSE,
                   "r.yaml:2:49: path '/bin/./sh' in 'shell' has a '.' component: write it "
                   "without '.' or '..'");
    ck_parse_fails("name: a\naccounts: {users: [{username: a, uid: 1, home: \"/h:x\"}]}\n",
                   TEMPER_E_PARSE,
                   "r.yaml:2:48: 'home' value '/h:x' has a ':' or a newline, which /etc/passwd "
                   "cannot hold: choose another path");

    /* TEMPER_PATH_MAX counts the terminator: 4095 bytes pass, 4096 do not. */
    path = malloc(TEMPER_PATH_MAX + 1);
    text = malloc(TEMPER_PATH_MAX + 64);
    memset(path, 'a', TEMPER_PATH_MAX);
    for (size_t i = 0; i < TEMPER_PATH_MAX; i += 100)
        path[i] = '/';
    path[TEMPER_PATH_MAX - 1] = '\0';
    snprintf(text, TEMPER_PATH_MAX + 64, "name: a\nwork-dir: %s\n", path);
    recipe_free(parse_ok(text));
    path[TEMPER_PATH_MAX - 1] = 'b';
    path[TEMPER_PATH_MAX] = '\0';
    snprintf(text, TEMPER_PATH_MAX + 64, "name: a\nwork-dir: %s\n", path);
    {
        struct temper_err err = parse_err(text, strlen(text));

        ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
        ck_assert_ptr_nonnull(strstr(err.msg, "r.yaml:2:11: path '/aaa"));
        ck_assert_ptr_nonnull(strstr(err.msg, "...' in 'work-dir' is 4096 bytes long, over the "
                                              "limit of 4095"));
    }
    free(path);
    free(text);
}
END_TEST

START_TEST(test_recipe_parse_accepts_the_root_where_a_directory_fits)
{
    struct recipe *r = parse_ok("name: a\n"
                                "work-dir: /\n"
                                "contents: {trees: [{path: /, exclude: [proc, \"**\"]}]}\n"
                                "accounts: {users: [{username: root, uid: 0, home: /}]}\n");

    ck_assert_str_eq(r->work_dir.value, "/");
    ck_assert_str_eq(r->trees[0].path.value, "/");
    ck_assert_str_eq(r->users[0].home.value, "/");
    ck_assert_uint_eq(r->users[0].uid, 0);
    ck_assert_str_eq(r->run_as.value, "root");
    recipe_free(r);
}
END_TEST

START_TEST(test_recipe_parse_checks_libraries_and_patterns)
{
    ck_parse_fails("name: a\ncontents: {libraries: [/lib/libc.so.6]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:24: library '/lib/libc.so.6' in 'contents.libraries' has a '/': "
                   "write the soname alone (a file with its path goes in contents.files or "
                   "contents.binaries)");
    ck_parse_fails("name: a\ncontents: {libraries: [..]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:24: library '..' in 'contents.libraries' is not a file name: write "
                   "a soname such as libnss_dns.so.2");
    ck_parse_fails("name: a\ncontents: {trees: [{path: /usr, exclude: [/usr/share]}]}\n",
                   TEMPER_E_PARSE,
                   "r.yaml:2:43: pattern '/usr/share' in 'contents.trees.exclude' starts with "
                   "'/': patterns are relative to the tree's path, remove the '/'");
    ck_parse_fails("name: a\ncontents: {trees: [{path: /usr, exclude: [share/]}]}\n",
                   TEMPER_E_PARSE,
                   "r.yaml:2:43: pattern 'share/' in 'contents.trees.exclude' has an empty "
                   "component: write 'dir' or 'dir/**' without a stray '/'");
    ck_parse_fails("name: a\ncontents: {trees: [{exclude: [x]}]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:20: an entry of 'contents.trees' has no 'path': add it");
}
END_TEST

/* contents.gconv: names as iconv_open takes them; [] (none) is not the same as no key. */
START_TEST(test_recipe_parse_checks_gconv)
{
    struct recipe *r =
        parse_ok("name: a\ncontents: {gconv: [ISO-8859-1, euc-jp, ISO-10646/UCS2/]}\n");

    ck_assert(r->has_gconv);
    ck_assert_uint_eq(r->gconv.n, 3);
    ck_assert_str_eq(r->gconv.items[1].value, "euc-jp");
    ck_loc(r->gconv.items[1].loc, "r.yaml", 2, 32);
    recipe_free(r);
    r = parse_ok("name: a\ncontents: {gconv: []}\n");
    ck_assert(r->has_gconv && r->gconv.n == 0);
    recipe_free(r);
    r = parse_ok("name: a\n");
    ck_assert(!r->has_gconv);
    recipe_free(r);
    ck_parse_fails("name: a\ncontents: {gconv: [../../etc/x]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:20: character set '../../etc/x' in 'contents.gconv' is not a name "
                   "iconv_open takes: write one such as ISO-8859-1 or EUC-JP (letters, digits and "
                   "- _ . : / ( ) +, at most 64 bytes)");
    ck_parse_fails("name: a\ncontents: {gconv: [\"\"]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:20: character set '' in 'contents.gconv' is not a name iconv_open "
                   "takes: write one such as ISO-8859-1 or EUC-JP (letters, digits and - _ . : / ( "
                   ") +, at most 64 bytes)");
    ck_parse_fails("name: a\ncontents: {gconv: UTF-8}\n", TEMPER_E_PARSE,
                   "r.yaml:2:19: 'contents.gconv' must be a list, found a string");
}
END_TEST

START_TEST(test_recipe_parse_checks_names)
{
    char text[256];
    struct recipe *r;

    ck_parse_fails("name: Python\n", TEMPER_E_PARSE,
                   "r.yaml:1:7: name 'Python' is not valid: use lowercase letters and digits, "
                   "joined by '.', '_', '__' or dashes, at most 128 bytes");
    ck_parse_fails("name: -x\n", TEMPER_E_PARSE,
                   "r.yaml:1:7: name '-x' is not valid: use lowercase letters and digits, "
                   "joined by '.', '_', '__' or dashes, at most 128 bytes");
    ck_parse_fails("name: x.\n", TEMPER_E_PARSE,
                   "r.yaml:1:7: name 'x.' is not valid: use lowercase letters and digits, "
                   "joined by '.', '_', '__' or dashes, at most 128 bytes");
    /* The distribution spec's separators only: an archive must load in podman and docker. */
    ck_parse_fails("name: a..b\n", TEMPER_E_PARSE,
                   "r.yaml:1:7: name 'a..b' is not valid: use lowercase letters and digits, "
                   "joined by '.', '_', '__' or dashes, at most 128 bytes");
    ck_assert_int_eq(parse_err("name: a___b\n", 12).code, TEMPER_E_PARSE);
    ck_assert_int_eq(parse_err("name: a._b\n", 11).code, TEMPER_E_PARSE);
    ck_assert_int_eq(parse_err("name: a-.b\n", 11).code, TEMPER_E_PARSE);
    r = parse_ok("name: a__b---c.d_e\n");
    recipe_free(r);
    snprintf(text, sizeof(text), "name: %0128d\n", 7);
    r = parse_ok(text);
    ck_assert_uint_eq(strlen(r->name.value), 128);
    recipe_free(r);
    snprintf(text, sizeof(text), "name: %0129d\n", 7);
    ck_assert_int_eq(parse_err(text, strlen(text)).code, TEMPER_E_PARSE);

    r = parse_ok("name: py-3.11_x\ntag: V1.2_rc-3\n");
    ck_assert_str_eq(r->tag.value, "V1.2_rc-3");
    recipe_free(r);
    ck_parse_fails("name: a\ntag: -v1\n", TEMPER_E_PARSE,
                   "r.yaml:2:6: tag '-v1' is not a valid OCI tag: use letters, digits, '_', '.' "
                   "and '-', not starting with '.' or '-', at most 128 bytes");
    ck_parse_fails("name: a\ntag: \"v1:x\"\n", TEMPER_E_PARSE,
                   "r.yaml:2:6: tag 'v1:x' is not a valid OCI tag: use letters, digits, '_', '.' "
                   "and '-', not starting with '.' or '-', at most 128 bytes");
    ck_parse_fails("name: a\naccounts: {users: [{username: Root, uid: 0}]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:31: 'username' value 'Root' is not a valid account name: use "
                   "lowercase letters, digits, '_', '-' and '.', starting with a letter or '_', "
                   "at most 32 bytes");
    ck_parse_fails("name: a\naccounts: {groups: [{groupname: \"a:b\", gid: 1}]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:33: 'groupname' value 'a:b' is not a valid account name: use "
                   "lowercase letters, digits, '_', '-' and '.', starting with a letter or '_', "
                   "at most 32 bytes");
    ck_parse_fails("name: a\naccounts: {groups: [{groupname: x}]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:21: an entry of 'accounts.groups' has no 'gid': add it");
    ck_parse_fails("name: a\naccounts: {users: [{uid: 1}]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:20: an entry of 'accounts.users' has no 'username': add it");
}
END_TEST

START_TEST(test_recipe_parse_rejects_bad_integers)
{
    ck_parse_fails("name: a\naccounts: {users: [{username: a, uid: \"1000\"}]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:39: 'uid' must be an integer, found the quoted string '1000': "
                   "remove the quotes");
    ck_parse_fails("name: a\naccounts: {users: [{username: a, uid: 1.5}]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:39: 'uid' must be a decimal integer, found '1.5'");
    ck_parse_fails("name: a\naccounts: {users: [{username: a, uid: -1}]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:39: 'uid' must not be negative, found '-1'");
    ck_parse_fails("name: a\naccounts: {users: [{username: a, uid: 4294967295}]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:39: 'uid' value '4294967295' is out of range (at most 4294967294)");
    ck_parse_fails("name: a\naccounts: {groups: [{groupname: a, gid: 99999999999999999999999}]}\n",
                   TEMPER_E_PARSE,
                   "r.yaml:2:41: 'gid' value '99999999999999999999999' is out of range (at most "
                   "4294967294)");
    ck_parse_fails("name: a\naccounts: {users: [{username: a, uid: 0100}]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:39: 'uid' value '0100' has a leading zero, which YAML 1.1 reads as "
                   "octal: write the decimal number without it");
    ck_parse_fails("name: a\naccounts: {users: [{username: a, uid: 0x10}]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:39: 'uid' must be a decimal integer, found '0x10'");
    ck_parse_fails("name: a\naccounts: {users: [{username: a, uid: +1}]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:39: 'uid' must be a decimal integer, found '+1'");
    ck_parse_fails("name: a\nepoch: 1e9\n", TEMPER_E_PARSE,
                   "r.yaml:2:8: 'epoch' must be a decimal integer, found '1e9'");
    ck_parse_fails("name: a\nepoch: 253402300800\n", TEMPER_E_PARSE,
                   "r.yaml:2:8: 'epoch' value '253402300800' is out of range (at most "
                   "253402300799)");
    ck_parse_fails("name: a\nlevel: 20\ncompression: zstd\n", TEMPER_E_PARSE,
                   "r.yaml:2:8: 'level' value '20' is out of range (at most 19)");
    ck_parse_fails("name: a\nlevel: 0\n", TEMPER_E_PARSE,
                   "r.yaml:2:8: 'level' must be 1 to 12 for gzip or 1 to 19 for zstd, found 0");
    ck_parse_fails("name: a\nlevel: 13\n", TEMPER_E_PARSE,
                   "r.yaml:2:8: 'level' 13 is over 12, the most for gzip: lower it, or set "
                   "compression: zstd (levels up to 19)");
    ck_parse_fails("name: a\nlevel: 13\ncompression: gzip\n", TEMPER_E_PARSE,
                   "r.yaml:2:8: 'level' 13 is over 12, the most for gzip: lower it, or set "
                   "compression: zstd (levels up to 19)");
}
END_TEST

START_TEST(test_recipe_parse_reads_integer_edges)
{
    struct recipe *r = parse_ok("name: a\n"
                                "accounts:\n"
                                "  groups: [{groupname: root, gid: 0}]\n"
                                "  users: [{username: big, uid: 4294967294, gid: 0}]\n"
                                "epoch: 253402300799\n"
                                "level: 19\n"
                                "compression: zstd\n");

    ck_assert_uint_eq(r->groups[0].gid, 0);
    ck_assert_uint_eq(r->users[0].uid, 4294967294u);
    ck_assert_uint_eq(r->users[0].gid, 0);
    ck_assert_int_eq(r->epoch, 253402300799);
    ck_assert_int_eq(r->level, 19);
    recipe_free(r);

    r = parse_ok("name: a\nepoch: 0\nlevel: 12\n");
    ck_assert(r->has_epoch);
    ck_assert_int_eq(r->epoch, 0);
    ck_assert_int_eq(r->level, 12);
    ck_assert_int_eq(r->compression, RECIPE_COMPRESSION_UNSET);
    recipe_free(r);
}
END_TEST

START_TEST(test_recipe_parse_reads_octal_permissions)
{
    struct recipe *r = parse_ok("name: a\n"
                                "paths:\n"
                                "  - {path: /a, type: directory, permissions: 0o755}\n"
                                "  - {path: /b, type: directory, permissions: 0755}\n"
                                "  - {path: /c, type: file, permissions: 0}\n"
                                "  - {path: /d, type: file, permissions: 0o7777}\n"
                                "  - {path: /e, type: file, permissions: 04750}\n"
                                "  - {path: /f, type: directory}\n");

    ck_assert_uint_eq(r->paths[0].permissions, 0755);
    ck_assert_uint_eq(r->paths[1].permissions, 0755);
    ck_assert_uint_eq(r->paths[2].permissions, 0);
    ck_assert(r->paths[2].has_permissions);
    ck_assert_uint_eq(r->paths[3].permissions, 07777);
    ck_assert_uint_eq(r->paths[4].permissions, 04750);
    ck_assert_uint_eq(r->paths[5].permissions, 0755);
    ck_assert(!r->paths[5].has_permissions);
    recipe_free(r);

    ck_parse_fails("name: a\npaths: [{path: /a, type: file, permissions: 644}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:45: 'permissions' value '644' is decimal: write octal permissions "
                   "as 0o644");
    ck_parse_fails("name: a\npaths: [{path: /a, type: file, permissions: 420}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:45: 'permissions' value '420' is decimal: write octal permissions "
                   "as 0o420");
    ck_parse_fails("name: a\npaths: [{path: /a, type: file, permissions: 493}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:45: 'permissions' value '493' is decimal: write octal permissions, "
                   "e.g. 0o755");
    ck_parse_fails("name: a\npaths: [{path: /a, type: file, permissions: 0o10000}]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:2:45: 'permissions' value '0o10000' is out of range (at most 0o7777)");
    ck_parse_fails("name: a\npaths: [{path: /a, type: file, permissions: 0o758}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:45: 'permissions' must be octal permissions such as 0o755, found "
                   "'0o758'");
    ck_parse_fails("name: a\npaths: [{path: /a, type: file, permissions: \"0o644\"}]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:2:45: 'permissions' must be an integer, found the quoted string "
                   "'0o644': remove the quotes");
    ck_parse_fails("name: a\npaths: [{path: /a, type: file, permissions: -0644}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:45: 'permissions' must not be negative, found '-0644'");
}
END_TEST

START_TEST(test_recipe_parse_accepts_only_true_and_false)
{
    struct recipe *r = parse_ok("name: a\nhardening: {allow-setuid: true, allow-shell: false}\n");

    ck_assert(r->allow_setuid);
    ck_assert(!r->allow_shell);
    recipe_free(r);
    ck_parse_fails("name: a\nhardening: {allow-shell: yes}\n", TEMPER_E_PARSE,
                   "r.yaml:2:26: 'hardening.allow-shell' must be true or false, found 'yes' (a "
                   "YAML 1.1 spelling): write true or false");
    ck_parse_fails("name: a\nhardening: {allow-shell: True}\n", TEMPER_E_PARSE,
                   "r.yaml:2:26: 'hardening.allow-shell' must be true or false, found 'True' (a "
                   "YAML 1.1 spelling): write true or false");
    ck_parse_fails("name: a\nhardening: {allow-setuid: \"false\"}\n", TEMPER_E_PARSE,
                   "r.yaml:2:27: 'hardening.allow-setuid' must be true or false, found the "
                   "quoted string 'false': remove the quotes");
    ck_parse_fails("name: a\nhardening: {allow-setuid: 1}\n", TEMPER_E_PARSE,
                   "r.yaml:2:27: 'hardening.allow-setuid' must be true or false, found '1'");
}
END_TEST

START_TEST(test_recipe_parse_rejects_unknown_values)
{
    ck_parse_fails("name: a\ncompression: lz4\n", TEMPER_E_PARSE,
                   "r.yaml:2:14: unknown compression 'lz4' (allowed: gzip, zstd)");
    ck_parse_fails("name: a\narchitecture: x86_64\n", TEMPER_E_PARSE,
                   "r.yaml:2:15: unknown architecture 'x86_64' (allowed: 386, amd64, arm, "
                   "arm64, loong64, mips, mipsle, mips64, mips64le, ppc64, ppc64le, riscv64, "
                   "s390x)");
    ck_parse_fails("name: a\nhardening: {require: [pie, canary]}\n", TEMPER_E_PARSE,
                   "r.yaml:2:28: unknown requirement 'canary' in 'hardening.require' (allowed: "
                   "pie, relro, nx)");
    ck_parse_fails("name: a\npaths: [{path: /a, type: fifo}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:26: unknown type 'fifo' in 'paths' (allowed: directory, file, "
                   "symlink)");
}
END_TEST

START_TEST(test_recipe_parse_checks_paths_entries)
{
    struct recipe *r;

    ck_parse_fails("name: a\npaths: [{path: /a, type: directory, content: x}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:46: 'content' is only for type file, not directory: remove it");
    ck_parse_fails("name: a\npaths: [{path: /a, type: file, target: /b}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:40: 'target' is only for type symlink, not file: remove it");
    ck_parse_fails("name: a\npaths: [{path: /a, type: symlink}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:26: a symlink in 'paths' needs a 'target': add it");
    ck_parse_fails("name: a\npaths: [{path: /a, type: symlink, target: b, uid: 1}]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:2:51: 'uid' is not for a symlink (links are owned by root, mode "
                   "0777): remove it");
    ck_parse_fails("name: a\npaths: [{path: /a, type: symlink, target: b, permissions: 0o644}]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:2:59: 'permissions' is not for a symlink (links are owned by root, "
                   "mode 0777): remove it");
    ck_parse_fails("name: a\npaths: [{path: /a, type: symlink, target: \"\"}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:43: 'paths.target' must be 1 to 4095 bytes long, found 0");
    ck_parse_fails("name: a\npaths: [{path: /a}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:9: an entry of 'paths' has no 'type': add it");
    ck_parse_fails("name: a\n"
                   "paths:\n"
                   "  - {path: /etc/a, type: file}\n"
                   "  - {path: /etc/b, type: file}\n"
                   "  - {path: /etc/a, type: directory}\n",
                   TEMPER_E_PARSE,
                   "r.yaml:5:12: duplicate path in 'paths' '/etc/a' (first at r.yaml:3:12): "
                   "remove one");

    /* Content keeps every byte, a NUL included; a file without content is empty. */
    r = parse_ok("name: a\n"
                 "paths:\n"
                 "  - {path: /a, type: file, content: \"x\\0y\"}\n"
                 "  - {path: /b, type: file}\n"
                 "  - path: /c\n"
                 "    type: file\n"
                 "    content: |\n"
                 "      line one\n"
                 "      line two\n");
    ck_assert_uint_eq(r->paths[0].content_len, 3);
    ck_assert_mem_eq(r->paths[0].content, "x\0y", 4);
    ck_assert_uint_eq(r->paths[1].content_len, 0);
    ck_assert_str_eq(r->paths[1].content, "");
    ck_assert_str_eq(r->paths[2].content, "line one\nline two\n");
    recipe_free(r);
}
END_TEST

START_TEST(test_recipe_parse_rejects_duplicate_accounts)
{
    ck_parse_fails("name: a\n"
                   "accounts:\n"
                   "  users: [{username: a, uid: 1}, {username: a, uid: 2}]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:3:45: duplicate user name 'a' (first at r.yaml:3:22): remove one");
    ck_parse_fails("name: a\n"
                   "accounts:\n"
                   "  users: [{username: a, uid: 1}, {username: b, uid: 1}]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:3:45: duplicate uid '1' (first at r.yaml:3:22): remove one");
    ck_parse_fails("name: a\n"
                   "accounts:\n"
                   "  groups: [{groupname: g, gid: 1}, {groupname: g, gid: 2}]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:3:48: duplicate group name 'g' (first at r.yaml:3:24): remove one");
    ck_parse_fails("name: a\n"
                   "accounts:\n"
                   "  groups: [{groupname: g, gid: 7}, {groupname: h, gid: 7}]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:3:48: duplicate gid '7' (first at r.yaml:3:24): remove one");
}
END_TEST

START_TEST(test_recipe_parse_reads_environment_and_annotations)
{
    struct recipe *r = parse_ok("name: a\n"
                                "environment:\n"
                                "  DEBUG: 1\n"
                                "  FLAG: true\n"
                                "  EMPTY: \"\"\n"
                                "  'lower.case': x\n"
                                "annotations: {a.b: '0755'}\n");

    ck_assert_uint_eq(r->environment.n, 4);
    ck_assert_str_eq(r->environment.values[0].value, "1");
    ck_assert_str_eq(r->environment.values[1].value, "true");
    ck_assert_str_eq(r->environment.values[2].value, "");
    ck_assert_str_eq(r->environment.keys[3].value, "lower.case");
    ck_assert_str_eq(r->annotations.values[0].value, "0755");
    recipe_free(r);

    ck_parse_fails("name: a\nenvironment: {\"A=B\": c}\n", TEMPER_E_PARSE,
                   "r.yaml:2:15: environment variable name 'A=B' has a '=': write NAME: value");
    ck_parse_fails("name: a\nenvironment: {\"\": c}\n", TEMPER_E_PARSE,
                   "r.yaml:2:15: environment variable name '' is empty: write NAME: value");
    ck_parse_fails("name: a\nannotations: {\"\": c}\n", TEMPER_E_PARSE,
                   "r.yaml:2:15: annotation key is empty: write key: value");
    ck_parse_fails("name: a\nenvironment: {~: c}\n", TEMPER_E_PARSE,
                   "r.yaml:2:15: a key is empty: write a name before the ':'");
}
END_TEST

START_TEST(test_recipe_parse_reads_commands)
{
    struct recipe *r = parse_ok("name: a\n"
                                "entrypoint: {command: /usr/bin/env -i}\n"
                                "cmd: --help\n");

    /* A string is one argv element, never split at spaces. */
    ck_assert_uint_eq(r->entrypoint.n, 1);
    ck_assert_str_eq(r->entrypoint.items[0].value, "/usr/bin/env -i");
    ck_assert_uint_eq(r->cmd.n, 1);
    ck_assert_str_eq(r->cmd.items[0].value, "--help");
    recipe_free(r);

    r = parse_ok("name: a\nentrypoint: {command: [/usr/bin/env, -i, \"\"]}\ncmd: []\n");
    ck_assert_uint_eq(r->entrypoint.n, 3);
    ck_assert_str_eq(r->entrypoint.items[1].value, "-i");
    ck_assert_str_eq(r->entrypoint.items[2].value, "");
    ck_assert_uint_eq(r->cmd.n, 0);
    recipe_free(r);

    ck_parse_fails("name: a\nentrypoint: {}\n", TEMPER_E_PARSE,
                   "r.yaml:2:13: 'entrypoint' has no 'command': add it");
    ck_parse_fails("name: a\nentrypoint: /bin/x\n", TEMPER_E_PARSE,
                   "r.yaml:2:13: 'entrypoint' must be a map, found a string");
    ck_parse_fails("name: a\ncmd: [{a: b}]\n", TEMPER_E_PARSE,
                   "r.yaml:2:7: 'cmd' must be a string, found a map");
}
END_TEST

START_TEST(test_recipe_parse_caps_size_nesting_and_nodes)
{
    size_t big = RECIPE_MAX_BYTES + 1, used;
    char *text = malloc(big + 1);
    struct temper_err err;

    memset(text, ' ', big);
    memcpy(text, "name: a\n#", 9);
    text[big] = '\0';
    err = parse_err(text, big);
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_str_eq(err.msg, "recipe 'r.yaml' is 1048577 bytes, over the limit of 1048576");
    {
        struct recipe *r = NULL;

        ck_assert_int_eq(recipe_parse(text, RECIPE_MAX_BYTES, "r.yaml", &r, &err), 0);
        recipe_free(r);
    }

    /* The root map is level 1, cmd's list level 2: 15 brackets reach level 16, 16 are over. */
    ck_parse_fails("name: a\ncmd: [[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]\n", TEMPER_E_PARSE,
                   "r.yaml:2:7: 'cmd' must be a string, found a list");
    ck_parse_fails("name: a\ncmd: [[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]\n", TEMPER_E_LIMIT,
                   "r.yaml:2:21: lists and maps nested more than 16 deep");

    /* Nodes: the root, "name", "a", "cmd" and the list are five, so 65531 items fit. */
    used = (size_t)snprintf(text, big, "name: a\ncmd: [");
    for (int i = 0; i < 65531; i++) {
        memcpy(text + used, "x,", 2);
        used += 2;
    }
    memcpy(text + used, "]\n", 3);
    {
        struct recipe *r = parse_ok(text);

        ck_assert_uint_eq(r->cmd.n, 65531);
        recipe_free(r);
    }
    memcpy(text + used, "x]\n", 4);
    err = parse_err(text, strlen(text));
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_str_eq(err.msg,
                     "r.yaml:2:131069: more than 65536 YAML nodes in the recipe and its includes");
    free(text);
}
END_TEST

START_TEST(test_recipe_load_composes_includes)
{
    struct recipe *r;

    put("base.yaml", "name: base\n"
                     "contents: {binaries: [/usr/bin/a], libraries: [libx.so.1]}\n"
                     "environment: {PATH: /bin, LANG: C.UTF-8}\n"
                     "annotations: {a: '1'}\n"
                     "entrypoint: {command: [/usr/bin/a, --base]}\n"
                     "cmd: [one, two]\n"
                     "work-dir: /base\n"
                     "hardening: {allow-shell: true, require: [pie]}\n"
                     "compression: gzip\n"
                     "tag: base\n");
    put("r.yaml", "include: [base.yaml]\n"
                  "name: child\n"
                  "contents: {binaries: [/usr/bin/b]}\n"
                  "environment: {TZ: UTC, PATH: /usr/bin}\n"
                  "cmd: [three]\n"
                  "hardening: {require: [nx]}\n");
    r = load_ok("r.yaml");
    /* Scalars: the including file wins; unset there, the include's value stays. */
    ck_assert_str_eq(r->name.value, "child");
    ck_loc(r->name.loc, "r.yaml", 2, 7);
    ck_assert_str_eq(r->tag.value, "base");
    ck_loc(r->tag.loc, "base.yaml", 10, 6);
    ck_assert_str_eq(r->work_dir.value, "/base");
    ck_assert_int_eq(r->compression, RECIPE_COMPRESSION_GZIP);
    /* Lists append, include first. */
    ck_assert_uint_eq(r->binaries.n, 2);
    ck_assert_str_eq(r->binaries.items[0].value, "/usr/bin/a");
    ck_loc(r->binaries.items[0].loc, "base.yaml", 2, 23);
    ck_assert_str_eq(r->binaries.items[1].value, "/usr/bin/b");
    ck_loc(r->binaries.items[1].loc, "r.yaml", 3, 23);
    ck_assert_uint_eq(r->libraries.n, 1);
    /* entrypoint and cmd are replaced whole, not appended. */
    ck_assert_uint_eq(r->entrypoint.n, 2);
    ck_assert_str_eq(r->entrypoint.items[1].value, "--base");
    ck_assert_uint_eq(r->cmd.n, 1);
    ck_assert_str_eq(r->cmd.items[0].value, "three");
    /* Maps merge: a key set again keeps its place and takes the new value. */
    ck_assert_uint_eq(r->environment.n, 3);
    ck_assert_str_eq(r->environment.keys[0].value, "PATH");
    ck_assert_str_eq(r->environment.values[0].value, "/usr/bin");
    ck_loc(r->environment.values[0].loc, "r.yaml", 4, 30);
    ck_assert_str_eq(r->environment.keys[1].value, "LANG");
    ck_assert_str_eq(r->environment.keys[2].value, "TZ");
    ck_assert_uint_eq(r->annotations.n, 1);
    /* hardening merges key by key; require adds up. */
    ck_assert(r->allow_shell);
    ck_assert_uint_eq(r->require, RECIPE_REQUIRE_PIE | RECIPE_REQUIRE_NX);
    recipe_free(r);
}
END_TEST

START_TEST(test_recipe_load_applies_includes_in_order)
{
    struct recipe *r;

    put("a.yaml", "name: a\ncontents: {files: [/a]}\nwork-dir: /a\n");
    put("b.yaml", "name: b\ncontents: {files: [/b]}\nwork-dir: /b\n");
    put("r.yaml", "contents: {files: [/r]}\ninclude: [b.yaml, a.yaml]\n");
    r = load_ok("r.yaml");
    /* Includes first, in their order, wherever `include` is written; then the file's keys. */
    ck_assert_str_eq(r->name.value, "a");
    ck_assert_str_eq(r->work_dir.value, "/a");
    ck_assert_uint_eq(r->files.n, 3);
    ck_assert_str_eq(r->files.items[0].value, "/b");
    ck_assert_str_eq(r->files.items[1].value, "/a");
    ck_assert_str_eq(r->files.items[2].value, "/r");
    recipe_free(r);

    /* A single string is one include. */
    put("s.yaml", "include: a.yaml\n");
    r = load_ok("s.yaml");
    ck_assert_str_eq(r->name.value, "a");
    recipe_free(r);
}
END_TEST

START_TEST(test_recipe_load_parts_compose_file_by_file)
{
    struct recipe_part *parts = NULL;
    struct temper_err err = {0};
    size_t n = 0;

    /* A diamond: r includes b and c, both include d (loaded once, where first reached). */
    put("d.yaml", "name: d\ncontents: {files: [/d]}\n");
    put("b.yaml", "include: [d.yaml]\ncontents: {files: [/b]}\n");
    put("c.yaml", "include: [d.yaml]\ncontents: {files: [/c]}\n"
                  "accounts: {users: [{username: agent, uid: 1000}, {username: x, uid: 1001}]}\n");
    put("r.yaml", "name: r\ninclude: [b.yaml, c.yaml]\ncontents: {files: [/r]}\n"
                  "layering: {strategy: includes}\naccounts: {run-as: agent}\n");
    ck_assert_msg(recipe_load_parts("r.yaml", &parts, &n, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(parts[0].file, "d.yaml");
    ck_assert_str_eq(parts[1].file, "b.yaml");
    ck_assert_str_eq(parts[2].file, "c.yaml");
    ck_assert_str_eq(parts[3].file, "r.yaml");
    /* Each part is what the files up to it compose, and nothing after it. */
    for (size_t k = 0; k < n; k++) {
        static const char *const files[] = {"/d", "/b", "/c", "/r"};

        ck_assert_uint_eq(parts[k].recipe->files.n, k + 1);
        for (size_t i = 0; i <= k; i++)
            ck_assert_str_eq(parts[k].recipe->files.items[i].value, files[i]);
    }
    /* The name is the last one set so far; a part before any user gets the default one. */
    ck_assert_str_eq(parts[0].recipe->name.value, "d");
    ck_assert_str_eq(parts[1].recipe->name.value, "d");
    ck_assert_str_eq(parts[0].recipe->users[0].name.value, "nonroot");
    /* Two users and no run-as yet: a part needs none (no plan reads it). */
    ck_assert_uint_eq(parts[2].recipe->nusers, 2);
    ck_assert_str_eq(parts[3].recipe->run_as.value, "agent");
    ck_assert_int_eq(parts[3].recipe->layering, RECIPE_LAYERING_INCLUDES);
    recipe_parts_free(parts, n);

    /* One file is one part, the whole recipe. */
    put("one.yaml", "name: one\n");
    ck_assert_msg(recipe_load_parts("one.yaml", &parts, &n, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(parts[0].recipe->name.value, "one");
    recipe_parts_free(parts, n);

    /* The whole is checked as recipe_load checks it. */
    put("bad.yaml", "include: [d.yaml]\naccounts: {run-as: nobody}\n");
    ck_assert_int_eq(recipe_load_parts("bad.yaml", &parts, &n, &err), -1);
    ck_assert_str_eq(err.msg, "bad.yaml:2:20: run-as user 'nobody' is not defined: add it to "
                              "accounts.users or run as one that is");
}
END_TEST

START_TEST(test_recipe_parse_layering)
{
    struct recipe *r = parse_ok("name: a\n");

    ck_assert_int_eq(r->layering, RECIPE_LAYERING_SINGLE);
    recipe_free(r);
    r = parse_ok("name: a\nlayering: {strategy: includes}\n");
    ck_assert_int_eq(r->layering, RECIPE_LAYERING_INCLUDES);
    recipe_free(r);
    ck_parse_fails("name: a\nlayering: includes\n", TEMPER_E_PARSE,
                   "r.yaml:2:11: 'layering' must be a map, found a string");
    ck_parse_fails("name: a\nlayering: {}\n", TEMPER_E_PARSE,
                   "r.yaml:2:11: 'layering' needs a 'strategy': single (one layer) or includes "
                   "(a layer per included recipe)");
    ck_parse_fails("name: a\nlayering: {strategy: package}\n", TEMPER_E_PARSE,
                   "r.yaml:2:22: unknown layering strategy 'package' (allowed: single, includes)");
}
END_TEST

START_TEST(test_recipe_load_resolves_includes_from_the_including_dir)
{
    struct recipe *r;
    char abs_include[8192];

    put("recipes/r.yaml", "include: [common/base.yaml]\n");
    put("recipes/common/base.yaml", "include: [../../shared/users.yaml]\nname: x\n");
    put("shared/users.yaml", "accounts: {users: [{username: app, uid: 10}]}\n");
    r = load_ok("recipes/r.yaml");
    ck_assert_str_eq(r->users[0].name.value, "app");
    ck_loc(r->users[0].name.loc, "recipes/common/../../shared/users.yaml", 1, 31);
    ck_loc(r->name.loc, "recipes/common/base.yaml", 2, 7);
    recipe_free(r);

    /* An absolute include is taken as it is. */
    snprintf(abs_include, sizeof(abs_include), "include: [%s]\n",
             testutil_path("shared/users.yaml"));
    put("recipes/abs.yaml", abs_include);
    put("recipes/abs-named.yaml", "include: [abs.yaml]\nname: y\n");
    r = load_ok("recipes/abs-named.yaml");
    ck_assert_str_eq(r->users[0].name.loc.file, testutil_path("shared/users.yaml"));
    recipe_free(r);
}
END_TEST

START_TEST(test_recipe_load_loads_a_diamond_once)
{
    struct recipe *r;

    put("d.yaml", "accounts: {users: [{username: app, uid: 10}]}\n"
                  "paths: [{path: /data, type: directory}]\n"
                  "contents: {binaries: [/usr/bin/d]}\n");
    put("b.yaml", "include: [d.yaml]\ncontents: {binaries: [/usr/bin/b]}\n");
    put("c.yaml", "include: [./d.yaml]\ncontents: {binaries: [/usr/bin/c]}\n");
    put("r.yaml", "name: top\ninclude: [b.yaml, c.yaml]\n");
    r = load_ok("r.yaml");
    ck_assert_uint_eq(r->nusers, 1);
    ck_assert_uint_eq(r->npaths, 1);
    ck_assert_uint_eq(r->binaries.n, 3);
    ck_assert_str_eq(r->binaries.items[0].value, "/usr/bin/d");
    ck_assert_str_eq(r->binaries.items[1].value, "/usr/bin/b");
    ck_assert_str_eq(r->binaries.items[2].value, "/usr/bin/c");
    recipe_free(r);
}
END_TEST

START_TEST(test_recipe_load_rejects_include_cycles)
{
    struct temper_err err;

    put("a.yaml", "name: a\ninclude: [b.yaml]\n");
    put("b.yaml", "include: [c.yaml]\n");
    put("c.yaml", "include: [a.yaml]\n");
    err = load_err("a.yaml");
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_str_eq(err.msg, "c.yaml:1:11: include cycle 'a.yaml' -> 'b.yaml' -> 'c.yaml' -> "
                              "'a.yaml': remove one of these includes");

    put("self.yaml", "name: s\ninclude: [self.yaml]\n");
    err = load_err("self.yaml");
    ck_assert_str_eq(err.msg, "self.yaml:2:11: include cycle 'self.yaml' -> 'self.yaml': remove "
                              "one of these includes");

    /* From memory, a name that is a file is that file. */
    {
        const char text[] = "name: s\ninclude: [self.yaml]\n";
        struct recipe *r = NULL;

        ck_assert_int_eq(recipe_parse(text, strlen(text), "self.yaml", &r, &err), -1);
        ck_assert_str_eq(err.msg, "self.yaml:2:11: include cycle 'self.yaml' -> 'self.yaml': "
                                  "remove one of these includes");
    }
}
END_TEST

START_TEST(test_recipe_load_reports_a_missing_include_at_its_location)
{
    struct temper_err err;

    put("r.yaml", "name: a\ninclude:\n  - nope/base.yaml\n");
    err = load_err("r.yaml");
    ck_assert_int_eq(err.code, TEMPER_E_IO);
    ck_assert_int_eq(err.sys_errno, ENOENT);
    ck_assert_str_eq(err.msg, "r.yaml:3:5: cannot open recipe 'nope/base.yaml': No such file or "
                              "directory");

    testutil_mkdir("dir.yaml");
    put("d.yaml", "name: a\ninclude: [dir.yaml]\n");
    err = load_err("d.yaml");
    ck_assert_int_eq(err.code, TEMPER_E_IO);
    ck_assert_int_eq(err.sys_errno, EISDIR);
    ck_assert_str_eq(err.msg, "d.yaml:2:11: recipe 'dir.yaml' is not a regular file");

    put("e.yaml", "name: a\ninclude: [\"\"]\n");
    err = load_err("e.yaml");
    ck_assert_int_eq(err.code, TEMPER_E_PARSE);
    ck_assert_str_eq(err.msg, "e.yaml:2:11: 'include' names an empty file name: remove it");
}
END_TEST

START_TEST(test_recipe_load_reports_errors_in_the_included_file)
{
    struct temper_err err;

    put("inc/base.yaml", "contents:\n  binaries: [bin/sh]\n");
    put("r.yaml", "name: a\ninclude: [inc/base.yaml]\n");
    err = load_err("r.yaml");
    ck_assert_str_eq(err.msg, "inc/base.yaml:2:14: path 'bin/sh' in 'contents.binaries' is "
                              "relative: write it from the root, '/bin/sh'");

    /* A duplicate across files names both. */
    put("inc/users.yaml", "accounts: {users: [{username: app, uid: 1}]}\n");
    put("u.yaml", "name: a\ninclude: [inc/users.yaml]\naccounts:\n  users: [{username: app, "
                  "uid: 2}]\n");
    err = load_err("u.yaml");
    ck_assert_str_eq(err.msg, "u.yaml:4:22: duplicate user name 'app' (first at "
                              "inc/users.yaml:1:31): remove one");
}
END_TEST

START_TEST(test_recipe_load_caps_include_depth)
{
    char name[32], text[64];
    struct temper_err err;
    struct recipe *r;

    /* l0 is the top; l16 is the deepest include allowed, l17 one too many. */
    for (int i = 0; i < 17; i++) {
        snprintf(name, sizeof(name), "l%d.yaml", i);
        snprintf(text, sizeof(text), "include: [l%d.yaml]\n", i + 1);
        put(name, text);
    }
    put("l17.yaml", "name: deep\n");
    err = load_err("l0.yaml");
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_str_eq(err.msg, "l16.yaml:1:11: include 'l17.yaml' nests more than 16 levels deep");
    put("l16.yaml", "name: deep\n");
    r = load_ok("l0.yaml");
    ck_assert_str_eq(r->name.value, "deep");
    recipe_free(r);
}
END_TEST

START_TEST(test_recipe_load_rejects_files_over_the_limit)
{
    char *text = malloc(RECIPE_MAX_BYTES + 1);
    struct temper_err err;

    memset(text, '#', RECIPE_MAX_BYTES + 1);
    testutil_write("big.yaml", text, RECIPE_MAX_BYTES + 1);
    free(text);
    err = load_err("big.yaml");
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_str_eq(err.msg, "recipe 'big.yaml' is 1048577 bytes, over the limit of 1048576");
    put("r.yaml", "name: a\ninclude: [big.yaml]\n");
    err = load_err("r.yaml");
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_str_eq(err.msg, "r.yaml:2:11: recipe 'big.yaml' is 1048577 bytes, over the limit "
                              "of 1048576");
}
END_TEST

START_TEST(test_recipe_load_caps_the_bytes_of_all_files)
{
    size_t size = RECIPE_MAX_BYTES;
    char *text = malloc(size), name[32];
    struct temper_err err;

    /* Sixteen includes of 1 MiB each, plus the top file, are over 16 MiB in all. */
    memset(text, '#', size);
    memcpy(text, "tag: v\n", 7);
    text[size - 1] = '\n';
    for (int i = 0; i < 16; i++) {
        snprintf(name, sizeof(name), "b%02d.yaml", i);
        testutil_write(name, text, size);
    }
    free(text);
    put("r.yaml", "name: a\ninclude: [b00.yaml, b01.yaml, b02.yaml, b03.yaml, b04.yaml, b05.yaml, "
                  "b06.yaml, b07.yaml,\n  b08.yaml, b09.yaml, b10.yaml, b11.yaml, b12.yaml, "
                  "b13.yaml, b14.yaml, b15.yaml]\n");
    err = load_err("r.yaml");
    ck_assert_int_eq(err.code, TEMPER_E_LIMIT);
    ck_assert_str_eq(err.msg,
                     "r.yaml:3:73: include 'b15.yaml' takes the recipe over 16777216 bytes in all");
}
END_TEST

START_TEST(test_recipe_load_reports_a_missing_recipe)
{
    struct temper_err err = load_err("absent.yaml");

    ck_assert_int_eq(err.code, TEMPER_E_IO);
    ck_assert_int_eq(err.sys_errno, ENOENT);
    ck_assert_str_eq(err.msg, "cannot open recipe 'absent.yaml': No such file or directory");
}
END_TEST

START_TEST(test_recipe_load_reads_the_example)
{
    struct recipe *r;

    put("python.yaml", example);
    r = load_ok("python.yaml");
    ck_assert_str_eq(r->name.value, "python");
    ck_loc(r->paths[1].path.loc, "python.yaml", 15, 12);
    recipe_free(r);
}
END_TEST

struct glob_case {
    const char *pattern, *path;
    bool match;
};

START_TEST(test_recipe_glob_match_table)
{
    static const struct glob_case cases[] = {
        {"**/__pycache__", "__pycache__", true},
        {"**/__pycache__", "a/b/__pycache__", true},
        {"**/__pycache__", "a/b/__pycache__/x.pyc", true},
        {"**/__pycache__", "a/__pycache__x", false},
        {"**/__pycache__", "a/x__pycache__", false},
        {"test/**", "test", true},
        {"test/**", "test/a/b", true},
        {"test/**", "tests/a", false},
        {"test/**", "a/test/b", false},
        {"**/*.pyc", "x.pyc", true},
        {"**/*.pyc", "a/b/x.pyc", true},
        {"**/*.pyc", "a/b/x.py", false},
        {"**/*.pyc", "a/.pyc", true},
        {"*.pyc", "a/x.pyc", false},
        {"*.pyc", "x.pyc", true},
        {"*", "anything", true},
        {"*", "a/b", true},
        {"**", "a/b/c", true},
        {"a/**/b", "a/b", true},
        {"a/**/b", "a/x/y/b", true},
        {"a/**/b", "a/x/y/b/z", true},
        {"a/**/b", "a/x/y/c", false},
        {"a/*/b", "a/x/b", true},
        {"a/*/b", "a/x/y/b", false},
        {"lib?", "lib2", true},
        {"lib?", "lib", false},
        {"lib?", "lib22", false},
        {"a*b*c", "abc", true},
        {"a*b*c", "axxbyyc", true},
        {"a*b*c", "axxbyy", false},
        {"*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
        {"**/**/**/**/x", "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/y", false},
        {"**/**/x", "x", true},
        {"share/locale", "share/locale/de/LC_MESSAGES/x.mo", true},
        {"share/locale", "share", false},
        {"[ab]", "a", false},
        {"[ab]", "[ab]", true},
        {"", "a", false},
        {"a", "", false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(recipe_glob_match(cases[i].pattern, cases[i].path) == cases[i].match,
                      "'%s' against '%s' should be %s", cases[i].pattern, cases[i].path,
                      cases[i].match ? "a match" : "no match");
}
END_TEST

START_TEST(test_recipe_err_at_prefixes_the_location)
{
    struct temper_err err;
    struct recipe_loc loc = {"r.yaml", 3, 9}, top = {"r.yaml", 0, 0};

    temper_err_set(&err, TEMPER_E_MISSING, 0, "'/usr/bin/x' is not in the root");
    ck_assert_int_eq(recipe_err_at(&err, &loc), -1);
    ck_assert_str_eq(err.msg, "r.yaml:3:9: '/usr/bin/x' is not in the root");
    ck_assert_int_eq(err.code, TEMPER_E_MISSING);
    temper_err_set(&err, TEMPER_E_PARSE, 0, "no user");
    recipe_err_at(&err, &top);
    ck_assert_str_eq(err.msg, "r.yaml: no user");
}
END_TEST

START_TEST(test_recipe_free_accepts_null_and_hand_built_recipes)
{
    struct recipe *r = calloc(1, sizeof(*r));

    recipe_free(NULL);
    r->name.value = strdup("x");
    r->binaries.items = calloc(1, sizeof(*r->binaries.items));
    r->binaries.items[0].value = strdup("/x");
    r->binaries.n = 1;
    recipe_free(r);
}
END_TEST

static TCase *
tcase(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    return tc;
}

/* ---- package sources ---- */

#define PKG_HEAD                                                                                   \
    "name: a\n"                                                                                    \
    "contents:\n"                                                                                  \
    "  keyring: [/usr/share/keyrings/debian-archive-keyring.gpg]\n"

START_TEST(test_recipe_parse_reads_package_sources)
{
    struct recipe *r = parse_ok(PKG_HEAD "  repositories:\n"
                                         "    - {url: apt, suite: bookworm}\n"
                                         "    - url: https://mirror.example/debian-security\n"
                                         "      suite: bookworm-security\n"
                                         "      components: [updates/main, contrib]\n"
                                         "  packages: [libc6, python3.11-minimal, libc6, g++-12]\n"
                                         "  exclude: [debconf, perl-base]\n"
                                         "  binaries: [/usr/bin/python3.11]\n"
                                         "architectures: [amd64, arm64]\n");

    ck_assert_uint_eq(r->nrepositories, 2);
    ck_assert_str_eq(r->repositories[0].url.value, "apt");
    ck_assert_str_eq(r->repositories[0].suite.value, "bookworm");
    ck_assert_uint_eq(r->repositories[0].components.n, 1);
    ck_assert_str_eq(r->repositories[0].components.items[0].value, "main");
    ck_loc(r->repositories[0].components.items[0].loc, "r.yaml", 5, 25);
    ck_assert_str_eq(r->repositories[1].url.value, "https://mirror.example/debian-security");
    ck_assert_uint_eq(r->repositories[1].components.n, 2);
    ck_assert_str_eq(r->repositories[1].components.items[0].value, "updates/main");
    ck_assert_uint_eq(r->keyring.n, 1);
    /* a package named twice counts once, in the order first named */
    ck_assert_uint_eq(r->packages.n, 3);
    ck_assert_str_eq(r->packages.items[0].value, "libc6");
    ck_assert_str_eq(r->packages.items[1].value, "python3.11-minimal");
    ck_assert_str_eq(r->packages.items[2].value, "g++-12");
    ck_assert_uint_eq(r->exclude.n, 2);
    ck_assert_uint_eq(r->architectures.n, 2);
    ck_assert_str_eq(r->architectures.items[1].value, "arm64");
    recipe_free(r);
}
END_TEST

START_TEST(test_recipe_parse_checks_package_sources)
{
    ck_parse_fails(PKG_HEAD "  repositories: [{url: ftp://x/debian, suite: bookworm}]\n"
                            "  packages: [libc6]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:4:24: 'ftp://x/debian' in 'contents.repositories.url' is not an "
                   "archive: write an http:// or https:// URL, or apt for the archive this "
                   "machine's apt sources name for the suite");
    ck_parse_fails(PKG_HEAD "  repositories: [{url: 'https://u:p@x/debian', suite: bookworm}]\n"
                            "  packages: [libc6]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:4:24: URL 'https://***@x/debian' in 'contents.repositories.url' has "
                   "credentials: write the archive's host (credentials do not belong in a "
                   "recipe)");
    ck_parse_fails(PKG_HEAD "  repositories: [{url: 'ftp://u:secret@x/d', suite: bookworm}]\n"
                            "  packages: [libc6]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:4:24: 'ftp://***@x/d' in 'contents.repositories.url' is not an "
                   "archive: write an http:// or https:// URL, or apt for the archive this "
                   "machine's apt sources name for the suite");
    ck_parse_fails(PKG_HEAD "  repositories: [{url: 'http://x/debian?a', suite: bookworm}]\n"
                            "  packages: [libc6]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:4:24: URL 'http://x/debian?a' in 'contents.repositories.url' holds a "
                   "space, a control character, a query or a fragment: write the archive's base "
                   "URL alone");
    ck_parse_fails(PKG_HEAD "  repositories: [{url: apt, suite: ../etc}]\n"
                            "  packages: [libc6]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:4:36: suite '../etc' is not a suite name: letters, digits, '.', '_', "
                   "'-' and '/' between parts (bookworm, bookworm-security)");
    ck_parse_fails(PKG_HEAD "  repositories: [{url: apt}]\n"
                            "  packages: [libc6]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:4:18: an entry of 'contents.repositories' has no "
                   "'suite': add it");
    ck_parse_fails(PKG_HEAD "  repositories: [{url: apt, suite: b, component: [main]}]\n"
                            "  packages: [libc6]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:4:39: unknown key 'component' in 'contents.repositories' (allowed: "
                   "url, suite, components)");
    ck_parse_fails(PKG_HEAD "  repositories: [{url: apt, suite: b, components: []}]\n"
                            "  packages: [libc6]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:4:51: 'contents.repositories.components' is empty: name at least one "
                   "(main), or leave it out for main");
    ck_parse_fails(PKG_HEAD "  repositories: [{url: apt, suite: b}]\n"
                            "  packages: [LibC6]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:5:14: 'LibC6' in 'contents.packages' is not a Debian package name "
                   "([a-z0-9][a-z0-9+.-]+)");
    ck_parse_fails("name: a\ncontents:\n  repositories: [{url: apt, suite: b}]\n"
                   "  packages: [libc6]\n",
                   TEMPER_E_PARSE,
                   "r.yaml:4:14: 'contents.packages' needs 'contents.keyring', the keys the "
                   "archive signs with: add [/usr/share/keyrings/debian-archive-keyring.gpg] for "
                   "Debian");
    ck_parse_fails(PKG_HEAD "  packages: [libc6]\n", TEMPER_E_PARSE,
                   "r.yaml:4:14: 'contents.packages' needs 'contents.repositories' to take them "
                   "from: add one ({url: apt, suite: bookworm} for this machine's apt sources)");
    ck_parse_fails(PKG_HEAD "  repositories: [{url: apt, suite: b}]\n", TEMPER_E_PARSE,
                   "r.yaml:4:24: package sources without 'contents.packages': name the packages "
                   "the image is built from, or remove them");
    ck_parse_fails("name: a\narchitectures: [amd64, x86_64]\n", TEMPER_E_PARSE,
                   "r.yaml:2:24: 'x86_64' in 'architectures' is not an architecture (amd64, "
                   "arm64, 386, arm, ppc64le, s390x, riscv64, ...)");
    ck_parse_fails("name: a\narchitectures: []\n", TEMPER_E_PARSE,
                   "r.yaml:2:16: 'architectures' is empty: name at least one, or leave it out "
                   "for the build machine's");
    ck_parse_fails("name: a\narchitecture: arm64\narchitectures: [amd64]\n", TEMPER_E_PARSE,
                   "r.yaml:2:15: architecture 'arm64' is not in 'architectures': add it there, "
                   "or leave 'architecture' out");
}
END_TEST

START_TEST(test_recipe_load_composes_package_sources)
{
    struct recipe *r;

    put("base.yaml", "name: base\n"
                     "contents:\n"
                     "  repositories: [{url: apt, suite: bookworm}]\n"
                     "  keyring: [/k.gpg]\n"
                     "  packages: [libc6, zlib1g]\n"
                     "architectures: [amd64]\n");
    put("app.yaml", "name: app\n"
                    "include: [base.yaml]\n"
                    "contents:\n"
                    "  repositories: [{url: apt, suite: bookworm-security}]\n"
                    "  packages: [zlib1g, python3]\n"
                    "  exclude: [perl-base]\n"
                    "architectures: [arm64, amd64]\n");
    r = load_ok("app.yaml");
    ck_assert_uint_eq(r->nrepositories, 2);
    ck_assert_str_eq(r->repositories[1].suite.value, "bookworm-security");
    ck_assert_uint_eq(r->packages.n, 3);
    ck_assert_str_eq(r->packages.items[2].value, "python3");
    ck_assert_uint_eq(r->keyring.n, 1);
    /* a later list of architectures replaces the earlier one */
    ck_assert_uint_eq(r->architectures.n, 2);
    ck_assert_str_eq(r->architectures.items[0].value, "arm64");
    recipe_free(r);
}
END_TEST

static Suite *
recipe_suite(void)
{
    Suite *s = suite_create("recipe");
    TCase *tc;

    tc = tcase("recipe_parse");
    tcase_add_test(tc, test_recipe_parse_reads_every_field_of_the_example);
    tcase_add_test(tc, test_recipe_parse_applies_defaults);
    tcase_add_test(tc, test_recipe_parse_defaults_each_user);
    tcase_add_test(tc, test_recipe_parse_checks_run_as);
    tcase_add_test(tc, test_recipe_parse_reads_tests);
    tcase_add_test(tc, test_recipe_parse_refuses_bad_tests);
    tcase_add_test(tc, test_recipe_parse_rejects_unknown_key);
    tcase_add_test(tc, test_recipe_parse_reads_package_sources);
    tcase_add_test(tc, test_recipe_parse_checks_package_sources);
    tcase_add_test(tc, test_recipe_parse_rejects_wrong_types);
    tcase_add_test(tc, test_recipe_parse_rejects_empty_and_non_map_documents);
    tcase_add_test(tc, test_recipe_parse_rejects_duplicate_key);
    tcase_add_test(tc, test_recipe_parse_rejects_aliases_and_anchors);
    tcase_add_test(tc, test_recipe_parse_rejects_tags);
    tcase_add_test(tc, test_recipe_parse_rejects_several_documents);
    tcase_add_test(tc, test_recipe_parse_maps_libyaml_errors_to_file_line_column);
    tcase_add_test(tc, test_recipe_parse_rejects_bad_paths);
    tcase_add_test(tc, test_recipe_parse_accepts_the_root_where_a_directory_fits);
    tcase_add_test(tc, test_recipe_parse_checks_libraries_and_patterns);
    tcase_add_test(tc, test_recipe_parse_checks_gconv);
    tcase_add_test(tc, test_recipe_parse_names_temper_keys_for_apko_ones);
    tcase_add_test(tc, test_recipe_parse_checks_names);
    tcase_add_test(tc, test_recipe_parse_rejects_bad_integers);
    tcase_add_test(tc, test_recipe_parse_reads_integer_edges);
    tcase_add_test(tc, test_recipe_parse_reads_octal_permissions);
    tcase_add_test(tc, test_recipe_parse_accepts_only_true_and_false);
    tcase_add_test(tc, test_recipe_parse_rejects_unknown_values);
    tcase_add_test(tc, test_recipe_parse_checks_paths_entries);
    tcase_add_test(tc, test_recipe_parse_rejects_duplicate_accounts);
    tcase_add_test(tc, test_recipe_parse_reads_environment_and_annotations);
    tcase_add_test(tc, test_recipe_parse_reads_commands);
    tcase_add_test(tc, test_recipe_parse_caps_size_nesting_and_nodes);
    suite_add_tcase(s, tc);

    tc = tcase("recipe_load");
    tcase_add_test(tc, test_recipe_load_composes_includes);
    tcase_add_test(tc, test_recipe_load_composes_package_sources);
    tcase_add_test(tc, test_recipe_load_applies_includes_in_order);
    tcase_add_test(tc, test_recipe_load_parts_compose_file_by_file);
    tcase_add_test(tc, test_recipe_parse_layering);
    tcase_add_test(tc, test_recipe_load_resolves_includes_from_the_including_dir);
    tcase_add_test(tc, test_recipe_load_loads_a_diamond_once);
    tcase_add_test(tc, test_recipe_load_rejects_include_cycles);
    tcase_add_test(tc, test_recipe_load_reports_a_missing_include_at_its_location);
    tcase_add_test(tc, test_recipe_load_reports_errors_in_the_included_file);
    tcase_add_test(tc, test_recipe_load_caps_include_depth);
    tcase_add_test(tc, test_recipe_load_rejects_files_over_the_limit);
    tcase_add_test(tc, test_recipe_load_caps_the_bytes_of_all_files);
    tcase_add_test(tc, test_recipe_load_reports_a_missing_recipe);
    tcase_add_test(tc, test_recipe_load_reads_the_example);
    suite_add_tcase(s, tc);

    tc = tcase("recipe_glob_match");
    tcase_add_test(tc, test_recipe_glob_match_table);
    suite_add_tcase(s, tc);

    tc = tcase("recipe_err_at");
    tcase_add_test(tc, test_recipe_err_at_prefixes_the_location);
    suite_add_tcase(s, tc);

    tc = tcase("recipe_free");
    tcase_add_test(tc, test_recipe_free_accepts_null_and_hand_built_recipes);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testutil_run(recipe_suite());
}
