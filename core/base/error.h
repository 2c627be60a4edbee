/* error.h: status codes and the error object that travels with them.
 *
 * Owns:      sdf_status (one list, expanded into the enum and its name/description tables) and
 *            sdf_error, a caller-allocated struct filled innermost-first.
 * Rules:     the innermost failure writes code + msg via sdf_fail(); outer layers only add context
 *            (node id, class_type, input, path) to fields that are still empty, never overwrite.
 * Threads:   no shared state; each thread uses its own sdf_error.
 */
#ifndef SDF_ERROR_H
#define SDF_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#if defined(__GNUC__)
#define SDF_PRINTF(fmt_idx, args_idx) __attribute__((format(printf, fmt_idx, args_idx)))
#else
#define SDF_PRINTF(fmt_idx, args_idx)
#endif

#define SDF_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

#define SDF_STATUS_MAP(X)                          \
    X(OK, "ok")                                    \
    X(NOMEM, "out of memory")                      \
    X(IO, "i/o error")                             \
    X(PARSE, "malformed input")                    \
    X(INVALID, "invalid value")                    \
    X(SHAPE, "shape mismatch")                     \
    X(TYPE, "type mismatch")                       \
    X(NOT_FOUND, "not found")                      \
    X(UNSUPPORTED, "unsupported")                  \
    X(NOT_IMPLEMENTED, "not implemented yet")      \
    X(CANCELLED, "cancelled")                      \
    X(INTERNAL, "internal error")

typedef enum sdf_status {
#define SDF_X_(name, desc) SDF_ERR_##name,
    SDF_STATUS_MAP(SDF_X_)
#undef SDF_X_
    SDF_STATUS_COUNT
} sdf_status;

#define SDF_OK SDF_ERR_OK

typedef struct sdf_error {
    sdf_status code;
    char node_id[64];
    char class_type[64];
    char input[64];
    char path[512];
    char msg[1024];
} sdf_error;

const char *sdf_status_name(sdf_status s); /* "SHAPE" */
const char *sdf_status_str(sdf_status s);  /* "shape mismatch" */

void sdf_error_clear(sdf_error *e);
/* Set code and message (printf-style) and return code. e may be NULL. */
sdf_status sdf_fail(sdf_error *e, sdf_status code, const char *fmt, ...) SDF_PRINTF(3, 4);
sdf_status sdf_failv(sdf_error *e, sdf_status code, const char *fmt, va_list ap);
/* Add context only where still empty. All NULL-safe. */
void sdf_error_at_node(sdf_error *e, const char *node_id, const char *class_type);
void sdf_error_at_input(sdf_error *e, const char *input);
void sdf_error_at_file(sdf_error *e, const char *path);
/* One formatter, fixed order:
 * 'graphs/a.json: node "3" (KSampler) input 'cfg': invalid value: 250 is bigger than max 100' */
void sdf_error_format(const sdf_error *e, char *buf, size_t cap);

/* Always-on invariant check for states no input can reach; aborts with file:line. */
#define SDF_ASSERT(x)                                                       \
    do {                                                                    \
        if (!(x)) sdf_assert_fail_(#x, __FILE__, __LINE__);                 \
    } while (0)
void sdf_assert_fail_(const char *expr, const char *file, int line);

#endif
