/* sampling.c: the "sampling" node family: KSampler, KSamplerAdvanced, VAEEncodeForInpaint,
 * ModelSamplingDiscrete. Definitions only call into core/ (core/models/ksampler.h).
 */
#include "nodes.h"

#include <math.h>
#include <string.h>

#include "../core/base/alloc.h"
#include "../core/models/ksampler.h"
#include "../core/models/model.h"
#include "../core/models/sampler_names.h"
#include "../core/models/vae.h"

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


/* ---- shared KSampler plumbing ---- */

typedef struct progress_ctx {
    sdf_node_call *call;
} progress_ctx;

static sdf_status on_step(void *user, int i, int total, const float *x, const float *den,
                          sdf_error *err) {
    progress_ctx *p = user;
    (void)x, (void)den;
    if (sdf_call_cancelled(p->call)) return sdf_fail(err, SDF_ERR_CANCELLED, "interrupted");
    sdf_call_progress(p->call, i + 1, total);
    return SDF_OK;
}

static sdf_status common_ksampler(sdf_node_call *c, int i_model, int i_latent, int i_pos,
                                  int i_neg, sdf_ksampler_opts *o, const char *sampler,
                                  const char *scheduler, sdf_error *err) {
    sdf_model *m = sdf_arg_handle(c, i_model);
    const sdf_latent *lat = sdf_arg_latent(c, i_latent);
    const sdf_conditioning *pos = sdf_arg_cond(c, i_pos), *neg = sdf_arg_cond(c, i_neg);
    if (!m || !lat || !pos || !neg) return sdf_fail(err, SDF_ERR_INVALID, "missing input");
    o->sampler = sdf_sampler_index(sampler);
    o->scheduler = sdf_scheduler_index(scheduler);
    if (o->sampler < 0) {
        sdf_error_at_input(err, "sampler_name");
        return sdf_fail(err, SDF_ERR_INVALID, "unknown sampler '%s'", sampler);
    }
    if (o->scheduler < 0) {
        sdf_error_at_input(err, "scheduler");
        return sdf_fail(err, SDF_ERR_INVALID, "unknown scheduler '%s'", scheduler);
    }
    progress_ctx pc = {c};
    o->pool = sdf_call_pool(c);
    o->step = on_step;
    o->step_user = &pc;
    sdf_tensor *out = NULL;
    sdf_status st = sdf_ksample(m, lat, pos, neg, o, &out, err);
    if (st != SDF_OK) return st;
    sdf_value *v = sdf_value_latent(out, lat->noise_mask, lat->batch_index, lat->n_batch_index);
    sdf_tensor_release(out);
    if (!v) return sdf_fail(err, SDF_ERR_NOMEM, "out of memory");
    return sdf_out_set(c, 0, v, err);
}

static sdf_status ksampler_run(sdf_node_call *c, sdf_error *err) {
    sdf_ksampler_opts o = {
        .seed = sdf_arg_u64(c, KS_SEED),
        .steps = (int)sdf_arg_int(c, KS_STEPS),
        .cfg = sdf_arg_float(c, KS_CFG),
        .denoise = sdf_arg_float(c, KS_DENOISE),
        .start_step = -1,
        .last_step = -1,
    };
    return common_ksampler(c, KS_MODEL, KS_LATENT, KS_POSITIVE, KS_NEGATIVE, &o,
                           sdf_arg_str(c, KS_SAMPLER), sdf_arg_str(c, KS_SCHEDULER), err);
}

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
    .run = ksampler_run,
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

static sdf_status ksampler_adv_run(sdf_node_call *c, sdf_error *err) {
    int64_t start = sdf_arg_int(c, KA_START), end = sdf_arg_int(c, KA_END);
    sdf_ksampler_opts o = {
        .seed = sdf_arg_u64(c, KA_SEED),
        .steps = (int)sdf_arg_int(c, KA_STEPS),
        .cfg = sdf_arg_float(c, KA_CFG),
        .denoise = 1.0,
        .disable_noise = strcmp(sdf_arg_str(c, KA_ADD_NOISE), "disable") == 0,
        .start_step = start < 0 ? 0 : (int)start,
        .last_step = end < 0 ? 0 : (int)end,
        .force_full_denoise = strcmp(sdf_arg_str(c, KA_LEFTOVER), "enable") != 0,
    };
    return common_ksampler(c, KA_MODEL, KA_LATENT, KA_POSITIVE, KA_NEGATIVE, &o,
                           sdf_arg_str(c, KA_SAMPLER), sdf_arg_str(c, KA_SCHEDULER), err);
}

static const sdf_node_def ksampler_adv_def = {
    .class_type = "KSamplerAdvanced",
    .display_name = "KSampler (Advanced)",
    .category = "sampling",
    .inputs = ksampler_adv_inputs,
    .n_inputs = KA_N,
    .outputs = latent_out,
    .n_outputs = 1,
    .run = ksampler_adv_run,
};

/* ---- VAEEncodeForInpaint ---- */
enum { VI_PIXELS, VI_VAE, VI_MASK, VI_GROW, VI_N };

static const sdf_input_def vae_inpaint_inputs[VI_N] = {
    [VI_PIXELS] = SDF_IN_LINK("pixels", SDF_VT_IMAGE),
    [VI_VAE] = SDF_IN_LINK("vae", SDF_VT_VAE),
    [VI_MASK] = SDF_IN_LINK("mask", SDF_VT_MASK),
    [VI_GROW] = SDF_IN_INT("grow_mask_by", 6, 0, 64, 1),
};

static sdf_status vae_inpaint_run(sdf_node_call *c, sdf_error *err) {
    sdf_tensor *pixels = sdf_arg_tensor(c, VI_PIXELS), *mask = sdf_arg_tensor(c, VI_MASK);
    sdf_vae *vae = sdf_arg_handle(c, VI_VAE);
    int grow = (int)sdf_arg_int(c, VI_GROW);
    if (!pixels || !mask || !vae) return sdf_fail(err, SDF_ERR_INVALID, "missing input");
    if (pixels->ndim != 4 || pixels->shape[3] < 3 || pixels->dtype != SDF_DTYPE_F32) {
        sdf_error_at_input(err, "pixels");
        return sdf_fail(err, SDF_ERR_SHAPE, "pixels must be an IMAGE [B,H,W,C]");
    }
    if (mask->ndim < 2 || mask->dtype != SDF_DTYPE_F32) {
        sdf_error_at_input(err, "mask");
        return sdf_fail(err, SDF_ERR_SHAPE, "mask must be a MASK [B,H,W]");
    }
    const int64_t B = pixels->shape[0], H = pixels->shape[1], W = pixels->shape[2];
    const int64_t PC = pixels->shape[3];
    int ds = vae->cfg.downscale > 0 ? vae->cfg.downscale : 8;
    int64_t x = (H / ds) * ds, y = (W / ds) * ds;
    if (x == 0 || y == 0) {
        sdf_error_at_input(err, "pixels");
        return sdf_fail(err, SDF_ERR_SHAPE, "image %lldx%lld is smaller than the VAE's %d-pixel "
                        "block", (long long)W, (long long)H, ds);
    }
    int64_t mh = mask->shape[mask->ndim - 2], mw = mask->shape[mask->ndim - 1];
    int64_t MB = sdf_tensor_numel(mask) / (mh * mw);
    int64_t xo = (H % ds) / 2, yo = (W % ds) / 2;
    sdf_status st = SDF_OK;
    float *m_full = sdf_malloc(sizeof(float) * (size_t)(MB * H * W));
    float *er = sdf_calloc((size_t)(MB * x * y), sizeof(float));
    int64_t ishape[4] = {B, x, y, 3}, mshape[4] = {MB, 1, x, y};
    sdf_tensor *img = sdf_tensor_new(SDF_DTYPE_F32, 4, ishape, err);
    sdf_tensor *nm = sdf_tensor_new(SDF_DTYPE_F32, 4, mshape, err);
    sdf_tensor *lat = NULL;
    if (!m_full || !er || !img || !nm) {
        st = sdf_fail(err, SDF_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (mh == H && mw == W) memcpy(m_full, mask->data, sizeof(float) * (size_t)(MB * H * W));
    else sdf_resize_bilinear(sdf_tensor_f32p(mask), MB, mh, mw, m_full, H, W);
    /* grow: conv2d(round(mask), ones(g, g), padding ceil((g-1)/2)), clamp 0..1, crop, round */
    for (int64_t b = 0; b < MB; b++) {
        const float *mp = m_full + b * H * W;
        float *ep = er + b * x * y;
        int pad = (grow - 1 + 1) / 2; /* ceil((g - 1) / 2) */
        for (int64_t i = 0; i < x; i++)
            for (int64_t j = 0; j < y; j++) {
                float v;
                if (grow == 0) {
                    v = mp[(i + xo) * W + j + yo];
                } else {
                    v = 0;
                    for (int ki = 0; ki < grow; ki++)
                        for (int kj = 0; kj < grow; kj++) {
                            int64_t si = i - pad + ki, sj = j - pad + kj;
                            if (si < 0 || sj < 0 || si >= x || sj >= y) continue;
                            v += nearbyintf(mp[(si + xo) * W + sj + yo]);
                        }
                    v = v < 0 ? 0 : (v > 1 ? 1 : v);
                }
                ep[i * y + j] = nearbyintf(v);
            }
    }
    memcpy(nm->data, er, sizeof(float) * (size_t)(MB * x * y));
    /* masked pixels -> 0.5 (keep the first 3 channels) */
    {
        const float *pp = sdf_tensor_f32p(pixels);
        float *ip = sdf_tensor_f32p(img);
        for (int64_t b = 0; b < B; b++) {
            const float *mp = m_full + (b < MB ? b : MB - 1) * H * W;
            for (int64_t i = 0; i < x; i++)
                for (int64_t j = 0; j < y; j++) {
                    float keep = 1.0f - nearbyintf(mp[(i + xo) * W + j + yo]);
                    for (int ch = 0; ch < 3; ch++) {
                        float v = pp[((b * H + i + xo) * W + j + yo) * PC + ch];
                        v = v - 0.5f;
                        v = v * keep;
                        ip[((b * x + i) * y + j) * 3 + ch] = v + 0.5f;
                    }
                }
        }
    }
    st = sdf_vae_encode(vae, img, sdf_call_pool(c), &lat, err);
    if (st != SDF_OK) goto done;
    sdf_value *v = sdf_value_latent(lat, nm, NULL, 0);
    if (!v) {
        st = sdf_fail(err, SDF_ERR_NOMEM, "out of memory");
        goto done;
    }
    st = sdf_out_set(c, 0, v, err);
done:
    sdf_free(m_full);
    sdf_free(er);
    sdf_tensor_release(img);
    sdf_tensor_release(nm);
    sdf_tensor_release(lat);
    return st;
}

static const sdf_node_def vae_inpaint_def = {
    .class_type = "VAEEncodeForInpaint",
    .display_name = "VAE Encode (for Inpainting)",
    .category = "latent/inpaint",
    .inputs = vae_inpaint_inputs,
    .n_inputs = VI_N,
    .outputs = latent_out,
    .n_outputs = 1,
    .run = vae_inpaint_run,
};

/* ---- ModelSamplingDiscrete ---- */
enum { MS_MODEL, MS_SAMPLING, MS_ZSNR, MS_N };

static const char *const sampling_kinds[] = {"eps", "v_prediction", "lcm", "x0", "img_to_img"};

static const sdf_input_def model_sampling_inputs[MS_N] = {
    [MS_MODEL] = SDF_IN_LINK("model", SDF_VT_MODEL),
    [MS_SAMPLING] = SDF_IN_COMBO("sampling", sampling_kinds, NULL),
    [MS_ZSNR] = SDF_IN_BOOL("zsnr", false),
};

static sdf_status model_sampling_run(sdf_node_call *c, sdf_error *err) {
    sdf_model *m = sdf_arg_handle(c, MS_MODEL);
    const char *kind = sdf_arg_str(c, MS_SAMPLING);
    if (!m) return sdf_fail(err, SDF_ERR_INVALID, "missing model");
    sdf_prediction p;
    if (strcmp(kind, "eps") == 0) p = SDF_PRED_EPS;
    else if (strcmp(kind, "v_prediction") == 0) p = SDF_PRED_V;
    else {
        sdf_error_at_input(err, "sampling");
        return sdf_fail(err, SDF_ERR_UNSUPPORTED,
                        "sampling '%s' is not supported (eps and v_prediction are)", kind);
    }
    sdf_model *n = sdf_model_clone(m, err);
    if (!n) return err->code;
    n->prediction = p;
    n->zsnr = sdf_arg_bool(c, MS_ZSNR);
    return sdf_out_set(c, 0, sdf_value_handle(SDF_VT_MODEL, n, &sdf_model_handle), err);
}

static const sdf_node_def model_sampling_def = {
    .class_type = "ModelSamplingDiscrete",
    .display_name = "ModelSamplingDiscrete",
    .category = "advanced/model",
    .inputs = model_sampling_inputs,
    .n_inputs = MS_N,
    .outputs = model_out,
    .n_outputs = 1,
    .run = model_sampling_run,
};

static const sdf_node_def *const defs[] = {&ksampler_def, &ksampler_adv_def, &vae_inpaint_def,
                                           &model_sampling_def};

const sdf_node_family sdf_family_sampling = {"sampling", defs, SDF_COUNTOF(defs)};
