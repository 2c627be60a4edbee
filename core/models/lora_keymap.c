#include "lora_keymap.h"

#include <stdio.h>
#include <string.h>

#include "../base/alloc.h"
#include "keymap.h"

static bool ends(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static sdf_status push(sdf_lora_keymap *m, const char *key, sdf_lora_target t, const char *w,
                       sdf_error *err) {
    if (m->n == m->cap) {
        size_t nc = m->cap ? 2 * m->cap : 1024;
        sdf_lora_keymap_entry *ne = sdf_realloc(m->e, nc * sizeof *ne);
        if (!ne) return sdf_fail(err, SDF_ERR_NOMEM, "LoRA key map");
        m->e = ne;
        m->cap = nc;
    }
    sdf_lora_keymap_entry *e = &m->e[m->n];
    e->key = sdf_strdup(key);
    e->weight = sdf_strdup(w);
    e->target = t;
    if (!e->key || !e->weight) {
        sdf_free(e->key);
        sdf_free(e->weight);
        return sdf_fail(err, SDF_ERR_NOMEM, "LoRA key map");
    }
    m->n++;
    return SDF_OK;
}

static void underscore(char *s) {
    for (; *s; s++)
        if (*s == '.') *s = '_';
}

void sdf_lora_keymap_free(sdf_lora_keymap *m) {
    for (size_t i = 0; i < m->n; i++) {
        sdf_free(m->e[i].key);
        sdf_free(m->e[i].weight);
    }
    sdf_free(m->e);
    memset(m, 0, sizeof *m);
}

/* Replaces every ".to_" by ".processor.to_" (ComfyUI's old diffusers attention-processor keys). */
static void processor_form(const char *in, char *out, size_t cap) {
    size_t o = 0;
    while (*in && o + 1 < cap) {
        if (strncmp(in, ".to_", 4) == 0 && o + 15 < cap) {
            memcpy(out + o, ".processor.to_", 14);
            o += 14;
            in += 4;
            continue;
        }
        out[o++] = *in++;
    }
    out[o] = 0;
}

static sdf_status unet_entries(const sdf_model *model, sdf_lora_keymap *m, sdf_error *err) {
    sdf_wstore *w = model->weights;
    size_t n = sdf_wstore_count(w);
    char k[900];
    sdf_status st = SDF_OK;
    for (size_t i = 0; i < n && !st; i++) {
        sdf_wstore_info in;
        sdf_wstore_info_at(w, i, &in);
        if (ends(in.name, ".weight")) {
            size_t bl = strlen(in.name) - 7;
            snprintf(k, sizeof k, "lora_unet_%.*s", (int)bl, in.name);
            underscore(k + 10);
            if ((st = push(m, k, SDF_LORA_UNET, in.name, err))) break;
            snprintf(k, sizeof k, "diffusion_model.%.*s", (int)bl, in.name);
            st = push(m, k, SDF_LORA_UNET, in.name, err);
        } else {
            snprintf(k, sizeof k, "diffusion_model.%s", in.name);
            st = push(m, k, SDF_LORA_UNET, in.name, err);
        }
    }
    int nrb = model->unet.num_res_blocks[0] > 0 ? model->unet.num_res_blocks[0] : 2;
    for (size_t i = 0; i < n && !st; i++) {
        sdf_wstore_info in;
        sdf_wstore_info_at(w, i, &in);
        if (!ends(in.name, ".weight")) continue;
        char d[700], base[700], proc[800];
        if (!sdf_keymap_unet_ldm_to_diffusers(in.name, nrb, d, sizeof d)) continue;
        snprintf(base, sizeof base, "%.*s", (int)(strlen(d) - 7), d);
        snprintf(k, sizeof k, "lora_unet_%s", base);
        underscore(k + 10);
        if ((st = push(m, k, SDF_LORA_UNET, in.name, err))) break;
        snprintf(k, sizeof k, "lycoris_%s", base);
        underscore(k + 8);
        if ((st = push(m, k, SDF_LORA_UNET, in.name, err))) break;
        processor_form(base, proc, sizeof proc);
        if (ends(proc, ".to_out.0")) proc[strlen(proc) - 2] = 0;
        static const char *const pfx[] = {"", "unet."};
        for (int p = 0; p < 2 && !st; p++) {
            snprintf(k, sizeof k, "%s%s", pfx[p], proc);
            st = push(m, k, SDF_LORA_UNET, in.name, err);
        }
    }
    return st;
}

static const struct { const char *orig, *lora; } clip_map[] = {
    {"mlp.fc1", "mlp_fc1"},
    {"mlp.fc2", "mlp_fc2"},
    {"self_attn.k_proj", "self_attn_k_proj"},
    {"self_attn.q_proj", "self_attn_q_proj"},
    {"self_attn.v_proj", "self_attn_v_proj"},
    {"self_attn.out_proj", "self_attn_out_proj"},
};

static sdf_status clip_entries(const sdf_clip *clip, sdf_lora_keymap *m, sdf_error *err) {
    sdf_wstore *w = clip->weights;
    const char *ck = clip->arch == SDF_ARCH_SD2 ? "clip_h.transformer." : "clip_l.transformer.";
    size_t n = sdf_wstore_count(w);
    char k[900], wn[512];
    sdf_status st = SDF_OK;
    for (size_t i = 0; i < n && !st; i++) {
        sdf_wstore_info in;
        sdf_wstore_info_at(w, i, &in);
        if (!ends(in.name, ".weight")) continue;
        snprintf(k, sizeof k, "text_encoders.%s%.*s", ck, (int)(strlen(in.name) - 7), in.name);
        st = push(m, k, SDF_LORA_CLIP, in.name, err);
    }
    for (int b = 0; b < 32 && !st; b++)
        for (size_t c = 0; c < SDF_COUNTOF(clip_map) && !st; c++) {
            snprintf(wn, sizeof wn, "text_model.encoder.layers.%d.%s.weight", b, clip_map[c].orig);
            if (!sdf_wstore_has(w, wn)) continue;
            snprintf(k, sizeof k, "lora_te_text_model_encoder_layers_%d_%s", b, clip_map[c].lora);
            if ((st = push(m, k, SDF_LORA_CLIP, wn, err))) break;
            snprintf(k, sizeof k, "lora_te1_text_model_encoder_layers_%d_%s", b, clip_map[c].lora);
            if ((st = push(m, k, SDF_LORA_CLIP, wn, err))) break;
            snprintf(k, sizeof k, "text_encoder.text_model.encoder.layers.%d.%s", b, clip_map[c].orig);
            st = push(m, k, SDF_LORA_CLIP, wn, err);
        }
    return st;
}

sdf_status sdf_lora_keymap_build(const sdf_model *model, const sdf_clip *clip,
                                 sdf_lora_keymap *map, sdf_error *err) {
    memset(map, 0, sizeof *map);
    sdf_status st = SDF_OK;
    if (model) st = unet_entries(model, map, err);
    if (!st && clip) st = clip_entries(clip, map, err);
    if (st) sdf_lora_keymap_free(map);
    return st;
}
