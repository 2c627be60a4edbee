#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
#define SDF_X_(name, desc) #name,
    SDF_STATUS_MAP(SDF_X_)
#undef SDF_X_
};
static const char *const status_descs[] = {
#define SDF_X_(name, desc) desc,
    SDF_STATUS_MAP(SDF_X_)
#undef SDF_X_
};
_Static_assert(SDF_COUNTOF(status_names) == SDF_STATUS_COUNT, "status table drift");

const char *sdf_status_name(sdf_status s) {
    return (unsigned)s < SDF_STATUS_COUNT ? status_names[s] : "UNKNOWN";
}

const char *sdf_status_str(sdf_status s) {
    return (unsigned)s < SDF_STATUS_COUNT ? status_descs[s] : "unknown status";
}

void sdf_error_clear(sdf_error *e) {
    if (e) memset(e, 0, sizeof *e);
}

sdf_status sdf_failv(sdf_error *e, sdf_status code, const char *fmt, va_list ap) {
    if (!e) return code;
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return code;
}

sdf_status sdf_fail(sdf_error *e, sdf_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sdf_failv(e, code, fmt, ap);
    va_end(ap);
    return code;
}

static void set_if_empty(char *dst, size_t cap, const char *src) {
    if (dst[0] || !src) return;
    snprintf(dst, cap, "%s", src);
}

void sdf_error_at_node(sdf_error *e, const char *node_id, const char *class_type) {
    if (!e) return;
    set_if_empty(e->node_id, sizeof e->node_id, node_id);
    set_if_empty(e->class_type, sizeof e->class_type, class_type);
}

void sdf_error_at_input(sdf_error *e, const char *input) {
    if (e) set_if_empty(e->input, sizeof e->input, input);
}

void sdf_error_at_file(sdf_error *e, const char *path) {
    if (e) set_if_empty(e->path, sizeof e->path, path);
}

void sdf_error_format(const sdf_error *e, char *buf, size_t cap) {
    size_t n = 0;
    if (!cap) return;
    buf[0] = 0;
#define APPEND(...)                                                    \
    do {                                                               \
        if (n < cap) {                                                 \
            int w_ = snprintf(buf + n, cap - n, __VA_ARGS__);          \
            if (w_ > 0) n += (size_t)w_;                               \
        }                                                              \
    } while (0)
    if (e->path[0]) APPEND("%s: ", e->path);
    if (e->node_id[0]) {
        APPEND("node \"%s\"", e->node_id);
        if (e->class_type[0]) APPEND(" (%s)", e->class_type);
        APPEND(e->input[0] ? " " : ": ");
    }
    if (e->input[0]) APPEND("input '%s': ", e->input);
    APPEND("%s", sdf_status_str(e->code));
    if (e->msg[0]) APPEND(": %s", e->msg);
#undef APPEND
}

void sdf_assert_fail_(const char *expr, const char *file, int line) {
    fprintf(stderr, "sdflow: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
