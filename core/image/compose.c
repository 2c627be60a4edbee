/* compose.c: see compose.h. */
#include "compose.h"

#include <string.h>

#include "../base/alloc.h"
#include "mask.h"
#include "resample.h"

sdf_tensor *sdf_repeat_to_batch(const sdf_tensor *t, int64_t B, sdf_error *err) {
    if (!t || t->ndim < 1 || t->shape[0] <= 0 || B <= 0) {
        sdf_fail(err, SDF_ERR_SHAPE, "cannot repeat an empty batch");
        return NULL;
    }
    int64_t shape[SDF_MAX_DIMS];
    memcpy(shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    shape[0] = B;
    sdf_tensor *o = sdf_tensor_new(t->dtype, t->ndim, shape, err);
    if (!o) return NULL;
    size_t item = t->nbytes / (size_t)t->shape[0];
    for (int64_t i = 0; i < B; i++)
        memcpy((char *)o->data + (size_t)i * item, (const char *)t->data + (size_t)(i % t->shape[0]) * item, item);
    return o;
}

static int64_t floordiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

sdf_tensor *sdf_composite(const sdf_tensor *dst, const sdf_tensor *src, int64_t x, int64_t y,
                          const sdf_tensor *mask, int64_t multiplier, bool resize_source,
                          bool channels_last, sdf_pool *pool, sdf_error *err) {
    if (!dst || !src || dst->ndim != 4 || src->ndim != 4 || dst->dtype != SDF_DTYPE_F32 ||
        src->dtype != SDF_DTYPE_F32) {
        sdf_fail(err, SDF_ERR_SHAPE, "composite expects [B,C,H,W] f32 tensors");
        return NULL;
    }
    int64_t Bd = dst->shape[0], C = dst->shape[1], Hd = dst->shape[2], Wd = dst->shape[3];
    if (src->shape[1] != C) {
        sdf_fail(err, SDF_ERR_SHAPE, "source has %lld channels, destination %lld",
                 (long long)src->shape[1], (long long)C);
        return NULL;
    }
    sdf_tensor *s0 = NULL, *s = NULL, *m = NULL, *o = NULL;
    if (resize_source) {
        /* torch picks channels-last maths for images, and for any single-channel tensor */
        s0 = sdf_interpolate(src, Hd, Wd, SDF_RS_BILINEAR, pool, err);
        if (s0 && channels_last && C > 1) { /* redo with the image kernel */
            sdf_tensor_release(s0);
            sdf_tensor *img = NULL;
            /* [B,C,H,W] -> [B,H,W,C] -> common_upscale_image -> back */
            int64_t B = src->shape[0], H = src->shape[2], W = src->shape[3];
            img = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){B, H, W, C}, err);
            s0 = NULL;
            if (img) {
                const float *sp = sdf_tensor_f32p(src);
                float *ip = sdf_tensor_f32p(img);
                for (int64_t b = 0; b < B; b++)
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t i = 0; i < H * W; i++)
                            ip[(b * H * W + i) * C + c] = sp[(b * C + c) * H * W + i];
                sdf_tensor *r = sdf_common_upscale_image(img, Wd, Hd, SDF_RS_BILINEAR, false, pool, err);
                sdf_tensor_release(img);
                if (r) {
                    s0 = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){B, C, Hd, Wd}, err);
                    if (s0) {
                        const float *rp = sdf_tensor_f32p(r);
                        float *op = sdf_tensor_f32p(s0);
                        for (int64_t b = 0; b < B; b++)
                            for (int64_t c = 0; c < C; c++)
                                for (int64_t i = 0; i < Hd * Wd; i++)
                                    op[(b * C + c) * Hd * Wd + i] = rp[(b * Hd * Wd + i) * C + c];
                    }
                    sdf_tensor_release(r);
                }
            }
        }
        if (!s0) return NULL;
    }
    s = sdf_repeat_to_batch(s0 ? s0 : src, Bd, err);
    sdf_tensor_release(s0);
    if (!s) return NULL;
    int64_t Hs = s->shape[2], Ws = s->shape[3];
    if (x > Wd * multiplier) x = Wd * multiplier;
    if (x < -Ws * multiplier) x = -Ws * multiplier;
    if (y > Hd * multiplier) y = Hd * multiplier;
    if (y < -Hs * multiplier) y = -Hs * multiplier;
    if (x < 0 || y < 0) {
        sdf_tensor_release(s);
        sdf_fail(err, SDF_ERR_INVALID, "negative composite offsets are not supported");
        return NULL;
    }
    int64_t left = floordiv(x, multiplier), top = floordiv(y, multiplier);
    if (mask) {
        int64_t Bm, Hm, Wm;
        if (!sdf_mask_dims(mask, &Bm, &Hm, &Wm, err)) goto fail;
        sdf_tensor *m4 = sdf_tensor_reshape((sdf_tensor *)mask, 4, (int64_t[]){Bm, 1, Hm, Wm}, err);
        if (!m4) goto fail;
        sdf_tensor *mr = sdf_interpolate(m4, Hs, Ws, SDF_RS_BILINEAR, pool, err); /* C = 1: CL */
        sdf_tensor_release(m4);
        if (!mr) goto fail;
        m = sdf_repeat_to_batch(mr, Bd, err);
        sdf_tensor_release(mr);
        if (!m) goto fail;
    }
    o = sdf_tensor_clone(dst, err);
    if (!o) goto fail;
    int64_t vw = Wd - left, vh = Hd - top; /* x, y >= 0 here */
    int64_t rw = Ws < vw ? Ws : vw, rh = Hs < vh ? Hs : vh;
    float *op = sdf_tensor_f32p(o);
    const float *sp = sdf_tensor_f32p(s);
    const float *mp = m ? sdf_tensor_f32p(m) : NULL;
    for (int64_t b = 0; b < Bd; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t r = 0; r < rh; r++)
                for (int64_t q = 0; q < rw; q++) {
                    float mv = mp ? mp[(b * Hs + r) * Ws + q] : 1.0f;
                    float *dp = op + ((b * C + c) * Hd + top + r) * Wd + left + q;
                    float sv = sp[((b * C + c) * Hs + r) * Ws + q];
                    *dp = mv * sv + (1.0f - mv) * *dp;
                }
    sdf_tensor_release(s);
    sdf_tensor_release(m);
    return o;
fail:
    sdf_tensor_release(s);
    sdf_tensor_release(m);
    return NULL;
}

/* [B,H,W,C] <-> [B,C,H,W] copies */
static sdf_tensor *to_planar(const sdf_tensor *t, int64_t C_out, float fill, sdf_error *err) {
    int64_t B = t->shape[0], H = t->shape[1], W = t->shape[2], C = t->shape[3];
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){B, C_out, H, W}, err);
    if (!o) return NULL;
    const float *s = sdf_tensor_f32p(t);
    float *d = sdf_tensor_f32p(o);
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C_out; c++)
            for (int64_t i = 0; i < H * W; i++)
                d[(b * C_out + c) * H * W + i] = c < C ? s[(b * H * W + i) * C + c] : fill;
    return o;
}

static sdf_tensor *to_interleaved(const sdf_tensor *t, sdf_error *err) {
    int64_t B = t->shape[0], C = t->shape[1], H = t->shape[2], W = t->shape[3];
    sdf_tensor *o = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){B, H, W, C}, err);
    if (!o) return NULL;
    const float *s = sdf_tensor_f32p(t);
    float *d = sdf_tensor_f32p(o);
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < H * W; i++) d[(b * H * W + i) * C + c] = s[(b * C + c) * H * W + i];
    return o;
}

sdf_tensor *sdf_composite_image(const sdf_tensor *dst, const sdf_tensor *src, int64_t x, int64_t y,
                                const sdf_tensor *mask, bool resize_source, sdf_pool *pool,
                                sdf_error *err) {
    if (!dst || !src || dst->ndim != 4 || src->ndim != 4) {
        sdf_fail(err, SDF_ERR_SHAPE, "expected IMAGE tensors [B,H,W,C]");
        return NULL;
    }
    int64_t Cd = dst->shape[3], Cs = src->shape[3];
    /* image_alpha_fix: truncate the source to the destination's channels; a destination with
     * more channels gets one channel of 1.0 appended, which only fits a source one wider. */
    int64_t Cd2 = Cd > Cs ? Cd + 1 : Cd, Cs2 = Cd < Cs ? Cd : Cs;
    if (Cd2 != Cs2) {
        sdf_fail(err, SDF_ERR_SHAPE,
                 "destination has %lld channels and source %lld: ComfyUI pads the destination to "
                 "%lld channels, which does not match the source", (long long)Cd, (long long)Cs,
                 (long long)Cd2);
        return NULL;
    }
    sdf_tensor *d = to_planar(dst, Cd2, 1.0f, err);
    sdf_tensor *s = d ? to_planar(src, Cs2, 1.0f, err) : NULL;
    sdf_tensor *r = s ? sdf_composite(d, s, x, y, mask, 1, resize_source, true, pool, err) : NULL;
    sdf_tensor *o = r ? to_interleaved(r, err) : NULL;
    sdf_tensor_release(d);
    sdf_tensor_release(s);
    sdf_tensor_release(r);
    return o;
}

sdf_tensor *sdf_latent_paste(const sdf_tensor *to, const sdf_tensor *from, int64_t x, int64_t y,
                             int64_t feather, sdf_error *err) {
    if (!to || !from || to->ndim != 4 || from->ndim != 4 || to->shape[1] != from->shape[1]) {
        sdf_fail(err, SDF_ERR_SHAPE, "LatentComposite expects two [B,C,h,w] latents with the same C");
        return NULL;
    }
    x /= 8;
    y /= 8;
    int64_t f = feather / 8;
    int64_t B = to->shape[0], C = to->shape[1], Ht = to->shape[2], Wt = to->shape[3];
    int64_t Bf = from->shape[0], Hf = from->shape[2], Wf = from->shape[3];
    if (Bf != B && Bf != 1) {
        sdf_fail(err, SDF_ERR_SHAPE, "samples_from batch %lld does not fit samples_to batch %lld",
                 (long long)Bf, (long long)B);
        return NULL;
    }
    sdf_tensor *o = sdf_tensor_clone(to, err);
    if (!o) return NULL;
    if (x >= Wt || y >= Ht) return o;
    /* src = from[:, :, :Ht - y, :Wt - x]; pasted at (y, x) */
    int64_t hs = Hf < Ht - y ? Hf : Ht - y, ws = Wf < Wt - x ? Wf : Wt - x;
    float *mrow = sdf_malloc((size_t)(hs * ws) * sizeof(float) + 1);
    if (!mrow) {
        sdf_tensor_release(o);
        sdf_fail(err, SDF_ERR_NOMEM, "LatentComposite mask");
        return NULL;
    }
    for (int64_t i = 0; i < hs * ws; i++) mrow[i] = 1.0f;
    for (int64_t t = 0; t < f; t++) {
        float r = (float)((1.0 / (double)f) * (double)(t + 1));
        for (int64_t q = 0; q < ws; q++) {
            if (y != 0 && t < hs) mrow[t * ws + q] *= r;
            if (y + hs < Ht && hs - 1 - t >= 0) mrow[(hs - 1 - t) * ws + q] *= r;
        }
        for (int64_t p = 0; p < hs; p++) {
            if (x != 0 && t < ws) mrow[p * ws + t] *= r;
            if (x + ws < Wt && ws - 1 - t >= 0) mrow[p * ws + ws - 1 - t] *= r;
        }
    }
    float *op = sdf_tensor_f32p(o);
    const float *fp = sdf_tensor_f32p(from);
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t p = 0; p < hs; p++)
                for (int64_t q = 0; q < ws; q++) {
                    float sv = fp[(((Bf == 1 ? 0 : b) * C + c) * Hf + p) * Wf + q];
                    float *dp = op + ((b * C + c) * Ht + y + p) * Wt + x + q;
                    if (f == 0) *dp = sv;
                    else {
                        float m = mrow[p * ws + q];
                        *dp = sv * m + *dp * (1.0f - m);
                    }
                }
    sdf_free(mrow);
    return o;
}

sdf_status sdf_pad_for_outpaint(const sdf_tensor *image, int64_t left, int64_t top, int64_t right,
                                int64_t bottom, int64_t feathering, sdf_tensor **image_out,
                                sdf_tensor **mask_out, sdf_error *err) {
    *image_out = NULL;
    *mask_out = NULL;
    if (!image || image->ndim != 4 || image->dtype != SDF_DTYPE_F32)
        return sdf_fail(err, SDF_ERR_SHAPE, "expected an IMAGE [B,H,W,C]");
    if (left < 0 || top < 0 || right < 0 || bottom < 0 || feathering < 0)
        return sdf_fail(err, SDF_ERR_INVALID, "negative padding");
    int64_t B = image->shape[0], H = image->shape[1], W = image->shape[2], C = image->shape[3];
    int64_t NH = H + top + bottom, NW = W + left + right;
    sdf_tensor *im = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){B, NH, NW, C}, err);
    if (!im) return err ? err->code : SDF_ERR_NOMEM;
    sdf_tensor *mk = sdf_tensor_new(SDF_DTYPE_F32, 3, (int64_t[]){1, NH, NW}, err);
    if (!mk) {
        sdf_tensor_release(im);
        return err ? err->code : SDF_ERR_NOMEM;
    }
    float *ip = sdf_tensor_f32p(im), *mp = sdf_tensor_f32p(mk);
    const float *sp = sdf_tensor_f32p(image);
    for (int64_t i = 0; i < sdf_tensor_numel(im); i++) ip[i] = 0.5f;
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = 0; r < H; r++)
            memcpy(ip + ((b * NH + top + r) * NW + left) * C, sp + (b * H + r) * W * C,
                   (size_t)(W * C) * sizeof(float));
    for (int64_t i = 0; i < NH * NW; i++) mp[i] = 1.0f;
    bool fe = feathering > 0 && feathering * 2 < H && feathering * 2 < W;
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < W; j++) {
            float t = 0.0f;
            if (fe) {
                int64_t dt = top != 0 ? i : H, db = bottom != 0 ? H - i : H;
                int64_t dl = left != 0 ? j : W, dr = right != 0 ? W - j : W;
                int64_t d = dt;
                if (db < d) d = db;
                if (dl < d) d = dl;
                if (dr < d) d = dr;
                if (d < feathering) {
                    double v = (double)(feathering - d) / (double)feathering;
                    t = (float)(v * v);
                }
            }
            mp[(top + i) * NW + left + j] = t;
        }
    *image_out = im;
    *mask_out = mk;
    return SDF_OK;
}
