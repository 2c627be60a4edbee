/* image.c: the "image" node family (ComfyUI nodes.py image nodes, nodes_images.py,
 * nodes_mask.py ImageCompositeMasked, nodes_post_processing.py, nodes_upscale_model.py).
 * Definitions mirror ComfyUI at 3cd7b32f. UpscaleModelLoader and ImageUpscaleWithModel are
 * definitions only (no ESRGAN yet): they validate and convert, and fail clearly at run. */
#include "nodes.h"

#define MAXRES 16384

static const char *const image_methods[] = {"nearest-exact", "bilinear", "area", "bicubic",
                                            "lanczos"};
static const char *const crop_methods[] = {"disabled", "center"};

static const sdf_output_def out_image[] = {{"IMAGE", SDF_VT_IMAGE}};
static const sdf_output_def out_image_mask[] = {{"IMAGE", SDF_VT_IMAGE}, {"MASK", SDF_VT_MASK}};

/* ---- LoadImage ---- */
static const sdf_input_def in_load_image[] = {
    SDF_IN_FILE("image", SDF_FILE_INPUT),
};
static const sdf_node_def def_load_image = {
    "LoadImage", "Load Image", "image", NULL,
    in_load_image, SDF_COUNTOF(in_load_image), out_image_mask, 2, 0, NULL};

/* ---- SaveImage / PreviewImage ---- */
static const sdf_input_def in_save_image[] = {
    SDF_IN_LINK("images", SDF_VT_IMAGE),
    SDF_IN_STRING("filename_prefix", "ComfyUI", false),
};
static const sdf_node_def def_save_image = {
    "SaveImage", "Save Image", "image", "Saves the input images to your ComfyUI output directory.",
    in_save_image, SDF_COUNTOF(in_save_image), NULL, 0, SDF_NODE_OUTPUT, NULL};

static const sdf_input_def in_preview_image[] = {
    SDF_IN_LINK("images", SDF_VT_IMAGE),
};
static const sdf_node_def def_preview_image = {
    "PreviewImage", "Preview Image", "image", "Saves the input images to your ComfyUI output directory.",
    in_preview_image, SDF_COUNTOF(in_preview_image), NULL, 0, SDF_NODE_OUTPUT, NULL};

/* ---- ImageScale / ImageScaleBy ---- */
static const sdf_input_def in_image_scale[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE),
    SDF_IN_COMBO("upscale_method", image_methods, NULL),
    SDF_IN_INT("width", 512, 0, MAXRES, 1),
    SDF_IN_INT("height", 512, 0, MAXRES, 1),
    SDF_IN_COMBO("crop", crop_methods, NULL),
};
static const sdf_node_def def_image_scale = {
    "ImageScale", "Upscale Image", "image/upscaling", NULL,
    in_image_scale, SDF_COUNTOF(in_image_scale), out_image, 1, 0, NULL};

static const sdf_input_def in_image_scale_by[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE),
    SDF_IN_COMBO("upscale_method", image_methods, NULL),
    SDF_IN_FLOAT("scale_by", 1.0, 0.01, 8.0, 0.01),
};
static const sdf_node_def def_image_scale_by = {
    "ImageScaleBy", "Upscale Image By", "image/upscaling", NULL,
    in_image_scale_by, SDF_COUNTOF(in_image_scale_by), out_image, 1, 0, NULL};

/* ---- ImageInvert / ImageBatch / EmptyImage ---- */
static const sdf_input_def in_image_only[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE),
};
static const sdf_node_def def_image_invert = {
    "ImageInvert", "Invert Image", "image", NULL,
    in_image_only, SDF_COUNTOF(in_image_only), out_image, 1, 0, NULL};

static const sdf_input_def in_image_batch[] = {
    SDF_IN_LINK("image1", SDF_VT_IMAGE),
    SDF_IN_LINK("image2", SDF_VT_IMAGE),
};
static const sdf_node_def def_image_batch = {
    "ImageBatch", "Batch Images", "image", NULL,
    in_image_batch, SDF_COUNTOF(in_image_batch), out_image, 1, 0, NULL};

static const sdf_input_def in_empty_image[] = {
    SDF_IN_INT("width", 512, 1, MAXRES, 1),
    SDF_IN_INT("height", 512, 1, MAXRES, 1),
    SDF_IN_INT("batch_size", 1, 1, 4096, 1),
    SDF_IN_INT("color", 0, 0, 0xFFFFFF, 1),
};
static const sdf_node_def def_empty_image = {
    "EmptyImage", "EmptyImage", "image", NULL,
    in_empty_image, SDF_COUNTOF(in_empty_image), out_image, 1, 0, NULL};

/* ---- ImagePadForOutpaint ---- */
static const sdf_input_def in_pad_outpaint[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE),
    SDF_IN_INT("left", 0, 0, MAXRES, 8),
    SDF_IN_INT("top", 0, 0, MAXRES, 8),
    SDF_IN_INT("right", 0, 0, MAXRES, 8),
    SDF_IN_INT("bottom", 0, 0, MAXRES, 8),
    SDF_IN_INT("feathering", 40, 0, MAXRES, 1),
};
static const sdf_node_def def_pad_outpaint = {
    "ImagePadForOutpaint", "Pad Image for Outpainting", "image", NULL,
    in_pad_outpaint, SDF_COUNTOF(in_pad_outpaint), out_image_mask, 2, 0, NULL};

/* ---- ImageCompositeMasked ---- */
static const sdf_input_def in_image_composite_masked[] = {
    SDF_IN_LINK("destination", SDF_VT_IMAGE),
    SDF_IN_LINK("source", SDF_VT_IMAGE),
    SDF_IN_INT("x", 0, 0, MAXRES, 1),
    SDF_IN_INT("y", 0, 0, MAXRES, 1),
    SDF_IN_BOOL("resize_source", false),
    SDF_IN_LINK_OPT("mask", SDF_VT_MASK),
};
static const sdf_node_def def_image_composite_masked = {
    "ImageCompositeMasked", "ImageCompositeMasked", "image", NULL,
    in_image_composite_masked, SDF_COUNTOF(in_image_composite_masked), out_image, 1, 0, NULL};

/* ---- ImageCrop ---- */
static const sdf_input_def in_image_crop[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE),
    SDF_IN_INT("width", 512, 1, MAXRES, 1),
    SDF_IN_INT("height", 512, 1, MAXRES, 1),
    SDF_IN_INT("x", 0, 0, MAXRES, 1),
    SDF_IN_INT("y", 0, 0, MAXRES, 1),
};
static const sdf_node_def def_image_crop = {
    "ImageCrop", "Image Crop", "image/transform", NULL,
    in_image_crop, SDF_COUNTOF(in_image_crop), out_image, 1, 0, NULL};

/* ---- ImageBlur / ImageSharpen ---- */
static const sdf_input_def in_image_blur[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE),
    SDF_IN_INT("blur_radius", 1, 1, 31, 1),
    SDF_IN_FLOAT("sigma", 1.0, 0.1, 10.0, 0.1),
};
static const sdf_node_def def_image_blur = {
    "ImageBlur", "Image Blur", "image/postprocessing", NULL,
    in_image_blur, SDF_COUNTOF(in_image_blur), out_image, 1, 0, NULL};

static const sdf_input_def in_image_sharpen[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE),
    SDF_IN_INT("sharpen_radius", 1, 1, 31, 1),
    SDF_IN_FLOAT("sigma", 1.0, 0.1, 10.0, 0.01),
    SDF_IN_FLOAT("alpha", 1.0, 0.0, 5.0, 0.01),
};
static const sdf_node_def def_image_sharpen = {
    "ImageSharpen", "Image Sharpen", "image/postprocessing", NULL,
    in_image_sharpen, SDF_COUNTOF(in_image_sharpen), out_image, 1, 0, NULL};

/* ---- UpscaleModelLoader / ImageUpscaleWithModel: definitions only (ESRGAN not built) ---- */
static const sdf_input_def in_upscale_loader[] = {
    SDF_IN_FILE("model_name", SDF_FILE_UPSCALE_MODELS),
};
static const sdf_output_def out_upscale_model[] = {{"UPSCALE_MODEL", SDF_VT_UPSCALE_MODEL}};
static const sdf_node_def def_upscale_loader = {
    "UpscaleModelLoader", "Load Upscale Model", "loaders", NULL,
    in_upscale_loader, SDF_COUNTOF(in_upscale_loader), out_upscale_model, 1, 0, NULL};

static const sdf_input_def in_upscale_with_model[] = {
    SDF_IN_LINK("upscale_model", SDF_VT_UPSCALE_MODEL),
    SDF_IN_LINK("image", SDF_VT_IMAGE),
};
static const sdf_node_def def_upscale_with_model = {
    "ImageUpscaleWithModel", "Upscale Image (using Model)", "image/upscaling", NULL,
    in_upscale_with_model, SDF_COUNTOF(in_upscale_with_model), out_image, 1, 0, NULL};

static const sdf_node_def *const defs[] = {
    &def_load_image,   &def_save_image,     &def_preview_image,  &def_image_scale,
    &def_image_scale_by, &def_image_invert, &def_image_batch,    &def_empty_image,
    &def_pad_outpaint, &def_image_composite_masked, &def_image_crop, &def_image_blur,
    &def_image_sharpen, &def_upscale_loader, &def_upscale_with_model,
};

const sdf_node_family sdf_family_image = {"image", defs, SDF_COUNTOF(defs)};
