/* samplers.h: ComfyUI's k-diffusion samplers over an abstract denoiser.
 *
 * Owns:      sdf_sample(), which runs one sampler (by index into sdf_sampler_names) from x_init
 *            over a sigma schedule; the denoiser and noise-source interfaces it calls; the
 *            default noise source (torch CPU generator seeded with seed + 1, as ComfyUI's
 *            default_noise_sampler on CPU), and for dpmpp_sde / 2m_sde / 3m_sde ComfyUI's
 *            BrownianTreeNoiseSampler (brownian.h) seeded with the seed itself.
 * Denoiser:  D(x, sigma) returns the guided x0 prediction (CFG and inpaint blending happen
 *            behind it). When `uncond` is non-NULL the denoiser also writes the unconditional
 *            prediction and must evaluate it even at cfg = 1 (CFG++ samplers).
 * Ownership: x is caller memory, updated in place; every buffer is n floats.
 * Threads:   one run per call; the denoiser may use a thread pool internally.
 */
#ifndef SDF_SAMPLERS_H
#define SDF_SAMPLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"
#include "rng.h"
#include "sampling.h"

typedef sdf_status (*sdf_denoise_fn)(void *ctx, const float *x, float sigma, float *denoised,
                                     float *uncond, sdf_error *err);
/* Writes n noise values for the interval (sigma, sigma_next). */
typedef sdf_status (*sdf_noise_fn)(void *ctx, float sigma, float sigma_next, float *out,
                                   sdf_error *err);
/* Per-step callback (ComfyUI's callback: i, x before the step, denoised of its first call).
 * Returning an error (e.g. SDF_ERR_CANCELLED) stops sampling. */
typedef sdf_status (*sdf_step_fn)(void *user, int i, int total, const float *x,
                                  const float *denoised, sdf_error *err);

typedef struct sdf_sampler_run {
    const sdf_msampling *ms;
    size_t         n;          /* elements of x */
    sdf_denoise_fn denoise;
    void          *denoise_ctx;
    sdf_noise_fn   noise;      /* NULL: the sampler's default source */
    void          *noise_ctx;
    uint64_t       seed;       /* the node seed (default noise uses seed + 1) */
    sdf_step_fn    step;       /* may be NULL */
    void          *step_user;
} sdf_sampler_run;

/* Runs sampler `sampler` on x (in: x_init, out: result) with n_sigmas sigmas. */
sdf_status sdf_sample(int sampler, const sdf_sampler_run *r, const float *sigmas, int n_sigmas,
                      float *x, sdf_error *err);

/* True for samplers that draw per-step noise from the default seed + 1 generator. */
bool sdf_sampler_uses_default_noise(int sampler);
/* True for dpmpp_sde / 2m_sde / 3m_sde (Brownian-tree noise in ComfyUI). */
bool sdf_sampler_uses_brownian(int sampler);

/* Lagrange-basis integral used by lms (exposed for tests): coefficient j of order `order`
 * at step i over t[] (float64 sigmas). */
double sdf_lms_coeff(int order, const double *t, int i, int j);

#endif
