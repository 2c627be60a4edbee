/* eltwise.c: activations, GEGLU, softmax, add/scale, nearest resize, concat, transpose,
 * timestep embedding. These are memory-bound: the optimized variants run the same scalar code
 * over fixed-size chunks of the output in parallel. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "vmath.h"

#define ELT_GRAIN 16384

static inline float act_one(float v, sdf_act a) {
    switch (a) {
    case SDF_ACT_SILU: return v / (1.0f + expf(-v));
    case SDF_ACT_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case SDF_ACT_QUICK_GELU: return v / (1.0f + expf(-1.702f * v));
    }
    return v;
}

void sdf_k_act_ref(float *y, const float *x, int64_t n, sdf_act act) {
    for (int64_t i = 0; i < n; i++) {
        double v = x[i], r = v;
        if (act == SDF_ACT_SILU) r = v / (1.0 + exp(-v));
        else if (act == SDF_ACT_GELU) r = 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
        else r = v / (1.0 + exp(-1.702 * v));
        y[i] = (float)r;
    }
}

typedef struct act_ctx {
    float *y;
    const float *x;
    sdf_act act;
} act_ctx;

static void act_chunk(void *vctx, size_t b, size_t e, int slot) {
    (void)slot;
    act_ctx *a = vctx;
    sdf_k_ftz();
    int64_t n = (int64_t)(e - b);
    if (a->act == SDF_ACT_SILU) sdf_vm_silu(a->y + b, a->x + b, n);
    else if (a->act == SDF_ACT_GELU) sdf_vm_gelu(a->y + b, a->x + b, n);
    else
        for (size_t i = b; i < e; i++) a->y[i] = act_one(a->x[i], a->act);
}

void sdf_k_act(sdf_pool *pool, float *y, const float *x, int64_t n, sdf_act act) {
    act_ctx a = {y, x, act};
    sdf_pool_for(pool, (size_t)n, ELT_GRAIN, act_chunk, &a);
}

void sdf_k_geglu_ref(float *y, const float *x, int64_t rows, int64_t dim) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < dim; i++) {
            double a = x[r * 2 * dim + i], g = x[r * 2 * dim + dim + i];
            y[r * dim + i] = (float)(a * 0.5 * g * (1.0 + erf(g / sqrt(2.0))));
        }
}

typedef struct geglu_ctx {
    float *y;
    const float *x;
    int64_t dim;
} geglu_ctx;

static void geglu_chunk(void *vctx, size_t b, size_t e, int slot) {
    (void)slot;
    geglu_ctx *g = vctx;
    sdf_k_ftz();
    for (size_t r = b; r < e; r++) {
        const float *xa = g->x + (int64_t)r * 2 * g->dim, *xg = xa + g->dim;
        float *yp = g->y + (int64_t)r * g->dim;
        sdf_vm_geglu(yp, xa, xg, g->dim);
    }
}

void sdf_k_geglu(sdf_pool *pool, float *y, const float *x, int64_t rows, int64_t dim) {
    geglu_ctx g = {y, x, dim};
    sdf_pool_for(pool, (size_t)rows, 16, geglu_chunk, &g);
}

void sdf_k_softmax_ref(float *y, const float *x, int64_t rows, int64_t dim, float scale) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xp = x + r * dim;
        double mx = -INFINITY, s = 0;
        for (int64_t i = 0; i < dim; i++)
            if ((double)xp[i] * scale > mx) mx = (double)xp[i] * scale;
        for (int64_t i = 0; i < dim; i++) s += exp((double)xp[i] * scale - mx);
        for (int64_t i = 0; i < dim; i++) y[r * dim + i] = (float)(exp((double)xp[i] * scale - mx) / s);
    }
}

typedef struct sm_ctx {
    float *y;
    const float *x;
    int64_t dim;
    float scale;
} sm_ctx;

static void sm_chunk(void *vctx, size_t b, size_t e, int slot) {
    (void)slot;
    sm_ctx *c = vctx;
    sdf_k_ftz();
    for (size_t r = b; r < e; r++) {
        const float *xp = c->x + (int64_t)r * c->dim;
        float *yp = c->y + (int64_t)r * c->dim;
        float mx = -INFINITY;
        for (int64_t i = 0; i < c->dim; i++)
            if (xp[i] * c->scale > mx) mx = xp[i] * c->scale;
        double s = 0;
        for (int64_t i = 0; i < c->dim; i++) {
            yp[i] = expf(xp[i] * c->scale - mx);
            s += yp[i];
        }
        float inv = (float)(1.0 / s);
        for (int64_t i = 0; i < c->dim; i++) yp[i] *= inv;
    }
}

void sdf_k_softmax(sdf_pool *pool, float *y, const float *x, int64_t rows, int64_t dim,
                   float scale) {
    sm_ctx c = {y, x, dim, scale};
    sdf_pool_for(pool, (size_t)rows, 16, sm_chunk, &c);
}

void sdf_k_axpby_ref(float *y, const float *a, float alpha, const float *b, float beta, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = a[i] * alpha + (b ? b[i] * beta : 0.0f);
}

typedef struct axpby_ctx {
    float *y;
    const float *a, *b;
    float alpha, beta;
} axpby_ctx;

static void axpby_chunk(void *vctx, size_t s, size_t e, int slot) {
    (void)slot;
    axpby_ctx *c = vctx;
    sdf_k_ftz();
    if (c->b)
        for (size_t i = s; i < e; i++) c->y[i] = c->a[i] * c->alpha + c->b[i] * c->beta;
    else
        for (size_t i = s; i < e; i++) c->y[i] = c->a[i] * c->alpha;
}

void sdf_k_axpby(sdf_pool *pool, float *y, const float *a, float alpha, const float *b, float beta,
                 int64_t n) {
    axpby_ctx c = {y, a, b, alpha, beta};
    sdf_pool_for(pool, (size_t)n, ELT_GRAIN * 4, axpby_chunk, &c);
}

typedef struct addc_ctx {
    float *y;
    const float *bias;
    int64_t c, hw;
} addc_ctx;

static void addc_chunk(void *vctx, size_t s, size_t e, int slot) {
    (void)slot;
    addc_ctx *c = vctx;
    for (size_t p = s; p < e; p++) {
        float b = c->bias[(int64_t)p % c->c];
        float *yp = c->y + (int64_t)p * c->hw;
        for (int64_t i = 0; i < c->hw; i++) yp[i] += b;
    }
}

void sdf_k_add_channel(sdf_pool *pool, float *y, const float *bias, int64_t n, int64_t c,
                       int64_t hw) {
    addc_ctx a = {y, bias, c, hw};
    sdf_pool_for(pool, (size_t)(n * c), 8, addc_chunk, &a);
}

void sdf_k_upsample_nearest_ref(float *y, const float *x, int64_t planes, int64_t ih, int64_t iw,
                                int64_t oh, int64_t ow) {
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t sy = oy * ih / oh, sx = ox * iw / ow;
                y[(p * oh + oy) * ow + ox] = x[(p * ih + sy) * iw + sx];
            }
}

typedef struct up_ctx {
    float *y;
    const float *x;
    int64_t ih, iw, oh, ow;
} up_ctx;

static void up_chunk(void *vctx, size_t s, size_t e, int slot) {
    (void)slot;
    up_ctx *u = vctx;
    for (size_t p = s; p < e; p++) {
        const float *xp = u->x + (int64_t)p * u->ih * u->iw;
        float *yp = u->y + (int64_t)p * u->oh * u->ow;
        for (int64_t oy = 0; oy < u->oh; oy++) {
            const float *row = xp + (oy * u->ih / u->oh) * u->iw;
            float *d = yp + oy * u->ow;
            if (u->ow == 2 * u->iw)
                for (int64_t ox = 0; ox < u->iw; ox++) d[2 * ox] = d[2 * ox + 1] = row[ox];
            else
                for (int64_t ox = 0; ox < u->ow; ox++) d[ox] = row[ox * u->iw / u->ow];
        }
    }
}

void sdf_k_upsample_nearest(sdf_pool *pool, float *y, const float *x, int64_t planes, int64_t ih,
                            int64_t iw, int64_t oh, int64_t ow) {
    up_ctx u = {y, x, ih, iw, oh, ow};
    sdf_pool_for(pool, (size_t)planes, 4, up_chunk, &u);
}

void sdf_k_concat_ref(float *y, const float *a, int64_t ca, const float *b, int64_t cb, int64_t n,
                      int64_t hw) {
    for (int64_t i = 0; i < n; i++) {
        for (int64_t c = 0; c < ca; c++)
            for (int64_t p = 0; p < hw; p++) y[(i * (ca + cb) + c) * hw + p] = a[(i * ca + c) * hw + p];
        for (int64_t c = 0; c < cb; c++)
            for (int64_t p = 0; p < hw; p++)
                y[(i * (ca + cb) + ca + c) * hw + p] = b[(i * cb + c) * hw + p];
    }
}

typedef struct cat_ctx {
    float *y;
    const float *a, *b;
    int64_t ca, cb, hw;
} cat_ctx;

static void cat_chunk(void *vctx, size_t s, size_t e, int slot) {
    (void)slot;
    cat_ctx *c = vctx;
    int64_t ct = c->ca + c->cb;
    for (size_t p = s; p < e; p++) {
        int64_t i = (int64_t)p / ct, ch = (int64_t)p % ct;
        const float *src = ch < c->ca ? c->a + (i * c->ca + ch) * c->hw
                                      : c->b + (i * c->cb + ch - c->ca) * c->hw;
        memcpy(c->y + (int64_t)p * c->hw, src, (size_t)c->hw * sizeof(float));
    }
}

void sdf_k_concat(sdf_pool *pool, float *y, const float *a, int64_t ca, const float *b, int64_t cb,
                  int64_t n, int64_t hw) {
    cat_ctx c = {y, a, b, ca, cb, hw};
    sdf_pool_for(pool, (size_t)(n * (ca + cb)), 16, cat_chunk, &c);
}

void sdf_k_transpose_ref(float *y, const float *x, int64_t n, int64_t r, int64_t c) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t a = 0; a < r; a++)
            for (int64_t b = 0; b < c; b++) y[(i * c + b) * r + a] = x[(i * r + a) * c + b];
}

typedef struct tr_ctx {
    float *y;
    const float *x;
    int64_t r, c, nbr; /* row blocks per image */
} tr_ctx;

#define TR_BLK 32
static void tr_chunk(void *vctx, size_t s, size_t e, int slot) {
    (void)slot;
    tr_ctx *t = vctx;
    for (size_t q = s; q < e; q++) {
        int64_t i = (int64_t)q / t->nbr, a0 = ((int64_t)q % t->nbr) * TR_BLK;
        int64_t a1 = a0 + TR_BLK < t->r ? a0 + TR_BLK : t->r;
        const float *x = t->x + i * t->r * t->c;
        float *y = t->y + i * t->r * t->c;
        for (int64_t b0 = 0; b0 < t->c; b0 += TR_BLK) {
            int64_t b1 = b0 + TR_BLK < t->c ? b0 + TR_BLK : t->c;
            for (int64_t b = b0; b < b1; b++)
                for (int64_t a = a0; a < a1; a++) y[b * t->r + a] = x[a * t->c + b];
        }
    }
}

void sdf_k_transpose(sdf_pool *pool, float *y, const float *x, int64_t n, int64_t r, int64_t c) {
    tr_ctx t = {y, x, r, c, (r + TR_BLK - 1) / TR_BLK};
    sdf_pool_for(pool, (size_t)(n * t.nbr), 4, tr_chunk, &t);
}

void sdf_k_timestep_embedding_ref(float *y, const float *t, int64_t n, int64_t dim) {
    int64_t half = dim / 2;
    const float neg_ln = -9.21034037197618f; /* f32(-ln 10000) */
    for (int64_t b = 0; b < n; b++) {
        for (int64_t k = 0; k < half; k++) {
            float e = (neg_ln * (float)k) / (float)half;
            float f = expf(e);
            float arg = t[b] * f;
            y[b * dim + k] = cosf(arg);
            y[b * dim + half + k] = sinf(arg);
        }
        if (dim % 2) y[b * dim + dim - 1] = 0.0f;
    }
}
