/* mask.c: see mask.h. Arithmetic in float32 as torch does (Python scalars cast to float). */
#include "mask.h"

#include <math.h>
#include <string.h>

#include "../base/alloc.h"

bool sdf_mask_dims(const sdf_tensor *m, int64_t *b, int64_t *h, int64_t *w, sdf_error *err) {
    if (!m || m->dtype != SDF_DTYPE_F32 || m->ndim < 2) {
        sdf_fail(err, SDF_ERR_SHAPE, "expected a MASK [B,H,W] f32");
        return false;
    }
    *h = m->shape[m->ndim - 2];
    *w = m->shape[m->ndim - 1];
    int64_t n = sdf_tensor_numel(m);
    *b = (*h > 0 && *w > 0) ? n / (*h * *w) : 0;
    if (*h <= 0 || *w <= 0 || *b <= 0) {
        sdf_fail(err, SDF_ERR_SHAPE, "empty mask");
        return false;
    }
    return true;
}

static sdf_tensor *mask_new(int64_t b, int64_t h, int64_t w, sdf_error *err) {
    return sdf_tensor_new(SDF_DTYPE_F32, 3, (int64_t[]){b, h, w}, err);
}

sdf_tensor *sdf_mask_grow(const sdf_tensor *m, int64_t expand, bool tapered, sdf_error *err) {
    int64_t B, H, W;
    if (!sdf_mask_dims(m, &B, &H, &W, err)) return NULL;
    sdf_tensor *o = mask_new(B, H, W, err);
    if (!o) return NULL;
    size_t plane = (size_t)H * (size_t)W;
    float *tmp = sdf_malloc(plane * sizeof(float));
    if (!tmp) {
        sdf_tensor_release(o);
        sdf_fail(err, SDF_ERR_NOMEM, "GrowMask scratch");
        return NULL;
    }
    memcpy(sdf_tensor_f32p(o), sdf_tensor_f32p(m), plane * (size_t)B * sizeof(float));
    int64_t iters = expand < 0 ? -expand : expand;
    bool dilate = expand > 0;
    for (int64_t b = 0; b < B; b++) {
        float *p = sdf_tensor_f32p(o) + (size_t)b * plane;
        for (int64_t it = 0; it < iters; it++) {
            /* once an iteration changes nothing, later ones cannot either: stop early (a mask
             * saturates after at most H + W iterations, whatever |expand| asks for) */
            bool changed = false;
            memcpy(tmp, p, plane * sizeof(float));
            for (int64_t y = 0; y < H; y++) {
                /* SciPy "reflect" mirrors about the edge: index -1 reads 0, H reads H-1 */
                const float *up = tmp + (y > 0 ? y - 1 : 0) * W, *mid = tmp + y * W,
                            *dn = tmp + (y < H - 1 ? y + 1 : H - 1) * W;
                for (int64_t x = 0; x < W; x++) {
                    int64_t xl = x > 0 ? x - 1 : 0, xr = x < W - 1 ? x + 1 : W - 1;
                    float v = mid[x];
                    float c[8] = {up[x], dn[x], mid[xl], mid[xr], up[xl], up[xr], dn[xl], dn[xr]};
                    int nc = tapered ? 4 : 8;
                    for (int k = 0; k < nc; k++)
                        v = dilate ? (c[k] > v ? c[k] : v) : (c[k] < v ? c[k] : v);
                    if (v != mid[x]) changed = true;
                    p[y * W + x] = v;
                }
            }
            if (!changed) break;
        }
    }
    sdf_free(tmp);
    return o;
}

static sdf_tensor *mask_copy3(const sdf_tensor *m, int64_t *B, int64_t *H, int64_t *W,
                              sdf_error *err) {
    if (!sdf_mask_dims(m, B, H, W, err)) return NULL;
    sdf_tensor *o = mask_new(*B, *H, *W, err);
    if (o) memcpy(o->data, m->data, m->nbytes);
    return o;
}

sdf_tensor *sdf_mask_feather(const sdf_tensor *m, int64_t left, int64_t top, int64_t right,
                             int64_t bottom, sdf_error *err) {
    int64_t B, H, W;
    sdf_tensor *o = mask_copy3(m, &B, &H, &W, err);
    if (!o) return NULL;
    if (left > W) left = W;
    if (right > W) right = W;
    if (top > H) top = H;
    if (bottom > H) bottom = H;
    float *p = sdf_tensor_f32p(o);
    for (int64_t b = 0; b < B; b++) {
        float *q = p + b * H * W;
        for (int64_t x = 0; x < left; x++) {
            float r = (float)(((double)x + 1.0) / (double)left);
            for (int64_t y = 0; y < H; y++) q[y * W + x] *= r;
        }
        for (int64_t x = 0; x < right; x++) { /* output[:, :, -x]: x = 0 is column 0 */
            float r = (float)((double)(x + 1) / (double)right);
            int64_t col = x == 0 ? 0 : W - x;
            for (int64_t y = 0; y < H; y++) q[y * W + col] *= r;
        }
        for (int64_t y = 0; y < top; y++) {
            float r = (float)((double)(y + 1) / (double)top);
            for (int64_t x = 0; x < W; x++) q[y * W + x] *= r;
        }
        for (int64_t y = 0; y < bottom; y++) {
            float r = (float)((double)(y + 1) / (double)bottom);
            int64_t row = y == 0 ? 0 : H - y;
            for (int64_t x = 0; x < W; x++) q[row * W + x] *= r;
        }
    }
    return o;
}

sdf_tensor *sdf_mask_threshold(const sdf_tensor *m, double value, sdf_error *err) {
    int64_t B, H, W;
    if (!sdf_mask_dims(m, &B, &H, &W, err)) return NULL;
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, m->ndim, m->shape, err);
    if (!o) return NULL;
    float v = (float)value;
    const float *s = sdf_tensor_f32p(m);
    float *d = sdf_tensor_f32p(o);
    for (int64_t i = 0; i < sdf_tensor_numel(m); i++) d[i] = s[i] > v ? 1.0f : 0.0f;
    return o;
}

sdf_tensor *sdf_mask_invert(const sdf_tensor *m, sdf_error *err) {
    if (!m || m->dtype != SDF_DTYPE_F32) {
        sdf_fail(err, SDF_ERR_SHAPE, "expected an f32 tensor");
        return NULL;
    }
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, m->ndim, m->shape, err);
    if (!o) return NULL;
    const float *s = sdf_tensor_f32p(m);
    float *d = sdf_tensor_f32p(o);
    for (int64_t i = 0; i < sdf_tensor_numel(m); i++) d[i] = 1.0f - s[i];
    return o;
}

sdf_tensor *sdf_mask_solid(double value, int64_t width, int64_t height, sdf_error *err) {
    if (width <= 0 || height <= 0) {
        sdf_fail(err, SDF_ERR_INVALID, "mask size %lldx%lld", (long long)width, (long long)height);
        return NULL;
    }
    sdf_tensor *o = mask_new(1, height, width, err);
    if (!o) return NULL;
    float *d = sdf_tensor_f32p(o);
    for (int64_t i = 0; i < width * height; i++) d[i] = (float)value;
    return o;
}

sdf_tensor *sdf_mask_crop(const sdf_tensor *m, int64_t x, int64_t y, int64_t width,
                          int64_t height, sdf_error *err) {
    int64_t B, H, W;
    if (!sdf_mask_dims(m, &B, &H, &W, err)) return NULL;
    int64_t x1 = x + width < W ? x + width : W, y1 = y + height < H ? y + height : H;
    if (x < 0 || y < 0 || x >= W || y >= H || x1 <= x || y1 <= y) {
        sdf_fail(err, SDF_ERR_INVALID, "crop at (%lld,%lld) lies outside the %lldx%lld mask",
                 (long long)x, (long long)y, (long long)W, (long long)H);
        return NULL;
    }
    sdf_tensor *o = mask_new(B, y1 - y, x1 - x, err);
    if (!o) return NULL;
    const float *s = sdf_tensor_f32p(m);
    float *d = sdf_tensor_f32p(o);
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = y; r < y1; r++)
            memcpy(d + (b * (y1 - y) + (r - y)) * (x1 - x), s + (b * H + r) * W + x,
                   (size_t)(x1 - x) * sizeof(float));
    return o;
}

static const char *const op_names[] = {"multiply", "add", "subtract", "and", "or", "xor"};

int sdf_mask_op_from_name(const char *name) {
    for (int i = 0; name && i < 6; i++)
        if (strcmp(name, op_names[i]) == 0) return i;
    return -1;
}

sdf_tensor *sdf_mask_composite(const sdf_tensor *dst, const sdf_tensor *src, int64_t x, int64_t y,
                               sdf_mask_op op, sdf_error *err) {
    int64_t Bd, Hd, Wd, Bs, Hs, Ws;
    if (!sdf_mask_dims(dst, &Bd, &Hd, &Wd, err) || !sdf_mask_dims(src, &Bs, &Hs, &Ws, err))
        return NULL;
    if (Bs != Bd && Bs != 1) {
        sdf_fail(err, SDF_ERR_SHAPE, "source batch %lld does not fit destination batch %lld",
                 (long long)Bs, (long long)Bd);
        return NULL;
    }
    sdf_tensor *o = mask_new(Bd, Hd, Wd, err);
    if (!o) return NULL;
    memcpy(o->data, dst->data, o->nbytes);
    float *d = sdf_tensor_f32p(o);
    const float *s = sdf_tensor_f32p(src);
    int64_t right = x + Ws < Wd ? x + Ws : Wd, bottom = y + Hs < Hd ? y + Hs : Hd;
    for (int64_t b = 0; b < Bd; b++) {
        const float *sp = s + (Bs == 1 ? 0 : b) * Hs * Ws;
        for (int64_t r = y; r < bottom; r++)
            for (int64_t c = x; c < right; c++) {
                float a = d[(b * Hd + r) * Wd + c], v = sp[(r - y) * Ws + (c - x)], o_;
                bool ab = nearbyintf(a) != 0.0f, vb = nearbyintf(v) != 0.0f;
                switch (op) {
                case SDF_MASK_MULTIPLY: o_ = a * v; break;
                case SDF_MASK_ADD: o_ = a + v; break;
                case SDF_MASK_SUBTRACT: o_ = a - v; break;
                case SDF_MASK_AND: o_ = (ab && vb) ? 1.0f : 0.0f; break;
                case SDF_MASK_OR: o_ = (ab || vb) ? 1.0f : 0.0f; break;
                default: o_ = (ab != vb) ? 1.0f : 0.0f; break;
                }
                d[(b * Hd + r) * Wd + c] = o_;
            }
    }
    for (int64_t i = 0; i < Bd * Hd * Wd; i++) d[i] = d[i] < 0.0f ? 0.0f : d[i] > 1.0f ? 1.0f : d[i];
    return o;
}
