/* guidance.h: ComfyUI's CFGGuider for SD1/SD2: conditioning preparation, batched model calls,
 * area / mask / strength / timestep-range combination, CFG, and KSamplerX0Inpaint blending.
 *
 * Owns:      sdf_guider (the prepared positive/negative condition lists for one sampling run)
 *            and sdf_inpaint_wrap (noise-mask inpainting around any denoiser).
 * Model:     the network is reached through sdf_apply_model_fn: given the c_in-scaled input
 *            xc [N,C,h,w], N float timesteps and a context [N,T,D], it returns the raw network
 *            output (eps or v). sdf_unet_apply adapts core/models/unet.h's sdf_unet_forward;
 *            tests plug in fakes.
 * Semantics: spec §3.7 with §10.4 (area pairing), comfy/samplers.py at 3cd7b32f: conds of both
 *            lists that can share a batch (same input size, contexts whose token counts have an
 *            lcm at most 4x the shorter) run in ONE model call (cond and uncond together);
 *            contexts of different lengths are repeated to the lcm. cfg == 1 skips the
 *            negative list unless the sampler needs the unconditional prediction (CFG++).
 * Ownership: the guider retains the context tensors and owns its resized masks; free with
 *            sdf_guider_free. Buffers passed to the denoise functions are caller memory.
 * Threads:   a guider is used by one sampling run at a time.
 */
#ifndef SDF_GUIDANCE_H
#define SDF_GUIDANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/threadpool.h"
#include "../graph/value.h"
#include "model.h"
#include "sampling.h"

typedef sdf_status (*sdf_apply_model_fn)(void *ctx, const sdf_tensor *xc, const float *timesteps,
                                         const sdf_tensor *context, sdf_tensor **out,
                                         sdf_error *err);

typedef struct sdf_unet_apply_ctx {
    sdf_model *model;
    sdf_pool  *pool;
} sdf_unet_apply_ctx;
/* ctx: sdf_unet_apply_ctx. */
sdf_status sdf_unet_apply(void *ctx, const sdf_tensor *xc, const float *timesteps,
                          const sdf_tensor *context, sdf_tensor **out, sdf_error *err);

typedef struct sdf_guider sdf_guider;

/* shape: the latent [B, C, h, w] being sampled. positive / negative are borrowed for the
 * call only (contexts are retained). */
sdf_status sdf_guider_new(const sdf_msampling *ms, sdf_apply_model_fn apply, void *apply_ctx,
                          const sdf_conditioning *positive, const sdf_conditioning *negative,
                          double cfg, const int64_t shape[4], sdf_guider **out, sdf_error *err);
void sdf_guider_free(sdf_guider *g); /* NULL-safe */
/* c_concat (inpainting models, BaseModel.concat_cond): channels planes per latent batch item,
 * [B, channels, h, w] floats, copied. Every model call's input becomes
 * cat([x / sqrt(sigma^2 + 1), c_concat narrowed to the cond's area], dim=1) for cond and uncond
 * alike. NULL / 0 clears it. */
sdf_status sdf_guider_set_concat(sdf_guider *g, const float *concat, int64_t channels,
                                 sdf_error *err);
/* Number of model calls (batched network evaluations) made so far. */
int  sdf_guider_model_calls(const sdf_guider *g);

/* sdf_denoise_fn (samplers.h) with ctx = sdf_guider *. */
sdf_status sdf_guider_denoise(void *ctx, const float *x, float sigma, float *denoised,
                              float *uncond, sdf_error *err);

/* KSamplerX0Inpaint: x' = x*m + (noise*sigma + latent)*(1-m) before the inner call,
 * out = out*m + latent*(1-m) after. mask / latent / noise: n floats each (borrowed). */
typedef struct sdf_inpaint_wrap {
    sdf_status (*inner)(void *ctx, const float *x, float sigma, float *den, float *unc,
                        sdf_error *err);
    void        *inner_ctx;
    const float *mask;   /* NULL: no blending (plain pass-through) */
    const float *latent; /* the process_in'ed latent */
    const float *noise;  /* unscaled initial noise (or ddim's seed + 1 noise) */
    size_t       n;
    float       *tmp;    /* n floats of scratch owned by the caller */
} sdf_inpaint_wrap;
sdf_status sdf_inpaint_denoise(void *ctx, const float *x, float sigma, float *denoised,
                               float *uncond, sdf_error *err);

/* torch.nn.functional.interpolate(mode="bilinear", align_corners=False) of [N, H, W] planes
 * to [N, oh, ow]. src and dst are distinct. */
void sdf_resize_bilinear(const float *src, int64_t n, int64_t h, int64_t w, float *dst,
                         int64_t oh, int64_t ow);

#endif
