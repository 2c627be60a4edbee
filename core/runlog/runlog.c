/* runlog.c: opening, migrating and writing the run log. Reading back: runlog_read.c. */
#include "runlog.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/alloc.h"
#include "../base/sha256.h"
#include "runlog_impl.h"

/* ---- small helpers ------------------------------------------------------------------------ */

sdf_status sdf_runlog_fail_(sdf_runlog *rl, sdf_error *err, const char *what) {
    sdf_fail(err, SDF_ERR_IO, "run log: %s: %s", what, sqlite3_errmsg(rl->db));
    sdf_error_at_file(err, rl->path);
    return SDF_ERR_IO;
}

void sdf_utc_now(char *buf, size_t cap) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    sdf_utc_from_ms((double)t.tv_sec * 1e3 + (double)(t.tv_nsec / 1000000), buf, cap);
}

void sdf_utc_from_ms(double ms, char *buf, size_t cap) {
    time_t s = (time_t)(ms / 1000.0);
    int msec = (int)(ms - (double)s * 1000.0);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, msec < 0 ? 0 : msec);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v) {
    if (v) sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(s, i);
}

/* /proc/<pid>/stat field 22: the process start time in clock ticks since boot. */
int64_t sdf_proc_start_time(int pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (!p) return -1;
    p++;
    for (int field = 2; field < 22 && p; field++) {
        p = strchr(p + 1, ' ');
    }
    return p ? strtoll(p + 1, NULL, 10) : -1;
}

/* ---- schema and migrations ---------------------------------------------------------------- */

/* Migration k brings user_version k-1 to k; each runs in one transaction. A new database
 * gets the whole current schema (sdf_runlog_schema_sql) and goes straight to the newest version. */
static const char *const migrations[] = {
    NULL, /* 1: the first schema */
    "ALTER TABLE runs ADD COLUMN runtime_options TEXT", /* 2: folders and flags of the run */
};

static int user_version(sdf_runlog *rl) {
    sqlite3_stmt *s = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(rl->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

static sdf_status migrate(sdf_runlog *rl, sdf_error *err) {
    int version = user_version(rl);
    if (version < 0) return sdf_runlog_fail_(rl, err, "reading user_version");
    if (version > SDF_RUNLOG_VERSION) {
        sdf_fail(err, SDF_ERR_UNSUPPORTED, "run log schema version %d is newer than this sdflow "
                 "(%d): use a newer sdflow or another --db", version, SDF_RUNLOG_VERSION);
        sdf_error_at_file(err, rl->path);
        return SDF_ERR_UNSUPPORTED;
    }
    while (version < SDF_RUNLOG_VERSION) {
        if (sqlite3_exec(rl->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            return sdf_runlog_fail_(rl, err, "starting a migration");
        /* another process may have migrated meanwhile */
        int now = user_version(rl);
        if (now != version) {
            sqlite3_exec(rl->db, "COMMIT", NULL, NULL, NULL);
            version = now;
            if (now < 0) return sdf_runlog_fail_(rl, err, "reading user_version");
            continue;
        }
        int to = version == 0 ? SDF_RUNLOG_VERSION : version + 1;
        const char *sql = version == 0 ? sdf_runlog_schema_sql : migrations[to - 1];
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", to);
        if (sqlite3_exec(rl->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(rl->db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
            sdf_status st = sdf_runlog_fail_(rl, err, version ? "migrating the schema"
                                                              : "creating the schema");
            sqlite3_exec(rl->db, "ROLLBACK", NULL, NULL, NULL);
            return st;
        }
        if (sqlite3_exec(rl->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            return sdf_runlog_fail_(rl, err, "committing a migration");
        version = to;
    }
    return SDF_OK;
}

/* Rows of this host still 'running' whose process is gone (or whose pid was reused). */
static sdf_status mark_stale(sdf_runlog *rl, sdf_error *err) {
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(rl->db, "SELECT id, pid, proc_start FROM runs WHERE status = "
                           "'running' AND host = ?", -1, &s, NULL) != SQLITE_OK)
        return sdf_runlog_fail_(rl, err, "looking for stale runs");
    bind_text(s, 1, rl->host);
    int64_t ids[256];
    int n = 0;
    while (sqlite3_step(s) == SQLITE_ROW && n < 256) {
        int pid = sqlite3_column_int(s, 1);
        int64_t start = sqlite3_column_int64(s, 2);
        int64_t now = sdf_proc_start_time(pid);
        if (now < 0 || now != start) ids[n++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    if (!n) return SDF_OK;
    char ts[40];
    sdf_utc_now(ts, sizeof ts);
    if (sqlite3_prepare_v2(rl->db, "UPDATE runs SET status = 'interrupted', ended_utc = ?, "
                           "error = 'the sdflow process ended without finishing the run "
                           "(killed?)' WHERE id = ? AND status = 'running'",
                           -1, &s, NULL) != SQLITE_OK)
        return sdf_runlog_fail_(rl, err, "marking stale runs");
    for (int i = 0; i < n; i++) {
        sqlite3_reset(s);
        bind_text(s, 1, ts);
        sqlite3_bind_int64(s, 2, ids[i]);
        if (sqlite3_step(s) == SQLITE_DONE) rl->stale_marked += sqlite3_changes(rl->db);
    }
    sqlite3_finalize(s);
    return SDF_OK;
}

sdf_status sdf_runlog_open(const char *path, sdf_runlog **out, sdf_error *err) {
    sdf_runlog *rl = sdf_calloc(1, sizeof *rl);
    if (!rl) return sdf_fail(err, SDF_ERR_NOMEM, "run log");
    pthread_mutex_init(&rl->mu, NULL);
    rl->path = sdf_strdup(path);
    if (gethostname(rl->host, sizeof rl->host - 1) != 0) snprintf(rl->host, sizeof rl->host, "?");
    if (!rl->path) {
        sdf_runlog_close(rl);
        return sdf_fail(err, SDF_ERR_NOMEM, "run log");
    }
    if (sqlite3_open_v2(path, &rl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        sdf_status st = rl->db ? sdf_runlog_fail_(rl, err, "opening")
                               : sdf_fail(err, SDF_ERR_IO, "cannot open the run log");
        sdf_error_at_file(err, path);
        sdf_runlog_close(rl);
        return st;
    }
    sqlite3_busy_timeout(rl->db, 10000);
    sdf_status st = SDF_OK;
    /* WAL + synchronous=NORMAL: a crash (even SIGKILL) never corrupts the log; only the last
     * commits may be lost on power failure. One fsync per row would slow every run. */
    if (sqlite3_exec(rl->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(rl->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(rl->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK)
        st = sdf_runlog_fail_(rl, err, "setting WAL mode (is this an SQLite database?)");
    if (!st) st = migrate(rl, err);
    if (!st) st = mark_stale(rl, err);
    if (st) {
        sdf_runlog_close(rl);
        return st;
    }
    *out = rl;
    return SDF_OK;
}

void sdf_runlog_close(sdf_runlog *rl) {
    if (!rl) return;
    if (rl->db) sqlite3_close(rl->db);
    pthread_mutex_destroy(&rl->mu);
    sdf_free(rl->path);
    sdf_free(rl);
}

int sdf_runlog_stale_marked(const sdf_runlog *rl) { return rl ? rl->stale_marked : 0; }

/* ---- writing ------------------------------------------------------------------------------ */

/* Prepares sql, lets bind() fill it, steps to DONE. Holds the mutex. */
static sdf_status exec1(sdf_runlog *rl, const char *sql, void (*bind)(sqlite3_stmt *, void *),
                        void *ctx, const char *what, sdf_error *err) {
    pthread_mutex_lock(&rl->mu);
    sqlite3_stmt *s = NULL;
    sdf_status st = SDF_OK;
    if (sqlite3_prepare_v2(rl->db, sql, -1, &s, NULL) != SQLITE_OK) {
        st = sdf_runlog_fail_(rl, err, what);
    } else {
        bind(s, ctx);
        if (sqlite3_step(s) != SQLITE_DONE) st = sdf_runlog_fail_(rl, err, what);
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&rl->mu);
    return st;
}

typedef struct begin_ctx {
    sdf_runlog           *rl;
    const sdf_runlog_run *r;
    const char           *ts;
} begin_ctx;

static void bind_begin(sqlite3_stmt *s, void *p) {
    begin_ctx *c = p;
    const sdf_runlog_run *r = c->r;
    int i = 1;
    bind_text(s, i++, r->sweep_id);
    bind_text(s, i++, c->ts);
    bind_text(s, i++, r->source_path);
    bind_text(s, i++, r->source_format);
    bind_text(s, i++, r->workflow_text);
    bind_text(s, i++, r->workflow_ui);
    bind_text(s, i++, r->api_json ? r->api_json : "{}");
    bind_text(s, i++, r->api_sha256 ? r->api_sha256 : "");
    bind_text(s, i++, r->overrides_json);
    bind_text(s, i++, r->only_json);
    bind_text(s, i++, r->tags_json);
    bind_text(s, i++, r->note);
    bind_text(s, i++, r->version);
    bind_text(s, i++, r->git_rev);
    bind_text(s, i++, c->rl->host);
    sqlite3_bind_int64(s, i++, (sqlite3_int64)getpid());
    sqlite3_bind_int64(s, i++, sdf_proc_start_time((int)getpid()));
    sqlite3_bind_int(s, i++, r->threads);
    bind_text(s, i++, r->gemm_core);
    bind_text(s, i++, r->diagnostics_json);
    bind_text(s, i++, r->runtime_options_json);
}

sdf_status sdf_runlog_begin(sdf_runlog *rl, const sdf_runlog_run *r, int64_t *run_id,
                            sdf_error *err) {
    char ts[40];
    sdf_utc_now(ts, sizeof ts);
    begin_ctx c = {rl, r, ts};
    pthread_mutex_lock(&rl->mu);
    sqlite3_stmt *s = NULL;
    sdf_status st = SDF_OK;
    if (sqlite3_prepare_v2(rl->db,
                           "INSERT INTO runs (sweep_id, started_utc, status, source_path, "
                           "source_format, workflow_text, workflow_ui, api_json, api_sha256, "
                           "overrides, only_targets, tags, note, version, git_rev, host, pid, "
                           "proc_start, threads, gemm_core, diagnostics, runtime_options) "
                           "VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                           "?, ?, ?, ?, ?)",
                           -1, &s, NULL) != SQLITE_OK) {
        st = sdf_runlog_fail_(rl, err, "recording the run");
    } else {
        bind_begin(s, &c);
        if (sqlite3_step(s) != SQLITE_DONE) st = sdf_runlog_fail_(rl, err, "recording the run");
        else *run_id = sqlite3_last_insert_rowid(rl->db);
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&rl->mu);
    return st;
}

typedef struct end_ctx {
    int64_t     id;
    const char *status, *error, *node, *ts;
} end_ctx;

static void bind_end(sqlite3_stmt *s, void *p) {
    end_ctx *c = p;
    bind_text(s, 1, c->status);
    bind_text(s, 2, c->ts);
    bind_text(s, 3, c->error);
    bind_text(s, 4, c->node);
    sqlite3_bind_int64(s, 5, c->id);
}

sdf_status sdf_runlog_end(sdf_runlog *rl, int64_t run_id, const char *status, const char *error,
                          const char *error_node, sdf_error *err) {
    char ts[40];
    sdf_utc_now(ts, sizeof ts);
    end_ctx c = {run_id, status, error, error_node, ts};
    return exec1(rl, "UPDATE runs SET status = ?, ended_utc = ?, error = ?, error_node = ? "
                     "WHERE id = ?", bind_end, &c, "finishing the run", err);
}

typedef struct node_ctx {
    int64_t                id;
    const sdf_runlog_node *n;
} node_ctx;

static void bind_node(sqlite3_stmt *s, void *p) {
    node_ctx *c = p;
    const sdf_runlog_node *n = c->n;
    char ts[40];
    sqlite3_bind_int64(s, 1, c->id);
    bind_text(s, 2, n->node_id);
    bind_text(s, 3, n->class_type);
    bind_text(s, 4, n->status);
    sqlite3_bind_int(s, 5, n->cached);
    if (n->start_unix_ms > 0) {
        sdf_utc_from_ms(n->start_unix_ms, ts, sizeof ts);
        bind_text(s, 6, ts);
        sqlite3_bind_double(s, 7, n->start_ms);
        sqlite3_bind_double(s, 8, n->duration_ms);
        sqlite3_bind_int(s, 9, n->worker);
    }
    bind_text(s, 10, n->output_key);
    bind_text(s, 11, n->error);
}

sdf_status sdf_runlog_node_exec(sdf_runlog *rl, int64_t run_id, const sdf_runlog_node *n,
                                sdf_error *err) {
    node_ctx c = {run_id, n};
    return exec1(rl, "INSERT OR REPLACE INTO node_execs (run_id, node_id, class_type, status, "
                     "cached, started_utc, start_ms, duration_ms, worker, output_key, error) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 bind_node, &c, "recording a node", err);
}

typedef struct input_ctx {
    int64_t          id;
    const char      *node, *name, *link;
    const sdf_value *v;
} input_ctx;

static void bind_input(sqlite3_stmt *s, void *p) {
    input_ctx *c = p;
    sqlite3_bind_int64(s, 1, c->id);
    bind_text(s, 2, c->node);
    bind_text(s, 3, c->name);
    const sdf_value *v = c->v;
    char buf[32];
    if (!v) {
        bind_text(s, 4, c->link);
    } else if (v->type == SDF_VT_INT) {
        if (v->u.integer.is_u64) {
            snprintf(buf, sizeof buf, "%llu", (unsigned long long)(uint64_t)v->u.integer.i);
            bind_text(s, 4, buf); /* above 2^63-1: TEXT (decisions.md) */
        } else {
            sqlite3_bind_int64(s, 4, v->u.integer.i);
        }
    } else if (v->type == SDF_VT_FLOAT) {
        sqlite3_bind_double(s, 4, v->u.f);
    } else if (v->type == SDF_VT_BOOLEAN) {
        sqlite3_bind_int(s, 4, v->u.b);
    } else if (v->type == SDF_VT_STRING || v->type == SDF_VT_COMBO) {
        bind_text(s, 4, v->u.s);
    }
}

sdf_status sdf_runlog_node_input(sdf_runlog *rl, int64_t run_id, const char *node_id,
                                 const char *name, const sdf_value *v, const char *link_text,
                                 sdf_error *err) {
    input_ctx c = {run_id, node_id, name, link_text, v};
    return exec1(rl, "INSERT OR REPLACE INTO node_inputs (run_id, node_id, name, value) VALUES "
                     "(?, ?, ?, ?)", bind_input, &c, "recording an input", err);
}

typedef struct file_ctx {
    int64_t     id;
    const char *node, *role, *path, *sha;
    int64_t     size, mtime;
    int         w, h;
} file_ctx;

static void bind_infile(sqlite3_stmt *s, void *p) {
    file_ctx *c = p;
    sqlite3_bind_int64(s, 1, c->id);
    bind_text(s, 2, c->node);
    bind_text(s, 3, c->role);
    bind_text(s, 4, c->path);
    sqlite3_bind_int64(s, 5, c->size);
    sqlite3_bind_int64(s, 6, c->mtime);
    bind_text(s, 7, c->sha);
}

sdf_status sdf_runlog_input_file(sdf_runlog *rl, int64_t run_id, const char *node_id,
                                 const char *role, const char *path, sdf_error *err) {
    char hex[65];
    int64_t size = 0, mtime = 0;
    sdf_status st = sdf_runlog_file_sha256(rl, path, hex, &size, &mtime, err);
    if (st) return st;
    file_ctx c = {run_id, node_id, role, path, hex, size, mtime, 0, 0};
    return exec1(rl, "INSERT INTO input_files (run_id, node_id, role, path, size, mtime_ns, "
                     "sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 bind_infile, &c, "recording an input file", err);
}

static void bind_output(sqlite3_stmt *s, void *p) {
    file_ctx *c = p;
    sqlite3_bind_int64(s, 1, c->id);
    bind_text(s, 2, c->node);
    bind_text(s, 3, c->path);
    bind_text(s, 4, c->sha);
    sqlite3_bind_int(s, 5, c->w);
    sqlite3_bind_int(s, 6, c->h);
}

sdf_status sdf_runlog_output(sdf_runlog *rl, int64_t run_id, const char *node_id,
                             const char *path, int width, int height, sdf_error *err) {
    char hex[65];
    sdf_status st = sdf_sha256_file(path, hex, err); /* outputs are new: hash directly */
    if (st) return st;
    file_ctx c = {run_id, node_id, NULL, path, hex, 0, 0, width, height};
    return exec1(rl, "INSERT INTO outputs (run_id, node_id, path, sha256, width, height) VALUES "
                     "(?, ?, ?, ?, ?, ?)", bind_output, &c, "recording an output", err);
}

static void bind_note(sqlite3_stmt *s, void *p) {
    file_ctx *c = p;
    sqlite3_bind_int64(s, 1, c->id);
    bind_text(s, 2, c->node);
    bind_text(s, 3, c->role);
    bind_text(s, 4, c->path);
}

sdf_status sdf_runlog_note(sdf_runlog *rl, int64_t run_id, const char *node_id, const char *key,
                           const char *value, sdf_error *err) {
    file_ctx c = {run_id, node_id, key, value, NULL, 0, 0, 0, 0};
    return exec1(rl, "INSERT INTO notes (run_id, node_id, key, value) VALUES (?, ?, ?, ?)",
                 bind_note, &c, "recording a note", err);
}

/* ---- the file-hash memory ----------------------------------------------------------------- */

sdf_status sdf_runlog_file_sha256(sdf_runlog *rl, const char *path, char hex[65],
                                  int64_t *size, int64_t *mtime_ns, sdf_error *err) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        sdf_fail(err, SDF_ERR_IO, "cannot stat: %s", strerror(errno));
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    char abs[4096];
    if (!realpath(path, abs)) snprintf(abs, sizeof abs, "%s", path);
    int64_t sz = (int64_t)sb.st_size;
    int64_t mt = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    if (size) *size = sz;
    if (mtime_ns) *mtime_ns = mt;
    bool found = false;
    if (rl) {
        pthread_mutex_lock(&rl->mu);
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(rl->db, "SELECT sha256 FROM file_hashes WHERE path = ? AND "
                               "size = ? AND mtime_ns = ?", -1, &s, NULL) == SQLITE_OK) {
            bind_text(s, 1, abs);
            sqlite3_bind_int64(s, 2, sz);
            sqlite3_bind_int64(s, 3, mt);
            if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 64) {
                memcpy(hex, sqlite3_column_text(s, 0), 64);
                hex[64] = 0;
                found = true;
            }
        }
        sqlite3_finalize(s);
        if (found) rl->hash_hits++;
        pthread_mutex_unlock(&rl->mu);
    }
    if (found) return SDF_OK;
    sdf_status st = sdf_sha256_file(path, hex, err); /* outside the lock: may take seconds */
    if (st || !rl) return st;
    char ts[40];
    sdf_utc_now(ts, sizeof ts);
    pthread_mutex_lock(&rl->mu);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(rl->db, "INSERT OR REPLACE INTO file_hashes (path, size, mtime_ns, "
                           "sha256, hashed_utc) VALUES (?, ?, ?, ?, ?)", -1, &s, NULL) ==
        SQLITE_OK) {
        bind_text(s, 1, abs);
        sqlite3_bind_int64(s, 2, sz);
        sqlite3_bind_int64(s, 3, mt);
        bind_text(s, 4, hex);
        bind_text(s, 5, ts);
        if (sqlite3_step(s) != SQLITE_DONE) st = sdf_runlog_fail_(rl, err, "remembering a hash");
    } else {
        st = sdf_runlog_fail_(rl, err, "remembering a hash");
    }
    sqlite3_finalize(s);
    rl->hash_computed++;
    pthread_mutex_unlock(&rl->mu);
    return st;
}
