/* conv2d.c: 2-D convolution, NCHW, zero padding per side, any stride.
 * Reference: direct nested loops with double accumulators.
 * Optimized: im2col of a block of output rows (bounded scratch, never the whole image) followed
 * by one sgemm per block, y[cout, rows*ow] = W[cout, cin*kh*kw] * col; 1x1 stride-1 convolutions
 * multiply the input directly. Chunks = (image, row block), fixed by the shape. */
#include <string.h>

#include "../base/alloc.h"
#include "kernels.h"

int64_t sdf_conv_out_h(const sdf_conv_shape *s) {
    return (s->h + s->pad_t + s->pad_b - s->kh) / s->stride + 1;
}
int64_t sdf_conv_out_w(const sdf_conv_shape *s) {
    return (s->w + s->pad_l + s->pad_r - s->kw) / s->stride + 1;
}

void sdf_k_conv2d_ref(float *y, const float *x, const float *w, const float *bias,
                      const sdf_conv_shape *s) {
    int64_t oh = sdf_conv_out_h(s), ow = sdf_conv_out_w(s);
    for (int64_t n = 0; n < s->n; n++)
        for (int64_t co = 0; co < s->cout; co++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    double acc = bias ? bias[co] : 0.0;
                    for (int64_t ci = 0; ci < s->cin; ci++)
                        for (int64_t i = 0; i < s->kh; i++) {
                            int64_t iy = oy * s->stride + i - s->pad_t;
                            if (iy < 0 || iy >= s->h) continue;
                            for (int64_t j = 0; j < s->kw; j++) {
                                int64_t ix = ox * s->stride + j - s->pad_l;
                                if (ix < 0 || ix >= s->w) continue;
                                acc += (double)x[((n * s->cin + ci) * s->h + iy) * s->w + ix] *
                                       (double)w[((co * s->cin + ci) * s->kh + i) * s->kw + j];
                            }
                        }
                    y[((n * s->cout + co) * oh + oy) * ow + ox] = (float)acc;
                }
}

typedef struct conv_ctx {
    const sdf_conv_shape *s;
    float *y;
    const float *x, *w, *bias;
    int64_t oh, ow, kdim;
    int64_t rows;     /* output rows per block (im2col path) or columns per block (1x1 path) */
    int64_t n_blocks; /* blocks per image */
    bool direct;      /* 1x1, stride 1, no padding */
} conv_ctx;

static void im2col_rows(const conv_ctx *c, const float *x, float *col, int64_t oy0, int64_t nr) {
    const sdf_conv_shape *s = c->s;
    int64_t ow = c->ow, ncols = nr * ow;
    for (int64_t ci = 0; ci < s->cin; ci++)
        for (int64_t i = 0; i < s->kh; i++)
            for (int64_t j = 0; j < s->kw; j++) {
                float *dst = col + ((ci * s->kh + i) * s->kw + j) * ncols;
                const float *plane = x + ci * s->h * s->w;
                for (int64_t r = 0; r < nr; r++) {
                    float *d = dst + r * ow;
                    int64_t iy = (oy0 + r) * s->stride + i - s->pad_t;
                    if (iy < 0 || iy >= s->h) {
                        memset(d, 0, (size_t)ow * sizeof(float));
                        continue;
                    }
                    const float *src = plane + iy * s->w;
                    /* valid ox: 0 <= ox*stride + j - pl < w */
                    int64_t off = j - s->pad_l;
                    int64_t lo = off >= 0 ? 0 : (-off + s->stride - 1) / s->stride;
                    int64_t hi = (s->w - 1 - off) < 0 ? -1 : (s->w - 1 - off) / s->stride;
                    if (hi > ow - 1) hi = ow - 1;
                    if (lo > ow) lo = ow;
                    for (int64_t ox = 0; ox < lo; ox++) d[ox] = 0.0f;
                    if (s->stride == 1) {
                        if (hi >= lo)
                            memcpy(d + lo, src + lo + off, (size_t)(hi - lo + 1) * sizeof(float));
                    } else {
                        for (int64_t ox = lo; ox <= hi; ox++) d[ox] = src[ox * s->stride + off];
                    }
                    for (int64_t ox = hi < lo - 1 ? lo : hi + 1; ox < ow; ox++) d[ox] = 0.0f;
                }
            }
}

static void conv_chunk(void *vctx, size_t begin, size_t end, int slot) {
    (void)slot;
    conv_ctx *c = vctx;
    const sdf_conv_shape *s = c->s;
    sdf_k_ftz();
    int64_t plane_out = c->oh * c->ow;
    float *col = NULL;
    if (!c->direct) col = sdf_malloc_aligned((size_t)(c->kdim * c->rows * c->ow) * sizeof(float));
    for (size_t t = begin; t < end; t++) {
        int64_t n = (int64_t)t / c->n_blocks, blk = (int64_t)t % c->n_blocks;
        const float *x = c->x + n * s->cin * s->h * s->w;
        float *y = c->y + n * s->cout * plane_out;
        int64_t c0, nc;
        const float *bmat;
        int64_t ldb;
        if (c->direct) {
            c0 = blk * c->rows;
            nc = plane_out - c0 < c->rows ? plane_out - c0 : c->rows;
            bmat = x + c0;
            ldb = plane_out;
        } else {
            int64_t oy0 = blk * c->rows;
            int64_t nr = c->oh - oy0 < c->rows ? c->oh - oy0 : c->rows;
            if (!col) continue; /* allocation failed: SDF_ASSERT below */
            im2col_rows(c, x, col, oy0, nr);
            c0 = oy0 * c->ow;
            nc = nr * c->ow;
            bmat = col;
            ldb = nc;
        }
        float beta = 0.0f;
        if (c->bias) {
            for (int64_t co = 0; co < s->cout; co++) {
                float *d = y + co * plane_out + c0, b = c->bias[co];
                for (int64_t q = 0; q < nc; q++) d[q] = b;
            }
            beta = 1.0f;
        }
        sdf_k_sgemm_1t(false, false, s->cout, nc, c->kdim, 1.0f, c->w, c->kdim, bmat, ldb, beta,
                       y + c0, plane_out);
    }
    SDF_ASSERT(c->direct || col); /* scratch is small (a few MB); failure here is fatal */
    sdf_free(col);
}

/* Small planes (the UNet's deep levels): all images' columns side by side in one im2col
 * buffer, so the weights are packed once per call instead of once per image and block; the
 * work is split over output-channel blocks. */
typedef struct convb_ctx {
    const sdf_conv_shape *s;
    float *tmp;       /* [cout, n * plane] */
    const float *w, *col, *bias;
    int64_t kdim, ncols;
} convb_ctx;

#define CONVB_ROWS 64

static void convb_chunk(void *vctx, size_t begin, size_t end, int slot) {
    (void)slot;
    convb_ctx *c = vctx;
    sdf_k_ftz();
    for (size_t t = begin; t < end; t++) {
        int64_t co0 = (int64_t)t * CONVB_ROWS;
        int64_t nr = c->s->cout - co0 < CONVB_ROWS ? c->s->cout - co0 : CONVB_ROWS;
        float *d = c->tmp + co0 * c->ncols;
        float beta = 0.0f;
        if (c->bias) {
            for (int64_t r = 0; r < nr; r++)
                for (int64_t q = 0; q < c->ncols; q++) d[r * c->ncols + q] = c->bias[co0 + r];
            beta = 1.0f;
        }
        sdf_k_sgemm_1t(false, false, nr, c->ncols, c->kdim, 1.0f, c->w + co0 * c->kdim, c->kdim,
                       c->col, c->ncols, beta, d, c->ncols);
    }
}

static bool conv_batched(sdf_pool *pool, conv_ctx *c) {
    const sdf_conv_shape *s = c->s;
    int64_t plane = c->oh * c->ow, ncols = s->n * plane;
    size_t col_n, tmp_n;
    if (!sdf_mul_size((size_t)c->kdim, (size_t)ncols, &col_n) ||
        !sdf_mul_size((size_t)s->cout, (size_t)ncols, &tmp_n))
        return false;
    float *col = sdf_malloc_aligned(col_n * sizeof(float));
    float *tmp = sdf_malloc_aligned(tmp_n * sizeof(float));
    if (!col || !tmp) {
        sdf_free(col);
        sdf_free(tmp);
        return false; /* fall back to the per-image path */
    }
    /* im2col per image into a [kdim, plane] staging area, then interleave into col */
    float *stage = NULL;
    if (s->n > 1) stage = sdf_malloc_aligned((size_t)(c->kdim * plane) * sizeof(float));
    if (s->n > 1 && !stage) {
        sdf_free(col);
        sdf_free(tmp);
        return false;
    }
    for (int64_t n = 0; n < s->n; n++) {
        const float *x = c->x + n * s->cin * s->h * s->w;
        if (s->n == 1) {
            im2col_rows(c, x, col, 0, c->oh);
        } else {
            im2col_rows(c, x, stage, 0, c->oh);
            for (int64_t k = 0; k < c->kdim; k++)
                memcpy(col + k * ncols + n * plane, stage + k * plane,
                       (size_t)plane * sizeof(float));
        }
    }
    sdf_free(stage);
    convb_ctx b = {s, tmp, c->w, col, c->bias, c->kdim, ncols};
    sdf_pool_for(pool, (size_t)((s->cout + CONVB_ROWS - 1) / CONVB_ROWS), 1, convb_chunk, &b);
    for (int64_t n = 0; n < s->n; n++)
        for (int64_t co = 0; co < s->cout; co++)
            memcpy(c->y + (n * s->cout + co) * plane, tmp + co * ncols + n * plane,
                   (size_t)plane * sizeof(float));
    sdf_free(col);
    sdf_free(tmp);
    return true;
}

void sdf_k_conv2d(sdf_pool *pool, float *y, const float *x, const float *w, const float *bias,
                  const sdf_conv_shape *s) {
    conv_ctx c = {.s = s, .y = y, .x = x, .w = w, .bias = bias};
    c.oh = sdf_conv_out_h(s);
    c.ow = sdf_conv_out_w(s);
    c.kdim = s->cin * s->kh * s->kw;
    if (c.oh <= 0 || c.ow <= 0 || s->n <= 0) return;
    c.direct = s->kh == 1 && s->kw == 1 && s->stride == 1 && !s->pad_t && !s->pad_l &&
               !s->pad_b && !s->pad_r;
    int64_t plane = c.oh * c.ow;
    if (c.direct) {
        c.rows = plane < 2048 ? plane : 1024;
        c.n_blocks = (plane + c.rows - 1) / c.rows;
    } else if (plane * s->n <= 1024 && s->cout >= 2 * CONVB_ROWS &&
               (int64_t)c.kdim * plane * s->n <= (int64_t)(16u << 20) / 4) {
        sdf_k_ftz();
        if (conv_batched(pool, &c)) return;
        c.rows = c.oh;
        c.n_blocks = 1;
    } else {
        /* aim for ~1536 output columns per block (the packed weights are reused across them),
         * scratch capped at 8 MB per thread */
        int64_t cols = 1536;
        int64_t cap = (int64_t)(8u << 20) / 4 / c.kdim;
        if (cols > cap) cols = cap;
        if (cols < c.ow) cols = c.ow;
        c.rows = cols / c.ow;
        if (c.rows > c.oh) c.rows = c.oh;
        if (c.rows < 1) c.rows = 1;
        c.n_blocks = (c.oh + c.rows - 1) / c.rows;
    }
    sdf_pool_for(pool, (size_t)(s->n * c.n_blocks), 1, conv_chunk, &c);
}
