/* clip.c: CLIP text encoder forward pass and ComfyUI's weighted encoding. */
#include "clip.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/alloc.h"
#include "../kernels/kernels.h"
#include "checkpoint.h"
#include "embedding.h"
#include "nn.h"

/* ---- configurations ---- */

void sdf_clip_config_sd1(sdf_clip_config *c) {
    *c = (sdf_clip_config){.width = 768,
                           .layers = 12,
                           .heads = 12,
                           .mlp = 3072,
                           .vocab = 49408,
                           .positions = 77,
                           .quick_gelu = true,
                           .start_token = SDF_CLIP_BOS,
                           .end_token = SDF_CLIP_EOS,
                           .pad_token = SDF_CLIP_EOS,
                           .default_layer_idx = 0,
                           .has_projection = false};
}

void sdf_clip_config_sd2(sdf_clip_config *c) {
    *c = (sdf_clip_config){.width = 1024,
                           .layers = 24,
                           .heads = 16,
                           .mlp = 4096,
                           .vocab = 49408,
                           .positions = 77,
                           .quick_gelu = false,
                           .start_token = SDF_CLIP_BOS,
                           .end_token = SDF_CLIP_EOS,
                           .pad_token = 0,
                           .default_layer_idx = -2,
                           .has_projection = true};
}

/* ---- tokenizer (shared between clones) ---- */

static void tokenizer_free_cb(void *t) {
    sdf_tokenizer_free(t);
}

static void install_tokenizer_locked(sdf_clip *clip, sdf_tokenizer *t) {
    atomic_int *refs = sdf_malloc(sizeof *refs);
    if (!refs) { /* the caller sees clip->tokenizer still NULL and reports out-of-memory */
        sdf_tokenizer_free(t);
        return;
    }
    atomic_init(refs, 1);
    /* sdf_clip_clone reads these without the lock: publish the pointer it tests last */
    clip->tokenizer_refs = refs;
    clip->tokenizer_free = tokenizer_free_cb;
    atomic_thread_fence(memory_order_release);
    clip->tokenizer = t;
}

void sdf_clip_set_tokenizer(sdf_clip *clip, sdf_tokenizer *t) {
    pthread_mutex_lock(&clip->impl_mu);
    if (clip->tokenizer)
        sdf_tokenizer_free(t);
    else
        install_tokenizer_locked(clip, t);
    pthread_mutex_unlock(&clip->impl_mu);
}

static bool has_vocab(const char *dir) {
    char        p[4200];
    struct stat sb;
    snprintf(p, sizeof p, "%s/vocab.json", dir);
    if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode))
        return false;
    snprintf(p, sizeof p, "%s/merges.txt", dir);
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

sdf_status sdf_clip_tokenizer(sdf_clip *clip, const sdf_paths *paths, sdf_tokenizer **out,
                              sdf_error *err) {
    *out = NULL;
    pthread_mutex_lock(&clip->impl_mu);
    if (clip->tokenizer) {
        *out = clip->tokenizer;
        pthread_mutex_unlock(&clip->impl_mu);
        return SDF_OK;
    }
    /* a self-contained checkpoint's own vocabulary (checkpoint.h: U8 tensors in the store) */
    if (sdf_wstore_has(clip->weights, SDF_CLIP_META_VOCAB) &&
        sdf_wstore_has(clip->weights, SDF_CLIP_META_MERGES)) {
        sdf_tensor    *v = sdf_wstore_get(clip->weights, SDF_CLIP_META_VOCAB, err);
        sdf_tensor    *m = v ? sdf_wstore_get(clip->weights, SDF_CLIP_META_MERGES, err) : NULL;
        sdf_status     st = v && m ? SDF_OK : (err && err->code ? err->code : SDF_ERR_NOT_FOUND);
        sdf_tokenizer *t = NULL;
        if (st == SDF_OK)
            st = sdf_tokenizer_load_strings(v->data, v->nbytes, m->data, m->nbytes,
                                            "the checkpoint's embedded CLIP vocabulary", &t, err);
        sdf_tensor_release(v);
        sdf_tensor_release(m);
        if (st == SDF_OK) {
            install_tokenizer_locked(clip, t);
            if (!clip->tokenizer)
                st = sdf_fail(err, SDF_ERR_NOMEM, "tokenizer");
        }
        *out = clip->tokenizer;
        pthread_mutex_unlock(&clip->impl_mu);
        return st;
    }
    const char *cands[SDF_MAX_MODEL_DIRS + 2];
    char        buf[SDF_MAX_MODEL_DIRS][1100];
    int         nc = 0;
    if (clip->vocab_dir[0])
        cands[nc++] = clip->vocab_dir;
    if (paths && paths->clip_vocab_dir && paths->clip_vocab_dir[0])
        cands[nc++] = paths->clip_vocab_dir;
    for (int i = 0; paths && i < paths->n_models_dirs && i < SDF_MAX_MODEL_DIRS; i++) {
        snprintf(buf[i], sizeof buf[i], "%s/%s", paths->models_dirs[i],
                 sdf_file_kind_folder(SDF_FILE_CLIP_VOCAB));
        cands[nc++] = buf[i];
    }
    sdf_status st = SDF_ERR_NOT_FOUND;
    for (int i = 0; i < nc; i++) {
        if (!has_vocab(cands[i]))
            continue;
        sdf_tokenizer *t = NULL;
        st = sdf_tokenizer_load_dir(cands[i], &t, err);
        if (st == SDF_OK) {
            install_tokenizer_locked(clip, t);
            if (!clip->tokenizer)
                st = sdf_fail(err, SDF_ERR_NOMEM, "tokenizer");
        }
        break;
    }
    if (st == SDF_ERR_NOT_FOUND) {
        char   where[3000] = "";
        size_t k = 0;
        for (int i = 0; i < nc && k < sizeof where - 8; i++)
            k += (size_t)snprintf(where + k, sizeof where - k, "%s%s", i ? ", " : "", cands[i]);
        if (nc == 0)
            snprintf(where, sizeof where, "(no models directory configured)");
        sdf_fail(err, SDF_ERR_NOT_FOUND,
                 "CLIP vocabulary (vocab.json + merges.txt) not found; looked in: %s. Put the two "
                 "files of the CLIP tokenizer in models/clip_vocab/ or pass --clip-vocab DIR",
                 where);
    }
    *out = st == SDF_OK ? clip->tokenizer : NULL;
    pthread_mutex_unlock(&clip->impl_mu);
    return st;
}

/* ---- prepared weights ---- */

/* Matrices stored as f16/bf16 stay so and are converted at each use (nn.h), as in the UNet. */
typedef struct clip_layer {
    const float  *ln1_w, *ln1_b, *q_b, *k_b, *v_b, *o_b, *ln2_w, *ln2_b, *fc1_b, *fc2_b;
    sdf_nn_weight q_w, k_w, v_w, o_w, fc1_w, fc2_w;
} clip_layer;

typedef struct clip_impl {
    int         n_layers;
    clip_layer *layers;
    /* token embeddings stay in their stored dtype (a view of the file): only the rows a prompt
     * uses are converted, saving vocab x width f32 (150 MB for CLIP-L) */
    const sdf_tensor *tok_emb;
    const float      *pos_emb, *lnf_w, *lnf_b, *proj;
    sdf_tensor      **held; /* references keeping the weight data alive */
    int               n_held;
    sdf_nn_scratch    scratch; /* per-use conversion of half-precision matrices */
} clip_impl;

static void impl_free(void *p) {
    clip_impl *im = p;
    if (!im)
        return;
    for (int i = 0; i < im->n_held; i++)
        sdf_tensor_release(im->held[i]);
    sdf_free(im->held);
    sdf_free(im->scratch.buf);
    pthread_mutex_destroy(&im->scratch.mu);
    sdf_free(im->layers);
    sdf_free(im);
}

static const float *want(clip_impl *im, sdf_wstore *w, const char *name, int64_t d0, int64_t d1,
                         sdf_error *err) {
    sdf_tensor *t = sdf_wstore_get_f32(w, name, err);
    if (!t)
        return NULL;
    im->held[im->n_held++] = t;
    bool ok = d1 < 0 ? (sdf_tensor_numel(t) == d0 && (t->ndim == 1 || t->ndim == 2))
                     : (t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d1);
    if (!ok) {
        char got[96];
        sdf_tensor_shape_str(t, got, sizeof got);
        if (d1 < 0)
            sdf_fail(err, SDF_ERR_SHAPE, "CLIP weight %s has shape %s, expected [%lld]", name, got,
                     (long long)d0);
        else
            sdf_fail(err, SDF_ERR_SHAPE, "CLIP weight %s has shape %s, expected [%lld, %lld]", name,
                     got, (long long)d0, (long long)d1);
        return NULL;
    }
    return sdf_tensor_f32p(t);
}

/* The weight in its stored dtype (float types only), shape [d0, d1]. */
static const sdf_tensor *want_stored(clip_impl *im, sdf_wstore *w, const char *name, int64_t d0,
                                     int64_t d1, sdf_error *err) {
    sdf_tensor *t = sdf_wstore_get(w, name, err);
    if (!t)
        return NULL;
    im->held[im->n_held++] = t;
    bool fl = t->dtype == SDF_DTYPE_F32 || t->dtype == SDF_DTYPE_F16 ||
              t->dtype == SDF_DTYPE_BF16 || t->dtype == SDF_DTYPE_F64 ||
              t->dtype == SDF_DTYPE_F8_E4M3 || t->dtype == SDF_DTYPE_F8_E5M2;
    if (!fl || t->ndim != 2 || t->shape[0] != d0 || t->shape[1] != d1) {
        char got[96];
        sdf_tensor_shape_str(t, got, sizeof got);
        sdf_fail(err, SDF_ERR_SHAPE, "CLIP weight %s is %s %s, expected a float [%lld, %lld]", name,
                 sdf_dtype_name(t->dtype), got, (long long)d0, (long long)d1);
        return NULL;
    }
    return t;
}

/* row `id` of the token embedding as f32 */
static void tok_row(const clip_impl *im, int32_t id, int D, float *dst) {
    const sdf_tensor *t = im->tok_emb;
    size_t            es = sdf_dtype_size(t->dtype);
    sdf_convert_to_f32(t->dtype, (const char *)t->data + (size_t)id * D * es, dst, (size_t)D);
}

/* A [d0, d1] matrix: its stored f16/bf16 data (converted at each use) or f32. */
static bool want_matrix(clip_impl *im, sdf_wstore *w, const char *name, int64_t d0, int64_t d1,
                        sdf_nn_weight *out, sdf_error *err) {
    sdf_wstore_info info;
    *out = (sdf_nn_weight){.scratch = &im->scratch, .dtype = SDF_DTYPE_F32, .numel = d0 * d1};
    if (sdf_wstore_info_of(w, name, &info) &&
        (info.dtype == SDF_DTYPE_F16 || info.dtype == SDF_DTYPE_BF16)) {
        const sdf_tensor *t = want_stored(im, w, name, d0, d1, err);
        if (!t)
            return false;
        out->half = t->data;
        out->dtype = t->dtype;
        return true;
    }
    return (out->f32 = want(im, w, name, d0, d1, err)) != NULL;
}

static bool linear(sdf_pool *pool, float *y, const float *x, const sdf_nn_weight *w,
                   const float *b, int rows, int in, int out) {
    sdf_nn_weight_use u;
    const float      *wf = sdf_nn_weight_begin(pool, w, &u);
    if (wf)
        sdf_k_linear(pool, y, x, wf, b, rows, in, out);
    sdf_nn_weight_end(&u);
    return wf != NULL;
}

static sdf_status prepare(sdf_clip *clip, clip_impl **out, sdf_error *err) {
    pthread_mutex_lock(&clip->impl_mu);
    if (clip->impl) {
        *out = clip->impl;
        pthread_mutex_unlock(&clip->impl_mu);
        return SDF_OK;
    }
    const sdf_clip_config *c = &clip->cfg;
    sdf_status             st = SDF_OK;
    if (c->width <= 0 || c->layers <= 0 || c->heads <= 0 || c->width % c->heads || c->mlp <= 0 ||
        c->vocab <= 0 || c->positions < 3) {
        st = sdf_fail(err, SDF_ERR_INVALID,
                      "CLIP configuration is invalid (width %d, layers %d, heads %d, mlp %d)",
                      c->width, c->layers, c->heads, c->mlp);
        pthread_mutex_unlock(&clip->impl_mu);
        return st;
    }
    clip_impl *im = sdf_calloc(1, sizeof *im);
    if (im) {
        im->layers = sdf_calloc((size_t)c->layers, sizeof *im->layers);
        im->held = sdf_calloc((size_t)c->layers * 16 + 8, sizeof *im->held);
    }
    if (!im || !im->layers || !im->held) {
        impl_free(im);
        pthread_mutex_unlock(&clip->impl_mu);
        return sdf_fail(err, SDF_ERR_NOMEM, "CLIP weights");
    }
    im->n_layers = c->layers;
    pthread_mutex_init(&im->scratch.mu, NULL);
    const int64_t D = c->width, M = c->mlp;
    sdf_wstore   *w = clip->weights;
    bool ok = (im->tok_emb = want_stored(im, w, "text_model.embeddings.token_embedding.weight",
                                         c->vocab, D, err)) &&
              (im->pos_emb = want(im, w, "text_model.embeddings.position_embedding.weight",
                                  c->positions, D, err)) &&
              (im->lnf_w = want(im, w, "text_model.final_layer_norm.weight", D, -1, err)) &&
              (im->lnf_b = want(im, w, "text_model.final_layer_norm.bias", D, -1, err));
    if (ok && c->has_projection)
        ok = (im->proj = want(im, w, "text_projection.weight", D, D, err)) != NULL;
    for (int l = 0; ok && l < c->layers; l++) {
        clip_layer *L = &im->layers[l];
        char        n[160];
#define NAME(suffix) (snprintf(n, sizeof n, "text_model.encoder.layers.%d.%s", l, suffix), n)
#define V(field, suffix, d0) ((L->field = want(im, w, NAME(suffix), d0, -1, err)) != NULL)
#define MAT(field, suffix, d0, d1) want_matrix(im, w, NAME(suffix), d0, d1, &L->field, err)
        ok = V(ln1_w, "layer_norm1.weight", D) && V(ln1_b, "layer_norm1.bias", D) &&
             MAT(q_w, "self_attn.q_proj.weight", D, D) && V(q_b, "self_attn.q_proj.bias", D) &&
             MAT(k_w, "self_attn.k_proj.weight", D, D) && V(k_b, "self_attn.k_proj.bias", D) &&
             MAT(v_w, "self_attn.v_proj.weight", D, D) && V(v_b, "self_attn.v_proj.bias", D) &&
             MAT(o_w, "self_attn.out_proj.weight", D, D) &&
             V(o_b, "self_attn.out_proj.bias", D) && V(ln2_w, "layer_norm2.weight", D) &&
             V(ln2_b, "layer_norm2.bias", D) && MAT(fc1_w, "mlp.fc1.weight", M, D) &&
             V(fc1_b, "mlp.fc1.bias", M) && MAT(fc2_w, "mlp.fc2.weight", D, M) &&
             V(fc2_b, "mlp.fc2.bias", D);
#undef MAT
#undef V
#undef NAME
    }
    if (!ok) {
        impl_free(im);
        pthread_mutex_unlock(&clip->impl_mu);
        return err ? err->code : SDF_ERR_INTERNAL;
    }
    clip->impl = im;
    clip->impl_free = impl_free;
    *out = im;
    pthread_mutex_unlock(&clip->impl_mu);
    return SDF_OK;
}

/* ---- kernels ---- */

static void layer_norm(const float *x, int T, int D, const float *g, const float *b, float *y) {
    for (int t = 0; t < T; t++) {
        const float *r = x + (size_t)t * D;
        float       *o = y + (size_t)t * D;
        double       s = 0, s2 = 0;
        for (int i = 0; i < D; i++)
            s += r[i];
        double mean = s / D;
        for (int i = 0; i < D; i++) {
            double d = r[i] - mean;
            s2 += d * d;
        }
        float inv = (float)(1.0 / sqrt(s2 / D + 1e-5));
        float mf = (float)mean;
        for (int i = 0; i < D; i++)
            o[i] = (r[i] - mf) * inv * g[i] + b[i];
    }
}

/* causal self-attention: one task per (sequence, head); q,k,v,o rows of stride D */
typedef struct attn_ctx {
    const float *q, *k, *v;
    float       *o;
    int          P, D, H;
    float       *scratch; /* P*P floats per pool slot */
} attn_ctx;

static void attn_task(void *vctx, size_t begin, size_t end, int slot) {
    const attn_ctx *a = vctx;
    const int       P = a->P, D = a->D, dh = D / a->H;
    const float     scale = 1.0f / sqrtf((float)dh);
    float          *scores = a->scratch + (size_t)slot * P * P;
    sdf_k_ftz();
    for (size_t t = begin; t < end; t++) {
        size_t s = t / (size_t)a->H, h = t % (size_t)a->H;
        size_t off = s * (size_t)P * D + h * (size_t)dh;
        sdf_k_sgemm_1t(false, true, P, P, dh, scale, a->q + off, D, a->k + off, D, 0.0f, scores, P);
        for (int i = 0; i < P; i++) {
            float *r = scores + (size_t)i * P;
            float  m = r[0];
            for (int j = 1; j <= i; j++)
                m = r[j] > m ? r[j] : m;
            float sum = 0;
            for (int j = 0; j <= i; j++) {
                r[j] = expf(r[j] - m);
                sum += r[j];
            }
            float inv = 1.0f / sum;
            for (int j = 0; j <= i; j++)
                r[j] *= inv;
            for (int j = i + 1; j < P; j++)
                r[j] = 0.0f;
        }
        sdf_k_sgemm_1t(false, false, P, dh, P, 1.0f, scores, P, a->v + off, D, 0.0f, a->o + off, D);
    }
}

int sdf_clip_effective_layer(const sdf_clip *clip) {
    int k = clip->layer_idx != 0 ? clip->layer_idx : clip->cfg.default_layer_idx;
    if (k == 0 || k < -clip->cfg.layers || k > 0)
        return 0;
    return k;
}

/* Runs the transformer on x [n_seq*P, D] (embeddings incl. positions; overwritten).
 * out_hidden gets layer `layer`'s output with the final LN; last_ln (may be NULL) the last
 * layer's final-LN output for every row. */
static sdf_status run_transformer(const sdf_clip_config *c, const clip_impl *im, sdf_pool *pool,
                                  float *x, int n_seq, int layer, float *out_hidden, float *last_ln,
                                  sdf_error *err) {
    const int P = c->positions, D = c->width, M = c->mlp, T = n_seq * P;
    size_t    td = (size_t)T * D;
    float    *h = sdf_malloc(td * sizeof *h), *q = sdf_malloc(td * sizeof *q),
          *k = sdf_malloc(td * sizeof *k), *v = sdf_malloc(td * sizeof *v),
          *a = sdf_malloc(td * sizeof *a), *f = sdf_malloc((size_t)T * M * sizeof *f),
          *sc = sdf_malloc((size_t)sdf_pool_threads(pool) * P * P * sizeof *sc);
    if (!h || !q || !k || !v || !a || !f || !sc) {
        sdf_free(h), sdf_free(q), sdf_free(k), sdf_free(v), sdf_free(a), sdf_free(f), sdf_free(sc);
        return sdf_fail(err, SDF_ERR_NOMEM, "CLIP activations (%d tokens)", T);
    }
    const int sel = layer == 0 ? c->layers - 1 : c->layers + layer;
    for (int l = 0; l < c->layers; l++) {
        const clip_layer *L = &im->layers[l];
        layer_norm(x, T, D, L->ln1_w, L->ln1_b, h);
        bool ok = linear(pool, q, h, &L->q_w, L->q_b, T, D, D) &&
                  linear(pool, k, h, &L->k_w, L->k_b, T, D, D) &&
                  linear(pool, v, h, &L->v_w, L->v_b, T, D, D);
        attn_ctx ac = {q, k, v, a, P, D, c->heads, sc};
        if (ok)
            sdf_pool_for(pool, (size_t)n_seq * (size_t)c->heads, 1, attn_task, &ac);
        ok = ok && linear(pool, h, a, &L->o_w, L->o_b, T, D, D);
        for (size_t i = 0; ok && i < td; i++)
            x[i] += h[i];
        layer_norm(x, T, D, L->ln2_w, L->ln2_b, h);
        ok = ok && linear(pool, f, h, &L->fc1_w, L->fc1_b, T, D, M);
        if (ok)
            sdf_k_act(pool, f, f, (int64_t)T * M, c->quick_gelu ? SDF_ACT_QUICK_GELU : SDF_ACT_GELU);
        ok = ok && linear(pool, h, f, &L->fc2_w, L->fc2_b, T, M, D);
        if (!ok) {
            sdf_free(h), sdf_free(q), sdf_free(k), sdf_free(v), sdf_free(a), sdf_free(f), sdf_free(sc);
            return sdf_fail(err, SDF_ERR_NOMEM, "CLIP weight conversion (layer %d)", l);
        }
        for (size_t i = 0; i < td; i++)
            x[i] += h[i];
        if (l == sel && out_hidden)
            layer_norm(x, T, D, im->lnf_w, im->lnf_b, out_hidden);
    }
    if (last_ln)
        layer_norm(x, T, D, im->lnf_w, im->lnf_b, last_ln);
    sdf_free(h), sdf_free(q), sdf_free(k), sdf_free(v), sdf_free(a), sdf_free(f), sdf_free(sc);
    return SDF_OK;
}

sdf_status sdf_clip_forward_ids(sdf_clip *clip, const int32_t *ids, int n_seq, int layer,
                                float *out_hidden, float *out_pooled, sdf_error *err) {
    return sdf_clip_forward(clip, NULL, ids, n_seq, layer, out_hidden, out_pooled, err);
}

sdf_status sdf_clip_forward(sdf_clip *clip, sdf_pool *pool, const int32_t *ids, int n_seq,
                            int layer, float *out_hidden, float *out_pooled, sdf_error *err) {
    clip_impl *im;
    sdf_status st = prepare(clip, &im, err);
    if (st != SDF_OK)
        return st;
    const sdf_clip_config *c = &clip->cfg;
    const int              P = c->positions, D = c->width;
    if (n_seq <= 0)
        return sdf_fail(err, SDF_ERR_INVALID, "CLIP: no sequences to encode");
    if (layer > 0 || layer < -c->layers)
        return sdf_fail(err, SDF_ERR_INVALID, "CLIP: layer %d outside -%d..0", layer, c->layers);
    size_t td = (size_t)n_seq * P * D;
    float *x = sdf_malloc(td * sizeof *x);
    float *last = out_pooled ? sdf_malloc(td * sizeof *last) : NULL;
    if (!x || (out_pooled && !last)) {
        sdf_free(x);
        sdf_free(last);
        return sdf_fail(err, SDF_ERR_NOMEM, "CLIP input");
    }
    for (int i = 0; i < n_seq * P; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= c->vocab) {
            sdf_free(x);
            sdf_free(last);
            return sdf_fail(err, SDF_ERR_INVALID, "CLIP: token id %d outside the vocabulary (%d)",
                            id, c->vocab);
        }
        const float *pe = im->pos_emb + (size_t)(i % P) * D;
        float       *xr = x + (size_t)i * D;
        tok_row(im, id, D, xr);
        for (int j = 0; j < D; j++)
            xr[j] = xr[j] + pe[j];
    }
    st = run_transformer(c, im, pool, x, n_seq, layer, out_hidden, last, err);
    if (st == SDF_OK && out_pooled) {
        for (int s = 0; s < n_seq; s++) {
            int e = 0;
            while (e < P - 1 && ids[s * P + e] != c->end_token)
                e++;
            memcpy(out_pooled + (size_t)s * D, last + ((size_t)s * P + e) * D,
                   (size_t)D * sizeof(float));
        }
    }
    sdf_free(x);
    sdf_free(last);
    return st;
}

/* ---- ComfyUI encode_token_weights ---- */

sdf_status sdf_clip_encode_tokens(sdf_clip *clip, const sdf_prompt_tokens *tok,
                                  const sdf_clip_encode_opts *o, sdf_tensor **cond,
                                  sdf_tensor **pooled, sdf_error *err) {
    *cond = NULL;
    if (pooled)
        *pooled = NULL;
    clip_impl *im;
    sdf_status st = prepare(clip, &im, err);
    if (st != SDF_OK)
        return st;
    const sdf_clip_config *c = &clip->cfg;
    const int              P = c->positions, D = c->width, K = tok->n_chunks;
    if (tok->max_length != P || K <= 0)
        return sdf_fail(err, SDF_ERR_INVALID, "CLIP: %d windows of %d tokens, the model takes %d",
                        K, tok->max_length, P);
    bool has_weights = false;
    for (int i = 0; i < K * P; i++)
        if (tok->slots[i].weight != 1.0)
            has_weights = true;
    const int S = K + (has_weights ? 1 : 0);
    size_t    td = (size_t)S * P * D;
    float    *x = sdf_malloc(td * sizeof *x), *hid = sdf_malloc(td * sizeof *hid),
          *last = sdf_malloc(td * sizeof *last);
    int *num_tokens = sdf_calloc((size_t)S, sizeof *num_tokens);
    if (!x || !hid || !last || !num_tokens) {
        st = sdf_fail(err, SDF_ERR_NOMEM, "CLIP input");
        goto done;
    }
    /* process_tokens: token embeddings, embedding vectors spliced in, mismatched vectors dropped
     * with the pad token appended; attention-mask count gives the pooled position. */
    for (int s = 0; s < S && st == SDF_OK; s++) {
        float *xs = x + (size_t)s * P * D;
        int    pos = 0, pad_extra = 0, ones = 0;
        bool   eos = false;
        for (int j = 0; j < P; j++) {
            int32_t                id;
            const sdf_prompt_slot *sl = s < K ? &tok->slots[s * P + j] : NULL;
            if (sl)
                id = sl->id;
            else
                id = j == 0 ? c->start_token : j == 1 ? c->end_token : c->pad_token;
            if (id >= 0) {
                if (id >= c->vocab) {
                    st = sdf_fail(err, SDF_ERR_INVALID, "CLIP: token id %d outside the vocabulary",
                                  id);
                    break;
                }
                tok_row(im, id, D, xs + (size_t)pos * D);
                pos++;
                if (!eos)
                    ones++;
                if (!eos && id == c->end_token)
                    eos = true;
            } else {
                const sdf_tensor *v = sl->vec;
                int64_t           width = v->shape[v->ndim - 1];
                if (width == D) {
                    memcpy(xs + (size_t)pos * D, sdf_tensor_f32p(v) + sl->row * D,
                           (size_t)D * sizeof *xs);
                    pos++;
                    ones++;
                } else {
                    pad_extra++;
                    if (o && o->warn) {
                        char msg[160];
                        snprintf(msg, sizeof msg,
                                 "WARNING: shape mismatch when trying to apply embedding, "
                                 "embedding will be ignored %lld != %d",
                                 (long long)width, D);
                        o->warn(o->warn_ctx, msg);
                    }
                }
            }
        }
        for (int j = 0; j < pad_extra; j++, pos++)
            tok_row(im, c->pad_token, D, xs + (size_t)pos * D);
        for (int j = 0; j < P; j++)
            for (int i = 0; i < D; i++)
                xs[(size_t)j * D + i] += im->pos_emb[(size_t)j * D + i];
        num_tokens[s] = ones;
    }
    if (st != SDF_OK)
        goto done;
    st = run_transformer(c, im, o ? o->pool : NULL, x, S, sdf_clip_effective_layer(clip), hid, last,
                         err);
    if (st != SDF_OK)
        goto done;
    /* weighting against the empty sequence (the last one) */
    if (has_weights) {
        const float *ze = hid + (size_t)K * P * D;
        for (int kk = 0; kk < K; kk++)
            for (int j = 0; j < P; j++) {
                double w = tok->slots[kk * P + j].weight;
                if (w == 1.0)
                    continue;
                float  wf = (float)w;
                float *z = hid + ((size_t)kk * P + j) * D;
                for (int i = 0; i < D; i++)
                    z[i] = (z[i] - ze[(size_t)j * D + i]) * wf + ze[(size_t)j * D + i];
            }
    }
    *cond = sdf_tensor_f32(err, 3, (int64_t)1, (int64_t)K * P, (int64_t)D);
    if (!*cond) {
        st = err ? err->code : SDF_ERR_NOMEM;
        goto done;
    }
    memcpy(sdf_tensor_f32p(*cond), hid, (size_t)K * P * D * sizeof(float));
    if (pooled) {
        int idx = num_tokens[0] - 1;
        if (idx < 0)
            idx = 0;
        if (idx >= P)
            idx = P - 1;
        const float *pr = last + (size_t)idx * D;
        *pooled = sdf_tensor_f32(err, 2, (int64_t)1, (int64_t)D);
        if (!*pooled) {
            st = err ? err->code : SDF_ERR_NOMEM;
            sdf_tensor_release(*cond);
            *cond = NULL;
            goto done;
        }
        if (c->has_projection && im->proj) {
            float *po = sdf_tensor_f32p(*pooled);
            for (int i = 0; i < D; i++) {
                double s = 0;
                for (int j = 0; j < D; j++)
                    s += (double)im->proj[(size_t)i * D + j] * pr[j];
                po[i] = (float)s;
            }
        } else {
            memcpy(sdf_tensor_f32p(*pooled), pr, (size_t)D * sizeof(float));
        }
    }
done:
    sdf_free(x);
    sdf_free(hid);
    sdf_free(last);
    sdf_free(num_tokens);
    return st;
}

typedef struct lookup_ctx {
    const sdf_paths   *paths;
    const char        *key;
    int64_t            dim;
    sdf_prompt_warn_fn warn;
    void              *warn_ctx;
} lookup_ctx;

static sdf_status lookup_embedding(void *ctx, const char *name, sdf_tensor **out, sdf_error *err) {
    lookup_ctx *lc = ctx;
    return sdf_embedding_load(lc->paths, name, lc->key, lc->dim, lc->warn, lc->warn_ctx, out, err);
}

sdf_status sdf_clip_encode_text(sdf_clip *clip, const char *text, const sdf_clip_encode_opts *o,
                                sdf_tensor **cond, sdf_tensor **pooled, sdf_error *err) {
    *cond = NULL;
    if (pooled)
        *pooled = NULL;
    sdf_tokenizer *tok;
    sdf_status     st = sdf_clip_tokenizer(clip, o ? o->paths : NULL, &tok, err);
    if (st != SDF_OK)
        return st;
    lookup_ctx lc = {o ? o->paths : NULL, clip->arch == SDF_ARCH_SD2 ? "clip_h" : "clip_l",
                     clip->cfg.width, o ? o->warn : NULL, o ? o->warn_ctx : NULL};
    sdf_prompt_opts   po = {.max_length = clip->cfg.positions,
                            .start_token = clip->cfg.start_token,
                            .end_token = clip->cfg.end_token,
                            .pad_token = clip->cfg.pad_token,
                            .lookup = lookup_embedding,
                            .lookup_ctx = &lc,
                            .warn = o ? o->warn : NULL,
                            .warn_ctx = o ? o->warn_ctx : NULL};
    sdf_prompt_tokens pt;
    st = sdf_prompt_tokenize(tok, text, &po, &pt, err);
    if (st != SDF_OK)
        return st;
    st = sdf_clip_encode_tokens(clip, &pt, o, cond, pooled, err);
    sdf_prompt_tokens_free(&pt);
    return st;
}
