/* test_workflow_parse.c: exact integers, ComfyUI coercion, line/column errors, and hostile JSON
 * (every truncation and seeded byte flips of a real workflow) never crashing. */
#include <cjson/cJSON.h>

#include "../core/graph/coerce.h"
#include "../core/graph/graph.h"
#include "../core/io/workflow.h"
#include "fake_nodes.h"
#include "testing.h"

static cJSON *parse(const char *text) {
    cJSON *r = NULL;
    sdf_error e;
    sdf_error_clear(&e);
    if (sdf_json_parse(text, strlen(text), "t.json", &r, &e)) return NULL;
    return r;
}

static void test_exact_integers(void) {
    cJSON *r = parse("{\"max\": 18446744073709551615, \"min\": -9223372036854775808,"
                     " \"odd\": 9007199254740993, \"f\": 1.5, \"e\": 1e3,"
                     " \"s\": \"12 -3 4e5\", \"arr\": [1, \"x\", {\"seed\": 280823642470253}],"
                     " \"big\": 18446744073709551616, \"i64\": 9223372036854775807,"
                     " \"u\": 9223372036854775808}");
    REQUIRE(r);
    int64_t i;
    bool u;
    CHECK(sdf_json_number_int(cJSON_GetObjectItem(r, "max"), &i, &u) == SDF_JNUM_INT);
    CHECK(u && (uint64_t)i == UINT64_MAX);
    CHECK(sdf_json_number_int(cJSON_GetObjectItem(r, "min"), &i, &u) == SDF_JNUM_INT);
    CHECK(!u && i == INT64_MIN);
    CHECK(sdf_json_number_int(cJSON_GetObjectItem(r, "odd"), &i, &u) == SDF_JNUM_INT);
    CHECK(!u && i == 9007199254740993LL); /* a double would give ...992 */
    CHECK(sdf_json_number_int(cJSON_GetObjectItem(r, "f"), &i, &u) == SDF_JNUM_FLOAT);
    CHECK(sdf_json_number_int(cJSON_GetObjectItem(r, "e"), &i, &u) == SDF_JNUM_FLOAT);
    const cJSON *seed = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "arr"), 2),
                                            "seed");
    CHECK(sdf_json_number_int(seed, &i, &u) == SDF_JNUM_INT && i == 280823642470253LL);
    CHECK(sdf_json_number_int(cJSON_GetObjectItem(r, "big"), &i, &u) == SDF_JNUM_INT_RANGE);
    CHECK(sdf_json_number_int(cJSON_GetObjectItem(r, "i64"), &i, &u) == SDF_JNUM_INT);
    CHECK(!u && i == INT64_MAX);
    CHECK(sdf_json_number_int(cJSON_GetObjectItem(r, "u"), &i, &u) == SDF_JNUM_INT);
    CHECK(u && (uint64_t)i == 9223372036854775808ULL);
    cJSON_Delete(r);

    /* printing an exact integer item keeps every digit */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "seed", sdf_json_int_item((int64_t)UINT64_MAX, true));
    cJSON_AddItemToObject(o, "small", sdf_json_int_item(-42, false));
    cJSON_AddItemToObject(o, "odd", sdf_json_int_item(9007199254740993LL, false));
    char *p = cJSON_PrintUnformatted(o);
    CHECK_STR(p, "{\"seed\":18446744073709551615,\"small\":-42,\"odd\":9007199254740993}");
    cJSON_free(p);
    cJSON_Delete(o);
}

static void test_int_text(void) {
    int64_t i;
    bool u, oor;
    CHECK(sdf_parse_int_text(" -12 ", &i, &u, &oor) && i == -12);
    CHECK(sdf_parse_int_text("1_000", &i, &u, &oor) && i == 1000);
    CHECK(sdf_parse_int_text("+5", &i, &u, &oor) && i == 5);
    CHECK(!sdf_parse_int_text("1__0", &i, &u, &oor));
    CHECK(!sdf_parse_int_text("_1", &i, &u, &oor));
    CHECK(!sdf_parse_int_text("", &i, &u, &oor));
    CHECK(!sdf_parse_int_text("12a", &i, &u, &oor) && !oor);
    CHECK(!sdf_parse_int_text("18446744073709551616", &i, &u, &oor) && oor);
    CHECK(!sdf_parse_int_text("-9223372036854775809", &i, &u, &oor) && oor);
}

static sdf_coerce_result co(sdf_vtype t, const char *json, sdf_value **v) {
    sdf_input_def d = {.name = "x", .type = t};
    cJSON *r = parse(json);
    char msg[512];
    sdf_coerce_result res = sdf_coerce_literal(&d, r, v, msg, sizeof msg);
    cJSON_Delete(r);
    return res;
}

static void test_coercion(void) {
    sdf_value *v = NULL;
    CHECK(co(SDF_VT_INT, "\"20\"", &v) == SDF_COERCE_WARN && v->u.integer.i == 20);
    sdf_value_release(v);
    CHECK(co(SDF_VT_INT, "8.7", &v) == SDF_COERCE_WARN && v->u.integer.i == 8); /* int() truncates */
    sdf_value_release(v);
    CHECK(co(SDF_VT_INT, "-8.7", &v) == SDF_COERCE_WARN && v->u.integer.i == -8);
    sdf_value_release(v);
    CHECK(co(SDF_VT_INT, "8.0", &v) == SDF_COERCE_OK && v->u.integer.i == 8);
    sdf_value_release(v);
    CHECK(co(SDF_VT_INT, "1e3", &v) == SDF_COERCE_OK && v->u.integer.i == 1000);
    sdf_value_release(v);
    CHECK(co(SDF_VT_INT, "\"forty\"", &v) == SDF_COERCE_ERROR && !v);
    CHECK(co(SDF_VT_INT, "null", &v) == SDF_COERCE_ERROR && !v);
    CHECK(co(SDF_VT_INT, "true", &v) == SDF_COERCE_WARN && v->u.integer.i == 1);
    sdf_value_release(v);
    CHECK(co(SDF_VT_INT, "18446744073709551615", &v) == SDF_COERCE_OK && v->u.integer.is_u64);
    sdf_value_release(v);
    CHECK(co(SDF_VT_INT, "18446744073709551616", &v) == SDF_COERCE_RANGE && !v);
    CHECK(co(SDF_VT_FLOAT, "\" 1.5 \"", &v) == SDF_COERCE_WARN && v->u.f == 1.5);
    sdf_value_release(v);
    CHECK(co(SDF_VT_FLOAT, "7", &v) == SDF_COERCE_OK && v->u.f == 7.0);
    sdf_value_release(v);
    CHECK(co(SDF_VT_FLOAT, "\"abc\"", &v) == SDF_COERCE_ERROR);
    CHECK(co(SDF_VT_BOOLEAN, "\"false\"", &v) == SDF_COERCE_WARN && v->u.b); /* bool("false") */
    sdf_value_release(v);
    CHECK(co(SDF_VT_BOOLEAN, "0", &v) == SDF_COERCE_WARN && !v->u.b);
    sdf_value_release(v);
    CHECK(co(SDF_VT_BOOLEAN, "\"\"", &v) == SDF_COERCE_WARN && !v->u.b);
    sdf_value_release(v);
    CHECK(co(SDF_VT_BOOLEAN, "false", &v) == SDF_COERCE_OK && !v->u.b);
    sdf_value_release(v);
    CHECK(co(SDF_VT_STRING, "8.0", &v) == SDF_COERCE_WARN && !strcmp(v->u.s, "8.0"));
    sdf_value_release(v);
    CHECK(co(SDF_VT_STRING, "8", &v) == SDF_COERCE_WARN && !strcmp(v->u.s, "8"));
    sdf_value_release(v);
    CHECK(co(SDF_VT_STRING, "true", &v) == SDF_COERCE_WARN && !strcmp(v->u.s, "True"));
    sdf_value_release(v);
    CHECK(co(SDF_VT_STRING, "0.1", &v) == SDF_COERCE_WARN && !strcmp(v->u.s, "0.1"));
    sdf_value_release(v);
    char r[40];
    sdf_py_float_repr(100.0, r, sizeof r);
    CHECK_STR(r, "100.0");
    sdf_py_float_repr(0.1, r, sizeof r);
    CHECK_STR(r, "0.1");
    sdf_py_float_repr(1e16, r, sizeof r);
    CHECK_STR(r, "1e+16");
    sdf_py_float_repr(1.5e-5, r, sizeof r);
    CHECK_STR(r, "1.5e-05");
    sdf_py_float_repr(123456.789, r, sizeof r);
    CHECK_STR(r, "123456.789");
    sdf_py_float_repr(-0.0001, r, sizeof r);
    CHECK_STR(r, "-0.0001");
    CHECK(co(SDF_VT_COMBO, "3", &v) == SDF_COERCE_NOT_IN_LIST && !v);
    CHECK(co(SDF_VT_LATENT, "3", &v) == SDF_COERCE_NEEDS_LINK && !v);
}

static void test_line_col(void) {
    sdf_error e;
    cJSON *r = NULL;
    const char *bad = "{\n  \"a\": 1,\n  \"b\": ]\n}";
    CHECK(sdf_json_parse(bad, strlen(bad), "bad.json", &r, &e) == SDF_ERR_PARSE);
    CHECKF(strstr(e.msg, "line 3, column 8") != NULL, "%s", e.msg);
    CHECK_STR(e.path, "bad.json");
    const char *trunc = "{\n  \"a\": {\"class_type\": \"X\"";
    CHECK(sdf_json_parse(trunc, strlen(trunc), "t.json", &r, &e) == SDF_ERR_PARSE);
    CHECKF(strstr(e.msg, "line 2") && strstr(e.msg, "end of JSON"), "%s", e.msg);
    const char *trail = "{\"a\": 1}\n\n  x";
    CHECK(sdf_json_parse(trail, strlen(trail), "t.json", &r, &e) == SDF_ERR_PARSE);
    CHECKF(strstr(e.msg, "line 3, column 3") != NULL, "%s", e.msg);
    const char nul[] = "{\"a\": 1}\0{}";
    CHECK(sdf_json_parse(nul, sizeof nul - 1, "t.json", &r, &e) == SDF_ERR_PARSE);
    CHECK(sdf_json_parse("", 0, "t.json", &r, &e) == SDF_ERR_PARSE);
}

static const char *sample =
    "{\"1\": {\"class_type\": \"Const\", \"inputs\": {\"value\": 5}},\n"
    " \"2\": {\"class_type\": \"Const\", \"inputs\": {\"value\": \"7\"}, \"_meta\": {\"title\": \"é\"}},\n"
    " \"3\": {\"class_type\": \"Add\", \"inputs\": {\"a\": [\"1\", 0], \"b\": [\"2\", 0]}},\n"
    " \"4\": {\"class_type\": \"Sampler\", \"inputs\": {\"seed\": 18446744073709551615, \"cfg\": 8,"
    " \"sampler_name\": \"euler\", \"steps\": 20.0, \"model\": [\"9\", 0], \"latent_image\": [\"5\", 0],"
    " \"denoise\": {\"__value__\": 1}, \"add_noise\": true, \"text\": \"a, b\", \"offset\": -3}},\n"
    " \"5\": {\"class_type\": \"EmptyLat\", \"inputs\": {\"width\": 512}},\n"
    " \"6\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"3\", 0], \"prefix\": \"n\"}}}\n";

/* Parse + build + validate must return a status for any input, never crash or leak. */
static void survive(const char *text, size_t len, const sdf_registry *reg) {
    cJSON *r = NULL;
    sdf_error e;
    sdf_error_clear(&e);
    if (sdf_json_parse(text, len, "fuzz.json", &r, &e)) return;
    sdf_graph *g = NULL;
    if (sdf_graph_build(r, reg, &g, &e)) return;
    sdf_diags d;
    sdf_diags_init(&d);
    sdf_graph_validate(g, NULL, &d, &e);
    int *order = NULL, n = 0;
    if (sdf_graph_plan(g, &order, &n, &e) == SDF_OK) sdf_free(order);
    cJSON *j = sdf_diags_to_json(&d, g);
    cJSON_Delete(j);
    cJSON *c = sdf_graph_canonical(g);
    cJSON_Delete(c);
    sdf_diags_deinit(&d);
    sdf_graph_free(g);
}

static void test_truncated_and_corrupted(void) {
    sdf_registry reg = fake_registry();
    size_t n = strlen(sample);
    char *buf = sdf_malloc(n + 1);
    REQUIRE(buf);
    int parsed = 0;
    for (size_t k = 0; k <= n; k++) {
        memcpy(buf, sample, k);
        buf[k] = 0;
        cJSON *r = NULL;
        sdf_error e;
        if (sdf_json_parse(buf, k, "t.json", &r, &e) == SDF_OK) {
            parsed++;
            cJSON_Delete(r);
        } else {
            CHECK(e.code == SDF_ERR_PARSE && strstr(e.msg, "line "));
        }
        survive(buf, k, &reg);
    }
    CHECK(parsed <= 2); /* only the whole text (and it plus nothing) is valid */
    uint32_t seed = 12345;
    for (int t = 0; t < 3000; t++) {
        memcpy(buf, sample, n + 1);
        for (int f = 0; f < 1 + t % 3; f++) {
            seed = seed * 1664525u + 1013904223u;
            size_t pos = (seed >> 8) % n;
            seed = seed * 1664525u + 1013904223u;
            static const char pick[] = "{}[]\",:0123456789-.eE \\\x01\xff";
            buf[pos] = (t & 1) ? pick[(seed >> 16) % (sizeof pick - 1)] : (char)(seed >> 16);
        }
        survive(buf, n, &reg);
    }
    sdf_free(buf);
}

static void test_sample_validates_and_canonicalises(void) {
    sdf_registry reg = fake_registry();
    cJSON *r = parse(sample);
    REQUIRE(r);
    sdf_graph *g = NULL;
    sdf_error e;
    REQUIRE(sdf_graph_build(r, &reg, &g, &e) == SDF_OK);
    sdf_diags d;
    sdf_diags_init(&d);
    REQUIRE(sdf_graph_validate(g, NULL, &d, &e) == SDF_OK);
    /* node 4 needs node 9 (missing) but only node 6 is an output: node 4's error is a warning */
    for (int i = 0; i < d.n; i++) {
        char line[2048];
        sdf_diag_format(&d.v[i], line, sizeof line);
        fprintf(stderr, "    diag: %s\n", line);
    }
    CHECK(d.n_errors == 0);
    int dropped = 0;
    CHECK(sdf_graph_count_targets(g, &dropped) == 1 && dropped == 0);
    const sdf_graph_node *n4 = &g->nodes[sdf_graph_find(g, "4")];
    REQUIRE(n4->literal[1]);
    CHECK(n4->literal[1]->u.integer.is_u64 && (uint64_t)n4->literal[1]->u.integer.i == UINT64_MAX);
    CHECK(n4->literal[2]->u.integer.i == 20);       /* steps 20.0 -> 20 */
    CHECK(n4->literal[3]->u.f == 8.0);              /* cfg 8 -> 8.0 */
    CHECK(n4->literal[6]->u.f == 1.0);              /* __value__ unwrapped */
    cJSON *c = sdf_graph_canonical(g);
    char *p = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "4"));
    CHECKF(strstr(p, "\"seed\":18446744073709551615") && strstr(p, "\"steps\":20,") &&
               strstr(p, "\"model\":[\"9\",0]"), "%s", p);
    cJSON_free(p);
    p = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "2"));
    CHECKF(strstr(p, "\"value\":7") && strstr(p, "\"_meta\""), "%s", p);
    cJSON_free(p);
    cJSON_Delete(c);
    int *order = NULL, n = 0;
    REQUIRE(sdf_graph_plan(g, &order, &n, &e) == SDF_OK);
    CHECK(n == 4);
    if (n == 4) CHECK(order[0] == 0 && order[1] == 1 && order[2] == 2 && order[3] == 5);
    sdf_free(order);
    sdf_diags_deinit(&d);
    sdf_graph_free(g);
}

int main(void) {
    RUN(test_exact_integers);
    RUN(test_int_text);
    RUN(test_coercion);
    RUN(test_line_col);
    RUN(test_truncated_and_corrupted);
    RUN(test_sample_validates_and_canonicalises);
    return test_summary();
}
