/* test_conditioning.c: the conditioning nodes run through the node API, with hand-computed
 * expectations (ComfyUI nodes.py semantics), and CLIPTextEncode against the golden CLIP. */
#include "core/graph/nodecall_int.h"
#include "nodes/nodes.h"
#include "tests/clip_fixture.h"

static sdf_builtin_storage g_store;
static sdf_registry        g_reg;

static const sdf_node_def *def(const char *name) {
    return sdf_registry_find(&g_reg, name);
}

/* runs class with args (borrowed); returns output 0 (NEW) or NULL */
static sdf_value *run(const char *cls, sdf_value **args, int n, sdf_error *err) {
    sdf_node_call c = {0};
    c.def = def(cls);
    c.node_id = "1";
    if (!c.def)
        return NULL;
    for (int i = 0; i < n; i++)
        c.args[i] = args[i];
    sdf_value *out = NULL;
    if (sdf_node_call_run(&c, err) == SDF_OK) {
        out = c.outputs[0];
        c.outputs[0] = NULL;
    }
    sdf_node_call_deinit(&c);
    return out;
}

/* a one-entry conditioning with cond [1,L,D] = base + index, and optional pooled [1,D] */
static sdf_value *mk_cond(int L, int D, float base, bool pooled, float pbase) {
    sdf_error  err = {0};
    sdf_value *v = sdf_value_conditioning(1);
    v->u.cond.e[0].cond = sdf_tensor_f32(&err, 3, (int64_t)1, (int64_t)L, (int64_t)D);
    for (int i = 0; i < L * D; i++)
        sdf_tensor_f32p(v->u.cond.e[0].cond)[i] = base + (float)i;
    if (pooled) {
        v->u.cond.e[0].pooled = sdf_tensor_f32(&err, 2, (int64_t)1, (int64_t)D);
        for (int i = 0; i < D; i++)
            sdf_tensor_f32p(v->u.cond.e[0].pooled)[i] = pbase + (float)i;
    }
    return v;
}

static void test_definitions(void) {
    const sdf_node_def *d = def("CLIPSetLastLayer");
    REQUIRE(d);
    CHECK(d->n_inputs == 2 && d->inputs[1].def_i == -1 && d->inputs[1].min_i == -24 &&
          d->inputs[1].max_i == (uint64_t)-1);
    CHECK(def("CLIPEncode") == def("CLIPTextEncode"));
    CHECK(def("ConditioningAverage ") == def("ConditioningAverage"));
    d = def("ConditioningSetArea");
    REQUIRE(d && d->n_inputs == 6);
    CHECK(strcmp(d->inputs[1].name, "width") == 0 && d->inputs[1].def_i == 64 &&
          d->inputs[1].min_i == 64 && d->inputs[1].max_i == 16384 && d->inputs[1].step_f == 8);
    CHECK(strcmp(d->inputs[3].name, "x") == 0 && d->inputs[5].max_f == 10.0);
    d = def("ConditioningSetMask");
    REQUIRE(d && d->n_inputs == 4);
    CHECK(strcmp(d->inputs[2].name, "strength") == 0 &&
          strcmp(d->inputs[3].name, "set_cond_area") == 0);
    CHECK(d->inputs[3].n_choices == 2);
    d = def("ConditioningSetTimestepRange");
    REQUIRE(d);
    CHECK(d->inputs[1].step_f == 0.001 && d->inputs[2].def_f == 1.0);
    CHECK(strcmp(def("ConditioningZeroOut")->category, "advanced/conditioning") == 0);
    for (size_t i = 0; i < sdf_family_conditioning.n; i++)
        CHECK(sdf_family_conditioning.defs[i]->run != NULL);
}

static void test_combine_concat(void) {
    sdf_error  err = {0};
    sdf_value *a = mk_cond(3, 2, 0, true, 100), *b = mk_cond(2, 2, 10, false, 0);
    sdf_value *args[2] = {a, b};
    sdf_value *o = run("ConditioningCombine", args, 2, &err);
    REQUIRE(o && o->type == SDF_VT_CONDITIONING && o->u.cond.n == 2);
    CHECK(o->u.cond.e[0].cond == a->u.cond.e[0].cond && o->u.cond.e[1].cond == b->u.cond.e[0].cond);
    CHECK(o->u.cond.e[0].pooled != NULL && o->u.cond.e[1].pooled == NULL);
    sdf_value_release(o);

    o = run("ConditioningConcat", args, 2, &err);
    REQUIRE(o && o->u.cond.n == 1);
    const sdf_tensor *t = o->u.cond.e[0].cond;
    CHECK(t->shape[0] == 1 && t->shape[1] == 5 && t->shape[2] == 2);
    const float want[10] = {0, 1, 2, 3, 4, 5, 10, 11, 12, 13};
    CHECK(memcmp(sdf_tensor_f32p(t), want, sizeof want) == 0);
    CHECK(o->u.cond.e[0].pooled == a->u.cond.e[0].pooled); /* dict copied from "to" */
    sdf_value_release(o);
    /* inputs untouched */
    CHECK(a->u.cond.e[0].cond->shape[1] == 3 && sdf_tensor_f32p(a->u.cond.e[0].cond)[5] == 5);
    /* width mismatch is an error, not a crash */
    sdf_value *c = mk_cond(2, 3, 0, false, 0);
    sdf_value *bad[2] = {a, c};
    CHECK(run("ConditioningConcat", bad, 2, &err) == NULL && err.code == SDF_ERR_SHAPE);
    sdf_value_release(c);
    sdf_value_release(a);
    sdf_value_release(b);
}

static void test_average(void) {
    sdf_error err = {0};
    /* to [1,3,2] (0..5, pooled 100,101), from [1,2,2] (10..13, pooled 50,51): from is cut or
     * zero-padded to 3 tokens; tw = to*s + from*(1-s) in float32 */
    sdf_value *to = mk_cond(3, 2, 0, true, 100), *from = mk_cond(2, 2, 10, true, 50);
    sdf_value *s = sdf_value_float(0.75);
    sdf_value *args[3] = {to, from, s};
    sdf_value *o = run("ConditioningAverage", args, 3, &err);
    REQUIRE(o && o->u.cond.n == 1);
    const float *r = sdf_tensor_f32p(o->u.cond.e[0].cond);
    const float  fs = 0.75f, fr = (float)(1.0 - 0.75);
    for (int i = 0; i < 6; i++) {
        float f = i < 4 ? 10.0f + (float)i : 0.0f;
        CHECKF(r[i] == (float)i * fs + f * fr, "i=%d %g", i, r[i]);
    }
    CHECK(o->u.cond.e[0].cond->shape[1] == 3);
    const float *p = sdf_tensor_f32p(o->u.cond.e[0].pooled);
    CHECK(p[0] == 100.0f * fs + 50.0f * fr && p[1] == 101.0f * fs + 51.0f * fr);
    sdf_value_release(o);
    sdf_value_release(to);
    /* to has no pooled: ComfyUI's .get("pooled_output", pooled_from) makes it average from's
     * pooled with itself (its "copy" branch is unreachable) */
    to = mk_cond(1, 2, 0, false, 0);
    args[0] = to;
    o = run("ConditioningAverage", args, 3, &err);
    REQUIRE(o && o->u.cond.e[0].pooled);
    CHECK(sdf_tensor_f32p(o->u.cond.e[0].pooled)[1] == 51.0f * fs + 51.0f * fr);
    CHECK(sdf_tensor_f32p(o->u.cond.e[0].cond)[1] == 1.0f * fs + 11.0f * fr);
    sdf_value_release(o);
    /* from without pooled: to's stays */
    sdf_value *to2 = mk_cond(1, 2, 0, true, 7), *from2 = mk_cond(1, 2, 0, false, 0);
    sdf_value *args2[3] = {to2, from2, s};
    o = run("ConditioningAverage", args2, 3, &err);
    REQUIRE(o);
    CHECK(o->u.cond.e[0].pooled == to2->u.cond.e[0].pooled);
    sdf_value_release(o);
    /* empty conditioning_from is an error */
    sdf_value *empty = sdf_value_conditioning(0);
    sdf_value *args3[3] = {to, empty, s};
    CHECK(run("ConditioningAverage", args3, 3, &err) == NULL);
    sdf_value_release(empty);
    sdf_value_release(to2);
    sdf_value_release(from2);
    sdf_value_release(to);
    sdf_value_release(from);
    sdf_value_release(s);
}

static void test_setters(void) {
    sdf_error  err = {0};
    sdf_value *c = mk_cond(2, 2, 0, false, 0);
    sdf_value *w = sdf_value_int(100), *h = sdf_value_int(204), *x = sdf_value_int(17),
              *y = sdf_value_int(9), *st = sdf_value_float(0.5);
    sdf_value *args[6] = {c, w, h, x, y, st};
    sdf_value *o = run("ConditioningSetArea", args, 6, &err);
    REQUIRE(o);
    const sdf_cond_entry *e = &o->u.cond.e[0];
    CHECK(e->has_area && !e->area_percentage);
    CHECK(e->area[0] == 25 && e->area[1] == 12 && e->area[2] == 1 && e->area[3] == 2);
    CHECK(e->has_strength && e->strength == 0.5 && !e->set_area_to_bounds);
    CHECK(!c->u.cond.e[0].has_area);
    sdf_value_release(o);

    sdf_value *fw = sdf_value_float(0.5), *fh = sdf_value_float(0.25), *fx = sdf_value_float(0.1),
              *fy = sdf_value_float(0.2);
    sdf_value *pargs[6] = {c, fw, fh, fx, fy, st};
    o = run("ConditioningSetAreaPercentage", pargs, 6, &err);
    REQUIRE(o);
    e = &o->u.cond.e[0];
    CHECK(e->has_area && e->area_percentage && e->area[0] == 0.25 && e->area[1] == 0.5 &&
          e->area[2] == 0.2 && e->area[3] == 0.1);
    sdf_value *sargs[2] = {o, fh};
    sdf_value *o2 = run("ConditioningSetAreaStrength", sargs, 2, &err);
    REQUIRE(o2);
    CHECK(o2->u.cond.e[0].strength == 0.25 && o2->u.cond.e[0].has_area);
    CHECK(o->u.cond.e[0].strength == 0.5);
    sdf_value_release(o2);
    sdf_value_release(o);

    /* mask [H,W] -> [1,H,W]; "mask bounds" sets set_area_to_bounds */
    sdf_tensor *m = sdf_tensor_f32(&err, 2, (int64_t)4, (int64_t)6);
    sdf_value  *mv = sdf_value_tensor(SDF_VT_MASK, m);
    sdf_tensor_release(m);
    sdf_value *mode = sdf_value_string("mask bounds");
    sdf_value *margs[4] = {c, mv, fh, mode};
    o = run("ConditioningSetMask", margs, 4, &err);
    REQUIRE(o);
    e = &o->u.cond.e[0];
    CHECK(e->mask && e->mask->ndim == 3 && e->mask->shape[0] == 1 && e->mask->shape[1] == 4 &&
          e->mask->shape[2] == 6);
    CHECK(e->set_area_to_bounds && e->mask_strength == 0.25);
    sdf_value_release(o);
    sdf_value_release(mode);
    mode = sdf_value_string("default");
    margs[3] = mode;
    o = run("ConditioningSetMask", margs, 4, &err);
    REQUIRE(o);
    CHECK(!o->u.cond.e[0].set_area_to_bounds);
    sdf_value_release(o);

    sdf_value *t0 = sdf_value_float(0.2), *t1 = sdf_value_float(0.8);
    sdf_value *targs[3] = {c, t0, t1};
    o = run("ConditioningSetTimestepRange", targs, 3, &err);
    REQUIRE(o);
    CHECK(o->u.cond.e[0].has_timestep_range && o->u.cond.e[0].start_percent == 0.2 &&
          o->u.cond.e[0].end_percent == 0.8);
    sdf_value_release(o);

    sdf_value *zc = mk_cond(3, 2, 1, true, 1);
    sdf_value *zargs[1] = {zc};
    o = run("ConditioningZeroOut", zargs, 1, &err);
    REQUIRE(o);
    const sdf_tensor *zt = o->u.cond.e[0].cond, *zp = o->u.cond.e[0].pooled;
    CHECK(zt->shape[1] == 3 && zp && zp->shape[1] == 2);
    bool zero = true;
    for (int i = 0; i < 6; i++)
        zero = zero && sdf_tensor_f32p(zt)[i] == 0.0f;
    for (int i = 0; i < 2; i++)
        zero = zero && sdf_tensor_f32p(zp)[i] == 0.0f;
    CHECK(zero && sdf_tensor_f32p(zc->u.cond.e[0].cond)[0] == 1.0f);
    sdf_value_release(o);

    sdf_value *vals[] = {zc, t0, t1, mode, mv, c, w, h, x, y, st, fw, fh, fx, fy};
    for (size_t i = 0; i < SDF_COUNTOF(vals); i++)
        sdf_value_release(vals[i]);
}

static void test_text_encode_node(void) {
    NEED_REFERENCE();
    sdf_clip *clip = fx_load_clip("tiny-sd1.safetensors");
    REQUIRE(clip);
    sdf_error  err = {0};
    sdf_value *cv = sdf_value_handle(SDF_VT_CLIP, clip, &sdf_clip_handle);
    sdf_value *txt = sdf_value_string("a photo of a cat");
    sdf_value *args[2] = {txt, cv};
    sdf_value *o = run("CLIPTextEncode", args, 2, &err);
    REQUIRE(o && o->u.cond.n == 1);
    sdf_tensor *last = fx_golden("golden/clip.safetensors", "last_hidden_state");
    REQUIRE(last);
    test_compare("CLIPTextEncode", sdf_tensor_f32p(o->u.cond.e[0].cond), sdf_tensor_f32p(last),
                 77 * 64, 1e-4, 5e-5);
    CHECK(o->u.cond.e[0].pooled && o->u.cond.e[0].pooled->shape[1] == 64);
    sdf_value_release(o);

    /* CLIPSetLastLayer -2 -> penultimate; the input CLIP is unchanged */
    sdf_value *layer = sdf_value_int(-2);
    sdf_value *largs[2] = {cv, layer};
    sdf_value *c2 = run("CLIPSetLastLayer", largs, 2, &err);
    REQUIRE(c2 && c2->type == SDF_VT_CLIP);
    CHECK(((sdf_clip *)c2->u.handle.obj)->layer_idx == -2 && clip->layer_idx == 0);
    args[1] = c2;
    o = run("CLIPTextEncode", args, 2, &err);
    REQUIRE(o);
    sdf_tensor *pen = fx_golden("golden/clip.safetensors", "penultimate_ln");
    REQUIRE(pen);
    test_compare("skip -2 node", sdf_tensor_f32p(o->u.cond.e[0].cond), sdf_tensor_f32p(pen),
                 77 * 64, 1e-4, 5e-5);
    sdf_value_release(o);
    sdf_tensor_release(pen);
    sdf_tensor_release(last);
    sdf_value_release(c2);
    sdf_value_release(layer);
    sdf_value_release(txt);
    sdf_value_release(cv);
}

int main(void) {
    sdf_builtin_registry(&g_store, &g_reg);
    RUN(test_definitions);
    RUN(test_combine_concat);
    RUN(test_average);
    RUN(test_setters);
    RUN(test_text_encode_node);
    return test_summary();
}
