/* test_clip.c: the text encoder against the golden CLIP outputs (fp32 and fp16 checkpoints),
 * clip skip, ComfyUI weighting, long prompts and embeddings in prompts. */
#include <pthread.h>
#include <unistd.h>

#include "core/base/alloc.h"
#include "tests/clip_fixture.h"

#define ABS_TOL 1e-4
#define REL_TOL 5e-5
#define P 77
#define D 64

static sdf_clip *g_clip, *g_clip16;

static sdf_clip *clip32(void) {
    return g_clip ? g_clip : (g_clip = fx_load_clip("tiny-sd1.safetensors"));
}
static sdf_clip *clip16(void) {
    return g_clip16 ? g_clip16 : (g_clip16 = fx_load_clip("tiny-sd1-fp16.safetensors"));
}

static void golden_ids(const char *rel, const char *name, int32_t *ids, int n) {
    const char  *path = test_ref_path(rel);
    sdf_error    err = {0};
    sdf_st_file *f = NULL;
    if (sdf_st_open(path, &f, &err) != SDF_OK)
        return;
    sdf_tensor *t = sdf_st_tensor(f, name, &err);
    if (t && t->dtype == SDF_DTYPE_I64 && sdf_tensor_numel(t) == n)
        for (int i = 0; i < n; i++)
            ids[i] = (int32_t)((const int64_t *)t->data)[i];
    sdf_tensor_release(t);
    sdf_st_close(f);
}

static void check_forward(sdf_clip *c, const char *rel, const char *prefix) {
    int32_t ids[3 * P];
    memset(ids, 0xff, sizeof ids);
    char name[128];
    snprintf(name, sizeof name, "%sinput_ids", prefix);
    golden_ids(rel, name, ids, 3 * P);
    CHECK(ids[0] == SDF_CLIP_BOS);
    static float hid[3 * P * D], pen[3 * P * D], pooled[3 * D];
    sdf_error    err = {0};
    REQUIRE(sdf_clip_forward_ids(c, ids, 3, 0, hid, pooled, &err) == SDF_OK);
    REQUIRE(sdf_clip_forward_ids(c, ids, 3, -2, pen, NULL, &err) == SDF_OK);
    snprintf(name, sizeof name, "%slast_hidden_state", prefix);
    sdf_tensor *g = fx_golden(rel, name);
    REQUIRE(g && sdf_tensor_numel(g) == 3 * P * D);
    test_compare(name, hid, sdf_tensor_f32p(g), 3 * P * D, ABS_TOL, REL_TOL);
    sdf_tensor_release(g);
    snprintf(name, sizeof name, "%spenultimate_ln", prefix);
    g = fx_golden(rel, name);
    REQUIRE(g && sdf_tensor_numel(g) == 3 * P * D);
    test_compare(name, pen, sdf_tensor_f32p(g), 3 * P * D, ABS_TOL, REL_TOL);
    sdf_tensor_release(g);
    if (!prefix[0]) {
        g = fx_golden(rel, "pooled");
        REQUIRE(g && sdf_tensor_numel(g) == 3 * D);
        test_compare("pooled", pooled, sdf_tensor_f32p(g), 3 * D, ABS_TOL, REL_TOL);
        sdf_tensor_release(g);
    }
}

static void test_forward_fp32(void) {
    NEED_REFERENCE();
    REQUIRE(clip32());
    check_forward(clip32(), "golden/clip.safetensors", "");
}

static void test_forward_fp16_checkpoint(void) {
    NEED_REFERENCE();
    REQUIRE(clip16());
    check_forward(clip16(), "golden/fp16ckpt_outputs.safetensors", "clip.");
    /* ComfyUI's default (no --fp32-text-enc) rounds the f32 file's CLIP weights to f16: the same
     * weights as the fp16 file, so the same outputs */
    sdf_clip *rounded = fx_load_clip_opt("tiny-sd1.safetensors", false);
    REQUIRE(rounded);
    check_forward(rounded, "golden/fp16ckpt_outputs.safetensors", "clip.");
    sdf_clip_release(rounded);
}

/* encode_text of prompt; returns cond (NEW) and pooled (NEW) */
static sdf_tensor *encode(sdf_clip *c, const char *text, sdf_tensor **pooled,
                          const sdf_clip_encode_opts *o) {
    sdf_error   err = {0};
    sdf_tensor *cond = NULL, *pl = NULL;
    if (sdf_clip_encode_text(c, text, o, &cond, &pl, &err) != SDF_OK) {
        fprintf(stderr, "  encode \"%s\": %s\n", text, err.msg);
        return NULL;
    }
    if (pooled)
        *pooled = pl;
    else
        sdf_tensor_release(pl);
    return cond;
}

static void test_encode_text_and_weights(void) {
    NEED_REFERENCE();
    REQUIRE(clip32());
    sdf_tensor *last = fx_golden("golden/clip.safetensors", "last_hidden_state");
    sdf_tensor *gp = fx_golden("golden/clip.safetensors", "pooled");
    REQUIRE(last && gp);
    const float *z = sdf_tensor_f32p(last), *ze = z + P * D; /* case 1 is the empty prompt */
    sdf_tensor  *pooled = NULL;
    sdf_tensor  *cond = encode(clip32(), "a photo of a cat", &pooled, NULL);
    REQUIRE(cond && pooled);
    CHECK(cond->ndim == 3 && cond->shape[0] == 1 && cond->shape[1] == P && cond->shape[2] == D);
    test_compare("cond", sdf_tensor_f32p(cond), z, P * D, ABS_TOL, REL_TOL);
    test_compare("pooled", sdf_tensor_f32p(pooled), sdf_tensor_f32p(gp), D, ABS_TOL, REL_TOL);
    sdf_tensor_release(cond);
    sdf_tensor_release(pooled);

    /* (text:1.2): tokens 1..5 weighted against the empty prompt's hidden states */
    static float want[P * D];
    memcpy(want, z, sizeof want);
    for (int j = 1; j <= 5; j++)
        for (int i = 0; i < D; i++)
            want[j * D + i] = (z[j * D + i] - ze[j * D + i]) * 1.2f + ze[j * D + i];
    cond = encode(clip32(), "(a photo of a cat:1.2)", &pooled, NULL);
    REQUIRE(cond);
    test_compare("weighted 1.2", sdf_tensor_f32p(cond), want, P * D, ABS_TOL, REL_TOL);
    /* pooled is taken before weighting */
    test_compare("weighted pooled", sdf_tensor_f32p(pooled), sdf_tensor_f32p(gp), D, ABS_TOL,
                 REL_TOL);
    sdf_tensor_release(cond);
    sdf_tensor_release(pooled);

    /* ((cat)) on the last token only: weight 1.1*1.1 */
    memcpy(want, z, sizeof want);
    float w = (float)(1.1 * 1.1);
    for (int i = 0; i < D; i++)
        want[5 * D + i] = (z[5 * D + i] - ze[5 * D + i]) * w + ze[5 * D + i];
    cond = encode(clip32(), "a photo of a ((cat))", NULL, NULL);
    REQUIRE(cond);
    test_compare("((cat))", sdf_tensor_f32p(cond), want, P * D, ABS_TOL, REL_TOL);
    sdf_tensor_release(cond);

    /* escaped parentheses are text: "\(cat\)" tokenises "(", "cat", ")" at weight 1 */
    cond = encode(clip32(), "\\(cat\\)", NULL, NULL);
    sdf_tensor *c2 = encode(clip32(), "(cat)", NULL, NULL);
    REQUIRE(cond && c2);
    CHECK(memcmp(sdf_tensor_f32p(cond), sdf_tensor_f32p(c2), P * D * sizeof(float)) != 0);
    sdf_tensor_release(cond);
    sdf_tensor_release(c2);
    sdf_tensor_release(last);
    sdf_tensor_release(gp);
}

static void test_clip_skip(void) {
    NEED_REFERENCE();
    REQUIRE(clip32());
    sdf_error err = {0};
    sdf_clip *c = sdf_clip_clone(clip32(), &err);
    REQUIRE(c);
    sdf_tensor *pen = fx_golden("golden/clip.safetensors", "penultimate_ln");
    sdf_tensor *gp = fx_golden("golden/clip.safetensors", "pooled");
    sdf_tensor *last = fx_golden("golden/clip.safetensors", "last_hidden_state");
    REQUIRE(pen && gp && last);
    c->layer_idx = -2;
    CHECK(sdf_clip_effective_layer(c) == -2);
    sdf_tensor *pooled = NULL;
    sdf_tensor *cond = encode(c, "a photo of a cat", &pooled, NULL);
    REQUIRE(cond && pooled);
    test_compare("skip -2", sdf_tensor_f32p(cond), sdf_tensor_f32p(pen), P * D, ABS_TOL, REL_TOL);
    /* the pooled output still comes from the last layer (spec §10.6 item 10) */
    test_compare("skip pooled", sdf_tensor_f32p(pooled), sdf_tensor_f32p(gp), D, ABS_TOL, REL_TOL);
    sdf_tensor_release(cond);
    sdf_tensor_release(pooled);
    /* -1 is the last layer; beyond the layer count falls back to last (tiny model: 3 layers) */
    c->layer_idx = -1;
    CHECK(sdf_clip_effective_layer(c) == -1);
    cond = encode(c, "a photo of a cat", NULL, NULL);
    REQUIRE(cond);
    test_compare("skip -1", sdf_tensor_f32p(cond), sdf_tensor_f32p(last), P * D, ABS_TOL, REL_TOL);
    sdf_tensor_release(cond);
    c->layer_idx = -24;
    CHECK(sdf_clip_effective_layer(c) == 0);
    c->layer_idx = -3;
    CHECK(sdf_clip_effective_layer(c) == -3);
    /* the tokenizer is shared with the clone */
    CHECK(c->tokenizer == clip32()->tokenizer);
    sdf_clip_release(c);
    sdf_tensor_release(pen);
    sdf_tensor_release(gp);
    sdf_tensor_release(last);
}

static void test_long_prompt(void) {
    NEED_REFERENCE();
    REQUIRE(clip32());
    char text[4096] = "";
    for (int i = 0; i < 20; i++)
        strcat(text, "a photo of a cat, ");
    sdf_tokenizer *tok;
    sdf_error      err = {0};
    REQUIRE(sdf_clip_tokenizer(clip32(), NULL, &tok, &err) == SDF_OK);
    int32_t *ids;
    size_t   n;
    REQUIRE(sdf_tokenizer_encode(tok, text, strlen(text), &ids, &n, &err) == SDF_OK);
    CHECK(n == 120);
    /* one segment = one group of 120 (>= 8): split at 75 */
    int32_t want[2 * P];
    want[0] = SDF_CLIP_BOS;
    for (int i = 0; i < 75; i++)
        want[1 + i] = ids[i];
    want[76] = SDF_CLIP_EOS;
    want[P] = SDF_CLIP_BOS;
    for (int i = 0; i < 45; i++)
        want[P + 1 + i] = ids[75 + i];
    for (int i = P + 46; i < 2 * P; i++)
        want[i] = SDF_CLIP_EOS;
    sdf_free(ids);
    static float hid[2 * P * D], pooled[2 * D];
    REQUIRE(sdf_clip_forward_ids(clip32(), want, 2, 0, hid, pooled, &err) == SDF_OK);
    sdf_tensor *pl = NULL;
    sdf_tensor *cond = encode(clip32(), text, &pl, NULL);
    REQUIRE(cond);
    CHECK(cond->shape[1] == 2 * P);
    /* same computation, batched differently: tight */
    test_compare("long", sdf_tensor_f32p(cond), hid, 2 * P * D, 1e-5, -1);
    test_compare("long pooled (first window)", sdf_tensor_f32p(pl), pooled, D, 1e-5, -1);
    sdf_tensor_release(cond);
    sdf_tensor_release(pl);
}

/* warn collector */
typedef struct warns {
    int  n;
    char last[512];
} warns;
static void collect(void *ctx, const char *msg) {
    warns *w = ctx;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

static void test_embeddings(void) {
    NEED_REFERENCE();
    REQUIRE(clip32());
    /* an embedding whose two vectors are the token embeddings of "photo" and "of": then
     * "a embedding:po a cat" must encode exactly like "a photo of a cat". */
    char dir[] = "/tmp/sdf_clip_emb_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char sub[512], path[600];
    snprintf(sub, sizeof sub, "%s/embeddings", dir);
    REQUIRE(mkdir(sub, 0755) == 0);
    snprintf(path, sizeof path, "%s/po.safetensors", sub);
    sdf_error      err = {0};
    sdf_tokenizer *tok;
    REQUIRE(sdf_clip_tokenizer(clip32(), NULL, &tok, &err) == SDF_OK);
    int32_t photo = sdf_tokenizer_token_id(tok, "photo</w>"),
            of = sdf_tokenizer_token_id(tok, "of</w>");
    REQUIRE(photo == 1125 && of == 539);
    sdf_tensor *te =
        sdf_wstore_get_f32(clip32()->weights, "text_model.embeddings.token_embedding.weight", &err);
    REQUIRE(te);
    sdf_tensor *e = sdf_tensor_f32(&err, 2, (int64_t)2, (int64_t)D);
    memcpy(sdf_tensor_f32p(e), sdf_tensor_f32p(te) + (size_t)photo * D, D * sizeof(float));
    memcpy(sdf_tensor_f32p(e) + D, sdf_tensor_f32p(te) + (size_t)of * D, D * sizeof(float));
    sdf_st_writer *wr = sdf_st_writer_new();
    REQUIRE(sdf_st_writer_add(wr, "emb_params", e, &err) == SDF_OK);
    REQUIRE(sdf_st_writer_save(wr, path, &err) == SDF_OK);
    sdf_st_writer_free(wr);
    /* a width-mismatched one */
    sdf_tensor *bad = sdf_tensor_f32(&err, 2, (int64_t)1, (int64_t)32);
    memset(sdf_tensor_f32p(bad), 0, 32 * sizeof(float));
    wr = sdf_st_writer_new();
    REQUIRE(sdf_st_writer_add(wr, "clip_l", bad, &err) == SDF_OK);
    snprintf(path, sizeof path, "%s/narrow.safetensors", sub);
    REQUIRE(sdf_st_writer_save(wr, path, &err) == SDF_OK);
    sdf_st_writer_free(wr);

    sdf_paths paths;
    sdf_paths_init_defaults(&paths);
    paths.models_dirs[0] = dir;
    paths.n_models_dirs = 1;
    warns                wn = {0};
    sdf_clip_encode_opts o = {.paths = &paths, .warn = collect, .warn_ctx = &wn};
    sdf_tensor          *last = fx_golden("golden/clip.safetensors", "last_hidden_state");
    REQUIRE(last);
    sdf_tensor *cond = encode(clip32(), "a embedding:po a cat", NULL, &o);
    REQUIRE(cond);
    test_compare("embedding", sdf_tensor_f32p(cond), sdf_tensor_f32p(last), P * D, ABS_TOL,
                 REL_TOL);
    sdf_tensor_release(cond);
    CHECK(wn.n == 0);
    /* trailing comma: "embedding:po," is retried as "po" and "," tokenised after it */
    cond = encode(clip32(), "a embedding:po, a cat", NULL, &o);
    sdf_tensor *c2 = encode(clip32(), "a photo of, a cat", NULL, NULL);
    REQUIRE(cond && c2);
    test_compare("embedding,", sdf_tensor_f32p(cond), sdf_tensor_f32p(c2), P * D, 1e-5, -1);
    sdf_tensor_release(cond);
    sdf_tensor_release(c2);
    /* missing embedding: warning, ignored */
    cond = encode(clip32(), "a embedding:nothere cat", NULL, &o);
    c2 = encode(clip32(), "a cat", NULL, NULL);
    REQUIRE(cond && c2);
    CHECK(wn.n == 1 && strstr(wn.last, "nothere") != NULL);
    test_compare("missing embedding", sdf_tensor_f32p(cond), sdf_tensor_f32p(c2), P * D, 1e-5, -1);
    sdf_tensor_release(cond);
    sdf_tensor_release(c2);
    /* width mismatch: dropped with a warning, the sequence shifts and is padded at the end */
    wn.n = 0;
    cond = encode(clip32(), "a embedding:narrow cat", NULL, &o);
    REQUIRE(cond);
    CHECK(wn.n == 1 && strstr(wn.last, "shape mismatch") != NULL);
    int32_t ids[P];
    ids[0] = SDF_CLIP_BOS;
    ids[1] = 320;  /* a */
    ids[2] = 2368; /* cat */
    for (int i = 3; i < P; i++)
        ids[i] = SDF_CLIP_EOS;
    static float hid[P * D];
    REQUIRE(sdf_clip_forward_ids(clip32(), ids, 1, 0, hid, NULL, &err) == SDF_OK);
    test_compare("narrow embedding", sdf_tensor_f32p(cond), hid, P * D, 1e-5, -1);
    sdf_tensor_release(cond);
    /* a corrupted (truncated) embedding file: a warning naming it, ignored, no crash */
    {
        char junk[600];
        snprintf(junk, sizeof junk, "%s/junk.safetensors", sub);
        FILE *jf = fopen(junk, "wb");
        REQUIRE(jf);
        fwrite("\x40\x00\x00\x00\x00\x00\x00\x00{\"a\":{\"dtype\":\"F32\"", 1, 27, jf);
        fclose(jf);
        wn.n = 0;
        cond = encode(clip32(), "a embedding:junk cat", NULL, &o);
        REQUIRE(cond);
        CHECK(wn.n == 2 && strstr(wn.last, "junk") != NULL);
        sdf_tensor_release(cond);
        unlink(junk);
    }
    /* a path escaping the folder is not looked up */
    wn.n = 0;
    cond = encode(clip32(), "embedding:../embeddings/po cat", NULL, &o);
    REQUIRE(cond);
    sdf_tensor_release(cond);
    CHECK(wn.n == 0); /* found: ../embeddings/po stays inside embeddings/ */
    cond = encode(clip32(), "embedding:../x cat", NULL, &o);
    REQUIRE(cond);
    sdf_tensor_release(cond);
    CHECK(wn.n == 1);

    sdf_tensor_release(last);
    sdf_tensor_release(e);
    sdf_tensor_release(bad);
    sdf_tensor_release(te);
    snprintf(path, sizeof path, "%s/po.safetensors", sub);
    unlink(path);
    snprintf(path, sizeof path, "%s/narrow.safetensors", sub);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

static void test_missing_vocab_and_weights(void) {
    sdf_error   err = {0};
    sdf_wstore *w = sdf_wstore_new(&err);
    sdf_clip   *c = sdf_clip_new(w, &err);
    REQUIRE(c);
    sdf_clip_config_sd1(&c->cfg);
    sdf_paths paths;
    sdf_paths_init_defaults(&paths);
    paths.models_dirs[0] = "/nonexistent-models";
    paths.n_models_dirs = 1;
    sdf_clip_encode_opts o = {.paths = &paths};
    sdf_tensor          *cond = NULL, *pooled = NULL;
    CHECK(sdf_clip_encode_text(c, "x", &o, &cond, &pooled, &err) == SDF_ERR_NOT_FOUND);
    CHECK(strstr(err.msg, "/nonexistent-models/clip_vocab") != NULL);
    CHECK(strstr(err.msg, "--clip-vocab") != NULL);
    /* no weights: a clear error naming the weight */
    int32_t ids[P] = {SDF_CLIP_BOS, SDF_CLIP_EOS};
    float  *hid = sdf_malloc(P * 768 * sizeof(float));
    sdf_error_clear(&err);
    CHECK(sdf_clip_forward_ids(c, ids, 1, 0, hid, NULL, &err) == SDF_ERR_NOT_FOUND);
    CHECK(strstr(err.msg, "token_embedding") != NULL);
    sdf_free(hid);
    sdf_clip_release(c);
}

/* SD2 text-encoder path (GELU, pad 0, penultimate default, projected pooled) on the tiny weights
 * with a made-up text_projection. Expected values: an independent float64 torch forward of the
 * same weights (checked to reproduce golden/clip.safetensors when run with quick-GELU). */
static void test_sd2_path(void) {
    NEED_REFERENCE();
    REQUIRE(clip32());
    sdf_error err = {0};
    sdf_clip *c = sdf_clip_clone(clip32(), &err);
    REQUIRE(c);
    c->arch = SDF_ARCH_SD2;
    c->cfg.quick_gelu = false;
    c->cfg.pad_token = 0;
    c->cfg.default_layer_idx = -2;
    c->cfg.has_projection = true;
    sdf_tensor *proj = sdf_tensor_f32(&err, 2, (int64_t)D, (int64_t)D);
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++)
            sdf_tensor_f32p(proj)[i * D + j] = (float)(0.1 * sin(0.37 * i + 0.11 * j));
    REQUIRE(sdf_wstore_put(c->weights, "text_projection.weight", proj, &err) == SDF_OK);
    sdf_tensor_release(proj);
    CHECK(sdf_clip_effective_layer(c) == -2);
    sdf_tensor *pooled = NULL;
    sdf_tensor *cond = encode(c, "a (photo:1.5) of a cat", &pooled, NULL);
    REQUIRE(cond && pooled);
    const float *z = sdf_tensor_f32p(cond), *p = sdf_tensor_f32p(pooled);
    double       sum = 0, sq = 0;
    for (int i = 0; i < P * D; i++)
        sum += z[i], sq += (double)z[i] * z[i];
    CHECK_NEAR(sum, -205.582392, 2e-3);
    CHECK_NEAR(sq, 5671.87175, 2e-2);
    static const int    at[6] = {0, 100, 2 * 64 + 5, 2 * 64 + 63, 6 * 64 + 1, 76 * 64 + 63};
    static const double zw[6] = {0.6315323, -0.01894628, 1.923496, 4.499926, 2.116628, -0.5752363};
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(z[at[i]], zw[i], ABS_TOL);
    static const double pw[8] = {-0.781532, -0.9187139, -0.9315522, -0.8183093,
                                 -0.594312, -0.2898774, 0.05379075, 0.3901786};
    for (int i = 0; i < 8; i++)
        CHECK_NEAR(p[i], pw[i], ABS_TOL);
    double ps = 0;
    for (int i = 0; i < D; i++)
        ps += p[i];
    CHECK_NEAR(ps, 0.228911712, 1e-4);
    sdf_tensor_release(cond);
    sdf_tensor_release(pooled);
    /* CLIPSetLastLayer(-1) switches SD2 to the last layer */
    c->layer_idx = -1;
    CHECK(sdf_clip_effective_layer(c) == -1);
    sdf_clip_release(c);
}

typedef struct enc_job {
    sdf_clip   *clip;
    const char *text;
    sdf_tensor *cond;
} enc_job;

static void *enc_thread(void *p) {
    enc_job    *j = p;
    sdf_error   err = {0};
    sdf_tensor *pooled = NULL;
    if (sdf_clip_encode_text(j->clip, j->text, NULL, &j->cond, &pooled, &err) != SDF_OK)
        j->cond = NULL;
    sdf_tensor_release(pooled);
    return NULL;
}

static void test_concurrent_encodes(void) {
    NEED_REFERENCE();
    /* a fresh clip: the tokenizer and the prepared layers are built lazily by whichever thread
     * comes first; both results must equal the golden encode */
    sdf_clip *c = fx_load_clip("tiny-sd1.safetensors");
    REQUIRE(c);
    enc_job   j[3] = {{c, "a photo of a cat", NULL},
                      {c, "a photo of a cat", NULL},
                      {c, "(a photo:1.3) of a cat", NULL}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, enc_thread, &j[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    sdf_tensor *last = fx_golden("golden/clip.safetensors", "last_hidden_state");
    REQUIRE(last && j[0].cond && j[1].cond && j[2].cond);
    test_compare("thread 0", sdf_tensor_f32p(j[0].cond), sdf_tensor_f32p(last), P * D, ABS_TOL,
                 REL_TOL);
    test_compare("thread 1", sdf_tensor_f32p(j[1].cond), sdf_tensor_f32p(last), P * D, ABS_TOL,
                 REL_TOL);
    for (int i = 0; i < 3; i++)
        sdf_tensor_release(j[i].cond);
    sdf_tensor_release(last);
    sdf_clip_release(c);
}

static void test_pool_equality(void) {
    NEED_REFERENCE();
    REQUIRE(clip32());
    int32_t ids[2 * P];
    memset(ids, 0, sizeof ids);
    golden_ids("golden/clip.safetensors", "input_ids", ids, 2 * P);
    static float a[2 * P * D], b[2 * P * D], pa[2 * D], pb[2 * D];
    sdf_error    err = {0};
    sdf_pool    *pool = NULL;
    REQUIRE(sdf_pool_new(2, &pool, &err) == SDF_OK);
    REQUIRE(sdf_clip_forward(clip32(), NULL, ids, 2, -2, a, pa, &err) == SDF_OK);
    /* a fresh CLIP prepared on the pool (weights converted in parallel) */
    sdf_clip *fresh = fx_load_clip("tiny-sd1.safetensors");
    REQUIRE(fresh);
    REQUIRE(sdf_clip_forward(fresh, pool, ids, 2, -2, b, pb, &err) == SDF_OK);
    sdf_clip_release(fresh);
    CHECK(memcmp(a, b, sizeof a) == 0 && memcmp(pa, pb, sizeof pa) == 0);
    sdf_pool_free(pool);
}

static char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*n);
    if (b && fread(b, 1, *n, f) != *n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void test_embedded_vocab(void) {
    NEED_REFERENCE();
    /* the demo model's vocabulary travels in the CLIP store as U8 tensors (checkpoint.h) */
    char   p[4200];
    size_t nv = 0, nm = 0;
    snprintf(p, sizeof p, "%s/vocab.json", test_ref_path("clip-vocab"));
    char *v = read_all(p, &nv);
    snprintf(p, sizeof p, "%s/merges.txt", test_ref_path("clip-vocab"));
    char *m = read_all(p, &nm);
    REQUIRE(v && m);
    sdf_error   err = {0};
    sdf_wstore *w = sdf_wstore_new(&err);
    int64_t     sv = (int64_t)nv, sm = (int64_t)nm;
    sdf_tensor *tv = sdf_tensor_new(SDF_DTYPE_U8, 1, &sv, &err);
    sdf_tensor *tm = sdf_tensor_new(SDF_DTYPE_U8, 1, &sm, &err);
    REQUIRE(w && tv && tm);
    memcpy(tv->data, v, nv);
    memcpy(tm->data, m, nm);
    free(v);
    free(m);
    CHECK(sdf_wstore_put(w, SDF_CLIP_META_VOCAB, tv, &err) == SDF_OK);
    CHECK(sdf_wstore_put(w, SDF_CLIP_META_MERGES, tm, &err) == SDF_OK);
    sdf_tensor_release(tv);
    sdf_tensor_release(tm);
    sdf_clip *c = sdf_clip_new(w, &err);
    REQUIRE(c);
    sdf_tokenizer *tok = NULL;
    REQUIRE(sdf_clip_tokenizer(c, NULL, &tok, &err) == SDF_OK);
    int32_t *ids;
    size_t   n;
    REQUIRE(sdf_tokenizer_encode(tok, "a photo of a cat", 16, &ids, &n, &err) == SDF_OK);
    CHECK(n == 5 && ids[0] == 320 && ids[1] == 1125 && ids[2] == 539 && ids[4] == 2368);
    sdf_free(ids);
    sdf_clip *c2 = sdf_clip_clone(c, &err);
    REQUIRE(c2);
    sdf_tokenizer *tok2 = NULL;
    CHECK(sdf_clip_tokenizer(c2, NULL, &tok2, &err) == SDF_OK && tok2 == tok);
    sdf_clip_release(c);
    sdf_clip_release(c2);
}

int main(void) {
    RUN(test_forward_fp32);
    RUN(test_forward_fp16_checkpoint);
    RUN(test_encode_text_and_weights);
    RUN(test_clip_skip);
    RUN(test_long_prompt);
    RUN(test_embeddings);
    RUN(test_missing_vocab_and_weights);
    RUN(test_embedded_vocab);
    RUN(test_concurrent_encodes);
    RUN(test_sd2_path);
    RUN(test_pool_equality);
    sdf_clip_release(g_clip);
    sdf_clip_release(g_clip16);
    return test_summary();
}
