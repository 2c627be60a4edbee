/* ckpt.c: torch checkpoint reader: own zip directory parser + a data-only pickle machine.
 * Nothing from the file is ever executed: the only callables are the allowlisted globals below,
 * implemented here. */
#include "ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/alloc.h"

/* ---------------- sniffing ---------------- */

int sdf_ckpt_sniff(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char b[9] = {0};
    size_t n = fread(b, 1, 9, f);
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    fclose(f);
    if (n == 9 && b[8] == '{') { /* safetensors: u64 header length that fits, then JSON */
        uint64_t hl = 0;
        for (int i = 7; i >= 0; i--) hl = (hl << 8) | b[i];
        if (size >= 0 && hl <= (uint64_t)size) return SDF_CKPT_KIND_SAFETENSORS;
    }
    if (n >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4) return SDF_CKPT_KIND_ZIP;
    if (n >= 2 && b[0] == 0x80 && b[1] <= 5) return SDF_CKPT_KIND_PICKLE;
    return SDF_CKPT_KIND_SAFETENSORS; /* let the safetensors parser report what is wrong */
}

/* ---------------- the file image (mmap or heap), refcounted ---------------- */

typedef struct image {
    atomic_int     refs;
    unsigned char *data;
    size_t         size;
    bool           mapped;
} image;

static void image_release(void *p) {
    image *im = p;
    if (!im || atomic_fetch_sub(&im->refs, 1) != 1) return;
    if (im->mapped) munmap(im->data, im->size);
    else sdf_free(im->data);
    sdf_free(im);
}

/* ---------------- zip ---------------- */

typedef struct zentry {
    char   *name;
    size_t  off;  /* data offset in the image */
    size_t  size;
} zentry;

typedef struct zip {
    zentry *e;
    size_t  n;
} zip;

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void zip_free(zip *z) {
    for (size_t i = 0; i < z->n; i++) sdf_free(z->e[i].name);
    sdf_free(z->e);
    memset(z, 0, sizeof *z);
}

static sdf_status zip_read(const image *im, zip *z, sdf_error *err) {
    memset(z, 0, sizeof *z);
    const unsigned char *d = im->data;
    size_t n = im->size;
    if (n < 22) return sdf_fail(err, SDF_ERR_PARSE, "zip: file too short");
    size_t eocd = SIZE_MAX;
    size_t lo = n > 22 + 65535 ? n - 22 - 65535 : 0;
    for (size_t i = n - 22 + 1; i-- > lo;)
        if (rd32(d + i) == 0x06054b50) { eocd = i; break; }
    if (eocd == SIZE_MAX) return sdf_fail(err, SDF_ERR_PARSE, "zip: no end-of-directory record");
    uint64_t count = rd16(d + eocd + 10), cd_size = rd32(d + eocd + 12), cd_off = rd32(d + eocd + 16);
    if ((count == 0xFFFF || cd_off == 0xFFFFFFFFu || cd_size == 0xFFFFFFFFu) && eocd >= 20 &&
        rd32(d + eocd - 20) == 0x07064b50) { /* zip64 locator */
        uint64_t z64 = rd64(d + eocd - 20 + 8);
        if (z64 > n - 56 || rd32(d + z64) != 0x06064b50)
            return sdf_fail(err, SDF_ERR_PARSE, "zip: bad zip64 end-of-directory record");
        count = rd64(d + z64 + 32);
        cd_size = rd64(d + z64 + 40);
        cd_off = rd64(d + z64 + 48);
    }
    if (cd_off > n || cd_size > n - cd_off) return sdf_fail(err, SDF_ERR_PARSE, "zip: directory outside the file");
    if (count > cd_size / 46 + 1) return sdf_fail(err, SDF_ERR_PARSE, "zip: implausible entry count");
    z->e = sdf_calloc(count ? count : 1, sizeof *z->e);
    if (!z->e) return sdf_fail(err, SDF_ERR_NOMEM, "zip directory");
    size_t p = cd_off, end = cd_off + cd_size;
    for (uint64_t i = 0; i < count; i++) {
        if (p + 46 > end || rd32(d + p) != 0x02014b50) { zip_free(z); return sdf_fail(err, SDF_ERR_PARSE, "zip: bad directory entry %llu", (unsigned long long)i); }
        uint16_t method = rd16(d + p + 10);
        uint64_t csize = rd32(d + p + 20), usize = rd32(d + p + 24);
        uint16_t nl = rd16(d + p + 28), xl = rd16(d + p + 30), cl = rd16(d + p + 32);
        uint64_t loff = rd32(d + p + 42);
        if (p + 46 + (size_t)nl + xl + cl > end) { zip_free(z); return sdf_fail(err, SDF_ERR_PARSE, "zip: directory entry overruns"); }
        /* zip64 extra: the fields that are 0xFFFFFFFF follow in order */
        const unsigned char *x = d + p + 46 + nl, *xe = x + xl;
        while (x + 4 <= xe) {
            uint16_t id = rd16(x), sz = rd16(x + 2);
            if (x + 4 + sz > xe) break;
            if (id == 1) {
                const unsigned char *q = x + 4, *qe = x + 4 + sz;
                if (usize == 0xFFFFFFFFu && q + 8 <= qe) { usize = rd64(q); q += 8; }
                if (csize == 0xFFFFFFFFu && q + 8 <= qe) { csize = rd64(q); q += 8; }
                if (loff == 0xFFFFFFFFu && q + 8 <= qe) { loff = rd64(q); q += 8; }
            }
            x += 4 + sz;
        }
        if (method != 0 || csize != usize) {
            zip_free(z);
            return sdf_fail(err, SDF_ERR_UNSUPPORTED, "zip: compressed entries are not supported (torch writes stored entries)");
        }
        if (loff > n - 30 || rd32(d + loff) != 0x04034b50) { zip_free(z); return sdf_fail(err, SDF_ERR_PARSE, "zip: bad local header"); }
        uint64_t doff = loff + 30 + rd16(d + loff + 26) + rd16(d + loff + 28);
        if (doff > n || usize > n - doff) { zip_free(z); return sdf_fail(err, SDF_ERR_PARSE, "zip: entry data outside the file"); }
        zentry *e = &z->e[z->n];
        e->name = sdf_malloc((size_t)nl + 1);
        if (!e->name) { zip_free(z); return sdf_fail(err, SDF_ERR_NOMEM, "zip"); }
        memcpy(e->name, d + p + 46, nl);
        e->name[nl] = 0;
        e->off = (size_t)doff;
        e->size = (size_t)usize;
        z->n++;
        p += 46 + (size_t)nl + xl + cl;
    }
    return SDF_OK;
}

static const zentry *zip_find_suffix(const zip *z, const char *suffix, const char *prefix) {
    size_t sl = strlen(suffix);
    for (size_t i = 0; i < z->n; i++) {
        const char *nm = z->e[i].name;
        size_t l = strlen(nm);
        if (prefix) {
            size_t pl = strlen(prefix);
            if (l == pl + sl && strncmp(nm, prefix, pl) == 0 && strcmp(nm + pl, suffix) == 0) return &z->e[i];
        } else if (l >= sl && strcmp(nm + l - sl, suffix) == 0 &&
                   (l == sl || nm[l - sl - 1] == '/')) {
            return &z->e[i];
        }
    }
    return NULL;
}

/* ---------------- pickle values ---------------- */

typedef enum vkind {
    V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_BYTES, V_TUPLE, V_LIST, V_DICT, V_GLOBAL,
    V_STORAGE, V_TENSOR, V_MARK, V_OBJ
} vkind;

typedef struct pv pv;
struct pv {
    vkind kind;
    int64_t i;
    double f;
    char *s;      /* STR/BYTES (n bytes), GLOBAL "module.name" */
    size_t n;
    pv **items;   /* TUPLE/LIST; DICT: keys at even, values at odd */
    size_t cap;
    /* storage */
    sdf_dtype dt;
    char key[64];
    int64_t numel;
    /* tensor */
    pv *storage;
    int64_t offset;
    int ndim;
    int64_t size[SDF_MAX_DIMS], stride[SDF_MAX_DIMS];
};

typedef struct pm {
    const unsigned char *p, *end;
    pv **all;           /* every allocated value, freed at the end */
    size_t nall, capall;
    pv **stack;
    size_t sp, scap;
    pv **memo;
    size_t nmemo;
    sdf_error *err;
    int depth;
    pv *persistent_storage_types; /* unused */
} pm;

static pv *newv(pm *m, vkind k) {
    if (m->nall == m->capall) {
        size_t nc = m->capall ? 2 * m->capall : 256;
        pv **na = sdf_realloc(m->all, nc * sizeof *na);
        if (!na) return NULL;
        m->all = na;
        m->capall = nc;
    }
    pv *v = sdf_calloc(1, sizeof *v);
    if (!v) return NULL;
    v->kind = k;
    m->all[m->nall++] = v;
    return v;
}

static void pm_free(pm *m) {
    for (size_t i = 0; i < m->nall; i++) {
        sdf_free(m->all[i]->s);
        sdf_free(m->all[i]->items);
        sdf_free(m->all[i]);
    }
    sdf_free(m->all);
    sdf_free(m->stack);
    sdf_free(m->memo);
}

static bool push(pm *m, pv *v) {
    if (!v) return false;
    if (m->sp == m->scap) {
        size_t nc = m->scap ? 2 * m->scap : 64;
        if (nc > (1u << 24)) return false;
        pv **ns = sdf_realloc(m->stack, nc * sizeof *ns);
        if (!ns) return false;
        m->stack = ns;
        m->scap = nc;
    }
    m->stack[m->sp++] = v;
    return true;
}

static pv *pop(pm *m) { return m->sp ? m->stack[--m->sp] : NULL; }
static pv *top(pm *m) { return m->sp ? m->stack[m->sp - 1] : NULL; }

static bool append_item(pv *c, pv *v) {
    if (c->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 8;
        pv **ni = sdf_realloc(c->items, nc * sizeof *ni);
        if (!ni) return false;
        c->items = ni;
        c->cap = nc;
    }
    c->items[c->n++] = v;
    return true;
}

/* Index of the topmost MARK, or -1. */
static long find_mark(pm *m) {
    for (size_t i = m->sp; i-- > 0;)
        if (m->stack[i]->kind == V_MARK) return (long)i;
    return -1;
}

static bool memo_put(pm *m, size_t idx, pv *v) {
    if (idx > (1u << 24)) return false;
    if (idx >= m->nmemo) {
        size_t nn = idx + 1 > 2 * m->nmemo ? idx + 1 : 2 * m->nmemo;
        pv **nmem = sdf_realloc(m->memo, nn * sizeof *nmem);
        if (!nmem) return false;
        memset(nmem + m->nmemo, 0, (nn - m->nmemo) * sizeof *nmem);
        m->memo = nmem;
        m->nmemo = nn;
    }
    m->memo[idx] = v;
    return true;
}

static bool need(pm *m, size_t k) { return (size_t)(m->end - m->p) >= k; }

static pv *mkstr(pm *m, vkind k, const unsigned char *s, size_t n) {
    pv *v = newv(m, k);
    if (!v) return NULL;
    v->s = sdf_malloc(n + 1);
    if (!v->s) return NULL;
    memcpy(v->s, s, n);
    v->s[n] = 0;
    v->n = n;
    return v;
}

/* The allowlist (spec §4.1 plus the builtins torch pickles reference). */
static const char *const allowed_globals[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter",
    "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage", "torch.DoubleStorage",
    "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage",
    "torch.ByteStorage", "torch.BoolStorage",
    "torch.storage.UntypedStorage", "torch.device", "torch.Size", "torch.float16",
    "torch.float32", "torch.bfloat16",
    "builtins.set", "builtins.dict", "builtins.list", "builtins.tuple",
    "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",
    "numpy.core.multiarray.scalar", "numpy.dtype", "numpy.dtypes.Float64DType",
    "_codecs.encode",
};

static int storage_dtype(const char *g) {
    static const struct { const char *n; sdf_dtype d; } t[] = {
        {"torch.FloatStorage", SDF_DTYPE_F32}, {"torch.HalfStorage", SDF_DTYPE_F16},
        {"torch.BFloat16Storage", SDF_DTYPE_BF16}, {"torch.DoubleStorage", SDF_DTYPE_F64},
        {"torch.LongStorage", SDF_DTYPE_I64}, {"torch.IntStorage", SDF_DTYPE_I32},
        {"torch.ShortStorage", SDF_DTYPE_I16}, {"torch.CharStorage", SDF_DTYPE_I8},
        {"torch.ByteStorage", SDF_DTYPE_U8}, {"torch.BoolStorage", SDF_DTYPE_BOOL},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(g, t[i].n)) return (int)t[i].d;
    return -1;
}

static bool int_of(const pv *v, int64_t *out) {
    if (!v || (v->kind != V_INT && v->kind != V_BOOL)) return false;
    *out = v->i;
    return true;
}

/* REDUCE / NEWOBJ of an allowlisted callable. */
static pv *call_global(pm *m, const pv *fn, const pv *args) {
    const char *g = fn->s;
    if (args->kind != V_TUPLE) { sdf_fail(m->err, SDF_ERR_PARSE, "pickle: call arguments are not a tuple"); return NULL; }
    if (!strcmp(g, "collections.OrderedDict") || !strcmp(g, "builtins.dict")) {
        pv *d = newv(m, V_DICT);
        if (d && args->n == 1 && args->items[0]->kind == V_DICT) {
            for (size_t i = 0; i < args->items[0]->n; i++)
                if (!append_item(d, args->items[0]->items[i])) return NULL;
        }
        return d;
    }
    if (!strcmp(g, "torch._utils._rebuild_parameter")) {
        if (args->n < 1) goto bad;
        return args->items[0];
    }
    if (!strcmp(g, "torch._utils._rebuild_tensor_v2") || !strcmp(g, "torch._utils._rebuild_tensor")) {
        if (args->n < 4) goto bad;
        const pv *st = args->items[0], *sz = args->items[2], *sr = args->items[3];
        int64_t off;
        if (st->kind != V_STORAGE || !int_of(args->items[1], &off) || off < 0 ||
            (sz->kind != V_TUPLE && sz->kind != V_LIST) || (sr->kind != V_TUPLE && sr->kind != V_LIST) ||
            sz->n != sr->n || sz->n > SDF_MAX_DIMS)
            goto bad;
        pv *t = newv(m, V_TENSOR);
        if (!t) return NULL;
        t->storage = (pv *)st;
        t->offset = off;
        t->ndim = (int)sz->n;
        for (size_t i = 0; i < sz->n; i++)
            if (!int_of(sz->items[i], &t->size[i]) || !int_of(sr->items[i], &t->stride[i]) ||
                t->size[i] < 0 || t->stride[i] < 0)
                goto bad;
        return t;
    }
    if (!strcmp(g, "builtins.set") || !strcmp(g, "builtins.list") || !strcmp(g, "builtins.tuple")) {
        pv *l = newv(m, V_LIST);
        if (l && args->n == 1 && (args->items[0]->kind == V_LIST || args->items[0]->kind == V_TUPLE))
            for (size_t i = 0; i < args->items[0]->n; i++)
                if (!append_item(l, args->items[0]->items[i])) return NULL;
        return l;
    }
    if (!strcmp(g, "_codecs.encode")) { /* protocol-2 bytes: encode(str, 'latin1') */
        if (args->n < 1 || args->items[0]->kind != V_STR) goto bad;
        pv *b = newv(m, V_BYTES);
        if (!b) return NULL;
        /* latin1: code points < 256 from UTF-8 */
        const unsigned char *s = (const unsigned char *)args->items[0]->s;
        size_t n = args->items[0]->n, o = 0;
        b->s = sdf_malloc(n + 1);
        if (!b->s) return NULL;
        for (size_t i = 0; i < n; i++) {
            if (s[i] >= 0xC0 && i + 1 < n) { b->s[o++] = (char)(((s[i] & 0x1F) << 6) | (s[i + 1] & 0x3F)); i++; }
            else b->s[o++] = (char)s[i];
        }
        b->n = o;
        return b;
    }
    /* everything else allowlisted (torch.device, numpy scalars, ModelCheckpoint, ...) becomes an
     * opaque value: it can never be a tensor of the state dict. */
    return newv(m, V_OBJ);
bad:
    sdf_fail(m->err, SDF_ERR_PARSE, "pickle: bad arguments to %s", g);
    return NULL;
}

#define FAIL(...) do { sdf_fail(m->err, SDF_ERR_PARSE, __VA_ARGS__); return NULL; } while (0)
#define NOMEM() do { sdf_fail(m->err, SDF_ERR_NOMEM, "pickle"); return NULL; } while (0)

/* Persistent load: ('storage', type, key, location, numel[, view]) -> storage. */
static pv *persistent(pm *m, pv *pid) {
    if (pid->kind != V_TUPLE || pid->n < 5 || pid->items[0]->kind != V_STR || strcmp(pid->items[0]->s, "storage"))
        FAIL("pickle: unknown persistent id");
    pv *type = pid->items[1], *key = pid->items[2];
    if (type->kind != V_GLOBAL || key->kind != V_STR || key->n >= sizeof ((pv *)0)->key)
        FAIL("pickle: malformed storage reference");
    int dt = storage_dtype(type->s);
    if (dt < 0) FAIL("pickle: unsupported storage type %s", type->s);
    pv *s = newv(m, V_STORAGE);
    if (!s) NOMEM();
    s->dt = (sdf_dtype)dt;
    memcpy(s->key, key->s, key->n + 1);
    if (!int_of(pid->items[4], &s->numel) || s->numel < 0) FAIL("pickle: bad storage size");
    return s;
}

/* Runs the pickle in [p, end); returns the result or NULL with m->err set. Sets *stop_at. */
static pv *run_pickle(pm *m, const unsigned char **stop_at) {
    while (m->p < m->end) {
        unsigned char op = *m->p++;
        pv *v, *a, *b;
        long mk;
        switch (op) {
        case 0x80: /* PROTO */
            if (!need(m, 1)) FAIL("pickle: truncated");
            if (*m->p > 5) FAIL("pickle: protocol %d", *m->p);
            m->p++;
            break;
        case 0x95: /* FRAME */
            if (!need(m, 8)) FAIL("pickle: truncated");
            m->p += 8;
            break;
        case '}': if (!push(m, newv(m, V_DICT))) NOMEM(); break;
        case ']': if (!push(m, newv(m, V_LIST))) NOMEM(); break;
        case ')': if (!push(m, newv(m, V_TUPLE))) NOMEM(); break;
        case '(': if (!push(m, newv(m, V_MARK))) NOMEM(); break;
        case 'N': if (!push(m, newv(m, V_NONE))) NOMEM(); break;
        case 0x88: case 0x89:
            if (!(v = newv(m, V_BOOL))) NOMEM();
            v->i = op == 0x88;
            if (!push(m, v)) NOMEM();
            break;
        case 'K': case 'M': case 'J': {
            size_t k = op == 'K' ? 1 : op == 'M' ? 2 : 4;
            if (!need(m, k)) FAIL("pickle: truncated");
            if (!(v = newv(m, V_INT))) NOMEM();
            v->i = op == 'K' ? m->p[0] : op == 'M' ? rd16(m->p) : (int32_t)rd32(m->p);
            m->p += k;
            if (!push(m, v)) NOMEM();
            break;
        }
        case 0x8a: { /* LONG1 */
            if (!need(m, 1)) FAIL("pickle: truncated");
            size_t k = *m->p++;
            if (!need(m, k)) FAIL("pickle: bad LONG1");
            uint64_t u = 0; /* wider values (torch's legacy magic) keep their low 64 bits */
            for (size_t i = 0; i < k && i < 8; i++) u |= (uint64_t)m->p[i] << (8 * i);
            if (k && k < 8 && (m->p[k - 1] & 0x80)) u |= ~0ull << (8 * k);
            m->p += k;
            if (!(v = newv(m, V_INT))) NOMEM();
            v->i = (int64_t)u;
            if (!push(m, v)) NOMEM();
            break;
        }
        case 'G': { /* BINFLOAT, big-endian */
            if (!need(m, 8)) FAIL("pickle: truncated");
            uint64_t u = 0;
            for (int i = 0; i < 8; i++) u = (u << 8) | m->p[i];
            m->p += 8;
            if (!(v = newv(m, V_FLOAT))) NOMEM();
            memcpy(&v->f, &u, 8);
            if (!push(m, v)) NOMEM();
            break;
        }
        case 'X': case 0x8c: case 0x8d: case 'B': case 'C': case 'T': case 'U': case 0x8e: {
            size_t k;
            uint64_t len;
            if (op == 0x8c || op == 'C' || op == 'U') k = 1;
            else if (op == 0x8d || op == 0x8e) k = 8;
            else k = 4;
            if (!need(m, k)) FAIL("pickle: truncated");
            len = k == 1 ? m->p[0] : k == 4 ? rd32(m->p) : rd64(m->p);
            m->p += k;
            if (!need(m, len)) FAIL("pickle: string runs past the end");
            vkind vk = (op == 'B' || op == 'C' || op == 0x8e) ? V_BYTES : V_STR;
            if (!(v = mkstr(m, vk, m->p, (size_t)len))) NOMEM();
            m->p += len;
            if (!push(m, v)) NOMEM();
            break;
        }
        case 'q': case 'r': case 0x94: { /* BINPUT, LONG_BINPUT, MEMOIZE */
            size_t idx;
            if (op == 0x94) idx = m->nmemo;
            else {
                size_t k = op == 'q' ? 1 : 4;
                if (!need(m, k)) FAIL("pickle: truncated");
                idx = k == 1 ? m->p[0] : rd32(m->p);
                m->p += k;
            }
            if (!m->sp || !memo_put(m, idx, top(m))) FAIL("pickle: bad memo put");
            break;
        }
        case 'h': case 'j': {
            size_t k = op == 'h' ? 1 : 4;
            if (!need(m, k)) FAIL("pickle: truncated");
            size_t idx = k == 1 ? m->p[0] : rd32(m->p);
            m->p += k;
            if (idx >= m->nmemo || !m->memo[idx]) FAIL("pickle: memo %zu undefined", idx);
            if (!push(m, m->memo[idx])) NOMEM();
            break;
        }
        case 't': case 'l': case 'd': { /* TUPLE, LIST, DICT from MARK */
            if ((mk = find_mark(m)) < 0) FAIL("pickle: missing MARK");
            if (!(v = newv(m, op == 't' ? V_TUPLE : op == 'l' ? V_LIST : V_DICT))) NOMEM();
            if (op == 'd' && ((m->sp - (size_t)mk - 1) & 1)) FAIL("pickle: odd DICT");
            for (size_t i = (size_t)mk + 1; i < m->sp; i++)
                if (!append_item(v, m->stack[i])) NOMEM();
            m->sp = (size_t)mk;
            if (!push(m, v)) NOMEM();
            break;
        }
        case 0x85: case 0x86: case 0x87: {
            size_t k = (size_t)(op - 0x84);
            if (m->sp < k) FAIL("pickle: stack underflow");
            if (!(v = newv(m, V_TUPLE))) NOMEM();
            for (size_t i = m->sp - k; i < m->sp; i++)
                if (!append_item(v, m->stack[i])) NOMEM();
            m->sp -= k;
            if (!push(m, v)) NOMEM();
            break;
        }
        case 's': /* SETITEM */
            if (m->sp < 3) FAIL("pickle: stack underflow");
            b = pop(m); a = pop(m); v = top(m);
            if (v->kind != V_DICT) FAIL("pickle: SETITEM on a non-dict");
            if (!append_item(v, a) || !append_item(v, b)) NOMEM();
            break;
        case 'u': /* SETITEMS */
            if ((mk = find_mark(m)) < 1) FAIL("pickle: missing MARK");
            v = m->stack[mk - 1];
            if (v->kind != V_DICT || ((m->sp - (size_t)mk - 1) & 1)) FAIL("pickle: bad SETITEMS");
            for (size_t i = (size_t)mk + 1; i < m->sp; i++)
                if (!append_item(v, m->stack[i])) NOMEM();
            m->sp = (size_t)mk;
            break;
        case 'a': /* APPEND */
            if (m->sp < 2) FAIL("pickle: stack underflow");
            a = pop(m); v = top(m);
            if (v->kind != V_LIST) FAIL("pickle: APPEND on a non-list");
            if (!append_item(v, a)) NOMEM();
            break;
        case 'e': /* APPENDS */
            if ((mk = find_mark(m)) < 1) FAIL("pickle: missing MARK");
            v = m->stack[mk - 1];
            if (v->kind != V_LIST) FAIL("pickle: APPENDS on a non-list");
            for (size_t i = (size_t)mk + 1; i < m->sp; i++)
                if (!append_item(v, m->stack[i])) NOMEM();
            m->sp = (size_t)mk;
            break;
        case '0': if (!pop(m)) FAIL("pickle: stack underflow"); break;
        case '1': if ((mk = find_mark(m)) < 0) FAIL("pickle: missing MARK"); m->sp = (size_t)mk; break;
        case '2': if (!m->sp || !push(m, top(m))) FAIL("pickle: bad DUP"); break;
        case 'c': { /* GLOBAL "module\nname\n" */
            const unsigned char *nl1 = memchr(m->p, '\n', (size_t)(m->end - m->p));
            if (!nl1) FAIL("pickle: truncated GLOBAL");
            const unsigned char *nl2 = memchr(nl1 + 1, '\n', (size_t)(m->end - nl1 - 1));
            if (!nl2) FAIL("pickle: truncated GLOBAL");
            char g[512];
            snprintf(g, sizeof g, "%.*s.%.*s", (int)(nl1 - m->p), m->p, (int)(nl2 - nl1 - 1), nl1 + 1);
            m->p = nl2 + 1;
            if (!(v = mkstr(m, V_GLOBAL, (const unsigned char *)g, strlen(g)))) NOMEM();
            if (!push(m, v)) NOMEM();
            break;
        }
        case 0x93: { /* STACK_GLOBAL */
            if (m->sp < 2) FAIL("pickle: stack underflow");
            b = pop(m); a = pop(m);
            if (a->kind != V_STR || b->kind != V_STR) FAIL("pickle: bad STACK_GLOBAL");
            char g[512];
            snprintf(g, sizeof g, "%s.%s", a->s, b->s);
            if (!(v = mkstr(m, V_GLOBAL, (const unsigned char *)g, strlen(g)))) NOMEM();
            if (!push(m, v)) NOMEM();
            break;
        }
        case 'R': case 0x81: { /* REDUCE, NEWOBJ */
            if (m->sp < 2) FAIL("pickle: stack underflow");
            b = pop(m); a = pop(m);
            if (a->kind != V_GLOBAL) FAIL("pickle: call of a non-global");
            bool ok = false;
            for (size_t i = 0; i < sizeof allowed_globals / sizeof *allowed_globals; i++)
                if (!strcmp(a->s, allowed_globals[i])) ok = true;
            if (!ok) {
                sdf_fail(m->err, SDF_ERR_UNSUPPORTED,
                         "pickle calls %s, which is not allowed (only plain tensor data is read; "
                         "nothing in the file is executed)", a->s);
                return NULL;
            }
            if (!(v = call_global(m, a, b))) return NULL;
            if (!push(m, v)) NOMEM();
            break;
        }
        case 'Q': { /* BINPERSID */
            if (!m->sp) FAIL("pickle: stack underflow");
            a = pop(m);
            if (!(v = persistent(m, a))) return NULL;
            if (!push(m, v)) NOMEM();
            break;
        }
        case 'b': /* BUILD: state applied to an object; data objects keep their value */
            if (m->sp < 2) FAIL("pickle: stack underflow");
            pop(m);
            break;
        case '.': /* STOP */
            if (m->sp != 1) FAIL("pickle: %zu values on the stack at STOP", m->sp);
            *stop_at = m->p;
            return pop(m);
        default:
            FAIL("pickle opcode 0x%02x is not supported", op);
        }
    }
    FAIL("pickle: truncated (no STOP)");
}

#undef FAIL
#undef NOMEM

/* ---------------- state dict -> store ---------------- */

static const pv *unwrap(const pv *root) {
    if (!root || root->kind != V_DICT) return root;
    for (size_t i = 0; i + 1 < root->n; i += 2)
        if (root->items[i]->kind == V_STR && !strcmp(root->items[i]->s, "state_dict") &&
            root->items[i + 1]->kind == V_DICT)
            return root->items[i + 1];
    if (root->n == 2 && root->items[1]->kind == V_DICT) return root->items[1];
    return root;
}

typedef struct storage_src {
    const unsigned char *data;
    size_t bytes;
} storage_src;

static sdf_status add_tensor(image *im, const pv *t, storage_src src, const char *name,
                             sdf_wstore *w, sdf_error *err) {
    size_t es = sdf_dtype_size(t->storage->dt);
    /* extent check with overflow care */
    uint64_t last = (uint64_t)t->offset, numel = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (t->size[d] == 0) { numel = 0; break; }
        uint64_t span;
        if (__builtin_mul_overflow((uint64_t)(t->size[d] - 1), (uint64_t)t->stride[d], &span) ||
            __builtin_add_overflow(last, span, &last) ||
            __builtin_mul_overflow(numel, (uint64_t)t->size[d], &numel))
            return sdf_fail(err, SDF_ERR_PARSE, "tensor '%s': size overflow", name);
    }
    uint64_t need_bytes;
    if (numel && (__builtin_mul_overflow(last + 1, (uint64_t)es, &need_bytes) || need_bytes > src.bytes))
        return sdf_fail(err, SDF_ERR_PARSE, "tensor '%s' reaches past its storage (%zu bytes)", name, src.bytes);
    bool contiguous = true;
    int64_t expect = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->size[d] != 1 && t->stride[d] != expect) contiguous = false;
        expect *= t->size[d];
    }
    sdf_tensor *out;
    const unsigned char *first = src.data + (size_t)t->offset * es;
    if (contiguous && numel && ((uintptr_t)first % es) == 0) { /* zero-copy view (aligned) */
        atomic_fetch_add(&im->refs, 1);
        out = sdf_tensor_wrap(t->storage->dt, t->ndim, t->size,
                              (void *)first, im, image_release, err);
        if (!out) { image_release(im); return err->code; }
    } else {
        out = sdf_tensor_new(t->storage->dt, t->ndim, t->size, err);
        if (!out) return err->code;
        int64_t idx[SDF_MAX_DIMS] = {0};
        unsigned char *dst = out->data;
        for (uint64_t k = 0; k < numel; k++) {
            int64_t off = t->offset;
            for (int d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
            memcpy(dst + k * es, src.data + (size_t)off * es, es);
            for (int d = t->ndim - 1; d >= 0; d--) {
                if (++idx[d] < t->size[d]) break;
                idx[d] = 0;
            }
        }
    }
    sdf_status st = sdf_wstore_put(w, name, out, err);
    sdf_tensor_release(out);
    return st;
}

/* Visits every tensor reachable from v through dicts and lists, named by the key path joined
 * with "." ("string_to_param.*" in A1111 embeddings); top-level state-dict keys stay as they are.
 * A visit budget guards against shared/cyclic structures built with the memo. */
typedef sdf_status (*tensor_cb)(void *ctx, const char *name, const pv *t, sdf_error *err);

static sdf_status walk(const pv *v, char *name, size_t len, size_t cap, int depth, long *budget,
                       tensor_cb cb, void *ctx, sdf_error *err) {
    if (--*budget < 0) return sdf_fail(err, SDF_ERR_PARSE, "pickle: object graph too large");
    if (v->kind == V_TENSOR) return len ? cb(ctx, name, v, err) : SDF_OK;
    if (depth > 8 || (v->kind != V_DICT && v->kind != V_LIST && v->kind != V_TUPLE)) return SDF_OK;
    bool dict = v->kind == V_DICT;
    for (size_t i = 0; i < v->n; i += dict ? 2 : 1) {
        if (dict && i + 1 >= v->n) break;
        const pv *k = dict ? v->items[i] : NULL, *c = dict ? v->items[i + 1] : v->items[i];
        int w;
        if (dict && k->kind == V_STR) w = snprintf(name + len, cap - len, "%s%s", len ? "." : "", k->s);
        else if (dict && k->kind == V_INT) w = snprintf(name + len, cap - len, "%s%lld", len ? "." : "", (long long)k->i);
        else if (dict) continue;
        else w = snprintf(name + len, cap - len, "%s%zu", len ? "." : "", i);
        if (w < 0 || (size_t)w >= cap - len) continue; /* name too long: skipped */
        sdf_status st = walk(c, name, len + (size_t)w, cap, depth + 1, budget, cb, ctx, err);
        name[len] = 0;
        if (st) return st;
    }
    return SDF_OK;
}

typedef struct zip_cb_ctx {
    image      *im;
    const zip  *z;
    const char *prefix;     /* "<archive>/data/" */
    const char *add_prefix;
    sdf_wstore *w;
} zip_cb_ctx;

static sdf_status zip_tensor(void *vctx, const char *nm, const pv *t, sdf_error *err) {
    zip_cb_ctx *c = vctx;
    const zentry *ze = zip_find_suffix(c->z, t->storage->key, c->prefix);
    if (!ze) return sdf_fail(err, SDF_ERR_PARSE, "tensor '%s': storage %s missing from the zip", nm, t->storage->key);
    char name[1200];
    snprintf(name, sizeof name, "%s%s", c->add_prefix ? c->add_prefix : "", nm);
    return add_tensor(c->im, t, (storage_src){c->im->data + ze->off, ze->size}, name, c->w, err);
}

static sdf_status load_zip(image *im, sdf_wstore *w, const char *add_prefix, sdf_error *err) {
    zip z;
    sdf_status st = zip_read(im, &z, err);
    if (st) return st;
    const zentry *pk = zip_find_suffix(&z, "data.pkl", NULL);
    if (!pk) { zip_free(&z); return sdf_fail(err, SDF_ERR_PARSE, "torch zip without data.pkl"); }
    char prefix[512];
    size_t pl = strlen(pk->name) - strlen("data.pkl");
    snprintf(prefix, sizeof prefix, "%.*sdata/", (int)pl, pk->name);
    pm m = {.p = im->data + pk->off, .end = im->data + pk->off + pk->size, .err = err};
    const unsigned char *stop;
    pv *root = run_pickle(&m, &stop);
    if (!root) { st = err->code ? err->code : SDF_ERR_PARSE; goto done; }
    const pv *sd = unwrap(root);
    if (!sd || (sd->kind != V_DICT && sd->kind != V_LIST && sd->kind != V_TUPLE)) {
        st = sdf_fail(err, SDF_ERR_PARSE, "checkpoint pickle is not a dict or list");
        goto done;
    }
    {
        zip_cb_ctx c = {.im = im, .z = &z, .prefix = prefix, .add_prefix = add_prefix, .w = w};
        char name[1024] = "";
        long budget = 1000000;
        st = walk(sd, name, 0, sizeof name, 0, &budget, zip_tensor, &c, err);
    }
done:
    pm_free(&m);
    zip_free(&z);
    return st;
}

typedef struct es_cb_ctx {
    const char *key;
    size_t      es;
} es_cb_ctx;

static sdf_status es_of(void *vctx, const char *nm, const pv *t, sdf_error *err) {
    (void)nm;
    (void)err;
    es_cb_ctx *c = vctx;
    if (!c->es && !strcmp(t->storage->key, c->key)) c->es = sdf_dtype_size(t->storage->dt);
    return SDF_OK;
}

typedef struct legacy_cb_ctx {
    image             *im;
    const pv          *keys;
    const storage_src *src;
    const char        *add_prefix;
    sdf_wstore        *w;
} legacy_cb_ctx;

static sdf_status legacy_tensor(void *vctx, const char *nm, const pv *t, sdf_error *err) {
    legacy_cb_ctx *c = vctx;
    size_t j = 0, nk = c->keys->n;
    while (j < nk && !(c->keys->items[j]->kind == V_STR && !strcmp(c->keys->items[j]->s, t->storage->key))) j++;
    if (j == nk) return sdf_fail(err, SDF_ERR_PARSE, "tensor '%s': storage %s not in the file", nm, t->storage->key);
    char name[1200];
    snprintf(name, sizeof name, "%s%s", c->add_prefix ? c->add_prefix : "", nm);
    return add_tensor(c->im, t, c->src[j], name, c->w, err);
}

/* Legacy (torch < 1.6) stream: magic, protocol, sys_info, the object, the storage key list, then
 * each storage as u64 element count + raw bytes in key-list order. */
static sdf_status load_legacy(image *im, sdf_wstore *w, const char *add_prefix, sdf_error *err) {
    const unsigned char *p = im->data, *end = im->data + im->size;
    pv *vals[5] = {0};
    pm ms[5];
    memset(ms, 0, sizeof ms);
    sdf_status st = SDF_OK;
    for (int k = 0; k < 5; k++) {
        ms[k] = (pm){.p = p, .end = end, .err = err};
        const unsigned char *stop = NULL;
        vals[k] = run_pickle(&ms[k], &stop);
        if (!vals[k]) { st = err->code ? err->code : SDF_ERR_PARSE; goto done; }
        p = stop;
    }
    /* vals[0] is torch's magic number (a LONG1 wider than 64 bits, read truncated), vals[1]
     * the protocol version, vals[2] sys_info: only their framing matters here. */
    const pv *keys = vals[4];
    if (keys->kind != V_LIST) { st = sdf_fail(err, SDF_ERR_PARSE, "legacy checkpoint: no storage key list"); goto done; }
    /* storages in key order */
    size_t nk = keys->n;
    storage_src *src = sdf_calloc(nk ? nk : 1, sizeof *src);
    if (!src) { st = sdf_fail(err, SDF_ERR_NOMEM, "legacy checkpoint"); goto done; }
    for (size_t i = 0; i < nk; i++) {
        if ((size_t)(end - p) < 8) { sdf_free(src); st = sdf_fail(err, SDF_ERR_PARSE, "legacy checkpoint: truncated storage"); goto done; }
        uint64_t cnt = rd64(p);
        p += 8;
        /* element size comes from the tensors that use it (anywhere in the object) */
        es_cb_ctx ec = {.key = keys->items[i]->kind == V_STR ? keys->items[i]->s : ""};
        char nbuf[1024] = "";
        long budget = 1000000;
        if (walk(unwrap(vals[3]), nbuf, 0, sizeof nbuf, 0, &budget, es_of, &ec, err)) {
            sdf_free(src);
            st = err->code;
            goto done;
        }
        size_t es = ec.es;
        if (!es) es = 1;
        uint64_t bytes;
        if (__builtin_mul_overflow(cnt, (uint64_t)es, &bytes) || bytes > (uint64_t)(end - p)) {
            sdf_free(src);
            st = sdf_fail(err, SDF_ERR_PARSE, "legacy checkpoint: storage runs past the end");
            goto done;
        }
        src[i] = (storage_src){p, (size_t)bytes};
        p += bytes;
    }
    const pv *sd = unwrap(vals[3]);
    if (!sd || (sd->kind != V_DICT && sd->kind != V_LIST && sd->kind != V_TUPLE))
        st = sdf_fail(err, SDF_ERR_PARSE, "checkpoint pickle is not a dict or list");
    if (!st) {
        legacy_cb_ctx c = {.im = im, .keys = keys, .src = src, .add_prefix = add_prefix, .w = w};
        char name[1024] = "";
        long budget = 1000000;
        st = walk(sd, name, 0, sizeof name, 0, &budget, legacy_tensor, &c, err);
    }
    sdf_free(src);
done:
    for (int k = 0; k < 5; k++) pm_free(&ms[k]);
    return st;
}

static sdf_status load_image(image *im, const char *name, sdf_wstore *w, const char *add_prefix,
                             sdf_error *err) {
    sdf_status st;
    if (im->size >= 4 && !memcmp(im->data, "PK\3\4", 4)) st = load_zip(im, w, add_prefix, err);
    else if (im->size >= 2 && im->data[0] == 0x80) st = load_legacy(im, w, add_prefix, err);
    else st = sdf_fail(err, SDF_ERR_PARSE, "not a torch checkpoint (neither zip nor pickle)");
    if (st) sdf_error_at_file(err, name);
    return st;
}

sdf_status sdf_ckpt_load_into(const char *path, sdf_wstore *w, const char *add_prefix,
                              sdf_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sdf_fail(err, SDF_ERR_IO, "cannot open: %s", strerror(errno));
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size <= 0) {
        close(fd);
        sdf_fail(err, SDF_ERR_PARSE, "empty or unreadable file");
        sdf_error_at_file(err, path);
        return SDF_ERR_PARSE;
    }
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        sdf_fail(err, SDF_ERR_IO, "mmap failed: %s", strerror(errno));
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    image *im = sdf_calloc(1, sizeof *im);
    if (!im) { munmap(map, (size_t)sb.st_size); return sdf_fail(err, SDF_ERR_NOMEM, "checkpoint"); }
    atomic_init(&im->refs, 1);
    im->data = map;
    im->size = (size_t)sb.st_size;
    im->mapped = true;
    sdf_status st = load_image(im, path, w, add_prefix, err);
    image_release(im);
    return st;
}

sdf_status sdf_ckpt_load_memory(const void *data, size_t n, const char *name, sdf_wstore *w,
                                const char *add_prefix, sdf_error *err) {
    image *im = sdf_calloc(1, sizeof *im);
    if (!im) return sdf_fail(err, SDF_ERR_NOMEM, "checkpoint");
    im->data = sdf_malloc(n ? n : 1);
    if (!im->data) { sdf_free(im); return sdf_fail(err, SDF_ERR_NOMEM, "checkpoint"); }
    memcpy(im->data, data, n);
    im->size = n;
    atomic_init(&im->refs, 1);
    sdf_status st = load_image(im, name, w, add_prefix, err);
    image_release(im);
    return st;
}
