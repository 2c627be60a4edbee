/* test_demo_edit.c: image editing with the demo model keeps what it should and changes what the
 * prompt asks (issue 8 §4), through the `sdflow` CLI only; pictures read by tests/demo_judge.h.
 *
 *   img2img:  a picture drawn here with the training renderer's rules (a large red circle on the
 *             left on a blue background) through graphs/img2img.json at denoise 0.35 and 0.5,
 *             two seeds: the background and object colours stay, the foreground centroid moves
 *             less than I2I_MAX_SHIFT px;
 *   inpaint:  the same picture with a transparent 24x24 box on the right (LoadImage's mask)
 *             through graphs/inpaint.json (VAEEncodeForInpaint, denoise 1) with the prompt
 *             INP_PROMPT (a green square where the box is): the commonest class inside the box
 *             is green; outside the box
 *             grown by INP_MARGIN px, the mean absolute difference (0..255, over RGB) from a VAE
 *             round trip of the input (VAEEncode -> VAEDecode through the CLI) is below INP_TOL
 *             and most pixels keep the round trip's palette class; and the sampled latent equals
 *             the encoded one there (KSampler's and VAEEncodeForInpaint's outputs, written by
 *             --save-intermediates): the pixel difference outside comes only from the decoder,
 *             whose GroupNorm and mid-block attention see the whole latent, box included;
 *   LoRA:     when models/loras/sdflow-demo-teal.safetensors exists, "a teal circle on a white
 *             background" with LoraLoader (strength 1) draws a teal object (teal [0,128,128]
 *             added to the palette) and the same prompt without the LoRA does not; when the file
 *             is absent this part is skipped with a message.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../core/base/alloc.h"
#include "../core/io/safetensors.h"
#include "demo_cli.h"
#include "demo_judge.h"
#include "testing.h"

/* ---- thresholds, measured on the committed model (sha256 c9b4a5e7..., run3) with a margin -----
 * img2img: centroid shift 0.76-1.27 px over the 4 pictures, colours kept in all;
 * inpaint:  box 96.5-97.7 % green in all 3 seeds; outside |output - round trip| 7.5-9.3 (the round
 *           trip itself is 5.35 from the input), 97.9-98.4 % of outside pixels keep the round
 *           trip's class; outside latent kept to 4.8e-7. */
#define I2I_MAX_SHIFT 3.0     /* px, centroid of the img2img output vs the input's */
#define INP_MARGIN 8          /* px around the box excluded from the outside measures */
#define INP_TOL 12.0          /* mean |output - VAE round trip| outside, 0..255 scale */
#define INP_MIN_AGREE 0.95    /* outside pixels with the round trip's palette class */
#define INP_SEEDS 3
#define INP_MIN_GREEN 3       /* of INP_SEEDS inpainted pictures whose box is mostly green */
#define INP_GREEN_FRAC 0.80   /* "mostly green": this fraction of the box's pixels */
/* The box is where a large square "on the right" is drawn (centre 48,32, side 22 px); with the
 * bare "a green square" the model puts the square anywhere and the box keeps only background. */
#define INP_PROMPT "a large green square on the right on a blue background"
/* LoRA: measured on the committed pair (models/loras/sdflow-demo-teal.safetensors on the committed
 * demo model), seeds 1-12, euler/normal, 20 steps, CFG 5: with the LoRA 4 of 12 pictures have a
 * teal object that is >= half of the foreground (67-96 % teal), without it 0 of 12 have a teal
 * object. The LoRA makes the word work only with it applied, but in a third of the seeds, not
 * reliably (models/README.md); the thresholds keep one picture of margin each way. */
#define LORA_SEEDS 12
#define LORA_MIN_WITH 3       /* of LORA_SEEDS pictures whose object is teal and >= half of the
                                 foreground teal, LoRA on */
#define LORA_MAX_WITHOUT 1    /* ... with a teal object, LoRA off */

#define W 64
#define H 64
/* the inpainted box: x in [BOX_X0, BOX_X1), y in [BOX_Y0, BOX_Y1) */
#define BOX_X0 36
#define BOX_X1 60
#define BOX_Y0 20
#define BOX_Y1 44

static demo_env env;
static demo_palette pal;
static int env_rc;
static uint8_t scene[W * H * 3];

static const char *i2i_caption = "a large red circle on the left on a blue background";

static int skip_or_require(void) {
    if (env_rc != 0) test_g.cur_failed = 1; /* main returns 77 before any test when skipping */
    return env_rc == 0;
}

static void draw_scene(void) {
    demo_fill(scene, W, H, pal.rgb[demo_color_index(&pal, "blue")]);
    demo_draw_shape(scene, W, H, "circle", 16, 32, 13, pal.rgb[demo_color_index(&pal, "red")]);
}

static void read_rgb(const uint8_t *rgb, demo_reading *r) {
    uint8_t cls[W * H];
    demo_classify(&pal, rgb, W, H, 3, cls);
    demo_analyze(&pal, cls, W, H, NULL, r);
}

static void test_img2img_keeps_layout(void) {
    if (!skip_or_require()) return;
    demo_reading in;
    read_rgb(scene, &in);
    REQUIRE(in.bg == demo_color_index(&pal, "blue") && in.color == demo_color_index(&pal, "red"));
    REQUIRE(demo_write_input_png(&env, "i2i_in.png", scene, W, H, 3) == 0);
    char graph[4096], text[256], ckpt[256];
    snprintf(graph, sizeof graph, "%s/graphs/img2img.json", SDF_SOURCE_DIR);
    snprintf(text, sizeof text, "6.text=%s", i2i_caption);
    snprintf(ckpt, sizeof ckpt, "4.ckpt_name=%s", DEMO_MODEL_FILE);
    /* the graph's own sampler (dpmpp_2m / karras); sweep: denoise fastest, then seed */
    const char *args[] = {graph, "--set", ckpt, "--set", "10.image=i2i_in.png", "--set", text,
                          "--set", "7.text=", "--set", "3.cfg=5", "--set", "3.steps=20",
                          "--set", "9.filename_prefix=i2i", "--sweep", "3.denoise=0.35,0.5",
                          "--sweep", "3.seed=1,2", NULL};
    double t0 = demo_now();
    REQUIRE(demo_run(&env, "edit", args) == 0);
    fprintf(stderr, "  img2img: 4 pictures in %.2f s\n", demo_now() - t0);
    static const double denoise[2] = {0.35, 0.5};
    for (int k = 0; k < 4; k++) {
        char path[4400];
        demo_out_path(&env, "edit", "i2i", k + 1, path, sizeof path);
        int w = 0, h = 0;
        uint8_t *rgb = demo_png_rgb(path, &w, &h);
        CHECK(rgb && w == W && h == H);
        if (!rgb || w != W || h != H) {
            sdf_free(rgb);
            continue;
        }
        demo_reading r;
        read_rgb(rgb, &r);
        double shift = r.has_object ? hypot(r.cx - in.cx, r.cy - in.cy) : 1e9;
        fprintf(stderr, "  img2img denoise %.2f seed %d: bg %s, object %s, centroid (%.2f, %.2f), "
                "shift %.2f px, area %d (input %d)\n", denoise[k % 2], k / 2 + 1, pal.name[r.bg],
                r.has_object ? pal.name[r.color] : "-", r.cx, r.cy, shift, r.area, in.area);
        CHECK(r.bg == in.bg);
        CHECK(r.has_object && r.color == in.color);
        CHECKF(shift <= I2I_MAX_SHIFT, "denoise %.2f seed %d: centroid moved %.2f px",
               denoise[k % 2], k / 2 + 1, shift);
        sdf_free(rgb);
    }
}

static double mean_abs_outside(const uint8_t *a, const uint8_t *b, int margin, int *n_out) {
    double s = 0;
    int n = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (x >= BOX_X0 - margin && x < BOX_X1 + margin && y >= BOX_Y0 - margin &&
                y < BOX_Y1 + margin)
                continue;
            const uint8_t *pa = a + (y * W + x) * 3, *pb = b + (y * W + x) * 3;
            for (int c = 0; c < 3; c++) s += fabs((double)pa[c] - pb[c]);
            n++;
        }
    *n_out = n;
    return n ? s / (3.0 * n) : 0;
}

/* max |a - b| of the "samples" latents [1,4,16,16] of two saved node outputs over the cells
 * outside the grown box; -1 when a file or tensor is missing or malformed. */
static double latent_outside_diff(const char *pa, const char *pb) {
    sdf_error err;
    sdf_st_file *fa = NULL, *fb = NULL;
    double worst = -1;
    if (sdf_st_open(pa, &fa, &err) != SDF_OK || sdf_st_open(pb, &fb, &err) != SDF_OK) {
        fprintf(stderr, "  cannot open %s / %s\n", pa, pb);
        goto done;
    }
    const sdf_st_entry *ea = sdf_st_find(fa, "samples"), *eb = sdf_st_find(fb, "samples");
    if (!ea || !eb || ea->dtype != SDF_DTYPE_F32 || eb->dtype != SDF_DTYPE_F32 || ea->ndim != 4 ||
        eb->ndim != 4 || ea->nbytes != eb->nbytes || ea->shape[1] != 4 || ea->shape[2] != H / 4 ||
        ea->shape[3] != W / 4) {
        fprintf(stderr, "  unexpected latents in %s / %s\n", pa, pb);
        goto done;
    }
    const float *a = sdf_st_data(fa, ea), *b = sdf_st_data(fb, eb);
    worst = 0;
    for (int c = 0; c < 4; c++)
        for (int y = 0; y < H / 4; y++)
            for (int x = 0; x < W / 4; x++) {
                int x0 = 4 * x, y0 = 4 * y; /* the cell's pixels x0..x0+3, y0..y0+3 */
                int touches = x0 + 3 >= BOX_X0 - INP_MARGIN && x0 < BOX_X1 + INP_MARGIN &&
                              y0 + 3 >= BOX_Y0 - INP_MARGIN && y0 < BOX_Y1 + INP_MARGIN;
                if (touches) continue;
                size_t i = ((size_t)c * (H / 4) + y) * (W / 4) + x;
                double d = fabs((double)a[i] - b[i]);
                if (!(d <= worst)) worst = d;
            }
done:
    sdf_st_close(fa);
    sdf_st_close(fb);
    return worst;
}

/* Fraction of pixels outside the grown box whose palette class is the same in a and b. */
static double class_agreement_outside(const uint8_t *a, const uint8_t *b) {
    int same = 0, n = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (x >= BOX_X0 - INP_MARGIN && x < BOX_X1 + INP_MARGIN && y >= BOX_Y0 - INP_MARGIN &&
                y < BOX_Y1 + INP_MARGIN)
                continue;
            const uint8_t *pa = a + (y * W + x) * 3, *pb = b + (y * W + x) * 3;
            same += demo_classify_pixel(&pal, pa) == demo_classify_pixel(&pal, pb);
            n++;
        }
    return n ? (double)same / n : 0;
}

static void test_inpaint_green_square(void) {
    if (!skip_or_require()) return;
    /* RGBA input: the scene, alpha 0 over the box (LoadImage's mask = 1 - alpha) */
    static uint8_t rgba[W * H * 4];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            memcpy(rgba + (y * W + x) * 4, scene + (y * W + x) * 3, 3);
            int in_box = x >= BOX_X0 && x < BOX_X1 && y >= BOX_Y0 && y < BOX_Y1;
            rgba[(y * W + x) * 4 + 3] = in_box ? 0 : 255;
        }
    REQUIRE(demo_write_input_png(&env, "inp_in.png", rgba, W, H, 4) == 0);
    REQUIRE(demo_write_input_png(&env, "inp_rgb.png", scene, W, H, 3) == 0);
    /* the VAE round trip of the input, through the CLI */
    char rt[4400], rt_json[1024];
    snprintf(rt_json, sizeof rt_json,
             "{\"4\": {\"class_type\": \"CheckpointLoaderSimple\", \"inputs\": {\"ckpt_name\": "
             "\"%s\"}},\n \"10\": {\"class_type\": \"LoadImage\", \"inputs\": {\"image\": "
             "\"inp_rgb.png\"}},\n \"11\": {\"class_type\": \"VAEEncode\", \"inputs\": {\"pixels\": "
             "[\"10\", 0], \"vae\": [\"4\", 2]}},\n \"8\": {\"class_type\": \"VAEDecode\", "
             "\"inputs\": {\"samples\": [\"11\", 0], \"vae\": [\"4\", 2]}},\n \"9\": {\"class_type\": "
             "\"SaveImage\", \"inputs\": {\"images\": [\"8\", 0], \"filename_prefix\": "
             "\"roundtrip\"}}}\n", DEMO_MODEL_FILE);
    REQUIRE(demo_write_file(&env, "roundtrip.json", rt_json, rt, sizeof rt) == 0);
    const char *rt_args[] = {rt, NULL};
    REQUIRE(demo_run(&env, "edit", rt_args) == 0);
    char path[4400];
    int w = 0, h = 0;
    demo_out_path(&env, "edit", "roundtrip", 1, path, sizeof path);
    uint8_t *round = demo_png_rgb(path, &w, &h);
    REQUIRE(round && w == W && h == H);
    int n_out = 0;
    double rt_err = mean_abs_outside(round, scene, INP_MARGIN, &n_out);
    fprintf(stderr, "  VAE round trip vs input outside the box (+%d px, %d px): mean |d| %.2f\n",
            INP_MARGIN, n_out, rt_err);

    char graph[4096], ckpt[256], seeds[64], inp_text[256], inter[4400];
    snprintf(inter, sizeof inter, "%s/inter", env.work);
    snprintf(graph, sizeof graph, "%s/graphs/inpaint.json", SDF_SOURCE_DIR);
    snprintf(inp_text, sizeof inp_text, "6.text=%s", INP_PROMPT);
    snprintf(ckpt, sizeof ckpt, "4.ckpt_name=%s", DEMO_MODEL_FILE);
    snprintf(seeds, sizeof seeds, "3.seed=1..%d", INP_SEEDS);
    /* the graph's own sampler (euler_ancestral / normal, denoise 1, grow_mask_by 6) */
    const char *args[] = {graph, "--set", ckpt, "--set", "10.image=inp_in.png", "--set",
                          inp_text, "--set", "7.text=", "--set", "3.cfg=5",
                          "--set", "3.steps=20", "--set", "9.filename_prefix=inp", "--sweep",
                          seeds, "--save-intermediates", inter, NULL};
    REQUIRE(demo_run(&env, "edit", args) == 0);
    /* the sampler kept the latent outside the (grown) mask: KSampler's output (node 3, last seed)
       equals VAEEncodeForInpaint's latent (node 11) on every latent cell whose 4x4 pixels lie
       outside the box grown by INP_MARGIN */
    char p3[4400], p11[4400];
    snprintf(p3, sizeof p3, "%s/3.0.safetensors", inter);
    snprintf(p11, sizeof p11, "%s/11.0.safetensors", inter);
    double lat_err = latent_outside_diff(p3, p11);
    fprintf(stderr, "  inpaint latent outside the box (+%d px): max |sampled - encoded| %.3g\n",
            INP_MARGIN, lat_err);
    CHECKF(lat_err >= 0 && lat_err <= 1e-5, "outside latent changed by %.3g", lat_err);
    int green = 0;
    const int gi = demo_color_index(&pal, "green");
    for (int k = 0; k < INP_SEEDS; k++) {
        demo_out_path(&env, "edit", "inp", k + 1, path, sizeof path);
        uint8_t *rgb = demo_png_rgb(path, &w, &h);
        CHECK(rgb && w == W && h == H);
        if (!rgb || w != W || h != H) {
            sdf_free(rgb);
            continue;
        }
        uint8_t cls[W * H];
        demo_classify(&pal, rgb, W, H, 3, cls);
        int cnt[DEMO_MAX_COLORS] = {0}, n_box = 0;
        for (int y = BOX_Y0; y < BOX_Y1; y++)
            for (int x = BOX_X0; x < BOX_X1; x++) {
                cnt[cls[y * W + x]]++;
                n_box++;
            }
        int dom = demo_argmax(cnt, pal.n);
        double err = mean_abs_outside(rgb, round, INP_MARGIN, &n_out);
        double err_in = mean_abs_outside(rgb, scene, INP_MARGIN, &n_out);
        demo_reading r;
        demo_analyze(&pal, cls, W, H, NULL, &r);
        double agree = class_agreement_outside(rgb, round);
        fprintf(stderr, "  inpaint seed %d: box dominant %s (%d of %d px green), outside: "
                "|out - round trip| %.2f, |out - input| %.2f, same class as round trip %.1f %%; "
                "whole picture bg %s\n", k + 1, pal.name[dom], cnt[gi], n_box, err, err_in,
                100 * agree, pal.name[r.bg]);
        CHECKF(agree >= INP_MIN_AGREE, "seed %d: %.1f %% of outside pixels keep their class", k + 1,
               100 * agree);
        green += dom == gi && cnt[gi] >= INP_GREEN_FRAC * n_box;
        CHECKF(err <= INP_TOL, "seed %d: outside differs from the VAE round trip by %.2f", k + 1,
               err);
        sdf_free(rgb);
    }
    CHECKF(green >= INP_MIN_GREEN, "%d of %d inpainted boxes mostly green", green, INP_SEEDS);
    sdf_free(round);
}

/* Fraction of teal among the foreground and whether teal is the object colour. */
static void teal_reading(const demo_palette *p, const char *path, int *is_teal, double *frac,
                         int *bg_white) {
    int w = 0, h = 0;
    uint8_t *rgb = demo_png_rgb(path, &w, &h);
    *is_teal = 0;
    *frac = 0;
    *bg_white = 0;
    CHECK(rgb && w == W && h == H);
    if (!rgb || w != W || h != H) {
        sdf_free(rgb);
        return;
    }
    uint8_t cls[W * H];
    demo_classify(p, rgb, W, H, 3, cls);
    demo_reading r;
    demo_analyze(p, cls, W, H, NULL, &r);
    int ti = demo_color_index(p, "teal");
    *is_teal = r.has_object && r.color == ti;
    *frac = r.area ? (double)r.counts[ti] / r.area : 0;
    *bg_white = r.bg == demo_color_index(p, "white");
    sdf_free(rgb);
}

static void test_lora_teal(void) {
    if (!skip_or_require()) return;
    char lora[4400];
    snprintf(lora, sizeof lora, "%s/loras/" DEMO_LORA_FILE, env.models);
    if (!demo_file_exists(lora)) {
        fprintf(stderr, "  SKIP test_lora_teal: %s is absent (the teal LoRA is trained and "
                "committed separately; this part runs once it is there)\n", lora);
        return;
    }
    char g[4400], json[2048];
    snprintf(json, sizeof json,
             "{\"4\": {\"class_type\": \"CheckpointLoaderSimple\", \"inputs\": {\"ckpt_name\": "
             "\"%s\"}},\n \"10\": {\"class_type\": \"LoraLoader\", \"inputs\": {\"model\": [\"4\", "
             "0], \"clip\": [\"4\", 1], \"lora_name\": \"%s\", \"strength_model\": 1.0, "
             "\"strength_clip\": 1.0}},\n \"6\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": "
             "{\"text\": \"a teal circle on a white background\", \"clip\": [\"10\", 1]}},\n "
             "\"7\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"\", \"clip\": "
             "[\"10\", 1]}},\n \"5\": {\"class_type\": \"EmptyLatentImage\", \"inputs\": "
             "{\"width\": 128, \"height\": 128, \"batch_size\": 1}},\n \"3\": {\"class_type\": "
             "\"KSampler\", \"inputs\": {\"model\": [\"10\", 0], \"seed\": 1, \"steps\": 20, "
             "\"cfg\": 5.0, \"sampler_name\": \"euler\", \"scheduler\": \"normal\", \"positive\": "
             "[\"6\", 0], \"negative\": [\"7\", 0], \"latent_image\": [\"5\", 0], \"denoise\": "
             "1.0}},\n \"8\": {\"class_type\": \"VAEDecode\", \"inputs\": {\"samples\": [\"3\", 0], "
             "\"vae\": [\"4\", 2]}},\n \"9\": {\"class_type\": \"SaveImage\", \"inputs\": "
             "{\"images\": [\"8\", 0], \"filename_prefix\": \"lora\"}}}\n",
             DEMO_MODEL_FILE, DEMO_LORA_FILE);
    REQUIRE(demo_write_file(&env, "lora.json", json, g, sizeof g) == 0);
    char seeds[64], ckpt[256], t2i[4096];
    snprintf(seeds, sizeof seeds, "3.seed=1..%d", LORA_SEEDS);
    snprintf(ckpt, sizeof ckpt, "4.ckpt_name=%s", DEMO_MODEL_FILE);
    snprintf(t2i, sizeof t2i, "%s/graphs/txt2img.json", SDF_SOURCE_DIR);
    const char *with[] = {g, "--sweep", seeds, NULL};
    REQUIRE(demo_run(&env, "lora", with) == 0);
    const char *without[] = {t2i, "--set", ckpt, "--set",
                             "6.text=a teal circle on a white background", "--set", "7.text=",
                             "--set", "5.width=128", "--set", "5.height=128", "--set", "3.cfg=5",
                             "--set", "3.steps=20", "--set", "3.sampler_name=euler", "--set",
                             "3.scheduler=normal", "--set", "9.filename_prefix=nolora", "--sweep",
                             seeds, NULL};
    REQUIRE(demo_run(&env, "lora", without) == 0);
    demo_palette p = pal;
    REQUIRE(demo_palette_add(&p, "teal", 0, 128, 128));
    int n_with = 0, n_without = 0;
    for (int k = 0; k < LORA_SEEDS; k++) {
        char path[4400];
        int teal, white;
        double frac;
        demo_out_path(&env, "lora", "lora", k + 1, path, sizeof path);
        teal_reading(&p, path, &teal, &frac, &white);
        fprintf(stderr, "  seed %d with LoRA:    teal object %d (%.0f %% of foreground teal), "
                "white background %d\n", k + 1, teal, 100 * frac, white);
        n_with += teal && frac >= 0.5;
        demo_out_path(&env, "lora", "nolora", k + 1, path, sizeof path);
        teal_reading(&p, path, &teal, &frac, &white);
        fprintf(stderr, "  seed %d without LoRA: teal object %d (%.0f %% of foreground teal), "
                "white background %d\n", k + 1, teal, 100 * frac, white);
        n_without += teal;
    }
    CHECKF(n_with >= LORA_MIN_WITH, "with the LoRA %d of %d pictures are mostly teal", n_with,
           LORA_SEEDS);
    CHECKF(n_without <= LORA_MAX_WITHOUT, "without the LoRA %d of %d pictures are teal",
           n_without, LORA_SEEDS);
}

int main(void) {
    pal = demo_palette_default();
    draw_scene();
    env_rc = demo_env_init(&env, "edit");
    if (env_rc == 77) return 77;
    RUN(test_img2img_keeps_layout);
    RUN(test_inpaint_green_square);
    RUN(test_lora_teal);
    if (env_rc == 0) demo_env_done(&env);
    return test_summary();
}
