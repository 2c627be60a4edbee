/* checkpoint.c: opening SD1.x/SD2.x checkpoints (single-file .safetensors / .ckpt, diffusers
 * folders), detecting them (ckpt_detect.c) and splitting them into MODEL / CLIP / VAE objects
 * with canonical weight names (model.h). */
#include "checkpoint.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/alloc.h"
#include "../io/ckpt.h"
#include "ckpt_detect.h"
#include "keymap.h"

/* ---------------- small helpers ---------------- */

static bool starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static bool ends(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static void file_stem(const char *path, char *out, size_t cap) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    if (!*b) { /* "dir/" */
        size_t l = strlen(path);
        while (l > 1 && path[l - 1] == '/') l--;
        const char *s = path;
        for (size_t i = 0; i + 1 < l; i++)
            if (path[i] == '/') s = path + i + 1;
        snprintf(out, cap, "%.*s", (int)(l - (size_t)(s - path)), s);
        return;
    }
    snprintf(out, cap, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

static bool is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Metadata of the loaded file(s) (safetensors __metadata__; none for .ckpt). */
typedef struct meta_src {
    sdf_st_file *st;
} meta_src;

static const char *meta_get(const meta_src *m, const char *key) {
    return m->st ? sdf_st_meta_get(m->st, key) : NULL;
}

/* ---------------- reading a single file into a store of original names ---------------- */

static sdf_status load_any_file(const char *path, sdf_wstore *w, const char *add_prefix,
                                sdf_st_file **st_out, sdf_error *err) {
    if (st_out) *st_out = NULL;
    int kind = sdf_ckpt_sniff(path);
    if (kind < 0) {
        sdf_fail(err, SDF_ERR_IO, "cannot open: %s", strerror(errno));
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    if (kind == SDF_CKPT_KIND_SAFETENSORS) {
        sdf_st_file *f = NULL;
        sdf_status st = sdf_st_open(path, &f, err);
        if (st) return st;
        st = sdf_wstore_add_file(w, f, NULL, add_prefix, err);
        if (st == SDF_OK && st_out) *st_out = sdf_st_retain(f);
        sdf_st_close(f);
        return st;
    }
    return sdf_ckpt_load_into(path, w, add_prefix, err);
}

/* ---------------- family check ---------------- */

static sdf_status unsupported(const char *path, const char *family, sdf_error *err) {
    sdf_fail(err, SDF_ERR_UNSUPPORTED,
             "%s checkpoint detected: only Stable Diffusion 1.x and 2.x are supported", family);
    sdf_error_at_file(err, path);
    return SDF_ERR_UNSUPPORTED;
}

/* Names a family that is not SD1/SD2 from telltale keys, or NULL. */
static const char *foreign_family1(const sdf_keyset *ks, const char *p);

static const char *foreign_family(const sdf_keyset *ks, const char *p) {
    const char *f = foreign_family1(ks, p);
    if (!f && strcmp(p, "model.diffusion_model.") != 0)
        f = foreign_family1(ks, "model.diffusion_model.");
    if (!f) f = foreign_family1(ks, "");
    return f;
}

static const char *foreign_family1(const sdf_keyset *ks, const char *p) {
    char k[512];
    snprintf(k, sizeof k, "%sjoint_blocks.0.context_block.attn.qkv.weight", p);
    if (sdf_keyset_has(ks, k)) return "SD3 (MMDiT)";
    snprintf(k, sizeof k, "%sdouble_blocks.", p);
    if (sdf_keyset_has_prefix(ks, k) || sdf_keyset_has_prefix(ks, "double_blocks."))
        return "Flux";
    if (sdf_keyset_has_prefix(ks, "conditioner.embedders.1.")) return "SDXL";
    snprintf(k, sizeof k, "%slabel_emb.0.0.weight", p);
    int64_t sh[SDF_MAX_DIMS];
    if (sdf_keyset_shape(ks, k, sh) >= 2) {
        if (sh[1] == 2816) return "SDXL";
        if (sh[1] == 2560) return "SDXL refiner";
        if (sh[1] == 1536 || sh[1] == 2048) return "SD2.1 unCLIP";
        return "class-conditioned UNet (adm)";
    }
    snprintf(k, sizeof k, "%sinput_blocks.1.1.time_stack.", p);
    if (sdf_keyset_has_prefix(ks, k)) return "Stable Video Diffusion";
    if (sdf_keyset_has_prefix(ks, "cc_projection.")) return "Stable Zero123";
    snprintf(k, sizeof k, "%sinput_blocks.0.0.weight", p);
    if (sdf_keyset_shape(ks, k, sh) == 4 && sh[1] == 8) return "SD instruct-pix2pix";
    if (sdf_keyset_has_prefix(ks, "down_blocks.") || sdf_keyset_has_prefix(ks, "unet.down_blocks."))
        return NULL; /* a bare diffusers UNet: handled by the caller's message */
    return NULL;
}

/* ---------------- CLIP conversion ---------------- */

/* Puts src tensor under name in c, rounded to f16 unless keep_f32 (non-float kept as is). */
static sdf_status put_clip_tensor(sdf_wstore *c, const char *name, sdf_tensor *t, bool to_f16,
                                  sdf_error *err) {
    if (to_f16 && (t->dtype == SDF_DTYPE_F32 || t->dtype == SDF_DTYPE_BF16 ||
                   t->dtype == SDF_DTYPE_F64)) {
        sdf_tensor *f = sdf_tensor_to_f32(t, err);
        if (!f) return err->code;
        sdf_tensor *h = sdf_tensor_new(SDF_DTYPE_F16, t->ndim, t->shape, err);
        if (!h) { sdf_tensor_release(f); return err->code; }
        const float *s = sdf_tensor_f32p(f);
        uint16_t *d = h->data;
        int64_t n = sdf_tensor_numel(f);
        for (int64_t i = 0; i < n; i++) d[i] = sdf_f32_to_f16(s[i]);
        sdf_tensor_release(f);
        sdf_status st = sdf_wstore_put(c, name, h, err);
        sdf_tensor_release(h);
        return st;
    }
    return sdf_wstore_put(c, name, t, err);
}

static sdf_status put_clip_from(sdf_wstore *c, const char *name, sdf_wstore *all,
                                const char *src, bool to_f16, sdf_error *err) {
    sdf_wstore_info in;
    if (!sdf_wstore_info_of(all, src, &in))
        return sdf_fail(err, SDF_ERR_NOT_FOUND, "text encoder weight '%s' missing", src);
    bool needs_round = to_f16 && (in.dtype == SDF_DTYPE_F32 || in.dtype == SDF_DTYPE_BF16 ||
                                  in.dtype == SDF_DTYPE_F64);
    if (!needs_round) return sdf_wstore_put_from(c, name, all, src, err); /* zero copy */
    sdf_tensor *t = sdf_wstore_get(all, src, err);
    if (!t) return err->code;
    sdf_status st = put_clip_tensor(c, name, t, true, err);
    sdf_tensor_release(t);
    return st;
}

/* SD1: cond_stage_model.transformer.[text_model.]X -> text_model.X */
static sdf_status split_clip_sd1(const sdf_keyset *ks, const char *pfx, sdf_wstore *c,
                                 bool to_f16, sdf_error *err) {
    size_t pl = strlen(pfx);
    for (size_t i = 0; i < ks->n; i++) {
        const char *k = ks->names[i];
        if (!starts(k, pfx)) continue;
        const char *rest = k + pl;
        char name[768];
        if (starts(rest, "text_model.")) snprintf(name, sizeof name, "%s", rest);
        else snprintf(name, sizeof name, "text_model.%s", rest);
        if (ends(name, ".position_ids")) continue; /* recomputed; not a weight */
        sdf_status st = put_clip_from(c, name, ks->w, k, to_f16, err);
        if (st) return st;
    }
    return SDF_OK;
}

/* SD2 OpenCLIP ViT-H keys under pfx -> HF names (spec §4.2). */
static sdf_status split_clip_sd2(const sdf_keyset *ks, const char *pfx, sdf_wstore *c,
                                 bool to_f16, sdf_error *err) {
    static const struct { const char *from, *to; } layer_map[] = {
        {"ln_1.", "layer_norm1."},          {"ln_2.", "layer_norm2."},
        {"mlp.c_fc.", "mlp.fc1."},          {"mlp.c_proj.", "mlp.fc2."},
        {"attn.out_proj.", "self_attn.out_proj."},
    };
    size_t pl = strlen(pfx);
    sdf_status st = SDF_OK;
    for (size_t i = 0; i < ks->n && st == SDF_OK; i++) {
        const char *k = ks->names[i];
        if (!starts(k, pfx)) continue;
        const char *r = k + pl;
        char name[768] = "";
        if (strcmp(r, "positional_embedding") == 0)
            snprintf(name, sizeof name, "text_model.embeddings.position_embedding.weight");
        else if (strcmp(r, "token_embedding.weight") == 0)
            snprintf(name, sizeof name, "text_model.embeddings.token_embedding.weight");
        else if (starts(r, "ln_final."))
            snprintf(name, sizeof name, "text_model.final_layer_norm.%s", r + 9);
        else if (strcmp(r, "text_projection") == 0) {
            sdf_tensor *t = sdf_wstore_get(ks->w, k, err);
            if (!t) return err->code;
            if (t->ndim != 2) {
                sdf_tensor_release(t);
                return sdf_fail(err, SDF_ERR_SHAPE, "'%s' is not a matrix", k);
            }
            sdf_tensor *f = sdf_tensor_to_f32(t, err);
            sdf_tensor_release(t);
            if (!f) return err->code;
            int64_t R = f->shape[0], C = f->shape[1], shp[2] = {C, R};
            sdf_tensor *tr = sdf_tensor_new(SDF_DTYPE_F32, 2, shp, err);
            if (!tr) { sdf_tensor_release(f); return err->code; }
            const float *s = sdf_tensor_f32p(f);
            float *d = sdf_tensor_f32p(tr);
            for (int64_t a = 0; a < R; a++)
                for (int64_t b = 0; b < C; b++) d[b * R + a] = s[a * C + b];
            sdf_tensor_release(f);
            /* keep the stored precision class: round when the source was not f32-kept */
            st = put_clip_tensor(c, "text_projection.weight", tr, to_f16, err);
            sdf_tensor_release(tr);
            continue;
        } else if (starts(r, "transformer.resblocks.")) {
            const char *q = r + strlen("transformer.resblocks.");
            char *end;
            long li = strtol(q, &end, 10);
            if (end == q || *end != '.') continue;
            const char *part = end + 1;
            if (starts(part, "attn.in_proj_")) {
                const char *kind = part + strlen("attn.in_proj_"); /* "weight" / "bias" */
                sdf_tensor *t = sdf_wstore_get(ks->w, k, err);
                if (!t) return err->code;
                if (t->ndim < 1 || t->shape[0] % 3) {
                    sdf_tensor_release(t);
                    return sdf_fail(err, SDF_ERR_SHAPE, "'%s' cannot be split into q/k/v", k);
                }
                int64_t third = t->shape[0] / 3;
                static const char *const qkv[] = {"q_proj", "k_proj", "v_proj"};
                for (int j = 0; j < 3 && st == SDF_OK; j++) {
                    sdf_tensor *s = sdf_tensor_slice0(t, j * third, (j + 1) * third, err);
                    if (!s) { st = err->code; break; }
                    snprintf(name, sizeof name, "text_model.encoder.layers.%ld.self_attn.%s.%s",
                             li, qkv[j], kind);
                    st = put_clip_tensor(c, name, s, to_f16, err);
                    sdf_tensor_release(s);
                }
                sdf_tensor_release(t);
                continue;
            }
            for (size_t m = 0; m < SDF_COUNTOF(layer_map); m++)
                if (starts(part, layer_map[m].from)) {
                    snprintf(name, sizeof name, "text_model.encoder.layers.%ld.%s%s", li,
                             layer_map[m].to, part + strlen(layer_map[m].from));
                    break;
                }
        }
        if (!name[0]) continue; /* logit_scale, attn_mask, ...: not used */
        st = put_clip_from(c, name, ks->w, k, to_f16, err);
    }
    return st;
}

/* ---------------- VAE ---------------- */

static sdf_status split_vae(const sdf_keyset *ks, const char *pfx, sdf_wstore *v, sdf_error *err) {
    size_t pl = strlen(pfx);
    for (size_t i = 0; i < ks->n; i++) {
        const char *k = ks->names[i];
        if (!starts(k, pfx)) continue;
        const char *r = k + pl;
        char name[768];
        if (starts(r, "decoder.post_quant_conv.")) snprintf(name, sizeof name, "%s", r + 8);
        else if (starts(r, "encoder.quant_conv.")) snprintf(name, sizeof name, "%s", r + 8);
        else snprintf(name, sizeof name, "%s", r);
        /* mid attention stored as Linear [C,C] in some files: present it as a 1x1 conv */
        sdf_wstore_info in;
        sdf_wstore_info_of(ks->w, k, &in);
        if (in.ndim == 2 && starts(name, "encoder.mid.attn_1.") + starts(name, "decoder.mid.attn_1.") &&
            ends(name, ".weight") && !strstr(name, ".norm.")) {
            sdf_tensor *t = sdf_wstore_get(ks->w, k, err);
            if (!t) return err->code;
            int64_t sh[4] = {t->shape[0], t->shape[1], 1, 1};
            sdf_tensor *t4 = sdf_tensor_reshape(t, 4, sh, err);
            sdf_tensor_release(t);
            if (!t4) return err->code;
            sdf_status st = sdf_wstore_put(v, name, t4, err);
            sdf_tensor_release(t4);
            if (st) return st;
            continue;
        }
        sdf_status st = sdf_wstore_put_from(v, name, ks->w, k, err);
        if (st) return st;
    }
    return SDF_OK;
}

/* ---------------- the loader ---------------- */

static float std_of(sdf_wstore *w, const char *name, bool *ok) {
    sdf_error e;
    sdf_error_clear(&e);
    *ok = false;
    sdf_tensor *t = sdf_wstore_get(w, name, &e);
    if (!t) return 0;
    sdf_tensor *f = sdf_tensor_to_f32(t, &e);
    sdf_tensor_release(t);
    if (!f) return 0;
    int64_t n = sdf_tensor_numel(f);
    const float *x = sdf_tensor_f32p(f);
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; i++) mean += x[i];
    mean = n ? mean / (double)n : 0;
    for (int64_t i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    var = n ? var / (double)n : 0;
    sdf_tensor_release(f);
    *ok = n > 0;
    return (float)sqrt(var);
}

/* Embedded tokenizer (demo model): __metadata__ strings kept as U8 tensors in the CLIP store. */
static sdf_status keep_embedded_vocab(const meta_src *m, sdf_wstore *c, bool *found,
                                      sdf_error *err) {
    static const char *const keys[] = {SDF_CLIP_META_VOCAB, SDF_CLIP_META_MERGES};
    const char *v[2] = {meta_get(m, keys[0]), meta_get(m, keys[1])};
    *found = v[0] && v[1];
    if (!*found) return SDF_OK;
    for (int i = 0; i < 2; i++) {
        int64_t n = (int64_t)strlen(v[i]);
        sdf_tensor *t = sdf_tensor_new(SDF_DTYPE_U8, 1, &n, err);
        if (!t) return err->code;
        memcpy(t->data, v[i], (size_t)n);
        sdf_status st = sdf_wstore_put(c, keys[i], t, err);
        sdf_tensor_release(t);
        if (st) return st;
    }
    return SDF_OK;
}

/* Builds the three objects from a store of ORIGINAL single-file names. */
static sdf_status build_from_store(const char *path, sdf_wstore *all, const meta_src *meta,
                                   const char *tokenizer_dir, const sdf_checkpoint_opts *opts,
                                   sdf_model **model_out, sdf_clip **clip_out,
                                   sdf_vae **vae_out, sdf_error *err) {
    sdf_keyset ks;
    sdf_status st = sdf_keyset_init(&ks, all, err);
    if (st) return st;
    sdf_model *model = NULL;
    sdf_clip *clip = NULL;
    sdf_vae *vae = NULL;
    sdf_wstore *uw = NULL, *cw = NULL, *vw = NULL;

    bool text_only = !model_out; /* CLIP / VAE only (CLIPLoader, VAELoader): no UNet needed */
    sdf_unet_config ucfg;
    memset(&ucfg, 0, sizeof ucfg);
    ucfg.context_dim = -1;
    const char *up = "model.diffusion_model.";
    if (!text_only) {
        up = sdf_detect_unet_prefix(&ks);
        if (strcmp(up, "model.") == 0 &&
            sdf_keyset_has(&ks, "model.diffusion_model.input_blocks.0.0.weight"))
            up = "model.diffusion_model."; /* few UNet keys (partial files): still the SD layout */
        const char *fam = foreign_family(&ks, up);
        if (fam) { st = unsupported(path, fam, err); goto done; }
        st = sdf_detect_unet_config(&ks, up, &ucfg, err);
        if (st) {
            char why[512];
            snprintf(why, sizeof why, "%s", err->msg);
            sdf_fail(err, SDF_ERR_UNSUPPORTED, "Could not detect model type of: %s (%s)", path, why);
            sdf_error_at_file(err, path);
            goto done;
        }
        if (ucfg.in_channels != 4 && ucfg.in_channels != 9) {
            char what[64];
            snprintf(what, sizeof what, "UNet with %d input channels", ucfg.in_channels);
            st = unsupported(path, what, err);
            goto done;
        }
    }
    /* family: the text encoder's key layout decides; else the UNet shape tables */
    const char *sd1_te = "cond_stage_model.transformer.";
    const char *sd2_te = sdf_keyset_has_prefix(&ks, "cond_stage_model.model.")
                             ? "cond_stage_model.model."
                             : "conditioner.embedders.0.model.";
    bool has_sd1_te = sdf_keyset_has_prefix(&ks, sd1_te);
    bool has_sd2_te = sdf_keyset_has_prefix(&ks, sd2_te);
    sdf_arch arch;
    /* HF-layout text encoder: CLIP-L (SD1) unless it has a 23rd layer (OpenCLIP-H, as ComfyUI's
     * CLIPLoader decides; diffusers SD2 folders store the H encoder in HF layout) */
    if (has_sd1_te)
        arch = sdf_keyset_has(&ks, "cond_stage_model.transformer.text_model.encoder.layers.22."
                                   "mlp.fc1.weight")
                   ? SDF_ARCH_SD2
                   : SDF_ARCH_SD1;
    else if (has_sd2_te) arch = SDF_ARCH_SD2;
    else if (ucfg.context_dim == 768 && !ucfg.use_linear_in_transformer) arch = SDF_ARCH_SD1;
    else if (ucfg.context_dim == 1024 && ucfg.use_linear_in_transformer) arch = SDF_ARCH_SD2;
    else if (!model_out && !clip_out) arch = SDF_ARCH_SD1; /* VAE only: family irrelevant */
    else {
        sdf_fail(err, SDF_ERR_UNSUPPORTED,
                 "Could not detect model type of: %s (UNet context_dim %d, %s projections, no "
                 "SD1/SD2 text encoder keys)", path, ucfg.context_dim,
                 ucfg.use_linear_in_transformer ? "linear" : "conv");
        sdf_error_at_file(err, path);
        st = SDF_ERR_UNSUPPORTED;
        goto done;
    }
    if (arch == SDF_ARCH_SD1) { ucfg.num_heads = 8; ucfg.num_head_channels = -1; }
    else { ucfg.num_heads = -1; ucfg.num_head_channels = 64; }

    int pred = SDF_PRED_EPS;
    if (arch == SDF_ARCH_SD2 && ucfg.in_channels == 4) {
        char k[512];
        snprintf(k, sizeof k, "%soutput_blocks.11.1.transformer_blocks.0.norm1.bias", up);
        bool ok;
        float sd = std_of(all, k, &ok);
        if (ok && sd > 0.09f) pred = SDF_PRED_V;
    }

    sdf_vae_config vcfg;
    bool has_vae = sdf_keyset_has_prefix(&ks, "first_stage_model.");
    if (has_vae && (st = sdf_detect_vae_config(&ks, "first_stage_model.", &vcfg, err))) goto done;

    /* CLIP store first: its config comes from canonical names */
    bool to_f16 = !(opts && opts->fp32_text_encoder);
    bool has_te = has_sd1_te || has_sd2_te;
    sdf_clip_config ccfg;
    memset(&ccfg, 0, sizeof ccfg);
    if (has_te && clip_out) {
        if (!(cw = sdf_wstore_new(err))) { st = err->code; goto done; }
        st = has_sd1_te ? split_clip_sd1(&ks, sd1_te, cw, to_f16, err)
                        : split_clip_sd2(&ks, sd2_te, cw, to_f16, err);
        if (st) goto done;
        sdf_keyset cks;
        if ((st = sdf_keyset_init(&cks, cw, err))) goto done;
        st = sdf_detect_clip_config(&cks, arch, &ccfg, err);
        sdf_keyset_free(&cks);
        if (st) { sdf_error_at_file(err, path); goto done; }
    }

    st = sdf_detect_apply_metadata(meta_get(meta, "ldm_config"), meta_get(meta, "clip_config"),
                                   &ucfg, has_vae ? &vcfg : NULL, has_te ? &ccfg : NULL, &pred,
                                   err);
    if (st) { sdf_error_at_file(err, path); goto done; }

    char stem[256];
    file_stem(path, stem, sizeof stem);
    if (model_out) {
        if (!(uw = sdf_wstore_new(err))) { st = err->code; goto done; }
        size_t pl = strlen(up);
        for (size_t i = 0; i < ks.n; i++)
            if (starts(ks.names[i], up) &&
                (st = sdf_wstore_put_from(uw, ks.names[i] + pl, all, ks.names[i], err)))
                goto done;
        model = sdf_model_new(uw, err);
        uw = NULL;
        if (!model) { st = err->code; goto done; }
        model->arch = arch;
        model->unet = ucfg;
        model->prediction = (sdf_prediction)pred;
        model->zsnr = false;
        model->latent_scale = has_vae ? vcfg.scale_factor : 0.18215f;
        snprintf(model->name, sizeof model->name, "%s", stem);
    }
    if (clip_out) {
        if (!has_te) {
            sdf_fail(err, SDF_ERR_NOT_FOUND, "checkpoint has no text encoder (no %s* or %s* keys)",
                     sd1_te, sd2_te);
            sdf_error_at_file(err, path);
            st = SDF_ERR_NOT_FOUND;
            goto done;
        }
        bool embedded = false;
        if ((st = keep_embedded_vocab(meta, cw, &embedded, err))) goto done;
        clip = sdf_clip_new(cw, err);
        cw = NULL;
        if (!clip) { st = err->code; goto done; }
        clip->arch = arch;
        clip->cfg = ccfg;
        clip->layer_idx = 0;
        if (embedded) clip->vocab_dir[0] = 0;
        else if (tokenizer_dir) snprintf(clip->vocab_dir, sizeof clip->vocab_dir, "%s", tokenizer_dir);
        else if (opts && opts->clip_vocab_dir)
            snprintf(clip->vocab_dir, sizeof clip->vocab_dir, "%s", opts->clip_vocab_dir);
    }
    if (vae_out) {
        if (!has_vae) {
            sdf_fail(err, SDF_ERR_NOT_FOUND, "checkpoint has no VAE (no first_stage_model.* keys)");
            sdf_error_at_file(err, path);
            st = SDF_ERR_NOT_FOUND;
            goto done;
        }
        if (!(vw = sdf_wstore_new(err))) { st = err->code; goto done; }
        if ((st = split_vae(&ks, "first_stage_model.", vw, err))) goto done;
        vae = sdf_vae_new(vw, err);
        vw = NULL;
        if (!vae) { st = err->code; goto done; }
        vae->cfg = vcfg;
        snprintf(vae->name, sizeof vae->name, "%s", stem);
    }
done:
    sdf_keyset_free(&ks);
    sdf_wstore_release(uw);
    sdf_wstore_release(cw);
    sdf_wstore_release(vw);
    if (st) {
        sdf_model_release(model);
        sdf_clip_release(clip);
        sdf_vae_release(vae);
        return st;
    }
    if (model_out) *model_out = model;
    if (clip_out) *clip_out = clip;
    if (vae_out) *vae_out = vae;
    return SDF_OK;
}

/* ---------------- diffusers folders ---------------- */

/* First existing file among dir/<names...>. */
static bool find_in(const char *dir, const char *const *names, char *out, size_t cap) {
    for (; *names; names++) {
        snprintf(out, cap, "%s/%s", dir, *names);
        if (is_file(out)) return true;
    }
    return false;
}

static sdf_status load_diffusers(const char *dir, const sdf_checkpoint_opts *opts,
                                 sdf_model **model, sdf_clip **clip, sdf_vae **vae,
                                 sdf_error *err) {
    static const char *const unet_files[] = {
        "unet/diffusion_pytorch_model.safetensors", "unet/diffusion_pytorch_model.fp16.safetensors",
        "unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.fp16.bin", NULL};
    static const char *const vae_files[] = {
        "vae/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.fp16.safetensors",
        "vae/diffusion_pytorch_model.bin", "vae/diffusion_pytorch_model.fp16.bin", NULL};
    static const char *const te_files[] = {
        "text_encoder/model.safetensors", "text_encoder/model.fp16.safetensors",
        "text_encoder/pytorch_model.bin", "text_encoder/pytorch_model.fp16.bin", NULL};
    char up[2048], vp[2048], tp[2048], tok[2048];
    if (!find_in(dir, unet_files, up, sizeof up)) {
        sdf_fail(err, SDF_ERR_NOT_FOUND, "diffusers folder without unet/diffusion_pytorch_model.*");
        sdf_error_at_file(err, dir);
        return SDF_ERR_NOT_FOUND;
    }
    bool has_vae = find_in(dir, vae_files, vp, sizeof vp);
    bool has_te = find_in(dir, te_files, tp, sizeof tp);
    snprintf(tok, sizeof tok, "%s/tokenizer", dir);
    char vocab[2100];
    snprintf(vocab, sizeof vocab, "%s/vocab.json", tok);
    bool has_tok = is_file(vocab);

    /* raw stores of diffusers names, then converted into one store of original names */
    sdf_wstore *raw = sdf_wstore_new(err), *all = sdf_wstore_new(err);
    sdf_status st = (raw && all) ? SDF_OK : SDF_ERR_NOMEM;
    if (st) sdf_fail(err, st, "weight store");
    meta_src meta = {0};
    if (!st) st = load_any_file(up, raw, "unet.", NULL, err);
    if (!st && has_vae) st = load_any_file(vp, raw, "vae.", NULL, err);
    if (!st && has_te) st = load_any_file(tp, raw, "te.", NULL, err);
    if (!st) st = sdf_keymap_diffusers_to_ldm(raw, all, err);
    if (!st)
        st = build_from_store(dir, all, &meta, has_tok ? tok : NULL, opts, model, clip, vae, err);
    sdf_wstore_release(raw);
    sdf_wstore_release(all);
    return st;
}

/* ---------------- entry point ---------------- */

sdf_status sdf_checkpoint_load(const char *path, const sdf_checkpoint_opts *opts, sdf_model **model,
                               sdf_clip **clip, sdf_vae **vae, sdf_error *err) {
    if (model) *model = NULL;
    if (clip) *clip = NULL;
    if (vae) *vae = NULL;
    if (is_dir(path)) return load_diffusers(path, opts, model, clip, vae, err);
    sdf_wstore *all = sdf_wstore_new(err);
    if (!all) return err->code;
    meta_src meta = {0};
    sdf_status st = load_any_file(path, all, NULL, &meta.st, err);
    if (!st) st = build_from_store(path, all, &meta, NULL, opts, model, clip, vae, err);
    sdf_st_close(meta.st);
    sdf_wstore_release(all);
    return st;
}

/* ---------------- standalone VAE and text-encoder files ---------------- */

static bool store_has_prefix(sdf_wstore *w, const char *p) {
    sdf_keyset ks;
    if (sdf_keyset_init(&ks, w, NULL)) return false;
    bool r = sdf_keyset_has_prefix(&ks, p);
    sdf_keyset_free(&ks);
    return r;
}

/* Copies every slot of src into dst as add + (name without strip), for names starting with
 * strip. */
static sdf_status alias_all(sdf_wstore *dst, sdf_wstore *src, const char *strip, const char *add,
                            sdf_error *err) {
    size_t sl = strlen(strip);
    for (size_t i = 0; i < sdf_wstore_count(src); i++) {
        sdf_wstore_info in;
        sdf_wstore_info_at(src, i, &in);
        if (strncmp(in.name, strip, sl) != 0) continue;
        char name[900];
        snprintf(name, sizeof name, "%s%s", add, in.name + sl);
        sdf_status st = sdf_wstore_put_from(dst, name, src, in.name, err);
        if (st) return st;
    }
    return SDF_OK;
}

sdf_status sdf_vae_load_file(const char *path, sdf_vae **vae, sdf_error *err) {
    *vae = NULL;
    sdf_wstore *raw = sdf_wstore_new(err), *all = raw ? sdf_wstore_new(err) : NULL;
    if (!all) { sdf_wstore_release(raw); return err->code; }
    meta_src meta = {0};
    sdf_status st = load_any_file(path, raw, NULL, &meta.st, err);
    if (!st) {
        if (store_has_prefix(raw, "first_stage_model.")) {
            st = alias_all(all, raw, "first_stage_model.", "first_stage_model.", err);
        } else if (store_has_prefix(raw, "decoder.up_blocks.") ||
                   store_has_prefix(raw, "encoder.down_blocks.")) {
            sdf_wstore *pre = sdf_wstore_new(err);
            st = pre ? alias_all(pre, raw, "", "vae.", err) : err->code;
            if (!st) st = sdf_keymap_diffusers_to_ldm(pre, all, err);
            sdf_wstore_release(pre);
        } else {
            st = alias_all(all, raw, "", "first_stage_model.", err);
        }
    }
    if (!st) st = build_from_store(path, all, &meta, NULL, NULL, NULL, NULL, vae, err);
    sdf_st_close(meta.st);
    sdf_wstore_release(raw);
    sdf_wstore_release(all);
    return st;
}

sdf_status sdf_clip_load_file(const char *path, const sdf_checkpoint_opts *opts, sdf_clip **clip,
                              sdf_error *err) {
    *clip = NULL;
    sdf_wstore *raw = sdf_wstore_new(err), *all = raw ? sdf_wstore_new(err) : NULL;
    if (!all) { sdf_wstore_release(raw); return err->code; }
    meta_src meta = {0};
    sdf_status st = load_any_file(path, raw, NULL, &meta.st, err);
    if (!st) {
        if (store_has_prefix(raw, "cond_stage_model."))
            st = alias_all(all, raw, "", "", err);
        else if (store_has_prefix(raw, "text_model."))
            st = alias_all(all, raw, "", "cond_stage_model.transformer.", err);
        else if (store_has_prefix(raw, "transformer.text_model."))
            st = alias_all(all, raw, "transformer.", "cond_stage_model.transformer.", err);
        else if (store_has_prefix(raw, "transformer.resblocks."))
            st = alias_all(all, raw, "", "cond_stage_model.model.", err);
        else {
            sdf_fail(err, SDF_ERR_UNSUPPORTED,
                     "not an SD1/SD2 text encoder (no text_model.* or transformer.resblocks.* "
                     "keys)");
            sdf_error_at_file(err, path);
            st = SDF_ERR_UNSUPPORTED;
        }
    }
    if (!st) st = build_from_store(path, all, &meta, NULL, opts, NULL, clip, NULL, err);
    sdf_st_close(meta.st);
    sdf_wstore_release(raw);
    sdf_wstore_release(all);
    return st;
}
