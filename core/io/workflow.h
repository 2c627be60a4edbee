/* workflow.h: reading workflow JSON exactly (ComfyUI API format, spec §1.1).
 *
 * Owns:      sdf_json_parse, a cJSON parse that (1) reports failures with line and column and
 *            (2) keeps every number's source text, so integers are exact over the whole
 *            -2^63 .. 2^64-1 range (cJSON alone stores doubles, which lose seeds above 2^53).
 *            sdf_json_number_int reads such an integer back. sdf_workflow_load reads a workflow
 *            file (API JSON; UI JSON and PNG text chunks once their readers exist) into API text.
 * Numbers:   in a tree from sdf_json_parse, each cJSON_Number item carries its literal text in
 *            `valuestring` (allocated with cJSON's allocator; cJSON_Delete and cJSON_Duplicate
 *            handle it). Trees built by sdf_json_int_item use plain numbers up to 2^53 and a
 *            cJSON_Raw item (the exact decimal text) beyond, so cJSON_Print stays exact.
 * Ownership: *out trees are NEW (cJSON_Delete). Strings out are sdf_malloc'd (sdf_free).
 * Threads:   no shared state (cJSON's global error pointer is never used).
 */
#ifndef SDF_WORKFLOW_H
#define SDF_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"

typedef struct cJSON cJSON;

/* Parses len bytes of JSON. `name` (a file name) goes into err->path. On a syntax error:
 * SDF_ERR_PARSE with "line L, column C: ..." (1-based; the column counts bytes). Trailing
 * garbage after the value is an error. *out untouched on error. */
sdf_status sdf_json_parse(const char *text, size_t len, const char *name, cJSON **out,
                          sdf_error *err);

typedef enum sdf_json_num_kind {
    SDF_JNUM_NOT_NUMBER, /* item is not a number */
    SDF_JNUM_INT,        /* an integer literal that fits: *i (and *is_u64 above INT64_MAX) */
    SDF_JNUM_FLOAT,      /* a literal with '.', 'e' or 'E' (Python's json gives a float) */
    SDF_JNUM_INT_RANGE   /* an integer literal outside -2^63 .. 2^64-1 */
} sdf_json_num_kind;

/* Classifies a number item (from sdf_json_parse, a cJSON_Raw integer, or a plain cJSON number,
 * which counts as INT when its double is integral and below 2^63 in magnitude). */
sdf_json_num_kind sdf_json_number_int(const cJSON *item, int64_t *i, bool *is_u64);

/* Parses a decimal integer as Python's int() does for strings: surrounding whitespace, an
 * optional sign, digits with single underscores between them. false when not an integer or
 * outside -2^63 .. 2^64-1 (*out_of_range tells which; may be NULL). */
bool sdf_parse_int_text(const char *s, int64_t *i, bool *is_u64, bool *out_of_range);

/* A number item holding an exact integer (plain number up to 2^53, else cJSON_Raw). */
cJSON *sdf_json_int_item(int64_t i, bool is_u64);
/* Turns number items of a parsed tree whose source text is an integer literal into cJSON_Raw
 * items holding that text, so cJSON_Print writes every digit. In place. */
void sdf_json_exact_ints(cJSON *tree);
/* Decimal text of an integer value (buf >= 24 bytes). */
void sdf_int_text(int64_t i, bool is_u64, char *buf, size_t cap);

/* ---- workflow files ---- */

/* Converts UI-format text to API text (set by the runtime when the converter is available). */
typedef struct sdf_workflow_src {
    char *api_text;   /* API-format JSON text (sdf_malloc'd) */
    char *ui_text;    /* the original UI workflow text when the input was UI format, else NULL */
    char *origin;     /* "json-api", "json-ui", "png-prompt", "png-workflow" (static, not freed) */
} sdf_workflow_src;

/* Reads path: JSON in API or UI format, or a PNG with a "prompt" (preferred) or "workflow" text
 * chunk. UI text is converted with the registry given. warn receives conversion warnings.
 * On error nothing is allocated. */
typedef struct sdf_registry sdf_registry;
sdf_status sdf_workflow_load(const char *path, const sdf_registry *reg,
                             void (*warn)(void *user, const char *msg), void *user,
                             sdf_workflow_src *out, sdf_error *err);
/* Same from memory (text of a JSON file); name is used in messages. */
sdf_status sdf_workflow_from_text(const char *text, size_t len, const char *name,
                                  const sdf_registry *reg,
                                  void (*warn)(void *user, const char *msg), void *user,
                                  sdf_workflow_src *out, sdf_error *err);
void sdf_workflow_src_deinit(sdf_workflow_src *s);

/* Reads a whole file into a NUL-terminated sdf_malloc'd buffer (limit: 256 MiB). */
sdf_status sdf_read_file(const char *path, char **data, size_t *len, sdf_error *err);

#endif
