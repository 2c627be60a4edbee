/* vae_raw.h: the VAE decoder's raw output (before ComfyUI's clamp((x+1)/2) and NHWC move), for
 * tests and tools that compare against reference decoders.
 * Contract:  z [B, z_channels, h, w] raw latent -> *out NEW [B, out_ch, h*ds, w*ds] f32 NCHW.
 * Threads:   as vae.h. */
#ifndef SDF_VAE_RAW_H
#define SDF_VAE_RAW_H

#include "vae.h"

sdf_status sdf_vae_decode_raw(sdf_vae *v, const sdf_tensor *z, sdf_pool *pool, sdf_tensor **out,
                              sdf_error *err);

#endif
