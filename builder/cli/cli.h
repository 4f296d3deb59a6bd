/*
 * cli: the `temper` command line. Only this module touches argv, stdout,
 * exit codes and the environment; the modules below it take plain data.
 *
 * Two programs share this module: `temper` itself, which links only what
 * `temper resolve` needs so that it starts fast, and `temper-image`, which
 * links the libraries of the image commands and which temper execs for
 * them (main.c says why).
 *
 * Adding a command (as git's builtin.h describes for git):
 *  1. write `int cmd_<name>(int argc, char **argv)` in cli/cmd_<name>.c; argv[0]
 *     is the command name, and the return value is the exit code: 0 success,
 *     1 failure, 2 usage error (CLI_EXIT_*);
 *  2. declare it below; add it to commands[] in main.c (as run_in_helper when
 *     it needs more than libelf and jansson) and, if so, in image_main.c,
 *     keeping the tables sorted by name;
 *  3. add the file to builder/CMakeLists.txt and document the command in
 *     README.md.
 * Errors are printed once, by the command, with cli_error.
 */
#ifndef TEMPER_CLI_H
#define TEMPER_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "base/escape.h"
#include "oci/oci_layout.h"
#include "recipe/recipe.h"
#include "rootfs/rootfs_plan.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

/*
 * A command about to exit need not free what it built: the kernel takes it
 * back faster (for `temper resolve` over a whole system, freeing is 5% of the
 * run). Leak-checking builds define TEMPER_FREE_AT_EXIT and free everything,
 * so a real leak is still found. Like git's UNLEAK.
 */
#ifdef TEMPER_FREE_AT_EXIT
#define CLI_FREE_AT_EXIT(call) call
#else
#define CLI_FREE_AT_EXIT(call) ((void)0)
#endif

/*
 * Text for a person: messages, warnings, notes, the build summary and the text formats of
 * resolve, diff and inspect. Every byte of it is written through these, escaped as
 * base/escape.h says (a backslash as \\, a newline as \n, ESC as \x1b, U+202E as \u202e), so
 * that no name from a root, an ELF file, a layer, a layout or a registry can move the cursor,
 * retitle the terminal, reorder a line or forge one, whatever the module that put it in a
 * message forgot. Only the newline cli_line adds (and the indent a caller writes with fputc)
 * is not escaped; a format string holding "\n" shows "\\n". Machine output (digests, JSON)
 * is written as it is.
 */
/* Writes s escaped; flags 0, or ESCAPE_KEEP_BACKSLASH for text that escaped its untrusted
 * parts itself (diff lines, JSON text): everything but backslashes is escaped again. */
void cli_put(FILE *out, const char *s, unsigned flags);
/* Formats, then writes the result escaped whole. */
void cli_text(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cli_text and a newline: one line for a person. */
void cli_line(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "temper: <message>" (cli_line) on standard error and returns CLI_EXIT_FAILURE (or
 * USAGE). */
int cli_error(const struct temper_err *err);
/* Prints "temper <command>: <message>" and a hint to use --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The number of processors online: the default of --jobs. */
unsigned cli_online_cpus(void);
/* Parses --jobs: a number from 1 to 64. */
int cli_parse_jobs(const char *s, unsigned *out);

/* One command: `run` gets argv from the command's name on; returns the exit code. */
struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

/* `temper <command> ...`: --help, --version, then the command of that name in `commands`
 * (sorted by name); flushes standard output and returns the exit code. */
int cli_main(int argc, char **argv, const struct cli_command *commands, size_t n);

/* skopeo's names for the two kinds of image: a layout ("oci:out/python:latest") and a registry
 * ("docker://127.0.0.1:5000/acc/python:1"); every command takes either spelling, or none. */
#define CLI_OCI_TRANSPORT "oci:"
#define CLI_DOCKER_TRANSPORT "docker://"

/*
 * Splits "[oci:]LAYOUT[:TAG]" in place: *tag points after the last ':' when what
 * follows it holds no '/', else is NULL (the layout's only image).
 */
void cli_split_layout(char *arg, const char **layout, const char **tag);

/* n bytes for a person: "38.4 MB", "216.9 kB", "12 bytes" (decimal units). */
void cli_human_bytes(char *out, size_t size, uint64_t n);

/* A registry reference without its "docker://" (returned as it is without one). */
const char *cli_registry_arg(const char *arg);

/* The private key's password from TEMPER_KEY_PASSWORD, or NULL when unset or empty. */
char *cli_key_password(void);
/* Wipes the password in the environment once the key is read, so no later code sees it. */
void cli_forget_password(char *password);

struct sign_key;
/* The default signature identity of a layout: its directory's name. Owned by the caller. */
char *cli_default_identity(const char *layout);
/* sign_key_load_private with the password from TEMPER_KEY_PASSWORD, wiped afterwards. */
int cli_load_private_key(const char *path, struct sign_key **key, struct temper_err *err);
/* The same for `n` keys with that one password: all of keys[0..n) loaded, or none. */
int cli_load_private_keys(const char *const *paths, size_t n, struct sign_key **keys,
                          struct temper_err *err);
/*
 * The identity a signature is to name, from --identity: normalized as docker (and
 * containers/image) normalize references ("python" -> "docker.io/library/python"), a tag or
 * digest kept. Owned by the caller; TEMPER_E_USAGE for what is not a reference.
 */
int cli_signed_identity(const char *given, char **out, struct temper_err *err);
/* Says on stderr that a signature naming a local `identity` is refused once pushed. */
void cli_note_local_identity(const char *identity);
struct oci_layout;
struct oci_descriptor;
/*
 * Signs what `desc` names in the layout for `identity`: an image, or an image index and each
 * image it names (cosign signs the index a tag names; containers/image checks the signature
 * of the platform's manifest it pulls). With `check`, each image is verified first
 * (oci_image_verify): only an image whose every byte is what its manifest says is signed.
 * *added says whether any signature was new (cmd_sign.c).
 */
int cli_sign_image(struct oci_layout *layout, const struct oci_descriptor *desc,
                   const struct sign_key *key, const char *identity, bool check, bool *added,
                   struct temper_err *err);

/* What temper sign and verify take: --key KEY [--identity REGISTRY/REPO] LAYOUT[:TAG]. */
struct key_args {
    const char *key;
    const char *identity; /* or NULL */
    const char *layout;
    const char *tag; /* or NULL */
};
/* Parses them (argv[0] is the command); returns an exit code, or -1 to go on. */
int cli_parse_key_args(int argc, char **argv, const char *usage, struct key_args *out);

/* ---- package sources (package_args.c) ---- */

#include "pkg/pkg.h"
struct recipe;

/* A recipe's package sources as pkg's inputs (every string borrowed from the recipe). */
struct cli_packages {
    struct pkg_inputs inputs;
    struct pkg_repository *repos;
    const char ***components;
    const char **keyrings, **packages, **exclude, **archs;
    size_t narchs;
};
int cli_packages_init(const struct recipe *r, struct cli_packages *p, struct temper_err *err);
void cli_packages_release(struct cli_packages *p);
/* A recipe's lock, by default: NAME.lock.json beside the recipe file. Owned. */
char *cli_lock_path(const char *recipe_path, const struct recipe *r);
/* The environment of pkg: the cache (--cache, else $XDG_CACHE_HOME/temper, else
 * ~/.cache/temper; *cache_dir owned), gpgv, apt's sources and cache, the time. */
int cli_package_env(const char *cache_arg, bool offline, unsigned jobs, struct pkg_env *env,
                    char **cache_dir, struct temper_err *err);
/* How temper build takes a recipe's packages: --lock, --arch, --cache, --offline, --jobs. */
struct cli_package_options {
    const char *lock;  /* or NULL: beside the recipe */
    const char *arch;  /* GOARCH, or NULL: the recipe's architecture, else this machine's */
    const char *cache; /* or NULL */
    bool offline;
    unsigned jobs;
    long timeout_ms;
};
/* The root unpacked from the packages a recipe's lock pins, from the cache or made there
 * (after the lock is checked against the recipe); *dir owned; *goarch the architecture it is
 * for (static). */
int cli_package_root(const char *recipe_path, const struct recipe *r,
                     const struct cli_package_options *o, char **dir, const char **goarch,
                     struct temper_err *err);
/* Debian's name of a GOARCH architecture ("386" -> "i386"), or NULL; this machine's GOARCH. */
const char *cli_debian_arch(const char *go);
const char *cli_machine_arch(void);

/* ---- progress on a terminal (progress.c) ---- */

/* A progress line on standard error, rewritten in place at most ten times a second: what,
 * bytes done of total, the rate and the time left. Only where standard error is a terminal
 * (cli_progress_start says; never in a log). */
struct cli_progress {
    const char *what;
    long start_ms, last_ms;
    bool shown;
};
/* Whether progress is to be shown at all (stderr is a terminal); starts the clock. */
bool cli_progress_start(struct cli_progress *p, const char *what);
void cli_progress_show(struct cli_progress *p, uint64_t done, uint64_t total);
/* Ends the line if one was shown. */
void cli_progress_end(struct cli_progress *p);

/* ---- registries (registry_args.c) ---- */

/* getopt values of the registry options, above any character. */
enum {
    CLI_OPT_USERNAME = 0x100,
    CLI_OPT_PASSWORD_STDIN,
    CLI_OPT_CA_FILE,
    CLI_OPT_PLAIN_HTTP,
    CLI_OPT_INSECURE,
    CLI_OPT_STALL_TIMEOUT,
    CLI_OPT_TIMEOUT,
};
/* Entries of a getopt_long table (needs <getopt.h>). */
/* clang-format off */
#define CLI_REGISTRY_LONG_OPTIONS                                                                  \
    {"username", required_argument, NULL, CLI_OPT_USERNAME},                                       \
    {"password-stdin", no_argument, NULL, CLI_OPT_PASSWORD_STDIN},                                 \
    {"ca-file", required_argument, NULL, CLI_OPT_CA_FILE},                                         \
    {"plain-http", no_argument, NULL, CLI_OPT_PLAIN_HTTP},                                         \
    {"insecure", no_argument, NULL, CLI_OPT_INSECURE},                                             \
    {"stall-timeout", required_argument, NULL, CLI_OPT_STALL_TIMEOUT},                             \
    {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT}
/* clang-format on */
/* Their lines of a usage text. */
#define CLI_REGISTRY_USAGE                                                                         \
    "  --username U        log in as U; the password is read from the first line of stdin\n"       \
    "  --password-stdin    (required with --username)\n"                                           \
    "  --ca-file F         trust the CA certificates in F as well as the system's\n"               \
    "  --plain-http        speak plain HTTP to a registry that is not on loopback\n"               \
    "  --insecure          do not verify the registry's TLS certificate\n"                         \
    "  --stall-timeout S   fail a request (then try it again) when no byte moved for S\n"          \
    "                      seconds (1 to 3600, default 30)\n"                                      \
    "  --timeout S         give up after S seconds with the registry in all, retries and\n"        \
    "                      waits included (1 to 86400, default 3600)\n"                            \
    "\n"                                                                                           \
    "Without --username: TEMPER_REGISTRY_USERNAME and TEMPER_REGISTRY_PASSWORD, else the\n"        \
    "first of podman's auth.json ($REGISTRY_AUTH_FILE, else\n"                                     \
    "$XDG_RUNTIME_DIR/containers/auth.json; then ~/.config/containers/auth.json) and\n"            \
    "docker's $DOCKER_CONFIG/config.json (or ~/.docker/config.json) that has credentials\n"        \
    "for the registry: from the credential helper its credHelpers or credsStore names\n"           \
    "(docker-credential-NAME, on PATH), else its auths.\n"

struct registry_args {
    const char *username;
    bool password_stdin;
    const char *ca_file;
    bool plain_http;
    bool insecure;
    const char *stall_timeout; /* seconds, as given; checked by cli_registry_login */
    const char *timeout;       /* the same */
};
/* Takes getopt's `opt` when it is a registry option; false otherwise. */
bool cli_registry_option(int opt, const char *arg, struct registry_args *a);

/* What the options of a client borrow, wiped by cli_registry_logout. */
struct registry_login {
    char *password;      /* read from stdin */
    char *env_password;  /* TEMPER_REGISTRY_PASSWORD, wiped in the environment */
    char *auth_files[4]; /* podman's auth.json files, then docker's config.json; NULL-ended */
};
struct registry_options;
/* Fills the client options (reading the password from stdin for --password-stdin); returns an
 * exit code, or -1 to go on. */
int cli_registry_login(const char *command, const struct registry_args *a,
                       struct registry_options *opts, struct registry_login *login);
void cli_registry_logout(struct registry_login *login);

/* ---- images, local or remote (image_ref.c) ---- */

/*
 * Whether `arg` names an image in a registry (*remote) or a layout (see image_ref.c);
 * TEMPER_E_USAGE when it could be either (a directory named like a registry reference).
 */
int cli_image_kind(const char *arg, bool *remote, struct temper_err *err);

struct registry_client;
struct cli_image {
    struct oci_source source;
    struct oci_descriptor desc;     /* the image named */
    const char *tag;                /* in a layout: the tag named, or NULL */
    struct oci_layout *layout;      /* a layout's, or NULL */
    struct registry_client *client; /* a registry's, or NULL */
    char *repository;               /* a registry's: REGISTRY/REPO, normalized; or NULL */
    char *arg;
};
/* Opens LAYOUT[:TAG] or [docker://]REGISTRY/REPO[:TAG|@DIGEST] and finds the image it names. */
int cli_image_open(const char *arg, const struct registry_options *opts, struct cli_image *img,
                   struct temper_err *err);
void cli_image_close(struct cli_image *img);
/*
 * When img names an image index, makes img->desc its image for GOARCH `arch` (NULL: this
 * machine's, as a runtime chooses) and says which on standard error; an image is left as it
 * is. An index without that architecture is TEMPER_E_MISSING, naming the ones it has.
 */
int cli_image_platform(struct cli_image *img, const char *arch, struct temper_err *err);
/* --arch ARCH of a command that takes an index's image (run, sbom, diff, inspect): sets *out
 * and returns -1 to go on, or the usage error's exit code for what is no architecture. */
int cli_arch_option(const char *command, const char *value, const char **out);

/* What diff and inspect take: [--format text|json] [registry options] IMAGE... */
struct image_args {
    bool json;
    const char *arch; /* --arch: an index's image to take; NULL: this machine's */
    const char *image[2];
    struct registry_args registry;
};
/* Parses them for `nimages` images (1 or 2; argv[0] is the command); returns an exit code, or
 * -1 to go on. */
int cli_parse_image_args(int argc, char **argv, const char *usage, size_t nimages,
                         struct image_args *out);

struct image_diff;
/* Prints a comparison as temper diff's text: the header line, one line per difference, the
 * count (cmd_diff.c; temper build --expect prints it on standard error). */
void cli_diff_print(FILE *out, const struct image_diff *diff);

/* A layer a build writes: its entries, how, and its bytes once written for the tests. */
struct cli_build_layer {
    const struct rootfs_plan *plan; /* the entries: the whole plan, or a layer's view */
    struct layer_options lo;        /* file_digests: one per entry of plan, or NULL */
    const char *comment;            /* its history comment, or NULL */
    int staged_fd;                  /* an unnamed temporary file holding its bytes, or -1 */
    struct layer_result res;        /* of the staged bytes */
    bool reused; /* staged_fd reads the layout's own blob of this layer: nothing to write */
};
/* The layers of an image (build_layers.c): its whole plan as one, or (layering: includes) one
 * per file of the recipe that adds something (rootfs_plan_layers). */
struct cli_layers {
    struct cli_build_layer *layers;
    size_t n;
    struct recipe_part *parts;
    size_t nparts;
    /* The parts that bring something (a file that only sets scalars or names the archive gets
     * no layer of its own), their plans (the last, the whole's, is the caller's) and files. */
    struct rootfs_plan **plans;
    const char **files;
    size_t nplans;
    const struct rootfs_plan *whole; /* the caller's */
    struct rootfs_layer *cut;        /* NULL for one layer; cut[i].part indexes plans and files */
    char **comments;
};
/* The layers of `plan`, the plan of recipe r loaded from file `recipe`: with layering:
 * includes, each part is planned with `opts` too (which should share the dpkg owners). */
int cli_layers_plan(const char *recipe, const struct recipe *r, struct rootfs_plan *plan,
                    struct fs_root *root, const struct rootfs_options *opts,
                    const struct layer_options *lo, struct cli_layers *b, struct temper_err *err);
/* Takes from the layout at `output` every layer it holds already (oci_layout_layers_made):
 * the tar is made and hashed, and the blob, read back on another thread meanwhile, must
 * decompress to it (a layout may hold images from anywhere: a config's word is not enough).
 * A taken layer is `reused`, its blob open as staged_fd. With `say`, a line per layer. */
int cli_layers_take(const char *output, struct cli_layers *b, struct fs_root *root, bool say,
                    struct temper_err *err);
/* Each layer's file digests where the image keeps the file: what the SBOM of the image lists
 * (`out`: one per entry of the whole plan). */
void cli_layers_file_digests(const struct cli_layers *b, struct layer_file_digest *out);
/* [{"digest", "size", "diff_id", "entries", "from" (the recipe file, null for one layer),
 * "reused" (taken from the layout)}], one per layer, in order, once the image is written. */
json_t *cli_layers_json(const struct cli_layers *b);
void cli_layers_release(struct cli_layers *b);

/* For an image of another architecture (GOARCH name): this machine's qemu-user program for it
 * (Debian's qemu-user-static, by its absolute path; binfmt need not be set up), or NULL. */
const char *cli_emulator_for(const char *arch);
/* Writes the layers to temporary files (staged_fd) and runs the recipe's tests on a tree
 * unpacked from them in order (run/sandbox.h), printing each failure; a failing test is
 * TEMPER_E_POLICY. Tests of an image for another architecture (`architecture`) are said not to
 * run, and stage nothing. */
int cli_build_tests(const struct recipe *r, const char *architecture,
                    struct cli_build_layer *layers, size_t nlayers, struct fs_root *root,
                    const char *const *env, struct temper_err *err);

int cmd_build(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_lock(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_sbom(int argc, char **argv);
int cmd_resolve(int argc, char **argv);

#endif
