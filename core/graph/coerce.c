/* coerce.c: literal input values converted as ComfyUI's validation converts them (spec §5.2):
 * INT = Python int(), FLOAT = float(), STRING = str(), BOOLEAN = bool(). An error only where
 * Python's conversion fails; a warning where the value's type or value changed.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"
#include "../io/workflow.h"
#include "coerce.h"

char *sdf_json_value_text(const cJSON *v) {
    if (!v) return sdf_strdup("null");
    if ((cJSON_IsNumber(v) || cJSON_IsRaw(v)) && v->valuestring) return sdf_strdup(v->valuestring);
    char *p = cJSON_PrintUnformatted(v);
    if (!p) return sdf_strdup("?");
    char *s = sdf_strdup(p);
    cJSON_free(p);
    return s;
}

/* Python's repr of a float: shortest round-trip text, with ".0" on integral values. */
void sdf_py_float_repr(double d, char *buf, size_t cap) {
    if (isnan(d)) { snprintf(buf, cap, "nan"); return; }
    if (isinf(d)) { snprintf(buf, cap, d < 0 ? "-inf" : "inf"); return; }
    /* shortest digits that round-trip, then Python's layout: fixed for 1e-4 <= |d| < 1e16 */
    char e[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, d);
        if (strtod(e, NULL) == d) break;
    }
    const char *ep = strchr(e, 'e');
    int exp10 = ep ? atoi(ep + 1) : 0;
    if (exp10 >= -4 && exp10 < 16) {
        int decimals = prec - 1 - exp10;
        snprintf(buf, cap, "%.*f", decimals > 0 ? decimals : 0, d);
        if (!strchr(buf, '.')) {
            size_t l = strlen(buf);
            if (l + 3 <= cap) memcpy(buf + l, ".0", 3);
        }
    } else {
        snprintf(buf, cap, "%s", e);
    }
}

/* Python float() of a string: whitespace, decimal or inf/nan spellings; no hex. */
static bool py_float(const char *s, double *out) {
    while (isspace((unsigned char)*s)) s++;
    if (!*s || strpbrk(s, "xX")) return false;
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s) return false;
    while (isspace((unsigned char)*end)) end++;
    if (*end) return false;
    *out = d;
    return true;
}

static sdf_coerce_result fail(sdf_coerce_result r, char *msg, size_t cap, const char *fmt,
                              const char *a) {
    snprintf(msg, cap, fmt, a);
    return r;
}

sdf_coerce_result sdf_coerce_literal(const sdf_input_def *d, const cJSON *v, sdf_value **out,
                                     char *msg, size_t cap) {
    *out = NULL;
    msg[0] = 0;
    char num[64];
    int64_t i = 0;
    bool u = false;
    switch (d->type) {
    case SDF_VT_INT: {
        if (cJSON_IsNumber(v) || cJSON_IsRaw(v)) {
            sdf_json_num_kind k = sdf_json_number_int(v, &i, &u);
            if (k == SDF_JNUM_INT) break;
            if (k == SDF_JNUM_INT_RANGE)
                return fail(SDF_COERCE_RANGE, msg, cap,
                            "%s does not fit in a 64-bit integer (-2^63 .. 2^64-1)",
                            v->valuestring ? v->valuestring : "?");
            double f = v->valuedouble;
            if (!isfinite(f))
                return fail(SDF_COERCE_ERROR, msg, cap, "cannot convert float %s to integer",
                            v->valuestring ? v->valuestring : "non-finite");
            double t = trunc(f);
            if (t >= 18446744073709551616.0 || t < -9223372036854775808.0)
                return fail(SDF_COERCE_RANGE, msg, cap,
                            "%s does not fit in a 64-bit integer (-2^63 .. 2^64-1)",
                            v->valuestring ? v->valuestring : "?");
            if (t >= 9223372036854775808.0) { i = (int64_t)(uint64_t)t; u = true; }
            else i = (int64_t)t;
            *out = u ? sdf_value_u64((uint64_t)i) : sdf_value_int(i);
            sdf_int_text(i, u, num, sizeof num);
            if (t != f) {
                snprintf(msg, cap, "float %s truncated to %s (Python int())",
                         v->valuestring ? v->valuestring : "?", num);
                return *out ? SDF_COERCE_WARN : SDF_COERCE_NOMEM;
            }
            return *out ? SDF_COERCE_OK : SDF_COERCE_NOMEM;
        }
        if (cJSON_IsString(v)) {
            bool oor = false;
            if (!sdf_parse_int_text(v->valuestring, &i, &u, &oor))
                return fail(oor ? SDF_COERCE_RANGE : SDF_COERCE_ERROR, msg, cap,
                            oor ? "'%s' does not fit in a 64-bit integer"
                                : "invalid literal for int() with base 10: '%s'",
                            v->valuestring);
            *out = u ? sdf_value_u64((uint64_t)i) : sdf_value_int(i);
            snprintf(msg, cap, "string \"%.100s\" converted to an integer", v->valuestring);
            return *out ? SDF_COERCE_WARN : SDF_COERCE_NOMEM;
        }
        if (cJSON_IsBool(v)) {
            *out = sdf_value_int(cJSON_IsTrue(v) ? 1 : 0);
            snprintf(msg, cap, "boolean %s converted to %d", cJSON_IsTrue(v) ? "true" : "false",
                     cJSON_IsTrue(v) ? 1 : 0);
            return *out ? SDF_COERCE_WARN : SDF_COERCE_NOMEM;
        }
        return fail(SDF_COERCE_ERROR, msg, cap, "int() argument must be a string or a number, "
                    "not %s", cJSON_IsNull(v) ? "null" : cJSON_IsArray(v) ? "an array" : "an object");
    }
    case SDF_VT_FLOAT: {
        double f;
        if (cJSON_IsNumber(v)) {
            *out = sdf_value_float(v->valuedouble);
            return *out ? SDF_COERCE_OK : SDF_COERCE_NOMEM;
        }
        if (cJSON_IsString(v)) {
            if (!py_float(v->valuestring, &f))
                return fail(SDF_COERCE_ERROR, msg, cap, "could not convert string to float: '%s'",
                            v->valuestring);
            *out = sdf_value_float(f);
            snprintf(msg, cap, "string \"%.100s\" converted to a number", v->valuestring);
            return *out ? SDF_COERCE_WARN : SDF_COERCE_NOMEM;
        }
        if (cJSON_IsBool(v)) {
            *out = sdf_value_float(cJSON_IsTrue(v) ? 1.0 : 0.0);
            snprintf(msg, cap, "boolean converted to %s", cJSON_IsTrue(v) ? "1.0" : "0.0");
            return *out ? SDF_COERCE_WARN : SDF_COERCE_NOMEM;
        }
        return fail(SDF_COERCE_ERROR, msg, cap, "float() argument must be a string or a number, "
                    "not %s", cJSON_IsNull(v) ? "null" : cJSON_IsArray(v) ? "an array" : "an object");
    }
    case SDF_VT_STRING: {
        if (cJSON_IsString(v)) {
            *out = sdf_value_string(v->valuestring);
            return *out ? SDF_COERCE_OK : SDF_COERCE_NOMEM;
        }
        char *t = NULL;
        if (cJSON_IsNumber(v)) {
            sdf_json_num_kind k = sdf_json_number_int(v, &i, &u);
            if (k == SDF_JNUM_INT) sdf_int_text(i, u, num, sizeof num);
            else sdf_py_float_repr(v->valuedouble, num, sizeof num);
            t = sdf_strdup(num);
        } else if (cJSON_IsBool(v)) {
            t = sdf_strdup(cJSON_IsTrue(v) ? "True" : "False");
        } else if (cJSON_IsNull(v)) {
            t = sdf_strdup("None");
        } else {
            t = sdf_json_value_text(v);
        }
        if (!t) return SDF_COERCE_NOMEM;
        *out = sdf_value_string(t);
        snprintf(msg, cap, "non-string value converted to the string \"%.100s\" (Python str())",
                 t);
        sdf_free(t);
        return *out ? SDF_COERCE_WARN : SDF_COERCE_NOMEM;
    }
    case SDF_VT_BOOLEAN: {
        if (cJSON_IsBool(v)) {
            *out = sdf_value_bool(cJSON_IsTrue(v));
            return *out ? SDF_COERCE_OK : SDF_COERCE_NOMEM;
        }
        bool b;
        if (cJSON_IsNumber(v)) b = v->valuedouble != 0.0;
        else if (cJSON_IsString(v)) b = v->valuestring[0] != 0;
        else if (cJSON_IsNull(v)) b = false;
        else b = v->child != NULL;
        *out = sdf_value_bool(b);
        char *t = sdf_json_value_text(v);
        snprintf(msg, cap, "%.100s converted to %s as Python bool() does%s", t ? t : "?",
                 b ? "true" : "false",
                 cJSON_IsString(v) && b ? " (any non-empty string, even \"false\", is true)" : "");
        sdf_free(t);
        return *out ? SDF_COERCE_WARN : SDF_COERCE_NOMEM;
    }
    case SDF_VT_COMBO: {
        if (!cJSON_IsString(v)) {
            char *t = sdf_json_value_text(v);
            snprintf(msg, cap, "%.100s is not a string", t ? t : "?");
            sdf_free(t);
            return SDF_COERCE_NOT_IN_LIST;
        }
        *out = sdf_value_string(v->valuestring);
        return *out ? SDF_COERCE_OK : SDF_COERCE_NOMEM;
    }
    default:
        return fail(SDF_COERCE_NEEDS_LINK, msg, cap, "%s inputs take a link from another node's "
                    "output, not a literal value", sdf_vtype_name(d->type));
    }
    *out = u ? sdf_value_u64((uint64_t)i) : sdf_value_int(i);
    return *out ? SDF_COERCE_OK : SDF_COERCE_NOMEM;
}
