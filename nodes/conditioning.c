/* conditioning.c: the "conditioning" node family. Definitions only call into core/.
 *
 * Inputs, defaults, ranges, categories and display names are ComfyUI's (nodes.py at 3cd7b32f).
 * Areas are stored as ComfyUI stores them: (h, w, y, x) in latent units (pixel // 8), or
 * fractions for ConditioningSetAreaPercentage.
 */
#include "nodes.h"

#include <string.h>

#include "../core/models/clip.h"
#include "../core/models/cond_ops.h"

#define MAX_RES 16384

static void warn_cb(void *ctx, const char *msg) {
    sdf_call_warn(ctx, "%s", msg);
}

static sdf_status out_cond(sdf_node_call *c, sdf_status st, sdf_value *v, sdf_error *err) {
    if (st != SDF_OK)
        return st;
    return sdf_out_set(c, 0, v, err);
}

static sdf_status run_text_encode(sdf_node_call *c, sdf_error *err) {
    sdf_clip *clip = sdf_arg_handle(c, 1);
    if (!clip) {
        sdf_error_at_input(err, "clip");
        return sdf_fail(err, SDF_ERR_INVALID,
                        "clip input is invalid: None (if the clip is from a checkpoint loader "
                        "node, the checkpoint does not contain a valid text encoder)");
    }
    sdf_clip_encode_opts o = {
        .paths = sdf_call_paths(c), .pool = sdf_call_pool(c), .warn = warn_cb, .warn_ctx = c};
    sdf_tensor *cond = NULL, *pooled = NULL;
    sdf_status  st = sdf_clip_encode_text(clip, sdf_arg_str(c, 0), &o, &cond, &pooled, err);
    if (st != SDF_OK)
        return st;
    sdf_value *v = sdf_value_conditioning(1);
    if (!v) {
        sdf_tensor_release(cond);
        sdf_tensor_release(pooled);
        return sdf_fail(err, SDF_ERR_NOMEM, "conditioning");
    }
    v->u.cond.e[0].cond = cond;
    v->u.cond.e[0].pooled = pooled;
    return sdf_out_set(c, 0, v, err);
}

static sdf_status run_set_last_layer(sdf_node_call *c, sdf_error *err) {
    const sdf_clip *clip = sdf_arg_handle(c, 0);
    sdf_clip       *n = sdf_clip_clone(clip, err);
    if (!n)
        return err->code ? err->code : SDF_ERR_NOMEM;
    n->layer_idx = (int)sdf_arg_int(c, 1);
    return sdf_out_set(c, 0, sdf_value_handle(SDF_VT_CLIP, n, &sdf_clip_handle), err);
}

static sdf_status run_combine(sdf_node_call *c, sdf_error *err) {
    sdf_value *v = NULL;
    sdf_status st = sdf_cond_combine(sdf_arg_cond(c, 0), sdf_arg_cond(c, 1), &v, err);
    return out_cond(c, st, v, err);
}

static sdf_status run_average(sdf_node_call *c, sdf_error *err) {
    sdf_value *v = NULL;
    int        ignored = 0;
    sdf_status st = sdf_cond_average(sdf_arg_cond(c, 0), sdf_arg_cond(c, 1), sdf_arg_float(c, 2),
                                     &v, &ignored, err);
    if (ignored)
        sdf_call_warn(c, "ConditioningAverage conditioning_from contains more than 1 cond, only "
                         "the first one will actually be applied to conditioning_to.");
    return out_cond(c, st, v, err);
}

static sdf_status run_concat(sdf_node_call *c, sdf_error *err) {
    sdf_value *v = NULL;
    int        ignored = 0;
    sdf_status st = sdf_cond_concat(sdf_arg_cond(c, 0), sdf_arg_cond(c, 1), &v, &ignored, err);
    if (ignored)
        sdf_call_warn(c, "ConditioningConcat conditioning_from contains more than 1 cond, only "
                         "the first one will actually be applied to conditioning_to.");
    return out_cond(c, st, v, err);
}

static sdf_status run_set_area(sdf_node_call *c, sdf_error *err) {
    sdf_value *v = NULL;
    sdf_status st =
        sdf_cond_set_area(sdf_arg_cond(c, 0), sdf_arg_int(c, 1), sdf_arg_int(c, 2),
                          sdf_arg_int(c, 3), sdf_arg_int(c, 4), sdf_arg_float(c, 5), &v, err);
    return out_cond(c, st, v, err);
}

static sdf_status run_set_area_pct(sdf_node_call *c, sdf_error *err) {
    sdf_value *v = NULL;
    sdf_status st = sdf_cond_set_area_pct(sdf_arg_cond(c, 0), sdf_arg_float(c, 1),
                                          sdf_arg_float(c, 2), sdf_arg_float(c, 3),
                                          sdf_arg_float(c, 4), sdf_arg_float(c, 5), &v, err);
    return out_cond(c, st, v, err);
}

static sdf_status run_set_area_strength(sdf_node_call *c, sdf_error *err) {
    sdf_value *v = NULL;
    sdf_status st = sdf_cond_set_strength(sdf_arg_cond(c, 0), sdf_arg_float(c, 1), &v, err);
    return out_cond(c, st, v, err);
}

static sdf_status run_set_mask(sdf_node_call *c, sdf_error *err) {
    sdf_value *v = NULL;
    bool       bounds = strcmp(sdf_arg_str(c, 3), "default") != 0;
    sdf_status st = sdf_cond_set_mask(sdf_arg_cond(c, 0), sdf_arg_tensor(c, 1), sdf_arg_float(c, 2),
                                      bounds, &v, err);
    if (st != SDF_OK)
        sdf_error_at_input(err, "mask");
    return out_cond(c, st, v, err);
}

static sdf_status run_zero_out(sdf_node_call *c, sdf_error *err) {
    sdf_value *v = NULL;
    sdf_status st = sdf_cond_zero_out(sdf_arg_cond(c, 0), &v, err);
    return out_cond(c, st, v, err);
}

static sdf_status run_timestep_range(sdf_node_call *c, sdf_error *err) {
    sdf_value *v = NULL;
    sdf_status st = sdf_cond_set_timestep_range(sdf_arg_cond(c, 0), sdf_arg_float(c, 1),
                                                sdf_arg_float(c, 2), &v, err);
    return out_cond(c, st, v, err);
}

/* ---- CLIPTextEncode ---- */
static const sdf_input_def text_encode_in[] = {
    {.name = "text",
     .type = SDF_VT_STRING,
     .def_s = "",
     .multiline = true,
     .tooltip = "The text to be encoded."},
    {.name = "clip", .type = SDF_VT_CLIP, .tooltip = "The CLIP model used for encoding the text."},
};
static const sdf_output_def cond_out[] = {{"CONDITIONING", SDF_VT_CONDITIONING}};
static const sdf_output_def clip_out[] = {{"CLIP", SDF_VT_CLIP}};

static const sdf_node_def def_text_encode = {
    .class_type = "CLIPTextEncode",
    .display_name = "CLIP Text Encode (Prompt)",
    .category = "conditioning",
    .description = "Encodes a text prompt using a CLIP model into an embedding that can be used to "
                   "guide the diffusion model towards generating specific images.",
    .inputs = text_encode_in,
    .n_inputs = SDF_COUNTOF(text_encode_in),
    .outputs = cond_out,
    .n_outputs = 1,
    .run = run_text_encode,
};

/* ---- CLIPSetLastLayer ---- */
static const sdf_input_def set_last_layer_in[] = {
    SDF_IN_LINK("clip", SDF_VT_CLIP),
    SDF_IN_INT("stop_at_clip_layer", -1, -24, -1, 1),
};
static const sdf_node_def def_set_last_layer = {
    .class_type = "CLIPSetLastLayer",
    .display_name = "CLIP Set Last Layer",
    .category = "conditioning",
    .inputs = set_last_layer_in,
    .n_inputs = SDF_COUNTOF(set_last_layer_in),
    .outputs = clip_out,
    .n_outputs = 1,
    .run = run_set_last_layer,
};

/* ---- ConditioningCombine ---- */
static const sdf_input_def combine_in[] = {
    SDF_IN_LINK("conditioning_1", SDF_VT_CONDITIONING),
    SDF_IN_LINK("conditioning_2", SDF_VT_CONDITIONING),
};
static const sdf_node_def def_combine = {
    .class_type = "ConditioningCombine",
    .display_name = "Conditioning (Combine)",
    .category = "conditioning",
    .inputs = combine_in,
    .n_inputs = SDF_COUNTOF(combine_in),
    .outputs = cond_out,
    .n_outputs = 1,
    .run = run_combine,
};

/* ---- ConditioningAverage ---- */
static const sdf_input_def average_in[] = {
    SDF_IN_LINK("conditioning_to", SDF_VT_CONDITIONING),
    SDF_IN_LINK("conditioning_from", SDF_VT_CONDITIONING),
    SDF_IN_FLOAT("conditioning_to_strength", 1.0, 0.0, 1.0, 0.01),
};
/* ComfyUI's display-name table keys this node as "ConditioningAverage " (trailing space), which
 * does not match the registered class, so its display name is the class name. */
static const sdf_node_def def_average = {
    .class_type = "ConditioningAverage",
    .display_name = "ConditioningAverage",
    .category = "conditioning",
    .inputs = average_in,
    .n_inputs = SDF_COUNTOF(average_in),
    .outputs = cond_out,
    .n_outputs = 1,
    .run = run_average,
};

/* ---- ConditioningConcat ---- */
static const sdf_input_def concat_in[] = {
    SDF_IN_LINK("conditioning_to", SDF_VT_CONDITIONING),
    SDF_IN_LINK("conditioning_from", SDF_VT_CONDITIONING),
};
static const sdf_node_def def_concat = {
    .class_type = "ConditioningConcat",
    .display_name = "Conditioning (Concat)",
    .category = "conditioning",
    .inputs = concat_in,
    .n_inputs = SDF_COUNTOF(concat_in),
    .outputs = cond_out,
    .n_outputs = 1,
    .run = run_concat,
};

/* ---- ConditioningSetArea ---- */
static const sdf_input_def set_area_in[] = {
    SDF_IN_LINK("conditioning", SDF_VT_CONDITIONING),
    SDF_IN_INT("width", 64, 64, MAX_RES, 8),
    SDF_IN_INT("height", 64, 64, MAX_RES, 8),
    SDF_IN_INT("x", 0, 0, MAX_RES, 8),
    SDF_IN_INT("y", 0, 0, MAX_RES, 8),
    SDF_IN_FLOAT("strength", 1.0, 0.0, 10.0, 0.01),
};
static const sdf_node_def def_set_area = {
    .class_type = "ConditioningSetArea",
    .display_name = "Conditioning (Set Area)",
    .category = "conditioning",
    .inputs = set_area_in,
    .n_inputs = SDF_COUNTOF(set_area_in),
    .outputs = cond_out,
    .n_outputs = 1,
    .run = run_set_area,
};

/* ---- ConditioningSetAreaPercentage ---- */
static const sdf_input_def set_area_pct_in[] = {
    SDF_IN_LINK("conditioning", SDF_VT_CONDITIONING),
    SDF_IN_FLOAT("width", 1.0, 0.0, 1.0, 0.01),
    SDF_IN_FLOAT("height", 1.0, 0.0, 1.0, 0.01),
    SDF_IN_FLOAT("x", 0.0, 0.0, 1.0, 0.01),
    SDF_IN_FLOAT("y", 0.0, 0.0, 1.0, 0.01),
    SDF_IN_FLOAT("strength", 1.0, 0.0, 10.0, 0.01),
};
static const sdf_node_def def_set_area_pct = {
    .class_type = "ConditioningSetAreaPercentage",
    .display_name = "Conditioning (Set Area with Percentage)",
    .category = "conditioning",
    .inputs = set_area_pct_in,
    .n_inputs = SDF_COUNTOF(set_area_pct_in),
    .outputs = cond_out,
    .n_outputs = 1,
    .run = run_set_area_pct,
};

/* ---- ConditioningSetAreaStrength ---- */
static const sdf_input_def set_area_strength_in[] = {
    SDF_IN_LINK("conditioning", SDF_VT_CONDITIONING),
    SDF_IN_FLOAT("strength", 1.0, 0.0, 10.0, 0.01),
};
static const sdf_node_def def_set_area_strength = {
    .class_type = "ConditioningSetAreaStrength",
    .display_name = "ConditioningSetAreaStrength",
    .category = "conditioning",
    .inputs = set_area_strength_in,
    .n_inputs = SDF_COUNTOF(set_area_strength_in),
    .outputs = cond_out,
    .n_outputs = 1,
    .run = run_set_area_strength,
};

/* ---- ConditioningSetMask ---- */
static const char *const   set_cond_area_choices[] = {"default", "mask bounds"};
static const sdf_input_def set_mask_in[] = {
    SDF_IN_LINK("conditioning", SDF_VT_CONDITIONING),
    SDF_IN_LINK("mask", SDF_VT_MASK),
    SDF_IN_FLOAT("strength", 1.0, 0.0, 10.0, 0.01),
    SDF_IN_COMBO("set_cond_area", set_cond_area_choices, "default"),
};
static const sdf_node_def def_set_mask = {
    .class_type = "ConditioningSetMask",
    .display_name = "Conditioning (Set Mask)",
    .category = "conditioning",
    .inputs = set_mask_in,
    .n_inputs = SDF_COUNTOF(set_mask_in),
    .outputs = cond_out,
    .n_outputs = 1,
    .run = run_set_mask,
};

/* ---- ConditioningZeroOut ---- */
static const sdf_input_def zero_out_in[] = {
    SDF_IN_LINK("conditioning", SDF_VT_CONDITIONING),
};
static const sdf_node_def def_zero_out = {
    .class_type = "ConditioningZeroOut",
    .display_name = "ConditioningZeroOut",
    .category = "advanced/conditioning",
    .inputs = zero_out_in,
    .n_inputs = SDF_COUNTOF(zero_out_in),
    .outputs = cond_out,
    .n_outputs = 1,
    .run = run_zero_out,
};

/* ---- ConditioningSetTimestepRange ---- */
static const sdf_input_def timestep_range_in[] = {
    SDF_IN_LINK("conditioning", SDF_VT_CONDITIONING),
    SDF_IN_FLOAT("start", 0.0, 0.0, 1.0, 0.001),
    SDF_IN_FLOAT("end", 1.0, 0.0, 1.0, 0.001),
};
static const sdf_node_def def_timestep_range = {
    .class_type = "ConditioningSetTimestepRange",
    .display_name = "ConditioningSetTimestepRange",
    .category = "advanced/conditioning",
    .inputs = timestep_range_in,
    .n_inputs = SDF_COUNTOF(timestep_range_in),
    .outputs = cond_out,
    .n_outputs = 1,
    .run = run_timestep_range,
};

static const sdf_node_def *const defs[] = {
    &def_text_encode, &def_set_last_layer, &def_combine,        &def_average,
    &def_concat,      &def_set_area,       &def_set_area_pct,   &def_set_area_strength,
    &def_set_mask,    &def_zero_out,       &def_timestep_range,
};

const sdf_node_family sdf_family_conditioning = {"conditioning", defs, SDF_COUNTOF(defs)};
