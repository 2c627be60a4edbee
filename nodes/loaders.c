/* loaders.c: the "loaders" node family (CheckpointLoaderSimple, CheckpointLoader, VAELoader,
 * CLIPLoader). Definitions only call into core/ (models/checkpoint.h). */
#include "nodes.h"

/* ---- CheckpointLoaderSimple ---- */
static const sdf_input_def ckpt_simple_in[] = {
    SDF_IN_FILE("ckpt_name", SDF_FILE_CHECKPOINTS),
};
static const sdf_output_def ckpt_out[] = {
    {"MODEL", SDF_VT_MODEL},
    {"CLIP", SDF_VT_CLIP},
    {"VAE", SDF_VT_VAE},
};
static const sdf_node_def ckpt_simple_def = {
    .class_type = "CheckpointLoaderSimple",
    .display_name = "Load Checkpoint",
    .category = "loaders",
    .description = "Loads a diffusion model checkpoint, diffusion models are used to denoise "
                   "latents.",
    .inputs = ckpt_simple_in,
    .n_inputs = (int)SDF_COUNTOF(ckpt_simple_in),
    .outputs = ckpt_out,
    .n_outputs = (int)SDF_COUNTOF(ckpt_out),
    .run = NULL,
};

/* ---- CheckpointLoader (deprecated; config accepted and ignored, decisions.md) ---- */
/* The configs ComfyUI ships in models/configs (3cd7b32f), so real workflows validate. */
static const char *const config_names[] = {
    "anything_v3.yaml",
    "v1-inference.yaml",
    "v1-inference_clip_skip_2.yaml",
    "v1-inference_clip_skip_2_fp16.yaml",
    "v1-inference_fp16.yaml",
    "v1-inpainting-inference.yaml",
    "v2-inference-v.yaml",
    "v2-inference-v_fp32.yaml",
    "v2-inference.yaml",
    "v2-inference_fp32.yaml",
    "v2-inpainting-inference.yaml",
};
static const sdf_input_def ckpt_cfg_in[] = {
    SDF_IN_COMBO("config_name", config_names, NULL),
    SDF_IN_FILE("ckpt_name", SDF_FILE_CHECKPOINTS),
};
static const sdf_node_def ckpt_cfg_def = {
    .class_type = "CheckpointLoader",
    .display_name = "Load Checkpoint With Config (DEPRECATED)",
    .category = "advanced/loaders",
    .description = "Loads a checkpoint; the config name is accepted and ignored (the "
                   "configuration is detected from the weights).",
    .inputs = ckpt_cfg_in,
    .n_inputs = (int)SDF_COUNTOF(ckpt_cfg_in),
    .outputs = ckpt_out,
    .n_outputs = (int)SDF_COUNTOF(ckpt_out),
    .run = NULL,
};

/* ---- VAELoader ---- */
static const sdf_input_def vae_in[] = {
    SDF_IN_FILE("vae_name", SDF_FILE_VAE),
};
static const sdf_output_def vae_out[] = {
    {"VAE", SDF_VT_VAE},
};
static const sdf_node_def vae_def = {
    .class_type = "VAELoader",
    .display_name = "Load VAE",
    .category = "loaders",
    .description = "Loads a VAE (original or diffusers key layout).",
    .inputs = vae_in,
    .n_inputs = (int)SDF_COUNTOF(vae_in),
    .outputs = vae_out,
    .n_outputs = (int)SDF_COUNTOF(vae_out),
    .run = NULL,
};

/* ---- CLIPLoader ---- */
static const char *const clip_types[] = {
    "stable_diffusion", "stable_cascade", "sd3",      "stable_audio", "mochi",
    "ltxv",             "pixart",         "cosmos",   "lumina2",      "wan",
    "hidream",          "chroma",         "ace",      "omnigen2",     "qwen_image",
    "hunyuan_image",    "flux2",          "ovis",
};
static const char *const clip_devices[] = {"default", "cpu"};
static const sdf_input_def clip_in[] = {
    SDF_IN_FILE("clip_name", SDF_FILE_CLIP),
    SDF_IN_COMBO("type", clip_types, NULL),
    {.name = "device", .type = SDF_VT_COMBO, .optional = true, .choices = clip_devices,
     .n_choices = (int)SDF_COUNTOF(clip_devices)},
};
static const sdf_output_def clip_out[] = {
    {"CLIP", SDF_VT_CLIP},
};
static const sdf_node_def clip_def = {
    .class_type = "CLIPLoader",
    .display_name = "Load CLIP",
    .category = "advanced/loaders",
    .description = "Loads a text encoder (stable_diffusion: CLIP-L for SD1, OpenCLIP-H for SD2).",
    .inputs = clip_in,
    .n_inputs = (int)SDF_COUNTOF(clip_in),
    .outputs = clip_out,
    .n_outputs = (int)SDF_COUNTOF(clip_out),
    .run = NULL,
};

static const sdf_node_def *const defs[] = {&ckpt_simple_def, &ckpt_cfg_def, &vae_def, &clip_def};

const sdf_node_family sdf_family_loaders = {"loaders", defs, SDF_COUNTOF(defs)};
