/* cmd_run.c: `sdflow run FILE...`: overrides, sweeps, partial execution, one shared cache. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/base/alloc.h"
#include "../core/base/sha256.h"
#include "cli_common.h"
#include "commands.h"
#include "run_args.h"

static const char usage_text[] =
    "usage: sdflow run FILE... [options]\n"
    "  FILE                  API or UI workflow JSON, or a PNG with a workflow in it\n"
    "  --set ID.INPUT=V      override an input (parsed by its declared type); repeatable\n"
    "  --sweep ID.INPUT=L    run once per value: L is v1,v2,... or a..b (integers) or a JSON\n"
    "                        array; several sweeps run their cartesian product\n"
    "  --only ID[,ID...]     treat these nodes as the outputs (partial execution)\n"
    "  --strict              run nothing if anything is invalid\n"
    "  --save-intermediates DIR  write every tensor output as DIR/<id>.<index>.safetensors\n"
    "  --tag T               label the run (repeatable); --note TEXT: a note\n";

/* ---- sweeps ------------------------------------------------------------------------------- */

typedef struct sweep {
    char  *target;  /* "ID.INPUT" */
    char **values;
    int    n;
} sweep;

static bool sweep_add(sweep *s, const char *v) {
    char **nv = sdf_realloc(s->values, ((size_t)s->n + 1) * sizeof *nv);
    if (!nv) return false;
    s->values = nv;
    s->values[s->n] = sdf_strdup(v);
    return s->values[s->n++] != NULL;
}

/* Parses "ID.INPUT=v1,v2" | "ID.INPUT=a..b" | "ID.INPUT=[json array]". */
static bool sweep_parse(const char *spec, sweep *s) {
    memset(s, 0, sizeof *s);
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        fprintf(stderr, "sdflow: --sweep %s: expected ID.INPUT=values\n", spec);
        return false;
    }
    s->target = sdf_strdup(spec);
    s->target[eq - spec] = 0;
    const char *v = eq + 1;
    long long a, b;
    char tail;
    if (v[0] == '[') {
        cJSON *arr = cJSON_Parse(v);
        if (!cJSON_IsArray(arr) || !cJSON_GetArraySize(arr)) {
            fprintf(stderr, "sdflow: --sweep %s: not a non-empty JSON array\n", spec);
            cJSON_Delete(arr);
            return false;
        }
        for (cJSON *x = arr->child; x; x = x->next) {
            char *t = cJSON_IsString(x) ? NULL : cJSON_PrintUnformatted(x);
            sweep_add(s, t ? t : x->valuestring);
            cJSON_free(t);
        }
        cJSON_Delete(arr);
    } else if (sscanf(v, "%lld..%lld%c", &a, &b, &tail) == 2) {
        if (b < a || b - a > 100000) {
            fprintf(stderr, "sdflow: --sweep %s: bad range\n", spec);
            return false;
        }
        for (long long k = a; k <= b; k++) {
            char num[32];
            snprintf(num, sizeof num, "%lld", k);
            sweep_add(s, num);
        }
    } else {
        char *copy = sdf_strdup(v);
        for (char *p = copy, *tok; p && (tok = strsep(&p, ","));) sweep_add(s, tok);
        sdf_free(copy);
    }
    return s->n > 0;
}

static void sweep_free(sweep *s) {
    for (int i = 0; i < s->n; i++) sdf_free(s->values[i]);
    sdf_free(s->values);
    sdf_free(s->target);
}

/* ---- printing ----------------------------------------------------------------------------- */

typedef struct run_ui {
    sdf_cli    *cli;
    const char *file;
} run_ui;

static void on_warn(void *user, const char *msg) {
    run_ui *u = user;
    fprintf(stderr, "%s: warning: %s\n", u->file, msg);
}

static void on_validated(void *user, const sdf_diags *d, const sdf_graph *g) {
    run_ui *u = user;
    if (!d->n) return;
    if (u->cli->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "validation");
        cJSON_AddItemToObject(o, "data", sdf_diags_to_json(d, g));
        char *s = cJSON_PrintUnformatted(o);
        if (s) printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(o);
        return;
    }
    sdf_cli_print_diags(d, u->file, stderr);
    int dropped = 0;
    sdf_graph_count_targets(g, &dropped);
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].is_output && g->nodes[i].bad)
            fprintf(stderr, "%s: output node %s (%s) will not run: its inputs are invalid\n",
                    u->file, g->nodes[i].id, g->nodes[i].class_type);
}

static void summary(sdf_cli *c, const char *file, const sdf_run_result *r) {
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "sdflow_run");
        cJSON *d = cJSON_AddObjectToObject(o, "data");
        cJSON_AddStringToObject(d, "file", file);
        static const char *const st[] = {"succeeded", "failed", "interrupted", "invalid",
                                         "load_error"};
        cJSON_AddStringToObject(d, "status", st[r->status]);
        cJSON_AddNumberToObject(d, "run_id", (double)r->run_id);
        cJSON_AddNumberToObject(d, "executed", r->n_executed);
        cJSON_AddNumberToObject(d, "cached", r->n_cached);
        cJSON_AddNumberToObject(d, "dropped_outputs", r->n_dropped);
        cJSON_AddNumberToObject(d, "seconds", r->seconds);
        cJSON *a = cJSON_AddArrayToObject(d, "outputs");
        for (int i = 0; i < r->n_outputs; i++) cJSON_AddItemToArray(a, cJSON_CreateString(r->outputs[i].path));
        if (r->status != SDF_RUN_SUCCEEDED) {
            char line[2048];
            sdf_error_format(&r->error, line, sizeof line);
            cJSON_AddStringToObject(d, "error", line);
        }
        char *s = cJSON_PrintUnformatted(o);
        if (s) printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(o);
        return;
    }
    char line[2048];
    switch (r->status) {
    case SDF_RUN_SUCCEEDED:
        fprintf(stderr, "%s: done in %.2f s (%d executed, %d cached)%s", file, r->seconds,
                r->n_executed, r->n_cached, r->run_id ? "" : "\n");
        if (r->run_id) fprintf(stderr, ", run %lld\n", (long long)r->run_id);
        if (r->n_dropped)
            fprintf(stderr, "%s: %d output%s dropped by validation\n", file, r->n_dropped,
                    r->n_dropped == 1 ? "" : "s");
        for (int i = 0; i < r->n_outputs; i++) printf("%s\n", r->outputs[i].path);
        break;
    case SDF_RUN_INTERRUPTED:
        fprintf(stderr, "%s: interrupted after %.2f s%s\n", file, r->seconds,
                r->run_id ? " (recorded as interrupted)" : "");
        break;
    default:
        sdf_error_format(&r->error, line, sizeof line);
        fprintf(stderr, "%s: %s: %s\n", file, r->status == SDF_RUN_FAILED ? "failed" : "error",
                line);
        if (r->n_skipped) fprintf(stderr, "%s: %d dependent node%s not run\n", file,
                                  r->n_skipped, r->n_skipped == 1 ? "" : "s");
        break;
    }
}

/* Worst of two exit codes: interrupted > load error > failure > dropped > ok. */
static int worse(int a, int b) {
    static const int rank[] = {0, 3, 1, 2, 130};
    int ra = 0, rb = 0;
    for (int i = 0; i < 5; i++) {
        if (rank[i] == a) ra = i;
        if (rank[i] == b) rb = i;
    }
    return rb > ra ? b : a;
}

int sdf_run_one(sdf_runtime *rt, sdf_cli *c, const sdf_run_args *a, const char *file,
                const char *text, const char *ui_text, const char *const *overrides,
                int n_overrides, const char *sweep_id, sdf_run_result *res) {
    run_ui u = {c, file};
    sdf_run_params p;
    sdf_run_params_init(&p);
    if (text) {
        p.text = text;
        p.len = strlen(text);
        p.ui_text = ui_text;
    } else {
        p.path = file;
    }
    p.overrides = overrides;
    p.n_overrides = n_overrides;
    p.only = (const char *const *)a->only;
    p.n_only = a->n_only;
    p.tags = (const char *const *)a->tags;
    p.n_tags = a->n_tags;
    p.note = a->note;
    p.sweep_id = sweep_id;
    p.strict = a->strict;
    p.intermediates_dir = a->intermediates;
    p.warn = on_warn;
    p.warn_user = &u;
    p.on_validated = on_validated;
    sdf_error err;
    sdf_error_clear(&err);
    sdf_run_workflow(rt, &p, res, &err);
    if (res->status == SDF_RUN_LOAD_ERROR && !c->json) {
        char line[2048];
        sdf_error_format(&err, line, sizeof line);
        fprintf(stderr, "sdflow: %s\n", line);
    } else {
        summary(c, file, res);
    }
    return sdf_run_exit_code(res);
}

int sdf_cmd_run(int argc, char **argv) {
    sdf_cli c;
    sdf_cli_init(&c);
    sdf_run_args a;
    int rc = sdf_run_args_parse(&a, &c, argc, argv, usage_text);
    if (rc >= 0) {
        sdf_run_args_free(&a);
        sdf_cli_deinit(&c);
        return rc;
    }
    if (!a.n_files) {
        fprintf(stderr, "%s", usage_text);
        sdf_run_args_free(&a);
        sdf_cli_deinit(&c);
        return 2;
    }
    sweep sw[16];
    int n_sw = 0;
    bool ok = true;
    for (int i = 0; i < a.n_sweeps && ok; i++) {
        if (n_sw == 16) {
            fprintf(stderr, "sdflow: at most 16 --sweep\n");
            ok = false;
        } else if (!sweep_parse(a.sweeps[i], &sw[n_sw++])) {
            ok = false;
        }
    }
    sdf_runtime *rt = NULL;
    sdf_error err;
    if (ok && sdf_runtime_new(&c.rp, &rt, &err)) {
        char line[2048];
        sdf_error_format(&err, line, sizeof line);
        fprintf(stderr, "sdflow: %s\n", line);
        ok = false;
    }
    int code = ok ? 0 : 2;
    if (ok) {
        sdf_cli_catch_sigint(rt);
        char sweep_id[40] = "";
        if (n_sw) {
            char seed[64];
            uint8_t d[32];
            char hex[65];
            snprintf(seed, sizeof seed, "%ld-%d", (long)time(NULL), (int)getpid());
            sdf_sha256_buf(seed, strlen(seed), d);
            sdf_sha256_hex(d, hex);
            snprintf(sweep_id, sizeof sweep_id, "sweep-%.12s", hex);
        }
        int idx[16] = {0};
        const char **ov = sdf_calloc((size_t)a.n_sets + 16 + 1, sizeof *ov);
        char **tmp = sdf_calloc(17, sizeof *tmp);
        for (int f = 0; ov && tmp && f < a.n_files && !sdf_runtime_cancelled(rt); f++) {
            memset(idx, 0, sizeof idx);
            for (;;) {
                int n = 0;
                for (int i = 0; i < a.n_sets; i++) ov[n++] = a.sets[i];
                for (int s = 0; s < n_sw; s++) {
                    size_t l = strlen(sw[s].target) + strlen(sw[s].values[idx[s]]) + 2;
                    sdf_free(tmp[s]);
                    tmp[s] = sdf_malloc(l);
                    snprintf(tmp[s], l, "%s=%s", sw[s].target, sw[s].values[idx[s]]);
                    ov[n++] = tmp[s];
                    if (!c.json) fprintf(stderr, "%s%s", s ? ", " : "sweep: ", tmp[s]);
                }
                if (n_sw && !c.json) fprintf(stderr, "\n");
                sdf_run_result res;
                int r = sdf_run_one(rt, &c, &a, a.files[f], NULL, NULL, ov, n,
                                    n_sw ? sweep_id : NULL, &res);
                sdf_run_result_deinit(&res);
                code = worse(code, r);
                if (sdf_runtime_cancelled(rt)) break;
                int s = 0; /* next combination (odometer) */
                for (; s < n_sw; s++) {
                    if (++idx[s] < sw[s].n) break;
                    idx[s] = 0;
                }
                if (s == n_sw) break;
            }
        }
        if (sdf_runtime_cancelled(rt)) code = 130;
        for (int s = 0; tmp && s < 17; s++) sdf_free(tmp[s]);
        sdf_free(tmp);
        sdf_free(ov);
        sdf_cli_release_sigint();
    }
    for (int s = 0; s < n_sw; s++) sweep_free(&sw[s]);
    sdf_runtime_free(rt);
    sdf_run_args_free(&a);
    sdf_cli_deinit(&c);
    return code;
}
