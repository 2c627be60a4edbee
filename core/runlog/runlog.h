/* runlog.h: the SQLite experiment log (issue 2 §7; schema/runlog.sql).
 *
 * Owns:      sdf_runlog, one database connection: schema creation and PRAGMA user_version
 *            migrations, WAL + busy timeout (several sdflow processes share one file), the
 *            stale-row rule (at open, a 'running' row of this host whose process is gone, or
 *            whose pid now belongs to a later process, becomes 'interrupted'; other hosts'
 *            rows are left alone), writes for runs / node executions / inputs / files /
 *            notes, the file-hash memory (sha256 by path + size + mtime, so each file is hashed
 *            once across runs), and read-back as JSON for `sdflow runs`.
 * Ownership: strings passed in are copied by SQLite; JSON returned is NEW (cJSON_Delete).
 * Errors:    every sqlite3 rc is checked; messages carry sqlite3_errmsg and the db path.
 * Threads:   all functions are thread-safe (one mutex around the connection); hashing a file
 *            runs outside it.
 */
#ifndef SDF_RUNLOG_H
#define SDF_RUNLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/error.h"
#include "../graph/value.h"

typedef struct sdf_runlog sdf_runlog;
typedef struct cJSON cJSON;

#define SDF_RUNLOG_VERSION 2

/* Opens (creating and migrating) the database at path. Marks stale runs interrupted. */
sdf_status sdf_runlog_open(const char *path, sdf_runlog **out, sdf_error *err);
void       sdf_runlog_close(sdf_runlog *rl); /* NULL-safe */
/* How many stale rows the open marked interrupted. */
int        sdf_runlog_stale_marked(const sdf_runlog *rl);

typedef struct sdf_runlog_run {
    const char *sweep_id;       /* or NULL */
    const char *source_path, *source_format;
    const char *workflow_text;  /* as given */
    const char *workflow_ui;    /* UI text or NULL */
    const char *api_json;       /* canonical */
    const char *api_sha256;
    const char *overrides_json, *only_json, *tags_json, *note, *diagnostics_json;
    const char *runtime_options_json; /* folders and flags (sdflow.c), or NULL */
    const char *version, *git_rev, *gemm_core;
    int         threads;
} sdf_runlog_run;

sdf_status sdf_runlog_begin(sdf_runlog *rl, const sdf_runlog_run *r, int64_t *run_id,
                            sdf_error *err);
/* status: "succeeded", "failed", "interrupted". error/error_node may be NULL. */
sdf_status sdf_runlog_end(sdf_runlog *rl, int64_t run_id, const char *status, const char *error,
                          const char *error_node, sdf_error *err);

typedef struct sdf_runlog_node {
    const char *node_id, *class_type, *status;
    bool        cached;
    double      start_unix_ms, start_ms, duration_ms;
    int         worker;
    const char *output_key, *error;
} sdf_runlog_node;

sdf_status sdf_runlog_node_exec(sdf_runlog *rl, int64_t run_id, const sdf_runlog_node *n,
                                sdf_error *err);
/* A literal input value (INT above INT64_MAX stored as TEXT). */
sdf_status sdf_runlog_node_input(sdf_runlog *rl, int64_t run_id, const char *node_id,
                                 const char *name, const sdf_value *v, const char *link_text,
                                 sdf_error *err);
sdf_status sdf_runlog_input_file(sdf_runlog *rl, int64_t run_id, const char *node_id,
                                 const char *role, const char *path, sdf_error *err);
sdf_status sdf_runlog_output(sdf_runlog *rl, int64_t run_id, const char *node_id,
                             const char *path, int width, int height, sdf_error *err);
sdf_status sdf_runlog_note(sdf_runlog *rl, int64_t run_id, const char *node_id, const char *key,
                           const char *value, sdf_error *err);

/* sha256 of a file, remembered by (path, size, mtime). Also reports size and mtime (ns). */
sdf_status sdf_runlog_file_sha256(sdf_runlog *rl, const char *path, char hex[65],
                                  int64_t *size, int64_t *mtime_ns, sdf_error *err);

/* ---- reading back ---- */

typedef struct sdf_runlog_filter {
    const char *status;   /* or NULL */
    const char *tag;      /* runs whose tags contain it */
    const char *hash;     /* api_sha256 prefix */
    const char *since;    /* started_utc >= since (ISO text compare) */
    int         limit;    /* 0: 50 */
} sdf_runlog_filter;

/* [{"id", "sweep_id", "started_utc", "ended_utc", "status", "source_path", "api_sha256",
 *   "tags", "note", "error", "duration_s"}] newest first. */
sdf_status sdf_runlog_list(sdf_runlog *rl, const sdf_runlog_filter *f, cJSON **out,
                           sdf_error *err);
/* Everything about one run: the row, "nodes", "inputs", "input_files", "outputs", "notes".
 * SDF_ERR_NOT_FOUND when there is no such run. */
sdf_status sdf_runlog_export(sdf_runlog *rl, int64_t run_id, cJSON **out, sdf_error *err);

#endif
