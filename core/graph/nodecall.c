#include "nodecall_int.h"

#include "../base/sha256.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const sdf_node_def *sdf_registry_find(const sdf_registry *r, const char *class_type) {
    if (!r || !class_type) return NULL;
    for (size_t i = 0; i < r->n_defs; i++)
        if (strcmp(r->defs[i]->class_type, class_type) == 0) return r->defs[i];
    for (size_t i = 0; i < r->n_aliases; i++)
        if (strcmp(r->aliases[i].alias, class_type) == 0) {
            for (size_t j = 0; j < r->n_defs; j++)
                if (strcmp(r->defs[j]->class_type, r->aliases[i].class_type) == 0) return r->defs[j];
        }
    return NULL;
}

int sdf_node_input_index(const sdf_node_def *d, const char *name) {
    for (int i = 0; i < d->n_inputs; i++)
        if (strcmp(d->inputs[i].name, name) == 0) return i;
    return -1;
}

static sdf_value *arg_at(const sdf_node_call *c, int i) {
    SDF_ASSERT(i >= 0 && i < c->def->n_inputs && i < SDF_MAX_NODE_INPUTS);
    return c->args[i];
}

bool sdf_arg_has(const sdf_node_call *c, int i) { return arg_at(c, i) != NULL; }
sdf_value *sdf_arg(const sdf_node_call *c, int i) { return arg_at(c, i); }

int64_t sdf_arg_int(const sdf_node_call *c, int i) {
    sdf_value *v = arg_at(c, i);
    if (!v) return c->def->inputs[i].def_i;
    if (v->type == SDF_VT_FLOAT) return (int64_t)v->u.f;
    return v->type == SDF_VT_INT ? v->u.integer.i : 0;
}

uint64_t sdf_arg_u64(const sdf_node_call *c, int i) { return (uint64_t)sdf_arg_int(c, i); }

double sdf_arg_float(const sdf_node_call *c, int i) {
    sdf_value *v = arg_at(c, i);
    if (!v) return c->def->inputs[i].def_f;
    if (v->type == SDF_VT_INT)
        return v->u.integer.is_u64 ? (double)(uint64_t)v->u.integer.i : (double)v->u.integer.i;
    return v->type == SDF_VT_FLOAT ? v->u.f : 0.0;
}

bool sdf_arg_bool(const sdf_node_call *c, int i) {
    sdf_value *v = arg_at(c, i);
    if (!v) return c->def->inputs[i].def_b;
    return v->type == SDF_VT_BOOLEAN ? v->u.b : false;
}

const char *sdf_arg_str(const sdf_node_call *c, int i) {
    sdf_value *v = arg_at(c, i);
    if (!v || (v->type != SDF_VT_STRING && v->type != SDF_VT_COMBO)) {
        const sdf_input_def *d = &c->def->inputs[i];
        if (d->def_s) return d->def_s;
        return d->n_choices ? d->choices[0] : "";
    }
    return v->u.s;
}

sdf_tensor *sdf_arg_tensor(const sdf_node_call *c, int i) {
    sdf_value *v = arg_at(c, i);
    if (!v) return NULL;
    return (v->type == SDF_VT_IMAGE || v->type == SDF_VT_MASK || v->type == SDF_VT_SIGMAS)
               ? v->u.tensor
               : NULL;
}

const sdf_latent *sdf_arg_latent(const sdf_node_call *c, int i) {
    sdf_value *v = arg_at(c, i);
    return v && v->type == SDF_VT_LATENT ? &v->u.latent : NULL;
}

const sdf_conditioning *sdf_arg_cond(const sdf_node_call *c, int i) {
    sdf_value *v = arg_at(c, i);
    return v && v->type == SDF_VT_CONDITIONING ? &v->u.cond : NULL;
}

void *sdf_arg_handle(const sdf_node_call *c, int i) {
    sdf_value *v = arg_at(c, i);
    if (!v) return NULL;
    switch (v->type) {
    case SDF_VT_MODEL: case SDF_VT_CLIP: case SDF_VT_VAE: case SDF_VT_CLIP_VISION:
    case SDF_VT_CONTROL_NET: case SDF_VT_UPSCALE_MODEL: return v->u.handle.obj;
    default: return NULL;
    }
}

sdf_status sdf_out_set(sdf_node_call *c, int i, sdf_value *v, sdf_error *err) {
    if (!v) return sdf_fail(err, SDF_ERR_NOMEM, "output %d", i);
    if (i < 0 || i >= c->def->n_outputs || i >= SDF_MAX_NODE_OUTPUTS) {
        sdf_value_release(v);
        return sdf_fail(err, SDF_ERR_INTERNAL, "%s has no output %d", c->def->class_type, i);
    }
    sdf_value_release(c->outputs[i]);
    c->outputs[i] = v;
    return SDF_OK;
}

const char *sdf_call_node_id(const sdf_node_call *c) { return c->node_id; }
const sdf_node_def *sdf_call_def(const sdf_node_call *c) { return c->def; }
const sdf_paths *sdf_call_paths(const sdf_node_call *c) { return c->host ? c->host->paths : NULL; }
sdf_pool *sdf_call_pool(const sdf_node_call *c) { return c->host ? c->host->pool : NULL; }
void *sdf_call_resources(const sdf_node_call *c) { return c->host ? c->host->resources : NULL; }
const cJSON *sdf_call_prompt(const sdf_node_call *c) { return c->host ? c->host->prompt : NULL; }
bool sdf_call_fp32_text_enc(const sdf_node_call *c) { return c->host && c->host->fp32_text_enc; }
const char *sdf_call_workflow_text(const sdf_node_call *c) {
    return c->host ? c->host->workflow_text : NULL;
}

sdf_status sdf_call_find_file(const sdf_node_call *c, int i, char *out, size_t cap, sdf_error *err) {
    const sdf_input_def *d = &c->def->inputs[i];
    sdf_paths defaults;
    const sdf_paths *p = sdf_call_paths(c);
    if (!p) {
        sdf_paths_init_defaults(&defaults);
        p = &defaults;
    }
    sdf_status st = sdf_paths_find(p, d->file_kind, sdf_arg_str(c, i), out, cap, err);
    if (st) sdf_error_at_input(err, d->name);
    return st;
}

void sdf_call_progress(sdf_node_call *c, int64_t value, int64_t max) {
    if (c->host && c->host->progress) c->host->progress(c->host->user, c->node_id, value, max);
}

bool sdf_call_cancelled(const sdf_node_call *c) {
    return c->host && c->host->cancelled && c->host->cancelled(c->host->user);
}

void sdf_call_warn(sdf_node_call *c, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->host && c->host->warn) c->host->warn(c->host->user, c->node_id, msg);
    else fprintf(stderr, "warning: node %s (%s): %s\n", c->node_id ? c->node_id : "?",
                 c->def->class_type, msg);
}

void sdf_call_note_input_file(sdf_node_call *c, const char *path, const char *role) {
    if (c->host && c->host->note_input_file)
        c->host->note_input_file(c->host->user, c->node_id, path, role);
}

void sdf_call_note_output_file(sdf_node_call *c, const char *path, int width, int height) {
    if (c->host && c->host->note_output_file)
        c->host->note_output_file(c->host->user, c->node_id, path, width, height);
}

sdf_status sdf_call_file_sha256(sdf_node_call *c, const char *path, char hex[65], sdf_error *err) {
    if (c->host && c->host->file_sha256) return c->host->file_sha256(c->host->user, path, hex, err);
    return sdf_sha256_file(path, hex, err);
}

void sdf_call_note(sdf_node_call *c, const char *key, const char *value) {
    if (c->host && c->host->note) c->host->note(c->host->user, c->node_id, key, value);
}

sdf_status sdf_node_call_run(sdf_node_call *c, sdf_error *err) {
    const sdf_node_def *d = c->def;
    sdf_status st;
    if (!d->run) {
        st = sdf_fail(err, SDF_ERR_NOT_IMPLEMENTED,
                      "node class %s is defined but its implementation has not landed yet",
                      d->class_type);
    } else {
        st = d->run(c, err);
        for (int i = 0; st == SDF_OK && i < d->n_outputs; i++) {
            sdf_value *v = c->outputs[i];
            if (!v) st = sdf_fail(err, SDF_ERR_INTERNAL, "output %d (%s) was not set", i, d->outputs[i].name);
            else if (v->type != d->outputs[i].type)
                st = sdf_fail(err, SDF_ERR_INTERNAL, "output %d is %s, declared %s", i,
                              sdf_vtype_name(v->type), sdf_vtype_name(d->outputs[i].type));
        }
    }
    if (st) sdf_error_at_node(err, c->node_id, d->class_type);
    return st;
}

void sdf_node_call_deinit(sdf_node_call *c) {
    for (int i = 0; i < SDF_MAX_NODE_OUTPUTS; i++) {
        sdf_value_release(c->outputs[i]);
        c->outputs[i] = NULL;
    }
}
