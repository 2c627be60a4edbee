#include "ckpt_detect.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"

/* ---------------- key set ---------------- */

sdf_status sdf_keyset_init(sdf_keyset *ks, sdf_wstore *w, sdf_error *err) {
    memset(ks, 0, sizeof *ks);
    ks->w = w;
    ks->n = sdf_wstore_count(w);
    ks->names = sdf_malloc((ks->n ? ks->n : 1) * sizeof *ks->names);
    if (!ks->names) return sdf_fail(err, SDF_ERR_NOMEM, "key set");
    for (size_t i = 0; i < ks->n; i++) {
        sdf_wstore_info in;
        sdf_wstore_info_at(w, i, &in);
        ks->names[i] = in.name; /* sorted by name */
    }
    return SDF_OK;
}

void sdf_keyset_free(sdf_keyset *ks) {
    sdf_free(ks->names);
    ks->names = NULL;
}

static size_t lower_bound(const sdf_keyset *ks, const char *s) {
    size_t lo = 0, hi = ks->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(ks->names[mid], s) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

bool sdf_keyset_has(const sdf_keyset *ks, const char *name) {
    size_t i = lower_bound(ks, name);
    return i < ks->n && strcmp(ks->names[i], name) == 0;
}

bool sdf_keyset_has_prefix(const sdf_keyset *ks, const char *prefix) {
    size_t i = lower_bound(ks, prefix);
    return i < ks->n && strncmp(ks->names[i], prefix, strlen(prefix)) == 0;
}

size_t sdf_keyset_count_prefix(const sdf_keyset *ks, const char *prefix) {
    size_t l = strlen(prefix), c = 0;
    for (size_t i = lower_bound(ks, prefix); i < ks->n && strncmp(ks->names[i], prefix, l) == 0; i++)
        c++;
    return c;
}

int sdf_keyset_count_blocks(const sdf_keyset *ks, const char *fmt) {
    int c = 0;
    char p[512];
    for (;;) {
        snprintf(p, sizeof p, fmt, c);
        if (!sdf_keyset_has_prefix(ks, p)) return c;
        c++;
    }
}

int sdf_keyset_shape(const sdf_keyset *ks, const char *name, int64_t shape[SDF_MAX_DIMS]) {
    sdf_wstore_info in;
    if (!sdf_wstore_info_of(ks->w, name, &in)) return -1;
    memcpy(shape, in.shape, sizeof in.shape);
    return in.ndim;
}

static int64_t dim_of(const sdf_keyset *ks, const char *name, int d) {
    int64_t sh[SDF_MAX_DIMS];
    int nd = sdf_keyset_shape(ks, name, sh);
    if (nd <= d) return -1;
    return sh[d];
}

/* ---------------- UNet ---------------- */

const char *sdf_detect_unet_prefix(const sdf_keyset *ks) {
    static const char *const cands[] = {"model.diffusion_model.", "model.model.", "net."};
    size_t best = 0, bi = 0;
    for (size_t i = 0; i < SDF_COUNTOF(cands); i++) {
        size_t c = sdf_keyset_count_prefix(ks, cands[i]);
        /* "model.model." keys are also counted under nothing else: prefixes are disjoint */
        if (c > best) { best = c; bi = i; }
    }
    return best > 5 ? cands[bi] : "model.";
}

/* Depth of the SpatialTransformer at block prefix (…input_blocks.N.), or -1 when none. */
static int transformer_depth(const sdf_keyset *ks, const char *block, int *context_dim,
                             int *linear) {
    char tp[512], k[600];
    snprintf(tp, sizeof tp, "%s1.transformer_blocks.", block);
    if (!sdf_keyset_has_prefix(ks, tp)) return -1;
    char fmt[560];
    snprintf(fmt, sizeof fmt, "%s%%d.", tp);
    int depth = sdf_keyset_count_blocks(ks, fmt);
    if (context_dim && *context_dim <= 0) {
        snprintf(k, sizeof k, "%s0.attn2.to_k.weight", tp);
        *context_dim = (int)dim_of(ks, k, 1);
        int64_t sh[SDF_MAX_DIMS];
        snprintf(k, sizeof k, "%s1.proj_in.weight", block);
        *linear = sdf_keyset_shape(ks, k, sh) == 2;
    }
    return depth;
}

sdf_status sdf_detect_unet_config(const sdf_keyset *ks, const char *p, sdf_unet_config *cfg,
                                  sdf_error *err) {
    memset(cfg, 0, sizeof *cfg);
    char k[512], po[512], pi[512];
    int64_t sh[SDF_MAX_DIMS];
    snprintf(k, sizeof k, "%sinput_blocks.0.0.weight", p);
    if (sdf_keyset_shape(ks, k, sh) != 4)
        return sdf_fail(err, SDF_ERR_UNSUPPORTED, "no UNet input convolution '%s'", k);
    cfg->model_channels = (int)sh[0];
    cfg->in_channels = (int)sh[1];
    snprintf(k, sizeof k, "%sout.2.weight", p);
    int64_t oc = dim_of(ks, k, 0);
    cfg->out_channels = oc > 0 ? (int)oc : 4;
    cfg->context_dim = -1;
    int linear = 0;
    snprintf(k, sizeof k, "%sinput_blocks.%%d.", p);
    int n_in = sdf_keyset_count_blocks(ks, k);
    int last_res = 0, last_mult = 0, n_td = 0, n_tdo = 0;
    cfg->n_levels = 0;
    for (int c = 0; c < n_in; c++) {
        snprintf(pi, sizeof pi, "%sinput_blocks.%d.", p, c);
        snprintf(po, sizeof po, "%soutput_blocks.%d.", p, n_in - c - 1);
        snprintf(k, sizeof k, "%s0.op.weight", pi);
        if (sdf_keyset_has(ks, k)) {
            if (cfg->n_levels >= SDF_UNET_MAX_LEVELS - 1 ||
                n_tdo >= (int)SDF_COUNTOF(cfg->transformer_depth_output))
                return sdf_fail(err, SDF_ERR_UNSUPPORTED, "UNet has too many levels");
            cfg->num_res_blocks[cfg->n_levels] = last_res;
            cfg->channel_mult[cfg->n_levels] = last_mult;
            cfg->n_levels++;
            last_res = 0;
            last_mult = 0;
            int d = transformer_depth(ks, po, NULL, NULL);
            cfg->transformer_depth_output[n_tdo++] = d > 0 ? d : 0;
            continue;
        }
        snprintf(k, sizeof k, "%s0.in_layers.0.weight", pi);
        if (sdf_keyset_has(ks, k)) {
            last_res++;
            snprintf(k, sizeof k, "%s0.out_layers.3.weight", pi);
            int64_t w = dim_of(ks, k, 0);
            if (w <= 0 || cfg->model_channels <= 0)
                return sdf_fail(err, SDF_ERR_PARSE, "UNet block '%s' lacks out_layers.3", pi);
            last_mult = (int)(w / cfg->model_channels);
            if (n_td >= (int)SDF_COUNTOF(cfg->transformer_depth))
                return sdf_fail(err, SDF_ERR_UNSUPPORTED, "UNet has too many blocks");
            int d = transformer_depth(ks, pi, &cfg->context_dim, &linear);
            cfg->transformer_depth[n_td++] = d > 0 ? d : 0;
        }
        snprintf(k, sizeof k, "%s0.in_layers.0.weight", po);
        if (sdf_keyset_has(ks, k)) {
            if (n_tdo >= (int)SDF_COUNTOF(cfg->transformer_depth_output))
                return sdf_fail(err, SDF_ERR_UNSUPPORTED, "UNet has too many blocks");
            int d = transformer_depth(ks, po, NULL, NULL);
            cfg->transformer_depth_output[n_tdo++] = d > 0 ? d : 0;
        }
    }
    if (cfg->n_levels >= SDF_UNET_MAX_LEVELS)
        return sdf_fail(err, SDF_ERR_UNSUPPORTED, "UNet has too many levels");
    /* ComfyUI collects the output depths from output_blocks.(N-1) down; store them in block
     * order (entry i = output_blocks.i) */
    for (int i = 0; i < n_tdo / 2; i++) {
        int t = cfg->transformer_depth_output[i];
        cfg->transformer_depth_output[i] = cfg->transformer_depth_output[n_tdo - 1 - i];
        cfg->transformer_depth_output[n_tdo - 1 - i] = t;
    }
    cfg->num_res_blocks[cfg->n_levels] = last_res;
    cfg->channel_mult[cfg->n_levels] = last_mult;
    cfg->n_levels++;
    snprintf(k, sizeof k, "%smiddle_block.1.proj_in.weight", p);
    if (sdf_keyset_has(ks, k)) {
        snprintf(k, sizeof k, "%smiddle_block.1.transformer_blocks.%%d", p);
        cfg->transformer_depth_middle = sdf_keyset_count_blocks(ks, k);
    } else {
        snprintf(k, sizeof k, "%smiddle_block.0.in_layers.0.weight", p);
        cfg->transformer_depth_middle = sdf_keyset_has(ks, k) ? -1 : -2;
    }
    cfg->use_linear_in_transformer = linear != 0;
    cfg->num_heads = -1;
    cfg->num_head_channels = -1;
    return SDF_OK;
}

/* ---------------- VAE ---------------- */

sdf_status sdf_detect_vae_config(const sdf_keyset *ks, const char *p, sdf_vae_config *cfg,
                                 sdf_error *err) {
    memset(cfg, 0, sizeof *cfg);
    char k[512];
    snprintf(k, sizeof k, "%sdecoder.conv_in.weight", p);
    int64_t z = dim_of(ks, k, 1);
    snprintf(k, sizeof k, "%sencoder.conv_in.weight", p);
    int64_t ch = dim_of(ks, k, 0), inc = dim_of(ks, k, 1);
    snprintf(k, sizeof k, "%sdecoder.conv_out.weight", p);
    int64_t outc = dim_of(ks, k, 0);
    if (z <= 0 || ch <= 0 || inc <= 0 || outc <= 0)
        return sdf_fail(err, SDF_ERR_UNSUPPORTED,
                        "VAE weights incomplete (need %sencoder.conv_in, decoder.conv_in, "
                        "decoder.conv_out)", p);
    snprintf(k, sizeof k, "%sencoder.down.%%d.", p);
    int L = sdf_keyset_count_blocks(ks, k);
    if (L < 1 || L > SDF_UNET_MAX_LEVELS)
        return sdf_fail(err, SDF_ERR_UNSUPPORTED, "VAE has %d encoder levels", L);
    cfg->ch = (int)ch;
    cfg->n_levels = L;
    for (int i = 0; i < L; i++) {
        snprintf(k, sizeof k, "%sencoder.down.%d.block.0.conv1.weight", p, i);
        int64_t w = dim_of(ks, k, 0);
        if (w <= 0) return sdf_fail(err, SDF_ERR_UNSUPPORTED, "VAE weight '%s' missing", k);
        cfg->ch_mult[i] = (int)(w / ch);
    }
    snprintf(k, sizeof k, "%sencoder.down.0.block.%%d.", p);
    cfg->num_res_blocks = sdf_keyset_count_blocks(ks, k);
    cfg->z_channels = (int)z;
    cfg->in_channels = (int)inc;
    cfg->out_ch = (int)outc;
    cfg->downscale = 1 << (L - 1);
    cfg->scale_factor = 0.18215f;
    return SDF_OK;
}

/* ---------------- CLIP ---------------- */

sdf_status sdf_detect_clip_config(const sdf_keyset *ks, sdf_arch arch, sdf_clip_config *cfg,
                                  sdf_error *err) {
    memset(cfg, 0, sizeof *cfg);
    int64_t sh[SDF_MAX_DIMS];
    if (sdf_keyset_shape(ks, "text_model.embeddings.token_embedding.weight", sh) != 2)
        return sdf_fail(err, SDF_ERR_UNSUPPORTED, "text encoder lacks its token embedding");
    cfg->vocab = (int)sh[0];
    cfg->width = (int)sh[1];
    if (sdf_keyset_shape(ks, "text_model.embeddings.position_embedding.weight", sh) != 2)
        return sdf_fail(err, SDF_ERR_UNSUPPORTED, "text encoder lacks its position embedding");
    cfg->positions = (int)sh[0];
    cfg->layers = sdf_keyset_count_blocks(ks, "text_model.encoder.layers.%d.");
    if (cfg->layers < 1) return sdf_fail(err, SDF_ERR_UNSUPPORTED, "text encoder has no layers");
    int64_t mlp = dim_of(ks, "text_model.encoder.layers.0.mlp.fc1.weight", 0);
    cfg->mlp = mlp > 0 ? (int)mlp : 4 * cfg->width;
    cfg->heads = cfg->width / 64 > 0 ? cfg->width / 64 : 1;
    cfg->quick_gelu = arch == SDF_ARCH_SD1;
    cfg->start_token = 49406;
    cfg->end_token = 49407;
    cfg->pad_token = arch == SDF_ARCH_SD1 ? 49407 : 0;
    cfg->default_layer_idx = arch == SDF_ARCH_SD1 ? 0 : -2;
    cfg->has_projection = sdf_keyset_has(ks, "text_projection.weight");
    return SDF_OK;
}

/* ---------------- metadata ---------------- */

static const cJSON *jpath(const cJSON *o, const char *const *path) {
    for (; *path && o; path++) o = cJSON_GetObjectItemCaseSensitive(o, *path);
    return o;
}

static bool jint(const cJSON *o, const char *key, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) return false;
    *out = (int)v->valuedouble;
    return true;
}

static int jint_list(const cJSON *o, const char *key, int *out, int cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(v)) return -1;
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsNumber(e) || n >= cap) return -1;
        out[n++] = (int)e->valuedouble;
    }
    return n;
}

sdf_status sdf_detect_apply_metadata(const char *ldm_config, const char *clip_config,
                                     sdf_unet_config *unet, sdf_vae_config *vae,
                                     sdf_clip_config *clip, int *prediction, sdf_error *err) {
    if (ldm_config) {
        cJSON *root = cJSON_Parse(ldm_config);
        if (!root || !cJSON_IsObject(root)) {
            cJSON_Delete(root);
            return sdf_fail(err, SDF_ERR_PARSE, "__metadata__ 'ldm_config' is not a JSON object");
        }
        static const char *const params_p[] = {"model", "params", NULL};
        static const char *const unet_p[] = {"unet_config", "params", NULL};
        static const char *const dd_p[] = {"first_stage_config", "params", "ddconfig", NULL};
        const cJSON *params = jpath(root, params_p);
        const cJSON *up = jpath(params, unet_p);
        if (up && unet) {
            int v;
            if (jint(up, "num_heads", &v)) unet->num_heads = v;
            if (jint(up, "num_head_channels", &v)) unet->num_head_channels = v;
            if (jint(up, "context_dim", &v)) unet->context_dim = v;
            /* transformer_depth as a single number applies to every attention block */
            if (jint(up, "transformer_depth", &v) && v > 0) {
                for (size_t i = 0; i < SDF_COUNTOF(unet->transformer_depth); i++)
                    if (unet->transformer_depth[i] > 0) unet->transformer_depth[i] = v;
                for (size_t i = 0; i < SDF_COUNTOF(unet->transformer_depth_output); i++)
                    if (unet->transformer_depth_output[i] > 0) unet->transformer_depth_output[i] = v;
                if (unet->transformer_depth_middle > 0) unet->transformer_depth_middle = v;
            }
        }
        const cJSON *pz = cJSON_GetObjectItemCaseSensitive(params, "parameterization");
        if (prediction && cJSON_IsString(pz) && strcmp(pz->valuestring, "v") == 0)
            *prediction = SDF_PRED_V;
        const cJSON *sf = cJSON_GetObjectItemCaseSensitive(params, "scale_factor");
        if (vae && cJSON_IsNumber(sf)) vae->scale_factor = (float)sf->valuedouble;
        const cJSON *dd = jpath(params, dd_p);
        if (dd && vae) {
            int v, m[SDF_UNET_MAX_LEVELS];
            if (jint(dd, "ch", &v)) vae->ch = v;
            if (jint(dd, "num_res_blocks", &v)) vae->num_res_blocks = v;
            if (jint(dd, "z_channels", &v)) vae->z_channels = v;
            int n = jint_list(dd, "ch_mult", m, SDF_UNET_MAX_LEVELS);
            if (n > 0) {
                vae->n_levels = n;
                memcpy(vae->ch_mult, m, (size_t)n * sizeof *m);
                vae->downscale = 1 << (n - 1);
            }
        }
        cJSON_Delete(root);
    }
    if (clip_config && clip) {
        cJSON *root = cJSON_Parse(clip_config);
        if (!root || !cJSON_IsObject(root)) {
            cJSON_Delete(root);
            return sdf_fail(err, SDF_ERR_PARSE, "__metadata__ 'clip_config' is not a JSON object");
        }
        int v;
        if (jint(root, "hidden_size", &v)) clip->width = v;
        if (jint(root, "num_hidden_layers", &v)) clip->layers = v;
        if (jint(root, "num_attention_heads", &v)) clip->heads = v;
        if (jint(root, "intermediate_size", &v)) clip->mlp = v;
        if (jint(root, "vocab_size", &v)) clip->vocab = v;
        if (jint(root, "max_position_embeddings", &v)) clip->positions = v;
        if (jint(root, "bos_token_id", &v)) clip->start_token = v;
        if (jint(root, "eos_token_id", &v)) clip->end_token = v;
        const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
        if (cJSON_IsString(act)) clip->quick_gelu = strcmp(act->valuestring, "quick_gelu") == 0;
        cJSON_Delete(root);
    }
    return SDF_OK;
}
