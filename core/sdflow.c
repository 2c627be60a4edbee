/* sdflow.c: the runtime and one run, wiring graph/, exec/ and runlog/. See sdflow.h. */
#include "sdflow.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/sha256.h"
#include "base/threadpool.h"
#include "exec/cache.h"
#include "exec/cachekey.h"
#include "exec/sched.h"
#include "graph/nodecall_int.h"
#include "io/workflow.h"
#include "kernels/kernels.h"
#include "runlog/runlog.h"

#ifndef SDF_VERSION
#define SDF_VERSION "0.0.0"
#endif
#ifndef SDF_GIT_REV
#define SDF_GIT_REV "unknown"
#endif

const char *sdf_version(void) { return SDF_VERSION; }
const char *sdf_git_rev(void) { return SDF_GIT_REV; }

/* File hashes remembered in memory too (the run log remembers them across processes; this
 * covers --no-db and saves a query). Keyed by path + size + mtime. */
typedef struct hash_memo {
    char   *path;
    int64_t size, mtime_ns;
    char    hex[65];
} hash_memo;

struct sdf_runtime {
    sdf_runtime_params p;
    pthread_mutex_t    memo_mu;
    hash_memo         *memo;
    int                n_memo, cap_memo;
    sdf_pool          *pool;
    int                threads;
    sdf_cache         *cache;
    sdf_runlog        *log;
    atomic_int         cancel;
    uint64_t           n_runs;
};

/* ---- runtime ------------------------------------------------------------------------------ */

void sdf_runtime_params_init(sdf_runtime_params *p) {
    memset(p, 0, sizeof *p);
    sdf_paths_init_defaults(&p->paths);
    p->cache_mb = 2048;
    p->db_path = "sdflow-runs.db";
}

sdf_status sdf_runtime_new(const sdf_runtime_params *p, sdf_runtime **out, sdf_error *err) {
    if (!p || !p->registry) return sdf_fail(err, SDF_ERR_INVALID, "runtime: no node registry");
    sdf_runtime *rt = sdf_calloc(1, sizeof *rt);
    if (!rt) return sdf_fail(err, SDF_ERR_NOMEM, "runtime");
    rt->p = *p;
    pthread_mutex_init(&rt->memo_mu, NULL);
    atomic_init(&rt->cancel, 0);
    rt->threads = p->n_threads > 0 ? p->n_threads : sdf_cpu_count();
    /* One thread budget: OpenBLAS runs single-threaded inside pool chunks (kernels.h). */
    sdf_blas_setup();
    sdf_status st = sdf_pool_new(rt->threads, &rt->pool, err);
    if (!st)
        st = sdf_cache_new(p->cache_mb * 1024 * 1024, p->cache_dir,
                           (uint64_t)p->cache_dir_mb * 1024 * 1024, &rt->cache, err);
    if (!st && p->db_path && p->db_path[0]) st = sdf_runlog_open(p->db_path, &rt->log, err);
    if (st) {
        sdf_runtime_free(rt);
        return st;
    }
    *out = rt;
    return SDF_OK;
}

void sdf_runtime_free(sdf_runtime *rt) {
    if (!rt) return;
    sdf_runlog_close(rt->log);
    sdf_cache_free(rt->cache);
    sdf_pool_free(rt->pool);
    for (int i = 0; i < rt->n_memo; i++) sdf_free(rt->memo[i].path);
    sdf_free(rt->memo);
    pthread_mutex_destroy(&rt->memo_mu);
    sdf_free(rt);
}

void sdf_runtime_cancel(sdf_runtime *rt) {
    if (rt) atomic_store(&rt->cancel, 1);
}
bool sdf_runtime_cancelled(const sdf_runtime *rt) {
    return rt && atomic_load(&((sdf_runtime *)rt)->cancel);
}
int sdf_runtime_threads(const sdf_runtime *rt) { return rt ? rt->threads : 1; }
sdf_runlog *sdf_runtime_runlog(sdf_runtime *rt) { return rt ? rt->log : NULL; }
const sdf_registry *sdf_runtime_registry(const sdf_runtime *rt) { return rt->p.registry; }

void sdf_run_params_init(sdf_run_params *p) { memset(p, 0, sizeof *p); }

void sdf_run_result_deinit(sdf_run_result *res) {
    if (!res) return;
    sdf_diags_deinit(&res->diags);
    for (int i = 0; i < res->n_outputs; i++) sdf_free(res->outputs[i].path);
    sdf_free(res->outputs);
    sdf_free(res->api_json);
    sdf_free(res->ui_text);
    memset(res, 0, sizeof *res);
}

int sdf_run_exit_code(const sdf_run_result *res) {
    switch (res->status) {
    case SDF_RUN_SUCCEEDED: return res->n_dropped > 0 ? 3 : 0;
    case SDF_RUN_INTERRUPTED: return 130;
    case SDF_RUN_LOAD_ERROR: return 2;
    default: return 1;
    }
}

/* ---- one run: the node host --------------------------------------------------------------- */

typedef struct run_ctx {
    sdf_runtime     *rt;
    sdf_run_result  *res;
    int64_t          run_id;
    char             prompt_id[40];
    pthread_mutex_t  mu; /* outputs list, event forwarding */
} run_ctx;

static void forward(run_ctx *c, sdf_event *ev) {
    if (!c->rt->p.events.on_event) return;
    ev->prompt_id = c->prompt_id;
    if (!ev->timestamp_ms) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        ev->timestamp_ms = (double)t.tv_sec * 1e3 + (double)(t.tv_nsec / 1000000);
    }
    pthread_mutex_lock(&c->mu);
    c->rt->p.events.on_event(c->rt->p.events.user, ev);
    pthread_mutex_unlock(&c->mu);
}

static void host_progress(void *user, const char *node_id, int64_t value, int64_t max) {
    run_ctx *c = user;
    sdf_event ev = {.kind = SDF_EV_PROGRESS, .node_id = node_id, .value = value, .max = max};
    forward(c, &ev);
}

static bool host_cancelled(void *user) {
    run_ctx *c = user;
    return atomic_load(&c->rt->cancel) != 0;
}

static void host_warn(void *user, const char *node_id, const char *msg) {
    run_ctx *c = user;
    sdf_event ev = {.kind = SDF_EV_WARNING, .node_id = node_id, .message = msg};
    forward(c, &ev);
    if (c->rt->log && c->run_id) sdf_runlog_note(c->rt->log, c->run_id, node_id, "warning", msg, NULL);
}

static void host_note_input_file(void *user, const char *node_id, const char *path,
                                 const char *role) {
    run_ctx *c = user;
    if (c->rt->log && c->run_id)
        sdf_runlog_input_file(c->rt->log, c->run_id, node_id, role, path, NULL);
}

static void host_note_output_file(void *user, const char *node_id, const char *path, int w,
                                  int h) {
    run_ctx *c = user;
    pthread_mutex_lock(&c->mu);
    sdf_run_result *r = c->res;
    sdf_run_output *o = sdf_realloc(r->outputs, ((size_t)r->n_outputs + 1) * sizeof *o);
    if (o) {
        r->outputs = o;
        sdf_run_output *x = &o[r->n_outputs];
        memset(x, 0, sizeof *x);
        snprintf(x->node_id, sizeof x->node_id, "%s", node_id ? node_id : "");
        x->path = sdf_strdup(path);
        x->width = w;
        x->height = h;
        if (x->path) r->n_outputs++;
    }
    pthread_mutex_unlock(&c->mu);
    if (c->rt->log && c->run_id) sdf_runlog_output(c->rt->log, c->run_id, node_id, path, w, h, NULL);
}

static void host_note(void *user, const char *node_id, const char *key, const char *value) {
    run_ctx *c = user;
    if (c->rt->log && c->run_id) sdf_runlog_note(c->rt->log, c->run_id, node_id, key, value, NULL);
}

static sdf_status host_file_sha256(void *user, const char *path, char hex[65], sdf_error *err) {
    run_ctx *c = user;
    sdf_runtime *rt = c->rt;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        sdf_fail(err, SDF_ERR_IO, "cannot stat the file");
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    int64_t size = (int64_t)sb.st_size;
    int64_t mt = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    pthread_mutex_lock(&rt->memo_mu);
    for (int i = 0; i < rt->n_memo; i++)
        if (rt->memo[i].size == size && rt->memo[i].mtime_ns == mt && !strcmp(rt->memo[i].path, path)) {
            memcpy(hex, rt->memo[i].hex, 65);
            pthread_mutex_unlock(&rt->memo_mu);
            return SDF_OK;
        }
    pthread_mutex_unlock(&rt->memo_mu);
    sdf_status st = rt->log ? sdf_runlog_file_sha256(rt->log, path, hex, NULL, NULL, err)
                            : sdf_sha256_file(path, hex, err);
    if (st) return st;
    pthread_mutex_lock(&rt->memo_mu);
    if (rt->n_memo == rt->cap_memo) {
        int cap = rt->cap_memo ? rt->cap_memo * 2 : 16;
        hash_memo *m = sdf_realloc(rt->memo, (size_t)cap * sizeof *m);
        if (m) {
            rt->memo = m;
            rt->cap_memo = cap;
        }
    }
    if (rt->n_memo < rt->cap_memo) {
        hash_memo *m = &rt->memo[rt->n_memo];
        m->path = sdf_strdup(path);
        m->size = size;
        m->mtime_ns = mt;
        memcpy(m->hex, hex, 65);
        if (m->path) rt->n_memo++;
    }
    pthread_mutex_unlock(&rt->memo_mu);
    return SDF_OK;
}

/* Cache-key identity of a file: path, size, mtime and content hash (hashed once). */
static sdf_status file_identity(void *user, const char *path, char *out, size_t cap,
                                sdf_error *err) {
    run_ctx *c = user;
    char hex[65];
    struct stat sb;
    if (stat(path, &sb) != 0) return sdf_fail(err, SDF_ERR_IO, "cannot stat %s", path);
    sdf_status st = host_file_sha256(c, path, hex, err);
    if (st) return st;
    snprintf(out, cap, "%s|%lld|%lld.%09ld|%s", path, (long long)sb.st_size,
             (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, hex);
    return SDF_OK;
}

/* Scheduler events: add the files an executed node wrote, then forward. */
static void sched_event(void *user, const sdf_event *ev0) {
    run_ctx *c = user;
    sdf_event ev = *ev0;
    const char *files[16];
    int nf = 0;
    if (ev.kind == SDF_EV_EXECUTED) {
        pthread_mutex_lock(&c->mu);
        for (int i = 0; i < c->res->n_outputs && nf < 16; i++)
            if (!strcmp(c->res->outputs[i].node_id, ev.node_id)) files[nf++] = c->res->outputs[i].path;
        pthread_mutex_unlock(&c->mu);
        ev.files = files;
        ev.n_files = nf;
    }
    forward(c, &ev);
}

/* ---- one run: steps ----------------------------------------------------------------------- */

static char *json_array_text(const char *const *v, int n) {
    if (n <= 0) return NULL;
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    char *p = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    char *s = p ? sdf_strdup(p) : NULL;
    cJSON_free(p);
    return s;
}

static const char *state_name(sdf_node_state s) {
    switch (s) {
    case SDF_NODE_CACHED: return "cached";
    case SDF_NODE_EXECUTED: return "executed";
    case SDF_NODE_FAILED: return "failed";
    case SDF_NODE_SKIPPED: return "skipped";
    case SDF_NODE_CANCELLED: return "cancelled";
    case SDF_NODE_RUNNING: return "running";
    default: return "pending";
    }
}

static void log_nodes(run_ctx *c, const sdf_graph *g, const sdf_node_result *results,
                      uint8_t (*keys)[32]) {
    for (int i = 0; i < g->n_nodes; i++) {
        const sdf_node_result *r = &results[i];
        const sdf_graph_node *n = &g->nodes[i];
        if (r->state == SDF_NODE_NOT_NEEDED) continue;
        char key[65], errtext[1400];
        sdf_key_hex(keys[i], key);
        if (r->state == SDF_NODE_FAILED || r->state == SDF_NODE_CANCELLED ||
            r->state == SDF_NODE_SKIPPED)
            sdf_error_format(&r->err, errtext, sizeof errtext);
        sdf_runlog_node rn = {
            .node_id = n->id, .class_type = n->def->class_type, .status = state_name(r->state),
            .cached = r->state == SDF_NODE_CACHED, .start_unix_ms = r->start_unix_ms,
            .start_ms = r->start_ms, .duration_ms = r->end_ms - r->start_ms,
            .worker = r->worker, .output_key = key,
            .error = (r->state == SDF_NODE_FAILED || r->state == SDF_NODE_CANCELLED ||
                      r->state == SDF_NODE_SKIPPED) ? errtext : NULL};
        sdf_runlog_node_exec(c->rt->log, c->run_id, &rn, NULL);
    }
}

static void log_inputs(run_ctx *c, const sdf_graph *g, const int *order, int n) {
    for (int k = 0; k < n; k++) {
        const sdf_graph_node *x = &g->nodes[order[k]];
        for (int j = 0; j < x->def->n_inputs && j < SDF_MAX_NODE_INPUTS; j++) {
            char link[200];
            if (x->link_node[j] >= 0) {
                snprintf(link, sizeof link, "[\"%s\", %d]", g->nodes[x->link_node[j]].id,
                         x->link_out[j]);
                sdf_runlog_node_input(c->rt->log, c->run_id, x->id, x->def->inputs[j].name, NULL,
                                      link, NULL);
            } else if (x->literal[j]) {
                sdf_runlog_node_input(c->rt->log, c->run_id, x->id, x->def->inputs[j].name,
                                      x->literal[j], NULL, NULL);
            }
        }
    }
}

static void diag_lines_warn(const sdf_run_params *p, const char *msg) {
    if (p->warn) p->warn(p->warn_user, msg);
}

/* Absolute, so a replay from another directory finds the same folders. */
static cJSON *path_item(const char *path) {
    if (!path) return cJSON_CreateNull();
    char abs[4096], cwd[4096];
    if (realpath(path, abs)) return cJSON_CreateString(abs);
    if (path[0] != '/' && getcwd(cwd, sizeof cwd)) { /* not there (yet): cwd/path */
        snprintf(abs, sizeof abs, "%s/%s", cwd, path);
        return cJSON_CreateString(abs);
    }
    return cJSON_CreateString(path);
}

/* The runtime's folders and flags as JSON (absolute where the path exists), recorded with each
 * run so that `runs replay` reuses them (sdf_replay_runtime_options). sdf_malloc'd. */
static char *runtime_options_text(const sdf_runtime *rt) {
    const sdf_paths *ps = &rt->p.paths;
    cJSON *o = cJSON_CreateObject();
    cJSON *m = cJSON_AddArrayToObject(o, "models_dirs");
    for (int i = 0; i < ps->n_models_dirs; i++)
        cJSON_AddItemToArray(m, path_item(ps->models_dirs[i]));
    cJSON_AddItemToObject(o, "input_dir", path_item(ps->input_dir));
    cJSON_AddItemToObject(o, "output_dir", path_item(ps->output_dir));
    cJSON_AddItemToObject(o, "clip_vocab_dir", path_item(ps->clip_vocab_dir));
    cJSON_AddBoolToObject(o, "fp32_text_enc", rt->p.fp32_text_enc);
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *s = t ? sdf_strdup(t) : NULL;
    cJSON_free(t);
    return s;
}

/* A run that never started (the file is not a workflow, or validation left nothing to run)
 * still gets its row: status failed, the error, the diagnostics and what was given. */
static void log_unrun(sdf_runtime *rt, const sdf_run_params *p, sdf_run_result *res,
                      const char *origin, const char *workflow_text, const char *diag_text) {
    if (!rt->log || p->validate_only) return;
    char etext[1600] = "";
    sdf_error_format(&res->error, etext, sizeof etext);
    cJSON *dj = NULL;
    char *dt = NULL;
    if (!diag_text) { /* a load error: one top-level error in the node_errors shape */
        dj = cJSON_CreateObject();
        cJSON *e = cJSON_AddObjectToObject(dj, "error");
        cJSON_AddStringToObject(e, "type", "load_error");
        cJSON_AddStringToObject(e, "message", etext);
        cJSON_AddStringToObject(e, "details", "");
        cJSON_AddObjectToObject(e, "extra_info");
        cJSON_AddObjectToObject(dj, "node_errors");
        cJSON_AddArrayToObject(dj, "warnings");
        dt = cJSON_PrintUnformatted(dj);
        diag_text = dt;
    }
    char *overrides = json_array_text(p->overrides, p->n_overrides);
    char *only = json_array_text(p->only, p->n_only);
    char *tags = json_array_text(p->tags, p->n_tags);
    char *opts = runtime_options_text(rt);
    sdf_runlog_run rr = {
        .sweep_id = p->sweep_id, .source_path = p->path, .source_format = origin,
        .workflow_text = workflow_text, .workflow_ui = res->ui_text, .api_json = res->api_json,
        .api_sha256 = res->api_sha256, .overrides_json = overrides, .only_json = only,
        .tags_json = tags, .note = p->note, .diagnostics_json = diag_text,
        .runtime_options_json = opts, .version = SDF_VERSION, .git_rev = SDF_GIT_REV,
        .gemm_core = sdf_blas_corename(), .threads = rt->threads};
    int64_t id = 0;
    if (!sdf_runlog_begin(rt->log, &rr, &id, NULL)) {
        res->run_id = id;
        sdf_runlog_end(rt->log, id, "failed", etext,
                       res->error.node_id[0] ? res->error.node_id : NULL, NULL);
    }
    sdf_free(overrides);
    sdf_free(only);
    sdf_free(tags);
    sdf_free(opts);
    cJSON_free(dt);
    cJSON_Delete(dj);
}

/* The text of a workflow that failed to load, for its run row: NULL for binary content. */
static char *unloadable_text(const sdf_run_params *p) {
    char *t = NULL;
    size_t n = 0;
    sdf_error e;
    if (!p->path) {
        if (!p->text) return NULL;
        n = p->len;
        t = sdf_malloc(n + 1);
        if (!t) return NULL;
        memcpy(t, p->text, n);
        t[n] = 0;
    } else if (sdf_read_file(p->path, &t, &n, &e)) {
        return NULL;
    }
    if (memchr(t, 0, n)) {
        sdf_free(t);
        return NULL;
    }
    return t;
}

sdf_status sdf_run_workflow(sdf_runtime *rt, const sdf_run_params *p, sdf_run_result *res,
                            sdf_error *err) {
    memset(res, 0, sizeof *res);
    sdf_diags_init(&res->diags);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const sdf_registry *reg = rt->p.registry;

    /* 1. load */
    sdf_workflow_src src = {0};
    sdf_status st;
    const char *name = p->path ? p->path : "workflow";
    if (p->path) {
        st = sdf_workflow_load(p->path, reg, p->warn, p->warn_user, &src, err);
    } else {
        st = sdf_workflow_from_text(p->text, p->len, name, reg, p->warn, p->warn_user, &src, err);
        if (!st && p->ui_text && !src.ui_text) src.ui_text = sdf_strdup(p->ui_text);
    }
    if (st) {
        res->status = SDF_RUN_LOAD_ERROR;
        res->error = err ? *err : res->error;
        char *text = unloadable_text(p);
        if (text || !p->path || access(p->path, R_OK) == 0) log_unrun(rt, p, res, NULL, text, NULL);
        sdf_free(text);
        return st;
    }
    cJSON *root = NULL;
    st = sdf_json_parse(src.api_text, strlen(src.api_text), name, &root, err);
    for (int i = 0; !st && i < p->n_overrides; i++) {
        if (!cJSON_IsObject(root)) break;
        st = sdf_apply_override(root, reg, p->overrides[i], err);
    }
    sdf_graph *g = NULL;
    if (!st) {
        st = sdf_graph_build(root, reg, &g, err);
        root = NULL;
        if (st) sdf_error_at_file(err, name);
    }
    cJSON_Delete(root);
    if (st) {
        res->status = SDF_RUN_LOAD_ERROR;
        res->error = err ? *err : res->error;
        res->ui_text = src.ui_text;
        src.ui_text = NULL;
        log_unrun(rt, p, res, src.origin, res->ui_text ? res->ui_text : src.api_text, NULL);
        sdf_workflow_src_deinit(&src);
        return st;
    }
    res->ui_text = src.ui_text;
    src.ui_text = NULL;

    /* 2. validate */
    sdf_validate_opts vo = {.paths = &rt->p.paths, .only = p->only, .n_only = p->n_only};
    st = sdf_graph_validate(g, &vo, &res->diags, err);
    res->n_targets = sdf_graph_count_targets(g, &res->n_dropped);
    cJSON *canon = sdf_graph_canonical(g);
    char *canon_text = canon ? cJSON_PrintUnformatted(canon) : NULL;
    if (canon_text) {
        res->api_json = sdf_strdup(canon_text);
        uint8_t d[32];
        sdf_sha256_buf(canon_text, strlen(canon_text), d);
        sdf_sha256_hex(d, res->api_sha256);
        cJSON_free(canon_text);
    }
    if (!st && p->on_validated) p->on_validated(p->warn_user, &res->diags, g);
    bool invalid = res->diags.n_errors > 0 && (p->strict || res->n_targets == 0);
    if (!st && (invalid || p->validate_only)) {
        res->status = invalid ? SDF_RUN_INVALID : SDF_RUN_SUCCEEDED;
        if (invalid) st = sdf_fail(err, SDF_ERR_INVALID, "the workflow is invalid (%d problem%s)",
                                   res->diags.n_errors, res->diags.n_errors == 1 ? "" : "s");
        if (invalid && err) res->error = *err;
        if (invalid) {
            cJSON *dj = sdf_diags_to_json(&res->diags, g);
            char *dt = dj ? cJSON_PrintUnformatted(dj) : NULL;
            log_unrun(rt, p, res, src.origin, res->ui_text ? res->ui_text : src.api_text,
                      dt ? dt : "{}");
            cJSON_free(dt);
            cJSON_Delete(dj);
        }
        cJSON_Delete(canon);
        sdf_graph_free(g);
        sdf_workflow_src_deinit(&src);
        return st;
    }
    if (atomic_load(&rt->cancel)) {
        res->status = SDF_RUN_INTERRUPTED;
        cJSON_Delete(canon);
        sdf_graph_free(g);
        sdf_workflow_src_deinit(&src);
        return sdf_fail(err, SDF_ERR_CANCELLED, "interrupted before the run started");
    }

    /* 3. plan and keys */
    run_ctx c;
    memset(&c, 0, sizeof c);
    c.rt = rt;
    c.res = res;
    pthread_mutex_init(&c.mu, NULL);
    {
        uint8_t d[32];
        char seed[128];
        snprintf(seed, sizeof seed, "%d-%lld-%llu", (int)getpid(), (long long)t0.tv_nsec,
                 (unsigned long long)rt->n_runs);
        sdf_sha256_buf(seed, strlen(seed), d);
        char hex[65];
        sdf_sha256_hex(d, hex);
        snprintf(c.prompt_id, sizeof c.prompt_id, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
                 hex + 12, hex + 16, hex + 20);
    }
    rt->n_runs++;
    int *order = NULL, n_order = 0;
    uint8_t (*keys)[32] = NULL;
    sdf_node_result *results = NULL;
    char salt[64];
    snprintf(salt, sizeof salt, "fp32_text_enc=%d", rt->p.fp32_text_enc ? 1 : 0);
    sdf_keyctx kc = {.paths = &rt->p.paths, .salt = salt, .nonce = rt->n_runs,
                     .file_identity = file_identity, .user = &c};
    if (!st) st = sdf_graph_plan(g, &order, &n_order, err);
    if (!st) {
        keys = sdf_calloc((size_t)g->n_nodes + 1, sizeof *keys);
        results = sdf_calloc((size_t)g->n_nodes + 1, sizeof *results);
        if (!keys || !results) st = sdf_fail(err, SDF_ERR_NOMEM, "run");
    }

    /* 4. the run row */
    char *overrides = json_array_text(p->overrides, p->n_overrides);
    char *only = json_array_text(p->only, p->n_only);
    char *tags = json_array_text(p->tags, p->n_tags);
    cJSON *dj = sdf_diags_to_json(&res->diags, g);
    char *diag_text = dj ? cJSON_PrintUnformatted(dj) : NULL;
    cJSON_Delete(dj);
    char *opts = !st && rt->log ? runtime_options_text(rt) : NULL;
    if (!st && rt->log) {
        const char *core = sdf_blas_corename();
        sdf_runlog_run rr = {
            .sweep_id = p->sweep_id, .source_path = p->path, .source_format = src.origin,
            .workflow_text = res->ui_text ? res->ui_text : src.api_text,
            .workflow_ui = res->ui_text, .api_json = res->api_json,
            .api_sha256 = res->api_sha256, .overrides_json = overrides, .only_json = only,
            .tags_json = tags, .note = p->note, .diagnostics_json = diag_text,
            .runtime_options_json = opts, .version = SDF_VERSION, .git_rev = SDF_GIT_REV,
            .gemm_core = core, .threads = rt->threads};
        st = sdf_runlog_begin(rt->log, &rr, &c.run_id, err);
        res->run_id = c.run_id;
    }
    if (diag_text) cJSON_free(diag_text);
    sdf_free(overrides);
    sdf_free(only);
    sdf_free(tags);
    sdf_free(opts);
    if (!st) {
        sdf_event ev = {.kind = SDF_EV_EXECUTION_START};
        forward(&c, &ev);
    }
    if (!st) st = sdf_cache_keys(g, order, n_order, &kc, keys, err);
    if (!st && rt->log) log_inputs(&c, g, order, n_order);

    /* 5. execute */
    sdf_status run_st = st;
    if (!st) {
        sdf_call_host host = {
            .user = &c, .paths = &rt->p.paths, .pool = rt->pool, .resources = rt->p.resources,
            .prompt = canon, .workflow_text = res->ui_text, .fp32_text_enc = rt->p.fp32_text_enc,
            .progress = host_progress,
            .cancelled = host_cancelled, .warn = host_warn,
            .note_input_file = host_note_input_file, .note_output_file = host_note_output_file,
            .note = host_note, .file_sha256 = host_file_sha256};
        sdf_sched_params sp = {
            .g = g, .order = order, .n_order = n_order, .keys = (const uint8_t(*)[32])keys,
            .cache = rt->cache, .host = &host, .n_workers = rt->threads,
            .sink = {&c, sched_event}, .prompt_id = c.prompt_id,
            .intermediates_dir = p->intermediates_dir, .results = results};
        run_st = sdf_sched_run(&sp, err);
        for (int i = 0; i < g->n_nodes; i++) {
            switch (results[i].state) {
            case SDF_NODE_EXECUTED: res->n_executed++; break;
            case SDF_NODE_CACHED: res->n_cached++; break;
            case SDF_NODE_FAILED: case SDF_NODE_CANCELLED: res->n_failed++; break;
            case SDF_NODE_SKIPPED: res->n_skipped++; break;
            default: break;
            }
        }
        if (run_st == SDF_OK) {
            sdf_event ev = {.kind = SDF_EV_EXECUTION_SUCCESS};
            forward(&c, &ev);
        }
    }
    res->status = run_st == SDF_OK ? SDF_RUN_SUCCEEDED
                  : run_st == SDF_ERR_CANCELLED ? SDF_RUN_INTERRUPTED
                                                : SDF_RUN_FAILED;
    if (run_st && err) res->error = *err;

    /* 6. finish the row */
    if (rt->log && c.run_id) {
        if (results) log_nodes(&c, g, results, keys);
        char etext[1600] = "";
        if (run_st) sdf_error_format(&res->error, etext, sizeof etext);
        sdf_runlog_end(rt->log, c.run_id,
                       res->status == SDF_RUN_SUCCEEDED     ? "succeeded"
                       : res->status == SDF_RUN_INTERRUPTED ? "interrupted"
                                                            : "failed",
                       run_st ? etext : NULL, run_st && res->error.node_id[0] ? res->error.node_id
                                                                               : NULL,
                       NULL);
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    (void)diag_lines_warn;
    pthread_mutex_destroy(&c.mu);
    sdf_free(order);
    sdf_free(keys);
    sdf_free(results);
    cJSON_Delete(canon);
    sdf_graph_free(g);
    sdf_workflow_src_deinit(&src);
    return run_st;
}
