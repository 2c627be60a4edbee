/* rng.c: torch's CPUGeneratorImpl (mt19937) and its normal/uniform transforms. The float32
 * block-of-16 transform reproduces ATen's AVX2 kernel (avx_mathfun log/sincos with the fused
 * multiply-adds listed in spec §10.1) in portable C: fmaf is written exactly where the kernel
 * fuses, everything else rounds to float after each operation (-ffp-contract=off). */
#include "rng.h"

#include <math.h>
#include <string.h>

#include "../base/alloc.h"

#define MT_N 624
#define MT_M 397

void sdf_rng_seed(sdf_rng *g, uint64_t seed) {
    memset(g, 0, sizeof *g);
    g->state[0] = (uint32_t)(seed & 0xffffffffu);
    for (uint32_t j = 1; j < MT_N; j++)
        g->state[j] = 1812433253u * (g->state[j - 1] ^ (g->state[j - 1] >> 30)) + j;
    g->next = MT_N; /* regenerate before the first draw */
    g->has_next_double = false;
}

static void mt_twist(sdf_rng *g) {
    uint32_t *s = g->state;
    for (int i = 0; i < MT_N; i++) {
        uint32_t y = (s[i] & 0x80000000u) | (s[(i + 1) % MT_N] & 0x7fffffffu);
        uint32_t v = s[(i + MT_M) % MT_N] ^ (y >> 1);
        if (y & 1u) v ^= 0x9908b0dfu;
        s[i] = v;
    }
    g->next = 0;
}

uint32_t sdf_rng_u32(sdf_rng *g) {
    if (g->next >= MT_N) mt_twist(g);
    uint32_t y = g->state[g->next++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint64_t sdf_rng_u64(sdf_rng *g) {
    uint64_t hi = sdf_rng_u32(g); /* two statements: the first draw is the high word */
    uint64_t lo = sdf_rng_u32(g);
    return (hi << 32) | lo;
}

float sdf_rng_uniform_f32(sdf_rng *g) {
    return (float)(sdf_rng_u32(g) & 0xffffffu) * (1.0f / 16777216.0f);
}

double sdf_rng_uniform_f64(sdf_rng *g) {
    return (double)(sdf_rng_u64(g) & ((UINT64_C(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}

/* ---- avx_mathfun arithmetic, one lane ---- */

static inline uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static float log256(float x) {
    uint32_t bits = f2u(x);
    float e = (float)((int32_t)(bits >> 23) - 127);
    e = e + 1.0f;
    x = u2f((bits & ~0x7f800000u) | f2u(0.5f));
    if (x < 0.707106781186547524f) {
        e = e - 1.0f;
        float t = x - 1.0f;
        x = t + x;
    } else {
        x = x - 1.0f;
    }
    float z = x * x;
    float y = 7.0376836292e-2f;
    static const float p[8] = {-1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f,
                               1.4249322787e-1f,  -1.6668057665e-1f, 2.0000714765e-1f,
                               -2.4999993993e-1f, 3.3333331174e-1f};
    for (int i = 0; i < 8; i++) y = fmaf(y, x, p[i]);
    y = y * x;
    float eq1 = e * -2.12194440e-4f;
    y = fmaf(y, z, eq1);
    y = fmaf(-z, 0.5f, y);
    x = x + y;
    return fmaf(e, 0.693359375f, x);
}

static void sincos256(float theta, float *s_out, float *c_out) {
    float tj = theta * 1.27323954473516f;
    int32_t j = (int32_t)tj;
    j = (j + 1) & ~1;
    float y = (float)j;
    float x = fmaf(y, -0.78515625f, theta);
    x = fmaf(y, -2.4187564849853515625e-4f, x);
    x = fmaf(y, -3.77489497744594108e-8f, x);
    bool sin_sign = (j & 4) != 0;
    bool cos_sign = ((~(j - 2)) & 4) != 0;
    bool poly_sel = (j & 2) == 0;
    float z = x * x;
    float yc = fmaf(fmaf(2.443315711809948e-5f, z, -1.388731625493765e-3f), z,
                    4.166664568298827e-2f);
    yc = yc * z;
    float hz = z * 0.5f;
    yc = fmaf(yc, z, -hz);
    yc = yc + 1.0f;
    float ys = fmaf(fmaf(-1.9515295891e-4f, z, 8.3321608736e-3f), z, -1.6666654611e-1f);
    ys = ys * z;
    ys = fmaf(ys, x, x);
    float s = poly_sel ? ys : yc;
    float c = poly_sel ? yc : ys;
    *s_out = sin_sign ? -s : s;
    *c_out = cos_sign ? -c : c;
}

static void normal_block16_f32(float *a) {
    for (int k = 0; k < 8; k++) {
        float u1 = 1.0f - a[k];
        float u2 = a[k + 8];
        float r = sqrtf(-2.0f * log256(u1));
        float theta = 6.2831855f * u2;
        float s, c;
        sincos256(theta, &s, &c);
        a[k] = r * c;
        a[k + 8] = r * s;
    }
}

static void normal_block16_f64(double *a) {
    const double two_pi = 6.283185307179586476925286766559;
    for (int k = 0; k < 8; k++) {
        double u1 = 1.0 - a[k];
        double u2 = a[k + 8];
        double r = sqrt(-2.0 * log(u1));
        double theta = two_pi * u2;
        a[k] = r * cos(theta);
        a[k + 8] = r * sin(theta);
    }
}

/* torch's at::normal_distribution<double> with the generator's cached second value. */
static double normal_scalar(sdf_rng *g) {
    if (g->has_next_double) {
        g->has_next_double = false;
        return g->next_double;
    }
    double u1 = sdf_rng_uniform_f64(g);
    double u2 = sdf_rng_uniform_f64(g);
    double r = sqrt(-2.0 * log1p(-u2));
    double theta = 2.0 * 3.14159265358979323846 * u1;
    g->has_next_double = true;
    g->next_double = r * sin(theta);
    return r * cos(theta);
}

void sdf_rng_randn_f32(sdf_rng *g, float *out, size_t n) {
    if (n < 16) {
        for (size_t i = 0; i < n; i++) out[i] = (float)normal_scalar(g);
        return;
    }
    for (size_t i = 0; i < n; i++) out[i] = sdf_rng_uniform_f32(g);
    for (size_t i = 0; i + 16 <= n; i += 16) normal_block16_f32(out + i);
    if (n % 16 != 0) {
        float *t = out + n - 16;
        for (int i = 0; i < 16; i++) t[i] = sdf_rng_uniform_f32(g);
        normal_block16_f32(t);
    }
}

void sdf_rng_randn_f64(sdf_rng *g, double *out, size_t n) {
    if (n < 16) {
        for (size_t i = 0; i < n; i++) out[i] = normal_scalar(g);
        return;
    }
    for (size_t i = 0; i < n; i++) out[i] = sdf_rng_uniform_f64(g);
    for (size_t i = 0; i + 16 <= n; i += 16) normal_block16_f64(out + i);
    if (n % 16 != 0) {
        double *t = out + n - 16;
        for (int i = 0; i < 16; i++) t[i] = sdf_rng_uniform_f64(g);
        normal_block16_f64(t);
    }
}

void sdf_rng_rand_f32(sdf_rng *g, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = sdf_rng_uniform_f32(g);
}

sdf_tensor *sdf_rng_randn_tensor(sdf_rng *g, int ndim, const int64_t *shape, sdf_error *err) {
    sdf_tensor *t = sdf_tensor_new(SDF_DTYPE_F32, ndim, shape, err);
    if (!t) return NULL;
    sdf_rng_randn_f32(g, sdf_tensor_f32p(t), (size_t)sdf_tensor_numel(t));
    return t;
}

sdf_status sdf_prepare_noise(int ndim, const int64_t *shape, uint64_t seed,
                             const int64_t *batch_index, int n_index, sdf_tensor **out,
                             sdf_error *err) {
    *out = NULL;
    if (ndim < 1 || ndim > SDF_MAX_DIMS)
        return sdf_fail(err, SDF_ERR_SHAPE, "noise: bad latent rank %d", ndim);
    sdf_rng g;
    sdf_rng_seed(&g, seed);
    if (!batch_index || n_index <= 0) {
        *out = sdf_rng_randn_tensor(&g, ndim, shape, err);
        return *out ? SDF_OK : err->code;
    }
    if (n_index != shape[0])
        return sdf_fail(err, SDF_ERR_SHAPE,
                        "noise: batch_index has %d entries but the latent batch is %lld", n_index,
                        (long long)shape[0]);
    int64_t max_i = 0;
    for (int i = 0; i < n_index; i++) {
        if (batch_index[i] < 0)
            return sdf_fail(err, SDF_ERR_INVALID, "noise: negative batch_index %lld",
                            (long long)batch_index[i]);
        if (batch_index[i] > max_i) max_i = batch_index[i];
    }
    if (max_i > 1000000)
        return sdf_fail(err, SDF_ERR_INVALID, "noise: batch_index %lld is too large",
                        (long long)max_i);
    sdf_tensor *t = sdf_tensor_new(SDF_DTYPE_F32, ndim, shape, err);
    if (!t) return err->code;
    size_t per = (size_t)(sdf_tensor_numel(t) / shape[0]);
    float *tmp = sdf_malloc(per * sizeof(float));
    if (!tmp) {
        sdf_tensor_release(t);
        return sdf_fail(err, SDF_ERR_NOMEM, "noise: out of memory");
    }
    float *dst = sdf_tensor_f32p(t);
    for (int64_t k = 0; k <= max_i; k++) {
        sdf_rng_randn_f32(&g, tmp, per);
        for (int i = 0; i < n_index; i++)
            if (batch_index[i] == k) memcpy(dst + (size_t)i * per, tmp, per * sizeof(float));
    }
    sdf_free(tmp);
    *out = t;
    return SDF_OK;
}
