/* test_make_model.c: make-model key lists equal the reference key lists (SD1.5, SD2.1, tiny),
 * a generated tiny checkpoint loads with the tiny configuration, values are seeded and
 * fan-in scaled, and the SD2.1 / SD2.1-v norm1.bias spreads decide v-prediction. */
#include <stdint.h>
#include <unistd.h>

#include "../core/base/alloc.h"
#include "../core/models/checkpoint.h"
#include "../core/models/make_model.h"
#include "testing.h"

static int cmp_key(const void *a, const void *b) {
    return strcmp(((const sdf_mm_key *)a)->name, ((const sdf_mm_key *)b)->name);
}

static void compare_with_tsv(sdf_mm_arch a, const char *tsv, int expect_rows) {
    sdf_error err;
    sdf_mm_key *keys = NULL;
    size_t n = 0;
    REQUIRE(sdf_mm_keys(a, &keys, &n, &err) == SDF_OK);
    qsort(keys, n, sizeof *keys, cmp_key);
    FILE *f = fopen(test_ref_path(tsv), "r");
    REQUIRE(f);
    char line[1024];
    REQUIRE(fgets(line, sizeof line, f) != NULL);
    size_t i = 0;
    int rows = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        char name[256], shape[256], dt[16];
        if (sscanf(line, "%255[^\t]\t%255[^\t]\t%15s", name, shape, dt) != 3) continue;
        rows++;
        if (i >= n || strcmp(keys[i].name, name) != 0) {
            if (bad++ < 5) fprintf(stderr, "  key %zu: tsv %s vs %s\n", i, name, i < n ? keys[i].name : "(end)");
            i++;
            continue;
        }
        char mine[256];
        int l = snprintf(mine, sizeof mine, "[");
        for (int d = 0; d < keys[i].ndim; d++)
            l += snprintf(mine + l, sizeof mine - (size_t)l, "%s%lld", d ? ", " : "", (long long)keys[i].shape[d]);
        snprintf(mine + l, sizeof mine - (size_t)l, "]");
        if (strcmp(mine, shape) != 0 || strcmp(sdf_dtype_name(keys[i].dtype), dt) != 0) {
            if (bad++ < 5) fprintf(stderr, "  %s: tsv %s %s vs %s %s\n", name, shape, dt, mine, sdf_dtype_name(keys[i].dtype));
        }
        i++;
    }
    fclose(f);
    CHECK(bad == 0);
    CHECK(rows == expect_rows);
    CHECK(n == (size_t)expect_rows);
    sdf_free(keys);
}

static void test_sd15_keys(void) {
    NEED_REFERENCE();
    compare_with_tsv(SDF_MM_SD15, "sd15-keys.tsv", 1143);
}

static void test_sd21_keys(void) {
    NEED_REFERENCE();
    compare_with_tsv(SDF_MM_SD21_V, "sd21-keys.tsv", 1240);
}

static void test_tiny_keys(void) {
    NEED_REFERENCE();
    sdf_error err;
    sdf_mm_key *keys = NULL;
    size_t n = 0;
    REQUIRE(sdf_mm_keys(SDF_MM_TINY, &keys, &n, &err) == SDF_OK);
    sdf_st_file *f = NULL;
    REQUIRE(sdf_st_open(test_ref_path("tiny-sd1.safetensors"), &f, &err) == SDF_OK);
    CHECK(n == sdf_st_count(f));
    for (size_t i = 0; i < n; i++) {
        const sdf_st_entry *e = sdf_st_find(f, keys[i].name);
        CHECKF(e != NULL, "%s not in tiny-sd1", keys[i].name);
        if (!e) continue;
        CHECKF(e->ndim == keys[i].ndim && memcmp(e->shape, keys[i].shape, sizeof(int64_t) * (size_t)e->ndim) == 0,
               "%s shape", keys[i].name);
    }
    sdf_st_close(f);
    sdf_free(keys);
}

static void test_tiny_generated(void) {
    sdf_error err;
    char p1[256], p2[256];
    snprintf(p1, sizeof p1, "/tmp/sdf_mm_%d_a.safetensors", (int)getpid());
    snprintf(p2, sizeof p2, "/tmp/sdf_mm_%d_b.safetensors", (int)getpid());
    REQUIRE(sdf_make_model(SDF_MM_TINY, 7, SDF_DTYPE_F32, p1, &err) == SDF_OK);
    REQUIRE(sdf_make_model(SDF_MM_TINY, 7, SDF_DTYPE_F16, p2, &err) == SDF_OK);
    sdf_model *m = NULL;
    sdf_clip *c = NULL;
    sdf_vae *v = NULL;
    REQUIRE(sdf_checkpoint_load(p1, NULL, &m, &c, &v, &err) == SDF_OK);
    CHECK(m->arch == SDF_ARCH_SD1 && m->unet.model_channels == 32 && m->unet.num_heads == 2);
    CHECK(m->unet.context_dim == 64 && m->unet.n_levels == 3 && m->prediction == SDF_PRED_EPS);
    CHECK(c->cfg.width == 64 && c->cfg.layers == 3 && c->cfg.heads == 2 && c->cfg.quick_gelu);
    CHECK(v->cfg.ch == 32 && v->cfg.downscale == 4 && v->cfg.num_res_blocks == 1);
    /* fan-in scaling: std of a 3x3 conv weight ~ 1/sqrt(in*9) */
    sdf_tensor *t = sdf_wstore_get_f32(m->weights, "input_blocks.4.0.in_layers.2.weight", &err);
    REQUIRE(t && t->shape[1] == 32);
    double s = 0, s2 = 0;
    int64_t ne = sdf_tensor_numel(t);
    for (int64_t i = 0; i < ne; i++) { s += sdf_tensor_f32p(t)[i]; s2 += sdf_tensor_f32p(t)[i] * sdf_tensor_f32p(t)[i]; }
    double sd = sqrt(s2 / (double)ne - (s / (double)ne) * (s / (double)ne));
    CHECK_NEAR(sd, 1.0 / sqrt(32 * 9.0), 0.1 / sqrt(32 * 9.0));
    /* f16 file holds the f16 rounding of the f32 file's values */
    sdf_st_file *f2 = NULL;
    REQUIRE(sdf_st_open(p2, &f2, &err) == SDF_OK);
    sdf_tensor *h = sdf_st_tensor(f2, "model.diffusion_model.input_blocks.4.0.in_layers.2.weight", &err);
    REQUIRE(h && h->dtype == SDF_DTYPE_F16);
    int bad = 0;
    for (int64_t i = 0; i < ne; i++) bad += ((uint16_t *)h->data)[i] != sdf_f32_to_f16(sdf_tensor_f32p(t)[i]);
    CHECK(bad == 0);
    /* norm weights around 1, biases nonzero */
    sdf_tensor *nw = sdf_wstore_get_f32(m->weights, "out.0.weight", &err);
    sdf_tensor *nb = sdf_wstore_get_f32(m->weights, "out.0.bias", &err);
    REQUIRE(nw && nb);
    CHECK(fabsf(sdf_tensor_f32p(nw)[0] - 1.0f) < 0.5f && sdf_tensor_f32p(nb)[0] != 0.0f);
    /* deterministic: the same seed gives the same values */
    float a[32], b[32];
    CHECK(sdf_mm_tensor_values(SDF_MM_TINY, 7, "model.diffusion_model.out.0.bias", a, 32, &err) == SDF_OK);
    CHECK(memcmp(a, nb->data, sizeof a) == 0);
    CHECK(sdf_mm_tensor_values(SDF_MM_TINY, 8, "model.diffusion_model.out.0.bias", b, 32, &err) == SDF_OK);
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK(sdf_mm_tensor_values(SDF_MM_TINY, 7, "nope", a, 32, &err) == SDF_ERR_NOT_FOUND);
    sdf_tensor *ids = sdf_st_tensor(f2, "cond_stage_model.transformer.text_model.embeddings.position_ids", &err);
    REQUIRE(ids && ids->dtype == SDF_DTYPE_I64);
    CHECK(((int64_t *)ids->data)[76] == 76);
    sdf_tensor *ac = sdf_st_tensor_f32(f2, "alphas_cumprod", &err);
    REQUIRE(ac);
    CHECK_NEAR(sdf_tensor_f32p(ac)[0], 0.99915, 1e-3);
    CHECK_NEAR(sdf_tensor_f32p(ac)[999], 0.0046, 2e-4);
    sdf_tensor_release(ids);
    sdf_tensor_release(ac);
    sdf_tensor_release(t);
    sdf_tensor_release(h);
    sdf_tensor_release(nw);
    sdf_tensor_release(nb);
    sdf_st_close(f2);
    sdf_model_release(m);
    sdf_clip_release(c);
    sdf_vae_release(v);
    unlink(p1);
    unlink(p2);
}

static double spread(sdf_mm_arch a) {
    float x[320];
    sdf_error err;
    if (sdf_mm_tensor_values(a, 1, "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias",
                             x, 320, &err) != SDF_OK)
        return -1;
    double m = 0, v = 0;
    for (int i = 0; i < 320; i++) m += x[i];
    m /= 320;
    for (int i = 0; i < 320; i++) v += (x[i] - m) * (x[i] - m);
    return sqrt(v / 320);
}

static void test_v_spread(void) {
    double e = spread(SDF_MM_SD21), v = spread(SDF_MM_SD21_V);
    CHECKF(e > 0 && e < 0.07, "sd21 spread %g", e);
    CHECKF(v > 0.11, "sd21-v spread %g", v);
}

int main(void) {
    RUN(test_sd15_keys);
    RUN(test_sd21_keys);
    RUN(test_tiny_keys);
    RUN(test_tiny_generated);
    RUN(test_v_spread);
    return test_summary();
}
