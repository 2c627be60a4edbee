/* sampling.h: ComfyUI's discrete model sampling (SD1/SD2) and its noise schedules.
 *
 * Owns:      sdf_msampling, the 1000-entry sigma table (scaled-linear betas, optional zero
 *            terminal SNR), sigma <-> timestep conversions, the eps / v parameterisations
 *            (c_in, denoised from the network output), noise scaling, and the schedulers
 *            (ComfyUI KSampler.SCHEDULERS) including steps/denoise and the penultimate-sigma
 *            rule of dpm_2 / uni_pc.
 * Numerics:  float32 where ComfyUI computes in float32 (torch's two-sided linspace, logf/expf
 *            of float32 values), double where it uses Python floats or float64 tensors
 *            (spec §3.1, §3.3, §10.2). Compiled with -ffp-contract=off.
 * Ownership: sdf_msampling is a plain value. Sigma arrays are caller-provided buffers.
 * Threads:   everything is pure; safe from any thread.
 */
#ifndef SDF_SAMPLING_H
#define SDF_SAMPLING_H

#include <stdbool.h>
#include <stddef.h>

#include "../base/error.h"
#include "model.h"

#define SDF_NUM_TIMESTEPS 1000

typedef struct sdf_msampling {
    float          sigmas[SDF_NUM_TIMESTEPS];     /* ascending; [0] = sigma_min */
    float          log_sigmas[SDF_NUM_TIMESTEPS]; /* (float)log(double sigma) */
    sdf_prediction pred;
    bool           zsnr;
} sdf_msampling;

void  sdf_msampling_init(sdf_msampling *ms, sdf_prediction pred, bool zsnr);
static inline float sdf_ms_sigma_min(const sdf_msampling *ms) { return ms->sigmas[0]; }
static inline float sdf_ms_sigma_max(const sdf_msampling *ms) {
    return ms->sigmas[SDF_NUM_TIMESTEPS - 1];
}
/* argmin_i |logf(sigma) - log_sigmas[i]| (first on ties): the UNet's timestep. */
int   sdf_ms_timestep(const sdf_msampling *ms, float sigma);
/* Log-linear interpolation of the table at float timestep t (clamped to [0, 999]). */
float sdf_ms_sigma(const sdf_msampling *ms, float t);
/* percent_to_sigma (start/end of conditioning timestep ranges). */
double sdf_ms_percent_to_sigma(const sdf_msampling *ms, double percent);

/* Parameterisation: c_in = 1/sqrt(sigma^2 + 1); denoised from the network output. */
float sdf_ms_c_in(float sigma);
void  sdf_ms_denoised(const sdf_msampling *ms, float sigma, const float *model_out,
                      const float *x, float *denoised, size_t n);
/* True when sigma0 is sigma_max (within rel 1e-5) or larger: start from full noise. */
bool  sdf_ms_max_denoise(const sdf_msampling *ms, float sigma0);
/* x = noise * (max_denoise ? sqrt(1 + s^2) : s) + latent (latent may be NULL = zeros). */
void  sdf_ms_noise_scaling(float sigma, bool max_denoise, const float *noise,
                           const float *latent, float *x, size_t n);

/* torch.linspace(a, b, n) in float32 (CPU kernel arithmetic, AVX2 vector path for n >= 16). */
void sdf_linspace_f32(float a, float b, int n, float *out);

/* Scheduler by index into sdf_scheduler_names (sampler_names.h). Writes at most cap sigmas to
 * out and their count to *n_out (normally steps + 1, ending in 0; beta and ddim_uniform can
 * differ). */
sdf_status sdf_scheduler_sigmas(const sdf_msampling *ms, int scheduler, int steps, float *out,
                                int cap, int *n_out, sdf_error *err);

/* KSampler.set_steps + calculate_sigmas: steps/denoise (denoise as the workflow's double),
 * the DISCARD_PENULTIMATE rule for dpm_2, dpm_2_ancestral, uni_pc, uni_pc_bh2, and the tail
 * for denoise < 1. *out is sdf_malloc'd (free with sdf_free); *n_out may be 0 (denoise <= 0). */
sdf_status sdf_ksampler_sigmas(const sdf_msampling *ms, int sampler, int scheduler, int steps,
                               double denoise, float **out, int *n_out, sdf_error *err);

/* KSampler.sample's start/last step truncation (KSamplerAdvanced). Works in place on
 * sigmas[0..*n); returns false when start_step leaves nothing to do (return the input). */
bool sdf_sigmas_truncate(float *sigmas, int *n, int start_step, int last_step,
                         bool force_full_denoise);

/* scipy.special.betaincinv(a, b, y): the inverse regularized incomplete beta function. */
double sdf_betaincinv(double a, double b, double y);

#endif
