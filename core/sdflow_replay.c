/* sdflow_replay.c: re-executing a recorded run and checking it (`sdflow runs replay --verify`).
 *
 * The replay executes the recorded canonical API JSON (with the recorded --only targets, and
 * the original UI text so SaveImage re-embeds it). Verification then compares, and reports
 * one line per difference: each input file the original read, hashed again now, against its
 * recorded sha256; each output file (matched by node id and order) bit for bit via sha256;
 * the run's status. A different GEMM kernel is reported as a warning, not a difference.
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "runlog/runlog.h"
#include "sdflow.h"

static const char *str(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : "";
}

static void say(void (*report)(void *, const char *), void *user, const char *fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (report) report(user, buf);
}

static const char *opt_str(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) && x->valuestring[0] ? x->valuestring : NULL;
}

void sdf_replay_runtime_options(const cJSON *record, unsigned keep, sdf_runtime_params *p,
                                cJSON **keep_alive) {
    *keep_alive = NULL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(record, "runtime_options");
    cJSON *o = cJSON_IsString(t) ? cJSON_Parse(t->valuestring) : NULL;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return;
    }
    *keep_alive = o;
    sdf_paths *ps = &p->paths;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "models_dirs");
    if (!(keep & SDF_KEEP_MODELS) && cJSON_IsArray(m) && cJSON_GetArraySize(m) > 0) {
        ps->n_models_dirs = 0;
        for (const cJSON *x = m->child; x && ps->n_models_dirs < SDF_MAX_MODEL_DIRS; x = x->next)
            if (cJSON_IsString(x) && x->valuestring[0])
                ps->models_dirs[ps->n_models_dirs++] = x->valuestring;
    }
    if (!(keep & SDF_KEEP_INPUT) && opt_str(o, "input_dir"))
        ps->input_dir = opt_str(o, "input_dir");
    if (!(keep & SDF_KEEP_OUTPUT) && opt_str(o, "output_dir"))
        ps->output_dir = opt_str(o, "output_dir");
    if (!(keep & SDF_KEEP_CLIP_VOCAB)) ps->clip_vocab_dir = opt_str(o, "clip_vocab_dir");
    if (!(keep & SDF_KEEP_FP32_TEXT_ENC))
        p->fp32_text_enc = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "fp32_text_enc"));
}

sdf_status sdf_replay(sdf_runtime *rt, int64_t run_id, const sdf_replay_params *rp,
                      sdf_run_result *res, int *n_differences, sdf_error *err) {
    sdf_runlog *log = sdf_runtime_runlog(rt);
    *n_differences = 0;
    memset(res, 0, sizeof *res);
    if (!log) return sdf_fail(err, SDF_ERR_INVALID, "replay needs the run log");
    cJSON *old = NULL;
    sdf_status st = sdf_runlog_export(log, run_id, &old, err);
    if (st) return st;
    const char *api = str(old, "api_json");
    /* the recorded --only targets */
    const char *only_text = cJSON_IsString(cJSON_GetObjectItem(old, "only_targets"))
                                ? str(old, "only_targets") : NULL;
    cJSON *oj = only_text ? cJSON_Parse(only_text) : NULL;
    const char *only[64];
    int n_only = 0;
    for (const cJSON *x = oj ? oj->child : NULL; x && n_only < 64; x = x->next)
        if (cJSON_IsString(x)) only[n_only++] = x->valuestring;
    char tag[64];
    snprintf(tag, sizeof tag, "replay-of:%lld", (long long)run_id);
    const char *tags[17];
    int n_tags = 0;
    for (int i = 0; rp && i < rp->n_tags && n_tags < 16; i++) tags[n_tags++] = rp->tags[i];
    tags[n_tags++] = tag;

    sdf_run_params p;
    sdf_run_params_init(&p);
    p.text = api;
    p.len = strlen(api);
    p.ui_text = cJSON_IsString(cJSON_GetObjectItem(old, "workflow_ui")) ? str(old, "workflow_ui")
                                                                        : NULL;
    p.only = only;
    p.n_only = n_only;
    p.tags = tags;
    p.n_tags = n_tags;
    if (rp) {
        p.note = rp->note;
        p.warn = rp->warn;
        p.warn_user = rp->user;
        p.on_validated = rp->on_validated;
    }
    sdf_status run_st = sdf_run_workflow(rt, &p, res, err);
    cJSON_Delete(oj);
    void (*report)(void *, const char *) = rp ? rp->report : NULL;
    void *user = rp ? rp->user : NULL;
    if (!rp || !rp->verify) {
        cJSON_Delete(old);
        return run_st;
    }

    int n = 0;
    cJSON *now = NULL;
    sdf_error e;
    if (!res->run_id || sdf_runlog_export(log, res->run_id, &now, &e)) {
        say(report, user, "the replay of run %lld did not produce a run record",
            (long long)run_id);
        n++;
    } else {
        if (strcmp(str(now, "status"), "succeeded")) {
            say(report, user, "the replay %s (the original %s)", str(now, "status"),
                str(old, "status"));
            n++;
        }
        for (const cJSON *f = cJSON_GetObjectItem(old, "input_files")->child; f; f = f->next) {
            char hex[65];
            if (sdf_runlog_file_sha256(log, str(f, "path"), hex, NULL, NULL, &e)) {
                say(report, user, "input file of node %s is gone: %s", str(f, "node_id"),
                    str(f, "path"));
                n++;
            } else if (strcmp(hex, str(f, "sha256"))) {
                say(report, user, "input file of node %s changed: %s (sha256 %.16s then, %.16s "
                    "now)", str(f, "node_id"), str(f, "path"), str(f, "sha256"), hex);
                n++;
            }
        }
        const cJSON *oa = cJSON_GetObjectItem(old, "outputs"), *ob = cJSON_GetObjectItem(now, "outputs");
        int i = 0;
        const cJSON *y = ob ? ob->child : NULL;
        for (const cJSON *x = oa ? oa->child : NULL; x; x = x->next, i++) {
            /* outputs are recorded in the order nodes wrote them: match node by node */
            const cJSON *m = NULL;
            int kx = 0, k = 0;
            for (const cJSON *q = oa->child; q != x; q = q->next)
                if (!strcmp(str(q, "node_id"), str(x, "node_id"))) kx++;
            for (y = ob ? ob->child : NULL; y && !m; y = y->next) {
                if (strcmp(str(y, "node_id"), str(x, "node_id"))) continue;
                if (k++ == kx) m = y;
            }
            if (!m) {
                say(report, user, "output %s of node %s was not written again", str(x, "path"),
                    str(x, "node_id"));
                n++;
            } else if (strcmp(str(x, "sha256"), str(m, "sha256"))) {
                say(report, user, "output of node %s differs: %s (sha256 %.16s) vs %s (sha256 "
                    "%.16s)", str(x, "node_id"), str(x, "path"), str(x, "sha256"),
                    str(m, "path"), str(m, "sha256"));
                n++;
            }
        }
        int n_old = cJSON_GetArraySize(oa), n_new = cJSON_GetArraySize(ob);
        if (n_new > n_old) {
            say(report, user, "the replay wrote %d output%s, the original %d", n_new,
                n_new == 1 ? "" : "s", n_old);
            n++;
        }
        const char *ka = str(old, "gemm_core"), *kb = str(now, "gemm_core");
        if (strcmp(ka, kb))
            say(report, user, "warning: GEMM kernel differs (%s then, %s now): floating-point "
                "results may differ", ka, kb);
        const char *pa = str(old, "runtime_options"), *pb = str(now, "runtime_options");
        if (pa[0] && strcmp(pa, pb))
            say(report, user, "warning: runtime options differ (%s then, %s now)", pa, pb);
        if (!n)
            say(report, user, "OK: %d input file%s unchanged, %d output%s bit-identical",
                cJSON_GetArraySize(cJSON_GetObjectItem(old, "input_files")),
                cJSON_GetArraySize(cJSON_GetObjectItem(old, "input_files")) == 1 ? "" : "s",
                n_old, n_old == 1 ? "" : "s");
        cJSON_Delete(now);
    }
    *n_differences = n;
    cJSON_Delete(old);
    return run_st;
}
