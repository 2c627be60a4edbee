/* test_prompt.c: ComfyUI weight syntax, Python float() parsing and 77-token chunking.
 * Expected segment lists are ComfyUI's token_weights() outputs for the same strings. */
#include "core/base/alloc.h"
#include "core/models/prompt.h"
#include "tests/testing.h"

typedef struct seg {
    const char *text;
    double      w;
} seg;

static void check_parse(const char *in, const seg *want, size_t n_want) {
    sdf_prompt_segment *s;
    size_t              n;
    sdf_error           err = {0};
    if (sdf_prompt_parse_weights(in, &s, &n, &err) != SDF_OK) {
        CHECKF(0, "parse \"%s\": %s", in, err.msg);
        return;
    }
    bool same = n == n_want;
    for (size_t i = 0; same && i < n; i++) {
        same = strcmp(s[i].text, want[i].text) == 0 &&
               (s[i].weight == want[i].w || (isnan(s[i].weight) && isnan(want[i].w)));
    }
    CHECKF(same, "parse \"%s\": got %zu segments (first \"%s\" %.17g)", in, n, n ? s[0].text : "",
           n ? s[0].weight : 0.0);
    sdf_prompt_segments_free(s, n);
}

#define PARSE(in, ...)                                                                             \
    do {                                                                                           \
        static const seg w_[] = {__VA_ARGS__};                                                     \
        check_parse(in, w_, SDF_COUNTOF(w_));                                                      \
    } while (0)

static void test_weight_syntax(void) {
    const double w11 = 1.0 * 1.1, w121 = 1.0 * 1.1 * 1.1;
    PARSE("a (b) c", {"a ", 1.0}, {"b", w11}, {" c", 1.0});
    PARSE("((x))", {"x", w121});
    CHECK(w121 == 1.2100000000000002);
    PARSE("(x:1.3)", {"x", 1.3});
    PARSE("((x:1.3))", {"x", 1.3});
    PARSE("(:d:0.5)", {":d", 0.5});
    PARSE("(a:b)", {"a:b", w11});
    PARSE("a (b c:0.5) d", {"a ", 1.0}, {"b c", 0.5}, {" d", 1.0});
    PARSE("(a (b:1.5) c:0.8)", {"a ", 0.8}, {"b", 1.5}, {" c", 0.8});
    /* unbalanced brackets as ComfyUI treats them */
    PARSE("a) (b) c", {"a) (b) c", 1.0});
    PARSE("a ) ( b", {"a ) ( b", 1.0});
    PARSE("(unclosed", {"(unclosed", 1.0});
    PARSE("a (b", {"a ", 1.0}, {"(b", 1.0});
    PARSE("))((a))", {"))((a))", 1.0});
    /* escapes */
    PARSE("\\(a\\) (b)", {"(a) ", 1.0}, {"b", w11});
    PARSE("(a\\:1.2)", {"a\\", 1.2}); /* only parentheses escape */
    /* Python float() */
    PARSE("(x: 1.5 )", {"x", 1.5});
    PARSE("(x:1_0)", {"x", 10.0});
    PARSE("(x:0x10)", {"x:0x10", w11});
    PARSE("(x:inf)", {"x", INFINITY});
    PARSE("(x:-NaN)", {"x", NAN});
    PARSE("(x:1e3)", {"x", 1000.0});
    PARSE("(x:.5)", {"x", 0.5});
    PARSE("(x:5.)", {"x", 5.0});
    PARSE("(x:1__0)", {"x:1__0", w11});
    PARSE("(x:_1)", {"x:_1", w11});
    PARSE("(x:\xef\xbc\x91.\xef\xbc\x95)", {"x", 1.5}); /* fullwidth digits */
    PARSE("(:1.2)", {":1.2", w11});                     /* colon at position 0 */
    PARSE("a:b", {"a:b", 1.0});
    PARSE("(a:b:1.2)", {"a:b", 1.2});
    PARSE("x (y)z(w:2) v", {"x ", 1.0}, {"y", w11}, {"z", 1.0}, {"w", 2.0}, {" v", 1.0});
    PARSE("(a)(b:0.9)", {"a", w11}, {"b", 0.9});
    /* empty group gives nothing */
    sdf_prompt_segment *s;
    size_t              n;
    sdf_error           err = {0};
    REQUIRE(sdf_prompt_parse_weights("()", &s, &n, &err) == SDF_OK);
    CHECK(n == 0);
    sdf_prompt_segments_free(s, n);
    /* pathological nesting is an error, not a stack overflow */
    char *deep = sdf_malloc(20001);
    for (int i = 0; i < 10000; i++)
        deep[i] = '(', deep[19999 - i] = ')';
    deep[20000] = 0;
    CHECK(sdf_prompt_parse_weights(deep, &s, &n, &err) == SDF_ERR_INVALID);
    sdf_free(deep);
}

static void test_py_float(void) {
    double v;
#define OK(s, want) CHECKF(sdf_py_float(s, strlen(s), &v) && v == (want), "float(%s)", s)
#define BAD(s) CHECKF(!sdf_py_float(s, strlen(s), &v), "float(%s) should fail", s)
    OK("1.5", 1.5);
    OK(" 1.5 ", 1.5);
    OK("\t-2\n", -2.0);
    OK("1_000.2_5", 1000.25);
    OK("1e-5", 1e-5);
    OK("+.5E+1", 5.0);
    OK("\xd9\xa1\xd9\xa2", 12.0); /* Arabic-Indic digits */
    OK("\xe2\x80\x83"
       "2"
       "\xe3\x80\x80",
       2.0); /* em space, ideographic space */
    OK("0.1", 0.1);
    OK("-Infinity", -INFINITY);
    OK("iNf", INFINITY);
    CHECK(sdf_py_float("+nan", 4, &v) && isnan(v));
    BAD("");
    BAD(" ");
    BAD("0x10");
    BAD("1__0");
    BAD("_1");
    BAD("1_");
    BAD("1_.5");
    BAD("infinit");
    BAD(".");
    BAD("1e");
    BAD("1.5x");
    BAD("1 5");
    BAD("--1");
    BAD("nan(1)");
    BAD("\xff");
#undef OK
#undef BAD
}

static sdf_tokenizer *g_tok;
static sdf_tokenizer *tok(void) {
    if (!g_tok) {
        sdf_error   err = {0};
        const char *d = test_ref_path("clip-vocab");
        if (d)
            sdf_tokenizer_load_dir(d, &g_tok, &err);
    }
    return g_tok;
}

static const sdf_prompt_opts sd1 = {
    .max_length = 77, .start_token = 49406, .end_token = 49407, .pad_token = 49407};

static void test_chunking(void) {
    NEED_REFERENCE();
    REQUIRE(tok());
    sdf_error         err = {0};
    sdf_prompt_tokens t;
    /* empty prompt: [BOS, EOS, PAD x 75]; SD2 pads with 0 */
    REQUIRE(sdf_prompt_tokenize(tok(), "", &sd1, &t, &err) == SDF_OK);
    CHECK(t.n_chunks == 1 && t.slots[0].id == 49406 && t.slots[1].id == 49407 &&
          t.slots[76].id == 49407);
    sdf_prompt_tokens_free(&t);
    sdf_prompt_opts sd2 = sd1;
    sd2.pad_token = 0;
    REQUIRE(sdf_prompt_tokenize(tok(), "", &sd2, &t, &err) == SDF_OK);
    CHECK(t.n_chunks == 1 && t.slots[1].id == 49407 && t.slots[2].id == 0 && t.slots[76].id == 0);
    sdf_prompt_tokens_free(&t);

    /* 74 tokens then a weighted 3-token group: it does not fit (1+74+3 > 76), is small (< 8),
     * so the window closes with EOS + 1 pad and the group starts the next window */
    char text[2048] = "";
    for (int i = 0; i < 74; i++)
        strcat(text, "a ");
    strcat(text, "(cat dog bird:1.2)");
    REQUIRE(sdf_prompt_tokenize(tok(), text, &sd1, &t, &err) == SDF_OK);
    REQUIRE(t.n_chunks == 2);
    CHECK(t.slots[0].id == 49406 && t.slots[1].id == 320 && t.slots[74].id == 320);
    CHECK(t.slots[75].id == 49407 && t.slots[76].id == 49407 && t.slots[76].weight == 1.0);
    CHECK(t.slots[77].id == 49406 && t.slots[78].id == 2368 && t.slots[78].weight == 1.2);
    CHECK(t.slots[80].weight == 1.2 && t.slots[81].id == 49407 && t.slots[81].weight == 1.0);
    sdf_prompt_tokens_free(&t);

    /* SD2 padding in the closed window is 0 */
    REQUIRE(sdf_prompt_tokenize(tok(), text, &sd2, &t, &err) == SDF_OK);
    CHECK(t.n_chunks == 2 && t.slots[75].id == 49407 && t.slots[76].id == 0);
    sdf_prompt_tokens_free(&t);

    /* a large weighted group is split across windows, keeping its weight */
    strcpy(text, "(");
    for (int i = 0; i < 80; i++)
        strcat(text, "a ");
    strcat(text, ":0.5)");
    REQUIRE(sdf_prompt_tokenize(tok(), text, &sd1, &t, &err) == SDF_OK);
    REQUIRE(t.n_chunks == 2);
    CHECK(t.slots[75].id == 320 && t.slots[75].weight == 0.5 && t.slots[76].id == 49407);
    CHECK(t.slots[77 + 5].id == 320 && t.slots[77 + 5].weight == 0.5);
    CHECK(t.slots[77 + 6].id == 49407 && t.slots[77 + 6].weight == 1.0);
    sdf_prompt_tokens_free(&t);

    /* exactly 75 tokens fit one window; 76 need two */
    text[0] = 0;
    for (int i = 0; i < 75; i++)
        strcat(text, "a ");
    REQUIRE(sdf_prompt_tokenize(tok(), text, &sd1, &t, &err) == SDF_OK);
    CHECK(t.n_chunks == 1 && t.slots[75].id == 320 && t.slots[76].id == 49407);
    sdf_prompt_tokens_free(&t);
    strcat(text, "a");
    REQUIRE(sdf_prompt_tokenize(tok(), text, &sd1, &t, &err) == SDF_OK);
    CHECK(t.n_chunks == 2 && t.slots[77 + 1].id == 320 && t.slots[77 + 2].id == 49407);
    sdf_prompt_tokens_free(&t);

    /* each weighted segment is tokenised separately: BPE never crosses segment boundaries */
    REQUIRE(sdf_prompt_tokenize(tok(), "photo(graph)", &sd1, &t, &err) == SDF_OK);
    int32_t *ids;
    size_t   n;
    REQUIRE(sdf_tokenizer_encode(tok(), "photo", 5, &ids, &n, &err) == SDF_OK);
    CHECK(n == 1 && t.slots[1].id == ids[0] && t.slots[1].weight == 1.0);
    sdf_free(ids);
    REQUIRE(sdf_tokenizer_encode(tok(), "graph", 5, &ids, &n, &err) == SDF_OK);
    CHECK(n == 1 && t.slots[2].id == ids[0] && t.slots[2].weight == 1.0 * 1.1);
    sdf_free(ids);
    sdf_prompt_tokens_free(&t);

    /* without an embedding lookup "embedding:x" is plain text */
    REQUIRE(sdf_prompt_tokenize(tok(), "a embedding:x", &sd1, &t, &err) == SDF_OK);
    REQUIRE(sdf_tokenizer_encode(tok(), "a embedding:x", 13, &ids, &n, &err) == SDF_OK);
    CHECK(n > 3 && t.slots[1].id == ids[0] && t.slots[n].id == ids[n - 1]);
    sdf_free(ids);
    sdf_prompt_tokens_free(&t);
}

/* a lookup that knows "two" ([2,4] of ones) and nothing else */
static int        g_lookups;
static sdf_status fake_lookup(void *ctx, const char *name, sdf_tensor **out, sdf_error *err) {
    (void)ctx;
    g_lookups++;
    *out = NULL;
    if (strcmp(name, "two") == 0) {
        *out = sdf_tensor_f32(err, 2, (int64_t)2, (int64_t)4);
        for (int i = 0; i < 8; i++)
            sdf_tensor_f32p(*out)[i] = 1.0f;
    }
    return SDF_OK;
}
static int  g_warns;
static void count_warn(void *ctx, const char *msg) {
    (void)ctx;
    (void)msg;
    g_warns++;
}

static void test_embedding_split(void) {
    NEED_REFERENCE();
    REQUIRE(tok());
    sdf_prompt_opts o = sd1;
    o.lookup = fake_lookup;
    o.warn = count_warn;
    sdf_error         err = {0};
    sdf_prompt_tokens t;
    /* (a embedding:two:1.3): the embedding vectors carry the segment's weight */
    REQUIRE(sdf_prompt_tokenize(tok(), "(a embedding:two:1.3) b", &sd1, &t, &err) == SDF_OK);
    sdf_prompt_tokens_free(&t); /* (no lookup: plain text) */
    REQUIRE(sdf_prompt_tokenize(tok(), "(a embedding:two cat:1.3)", &o, &t, &err) == SDF_OK);
    CHECK(t.slots[1].id == 320 && t.slots[1].weight == 1.3);
    CHECK(t.slots[2].id == -1 && t.slots[2].row == 0 && t.slots[2].weight == 1.3);
    CHECK(t.slots[3].id == -1 && t.slots[3].row == 1);
    CHECK(t.slots[4].id == 2368 && t.slots[4].weight == 1.3); /* leftover "cat" */
    CHECK(t.slots[5].id == 49407 && t.n_vecs == 1);
    sdf_prompt_tokens_free(&t);
    /* missing: warning, ignored; newline separator also splits */
    g_warns = 0;
    REQUIRE(sdf_prompt_tokenize(tok(), "a\nembedding:nope", &o, &t, &err) == SDF_OK);
    CHECK(g_warns == 1 && t.slots[1].id == 320 && t.slots[2].id == 49407);
    sdf_prompt_tokens_free(&t);
    /* leading "embedding:" at the start works; trailing commas are retried and come back as
     * text in front of the rest: ", cat" */
    g_lookups = 0;
    REQUIRE(sdf_prompt_tokenize(tok(), "embedding:two, cat", &o, &t, &err) == SDF_OK);
    CHECK(g_lookups == 2);
    CHECK(t.slots[1].id == -1 && t.slots[2].id == -1 && t.slots[3].id == 267 &&
          t.slots[4].id == 2368);
    sdf_prompt_tokens_free(&t);
    /* "embedding:" without a name fails like ComfyUI */
    CHECK(sdf_prompt_tokenize(tok(), "a embedding:", &o, &t, &err) == SDF_ERR_INVALID);
    /* "xembedding:two" is not split (needs a space or newline before) */
    g_lookups = 0;
    REQUIRE(sdf_prompt_tokenize(tok(), "xembedding:two", &o, &t, &err) == SDF_OK);
    CHECK(g_lookups == 0);
    sdf_prompt_tokens_free(&t);
}

/* random prompts built from the syntax's own pieces plus random bytes: no crash, no leak, every
 * window well formed (run under the sanitizers in CI) */
static void test_random_prompts(void) {
    NEED_REFERENCE();
    REQUIRE(tok());
    static const char *const parts[] = {"(",
                                        ")",
                                        "\\(",
                                        "\\)",
                                        ":",
                                        "1.5",
                                        ":0.5)",
                                        " ",
                                        "\n",
                                        "embedding:",
                                        "embedding:two",
                                        ",",
                                        "cat",
                                        "a",
                                        "_",
                                        "\xe6\x9d\xb1",
                                        "\xce\xa3",
                                        "<|endoftext|>",
                                        "\xc3",
                                        "1e9",
                                        "nan"};
    sdf_prompt_opts          o = sd1;
    o.lookup = fake_lookup;
    uint64_t r = 12345;
    char     buf[512];
    int      bad = 0;
    for (int it = 0; it < 3000; it++) {
        size_t n = 0;
        int    k = (int)(r % 24);
        for (int j = 0; j < k; j++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            if ((r >> 60) == 0) {
                buf[n++] = (char)(1 + (r >> 33) % 255);
            } else {
                const char *p = parts[(r >> 33) % SDF_COUNTOF(parts)];
                size_t      l = strlen(p);
                if (n + l >= sizeof buf)
                    break;
                memcpy(buf + n, p, l);
                n += l;
            }
        }
        buf[n] = 0;
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        sdf_error         err = {0};
        sdf_prompt_tokens t;
        sdf_status        st = sdf_prompt_tokenize(tok(), buf, &o, &t, &err);
        if (st == SDF_OK) {
            for (int c = 0; c < t.n_chunks; c++)
                if (t.slots[c * 77].id != 49406)
                    bad++;
            sdf_prompt_tokens_free(&t);
        } else if (st != SDF_ERR_INVALID) {
            bad++;
        }
    }
    CHECK(bad == 0);
}

int main(void) {
    RUN(test_weight_syntax);
    RUN(test_py_float);
    RUN(test_chunking);
    RUN(test_embedding_split);
    RUN(test_random_prompts);
    sdf_tokenizer_free(g_tok);
    return test_summary();
}
