/* A1111 "parameters" text (decisions.md) on the shared API workflows and hand-built prompts.
 * Every expected string below was written by hand from the workflow files and the rules in
 * core/io/a1111.h. */
#include <cjson/cJSON.h>

#include "../core/base/alloc.h"
#include "../core/io/a1111.h"
#include "../core/io/json_exact.h"
#include "../core/io/workflow.h"
#include "testing.h"
#include "ui_compare.h"

static const char *k_hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

typedef struct hash_log {
    int  calls;
    char last[256];
    int  fail;
} hash_log;

static sdf_status fake_sha(void *user, const char *ckpt, char hex[65]) {
    hash_log *h = user;
    h->calls++;
    snprintf(h->last, sizeof h->last, "%s", ckpt);
    if (h->fail) return SDF_ERR_IO;
    memcpy(hex, k_hash, 65);
    return SDF_OK;
}

/* Parses text keeping numbers exact (raw items), as the engine's canonical prompt does. */
static cJSON *exact_prompt(const char *text) {
    sdf_json_doc d;
    sdf_error err;
    if (sdf_json_parse_exact(text, strlen(text), "prompt", &d, &err) != SDF_OK) return NULL;
    cJSON *c = sdf_json_dup_exact(&d, d.root);
    sdf_json_doc_free(&d);
    return c;
}

static cJSON *shared_prompt(const char *name) {
    char path[4400];
    snprintf(path, sizeof path, "%s/workflows/%s.api.json", test_shared_dir(), name);
    size_t len;
    char *t = uc_read_file(path, &len);
    if (!t) return NULL;
    cJSON *c = exact_prompt(t);
    free(t);
    return c;
}

static void expect(const char *name, const char *save, int w, int h, const char *want) {
    cJSON *p = shared_prompt(name);
    CHECKF(p != NULL, "%s: cannot load", name);
    if (!p) return;
    hash_log hl = {0};
    char *got = sdf_a1111_parameters(p, save, w, h, fake_sha, &hl);
    CHECKF(got && strcmp(got, want) == 0, "%s (save %s):\n got: %s\nwant: %s", name, save,
           got ? got : "(null)", want);
    CHECK(hl.calls == 1);
    sdf_free(got);
    cJSON_Delete(p);
}

static void test_lora(void) {
    NEED_REFERENCE();
    expect("ex_lora", "9", 512, 512,
           "masterpiece best quality girl\nNegative prompt: bad hands\nSteps: 20, Sampler: Euler, "
           "Schedule type: Normal, CFG scale: 8, Seed: 851616030078638, Size: 512x512, Model "
           "hash: 0123456789, Model: v1-5-pruned-emaonly");
}

static void test_img2img_denoise_and_image_size(void) {
    NEED_REFERENCE();
    /* the latent comes from VAEEncode: Size is the image size passed in */
    expect("ex_img2img", "9", 768, 512,
           "photograph of victorian woman with wings, sky clouds, meadow grass\nNegative prompt: "
           "watermark, text\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Normal, CFG scale: 8, "
           "Seed: 280823642470253, Size: 768x512, Model hash: 0123456789, Model: "
           "v1-5-pruned-emaonly, Denoising strength: 0.87");
}

static const char *k_area_neg =
    "(hands), text, error, cropped, (worst quality:1.2), (low quality:1.2), normal quality, (jpeg "
    "artifacts:1.3), signature, watermark, username, blurry, artist name, monochrome, sketch, "
    "censorship, censor, (copyright:1.2), extra legs, (forehead mark) (depth of field) "
    "(emotionless) (penis) (pumpkin)";

static void test_area_combine_chain(void) {
    NEED_REFERENCE();
    char want[4096];
    snprintf(want, sizeof want,
             "(masterpiece) (best quality) morning sky, (best quality) (daytime:1.2) sky (blue), "
             "(best quality) (evening:1.2) (sky:1.2) (clouds) (colorful) (HDR:1.2) (sunset:1.3), "
             "(best quality) (night:1.3) (darkness) sky (black) (stars:1.2) (galaxy:1.2) (space) "
             "(universe), (masterpiece) (best quality) beautiful landscape breathtaking amazing "
             "view nature photograph forest mountains ocean (sky) national park scenery\n"
             "Negative prompt: %s\nSteps: 13, Sampler: DPM++ SDE, Schedule type: Normal, CFG "
             "scale: 8.5, Seed: 823155751257884, Size: 704x1280, Model hash: 0123456789, Model: "
             "Anything-V3.0",
             k_area_neg);
    expect("ex_area_morning_day_evening_night", "9", 704, 1280, want);
    /* the second save is fed by both samplers: the first in execution order (3) is reported */
    expect("ex_area_morning_day_evening_night", "32", 1088, 1920, want);
}

static void test_hires_first_sampler(void) {
    NEED_REFERENCE();
    expect("ex_hiresfix_latent_sd21v", "12", 1152, 1152,
           "masterpiece HDR victorian portrait painting of woman, blonde hair, mountain nature, "
           "blue sky\nNegative prompt: bad hands, text, watermark\nSteps: 12, Sampler: DPM++ SDE, "
           "Schedule type: Normal, CFG scale: 8, Seed: 89848141647836, Size: 768x768, Model "
           "hash: 0123456789, Model: v2-1_768-ema-pruned");
}

static void test_advanced_order(void) {
    NEED_REFERENCE();
    /* Kahn order, smallest ready id first: 5, 62, 65, 80, 7, 52, then sampler 57 */
    expect("ex_noisy_latents_3_subjects", "9", 1920, 1088,
           "happy cute anime girl (fennec ears:1.15) (fluff:1.15) , long hair, (black hair), "
           "(messy hair), (red highlights), hair over one eye, red eyes, sharp eyes, (hoodie), "
           "open jacket, running (school uniform) long skirt\nsky clouds nature national park "
           "beautiful winter snow scenery HDR landscape\nNegative prompt: lowres, bad anatomy, "
           "bad hands, (text:1.1), blurry, mutated hands and fingers, mutation, deformed face, "
           "ugly, (logo:1.1), cropped, worst quality, jpeg, (jpeg artifacts), deleted, old, "
           "oldest, (censored), (bad aesthetic), (mosaic censoring, bar censor, blur censor) "
           "earphones\nSteps: 16, Sampler: DPM++ SDE, Schedule type: Normal, CFG scale: 7, "
           "Seed: 534686817346900, Size: 384x768, Model hash: 0123456789, Model: "
           "wd-illusion-fp16");
}

static void test_zero_out_negative(void) {
    NEED_REFERENCE();
    expect("comfy_tests_default_graph_sdxl", "13", 1024, 1024,
           "a photo of a cat\nSteps: 20, Sampler: Euler, Schedule type: Normal, CFG scale: 7.5, "
           "Seed: 42, Size: 1024x1024, Model hash: 0123456789, Model: sd_xl_base_1.0");
}

static void test_merged_model(void) {
    NEED_REFERENCE();
    expect("ex_model_merging_inpaint_muted", "9", 512, 512,
           "anime girl\nNegative prompt: text, watermark\nSteps: 20, Sampler: Euler, Schedule "
           "type: Normal, CFG scale: 8, Seed: 156680208700286, Size: 512x512, Model hash: "
           "0123456789, Model: sd-v1-5-inpainting");
}

/* Every shared API workflow with a SaveImage yields a text that names its sampler's seed. */
static void test_all_shared_have_text(void) {
    NEED_REFERENCE();
    static const char *const names[] = {
        "ex_area_square_area_for_2_subjects", "ex_area_square_area_for_subject",
        "ex_embedding_sd21", "ex_hiresfix_esrgan_sd21v", "ex_inpaint_anythingv3_woman",
        "ex_inpaint_sd2_inpainting_model", "ex_latent_upscale_different_prompt_model",
        "ex_lora_multiple", "ex_model_merging_basic_muted", "ex_outpaint_yosemite"};
    static const char *const seeds[] = {
        "Seed: 397826772266080,", "Seed: 830459492315490,", "Seed: 193694018275622,",
        "Seed: 251225068430076,", "Seed: 171829914789776,", "Seed: 1040111309094545,",
        "Seed: 758448896326830,", "Seed: 513173432917412,", "Seed: 156680208700286,",
        "Seed: 152545289528694,"};
    for (size_t i = 0; i < SDF_COUNTOF(names); i++) {
        cJSON *p = shared_prompt(names[i]);
        CHECK(p != NULL);
        if (!p) continue;
        const char *save = strstr(names[i], "different_prompt") ? "10" : "9";
        char *got = sdf_a1111_parameters(p, save, 64, 64, NULL, NULL);
        CHECKF(got && strstr(got, seeds[i]) && !strstr(got, "Model hash"), "%s: %s", names[i],
               got ? got : "(null)");
        sdf_free(got);
        cJSON_Delete(p);
    }
}

/* ---- hand-built prompts -------------------------------------------------------------------- */

static const char *k_graph =
    "{\"a\":{\"class_type\":\"CheckpointLoaderSimple\",\"inputs\":{\"ckpt_name\":"
    "\"sub\\\\dir/my.model.v2.safetensors\"}},"
    "\"2\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"text\":\"  cat  \",\"clip\":[\"a\",1]}},"
    "\"3\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"text\":\"ugly\",\"clip\":[\"a\",1]}},"
    "\"4\":{\"class_type\":\"ControlNetApplyAdvanced\",\"inputs\":{\"strength\":1,"
    "\"positive\":[\"2\",0],\"negative\":[\"3\",0],\"control_net\":[\"x\",0],\"image\":[\"y\",0]}},"
    "\"5\":{\"class_type\":\"EmptyLatentImage\",\"inputs\":{\"width\":600,\"height\":400,"
    "\"batch_size\":1}},"
    "\"6\":{\"class_type\":\"LatentUpscale\",\"inputs\":{\"upscale_method\":\"bilinear\","
    "\"width\":0,\"height\":800,\"crop\":\"disabled\",\"samples\":[\"5\",0]}},"
    "\"7\":{\"class_type\":\"KSampler\",\"inputs\":{\"seed\":18446744073709551615,\"steps\":30,"
    "\"cfg\":6.5,\"sampler_name\":\"dpmpp_2m_sde_gpu\",\"scheduler\":\"karras\",\"denoise\":"
    "0.4999999999999999,\"model\":[\"9\",0],\"positive\":[\"4\",0],\"negative\":[\"4\",1],"
    "\"latent_image\":[\"6\",0]}},"
    "\"9\":{\"class_type\":\"LoraLoader\",\"inputs\":{\"lora_name\":\"l.safetensors\","
    "\"strength_model\":1,\"strength_clip\":1,\"model\":[\"a\",0],\"clip\":[\"a\",1]}},"
    "\"10\":{\"class_type\":\"VAEDecode\",\"inputs\":{\"samples\":[\"7\",0],\"vae\":[\"a\",2]}},"
    "\"11\":{\"class_type\":\"SaveImage\",\"inputs\":{\"filename_prefix\":\"x\",\"images\":"
    "[\"10\",0]}},"
    "\"12\":{\"class_type\":\"LoadImage\",\"inputs\":{\"image\":\"i.png\"}},"
    "\"13\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"12\",0]}}}";

static void test_hand_built(void) {
    cJSON *p = exact_prompt(k_graph);
    REQUIRE(p);
    hash_log hl = {0};
    char *got = sdf_a1111_parameters(p, "11", 1, 1, fake_sha, &hl);
    /* LatentUpscale width 0: 600x400 latent 75x50, height 800 -> width round(75*800/50)=1200 */
    CHECK_STR(got, "cat\nNegative prompt: ugly\nSteps: 30, Sampler: DPM++ 2M SDE, Schedule type: "
                   "Karras, CFG scale: 6.5, Seed: 18446744073709551615, Size: 1200x800, Model "
                   "hash: 0123456789, Model: my.model.v2, Denoising strength: 0.5");
    CHECK_STR(hl.last, "sub\\dir/my.model.v2.safetensors");
    sdf_free(got);
    /* a failing hash callback drops only the hash */
    hl.fail = 1;
    got = sdf_a1111_parameters(p, "11", 1, 1, fake_sha, &hl);
    CHECK(got && !strstr(got, "Model hash") && strstr(got, ", Model: my.model.v2,"));
    sdf_free(got);
    /* no sampler upstream, unknown save node: NULL */
    CHECK(sdf_a1111_parameters(p, "13", 1, 1, fake_sha, &hl) == NULL);
    CHECK(sdf_a1111_parameters(p, "99", 1, 1, fake_sha, &hl) == NULL);
    CHECK(sdf_a1111_parameters(NULL, "11", 1, 1, NULL, NULL) == NULL);
    cJSON_Delete(p);
}

static void test_empty_positive_and_plain_doubles(void) {
    /* cJSON doubles (not raw) still print integers; empty positive: A1111 strips the text */
    cJSON *p = cJSON_Parse(
        "{\"1\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"text\":\"\"}},"
        "\"2\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"text\":\"bad\"}},"
        "\"3\":{\"class_type\":\"KSamplerAdvanced\",\"inputs\":{\"noise_seed\":123456789012,"
        "\"steps\":4,\"cfg\":1,\"sampler_name\":\"my_custom\",\"scheduler\":\"weird\","
        "\"positive\":[\"1\",0],\"negative\":[\"2\",0],\"latent_image\":[\"8\",0]}},"
        "\"4\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"3\",0]}}}");
    REQUIRE(p);
    char *got = sdf_a1111_parameters(p, "4", 320, 240, NULL, NULL);
    CHECK_STR(got, "Negative prompt: bad\nSteps: 4, Sampler: my_custom, Schedule type: weird, CFG "
                   "scale: 1, Seed: 123456789012, Size: 320x240");
    sdf_free(got);
    cJSON_Delete(p);
}

static void test_names(void) {
    static const char *const s[][2] = {
        {"euler", "Euler"},         {"euler_ancestral", "Euler a"},  {"heun", "Heun"},
        {"dpm_2", "DPM2"},          {"dpm_2_ancestral", "DPM2 a"},   {"lms", "LMS"},
        {"dpm_fast", "DPM fast"},   {"dpm_adaptive", "DPM adaptive"},
        {"dpmpp_2s_ancestral", "DPM++ 2S a"}, {"dpmpp_sde", "DPM++ SDE"},
        {"dpmpp_sde_gpu", "DPM++ SDE"}, {"dpmpp_2m", "DPM++ 2M"},
        {"dpmpp_2m_sde", "DPM++ 2M SDE"}, {"dpmpp_2m_sde_heun", "DPM++ 2M SDE Heun"},
        {"dpmpp_3m_sde", "DPM++ 3M SDE"}, {"ddim", "DDIM"},          {"lcm", "LCM"},
        {"uni_pc", "UniPC"},        {"uni_pc_bh2", "UniPC"},         {"ipndm", "ipndm"},
        {"euler_cfg_pp", "euler_cfg_pp"}};
    for (size_t i = 0; i < SDF_COUNTOF(s); i++) CHECK_STR(sdf_a1111_sampler_name(s[i][0]), s[i][1]);
    static const char *const t[][2] = {
        {"simple", "Simple"}, {"sgm_uniform", "SGM Uniform"}, {"karras", "Karras"},
        {"exponential", "Exponential"}, {"ddim_uniform", "DDIM"}, {"beta", "Beta"},
        {"normal", "Normal"}, {"linear_quadratic", "Linear Quadratic"},
        {"kl_optimal", "KL Optimal"}};
    for (size_t i = 0; i < SDF_COUNTOF(t); i++)
        CHECK_STR(sdf_a1111_scheduler_name(t[i][0]), t[i][1]);
}

/* The engine's canonical prompt (sdf_json_parse: numbers keep their literal in valuestring). */
static void test_engine_parsed_prompt(void) {
    cJSON *p = NULL;
    sdf_error err;
    REQUIRE(sdf_json_parse(k_graph, strlen(k_graph), "g.json", &p, &err) == SDF_OK);
    char *got = sdf_a1111_parameters(p, "11", 1, 1, NULL, NULL);
    CHECK(got && strstr(got, ", Seed: 18446744073709551615, Size: 1200x800, Model: my.model.v2, "
                             "Denoising strength: 0.5"));
    sdf_free(got);
    cJSON_Delete(p);
}

/* Every allocation failure gives NULL, never a crash or a partial text. */
static void test_out_of_memory(void) {
    cJSON *p = exact_prompt(k_graph);
    REQUIRE(p);
    int nulls = 0, ok_at = -1;
    for (long k = 0; k < 200; k++) {
        sdf_alloc_fail_after(k);
        char *got = sdf_a1111_parameters(p, "11", 1, 1, NULL, NULL);
        sdf_alloc_fail_after(-1);
        if (got) {
            CHECK(strstr(got, "Seed: 18446744073709551615") != NULL);
            sdf_free(got);
            ok_at = (int)k;
            break;
        }
        nulls++;
    }
    CHECK(nulls >= 3);
    CHECK(ok_at > 0);
    cJSON_Delete(p);
}

int main(void) {
    RUN(test_lora);
    RUN(test_img2img_denoise_and_image_size);
    RUN(test_area_combine_chain);
    RUN(test_hires_first_sampler);
    RUN(test_advanced_order);
    RUN(test_zero_out_negative);
    RUN(test_merged_model);
    RUN(test_all_shared_have_text);
    RUN(test_hand_built);
    RUN(test_empty_positive_and_plain_doubles);
    RUN(test_names);
    RUN(test_engine_parsed_prompt);
    RUN(test_out_of_memory);
    return test_summary();
}
