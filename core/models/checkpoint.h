/* checkpoint.h: opening Stable Diffusion checkpoints and detecting what they are.
 *
 * Owns:      family/configuration detection from key names and shapes (as ComfyUI's
 *            model_detection), splitting a checkpoint into MODEL / CLIP / VAE objects with
 *            canonical weight names (model.h), single-file .safetensors / .ckpt and diffusers
 *            folders. Unsupported families (SDXL, SD3, Flux, ...) fail with an error naming the
 *            detected family.
 * Ownership: outputs are NEW references (any out pointer may be NULL to skip that part).
 */
#ifndef SDF_CHECKPOINT_H
#define SDF_CHECKPOINT_H

#include "model.h"

typedef struct sdf_checkpoint_opts {
    bool fp32_text_encoder; /* keep CLIP weights f32 (ComfyUI rounds them to f16 by default) */
    const char *clip_vocab_dir; /* where vocab.json/merges.txt are; NULL: search defaults */
} sdf_checkpoint_opts;

/* __metadata__ keys of a self-contained checkpoint's own tokenizer (the demo model). When both are
 * present the loader copies them into the CLIP weight store as U8 tensors under these same
 * names (vocab.json text and merges.txt text, no terminating NUL) and leaves clip->vocab_dir
 * empty; the tokenizer reads them from there. */
#define SDF_CLIP_META_VOCAB "sdflow.clip_vocab_json"
#define SDF_CLIP_META_MERGES "sdflow.clip_merges"

/* Loads path: a single-file checkpoint (.safetensors, or torch .ckpt/.pt/.bin through the
 * non-executing reader in io/ckpt.h) or a diffusers folder (unet/, vae/, text_encoder/,
 * tokenizer/). Detection follows ComfyUI (spec §4.2, §10.6 items 3-6); metadata "ldm_config" /
 * "clip_config" override head counts and sizes. CLIP weights are rounded to f16 unless
 * opts->fp32_text_encoder. clip->vocab_dir: empty when the vocabulary is embedded (above), else
 * the diffusers tokenizer/ folder, else opts->clip_vocab_dir (the caller resolves --clip-vocab
 * and models/clip_vocab/). sdf_unet_config.transformer_depth: entry i = i-th input ResBlock;
 * transformer_depth_output: entry i = output_blocks.i (ComfyUI keeps that list reversed). */
sdf_status sdf_checkpoint_load(const char *path, const sdf_checkpoint_opts *opts, sdf_model **model,
                               sdf_clip **clip, sdf_vae **vae, sdf_error *err);

/* A standalone VAE file (VAELoader): original names with or without "first_stage_model.", or
 * diffusers VAE names. NEW reference in *vae. */
sdf_status sdf_vae_load_file(const char *path, sdf_vae **vae, sdf_error *err);
/* A standalone text encoder file (CLIPLoader "stable_diffusion"): HF names ("text_model.*",
 * optionally under "transformer."), a checkpoint's cond_stage_model.*, or OpenCLIP names
 * ("transformer.resblocks.*"). CLIP-H when it has a 23rd layer, else CLIP-L. */
sdf_status sdf_clip_load_file(const char *path, const sdf_checkpoint_opts *opts, sdf_clip **clip,
                              sdf_error *err);

/* Writes model + clip + vae as one original-layout single-file .safetensors (CheckpointSave):
 * model.diffusion_model.* and first_stage_model.* as F32 (ComfyUI's CPU dtypes), the text
 * encoder in its stored dtype under cond_stage_model.transformer.* (SD1) or converted back to
 * OpenCLIP cond_stage_model.model.* (SD2: q/k/v joined into in_proj, text_projection
 * transposed back). Any of the three may be NULL. meta: NULL-terminated key/value pairs added
 * to __metadata__ (may be NULL). Tensors are streamed one at a time. */
sdf_status sdf_checkpoint_save(const char *path, sdf_model *model, sdf_clip *clip, sdf_vae *vae,
                               const char *const *meta, sdf_error *err);

#endif
