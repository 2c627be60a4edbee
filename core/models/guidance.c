/* guidance.c: CFGGuider (calc_cond_batch + cfg_function) and KSamplerX0Inpaint. */
#include "guidance.h"

#include <math.h>
#include <string.h>

#include "../base/alloc.h"
#include "unet.h"

sdf_status sdf_unet_apply(void *ctx, const sdf_tensor *xc, const float *timesteps,
                          const sdf_tensor *context, sdf_tensor **out, sdf_error *err) {
    sdf_unet_apply_ctx *u = ctx;
    return sdf_unet_forward(u->model, xc, timesteps, context, u->pool, out, err);
}

void sdf_resize_bilinear(const float *src, int64_t n, int64_t h, int64_t w, float *dst,
                         int64_t oh, int64_t ow) {
    float sh = (float)h / (float)oh, sw = (float)w / (float)ow;
    for (int64_t y = 0; y < oh; y++) {
        float fy = sh * ((float)y + 0.5f) - 0.5f;
        if (fy < 0) fy = 0;
        int64_t y0 = (int64_t)fy, yp = y0 < h - 1 ? 1 : 0;
        float ly1 = fy - (float)y0, ly0 = 1.0f - ly1;
        for (int64_t x = 0; x < ow; x++) {
            float fx = sw * ((float)x + 0.5f) - 0.5f;
            if (fx < 0) fx = 0;
            int64_t x0 = (int64_t)fx, xp = x0 < w - 1 ? 1 : 0;
            float lx1 = fx - (float)x0, lx0 = 1.0f - lx1;
            for (int64_t b = 0; b < n; b++) {
                const float *p = src + b * h * w;
                float v = ly0 * (lx0 * p[y0 * w + x0] + lx1 * p[y0 * w + x0 + xp]) +
                          ly1 * (lx0 * p[(y0 + yp) * w + x0] + lx1 * p[(y0 + yp) * w + x0 + xp]);
                dst[b * oh * ow + y * ow + x] = v;
            }
        }
    }
}

/* ---- prepared conditions ---- */

typedef struct gcond {
    sdf_tensor *context;   /* [1, T, D], retained */
    bool   has_area;
    int64_t area[4];       /* h, w, y, x in latent units */
    float *mask;           /* [mb, H, W] at latent resolution, or NULL */
    int64_t mask_b;
    double mask_strength, strength;
    bool   has_range;
    double sigma_start, sigma_end;
} gcond;

typedef struct glist {
    gcond *c;
    int    n, cap;
} glist;

struct sdf_guider {
    const sdf_msampling *ms;
    sdf_apply_model_fn   apply;
    void                *apply_ctx;
    double               cfg;
    int64_t              shape[4];
    size_t               n;
    glist                lists[2]; /* 0 positive, 1 negative */
    float               *acc[2], *cnt[2];
    int                  calls;
    float               *concat;   /* [B, concat_c, h, w] c_concat, or NULL */
    int64_t              concat_c;
};

static void gcond_free(gcond *c) {
    sdf_tensor_release(c->context);
    sdf_free(c->mask);
}

static sdf_status glist_push(glist *l, const gcond *c, sdf_error *err) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        gcond *nc = sdf_realloc(l->c, sizeof(gcond) * (size_t)cap);
        if (!nc) return sdf_fail(err, SDF_ERR_NOMEM, "guidance: out of memory");
        l->c = nc;
        l->cap = cap;
    }
    l->c[l->n++] = *c;
    return SDF_OK;
}

static long long round_half_even(double v) { return (long long)nearbyint(v); }

static sdf_status prepare_entry(sdf_guider *g, const sdf_cond_entry *e, const char *which,
                                int idx, gcond *out, sdf_error *err) {
    memset(out, 0, sizeof *out);
    const int64_t H = g->shape[2], W = g->shape[3];
    if (!e->cond || e->cond->ndim != 3 || e->cond->dtype != SDF_DTYPE_F32 || e->cond->shape[0] != 1)
        return sdf_fail(err, SDF_ERR_SHAPE, "%s conditioning %d: expected a [1,T,D] f32 tensor",
                        which, idx);
    out->context = sdf_tensor_retain(e->cond);
    out->strength = e->has_strength ? e->strength : 1.0;
    out->mask_strength = e->mask_strength;
    if (e->has_area) {
        out->has_area = true;
        if (e->area_percentage) {
            double a[4] = {e->area[0], e->area[1], e->area[2], e->area[3]};
            long long hh = round_half_even(a[0] * (double)H), ww = round_half_even(a[1] * (double)W);
            out->area[0] = hh > 1 ? hh : 1;
            out->area[1] = ww > 1 ? ww : 1;
            out->area[2] = round_half_even(a[2] * (double)H);
            out->area[3] = round_half_even(a[3] * (double)W);
        } else {
            for (int k = 0; k < 4; k++) out->area[k] = (int64_t)e->area[k];
        }
    }
    if (e->mask) {
        const sdf_tensor *m = e->mask;
        if (m->dtype != SDF_DTYPE_F32 || m->ndim < 2 || m->ndim > 3) {
            gcond_free(out);
            return sdf_fail(err, SDF_ERR_SHAPE, "%s conditioning %d: mask must be [B,H,W] f32",
                            which, idx);
        }
        int64_t mb = m->ndim == 3 ? m->shape[0] : 1;
        int64_t mh = m->shape[m->ndim - 2], mw = m->shape[m->ndim - 1];
        out->mask = sdf_malloc(sizeof(float) * (size_t)(mb * H * W));
        if (!out->mask) {
            gcond_free(out);
            return sdf_fail(err, SDF_ERR_NOMEM, "guidance: out of memory");
        }
        out->mask_b = mb;
        if (mh == H && mw == W) memcpy(out->mask, m->data, sizeof(float) * (size_t)(mb * H * W));
        else sdf_resize_bilinear(sdf_tensor_f32p(m), mb, mh, mw, out->mask, H, W);
        if (e->set_area_to_bounds) {
            int64_t x0 = W, y0 = H, x1 = -1, y1 = -1;
            for (int64_t y = 0; y < H; y++)
                for (int64_t x = 0; x < W; x++) {
                    float mx = 0;
                    for (int64_t b = 0; b < mb; b++) {
                        float v = fabsf(out->mask[b * H * W + y * W + x]);
                        if (v > mx) mx = v;
                    }
                    if (mx != 0) {
                        if (x < x0) x0 = x;
                        if (x > x1) x1 = x;
                        if (y < y0) y0 = y;
                        if (y > y1) y1 = y;
                    }
                }
            out->has_area = true;
            if (x1 < 0) {
                out->area[0] = 8, out->area[1] = 8, out->area[2] = 0, out->area[3] = 0;
            } else {
                int64_t hh = y1 - y0 + 1, ww = x1 - x0 + 1;
                out->area[0] = hh > 8 ? hh : 8;
                out->area[1] = ww > 8 ? ww : 8;
                out->area[2] = y0;
                out->area[3] = x0;
            }
        }
    }
    if (e->has_timestep_range) {
        out->has_range = true;
        out->sigma_start = sdf_ms_percent_to_sigma(g->ms, e->start_percent);
        out->sigma_end = sdf_ms_percent_to_sigma(g->ms, e->end_percent);
    }
    return SDF_OK;
}

static bool area_inside(const int64_t *a, const int64_t *cmp) {
    for (int i = 0; i < 2; i++)
        if (a[2 + i] < cmp[2 + i]) return false;
    for (int i = 0; i < 2; i++)
        if (a[i] + a[2 + i] > cmp[i] + cmp[2 + i]) return false;
    return true;
}

/* create_cond_with_same_area_if_none (§10.4): a copy of c with the context of the smallest
 * enclosing cond of `other` (or its first area-less cond). */
static sdf_status pair_area(glist *other, const gcond *c, sdf_error *err) {
    if (!c->has_area) return SDF_OK;
    int smallest = -1;
    for (int i = 0; i < other->n; i++) {
        const gcond *x = &other->c[i];
        if (x->has_area) {
            if (area_inside(c->area, x->area)) {
                if (smallest < 0) smallest = i;
                else if (!other->c[smallest].has_area) smallest = i;
                else {
                    const gcond *s = &other->c[smallest];
                    if (s->area[0] * s->area[1] > x->area[0] * x->area[1]) smallest = i;
                }
            }
        } else if (smallest < 0) {
            smallest = i;
        }
    }
    if (smallest < 0) return SDF_OK;
    const gcond *s = &other->c[smallest];
    if (s->has_area && memcmp(s->area, c->area, sizeof c->area) == 0) return SDF_OK;
    gcond copy = *c;
    copy.context = sdf_tensor_retain(s->context);
    copy.mask = NULL;
    return glist_push(other, &copy, err);
}

sdf_status sdf_guider_new(const sdf_msampling *ms, sdf_apply_model_fn apply, void *apply_ctx,
                          const sdf_conditioning *positive, const sdf_conditioning *negative,
                          double cfg, const int64_t shape[4], sdf_guider **out, sdf_error *err) {
    *out = NULL;
    sdf_guider *g = sdf_calloc(1, sizeof *g);
    if (!g) return sdf_fail(err, SDF_ERR_NOMEM, "guidance: out of memory");
    g->ms = ms;
    g->apply = apply;
    g->apply_ctx = apply_ctx;
    g->cfg = cfg;
    memcpy(g->shape, shape, sizeof g->shape);
    g->n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    const sdf_conditioning *src[2] = {positive, negative};
    static const char *names[2] = {"positive", "negative"};
    sdf_status st = SDF_OK;
    for (int l = 0; l < 2 && st == SDF_OK; l++) {
        if (!src[l]) continue;
        for (int i = 0; i < src[l]->n && st == SDF_OK; i++) {
            gcond c;
            st = prepare_entry(g, &src[l]->e[i], names[l], i, &c, err);
            if (st == SDF_OK && (st = glist_push(&g->lists[l], &c, err)) != SDF_OK) gcond_free(&c);
        }
    }
    /* area pairing, in ComfyUI's order: positive conds into negative, then negative into
     * positive (including the copies just added) */
    for (int l = 0; l < 2 && st == SDF_OK; l++)
        for (int i = 0; i < g->lists[l].n && st == SDF_OK; i++) {
            gcond c = g->lists[l].c[i];
            if (c.mask) {
                /* a paired copy shares the mask plane: duplicate it */
                size_t cnt = (size_t)(c.mask_b * shape[2] * shape[3]);
                float *m = sdf_malloc(sizeof(float) * cnt);
                if (!m) {
                    st = sdf_fail(err, SDF_ERR_NOMEM, "guidance: out of memory");
                    break;
                }
                memcpy(m, c.mask, sizeof(float) * cnt);
                int before = g->lists[1 - l].n;
                st = pair_area(&g->lists[1 - l], &c, err);
                if (st == SDF_OK && g->lists[1 - l].n > before)
                    g->lists[1 - l].c[g->lists[1 - l].n - 1].mask = m;
                else
                    sdf_free(m);
            } else {
                st = pair_area(&g->lists[1 - l], &c, err);
            }
        }
    for (int l = 0; l < 2 && st == SDF_OK; l++) {
        g->acc[l] = sdf_malloc_aligned(sizeof(float) * g->n);
        g->cnt[l] = sdf_malloc_aligned(sizeof(float) * g->n);
        if (!g->acc[l] || !g->cnt[l]) st = sdf_fail(err, SDF_ERR_NOMEM, "guidance: out of memory");
    }
    if (st != SDF_OK) {
        sdf_guider_free(g);
        return st;
    }
    *out = g;
    return SDF_OK;
}

void sdf_guider_free(sdf_guider *g) {
    if (!g) return;
    for (int l = 0; l < 2; l++) {
        for (int i = 0; i < g->lists[l].n; i++) gcond_free(&g->lists[l].c[i]);
        sdf_free(g->lists[l].c);
        sdf_free(g->acc[l]);
        sdf_free(g->cnt[l]);
    }
    sdf_free(g->concat);
    sdf_free(g);
}

sdf_status sdf_guider_set_concat(sdf_guider *g, const float *concat, int64_t channels,
                                 sdf_error *err) {
    sdf_free(g->concat);
    g->concat = NULL;
    g->concat_c = 0;
    if (!concat || channels <= 0) return SDF_OK;
    size_t n = (size_t)(g->shape[0] * channels * g->shape[2] * g->shape[3]);
    g->concat = sdf_malloc(sizeof(float) * n);
    if (!g->concat) return sdf_fail(err, SDF_ERR_NOMEM, "guidance: out of memory");
    memcpy(g->concat, concat, sizeof(float) * n);
    g->concat_c = channels;
    return SDF_OK;
}

int sdf_guider_model_calls(const sdf_guider *g) { return g ? g->calls : 0; }

/* ---- one evaluation ---- */

typedef struct run_item {
    const gcond *c;
    int    list;
    int64_t a[4];     /* effective area h, w, y, x (whole latent when none) */
    bool   has_area;
    float *mult;      /* [B, C, ah, aw] */
} run_item;

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static bool ctx_can_concat(const sdf_tensor *a, const sdf_tensor *b) {
    if (a->shape[2] != b->shape[2]) return false;
    if (a->shape[1] == b->shape[1]) return true;
    int64_t l = a->shape[1] / gcd64(a->shape[1], b->shape[1]) * b->shape[1];
    int64_t mn = a->shape[1] < b->shape[1] ? a->shape[1] : b->shape[1];
    return l / mn <= 4;
}

static bool can_concat(const run_item *a, const run_item *b) {
    if (a->a[0] != b->a[0] || a->a[1] != b->a[1]) return false;
    return ctx_can_concat(a->c->context, b->c->context);
}

static sdf_status make_item(const sdf_guider *g, const gcond *c, int list, float sigma,
                            run_item *it, sdf_error *err) {
    const int64_t B = g->shape[0], C = g->shape[1], H = g->shape[2], W = g->shape[3];
    memset(it, 0, sizeof *it);
    it->c = c;
    it->list = list;
    if (c->has_area) {
        it->has_area = true;
        int64_t h = c->area[0], w = c->area[1], y = c->area[2], x = c->area[3];
        if (y < 0 || x < 0 || y >= H || x >= W)
            return sdf_fail(err, SDF_ERR_INVALID,
                            "conditioning area (y %lld, x %lld) lies outside the %lldx%lld latent",
                            (long long)y, (long long)x, (long long)H, (long long)W);
        if (H - y < h) h = H - y;
        if (W - x < w) w = W - x;
        if (h < 1 || w < 1)
            return sdf_fail(err, SDF_ERR_INVALID, "conditioning area is empty");
        it->a[0] = h, it->a[1] = w, it->a[2] = y, it->a[3] = x;
    } else {
        it->a[0] = H, it->a[1] = W, it->a[2] = 0, it->a[3] = 0;
    }
    (void)sigma;
    int64_t ah = it->a[0], aw = it->a[1];
    size_t plane = (size_t)(ah * aw);
    it->mult = sdf_malloc(sizeof(float) * (size_t)(B * C) * plane);
    if (!it->mult) return sdf_fail(err, SDF_ERR_NOMEM, "guidance: out of memory");
    float strength = (float)c->strength;
    for (int64_t b = 0; b < B; b++)
        for (int64_t ch = 0; ch < C; ch++) {
            float *m = it->mult + (size_t)(b * C + ch) * plane;
            if (c->mask) {
                /* mask[:B] (repeated over the batch when it has one plane) */
                int64_t mbi = c->mask_b >= B ? b : (c->mask_b == 1 ? 0 : b % c->mask_b);
                const float *mp = c->mask + (size_t)(mbi * H * W);
                float ms = (float)c->mask_strength;
                for (int64_t y = 0; y < ah; y++)
                    for (int64_t x = 0; x < aw; x++) {
                        float v = mp[(y + it->a[2]) * W + x + it->a[3]] * ms;
                        m[y * aw + x] = v * strength;
                    }
            } else {
                for (size_t k = 0; k < plane; k++) m[k] = 1.0f * strength;
            }
        }
    if (!c->mask && it->has_area) {
        /* edge feathering */
        const int64_t dims[2] = {ah, aw}, full[2] = {H, W};
        for (int d = 0; d < 2; d++) {
            int64_t rr = dims[d] / 4 < 8 ? dims[d] / 4 : 8;
            for (int side = 0; side < 2; side++) {
                bool apply = side == 0 ? it->a[2 + d] != 0
                                       : (it->a[d] + it->a[2 + d]) < full[d];
                if (!apply) continue;
                for (int64_t t = 0; t < rr; t++) {
                    float f = (1.0f / (float)rr) * (float)(t + 1);
                    int64_t pos = side == 0 ? t : dims[d] - 1 - t;
                    for (int64_t bc = 0; bc < B * C; bc++) {
                        float *m = it->mult + (size_t)bc * plane;
                        if (d == 0)
                            for (int64_t x = 0; x < aw; x++) m[pos * aw + x] *= f;
                        else
                            for (int64_t y = 0; y < ah; y++) m[y * aw + pos] *= f;
                    }
                }
            }
        }
    }
    return SDF_OK;
}

/* Runs the batch items[idx[0..k)] in one model call and accumulates. */
static sdf_status run_batch(sdf_guider *g, run_item *items, const int *idx, int k,
                            const float *x, float sigma, sdf_error *err) {
    const int64_t B = g->shape[0], C = g->shape[1], W = g->shape[3];
    const int64_t ah = items[idx[0]].a[0], aw = items[idx[0]].a[1];
    const int64_t N = (int64_t)k * B, CC = g->concat_c;
    size_t plane = (size_t)(ah * aw), per = (size_t)C * plane;
    int64_t T = items[idx[0]].c->context->shape[1], D = items[idx[0]].c->context->shape[2];
    for (int j = 1; j < k; j++) {
        int64_t t2 = items[idx[j]].c->context->shape[1];
        T = T / gcd64(T, t2) * t2;
    }
    sdf_status st = SDF_OK;
    int64_t xs[4] = {N, C, ah, aw}, xcs[4] = {N, C + CC, ah, aw}, cs[3] = {N, T, D};
    sdf_tensor *xin = sdf_tensor_new(SDF_DTYPE_F32, 4, xs, err);
    sdf_tensor *xc = sdf_tensor_new(SDF_DTYPE_F32, 4, xcs, err);
    sdf_tensor *ctx = sdf_tensor_new(SDF_DTYPE_F32, 3, cs, err);
    float *ts = sdf_malloc(sizeof(float) * (size_t)N);
    float *den = sdf_malloc(sizeof(float) * (size_t)N * per);
    sdf_tensor *out = NULL;
    if (!xin || !xc || !ctx || !ts || !den) {
        st = err->code ? err->code : sdf_fail(err, SDF_ERR_NOMEM, "guidance: out of memory");
        goto done;
    }
    float *xp = sdf_tensor_f32p(xin), *cp = sdf_tensor_f32p(ctx);
    float scale = sqrtf(sigma * sigma + 1.0f);
    float t = (float)sdf_ms_timestep(g->ms, sigma);
    for (int j = 0; j < k; j++) {
        const run_item *it = &items[idx[j]];
        for (int64_t b = 0; b < B; b++) {
            for (int64_t ch = 0; ch < C; ch++)
                for (int64_t y = 0; y < ah; y++)
                    memcpy(xp + ((size_t)(j * B + b) * (size_t)C + (size_t)ch) * plane +
                               (size_t)(y * aw),
                           x + ((size_t)(b * C + ch) * (size_t)g->shape[2] + (size_t)(y + it->a[2])) *
                                   (size_t)W + (size_t)it->a[3],
                           sizeof(float) * (size_t)aw);
            ts[j * B + b] = t;
            const sdf_tensor *c = it->c->context;
            int64_t tc = c->shape[1], rep = T / tc;
            for (int64_t r = 0; r < rep; r++)
                memcpy(cp + ((size_t)(j * B + b) * (size_t)T + (size_t)(r * tc)) * (size_t)D,
                       c->data, sizeof(float) * (size_t)(tc * D));
        }
    }
    float *xcp = sdf_tensor_f32p(xc);
    if (!CC) {
        for (size_t q = 0; q < (size_t)N * per; q++) xcp[q] = xp[q] / scale;
    } else {
        /* _apply_model: cat([calculate_input(x), c_concat], dim=1); c_concat (CONDNoiseShape) is
         * narrowed to the item's area; the same for cond and uncond items */
        size_t perc = (size_t)(C + CC) * plane;
        for (int j = 0; j < k; j++) {
            const run_item *it = &items[idx[j]];
            for (int64_t b = 0; b < B; b++) {
                size_t r = (size_t)(j * B + b);
                for (size_t q = 0; q < per; q++) xcp[r * perc + q] = xp[r * per + q] / scale;
                for (int64_t ch = 0; ch < CC; ch++)
                    for (int64_t y = 0; y < ah; y++)
                        memcpy(xcp + r * perc + (size_t)(C + ch) * plane + (size_t)(y * aw),
                               g->concat + ((size_t)(b * CC + ch) * (size_t)g->shape[2] +
                                            (size_t)(y + it->a[2])) * (size_t)W +
                                   (size_t)it->a[3],
                               sizeof(float) * (size_t)aw);
            }
        }
    }
    st = g->apply(g->apply_ctx, xc, ts, ctx, &out, err);
    g->calls++;
    if (st != SDF_OK) goto done;
    if (!out || sdf_tensor_numel(out) != (int64_t)((size_t)N * per) || out->dtype != SDF_DTYPE_F32) {
        st = sdf_fail(err, SDF_ERR_SHAPE, "model output has the wrong shape");
        goto done;
    }
    sdf_ms_denoised(g->ms, sigma, sdf_tensor_f32p(out), xp, den, (size_t)N * per);
    for (int j = 0; j < k; j++) {
        const run_item *it = &items[idx[j]];
        float *acc = g->acc[it->list], *cnt = g->cnt[it->list];
        for (int64_t b = 0; b < B; b++)
            for (int64_t ch = 0; ch < C; ch++) {
                const float *o = den + ((size_t)(j * B + b) * (size_t)C + (size_t)ch) * plane;
                const float *m = it->mult + (size_t)(b * C + ch) * plane;
                for (int64_t y = 0; y < ah; y++) {
                    size_t off = ((size_t)(b * C + ch) * (size_t)g->shape[2] + (size_t)(y + it->a[2])) *
                                     (size_t)W + (size_t)it->a[3];
                    for (int64_t xx = 0; xx < aw; xx++) {
                        acc[off + xx] = acc[off + xx] + o[y * aw + xx] * m[y * aw + xx];
                        cnt[off + xx] = cnt[off + xx] + m[y * aw + xx];
                    }
                }
            }
    }
done:
    sdf_tensor_release(out);
    sdf_tensor_release(xin);
    sdf_tensor_release(xc);
    sdf_tensor_release(ctx);
    sdf_free(ts);
    sdf_free(den);
    return st;
}

static bool isclose_one(double v) { return fabs(v - 1.0) <= 1e-9 * fmax(1.0, fabs(v)); }

sdf_status sdf_guider_denoise(void *vg, const float *x, float sigma, float *denoised,
                              float *uncond, sdf_error *err) {
    sdf_guider *g = vg;
    bool use_uncond = !isclose_one(g->cfg) || uncond != NULL;
    int total = g->lists[0].n + (use_uncond ? g->lists[1].n : 0);
    run_item *items = sdf_calloc((size_t)(total ? total : 1), sizeof *items);
    int *order = sdf_malloc(sizeof(int) * (size_t)(total ? total : 1));
    int *batch = sdf_malloc(sizeof(int) * (size_t)(total ? total : 1));
    if (!items || !order || !batch) {
        sdf_free(items);
        sdf_free(order);
        sdf_free(batch);
        return sdf_fail(err, SDF_ERR_NOMEM, "guidance: out of memory");
    }
    sdf_status st = SDF_OK;
    int n_items = 0;
    for (int l = 0; l < (use_uncond ? 2 : 1) && st == SDF_OK; l++) {
        for (int i = 0; i < g->lists[l].n && st == SDF_OK; i++) {
            const gcond *c = &g->lists[l].c[i];
            if (c->has_range && ((double)sigma > c->sigma_start || (double)sigma < c->sigma_end))
                continue;
            st = make_item(g, c, l, sigma, &items[n_items], err);
            if (st == SDF_OK) n_items++;
        }
    }
    for (int l = 0; l < 2; l++) {
        memset(g->acc[l], 0, sizeof(float) * g->n);
        for (size_t q = 0; q < g->n; q++) g->cnt[l][q] = 1e-37f;
    }
    /* to_run: items in order; batch = every item that can concat with the first, taken in
     * reverse order (ComfyUI pops the highest index first) */
    int n_left = n_items;
    for (int i = 0; i < n_items; i++) order[i] = i;
    while (st == SDF_OK && n_left > 0) {
        const run_item *first = &items[order[0]];
        int nb = 0;
        for (int j = n_left - 1; j >= 0; j--)
            if (can_concat(&items[order[j]], first)) batch[nb++] = order[j];
        st = run_batch(g, items, batch, nb, x, sigma, err);
        int w = 0;
        for (int j = 0; j < n_left; j++) {
            bool taken = false;
            for (int q = 0; q < nb; q++) taken |= batch[q] == order[j];
            if (!taken) order[w++] = order[j];
        }
        n_left = w;
    }
    for (int i = 0; i < n_items; i++) sdf_free(items[i].mult);
    sdf_free(items);
    sdf_free(order);
    sdf_free(batch);
    if (st != SDF_OK) return st;
    const float *cp = g->acc[0], *cc = g->cnt[0], *up = g->acc[1], *uc = g->cnt[1];
    float scale = (float)g->cfg;
    for (size_t q = 0; q < g->n; q++) {
        float c = cp[q] / cc[q];
        float u = use_uncond ? up[q] / uc[q] : 0.0f;
        denoised[q] = u + (c - u) * scale;
        if (uncond) uncond[q] = u;
    }
    return SDF_OK;
}

sdf_status sdf_inpaint_denoise(void *ctx, const float *x, float sigma, float *den, float *unc,
                               sdf_error *err) {
    sdf_inpaint_wrap *w = ctx;
    if (!w->mask) return w->inner(w->inner_ctx, x, sigma, den, unc, err);
    const float *m = w->mask;
    for (size_t k = 0; k < w->n; k++) {
        float lm = 1.0f - m[k];
        float scaled = w->noise[k] * sigma;
        scaled = scaled + w->latent[k];
        float a = x[k] * m[k];
        w->tmp[k] = a + scaled * lm;
    }
    sdf_status st = w->inner(w->inner_ctx, w->tmp, sigma, den, unc, err);
    if (st != SDF_OK) return st;
    for (size_t k = 0; k < w->n; k++) {
        float lm = 1.0f - m[k];
        float a = den[k] * m[k];
        den[k] = a + w->latent[k] * lm;
    }
    return SDF_OK;
}
