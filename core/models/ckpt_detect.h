/* ckpt_detect.h: model-family and configuration detection from checkpoint key names/shapes.
 *
 * Owns:      ComfyUI's model_detection rules over a weight store holding a checkpoint under
 *            its ORIGINAL names (model.diffusion_model.*, first_stage_model.*, cond_stage_model.*):
 *            UNet prefix and configuration, SD1/SD2 family, v-prediction (SD2 norm1.bias std),
 *            VAE configuration from keys, CLIP configuration, the __metadata__ overrides of spec
 *            §10.6 item 3 (ldm_config / clip_config JSON), and naming of unsupported families.
 * Ownership: pure functions over borrowed stores; nothing is retained.
 * Threads:   reentrant.
 */
#ifndef SDF_CKPT_DETECT_H
#define SDF_CKPT_DETECT_H

#include "model.h"

/* Sorted view of a store's names for prefix queries (valid while the store is unchanged). */
typedef struct sdf_keyset {
    sdf_wstore  *w;
    const char **names;
    size_t       n;
} sdf_keyset;

sdf_status sdf_keyset_init(sdf_keyset *ks, sdf_wstore *w, sdf_error *err);
void       sdf_keyset_free(sdf_keyset *ks);
bool       sdf_keyset_has(const sdf_keyset *ks, const char *name);
bool       sdf_keyset_has_prefix(const sdf_keyset *ks, const char *prefix);
size_t     sdf_keyset_count_prefix(const sdf_keyset *ks, const char *prefix);
/* Number of consecutive i = 0, 1, ... for which some key starts with printf(fmt, i). */
int        sdf_keyset_count_blocks(const sdf_keyset *ks, const char *fmt);
/* Shape of a key: ndim (-1 when absent) and dims. */
int        sdf_keyset_shape(const sdf_keyset *ks, const char *name, int64_t shape[SDF_MAX_DIMS]);

/* The UNet key prefix ComfyUI picks ("model.diffusion_model." for SD checkpoints). */
const char *sdf_detect_unet_prefix(const sdf_keyset *ks);

/* UNet configuration from shapes (ComfyUI detect_unet_config) for keys under prefix. Fills
 * everything except num_heads/num_head_channels. transformer_depth_output is in block order:
 * entry i belongs to output_blocks.i (ComfyUI's list reversed). */
sdf_status sdf_detect_unet_config(const sdf_keyset *ks, const char *prefix, sdf_unet_config *cfg,
                                  sdf_error *err);

/* VAE configuration from keys under prefix (spec §10.6 item 4). */
sdf_status sdf_detect_vae_config(const sdf_keyset *ks, const char *prefix, sdf_vae_config *cfg,
                                 sdf_error *err);

/* CLIP configuration from canonical HF names ("text_model.*") in ks. */
sdf_status sdf_detect_clip_config(const sdf_keyset *ks, sdf_arch arch, sdf_clip_config *cfg,
                                   sdf_error *err);

/* Applies __metadata__ "ldm_config" / "clip_config" JSON (either may be NULL). A malformed JSON
 * text is an error naming the key. */
sdf_status sdf_detect_apply_metadata(const char *ldm_config, const char *clip_config,
                                     sdf_unet_config *unet, sdf_vae_config *vae,
                                     sdf_clip_config *clip, int *prediction, sdf_error *err);

#endif
