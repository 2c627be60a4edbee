/* validate.c: every problem of a workflow at once (spec §5.2, §10.9; issue 2 §4).
 *
 * Per node: class known, inputs object, each declared input present (or optional), links
 * well-formed and pointing at an existing node's existing output of the right type, literals
 * converted like ComfyUI (coerce.c) and checked against min/max/choices/files. Then graph-wide:
 * duplicate ids, cycles (every node on each is named), output nodes, and which outputs keep a
 * fully valid ancestry. Problems in nodes no output needs become warnings (ComfyUI never looks
 * at them), except unknown classes, which ComfyUI rejects anywhere.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../base/alloc.h"
#include "../io/workflow.h"
#include "coerce.h"
#include "graph.h"

#define ERR SDF_DIAG_ERROR
#define WARN SDF_DIAG_WARNING

/* ---- closest class name ------------------------------------------------------------------- */

static int edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 128 || lb > 128) return 1 << 20;
    int row[130];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int best = prev + cost;
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

const char *sdf_registry_suggest(const sdf_registry *reg, const char *name) {
    const char *best = NULL;
    int best_d = 1 << 30;
    for (size_t i = 0; reg && i < reg->n_defs; i++) {
        int d = edit_distance(name, reg->defs[i]->class_type);
        if (d < best_d) { best_d = d; best = reg->defs[i]->class_type; }
    }
    for (size_t i = 0; reg && i < reg->n_aliases; i++) {
        int d = edit_distance(name, reg->aliases[i].alias);
        if (d < best_d) { best_d = d; best = reg->aliases[i].class_type; }
    }
    int lim = (int)strlen(name) / 2;
    if (lim < 3) lim = 3;
    return best_d <= lim ? best : NULL;
}

/* ---- per-input checks --------------------------------------------------------------------- */

typedef struct vctx {
    sdf_graph       *g;
    const sdf_validate_opts *o;
    sdf_diags       *d;
} vctx;

static void list_choices(const sdf_input_def *in, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = 0;
    for (int k = 0; k < in->n_choices && len + 8 < cap; k++) {
        int w = snprintf(buf + len, cap - len, "%s'%s'", k ? ", " : "", in->choices[k]);
        if (w < 0 || (size_t)w >= cap - len) break;
        len += (size_t)w;
    }
}

static void check_range(vctx *c, sdf_graph_node *n, const sdf_input_def *in, const sdf_value *v,
                        const char *recv) {
    char det[160], msg[200];
    if (in->type == SDF_VT_INT) {
        if (in->min_i == 0 && in->max_i == 0) return;
        int64_t i = v->u.integer.i;
        bool u = v->u.integer.is_u64;
        char vt[32], mt[32];
        sdf_int_text(i, u, vt, sizeof vt);
        if (!u && i < in->min_i) {
            snprintf(mt, sizeof mt, "%lld", (long long)in->min_i);
            snprintf(msg, sizeof msg, "Value %s smaller than min of %s", vt, mt);
            snprintf(det, sizeof det, "%s", in->name);
            sdf_diags_add(c->d, ERR, "value_smaller_than_min", n->id, n->class_type, in->name, msg,
                          det, recv, "value %s is smaller than the minimum %s (expected INT in "
                          "%s..%llu)", vt, mt, mt, (unsigned long long)in->max_i);
        } else if ((u || i >= 0) && (uint64_t)i > in->max_i) {
            snprintf(mt, sizeof mt, "%llu", (unsigned long long)in->max_i);
            snprintf(msg, sizeof msg, "Value %s bigger than max of %s", vt, mt);
            snprintf(det, sizeof det, "%s", in->name);
            sdf_diags_add(c->d, ERR, "value_bigger_than_max", n->id, n->class_type, in->name, msg,
                          det, recv, "value %s is bigger than the maximum %s (expected INT in "
                          "%lld..%s)", vt, mt, (long long)in->min_i, mt);
        } else {
            return;
        }
        n->has_error = true;
    } else if (in->type == SDF_VT_FLOAT) {
        if (in->min_f == 0 && in->max_f == 0) return;
        double f = v->u.f;
        char vt[40], lo[40], hi[40];
        sdf_py_float_repr(f, vt, sizeof vt);
        sdf_py_float_repr(in->min_f, lo, sizeof lo);
        sdf_py_float_repr(in->max_f, hi, sizeof hi);
        snprintf(det, sizeof det, "%s", in->name);
        if (f < in->min_f) {
            snprintf(msg, sizeof msg, "Value %s smaller than min of %s", vt, lo);
            sdf_diags_add(c->d, ERR, "value_smaller_than_min", n->id, n->class_type, in->name, msg,
                          det, recv, "value %s is smaller than the minimum %s (expected FLOAT in "
                          "%s..%s)", vt, lo, lo, hi);
        } else if (f > in->max_f) {
            snprintf(msg, sizeof msg, "Value %s bigger than max of %s", vt, hi);
            sdf_diags_add(c->d, ERR, "value_bigger_than_max", n->id, n->class_type, in->name, msg,
                          det, recv, "value %s is bigger than the maximum %s (expected FLOAT in "
                          "%s..%s)", vt, hi, lo, hi);
        } else {
            return;
        }
        n->has_error = true;
    }
}

static void check_combo(vctx *c, sdf_graph_node *n, const sdf_input_def *in, const char *s,
                        const char *recv) {
    char det[1200], buf[1024];
    if (in->n_choices > 0) {
        for (int k = 0; k < in->n_choices; k++)
            if (!strcmp(in->choices[k], s)) return;
        list_choices(in, buf, sizeof buf);
        if (in->n_choices > 20)
            snprintf(det, sizeof det, "%s: '%.200s' not in (list of length %d)", in->name, s,
                     in->n_choices);
        else snprintf(det, sizeof det, "%s: '%.200s' not in [%s]", in->name, s, buf);
        sdf_diags_add(c->d, ERR, "value_not_in_list", n->id, n->class_type, in->name,
                      "Value not in list", det, recv, "'%.200s' is not one of the choices: %s", s,
                      buf);
        n->has_error = true;
        return;
    }
    if (in->file_kind != SDF_FILE_NONE && c->o && c->o->paths) {
        char path[4096];
        sdf_error e;
        sdf_error_clear(&e);
        if (sdf_paths_find(c->o->paths, in->file_kind, s, path, sizeof path, &e) == SDF_OK) return;
        snprintf(det, sizeof det, "%s: '%.200s' not in the %s files", in->name, s,
                 sdf_file_kind_folder(in->file_kind));
        sdf_diags_add(c->d, ERR, "value_not_in_list", n->id, n->class_type, in->name,
                      "Value not in list", det, recv, "file '%.200s' not found: %s", s, e.msg);
        n->has_error = true;
    }
}

static void check_link(vctx *c, sdf_graph_node *n, int j, const sdf_graph_input *x) {
    const sdf_input_def *in = &n->def->inputs[j];
    char *recv = sdf_json_value_text(x->json);
    char det[300];
    snprintf(det, sizeof det, "%s", in->name);
    if (x->src_node < 0) {
        sdf_diags_add(c->d, ERR, "bad_linked_input", n->id, n->class_type, in->name,
                      "Bad linked input, linked node does not exist", det, recv,
                      "links to node \"%.60s\", which is not in the workflow (expected a link "
                      "from a %s output)", x->src_id, sdf_vtype_name(in->type));
        n->has_error = true;
        goto done;
    }
    const sdf_graph_node *s = &c->g->nodes[x->src_node];
    n->link_node[j] = x->src_node;
    n->link_out[j] = (int)(x->src_out >= 0 && x->src_out < 1000000 ? x->src_out : -1);
    if (!s->def) goto done; /* the source reports its own unknown class */
    if (x->src_out < 0 || x->src_out >= s->def->n_outputs) {
        sdf_diags_add(c->d, ERR, "bad_linked_input", n->id, n->class_type, in->name,
                      "Bad linked input, output index out of range", det, recv,
                      "links to output %lld of node \"%s\" (%s), which has %d output%s "
                      "(0..%d)", (long long)x->src_out, s->id, s->def->class_type,
                      s->def->n_outputs, s->def->n_outputs == 1 ? "" : "s",
                      s->def->n_outputs - 1);
        n->has_error = true;
        n->link_out[j] = -1;
        goto done;
    }
    sdf_vtype got = s->def->outputs[x->src_out].type;
    if (got != in->type) {
        snprintf(det, sizeof det, "%s, received_type(%s) mismatch input_type(%s)", in->name,
                 sdf_vtype_name(got), sdf_vtype_name(in->type));
        sdf_diags_add(c->d, ERR, "return_type_mismatch", n->id, n->class_type, in->name,
                      "Return type mismatch between linked nodes", det, recv,
                      "expected a %s, but output %lld of node \"%s\" (%s) is %s",
                      sdf_vtype_name(in->type), (long long)x->src_out, s->id, s->def->class_type,
                      sdf_vtype_name(got));
        n->has_error = true;
    }
done:
    sdf_free(recv);
}

static void check_literal(vctx *c, sdf_graph_node *n, int j, const cJSON *v) {
    const sdf_input_def *in = &n->def->inputs[j];
    /* the current frontend wraps array literals: {"__value__": [...]} */
    if (cJSON_IsObject(v)) {
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(v, "__value__");
        if (w) v = w;
    }
    char *recv = sdf_json_value_text(v);
    char msg[1200], det[1400];
    sdf_value *val = NULL;
    sdf_coerce_result r = sdf_coerce_literal(in, v, &val, msg, sizeof msg);
    switch (r) {
    case SDF_COERCE_OK: break;
    case SDF_COERCE_WARN:
        sdf_diags_add(c->d, WARN, "value_converted", n->id, n->class_type, in->name,
                      "Value converted", in->name, recv, "%s", msg);
        break;
    case SDF_COERCE_ERROR: {
        char m[80];
        snprintf(m, sizeof m, "Failed to convert an input value to a %s value",
                 sdf_vtype_name(in->type));
        snprintf(det, sizeof det, "%s, %.200s, %s", in->name, recv ? recv : "?", msg);
        sdf_diags_add(c->d, ERR, "invalid_input_type", n->id, n->class_type, in->name, m, det,
                      recv, "expected %s, found %.200s: %s", sdf_vtype_name(in->type),
                      recv ? recv : "?", msg);
        n->has_error = true;
        break;
    }
    case SDF_COERCE_RANGE:
        sdf_diags_add(c->d, ERR, recv && recv[0] == '-' ? "value_smaller_than_min"
                                                        : "value_bigger_than_max",
                      n->id, n->class_type, in->name, "Value out of range", in->name, recv,
                      "%s", msg);
        n->has_error = true;
        break;
    case SDF_COERCE_NOT_IN_LIST: {
        char buf[1024];
        list_choices(in, buf, sizeof buf);
        snprintf(det, sizeof det, "%s: %.200s not in [%s]", in->name, recv ? recv : "?", buf);
        sdf_diags_add(c->d, ERR, "value_not_in_list", n->id, n->class_type, in->name,
                      "Value not in list", det, recv, "%s; expected one of: %s", msg,
                      in->n_choices ? buf : "(file names)");
        n->has_error = true;
        break;
    }
    case SDF_COERCE_NEEDS_LINK:
        sdf_diags_add(c->d, ERR, "invalid_input_type", n->id, n->class_type, in->name,
                      "Input requires a link", in->name, recv,
                      "expected a link [\"<node id>\", <output index>] from a %s output, found "
                      "the literal %.200s", sdf_vtype_name(in->type), recv ? recv : "?");
        n->has_error = true;
        break;
    case SDF_COERCE_NOMEM:
        break;
    }
    if (val) {
        if (in->type == SDF_VT_INT || in->type == SDF_VT_FLOAT) check_range(c, n, in, val, recv);
        else if (in->type == SDF_VT_COMBO) check_combo(c, n, in, val->u.s, recv);
        sdf_value_release(n->literal[j]);
        n->literal[j] = val;
    }
    sdf_free(recv);
}

static void check_node(vctx *c, int idx) {
    sdf_graph_node *n = &c->g->nodes[idx];
    char det[200];
    snprintf(det, sizeof det, "Node ID '#%s'", n->id);
    for (int k = 0; k < idx; k++)
        if (!strcmp(c->g->nodes[k].id, n->id)) {
            sdf_diags_add(c->d, ERR, "duplicate_node_id", n->id, n->class_type, NULL,
                          "Duplicate node id", det, NULL,
                          "node id \"%s\" appears more than once in the workflow", n->id);
            n->has_error = true;
            break;
        }
    if (!cJSON_IsObject(n->json)) {
        sdf_diags_add(c->d, ERR, "invalid_prompt", n->id, "", NULL, "Node is not an object", det,
                      NULL, "expected a node object {\"class_type\": ..., \"inputs\": {...}}");
        n->has_error = true;
        return;
    }
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(n->json, "class_type");
    if (!cJSON_IsString(ct)) {
        sdf_diags_add(c->d, ERR, "invalid_prompt", n->id, "", NULL,
                      "Cannot execute because a node is missing the class_type property.", det,
                      NULL, ct ? "\"class_type\" must be a string" : "the node has no "
                      "\"class_type\"");
        n->has_error = true;
        return;
    }
    if (!n->def) {
        char m[200];
        snprintf(m, sizeof m, "Cannot execute because node %.100s does not exist.", n->class_type);
        const char *sug = sdf_registry_suggest(c->g->reg, n->class_type);
        sdf_diags_add(c->d, ERR, "invalid_prompt", n->id, n->class_type, NULL, m, det, NULL,
                      "unknown class_type \"%s\"%s%s%s", n->class_type,
                      sug ? "; did you mean \"" : "", sug ? sug : "", sug ? "\"?" : "");
        n->has_error = true;
        return;
    }
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(n->json, "inputs");
    if (ins && !cJSON_IsObject(ins)) {
        sdf_diags_add(c->d, ERR, "invalid_prompt", n->id, n->class_type, NULL,
                      "Node inputs must be an object", det, NULL,
                      "\"inputs\" must be an object mapping input names to values");
        n->has_error = true;
    }
    for (int k = 0; k < n->n_inputs; k++) {
        const sdf_graph_input *x = &n->inputs[k];
        if (x->def_index >= 0) continue;
        char known[1024] = "";
        size_t len = 0;
        for (int j = 0; j < n->def->n_inputs && len + 4 < sizeof known; j++) {
            int w = snprintf(known + len, sizeof known - len, "%s%s", j ? ", " : "",
                             n->def->inputs[j].name);
            if (w < 0 || (size_t)w >= sizeof known - len) break;
            len += (size_t)w;
        }
        sdf_diags_add(c->d, WARN, "unknown_input", n->id, n->class_type, x->name,
                      "Unknown input (ignored)", x->name, NULL,
                      "%s has no input named '%s' (ignored); its inputs are: %s",
                      n->def->class_type, x->name, known[0] ? known : "(none)");
    }
    for (int j = 0; j < n->def->n_inputs && j < SDF_MAX_NODE_INPUTS; j++) {
        const sdf_input_def *in = &n->def->inputs[j];
        const sdf_graph_input *x = NULL;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k].def_index == j) x = &n->inputs[k]; /* the last one wins, as in JSON */
        if (!x) {
            if (in->optional) continue;
            char exp[200];
            if (in->type == SDF_VT_INT || in->type == SDF_VT_FLOAT || in->type == SDF_VT_STRING ||
                in->type == SDF_VT_BOOLEAN || in->type == SDF_VT_COMBO)
                snprintf(exp, sizeof exp, "%s: a value or a link", sdf_vtype_name(in->type));
            else snprintf(exp, sizeof exp, "%s: a link from a %s output", sdf_vtype_name(in->type), sdf_vtype_name(in->type));
            sdf_diags_add(c->d, ERR, "required_input_missing", n->id, n->class_type, in->name,
                          "Required input is missing", in->name, NULL,
                          "required input is missing (expected %s)", exp);
            n->has_error = true;
            continue;
        }
        if (x->is_link) {
            check_link(c, n, j, x);
        } else if (cJSON_IsArray(x->json)) {
            char *recv = sdf_json_value_text(x->json);
            sdf_diags_add(c->d, ERR, "bad_linked_input", n->id, n->class_type, in->name,
                          "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                          in->name, recv,
                          "expected a link [\"<node id>\", <output index>] (the id a string), "
                          "found %.200s", recv ? recv : "?");
            sdf_free(recv);
            n->has_error = true;
        } else {
            check_literal(c, n, j, x->json);
        }
    }
}

/* ---- graph-wide checks -------------------------------------------------------------------- */

/* Marks every node that reaches itself through links and reports each cycle once. */
static sdf_status check_cycles(vctx *c) {
    sdf_graph *g = c->g;
    int n = g->n_nodes;
    if (n <= 0) return SDF_OK;
    /* Kahn: nodes left after removing all sources are on or behind a cycle. */
    int *indeg = sdf_calloc((size_t)n, sizeof *indeg);
    int *queue = sdf_calloc((size_t)n, sizeof *queue);
    char *left = sdf_calloc((size_t)n, 1);
    char *reach = sdf_calloc((size_t)n, 1);
    int *stack = sdf_calloc((size_t)n + 1, sizeof *stack);
    int *comp = sdf_calloc((size_t)n, sizeof *comp);
    if (!indeg || !queue || !left || !reach || !stack || !comp) {
        sdf_free(indeg); sdf_free(queue); sdf_free(left); sdf_free(reach); sdf_free(stack);
        sdf_free(comp);
        return SDF_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k].is_link && g->nodes[i].inputs[k].src_node >= 0) indeg[i]++;
    int qh = 0, qt = 0;
    for (int i = 0; i < n; i++) {
        left[i] = 1;
        if (!indeg[i]) queue[qt++] = i;
    }
    /* indegree counts edges src->i; removing src decrements its consumers */
    while (qh < qt) {
        int s = queue[qh++];
        left[s] = 0;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < g->nodes[i].n_inputs; k++)
                if (g->nodes[i].inputs[k].is_link && g->nodes[i].inputs[k].src_node == s &&
                    --indeg[i] == 0)
                    queue[qt++] = i;
    }
    char *done = reach; /* reuse: done[i] = already reported */
    memset(done, 0, (size_t)n);
    for (int u = 0; u < n; u++) {
        if (!left[u] || done[u]) continue;
        /* reach set of u over remaining nodes following inputs (towards sources) */
        char *r = sdf_calloc((size_t)n, 1);
        char *r2 = sdf_calloc((size_t)n, 1);
        if (!r || !r2) { sdf_free(r); sdf_free(r2); break; }
        int sp = 0;
        stack[sp++] = u;
        while (sp) {
            int x = stack[--sp];
            for (int k = 0; k < g->nodes[x].n_inputs; k++) {
                int s = g->nodes[x].inputs[k].is_link ? g->nodes[x].inputs[k].src_node : -1;
                if (s >= 0 && left[s] && !r[s]) { r[s] = 1; stack[sp++] = s; }
            }
        }
        int nc = 0;
        if (r[u]) {
            for (int v = 0; v < n; v++) {
                if (!r[v]) continue;
                if (v == u) { comp[nc++] = v; continue; }
                /* does v reach u? */
                memset(r2, 0, (size_t)n);
                sp = 0;
                stack[sp++] = v;
                bool hit = false;
                while (sp && !hit) {
                    int x = stack[--sp];
                    for (int k = 0; k < g->nodes[x].n_inputs; k++) {
                        int s = g->nodes[x].inputs[k].is_link ? g->nodes[x].inputs[k].src_node : -1;
                        if (s == u) { hit = true; break; }
                        if (s >= 0 && left[s] && !r2[s]) { r2[s] = 1; stack[sp++] = s; }
                    }
                }
                if (hit) comp[nc++] = v;
            }
        }
        sdf_free(r);
        sdf_free(r2);
        if (!nc) continue;
        char names[2048] = "";
        size_t len = 0;
        for (int k = 0; k < nc; k++) {
            done[comp[k]] = 1;
            g->nodes[comp[k]].has_error = true;
            int w = snprintf(names + len, sizeof names - len, "%s\"%s\" (%s)", k ? ", " : "",
                             g->nodes[comp[k]].id, g->nodes[comp[k]].class_type);
            if (w > 0 && (size_t)w < sizeof names - len) len += (size_t)w;
        }
        sdf_graph_node *first = &g->nodes[comp[0]];
        sdf_diags_add(c->d, ERR, "dependency_cycle", first->id, first->class_type, NULL,
                      "Dependency cycle detected", names, NULL,
                      "dependency cycle: node%s %s depend%s on %s", nc == 1 ? "" : "s", names,
                      nc == 1 ? "s" : "", nc == 1 ? "itself" : "each other");
    }
    sdf_free(indeg); sdf_free(queue); sdf_free(left); sdf_free(reach); sdf_free(stack);
    sdf_free(comp);
    return SDF_OK;
}

static void mark_needed(const sdf_graph *g, int i, char *needed) {
    if (needed[i]) return;
    needed[i] = 1;
    for (int k = 0; k < g->nodes[i].n_inputs; k++) {
        const sdf_graph_input *x = &g->nodes[i].inputs[k];
        if (x->is_link && x->src_node >= 0) mark_needed(g, x->src_node, needed);
    }
}

sdf_status sdf_graph_validate(sdf_graph *g, const sdf_validate_opts *o, sdf_diags *d,
                              sdf_error *err) {
    vctx c = {g, o, d};
    int first_diag = d->n;
    for (int i = 0; i < g->n_nodes; i++) check_node(&c, i);
    if (check_cycles(&c)) return sdf_fail(err, SDF_ERR_NOMEM, "cycle check");

    /* execution targets */
    int n_targets = 0;
    if (o && o->n_only > 0) {
        for (int k = 0; k < o->n_only; k++) {
            int t = sdf_graph_find(g, o->only[k]);
            if (t < 0) {
                sdf_diags_add(d, ERR, "invalid_target", "", "", NULL, "Unknown target node",
                              o->only[k], NULL, "--only names node \"%s\", which is not in the "
                              "workflow", o->only[k]);
                continue;
            }
            g->nodes[t].is_output = true;
            n_targets++;
        }
    } else {
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[i].def && (g->nodes[i].def->flags & SDF_NODE_OUTPUT)) {
                g->nodes[i].is_output = true;
                n_targets++;
            }
    }
    if (n_targets == 0 && !(o && o->n_only > 0))
        sdf_diags_add(d, ERR, "prompt_no_outputs", "", "", NULL, "Prompt has no outputs", "",
                      NULL, "the workflow has no output node (SaveImage, PreviewImage, "
                      "SaveLatent, ...): nothing would run");

    /* problems in nodes that no target needs do not stop anything: make them warnings */
    char *needed = sdf_calloc((size_t)g->n_nodes + 1, 1);
    if (!needed) return sdf_fail(err, SDF_ERR_NOMEM, "validation");
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].is_output) mark_needed(g, i, needed);
    if (n_targets > 0) {
        for (int k = first_diag; k < d->n; k++) {
            sdf_diag *x = &d->v[k];
            if (x->level != ERR || !x->node_id[0] || !strcmp(x->type, "invalid_prompt")) continue;
            int i = sdf_graph_find(g, x->node_id);
            if (i < 0 || needed[i]) continue;
            x->level = WARN;
            d->n_errors--;
            d->n_warnings++;
            size_t l = strlen(x->text);
            char *t = sdf_realloc(x->text, l + 64);
            if (t) {
                memcpy(t + l, " (no output uses this node: ignored)", 37);
                x->text = t;
            }
        }
    }
    sdf_free(needed);

    /* bad = own problem, or a missing/bad ancestor; iterate to a fixed point (cycles included) */
    for (int i = 0; i < g->n_nodes; i++) g->nodes[i].bad = g->nodes[i].has_error;
    for (bool changed = true; changed;) {
        changed = false;
        for (int i = 0; i < g->n_nodes; i++) {
            sdf_graph_node *n = &g->nodes[i];
            if (n->bad) continue;
            for (int k = 0; k < n->n_inputs; k++) {
                const sdf_graph_input *x = &n->inputs[k];
                if (!x->is_link || x->def_index < 0) continue;
                if (x->src_node < 0 || g->nodes[x->src_node].bad) {
                    n->bad = changed = true;
                    break;
                }
            }
        }
    }
    return SDF_OK;
}

int sdf_graph_count_targets(const sdf_graph *g, int *n_dropped) {
    int ok = 0, bad = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!g->nodes[i].is_output) continue;
        if (g->nodes[i].bad) bad++;
        else ok++;
    }
    if (n_dropped) *n_dropped = bad;
    return ok;
}
