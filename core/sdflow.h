/* sdflow.h: the public API: a runtime that validates, executes and logs ComfyUI workflows.
 *
 *     sdf_builtin_storage nodes;              // from nodes/nodes.h
 *     sdf_registry reg;
 *     sdf_builtin_registry(&nodes, &reg);
 *     sdf_runtime_params rp;
 *     sdf_runtime_params_init(&rp);           // all cores, 2 GiB cache, ./sdflow-runs.db
 *     rp.registry = &reg;
 *     sdf_runtime *rt;
 *     sdf_error err;
 *     if (sdf_runtime_new(&rp, &rt, &err)) { ... }
 *     sdf_run_params p;
 *     sdf_run_params_init(&p);
 *     p.path = "graphs/txt2img.json";         // or p.text/p.len for JSON in memory
 *     sdf_run_result res;
 *     sdf_status st = sdf_run_workflow(rt, &p, &res, &err);
 *     ... res.outputs[i].path, res.run_id, res.diags ...
 *     sdf_run_result_deinit(&res);
 *     sdf_runtime_free(rt);
 *
 * Owns:      sdf_runtime: the thread pool (one budget for branches and kernels), the output
 *            cache shared by every run it executes (sweeps and several files reuse it), the
 *            run log, and the node host through which nodes reach paths, the pool, progress,
 *            cancellation and the log.
 * A run:     load (API JSON, UI JSON, PNG) -> --set overrides -> validate (every problem) ->
 *            plan (outputs whose ancestry is valid; strict: nothing unless all is valid) ->
 *            cache keys -> run row 'running' -> scheduler -> node rows, outputs, final status.
 *            A run stopped before it starts (not JSON, invalid) still gets a 'failed' row with
 *            its error and diagnostics; each row records the runtime's folders and flags.
 * Ownership: params strings are borrowed for the call (runtime params: for the runtime's life).
 *            sdf_run_result owns its contents until sdf_run_result_deinit.
 * Threads:   one run at a time per runtime; sdf_runtime_cancel may be called from any thread
 *            or a signal handler.
 */
#ifndef SDF_SDFLOW_H
#define SDF_SDFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "exec/events.h"
#include "graph/graph.h"
#include "graph/nodedef.h"
#include "io/paths.h"

typedef struct sdf_runtime sdf_runtime;
typedef struct sdf_runlog sdf_runlog;

typedef struct sdf_runtime_params {
    const sdf_registry *registry;  /* required: the node table */
    sdf_paths    paths;            /* model/input/output folders (strings borrowed) */
    int          n_threads;        /* 0 = all cores */
    size_t       cache_mb;         /* in-memory output cache, MiB (default 2048; 0 = none) */
    const char  *cache_dir;        /* disk cache of tensor outputs, or NULL (off) */
    size_t       cache_dir_mb;     /* disk cache budget, MiB (0 = unbounded) */
    const char  *db_path;          /* run log; NULL = no run log */
    bool         fp32_text_enc;    /* part of every cache key (changes model outputs) */
    void        *resources;        /* shared node resources (model cache), borrowed, or NULL */
    sdf_event_sink events;         /* progress and lifecycle events (events.h); may be unset */
} sdf_runtime_params;

void       sdf_runtime_params_init(sdf_runtime_params *p);
/* On error *out is untouched and nothing leaks. */
sdf_status sdf_runtime_new(const sdf_runtime_params *p, sdf_runtime **out, sdf_error *err);
void       sdf_runtime_free(sdf_runtime *rt); /* NULL-safe */
/* Asks the current (and any later) run to stop at the next safe point. Async-signal-safe. */
void       sdf_runtime_cancel(sdf_runtime *rt);
bool       sdf_runtime_cancelled(const sdf_runtime *rt);
int        sdf_runtime_threads(const sdf_runtime *rt);
sdf_runlog *sdf_runtime_runlog(sdf_runtime *rt); /* NULL without a run log */
const sdf_registry *sdf_runtime_registry(const sdf_runtime *rt);

typedef struct sdf_run_params {
    const char *path;            /* workflow file (JSON or PNG), or NULL when text is given */
    const char *text;            /* API-format JSON text (with len), when path is NULL */
    size_t      len;
    const char *ui_text;         /* with text: the UI workflow it was converted from, or NULL */
    const char *const *overrides; /* "ID.INPUT=VALUE" (--set), parsed by the input's type */
    int          n_overrides;
    const char *const *only;     /* --only: node ids to treat as the outputs */
    int          n_only;
    const char *const *tags;
    int          n_tags;
    const char  *note;
    const char  *sweep_id;       /* common id of a sweep's runs, or NULL */
    bool         strict;         /* run nothing if anything is invalid */
    bool         validate_only;  /* stop after validation (no run row) */
    const char  *intermediates_dir; /* --save-intermediates */
    void (*warn)(void *user, const char *msg); /* load/conversion warnings */
    void        *warn_user;
    /* Called once validation is done, before anything runs (e.g. to print the problems). */
    void (*on_validated)(void *user, const sdf_diags *d, const sdf_graph *g);
} sdf_run_params;

void sdf_run_params_init(sdf_run_params *p);

typedef enum sdf_run_status {
    SDF_RUN_SUCCEEDED,
    SDF_RUN_FAILED,      /* a node failed (independent branches still finished) */
    SDF_RUN_INTERRUPTED,
    SDF_RUN_INVALID,     /* validation left nothing to run (or --strict and anything invalid) */
    SDF_RUN_LOAD_ERROR   /* the file could not be read or parsed */
} sdf_run_status;

typedef struct sdf_run_output {
    char  node_id[64];
    char *path;
    int   width, height;
} sdf_run_output;

typedef struct sdf_run_result {
    sdf_run_status  status;
    int64_t         run_id;          /* 0 without a run log, for validate_only, or when the
                                        file could not be read; a workflow that was read but
                                        is invalid or not a workflow gets a 'failed' row */
    sdf_diags       diags;           /* validation problems and warnings */
    int             n_targets;       /* outputs that ran */
    int             n_dropped;       /* outputs dropped by validation */
    int             n_executed, n_cached, n_failed, n_skipped;
    sdf_run_output *outputs;         /* files written, in the order written */
    int             n_outputs;
    char           *api_json;        /* canonical API JSON (sdf_malloc'd) */
    char           *ui_text;         /* UI workflow text the run came from, or NULL */
    char            api_sha256[65];
    sdf_error       error;           /* the first failure */
    double          seconds;
} sdf_run_result;

/* Runs one workflow. Returns SDF_OK when everything that should run succeeded (res->n_dropped
 * may still be > 0); SDF_ERR_INVALID when validation stopped it; SDF_ERR_CANCELLED when
 * interrupted; otherwise the first failure. res is filled in every case (deinit it). */
sdf_status sdf_run_workflow(sdf_runtime *rt, const sdf_run_params *p, sdf_run_result *res,
                            sdf_error *err);
void sdf_run_result_deinit(sdf_run_result *res);
/* CLI exit code for a result: 0 ok, 1 failed/invalid, 2 load error, 3 outputs dropped,
 * 130 interrupted. */
int sdf_run_exit_code(const sdf_run_result *res);

/* ---- replay ---- */

typedef struct sdf_replay_params {
    bool         verify;      /* compare input hashes and outputs with the record */
    const char *const *tags;  /* extra tags; "replay-of:<id>" is always added */
    int          n_tags;
    const char  *note;
    void (*report)(void *user, const char *line); /* one line per difference (verify) */
    void (*warn)(void *user, const char *msg);
    void (*on_validated)(void *user, const sdf_diags *d, const sdf_graph *g);
    void        *user;
} sdf_replay_params;

/* Re-executes run run_id from the runtime's run log: its canonical API JSON, --only targets and
 * UI text (the thread count is the caller's: create the runtime with the recorded one). With
 * verify, *n_differences counts input files whose content changed or vanished and outputs that
 * are not bit-identical (each reported). Returns the replay's run status (res filled). */
sdf_status sdf_replay(sdf_runtime *rt, int64_t run_id, const sdf_replay_params *rp,
                      sdf_run_result *res, int *n_differences, sdf_error *err);

/* Runtime options a replay reuses (bits of `keep` in sdf_replay_runtime_options). */
enum {
    SDF_KEEP_MODELS = 1,      /* the caller set its own --models */
    SDF_KEEP_INPUT = 2,
    SDF_KEEP_OUTPUT = 4,
    SDF_KEEP_CLIP_VOCAB = 8,
    SDF_KEEP_FP32_TEXT_ENC = 16
};

/* Sets p's folders (models, input, output, clip vocab) and fp32_text_enc to what a recorded
 * run used: `record` is its sdf_runlog_export object, whose "runtime_options" column (NULL
 * for runs recorded before schema 2: then nothing changes) is parsed into *keep_alive (NEW:
 * the strings put in p point into it; cJSON_Delete it after the runtime is freed). Options
 * named in keep (the caller's command line gave them) are left as they are. */
void sdf_replay_runtime_options(const cJSON *record, unsigned keep, sdf_runtime_params *p,
                                cJSON **keep_alive);

/* Applies one "ID.INPUT=VALUE" override to an API-format tree (value parsed by the input's
 * declared type; JSON for links). */
sdf_status sdf_apply_override(cJSON *root, const sdf_registry *reg, const char *spec,
                              sdf_error *err);

const char *sdf_version(void);  /* "0.1.0" */
const char *sdf_git_rev(void);

#endif
