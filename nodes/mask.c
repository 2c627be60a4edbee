/* mask.c: the "mask" node family (ComfyUI nodes.py LoadImageMask and nodes_mask.py).
 * Definitions mirror ComfyUI at 3cd7b32f; the maths lives in core/image/mask.h. */
#include "nodes.h"

#define MAXRES 16384

static const char *const load_channels[] = {"alpha", "red", "green", "blue"};
static const char *const image_channels[] = {"red", "green", "blue", "alpha"};
static const char *const composite_ops[] = {"multiply", "add", "subtract", "and", "or", "xor"};

static const sdf_output_def out_mask[] = {{"MASK", SDF_VT_MASK}};
static const sdf_output_def out_image[] = {{"IMAGE", SDF_VT_IMAGE}};

static const sdf_input_def in_mask_only[] = {
    SDF_IN_LINK("mask", SDF_VT_MASK),
};

static const sdf_input_def in_load_image_mask[] = {
    SDF_IN_FILE("image", SDF_FILE_INPUT),
    SDF_IN_COMBO("channel", load_channels, NULL),
};
static const sdf_node_def def_load_image_mask = {
    "LoadImageMask", "Load Image (as Mask)", "mask", NULL,
    in_load_image_mask, SDF_COUNTOF(in_load_image_mask), out_mask, 1, 0, NULL};

static const sdf_input_def in_solid_mask[] = {
    SDF_IN_FLOAT("value", 1.0, 0.0, 1.0, 0.01),
    SDF_IN_INT("width", 512, 1, MAXRES, 1),
    SDF_IN_INT("height", 512, 1, MAXRES, 1),
};
static const sdf_node_def def_solid_mask = {
    "SolidMask", "SolidMask", "mask", NULL,
    in_solid_mask, SDF_COUNTOF(in_solid_mask), out_mask, 1, 0, NULL};

static const sdf_node_def def_invert_mask = {
    "InvertMask", "InvertMask", "mask", NULL,
    in_mask_only, SDF_COUNTOF(in_mask_only), out_mask, 1, 0, NULL};

static const sdf_node_def def_mask_to_image = {
    "MaskToImage", "Convert Mask to Image", "mask", NULL,
    in_mask_only, SDF_COUNTOF(in_mask_only), out_image, 1, 0, NULL};

static const sdf_input_def in_image_to_mask[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE),
    SDF_IN_COMBO("channel", image_channels, NULL),
};
static const sdf_node_def def_image_to_mask = {
    "ImageToMask", "Convert Image to Mask", "mask", NULL,
    in_image_to_mask, SDF_COUNTOF(in_image_to_mask), out_mask, 1, 0, NULL};

static const sdf_input_def in_grow_mask[] = {
    SDF_IN_LINK("mask", SDF_VT_MASK),
    SDF_IN_INT("expand", 0, -MAXRES, MAXRES, 1),
    SDF_IN_BOOL("tapered_corners", true),
};
static const sdf_node_def def_grow_mask = {
    "GrowMask", "Grow Mask", "mask", NULL,
    in_grow_mask, SDF_COUNTOF(in_grow_mask), out_mask, 1, 0, NULL};

static const sdf_input_def in_feather_mask[] = {
    SDF_IN_LINK("mask", SDF_VT_MASK),
    SDF_IN_INT("left", 0, 0, MAXRES, 1),
    SDF_IN_INT("top", 0, 0, MAXRES, 1),
    SDF_IN_INT("right", 0, 0, MAXRES, 1),
    SDF_IN_INT("bottom", 0, 0, MAXRES, 1),
};
static const sdf_node_def def_feather_mask = {
    "FeatherMask", "FeatherMask", "mask", NULL,
    in_feather_mask, SDF_COUNTOF(in_feather_mask), out_mask, 1, 0, NULL};

static const sdf_input_def in_crop_mask[] = {
    SDF_IN_LINK("mask", SDF_VT_MASK),
    SDF_IN_INT("x", 0, 0, MAXRES, 1),
    SDF_IN_INT("y", 0, 0, MAXRES, 1),
    SDF_IN_INT("width", 512, 1, MAXRES, 1),
    SDF_IN_INT("height", 512, 1, MAXRES, 1),
};
static const sdf_node_def def_crop_mask = {
    "CropMask", "CropMask", "mask", NULL,
    in_crop_mask, SDF_COUNTOF(in_crop_mask), out_mask, 1, 0, NULL};

static const sdf_input_def in_threshold_mask[] = {
    SDF_IN_LINK("mask", SDF_VT_MASK),
    SDF_IN_FLOAT("value", 0.5, 0.0, 1.0, 0.01),
};
static const sdf_node_def def_threshold_mask = {
    "ThresholdMask", "ThresholdMask", "mask", NULL,
    in_threshold_mask, SDF_COUNTOF(in_threshold_mask), out_mask, 1, 0, NULL};

static const sdf_input_def in_mask_composite[] = {
    SDF_IN_LINK("destination", SDF_VT_MASK),
    SDF_IN_LINK("source", SDF_VT_MASK),
    SDF_IN_INT("x", 0, 0, MAXRES, 1),
    SDF_IN_INT("y", 0, 0, MAXRES, 1),
    SDF_IN_COMBO("operation", composite_ops, NULL),
};
static const sdf_node_def def_mask_composite = {
    "MaskComposite", "MaskComposite", "mask", NULL,
    in_mask_composite, SDF_COUNTOF(in_mask_composite), out_mask, 1, 0, NULL};

static const sdf_node_def *const defs[] = {
    &def_load_image_mask, &def_solid_mask,   &def_invert_mask,  &def_mask_to_image,
    &def_image_to_mask,   &def_grow_mask,    &def_feather_mask, &def_crop_mask,
    &def_threshold_mask,  &def_mask_composite,
};

const sdf_node_family sdf_family_mask = {"mask", defs, SDF_COUNTOF(defs)};
