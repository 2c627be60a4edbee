/* nn.c: prepared layers shared by the UNet and the VAE. */
#include "nn.h"

#include <stdarg.h>
#include <stdio.h>

#include "../base/alloc.h"

void sdf_nn_params_init(sdf_nn_params *p, sdf_wstore *w, sdf_error *err) {
    *p = (sdf_nn_params){.w = w, .err = err, .st = SDF_OK};
    pthread_mutex_init(&p->scratch.mu, NULL);
}

void sdf_nn_params_free(sdf_nn_params *p) {
    for (size_t i = 0; i < p->n; i++) sdf_tensor_release(p->held[i]);
    sdf_free(p->held);
    p->held = NULL;
    p->n = p->cap = 0;
    sdf_free(p->scratch.buf);
    p->scratch.buf = NULL;
    p->scratch.cap = 0;
    pthread_mutex_destroy(&p->scratch.mu);
}

static bool hold(sdf_nn_params *p, sdf_tensor *t) {
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 256;
        sdf_tensor **nh = sdf_realloc(p->held, nc * sizeof *nh);
        if (!nh) {
            sdf_tensor_release(t);
            p->st = sdf_fail(p->err, SDF_ERR_NOMEM, "out of memory preparing weights");
            return false;
        }
        p->held = nh;
        p->cap = nc;
    }
    p->held[p->n++] = t;
    return true;
}

static void fmt_name(char *buf, size_t cap, const char *fmt, va_list ap) {
    vsnprintf(buf, cap, fmt, ap);
}

const float *sdf_nn_get(sdf_nn_params *p, int64_t numel, const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    fmt_name(name, sizeof name, fmt, ap);
    va_end(ap);
    if (p->st != SDF_OK) return NULL;
    sdf_tensor *t = sdf_wstore_get_f32(p->w, name, p->err);
    if (!t) {
        p->st = p->err && p->err->code != SDF_OK ? p->err->code : SDF_ERR_NOT_FOUND;
        return NULL;
    }
    if (numel >= 0 && sdf_tensor_numel(t) != numel) {
        char shp[128];
        sdf_tensor_shape_str(t, shp, sizeof shp);
        sdf_tensor_release(t);
        p->st = sdf_fail(p->err, SDF_ERR_SHAPE, "weight %s has shape %s, expected %lld elements",
                         name, shp, (long long)numel);
        return NULL;
    }
    if (!hold(p, t)) return NULL;
    return sdf_tensor_f32p(t);
}

/* Matrices below this many elements are converted once. */
#define HALF_MIN_NUMEL 16384

/* A conv/linear weight: kept in its stored f16/bf16 form when large, else f32 (sdf_nn_get). */
static sdf_nn_weight get_weight(sdf_nn_params *p, const char *prefix) {
    sdf_nn_weight w = {.scratch = &p->scratch};
    if (p->st != SDF_OK) return w;
    char name[256];
    snprintf(name, sizeof name, "%s.weight", prefix);
    sdf_wstore_info info;
    if (sdf_wstore_info_of(p->w, name, &info) &&
        (info.dtype == SDF_DTYPE_F16 || info.dtype == SDF_DTYPE_BF16)) {
        int64_t numel = 1;
        for (int i = 0; i < info.ndim; i++) numel *= info.shape[i];
        if (numel >= HALF_MIN_NUMEL) {
            sdf_tensor *t = sdf_wstore_get(p->w, name, p->err);
            if (!t) {
                p->st = p->err && p->err->code != SDF_OK ? p->err->code : SDF_ERR_NOT_FOUND;
                return w;
            }
            if (!hold(p, t)) return w;
            w.half = t->data;
            w.dtype = t->dtype;
            w.numel = numel;
            return w;
        }
    }
    w.f32 = sdf_nn_get(p, -1, "%s", name);
    w.dtype = SDF_DTYPE_F32;
    return w;
}

typedef struct convert_ctx {
    const sdf_nn_weight *w;
    float               *dst;
} convert_ctx;

#define CONVERT_GRAIN 65536

static void convert_range(void *vctx, size_t b, size_t e, int slot) {
    (void)slot;
    convert_ctx *c = vctx;
    size_t lo = b * CONVERT_GRAIN, hi = e * CONVERT_GRAIN;
    if (hi > (size_t)c->w->numel) hi = (size_t)c->w->numel;
    sdf_convert_to_f32(c->w->dtype, (const uint16_t *)c->w->half + lo, c->dst + lo, hi - lo);
}

const float *sdf_nn_weight_begin(sdf_pool *pool, const sdf_nn_weight *w, sdf_nn_weight_use *u) {
    *u = (sdf_nn_weight_use){0};
    if (w->f32 || !w->half) return u->f32 = w->f32;
    size_t n = (size_t)w->numel;
    float *dst = NULL;
    if (pthread_mutex_trylock(&w->scratch->mu) == 0) {
        sdf_nn_scratch *s = w->scratch;
        if (s->cap < n) {
            sdf_free(s->buf);
            s->buf = sdf_nn_alloc(w->numel);
            s->cap = s->buf ? n : 0;
        }
        if (!s->buf) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        u->locked = s;
        dst = s->buf;
    } else { /* another forward is using the scratch buffer */
        dst = u->owned = sdf_nn_alloc(w->numel);
        if (!dst) return NULL;
    }
    convert_ctx c = {w, dst};
    sdf_pool_for(pool, (n + CONVERT_GRAIN - 1) / CONVERT_GRAIN, 4, convert_range, &c);
    return u->f32 = dst;
}

void sdf_nn_weight_end(sdf_nn_weight_use *u) {
    if (u->locked) pthread_mutex_unlock(&u->locked->mu);
    sdf_free(u->owned);
    *u = (sdf_nn_weight_use){0};
}

bool sdf_nn_has(sdf_nn_params *p, const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    fmt_name(name, sizeof name, fmt, ap);
    va_end(ap);
    return sdf_wstore_has(p->w, name);
}

int sdf_nn_shape(sdf_nn_params *p, int64_t shape[SDF_MAX_DIMS], const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    fmt_name(name, sizeof name, fmt, ap);
    va_end(ap);
    sdf_wstore_info info;
    if (!sdf_wstore_info_of(p->w, name, &info)) return 0;
    for (int i = 0; i < info.ndim; i++) shape[i] = info.shape[i];
    return info.ndim;
}

bool sdf_nn_conv_load(sdf_nn_params *p, sdf_nn_conv *c, const char *prefix) {
    int64_t sh[SDF_MAX_DIMS];
    int nd = sdf_nn_shape(p, sh, "%s.weight", prefix);
    if (p->st != SDF_OK) return false;
    if (nd != 4 || sh[2] != sh[3]) {
        p->st = nd ? sdf_fail(p->err, SDF_ERR_SHAPE, "weight %s.weight is not a square conv kernel",
                              prefix)
                   : sdf_fail(p->err, SDF_ERR_NOT_FOUND, "weight %s.weight is missing", prefix);
        return false;
    }
    *c = (sdf_nn_conv){.cout = sh[0], .cin = sh[1], .k = sh[2], .stride = 1};
    c->pad_t = c->pad_l = c->pad_b = c->pad_r = (int)(sh[2] / 2);
    c->w = get_weight(p, prefix);
    c->b = sdf_nn_get(p, sh[0], "%s.bias", prefix);
    return p->st == SDF_OK;
}

bool sdf_nn_linear_load(sdf_nn_params *p, sdf_nn_linear *l, const char *prefix, bool has_bias) {
    int64_t sh[SDF_MAX_DIMS];
    int nd = sdf_nn_shape(p, sh, "%s.weight", prefix);
    if (p->st != SDF_OK) return false;
    if (nd == 4 && sh[2] == 1 && sh[3] == 1) nd = 2; /* 1x1 conv used as a linear */
    if (nd != 2) {
        p->st = nd ? sdf_fail(p->err, SDF_ERR_SHAPE, "weight %s.weight is not a matrix", prefix)
                   : sdf_fail(p->err, SDF_ERR_NOT_FOUND, "weight %s.weight is missing", prefix);
        return false;
    }
    *l = (sdf_nn_linear){.out = sh[0], .in = sh[1]};
    l->w = get_weight(p, prefix);
    l->b = has_bias ? sdf_nn_get(p, sh[0], "%s.bias", prefix) : NULL;
    return p->st == SDF_OK;
}

bool sdf_nn_norm_load(sdf_nn_params *p, sdf_nn_norm *n, const char *prefix, float eps) {
    int64_t sh[SDF_MAX_DIMS];
    int nd = sdf_nn_shape(p, sh, "%s.weight", prefix);
    if (p->st != SDF_OK) return false;
    if (nd != 1) {
        p->st = sdf_fail(p->err, nd ? SDF_ERR_SHAPE : SDF_ERR_NOT_FOUND,
                         "norm weight %s.weight missing or not a vector", prefix);
        return false;
    }
    *n = (sdf_nn_norm){.c = sh[0], .eps = eps};
    n->g = sdf_nn_get(p, sh[0], "%s.weight", prefix);
    n->b = sdf_nn_get(p, sh[0], "%s.bias", prefix);
    return p->st == SDF_OK;
}

float *sdf_nn_alloc(int64_t n) {
    size_t bytes;
    if (n < 1) n = 1;
    if (!sdf_mul_size((size_t)n, sizeof(float), &bytes)) return NULL;
    return sdf_malloc_aligned(bytes);
}

float *sdf_nn_conv_fwd(sdf_pool *pool, const sdf_nn_conv *c, const float *x, int64_t n, int64_t h,
                       int64_t w, int64_t *oh, int64_t *ow) {
    sdf_conv_shape s = {n, c->cin, h, w, c->cout, c->k, c->k, c->stride,
                        c->pad_t, c->pad_l, c->pad_b, c->pad_r};
    *oh = sdf_conv_out_h(&s);
    *ow = sdf_conv_out_w(&s);
    sdf_nn_weight_use u;
    const float *wf = sdf_nn_weight_begin(pool, &c->w, &u);
    float *y = wf ? sdf_nn_alloc(n * c->cout * *oh * *ow) : NULL;
    if (y) sdf_k_conv2d(pool, y, x, wf, c->b, &s);
    sdf_nn_weight_end(&u);
    return y;
}

float *sdf_nn_linear_fwd(sdf_pool *pool, const sdf_nn_linear *l, const float *x, int64_t rows) {
    sdf_nn_weight_use u;
    const float *wf = sdf_nn_weight_begin(pool, &l->w, &u);
    float *y = wf ? sdf_nn_alloc(rows * l->out) : NULL;
    if (y) sdf_k_linear(pool, y, x, wf, l->b, rows, l->in, l->out);
    sdf_nn_weight_end(&u);
    return y;
}

void sdf_nn_gn(sdf_pool *pool, const sdf_nn_norm *nm, float *y, const float *x, int64_t n,
               int64_t hw, bool silu) {
    sdf_k_groupnorm(pool, y, x, nm->g, nm->b, n, nm->c, hw, 32, nm->eps, silu);
}
