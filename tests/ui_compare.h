/* ui_compare.h: helpers shared by the UI-conversion tests: file reading, running the converter
 * and comparing a produced API prompt with an expected one up to the documented backend
 * additions (workflows/index.md): "is_changed" keys, numbers compared by value (8 vs 8.0, but
 * integer literals compared exactly as text), the dummy "choose file to upload"/"upload"
 * inputs, and inputs the caller allows as extra (historical grow_mask_by). Header-only.
 */
#ifndef SDF_UI_COMPARE_H
#define SDF_UI_COMPARE_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/base/alloc.h"
#include "../core/io/json_exact.h"
#include "../core/io/workflow_ui.h"
#include "testing.h"

static inline char *uc_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = 0;
        *len = (size_t)n;
    }
    return b;
}

typedef struct uc_warnings {
    int  n;
    char last[4][512];
} uc_warnings;

static inline void uc_warn(void *user, const char *msg) {
    uc_warnings *w = user;
    if (!w) return;
    snprintf(w->last[w->n & 3], sizeof w->last[0], "%s", msg);
    w->n++;
}

static inline int uc_warned(const uc_warnings *w, const char *needle) {
    for (int i = 0; i < 4 && i < w->n; i++)
        if (strstr(w->last[i], needle)) return 1;
    return 0;
}

/* Numbers equal: integer literals exactly, otherwise by double value. */
static inline int uc_num_eq(const sdf_json_doc *a, const cJSON *x, const sdf_json_doc *b,
                            const cJSON *y) {
    bool na, nb;
    uint64_t ma, mb;
    if (sdf_json_num_integer(a, x, &na, &ma) && sdf_json_num_integer(b, y, &nb, &mb) &&
        (ma > (1ull << 53) || mb > (1ull << 53)))
        return na == nb && ma == mb;
    return x->valuedouble == y->valuedouble;
}

static inline int uc_value_eq(const sdf_json_doc *a, const cJSON *x, const sdf_json_doc *b,
                              const cJSON *y) {
    if (cJSON_IsNumber(x) || cJSON_IsNumber(y))
        return cJSON_IsNumber(x) && cJSON_IsNumber(y) && uc_num_eq(a, x, b, y);
    if (cJSON_IsString(x) || cJSON_IsString(y))
        return cJSON_IsString(x) && cJSON_IsString(y) && strcmp(x->valuestring, y->valuestring) == 0;
    if (cJSON_IsBool(x) || cJSON_IsBool(y))
        return cJSON_IsBool(x) && cJSON_IsBool(y) && cJSON_IsTrue(x) == cJSON_IsTrue(y);
    if (cJSON_IsNull(x) || cJSON_IsNull(y)) return cJSON_IsNull(x) && cJSON_IsNull(y);
    if (cJSON_IsArray(x) != cJSON_IsArray(y) || cJSON_IsObject(x) != cJSON_IsObject(y)) return 0;
    if (cJSON_GetArraySize(x) != cJSON_GetArraySize(y)) return 0;
    const cJSON *p = x->child, *q = y->child;
    for (; p && q; p = p->next, q = q->next) {
        if (cJSON_IsObject(x) && strcmp(p->string, q->string) != 0) return 0;
        if (!uc_value_eq(a, p, b, q)) return 0;
    }
    return 1;
}

static inline int uc_ignored_key(const char *k) {
    return strcmp(k, "choose file to upload") == 0 || strcmp(k, "upload") == 0;
}

/* Compares got with expected; extra_ok lists "node.input=value" entries the expected file may lack
 * (NULL-terminated). Reports each difference with CHECKF; returns the number of differences. */
static inline int uc_compare(const char *what, const sdf_json_doc *got, const sdf_json_doc *exp,
                             const char *const *extra_ok) {
    int bad = 0;
    const cJSON *g = got->root, *e = exp->root;
    CHECKF(cJSON_GetArraySize(g) == cJSON_GetArraySize(e), "%s: %d nodes, expected %d", what,
           cJSON_GetArraySize(g), cJSON_GetArraySize(e));
    if (cJSON_GetArraySize(g) != cJSON_GetArraySize(e)) bad++;
    /* node key order: integer ids ascending */
    long prev = -1;
    for (const cJSON *gn = g->child; gn; gn = gn->next) {
        long id = strtol(gn->string, NULL, 10);
        CHECKF(id > prev, "%s: node %s out of order", what, gn->string);
        if (id <= prev) bad++;
        prev = id;
    }
    for (const cJSON *en = e->child; en; en = en->next) {
        const cJSON *gn = cJSON_GetObjectItemCaseSensitive(g, en->string);
        CHECKF(gn != NULL, "%s: node %s missing", what, en->string);
        if (!gn) {
            bad++;
            continue;
        }
        const char *ec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(en, "class_type"));
        const char *gc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(gn, "class_type"));
        CHECKF(ec && gc && strcmp(ec, gc) == 0, "%s: node %s class %s vs %s", what, en->string,
               gc ? gc : "?", ec ? ec : "?");
        const cJSON *em = cJSON_GetObjectItemCaseSensitive(en, "_meta");
        if (em) {
            const cJSON *gm = cJSON_GetObjectItemCaseSensitive(gn, "_meta");
            int ok = gm && uc_value_eq(got, gm, exp, em);
            CHECKF(ok, "%s: node %s _meta differs", what, en->string);
            if (!ok) bad++;
        }
        const cJSON *ei = cJSON_GetObjectItemCaseSensitive(en, "inputs");
        const cJSON *gi = cJSON_GetObjectItemCaseSensitive(gn, "inputs");
        if (!cJSON_IsObject(ei) || !cJSON_IsObject(gi)) {
            CHECKF(0, "%s: node %s inputs missing", what, en->string);
            bad++;
            continue;
        }
        /* every expected input present, equal, and in the same relative order */
        const cJSON *cursor = gi->child;
        for (const cJSON *x = ei->child; x; x = x->next) {
            if (uc_ignored_key(x->string)) continue;
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(gi, x->string);
            CHECKF(y != NULL, "%s: node %s input '%s' missing", what, en->string, x->string);
            if (!y) {
                bad++;
                continue;
            }
            int ok = uc_value_eq(got, y, exp, x);
            char *ys = cJSON_PrintUnformatted(y), *xs = cJSON_PrintUnformatted(x);
            CHECKF(ok, "%s: node %s input '%s': %s vs expected %s", what, en->string, x->string,
                   ys ? ys : "?", xs ? xs : "?");
            cJSON_free(ys);
            cJSON_free(xs);
            if (!ok) bad++;
            const cJSON *c = cursor;
            while (c && c != y) c = c->next;
            CHECKF(c != NULL, "%s: node %s input '%s' out of order", what, en->string, x->string);
            if (!c) bad++;
            else cursor = c->next;
        }
        /* nothing produced beyond the expected inputs, except the allowed extras */
        for (const cJSON *y = gi->child; y; y = y->next) {
            if (cJSON_GetObjectItemCaseSensitive(ei, y->string)) continue;
            char key[256];
            char *ys = cJSON_PrintUnformatted(y);
            snprintf(key, sizeof key, "%s.%s=%s", en->string, y->string, ys ? ys : "?");
            cJSON_free(ys);
            int allowed = 0;
            for (int k = 0; extra_ok && extra_ok[k]; k++)
                if (strcmp(extra_ok[k], key) == 0) allowed = 1;
            CHECKF(allowed, "%s: unexpected input %s", what, key);
            if (!allowed) bad++;
        }
    }
    return bad;
}

#endif
