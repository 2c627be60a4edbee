/* cmd_nodes.c: `sdflow nodes [--json] [--list-files] [CLASS]`: the node registry, as text or in
 * the shape of ComfyUI's GET /object_info (schema/nodes.json is this output, committed). */
#include <cjson/cJSON.h>
#include <string.h>

#include "../core/io/workflow.h"
#include "cli_common.h"
#include "commands.h"

/* [type or choices, {options}] as /object_info writes an input. */
static cJSON *input_json(const sdf_input_def *in, const sdf_paths *paths, bool list_files) {
    cJSON *a = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    if (in->type == SDF_VT_COMBO) {
        cJSON *ch = cJSON_CreateArray();
        for (int k = 0; k < in->n_choices; k++) cJSON_AddItemToArray(ch, cJSON_CreateString(in->choices[k]));
        if (in->file_kind != SDF_FILE_NONE) {
            cJSON_AddStringToObject(o, "file_kind", sdf_file_kind_folder(in->file_kind));
            char **names = NULL;
            size_t n = 0;
            sdf_error e;
            if (list_files && paths && sdf_paths_list(paths, in->file_kind, &names, &n, &e) == SDF_OK) {
                for (size_t k = 0; k < n; k++) cJSON_AddItemToArray(ch, cJSON_CreateString(names[k]));
                sdf_paths_free_list(names, n);
            }
        }
        cJSON_AddItemToArray(a, ch);
        if (in->def_s) cJSON_AddStringToObject(o, "default", in->def_s);
        else if (in->n_choices) cJSON_AddStringToObject(o, "default", in->choices[0]);
    } else {
        cJSON_AddItemToArray(a, cJSON_CreateString(sdf_vtype_name(in->type)));
        switch (in->type) {
        case SDF_VT_INT:
            cJSON_AddItemToObject(o, "default", sdf_json_int_item(in->def_i, false));
            if (in->min_i || in->max_i) {
                cJSON_AddItemToObject(o, "min", sdf_json_int_item(in->min_i, false));
                cJSON_AddItemToObject(o, "max", sdf_json_int_item((int64_t)in->max_i,
                                                                  in->max_i > (uint64_t)INT64_MAX));
            }
            if (in->step_f) cJSON_AddNumberToObject(o, "step", in->step_f);
            if (in->control_after_generate) cJSON_AddBoolToObject(o, "control_after_generate", 1);
            break;
        case SDF_VT_FLOAT:
            cJSON_AddNumberToObject(o, "default", in->def_f);
            if (in->min_f || in->max_f) {
                cJSON_AddNumberToObject(o, "min", in->min_f);
                cJSON_AddNumberToObject(o, "max", in->max_f);
            }
            if (in->step_f) cJSON_AddNumberToObject(o, "step", in->step_f);
            break;
        case SDF_VT_STRING:
            cJSON_AddStringToObject(o, "default", in->def_s ? in->def_s : "");
            if (in->multiline) cJSON_AddBoolToObject(o, "multiline", 1);
            break;
        case SDF_VT_BOOLEAN: cJSON_AddBoolToObject(o, "default", in->def_b); break;
        default: break;
        }
    }
    if (in->link_only) cJSON_AddBoolToObject(o, "forceInput", 1);
    if (in->tooltip) cJSON_AddStringToObject(o, "tooltip", in->tooltip);
    cJSON_AddItemToArray(a, o);
    return a;
}

static cJSON *node_json(const sdf_node_def *d, const sdf_paths *paths, bool list_files) {
    cJSON *n = cJSON_CreateObject();
    cJSON *input = cJSON_AddObjectToObject(n, "input");
    cJSON *req = cJSON_AddObjectToObject(input, "required");
    cJSON *opt = NULL;
    cJSON *order = cJSON_AddObjectToObject(n, "input_order");
    cJSON *oreq = cJSON_AddArrayToObject(order, "required");
    cJSON *oopt = NULL;
    for (int i = 0; i < d->n_inputs; i++) {
        const sdf_input_def *in = &d->inputs[i];
        if (in->optional) {
            if (!opt) {
                opt = cJSON_AddObjectToObject(input, "optional");
                oopt = cJSON_AddArrayToObject(order, "optional");
            }
            cJSON_AddItemToObject(opt, in->name, input_json(in, paths, list_files));
            cJSON_AddItemToArray(oopt, cJSON_CreateString(in->name));
        } else {
            cJSON_AddItemToObject(req, in->name, input_json(in, paths, list_files));
            cJSON_AddItemToArray(oreq, cJSON_CreateString(in->name));
        }
    }
    cJSON *out = cJSON_AddArrayToObject(n, "output");
    cJSON *isl = cJSON_AddArrayToObject(n, "output_is_list");
    cJSON *names = cJSON_AddArrayToObject(n, "output_name");
    for (int i = 0; i < d->n_outputs; i++) {
        cJSON_AddItemToArray(out, cJSON_CreateString(sdf_vtype_name(d->outputs[i].type)));
        cJSON_AddItemToArray(isl, cJSON_CreateFalse());
        cJSON_AddItemToArray(names, cJSON_CreateString(d->outputs[i].name));
    }
    cJSON_AddStringToObject(n, "name", d->class_type);
    cJSON_AddStringToObject(n, "display_name", d->display_name ? d->display_name : d->class_type);
    cJSON_AddStringToObject(n, "description", d->description ? d->description : "");
    cJSON_AddStringToObject(n, "python_module", "nodes");
    cJSON_AddStringToObject(n, "category", d->category ? d->category : "");
    cJSON_AddBoolToObject(n, "output_node", (d->flags & SDF_NODE_OUTPUT) != 0);
    cJSON_AddBoolToObject(n, "sdflow_implemented", d->run != NULL);
    return n;
}

int sdf_cmd_nodes(int argc, char **argv) {
    sdf_cli c;
    sdf_cli_init(&c);
    bool list_files = false;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        int r = sdf_cli_runtime_opt(&c, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(argv[i], "--list-files")) list_files = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: sdflow nodes [--json] [--list-files] [--models DIR] [CLASS]\n"
                   "  --json        ComfyUI /object_info JSON (schema/nodes.json is this output)\n"
                   "  --list-files  fill file inputs' choices from the model folders\n");
            sdf_cli_deinit(&c);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "sdflow nodes: unknown option '%s'\n", argv[i]);
            sdf_cli_deinit(&c);
            return 2;
        } else only = argv[i];
    }
    const sdf_node_def *one = only ? sdf_registry_find(&c.reg, only) : NULL;
    if (only && !one) {
        const char *sug = sdf_registry_suggest(&c.reg, only);
        fprintf(stderr, "sdflow: no node class '%s'%s%s%s\n", only, sug ? "; did you mean '" : "",
                sug ? sug : "", sug ? "'?" : "");
        sdf_cli_deinit(&c);
        return 1;
    }
    if (c.json) {
        cJSON *root = cJSON_CreateObject();
        for (size_t i = 0; i < c.reg.n_defs; i++) {
            const sdf_node_def *d = c.reg.defs[i];
            if (one && d != one) continue;
            cJSON_AddItemToObject(root, d->class_type, node_json(d, &c.rp.paths, list_files));
        }
        char *s = cJSON_Print(root);
        if (s) printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(root);
    } else {
        for (size_t i = 0; i < c.reg.n_defs; i++) {
            const sdf_node_def *d = c.reg.defs[i];
            if (one && d != one) continue;
            printf("%-32s %-24s%s%s\n", d->class_type, d->category ? d->category : "",
                   d->flags & SDF_NODE_OUTPUT ? " [output]" : "", d->run ? "" : " [not implemented]");
            if (!one) continue;
            for (int k = 0; k < d->n_inputs; k++)
                printf("  in  %-20s %s%s\n", d->inputs[k].name, sdf_vtype_name(d->inputs[k].type),
                       d->inputs[k].optional ? " (optional)" : "");
            for (int k = 0; k < d->n_outputs; k++)
                printf("  out %-20s %s\n", d->outputs[k].name, sdf_vtype_name(d->outputs[k].type));
        }
        for (size_t i = 0; !one && i < c.reg.n_aliases; i++)
            printf("%-32s alias of %s\n", c.reg.aliases[i].alias, c.reg.aliases[i].class_type);
    }
    sdf_cli_deinit(&c);
    return 0;
}
