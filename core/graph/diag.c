/* diag.c: the validation problem list and its two renderings (text lines, ComfyUI JSON). */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../base/alloc.h"
#include "graph.h"

void sdf_diags_init(sdf_diags *d) { memset(d, 0, sizeof *d); }

void sdf_diags_deinit(sdf_diags *d) {
    if (!d) return;
    for (int i = 0; i < d->n; i++) {
        sdf_free(d->v[i].message);
        sdf_free(d->v[i].details);
        sdf_free(d->v[i].text);
        sdf_free(d->v[i].received);
    }
    sdf_free(d->v);
    memset(d, 0, sizeof *d);
}

void sdf_diags_add(sdf_diags *d, sdf_diag_level level, const char *type, const char *node_id,
                   const char *class_type, const char *input, const char *message,
                   const char *details, const char *received, const char *fmt, ...) {
    if (level == SDF_DIAG_ERROR) d->n_errors++;
    else d->n_warnings++;
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 16;
        sdf_diag *v = sdf_realloc(d->v, (size_t)cap * sizeof *v);
        if (!v) return;
        d->v = v;
        d->cap = cap;
    }
    sdf_diag *g = &d->v[d->n++];
    memset(g, 0, sizeof *g);
    g->level = level;
    snprintf(g->type, sizeof g->type, "%s", type ? type : "");
    snprintf(g->node_id, sizeof g->node_id, "%s", node_id ? node_id : "");
    snprintf(g->class_type, sizeof g->class_type, "%s", class_type ? class_type : "");
    snprintf(g->input, sizeof g->input, "%s", input ? input : "");
    g->message = sdf_strdup(message ? message : "");
    g->details = sdf_strdup(details ? details : "");
    g->received = received ? sdf_strdup(received) : NULL;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g->text = sdf_strdup(buf);
}

void sdf_diag_format(const sdf_diag *g, char *buf, size_t cap) {
    const char *lv = g->level == SDF_DIAG_WARNING ? "warning: " : "";
    if (!g->node_id[0]) snprintf(buf, cap, "%s%s", lv, g->text ? g->text : "");
    else if (!g->input[0])
        snprintf(buf, cap, "%snode \"%s\" (%s): %s", lv, g->node_id,
                 g->class_type[0] ? g->class_type : "?", g->text ? g->text : "");
    else
        snprintf(buf, cap, "%snode \"%s\" (%s) input '%s': %s", lv, g->node_id,
                 g->class_type[0] ? g->class_type : "?", g->input, g->text ? g->text : "");
}

/* ---- ComfyUI's node_errors JSON ---------------------------------------------------------- */

static cJSON *error_obj(const sdf_diag *g) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", g->type);
    cJSON_AddStringToObject(e, "message", g->message ? g->message : "");
    cJSON_AddStringToObject(e, "details", g->details ? g->details : "");
    cJSON *x = cJSON_AddObjectToObject(e, "extra_info");
    if (g->input[0]) cJSON_AddStringToObject(x, "input_name", g->input);
    if (g->received) {
        cJSON *r = cJSON_Parse(g->received);
        if (r) cJSON_AddItemToObject(x, "received_value", r);
    }
    cJSON_AddStringToObject(x, "sdflow_text", g->text ? g->text : "");
    return e;
}

/* Does target t depend on node n (n is t or an ancestor)? */
static bool depends(const sdf_graph *g, int t, int n, char *seen) {
    if (t == n) return true;
    if (seen[t]) return false;
    seen[t] = 1;
    const sdf_graph_node *x = &g->nodes[t];
    for (int i = 0; i < x->n_inputs; i++)
        if (x->inputs[i].is_link && x->inputs[i].src_node >= 0 &&
            depends(g, x->inputs[i].src_node, n, seen))
            return true;
    return false;
}

cJSON *sdf_diags_to_json(const sdf_diags *d, const sdf_graph *g) {
    cJSON *root = cJSON_CreateObject();
    cJSON *node_errors = cJSON_CreateObject();
    cJSON *warnings = cJSON_CreateArray();
    const sdf_diag *top = NULL;
    for (int i = 0; i < d->n; i++) {
        const sdf_diag *x = &d->v[i];
        if (x->level == SDF_DIAG_WARNING) {
            cJSON *w = error_obj(x);
            if (x->node_id[0]) {
                cJSON_AddStringToObject(w, "node_id", x->node_id);
                cJSON_AddStringToObject(w, "class_type", x->class_type);
            }
            cJSON_AddItemToArray(warnings, w);
            continue;
        }
        if (!x->node_id[0] || !strcmp(x->type, "invalid_prompt")) {
            if (!top) top = x;
            if (!x->node_id[0]) continue;
        }
        cJSON *ne = cJSON_GetObjectItemCaseSensitive(node_errors, x->node_id);
        if (!ne) {
            ne = cJSON_AddObjectToObject(node_errors, x->node_id);
            cJSON_AddArrayToObject(ne, "errors");
            cJSON_AddStringToObject(ne, "class_type", x->class_type);
            cJSON *dep = cJSON_AddArrayToObject(ne, "dependent_outputs");
            int n = g ? sdf_graph_find(g, x->node_id) : -1;
            if (n >= 0) {
                char *seen = sdf_calloc((size_t)g->n_nodes + 1, 1);
                for (int t = 0; seen && t < g->n_nodes; t++) {
                    if (!g->nodes[t].is_output) continue;
                    memset(seen, 0, (size_t)g->n_nodes);
                    if (depends(g, t, n, seen))
                        cJSON_AddItemToArray(dep, cJSON_CreateString(g->nodes[t].id));
                }
                sdf_free(seen);
            }
        }
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(ne, "errors"), error_obj(x));
    }
    if (top) {
        cJSON *e = cJSON_AddObjectToObject(root, "error");
        cJSON_AddStringToObject(e, "type", top->type);
        cJSON_AddStringToObject(e, "message", top->message ? top->message : "");
        cJSON_AddStringToObject(e, "details", top->details ? top->details : "");
        cJSON_AddObjectToObject(e, "extra_info");
    } else if (d->n_errors) {
        cJSON *e = cJSON_AddObjectToObject(root, "error");
        cJSON_AddStringToObject(e, "type", "prompt_outputs_failed_validation");
        cJSON_AddStringToObject(e, "message", "Prompt outputs failed validation");
        char buf[4096] = "";
        size_t len = 0;
        for (int i = 0; i < d->n && len + 1 < sizeof buf; i++) {
            if (d->v[i].level != SDF_DIAG_ERROR) continue;
            int k = snprintf(buf + len, sizeof buf - len, "%s%s: %s", len ? "\n" : "",
                             d->v[i].message, d->v[i].details);
            if (k < 0) break;
            len += (size_t)k < sizeof buf - len ? (size_t)k : sizeof buf - len - 1;
        }
        cJSON_AddStringToObject(e, "details", buf);
        cJSON_AddObjectToObject(e, "extra_info");
    } else {
        cJSON_AddNullToObject(root, "error");
    }
    cJSON_AddItemToObject(root, "node_errors", node_errors);
    cJSON_AddItemToObject(root, "warnings", warnings);
    return root;
}
