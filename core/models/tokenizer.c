/* tokenizer.c: CLIP byte-level BPE, as transformers' slow CLIPTokenizer without ftfy. */
#include "tokenizer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "../base/alloc.h"

/* transformers reads merges.txt lines 1 .. 49152-256-2 (line 0 is the "#version" header). */
#define MAX_MERGES (49152 - 256 - 2)
#define CACHE_MAX_ENTRIES 100000

/* ---- a string -> int64 map with keys in one growable pool ---- */

typedef struct strmap {
    size_t  *key_off; /* offset+1 into pool; 0 = empty slot */
    int64_t *val;
    size_t   cap, n;
    char    *pool;
    size_t   pool_len, pool_cap;
} strmap;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void strmap_free(strmap *m) {
    sdf_free(m->key_off);
    sdf_free(m->val);
    sdf_free(m->pool);
    memset(m, 0, sizeof *m);
}

static bool strmap_init(strmap *m, size_t expect) {
    memset(m, 0, sizeof *m);
    size_t cap = 64;
    while (cap < expect * 2)
        cap *= 2;
    m->key_off = sdf_calloc(cap, sizeof *m->key_off);
    m->val = sdf_calloc(cap, sizeof *m->val);
    m->cap = cap;
    return m->key_off && m->val;
}

static const char *strmap_key(const strmap *m, size_t slot) {
    return m->pool + m->key_off[slot] - 1;
}

/* Slot of key (n bytes, no NUL needed), or the empty slot where it would go. */
static size_t strmap_slot(const strmap *m, const char *k, size_t n) {
    size_t mask = m->cap - 1, i = (size_t)hash_bytes(k, n) & mask;
    for (;;) {
        if (!m->key_off[i])
            return i;
        const char *s = strmap_key(m, i);
        if (strncmp(s, k, n) == 0 && s[n] == '\0')
            return i;
        i = (i + 1) & mask;
    }
}

static bool strmap_get(const strmap *m, const char *k, size_t n, int64_t *v) {
    if (!m->cap)
        return false;
    size_t i = strmap_slot(m, k, n);
    if (!m->key_off[i])
        return false;
    *v = m->val[i];
    return true;
}

static bool strmap_grow(strmap *m) {
    strmap g = *m;
    g.cap = m->cap * 2;
    g.key_off = sdf_calloc(g.cap, sizeof *g.key_off);
    g.val = sdf_calloc(g.cap, sizeof *g.val);
    if (!g.key_off || !g.val) {
        sdf_free(g.key_off);
        sdf_free(g.val);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->key_off[i])
            continue;
        const char *s = strmap_key(m, i);
        size_t      j = strmap_slot(&g, s, strlen(s));
        g.key_off[j] = m->key_off[i];
        g.val[j] = m->val[i];
    }
    sdf_free(m->key_off);
    sdf_free(m->val);
    *m = g;
    return true;
}

/* Inserts or replaces. */
static bool strmap_put(strmap *m, const char *k, size_t n, int64_t v) {
    if ((m->n + 1) * 2 > m->cap && !strmap_grow(m))
        return false;
    size_t i = strmap_slot(m, k, n);
    if (m->key_off[i]) {
        m->val[i] = v;
        return true;
    }
    if (m->pool_len + n + 1 > m->pool_cap) {
        size_t nc = m->pool_cap ? m->pool_cap : 4096;
        while (nc < m->pool_len + n + 1)
            nc *= 2;
        char *p = sdf_realloc(m->pool, nc);
        if (!p)
            return false;
        m->pool = p;
        m->pool_cap = nc;
    }
    memcpy(m->pool + m->pool_len, k, n);
    m->pool[m->pool_len + n] = '\0';
    m->key_off[i] = m->pool_len + 1;
    m->val[i] = v;
    m->pool_len += n + 1;
    m->n++;
    return true;
}

/* ---- the tokenizer ---- */

struct sdf_tokenizer {
    strmap vocab;            /* byte-encoded token -> id */
    int32_t bos_id, eos_id;  /* ids of <|startoftext|> / <|endoftext|> in this vocabulary */
    strmap merges;           /* "a b" -> rank */
    char   byte_enc[256][3]; /* UTF-8 of the unicode char standing for each byte (NUL-terminated) */
    /* BPE cache: byte-encoded word -> offset into cache_ids (ids stored as [n, id...]) */
    pthread_mutex_t cache_mu;
    strmap          cache;
    int32_t        *cache_ids;
    size_t          cache_len, cache_cap;
};

typedef struct ivec {
    int32_t *v;
    size_t   n, cap;
} ivec;

static bool ivec_push(ivec *a, int32_t x) {
    if (a->n == a->cap) {
        size_t   nc = a->cap ? a->cap * 2 : 64;
        int32_t *p = sdf_realloc(a->v, nc * sizeof *p);
        if (!p)
            return false;
        a->v = p;
        a->cap = nc;
    }
    a->v[a->n++] = x;
    return true;
}

static void build_byte_encoder(sdf_tokenizer *t) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bool direct =
            (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        int              cp = direct ? b : 256 + n++;
        utf8proc_uint8_t buf[4] = {0};
        utf8proc_ssize_t k = utf8proc_encode_char(cp, buf);
        memcpy(t->byte_enc[b], buf, (size_t)k);
        t->byte_enc[b][k] = '\0';
    }
}

void sdf_tokenizer_free(sdf_tokenizer *t) {
    if (!t)
        return;
    strmap_free(&t->vocab);
    strmap_free(&t->merges);
    strmap_free(&t->cache);
    sdf_free(t->cache_ids);
    pthread_mutex_destroy(&t->cache_mu);
    sdf_free(t);
}

static sdf_status parse_vocab(sdf_tokenizer *t, const char *js, size_t len, const char *what,
                              sdf_error *err) {
    cJSON *root = cJSON_ParseWithLength(js, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sdf_fail(err, SDF_ERR_PARSE, "%s: vocab.json is not a JSON object", what);
    }
    int count = cJSON_GetArraySize(root);
    if (!strmap_init(&t->vocab, (size_t)(count > 0 ? count : 1))) {
        cJSON_Delete(root);
        return sdf_fail(err, SDF_ERR_NOMEM, "%s: vocabulary", what);
    }
    for (cJSON *it = root->child; it; it = it->next) {
        double d = it->valuedouble;
        if (!cJSON_IsNumber(it) || !it->string || d < 0 || d > 2147483647.0 ||
            d != (double)(int64_t)d) {
            sdf_status st = sdf_fail(err, SDF_ERR_PARSE,
                                     "%s: vocab.json entry \"%s\" is not a non-negative integer id",
                                     what, it->string ? it->string : "?");
            cJSON_Delete(root);
            return st;
        }
        if (!strmap_put(&t->vocab, it->string, strlen(it->string), (int64_t)d)) {
            cJSON_Delete(root);
            return sdf_fail(err, SDF_ERR_NOMEM, "%s: vocabulary", what);
        }
    }
    cJSON_Delete(root);
    if (t->vocab.n == 0)
        return sdf_fail(err, SDF_ERR_PARSE, "%s: vocab.json is empty", what);
    return SDF_OK;
}

static bool is_ws_ascii(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static sdf_status parse_merges(sdf_tokenizer *t, const char *s, size_t len, const char *what,
                               sdf_error *err) {
    if (!strmap_init(&t->merges, MAX_MERGES))
        return sdf_fail(err, SDF_ERR_NOMEM, "%s: merges", what);
    /* Python: text.strip().split("\n")[1:MAX_MERGES+1], each line split on whitespace. */
    size_t b = 0, e = len;
    while (b < e && is_ws_ascii(s[b]))
        b++;
    while (e > b && is_ws_ascii(s[e - 1]))
        e--;
    size_t pos = b;
    long   line = 0, rank = 0;
    char   key[1024];
    while (pos < e && rank < MAX_MERGES) {
        const char *nl = memchr(s + pos, '\n', e - pos);
        size_t      lend = nl ? (size_t)(nl - s) : e;
        if (line > 0) {
            /* fields */
            const char *f[3];
            size_t      fl[3];
            int         nf = 0;
            size_t      i = pos;
            while (i < lend) {
                while (i < lend && is_ws_ascii(s[i]))
                    i++;
                if (i >= lend)
                    break;
                size_t st = i;
                while (i < lend && !is_ws_ascii(s[i]))
                    i++;
                if (nf < 3) {
                    f[nf] = s + st;
                    fl[nf] = i - st;
                }
                nf++;
            }
            if (nf != 2)
                return sdf_fail(err, SDF_ERR_PARSE,
                                "%s: merges.txt line %ld has %d fields, expected 2", what, line + 1,
                                nf);
            if (fl[0] + fl[1] + 2 > sizeof key)
                return sdf_fail(err, SDF_ERR_PARSE, "%s: merges.txt line %ld is too long", what,
                                line + 1);
            memcpy(key, f[0], fl[0]);
            key[fl[0]] = ' ';
            memcpy(key + fl[0] + 1, f[1], fl[1]);
            if (!strmap_put(&t->merges, key, fl[0] + 1 + fl[1], rank))
                return sdf_fail(err, SDF_ERR_NOMEM, "%s: merges", what);
            rank++;
        }
        line++;
        pos = lend + 1;
    }
    if (rank == 0)
        return sdf_fail(err, SDF_ERR_PARSE, "%s: merges.txt has no merges", what);
    return SDF_OK;
}

sdf_status sdf_tokenizer_load_strings(const char *vocab_json, size_t vocab_len, const char *merges,
                                      size_t merges_len, const char *what, sdf_tokenizer **out,
                                      sdf_error *err) {
    *out = NULL;
    if (!what)
        what = "CLIP vocabulary";
    if (!vocab_json || !merges)
        return sdf_fail(err, SDF_ERR_INVALID, "%s: missing data", what);
    sdf_tokenizer *t = sdf_calloc(1, sizeof *t);
    if (!t)
        return sdf_fail(err, SDF_ERR_NOMEM, "tokenizer");
    pthread_mutex_init(&t->cache_mu, NULL);
    build_byte_encoder(t);
    sdf_status st = parse_vocab(t, vocab_json, vocab_len, what, err);
    if (st == SDF_OK)
        st = parse_merges(t, merges, merges_len, what, err);
    if (st == SDF_OK && !strmap_init(&t->cache, 1024))
        st = sdf_fail(err, SDF_ERR_NOMEM, "tokenizer");
    if (st != SDF_OK) {
        sdf_tokenizer_free(t);
        return st;
    }
    /* The special tokens' ids come from the vocabulary (CLIP's: 49406/49407; a vocabulary
     * trained for another model, such as the demo model's, has its own). */
    int64_t id;
    t->bos_id = strmap_get(&t->vocab, "<|startoftext|>", 15, &id) ? (int32_t)id : SDF_CLIP_BOS;
    t->eos_id = strmap_get(&t->vocab, "<|endoftext|>", 13, &id) ? (int32_t)id : SDF_CLIP_EOS;
    *out = t;
    return SDF_OK;
}

static sdf_status read_file(const char *path, char **data, size_t *len, sdf_error *err) {
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        sdf_fail(err, SDF_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    size_t cap = 1 << 20, n = 0;
    char  *buf = sdf_malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            return sdf_fail(err, SDF_ERR_NOMEM, "reading %s", path);
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        if (cap > ((size_t)1 << 30)) {
            sdf_free(buf);
            fclose(f);
            return sdf_fail(err, SDF_ERR_INVALID, "%s is larger than 1 GiB", path);
        }
        cap *= 2;
        char *nb = sdf_realloc(buf, cap);
        if (!nb)
            sdf_free(buf);
        buf = nb;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        sdf_free(buf);
        return sdf_fail(err, SDF_ERR_IO, "error reading %s", path);
    }
    *data = buf;
    *len = n;
    return SDF_OK;
}

sdf_status sdf_tokenizer_load_dir(const char *dir, sdf_tokenizer **out, sdf_error *err) {
    *out = NULL;
    char vpath[4096], mpath[4096];
    snprintf(vpath, sizeof vpath, "%s/vocab.json", dir);
    snprintf(mpath, sizeof mpath, "%s/merges.txt", dir);
    char      *v = NULL, *m = NULL;
    size_t     vl = 0, ml = 0;
    sdf_status st = read_file(vpath, &v, &vl, err);
    if (st == SDF_OK)
        st = read_file(mpath, &m, &ml, err);
    if (st == SDF_OK)
        st = sdf_tokenizer_load_strings(v, vl, m, ml, dir, out, err);
    sdf_free(v);
    sdf_free(m);
    return st;
}

int32_t sdf_tokenizer_token_id(const sdf_tokenizer *t, const char *token) {
    int64_t v;
    return strmap_get(&t->vocab, token, strlen(token), &v) ? (int32_t)v : -1;
}

size_t sdf_tokenizer_vocab_size(const sdf_tokenizer *t) {
    return t->vocab.n;
}

/* ---- text clean-up (BasicTokenizer without punctuation splitting) ---- */

typedef ivec cpvec;

static bool cp_push(cpvec *a, int32_t c) {
    return ivec_push(a, c);
}

static bool is_cjk(int32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static bool is_cat_c(int32_t c) {
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
        return true;
    default:
        return false;
    }
}

/* Python str.isspace(). */
static bool py_isspace(int32_t c) {
    return (c >= 9 && c <= 13) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

static bool is_letter(int32_t c) {
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

static bool is_number(int32_t c) {
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

/* Approximations of Unicode's Cased and Case_Ignorable properties (final-sigma context). */
static bool is_cased(int32_t c) {
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
           utf8proc_tolower(c) != c || utf8proc_toupper(c) != c;
}

static bool is_case_ignorable(int32_t c) {
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
        return true;
    default:
        break;
    }
    return c == '\'' || c == '.' || c == ':' || c == 0xB7 || c == 0x387 || c == 0x55F ||
           c == 0x5F4 || c == 0x2018 || c == 0x2019 || c == 0x2024 || c == 0x2027 || c == 0xFE13 ||
           c == 0xFE52 || c == 0xFE55 || c == 0xFF07 || c == 0xFF0E || c == 0xFF1A;
}

/* Python str.lower() of w[0..n) appended to out. */
static bool py_lower(const int32_t *w, size_t n, cpvec *out) {
    for (size_t i = 0; i < n; i++) {
        int32_t c = w[i];
        if (c == 0x130) {
            if (!cp_push(out, 'i') || !cp_push(out, 0x307))
                return false;
            continue;
        }
        if (c == 0x3A3) {
            bool before = false, after = false;
            for (size_t j = i; j-- > 0;) {
                if (is_case_ignorable(w[j]))
                    continue;
                before = is_cased(w[j]);
                break;
            }
            for (size_t j = i + 1; j < n; j++) {
                if (is_case_ignorable(w[j]))
                    continue;
                after = is_cased(w[j]);
                break;
            }
            if (!cp_push(out, before && !after ? 0x3C2 : 0x3C3))
                return false;
            continue;
        }
        if (!cp_push(out, utf8proc_tolower(c)))
            return false;
    }
    return true;
}

static void decode_utf8(const char *s, size_t len, cpvec *out, bool *ok) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t                  i = 0;
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0) {
            c = 0xFFFD;
            k = 1;
        }
        if (!cp_push(out, c)) {
            *ok = false;
            return;
        }
        i += (size_t)k;
    }
}

static char *encode_utf8(const int32_t *c, size_t n, size_t *len) {
    size_t cap = n * 4 + 1;
    char  *s = sdf_malloc(cap);
    if (!s)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += (size_t)utf8proc_encode_char(c[i], (utf8proc_uint8_t *)s + k);
    s[k] = '\0';
    *len = k;
    return s;
}

/* Cleaned, lower-cased text of one piece as code points, words joined by single spaces. */
static sdf_status clean_text(const char *s, size_t len, cpvec *out, sdf_error *err) {
    cpvec a = {0}, b = {0};
    bool  ok = true;
    decode_utf8(s, len, &a, &ok);
    for (size_t i = 0; ok && i < a.n; i++) {
        int32_t c = a.v[i];
        if (c == 0 || c == 0xFFFD)
            continue;
        if (c == '\t' || c == '\n' || c == '\r' || utf8proc_category(c) == UTF8PROC_CATEGORY_ZS) {
            ok = cp_push(&b, ' ');
            continue;
        }
        if (c == ' ') {
            ok = cp_push(&b, ' ');
            continue;
        }
        if (is_cat_c(c))
            continue;
        if (is_cjk(c))
            ok = cp_push(&b, ' ') && cp_push(&b, c) && cp_push(&b, ' ');
        else
            ok = cp_push(&b, c);
    }
    sdf_free(a.v);
    a = (cpvec){0};
    if (!ok) {
        sdf_free(b.v);
        return sdf_fail(err, SDF_ERR_NOMEM, "tokenizer");
    }
    /* NFC */
    size_t ulen = 0;
    char  *u = encode_utf8(b.v, b.n, &ulen);
    sdf_free(b.v);
    if (!u)
        return sdf_fail(err, SDF_ERR_NOMEM, "tokenizer");
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t  nl = 0;
    if (ulen > 0) {
        nl = utf8proc_map((const utf8proc_uint8_t *)u, (utf8proc_ssize_t)ulen, &nfc,
                          UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        if (nl < 0) {
            sdf_free(u);
            return sdf_fail(err, SDF_ERR_INVALID, "prompt text: %s", utf8proc_errmsg(nl));
        }
    }
    sdf_free(u);
    decode_utf8((const char *)nfc, (size_t)nl, &a, &ok);
    free(nfc); /* allocated by utf8proc */
    /* split on whitespace, lower-case each word, join with ' ' */
    size_t i = 0;
    bool   first = true;
    while (ok && i < a.n) {
        while (i < a.n && py_isspace(a.v[i]))
            i++;
        if (i >= a.n)
            break;
        size_t st = i;
        while (i < a.n && !py_isspace(a.v[i]))
            i++;
        if (!first)
            ok = cp_push(out, ' ');
        first = false;
        if (ok)
            ok = py_lower(a.v + st, i - st, out);
    }
    sdf_free(a.v);
    if (!ok)
        return sdf_fail(err, SDF_ERR_NOMEM, "tokenizer");
    return SDF_OK;
}

/* ---- BPE ---- */

typedef struct sym {
    size_t b, e; /* byte range in the byte-encoded word */
} sym;

static sdf_status cache_lookup_or_bpe(sdf_tokenizer *t, const char *w, size_t wl, ivec *out,
                                      sdf_error *err) {
    int64_t off;
    pthread_mutex_lock(&t->cache_mu);
    if (strmap_get(&t->cache, w, wl, &off)) {
        int32_t n = t->cache_ids[off];
        bool    ok = true;
        for (int32_t i = 0; i < n && ok; i++)
            ok = ivec_push(out, t->cache_ids[off + 1 + i]);
        pthread_mutex_unlock(&t->cache_mu);
        return ok ? SDF_OK : sdf_fail(err, SDF_ERR_NOMEM, "tokenizer");
    }
    pthread_mutex_unlock(&t->cache_mu);

    /* symbols: one per unicode char of the byte-encoded word */
    size_t n = 0;
    sym   *s = sdf_malloc((wl + 1) * sizeof *s);
    char  *key = sdf_malloc(2 * wl + 16);
    if (!s || !key) {
        sdf_free(s);
        sdf_free(key);
        return sdf_fail(err, SDF_ERR_NOMEM, "tokenizer");
    }
    for (size_t i = 0; i < wl;) {
        size_t        k = 1;
        unsigned char c = (unsigned char)w[i];
        if (c >= 0xC0)
            k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (i + k > wl)
            k = wl - i;
        s[n++] = (sym){i, i + k};
        i += k;
    }
    /* key of symbol j as it appears in merges/vocab: last symbol carries "</w>" */
#define SYM_KEY(j, dst, len)                                                                       \
    do {                                                                                           \
        len = s[j].e - s[j].b;                                                                     \
        memcpy(dst, w + s[j].b, len);                                                              \
        if ((j) == n - 1) {                                                                        \
            memcpy(dst + len, "</w>", 4);                                                          \
            len += 4;                                                                              \
        }                                                                                          \
    } while (0)
    while (n > 1) {
        int64_t best = INT64_MAX;
        size_t  bi = 0;
        for (size_t j = 0; j + 1 < n; j++) {
            size_t l1, l2;
            SYM_KEY(j, key, l1);
            key[l1] = ' ';
            SYM_KEY(j + 1, key + l1 + 1, l2);
            int64_t r;
            if (strmap_get(&t->merges, key, l1 + 1 + l2, &r) && r < best) {
                best = r;
                bi = j;
            }
        }
        if (best == INT64_MAX)
            break;
        /* merge every occurrence of the pair (left to right, non-overlapping) */
        size_t      fl = s[bi].e - s[bi].b, sl = s[bi + 1].e - s[bi + 1].b;
        bool        sec_last = (bi + 1 == n - 1);
        const char *fs = w + s[bi].b, *ss = w + s[bi + 1].b;
        size_t      m = 0;
        for (size_t j = 0; j < n;) {
            if (j + 1 < n && s[j].e - s[j].b == fl && memcmp(w + s[j].b, fs, fl) == 0 &&
                s[j + 1].e - s[j + 1].b == sl && memcmp(w + s[j + 1].b, ss, sl) == 0 &&
                ((j + 1 == n - 1) == sec_last)) {
                s[m++] = (sym){s[j].b, s[j + 1].e};
                j += 2;
            } else {
                s[m++] = s[j++];
            }
        }
        n = m;
    }
    ivec ids = {0};
    bool ok = true;
    for (size_t j = 0; j < n && ok; j++) {
        size_t l;
        SYM_KEY(j, key, l);
        int64_t id;
        if (!strmap_get(&t->vocab, key, l, &id))
            id = t->eos_id;
        ok = ivec_push(&ids, (int32_t)id);
    }
#undef SYM_KEY
    sdf_free(s);
    sdf_free(key);
    for (size_t j = 0; j < ids.n && ok; j++)
        ok = ivec_push(out, ids.v[j]);
    if (ok) {
        pthread_mutex_lock(&t->cache_mu);
        if (t->cache.n < CACHE_MAX_ENTRIES && !strmap_get(&t->cache, w, wl, &off)) {
            size_t need = t->cache_len + ids.n + 1;
            if (need > t->cache_cap) {
                size_t nc = t->cache_cap ? t->cache_cap : 4096;
                while (nc < need)
                    nc *= 2;
                int32_t *p = sdf_realloc(t->cache_ids, nc * sizeof *p);
                if (p) {
                    t->cache_ids = p;
                    t->cache_cap = nc;
                }
            }
            if (need <= t->cache_cap && strmap_put(&t->cache, w, wl, (int64_t)t->cache_len)) {
                t->cache_ids[t->cache_len] = (int32_t)ids.n;
                memcpy(t->cache_ids + t->cache_len + 1, ids.v, ids.n * sizeof *ids.v);
                t->cache_len = need;
            }
        }
        pthread_mutex_unlock(&t->cache_mu);
    }
    sdf_free(ids.v);
    return ok ? SDF_OK : sdf_fail(err, SDF_ERR_NOMEM, "tokenizer");
}

/* Byte-encodes the UTF-8 of c[b..e) and runs BPE. */
static sdf_status emit_word(sdf_tokenizer *t, const int32_t *c, size_t b, size_t e, ivec *out,
                            sdf_error *err) {
    size_t ul;
    char  *u = encode_utf8(c + b, e - b, &ul);
    char  *w = u ? sdf_malloc(ul * 2 + 1) : NULL;
    if (!w) {
        sdf_free(u);
        return sdf_fail(err, SDF_ERR_NOMEM, "tokenizer");
    }
    size_t wl = 0;
    for (size_t i = 0; i < ul; i++) {
        const char *be = t->byte_enc[(unsigned char)u[i]];
        size_t      k = strlen(be);
        memcpy(w + wl, be, k);
        wl += k;
    }
    w[wl] = '\0';
    sdf_free(u);
    sdf_status st;
    /* transformers' bpe cache starts with the two special tokens mapped to themselves */
    if (strcmp(w, "<|startoftext|>") == 0 || strcmp(w, "<|endoftext|>") == 0) {
        int64_t id;
        if (!strmap_get(&t->vocab, w, wl, &id))
            id = t->eos_id;
        st = ivec_push(out, (int32_t)id) ? SDF_OK : sdf_fail(err, SDF_ERR_NOMEM, "tokenizer");
    } else {
        st = cache_lookup_or_bpe(t, w, wl, out, err);
    }
    sdf_free(w);
    return st;
}

static bool match_ascii(const int32_t *c, size_t n, size_t i, const char *lit) {
    size_t k = strlen(lit);
    if (i + k > n)
        return false;
    for (size_t j = 0; j < k; j++)
        if (c[i + j] != (unsigned char)lit[j])
            return false;
    return true;
}

/* CLIP's pattern: <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|
 * [^\s\p{L}\p{N}]+ over the cleaned text. */
static sdf_status split_and_bpe(sdf_tokenizer *t, const int32_t *c, size_t n, ivec *out,
                                sdf_error *err) {
    static const char *const lits[] = {
        "<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        bool   matched = false;
        for (size_t k = 0; k < SDF_COUNTOF(lits) && !matched; k++)
            if (match_ascii(c, n, i, lits[k])) {
                e = i + strlen(lits[k]);
                matched = true;
            }
        if (!matched) {
            if (is_letter(c[i])) {
                while (e < n && is_letter(c[e]))
                    e++;
            } else if (is_number(c[i])) {
                e = i + 1;
            } else if (!py_isspace(c[i])) {
                while (e < n && !py_isspace(c[e]) && !is_letter(c[e]) && !is_number(c[e]))
                    e++;
            } else {
                i++;
                continue;
            }
        }
        sdf_status st = emit_word(t, c, i, e, out, err);
        if (st != SDF_OK)
            return st;
        i = e;
    }
    return SDF_OK;
}

static const char *find_special(const char *s, size_t len, int *which) {
    const char              *best = NULL;
    static const char *const sp[2] = {"<|startoftext|>", "<|endoftext|>"};
    for (int k = 0; k < 2; k++) {
        const char *p = memmem(s, len, sp[k], strlen(sp[k]));
        if (p && (!best || p < best)) {
            best = p;
            *which = k;
        }
    }
    return best;
}

sdf_status sdf_tokenizer_encode(sdf_tokenizer *t, const char *text, size_t len, int32_t **ids,
                                size_t *n, sdf_error *err) {
    *ids = NULL;
    *n = 0;
    ivec       out = {0};
    sdf_status st = SDF_OK;
    size_t     pos = 0;
    while (st == SDF_OK && pos <= len) {
        int         which = 0;
        const char *sp = find_special(text + pos, len - pos, &which);
        size_t      pend = sp ? (size_t)(sp - text) : len;
        if (pend > pos) {
            cpvec cl = {0};
            st = clean_text(text + pos, pend - pos, &cl, err);
            if (st == SDF_OK)
                st = split_and_bpe(t, cl.v, cl.n, &out, err);
            sdf_free(cl.v);
        }
        if (!sp)
            break;
        if (st == SDF_OK && !ivec_push(&out, which == 0 ? t->bos_id : t->eos_id))
            st = sdf_fail(err, SDF_ERR_NOMEM, "tokenizer");
        pos = pend + strlen(which == 0 ? "<|startoftext|>" : "<|endoftext|>");
    }
    if (st != SDF_OK) {
        sdf_free(out.v);
        return st;
    }
    *ids = out.v;
    *n = out.n;
    return SDF_OK;
}
