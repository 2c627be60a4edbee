/* cmd_runs.c: `sdflow runs list|show|diff|replay|export`: reading the run log back. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../core/base/alloc.h"
#include "../core/base/sha256.h"
#include "../core/io/workflow.h"
#include "../core/runlog/runlog.h"
#include "cli_common.h"
#include "commands.h"
#include "run_args.h"

static const char usage_text[] =
    "usage: sdflow runs <list|show|diff|replay|export> ...\n"
    "  list [--status S] [--tag T] [--hash H] [--since DATE] [--limit N] [--json]\n"
    "  show ID [--json]           per-node timings and cache hits, files read and written\n"
    "  diff A B                   what differs: inputs, overrides, input files, outputs\n"
    "  replay ID [--verify]       re-execute the recorded workflow with the recorded thread\n"
    "                             count, folders and --fp32-text-enc (options given here win);\n"
    "                             --verify: input hashes and outputs must be bit-identical\n"
    "  export ID                  the whole record as JSON\n"
    "  (--db FILE selects the run log; default $SDFLOW_DB or ./sdflow-runs.db)\n";

static const char *str(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static const char *sv(const cJSON *o, const char *k) {
    const char *x = str(o, k);
    return x ? x : "-";
}

static double num(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(x)) return x->valuedouble;
    if (cJSON_IsRaw(x)) return strtod(x->valuestring, NULL);
    return 0;
}

static void print_json(const cJSON *o) {
    cJSON *dup = cJSON_Duplicate(o, true);
    char *s = cJSON_Print(dup);
    if (s) printf("%s\n", s);
    cJSON_free(s);
    cJSON_Delete(dup);
}

static char *value_text(const cJSON *v) {
    if (!v) return NULL;
    char *p = cJSON_PrintUnformatted(v);
    char *s = p ? sdf_strdup(p) : NULL;
    cJSON_free(p);
    return s;
}

static sdf_status open_log(sdf_cli *c, sdf_runlog **rl) {
    sdf_error err;
    if (!c->rp.db_path) {
        fprintf(stderr, "sdflow: no run log (--no-db)\n");
        return SDF_ERR_INVALID;
    }
    sdf_status st = sdf_runlog_open(c->rp.db_path, rl, &err);
    if (st) {
        char line[2048];
        sdf_error_format(&err, line, sizeof line);
        fprintf(stderr, "sdflow: %s\n", line);
    }
    return st;
}

static cJSON *export_run(sdf_runlog *rl, const char *id_text) {
    char *end = NULL;
    long long id = strtoll(id_text, &end, 10);
    if (!*id_text || *end) {
        fprintf(stderr, "sdflow: '%s' is not a run id\n", id_text);
        return NULL;
    }
    cJSON *r = NULL;
    sdf_error err;
    if (sdf_runlog_export(rl, id, &r, &err)) {
        fprintf(stderr, "sdflow: %s\n", err.msg);
        return NULL;
    }
    return r;
}

/* ---- list / show / export ----------------------------------------------------------------- */

static int cmd_list(sdf_cli *c, sdf_runlog *rl, int argc, char **argv) {
    sdf_runlog_filter f = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "--status") ? &f.status : !strcmp(a, "--tag") ? &f.tag
                           : !strcmp(a, "--hash") ? &f.hash : !strcmp(a, "--since") ? &f.since
                                                                                      : NULL;
        if (dst && i + 1 < argc) *dst = argv[++i];
        else if (!strcmp(a, "--limit") && i + 1 < argc) f.limit = atoi(argv[++i]);
        else {
            fprintf(stderr, "sdflow runs list: unknown option '%s'\n", a);
            return 2;
        }
    }
    cJSON *a = NULL;
    sdf_error err;
    if (sdf_runlog_list(rl, &f, &a, &err)) {
        fprintf(stderr, "sdflow: %s\n", err.msg);
        return 2;
    }
    if (c->json) {
        print_json(a);
    } else {
        printf("%6s  %-24s %-11s %8s  %-10s %s\n", "id", "started (UTC)", "status", "seconds",
               "workflow", "source / tags");
        for (const cJSON *r = a->child; r; r = r->next) {
            const char *tags = str(r, "tags");
            printf("%6.0f  %-24s %-11s %8.2f  %-10.10s %s%s%s%s%s\n", num(r, "id"),
                   str(r, "started_utc") ? str(r, "started_utc") : "", str(r, "status"),
                   num(r, "duration_s"), str(r, "api_sha256") ? str(r, "api_sha256") : "",
                   str(r, "source_path") ? str(r, "source_path") : "-", tags ? " " : "",
                   tags ? tags : "", str(r, "sweep_id") ? " " : "",
                   str(r, "sweep_id") ? str(r, "sweep_id") : "");
        }
    }
    cJSON_Delete(a);
    return 0;
}

static int cmd_show(sdf_cli *c, sdf_runlog *rl, const char *id) {
    cJSON *r = export_run(rl, id);
    if (!r) return 1;
    if (c->json) {
        cJSON_DeleteItemFromObject(r, "workflow_text");
        print_json(r);
        cJSON_Delete(r);
        return 0;
    }
    printf("run %s: %s\n", id, sv(r, "status"));
    printf("  started   %s   ended %s\n", sv(r, "started_utc"),
           sv(r, "ended_utc") ? sv(r, "ended_utc") : "-");
    printf("  source    %s (%s)\n", sv(r, "source_path") ? sv(r, "source_path") : "-",
           sv(r, "source_format") ? sv(r, "source_format") : "-");
    printf("  workflow  sha256 %s\n", sv(r, "api_sha256"));
    if (str(r, "overrides")) printf("  overrides %s\n", sv(r, "overrides"));
    if (str(r, "tags")) printf("  tags      %s\n", sv(r, "tags"));
    if (str(r, "note")) printf("  note      %s\n", sv(r, "note"));
    if (str(r, "sweep_id")) printf("  sweep     %s\n", sv(r, "sweep_id"));
    if (str(r, "runtime_options")) printf("  options   %s\n", sv(r, "runtime_options"));
    printf("  sdflow    %s (%s), %.0f threads, GEMM %s, host %s\n", sv(r, "version"),
           sv(r, "git_rev"), num(r, "threads"), sv(r, "gemm_core") ? sv(r, "gemm_core") : "?",
           sv(r, "host"));
    if (str(r, "error")) printf("  error     %s\n", sv(r, "error"));
    printf("\n  %-8s %-28s %-10s %6s %10s %10s\n", "node", "class", "status", "cached",
           "start ms", "ms");
    for (const cJSON *n = cJSON_GetObjectItem(r, "nodes")->child; n; n = n->next)
        printf("  %-8s %-28s %-10s %6s %10.1f %10.1f\n", sv(n, "node_id"), sv(n, "class_type"),
               sv(n, "status"), num(n, "cached") ? "yes" : "no", num(n, "start_ms"),
               num(n, "duration_ms"));
    const cJSON *files = cJSON_GetObjectItem(r, "input_files");
    if (cJSON_GetArraySize(files)) printf("\n  input files:\n");
    for (const cJSON *f = files->child; f; f = f->next)
        printf("    node %-6s %.16s  %12.0f bytes  %s\n", sv(f, "node_id"), sv(f, "sha256"),
               num(f, "size"), sv(f, "path"));
    const cJSON *outs = cJSON_GetObjectItem(r, "outputs");
    if (cJSON_GetArraySize(outs)) printf("\n  outputs:\n");
    for (const cJSON *f = outs->child; f; f = f->next)
        printf("    node %-6s %.16s  %4.0fx%-4.0f %s\n", sv(f, "node_id"), sv(f, "sha256"),
               num(f, "width"), num(f, "height"), sv(f, "path"));
    const cJSON *notes = cJSON_GetObjectItem(r, "notes");
    if (cJSON_GetArraySize(notes)) printf("\n  notes:\n");
    for (const cJSON *f = notes->child; f; f = f->next)
        printf("    node %-6s %s: %s\n", sv(f, "node_id") ? sv(f, "node_id") : "-",
               sv(f, "key"), sv(f, "value") ? sv(f, "value") : "");
    cJSON_Delete(r);
    return 0;
}

/* ---- diff --------------------------------------------------------------------------------- */

static int diff_field(const cJSON *a, const cJSON *b, const char *k) {
    char *x = value_text(cJSON_GetObjectItem(a, k)), *y = value_text(cJSON_GetObjectItem(b, k));
    int d = (x && y) ? strcmp(x, y) != 0 : x != y;
    if (d) printf("  %-10s %s -> %s\n", k, x ? x : "null", y ? y : "null");
    sdf_free(x);
    sdf_free(y);
    return d;
}

static cJSON *parse_api(const cJSON *run) {
    const char *t = str(run, "api_json");
    cJSON *r = NULL;
    sdf_error e;
    if (!t || sdf_json_parse(t, strlen(t), "api_json", &r, &e)) return NULL;
    sdf_json_exact_ints(r);
    return r;
}

static int diff_workflows(const cJSON *ra, const cJSON *rb) {
    cJSON *a = parse_api(ra), *b = parse_api(rb);
    int n = 0;
    for (int pass = 0; pass < 2 && a && b; pass++) {
        const cJSON *x = pass ? b : a, *y = pass ? a : b;
        for (const cJSON *node = x->child; node; node = node->next) {
            const cJSON *other = cJSON_GetObjectItemCaseSensitive(y, node->string);
            if (!other) {
                if (!pass) printf("  node %s only in the first run\n", node->string);
                else printf("  node %s only in the second run\n", node->string);
                n++;
                continue;
            }
            if (pass) continue;
            const char *ca = str(node, "class_type"), *cb = str(other, "class_type");
            if (ca && cb && strcmp(ca, cb)) {
                printf("  node %s class_type %s -> %s\n", node->string, ca, cb);
                n++;
            }
            const cJSON *ia = cJSON_GetObjectItem(node, "inputs"), *ib = cJSON_GetObjectItem(other, "inputs");
            for (int q = 0; q < 2; q++) {
                const cJSON *p1 = q ? ib : ia, *p2 = q ? ia : ib;
                for (const cJSON *in = p1 ? p1->child : NULL; in; in = in->next) {
                    const cJSON *o = cJSON_GetObjectItemCaseSensitive(p2, in->string);
                    if (q && o) continue;
                    char *x1 = value_text(in), *x2 = value_text(o);
                    if (!x2 || strcmp(x1, x2)) {
                        printf("  node %s input %s: %s -> %s\n", node->string, in->string,
                               q ? "(absent)" : x1, q ? x1 : (x2 ? x2 : "(absent)"));
                        n++;
                    }
                    sdf_free(x1);
                    sdf_free(x2);
                }
            }
        }
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    return n;
}

/* Compares lists of {node_id, path, sha256} rows; by (node, path) for inputs, by position per
 * node for outputs. */
static int diff_files(const cJSON *fa, const cJSON *fb, bool by_path, const char *what) {
    int n = 0;
    for (const cJSON *x = fa ? fa->child : NULL; x; x = x->next) {
        const cJSON *match = NULL;
        int k = 0, kx = 0;
        for (const cJSON *p = fa->child; p != x; p = p->next)
            if (!strcmp(str(p, "node_id"), str(x, "node_id"))) kx++;
        for (const cJSON *y = fb ? fb->child : NULL; y && !match; y = y->next) {
            if (strcmp(str(y, "node_id"), str(x, "node_id"))) continue;
            if (by_path ? !strcmp(str(y, "path"), str(x, "path")) : k == kx) match = y;
            k++;
        }
        if (!match) {
            printf("  %s of node %s only in the first run: %s\n", what, sv(x, "node_id"),
                   sv(x, "path"));
            n++;
        } else if (strcmp(str(x, "sha256") ? str(x, "sha256") : "",
                          str(match, "sha256") ? str(match, "sha256") : "")) {
            printf("  %s of node %s differs: %s (sha256 %.16s) -> %s (sha256 %.16s)\n", what,
                   str(x, "node_id"), str(x, "path"), str(x, "sha256"), str(match, "path"),
                   str(match, "sha256"));
            n++;
        }
    }
    return n;
}

static int cmd_diff(sdf_runlog *rl, const char *ida, const char *idb) {
    cJSON *a = export_run(rl, ida), *b = export_run(rl, idb);
    if (!a || !b) {
        cJSON_Delete(a);
        cJSON_Delete(b);
        return 1;
    }
    printf("runs %s -> %s\n", ida, idb);
    int n = 0;
    static const char *const fields[] = {"status", "api_sha256", "overrides", "threads",
                                         "gemm_core", "version", "git_rev", "source_path",
                                         "runtime_options"};
    for (size_t i = 0; i < SDF_COUNTOF(fields); i++) n += diff_field(a, b, fields[i]);
    n += diff_workflows(a, b);
    n += diff_files(cJSON_GetObjectItem(a, "input_files"), cJSON_GetObjectItem(b, "input_files"),
                    true, "input file");
    n += diff_files(cJSON_GetObjectItem(a, "outputs"), cJSON_GetObjectItem(b, "outputs"), false,
                    "output");
    if (!n) printf("  no differences\n");
    cJSON_Delete(a);
    cJSON_Delete(b);
    return 0;
}

/* ---- replay ------------------------------------------------------------------------------- */

static void print_line(void *user, const char *line) {
    (void)user;
    printf("  %s\n", line);
}

static int cmd_replay(sdf_cli *c, int argc, char **argv) {
    sdf_run_args a;
    const sdf_paths before = c->rp.paths;
    const bool fp32_before = c->rp.fp32_text_enc;
    int rc = sdf_run_args_parse(&a, c, argc, argv, usage_text);
    if (rc >= 0) return rc;
    if (a.n_files != 1) {
        fprintf(stderr, "usage: sdflow runs replay ID [--verify]\n");
        sdf_run_args_free(&a);
        return 2;
    }
    sdf_runlog *rl = NULL;
    if (open_log(c, &rl)) {
        sdf_run_args_free(&a);
        return 2;
    }
    const char *id = a.files[0];
    cJSON *old = export_run(rl, id);
    sdf_runlog_close(rl);
    if (!old) {
        sdf_run_args_free(&a);
        return 1;
    }
    /* decisions.md: replay reuses the recorded thread count */
    if (!c->threads_set && num(old, "threads") >= 1) c->rp.n_threads = (int)num(old, "threads");
    /* and the recorded folders and flags, except those this command line gives */
    const sdf_paths *ps = &c->rp.paths;
    unsigned keep = (c->models_from_flag ? SDF_KEEP_MODELS : 0) |
                    (ps->input_dir != before.input_dir ? SDF_KEEP_INPUT : 0) |
                    (ps->output_dir != before.output_dir ? SDF_KEEP_OUTPUT : 0) |
                    (ps->clip_vocab_dir != before.clip_vocab_dir ? SDF_KEEP_CLIP_VOCAB : 0) |
                    (c->rp.fp32_text_enc != fp32_before ? SDF_KEEP_FP32_TEXT_ENC : 0);
    cJSON *opts = NULL;
    sdf_replay_runtime_options(old, keep, &c->rp, &opts);
    cJSON_Delete(old);
    sdf_runtime *rt = NULL;
    sdf_error err;
    if (sdf_runtime_new(&c->rp, &rt, &err)) {
        fprintf(stderr, "sdflow: %s\n", err.msg);
        cJSON_Delete(opts);
        sdf_run_args_free(&a);
        return 2;
    }
    sdf_cli_catch_sigint(rt);
    sdf_replay_params rp = {.verify = a.verify, .tags = a.tags, .n_tags = a.n_tags,
                            .note = a.note, .report = print_line, .user = c};
    sdf_run_result res;
    int n_diff = 0;
    if (a.verify) printf("verify: run %s\n", id);
    sdf_error_clear(&err);
    sdf_replay(rt, strtoll(id, NULL, 10), &rp, &res, &n_diff, &err);
    sdf_cli_release_sigint();
    if (res.status == SDF_RUN_LOAD_ERROR || res.status == SDF_RUN_INVALID ||
        (!res.run_id && res.status != SDF_RUN_SUCCEEDED)) {
        char line[2048];
        sdf_error_format(&err, line, sizeof line);
        fprintf(stderr, "sdflow: replay of run %s: %s\n", id, line);
    } else if (!c->json) {
        fprintf(stderr, "replay of run %s: run %lld %s in %.2f s\n", id, (long long)res.run_id,
                res.status == SDF_RUN_SUCCEEDED ? "succeeded" : "did not succeed", res.seconds);
        for (int i = 0; i < res.n_outputs; i++) printf("%s\n", res.outputs[i].path);
    }
    rc = sdf_run_exit_code(&res);
    if (a.verify) {
        printf("  %d difference%s\n", n_diff, n_diff == 1 ? "" : "s");
        if (n_diff && rc == 0) rc = 1;
    }
    sdf_run_result_deinit(&res);
    sdf_runtime_free(rt);
    cJSON_Delete(opts);
    sdf_run_args_free(&a);
    return rc;
}

int sdf_cmd_runs(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(argc < 2 ? stderr : stdout, "%s", usage_text);
        return argc < 2 ? 2 : 0;
    }
    sdf_cli c;
    sdf_cli_init(&c);
    const char *sub = argv[1];
    if (!strcmp(sub, "replay")) {
        int rc = cmd_replay(&c, argc - 1, argv + 1);
        sdf_cli_deinit(&c);
        return rc;
    }
    /* runtime options (--db, --json) anywhere; the rest are the subcommand's */
    char **rest = sdf_calloc((size_t)argc + 1, sizeof *rest);
    int n = 0;
    for (int i = 2; rest && i < argc; i++) {
        int r = sdf_cli_runtime_opt(&c, argc, argv, &i);
        if (r < 0) {
            sdf_free(rest);
            sdf_cli_deinit(&c);
            return 2;
        }
        if (!r) rest[n++] = argv[i];
    }
    sdf_runlog *rl = NULL;
    int rc = 2;
    if (rest && !open_log(&c, &rl)) {
        if (!strcmp(sub, "list")) rc = cmd_list(&c, rl, n, rest);
        else if (!strcmp(sub, "show") && n == 1) rc = cmd_show(&c, rl, rest[0]);
        else if (!strcmp(sub, "export") && n == 1) {
            cJSON *r = export_run(rl, rest[0]);
            if (r) print_json(r);
            rc = r ? 0 : 1;
            cJSON_Delete(r);
        } else if (!strcmp(sub, "diff") && n == 2) rc = cmd_diff(rl, rest[0], rest[1]);
        else fprintf(stderr, "%s", usage_text);
    }
    sdf_runlog_close(rl);
    sdf_free(rest);
    sdf_cli_deinit(&c);
    return rc;
}
