/* tiny_models.h: builds the tiny reference checkpoint's MODEL and VAE objects for tests, with
 * configurations filled by hand from shared/reference/README.md. Replace with
 * sdf_checkpoint_load once the loader is in main. Header-only; returns NEW references. */
#ifndef SDF_TINY_MODELS_H
#define SDF_TINY_MODELS_H

#include "core/io/safetensors.h"
#include "core/models/model.h"
#include "core/models/wstore.h"

static inline sdf_wstore *tiny_wstore(const char *path, const char *prefix) {
    sdf_error err;
    sdf_st_file *f = NULL;
    if (sdf_st_open(path, &f, &err) != SDF_OK) return NULL;
    sdf_wstore *w = sdf_wstore_new(&err);
    if (w && sdf_wstore_add_file(w, f, prefix, "", &err) != SDF_OK) {
        sdf_wstore_release(w);
        w = NULL;
    }
    sdf_st_close(f);
    return w;
}

static inline sdf_model *tiny_unet_model(const char *path) {
    sdf_error err;
    sdf_wstore *w = tiny_wstore(path, "model.diffusion_model.");
    if (!w) return NULL;
    sdf_model *m = sdf_model_new(w, &err);
    if (!m) return NULL;
    sdf_unet_config *c = &m->unet;
    c->in_channels = 4;
    c->out_channels = 4;
    c->model_channels = 32;
    c->n_levels = 3;
    int mult[3] = {1, 2, 2};
    for (int i = 0; i < 3; i++) {
        c->channel_mult[i] = mult[i];
        c->num_res_blocks[i] = 2;
    }
    int td[6] = {1, 1, 1, 1, 0, 0}, tdo[9] = {0, 0, 0, 1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 6; i++) c->transformer_depth[i] = td[i];
    for (int i = 0; i < 9; i++) c->transformer_depth_output[i] = tdo[i];
    c->transformer_depth_middle = 1;
    c->context_dim = 64;
    c->use_linear_in_transformer = false;
    c->num_heads = 2;
    c->num_head_channels = -1;
    m->arch = SDF_ARCH_SD1;
    m->prediction = SDF_PRED_EPS;
    m->latent_scale = 0.18215f;
    return m;
}

static inline sdf_vae *tiny_vae(const char *path) {
    sdf_error err;
    sdf_wstore *w = tiny_wstore(path, "first_stage_model.");
    if (!w) return NULL;
    sdf_vae *v = sdf_vae_new(w, &err);
    if (!v) return NULL;
    sdf_vae_config *c = &v->cfg;
    c->ch = 32;
    c->n_levels = 3;
    c->ch_mult[0] = 1;
    c->ch_mult[1] = 2;
    c->ch_mult[2] = 2;
    c->num_res_blocks = 1;
    c->z_channels = 4;
    c->in_channels = 3;
    c->out_ch = 3;
    c->downscale = 4;
    c->scale_factor = 0.18215f;
    return v;
}

#endif
