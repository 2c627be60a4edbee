/* model_ops.h: the list of heavy operations a UNet / VAE forward performs at a given size, for
 * analytic FLOP counts and per-kernel benchmarks (`sdflow bench`). Walks the same prepared
 * layers as the forward pass (preparing them if needed) without computing anything.
 * Ownership: the op passed to fn is borrowed for the call; weight pointers stay valid while the
 *            model/vae lives. Threads: as the forward functions. */
#ifndef SDF_MODEL_OPS_H
#define SDF_MODEL_OPS_H

#include "../kernels/kernels.h"
#include "model.h"

typedef enum sdf_op_kind { SDF_OP_CONV, SDF_OP_LINEAR, SDF_OP_ATTN } sdf_op_kind;

/* A weight as stored: f32, or f16/bf16 that the forward converts at each use (models/nn.h). */
typedef struct sdf_model_op_w {
    const float *f32;   /* NULL when half */
    const void  *half;
    sdf_dtype    dtype;
    int64_t      numel;
} sdf_model_op_w;

typedef struct sdf_model_op {
    sdf_op_kind    kind;
    sdf_conv_shape conv;            /* SDF_OP_CONV (n = batch) */
    int64_t        rows, in, out;   /* SDF_OP_LINEAR */
    sdf_attn_shape attn;            /* SDF_OP_ATTN */
    sdf_model_op_w w;               /* conv / linear weight */
    const float   *b;               /* conv / linear bias */
    double         flops;           /* 1 FMA = 2 */
} sdf_model_op;

typedef void (*sdf_model_op_fn)(void *ctx, const sdf_model_op *op);

/* UNet forward on [B, in_ch, h, w] latents with T context tokens. */
sdf_status sdf_unet_walk(sdf_model *m, int64_t B, int64_t h, int64_t w, int64_t T,
                         sdf_model_op_fn fn, void *ctx, sdf_error *err);
/* VAE decoder on an h x w latent, or encoder on an h x w image (one image). */
sdf_status sdf_vae_walk(sdf_vae *v, bool encoder, int64_t h, int64_t w, sdf_model_op_fn fn,
                        void *ctx, sdf_error *err);

#endif
