/* norm.c: GroupNorm (+ fused SiLU) and LayerNorm.
 * Both variants use two passes with double accumulators (mean, then centred variance); the
 * optimized variant runs the same per-(image, group) / per-row code in parallel chunks, which is
 * all these memory-bound kernels need. */
#include <math.h>

#include "kernels.h"
#include "vmath.h"

/* sum of x (sub == 0) or of (x - sub)^2 in double with 8 independent accumulators (a fixed
 * order, so the same for any thread count) */
static double sum8(const float *x, int64_t n, double sub) {
    double a[8] = {0};
    int64_t i = 0;
    if (sub == 0.0)
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) a[k] += x[i + k];
    else
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) {
                double d = x[i + k] - sub;
                a[k] += d * d;
            }
    for (; i < n; i++) {
        double d = x[i] - sub;
        a[0] += sub == 0.0 ? x[i] : d * d;
    }
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* y = (x - mean) / sqrt(var + eps) * gamma + beta over one (image, group). */
static void gn_one(float *y, const float *x, const float *gamma, const float *beta, int64_t c0,
                   int64_t cg, int64_t hw, float eps, bool act) {
    int64_t cnt = cg * hw;
    double mean = sum8(x, cnt, 0.0) / (double)cnt;
    double v = sum8(x, cnt, mean);
    double rstd = 1.0 / sqrt(v / (double)cnt + (double)eps);
    for (int64_t ch = 0; ch < cg; ch++) {
        float a = (float)(rstd * gamma[c0 + ch]), b = beta[c0 + ch], fm = (float)mean;
        const float *xp = x + ch * hw;
        float *yp = y + ch * hw;
        for (int64_t i = 0; i < hw; i++) yp[i] = (xp[i] - fm) * a + b;
        if (act) sdf_vm_silu(yp, yp, hw);
    }
}

void sdf_k_groupnorm_ref(float *y, const float *x, const float *gamma, const float *beta,
                         int64_t n, int64_t c, int64_t hw, int groups, float eps, bool act) {
    int64_t cg = c / groups;
    for (int64_t b = 0; b < n; b++)
        for (int g = 0; g < groups; g++) {
            int64_t off = (b * c + g * cg) * hw;
            int64_t cnt = cg * hw;
            double s = 0;
            for (int64_t i = 0; i < cnt; i++) s += x[off + i];
            double mean = s / (double)cnt, v = 0;
            for (int64_t i = 0; i < cnt; i++) v += (x[off + i] - mean) * (x[off + i] - mean);
            double var = v / (double)cnt;
            for (int64_t ch = 0; ch < cg; ch++)
                for (int64_t i = 0; i < hw; i++) {
                    int64_t idx = off + ch * hw + i;
                    double r = (x[idx] - mean) / sqrt(var + (double)eps) * gamma[g * cg + ch] +
                               beta[g * cg + ch];
                    y[idx] = act ? (float)(r / (1.0 + exp(-r))) : (float)r;
                }
        }
}

typedef struct gn_ctx {
    float *y;
    const float *x, *gamma, *beta;
    int64_t c, hw, cg;
    int groups;
    float eps;
    bool act;
} gn_ctx;

static void gn_chunk(void *vctx, size_t begin, size_t end, int slot) {
    (void)slot;
    gn_ctx *g = vctx;
    sdf_k_ftz();
    for (size_t t = begin; t < end; t++) {
        int64_t b = (int64_t)t / g->groups, gi = (int64_t)t % g->groups;
        int64_t off = (b * g->c + gi * g->cg) * g->hw;
        gn_one(g->y + off, g->x + off, g->gamma, g->beta, gi * g->cg, g->cg, g->hw, g->eps,
               g->act);
    }
}

void sdf_k_groupnorm(sdf_pool *pool, float *y, const float *x, const float *gamma,
                     const float *beta, int64_t n, int64_t c, int64_t hw, int groups, float eps,
                     bool act) {
    gn_ctx g = {y, x, gamma, beta, c, hw, c / groups, groups, eps, act};
    sdf_pool_for(pool, (size_t)(n * groups), 1, gn_chunk, &g);
}

void sdf_k_layernorm_ref(float *y, const float *x, const float *gamma, const float *beta,
                         int64_t rows, int64_t dim, float eps) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xp = x + r * dim;
        double s = 0, v = 0;
        for (int64_t i = 0; i < dim; i++) s += xp[i];
        double mean = s / (double)dim;
        for (int64_t i = 0; i < dim; i++) v += (xp[i] - mean) * (xp[i] - mean);
        double rstd = 1.0 / sqrt(v / (double)dim + (double)eps);
        for (int64_t i = 0; i < dim; i++)
            y[r * dim + i] = (float)((xp[i] - mean) * rstd * gamma[i] + beta[i]);
    }
}

typedef struct ln_ctx {
    float *y;
    const float *x, *gamma, *beta;
    int64_t dim;
    float eps;
} ln_ctx;

static void ln_chunk(void *vctx, size_t begin, size_t end, int slot) {
    (void)slot;
    ln_ctx *l = vctx;
    sdf_k_ftz();
    for (size_t r = begin; r < end; r++) {
        const float *xp = l->x + (int64_t)r * l->dim;
        float *yp = l->y + (int64_t)r * l->dim;
        double s = 0, v = 0;
        for (int64_t i = 0; i < l->dim; i++) s += xp[i];
        double mean = s / (double)l->dim;
        for (int64_t i = 0; i < l->dim; i++) {
            double d = xp[i] - mean;
            v += d * d;
        }
        float rstd = (float)(1.0 / sqrt(v / (double)l->dim + (double)l->eps));
        float fm = (float)mean;
        for (int64_t i = 0; i < l->dim; i++) yp[i] = (xp[i] - fm) * rstd * l->gamma[i] + l->beta[i];
    }
}

void sdf_k_layernorm(sdf_pool *pool, float *y, const float *x, const float *gamma,
                     const float *beta, int64_t rows, int64_t dim, float eps) {
    ln_ctx l = {y, x, gamma, beta, dim, eps};
    sdf_pool_for(pool, (size_t)rows, 64, ln_chunk, &l);
}
