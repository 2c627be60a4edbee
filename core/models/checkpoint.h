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

sdf_status sdf_checkpoint_load(const char *path, const sdf_checkpoint_opts *opts, sdf_model **model,
                               sdf_clip **clip, sdf_vae **vae, sdf_error *err);

#endif
