/* ops.h: small tensor operations behind ComfyUI's image, mask and latent nodes.
 *
 * Owns:      ImageInvert, ImageBatch (channel pad + bilinear center-crop resize + concat),
 *            EmptyImage, ImageCrop, MaskToImage, ImageToMask, ImageBlur/ImageSharpen
 *            (reflect-padded Gaussian), LatentFlip, LatentRotate (torch.rot90 dims [3,2]),
 *            LatentCrop, LatentBlend, and batch slicing/tiling along dim 0.
 * Ownership: returned tensors are NEW references; inputs are borrowed and never modified.
 * Threads:   pure functions.
 */
#ifndef SDF_IMAGE_OPS_H
#define SDF_IMAGE_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/error.h"
#include "../base/threadpool.h"
#include "../tensor/tensor.h"

sdf_tensor *sdf_image_invert(const sdf_tensor *image, sdf_error *err);
sdf_tensor *sdf_image_batch(const sdf_tensor *a, const sdf_tensor *b, sdf_pool *pool, sdf_error *err);
sdf_tensor *sdf_image_empty(int64_t width, int64_t height, int64_t batch, int64_t color,
                            sdf_error *err);
sdf_tensor *sdf_image_crop(const sdf_tensor *image, int64_t width, int64_t height, int64_t x,
                           int64_t y, sdf_error *err);
sdf_tensor *sdf_mask_to_image(const sdf_tensor *mask, sdf_error *err);
/* channel 0..3 = red, green, blue, alpha */
sdf_tensor *sdf_image_to_mask(const sdf_tensor *image, int channel, sdf_error *err);
sdf_tensor *sdf_image_blur(const sdf_tensor *image, int64_t radius, double sigma, sdf_error *err);
sdf_tensor *sdf_image_sharpen(const sdf_tensor *image, int64_t radius, double sigma, double alpha,
                              sdf_error *err);

/* [B,C,h,w] latents */
sdf_tensor *sdf_latent_flip(const sdf_tensor *s, bool vertical, sdf_error *err);
sdf_tensor *sdf_latent_rotate(const sdf_tensor *s, int quarter_turns, sdf_error *err);
sdf_tensor *sdf_latent_crop(const sdf_tensor *s, int64_t width, int64_t height, int64_t x,
                            int64_t y, sdf_error *err);
/* s1 * f + s2 * (1 - f); s2 resized (bicubic, center crop) when the shapes differ. */
sdf_tensor *sdf_latent_blend(const sdf_tensor *s1, const sdf_tensor *s2, double factor,
                             sdf_pool *pool, sdf_error *err);

/* Rows [begin, begin+n) of t along dim 0 after tiling t to `tile_to` items (row i is
 * t[i % t.shape[0]]): LatentFromBatch's noise_mask rule. A copy. */
sdf_tensor *sdf_batch_rows(const sdf_tensor *t, int64_t begin, int64_t n, sdf_error *err);
/* t repeated `times` along dim 0 (torch .repeat(times, 1, ...)). */
sdf_tensor *sdf_batch_tile(const sdf_tensor *t, int64_t times, sdf_error *err);

#endif
