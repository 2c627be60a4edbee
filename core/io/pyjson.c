/* pyjson.c: see pyjson.h. */
#include "pyjson.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"

typedef struct sbuf {
    char  *p;
    size_t n, cap;
    bool   oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n + 1) nc *= 2;
        char *q = sdf_realloc(b->p, nc);
        if (!q) { b->oom = true; return; }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

static void put_u16(sbuf *b, unsigned u) {
    char t[8];
    snprintf(t, sizeof t, "\\u%04x", u);
    put(b, t, 6);
}

static void put_string(sbuf *b, const char *s) {
    put(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned c = *p;
        if (c < 0x80) {
            switch (c) {
            case '"': puts_(b, "\\\""); break;
            case '\\': puts_(b, "\\\\"); break;
            case '\n': puts_(b, "\\n"); break;
            case '\r': puts_(b, "\\r"); break;
            case '\t': puts_(b, "\\t"); break;
            case '\b': puts_(b, "\\b"); break;
            case '\f': puts_(b, "\\f"); break;
            default:
                if (c < 0x20) put_u16(b, c);
                else put(b, (const char *)p, 1);
            }
            p++;
            continue;
        }
        /* decode one UTF-8 sequence (invalid bytes become U+FFFD) */
        unsigned cp = 0xFFFD;
        int len = 1;
        if ((c & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
            cp = ((c & 0x1F) << 6) | (p[1] & 0x3F);
            len = 2;
        } else if ((c & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
            cp = ((c & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
            len = 3;
        } else if ((c & 0xF8) == 0xF0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
                   (p[3] & 0xC0) == 0x80) {
            cp = ((c & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
            len = 4;
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            put_u16(b, 0xD800 + (cp >> 10));
            put_u16(b, 0xDC00 + (cp & 0x3FF));
        } else {
            put_u16(b, cp);
        }
        p += len;
    }
    put(b, "\"", 1);
}

/* Python repr(float) */
static void put_float(sbuf *b, double v) {
    char t[64];
    if (isnan(v)) { puts_(b, "NaN"); return; }
    if (isinf(v)) { puts_(b, v > 0 ? "Infinity" : "-Infinity"); return; }
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(t, sizeof t, "%.*e", p - 1, v);
        if (strtod(t, NULL) == v) break;
    }
    /* t = [-]d[.ddd]e[+-]XX */
    char digits[32];
    int nd = 0;
    bool neg = t[0] == '-';
    const char *q = t + (neg ? 1 : 0);
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') digits[nd++] = *q;
    int ex = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    char o[80];
    int k = 0;
    if (neg) o[k++] = '-';
    if (ex >= -5 + 1 && ex < 16) { /* -4 <= ex < 16: fixed */
        if (ex < 0) {
            o[k++] = '0';
            o[k++] = '.';
            for (int i = 0; i < -ex - 1; i++) o[k++] = '0';
            for (int i = 0; i < nd; i++) o[k++] = digits[i];
        } else {
            for (int i = 0; i <= ex; i++) o[k++] = i < nd ? digits[i] : '0';
            o[k++] = '.';
            if (nd > ex + 1)
                for (int i = ex + 1; i < nd; i++) o[k++] = digits[i];
            else o[k++] = '0';
        }
    } else {
        o[k++] = digits[0];
        if (nd > 1) {
            o[k++] = '.';
            for (int i = 1; i < nd; i++) o[k++] = digits[i];
        }
        k += snprintf(o + k, sizeof o - (size_t)k, "e%c%02d", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
    }
    put(b, o, (size_t)k);
}

static void dump(sbuf *b, const cJSON *j) {
    if (!j) { puts_(b, "null"); return; }
    if (cJSON_IsRaw(j)) { puts_(b, j->valuestring ? j->valuestring : "null"); return; }
    if (cJSON_IsNull(j)) { puts_(b, "null"); return; }
    if (cJSON_IsTrue(j)) { puts_(b, "true"); return; }
    if (cJSON_IsFalse(j)) { puts_(b, "false"); return; }
    if (cJSON_IsString(j)) { put_string(b, j->valuestring); return; }
    if (cJSON_IsNumber(j)) {
        double v = j->valuedouble;
        if (isfinite(v) && v == floor(v) && fabs(v) < 9007199254740992.0) {
            char t[32];
            snprintf(t, sizeof t, "%lld", (long long)v);
            puts_(b, t);
        } else {
            put_float(b, v);
        }
        return;
    }
    bool obj = cJSON_IsObject(j);
    put(b, obj ? "{" : "[", 1);
    bool first = true;
    for (const cJSON *c = j->child; c; c = c->next) {
        if (!first) put(b, ", ", 2);
        first = false;
        if (obj) {
            put_string(b, c->string);
            put(b, ": ", 2);
        }
        dump(b, c);
    }
    put(b, obj ? "}" : "]", 1);
}

char *sdf_json_dumps_py(const cJSON *item) {
    sbuf b = {0};
    dump(&b, item);
    if (b.oom) {
        sdf_free(b.p);
        return NULL;
    }
    if (!b.p) return sdf_strdup("null");
    return b.p;
}
