/* run_workflow.c: run a ComfyUI workflow through libsdflow, the way `sdflow run` does, in a page.
 *
 *     build/example_run_workflow graphs/txt2img.json [models dir]
 *
 * Validates the workflow (printing every problem), executes it on all cores with progress
 * lines, records it in ./sdflow-runs.db and prints the files it wrote.
 */
#include <stdio.h>

#include "core/sdflow.h"
#include "nodes/nodes.h"

static void on_event(void *user, const sdf_event *ev) {
    (void)user;
    if (ev->kind == SDF_EV_EXECUTING) printf("running node %s (%s)\n", ev->node_id, ev->class_type);
    if (ev->kind == SDF_EV_PROGRESS) printf("  %lld/%lld\n", (long long)ev->value, (long long)ev->max);
}

static void on_validated(void *user, const sdf_diags *d, const sdf_graph *g) {
    (void)user;
    (void)g;
    for (int i = 0; i < d->n; i++) {
        char line[2048];
        sdf_diag_format(&d->v[i], line, sizeof line);
        printf("%s\n", line);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s WORKFLOW.json [MODELS_DIR]\n", argv[0]);
        return 2;
    }
    sdf_builtin_storage nodes; /* the node table: every built-in ComfyUI class */
    sdf_registry reg;
    sdf_builtin_registry(&nodes, &reg);

    sdf_runtime_params rp;
    sdf_runtime_params_init(&rp); /* all cores, 2 GiB cache, ./sdflow-runs.db */
    rp.registry = &reg;
    if (argc > 2) rp.paths.models_dirs[0] = argv[2];
    rp.events.on_event = on_event;

    sdf_runtime *rt = NULL;
    sdf_error err;
    if (sdf_runtime_new(&rp, &rt, &err)) {
        fprintf(stderr, "runtime: %s\n", err.msg);
        return 1;
    }
    sdf_run_params p;
    sdf_run_params_init(&p);
    p.path = argv[1];
    p.on_validated = on_validated;

    sdf_run_result res;
    sdf_status st = sdf_run_workflow(rt, &p, &res, &err);
    if (st) {
        char line[2048];
        sdf_error_format(&res.error, line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    for (int i = 0; i < res.n_outputs; i++) printf("wrote %s\n", res.outputs[i].path);
    if (res.run_id) printf("run %lld recorded in %s\n", (long long)res.run_id, rp.db_path);
    int code = sdf_run_exit_code(&res);
    sdf_run_result_deinit(&res);
    sdf_runtime_free(rt);
    return code;
}
