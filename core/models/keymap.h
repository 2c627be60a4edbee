/* keymap.h: diffusers <-> original (ldm) weight names for the SD UNet and VAE.
 *
 * Owns:      the block index arithmetic of spec §4.6 / §10.10 item 9 (down_blocks.x.resnets.i ->
 *            input_blocks.(1+(nrb+1)x+i).0, ...), the ResBlock part names (norm1 -> in_layers.0,
 *            ...), and the diffusers VAE names. Used by the diffusers-folder loader and the LoRA
 *            key map.
 * Ownership: results are written into caller buffers; stores are borrowed.
 * Threads:   pure functions.
 */
#ifndef SDF_KEYMAP_H
#define SDF_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "wstore.h"

/* Canonical UNet name (no "model.diffusion_model.") -> diffusers name ("down_blocks.0...").
 * nrb = ResBlocks per level (2 for SD). False when the name has no diffusers equivalent. */
bool sdf_keymap_unet_ldm_to_diffusers(const char *ldm, int nrb, char *out, size_t cap);
/* Diffusers UNet name -> canonical ldm name. up_has_attn(x) tells whether up_blocks.x has
 * attentions (decides the Upsample index .1/.2). */
bool sdf_keymap_unet_diffusers_to_ldm(const char *d, int nrb, const bool *up_has_attn,
                                      int n_up, char *out, size_t cap);
/* Diffusers VAE name -> canonical ldm VAE name (n_up = number of decoder levels). */
bool sdf_keymap_vae_diffusers_to_ldm(const char *d, int n_up, char *out, size_t cap);

/* Converts a store holding "unet.<diffusers UNet>", "vae.<diffusers VAE>" and "te.<HF CLIP>"
 * names into original single-file names in out (model.diffusion_model., first_stage_model.,
 * cond_stage_model.transformer.). Slots are shared, not copied; 2-D VAE attention weights
 * become [C,C,1,1] views. Unknown names are an error naming them. */
sdf_status sdf_keymap_diffusers_to_ldm(sdf_wstore *raw, sdf_wstore *out, sdf_error *err);

#endif
