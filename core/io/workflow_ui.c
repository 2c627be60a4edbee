/* workflow_ui.c: graphToPrompt (spec §1.4 with the §10.8 corrections). */
#include "workflow_ui.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/alloc.h"
#include "json_exact.h"

#define ID_CAP 64

enum { K_REAL, K_REROUTE, K_PRIMITIVE, K_NOTE, K_GETNODE };
enum { MODE_NEVER = 2, MODE_BYPASS = 4 };

typedef struct ui_in {
    const char *name;
    const char *type;   /* "" when absent or not a string */
    const char *widget; /* widget.name, or NULL */
    bool        has_link;
    long long   link;
} ui_in;

typedef struct ui_node {
    char                id[ID_CAP];
    const char         *type; /* after load-time renames */
    const char         *title;
    int                 mode, kind;
    ui_in              *in;
    int                 n_in;
    const char        **out_type;
    int                 n_out;
    const cJSON        *wv;
    const char         *sr_name; /* properties["Node name for S&R"], or NULL */
    const sdf_node_def *def;
    bool                emitted;
} ui_node;

typedef struct ui_link {
    long long id;
    char      origin[ID_CAP];
    long long origin_slot;
} ui_link;

/* One entry of a produced node's inputs (JS object semantics: overwriting keeps the position). */
typedef struct kv {
    const char *name;
    cJSON      *lit; /* owned literal, or NULL for a link */
    char        src[ID_CAP];
    long long   slot;
} kv;

typedef struct kvlist {
    kv  *v;
    int  n, cap;
} kvlist;

typedef struct ctx {
    const sdf_json_doc *doc;
    const sdf_registry *reg;
    void (*warn)(void *, const char *);
    void    *user;
    ui_node *nodes;
    int      n_nodes;
    ui_link *links;      /* sorted by id */
    int      n_links;
    bool     legacy; /* no extra.frontendVersion: boolean seed-control slots allowed */
    sdf_error *err;
} ctx;

static void warnf(ctx *c, const char *fmt, ...) SDF_PRINTF(2, 3);
static void warnf(ctx *c, const char *fmt, ...) {
    if (!c->warn) return;
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->warn(c->user, buf);
}

/* ---- detection ------------------------------------------------------------------------------ */

bool sdf_workflow_is_ui(const cJSON *root) {
    if (!cJSON_IsObject(root)) return false;
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
    if (!cJSON_IsArray(nodes)) return false;
    /* An API prompt could in principle have a node with id "nodes": it would be an object with
     * class_type, not an array, so the array test above already tells them apart. */
    return true;
}

/* ---- small helpers -------------------------------------------------------------------------- */

static const char *str_or(const cJSON *j, const char *def) {
    return cJSON_IsString(j) && j->valuestring ? j->valuestring : def;
}

/* Node or link-end id as text: integers print in decimal, strings as they are. */
static bool id_text(const cJSON *j, char out[ID_CAP]) {
    if (cJSON_IsNumber(j)) {
        double v = j->valuedouble;
        if (!(v == floor(v)) || fabs(v) > 9007199254740992.0) return false;
        snprintf(out, ID_CAP, "%lld", (long long)v);
        return true;
    }
    if (cJSON_IsString(j) && j->valuestring && strlen(j->valuestring) < ID_CAP) {
        snprintf(out, ID_CAP, "%s", j->valuestring);
        return true;
    }
    return false;
}

static bool int_of(const cJSON *j, long long *out) {
    if (!cJSON_IsNumber(j)) return false;
    double v = j->valuedouble;
    if (!(v == floor(v)) || fabs(v) > 9007199254740992.0) return false;
    *out = (long long)v;
    return true;
}

/* A JavaScript array index ("0", "17"; no sign, no leading zero): such keys come first in a JS
 * object, ascending. */
static bool js_index(const char *s, unsigned long long *v) {
    if (!*s || strlen(s) > 10 || (s[0] == '0' && s[1])) return false;
    unsigned long long x = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        x = x * 10 + (unsigned)(*p - '0');
    }
    if (x > 4294967294ull) return false;
    *v = x;
    return true;
}

static const char *const renames[][2] = {
    {"ConditioningAverage ", "ConditioningAverage"},
    {"T2IAdapterLoader", "ControlNetLoader"},
    {"SDV_img2vid_Conditioning", "SVD_img2vid_Conditioning"},
};

static const char *renamed(const char *t) {
    for (size_t i = 0; i < SDF_COUNTOF(renames); i++)
        if (strcmp(t, renames[i][0]) == 0) return renames[i][1];
    return t;
}

/* Frontend-only ("virtual") node types: ComfyUI's own, and those of two very common frontend
 * extensions whose nodes never reach the API prompt (rgthree-comfy, KJNodes' Set/Get). */
static const char *const pass_through_types[] = {"Reroute", "Reroute (rgthree)", "SetNode"};
static const char *const dropped_types[] = {
    "Note", "MarkdownNote", "Label (rgthree)", "Bookmark (rgthree)", "Fast Groups Muter (rgthree)",
    "Fast Groups Bypasser (rgthree)", "Fast Muter (rgthree)", "Fast Bypasser (rgthree)",
    "Fast Actions Button (rgthree)", "Mute / Bypass Repeater (rgthree)",
    "Mute / Bypass Relay (rgthree)", "Random Unmuter (rgthree)", "Node Collector (rgthree)"};

static int kind_of(const char *t) {
    for (size_t i = 0; i < SDF_COUNTOF(pass_through_types); i++)
        if (strcmp(t, pass_through_types[i]) == 0) return K_REROUTE;
    if (strcmp(t, "PrimitiveNode") == 0) return K_PRIMITIVE;
    if (strcmp(t, "GetNode") == 0) return K_GETNODE;
    for (size_t i = 0; i < SDF_COUNTOF(dropped_types); i++)
        if (strcmp(t, dropped_types[i]) == 0) return K_NOTE;
    return K_REAL;
}

/* widgets_values[0] as a string (SetNode / GetNode names), or NULL. */
static const char *first_widget_str(const ui_node *n) {
    const cJSON *v = cJSON_IsArray(n->wv) ? n->wv->child : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- lookup --------------------------------------------------------------------------------- */

typedef struct id_ix {
    const char *id;
    int         ix;
} id_ix;

static int cmp_id_ix(const void *a, const void *b) {
    const id_ix *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->ix > y->ix) - (x->ix < y->ix);
}

static int cmp_link(const void *a, const void *b) {
    const ui_link *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int find_node(const ctx *c, const id_ix *tab, const char *id) {
    int lo = 0, hi = c->n_nodes - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int r = strcmp(tab[mid].id, id);
        if (r == 0) {
            while (mid > 0 && strcmp(tab[mid - 1].id, id) == 0) mid--; /* first of duplicates */
            return tab[mid].ix;
        }
        if (r < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

static const ui_link *find_link(const ctx *c, long long id) {
    ui_link key = {.id = id};
    return c->n_links ? bsearch(&key, c->links, (size_t)c->n_links, sizeof key, cmp_link) : NULL;
}

/* ---- link resolution (§1.4.2, §10.8 items 3-5) --------------------------------------------- */

enum { R_NOTHING, R_NODE, R_PRIMITIVE, R_ERROR };

typedef struct res {
    int       kind;
    int       node;
    long long slot;
} res;

typedef struct rctx {
    ctx         *c;
    const id_ix *tab;
    int          budget; /* hops left before a chain is declared circular */
} rctx;

static bool type_compat(const char *a, const char *b) {
    if (!a || !b || !*a || !*b || strcmp(a, "*") == 0 || strcmp(b, "*") == 0) return true;
    if (strcasecmp(a, b) == 0) return true;
    if (!strchr(a, ',') && !strchr(b, ',')) return false;
    /* comma-joined lists (old combo link types): any common element */
    const char *p = a;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *q = b;
        while (*q) {
            const char *f = strchr(q, ',');
            size_t m = f ? (size_t)(f - q) : strlen(q);
            if (n == m && strncasecmp(p, q, n) == 0) return true;
            q += m;
            if (*q == ',') q++;
        }
        p += n;
        if (*p == ',') p++;
    }
    return false;
}

static int bypass_slot(const ui_node *s, long long out, const char *T) {
    if (!T || !*T || strcmp(T, "*") == 0) {
        if (out >= 0 && out < s->n_in) return (int)out;
        return s->n_in > 0 ? 0 : -1;
    }
    const char *ot = out >= 0 && out < s->n_out ? s->out_type[out] : "";
    if (out >= 0 && out < s->n_in && type_compat(s->in[out].type, ot) &&
        type_compat(s->in[out].type, T))
        return (int)out;
    for (int i = 0; i < s->n_in; i++)
        if (strcmp(s->in[i].type, T) == 0) return i;
    for (int i = 0; i < s->n_in; i++)
        if (type_compat(s->in[i].type, ot) && type_compat(s->in[i].type, T)) return i;
    return -1;
}

static res resolve_output(rctx *r, int src, long long out, const char *T);

static res resolve_input(rctx *r, int node, int slot, const char *T) {
    res nothing = {R_NOTHING, -1, 0};
    ctx *c = r->c;
    if (--r->budget < 0) {
        sdf_fail(c->err, SDF_ERR_INVALID,
                 "circular reference: the links through node %s (%s) form a loop of reroutes or "
                 "bypassed nodes", c->nodes[node].id, c->nodes[node].type);
        sdf_error_at_node(c->err, c->nodes[node].id, c->nodes[node].type);
        return (res){R_ERROR, -1, 0};
    }
    const ui_node *n = &c->nodes[node];
    if (slot < 0 || slot >= n->n_in || !n->in[slot].has_link) return nothing;
    const ui_link *l = find_link(c, n->in[slot].link);
    if (!l) {
        warnf(c, "node %s (%s) input '%s': link %lld is not in the links table; ignored", n->id,
              n->type, n->in[slot].name, n->in[slot].link);
        return nothing;
    }
    int src = find_node(c, r->tab, l->origin);
    if (src < 0) {
        warnf(c, "node %s (%s) input '%s': link %lld comes from node %s, which does not exist; "
              "ignored", n->id, n->type, n->in[slot].name, l->id, l->origin);
        return nothing;
    }
    return resolve_output(r, src, l->origin_slot, T ? T : n->in[slot].type);
}

static res resolve_output(rctx *r, int src, long long out, const char *T) {
    const ui_node *s = &r->c->nodes[src];
    if (s->mode == MODE_BYPASS) {
        int k = bypass_slot(s, out, T);
        if (k < 0) return (res){R_NOTHING, -1, 0};
        return resolve_input(r, src, k, NULL); /* next hop: the bypassed node's input type */
    }
    switch (s->kind) {
    case K_REROUTE: return resolve_input(r, src, 0, T); /* keeps the consumer's type */
    case K_PRIMITIVE: return (res){R_PRIMITIVE, src, 0};
    case K_NOTE: return (res){R_NOTHING, -1, 0};
    case K_GETNODE: { /* KJNodes: the SetNode of the same name supplies the value */
        const char *name = first_widget_str(s);
        for (int i = 0; name && i < r->c->n_nodes; i++) {
            const ui_node *t = &r->c->nodes[i];
            const char *tn = strcmp(t->type, "SetNode") == 0 ? first_widget_str(t) : NULL;
            if (tn && strcmp(tn, name) == 0) return resolve_input(r, i, 0, T);
        }
        warnf(r->c, "GetNode %s: no SetNode named \"%s\"; its links are ignored", s->id,
              name ? name : "");
        return (res){R_NOTHING, -1, 0};
    }
    default: return (res){R_NODE, src, out};
    }
}

/* ---- input lists ---------------------------------------------------------------------------- */

static void kv_free(kvlist *l) {
    for (int i = 0; i < l->n; i++) cJSON_Delete(l->v[i].lit);
    sdf_free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int kv_find(const kvlist *l, const char *name) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0) return i;
    return -1;
}

/* Sets name to lit (taken over) or, when lit is NULL, to the link [src, slot]. */
static bool kv_set(kvlist *l, const char *name, cJSON *lit, const char *src, long long slot) {
    int i = kv_find(l, name);
    if (i < 0) {
        if (l->n == l->cap) {
            int nc = l->cap ? l->cap * 2 : 16;
            kv *nv = sdf_realloc(l->v, (size_t)nc * sizeof *nv);
            if (!nv) {
                cJSON_Delete(lit);
                return false;
            }
            l->v = nv;
            l->cap = nc;
        }
        i = l->n++;
        l->v[i].name = name;
        l->v[i].lit = NULL;
    } else {
        cJSON_Delete(l->v[i].lit);
        l->v[i].lit = NULL;
    }
    l->v[i].lit = lit;
    if (!lit) {
        snprintf(l->v[i].src, ID_CAP, "%s", src);
        l->v[i].slot = slot;
    }
    return true;
}

/* ---- widgets (§1.3, §1.4.7, §10.8 items 1, 8, 9, 10) ------------------------------------- */

enum { SL_INPUT, SL_CONTROL, SL_FILTER, SL_UPLOAD, SL_FORCED };

typedef struct wslot {
    int kind, input;
} wslot;

static bool is_widget_type(sdf_vtype t) {
    return t == SDF_VT_INT || t == SDF_VT_FLOAT || t == SDF_VT_STRING || t == SDF_VT_BOOLEAN ||
           t == SDF_VT_COMBO;
}

static bool has_control(const sdf_input_def *in) {
    if (in->control_after_generate) return true;
    return in->type == SDF_VT_INT &&
           (strcmp(in->name, "seed") == 0 || strcmp(in->name, "noise_seed") == 0);
}

static bool is_image_upload(const sdf_input_def *in) {
    return !in->optional && in->type == SDF_VT_COMBO && in->file_kind == SDF_FILE_INPUT &&
           strcmp(in->name, "image") == 0;
}

/* Widget layout of def: current frontend (legacy_forced false) or the layout of files saved
 * when forceInput inputs still had widgets (legacy_forced true). out has room for 3n+1. */
static int build_layout(const sdf_node_def *d, bool legacy_forced, wslot *out) {
    int n = 0;
    bool upload = false;
    for (int i = 0; i < d->n_inputs; i++)
        if (is_image_upload(&d->inputs[i])) upload = true;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < d->n_inputs; i++) {
            const sdf_input_def *in = &d->inputs[i];
            if (in->optional != (pass == 1) || !is_widget_type(in->type)) continue;
            if (in->link_only) {
                if (legacy_forced) {
                    out[n++] = (wslot){SL_FORCED, i};
                    if (in->control_after_generate) out[n++] = (wslot){SL_CONTROL, i};
                }
                continue;
            }
            out[n++] = (wslot){SL_INPUT, i};
            if (has_control(in)) {
                out[n++] = (wslot){SL_CONTROL, i};
                if (in->type == SDF_VT_COMBO) out[n++] = (wslot){SL_FILTER, i};
            }
        }
        if (pass == 0 && upload) out[n++] = (wslot){SL_UPLOAD, -1};
    }
    return n;
}

static bool is_control_value(const ctx *c, const cJSON *v) {
    static const char *const names[] = {"fixed", "increment", "decrement", "randomize",
                                        "increment-wrap"};
    if (cJSON_IsString(v)) {
        for (size_t i = 0; i < SDF_COUNTOF(names); i++)
            if (strcmp(v->valuestring, names[i]) == 0) return true;
        return false;
    }
    return cJSON_IsBool(v) && c->legacy;
}

static cJSON *float_raw(double v) {
    char buf[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    return cJSON_CreateRaw(buf);
}

/* The definition default of input in; NULL with *none set when it has none (file combos). */
static cJSON *default_value(const sdf_input_def *in, bool *none) {
    char buf[40];
    *none = false;
    switch (in->type) {
    case SDF_VT_INT:
        snprintf(buf, sizeof buf, "%lld", (long long)in->def_i);
        return cJSON_CreateRaw(buf);
    case SDF_VT_FLOAT: return float_raw(in->def_f);
    case SDF_VT_BOOLEAN: return cJSON_CreateBool(in->def_b);
    case SDF_VT_STRING: return cJSON_CreateString(in->def_s ? in->def_s : "");
    case SDF_VT_COMBO:
        if (in->def_s) return cJSON_CreateString(in->def_s);
        if (in->n_choices > 0 && in->choices && in->choices[0])
            return cJSON_CreateString(in->choices[0]);
        *none = true;
        return NULL;
    default: *none = true; return NULL;
    }
}

/* A widget value as the prompt carries it: arrays wrapped as {"__value__": [...]}. */
static cJSON *widget_value(const ctx *c, const cJSON *v) {
    cJSON *d = sdf_json_dup_exact(c->doc, v);
    if (!d || !cJSON_IsArray(v)) return d;
    cJSON *w = cJSON_CreateObject();
    if (!w) {
        cJSON_Delete(d);
        return NULL;
    }
    cJSON_AddItemToObject(w, "__value__", d);
    return w;
}

static sdf_status nomem(ctx *c) {
    return sdf_fail(c->err, SDF_ERR_NOMEM, "out of memory converting the UI workflow");
}

static sdf_status widgets_to_inputs(ctx *c, const ui_node *n, kvlist *kvs) {
    const sdf_node_def *d = n->def;
    size_t cap = (size_t)d->n_inputs * 3 + 2;
    wslot *a = sdf_malloc(cap * sizeof *a), *b = sdf_malloc(cap * sizeof *b);
    if (!a || !b) {
        sdf_free(a);
        sdf_free(b);
        return nomem(c);
    }
    int na = build_layout(d, false, a), nb = build_layout(d, true, b);
    const cJSON *wv = n->wv;
    int nv = cJSON_IsArray(wv) ? cJSON_GetArraySize(wv) : 0;
    const wslot *lay = a;
    int nl = na;
    if (nb != na && nv == nb) {
        lay = b; /* forceInput migration: drop the stale values at the forced positions */
        nl = nb;
    }
    const cJSON *cur = cJSON_IsArray(wv) ? wv->child : NULL;
    int used = 0;
    bool control_taken = false;
    sdf_status st = SDF_OK;
    for (int k = 0; k < nl && st == SDF_OK; k++) {
        const wslot *s = &lay[k];
        switch (s->kind) {
        case SL_INPUT: {
            const sdf_input_def *in = &d->inputs[s->input];
            const cJSON *v = NULL;
            if (cJSON_IsObject(wv)) v = cJSON_GetObjectItemCaseSensitive(wv, in->name);
            else if (cur) {
                v = cur;
                cur = cur->next;
                used++;
            }
            cJSON *val;
            if (v) {
                val = widget_value(c, v);
            } else {
                bool none;
                val = default_value(in, &none);
                if (none) {
                    warnf(c, "node %s (%s): no value for widget '%s' and no default; left out",
                          n->id, n->type, in->name);
                    break;
                }
            }
            if (!val || !kv_set(kvs, in->name, val, NULL, 0)) st = nomem(c);
            break;
        }
        case SL_CONTROL:
            control_taken = false;
            if (cur && is_control_value(c, cur)) {
                cur = cur->next;
                used++;
                control_taken = true;
            }
            break;
        case SL_FILTER:
            if (control_taken && cur && cJSON_IsString(cur)) {
                cur = cur->next;
                used++;
            }
            break;
        case SL_UPLOAD:
        case SL_FORCED:
            if (cur && (s->kind == SL_FORCED || cJSON_IsString(cur))) {
                cur = cur->next;
                used++;
            }
            break;
        }
    }
    if (st == SDF_OK && used < nv)
        warnf(c, "node %s (%s): %d extra widget value%s ignored (the node definition has fewer "
              "widgets)", n->id, n->type, nv - used, nv - used == 1 ? "" : "s");
    sdf_free(a);
    sdf_free(b);
    return st;
}

/* ---- filename_prefix text replacements (the frontend's applyTextReplacements) -------------- */

static void sb_add(char **buf, size_t *n, size_t *cap, bool *oom, const char *s, size_t len) {
    if (*oom) return;
    if (*n + len + 1 > *cap) {
        size_t nc = *cap ? *cap : 64;
        while (nc < *n + len + 1) nc *= 2;
        char *nb = sdf_realloc(*buf, nc);
        if (!nb) {
            *oom = true;
            return;
        }
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *n, s, len);
    *n += len;
    (*buf)[*n] = 0;
}

/* The in-app title of a node: its saved title, else the class display name. */
static const char *node_title(const ui_node *n) {
    if (n->title) return n->title;
    if (n->def && n->def->display_name) return n->def->display_name;
    return n->type;
}

/* Text of widget `wname` of node `node` as JavaScript's String(value) gives it, written into
 * *text (sdf_malloc'd); false when the node has no such widget. */
static bool widget_text(ctx *c, int node, const char *wname, size_t wlen, char **text) {
    const ui_node *n = &c->nodes[node];
    if (!n->def) return false;
    kvlist tmp = {0};
    void (*warn)(void *, const char *) = c->warn;
    c->warn = NULL; /* its own conversion already warned */
    sdf_status st = widgets_to_inputs(c, n, &tmp);
    c->warn = warn;
    bool found = false;
    for (int i = 0; st == SDF_OK && i < tmp.n; i++) {
        if (strlen(tmp.v[i].name) != wlen || strncmp(tmp.v[i].name, wname, wlen) != 0) continue;
        const cJSON *v = tmp.v[i].lit;
        if (cJSON_IsString(v) || cJSON_IsRaw(v)) *text = sdf_strdup(v->valuestring);
        else if (cJSON_IsBool(v)) *text = sdf_strdup(cJSON_IsTrue(v) ? "true" : "false");
        else if (cJSON_IsNull(v)) *text = sdf_strdup("");
        else {
            char *p = cJSON_PrintUnformatted(v);
            *text = p ? sdf_strdup(p) : NULL;
            cJSON_free(p);
        }
        found = *text != NULL;
        break;
    }
    kv_free(&tmp);
    return found;
}

/* "%Title.widget%" -> that widget's value ('/' and '\' become '_'), looking the node up by its
 * "Node name for S&R" property first, then by title; other %...% (dates, %width%) are left for
 * the backend. Returns a NEW string item, or NULL when nothing changed / out of memory. */
static cJSON *replace_prefix(ctx *c, const char *s) {
    char *out = NULL;
    size_t n = 0, cap = 0;
    bool oom = false, changed = false;
    const char *p = s;
    while (*p) {
        const char *q = p[0] == '%' ? strchr(p + 1, '%') : NULL;
        if (!q || q == p + 1) {
            sb_add(&out, &n, &cap, &oom, p, 1);
            p++;
            continue;
        }
        const char *dot = memchr(p + 1, '.', (size_t)(q - p - 1));
        const char *dot2 = dot ? memchr(dot + 1, '.', (size_t)(q - dot - 1)) : NULL;
        char *val = NULL;
        if (dot && !dot2) {
            size_t nl = (size_t)(dot - p - 1);
            int hit = -1;
            for (int pass = 0; pass < 2 && hit < 0; pass++)
                for (int i = 0; i < c->n_nodes && hit < 0; i++) {
                    const char *key = pass == 0 ? c->nodes[i].sr_name : node_title(&c->nodes[i]);
                    if (key && strlen(key) == nl && strncmp(key, p + 1, nl) == 0) hit = i;
                }
            if (hit >= 0) widget_text(c, hit, dot + 1, (size_t)(q - dot - 1), &val);
        }
        if (val) {
            for (char *v = val; *v; v++)
                if (*v == '/' || *v == '\\') *v = '_';
            sb_add(&out, &n, &cap, &oom, val, strlen(val));
            sdf_free(val);
            changed = true;
        } else {
            sb_add(&out, &n, &cap, &oom, p, (size_t)(q - p + 1));
        }
        p = q + 1;
    }
    cJSON *item = changed && !oom ? cJSON_CreateString(out) : NULL;
    sdf_free(out);
    return item;
}

/* ---- parsing the UI structure --------------------------------------------------------------- */

static sdf_status parse_fail(ctx *c, const char *fmt, ...) SDF_PRINTF(2, 3);
static sdf_status parse_fail(ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char buf[900];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return sdf_fail(c->err, SDF_ERR_PARSE, "UI workflow: %s", buf);
}

static sdf_status parse_node(ctx *c, const cJSON *j, int index, ui_node *n) {
    memset(n, 0, sizeof *n);
    if (!cJSON_IsObject(j)) return parse_fail(c, "nodes[%d] is not an object", index);
    if (!id_text(cJSON_GetObjectItemCaseSensitive(j, "id"), n->id))
        return parse_fail(c, "nodes[%d] has no usable \"id\" (an integer or a short string)",
                          index);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    if (!cJSON_IsString(type) || !type->valuestring[0])
        return parse_fail(c, "node %s has no \"type\" (class name)", n->id);
    n->type = renamed(type->valuestring);
    n->kind = kind_of(n->type);
    n->title = str_or(cJSON_GetObjectItemCaseSensitive(j, "title"), NULL);
    long long mode = 0;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "mode");
    if (m && !cJSON_IsNull(m) && !int_of(m, &mode))
        return parse_fail(c, "node %s (%s): \"mode\" is not an integer", n->id, n->type);
    n->mode = mode == MODE_NEVER || mode == MODE_BYPASS ? (int)mode : 0;
    n->wv = cJSON_GetObjectItemCaseSensitive(j, "widgets_values");
    n->sr_name = str_or(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(j, "properties"), "Node name for S&R"),
                        NULL);

    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(j, "inputs");
    if (ins && !cJSON_IsNull(ins) && !cJSON_IsArray(ins))
        return parse_fail(c, "node %s (%s): \"inputs\" is not an array", n->id, n->type);
    int ni = cJSON_IsArray(ins) ? cJSON_GetArraySize(ins) : 0;
    if (ni > 0) {
        n->in = sdf_calloc((size_t)ni, sizeof *n->in);
        if (!n->in) return nomem(c);
    }
    int k = 0;
    for (const cJSON *e = ins ? ins->child : NULL; e; e = e->next, k++) {
        ui_in *in = &n->in[k];
        if (!cJSON_IsObject(e))
            return parse_fail(c, "node %s (%s): inputs[%d] is not an object", n->id, n->type, k);
        in->name = str_or(cJSON_GetObjectItemCaseSensitive(e, "name"), "");
        in->type = str_or(cJSON_GetObjectItemCaseSensitive(e, "type"), "");
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(e, "widget");
        if (cJSON_IsObject(w)) in->widget = str_or(cJSON_GetObjectItemCaseSensitive(w, "name"), NULL);
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(e, "link");
        if (l && !cJSON_IsNull(l)) {
            if (!int_of(l, &in->link))
                return parse_fail(c, "node %s (%s) input '%s': \"link\" is not an integer", n->id,
                                  n->type, in->name);
            in->has_link = true;
        }
    }
    n->n_in = ni;

    const cJSON *outs = cJSON_GetObjectItemCaseSensitive(j, "outputs");
    int no = cJSON_IsArray(outs) ? cJSON_GetArraySize(outs) : 0;
    if (no > 0) {
        n->out_type = sdf_calloc((size_t)no, sizeof *n->out_type);
        if (!n->out_type) return nomem(c);
    }
    k = 0;
    for (const cJSON *e = no ? outs->child : NULL; e; e = e->next, k++)
        n->out_type[k] = str_or(cJSON_GetObjectItemCaseSensitive(e, "type"), "");
    n->n_out = no;
    return SDF_OK;
}

static sdf_status parse_link(ctx *c, const cJSON *e, int index, ui_link *l) {
    const cJSON *id, *origin, *oslot;
    if (cJSON_IsArray(e)) {
        if (cJSON_GetArraySize(e) < 5)
            return parse_fail(c, "links[%d] has fewer than 5 elements", index);
        id = cJSON_GetArrayItem(e, 0);
        origin = cJSON_GetArrayItem(e, 1);
        oslot = cJSON_GetArrayItem(e, 2);
    } else if (cJSON_IsObject(e)) {
        id = cJSON_GetObjectItemCaseSensitive(e, "id");
        origin = cJSON_GetObjectItemCaseSensitive(e, "origin_id");
        oslot = cJSON_GetObjectItemCaseSensitive(e, "origin_slot");
    } else {
        return parse_fail(c, "links[%d] is neither an array nor an object", index);
    }
    if (!int_of(id, &l->id) || !id_text(origin, l->origin) || !int_of(oslot, &l->origin_slot))
        return parse_fail(c, "links[%d] is malformed (expected [id, origin_id, origin_slot, "
                          "target_id, target_slot, type])", index);
    return SDF_OK;
}

/* ---- output --------------------------------------------------------------------------------- */

typedef struct emit_ix {
    int                ix;
    bool               is_index;
    unsigned long long num;
} emit_ix;

static int cmp_emit(const void *a, const void *b) {
    const emit_ix *x = a, *y = b;
    if (x->is_index != y->is_index) return x->is_index ? -1 : 1;
    if (x->is_index && x->num != y->num) return x->num < y->num ? -1 : 1;
    return (x->ix > y->ix) - (x->ix < y->ix);
}

static void free_nodes(ctx *c) {
    for (int i = 0; i < c->n_nodes; i++) {
        sdf_free(c->nodes[i].in);
        sdf_free(c->nodes[i].out_type);
    }
    sdf_free(c->nodes);
    sdf_free(c->links);
}

static sdf_status check_classes(ctx *c, const cJSON *root) {
    const cJSON *defs = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "definitions"), "subgraphs");
    int first = -1, n_missing = 0;
    char others[400] = "";
    for (int i = 0; i < c->n_nodes; i++) {
        ui_node *n = &c->nodes[i];
        if (n->kind != K_REAL) continue;
        if (strncmp(n->type, "workflow>", 9) == 0 || strncmp(n->type, "workflow/", 9) == 0) {
            sdf_fail(c->err, SDF_ERR_UNSUPPORTED,
                     "node %s is a legacy group node (\"%s\"); group nodes are not supported: "
                     "convert it to nodes in ComfyUI first", n->id, n->type);
            sdf_error_at_node(c->err, n->id, n->type);
            return SDF_ERR_UNSUPPORTED;
        }
        for (const cJSON *s = cJSON_IsArray(defs) ? defs->child : NULL; s; s = s->next) {
            const char *sid = str_or(cJSON_GetObjectItemCaseSensitive(s, "id"), NULL);
            if (sid && strcmp(sid, n->type) == 0) {
                sdf_fail(c->err, SDF_ERR_UNSUPPORTED,
                         "node %s is a subgraph instance (%s); subgraphs are not supported yet",
                         n->id, n->type);
                sdf_error_at_node(c->err, n->id, n->type);
                return SDF_ERR_UNSUPPORTED;
            }
        }
        n->def = sdf_registry_find(c->reg, n->type);
        if (n->def || n->mode == MODE_NEVER || n->mode == MODE_BYPASS) continue;
        if (first < 0) {
            first = i;
        } else if (strlen(others) < sizeof others - 80) {
            size_t o = strlen(others);
            snprintf(others + o, sizeof others - o, "%s node %s (%s)", n_missing > 1 ? "," : "",
                     n->id, n->type);
        }
        n_missing++;
    }
    if (first < 0) return SDF_OK;
    ui_node *n = &c->nodes[first];
    sdf_fail(c->err, SDF_ERR_NOT_FOUND,
             "node %s: unknown node class \"%s\" (not built in; in ComfyUI it would come from a "
             "custom node pack), so its widget values cannot be named%s%s", n->id, n->type,
             n_missing > 1 ? "; also unknown:" : "", others);
    sdf_error_at_node(c->err, n->id, n->type);
    return SDF_ERR_NOT_FOUND;
}

static sdf_status convert(ctx *c, const cJSON *root, char **out) {
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
    const cJSON *links = cJSON_GetObjectItemCaseSensitive(root, "links");
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(root, "extra");
    c->legacy = !cJSON_GetObjectItemCaseSensitive(extra, "frontendVersion");
    int nn = cJSON_GetArraySize(nodes);
    if (nn > 0) {
        c->nodes = sdf_calloc((size_t)nn, sizeof *c->nodes);
        if (!c->nodes) return nomem(c);
    }
    int k = 0;
    sdf_status st;
    for (const cJSON *e = nodes->child; e; e = e->next, k++) {
        c->n_nodes = k + 1;
        if ((st = parse_node(c, e, k, &c->nodes[k])) != SDF_OK) return st;
    }
    c->n_nodes = nn;
    if (links && !cJSON_IsNull(links) && !cJSON_IsArray(links))
        return parse_fail(c, "\"links\" is not an array");
    int nl = cJSON_IsArray(links) ? cJSON_GetArraySize(links) : 0;
    if (nl > 0) {
        c->links = sdf_calloc((size_t)nl, sizeof *c->links);
        if (!c->links) return nomem(c);
    }
    k = 0;
    int idx = 0;
    for (const cJSON *e = nl ? links->child : NULL; e; e = e->next, idx++) {
        if (cJSON_IsNull(e)) continue;
        if ((st = parse_link(c, e, idx, &c->links[k])) != SDF_OK) return st;
        k++;
    }
    c->n_links = k;
    if (k) qsort(c->links, (size_t)k, sizeof *c->links, cmp_link);

    if ((st = check_classes(c, root)) != SDF_OK) return st;

    id_ix *tab = nn ? sdf_malloc((size_t)nn * sizeof *tab) : NULL;
    kvlist *kvs = nn ? sdf_calloc((size_t)nn, sizeof *kvs) : NULL;
    emit_ix *order = nn ? sdf_malloc((size_t)nn * sizeof *order) : NULL;
    cJSON *api = cJSON_CreateObject();
    if ((nn && (!tab || !kvs || !order)) || !api) {
        st = nomem(c);
        goto done;
    }
    for (int i = 0; i < nn; i++) tab[i] = (id_ix){c->nodes[i].id, i};
    if (nn) qsort(tab, (size_t)nn, sizeof *tab, cmp_id_ix);
    for (int i = 1; i < nn; i++)
        if (strcmp(tab[i - 1].id, tab[i].id) == 0) {
            st = parse_fail(c, "two nodes have the id %s", tab[i].id);
            goto done;
        }

    /* 1-2: emitted nodes, widget values, then links in input-slot order */
    for (int i = 0; i < nn && st == SDF_OK; i++) {
        ui_node *n = &c->nodes[i];
        if (n->kind != K_REAL || n->mode == MODE_NEVER || n->mode == MODE_BYPASS) continue;
        n->emitted = true;
        if ((st = widgets_to_inputs(c, n, &kvs[i])) != SDF_OK) break;
        for (int s = 0; s < n->n_in; s++) {
            if (!n->in[s].has_link) continue;
            /* the prompt key is the slot name (as both frontends write it); a PrimitiveNode
             * pushes into the widget named by slot.widget */
            const char *name = n->in[s].name[0] ? n->in[s].name
                               : n->in[s].widget ? n->in[s].widget
                                                 : n->in[s].name;
            const char *wname = n->in[s].widget ? n->in[s].widget : name;
            rctx r = {c, tab, 2 * nn + 4};
            res rs = resolve_input(&r, i, s, NULL);
            if (rs.kind == R_ERROR) {
                st = SDF_ERR_INVALID;
                break;
            }
            if (rs.kind == R_NODE) {
                if (!kv_set(&kvs[i], name, NULL, c->nodes[rs.node].id, rs.slot)) st = nomem(c);
            } else if (rs.kind == R_PRIMITIVE) {
                /* step 0: a PrimitiveNode linked directly pushes its value into the widget;
                 * through reroutes the target's own value stands (§10.8 item 5). */
                const ui_link *l = find_link(c, n->in[s].link);
                int direct = l ? find_node(c, tab, l->origin) : -1;
                const ui_node *p = &c->nodes[rs.node];
                int w = kv_find(&kvs[i], wname);
                if (direct == rs.node && w >= 0 && cJSON_IsArray(p->wv) && p->wv->child) {
                    cJSON *v = widget_value(c, p->wv->child);
                    if (!v || !kv_set(&kvs[i], wname, v, NULL, 0)) st = nomem(c);
                } else if (w < 0) {
                    warnf(c, "node %s (%s) input '%s': fed by PrimitiveNode %s but the node has "
                          "no such widget; left out", n->id, n->type, wname, p->id);
                }
            }
        }
    }
    if (st != SDF_OK) goto done;

    /* SaveImage-style filename_prefix widgets get the frontend's %Node.widget% replacement */
    for (int i = 0; i < nn && st == SDF_OK; i++) {
        int k = c->nodes[i].emitted ? kv_find(&kvs[i], "filename_prefix") : -1;
        const cJSON *v = k >= 0 ? kvs[i].v[k].lit : NULL;
        if (!cJSON_IsString(v) || !strchr(v->valuestring, '%')) continue;
        cJSON *r = replace_prefix(c, v->valuestring);
        if (r && !kv_set(&kvs[i], "filename_prefix", r, NULL, 0)) st = nomem(c);
    }
    if (st != SDF_OK) goto done;

    /* 3-4: build the object in JS key order, dropping links to nodes that were not emitted */
    int ne = 0;
    for (int i = 0; i < nn; i++) {
        if (!c->nodes[i].emitted) continue;
        order[ne].ix = i;
        order[ne].is_index = js_index(c->nodes[i].id, &order[ne].num);
        ne++;
    }
    if (ne) qsort(order, (size_t)ne, sizeof *order, cmp_emit);
    for (int e = 0; e < ne && st == SDF_OK; e++) {
        int i = order[e].ix;
        ui_node *n = &c->nodes[i];
        cJSON *obj = cJSON_CreateObject(), *inputs = cJSON_CreateObject(),
              *meta = cJSON_CreateObject();
        if (!obj || !inputs || !meta) {
            cJSON_Delete(obj);
            cJSON_Delete(inputs);
            cJSON_Delete(meta);
            st = nomem(c);
            break;
        }
        cJSON_AddItemToObject(obj, "inputs", inputs);
        cJSON_AddItemToObject(api, n->id, obj);
        for (int q = 0; q < kvs[i].n; q++) {
            kv *v = &kvs[i].v[q];
            cJSON *item;
            if (v->lit) {
                item = v->lit;
                v->lit = NULL;
            } else {
                int src = find_node(c, tab, v->src);
                if (src < 0 || !c->nodes[src].emitted) {
                    warnf(c, "node %s (%s) input '%s': its link comes from node %s, which is "
                          "%s; the input is dropped", n->id, n->type, v->name, v->src,
                          src >= 0 && c->nodes[src].mode == MODE_NEVER ? "muted" : "not emitted");
                    continue;
                }
                char slot[32];
                snprintf(slot, sizeof slot, "%lld", v->slot);
                item = cJSON_CreateArray();
                cJSON *a = cJSON_CreateString(v->src), *b = cJSON_CreateRaw(slot);
                if (!item || !a || !b) {
                    cJSON_Delete(item);
                    cJSON_Delete(a);
                    cJSON_Delete(b);
                    st = nomem(c);
                    break;
                }
                cJSON_AddItemToArray(item, a);
                cJSON_AddItemToArray(item, b);
            }
            cJSON_AddItemToObject(inputs, v->name, item);
        }
        const char *title = n->title ? n->title
                            : n->def && n->def->display_name ? n->def->display_name
                                                             : n->type;
        cJSON_AddItemToObject(obj, "class_type", cJSON_CreateString(n->type));
        cJSON_AddItemToObject(meta, "title", cJSON_CreateString(title));
        cJSON_AddItemToObject(obj, "_meta", meta);
    }
    if (st != SDF_OK) goto done;
    char *text = cJSON_PrintUnformatted(api);
    if (!text) {
        st = nomem(c);
        goto done;
    }
    *out = sdf_strdup(text);
    cJSON_free(text);
    if (!*out) st = nomem(c);
done:
    if (kvs)
        for (int i = 0; i < nn; i++) kv_free(&kvs[i]);
    sdf_free(kvs);
    sdf_free(tab);
    sdf_free(order);
    cJSON_Delete(api);
    return st;
}

sdf_status sdf_workflow_ui_to_api(const char *ui_text, size_t len, const sdf_registry *reg,
                                  void (*warn)(void *user, const char *msg), void *user,
                                  char **api_text_out, sdf_error *err) {
    if (api_text_out) *api_text_out = NULL;
    if (!api_text_out || !reg) return sdf_fail(err, SDF_ERR_INVALID, "ui_to_api: missing argument");
    sdf_json_doc doc;
    sdf_status st = sdf_json_parse_exact(ui_text, len, "UI workflow", &doc, err);
    if (st != SDF_OK) return st;
    if (!sdf_workflow_is_ui(doc.root)) {
        sdf_json_doc_free(&doc);
        return sdf_fail(err, SDF_ERR_PARSE,
                        "not a ComfyUI UI workflow: expected an object with a \"nodes\" array");
    }
    sdf_error local;
    sdf_error_clear(&local);
    ctx c = {.doc = &doc, .reg = reg, .warn = warn, .user = user, .err = err ? err : &local};
    st = convert(&c, doc.root, api_text_out);
    free_nodes(&c);
    sdf_json_doc_free(&doc);
    return st;
}
