/* clip.h: the SD1 / SD2 text encoders over an sdf_clip, and ComfyUI's text conditioning.
 *
 * Owns:      the forward pass of CLIP ViT-L/14 (SD1: quick-GELU) and OpenCLIP ViT-H/14 (SD2:
 *            GELU, penultimate layer by default, text_projection on the pooled output) as
 *            configured by sdf_clip.cfg, with weights under HF names "text_model.*" (model.h);
 *            clip skip with ComfyUI's semantics (spec §4.5); prompt encoding with weights,
 *            embeddings and long prompts (spec §4.4, §10.6 items 8-10); the lazily loaded
 *            tokenizer shared by clones.
 * Numerics:  f32; matrix products through core/kernels (OpenBLAS sgemm), split on the caller's
 *            pool in chunks that depend only on the shapes (same bits for any thread count);
 *            LayerNorm eps 1e-5; causal mask only (padding is attended, as ComfyUI SD1/SD2).
 * Ownership: encode functions return NEW tensors. The prepared layer table lives in clip->impl
 *            (freed with the clip); the tokenizer in clip->tokenizer (shared, refcounted).
 * Threads:   encodes on one sdf_clip may run concurrently; lazy set-up is under clip->impl_mu.
 */
#ifndef SDF_CLIP_H
#define SDF_CLIP_H

#include "../base/threadpool.h"
#include "../io/paths.h"
#include "model.h"
#include "prompt.h"
#include "tokenizer.h"

/* Standard configurations (ComfyUI's sd1_clip_config.json / sd2_clip_config.json). */
void sdf_clip_config_sd1(sdf_clip_config *c);
void sdf_clip_config_sd2(sdf_clip_config *c);

/* The clip's tokenizer, loading it on first use from (in order) the vocabulary embedded in the
 * weight store (checkpoint.h SDF_CLIP_META_VOCAB / _MERGES), clip->vocab_dir,
 * paths->clip_vocab_dir, then <models dir>/clip_vocab/ for each models dir. A miss names every
 * place looked. Borrowed: valid while the clip lives. paths may be NULL. */
sdf_status sdf_clip_tokenizer(sdf_clip *clip, const sdf_paths *paths, sdf_tokenizer **out,
                              sdf_error *err);
/* Installs a tokenizer (e.g. built from checkpoint metadata) on a clip that has none yet; takes
 * ownership of t (freed here when the clip already has one). */
void sdf_clip_set_tokenizer(sdf_clip *clip, sdf_tokenizer *t);

/* Effective hidden layer for an encode: 0 = last; k < 0 = output of layer num_layers + k with
 * the final LayerNorm applied. clip->layer_idx (CLIPSetLastLayer) overrides the family default;
 * |k| > num_layers falls back to last. */
int sdf_clip_effective_layer(const sdf_clip *clip);

/* Runs n_seq sequences of cfg.positions token ids on `pool` (may be NULL: the calling thread,
 * with whatever threads OpenBLAS has). See sdf_clip_forward_ids for the outputs. */
sdf_status sdf_clip_forward(sdf_clip *clip, sdf_pool *pool, const int32_t *ids, int n_seq,
                            int layer, float *out_hidden, float *out_pooled, sdf_error *err);
/* Runs n_seq sequences of cfg.positions token ids. out_hidden [n_seq, P, D] at `layer`
 * (as sdf_clip_effective_layer returns); out_pooled (may be NULL) [n_seq, D]: the last layer's
 * final-LayerNorm output at the first end token, unprojected. */
sdf_status sdf_clip_forward_ids(sdf_clip *clip, const int32_t *ids, int n_seq, int layer,
                                float *out_hidden, float *out_pooled, sdf_error *err);

typedef struct sdf_clip_encode_opts {
    const sdf_paths   *paths; /* vocabulary search and models/embeddings; may be NULL */
    sdf_pool          *pool;  /* compute threads (sdf_call_pool); may be NULL */
    sdf_prompt_warn_fn warn;  /* may be NULL */
    void              *warn_ctx;
} sdf_clip_encode_opts;

/* Encodes weighted token windows as ComfyUI's encode_token_weights: cond [1, P*K, D], pooled
 * [1, D'] (SD2: projected). */
sdf_status sdf_clip_encode_tokens(sdf_clip *clip, const sdf_prompt_tokens *tok,
                                  const sdf_clip_encode_opts *o, sdf_tensor **cond,
                                  sdf_tensor **pooled, sdf_error *err);
/* CLIPTextEncode: tokenize (weights, embeddings, chunking) and encode. */
sdf_status sdf_clip_encode_text(sdf_clip *clip, const char *text, const sdf_clip_encode_opts *o,
                                sdf_tensor **cond, sdf_tensor **pooled, sdf_error *err);

#endif
