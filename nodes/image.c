/* image.c: the "image" node family (ComfyUI nodes.py image nodes, nodes_images.py,
 * nodes_mask.py ImageCompositeMasked, nodes_post_processing.py, nodes_upscale_model.py).
 * Definitions mirror ComfyUI at 3cd7b32f. UpscaleModelLoader and ImageUpscaleWithModel are
 * definitions only (no ESRGAN yet): they validate and convert, and fail clearly at run. */
#include "nodes.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/base/alloc.h"
#include "../core/image/compose.h"
#include "../core/image/ops.h"
#include "../core/image/resample.h"
#include "../core/io/png.h"
#include "../core/io/pyjson.h"
#include "../core/io/savepath.h"
#include "image_io.h"

static int64_t py_round(double v) { return (int64_t)nearbyint(v); } /* round half to even */

/* Sets output i to a tensor value; consumes the caller's reference to t. */
static sdf_status out_tensor(sdf_node_call *c, int i, sdf_vtype type, sdf_tensor *t,
                             sdf_error *err) {
    if (!t) return err && err->code ? err->code : SDF_ERR_NOMEM;
    sdf_value *v = sdf_value_tensor(type, t);
    sdf_tensor_release(t);
    return sdf_out_set(c, i, v, err);
}

static sdf_status need_image(sdf_node_call *c, int i, sdf_error *err) {
    sdf_tensor *t = sdf_arg_tensor(c, i);
    if (!t || t->ndim != 4 || t->dtype != SDF_DTYPE_F32 || sdf_tensor_numel(t) <= 0) {
        sdf_fail(err, SDF_ERR_SHAPE, "expected an IMAGE [B,H,W,C] f32");
        sdf_error_at_input(err, sdf_call_def(c)->inputs[i].name);
        return SDF_ERR_SHAPE;
    }
    return SDF_OK;
}

static sdf_status run_load_image(sdf_node_call *c, sdf_error *err) {
    char path[4096];
    sdf_status st = sdf_node_resolve_image(c, 0, path, sizeof path, err);
    if (st) return st;
    sdf_call_note_input_file(c, path, "image");
    sdf_png_pixels px;
    st = sdf_png_read(path, NULL, &px, err);
    if (st) {
        sdf_error_at_input(err, "image");
        return st;
    }
    sdf_tensor *im = NULL, *mk = NULL;
    st = sdf_png_to_comfy_image(&px, &im, &mk, err);
    sdf_png_pixels_free(&px);
    if (st) return st;
    st = out_tensor(c, 0, SDF_VT_IMAGE, im, err);
    if (st) {
        sdf_tensor_release(mk);
        return st;
    }
    return out_tensor(c, 1, SDF_VT_MASK, mk, err);
}

/* SaveImage / PreviewImage: ComfyUI's file naming, pixels and metadata (spec section 7). */
static sdf_status save_images(sdf_node_call *c, const char *dir, const char *prefix, int level,
                              sdf_error *err) {
    sdf_status st = need_image(c, 0, err);
    if (st) return st;
    sdf_tensor *img = sdf_arg_tensor(c, 0);
    int64_t B = img->shape[0], H = img->shape[1], W = img->shape[2];
    if (W > 0x7fffffff || H > 0x7fffffff) return sdf_fail(err, SDF_ERR_INVALID, "image too large");
    sdf_save_path sp;
    st = sdf_save_path_get(dir, prefix, W, H, &sp, err);
    if (st) {
        sdf_error_at_input(err, "filename_prefix");
        return st;
    }
    sdf_png_text texts[3];
    size_t nt = 0;
    char *prompt = NULL, *params = NULL;
    if (sdf_call_prompt(c)) {
        prompt = sdf_json_dumps_py(sdf_call_prompt(c));
        if (!prompt) return sdf_fail(err, SDF_ERR_NOMEM, "prompt text");
        texts[nt++] = (sdf_png_text){"prompt", prompt};
    }
    if (sdf_call_workflow_text(c))
        texts[nt++] = (sdf_png_text){"workflow", (char *)sdf_call_workflow_text(c)};
    params = sdf_node_a1111_parameters(c, (int)W, (int)H);
    if (params) texts[nt++] = (sdf_png_text){"parameters", params};
    sdf_png_write_opts o = {.compress_level = level, .texts = texts, .n_texts = nt};
    for (int64_t b = 0; b < B && !st; b++) {
        uint8_t *px = NULL;
        int ch = 3;
        st = sdf_png_image_to_u8(img, b, &px, &ch, err);
        if (st) break;
        char name[1024], path[6000];
        sdf_save_path_file(&sp, b, sp.counter + b, "png", name, sizeof name, path, sizeof path);
        st = sdf_png_write(path, px, (uint32_t)W, (uint32_t)H, ch, &o, err);
        sdf_free(px);
        if (!st) sdf_call_note_output_file(c, path, (int)W, (int)H);
    }
    sdf_free(prompt);
    sdf_free(params);
    return st;
}

static sdf_status run_save_image(sdf_node_call *c, sdf_error *err) {
    const sdf_paths *p = sdf_call_paths(c);
    return save_images(c, p && p->output_dir ? p->output_dir : "output", sdf_arg_str(c, 1), 4, err);
}

static sdf_status run_preview_image(sdf_node_call *c, sdf_error *err) {
    const sdf_paths *p = sdf_call_paths(c);
    /* "ComfyUI_temp_" + 5 random letters (ComfyUI's alphabet, with its doubled 'p') */
    static const char alphabet[] = "abcdefghijklmnopqrstupvxyz";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec ^
                 ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
    char prefix[32] = "ComfyUI_temp_";
    for (int i = 0; i < 5; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        prefix[13 + i] = alphabet[x % (sizeof alphabet - 1)];
    }
    prefix[18] = 0;
    return save_images(c, p && p->temp_dir ? p->temp_dir : "temp", prefix, 1, err);
}

static sdf_status run_image_scale(sdf_node_call *c, sdf_error *err) {
    sdf_status st = need_image(c, 0, err);
    if (st) return st;
    sdf_tensor *img = sdf_arg_tensor(c, 0);
    int m = sdf_resample_from_name(sdf_arg_str(c, 1));
    if (m < 0 || m == SDF_RS_BISLERP) return sdf_fail(err, SDF_ERR_INVALID, "unknown upscale_method");
    int64_t width = sdf_arg_int(c, 2), height = sdf_arg_int(c, 3);
    bool center = strcmp(sdf_arg_str(c, 4), "center") == 0;
    if (width == 0 && height == 0) return sdf_out_set(c, 0, sdf_value_retain(sdf_arg(c, 0)), err);
    int64_t H = img->shape[1], W = img->shape[2];
    if (width == 0) {
        width = py_round((double)(W * height) / (double)H);
        if (width < 1) width = 1;
    } else if (height == 0) {
        height = py_round((double)(H * width) / (double)W);
        if (height < 1) height = 1;
    }
    return out_tensor(c, 0, SDF_VT_IMAGE,
                      sdf_common_upscale_image(img, width, height, (sdf_resample)m, center,
                                               sdf_call_pool(c), err), err);
}

static sdf_status run_image_scale_by(sdf_node_call *c, sdf_error *err) {
    sdf_status st = need_image(c, 0, err);
    if (st) return st;
    sdf_tensor *img = sdf_arg_tensor(c, 0);
    int m = sdf_resample_from_name(sdf_arg_str(c, 1));
    if (m < 0 || m == SDF_RS_BISLERP) return sdf_fail(err, SDF_ERR_INVALID, "unknown upscale_method");
    double s = sdf_arg_float(c, 2);
    int64_t w = py_round((double)img->shape[2] * s), h = py_round((double)img->shape[1] * s);
    if (w <= 0 || h <= 0) return sdf_fail(err, SDF_ERR_INVALID, "scale_by %g makes the image empty", s);
    return out_tensor(c, 0, SDF_VT_IMAGE,
                      sdf_common_upscale_image(img, w, h, (sdf_resample)m, false, sdf_call_pool(c), err),
                      err);
}

static sdf_status run_image_invert(sdf_node_call *c, sdf_error *err) {
    sdf_status st = need_image(c, 0, err);
    if (st) return st;
    return out_tensor(c, 0, SDF_VT_IMAGE, sdf_image_invert(sdf_arg_tensor(c, 0), err), err);
}

static sdf_status run_image_batch(sdf_node_call *c, sdf_error *err) {
    sdf_status st = need_image(c, 0, err);
    if (!st) st = need_image(c, 1, err);
    if (st) return st;
    return out_tensor(c, 0, SDF_VT_IMAGE,
                      sdf_image_batch(sdf_arg_tensor(c, 0), sdf_arg_tensor(c, 1), sdf_call_pool(c), err),
                      err);
}

static sdf_status run_empty_image(sdf_node_call *c, sdf_error *err) {
    return out_tensor(c, 0, SDF_VT_IMAGE,
                      sdf_image_empty(sdf_arg_int(c, 0), sdf_arg_int(c, 1), sdf_arg_int(c, 2),
                                      sdf_arg_int(c, 3), err), err);
}

static sdf_status run_pad_outpaint(sdf_node_call *c, sdf_error *err) {
    sdf_status st = need_image(c, 0, err);
    if (st) return st;
    sdf_tensor *im = NULL, *mk = NULL;
    st = sdf_pad_for_outpaint(sdf_arg_tensor(c, 0), sdf_arg_int(c, 1), sdf_arg_int(c, 2),
                              sdf_arg_int(c, 3), sdf_arg_int(c, 4), sdf_arg_int(c, 5), &im, &mk, err);
    if (st) return st;
    st = out_tensor(c, 0, SDF_VT_IMAGE, im, err);
    if (st) {
        sdf_tensor_release(mk);
        return st;
    }
    return out_tensor(c, 1, SDF_VT_MASK, mk, err);
}

static sdf_status run_image_composite_masked(sdf_node_call *c, sdf_error *err) {
    sdf_status st = need_image(c, 0, err);
    if (!st) st = need_image(c, 1, err);
    if (st) return st;
    return out_tensor(c, 0, SDF_VT_IMAGE,
                      sdf_composite_image(sdf_arg_tensor(c, 0), sdf_arg_tensor(c, 1),
                                          sdf_arg_int(c, 2), sdf_arg_int(c, 3), sdf_arg_tensor(c, 5),
                                          sdf_arg_bool(c, 4), sdf_call_pool(c), err), err);
}

static sdf_status run_image_crop(sdf_node_call *c, sdf_error *err) {
    sdf_status st = need_image(c, 0, err);
    if (st) return st;
    return out_tensor(c, 0, SDF_VT_IMAGE,
                      sdf_image_crop(sdf_arg_tensor(c, 0), sdf_arg_int(c, 1), sdf_arg_int(c, 2),
                                     sdf_arg_int(c, 3), sdf_arg_int(c, 4), err), err);
}

static sdf_status run_image_blur(sdf_node_call *c, sdf_error *err) {
    sdf_status st = need_image(c, 0, err);
    if (st) return st;
    return out_tensor(c, 0, SDF_VT_IMAGE,
                      sdf_image_blur(sdf_arg_tensor(c, 0), sdf_arg_int(c, 1), sdf_arg_float(c, 2), err),
                      err);
}

static sdf_status run_image_sharpen(sdf_node_call *c, sdf_error *err) {
    sdf_status st = need_image(c, 0, err);
    if (st) return st;
    return out_tensor(c, 0, SDF_VT_IMAGE,
                      sdf_image_sharpen(sdf_arg_tensor(c, 0), sdf_arg_int(c, 1), sdf_arg_float(c, 2),
                                        sdf_arg_float(c, 3), err), err);
}

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
    in_load_image, SDF_COUNTOF(in_load_image), out_image_mask, 2, 0, run_load_image};

/* ---- SaveImage / PreviewImage ---- */
static const sdf_input_def in_save_image[] = {
    SDF_IN_LINK("images", SDF_VT_IMAGE),
    SDF_IN_STRING("filename_prefix", "ComfyUI", false),
};
static const sdf_node_def def_save_image = {
    "SaveImage", "Save Image", "image", "Saves the input images to your ComfyUI output directory.",
    in_save_image, SDF_COUNTOF(in_save_image), NULL, 0, SDF_NODE_OUTPUT, run_save_image};

static const sdf_input_def in_preview_image[] = {
    SDF_IN_LINK("images", SDF_VT_IMAGE),
};
static const sdf_node_def def_preview_image = {
    "PreviewImage", "Preview Image", "image", "Saves the input images to your ComfyUI output directory.",
    in_preview_image, SDF_COUNTOF(in_preview_image), NULL, 0, SDF_NODE_OUTPUT, run_preview_image};

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
    in_image_scale, SDF_COUNTOF(in_image_scale), out_image, 1, 0, run_image_scale};

static const sdf_input_def in_image_scale_by[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE),
    SDF_IN_COMBO("upscale_method", image_methods, NULL),
    SDF_IN_FLOAT("scale_by", 1.0, 0.01, 8.0, 0.01),
};
static const sdf_node_def def_image_scale_by = {
    "ImageScaleBy", "Upscale Image By", "image/upscaling", NULL,
    in_image_scale_by, SDF_COUNTOF(in_image_scale_by), out_image, 1, 0, run_image_scale_by};

/* ---- ImageInvert / ImageBatch / EmptyImage ---- */
static const sdf_input_def in_image_only[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE),
};
static const sdf_node_def def_image_invert = {
    "ImageInvert", "Invert Image", "image", NULL,
    in_image_only, SDF_COUNTOF(in_image_only), out_image, 1, 0, run_image_invert};

static const sdf_input_def in_image_batch[] = {
    SDF_IN_LINK("image1", SDF_VT_IMAGE),
    SDF_IN_LINK("image2", SDF_VT_IMAGE),
};
static const sdf_node_def def_image_batch = {
    "ImageBatch", "Batch Images", "image", NULL,
    in_image_batch, SDF_COUNTOF(in_image_batch), out_image, 1, 0, run_image_batch};

static const sdf_input_def in_empty_image[] = {
    SDF_IN_INT("width", 512, 1, MAXRES, 1),
    SDF_IN_INT("height", 512, 1, MAXRES, 1),
    SDF_IN_INT("batch_size", 1, 1, 4096, 1),
    SDF_IN_INT("color", 0, 0, 0xFFFFFF, 1),
};
static const sdf_node_def def_empty_image = {
    "EmptyImage", "EmptyImage", "image", NULL,
    in_empty_image, SDF_COUNTOF(in_empty_image), out_image, 1, 0, run_empty_image};

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
    in_pad_outpaint, SDF_COUNTOF(in_pad_outpaint), out_image_mask, 2, 0, run_pad_outpaint};

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
    in_image_composite_masked, SDF_COUNTOF(in_image_composite_masked), out_image, 1, 0, run_image_composite_masked};

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
    in_image_crop, SDF_COUNTOF(in_image_crop), out_image, 1, 0, run_image_crop};

/* ---- ImageBlur / ImageSharpen ---- */
static const sdf_input_def in_image_blur[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE),
    SDF_IN_INT("blur_radius", 1, 1, 31, 1),
    SDF_IN_FLOAT("sigma", 1.0, 0.1, 10.0, 0.1),
};
static const sdf_node_def def_image_blur = {
    "ImageBlur", "Image Blur", "image/postprocessing", NULL,
    in_image_blur, SDF_COUNTOF(in_image_blur), out_image, 1, 0, run_image_blur};

static const sdf_input_def in_image_sharpen[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE),
    SDF_IN_INT("sharpen_radius", 1, 1, 31, 1),
    SDF_IN_FLOAT("sigma", 1.0, 0.1, 10.0, 0.01),
    SDF_IN_FLOAT("alpha", 1.0, 0.0, 5.0, 0.01),
};
static const sdf_node_def def_image_sharpen = {
    "ImageSharpen", "Image Sharpen", "image/postprocessing", NULL,
    in_image_sharpen, SDF_COUNTOF(in_image_sharpen), out_image, 1, 0, run_image_sharpen};

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
