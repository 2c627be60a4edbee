/* compose.h: pasting one tensor onto another the way ComfyUI does.
 *
 * Owns:      comfy_extras.nodes_mask.composite (ImageCompositeMasked with multiplier 1,
 *            LatentCompositeMasked with multiplier 8), LatentComposite's feathered paste,
 *            ImagePadForOutpaint (0.5 grey border, squared-ramp feather mask), and
 *            repeat_to_batch_size.
 * Layout:    composite works on planar [B,C,H,W] tensors (images are converted by the caller or
 *            by the _image helper); masks are [-1,H,W] or [-1,1,H,W].
 * Ownership: returned tensors are NEW references; inputs are borrowed and never modified.
 * Threads:   pure functions.
 */
#ifndef SDF_IMAGE_COMPOSE_H
#define SDF_IMAGE_COMPOSE_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/error.h"
#include "../base/threadpool.h"
#include "../tensor/tensor.h"

/* t[i % b] for i in 0..B-1 along dim 0 (truncate or tile). */
sdf_tensor *sdf_repeat_to_batch(const sdf_tensor *t, int64_t B, sdf_error *err);

/* ComfyUI composite(destination, source, x, y, mask, multiplier, resize_source) on [B,C,H,W].
 * x, y >= 0 in units of the multiplier (pixels for latents). `channels_last` selects torch's
 * channels-last bilinear maths for resize_source (true for images). mask may be NULL. */
sdf_tensor *sdf_composite(const sdf_tensor *dst, const sdf_tensor *src, int64_t x, int64_t y,
                          const sdf_tensor *mask, int64_t multiplier, bool resize_source,
                          bool channels_last, sdf_pool *pool, sdf_error *err);
/* ImageCompositeMasked on IMAGE [B,H,W,C] with node_helpers.image_alpha_fix. */
sdf_tensor *sdf_composite_image(const sdf_tensor *dst, const sdf_tensor *src, int64_t x, int64_t y,
                                const sdf_tensor *mask, bool resize_source, sdf_pool *pool,
                                sdf_error *err);

/* LatentComposite: x, y, feather in pixels (divided by 8 here). */
sdf_tensor *sdf_latent_paste(const sdf_tensor *to, const sdf_tensor *from, int64_t x, int64_t y,
                             int64_t feather, sdf_error *err);

/* ImagePadForOutpaint on IMAGE [B,H,W,C]: *image_out [B,H',W',C], *mask_out [1,H',W']. */
sdf_status sdf_pad_for_outpaint(const sdf_tensor *image, int64_t left, int64_t top, int64_t right,
                                int64_t bottom, int64_t feathering, sdf_tensor **image_out,
                                sdf_tensor **mask_out, sdf_error *err);

#endif
