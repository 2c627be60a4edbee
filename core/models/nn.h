/* nn.h: prepared layers shared by the UNet and the VAE (module-private to core/models).
 *
 * Owns:      sdf_nn_params, the list of f32 weight tensors a prepared network holds (converted
 *            once through the weight store and retained until sdf_nn_params_free), and small
 *            layer structs (conv, linear, norm) whose forward functions allocate their output.
 * Ownership: forward functions return NEW buffers from sdf_malloc_aligned (NULL on OOM); inputs
 *            are borrowed.
 * Threads:   prepared layers are read-only; forwards on them may run concurrently.
 */
#ifndef SDF_NN_H
#define SDF_NN_H

#include "../kernels/kernels.h"
#include "wstore.h"

typedef struct sdf_nn_params {
    sdf_wstore  *w;
    sdf_tensor **held;
    size_t       n, cap;
    sdf_error   *err;
    sdf_status   st; /* first failure */
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

typedef struct sdf_nn_conv {
    const float *w, *b;
    int64_t cin, cout, k;
    int stride, pad_t, pad_l, pad_b, pad_r;
} sdf_nn_conv;

typedef struct sdf_nn_linear {
    const float *w, *b;
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
