/* test_ksampler.c: the KSampler / KSamplerAdvanced / VAEEncodeForInpaint / ModelSamplingDiscrete
 * nodes end to end on the tiny reference checkpoint (seeded txt2img vs the reference's final
 * latent: seed parity end to end), batched CFG and area conditioning with a fake network, and
 * progress / cancellation. */
#include "testing.h"

#include "core/base/alloc.h"
#include "core/graph/nodecall_int.h"
#include "core/io/safetensors.h"
#include "core/models/guidance.h"
#include "core/models/ksampler.h"
#include "core/models/sampler_names.h"
#include "core/models/vae.h"
#include "nodes/nodes.h"
#include "tiny_models.h"

static const sdf_node_def *find_def(const char *name) {
    static sdf_builtin_storage storage;
    sdf_registry reg;
    sdf_builtin_registry(&storage, &reg);
    return sdf_registry_find(&reg, name);
}

static sdf_value *cond_value(sdf_tensor *t) {
    sdf_value *v = sdf_value_conditioning(1);
    v->u.cond.e[0].cond = sdf_tensor_retain(t);
    return v;
}

static int set_arg(sdf_node_call *c, const char *name, sdf_value *v) {
    int i = sdf_node_input_index(c->def, name);
    if (i < 0) return -1;
    c->args[i] = v;
    return i;
}

typedef struct host_state {
    int progress_calls;
    int64_t last_value, last_max;
    int cancel_after; /* cancel once this many progress events were seen (<0: never) */
} host_state;

static void h_progress(void *user, const char *node, int64_t v, int64_t max) {
    host_state *h = user;
    (void)node;
    h->progress_calls++;
    h->last_value = v;
    h->last_max = max;
}

static bool h_cancelled(void *user) {
    host_state *h = user;
    return h->cancel_after >= 0 && h->progress_calls >= h->cancel_after;
}

static void test_txt2img_seed_parity(void) {
    NEED_REFERENCE();
    sdf_model *m = tiny_unet_model(test_ref_path("tiny-sd1.safetensors"));
    REQUIRE(m);
    sdf_error err = {0};
    sdf_st_file *g = NULL;
    REQUIRE(sdf_st_open(test_ref_path("golden/sample_euler_normal.safetensors"), &g, &err) ==
            SDF_OK);
    sdf_tensor *cond = sdf_st_tensor_f32(g, "cond", &err), *unc = sdf_st_tensor_f32(g, "uncond", &err);
    sdf_tensor *ref = sdf_st_tensor_f32(g, "final_latent", &err);
    REQUIRE(cond && unc && ref);
    const sdf_node_def *d = find_def("KSampler");
    REQUIRE(d && d->run);
    host_state hs = {.cancel_after = -1};
    sdf_call_host host = {.user = &hs, .progress = h_progress, .cancelled = h_cancelled};
    sdf_node_call c = {.def = d, .node_id = "3", .host = &host};
    sdf_tensor *zeros = sdf_tensor_f32(&err, 4, (int64_t)1, (int64_t)4, (int64_t)8, (int64_t)8);
    sdf_value *vals[10] = {
        sdf_value_handle(SDF_VT_MODEL, sdf_model_retain(m), &sdf_model_handle),
        sdf_value_u64(42), sdf_value_int(8), sdf_value_float(7.0), sdf_value_string("euler"),
        sdf_value_string("normal"), cond_value(cond), cond_value(unc),
        sdf_value_latent(zeros, NULL, NULL, 0), sdf_value_float(1.0)};
    const char *names[10] = {"model", "seed", "steps", "cfg", "sampler_name", "scheduler",
                             "positive", "negative", "latent_image", "denoise"};
    for (int i = 0; i < 10; i++) CHECK(set_arg(&c, names[i], vals[i]) >= 0);
    sdf_status st = sdf_node_call_run(&c, &err);
    CHECKF(st == SDF_OK, "%s", err.msg);
    if (st == SDF_OK) {
        sdf_value *out = c.outputs[0];
        REQUIRE(out && out->type == SDF_VT_LATENT);
        test_compare("txt2img final_latent (euler/normal, seed 42, cfg 7)",
                     sdf_tensor_f32p(out->u.latent.samples), sdf_tensor_f32p(ref), 256, -1, 2e-4);
        CHECK(hs.progress_calls == 8 && hs.last_value == 8 && hs.last_max == 8);
    }
    sdf_node_call_deinit(&c);

    /* cancellation between steps */
    hs = (host_state){.cancel_after = 3};
    sdf_node_call c2 = {.def = d, .node_id = "3", .host = &host};
    for (int i = 0; i < 10; i++) set_arg(&c2, names[i], vals[i]);
    sdf_error_clear(&err);
    CHECK(sdf_node_call_run(&c2, &err) == SDF_ERR_CANCELLED);
    CHECK(hs.progress_calls == 3);
    sdf_node_call_deinit(&c2);

    /* KSamplerAdvanced: steps 0..4 with leftover noise, then 4..8 without added noise equals the
     * plain run (the latent carries the leftover noise divided by the scale factor) */
    const sdf_node_def *da = find_def("KSamplerAdvanced");
    REQUIRE(da && da->run);
    sdf_node_call a1 = {.def = da, .node_id = "10"};
    set_arg(&a1, "model", vals[0]);
    sdf_value *en = sdf_value_string("enable"), *dis = sdf_value_string("disable");
    sdf_value *s0 = sdf_value_int(0), *s4 = sdf_value_int(4), *s10k = sdf_value_int(10000);
    set_arg(&a1, "add_noise", en);
    set_arg(&a1, "noise_seed", vals[1]);
    set_arg(&a1, "steps", vals[2]);
    set_arg(&a1, "cfg", vals[3]);
    set_arg(&a1, "sampler_name", vals[4]);
    set_arg(&a1, "scheduler", vals[5]);
    set_arg(&a1, "positive", vals[6]);
    set_arg(&a1, "negative", vals[7]);
    set_arg(&a1, "latent_image", vals[8]);
    set_arg(&a1, "start_at_step", s0);
    set_arg(&a1, "end_at_step", s4);
    set_arg(&a1, "return_with_leftover_noise", en);
    sdf_error_clear(&err);
    st = sdf_node_call_run(&a1, &err);
    CHECKF(st == SDF_OK, "%s", err.msg);
    if (st == SDF_OK) {
        sdf_node_call a2 = {.def = da, .node_id = "11"};
        memcpy(a2.args, a1.args, sizeof a2.args);
        set_arg(&a2, "add_noise", dis);
        set_arg(&a2, "latent_image", a1.outputs[0]);
        set_arg(&a2, "start_at_step", s4);
        set_arg(&a2, "end_at_step", s10k);
        set_arg(&a2, "return_with_leftover_noise", dis);
        st = sdf_node_call_run(&a2, &err);
        CHECKF(st == SDF_OK, "%s", err.msg);
        if (st == SDF_OK)
            test_compare("KSamplerAdvanced 0-4 + 4-end", sdf_tensor_f32p(a2.outputs[0]->u.latent.samples),
                         sdf_tensor_f32p(ref), 256, -1, 2e-4);
        sdf_node_call_deinit(&a2);
    }
    sdf_node_call_deinit(&a1);
    sdf_value_release(en);
    sdf_value_release(dis);
    sdf_value_release(s0);
    sdf_value_release(s4);
    sdf_value_release(s10k);
    for (int i = 0; i < 10; i++) sdf_value_release(vals[i]);
    sdf_tensor_release(zeros);
    sdf_tensor_release(cond);
    sdf_tensor_release(unc);
    sdf_tensor_release(ref);
    sdf_st_close(g);
    sdf_model_release(m);
}

/* img2img on the real UNet vs the reference (latent_image_raw given directly). */
static void test_img2img_reference(void) {
    NEED_REFERENCE();
    sdf_model *m = tiny_unet_model(test_ref_path("tiny-sd1.safetensors"));
    REQUIRE(m);
    sdf_error err = {0};
    sdf_st_file *g = NULL;
    REQUIRE(sdf_st_open(test_ref_path("golden/img2img_dpmpp_2m_karras_d0.6.safetensors"), &g,
                        &err) == SDF_OK);
    sdf_tensor *cond = sdf_st_tensor_f32(g, "cond", &err), *unc = sdf_st_tensor_f32(g, "uncond", &err);
    sdf_tensor *ref = sdf_st_tensor_f32(g, "final_latent", &err);
    sdf_tensor *raw = sdf_st_tensor_f32(g, "latent_image_raw", &err);
    REQUIRE(cond && unc && ref && raw);
    sdf_value *pos = cond_value(cond), *neg = cond_value(unc);
    sdf_latent lat = {.samples = raw};
    sdf_ksampler_opts o = {.seed = 7, .steps = 6, .cfg = 7.0,
                           .sampler = sdf_sampler_index("dpmpp_2m"),
                           .scheduler = sdf_scheduler_index("karras"), .denoise = 0.6,
                           .start_step = -1, .last_step = -1};
    sdf_tensor *out = NULL;
    sdf_status st = sdf_ksample(m, &lat, &pos->u.cond, &neg->u.cond, &o, &out, &err);
    CHECKF(st == SDF_OK, "%s", err.msg);
    if (out) test_compare("img2img dpmpp_2m karras d0.6", sdf_tensor_f32p(out), sdf_tensor_f32p(ref),
                          256, -1, 2e-4);
    sdf_tensor_release(out);
    /* inpaint with the reference mask as a LATENT noise_mask */
    sdf_st_file *g2 = NULL;
    REQUIRE(sdf_st_open(test_ref_path("golden/inpaint_euler_ancestral_normal.safetensors"), &g2,
                        &err) == SDF_OK);
    sdf_tensor *mask = sdf_st_tensor_f32(g2, "denoise_mask", &err);
    sdf_tensor *ref2 = sdf_st_tensor_f32(g2, "final_latent", &err);
    REQUIRE(mask && ref2);
    sdf_latent lat2 = {.samples = raw, .noise_mask = mask};
    sdf_ksampler_opts o2 = {.seed = 9, .steps = 8, .cfg = 7.0,
                            .sampler = sdf_sampler_index("euler_ancestral"),
                            .scheduler = sdf_scheduler_index("normal"), .denoise = 1.0,
                            .start_step = -1, .last_step = -1};
    st = sdf_ksample(m, &lat2, &pos->u.cond, &neg->u.cond, &o2, &out, &err);
    CHECKF(st == SDF_OK, "%s", err.msg);
    if (out) test_compare("inpaint euler_ancestral (noise mask)", sdf_tensor_f32p(out),
                          sdf_tensor_f32p(ref2), 256, -1, 2e-4);
    sdf_tensor_release(out);
    sdf_tensor_release(mask);
    sdf_tensor_release(ref2);
    sdf_st_close(g2);
    sdf_value_release(pos);
    sdf_value_release(neg);
    sdf_tensor_release(cond);
    sdf_tensor_release(unc);
    sdf_tensor_release(ref);
    sdf_tensor_release(raw);
    sdf_st_close(g);
    sdf_model_release(m);
}

/* ---- guidance with a fake network: eps = x_c * a(context) (a = mean of the context) ---- */
typedef struct fake_net {
    int calls;
    int64_t last_batch;
    int64_t last_tokens;
} fake_net;

static sdf_status fake_apply(void *ctx, const sdf_tensor *xc, const float *t,
                             const sdf_tensor *context, sdf_tensor **out, sdf_error *err) {
    fake_net *f = ctx;
    (void)t;
    f->calls++;
    f->last_batch = xc->shape[0];
    f->last_tokens = context->shape[1];
    *out = sdf_tensor_new(SDF_DTYPE_F32, 4, xc->shape, err);
    if (!*out) return err->code;
    int64_t N = xc->shape[0], per = sdf_tensor_numel(xc) / N;
    int64_t cper = sdf_tensor_numel(context) / N;
    for (int64_t b = 0; b < N; b++) {
        double a = 0;
        for (int64_t k = 0; k < cper; k++) a += sdf_tensor_f32p(context)[b * cper + k];
        a /= (double)cper;
        for (int64_t k = 0; k < per; k++)
            sdf_tensor_f32p(*out)[b * per + k] = sdf_tensor_f32p(xc)[b * per + k] * (float)a;
    }
    return SDF_OK;
}

static sdf_tensor *const_ctx(int64_t T, float v) {
    sdf_error err;
    sdf_tensor *t = sdf_tensor_f32(&err, 3, (int64_t)1, T, (int64_t)8);
    for (int64_t i = 0; i < T * 8; i++) sdf_tensor_f32p(t)[i] = v;
    return t;
}

static void test_guider_cfg_and_areas(void) {
    sdf_msampling ms;
    sdf_msampling_init(&ms, SDF_PRED_EPS, false);
    sdf_error err = {0};
    const int64_t shape[4] = {1, 4, 16, 16};
    enum { N = 4 * 16 * 16 };
    float x[N], den[N], unc[N];
    for (int k = 0; k < N; k++) x[k] = (float)((k % 37) - 18) * 0.1f;
    const float sigma = 2.0f;
    const float a_pos = 0.5f, a_neg = -0.25f;
    sdf_tensor *cp = const_ctx(77, a_pos), *cn = const_ctx(154, a_neg);
    sdf_value *pos = cond_value(cp), *neg = cond_value(cn);
    fake_net f = {0};
    sdf_guider *g = NULL;
    REQUIRE(sdf_guider_new(&ms, fake_apply, &f, &pos->u.cond, &neg->u.cond, 7.5, shape, &g, &err) ==
            SDF_OK);
    REQUIRE(sdf_guider_denoise(g, x, sigma, den, NULL, &err) == SDF_OK);
    /* one batched call (cond + uncond), contexts 77 and 154 padded to 154 */
    CHECK(f.calls == 1 && f.last_batch == 2 && f.last_tokens == 154);
    double e = 0;
    for (int k = 0; k < N; k++) {
        double s = sqrt((double)sigma * sigma + 1);
        double dc = x[k] - sigma * (x[k] / s * a_pos), du = x[k] - sigma * (x[k] / s * a_neg);
        e = fmax(e, fabs(den[k] - (du + (dc - du) * 7.5)));
    }
    CHECKF(e < 1e-5, "cfg combination err %.3g", e);
    sdf_guider_free(g);
    /* cfg 1: the negative list is not evaluated, unless the uncond prediction is requested */
    f = (fake_net){0};
    REQUIRE(sdf_guider_new(&ms, fake_apply, &f, &pos->u.cond, &neg->u.cond, 1.0, shape, &g, &err) ==
            SDF_OK);
    REQUIRE(sdf_guider_denoise(g, x, sigma, den, NULL, &err) == SDF_OK);
    CHECK(f.calls == 1 && f.last_batch == 1 && f.last_tokens == 77);
    REQUIRE(sdf_guider_denoise(g, x, sigma, den, unc, &err) == SDF_OK);
    CHECK(f.calls == 2 && f.last_batch == 2);
    sdf_guider_free(g);

    /* area conditioning: a second positive entry on the left half (area h 16, w 8, y 0, x 0)
     * with strength 2; feathered at its inner edge; negative is paired with the same area */
    sdf_value *pos2 = sdf_value_conditioning(2);
    pos2->u.cond.e[0].cond = sdf_tensor_retain(cp);
    sdf_tensor *ca = const_ctx(77, 1.0f);
    pos2->u.cond.e[1].cond = sdf_tensor_retain(ca);
    pos2->u.cond.e[1].has_area = true;
    pos2->u.cond.e[1].area[0] = 16, pos2->u.cond.e[1].area[1] = 8;
    pos2->u.cond.e[1].has_strength = true;
    pos2->u.cond.e[1].strength = 2.0;
    f = (fake_net){0};
    REQUIRE(sdf_guider_new(&ms, fake_apply, &f, &pos2->u.cond, &neg->u.cond, 1.0, shape, &g, &err) ==
            SDF_OK);
    REQUIRE(sdf_guider_denoise(g, x, sigma, den, NULL, &err) == SDF_OK);
    /* full-size cond and area cond have different input sizes: two calls */
    CHECK(f.calls == 2);
    double s = sqrt((double)sigma * sigma + 1);
    e = 0;
    for (int ch = 0; ch < 4; ch++)
        for (int y = 0; y < 16; y++)
            for (int xx = 0; xx < 16; xx++) {
                int k = (ch * 16 + y) * 16 + xx;
                double d_full = x[k] - sigma * (x[k] / s * a_pos);
                double d_area = x[k] - sigma * (x[k] / s * 1.0);
                double w = 0;
                if (xx < 8) {
                    int rr = 2; /* min(8, 8 // 4) */
                    w = 2.0;
                    if (xx >= 8 - rr) w *= (1.0 / rr) * (8 - xx); /* high edge (not touching) */
                }
                double expect = (d_full * 1.0 + d_area * w) / (1.0 + w + 1e-37);
                e = fmax(e, fabs(den[k] - expect));
            }
    CHECKF(e < 1e-5, "area combination err %.3g", e);
    sdf_guider_free(g);
    /* with cfg != 1 the negative list got a paired area entry: 2 calls of batch 2 */
    f = (fake_net){0};
    REQUIRE(sdf_guider_new(&ms, fake_apply, &f, &pos2->u.cond, &neg->u.cond, 3.0, shape, &g, &err) ==
            SDF_OK);
    REQUIRE(sdf_guider_denoise(g, x, sigma, den, NULL, &err) == SDF_OK);
    CHECK(f.calls == 2 && f.last_batch == 2);
    sdf_guider_free(g);
    /* timestep range: an entry active only for percent 0.5..1 (small sigmas) */
    pos2->u.cond.e[1].has_timestep_range = true;
    pos2->u.cond.e[1].start_percent = 0.5;
    pos2->u.cond.e[1].end_percent = 1.0;
    f = (fake_net){0};
    REQUIRE(sdf_guider_new(&ms, fake_apply, &f, &pos2->u.cond, &neg->u.cond, 1.0, shape, &g, &err) ==
            SDF_OK);
    REQUIRE(sdf_guider_denoise(g, x, 10.0f, den, NULL, &err) == SDF_OK);
    CHECK(f.calls == 1); /* sigma 10 > percent_to_sigma(0.5): skipped */
    REQUIRE(sdf_guider_denoise(g, x, 1.0f, den, NULL, &err) == SDF_OK);
    CHECK(f.calls == 3);
    sdf_guider_free(g);
    sdf_value_release(pos2);
    sdf_value_release(pos);
    sdf_value_release(neg);
    sdf_tensor_release(cp);
    sdf_tensor_release(cn);
    sdf_tensor_release(ca);
}

static void test_noise_mask_prepare(void) {
    sdf_error err = {0};
    sdf_tensor *m = sdf_tensor_f32(&err, 3, (int64_t)1, (int64_t)4, (int64_t)4);
    for (int i = 0; i < 16; i++) sdf_tensor_f32p(m)[i] = (float)(i % 4 >= 2);
    const int64_t shape[4] = {2, 4, 8, 8};
    sdf_tensor *p = sdf_prepare_noise_mask(m, shape, &err);
    REQUIRE(p);
    /* bilinear x2: columns 0..2 -> 0, column 3 -> 0.25, 4 -> 0.75, 5.. -> 1 */
    const float *q = sdf_tensor_f32p(p);
    CHECK(q[0] == 0.0f && q[3] == 0.25f && q[4] == 0.75f && q[7] == 1.0f);
    CHECK(memcmp(q, q + 64, 64 * sizeof(float)) == 0);          /* channel repeat */
    CHECK(memcmp(q, q + 256, 256 * sizeof(float)) == 0);        /* batch repeat */
    sdf_tensor_release(p);
    sdf_tensor_release(m);
}

static void test_vae_encode_for_inpaint(void) {
    NEED_REFERENCE();
    sdf_vae *v = tiny_vae(test_ref_path("tiny-sd1.safetensors"));
    REQUIRE(v);
    sdf_error err = {0};
    /* 1x34x30 image (not multiples of 4: cropped to 32x28, offsets 1 and 1) */
    sdf_tensor *img = sdf_tensor_f32(&err, 4, (int64_t)1, (int64_t)34, (int64_t)30, (int64_t)3);
    for (int64_t i = 0; i < 34 * 30 * 3; i++) sdf_tensor_f32p(img)[i] = (float)((i * 7) % 11) / 10.0f;
    sdf_tensor *mask = sdf_tensor_f32(&err, 3, (int64_t)1, (int64_t)34, (int64_t)30);
    sdf_tensor_f32p(mask)[(10 + 1) * 30 + 10 + 1] = 1.0f; /* one pixel at cropped (10, 10) */
    const sdf_node_def *d = find_def("VAEEncodeForInpaint");
    REQUIRE(d && d->run);
    sdf_node_call c = {.def = d, .node_id = "5"};
    sdf_value *vi = sdf_value_tensor(SDF_VT_IMAGE, img), *vm = sdf_value_tensor(SDF_VT_MASK, mask);
    sdf_value *vv = sdf_value_handle(SDF_VT_VAE, sdf_vae_retain(v), &sdf_vae_handle);
    sdf_value *vg = sdf_value_int(6);
    set_arg(&c, "pixels", vi);
    set_arg(&c, "mask", vm);
    set_arg(&c, "vae", vv);
    set_arg(&c, "grow_mask_by", vg);
    sdf_status st = sdf_node_call_run(&c, &err);
    if (st == SDF_ERR_NOT_IMPLEMENTED && strstr(err.msg, "VAE encode")) {
        /* the VAE encoder has not landed in this tree yet */
        fprintf(stderr, "  SKIP: %s\n", err.msg);
        test_g.skipped = 1;
    } else {
        CHECKF(st == SDF_OK, "%s", err.msg);
    }
    if (st == SDF_OK) {
        const sdf_latent *l = &c.outputs[0]->u.latent;
        CHECK(l->samples->shape[2] == 8 && l->samples->shape[3] == 7);
        REQUIRE(l->noise_mask && l->noise_mask->shape[2] == 32 && l->noise_mask->shape[3] == 28);
        /* grow 6: padding 3, window rows i-3..i+2 -> ones for i in 8..13 */
        const float *nm = sdf_tensor_f32p(l->noise_mask);
        int ones = 0;
        for (int i = 0; i < 32 * 28; i++) ones += nm[i] == 1.0f;
        CHECK(ones == 36);
        CHECK(nm[8 * 28 + 8] == 1.0f && nm[13 * 28 + 13] == 1.0f && nm[7 * 28 + 8] == 0.0f &&
              nm[14 * 28 + 8] == 0.0f);
        /* the encoded latent equals encoding the cropped image with the pixel set to 0.5 */
        sdf_tensor *crop = sdf_tensor_f32(&err, 4, (int64_t)1, (int64_t)32, (int64_t)28, (int64_t)3);
        for (int y = 0; y < 32; y++)
            for (int xx = 0; xx < 28; xx++)
                for (int ch = 0; ch < 3; ch++)
                    sdf_tensor_f32p(crop)[(y * 28 + xx) * 3 + ch] =
                        (y == 10 && xx == 10) ? 0.5f
                                              : sdf_tensor_f32p(img)[((y + 1) * 30 + xx + 1) * 3 + ch];
        sdf_tensor *lat = NULL;
        REQUIRE(sdf_vae_encode(v, crop, NULL, &lat, &err) == SDF_OK);
        test_compare("VAEEncodeForInpaint latent", sdf_tensor_f32p(l->samples), sdf_tensor_f32p(lat),
                     (size_t)sdf_tensor_numel(lat), 0, -1);
        sdf_tensor_release(lat);
        sdf_tensor_release(crop);
    }
    sdf_node_call_deinit(&c);
    sdf_value_release(vi);
    sdf_value_release(vm);
    sdf_value_release(vv);
    sdf_value_release(vg);
    sdf_tensor_release(img);
    sdf_tensor_release(mask);
    sdf_vae_release(v);
}

static void test_model_sampling_node(void) {
    NEED_REFERENCE();
    sdf_model *m = tiny_unet_model(test_ref_path("tiny-sd1.safetensors"));
    REQUIRE(m);
    const sdf_node_def *d = find_def("ModelSamplingDiscrete");
    REQUIRE(d && d->run);
    sdf_error err = {0};
    sdf_value *vm = sdf_value_handle(SDF_VT_MODEL, sdf_model_retain(m), &sdf_model_handle);
    sdf_value *vs = sdf_value_string("v_prediction"), *vz = sdf_value_bool(true);
    sdf_node_call c = {.def = d, .node_id = "7"};
    set_arg(&c, "model", vm);
    set_arg(&c, "sampling", vs);
    set_arg(&c, "zsnr", vz);
    REQUIRE(sdf_node_call_run(&c, &err) == SDF_OK);
    sdf_model *n = c.outputs[0]->u.handle.obj;
    CHECK(n != m && n->prediction == SDF_PRED_V && n->zsnr && m->prediction == SDF_PRED_EPS);
    sdf_node_call_deinit(&c);
    /* zsnr table: last sigma 4.8973451890853435e-08 -> sqrt((1-a)/a) ~ 4518.9 */
    sdf_msampling ms;
    sdf_msampling_init(&ms, SDF_PRED_V, true);
    CHECK_NEAR(ms.sigmas[999], sqrt((1 - 4.8973451890853435e-08) / 4.8973451890853435e-08), 0.01);
    CHECK(ms.sigmas[0] < 0.03f);
    /* unsupported kind: a clear error naming the input */
    sdf_value *bad = sdf_value_string("lcm");
    sdf_node_call c2 = {.def = d, .node_id = "7"};
    set_arg(&c2, "model", vm);
    set_arg(&c2, "sampling", bad);
    set_arg(&c2, "zsnr", vz);
    sdf_error_clear(&err);
    CHECK(sdf_node_call_run(&c2, &err) == SDF_ERR_UNSUPPORTED && strcmp(err.input, "sampling") == 0);
    sdf_node_call_deinit(&c2);
    sdf_value_release(bad);
    sdf_value_release(vm);
    sdf_value_release(vs);
    sdf_value_release(vz);
    sdf_model_release(m);
}

static void test_node_tables(void) {
    const sdf_node_def *d = find_def("KSampler");
    REQUIRE(d);
    int i = sdf_node_input_index(d, "sampler_name");
    REQUIRE(i >= 0);
    CHECK(d->inputs[i].n_choices == 44);
    CHECK_STR(d->inputs[i].choices[0], "euler");
    CHECK_STR(d->inputs[i].choices[43], "uni_pc_bh2");
    i = sdf_node_input_index(d, "scheduler");
    CHECK(d->inputs[i].n_choices == 9);
    CHECK_STR(d->inputs[i].choices[0], "simple");
    CHECK_STR(d->inputs[i].choices[8], "kl_optimal");
    CHECK(d->inputs[sdf_node_input_index(d, "seed")].max_i == UINT64_MAX);
    CHECK(find_def("KSamplerAdvanced") && find_def("VAEEncodeForInpaint") &&
          find_def("ModelSamplingDiscrete"));
}

int main(void) {
    RUN(test_node_tables);
    RUN(test_noise_mask_prepare);
    RUN(test_guider_cfg_and_areas);
    RUN(test_txt2img_seed_parity);
    RUN(test_img2img_reference);
    RUN(test_vae_encode_for_inpaint);
    RUN(test_model_sampling_node);
    return test_summary();
}
