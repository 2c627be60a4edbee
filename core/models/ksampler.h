/* ksampler.h: ComfyUI's common_ksampler pipeline (nodes.common_ksampler -> comfy.sample.sample
 * -> samplers.KSampler -> CFGGuider) for SD1/SD2 MODELs.
 *
 * Owns:      the whole sampling run of a KSampler / KSamplerAdvanced node: seeded noise
 *            (prepare_noise with batch_index), sigmas (steps, denoise, start/last step),
 *            noise-mask preparation (bilinear to the latent size, channel and batch repeat),
 *            the inpainting-model c_concat (in_channels 9: [mask, masked latent]),
 *            the latent scale factor (process_in unless the latent is all zeros, process_out on
 *            the result), noise scaling, the guider, KSamplerX0Inpaint, ddim's seed + 1 inpaint
 *            noise, the sampler, and per-step progress / cancellation.
 * Ownership: inputs are borrowed; *out is a NEW [B,C,h,w] f32 tensor (the raw latent).
 * Threads:   one run per call; model evaluation uses opts->pool.
 */
#ifndef SDF_KSAMPLER_H
#define SDF_KSAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/threadpool.h"
#include "../graph/value.h"
#include "guidance.h"
#include "model.h"
#include "samplers.h"

typedef struct sdf_ksampler_opts {
    uint64_t seed;
    int      steps;
    double   cfg;
    int      sampler;   /* index into sdf_sampler_names */
    int      scheduler; /* index into sdf_scheduler_names */
    double   denoise;   /* the workflow's double */
    bool     disable_noise;
    int      start_step;        /* -1: none (KSampler) */
    int      last_step;         /* -1: none */
    bool     force_full_denoise;
    sdf_pool *pool;
    /* per-step callback (progress, cancellation): may be NULL */
    sdf_step_fn step;
    void       *step_user;
    /* the network; NULL: the model's UNet (sdf_unet_apply) */
    sdf_apply_model_fn apply;
    void              *apply_ctx;
} sdf_ksampler_opts;

sdf_status sdf_ksample(sdf_model *model, const sdf_latent *latent,
                       const sdf_conditioning *positive, const sdf_conditioning *negative,
                       const sdf_ksampler_opts *opts, sdf_tensor **out, sdf_error *err);

/* comfy.utils.reshape_mask for 2-D latents: any [.., H', W'] mask to [B, C, h, w] (bilinear,
 * channel repeat, batch repeat/truncate). NEW tensor. */
sdf_tensor *sdf_prepare_noise_mask(const sdf_tensor *mask, const int64_t shape[4],
                                   sdf_error *err);

#endif
