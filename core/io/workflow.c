/* workflow.c: exact JSON parsing and workflow file loading. See workflow.h. */
#include "workflow.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/alloc.h"

#define SDF_MAX_WORKFLOW_BYTES (256u * 1024u * 1024u)

/* ---- exact numbers ------------------------------------------------------------------------ */

/* The number tokens of valid JSON, in document order, are exactly the cJSON_Number items in
 * pre-order: cJSON builds children in source order. Walk both together. */
typedef struct num_scan {
    const char *p, *end;
} num_scan;

/* Next number token: returns its start and sets *n to its length; NULL at the end. */
static const char *next_number(num_scan *s, size_t *n) {
    while (s->p < s->end) {
        char c = *s->p;
        if (c == '"') {
            s->p++;
            while (s->p < s->end && *s->p != '"') {
                if (*s->p == '\\' && s->p + 1 < s->end) s->p++;
                s->p++;
            }
            s->p++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            const char *start = s->p;
            while (s->p < s->end && (strchr("0123456789+-.eE", *s->p) != NULL) && *s->p)
                s->p++;
            *n = (size_t)(s->p - start);
            return start;
        } else {
            s->p++;
        }
    }
    return NULL;
}

static bool attach_texts(cJSON *item, num_scan *s) {
    for (; item; item = item->next) {
        if (cJSON_IsNumber(item)) {
            size_t n = 0;
            const char *t = next_number(s, &n);
            if (!t) return false;
            char *copy = cJSON_malloc(n + 1);
            if (!copy) return false;
            memcpy(copy, t, n);
            copy[n] = 0;
            item->valuestring = copy;
        }
        if (item->child && !attach_texts(item->child, s)) return false;
    }
    return true;
}

static void line_col(const char *text, size_t off, int *line, int *col) {
    int l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') { l++; c = 1; }
        else c++;
    }
    *line = l;
    *col = c;
}

/* True when the text ends inside a string or with brackets still open. */
static bool unbalanced(const char *t, size_t n) {
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth < 0) return false;
        }
    }
    return in_str || depth > 0;
}

sdf_status sdf_json_parse(const char *text, size_t len, const char *name, cJSON **out,
                          sdf_error *err) {
    const char *end = NULL;
    if (!text) return sdf_fail(err, SDF_ERR_INVALID, "no JSON text");
    size_t n = strnlen(text, len);
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, false);
    if (root && end) {
        /* only whitespace may follow the value */
        const char *p = end;
        while (p < text + len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
        if (p < text + len) {
            int l, c;
            line_col(text, (size_t)(p - text), &l, &c);
            cJSON_Delete(root);
            sdf_fail(err, SDF_ERR_PARSE,
                     *p ? "line %d, column %d: unexpected text after the JSON value"
                        : "line %d, column %d: NUL byte in JSON text",
                     l, c);
            sdf_error_at_file(err, name);
            return SDF_ERR_PARSE;
        }
    }
    if (!root) {
        size_t off = end && end >= text && end <= text + n ? (size_t)(end - text) : n;
        if (unbalanced(text, n)) off = n; /* the text stops inside a value: say so at its end */
        int l, c;
        line_col(text, off, &l, &c);
        if (off >= n) sdf_fail(err, SDF_ERR_PARSE, "line %d, column %d: unexpected end of JSON "
                                                   "(truncated file?)", l, c);
        else sdf_fail(err, SDF_ERR_PARSE, "line %d, column %d: not valid JSON near '%.*s'", l,
                      c, (int)(n - off < 20 ? n - off : 20), text + off); /* text may lack a NUL */
        sdf_error_at_file(err, name);
        return SDF_ERR_PARSE;
    }
    num_scan s = {text, text + n};
    if (!attach_texts(root, &s)) {
        cJSON_Delete(root);
        return sdf_fail(err, SDF_ERR_NOMEM, "JSON number texts");
    }
    *out = root;
    return SDF_OK;
}

bool sdf_parse_int_text(const char *s, int64_t *i, bool *is_u64, bool *out_of_range) {
    if (out_of_range) *out_of_range = false;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v') s++;
    bool neg = false;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    if (!(*s >= '0' && *s <= '9')) return false;
    uint64_t v = 0;
    bool overflow = false, prev_digit = false;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            unsigned d = (unsigned)(*s - '0');
            if (v > (UINT64_MAX - d) / 10) overflow = true;
            else v = v * 10 + d;
            prev_digit = true;
        } else if (*s == '_' && prev_digit && s[1] >= '0' && s[1] <= '9') {
            prev_digit = false;
        } else {
            break;
        }
    }
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v') s++;
    if (*s) return false;
    if (overflow || (neg && v > (uint64_t)INT64_MAX + 1)) {
        if (out_of_range) *out_of_range = true;
        return false;
    }
    if (neg) {
        *i = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
        *is_u64 = false;
    } else {
        *i = (int64_t)v;
        *is_u64 = v > (uint64_t)INT64_MAX;
    }
    return true;
}

sdf_json_num_kind sdf_json_number_int(const cJSON *item, int64_t *i, bool *is_u64) {
    if (!item) return SDF_JNUM_NOT_NUMBER;
    const char *text = NULL;
    if (cJSON_IsRaw(item)) text = item->valuestring;
    else if (cJSON_IsNumber(item)) text = item->valuestring;
    else return SDF_JNUM_NOT_NUMBER;
    if (!text) {
        double d = item->valuedouble;
        if (d == floor(d) && fabs(d) < 9223372036854775808.0) {
            *i = (int64_t)d;
            *is_u64 = false;
            return SDF_JNUM_INT;
        }
        return cJSON_IsNumber(item) ? SDF_JNUM_FLOAT : SDF_JNUM_NOT_NUMBER;
    }
    if (strpbrk(text, ".eE")) return SDF_JNUM_FLOAT;
    bool oor = false;
    if (sdf_parse_int_text(text, i, is_u64, &oor)) return SDF_JNUM_INT;
    return oor ? SDF_JNUM_INT_RANGE : SDF_JNUM_NOT_NUMBER;
}

void sdf_json_exact_ints(cJSON *item) {
    for (; item; item = item->next) {
        if (cJSON_IsNumber(item) && item->valuestring && !strpbrk(item->valuestring, ".eE"))
            item->type = cJSON_Raw;
        if (item->child) sdf_json_exact_ints(item->child);
    }
}

void sdf_int_text(int64_t i, bool is_u64, char *buf, size_t cap) {
    if (is_u64) snprintf(buf, cap, "%llu", (unsigned long long)(uint64_t)i);
    else snprintf(buf, cap, "%lld", (long long)i);
}

cJSON *sdf_json_int_item(int64_t i, bool is_u64) {
    const int64_t lim = (int64_t)1 << 53;
    if (!is_u64 && i >= -lim && i <= lim) return cJSON_CreateNumber((double)i);
    char buf[32];
    sdf_int_text(i, is_u64, buf, sizeof buf);
    return cJSON_CreateRaw(buf);
}

/* ---- files -------------------------------------------------------------------------------- */

sdf_status sdf_read_file(const char *path, char **data, size_t *len, sdf_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        sdf_fail(err, SDF_ERR_IO, "cannot open: %s", strerror(errno));
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        sdf_fail(err, SDF_ERR_IO, "not a regular file");
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    if ((uint64_t)sb.st_size > SDF_MAX_WORKFLOW_BYTES) {
        fclose(f);
        sdf_fail(err, SDF_ERR_INVALID, "file too large (%lld bytes; limit %u)",
                 (long long)sb.st_size, SDF_MAX_WORKFLOW_BYTES);
        sdf_error_at_file(err, path);
        return SDF_ERR_INVALID;
    }
    size_t n = (size_t)sb.st_size;
    char *buf = sdf_malloc(n + 1);
    if (!buf) {
        fclose(f);
        return sdf_fail(err, SDF_ERR_NOMEM, "reading %s", path);
    }
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        sdf_free(buf);
        sdf_fail(err, SDF_ERR_IO, "short read (%zu of %zu bytes)", got, n);
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return SDF_OK;
}

void sdf_workflow_src_deinit(sdf_workflow_src *s) {
    if (!s) return;
    sdf_free(s->api_text);
    sdf_free(s->ui_text);
    memset(s, 0, sizeof *s);
}
