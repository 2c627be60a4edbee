/* sdflow_override.c: `--set ID.INPUT=VALUE` applied to an API-format tree.
 *
 * VALUE is read by the input's declared type: INT exactly (seeds up to 2^64-1), FLOAT as a
 * number, BOOLEAN as true/false/1/0, STRING and COMBO as the text itself. For link types (and
 * for any value starting with '[' or '{' on a non-string input) VALUE is JSON, e.g.
 * `--set '3.model=["14",0]'`.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "graph/coerce.h"
#include "io/workflow.h"
#include "sdflow.h"

static cJSON *parse_json_value(const char *v, sdf_error *err) {
    cJSON *x = NULL;
    if (sdf_json_parse(v, strlen(v), "--set value", &x, err)) return NULL;
    return x;
}

sdf_status sdf_apply_override(cJSON *root, const sdf_registry *reg, const char *spec,
                              sdf_error *err) {
    const char *eq = strchr(spec, '=');
    const char *dot = NULL;
    for (const char *p = spec; eq && p < eq; p++)
        if (*p == '.') dot = p;
    if (!eq || !dot || dot == spec || dot + 1 == eq)
        return sdf_fail(err, SDF_ERR_INVALID, "override '%s' is not ID.INPUT=VALUE", spec);
    char id[128], name[128];
    snprintf(id, sizeof id, "%.*s", (int)(dot - spec), spec);
    snprintf(name, sizeof name, "%.*s", (int)(eq - dot - 1), dot + 1);
    const char *val = eq + 1;
    cJSON *node = cJSON_GetObjectItemCaseSensitive(root, id);
    if (!cJSON_IsObject(node))
        return sdf_fail(err, SDF_ERR_NOT_FOUND, "override '%s': the workflow has no node \"%s\"",
                        spec, id);
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(node, "class_type");
    const sdf_node_def *d = cJSON_IsString(ct) ? sdf_registry_find(reg, ct->valuestring) : NULL;
    int j = d ? sdf_node_input_index(d, name) : -1;
    if (!d || j < 0) {
        sdf_fail(err, SDF_ERR_NOT_FOUND, "override '%s': %s%s has no input '%s'", spec,
                 d ? "" : "unknown class ", cJSON_IsString(ct) ? ct->valuestring : "?", name);
        sdf_error_at_node(err, id, cJSON_IsString(ct) ? ct->valuestring : "");
        return SDF_ERR_NOT_FOUND;
    }
    const sdf_input_def *in = &d->inputs[j];
    cJSON *item = NULL;
    bool is_text = in->type == SDF_VT_STRING || in->type == SDF_VT_COMBO;
    if (!is_text && (val[0] == '[' || val[0] == '{')) {
        item = parse_json_value(val, err);
        if (!item) return err ? err->code : SDF_ERR_PARSE;
    } else if (in->type == SDF_VT_INT) {
        int64_t i;
        bool u, oor;
        if (!sdf_parse_int_text(val, &i, &u, &oor))
            return sdf_fail(err, SDF_ERR_INVALID, "override '%s': %s is %s", spec, name,
                            oor ? "outside -2^63 .. 2^64-1" : "not an integer");
        item = sdf_json_int_item(i, u);
    } else if (in->type == SDF_VT_FLOAT) {
        char *end = NULL;
        double f = strtod(val, &end);
        if (end == val || *end)
            return sdf_fail(err, SDF_ERR_INVALID, "override '%s': %s is not a number", spec,
                            name);
        item = cJSON_CreateNumber(f);
    } else if (in->type == SDF_VT_BOOLEAN) {
        if (!strcasecmp(val, "true") || !strcmp(val, "1")) item = cJSON_CreateTrue();
        else if (!strcasecmp(val, "false") || !strcmp(val, "0")) item = cJSON_CreateFalse();
        else return sdf_fail(err, SDF_ERR_INVALID, "override '%s': %s takes true or false",
                             spec, name);
    } else if (is_text) {
        item = cJSON_CreateString(val);
    } else {
        return sdf_fail(err, SDF_ERR_INVALID, "override '%s': %s is a %s input: give a link "
                        "such as [\"4\",0]", spec, name, sdf_vtype_name(in->type));
    }
    if (!item) return sdf_fail(err, SDF_ERR_NOMEM, "override");
    cJSON *ins = cJSON_GetObjectItemCaseSensitive(node, "inputs");
    if (!ins) ins = cJSON_AddObjectToObject(node, "inputs");
    if (!cJSON_IsObject(ins)) {
        cJSON_Delete(item);
        return sdf_fail(err, SDF_ERR_INVALID, "override '%s': node \"%s\" has no inputs object",
                        spec, id);
    }
    if (cJSON_GetObjectItemCaseSensitive(ins, name)) cJSON_ReplaceItemInObjectCaseSensitive(ins, name, item);
    else cJSON_AddItemToObject(ins, name, item);
    return SDF_OK;
}
