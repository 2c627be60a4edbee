/* test_unet.c: the UNet forward against the golden reference cases (tiny SD1 checkpoint, f32 and
 * fp16 files), batch 2, non-square, both timestep extremes, 1 vs 2 threads, bad inputs. */
#include <pthread.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/kernels/kernels.h"
#include "core/models/checkpoint.h"
#include "core/models/unet.h"
#include "testing.h"
#include "tiny_models.h"

static sdf_pool *pool2;

/* Runs the UNet on a golden file's x/timesteps/context (names with prefix) and compares eps. */
static void run_case(sdf_model *m, const char *file, const char *pfx, sdf_pool *pool,
                     sdf_tensor **out_keep) {
    sdf_error err;
    sdf_st_file *g = NULL;
    REQUIRE(sdf_st_open(test_ref_path(file), &g, &err) == SDF_OK);
    char n[64];
    snprintf(n, sizeof n, "%sx", pfx);
    sdf_tensor *x = sdf_st_tensor_f32(g, n, &err);
    snprintf(n, sizeof n, "%stimesteps", pfx);
    sdf_tensor *ts = sdf_st_tensor(g, n, &err);
    snprintf(n, sizeof n, "%scontext", pfx);
    sdf_tensor *ctx = sdf_st_tensor_f32(g, n, &err);
    snprintf(n, sizeof n, "%seps", pfx);
    sdf_tensor *eps = sdf_st_tensor_f32(g, n, &err);
    REQUIRE(x && ts && ctx && eps && ts->dtype == SDF_DTYPE_I64);
    float t[8];
    for (int64_t i = 0; i < ts->shape[0] && i < 8; i++) t[i] = (float)((int64_t *)ts->data)[i];
    sdf_tensor *out = NULL;
    sdf_status st = sdf_unet_forward(m, x, t, ctx, pool, &out, &err);
    CHECKF(st == SDF_OK, "%s", err.msg);
    if (out) {
        CHECK(sdf_tensor_same_shape(out, eps));
        char what[128];
        snprintf(what, sizeof what, "%s eps (%s)", file, pool ? "2 threads" : "1 thread");
        test_compare(what, sdf_tensor_f32p(out), sdf_tensor_f32p(eps),
                     (size_t)sdf_tensor_numel(eps), 1e-4, 5e-5);
    }
    if (out_keep) *out_keep = out;
    else sdf_tensor_release(out);
    sdf_tensor_release(x);
    sdf_tensor_release(ts);
    sdf_tensor_release(ctx);
    sdf_tensor_release(eps);
    sdf_st_close(g);
}

static sdf_model *model32;

static void test_unet_golden(void) {
    NEED_REFERENCE();
    if (!model32) model32 = tiny_unet_model(test_ref_path("tiny-sd1.safetensors"));
    REQUIRE(model32);
    run_case(model32, "golden/unet_sq_t1.safetensors", "", pool2, NULL);
    run_case(model32, "golden/unet_sq_t500.safetensors", "", pool2, NULL);
    run_case(model32, "golden/unet_sq_t999.safetensors", "", pool2, NULL);
    run_case(model32, "golden/unet_nonsq_16x24_t999_t1.safetensors", "", pool2, NULL);
}

static void test_unet_threads_identical(void) {
    NEED_REFERENCE();
    REQUIRE(model32);
    sdf_tensor *a = NULL, *b = NULL;
    run_case(model32, "golden/unet_nonsq_16x24_t999_t1.safetensors", "", NULL, &a);
    run_case(model32, "golden/unet_nonsq_16x24_t999_t1.safetensors", "", pool2, &b);
    REQUIRE(a && b);
    CHECK(memcmp(a->data, b->data, a->nbytes) == 0);
    sdf_tensor_release(a);
    sdf_tensor_release(b);
}

static void test_unet_fp16_checkpoint(void) {
    NEED_REFERENCE();
    sdf_model *m = tiny_unet_model(test_ref_path("tiny-sd1-fp16.safetensors"));
    REQUIRE(m);
    run_case(m, "golden/fp16ckpt_outputs.safetensors", "unet.", pool2, NULL);
    sdf_model_release(m);
}

/* Odd latent size (a 520-px image: 65x65 at SD's /8) and batch 1: runs, keeps the shape, and
 * matches batch row 0 of a batch-2 run on the same inputs. */
static void test_unet_odd_size(void) {
    NEED_REFERENCE();
    REQUIRE(model32);
    sdf_error err;
    sdf_tensor *x = sdf_tensor_f32(&err, 4, 2, 4, 13, 11);
    sdf_tensor *ctx = sdf_tensor_f32(&err, 3, 2, 77, 64);
    REQUIRE(x && ctx);
    float *xp = sdf_tensor_f32p(x), *cp = sdf_tensor_f32p(ctx);
    for (int64_t i = 0; i < sdf_tensor_numel(x); i++) xp[i] = sinf((float)i * 0.37f);
    for (int64_t i = 0; i < sdf_tensor_numel(ctx); i++) cp[i] = cosf((float)i * 0.11f);
    float t[2] = {321.0f, 321.0f};
    sdf_tensor *out = NULL, *out1 = NULL;
    CHECK(sdf_unet_forward(model32, x, t, ctx, pool2, &out, &err) == SDF_OK);
    REQUIRE(out);
    CHECK(out->shape[0] == 2 && out->shape[1] == 4 && out->shape[2] == 13 && out->shape[3] == 11);
    sdf_tensor *x1 = sdf_tensor_slice0(x, 0, 1, &err), *c1 = sdf_tensor_slice0(ctx, 0, 1, &err);
    CHECK(sdf_unet_forward(model32, x1, t, c1, NULL, &out1, &err) == SDF_OK);
    REQUIRE(out1);
    test_compare("batch 1 vs batch 2 row 0", sdf_tensor_f32p(out1), sdf_tensor_f32p(out),
                 (size_t)sdf_tensor_numel(out1), 1e-5, -1);
    bool finite = true;
    for (int64_t i = 0; i < sdf_tensor_numel(out); i++) finite &= isfinite(sdf_tensor_f32p(out)[i]);
    CHECK(finite);
    /* bad shapes are errors, not crashes */
    sdf_tensor *bad = sdf_tensor_f32(&err, 4, 2, 3, 8, 8), *o2 = NULL;
    CHECK(sdf_unet_forward(model32, bad, t, ctx, NULL, &o2, &err) == SDF_ERR_SHAPE && !o2);
    CHECK(sdf_unet_forward(model32, x, t, c1, NULL, &o2, &err) == SDF_ERR_SHAPE && !o2);
    sdf_tensor_release(bad);
    sdf_tensor_release(x); sdf_tensor_release(ctx); sdf_tensor_release(x1); sdf_tensor_release(c1);
    sdf_tensor_release(out); sdf_tensor_release(out1);
}

/* A weight store missing a layer fails with NOT_FOUND naming it. */
static void test_unet_missing_weight(void) {
    NEED_REFERENCE();
    sdf_model *m = tiny_unet_model(test_ref_path("tiny-sd1.safetensors"));
    REQUIRE(m);
    sdf_wstore_remove(m->weights, "output_blocks.4.1.transformer_blocks.0.attn2.to_k.weight");
    sdf_error err;
    sdf_error_clear(&err);
    sdf_tensor *x = sdf_tensor_f32(&err, 4, 1, 4, 8, 8), *ctx = sdf_tensor_f32(&err, 3, 1, 77, 64);
    float t = 1;
    sdf_tensor *out = NULL;
    CHECK(sdf_unet_forward(m, x, &t, ctx, NULL, &out, &err) == SDF_ERR_NOT_FOUND);
    CHECK(strstr(err.msg, "attn2.to_k") != NULL);
    CHECK(!out);
    sdf_tensor_release(x);
    sdf_tensor_release(ctx);
    sdf_model_release(m);
}

/* Two threads call a fresh (unprepared) model at once: one preparation, identical results. */
typedef struct conc_arg {
    sdf_model *m;
    sdf_tensor *x, *ctx, *out;
    sdf_status st;
} conc_arg;

static void *conc_run(void *p) {
    conc_arg *a = p;
    sdf_error err;
    float t[2] = {500.0f, 20.0f};
    a->st = sdf_unet_forward(a->m, a->x, t, a->ctx, pool2, &a->out, &err);
    return NULL;
}

static void concurrent_case(const char *file) {
    sdf_model *m = tiny_unet_model(test_ref_path(file));
    REQUIRE(m);
    sdf_error err;
    sdf_tensor *x = sdf_tensor_f32(&err, 4, 2, 4, 8, 16), *ctx = sdf_tensor_f32(&err, 3, 2, 154, 64);
    for (int64_t i = 0; i < sdf_tensor_numel(x); i++) sdf_tensor_f32p(x)[i] = cosf((float)i * 0.3f);
    for (int64_t i = 0; i < sdf_tensor_numel(ctx); i++) sdf_tensor_f32p(ctx)[i] = sinf((float)i * 0.1f);
    conc_arg a[2] = {{m, x, ctx, NULL, SDF_ERR_INTERNAL}, {m, x, ctx, NULL, SDF_ERR_INTERNAL}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, conc_run, &a[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK(a[0].st == SDF_OK && a[1].st == SDF_OK);
    if (a[0].out && a[1].out) CHECK(memcmp(a[0].out->data, a[1].out->data, a[0].out->nbytes) == 0);
    sdf_tensor_release(a[0].out);
    sdf_tensor_release(a[1].out);
    sdf_tensor_release(x);
    sdf_tensor_release(ctx);
    sdf_model_release(m);
}

/* Two forwards at once on one model; with fp16 weights one of them finds the network's conversion
 * scratch buffer busy and converts into a buffer of its own: same bits either way. */
static void test_unet_concurrent(void) {
    NEED_REFERENCE();
    concurrent_case("tiny-sd1.safetensors");
    concurrent_case("tiny-sd1-fp16.safetensors");
}

/* Through the real checkpoint loader (its detected config, ComfyUI-ordered depths): same eps. */
static void test_unet_via_loader(void) {
    NEED_REFERENCE();
    sdf_error err;
    sdf_model *m = NULL;
    sdf_checkpoint_opts o = {.fp32_text_encoder = true};
    CHECKF(sdf_checkpoint_load(test_ref_path("tiny-sd1.safetensors"), &o, &m, NULL, NULL, &err) ==
               SDF_OK, "%s", err.msg);
    REQUIRE(m);
    run_case(m, "golden/unet_sq_t500.safetensors", "", pool2, NULL);
    sdf_model_release(m);
}

int main(void) {
    sdf_blas_setup();
    sdf_error err;
    if (sdf_pool_new(2, &pool2, &err) != SDF_OK) return 1;
    RUN(test_unet_golden);
    RUN(test_unet_threads_identical);
    RUN(test_unet_fp16_checkpoint);
    RUN(test_unet_odd_size);
    RUN(test_unet_missing_weight);
    RUN(test_unet_via_loader);
    RUN(test_unet_concurrent);
    sdf_model_release(model32);
    sdf_pool_free(pool2);
    return test_summary();
}
