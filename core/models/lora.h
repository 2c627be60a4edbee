/* lora.h: LoRA / LyCORIS files applied to MODEL and CLIP as copy-on-write patches.
 *
 * Owns:      reading a LoRA file (.safetensors, or .pt/.ckpt through io/ckpt.h), recognising
 *            the patch of each key base as ComfyUI load_lora does (spec §4.6, §10.6 item 11):
 *            LoRA (kohya lora_up/lora_down, LoCon incl. 3x3 with lora_mid, diffusers/PEFT
 *            lora.up/lora_B/... forms), LoHa (incl. CP t1/t2), LoKr (incl. factorised and t2),
 *            alpha/rank scaling, DoRA (dora_scale), and diff / diff_b / w_norm / b_norm /
 *            set_weight; and applying them: W' = W + f32(s*alpha/rank) * dW computed in f32 once
 *            per weight into an overlay store of a clone (model.h), the base untouched. UNet
 *            weights are stored f32 (ComfyUI on CPU); text-encoder weights go back to f16 unless
 *            fp32_text_encoder.
 *            Model merging (ModelMergeSimple/Add/Subtract, CLIPMergeSimple) uses the same
 *            overlay mechanism: W = W1*strength_model + strength_patch*W2.
 * Ownership: sdf_lora_open returns a NEW handle (sdf_lora_free); apply/merge return NEW
 *            objects; inputs are borrowed.
 * Threads:   apply/merge may use the pool for the per-weight work; inputs are only read.
 */
#ifndef SDF_LORA_H
#define SDF_LORA_H

#include "../base/threadpool.h"
#include "model.h"

typedef struct sdf_lora sdf_lora;

sdf_status sdf_lora_open(const char *path, sdf_lora **out, sdf_error *err);
void       sdf_lora_free(sdf_lora *l); /* NULL-safe */
size_t     sdf_lora_count(const sdf_lora *l); /* tensors in the file */

#define SDF_LORA_REPORT_NAMES 8

typedef struct sdf_lora_report {
    int  n_keys;        /* tensors in the LoRA file */
    int  patched_unet;  /* UNet weights changed */
    int  patched_clip;  /* text-encoder weights changed */
    int  n_unmatched;   /* LoRA tensors used by no patch ("lora key not loaded") */
    char unmatched[SDF_LORA_REPORT_NAMES][160];
    int  n_skipped;     /* patches skipped (shape mismatch, unsupported form) */
    char skipped[SDF_LORA_REPORT_NAMES][320]; /* one message each */
} sdf_lora_report;

typedef struct sdf_lora_opts {
    double strength_model;
    double strength_clip;
    bool   fp32_text_encoder; /* keep patched CLIP weights f32 */
    sdf_pool *pool;           /* may be NULL */
} sdf_lora_opts;

/* Applies l to model and/or clip (either may be NULL; outputs for NULL inputs are NULL). A side
 * whose strength is 0 is returned as a new reference to its input. Errors: no key of the LoRA
 * matches anything (e.g. a LoRA for another architecture), or every matched patch had to be
 * skipped. Unmatched keys and skipped patches are listed in *rep (may be NULL). */
sdf_status sdf_lora_apply(const sdf_lora *l, sdf_model *model, sdf_clip *clip,
                          const sdf_lora_opts *opts, sdf_model **out_model, sdf_clip **out_clip,
                          sdf_lora_report *rep, sdf_error *err);

/* Model merging (ComfyUI add_patches(model2 weights, strength_patch, strength_model)):
 * every float weight both stores have with equal shapes becomes W1*sm + sp*W2 in f32 (a weight
 * is left alone when sm == 1 and sp == 0). Simple: sp = 1-ratio, sm = ratio; Subtract:
 * sp = -multiplier, sm = multiplier; Add: sp = sm = 1. */
sdf_status sdf_model_merge(sdf_model *m1, sdf_model *m2, double strength_patch,
                           double strength_model, sdf_pool *pool, sdf_model **out,
                           sdf_error *err);
/* The same for text encoders (position_ids and logit_scale are skipped); results are stored in
 * the first encoder's weight dtype. */
sdf_status sdf_clip_merge(sdf_clip *c1, sdf_clip *c2, double strength_patch, double strength_model,
                          sdf_pool *pool, sdf_clip **out, sdf_error *err);

#endif
