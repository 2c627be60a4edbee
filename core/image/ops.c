/* ops.c: see ops.h. Float32 arithmetic with Python scalars cast to float, as torch does. */
#include "ops.h"

#include <math.h>
#include <string.h>

#include "../base/alloc.h"
#include "mask.h"
#include "resample.h"

static bool is_image(const sdf_tensor *t, sdf_error *err) {
    if (!t || t->dtype != SDF_DTYPE_F32 || t->ndim != 4 || sdf_tensor_numel(t) <= 0) {
        sdf_fail(err, SDF_ERR_SHAPE, "expected a non-empty [B,H,W,C] / [B,C,H,W] f32 tensor");
        return false;
    }
    return true;
}

sdf_tensor *sdf_image_invert(const sdf_tensor *image, sdf_error *err) {
    return sdf_mask_invert(image, err);
}

sdf_tensor *sdf_image_batch(const sdf_tensor *a, const sdf_tensor *b, sdf_pool *pool,
                            sdf_error *err) {
    if (!is_image(a, err) || !is_image(b, err)) return NULL;
    int64_t Ca = a->shape[3], Cb = b->shape[3];
    /* the narrower one gets ONE channel of 1.0 (torch pad (0,1)) */
    int64_t ca2 = Ca < Cb ? Ca + 1 : Ca, cb2 = Cb < Ca ? Cb + 1 : Cb;
    if (ca2 != cb2) {
        sdf_fail(err, SDF_ERR_SHAPE, "cannot batch images with %lld and %lld channels",
                 (long long)Ca, (long long)Cb);
        return NULL;
    }
    int64_t C = ca2, H = a->shape[1], W = a->shape[2];
    sdf_tensor *bb = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){b->shape[0], b->shape[1], b->shape[2], C}, err);
    if (!bb) return NULL;
    {
        const float *s = sdf_tensor_f32p(b);
        float *d = sdf_tensor_f32p(bb);
        for (int64_t i = 0; i < b->shape[0] * b->shape[1] * b->shape[2]; i++)
            for (int64_t c = 0; c < C; c++) d[i * C + c] = c < Cb ? s[i * Cb + c] : 1.0f;
    }
    if (b->shape[1] != H || b->shape[2] != W) {
        sdf_tensor *r = sdf_common_upscale_image(bb, W, H, SDF_RS_BILINEAR, true, pool, err);
        sdf_tensor_release(bb);
        if (!r) return NULL;
        bb = r;
    }
    int64_t B = a->shape[0] + bb->shape[0];
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){B, H, W, C}, err);
    if (o) {
        float *d = sdf_tensor_f32p(o);
        const float *s = sdf_tensor_f32p(a);
        int64_t n = a->shape[0] * H * W;
        for (int64_t i = 0; i < n; i++)
            for (int64_t c = 0; c < C; c++) d[i * C + c] = c < Ca ? s[i * Ca + c] : 1.0f;
        memcpy(d + n * C, bb->data, bb->nbytes);
    }
    sdf_tensor_release(bb);
    return o;
}

sdf_tensor *sdf_image_empty(int64_t width, int64_t height, int64_t batch, int64_t color,
                            sdf_error *err) {
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){batch, height, width, 3}, err);
    if (!o) return NULL;
    /* ((color >> 16) & 0xFF) / 0xFF is a Python float, stored as float32 */
    float rgb[3] = {(float)((double)((color >> 16) & 0xFF) / 255.0),
                    (float)((double)((color >> 8) & 0xFF) / 255.0),
                    (float)((double)(color & 0xFF) / 255.0)};
    float *d = sdf_tensor_f32p(o);
    for (int64_t i = 0; i < batch * height * width; i++) memcpy(d + i * 3, rgb, sizeof rgb);
    return o;
}

sdf_tensor *sdf_image_crop(const sdf_tensor *image, int64_t width, int64_t height, int64_t x,
                           int64_t y, sdf_error *err) {
    if (!is_image(image, err)) return NULL;
    int64_t B = image->shape[0], H = image->shape[1], W = image->shape[2], C = image->shape[3];
    if (x > W - 1) x = W - 1;
    if (y > H - 1) y = H - 1;
    int64_t x1 = x + width < W ? x + width : W, y1 = y + height < H ? y + height : H;
    if (x < 0 || y < 0 || x1 <= x || y1 <= y) {
        sdf_fail(err, SDF_ERR_INVALID, "empty crop");
        return NULL;
    }
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){B, y1 - y, x1 - x, C}, err);
    if (!o) return NULL;
    const float *s = sdf_tensor_f32p(image);
    float *d = sdf_tensor_f32p(o);
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = y; r < y1; r++)
            memcpy(d + ((b * (y1 - y) + r - y) * (x1 - x)) * C, s + ((b * H + r) * W + x) * C,
                   (size_t)((x1 - x) * C) * sizeof(float));
    return o;
}

sdf_tensor *sdf_mask_to_image(const sdf_tensor *mask, sdf_error *err) {
    int64_t B, H, W;
    if (!sdf_mask_dims(mask, &B, &H, &W, err)) return NULL;
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){B, H, W, 3}, err);
    if (!o) return NULL;
    const float *s = sdf_tensor_f32p(mask);
    float *d = sdf_tensor_f32p(o);
    for (int64_t i = 0; i < B * H * W; i++) d[i * 3] = d[i * 3 + 1] = d[i * 3 + 2] = s[i];
    return o;
}

sdf_tensor *sdf_image_to_mask(const sdf_tensor *image, int channel, sdf_error *err) {
    if (!is_image(image, err)) return NULL;
    int64_t B = image->shape[0], H = image->shape[1], W = image->shape[2], C = image->shape[3];
    if (channel < 0 || channel >= C) {
        sdf_fail(err, SDF_ERR_SHAPE, "the image has %lld channels, no channel %d", (long long)C, channel);
        return NULL;
    }
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 3, (int64_t[]){B, H, W}, err);
    if (!o) return NULL;
    const float *s = sdf_tensor_f32p(image);
    float *d = sdf_tensor_f32p(o);
    for (int64_t i = 0; i < B * H * W; i++) d[i] = s[i * C + channel];
    return o;
}

/* comfy_extras.nodes_post_processing.gaussian_kernel: linspace(-1, 1, k) grid, float32. */
static void gaussian_kernel(int64_t k, double sigma, float *g) {
    float *lin = g + k * k; /* caller gives k*k + k floats */
    float step = (1.0f - -1.0f) / (float)(k - 1);
    int64_t half = k / 2;
    for (int64_t i = 0; i < k; i++)
        lin[i] = i < half ? -1.0f + step * (float)i : 1.0f - step * (float)(k - i - 1);
    float sum = 0.0f;
    float den = (float)(2.0 * sigma * sigma);
    for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j < k; j++) {
            float d = sqrtf(lin[i] * lin[i] + lin[j] * lin[j]);
            float v = expf(-(d * d) / den);
            g[i * k + j] = v;
        }
    for (int64_t i = 0; i < k * k; i++) sum += g[i];
    for (int64_t i = 0; i < k * k; i++) g[i] = g[i] / sum;
}

static int64_t reflect(int64_t i, int64_t n) {
    if (i < 0) return -i;
    if (i >= n) return 2 * (n - 1) - i;
    return i;
}

static sdf_tensor *conv_reflect(const sdf_tensor *image, const float *kern, int64_t r, bool clamp,
                                sdf_error *err) {
    int64_t B = image->shape[0], H = image->shape[1], W = image->shape[2], C = image->shape[3];
    if (r >= H || r >= W) {
        sdf_fail(err, SDF_ERR_INVALID, "radius %lld needs an image larger than %lldx%lld",
                 (long long)r, (long long)W, (long long)H);
        return NULL;
    }
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 4, image->shape, err);
    if (!o) return NULL;
    int64_t k = 2 * r + 1;
    const float *s = sdf_tensor_f32p(image);
    float *d = sdf_tensor_f32p(o);
    for (int64_t b = 0; b < B; b++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++)
                for (int64_t c = 0; c < C; c++) {
                    float acc = 0.0f;
                    for (int64_t i = 0; i < k; i++) {
                        int64_t yy = reflect(y + i - r, H);
                        for (int64_t j = 0; j < k; j++) {
                            int64_t xx = reflect(x + j - r, W);
                            acc += kern[i * k + j] * s[((b * H + yy) * W + xx) * C + c];
                        }
                    }
                    if (clamp) acc = acc < 0.0f ? 0.0f : acc > 1.0f ? 1.0f : acc;
                    d[((b * H + y) * W + x) * C + c] = acc;
                }
    return o;
}

sdf_tensor *sdf_image_blur(const sdf_tensor *image, int64_t radius, double sigma, sdf_error *err) {
    if (!is_image(image, err)) return NULL;
    if (radius <= 0) return sdf_tensor_clone(image, err);
    int64_t k = 2 * radius + 1;
    float *g = sdf_malloc((size_t)(k * k + k) * sizeof(float));
    if (!g) {
        sdf_fail(err, SDF_ERR_NOMEM, "blur kernel");
        return NULL;
    }
    gaussian_kernel(k, sigma, g);
    sdf_tensor *o = conv_reflect(image, g, radius, false, err);
    sdf_free(g);
    return o;
}

sdf_tensor *sdf_image_sharpen(const sdf_tensor *image, int64_t radius, double sigma, double alpha,
                              sdf_error *err) {
    if (!is_image(image, err)) return NULL;
    if (radius <= 0) return sdf_tensor_clone(image, err);
    int64_t k = 2 * radius + 1;
    float *g = sdf_malloc((size_t)(k * k + k) * sizeof(float));
    if (!g) {
        sdf_fail(err, SDF_ERR_NOMEM, "sharpen kernel");
        return NULL;
    }
    gaussian_kernel(k, sigma, g);
    float m = (float)(-(alpha * 10));
    float sum = 0.0f;
    for (int64_t i = 0; i < k * k; i++) {
        g[i] = g[i] * m;
        sum += g[i];
    }
    int64_t c = k / 2;
    g[c * k + c] = g[c * k + c] - sum + 1.0f;
    sdf_tensor *o = conv_reflect(image, g, radius, true, err);
    sdf_free(g);
    return o;
}

static bool is_latent(const sdf_tensor *s, sdf_error *err) { return is_image(s, err); }

sdf_tensor *sdf_latent_flip(const sdf_tensor *s, bool vertical, sdf_error *err) {
    if (!is_latent(s, err)) return NULL;
    int64_t P = s->shape[0] * s->shape[1], H = s->shape[2], W = s->shape[3];
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 4, s->shape, err);
    if (!o) return NULL;
    const float *a = sdf_tensor_f32p(s);
    float *d = sdf_tensor_f32p(o);
    for (int64_t p = 0; p < P; p++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++)
                d[(p * H + y) * W + x] = vertical ? a[(p * H + H - 1 - y) * W + x]
                                                  : a[(p * H + y) * W + W - 1 - x];
    return o;
}

sdf_tensor *sdf_latent_rotate(const sdf_tensor *s, int k, sdf_error *err) {
    if (!is_latent(s, err)) return NULL;
    k = ((k % 4) + 4) % 4;
    int64_t P = s->shape[0] * s->shape[1], H = s->shape[2], W = s->shape[3];
    int64_t OH = (k % 2) ? W : H, OW = (k % 2) ? H : W;
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){s->shape[0], s->shape[1], OH, OW}, err);
    if (!o) return NULL;
    const float *a = sdf_tensor_f32p(s);
    float *d = sdf_tensor_f32p(o);
    for (int64_t p = 0; p < P; p++)
        for (int64_t i = 0; i < OH; i++)
            for (int64_t j = 0; j < OW; j++) {
                /* torch.rot90(x, k, dims=[3, 2]) */
                int64_t sy, sx;
                if (k == 0) { sy = i; sx = j; }
                else if (k == 1) { sy = H - 1 - j; sx = i; }
                else if (k == 2) { sy = H - 1 - i; sx = W - 1 - j; }
                else { sy = j; sx = W - 1 - i; }
                d[(p * OH + i) * OW + j] = a[(p * H + sy) * W + sx];
            }
    return o;
}

sdf_tensor *sdf_latent_crop(const sdf_tensor *s, int64_t width, int64_t height, int64_t x,
                            int64_t y, sdf_error *err) {
    if (!is_latent(s, err)) return NULL;
    int64_t B = s->shape[0], C = s->shape[1], H = s->shape[2], W = s->shape[3];
    x /= 8;
    y /= 8;
    if (x > W - 8) x = W - 8;
    if (y > H - 8) y = H - 8;
    if (x < 0) x = 0; /* Python slicing with a negative start counts from the end; a latent under
                         64 px is the only way here, keep the crop anchored at 0 instead */
    if (y < 0) y = 0;
    int64_t x1 = x + width / 8, y1 = y + height / 8;
    if (x1 > W) x1 = W;
    if (y1 > H) y1 = H;
    if (x1 <= x || y1 <= y) {
        sdf_fail(err, SDF_ERR_INVALID, "empty latent crop");
        return NULL;
    }
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){B, C, y1 - y, x1 - x}, err);
    if (!o) return NULL;
    const float *a = sdf_tensor_f32p(s);
    float *d = sdf_tensor_f32p(o);
    for (int64_t p = 0; p < B * C; p++)
        for (int64_t r = y; r < y1; r++)
            memcpy(d + (p * (y1 - y) + r - y) * (x1 - x), a + (p * H + r) * W + x,
                   (size_t)(x1 - x) * sizeof(float));
    return o;
}

sdf_tensor *sdf_latent_blend(const sdf_tensor *s1, const sdf_tensor *s2, double factor,
                             sdf_pool *pool, sdf_error *err) {
    if (!is_latent(s1, err) || !is_latent(s2, err)) return NULL;
    sdf_tensor *b = NULL;
    if (!sdf_tensor_same_shape(s1, s2)) {
        b = sdf_common_upscale(s2, s1->shape[3], s1->shape[2], SDF_RS_BICUBIC, true, pool, err);
        if (!b) return NULL;
        if (!sdf_tensor_same_shape(s1, b)) {
            sdf_tensor_release(b);
            sdf_fail(err, SDF_ERR_SHAPE, "LatentBlend: batch or channels differ");
            return NULL;
        }
    }
    const sdf_tensor *t2 = b ? b : s2;
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 4, s1->shape, err);
    if (o) {
        const float *a = sdf_tensor_f32p(s1), *c = sdf_tensor_f32p(t2);
        float *d = sdf_tensor_f32p(o);
        float f = (float)factor, g = (float)(1 - factor);
        for (int64_t i = 0; i < sdf_tensor_numel(s1); i++) d[i] = a[i] * f + c[i] * g;
    }
    sdf_tensor_release(b);
    return o;
}

sdf_tensor *sdf_batch_rows(const sdf_tensor *t, int64_t begin, int64_t n, sdf_error *err) {
    if (!t || t->ndim < 1 || t->shape[0] <= 0 || n <= 0 || begin < 0) {
        sdf_fail(err, SDF_ERR_SHAPE, "bad batch slice");
        return NULL;
    }
    int64_t shape[SDF_MAX_DIMS];
    memcpy(shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    shape[0] = n;
    sdf_tensor *o = sdf_tensor_new(t->dtype, t->ndim, shape, err);
    if (!o) return NULL;
    size_t item = t->nbytes / (size_t)t->shape[0];
    for (int64_t i = 0; i < n; i++)
        memcpy((char *)o->data + (size_t)i * item,
               (const char *)t->data + (size_t)((begin + i) % t->shape[0]) * item, item);
    return o;
}

sdf_tensor *sdf_batch_tile(const sdf_tensor *t, int64_t times, sdf_error *err) {
    if (!t || t->ndim < 1 || times <= 0) {
        sdf_fail(err, SDF_ERR_SHAPE, "bad batch repeat");
        return NULL;
    }
    return sdf_batch_rows(t, 0, t->shape[0] * times, err);
}
