/* model.h: the loaded-model objects behind MODEL, CLIP and VAE values.
 *
 * Owns:      sdf_model (UNet + its sampling parameters), sdf_clip (tokenizer + text encoder),
 *            sdf_vae (autoencoder), their configurations as detected from a checkpoint, and the
 *            handle vtables that wrap them in sdf_value.
 * Weights:   each object holds an sdf_wstore with canonical names (original single-file layout,
 *            component prefix removed):
 *              UNet  "model.diffusion_model." removed: "input_blocks.0.0.weight", ...
 *              VAE   "first_stage_model." removed:    "decoder.conv_in.weight", ...
 *              CLIP  HF layout, "text_model.*" (SD1 "cond_stage_model.transformer." removed; SD2
 *                    OpenCLIP keys converted to the same HF names, plus "text_projection.weight").
 * Sharing:   objects are refcounted and immutable once published. A LoRA or merge makes a NEW
 *            object whose wstore is an overlay of the base's (wstore.h); the base is untouched.
 *            `impl` is a lazily built, module-private runtime (prepared layers) owned by the
 *            object and freed with it via impl_free.
 * Threads:   retain/release are atomic; forward passes on one object may run concurrently.
 */
#ifndef SDF_MODEL_H
#define SDF_MODEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "../graph/value.h"
#include "wstore.h"

typedef enum sdf_arch {
    SDF_ARCH_SD1,
    SDF_ARCH_SD2,
    SDF_ARCH_COUNT
} sdf_arch;

typedef enum sdf_prediction {
    SDF_PRED_EPS,
    SDF_PRED_V,
    SDF_PRED_COUNT
} sdf_prediction;

#define SDF_UNET_MAX_LEVELS 8

typedef struct sdf_unet_config {
    int  in_channels;     /* 4, or 9 for inpainting UNets */
    int  out_channels;    /* 4 */
    int  model_channels;  /* 320 for SD1/SD2 */
    int  n_levels;
    int  channel_mult[SDF_UNET_MAX_LEVELS];
    int  num_res_blocks[SDF_UNET_MAX_LEVELS];
    /* transformer depth per ResBlock of the input path (n_levels * num_res_blocks entries), of the
     * output path (n_levels * (num_res_blocks + 1)), and of the middle block (-1: no attention). */
    int  transformer_depth[SDF_UNET_MAX_LEVELS * 4];
    int  transformer_depth_output[SDF_UNET_MAX_LEVELS * 5];
    int  transformer_depth_middle;
    int  context_dim;     /* 768 SD1, 1024 SD2 */
    bool use_linear_in_transformer; /* SD2: proj_in/out are Linear */
    int  num_heads;         /* SD1: 8 (fixed head count); -1 when num_head_channels is used */
    int  num_head_channels; /* SD2: 64; -1 when num_heads is used */
} sdf_unet_config;

typedef struct sdf_vae_config {
    int   ch;             /* 128 */
    int   n_levels;
    int   ch_mult[SDF_UNET_MAX_LEVELS];
    int   num_res_blocks; /* encoder; the decoder has num_res_blocks + 1 */
    int   z_channels;     /* 4 */
    int   in_channels;    /* 3 */
    int   out_ch;         /* 3 */
    int   downscale;      /* 2^(n_levels-1): 8 for SD, 4 for the tiny reference VAE */
    float scale_factor;   /* 0.18215 (SD1/SD2 latent format) */
} sdf_vae_config;

typedef struct sdf_clip_config {
    int  width;       /* 768 CLIP-L, 1024 OpenCLIP-H */
    int  layers;      /* 12 / 24 */
    int  heads;       /* 12 / 16 */
    int  mlp;         /* 3072 / 4096 */
    int  vocab;       /* 49408 */
    int  positions;   /* 77 */
    bool quick_gelu;  /* SD1 quick_gelu; SD2 exact gelu */
    int  start_token, end_token, pad_token; /* SD1 pads with end (49407); SD2 pads with 0 */
    int  default_layer_idx; /* SD1: none (last, 0); SD2: penultimate (-2 expressed as layer) */
    bool has_projection;    /* SD2 text_projection */
} sdf_clip_config;

typedef struct sdf_model {
    atomic_int      refcount;
    sdf_arch        arch;
    sdf_unet_config unet;
    sdf_wstore     *weights;       /* UNet weights, canonical names */
    sdf_prediction  prediction;
    bool            zsnr;
    float           latent_scale;  /* 0.18215 */
    char            name[256];     /* file stem, for logs and the A1111 chunk */
    char            sha256[65];    /* of the checkpoint file, when known ("" otherwise) */
    /* module-private prepared runtime (e.g. the UNet's resolved layer table) */
    pthread_mutex_t impl_mu;
    void           *impl;
    void          (*impl_free)(void *impl);
} sdf_model;

typedef struct sdf_clip {
    atomic_int      refcount;
    sdf_arch        arch;
    sdf_clip_config cfg;
    sdf_wstore     *weights;   /* text encoder, canonical HF names "text_model.*" */
    int             layer_idx; /* CLIPSetLastLayer: 0 = last (default), -1, -2, ... */
    char            vocab_dir[1024]; /* where vocab.json + merges.txt were found ("" = embedded) */
    void           *tokenizer; /* module-private, shared between clones; freed by tokenizer_free */
    void          (*tokenizer_free)(void *);
    atomic_int     *tokenizer_refs; /* shared count for the tokenizer between clones */
    pthread_mutex_t impl_mu;
    void           *impl;
    void          (*impl_free)(void *impl);
} sdf_clip;

typedef struct sdf_vae {
    atomic_int     refcount;
    sdf_vae_config cfg;
    sdf_wstore    *weights; /* canonical names "encoder.*", "decoder.*", "quant_conv.*", ... */
    char           name[256];
    pthread_mutex_t impl_mu;
    void           *impl;
    void          (*impl_free)(void *impl);
} sdf_vae;

/* Constructors take over the caller's reference to `weights`. */
sdf_model *sdf_model_new(sdf_wstore *weights, sdf_error *err);
sdf_clip  *sdf_clip_new(sdf_wstore *weights, sdf_error *err);
sdf_vae   *sdf_vae_new(sdf_wstore *weights, sdf_error *err);
/* A new object with the same configuration and an overlay of the weights (for patching). */
sdf_model *sdf_model_clone(const sdf_model *m, sdf_error *err);
sdf_clip  *sdf_clip_clone(const sdf_clip *c, sdf_error *err);
sdf_vae   *sdf_vae_clone(const sdf_vae *v, sdf_error *err);

sdf_model *sdf_model_retain(sdf_model *m);
sdf_clip  *sdf_clip_retain(sdf_clip *c);
sdf_vae   *sdf_vae_retain(sdf_vae *v);
void       sdf_model_release(sdf_model *m); /* NULL-safe */
void       sdf_clip_release(sdf_clip *c);
void       sdf_vae_release(sdf_vae *v);

/* Handle vtables: sdf_value_handle(SDF_VT_MODEL, sdf_model_retain(m), &sdf_model_handle). */
extern const sdf_handle_type sdf_model_handle;
extern const sdf_handle_type sdf_clip_handle;
extern const sdf_handle_type sdf_vae_handle;

#endif
