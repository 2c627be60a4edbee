/* test_brownian.c: numpy SeedSequence and torchsde BrownianTree parity (values measured with
 * numpy 1.24 / torchsde at google-research/torchsde eb3a00e on torch 1.13 CPU), the noise
 * sampler's sign and scaling, and the SDE samplers' use of it. */
#include "testing.h"

#include "core/models/brownian.h"
#include "core/models/sampler_names.h"
#include "core/models/samplers.h"

static void test_seedseq(void) {
    uint32_t o[4];
    sdf_seedseq_generate(42, NULL, 0, 24, o, 3);
    CHECK(o[0] == 387750627u && o[1] == 2536650517u && o[2] == 4078839648u);
    sdf_seedseq_generate(0, NULL, 0, 24, o, 3);
    CHECK(o[0] == 4025752534u && o[1] == 2687548107u && o[2] == 2326983537u);
    uint64_t k1[2] = {5, 3};
    sdf_seedseq_generate(42, k1, 2, 24, o, 4);
    CHECK(o[0] == 3084123560u && o[1] == 468215949u && o[2] == 242942938u && o[3] == 2650128260u);
    uint64_t k2[2] = {123456, 17};
    sdf_seedseq_generate(UINT64_MAX, k2, 2, 24, o, 4);
    CHECK(o[0] == 1290646884u && o[1] == 807094747u && o[2] == 956734643u && o[3] == 2291975095u);
}

static void expect(sdf_brownian *b, float s, float sn, const double *first4, double sum) {
    float out[256];
    sdf_error err = {0};
    REQUIRE(sdf_brownian_noise(b, s, sn, out, &err) == SDF_OK);
    for (int i = 0; i < 4; i++)
        CHECKF(out[i] == (float)first4[i], "(%g,%g)[%d] %.9g vs %.9g", s, sn, i, out[i], first4[i]);
    double t = 0;
    for (int i = 0; i < 256; i++) t += out[i];
    CHECK_NEAR(t, sum, 1e-4);
}

static void test_tree_parity(void) {
    sdf_brownian *b = NULL;
    sdf_error err = {0};
    REQUIRE(sdf_brownian_new(0.029167f, 14.614643f, 42, 256, &b, &err) == SDF_OK);
    static const double a[4] = {-1.319996953010559, 0.8704598546028137, 0.9060285687446594,
                                0.43189290165901184};
    static const double c[4] = {1.0200796127319336, -0.20627394318580627, -1.3610007762908936,
                                -0.21395832300186157};
    static const double d[4] = {-0.8760021328926086, 0.01654130592942238, -0.343474805355072,
                                -0.9956372976303101};
    expect(b, 14.614643f, 9.102929f, a, 25.386131286621094);
    expect(b, 0.2f, 0.1f, c, 28.776634216308594);
    expect(b, 5.478392f, 3.168605f, d, -2.508384943008423);
    /* the tree is canonical: the same query again gives the same values */
    expect(b, 14.614643f, 9.102929f, a, 25.386131286621094);
    sdf_brownian_free(b);
    REQUIRE(sdf_brownian_new(0.029167f, 14.614643f, UINT64_MAX, 256, &b, &err) == SDF_OK);
    static const double e[4] = {0.8991522789001465, -1.6036967039108276, 0.5409457087516785,
                                -1.2949204444885254};
    expect(b, 9.102929f, 7.1f, e, -16.358564376831055);
    sdf_brownian_free(b);
}

/* Increments over adjacent intervals add up: W(a,c) = W(a,b) + W(b,c). */
static void test_additivity(void) {
    sdf_brownian *b = NULL;
    sdf_error err = {0};
    REQUIRE(sdf_brownian_new(0.5f, 3.0f, 7, 64, &b, &err) == SDF_OK);
    float w1[64], w2[64], w3[64];
    REQUIRE(sdf_brownian_noise(b, 1.0f, 2.0f, w1, &err) == SDF_OK);
    REQUIRE(sdf_brownian_noise(b, 2.0f, 2.5f, w2, &err) == SDF_OK);
    REQUIRE(sdf_brownian_noise(b, 1.0f, 2.5f, w3, &err) == SDF_OK);
    double e = 0, var = 0;
    for (int k = 0; k < 64; k++) {
        double sum = w1[k] * 1.0 + w2[k] * sqrt(0.5);
        e = fmax(e, fabs(sum - w3[k] * sqrt(1.5)));
        var += w1[k] * (double)w1[k];
    }
    CHECKF(e < 1e-5, "additivity err %.3g", e);
    CHECK(var / 64 > 0.4 && var / 64 < 2.0); /* unit variance after scaling */
    /* direction: (hi, lo) is the negated increment */
    float r[64];
    REQUIRE(sdf_brownian_noise(b, 2.0f, 1.0f, r, &err) == SDF_OK);
    for (int k = 0; k < 64; k++) CHECK(r[k] == -w1[k]);
    sdf_brownian_free(b);
    CHECK(sdf_brownian_new(2.0f, 1.0f, 7, 4, &b, &err) == SDF_ERR_INVALID);
}

typedef struct zero_model {
    size_t n;
} zero_model;

static sdf_status zero_denoise(void *ctx, const float *x, float sigma, float *den, float *unc,
                               sdf_error *err) {
    zero_model *m = ctx;
    (void)x, (void)sigma, (void)unc, (void)err;
    for (size_t k = 0; k < m->n; k++) den[k] = 0.0f;
    return SDF_OK;
}

/* dpmpp_2m_sde with D = 0: x1 = (s1/s0) e^{-h} x0 + noise(s0, s1) s1 sqrt(1 - e^{-2h}); the
 * noise must be the tree's. */
static void test_sde_sampler_uses_tree(void) {
    sdf_msampling ms;
    sdf_msampling_init(&ms, SDF_PRED_EPS, false);
    enum { N = 256 };
    float x[N], x0[N];
    for (int k = 0; k < N; k++) x0[k] = x[k] = (float)(k % 5) - 2.0f;
    float sig[3] = {14.614643f, 9.102929f, 0.029167f};
    zero_model m = {N};
    sdf_sampler_run run = {.ms = &ms, .n = N, .denoise = zero_denoise, .denoise_ctx = &m,
                           .seed = 42};
    sdf_error err = {0};
    /* run one step only: sigmas {s0, s1} with t0 = s1 */
    REQUIRE(sdf_sample(sdf_sampler_index("dpmpp_2m_sde"), &run, sig, 2, x, &err) == SDF_OK);
    sdf_brownian *b = NULL;
    REQUIRE(sdf_brownian_new(sig[1], sig[0], 42, N, &b, &err) == SDF_OK);
    float nz[N];
    REQUIRE(sdf_brownian_noise(b, sig[0], sig[1], nz, &err) == SDF_OK);
    double h = log(sig[0]) - log(sig[1]);
    double e = 0;
    for (int k = 0; k < N; k++) {
        double expect = sig[1] / sig[0] * exp(-h) * x0[k] + nz[k] * sig[1] * sqrt(-expm1(-2 * h));
        e = fmax(e, fabs(x[k] - expect));
    }
    CHECKF(e < 1e-4, "dpmpp_2m_sde step err %.3g", e);
    sdf_brownian_free(b);
}

int main(void) {
    RUN(test_seedseq);
    RUN(test_tree_parity);
    RUN(test_additivity);
    RUN(test_sde_sampler_uses_tree);
    return test_summary();
}
