/* loaders.c: the "loaders" node family (CheckpointLoaderSimple, CheckpointLoader, VAELoader,
 * CLIPLoader). Definitions only call into core/ (models/checkpoint.h). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/models/checkpoint.h"
#include "nodes.h"

/* --clip-vocab, else the first models dir with clip_vocab/vocab.json; NULL when none. */
static const char *find_vocab_dir(const sdf_paths *p, char *buf, size_t cap) {
    struct stat sb;
    char probe[1200];
    if (!p) return NULL;
    if (p->clip_vocab_dir && p->clip_vocab_dir[0]) return p->clip_vocab_dir;
    for (int i = 0; i < p->n_models_dirs; i++) {
        snprintf(probe, sizeof probe, "%s/clip_vocab/vocab.json", p->models_dirs[i]);
        if (stat(probe, &sb) == 0) {
            snprintf(buf, cap, "%s/clip_vocab", p->models_dirs[i]);
            return buf;
        }
    }
    return NULL;
}

static void fill_opts(sdf_node_call *c, sdf_checkpoint_opts *o, char *vbuf, size_t cap) {
    memset(o, 0, sizeof *o);
    o->fp32_text_encoder = sdf_call_fp32_text_enc(c);
    o->clip_vocab_dir = find_vocab_dir(sdf_call_paths(c), vbuf, cap);
}

/* Loads the checkpoint named by input `in` and sets MODEL, CLIP, VAE outputs. */
static sdf_status load_ckpt_outputs(sdf_node_call *c, int in, sdf_error *err) {
    char path[4096], vbuf[1100];
    sdf_status st = sdf_call_find_file(c, in, path, sizeof path, err);
    if (st) return st;
    sdf_call_note_input_file(c, path, "checkpoint");
    sdf_checkpoint_opts o;
    fill_opts(c, &o, vbuf, sizeof vbuf);
    sdf_model *m = NULL;
    sdf_clip *cl = NULL;
    sdf_vae *v = NULL;
    st = sdf_checkpoint_load(path, &o, &m, &cl, &v, err);
    if (st) return st;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
        char hex[65];
        sdf_error e2;
        sdf_error_clear(&e2);
        if (sdf_call_file_sha256(c, path, hex, &e2) == SDF_OK)
            memcpy(m->sha256, hex, sizeof m->sha256);
    }
    st = sdf_out_set(c, 0, sdf_value_handle(SDF_VT_MODEL, m, &sdf_model_handle), err);
    if (st) { sdf_clip_release(cl); sdf_vae_release(v); return st; }
    st = sdf_out_set(c, 1, sdf_value_handle(SDF_VT_CLIP, cl, &sdf_clip_handle), err);
    if (st) { sdf_vae_release(v); return st; }
    return sdf_out_set(c, 2, sdf_value_handle(SDF_VT_VAE, v, &sdf_vae_handle), err);
}

static sdf_status run_ckpt_simple(sdf_node_call *c, sdf_error *err) {
    return load_ckpt_outputs(c, 0, err);
}

static sdf_status run_ckpt_cfg(sdf_node_call *c, sdf_error *err) {
    return load_ckpt_outputs(c, 1, err); /* config_name accepted and ignored (decisions.md) */
}

static sdf_status run_vae(sdf_node_call *c, sdf_error *err) {
    char path[4096];
    sdf_status st = sdf_call_find_file(c, 0, path, sizeof path, err);
    if (st) return st;
    sdf_call_note_input_file(c, path, "vae");
    sdf_vae *v = NULL;
    if ((st = sdf_vae_load_file(path, &v, err))) return st;
    return sdf_out_set(c, 0, sdf_value_handle(SDF_VT_VAE, v, &sdf_vae_handle), err);
}

static sdf_status run_clip(sdf_node_call *c, sdf_error *err) {
    const char *type = sdf_arg_str(c, 1);
    if (type && strcmp(type, "stable_diffusion") != 0) {
        sdf_fail(err, SDF_ERR_UNSUPPORTED,
                 "CLIPLoader type \"%s\" is not supported (only stable_diffusion: CLIP-L for "
                 "SD1, OpenCLIP-H for SD2)", type);
        sdf_error_at_input(err, "type");
        return SDF_ERR_UNSUPPORTED;
    }
    char path[4096], vbuf[1100];
    sdf_status st = sdf_call_find_file(c, 0, path, sizeof path, err);
    if (st) return st;
    sdf_call_note_input_file(c, path, "text_encoder");
    sdf_checkpoint_opts o;
    fill_opts(c, &o, vbuf, sizeof vbuf);
    sdf_clip *cl = NULL;
    if ((st = sdf_clip_load_file(path, &o, &cl, err))) return st;
    return sdf_out_set(c, 0, sdf_value_handle(SDF_VT_CLIP, cl, &sdf_clip_handle), err);
}

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
    .run = run_ckpt_simple,
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
    .run = run_ckpt_cfg,
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
    .run = run_vae,
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
    .run = run_clip,
};

static const sdf_node_def *const defs[] = {&ckpt_simple_def, &ckpt_cfg_def, &vae_def, &clip_def};

const sdf_node_family sdf_family_loaders = {"loaders", defs, SDF_COUNTOF(defs)};
