/*
 * temper push [registry options] [--key KEY]... [--allow-other-identity]
 *             [--from REPO]... LAYOUT[:TAG] REGISTRY/REPO[:TAG]
 *
 * Pushes an image of a layout, and its signatures, to a registry. The
 * registry options and credentials are those of registry_args.c.
 *
 * A signature is only worth pushing if it names the repository it is pushed
 * to: podman, CRI-O and skopeo (containers/image, matchRepository) refuse any
 * other. So `--key` signs for the destination at push time, as cosign signs
 * after its push; the layout's signatures that name another repository are
 * left out; and when the layout's signatures all name another repository and
 * no --key makes one, the push is refused before anything is sent, unless
 * --allow-other-identity says they are meant for it (a mirror verified with
 * remapIdentity).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "cli.h"
#include "oci/oci_layout.h"
#include "registry/registry_client.h"
#include "sign/signing.h"

/* How many --key a push takes. */
#define PUSH_KEYS_MAX 8

static const char push_usage[] =
    "usage: temper push [registry options] [--key KEY]... [--allow-other-identity]\n"
    "                   [--from REPO]... [oci:]LAYOUT[:TAG] [docker://]REGISTRY/REPO[:TAG]\n"
    "\n"
    "Pushes the image tagged TAG of the layout (default: its only image), its signatures\n"
    "(the tag sha256-<digest>.sig, merged with those the registry has) and its attestations\n"
    "(sha256-<digest>.att, merged alike), to REGISTRY/REPO under TAG (default: by digest).\n"
    "An image index goes with each image it names, each by its digest with its own\n"
    "signatures, the index last. Prints the manifest (or index) digest.\n"
    "\n"
    "A signature pushed must name REGISTRY/REPO: registry verifiers (podman, CRI-O, skopeo)\n"
    "refuse one that names another repository. The layout's signatures that name another are\n"
    "left out; when all of them do and no --key is given, nothing is pushed.\n"
    "\n"
    "  --key KEY           sign the image for REGISTRY/REPO with the private key KEY (its\n"
    "                      password, if any, in TEMPER_KEY_PASSWORD) and push the signature\n"
    "                      (repeatable, at most 8; the layout is not changed)\n"
    "  --allow-other-identity\n"
    "                      push the layout's signatures whatever repository they name (for a\n"
    "                      mirror whose verifiers remap the identity)\n"
    "  --from REPO         a repository of the same registry that may hold some of the\n"
    "                      blobs: they are mounted from it instead of uploaded (repeatable,\n"
    "                      tried in order; a blob it lacks is uploaded as usual)\n"
    "\n"
    "Registry options:\n" CLI_REGISTRY_USAGE;

enum { OPT_ALLOW_OTHER_IDENTITY = 0x200 };

struct push_args {
    struct registry_args registry;
    char *layout_arg;
    const char *target;
    const char *mount_from[REGISTRY_MOUNT_FROM_MAX];
    size_t mount_from_count;
    const char *keys[PUSH_KEYS_MAX];
    size_t key_count;
    bool allow_other_identity;
};

static int
parse_args(int argc, char **argv, struct push_args *a)
{
    static const struct option options[] = {
        CLI_REGISTRY_LONG_OPTIONS,
        {"from", required_argument, NULL, 'f'},
        {"key", required_argument, NULL, 'k'},
        {"allow-other-identity", no_argument, NULL, OPT_ALLOW_OTHER_IDENTITY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (cli_registry_option(opt, optarg, &a->registry))
            continue;
        switch (opt) {
        case 'f':
            if (a->mount_from_count == REGISTRY_MOUNT_FROM_MAX)
                return cli_usage_error("push", "--from: at most %d repositories",
                                       REGISTRY_MOUNT_FROM_MAX);
            a->mount_from[a->mount_from_count++] = optarg;
            break;
        case 'k':
            if (a->key_count == PUSH_KEYS_MAX)
                return cli_usage_error("push", "--key: at most %d keys", PUSH_KEYS_MAX);
            a->keys[a->key_count++] = optarg;
            break;
        case OPT_ALLOW_OTHER_IDENTITY:
            a->allow_other_identity = true;
            break;
        case 'h':
            fputs(push_usage, stdout);
            return 1;
        default:
            return cli_usage_error("push", "bad option");
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("push", "LAYOUT[:TAG] and REGISTRY/REPO[:TAG] are required");
    a->layout_arg = argv[optind];
    a->target = argv[optind + 1];
    return 0;
}

/* The upload of one blob at a time, on a terminal: bytes, rate, time left (progress.c). */
struct push_progress {
    struct cli_progress line;
    char label[48]; /* "uploading sha256:0123456789ab" */
};

static void
show_progress(void *arg, const char *digest, uint64_t sent, uint64_t total)
{
    struct push_progress *pp = arg;
    char label[sizeof(pp->label)];

    snprintf(label, sizeof(label), "uploading %.19s", digest);
    if (strcmp(label, pp->label) != 0) {
        cli_progress_end(&pp->line);
        memcpy(pp->label, label, sizeof(label));
        cli_progress_start(&pp->line, pp->label);
    }
    cli_progress_show(&pp->line, sent, total);
    if (sent == total)
        cli_progress_end(&pp->line);
}

/* The signatures a push carries, and what it says of them. */
struct push_signatures {
    struct sign_entry *layout; /* the layout's signatures of the image */
    size_t layout_count;
    char **made; /* payloads and signatures made with --key, in pairs */
    struct registry_signature *list;
    size_t count, from_layout, made_count, left_out;
    char other[160]; /* an identity of a signature left out (or pushed with the flag) */
    /* The layout's attestations of the image: all go, but those whose envelope is missing. */
    struct sign_entry *attested;
    size_t attested_count;
    struct registry_attestation *atts;
    size_t att_count;
};

static void
push_signatures_release(struct push_signatures *p)
{
    sign_entries_free(p->attested, p->attested_count);
    free(p->atts);
    sign_entries_free(p->layout, p->layout_count);
    for (size_t i = 0; i < 2 * p->made_count; i++)
        free(p->made[i]);
    free(p->made);
    free(p->list);
}

/*
 * Chooses the layout's signatures of `digest` to push: those naming `identity` (the destination
 * repository), or all with --allow-other-identity. A signature whose payload does not even
 * parse is left out too. Refuses when the layout has signatures, none is for the destination,
 * and neither --key nor the flag was given.
 */
static int
choose_layout_signatures(const struct push_args *a, struct oci_layout *layout, const char *digest,
                         const char *identity, struct push_signatures *p, struct temper_err *err)
{
    const struct sign_identity_rule rule = {SIGN_MATCH_REPOSITORY, NULL, NULL, NULL};
    struct oci_source src;

    oci_layout_source(layout, &src);
    if (sign_list(&src, digest, &p->layout, &p->layout_count, err) < 0)
        return -1;
    p->list = xcalloc(p->layout_count + a->key_count + 1, sizeof(*p->list));
    for (size_t i = 0; i < p->layout_count; i++) {
        const struct sign_entry *e = &p->layout[i];
        struct sign_payload payload = {0};
        struct temper_err why;
        bool named;

        if (e->problem != NULL || sign_payload_parse(e->payload, e->len, &payload, &why) < 0) {
            p->left_out++;
            continue;
        }
        named = sign_identity_matches(&rule, identity, payload.identity);
        if (!named && p->other[0] == '\0')
            temper_printable(payload.identity, p->other, sizeof(p->other));
        sign_payload_release(&payload);
        if (!named && !a->allow_other_identity) {
            p->left_out++;
            continue;
        }
        p->list[p->count++] = (struct registry_signature){e->payload, e->len, e->signature, NULL};
        p->from_layout++;
    }
    if (p->layout_count > 0 && p->count == 0 && a->key_count == 0)
        return temper_err_set(
            err, TEMPER_E_SIG, 0,
            "the layout's %zu signature%s of '%s' name%s '%s', not '%s': registry verifiers "
            "(podman, CRI-O, skopeo) would refuse %s there, so nothing was pushed; sign for "
            "the destination with --key KEY (or temper sign --identity %s), or push them "
            "anyway with --allow-other-identity",
            p->layout_count, p->layout_count == 1 ? "" : "s", digest,
            p->layout_count == 1 ? "s" : "", p->other[0] ? p->other : "(unreadable)", identity,
            p->layout_count == 1 ? "it" : "them", identity);
    return 0;
}

/* The layout's attestations of `digest`: an attestation names the image by digest, whatever
 * repository holds it, so each one goes (cosign's verify-attestation checks the digest). */
static int
choose_layout_attestations(struct oci_layout *layout, const char *digest, struct push_signatures *p,
                           struct temper_err *err)
{
    struct oci_source src;

    oci_layout_source(layout, &src);
    if (sign_list_attestations(&src, digest, &p->attested, &p->attested_count, err) < 0)
        return -1;
    p->atts = xcalloc(p->attested_count + 1, sizeof(*p->atts));
    for (size_t i = 0; i < p->attested_count; i++) {
        const struct sign_entry *e = &p->attested[i];

        if (e->problem != NULL)
            return temper_err_set(err, TEMPER_E_SIG, 0,
                                  "attestation %zu of '%s' in the layout: %s; nothing was pushed",
                                  i + 1, digest, e->problem);
        p->atts[p->att_count++] = (struct registry_attestation){e->payload, e->len, e->signature};
    }
    return 0;
}

/* Signs `digest` for `identity` with each key, adding the signatures to the list. */
static int
make_signatures(struct sign_key *const *keys, size_t n, const char *digest, const char *identity,
                struct push_signatures *p, struct temper_err *err)
{
    p->made = xcalloc(2 * n + 1, sizeof(*p->made));
    for (size_t i = 0; i < n; i++) {
        char **payload = &p->made[2 * i], **b64 = &p->made[2 * i + 1];
        size_t len;

        if (sign_payload_build(identity, digest, payload, &len, err) < 0 ||
            sign_bytes(keys[i], *payload, len, b64, err) < 0)
            return -1;
        p->made_count++;
        p->list[p->count++] = (struct registry_signature){*payload, len, *b64, keys[i]};
    }
    return 0;
}

/* What the push did with signatures, on one line of stderr. */
static void
report_signatures(const struct push_args *a, const struct push_signatures *p, const char *identity)
{
    if (p->count == 0 && p->left_out == 0) {
        cli_line(stderr, "temper: the image has no signature");
        return;
    }
    cli_text(stderr, "temper: signatures for '%s': %zu made with --key, %zu from the layout",
             identity, p->made_count, p->from_layout);
    if (p->left_out > 0)
        cli_text(stderr,
                 "; %zu of the layout's left out (naming another repository, such as '%s', or "
                 "unreadable)",
                 p->left_out, p->other[0] ? p->other : "?");
    fputc('\n', stderr);
    if (a->allow_other_identity && p->other[0] != '\0')
        cli_line(stderr,
                 "temper: --allow-other-identity: pushed signatures that name '%s', not '%s'; "
                 "verifiers of this repository accept them only if their policy remaps the "
                 "identity",
                 p->other, identity);
}

/* What goes with the manifest `digest`: the layout's signatures for the destination and new
 * ones (--key), and its attestations. */
static int
gather_signatures(const struct push_args *a, struct oci_layout *layout,
                  struct sign_key *const *keys, const char *digest, const char *identity,
                  struct push_signatures *p, struct temper_err *err)
{
    if (choose_layout_signatures(a, layout, digest, identity, p, err) < 0 ||
        make_signatures(keys, a->key_count, digest, identity, p, err) < 0 ||
        choose_layout_attestations(layout, digest, p, err) < 0)
        return -1;
    return 0;
}

/* An image, or an image index with each of its images first. */
struct push_plan {
    struct oci_descriptor top;         /* what the tag names */
    struct oci_platform_image *images; /* an index's images, or NULL */
    size_t nimages;
    struct push_signatures *image_sigs; /* nimages */
};

static void
push_plan_release(struct push_plan *plan)
{
    for (size_t i = 0; i < plan->nimages && plan->image_sigs != NULL; i++)
        push_signatures_release(&plan->image_sigs[i]);
    free(plan->image_sigs);
    free(plan->images);
}

/* Reads an index's images and chooses each one's signatures: all before anything is sent, so
 * that a refusal sends nothing. */
static int
plan_images(const struct push_args *a, struct oci_layout *layout, struct sign_key *const *keys,
            const char *identity, struct push_plan *plan, struct temper_err *err)
{
    struct oci_source src;

    if (!oci_is_image_index(plan->top.media_type))
        return 0;
    oci_layout_source(layout, &src);
    if (oci_source_index(&src, &plan->top, &plan->images, &plan->nimages, err) < 0)
        return -1;
    plan->image_sigs = xcalloc(plan->nimages, sizeof(*plan->image_sigs));
    for (size_t i = 0; i < plan->nimages; i++)
        if (gather_signatures(a, layout, keys, plan->images[i].manifest.digest, identity,
                              &plan->image_sigs[i], err) < 0)
            return temper_err_prefix(err, "the image for %s/%s", plan->images[i].os,
                                     plan->images[i].architecture);
    return 0;
}

/* Sends each image of an index by its digest, then the index (or the one image) under the tag;
 * `stats` adds up all of them. */
static int
push_all(struct registry_client *client, struct oci_layout *layout, const struct push_plan *plan,
         const struct push_signatures *sigs, struct registry_push_stats *stats,
         struct temper_err *err)
{
    for (size_t i = 0; i <= plan->nimages; i++) {
        bool image = i < plan->nimages;
        const struct push_signatures *s = image ? &plan->image_sigs[i] : sigs;
        struct registry_push_item item = {image ? &plan->images[i].manifest : &plan->top,
                                          s->list,
                                          s->count,
                                          s->atts,
                                          s->att_count,
                                          image};
        struct registry_push_stats one;

        if (registry_push(client, layout, &item, &one, err) < 0)
            return -1;
        stats->blobs += one.blobs;
        stats->blobs_uploaded += one.blobs_uploaded;
        stats->blobs_mounted += one.blobs_mounted;
        stats->bytes_uploaded += one.bytes_uploaded;
    }
    return 0;
}

static int
push(const struct push_args *a, const struct registry_options *opts)
{
    struct registry_ref ref = {0};
    struct registry_client *client = NULL;
    struct oci_layout *layout = NULL;
    struct registry_push_stats stats = {0};
    struct push_signatures sigs = {0};
    struct sign_key *keys[PUSH_KEYS_MAX] = {0};
    struct push_plan plan = {0};
    const struct oci_descriptor *desc = &plan.top;
    struct oci_reference checked;
    struct temper_err err;
    cleanup_free char *identity = NULL;
    const char *dir, *tag;
    int rc;

    if (registry_ref_parse(cli_registry_arg(a->target), &ref, &err) < 0)
        return cli_usage_error("push", "%s", err.msg);
    /* what a signature for this destination names: the repository, as cosign writes it */
    identity = xasprintf("%s/%s", ref.registry, ref.repository);
    cli_split_layout(a->layout_arg, &dir, &tag);
    if (tag != NULL && oci_tag_is_attached(tag)) {
        registry_ref_release(&ref);
        return cli_usage_error(
            "push", "'%s' holds signatures or attestations; name the image's own tag", tag);
    }
    if (a->key_count > 0 && oci_reference_parse(identity, 0, &checked, &err) < 0) {
        registry_ref_release(&ref);
        return cli_usage_error("push",
                               "--key: containers/image cannot parse '%s' as a signed identity "
                               "(an IPv6 address is not a name it knows): push to a host name",
                               identity);
    }
    if (a->key_count > 0)
        oci_reference_release(&checked);
    rc = cli_load_private_keys(a->keys, a->key_count, keys, &err);
    if (rc == 0)
        rc = oci_layout_open(dir, false, &layout, &err);
    if (rc == 0)
        rc = oci_layout_find_tag(layout, tag, &plan.top, &err);
    if (rc == 0)
        rc = gather_signatures(a, layout, keys, desc->digest, identity, &sigs, &err);
    if (rc == 0)
        rc = plan_images(a, layout, keys, identity, &plan, &err);
    if (rc == 0)
        rc = registry_client_new(&ref, opts, &client, &err);
    if (rc == 0)
        rc = push_all(client, layout, &plan, &sigs, &stats, &err);
    registry_client_free(client);
    oci_layout_free(layout);
    for (size_t i = 0; i < a->key_count; i++)
        sign_key_free(keys[i]);
    if (rc < 0) {
        push_plan_release(&plan);
        push_signatures_release(&sigs);
        registry_ref_release(&ref);
        return cli_error(&err);
    }
    for (size_t i = 0; i < plan.nimages; i++)
        cli_line(stderr, "temper: pushed the image for %s/%s, %s", plan.images[i].os,
                 plan.images[i].architecture, plan.images[i].manifest.digest);
    cli_line(stderr,
             "temper: pushed %s%s to %s/%s%s%s: %zu blobs, %zu uploaded (%llu bytes), %zu "
             "mounted, %zu already present",
             plan.nimages > 0 ? "the image index " : "", desc->digest, ref.registry, ref.repository,
             ref.tag ? ":" : "", ref.tag ? ref.tag : "", stats.blobs, stats.blobs_uploaded,
             (unsigned long long)stats.bytes_uploaded, stats.blobs_mounted,
             stats.blobs - stats.blobs_uploaded - stats.blobs_mounted);
    report_signatures(a, &sigs, identity);
    if (sigs.att_count > 0)
        cli_line(stderr, "temper: attestations: %zu from the layout", sigs.att_count);
    printf("%s\n", desc->digest);
    push_plan_release(&plan);
    push_signatures_release(&sigs);
    registry_ref_release(&ref);
    return CLI_EXIT_OK;
}

int
cmd_push(int argc, char **argv)
{
    struct push_args a = {0};
    struct registry_options opts;
    struct registry_login login;
    struct push_progress progress = {0};
    int rc = parse_args(argc, argv, &a);

    if (rc != 0)
        return rc == 1 ? CLI_EXIT_OK : rc;
    rc = cli_registry_login("push", &a.registry, &opts, &login);
    if (rc >= 0)
        return rc;
    opts.mount_from = a.mount_from;
    opts.mount_from_count = a.mount_from_count;
    if (cli_progress_start(&progress.line, "uploading")) {
        opts.progress = show_progress;
        opts.progress_arg = &progress;
    }
    rc = push(&a, &opts);
    cli_registry_logout(&login);
    return rc;
}
