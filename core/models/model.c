#include "model.h"

#include <string.h>

#include "../base/alloc.h"

#define DEFINE_LIFECYCLE(T, prefix, what)                                                     \
    T *prefix##_new(sdf_wstore *weights, sdf_error *err) {                                    \
        T *o = sdf_calloc(1, sizeof *o);                                                      \
        if (!o) {                                                                             \
            sdf_wstore_release(weights);                                                      \
            sdf_fail(err, SDF_ERR_NOMEM, what);                                               \
            return NULL;                                                                      \
        }                                                                                     \
        atomic_init(&o->refcount, 1);                                                         \
        pthread_mutex_init(&o->impl_mu, NULL);                                                \
        o->weights = weights;                                                                 \
        return o;                                                                             \
    }                                                                                         \
    T *prefix##_retain(T *o) {                                                                \
        if (o) atomic_fetch_add(&o->refcount, 1);                                             \
        return o;                                                                             \
    }

DEFINE_LIFECYCLE(sdf_model, sdf_model, "model")
DEFINE_LIFECYCLE(sdf_clip, sdf_clip, "clip")
DEFINE_LIFECYCLE(sdf_vae, sdf_vae, "vae")

void sdf_model_release(sdf_model *m) {
    if (!m) return;
    int prev = atomic_fetch_sub(&m->refcount, 1);
    SDF_ASSERT(prev > 0);
    if (prev != 1) return;
    if (m->impl && m->impl_free) m->impl_free(m->impl);
    sdf_wstore_release(m->weights);
    pthread_mutex_destroy(&m->impl_mu);
    sdf_free(m);
}

static void tokenizer_drop(sdf_clip *c) {
    if (c->tokenizer_refs && atomic_fetch_sub(c->tokenizer_refs, 1) == 1) {
        if (c->tokenizer && c->tokenizer_free) c->tokenizer_free(c->tokenizer);
        sdf_free(c->tokenizer_refs);
    }
}

void sdf_clip_release(sdf_clip *c) {
    if (!c) return;
    int prev = atomic_fetch_sub(&c->refcount, 1);
    SDF_ASSERT(prev > 0);
    if (prev != 1) return;
    if (c->impl && c->impl_free) c->impl_free(c->impl);
    tokenizer_drop(c);
    sdf_wstore_release(c->weights);
    pthread_mutex_destroy(&c->impl_mu);
    sdf_free(c);
}

void sdf_vae_release(sdf_vae *v) {
    if (!v) return;
    int prev = atomic_fetch_sub(&v->refcount, 1);
    SDF_ASSERT(prev > 0);
    if (prev != 1) return;
    if (v->impl && v->impl_free) v->impl_free(v->impl);
    sdf_wstore_release(v->weights);
    pthread_mutex_destroy(&v->impl_mu);
    sdf_free(v);
}

sdf_model *sdf_model_clone(const sdf_model *m, sdf_error *err) {
    sdf_wstore *w = sdf_wstore_overlay(m->weights, err);
    if (!w) return NULL;
    sdf_model *c = sdf_model_new(w, err);
    if (!c) return NULL;
    c->arch = m->arch;
    c->unet = m->unet;
    c->prediction = m->prediction;
    c->zsnr = m->zsnr;
    c->latent_scale = m->latent_scale;
    memcpy(c->name, m->name, sizeof c->name);
    memcpy(c->sha256, m->sha256, sizeof c->sha256);
    return c;
}

sdf_clip *sdf_clip_clone(const sdf_clip *src, sdf_error *err) {
    sdf_wstore *w = sdf_wstore_overlay(src->weights, err);
    if (!w) return NULL;
    sdf_clip *c = sdf_clip_new(w, err);
    if (!c) return NULL;
    c->arch = src->arch;
    c->cfg = src->cfg;
    c->layer_idx = src->layer_idx;
    memcpy(c->vocab_dir, src->vocab_dir, sizeof c->vocab_dir);
    c->tokenizer = src->tokenizer;
    c->tokenizer_free = src->tokenizer_free;
    c->tokenizer_refs = src->tokenizer_refs;
    if (c->tokenizer_refs) atomic_fetch_add(c->tokenizer_refs, 1);
    return c;
}

sdf_vae *sdf_vae_clone(const sdf_vae *v, sdf_error *err) {
    sdf_wstore *w = sdf_wstore_overlay(v->weights, err);
    if (!w) return NULL;
    sdf_vae *c = sdf_vae_new(w, err);
    if (!c) return NULL;
    c->cfg = v->cfg;
    memcpy(c->name, v->name, sizeof c->name);
    return c;
}

static void rel_model(void *o) { sdf_model_release(o); }
static void rel_clip(void *o) { sdf_clip_release(o); }
static void rel_vae(void *o) { sdf_vae_release(o); }
static size_t bytes_model(const void *o) { return sdf_wstore_f32_bytes(((const sdf_model *)o)->weights); }
static size_t bytes_clip(const void *o) { return sdf_wstore_f32_bytes(((const sdf_clip *)o)->weights); }
static size_t bytes_vae(const void *o) { return sdf_wstore_f32_bytes(((const sdf_vae *)o)->weights); }

const sdf_handle_type sdf_model_handle = {"MODEL", rel_model, bytes_model};
const sdf_handle_type sdf_clip_handle = {"CLIP", rel_clip, bytes_clip};
const sdf_handle_type sdf_vae_handle = {"VAE", rel_vae, bytes_vae};
