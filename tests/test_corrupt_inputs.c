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

int main(void) {
    test_registry_init(&g_reg, 0);
    RUN(test_ui_corruptions);
    RUN(test_json_exact_corruptions);
    RUN(test_safetensors_corruptions);
    RUN(test_a1111_odd_prompts);
    return test_summary();
}
