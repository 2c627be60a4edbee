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
#include "png.h"
#include "workflow.h"
#include "workflow_ui.h"

static char *copy_text(const char *text, size_t len) {
    char *s = sdf_malloc(len + 1);
    if (s) {
        memcpy(s, text, len);
        s[len] = 0;
    }
    return s;
}

sdf_status sdf_workflow_from_text(const char *text, size_t len, const char *name,
                                  const sdf_registry *reg,
                                  void (*warn)(void *user, const char *msg), void *user,
                                  sdf_workflow_src *out, sdf_error *err) {
    cJSON *root = NULL;
    sdf_status st = sdf_json_parse(text, len, name, &root, err);
    if (st) return st;
    bool ui = sdf_workflow_is_ui(root);
    cJSON_Delete(root);
    sdf_workflow_src s = {0};
    if (ui) {
        st = sdf_workflow_ui_to_api(text, len, reg, warn, user, &s.api_text, err);
        if (st) {
            sdf_error_at_file(err, name);
            return st;
        }
        s.ui_text = copy_text(text, len);
        s.origin = "json-ui";
        if (!s.ui_text) {
            sdf_workflow_src_deinit(&s);
            return sdf_fail(err, SDF_ERR_NOMEM, "workflow text");
        }
    } else {
        s.api_text = copy_text(text, len);
        if (!s.api_text) return sdf_fail(err, SDF_ERR_NOMEM, "workflow text");
        s.origin = "json-api";
    }
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
        /* the "prompt" chunk re-executes exactly; the "workflow" (UI) chunk is kept with it */
        char *prompt = NULL, *workflow = NULL;
        st = sdf_png_read_text_memory(data, len, path, "prompt", &prompt, err);
        if (!st) st = sdf_png_read_text_memory(data, len, path, "workflow", &workflow, err);
        sdf_free(data);
        if (!st && !prompt && !workflow) {
            sdf_fail(err, SDF_ERR_NOT_FOUND, "this PNG carries no workflow (no \"prompt\" or "
                     "\"workflow\" text chunk)");
            sdf_error_at_file(err, path);
            st = SDF_ERR_NOT_FOUND;
        }
        if (!st && prompt) {
            st = sdf_workflow_from_text(prompt, strlen(prompt), path, reg, warn, user, out, err);
            if (!st) {
                out->origin = "png-prompt";
                if (workflow && !out->ui_text) {
                    out->ui_text = workflow;
                    workflow = NULL;
                }
            }
        } else if (!st) {
            st = sdf_workflow_from_text(workflow, strlen(workflow), path, reg, warn, user, out,
                                        err);
            if (!st) out->origin = "png-workflow";
        }
        sdf_free(prompt);
        sdf_free(workflow);
        return st;
    }
    st = sdf_workflow_from_text(data, len, path, reg, warn, user, out, err);
    sdf_free(data);
    return st;
}
