/* Deterministic corruption of outside inputs: truncations and byte flips of UI workflows (the
 * converter), JSON text (the exact-number parser), safetensors images (the header validator),
 * and structurally odd prompts (the A1111 text). Each must end in SDF_OK with sound output or an
 * error with a message; no crash, no leak (allocator live bytes return to the baseline; the
 * sanitizer build checks the rest). */
#include <cjson/cJSON.h>
#include <stdint.h>

#include "../core/base/alloc.h"
#include "../core/io/a1111.h"
#include "../core/io/json_exact.h"
#include "../core/io/png.h"
#include "../core/io/workflow.h"
#include "../core/io/safetensors.h"
#include "../core/io/workflow_ui.h"
#include "testing.h"
#include "ui_compare.h"
#include "ui_test_defs.h"

static test_registry g_reg;

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

typedef struct tally {
    int ok, failed, bad;
} tally;

static void convert_one(const char *buf, size_t n, tally *t) {
    size_t live = sdf_alloc_live_bytes();
    char *api = NULL;
    sdf_error err;
    sdf_error_clear(&err);
    sdf_status st = sdf_workflow_ui_to_api(buf, n, &g_reg.reg, NULL, NULL, &api, &err);
    if (st == SDF_OK) {
        cJSON *j = api ? cJSON_Parse(api) : NULL;
        if (!j || !cJSON_IsObject(j)) t->bad++;
        else t->ok++;
        cJSON_Delete(j);
        sdf_free(api);
    } else {
        if (api || !err.msg[0]) t->bad++;
        else t->failed++;
    }
    if (sdf_alloc_live_bytes() != live) t->bad++;
}

/* Truncations at ~150 points and 250 single/multi-byte flips of text. */
static void mutate_all(const char *text, size_t len, tally *t) {
    char *buf = malloc(len + 1);
    size_t stride = len / 150 + 1;
    for (size_t cut = 0; cut < len; cut += stride) {
        memcpy(buf, text, cut);
        convert_one(buf, cut, t);
    }
    static const char flips[] = "{}[]\",:0123456789-.eE \\nulltrue\x01\xff";
    for (int k = 0; k < 250; k++) {
        memcpy(buf, text, len);
        int nflip = 1 + (int)(next_rand() % 3);
        for (int f = 0; f < nflip; f++) {
            size_t at = (size_t)(next_rand() % len);
            buf[at] = (k & 1) ? flips[next_rand() % (sizeof flips - 1)]
                              : (char)(buf[at] ^ (1u << (next_rand() % 8)));
        }
        convert_one(buf, len, t);
    }
    free(buf);
}

static void run_file(const char *path, tally *t) {
    size_t len;
    char *text = uc_read_file(path, &len);
    CHECKF(text != NULL, "cannot read %s", path);
    if (!text) return;
    mutate_all(text, len, t);
    free(text);
}

static void test_ui_corruptions(void) {
    tally t = {0};
    static const char *const cases[] = {"reroute_chain", "primitive", "converted", "bypass",
                                        "muted", "big_seeds"};
    for (size_t i = 0; i < SDF_COUNTOF(cases); i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/tests/data/ui_cases/%s.ui.json", SDF_SOURCE_DIR,
                 cases[i]);
        run_file(path, &t);
    }
    if (test_shared_dir()) {
        static const char *const shared[] = {"ex_area_morning_day_evening_night",
                                             "ex_model_merging_inpaint_muted",
                                             "tpl_default_sd15_modern"};
        for (size_t i = 0; i < SDF_COUNTOF(shared); i++) {
            char path[4400];
            snprintf(path, sizeof path, "%s/workflows/%s.ui.json", test_shared_dir(), shared[i]);
            run_file(path, &t);
        }
    }
    fprintf(stderr, "  %d converted, %d rejected with an error, %d bad\n", t.ok, t.failed, t.bad);
    CHECK(t.bad == 0);
    CHECK(t.failed > 500); /* truncations must fail */
    CHECK(t.ok > 100);     /* flips inside strings still convert */
}

static void test_json_exact_corruptions(void) {
    const char *text = "{\"a\":[1,-2.5e3,18446744073709551615,{\"b\":\"x\\\"y\"}],\"c\":0.1}";
    size_t len = strlen(text);
    int bad = 0;
    char buf[128];
    for (size_t cut = 0; cut <= len; cut++) {
        memcpy(buf, text, cut);
        sdf_json_doc d;
        sdf_error err;
        sdf_error_clear(&err);
        sdf_status st = sdf_json_parse_exact(buf, cut, "t", &d, &err);
        if (st == SDF_OK) {
            if (cut != len) bad++;
            sdf_json_doc_free(&d);
        } else if (strncmp(err.msg, "t", 1) != 0) {
            fprintf(stderr, "  cut %zu: message '%s'\n", cut, err.msg);
            bad++;
        }
    }
    for (int k = 0; k < 2000; k++) {
        memcpy(buf, text, len);
        buf[next_rand() % len] = (char)(next_rand() & 0xff);
        sdf_json_doc d;
        sdf_error err;
        if (sdf_json_parse_exact(buf, len, "t", &d, &err) == SDF_OK) {
            /* every number item must have a text that parses back to its double */
            for (size_t i = 0; i < d.n_nums; i++) {
                const char *s = sdf_json_num_text(&d, d.nums[i].item);
                if (!s || (strtod(s, NULL) != d.nums[i].item->valuedouble &&
                           d.nums[i].item->valuedouble == d.nums[i].item->valuedouble)) {
                    fprintf(stderr, "  flip: number text '%s' vs %.17g\n", s ? s : "(null)",
                            d.nums[i].item->valuedouble);
                    bad++;
                }
            }
            sdf_json_doc_free(&d);
        }
    }
    CHECK(bad == 0);
    /* exact integers */
    sdf_json_doc d;
    sdf_error err;
    REQUIRE(sdf_json_parse_exact(text, len, "t", &d, &err) == SDF_OK);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(d.root, "a");
    bool neg;
    uint64_t mag;
    CHECK(sdf_json_num_integer(&d, cJSON_GetArrayItem(arr, 2), &neg, &mag) && !neg &&
          mag == UINT64_MAX);
    CHECK(sdf_json_num_integer(&d, cJSON_GetArrayItem(arr, 0), &neg, &mag) && mag == 1);
    CHECK(!sdf_json_num_integer(&d, cJSON_GetArrayItem(arr, 1), &neg, &mag));
    CHECK_STR(sdf_json_num_text(&d, cJSON_GetArrayItem(arr, 1)), "-2.5e3");
    sdf_json_doc_free(&d);
    /* line and column of a syntax error */
    const char *broken = "{\n  \"a\": [1,\n  2 3]\n}";
    CHECK(sdf_json_parse_exact(broken, strlen(broken), "w.json", &d, &err) == SDF_ERR_PARSE);
    CHECKF(strstr(err.msg, "w.json") && strstr(err.msg, "line 3"), "%s", err.msg);
    /* non-strict spellings cJSON accepts are normalised */
    const char *odd = "[012, 1.]";
    REQUIRE(sdf_json_parse_exact(odd, strlen(odd), "o", &d, &err) == SDF_OK);
    CHECK_STR(sdf_json_num_text(&d, d.root->child), "12");
    CHECK_STR(sdf_json_num_text(&d, d.root->child->next), "1");
    sdf_json_doc_free(&d);
}

/* A small valid safetensors image: u64 header length, header JSON, data. */
static size_t make_st(uint8_t *out) {
    const char *hdr = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                      "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]},"
                      "\"__metadata__\":{\"format\":\"pt\"}}";
    uint64_t n = strlen(hdr);
    memcpy(out, &n, 8);
    memcpy(out + 8, hdr, n);
    float w[4] = {1, 2, 3, 4};
    memcpy(out + 8 + n, w, 16);
    memset(out + 8 + n + 16, 0x3c, 4);
    return 8 + n + 20;
}

static void test_safetensors_corruptions(void) {
    uint8_t good[512], buf[512];
    size_t len = make_st(good);
    sdf_st_file *f = NULL;
    sdf_error err;
    REQUIRE(sdf_st_open_memory(good, len, "g.safetensors", &f, &err) == SDF_OK);
    CHECK(sdf_st_count(f) == 2);
    sdf_st_close(f);
    int bad = 0, rejected = 0;
    size_t live = sdf_alloc_live_bytes();
    for (size_t cut = 0; cut < len; cut++) {
        f = NULL;
        sdf_error_clear(&err);
        if (sdf_st_open_memory(good, cut, "t.safetensors", &f, &err) == SDF_OK) {
            bad++;
            sdf_st_close(f);
        } else if (!err.msg[0] || f) {
            bad++;
        } else {
            rejected++;
        }
    }
    for (int k = 0; k < 3000; k++) {
        memcpy(buf, good, len);
        int nflip = 1 + (int)(next_rand() % 4);
        for (int q = 0; q < nflip; q++) buf[next_rand() % len] ^= (uint8_t)(1u << (next_rand() % 8));
        f = NULL;
        sdf_error_clear(&err);
        if (sdf_st_open_memory(buf, len, "t.safetensors", &f, &err) == SDF_OK) {
            for (size_t i = 0; i < sdf_st_count(f); i++) {
                const sdf_st_entry *e = sdf_st_entry_at(f, i);
                if (e->offset + e->nbytes > len) bad++;
            }
            sdf_st_close(f);
        } else if (!err.msg[0]) {
            bad++;
        }
    }
    CHECK(bad == 0);
    CHECK(rejected == (int)len);
    CHECK(sdf_alloc_live_bytes() == live);
}

static void test_a1111_odd_prompts(void) {
    static const char *const prompts[] = {
        "{}",
        "{\"1\":5}",
        "{\"1\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"1\",0]}}}",
        "{\"1\":{\"class_type\":\"KSampler\",\"inputs\":{\"positive\":[\"1\",0],\"negative\":"
        "[\"1\",1],\"latent_image\":[\"1\",0],\"model\":[\"1\",0]}},"
        "\"2\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"1\",0]}}}",
        "{\"1\":{\"class_type\":\"KSampler\",\"inputs\":{\"positive\":[\"3\",0],\"seed\":\"x\","
        "\"steps\":[1],\"cfg\":null,\"latent_image\":[\"4\",0]}},"
        "\"3\":{\"class_type\":\"ConditioningCombine\",\"inputs\":{\"conditioning_1\":[\"3\",0]}},"
        "\"4\":{\"class_type\":\"LatentUpscale\",\"inputs\":{\"width\":0,\"height\":0,"
        "\"samples\":[\"4\",0]}},"
        "\"2\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"1\",0]}}}",
        "{\"1\":{\"class_type\":\"KSampler\",\"inputs\":{\"latent_image\":[\"4\",0]}},"
        "\"4\":{\"class_type\":\"LatentUpscaleBy\",\"inputs\":{\"scale_by\":2,\"samples\":"
        "[\"5\",0]}},\"5\":{\"class_type\":\"LatentUpscale\",\"inputs\":{\"width\":0,"
        "\"height\":64,\"samples\":[\"6\",0]}},\"6\":{\"class_type\":\"EmptyLatentImage\","
        "\"inputs\":{\"width\":0,\"height\":0}},"
        "\"2\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"1\",0]}}}",
    };
    const int has_text[] = {0, 0, 0, 0, 0, 1}; /* cycles: no execution order, no text */
    for (size_t i = 0; i < SDF_COUNTOF(prompts); i++) {
        cJSON *p = cJSON_Parse(prompts[i]);
        REQUIRE(p);
        char *s = sdf_a1111_parameters(p, "2", 8, 8, NULL, NULL);
        CHECKF((s != NULL) == has_text[i], "prompt %zu: %s", i, s ? s : "(null)");
        if (s) CHECKF(strstr(s, "Size: 8x8") != NULL, "prompt %zu: %s", i, s);
        sdf_free(s);
        cJSON_Delete(p);
    }
}

/* PNG decoding: truncations and bit flips of small PNGs (the fuzz seed corpus). Flips avoid the
 * 4-byte chunk-length fields: a length raised to ~512 MiB makes libpng allocate and clear up to
 * SDF_PNG_MAX_CHUNK before noticing the data ends (correct result, but seconds per case under
 * the sanitizers; reported to the PNG owner). */
static void test_png_corruptions(void) {
    static const char *const files[] = {"rgb_text.png", "palette_trns.png", "gray16.png",
                                        "gray_alpha.png", "rgba_ztxt.png"};
    sdf_png_limits lim = {.max_width = 4096, .max_height = 4096, .max_pixels = 1u << 20};
    int bad = 0, ok = 0, rejected = 0;
    size_t live = sdf_alloc_live_bytes();
    for (size_t fi = 0; fi < SDF_COUNTOF(files); fi++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/fuzz_png/%s", SDF_SOURCE_DIR, files[fi]);
        size_t len;
        char *good = uc_read_file(path, &len);
        CHECKF(good != NULL, "cannot read %s", path);
        if (!good) continue;
        /* offsets of chunk-length fields */
        bool is_len[512] = {0};
        for (size_t o = 8; o + 8 <= len && len <= sizeof is_len;) {
            uint32_t n = ((uint32_t)(uint8_t)good[o] << 24) | ((uint32_t)(uint8_t)good[o + 1] << 16) |
                         ((uint32_t)(uint8_t)good[o + 2] << 8) | (uint8_t)good[o + 3];
            for (int k = 0; k < 4; k++) is_len[o + (size_t)k] = true;
            o += 12 + (size_t)n;
        }
        uint8_t *buf = malloc(len);
        for (int k = -1; k < 400; k++) {
            size_t n = len;
            memcpy(buf, good, len);
            if (k >= 0 && k < 100) {
                n = (size_t)k * len / 100; /* truncation */
            } else if (k >= 100) {
                size_t at = (size_t)(next_rand() % len);
                if (len <= sizeof is_len && is_len[at]) continue;
                buf[at] ^= (uint8_t)(1u << (next_rand() % 8));
            }
            sdf_png_pixels px;
            memset(&px, 0, sizeof px);
            sdf_error err;
            sdf_error_clear(&err);
            sdf_status st = sdf_png_read_memory(buf, n, "t.png", &lim, &px, &err);
            if (st == SDF_OK) {
                ok++;
                if (!px.rgba || !px.width || !px.height) bad++;
            } else if (!err.msg[0]) {
                bad++;
            } else {
                rejected++;
            }
            sdf_png_pixels_free(&px);
            char *text = NULL;
            st = sdf_png_read_text_memory(buf, n, "t.png", "prompt", &text, &err);
            if (st != SDF_OK && text) bad++;
            sdf_free(text);
        }
        free(buf);
        free(good);
    }
    fprintf(stderr, "  png: %d decoded, %d rejected, %d bad\n", ok, rejected, bad);
    CHECK(bad == 0);
    CHECK(rejected >= 500);
    CHECK(ok >= 5);
    CHECK(sdf_alloc_live_bytes() == live);
}

/* Workflow text as sdf_workflow_load hands it over (NUL-terminated after len): truncated and
 * flipped API and UI files give API text or an error with a message. */
static void test_workflow_text_corruptions(void) {
    sdf_builtin_storage storage;
    sdf_registry reg;
    sdf_builtin_registry(&storage, &reg);
    static const char *const files[] = {"tests/fuzz/corpus/fuzz_workflow_api/small.api.json",
                                        "tests/data/ui_cases/bypass.ui.json"};
    int bad = 0, ok = 0, rejected = 0;
    for (size_t fi = 0; fi < SDF_COUNTOF(files); fi++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", SDF_SOURCE_DIR, files[fi]);
        size_t len;
        char *good = uc_read_file(path, &len);
        CHECKF(good != NULL, "cannot read %s", path);
        if (!good) continue;
        char *buf = malloc(len + 1);
        size_t stride = len / 120 + 1;
        for (int k = 0; k < 300; k++) {
            size_t n = len;
            memcpy(buf, good, len);
            if (k < 120) n = (size_t)k * stride < len ? (size_t)k * stride : len;
            else buf[next_rand() % len] ^= (char)(1u << (next_rand() % 8));
            buf[n] = 0;
            size_t live = sdf_alloc_live_bytes();
            sdf_workflow_src src;
            memset(&src, 0, sizeof src);
            sdf_error err;
            sdf_error_clear(&err);
            if (sdf_workflow_from_text(buf, n, "t.json", &reg, NULL, NULL, &src, &err) == SDF_OK) {
                ok++;
                if (!src.api_text) bad++;
                sdf_workflow_src_deinit(&src);
            } else if (!err.msg[0] || src.api_text) {
                bad++;
            } else {
                rejected++;
            }
            if (sdf_alloc_live_bytes() != live) bad++;
        }
        free(buf);
        free(good);
    }
    fprintf(stderr, "  workflow text: %d read, %d rejected, %d bad\n", ok, rejected, bad);
    CHECK(bad == 0);
    CHECK(rejected >= 200);
}

int main(void) {
    test_registry_init(&g_reg, 0);
    RUN(test_ui_corruptions);
    RUN(test_json_exact_corruptions);
    RUN(test_safetensors_corruptions);
    RUN(test_a1111_odd_prompts);
    RUN(test_png_corruptions);
    RUN(test_workflow_text_corruptions);
    return test_summary();
}
