/* test_vae.c: VAE decode/encode against the golden cases (tiny SD1 VAE, downscale 4), the fp16
 * checkpoint, tiled decode/encode (agree with the whole-image result where tiles cover it,
 * stay close otherwise), ComfyUI's crop to multiples of the downscale, bad inputs, nodes. */
#include <string.h>

#include "core/base/alloc.h"
#include "core/graph/nodecall_int.h"
#include "core/kernels/kernels.h"
#include "core/models/checkpoint.h"
#include "core/models/vae.h"
#include "core/models/vae_raw.h"
#include "nodes/nodes.h"
#include "testing.h"
#include "tiny_models.h"

static sdf_pool *pool2;
static sdf_vae *vae32;

/* NCHW [-1,1]-ish decoder output -> what sdf_vae_decode returns: clamp((x+1)/2) NHWC */
static void to_image(float *dst, const float *src, int64_t c, int64_t h, int64_t w) {
    for (int64_t k = 0; k < c; k++)
        for (int64_t i = 0; i < h * w; i++) {
            float v = (src[k * h * w + i] + 1.0f) / 2.0f;
            dst[i * c + k] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
}

static void decode_case(sdf_vae *v, const char *file, const char *zname, const char *dname) {
    sdf_error err;
    sdf_st_file *g = NULL;
    REQUIRE(sdf_st_open(test_ref_path(file), &g, &err) == SDF_OK);
    sdf_tensor *z = sdf_st_tensor_f32(g, zname, &err), *d = sdf_st_tensor_f32(g, dname, &err);
    REQUIRE(z && d);
    sdf_tensor *img = NULL;
    CHECKF(sdf_vae_decode(v, z, pool2, &img, &err) == SDF_OK, "%s", err.msg);
    REQUIRE(img);
    int64_t c = d->shape[1], h = d->shape[2], w = d->shape[3];
    CHECK(img->shape[0] == 1 && img->shape[1] == h && img->shape[2] == w && img->shape[3] == c);
    float *want = sdf_malloc((size_t)(c * h * w) * 4);
    to_image(want, sdf_tensor_f32p(d), c, h, w);
    /* the image is (x+1)/2: the golden tolerance on x halves */
    test_compare(file, sdf_tensor_f32p(img), want, (size_t)(c * h * w), 0.5e-4, 2.5e-5);
    sdf_free(want);
    /* the raw decoder output (not clamped) against the golden tolerance */
    sdf_tensor *raw = NULL;
    CHECK(sdf_vae_decode_raw(v, z, NULL, &raw, &err) == SDF_OK);
    if (raw) {
        CHECK(sdf_tensor_same_shape(raw, d));
        test_compare("raw decoder", sdf_tensor_f32p(raw), sdf_tensor_f32p(d), (size_t)(c * h * w),
                     1e-4, 5e-5);
    }
    sdf_tensor_release(raw);
    sdf_tensor_release(img);
    sdf_tensor_release(z);
    sdf_tensor_release(d);
    sdf_st_close(g);
}

static void test_vae_decode_golden(void) {
    NEED_REFERENCE();
    if (!vae32) vae32 = tiny_vae(test_ref_path("tiny-sd1.safetensors"));
    REQUIRE(vae32);
    decode_case(vae32, "golden/vae_decode_8x8.safetensors", "z", "decoded");
    decode_case(vae32, "golden/vae_decode_8x12.safetensors", "z", "decoded");
    sdf_vae *v16 = tiny_vae(test_ref_path("tiny-sd1-fp16.safetensors"));
    REQUIRE(v16);
    decode_case(v16, "golden/fp16ckpt_outputs.safetensors", "vae.z", "vae.decoded");
    sdf_vae_release(v16);
}

/* image [1,3,H,W] in [-1,1] NCHW -> IMAGE [1,H,W,3] in 0..1 */
static sdf_tensor *golden_image(const sdf_tensor *x) {
    sdf_error err;
    int64_t h = x->shape[2], w = x->shape[3];
    sdf_tensor *img = sdf_tensor_f32(&err, 4, 1, h, w, 3);
    for (int64_t c = 0; c < 3; c++)
        for (int64_t i = 0; i < h * w; i++)
            sdf_tensor_f32p(img)[i * 3 + c] = (sdf_tensor_f32p(x)[c * h * w + i] + 1.0f) / 2.0f;
    return img;
}

static void encode_case(const char *file) {
    sdf_error err;
    sdf_st_file *g = NULL;
    REQUIRE(sdf_st_open(test_ref_path(file), &g, &err) == SDF_OK);
    sdf_tensor *x = sdf_st_tensor_f32(g, "image", &err), *mean = sdf_st_tensor_f32(g, "mean", &err);
    REQUIRE(x && mean);
    sdf_tensor *img = golden_image(x), *lat = NULL;
    CHECKF(sdf_vae_encode(vae32, img, pool2, &lat, &err) == SDF_OK, "%s", err.msg);
    REQUIRE(lat);
    CHECK(sdf_tensor_same_shape(lat, mean));
    /* (p*2-1) of the stored (x+1)/2 is x within 1 ulp; the tolerance covers it */
    test_compare(file, sdf_tensor_f32p(lat), sdf_tensor_f32p(mean),
                 (size_t)sdf_tensor_numel(mean), 1e-4, 5e-5);
    sdf_tensor_release(lat);
    sdf_tensor_release(img);
    sdf_tensor_release(x);
    sdf_tensor_release(mean);
    sdf_st_close(g);
}

static void test_vae_encode_golden(void) {
    NEED_REFERENCE();
    REQUIRE(vae32);
    encode_case("golden/vae_encode_32x32.safetensors");
    encode_case("golden/vae_encode_32x48.safetensors");
}

/* ComfyUI crops to multiples of the downscale factor, centred: a 35x50 image with an alpha
 * channel encodes exactly as its [1:33, 1:49] RGB crop. */
static void test_vae_encode_crop(void) {
    NEED_REFERENCE();
    REQUIRE(vae32);
    sdf_error err;
    sdf_tensor *big = sdf_tensor_f32(&err, 4, 1, 35, 50, 4), *crop = sdf_tensor_f32(&err, 4, 1, 32, 48, 3);
    float *bp = sdf_tensor_f32p(big), *cp = sdf_tensor_f32p(crop);
    for (int64_t i = 0; i < 35 * 50 * 4; i++) bp[i] = 0.5f + 0.5f * sinf((float)i * 0.013f);
    for (int64_t y = 0; y < 32; y++)
        for (int64_t x = 0; x < 48; x++)
            for (int c = 0; c < 3; c++) cp[(y * 48 + x) * 3 + c] = bp[((y + 1) * 50 + x + 1) * 4 + c];
    sdf_tensor *a = NULL, *b = NULL;
    CHECK(sdf_vae_encode(vae32, big, NULL, &a, &err) == SDF_OK);
    CHECK(sdf_vae_encode(vae32, crop, pool2, &b, &err) == SDF_OK);
    REQUIRE(a && b);
    CHECK(a->shape[2] == 8 && a->shape[3] == 12);
    CHECK(memcmp(a->data, b->data, a->nbytes) == 0); /* also: 1 vs 2 threads identical */
    sdf_tensor_release(a);
    sdf_tensor_release(b);
    sdf_tensor_release(big);
    sdf_tensor_release(crop);
}

/* Tiled decode: a tile covering the whole latent gives the whole-image result exactly; smaller
 * tiles blend overlaps (ComfyUI's three-pass average) and stay close to it. */
static void test_vae_tiled(void) {
    NEED_REFERENCE();
    REQUIRE(vae32);
    sdf_error err;
    sdf_tensor *z = sdf_tensor_f32(&err, 4, 1, 4, 24, 40);
    for (int64_t i = 0; i < sdf_tensor_numel(z); i++) sdf_tensor_f32p(z)[i] = sinf((float)i * 0.7f);
    sdf_tensor *full = NULL, *big = NULL, *tiled = NULL;
    REQUIRE(sdf_vae_decode(vae32, z, pool2, &full, &err) == SDF_OK);
    /* tile 320 px = 80 latents in the x2-wide pass >= 40 and x1/2 tall 40 >= 24: one tile */
    REQUIRE(sdf_vae_decode_tiled(vae32, z, 320, 16, pool2, &big, &err) == SDF_OK);
    test_compare("tiled, one tile", sdf_tensor_f32p(big), sdf_tensor_f32p(full),
                 (size_t)sdf_tensor_numel(full), 1e-6, -1);
    CHECKF(sdf_vae_decode_tiled(vae32, z, 64, 16, pool2, &tiled, &err) == SDF_OK, "%s", err.msg);
    REQUIRE(tiled && sdf_tensor_same_shape(tiled, full));
    double mad = 0;
    for (int64_t i = 0; i < sdf_tensor_numel(full); i++)
        mad += fabs(sdf_tensor_f32p(tiled)[i] - sdf_tensor_f32p(full)[i]);
    mad /= (double)sdf_tensor_numel(full);
    CHECKF(mad < 0.1 && mad > 0.0, "mean abs diff tiled vs full %g", mad);
    /* encode tiled */
    sdf_tensor *lat = NULL, *latt = NULL;
    REQUIRE(sdf_vae_encode(vae32, full, pool2, &lat, &err) == SDF_OK);
    CHECKF(sdf_vae_encode_tiled(vae32, full, 64, 16, pool2, &latt, &err) == SDF_OK, "%s", err.msg);
    REQUIRE(latt && sdf_tensor_same_shape(lat, latt));
    mad = 0;
    for (int64_t i = 0; i < sdf_tensor_numel(lat); i++)
        mad += fabs(sdf_tensor_f32p(lat)[i] - sdf_tensor_f32p(latt)[i]);
    mad /= (double)sdf_tensor_numel(lat);
    CHECKF(mad < 0.3 && mad > 0.0, "mean abs diff tiled encode %g", mad);
    sdf_tensor_release(latt);
    latt = NULL;
    CHECK(sdf_vae_encode_tiled(vae32, full, 512, 64, pool2, &latt, &err) == SDF_OK);
    if (latt) test_compare("encode one tile", sdf_tensor_f32p(latt), sdf_tensor_f32p(lat),
                           (size_t)sdf_tensor_numel(lat), 1e-6, -1);
    /* bad arguments */
    sdf_tensor *o = NULL;
    CHECK(sdf_vae_decode_tiled(vae32, z, 0, 0, NULL, &o, &err) == SDF_ERR_INVALID && !o);
    sdf_tensor *bad = sdf_tensor_f32(&err, 4, 1, 3, 8, 8);
    CHECK(sdf_vae_decode(vae32, bad, NULL, &o, &err) == SDF_ERR_SHAPE && !o);
    CHECK(sdf_vae_encode(vae32, bad, NULL, &o, &err) == SDF_ERR_SHAPE && !o);
    sdf_tensor_release(bad);
    sdf_tensor_release(lat); sdf_tensor_release(latt);
    sdf_tensor_release(z); sdf_tensor_release(full); sdf_tensor_release(big);
    sdf_tensor_release(tiled);
}

/* Through the real checkpoint loader (detected VAE config, downscale 4). */
static void test_vae_via_loader(void) {
    NEED_REFERENCE();
    sdf_error err;
    sdf_vae *v = NULL;
    sdf_checkpoint_opts o = {.fp32_text_encoder = true};
    CHECKF(sdf_checkpoint_load(test_ref_path("tiny-sd1.safetensors"), &o, NULL, NULL, &v, &err) ==
               SDF_OK, "%s", err.msg);
    REQUIRE(v);
    CHECK(v->cfg.downscale == 4);
    decode_case(v, "golden/vae_decode_8x12.safetensors", "z", "decoded");
    sdf_vae_release(v);
}

/* VAEEncode -> VAEDecode through the node API: the latent and image shapes, and the decode
 * equals sdf_vae_decode of the encoded latent. */
static void test_vae_nodes_run(void) {
    NEED_REFERENCE();
    REQUIRE(vae32);
    sdf_builtin_storage st;
    sdf_registry reg;
    sdf_builtin_registry(&st, &reg);
    sdf_error err;
    sdf_tensor *img = sdf_tensor_f32(&err, 4, 2, 16, 24, 3);
    for (int64_t i = 0; i < sdf_tensor_numel(img); i++)
        sdf_tensor_f32p(img)[i] = 0.5f + 0.4f * sinf((float)i * 0.05f);
    sdf_value *pix = sdf_value_tensor(SDF_VT_IMAGE, img);
    sdf_value *vv = sdf_value_handle(SDF_VT_VAE, sdf_vae_retain(vae32), &sdf_vae_handle);
    sdf_call_host host = {.pool = pool2};
    sdf_node_call enc = {.def = sdf_registry_find(&reg, "VAEEncode"), .node_id = "1", .host = &host};
    enc.args[0] = pix;
    enc.args[1] = vv;
    CHECKF(sdf_node_call_run(&enc, &err) == SDF_OK, "%s", err.msg);
    REQUIRE(enc.outputs[0] && enc.outputs[0]->type == SDF_VT_LATENT);
    sdf_tensor *lat = enc.outputs[0]->u.latent.samples;
    CHECK(lat->shape[0] == 2 && lat->shape[1] == 4 && lat->shape[2] == 4 && lat->shape[3] == 6);
    sdf_node_call dec = {.def = sdf_registry_find(&reg, "VAEDecode"), .node_id = "2", .host = &host};
    dec.args[0] = enc.outputs[0];
    dec.args[1] = vv;
    CHECKF(sdf_node_call_run(&dec, &err) == SDF_OK, "%s", err.msg);
    REQUIRE(dec.outputs[0] && dec.outputs[0]->type == SDF_VT_IMAGE);
    sdf_tensor *out = dec.outputs[0]->u.tensor, *direct = NULL;
    CHECK(out->shape[0] == 2 && out->shape[1] == 16 && out->shape[2] == 24 && out->shape[3] == 3);
    CHECK(sdf_vae_decode(vae32, lat, NULL, &direct, &err) == SDF_OK);
    if (direct) CHECK(memcmp(direct->data, out->data, out->nbytes) == 0);
    sdf_tensor_release(direct);
    /* tiled node: tile_size < 4*overlap shrinks the overlap as ComfyUI does */
    sdf_node_call dt = {.def = sdf_registry_find(&reg, "VAEDecodeTiled"), .node_id = "3", .host = &host};
    sdf_value *tile = sdf_value_int(64), *ov = sdf_value_int(64), *ts = sdf_value_int(64),
              *to = sdf_value_int(8);
    dt.args[0] = enc.outputs[0];
    dt.args[1] = vv;
    dt.args[2] = tile;
    dt.args[3] = ov;
    dt.args[4] = ts;
    dt.args[5] = to;
    CHECKF(sdf_node_call_run(&dt, &err) == SDF_OK, "%s", err.msg);
    if (dt.outputs[0]) CHECK(sdf_tensor_same_shape(dt.outputs[0]->u.tensor, out));
    sdf_node_call_deinit(&dt);
    sdf_node_call_deinit(&dec);
    sdf_node_call_deinit(&enc);
    sdf_value_release(tile); sdf_value_release(ov); sdf_value_release(ts); sdf_value_release(to);
    sdf_value_release(pix);
    sdf_value_release(vv);
    sdf_tensor_release(img);
}

static void test_vae_node_table(void) {
    sdf_builtin_storage st;
    sdf_registry reg;
    sdf_builtin_registry(&st, &reg);
    const sdf_node_def *d = sdf_registry_find(&reg, "VAEDecodeTiled");
    REQUIRE(d && d->run);
    CHECK(d->n_inputs == 6 && d->outputs[0].type == SDF_VT_IMAGE);
    int i = sdf_node_input_index(d, "tile_size");
    REQUIRE(i >= 0);
    CHECK(d->inputs[i].def_i == 512 && d->inputs[i].min_i == 64 && d->inputs[i].step_f == 32);
    d = sdf_registry_find(&reg, "VAEEncodeTiled");
    REQUIRE(d);
    i = sdf_node_input_index(d, "tile_size");
    CHECK(i >= 0 && d->inputs[i].step_f == 64);
    CHECK(sdf_registry_find(&reg, "VAEDecode") && sdf_registry_find(&reg, "VAEEncode"));
}

int main(void) {
    sdf_blas_setup();
    sdf_error err;
    if (sdf_pool_new(2, &pool2, &err) != SDF_OK) return 1;
    RUN(test_vae_decode_golden);
    RUN(test_vae_encode_golden);
    RUN(test_vae_encode_crop);
    RUN(test_vae_tiled);
    RUN(test_vae_via_loader);
    RUN(test_vae_node_table);
    RUN(test_vae_nodes_run);
    sdf_vae_release(vae32);
    sdf_pool_free(pool2);
    return test_summary();
}
