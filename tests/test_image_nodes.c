/* test_image_nodes.c: the image, mask and latent nodes invoked directly (nodecall_int.h), each
 * against values computed by hand from ComfyUI's code (comments show the arithmetic), plus file
 * round trips: LoadImage / SaveImage / PreviewImage / SaveLatent / LoadLatent in a scratch folder. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/base/alloc.h"
#include "../core/graph/nodecall_int.h"
#include "../core/io/png.h"
#include "../core/io/pyjson.h"
#include "../core/io/safetensors.h"
#include "../nodes/nodes.h"
#include "testing.h"

static sdf_builtin_storage g_store;
static sdf_registry g_reg;
static char g_root[1024], g_in[1100], g_out[1100], g_tmp[1100];
static sdf_paths g_paths;
static int g_notes_in, g_notes_out;
static char g_last_out[4096];

static void note_in(void *u, const char *id, const char *path, const char *role) {
    (void)u; (void)id; (void)path; (void)role;
    g_notes_in++;
}
static void note_out(void *u, const char *id, const char *path, int w, int h) {
    (void)u; (void)id; (void)w; (void)h;
    g_notes_out++;
    snprintf(g_last_out, sizeof g_last_out, "%s", path);
}

static sdf_call_host g_host;

typedef struct call {
    sdf_node_call c;
    sdf_value *own[SDF_MAX_NODE_INPUTS];
} call;

static void call_init(call *k, const char *cls) {
    memset(k, 0, sizeof *k);
    k->c.def = sdf_registry_find(&g_reg, cls);
    if (!k->c.def) { fprintf(stderr, "no class %s\n", cls); exit(1); }
    k->c.node_id = "9";
    k->c.host = &g_host;
}

/* takes over v */
static void arg(call *k, const char *name, sdf_value *v) {
    int i = sdf_node_input_index(k->c.def, name);
    if (i < 0) { fprintf(stderr, "no input %s\n", name); exit(1); }
    sdf_value_release(k->own[i]);
    k->own[i] = v;
    k->c.args[i] = v;
}

static void arg_t(call *k, const char *name, sdf_vtype t, sdf_tensor *x) {
    arg(k, name, sdf_value_tensor(t, x));
    sdf_tensor_release(x);
}

static sdf_status run(call *k, sdf_error *e) {
    sdf_error_clear(e);
    return sdf_node_call_run(&k->c, e);
}

static void call_done(call *k) {
    sdf_node_call_deinit(&k->c);
    for (int i = 0; i < SDF_MAX_NODE_INPUTS; i++) sdf_value_release(k->own[i]);
}

static sdf_tensor *out_t(call *k, int i) { return k->c.outputs[i] ? k->c.outputs[i]->u.tensor : NULL; }
static const sdf_latent *out_l(call *k) { return &k->c.outputs[0]->u.latent; }

static sdf_tensor *tensor(int nd, const int64_t *shape, const float *v) {
    sdf_error e = {0};
    sdf_tensor *t = sdf_tensor_new(SDF_DTYPE_F32, nd, shape, &e);
    if (v) memcpy(t->data, v, t->nbytes);
    else memset(t->data, 0, t->nbytes);
    return t;
}

static sdf_tensor *filled(int nd, const int64_t *shape, float v) {
    sdf_tensor *t = tensor(nd, shape, NULL);
    for (int64_t i = 0; i < sdf_tensor_numel(t); i++) sdf_tensor_f32p(t)[i] = v;
    return t;
}

static bool shape_is(const sdf_tensor *t, int nd, const int64_t *s) {
    if (!t || t->ndim != nd) return false;
    for (int i = 0; i < nd; i++) if (t->shape[i] != s[i]) return false;
    return true;
}

static sdf_value *latent(sdf_tensor *s, sdf_tensor *m, const int64_t *idx, int n) {
    sdf_value *v = sdf_value_latent(s, m, idx, n);
    sdf_tensor_release(s);
    sdf_tensor_release(m);
    return v;
}

/* ---------------- latent nodes ---------------- */

static void test_empty_and_upscale(void) {
    sdf_error e;
    call k;
    call_init(&k, "EmptyLatentImage");
    arg(&k, "width", sdf_value_int(100));
    arg(&k, "height", sdf_value_int(48));
    arg(&k, "batch_size", sdf_value_int(2));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(shape_is(out_l(&k)->samples, 4, (int64_t[]){2, 4, 6, 12})); /* 100 // 8 = 12 */
    CHECK(sdf_tensor_f32p(out_l(&k)->samples)[5] == 0.0f);
    call_done(&k);

    /* width = 0: height = max(64, 128), width = max(64, round(12 * 128 / 8)) = 192 -> 24 x 16 */
    call_init(&k, "LatentUpscale");
    sdf_tensor *s = filled(4, (int64_t[]){1, 4, 8, 12}, 0.25f);
    sdf_tensor *m = filled(3, (int64_t[]){1, 64, 96}, 1.0f);
    arg(&k, "samples", latent(s, m, (int64_t[]){7}, 1));
    arg(&k, "upscale_method", sdf_value_string("nearest-exact"));
    arg(&k, "width", sdf_value_int(0));
    arg(&k, "height", sdf_value_int(128));
    arg(&k, "crop", sdf_value_string("disabled"));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(shape_is(out_l(&k)->samples, 4, (int64_t[]){1, 4, 16, 24}));
    CHECK(sdf_tensor_f32p(out_l(&k)->samples)[100] == 0.25f);
    CHECK(out_l(&k)->noise_mask != NULL && out_l(&k)->n_batch_index == 1 && out_l(&k)->batch_index[0] == 7);
    call_done(&k);

    /* both zero: passthrough; tiny sizes clamp to 64 px */
    call_init(&k, "LatentUpscale");
    arg(&k, "samples", latent(filled(4, (int64_t[]){1, 4, 8, 8}, 1.0f), NULL, NULL, 0));
    arg(&k, "upscale_method", sdf_value_string("bilinear"));
    arg(&k, "width", sdf_value_int(16));
    arg(&k, "height", sdf_value_int(200));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(shape_is(out_l(&k)->samples, 4, (int64_t[]){1, 4, 25, 8}));
    call_done(&k);

    /* LatentUpscaleBy: round half to even: 5 * 1.5 = 7.5 -> 8, 3 * 1.5 = 4.5 -> 4 */
    call_init(&k, "LatentUpscaleBy");
    arg(&k, "samples", latent(filled(4, (int64_t[]){1, 4, 3, 5}, 1.0f), NULL, NULL, 0));
    arg(&k, "upscale_method", sdf_value_string("bislerp"));
    arg(&k, "scale_by", sdf_value_float(1.5));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(shape_is(out_l(&k)->samples, 4, (int64_t[]){1, 4, 4, 8}));
    /* slerp of equal vectors returns the vector */
    CHECK_NEAR(sdf_tensor_f32p(out_l(&k)->samples)[17], 1.0, 1e-6);
    call_done(&k);
}

static void test_batch_nodes(void) {
    sdf_error e;
    call k;
    float v[4 * 1 * 1 * 2] = {0, 1, 10, 11, 20, 21, 30, 31};
    float mv[3] = {100, 200, 300};
    /* LatentFromBatch: B = 4, index 2, length 5 -> rows 2..3; mask batch 3 < 4 is tiled: rows
     * 2 % 3 = 2 and 3 % 3 = 0; batch_index [2, 3] */
    call_init(&k, "LatentFromBatch");
    arg(&k, "samples", latent(tensor(4, (int64_t[]){4, 1, 1, 2}, v),
                              tensor(4, (int64_t[]){3, 1, 1, 1}, mv), NULL, 0));
    arg(&k, "batch_index", sdf_value_int(2));
    arg(&k, "length", sdf_value_int(5));
    REQUIRE(run(&k, &e) == SDF_OK);
    const sdf_latent *l = out_l(&k);
    CHECK(shape_is(l->samples, 4, (int64_t[]){2, 1, 1, 2}));
    CHECK(sdf_tensor_f32p(l->samples)[0] == 20 && sdf_tensor_f32p(l->samples)[3] == 31);
    CHECK(sdf_tensor_f32p(l->noise_mask)[0] == 300 && sdf_tensor_f32p(l->noise_mask)[1] == 100);
    CHECK(l->n_batch_index == 2 && l->batch_index[0] == 2 && l->batch_index[1] == 3);
    call_done(&k);

    /* RepeatLatentBatch: batch_index [1, 2], offset 2 -> [1, 2, 3, 4, 5, 6] */
    call_init(&k, "RepeatLatentBatch");
    arg(&k, "samples", latent(tensor(4, (int64_t[]){2, 1, 1, 2}, v), NULL, (int64_t[]){1, 2}, 2));
    arg(&k, "amount", sdf_value_int(3));
    REQUIRE(run(&k, &e) == SDF_OK);
    l = out_l(&k);
    CHECK(shape_is(l->samples, 4, (int64_t[]){6, 1, 1, 2}));
    CHECK(sdf_tensor_f32p(l->samples)[4] == 0 && sdf_tensor_f32p(l->samples)[7] == 11);
    REQUIRE(l->n_batch_index == 6);
    for (int i = 0; i < 6; i++) CHECK(l->batch_index[i] == i + 1);
    call_done(&k);
}

static void test_latent_composites(void) {
    sdf_error e;
    call k;
    /* LatentComposite x = 8 (1 latent px), feather 16 (f = 2): src = from[:, :, :4, :3], mask
     * columns: t = 0 -> column 0 x 0.5 (x != 0); t = 1 -> column 1 x 1.0. Right edge touches. */
    call_init(&k, "LatentComposite");
    arg(&k, "samples_to", latent(filled(4, (int64_t[]){1, 1, 4, 4}, 0.0f), NULL, NULL, 0));
    arg(&k, "samples_from", latent(filled(4, (int64_t[]){1, 1, 4, 4}, 1.0f), NULL, NULL, 0));
    arg(&k, "x", sdf_value_int(8));
    arg(&k, "y", sdf_value_int(0));
    arg(&k, "feather", sdf_value_int(16));
    REQUIRE(run(&k, &e) == SDF_OK);
    const float *o = sdf_tensor_f32p(out_l(&k)->samples);
    for (int r = 0; r < 4; r++) {
        CHECK(o[r * 4 + 0] == 0.0f);
        CHECK(o[r * 4 + 1] == 0.5f);
        CHECK(o[r * 4 + 2] == 1.0f && o[r * 4 + 3] == 1.0f);
    }
    call_done(&k);

    /* LatentBlend: s1 * 0.25 + s2 * 0.75 */
    call_init(&k, "LatentBlend");
    arg(&k, "samples1", latent(filled(4, (int64_t[]){1, 4, 2, 2}, 2.0f), NULL, NULL, 0));
    arg(&k, "samples2", latent(filled(4, (int64_t[]){1, 4, 2, 2}, 4.0f), NULL, NULL, 0));
    arg(&k, "blend_factor", sdf_value_float(0.25));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(sdf_tensor_f32p(out_l(&k)->samples)[3] == 3.5f);
    call_done(&k);

    /* LatentCompositeMasked at x = 8 px (left = 1): only column 1 is visible; mask [[1,0],[0.5,1]]
     * keeps its size (2x2 -> 2x2 bilinear is the identity), column 0 of the mask applies */
    call_init(&k, "LatentCompositeMasked");
    arg(&k, "destination", latent(filled(4, (int64_t[]){1, 1, 2, 2}, 0.0f), NULL, NULL, 0));
    arg(&k, "source", latent(filled(4, (int64_t[]){1, 1, 2, 2}, 1.0f), NULL, NULL, 0));
    arg(&k, "x", sdf_value_int(8));
    arg(&k, "y", sdf_value_int(0));
    arg(&k, "resize_source", sdf_value_bool(false));
    arg_t(&k, "mask", SDF_VT_MASK, tensor(3, (int64_t[]){1, 2, 2}, (float[]){1, 0, 0.5f, 1}));
    REQUIRE(run(&k, &e) == SDF_OK);
    o = sdf_tensor_f32p(out_l(&k)->samples);
    CHECK(o[0] == 0 && o[1] == 1.0f && o[2] == 0 && o[3] == 0.5f);
    call_done(&k);

    /* SetLatentNoiseMask reshapes [2,3,4] -> [2,1,3,4] */
    call_init(&k, "SetLatentNoiseMask");
    arg(&k, "samples", latent(filled(4, (int64_t[]){2, 4, 3, 4}, 0.0f), NULL, NULL, 0));
    arg_t(&k, "mask", SDF_VT_MASK, filled(3, (int64_t[]){2, 3, 4}, 1.0f));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(shape_is(out_l(&k)->noise_mask, 4, (int64_t[]){2, 1, 3, 4}));
    call_done(&k);
}

static void test_latent_transforms(void) {
    sdf_error e;
    call k;
    float v[6] = {0, 1, 2, 3, 4, 5};
    /* torch.rot90(x, k, dims=[3, 2]) on [[0,1,2],[3,4,5]] (values printed by torch 1.13) */
    const float want[3][6] = {{3, 0, 4, 1, 5, 2}, {5, 4, 3, 2, 1, 0}, {2, 5, 1, 4, 0, 3}};
    const char *names[3] = {"90 degrees", "180 degrees", "270 degrees"};
    for (int r = 0; r < 3; r++) {
        call_init(&k, "LatentRotate");
        arg(&k, "samples", latent(tensor(4, (int64_t[]){1, 1, 2, 3}, v), NULL, NULL, 0));
        arg(&k, "rotation", sdf_value_string(names[r]));
        REQUIRE(run(&k, &e) == SDF_OK);
        CHECK(memcmp(sdf_tensor_f32p(out_l(&k)->samples), want[r], sizeof want[r]) == 0);
        CHECK(out_l(&k)->samples->shape[2] == (r == 1 ? 2 : 3));
        call_done(&k);
    }
    call_init(&k, "LatentFlip");
    arg(&k, "samples", latent(tensor(4, (int64_t[]){1, 1, 2, 3}, v), NULL, NULL, 0));
    arg(&k, "flip_method", sdf_value_string("x-axis: vertically"));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(memcmp(sdf_tensor_f32p(out_l(&k)->samples), (float[]){3, 4, 5, 0, 1, 2}, 24) == 0);
    call_done(&k);
    /* LatentCrop: x = 80 px -> 10, clamped to W - 8 = 4; 64 px wide -> 8 */
    call_init(&k, "LatentCrop");
    sdf_tensor *t = tensor(4, (int64_t[]){1, 1, 12, 12}, NULL);
    for (int i = 0; i < 144; i++) sdf_tensor_f32p(t)[i] = (float)i;
    arg(&k, "samples", latent(t, NULL, NULL, 0));
    arg(&k, "width", sdf_value_int(64));
    arg(&k, "height", sdf_value_int(64));
    arg(&k, "x", sdf_value_int(80));
    arg(&k, "y", sdf_value_int(8));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(shape_is(out_l(&k)->samples, 4, (int64_t[]){1, 1, 8, 8}));
    CHECK(sdf_tensor_f32p(out_l(&k)->samples)[0] == 1 * 12 + 4);
    call_done(&k);
}

/* ---------------- image nodes ---------------- */

static void test_pad_for_outpaint(void) {
    sdf_error e;
    call k;
    call_init(&k, "ImagePadForOutpaint");
    arg_t(&k, "image", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 10, 10, 3}, 0.2f));
    arg(&k, "left", sdf_value_int(2));
    arg(&k, "top", sdf_value_int(0));
    arg(&k, "right", sdf_value_int(0));
    arg(&k, "bottom", sdf_value_int(1));
    arg(&k, "feathering", sdf_value_int(3));
    REQUIRE(run(&k, &e) == SDF_OK);
    sdf_tensor *im = out_t(&k, 0), *mk = out_t(&k, 1);
    CHECK(shape_is(im, 4, (int64_t[]){1, 11, 12, 3}));
    CHECK(shape_is(mk, 3, (int64_t[]){1, 11, 12}));
    const float *ip = sdf_tensor_f32p(im), *mp = sdf_tensor_f32p(mk);
    CHECK(ip[0] == 0.5f && ip[(0 * 12 + 2) * 3] == 0.2f && ip[(10 * 12 + 5) * 3] == 0.5f);
    /* d = min(dt = 10, db = 10 - i, dl = j, dr = 10); t = ((3 - d) / 3)^2 when d < 3 */
    CHECK(mp[0 * 12 + 1] == 1.0f);                               /* padding */
    CHECK(mp[0 * 12 + 2] == 1.0f);                               /* j = 0: d = 0 */
    CHECK(mp[0 * 12 + 3] == (float)((2.0 / 3) * (2.0 / 3)));     /* j = 1 */
    CHECK(mp[0 * 12 + 4] == (float)((1.0 / 3) * (1.0 / 3)));     /* j = 2 */
    CHECK(mp[0 * 12 + 5] == 0.0f);                               /* j = 3 */
    CHECK(mp[9 * 12 + 6] == (float)((2.0 / 3) * (2.0 / 3)));     /* i = 9: db = 1 */
    CHECK(mp[8 * 12 + 6] == (float)((1.0 / 3) * (1.0 / 3)));     /* i = 8: db = 2 */
    CHECK(mp[10 * 12 + 6] == 1.0f);                              /* bottom padding */
    call_done(&k);
}

static void test_image_composite_crop_batch(void) {
    sdf_error e;
    call k;
    /* 2x2 source at (2, 1) on a 3x3 destination: only column 2, rows 1..2 are visible */
    call_init(&k, "ImageCompositeMasked");
    arg_t(&k, "destination", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 3, 3, 3}, 0.0f));
    arg_t(&k, "source", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 2, 2, 3}, 1.0f));
    arg(&k, "x", sdf_value_int(2));
    arg(&k, "y", sdf_value_int(1));
    arg(&k, "resize_source", sdf_value_bool(false));
    REQUIRE(run(&k, &e) == SDF_OK);
    const float *o = sdf_tensor_f32p(out_t(&k, 0));
    for (int r = 0; r < 3; r++)
        for (int cc = 0; cc < 3; cc++)
            CHECK(o[(r * 3 + cc) * 3 + 1] == ((r >= 1 && cc == 2) ? 1.0f : 0.0f));
    call_done(&k);
    /* RGBA destination with an RGB source fails in ComfyUI too (alpha fix pads the destination) */
    call_init(&k, "ImageCompositeMasked");
    arg_t(&k, "destination", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 3, 3, 4}, 0.0f));
    arg_t(&k, "source", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 2, 2, 3}, 1.0f));
    CHECK(run(&k, &e) == SDF_ERR_SHAPE);
    CHECK(strcmp(e.node_id, "9") == 0 && strstr(e.msg, "channels"));
    call_done(&k);

    /* ImageCrop: x = min(100, W - 1) = 3, width clipped to 1 */
    call_init(&k, "ImageCrop");
    sdf_tensor *t = tensor(4, (int64_t[]){1, 2, 4, 1}, (float[]){0, 1, 2, 3, 4, 5, 6, 7});
    arg_t(&k, "image", SDF_VT_IMAGE, t);
    arg(&k, "width", sdf_value_int(512));
    arg(&k, "height", sdf_value_int(512));
    arg(&k, "x", sdf_value_int(100));
    arg(&k, "y", sdf_value_int(0));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(shape_is(out_t(&k, 0), 4, (int64_t[]){1, 2, 1, 1}));
    CHECK(sdf_tensor_f32p(out_t(&k, 0))[1] == 7);
    call_done(&k);

    /* ImageBatch: RGB + RGBA -> the RGB one gets alpha 1.0; different size is resized */
    call_init(&k, "ImageBatch");
    arg_t(&k, "image1", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 2, 2, 3}, 0.5f));
    arg_t(&k, "image2", SDF_VT_IMAGE, filled(4, (int64_t[]){2, 4, 4, 4}, 0.25f));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(shape_is(out_t(&k, 0), 4, (int64_t[]){3, 2, 2, 4}));
    o = sdf_tensor_f32p(out_t(&k, 0));
    CHECK(o[3] == 1.0f && o[0] == 0.5f && o[16] == 0.25f && o[47] == 0.25f);
    call_done(&k);

    call_init(&k, "ImageInvert");
    arg_t(&k, "image", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 1, 1, 3}, 0.25f));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(sdf_tensor_f32p(out_t(&k, 0))[2] == 0.75f);
    call_done(&k);

    /* EmptyImage 0xFF8000 -> (1, 128/255, 0) */
    call_init(&k, "EmptyImage");
    arg(&k, "width", sdf_value_int(2));
    arg(&k, "height", sdf_value_int(1));
    arg(&k, "batch_size", sdf_value_int(1));
    arg(&k, "color", sdf_value_int(0xFF8000));
    REQUIRE(run(&k, &e) == SDF_OK);
    o = sdf_tensor_f32p(out_t(&k, 0));
    CHECK(o[3] == 1.0f && o[4] == (float)(128.0 / 255.0) && o[5] == 0.0f);
    call_done(&k);
}

static void test_image_scale(void) {
    sdf_error e;
    call k;
    /* width = 0: max(1, round(W * height / H)) = round(6 * 5 / 4) = round(7.5) = 8 */
    call_init(&k, "ImageScale");
    arg_t(&k, "image", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 4, 6, 3}, 0.5f));
    arg(&k, "upscale_method", sdf_value_string("lanczos"));
    arg(&k, "width", sdf_value_int(0));
    arg(&k, "height", sdf_value_int(5));
    arg(&k, "crop", sdf_value_string("disabled"));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(shape_is(out_t(&k, 0), 4, (int64_t[]){1, 5, 8, 3}));
    /* 0.5 -> uint8 127 -> lanczos of a constant stays 127 -> 127/255 */
    CHECK(sdf_tensor_f32p(out_t(&k, 0))[7] == 127.0f / 255.0f);
    call_done(&k);
    call_init(&k, "ImageScaleBy");
    arg_t(&k, "image", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 4, 6, 3}, 0.5f));
    arg(&k, "upscale_method", sdf_value_string("area"));
    arg(&k, "scale_by", sdf_value_float(0.5));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(shape_is(out_t(&k, 0), 4, (int64_t[]){1, 2, 3, 3}));
    CHECK(sdf_tensor_f32p(out_t(&k, 0))[4] == 0.5f);
    call_done(&k);
}

static void test_blur_sharpen(void) {
    sdf_error e;
    call k;
    /* radius 1, sigma 1: kernel exp(-d^2/2) over linspace(-1,1,3): centre 1, edge e^-0.5, corner
     * e^-1, normalised by 1 + 4e^-0.5 + 4e^-1 = 4.897644. With reflect padding an impulse at the
     * centre of a 3x3 image reaches corner (0,0) through 4 mirrored corner taps. */
    call_init(&k, "ImageBlur");
    float v[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
    arg_t(&k, "image", SDF_VT_IMAGE, tensor(4, (int64_t[]){1, 3, 3, 1}, v));
    arg(&k, "blur_radius", sdf_value_int(1));
    arg(&k, "sigma", sdf_value_float(1.0));
    REQUIRE(run(&k, &e) == SDF_OK);
    const float *o = sdf_tensor_f32p(out_t(&k, 0));
    double s = 1 + 4 * exp(-0.5) + 4 * exp(-1.0);
    CHECK_NEAR(o[4], 1 / s, 1e-6);
    CHECK_NEAR(o[1], 2 * exp(-0.5) / s, 1e-6);
    CHECK_NEAR(o[0], 4 * exp(-1.0) / s, 1e-6);
    call_done(&k);
    /* sharpen keeps a constant image (kernel sums to 1) */
    call_init(&k, "ImageSharpen");
    arg_t(&k, "image", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 4, 4, 3}, 0.3f));
    arg(&k, "sharpen_radius", sdf_value_int(2));
    arg(&k, "sigma", sdf_value_float(1.0));
    arg(&k, "alpha", sdf_value_float(1.0));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK_NEAR(sdf_tensor_f32p(out_t(&k, 0))[20], 0.3, 2e-5);
    call_done(&k);
    /* a radius the image cannot reflect is an error, not a crash */
    call_init(&k, "ImageBlur");
    arg_t(&k, "image", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 2, 2, 3}, 0.3f));
    arg(&k, "blur_radius", sdf_value_int(5));
    CHECK(run(&k, &e) == SDF_ERR_INVALID);
    call_done(&k);
}

/* ---------------- mask nodes ---------------- */

static void test_mask_nodes(void) {
    sdf_error e;
    call k;
    /* GrowMask: one pixel at (0,0) of 4x4; tapered cross with edge replication */
    float one[16] = {1};
    call_init(&k, "GrowMask");
    arg_t(&k, "mask", SDF_VT_MASK, tensor(3, (int64_t[]){1, 4, 4}, one));
    arg(&k, "expand", sdf_value_int(1));
    arg(&k, "tapered_corners", sdf_value_bool(true));
    REQUIRE(run(&k, &e) == SDF_OK);
    const float *o = sdf_tensor_f32p(out_t(&k, 0));
    CHECK(o[0] == 1 && o[1] == 1 && o[4] == 1 && o[5] == 0 && o[2] == 0);
    call_done(&k);
    call_init(&k, "GrowMask");
    arg_t(&k, "mask", SDF_VT_MASK, tensor(3, (int64_t[]){1, 4, 4}, one));
    arg(&k, "expand", sdf_value_int(2));
    arg(&k, "tapered_corners", sdf_value_bool(false));
    REQUIRE(run(&k, &e) == SDF_OK);
    o = sdf_tensor_f32p(out_t(&k, 0));
    CHECK(o[2 * 4 + 2] == 1 && o[3] == 0 && o[12] == 0);
    call_done(&k);
    /* the largest expand saturates quickly (stops once nothing changes): all ones */
    call_init(&k, "GrowMask");
    arg_t(&k, "mask", SDF_VT_MASK, tensor(3, (int64_t[]){1, 4, 4}, one));
    arg(&k, "expand", sdf_value_int(16384));
    REQUIRE(run(&k, &e) == SDF_OK);
    o = sdf_tensor_f32p(out_t(&k, 0));
    CHECK(o[15] == 1 && o[3] == 1 && o[12] == 1);
    call_done(&k);
    /* erosion: a 3x3 block of ones in 5x5 keeps only its centre with the cross */
    float blk[25] = {0};
    for (int r = 1; r <= 3; r++) for (int cc = 1; cc <= 3; cc++) blk[r * 5 + cc] = 1;
    call_init(&k, "GrowMask");
    arg_t(&k, "mask", SDF_VT_MASK, tensor(3, (int64_t[]){1, 5, 5}, blk));
    arg(&k, "expand", sdf_value_int(-1));
    arg(&k, "tapered_corners", sdf_value_bool(true));
    REQUIRE(run(&k, &e) == SDF_OK);
    o = sdf_tensor_f32p(out_t(&k, 0));
    float sum = 0;
    for (int i = 0; i < 25; i++) sum += o[i];
    CHECK(sum == 1 && o[12] == 1);
    call_done(&k);

    /* FeatherMask on ones [1,4,5], left 2, right 2, top 1, bottom 3:
     * col 0: x0.5 (left) x0.5 (right, -0 == 0); col 1 x1.0; col 4 x1.0 (right x = 1);
     * row 0: x1.0 (top) x(1/3) (bottom, -0 == 0); row 3 x 2/3; row 2 x 1 */
    call_init(&k, "FeatherMask");
    arg_t(&k, "mask", SDF_VT_MASK, filled(3, (int64_t[]){1, 4, 5}, 1.0f));
    arg(&k, "left", sdf_value_int(2));
    arg(&k, "top", sdf_value_int(1));
    arg(&k, "right", sdf_value_int(2));
    arg(&k, "bottom", sdf_value_int(3));
    REQUIRE(run(&k, &e) == SDF_OK);
    o = sdf_tensor_f32p(out_t(&k, 0));
    float third = (float)(1.0 / 3.0), two3 = (float)(2.0 / 3.0);
    CHECK(o[0] == 0.25f * third);
    CHECK(o[1] == third && o[4] == third);
    CHECK(o[5] == 0.25f && o[6] == 1.0f);
    CHECK(o[15] == 0.25f * two3 && o[16] == two3);
    call_done(&k);

    call_init(&k, "ThresholdMask");
    arg_t(&k, "mask", SDF_VT_MASK, tensor(3, (int64_t[]){1, 1, 3}, (float[]){0.4f, 0.5f, 0.6f}));
    arg(&k, "value", sdf_value_float(0.5));
    REQUIRE(run(&k, &e) == SDF_OK);
    o = sdf_tensor_f32p(out_t(&k, 0));
    CHECK(o[0] == 0 && o[1] == 0 && o[2] == 1);
    call_done(&k);

    /* MaskComposite add at (1,0) clamps to 1; xor rounds half to even (0.5 -> 0) */
    call_init(&k, "MaskComposite");
    arg_t(&k, "destination", SDF_VT_MASK, tensor(3, (int64_t[]){1, 1, 3}, (float[]){0.5f, 0.5f, 0.5f}));
    arg_t(&k, "source", SDF_VT_MASK, tensor(3, (int64_t[]){1, 1, 3}, (float[]){0.75f, 0.25f, 9}));
    arg(&k, "x", sdf_value_int(1));
    arg(&k, "y", sdf_value_int(0));
    arg(&k, "operation", sdf_value_string("add"));
    REQUIRE(run(&k, &e) == SDF_OK);
    o = sdf_tensor_f32p(out_t(&k, 0));
    CHECK(o[0] == 0.5f && o[1] == 1.0f && o[2] == 0.75f);
    call_done(&k);
    call_init(&k, "MaskComposite");
    arg_t(&k, "destination", SDF_VT_MASK, tensor(3, (int64_t[]){1, 1, 2}, (float[]){0.5f, 0.6f}));
    arg_t(&k, "source", SDF_VT_MASK, tensor(3, (int64_t[]){1, 1, 2}, (float[]){0.6f, 0.6f}));
    arg(&k, "operation", sdf_value_string("xor"));
    REQUIRE(run(&k, &e) == SDF_OK);
    o = sdf_tensor_f32p(out_t(&k, 0));
    CHECK(o[0] == 1.0f && o[1] == 0.0f);
    call_done(&k);

    call_init(&k, "CropMask");
    sdf_tensor *t = tensor(3, (int64_t[]){1, 3, 3}, (float[]){0, 1, 2, 3, 4, 5, 6, 7, 8});
    arg_t(&k, "mask", SDF_VT_MASK, t);
    arg(&k, "x", sdf_value_int(1));
    arg(&k, "y", sdf_value_int(1));
    arg(&k, "width", sdf_value_int(512));
    arg(&k, "height", sdf_value_int(1));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(shape_is(out_t(&k, 0), 3, (int64_t[]){1, 1, 2}));
    CHECK(sdf_tensor_f32p(out_t(&k, 0))[0] == 4 && sdf_tensor_f32p(out_t(&k, 0))[1] == 5);
    call_done(&k);

    call_init(&k, "SolidMask");
    arg(&k, "value", sdf_value_float(0.3));
    arg(&k, "width", sdf_value_int(3));
    arg(&k, "height", sdf_value_int(2));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(shape_is(out_t(&k, 0), 3, (int64_t[]){1, 2, 3}) && sdf_tensor_f32p(out_t(&k, 0))[5] == 0.3f);
    call_done(&k);

    call_init(&k, "MaskToImage");
    arg_t(&k, "mask", SDF_VT_MASK, tensor(3, (int64_t[]){1, 1, 2}, (float[]){0.1f, 0.9f}));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(shape_is(out_t(&k, 0), 4, (int64_t[]){1, 1, 2, 3}) && sdf_tensor_f32p(out_t(&k, 0))[5] == 0.9f);
    call_done(&k);

    call_init(&k, "InvertMask");
    arg_t(&k, "mask", SDF_VT_MASK, tensor(3, (int64_t[]){1, 1, 2}, (float[]){0.25f, 1}));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(sdf_tensor_f32p(out_t(&k, 0))[0] == 0.75f && sdf_tensor_f32p(out_t(&k, 0))[1] == 0);
    call_done(&k);

    call_init(&k, "ImageToMask");
    arg_t(&k, "image", SDF_VT_IMAGE, tensor(4, (int64_t[]){1, 1, 1, 3}, (float[]){0.1f, 0.2f, 0.3f}));
    arg(&k, "channel", sdf_value_string("green"));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(sdf_tensor_f32p(out_t(&k, 0))[0] == 0.2f);
    call_done(&k);
    call_init(&k, "ImageToMask");
    arg_t(&k, "image", SDF_VT_IMAGE, tensor(4, (int64_t[]){1, 1, 1, 3}, (float[]){0.1f, 0.2f, 0.3f}));
    arg(&k, "channel", sdf_value_string("alpha"));
    CHECK(run(&k, &e) == SDF_ERR_SHAPE);
    CHECK(strcmp(e.input, "channel") == 0);
    call_done(&k);
}

/* ---------------- files ---------------- */

static int count_files(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    for (struct dirent *x; (x = readdir(d));)
        if (strncmp(x->d_name, prefix, strlen(prefix)) == 0) n++;
    closedir(d);
    return n;
}

static void test_load_and_save_image(void) {
    sdf_error e = {0};
    /* an RGBA input with alpha 0 / 51 / 255 */
    uint8_t px[3 * 4] = {255, 0, 0, 0, 0, 255, 0, 51, 0, 0, 255, 255};
    char path[2048];
    snprintf(path, sizeof path, "%s/rgba.png", g_in);
    REQUIRE(sdf_png_write(path, px, 3, 1, 4, NULL, &e) == SDF_OK);
    call k;
    call_init(&k, "LoadImage");
    arg(&k, "image", sdf_value_string("rgba.png"));
    g_notes_in = 0;
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(g_notes_in == 1);
    CHECK(shape_is(out_t(&k, 0), 4, (int64_t[]){1, 1, 3, 3}));
    CHECK(shape_is(out_t(&k, 1), 3, (int64_t[]){1, 1, 3}));
    const float *m = sdf_tensor_f32p(out_t(&k, 1));
    CHECK(m[0] == 1.0f && m[1] == 1.0f - 51.0f / 255.0f && m[2] == 0.0f);
    call_done(&k);

    call_init(&k, "LoadImageMask");
    arg(&k, "image", sdf_value_string("rgba.png"));
    arg(&k, "channel", sdf_value_string("green"));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(sdf_tensor_f32p(out_t(&k, 0))[1] == 1.0f && sdf_tensor_f32p(out_t(&k, 0))[0] == 0.0f);
    call_done(&k);

    call_init(&k, "LoadImage");
    arg(&k, "image", sdf_value_string("missing.png"));
    CHECK(run(&k, &e) == SDF_ERR_NOT_FOUND);
    CHECK(strcmp(e.input, "image") == 0 && strcmp(e.node_id, "9") == 0);
    call_done(&k);

    /* a corrupt file is an error naming it */
    snprintf(path, sizeof path, "%s/bad.png", g_in);
    FILE *f = fopen(path, "wb");
    fwrite("\x89PNG\r\n\x1a\nxxxx", 1, 12, f);
    fclose(f);
    call_init(&k, "LoadImage");
    arg(&k, "image", sdf_value_string("bad.png"));
    CHECK(run(&k, &e) == SDF_ERR_PARSE);
    CHECK(strstr(e.msg, "bad.png") != NULL);
    call_done(&k);

    /* SaveImage: counter continues after existing files, prompt/workflow chunks, truncation */
    char sub[2100];
    mkdir(g_out, 0777);
    snprintf(sub, sizeof sub, "%s/sub", g_out);
    mkdir(sub, 0777);
    snprintf(path, sizeof path, "%s/test_00041_.png", sub);
    f = fopen(path, "wb");
    fclose(f);
    snprintf(path, sizeof path, "%s/testing_00099_.png", sub); /* another stem: ignored */
    f = fopen(path, "wb");
    fclose(f);
    cJSON *prompt = cJSON_CreateObject();
    cJSON *n3 = cJSON_AddObjectToObject(prompt, "3");
    cJSON *in = cJSON_AddObjectToObject(n3, "inputs");
    cJSON_AddItemToObject(in, "seed", cJSON_CreateRaw("18446744073709551615"));
    cJSON_AddStringToObject(in, "text", "caf\xc3\xa9");
    cJSON_AddItemToObject(in, "cfg", cJSON_CreateRaw("8.0"));
    cJSON_AddNumberToObject(in, "denoise", 0.1);
    g_host.prompt = prompt;
    g_host.workflow_text = "{\"nodes\": []}";
    call_init(&k, "SaveImage");
    float iv[2 * 1 * 2 * 3] = {0.5f, 1.0f, 0.0f, 0.999f, 2.0f, -1.0f, 0, 0, 0, 0, 0, 0.00392f};
    arg_t(&k, "images", SDF_VT_IMAGE, tensor(4, (int64_t[]){2, 1, 2, 3}, iv));
    arg(&k, "filename_prefix", sdf_value_string("sub/test"));
    g_notes_out = 0;
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(g_notes_out == 2);
    call_done(&k);
    snprintf(path, sizeof path, "%s/test_00042_.png", sub);
    sdf_png_pixels p;
    REQUIRE(sdf_png_read(path, NULL, &p, &e) == SDF_OK);
    /* uint8(clip(255 x)): 127, 255, 0, 254, 255, 0 */
    CHECK(memcmp(p.rgba, (uint8_t[]){127, 255, 0, 255, 254, 255, 0, 255}, 8) == 0);
    REQUIRE(p.n_texts == 2);
    CHECK_STR(p.texts[0].key, "prompt");
    /* Python: json.dumps({"3": {"inputs": {"seed": 18446744073709551615, "text": "café",
     * "cfg": 8.0, "denoise": 0.1}}}) */
    CHECK_STR(p.texts[0].value, "{\"3\": {\"inputs\": {\"seed\": 18446744073709551615, \"text\": "
                                "\"caf\\u00e9\", \"cfg\": 8.0, \"denoise\": 0.1}}}");
    CHECK_STR(p.texts[1].key, "workflow");
    CHECK_STR(p.texts[1].value, "{\"nodes\": []}");
    sdf_png_pixels_free(&p);
    snprintf(path, sizeof path, "%s/test_00043_.png", sub);
    CHECK(access(path, F_OK) == 0);
    CHECK(strcmp(g_last_out, path) == 0);
    g_host.prompt = NULL;
    g_host.workflow_text = NULL;
    cJSON_Delete(prompt);

    /* with a sampler upstream, the A1111 "parameters" chunk follows prompt and workflow */
    const char *api =
        "{\"3\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 42, \"steps\": 20, "
        "\"cfg\": 7.5, \"sampler_name\": \"euler\", \"scheduler\": \"karras\", \"denoise\": 1.0, "
        "\"model\": [\"4\", 0], \"positive\": [\"6\", 0], \"negative\": [\"7\", 0], "
        "\"latent_image\": [\"5\", 0]}}, "
        "\"4\": {\"class_type\": \"CheckpointLoaderSimple\", \"inputs\": {\"ckpt_name\": \"m.safetensors\"}}, "
        "\"5\": {\"class_type\": \"EmptyLatentImage\", \"inputs\": {\"width\": 512, \"height\": 512, \"batch_size\": 1}}, "
        "\"6\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"a cat\", \"clip\": [\"4\", 1]}}, "
        "\"7\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"ugly\", \"clip\": [\"4\", 1]}}, "
        "\"8\": {\"class_type\": \"VAEDecode\", \"inputs\": {\"samples\": [\"3\", 0], \"vae\": [\"4\", 2]}}, "
        "\"9\": {\"class_type\": \"SaveImage\", \"inputs\": {\"images\": [\"8\", 0], \"filename_prefix\": \"a1\"}}}";
    prompt = cJSON_Parse(api);
    REQUIRE(prompt);
    g_host.prompt = prompt;
    call_init(&k, "SaveImage");
    arg_t(&k, "images", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 2, 2, 3}, 0.5f));
    arg(&k, "filename_prefix", sdf_value_string("a1"));
    REQUIRE(run(&k, &e) == SDF_OK);
    call_done(&k);
    g_host.prompt = NULL;
    cJSON_Delete(prompt);
    snprintf(path, sizeof path, "%s/a1_00001_.png", g_out);
    REQUIRE(sdf_png_read(path, NULL, &p, &e) == SDF_OK);
    REQUIRE(p.n_texts == 2);
    CHECK_STR(p.texts[1].key, "parameters");
    const char *want = "a cat\nNegative prompt: ugly\nSteps: 20, Sampler: Euler, Schedule type: Karras, "
                       "CFG scale: 7.5, Seed: 42, Size: 512x512";
    CHECKF(strncmp(p.texts[1].value, want, strlen(want)) == 0, "%s", p.texts[1].value);
    sdf_png_pixels_free(&p);

    /* leaving the output folder is refused */
    call_init(&k, "SaveImage");
    arg_t(&k, "images", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 1, 1, 3}, 0.0f));
    arg(&k, "filename_prefix", sdf_value_string("../escape"));
    CHECK(run(&k, &e) == SDF_ERR_INVALID);
    CHECK(strcmp(e.input, "filename_prefix") == 0);
    call_done(&k);

    /* PreviewImage goes to temp as ComfyUI_temp_xxxxx_00001_.png */
    call_init(&k, "PreviewImage");
    arg_t(&k, "images", SDF_VT_IMAGE, filled(4, (int64_t[]){1, 2, 2, 4}, 0.5f));
    REQUIRE(run(&k, &e) == SDF_OK);
    call_done(&k);
    CHECK(count_files(g_tmp, "ComfyUI_temp_") == 1);
    CHECK(strstr(g_last_out, "_00001_.png") != NULL);
}

static void test_save_load_latent(void) {
    sdf_error e = {0};
    call k;
    call_init(&k, "SaveLatent");
    sdf_tensor *s = tensor(4, (int64_t[]){1, 4, 2, 2}, NULL);
    for (int i = 0; i < 16; i++) sdf_tensor_f32p(s)[i] = (float)i - 3.5f;
    arg(&k, "samples", latent(s, NULL, NULL, 0));
    arg(&k, "filename_prefix", sdf_value_string("latents/x"));
    REQUIRE(run(&k, &e) == SDF_OK);
    call_done(&k);
    char src[2100], dst[2100];
    snprintf(src, sizeof src, "%s/latents/x_00001_.latent", g_out);
    sdf_st_file *f = NULL;
    REQUIRE(sdf_st_open(src, &f, &e) == SDF_OK);
    CHECK(sdf_st_find(f, "latent_format_version_0") != NULL);
    CHECK(sdf_st_meta_get(f, "prompt") != NULL);
    sdf_st_close(f);
    /* load it back from the input folder: no rescaling with the marker */
    snprintf(dst, sizeof dst, "%s/x.latent", g_in);
    REQUIRE(rename(src, dst) == 0);
    call_init(&k, "LoadLatent");
    arg(&k, "latent", sdf_value_string("x.latent"));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(sdf_tensor_f32p(out_l(&k)->samples)[15] == 11.5f);
    call_done(&k);
    /* a file without the marker holds scaled latents: multiplied by 1/0.18215 */
    sdf_st_writer *w = sdf_st_writer_new();
    sdf_tensor *t = filled(4, (int64_t[]){1, 4, 1, 1}, 0.18215f);
    sdf_st_writer_add(w, "latent_tensor", t, &e);
    snprintf(dst, sizeof dst, "%s/old.latent", g_in);
    REQUIRE(sdf_st_writer_save(w, dst, &e) == SDF_OK);
    sdf_st_writer_free(w);
    sdf_tensor_release(t);
    call_init(&k, "LoadLatent");
    arg(&k, "latent", sdf_value_string("old.latent"));
    REQUIRE(run(&k, &e) == SDF_OK);
    CHECK(sdf_tensor_f32p(out_l(&k)->samples)[0] == 0.18215f * (float)(1.0 / 0.18215));
    call_done(&k);
}

static void test_bad_latent_files(void) {
    sdf_error e = {0};
    char path[2100];
    /* a truncated .latent (header promises more than the file has) and one without the tensor */
    snprintf(path, sizeof path, "%s/trunc.latent", g_in);
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    const char hdr[] = "{\"latent_tensor\":{\"dtype\":\"F32\",\"shape\":[1,4,8,8],\"data_offsets\":[0,1024]}}";
    uint64_t n = sizeof hdr - 1;
    fwrite(&n, 8, 1, f);
    fwrite(hdr, 1, sizeof hdr - 1, f);
    fwrite("abcd", 1, 4, f);
    fclose(f);
    call k;
    call_init(&k, "LoadLatent");
    arg(&k, "latent", sdf_value_string("trunc.latent"));
    CHECK(run(&k, &e) != SDF_OK);
    CHECK(strstr(e.path, "trunc.latent") || strstr(e.msg, "trunc.latent"));
    call_done(&k);
    sdf_st_writer *w = sdf_st_writer_new();
    sdf_tensor *t = filled(4, (int64_t[]){1, 4, 1, 1}, 1.0f);
    sdf_st_writer_add(w, "other", t, &e);
    snprintf(path, sizeof path, "%s/empty.latent", g_in);
    REQUIRE(sdf_st_writer_save(w, path, &e) == SDF_OK);
    sdf_st_writer_free(w);
    sdf_tensor_release(t);
    call_init(&k, "LoadLatent");
    arg(&k, "latent", sdf_value_string("empty.latent"));
    CHECK(run(&k, &e) == SDF_ERR_NOT_FOUND);
    CHECK(strcmp(e.node_id, "9") == 0);
    call_done(&k);
}

static void test_pyjson(void) {
    cJSON *j = cJSON_Parse("{\"a\": [1e-05, 1e16, 0.1, 2.5e-7, 123.456, -3, true, null], "
                           "\"b\": \"q\\\"\\n\\u0001\\ud83d\\ude00\", \"c\": {}}");
    char *s = sdf_json_dumps_py(j);
    /* Python json.dumps of the same object */
    CHECK_STR(s, "{\"a\": [1e-05, 1e+16, 0.1, 2.5e-07, 123.456, -3, true, null], "
                 "\"b\": \"q\\\"\\n\\u0001\\ud83d\\ude00\", \"c\": {}}");
    sdf_free(s);
    cJSON_Delete(j);
}

static void rm_rf(const char *p) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", p);
}

int main(void) {
    sdf_builtin_registry(&g_store, &g_reg);
    snprintf(g_root, sizeof g_root, "%s/test_image_nodes.%ld", SDF_BINARY_DIR, (long)getpid());
    snprintf(g_in, sizeof g_in, "%s/input", g_root);
    snprintf(g_out, sizeof g_out, "%s/output", g_root);
    snprintf(g_tmp, sizeof g_tmp, "%s/temp", g_root);
    mkdir(g_root, 0777);
    mkdir(g_in, 0777);
    sdf_paths_init_defaults(&g_paths);
    g_paths.input_dir = g_in;
    g_paths.output_dir = g_out;
    g_paths.temp_dir = g_tmp;
    g_host.paths = &g_paths;
    g_host.note_input_file = note_in;
    g_host.note_output_file = note_out;
    RUN(test_empty_and_upscale);
    RUN(test_batch_nodes);
    RUN(test_latent_composites);
    RUN(test_latent_transforms);
    RUN(test_pad_for_outpaint);
    RUN(test_image_composite_crop_batch);
    RUN(test_image_scale);
    RUN(test_blur_sharpen);
    RUN(test_mask_nodes);
    RUN(test_load_and_save_image);
    RUN(test_save_load_latent);
    RUN(test_bad_latent_files);
    RUN(test_pyjson);
    rm_rf(g_root);
    return test_summary();
}
