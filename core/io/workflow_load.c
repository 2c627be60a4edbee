/* workflow_load.c: a workflow file (API JSON, UI JSON, or a PNG carrying one) -> API text.
 *
 * The API format passes through unchanged (validation reports its problems). UI format is
 * converted with the registry (workflow_ui.h) and its original text kept, so the run log and
 * replay can re-embed it. A PNG contributes its "prompt" chunk (exact re-execution), else its
 * "workflow" chunk (decisions.md).
 */
#include <cjson/cJSON.h>
#include <string.h>

#include "../base/alloc.h"
#include "workflow.h"

/* Until the UI converter lands, recognise the UI shape to say so clearly. */
static bool looks_like_ui(const cJSON *root) {
    return cJSON_IsObject(root) && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "nodes"));
}

sdf_status sdf_workflow_from_text(const char *text, size_t len, const char *name,
                                  const sdf_registry *reg,
                                  void (*warn)(void *user, const char *msg), void *user,
                                  sdf_workflow_src *out, sdf_error *err) {
    (void)reg;
    (void)warn;
    (void)user;
    cJSON *root = NULL;
    sdf_status st = sdf_json_parse(text, len, name, &root, err);
    if (st) return st;
    sdf_workflow_src s = {0};
    if (looks_like_ui(root)) {
        cJSON_Delete(root);
        sdf_fail(err, SDF_ERR_UNSUPPORTED,
                 "this is a UI-format workflow (it has \"nodes\"); UI conversion is not "
                 "available in this build: export it with \"Save (API Format)\"");
        sdf_error_at_file(err, name);
        return SDF_ERR_UNSUPPORTED;
    }
    cJSON_Delete(root);
    s.api_text = sdf_malloc(len + 1);
    if (!s.api_text) return sdf_fail(err, SDF_ERR_NOMEM, "workflow text");
    memcpy(s.api_text, text, len);
    s.api_text[len] = 0;
    s.origin = "json-api";
    *out = s;
    return SDF_OK;
}

static bool is_png(const char *data, size_t len) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return len >= 8 && memcmp(data, sig, 8) == 0;
}

sdf_status sdf_workflow_load(const char *path, const sdf_registry *reg,
                             void (*warn)(void *user, const char *msg), void *user,
                             sdf_workflow_src *out, sdf_error *err) {
    char *data = NULL;
    size_t len = 0;
    sdf_status st = sdf_read_file(path, &data, &len, err);
    if (st) return st;
    if (is_png(data, len)) {
        sdf_free(data);
        sdf_fail(err, SDF_ERR_UNSUPPORTED, "reading workflows from PNG files is not available "
                                           "in this build");
        sdf_error_at_file(err, path);
        return SDF_ERR_UNSUPPORTED;
    }
    st = sdf_workflow_from_text(data, len, path, reg, warn, user, out, err);
    sdf_free(data);
    return st;
}
