/* test_resample.c: core/image/resample.h against torch 1.13 / Pillow 9.4 outputs recorded in
 * tests/data/resample_ref.h (made by tests/data/gen_resample_ref.py), the fast path against the
 * direct reference on odd sizes (bit-identical), and ComfyUI's center-crop rounding. */
#include "../core/base/alloc.h"
#include "../core/image/resample.h"
#include "data/resample_ref.h"
#include "testing.h"

static float ramp(int64_t i) { return (float)((double)((i * 37) % 101) / 100.0); }

static sdf_tensor *ramp_tensor(int64_t a, int64_t b, int64_t c, int64_t d, float off) {
    sdf_error err = {0};
    sdf_tensor *t = sdf_tensor_f32(&err, 4, a, b, c, d);
    float *p = sdf_tensor_f32p(t);
    for (int64_t i = 0; i < a * b * c * d; i++) p[i] = ramp(i) - off;
    return t;
}

static void check_tensor(const char *what, const sdf_tensor *t, const float *ref, size_t n,
                         double tol) {
    CHECKF((size_t)sdf_tensor_numel(t) == n, "%s: %lld values vs %zu", what,
           (long long)sdf_tensor_numel(t), n);
    if ((size_t)sdf_tensor_numel(t) == n) test_compare(what, sdf_tensor_f32p(t), ref, n, tol, -1);
}

#define NCHW_CASE(tag, m, h, w)                                                               \
    do {                                                                                       \
        sdf_tensor *o = sdf_common_upscale(x, w, h, m, false, NULL, &err);                     \
        REQUIRE(o);                                                                            \
        check_tensor("nchw " #tag " " #h "x" #w, o, ref_nchw_##tag##_##h##x##w,                \
                     SDF_COUNTOF(ref_nchw_##tag##_##h##x##w), TOL_##tag);                      \
        sdf_tensor_release(o);                                                                 \
        o = sdf_common_upscale_image(img, w, h, m, false, NULL, &err);                         \
        REQUIRE(o);                                                                            \
        check_tensor("image " #tag " " #h "x" #w, o, ref_img_##tag##_##h##x##w,                \
                     SDF_COUNTOF(ref_img_##tag##_##h##x##w), TOL_##tag);                       \
        sdf_tensor_release(o);                                                                 \
    } while (0)

/* nearest-exact is exact. bilinear/bicubic/area follow torch's float32 index and weight
 * arithmetic term by term; torch's AVX2 build rounds a few intermediate steps differently
 * (fused multiply-adds; not reproduced), which leaves 1-8 ulp (measured max 1.7e-7 bilinear,
 * 8e-7 bicubic, 3e-8 area on values near 1). */
#define TOL_nearest_exact 0.0
#define TOL_area 6e-8
#define TOL_bilinear 3e-7
#define TOL_bicubic 1e-6

static void test_torch_interpolate(void) {
    sdf_error err = {0};
    sdf_tensor *x = ramp_tensor(1, 2, 5, 7, 0.0f);
    sdf_tensor *img = ramp_tensor(1, 5, 7, 3, 0.0f);
    NCHW_CASE(nearest_exact, SDF_RS_NEAREST_EXACT, 3, 4);
    NCHW_CASE(nearest_exact, SDF_RS_NEAREST_EXACT, 8, 11);
    NCHW_CASE(nearest_exact, SDF_RS_NEAREST_EXACT, 13, 3);
    NCHW_CASE(bilinear, SDF_RS_BILINEAR, 3, 4);
    NCHW_CASE(bilinear, SDF_RS_BILINEAR, 8, 11);
    NCHW_CASE(bilinear, SDF_RS_BILINEAR, 13, 3);
    NCHW_CASE(bicubic, SDF_RS_BICUBIC, 3, 4);
    NCHW_CASE(bicubic, SDF_RS_BICUBIC, 8, 11);
    NCHW_CASE(bicubic, SDF_RS_BICUBIC, 13, 3);
    NCHW_CASE(area, SDF_RS_AREA, 3, 4);
    NCHW_CASE(area, SDF_RS_AREA, 8, 11);
    NCHW_CASE(area, SDF_RS_AREA, 13, 3);
    sdf_tensor_release(x);
    sdf_tensor_release(img);
}

static void test_image_center_crop_kernels(void) {
    /* bilinear after a center crop (within the bilinear tolerance above): torch runs its generic
     * kernel on the narrowed view when W was
     * cut or when H was cut in a batch of several, its channels-last kernel otherwise */
    sdf_error err = {0};
    sdf_tensor *img = ramp_tensor(1, 5, 7, 3, 0.0f), *img2 = ramp_tensor(2, 5, 7, 3, 0.0f);
    sdf_tensor *o = sdf_common_upscale_image(img, 3, 4, SDF_RS_BILINEAR, true, NULL, &err);
    REQUIRE(o);
    check_tensor("center w", o, ref_img_center_w, SDF_COUNTOF(ref_img_center_w), TOL_bilinear);
    sdf_tensor_release(o);
    o = sdf_common_upscale_image(img, 8, 3, SDF_RS_BILINEAR, true, NULL, &err);
    REQUIRE(o);
    check_tensor("center h", o, ref_img_center_h, SDF_COUNTOF(ref_img_center_h), TOL_bilinear);
    sdf_tensor_release(o);
    o = sdf_common_upscale_image(img2, 8, 3, SDF_RS_BILINEAR, true, NULL, &err);
    REQUIRE(o);
    check_tensor("center h, batch 2", o, ref_img_center_hb2, SDF_COUNTOF(ref_img_center_hb2), TOL_bilinear);
    sdf_tensor_release(o);
    sdf_tensor_release(img);
    sdf_tensor_release(img2);
}

static void test_bicubic_x2_edge(void) {
    /* spec 10.5: for x2, out[0] = 1.10547 x0 - 0.10547 x1 (unclamped source index) */
    float in[2] = {1.0f, 0.0f}, out[4];
    sdf_error err = {0};
    REQUIRE(sdf_interpolate_planes(in, 1, 1, 2, out, 1, 4, SDF_RS_BICUBIC, NULL, &err) == SDF_OK);
    CHECK_NEAR(out[0], 1.10546875, 1e-6);
    CHECK_NEAR(out[3], -0.10546875 + 0.0, 1e-6);
}

static void test_bislerp(void) {
    sdf_error err = {0};
    sdf_tensor *lat = ramp_tensor(2, 4, 5, 6, 0.5f);
    float *p = sdf_tensor_f32p(lat);
    for (int c = 0; c < 4; c++) {
        p[(0 * 4 + c) * 30 + 1 * 6 + 2] = 0.0f;                       /* a zero vector */
        p[(1 * 4 + c) * 30 + 3 * 6 + 3] = -p[(1 * 4 + c) * 30 + 3 * 6 + 4]; /* opposite pair */
    }
    sdf_tensor *o = sdf_common_upscale(lat, 11, 9, SDF_RS_BISLERP, false, NULL, &err);
    REQUIRE(o);
    check_tensor("bislerp 9x11", o, ref_bislerp_9x11, SDF_COUNTOF(ref_bislerp_9x11), 2e-6);
    sdf_tensor_release(o);
    o = sdf_common_upscale(lat, 4, 3, SDF_RS_BISLERP, false, NULL, &err);
    REQUIRE(o);
    check_tensor("bislerp 3x4", o, ref_bislerp_3x4, SDF_COUNTOF(ref_bislerp_3x4), 2e-6);
    sdf_tensor_release(o);
    sdf_tensor_release(lat);
}

#define LZ_CASE(mode, ch, h, w)                                                               \
    do {                                                                                       \
        uint8_t in[5 * 7 * 4], out[h * w * 4];                                                 \
        for (int i = 0; i < 5 * 7; i++)                                                        \
            for (int c = 0; c < ch; c++) in[i * ch + c] = (uint8_t)(((i * 4 + c) * 53 + 7) % 256); \
        REQUIRE(sdf_lanczos_u8(in, 5, 7, ch, out, h, w, &err) == SDF_OK);                      \
        int bad = 0;                                                                           \
        for (int i = 0; i < h * w * ch; i++) bad += out[i] != ref_lanczos_##mode##_##h##x##w[i]; \
        CHECKF(bad == 0, "lanczos " #mode " " #h "x" #w ": %d bytes differ", bad);            \
    } while (0)

static void test_lanczos(void) {
    sdf_error err = {0};
    LZ_CASE(rgb, 3, 8, 11);
    LZ_CASE(rgb, 3, 3, 4);
    LZ_CASE(rgb, 3, 5, 3);
    LZ_CASE(rgba, 4, 8, 11);
    LZ_CASE(rgba, 4, 3, 4);
    LZ_CASE(rgba, 4, 5, 3);
}

static void test_fast_equals_reference(void) {
    /* odd sizes, up and down, every plane mode: the separable threaded path must give the same
     * bits as the direct evaluation */
    sdf_error err = {0};
    sdf_pool *pool = NULL;
    REQUIRE(sdf_pool_new(3, &pool, &err) == SDF_OK);
    const int64_t sz[][4] = {{7, 5, 13, 9}, {31, 17, 6, 11}, {1, 9, 3, 1}, {9, 1, 1, 7},
                             {33, 35, 33, 35}, {64, 48, 77, 23}};
    const sdf_resample ms[] = {SDF_RS_NEAREST_EXACT, SDF_RS_BILINEAR, SDF_RS_BICUBIC, SDF_RS_AREA};
    for (size_t s = 0; s < SDF_COUNTOF(sz); s++) {
        int64_t ih = sz[s][0], iw = sz[s][1], oh = sz[s][2], ow = sz[s][3], n = 5;
        float *in = sdf_malloc(sizeof(float) * (size_t)(n * ih * iw));
        float *a = sdf_malloc(sizeof(float) * (size_t)(n * oh * ow));
        float *b = sdf_malloc(sizeof(float) * (size_t)(n * oh * ow));
        for (int64_t i = 0; i < n * ih * iw; i++) in[i] = ramp(i * 7 + 3) * 2.0f - 0.7f;
        for (size_t k = 0; k < SDF_COUNTOF(ms); k++) {
            REQUIRE(sdf_interpolate_planes(in, n, ih, iw, a, oh, ow, ms[k], pool, &err) == SDF_OK);
            REQUIRE(sdf_interpolate_planes_ref(in, n, ih, iw, b, oh, ow, ms[k], &err) == SDF_OK);
            CHECKF(memcmp(a, b, sizeof(float) * (size_t)(n * oh * ow)) == 0,
                   "%s %lldx%lld -> %lldx%lld differs", sdf_resample_name(ms[k]), (long long)ih,
                   (long long)iw, (long long)oh, (long long)ow);
        }
        sdf_free(in);
        sdf_free(a);
        sdf_free(b);
    }
    sdf_pool_free(pool);
}

static void test_center_crop(void) {
    int64_t x, y;
    sdf_center_crop_offsets(278, 768, 512, 768, &x, &y); /* spec 10.5 item 3 */
    CHECK(x == 0 && y == 175);
    sdf_center_crop_offsets(768, 512, 512, 512, &x, &y);
    CHECK(x == 128 && y == 0);
    sdf_center_crop_offsets(10, 10, 20, 20, &x, &y);
    CHECK(x == 0 && y == 0);
    /* crop then resize: a 4x2 image to 2x2 center keeps the middle columns */
    sdf_error err = {0};
    sdf_tensor *t = sdf_tensor_f32(&err, 4, 1, 1, 2, 4);
    for (int i = 0; i < 8; i++) sdf_tensor_f32p(t)[i] = (float)i;
    sdf_tensor *o = sdf_common_upscale(t, 2, 2, SDF_RS_NEAREST_EXACT, true, NULL, &err);
    REQUIRE(o);
    const float want[4] = {1, 2, 5, 6};
    CHECK(memcmp(sdf_tensor_f32p(o), want, sizeof want) == 0);
    sdf_tensor_release(o);
    sdf_tensor_release(t);
    CHECK(sdf_resample_from_name("bislerp") == SDF_RS_BISLERP);
    CHECK(sdf_resample_from_name("nearest") == -1);
}

int main(void) {
    RUN(test_torch_interpolate);
    RUN(test_image_center_crop_kernels);
    RUN(test_bicubic_x2_edge);
    RUN(test_bislerp);
    RUN(test_lanczos);
    RUN(test_fast_equals_reference);
    RUN(test_center_crop);
    return test_summary();
}
