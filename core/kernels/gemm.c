/* gemm.c: matrix products. Reference: triple loop with double accumulators. Optimized: OpenBLAS
 * sgemm (single-threaded) on output chunks split over the pool. */
#include <cblas.h>
#include <string.h>

#include "kernels.h"

void sdf_k_sgemm_ref(bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                     int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t p = 0; p < k; p++)
                s += (double)a[i * lda + p] * (double)(trans_b ? b[j * ldb + p] : b[p * ldb + j]);
            float prev = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
            c[i * ldc + j] = (float)(alpha * s) + prev;
        }
}

void sdf_k_sgemm_1t(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                    int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, alpha, a,
                (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

typedef struct gemm_ctx {
    bool trans_b;
    int64_t m, n, k, lda, ldb, ldc, rows, cols; /* chunk sizes */
    int64_t n_col_chunks;
    float alpha, beta;
    const float *a, *b;
    float *c;
    const float *bias; /* linear: C chunk := bias per column first, then beta = 1 */
} gemm_ctx;

static void gemm_chunk(void *vctx, size_t begin, size_t end, int slot) {
    (void)slot;
    gemm_ctx *g = vctx;
    sdf_k_ftz();
    for (size_t t = begin; t < end; t++) {
        int64_t ri = (int64_t)t / g->n_col_chunks, ci = (int64_t)t % g->n_col_chunks;
        int64_t r0 = ri * g->rows, c0 = ci * g->cols;
        int64_t mr = g->m - r0 < g->rows ? g->m - r0 : g->rows;
        int64_t nc = g->n - c0 < g->cols ? g->n - c0 : g->cols;
        const float *bp = g->trans_b ? g->b + c0 * g->ldb : g->b + c0;
        float beta = g->beta;
        if (g->bias) {
            for (int64_t r = 0; r < mr; r++)
                memcpy(g->c + (r0 + r) * g->ldc + c0, g->bias + c0, (size_t)nc * sizeof(float));
            beta = 1.0f;
        }
        sdf_k_sgemm_1t(false, g->trans_b, mr, nc, g->k, g->alpha, g->a + r0 * g->lda, g->lda, bp,
                       g->ldb, beta, g->c + r0 * g->ldc + c0, g->ldc);
    }
}

static void sgemm_bias(sdf_pool *pool, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                       float *c, int64_t ldc, const float *bias) {
    if (m <= 0 || n <= 0) return;
    gemm_ctx g = {.trans_b = trans_b, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc,
                  .alpha = alpha, .beta = beta, .a = a, .b = b, .c = c, .bias = bias};
    /* Chunks depend only on the shape. Rows first (B is packed once per chunk); when m is small,
     * split the columns instead. */
    g.rows = m >= 4096 ? 512 : m >= 512 ? 256 : m;
    g.cols = n;
    if (m < 512 && n >= 512) g.cols = 256;
    g.n_col_chunks = (n + g.cols - 1) / g.cols;
    int64_t n_row_chunks = (m + g.rows - 1) / g.rows;
    sdf_pool_for(pool, (size_t)(n_row_chunks * g.n_col_chunks), 1, gemm_chunk, &g);
}

void sdf_k_sgemm(sdf_pool *pool, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                 int64_t ldc) {
    sgemm_bias(pool, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, NULL);
}

void sdf_k_linear_ref(float *y, const float *x, const float *w, const float *bias, int64_t rows,
                      int64_t in, int64_t out) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t o = 0; o < out; o++) {
            double s = bias ? bias[o] : 0.0;
            for (int64_t i = 0; i < in; i++) s += (double)x[r * in + i] * (double)w[o * in + i];
            y[r * out + o] = (float)s;
        }
}

void sdf_k_linear(sdf_pool *pool, float *y, const float *x, const float *w, const float *bias,
                  int64_t rows, int64_t in, int64_t out) {
    sgemm_bias(pool, true, rows, out, in, 1.0f, x, in, w, in, 0.0f, y, out, bias);
}
