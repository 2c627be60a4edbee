/* test_demo_judge.c: pins the image-reading rules of the demo model's semantic tests
 * (tests/demo_judge.h = scripts/demo/analyze.py) on pictures drawn here, independently of any
 * model: palette classes and their tie rule, the border rule for the background (corners count
 * twice), object colour, centroid, nominal position, size and shape, the two-object rule, and the
 * held-out file's palette and cases (every held-out scene drawn by the training renderer's rules
 * is read back as its caption says). */
#include <stdint.h>

#include "../core/base/alloc.h"
#include "demo_cases.h"
#include "demo_judge.h"
#include "testing.h"

#define W 64
#define H 64

static demo_palette pal;

static int col(const char *name) { return demo_color_index(&pal, name); }

static void scene(uint8_t *img, const char *bg) { demo_fill(img, W, H, pal.rgb[col(bg)]); }

static void draw(uint8_t *img, const char *shape, const char *color, double cx, double cy,
                 double r) {
    demo_draw_shape(img, W, H, shape, cx, cy, r, pal.rgb[col(color)]);
}

static void read_img(const uint8_t *img, const char *expect_shape, demo_reading *r) {
    uint8_t cls[W * H];
    demo_classify(&pal, img, W, H, 3, cls);
    demo_analyze(&pal, cls, W, H, expect_shape, r);
}

static void test_classify_ties_and_names(void) {
    uint8_t px[3] = {74, 74, 74}; /* equidistant from black (20) and gray (128): black is first */
    CHECK_STR(pal.name[demo_classify_pixel(&pal, px)], "black");
    uint8_t g[3] = {128, 128, 128}, o[3] = {240, 135, 30};
    CHECK_STR(pal.name[demo_classify_pixel(&pal, g)], "gray");
    CHECK_STR(pal.name[demo_classify_pixel(&pal, o)], "orange");
    CHECK(demo_color_index(&pal, "grey") == demo_color_index(&pal, "gray"));
    CHECK(demo_color_index(&pal, "teal") == -1);
    demo_palette p2 = pal;
    CHECK(demo_palette_add(&p2, "teal", 0, 128, 128));
    uint8_t t[3] = {10, 120, 130};
    CHECK_STR(p2.name[demo_classify_pixel(&p2, t)], "teal");
    /* without teal in the palette, teal reads as green (nearest of the ten) */
    CHECK_STR(pal.name[demo_classify_pixel(&pal, t)], "green");
}

static void test_red_circle_left_on_blue(void) {
    uint8_t img[W * H * 3];
    scene(img, "blue");
    draw(img, "circle", "red", 16, 32, 13);
    demo_reading r;
    read_img(img, "circle", &r);
    CHECK_STR(pal.name[r.bg], "blue");
    REQUIRE(r.has_object);
    CHECK_STR(pal.name[r.color], "red");
    CHECK_STR(demo_pos_name[r.pos], "left");
    /* the disc is mirror-symmetric about x = 16 and y = 32: the centroid is exact */
    CHECK_NEAR(r.cx, 16.0, 1e-9);
    CHECK_NEAR(r.cy, 32.0, 1e-9);
    CHECK(r.large);
    CHECK_STR(r.shape, "circle");
    /* area close to pi r^2 (anti-aliased edge pixels split between the classes) */
    CHECK_NEAR(r.area, 3.14159265 * 13 * 13, 25);
    CHECK(r.color_px > 0.9 * r.area); /* a few blended edge pixels read as purple */
}

static void test_positions_sizes_shapes(void) {
    static const char *shapes[3] = {"circle", "square", "triangle"};
    int bad = 0;
    for (int s = 0; s < 3; s++)
        for (int p = 0; p < 5; p++)
            for (int large = 0; large < 2; large++) {
                uint8_t img[W * H * 3];
                scene(img, "white");
                draw(img, shapes[s], "purple", demo_pos_xy[p][0], demo_pos_xy[p][1],
                     large ? 13.0 : 7.0);
                demo_reading r;
                read_img(img, shapes[s], &r);
                int ok = r.has_object && r.bg == col("white") && r.color == col("purple") &&
                         r.pos == p && r.large == (bool)large && !strcmp(r.shape, shapes[s]);
                if (!ok) {
                    bad++;
                    fprintf(stderr, "  %s at %s large=%d: bg %s color %s pos %s large %d shape %s "
                            "fill %.3f tb %.3f\n", shapes[s], demo_pos_name[p], large,
                            pal.name[r.bg], r.color >= 0 ? pal.name[r.color] : "-",
                            r.pos >= 0 ? demo_pos_name[r.pos] : "-", r.large,
                            r.shape ? r.shape : "-", r.fill, r.top_bottom);
                }
            }
    CHECK(bad == 0);
    /* a point midway between two nominal centres goes to the first in data.POSITIONS order:
       (24, 24) is 8*sqrt2 from left (16,32) and top (32,16) and centre (32,32) -> "left" */
    uint8_t img[W * H * 3];
    scene(img, "black");
    for (int y = 22; y < 26; y++)
        for (int x = 22; x < 26; x++)
            for (int c = 0; c < 3; c++) img[(y * W + x) * 3 + c] = (uint8_t)pal.rgb[col("yellow")][c];
    demo_reading r;
    read_img(img, NULL, &r);
    REQUIRE(r.has_object);
    CHECK_NEAR(r.cx, 24.0, 1e-12);
    CHECK_NEAR(r.cy, 24.0, 1e-12);
    CHECK_STR(demo_pos_name[r.pos], "left");
    CHECK(r.area == 16);
    CHECK_STR(r.shape, "square"); /* fill 1.0 */
}

static void test_background_border_rule(void) {
    /* 8x8: the 2-px frame is 48 pixels; the four 2x2 corner blocks (16 px, yellow) count twice
       (32), 24 other frame pixels are green (24), 8 red (rows 0-1, x 2-5), the 4x4 inside blue.
       Counting pixels once, green would win; analyze.py concatenates rows and columns (corners
       twice), so yellow does. */
    enum { S = 8 };
    uint8_t img[S * S * 3], cls[S * S];
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int corner = (y < 2 || y >= S - 2) && (x < 2 || x >= S - 2);
            int frame = y < 2 || y >= S - 2 || x < 2 || x >= S - 2;
            const char *c = corner ? "yellow" : !frame ? "blue" : (y < 2) ? "red" : "green";
            for (int k = 0; k < 3; k++) img[(y * S + x) * 3 + k] = (uint8_t)pal.rgb[col(c)][k];
        }
    demo_classify(&pal, img, S, S, 3, cls);
    CHECK_STR(pal.name[demo_border_class(&pal, cls, S, S)], "yellow");
    demo_reading r;
    demo_analyze(&pal, cls, S, S, NULL, &r);
    /* foreground: everything not yellow = 24 green + 8 red + 16 blue; green is commonest */
    CHECK(r.area == 48);
    CHECK_STR(pal.name[r.color], "green");
    /* fewer than 4 foreground pixels: no object */
    uint8_t img2[W * H * 3];
    scene(img2, "gray");
    for (int k = 0; k < 3; k++) img2[(30 * W + 30) * 3 + k] = (uint8_t)pal.rgb[col("red")][k];
    read_img(img2, NULL, &r);
    CHECK(!r.has_object && r.area == 1 && r.color == -1 && r.pos == -1 && !r.shape);
}

static void test_triangle_and_square_shape_rules(void) {
    uint8_t img[W * H * 3];
    scene(img, "gray");
    draw(img, "triangle", "orange", 32, 32, 13);
    demo_reading r;
    read_img(img, NULL, &r);
    REQUIRE(r.has_object);
    CHECK_STR(r.shape, "triangle");
    CHECK(r.top_bottom < 0.78);
    CHECK(r.fill < 0.88);
    /* an upside-down triangle (drawn by flipping rows) has top/bottom > 1: not a triangle */
    uint8_t flip[W * H * 3];
    for (int y = 0; y < H; y++) memcpy(flip + y * W * 3, img + (H - 1 - y) * W * 3, W * 3);
    read_img(flip, NULL, &r);
    CHECK(r.top_bottom > 1.0);
    CHECK_STR(r.shape, "circle");
    scene(img, "gray");
    draw(img, "square", "green", 32, 32, 13);
    read_img(img, NULL, &r);
    CHECK(r.fill >= 0.88);
    CHECK_STR(r.shape, "square");
    /* the size threshold follows the expected shape: a small square's area is
       (1.72*7)^2 = 145, threshold sqrt(145 * 500) = 269 */
    CHECK_NEAR(sqrt(demo_nominal_area("square", 7) * demo_nominal_area("square", 13)), 269.2, 0.1);
}

static void test_pair_rule(void) {
    uint8_t img[W * H * 3], cls[W * H];
    scene(img, "gray");
    draw(img, "circle", "red", 17, 32, 8.5);
    draw(img, "square", "blue", 47, 32, 8.5);
    demo_classify(&pal, img, W, H, 3, cls);
    demo_pair_reading p;
    demo_analyze_pair(&pal, cls, W, H, col("red"), col("blue"), true, &p);
    CHECK_STR(pal.name[p.bg], "gray");
    CHECK(p.both && p.relation);
    CHECK_NEAR(p.ax, 17.0, 1e-9);
    CHECK_NEAR(p.bx, 47.0, 1e-9);
    demo_analyze_pair(&pal, cls, W, H, col("blue"), col("red"), true, &p);
    CHECK(p.both && !p.relation);
    demo_analyze_pair(&pal, cls, W, H, col("red"), col("blue"), false, &p); /* "above": no */
    CHECK(p.both && !p.relation);
    demo_analyze_pair(&pal, cls, W, H, col("red"), col("green"), true, &p);
    CHECK(!p.both && !p.relation);
    /* vertical: a over b by 30 px */
    scene(img, "black");
    draw(img, "triangle", "pink", 32, 17, 8.5);
    draw(img, "circle", "white", 32, 47, 8.5);
    demo_classify(&pal, img, W, H, 3, cls);
    demo_analyze_pair(&pal, cls, W, H, col("pink"), col("white"), false, &p);
    CHECK(p.both && p.relation);
    /* 6 px apart in x (24 in y): "left of" fails (needs more than 8), "above" holds */
    scene(img, "black");
    draw(img, "circle", "pink", 28, 20, 6);
    draw(img, "circle", "white", 34, 44, 6);
    demo_classify(&pal, img, W, H, 3, cls);
    demo_analyze_pair(&pal, cls, W, H, col("pink"), col("white"), true, &p);
    CHECK(p.both && !p.relation);
    CHECK_NEAR(p.bx - p.ax, 6.0, 1e-9);
    demo_analyze_pair(&pal, cls, W, H, col("pink"), col("white"), false, &p);
    CHECK(p.both && p.relation);
    /* fewer than 12 px of a colour (11 here), or only on the 2-px frame: absent */
    scene(img, "black");
    for (int i = 0; i < 11; i++)
        for (int k = 0; k < 3; k++) img[((20 + i) * W + 20) * 3 + k] = (uint8_t)pal.rgb[col("red")][k];
    for (int x = 0; x < W; x++)
        for (int k = 0; k < 3; k++) img[x * 3 + k] = (uint8_t)pal.rgb[col("blue")][k];
    demo_classify(&pal, img, W, H, 3, cls);
    int n = 0;
    double cx, cy;
    CHECK(!demo_color_centroid(cls, W, H, col("red"), &cx, &cy, &n) && n == 11);
    CHECK(!demo_color_centroid(cls, W, H, col("blue"), &cx, &cy, &n) && n == 0);
    for (int k = 0; k < 3; k++) img[(40 * W + 40) * 3 + k] = (uint8_t)pal.rgb[col("red")][k];
    demo_classify(&pal, img, W, H, 3, cls);
    CHECK(demo_color_centroid(cls, W, H, col("red"), &cx, &cy, &n) && n == 12);
}

/* Every held-out case drawn at its nominal place with data.py's rules reads back as captioned:
   singles at the nominal centre and radius, pairs at data.py's pair centres (17 / 47). */
static void test_held_out_cases_drawn(void) {
    demo_cases cs;
    char why[512];
    REQUIRE(demo_cases_load(SDF_SOURCE_DIR "/models/sdflow-demo-v1-held-out.json", &pal, &cs, why,
                            sizeof why) || (fprintf(stderr, "  %s\n", why), 0));
    CHECK(cs.n == 176 && cs.n_single == 160 && cs.n_pair == 16);
    int bad = 0;
    for (int i = 0; i < cs.n; i++) {
        const demo_case *c = &cs.v[i];
        uint8_t img[W * H * 3], cls[W * H];
        demo_fill(img, W, H, pal.rgb[c->bg]);
        if (!c->pair) {
            demo_draw_shape(img, W, H, c->shape, demo_pos_xy[c->pos][0], demo_pos_xy[c->pos][1],
                            c->large ? 13.0 : 7.0, pal.rgb[c->color]);
            demo_reading r;
            demo_classify(&pal, img, W, H, 3, cls);
            demo_analyze(&pal, cls, W, H, c->shape, &r);
            if (!(r.bg == c->bg && r.color == c->color && r.pos == c->pos &&
                  r.large == c->large && !strcmp(r.shape, c->shape))) {
                bad++;
                fprintf(stderr, "  misread: %s\n", c->caption);
            }
        } else {
            double ax = c->rel_left ? 17 : 32, ay = c->rel_left ? 32 : 17;
            double bx = c->rel_left ? 47 : 32, by = c->rel_left ? 32 : 47;
            demo_draw_shape(img, W, H, c->shape, ax, ay, 8.5, pal.rgb[c->color]);
            demo_draw_shape(img, W, H, c->shape2, bx, by, 8.5, pal.rgb[c->color2]);
            demo_pair_reading p;
            demo_classify(&pal, img, W, H, 3, cls);
            demo_analyze_pair(&pal, cls, W, H, c->color, c->color2, c->rel_left, &p);
            if (!(p.bg == c->bg && p.both && p.relation)) {
                bad++;
                fprintf(stderr, "  misread: %s\n", c->caption);
            }
        }
    }
    CHECK(bad == 0);
    demo_cases_free(&cs);
}

/* The loader refuses truncated or altered held-out files with a message. */
static void test_held_out_file_corrupt(void) {
    const char *dir = SDF_BINARY_DIR;
    char path[4096], why[512];
    demo_cases cs;
    snprintf(path, sizeof path, "%s/demo_judge_bad.json", dir);
    const char *bad[] = {
        "",
        "{\"palette\": {\"red\": [220, 30, 35]}, \"positions\": {}, \"cases\": []}",
        "{\"palette\": {\"red\": [220, 30, 36]}, \"positions\": {}, \"cases\": []}",
        "{\"palette\": {\"red\": [220, 30, 35], \"orange\": [245, 140, 20], \"yellow\": [245, 225, "
        "40], \"green\": [40, 170, 60], \"blue\": [35, 75, 225], \"purple\": [135, 45, 190], "
        "\"pink\": [245, 120, 190], \"white\": [245, 245, 245], \"black\": [20, 20, 20], \"gray\": "
        "[128, 128, 128]}, \"positions\": {\"left\": [16, 32]}, \"cases\": [{\"kind\": \"single\", "
        "\"caption\": \"x\", \"color\": \"teal\", \"shape\": \"circle\", \"bg\": \"red\", \"pos\": "
        "\"left\", \"size\": \"small\"}]}",
        "{\"palette\": {\"red\": [220, 30, 35], \"orange\": [245, 140, 20], \"yellow\": [245, 225, "
        "40], \"green\": [40, 170, 60], \"blue\": [35, 75, 225], \"purple\": [135, 45, 190], "
        "\"pink\": [245, 120, 190], \"white\": [245, 245, 245], \"black\": [20, 20, 20], \"gray\": "
        "[128, 128, 128]}, \"positions\": {\"left\": [16, 31]}, \"cases\": []}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        FILE *f = fopen(path, "wb");
        REQUIRE(f);
        fputs(bad[i], f);
        fclose(f);
        why[0] = 0;
        CHECKF(!demo_cases_load(path, &pal, &cs, why, sizeof why), "case %zu accepted", i);
        CHECK(why[0] != 0);
    }
    /* the real file cut short anywhere is refused */
    FILE *f = fopen(SDF_SOURCE_DIR "/models/sdflow-demo-v1-held-out.json", "rb");
    REQUIRE(f);
    static char full[1 << 16];
    size_t n = fread(full, 1, sizeof full - 1, f);
    fclose(f);
    REQUIRE(n > 1000 && n < sizeof full - 1);
    for (size_t cut = 1; cut < n - 3; cut += n / 7) {
        FILE *g = fopen(path, "wb");
        REQUIRE(g);
        fwrite(full, 1, cut, g);
        fclose(g);
        CHECKF(!demo_cases_load(path, &pal, &cs, why, sizeof why), "cut at %zu accepted", cut);
    }
    CHECK(!demo_cases_load("/nonexistent/held-out.json", &pal, &cs, why, sizeof why));
    remove(path);
}

int main(void) {
    pal = demo_palette_default();
    RUN(test_classify_ties_and_names);
    RUN(test_red_circle_left_on_blue);
    RUN(test_positions_sizes_shapes);
    RUN(test_background_border_rule);
    RUN(test_triangle_and_square_shape_rules);
    RUN(test_pair_rule);
    RUN(test_held_out_cases_drawn);
    RUN(test_held_out_file_corrupt);
    return test_summary();
}
