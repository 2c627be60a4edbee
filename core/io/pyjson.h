/* pyjson.h: JSON text exactly as Python's json.dumps(obj) writes it (ComfyUI's PNG "prompt"
 * chunk and .latent metadata): ", " and ": " separators, ensure_ascii (non-ASCII as \uXXXX with
 * surrogate pairs), floats in repr's shortest round-trip form (1.5, 8.0 only when the JSON number
 * was not integral, 1e-05, 1e+16), integers as integers, cJSON_Raw items copied verbatim (the
 * engine keeps integers above 2^53 exact that way).
 * Ownership: returns an sdf_malloc'd string (NULL on OOM). Threads: pure.
 */
#ifndef SDF_PYJSON_H
#define SDF_PYJSON_H

typedef struct cJSON cJSON;

char *sdf_json_dumps_py(const cJSON *item);

#endif
