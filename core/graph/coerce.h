/* coerce.h: converting one JSON literal to an input's declared type, as ComfyUI does.
 *
 * Owns:      sdf_coerce_literal (INT = int(), FLOAT = float(), STRING = str(), BOOLEAN = bool(),
 *            COMBO: a string, membership checked by the caller) and small JSON text helpers.
 * Ownership: *out is a NEW value; strings returned are sdf_malloc'd.
 * Threads:   pure functions.
 */
#ifndef SDF_COERCE_H
#define SDF_COERCE_H

#include <stddef.h>

#include "nodedef.h"

typedef enum sdf_coerce_result {
    SDF_COERCE_OK,          /* *out set, nothing to say */
    SDF_COERCE_WARN,        /* *out set; msg says what changed */
    SDF_COERCE_ERROR,       /* conversion fails as in Python; msg says why */
    SDF_COERCE_RANGE,       /* integer outside -2^63 .. 2^64-1 */
    SDF_COERCE_NOT_IN_LIST, /* COMBO value that is not a string */
    SDF_COERCE_NEEDS_LINK,  /* a literal given to a LATENT/MODEL/... input */
    SDF_COERCE_NOMEM
} sdf_coerce_result;

sdf_coerce_result sdf_coerce_literal(const sdf_input_def *d, const cJSON *v, sdf_value **out,
                                     char *msg, size_t cap);

/* The JSON text of v, integers exact (sdf_malloc'd). */
char *sdf_json_value_text(const cJSON *v);
/* Python's repr() of a float ("8.0", "0.1", "1e+20" style differences aside). */
void sdf_py_float_repr(double d, char *buf, size_t cap);

#endif
