/* test_inpaint_model.c: inpainting UNets (in_channels 9) in the sampler: the c_concat that
 * BaseModel.concat_cond builds for set_inpaint models ([round(mask), masked latent] after the
 * c_in-scaled x, for cond and uncond rows, narrowed to a cond's area; [ones, blank latent]
 * without a noise mask), captured with a fake network and checked against hand-computed
 * values, and a full VAEEncodeForInpaint -> KSampler run through the nodes on the tiny reference
 * checkpoint with its UNet widened to 9 input channels. */
#include "testing.h"

#include <math.h>

#include "core/base/alloc.h"
#include "core/graph/nodecall_int.h"
#include "core/models/guidance.h"
#include "core/models/ksampler.h"
#include "core/models/sampler_names.h"
#include "nodes/nodes.h"
#include "tiny_models.h"

static int name_index(const char *const *names, int n, const char *want) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], want) == 0) return i;
    return -1;
}

/* ---- (a) the UNet input the sampler builds ---- */

#define MAX_CAP 8
typedef struct capture {
    int n;
    sdf_tensor *xc[MAX_CAP];
} capture;

static sdf_status cap_apply(void *ctx, const sdf_tensor *xc, const float *t,
                            const sdf_tensor *context, sdf_tensor **out, sdf_error *err) {
    capture *c = ctx;
    (void)t;
    (void)context;
    if (c->n < MAX_CAP) {
        c->xc[c->n] = sdf_tensor_clone(xc, err);
        if (!c->xc[c->n]) return err->code;
        c->n++;
    }
    int64_t os[4] = {xc->shape[0], 4, xc->shape[2], xc->shape[3]};
    *out = sdf_tensor_zeros(SDF_DTYPE_F32, 4, os, err);
    return *out ? SDF_OK : err->code;
}

static void cap_free(capture *c) {
    for (int i = 0; i < c->n; i++) sdf_tensor_release(c->xc[i]);
    c->n = 0;
}

static sdf_tensor *ctx_tensor(float v) {
    sdf_error err;
    sdf_tensor *t = sdf_tensor_f32(&err, 3, (int64_t)1, (int64_t)77, (int64_t)8);
    for (int64_t i = 0; i < 77 * 8; i++) sdf_tensor_f32p(t)[i] = v;
    return t;
}

static sdf_ksampler_opts opts_for(capture *cap, double cfg) {
    sdf_ksampler_opts o = {.seed = 7, .steps = 1, .cfg = cfg, .denoise = 1.0, .start_step = -1,
                           .last_step = -1, .apply = cap_apply, .apply_ctx = cap};
    o.sampler = name_index(sdf_sampler_names, SDF_N_SAMPLERS, "euler");
    o.scheduler = name_index(sdf_scheduler_names, SDF_N_SCHEDULERS, "normal");
    return o;
}

/* expected concat row for batch item b: [B, 5, 8, 8] */
static void check_concat_rows(const sdf_tensor *xc, int64_t rows, int64_t B, const float *want,
                              int64_t h, int64_t w, int64_t y0, int64_t x0, int64_t H, int64_t W) {
    bool shape_ok = xc->ndim == 4 && xc->shape[0] == rows && xc->shape[1] == 9 &&
                    xc->shape[2] == h && xc->shape[3] == w;
    CHECKF(shape_ok, "model input [%lld,%lld,%lld,%lld], want [%lld,9,%lld,%lld]",
           (long long)xc->shape[0], (long long)xc->shape[1], (long long)xc->shape[2],
           (long long)xc->shape[3], (long long)rows, (long long)h, (long long)w);
    if (!shape_ok) return;
    const float *p = sdf_tensor_f32p(xc);
    int bad = 0;
    for (int64_t r = 0; r < rows; r++) {
        int64_t b = r % B;
        for (int64_t c = 0; c < 5; c++)
            for (int64_t y = 0; y < h; y++)
                for (int64_t x = 0; x < w; x++) {
                    float got = p[((r * 9 + 4 + c) * h + y) * w + x];
                    float exp = want[((b * 5 + c) * H + y + y0) * W + x + x0];
                    bad += got != exp;
                }
        /* the first four channels: the c_in-scaled x, the same for cond and uncond rows */
        if (r >= B)
            bad += memcmp(p + r * 9 * h * w, p + b * 9 * h * w, sizeof(float) * 4 * (size_t)(h * w)) != 0;
    }
    CHECKF(bad == 0, "%d concat values differ", bad);
}

static void test_concat_capture(void) {
    sdf_error err = {0};
    sdf_wstore *ws = sdf_wstore_new(&err);
    REQUIRE(ws);
    sdf_model *m = sdf_model_new(ws, &err);
    REQUIRE(m);
    m->unet.in_channels = 9;
    m->unet.out_channels = 4;
    m->prediction = SDF_PRED_EPS;
    m->latent_scale = 0.18215f;
    const int64_t B = 2, H = 8, W = 8, plane = H * W;
    sdf_tensor *samples = sdf_tensor_f32(&err, 4, B, (int64_t)4, H, W);
    for (int64_t i = 0; i < B * 4 * plane; i++)
        sdf_tensor_f32p(samples)[i] = (float)((i * 37) % 23) / 7.0f - 1.5f;
    /* a 16x16 mask: bilinear to 8x8 averages 2x2 blocks; block (y, x) holds (y + x) % 5 ones
     * (0, 0.25, 0.5, 0.75, 1 after the resize): round (half to even) gives 0,0,0,1,1 */
    sdf_tensor *mask = sdf_tensor_f32(&err, 3, (int64_t)1, (int64_t)16, (int64_t)16);
    for (int64_t y = 0; y < 8; y++)
        for (int64_t x = 0; x < 8; x++) {
            int ones = (int)((y + x) % 5);
            for (int k = 0; k < 4; k++)
                sdf_tensor_f32p(mask)[(2 * y + k / 2) * 16 + 2 * x + k % 2] = k < ones ? 1.0f : 0.0f;
        }
    float *want = sdf_malloc(sizeof(float) * (size_t)(B * 5 * plane));
    for (int64_t b = 0; b < B; b++) {
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++)
                want[(b * 5) * plane + y * W + x] = (y + x) % 5 >= 3 ? 1.0f : 0.0f;
        for (int64_t c = 0; c < 4; c++)
            for (int64_t q = 0; q < plane; q++)
                want[(b * 5 + 1 + c) * plane + q] =
                    sdf_tensor_f32p(samples)[(b * 4 + c) * plane + q] * 0.18215f;
    }
    sdf_tensor *cp = ctx_tensor(1.0f), *cn = ctx_tensor(-1.0f);
    sdf_value *vp = sdf_value_conditioning(1), *vn = sdf_value_conditioning(1);
    vp->u.cond.e[0].cond = sdf_tensor_retain(cp);
    vn->u.cond.e[0].cond = sdf_tensor_retain(cn);

    /* cfg 2: cond and uncond in one call of 2 * B rows, both with the concat */
    capture cap = {0};
    sdf_latent lat = {.samples = samples, .noise_mask = mask};
    sdf_ksampler_opts o = opts_for(&cap, 2.0);
    sdf_tensor *out = NULL;
    CHECKF(sdf_ksample(m, &lat, &vp->u.cond, &vn->u.cond, &o, &out, &err) == SDF_OK, "%s", err.msg);
    CHECK(cap.n == 1);
    if (cap.n >= 1) check_concat_rows(cap.xc[0], 2 * B, B, want, H, W, 0, 0, H, W);
    sdf_tensor_release(out);
    cap_free(&cap);

    /* cfg 1: the cond rows only */
    o = opts_for(&cap, 1.0);
    CHECKF(sdf_ksample(m, &lat, &vp->u.cond, &vn->u.cond, &o, &out, &err) == SDF_OK, "%s", err.msg);
    CHECK(cap.n == 1);
    if (cap.n >= 1) check_concat_rows(cap.xc[0], B, B, want, H, W, 0, 0, H, W);
    sdf_tensor_release(out);
    cap_free(&cap);

    /* an area cond (h 4, w 3, y 2, x 5) gets the concat narrowed to its area (the uncond is
     * run both at the cond's area and whole, spec §10.4; every row gets the concat) */
    vp->u.cond.e[0].has_area = true;
    vp->u.cond.e[0].area[0] = 4, vp->u.cond.e[0].area[1] = 3;
    vp->u.cond.e[0].area[2] = 2, vp->u.cond.e[0].area[3] = 5;
    o = opts_for(&cap, 2.0);
    CHECKF(sdf_ksample(m, &lat, &vp->u.cond, &vn->u.cond, &o, &out, &err) == SDF_OK, "%s", err.msg);
    CHECK(cap.n == 2);
    int area_calls = 0, full_calls = 0;
    for (int i = 0; i < cap.n; i++) {
        const sdf_tensor *t = cap.xc[i];
        CHECK(t->shape[0] % B == 0);
        if (t->shape[2] == 4) {
            area_calls++;
            check_concat_rows(t, t->shape[0], B, want, 4, 3, 2, 5, H, W);
        } else {
            full_calls++;
            check_concat_rows(t, t->shape[0], B, want, H, W, 0, 0, H, W);
        }
    }
    CHECK(area_calls == 1 && full_calls == 1);
    sdf_tensor_release(out);
    cap_free(&cap);
    vp->u.cond.e[0].has_area = false;

    /* no noise mask: [ones, blank_inpaint_image_like] (ComfyUI's latent of a zero image) */
    sdf_latent lat2 = {.samples = samples};
    o = opts_for(&cap, 2.0);
    CHECKF(sdf_ksample(m, &lat2, &vp->u.cond, &vn->u.cond, &o, &out, &err) == SDF_OK, "%s", err.msg);
    const float blank[4] = {0.8223f, -0.6876f, 0.6364f, 0.1380f};
    for (int64_t b = 0; b < B; b++) {
        for (int64_t q = 0; q < plane; q++) want[(b * 5) * plane + q] = 1.0f;
        for (int64_t c = 0; c < 4; c++)
            for (int64_t q = 0; q < plane; q++) want[(b * 5 + 1 + c) * plane + q] = blank[c];
    }
    CHECK(cap.n == 1);
    if (cap.n >= 1) check_concat_rows(cap.xc[0], 2 * B, B, want, H, W, 0, 0, H, W);
    sdf_tensor_release(out);
    cap_free(&cap);

    /* an all-zero latent with a mask: the latent is not process_in'ed (zeros stay zeros) and
     * a mask at the latent size is used as is (0.5 rounds to 0, 1.5 to 2) */
    sdf_tensor *zeros = sdf_tensor_zeros(SDF_DTYPE_F32, 4, samples->shape, &err);
    sdf_tensor *m8 = sdf_tensor_f32(&err, 3, (int64_t)1, H, W);
    for (int64_t q = 0; q < plane; q++) sdf_tensor_f32p(m8)[q] = (float)(q % 4) * 0.5f;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t q = 0; q < plane; q++) {
            static const float r[4] = {0.0f, 0.0f, 1.0f, 2.0f};
            want[(b * 5) * plane + q] = r[q % 4];
        }
        for (int64_t c = 0; c < 4; c++)
            for (int64_t q = 0; q < plane; q++) want[(b * 5 + 1 + c) * plane + q] = 0.0f;
    }
    sdf_latent lat3 = {.samples = zeros, .noise_mask = m8};
    o = opts_for(&cap, 2.0);
    CHECKF(sdf_ksample(m, &lat3, &vp->u.cond, &vn->u.cond, &o, &out, &err) == SDF_OK, "%s", err.msg);
    CHECK(cap.n == 1);
    if (cap.n >= 1) check_concat_rows(cap.xc[0], 2 * B, B, want, H, W, 0, 0, H, W);
    sdf_tensor_release(out);
    cap_free(&cap);

    /* a 4-channel model gets no concat */
    m->unet.in_channels = 4;
    o = opts_for(&cap, 2.0);
    CHECKF(sdf_ksample(m, &lat, &vp->u.cond, &vn->u.cond, &o, &out, &err) == SDF_OK, "%s", err.msg);
    CHECK(cap.n == 1 && cap.xc[0]->shape[1] == 4);
    sdf_tensor_release(out);
    cap_free(&cap);
    /* other channel counts are refused with the real network */
    m->unet.in_channels = 8;
    o = opts_for(&cap, 2.0);
    o.apply = NULL;
    o.apply_ctx = NULL;
    CHECK(sdf_ksample(m, &lat, &vp->u.cond, &vn->u.cond, &o, &out, &err) == SDF_ERR_UNSUPPORTED);
    CHECK(out == NULL);

    sdf_tensor_release(zeros);
    sdf_tensor_release(m8);
    sdf_free(want);
    sdf_value_release(vp);
    sdf_value_release(vn);
    sdf_tensor_release(cp);
    sdf_tensor_release(cn);
    sdf_tensor_release(samples);
    sdf_tensor_release(mask);
    sdf_model_release(m);
}

/* ---- (b) end to end through the nodes on a widened tiny checkpoint ---- */

static const sdf_node_def *find_def(const char *name) {
    static sdf_builtin_storage storage;
    sdf_registry reg;
    sdf_builtin_registry(&storage, &reg);
    return sdf_registry_find(&reg, name);
}

static int set_arg(sdf_node_call *c, const char *name, sdf_value *v) {
    int i = sdf_node_input_index(c->def, name);
    if (i < 0) return -1;
    c->args[i] = v;
    return i;
}

/* The tiny UNet with input_blocks.0.0.weight widened to 9 input channels: the first four are
 * the original weights, the five extra ones extra(o, i, k) (0 everywhere when zero_extra). */
static sdf_model *widened_model(bool zero_extra) {
    sdf_model *m = tiny_unet_model(test_ref_path("tiny-sd1.safetensors"));
    if (!m) return NULL;
    sdf_error err = {0};
    sdf_tensor *w4 = sdf_wstore_get_f32(m->weights, "input_blocks.0.0.weight", &err);
    if (!w4 || w4->ndim != 4 || w4->shape[1] != 4) {
        sdf_tensor_release(w4);
        sdf_model_release(m);
        return NULL;
    }
    int64_t O = w4->shape[0], KK = w4->shape[2] * w4->shape[3];
    sdf_tensor *w9 = sdf_tensor_f32(&err, 4, O, (int64_t)9, w4->shape[2], w4->shape[3]);
    float *d = sdf_tensor_f32p(w9);
    const float *s = sdf_tensor_f32p(w4);
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < 9; i++)
            for (int64_t k = 0; k < KK; k++)
                d[(o * 9 + i) * KK + k] =
                    i < 4 ? s[(o * 4 + i) * KK + k]
                          : (zero_extra ? 0.0f : (float)((o * 5 + i * 3 + k) % 9 - 4) * 0.02f);
    sdf_status st = sdf_wstore_put(m->weights, "input_blocks.0.0.weight", w9, &err);
    sdf_tensor_release(w9);
    sdf_tensor_release(w4);
    if (st != SDF_OK) {
        sdf_model_release(m);
        return NULL;
    }
    m->unet.in_channels = 9;
    return m;
}

/* VAEEncodeForInpaint(image, mask) -> KSampler(model) on the nodes; NEW latent or NULL. */
static sdf_tensor *run_inpaint(sdf_model *m, sdf_vae *v, sdf_tensor *img, sdf_tensor *mask,
                               sdf_tensor **enc_out, sdf_tensor **mask_out) {
    sdf_error err = {0};
    const sdf_node_def *de = find_def("VAEEncodeForInpaint"), *dk = find_def("KSampler");
    if (!de || !dk) return NULL;
    sdf_node_call ce = {.def = de, .node_id = "5"};
    sdf_value *vi = sdf_value_tensor(SDF_VT_IMAGE, img), *vm = sdf_value_tensor(SDF_VT_MASK, mask);
    sdf_value *vv = sdf_value_handle(SDF_VT_VAE, sdf_vae_retain(v), &sdf_vae_handle);
    sdf_value *vg = sdf_value_int(2);
    set_arg(&ce, "pixels", vi);
    set_arg(&ce, "mask", vm);
    set_arg(&ce, "vae", vv);
    set_arg(&ce, "grow_mask_by", vg);
    sdf_tensor *res = NULL;
    sdf_status st = sdf_node_call_run(&ce, &err);
    CHECKF(st == SDF_OK, "VAEEncodeForInpaint: %s", err.msg);
    if (st == SDF_OK) {
        const sdf_latent *l = &ce.outputs[0]->u.latent;
        *enc_out = sdf_tensor_retain(l->samples);
        *mask_out = sdf_tensor_retain(l->noise_mask);
        sdf_node_call ck = {.def = dk, .node_id = "3"};
        sdf_tensor *cp = sdf_tensor_f32(&err, 3, (int64_t)1, (int64_t)77, (int64_t)64);
        sdf_tensor *cn = sdf_tensor_f32(&err, 3, (int64_t)1, (int64_t)77, (int64_t)64);
        for (int64_t i = 0; i < 77 * 64; i++) {
            sdf_tensor_f32p(cp)[i] = (float)((i * 13) % 17) / 17.0f - 0.5f;
            sdf_tensor_f32p(cn)[i] = (float)((i * 7) % 11) / 22.0f - 0.25f;
        }
        sdf_value *vp = sdf_value_conditioning(1), *vn = sdf_value_conditioning(1);
        vp->u.cond.e[0].cond = cp;
        vn->u.cond.e[0].cond = cn;
        sdf_value *vals[10] = {
            sdf_value_handle(SDF_VT_MODEL, sdf_model_retain(m), &sdf_model_handle),
            sdf_value_u64(3), sdf_value_int(3), sdf_value_float(5.0), sdf_value_string("dpmpp_2m"),
            sdf_value_string("karras"), vp, vn, sdf_value_retain(ce.outputs[0]),
            sdf_value_float(1.0)};
        const char *names[10] = {"model", "seed", "steps", "cfg", "sampler_name", "scheduler",
                                 "positive", "negative", "latent_image", "denoise"};
        for (int i = 0; i < 10; i++) CHECK(set_arg(&ck, names[i], vals[i]) >= 0);
        st = sdf_node_call_run(&ck, &err);
        CHECKF(st == SDF_OK, "KSampler: %s", err.msg);
        if (st == SDF_OK) res = sdf_tensor_retain(ck.outputs[0]->u.latent.samples);
        sdf_node_call_deinit(&ck);
        for (int i = 0; i < 10; i++) sdf_value_release(vals[i]);
    }
    sdf_node_call_deinit(&ce);
    sdf_value_release(vi);
    sdf_value_release(vm);
    sdf_value_release(vv);
    sdf_value_release(vg);
    return res;
}

static void test_inpaint_model_end_to_end(void) {
    NEED_REFERENCE();
    sdf_vae *v = tiny_vae(test_ref_path("tiny-sd1.safetensors"));
    sdf_model *m4 = tiny_unet_model(test_ref_path("tiny-sd1.safetensors"));
    sdf_model *m0 = widened_model(true), *m9 = widened_model(false);
    REQUIRE(v && m4 && m0 && m9);
    sdf_error err = {0};
    sdf_tensor *img = sdf_tensor_f32(&err, 4, (int64_t)1, (int64_t)32, (int64_t)32, (int64_t)3);
    for (int64_t i = 0; i < 32 * 32 * 3; i++)
        sdf_tensor_f32p(img)[i] = (float)((i * 5) % 13) / 12.0f;
    sdf_tensor *mask = sdf_tensor_f32(&err, 3, (int64_t)1, (int64_t)32, (int64_t)32);
    for (int y = 8; y < 20; y++)
        for (int x = 12; x < 26; x++) sdf_tensor_f32p(mask)[y * 32 + x] = 1.0f;

    sdf_tensor *enc = NULL, *nm = NULL, *e0 = NULL, *n0 = NULL, *e4 = NULL, *n4 = NULL;
    sdf_tensor *r9 = run_inpaint(m9, v, img, mask, &enc, &nm);
    sdf_tensor *r0 = run_inpaint(m0, v, img, mask, &e0, &n0);
    /* the 4-channel model on the same latent with the mask (the ordinary inpaint path) */
    sdf_tensor *r4 = run_inpaint(m4, v, img, mask, &e4, &n4);
    REQUIRE(r9 && r0 && r4 && enc && nm);
    const int64_t n = sdf_tensor_numel(r9);
    CHECK(r9->shape[0] == 1 && r9->shape[1] == 4 && r9->shape[2] == 8 && r9->shape[3] == 8);
    /* zero extra input weights: the concat contributes exactly zero, so the 9-channel model
     * matches the 4-channel one up to summation order in the first convolution */
    test_compare("9ch (zero extra weights) vs 4ch", sdf_tensor_f32p(r0), sdf_tensor_f32p(r4),
                 (size_t)n, -1, 1e-5);
    /* non-zero extra weights: the concat reaches the network, so the masked region changes */
    const int64_t shape[4] = {1, 4, 8, 8};
    sdf_tensor *pm = sdf_prepare_noise_mask(nm, shape, &err);
    REQUIRE(pm);
    double diff_in = 0, diff_out = 0;
    int finite = 1, n_in = 0;
    for (int64_t q = 0; q < n; q++) {
        float a = sdf_tensor_f32p(r9)[q], b = sdf_tensor_f32p(r4)[q];
        finite &= isfinite(a);
        float mk = sdf_tensor_f32p(pm)[q];
        if (mk == 1.0f) {
            diff_in = fmax(diff_in, fabs((double)a - b));
            n_in++;
        }
        /* where the mask is 0 the result is the encoded latent (KSamplerX0Inpaint) */
        if (mk == 0.0f)
            diff_out = fmax(diff_out, fabs((double)a - sdf_tensor_f32p(enc)[q]));
    }
    CHECK(finite);
    CHECK(n_in > 0);
    CHECKF(diff_in > 1e-3, "concat has no effect (max diff %g)", diff_in);
    CHECKF(diff_out < 1e-4, "unmasked latent changed by %g", diff_out);
    sdf_tensor_release(pm);
    sdf_tensor_release(r9);
    sdf_tensor_release(r0);
    sdf_tensor_release(r4);
    sdf_tensor_release(enc);
    sdf_tensor_release(nm);
    sdf_tensor_release(e0);
    sdf_tensor_release(n0);
    sdf_tensor_release(e4);
    sdf_tensor_release(n4);
    sdf_tensor_release(img);
    sdf_tensor_release(mask);
    sdf_model_release(m0);
    sdf_model_release(m9);
    sdf_model_release(m4);
    sdf_vae_release(v);
}

int main(void) {
    RUN(test_concat_capture);
    RUN(test_inpaint_model_end_to_end);
    return test_summary();
}
