/* a1111.h: the A1111-style "parameters" PNG text of a saved image (decisions.md).
 *
 * Owns:      a pure function of the canonical API prompt and the id of the SaveImage node:
 *              <positive>\nNegative prompt: <negative>\nSteps: N, Sampler: S, Schedule type: T,
 *              CFG scale: C, Seed: S, Size: WxH, Model hash: H, Model: M[, Denoising strength: D]
 *            from the first KSampler / KSamplerAdvanced, in a deterministic topological order of
 *            the save node's ancestors (ids ascending among ready nodes), and the CLIPTextEncode
 *            texts its positive / negative conditioning comes from (through ConditioningCombine,
 *            SetArea, Average, ... and the positive/negative outputs of nodes such as
 *            ControlNetApplyAdvanced), each trimmed of surrounding whitespace, joined with ", ".
 *            ConditioningZeroOut contributes no text. The "Negative prompt" line is left out
 *            when the negative text is empty (as A1111 does).
 *            Names: ComfyUI samplers A1111 has are mapped to A1111's names (euler -> Euler,
 *            euler_ancestral -> Euler a, dpmpp_2m -> DPM++ 2M, *_gpu -> the CPU name, uni_pc and
 *            uni_pc_bh2 -> UniPC, ...); the others keep their ComfyUI name. Schedulers: simple
 *            -> Simple, sgm_uniform -> SGM Uniform, karras -> Karras, exponential -> Exponential,
 *            ddim_uniform -> DDIM, beta -> Beta, normal -> Normal, linear_quadratic -> Linear
 *            Quadratic, kl_optimal -> KL Optimal (A1111 1.9+ labels; unknown names verbatim).
 *            CFG and denoise print with up to 6 significant digits (0.8700000000000001 -> 0.87).
 *            Size: the sampler's latent traced back to EmptyLatentImage (through LatentUpscale /
 *            LatentUpscaleBy / batch and mask nodes), else the width x height passed in. Model:
 *            the ckpt_name reached through the sampler's model input (LoRA, merges, ...), as its
 *            file stem; Model hash: first 10 hex of ckpt_sha256 (left out when the callback is
 *            NULL or fails, or when no checkpoint is found).
 * Exactness: the seed is printed exactly when the prompt holds it as a raw number item (as
 *            sdf_json_dup_exact and sdf_json_int_item make), as a number item carrying its
 *            literal in valuestring (sdf_json_parse in workflow.h), as a string of digits, or
 *            as a double below 2^53.
 * Ownership: returns sdf_malloc'd text (sdf_free), or NULL when no sampler feeds the image (or
 *            the save node is absent, or memory ran out).
 * Threads:   pure; ckpt_sha256 is called from the calling thread.
 */
#ifndef SDF_A1111_H
#define SDF_A1111_H

#include "../base/error.h"

typedef struct cJSON cJSON;

char *sdf_a1111_parameters(const cJSON *prompt, const char *save_node_id, int width, int height,
                           sdf_status (*ckpt_sha256)(void *user, const char *ckpt_name,
                                                     char hex[65]),
                           void *user);

/* A1111's name for a ComfyUI sampler / scheduler name (the name itself when A1111 lacks it). */
const char *sdf_a1111_sampler_name(const char *comfy_name);
const char *sdf_a1111_scheduler_name(const char *comfy_name);

#endif
