/* valuefile.c: node output values <-> safetensors. See valuefile.h. */
#include "valuefile.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "../base/alloc.h"

bool sdf_value_is_storable(const sdf_value *v) {
    if (!v) return false;
    switch (v->type) {
    case SDF_VT_IMAGE: case SDF_VT_MASK: case SDF_VT_SIGMAS: return v->u.tensor != NULL;
    case SDF_VT_LATENT: return v->u.latent.samples != NULL;
    case SDF_VT_CONDITIONING: return true;
    default: return false;
    }
}

static const char *tensor_name(sdf_vtype t) {
    return t == SDF_VT_IMAGE ? "image" : t == SDF_VT_MASK ? "mask" : "sigmas";
}

static sdf_status add(sdf_st_writer *w, const char *prefix, const char *name, sdf_tensor *t,
                      sdf_error *err) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return sdf_st_writer_add(w, full, t, err);
}

static sdf_status meta(sdf_st_writer *w, const char *prefix, const char *key, const char *val,
                       sdf_error *err) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, key);
    return sdf_st_writer_meta(w, full, val, err);
}

static cJSON *entry_json(const sdf_cond_entry *e) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "has_pooled", e->pooled != NULL);
    cJSON_AddBoolToObject(o, "has_mask", e->mask != NULL);
    cJSON_AddBoolToObject(o, "has_area", e->has_area);
    cJSON_AddBoolToObject(o, "area_percentage", e->area_percentage);
    cJSON *a = cJSON_AddArrayToObject(o, "area");
    for (int k = 0; k < 4; k++) cJSON_AddItemToArray(a, cJSON_CreateNumber(e->area[k]));
    cJSON_AddBoolToObject(o, "has_strength", e->has_strength);
    cJSON_AddNumberToObject(o, "strength", e->strength);
    cJSON_AddNumberToObject(o, "mask_strength", e->mask_strength);
    cJSON_AddBoolToObject(o, "set_area_to_bounds", e->set_area_to_bounds);
    cJSON_AddBoolToObject(o, "has_timestep_range", e->has_timestep_range);
    cJSON_AddNumberToObject(o, "start_percent", e->start_percent);
    cJSON_AddNumberToObject(o, "end_percent", e->end_percent);
    return o;
}

sdf_status sdf_valuefile_add(sdf_st_writer *w, const char *prefix, const sdf_value *v,
                             sdf_error *err) {
    if (!sdf_value_is_storable(v))
        return sdf_fail(err, SDF_ERR_UNSUPPORTED, "%s values are not stored as tensors",
                        v ? sdf_vtype_name(v->type) : "empty");
    sdf_status st = meta(w, prefix, "type", sdf_vtype_name(v->type), err);
    if (st) return st;
    char name[64];
    switch (v->type) {
    case SDF_VT_IMAGE: case SDF_VT_MASK: case SDF_VT_SIGMAS:
        return add(w, prefix, tensor_name(v->type), v->u.tensor, err);
    case SDF_VT_LATENT: {
        const sdf_latent *l = &v->u.latent;
        if ((st = add(w, prefix, "samples", l->samples, err))) return st;
        if (l->noise_mask && (st = add(w, prefix, "noise_mask", l->noise_mask, err))) return st;
        if (l->batch_index) {
            cJSON *a = cJSON_CreateArray();
            for (int k = 0; k < l->n_batch_index; k++)
                cJSON_AddItemToArray(a, cJSON_CreateNumber((double)l->batch_index[k]));
            char *s = cJSON_PrintUnformatted(a);
            cJSON_Delete(a);
            if (!s) return sdf_fail(err, SDF_ERR_NOMEM, "batch_index");
            st = meta(w, prefix, "batch_index", s, err);
            cJSON_free(s);
        }
        return st;
    }
    case SDF_VT_CONDITIONING: {
        const sdf_conditioning *c = &v->u.cond;
        cJSON *a = cJSON_CreateArray();
        for (int i = 0; i < c->n; i++) {
            cJSON_AddItemToArray(a, entry_json(&c->e[i]));
            snprintf(name, sizeof name, "cond.%d", i);
            if (c->e[i].cond && (st = add(w, prefix, name, c->e[i].cond, err))) break;
            snprintf(name, sizeof name, "pooled.%d", i);
            if (c->e[i].pooled && (st = add(w, prefix, name, c->e[i].pooled, err))) break;
            snprintf(name, sizeof name, "mask.%d", i);
            if (c->e[i].mask && (st = add(w, prefix, name, c->e[i].mask, err))) break;
        }
        char *s = st ? NULL : cJSON_PrintUnformatted(a);
        cJSON_Delete(a);
        if (st) return st;
        if (!s) return sdf_fail(err, SDF_ERR_NOMEM, "conditioning metadata");
        st = meta(w, prefix, "cond", s, err);
        cJSON_free(s);
        return st;
    }
    default: return SDF_ERR_UNSUPPORTED;
    }
}

/* ---- reading ------------------------------------------------------------------------------ */

static sdf_tensor *get(sdf_st_file *f, const char *prefix, const char *name, bool required,
                       sdf_error *err) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    if (!required && !sdf_st_find(f, full)) return NULL;
    return sdf_st_tensor_f32(f, full, err);
}

static const char *getmeta(sdf_st_file *f, const char *prefix, const char *key) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, key);
    return sdf_st_meta_get(f, full);
}

static double num(const cJSON *o, const char *k, double def) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : def;
}

static bool flag(const cJSON *o, const char *k) {
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

sdf_status sdf_valuefile_read(sdf_st_file *f, const char *prefix, sdf_value **out,
                              sdf_error *err) {
    const char *type = getmeta(f, prefix, "type");
    int t = type ? sdf_vtype_from_name(type) : -1;
    sdf_value *v = NULL;
    switch (t) {
    case SDF_VT_IMAGE: case SDF_VT_MASK: case SDF_VT_SIGMAS: {
        sdf_tensor *x = get(f, prefix, tensor_name((sdf_vtype)t), true, err);
        if (!x) return err ? err->code : SDF_ERR_PARSE;
        v = sdf_value_tensor((sdf_vtype)t, x);
        sdf_tensor_release(x);
        break;
    }
    case SDF_VT_LATENT: {
        sdf_tensor *s = get(f, prefix, "samples", true, err);
        if (!s) return err ? err->code : SDF_ERR_PARSE;
        sdf_tensor *m = get(f, prefix, "noise_mask", false, err);
        int64_t bi[4096];
        int nbi = 0;
        const char *b = getmeta(f, prefix, "batch_index");
        cJSON *a = b ? cJSON_Parse(b) : NULL;
        for (const cJSON *x = a ? a->child : NULL; x && nbi < 4096; x = x->next)
            bi[nbi++] = (int64_t)x->valuedouble;
        cJSON_Delete(a);
        v = sdf_value_latent(s, m, nbi ? bi : NULL, nbi);
        sdf_tensor_release(s);
        sdf_tensor_release(m);
        break;
    }
    case SDF_VT_CONDITIONING: {
        const char *cs = getmeta(f, prefix, "cond");
        cJSON *a = cs ? cJSON_Parse(cs) : NULL;
        if (!cJSON_IsArray(a)) {
            cJSON_Delete(a);
            return sdf_fail(err, SDF_ERR_PARSE, "conditioning metadata missing");
        }
        int n = cJSON_GetArraySize(a);
        v = sdf_value_conditioning(n);
        int i = 0;
        char name[64];
        for (const cJSON *o = a->child; v && o; o = o->next, i++) {
            sdf_cond_entry *e = &v->u.cond.e[i];
            snprintf(name, sizeof name, "cond.%d", i);
            e->cond = get(f, prefix, name, false, err);
            if (flag(o, "has_pooled")) {
                snprintf(name, sizeof name, "pooled.%d", i);
                e->pooled = get(f, prefix, name, true, err);
            }
            if (flag(o, "has_mask")) {
                snprintf(name, sizeof name, "mask.%d", i);
                e->mask = get(f, prefix, name, true, err);
            }
            e->has_area = flag(o, "has_area");
            e->area_percentage = flag(o, "area_percentage");
            const cJSON *ar = cJSON_GetObjectItemCaseSensitive(o, "area");
            int k = 0;
            for (const cJSON *x = ar ? ar->child : NULL; x && k < 4; x = x->next)
                e->area[k++] = x->valuedouble;
            e->has_strength = flag(o, "has_strength");
            e->strength = num(o, "strength", 1.0);
            e->mask_strength = num(o, "mask_strength", 1.0);
            e->set_area_to_bounds = flag(o, "set_area_to_bounds");
            e->has_timestep_range = flag(o, "has_timestep_range");
            e->start_percent = num(o, "start_percent", 0.0);
            e->end_percent = num(o, "end_percent", 1.0);
            if (!e->cond || (flag(o, "has_pooled") && !e->pooled) ||
                (flag(o, "has_mask") && !e->mask)) {
                sdf_value_release(v);
                cJSON_Delete(a);
                return sdf_fail(err, SDF_ERR_PARSE, "conditioning entry %d incomplete", i);
            }
        }
        cJSON_Delete(a);
        break;
    }
    default:
        return sdf_fail(err, SDF_ERR_PARSE, "no stored value under '%s' (type %s)", prefix,
                        type ? type : "missing");
    }
    if (!v) return sdf_fail(err, SDF_ERR_NOMEM, "value");
    *out = v;
    return SDF_OK;
}
