/* unet.h: the SD1.x / SD2.x denoising UNet (ldm openaimodel layout) forward pass.
 *
 * Owns:      the UNet computation over an sdf_model's weights and configuration (model.h).
 * Contract:  out = UNet(x, timesteps, context): the raw network output (eps, or v for
 *            v-prediction models); the caller (the sampler) applies c_in / c_out / c_skip.
 *            x         [B, in_channels, h, w] f32 (inpainting UNets: the caller concatenates
 *                      mask and masked latent so in_channels = 9); any h, w (multiples of 8
 *                      pixels, non-square included)
 *            timesteps B floats (ComfyUI passes float timesteps)
 *            context   [B, T, context_dim] f32 (T a multiple of 77)
 *            *out      NEW tensor [B, out_channels, h, w]
 * Threads:   kernels split work on pool (may be NULL); concurrent calls on one model are safe.
 */
#ifndef SDF_UNET_H
#define SDF_UNET_H

#include "../base/threadpool.h"
#include "model.h"

sdf_status sdf_unet_forward(sdf_model *m, const sdf_tensor *x, const float *timesteps,
                            const sdf_tensor *context, sdf_pool *pool, sdf_tensor **out,
                            sdf_error *err);

#endif
