/* test_kernels.c: every optimized kernel against its scalar reference on random and odd shapes
 * (1, primes, non-multiples of the SIMD width), 1-thread vs 2-thread bit equality, and the
 * attention kernel's bounded scratch memory. */
#include <stdint.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/threadpool.h"
#include "core/kernels/kernels.h"
#include "core/kernels/vmath.h"
#include "testing.h"

static sdf_pool *pool2;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float frand(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static float *rnd(int64_t n, float scale) {
    float *p = sdf_malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++) p[i] = frand() * scale;
    return p;
}
static float *zeros(int64_t n) { return sdf_calloc((size_t)(n > 0 ? n : 1), sizeof(float)); }

/* per element |got - ref| <= atol + rtol*|ref| */
static int close_all(const char *what, const float *got, const float *ref, int64_t n, double atol,
                     double rtol) {
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]);
        if (!(e <= atol + rtol * fabs(ref[i]))) {
            CHECKF(0, "%s: index %lld got %.9g ref %.9g", what, (long long)i, got[i], ref[i]);
            return 0;
        }
    }
    return 1;
}

static void test_sgemm_linear(void) {
    static const int64_t dims[][3] = {{1, 1, 1}, {3, 7, 13}, {17, 63, 65}, {129, 31, 47},
                                      {600, 17, 33}, {5, 700, 19}, {520, 530, 11}};
    for (size_t t = 0; t < SDF_COUNTOF(dims); t++) {
        int64_t m = dims[t][0], n = dims[t][1], k = dims[t][2];
        for (int tb = 0; tb < 2; tb++) {
            float *a = rnd(m * k, 1), *b = rnd(k * n, 1), *c0 = rnd(m * n, 1);
            float *c1 = sdf_malloc((size_t)(m * n) * 4), *c2 = sdf_malloc((size_t)(m * n) * 4);
            memcpy(c1, c0, (size_t)(m * n) * 4);
            memcpy(c2, c0, (size_t)(m * n) * 4);
            float *cr = sdf_malloc((size_t)(m * n) * 4);
            memcpy(cr, c0, (size_t)(m * n) * 4);
            sdf_k_sgemm_ref(tb, m, n, k, 0.5f, a, k, b, tb ? k : n, 0.25f, cr, n);
            sdf_k_sgemm(NULL, tb, m, n, k, 0.5f, a, k, b, tb ? k : n, 0.25f, c1, n);
            sdf_k_sgemm(pool2, tb, m, n, k, 0.5f, a, k, b, tb ? k : n, 0.25f, c2, n);
            close_all("sgemm", c1, cr, m * n, 1e-5, 1e-5);
            CHECK(memcmp(c1, c2, (size_t)(m * n) * 4) == 0);
            sdf_free(a); sdf_free(b); sdf_free(c0); sdf_free(c1); sdf_free(c2); sdf_free(cr);
        }
        /* linear: rows=m, in=k, out=n */
        float *x = rnd(m * k, 1), *w = rnd(n * k, 1), *bias = rnd(n, 1);
        float *y1 = zeros(m * n), *y2 = zeros(m * n), *yr = zeros(m * n);
        sdf_k_linear_ref(yr, x, w, bias, m, k, n);
        sdf_k_linear(NULL, y1, x, w, bias, m, k, n);
        sdf_k_linear(pool2, y2, x, w, bias, m, k, n);
        close_all("linear", y1, yr, m * n, 1e-5, 1e-5);
        CHECK(memcmp(y1, y2, (size_t)(m * n) * 4) == 0);
        sdf_k_linear(NULL, y1, x, w, NULL, m, k, n);
        sdf_k_linear_ref(yr, x, w, NULL, m, k, n);
        close_all("linear nobias", y1, yr, m * n, 1e-5, 1e-5);
        sdf_free(x); sdf_free(w); sdf_free(bias); sdf_free(y1); sdf_free(y2); sdf_free(yr);
    }
}

static void conv_case(int64_t n, int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t k,
                      int stride, int pt, int pl, int pb, int pr, bool bias) {
    sdf_conv_shape s = {n, cin, h, w, cout, k, k, stride, pt, pl, pb, pr};
    int64_t oh = sdf_conv_out_h(&s), ow = sdf_conv_out_w(&s);
    int64_t ny = n * cout * oh * ow;
    float *x = rnd(n * cin * h * w, 1), *wt = rnd(cout * cin * k * k, 0.3f), *b = rnd(cout, 1);
    float *yr = zeros(ny), *y1 = zeros(ny), *y2 = zeros(ny);
    sdf_k_conv2d_ref(yr, x, wt, bias ? b : NULL, &s);
    sdf_k_conv2d(NULL, y1, x, wt, bias ? b : NULL, &s);
    sdf_k_conv2d(pool2, y2, x, wt, bias ? b : NULL, &s);
    char what[128];
    snprintf(what, sizeof what, "conv n%lld c%lld %lldx%lld -> %lld k%lld s%d pad %d%d%d%d",
             (long long)n, (long long)cin, (long long)h, (long long)w, (long long)cout,
             (long long)k, stride, pt, pl, pb, pr);
    close_all(what, y1, yr, ny, 1e-5, 1e-5);
    CHECKF(memcmp(y1, y2, (size_t)ny * 4) == 0, "%s: 1 vs 2 threads differ", what);
    sdf_free(x); sdf_free(wt); sdf_free(b); sdf_free(yr); sdf_free(y1); sdf_free(y2);
}

static void test_conv2d(void) {
    conv_case(1, 1, 1, 1, 1, 3, 1, 1, 1, 1, 1, true);
    conv_case(2, 3, 7, 13, 5, 3, 1, 1, 1, 1, 1, true);
    conv_case(1, 4, 17, 17, 7, 3, 2, 1, 1, 1, 1, true);   /* UNet downsample, odd size */
    conv_case(1, 5, 16, 12, 3, 3, 2, 0, 0, 1, 1, true);   /* VAE asymmetric pad */
    conv_case(1, 5, 13, 11, 3, 3, 2, 0, 0, 1, 1, false);
    conv_case(2, 13, 9, 7, 17, 1, 1, 0, 0, 0, 0, true);   /* 1x1 direct */
    conv_case(1, 3, 50, 47, 2, 1, 1, 0, 0, 0, 0, false);  /* 1x1 with several column blocks */
    conv_case(1, 6, 67, 61, 4, 3, 1, 1, 1, 1, 1, true);   /* several row blocks */
    conv_case(1, 2, 5, 5, 3, 1, 2, 0, 0, 0, 0, true);     /* 1x1 stride 2 (im2col path) */
    /* small planes, many output channels: the batched path (images side by side) */
    conv_case(2, 20, 9, 7, 130, 3, 1, 1, 1, 1, 1, true);
    conv_case(3, 7, 8, 8, 257, 3, 2, 1, 1, 1, 1, false);
    conv_case(1, 5, 4, 4, 128, 3, 1, 1, 1, 1, 1, true);
}

static void test_norms(void) {
    static const int64_t gn[][3] = {{1, 32, 1}, {2, 64, 17}, {1, 96, 63}, {3, 32, 5}};
    for (size_t t = 0; t < SDF_COUNTOF(gn); t++) {
        int64_t n = gn[t][0], c = gn[t][1], hw = gn[t][2];
        for (int act = 0; act < 2; act++) {
            float *x = rnd(n * c * hw, 3), *g = rnd(c, 1), *b = rnd(c, 1);
            for (int64_t i = 0; i < n * c * hw; i++) x[i] += 2.0f; /* non-zero mean */
            float *yr = zeros(n * c * hw), *y1 = zeros(n * c * hw), *y2 = zeros(n * c * hw);
            sdf_k_groupnorm_ref(yr, x, g, b, n, c, hw, 32, 1e-5f, act);
            sdf_k_groupnorm(NULL, y1, x, g, b, n, c, hw, 32, 1e-5f, act);
            sdf_k_groupnorm(pool2, y2, x, g, b, n, c, hw, 32, 1e-5f, act);
            close_all("groupnorm", y1, yr, n * c * hw, 2e-6, 2e-6);
            CHECK(memcmp(y1, y2, (size_t)(n * c * hw) * 4) == 0);
            sdf_free(x); sdf_free(g); sdf_free(b); sdf_free(yr); sdf_free(y1); sdf_free(y2);
        }
    }
    /* a hand-computed GroupNorm: one group of [1, 2, 3, 4] -> mean 2.5, var 1.25 */
    float x[4] = {1, 2, 3, 4}, g[2] = {1, 2}, b[2] = {0, 1}, y[4];
    sdf_k_groupnorm(NULL, y, x, g, b, 1, 2, 2, 1, 0.0f, false);
    CHECK_NEAR(y[0], -1.5 / sqrt(1.25), 1e-6);
    CHECK_NEAR(y[3], 1.5 / sqrt(1.25) * 2 + 1, 1e-6);
    static const int64_t ln[][2] = {{1, 1}, {7, 64}, {130, 33}, {3, 320}};
    for (size_t t = 0; t < SDF_COUNTOF(ln); t++) {
        int64_t r = ln[t][0], d = ln[t][1];
        float *xx = rnd(r * d, 2), *gg = rnd(d, 1), *bb = rnd(d, 1);
        float *yr = zeros(r * d), *y1 = zeros(r * d), *y2 = zeros(r * d);
        sdf_k_layernorm_ref(yr, xx, gg, bb, r, d, 1e-5f);
        sdf_k_layernorm(NULL, y1, xx, gg, bb, r, d, 1e-5f);
        sdf_k_layernorm(pool2, y2, xx, gg, bb, r, d, 1e-5f);
        close_all("layernorm", y1, yr, r * d, 2e-6, 2e-6);
        CHECK(memcmp(y1, y2, (size_t)(r * d) * 4) == 0);
        sdf_free(xx); sdf_free(gg); sdf_free(bb); sdf_free(yr); sdf_free(y1); sdf_free(y2);
    }
}

static void test_eltwise(void) {
    int64_t n = 40009; /* prime, spans several chunks */
    float *x = rnd(n, 6), *yr = zeros(n), *y1 = zeros(n), *y2 = zeros(n);
    for (int a = 0; a < 3; a++) {
        sdf_k_act_ref(yr, x, n, (sdf_act)a);
        sdf_k_act(NULL, y1, x, n, (sdf_act)a);
        sdf_k_act(pool2, y2, x, n, (sdf_act)a);
        close_all("act", y1, yr, n, 1e-6, 1e-6);
        CHECK(memcmp(y1, y2, (size_t)n * 4) == 0);
    }
    /* hand values: gelu(1) = 0.8413447, silu(1) = 0.7310586, quick_gelu(1) = 0.8457957 */
    float one = 1.0f, r;
    sdf_k_act(NULL, &r, &one, 1, SDF_ACT_GELU);
    CHECK_NEAR(r, 0.8413447461, 1e-6);
    sdf_k_act(NULL, &r, &one, 1, SDF_ACT_SILU);
    CHECK_NEAR(r, 0.7310585786, 1e-6);
    sdf_k_act(NULL, &r, &one, 1, SDF_ACT_QUICK_GELU);
    CHECK_NEAR(r, 0.8457957, 1e-6);
    /* GEGLU: the second half is the gate */
    float gx[4] = {2.0f, 3.0f, 1.0f, 0.0f}, gy[2];
    sdf_k_geglu(NULL, gy, gx, 1, 2);
    CHECK_NEAR(gy[0], 2.0 * 0.8413447461, 1e-6);
    CHECK_NEAR(gy[1], 0.0, 1e-7);
    int64_t rows = 37, dim = 41;
    float *gxx = rnd(rows * 2 * dim, 3);
    sdf_k_geglu_ref(yr, gxx, rows, dim);
    sdf_k_geglu(pool2, y1, gxx, rows, dim);
    close_all("geglu", y1, yr, rows * dim, 1e-6, 1e-6);
    sdf_k_softmax_ref(yr, gxx, rows, 2 * dim, 0.7f);
    sdf_k_softmax(pool2, y1, gxx, rows, 2 * dim, 0.7f);
    close_all("softmax", y1, yr, rows * 2 * dim, 1e-7, 1e-6);
    sdf_free(gxx);
    /* axpby */
    float *b = rnd(n, 1);
    sdf_k_axpby_ref(yr, x, 0.5f, b, -2.0f, n);
    sdf_k_axpby(pool2, y1, x, 0.5f, b, -2.0f, n);
    CHECK(memcmp(y1, yr, (size_t)n * 4) == 0);
    sdf_k_axpby_ref(yr, x, 3.0f, NULL, 0.0f, n);
    sdf_k_axpby(NULL, y1, x, 3.0f, NULL, 0.0f, n);
    CHECK(memcmp(y1, yr, (size_t)n * 4) == 0);
    /* upsample x2 and odd nearest resize */
    static const int64_t up[][4] = {{3, 5, 6, 10}, {5, 7, 10, 14}, {3, 3, 7, 5}, {1, 1, 2, 2}};
    for (size_t t = 0; t < SDF_COUNTOF(up); t++) {
        int64_t ih = up[t][0], iw = up[t][1], oh = up[t][2], ow = up[t][3];
        sdf_k_upsample_nearest_ref(yr, x, 3, ih, iw, oh, ow);
        sdf_k_upsample_nearest(pool2, y1, x, 3, ih, iw, oh, ow);
        CHECK(memcmp(y1, yr, (size_t)(3 * oh * ow) * 4) == 0);
    }
    float ux[4] = {1, 2, 3, 4}, uy[16];
    sdf_k_upsample_nearest(NULL, uy, ux, 1, 2, 2, 4, 4);
    CHECK(uy[0] == 1 && uy[1] == 1 && uy[2] == 2 && uy[5] == 1 && uy[10] == 4 && uy[15] == 4);
    /* concat, transpose */
    sdf_k_concat_ref(yr, x, 3, b, 5, 2, 13);
    sdf_k_concat(pool2, y1, x, 3, b, 5, 2, 13);
    CHECK(memcmp(y1, yr, (size_t)(2 * 8 * 13) * 4) == 0);
    sdf_k_transpose_ref(yr, x, 3, 37, 65);
    sdf_k_transpose(pool2, y1, x, 3, 37, 65);
    CHECK(memcmp(y1, yr, (size_t)(3 * 37 * 65) * 4) == 0);
    CHECK(y1[1 * 37 + 0] == x[1]);
    /* per-channel add */
    memcpy(y1, x, 2 * 3 * 5 * 4);
    sdf_k_add_channel(pool2, y1, b, 2, 3, 5);
    CHECK(y1[3 * 5 + 2] == x[3 * 5 + 2] + b[0] && y1[2 * 5 + 4] == x[2 * 5 + 4] + b[2]);
    sdf_free(x); sdf_free(b); sdf_free(yr); sdf_free(y1); sdf_free(y2);
}

static void test_timestep_embedding(void) {
    float t[2] = {999.0f, 1.0f}, y[2 * 32];
    sdf_k_timestep_embedding_ref(y, t, 2, 32);
    for (int k = 0; k < 16; k++) {
        double f = exp(-log(10000.0) * k / 16.0);
        CHECK_NEAR(y[k], cos(999.0 * f), 2e-4); /* f32 evaluation, as ComfyUI */
        CHECK_NEAR(y[16 + k], sin(999.0 * f), 2e-4);
        CHECK_NEAR(y[32 + k], cos(f), 1e-6);
        CHECK_NEAR(y[48 + k], sin(f), 1e-6);
    }
}

static void attn_case(int64_t batch, int64_t nq, int64_t nk, int64_t heads, int64_t d) {
    int64_t c = heads * d, pad = 3; /* strided rows like a fused qkv buffer */
    sdf_attn_shape s = {batch, nq, nk, heads, d, c + pad, c + pad, c, c, 1.0f / sqrtf((float)d)};
    float *q = rnd(batch * nq * (c + pad), 2), *k = rnd(batch * nk * (c + pad), 2);
    float *v = rnd(batch * nk * c, 1);
    float *yr = zeros(batch * nq * c), *y1 = zeros(batch * nq * c), *y2 = zeros(batch * nq * c);
    sdf_k_attention_ref(yr, q, k, v, &s);
    sdf_k_attention(NULL, y1, q, k, v, &s);
    sdf_k_attention(pool2, y2, q, k, v, &s);
    char what[96];
    snprintf(what, sizeof what, "attention b%lld nq%lld nk%lld h%lld d%lld", (long long)batch,
             (long long)nq, (long long)nk, (long long)heads, (long long)d);
    close_all(what, y1, yr, batch * nq * c, 2e-6, 2e-5);
    CHECKF(memcmp(y1, y2, (size_t)(batch * nq * c) * 4) == 0, "%s: 1 vs 2 threads", what);
    sdf_free(q); sdf_free(k); sdf_free(v); sdf_free(yr); sdf_free(y1); sdf_free(y2);
}

static void test_attention(void) {
    attn_case(1, 1, 1, 1, 1);
    attn_case(2, 7, 77, 2, 16);     /* cross attention shape */
    attn_case(1, 257, 257, 3, 13);  /* several query blocks, odd head dim */
    attn_case(1, 300, 1100, 1, 40); /* several key blocks: online softmax rescaling */
    /* uniform scores -> exact mean of v */
    float q[2] = {0, 0}, k[6] = {1, 2, 3, 4, 5, 6}, v[3] = {1, 2, 6}, o[2];
    sdf_attn_shape s = {1, 2, 3, 1, 1, 1, 2, 1, 1, 1.0f};
    sdf_k_attention(NULL, o, q, k, v, &s);
    CHECK_NEAR(o[0], 3.0, 1e-6);
    CHECK_NEAR(o[1], 3.0, 1e-6);
}

/* 1024x1024 image: 16384 latent tokens in the UNet (64 tokens per side of 128... per level 0:
 * 128x128) and in the VAE mid block at 1024/8 = 128. The scratch must not grow with the number
 * of keys x queries: a naive score matrix for 64 queries x 16384 keys x 8 heads alone is 32 MB. */
static void test_attention_memory(void) {
    int64_t nq = 64, nk = 16384, heads = 8, d = 8, c = heads * d;
    float *q = rnd(nq * c, 1), *k = rnd(nk * c, 1), *v = rnd(nk * c, 1), *o = zeros(nq * c);
    sdf_attn_shape s = {1, nq, nk, heads, d, c, c, c, c, 0.35f};
    size_t before = sdf_alloc_live_bytes();
    sdf_alloc_reset_peak();
    sdf_k_attention(pool2, o, q, k, v, &s);
    size_t extra = sdf_alloc_peak_bytes() - before;
    CHECKF(extra < (size_t)2 << 20, "attention scratch %zu bytes", extra);
    /* spot-check one query row against the naive definition */
    sdf_attn_shape s1 = s;
    s1.nq = 1;
    float ref[64];
    sdf_k_attention_ref(ref, q + 5 * c, k, v, &s1);
    close_all("attention 16384 keys", o + 5 * c, ref, c, 1e-6, 1e-5);
    sdf_free(q); sdf_free(k); sdf_free(v); sdf_free(o);
}

/* the vectorised exp / max / sum-of-exp behind softmax, SiLU and attention */
static void test_vmath(void) {
    int64_t n = 1037;
    float *x = zeros(n), *y = zeros(n);
    for (int64_t i = 0; i < n; i++) x[i] = -100.0f + 190.0f * (float)i / (float)n;
    x[0] = -INFINITY;
    sdf_vm_exp(y, x, n);
    CHECK(y[0] == 0.0f);
    for (int64_t i = 1; i < n; i++) {
        double r = exp((double)x[i]);
        if (r < 1.2e-38) CHECK(y[i] < 1.2e-38f);
        else if (r > 3.4028234e38) CHECK(isinf(y[i]));
        else CHECKF(fabs(y[i] - r) <= 3e-7 * r, "exp(%.9g) = %.9g vs %.9g", x[i], y[i], r);
    }
    for (int64_t i = 0; i < n; i++) x[i] = sinf((float)i) * 5.0f;
    x[777] = 9.5f;
    CHECK(sdf_vm_max(x, n) == 9.5f);
    CHECK(sdf_vm_max(x, 13) == x[11] || sdf_vm_max(x, 13) >= x[0]);
    double ref = 0;
    for (int64_t i = 0; i < n; i++) ref += exp((double)x[i] - 9.5);
    float s = sdf_vm_expsum(x, n, 9.5f);
    CHECK_NEAR(s, ref, 1e-6 * ref);
    CHECK_NEAR(x[777], 1.0, 1e-7);
    sdf_free(x);
    sdf_free(y);
}

int main(void) {
    sdf_blas_setup();
    sdf_error err;
    if (sdf_pool_new(2, &pool2, &err) != SDF_OK) return 1;
    RUN(test_sgemm_linear);
    RUN(test_conv2d);
    RUN(test_norms);
    RUN(test_eltwise);
    RUN(test_timestep_embedding);
    RUN(test_vmath);
    RUN(test_attention);
    RUN(test_attention_memory);
    sdf_pool_free(pool2);
    return test_summary();
}
