/* test_sched.c: execution order, parallel branches (overlap read from recorded timestamps),
 * failure isolation, cancellation, the memory cache (hit on a re-run, miss only downstream of a
 * changed input), the disk cache across runtimes, and --save-intermediates. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <sys/stat.h>

#include "../core/exec/sched.h"
#include "../core/io/safetensors.h"
#include "../core/io/workflow.h"
#include "../core/sdflow.h"
#include "fake_nodes.h"
#include "testing.h"

static sdf_registry reg;

/* ---- an event recorder -------------------------------------------------------------------- */

typedef struct rec {
    char executing[64][16];
    int  n_executing;
    char cached[64][16];
    int  n_cached;
    int  n_progress, n_error, n_interrupted, n_success, n_start;
} rec;

static void on_event(void *user, const sdf_event *ev) {
    rec *r = user;
    switch (ev->kind) {
    case SDF_EV_EXECUTING:
        if (r->n_executing < 64) snprintf(r->executing[r->n_executing++], 16, "%s", ev->node_id);
        break;
    case SDF_EV_EXECUTION_CACHED:
        for (int i = 0; i < ev->n_nodes && r->n_cached < 64; i++)
            snprintf(r->cached[r->n_cached++], 16, "%s", ev->nodes[i]);
        break;
    case SDF_EV_PROGRESS: r->n_progress++; break;
    case SDF_EV_EXECUTION_ERROR: r->n_error++; break;
    case SDF_EV_EXECUTION_INTERRUPTED: r->n_interrupted++; break;
    case SDF_EV_EXECUTION_SUCCESS: r->n_success++; break;
    case SDF_EV_EXECUTION_START: r->n_start++; break;
    default: break;
    }
}

/* "a,b,c" of the executing ids, in order. */
static void joined(char (*ids)[16], int n, char *out, size_t cap) {
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s%s", i ? "," : "", ids[i]);
    }
}

static sdf_runtime *new_rt(int threads, rec *r, const char *cache_dir) {
    sdf_runtime_params p;
    sdf_runtime_params_init(&p);
    p.registry = &reg;
    p.n_threads = threads;
    p.db_path = NULL;
    p.cache_dir = cache_dir;
    p.paths.output_dir = "ts_out";
    p.paths.input_dir = "ts_in";
    p.events.on_event = on_event;
    p.events.user = r;
    mkdir("ts_out", 0777);
    mkdir("ts_in", 0777);
    sdf_runtime *rt = NULL;
    sdf_error e;
    if (sdf_runtime_new(&p, &rt, &e)) fprintf(stderr, "runtime: %s\n", e.msg);
    return rt;
}

static sdf_status run_text(sdf_runtime *rt, const char *json, const char *const *ov, int n_ov,
                           sdf_run_result *res) {
    sdf_run_params p;
    sdf_run_params_init(&p);
    p.text = json;
    p.len = strlen(json);
    p.overrides = ov;
    p.n_overrides = n_ov;
    sdf_error e;
    sdf_error_clear(&e);
    return sdf_run_workflow(rt, &p, res, &e);
}

static long read_number(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -999;
    long v = -998;
    if (fscanf(f, "%ld", &v) != 1) v = -997;
    fclose(f);
    return v;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_topological_order(void) {
    rec r = {0};
    sdf_runtime *rt = new_rt(1, &r, NULL);
    REQUIRE(rt);
    const char *json =
        "{\"1\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"3\", 0], \"prefix\": \"order\"}},"
        " \"3\": {\"class_type\": \"Count\", \"inputs\": {\"x\": [\"5\", 0]}},"
        " \"5\": {\"class_type\": \"Add\", \"inputs\": {\"a\": [\"10\", 0], \"b\": [\"2\", 0]}},"
        " \"10\": {\"class_type\": \"Const\", \"inputs\": {\"value\": 4}},"
        " \"2\": {\"class_type\": \"Constant\", \"inputs\": {\"value\": 5}},"
        " \"99\": {\"class_type\": \"Const\", \"inputs\": {\"value\": 1}}}";
    sdf_run_result res;
    CHECK(run_text(rt, json, NULL, 0, &res) == SDF_OK);
    char got[256];
    joined(r.executing, r.n_executing, got, sizeof got);
    CHECK_STR(got, "10,2,5,3,1"); /* sources first, ties by file position; 99 is not needed */
    CHECK(res.n_executed == 5 && res.n_outputs == 1);
    CHECK(read_number("ts_out/order_1.txt") == 10);
    CHECK(r.n_start == 1 && r.n_success == 1);
    sdf_run_result_deinit(&res);
    sdf_runtime_free(rt);
}

/* Runs a graph with the scheduler directly, returning per-node results. */
typedef struct direct {
    sdf_graph       *g;
    sdf_node_result  res[16];
    sdf_status       st;
    sdf_error        err;
} direct;

static bool no_cancel(void *u) { (void)u; return false; }

static void run_direct(const char *json, int workers, direct *d) {
    cJSON *root = NULL;
    sdf_error e;
    memset(d, 0, sizeof *d);
    d->st = SDF_ERR_INTERNAL;
    if (sdf_json_parse(json, strlen(json), "t", &root, &e)) return;
    if (sdf_graph_build(root, &reg, &d->g, &e)) return;
    sdf_diags dg;
    sdf_diags_init(&dg);
    sdf_graph_validate(d->g, NULL, &dg, &e);
    int nerr = dg.n_errors;
    sdf_diags_deinit(&dg);
    if (nerr) return;
    int *order = NULL, n = 0;
    if (sdf_graph_plan(d->g, &order, &n, &e)) return;
    sdf_call_host host = {.cancelled = no_cancel};
    sdf_sched_params sp = {.g = d->g, .order = order, .n_order = n, .host = &host,
                           .n_workers = workers, .results = d->res};
    sdf_error_clear(&d->err);
    d->st = sdf_sched_run(&sp, &d->err);
    sdf_free(order);
}

static const sdf_node_result *res_of(direct *d, const char *id) {
    int i = sdf_graph_find(d->g, id);
    return i >= 0 ? &d->res[i] : NULL;
}

static const char *two_branches =
    "{\"1\": {\"class_type\": \"Sleep\", \"inputs\": {\"ms\": 150}},"
    " \"2\": {\"class_type\": \"Sleep\", \"inputs\": {\"ms\": 150}},"
    " \"3\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"1\", 0], \"prefix\": \"a\"}},"
    " \"4\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"2\", 0], \"prefix\": \"b\"}}}";

static void test_branches_overlap(void) {
    direct d;
    run_direct(two_branches, 2, &d);
    REQUIRE(d.g);
    CHECK(d.st == SDF_OK);
    const sdf_node_result *a = res_of(&d, "1"), *b = res_of(&d, "2");
    REQUIRE(a && b);
    CHECK(a->state == SDF_NODE_EXECUTED && b->state == SDF_NODE_EXECUTED);
    fprintf(stderr, "    2 workers: A [%.1f, %.1f] on %d, B [%.1f, %.1f] on %d\n", a->start_ms,
            a->end_ms, a->worker, b->start_ms, b->end_ms, b->worker);
    CHECK(a->start_ms < b->end_ms && b->start_ms < a->end_ms); /* the intervals intersect */
    CHECK(a->worker != b->worker);
    sdf_graph_free(d.g);

    run_direct(two_branches, 1, &d);
    REQUIRE(d.g);
    a = res_of(&d, "1");
    b = res_of(&d, "2");
    fprintf(stderr, "    1 worker:  A [%.1f, %.1f], B [%.1f, %.1f]\n", a->start_ms, a->end_ms,
            b->start_ms, b->end_ms);
    CHECK(a->end_ms <= b->start_ms || b->end_ms <= a->start_ms); /* one after the other */
    sdf_graph_free(d.g);
}

static void test_failure_isolation(void) {
    const char *json =
        "{\"1\": {\"class_type\": \"Const\", \"inputs\": {\"value\": 1}},"
        " \"2\": {\"class_type\": \"Fail\", \"inputs\": {\"x\": [\"1\", 0]}},"
        " \"3\": {\"class_type\": \"Count\", \"inputs\": {\"x\": [\"2\", 0]}},"
        " \"4\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"3\", 0], \"prefix\": \"fa\"}},"
        " \"5\": {\"class_type\": \"Count\", \"inputs\": {\"x\": [\"1\", 0]}},"
        " \"6\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"5\", 0], \"prefix\": \"fb\"}}}";
    remove("ts_out/fa_4.txt");
    remove("ts_out/fb_6.txt");
    rec r = {0};
    sdf_runtime *rt = new_rt(2, &r, NULL);
    REQUIRE(rt);
    sdf_run_result res;
    sdf_status st = run_text(rt, json, NULL, 0, &res);
    CHECK(st == SDF_ERR_INVALID); /* the Fail node's status */
    CHECK(res.status == SDF_RUN_FAILED);
    CHECK_STR(res.error.node_id, "2");
    CHECK_STR(res.error.class_type, "Fail");
    CHECK(res.n_failed == 1 && res.n_skipped == 2 && res.n_executed == 3);
    CHECK(read_number("ts_out/fb_6.txt") == 2); /* the independent branch finished */
    CHECK(read_number("ts_out/fa_4.txt") == -999);
    CHECK(r.n_error == 1);
    CHECK(sdf_run_exit_code(&res) == 1);
    sdf_run_result_deinit(&res);
    sdf_runtime_free(rt);

    direct d;
    run_direct(json, 2, &d);
    REQUIRE(d.g);
    CHECK(res_of(&d, "2")->state == SDF_NODE_FAILED);
    CHECK(res_of(&d, "3")->state == SDF_NODE_SKIPPED && res_of(&d, "4")->state == SDF_NODE_SKIPPED);
    CHECK(strstr(res_of(&d, "3")->err.msg, "\"2\"") != NULL);
    CHECK(res_of(&d, "6")->state == SDF_NODE_EXECUTED);
    sdf_graph_free(d.g);
}

static const char *cache_graph =
    "{\"1\": {\"class_type\": \"Const\", \"inputs\": {\"value\": 3}},"
    " \"2\": {\"class_type\": \"Count\", \"inputs\": {\"x\": [\"1\", 0]}},"
    " \"5\": {\"class_type\": \"Const\", \"inputs\": {\"value\": 7}},"
    " \"6\": {\"class_type\": \"Count\", \"inputs\": {\"x\": [\"5\", 0]}},"
    " \"4\": {\"class_type\": \"Add\", \"inputs\": {\"a\": [\"2\", 0], \"b\": [\"6\", 0]}},"
    " \"7\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"4\", 0], \"prefix\": \"c\"}}}";

static void test_cache(void) {
    rec r = {0};
    sdf_runtime *rt = new_rt(2, &r, NULL);
    REQUIRE(rt);
    sdf_run_result res;
    int counts0 = atomic_load(&fake_count_runs);
    CHECK(run_text(rt, cache_graph, NULL, 0, &res) == SDF_OK);
    CHECK(res.n_executed == 6 && res.n_cached == 0);
    CHECK(read_number("ts_out/c_7.txt") == 12);
    sdf_run_result_deinit(&res);
    CHECK(atomic_load(&fake_count_runs) == counts0 + 2);

    /* identical re-run: only the output node executes, fed from the cache */
    memset(&r, 0, sizeof r);
    remove("ts_out/c_7.txt");
    CHECK(run_text(rt, cache_graph, NULL, 0, &res) == SDF_OK);
    char got[256];
    joined(r.executing, r.n_executing, got, sizeof got);
    CHECK_STR(got, "7");
    joined(r.cached, r.n_cached, got, sizeof got);
    CHECK_STR(got, "4");
    CHECK(read_number("ts_out/c_7.txt") == 12); /* the output file is written again */
    CHECK(atomic_load(&fake_count_runs) == counts0 + 2);
    sdf_run_result_deinit(&res);

    /* change one input: only its downstream cone re-runs; node 2 comes from the cache */
    memset(&r, 0, sizeof r);
    const char *ov[] = {"5.value=9"};
    CHECK(run_text(rt, cache_graph, ov, 1, &res) == SDF_OK);
    joined(r.executing, r.n_executing, got, sizeof got);
    CHECK_STR(got, "5,6,4,7");
    joined(r.cached, r.n_cached, got, sizeof got);
    CHECK_STR(got, "2");
    CHECK(read_number("ts_out/c_7.txt") == 14);
    CHECK(atomic_load(&fake_count_runs) == counts0 + 3);
    sdf_run_result_deinit(&res);

    /* renumbering nodes and editing _meta changes no key: everything but the output is cached */
    memset(&r, 0, sizeof r);
    const char *renumbered =
        "{\"11\": {\"class_type\": \"Const\", \"inputs\": {\"value\": 3}, \"_meta\": {\"title\": \"x\"}},"
        " \"12\": {\"class_type\": \"Count\", \"inputs\": {\"x\": [\"11\", 0]}},"
        " \"15\": {\"class_type\": \"Const\", \"inputs\": {\"value\": 7}},"
        " \"16\": {\"class_type\": \"Count\", \"inputs\": {\"x\": [\"15\", 0]}},"
        " \"14\": {\"class_type\": \"Add\", \"inputs\": {\"a\": [\"12\", 0], \"b\": [\"16\", 0]}},"
        " \"17\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"14\", 0], \"prefix\": \"c\"}}}";
    CHECK(run_text(rt, renumbered, NULL, 0, &res) == SDF_OK);
    joined(r.executing, r.n_executing, got, sizeof got);
    CHECK_STR(got, "17");
    sdf_run_result_deinit(&res);
    sdf_runtime_free(rt);
}

static void *cancel_later(void *rt) {
    struct timespec ts = {0, 120 * 1000000L};
    nanosleep(&ts, NULL);
    sdf_runtime_cancel(rt);
    return NULL;
}

static void test_cancel(void) {
    rec r = {0};
    sdf_runtime *rt = new_rt(2, &r, NULL);
    REQUIRE(rt);
    const char *json =
        "{\"1\": {\"class_type\": \"Sleep\", \"inputs\": {\"ms\": 3000}},"
        " \"2\": {\"class_type\": \"Count\", \"inputs\": {\"x\": [\"1\", 0]}},"
        " \"3\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"2\", 0], \"prefix\": \"k\"}}}";
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, rt);
    sdf_run_result res;
    sdf_status st = run_text(rt, json, NULL, 0, &res);
    pthread_join(th, NULL);
    CHECK(st == SDF_ERR_CANCELLED);
    CHECK(res.status == SDF_RUN_INTERRUPTED);
    CHECK(sdf_run_exit_code(&res) == 130);
    CHECKF(res.seconds < 2.0, "took %.2f s", res.seconds);
    CHECK(r.n_interrupted == 1 && r.n_progress > 0);
    sdf_run_result_deinit(&res);
    /* a cancelled runtime starts nothing more */
    CHECK(run_text(rt, json, NULL, 0, &res) == SDF_ERR_CANCELLED);
    sdf_run_result_deinit(&res);
    sdf_runtime_free(rt);
}

static void test_disk_cache_and_intermediates(void) {
    const char *json =
        "{\"1\": {\"class_type\": \"EmptyLat\", \"inputs\": {\"width\": 48}},"
        " \"2\": {\"class_type\": \"LatWidth\", \"inputs\": {\"samples\": [\"1\", 0]}},"
        " \"3\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"2\", 0], \"prefix\": \"d\"}}}";
    system("rm -rf ts_cache ts_inter");
    rec r = {0};
    sdf_runtime *rt = new_rt(1, &r, "ts_cache");
    REQUIRE(rt);
    sdf_run_params p;
    sdf_run_params_init(&p);
    p.text = json;
    p.len = strlen(json);
    p.intermediates_dir = "ts_inter";
    sdf_run_result res;
    sdf_error e;
    CHECK(sdf_run_workflow(rt, &p, &res, &e) == SDF_OK);
    CHECK(read_number("ts_out/d_3.txt") == 6);
    sdf_run_result_deinit(&res);
    sdf_runtime_free(rt);

    sdf_st_file *f = NULL;
    REQUIRE(sdf_st_open("ts_inter/1.0.safetensors", &f, &e) == SDF_OK);
    const sdf_st_entry *s = sdf_st_find(f, "samples");
    CHECK(s && s->ndim == 4 && s->shape[1] == 4 && s->shape[3] == 6);
    sdf_st_close(f);

    /* a new runtime (empty memory cache) finds node 1 on disk */
    memset(&r, 0, sizeof r);
    rt = new_rt(1, &r, "ts_cache");
    REQUIRE(rt);
    remove("ts_out/d_3.txt");
    CHECK(run_text(rt, json, NULL, 0, &res) == SDF_OK);
    char got[256];
    joined(r.executing, r.n_executing, got, sizeof got);
    CHECK_STR(got, "2,3");
    joined(r.cached, r.n_cached, got, sizeof got);
    CHECK_STR(got, "1");
    CHECK(read_number("ts_out/d_3.txt") == 6);
    sdf_run_result_deinit(&res);
    sdf_runtime_free(rt);
}

int main(void) {
    reg = fake_registry();
    RUN(test_topological_order);
    RUN(test_branches_overlap);
    RUN(test_failure_isolation);
    RUN(test_cache);
    RUN(test_cancel);
    RUN(test_disk_cache_and_intermediates);
    return test_summary();
}
