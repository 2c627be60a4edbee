/* cmd_bench.c: `sdflow bench [--model FILE] [--threads N] [--json] [--latents 32,64,96]`.
 *
 * Measures, in one process on this machine: the sgemm ceiling (OpenBLAS, its own threads, best
 * core), the same sgemm split on sdflow's pool (how the kernels run), UNet forward (batch 2) at
 * several latent sizes with analytic FLOP counts, the UNet's convolutions + linears alone
 * (every conv/linear of the 64x64 forward timed on its own), VAE decode 64x64 -> 512x512 and
 * encode 512x512, CLIP-L encode of one 77-token sequence, and the peak RSS of each phase
 * (reset through /proc/self/clear_refs). Without --model it builds a full-size SD1.5-shaped
 * checkpoint with random weights in memory. */
#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/base/alloc.h"
#include "../core/base/threadpool.h"
#include "../core/kernels/kernels.h"
#include "../core/models/checkpoint.h"
#include "../core/models/clip.h"
#include "../core/models/model_ops.h"
#include "../core/models/unet.h"
#include "../core/models/vae.h"

int sdf_cmd_bench(int argc, char **argv);

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- peak RSS per phase ------------------------------------------------------------------ */

static void rss_reset(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static double rss_peak_mb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double mb = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) mb = atof(line + 6) / 1024.0;
    fclose(f);
    return mb;
}

/* ---- random SD1.5-shaped weights --------------------------------------------------------- */

typedef struct gen {
    sdf_wstore *w;
    uint64_t    s;
    sdf_error  *err;
    bool        ok;
    sdf_pool   *pool;
} gen;

/* counter-based uniform in [-1, 1) (splitmix64 of seed + index): fills in parallel chunks */
static inline float hrand(uint64_t seed, uint64_t i) {
    uint64_t z = seed + i * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((double)(z >> 40) / 16777216.0 * 2.0 - 1.0);
}

typedef struct fill_ctx {
    float   *p;
    uint64_t seed;
    float    sc;
    int      kind;
} fill_ctx;

static void fill_chunk(void *vctx, size_t b, size_t e, int slot) {
    (void)slot;
    fill_ctx *f = vctx;
    for (size_t i = b; i < e; i++) f->p[i] = f->kind == 1 ? 1.0f : hrand(f->seed, i) * f->sc;
}

/* kind 0: weight with fan-in scaling; 1: ones (norm weight); 2: small bias */
static void put(gen *g, int kind, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                const char *fmt, ...) SDF_PRINTF(8, 9);
static void put(gen *g, int kind, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                const char *fmt, ...) {
    if (!g->ok) return;
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int64_t shape[4] = {d0, d1, d2, d3};
    sdf_tensor *t = sdf_tensor_new(SDF_DTYPE_F32, ndim, shape, g->err);
    if (!t) {
        g->ok = false;
        return;
    }
    int64_t n = sdf_tensor_numel(t), fan = n / d0;
    fill_ctx fc = {sdf_tensor_f32p(t), g->s++ * 0x2545f4914f6cdd1dull,
                   kind == 0 ? sqrtf(3.0f / (float)fan) : 0.02f, kind};
    sdf_pool_for(g->pool, (size_t)n, 1 << 16, fill_chunk, &fc);
    if (sdf_wstore_put(g->w, name, t, g->err) != SDF_OK) g->ok = false;
    sdf_tensor_release(t);
}

static void put_conv(gen *g, int64_t co, int64_t ci, int64_t k, const char *pre) {
    put(g, 0, 4, co, ci, k, k, "%s.weight", pre);
    put(g, 2, 1, co, 0, 0, 0, "%s.bias", pre);
}
static void put_lin(gen *g, int64_t o, int64_t i, bool bias, const char *pre) {
    put(g, 0, 2, o, i, 0, 0, "%s.weight", pre);
    if (bias) put(g, 2, 1, o, 0, 0, 0, "%s.bias", pre);
}
static void put_norm(gen *g, int64_t c, const char *pre) {
    put(g, 1, 1, c, 0, 0, 0, "%s.weight", pre);
    put(g, 2, 1, c, 0, 0, 0, "%s.bias", pre);
}

static void gen_res(gen *g, const char *pre, int64_t ci, int64_t co, int64_t emb) {
    char b[200];
    snprintf(b, sizeof b, "%s.in_layers.0", pre), put_norm(g, ci, b);
    snprintf(b, sizeof b, "%s.in_layers.2", pre), put_conv(g, co, ci, 3, b);
    snprintf(b, sizeof b, "%s.emb_layers.1", pre), put_lin(g, co, emb, true, b);
    snprintf(b, sizeof b, "%s.out_layers.0", pre), put_norm(g, co, b);
    snprintf(b, sizeof b, "%s.out_layers.3", pre), put_conv(g, co, co, 3, b);
    if (ci != co) snprintf(b, sizeof b, "%s.skip_connection", pre), put_conv(g, co, ci, 1, b);
}

static void gen_tr(gen *g, const char *pre, int64_t c, int64_t ctx) {
    char b[220];
    snprintf(b, sizeof b, "%s.norm", pre), put_norm(g, c, b);
    snprintf(b, sizeof b, "%s.proj_in", pre), put_conv(g, c, c, 1, b);
    snprintf(b, sizeof b, "%s.proj_out", pre), put_conv(g, c, c, 1, b);
    const char *tb = "transformer_blocks.0";
    for (int i = 1; i <= 3; i++) snprintf(b, sizeof b, "%s.%s.norm%d", pre, tb, i), put_norm(g, c, b);
    for (int a = 1; a <= 2; a++) {
        snprintf(b, sizeof b, "%s.%s.attn%d.to_q", pre, tb, a), put_lin(g, c, c, false, b);
        snprintf(b, sizeof b, "%s.%s.attn%d.to_k", pre, tb, a), put_lin(g, c, a == 1 ? c : ctx, false, b);
        snprintf(b, sizeof b, "%s.%s.attn%d.to_v", pre, tb, a), put_lin(g, c, a == 1 ? c : ctx, false, b);
        snprintf(b, sizeof b, "%s.%s.attn%d.to_out.0", pre, tb, a), put_lin(g, c, c, true, b);
    }
    snprintf(b, sizeof b, "%s.%s.ff.net.0.proj", pre, tb), put_lin(g, 8 * c, c, true, b);
    snprintf(b, sizeof b, "%s.%s.ff.net.2", pre, tb), put_lin(g, c, 4 * c, true, b);
}

static sdf_model *gen_unet(sdf_pool *pool, sdf_error *err) {
    gen g = {sdf_wstore_new(err), 12345, err, true, pool};
    if (!g.w) return NULL;
    const int64_t mc = 320, mult[4] = {1, 2, 4, 4}, emb = 4 * mc, ctx = 768;
    const bool attn[4] = {true, true, true, false};
    put_lin(&g, emb, mc, true, "time_embed.0");
    put_lin(&g, emb, emb, true, "time_embed.2");
    put_conv(&g, mc, 4, 3, "input_blocks.0.0");
    int64_t chans[32], nc = 0, ch = mc;
    chans[nc++] = ch;
    int idx = 1;
    char b[128];
    for (int l = 0; l < 4; l++) {
        for (int r = 0; r < 2; r++) {
            snprintf(b, sizeof b, "input_blocks.%d.0", idx);
            gen_res(&g, b, ch, mult[l] * mc, emb);
            ch = mult[l] * mc;
            if (attn[l]) snprintf(b, sizeof b, "input_blocks.%d.1", idx), gen_tr(&g, b, ch, ctx);
            chans[nc++] = ch;
            idx++;
        }
        if (l < 3) {
            snprintf(b, sizeof b, "input_blocks.%d.0.op", idx++);
            put_conv(&g, ch, ch, 3, b);
            chans[nc++] = ch;
        }
    }
    gen_res(&g, "middle_block.0", ch, ch, emb);
    gen_tr(&g, "middle_block.1", ch, ctx);
    gen_res(&g, "middle_block.2", ch, ch, emb);
    idx = 0;
    for (int l = 3; l >= 0; l--)
        for (int r = 0; r < 3; r++) {
            int64_t skip = chans[--nc];
            snprintf(b, sizeof b, "output_blocks.%d.0", idx);
            gen_res(&g, b, ch + skip, mult[l] * mc, emb);
            ch = mult[l] * mc;
            if (attn[l]) snprintf(b, sizeof b, "output_blocks.%d.1", idx), gen_tr(&g, b, ch, ctx);
            if (l > 0 && r == 2) {
                snprintf(b, sizeof b, "output_blocks.%d.%d.conv", idx, attn[l] ? 2 : 1);
                put_conv(&g, ch, ch, 3, b);
            }
            idx++;
        }
    put_norm(&g, mc, "out.0");
    put_conv(&g, 4, mc, 3, "out.2");
    if (!g.ok) {
        sdf_wstore_release(g.w);
        return NULL;
    }
    sdf_model *m = sdf_model_new(g.w, err);
    if (!m) return NULL;
    sdf_unet_config *c = &m->unet;
    c->in_channels = 4;
    c->out_channels = 4;
    c->model_channels = (int)mc;
    c->n_levels = 4;
    for (int l = 0; l < 4; l++) {
        c->channel_mult[l] = (int)mult[l];
        c->num_res_blocks[l] = 2;
    }
    c->context_dim = (int)ctx;
    c->num_heads = 8;
    c->num_head_channels = -1;
    m->arch = SDF_ARCH_SD1;
    m->latent_scale = 0.18215f;
    snprintf(m->name, sizeof m->name, "random-sd15");
    return m;
}

static void gen_vres(gen *g, const char *pre, int64_t ci, int64_t co) {
    char b[200];
    snprintf(b, sizeof b, "%s.norm1", pre), put_norm(g, ci, b);
    snprintf(b, sizeof b, "%s.conv1", pre), put_conv(g, co, ci, 3, b);
    snprintf(b, sizeof b, "%s.norm2", pre), put_norm(g, co, b);
    snprintf(b, sizeof b, "%s.conv2", pre), put_conv(g, co, co, 3, b);
    if (ci != co) snprintf(b, sizeof b, "%s.nin_shortcut", pre), put_conv(g, co, ci, 1, b);
}

static void gen_vmid(gen *g, const char *net, int64_t c) {
    char b[200];
    snprintf(b, sizeof b, "%s.mid.block_1", net), gen_vres(g, b, c, c);
    snprintf(b, sizeof b, "%s.mid.block_2", net), gen_vres(g, b, c, c);
    snprintf(b, sizeof b, "%s.mid.attn_1.norm", net), put_norm(g, c, b);
    const char *qs[4] = {"q", "k", "v", "proj_out"};
    for (int i = 0; i < 4; i++)
        snprintf(b, sizeof b, "%s.mid.attn_1.%s", net, qs[i]), put_conv(g, c, c, 1, b);
}

static sdf_vae *gen_vae(sdf_pool *pool, sdf_error *err) {
    gen g = {sdf_wstore_new(err), 777, err, true, pool};
    if (!g.w) return NULL;
    const int64_t ch = 128, mult[4] = {1, 2, 4, 4};
    char b[128];
    put_conv(&g, ch, 3, 3, "encoder.conv_in");
    int64_t c = ch;
    for (int l = 0; l < 4; l++) {
        for (int j = 0; j < 2; j++) {
            snprintf(b, sizeof b, "encoder.down.%d.block.%d", l, j);
            gen_vres(&g, b, c, ch * mult[l]);
            c = ch * mult[l];
        }
        if (l < 3) snprintf(b, sizeof b, "encoder.down.%d.downsample.conv", l), put_conv(&g, c, c, 3, b);
    }
    gen_vmid(&g, "encoder", c);
    put_norm(&g, c, "encoder.norm_out");
    put_conv(&g, 8, c, 3, "encoder.conv_out");
    put_conv(&g, 8, 8, 1, "quant_conv");
    put_conv(&g, 4, 4, 1, "post_quant_conv");
    c = ch * mult[3];
    put_conv(&g, c, 4, 3, "decoder.conv_in");
    gen_vmid(&g, "decoder", c);
    for (int l = 3; l >= 0; l--) {
        for (int j = 0; j < 3; j++) {
            snprintf(b, sizeof b, "decoder.up.%d.block.%d", l, j);
            gen_vres(&g, b, c, ch * mult[l]);
            c = ch * mult[l];
        }
        if (l > 0) snprintf(b, sizeof b, "decoder.up.%d.upsample.conv", l), put_conv(&g, c, c, 3, b);
    }
    put_norm(&g, c, "decoder.norm_out");
    put_conv(&g, 3, c, 3, "decoder.conv_out");
    if (!g.ok) {
        sdf_wstore_release(g.w);
        return NULL;
    }
    sdf_vae *v = sdf_vae_new(g.w, err);
    if (!v) return NULL;
    v->cfg = (sdf_vae_config){.ch = 128, .n_levels = 4, .ch_mult = {1, 2, 4, 4},
                              .num_res_blocks = 2, .z_channels = 4, .in_channels = 3,
                              .out_ch = 3, .downscale = 8, .scale_factor = 0.18215f};
    return v;
}

static sdf_clip *gen_clip(sdf_pool *pool, sdf_error *err) {
    gen g = {sdf_wstore_new(err), 99, err, true, pool};
    if (!g.w) return NULL;
    sdf_clip_config cfg;
    sdf_clip_config_sd1(&cfg);
    int64_t d = cfg.width;
    char b[160];
    put(&g, 0, 2, cfg.vocab, d, 0, 0, "text_model.embeddings.token_embedding.weight");
    put(&g, 0, 2, cfg.positions, d, 0, 0, "text_model.embeddings.position_embedding.weight");
    for (int l = 0; l < cfg.layers; l++) {
        const char *pj[4] = {"q_proj", "k_proj", "v_proj", "out_proj"};
        for (int i = 0; i < 4; i++)
            snprintf(b, sizeof b, "text_model.encoder.layers.%d.self_attn.%s", l, pj[i]),
                put_lin(&g, d, d, true, b);
        snprintf(b, sizeof b, "text_model.encoder.layers.%d.layer_norm1", l), put_norm(&g, d, b);
        snprintf(b, sizeof b, "text_model.encoder.layers.%d.layer_norm2", l), put_norm(&g, d, b);
        snprintf(b, sizeof b, "text_model.encoder.layers.%d.mlp.fc1", l), put_lin(&g, cfg.mlp, d, true, b);
        snprintf(b, sizeof b, "text_model.encoder.layers.%d.mlp.fc2", l), put_lin(&g, d, cfg.mlp, true, b);
    }
    put_norm(&g, d, "text_model.final_layer_norm");
    if (!g.ok) {
        sdf_wstore_release(g.w);
        return NULL;
    }
    sdf_clip *c = sdf_clip_new(g.w, err);
    if (c) c->cfg = cfg;
    return c;
}

/* ---- measurements ------------------------------------------------------------------------ */

typedef struct flops_acc {
    double conv, linear, attn;
} flops_acc;

static void count_op(void *ctx, const sdf_model_op *op) {
    flops_acc *a = ctx;
    if (op->kind == SDF_OP_CONV) a->conv += op->flops;
    else if (op->kind == SDF_OP_LINEAR) a->linear += op->flops;
    else a->attn += op->flops;
}

typedef struct time_ops {
    sdf_pool *pool;
    double    flops, seconds; /* conv + linear */
    double    attn_flops, attn_seconds;
} time_ops;

/* The op's weight as f32: borrowed, or converted into *owned (outside the timed region: the
 * per-use conversion shows in the whole-forward figure, not in the kernel breakdown). */
static const float *op_weight_f32(const sdf_model_op *op, float **owned) {
    *owned = NULL;
    if (op->w.f32 || !op->w.half) return op->w.f32;
    *owned = sdf_malloc_aligned((size_t)op->w.numel * sizeof(float));
    if (*owned) sdf_convert_to_f32(op->w.dtype, op->w.half, *owned, (size_t)op->w.numel);
    return *owned;
}

/* Runs one conv/linear/attention op on zero-ish inputs and accumulates its time. */
static void time_op(void *ctx, const sdf_model_op *op) {
    time_ops *t = ctx;
    float *w_owned = NULL;
    const float *w = op->kind == SDF_OP_ATTN ? NULL : op_weight_f32(op, &w_owned);
    if (op->kind != SDF_OP_ATTN && !w) return;
    if (op->kind == SDF_OP_CONV) {
        const sdf_conv_shape *s = &op->conv;
        int64_t nx = s->n * s->cin * s->h * s->w;
        int64_t ny = s->n * s->cout * sdf_conv_out_h(s) * sdf_conv_out_w(s);
        float *x = sdf_calloc((size_t)nx, 4), *y = sdf_malloc_aligned((size_t)ny * 4);
        if (!x || !y) goto out1;
        for (int64_t i = 0; i < nx; i++) x[i] = (float)(i % 17) * 0.05f - 0.4f;
        double t0 = now_s();
        sdf_k_conv2d(t->pool, y, x, w, op->b, s);
        t->seconds += now_s() - t0;
        t->flops += op->flops;
    out1:
        sdf_free(x);
        sdf_free(y);
    } else if (op->kind == SDF_OP_LINEAR) {
        float *x = sdf_calloc((size_t)(op->rows * op->in), 4);
        float *y = sdf_malloc_aligned((size_t)(op->rows * op->out) * 4);
        if (x && y) {
            for (int64_t i = 0; i < op->rows * op->in; i++) x[i] = (float)(i % 13) * 0.05f - 0.3f;
            double t0 = now_s();
            sdf_k_linear(t->pool, y, x, w, op->b, op->rows, op->in, op->out);
            t->seconds += now_s() - t0;
            t->flops += op->flops;
        }
        sdf_free(x);
        sdf_free(y);
    } else {
        const sdf_attn_shape *s = &op->attn;
        int64_t nq = s->batch * s->nq * s->ldq, nk = s->batch * s->nk * s->ldk;
        float *q = sdf_calloc((size_t)nq, 4), *k = sdf_calloc((size_t)nk, 4);
        float *v = sdf_calloc((size_t)nk, 4), *o = sdf_malloc_aligned((size_t)nq * 4);
        if (q && k && v && o) {
            for (int64_t i = 0; i < nq; i++) q[i] = (float)(i % 11) * 0.1f - 0.5f;
            for (int64_t i = 0; i < nk; i++) k[i] = v[i] = (float)(i % 7) * 0.1f - 0.3f;
            double t0 = now_s();
            sdf_k_attention(t->pool, o, q, k, v, s);
            t->attn_seconds += now_s() - t0;
            t->attn_flops += op->flops;
        }
        sdf_free(q);
        sdf_free(k);
        sdf_free(v);
        sdf_free(o);
    }
    sdf_free(w_owned);
}

static double sgemm_gflops(sdf_pool *pool, int threads, bool openblas_threads, int64_t m,
                           int64_t n, int64_t k) {
    float *a = sdf_malloc_aligned((size_t)(m * k) * 4), *b = sdf_malloc_aligned((size_t)(k * n) * 4);
    float *c = sdf_malloc_aligned((size_t)(m * n) * 4);
    double best = 0;
    if (a && b && c) {
        for (int64_t i = 0; i < m * k; i++) a[i] = (float)(i % 7) * 0.01f;
        for (int64_t i = 0; i < k * n; i++) b[i] = (float)(i % 5) * 0.01f;
        if (openblas_threads) openblas_set_num_threads(threads);
        for (int rep = 0; rep < 4; rep++) {
            double t0 = now_s();
            if (openblas_threads)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)m, (blasint)n,
                            (blasint)k, 1.0f, a, (blasint)k, b, (blasint)n, 0.0f, c, (blasint)n);
            else
                sdf_k_sgemm(pool, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
            double g = 2.0 * (double)m * (double)n * (double)k / (now_s() - t0) / 1e9;
            if (rep > 0 && g > best) best = g;
        }
        if (openblas_threads) openblas_set_num_threads(1);
    }
    sdf_free(a);
    sdf_free(b);
    sdf_free(c);
    return best;
}

typedef struct unet_row {
    int    lat;
    double seconds, gflop, gflops, ratio, rss_mb;
} unet_row;

int sdf_cmd_bench(int argc, char **argv) {
    const char *model_path = NULL;
    int threads = sdf_cpu_count();
    bool json = false;
    int lats[8] = {32, 64, 96}, n_lats = 3, vae_lat = 64;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model_path = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--vae") && i + 1 < argc) vae_lat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--latents") && i + 1 < argc) {
            n_lats = 0;
            for (char *s = argv[++i]; *s && n_lats < 8;) {
                lats[n_lats++] = (int)strtol(s, &s, 10);
                if (*s == ',') s++;
                else break;
            }
        } else {
            fprintf(stderr,
                    "usage: sdflow bench [--model FILE] [--threads N] [--json] [--latents 32,64,96] [--vae 64]\n");
            return 2;
        }
    }
    if (threads < 1) threads = 1;
    if (vae_lat < 1 || n_lats < 1) {
        fprintf(stderr, "sdflow bench: bad --vae / --latents\n");
        return 2;
    }
    int op_lat = lats[0]; /* per-op timing: 64x64 when measured, else the first size */
    for (int i = 0; i < n_lats; i++)
        if (lats[i] == 64) op_lat = 64;
    sdf_blas_setup();
    sdf_k_ftz();
    sdf_error err;
    sdf_error_clear(&err);
    sdf_pool *pool = NULL;
    if (sdf_pool_new(threads, &pool, &err) != SDF_OK) {
        fprintf(stderr, "sdflow bench: %s\n", err.msg);
        return 1;
    }
    FILE *out = json ? stderr : stdout;
    fprintf(out, "sdflow bench: %d thread(s), OpenBLAS core %s%s\n", threads, sdf_blas_corename(),
            getenv("OPENBLAS_CORETYPE") ? " (OPENBLAS_CORETYPE set)" : "");
    {
        char msg[256];
        if (sdf_blas_fix_coretype(0, NULL, msg, sizeof msg) != SDF_BLAS_OK)
            fprintf(stderr, "%s\n", msg);
    }

    /* 1. the ceiling */
    double ceil_g = sgemm_gflops(pool, threads, true, 2048, 2048, 2048);
    double pool_g = sgemm_gflops(pool, threads, false, 2048, 2048, 2048);
    double unet_shape_g = sgemm_gflops(pool, threads, false, 4096, 320, 2880);
    fprintf(out, "sgemm 2048^3: OpenBLAS %d threads %.1f GFLOP/s; split on the pool %.1f; "
                 "4096x320x2880 on the pool %.1f\n",
            threads, ceil_g, pool_g, unet_shape_g);

    /* 2. models */
    sdf_model *model = NULL;
    sdf_vae *vae = NULL;
    sdf_clip *clip = NULL;
    double t0 = now_s();
    if (model_path) {
        sdf_checkpoint_opts o = {.fp32_text_encoder = true};
        if (sdf_checkpoint_load(model_path, &o, &model, &clip, &vae, &err) != SDF_OK) {
            fprintf(stderr, "sdflow bench: %s: %s\n", model_path, err.msg);
            sdf_pool_free(pool);
            return 1;
        }
    } else {
        model = gen_unet(pool, &err);
        vae = model ? gen_vae(pool, &err) : NULL;
        clip = vae ? gen_clip(pool, &err) : NULL;
        if (!clip) {
            fprintf(stderr, "sdflow bench: building random weights: %s\n", err.msg);
            sdf_model_release(model);
            sdf_vae_release(vae);
            sdf_pool_free(pool);
            return 1;
        }
    }
    fprintf(out, "weights: %s (%.1f s)\n", model_path ? model_path : "random SD1.5-shaped, in memory",
            now_s() - t0);

    /* 3. UNet forward, batch 2 */
    unet_row rows[8];
    int n_rows = 0;
    int status = 0;
    for (int li = 0; li < n_lats; li++) {
        int L = lats[li];
        flops_acc fa = {0};
        if (sdf_unet_walk(model, 2, L, L, 77, count_op, &fa, &err) != SDF_OK) {
            fprintf(stderr, "sdflow bench: %s\n", err.msg);
            status = 1;
            break;
        }
        /* the model's own channel counts: 9-channel inpainting UNets, SD2's 1024-wide context,
         * the demo model's 64 */
        sdf_tensor *x = sdf_tensor_f32(&err, 4, 2, (int64_t)model->unet.in_channels, L, L);
        sdf_tensor *ctx = sdf_tensor_f32(&err, 3, 2, 77, (int64_t)model->unet.context_dim);
        if (!x || !ctx) {
            status = 1;
            break;
        }
        for (int64_t i = 0; i < sdf_tensor_numel(x); i++) sdf_tensor_f32p(x)[i] = sinf((float)i);
        for (int64_t i = 0; i < sdf_tensor_numel(ctx); i++) sdf_tensor_f32p(ctx)[i] = cosf((float)i) * 0.5f;
        float ts[2] = {500.0f, 500.0f};
        sdf_tensor *eps = NULL;
        if (li == 0) { /* warm-up: prepares the layers, faults the weights in */
            sdf_unet_forward(model, x, ts, ctx, pool, &eps, &err);
            sdf_tensor_release(eps);
            eps = NULL;
        }
        rss_reset();
        double s0 = now_s();
        sdf_status st = sdf_unet_forward(model, x, ts, ctx, pool, &eps, &err);
        double sec = now_s() - s0;
        sdf_tensor_release(eps);
        sdf_tensor_release(x);
        sdf_tensor_release(ctx);
        if (st != SDF_OK) {
            fprintf(stderr, "sdflow bench: UNet: %s\n", err.msg);
            status = 1;
            break;
        }
        double gf = (fa.conv + fa.linear + fa.attn) / 1e9;
        unet_row r = {L, sec, gf, gf / sec, gf / sec / ceil_g, rss_peak_mb()};
        rows[n_rows++] = r;
        fprintf(out,
                "unet %dx%d batch 2: %.2f s, %.0f GFLOP (conv %.0f%%, linear %.0f%%, attention "
                "%.0f%%), %.1f GFLOP/s = %.2f of sgemm, peak RSS %.0f MB\n",
                L, L, sec, gf, 100 * fa.conv / 1e9 / gf, 100 * fa.linear / 1e9 / gf,
                100 * fa.attn / 1e9 / gf, r.gflops, r.ratio, r.rss_mb);
    }
    /* 4. the UNet's convs + linears alone (each op timed on its own) */
    time_ops to = {.pool = pool};
    if (!status) sdf_unet_walk(model, 2, op_lat, op_lat, 77, time_op, &to, &err);
    double cl_g = to.seconds > 0 ? to.flops / to.seconds / 1e9 : 0;
    double at_g = to.attn_seconds > 0 ? to.attn_flops / to.attn_seconds / 1e9 : 0;
    if (!status)
        fprintf(out,
                "unet %dx%d convs+linears: %.0f GFLOP in %.2f s = %.1f GFLOP/s = %.2f of sgemm; "
                "attention %.0f GFLOP in %.2f s = %.1f GFLOP/s\n",
                op_lat, op_lat, to.flops / 1e9, to.seconds, cl_g, cl_g / ceil_g, to.attn_flops / 1e9,
                to.attn_seconds, at_g);

    /* 5. VAE decode 64x64 -> 512x512, encode 512x512 */
    int64_t vds = vae && vae->cfg.downscale > 0 ? vae->cfg.downscale : 8;
    double dec_s = 0, enc_s = 0, dec_rss = 0, enc_rss = 0, dec_gf = 0, enc_gf = 0;
    if (!status && vae) {
        flops_acc fd = {0}, fe = {0};
        int64_t ds = vds;
        sdf_vae_walk(vae, false, vae_lat, vae_lat, count_op, &fd, &err);
        sdf_vae_walk(vae, true, vae_lat * ds, vae_lat * ds, count_op, &fe, &err);
        dec_gf = (fd.conv + fd.linear + fd.attn) / 1e9;
        enc_gf = (fe.conv + fe.linear + fe.attn) / 1e9;
        sdf_tensor *z = sdf_tensor_f32(&err, 4, 1, 4, vae_lat, vae_lat), *img = NULL, *lat = NULL;
        for (int64_t i = 0; z && i < sdf_tensor_numel(z); i++) sdf_tensor_f32p(z)[i] = sinf((float)i * 0.3f);
        rss_reset();
        double s0 = now_s();
        if (z && sdf_vae_decode(vae, z, pool, &img, &err) == SDF_OK) {
            dec_s = now_s() - s0;
            dec_rss = rss_peak_mb();
            rss_reset();
            s0 = now_s();
            if (sdf_vae_encode(vae, img, pool, &lat, &err) == SDF_OK) {
                enc_s = now_s() - s0;
                enc_rss = rss_peak_mb();
            }
        }
        if (!dec_s || !enc_s) fprintf(stderr, "sdflow bench: VAE: %s\n", err.msg), status = 1;
        else
            fprintf(out,
                    "vae decode %dx%d -> %lldx%lld: %.2f s, %.0f GFLOP, %.1f GFLOP/s, peak RSS %.0f MB\n"
                    "vae encode %lldx%lld: %.2f s, %.0f GFLOP, %.1f GFLOP/s, peak RSS %.0f MB\n",
                    vae_lat, vae_lat, (long long)(vae_lat * ds), (long long)(vae_lat * ds), dec_s, dec_gf, dec_gf / dec_s, dec_rss, (long long)(vae_lat * ds), (long long)(vae_lat * ds), enc_s, enc_gf, enc_gf / enc_s, enc_rss);
        sdf_tensor_release(z);
        sdf_tensor_release(img);
        sdf_tensor_release(lat);
    }
    /* 6. CLIP encode of one 77-token sequence */
    double clip_s = 0, clip_rss = 0;
    if (!status && clip) {
        int32_t ids[77];
        const int bos = clip->cfg.vocab - 2, eos = clip->cfg.vocab - 1; /* CLIP's layout */
        for (int i = 0; i < 77; i++) ids[i] = i == 0 ? bos : i < 12 ? (320 + i * 37) % bos : eos;
        float *hid = sdf_malloc((size_t)(77 * clip->cfg.width) * 4);
        float *pooled = sdf_malloc((size_t)clip->cfg.width * 4);
        openblas_set_num_threads(threads); /* the CLIP encoder threads inside OpenBLAS */
        sdf_clip_forward_ids(clip, ids, 1, 0, hid, pooled, &err); /* warm-up (prepares) */
        rss_reset();
        double s0 = now_s();
        if (hid && pooled && sdf_clip_forward_ids(clip, ids, 1, 0, hid, pooled, &err) == SDF_OK) {
            clip_s = now_s() - s0;
            clip_rss = rss_peak_mb();
            fprintf(out, "clip encode 77 tokens: %.3f s, peak RSS %.0f MB\n", clip_s, clip_rss);
        } else {
            fprintf(stderr, "sdflow bench: CLIP: %s\n", err.msg);
        }
        openblas_set_num_threads(1);
        sdf_free(hid);
        sdf_free(pooled);
    }
    if (json) {
        printf("{\"threads\": %d, \"gemm_kernel\": \"%s\", \"sgemm_gflops\": %.2f, "
               "\"sgemm_pool_gflops\": %.2f, \"unet\": [",
               threads, sdf_blas_corename(), ceil_g, pool_g);
        for (int i = 0; i < n_rows; i++)
            printf("%s{\"latent\": \"%dx%d\", \"batch\": 2, \"seconds\": %.3f, \"gflop\": %.1f, "
                   "\"gflops\": %.2f, \"ratio_to_sgemm\": %.3f, \"peak_rss_mb\": %.0f}",
                   i ? ", " : "", rows[i].lat, rows[i].lat, rows[i].seconds, rows[i].gflop,
                   rows[i].gflops, rows[i].ratio, rows[i].rss_mb);
        printf("], \"unet_conv_linear\": {\"latent\": \"%dx%d\", \"gflops\": %.2f, "
               "\"ratio_to_sgemm\": %.3f}, \"attention_gflops\": %.2f, ",
               op_lat, op_lat, cl_g, ceil_g > 0 ? cl_g / ceil_g : 0, at_g);
        printf("\"vae_decode\": {\"latent\": \"%dx%d\", \"seconds\": %.3f, \"gflop\": %.1f, "
               "\"peak_rss_mb\": %.0f}, ",
               vae_lat, vae_lat, dec_s, dec_gf, dec_rss);
        printf("\"vae_encode\": {\"image\": \"%dx%d\", \"seconds\": %.3f, \"gflop\": %.1f, "
               "\"peak_rss_mb\": %.0f}, ",
               (int)(vae_lat * vds), (int)(vae_lat * vds), enc_s, enc_gf, enc_rss);
        printf("\"clip\": {\"tokens\": 77, \"seconds\": %.4f, \"peak_rss_mb\": %.0f}, ", clip_s,
               clip_rss);
        printf("\"peak_rss_mb\": {");
        for (int i = 0; i < n_rows; i++)
            printf("\"unet_%dx%d\": %.0f, ", rows[i].lat, rows[i].lat, rows[i].rss_mb);
        printf("\"vae_decode\": %.0f, \"vae_encode\": %.0f, \"clip\": %.0f}}\n", dec_rss, enc_rss,
               clip_rss);
    }
    sdf_model_release(model);
    sdf_vae_release(vae);
    sdf_clip_release(clip);
    sdf_pool_free(pool);
    return status;
}
