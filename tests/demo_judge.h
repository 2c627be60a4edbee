/* demo_judge.h: reads what a 64x64 picture of the demo model shows, by exactly the rules of
 * scripts/demo/analyze.py (the Python evaluator), so that sdflow's semantic end-to-end tests
 * and the model card's Python numbers measure the same thing.
 *
 * Rules (on the 8-bit RGB pixels):
 * 1. every pixel gets the nearest palette colour (squared Euclidean RGB; on a tie the first in
 *    palette order, as numpy's argmin);
 * 2. background = the commonest class on the 2-pixel border frame (rows 0,1,H-2,H-1 and columns
 *    0,1,W-2,W-1, corners counted twice as analyze.py concatenates them; ties: first class);
 * 3. foreground = pixels whose class differs from the background's; fewer than 4: no object;
 * 4. object colour = commonest foreground class; centroid = mean (x+0.5, y+0.5) of the
 *    foreground; position = nearest of the five nominal centres (left, right, top, bottom,
 *    centre; ties: that order);
 * 5. size / shape as analyze.py (area vs the geometric mean of the nominal small and large areas;
 *    square if fill >= 0.88, triangle if top/bottom area < 0.78, else circle);
 * pairs: the centroid of the pixels of each named colour (2-px border excluded) when >= 12 of
 *    them; "left of" / "above" hold when the first centroid is more than 8 px before the second.
 *
 * The palette is data.BACKGROUNDS (10 colours); callers may append colours (e.g. a LoRA's new
 * word) with demo_palette_add. Header-only, no allocation beyond the caller's image, no state.
 */
#ifndef SDF_DEMO_JUDGE_H
#define SDF_DEMO_JUDGE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define DEMO_MAX_COLORS 16
#define DEMO_MAX_SIDE 256

typedef struct demo_palette {
    int n;
    const char *name[DEMO_MAX_COLORS];
    int rgb[DEMO_MAX_COLORS][3];
} demo_palette;

/* data.BACKGROUNDS in its order (COLORS first, then black, gray). */
static inline demo_palette demo_palette_default(void) {
    static const char *const names[10] = {"red",  "orange", "yellow", "green", "blue",
                                          "purple", "pink", "white",  "black", "gray"};
    static const int rgb[10][3] = {{220, 30, 35},  {245, 140, 20}, {245, 225, 40}, {40, 170, 60},
                                   {35, 75, 225},  {135, 45, 190}, {245, 120, 190},
                                   {245, 245, 245}, {20, 20, 20},  {128, 128, 128}};
    demo_palette p;
    memset(&p, 0, sizeof p);
    p.n = 10;
    for (int i = 0; i < 10; i++) {
        p.name[i] = names[i];
        memcpy(p.rgb[i], rgb[i], sizeof rgb[i]);
    }
    return p;
}

static inline bool demo_palette_add(demo_palette *p, const char *name, int r, int g, int b) {
    if (p->n >= DEMO_MAX_COLORS) return false;
    p->name[p->n] = name;
    p->rgb[p->n][0] = r;
    p->rgb[p->n][1] = g;
    p->rgb[p->n][2] = b;
    p->n++;
    return true;
}

/* Index of a colour name in the palette ("grey" = "gray"), -1 when unknown. */
static inline int demo_color_index(const demo_palette *p, const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "grey")) name = "gray";
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->name[i], name)) return i;
    return -1;
}

/* The nominal centres of data.POSITIONS, in its order. */
static const char *const demo_pos_name[5] = {"left", "right", "top", "bottom", "centre"};
static const double demo_pos_xy[5][2] = {{16, 32}, {48, 32}, {32, 16}, {32, 48}, {32, 32}};

static inline int demo_pos_index(const char *name) {
    for (int i = 0; i < 5; i++)
        if (!strcmp(demo_pos_name[i], name)) return i;
    return -1;
}

static inline int demo_classify_pixel(const demo_palette *p, const uint8_t *px) {
    int best = 0;
    long bd = -1;
    for (int k = 0; k < p->n; k++) {
        long d = 0;
        for (int c = 0; c < 3; c++) {
            long e = (long)px[c] - p->rgb[k][c];
            d += e * e;
        }
        if (bd < 0 || d < bd) { /* strict: the first of equal distances wins */
            bd = d;
            best = k;
        }
    }
    return best;
}

/* cls[y*w+x] = palette class of each pixel of an interleaved image (channels 3 or 4). */
static inline void demo_classify(const demo_palette *p, const uint8_t *pix, int w, int h,
                                 int channels, uint8_t *cls) {
    for (int i = 0; i < w * h; i++) cls[i] = (uint8_t)demo_classify_pixel(p, pix + (size_t)i * channels);
}

typedef struct demo_reading {
    int bg;               /* background class */
    int area;             /* foreground pixels */
    bool has_object;      /* area >= 4 */
    int color;            /* commonest foreground class (-1 without object) */
    int color_px;         /* how many foreground pixels have that class */
    double cx, cy;        /* foreground centroid */
    int pos;              /* index into demo_pos_name (-1 without object) */
    bool large;           /* size "large" */
    const char *shape;    /* "circle" | "square" | "triangle" (NULL without object) */
    double fill, top_bottom;
    int counts[DEMO_MAX_COLORS]; /* foreground pixels per class */
} demo_reading;

static inline int demo_argmax(const int *v, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

/* Background class from the 2-px border frame of a class map. */
static inline int demo_border_class(const demo_palette *p, const uint8_t *cls, int w, int h) {
    int cnt[DEMO_MAX_COLORS] = {0};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int times = (y < 2 || y >= h - 2) + (x < 2 || x >= w - 2);
            cnt[cls[y * w + x]] += times;
        }
    return demo_argmax(cnt, p->n);
}

/* Nominal area of a shape of radius r (analyze.NOMINAL_AREA). */
static inline double demo_nominal_area(const char *shape, double r) {
    const double pi = 3.14159265358979323846;
    if (!strcmp(shape, "square")) return (1.72 * r) * (1.72 * r);
    if (!strcmp(shape, "triangle")) return 1.299 * (1.15 * r) * (1.15 * r);
    return pi * r * r;
}

/* analyze.analyze: expect_shape (may be NULL) picks the size threshold as analyze.py does. */
static inline void demo_analyze(const demo_palette *p, const uint8_t *cls, int w, int h,
                                const char *expect_shape, demo_reading *out) {
    memset(out, 0, sizeof *out);
    out->bg = demo_border_class(p, cls, w, h);
    out->color = out->pos = -1;
    double sx = 0, sy = 0;
    int colsum[DEMO_MAX_SIDE] = {0}, rowsum[DEMO_MAX_SIDE] = {0};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int c = cls[y * w + x];
            if (c == out->bg) continue;
            out->area++;
            out->counts[c]++;
            sx += x;
            sy += y;
            colsum[x]++;
            rowsum[y]++;
        }
    if (out->area < 4) return;
    out->has_object = true;
    out->color = demo_argmax(out->counts, p->n);
    out->color_px = out->counts[out->color];
    out->cx = sx / out->area + 0.5;
    out->cy = sy / out->area + 0.5;
    double bd = 0;
    for (int i = 0; i < 5; i++) {
        double dx = demo_pos_xy[i][0] - out->cx, dy = demo_pos_xy[i][1] - out->cy;
        double d = dx * dx + dy * dy;
        if (i == 0 || d < bd) {
            bd = d;
            out->pos = i;
        }
    }
    int c0 = -1, c1 = -1, r0 = -1, r1 = -1;
    for (int x = 0; x < w; x++)
        if (colsum[x] >= 2) {
            if (c0 < 0) c0 = x;
            c1 = x;
        }
    for (int y = 0; y < h; y++)
        if (rowsum[y] >= 2) {
            if (r0 < 0) r0 = y;
            r1 = y;
        }
    double box = (c0 >= 0 && r0 >= 0) ? (double)(c1 - c0 + 1) * (r1 - r0 + 1) : out->area;
    out->fill = out->area / (box > 1.0 ? box : 1.0);
    out->top_bottom = 1.0;
    if (r0 >= 0) {
        double mid = (r0 + r1 + 1) / 2.0;
        int top = 0, bot = 0;
        for (int y = 0; y < h; y++) {
            if (y < mid) top += rowsum[y];
            else bot += rowsum[y];
        }
        out->top_bottom = (double)top / (bot > 1 ? bot : 1.0);
    }
    out->shape = out->fill >= 0.88 ? "square" : (out->top_bottom < 0.78 ? "triangle" : "circle");
    const char *s = expect_shape ? expect_shape : out->shape;
    double thr = sqrt(demo_nominal_area(s, 7.0) * demo_nominal_area(s, 13.0));
    out->large = out->area > thr;
}

/* analyze.analyze_pair for one colour: centroid of its pixels with the 2-px frame excluded.
 * Returns false when fewer than 12 such pixels (the colour counts as absent). */
static inline bool demo_color_centroid(const uint8_t *cls, int w, int h, int color, double *cx,
                                       double *cy, int *n_out) {
    double sx = 0, sy = 0;
    int n = 0;
    for (int y = 2; y < h - 2; y++)
        for (int x = 2; x < w - 2; x++)
            if (cls[y * w + x] == color) {
                n++;
                sx += x;
                sy += y;
            }
    if (n_out) *n_out = n;
    if (n < 12) return false;
    *cx = sx / n + 0.5;
    *cy = sy / n + 0.5;
    return true;
}

typedef struct demo_pair_reading {
    int bg;
    bool both;          /* both colours present (>= 12 px each) */
    bool relation;      /* ordered as the relation says by more than 8 px */
    double ax, ay, bx, by;
} demo_pair_reading;

/* analyze.score for a pair case: rel "left" (first left of second) or "above". */
static inline void demo_analyze_pair(const demo_palette *p, const uint8_t *cls, int w, int h,
                                     int c1, int c2, bool rel_left, demo_pair_reading *out) {
    memset(out, 0, sizeof *out);
    out->bg = demo_border_class(p, cls, w, h);
    bool a = c1 >= 0 && demo_color_centroid(cls, w, h, c1, &out->ax, &out->ay, NULL);
    bool b = c2 >= 0 && demo_color_centroid(cls, w, h, c2, &out->bx, &out->by, NULL);
    out->both = a && b;
    if (out->both)
        out->relation = rel_left ? out->ax + 8 < out->bx : out->ay + 8 < out->by;
}

/* ---- drawing (for judge unit tests and edit-test inputs): data.py's renderer --------------- */

/* Anti-aliased coverage (4x4 supersampling) of a shape at (cx, cy) with radius r, composited in
 * colour rgb over an RGB image (w x h x 3), as data.render does (round half to even is not
 * needed: values are rounded with +0.5 on non-negative numbers). */
static inline void demo_draw_shape(uint8_t *img, int w, int h, const char *shape, double cx,
                                   double cy, double r, const int rgb[3]) {
    const int ss = 4;
    double R = r * 1.15, hx = r * 0.86;
    const double pi = 3.14159265358979323846;
    double px[3], py[3];
    for (int i = 0; i < 3; i++) {
        double ang = (-90.0 + 120.0 * i) * pi / 180.0;
        px[i] = cx + R * cos(ang);
        py[i] = cy + R * sin(ang);
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int in = 0;
            for (int sy = 0; sy < ss; sy++)
                for (int sx = 0; sx < ss; sx++) {
                    double X = x + (sx + 0.5) / ss, Y = y + (sy + 0.5) / ss;
                    bool m;
                    if (!strcmp(shape, "circle")) {
                        m = (X - cx) * (X - cx) + (Y - cy) * (Y - cy) <= r * r;
                    } else if (!strcmp(shape, "square")) {
                        m = fabs(X - cx) <= hx && fabs(Y - cy) <= hx;
                    } else {
                        m = true;
                        for (int i = 0; i < 3; i++) {
                            double xa = px[i], ya = py[i], xb = px[(i + 1) % 3], yb = py[(i + 1) % 3];
                            m = m && (xb - xa) * (Y - ya) - (yb - ya) * (X - xa) >= 0;
                        }
                    }
                    in += m;
                }
            if (!in) continue;
            double cov = in / (double)(ss * ss);
            uint8_t *q = img + ((size_t)y * w + x) * 3;
            for (int c = 0; c < 3; c++) {
                double v = q[c] * (1 - cov) + rgb[c] * cov;
                q[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : floor(v + 0.5));
            }
        }
}

static inline void demo_fill(uint8_t *img, int w, int h, const int rgb[3]) {
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++) img[i * 3 + c] = (uint8_t)rgb[c];
}

#endif
