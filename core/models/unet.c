/* unet.c: the SD1.x / SD2.x openaimodel UNet forward pass (spec §4.2, §10.10).
 *
 * Prepared once per sdf_model (model->impl, built under impl_mu): every weight converted to f32
 * through the weight store and resolved into layer structs. The structure comes from the config
 * (levels, res blocks per level) and from the weights present (a SpatialTransformer at ".1" of a
 * block, its depth, conv or linear proj, downsample ".0.op", upsample ".{1,2}.conv").
 * Activations are NCHW buffers allocated per layer and freed as soon as they are consumed, so the
 * peak is the weights plus the skip stack plus a few layer outputs. */
#include "unet.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../base/alloc.h"
#include "nn.h"

#define MAX_DEPTH 16
#define MAX_BLOCKS 64

typedef struct resblock {
    sdf_nn_norm   in_norm, out_norm;
    sdf_nn_conv   in_conv, out_conv, skip;
    sdf_nn_linear emb;
    bool          has_skip;
} resblock;

typedef struct tblock {
    sdf_nn_norm   ln1, ln2, ln3;
    sdf_nn_linear q1, k1, v1, o1, q2, k2, v2, o2, ff0, ff2;
} tblock;

typedef struct transformer {
    sdf_nn_norm   norm;
    bool          linear_proj;
    sdf_nn_conv   proj_in_c, proj_out_c;
    sdf_nn_linear proj_in_l, proj_out_l;
    int           depth, heads;
    int64_t       c, d;
    tblock        blk[MAX_DEPTH];
} transformer;

typedef struct ublock {
    bool        conv_only; /* input_blocks.0 */
    sdf_nn_conv conv;      /* conv_in, or downsample op (stride 2) */
    bool        is_down;
    bool        has_res, has_attn, has_up;
    resblock    res;
    transformer attn;
    sdf_nn_conv up;        /* conv after nearest resize */
} ublock;

typedef struct unet_impl {
    sdf_nn_params params;
    int64_t       mc, in_ch, out_ch, ctx_dim;
    sdf_nn_linear temb0, temb2;
    ublock        in[MAX_BLOCKS], mid, out[MAX_BLOCKS];
    resblock      mid2;
    int           n_in, n_out;
    sdf_nn_norm   out_norm;
    sdf_nn_conv   out_conv;
} unet_impl;

static void unet_impl_free(void *p) {
    unet_impl *u = p;
    if (!u) return;
    sdf_nn_params_free(&u->params);
    sdf_free(u);
}

/* ---- preparation ------------------------------------------------------------------------- */

static bool load_res(sdf_nn_params *p, resblock *r, const char *pre) {
    char b[192];
    snprintf(b, sizeof b, "%s.in_layers.0", pre);
    sdf_nn_norm_load(p, &r->in_norm, b, 1e-5f);
    snprintf(b, sizeof b, "%s.in_layers.2", pre);
    sdf_nn_conv_load(p, &r->in_conv, b);
    snprintf(b, sizeof b, "%s.emb_layers.1", pre);
    sdf_nn_linear_load(p, &r->emb, b, true);
    snprintf(b, sizeof b, "%s.out_layers.0", pre);
    sdf_nn_norm_load(p, &r->out_norm, b, 1e-5f);
    snprintf(b, sizeof b, "%s.out_layers.3", pre);
    sdf_nn_conv_load(p, &r->out_conv, b);
    r->has_skip = sdf_nn_has(p, "%s.skip_connection.weight", pre);
    if (r->has_skip) {
        snprintf(b, sizeof b, "%s.skip_connection", pre);
        sdf_nn_conv_load(p, &r->skip, b);
    }
    return p->st == SDF_OK;
}

static bool load_attn(sdf_nn_params *p, transformer *t, const char *pre, const sdf_unet_config *cfg) {
    char b[256];
    snprintf(b, sizeof b, "%s.norm", pre);
    if (!sdf_nn_norm_load(p, &t->norm, b, 1e-6f)) return false;
    t->c = t->norm.c;
    int64_t sh[SDF_MAX_DIMS];
    int nd = sdf_nn_shape(p, sh, "%s.proj_in.weight", pre);
    t->linear_proj = nd == 2;
    snprintf(b, sizeof b, "%s.proj_in", pre);
    if (t->linear_proj) sdf_nn_linear_load(p, &t->proj_in_l, b, true);
    else sdf_nn_conv_load(p, &t->proj_in_c, b);
    snprintf(b, sizeof b, "%s.proj_out", pre);
    if (t->linear_proj) sdf_nn_linear_load(p, &t->proj_out_l, b, true);
    else sdf_nn_conv_load(p, &t->proj_out_c, b);
    if (p->st != SDF_OK) return false;
    int64_t inner = t->linear_proj ? t->proj_in_l.out : t->proj_in_c.cout;
    if (cfg->num_heads > 0) {
        t->heads = cfg->num_heads;
        t->d = inner / t->heads;
    } else {
        t->d = cfg->num_head_channels > 0 ? cfg->num_head_channels : 64;
        t->heads = (int)(inner / t->d);
    }
    if (t->heads < 1 || t->d * t->heads != inner) {
        p->st = sdf_fail(p->err, SDF_ERR_SHAPE, "%s: %lld channels do not split into heads", pre,
                         (long long)inner);
        return false;
    }
    t->depth = 0;
    while (t->depth < MAX_DEPTH &&
           sdf_nn_has(p, "%s.transformer_blocks.%d.norm1.weight", pre, t->depth)) {
        tblock *k = &t->blk[t->depth];
        char q[256];
        snprintf(q, sizeof q, "%s.transformer_blocks.%d", pre, t->depth);
#define L(field, name, bias)                                     \
    do {                                                         \
        snprintf(b, sizeof b, "%s." name, q);                    \
        sdf_nn_linear_load(p, &k->field, b, bias);               \
    } while (0)
#define N(field, name)                                           \
    do {                                                         \
        snprintf(b, sizeof b, "%s." name, q);                    \
        sdf_nn_norm_load(p, &k->field, b, 1e-5f);                \
    } while (0)
        N(ln1, "norm1");
        N(ln2, "norm2");
        N(ln3, "norm3");
        L(q1, "attn1.to_q", false);
        L(k1, "attn1.to_k", false);
        L(v1, "attn1.to_v", false);
        L(o1, "attn1.to_out.0", true);
        L(q2, "attn2.to_q", false);
        L(k2, "attn2.to_k", false);
        L(v2, "attn2.to_v", false);
        L(o2, "attn2.to_out.0", true);
        L(ff0, "ff.net.0.proj", true);
        L(ff2, "ff.net.2", true);
#undef L
#undef N
        if (p->st != SDF_OK) return false;
        t->depth++;
    }
    return p->st == SDF_OK;
}

static unet_impl *prepare(sdf_model *m, sdf_error *err) {
    const sdf_unet_config *cfg = &m->unet;
    unet_impl *u = sdf_calloc(1, sizeof *u);
    if (!u) {
        sdf_fail(err, SDF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    sdf_nn_params *p = &u->params;
    sdf_nn_params_init(p, m->weights, err);
    sdf_nn_linear_load(p, &u->temb0, "time_embed.0", true);
    sdf_nn_linear_load(p, &u->temb2, "time_embed.2", true);
    u->mc = u->temb0.in;
    if (cfg->n_levels < 1 || cfg->n_levels > SDF_UNET_MAX_LEVELS) {
        sdf_fail(err, SDF_ERR_INVALID, "UNet config: %d levels", cfg->n_levels);
        goto fail;
    }
    char b[128];
    int idx = 0;
    /* input blocks */
    ublock *ib = &u->in[idx++];
    ib->conv_only = true;
    sdf_nn_conv_load(p, &ib->conv, "input_blocks.0.0");
    u->in_ch = ib->conv.cin;
    for (int l = 0; l < cfg->n_levels && p->st == SDF_OK; l++) {
        for (int r = 0; r < cfg->num_res_blocks[l]; r++) {
            if (idx >= MAX_BLOCKS) goto toomany;
            ib = &u->in[idx];
            ib->has_res = true;
            snprintf(b, sizeof b, "input_blocks.%d.0", idx);
            load_res(p, &ib->res, b);
            if (sdf_nn_has(p, "input_blocks.%d.1.norm.weight", idx)) {
                ib->has_attn = true;
                snprintf(b, sizeof b, "input_blocks.%d.1", idx);
                load_attn(p, &ib->attn, b, cfg);
            }
            idx++;
        }
        if (l < cfg->n_levels - 1) {
            if (idx >= MAX_BLOCKS) goto toomany;
            ib = &u->in[idx];
            ib->is_down = true;
            snprintf(b, sizeof b, "input_blocks.%d.0.op", idx);
            sdf_nn_conv_load(p, &ib->conv, b);
            ib->conv.stride = 2;
            idx++;
        }
    }
    u->n_in = idx;
    /* middle */
    u->mid.has_res = true;
    load_res(p, &u->mid.res, "middle_block.0");
    if (sdf_nn_has(p, "middle_block.1.norm.weight")) {
        u->mid.has_attn = true;
        load_attn(p, &u->mid.attn, "middle_block.1", cfg);
    }
    load_res(p, &u->mid2, u->mid.has_attn ? "middle_block.2" : "middle_block.1");
    /* output blocks */
    idx = 0;
    for (int l = cfg->n_levels - 1; l >= 0 && p->st == SDF_OK; l--)
        for (int r = 0; r <= cfg->num_res_blocks[l]; r++) {
            if (idx >= MAX_BLOCKS) goto toomany;
            ublock *ob = &u->out[idx];
            ob->has_res = true;
            snprintf(b, sizeof b, "output_blocks.%d.0", idx);
            load_res(p, &ob->res, b);
            if (sdf_nn_has(p, "output_blocks.%d.1.norm.weight", idx)) {
                ob->has_attn = true;
                snprintf(b, sizeof b, "output_blocks.%d.1", idx);
                load_attn(p, &ob->attn, b, cfg);
            }
            int ui = ob->has_attn ? 2 : 1;
            if (l > 0 && r == cfg->num_res_blocks[l]) {
                ob->has_up = true;
                snprintf(b, sizeof b, "output_blocks.%d.%d.conv", idx, ui);
                sdf_nn_conv_load(p, &ob->up, b);
            }
            idx++;
        }
    u->n_out = idx;
    sdf_nn_norm_load(p, &u->out_norm, "out.0", 1e-5f);
    sdf_nn_conv_load(p, &u->out_conv, "out.2");
    u->out_ch = u->out_conv.cout;
    if (p->st != SDF_OK) goto fail;
    if (u->n_out != u->n_in) {
        sdf_fail(err, SDF_ERR_INVALID, "UNet has %d input blocks but %d output blocks", u->n_in,
                 u->n_out);
        goto fail;
    }
    return u;
toomany:
    sdf_fail(err, SDF_ERR_INVALID, "UNet config has too many blocks");
fail:
    unet_impl_free(u);
    return NULL;
}

static unet_impl *get_impl(sdf_model *m, sdf_error *err) {
    pthread_mutex_lock(&m->impl_mu);
    if (!m->impl) {
        m->impl = prepare(m, err);
        if (m->impl) m->impl_free = unet_impl_free;
    }
    unet_impl *u = m->impl;
    pthread_mutex_unlock(&m->impl_mu);
    return u;
}

/* ---- forward ----------------------------------------------------------------------------- */

typedef struct fwd {
    sdf_pool    *pool;
    int64_t      B;
    const float *emb_silu; /* [B, 4mc] = SiLU(time_embed(t)) */
    int64_t      emb_dim;
    const float *ctx;      /* [B, T, ctx_dim] */
    int64_t      T;
} fwd;

/* Returns NEW [B, cout, h, w] or NULL (OOM). */
static float *res_fwd(const fwd *f, const resblock *r, const float *x, int64_t h, int64_t w) {
    int64_t hw = h * w, oh, ow, B = f->B;
    float *t = sdf_nn_alloc(B * r->in_norm.c * hw);
    if (!t) return NULL;
    sdf_nn_gn(f->pool, &r->in_norm, t, x, B, hw, true);
    float *h1 = sdf_nn_conv_fwd(f->pool, &r->in_conv, t, B, h, w, &oh, &ow);
    sdf_free(t);
    if (!h1) return NULL;
    float *e = sdf_nn_linear_fwd(f->pool, &r->emb, f->emb_silu, B);
    if (!e) goto oom1;
    for (int64_t b = 0; b < B; b++)
        sdf_k_add_channel(f->pool, h1 + b * r->in_conv.cout * hw, e + b * r->emb.out, 1,
                          r->emb.out, hw);
    sdf_free(e);
    sdf_nn_gn(f->pool, &r->out_norm, h1, h1, B, hw, true);
    float *h2 = sdf_nn_conv_fwd(f->pool, &r->out_conv, h1, B, h, w, &oh, &ow);
    sdf_free(h1);
    if (!h2) return NULL;
    int64_t n = B * r->out_conv.cout * hw;
    if (r->has_skip) {
        float *s = sdf_nn_conv_fwd(f->pool, &r->skip, x, B, h, w, &oh, &ow);
        if (!s) {
            sdf_free(h2);
            return NULL;
        }
        sdf_k_axpby(f->pool, h2, s, 1.0f, h2, 1.0f, n);
        sdf_free(s);
    } else {
        sdf_k_axpby(f->pool, h2, x, 1.0f, h2, 1.0f, n);
    }
    return h2;
oom1:
    sdf_free(h1);
    return NULL;
}

/* tokens[B*N, C] += attention(...) projected; q from xn [B*N, C], k/v from kv [B*M, kvdim]. */
static bool attn_fwd(const fwd *f, const transformer *t, const sdf_nn_linear *q,
                     const sdf_nn_linear *k, const sdf_nn_linear *v, const sdf_nn_linear *o,
                     float *tokens, const float *xn, int64_t N, const float *kv, int64_t M) {
    int64_t B = f->B, C = q->out;
    float *qb = sdf_nn_linear_fwd(f->pool, q, xn, B * N);
    float *kb = sdf_nn_linear_fwd(f->pool, k, kv, B * M);
    float *vb = sdf_nn_linear_fwd(f->pool, v, kv, B * M);
    float *ab = sdf_nn_alloc(B * N * C);
    bool ok = qb && kb && vb && ab;
    if (ok) {
        sdf_attn_shape s = {B, N, M, t->heads, t->d, C, C, C, C, 1.0f / sqrtf((float)t->d)};
        sdf_k_attention(f->pool, ab, qb, kb, vb, &s);
        sdf_free(qb);
        qb = sdf_nn_linear_fwd(f->pool, o, ab, B * N);
        ok = qb != NULL;
        if (ok) sdf_k_axpby(f->pool, tokens, tokens, 1.0f, qb, 1.0f, B * N * o->out);
    }
    sdf_free(qb);
    sdf_free(kb);
    sdf_free(vb);
    sdf_free(ab);
    return ok;
}

/* x [B, C, h, w] -> NEW [B, C, h, w] (includes the residual). */
static float *attn_block_fwd(const fwd *f, const transformer *t, const float *x, int64_t h,
                             int64_t w) {
    int64_t B = f->B, C = t->c, N = h * w, oh, ow;
    float *tok = NULL, *xn = NULL, *ff = NULL, *g = NULL, *out = NULL;
    float *n = sdf_nn_alloc(B * C * N);
    if (!n) return NULL;
    sdf_nn_gn(f->pool, &t->norm, n, x, B, N, false);
    int64_t inner;
    if (!t->linear_proj) {
        float *p = sdf_nn_conv_fwd(f->pool, &t->proj_in_c, n, B, h, w, &oh, &ow);
        if (!p) goto done;
        inner = t->proj_in_c.cout;
        sdf_k_transpose(f->pool, n, p, B, inner, N); /* reuse n as [B, N, inner] (inner == C) */
        sdf_free(p);
        tok = n;
        n = NULL;
    } else {
        float *tr = sdf_nn_alloc(B * C * N);
        if (!tr) goto done;
        sdf_k_transpose(f->pool, tr, n, B, C, N);
        tok = sdf_nn_linear_fwd(f->pool, &t->proj_in_l, tr, B * N);
        sdf_free(tr);
        if (!tok) goto done;
        inner = t->proj_in_l.out;
    }
    xn = sdf_nn_alloc(B * N * inner);
    if (!xn) goto done;
    for (int d = 0; d < t->depth; d++) {
        const tblock *k = &t->blk[d];
        sdf_k_layernorm(f->pool, xn, tok, k->ln1.g, k->ln1.b, B * N, inner, k->ln1.eps);
        if (!attn_fwd(f, t, &k->q1, &k->k1, &k->v1, &k->o1, tok, xn, N, xn, N)) goto done;
        sdf_k_layernorm(f->pool, xn, tok, k->ln2.g, k->ln2.b, B * N, inner, k->ln2.eps);
        if (!attn_fwd(f, t, &k->q2, &k->k2, &k->v2, &k->o2, tok, xn, N, f->ctx, f->T)) goto done;
        sdf_k_layernorm(f->pool, xn, tok, k->ln3.g, k->ln3.b, B * N, inner, k->ln3.eps);
        ff = sdf_nn_linear_fwd(f->pool, &k->ff0, xn, B * N);
        if (!ff) goto done;
        int64_t fd = k->ff0.out / 2;
        g = sdf_nn_alloc(B * N * fd);
        if (!g) goto done;
        sdf_k_geglu(f->pool, g, ff, B * N, fd);
        sdf_free(ff);
        ff = sdf_nn_linear_fwd(f->pool, &k->ff2, g, B * N);
        sdf_free(g);
        g = NULL;
        if (!ff) goto done;
        sdf_k_axpby(f->pool, tok, tok, 1.0f, ff, 1.0f, B * N * inner);
        sdf_free(ff);
        ff = NULL;
    }
    sdf_free(xn);
    xn = NULL;
    if (!t->linear_proj) {
        float *tr = sdf_nn_alloc(B * C * N);
        if (!tr) goto done;
        sdf_k_transpose(f->pool, tr, tok, B, N, inner);
        out = sdf_nn_conv_fwd(f->pool, &t->proj_out_c, tr, B, h, w, &oh, &ow);
        sdf_free(tr);
    } else {
        float *p = sdf_nn_linear_fwd(f->pool, &t->proj_out_l, tok, B * N);
        if (!p) goto done;
        out = sdf_nn_alloc(B * C * N);
        if (out) sdf_k_transpose(f->pool, out, p, B, N, C);
        sdf_free(p);
    }
    if (out) sdf_k_axpby(f->pool, out, out, 1.0f, x, 1.0f, B * C * N);
done:
    sdf_free(n);
    sdf_free(tok);
    sdf_free(xn);
    sdf_free(ff);
    sdf_free(g);
    return out;
}

typedef struct skip {
    float  *p;
    int64_t c, h, w;
} skip;

/* Runs res (+ attn) of a block on x (borrowed), returns NEW output or NULL. */
static float *block_body(const fwd *f, const ublock *bk, const float *x, int64_t h, int64_t w,
                         int64_t *c_out) {
    float *y = res_fwd(f, &bk->res, x, h, w);
    if (!y) return NULL;
    *c_out = bk->res.out_conv.cout;
    if (bk->has_attn) {
        float *z = attn_block_fwd(f, &bk->attn, y, h, w);
        sdf_free(y);
        y = z;
    }
    return y;
}

sdf_status sdf_unet_forward(sdf_model *m, const sdf_tensor *x, const float *timesteps,
                            const sdf_tensor *context, sdf_pool *pool, sdf_tensor **out,
                            sdf_error *err) {
    if (out) *out = NULL;
    if (!m || !x || !timesteps || !context || !out)
        return sdf_fail(err, SDF_ERR_INVALID, "UNet forward: missing argument");
    unet_impl *u = get_impl(m, err);
    if (!u) return err && err->code != SDF_OK ? err->code : SDF_ERR_INTERNAL;
    char shp[96];
    if (x->dtype != SDF_DTYPE_F32 || x->ndim != 4 || x->shape[1] != u->in_ch) {
        sdf_tensor_shape_str(x, shp, sizeof shp);
        return sdf_fail(err, SDF_ERR_SHAPE, "UNet input x has shape %s, expected [B,%lld,h,w] f32",
                        shp, (long long)u->in_ch);
    }
    int64_t B = x->shape[0], H = x->shape[2], W = x->shape[3];
    int64_t ctx_dim = u->mid.has_attn ? u->mid.attn.blk[0].k2.in : -1;
    if (context->dtype != SDF_DTYPE_F32 || context->ndim != 3 || context->shape[0] != B ||
        (ctx_dim > 0 && context->shape[2] != ctx_dim) || context->shape[1] < 1) {
        sdf_tensor_shape_str(context, shp, sizeof shp);
        return sdf_fail(err, SDF_ERR_SHAPE, "UNet context has shape %s, expected [%lld,T,%lld]",
                        shp, (long long)B, (long long)ctx_dim);
    }
    if (B < 1 || H < 1 || W < 1) return sdf_fail(err, SDF_ERR_SHAPE, "UNet input is empty");
    sdf_k_ftz();
    sdf_blas_setup();
    fwd f = {.pool = pool, .B = B, .ctx = sdf_tensor_f32p(context), .T = context->shape[1]};
    sdf_status st = SDF_ERR_NOMEM;
    skip stack[MAX_BLOCKS];
    int sp = 0;
    float *h = NULL, *tfreq = NULL, *e0 = NULL, *emb = NULL;

    /* time embedding; every ResBlock uses SiLU(emb) */
    tfreq = sdf_nn_alloc(B * u->mc);
    if (!tfreq) goto out;
    sdf_k_timestep_embedding_ref(tfreq, timesteps, B, u->mc);
    e0 = sdf_nn_linear_fwd(pool, &u->temb0, tfreq, B);
    if (!e0) goto out;
    sdf_k_act(pool, e0, e0, B * u->temb0.out, SDF_ACT_SILU);
    emb = sdf_nn_linear_fwd(pool, &u->temb2, e0, B);
    if (!emb) goto out;
    sdf_k_act(pool, emb, emb, B * u->temb2.out, SDF_ACT_SILU);
    f.emb_silu = emb;
    f.emb_dim = u->temb2.out;

    /* input blocks: every output is pushed as a skip */
    int64_t c = u->in_ch, hh = H, ww = W, oh, ow;
    for (int i = 0; i < u->n_in; i++) {
        const ublock *bk = &u->in[i];
        const float *src = i == 0 ? sdf_tensor_f32p(x) : stack[sp - 1].p;
        if (bk->conv_only || bk->is_down) {
            h = sdf_nn_conv_fwd(pool, &bk->conv, src, B, hh, ww, &oh, &ow);
            if (!h) goto out;
            c = bk->conv.cout;
            hh = oh;
            ww = ow;
        } else {
            h = block_body(&f, bk, src, hh, ww, &c); /* src stays on the stack as a skip */
            if (!h) goto out;
        }
        stack[sp++] = (skip){h, c, hh, ww};
        h = NULL;
    }
    /* middle: ResBlock, SpatialTransformer, ResBlock */
    h = block_body(&f, &u->mid, stack[sp - 1].p, hh, ww, &c);
    if (!h) goto out;
    {
        float *y = res_fwd(&f, &u->mid2, h, hh, ww);
        sdf_free(h);
        h = y;
        if (!h) goto out;
        c = u->mid2.out_conv.cout;
    }
    /* output blocks: concat([h, skip]) -> ResBlock (+ transformer) (+ upsample) */
    for (int i = 0; i < u->n_out; i++) {
        const ublock *bk = &u->out[i];
        skip s = stack[--sp];
        if (s.h != hh || s.w != ww) {
            sdf_free(s.p);
            st = sdf_fail(err, SDF_ERR_INTERNAL, "UNet skip size mismatch");
            goto out;
        }
        float *cat = sdf_nn_alloc(B * (c + s.c) * hh * ww);
        if (!cat) {
            sdf_free(s.p);
            goto out;
        }
        sdf_k_concat(pool, cat, h, c, s.p, s.c, B, hh * ww);
        sdf_free(h);
        sdf_free(s.p);
        h = block_body(&f, bk, cat, hh, ww, &c);
        sdf_free(cat);
        if (!h) goto out;
        if (bk->has_up) {
            /* nearest resize to the size of the skip the next block pops (x2 for even sizes) */
            int64_t th = sp > 0 ? stack[sp - 1].h : hh * 2, tw = sp > 0 ? stack[sp - 1].w : ww * 2;
            float *r = sdf_nn_alloc(B * c * th * tw);
            if (!r) goto out;
            sdf_k_upsample_nearest(pool, r, h, B * c, hh, ww, th, tw);
            sdf_free(h);
            h = sdf_nn_conv_fwd(pool, &bk->up, r, B, th, tw, &oh, &ow);
            sdf_free(r);
            if (!h) goto out;
            c = bk->up.cout;
            hh = th;
            ww = tw;
        }
    }
    /* out: GN -> SiLU -> conv3x3 */
    sdf_nn_gn(pool, &u->out_norm, h, h, B, hh * ww, true);
    {
        float *y = sdf_nn_conv_fwd(pool, &u->out_conv, h, B, hh, ww, &oh, &ow);
        if (!y) goto out;
        int64_t shape[4] = {B, u->out_ch, hh, ww};
        sdf_tensor *t = sdf_tensor_wrap(SDF_DTYPE_F32, 4, shape, y, y, sdf_free, err);
        if (!t) {
            sdf_free(y);
            st = err && err->code != SDF_OK ? err->code : SDF_ERR_NOMEM;
            goto out;
        }
        *out = t;
    }
    st = SDF_OK;
out:
    if (st == SDF_ERR_NOMEM) sdf_fail(err, SDF_ERR_NOMEM, "out of memory in the UNet forward");
    sdf_free(tfreq);
    sdf_free(e0);
    sdf_free(emb);
    sdf_free(h);
    for (int i = 0; i < sp; i++) sdf_free(stack[i].p);
    return st;
}

/* ---- analytic op list (model_ops.h) ------------------------------------------------------ */

#include "model_ops.h"

typedef struct walker {
    sdf_model_op_fn fn;
    void           *ctx;
    int64_t         B, T;
} walker;

static void w_conv(const walker *k, const sdf_nn_conv *c, int64_t n, int64_t h, int64_t w,
                   int64_t *oh, int64_t *ow) {
    sdf_model_op op = {.kind = SDF_OP_CONV, .w = sdf_model_op_weight(&c->w), .b = c->b};
    op.conv = (sdf_conv_shape){n, c->cin, h, w, c->cout, c->k, c->k, c->stride,
                               c->pad_t, c->pad_l, c->pad_b, c->pad_r};
    *oh = sdf_conv_out_h(&op.conv);
    *ow = sdf_conv_out_w(&op.conv);
    op.flops = 2.0 * (double)(n * c->cout * c->cin * c->k * c->k) * (double)(*oh * *ow);
    k->fn(k->ctx, &op);
}

static void w_lin(const walker *k, const sdf_nn_linear *l, int64_t rows) {
    sdf_model_op op = {.kind = SDF_OP_LINEAR, .rows = rows, .in = l->in, .out = l->out,
                       .w = sdf_model_op_weight(&l->w), .b = l->b};
    op.flops = 2.0 * (double)rows * (double)(l->in * l->out);
    k->fn(k->ctx, &op);
}

static void w_attn(const walker *k, int64_t heads, int64_t d, int64_t nq, int64_t nk) {
    sdf_model_op op = {.kind = SDF_OP_ATTN};
    int64_t c = heads * d;
    op.attn = (sdf_attn_shape){k->B, nq, nk, heads, d, c, c, c, c, 1.0f / sqrtf((float)d)};
    op.flops = 4.0 * (double)(k->B * heads) * (double)nq * (double)nk * (double)d;
    k->fn(k->ctx, &op);
}

static void w_res(const walker *k, const resblock *r, int64_t h, int64_t w) {
    int64_t oh, ow;
    w_conv(k, &r->in_conv, k->B, h, w, &oh, &ow);
    w_lin(k, &r->emb, k->B);
    w_conv(k, &r->out_conv, k->B, h, w, &oh, &ow);
    if (r->has_skip) w_conv(k, &r->skip, k->B, h, w, &oh, &ow);
}

static void w_tr(const walker *k, const transformer *t, int64_t h, int64_t w) {
    int64_t N = h * w, oh, ow, R = k->B * N;
    if (t->linear_proj) w_lin(k, &t->proj_in_l, R);
    else w_conv(k, &t->proj_in_c, k->B, h, w, &oh, &ow);
    for (int d = 0; d < t->depth; d++) {
        const tblock *b = &t->blk[d];
        w_lin(k, &b->q1, R);
        w_lin(k, &b->k1, R);
        w_lin(k, &b->v1, R);
        w_attn(k, t->heads, t->d, N, N);
        w_lin(k, &b->o1, R);
        w_lin(k, &b->q2, R);
        w_lin(k, &b->k2, k->B * k->T);
        w_lin(k, &b->v2, k->B * k->T);
        w_attn(k, t->heads, t->d, N, k->T);
        w_lin(k, &b->o2, R);
        w_lin(k, &b->ff0, R);
        w_lin(k, &b->ff2, R);
    }
    if (t->linear_proj) w_lin(k, &t->proj_out_l, R);
    else w_conv(k, &t->proj_out_c, k->B, h, w, &oh, &ow);
}

sdf_status sdf_unet_walk(sdf_model *m, int64_t B, int64_t H, int64_t W, int64_t T,
                         sdf_model_op_fn fn, void *ctx, sdf_error *err) {
    unet_impl *u = get_impl(m, err);
    if (!u) return err && err->code != SDF_OK ? err->code : SDF_ERR_INTERNAL;
    walker k = {fn, ctx, B, T};
    w_lin(&k, &u->temb0, B);
    w_lin(&k, &u->temb2, B);
    int64_t hs[MAX_BLOCKS], ws[MAX_BLOCKS], hh = H, ww = W, oh, ow;
    int sp = 0;
    for (int i = 0; i < u->n_in; i++) {
        const ublock *bk = &u->in[i];
        if (bk->conv_only || bk->is_down) {
            w_conv(&k, &bk->conv, B, hh, ww, &oh, &ow);
            hh = oh;
            ww = ow;
        } else {
            w_res(&k, &bk->res, hh, ww);
            if (bk->has_attn) w_tr(&k, &bk->attn, hh, ww);
        }
        hs[sp] = hh;
        ws[sp++] = ww;
    }
    w_res(&k, &u->mid.res, hh, ww);
    if (u->mid.has_attn) w_tr(&k, &u->mid.attn, hh, ww);
    w_res(&k, &u->mid2, hh, ww);
    for (int i = 0; i < u->n_out; i++) {
        const ublock *bk = &u->out[i];
        sp--;
        w_res(&k, &bk->res, hh, ww);
        if (bk->has_attn) w_tr(&k, &bk->attn, hh, ww);
        if (bk->has_up) {
            hh = sp > 0 ? hs[sp - 1] : hh * 2;
            ww = sp > 0 ? ws[sp - 1] : ww * 2;
            w_conv(&k, &bk->up, B, hh, ww, &oh, &ow);
        }
    }
    w_conv(&k, &u->out_conv, B, hh, ww, &oh, &ow);
    return SDF_OK;
}
