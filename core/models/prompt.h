/* prompt.h: ComfyUI prompt weighting and 77-token chunking (comfy/sd1_clip.py semantics).
 *
 * Owns:      the weight parser (`(text:1.2)`, `(text)` = x1.1, nesting multiplies, `\(` `\)`
 *            escapes; spec §4.4 and §10.6 item 8), Python float() parsing of weights, the
 *            `embedding:name` splitting (§10.6 item 9) and the chunking of weighted token groups
 *            into windows of max_length (77) tokens with start/end/pad tokens per family.
 * Ownership: results are sdf_malloc'd; free with the matching *_free. Embedding vectors are
 *            NEW references held by the result.
 * Threads:   pure functions; callbacks run on the calling thread.
 */
#ifndef SDF_PROMPT_H
#define SDF_PROMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"
#include "../tensor/tensor.h"
#include "tokenizer.h"

/* Python float(s[0..len)) for UTF-8 text: surrounding Unicode whitespace, sign, Unicode decimal
 * digits, '_' only between digits, fraction/exponent, inf/infinity/nan in any case. */
bool sdf_py_float(const char *s, size_t len, double *out);

/* One weighted segment of a prompt, escapes already resolved to plain parentheses. */
typedef struct sdf_prompt_segment {
    char  *text;
    double weight;
} sdf_prompt_segment;

/* ComfyUI's token_weights(escape_important(text), 1.0) with unescaped segment texts. */
sdf_status sdf_prompt_parse_weights(const char *text, sdf_prompt_segment **segs, size_t *n,
                                    sdf_error *err);
void       sdf_prompt_segments_free(sdf_prompt_segment *segs, size_t n);

/* Looks up `embedding:name`: *out = NEW f32 tensor [n, dim] (a 1-D file tensor becomes [1, dim]),
 * or NULL when there is no such embedding (not an error). */
typedef sdf_status (*sdf_embed_lookup_fn)(void *ctx, const char *name, sdf_tensor **out,
                                          sdf_error *err);
typedef void (*sdf_prompt_warn_fn)(void *ctx, const char *msg);

typedef struct sdf_prompt_opts {
    int                 max_length;  /* 77 */
    int32_t             start_token; /* 49406 */
    int32_t             end_token;   /* 49407 */
    int32_t             pad_token;   /* SD1 49407, SD2 0 */
    sdf_embed_lookup_fn lookup;      /* NULL: "embedding:" is plain text */
    void               *lookup_ctx;
    sdf_prompt_warn_fn  warn; /* may be NULL */
    void               *warn_ctx;
} sdf_prompt_opts;

/* A token slot: an id, or (id < 0) row `row` of embedding tensor `vec`. */
typedef struct sdf_prompt_slot {
    int32_t     id;
    sdf_tensor *vec; /* borrowed from the result's list when id < 0 */
    int64_t     row;
    double      weight;
} sdf_prompt_slot;

typedef struct sdf_prompt_tokens {
    int              n_chunks;
    int              max_length;
    sdf_prompt_slot *slots; /* n_chunks * max_length */
    sdf_tensor     **vecs;  /* embedding tensors referenced by slots (owned) */
    int              n_vecs;
} sdf_prompt_tokens;

/* SDTokenizer.tokenize_with_weights. */
sdf_status sdf_prompt_tokenize(sdf_tokenizer *tok, const char *text, const sdf_prompt_opts *o,
                               sdf_prompt_tokens *out, sdf_error *err);
void       sdf_prompt_tokens_free(sdf_prompt_tokens *t);

#endif
