/* clip_fixture.h: loads the tiny reference checkpoint's text encoder for the CLIP tests
 * (header-only; the models helper's sdf_checkpoint_load will replace this). */
#ifndef SDF_TEST_CLIP_FIXTURE_H
#define SDF_TEST_CLIP_FIXTURE_H

#include <cjson/cJSON.h>

#include "core/io/safetensors.h"
#include "core/models/clip.h"
#include "tests/testing.h"

static int fx_json_int(cJSON *o, const char *k, int def) {
    cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? (int)v->valuedouble : def;
}

/* The CLIP of golden file `rel` (e.g. "tiny-sd1.safetensors"), configured from its clip_config. */
static sdf_clip *fx_load_clip(const char *rel) {
    const char *path = test_ref_path(rel);
    if (!path) return NULL;
    sdf_error    err = {0};
    sdf_st_file *f = NULL;
    if (sdf_st_open(path, &f, &err) != SDF_OK) {
        fprintf(stderr, "  open %s: %s\n", path, err.msg);
        return NULL;
    }
    sdf_wstore *w = sdf_wstore_new(&err);
    if (!w || sdf_wstore_add_file(w, f, "cond_stage_model.transformer.", "", &err) != SDF_OK) {
        fprintf(stderr, "  wstore: %s\n", err.msg);
        sdf_wstore_release(w);
        sdf_st_close(f);
        return NULL;
    }
    const char *meta = sdf_st_meta_get(f, "clip_config");
    cJSON      *cfg = meta ? cJSON_Parse(meta) : NULL;
    sdf_st_close(f);
    sdf_clip *clip = sdf_clip_new(w, &err);
    if (!clip) {
        cJSON_Delete(cfg);
        return NULL;
    }
    clip->arch = SDF_ARCH_SD1;
    sdf_clip_config_sd1(&clip->cfg);
    if (cfg) {
        clip->cfg.width = fx_json_int(cfg, "hidden_size", 768);
        clip->cfg.layers = fx_json_int(cfg, "num_hidden_layers", 12);
        clip->cfg.heads = fx_json_int(cfg, "num_attention_heads", 12);
        clip->cfg.mlp = fx_json_int(cfg, "intermediate_size", 3072);
        clip->cfg.vocab = fx_json_int(cfg, "vocab_size", 49408);
        clip->cfg.positions = fx_json_int(cfg, "max_position_embeddings", 77);
        cJSON *act = cJSON_GetObjectItem(cfg, "hidden_act");
        clip->cfg.quick_gelu = !(cJSON_IsString(act) && strcmp(act->valuestring, "gelu") == 0);
        cJSON_Delete(cfg);
    }
    const char *vocab = test_ref_path("clip-vocab");
    snprintf(clip->vocab_dir, sizeof clip->vocab_dir, "%s", vocab ? vocab : "");
    return clip;
}

/* f32 copy of a golden tensor (NEW), or NULL. */
static sdf_tensor *fx_golden(const char *rel, const char *name) {
    const char *path = test_ref_path(rel);
    if (!path) return NULL;
    sdf_error    err = {0};
    sdf_st_file *f = NULL;
    if (sdf_st_open(path, &f, &err) != SDF_OK) return NULL;
    sdf_tensor *t = sdf_st_tensor_f32(f, name, &err);
    sdf_st_close(f);
    if (!t) fprintf(stderr, "  golden %s/%s: %s\n", rel, name, err.msg);
    return t;
}

#endif
