/* checkpoint_save.c: sdf_checkpoint_save (CheckpointSave), streaming one tensor at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"
#include "../io/safetensors.h"
#include "checkpoint.h"

typedef enum { OP_COPY, OP_QKV, OP_TRANSPOSE } save_op;

typedef struct save_item {
    sdf_wstore *w;
    char        src[3][512];
    save_op     op;
    sdf_dtype   dt; /* output dtype */
} save_item;

static void convert_out(const sdf_tensor *t, sdf_dtype dt, void *dst, size_t off_elems) {
    int64_t n = sdf_tensor_numel(t);
    if (t->dtype == dt) {
        memcpy((char *)dst + off_elems * sdf_dtype_size(dt), t->data, t->nbytes);
        return;
    }
    float *tmp = NULL;
    const float *f;
    if (t->dtype == SDF_DTYPE_F32) f = t->data;
    else {
        tmp = sdf_malloc((size_t)n * sizeof *tmp);
        if (!tmp) return;
        sdf_convert_to_f32(t->dtype, t->data, tmp, (size_t)n);
        f = tmp;
    }
    if (dt == SDF_DTYPE_F32) memcpy((float *)dst + off_elems, f, (size_t)n * sizeof *f);
    else {
        uint16_t *h = (uint16_t *)dst + off_elems;
        for (int64_t i = 0; i < n; i++) h[i] = sdf_f32_to_f16(f[i]);
    }
    sdf_free(tmp);
}

static sdf_status fill_item(void *ctx, void *dst, size_t nbytes, sdf_error *err) {
    const save_item *it = ctx;
    (void)nbytes;
    if (it->op == OP_COPY) {
        sdf_tensor *t = sdf_wstore_get(it->w, it->src[0], err);
        if (!t) return err->code;
        convert_out(t, it->dt, dst, 0);
        sdf_tensor_release(t);
        return SDF_OK;
    }
    if (it->op == OP_QKV) {
        size_t off = 0;
        for (int j = 0; j < 3; j++) {
            sdf_tensor *t = sdf_wstore_get(it->w, it->src[j], err);
            if (!t) return err->code;
            convert_out(t, it->dt, dst, off);
            off += (size_t)sdf_tensor_numel(t);
            sdf_tensor_release(t);
        }
        return SDF_OK;
    }
    sdf_tensor *t = sdf_wstore_get(it->w, it->src[0], err);
    if (!t) return err->code;
    sdf_tensor *f = sdf_tensor_to_f32(t, err);
    sdf_tensor_release(t);
    if (!f) return err->code;
    int64_t R = f->shape[0], C = f->shape[1];
    sdf_tensor *tr = sdf_tensor_new(SDF_DTYPE_F32, 2, (int64_t[]){C, R}, err);
    if (!tr) { sdf_tensor_release(f); return err->code; }
    for (int64_t a = 0; a < R; a++)
        for (int64_t b = 0; b < C; b++) sdf_tensor_f32p(tr)[b * R + a] = sdf_tensor_f32p(f)[a * C + b];
    convert_out(tr, it->dt, dst, 0);
    sdf_tensor_release(f);
    sdf_tensor_release(tr);
    return SDF_OK;
}

typedef struct saver {
    sdf_st_writer *w;
    save_item     *items;
    size_t         n, cap;
} saver;

static save_item *new_item(saver *s, sdf_error *err) {
    if (s->n == s->cap) {
        /* items are referenced by the writer: grow in fixed chunks that never move */
        sdf_fail(err, SDF_ERR_INTERNAL, "checkpoint save: too many tensors");
        return NULL;
    }
    save_item *it = &s->items[s->n++];
    memset(it, 0, sizeof *it);
    return it;
}

static bool is_float(sdf_dtype d) {
    return d == SDF_DTYPE_F32 || d == SDF_DTYPE_F16 || d == SDF_DTYPE_BF16 || d == SDF_DTYPE_F64;
}

static sdf_status add_copy(saver *s, sdf_wstore *w, const char *src, const char *dst_name,
                           sdf_dtype dt, int ndim, const int64_t *shape, sdf_error *err) {
    save_item *it = new_item(s, err);
    if (!it) return err->code;
    it->w = w;
    it->op = OP_COPY;
    it->dt = dt;
    snprintf(it->src[0], sizeof it->src[0], "%s", src);
    return sdf_st_writer_add_fn(s->w, dst_name, dt, ndim, shape, fill_item, it, err);
}

static sdf_status add_store(saver *s, sdf_wstore *w, const char *prefix, bool f32, sdf_error *err) {
    for (size_t i = 0; i < sdf_wstore_count(w); i++) {
        sdf_wstore_info in;
        sdf_wstore_info_at(w, i, &in);
        if (!is_float(in.dtype)) continue;
        char name[1024];
        snprintf(name, sizeof name, "%s%s", prefix, in.name);
        sdf_status st = add_copy(s, w, in.name, name, f32 ? SDF_DTYPE_F32 : in.dtype, in.ndim,
                                 in.shape, err);
        if (st) return st;
    }
    return SDF_OK;
}

static const struct { const char *hf, *oc; } sd2_layer[] = {
    {"layer_norm1.", "ln_1."}, {"layer_norm2.", "ln_2."}, {"mlp.fc1.", "mlp.c_fc."},
    {"mlp.fc2.", "mlp.c_proj."}, {"self_attn.out_proj.", "attn.out_proj."},
};

static sdf_status add_clip_sd2(saver *s, sdf_wstore *w, sdf_error *err) {
    const char *P = "cond_stage_model.model.";
    sdf_status st = SDF_OK;
    for (size_t i = 0; i < sdf_wstore_count(w) && !st; i++) {
        sdf_wstore_info in;
        sdf_wstore_info_at(w, i, &in);
        if (!is_float(in.dtype)) continue;
        const char *n = in.name;
        char out[1024] = "";
        if (!strcmp(n, "text_model.embeddings.position_embedding.weight"))
            snprintf(out, sizeof out, "%spositional_embedding", P);
        else if (!strcmp(n, "text_model.embeddings.token_embedding.weight"))
            snprintf(out, sizeof out, "%stoken_embedding.weight", P);
        else if (!strncmp(n, "text_model.final_layer_norm.", 28))
            snprintf(out, sizeof out, "%sln_final.%s", P, n + 28);
        else if (!strcmp(n, "text_projection.weight")) {
            save_item *it = new_item(s, err);
            if (!it) return err->code;
            it->w = w;
            it->op = OP_TRANSPOSE;
            it->dt = in.dtype;
            snprintf(it->src[0], sizeof it->src[0], "%s", n);
            snprintf(out, sizeof out, "%stext_projection", P);
            st = sdf_st_writer_add_fn(s->w, out, in.dtype, 2, (int64_t[]){in.shape[1], in.shape[0]},
                                      fill_item, it, err);
            continue;
        } else if (!strncmp(n, "text_model.encoder.layers.", 26)) {
            char *end;
            long li = strtol(n + 26, &end, 10);
            const char *part = end + 1;
            if (!strncmp(part, "self_attn.q_proj.", 17)) {
                const char *kind = part + 17; /* weight / bias */
                save_item *it = new_item(s, err);
                if (!it) return err->code;
                it->w = w;
                it->op = OP_QKV;
                it->dt = in.dtype;
                static const char *const q[] = {"q_proj", "k_proj", "v_proj"};
                for (int j = 0; j < 3; j++)
                    snprintf(it->src[j], sizeof it->src[j], "text_model.encoder.layers.%ld.self_attn.%s.%s",
                             li, q[j], kind);
                int64_t sh[2] = {3 * in.shape[0], in.ndim > 1 ? in.shape[1] : 0};
                snprintf(out, sizeof out, "%stransformer.resblocks.%ld.attn.in_proj_%s", P, li, kind);
                st = sdf_st_writer_add_fn(s->w, out, in.dtype, in.ndim, sh, fill_item, it, err);
                continue;
            }
            if (!strncmp(part, "self_attn.k_proj.", 17) || !strncmp(part, "self_attn.v_proj.", 17))
                continue;
            for (size_t m = 0; m < sizeof sd2_layer / sizeof *sd2_layer; m++)
                if (!strncmp(part, sd2_layer[m].hf, strlen(sd2_layer[m].hf))) {
                    snprintf(out, sizeof out, "%stransformer.resblocks.%ld.%s%s", P, li,
                             sd2_layer[m].oc, part + strlen(sd2_layer[m].hf));
                    break;
                }
        }
        if (!out[0]) continue;
        st = add_copy(s, w, n, out, in.dtype, in.ndim, in.shape, err);
    }
    return st;
}

/* The embedded tokenizer strings (U8 tensors) back into metadata. */
static void meta_from_u8(sdf_st_writer *w, sdf_wstore *cw, const char *key, sdf_error *err) {
    sdf_wstore_info in;
    if (!sdf_wstore_info_of(cw, key, &in) || in.dtype != SDF_DTYPE_U8) return;
    sdf_tensor *t = sdf_wstore_get(cw, key, err);
    if (!t) return;
    char *s = sdf_malloc(t->nbytes + 1);
    if (s) {
        memcpy(s, t->data, t->nbytes);
        s[t->nbytes] = 0;
        sdf_st_writer_meta(w, key, s, err);
        sdf_free(s);
    }
    sdf_tensor_release(t);
}

/* The configuration as metadata (spec §10.6 item 3) so non-standard sizes (the tiny and demo
 * models) load back with the same head counts. */
static void meta_configs(sdf_st_writer *w, sdf_model *m, sdf_clip *c, sdf_vae *v, sdf_error *err) {
    char ldm[2048], clip[512], vpart[512] = "";
    if (v) {
        char mult[128];
        int l = 0;
        for (int i = 0; i < v->cfg.n_levels; i++)
            l += snprintf(mult + l, sizeof mult - (size_t)l, "%s%d", i ? "," : "", v->cfg.ch_mult[i]);
        snprintf(vpart, sizeof vpart,
                 ",\"scale_factor\":%.9g,\"first_stage_config\":{\"params\":{\"ddconfig\":"
                 "{\"ch\":%d,\"ch_mult\":[%s],\"num_res_blocks\":%d,\"z_channels\":%d}}}",
                 (double)v->cfg.scale_factor, v->cfg.ch, l ? mult : "", v->cfg.num_res_blocks,
                 v->cfg.z_channels);
    }
    if (m || v) {
        char upart[512] = "";
        if (m)
            snprintf(upart, sizeof upart,
                     "\"parameterization\":\"%s\",\"unet_config\":{\"params\":{\"num_heads\":%d,"
                     "\"num_head_channels\":%d,\"context_dim\":%d}}",
                     m->prediction == SDF_PRED_V ? "v" : "eps", m->unet.num_heads,
                     m->unet.num_head_channels, m->unet.context_dim);
        snprintf(ldm, sizeof ldm, "{\"model\":{\"params\":{%s%s}}}", upart,
                 m ? vpart : (vpart[0] ? vpart + 1 : ""));
        sdf_st_writer_meta(w, "ldm_config", ldm, err);
    }
    if (c) {
        snprintf(clip, sizeof clip,
                 "{\"hidden_size\":%d,\"num_hidden_layers\":%d,\"num_attention_heads\":%d,"
                 "\"intermediate_size\":%d,\"hidden_act\":\"%s\",\"vocab_size\":%d,"
                 "\"max_position_embeddings\":%d,\"bos_token_id\":%d,\"eos_token_id\":%d}",
                 c->cfg.width, c->cfg.layers, c->cfg.heads, c->cfg.mlp,
                 c->cfg.quick_gelu ? "quick_gelu" : "gelu", c->cfg.vocab, c->cfg.positions,
                 c->cfg.start_token, c->cfg.end_token);
        sdf_st_writer_meta(w, "clip_config", clip, err);
    }
}

sdf_status sdf_checkpoint_save(const char *path, sdf_model *model, sdf_clip *clip, sdf_vae *vae,
                               const char *const *meta, sdf_error *err) {
    saver s = {0};
    s.cap = (model ? sdf_wstore_count(model->weights) : 0) +
            (clip ? sdf_wstore_count(clip->weights) : 0) + (vae ? sdf_wstore_count(vae->weights) : 0) + 1;
    s.items = sdf_calloc(s.cap, sizeof *s.items);
    s.w = sdf_st_writer_new();
    if (!s.items || !s.w) {
        sdf_free(s.items);
        sdf_st_writer_free(s.w);
        return sdf_fail(err, SDF_ERR_NOMEM, "checkpoint save");
    }
    sdf_status st = SDF_OK;
    if (model) st = add_store(&s, model->weights, "model.diffusion_model.", true, err);
    if (!st && vae) st = add_store(&s, vae->weights, "first_stage_model.", true, err);
    if (!st && clip) {
        st = clip->arch == SDF_ARCH_SD2
                 ? add_clip_sd2(&s, clip->weights, err)
                 : add_store(&s, clip->weights, "cond_stage_model.transformer.", false, err);
        meta_from_u8(s.w, clip->weights, SDF_CLIP_META_VOCAB, err);
        meta_from_u8(s.w, clip->weights, SDF_CLIP_META_MERGES, err);
    }
    if (!st) meta_configs(s.w, model, clip, vae, err);
    for (int i = 0; !st && meta && meta[i] && meta[i + 1]; i += 2)
        st = sdf_st_writer_meta(s.w, meta[i], meta[i + 1], err);
    if (!st) st = sdf_st_writer_save(s.w, path, err);
    sdf_st_writer_free(s.w);
    sdf_free(s.items);
    return st;
}
