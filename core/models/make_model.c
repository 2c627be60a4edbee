#include "make_model.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../base/alloc.h"
#include "../io/safetensors.h"

/* ---------------- architectures ---------------- */

typedef struct mm_cfg {
    int  in_ch, mc, L, mult[4], nrb, attn[4], ctx;
    bool linear;
    int  heads, head_ch;
    bool openclip;
    int  cw, cl, cmlp, cheads;
    int  vch, vL, vmult[4], vnrb;
} mm_cfg;

static const char *const arch_names[] = {"sd15", "sd15-inpaint", "sd21", "sd21-v", "tiny"};

int sdf_mm_arch_from_name(const char *name) {
    for (int i = 0; i < SDF_MM_ARCH_COUNT; i++)
        if (strcmp(name, arch_names[i]) == 0) return i;
    return -1;
}

const char *sdf_mm_arch_name(sdf_mm_arch a) {
    return (unsigned)a < SDF_MM_ARCH_COUNT ? arch_names[a] : "?";
}

static mm_cfg cfg_of(sdf_mm_arch a) {
    mm_cfg c = {.in_ch = 4, .mc = 320, .L = 4, .mult = {1, 2, 4, 4}, .nrb = 2,
                .attn = {1, 1, 1, 0}, .ctx = 768, .linear = false, .heads = 8, .head_ch = -1,
                .openclip = false, .cw = 768, .cl = 12, .cmlp = 3072, .cheads = 12,
                .vch = 128, .vL = 4, .vmult = {1, 2, 4, 4}, .vnrb = 2};
    if (a == SDF_MM_SD15_INPAINT) c.in_ch = 9;
    if (a == SDF_MM_SD21 || a == SDF_MM_SD21_V) {
        c.ctx = 1024;
        c.linear = true;
        c.heads = -1;
        c.head_ch = 64;
        c.openclip = true;
        c.cw = 1024;
        c.cl = 24;
        c.cmlp = 4096;
        c.cheads = 16;
    }
    if (a == SDF_MM_TINY) {
        c.mc = 32;
        c.L = 3;
        c.mult[0] = 1; c.mult[1] = 2; c.mult[2] = 2;
        c.attn[0] = 1; c.attn[1] = 1; c.attn[2] = 0;
        c.ctx = 64;
        c.heads = 2;
        c.cw = 64;
        c.cl = 3;
        c.cmlp = 256;
        c.cheads = 2;
        c.vch = 32;
        c.vL = 3;
        c.vmult[0] = 1; c.vmult[1] = 2; c.vmult[2] = 2;
        c.vnrb = 1;
    }
    return c;
}

/* ---------------- key list builder ---------------- */

typedef struct klist {
    sdf_mm_key *k;
    size_t      n, cap;
    bool        oom;
} klist;

static void addk(klist *l, sdf_dtype dt, int ndim, const int64_t *shape, const char *fmt, ...)
    SDF_PRINTF(5, 6);

static void addk(klist *l, sdf_dtype dt, int ndim, const int64_t *shape, const char *fmt, ...) {
    if (l->oom) return;
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 1024;
        sdf_mm_key *nk = sdf_realloc(l->k, nc * sizeof *nk);
        if (!nk) { l->oom = true; return; }
        l->k = nk;
        l->cap = nc;
    }
    sdf_mm_key *k = &l->k[l->n++];
    memset(k, 0, sizeof *k);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->name, sizeof k->name, fmt, ap);
    va_end(ap);
    k->dtype = dt;
    k->ndim = ndim;
    memcpy(k->shape, shape, (size_t)ndim * sizeof *shape);
}

#define S1(a) ((const int64_t[]){(a)})
#define S2(a, b) ((const int64_t[]){(a), (b)})
#define S4(a, b, c, d) ((const int64_t[]){(a), (b), (c), (d)})

static void wb(klist *l, const char *p, int n) { /* norm / bias-only pair */
    addk(l, SDF_DTYPE_F32, 1, S1(n), "%s.weight", p);
    addk(l, SDF_DTYPE_F32, 1, S1(n), "%s.bias", p);
}

static void lin(klist *l, const char *p, int out, int in, bool bias) {
    addk(l, SDF_DTYPE_F32, 2, S2(out, in), "%s.weight", p);
    if (bias) addk(l, SDF_DTYPE_F32, 1, S1(out), "%s.bias", p);
}

static void conv(klist *l, const char *p, int out, int in, int k) {
    addk(l, SDF_DTYPE_F32, 4, S4(out, in, k, k), "%s.weight", p);
    addk(l, SDF_DTYPE_F32, 1, S1(out), "%s.bias", p);
}

static void resblock(klist *l, const mm_cfg *c, const char *p, int cin, int cout) {
    char b[256];
    snprintf(b, sizeof b, "%s.in_layers.0", p); wb(l, b, cin);
    snprintf(b, sizeof b, "%s.in_layers.2", p); conv(l, b, cout, cin, 3);
    snprintf(b, sizeof b, "%s.emb_layers.1", p); lin(l, b, cout, 4 * c->mc, true);
    snprintf(b, sizeof b, "%s.out_layers.0", p); wb(l, b, cout);
    snprintf(b, sizeof b, "%s.out_layers.3", p); conv(l, b, cout, cout, 3);
    if (cin != cout) { snprintf(b, sizeof b, "%s.skip_connection", p); conv(l, b, cout, cin, 1); }
}

static void transformer(klist *l, const mm_cfg *c, const char *p, int ch) {
    char b[256];
    snprintf(b, sizeof b, "%s.norm", p); wb(l, b, ch);
    for (int k = 0; k < 2; k++) {
        snprintf(b, sizeof b, "%s.%s", p, k ? "proj_out" : "proj_in");
        if (c->linear) lin(l, b, ch, ch, true);
        else conv(l, b, ch, ch, 1);
    }
    const char *t = "transformer_blocks.0";
    for (int a = 1; a <= 2; a++) {
        int kv = a == 1 ? ch : c->ctx;
        snprintf(b, sizeof b, "%s.%s.attn%d.to_q", p, t, a); lin(l, b, ch, ch, false);
        snprintf(b, sizeof b, "%s.%s.attn%d.to_k", p, t, a); lin(l, b, ch, kv, false);
        snprintf(b, sizeof b, "%s.%s.attn%d.to_v", p, t, a); lin(l, b, ch, kv, false);
        snprintf(b, sizeof b, "%s.%s.attn%d.to_out.0", p, t, a); lin(l, b, ch, ch, true);
    }
    snprintf(b, sizeof b, "%s.%s.ff.net.0.proj", p, t); lin(l, b, 8 * ch, ch, true);
    snprintf(b, sizeof b, "%s.%s.ff.net.2", p, t); lin(l, b, ch, 4 * ch, true);
    for (int n = 1; n <= 3; n++) { snprintf(b, sizeof b, "%s.%s.norm%d", p, t, n); wb(l, b, ch); }
}

static void unet_keys(klist *l, const mm_cfg *c) {
    const char *P = "model.diffusion_model.";
    char b[256];
    int mc = c->mc;
    snprintf(b, sizeof b, "%stime_embed.0", P); lin(l, b, 4 * mc, mc, true);
    snprintf(b, sizeof b, "%stime_embed.2", P); lin(l, b, 4 * mc, 4 * mc, true);
    snprintf(b, sizeof b, "%sinput_blocks.0.0", P); conv(l, b, mc, c->in_ch, 3);
    int skips[64], ns = 0, n = 1, ch = mc;
    skips[ns++] = mc;
    for (int lv = 0; lv < c->L; lv++) {
        for (int r = 0; r < c->nrb; r++, n++) {
            int out = mc * c->mult[lv];
            snprintf(b, sizeof b, "%sinput_blocks.%d.0", P, n); resblock(l, c, b, ch, out);
            ch = out;
            if (c->attn[lv]) { snprintf(b, sizeof b, "%sinput_blocks.%d.1", P, n); transformer(l, c, b, ch); }
            skips[ns++] = ch;
        }
        if (lv < c->L - 1) {
            snprintf(b, sizeof b, "%sinput_blocks.%d.0.op", P, n++); conv(l, b, ch, ch, 3);
            skips[ns++] = ch;
        }
    }
    snprintf(b, sizeof b, "%smiddle_block.0", P); resblock(l, c, b, ch, ch);
    snprintf(b, sizeof b, "%smiddle_block.1", P); transformer(l, c, b, ch);
    snprintf(b, sizeof b, "%smiddle_block.2", P); resblock(l, c, b, ch, ch);
    n = 0;
    for (int lv = c->L - 1; lv >= 0; lv--) {
        for (int i = 0; i <= c->nrb; i++, n++) {
            int out = mc * c->mult[lv], sk = skips[--ns];
            snprintf(b, sizeof b, "%soutput_blocks.%d.0", P, n); resblock(l, c, b, ch + sk, out);
            ch = out;
            if (c->attn[lv]) { snprintf(b, sizeof b, "%soutput_blocks.%d.1", P, n); transformer(l, c, b, ch); }
            if (lv > 0 && i == c->nrb) {
                snprintf(b, sizeof b, "%soutput_blocks.%d.%d.conv", P, n, c->attn[lv] ? 2 : 1);
                conv(l, b, ch, ch, 3);
            }
        }
    }
    snprintf(b, sizeof b, "%sout.0", P); wb(l, b, ch);
    snprintf(b, sizeof b, "%sout.2", P); conv(l, b, 4, ch, 3);
}

static void vae_res(klist *l, const char *p, int cin, int cout) {
    char b[256];
    snprintf(b, sizeof b, "%s.norm1", p); wb(l, b, cin);
    snprintf(b, sizeof b, "%s.conv1", p); conv(l, b, cout, cin, 3);
    snprintf(b, sizeof b, "%s.norm2", p); wb(l, b, cout);
    snprintf(b, sizeof b, "%s.conv2", p); conv(l, b, cout, cout, 3);
    if (cin != cout) { snprintf(b, sizeof b, "%s.nin_shortcut", p); conv(l, b, cout, cin, 1); }
}

static void vae_mid(klist *l, const char *side, int ch) {
    const char *P = "first_stage_model.";
    char b[256];
    snprintf(b, sizeof b, "%s%s.mid.block_1", P, side); vae_res(l, b, ch, ch);
    snprintf(b, sizeof b, "%s%s.mid.block_2", P, side); vae_res(l, b, ch, ch);
    snprintf(b, sizeof b, "%s%s.mid.attn_1.norm", P, side); wb(l, b, ch);
    static const char *const qkv[] = {"q", "k", "v", "proj_out"};
    for (int i = 0; i < 4; i++) {
        snprintf(b, sizeof b, "%s%s.mid.attn_1.%s", P, side, qkv[i]);
        conv(l, b, ch, ch, 1);
    }
}

static void vae_keys(klist *l, const mm_cfg *c) {
    const char *P = "first_stage_model.";
    char b[256];
    int z = 4, ch = c->vch, bin = ch;
    snprintf(b, sizeof b, "%sencoder.conv_in", P); conv(l, b, ch, 3, 3);
    for (int i = 0; i < c->vL; i++) {
        bin = ch * (i == 0 ? 1 : c->vmult[i - 1]);
        int bout = ch * c->vmult[i];
        for (int j = 0; j < c->vnrb; j++) {
            snprintf(b, sizeof b, "%sencoder.down.%d.block.%d", P, i, j); vae_res(l, b, bin, bout);
            bin = bout;
        }
        if (i != c->vL - 1) {
            snprintf(b, sizeof b, "%sencoder.down.%d.downsample.conv", P, i); conv(l, b, bin, bin, 3);
        }
    }
    vae_mid(l, "encoder", bin);
    snprintf(b, sizeof b, "%sencoder.norm_out", P); wb(l, b, bin);
    snprintf(b, sizeof b, "%sencoder.conv_out", P); conv(l, b, 2 * z, bin, 3);
    bin = ch * c->vmult[c->vL - 1];
    snprintf(b, sizeof b, "%sdecoder.conv_in", P); conv(l, b, bin, z, 3);
    vae_mid(l, "decoder", bin);
    for (int i = c->vL - 1; i >= 0; i--) {
        int bout = ch * c->vmult[i];
        for (int j = 0; j <= c->vnrb; j++) {
            snprintf(b, sizeof b, "%sdecoder.up.%d.block.%d", P, i, j); vae_res(l, b, bin, bout);
            bin = bout;
        }
        if (i != 0) {
            snprintf(b, sizeof b, "%sdecoder.up.%d.upsample.conv", P, i); conv(l, b, bin, bin, 3);
        }
    }
    snprintf(b, sizeof b, "%sdecoder.norm_out", P); wb(l, b, bin);
    snprintf(b, sizeof b, "%sdecoder.conv_out", P); conv(l, b, 3, bin, 3);
    snprintf(b, sizeof b, "%squant_conv", P); conv(l, b, 2 * z, 2 * z, 1);
    snprintf(b, sizeof b, "%spost_quant_conv", P); conv(l, b, z, z, 1);
}

static void clip_keys(klist *l, const mm_cfg *c) {
    char b[256];
    int W = c->cw, M = c->cmlp;
    if (!c->openclip) {
        const char *P = "cond_stage_model.transformer.text_model.";
        addk(l, SDF_DTYPE_F32, 2, S2(49408, W), "%sembeddings.token_embedding.weight", P);
        addk(l, SDF_DTYPE_F32, 2, S2(77, W), "%sembeddings.position_embedding.weight", P);
        addk(l, SDF_DTYPE_I64, 2, S2(1, 77), "%sembeddings.position_ids", P);
        for (int i = 0; i < c->cl; i++) {
            static const char *const pr[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
            for (int k = 0; k < 4; k++) {
                snprintf(b, sizeof b, "%sencoder.layers.%d.self_attn.%s", P, i, pr[k]);
                lin(l, b, W, W, true);
            }
            snprintf(b, sizeof b, "%sencoder.layers.%d.layer_norm1", P, i); wb(l, b, W);
            snprintf(b, sizeof b, "%sencoder.layers.%d.layer_norm2", P, i); wb(l, b, W);
            snprintf(b, sizeof b, "%sencoder.layers.%d.mlp.fc1", P, i); lin(l, b, M, W, true);
            snprintf(b, sizeof b, "%sencoder.layers.%d.mlp.fc2", P, i); lin(l, b, W, M, true);
        }
        snprintf(b, sizeof b, "%sfinal_layer_norm", P); wb(l, b, W);
    } else {
        const char *P = "cond_stage_model.model.";
        addk(l, SDF_DTYPE_F32, 2, S2(49408, W), "%stoken_embedding.weight", P);
        addk(l, SDF_DTYPE_F32, 2, S2(77, W), "%spositional_embedding", P);
        addk(l, SDF_DTYPE_F32, 2, S2(W, W), "%stext_projection", P);
        addk(l, SDF_DTYPE_F32, 0, S1(0), "%slogit_scale", P);
        snprintf(b, sizeof b, "%sln_final", P); wb(l, b, W);
        for (int i = 0; i < c->cl; i++) {
            const char *R = "transformer.resblocks";
            addk(l, SDF_DTYPE_F32, 2, S2(3 * W, W), "%s%s.%d.attn.in_proj_weight", P, R, i);
            addk(l, SDF_DTYPE_F32, 1, S1(3 * W), "%s%s.%d.attn.in_proj_bias", P, R, i);
            snprintf(b, sizeof b, "%s%s.%d.attn.out_proj", P, R, i); lin(l, b, W, W, true);
            snprintf(b, sizeof b, "%s%s.%d.ln_1", P, R, i); wb(l, b, W);
            snprintf(b, sizeof b, "%s%s.%d.ln_2", P, R, i); wb(l, b, W);
            snprintf(b, sizeof b, "%s%s.%d.mlp.c_fc", P, R, i); lin(l, b, M, W, true);
            snprintf(b, sizeof b, "%s%s.%d.mlp.c_proj", P, R, i); lin(l, b, W, M, true);
        }
    }
}

static const char *const ddpm_names[] = {
    "alphas_cumprod", "alphas_cumprod_prev", "betas", "log_one_minus_alphas_cumprod",
    "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
    "posterior_variance", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
    "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod"};

sdf_status sdf_mm_keys(sdf_mm_arch a, sdf_mm_key **keys, size_t *n, sdf_error *err) {
    if ((unsigned)a >= SDF_MM_ARCH_COUNT) return sdf_fail(err, SDF_ERR_INVALID, "unknown arch");
    mm_cfg c = cfg_of(a);
    klist l = {0};
    for (size_t i = 0; i < SDF_COUNTOF(ddpm_names); i++)
        addk(&l, SDF_DTYPE_F32, 1, S1(1000), "%s", ddpm_names[i]);
    unet_keys(&l, &c);
    vae_keys(&l, &c);
    clip_keys(&l, &c);
    if (l.oom) {
        sdf_free(l.k);
        return sdf_fail(err, SDF_ERR_NOMEM, "key list");
    }
    *keys = l.k;
    *n = l.n;
    return SDF_OK;
}

/* ---------------- values ---------------- */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t hash_name(uint64_t seed, const char *s) {
    uint64_t h = 1469598103934665603ull ^ seed;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static double unif(uint64_t *s) { return ((double)(splitmix(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

static double gauss(uint64_t *s) {
    double u = unif(s), v = unif(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

typedef struct fill_ctx {
    const sdf_mm_key *k;
    uint64_t          seed;
    sdf_dtype         dt;
    sdf_mm_arch       arch;
} fill_ctx;

static bool ends(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Value generator for one tensor: kind decides mean/std. */
static void gen_values(const fill_ctx *f, float *x, int64_t n) {
    const sdf_mm_key *k = f->k;
    const char *nm = k->name;
    uint64_t s = hash_name(f->seed, nm);
    if (k->ndim == 1 && k->shape[0] == 1000 && !strchr(nm, '.')) { /* DDPM buffers */
        double ac = 1.0, prev = 1.0;
        for (int64_t t = 0; t < n; t++) {
            double sb = sqrt(0.00085) + (sqrt(0.012) - sqrt(0.00085)) * (double)t / 999.0;
            double beta = sb * sb;
            prev = ac;
            ac *= 1.0 - beta;
            double pv = beta * (1.0 - prev) / (1.0 - ac);
            double v = 0;
            if (strcmp(nm, "betas") == 0) v = beta;
            else if (strcmp(nm, "alphas_cumprod") == 0) v = ac;
            else if (strcmp(nm, "alphas_cumprod_prev") == 0) v = prev;
            else if (strcmp(nm, "sqrt_alphas_cumprod") == 0) v = sqrt(ac);
            else if (strcmp(nm, "sqrt_one_minus_alphas_cumprod") == 0) v = sqrt(1.0 - ac);
            else if (strcmp(nm, "log_one_minus_alphas_cumprod") == 0) v = log(1.0 - ac);
            else if (strcmp(nm, "sqrt_recip_alphas_cumprod") == 0) v = sqrt(1.0 / ac);
            else if (strcmp(nm, "sqrt_recipm1_alphas_cumprod") == 0) v = sqrt(1.0 / ac - 1.0);
            else if (strcmp(nm, "posterior_variance") == 0) v = pv;
            else if (strcmp(nm, "posterior_log_variance_clipped") == 0) v = log(pv > 1e-20 ? pv : 1e-20);
            else if (strcmp(nm, "posterior_mean_coef1") == 0) v = beta * sqrt(prev) / (1.0 - ac);
            else if (strcmp(nm, "posterior_mean_coef2") == 0) v = (1.0 - prev) * sqrt(1.0 - beta) / (1.0 - ac);
            x[t] = (float)v;
        }
        return;
    }
    if (k->ndim == 0) { x[0] = 4.6052f; return; } /* logit_scale = ln(100) */
    bool is_norm = strstr(nm, "norm") || strstr(nm, "ln_") || strstr(nm, "layer_norm") ||
                   strstr(nm, "in_layers.0.") || strstr(nm, "out_layers.0.") || strstr(nm, "out.0.");
    double mean = 0, sd;
    if (strstr(nm, "token_embedding") || strstr(nm, "position_embedding") ||
        strstr(nm, "positional_embedding")) {
        sd = strstr(nm, "token") ? 0.02 : 0.01;
    } else if (k->ndim == 1 && is_norm && ends(nm, ".weight")) {
        mean = 1.0;
        sd = 0.1;
    } else if (k->ndim == 1) { /* biases, norm biases */
        sd = 0.05;
        if (strstr(nm, "output_blocks.11.1.transformer_blocks.0.norm1.bias"))
            sd = f->arch == SDF_MM_SD21_V ? 0.15 : 0.04; /* v-prediction rule (decisions.md) */
    } else {
        int64_t fan_in = 1;
        for (int d = 1; d < k->ndim; d++) fan_in *= k->shape[d];
        sd = 1.0 / sqrt((double)fan_in);
        if (strstr(nm, "text_projection")) sd = 1.0 / sqrt((double)k->shape[0]);
    }
    for (int64_t i = 0; i < n; i++) x[i] = (float)(mean + sd * gauss(&s));
}

static sdf_status fill(void *ctx, void *dst, size_t nbytes, sdf_error *err) {
    const fill_ctx *f = ctx;
    int64_t n = 1;
    for (int d = 0; d < f->k->ndim; d++) n *= f->k->shape[d];
    if (f->k->dtype == SDF_DTYPE_I64) {
        int64_t *p = dst;
        for (int64_t i = 0; i < n; i++) p[i] = i % 77;
        return SDF_OK;
    }
    if (f->dt == SDF_DTYPE_F32) {
        gen_values(f, dst, n);
        return SDF_OK;
    }
    float *tmp = sdf_malloc((size_t)n * sizeof *tmp);
    if (!tmp) return sdf_fail(err, SDF_ERR_NOMEM, "%s", f->k->name);
    gen_values(f, tmp, n);
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = sdf_f32_to_f16(tmp[i]);
    sdf_free(tmp);
    (void)nbytes;
    return SDF_OK;
}

sdf_status sdf_mm_tensor_values(sdf_mm_arch a, uint64_t seed, const char *name, float *out,
                                size_t n, sdf_error *err) {
    sdf_mm_key *keys = NULL;
    size_t nk = 0;
    sdf_status st = sdf_mm_keys(a, &keys, &nk, err);
    if (st) return st;
    st = sdf_fail(err, SDF_ERR_NOT_FOUND, "'%s' is not a float tensor of %s", name,
                  sdf_mm_arch_name(a));
    for (size_t i = 0; i < nk; i++) {
        if (strcmp(keys[i].name, name) != 0 || keys[i].dtype != SDF_DTYPE_F32) continue;
        int64_t ne = 1;
        for (int d = 0; d < keys[i].ndim; d++) ne *= keys[i].shape[d];
        if ((size_t)ne != n) {
            st = sdf_fail(err, SDF_ERR_SHAPE, "'%s' has %lld elements, not %zu", name,
                          (long long)ne, n);
            break;
        }
        fill_ctx f = {.k = &keys[i], .seed = seed, .dt = SDF_DTYPE_F32, .arch = a};
        gen_values(&f, out, ne);
        sdf_error_clear(err);
        st = SDF_OK;
        break;
    }
    sdf_free(keys);
    return st;
}

static void meta_configs(sdf_st_writer *w, const mm_cfg *c, sdf_mm_arch a, sdf_error *err) {
    char ldm[2048], clip[1024], mult[64], vmult[64], attn[64];
    int ml = 0, vl = 0, al = 0;
    for (int i = 0; i < c->L; i++) ml += snprintf(mult + ml, sizeof mult - (size_t)ml, "%s%d", i ? "," : "", c->mult[i]);
    for (int i = 0; i < c->vL; i++) vl += snprintf(vmult + vl, sizeof vmult - (size_t)vl, "%s%d", i ? "," : "", c->vmult[i]);
    for (int i = 0, ds = 1; i < c->L; i++, ds *= 2)
        if (c->attn[i]) al += snprintf(attn + al, sizeof attn - (size_t)al, "%s%d", al ? "," : "", ds);
    snprintf(ldm, sizeof ldm,
             "{\"model\":{\"params\":{\"parameterization\":\"%s\",\"scale_factor\":0.18215,"
             "\"unet_config\":{\"params\":{\"in_channels\":%d,\"out_channels\":4,"
             "\"model_channels\":%d,\"channel_mult\":[%s],\"num_res_blocks\":%d,"
             "\"attention_resolutions\":[%s],\"num_heads\":%d,\"num_head_channels\":%d,"
             "\"context_dim\":%d,\"transformer_depth\":1,\"use_linear_in_transformer\":%s}},"
             "\"first_stage_config\":{\"params\":{\"ddconfig\":{\"ch\":%d,\"ch_mult\":[%s],"
             "\"num_res_blocks\":%d,\"z_channels\":4,\"in_channels\":3,\"out_ch\":3}}}}}}",
             a == SDF_MM_SD21_V ? "v" : "eps", c->in_ch, c->mc, mult, c->nrb, attn, c->heads,
             c->head_ch, c->ctx, c->linear ? "true" : "false", c->vch, vmult, c->vnrb);
    snprintf(clip, sizeof clip,
             "{\"hidden_size\":%d,\"num_hidden_layers\":%d,\"num_attention_heads\":%d,"
             "\"intermediate_size\":%d,\"hidden_act\":\"%s\",\"vocab_size\":49408,"
             "\"max_position_embeddings\":77,\"bos_token_id\":49406,\"eos_token_id\":49407}",
             c->cw, c->cl, c->cheads, c->cmlp, c->openclip ? "gelu" : "quick_gelu");
    sdf_st_writer_meta(w, "ldm_config", ldm, err);
    sdf_st_writer_meta(w, "clip_config", clip, err);
}

sdf_status sdf_make_model(sdf_mm_arch a, uint64_t seed, sdf_dtype dt, const char *path,
                          sdf_error *err) {
    if (dt != SDF_DTYPE_F16 && dt != SDF_DTYPE_F32)
        return sdf_fail(err, SDF_ERR_INVALID, "make-model writes f16 or f32 only");
    sdf_mm_key *keys = NULL;
    size_t n = 0;
    sdf_status st = sdf_mm_keys(a, &keys, &n, err);
    if (st) return st;
    fill_ctx *ctx = sdf_calloc(n, sizeof *ctx);
    sdf_st_writer *w = sdf_st_writer_new();
    if (!ctx || !w) {
        sdf_free(keys);
        sdf_free(ctx);
        sdf_st_writer_free(w);
        return sdf_fail(err, SDF_ERR_NOMEM, "make-model");
    }
    for (size_t i = 0; i < n && st == SDF_OK; i++) {
        ctx[i] = (fill_ctx){.k = &keys[i], .seed = seed, .dt = dt, .arch = a};
        sdf_dtype fdt = keys[i].dtype == SDF_DTYPE_I64 ? SDF_DTYPE_I64 : dt;
        st = sdf_st_writer_add_fn(w, keys[i].name, fdt, keys[i].ndim, keys[i].shape, fill,
                                  &ctx[i], err);
    }
    char info[128];
    snprintf(info, sizeof info, "{\"arch\":\"%s\",\"seed\":%llu}", sdf_mm_arch_name(a),
             (unsigned long long)seed);
    if (!st) st = sdf_st_writer_meta(w, "sdflow.make_model", info, err);
    if (!st) {
        mm_cfg c = cfg_of(a);
        meta_configs(w, &c, a, err);
        st = sdf_st_writer_save(w, path, err);
    }
    sdf_st_writer_free(w);
    sdf_free(ctx);
    sdf_free(keys);
    return st;
}
