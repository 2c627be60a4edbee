/* fake_nodes.h: a test-local node registry for the engine tests (header-only).
 *
 * Owns:      small node classes that need no model: Const/Add (INT arithmetic), Sleep (records
 *            nothing itself: the scheduler's results hold its times), Fail, Count (counts its
 *            executions), LoadNumber (reads an integer from a file of the input folder and notes
 *            it), WriteNumber (an output node writing a text file and noting it), and a
 *            ComfyUI-shaped Sampler/ModelLoader/EmptyLat/Save family for validation tests.
 * Threads:   the counters are atomics (test-only state).
 */
#ifndef SDF_FAKE_NODES_H
#define SDF_FAKE_NODES_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/base/alloc.h"
#include "../core/graph/nodecall_int.h"
#include "../core/graph/nodedef.h"

static atomic_int fake_count_runs;
static atomic_int fake_const_runs;

static sdf_status fake_out_int(sdf_node_call *c, int64_t v, sdf_error *err) {
    return sdf_out_set(c, 0, sdf_value_int(v), err);
}

static sdf_status run_const(sdf_node_call *c, sdf_error *err) {
    atomic_fetch_add(&fake_const_runs, 1);
    return fake_out_int(c, sdf_arg_int(c, 0), err);
}
static sdf_status run_add(sdf_node_call *c, sdf_error *err) {
    return fake_out_int(c, sdf_arg_int(c, 0) + sdf_arg_int(c, 1), err);
}
static sdf_status run_sleep(sdf_node_call *c, sdf_error *err) {
    int64_t ms = sdf_arg_int(c, 0);
    for (int64_t t = 0; t < ms; t += 10) {
        if (sdf_call_cancelled(c)) return sdf_fail(err, SDF_ERR_CANCELLED, "cancelled");
        sdf_call_progress(c, t, ms);
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return fake_out_int(c, sdf_arg_has(c, 1) ? sdf_arg_int(c, 1) : ms, err);
}
static sdf_status run_fail(sdf_node_call *c, sdf_error *err) {
    (void)c;
    return sdf_fail(err, SDF_ERR_INVALID, "this node always fails");
}
static sdf_status run_count(sdf_node_call *c, sdf_error *err) {
    atomic_fetch_add(&fake_count_runs, 1);
    return fake_out_int(c, sdf_arg_int(c, 0) + 1, err);
}
static sdf_status run_load_number(sdf_node_call *c, sdf_error *err) {
    char path[4096];
    sdf_status st = sdf_call_find_file(c, 0, path, sizeof path, err);
    if (st) return st;
    sdf_call_note_input_file(c, path, "number");
    FILE *f = fopen(path, "r");
    if (!f) return sdf_fail(err, SDF_ERR_IO, "cannot open %s", path);
    long long v = 0;
    if (fscanf(f, "%lld", &v) != 1) v = -1;
    fclose(f);
    return fake_out_int(c, v, err);
}
static sdf_status run_write_number(sdf_node_call *c, sdf_error *err) {
    const sdf_paths *p = sdf_call_paths(c);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_%s.txt", p && p->output_dir ? p->output_dir : ".",
             sdf_arg_str(c, 1), sdf_call_node_id(c));
    FILE *f = fopen(path, "w");
    if (!f) return sdf_fail(err, SDF_ERR_IO, "cannot write %s", path);
    fprintf(f, "%lld\n", (long long)sdf_arg_int(c, 0));
    fclose(f);
    sdf_call_note_output_file(c, path, 1, 1);
    return SDF_OK;
}
static sdf_status run_latent(sdf_node_call *c, sdf_error *err) {
    int64_t w = sdf_call_def(c)->n_inputs == 1 ? sdf_arg_int(c, 0) / 8 : 2;
    sdf_tensor *t = sdf_tensor_f32(err, 4, (int64_t)1, (int64_t)4, (int64_t)2, w);
    if (!t) return err->code;
    sdf_value *v = sdf_value_latent(t, NULL, NULL, 0);
    sdf_tensor_release(t);
    return sdf_out_set(c, 0, v, err);
}

static sdf_status run_lat_width(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *l = sdf_arg_latent(c, 0);
    return fake_out_int(c, l && l->samples ? l->samples->shape[3] : -1, err);
}

static sdf_status run_seed(sdf_node_call *c, sdf_error *err) {
    return fake_out_int(c, (int64_t)(sdf_arg_u64(c, 0) % 1000u), err);
}

static const sdf_output_def fake_int_out[] = {{"INT", SDF_VT_INT}};
static const sdf_output_def fake_latent_out[] = {{"LATENT", SDF_VT_LATENT}};
static const sdf_output_def fake_model_out[] = {{"MODEL", SDF_VT_MODEL}, {"CLIP", SDF_VT_CLIP}};

static const sdf_input_def fake_const_in[] = {SDF_IN_INT("value", 0, -1000000, 1000000, 1)};
static const sdf_input_def fake_add_in[] = {SDF_IN_LINK("a", SDF_VT_INT),
                                            SDF_IN_LINK("b", SDF_VT_INT)};
static const sdf_input_def fake_sleep_in[] = {SDF_IN_INT("ms", 0, 0, 100000, 1),
                                              SDF_IN_LINK_OPT("x", SDF_VT_INT)};
static const sdf_input_def fake_x_in[] = {SDF_IN_LINK("x", SDF_VT_INT)};
static const sdf_input_def fake_load_in[] = {SDF_IN_FILE("file", SDF_FILE_INPUT)};
static const sdf_input_def fake_write_in[] = {SDF_IN_LINK("value", SDF_VT_INT),
                                              SDF_IN_STRING("prefix", "num", false)};
static const char *const fake_samplers[] = {"euler", "euler_ancestral", "dpmpp_2m"};
static const sdf_input_def fake_sampler_in[] = {
    SDF_IN_LINK("model", SDF_VT_MODEL),
    SDF_IN_SEED("seed"),
    SDF_IN_INT("steps", 20, 1, 10000, 1),
    SDF_IN_FLOAT("cfg", 8.0, 0.0, 100.0, 0.1),
    SDF_IN_COMBO("sampler_name", fake_samplers, "euler"),
    SDF_IN_LINK("latent_image", SDF_VT_LATENT),
    SDF_IN_FLOAT("denoise", 1.0, 0.0, 1.0, 0.01),
    SDF_IN_BOOL("add_noise", true),
    SDF_IN_STRING("text", "", true),
    SDF_IN_INT("offset", 0, -64, 64, 1),
};
static const sdf_input_def fake_loader_in[] = {SDF_IN_FILE("ckpt_name", SDF_FILE_CHECKPOINTS)};
static const sdf_input_def fake_seed_in[] = {SDF_IN_SEED("seed")};
static const sdf_input_def fake_empty_in[] = {SDF_IN_INT("width", 512, 16, 8192, 8)};
static const sdf_input_def fake_save_in[] = {SDF_IN_LINK("samples", SDF_VT_LATENT)};

#define FAKE_DEF(cls, in, out, fl, fn) \
    {.class_type = cls, .display_name = cls, .category = "test", .inputs = in,                \
     .n_inputs = (int)SDF_COUNTOF(in), .outputs = out, .n_outputs = (int)SDF_COUNTOF(out),    \
     .flags = fl, .run = fn}
#define FAKE_DEF0(cls, in, fl, fn) \
    {.class_type = cls, .display_name = cls, .category = "test", .inputs = in,                \
     .n_inputs = (int)SDF_COUNTOF(in), .outputs = NULL, .n_outputs = 0, .flags = fl, .run = fn}

static const sdf_node_def fake_defs[] = {
    FAKE_DEF("Const", fake_const_in, fake_int_out, 0, run_const),
    FAKE_DEF("Add", fake_add_in, fake_int_out, 0, run_add),
    FAKE_DEF("Sleep", fake_sleep_in, fake_int_out, 0, run_sleep),
    FAKE_DEF("Fail", fake_x_in, fake_int_out, 0, run_fail),
    FAKE_DEF("Count", fake_x_in, fake_int_out, 0, run_count),
    FAKE_DEF("LoadNumber", fake_load_in, fake_int_out, 0, run_load_number),
    FAKE_DEF0("WriteNumber", fake_write_in, SDF_NODE_OUTPUT, run_write_number),
    FAKE_DEF("Sampler", fake_sampler_in, fake_latent_out, 0, run_latent),
    FAKE_DEF("ModelLoader", fake_loader_in, fake_model_out, 0, NULL),
    FAKE_DEF("EmptyLat", fake_empty_in, fake_latent_out, 0, run_latent),
    FAKE_DEF0("Save", fake_save_in, SDF_NODE_OUTPUT, NULL),
    FAKE_DEF("LatWidth", fake_save_in, fake_int_out, 0, run_lat_width),
    FAKE_DEF("Seed", fake_seed_in, fake_int_out, 0, run_seed),
};

static const sdf_node_def *const fake_def_ptrs[] = {
    &fake_defs[0], &fake_defs[1], &fake_defs[2], &fake_defs[3], &fake_defs[4], &fake_defs[5],
    &fake_defs[6], &fake_defs[7], &fake_defs[8], &fake_defs[9], &fake_defs[10], &fake_defs[11],
    &fake_defs[12]};
_Static_assert(SDF_COUNTOF(fake_def_ptrs) == SDF_COUNTOF(fake_defs), "fake table");

static const sdf_node_alias fake_aliases[] = {{"Constant", "Const"}};

static inline sdf_registry fake_registry(void) {
    sdf_registry r = {fake_def_ptrs, SDF_COUNTOF(fake_def_ptrs), fake_aliases,
                      SDF_COUNTOF(fake_aliases)};
    return r;
}

#endif
