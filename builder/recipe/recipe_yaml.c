/*
 * One recipe file's bytes to a tree of nodes, through libyaml's event API.
 *
 * The event API (not yaml_parser_load) is used so that every rule is applied
 * while parsing, before anything large is built: an alias is refused where it
 * appears (so a "billion laughs" document never expands), nesting and the
 * node count are capped, and a duplicate key is caught with both locations.
 * Anchors and explicit tags are refused too: the vocabulary needs neither,
 * and a value that means something other than its text (!!binary, a merge
 * key) would be read wrongly without a word.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <yaml.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/strmap.h"
#include "base/xalloc.h"
#include "recipe-internal.h"

struct yparser {
    yaml_parser_t parser;
    yaml_event_t event;
    bool has_event;
    const char *text;
    size_t len;
    const char *file;
    size_t *nodes_left;
};

void
ynode_free(struct ynode *node)
{
    if (node == NULL)
        return;
    for (size_t i = 0; i < node->n; i++) {
        if (node->keys != NULL)
            ynode_free(node->keys[i]);
        if (node->items != NULL)
            ynode_free(node->items[i]);
    }
    free(node->keys);
    free(node->items);
    free(node->text);
    free(node);
}

const char *
ynode_kind_name(const struct ynode *node)
{
    switch (node->kind) {
    case YNODE_SCALAR:
        return node->is_null ? "nothing" : "a string";
    case YNODE_LIST:
        return "a list";
    case YNODE_MAP:
        return "a map";
    }
    return "a node";
}

static unsigned
clamp_uint(size_t v)
{
    return v >= UINT_MAX ? UINT_MAX : (unsigned)v;
}

static struct recipe_loc
mark_loc(const struct yparser *p, yaml_mark_t mark)
{
    struct recipe_loc loc = {p->file, clamp_uint(mark.line + 1), clamp_uint(mark.column + 1)};

    return loc;
}

/* Line and column of a byte offset, for reader errors (libyaml gives no mark for those). */
static struct recipe_loc
offset_loc(const struct yparser *p, size_t offset)
{
    size_t line = 1, column = 1;

    for (size_t i = 0; i < offset && i < p->len; i++) {
        if (p->text[i] == '\n') {
            line++;
            column = 1;
        } else if (((unsigned char)p->text[i] & 0xC0) != 0x80) {
            column++; /* columns count characters, as libyaml's marks do */
        }
    }
    struct recipe_loc loc = {p->file, clamp_uint(line), clamp_uint(column)};
    return loc;
}

/* Maps libyaml's error to "FILE:LINE:COLUMN: invalid YAML: problem (context)". */
static int
yaml_error(const struct yparser *p, struct temper_err *err)
{
    const yaml_parser_t *y = &p->parser;
    const char *problem = y->problem ? y->problem : "unknown error";
    struct recipe_loc loc;

    switch (y->error) {
    case YAML_MEMORY_ERROR:
        return temper_err_set(err, TEMPER_E_IO, 0, "%s: libyaml ran out of memory", p->file);
    case YAML_READER_ERROR:
        loc = offset_loc(p, y->problem_offset);
        if (y->problem_value >= 0)
            return recipe_fail(err, &loc, "invalid YAML: %s (byte 0x%02x): save the file as UTF-8",
                               problem, (unsigned)y->problem_value & 0xFFu);
        return recipe_fail(err, &loc, "invalid YAML: %s", problem);
    case YAML_NO_ERROR:
    case YAML_SCANNER_ERROR:
    case YAML_PARSER_ERROR:
    case YAML_COMPOSER_ERROR:
    case YAML_WRITER_ERROR:
    case YAML_EMITTER_ERROR:
        break;
    }
    loc = mark_loc(p, y->problem_mark);
    if (y->context != NULL)
        return recipe_fail(err, &loc, "invalid YAML: %s (%s at line %u column %u)", problem,
                           y->context, clamp_uint(y->context_mark.line + 1),
                           clamp_uint(y->context_mark.column + 1));
    return recipe_fail(err, &loc, "invalid YAML: %s", problem);
}

/* Replaces the current event with the next one. */
static int
next_event(struct yparser *p, struct temper_err *err)
{
    if (p->has_event) {
        yaml_event_delete(&p->event);
        p->has_event = false;
    }
    if (!yaml_parser_parse(&p->parser, &p->event))
        return yaml_error(p, err);
    p->has_event = true;
    return 0;
}

static struct recipe_loc
event_loc(const struct yparser *p)
{
    return mark_loc(p, p->event.start_mark);
}

/* Refuses anchors and explicit tags on the node starting at the current event. */
static int
check_decorations(const struct yparser *p, const yaml_char_t *anchor, const yaml_char_t *tag,
                  struct temper_err *err)
{
    struct recipe_loc loc = event_loc(p);
    char shown[RECIPE_SHOW_MAX];

    if (anchor != NULL)
        return recipe_fail(
            err, &loc, "anchor '&%s' is not supported (nor are aliases): write the value out",
            recipe_show(shown, sizeof(shown), (const char *)anchor, strlen((const char *)anchor)));
    if (tag != NULL)
        return recipe_fail(
            err, &loc, "tag '%s' is not supported: remove it, recipe values are plain text",
            recipe_show(shown, sizeof(shown), (const char *)tag, strlen((const char *)tag)));
    return 0;
}

static bool
is_null_text(const char *s, size_t len)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
        if (len == strlen(nulls[i]) && memcmp(s, nulls[i], len) == 0)
            return true;
    }
    return false;
}

static struct ynode *
new_node(const struct yparser *p, enum ynode_kind kind)
{
    struct ynode *node = xcalloc(1, sizeof(*node));

    node->kind = kind;
    node->loc = event_loc(p);
    return node;
}

static int parse_node(struct yparser *p, unsigned depth, struct ynode **out,
                      struct temper_err *err);

static int
parse_scalar(struct yparser *p, struct ynode **out, struct temper_err *err)
{
    const yaml_event_t *e = &p->event;
    struct ynode *node;

    if (check_decorations(p, e->data.scalar.anchor, e->data.scalar.tag, err) < 0)
        return -1;
    node = new_node(p, YNODE_SCALAR);
    node->len = e->data.scalar.length;
    node->text = xmalloc(node->len + 1);
    memcpy(node->text, e->data.scalar.value, node->len);
    node->text[node->len] = '\0';
    node->is_plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    node->is_null = node->is_plain && is_null_text(node->text, node->len);
    *out = node;
    return 0;
}

static int
parse_list(struct yparser *p, unsigned depth, struct ynode **out, struct temper_err *err)
{
    cleanup_ynode struct ynode *node = NULL;

    if (check_decorations(p, p->event.data.sequence_start.anchor, p->event.data.sequence_start.tag,
                          err) < 0)
        return -1;
    node = new_node(p, YNODE_LIST);
    for (;;) {
        struct ynode *item = NULL;

        if (next_event(p, err) < 0)
            return -1;
        if (p->event.type == YAML_SEQUENCE_END_EVENT)
            break;
        if (parse_node(p, depth + 1, &item, err) < 0)
            return -1;
        node->items = recipe_grow(node->items, node->n, sizeof(*node->items));
        node->items[node->n++] = item;
    }
    *out = steal_pointer(&node);
    return 0;
}

/* Reads one key of a map; refuses what is not a non-empty string, or a repeated key. */
static int
parse_key(struct yparser *p, unsigned depth, struct strmap *seen, struct ynode **out,
          struct temper_err *err)
{
    cleanup_ynode struct ynode *key = NULL;
    char shown[RECIPE_SHOW_MAX];
    const struct ynode *first;

    if (parse_node(p, depth + 1, &key, err) < 0)
        return -1;
    if (key->kind != YNODE_SCALAR)
        return recipe_fail(err, &key->loc, "a key must be a string, found %s",
                           ynode_kind_name(key));
    if (key->is_null)
        return recipe_fail(err, &key->loc, "a key is empty: write a name before the ':'");
    if (memchr(key->text, '\0', key->len) != NULL)
        return recipe_fail(err, &key->loc, "key '%s' contains a NUL byte",
                           recipe_show(shown, sizeof(shown), key->text, key->len));
    first = strmap_get(seen, key->text);
    if (first != NULL)
        return recipe_fail(err, &key->loc, "duplicate key '%s' (first at line %u column %u)",
                           recipe_show(shown, sizeof(shown), key->text, key->len), first->loc.line,
                           first->loc.column);
    strmap_put(seen, key->text, key);
    *out = steal_pointer(&key);
    return 0;
}

static int
parse_map(struct yparser *p, unsigned depth, struct ynode **out, struct temper_err *err)
{
    cleanup_ynode struct ynode *node = NULL;
    struct strmap seen = STRMAP_INIT;
    int rc = -1;

    if (check_decorations(p, p->event.data.mapping_start.anchor, p->event.data.mapping_start.tag,
                          err) < 0)
        return -1;
    node = new_node(p, YNODE_MAP);
    for (;;) {
        struct ynode *key = NULL, *value = NULL;

        if (next_event(p, err) < 0)
            goto out;
        if (p->event.type == YAML_MAPPING_END_EVENT)
            break;
        if (parse_key(p, depth, &seen, &key, err) < 0)
            goto out;
        node->keys = recipe_grow(node->keys, node->n, sizeof(*node->keys));
        node->items = recipe_grow(node->items, node->n, sizeof(*node->items));
        node->keys[node->n] = key;
        node->items[node->n] = NULL;
        node->n++;
        if (next_event(p, err) < 0 || parse_node(p, depth + 1, &value, err) < 0)
            goto out;
        node->items[node->n - 1] = value;
    }
    *out = steal_pointer(&node);
    rc = 0;
out:
    strmap_release(&seen, NULL);
    return rc;
}

/* Builds the node whose first event is the current one. */
static int
parse_node(struct yparser *p, unsigned depth, struct ynode **out, struct temper_err *err)
{
    struct recipe_loc loc = event_loc(p);
    char shown[RECIPE_SHOW_MAX];

    if (p->event.type == YAML_ALIAS_EVENT) {
        const char *anchor = (const char *)p->event.data.alias.anchor;

        return recipe_fail(err, &loc, "alias '*%s' is not supported: write the value out",
                           recipe_show(shown, sizeof(shown), anchor, strlen(anchor)));
    }
    if (depth > RECIPE_MAX_NESTING &&
        (p->event.type == YAML_SEQUENCE_START_EVENT || p->event.type == YAML_MAPPING_START_EVENT))
        return recipe_fail_code(err, TEMPER_E_LIMIT, &loc,
                                "lists and maps nested more than %d deep", RECIPE_MAX_NESTING);
    if (*p->nodes_left == 0)
        return recipe_fail_code(err, TEMPER_E_LIMIT, &loc,
                                "more than %d YAML nodes in the recipe and its includes",
                                RECIPE_MAX_NODES);
    (*p->nodes_left)--;
    switch (p->event.type) {
    case YAML_SCALAR_EVENT:
        return parse_scalar(p, out, err);
    case YAML_SEQUENCE_START_EVENT:
        return parse_list(p, depth, out, err);
    case YAML_MAPPING_START_EVENT:
        return parse_map(p, depth, out, err);
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_STREAM_END_EVENT:
    case YAML_DOCUMENT_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
    case YAML_ALIAS_EVENT:
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        break;
    }
    return recipe_fail(err, &loc, "invalid YAML: unexpected event %d", (int)p->event.type);
}

/* Expects the current event to be of `type` (libyaml guarantees the order of events). */
static int
expect(struct yparser *p, yaml_event_type_t type, struct temper_err *err)
{
    struct recipe_loc loc = event_loc(p);

    if (p->event.type != type)
        return recipe_fail(err, &loc, "invalid YAML: unexpected event %d", (int)p->event.type);
    return 0;
}

static int
parse_stream(struct yparser *p, struct ynode **out, struct temper_err *err)
{
    cleanup_ynode struct ynode *root = NULL;
    struct recipe_loc loc;

    if (next_event(p, err) < 0 || expect(p, YAML_STREAM_START_EVENT, err) < 0)
        return -1;
    if (next_event(p, err) < 0)
        return -1;
    if (p->event.type == YAML_STREAM_END_EVENT) {
        *out = NULL;
        return 0;
    }
    if (expect(p, YAML_DOCUMENT_START_EVENT, err) < 0 || next_event(p, err) < 0 ||
        parse_node(p, 1, &root, err) < 0)
        return -1;
    if (next_event(p, err) < 0 || expect(p, YAML_DOCUMENT_END_EVENT, err) < 0)
        return -1;
    if (next_event(p, err) < 0)
        return -1;
    if (p->event.type == YAML_DOCUMENT_START_EVENT) {
        loc = event_loc(p);
        return recipe_fail(err, &loc,
                           "a second YAML document: a recipe is one document, remove this '---' "
                           "and what follows (or use include)");
    }
    if (expect(p, YAML_STREAM_END_EVENT, err) < 0)
        return -1;
    *out = steal_pointer(&root);
    return 0;
}

int
recipe_yaml_parse(const char *text, size_t len, const char *file, size_t *nodes_left,
                  struct ynode **out, struct temper_err *err)
{
    struct yparser p = {.text = text, .len = len, .file = file, .nodes_left = nodes_left};
    int rc;

    if (!yaml_parser_initialize(&p.parser))
        return temper_err_set(err, TEMPER_E_IO, 0, "%s: cannot initialise libyaml", file);
    yaml_parser_set_input_string(&p.parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&p.parser, YAML_UTF8_ENCODING);
    rc = parse_stream(&p, out, err);
    if (p.has_event)
        yaml_event_delete(&p.event);
    yaml_parser_delete(&p.parser);
    return rc;
}
