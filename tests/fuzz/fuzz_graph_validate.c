/* libFuzzer target: any JSON text through the whole validation path (parse, build the graph,
 * validate against the built-in registry, plan, canonical JSON, node_errors JSON) must end in a
 * status and diagnostics; never a crash or leak. Every error diagnostic names its node. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../core/base/alloc.h"
#include "../../core/graph/graph.h"
#include "../../core/io/workflow.h"
#include "../../nodes/nodes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static sdf_builtin_storage storage;
    static sdf_registry reg;
    static int init;
    if (!init) {
        sdf_builtin_registry(&storage, &reg);
        init = 1;
    }
    cJSON *root = NULL;
    sdf_error err;
    sdf_error_clear(&err);
    if (sdf_json_parse((const char *)data, size, "fuzz.json", &root, &err)) return 0;
    sdf_graph *g = NULL;
    if (sdf_graph_build(root, &reg, &g, &err)) return 0;
    sdf_diags d;
    sdf_diags_init(&d);
    if (sdf_graph_validate(g, NULL, &d, &err) == SDF_OK) {
        for (int i = 0; i < d.n; i++)
            if (d.v[i].level == SDF_DIAG_ERROR && !d.v[i].node_id[0] && !d.v[i].type[0])
                __builtin_trap();
        int *order = NULL, n = 0;
        if (sdf_graph_plan(g, &order, &n, &err) == SDF_OK) sdf_free(order);
        cJSON *c = sdf_graph_canonical(g);
        char *text = c ? cJSON_PrintUnformatted(c) : NULL;
        cJSON *back = NULL;
        /* the canonical form must read back */
        if (text && sdf_json_parse(text, strlen(text), "canonical", &back, &err) != SDF_OK)
            __builtin_trap();
        cJSON_Delete(back);
        cJSON_free(text);
        cJSON_Delete(c);
        cJSON *j = sdf_diags_to_json(&d, g);
        cJSON_Delete(j);
    }
    sdf_diags_deinit(&d);
    sdf_graph_free(g);
    return 0;
}
