/* kernels.h: the f32 compute kernels under the UNet, VAE and CLIP.
 *
 * Owns:      dense maths on raw pointers with explicit dimensions (no sdf_tensor here). Every
 *            kernel has a plain scalar reference `*_ref` (nested loops, no threads, double
 *            accumulators for long sums, the formula in its comment) and an optimized variant
 *            with the same arguments plus the pool; tests/test_kernels.c compares them.
 * Layouts:   row-major. Images NCHW; tokens [rows, channels]; conv weights [Cout, Cin, kh, kw];
 *            linear weights [out, in] (torch layout).
 * Threads:   optimized kernels split their OUTPUT into chunks whose boundaries depend only on the
 *            shapes (never on the thread count), run them with sdf_pool_for (pool may be NULL),
 *            and never reduce across chunks: results are bit-identical for 1 and N threads.
 *            Matrix products go through OpenBLAS cblas_sgemm, each call single-threaded inside a
 *            chunk (sdf_blas_setup() sets OpenBLAS to 1 thread; see ARCHITECTURE.md, "Kernels, threads and BLAS").
 *            Every chunk sets flush-to-zero / denormals-are-zero on its thread.
 * Memory:    scratch is bounded per chunk (conv im2col works in row blocks, attention in
 *            query/key tiles), allocated with sdf_malloc and freed before returning.
 */
#ifndef SDF_KERNELS_H
#define SDF_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/threadpool.h"

/* ---- runtime set-up (blas_setup.c) ------------------------------------------------------- */

/* Sets FTZ/DAZ on the calling thread (SSE MXCSR). Kernels call it at the start of each chunk. */
void sdf_k_ftz(void);

/* Which GEMM kernel OpenBLAS runs ("SkylakeX", "Haswell", ...) — for logs and the run row. */
const char *sdf_blas_corename(void);
/* Process set-up for the kernels: OpenBLAS to 1 thread (kernels split work on the pool
 * instead), and glibc's mmap/trim thresholds raised (mallopt) so per-layer buffers are reused
 * from the heap instead of being mapped and page-faulted anew. Call once at start-up; the
 * UNet/VAE entry points call it too (idempotent). */
void sdf_blas_setup(void);

typedef enum sdf_blas_fix {
    SDF_BLAS_OK,           /* the core OpenBLAS picked is the best this CPU supports */
    SDF_BLAS_REEXEC_FAILED,/* a better core exists but re-executing failed: running slower */
    SDF_BLAS_SUBOPTIMAL    /* a better core exists but the guard forbids re-executing */
} sdf_blas_fix;

/* The OPENBLAS_CORETYPE trap: OpenBLAS reads OPENBLAS_CORETYPE once, when it loads. If it is
 * forcing a core weaker than the CPU supports (Haswell/AVX2 kernels on an AVX-512 CPU, half the
 * speed), this re-executes the current program (/proc/self/exe with argv) with the variable
 * corrected (SkylakeX, or Cooperlake with AVX-512 BF16) and SDF_BLAS_REEXEC=1 set so it never
 * loops. It returns only when no re-exec happened; then *msg (if not NULL) holds a one-line
 * explanation for the caller to print when the result is not SDF_BLAS_OK.
 * Call first thing in main(), before threads exist. Setting SDF_KEEP_BLAS_CORETYPE=1 disables it. */
sdf_blas_fix sdf_blas_fix_coretype(int argc, char **argv, char *msg, size_t msg_cap);

/* ---- GEMM (gemm.c) ----------------------------------------------------------------------- */

/* C[m,n] = alpha * A[m,k] * op(B) + beta * C, row-major with leading dimensions;
 * op(B) = B[k,n] (trans_b false) or B[n,k]^T (trans_b true). */
void sdf_k_sgemm_ref(bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                     int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
void sdf_k_sgemm(sdf_pool *pool, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                 int64_t ldc);
/* Single-threaded call straight into the BLAS (used inside chunks). */
void sdf_k_sgemm_1t(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                    int64_t ldc);

/* Linear layer: y[rows, out] = x[rows, in] * w[out, in]^T + bias[out] (bias may be NULL). */
void sdf_k_linear_ref(float *y, const float *x, const float *w, const float *bias, int64_t rows,
                      int64_t in, int64_t out);
void sdf_k_linear(sdf_pool *pool, float *y, const float *x, const float *w, const float *bias,
                  int64_t rows, int64_t in, int64_t out);

/* ---- convolution (conv2d.c) -------------------------------------------------------------- */

typedef struct sdf_conv_shape {
    int64_t n, cin, h, w;       /* input [n, cin, h, w] */
    int64_t cout, kh, kw;       /* weight [cout, cin, kh, kw] */
    int     stride;
    int     pad_t, pad_l, pad_b, pad_r; /* zero padding per side (VAE downsample: 0,0,1,1) */
} sdf_conv_shape;

int64_t sdf_conv_out_h(const sdf_conv_shape *s);
int64_t sdf_conv_out_w(const sdf_conv_shape *s);

/* y[n, cout, oh, ow] = bias[co] + sum_{ci,i,j} w[co,ci,i,j] * x[n, ci, oy*s+i-pt, ox*s+j-pl]
 * (zero outside the input). bias may be NULL. */
void sdf_k_conv2d_ref(float *y, const float *x, const float *w, const float *bias,
                      const sdf_conv_shape *s);
void sdf_k_conv2d(sdf_pool *pool, float *y, const float *x, const float *w, const float *bias,
                  const sdf_conv_shape *s);

/* ---- normalisation (norm.c) -------------------------------------------------------------- */

/* GroupNorm over x[n, c, hw] with `groups` contiguous channel groups (torch semantics: biased
 * variance, eps inside the sqrt), then per-channel gamma/beta, then optionally SiLU. */
void sdf_k_groupnorm_ref(float *y, const float *x, const float *gamma, const float *beta,
                         int64_t n, int64_t c, int64_t hw, int groups, float eps, bool silu);
void sdf_k_groupnorm(sdf_pool *pool, float *y, const float *x, const float *gamma,
                     const float *beta, int64_t n, int64_t c, int64_t hw, int groups, float eps,
                     bool silu);

/* LayerNorm over the last dim of x[rows, dim]. */
void sdf_k_layernorm_ref(float *y, const float *x, const float *gamma, const float *beta,
                         int64_t rows, int64_t dim, float eps);
void sdf_k_layernorm(sdf_pool *pool, float *y, const float *x, const float *gamma,
                     const float *beta, int64_t rows, int64_t dim, float eps);

/* ---- element-wise and layout (eltwise.c) ------------------------------------------------- */

typedef enum sdf_act {
    SDF_ACT_SILU,       /* x * sigmoid(x) */
    SDF_ACT_GELU,       /* 0.5 x (1 + erf(x / sqrt 2)) (exact) */
    SDF_ACT_QUICK_GELU  /* x * sigmoid(1.702 x) */
} sdf_act;

void sdf_k_act_ref(float *y, const float *x, int64_t n, sdf_act act);
void sdf_k_act(sdf_pool *pool, float *y, const float *x, int64_t n, sdf_act act);

/* GEGLU: x[rows, 2*dim] -> y[rows, dim] = x[:, :dim] * gelu(x[:, dim:]). */
void sdf_k_geglu_ref(float *y, const float *x, int64_t rows, int64_t dim);
void sdf_k_geglu(sdf_pool *pool, float *y, const float *x, int64_t rows, int64_t dim);

/* Softmax over the last dim of x[rows, dim] (in place allowed), scaled inputs: softmax(x*scale). */
void sdf_k_softmax_ref(float *y, const float *x, int64_t rows, int64_t dim, float scale);
void sdf_k_softmax(sdf_pool *pool, float *y, const float *x, int64_t rows, int64_t dim,
                   float scale);

/* y = a*alpha + b*beta (b may be NULL: y = a*alpha). In place allowed (y == a or y == b). */
void sdf_k_axpby_ref(float *y, const float *a, float alpha, const float *b, float beta, int64_t n);
void sdf_k_axpby(sdf_pool *pool, float *y, const float *a, float alpha, const float *b, float beta,
                 int64_t n);

/* y[plane, hw] += bias[plane % c] (per-channel add over NCHW planes). */
void sdf_k_add_channel(sdf_pool *pool, float *y, const float *bias, int64_t n, int64_t c,
                       int64_t hw);

/* Nearest resize of x[planes, ih, iw] to [planes, oh, ow], src = floor(dst * in / out)
 * (torch "nearest"; oh = 2ih, ow = 2iw is the x2 upsample). */
void sdf_k_upsample_nearest_ref(float *y, const float *x, int64_t planes, int64_t ih, int64_t iw,
                                int64_t oh, int64_t ow);
void sdf_k_upsample_nearest(sdf_pool *pool, float *y, const float *x, int64_t planes, int64_t ih,
                            int64_t iw, int64_t oh, int64_t ow);

/* Channel concat of NCHW tensors: y[n, ca+cb, hw] = [a[n, ca, hw], b[n, cb, hw]]. */
void sdf_k_concat_ref(float *y, const float *a, int64_t ca, const float *b, int64_t cb, int64_t n,
                      int64_t hw);
void sdf_k_concat(sdf_pool *pool, float *y, const float *a, int64_t ca, const float *b, int64_t cb,
                  int64_t n, int64_t hw);

/* Transpose per batch: x[n, r, c] -> y[n, c, r] (NCHW <-> tokens). */
void sdf_k_transpose_ref(float *y, const float *x, int64_t n, int64_t r, int64_t c);
void sdf_k_transpose(sdf_pool *pool, float *y, const float *x, int64_t n, int64_t r, int64_t c);

/* Sinusoidal timestep embedding (ldm, cos first), evaluated in f32 as ComfyUI does:
 * half = dim/2, f_k = expf(f32(-ln 10000 * k) / half), y[b] = [cos(t_b f_k), sin(t_b f_k)]. */
void sdf_k_timestep_embedding_ref(float *y, const float *t, int64_t n, int64_t dim);

/* ---- attention (attention.c) ------------------------------------------------------------- */

/* Multi-head attention. q rows at q + (b*nq + i)*ldq, head h owns columns h*d .. h*d+d-1;
 * k, v rows likewise with ldk, ldv over nk keys; out[b, i, h*d + e] with ldo.
 * out = softmax(q k^T * scale) v per (batch, head), softmax over the nk keys. */
typedef struct sdf_attn_shape {
    int64_t batch, nq, nk, heads, d;
    int64_t ldq, ldk, ldv, ldo;
    float   scale;
} sdf_attn_shape;

void sdf_k_attention_ref(float *out, const float *q, const float *k, const float *v,
                         const sdf_attn_shape *s);
/* Tiled with an online softmax: scratch O(tile_q * tile_k) per chunk, never nq x nk. */
void sdf_k_attention(sdf_pool *pool, float *out, const float *q, const float *k, const float *v,
                     const sdf_attn_shape *s);

#endif
