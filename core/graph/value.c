#include "value.h"

#include <stdio.h>
#include <string.h>

#include "../base/alloc.h"

static const char *const vt_names[] = {"INT",   "FLOAT",        "STRING",      "BOOLEAN",
                                       "COMBO", "IMAGE",        "MASK",        "LATENT",
                                       "CONDITIONING", "MODEL", "CLIP",        "VAE",
                                       "CLIP_VISION", "CONTROL_NET", "UPSCALE_MODEL", "SIGMAS"};
_Static_assert(SDF_COUNTOF(vt_names) == SDF_VT_COUNT, "vtype names drift");

const char *sdf_vtype_name(sdf_vtype t) { return (unsigned)t < SDF_VT_COUNT ? vt_names[t] : "?"; }

int sdf_vtype_from_name(const char *name) {
    for (int i = 0; i < SDF_VT_COUNT; i++)
        if (strcmp(vt_names[i], name) == 0) return i;
    return -1;
}

static sdf_value *vnew(sdf_vtype t) {
    sdf_value *v = sdf_calloc(1, sizeof *v);
    if (!v) return NULL;
    atomic_init(&v->refcount, 1);
    v->type = t;
    return v;
}

sdf_value *sdf_value_int(int64_t x) {
    sdf_value *v = vnew(SDF_VT_INT);
    if (v) v->u.integer.i = x;
    return v;
}

sdf_value *sdf_value_u64(uint64_t x) {
    sdf_value *v = vnew(SDF_VT_INT);
    if (v) {
        v->u.integer.i = (int64_t)x;
        v->u.integer.is_u64 = x > (uint64_t)INT64_MAX;
    }
    return v;
}

sdf_value *sdf_value_float(double x) {
    sdf_value *v = vnew(SDF_VT_FLOAT);
    if (v) v->u.f = x;
    return v;
}

sdf_value *sdf_value_bool(bool x) {
    sdf_value *v = vnew(SDF_VT_BOOLEAN);
    if (v) v->u.b = x;
    return v;
}

sdf_value *sdf_value_string(const char *s) {
    sdf_value *v = vnew(SDF_VT_STRING);
    if (!v) return NULL;
    v->u.s = sdf_strdup(s ? s : "");
    if (!v->u.s) { sdf_free(v); return NULL; }
    return v;
}

sdf_value *sdf_value_tensor(sdf_vtype type, sdf_tensor *t) {
    sdf_value *v = vnew(type);
    if (v) v->u.tensor = sdf_tensor_retain(t);
    return v;
}

sdf_value *sdf_value_latent(sdf_tensor *samples, sdf_tensor *noise_mask, const int64_t *batch_index,
                            int n_batch_index) {
    sdf_value *v = vnew(SDF_VT_LATENT);
    if (!v) return NULL;
    if (batch_index && n_batch_index > 0) {
        v->u.latent.batch_index = sdf_malloc((size_t)n_batch_index * sizeof *batch_index);
        if (!v->u.latent.batch_index) { sdf_free(v); return NULL; }
        memcpy(v->u.latent.batch_index, batch_index, (size_t)n_batch_index * sizeof *batch_index);
        v->u.latent.n_batch_index = n_batch_index;
    }
    v->u.latent.samples = sdf_tensor_retain(samples);
    v->u.latent.noise_mask = sdf_tensor_retain(noise_mask);
    return v;
}

static void entry_defaults(sdf_cond_entry *e) {
    memset(e, 0, sizeof *e);
    e->strength = 1.0;
    e->mask_strength = 1.0;
    e->end_percent = 1.0;
}

sdf_value *sdf_value_conditioning(int n) {
    sdf_value *v = vnew(SDF_VT_CONDITIONING);
    if (!v) return NULL;
    if (n > 0) {
        v->u.cond.e = sdf_calloc((size_t)n, sizeof *v->u.cond.e);
        if (!v->u.cond.e) { sdf_free(v); return NULL; }
        for (int i = 0; i < n; i++) entry_defaults(&v->u.cond.e[i]);
    }
    v->u.cond.n = n;
    return v;
}

sdf_value *sdf_value_conditioning_copy(const sdf_conditioning *src, int extra) {
    sdf_value *v = sdf_value_conditioning(src->n + extra);
    if (!v) return NULL;
    for (int i = 0; i < src->n; i++) {
        sdf_cond_entry *d = &v->u.cond.e[i];
        *d = src->e[i];
        sdf_tensor_retain(d->cond);
        sdf_tensor_retain(d->pooled);
        sdf_tensor_retain(d->mask);
    }
    return v;
}

sdf_value *sdf_value_handle(sdf_vtype type, void *obj, const sdf_handle_type *ht) {
    sdf_value *v = vnew(type);
    if (!v) {
        if (ht && ht->release) ht->release(obj);
        return NULL;
    }
    v->u.handle.obj = obj;
    v->u.handle.ht = ht;
    return v;
}

sdf_value *sdf_value_retain(sdf_value *v) {
    if (v) atomic_fetch_add(&v->refcount, 1);
    return v;
}

void sdf_value_release(sdf_value *v) {
    if (!v) return;
    int prev = atomic_fetch_sub(&v->refcount, 1);
    SDF_ASSERT(prev > 0);
    if (prev != 1) return;
    switch (v->type) {
    case SDF_VT_STRING:
    case SDF_VT_COMBO: sdf_free(v->u.s); break;
    case SDF_VT_IMAGE:
    case SDF_VT_MASK:
    case SDF_VT_SIGMAS: sdf_tensor_release(v->u.tensor); break;
    case SDF_VT_LATENT:
        sdf_tensor_release(v->u.latent.samples);
        sdf_tensor_release(v->u.latent.noise_mask);
        sdf_free(v->u.latent.batch_index);
        break;
    case SDF_VT_CONDITIONING:
        for (int i = 0; i < v->u.cond.n; i++) {
            sdf_tensor_release(v->u.cond.e[i].cond);
            sdf_tensor_release(v->u.cond.e[i].pooled);
            sdf_tensor_release(v->u.cond.e[i].mask);
        }
        sdf_free(v->u.cond.e);
        break;
    case SDF_VT_MODEL:
    case SDF_VT_CLIP:
    case SDF_VT_VAE:
    case SDF_VT_CLIP_VISION:
    case SDF_VT_CONTROL_NET:
    case SDF_VT_UPSCALE_MODEL:
        if (v->u.handle.ht && v->u.handle.ht->release) v->u.handle.ht->release(v->u.handle.obj);
        break;
    default: break;
    }
    sdf_free(v);
}

static size_t tbytes(const sdf_tensor *t) { return t ? t->nbytes : 0; }

size_t sdf_value_bytes(const sdf_value *v) {
    if (!v) return 0;
    size_t n = sizeof *v;
    switch (v->type) {
    case SDF_VT_IMAGE:
    case SDF_VT_MASK:
    case SDF_VT_SIGMAS: n += tbytes(v->u.tensor); break;
    case SDF_VT_LATENT: n += tbytes(v->u.latent.samples) + tbytes(v->u.latent.noise_mask); break;
    case SDF_VT_CONDITIONING:
        for (int i = 0; i < v->u.cond.n; i++)
            n += tbytes(v->u.cond.e[i].cond) + tbytes(v->u.cond.e[i].pooled) +
                 tbytes(v->u.cond.e[i].mask);
        break;
    case SDF_VT_MODEL:
    case SDF_VT_CLIP:
    case SDF_VT_VAE:
        if (v->u.handle.ht && v->u.handle.ht->bytes) n += v->u.handle.ht->bytes(v->u.handle.obj);
        break;
    default: break;
    }
    return n;
}

void sdf_value_describe(const sdf_value *v, char *buf, size_t cap) {
    char s[192] = "";
    if (!v) { snprintf(buf, cap, "(none)"); return; }
    switch (v->type) {
    case SDF_VT_INT:
        if (v->u.integer.is_u64) snprintf(buf, cap, "INT %llu", (unsigned long long)v->u.integer.i);
        else snprintf(buf, cap, "INT %lld", (long long)v->u.integer.i);
        return;
    case SDF_VT_FLOAT: snprintf(buf, cap, "FLOAT %.17g", v->u.f); return;
    case SDF_VT_BOOLEAN: snprintf(buf, cap, "BOOLEAN %s", v->u.b ? "true" : "false"); return;
    case SDF_VT_STRING: snprintf(buf, cap, "STRING \"%.60s\"", v->u.s); return;
    case SDF_VT_IMAGE:
    case SDF_VT_MASK:
    case SDF_VT_SIGMAS: sdf_tensor_shape_str(v->u.tensor, s, sizeof s); break;
    case SDF_VT_LATENT: sdf_tensor_shape_str(v->u.latent.samples, s, sizeof s); break;
    case SDF_VT_CONDITIONING: snprintf(s, sizeof s, "%d entries", v->u.cond.n); break;
    default: break;
    }
    snprintf(buf, cap, "%s %s", sdf_vtype_name(v->type), s);
}
