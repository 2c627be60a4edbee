/* vae.h: the AutoencoderKL decoder and encoder (SD1.x / SD2.x first_stage_model).
 *
 * Owns:      VAE decode/encode over an sdf_vae's weights, whole-image and tiled.
 * Contract:  latents here are RAW VAE latents (what a LATENT value holds: the sampler already
 *            divided by the scale factor). Images are ComfyUI IMAGE tensors [B,H,W,3] in 0..1.
 *            decode: *image = clamp((decoder(post_quant_conv(z)) + 1) / 2, 0, 1) as NHWC
 *            encode: *latent = mean of quant_conv(encoder(image * 2 - 1)) (ComfyUI's
 *                    DiagonalGaussian with sample=False)
 *            Output sizes: H = h * downscale (8 for SD; 4 for the tiny reference VAE).
 * Threads:   kernels split work on pool (may be NULL).
 */
#ifndef SDF_VAE_H
#define SDF_VAE_H

#include "../base/threadpool.h"
#include "model.h"

sdf_status sdf_vae_decode(sdf_vae *v, const sdf_tensor *z, sdf_pool *pool, sdf_tensor **image,
                          sdf_error *err);
sdf_status sdf_vae_encode(sdf_vae *v, const sdf_tensor *image, sdf_pool *pool, sdf_tensor **latent,
                          sdf_error *err);
/* Tiled variants (tile and overlap in pixels), blending overlaps as ComfyUI does. */
sdf_status sdf_vae_decode_tiled(sdf_vae *v, const sdf_tensor *z, int tile, int overlap,
                                sdf_pool *pool, sdf_tensor **image, sdf_error *err);
sdf_status sdf_vae_encode_tiled(sdf_vae *v, const sdf_tensor *image, int tile, int overlap,
                                sdf_pool *pool, sdf_tensor **latent, sdf_error *err);

#endif
