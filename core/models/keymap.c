#include "keymap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static const struct { const char *ldm, *d; } res_parts[] = {
    {"in_layers.0", "norm1"},   {"in_layers.2", "conv1"},  {"emb_layers.1", "time_emb_proj"},
    {"out_layers.0", "norm2"},  {"out_layers.3", "conv2"}, {"skip_connection", "conv_shortcut"},
};

/* "a.b" where a is one of the ResBlock part names: maps the part, keeps the tail. */
static bool map_res(const char *part, bool to_diffusers, char *out, size_t cap) {
    for (size_t i = 0; i < sizeof res_parts / sizeof *res_parts; i++) {
        const char *from = to_diffusers ? res_parts[i].ldm : res_parts[i].d;
        const char *to = to_diffusers ? res_parts[i].d : res_parts[i].ldm;
        size_t l = strlen(from);
        if (strncmp(part, from, l) == 0 && part[l] == '.') {
            snprintf(out, cap, "%s%s", to, part + l);
            return true;
        }
    }
    return false;
}

/* Parses "N.rest" -> N, *rest. */
static bool num_dot(const char *s, long *n, const char **rest) {
    char *e;
    if (*s < '0' || *s > '9') return false;
    *n = strtol(s, &e, 10);
    if (*e != '.') return false;
    *rest = e + 1;
    return true;
}

bool sdf_keymap_unet_ldm_to_diffusers(const char *k, int nrb, char *out, size_t cap) {
    long n, sub;
    const char *r, *r2;
    char part[512];
    if (starts(k, "time_embed.0.")) return snprintf(out, cap, "time_embedding.linear_1.%s", k + 13), true;
    if (starts(k, "time_embed.2.")) return snprintf(out, cap, "time_embedding.linear_2.%s", k + 13), true;
    if (starts(k, "out.0.")) return snprintf(out, cap, "conv_norm_out.%s", k + 6), true;
    if (starts(k, "out.2.")) return snprintf(out, cap, "conv_out.%s", k + 6), true;
    if (starts(k, "input_blocks.") && num_dot(k + 13, &n, &r) && num_dot(r, &sub, &r2)) {
        if (n == 0) {
            if (sub != 0) return false;
            return snprintf(out, cap, "conv_in.%s", r2), true;
        }
        if (n % (nrb + 1) == 0) {
            if (sub != 0 || !starts(r2, "op.")) return false;
            return snprintf(out, cap, "down_blocks.%ld.downsamplers.0.conv.%s", n / (nrb + 1) - 1,
                            r2 + 3), true;
        }
        long x = (n - 1) / (nrb + 1), i = (n - 1) % (nrb + 1);
        if (sub == 0) {
            if (!map_res(r2, true, part, sizeof part)) return false;
            return snprintf(out, cap, "down_blocks.%ld.resnets.%ld.%s", x, i, part), true;
        }
        if (sub == 1) return snprintf(out, cap, "down_blocks.%ld.attentions.%ld.%s", x, i, r2), true;
        return false;
    }
    if (starts(k, "middle_block.") && num_dot(k + 13, &sub, &r)) {
        if (sub == 1) return snprintf(out, cap, "mid_block.attentions.0.%s", r), true;
        if (sub != 0 && sub != 2) return false;
        if (!map_res(r, true, part, sizeof part)) return false;
        return snprintf(out, cap, "mid_block.resnets.%ld.%s", sub / 2, part), true;
    }
    if (starts(k, "output_blocks.") && num_dot(k + 14, &n, &r) && num_dot(r, &sub, &r2)) {
        long x = n / (nrb + 1), i = n % (nrb + 1);
        if (sub == 0) {
            if (!map_res(r2, true, part, sizeof part)) return false;
            return snprintf(out, cap, "up_blocks.%ld.resnets.%ld.%s", x, i, part), true;
        }
        if (starts(r2, "conv.")) {
            if (i != nrb) return false;
            return snprintf(out, cap, "up_blocks.%ld.upsamplers.0.conv.%s", x, r2 + 5), true;
        }
        if (sub == 1) return snprintf(out, cap, "up_blocks.%ld.attentions.%ld.%s", x, i, r2), true;
        return false;
    }
    return false;
}

bool sdf_keymap_unet_diffusers_to_ldm(const char *d, int nrb, const bool *up_has_attn, int n_up,
                                      char *out, size_t cap) {
    long x, i;
    const char *r, *r2;
    char part[512];
    if (starts(d, "conv_in.")) return snprintf(out, cap, "input_blocks.0.0.%s", d + 8), true;
    if (starts(d, "time_embedding.linear_1.")) return snprintf(out, cap, "time_embed.0.%s", d + 24), true;
    if (starts(d, "time_embedding.linear_2.")) return snprintf(out, cap, "time_embed.2.%s", d + 24), true;
    if (starts(d, "conv_norm_out.")) return snprintf(out, cap, "out.0.%s", d + 14), true;
    if (starts(d, "conv_out.")) return snprintf(out, cap, "out.2.%s", d + 9), true;
    if (starts(d, "down_blocks.") && num_dot(d + 12, &x, &r)) {
        if (starts(r, "downsamplers.0.conv."))
            return snprintf(out, cap, "input_blocks.%ld.0.op.%s", (nrb + 1) * (x + 1), r + 20), true;
        if (starts(r, "resnets.") && num_dot(r + 8, &i, &r2) && map_res(r2, false, part, sizeof part))
            return snprintf(out, cap, "input_blocks.%ld.0.%s", 1 + (nrb + 1) * x + i, part), true;
        if (starts(r, "attentions.") && num_dot(r + 11, &i, &r2))
            return snprintf(out, cap, "input_blocks.%ld.1.%s", 1 + (nrb + 1) * x + i, r2), true;
        return false;
    }
    if (starts(d, "mid_block.")) {
        r = d + 10;
        if (starts(r, "attentions.0.")) return snprintf(out, cap, "middle_block.1.%s", r + 13), true;
        if (starts(r, "resnets.") && num_dot(r + 8, &i, &r2) && i <= 1 &&
            map_res(r2, false, part, sizeof part))
            return snprintf(out, cap, "middle_block.%ld.%s", 2 * i, part), true;
        return false;
    }
    if (starts(d, "up_blocks.") && num_dot(d + 10, &x, &r)) {
        if (starts(r, "upsamplers.0.conv.")) {
            bool attn = x < n_up && up_has_attn && up_has_attn[x];
            return snprintf(out, cap, "output_blocks.%ld.%d.conv.%s", (nrb + 1) * x + nrb,
                            attn ? 2 : 1, r + 18), true;
        }
        if (starts(r, "resnets.") && num_dot(r + 8, &i, &r2) && map_res(r2, false, part, sizeof part))
            return snprintf(out, cap, "output_blocks.%ld.0.%s", (nrb + 1) * x + i, part), true;
        if (starts(r, "attentions.") && num_dot(r + 11, &i, &r2))
            return snprintf(out, cap, "output_blocks.%ld.1.%s", (nrb + 1) * x + i, r2), true;
        return false;
    }
    return false;
}

static const struct { const char *d, *ldm; } vae_attn[] = {
    {"group_norm.", "norm."}, {"to_q.", "q."},       {"query.", "q."},
    {"to_k.", "k."},          {"key.", "k."},        {"to_v.", "v."},
    {"value.", "v."},         {"to_out.0.", "proj_out."}, {"proj_attn.", "proj_out."},
};

static bool vae_block(const char *r, char *out, size_t cap) {
    /* resnets.j.X -> block.j.X with conv_shortcut -> nin_shortcut */
    long j;
    const char *r2;
    if (!starts(r, "resnets.") || !num_dot(r + 8, &j, &r2)) return false;
    if (starts(r2, "conv_shortcut.")) return snprintf(out, cap, "block.%ld.nin_shortcut.%s", j, r2 + 14), true;
    return snprintf(out, cap, "block.%ld.%s", j, r2), true;
}

static bool vae_mid(const char *side, const char *r, char *out, size_t cap) {
    long j;
    const char *r2;
    if (starts(r, "resnets.") && num_dot(r + 8, &j, &r2) && j <= 1)
        return snprintf(out, cap, "%s.mid.block_%ld.%s", side, j + 1, r2), true;
    if (starts(r, "attentions.0.")) {
        r += 13;
        for (size_t i = 0; i < sizeof vae_attn / sizeof *vae_attn; i++)
            if (starts(r, vae_attn[i].d))
                return snprintf(out, cap, "%s.mid.attn_1.%s%s", side, vae_attn[i].ldm,
                                r + strlen(vae_attn[i].d)), true;
    }
    return false;
}

bool sdf_keymap_vae_diffusers_to_ldm(const char *d, int n_up, char *out, size_t cap) {
    long i;
    const char *r;
    char tmp[512];
    if (starts(d, "quant_conv.") || starts(d, "post_quant_conv.")) return snprintf(out, cap, "%s", d), true;
    if (starts(d, "encoder.") || starts(d, "decoder.")) {
        bool enc = d[0] == 'e';
        const char *side = enc ? "encoder" : "decoder";
        const char *s = d + 8;
        if (starts(s, "conv_in.") || starts(s, "conv_out.")) return snprintf(out, cap, "%s", d), true;
        if (starts(s, "conv_norm_out.")) return snprintf(out, cap, "%s.norm_out.%s", side, s + 14), true;
        if (starts(s, "mid_block.")) return vae_mid(side, s + 10, out, cap);
        if (enc && starts(s, "down_blocks.") && num_dot(s + 12, &i, &r)) {
            if (starts(r, "downsamplers.0.conv."))
                return snprintf(out, cap, "encoder.down.%ld.downsample.conv.%s", i, r + 20), true;
            if (!vae_block(r, tmp, sizeof tmp)) return false;
            return snprintf(out, cap, "encoder.down.%ld.%s", i, tmp), true;
        }
        if (!enc && starts(s, "up_blocks.") && num_dot(s + 10, &i, &r)) {
            long lvl = n_up - 1 - i;
            if (lvl < 0) return false;
            if (starts(r, "upsamplers.0.conv."))
                return snprintf(out, cap, "decoder.up.%ld.upsample.conv.%s", lvl, r + 18), true;
            if (!vae_block(r, tmp, sizeof tmp)) return false;
            return snprintf(out, cap, "decoder.up.%ld.%s", lvl, tmp), true;
        }
    }
    return false;
}

sdf_status sdf_keymap_diffusers_to_ldm(sdf_wstore *raw, sdf_wstore *out, sdf_error *err) {
    /* structure first: ResBlocks per level, which up blocks have attention, VAE levels */
    int nrb = 0, n_up = 0, vae_up = 0;
    bool up_attn[16] = {0};
    size_t n = sdf_wstore_count(raw);
    for (size_t i = 0; i < n; i++) {
        sdf_wstore_info in;
        sdf_wstore_info_at(raw, i, &in);
        long a, b;
        const char *r, *r2;
        if (starts(in.name, "unet.down_blocks.0.resnets.") && num_dot(in.name + 27, &a, &r) &&
            a + 1 > nrb)
            nrb = (int)a + 1;
        if (starts(in.name, "unet.up_blocks.") && num_dot(in.name + 15, &a, &r) && a < 16) {
            if (a + 1 > n_up) n_up = (int)a + 1;
            if (starts(r, "attentions.")) up_attn[a] = true;
        }
        if (starts(in.name, "vae.decoder.up_blocks.") && num_dot(in.name + 22, &b, &r2) &&
            b + 1 > vae_up)
            vae_up = (int)b + 1;
    }
    for (size_t i = 0; i < n; i++) {
        sdf_wstore_info in;
        sdf_wstore_info_at(raw, i, &in);
        char mapped[768], full[900];
        bool ok = false;
        bool reshape = false;
        if (starts(in.name, "unet.")) {
            ok = sdf_keymap_unet_diffusers_to_ldm(in.name + 5, nrb, up_attn, n_up, mapped,
                                                  sizeof mapped);
            snprintf(full, sizeof full, "model.diffusion_model.%s", mapped);
        } else if (starts(in.name, "vae.")) {
            ok = sdf_keymap_vae_diffusers_to_ldm(in.name + 4, vae_up, mapped, sizeof mapped);
            snprintf(full, sizeof full, "first_stage_model.%s", mapped);
            reshape = ok && in.ndim == 2 && strstr(mapped, ".mid.attn_1.") &&
                      !strstr(mapped, ".norm.");
        } else if (starts(in.name, "te.")) {
            const char *t = in.name + 3;
            if (strstr(t, "position_ids")) continue;
            ok = true;
            snprintf(full, sizeof full, "cond_stage_model.transformer.%s%s",
                     starts(t, "text_model.") ? "" : "text_model.", t);
        }
        if (!ok) {
            const char *dot = strchr(in.name, '.');
            return sdf_fail(err, SDF_ERR_UNSUPPORTED, "unknown diffusers weight '%s'",
                            dot ? dot + 1 : in.name);
        }
        sdf_status st;
        if (reshape) {
            sdf_tensor *t = sdf_wstore_get(raw, in.name, err);
            if (!t) return err->code;
            int64_t sh[4] = {t->shape[0], t->shape[1], 1, 1};
            sdf_tensor *t4 = sdf_tensor_reshape(t, 4, sh, err);
            sdf_tensor_release(t);
            if (!t4) return err->code;
            st = sdf_wstore_put(out, full, t4, err);
            sdf_tensor_release(t4);
        } else {
            st = sdf_wstore_put_from(out, full, raw, in.name, err);
        }
        if (st) return st;
    }
    return SDF_OK;
}
