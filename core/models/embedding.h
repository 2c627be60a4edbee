/* embedding.h: textual-inversion embeddings for `embedding:name` in prompts.
 *
 * Owns:      the lookup of a name in every models dir's embeddings/ folder and its
 *            sub-folders (the path must stay inside the folder; the exact name, then .safetensors,
 *            .pt, .bin), and the choice of tensor inside the file as ComfyUI's load_embed does:
 *            the family key ("clip_l" / "clip_h"), bundled `bundle_emb.*.string_to_param.*` or
 *            `bundle_emb.*.<key>` tensors concatenated, else the first tensor.
 * Formats:   .safetensors; .pt/.bin through the non-executing torch reader (io/ckpt.h).
 * Ownership: *out is a NEW f32 tensor [n, dim] (1-D files give [1, dim]).
 * Threads:   no shared state.
 */
#ifndef SDF_EMBEDDING_H
#define SDF_EMBEDDING_H

#include "../io/paths.h"
#include "../tensor/tensor.h"
#include "prompt.h"

/* *out = NULL (and a warning through warn) when the embedding is missing or unreadable, as
 * ComfyUI ignores it; errors only for out-of-memory. dim is the text encoder's width (used for
 * the list formats only). */
sdf_status sdf_embedding_load(const sdf_paths *paths, const char *name, const char *key,
                              int64_t dim, sdf_prompt_warn_fn warn, void *warn_ctx,
                              sdf_tensor **out, sdf_error *err);
/* Reads one embedding file (see above). */
sdf_status sdf_embedding_read_file(const char *path, const char *key, sdf_tensor **out,
                                   sdf_error *err);

#endif
