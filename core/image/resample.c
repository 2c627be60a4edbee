/* resample.c: see resample.h. Index and weight arithmetic follows torch 1.13's CPU kernels
 * (aten/src/ATen/native/cpu/UpSampleKernel.cpp, AdaptiveAvgPoolKernel.cpp) in float32:
 *  - generic kernel (NCHW-contiguous input, e.g. latents): out = sum_j (sum_i x*wx_i) * wy_j,
 *    each sum started with the first product and accumulated left to right;
 *  - channels-last bilinear kernel (images after movedim, and any [N,1,H,W] mask, which torch
 *    also sees as channels-last): out = w00*x00 + w01*x01 + w10*x10 + w11*x11 with w00 = h0*w0;
 *  - adaptive average pooling: NCHW sums then divides by kh then kw, channels-last divides by
 *    kh*kw once.
 * This file is built with -ffp-contract=off (global), so no product is fused. */
#include "resample.h"

#include <math.h>
#include <string.h>

#include "../base/alloc.h"

static const char *const rs_names[SDF_RS_COUNT] = {"nearest-exact", "bilinear", "area",
                                                   "bicubic", "bislerp", "lanczos"};

int sdf_resample_from_name(const char *name) {
    for (int i = 0; name && i < SDF_RS_COUNT; i++)
        if (strcmp(name, rs_names[i]) == 0) return i;
    return -1;
}

const char *sdf_resample_name(sdf_resample m) {
    return (unsigned)m < SDF_RS_COUNT ? rs_names[m] : "?";
}

/* ---- per-axis taps ---- */

typedef struct taps {
    int      k;   /* taps per output index: 1, 2 or 4 */
    int64_t *idx; /* [out * k] */
    float   *w;   /* [out * k] */
} taps;

static void taps_free(taps *t) {
    sdf_free(t->idx);
    sdf_free(t->w);
}

static float cubic1(float x, float A) { return ((A + 2) * x - (A + 3)) * x * x + 1; }
static float cubic2(float x, float A) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; }

static bool taps_make(taps *t, int64_t in, int64_t out, sdf_resample m) {
    t->k = m == SDF_RS_NEAREST_EXACT ? 1 : m == SDF_RS_BILINEAR ? 2 : 4;
    t->idx = sdf_malloc((size_t)out * (size_t)t->k * sizeof *t->idx);
    t->w = sdf_malloc((size_t)out * (size_t)t->k * sizeof *t->w);
    if (!t->idx || !t->w) { taps_free(t); return false; }
    const float scale = (float)in / (float)out;
    for (int64_t o = 0; o < out; o++) {
        int64_t *ix = t->idx + o * t->k;
        float *w = t->w + o * t->k;
        if (m == SDF_RS_NEAREST_EXACT) {
            int64_t i = (int64_t)floorf((float)(((double)o + 0.5) * (double)scale));
            ix[0] = i < in - 1 ? i : in - 1;
            w[0] = 1.0f;
        } else if (m == SDF_RS_BILINEAR) {
            float real = scale * ((float)o + 0.5f) - 0.5f;
            if (real < 0.0f) real = 0.0f;
            int64_t i0 = (int64_t)floorf(real);
            if (i0 > in - 1) i0 = in - 1;
            float lam = real - (float)i0;
            if (lam < 0.0f) lam = 0.0f;
            if (lam > 1.0f) lam = 1.0f;
            ix[0] = i0;
            ix[1] = i0 + (i0 < in - 1 ? 1 : 0);
            w[0] = 1.0f - lam;
            w[1] = lam;
        } else { /* bicubic: source index not clamped, taps clamped */
            float real = scale * ((float)o + 0.5f) - 0.5f;
            int64_t i0 = (int64_t)floorf(real);
            float tt = real - (float)i0;
            const float A = -0.75f;
            w[0] = cubic2(tt + 1.0f, A);
            w[1] = cubic1(tt, A);
            float x2 = 1.0f - tt;
            w[2] = cubic1(x2, A);
            w[3] = cubic2(x2 + 1.0f, A);
            for (int j = 0; j < 4; j++) {
                int64_t i = i0 - 1 + j;
                ix[j] = i < 0 ? 0 : i > in - 1 ? in - 1 : i;
            }
        }
    }
    return true;
}

/* ---- area (adaptive average pooling) ---- */

static void area_plane(const float *src, int64_t ih, int64_t iw, float *dst, int64_t oh,
                       int64_t ow, bool channels_last) {
    (void)channels_last; /* both torch kernels divide by kh, then by kw */
    for (int64_t y = 0; y < oh; y++) {
        int64_t h0 = (y * ih) / oh, h1 = ((y + 1) * ih + oh - 1) / oh;
        for (int64_t x = 0; x < ow; x++) {
            int64_t w0 = (x * iw) / ow, w1 = ((x + 1) * iw + ow - 1) / ow;
            float sum = 0.0f;
            for (int64_t i = h0; i < h1; i++)
                for (int64_t j = w0; j < w1; j++) sum += src[i * iw + j];
            int64_t kh = h1 - h0, kw = w1 - w0;
            dst[y * ow + x] = sum / (float)kh / (float)kw; /* both torch kernels */
        }
    }
}

/* ---- reference: every output pixel evaluated directly ---- */

static float eval_generic(const float *p, int64_t iw, const taps *ty, const taps *tx, int64_t y,
                          int64_t x) {
    float out = 0.0f;
    for (int j = 0; j < ty->k; j++) {
        const float *row = p + ty->idx[y * ty->k + j] * iw;
        float t = row[tx->idx[x * tx->k]] * tx->w[x * tx->k];
        for (int i = 1; i < tx->k; i++) t += row[tx->idx[x * tx->k + i]] * tx->w[x * tx->k + i];
        float v = t * ty->w[y * ty->k + j];
        out = j == 0 ? v : out + v;
    }
    return out;
}

static float eval_bilinear_cl(const float *p, int64_t iw, const taps *ty, const taps *tx,
                              int64_t y, int64_t x) {
    float h0 = ty->w[2 * y], h1 = ty->w[2 * y + 1], w0 = tx->w[2 * x], w1 = tx->w[2 * x + 1];
    const float *r0 = p + ty->idx[2 * y] * iw, *r1 = p + ty->idx[2 * y + 1] * iw;
    int64_t c0 = tx->idx[2 * x], c1 = tx->idx[2 * x + 1];
    float w00 = h0 * w0, w01 = h0 * w1, w10 = h1 * w0, w11 = h1 * w1;
    return w00 * r0[c0] + w01 * r0[c1] + w10 * r1[c0] + w11 * r1[c1];
}

static sdf_status check_sizes(int64_t n, int64_t ih, int64_t iw, int64_t oh, int64_t ow,
                              sdf_error *err) {
    if (n < 0 || ih <= 0 || iw <= 0 || oh <= 0 || ow <= 0)
        return sdf_fail(err, SDF_ERR_SHAPE, "cannot resize %lldx%lld to %lldx%lld",
                        (long long)iw, (long long)ih, (long long)ow, (long long)oh);
    return SDF_OK;
}

static sdf_status interp_ref(const float *src, int64_t n, int64_t ih, int64_t iw, float *dst,
                             int64_t oh, int64_t ow, sdf_resample m, bool cl, sdf_error *err) {
    sdf_status st = check_sizes(n, ih, iw, oh, ow, err);
    if (st) return st;
    if (m == SDF_RS_AREA) {
        for (int64_t p = 0; p < n; p++)
            area_plane(src + p * ih * iw, ih, iw, dst + p * oh * ow, oh, ow, cl);
        return SDF_OK;
    }
    if (m != SDF_RS_NEAREST_EXACT && m != SDF_RS_BILINEAR && m != SDF_RS_BICUBIC)
        return sdf_fail(err, SDF_ERR_INVALID, "interpolate: unsupported mode %s", sdf_resample_name(m));
    taps ty = {0}, tx = {0};
    if (!taps_make(&ty, ih, oh, m) || !taps_make(&tx, iw, ow, m)) {
        taps_free(&ty);
        return sdf_fail(err, SDF_ERR_NOMEM, "resize tables");
    }
    for (int64_t p = 0; p < n; p++) {
        const float *s = src + p * ih * iw;
        float *d = dst + p * oh * ow;
        for (int64_t y = 0; y < oh; y++)
            for (int64_t x = 0; x < ow; x++) {
                if (m == SDF_RS_NEAREST_EXACT) d[y * ow + x] = s[ty.idx[y] * iw + tx.idx[x]];
                else if (m == SDF_RS_BILINEAR && cl) d[y * ow + x] = eval_bilinear_cl(s, iw, &ty, &tx, y, x);
                else d[y * ow + x] = eval_generic(s, iw, &ty, &tx, y, x);
            }
    }
    taps_free(&ty);
    taps_free(&tx);
    return SDF_OK;
}

sdf_status sdf_interpolate_planes_ref(const float *src, int64_t n, int64_t ih, int64_t iw,
                                      float *dst, int64_t oh, int64_t ow, sdf_resample m,
                                      sdf_error *err) {
    return interp_ref(src, n, ih, iw, dst, oh, ow, m, false, err);
}

/* ---- fast path: separable passes (identical arithmetic), planes split over the pool ---- */

typedef struct interp_job {
    const float *src;
    float       *dst;
    int64_t      ih, iw, oh, ow;
    sdf_resample m;
    bool         cl;
    const taps  *ty, *tx;
    float      **scratch; /* per slot: ih * ow floats */
} interp_job;

static void interp_planes_fn(void *ctx, size_t b, size_t e, int slot) {
    const interp_job *J = ctx;
    int64_t ih = J->ih, iw = J->iw, oh = J->oh, ow = J->ow;
    for (size_t p = b; p < e; p++) {
        const float *s = J->src + (int64_t)p * ih * iw;
        float *d = J->dst + (int64_t)p * oh * ow;
        if (J->m == SDF_RS_AREA) {
            area_plane(s, ih, iw, d, oh, ow, J->cl);
        } else if (J->m == SDF_RS_NEAREST_EXACT) {
            for (int64_t y = 0; y < oh; y++) {
                const float *row = s + J->ty->idx[y] * iw;
                for (int64_t x = 0; x < ow; x++) d[y * ow + x] = row[J->tx->idx[x]];
            }
        } else if (J->m == SDF_RS_BILINEAR && J->cl) {
            for (int64_t y = 0; y < oh; y++)
                for (int64_t x = 0; x < ow; x++)
                    d[y * ow + x] = eval_bilinear_cl(s, iw, J->ty, J->tx, y, x);
        } else {
            /* horizontal pass over every input row, then the vertical pass */
            float *tmp = J->scratch[slot];
            const taps *tx = J->tx, *ty = J->ty;
            int k = tx->k;
            for (int64_t y = 0; y < ih; y++) {
                const float *row = s + y * iw;
                float *t = tmp + y * ow;
                for (int64_t x = 0; x < ow; x++) {
                    const int64_t *ix = tx->idx + x * k;
                    const float *w = tx->w + x * k;
                    float acc = row[ix[0]] * w[0];
                    for (int i = 1; i < k; i++) acc += row[ix[i]] * w[i];
                    t[x] = acc;
                }
            }
            int ky = ty->k;
            for (int64_t y = 0; y < oh; y++) {
                const int64_t *iy = ty->idx + y * ky;
                const float *w = ty->w + y * ky;
                float *o = d + y * ow;
                const float *t0 = tmp + iy[0] * ow;
                for (int64_t x = 0; x < ow; x++) o[x] = t0[x] * w[0];
                for (int j = 1; j < ky; j++) {
                    const float *tj = tmp + iy[j] * ow;
                    for (int64_t x = 0; x < ow; x++) o[x] = o[x] + tj[x] * w[j];
                }
            }
        }
    }
}

static sdf_status interp_fast(const float *src, int64_t n, int64_t ih, int64_t iw, float *dst,
                              int64_t oh, int64_t ow, sdf_resample m, bool cl, sdf_pool *pool,
                              sdf_error *err) {
    sdf_status st = check_sizes(n, ih, iw, oh, ow, err);
    if (st) return st;
    if (m != SDF_RS_NEAREST_EXACT && m != SDF_RS_BILINEAR && m != SDF_RS_BICUBIC &&
        m != SDF_RS_AREA)
        return sdf_fail(err, SDF_ERR_INVALID, "interpolate: unsupported mode %s", sdf_resample_name(m));
    if (n == 0) return SDF_OK;
    taps ty = {0}, tx = {0};
    int nt = sdf_pool_threads(pool);
    float **scratch = sdf_calloc((size_t)nt, sizeof *scratch);
    st = SDF_OK;
    if (!scratch) return sdf_fail(err, SDF_ERR_NOMEM, "resize scratch");
    if (m != SDF_RS_AREA && (!taps_make(&ty, ih, oh, m) || !taps_make(&tx, iw, ow, m))) {
        st = sdf_fail(err, SDF_ERR_NOMEM, "resize tables");
        goto done;
    }
    if (m == SDF_RS_BICUBIC || (m == SDF_RS_BILINEAR && !cl)) {
        size_t per;
        if (!sdf_mul_size((size_t)ih, (size_t)ow, &per) || !sdf_mul_size(per, sizeof(float), &per)) {
            st = sdf_fail(err, SDF_ERR_NOMEM, "resize scratch");
            goto done;
        }
        for (int i = 0; i < nt; i++)
            if (!(scratch[i] = sdf_malloc(per ? per : 1))) {
                st = sdf_fail(err, SDF_ERR_NOMEM, "resize scratch");
                goto done;
            }
    }
    interp_job J = {src, dst, ih, iw, oh, ow, m, cl, &ty, &tx, scratch};
    sdf_pool_for(pool, (size_t)n, 1, interp_planes_fn, &J);
done:
    for (int i = 0; i < nt; i++) sdf_free(scratch[i]);
    sdf_free(scratch);
    taps_free(&ty);
    taps_free(&tx);
    return st;
}

sdf_status sdf_interpolate_planes(const float *src, int64_t n, int64_t ih, int64_t iw, float *dst,
                                  int64_t oh, int64_t ow, sdf_resample m, sdf_pool *pool,
                                  sdf_error *err) {
    return interp_fast(src, n, ih, iw, dst, oh, ow, m, false, pool, err);
}

/* ---- bislerp ---- */

/* generate_bilinear_data: float32 bilinear resize of the ramps [0..L-1] and [1..L-1, L-1]. */
static bool bislerp_axis(int64_t L, int64_t N, int64_t *c1, int64_t *c2, float *ratio) {
    taps t = {0};
    if (!taps_make(&t, L, N, SDF_RS_BILINEAR)) return false;
    for (int64_t o = 0; o < N; o++) {
        int64_t a = t.idx[2 * o], b = t.idx[2 * o + 1];
        float w0 = t.w[2 * o], w1 = t.w[2 * o + 1];
        float v1 = (float)a * w0 + (float)b * w1;
        float ra = (float)(a + 1 < L ? a + 1 : L - 1), rb = (float)(b + 1 < L ? b + 1 : L - 1);
        float v2 = ra * w0 + rb * w1;
        ratio[o] = v1 - floorf(v1);
        c1[o] = (int64_t)v1;
        c2[o] = (int64_t)v2;
        if (c2[o] > L - 1) c2[o] = L - 1; /* cannot happen for a ramp; keeps gather in range */
    }
    taps_free(&t);
    return true;
}

/* slerp of C-vectors a, b (stride st between channels) with ratio r into o (stride so). */
static void slerp_vec(const float *a, const float *b, int64_t st, int64_t C, float r, float *o,
                      int64_t so, float *na_buf, float *nb_buf) {
    float sa = 0.0f, sb = 0.0f;
    for (int64_t c = 0; c < C; c++) {
        sa += a[c * st] * a[c * st];
        sb += b[c * st] * b[c * st];
    }
    float la = sqrtf(sa), lb = sqrtf(sb);
    float dot = 0.0f;
    for (int64_t c = 0; c < C; c++) {
        na_buf[c] = la == 0.0f ? 0.0f : a[c * st] / la;
        nb_buf[c] = lb == 0.0f ? 0.0f : b[c * st] / lb;
        dot += na_buf[c] * nb_buf[c];
    }
    if (dot > (float)(1 - 1e-5)) {
        for (int64_t c = 0; c < C; c++) o[c * so] = a[c * st];
        return;
    }
    if (dot < (float)(1e-5 - 1)) {
        for (int64_t c = 0; c < C; c++) o[c * so] = a[c * st] * (1.0f - r) + b[c * st] * r;
        return;
    }
    float omega = acosf(dot), s = sinf(omega);
    float fa = sinf((1.0f - r) * omega) / s, fb = sinf(r * omega) / s;
    float scale = la * (1.0f - r) + lb * r;
    for (int64_t c = 0; c < C; c++) o[c * so] = (fa * na_buf[c] + fb * nb_buf[c]) * scale;
}

sdf_status sdf_bislerp(const float *src, int64_t n, int64_t C, int64_t ih, int64_t iw, float *dst,
                       int64_t oh, int64_t ow, sdf_error *err) {
    sdf_status st = check_sizes(n, ih, iw, oh, ow, err);
    if (st) return st;
    size_t tmpn = (size_t)n * (size_t)C * (size_t)ih * (size_t)ow;
    float *tmp = sdf_malloc(tmpn * sizeof *tmp + 1);
    int64_t *c1 = sdf_malloc((size_t)(ow > oh ? ow : oh) * 2 * sizeof *c1);
    float *ratio = sdf_malloc((size_t)(ow > oh ? ow : oh) * sizeof *ratio);
    float *nab = sdf_malloc((size_t)C * 2 * sizeof *nab + 1);
    if (!tmp || !c1 || !ratio || !nab) {
        st = sdf_fail(err, SDF_ERR_NOMEM, "bislerp");
        goto done;
    }
    int64_t *c2 = c1 + (ow > oh ? ow : oh);
    /* pass 1: along W */
    if (!bislerp_axis(iw, ow, c1, c2, ratio)) { st = sdf_fail(err, SDF_ERR_NOMEM, "bislerp"); goto done; }
    for (int64_t b = 0; b < n; b++)
        for (int64_t y = 0; y < ih; y++)
            for (int64_t x = 0; x < ow; x++) {
                const float *base = src + b * C * ih * iw + y * iw;
                slerp_vec(base + c1[x], base + c2[x], ih * iw, C, ratio[x],
                          tmp + b * C * ih * ow + y * ow + x, ih * ow, nab, nab + C);
            }
    /* pass 2: along H */
    if (!bislerp_axis(ih, oh, c1, c2, ratio)) { st = sdf_fail(err, SDF_ERR_NOMEM, "bislerp"); goto done; }
    for (int64_t b = 0; b < n; b++)
        for (int64_t y = 0; y < oh; y++)
            for (int64_t x = 0; x < ow; x++) {
                const float *base = tmp + b * C * ih * ow + x;
                slerp_vec(base + c1[y] * ow, base + c2[y] * ow, ih * ow, C, ratio[y],
                          dst + b * C * oh * ow + y * ow + x, oh * ow, nab, nab + C);
            }
done:
    sdf_free(tmp);
    sdf_free(c1);
    sdf_free(ratio);
    sdf_free(nab);
    return st;
}

/* ---- Pillow LANCZOS (8-bit) ---- */

#define PREC_BITS 22

static double sinc(double x) {
    if (x == 0.0) return 1.0;
    x = x * M_PI;
    return sin(x) / x;
}

static double lanczos(double x) {
    if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3);
    return 0.0;
}

/* precompute_coeffs + normalize_coeffs_8bpc; returns ksize or 0 on OOM. */
static int lz_coeffs(int64_t in, int64_t out, int64_t **bounds, int32_t **kk) {
    double scale = (double)(float)in / (double)out, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 3.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double *pk = sdf_malloc((size_t)out * (size_t)ksize * sizeof *pk);
    *bounds = sdf_malloc((size_t)out * 2 * sizeof **bounds);
    *kk = sdf_malloc((size_t)out * (size_t)ksize * sizeof **kk);
    if (!pk || !*bounds || !*kk) {
        sdf_free(pk);
        sdf_free(*bounds);
        sdf_free(*kk);
        *bounds = NULL;
        *kk = NULL;
        return 0;
    }
    for (int64_t xx = 0; xx < out; xx++) {
        double center = 0.0 + ((double)xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int64_t xmin = (int64_t)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int64_t xmax = (int64_t)(center + support + 0.5);
        if (xmax > in) xmax = in;
        xmax -= xmin;
        double *k = pk + xx * ksize;
        int64_t x;
        for (x = 0; x < xmax; x++) {
            double w = lanczos(((double)(x + xmin) - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0) k[x] /= ww;
        for (; x < ksize; x++) k[x] = 0;
        (*bounds)[xx * 2] = xmin;
        (*bounds)[xx * 2 + 1] = xmax;
    }
    for (int64_t i = 0; i < out * ksize; i++)
        (*kk)[i] = pk[i] < 0 ? (int32_t)(-0.5 + pk[i] * (1 << PREC_BITS))
                             : (int32_t)(0.5 + pk[i] * (1 << PREC_BITS));
    sdf_free(pk);
    return ksize;
}

static uint8_t clip8(int64_t v) {
    if (v >= ((int64_t)1 << PREC_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PREC_BITS);
}

static uint8_t muldiv255(unsigned a, unsigned b) {
    unsigned t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

sdf_status sdf_lanczos_u8(const uint8_t *src, int64_t ih, int64_t iw, int ch, uint8_t *dst,
                          int64_t oh, int64_t ow, sdf_error *err) {
    sdf_status st = check_sizes(1, ih, iw, oh, ow, err);
    if (st) return st;
    if (ch != 1 && ch != 3 && ch != 4)
        return sdf_fail(err, SDF_ERR_SHAPE, "lanczos: %d channels (1, 3 or 4 expected)", ch);
    if (ih == oh && iw == ow) { /* Pillow returns a copy */
        memcpy(dst, src, (size_t)ih * (size_t)iw * (size_t)ch);
        return SDF_OK;
    }
    int64_t *bh = NULL, *bv = NULL;
    int32_t *kh = NULL, *kv = NULL;
    uint8_t *in = NULL, *mid = NULL;
    int ksh = lz_coeffs(iw, ow, &bh, &kh), ksv = lz_coeffs(ih, oh, &bv, &kv);
    size_t npx = (size_t)ih * (size_t)iw;
    in = sdf_malloc(npx * (size_t)ch + 1);
    if (!ksh || !ksv || !in) { st = sdf_fail(err, SDF_ERR_NOMEM, "lanczos"); goto done; }
    memcpy(in, src, npx * (size_t)ch);
    if (ch == 4) /* RGBA -> RGBa */
        for (size_t i = 0; i < npx; i++)
            for (int c = 0; c < 3; c++) in[i * 4 + c] = muldiv255(in[i * 4 + c], in[i * 4 + 3]);
    bool need_h = ow != iw, need_v = oh != ih;
    const uint8_t *cur = in;
    int64_t cur_h = ih, cur_w = iw;
    if (need_h) {
        int64_t y0 = bv[0], y1 = bv[oh * 2 - 2] + bv[oh * 2 - 1];
        for (int64_t i = 0; i < oh; i++) bv[i * 2] -= y0;
        mid = sdf_malloc((size_t)(y1 - y0) * (size_t)ow * (size_t)ch + 1);
        if (!mid) { st = sdf_fail(err, SDF_ERR_NOMEM, "lanczos"); goto done; }
        for (int64_t y = 0; y < y1 - y0; y++)
            for (int64_t x = 0; x < ow; x++) {
                int64_t xmin = bh[x * 2], xmax = bh[x * 2 + 1];
                const int32_t *k = kh + x * ksh;
                for (int c = 0; c < ch; c++) {
                    int64_t ss = 1 << (PREC_BITS - 1);
                    for (int64_t i = 0; i < xmax; i++)
                        ss += (int64_t)in[((y + y0) * iw + xmin + i) * ch + c] * k[i];
                    mid[(y * ow + x) * ch + c] = clip8(ss);
                }
            }
        cur = mid;
        cur_h = y1 - y0;
        cur_w = ow;
    }
    if (need_v) {
        for (int64_t y = 0; y < oh; y++) {
            int64_t ymin = bv[y * 2], ymax = bv[y * 2 + 1];
            const int32_t *k = kv + y * ksv;
            for (int64_t x = 0; x < ow; x++)
                for (int c = 0; c < ch; c++) {
                    int64_t ss = 1 << (PREC_BITS - 1);
                    for (int64_t i = 0; i < ymax; i++)
                        ss += (int64_t)cur[((ymin + i) * cur_w + x) * ch + c] * k[i];
                    dst[(y * ow + x) * ch + c] = clip8(ss);
                }
        }
    } else {
        memcpy(dst, cur, (size_t)cur_h * (size_t)cur_w * (size_t)ch);
    }
    if (ch == 4) /* RGBa -> RGBA */
        for (size_t i = 0; i < (size_t)oh * (size_t)ow; i++) {
            unsigned a = dst[i * 4 + 3];
            if (a != 0 && a != 255)
                for (int c = 0; c < 3; c++) {
                    unsigned v = (255u * dst[i * 4 + c]) / a;
                    dst[i * 4 + c] = (uint8_t)(v > 255 ? 255 : v);
                }
        }
done:
    sdf_free(bh);
    sdf_free(bv);
    sdf_free(kh);
    sdf_free(kv);
    sdf_free(in);
    sdf_free(mid);
    return st;
}

/* ---- common_upscale ---- */

static int64_t py_round(double v) { return (int64_t)nearbyint(v); } /* half to even */

void sdf_center_crop_offsets(int64_t w, int64_t h, int64_t width, int64_t height, int64_t *x,
                             int64_t *y) {
    double old_aspect = (double)w / (double)h, new_aspect = (double)width / (double)height;
    *x = 0;
    *y = 0;
    if (old_aspect > new_aspect) *x = py_round(((double)w - (double)w * (new_aspect / old_aspect)) / 2);
    else if (old_aspect < new_aspect) *y = py_round(((double)h - (double)h * (old_aspect / new_aspect)) / 2);
}

/* Copies s[:, :, y0:y0+h, x0:x0+w] of a [B,C,H,W] tensor into a new contiguous tensor. */
static sdf_tensor *crop_nchw(const sdf_tensor *s, int64_t y0, int64_t x0, int64_t h, int64_t w,
                             sdf_error *err) {
    int64_t B = s->shape[0], C = s->shape[1], H = s->shape[2], W = s->shape[3];
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){B, C, h, w}, err);
    if (!o) return NULL;
    const float *sp = sdf_tensor_f32p(s);
    float *op = sdf_tensor_f32p(o);
    for (int64_t p = 0; p < B * C; p++)
        for (int64_t y = 0; y < h; y++)
            memcpy(op + (p * h + y) * w, sp + (p * H + y + y0) * W + x0, (size_t)w * sizeof(float));
    return o;
}

static bool shape_ok(const sdf_tensor *s, int nd, sdf_error *err) {
    if (!s || s->dtype != SDF_DTYPE_F32 || s->ndim != nd) {
        sdf_fail(err, SDF_ERR_SHAPE, "resize expects a %d-d f32 tensor", nd);
        return false;
    }
    for (int i = 0; i < nd; i++)
        if (s->shape[i] <= 0 && !(i == 0 && s->shape[0] == 0)) {
            sdf_fail(err, SDF_ERR_SHAPE, "cannot resize an empty tensor");
            return false;
        }
    return true;
}

/* [B,C,H,W] interpolate. cl_mode: 1 = torch's channels-last bilinear kernel, 0 = its generic
 * kernel, -1 = decide as torch does for a contiguous NCHW tensor (channels-last when C == 1,
 * since torch then sees the tensor as channels-last contiguous too). */
static sdf_tensor *interp_nchw(const sdf_tensor *s, int64_t oh, int64_t ow, sdf_resample m,
                               int cl_mode, sdf_pool *pool, sdf_error *err) {
    int64_t B = s->shape[0], C = s->shape[1], H = s->shape[2], W = s->shape[3];
    if (oh <= 0 || ow <= 0) {
        sdf_fail(err, SDF_ERR_SHAPE, "cannot resize to %lldx%lld", (long long)ow, (long long)oh);
        return NULL;
    }
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){B, C, oh, ow}, err);
    if (!o) return NULL;
    sdf_status st;
    if (m == SDF_RS_BISLERP)
        st = sdf_bislerp(sdf_tensor_f32p(s), B, C, H, W, sdf_tensor_f32p(o), oh, ow, err);
    else
        st = interp_fast(sdf_tensor_f32p(s), B * C, H, W, sdf_tensor_f32p(o), oh, ow, m,
                         cl_mode < 0 ? C == 1 : cl_mode == 1, pool, err);
    if (st) {
        sdf_tensor_release(o);
        return NULL;
    }
    return o;
}

sdf_tensor *sdf_interpolate(const sdf_tensor *s, int64_t height, int64_t width, sdf_resample m,
                            sdf_pool *pool, sdf_error *err) {
    if (!shape_ok(s, 4, err)) return NULL;
    return interp_nchw(s, height, width, m, -1, pool, err);
}

sdf_tensor *sdf_common_upscale(const sdf_tensor *s, int64_t width, int64_t height, sdf_resample m,
                               bool center_crop, sdf_pool *pool, sdf_error *err) {
    if (!shape_ok(s, 4, err)) return NULL;
    if (m == SDF_RS_LANCZOS) {
        sdf_fail(err, SDF_ERR_INVALID, "lanczos works on images only");
        return NULL;
    }
    int64_t B = s->shape[0], C = s->shape[1], H = s->shape[2], W = s->shape[3];
    if (center_crop) {
        int64_t x, y;
        sdf_center_crop_offsets(W, H, width, height, &x, &y);
        if (x || y) {
            if (H - 2 * y <= 0 || W - 2 * x <= 0) {
                sdf_fail(err, SDF_ERR_SHAPE, "center crop leaves nothing");
                return NULL;
            }
            sdf_tensor *c = crop_nchw(s, y, x, H - 2 * y, W - 2 * x, err);
            if (!c) return NULL;
            /* a narrowed view: torch's generic kernel unless only H of a single item was cut (then
             * the view is still channels-last contiguous: C == 1 and B == 1 only) */
            int cl = (C == 1 && x == 0 && B == 1) ? 1 : 0;
            sdf_tensor *o = interp_nchw(c, height, width, m, cl, pool, err);
            sdf_tensor_release(c);
            return o;
        }
    }
    return interp_nchw(s, height, width, m, -1, pool, err);
}

sdf_tensor *sdf_common_upscale_image(const sdf_tensor *image, int64_t width, int64_t height,
                                     sdf_resample m, bool center_crop, sdf_pool *pool,
                                     sdf_error *err) {
    if (!shape_ok(image, 4, err)) return NULL;
    int64_t B = image->shape[0], H = image->shape[1], W = image->shape[2], C = image->shape[3];
    if (width <= 0 || height <= 0) {
        sdf_fail(err, SDF_ERR_SHAPE, "cannot resize to %lldx%lld", (long long)width, (long long)height);
        return NULL;
    }
    int64_t x0 = 0, y0 = 0;
    if (center_crop) sdf_center_crop_offsets(W, H, width, height, &x0, &y0);
    int64_t h = H - 2 * y0, w = W - 2 * x0;
    if (h <= 0 || w <= 0) {
        sdf_fail(err, SDF_ERR_SHAPE, "center crop leaves nothing");
        return NULL;
    }
    sdf_tensor *out = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){B, height, width, C}, err);
    if (!out) return NULL;
    const float *ip = sdf_tensor_f32p(image);
    float *op = sdf_tensor_f32p(out);
    if (m == SDF_RS_LANCZOS) {
        if (C != 1 && C != 3 && C != 4) {
            sdf_tensor_release(out);
            sdf_fail(err, SDF_ERR_SHAPE, "lanczos: images with %lld channels", (long long)C);
            return NULL;
        }
        size_t ni = (size_t)h * (size_t)w * (size_t)C, no = (size_t)height * (size_t)width * (size_t)C;
        uint8_t *a = sdf_malloc(ni + 1), *b = sdf_malloc(no + 1);
        sdf_status st = (a && b) ? SDF_OK : sdf_fail(err, SDF_ERR_NOMEM, "lanczos");
        for (int64_t bi = 0; !st && bi < B; bi++) {
            for (int64_t y = 0; y < h; y++)
                for (int64_t x = 0; x < w; x++)
                    for (int64_t c = 0; c < C; c++) {
                        float v = 255.0f * ip[((bi * H + y + y0) * W + x + x0) * C + c];
                        a[(y * w + x) * C + c] = !(v > 0.0f) ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
                    }
            st = sdf_lanczos_u8(a, h, w, (int)C, b, height, width, err);
            for (size_t i = 0; !st && i < no; i++) op[(size_t)bi * no + i] = (float)b[i] / 255.0f;
        }
        sdf_free(a);
        sdf_free(b);
        if (st) { sdf_tensor_release(out); return NULL; }
        return out;
    }
    /* to planar [B,C,h,w] (the crop applied), resize with channels-last maths, back */
    sdf_tensor *pl = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){B, C, h, w}, err);
    if (!pl) { sdf_tensor_release(out); return NULL; }
    float *pp = sdf_tensor_f32p(pl);
    for (int64_t bi = 0; bi < B; bi++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++)
                for (int64_t c = 0; c < C; c++)
                    pp[((bi * C + c) * h + y) * w + x] = ip[((bi * H + y + y0) * W + x + x0) * C + c];
    /* ComfyUI's movedim gives torch a channels-last view; a center crop that narrows W, or H
     * of a batch of several images, leaves it non-contiguous and torch then runs its generic
     * kernel (different rounding for bilinear) */
    int cl = (x0 != 0 || (y0 != 0 && B > 1)) ? 0 : 1;
    sdf_tensor *r = interp_nchw(pl, height, width, m, cl, pool, err);
    sdf_tensor_release(pl);
    if (!r) { sdf_tensor_release(out); return NULL; }
    const float *rp = sdf_tensor_f32p(r);
    for (int64_t bi = 0; bi < B; bi++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < height * width; i++)
                op[(bi * height * width + i) * C + c] = rp[(bi * C + c) * height * width + i];
    sdf_tensor_release(r);
    return out;
}
