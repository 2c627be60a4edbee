/* nn.h: prepared layers shared by the UNet and the VAE (module-private to core/models).
 *
 * Owns:      sdf_nn_params, the list of weight tensors a prepared network holds (retained until
 *            sdf_nn_params_free), a scratch buffer for per-use weight conversion, and small layer
 *            structs (conv, linear, norm) whose forward functions allocate their output.
 * Weights:   conv and linear matrices stored as f16/bf16 stay in their stored form (a view of the
 *            mmap'd file: no f32 copy, no page faults for one) and are converted to f32 into the
 *            network's scratch buffer at each use, in parallel on the pool, just before the GEMM.
 *            The conversion is exact, so results are bit-identical to converting once; it costs
 *            a pass over the weights per forward and saves the f32 copy (3.4 GB for SD1.5) and
 *            the time to fault it in (a 64x64 SD1.5 UNet call measured 6.41 s this way against
 *            6.76 s with f32 copies). Biases, norms and small matrices are converted once.
 * Ownership: forward functions return NEW buffers from sdf_malloc_aligned (NULL on OOM); inputs
 *            are borrowed.
 * Threads:   prepared layers are read-only; forwards on them may run concurrently (a forward that
 *            finds the scratch buffer in use converts into a buffer of its own).
 */
#ifndef SDF_NN_H
#define SDF_NN_H

#include "../kernels/kernels.h"
#include "model_ops.h"
#include "wstore.h"

#include <pthread.h>

/* One reusable f32 buffer for converting a half-precision weight just before use. */
typedef struct sdf_nn_scratch {
    pthread_mutex_t mu;
    float          *buf;
    size_t          cap; /* floats */
} sdf_nn_scratch;

/* A conv/linear weight: f32 data, or f16/bf16 data converted at each use. */
typedef struct sdf_nn_weight {
    const float    *f32;     /* set when held as f32 */
    const void     *half;    /* else: the stored f16/bf16 elements */
    sdf_dtype       dtype;   /* of half */
    int64_t         numel;
    sdf_nn_scratch *scratch; /* the owning network's, for half */
} sdf_nn_weight;

typedef struct sdf_nn_params {
    sdf_wstore    *w;
    sdf_tensor   **held;
    size_t         n, cap;
    sdf_error     *err;
    sdf_status     st; /* first failure */
    sdf_nn_scratch scratch;
} sdf_nn_params;

void sdf_nn_params_init(sdf_nn_params *p, sdf_wstore *w, sdf_error *err);
void sdf_nn_params_free(sdf_nn_params *p);
/* The f32 data of weight `name` (printf-style), checked to have `numel` elements (-1: any).
 * On failure records the error in p->st / p->err and returns NULL. */
const float *sdf_nn_get(sdf_nn_params *p, int64_t numel, const char *fmt, ...) SDF_PRINTF(3, 4);
bool sdf_nn_has(sdf_nn_params *p, const char *fmt, ...) SDF_PRINTF(2, 3);
/* Dims of a weight (ndim 0 when absent). */
int sdf_nn_shape(sdf_nn_params *p, int64_t shape[SDF_MAX_DIMS], const char *fmt, ...)
    SDF_PRINTF(3, 4);

/* A conv/linear weight as f32 for one use: borrowed (f32 weights) or converted into the network's
 * scratch buffer (locked until sdf_nn_weight_end) or into a buffer of the use's own. */
typedef struct sdf_nn_weight_use {
    const float    *f32;
    float          *owned;
    sdf_nn_scratch *locked;
} sdf_nn_weight_use;

static inline sdf_model_op_w sdf_model_op_weight(const sdf_nn_weight *w) {
    return (sdf_model_op_w){w->f32, w->half, w->dtype, w->numel};
}

/* NULL only when out of memory. */
const float *sdf_nn_weight_begin(sdf_pool *pool, const sdf_nn_weight *w, sdf_nn_weight_use *u);
void         sdf_nn_weight_end(sdf_nn_weight_use *u);

typedef struct sdf_nn_conv {
    sdf_nn_weight w;
    const float  *b;
    int64_t cin, cout, k;
    int stride, pad_t, pad_l, pad_b, pad_r;
} sdf_nn_conv;

typedef struct sdf_nn_linear {
    sdf_nn_weight w;
    const float  *b;
    int64_t in, out;
} sdf_nn_linear;

typedef struct sdf_nn_norm {
    const float *g, *b;
    int64_t c;
    float eps;
} sdf_nn_norm;

/* Loads "<prefix>.weight" / "<prefix>.bias" (bias optional for linear when has_bias false).
 * The conv's cin/cout/k come from the weight's shape; padding k/2 on all sides, stride 1. */
bool sdf_nn_conv_load(sdf_nn_params *p, sdf_nn_conv *c, const char *prefix);
bool sdf_nn_linear_load(sdf_nn_params *p, sdf_nn_linear *l, const char *prefix, bool has_bias);
bool sdf_nn_norm_load(sdf_nn_params *p, sdf_nn_norm *n, const char *prefix, float eps);

float *sdf_nn_alloc(int64_t n);
/* y[n, cout, oh, ow] for x[n, cin, h, w]; oh and ow receive the output size. */
float *sdf_nn_conv_fwd(sdf_pool *pool, const sdf_nn_conv *c, const float *x, int64_t n, int64_t h,
                       int64_t w, int64_t *oh, int64_t *ow);
float *sdf_nn_linear_fwd(sdf_pool *pool, const sdf_nn_linear *l, const float *x, int64_t rows);
/* GroupNorm (32 groups) with optional fused SiLU; y may equal x. */
void sdf_nn_gn(sdf_pool *pool, const sdf_nn_norm *nm, float *y, const float *x, int64_t n,
               int64_t hw, bool silu);

#endif
