/* json_exact.h: cJSON parsing that keeps every number's source text.
 *
 * Owns:      sdf_json_doc, a parsed cJSON tree plus a side table mapping each number item to
 *            its literal text in the source, so integers above 2^53 (seeds up to 2^64-1) and
 *            floats such as 0.8700000000000001 can be re-read or re-emitted exactly. cJSON
 *            itself keeps only a double.
 * Errors:    text that is not one JSON value gives SDF_ERR_PARSE with line and column.
 * Ownership: the doc owns its tree and a copy of the number texts (sdf_json_doc_free); the
 *            source text is not referenced after parsing. Trees from sdf_json_dup_exact are NEW
 *            cJSON trees (cJSON_Delete) whose numbers are raw items holding the literal text.
 * Threads:   a doc is immutable after parsing; use from any thread. Note that cJSON records its
 *            last parse error in a process-wide variable; nothing here reads it.
 */
#ifndef SDF_JSON_EXACT_H
#define SDF_JSON_EXACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"

typedef struct cJSON cJSON;

typedef struct sdf_json_num {
    const cJSON *item;
    uint32_t     off, len; /* into doc->texts */
} sdf_json_num;

typedef struct sdf_json_doc {
    cJSON        *root;
    sdf_json_num *nums; /* sorted by item pointer */
    size_t        n_nums;
    char         *texts; /* NUL-separated number texts */
} sdf_json_doc;

/* Parses text[0..len) as exactly one JSON value (trailing whitespace allowed). `what` names the
 * input in messages ("workflow.json"); may be NULL. */
sdf_status sdf_json_parse_exact(const char *text, size_t len, const char *what, sdf_json_doc *doc,
                                sdf_error *err);
void sdf_json_doc_free(sdf_json_doc *doc);

/* The literal text of a number item of this doc (NUL-terminated), or NULL for other items. A
 * literal that is not strict JSON grammar (cJSON accepts "012", "1.") is returned as cJSON
 * read it, printed with 17 significant digits. */
const char *sdf_json_num_text(const sdf_json_doc *doc, const cJSON *item);

/* Exact integer value of a number item: true and *neg and *mag set when the literal is an integer
 * (no fraction, no exponent) of magnitude <= UINT64_MAX. */
bool sdf_json_num_integer(const sdf_json_doc *doc, const cJSON *item, bool *neg, uint64_t *mag);

/* Deep copy of item in which every number is a cJSON raw item holding its literal text. NULL
 * when out of memory. */
cJSON *sdf_json_dup_exact(const sdf_json_doc *doc, const cJSON *item);

/* Line (1-based) and column (1-based, bytes) of offset off in text. */
void sdf_json_line_col(const char *text, size_t off, int *line, int *col);

#endif
