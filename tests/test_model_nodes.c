/* test_model_nodes.c: the loader, LoRA, merge and CheckpointSave nodes through sdf_node_call:
 * file lookup in a models folder, outputs and their types, run-log notes and warnings, LoRA
 * strengths 0 returning the inputs, and a saved checkpoint that loads back with equal weights. */
#include <sys/stat.h>
#include <unistd.h>

#include "../core/base/sha256.h"
#include "../core/graph/nodecall_int.h"
#include "../core/models/checkpoint.h"
#include "../nodes/nodes.h"
#include "testing.h"

static char root[256], models_dir[300], out_dir[300];
static sdf_paths paths;
static int n_warn, n_notes, n_inputs;
static char last_note_key[128], last_note_val[1024], unmatched_note[1024];

static void on_warn(void *u, const char *id, const char *msg) { (void)u; (void)id; (void)msg; n_warn++; }
static void on_note(void *u, const char *id, const char *k, const char *v) {
    (void)u; (void)id;
    n_notes++;
    snprintf(last_note_key, sizeof last_note_key, "%s", k);
    snprintf(last_note_val, sizeof last_note_val, "%s", v);
    if (!strcmp(k, "lora.unmatched_keys")) snprintf(unmatched_note, sizeof unmatched_note, "%s", v);
}
static void on_input(void *u, const char *id, const char *p, const char *r) { (void)u; (void)id; (void)p; (void)r; n_inputs++; }

/* The runtime remembers file hashes by path; so does this host (hashing is not under test). */
static char sha_path[4][512], sha_hex[4][65];
static int n_sha;
static sdf_status on_sha(void *u, const char *path, char hex[65], sdf_error *err) {
    (void)u;
    for (int i = 0; i < n_sha; i++)
        if (!strcmp(sha_path[i], path)) { memcpy(hex, sha_hex[i], 65); return SDF_OK; }
    sdf_status st = sdf_sha256_file(path, hex, err);
    if (!st && n_sha < 4) {
        snprintf(sha_path[n_sha], sizeof sha_path[0], "%s", path);
        memcpy(sha_hex[n_sha++], hex, 65);
    }
    return st;
}

static sdf_call_host host = {.warn = on_warn, .note = on_note, .note_input_file = on_input,
                             .file_sha256 = on_sha};
static sdf_registry reg;
static sdf_builtin_storage storage;

static const sdf_node_def *def(const char *name) { return sdf_registry_find(&reg, name); }

static void setup(void) {
    snprintf(root, sizeof root, "/tmp/sdf_nodes_%d", (int)getpid());
    snprintf(models_dir, sizeof models_dir, "%s/models", root);
    snprintf(out_dir, sizeof out_dir, "%s/output", root);
    mkdir(root, 0755);
    mkdir(models_dir, 0755);
    char d[400], l[500];
    snprintf(d, sizeof d, "%s/checkpoints", models_dir); mkdir(d, 0755);
    snprintf(l, sizeof l, "%s/tiny.safetensors", d);
    if (test_shared_dir() && symlink(test_ref_path("tiny-sd1.safetensors"), l) != 0) perror("symlink");
    snprintf(d, sizeof d, "%s/loras", models_dir); mkdir(d, 0755);
    snprintf(l, sizeof l, "%s/tiny-lora.safetensors", d);
    if (test_shared_dir() && symlink(test_ref_path("tiny-sd1-lora.safetensors"), l) != 0) perror("symlink");
    snprintf(d, sizeof d, "%s/vae", models_dir); mkdir(d, 0755);
    snprintf(l, sizeof l, "%s/tiny-vae.safetensors", d);
    if (test_shared_dir() && symlink(test_ref_path("tiny-sd1.safetensors"), l) != 0) perror("symlink");
    sdf_paths_init_defaults(&paths);
    paths.models_dirs[0] = models_dir;
    paths.output_dir = out_dir;
    host.paths = &paths;
    sdf_builtin_registry(&storage, &reg);
}

static sdf_status call(sdf_node_call *c, const char *cls, sdf_value **args, int n, sdf_error *err) {
    memset(c, 0, sizeof *c);
    c->def = def(cls);
    c->node_id = "7";
    c->host = &host;
    for (int i = 0; i < n; i++) c->args[i] = args[i];
    return c->def ? sdf_node_call_run(c, err) : SDF_ERR_NOT_FOUND;
}

static void test_loaders(void) {
    NEED_REFERENCE();
    sdf_error err;
    sdf_error_clear(&err);
    sdf_node_call c;
    sdf_value *name = sdf_value_string("tiny.safetensors");
    n_inputs = 0;
    REQUIRE(call(&c, "CheckpointLoaderSimple", &name, 1, &err) == SDF_OK);
    CHECK(n_inputs == 1);
    CHECK(c.outputs[0]->type == SDF_VT_MODEL && c.outputs[1]->type == SDF_VT_CLIP &&
          c.outputs[2]->type == SDF_VT_VAE);
    sdf_model *m = c.outputs[0]->u.handle.obj;
    CHECK_STR(m->name, "tiny");
    CHECK(strlen(m->sha256) == 64);
    sdf_node_call_deinit(&c);
    /* alias and the deprecated loader with its (ignored) config */
    CHECK(call(&c, "LoadCheckpoint", &name, 1, &err) == SDF_OK);
    sdf_node_call_deinit(&c);
    sdf_value *args[2] = {sdf_value_string("v2-inference-v.yaml"), name};
    CHECK(call(&c, "CheckpointLoader", args, 2, &err) == SDF_OK);
    CHECK(((sdf_model *)c.outputs[0]->u.handle.obj)->prediction == SDF_PRED_EPS);
    sdf_node_call_deinit(&c);
    sdf_value_release(args[0]);
    /* a missing file names where it looked */
    sdf_value *missing = sdf_value_string("nope.safetensors");
    CHECK(call(&c, "CheckpointLoaderSimple", &missing, 1, &err) == SDF_ERR_NOT_FOUND);
    CHECKF(strstr(err.msg, "checkpoints") != NULL && strstr(err.msg, "tiny.safetensors") != NULL, "%s", err.msg);
    sdf_node_call_deinit(&c);
    sdf_value_release(missing);
    /* VAELoader on a full checkpoint file (first_stage_model.* keys) */
    sdf_value *vn = sdf_value_string("tiny-vae.safetensors");
    REQUIRE(call(&c, "VAELoader", &vn, 1, &err) == SDF_OK);
    sdf_vae *v = c.outputs[0]->u.handle.obj;
    CHECK(v->cfg.ch == 32 && v->cfg.downscale == 4 && sdf_wstore_has(v->weights, "decoder.conv_in.weight"));
    sdf_node_call_deinit(&c);
    /* CLIPLoader: other types are refused */
    sdf_value *ca[2] = {vn, sdf_value_string("sd3")};
    CHECK(call(&c, "CLIPLoader", ca, 2, &err) == SDF_ERR_UNSUPPORTED);
    sdf_node_call_deinit(&c);
    sdf_value_release(ca[1]);
    sdf_value_release(vn);
    sdf_value_release(name);
}

static void test_lora_merge_save(void) {
    NEED_REFERENCE();
    sdf_error err;
    sdf_error_clear(&err);
    sdf_node_call lc;
    sdf_value *name = sdf_value_string("tiny.safetensors");
    REQUIRE(call(&lc, "CheckpointLoaderSimple", &name, 1, &err) == SDF_OK);
    sdf_value *model = lc.outputs[0], *clip = lc.outputs[1], *vae = lc.outputs[2];
    /* strengths 0: the very same values */
    sdf_value *ln = sdf_value_string("tiny-lora.safetensors");
    sdf_value *zero = sdf_value_float(0.0), *s1 = sdf_value_float(0.8), *s2 = sdf_value_float(0.5);
    sdf_value *a0[5] = {model, clip, ln, zero, zero};
    sdf_node_call c;
    REQUIRE(call(&c, "LoraLoader", a0, 5, &err) == SDF_OK);
    CHECK(c.outputs[0] == model && c.outputs[1] == clip);
    sdf_node_call_deinit(&c);
    sdf_value *a1[5] = {model, clip, ln, s1, s2};
    n_notes = 0;
    REQUIRE(call(&c, "LoraApply", a1, 5, &err) == SDF_OK);
    CHECK(c.outputs[0] != model && c.outputs[0]->type == SDF_VT_MODEL);
    CHECK(n_notes >= 3);
    sdf_model *pm = c.outputs[0]->u.handle.obj;
    CHECK(!sdf_wstore_same_slot(pm->weights, ((sdf_model *)model->u.handle.obj)->weights,
                                "input_blocks.1.1.proj_in.weight"));
    /* model-only: the CLIP keys are reported as not loaded */
    sdf_node_call c2;
    sdf_value *a2[3] = {model, ln, s1};
    n_warn = 0;
    unmatched_note[0] = 0;
    REQUIRE(call(&c2, "LoraLoaderModelOnly", a2, 3, &err) == SDF_OK);
    CHECK(n_warn >= 1);
    CHECKF(strstr(unmatched_note, "lora_te_") != NULL, "%s", unmatched_note);
    sdf_node_call_deinit(&c2);
    /* merge base with the LoRA model at 0.5 */
    sdf_value *half = sdf_value_float(0.5);
    sdf_value *a3[3] = {model, c.outputs[0], half};
    REQUIRE(call(&c2, "ModelMergeSimple", a3, 3, &err) == SDF_OK);
    sdf_value *merged = sdf_value_retain(c2.outputs[0]);
    sdf_node_call_deinit(&c2);
    sdf_value *a4[3] = {clip, c.outputs[1], half};
    REQUIRE(call(&c2, "CLIPMergeSimple", a4, 3, &err) == SDF_OK);
    sdf_value *mclip = sdf_value_retain(c2.outputs[0]);
    sdf_node_call_deinit(&c2);
    sdf_value *a5[2] = {model, c.outputs[0]};
    CHECK(call(&c2, "ModelMergeAdd", a5, 2, &err) == SDF_OK);
    sdf_node_call_deinit(&c2);
    sdf_value *a6[3] = {model, c.outputs[0], half};
    CHECK(call(&c2, "ModelMergeSubtract", a6, 3, &err) == SDF_OK);
    sdf_node_call_deinit(&c2);
    /* save and load back */
    sdf_value *prefix = sdf_value_string("checkpoints/merged");
    sdf_value *a7[4] = {merged, mclip, vae, prefix};
    REQUIRE(call(&c2, "CheckpointSave", a7, 4, &err) == SDF_OK);
    sdf_node_call_deinit(&c2);
    CHECK(call(&c2, "CheckpointSave", a7, 4, &err) == SDF_OK); /* second file: counter 2 */
    sdf_node_call_deinit(&c2);
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/checkpoints/merged_00001_.safetensors", out_dir);
    snprintf(p2, sizeof p2, "%s/checkpoints/merged_00002_.safetensors", out_dir);
    CHECK(access(p2, F_OK) == 0);
    sdf_model *rm = NULL;
    sdf_clip *rc = NULL;
    sdf_vae *rv = NULL;
    sdf_checkpoint_opts o = {0};
    REQUIRE(sdf_checkpoint_load(p1, &o, &rm, &rc, &rv, &err) == SDF_OK);
    sdf_model *mm = merged->u.handle.obj;
    sdf_clip *mc = mclip->u.handle.obj;
    CHECK(sdf_wstore_count(rm->weights) == sdf_wstore_count(mm->weights));
    CHECK(sdf_wstore_count(rc->weights) == sdf_wstore_count(mc->weights));
    CHECK(memcmp(&rm->unet, &mm->unet, sizeof rm->unet) == 0);
    CHECK(memcmp(&rc->cfg, &mc->cfg, sizeof rc->cfg) == 0);
    CHECK(memcmp(&rv->cfg, &((sdf_vae *)vae->u.handle.obj)->cfg, sizeof rv->cfg) == 0);
    CHECK(rm->prediction == mm->prediction && rm->arch == mm->arch);
    const char *names[] = {"input_blocks.1.1.proj_in.weight", "out.2.bias"};
    for (int i = 0; i < 2; i++) {
        sdf_tensor *a = sdf_wstore_get_f32(rm->weights, names[i], &err);
        sdf_tensor *b = sdf_wstore_get_f32(mm->weights, names[i], &err);
        REQUIRE(a && b && a->nbytes == b->nbytes);
        CHECK(memcmp(a->data, b->data, a->nbytes) == 0);
        sdf_tensor_release(a);
        sdf_tensor_release(b);
    }
    sdf_tensor *a = sdf_wstore_get(rc->weights, "text_model.encoder.layers.0.mlp.fc1.weight", &err);
    sdf_tensor *b = sdf_wstore_get(mc->weights, "text_model.encoder.layers.0.mlp.fc1.weight", &err);
    REQUIRE(a && b && a->dtype == SDF_DTYPE_F16 && a->nbytes == b->nbytes);
    CHECK(memcmp(a->data, b->data, a->nbytes) == 0);
    sdf_tensor_release(a);
    sdf_tensor_release(b);
    sdf_model_release(rm);
    sdf_clip_release(rc);
    sdf_vae_release(rv);
    sdf_value_release(prefix);
    sdf_value_release(merged);
    sdf_value_release(mclip);
    sdf_value_release(half);
    sdf_node_call_deinit(&c);
    sdf_node_call_deinit(&lc);
    sdf_value_release(ln);
    sdf_value_release(zero);
    sdf_value_release(s1);
    sdf_value_release(s2);
    sdf_value_release(name);
}

int main(void) {
    setup();
    RUN(test_loaders);
    RUN(test_lora_merge_save);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
    return test_summary();
}
