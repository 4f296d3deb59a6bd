/*
 * diff-internal: what the files of the diff module share. Not for other
 * modules.
 *
 * diff_layer.c reads a layer's entries; diff_image.c reads an image's
 * manifest and config and sums up its hardening; diff_compare.c compares
 * two images' documents and pairs their layers; diff_entries.c compares the
 * entries of two layers; diff_out.c makes the text line and the JSON object
 * of each difference.
 */
#ifndef TEMPER_DIFF_INTERNAL_H
#define TEMPER_DIFF_INTERNAL_H

#include "base/cleanup.h"
#include "image_diff.h"

/* "./etc//x/" -> "/etc/x" (malloc'd). */
char *diff_path_normalise(const char *p);

/* A comparison being made: the differences so far and the room for them. */
struct diff_out {
    struct image_diff *diff;
    size_t cap;
    size_t bytes; /* of the differences kept: lines and JSON text */
    bool full;    /* one did not fit: later ones are counted, not kept */
};

/*
 * Adds a difference "<where>: [<path>: ]<field>: <a_text> -> <b_text>" with
 * JSON {"where", "path", "field", "a", "b"} (`a` and `b` stolen; NULL is
 * JSON null). A NULL text is "absent". `path` is printed through
 * temper_printable; `field` and the texts must be printable already.
 */
void diff_emit(struct diff_out *o, const char *where, const char *path, const char *field,
               const char *a_text, const char *b_text, json_t *a, json_t *b);
/* Adds a difference given as a whole line (printable) and its JSON object (stolen). */
void diff_emit_line(struct diff_out *o, char *line, json_t *json);

/* j, or an abort when it is NULL: jansson fails only when out of memory, or when given a
 * string that is not UTF-8, which callers rule out. */
json_t *diff_must(json_t *j);
/* A JSON value as compact, ASCII-only JSON text with sorted keys (malloc'd); cut as diff_quote
 * cuts. */
char *diff_json_text(const json_t *value);
/* image_quote into a malloc'd string of the right size; a value over DIFF_VALUE_SHOWN_BYTES is
 * cut there and followed by "... (N bytes, sha256:...)" of the whole value. */
char *diff_quote(const char *s, size_t len);
/* image_json_bytes of a value; one over DIFF_VALUE_SHOWN_BYTES is {"head": its first bytes,
 * "size", "sha256"}. */
json_t *diff_json_value(const char *s, size_t len);
/* A deep copy of a JSON value (NULL for NULL); one whose compact text is over
 * DIFF_VALUE_SHOWN_BYTES is diff_json_value of that text. */
json_t *diff_json_copy(const json_t *value);

/* Compares the entries of two layers; differences go to `o` under `where` ("layer 1"). */
void diff_entries(struct diff_out *o, const char *where, const struct image_layer_entries *a,
                  const struct image_layer_entries *b);

/* Test seam: the path bytes the view has compared so far to apply whiteouts and find hard
 * links' targets (each binary-search step counted as its key's length), so that a test can
 * show the work is linear in the paths' bytes. */
uint64_t image_hardening_view_work(const struct image_hardening_view *v);

#endif
