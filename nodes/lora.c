/* lora.c: the "lora" node family: LoRA loaders, model merging and CheckpointSave.
 * Definitions only call into core/ (models/lora.h, models/checkpoint.h). */
#include "nodes.h"

#define STRENGTH(n) SDF_IN_FLOAT(n, 1.0, -100.0, 100.0, 0.01)

/* ---- LoraLoader (alias LoraApply) ---- */
static const sdf_input_def lora_in[] = {
    SDF_IN_LINK("model", SDF_VT_MODEL),
    SDF_IN_LINK("clip", SDF_VT_CLIP),
    SDF_IN_FILE("lora_name", SDF_FILE_LORAS),
    STRENGTH("strength_model"),
    STRENGTH("strength_clip"),
};
static const sdf_output_def lora_out[] = {
    {"MODEL", SDF_VT_MODEL},
    {"CLIP", SDF_VT_CLIP},
};
static const sdf_node_def lora_def = {
    .class_type = "LoraLoader",
    .display_name = "Load LoRA",
    .category = "loaders",
    .description = "LoRAs are used to modify diffusion and CLIP models, altering the way in which "
                   "latents are denoised such as applying styles. Multiple LoRA nodes can be "
                   "linked together.",
    .inputs = lora_in,
    .n_inputs = (int)SDF_COUNTOF(lora_in),
    .outputs = lora_out,
    .n_outputs = (int)SDF_COUNTOF(lora_out),
    .run = NULL,
};

/* ---- LoraLoaderModelOnly ---- */
static const sdf_input_def lora_mo_in[] = {
    SDF_IN_LINK("model", SDF_VT_MODEL),
    SDF_IN_FILE("lora_name", SDF_FILE_LORAS),
    STRENGTH("strength_model"),
};
static const sdf_output_def model_out[] = {
    {"MODEL", SDF_VT_MODEL},
};
static const sdf_node_def lora_mo_def = {
    .class_type = "LoraLoaderModelOnly",
    .display_name = "LoraLoaderModelOnly",
    .category = "loaders",
    .description = "Applies a LoRA to the diffusion model only.",
    .inputs = lora_mo_in,
    .n_inputs = (int)SDF_COUNTOF(lora_mo_in),
    .outputs = model_out,
    .n_outputs = (int)SDF_COUNTOF(model_out),
    .run = NULL,
};

/* ---- model merging ---- */
static const sdf_input_def merge_simple_in[] = {
    SDF_IN_LINK("model1", SDF_VT_MODEL),
    SDF_IN_LINK("model2", SDF_VT_MODEL),
    SDF_IN_FLOAT("ratio", 1.0, 0.0, 1.0, 0.01),
};
static const sdf_node_def merge_simple_def = {
    .class_type = "ModelMergeSimple",
    .display_name = "ModelMergeSimple",
    .category = "advanced/model_merging",
    .description = "W = W1 * ratio + W2 * (1 - ratio) on every UNet weight both models have.",
    .inputs = merge_simple_in,
    .n_inputs = (int)SDF_COUNTOF(merge_simple_in),
    .outputs = model_out,
    .n_outputs = (int)SDF_COUNTOF(model_out),
    .run = NULL,
};

static const sdf_input_def merge_sub_in[] = {
    SDF_IN_LINK("model1", SDF_VT_MODEL),
    SDF_IN_LINK("model2", SDF_VT_MODEL),
    SDF_IN_FLOAT("multiplier", 1.0, -10.0, 10.0, 0.01),
};
static const sdf_node_def merge_sub_def = {
    .class_type = "ModelMergeSubtract",
    .display_name = "ModelMergeSubtract",
    .category = "advanced/model_merging",
    .description = "W = W1 + multiplier * (W1 - W2) on every UNet weight both models have.",
    .inputs = merge_sub_in,
    .n_inputs = (int)SDF_COUNTOF(merge_sub_in),
    .outputs = model_out,
    .n_outputs = (int)SDF_COUNTOF(model_out),
    .run = NULL,
};

static const sdf_input_def merge_add_in[] = {
    SDF_IN_LINK("model1", SDF_VT_MODEL),
    SDF_IN_LINK("model2", SDF_VT_MODEL),
};
static const sdf_node_def merge_add_def = {
    .class_type = "ModelMergeAdd",
    .display_name = "ModelMergeAdd",
    .category = "advanced/model_merging",
    .description = "W = W1 + W2 on every UNet weight both models have.",
    .inputs = merge_add_in,
    .n_inputs = (int)SDF_COUNTOF(merge_add_in),
    .outputs = model_out,
    .n_outputs = (int)SDF_COUNTOF(model_out),
    .run = NULL,
};

static const sdf_input_def clip_merge_in[] = {
    SDF_IN_LINK("clip1", SDF_VT_CLIP),
    SDF_IN_LINK("clip2", SDF_VT_CLIP),
    SDF_IN_FLOAT("ratio", 1.0, 0.0, 1.0, 0.01),
};
static const sdf_output_def clip_out[] = {
    {"CLIP", SDF_VT_CLIP},
};
static const sdf_node_def clip_merge_def = {
    .class_type = "CLIPMergeSimple",
    .display_name = "CLIPMergeSimple",
    .category = "advanced/model_merging",
    .description = "W = W1 * ratio + W2 * (1 - ratio) on every text-encoder weight both have.",
    .inputs = clip_merge_in,
    .n_inputs = (int)SDF_COUNTOF(clip_merge_in),
    .outputs = clip_out,
    .n_outputs = (int)SDF_COUNTOF(clip_out),
    .run = NULL,
};

/* ---- CheckpointSave ---- */
static const sdf_input_def ckpt_save_in[] = {
    SDF_IN_LINK("model", SDF_VT_MODEL),
    SDF_IN_LINK("clip", SDF_VT_CLIP),
    SDF_IN_LINK("vae", SDF_VT_VAE),
    SDF_IN_STRING("filename_prefix", "checkpoints/ComfyUI", false),
};
static const sdf_node_def ckpt_save_def = {
    .class_type = "CheckpointSave",
    .display_name = "Save Checkpoint",
    .category = "advanced/model_merging",
    .description = "Writes MODEL, CLIP and VAE as one original-layout .safetensors file in the "
                   "output directory.",
    .inputs = ckpt_save_in,
    .n_inputs = (int)SDF_COUNTOF(ckpt_save_in),
    .outputs = NULL,
    .n_outputs = 0,
    .flags = SDF_NODE_OUTPUT,
    .run = NULL,
};

static const sdf_node_def *const defs[] = {
    &lora_def,      &lora_mo_def,    &merge_simple_def, &merge_sub_def,
    &merge_add_def, &clip_merge_def, &ckpt_save_def,
};

const sdf_node_family sdf_family_lora = {"lora", defs, SDF_COUNTOF(defs)};
