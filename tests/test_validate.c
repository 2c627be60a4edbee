/* test_validate.c: more than 25 invalid workflows, each checked for the problem's type and for a
 * message naming the node and the input; every problem reported at once; ComfyUI's node_errors
 * JSON; dropped outputs. */
#include <cjson/cJSON.h>
#include <sys/stat.h>

#include "../core/graph/graph.h"
#include "../core/io/workflow.h"
#include "fake_nodes.h"
#include "testing.h"

static sdf_registry reg;

typedef struct checked {
    sdf_graph *g;
    sdf_diags  d;
} checked;

static bool check_text(const char *json, const sdf_validate_opts *o, checked *c) {
    cJSON *r = NULL;
    sdf_error e;
    sdf_diags_init(&c->d);
    c->g = NULL;
    if (sdf_json_parse(json, strlen(json), "case.json", &r, &e)) {
        fprintf(stderr, "  parse: %s\n", e.msg);
        return false;
    }
    if (sdf_graph_build(r, &reg, &c->g, &e)) return false;
    return sdf_graph_validate(c->g, o, &c->d, &e) == SDF_OK;
}

static void done(checked *c) {
    sdf_diags_deinit(&c->d);
    sdf_graph_free(c->g);
}

/* The base graph: loader -> sampler <- empty latent; sampler -> save. */
static char *wf(const char *sampler_inputs) {
    static char buf[8192];
    snprintf(buf, sizeof buf,
             "{\"1\": {\"class_type\": \"ModelLoader\", \"inputs\": {\"ckpt_name\": \"m.safetensors\"}},"
             " \"2\": {\"class_type\": \"EmptyLat\", \"inputs\": {\"width\": 512}},"
             " \"3\": {\"class_type\": \"Sampler\", \"inputs\": {%s}},"
             " \"4\": {\"class_type\": \"Save\", \"inputs\": {\"samples\": [\"3\", 0]}}}",
             sampler_inputs);
    return buf;
}

#define GOOD_INPUTS \
    "\"model\": [\"1\", 0], \"seed\": 5, \"steps\": 20, \"cfg\": 7.5, \"sampler_name\": \"euler\"," \
    " \"latent_image\": [\"2\", 0], \"denoise\": 1.0, \"add_noise\": true, \"text\": \"x\", \"offset\": 0"

/* Finds the error of `type` on node/input; checks its sentence names both. */
static void expect(const char *label, const char *json, const char *node, const char *input,
                   const char *type, const char *also) {
    checked c;
    if (!check_text(json, NULL, &c)) {
        CHECKF(0, "%s: could not validate", label);
        done(&c);
        return;
    }
    bool found = false;
    for (int i = 0; i < c.d.n; i++) {
        const sdf_diag *x = &c.d.v[i];
        if (x->level != SDF_DIAG_ERROR || strcmp(x->type, type) || strcmp(x->node_id, node) ||
            strcmp(x->input, input))
            continue;
        found = true;
        char line[4096], want[200];
        sdf_diag_format(x, line, sizeof line);
        fprintf(stderr, "    %-22s %s\n", label, line);
        if (node[0]) {
            snprintf(want, sizeof want, "node \"%s\"", node);
            CHECKF(strstr(line, want) != NULL, "%s: '%s' lacks %s", label, line, want);
        }
        if (input[0]) {
            snprintf(want, sizeof want, "input '%s'", input);
            CHECKF(strstr(line, want) != NULL, "%s: '%s' lacks %s", label, line, want);
        }
        if (also) CHECKF(strstr(line, also) != NULL, "%s: '%s' lacks '%s'", label, line, also);
    }
    if (!found) {
        for (int i = 0; i < c.d.n; i++)
            fprintf(stderr, "    got %s %s '%s' %s\n", c.d.v[i].type, c.d.v[i].node_id,
                    c.d.v[i].input, c.d.v[i].text);
    }
    CHECKF(found, "%s: no %s error on node %s input '%s'", label, type, node, input);
    done(&c);
}

static int n_cases;
#define CASE(label, json, node, input, type, also) \
    do {                                           \
        n_cases++;                                 \
        expect(label, json, node, input, type, also); \
    } while (0)

static void test_invalid_workflows(void) {
    CASE("missing widget", wf("\"model\": [\"1\", 0], \"seed\": 5, \"cfg\": 7.5, \"sampler_name\": \"euler\","
                              " \"latent_image\": [\"2\", 0], \"denoise\": 1.0, \"add_noise\": true,"
                              " \"text\": \"x\", \"offset\": 0"),
         "3", "steps", "required_input_missing", "expected INT");
    CASE("missing link", wf("\"seed\": 5, \"steps\": 20, \"cfg\": 7.5, \"sampler_name\": \"euler\","
                            " \"latent_image\": [\"2\", 0], \"denoise\": 1.0, \"add_noise\": true,"
                            " \"text\": \"x\", \"offset\": 0"),
         "3", "model", "required_input_missing", "MODEL");
    CASE("link to missing node", wf(GOOD_INPUTS ", \"latent_image\": [\"99\", 0]"), "3",
         "latent_image", "bad_linked_input", "\"99\"");
    CASE("output index", wf(GOOD_INPUTS ", \"latent_image\": [\"2\", 1]"), "3", "latent_image",
         "bad_linked_input", "has 1 output");
    CASE("negative index", wf(GOOD_INPUTS ", \"latent_image\": [\"2\", -1]"), "3", "latent_image",
         "bad_linked_input", NULL);
    CASE("type mismatch", wf(GOOD_INPUTS ", \"latent_image\": [\"1\", 0]"), "3", "latent_image",
         "return_type_mismatch", "expected a LATENT");
    CASE("type mismatch 2", wf(GOOD_INPUTS ", \"model\": [\"1\", 1]"), "3", "model",
         "return_type_mismatch", "is CLIP");
    CASE("int from text", wf(GOOD_INPUTS ", \"steps\": \"forty\""), "3", "steps",
         "invalid_input_type", "forty");
    CASE("int from null", wf(GOOD_INPUTS ", \"steps\": null"), "3", "steps", "invalid_input_type",
         "null");
    CASE("int from object", wf(GOOD_INPUTS ", \"steps\": {\"a\": 1}"), "3", "steps",
         "invalid_input_type", NULL);
    CASE("int from inf", wf(GOOD_INPUTS ", \"steps\": 1e400"), "3", "steps",
         "invalid_input_type", NULL);
    CASE("below min", wf(GOOD_INPUTS ", \"steps\": 0"), "3", "steps", "value_smaller_than_min",
         "minimum 1");
    CASE("above max", wf(GOOD_INPUTS ", \"steps\": 10001"), "3", "steps",
         "value_bigger_than_max", "maximum 10000");
    CASE("float above max", wf(GOOD_INPUTS ", \"cfg\": 100.5"), "3", "cfg",
         "value_bigger_than_max", "100.5");
    CASE("float below min", wf(GOOD_INPUTS ", \"cfg\": -1"), "3", "cfg",
         "value_smaller_than_min", "-1.0");
    CASE("negative seed", wf(GOOD_INPUTS ", \"seed\": -1"), "3", "seed",
         "value_smaller_than_min", NULL);
    CASE("seed beyond u64", wf(GOOD_INPUTS ", \"seed\": 18446744073709551616"), "3", "seed",
         "value_bigger_than_max", "64-bit");
    CASE("negative min", wf(GOOD_INPUTS ", \"offset\": -65"), "3", "offset",
         "value_smaller_than_min", "-64");
    CASE("not in list", wf(GOOD_INPUTS ", \"sampler_name\": \"eulr\""), "3", "sampler_name",
         "value_not_in_list", "'euler', 'euler_ancestral', 'dpmpp_2m'");
    CASE("combo not string", wf(GOOD_INPUTS ", \"sampler_name\": 3"), "3", "sampler_name",
         "value_not_in_list", "euler");
    CASE("float from text", wf(GOOD_INPUTS ", \"denoise\": \"abc\""), "3", "denoise",
         "invalid_input_type", "abc");
    CASE("link id not string", wf(GOOD_INPUTS ", \"model\": [1, 0]"), "3", "model",
         "bad_linked_input", "[1,0]");
    CASE("link too short", wf(GOOD_INPUTS ", \"model\": [\"1\"]"), "3", "model",
         "bad_linked_input", NULL);
    CASE("literal for link", wf(GOOD_INPUTS ", \"latent_image\": 5"), "3", "latent_image",
         "invalid_input_type", "LATENT");
    CASE("unknown class",
         "{\"3\": {\"class_type\": \"Samplr\", \"inputs\": {}},"
         " \"4\": {\"class_type\": \"Save\", \"inputs\": {\"samples\": [\"3\", 0]}}}",
         "3", "", "invalid_prompt", "did you mean \"Sampler\"");
    CASE("no class_type",
         "{\"3\": {\"inputs\": {}}, \"4\": {\"class_type\": \"Save\", \"inputs\": {\"samples\": [\"3\", 0]}}}",
         "3", "", "invalid_prompt", "class_type");
    CASE("node not object",
         "{\"3\": 5, \"4\": {\"class_type\": \"Save\", \"inputs\": {\"samples\": [\"3\", 0]}}}",
         "3", "", "invalid_prompt", NULL);
    CASE("inputs not object",
         "{\"2\": {\"class_type\": \"EmptyLat\", \"inputs\": [1]},"
         " \"4\": {\"class_type\": \"Save\", \"inputs\": {\"samples\": [\"2\", 0]}}}",
         "2", "", "invalid_prompt", "inputs");
    CASE("cycle",
         "{\"5\": {\"class_type\": \"Add\", \"inputs\": {\"a\": [\"6\", 0], \"b\": [\"6\", 0]}},"
         " \"6\": {\"class_type\": \"Add\", \"inputs\": {\"a\": [\"5\", 0], \"b\": [\"7\", 0]}},"
         " \"7\": {\"class_type\": \"Count\", \"inputs\": {\"x\": [\"5\", 0]}},"
         " \"8\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"5\", 0], \"prefix\": \"p\"}}}",
         "5", "", "dependency_cycle", "\"5\" (Add), \"6\" (Add), \"7\" (Count)");
    CASE("self cycle",
         "{\"8\": {\"class_type\": \"Count\", \"inputs\": {\"x\": [\"8\", 0]}},"
         " \"9\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"8\", 0], \"prefix\": \"p\"}}}",
         "8", "", "dependency_cycle", "itself");
    CASE("no output", "{\"1\": {\"class_type\": \"Const\", \"inputs\": {\"value\": 1}}}", "", "",
         "prompt_no_outputs", "no output node");
    CASE("duplicate id",
         "{\"2\": {\"class_type\": \"EmptyLat\", \"inputs\": {\"width\": 64}},"
         " \"2\": {\"class_type\": \"EmptyLat\", \"inputs\": {\"width\": 64}},"
         " \"4\": {\"class_type\": \"Save\", \"inputs\": {\"samples\": [\"2\", 0]}}}",
         "2", "", "duplicate_node_id", "more than once");
    CASE("wrapped bad value", wf(GOOD_INPUTS ", \"cfg\": {\"__value__\": \"x\"}"), "3", "cfg",
         "invalid_input_type", NULL);
    CHECKF(n_cases >= 25, "only %d cases", n_cases);
}

static void test_missing_file(void) {
    mkdir("tv_models", 0777);
    mkdir("tv_models/checkpoints", 0777);
    FILE *f = fopen("tv_models/checkpoints/real.safetensors", "w");
    if (f) fclose(f);
    sdf_paths p;
    sdf_paths_init_defaults(&p);
    p.models_dirs[0] = "tv_models";
    sdf_validate_opts o = {.paths = &p};
    checked c;
    REQUIRE(check_text(wf(GOOD_INPUTS), &o, &c));
    CHECK(c.d.n_errors == 1);
    CHECK(c.d.n > 0 && !strcmp(c.d.v[0].type, "value_not_in_list") &&
          !strcmp(c.d.v[0].node_id, "1") && !strcmp(c.d.v[0].input, "ckpt_name"));
    if (c.d.n) {
        char line[4096];
        sdf_diag_format(&c.d.v[0], line, sizeof line);
        fprintf(stderr, "    %s\n", line);
        CHECK(strstr(line, "m.safetensors") && strstr(line, "real.safetensors"));
    }
    done(&c);
    /* the file that exists validates */
    char buf[8192];
    snprintf(buf, sizeof buf, "%s", wf(GOOD_INPUTS));
    char *m = strstr(buf, "m.safetensors");
    REQUIRE(m);
    memmove(m + 3, m, strlen(m) + 1);
    memcpy(m, "real", 4);
    REQUIRE(check_text(buf, &o, &c));
    CHECKF(c.d.n_errors == 0, "%s", buf);
    done(&c);
}

static void test_all_at_once_and_json(void) {
    /* four problems in one node, one in another, one warning */
    const char *json =
        "{\"1\": {\"class_type\": \"ModelLoader\", \"inputs\": {\"ckpt_name\": \"m.safetensors\"}},"
        " \"2\": {\"class_type\": \"EmptyLat\", \"inputs\": {\"width\": 4}},"
        " \"3\": {\"class_type\": \"Sampler\", \"inputs\": {\"model\": [\"1\", 0], \"seed\": 5,"
        " \"steps\": 0, \"cfg\": 700, \"sampler_name\": \"nope\", \"latent_image\": [\"2\", 0],"
        " \"denoise\": 1.0, \"add_noise\": \"false\", \"text\": \"x\", \"bogus\": 1}},"
        " \"4\": {\"class_type\": \"Save\", \"inputs\": {\"samples\": [\"3\", 0]}},"
        " \"5\": {\"class_type\": \"EmptyLat\", \"inputs\": {\"width\": 64}},"
        " \"6\": {\"class_type\": \"Save\", \"inputs\": {\"samples\": [\"5\", 0]}}}";
    checked c;
    REQUIRE(check_text(json, NULL, &c));
    CHECKF(c.d.n_errors == 5, "%d errors", c.d.n_errors); /* steps, cfg, sampler, offset, width */
    CHECKF(c.d.n_warnings == 2, "%d warnings", c.d.n_warnings); /* bogus, add_noise "false" */
    int dropped = 0;
    CHECK(sdf_graph_count_targets(c.g, &dropped) == 1 && dropped == 1);
    int *order = NULL, n = 0;
    sdf_error e;
    REQUIRE(sdf_graph_plan(c.g, &order, &n, &e) == SDF_OK);
    CHECK(n == 2 && !strcmp(c.g->nodes[order[0]].id, "5") && !strcmp(c.g->nodes[order[1]].id, "6"));
    sdf_free(order);
    cJSON *j = sdf_diags_to_json(&c.d, c.g);
    const cJSON *ne = cJSON_GetObjectItem(j, "node_errors");
    const cJSON *n3 = cJSON_GetObjectItem(ne, "3");
    REQUIRE(n3);
    CHECK_STR(cJSON_GetObjectItem(n3, "class_type")->valuestring, "Sampler");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(n3, "errors")) == 4);
    const cJSON *dep = cJSON_GetObjectItem(n3, "dependent_outputs");
    CHECK(cJSON_GetArraySize(dep) == 1 && !strcmp(dep->child->valuestring, "4"));
    const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItem(n3, "errors"), 0);
    CHECK_STR(cJSON_GetObjectItem(e0, "type")->valuestring, "value_smaller_than_min");
    CHECK_STR(cJSON_GetObjectItem(e0, "message")->valuestring, "Value 0 smaller than min of 1");
    CHECK_STR(cJSON_GetObjectItem(e0, "details")->valuestring, "steps");
    CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "extra_info"), "input_name")->valuestring,
              "steps");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "extra_info"), "received_value")->valueint == 0);
    CHECK(cJSON_GetObjectItem(ne, "2") != NULL);
    CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "type")->valuestring,
              "prompt_outputs_failed_validation");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "warnings")) == 2);
    cJSON_Delete(j);
    done(&c);
}

static void test_only_targets(void) {
    const char *json =
        "{\"1\": {\"class_type\": \"Const\", \"inputs\": {\"value\": 2}},"
        " \"2\": {\"class_type\": \"Count\", \"inputs\": {\"x\": [\"1\", 0]}},"
        " \"3\": {\"class_type\": \"Count\", \"inputs\": {\"x\": [\"2\", 0]}},"
        " \"4\": {\"class_type\": \"WriteNumber\", \"inputs\": {\"value\": [\"3\", 0], \"prefix\": \"p\"}}}";
    const char *only[] = {"2"};
    sdf_validate_opts o = {.only = only, .n_only = 1};
    checked c;
    REQUIRE(check_text(json, &o, &c));
    CHECK(c.d.n_errors == 0);
    int *order = NULL, n = 0;
    sdf_error e;
    REQUIRE(sdf_graph_plan(c.g, &order, &n, &e) == SDF_OK);
    CHECK(n == 2 && order[0] == 0 && order[1] == 1);
    sdf_free(order);
    done(&c);
    const char *bad[] = {"77"};
    o.only = bad;
    REQUIRE(check_text(json, &o, &c));
    CHECK(c.d.n_errors == 1 && strstr(c.d.v[0].text, "\"77\""));
    done(&c);
}

static void test_suggest(void) {
    CHECK_STR(sdf_registry_suggest(&reg, "sampler"), "Sampler");
    CHECK_STR(sdf_registry_suggest(&reg, "WriteNumbr"), "WriteNumber");
    CHECK_STR(sdf_registry_suggest(&reg, "Constan"), "Const"); /* via the alias */
    CHECK(sdf_registry_suggest(&reg, "CompletelyDifferentThing") == NULL);
}

int main(void) {
    reg = fake_registry();
    RUN(test_invalid_workflows);
    RUN(test_missing_file);
    RUN(test_all_at_once_and_json);
    RUN(test_only_targets);
    RUN(test_suggest);
    return test_summary();
}
