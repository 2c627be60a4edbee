/* runlog_read.c: reading runs back as JSON (`sdflow runs list|show|diff|export|replay`). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "../io/workflow.h"
#include "runlog_impl.h"

/* One row as {column: value}; integers exact, NULL as null. */
static cJSON *row_json(sqlite3_stmt *s) {
    cJSON *o = cJSON_CreateObject();
    int n = sqlite3_column_count(s);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(s, i);
        cJSON *v;
        switch (sqlite3_column_type(s, i)) {
        case SQLITE_INTEGER: v = sdf_json_int_item(sqlite3_column_int64(s, i), false); break;
        case SQLITE_FLOAT: v = cJSON_CreateNumber(sqlite3_column_double(s, i)); break;
        case SQLITE_TEXT: v = cJSON_CreateString((const char *)sqlite3_column_text(s, i)); break;
        default: v = cJSON_CreateNull(); break;
        }
        cJSON_AddItemToObject(o, name, v);
    }
    return o;
}

/* All rows of sql (one optional int64 parameter) as an array. Caller holds the mutex. */
static sdf_status rows(sdf_runlog *rl, const char *sql, const int64_t *id, cJSON **out,
                       sdf_error *err) {
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(rl->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sdf_runlog_fail_(rl, err, "reading");
    if (id) sqlite3_bind_int64(s, 1, *id);
    cJSON *a = cJSON_CreateArray();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) cJSON_AddItemToArray(a, row_json(s));
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(a);
        return sdf_runlog_fail_(rl, err, "reading");
    }
    *out = a;
    return SDF_OK;
}

sdf_status sdf_runlog_list(sdf_runlog *rl, const sdf_runlog_filter *f, cJSON **out,
                           sdf_error *err) {
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT id, sweep_id, started_utc, ended_utc, status, source_path, api_sha256, "
             "tags, note, error, threads, "
             "ROUND((julianday(ended_utc) - julianday(started_utc)) * 86400.0, 3) AS duration_s "
             "FROM runs WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR EXISTS (SELECT 1 "
             "FROM json_each(runs.tags) WHERE value = ?2)) AND (?3 IS NULL OR api_sha256 LIKE "
             "?3 || '%%') AND (?4 IS NULL OR started_utc >= ?4) ORDER BY id DESC LIMIT %d",
             f && f->limit > 0 ? f->limit : 50);
    pthread_mutex_lock(&rl->mu);
    sqlite3_stmt *s = NULL;
    sdf_status st = SDF_OK;
    if (sqlite3_prepare_v2(rl->db, sql, -1, &s, NULL) != SQLITE_OK) {
        st = sdf_runlog_fail_(rl, err, "listing runs");
    } else {
        const char *p[4] = {f ? f->status : NULL, f ? f->tag : NULL, f ? f->hash : NULL,
                            f ? f->since : NULL};
        for (int i = 0; i < 4; i++) {
            if (p[i]) sqlite3_bind_text(s, i + 1, p[i], -1, SQLITE_TRANSIENT);
            else sqlite3_bind_null(s, i + 1);
        }
        cJSON *a = cJSON_CreateArray();
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) cJSON_AddItemToArray(a, row_json(s));
        if (rc != SQLITE_DONE) {
            cJSON_Delete(a);
            st = sdf_runlog_fail_(rl, err, "listing runs");
        } else {
            *out = a;
        }
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&rl->mu);
    return st;
}

sdf_status sdf_runlog_export(sdf_runlog *rl, int64_t run_id, cJSON **out, sdf_error *err) {
    static const struct {
        const char *key, *sql;
    } parts[] = {
        {"nodes", "SELECT node_id, class_type, status, cached, started_utc, start_ms, "
                  "duration_ms, worker, output_key, error FROM node_execs WHERE run_id = ? "
                  "ORDER BY start_ms IS NULL, start_ms, node_id"},
        {"inputs", "SELECT node_id, name, value FROM node_inputs WHERE run_id = ? ORDER BY "
                   "node_id, name"},
        {"input_files", "SELECT node_id, role, path, size, mtime_ns, sha256 FROM input_files "
                        "WHERE run_id = ? ORDER BY rowid"},
        {"outputs", "SELECT node_id, path, sha256, width, height FROM outputs WHERE run_id = ? "
                    "ORDER BY rowid"},
        {"notes", "SELECT node_id, key, value FROM notes WHERE run_id = ? ORDER BY rowid"},
    };
    pthread_mutex_lock(&rl->mu);
    cJSON *runs = NULL;
    sdf_status st = rows(rl, "SELECT * FROM runs WHERE id = ?", &run_id, &runs, err);
    if (st) {
        pthread_mutex_unlock(&rl->mu);
        return st;
    }
    if (cJSON_GetArraySize(runs) != 1) {
        cJSON_Delete(runs);
        pthread_mutex_unlock(&rl->mu);
        return sdf_fail(err, SDF_ERR_NOT_FOUND, "no run %lld in %s", (long long)run_id,
                        rl->path);
    }
    cJSON *run = cJSON_DetachItemFromArray(runs, 0);
    cJSON_Delete(runs);
    /* u64 node input values were stored as TEXT; they stay text here */
    for (size_t i = 0; i < SDF_COUNTOF(parts); i++) {
        cJSON *a = NULL;
        st = rows(rl, parts[i].sql, &run_id, &a, err);
        if (st) break;
        cJSON_AddItemToObject(run, parts[i].key, a);
    }
    pthread_mutex_unlock(&rl->mu);
    if (st) {
        cJSON_Delete(run);
        return st;
    }
    *out = run;
    return SDF_OK;
}
