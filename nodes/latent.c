/* latent.c: the "latent" node family (ComfyUI nodes.py / nodes_mask.py latent nodes).
 * Definitions mirror ComfyUI at 3cd7b32f: names, inputs, defaults, bounds, outputs. The run
 * functions are thin adapters over core/image (maths) and core/io (files). */
#include "nodes.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/base/alloc.h"
#include "../core/image/compose.h"
#include "../core/image/ops.h"
#include "../core/image/resample.h"
#include "../core/io/pyjson.h"
#include "../core/io/safetensors.h"
#include "../core/io/savepath.h"

static int64_t py_round(double v) { return (int64_t)nearbyint(v); } /* round half to even */

/* Sets output 0 to a LATENT carrying `samples` and the other keys of `like` (ComfyUI's
 * samples.copy()); consumes the caller's reference to samples. */
static sdf_status out_latent_like(sdf_node_call *c, const sdf_latent *like, sdf_tensor *samples,
                                  sdf_error *err) {
    if (!samples) return err && err->code ? err->code : SDF_ERR_NOMEM;
    sdf_value *v = sdf_value_latent(samples, like ? like->noise_mask : NULL,
                                    like ? like->batch_index : NULL, like ? like->n_batch_index : 0);
    sdf_tensor_release(samples);
    return sdf_out_set(c, 0, v, err);
}

static sdf_status need_latent(const sdf_latent *l, const char *input, sdf_error *err) {
    if (!l || !l->samples || l->samples->ndim != 4 || l->samples->dtype != SDF_DTYPE_F32) {
        sdf_fail(err, SDF_ERR_SHAPE, "expected a LATENT with samples [B,C,h,w] f32");
        sdf_error_at_input(err, input);
        return SDF_ERR_SHAPE;
    }
    return SDF_OK;
}

static sdf_status run_empty_latent(sdf_node_call *c, sdf_error *err) {
    int64_t w = sdf_arg_int(c, 0), h = sdf_arg_int(c, 1), b = sdf_arg_int(c, 2);
    sdf_tensor *t = sdf_tensor_zeros(SDF_DTYPE_F32, 4, (int64_t[]){b, 4, h / 8, w / 8}, err);
    return out_latent_like(c, NULL, t, err);
}

static sdf_status run_latent_upscale(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *l = sdf_arg_latent(c, 0);
    sdf_status st = need_latent(l, "samples", err);
    if (st) return st;
    int m = sdf_resample_from_name(sdf_arg_str(c, 1));
    int64_t width = sdf_arg_int(c, 2), height = sdf_arg_int(c, 3);
    bool center = strcmp(sdf_arg_str(c, 4), "center") == 0;
    if (m < 0 || m == SDF_RS_LANCZOS) return sdf_fail(err, SDF_ERR_INVALID, "unknown upscale_method");
    if (width == 0 && height == 0) return sdf_out_set(c, 0, sdf_value_retain(sdf_arg(c, 0)), err);
    int64_t H = l->samples->shape[2], W = l->samples->shape[3];
    if (width == 0) {
        height = height > 64 ? height : 64;
        width = py_round((double)(W * height) / (double)H);
        width = width > 64 ? width : 64;
    } else if (height == 0) {
        width = width > 64 ? width : 64;
        height = py_round((double)(H * width) / (double)W);
        height = height > 64 ? height : 64;
    } else {
        width = width > 64 ? width : 64;
        height = height > 64 ? height : 64;
    }
    sdf_tensor *o = sdf_common_upscale(l->samples, width / 8, height / 8, (sdf_resample)m, center,
                                       sdf_call_pool(c), err);
    return out_latent_like(c, l, o, err);
}

static sdf_status run_latent_upscale_by(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *l = sdf_arg_latent(c, 0);
    sdf_status st = need_latent(l, "samples", err);
    if (st) return st;
    int m = sdf_resample_from_name(sdf_arg_str(c, 1));
    double s = sdf_arg_float(c, 2);
    if (m < 0 || m == SDF_RS_LANCZOS) return sdf_fail(err, SDF_ERR_INVALID, "unknown upscale_method");
    int64_t w = py_round((double)l->samples->shape[3] * s), h = py_round((double)l->samples->shape[2] * s);
    if (w <= 0 || h <= 0)
        return sdf_fail(err, SDF_ERR_INVALID, "scale_by %g makes the latent empty", s);
    sdf_tensor *o = sdf_common_upscale(l->samples, w, h, (sdf_resample)m, false, sdf_call_pool(c), err);
    return out_latent_like(c, l, o, err);
}

static sdf_status run_latent_from_batch(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *l = sdf_arg_latent(c, 0);
    sdf_status st = need_latent(l, "samples", err);
    if (st) return st;
    int64_t B = l->samples->shape[0];
    int64_t i = sdf_arg_int(c, 1), n = sdf_arg_int(c, 2);
    if (i > B - 1) i = B - 1;
    if (n > B - i) n = B - i;
    if (n > 64) return sdf_fail(err, SDF_ERR_INVALID, "length %lld is above 64", (long long)n);
    sdf_tensor *s = sdf_batch_rows(l->samples, i, n, err);
    if (!s) return err->code;
    sdf_tensor *m = NULL;
    if (l->noise_mask) {
        if (l->noise_mask->ndim < 1 || l->noise_mask->shape[0] < 1) {
            sdf_tensor_release(s);
            return sdf_fail(err, SDF_ERR_SHAPE, "empty noise_mask");
        }
        m = l->noise_mask->shape[0] == 1 ? sdf_tensor_retain(l->noise_mask)
                                         : sdf_batch_rows(l->noise_mask, i, n, err);
        if (!m) {
            sdf_tensor_release(s);
            return err->code;
        }
    }
    int64_t idx[64];
    for (int64_t k = 0; k < n && k < 64; k++)
        idx[k] = l->batch_index ? (i + k < l->n_batch_index ? l->batch_index[i + k] : 0) : i + k;
    int nidx = (int)n;
    if (l->batch_index) { /* Python slicing of the list clips at its end */
        int64_t avail = l->n_batch_index - i;
        nidx = (int)(avail < 0 ? 0 : avail < n ? avail : n);
    }
    sdf_value *v = sdf_value_latent(s, m, idx, nidx);
    sdf_tensor_release(s);
    sdf_tensor_release(m);
    return sdf_out_set(c, 0, v, err);
}

static sdf_status run_repeat_latent(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *l = sdf_arg_latent(c, 0);
    sdf_status st = need_latent(l, "samples", err);
    if (st) return st;
    int64_t amount = sdf_arg_int(c, 1);
    sdf_tensor *s = sdf_batch_tile(l->samples, amount, err);
    if (!s) return err->code;
    sdf_tensor *m = NULL;
    if (l->noise_mask) {
        m = l->noise_mask->ndim >= 1 && l->noise_mask->shape[0] > 1
                ? sdf_batch_tile(l->noise_mask, amount, err)
                : sdf_tensor_retain(l->noise_mask);
        if (!m) {
            sdf_tensor_release(s);
            return err->code;
        }
    }
    int64_t *idx = NULL;
    int nidx = 0;
    if (l->batch_index && l->n_batch_index > 0) {
        int64_t lo = l->batch_index[0], hi = l->batch_index[0];
        for (int k = 1; k < l->n_batch_index; k++) {
            if (l->batch_index[k] < lo) lo = l->batch_index[k];
            if (l->batch_index[k] > hi) hi = l->batch_index[k];
        }
        int64_t offset = hi - lo + 1;
        nidx = l->n_batch_index * (int)amount;
        idx = sdf_malloc((size_t)nidx * sizeof *idx);
        if (!idx) {
            sdf_tensor_release(s);
            sdf_tensor_release(m);
            return sdf_fail(err, SDF_ERR_NOMEM, "batch_index");
        }
        for (int64_t r = 0; r < amount; r++)
            for (int k = 0; k < l->n_batch_index; k++)
                idx[r * l->n_batch_index + k] = l->batch_index[k] + r * offset;
    }
    sdf_value *v = sdf_value_latent(s, m, idx, nidx);
    sdf_free(idx);
    sdf_tensor_release(s);
    sdf_tensor_release(m);
    return sdf_out_set(c, 0, v, err);
}

static sdf_status run_latent_composite(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *to = sdf_arg_latent(c, 0), *from = sdf_arg_latent(c, 1);
    sdf_status st = need_latent(to, "samples_to", err);
    if (!st) st = need_latent(from, "samples_from", err);
    if (st) return st;
    sdf_tensor *o = sdf_latent_paste(to->samples, from->samples, sdf_arg_int(c, 2),
                                     sdf_arg_int(c, 3), sdf_arg_int(c, 4), err);
    return out_latent_like(c, to, o, err);
}

static sdf_status run_latent_blend(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *a = sdf_arg_latent(c, 0), *b = sdf_arg_latent(c, 1);
    sdf_status st = need_latent(a, "samples1", err);
    if (!st) st = need_latent(b, "samples2", err);
    if (st) return st;
    sdf_tensor *o = sdf_latent_blend(a->samples, b->samples, sdf_arg_float(c, 2), sdf_call_pool(c), err);
    return out_latent_like(c, a, o, err);
}

static sdf_status run_latent_composite_masked(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *d = sdf_arg_latent(c, 0), *s = sdf_arg_latent(c, 1);
    sdf_status st = need_latent(d, "destination", err);
    if (!st) st = need_latent(s, "source", err);
    if (st) return st;
    sdf_tensor *o = sdf_composite(d->samples, s->samples, sdf_arg_int(c, 2), sdf_arg_int(c, 3),
                                  sdf_arg_tensor(c, 5), 8, sdf_arg_bool(c, 4), false,
                                  sdf_call_pool(c), err);
    return out_latent_like(c, d, o, err);
}

static sdf_status run_set_noise_mask(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *l = sdf_arg_latent(c, 0);
    sdf_tensor *m = sdf_arg_tensor(c, 1);
    sdf_status st = need_latent(l, "samples", err);
    if (st) return st;
    if (!m || m->ndim < 2 || sdf_tensor_numel(m) <= 0)
        return sdf_fail(err, SDF_ERR_SHAPE, "mask must be [B,H,W]");
    int64_t H = m->shape[m->ndim - 2], W = m->shape[m->ndim - 1];
    sdf_tensor *r = sdf_tensor_reshape(m, 4, (int64_t[]){sdf_tensor_numel(m) / (H * W), 1, H, W}, err);
    if (!r) return err->code;
    sdf_value *v = sdf_value_latent(l->samples, r, l->batch_index, l->n_batch_index);
    sdf_tensor_release(r);
    return sdf_out_set(c, 0, v, err);
}

static sdf_status run_latent_rotate(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *l = sdf_arg_latent(c, 0);
    sdf_status st = need_latent(l, "samples", err);
    if (st) return st;
    const char *r = sdf_arg_str(c, 1);
    int k = strncmp(r, "90", 2) == 0 ? 1 : strncmp(r, "180", 3) == 0 ? 2 : strncmp(r, "270", 3) == 0 ? 3 : 0;
    return out_latent_like(c, l, sdf_latent_rotate(l->samples, k, err), err);
}

static sdf_status run_latent_flip(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *l = sdf_arg_latent(c, 0);
    sdf_status st = need_latent(l, "samples", err);
    if (st) return st;
    const char *m = sdf_arg_str(c, 1);
    if (m[0] != 'x' && m[0] != 'y') return sdf_out_set(c, 0, sdf_value_retain(sdf_arg(c, 0)), err);
    return out_latent_like(c, l, sdf_latent_flip(l->samples, m[0] == 'x', err), err);
}

static sdf_status run_latent_crop(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *l = sdf_arg_latent(c, 0);
    sdf_status st = need_latent(l, "samples", err);
    if (st) return st;
    sdf_tensor *o = sdf_latent_crop(l->samples, sdf_arg_int(c, 1), sdf_arg_int(c, 2),
                                    sdf_arg_int(c, 3), sdf_arg_int(c, 4), err);
    return out_latent_like(c, l, o, err);
}

static sdf_status run_save_latent(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *l = sdf_arg_latent(c, 0);
    sdf_status st = need_latent(l, "samples", err);
    if (st) return st;
    const sdf_paths *p = sdf_call_paths(c);
    sdf_save_path sp;
    st = sdf_save_path_get(p && p->output_dir ? p->output_dir : "output", sdf_arg_str(c, 1), 0, 0,
                           &sp, err);
    if (st) {
        sdf_error_at_input(err, "filename_prefix");
        return st;
    }
    char name[1024], path[6000];
    snprintf(name, sizeof name, "%s_%05lld_.latent", sp.filename, (long long)sp.counter);
    snprintf(path, sizeof path, "%s/%s", sp.folder, name);
    sdf_st_writer *w = sdf_st_writer_new();
    if (!w) return sdf_fail(err, SDF_ERR_NOMEM, "latent writer");
    sdf_tensor *marker = sdf_tensor_zeros(SDF_DTYPE_F32, 1, (int64_t[]){0}, err);
    char *prompt = sdf_call_prompt(c) ? sdf_json_dumps_py(sdf_call_prompt(c)) : NULL;
    st = marker ? SDF_OK : err->code;
    if (!st) st = sdf_st_writer_add(w, "latent_tensor", l->samples, err);
    if (!st) st = sdf_st_writer_add(w, "latent_format_version_0", marker, err);
    if (!st) st = sdf_st_writer_meta(w, "prompt", prompt ? prompt : "", err);
    if (!st && sdf_call_workflow_text(c))
        st = sdf_st_writer_meta(w, "workflow", sdf_call_workflow_text(c), err);
    if (!st) st = sdf_st_writer_save(w, path, err);
    if (!st) sdf_call_note_output_file(c, path, (int)(l->samples->shape[3] * 8),
                                       (int)(l->samples->shape[2] * 8));
    sdf_free(prompt);
    sdf_tensor_release(marker);
    sdf_st_writer_free(w);
    return st;
}

static sdf_status run_load_latent(sdf_node_call *c, sdf_error *err) {
    char path[4096];
    sdf_status st = sdf_call_find_file(c, 0, path, sizeof path, err);
    if (st) return st;
    sdf_call_note_input_file(c, path, "latent");
    sdf_st_file *f = NULL;
    st = sdf_st_open(path, &f, err);
    if (st) return st;
    sdf_tensor *t = sdf_st_tensor_f32(f, "latent_tensor", err);
    bool v0 = sdf_st_find(f, "latent_format_version_0") != NULL;
    sdf_st_close(f);
    if (!t) {
        sdf_error_at_file(err, path);
        return err->code;
    }
    if (t->ndim != 4) {
        sdf_tensor_release(t);
        sdf_fail(err, SDF_ERR_SHAPE, "latent_tensor must be [B,C,h,w]");
        sdf_error_at_file(err, path);
        return SDF_ERR_SHAPE;
    }
    if (!v0) { /* files from before the marker hold scaled latents */
        sdf_tensor *s = sdf_tensor_clone(t, err);
        sdf_tensor_release(t);
        if (!s) return err->code;
        float k = (float)(1.0 / 0.18215), *d = sdf_tensor_f32p(s);
        for (int64_t i = 0; i < sdf_tensor_numel(s); i++) d[i] = d[i] * k;
        t = s;
    }
    return out_latent_like(c, NULL, t, err);
}

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
    in_empty_latent, SDF_COUNTOF(in_empty_latent), out_latent, 1, 0, run_empty_latent};

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
    in_latent_upscale, SDF_COUNTOF(in_latent_upscale), out_latent, 1, 0, run_latent_upscale};

/* ---- LatentUpscaleBy ---- */
static const sdf_input_def in_latent_upscale_by[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_COMBO("upscale_method", upscale_latent_methods, NULL),
    SDF_IN_FLOAT("scale_by", 1.5, 0.01, 8.0, 0.01),
};
static const sdf_node_def def_latent_upscale_by = {
    "LatentUpscaleBy", "Upscale Latent By", "latent", NULL,
    in_latent_upscale_by, SDF_COUNTOF(in_latent_upscale_by), out_latent, 1, 0, run_latent_upscale_by};

/* ---- LatentFromBatch ---- */
static const sdf_input_def in_latent_from_batch[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_INT("batch_index", 0, 0, 63, 1),
    SDF_IN_INT("length", 1, 1, 64, 1),
};
static const sdf_node_def def_latent_from_batch = {
    "LatentFromBatch", "Latent From Batch", "latent/batch", NULL,
    in_latent_from_batch, SDF_COUNTOF(in_latent_from_batch), out_latent, 1, 0, run_latent_from_batch};

/* ---- RepeatLatentBatch ---- */
static const sdf_input_def in_repeat_latent[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_INT("amount", 1, 1, 64, 1),
};
static const sdf_node_def def_repeat_latent = {
    "RepeatLatentBatch", "Repeat Latent Batch", "latent/batch", NULL,
    in_repeat_latent, SDF_COUNTOF(in_repeat_latent), out_latent, 1, 0, run_repeat_latent};

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
    in_latent_composite, SDF_COUNTOF(in_latent_composite), out_latent, 1, 0, run_latent_composite};

/* ---- LatentBlend ---- */
static const sdf_input_def in_latent_blend[] = {
    SDF_IN_LINK("samples1", SDF_VT_LATENT),
    SDF_IN_LINK("samples2", SDF_VT_LATENT),
    SDF_IN_FLOAT("blend_factor", 0.5, 0.0, 1.0, 0.01),
};
static const sdf_node_def def_latent_blend = {
    "LatentBlend", "Latent Blend", "_for_testing", NULL,
    in_latent_blend, SDF_COUNTOF(in_latent_blend), out_latent, 1, 0, run_latent_blend};

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
    in_latent_composite_masked, SDF_COUNTOF(in_latent_composite_masked), out_latent, 1, 0, run_latent_composite_masked};

/* ---- SetLatentNoiseMask ---- */
static const sdf_input_def in_set_noise_mask[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_LINK("mask", SDF_VT_MASK),
};
static const sdf_node_def def_set_noise_mask = {
    "SetLatentNoiseMask", "Set Latent Noise Mask", "latent/inpaint", NULL,
    in_set_noise_mask, SDF_COUNTOF(in_set_noise_mask), out_latent, 1, 0, run_set_noise_mask};

/* ---- LatentRotate / LatentFlip / LatentCrop ---- */
static const sdf_input_def in_latent_rotate[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_COMBO("rotation", rotations, NULL),
};
static const sdf_node_def def_latent_rotate = {
    "LatentRotate", "Rotate Latent", "latent/transform", NULL,
    in_latent_rotate, SDF_COUNTOF(in_latent_rotate), out_latent, 1, 0, run_latent_rotate};

static const sdf_input_def in_latent_flip[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_COMBO("flip_method", flips, NULL),
};
static const sdf_node_def def_latent_flip = {
    "LatentFlip", "Flip Latent", "latent/transform", NULL,
    in_latent_flip, SDF_COUNTOF(in_latent_flip), out_latent, 1, 0, run_latent_flip};

static const sdf_input_def in_latent_crop[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_INT("width", 512, 64, MAXRES, 8),
    SDF_IN_INT("height", 512, 64, MAXRES, 8),
    SDF_IN_INT("x", 0, 0, MAXRES, 8),
    SDF_IN_INT("y", 0, 0, MAXRES, 8),
};
static const sdf_node_def def_latent_crop = {
    "LatentCrop", "Crop Latent", "latent/transform", NULL,
    in_latent_crop, SDF_COUNTOF(in_latent_crop), out_latent, 1, 0, run_latent_crop};

/* ---- SaveLatent / LoadLatent (.latent = safetensors) ---- */
static const sdf_input_def in_save_latent[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT),
    SDF_IN_STRING("filename_prefix", "latents/ComfyUI", false),
};
static const sdf_node_def def_save_latent = {
    "SaveLatent", "SaveLatent", "_for_testing", NULL,
    in_save_latent, SDF_COUNTOF(in_save_latent), NULL, 0, SDF_NODE_OUTPUT, run_save_latent};

static const sdf_input_def in_load_latent[] = {
    SDF_IN_FILE("latent", SDF_FILE_INPUT),
};
static const sdf_node_def def_load_latent = {
    "LoadLatent", "LoadLatent", "_for_testing", NULL,
    in_load_latent, SDF_COUNTOF(in_load_latent), out_latent, 1, 0, run_load_latent};

static const sdf_node_def *const defs[] = {
    &def_empty_latent,     &def_latent_upscale,   &def_latent_upscale_by,
    &def_latent_from_batch, &def_repeat_latent,   &def_latent_composite,
    &def_latent_blend,     &def_latent_composite_masked, &def_set_noise_mask,
    &def_latent_rotate,    &def_latent_flip,      &def_latent_crop,
    &def_save_latent,      &def_load_latent,
};

const sdf_node_family sdf_family_latent = {"latent", defs, SDF_COUNTOF(defs)};
