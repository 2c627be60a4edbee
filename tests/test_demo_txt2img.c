/* test_demo_txt2img.c: the demo model draws what held-out captions say (issue 8 §4), through the
 * `sdflow` CLI only. For the held-out cases of models/sdflow-demo-v1-held-out.json (colour /
 * shape / background combinations and two-object pairs never rendered in training) it runs
 * graphs/txt2img.json (one copy per case and seed with node 6's caption and node 3's seed set;
 * each case has its own seeds 1000+2i and 1001+2i) with --set for the rest (demo checkpoint,
 * 128x128 latent -> 64x64 picture, 20 steps, CFG 5, negative prompt ""), all files in one
 * `sdflow run` per sampler/scheduler (the model loads once), then
 * reads every picture with tests/demo_judge.h (= scripts/demo/analyze.py) and scores:
 *   singles: background colour, object colour, nominal position (size and shape are printed);
 *   pairs:   both named colours present (>= 12 px), and their centroids ordered as the relation
 *            says by more than 8 px.
 * It prints an accuracy table per sampler/scheduler and the time per picture, and asserts the
 * thresholds below, measured on the committed model.
 *
 * Which cases (deterministic subsets, so that CI stays fast; every case is a fixed seed):
 *   default (Release):       every 9th single (18, all positions and both sizes), every 3rd pair
 *                            (6, both relations), 2 seeds per case, 4 sampler/scheduler pairs;
 *   sanitizer build:         every 33rd single (5, positions left/right/bottom/centre, both
 *                            sizes) and pair 0, one seed per case; asserts the pooled single
 *                            thresholds only (pairs printed: 4 pictures measure nothing).
 *                            ASan+UBSan runs ~20x slower (3 CPU s a picture): 24 pictures,
 *                            about a minute and a half. The pictures are bit-identical to the
 *                            Release build's for the same case and seed;
 *   SDF_DEMO_FULL=1:         all 176 cases, 2 seeds per case, the 4 samplers x {normal,
 *                            karras} (8 columns), for the model card's table.
 * SDF_DEMO_KEEP=1 keeps the pictures and readings.tsv (one line per picture) in the scratch folder;
 * SDF_DEMO_MODELS=DIR judges the checkpoint in DIR/checkpoints instead of the committed one.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../core/base/alloc.h"
#include "demo_cases.h"
#include "demo_cli.h"
#include "demo_judge.h"
#include "testing.h"

/* ---- thresholds (fractions of pictures) ------------------------------------------------------
 * Measured through this test on the committed model (sha256 c9b4a5e7..., the 2-stage run3 file):
 * CI subset, 144 single + 48 pair pictures: object colour 47.9 %, position 64.6 %, pairs with both
 * colours 50.0 % (per sampler/scheduler: colour 44-53 %, position 61-72 %); the full table
 * (SDF_DEMO_FULL=1) is in the report for models/README.md. Each threshold keeps a margin of about
 * a quarter of the measured value and stays far above chance (colour 12.5 %, position 20 %).
 * Background colour (9.0 %) and the pair relation (14.6 %) are at or below chance for this model
 * (scripts/demo/evaluate.py, the torch reference, measures the same: background 12.5 %): they are
 * printed but not asserted (TH_OFF) until a model draws them; then give them a number. */
#define TH_OFF -1.0
#define TH_BG TH_OFF        /* singles: background colour, pooled over samplers */
#define TH_COLOR 0.35       /* singles: object colour */
#define TH_POS 0.50         /* singles: nominal position of the foreground centroid */
#define TH_PAIR_BOTH 0.35   /* pairs: both named colours present */
#define TH_PAIR_REL TH_OFF  /* pairs: and ordered as the relation says */
#define TH_CFG_COLOR 0.30   /* every sampler/scheduler alone (Release subset and full set) */
#define TH_CFG_POS 0.45

typedef struct config {
    const char *sampler, *scheduler;
} config;

typedef struct tally {
    int singles, bg, color, pos, size, shape;
    int pairs, pair_bg, both, rel;
    double seconds, cpu;
    int images;
} tally;

static demo_env env;
static demo_palette pal;
static demo_cases cases;
static int env_rc;

static double pct(int a, int b) { return b ? 100.0 * a / b : 0.0; }

/* The seed of picture `slot` (0..n_seeds-1) of held-out case i: every case has its own seeds, so
 * that accuracy measures the model and not two noise draws shared by all captions (with a
 * seed shared across captions the background colour of this small model follows the noise). */
static int case_seed(int i, int slot) { return 1000 + 2 * i + slot; }

/* graphs/txt2img.json with node 6's text and node 3's seed set for one case; the rest comes from
 * --set on the command line. Returns the path written (sdf_malloc'd) or NULL. */
static char *write_case_graph(const cJSON *base, int i, int slot) {
    cJSON *g = cJSON_Duplicate(base, 1);
    cJSON *in6 = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(g, "6"), "inputs");
    cJSON *in3 = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(g, "3"), "inputs");
    char *text = NULL, *path = NULL;
    if (in6 && in3 &&
        cJSON_ReplaceItemInObjectCaseSensitive(in6, "text", cJSON_CreateString(cases.v[i].caption)) &&
        cJSON_ReplaceItemInObjectCaseSensitive(in3, "seed", cJSON_CreateNumber(case_seed(i, slot))))
        text = cJSON_PrintUnformatted(g);
    cJSON_Delete(g);
    if (!text) return NULL;
    char name[64], buf[4400];
    snprintf(name, sizeof name, "case%03d_s%d.json", i, slot);
    if (demo_write_file(&env, name, text, buf, sizeof buf) == 0 && (path = sdf_malloc(strlen(buf) + 1)))
        memcpy(path, buf, strlen(buf) + 1);
    cJSON_free(text);
    return path;
}

static void score_image(const demo_case *c, const uint8_t *rgb, tally *t, FILE *tsv,
                        const config *cf, int seed) {
    uint8_t cls[64 * 64];
    demo_classify(&pal, rgb, 64, 64, 3, cls);
    if (!c->pair) {
        demo_reading r;
        demo_analyze(&pal, cls, 64, 64, c->shape, &r);
        t->singles++;
        t->bg += r.bg == c->bg;
        t->color += r.has_object && r.color == c->color;
        t->pos += r.has_object && r.pos == c->pos;
        t->size += r.has_object && r.large == c->large;
        t->shape += r.has_object && !strcmp(r.shape, c->shape);
        if (tsv)
            fprintf(tsv, "%s\t%s\t%d\t%s\tsingle\tbg=%s\tcolor=%s\tcx=%.4f\tcy=%.4f\tpos=%s\t"
                    "size=%s\tshape=%s\tarea=%d\n", cf->sampler, cf->scheduler, seed, c->caption,
                    pal.name[r.bg], r.has_object ? pal.name[r.color] : "-", r.cx, r.cy,
                    r.has_object ? demo_pos_name[r.pos] : "-",
                    r.has_object ? (r.large ? "large" : "small") : "-",
                    r.has_object ? r.shape : "-", r.area);
    } else {
        demo_pair_reading p;
        demo_analyze_pair(&pal, cls, 64, 64, c->color, c->color2, c->rel_left, &p);
        t->pairs++;
        t->pair_bg += p.bg == c->bg;
        t->both += p.both;
        t->rel += p.relation;
        if (tsv)
            fprintf(tsv, "%s\t%s\t%d\t%s\tpair\tbg=%s\tboth=%d\trel=%d\ta=%.4f,%.4f\tb=%.4f,%.4f\n",
                    cf->sampler, cf->scheduler, seed, c->caption, pal.name[p.bg], p.both,
                    p.relation, p.ax, p.ay, p.bx, p.by);
    }
}

/* One sdflow process per sampler/scheduler, given every case's graph file (the model loads once,
 * the prompt encodings are cached); picture k is that of file k. */
static int run_config(const config *cf, char *const *files, const int *file_case,
                      const int *file_seed, int n_files, tally *t, FILE *tsv) {
    char prefix[128], sets[8][160];
    snprintf(prefix, sizeof prefix, "%s_%s", cf->sampler, cf->scheduler);
    snprintf(sets[0], sizeof sets[0], "4.ckpt_name=%s", DEMO_MODEL_FILE);
    snprintf(sets[1], sizeof sets[1], "3.sampler_name=%s", cf->sampler);
    snprintf(sets[2], sizeof sets[2], "3.scheduler=%s", cf->scheduler);
    snprintf(sets[3], sizeof sets[3], "9.filename_prefix=%s", prefix);
    const char *opts[] = {"--set", sets[0], "--set", sets[1], "--set", sets[2], "--set", sets[3],
                          "--set", "5.width=128", "--set", "5.height=128", "--set", "3.steps=20",
                          "--set", "3.cfg=5", "--set", "3.denoise=1", "--set", "7.text=", NULL};
    int n_opts = (int)(sizeof opts / sizeof *opts) - 1;
    const char **args = sdf_calloc((size_t)(n_files + n_opts + 1), sizeof *args);
    if (!args) return -1;
    for (int k = 0; k < n_files; k++) args[k] = files[k];
    for (int k = 0; k < n_opts; k++) args[n_files + k] = opts[k];
    double t0 = demo_now();
    int rc = demo_run(&env, "txt2img", args);
    sdf_free(args);
    t->seconds += demo_now() - t0;
    t->cpu += env.last_cpu;
    if (rc != 0) return -1;
    int missing = 0;
    for (int k = 0; k < n_files; k++) {
        char path[4400];
        demo_out_path(&env, "txt2img", prefix, k + 1, path, sizeof path);
        int w = 0, h = 0;
        char *params = NULL;
        uint8_t *rgb = demo_png_rgb_text(path, &w, &h, "parameters", &params);
        /* the picture is the one of this caption and seed (its A1111 "parameters" text: the
           prompt on the first line, then "..., Seed: N, ...") */
        const char *cap = cases.v[file_case[k]].caption;
        char seed_txt[32];
        snprintf(seed_txt, sizeof seed_txt, "Seed: %d,", file_seed[k]);
        int match = params && !strncmp(params, cap, strlen(cap)) && params[strlen(cap)] == '\n' &&
                    strstr(params, seed_txt);
        sdf_free(params);
        if (!rgb || w != 64 || h != 64 || !match) {
            fprintf(stderr, "  %s: missing, not 64x64 (%dx%d) or not of \"%s\" seed %d\n", path, w,
                    h, cap, file_seed[k]);
            missing++;
            sdf_free(rgb);
            continue;
        }
        t->images++;
        score_image(&cases.v[file_case[k]], rgb, t, tsv, cf, file_seed[k]);
        sdf_free(rgb);
    }
    return missing ? -1 : 0;
}

static void tally_add(tally *s, const tally *a) {
    s->singles += a->singles;
    s->bg += a->bg;
    s->color += a->color;
    s->pos += a->pos;
    s->size += a->size;
    s->shape += a->shape;
    s->pairs += a->pairs;
    s->pair_bg += a->pair_bg;
    s->both += a->both;
    s->rel += a->rel;
    s->seconds += a->seconds;
    s->cpu += a->cpu;
    s->images += a->images;
}

static void print_header(void) {
    printf("| sampler | scheduler | pictures | background | object colour | position | size | "
           "shape | pairs: background | pairs: both colours | pairs: relation | wall s/picture | "
           "CPU s/picture |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
}

static void print_row(const char *a, const char *b, const tally *t) {
    printf("| %s | %s | %d + %d | %.1f %% | %.1f %% | %.1f %% | %.1f %% | %.1f %% | %.1f %% | "
           "%.1f %% | %.1f %% | %.3f | %.3f |\n", a, b, t->singles, t->pairs, pct(t->bg, t->singles),
           pct(t->color, t->singles), pct(t->pos, t->singles), pct(t->size, t->singles),
           pct(t->shape, t->singles), pct(t->pair_bg, t->pairs), pct(t->both, t->pairs),
           pct(t->rel, t->pairs), t->images ? t->seconds / t->images : 0.0,
           t->images ? t->cpu / t->images : 0.0);
}

static void check_at_least(const char *what, const char *who, int a, int b, double th) {
    double f = b ? (double)a / b : 0.0;
    if (th == TH_OFF) {
        fprintf(stderr, "  %s %s: %d/%d = %.1f %% (not asserted)\n", who, what, a, b, 100 * f);
        return;
    }
    CHECKF(b > 0 && f >= th, "%s %s: %d/%d = %.1f %% < threshold %.0f %%", who, what, a, b,
           100 * f, 100 * th);
}

static void test_held_out_accuracy(void) {
    REQUIRE(env_rc == 0);
    const int full = demo_env_flag("SDF_DEMO_FULL");
    static const config quick[] = {{"euler", "normal"}, {"dpmpp_2m", "karras"},
                                   {"ddim", "normal"}, {"euler_ancestral", "karras"}};
    static const config all[] = {{"euler", "normal"},           {"euler", "karras"},
                                 {"dpmpp_2m", "normal"},        {"dpmpp_2m", "karras"},
                                 {"ddim", "normal"},            {"ddim", "karras"},
                                 {"euler_ancestral", "normal"}, {"euler_ancestral", "karras"}};
    const config *cfg = full ? all : quick;
    int n_cfg = full ? 8 : 4;
    int n_seeds = (DEMO_SANITIZED && !full) ? 1 : 2;
    int single_stride = full ? 1 : DEMO_SANITIZED ? 33 : 9;
    int *idx = sdf_calloc((size_t)cases.n, sizeof *idx);
    REQUIRE(idx);
    int n = 0, si = 0, pi = 0;
    for (int i = 0; i < cases.n; i++) {
        if (!cases.v[i].pair) {
            if (si++ % single_stride == 0) idx[n++] = i;
        } else {
            int keep = full ? 1 : DEMO_SANITIZED ? (pi == 0) : (pi % 3 == 0);
            pi++;
            if (keep) idx[n++] = i;
        }
    }
    fprintf(stderr, "  %s: %d of %d held-out cases x %d seed(s) x %d sampler/scheduler pairs\n",
            full ? "full (SDF_DEMO_FULL=1)" : DEMO_SANITIZED ? "sanitizer subset" : "CI subset", n,
            cases.n, n_seeds, n_cfg);
    /* one graph file per case and seed: graphs/txt2img.json with that caption and seed */
    char graph[4400];
    snprintf(graph, sizeof graph, "%s/graphs/txt2img.json", SDF_SOURCE_DIR);
    FILE *gf = fopen(graph, "rb");
    REQUIRE(gf);
    static char gtext[1 << 16];
    size_t gl = fread(gtext, 1, sizeof gtext - 1, gf);
    fclose(gf);
    gtext[gl] = 0;
    cJSON *base = cJSON_Parse(gtext);
    REQUIRE(base);
    int n_files = n * n_seeds;
    char **files = sdf_calloc((size_t)n_files, sizeof *files);
    int *file_case = sdf_calloc((size_t)n_files, sizeof *file_case);
    int *file_seed = sdf_calloc((size_t)n_files, sizeof *file_seed);
    REQUIRE(files && file_case && file_seed);
    int ok_files = 1;
    for (int s = 0, k = 0; s < n_seeds; s++)
        for (int j = 0; j < n; j++, k++) {
            file_case[k] = idx[j];
            file_seed[k] = case_seed(idx[j], s);
            ok_files &= (files[k] = write_case_graph(base, idx[j], s)) != NULL;
        }
    cJSON_Delete(base);
    CHECK(ok_files);
    char tsvp[4400];
    snprintf(tsvp, sizeof tsvp, "%s/readings.tsv", env.work);
    FILE *tsv = fopen(tsvp, "w");
    tally t[8], sum;
    memset(t, 0, sizeof t);
    memset(&sum, 0, sizeof sum);
    for (int c = 0; c < n_cfg && ok_files; c++) {
        CHECKF(run_config(&cfg[c], files, file_case, file_seed, n_files, &t[c], tsv) == 0,
               "%s/%s run failed", cfg[c].sampler, cfg[c].scheduler);
        tally_add(&sum, &t[c]);
    }
    if (tsv) fclose(tsv);
    for (int k = 0; k < n_files; k++) sdf_free(files[k]);
    sdf_free(files);
    sdf_free(file_case);
    sdf_free(file_seed);
    printf("\nHeld-out accuracy through the sdflow CLI (%d-case %s, %d seed(s) per case: case i "
           "has 1000+2i%s", n, full ? "full set" : "subset", n_seeds, n_seeds > 1 ? ", 1001+2i" : "");
    printf("; 20 steps, CFG 5, 64x64, 2 threads; s/picture: wall clock and CPU time of the "
           "sdflow process, model load included)\n\n");
    print_header();
    for (int c = 0; c < n_cfg; c++) print_row(cfg[c].sampler, cfg[c].scheduler, &t[c]);
    print_row("all", "", &sum);
    printf("\nchance: background 10 %%, object colour 12.5 %%, position 20 %%\n");
    fflush(stdout);
    check_at_least("background", "all", sum.bg, sum.singles, TH_BG);
    check_at_least("object colour", "all", sum.color, sum.singles, TH_COLOR);
    check_at_least("position", "all", sum.pos, sum.singles, TH_POS);
    /* a sanitizer run draws one pair per sampler: too few to measure, printed only */
    const int pairs_asserted = !(DEMO_SANITIZED && !full);
    check_at_least("pairs: both colours", "all", sum.both, sum.pairs,
                   pairs_asserted ? TH_PAIR_BOTH : TH_OFF);
    check_at_least("pairs: relation", "all", sum.rel, sum.pairs,
                   pairs_asserted ? TH_PAIR_REL : TH_OFF);
    for (int c = 0; c < n_cfg && !(DEMO_SANITIZED && !full); c++) {
        char who[64];
        snprintf(who, sizeof who, "%s/%s", cfg[c].sampler, cfg[c].scheduler);
        check_at_least("object colour", who, t[c].color, t[c].singles, TH_CFG_COLOR);
        check_at_least("position", who, t[c].pos, t[c].singles, TH_CFG_POS);
    }
    sdf_free(idx);
}

int main(void) {
    pal = demo_palette_default();
    env_rc = demo_env_init(&env, "txt2img");
    if (env_rc == 77) return 77;
    if (env_rc == 0) {
        char why[512];
        if (!demo_cases_load(SDF_SOURCE_DIR "/models/sdflow-demo-v1-held-out.json", &pal, &cases,
                             why, sizeof why)) {
            fprintf(stderr, "FAIL: %s\n", why);
            env_rc = 1;
        }
    }
    RUN(test_held_out_accuracy);
    demo_cases_free(&cases);
    if (env_rc == 0) demo_env_done(&env);
    return test_summary();
}
