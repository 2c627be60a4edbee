/* ksampler.c: the KSampler pipeline (see ksampler.h). */
#include "ksampler.h"

#include <math.h>
#include <string.h>

#include "../base/alloc.h"
#include "rng.h"
#include "sampler_names.h"
#include "sampling.h"

sdf_tensor *sdf_prepare_noise_mask(const sdf_tensor *mask, const int64_t shape[4],
                                   sdf_error *err) {
    if (!mask || mask->dtype != SDF_DTYPE_F32 || mask->ndim < 2) {
        sdf_fail(err, SDF_ERR_SHAPE, "noise_mask must be an f32 tensor of at least 2 dims");
        return NULL;
    }
    int64_t mh = mask->shape[mask->ndim - 2], mw = mask->shape[mask->ndim - 1];
    int64_t planes = mh * mw > 0 ? sdf_tensor_numel(mask) / (mh * mw) : 0;
    if (planes < 1) {
        sdf_fail(err, SDF_ERR_SHAPE, "noise_mask is empty");
        return NULL;
    }
    const int64_t B = shape[0], C = shape[1], H = shape[2], W = shape[3];
    float *rs = sdf_malloc(sizeof(float) * (size_t)(planes * H * W));
    if (!rs) {
        sdf_fail(err, SDF_ERR_NOMEM, "noise mask: out of memory");
        return NULL;
    }
    if (mh == H && mw == W) memcpy(rs, mask->data, sizeof(float) * (size_t)(planes * H * W));
    else sdf_resize_bilinear(sdf_tensor_f32p(mask), planes, mh, mw, rs, H, W);
    sdf_tensor *out = sdf_tensor_new(SDF_DTYPE_F32, 4, shape, err);
    if (!out) {
        sdf_free(rs);
        return NULL;
    }
    /* repeat_to_batch_size: truncate, or tile ceil(B / planes) times and truncate */
    float *o = sdf_tensor_f32p(out);
    for (int64_t b = 0; b < B; b++) {
        const float *src = rs + (size_t)((b % planes) * H * W);
        for (int64_t c = 0; c < C; c++)
            memcpy(o + (size_t)((b * C + c) * H * W), src, sizeof(float) * (size_t)(H * W));
    }
    sdf_free(rs);
    return out;
}

/* BaseModel.concat_cond with set_inpaint's concat_keys ("mask", "masked_image") for the
 * LATENT path (no concat_mask / concat_latent_image in the conditioning): per batch item
 * [round(denoise_mask[:, :1]), latent_image] where denoise_mask is the prepared noise mask and
 * latent_image the process_in'ed sampler latent; without a mask [ones, blank_inpaint_image]
 * (the latent-space values of a zero pixel image). out: [B, 5, h, w]. */
static void inpaint_concat(const float *mask, const float *lat, const int64_t shape[4],
                           float *out) {
    static const float blank[4] = {0.8223f, -0.6876f, 0.6364f, 0.1380f};
    const int64_t B = shape[0], C = shape[1];
    const size_t plane = (size_t)(shape[2] * shape[3]);
    for (int64_t b = 0; b < B; b++) {
        float *o = out + (size_t)(b * (C + 1)) * plane;
        if (mask) {
            const float *m = mask + (size_t)(b * C) * plane; /* channel 0 */
            for (size_t q = 0; q < plane; q++) o[q] = rintf(m[q]); /* torch.round: half-even */
            memcpy(o + plane, lat + (size_t)(b * C) * plane, sizeof(float) * plane * (size_t)C);
        } else {
            for (size_t q = 0; q < plane; q++) o[q] = 1.0f;
            for (int64_t c = 0; c < C; c++)
                for (size_t q = 0; q < plane; q++)
                    o[(size_t)(c + 1) * plane + q] = 1.0f * blank[c];
        }
    }
}

static bool all_zero(const float *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0.0f) return false;
    return true;
}

sdf_status sdf_ksample(sdf_model *model, const sdf_latent *latent,
                       const sdf_conditioning *positive, const sdf_conditioning *negative,
                       const sdf_ksampler_opts *o, sdf_tensor **out, sdf_error *err) {
    *out = NULL;
    const sdf_tensor *samples = latent ? latent->samples : NULL;
    if (!samples || samples->dtype != SDF_DTYPE_F32 || samples->ndim != 4)
        return sdf_fail(err, SDF_ERR_SHAPE, "latent_image: expected [B,C,h,w] f32 samples");
    if (o->sampler < 0 || o->sampler >= SDF_N_SAMPLERS)
        return sdf_fail(err, SDF_ERR_INVALID, "unknown sampler");
    if (o->scheduler < 0 || o->scheduler >= SDF_N_SCHEDULERS)
        return sdf_fail(err, SDF_ERR_INVALID, "unknown scheduler");
    const bool inpaint_model = model->unet.in_channels == 9;
    if (model->unet.in_channels != 4 && !inpaint_model && !o->apply)
        return sdf_fail(err, SDF_ERR_UNSUPPORTED,
                        "UNets with %d input channels are not supported (4, or 9 for inpainting)",
                        model->unet.in_channels);
    const int64_t *shape = samples->shape;
    if (shape[1] != 4)
        return sdf_fail(err, SDF_ERR_SHAPE, "latent_image has %lld channels, SD expects 4",
                        (long long)shape[1]);
    const size_t n = (size_t)sdf_tensor_numel(samples);
    const bool is_ddim = strcmp(sdf_sampler_names[o->sampler], "ddim") == 0;
    if (is_ddim && o->seed == UINT64_MAX && latent->noise_mask)
        return sdf_fail(err, SDF_ERR_INVALID,
                        "seed 18446744073709551615 cannot be used with ddim (seed + 1 overflows)");

    sdf_msampling ms;
    sdf_msampling_init(&ms, model->prediction, model->zsnr);
    float *sig = NULL;
    int ns = 0;
    sdf_status st = sdf_ksampler_sigmas(&ms, o->sampler, o->scheduler, o->steps, o->denoise, &sig,
                                        &ns, err);
    if (st != SDF_OK) return st;
    bool run = ns > 0 && sdf_sigmas_truncate(sig, &ns, o->start_step, o->last_step,
                                             o->force_full_denoise);
    if (!run || ns == 0) {
        /* nothing to sample: the input latent, unchanged */
        sdf_free(sig);
        *out = sdf_tensor_clone(samples, err);
        return *out ? SDF_OK : err->code;
    }

    sdf_tensor *noise = NULL, *mask = NULL, *ddim_noise = NULL;
    float *lat = NULL, *x = NULL, *tmp = NULL;
    sdf_guider *g = NULL;
    if (o->disable_noise) {
        noise = sdf_tensor_zeros(SDF_DTYPE_F32, 4, shape, err);
        st = noise ? SDF_OK : err->code;
    } else {
        st = sdf_prepare_noise(4, shape, o->seed, latent->batch_index, latent->n_batch_index,
                               &noise, err);
    }
    if (st != SDF_OK) goto done;
    if (latent->noise_mask) {
        mask = sdf_prepare_noise_mask(latent->noise_mask, shape, err);
        if (!mask) {
            st = err->code;
            goto done;
        }
    }
    lat = sdf_malloc_aligned(sizeof(float) * n);
    x = sdf_malloc_aligned(sizeof(float) * n);
    tmp = sdf_malloc_aligned(sizeof(float) * n);
    if (!lat || !x || !tmp) {
        st = sdf_fail(err, SDF_ERR_NOMEM, "sampler: out of memory");
        goto done;
    }
    {
        const float *sp = sdf_tensor_f32p(samples);
        float scale = model->latent_scale > 0 ? model->latent_scale : 0.18215f;
        if (all_zero(sp, n)) memset(lat, 0, sizeof(float) * n);
        else
            for (size_t k = 0; k < n; k++) lat[k] = sp[k] * scale;
    }
    sdf_unet_apply_ctx uctx = {.model = model, .pool = o->pool};
    st = sdf_guider_new(&ms, o->apply ? o->apply : sdf_unet_apply, o->apply ? o->apply_ctx : &uctx,
                        positive, negative, o->cfg, shape, &g, err);
    if (st != SDF_OK) goto done;
    if (inpaint_model) {
        float *cc = sdf_malloc(sizeof(float) * (n / 4 * 5));
        if (!cc) {
            st = sdf_fail(err, SDF_ERR_NOMEM, "sampler: out of memory");
            goto done;
        }
        inpaint_concat(mask ? sdf_tensor_f32p(mask) : NULL, lat, shape, cc);
        st = sdf_guider_set_concat(g, cc, 5, err);
        sdf_free(cc);
        if (st != SDF_OK) goto done;
    }

    bool maxd = sdf_ms_max_denoise(&ms, sig[0]);
    sdf_ms_noise_scaling(sig[0], maxd, sdf_tensor_f32p(noise), lat, x, n);

    const float *inpaint_noise = sdf_tensor_f32p(noise);
    if (is_ddim && mask) {
        /* ddim: inpaint noise from torch.manual_seed(seed + 1) */
        sdf_rng rg;
        sdf_rng_seed(&rg, o->seed + 1);
        ddim_noise = sdf_rng_randn_tensor(&rg, 4, shape, err);
        if (!ddim_noise) {
            st = err->code;
            goto done;
        }
        inpaint_noise = sdf_tensor_f32p(ddim_noise);
    }
    sdf_inpaint_wrap iw = {.inner = sdf_guider_denoise, .inner_ctx = g,
                           .mask = mask ? sdf_tensor_f32p(mask) : NULL, .latent = lat,
                           .noise = inpaint_noise, .n = n, .tmp = tmp};
    sdf_sampler_run r = {.ms = &ms, .n = n, .denoise = sdf_inpaint_denoise, .denoise_ctx = &iw,
                         .seed = o->seed, .step = o->step, .step_user = o->step_user};
    st = sdf_sample(o->sampler, &r, sig, ns, x, err);
    if (st != SDF_OK) goto done;
    {
        sdf_tensor *res = sdf_tensor_new(SDF_DTYPE_F32, 4, shape, err);
        if (!res) {
            st = err->code;
            goto done;
        }
        float scale = model->latent_scale > 0 ? model->latent_scale : 0.18215f;
        float *rp = sdf_tensor_f32p(res);
        for (size_t k = 0; k < n; k++) rp[k] = x[k] / scale;
        *out = res;
    }
done:
    sdf_guider_free(g);
    sdf_tensor_release(noise);
    sdf_tensor_release(mask);
    sdf_tensor_release(ddim_noise);
    sdf_free(lat);
    sdf_free(x);
    sdf_free(tmp);
    sdf_free(sig);
    return st;
}
