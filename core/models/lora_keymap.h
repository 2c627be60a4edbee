/* lora_keymap.h: which LoRA key base patches which model weight (ComfyUI model_lora_keys_unet /
 * model_lora_keys_clip, spec §4.6).
 *
 * Owns:      the ordered list of (LoRA key base -> component + canonical weight name) for a
 *            model and/or a text encoder: kohya "lora_unet_<ldm key>" and "lora_unet_<diffusers
 *            key>", raw "diffusion_model.<key>", "lycoris_<diffusers>", diffusers attention
 *            processor names ("", "unet." prefixes), "text_encoders.<clip key>",
 *            "lora_te_/lora_te1_text_model_encoder_layers_<b>_<proj>" and
 *            "text_encoder.text_model.encoder.layers.<b>.<proj>". Order follows ComfyUI's dict
 *            insertion order, so "a later match for the same weight wins" behaves the same.
 * Ownership: the list owns its strings; free with sdf_lora_keymap_free.
 * Threads:   reentrant.
 */
#ifndef SDF_LORA_KEYMAP_H
#define SDF_LORA_KEYMAP_H

#include "model.h"

typedef enum sdf_lora_target {
    SDF_LORA_UNET,
    SDF_LORA_CLIP
} sdf_lora_target;

typedef struct sdf_lora_keymap_entry {
    char           *key;    /* LoRA key base, e.g. "lora_unet_input_blocks_1_1_proj_in" */
    sdf_lora_target target;
    char           *weight; /* canonical name in that component's store */
} sdf_lora_keymap_entry;

typedef struct sdf_lora_keymap {
    sdf_lora_keymap_entry *e;
    size_t                 n, cap;
} sdf_lora_keymap;

/* Builds the map for model and/or clip (either may be NULL). */
sdf_status sdf_lora_keymap_build(const sdf_model *model, const sdf_clip *clip,
                                 sdf_lora_keymap *map, sdf_error *err);
void       sdf_lora_keymap_free(sdf_lora_keymap *map);

#endif
