/* sampling.c: the "sampling" node family: KSampler, KSamplerAdvanced, VAEEncodeForInpaint,
 * ModelSamplingDiscrete. Definitions only call into core/ (core/models/ksampler.h).
 */
#include "nodes.h"

#include "../core/models/sampler_names.h"

#define IN_SAMPLER_NAME {.name = "sampler_name", .type = SDF_VT_COMBO, \
    .choices = sdf_sampler_names, .n_choices = SDF_N_SAMPLERS}
#define IN_SCHEDULER {.name = "scheduler", .type = SDF_VT_COMBO, \
    .choices = sdf_scheduler_names, .n_choices = SDF_N_SCHEDULERS}

/* ---- KSampler ---- */
enum { KS_MODEL, KS_SEED, KS_STEPS, KS_CFG, KS_SAMPLER, KS_SCHEDULER, KS_POSITIVE, KS_NEGATIVE,
       KS_LATENT, KS_DENOISE, KS_N };

static const sdf_input_def ksampler_inputs[KS_N] = {
    [KS_MODEL] = SDF_IN_LINK("model", SDF_VT_MODEL),
    [KS_SEED] = SDF_IN_SEED("seed"),
    [KS_STEPS] = SDF_IN_INT("steps", 20, 1, 10000, 1),
    [KS_CFG] = SDF_IN_FLOAT("cfg", 8.0, 0.0, 100.0, 0.1),
    [KS_SAMPLER] = IN_SAMPLER_NAME,
    [KS_SCHEDULER] = IN_SCHEDULER,
    [KS_POSITIVE] = SDF_IN_LINK("positive", SDF_VT_CONDITIONING),
    [KS_NEGATIVE] = SDF_IN_LINK("negative", SDF_VT_CONDITIONING),
    [KS_LATENT] = SDF_IN_LINK("latent_image", SDF_VT_LATENT),
    [KS_DENOISE] = SDF_IN_FLOAT("denoise", 1.0, 0.0, 1.0, 0.01),
};

static const sdf_output_def latent_out[] = {{"LATENT", SDF_VT_LATENT}};
static const sdf_output_def model_out[] = {{"MODEL", SDF_VT_MODEL}};

static const sdf_node_def ksampler_def = {
    .class_type = "KSampler",
    .display_name = "KSampler",
    .category = "sampling",
    .description = "Uses the provided model, positive and negative conditioning to denoise the "
                   "latent image.",
    .inputs = ksampler_inputs,
    .n_inputs = KS_N,
    .outputs = latent_out,
    .n_outputs = 1,
    .run = NULL,
};

/* ---- KSamplerAdvanced ---- */
enum { KA_MODEL, KA_ADD_NOISE, KA_SEED, KA_STEPS, KA_CFG, KA_SAMPLER, KA_SCHEDULER, KA_POSITIVE,
       KA_NEGATIVE, KA_LATENT, KA_START, KA_END, KA_LEFTOVER, KA_N };

static const char *const enable_disable[] = {"enable", "disable"};
static const char *const disable_enable[] = {"disable", "enable"};

static const sdf_input_def ksampler_adv_inputs[KA_N] = {
    [KA_MODEL] = SDF_IN_LINK("model", SDF_VT_MODEL),
    [KA_ADD_NOISE] = SDF_IN_COMBO("add_noise", enable_disable, NULL),
    [KA_SEED] = SDF_IN_SEED("noise_seed"),
    [KA_STEPS] = SDF_IN_INT("steps", 20, 1, 10000, 1),
    [KA_CFG] = SDF_IN_FLOAT("cfg", 8.0, 0.0, 100.0, 0.1),
    [KA_SAMPLER] = IN_SAMPLER_NAME,
    [KA_SCHEDULER] = IN_SCHEDULER,
    [KA_POSITIVE] = SDF_IN_LINK("positive", SDF_VT_CONDITIONING),
    [KA_NEGATIVE] = SDF_IN_LINK("negative", SDF_VT_CONDITIONING),
    [KA_LATENT] = SDF_IN_LINK("latent_image", SDF_VT_LATENT),
    [KA_START] = SDF_IN_INT("start_at_step", 0, 0, 10000, 1),
    [KA_END] = SDF_IN_INT("end_at_step", 10000, 0, 10000, 1),
    [KA_LEFTOVER] = SDF_IN_COMBO("return_with_leftover_noise", disable_enable, NULL),
};

static const sdf_node_def ksampler_adv_def = {
    .class_type = "KSamplerAdvanced",
    .display_name = "KSampler (Advanced)",
    .category = "sampling",
    .inputs = ksampler_adv_inputs,
    .n_inputs = KA_N,
    .outputs = latent_out,
    .n_outputs = 1,
    .run = NULL,
};

/* ---- VAEEncodeForInpaint ---- */
enum { VI_PIXELS, VI_VAE, VI_MASK, VI_GROW, VI_N };

static const sdf_input_def vae_inpaint_inputs[VI_N] = {
    [VI_PIXELS] = SDF_IN_LINK("pixels", SDF_VT_IMAGE),
    [VI_VAE] = SDF_IN_LINK("vae", SDF_VT_VAE),
    [VI_MASK] = SDF_IN_LINK("mask", SDF_VT_MASK),
    [VI_GROW] = SDF_IN_INT("grow_mask_by", 6, 0, 64, 1),
};

static const sdf_node_def vae_inpaint_def = {
    .class_type = "VAEEncodeForInpaint",
    .display_name = "VAE Encode (for Inpainting)",
    .category = "latent/inpaint",
    .inputs = vae_inpaint_inputs,
    .n_inputs = VI_N,
    .outputs = latent_out,
    .n_outputs = 1,
    .run = NULL,
};

/* ---- ModelSamplingDiscrete ---- */
enum { MS_MODEL, MS_SAMPLING, MS_ZSNR, MS_N };

static const char *const sampling_kinds[] = {"eps", "v_prediction", "lcm", "x0", "img_to_img"};

static const sdf_input_def model_sampling_inputs[MS_N] = {
    [MS_MODEL] = SDF_IN_LINK("model", SDF_VT_MODEL),
    [MS_SAMPLING] = SDF_IN_COMBO("sampling", sampling_kinds, NULL),
    [MS_ZSNR] = SDF_IN_BOOL("zsnr", false),
};

static const sdf_node_def model_sampling_def = {
    .class_type = "ModelSamplingDiscrete",
    .display_name = "ModelSamplingDiscrete",
    .category = "advanced/model",
    .inputs = model_sampling_inputs,
    .n_inputs = MS_N,
    .outputs = model_out,
    .n_outputs = 1,
    .run = NULL,
};

static const sdf_node_def *const defs[] = {&ksampler_def, &ksampler_adv_def, &vae_inpaint_def,
                                           &model_sampling_def};

const sdf_node_family sdf_family_sampling = {"sampling", defs, SDF_COUNTOF(defs)};
