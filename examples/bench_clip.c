/* bench_clip.c: times the text encoder on a full-size random-weight CLIP (no files needed).
 *
 *   build/example_bench_clip [sd1|sd2] [repeats] [threads]
 *
 * With threads > 0: OpenBLAS at 1 thread and the GEMMs split on an sdflow pool of that many
 * threads (sdf_blas_setup, what the runtime does); with 0: no pool, OpenBLAS's own threads
 * (set OPENBLAS_NUM_THREADS).
 * Builds CLIP ViT-L/14 (sd1) or OpenCLIP ViT-H/14 (sd2) with fan-in-scaled random weights stored
 * as f16 (as ComfyUI keeps text encoders), then reports the first encode (includes the one-time
 * f16 -> f32 conversion of the weights) and the steady-state time of one 77-token window, and of
 * a weighted prompt (two windows: the prompt and the empty one).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "core/kernels/kernels.h"
#include "core/models/clip.h"
#include "core/tensor/dtype.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static float    frand(void) { /* uniform in [-1, 1) */
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((double)(g_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static int put(sdf_wstore *w, const char *name, int64_t d0, int64_t d1, float scale, float bias) {
    sdf_error   err = {0};
    int64_t     shape[2] = {d0, d1};
    int         nd = d1 > 0 ? 2 : 1;
    sdf_tensor *t = sdf_tensor_new(SDF_DTYPE_F16, nd, shape, &err);
    if (!t)
        return -1;
    uint16_t *p = t->data;
    int64_t   n = sdf_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        p[i] = sdf_f32_to_f16(bias + scale * frand());
    int rc = sdf_wstore_put(w, name, t, &err) == SDF_OK ? 0 : -1;
    sdf_tensor_release(t);
    return rc;
}

int main(int argc, char **argv) {
    char blas_msg[256] = "";
    if (sdf_blas_fix_coretype(argc, argv, blas_msg, sizeof blas_msg) != SDF_BLAS_OK && blas_msg[0])
        fprintf(stderr, "%s\n", blas_msg);
    bool      sd2 = argc > 1 && strcmp(argv[1], "sd2") == 0;
    int       reps = argc > 2 ? atoi(argv[2]) : 5;
    int       threads = argc > 3 ? atoi(argv[3]) : 2;
    sdf_pool *pool = NULL;
    if (threads > 0) {
        sdf_error perr = {0};
        sdf_blas_setup();
        if (sdf_pool_new(threads, &pool, &perr) != SDF_OK)
            return 1;
    }
    sdf_clip_config cfg;
    if (sd2)
        sdf_clip_config_sd2(&cfg);
    else
        sdf_clip_config_sd1(&cfg);
    sdf_error     err = {0};
    sdf_wstore   *w = sdf_wstore_new(&err);
    const int64_t D = cfg.width, M = cfg.mlp;
    const float   sD = 1.7f / sqrtf((float)D), sM = 1.7f / sqrtf((float)M);
    int rc = put(w, "text_model.embeddings.token_embedding.weight", cfg.vocab, D, 0.5f, 0) |
             put(w, "text_model.embeddings.position_embedding.weight", cfg.positions, D, 0.1f, 0) |
             put(w, "text_model.final_layer_norm.weight", D, 0, 0.1f, 1) |
             put(w, "text_model.final_layer_norm.bias", D, 0, 0.1f, 0);
    if (sd2)
        rc |= put(w, "text_projection.weight", D, D, sD, 0);
    struct {
        const char *s;
        int64_t     a, b;
        float       sc, bi;
    } spec[] = {
        {"layer_norm1.weight", D, 0, 0.1f, 1},
        {"layer_norm1.bias", D, 0, 0.1f, 0},
        {"layer_norm2.weight", D, 0, 0.1f, 1},
        {"layer_norm2.bias", D, 0, 0.1f, 0},
        {"self_attn.q_proj.weight", D, D, sD, 0},
        {"self_attn.q_proj.bias", D, 0, 0.02f, 0},
        {"self_attn.k_proj.weight", D, D, sD, 0},
        {"self_attn.k_proj.bias", D, 0, 0.02f, 0},
        {"self_attn.v_proj.weight", D, D, sD, 0},
        {"self_attn.v_proj.bias", D, 0, 0.02f, 0},
        {"self_attn.out_proj.weight", D, D, sD, 0},
        {"self_attn.out_proj.bias", D, 0, 0.02f, 0},
        {"mlp.fc1.weight", M, D, sD, 0},
        {"mlp.fc1.bias", M, 0, 0.02f, 0},
        {"mlp.fc2.weight", D, M, sM, 0},
        {"mlp.fc2.bias", D, 0, 0.02f, 0},
    };
    for (int l = 0; l < cfg.layers; l++)
        for (size_t k = 0; k < sizeof spec / sizeof spec[0]; k++) {
            char n[160];
            snprintf(n, sizeof n, "text_model.encoder.layers.%d.%s", l, spec[k].s);
            rc |= put(w, n, spec[k].a, spec[k].b, spec[k].sc, spec[k].bi);
        }
    if (rc) {
        fprintf(stderr, "building weights failed\n");
        return 1;
    }
    sdf_clip *clip = sdf_clip_new(w, &err);
    clip->arch = sd2 ? SDF_ARCH_SD2 : SDF_ARCH_SD1;
    clip->cfg = cfg;
    int32_t ids[2 * 77];
    ids[0] = SDF_CLIP_BOS;
    for (int i = 1; i < 76; i++)
        ids[i] = 320 + i * 37;
    ids[76] = SDF_CLIP_EOS;
    ids[77] = SDF_CLIP_BOS;
    ids[78] = SDF_CLIP_EOS;
    for (int i = 79; i < 154; i++)
        ids[i] = cfg.pad_token;
    float *hid = malloc(sizeof(float) * 2 * 77 * (size_t)D),
          *pooled = malloc(sizeof(float) * 2 * (size_t)D);
    int    layer = sdf_clip_effective_layer(clip);
    double t0 = now();
    if (sdf_clip_forward(clip, pool, ids, 1, layer, hid, pooled, &err) != SDF_OK) {
        fprintf(stderr, "encode: %s\n", err.msg);
        return 1;
    }
    double first = now() - t0;
    double best1 = 1e9, best2 = 1e9;
    for (int r = 0; r < reps; r++) {
        t0 = now();
        sdf_clip_forward(clip, pool, ids, 1, layer, hid, pooled, &err);
        double t = now() - t0;
        best1 = t < best1 ? t : best1;
        t0 = now();
        sdf_clip_forward(clip, pool, ids, 2, layer, hid, pooled, &err);
        t = now() - t0;
        best2 = t < best2 ? t : best2;
    }
    /* the ceiling: the same matrix products as bare sgemm calls (per layer: q,k,v,out, fc1, fc2) */
    float *A = calloc((size_t)77 * M, sizeof(float)), *B = calloc((size_t)M * D, sizeof(float)),
          *C = calloc((size_t)77 * M, sizeof(float));
    double bestg = 1e9;
    for (int r = 0; r < reps; r++) {
        t0 = now();
        for (int l = 0; l < cfg.layers; l++) {
            for (int k = 0; k < 4; k++)
                sdf_k_sgemm(pool, true, 77, (int)D, (int)D, 1.0f, A, (int)D, B, (int)D, 0.0f, C,
                            (int)D);
            sdf_k_sgemm(pool, true, 77, (int)M, (int)D, 1.0f, A, (int)D, B, (int)D, 0.0f, C,
                        (int)M);
            sdf_k_sgemm(pool, true, 77, (int)D, (int)M, 1.0f, A, (int)M, B, (int)M, 0.0f, C,
                        (int)D);
        }
        double t = now() - t0;
        bestg = t < bestg ? t : bestg;
    }
    free(A), free(B), free(C);
    double flops = 2.0 * 77 * cfg.layers * (4.0 * D * D + 2.0 * D * M);
    printf("sgemm-only ceiling for the same products: %.1f ms (%.1f GFLOPS, OpenBLAS %s); "
           "encoder at %.0f%% of it\n",
           bestg * 1e3, flops / bestg / 1e9, openblas_get_corename(), 100.0 * bestg / best1);
    printf("%s CLIP (%dx%d, %d layers), f16 weights: first encode %.3f s (incl. f16->f32), "
           "77 tokens %.1f ms, weighted (2 windows) %.1f ms, hidden[0]=%.4f\n",
           sd2 ? "SD2 OpenCLIP-H" : "SD1 CLIP-L", cfg.width, cfg.mlp, cfg.layers, first,
           best1 * 1e3, best2 * 1e3, hid[0]);
    free(hid);
    free(pooled);
    sdf_pool_free(pool);
    sdf_clip_release(clip);
    return 0;
}
