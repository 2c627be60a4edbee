/* cmd_validate.c: `sdflow validate FILE...`: every problem, nothing executed.
 * Exit 0 valid (warnings allowed), 1 invalid, 2 usage or I/O error. */
#include <cjson/cJSON.h>
#include <string.h>

#include "cli_common.h"
#include "commands.h"
#include "run_args.h"

static const char usage_text[] =
    "usage: sdflow validate FILE... [--json] [--set ID.INPUT=V] [--only ID,...]\n"
    "  --json   print ComfyUI's {\"error\", \"node_errors\"} object per file\n";

typedef struct vstate {
    sdf_cli    *c;
    const char *file;
} vstate;

static void on_validated(void *user, const sdf_diags *d, const sdf_graph *g) {
    vstate *v = user;
    if (v->c->json) {
        cJSON *o = sdf_diags_to_json(d, g);
        if (!o) return;
        cJSON_AddStringToObject(o, "file", v->file);
        char *s = cJSON_PrintUnformatted(o);
        if (s) printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(o);
    } else {
        sdf_cli_print_diags(d, v->file, stdout);
    }
}

int sdf_cmd_validate(int argc, char **argv) {
    sdf_cli c;
    sdf_cli_init(&c);
    c.rp.db_path = NULL;
    c.rp.cache_mb = 0;
    c.rp.n_threads = 1;
    sdf_run_args a;
    int rc = sdf_run_args_parse(&a, &c, argc, argv, usage_text);
    c.rp.db_path = NULL; /* validation never writes the run log */
    if (rc < 0 && !a.n_files) {
        fprintf(stderr, "%s", usage_text);
        rc = 2;
    }
    sdf_runtime *rt = NULL;
    sdf_error err;
    if (rc < 0 && sdf_runtime_new(&c.rp, &rt, &err)) {
        fprintf(stderr, "sdflow: %s\n", err.msg);
        rc = 2;
    }
    if (rc < 0) {
        rc = 0;
        for (int f = 0; f < a.n_files; f++) {
            vstate v = {&c, a.files[f]};
            sdf_run_params p;
            sdf_run_params_init(&p);
            p.path = a.files[f];
            p.validate_only = true;
            p.overrides = a.sets;
            p.n_overrides = a.n_sets;
            p.only = (const char *const *)a.only;
            p.n_only = a.n_only;
            p.on_validated = on_validated;
            p.warn_user = &v;
            sdf_run_result res;
            sdf_error_clear(&err);
            sdf_run_workflow(rt, &p, &res, &err);
            if (res.status == SDF_RUN_LOAD_ERROR) {
                char line[2048];
                sdf_error_format(&err, line, sizeof line);
                if (c.json) {
                    cJSON *o = cJSON_CreateObject();
                    cJSON *e = cJSON_AddObjectToObject(o, "error");
                    cJSON_AddStringToObject(e, "type", "invalid_prompt");
                    cJSON_AddStringToObject(e, "message", line);
                    cJSON_AddStringToObject(e, "details", "");
                    cJSON_AddObjectToObject(e, "extra_info");
                    cJSON_AddObjectToObject(o, "node_errors");
                    cJSON_AddStringToObject(o, "file", a.files[f]);
                    char *s = cJSON_PrintUnformatted(o);
                    if (s) printf("%s\n", s);
                    cJSON_free(s);
                    cJSON_Delete(o);
                } else {
                    fprintf(stderr, "%s: error: %s\n", a.files[f], line);
                }
                if (rc == 0) rc = err.code == SDF_ERR_PARSE || err.code == SDF_ERR_INVALID ||
                                          err.code == SDF_ERR_UNSUPPORTED ? 1 : 2;
            } else if (res.diags.n_errors) {
                rc = rc == 2 ? 2 : 1;
                if (!c.json)
                    printf("%s: invalid: %d error%s, %d warning%s\n", a.files[f],
                           res.diags.n_errors, res.diags.n_errors == 1 ? "" : "s",
                           res.diags.n_warnings, res.diags.n_warnings == 1 ? "" : "s");
            } else if (!c.json) {
                printf("%s: valid (%d output%s, %d warning%s)\n", a.files[f], res.n_targets,
                       res.n_targets == 1 ? "" : "s", res.diags.n_warnings,
                       res.diags.n_warnings == 1 ? "" : "s");
            }
            sdf_run_result_deinit(&res);
        }
    }
    sdf_runtime_free(rt);
    sdf_run_args_free(&a);
    sdf_cli_deinit(&c);
    return rc;
}
