/* latent.c: the "latent" node family (ComfyUI nodes.py / nodes_mask.py latent nodes).
 * Definitions mirror ComfyUI at 3cd7b32f: names, inputs, defaults, bounds, outputs. The run
 * functions are thin adapters over core/image (maths) and core/io (files). */
#include "nodes.h"

#define MAXRES 16384

static const char *const upscale_latent_methods[] = {"nearest-exact", "bilinear", "area", "bicubic",
                                                     "bislerp"};
static const char *const crop_methods[] = {"disabled", "center"};
static const char *const rotations[] = {"none", "90 degrees", "180 degrees", "270 degrees"};
static const char *const flips[] = {"x-axis: vertically", "y-axis: horizontally"};

static const sdf_output_def out_latent[] = {{"LATENT", SDF_VT_LATENT}};

/* ---- EmptyLatentImage ---- */
static const sdf_input_def in_empty_latent[] = {
    SDF_IN_INT("width", 512, 16, MAXRES, 8),
    SDF_IN_INT("height", 512, 16, MAXRES, 8),
    SDF_IN_INT("batch_size", 1, 1, 4096, 1),
};
static const sdf_node_def def_empty_latent = {
    "EmptyLatentImage", "Empty Latent Image", "latent",
    "Create a new batch of empty latent images to be denoised via sampling.",
    in_empty_latent, SDF_COUNTOF(in_empty_latent), out_latent, 1, 0, NULL};

/* ---- LatentUpscale ---- */
static const sdf_input_def in_latent_upscale[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_COMBO("upscale_method", upscale_latent_methods, NULL),
    SDF_IN_INT("width", 512, 0, MAXRES, 8),
    SDF_IN_INT("height", 512, 0, MAXRES, 8),
    SDF_IN_COMBO("crop", crop_methods, NULL),
};
static const sdf_node_def def_latent_upscale = {
    "LatentUpscale", "Upscale Latent", "latent", NULL,
    in_latent_upscale, SDF_COUNTOF(in_latent_upscale), out_latent, 1, 0, NULL};

/* ---- LatentUpscaleBy ---- */
static const sdf_input_def in_latent_upscale_by[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_COMBO("upscale_method", upscale_latent_methods, NULL),
    SDF_IN_FLOAT("scale_by", 1.5, 0.01, 8.0, 0.01),
};
static const sdf_node_def def_latent_upscale_by = {
    "LatentUpscaleBy", "Upscale Latent By", "latent", NULL,
    in_latent_upscale_by, SDF_COUNTOF(in_latent_upscale_by), out_latent, 1, 0, NULL};

/* ---- LatentFromBatch ---- */
static const sdf_input_def in_latent_from_batch[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_INT("batch_index", 0, 0, 63, 1),
    SDF_IN_INT("length", 1, 1, 64, 1),
};
static const sdf_node_def def_latent_from_batch = {
    "LatentFromBatch", "Latent From Batch", "latent/batch", NULL,
    in_latent_from_batch, SDF_COUNTOF(in_latent_from_batch), out_latent, 1, 0, NULL};

/* ---- RepeatLatentBatch ---- */
static const sdf_input_def in_repeat_latent[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_INT("amount", 1, 1, 64, 1),
};
static const sdf_node_def def_repeat_latent = {
    "RepeatLatentBatch", "Repeat Latent Batch", "latent/batch", NULL,
    in_repeat_latent, SDF_COUNTOF(in_repeat_latent), out_latent, 1, 0, NULL};

/* ---- LatentComposite ---- */
static const sdf_input_def in_latent_composite[] = {
    SDF_IN_LINK("samples_to", SDF_VT_LATENT),
    SDF_IN_LINK("samples_from", SDF_VT_LATENT),
    SDF_IN_INT("x", 0, 0, MAXRES, 8),
    SDF_IN_INT("y", 0, 0, MAXRES, 8),
    SDF_IN_INT("feather", 0, 0, MAXRES, 8),
};
static const sdf_node_def def_latent_composite = {
    "LatentComposite", "Latent Composite", "latent", NULL,
    in_latent_composite, SDF_COUNTOF(in_latent_composite), out_latent, 1, 0, NULL};

/* ---- LatentBlend ---- */
static const sdf_input_def in_latent_blend[] = {
    SDF_IN_LINK("samples1", SDF_VT_LATENT),
    SDF_IN_LINK("samples2", SDF_VT_LATENT),
    SDF_IN_FLOAT("blend_factor", 0.5, 0.0, 1.0, 0.01),
};
static const sdf_node_def def_latent_blend = {
    "LatentBlend", "Latent Blend", "_for_testing", NULL,
    in_latent_blend, SDF_COUNTOF(in_latent_blend), out_latent, 1, 0, NULL};

/* ---- LatentCompositeMasked ---- */
static const sdf_input_def in_latent_composite_masked[] = {
    SDF_IN_LINK("destination", SDF_VT_LATENT),
    SDF_IN_LINK("source", SDF_VT_LATENT),
    SDF_IN_INT("x", 0, 0, MAXRES, 8),
    SDF_IN_INT("y", 0, 0, MAXRES, 8),
    SDF_IN_BOOL("resize_source", false),
    SDF_IN_LINK_OPT("mask", SDF_VT_MASK),
};
static const sdf_node_def def_latent_composite_masked = {
    "LatentCompositeMasked", "LatentCompositeMasked", "latent", NULL,
    in_latent_composite_masked, SDF_COUNTOF(in_latent_composite_masked), out_latent, 1, 0, NULL};

/* ---- SetLatentNoiseMask ---- */
static const sdf_input_def in_set_noise_mask[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_LINK("mask", SDF_VT_MASK),
};
static const sdf_node_def def_set_noise_mask = {
    "SetLatentNoiseMask", "Set Latent Noise Mask", "latent/inpaint", NULL,
    in_set_noise_mask, SDF_COUNTOF(in_set_noise_mask), out_latent, 1, 0, NULL};

/* ---- LatentRotate / LatentFlip / LatentCrop ---- */
static const sdf_input_def in_latent_rotate[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_COMBO("rotation", rotations, NULL),
};
static const sdf_node_def def_latent_rotate = {
    "LatentRotate", "Rotate Latent", "latent/transform", NULL,
    in_latent_rotate, SDF_COUNTOF(in_latent_rotate), out_latent, 1, 0, NULL};

static const sdf_input_def in_latent_flip[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_COMBO("flip_method", flips, NULL),
};
static const sdf_node_def def_latent_flip = {
    "LatentFlip", "Flip Latent", "latent/transform", NULL,
    in_latent_flip, SDF_COUNTOF(in_latent_flip), out_latent, 1, 0, NULL};

static const sdf_input_def in_latent_crop[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_INT("width", 512, 64, MAXRES, 8),
    SDF_IN_INT("height", 512, 64, MAXRES, 8),
    SDF_IN_INT("x", 0, 0, MAXRES, 8),
    SDF_IN_INT("y", 0, 0, MAXRES, 8),
};
static const sdf_node_def def_latent_crop = {
    "LatentCrop", "Crop Latent", "latent/transform", NULL,
    in_latent_crop, SDF_COUNTOF(in_latent_crop), out_latent, 1, 0, NULL};

/* ---- SaveLatent / LoadLatent (.latent = safetensors) ---- */
static const sdf_input_def in_save_latent[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_STRING("filename_prefix", "latents/ComfyUI", false),
};
static const sdf_node_def def_save_latent = {
    "SaveLatent", "SaveLatent", "_for_testing", NULL,
    in_save_latent, SDF_COUNTOF(in_save_latent), NULL, 0, SDF_NODE_OUTPUT, NULL};

static const sdf_input_def in_load_latent[] = {
    SDF_IN_FILE("latent", SDF_FILE_INPUT),
};
static const sdf_node_def def_load_latent = {
    "LoadLatent", "LoadLatent", "_for_testing", NULL,
    in_load_latent, SDF_COUNTOF(in_load_latent), out_latent, 1, 0, NULL};

static const sdf_node_def *const defs[] = {
    &def_empty_latent,     &def_latent_upscale,   &def_latent_upscale_by,
    &def_latent_from_batch, &def_repeat_latent,   &def_latent_composite,
    &def_latent_blend,     &def_latent_composite_masked, &def_set_noise_mask,
    &def_latent_rotate,    &def_latent_flip,      &def_latent_crop,
    &def_save_latent,      &def_load_latent,
};

const sdf_node_family sdf_family_latent = {"latent", defs, SDF_COUNTOF(defs)};
