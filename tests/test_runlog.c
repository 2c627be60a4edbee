/* test_runlog.c: run-log rows after a success and a failure, u64 seeds stored as TEXT, file
 * hashes remembered, a SIGKILLed run marked interrupted at the next start (and rows of live
 * processes or other hosts left alone), schema version checks, the embedded schema matching
 * schema/runlog.sql, a version-1 database migrated to 2, the runtime options recorded and
 * reapplied for a replay (command-line options win), rows for runs that never started (invalid
 * workflow, not JSON), and replay --verify passing, then reporting a changed input. */
#include <cjson/cJSON.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/base/sha256.h"
#include "../core/io/workflow.h"
#include "../core/runlog/runlog.h"
#include "../core/runlog/runlog_int.h"
#include "../core/sdflow.h"
#include "fake_nodes.h"
#include "testing.h"

static sdf_registry reg;
#define DB "tr_runs.db"

static void fresh_db(void) {
    mkdir("tr_out", 0777);
    mkdir("tr_in", 0777);
    remove(DB);
    remove(DB "-wal");
    remove(DB "-shm");
}

static sdf_runtime *new_rt(void) {
    sdf_runtime_params p;
    sdf_runtime_params_init(&p);
    p.registry = &reg;
    p.n_threads = 2;
    p.db_path = DB;
    p.paths.output_dir = "tr_out";
    p.paths.input_dir = "tr_in";
    mkdir("tr_out", 0777);
    mkdir("tr_in", 0777);
    sdf_runtime *rt = NULL;
    sdf_error e;
    if (sdf_runtime_new(&p, &rt, &e)) fprintf(stderr, "runtime: %s\n", e.msg);
    return rt;
}

static sdf_status run_text(sdf_runtime *rt, const char *json, sdf_run_result *res) {
    sdf_run_params p;
    sdf_run_params_init(&p);
    p.text = json;
    p.len = strlen(json);
    const char *tags[] = {"unit", "runlog"};
    p.tags = tags;
    p.n_tags = 2;
    p.note = "a note";
    sdf_error e;
    return sdf_run_workflow(rt, &p, res, &e);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static const char *ok_graph =
    "{\"1\": {\"class_type\": \"LoadNumber\", \"inputs\": {\"file\": \"n.txt\"}},"
    " \"2\": {\"class_type\": \"Seed\", \"inputs\": {\"seed\": 18446744073709551615}},"
    " \"3\": {\"class_type\": \"Add\", \"inputs\": {\"a\": [\"1\", 0], \"b\": [\"2\", 0]}},"
    " \"4\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"3\", 0], \"prefix\": \"rl\"}}}";

static const cJSON *find_row(const cJSON *arr, const char *key, const char *val) {
    for (const cJSON *r = arr ? arr->child : NULL; r; r = r->next) {
        const cJSON *x = cJSON_GetObjectItem(r, key);
        if (cJSON_IsString(x) && !strcmp(x->valuestring, val)) return r;
    }
    return NULL;
}

static const char *s_of(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(x) ? x->valuestring : "";
}

static void test_success_rows(void) {
    fresh_db();
    write_file("tr_in/n.txt", "40\n");
    sdf_runtime *rt = new_rt();
    REQUIRE(rt);
    sdf_run_result res;
    REQUIRE(run_text(rt, ok_graph, &res) == SDF_OK);
    int64_t id = res.run_id;
    CHECK(id > 0);
    sdf_run_result_deinit(&res);
    cJSON *r = NULL;
    sdf_error e;
    REQUIRE(sdf_runlog_export(sdf_runtime_runlog(rt), id, &r, &e) == SDF_OK);
    CHECK_STR(s_of(r, "status"), "succeeded");
    CHECK_STR(s_of(r, "note"), "a note");
    CHECK_STR(s_of(r, "tags"), "[\"unit\",\"runlog\"]");
    CHECK(strlen(s_of(r, "api_sha256")) == 64);
    CHECK(strstr(s_of(r, "api_json"), "18446744073709551615") != NULL);
    CHECK(strlen(s_of(r, "host")) > 0 && strlen(s_of(r, "gemm_core")) > 0);
    CHECK(cJSON_GetObjectItem(r, "threads")->valuedouble == 2);
    CHECK(strlen(s_of(r, "ended_utc")) == 24);
    /* per-node rows */
    const cJSON *nodes = cJSON_GetObjectItem(r, "nodes");
    CHECK(cJSON_GetArraySize(nodes) == 4);
    const cJSON *n3 = find_row(nodes, "node_id", "3");
    REQUIRE(n3);
    CHECK_STR(s_of(n3, "status"), "executed");
    CHECK_STR(s_of(n3, "class_type"), "Add");
    CHECK(strlen(s_of(n3, "output_key")) == 64);
    /* the u64 seed is TEXT, exact */
    const cJSON *in = NULL;
    for (const cJSON *x = cJSON_GetObjectItem(r, "inputs")->child; x; x = x->next)
        if (!strcmp(s_of(x, "node_id"), "2") && !strcmp(s_of(x, "name"), "seed")) in = x;
    REQUIRE(in);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(in, "value")));
    CHECK_STR(s_of(in, "value"), "18446744073709551615");
    /* the input file with its sha256 */
    const cJSON *f = cJSON_GetObjectItem(r, "input_files")->child;
    REQUIRE(f);
    char hex[65];
    REQUIRE(sdf_sha256_file("tr_in/n.txt", hex, &e) == SDF_OK);
    CHECK_STR(s_of(f, "sha256"), hex);
    CHECK_STR(s_of(f, "node_id"), "1");
    CHECK(cJSON_GetObjectItem(f, "size")->valuedouble == 3);
    /* the output file */
    const cJSON *o = cJSON_GetObjectItem(r, "outputs")->child;
    REQUIRE(o);
    CHECK_STR(s_of(o, "path"), "tr_out/rl_4.txt");
    REQUIRE(sdf_sha256_file("tr_out/rl_4.txt", hex, &e) == SDF_OK);
    CHECK_STR(s_of(o, "sha256"), hex);
    cJSON_Delete(r);

    /* an identical second run: nodes 1-3 are cached, the row says so */
    REQUIRE(run_text(rt, ok_graph, &res) == SDF_OK);
    REQUIRE(sdf_runlog_export(sdf_runtime_runlog(rt), res.run_id, &r, &e) == SDF_OK);
    const cJSON *c3 = find_row(cJSON_GetObjectItem(r, "nodes"), "node_id", "3");
    CHECK(c3 && !strcmp(s_of(c3, "status"), "cached") &&
          cJSON_GetObjectItem(c3, "cached")->valuedouble == 1);
    CHECK(find_row(cJSON_GetObjectItem(r, "nodes"), "node_id", "1") == NULL); /* not needed */
    cJSON_Delete(r);
    sdf_run_result_deinit(&res);

    /* listing with filters */
    cJSON *list = NULL;
    sdf_runlog_filter flt = {.status = "succeeded", .tag = "runlog"};
    REQUIRE(sdf_runlog_list(sdf_runtime_runlog(rt), &flt, &list, &e) == SDF_OK);
    CHECK(cJSON_GetArraySize(list) == 2);
    cJSON_Delete(list);
    flt.tag = "nope";
    REQUIRE(sdf_runlog_list(sdf_runtime_runlog(rt), &flt, &list, &e) == SDF_OK);
    CHECK(cJSON_GetArraySize(list) == 0);
    cJSON_Delete(list);
    sdf_runtime_free(rt);
}

static void test_failure_rows(void) {
    sdf_runtime *rt = new_rt();
    REQUIRE(rt);
    const char *json =
        "{\"1\": {\"class_type\": \"Const\", \"inputs\": {\"value\": 1}},"
        " \"2\": {\"class_type\": \"Fail\", \"inputs\": {\"x\": [\"1\", 0]}},"
        " \"3\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"2\", 0], \"prefix\": \"f\"}}}";
    sdf_run_result res;
    CHECK(run_text(rt, json, &res) != SDF_OK);
    int64_t id = res.run_id;
    sdf_run_result_deinit(&res);
    cJSON *r = NULL;
    sdf_error e;
    REQUIRE(sdf_runlog_export(sdf_runtime_runlog(rt), id, &r, &e) == SDF_OK);
    CHECK_STR(s_of(r, "status"), "failed");
    CHECK_STR(s_of(r, "error_node"), "2");
    CHECKF(strstr(s_of(r, "error"), "node \"2\" (Fail)") && strstr(s_of(r, "error"), "always fails"),
           "%s", s_of(r, "error"));
    const cJSON *nodes = cJSON_GetObjectItem(r, "nodes");
    CHECK_STR(s_of(find_row(nodes, "node_id", "2"), "status"), "failed");
    CHECK_STR(s_of(find_row(nodes, "node_id", "3"), "status"), "skipped");
    cJSON_Delete(r);
    sdf_runtime_free(rt);
}

static int64_t row_count(const char *sql) {
    sqlite3 *db = NULL;
    int64_t n = -1;
    if (sqlite3_open(DB, &db) == SQLITE_OK) {
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
            n = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return n;
}

static void exec_sql(const char *sql) {
    sqlite3 *db = NULL;
    if (sqlite3_open(DB, &db) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    sqlite3_close(db);
}

static void test_sigkill_marked_interrupted(void) {
    fresh_db();
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        sdf_runlog *rl = NULL;
        sdf_error e;
        int64_t id = 0;
        sdf_runlog_run r = {.api_json = "{}", .api_sha256 = "x", .threads = 1};
        if (sdf_runlog_open(DB, &rl, &e) || sdf_runlog_begin(rl, &r, &id, &e)) _exit(3);
        sdf_runlog_node n = {.node_id = "1", .class_type = "Sleep", .status = "executed"};
        sdf_runlog_node_exec(rl, id, &n, &e);
        kill(getpid(), SIGKILL); /* dies with the row 'running' */
        _exit(4);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK(row_count("SELECT count(*) FROM runs WHERE status = 'running'") == 1);
    /* the database is consistent after the kill */
    CHECK(row_count("SELECT count(*) FROM node_execs") == 1);

    /* a live run of this process, one of another host, one whose pid was reused */
    sdf_runlog *rl = NULL;
    sdf_error e;
    REQUIRE(sdf_runlog_open(DB, &rl, &e) == SDF_OK);
    CHECK(sdf_runlog_stale_marked(rl) == 1);
    int64_t live = 0, other = 0, reused = 0;
    sdf_runlog_run r = {.api_json = "{}", .api_sha256 = "y", .threads = 1};
    REQUIRE(sdf_runlog_begin(rl, &r, &live, &e) == SDF_OK);
    REQUIRE(sdf_runlog_begin(rl, &r, &other, &e) == SDF_OK);
    REQUIRE(sdf_runlog_begin(rl, &r, &reused, &e) == SDF_OK);
    sdf_runlog_close(rl);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE runs SET host = 'elsewhere', pid = 999999 WHERE id = %lld",
             (long long)other);
    exec_sql(sql);
    snprintf(sql, sizeof sql, "UPDATE runs SET proc_start = proc_start - 1 WHERE id = %lld",
             (long long)reused);
    exec_sql(sql);
    REQUIRE(sdf_runlog_open(DB, &rl, &e) == SDF_OK);
    CHECK(sdf_runlog_stale_marked(rl) == 1); /* only the reused pid */
    sdf_runlog_close(rl);
    snprintf(sql, sizeof sql, "SELECT status = 'running' FROM runs WHERE id = %lld", (long long)live);
    CHECK(row_count(sql) == 1);
    snprintf(sql, sizeof sql, "SELECT status = 'running' FROM runs WHERE id = %lld", (long long)other);
    CHECK(row_count(sql) == 1);
    snprintf(sql, sizeof sql, "SELECT status = 'interrupted' FROM runs WHERE id = %lld",
             (long long)reused);
    CHECK(row_count(sql) == 1);
    CHECK(row_count("SELECT count(*) FROM runs WHERE status = 'interrupted' AND error LIKE '%killed%'") == 2);
}

static void test_schema(void) {
    /* the embedded schema is schema/runlog.sql */
    char *text = NULL;
    size_t len = 0;
    sdf_error e;
    REQUIRE(sdf_read_file(SDF_SOURCE_DIR "/schema/runlog.sql", &text, &len, &e) == SDF_OK);
    CHECKF(!strcmp(text, sdf_runlog_schema_sql),
           "schema/runlog.sql and core/runlog/runlog_schema.c differ: run scripts/regen-schema.sh");
    sdf_free(text);
    CHECK(row_count("PRAGMA user_version") == SDF_RUNLOG_VERSION);
    CHECK(row_count("SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'") == 1);
    /* a database from a newer sdflow is refused, not damaged */
    exec_sql("PRAGMA user_version = 99");
    sdf_runlog *rl = NULL;
    CHECK(sdf_runlog_open(DB, &rl, &e) == SDF_ERR_UNSUPPORTED);
    CHECK(strstr(e.msg, "99") != NULL);
    exec_sql("PRAGMA user_version = 2");
    /* not a database at all */
    write_file("tr_bad.db", "this is not sqlite, just text long enough to look like a header...");
    sdf_error_clear(&e);
    CHECK(sdf_runlog_open("tr_bad.db", &rl, &e) == SDF_ERR_IO);
    CHECK_STR(e.path, "tr_bad.db");
    /* hashes are remembered by path + size + mtime */
    REQUIRE(sdf_runlog_open(DB, &rl, &e) == SDF_OK);
    char h1[65], h2[65];
    write_file("tr_in/h.txt", "hello");
    REQUIRE(sdf_runlog_file_sha256(rl, "tr_in/h.txt", h1, NULL, NULL, &e) == SDF_OK);
    CHECK_STR(h1, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    int64_t before = row_count("SELECT count(*) FROM file_hashes");
    REQUIRE(sdf_runlog_file_sha256(rl, "tr_in/h.txt", h2, NULL, NULL, &e) == SDF_OK);
    CHECK_STR(h1, h2);
    CHECK(row_count("SELECT count(*) FROM file_hashes") == before);
    sdf_runlog_close(rl);
}


static void test_runtime_options(void) {
    fresh_db();
    write_file("tr_in/n.txt", "40\n");
    sdf_runtime_params p;
    sdf_runtime_params_init(&p);
    p.registry = &reg;
    p.n_threads = 2;
    p.db_path = DB;
    p.paths.output_dir = "tr_out";
    p.paths.input_dir = "tr_in";
    p.paths.models_dirs[0] = "tr_in";
    p.paths.models_dirs[1] = "no_such_models";
    p.paths.n_models_dirs = 2;
    p.paths.clip_vocab_dir = "tr_out";
    p.fp32_text_enc = true;
    sdf_runtime *rt = NULL;
    sdf_error e;
    REQUIRE(sdf_runtime_new(&p, &rt, &e) == SDF_OK);
    sdf_run_result res;
    REQUIRE(run_text(rt, ok_graph, &res) == SDF_OK);
    int64_t id = res.run_id;
    sdf_run_result_deinit(&res);
    cJSON *r = NULL;
    REQUIRE(sdf_runlog_export(sdf_runtime_runlog(rt), id, &r, &e) == SDF_OK);
    sdf_runtime_free(rt);
    /* absolute paths; a folder that does not exist is taken relative to the current one */
    char in_abs[4096], out_abs[4096], cwd[4096], missing[4200], want[20000];
    REQUIRE(realpath("tr_in", in_abs) && realpath("tr_out", out_abs) && getcwd(cwd, sizeof cwd));
    snprintf(missing, sizeof missing, "%s/no_such_models", cwd);
    snprintf(want, sizeof want, "{\"models_dirs\":[\"%s\",\"%s\"],\"input_dir\":\"%s\","
             "\"output_dir\":\"%s\",\"clip_vocab_dir\":\"%s\",\"fp32_text_enc\":true}",
             in_abs, missing, in_abs, out_abs, out_abs);
    CHECK_STR(s_of(r, "runtime_options"), want);

    /* a replay's runtime takes them, except what its own command line set (here: output) */
    sdf_runtime_params q;
    sdf_runtime_params_init(&q);
    q.paths.output_dir = "tr_replay";
    cJSON *keep = NULL;
    sdf_replay_runtime_options(r, SDF_KEEP_OUTPUT, &q, &keep);
    REQUIRE(keep);
    CHECK(q.paths.n_models_dirs == 2);
    CHECK_STR(q.paths.models_dirs[0], in_abs);
    CHECK_STR(q.paths.models_dirs[1], missing);
    CHECK_STR(q.paths.input_dir, in_abs);
    CHECK_STR(q.paths.output_dir, "tr_replay");
    CHECK(q.paths.clip_vocab_dir && !strcmp(q.paths.clip_vocab_dir, out_abs));
    CHECK(q.fp32_text_enc);
    cJSON_Delete(keep);
    /* nothing kept: the recorded output folder too; fp32 kept off when the caller set it */
    sdf_runtime_params_init(&q);
    sdf_replay_runtime_options(r, SDF_KEEP_FP32_TEXT_ENC | SDF_KEEP_CLIP_VOCAB, &q, &keep);
    CHECK_STR(q.paths.output_dir, out_abs);
    CHECK(!q.fp32_text_enc);
    CHECK(q.paths.clip_vocab_dir == NULL);
    cJSON_Delete(keep);
    /* a record without options (schema 1, or damaged JSON) changes nothing */
    cJSON_ReplaceItemInObject(r, "runtime_options", cJSON_CreateString("{not json"));
    sdf_runtime_params_init(&q);
    sdf_replay_runtime_options(r, 0, &q, &keep);
    CHECK(keep == NULL);
    CHECK_STR(q.paths.input_dir, "input");
    CHECK(q.paths.n_models_dirs == 1 && q.paths.clip_vocab_dir == NULL && !q.fp32_text_enc);
    cJSON_Delete(r);
}

static void test_migrate_v1(void) {
    /* a version-1 database: today's schema without runtime_options, with a run in it */
    fresh_db();
    write_file("tr_in/n.txt", "40\n");
    char *v1 = sdf_strdup(sdf_runlog_schema_sql);
    REQUIRE(v1);
    char *cut = strstr(v1, "diagnostics   TEXT,"); /* from its comma to the table's end */
    REQUIRE(cut);
    cut += strlen("diagnostics   TEXT");
    char *end = strstr(cut, "\n) STRICT;");
    REQUIRE(end);
    memmove(cut, end, strlen(end) + 1);
    exec_sql(v1);
    sdf_free(v1);
    exec_sql("PRAGMA user_version = 1; INSERT INTO runs (id, started_utc, status, api_json, "
             "api_sha256) VALUES (7, '2026-01-01T00:00:00.000Z', 'succeeded', '{}', '')");
    CHECK(row_count("SELECT count(*) FROM runs") == 1);
    CHECK(row_count("SELECT count(*) FROM pragma_table_info('runs') WHERE name = "
                    "'runtime_options'") == 0);
    int64_t id = 7;
    sdf_runtime *rt = NULL;
    sdf_run_result res;
    sdf_runlog *rl = NULL;
    sdf_error e;
    REQUIRE(sdf_runlog_open(DB, &rl, &e) == SDF_OK);
    CHECK(row_count("PRAGMA user_version") == 2);
    cJSON *r = NULL;
    REQUIRE(sdf_runlog_export(rl, id, &r, &e) == SDF_OK);
    CHECK_STR(s_of(r, "status"), "succeeded");
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(r, "runtime_options")));
    cJSON_Delete(r);
    sdf_runlog_close(rl);
    /* opening again is a no-op; new runs record their options */
    rt = new_rt();
    REQUIRE(rt);
    REQUIRE(run_text(rt, ok_graph, &res) == SDF_OK);
    REQUIRE(sdf_runlog_export(sdf_runtime_runlog(rt), res.run_id, &r, &e) == SDF_OK);
    CHECK(strstr(s_of(r, "runtime_options"), "\"fp32_text_enc\":false") != NULL);
    cJSON_Delete(r);
    sdf_run_result_deinit(&res);
    sdf_runtime_free(rt);
    CHECK(row_count("PRAGMA user_version") == 2);
}

static void test_unrun_rows(void) {
    fresh_db();
    sdf_runtime *rt = new_rt();
    REQUIRE(rt);
    sdf_error e;
    cJSON *r = NULL;
    /* validation leaves nothing to run: a failed row with the error and the diagnostics */
    const char *bad = "{\"1\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"7\", 0],"
                      " \"prefix\": \"x\"}}}";
    sdf_run_result res;
    CHECK(run_text(rt, bad, &res) == SDF_ERR_INVALID);
    CHECK(res.status == SDF_RUN_INVALID);
    int64_t id = res.run_id;
    CHECK(id > 0);
    sdf_run_result_deinit(&res);
    REQUIRE(sdf_runlog_export(sdf_runtime_runlog(rt), id, &r, &e) == SDF_OK);
    CHECK_STR(s_of(r, "status"), "failed");
    CHECKF(strstr(s_of(r, "error"), "the workflow is invalid (1 problem)") != NULL, "%s",
           s_of(r, "error"));
    CHECK_STR(s_of(r, "workflow_text"), bad);
    CHECK_STR(s_of(r, "note"), "a note");
    CHECK(strlen(s_of(r, "ended_utc")) == 24);
    cJSON *d = cJSON_Parse(s_of(r, "diagnostics"));
    const cJSON *ne = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "node_errors"), "1");
    char *errs = ne ? cJSON_PrintUnformatted(cJSON_GetObjectItem(ne, "errors")) : NULL;
    CHECKF(errs && strstr(errs, "\"7\"") != NULL, "%s", s_of(r, "diagnostics"));
    cJSON_free(errs);
    cJSON_Delete(d);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(r, "nodes")) == 0);
    cJSON_Delete(r);

    /* not JSON at all */
    const char *junk = "this is not { a workflow";
    CHECK(run_text(rt, junk, &res) != SDF_OK);
    CHECK(res.status == SDF_RUN_LOAD_ERROR);
    id = res.run_id;
    CHECK(id > 0);
    sdf_run_result_deinit(&res);
    REQUIRE(sdf_runlog_export(sdf_runtime_runlog(rt), id, &r, &e) == SDF_OK);
    CHECK_STR(s_of(r, "status"), "failed");
    CHECK_STR(s_of(r, "workflow_text"), junk);
    CHECK(strlen(s_of(r, "error")) > 0);
    d = cJSON_Parse(s_of(r, "diagnostics"));
    const cJSON *top = cJSON_GetObjectItem(d, "error");
    CHECK_STR(s_of(top, "type"), "load_error");
    CHECK_STR(s_of(top, "message"), s_of(r, "error"));
    cJSON_Delete(d);
    cJSON_Delete(r);

    /* a file that is not JSON is logged with its text; a missing file is not logged */
    write_file("tr_in/junk.json", "[1, 2");
    sdf_run_params p;
    sdf_run_params_init(&p);
    p.path = "tr_in/junk.json";
    CHECK(sdf_run_workflow(rt, &p, &res, &e) != SDF_OK);
    id = res.run_id;
    CHECK(id > 0);
    sdf_run_result_deinit(&res);
    REQUIRE(sdf_runlog_export(sdf_runtime_runlog(rt), id, &r, &e) == SDF_OK);
    CHECK_STR(s_of(r, "source_path"), "tr_in/junk.json");
    CHECK_STR(s_of(r, "workflow_text"), "[1, 2");
    CHECK_STR(s_of(r, "status"), "failed");
    cJSON_Delete(r);
    int64_t before = row_count("SELECT count(*) FROM runs");
    p.path = "tr_in/missing.json";
    CHECK(sdf_run_workflow(rt, &p, &res, &e) != SDF_OK);
    CHECK(res.run_id == 0);
    sdf_run_result_deinit(&res);
    /* validate-only never writes a row */
    p.path = NULL;
    p.text = bad;
    p.len = strlen(bad);
    p.validate_only = true;
    CHECK(sdf_run_workflow(rt, &p, &res, &e) == SDF_ERR_INVALID);
    CHECK(res.run_id == 0);
    sdf_run_result_deinit(&res);
    CHECK(row_count("SELECT count(*) FROM runs") == before);
    sdf_runtime_free(rt);
}

static int n_report;
static char last_report[2048];
static void report(void *user, const char *line) {
    (void)user;
    n_report++;
    snprintf(last_report, sizeof last_report, "%s", line);
    fprintf(stderr, "    verify: %s\n", line);
}

static void test_replay_verify(void) {
    fresh_db();
    write_file("tr_in/n.txt", "40\n");
    sdf_runtime *rt = new_rt();
    REQUIRE(rt);
    sdf_run_result res;
    REQUIRE(run_text(rt, ok_graph, &res) == SDF_OK);
    int64_t id = res.run_id;
    sdf_run_result_deinit(&res);
    sdf_runtime_free(rt);

    /* unchanged: passes (a new runtime: nothing cached) */
    rt = new_rt();
    REQUIRE(rt);
    sdf_replay_params rp = {.verify = true, .report = report};
    int n_diff = -1;
    sdf_error e;
    n_report = 0;
    CHECK(sdf_replay(rt, id, &rp, &res, &n_diff, &e) == SDF_OK);
    CHECK(n_diff == 0);
    CHECK(strstr(last_report, "OK: 1 input file unchanged, 1 output bit-identical") != NULL);
    int64_t replay_id = res.run_id;
    sdf_run_result_deinit(&res);
    cJSON *r = NULL;
    REQUIRE(sdf_runlog_export(sdf_runtime_runlog(rt), replay_id, &r, &e) == SDF_OK);
    CHECK(strstr(s_of(r, "tags"), "replay-of:") != NULL);
    cJSON_Delete(r);

    /* the input image changes: the input hash and the output are reported */
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    write_file("tr_in/n.txt", "41\n");
    n_report = 0;
    CHECK(sdf_replay(rt, id, &rp, &res, &n_diff, &e) == SDF_OK);
    CHECK(n_diff == 2);
    CHECK(n_report == 2);
    CHECKF(strstr(last_report, "output of node 4 differs") != NULL, "%s", last_report);
    sdf_run_result_deinit(&res);
    sdf_runtime_free(rt);
}

int main(void) {
    reg = fake_registry();
    RUN(test_success_rows);
    RUN(test_failure_rows);
    RUN(test_sigkill_marked_interrupted);
    RUN(test_schema);
    RUN(test_runtime_options);
    RUN(test_migrate_v1);
    RUN(test_unrun_rows);
    RUN(test_replay_verify);
    return test_summary();
}
