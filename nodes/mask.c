/* mask.c: the "mask" node family (ComfyUI nodes.py LoadImageMask and nodes_mask.py).
 * Definitions mirror ComfyUI at 3cd7b32f; the maths lives in core/image/mask.h. */
#include "nodes.h"

#include <string.h>

#include "../core/image/mask.h"
#include "../core/image/ops.h"
#include "../core/io/png.h"
#include "image_io.h"

static sdf_status out_tensor(sdf_node_call *c, sdf_vtype type, sdf_tensor *t, sdf_error *err) {
    if (!t) return err && err->code ? err->code : SDF_ERR_NOMEM;
    sdf_value *v = sdf_value_tensor(type, t);
    sdf_tensor_release(t);
    return sdf_out_set(c, 0, v, err);
}

static sdf_tensor *arg_mask(sdf_node_call *c, int i, sdf_error *err) {
    sdf_tensor *m = sdf_arg_tensor(c, i);
    if (!m) {
        sdf_fail(err, SDF_ERR_TYPE, "missing mask");
        sdf_error_at_input(err, sdf_call_def(c)->inputs[i].name);
    }
    return m;
}

static sdf_status run_load_image_mask(sdf_node_call *c, sdf_error *err) {
    char path[4096];
    sdf_status st = sdf_node_resolve_image(c, 0, path, sizeof path, err);
    if (st) return st;
    sdf_call_note_input_file(c, path, "image");
    const char *ch = sdf_arg_str(c, 1);
    int channel = strcmp(ch, "red") == 0 ? 0 : strcmp(ch, "green") == 0 ? 1 : strcmp(ch, "blue") == 0 ? 2 : 3;
    sdf_png_pixels px;
    st = sdf_png_read(path, NULL, &px, err);
    if (st) {
        sdf_error_at_input(err, "image");
        return st;
    }
    sdf_tensor *m = NULL;
    st = sdf_png_to_comfy_mask(&px, channel, &m, err);
    sdf_png_pixels_free(&px);
    if (st) return st;
    return out_tensor(c, SDF_VT_MASK, m, err);
}

static sdf_status run_solid_mask(sdf_node_call *c, sdf_error *err) {
    return out_tensor(c, SDF_VT_MASK,
                      sdf_mask_solid(sdf_arg_float(c, 0), sdf_arg_int(c, 1), sdf_arg_int(c, 2), err), err);
}

static sdf_status run_invert_mask(sdf_node_call *c, sdf_error *err) {
    sdf_tensor *m = arg_mask(c, 0, err);
    return m ? out_tensor(c, SDF_VT_MASK, sdf_mask_invert(m, err), err) : err->code;
}

static sdf_status run_mask_to_image(sdf_node_call *c, sdf_error *err) {
    sdf_tensor *m = arg_mask(c, 0, err);
    return m ? out_tensor(c, SDF_VT_IMAGE, sdf_mask_to_image(m, err), err) : err->code;
}

static sdf_status run_image_to_mask(sdf_node_call *c, sdf_error *err) {
    sdf_tensor *im = sdf_arg_tensor(c, 0);
    if (!im) return sdf_fail(err, SDF_ERR_TYPE, "missing image");
    const char *ch = sdf_arg_str(c, 1);
    int k = strcmp(ch, "red") == 0 ? 0 : strcmp(ch, "green") == 0 ? 1 : strcmp(ch, "blue") == 0 ? 2 : 3;
    sdf_tensor *m = sdf_image_to_mask(im, k, err);
    if (!m) sdf_error_at_input(err, "channel");
    return out_tensor(c, SDF_VT_MASK, m, err);
}

static sdf_status run_grow_mask(sdf_node_call *c, sdf_error *err) {
    sdf_tensor *m = arg_mask(c, 0, err);
    return m ? out_tensor(c, SDF_VT_MASK,
                          sdf_mask_grow(m, sdf_arg_int(c, 1), sdf_arg_bool(c, 2), err), err)
             : err->code;
}

static sdf_status run_feather_mask(sdf_node_call *c, sdf_error *err) {
    sdf_tensor *m = arg_mask(c, 0, err);
    return m ? out_tensor(c, SDF_VT_MASK,
                          sdf_mask_feather(m, sdf_arg_int(c, 1), sdf_arg_int(c, 2), sdf_arg_int(c, 3),
                                           sdf_arg_int(c, 4), err), err)
             : err->code;
}

static sdf_status run_crop_mask(sdf_node_call *c, sdf_error *err) {
    sdf_tensor *m = arg_mask(c, 0, err);
    return m ? out_tensor(c, SDF_VT_MASK,
                          sdf_mask_crop(m, sdf_arg_int(c, 1), sdf_arg_int(c, 2), sdf_arg_int(c, 3),
                                        sdf_arg_int(c, 4), err), err)
             : err->code;
}

static sdf_status run_threshold_mask(sdf_node_call *c, sdf_error *err) {
    sdf_tensor *m = arg_mask(c, 0, err);
    return m ? out_tensor(c, SDF_VT_MASK, sdf_mask_threshold(m, sdf_arg_float(c, 1), err), err)
             : err->code;
}

static sdf_status run_mask_composite(sdf_node_call *c, sdf_error *err) {
    sdf_tensor *d = arg_mask(c, 0, err), *s = d ? arg_mask(c, 1, err) : NULL;
    if (!s) return err->code;
    int op = sdf_mask_op_from_name(sdf_arg_str(c, 4));
    if (op < 0) return sdf_fail(err, SDF_ERR_INVALID, "unknown operation");
    return out_tensor(c, SDF_VT_MASK,
                      sdf_mask_composite(d, s, sdf_arg_int(c, 2), sdf_arg_int(c, 3), (sdf_mask_op)op, err),
                      err);
}

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
    in_load_image_mask, SDF_COUNTOF(in_load_image_mask), out_mask, 1, 0, run_load_image_mask};

static const sdf_input_def in_solid_mask[] = {
    SDF_IN_FLOAT("value", 1.0, 0.0, 1.0, 0.01),
    SDF_IN_INT("width", 512, 1, MAXRES, 1),
    SDF_IN_INT("height", 512, 1, MAXRES, 1),
};
static const sdf_node_def def_solid_mask = {
    "SolidMask", "SolidMask", "mask", NULL,
    in_solid_mask, SDF_COUNTOF(in_solid_mask), out_mask, 1, 0, run_solid_mask};

static const sdf_node_def def_invert_mask = {
    "InvertMask", "InvertMask", "mask", NULL,
    in_mask_only, SDF_COUNTOF(in_mask_only), out_mask, 1, 0, run_invert_mask};

static const sdf_node_def def_mask_to_image = {
    "MaskToImage", "Convert Mask to Image", "mask", NULL,
    in_mask_only, SDF_COUNTOF(in_mask_only), out_image, 1, 0, run_mask_to_image};

static const sdf_input_def in_image_to_mask[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE),
    SDF_IN_COMBO("channel", image_channels, NULL),
};
static const sdf_node_def def_image_to_mask = {
    "ImageToMask", "Convert Image to Mask", "mask", NULL,
    in_image_to_mask, SDF_COUNTOF(in_image_to_mask), out_mask, 1, 0, run_image_to_mask};

static const sdf_input_def in_grow_mask[] = {
    SDF_IN_LINK("mask", SDF_VT_MASK),
    SDF_IN_INT("expand", 0, -MAXRES, MAXRES, 1),
    SDF_IN_BOOL("tapered_corners", true),
};
static const sdf_node_def def_grow_mask = {
    "GrowMask", "Grow Mask", "mask", NULL,
    in_grow_mask, SDF_COUNTOF(in_grow_mask), out_mask, 1, 0, run_grow_mask};

static const sdf_input_def in_feather_mask[] = {
    SDF_IN_LINK("mask", SDF_VT_MASK),
    SDF_IN_INT("left", 0, 0, MAXRES, 1),
    SDF_IN_INT("top", 0, 0, MAXRES, 1),
    SDF_IN_INT("right", 0, 0, MAXRES, 1),
    SDF_IN_INT("bottom", 0, 0, MAXRES, 1),
};
static const sdf_node_def def_feather_mask = {
    "FeatherMask", "FeatherMask", "mask", NULL,
    in_feather_mask, SDF_COUNTOF(in_feather_mask), out_mask, 1, 0, run_feather_mask};

static const sdf_input_def in_crop_mask[] = {
    SDF_IN_LINK("mask", SDF_VT_MASK),
    SDF_IN_INT("x", 0, 0, MAXRES, 1),
    SDF_IN_INT("y", 0, 0, MAXRES, 1),
    SDF_IN_INT("width", 512, 1, MAXRES, 1),
    SDF_IN_INT("height", 512, 1, MAXRES, 1),
};
static const sdf_node_def def_crop_mask = {
    "CropMask", "CropMask", "mask", NULL,
    in_crop_mask, SDF_COUNTOF(in_crop_mask), out_mask, 1, 0, run_crop_mask};

static const sdf_input_def in_threshold_mask[] = {
    SDF_IN_LINK("mask", SDF_VT_MASK),
    SDF_IN_FLOAT("value", 0.5, 0.0, 1.0, 0.01),
};
static const sdf_node_def def_threshold_mask = {
    "ThresholdMask", "ThresholdMask", "mask", NULL,
    in_threshold_mask, SDF_COUNTOF(in_threshold_mask), out_mask, 1, 0, run_threshold_mask};

static const sdf_input_def in_mask_composite[] = {
    SDF_IN_LINK("destination", SDF_VT_MASK),
    SDF_IN_LINK("source", SDF_VT_MASK),
    SDF_IN_INT("x", 0, 0, MAXRES, 1),
    SDF_IN_INT("y", 0, 0, MAXRES, 1),
    SDF_IN_COMBO("operation", composite_ops, NULL),
};
static const sdf_node_def def_mask_composite = {
    "MaskComposite", "MaskComposite", "mask", NULL,
    in_mask_composite, SDF_COUNTOF(in_mask_composite), out_mask, 1, 0, run_mask_composite};

static const sdf_node_def *const defs[] = {
    &def_load_image_mask, &def_solid_mask,   &def_invert_mask,  &def_mask_to_image,
    &def_image_to_mask,   &def_grow_mask,    &def_feather_mask, &def_crop_mask,
    &def_threshold_mask,  &def_mask_composite,
};

const sdf_node_family sdf_family_mask = {"mask", defs, SDF_COUNTOF(defs)};
