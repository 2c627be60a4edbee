/* test_lora.c: LoRA application against the reference merged weights, every format built in the
 * test from known factors (LoCon with Tucker mid, LoHa, LoKr, diffusers/PEFT, diff, DoRA, CLIP
 * kohya and diffusers keys), strength 0, stacking, copy-on-write (base bytes unchanged), wrong
 * architecture errors, and model merging. */
#include <stdint.h>
#include <unistd.h>

#include "../core/base/alloc.h"
#include "../core/base/sha256.h"
#include "../core/base/threadpool.h"
#include "../core/models/checkpoint.h"
#include "../core/models/clip.h"
#include "../core/models/unet.h"
#include "../core/models/lora.h"
#include "../core/models/make_model.h"
#include "testing.h"

static sdf_model *g_model;
static sdf_clip *g_clip, *g_clip16;

static bool load_tiny(void) {
    if (g_model) return true;
    if (!test_shared_dir()) return false;
    sdf_error err;
    sdf_checkpoint_opts o = {.fp32_text_encoder = true};
    if (sdf_checkpoint_load(test_ref_path("tiny-sd1.safetensors"), &o, &g_model, &g_clip, NULL,
                            &err) != SDF_OK)
        return false;
    o.fp32_text_encoder = false;
    return sdf_checkpoint_load(test_ref_path("tiny-sd1.safetensors"), &o, NULL, &g_clip16, NULL,
                               &err) == SDF_OK;
}

static void hash_weight(sdf_wstore *w, const char *name, char hex[65]) {
    sdf_error err;
    sdf_tensor *t = sdf_wstore_get(w, name, &err);
    uint8_t d[32];
    sdf_sha256_buf(t->data, t->nbytes, d);
    sdf_sha256_hex(d, hex);
    sdf_tensor_release(t);
}

/* ---- the reference LoRA ---- */

static void test_reference_merge(void) {
    NEED_REFERENCE();
    REQUIRE(load_tiny());
    sdf_error err;
    sdf_lora *l = NULL;
    REQUIRE(sdf_lora_open(test_ref_path("tiny-sd1-lora.safetensors"), &l, &err) == SDF_OK);
    char before[65], after[65];
    hash_weight(g_model->weights, "input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight", before);
    sdf_pool *pool = NULL;
    REQUIRE(sdf_pool_new(3, &pool, &err) == SDF_OK); /* the per-weight work runs concurrently */
    sdf_lora_opts o = {.strength_model = 0.8, .strength_clip = 0.5, .fp32_text_encoder = true,
                       .pool = pool};
    sdf_model *m = NULL;
    sdf_clip *c = NULL;
    sdf_lora_report rep;
    REQUIRE(sdf_lora_apply(l, g_model, g_clip, &o, &m, &c, &rep, &err) == SDF_OK);
    sdf_pool_free(pool);
    o.pool = NULL;
    CHECKF(rep.n_unmatched == 0, "%d unmatched, first %s", rep.n_unmatched, rep.unmatched[0]);
    CHECK(rep.n_skipped == 0);
    CHECK(rep.patched_clip == 3 * 6);
    CHECK(rep.patched_unet > 100);
    sdf_st_file *g = NULL;
    REQUIRE(sdf_st_open(test_ref_path("golden/lora_merged_weights.safetensors"), &g, &err) == SDF_OK);
    int checked = 0;
    for (size_t i = 0; i < sdf_st_count(g); i++) {
        const char *k = sdf_st_entry_at(g, i)->name;
        sdf_wstore *w = NULL;
        const char *name = NULL;
        if (!strncmp(k, "model.diffusion_model.", 22)) { w = m->weights; name = k + 22; }
        else if (!strncmp(k, "cond_stage_model.transformer.", 29)) { w = c->weights; name = k + 29; }
        CHECKF(w != NULL, "unexpected golden key %s", k);
        if (!w) continue;
        sdf_tensor *ref = sdf_st_tensor_f32(g, k, &err);
        sdf_tensor *got = sdf_wstore_get_f32(w, name, &err);
        CHECKF(got != NULL, "%s missing", name);
        if (ref && got && ref->nbytes == got->nbytes) {
            double mx = 0, md = 0;
            for (int64_t j = 0; j < sdf_tensor_numel(ref); j++) {
                double r = sdf_tensor_f32p(ref)[j], v = sdf_tensor_f32p(got)[j];
                if (fabs(r) > mx) mx = fabs(r);
                if (fabs(r - v) > md) md = fabs(r - v);
            }
            CHECKF(md <= 1e-6 * mx, "%s: max diff %g (max|W| %g)", k, md, mx);
            checked++;
        }
        sdf_tensor_release(ref);
        sdf_tensor_release(got);
    }
    CHECK(checked == (int)sdf_st_count(g));
    sdf_st_close(g);
    /* copy-on-write: base bytes unchanged, unpatched weights shared */
    hash_weight(g_model->weights, "input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight", after);
    CHECK_STR(before, after);
    CHECK(!sdf_wstore_same_slot(g_model->weights, m->weights,
                                "input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight"));
    CHECK(sdf_wstore_same_slot(g_model->weights, m->weights, "out.2.weight"));
    CHECK(sdf_wstore_same_slot(g_clip->weights, c->weights,
                               "text_model.embeddings.token_embedding.weight"));

    /* strength 0 on both sides: the inputs themselves */
    sdf_lora_opts z = {.strength_model = 0, .strength_clip = 0};
    sdf_model *m0 = NULL;
    sdf_clip *c0 = NULL;
    REQUIRE(sdf_lora_apply(l, g_model, g_clip, &z, &m0, &c0, NULL, &err) == SDF_OK);
    CHECK(m0 == g_model && c0 == g_clip);
    sdf_model_release(m0);
    sdf_clip_release(c0);

    /* two loaders in sequence = summed deltas (0.8 + (-0.3) = 0.5) */
    sdf_lora_opts o2 = {.strength_model = -0.3, .strength_clip = 0.25, .fp32_text_encoder = true};
    sdf_model *m2 = NULL;
    sdf_clip *c2 = NULL;
    REQUIRE(sdf_lora_apply(l, m, c, &o2, &m2, &c2, NULL, &err) == SDF_OK);
    sdf_lora_opts o3 = {.strength_model = 0.5, .strength_clip = 0.75, .fp32_text_encoder = true};
    sdf_model *m3 = NULL;
    sdf_clip *c3 = NULL;
    REQUIRE(sdf_lora_apply(l, g_model, g_clip, &o3, &m3, &c3, NULL, &err) == SDF_OK);
    const char *names[] = {"input_blocks.1.1.proj_in.weight", "middle_block.0.in_layers.2.weight",
                           "output_blocks.5.1.transformer_blocks.0.ff.net.2.weight"};
    for (int i = 0; i < 3; i++) {
        sdf_tensor *a = sdf_wstore_get_f32(m2->weights, names[i], &err);
        sdf_tensor *b = sdf_wstore_get_f32(m3->weights, names[i], &err);
        sdf_tensor *base = sdf_wstore_get_f32(g_model->weights, names[i], &err);
        REQUIRE(a && b && base);
        double mx = 0, md = 0, moved = 0;
        for (int64_t j = 0; j < sdf_tensor_numel(a); j++) {
            mx = fmax(mx, fabs(sdf_tensor_f32p(b)[j]));
            md = fmax(md, fabs(sdf_tensor_f32p(a)[j] - sdf_tensor_f32p(b)[j]));
            moved = fmax(moved, fabs(sdf_tensor_f32p(b)[j] - sdf_tensor_f32p(base)[j]));
        }
        CHECKF(md <= 2e-6 * mx, "%s: %g", names[i], md);
        CHECKF(moved > 1e-4, "%s did not change", names[i]);
        sdf_tensor_release(a);
        sdf_tensor_release(b);
        sdf_tensor_release(base);
    }
    sdf_model_release(m2); sdf_clip_release(c2); sdf_model_release(m3); sdf_clip_release(c3);
    sdf_model_release(m);
    sdf_clip_release(c);
    sdf_lora_free(l);
}

/* ---- formats from known factors ---- */

static uint64_t rng_state = 12345;
static float frand(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng_state >> 40) / (double)(1ull << 24) - 0.5);
}

static sdf_tensor *rnd(sdf_st_writer *w, const char *name, int nd, int64_t a, int64_t b, int64_t c, int64_t d) {
    sdf_error err;
    int64_t sh[4] = {a, b, c, d};
    sdf_tensor *t = sdf_tensor_new(SDF_DTYPE_F32, nd, sh, &err);
    for (int64_t i = 0; i < sdf_tensor_numel(t); i++) sdf_tensor_f32p(t)[i] = frand();
    if (w) sdf_st_writer_add(w, name, t, &err);
    return t;
}

static sdf_tensor *scalar(sdf_st_writer *w, const char *name, float v) {
    sdf_error err;
    sdf_tensor *t = sdf_tensor_new(SDF_DTYPE_F32, 0, NULL, &err);
    sdf_tensor_f32p(t)[0] = v;
    sdf_st_writer_add(w, name, t, &err);
    return t;
}

/* expected[i] for W + s*scale*dW with dW given in double */
static void check_patched(sdf_wstore *patched, sdf_wstore *base, const char *name,
                          const double *dw, double s_scale, bool f16) {
    sdf_error err;
    sdf_tensor *P = sdf_wstore_get_f32(patched, name, &err);
    sdf_tensor *B = sdf_wstore_get_f32(base, name, &err);
    REQUIRE(P && B);
    double mx = 0, md = 0;
    for (int64_t i = 0; i < sdf_tensor_numel(B); i++) {
        double e = sdf_tensor_f32p(B)[i] + s_scale * dw[i];
        if (f16) e = sdf_f16_to_f32(sdf_f32_to_f16((float)e));
        mx = fmax(mx, fabs(e));
        md = fmax(md, fabs(e - sdf_tensor_f32p(P)[i]));
    }
    double tol = f16 ? 1e-3 * mx : 1e-6 * mx;
    CHECKF(md <= tol, "%s: max diff %g (max %g)", name, md, mx);
    CHECKF(!sdf_wstore_same_slot(patched, base, name), "%s not patched", name);
    sdf_tensor_release(P);
    sdf_tensor_release(B);
}

static void test_formats(void) {
    NEED_REFERENCE();
    REQUIRE(load_tiny());
    sdf_error err;
    sdf_st_writer *w = sdf_st_writer_new();
    sdf_tensor *keep[64];
    int nk = 0;
    const char *TB = "input_blocks.1.1.transformer_blocks.0.";
    char k[256];
    /* 1. LoCon 3x3 with Tucker mid on input_blocks.1.0.in_layers.2 [32,32,3,3], alpha 1 */
    sdf_tensor *up = keep[nk++] = rnd(w, "lora_unet_input_blocks_1_0_in_layers_2.lora_up.weight", 4, 32, 2, 1, 1);
    sdf_tensor *dn = keep[nk++] = rnd(w, "lora_unet_input_blocks_1_0_in_layers_2.lora_down.weight", 4, 2, 32, 1, 1);
    sdf_tensor *mid = keep[nk++] = rnd(w, "lora_unet_input_blocks_1_0_in_layers_2.lora_mid.weight", 4, 2, 2, 3, 3);
    keep[nk++] = scalar(w, "lora_unet_input_blocks_1_0_in_layers_2.alpha", 1.0f);
    /* 2. LoHa on attn1.to_q [32,32], alpha 1, rank 2 */
    snprintf(k, sizeof k, "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q");
    char kk[300];
    snprintf(kk, sizeof kk, "%s.hada_w1_a", k); sdf_tensor *h1a = keep[nk++] = rnd(w, kk, 2, 32, 2, 0, 0);
    snprintf(kk, sizeof kk, "%s.hada_w1_b", k); sdf_tensor *h1b = keep[nk++] = rnd(w, kk, 2, 2, 32, 0, 0);
    snprintf(kk, sizeof kk, "%s.hada_w2_a", k); sdf_tensor *h2a = keep[nk++] = rnd(w, kk, 2, 32, 2, 0, 0);
    snprintf(kk, sizeof kk, "%s.hada_w2_b", k); sdf_tensor *h2b = keep[nk++] = rnd(w, kk, 2, 2, 32, 0, 0);
    snprintf(kk, sizeof kk, "%s.alpha", k); keep[nk++] = scalar(w, kk, 1.0f);
    /* 3. LoKr on attn1.to_k [32,32]: w1 [4,4] full, w2 = w2_a [8,2] @ w2_b [2,8], alpha 4 -> 4/2 */
    snprintf(k, sizeof k, "lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_k");
    snprintf(kk, sizeof kk, "%s.lokr_w1", k); sdf_tensor *kw1 = keep[nk++] = rnd(w, kk, 2, 4, 4, 0, 0);
    snprintf(kk, sizeof kk, "%s.lokr_w2_a", k); sdf_tensor *kw2a = keep[nk++] = rnd(w, kk, 2, 8, 2, 0, 0);
    snprintf(kk, sizeof kk, "%s.lokr_w2_b", k); sdf_tensor *kw2b = keep[nk++] = rnd(w, kk, 2, 2, 8, 0, 0);
    snprintf(kk, sizeof kk, "%s.alpha", k); keep[nk++] = scalar(w, kk, 4.0f);
    /* 4. PEFT diffusers on ff.net.2 [32,128], no alpha */
    sdf_tensor *pa = keep[nk++] = rnd(w, "unet.down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2.lora_A.weight", 2, 3, 128, 0, 0);
    sdf_tensor *pb = keep[nk++] = rnd(w, "unet.down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2.lora_B.weight", 2, 32, 3, 0, 0);
    /* 5. full diff on out.2.weight [4,32,3,3] */
    sdf_tensor *df = keep[nk++] = rnd(w, "diffusion_model.out.2.diff", 4, 4, 32, 3, 3);
    /* 6. DoRA on attn2.to_v [32,64]: rank 2, alpha 1, dora_scale [32,1] */
    snprintf(k, sizeof k, "lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_v");
    snprintf(kk, sizeof kk, "%s.lora_up.weight", k); sdf_tensor *du = keep[nk++] = rnd(w, kk, 2, 32, 2, 0, 0);
    snprintf(kk, sizeof kk, "%s.lora_down.weight", k); sdf_tensor *dd = keep[nk++] = rnd(w, kk, 2, 2, 64, 0, 0);
    snprintf(kk, sizeof kk, "%s.alpha", k); keep[nk++] = scalar(w, kk, 1.0f);
    snprintf(kk, sizeof kk, "%s.dora_scale", k); sdf_tensor *ds = keep[nk++] = rnd(w, kk, 2, 32, 1, 0, 0);
    for (int i = 0; i < 32; i++) sdf_tensor_f32p(ds)[i] = 1.0f + sdf_tensor_f32p(ds)[i];
    /* 7. CLIP kohya on layer 0 fc1 [256,64] with alpha 2, rank 4 */
    sdf_tensor *cu = keep[nk++] = rnd(w, "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", 2, 256, 4, 0, 0);
    sdf_tensor *cd = keep[nk++] = rnd(w, "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", 2, 4, 64, 0, 0);
    keep[nk++] = scalar(w, "lora_te_text_model_encoder_layers_0_mlp_fc1.alpha", 2.0f);
    /* 8. CLIP diffusers key on layer 1 q_proj [64,64] */
    sdf_tensor *qa = keep[nk++] = rnd(w, "text_encoder.text_model.encoder.layers.1.self_attn.q_proj.lora_A.weight", 2, 2, 64, 0, 0);
    sdf_tensor *qb = keep[nk++] = rnd(w, "text_encoder.text_model.encoder.layers.1.self_attn.q_proj.lora_B.weight", 2, 64, 2, 0, 0);
    /* 9. an unknown key and 10. a shape mismatch */
    keep[nk++] = rnd(w, "lora_unet_nonexistent_block.lora_up.weight", 2, 4, 2, 0, 0);
    keep[nk++] = rnd(w, "lora_unet_input_blocks_1_1_proj_out.lora_up.weight", 4, 48, 2, 1, 1);
    keep[nk++] = rnd(w, "lora_unet_input_blocks_1_1_proj_out.lora_down.weight", 4, 2, 32, 1, 1);
    char path[256];
    snprintf(path, sizeof path, "/tmp/sdf_test_lora_%d.safetensors", (int)getpid());
    REQUIRE(sdf_st_writer_save(w, path, &err) == SDF_OK);
    sdf_st_writer_free(w);

    sdf_lora *l = NULL;
    REQUIRE(sdf_lora_open(path, &l, &err) == SDF_OK);
    double s = 0.7, scl = 0.4;
    sdf_lora_opts o = {.strength_model = s, .strength_clip = scl};
    sdf_model *m = NULL;
    sdf_clip *c = NULL;
    sdf_lora_report rep;
    REQUIRE(sdf_lora_apply(l, g_model, g_clip16, &o, &m, &c, &rep, &err) == SDF_OK);
    CHECK(rep.n_unmatched == 1);
    CHECK_STR(rep.unmatched[0], "lora_unet_nonexistent_block.lora_up.weight");
    CHECK(rep.n_skipped == 1);
    CHECKF(strstr(rep.skipped[0], "lora_unet_input_blocks_1_1_proj_out") != NULL, "%s", rep.skipped[0]);
    CHECK(rep.patched_unet == 6 && rep.patched_clip == 2);

    double *dw = calloc(32 * 128 * 9, sizeof *dw);
    float *U = sdf_tensor_f32p(up), *D = sdf_tensor_f32p(dn), *M = sdf_tensor_f32p(mid);
    /* 1: dW[o,i,a,b] = sum_j up[o,j] * sum_m down[m,i] * mid[m,j,a,b]; scale alpha/rank(down)=1/2 */
    for (int o = 0; o < 32; o++)
        for (int i = 0; i < 32; i++)
            for (int q = 0; q < 9; q++) {
                double acc = 0;
                for (int j = 0; j < 2; j++)
                    for (int mm = 0; mm < 2; mm++) acc += U[o * 2 + j] * D[mm * 32 + i] * M[(mm * 2 + j) * 9 + q];
                dw[(o * 32 + i) * 9 + q] = acc;
            }
    check_patched(m->weights, g_model->weights, "input_blocks.1.0.in_layers.2.weight", dw, s * 0.5, false);
    /* 2: LoHa */
    for (int o = 0; o < 32; o++)
        for (int i = 0; i < 32; i++) {
            double a = 0, b = 0;
            for (int r = 0; r < 2; r++) {
                a += sdf_tensor_f32p(h1a)[o * 2 + r] * sdf_tensor_f32p(h1b)[r * 32 + i];
                b += sdf_tensor_f32p(h2a)[o * 2 + r] * sdf_tensor_f32p(h2b)[r * 32 + i];
            }
            dw[o * 32 + i] = a * b;
        }
    snprintf(k, sizeof k, "%sattn1.to_q.weight", TB);
    check_patched(m->weights, g_model->weights, k, dw, s * 0.5, false);
    /* 3: LoKr: kron(w1 [4,4], w2 [8,8]) */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            for (int p = 0; p < 8; p++)
                for (int q = 0; q < 8; q++) {
                    double w2 = 0;
                    for (int r = 0; r < 2; r++) w2 += sdf_tensor_f32p(kw2a)[p * 2 + r] * sdf_tensor_f32p(kw2b)[r * 8 + q];
                    dw[(i * 8 + p) * 32 + j * 8 + q] = sdf_tensor_f32p(kw1)[i * 4 + j] * w2;
                }
    snprintf(k, sizeof k, "%sattn1.to_k.weight", TB);
    check_patched(m->weights, g_model->weights, k, dw, s * 2.0, false);
    /* 4: PEFT */
    for (int o = 0; o < 32; o++)
        for (int i = 0; i < 128; i++) {
            double a = 0;
            for (int r = 0; r < 3; r++) a += sdf_tensor_f32p(pb)[o * 3 + r] * sdf_tensor_f32p(pa)[r * 128 + i];
            dw[o * 128 + i] = a;
        }
    snprintf(k, sizeof k, "%sff.net.2.weight", TB);
    check_patched(m->weights, g_model->weights, k, dw, s, false);
    /* 5: diff */
    for (int i = 0; i < 4 * 32 * 9; i++) dw[i] = sdf_tensor_f32p(df)[i];
    check_patched(m->weights, g_model->weights, "out.2.weight", dw, s, false);
    /* 6: DoRA: Wc = W + 0.5*dW; Wc *= dora/||W_row||; W' = W + s*(Wc - W) */
    {
        snprintf(k, sizeof k, "%sattn2.to_v.weight", TB);
        sdf_tensor *B = sdf_wstore_get_f32(g_model->weights, k, &err);
        sdf_tensor *P = sdf_wstore_get_f32(m->weights, k, &err);
        REQUIRE(B && P);
        double md = 0, mx = 0;
        for (int o = 0; o < 32; o++) {
            double nrm = 0;
            for (int i = 0; i < 64; i++) nrm += (double)sdf_tensor_f32p(B)[o * 64 + i] * sdf_tensor_f32p(B)[o * 64 + i];
            nrm = sqrt(nrm) + 1.1920929e-07;
            for (int i = 0; i < 64; i++) {
                double d = 0;
                for (int r = 0; r < 2; r++) d += sdf_tensor_f32p(du)[o * 2 + r] * sdf_tensor_f32p(dd)[r * 64 + i];
                double W0 = sdf_tensor_f32p(B)[o * 64 + i];
                double Wc = (W0 + 0.5 * d) * sdf_tensor_f32p(ds)[o] / nrm;
                double e = W0 + s * (Wc - W0);
                mx = fmax(mx, fabs(e));
                md = fmax(md, fabs(e - sdf_tensor_f32p(P)[o * 64 + i]));
            }
        }
        CHECKF(md <= 2e-6 * mx, "DoRA diff %g", md);
        sdf_tensor_release(B);
        sdf_tensor_release(P);
    }
    /* 7: CLIP kohya, stored f16 (default) */
    for (int o = 0; o < 256; o++)
        for (int i = 0; i < 64; i++) {
            double a = 0;
            for (int r = 0; r < 4; r++) a += sdf_tensor_f32p(cu)[o * 4 + r] * sdf_tensor_f32p(cd)[r * 64 + i];
            dw[o * 64 + i] = a;
        }
    check_patched(c->weights, g_clip16->weights, "text_model.encoder.layers.0.mlp.fc1.weight", dw, scl * 0.5, true);
    sdf_wstore_info in;
    CHECK(sdf_wstore_info_of(c->weights, "text_model.encoder.layers.0.mlp.fc1.weight", &in) && in.dtype == SDF_DTYPE_F16);
    /* 8: CLIP diffusers key */
    for (int o = 0; o < 64; o++)
        for (int i = 0; i < 64; i++) {
            double a = 0;
            for (int r = 0; r < 2; r++) a += sdf_tensor_f32p(qb)[o * 2 + r] * sdf_tensor_f32p(qa)[r * 64 + i];
            dw[o * 64 + i] = a;
        }
    check_patched(c->weights, g_clip16->weights, "text_model.encoder.layers.1.self_attn.q_proj.weight", dw, scl, true);
    /* model-only application: CLIP keys become unmatched, the model is still patched */
    sdf_model *mo = NULL;
    REQUIRE(sdf_lora_apply(l, g_model, NULL, &o, &mo, NULL, &rep, &err) == SDF_OK);
    CHECK(rep.patched_unet == 6 && rep.patched_clip == 0 && rep.n_unmatched == 1 + 5);
    sdf_model_release(mo);
    free(dw);
    for (int i = 0; i < nk; i++) sdf_tensor_release(keep[i]);
    sdf_model_release(m);
    sdf_clip_release(c);
    sdf_lora_free(l);
    unlink(path);
}

static void test_wrong_arch(void) {
    NEED_REFERENCE();
    REQUIRE(load_tiny());
    sdf_error err;
    char path[256];
    snprintf(path, sizeof path, "/tmp/sdf_test_lora_w_%d.safetensors", (int)getpid());
    /* SDXL-style names that do not exist in SD1 */
    sdf_st_writer *w = sdf_st_writer_new();
    sdf_tensor *a = rnd(w, "lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q.lora_up.weight", 2, 640, 4, 0, 0);
    sdf_tensor *b = rnd(w, "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", 2, 5120, 4, 0, 0);
    REQUIRE(sdf_st_writer_save(w, path, &err) == SDF_OK);
    sdf_st_writer_free(w);
    sdf_lora *l = NULL;
    REQUIRE(sdf_lora_open(path, &l, &err) == SDF_OK);
    sdf_lora_opts o = {.strength_model = 1, .strength_clip = 1};
    sdf_model *m = NULL;
    sdf_clip *c = NULL;
    CHECK(sdf_lora_apply(l, g_model, g_clip, &o, &m, &c, NULL, &err) == SDF_ERR_INVALID);
    CHECKF(strstr(err.msg, "another architecture") != NULL, "%s", err.msg);
    CHECK(m == NULL && c == NULL);
    sdf_lora_free(l);
    sdf_tensor_release(a);
    sdf_tensor_release(b);
    /* names match but every shape differs (an SD2 LoRA on SD1 weights) */
    w = sdf_st_writer_new();
    a = rnd(w, "lora_unet_input_blocks_1_1_proj_in.lora_up.weight", 2, 320, 4, 0, 0);
    b = rnd(w, "lora_unet_input_blocks_1_1_proj_in.lora_down.weight", 2, 4, 320, 0, 0);
    REQUIRE(sdf_st_writer_save(w, path, &err) == SDF_OK);
    sdf_st_writer_free(w);
    REQUIRE(sdf_lora_open(path, &l, &err) == SDF_OK);
    CHECK(sdf_lora_apply(l, g_model, g_clip, &o, &m, &c, NULL, &err) == SDF_ERR_SHAPE);
    CHECKF(strstr(err.msg, "lora_unet_input_blocks_1_1_proj_in") != NULL, "%s", err.msg);
    sdf_lora_free(l);
    sdf_tensor_release(a);
    sdf_tensor_release(b);
    /* not a LoRA file at all */
    FILE *fp = fopen(path, "wb");
    fputs("garbage that is not safetensors", fp);
    fclose(fp);
    CHECK(sdf_lora_open(path, &l, &err) != SDF_OK);
    unlink(path);
}

static void test_merge(void) {
    NEED_REFERENCE();
    REQUIRE(load_tiny());
    sdf_error err;
    char path[256];
    snprintf(path, sizeof path, "/tmp/sdf_test_merge_%d.safetensors", (int)getpid());
    REQUIRE(sdf_make_model(SDF_MM_TINY, 3, SDF_DTYPE_F16, path, &err) == SDF_OK);
    sdf_model *m2 = NULL;
    sdf_clip *c2 = NULL;
    REQUIRE(sdf_checkpoint_load(path, NULL, &m2, &c2, NULL, &err) == SDF_OK);
    struct { double sp, sm; } cases[] = {{1 - 0.3, 0.3}, {-1.5, 1.5}, {1, 1}, {0, 1}};
    for (int ci = 0; ci < 4; ci++) {
        sdf_model *r = NULL;
        REQUIRE(sdf_model_merge(g_model, m2, cases[ci].sp, cases[ci].sm, NULL, &r, &err) == SDF_OK);
        const char *nm = "input_blocks.4.0.in_layers.2.weight";
        sdf_tensor *a = sdf_wstore_get_f32(g_model->weights, nm, &err);
        sdf_tensor *b = sdf_wstore_get_f32(m2->weights, nm, &err);
        sdf_tensor *got = sdf_wstore_get_f32(r->weights, nm, &err);
        REQUIRE(a && b && got);
        int bad = 0;
        float fm = (float)cases[ci].sm, fp = (float)cases[ci].sp;
        for (int64_t i = 0; i < sdf_tensor_numel(a); i++) {
            float e = sdf_tensor_f32p(a)[i];
            if (cases[ci].sm != 1.0) e = e * fm;
            if (cases[ci].sp != 0.0) { float d = fp * sdf_tensor_f32p(b)[i]; e = e + d; }
            bad += e != sdf_tensor_f32p(got)[i];
        }
        CHECKF(bad == 0, "case %d: %d differ", ci, bad);
        CHECK(sdf_wstore_same_slot(g_model->weights, r->weights, nm) == (ci == 3));
        sdf_tensor_release(a); sdf_tensor_release(b); sdf_tensor_release(got);
        sdf_model_release(r);
    }
    sdf_clip *cm = NULL;
    REQUIRE(sdf_clip_merge(g_clip16, c2, 0.5, 0.5, NULL, &cm, &err) == SDF_OK);
    sdf_wstore_info in;
    CHECK(sdf_wstore_info_of(cm->weights, "text_model.encoder.layers.0.mlp.fc1.weight", &in) && in.dtype == SDF_DTYPE_F16);
    CHECK(!sdf_wstore_same_slot(g_clip16->weights, cm->weights, "text_model.encoder.layers.0.mlp.fc1.weight"));
    sdf_clip_release(cm);
    sdf_model_release(m2);
    sdf_clip_release(c2);
    unlink(path);
}

/* ---- outputs of the patched networks against the reference (UNet 0.8, CLIP 0.5) ---- */

static void test_reference_outputs(void) {
    NEED_REFERENCE();
    REQUIRE(load_tiny());
    sdf_error err;
    sdf_error_clear(&err);
    sdf_lora *l = NULL;
    REQUIRE(sdf_lora_open(test_ref_path("tiny-sd1-lora.safetensors"), &l, &err) == SDF_OK);
    sdf_lora_opts o = {.strength_model = 0.8, .strength_clip = 0.5, .fp32_text_encoder = true};
    sdf_model *m = NULL;
    sdf_clip *c = NULL;
    REQUIRE(sdf_lora_apply(l, g_model, g_clip, &o, &m, &c, NULL, &err) == SDF_OK);
    sdf_st_file *g = NULL;
    REQUIRE(sdf_st_open(test_ref_path("golden/lora_clip.safetensors"), &g, &err) == SDF_OK);
    sdf_tensor *ids64 = sdf_st_tensor(g, "input_ids", &err);
    REQUIRE(ids64 && sdf_tensor_numel(ids64) == 3 * 77);
    int32_t ids[3 * 77];
    for (int i = 0; i < 3 * 77; i++) ids[i] = (int32_t)((int64_t *)ids64->data)[i];
    static float hid[3 * 77 * 64], pen[3 * 77 * 64], pooled[3 * 64];
    REQUIRE(sdf_clip_forward_ids(c, ids, 3, 0, hid, pooled, &err) == SDF_OK);
    REQUIRE(sdf_clip_forward_ids(c, ids, 3, -2, pen, NULL, &err) == SDF_OK);
    const char *names[] = {"last_hidden_state", "penultimate_ln", "pooled"};
    float *got[] = {hid, pen, pooled};
    for (int i = 0; i < 3; i++) {
        sdf_tensor *ref = sdf_st_tensor_f32(g, names[i], &err);
        REQUIRE(ref);
        test_compare(names[i], got[i], sdf_tensor_f32p(ref), (size_t)sdf_tensor_numel(ref), 1e-4, 5e-5);
        sdf_tensor_release(ref);
    }
    sdf_tensor_release(ids64);
    sdf_st_close(g);
    /* UNet: context from the patched CLIP is part of the case */
    static const char *const cases[] = {"golden/lora_unet_sq_t500.safetensors",
                                        "golden/lora_unet_nonsq_16x24_t999_t1.safetensors"};
    for (int k = 0; k < 2; k++) {
        REQUIRE(sdf_st_open(test_ref_path(cases[k]), &g, &err) == SDF_OK);
        sdf_tensor *x = sdf_st_tensor_f32(g, "x", &err), *ctx = sdf_st_tensor_f32(g, "context", &err);
        sdf_tensor *ts = sdf_st_tensor(g, "timesteps", &err), *eps = sdf_st_tensor_f32(g, "eps", &err);
        REQUIRE(x && ctx && ts && eps);
        float t[8];
        for (int64_t i = 0; i < ts->shape[0] && i < 8; i++) t[i] = (float)((int64_t *)ts->data)[i];
        sdf_tensor *out = NULL;
        REQUIRE(sdf_unet_forward(m, x, t, ctx, NULL, &out, &err) == SDF_OK);
        test_compare(cases[k], sdf_tensor_f32p(out), sdf_tensor_f32p(eps), (size_t)sdf_tensor_numel(eps),
                     1e-4, 5e-5);
        /* strength 0 is bit-identical to the base model */
        sdf_lora_opts z = {.strength_model = 0.0, .strength_clip = 0.5, .fp32_text_encoder = true};
        sdf_model *m0 = NULL;
        sdf_clip *c0 = NULL;
        REQUIRE(sdf_lora_apply(l, g_model, g_clip, &z, &m0, &c0, NULL, &err) == SDF_OK);
        sdf_tensor *o0 = NULL, *ob = NULL;
        REQUIRE(sdf_unet_forward(m0, x, t, ctx, NULL, &o0, &err) == SDF_OK);
        REQUIRE(sdf_unet_forward(g_model, x, t, ctx, NULL, &ob, &err) == SDF_OK);
        CHECK(o0->nbytes == ob->nbytes && memcmp(o0->data, ob->data, o0->nbytes) == 0);
        sdf_tensor_release(o0); sdf_tensor_release(ob);
        sdf_model_release(m0); sdf_clip_release(c0);
        sdf_tensor_release(out); sdf_tensor_release(x); sdf_tensor_release(ctx);
        sdf_tensor_release(ts); sdf_tensor_release(eps);
        sdf_st_close(g);
    }
    sdf_model_release(m);
    sdf_clip_release(c);
    sdf_lora_free(l);
}

int main(void) {
    RUN(test_reference_merge);
    RUN(test_formats);
    RUN(test_wrong_arch);
    RUN(test_merge);
    RUN(test_reference_outputs);
    sdf_model_release(g_model);
    sdf_clip_release(g_clip);
    sdf_clip_release(g_clip16);
    return test_summary();
}
