/* vae.c: AutoencoderKL decoder and encoder (ldm Encoder/Decoder, spec §10.10 item 8), whole-image
 * and tiled (ComfyUI's tiled_scale: three tile shapes averaged, feathered overlaps).
 *
 * Prepared lazily per sdf_vae (vae->impl under impl_mu): the decoder and the encoder are
 * converted to f32 separately, on first use of each. Images are processed one batch item at a
 * time; activations are freed as soon as they are consumed. */
#include "vae.h"
#include "vae_raw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../base/alloc.h"
#include "nn.h"

#define VAE_MAX_RES 8

typedef struct vres {
    sdf_nn_norm n1, n2;
    sdf_nn_conv c1, c2, nin;
    bool has_nin;
} vres;

typedef struct vattn {
    sdf_nn_norm   norm;
    sdf_nn_linear q, k, v, proj;
} vattn;

typedef struct vlevel {
    vres        res[VAE_MAX_RES];
    int         n_res;
    bool        has_resample;
    sdf_nn_conv resample;
} vlevel;

typedef struct vnet {
    bool        ready;
    sdf_nn_params params;
    sdf_nn_conv quant;   /* quant_conv (encoder) / post_quant_conv (decoder) */
    sdf_nn_conv conv_in, conv_out;
    vres        mid1, mid2;
    vattn       attn;
    sdf_nn_norm norm_out;
    vlevel      lv[SDF_UNET_MAX_LEVELS];
    int         n_levels;
} vnet;

typedef struct vae_impl {
    vnet enc, dec;
} vae_impl;

static void vae_impl_free(void *p) {
    vae_impl *v = p;
    if (!v) return;
    sdf_nn_params_free(&v->enc.params);
    sdf_nn_params_free(&v->dec.params);
    sdf_free(v);
}

static void load_vres(sdf_nn_params *p, vres *r, const char *pre) {
    char b[160];
    snprintf(b, sizeof b, "%s.norm1", pre);
    sdf_nn_norm_load(p, &r->n1, b, 1e-6f);
    snprintf(b, sizeof b, "%s.conv1", pre);
    sdf_nn_conv_load(p, &r->c1, b);
    snprintf(b, sizeof b, "%s.norm2", pre);
    sdf_nn_norm_load(p, &r->n2, b, 1e-6f);
    snprintf(b, sizeof b, "%s.conv2", pre);
    sdf_nn_conv_load(p, &r->c2, b);
    r->has_nin = sdf_nn_has(p, "%s.nin_shortcut.weight", pre);
    if (r->has_nin) {
        snprintf(b, sizeof b, "%s.nin_shortcut", pre);
        sdf_nn_conv_load(p, &r->nin, b);
    }
}

static void load_attn(sdf_nn_params *p, vattn *a, const char *pre) {
    char b[160];
    snprintf(b, sizeof b, "%s.norm", pre);
    sdf_nn_norm_load(p, &a->norm, b, 1e-6f);
    snprintf(b, sizeof b, "%s.q", pre);
    sdf_nn_linear_load(p, &a->q, b, true);
    snprintf(b, sizeof b, "%s.k", pre);
    sdf_nn_linear_load(p, &a->k, b, true);
    snprintf(b, sizeof b, "%s.v", pre);
    sdf_nn_linear_load(p, &a->v, b, true);
    snprintf(b, sizeof b, "%s.proj_out", pre);
    sdf_nn_linear_load(p, &a->proj, b, true);
}

static bool prepare_net(sdf_vae *vae, vnet *n, bool enc, sdf_error *err) {
    const sdf_vae_config *cfg = &vae->cfg;
    sdf_nn_params *p = &n->params;
    sdf_nn_params_init(p, vae->weights, err);
    if (cfg->n_levels < 1 || cfg->n_levels > SDF_UNET_MAX_LEVELS || cfg->num_res_blocks < 1 ||
        cfg->num_res_blocks + 1 > VAE_MAX_RES) {
        sdf_fail(err, SDF_ERR_INVALID, "VAE config: %d levels, %d res blocks", cfg->n_levels,
                 cfg->num_res_blocks);
        return false;
    }
    const char *net = enc ? "encoder" : "decoder";
    char b[160];
    n->n_levels = cfg->n_levels;
    sdf_nn_conv_load(p, &n->quant, enc ? "quant_conv" : "post_quant_conv");
    snprintf(b, sizeof b, "%s.conv_in", net);
    sdf_nn_conv_load(p, &n->conv_in, b);
    snprintf(b, sizeof b, "%s.mid.block_1", net);
    load_vres(p, &n->mid1, b);
    snprintf(b, sizeof b, "%s.mid.attn_1", net);
    load_attn(p, &n->attn, b);
    snprintf(b, sizeof b, "%s.mid.block_2", net);
    load_vres(p, &n->mid2, b);
    snprintf(b, sizeof b, "%s.norm_out", net);
    sdf_nn_norm_load(p, &n->norm_out, b, 1e-6f);
    snprintf(b, sizeof b, "%s.conv_out", net);
    sdf_nn_conv_load(p, &n->conv_out, b);
    for (int l = 0; l < cfg->n_levels; l++) {
        vlevel *lv = &n->lv[l];
        lv->n_res = enc ? cfg->num_res_blocks : cfg->num_res_blocks + 1;
        for (int j = 0; j < lv->n_res; j++) {
            snprintf(b, sizeof b, "%s.%s.%d.block.%d", net, enc ? "down" : "up", l, j);
            load_vres(p, &lv->res[j], b);
        }
        lv->has_resample = enc ? l < cfg->n_levels - 1 : l > 0;
        if (lv->has_resample) {
            snprintf(b, sizeof b, "%s.%s.%d.%s.conv", net, enc ? "down" : "up", l,
                     enc ? "downsample" : "upsample");
            sdf_nn_conv_load(p, &lv->resample, b);
            if (enc) { /* pad right 1 and bottom 1, then 3x3 stride 2 without padding */
                lv->resample.stride = 2;
                lv->resample.pad_t = lv->resample.pad_l = 0;
                lv->resample.pad_b = lv->resample.pad_r = 1;
            }
        }
    }
    if (p->st != SDF_OK) {
        sdf_nn_params_free(p);
        return false;
    }
    n->ready = true;
    return true;
}

static vnet *get_net(sdf_vae *v, bool enc, sdf_error *err) {
    vnet *n = NULL;
    pthread_mutex_lock(&v->impl_mu);
    if (!v->impl) {
        v->impl = sdf_calloc(1, sizeof(vae_impl));
        if (v->impl) v->impl_free = vae_impl_free;
    }
    vae_impl *im = v->impl;
    if (!im) sdf_fail(err, SDF_ERR_NOMEM, "out of memory");
    else {
        n = enc ? &im->enc : &im->dec;
        if (!n->ready && !prepare_net(v, n, enc, err)) n = NULL;
    }
    pthread_mutex_unlock(&v->impl_mu);
    return n;
}

/* ---- forward (one image) ----------------------------------------------------------------- */

/* Returns NEW [cout, h, w]; consumes nothing. */
static float *vres_fwd(sdf_pool *pool, const vres *r, const float *x, int64_t h, int64_t w) {
    int64_t hw = h * w, oh, ow;
    float *t = sdf_nn_alloc(r->n1.c * hw);
    if (!t) return NULL;
    sdf_nn_gn(pool, &r->n1, t, x, 1, hw, true);
    float *h1 = sdf_nn_conv_fwd(pool, &r->c1, t, 1, h, w, &oh, &ow);
    sdf_free(t);
    if (!h1) return NULL;
    sdf_nn_gn(pool, &r->n2, h1, h1, 1, hw, true);
    float *h2 = sdf_nn_conv_fwd(pool, &r->c2, h1, 1, h, w, &oh, &ow);
    sdf_free(h1);
    if (!h2) return NULL;
    int64_t n = r->c2.cout * hw;
    if (r->has_nin) {
        float *s = sdf_nn_conv_fwd(pool, &r->nin, x, 1, h, w, &oh, &ow);
        if (!s) {
            sdf_free(h2);
            return NULL;
        }
        sdf_k_axpby(pool, h2, s, 1.0f, h2, 1.0f, n);
        sdf_free(s);
    } else {
        sdf_k_axpby(pool, h2, x, 1.0f, h2, 1.0f, n);
    }
    return h2;
}

/* Single-head attention over the h*w positions, + x. Returns NEW [c, h, w]. */
static float *vattn_fwd(sdf_pool *pool, const vattn *a, const float *x, int64_t h, int64_t w) {
    int64_t c = a->norm.c, n = h * w;
    float *t = sdf_nn_alloc(c * n), *tok = sdf_nn_alloc(c * n);
    float *q = NULL, *k = NULL, *v = NULL, *o = NULL, *y = NULL;
    if (!t || !tok) goto done;
    sdf_nn_gn(pool, &a->norm, t, x, 1, n, false);
    sdf_k_transpose(pool, tok, t, 1, c, n);
    q = sdf_nn_linear_fwd(pool, &a->q, tok, n);
    k = sdf_nn_linear_fwd(pool, &a->k, tok, n);
    v = sdf_nn_linear_fwd(pool, &a->v, tok, n);
    if (!q || !k || !v) goto done;
    sdf_attn_shape s = {1, n, n, 1, c, c, c, c, c, 1.0f / sqrtf((float)c)};
    sdf_k_attention(pool, tok, q, k, v, &s);
    o = sdf_nn_linear_fwd(pool, &a->proj, tok, n);
    if (!o) goto done;
    sdf_k_transpose(pool, t, o, 1, n, c);
    y = t;
    t = NULL;
    sdf_k_axpby(pool, y, y, 1.0f, x, 1.0f, c * n);
done:
    sdf_free(t);
    sdf_free(tok);
    sdf_free(q);
    sdf_free(k);
    sdf_free(v);
    sdf_free(o);
    return y;
}

/* Replaces *x by f(*x); returns false on OOM (then *x is freed). */
#define STEP(expr)              \
    do {                        \
        float *y_ = (expr);     \
        sdf_free(cur);          \
        cur = y_;               \
        if (!cur) return NULL;  \
    } while (0)

/* z [zc, h, w] raw latent -> NEW [out_ch, h*ds, w*ds] decoder output (not clamped). */
static float *decode_one(sdf_pool *pool, const vnet *n, const float *z, int64_t h, int64_t w,
                         int64_t *oh_out, int64_t *ow_out) {
    int64_t oh, ow;
    float *cur = sdf_nn_conv_fwd(pool, &n->quant, z, 1, h, w, &oh, &ow);
    if (!cur) return NULL;
    STEP(sdf_nn_conv_fwd(pool, &n->conv_in, cur, 1, h, w, &oh, &ow));
    STEP(vres_fwd(pool, &n->mid1, cur, h, w));
    STEP(vattn_fwd(pool, &n->attn, cur, h, w));
    STEP(vres_fwd(pool, &n->mid2, cur, h, w));
    for (int l = n->n_levels - 1; l >= 0; l--) {
        const vlevel *lv = &n->lv[l];
        for (int j = 0; j < lv->n_res; j++) STEP(vres_fwd(pool, &lv->res[j], cur, h, w));
        if (lv->has_resample) {
            int64_t c = lv->resample.cin;
            float *up = sdf_nn_alloc(c * h * w * 4);
            if (!up) {
                sdf_free(cur);
                return NULL;
            }
            sdf_k_upsample_nearest(pool, up, cur, c, h, w, 2 * h, 2 * w);
            sdf_free(cur);
            cur = up;
            h *= 2;
            w *= 2;
            STEP(sdf_nn_conv_fwd(pool, &lv->resample, cur, 1, h, w, &oh, &ow));
        }
    }
    sdf_nn_gn(pool, &n->norm_out, cur, cur, 1, h * w, true);
    STEP(sdf_nn_conv_fwd(pool, &n->conv_out, cur, 1, h, w, &oh, &ow));
    *oh_out = h;
    *ow_out = w;
    return cur;
}

/* x [in_ch, H, W] in [-1, 1] -> NEW moments [2*zc, h, w]. */
static float *encode_one(sdf_pool *pool, const vnet *n, const float *x, int64_t h, int64_t w,
                         int64_t *oh_out, int64_t *ow_out) {
    int64_t oh, ow;
    float *cur = sdf_nn_conv_fwd(pool, &n->conv_in, x, 1, h, w, &oh, &ow);
    if (!cur) return NULL;
    for (int l = 0; l < n->n_levels; l++) {
        const vlevel *lv = &n->lv[l];
        for (int j = 0; j < lv->n_res; j++) STEP(vres_fwd(pool, &lv->res[j], cur, h, w));
        if (lv->has_resample) {
            STEP(sdf_nn_conv_fwd(pool, &lv->resample, cur, 1, h, w, &oh, &ow));
            h = oh;
            w = ow;
        }
    }
    STEP(vres_fwd(pool, &n->mid1, cur, h, w));
    STEP(vattn_fwd(pool, &n->attn, cur, h, w));
    STEP(vres_fwd(pool, &n->mid2, cur, h, w));
    sdf_nn_gn(pool, &n->norm_out, cur, cur, 1, h * w, true);
    STEP(sdf_nn_conv_fwd(pool, &n->conv_out, cur, 1, h, w, &oh, &ow));
    STEP(sdf_nn_conv_fwd(pool, &n->quant, cur, 1, h, w, &oh, &ow));
    *oh_out = h;
    *ow_out = w;
    return cur;
}
#undef STEP

/* ---- tiling (ComfyUI comfy.utils.tiled_scale_multidim, 2-D) ------------------------------ */

typedef float *(*tile_fn)(sdf_pool *pool, const vnet *n, const float *x, int64_t h, int64_t w,
                          void *ctx, int64_t *oh, int64_t *ow);

typedef struct tiler {
    sdf_pool   *pool;
    const vnet *net;
    tile_fn     fn;
    void       *ctx;
    int64_t     cin, cout;
    double      scale; /* output size per input size */
} tiler;

static int64_t pyround(double v) { return (int64_t)nearbyint(v); } /* half to even, as round() */

/* One pass: src [cin, H, W], tile (ty, tx), overlap o (input units); accumulates nothing, writes
 * NEW [cout, round(H*scale), round(W*scale)] = sum(tile * mask) / sum(mask). */
static float *tiled_pass(const tiler *t, const float *src, int64_t H, int64_t W, int64_t ty,
                         int64_t tx, int64_t o) {
    int64_t OH = pyround((double)H * t->scale), OW = pyround((double)W * t->scale);
    if (H <= ty && W <= tx) {
        int64_t oh, ow;
        return t->fn(t->pool, t->net, src, H, W, t->ctx, &oh, &ow);
    }
    float *out = sdf_calloc((size_t)(t->cout * OH * OW), sizeof(float));
    float *div = sdf_calloc((size_t)(OH * OW), sizeof(float));
    float *tile = NULL;
    if (!out || !div) goto fail;
    int64_t ys[4096], xs[4096], ny = 0, nx = 0;
    if (H > ty)
        for (int64_t p = 0; p < H - o && ny < 4096; p += ty - o) ys[ny++] = p;
    else
        ys[ny++] = 0;
    if (W > tx)
        for (int64_t p = 0; p < W - o && nx < 4096; p += tx - o) xs[nx++] = p;
    else
        xs[nx++] = 0;
    for (int64_t iy = 0; iy < ny; iy++)
        for (int64_t ix = 0; ix < nx; ix++) {
            int64_t py = ys[iy] < H - o ? ys[iy] : H - o, px = xs[ix] < W - o ? xs[ix] : W - o;
            if (py < 0) py = 0;
            if (px < 0) px = 0;
            int64_t lh = ty < H - py ? ty : H - py, lw = tx < W - px ? tx : W - px;
            tile = sdf_nn_alloc(t->cin * lh * lw);
            if (!tile) goto fail;
            for (int64_t c = 0; c < t->cin; c++)
                for (int64_t r = 0; r < lh; r++)
                    memcpy(tile + (c * lh + r) * lw, src + (c * H + py + r) * W + px,
                           (size_t)lw * sizeof(float));
            int64_t oh, ow;
            float *ps = t->fn(t->pool, t->net, tile, lh, lw, t->ctx, &oh, &ow);
            sdf_free(tile);
            tile = NULL;
            if (!ps) goto fail;
            int64_t uy = pyround((double)py * t->scale), ux = pyround((double)px * t->scale);
            int64_t feather = pyround((double)o * t->scale);
            float *my = sdf_nn_alloc(oh), *mx = sdf_nn_alloc(ow);
            if (!my || !mx) {
                sdf_free(my);
                sdf_free(mx);
                sdf_free(ps);
                goto fail;
            }
            for (int64_t i = 0; i < oh; i++) my[i] = 1.0f;
            for (int64_t i = 0; i < ow; i++) mx[i] = 1.0f;
            if (feather < oh)
                for (int64_t k = 0; k < feather; k++) {
                    float a = (float)((double)(k + 1) / (double)feather);
                    my[k] *= a;
                    my[oh - 1 - k] *= a;
                }
            if (feather < ow)
                for (int64_t k = 0; k < feather; k++) {
                    float a = (float)((double)(k + 1) / (double)feather);
                    mx[k] *= a;
                    mx[ow - 1 - k] *= a;
                }
            for (int64_t r = 0; r < oh && uy + r < OH; r++)
                for (int64_t q = 0; q < ow && ux + q < OW; q++) {
                    float m = my[r] * mx[q];
                    for (int64_t c = 0; c < t->cout; c++)
                        out[(c * OH + uy + r) * OW + ux + q] += ps[(c * oh + r) * ow + q] * m;
                    div[(uy + r) * OW + ux + q] += m;
                }
            sdf_free(my);
            sdf_free(mx);
            sdf_free(ps);
        }
    for (int64_t c = 0; c < t->cout; c++)
        for (int64_t i = 0; i < OH * OW; i++) out[c * OH * OW + i] /= div[i];
    sdf_free(div);
    return out;
fail:
    sdf_free(out);
    sdf_free(div);
    sdf_free(tile);
    return NULL;
}

/* ---- public entry points ----------------------------------------------------------------- */

static float *dec_tile(sdf_pool *pool, const vnet *n, const float *x, int64_t h, int64_t w,
                       void *ctx, int64_t *oh, int64_t *ow) {
    (void)ctx;
    return decode_one(pool, n, x, h, w, oh, ow);
}

/* encoder on a [-1,1] tile -> the posterior mean (first zc channels of the moments) */
static float *enc_tile(sdf_pool *pool, const vnet *n, const float *x, int64_t h, int64_t w,
                       void *ctx, int64_t *oh, int64_t *ow) {
    int64_t zc = *(const int64_t *)ctx;
    float *m = encode_one(pool, n, x, h, w, oh, ow);
    if (!m) return NULL;
    /* the mean is the leading contiguous zc planes: shrink in place */
    float *r = sdf_realloc(m, (size_t)(zc * *oh * *ow) * sizeof(float));
    return r ? r : m;
}

static sdf_status check_latent(sdf_vae *v, const sdf_tensor *z, sdf_error *err) {
    char shp[96];
    if (!z || z->dtype != SDF_DTYPE_F32 || z->ndim != 4 || z->shape[1] != v->cfg.z_channels ||
        z->shape[0] < 1 || z->shape[2] < 1 || z->shape[3] < 1) {
        if (z) sdf_tensor_shape_str(z, shp, sizeof shp);
        return sdf_fail(err, SDF_ERR_SHAPE, "VAE decode: latent has shape %s, expected [B,%d,h,w]",
                        z ? shp : "(none)", v->cfg.z_channels);
    }
    return SDF_OK;
}

static sdf_status decode_impl(sdf_vae *v, const sdf_tensor *z, int tile, int overlap,
                              sdf_pool *pool, sdf_tensor **image, sdf_error *err) {
    *image = NULL;
    sdf_status st = check_latent(v, z, err);
    if (st != SDF_OK) return st;
    vnet *n = get_net(v, false, err);
    if (!n) return err && err->code ? err->code : SDF_ERR_INTERNAL;
    sdf_k_ftz();
    sdf_blas_setup();
    int64_t B = z->shape[0], zc = z->shape[1], h = z->shape[2], w = z->shape[3];
    int64_t ds = v->cfg.downscale > 0 ? v->cfg.downscale : 8;
    int64_t H = h * ds, W = w * ds, oc = n->conv_out.cout;
    int64_t shape[4] = {B, H, W, oc};
    sdf_tensor *img = sdf_tensor_new(SDF_DTYPE_F32, 4, shape, err);
    if (!img) return err->code;
    float *ip = sdf_tensor_f32p(img);
    tiler tl = {pool, n, dec_tile, NULL, zc, oc, (double)ds};
    int64_t tx = tile / ds, ty = tile / ds, o = overlap / ds;
    for (int64_t b = 0; b < B; b++) {
        const float *zb = sdf_tensor_f32p(z) + b * zc * h * w;
        float *dec = NULL;
        int64_t oh = H, ow = W;
        if (tile <= 0) {
            dec = decode_one(pool, n, zb, h, w, &oh, &ow);
        } else {
            if (tx < 2 || ty < 2 || o >= tx / 2 || o >= ty / 2) {
                sdf_tensor_release(img);
                return sdf_fail(err, SDF_ERR_INVALID,
                                "VAE tiled decode: tile %d px with overlap %d px is too small "
                                "for this VAE (x%lld)",
                                tile, overlap, (long long)ds);
            }
            float *a = tiled_pass(&tl, zb, h, w, ty * 2, tx / 2, o);
            float *p2 = a ? tiled_pass(&tl, zb, h, w, ty / 2, tx * 2, o) : NULL;
            float *p3 = p2 ? tiled_pass(&tl, zb, h, w, ty, tx, o) : NULL;
            if (p3)
                for (int64_t i = 0; i < oc * H * W; i++) a[i] = ((a[i] + p2[i]) + p3[i]) / 3.0f;
            sdf_free(p2);
            if (p3) dec = a;
            else sdf_free(a);
            sdf_free(p3);
        }
        if (!dec) {
            sdf_tensor_release(img);
            return sdf_fail(err, SDF_ERR_NOMEM, "out of memory in the VAE decoder");
        }
        /* clamp((x + 1) / 2, 0, 1), NCHW -> NHWC */
        float *dst = ip + b * H * W * oc;
        for (int64_t c = 0; c < oc; c++)
            for (int64_t i = 0; i < H * W; i++) {
                float vv = (dec[c * H * W + i] + 1.0f) / 2.0f;
                dst[i * oc + c] = vv < 0.0f ? 0.0f : vv > 1.0f ? 1.0f : vv;
            }
        sdf_free(dec);
    }
    *image = img;
    return SDF_OK;
}

sdf_status sdf_vae_decode(sdf_vae *v, const sdf_tensor *z, sdf_pool *pool, sdf_tensor **image,
                          sdf_error *err) {
    return decode_impl(v, z, 0, 0, pool, image, err);
}

sdf_status sdf_vae_decode_tiled(sdf_vae *v, const sdf_tensor *z, int tile, int overlap,
                                sdf_pool *pool, sdf_tensor **image, sdf_error *err) {
    if (tile <= 0 || overlap < 0)
        return sdf_fail(err, SDF_ERR_INVALID, "VAE tiled decode: bad tile %d / overlap %d", tile,
                        overlap);
    return decode_impl(v, z, tile, overlap, pool, image, err);
}

static sdf_status encode_impl(sdf_vae *v, const sdf_tensor *image, int tile, int overlap,
                              sdf_pool *pool, sdf_tensor **latent, sdf_error *err) {
    *latent = NULL;
    char shp[96];
    int64_t ds = v->cfg.downscale > 0 ? v->cfg.downscale : 8;
    if (!image || image->dtype != SDF_DTYPE_F32 || image->ndim != 4 || image->shape[3] < 3 ||
        image->shape[1] < ds || image->shape[2] < ds || image->shape[0] < 1) {
        if (image) sdf_tensor_shape_str(image, shp, sizeof shp);
        return sdf_fail(err, SDF_ERR_SHAPE,
                        "VAE encode: image has shape %s, expected [B,H,W,3+] with H, W >= %lld",
                        image ? shp : "(none)", (long long)ds);
    }
    vnet *n = get_net(v, true, err);
    if (!n) return err && err->code ? err->code : SDF_ERR_INTERNAL;
    sdf_k_ftz();
    sdf_blas_setup();
    int64_t B = image->shape[0], IH = image->shape[1], IW = image->shape[2], IC = image->shape[3];
    /* ComfyUI vae_encode_crop_pixels: centre crop to multiples of the downscale factor */
    int64_t H = IH / ds * ds, W = IW / ds * ds, offy = (IH % ds) / 2, offx = (IW % ds) / 2;
    int64_t cin = n->conv_in.cin, zc = n->quant.cout / 2, h = H / ds, w = W / ds;
    int64_t shape[4] = {B, zc, h, w};
    sdf_tensor *lat = sdf_tensor_new(SDF_DTYPE_F32, 4, shape, err);
    float *x = sdf_nn_alloc(cin * H * W);
    if (!lat || !x) {
        sdf_tensor_release(lat);
        sdf_free(x);
        return sdf_fail(err, SDF_ERR_NOMEM, "out of memory in the VAE encoder");
    }
    tiler tl = {pool, n, enc_tile, &zc, cin, zc, 1.0 / (double)ds};
    for (int64_t b = 0; b < B; b++) {
        const float *src = sdf_tensor_f32p(image) + b * IH * IW * IC;
        for (int64_t c = 0; c < cin; c++)
            for (int64_t y = 0; y < H; y++)
                for (int64_t xx = 0; xx < W; xx++)
                    x[(c * H + y) * W + xx] = src[((y + offy) * IW + xx + offx) * IC + c] * 2.0f - 1.0f;
        float *m = NULL;
        int64_t oh, ow;
        if (tile <= 0) {
            m = enc_tile(pool, n, x, H, W, &zc, &oh, &ow);
        } else {
            int64_t t = tile, o = overlap;
            float *a = tiled_pass(&tl, x, H, W, t, t, o);
            float *p2 = a ? tiled_pass(&tl, x, H, W, t / 2, t * 2, o) : NULL;
            float *p3 = p2 ? tiled_pass(&tl, x, H, W, t * 2, t / 2, o) : NULL;
            if (p3)
                for (int64_t i = 0; i < zc * h * w; i++) a[i] = ((a[i] + p2[i]) + p3[i]) / 3.0f;
            sdf_free(p2);
            if (p3) m = a;
            else sdf_free(a);
            sdf_free(p3);
        }
        if (!m) {
            sdf_free(x);
            sdf_tensor_release(lat);
            return sdf_fail(err, SDF_ERR_NOMEM, "out of memory in the VAE encoder");
        }
        memcpy(sdf_tensor_f32p(lat) + b * zc * h * w, m, (size_t)(zc * h * w) * sizeof(float));
        sdf_free(m);
    }
    sdf_free(x);
    *latent = lat;
    return SDF_OK;
}

sdf_status sdf_vae_encode(sdf_vae *v, const sdf_tensor *image, sdf_pool *pool, sdf_tensor **latent,
                          sdf_error *err) {
    return encode_impl(v, image, 0, 0, pool, latent, err);
}

sdf_status sdf_vae_encode_tiled(sdf_vae *v, const sdf_tensor *image, int tile, int overlap,
                                sdf_pool *pool, sdf_tensor **latent, sdf_error *err) {
    if (tile <= 0 || overlap < 0 || overlap * 2 >= tile)
        return sdf_fail(err, SDF_ERR_INVALID, "VAE tiled encode: bad tile %d / overlap %d", tile,
                        overlap);
    return encode_impl(v, image, tile, overlap, pool, latent, err);
}

sdf_status sdf_vae_decode_raw(sdf_vae *v, const sdf_tensor *z, sdf_pool *pool, sdf_tensor **out,
                              sdf_error *err) {
    *out = NULL;
    sdf_status st = check_latent(v, z, err);
    if (st != SDF_OK) return st;
    vnet *n = get_net(v, false, err);
    if (!n) return err && err->code ? err->code : SDF_ERR_INTERNAL;
    sdf_k_ftz();
    sdf_blas_setup();
    int64_t B = z->shape[0], zc = z->shape[1], h = z->shape[2], w = z->shape[3];
    sdf_tensor *t = NULL;
    for (int64_t b = 0; b < B; b++) {
        int64_t oh, ow;
        float *d = decode_one(pool, n, sdf_tensor_f32p(z) + b * zc * h * w, h, w, &oh, &ow);
        if (!d) {
            sdf_tensor_release(t);
            return sdf_fail(err, SDF_ERR_NOMEM, "out of memory in the VAE decoder");
        }
        int64_t oc = n->conv_out.cout;
        if (!t) {
            int64_t shape[4] = {B, oc, oh, ow};
            t = sdf_tensor_new(SDF_DTYPE_F32, 4, shape, err);
            if (!t) {
                sdf_free(d);
                return err->code;
            }
        }
        memcpy(sdf_tensor_f32p(t) + b * oc * oh * ow, d, (size_t)(oc * oh * ow) * sizeof(float));
        sdf_free(d);
    }
    *out = t;
    return SDF_OK;
}

/* ---- analytic op list (model_ops.h) ------------------------------------------------------ */

#include "model_ops.h"

static void vw_conv(sdf_model_op_fn fn, void *ctx, const sdf_nn_conv *c, int64_t h, int64_t w,
                    int64_t *oh, int64_t *ow) {
    sdf_model_op op = {.kind = SDF_OP_CONV, .w = sdf_model_op_weight(&c->w), .b = c->b};
    op.conv = (sdf_conv_shape){1, c->cin, h, w, c->cout, c->k, c->k, c->stride,
                               c->pad_t, c->pad_l, c->pad_b, c->pad_r};
    *oh = sdf_conv_out_h(&op.conv);
    *ow = sdf_conv_out_w(&op.conv);
    op.flops = 2.0 * (double)(c->cout * c->cin * c->k * c->k) * (double)(*oh * *ow);
    fn(ctx, &op);
}

static void vw_res(sdf_model_op_fn fn, void *ctx, const vres *r, int64_t h, int64_t w) {
    int64_t oh, ow;
    vw_conv(fn, ctx, &r->c1, h, w, &oh, &ow);
    vw_conv(fn, ctx, &r->c2, h, w, &oh, &ow);
    if (r->has_nin) vw_conv(fn, ctx, &r->nin, h, w, &oh, &ow);
}

static void vw_attn(sdf_model_op_fn fn, void *ctx, const vattn *a, int64_t h, int64_t w) {
    int64_t n = h * w, c = a->norm.c;
    const sdf_nn_linear *ls[4] = {&a->q, &a->k, &a->v, &a->proj};
    for (int i = 0; i < 4; i++) {
        sdf_model_op op = {.kind = SDF_OP_LINEAR, .rows = n, .in = c, .out = c, .w = sdf_model_op_weight(&ls[i]->w),
                           .b = ls[i]->b, .flops = 2.0 * (double)n * (double)(c * c)};
        if (i == 3) {
            sdf_model_op at = {.kind = SDF_OP_ATTN,
                               .attn = {1, n, n, 1, c, c, c, c, c, 1.0f / sqrtf((float)c)},
                               .flops = 4.0 * (double)n * (double)n * (double)c};
            fn(ctx, &at);
        }
        fn(ctx, &op);
    }
}

sdf_status sdf_vae_walk(sdf_vae *v, bool encoder, int64_t h, int64_t w, sdf_model_op_fn fn,
                        void *ctx, sdf_error *err) {
    vnet *n = get_net(v, encoder, err);
    if (!n) return err && err->code ? err->code : SDF_ERR_INTERNAL;
    int64_t oh, ow;
    if (!encoder) {
        vw_conv(fn, ctx, &n->quant, h, w, &oh, &ow);
        vw_conv(fn, ctx, &n->conv_in, h, w, &oh, &ow);
        vw_res(fn, ctx, &n->mid1, h, w);
        vw_attn(fn, ctx, &n->attn, h, w);
        vw_res(fn, ctx, &n->mid2, h, w);
        for (int l = n->n_levels - 1; l >= 0; l--) {
            for (int j = 0; j < n->lv[l].n_res; j++) vw_res(fn, ctx, &n->lv[l].res[j], h, w);
            if (n->lv[l].has_resample) {
                h *= 2;
                w *= 2;
                vw_conv(fn, ctx, &n->lv[l].resample, h, w, &oh, &ow);
            }
        }
        vw_conv(fn, ctx, &n->conv_out, h, w, &oh, &ow);
    } else {
        vw_conv(fn, ctx, &n->conv_in, h, w, &oh, &ow);
        for (int l = 0; l < n->n_levels; l++) {
            for (int j = 0; j < n->lv[l].n_res; j++) vw_res(fn, ctx, &n->lv[l].res[j], h, w);
            if (n->lv[l].has_resample) {
                vw_conv(fn, ctx, &n->lv[l].resample, h, w, &oh, &ow);
                h = oh;
                w = ow;
            }
        }
        vw_res(fn, ctx, &n->mid1, h, w);
        vw_attn(fn, ctx, &n->attn, h, w);
        vw_res(fn, ctx, &n->mid2, h, w);
        vw_conv(fn, ctx, &n->conv_out, h, w, &oh, &ow);
        vw_conv(fn, ctx, &n->quant, h, w, &oh, &ow);
    }
    return SDF_OK;
}
