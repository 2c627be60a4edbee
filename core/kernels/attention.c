/* attention.c: multi-head scaled dot-product attention.
 * Reference: per (batch, head, query) the full score row in double: softmax(q k^T * scale) v.
 * Optimized: flash-style tiles. A chunk is (batch, head, block of ATT_QB queries); it walks the
 * keys in blocks of ATT_KB: S = Q K^T (sgemm), running max m and sum l per query, the
 * accumulator rescaled by exp(m_old - m_new), O += P V (sgemm); finally O / l. Scratch per chunk
 * is ATT_QB * (ATT_KB + d) floats, independent of the number of tokens. */
#include <math.h>
#include <string.h>

#include "../base/alloc.h"
#include "kernels.h"
#include "vmath.h"

#define ATT_QB 128
#define ATT_KB 512

void sdf_k_attention_ref(float *out, const float *q, const float *k, const float *v,
                         const sdf_attn_shape *s) {
    double *row = sdf_malloc((size_t)s->nk * sizeof(double));
    SDF_ASSERT(row);
    for (int64_t b = 0; b < s->batch; b++)
        for (int64_t h = 0; h < s->heads; h++)
            for (int64_t i = 0; i < s->nq; i++) {
                const float *qp = q + (b * s->nq + i) * s->ldq + h * s->d;
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j < s->nk; j++) {
                    const float *kp = k + (b * s->nk + j) * s->ldk + h * s->d;
                    double d = 0;
                    for (int64_t e = 0; e < s->d; e++) d += (double)qp[e] * kp[e];
                    row[j] = d * s->scale;
                    if (row[j] > mx) mx = row[j];
                }
                for (int64_t j = 0; j < s->nk; j++) {
                    row[j] = exp(row[j] - mx);
                    sum += row[j];
                }
                float *op = out + (b * s->nq + i) * s->ldo + h * s->d;
                for (int64_t e = 0; e < s->d; e++) {
                    double acc = 0;
                    for (int64_t j = 0; j < s->nk; j++)
                        acc += row[j] * v[(b * s->nk + j) * s->ldv + h * s->d + e];
                    op[e] = (float)(acc / sum);
                }
            }
    sdf_free(row);
}

typedef struct att_ctx {
    const sdf_attn_shape *s;
    float *out;
    const float *q, *k, *v;
    int64_t nqb; /* query blocks */
} att_ctx;

static void att_chunk(void *vctx, size_t begin, size_t end, int slot) {
    (void)slot;
    att_ctx *c = vctx;
    const sdf_attn_shape *s = c->s;
    sdf_k_ftz();
    int64_t d = s->d;
    int64_t kb_max = s->nk < ATT_KB ? s->nk : ATT_KB;
    float *S = sdf_malloc_aligned((size_t)(ATT_QB * kb_max + ATT_QB * d + 2 * ATT_QB) *
                                  sizeof(float));
    SDF_ASSERT(S); /* a few hundred KB */
    float *acc = S + ATT_QB * kb_max, *m = acc + ATT_QB * d, *l = m + ATT_QB;
    for (size_t t = begin; t < end; t++) {
        int64_t qb = (int64_t)t % c->nqb, bh = (int64_t)t / c->nqb;
        int64_t b = bh / s->heads, h = bh % s->heads;
        int64_t i0 = qb * ATT_QB, nq = s->nq - i0 < ATT_QB ? s->nq - i0 : ATT_QB;
        const float *qp = c->q + (b * s->nq + i0) * s->ldq + h * d;
        for (int64_t i = 0; i < nq; i++) {
            m[i] = -INFINITY;
            l[i] = 0.0f;
        }
        memset(acc, 0, (size_t)(nq * d) * sizeof(float));
        for (int64_t j0 = 0; j0 < s->nk; j0 += ATT_KB) {
            int64_t nk = s->nk - j0 < ATT_KB ? s->nk - j0 : ATT_KB;
            const float *kp = c->k + (b * s->nk + j0) * s->ldk + h * d;
            const float *vp = c->v + (b * s->nk + j0) * s->ldv + h * d;
            sdf_k_sgemm_1t(false, true, nq, nk, d, s->scale, qp, s->ldq, kp, s->ldk, 0.0f, S, nk);
            for (int64_t i = 0; i < nq; i++) {
                float *sr = S + i * nk;
                float mx = sdf_vm_max(sr, nk);
                if (m[i] > mx) mx = m[i];
                float corr = expf(m[i] - mx); /* 0 on the first block (m = -inf) */
                float sum = sdf_vm_expsum(sr, nk, mx);
                l[i] = l[i] * corr + sum;
                m[i] = mx;
                if (corr != 1.0f)
                    for (int64_t e = 0; e < d; e++) acc[i * d + e] *= corr;
            }
            sdf_k_sgemm_1t(false, false, nq, d, nk, 1.0f, S, nk, vp, s->ldv, 1.0f, acc, d);
        }
        for (int64_t i = 0; i < nq; i++) {
            float inv = 1.0f / l[i];
            float *op = c->out + (b * s->nq + i0 + i) * s->ldo + h * d;
            for (int64_t e = 0; e < d; e++) op[e] = acc[i * d + e] * inv;
        }
    }
    sdf_free(S);
}

void sdf_k_attention(sdf_pool *pool, float *out, const float *q, const float *k, const float *v,
                     const sdf_attn_shape *s) {
    if (s->batch <= 0 || s->nq <= 0 || s->heads <= 0) return;
    att_ctx c = {s, out, q, k, v, (s->nq + ATT_QB - 1) / ATT_QB};
    sdf_pool_for(pool, (size_t)(s->batch * s->heads * c.nqb), 1, att_chunk, &c);
}
