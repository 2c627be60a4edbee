/* test_ckpt.c: the non-executing torch checkpoint reader on files assembled here byte by byte
 * (a zip container and pickle protocol 2 as torch.save writes them, and the legacy stream):
 * values, dtypes, strides and storage offsets; state_dict unwrapping; disallowed globals (os.system
 * and friends) refused; every truncation and many corruptions rejected without a crash. */
#include <stdint.h>
#include <unistd.h>

#include "../core/base/alloc.h"
#include "../core/io/ckpt.h"
#include "../core/models/checkpoint.h"
#include "testing.h"

typedef struct buf {
    unsigned char *d;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->d = realloc(b->d, b->cap);
    }
    memcpy(b->d + b->n, p, n);
    b->n += n;
}
static void put1(buf *b, unsigned v) { unsigned char c = (unsigned char)v; put(b, &c, 1); }
static void put16(buf *b, unsigned v) { put1(b, v & 255); put1(b, v >> 8); }
static void put32(buf *b, uint32_t v) { put16(b, v & 0xffff); put16(b, v >> 16); }
static void pstr(buf *b, const char *s) { put1(b, 'X'); put32(b, (uint32_t)strlen(s)); put(b, s, strlen(s)); }
static void pglobal(buf *b, const char *mod, const char *name) {
    put1(b, 'c'); put(b, mod, strlen(mod)); put1(b, '\n'); put(b, name, strlen(name)); put1(b, '\n');
}
static void pint(buf *b, int v) { put1(b, 'J'); put32(b, (uint32_t)v); }

/* tensor = _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()) */
static void ptensor(buf *b, const char *stype, const char *key, int numel, int offset, int nd,
                    const int *size, const int *stride) {
    pglobal(b, "torch._utils", "_rebuild_tensor_v2");
    put1(b, '(');
    put1(b, '(');
    pstr(b, "storage");
    pglobal(b, "torch", stype);
    pstr(b, key);
    pstr(b, "cpu");
    pint(b, numel);
    put1(b, 't');
    put1(b, 'Q');
    pint(b, offset);
    put1(b, '(');
    for (int i = 0; i < nd; i++) pint(b, size[i]);
    put1(b, 't');
    put1(b, '(');
    for (int i = 0; i < nd; i++) pint(b, stride[i]);
    put1(b, 't');
    put1(b, 0x89);
    pglobal(b, "collections", "OrderedDict");
    put1(b, ')');
    put1(b, 'R');
    put1(b, 't');
    put1(b, 'R');
}

typedef struct zfile {
    const char *name;
    const void *data;
    size_t n;
} zfile;

static void make_zip(buf *out, const zfile *f, int nf) {
    uint32_t offs[16];
    for (int i = 0; i < nf; i++) {
        offs[i] = (uint32_t)out->n;
        put32(out, 0x04034b50); put16(out, 20); put16(out, 0); put16(out, 0);
        put16(out, 0); put16(out, 0); put32(out, 0);
        put32(out, (uint32_t)f[i].n); put32(out, (uint32_t)f[i].n);
        put16(out, (unsigned)strlen(f[i].name)); put16(out, 0);
        put(out, f[i].name, strlen(f[i].name));
        put(out, f[i].data, f[i].n);
    }
    uint32_t cd = (uint32_t)out->n;
    for (int i = 0; i < nf; i++) {
        put32(out, 0x02014b50); put16(out, 20); put16(out, 20); put16(out, 0); put16(out, 0);
        put16(out, 0); put16(out, 0); put32(out, 0);
        put32(out, (uint32_t)f[i].n); put32(out, (uint32_t)f[i].n);
        put16(out, (unsigned)strlen(f[i].name)); put16(out, 0); put16(out, 0); put16(out, 0);
        put16(out, 0); put32(out, 0); put32(out, offs[i]);
        put(out, f[i].name, strlen(f[i].name));
    }
    uint32_t cds = (uint32_t)out->n - cd;
    put32(out, 0x06054b50); put16(out, 0); put16(out, 0); put16(out, (unsigned)nf);
    put16(out, (unsigned)nf); put32(out, cds); put32(out, cd); put16(out, 0);
}

static float s0[8] = {0, 1, 2, 3, 4, 5, 6, 7};
static uint16_t s1[3];

/* {"state_dict": {"w": f32 [2,3] at offset 2, "h": f16 [3], "t": f32 [2,2] stride [1,2]},
 *  "epoch": 3} */
static void valid_ckpt(buf *z) {
    buf p = {0};
    put1(&p, 0x80); put1(&p, 2);
    put1(&p, '}');
    put1(&p, '(');
    pstr(&p, "state_dict");
    pglobal(&p, "collections", "OrderedDict");
    put1(&p, ')');
    put1(&p, 'R');
    put1(&p, '(');
    pstr(&p, "w");
    ptensor(&p, "FloatStorage", "0", 8, 2, 2, (int[]){2, 3}, (int[]){3, 1});
    pstr(&p, "h");
    ptensor(&p, "HalfStorage", "1", 3, 0, 1, (int[]){3}, (int[]){1});
    pstr(&p, "t");
    ptensor(&p, "FloatStorage", "0", 8, 0, 2, (int[]){2, 2}, (int[]){1, 2});
    put1(&p, 'u');
    pstr(&p, "epoch");
    pint(&p, 3);
    put1(&p, 'u');
    put1(&p, '.');
    for (int i = 0; i < 3; i++) s1[i] = sdf_f32_to_f16(0.5f * (float)(i + 1));
    zfile f[] = {{"archive/data.pkl", p.d, p.n}, {"archive/data/0", s0, sizeof s0},
                 {"archive/data/1", s1, sizeof s1}, {"archive/version", "3\n", 2}};
    make_zip(z, f, 4);
    free(p.d);
}

static void test_valid(void) {
    buf z = {0};
    valid_ckpt(&z);
    sdf_error err;
    sdf_error_clear(&err);
    sdf_wstore *w = sdf_wstore_new(&err);
    sdf_status st = sdf_ckpt_load_memory(z.d, z.n, "mem.ckpt", w, "pre.", &err);
    CHECKF(st == SDF_OK, "%s", err.msg);
    REQUIRE(st == SDF_OK);
    CHECK(sdf_wstore_count(w) == 3);
    sdf_tensor *t = sdf_wstore_get_f32(w, "pre.w", &err);
    REQUIRE(t && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3);
    for (int i = 0; i < 6; i++) CHECK(sdf_tensor_f32p(t)[i] == (float)(i + 2));
    sdf_tensor_release(t);
    sdf_wstore_info in;
    CHECK(sdf_wstore_info_of(w, "pre.h", &in) && in.dtype == SDF_DTYPE_F16);
    t = sdf_wstore_get_f32(w, "pre.h", &err);
    REQUIRE(t);
    CHECK(sdf_tensor_f32p(t)[2] == 1.5f);
    sdf_tensor_release(t);
    t = sdf_wstore_get_f32(w, "pre.t", &err); /* transposed view: [[0,2],[1,3]] */
    REQUIRE(t);
    CHECK(sdf_tensor_f32p(t)[0] == 0 && sdf_tensor_f32p(t)[1] == 2 && sdf_tensor_f32p(t)[2] == 1 &&
          sdf_tensor_f32p(t)[3] == 3);
    sdf_tensor_release(t);
    sdf_wstore_release(w);
    /* through a file on disk (mmap path) */
    char path[256];
    snprintf(path, sizeof path, "/tmp/sdf_test_ckpt_%d.ckpt", (int)getpid());
    FILE *fp = fopen(path, "wb");
    fwrite(z.d, 1, z.n, fp);
    fclose(fp);
    CHECK(sdf_ckpt_sniff(path) == SDF_CKPT_KIND_ZIP);
    w = sdf_wstore_new(&err);
    CHECK(sdf_ckpt_load_into(path, w, NULL, &err) == SDF_OK);
    CHECK(sdf_wstore_has(w, "w") && sdf_wstore_has(w, "t"));
    sdf_wstore_release(w);
    /* a .ckpt that is not a Stable Diffusion checkpoint: detection error, not a crash */
    sdf_model *m = NULL;
    CHECK(sdf_checkpoint_load(path, NULL, &m, NULL, NULL, &err) == SDF_ERR_UNSUPPORTED);
    unlink(path);
    free(z.d);
}

static sdf_status load_pickle_only(const buf *p, sdf_error *err) {
    buf z = {0};
    zfile f[] = {{"archive/data.pkl", p->d, p->n}};
    make_zip(&z, f, 1);
    sdf_wstore *w = sdf_wstore_new(err);
    sdf_status st = sdf_ckpt_load_memory(z.d, z.n, "evil.ckpt", w, NULL, err);
    sdf_wstore_release(w);
    free(z.d);
    return st;
}

static void test_malicious(void) {
    static const char *const evil[][2] = {{"os", "system"}, {"posix", "system"},
                                          {"builtins", "eval"}, {"subprocess", "Popen"},
                                          {"torch", "load"}};
    for (size_t i = 0; i < SDF_COUNTOF(evil); i++) {
        buf p = {0};
        put1(&p, 0x80); put1(&p, 2);
        pglobal(&p, evil[i][0], evil[i][1]);
        pstr(&p, "touch /tmp/sdf_pwned");
        put1(&p, 0x85);
        put1(&p, 'R');
        put1(&p, '.');
        sdf_error err;
        sdf_error_clear(&err);
        CHECK(load_pickle_only(&p, &err) == SDF_ERR_UNSUPPORTED);
        char want[128];
        snprintf(want, sizeof want, "%s.%s", evil[i][0], evil[i][1]);
        CHECKF(strstr(err.msg, want) != NULL, "%s", err.msg);
        free(p.d);
    }
    CHECK(access("/tmp/sdf_pwned", F_OK) != 0);
    /* STACK_GLOBAL form and NEWOBJ */
    buf p = {0};
    put1(&p, 0x80); put1(&p, 4);
    put1(&p, 0x8c); put1(&p, 2); put(&p, "os", 2);
    put1(&p, 0x8c); put1(&p, 6); put(&p, "system", 6);
    put1(&p, 0x93);
    put1(&p, ')');
    put1(&p, 0x81);
    put1(&p, '.');
    sdf_error err;
    CHECK(load_pickle_only(&p, &err) == SDF_ERR_UNSUPPORTED);
    free(p.d);
    /* unknown opcodes (e.g. INST 'i', OBJ 'o', EXT1) are refused */
    const unsigned char bad_ops[] = {'i', 'o', 0x82, 'P'};
    for (size_t i = 0; i < sizeof bad_ops; i++) {
        buf q = {0};
        put1(&q, 0x80); put1(&q, 2); put1(&q, bad_ops[i]); put(&q, "os\nsystem\n", 10); put1(&q, '.');
        CHECK(load_pickle_only(&q, &err) != SDF_OK);
        free(q.d);
    }
}

static void test_truncated_and_corrupt(void) {
    buf z = {0};
    valid_ckpt(&z);
    sdf_error err;
    int ok = 0;
    for (size_t n = 0; n < z.n; n++) {
        sdf_wstore *w = sdf_wstore_new(&err);
        if (sdf_ckpt_load_memory(z.d, n, "trunc.ckpt", w, NULL, &err) == SDF_OK) ok++;
        sdf_wstore_release(w);
    }
    CHECK(ok == 0);
    uint64_t s = 99;
    unsigned char *c = malloc(z.n);
    int survived = 0;
    for (int k = 0; k < 3000; k++) {
        memcpy(c, z.d, z.n);
        for (int j = 0; j < 3; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(s >> 33) % z.n;
            c[at] = (unsigned char)(s >> 20);
        }
        sdf_wstore *w = sdf_wstore_new(&err);
        sdf_ckpt_load_memory(c, z.n, "corrupt.ckpt", w, NULL, &err); /* any status; no crash */
        /* whatever loaded must be readable */
        for (size_t i = 0; i < sdf_wstore_count(w); i++) {
            sdf_wstore_info in;
            sdf_wstore_info_at(w, i, &in);
            sdf_tensor *t = sdf_wstore_get_f32(w, in.name, &err);
            sdf_tensor_release(t);
        }
        sdf_wstore_release(w);
        survived++;
    }
    CHECK(survived == 3000);
    free(c);
    /* a tensor reaching past its storage */
    buf p = {0};
    put1(&p, 0x80); put1(&p, 2);
    put1(&p, '}');
    pstr(&p, "w");
    ptensor(&p, "FloatStorage", "0", 8, 4, 2, (int[]){2, 3}, (int[]){3, 1});
    put1(&p, 's');
    put1(&p, '.');
    buf z2 = {0};
    zfile f[] = {{"a/data.pkl", p.d, p.n}, {"a/data/0", s0, sizeof s0}};
    make_zip(&z2, f, 2);
    sdf_wstore *w = sdf_wstore_new(&err);
    CHECK(sdf_ckpt_load_memory(z2.d, z2.n, "past.ckpt", w, NULL, &err) == SDF_ERR_PARSE);
    CHECKF(strstr(err.msg, "past its storage") != NULL, "%s", err.msg);
    sdf_wstore_release(w);
    free(p.d);
    free(z2.d);
    free(z.d);
}

/* Legacy stream: magic (LONG1, 10 bytes), protocol 1001, sys_info {}, the dict, the key list,
 * then each storage as u64 count + data. */
static void test_legacy(void) {
    buf b = {0};
    static const unsigned char magic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    put1(&b, 0x80); put1(&b, 2); put1(&b, 0x8a); put1(&b, 10); put(&b, magic, 10); put1(&b, '.');
    put1(&b, 0x80); put1(&b, 2); pint(&b, 1001); put1(&b, '.');
    put1(&b, 0x80); put1(&b, 2); put1(&b, '}'); put1(&b, '.');
    put1(&b, 0x80); put1(&b, 2);
    put1(&b, '}');
    pstr(&b, "k.weight");
    ptensor(&b, "FloatStorage", "94", 8, 1, 1, (int[]){4}, (int[]){2});
    put1(&b, 's');
    put1(&b, '.');
    put1(&b, 0x80); put1(&b, 2); put1(&b, ']'); put1(&b, '('); pstr(&b, "94"); put1(&b, 'e'); put1(&b, '.');
    uint64_t cnt = 8;
    put(&b, &cnt, 8);
    put(&b, s0, sizeof s0);
    sdf_error err;
    sdf_wstore *w = sdf_wstore_new(&err);
    sdf_status st = sdf_ckpt_load_memory(b.d, b.n, "legacy.ckpt", w, NULL, &err);
    CHECKF(st == SDF_OK, "%s", err.msg);
    sdf_tensor *t = sdf_wstore_get_f32(w, "k.weight", &err);
    REQUIRE(t && t->shape[0] == 4);
    CHECK(sdf_tensor_f32p(t)[0] == 1 && sdf_tensor_f32p(t)[3] == 7);
    sdf_tensor_release(t);
    sdf_wstore_release(w);
    for (size_t n = 0; n < b.n; n++) {
        w = sdf_wstore_new(&err);
        CHECK(sdf_ckpt_load_memory(b.d, n, "legacy.ckpt", w, NULL, &err) != SDF_OK);
        sdf_wstore_release(w);
    }
    free(b.d);
}

/* A1111 textual-inversion layout: the vector sits in a nested dict, found as "string_to_param.*";
 * zip and legacy containers. */
static void test_nested_embedding(void) {
    for (int legacy = 0; legacy < 2; legacy++) {
        buf p = {0};
        put1(&p, 0x80); put1(&p, 2);
        put1(&p, '}');
        put1(&p, '(');
        pstr(&p, "string_to_token");
        put1(&p, '}'); pstr(&p, "*"); pint(&p, 265); put1(&p, 's');
        pstr(&p, "string_to_param");
        put1(&p, '}'); pstr(&p, "*");
        ptensor(&p, "FloatStorage", "7", 8, 0, 2, (int[]){2, 4}, (int[]){4, 1});
        put1(&p, 's');
        pstr(&p, "name"); pstr(&p, "emb");
        pstr(&p, "step"); pint(&p, 10);
        put1(&p, 'u');
        put1(&p, '.');
        buf z = {0};
        if (!legacy) {
            zfile f[] = {{"emb/data.pkl", p.d, p.n}, {"emb/data/7", s0, sizeof s0}};
            make_zip(&z, f, 2);
        } else {
            static const unsigned char magic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
            put1(&z, 0x80); put1(&z, 2); put1(&z, 0x8a); put1(&z, 10); put(&z, magic, 10); put1(&z, '.');
            put1(&z, 0x80); put1(&z, 2); pint(&z, 1001); put1(&z, '.');
            put1(&z, 0x80); put1(&z, 2); put1(&z, '}'); put1(&z, '.');
            put(&z, p.d, p.n);
            put1(&z, 0x80); put1(&z, 2); put1(&z, ']'); put1(&z, '('); pstr(&z, "7"); put1(&z, 'e'); put1(&z, '.');
            uint64_t cnt = 8;
            put(&z, &cnt, 8);
            put(&z, s0, sizeof s0);
        }
        sdf_error err;
        sdf_error_clear(&err);
        sdf_wstore *w = sdf_wstore_new(&err);
        sdf_status st = sdf_ckpt_load_memory(z.d, z.n, "emb.pt", w, NULL, &err);
        CHECKF(st == SDF_OK, "%s: %s", legacy ? "legacy" : "zip", err.msg);
        CHECK(sdf_wstore_count(w) == 1);
        sdf_tensor *t = sdf_wstore_get_f32(w, "string_to_param.*", &err);
        CHECKF(t && t->shape[0] == 2 && t->shape[1] == 4, "%s", legacy ? "legacy" : "zip");
        if (t) CHECK(sdf_tensor_f32p(t)[7] == 7.0f);
        sdf_tensor_release(t);
        sdf_wstore_release(w);
        free(p.d);
        free(z.d);
    }
}

/* Files written once by torch 1.13's torch.save (tests/fuzz/corpus/fuzz_ckpt/README.md): the
 * values below were printed by torch when they were made. */
static void check_torch_file(const char *name, bool legacy) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/fuzz_ckpt/%s", SDF_SOURCE_DIR, name);
    sdf_error err;
    sdf_error_clear(&err);
    sdf_wstore *w = sdf_wstore_new(&err);
    sdf_status st = sdf_ckpt_load_into(path, w, NULL, &err);
    CHECKF(st == SDF_OK, "%s: %s", name, err.msg);
    CHECK(sdf_ckpt_sniff(path) == (legacy ? SDF_CKPT_KIND_PICKLE : SDF_CKPT_KIND_ZIP));
    if (st == SDF_OK) {
        CHECK(sdf_wstore_count(w) == 6); /* epoch / global_step are not tensors */
        struct { const char *n; sdf_dtype dt; int nd; int64_t s0, s1; float v0, v1; } want[] = {
            {"a.weight", SDF_DTYPE_F16, 2, 3, 4, 1.541015625f, -0.29345703125f},
            {"b", SDF_DTYPE_F32, 2, 3, 4, -0.8566746115684509f, 0.1227012425661087f},
            {"c", SDF_DTYPE_F32, 2, 3, 6, -1.5311843156814575f, -1.2341350317001343f},
            {"d", SDF_DTYPE_I64, 1, 7, 0, 0.0f, 1.0f},
            {"p", SDF_DTYPE_F32, 2, 2, 2, 1.0f, 1.0f},
        };
        for (size_t i = 0; i < SDF_COUNTOF(want); i++) {
            sdf_wstore_info in;
            REQUIRE(sdf_wstore_info_of(w, want[i].n, &in));
            CHECKF(in.dtype == want[i].dt && in.ndim == want[i].nd && in.shape[0] == want[i].s0 &&
                   (in.ndim < 2 || in.shape[1] == want[i].s1), "%s", want[i].n);
            sdf_tensor *t = sdf_wstore_get_f32(w, want[i].n, &err);
            REQUIRE(t);
            CHECKF(sdf_tensor_f32p(t)[0] == want[i].v0 && sdf_tensor_f32p(t)[1] == want[i].v1,
                   "%s: %.9g %.9g", want[i].n, sdf_tensor_f32p(t)[0], sdf_tensor_f32p(t)[1]);
            sdf_tensor_release(t);
        }
        sdf_tensor *e = sdf_wstore_get_f32(w, "e", &err);
        CHECK(e && e->ndim == 0 && sdf_tensor_f32p(e)[0] == 2.5f);
        sdf_tensor_release(e);
    }
    sdf_wstore_release(w);
}

static void test_torch_files(void) {
    check_torch_file("torch_zip_state_dict.ckpt", false);
    check_torch_file("torch_legacy.ckpt", true);
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/fuzz_ckpt/torch_bf16.pt", SDF_SOURCE_DIR);
    sdf_error err;
    sdf_wstore *w = sdf_wstore_new(&err);
    REQUIRE(sdf_ckpt_load_into(path, w, NULL, &err) == SDF_OK);
    sdf_tensor *x = sdf_wstore_get_f32(w, "x", &err);
    REQUIRE(x && x->shape[0] == 2 && x->shape[1] == 3);
    CHECK(sdf_tensor_f32p(x)[0] == 1.890625f && sdf_tensor_f32p(x)[1] == 3.109375f);
    sdf_tensor_release(x);
    sdf_wstore_release(w);
}

int main(void) {
    RUN(test_valid);
    RUN(test_malicious);
    RUN(test_truncated_and_corrupt);
    RUN(test_legacy);
    RUN(test_torch_files);
    RUN(test_nested_embedding);
    return test_summary();
}
