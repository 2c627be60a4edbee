/* clip_fixture.h: loads the tiny reference checkpoint's text encoder for the CLIP tests
 * (header-only). */
#ifndef SDF_TEST_CLIP_FIXTURE_H
#define SDF_TEST_CLIP_FIXTURE_H

#include "core/io/safetensors.h"
#include "core/models/checkpoint.h"
#include "core/models/clip.h"
#include "tests/testing.h"

/* The CLIP of reference checkpoint `rel` through the checkpoint loader. fp32: keep f32 weights
 * (--fp32-text-enc, what the golden CLIP files use); else ComfyUI's default f16 rounding. */
static sdf_clip *fx_load_clip_opt(const char *rel, bool fp32) {
    const char *path = test_ref_path(rel);
    const char *vocab = test_ref_path("clip-vocab");
    if (!path || !vocab)
        return NULL;
    sdf_checkpoint_opts o = {.fp32_text_encoder = fp32, .clip_vocab_dir = vocab};
    sdf_error           err = {0};
    sdf_clip           *clip = NULL;
    if (sdf_checkpoint_load(path, &o, NULL, &clip, NULL, &err) != SDF_OK) {
        fprintf(stderr, "  load %s: %s\n", path, err.msg);
        return NULL;
    }
    return clip;
}

static sdf_clip *fx_load_clip(const char *rel) {
    return fx_load_clip_opt(rel, true);
}

/* f32 copy of a golden tensor (NEW), or NULL. */
static sdf_tensor *fx_golden(const char *rel, const char *name) {
    const char *path = test_ref_path(rel);
    if (!path)
        return NULL;
    sdf_error    err = {0};
    sdf_st_file *f = NULL;
    if (sdf_st_open(path, &f, &err) != SDF_OK)
        return NULL;
    sdf_tensor *t = sdf_st_tensor_f32(f, name, &err);
    sdf_st_close(f);
    if (!t)
        fprintf(stderr, "  golden %s/%s: %s\n", rel, name, err.msg);
    return t;
}

#endif
