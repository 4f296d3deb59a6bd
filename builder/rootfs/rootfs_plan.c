/*
 * The plan: the table of entries, the files temper writes itself, and the
 * hardening rules of rootfs_plan.h applied to what rootfs_collect.c took
 * from the root.
 */
#define _GNU_SOURCE
#include "rootfs_plan.h"

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/xalloc.h"
#include "rootfs-internal.h"

static void
entry_release(struct rootfs_entry *e)
{
    free(e->path);
    free(e->source);
    free(e->content);
    free(e->target);
}

static const char *
type_name(enum rootfs_type t)
{
    switch (t) {
    case ROOTFS_DIR:
        return "a directory";
    case ROOTFS_FILE:
        return "a file";
    case ROOTFS_SYMLINK:
        return "a symlink";
    }
    return "an entry";
}

static const char *
origin_name(enum rootfs_origin o)
{
    switch (o) {
    case ORIGIN_ROOT:
        return "from the root";
    case ORIGIN_PARENT:
        return "as a parent directory";
    case ORIGIN_GENERATED:
        return "written by temper";
    case ORIGIN_RECIPE:
        return "from paths";
    }
    return "";
}

/* A second claim on a path that no rule settles: the error names both claims, at the recipe
 * location of the later one (else the earlier one). */
static int
conflict(struct planner *p, uintptr_t at, struct rootfs_entry *e, enum rootfs_origin origin,
         const struct recipe_loc *loc, struct temper_err *err)
{
    const struct rootfs_entry *old = &p->plan->entries[at - 1];
    enum rootfs_origin old_origin = p->origins[at - 1];
    const struct recipe_loc *first = p->locs[at - 1];
    char where[TEMPER_PATH_MAX + 64] = "";

    if (first != NULL && loc != NULL)
        snprintf(where, sizeof(where), " (the first at %s:%u:%u)", first->file, first->line,
                 first->column);
    if (old_origin == ORIGIN_ROOT && origin == ORIGIN_GENERATED && e->type == ROOTFS_FILE)
        temper_err_set(err, TEMPER_E_PARSE, 0,
                       "temper writes '/%s' itself, from the recipe's accounts; take it out of "
                       "contents",
                       e->path);
    else if (old_origin == ORIGIN_GENERATED && origin == ORIGIN_GENERATED)
        temper_err_set(err, TEMPER_E_PARSE, 0,
                       "'/%s' is already a directory temper makes (/tmp, /root or a home)%s; "
                       "give each user a home of its own",
                       e->path, where);
    else
        temper_err_set(err, TEMPER_E_PARSE, 0, "'/%s' is %s %s and %s %s%s; keep one of them",
                       e->path, type_name(old->type), origin_name(old_origin), type_name(e->type),
                       origin_name(origin), where);
    entry_release(e);
    loc = loc != NULL ? loc : first;
    return loc != NULL ? recipe_err_at(err, loc) : -1;
}

int
planner_add(struct planner *p, struct rootfs_entry *e, enum rootfs_origin origin,
            const struct recipe_loc *loc, struct temper_err *err)
{
    struct rootfs_plan *plan = p->plan;
    uintptr_t at = (uintptr_t)strmap_get(&p->index, e->path);
    struct rootfs_entry *old;
    enum rootfs_origin old_origin;

    if (at == 0) {
        if (plan->n == PLAN_MAX_ENTRIES) {
            temper_err_set(err, TEMPER_E_LIMIT, 0, "the image would hold more than %d entries",
                           PLAN_MAX_ENTRIES);
            entry_release(e);
            return -1;
        }
        if (plan->n == p->cap) {
            p->cap = p->cap ? 2 * p->cap : 256;
            plan->entries = xreallocarray(plan->entries, p->cap, sizeof(*plan->entries));
            p->origins = xreallocarray(p->origins, p->cap, sizeof(*p->origins));
            p->locs = xreallocarray(p->locs, p->cap, sizeof(*p->locs));
        }
        plan->entries[plan->n] = *e;
        p->origins[plan->n] = origin;
        p->locs[plan->n] = loc;
        plan->n++;
        strmap_put(&p->index, e->path, (void *)(uintptr_t)plan->n);
        return 0;
    }
    old = &plan->entries[at - 1];
    old_origin = p->origins[at - 1];
    if (old->type == e->type &&
        (origin == ORIGIN_PARENT || (origin == ORIGIN_ROOT && old_origin == ORIGIN_ROOT))) {
        entry_release(e); /* the same thing again */
        return 0;
    }
    if (old->type == e->type && (origin == ORIGIN_RECIPE || e->type == ROOTFS_DIR) &&
        origin > old_origin) {
        /* A later, more explicit claim wins: /tmp as temper makes it over the root's, an entry
         * of `paths` over anything of the same type. Two of temper's own directories, or two
         * entries of `paths`, on one path are a mistake. */
        entry_release(old);
        *old = *e;
        p->origins[at - 1] = origin;
        p->locs[at - 1] = loc;
        return 0;
    }
    return conflict(p, at, e, origin, loc, err);
}

void
planner_add_closure(struct planner *p, const struct elf_closure *c)
{
    p->closures = xreallocarray(p->closures, p->nclosures + 1, sizeof(*p->closures));
    p->closures[p->nclosures++] = c;
}

static int
add_generated_dir(struct planner *p, const char *path, uint32_t mode, uint32_t uid, uint32_t gid,
                  const struct recipe_loc *loc, struct temper_err *err)
{
    struct rootfs_entry e = {.path = xstrdup(path), .type = ROOTFS_DIR, .mode = mode};

    e.uid = uid;
    e.gid = gid;
    return planner_add(p, &e, ORIGIN_GENERATED, loc, err);
}

/* as the kernel's ELOOP */
#define PLAN_LINKS_MAX 40

const struct rootfs_entry *
planner_entry(const struct planner *p, const char *path)
{
    uintptr_t at = (uintptr_t)strmap_get(&p->index, path);

    return at != 0 ? &p->plan->entries[at - 1] : NULL;
}

char *
planner_resolve(const struct planner *p, const char *path)
{
    char *done = xstrdup(""), *todo = xstrdup(path);
    unsigned links = 0;

    for (;;) {
        char *rest = todo, *slash, *next;
        const struct rootfs_entry *e;

        while (*rest == '/')
            rest++;
        if (*rest == '\0')
            break;
        slash = strchr(rest, '/');
        next = slash ? xstrndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
        rest = slash ? slash : rest + strlen(rest);
        if (strcmp(next, ".") == 0) {
            free(next);
        } else if (strcmp(next, "..") == 0) {
            char *up = strrchr(done, '/');

            *(up ? up : done) = '\0';
            free(next);
        } else {
            char *joined = done[0] ? xasprintf("%s/%s", done, next) : xstrdup(next);

            free(next);
            e = planner_entry(p, joined);
            if (e == NULL || (e->type == ROOTFS_SYMLINK && ++links > PLAN_LINKS_MAX)) {
                free(joined);
                free(done);
                free(todo);
                return NULL;
            }
            if (e->type == ROOTFS_SYMLINK) {
                char *parent = strrchr(joined, '/');
                char *again = xasprintf("%s/%s", e->target, rest);

                *(parent ? parent : joined) = '\0';
                free(done);
                done = e->target[0] == '/' ? xstrdup("") : joined;
                if (e->target[0] == '/')
                    free(joined);
                free(todo);
                todo = again;
                continue;
            }
            free(done);
            done = joined;
        }
        next = xstrdup(rest);
        free(todo);
        todo = next;
    }
    free(todo);
    return done;
}

int
planner_add_bytes(struct planner *p, const char *path, char *content, size_t len,
                  struct temper_err *err)
{
    struct rootfs_entry e = {.path = xstrdup(path), .type = ROOTFS_FILE, .mode = 0644};

    e.content = content;
    e.size = len;
    return planner_add(p, &e, ORIGIN_GENERATED, NULL, err);
}

int
planner_add_text(struct planner *p, const char *path, char *content, struct temper_err *err)
{
    return planner_add_bytes(p, path, content, strlen(content), err);
}

/* Appends `line` (taken) to a growing text. */
static void
text_add(char **text, char *line)
{
    char *joined = xasprintf("%s%s", *text, line);

    free(line);
    free(*text);
    *text = joined;
}

/*
 * /etc/passwd and /etc/group from `accounts`, with root first; /etc/nsswitch.conf so that
 * glibc reads them and /etc/hosts (files first, then DNS); /tmp; home directories.
 */
static int
add_generated(struct planner *p, struct temper_err *err)
{
    const struct recipe *r = p->recipe;
    char *passwd = xstrdup("root:x:0:0:root:/root:/sbin/nologin\n");
    char *group = xstrdup("root:x:0:\n");

    for (size_t i = 0; i < r->nusers; i++) {
        const struct recipe_user *u = &r->users[i];

        if (u->uid == 0 || strcmp(u->name.value, "root") == 0) {
            free(passwd);
            free(group);
            temper_err_set(err, TEMPER_E_POLICY, 0,
                           "user '%s' (uid %u): root is always in /etc/passwd and an image "
                           "runs as a non-root user; pick another name and uid",
                           u->name.value, u->uid);
            return recipe_err_at(err, &u->name.loc);
        }
        text_add(&passwd, xasprintf("%s:x:%u:%u:%s:%s:%s\n", u->name.value, u->uid, u->gid,
                                    u->name.value, u->home.value, u->shell.value));
    }
    for (size_t i = 0; i < r->ngroups; i++) {
        const struct recipe_group *g = &r->groups[i];

        if (g->gid == 0 || strcmp(g->name.value, "root") == 0) {
            free(passwd);
            free(group);
            temper_err_set(err, TEMPER_E_POLICY, 0,
                           "group '%s' (gid %u): root is always in /etc/group; pick another "
                           "name and gid",
                           g->name.value, g->gid);
            return recipe_err_at(err, &g->name.loc);
        }
        text_add(&group, xasprintf("%s:x:%u:\n", g->name.value, g->gid));
    }
    /* A user whose gid no group names gets a group of its own name, as useradd would make. */
    for (size_t i = 0; i < r->nusers; i++) {
        const struct recipe_user *u = &r->users[i];
        bool named = false;

        for (size_t k = 0; k < r->ngroups && !named; k++)
            named = r->groups[k].gid == u->gid;
        for (size_t k = 0; k < i && !named; k++)
            named = r->users[k].gid == u->gid;
        if (!named)
            text_add(&group, xasprintf("%s:x:%u:\n", u->name.value, u->gid));
    }
    if (planner_add_text(p, "etc/passwd", passwd, err) < 0) {
        free(group);
        return -1;
    }
    if (planner_add_text(p, "etc/group", group, err) < 0 ||
        planner_add_text(p, "etc/nsswitch.conf",
                         xstrdup("passwd: files\ngroup: files\nshadow: files\n"
                                 "gshadow: files\nhosts: files dns\nnetworks: files\n"
                                 "protocols: files\nservices: files\nethers: files\n"
                                 "rpc: files\n"),
                         err) < 0)
        return -1;
    if (add_generated_dir(p, "tmp", 01777, 0, 0, NULL, err) < 0 ||
        add_generated_dir(p, "root", 0700, 0, 0, NULL, err) < 0)
        return -1;
    for (size_t i = 0; i < r->nusers; i++) {
        const struct recipe_user *u = &r->users[i];

        if (strcmp(u->home.value, "/") == 0) {
            temper_err_set(err, TEMPER_E_POLICY, 0,
                           "user '%s' has '/' as home, which it would own; give it a home of "
                           "its own",
                           u->name.value);
            return recipe_err_at(err, &u->home.loc);
        }
        if (add_generated_dir(p, u->home.value + 1, 0700, u->uid, u->gid, &u->home.loc, err) < 0)
            return -1;
    }
    return 0;
}

/* The entries of `paths`, checked against the hardening rules. */
static int
add_recipe_paths(struct planner *p, struct temper_err *err)
{
    const struct recipe *r = p->recipe;

    for (size_t i = 0; i < r->npaths; i++) {
        const struct recipe_path *rp = &r->paths[i];
        struct rootfs_entry e = {
            .path = xstrdup(rp->path.value + 1), .uid = rp->uid, .gid = rp->gid};

        switch (rp->type) {
        case RECIPE_PATH_DIRECTORY:
            e.type = ROOTFS_DIR;
            e.mode = rp->has_permissions ? rp->permissions : 0755;
            break;
        case RECIPE_PATH_FILE:
            e.type = ROOTFS_FILE;
            e.mode = rp->has_permissions ? rp->permissions : 0644;
            e.size = rp->content_len;
            e.content = xmalloc(rp->content_len + 1);
            memcpy(e.content, rp->content ? rp->content : "", rp->content_len);
            e.content[rp->content_len] = '\0';
            break;
        case RECIPE_PATH_SYMLINK:
            e.type = ROOTFS_SYMLINK;
            e.mode = 0777;
            e.target = xstrdup(rp->target.value);
            break;
        }
        if (e.type != ROOTFS_SYMLINK && (e.mode & 0002) != 0 &&
            !(e.type == ROOTFS_DIR && strcmp(e.path, "tmp") == 0 && (e.mode & 01000) != 0)) {
            temper_err_set(err, TEMPER_E_POLICY, 0,
                           "'%s' would be world-writable (%04o); only /tmp may be, with the "
                           "sticky bit (01777): clear the write bit for others, and give the "
                           "directory to the user instead",
                           rp->path.value, e.mode);
            entry_release(&e);
            return recipe_err_at(err, &rp->path.loc);
        }
        if ((e.mode & 06000) != 0 && !r->allow_setuid) {
            temper_err_set(err, TEMPER_E_POLICY, 0,
                           "'%s' asks for setuid or setgid (%04o); clear the bit, or set "
                           "hardening.allow-setuid: true",
                           rp->path.value, e.mode);
            entry_release(&e);
            return recipe_err_at(err, &rp->path.loc);
        }
        if ((e.mode & 06000) != 0)
            strv_push(&p->plan->summary.setid_kept, xstrdup(rp->path.value));
        if (planner_add(p, &e, ORIGIN_RECIPE, &rp->path.loc, err) < 0)
            return -1;
    }
    return 0;
}

/* Every directory on the way to every entry. */
static int
add_parents(struct planner *p, struct temper_err *err)
{
    /* Entries added here are appended, and have their own parents added when the loop gets to
     * them: one pass covers all. */
    for (size_t i = 0; i < p->plan->n; i++) {
        char *slash = strrchr(p->plan->entries[i].path, '/');
        struct rootfs_entry e = {.type = ROOTFS_DIR, .mode = 0755};
        uintptr_t at;

        if (slash == NULL)
            continue;
        e.path = xstrndup(p->plan->entries[i].path, (size_t)(slash - p->plan->entries[i].path));
        at = (uintptr_t)strmap_get(&p->index, e.path);
        if (at != 0 && p->plan->entries[at - 1].type != ROOTFS_DIR) {
            bool is_link = p->plan->entries[at - 1].type == ROOTFS_SYMLINK;

            temper_err_set(
                err, TEMPER_E_PARSE, 0, "'/%s' is %s in the image, so '/%s' cannot be under it; %s",
                e.path, type_name(p->plan->entries[at - 1].type), p->plan->entries[i].path,
                is_link ? "name the path the symlink leads to instead" : "pick another path");
            free(e.path);
            return p->locs[i] != NULL ? recipe_err_at(err, p->locs[i]) : -1;
        }
        if (planner_add(p, &e, ORIGIN_PARENT, p->locs[i], err) < 0)
            return -1;
    }
    return 0;
}

/* Normalised modes and owners for what came from the root. */
static void
harden(struct planner *p)
{
    struct rootfs_summary *s = &p->plan->summary;

    for (size_t i = 0; i < p->plan->n; i++) {
        struct rootfs_entry *e = &p->plan->entries[i];
        uint32_t setid = e->mode & 06000;

        if (p->origins[i] != ORIGIN_ROOT && p->origins[i] != ORIGIN_PARENT)
            continue;
        e->uid = e->gid = 0;
        switch (e->type) {
        case ROOTFS_DIR:
            e->mode = 0755;
            break;
        case ROOTFS_SYMLINK:
            e->mode = 0777;
            break;
        case ROOTFS_FILE:
            e->mode = (e->mode & 0111) != 0 ? 0755 : 0644;
            if (setid != 0 && p->recipe->allow_setuid) {
                e->mode |= setid;
                strv_push(&s->setid_kept, xasprintf("/%s", e->path));
            } else if (setid != 0) {
                s->setid_cleared++;
            }
            break;
        }
    }
}

/* Debian's shells (the names its /etc/shells lists, and static builds) and others. */
static const char *const shells[] = {
    "ash",   "bash",   "bash-static", "busybox",     "csh",        "dash",  "fish", "ksh",
    "ksh93", "lksh",   "mksh",        "mksh-static", "posh",       "rbash", "rc",   "sh",
    "tcsh",  "toybox", "yash",        "zsh",         "zsh-static", NULL};

bool
rootfs_is_shell(const char *path)
{
    const char *base = strrchr(path, '/');

    base = base ? base + 1 : path;
    for (size_t i = 0; shells[i] != NULL; i++)
        if (strcmp(base, shells[i]) == 0)
            return true;
    return false;
}

/* Lists up to a few paths for a message: "'a', 'b' and 3 more". */
static void
list_paths(char *out, size_t size, char **paths)
{
    size_t n = strv_len(paths), used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && i < 5; i++) {
        int k = snprintf(out + used, size - used, "%s'%s'", i ? ", " : "", paths[i]);

        if (k < 0 || (size_t)k >= size - used)
            return;
        used += (size_t)k;
    }
    if (n > 5)
        snprintf(out + used, size - used, " and %zu more", n - 5);
}

static int
check_shells(struct planner *p, struct temper_err *err)
{
    struct rootfs_summary *s = &p->plan->summary;
    char list[512];

    for (size_t i = 0; i < p->plan->n; i++)
        if (p->plan->entries[i].type != ROOTFS_DIR && rootfs_is_shell(p->plan->entries[i].path))
            strv_push(&s->shells, xasprintf("/%s", p->plan->entries[i].path));
    if (s->shells == NULL || p->recipe->allow_shell)
        return 0;
    list_paths(list, sizeof(list), s->shells);
    return temper_err_set(err, TEMPER_E_POLICY, 0,
                          "the image would hold a shell: %s; take out what brings it, or set "
                          "hardening.allow-shell: true",
                          list);
}

/* OCI's name for a machine (the Go GOARCH names the image spec uses). */
static const char *
oci_architecture(const struct elf_object *o, const char **variant)
{
    bool is64 = o->elf_class == ELFCLASS64, le = o->data == ELFDATA2LSB;

    *variant = NULL;
    switch (o->machine) {
    case EM_X86_64:
        return is64 ? "amd64" : NULL;
    case EM_386:
        return "386";
    case EM_AARCH64:
        return is64 ? "arm64" : NULL;
    case EM_ARM:
        *variant = "v7";
        return "arm";
    case EM_PPC64:
        return is64 ? (le ? "ppc64le" : "ppc64") : NULL;
    case EM_S390:
        return is64 ? "s390x" : NULL;
    case EM_RISCV:
        return is64 ? "riscv64" : NULL;
    case EM_LOONGARCH:
        return is64 ? "loong64" : NULL;
    case EM_MIPS:
        return is64 ? (le ? "mips64le" : "mips64") : (le ? "mipsle" : "mips");
    default:
        return NULL;
    }
}

static const char *const architectures[] = {"386",     "amd64",   "arm",      "arm64",  "loong64",
                                            "mips",    "mips64",  "mips64le", "mipsle", "ppc64",
                                            "ppc64le", "riscv64", "s390x",    NULL};

static int
compare_elves(const void *a, const void *b)
{
    return strcmp(((const struct rootfs_elf *)a)->path, ((const struct rootfs_elf *)b)->path);
}

/*
 * One report per ELF object in the closures; the image's architecture from
 * their machine, which must be the same for all.
 */
static int
report_elves(struct planner *p, struct temper_err *err)
{
    struct rootfs_plan *plan = p->plan;
    struct rootfs_summary *s = &plan->summary;
    const struct elf_object *first = NULL;
    struct strmap seen = STRMAP_INIT;
    int rc = 0;

    for (size_t i = 0; i < p->nclosures && rc == 0; i++) {
        for (size_t k = 0; k < p->closures[i]->nloads && rc == 0; k++) {
            const struct elf_load *l = &p->closures[i]->loads[k];
            const struct elf_object *o = l->object;
            struct rootfs_elf *r;

            /* the image's /etc/ld.so.cache may list it (rootfs_ld_cache says) */
            if (l->by_cache_only && strmap_get(&seen, o->path) == NULL)
                strv_push(&p->by_cache_only, xstrdup(l->path));
            if (strmap_get(&seen, o->path) != NULL)
                continue;
            strmap_put(&seen, o->path, (void *)1);
            if (first == NULL) {
                first = o;
            } else if (o->machine != first->machine || o->elf_class != first->elf_class) {
                rc = temper_err_set(err, TEMPER_E_PARSE, 0,
                                    "the image mixes machines: '%s' is %s ELF%d but '%s' is %s "
                                    "ELF%d; an image runs one",
                                    first->path, elf_machine_name(first->machine),
                                    first->elf_class == ELFCLASS64 ? 64 : 32, o->path,
                                    elf_machine_name(o->machine),
                                    o->elf_class == ELFCLASS64 ? 64 : 32);
                break;
            }
            s->elves = xreallocarray(s->elves, s->nelves + 1, sizeof(*s->elves));
            r = &s->elves[s->nelves++];
            r->path = xstrdup(o->path);
            /* A program, not a library: libc.so.6 has a PT_INTERP too (it runs), but also a
             * DT_SONAME, which a program does not have. */
            r->is_executable = o->type == ET_EXEC || (o->interp != NULL && o->soname == NULL);
            r->is_pie = o->is_pie;
            r->has_full_relro = o->has_relro && o->has_bind_now;
            r->has_nx_stack = !o->has_exec_stack;
        }
    }
    strmap_release(&seen, NULL);
    if (rc < 0)
        return -1;
    if (s->nelves > 1)
        qsort(s->elves, s->nelves, sizeof(*s->elves), compare_elves);
    return first != NULL ? 0 : 1;
}

/* The architecture the root was given for, against the recipe's and the ELF files'. */
static int
check_root_architecture(struct planner *p, struct temper_err *err)
{
    const struct recipe_str *want = &p->recipe->architecture;
    const char *root = p->root_architecture;

    if (root == NULL)
        return 0;
    if (want->value != NULL && strcmp(want->value, root) != 0) {
        temper_err_set(err, TEMPER_E_USAGE, 0,
                       "the recipe's architecture is '%s', and the root is given for '%s': "
                       "give it for %s (--root %s=DIR), or change the recipe",
                       want->value, root, want->value, want->value);
        return recipe_err_at(err, &want->loc);
    }
    if (p->plan->architecture == NULL) {
        for (size_t i = 0; architectures[i] != NULL; i++)
            if (strcmp(root, architectures[i]) == 0)
                p->plan->architecture = architectures[i];
        if (p->plan->architecture == NULL)
            return temper_err_set(err, TEMPER_E_USAGE, 0,
                                  "the root is given for '%s', which temper does not know", root);
    } else if (strcmp(p->plan->architecture, root) != 0) {
        return temper_err_set(err, TEMPER_E_USAGE, 0,
                              "the root is given for %s, but its ELF files are for %s ('%s'): "
                              "give it for %s, or give the %s root",
                              root, p->plan->architecture, p->closures[0]->loads[0].object->path,
                              p->plan->architecture, root);
    }
    return 0;
}

static int
set_architecture(struct planner *p, bool has_elf, struct temper_err *err)
{
    const struct recipe_str *want = &p->recipe->architecture;
    const struct elf_object *o;

    if (!has_elf && want->value == NULL && p->root_architecture != NULL)
        return check_root_architecture(p, err);
    if (!has_elf && want->value == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "the image holds no ELF file to take its architecture from; say "
                              "which it is with 'architecture:' (amd64, arm64, ...)");
    if (!has_elf) {
        for (size_t i = 0; architectures[i] != NULL; i++)
            if (strcmp(want->value, architectures[i]) == 0)
                p->plan->architecture = architectures[i];
        if (p->plan->architecture != NULL)
            return check_root_architecture(p, err);
        temper_err_set(err, TEMPER_E_PARSE, 0,
                       "architecture '%s' is not one temper knows; use an OCI name such as "
                       "amd64, arm64, 386, arm, ppc64le, s390x or riscv64",
                       want->value);
        return recipe_err_at(err, &want->loc);
    }
    o = p->closures[0]->loads[0].object;
    p->plan->architecture = oci_architecture(o, &p->plan->variant);
    if (p->plan->architecture == NULL)
        return temper_err_set(err, TEMPER_E_PARSE, 0,
                              "'%s' is %s ELF%d, which temper cannot name "
                              "as an OCI architecture",
                              o->path, elf_machine_name(o->machine),
                              o->elf_class == ELFCLASS64 ? 64 : 32);
    if (want->value != NULL && strcmp(want->value, p->plan->architecture) != 0) {
        temper_err_set(err, TEMPER_E_PARSE, 0,
                       "architecture '%s' does not match the ELF files ('%s' is %s); remove "
                       "the key or fix it",
                       want->value, o->path, p->plan->architecture);
        return recipe_err_at(err, &want->loc);
    }
    return check_root_architecture(p, err);
}

/* hardening.require: every ELF file (PIE: every executable) has what the recipe demands. */
static int
check_required(struct planner *p, struct temper_err *err)
{
    static const struct {
        unsigned bit;
        const char *name, *what;
    } checks[] = {
        {RECIPE_REQUIRE_PIE, "pie", "not position-independent"},
        {RECIPE_REQUIRE_RELRO, "relro", "without full RELRO"},
        {RECIPE_REQUIRE_NX, "nx", "with an executable stack"},
    };
    const struct rootfs_summary *s = &p->plan->summary;

    for (size_t c = 0; c < sizeof(checks) / sizeof(checks[0]); c++) {
        char **offenders = NULL;
        char list[512];

        if ((p->recipe->require & checks[c].bit) == 0)
            continue;
        for (size_t i = 0; i < s->nelves; i++) {
            const struct rootfs_elf *r = &s->elves[i];
            bool ok = checks[c].bit == RECIPE_REQUIRE_PIE     ? !r->is_executable || r->is_pie
                      : checks[c].bit == RECIPE_REQUIRE_RELRO ? r->has_full_relro
                                                              : r->has_nx_stack;
            if (!ok)
                strv_push(&offenders, xstrdup(r->path));
        }
        if (offenders == NULL)
            continue;
        list_paths(list, sizeof(list), offenders);
        temper_err_set(err, TEMPER_E_POLICY, 0,
                       "hardening.require '%s': %zu ELF file%s %s: %s; rebuild them, or drop "
                       "'%s' from the list",
                       checks[c].name, strv_len(offenders), strv_len(offenders) == 1 ? "" : "s",
                       checks[c].what, list, checks[c].name);
        strv_free(offenders);
        return -1;
    }
    return 0;
}

/* Every closure's symbol versions, as ld.so checks them at start: a mixed root fails here, not
 * at the image's first start. */
static int
check_versions(struct planner *p, struct temper_err *err)
{
    for (size_t i = 0; i < p->nclosures; i++)
        if (elf_closure_check_versions(p->resolver, p->closures[i], err) < 0)
            return -1;
    return 0;
}

/* Whether `path` (absolute in the image) leads, through its symlinks, to an executable file. */
static bool
is_executable(const struct planner *p, const char *path)
{
    cleanup_free char *canon = planner_resolve(p, path);
    const struct rootfs_entry *e = canon != NULL ? planner_entry(p, canon) : NULL;

    return e != NULL && e->type == ROOTFS_FILE && (e->mode & 0111) != 0;
}

/*
 * The program a runtime starts, Entrypoint[0] (or Cmd[0] without an Entrypoint), must be an
 * executable file of the image, or the image fails at its first start: said now, at the
 * recipe's line. A name without '/' is looked up in the image's PATH, as runc looks it up (the
 * recipe's PATH, else the default one of the OCI runtimes); a relative path starts at the
 * working directory.
 */
static int
check_entrypoint(struct planner *p, struct temper_err *err)
{
    static const char default_path[] =
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    const struct recipe *r = p->recipe;
    const struct recipe_strlist *argv = r->entrypoint.n > 0 ? &r->entrypoint : &r->cmd;
    const char *what = r->entrypoint.n > 0 ? "entrypoint.command" : "cmd", *search = default_path;
    const struct recipe_str *prog;
    bool found = false;

    if (argv->n == 0)
        return 0;
    prog = &argv->items[0];
    if (strchr(prog->value, '/') != NULL) {
        cleanup_free char *path =
            prog->value[0] == '/'
                ? xstrdup(prog->value)
                : xasprintf("%s/%s", r->work_dir.value ? r->work_dir.value : "", prog->value);

        found = is_executable(p, path);
    } else {
        for (size_t i = 0; i < r->environment.n; i++)
            if (strcmp(r->environment.keys[i].value, "PATH") == 0)
                search = r->environment.values[i].value;
        for (const char *dir = search; !found && *dir != '\0';) {
            size_t len = strcspn(dir, ":");
            cleanup_free char *path = xasprintf("%.*s/%s", (int)len, dir, prog->value);

            found = len > 0 && dir[0] == '/' && is_executable(p, path);
            dir += len + (dir[len] == ':');
        }
    }
    if (found)
        return 0;
    temper_err_set(err, TEMPER_E_POLICY, 0,
                   "%s '%s' is not an executable file of the image%s: the image would fail at "
                   "its first start; take the program in (contents.binaries) or correct the name",
                   what, prog->value,
                   strchr(prog->value, '/') != NULL ? "" : " in any directory of its PATH");
    return recipe_err_at(err, &prog->loc);
}

static int
compare_entries(const void *a, const void *b)
{
    return strcmp(((const struct rootfs_entry *)a)->path, ((const struct rootfs_entry *)b)->path);
}

static void
summarise(struct rootfs_plan *plan)
{
    struct rootfs_summary *s = &plan->summary;

    s->entries = plan->n;
    for (size_t i = 0; i < plan->n; i++) {
        if (plan->entries[i].type != ROOTFS_FILE)
            continue;
        s->files++;
        s->bytes += plan->entries[i].size;
    }
}

int
rootfs_plan_build(const struct recipe *recipe, struct fs_root *root,
                  const struct rootfs_options *opts, struct rootfs_plan **out,
                  struct temper_err *err)
{
    struct planner p = {.recipe = recipe,
                        .root = root,
                        .jobs = opts != NULL ? opts->jobs : 1,
                        .owners = opts != NULL ? opts->owners : NULL,
                        .root_architecture = opts != NULL ? opts->root_architecture : NULL};
    struct elf_resolver_options ropts = {.allow_missing = false};
    int rc, has_elf;

    p.plan = xcalloc(1, sizeof(*p.plan));
    strmap_init(&p.index);
    rc = elf_resolver_new(root, &ropts, &p.resolver, err);
    if (rc == 0)
        rc = rootfs_collect(&p, err);
    if (rc == 0)
        rc = rootfs_dlopen(&p, err);
    if (rc == 0)
        rc = rootfs_ca_bundle(&p, err);
    if (rc == 0)
        rc = check_versions(&p, err);
    if (rc == 0)
        rc = rootfs_dpkg(&p, err);
    if (rc == 0)
        rc = add_generated(&p, err);
    if (rc == 0)
        rc = add_recipe_paths(&p, err);
    if (rc == 0)
        rc = add_parents(&p, err);
    if (rc == 0) {
        harden(&p);
        rc = check_shells(&p, err);
    }
    if (rc == 0) {
        has_elf = report_elves(&p, err);
        rc = has_elf < 0 ? -1 : set_architecture(&p, has_elf == 0, err);
    }
    if (rc == 0)
        rc = rootfs_ld_cache(&p, err);
    if (rc == 0)
        rc = check_required(&p, err);
    if (rc == 0)
        rc = check_entrypoint(&p, err);
    elf_resolver_free(p.resolver);
    strmap_release(&p.index, NULL);
    free(p.origins);
    free(p.locs);
    free(p.closures);
    strv_free(p.by_cache_only);
    if (rc < 0) {
        rootfs_plan_free(p.plan);
        return -1;
    }
    qsort(p.plan->entries, p.plan->n, sizeof(*p.plan->entries), compare_entries);
    summarise(p.plan);
    *out = p.plan;
    return 0;
}

void
rootfs_plan_free(struct rootfs_plan *plan)
{
    if (plan == NULL)
        return;
    for (size_t i = 0; i < plan->n; i++)
        entry_release(&plan->entries[i]);
    free(plan->entries);
    strv_free(plan->summary.setid_kept);
    strv_free(plan->summary.shells);
    strv_free(plan->summary.warnings);
    for (size_t i = 0; i < plan->summary.nopened; i++) {
        free(plan->summary.opened[i].path);
        free(plan->summary.opened[i].why);
    }
    free(plan->summary.opened);
    free(plan->summary.ca_bundle);
    for (size_t i = 0; i < plan->summary.nelves; i++)
        free(plan->summary.elves[i].path);
    free(plan->summary.elves);
    for (size_t i = 0; i < plan->npackages; i++) {
        struct rootfs_package *pk = &plan->packages[i];

        free(pk->name);
        free(pk->version);
        free(pk->architecture);
        free(pk->source);
        free(pk->source_version);
        free(pk->license_file);
    }
    free(plan->packages);
    free(plan);
}
