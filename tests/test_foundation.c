/* test_foundation.c: base, tensor, dtype, safetensors, thread pool, values, weight store. */
#include <stdint.h>
#include <unistd.h>

#include "../core/base/alloc.h"
#include "../core/base/sha256.h"
#include "../core/base/threadpool.h"
#include "../core/io/safetensors.h"
#include "../core/models/wstore.h"
#include "../core/graph/value.h"
#include "testing.h"

static void test_sha256_vectors(void) {
    uint8_t d[32];
    char hex[65];
    sdf_sha256_buf("abc", 3, d);
    sdf_sha256_hex(d, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sdf_sha256_buf("", 0, d);
    sdf_sha256_hex(d, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sdf_sha256 c;
    sdf_sha256_init(&c);
    for (size_t i = 0; i < strlen(m); i++) sdf_sha256_update(&c, m + i, 1); /* streaming */
    sdf_sha256_final(&c, d);
    sdf_sha256_hex(d, hex);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* The SHA-NI compression (when this CPU has it) equals the scalar reference for random buffers of
 * many lengths (odd ones, partial blocks, multi-block runs) fed in odd-sized pieces, plus the
 * FIPS 180-4 million-'a' vector through the dispatching init. */
static void test_sha256_kernels(void) {
    enum { N = 5000 };
    static uint8_t buf[N];
    uint64_t z = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        z ^= z << 13, z ^= z >> 7, z ^= z << 17;
        buf[i] = (uint8_t)z;
    }
    const size_t lens[] = {0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 191, 1000, 4097, N};
    const size_t pieces[] = {1, 7, 64, 100, 4096};
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++)
        for (size_t pi = 0; pi < sizeof pieces / sizeof *pieces; pi++) {
            sdf_sha256 fast, ref;
            sdf_sha256_init(&fast);
            sdf_sha256_init_scalar(&ref);
            for (size_t o = 0; o < lens[li]; o += pieces[pi]) {
                size_t k = lens[li] - o < pieces[pi] ? lens[li] - o : pieces[pi];
                sdf_sha256_update(&fast, buf + o, k);
                sdf_sha256_update(&ref, buf + o, k);
            }
            uint8_t a[32], b[32];
            sdf_sha256_final(&fast, a);
            sdf_sha256_final(&ref, b);
            CHECKF(memcmp(a, b, 32) == 0, "length %zu in pieces of %zu", lens[li], pieces[pi]);
        }
    static uint8_t mil[1000000];
    memset(mil, 'a', sizeof mil);
    uint8_t d[32];
    char hex[65];
    sdf_sha256_buf(mil, sizeof mil, d);
    sdf_sha256_hex(d, hex);
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_f16_bf16(void) {
    CHECK(sdf_f32_to_f16(1.0f) == 0x3c00);
    CHECK(sdf_f32_to_f16(-2.0f) == 0xc000);
    CHECK(sdf_f32_to_f16(65504.0f) == 0x7bff);
    CHECK(sdf_f32_to_f16(65520.0f) == 0x7c00);        /* rounds to inf */
    CHECK(sdf_f32_to_f16(5.9604645e-8f) == 0x0001);   /* smallest subnormal */
    CHECK(sdf_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00); /* tie to even */
    CHECK(sdf_f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);
    for (uint32_t h = 0; h < 0x7c00; h++) /* every finite positive f16 round-trips */
        if (sdf_f32_to_f16(sdf_f16_to_f32((uint16_t)h)) != h) { CHECKF(0, "f16 %04x", h); break; }
    /* the vectorised bulk conversion equals the scalar one for every f16 bit pattern */
    {
        static uint16_t all[65536];
        static float wide[65536];
        for (uint32_t h = 0; h < 65536; h++) all[h] = (uint16_t)h;
        sdf_convert_to_f32(SDF_DTYPE_F16, all, wide, 65536);
        int same = 1;
        for (uint32_t h = 0; h < 65536; h++) {
            float r = sdf_f16_to_f32((uint16_t)h);
            if (memcmp(&r, &wide[h], 4) != 0 && !(r != r && wide[h] != wide[h])) { same = 0; break; }
        }
        CHECK(same);
        sdf_convert_to_f32(SDF_DTYPE_BF16, all, wide, 65535); /* odd count */
        same = 1;
        for (uint32_t h = 0; h < 65535; h++) {
            float r = sdf_bf16_to_f32((uint16_t)h);
            if (memcmp(&r, &wide[h], 4) != 0) { same = 0; break; }
        }
        CHECK(same);
    }
    CHECK(sdf_bf16_to_f32(0x3f80) == 1.0f);
    CHECK(sdf_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(sdf_f32_to_bf16(1.00390625f) == 0x3f80); /* tie to even */
    CHECK(sdf_f8e4m3_to_f32(0x38) == 1.0f);
    CHECK(sdf_f8e4m3_to_f32(0x7e) == 448.0f);
    CHECK(sdf_f8e5m2_to_f32(0x3c) == 1.0f);
}

static void test_tensor_views(void) {
    sdf_error err = {0};
    sdf_tensor *t = sdf_tensor_f32(&err, 3, (int64_t)4, (int64_t)2, (int64_t)3);
    REQUIRE(t);
    for (int i = 0; i < 24; i++) sdf_tensor_f32p(t)[i] = (float)i;
    int64_t shp[2] = {8, 3};
    sdf_tensor *r = sdf_tensor_reshape(t, 2, shp, &err);
    sdf_tensor *s = sdf_tensor_slice0(t, 1, 3, &err);
    REQUIRE(r && s);
    sdf_tensor_release(t); /* views keep it alive */
    CHECK(sdf_tensor_f32p(r)[23] == 23.0f);
    CHECK(s->shape[0] == 2 && sdf_tensor_f32p(s)[0] == 6.0f);
    int64_t bad[1] = {7};
    CHECK(sdf_tensor_reshape(r, 1, bad, &err) == NULL && err.code == SDF_ERR_SHAPE);
    CHECK(sdf_tensor_slice0(s, 1, 5, &err) == NULL);
    int64_t huge[3] = {INT64_MAX / 2, 4, 4};
    CHECK(sdf_tensor_new(SDF_DTYPE_F32, 3, huge, &err) == NULL);
    sdf_tensor_release(r);
    sdf_tensor_release(s);
}

static void pool_fill(void *ctx, size_t b, size_t e, int slot) {
    int *v = ctx;
    (void)slot;
    for (size_t i = b; i < e; i++) v[i] += (int)i;
}

typedef struct nested_ctx {
    sdf_pool *pool;
    int      *v;
} nested_ctx;

static void pool_nested(void *ctx, size_t b, size_t e, int slot) {
    nested_ctx *n = ctx;
    (void)slot;
    for (size_t i = b; i < e; i++) sdf_pool_for(n->pool, 100, 7, pool_fill, n->v + i * 100);
}

static void test_threadpool(void) {
    sdf_error err = {0};
    sdf_pool *p = NULL;
    REQUIRE(sdf_pool_new(3, &p, &err) == SDF_OK);
    int v[1000] = {0};
    sdf_pool_for(p, 1000, 0, pool_fill, v);
    sdf_pool_for(p, 1000, 13, pool_fill, v);
    int ok = 1;
    for (int i = 0; i < 1000; i++) ok &= v[i] == 2 * i;
    CHECK(ok);
    int w[20 * 100] = {0};
    nested_ctx nc = {p, w};
    sdf_pool_for(p, 20, 1, pool_nested, &nc); /* nested calls never deadlock */
    ok = 1;
    for (int i = 0; i < 2000; i++) ok &= w[i] == i % 100;
    CHECK(ok);
    sdf_pool_free(p);
}

static void test_safetensors_roundtrip(void) {
    sdf_error err = {0};
    char path[] = "/tmp/sdf_test_st_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    sdf_st_writer *w = sdf_st_writer_new();
    sdf_tensor *a = sdf_tensor_f32(&err, 2, (int64_t)2, (int64_t)3);
    for (int i = 0; i < 6; i++) sdf_tensor_f32p(a)[i] = (float)i * 0.5f;
    int64_t hs[1] = {3};
    sdf_tensor *h = sdf_tensor_new(SDF_DTYPE_F16, 1, hs, &err);
    uint16_t *hp = h->data;
    hp[0] = 0x3c00; hp[1] = 0xc000; hp[2] = 0;
    CHECK(sdf_st_writer_add(w, "b.half", h, &err) == SDF_OK);
    CHECK(sdf_st_writer_add(w, "a.float", a, &err) == SDF_OK);
    CHECK(sdf_st_writer_add(w, "a.float", a, &err) != SDF_OK); /* duplicate */
    CHECK(sdf_st_writer_meta(w, "format", "pt", &err) == SDF_OK);
    CHECK(sdf_st_writer_save(w, path, &err) == SDF_OK);
    sdf_st_writer_free(w);
    sdf_tensor_release(h);
    sdf_st_file *f = NULL;
    REQUIRE(sdf_st_open(path, &f, &err) == SDF_OK);
    CHECK(sdf_st_count(f) == 2);
    CHECK_STR(sdf_st_meta_get(f, "format"), "pt");
    sdf_tensor *ra = sdf_st_tensor_f32(f, "a.float", &err);
    sdf_tensor *rh = sdf_st_tensor_f32(f, "b.half", &err);
    REQUIRE(ra && rh);
    CHECK(memcmp(ra->data, a->data, 24) == 0);
    CHECK(sdf_tensor_f32p(rh)[0] == 1.0f && sdf_tensor_f32p(rh)[1] == -2.0f);
    CHECK(sdf_st_tensor(f, "nope", &err) == NULL && err.code == SDF_ERR_NOT_FOUND);
    sdf_st_close(f); /* tensors keep the mapping alive */
    CHECK(sdf_tensor_f32p(ra)[5] == 2.5f);
    sdf_tensor_release(ra);
    sdf_tensor_release(rh);
    sdf_tensor_release(a);
    unlink(path);
}

/* Builds a file image: 8-byte length + header + data. */
static size_t make_image(unsigned char *buf, const char *hdr, size_t data_len, int64_t len_override) {
    size_t hl = strlen(hdr);
    uint64_t L = len_override >= 0 ? (uint64_t)len_override : hl;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(L >> (8 * i));
    memcpy(buf + 8, hdr, hl);
    memset(buf + 8 + hl, 0, data_len);
    return 8 + hl + data_len;
}

static void test_safetensors_malformed(void) {
    static const struct { const char *hdr; size_t data; int64_t len; const char *needle; } cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, -1, NULL},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, -1, "past end"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, -1, "needs 12 bytes"},
        {"{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, -1, "unknown dtype"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, -1, "overlaps"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, -1, "twice"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, -1, "reversed"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, -1, "shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, -1, "not valid JSON"},
        {"[1,2]", 0, -1, "not a JSON object"},
        {"{}", 0, 200000000, "100 MB"},
        {"{}", 0, 1000, "past end of file"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8,
         -1, "shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, -1, "data_offsets"},
        {"{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}",
         8, -1, NULL},
    };
    unsigned char buf[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sdf_error err = {0};
        size_t n = make_image(buf, cases[i].hdr, cases[i].data, cases[i].len);
        sdf_st_file *f = NULL;
        sdf_status st = sdf_st_open_memory(buf, n, "case.safetensors", &f, &err);
        if (!cases[i].needle) {
            CHECKF(st == SDF_OK, "case %zu: %s", i, err.msg);
        } else {
            CHECKF(st != SDF_OK && strstr(err.msg, cases[i].needle), "case %zu: got \"%s\"", i, err.msg);
            CHECK_STR(err.path, "case.safetensors");
        }
        sdf_st_close(f);
    }
    /* every truncation of a valid file fails cleanly or parses a prefix-consistent header */
    size_t n = make_image(buf, cases[0].hdr, cases[0].data, -1);
    for (size_t cut = 0; cut < n; cut++) {
        sdf_error err = {0};
        sdf_st_file *f = NULL;
        CHECK(sdf_st_open_memory(buf, cut, "t", &f, &err) != SDF_OK);
        sdf_st_close(f);
    }
    /* random byte corruption never crashes */
    unsigned s = 1;
    for (int trial = 0; trial < 2000; trial++) {
        unsigned char c[1024];
        memcpy(c, buf, n);
        for (int k = 0; k < 3; k++) {
            s = s * 1103515245u + 12345u;
            c[(s >> 8) % n] = (unsigned char)(s >> 20);
        }
        sdf_error err = {0};
        sdf_st_file *f = NULL;
        if (sdf_st_open_memory(c, n, "t", &f, &err) == SDF_OK) sdf_st_close(f);
    }
}

static void test_wstore_overlay(void) {
    sdf_error err = {0};
    sdf_wstore *w = sdf_wstore_new(&err);
    sdf_tensor *a = sdf_tensor_f32(&err, 1, (int64_t)4);
    sdf_tensor *b = sdf_tensor_f32(&err, 1, (int64_t)4);
    sdf_tensor_f32p(b)[0] = 7;
    CHECK(sdf_wstore_put(w, "x.weight", a, &err) == SDF_OK);
    CHECK(sdf_wstore_put(w, "y.weight", a, &err) == SDF_OK);
    sdf_wstore *o = sdf_wstore_overlay(w, &err);
    REQUIRE(o);
    CHECK(sdf_wstore_put(o, "x.weight", b, &err) == SDF_OK);
    CHECK(sdf_wstore_same_slot(w, o, "y.weight"));
    CHECK(!sdf_wstore_same_slot(w, o, "x.weight"));
    sdf_tensor *bx = sdf_wstore_get_f32(w, "x.weight", &err), *ox = sdf_wstore_get_f32(o, "x.weight", &err);
    REQUIRE(bx && ox);
    CHECK(sdf_tensor_f32p(bx)[0] == 0 && sdf_tensor_f32p(ox)[0] == 7);
    CHECK(sdf_wstore_get_f32(o, "z", &err) == NULL && strstr(err.msg, "'z'"));
    sdf_tensor_release(bx);
    sdf_tensor_release(ox);
    sdf_tensor_release(a);
    sdf_tensor_release(b);
    sdf_wstore_release(w);
    sdf_wstore_release(o);
}

static void test_reference_checkpoint_opens(void) {
    NEED_REFERENCE();
    sdf_error err = {0};
    sdf_st_file *f = NULL;
    REQUIRE(sdf_st_open(test_ref_path("tiny-sd1-fp16.safetensors"), &f, &err) == SDF_OK);
    CHECK(sdf_st_find(f, "model.diffusion_model.input_blocks.0.0.weight") != NULL);
    CHECK(sdf_st_meta_get(f, "tiny_sd_config") != NULL);
    sdf_st_close(f);
}

static void test_alloc_accounting(void) {
    size_t live = sdf_alloc_live_bytes();
    void *p = sdf_malloc(1000);
    CHECK(sdf_alloc_live_bytes() == live + 1000);
    CHECK(sdf_alloc_peak_bytes() >= live + 1000);
    p = sdf_realloc(p, 5000);
    CHECK(sdf_alloc_live_bytes() == live + 5000);
    sdf_free(p);
    CHECK(sdf_alloc_live_bytes() == live);
    sdf_alloc_fail_after(0);
    CHECK(sdf_malloc(10) == NULL);
    void *q = sdf_malloc(10);
    CHECK(q != NULL);
    sdf_free(q);
    size_t o;
    CHECK(!sdf_mul_size(SIZE_MAX / 2, 3, &o));
}

int main(void) {
    RUN(test_sha256_vectors);
    RUN(test_sha256_kernels);
    RUN(test_f16_bf16);
    RUN(test_tensor_views);
    RUN(test_threadpool);
    RUN(test_safetensors_roundtrip);
    RUN(test_safetensors_malformed);
    RUN(test_wstore_overlay);
    RUN(test_reference_checkpoint_opens);
    RUN(test_alloc_accounting);
    return test_summary();
}
