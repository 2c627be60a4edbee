/* graph.c: building the DAG from API-format JSON, lookup, and the canonical API form. */
#include "graph.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../base/alloc.h"
#include "../io/workflow.h"

/* ComfyUI's is_link: a 2-element array whose first element is a string and second a number. */
static bool parse_link(const cJSON *v, char **src, int64_t *out) {
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2) return false;
    const cJSON *a = v->child, *b = v->child->next;
    if (!cJSON_IsString(a) || !cJSON_IsNumber(b)) return false;
    double d = b->valuedouble;
    *out = (d >= -1e15 && d <= 1e15) ? (int64_t)floor(d) : -1;
    *src = sdf_strdup(a->valuestring);
    return *src != NULL;
}

int sdf_graph_find(const sdf_graph *g, const char *id) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].id, id)) return i;
    return -1;
}

void sdf_graph_free(sdf_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->n_nodes; i++) {
        sdf_graph_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            sdf_free(n->inputs[k].name);
            sdf_free(n->inputs[k].src_id);
        }
        sdf_free(n->inputs);
        for (int k = 0; k < SDF_MAX_NODE_INPUTS; k++) sdf_value_release(n->literal[k]);
        sdf_free(n->id);
        sdf_free(n->class_type);
    }
    sdf_free(g->nodes);
    cJSON_Delete(g->root);
    sdf_free(g);
}

static sdf_status build_node(sdf_graph *g, sdf_graph_node *n, const cJSON *item) {
    n->id = sdf_strdup(item->string ? item->string : "");
    n->json = item;
    for (int k = 0; k < SDF_MAX_NODE_INPUTS; k++) n->link_node[k] = -1;
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(item, "class_type");
    n->class_type = sdf_strdup(cJSON_IsString(ct) ? ct->valuestring : "");
    if (!n->id || !n->class_type) return SDF_ERR_NOMEM;
    n->def = cJSON_IsString(ct) ? sdf_registry_find(g->reg, ct->valuestring) : NULL;
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(item, "inputs");
    if (!cJSON_IsObject(ins)) return SDF_OK;
    int cnt = cJSON_GetArraySize(ins);
    if (cnt == 0) return SDF_OK;
    n->inputs = sdf_calloc((size_t)cnt, sizeof *n->inputs);
    if (!n->inputs) return SDF_ERR_NOMEM;
    for (const cJSON *in = ins->child; in; in = in->next) {
        sdf_graph_input *x = &n->inputs[n->n_inputs++];
        x->name = sdf_strdup(in->string ? in->string : "");
        if (!x->name) return SDF_ERR_NOMEM;
        x->json = in;
        x->src_node = -1;
        x->def_index = n->def ? sdf_node_input_index(n->def, x->name) : -1;
        x->is_link = parse_link(in, &x->src_id, &x->src_out);
    }
    return SDF_OK;
}

sdf_status sdf_graph_build(cJSON *root, const sdf_registry *reg, sdf_graph **out,
                           sdf_error *err) {
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sdf_fail(err, SDF_ERR_INVALID,
                        "a workflow must be a JSON object mapping node ids to nodes");
    }
    sdf_graph *g = sdf_calloc(1, sizeof *g);
    if (!g) {
        cJSON_Delete(root);
        return sdf_fail(err, SDF_ERR_NOMEM, "graph");
    }
    g->root = root;
    g->reg = reg;
    int cnt = cJSON_GetArraySize(root);
    if (cnt > 0) {
        g->nodes = sdf_calloc((size_t)cnt, sizeof *g->nodes);
        if (!g->nodes) {
            sdf_graph_free(g);
            return sdf_fail(err, SDF_ERR_NOMEM, "graph nodes");
        }
    }
    for (const cJSON *item = root->child; item; item = item->next) {
        sdf_graph_node *n = &g->nodes[g->n_nodes++];
        if (build_node(g, n, item)) {
            sdf_graph_free(g);
            return sdf_fail(err, SDF_ERR_NOMEM, "graph node");
        }
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++) {
            sdf_graph_input *x = &g->nodes[i].inputs[k];
            if (x->is_link) x->src_node = sdf_graph_find(g, x->src_id);
        }
    *out = g;
    return SDF_OK;
}

/* ---- canonical form ----------------------------------------------------------------------- */

static cJSON *value_json(const sdf_value *v) {
    switch (v->type) {
    case SDF_VT_INT: return sdf_json_int_item(v->u.integer.i, v->u.integer.is_u64);
    case SDF_VT_FLOAT: return cJSON_CreateNumber(v->u.f);
    case SDF_VT_BOOLEAN: return cJSON_CreateBool(v->u.b);
    case SDF_VT_STRING:
    case SDF_VT_COMBO: return cJSON_CreateString(v->u.s);
    default: return cJSON_CreateNull();
    }
}

cJSON *sdf_graph_canonical(const sdf_graph *g) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        const sdf_graph_node *n = &g->nodes[i];
        cJSON *node = cJSON_CreateObject();
        cJSON *ins = cJSON_AddObjectToObject(node, "inputs");
        for (int k = 0; k < n->n_inputs; k++) {
            const sdf_graph_input *x = &n->inputs[k];
            cJSON *v;
            if (x->is_link) {
                v = cJSON_CreateArray();
                cJSON_AddItemToArray(v, cJSON_CreateString(x->src_id));
                cJSON_AddItemToArray(v, cJSON_CreateNumber((double)x->src_out));
            } else if (x->def_index >= 0 && x->def_index < SDF_MAX_NODE_INPUTS &&
                       n->literal[x->def_index]) {
                v = value_json(n->literal[x->def_index]);
            } else {
                v = cJSON_Duplicate(x->json, true);
                sdf_json_exact_ints(v);
            }
            cJSON_AddItemToObject(ins, x->name, v);
        }
        cJSON_AddStringToObject(node, "class_type", n->class_type);
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(n->json, "_meta");
        if (meta) {
            cJSON *m = cJSON_Duplicate(meta, true);
            sdf_json_exact_ints(m);
            cJSON_AddItemToObject(node, "_meta", m);
        }
        cJSON_AddItemToObject(root, n->id, node);
    }
    return root;
}
