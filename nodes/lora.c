/* lora.c: the "lora" node family: LoRA loaders, model merging and CheckpointSave.
 * Definitions only call into core/ (models/lora.h, models/checkpoint.h). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/models/checkpoint.h"
#include "../core/models/lora.h"
#include "nodes.h"

/* ---- LoRA ---- */

static sdf_status apply_lora(sdf_node_call *c, sdf_model *model, sdf_clip *clip, int file_in,
                             double sm, double sc, sdf_model **om, sdf_clip **oc,
                             sdf_error *err) {
    char path[4096];
    sdf_status st = sdf_call_find_file(c, file_in, path, sizeof path, err);
    if (st) return st;
    sdf_call_note_input_file(c, path, "lora");
    sdf_lora *l = NULL;
    if ((st = sdf_lora_open(path, &l, err))) return st;
    sdf_lora_opts o = {.strength_model = sm, .strength_clip = sc, .pool = sdf_call_pool(c),
                       .fp32_text_encoder = sdf_call_fp32_text_enc(c)};
    sdf_lora_report rep;
    st = sdf_lora_apply(l, model, clip, &o, om, oc, &rep, err);
    sdf_lora_free(l);
    if (st) {
        sdf_error_at_file(err, path);
        return st;
    }
    char buf[2048];
    snprintf(buf, sizeof buf, "%d", rep.patched_unet);
    sdf_call_note(c, "lora.patched_unet", buf);
    snprintf(buf, sizeof buf, "%d", rep.patched_clip);
    sdf_call_note(c, "lora.patched_clip", buf);
    snprintf(buf, sizeof buf, "%d", rep.n_unmatched);
    sdf_call_note(c, "lora.unmatched_count", buf);
    if (rep.n_unmatched) {
        size_t n = 0;
        buf[0] = 0;
        for (int i = 0; i < rep.n_unmatched && i < SDF_LORA_REPORT_NAMES; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? ", " : "", rep.unmatched[i]);
        if (rep.n_unmatched > SDF_LORA_REPORT_NAMES && n < sizeof buf)
            snprintf(buf + n, sizeof buf - n, ", ... (%d in all)", rep.n_unmatched);
        sdf_call_note(c, "lora.unmatched_keys", buf);
        sdf_call_warn(c, "%d LoRA key(s) not loaded: %s", rep.n_unmatched, buf);
    }
    for (int i = 0; i < rep.n_skipped && i < SDF_LORA_REPORT_NAMES; i++)
        sdf_call_warn(c, "LoRA patch skipped: %s", rep.skipped[i]);
    if (rep.n_skipped > SDF_LORA_REPORT_NAMES)
        sdf_call_warn(c, "%d LoRA patches skipped in all", rep.n_skipped);
    return SDF_OK;
}

static sdf_status run_lora(sdf_node_call *c, sdf_error *err) {
    sdf_model *model = sdf_arg_handle(c, 0);
    sdf_clip *clip = sdf_arg_handle(c, 1);
    double sm = sdf_arg_float(c, 3), sc = sdf_arg_float(c, 4);
    if (sm == 0.0 && sc == 0.0) { /* ComfyUI returns its inputs unchanged */
        sdf_status st = sdf_out_set(c, 0, sdf_value_retain(sdf_arg(c, 0)), err);
        return st ? st : sdf_out_set(c, 1, sdf_value_retain(sdf_arg(c, 1)), err);
    }
    sdf_model *om = NULL;
    sdf_clip *oc = NULL;
    sdf_status st = apply_lora(c, model, clip, 2, sm, sc, &om, &oc, err);
    if (st) return st;
    st = sdf_out_set(c, 0, sdf_value_handle(SDF_VT_MODEL, om, &sdf_model_handle), err);
    if (st) { sdf_clip_release(oc); return st; }
    return sdf_out_set(c, 1, sdf_value_handle(SDF_VT_CLIP, oc, &sdf_clip_handle), err);
}

static sdf_status run_lora_model_only(sdf_node_call *c, sdf_error *err) {
    double sm = sdf_arg_float(c, 2);
    if (sm == 0.0) return sdf_out_set(c, 0, sdf_value_retain(sdf_arg(c, 0)), err);
    sdf_model *om = NULL;
    sdf_status st = apply_lora(c, sdf_arg_handle(c, 0), NULL, 1, sm, 0.0, &om, NULL, err);
    if (st) return st;
    return sdf_out_set(c, 0, sdf_value_handle(SDF_VT_MODEL, om, &sdf_model_handle), err);
}

/* ---- merging ---- */

static sdf_status merge_out(sdf_node_call *c, double sp, double smd, sdf_error *err) {
    sdf_model *out = NULL;
    sdf_status st = sdf_model_merge(sdf_arg_handle(c, 0), sdf_arg_handle(c, 1), sp, smd,
                                    sdf_call_pool(c), &out, err);
    if (st) return st;
    return sdf_out_set(c, 0, sdf_value_handle(SDF_VT_MODEL, out, &sdf_model_handle), err);
}

static sdf_status run_merge_simple(sdf_node_call *c, sdf_error *err) {
    double r = sdf_arg_float(c, 2);
    return merge_out(c, 1.0 - r, r, err);
}

static sdf_status run_merge_sub(sdf_node_call *c, sdf_error *err) {
    double m = sdf_arg_float(c, 2);
    return merge_out(c, -m, m, err);
}

static sdf_status run_merge_add(sdf_node_call *c, sdf_error *err) {
    return merge_out(c, 1.0, 1.0, err);
}

static sdf_status run_clip_merge(sdf_node_call *c, sdf_error *err) {
    double r = sdf_arg_float(c, 2);
    sdf_clip *out = NULL;
    sdf_status st = sdf_clip_merge(sdf_arg_handle(c, 0), sdf_arg_handle(c, 1), 1.0 - r, r,
                                   sdf_call_pool(c), &out, err);
    if (st) return st;
    return sdf_out_set(c, 0, sdf_value_handle(SDF_VT_CLIP, out, &sdf_clip_handle), err);
}

/* ---- CheckpointSave ---- */

static int mkdirs(const char *dir) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* ComfyUI's get_save_image_path: <output>/<subfolder>/<name>_<counter:05>_.safetensors with the
 * counter one above the highest existing one for that name. */
static sdf_status save_path(const char *out_dir, const char *prefix, char *path, size_t cap,
                            sdf_error *err) {
    if (strstr(prefix, "..")) return sdf_fail(err, SDF_ERR_INVALID, "filename_prefix may not contain '..'");
    char dir[4096], name[1024];
    const char *slash = strrchr(prefix, '/');
    if (slash) {
        snprintf(dir, sizeof dir, "%s/%.*s", out_dir, (int)(slash - prefix), prefix);
        snprintf(name, sizeof name, "%s", slash + 1);
    } else {
        snprintf(dir, sizeof dir, "%s", out_dir);
        snprintf(name, sizeof name, "%s", prefix);
    }
    if (mkdirs(dir) != 0) return sdf_fail(err, SDF_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    int counter = 0;
    size_t nl = strlen(name);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, name, nl) != 0 || de->d_name[nl] != '_') continue;
        int v = atoi(de->d_name + nl + 1);
        if (v > counter) counter = v;
    }
    if (d) closedir(d);
    snprintf(path, cap, "%s/%s_%05d_.safetensors", dir, name, counter + 1);
    return SDF_OK;
}

static sdf_status run_ckpt_save(sdf_node_call *c, sdf_error *err) {
    const sdf_paths *p = sdf_call_paths(c);
    const char *out_dir = p && p->output_dir ? p->output_dir : "output";
    char path[4096];
    sdf_status st = save_path(out_dir, sdf_arg_str(c, 3), path, sizeof path, err);
    if (st) { sdf_error_at_input(err, "filename_prefix"); return st; }
    char *prompt = NULL;
    const cJSON *pj = sdf_call_prompt(c);
    if (pj) prompt = cJSON_PrintUnformatted(pj);
    const char *meta[] = {prompt ? "prompt" : NULL, prompt, NULL, NULL};
    st = sdf_checkpoint_save(path, sdf_arg_handle(c, 0), sdf_arg_handle(c, 1), sdf_arg_handle(c, 2),
                             meta, err);
    cJSON_free(prompt);
    if (st) return st;
    sdf_call_note_output_file(c, path, 0, 0);
    return SDF_OK;
}

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
    .run = run_lora,
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
    .run = run_lora_model_only,
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
    .run = run_merge_simple,
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
    .description = "W = multiplier * (W1 - W2) on every UNet weight both models have (ComfyUI's "
                   "ModelSubtract).",
    .inputs = merge_sub_in,
    .n_inputs = (int)SDF_COUNTOF(merge_sub_in),
    .outputs = model_out,
    .n_outputs = (int)SDF_COUNTOF(model_out),
    .run = run_merge_sub,
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
    .run = run_merge_add,
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
    .run = run_clip_merge,
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
    .run = run_ckpt_save,
};

static const sdf_node_def *const defs[] = {
    &lora_def,      &lora_mo_def,    &merge_simple_def, &merge_sub_def,
    &merge_add_def, &clip_merge_def, &ckpt_save_def,
};

const sdf_node_family sdf_family_lora = {"lora", defs, SDF_COUNTOF(defs)};
