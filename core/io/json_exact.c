#include "json_exact.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"

void sdf_json_line_col(const char *text, size_t off, int *line, int *col) {
    int l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static bool is_num_char(char c) {
    return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.';
}

/* Strict JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool strict_number(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return false;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    } else {
        return false;
    }
    if (i < n && s[i] == '.') {
        i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == d) return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == d) return false;
    }
    return i == n;
}

typedef struct tok {
    size_t off, len;
} tok;

/* Number tokens of text[0..end) in document order, exactly as cJSON splits them (a token starts
 * at '-' or a digit outside strings and spans [0-9+-eE.]; after a successful parse nothing else
 * can follow a number, so the run is the literal). */
static sdf_status scan_numbers(const char *text, size_t end, tok **out, size_t *n_out,
                               sdf_error *err) {
    size_t cap = 0, n = 0;
    tok *t = NULL;
    size_t i = 0;
    while (i < end) {
        char c = text[i];
        if (c == '"') {
            i++;
            while (i < end && text[i] != '"') {
                if (text[i] == '\\') i++;
                i++;
            }
            i++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t s = i;
            while (i < end && is_num_char(text[i])) i++;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64, bytes;
                if (!sdf_mul_size(nc, sizeof *t, &bytes)) {
                    sdf_free(t);
                    return sdf_fail(err, SDF_ERR_NOMEM, "too many numbers");
                }
                tok *nt = sdf_realloc(t, bytes);
                if (!nt) {
                    sdf_free(t);
                    return sdf_fail(err, SDF_ERR_NOMEM, "out of memory scanning JSON numbers");
                }
                t = nt;
                cap = nc;
            }
            t[n].off = s;
            t[n].len = i - s;
            n++;
        } else {
            i++;
        }
    }
    *out = t;
    *n_out = n;
    return SDF_OK;
}

typedef struct walk {
    const tok    *toks;
    size_t        n_toks, k;
    sdf_json_num *nums;
    bool          ok;
} walk;

static void walk_tree(walk *w, const cJSON *it) {
    for (; it && w->ok; it = it->next) {
        if (cJSON_IsNumber(it)) {
            if (w->k >= w->n_toks) {
                w->ok = false;
                return;
            }
            w->nums[w->k].item = it;
            w->k++;
        } else if (cJSON_IsArray(it) || cJSON_IsObject(it)) {
            walk_tree(w, it->child);
        }
    }
}

static int cmp_num(const void *a, const void *b) {
    const sdf_json_num *x = a, *y = b;
    uintptr_t p = (uintptr_t)x->item, q = (uintptr_t)y->item;
    return p < q ? -1 : p > q;
}

sdf_status sdf_json_parse_exact(const char *text, size_t len, const char *what, sdf_json_doc *doc,
                                sdf_error *err) {
    memset(doc, 0, sizeof *doc);
    if (!what) what = "JSON";
    if (!text || len == 0) return sdf_fail(err, SDF_ERR_PARSE, "%s: empty input", what);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        int line, col;
        sdf_json_line_col(text, off, &line, &col);
        return sdf_fail(err, SDF_ERR_PARSE, "%s is not valid JSON: syntax error at line %d, column %d",
                        what, line, col);
    }
    size_t stop = (size_t)(end - text);
    for (size_t i = stop; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == 0 && i + 1 == len) break; /* a trailing NUL terminator */
        if (c > 32) {
            int line, col;
            sdf_json_line_col(text, i, &line, &col);
            cJSON_Delete(root);
            return sdf_fail(err, SDF_ERR_PARSE,
                            "%s is not valid JSON: unexpected text after the value at line %d, "
                            "column %d", what, line, col);
        }
    }
    tok *toks = NULL;
    size_t n_toks = 0;
    sdf_status st = scan_numbers(text, stop, &toks, &n_toks, err);
    if (st != SDF_OK) {
        cJSON_Delete(root);
        return st;
    }
    size_t text_bytes = 0;
    for (size_t i = 0; i < n_toks; i++) text_bytes += toks[i].len + 1;
    doc->root = root;
    if (text_bytes > UINT32_MAX) {
        sdf_free(toks);
        sdf_json_doc_free(doc);
        return sdf_fail(err, SDF_ERR_UNSUPPORTED, "%s: too many numbers", what);
    }
    if (n_toks) {
        doc->nums = sdf_calloc(n_toks, sizeof *doc->nums);
        doc->texts = sdf_malloc(text_bytes);
        if (!doc->nums || !doc->texts) {
            sdf_free(toks);
            sdf_json_doc_free(doc);
            return sdf_fail(err, SDF_ERR_NOMEM, "out of memory parsing %s", what);
        }
    }
    walk w = {toks, n_toks, 0, doc->nums, true};
    walk_tree(&w, root);
    if (!w.ok || w.k != n_toks) {
        sdf_free(toks);
        sdf_json_doc_free(doc);
        return sdf_fail(err, SDF_ERR_INTERNAL, "%s: number literals could not be matched", what);
    }
    size_t o = 0;
    for (size_t i = 0; i < n_toks; i++) {
        const char *s = text + toks[i].off;
        size_t n = toks[i].len;
        char *dst = doc->texts + o;
        if (strict_number(s, n)) {
            memcpy(dst, s, n);
            dst[n] = 0;
        } else {
            /* cJSON accepted a non-JSON spelling; use what it read. At most 24 chars. */
            char tmp[40];
            snprintf(tmp, sizeof tmp, "%.17g", doc->nums[i].item->valuedouble);
            if (strlen(tmp) > n || !strict_number(tmp, strlen(tmp))) snprintf(tmp, sizeof tmp, "0");
            memcpy(dst, tmp, strlen(tmp) + 1);
        }
        doc->nums[i].off = (uint32_t)o;
        doc->nums[i].len = (uint32_t)strlen(dst);
        o += n + 1;
    }
    sdf_free(toks);
    doc->n_nums = n_toks;
    if (doc->n_nums) qsort(doc->nums, doc->n_nums, sizeof *doc->nums, cmp_num);
    return SDF_OK;
}

void sdf_json_doc_free(sdf_json_doc *doc) {
    if (!doc) return;
    cJSON_Delete(doc->root);
    sdf_free(doc->nums);
    sdf_free(doc->texts);
    memset(doc, 0, sizeof *doc);
}

const char *sdf_json_num_text(const sdf_json_doc *doc, const cJSON *item) {
    if (!doc || !item || !cJSON_IsNumber(item) || !doc->n_nums) return NULL;
    sdf_json_num key = {item, 0, 0};
    const sdf_json_num *f = bsearch(&key, doc->nums, doc->n_nums, sizeof key, cmp_num);
    return f ? doc->texts + f->off : NULL;
}

bool sdf_json_num_integer(const sdf_json_doc *doc, const cJSON *item, bool *neg, uint64_t *mag) {
    const char *s = sdf_json_num_text(doc, item);
    if (!s) return false;
    bool n = false;
    if (*s == '-') {
        n = true;
        s++;
    }
    if (!*s) return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *neg = n && v != 0;
    *mag = v;
    return true;
}

cJSON *sdf_json_dup_exact(const sdf_json_doc *doc, const cJSON *item) {
    if (!item) return NULL;
    if (cJSON_IsNumber(item)) {
        const char *s = sdf_json_num_text(doc, item);
        char tmp[40];
        if (!s) {
            snprintf(tmp, sizeof tmp, "%.17g", item->valuedouble);
            s = tmp;
        }
        return cJSON_CreateRaw(s);
    }
    if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
        cJSON *c = cJSON_IsArray(item) ? cJSON_CreateArray() : cJSON_CreateObject();
        if (!c) return NULL;
        for (const cJSON *ch = item->child; ch; ch = ch->next) {
            cJSON *d = sdf_json_dup_exact(doc, ch);
            if (!d) {
                cJSON_Delete(c);
                return NULL;
            }
            if (cJSON_IsArray(item)) {
                cJSON_AddItemToArray(c, d);
            } else if (!cJSON_AddItemToObject(c, ch->string ? ch->string : "", d)) {
                cJSON_Delete(d);
                cJSON_Delete(c);
                return NULL;
            }
        }
        return c;
    }
    return cJSON_Duplicate(item, 0);
}
