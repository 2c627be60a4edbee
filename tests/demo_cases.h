/* demo_cases.h: the held-out evaluation cases of the demo model
 * (models/sdflow-demo-v1-held-out.json, written by scripts/demo/data.py) for the semantic tests.
 *
 * Owns:      parsing that file with cJSON into a flat array of demo_case (captions copied), and
 *            checking its palette / positions against the judge's built-in ones, so the Python
 *            and C rules cannot drift apart silently.
 * Ownership: demo_cases_load fills a demo_cases the caller releases with demo_cases_free.
 * Threads:   no shared state.
 */
#ifndef SDF_DEMO_CASES_H
#define SDF_DEMO_CASES_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../core/base/alloc.h"
#include "demo_judge.h"

typedef struct demo_case {
    bool pair;
    char caption[160];
    char shape[16], shape2[16];
    int color, color2, bg; /* palette classes (color2 for pairs) */
    int pos;               /* singles: index into demo_pos_name */
    bool large;            /* singles */
    bool rel_left;         /* pairs: "left" (else "above") */
} demo_case;

typedef struct demo_cases {
    demo_case *v;
    int n, n_single, n_pair;
} demo_cases;

static inline void demo_cases_free(demo_cases *c) {
    sdf_free(c->v);
    memset(c, 0, sizeof *c);
}

static inline const char *demo_json_str(const cJSON *o, const char *key) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* Returns false (with a message in why) on a missing or malformed file, or when its palette or
 * nominal positions differ from the judge's. */
static inline bool demo_cases_load(const char *path, const demo_palette *pal, demo_cases *out,
                                   char *why, size_t why_n) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_n, "%s: cannot open", path);
        return false;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = sz > 0 && sz < (1 << 24) ? sdf_malloc((size_t)sz + 1) : NULL;
    size_t got = text ? fread(text, 1, (size_t)sz, f) : 0;
    fclose(f);
    if (!text || got != (size_t)sz) {
        sdf_free(text);
        snprintf(why, why_n, "%s: cannot read", path);
        return false;
    }
    text[sz] = 0;
    cJSON *doc = cJSON_Parse(text);
    sdf_free(text);
    bool ok = false;
    const cJSON *palj = cJSON_GetObjectItemCaseSensitive(doc, "palette");
    const cJSON *posj = cJSON_GetObjectItemCaseSensitive(doc, "positions");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(doc, "cases");
    if (!doc || !cJSON_IsObject(palj) || !cJSON_IsObject(posj) || !cJSON_IsArray(cases)) {
        snprintf(why, why_n, "%s: not the held-out file (palette, positions, cases)", path);
        goto done;
    }
    int np = 0;
    for (const cJSON *c = palj->child; c; c = c->next, np++) {
        int k = demo_color_index(pal, c->string);
        if (k != np || cJSON_GetArraySize(c) != 3) {
            snprintf(why, why_n, "%s: palette entry %d '%s' differs from the judge's", path, np,
                     c->string);
            goto done;
        }
        for (int i = 0; i < 3; i++) {
            const cJSON *v = cJSON_GetArrayItem(c, i);
            if (!cJSON_IsNumber(v) || v->valueint != pal->rgb[k][i]) {
                snprintf(why, why_n, "%s: palette '%s' differs from the judge's", path, c->string);
                goto done;
            }
        }
    }
    if (np != 10) {
        snprintf(why, why_n, "%s: %d palette colours, the judge has 10", path, np);
        goto done;
    }
    for (const cJSON *c = posj->child; c; c = c->next) {
        int k = demo_pos_index(c->string);
        const cJSON *x = cJSON_GetArrayItem(c, 0), *y = cJSON_GetArrayItem(c, 1);
        if (k < 0 || !cJSON_IsNumber(x) || !cJSON_IsNumber(y) ||
            x->valuedouble != demo_pos_xy[k][0] || y->valuedouble != demo_pos_xy[k][1]) {
            snprintf(why, why_n, "%s: position '%s' differs from the judge's", path, c->string);
            goto done;
        }
    }
    int n = cJSON_GetArraySize(cases);
    out->v = sdf_calloc(n > 0 ? (size_t)n : 1, sizeof *out->v);
    if (!out->v) {
        snprintf(why, why_n, "out of memory");
        goto done;
    }
    for (const cJSON *c = cases->child; c; c = c->next) {
        demo_case *d = &out->v[out->n];
        const char *kind = demo_json_str(c, "kind"), *cap = demo_json_str(c, "caption");
        const char *col = demo_json_str(c, "color"), *bg = demo_json_str(c, "bg");
        const char *shape = demo_json_str(c, "shape");
        if (!kind || !cap || !col || !bg || !shape || strlen(cap) >= sizeof d->caption) {
            snprintf(why, why_n, "%s: case %d lacks kind/caption/color/bg/shape", path, out->n);
            goto done;
        }
        snprintf(d->caption, sizeof d->caption, "%s", cap);
        snprintf(d->shape, sizeof d->shape, "%s", shape);
        d->color = demo_color_index(pal, col);
        d->bg = demo_color_index(pal, bg);
        d->pair = !strcmp(kind, "pair");
        if (d->pair) {
            const char *c2 = demo_json_str(c, "color2"), *s2 = demo_json_str(c, "shape2");
            const char *rel = demo_json_str(c, "rel");
            d->color2 = demo_color_index(pal, c2);
            if (!s2 || !rel || d->color2 < 0 || (strcmp(rel, "left") && strcmp(rel, "above"))) {
                snprintf(why, why_n, "%s: pair case %d malformed", path, out->n);
                goto done;
            }
            snprintf(d->shape2, sizeof d->shape2, "%s", s2);
            d->rel_left = !strcmp(rel, "left");
            out->n_pair++;
        } else {
            const char *pos = demo_json_str(c, "pos"), *size = demo_json_str(c, "size");
            d->pos = pos ? demo_pos_index(pos) : -1;
            if (d->pos < 0 || !size || (strcmp(size, "small") && strcmp(size, "large"))) {
                snprintf(why, why_n, "%s: single case %d malformed", path, out->n);
                goto done;
            }
            d->large = !strcmp(size, "large");
            out->n_single++;
        }
        if (d->color < 0 || d->bg < 0) {
            snprintf(why, why_n, "%s: case %d names an unknown colour", path, out->n);
            goto done;
        }
        out->n++;
    }
    ok = true;
done:
    cJSON_Delete(doc);
    if (!ok) demo_cases_free(out);
    return ok;
}

#endif
