#include "lora.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../base/alloc.h"
#include "../io/ckpt.h"
#include "lora_keymap.h"

struct sdf_lora {
    sdf_wstore  *w;
    const char **names; /* sorted, index-aligned with the store */
    size_t       n;
};

/* ---------------- file ---------------- */

sdf_status sdf_lora_open(const char *path, sdf_lora **out, sdf_error *err) {
    *out = NULL;
    int kind = sdf_ckpt_sniff(path);
    if (kind < 0) {
        sdf_fail(err, SDF_ERR_IO, "cannot open LoRA file");
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    sdf_lora *l = sdf_calloc(1, sizeof *l);
    if (!l || !(l->w = sdf_wstore_new(err))) {
        sdf_free(l);
        return sdf_fail(err, SDF_ERR_NOMEM, "LoRA");
    }
    sdf_status st;
    if (kind == SDF_CKPT_KIND_SAFETENSORS) {
        sdf_st_file *f = NULL;
        st = sdf_st_open(path, &f, err);
        if (!st) st = sdf_wstore_add_file(l->w, f, NULL, NULL, err);
        sdf_st_close(f);
    } else {
        st = sdf_ckpt_load_into(path, l->w, NULL, err);
    }
    if (!st) {
        l->n = sdf_wstore_count(l->w);
        l->names = sdf_malloc((l->n ? l->n : 1) * sizeof *l->names);
        if (!l->names) st = sdf_fail(err, SDF_ERR_NOMEM, "LoRA");
        for (size_t i = 0; !st && i < l->n; i++) {
            sdf_wstore_info in;
            sdf_wstore_info_at(l->w, i, &in);
            l->names[i] = in.name;
        }
    }
    if (st) {
        sdf_lora_free(l);
        return st;
    }
    *out = l;
    return SDF_OK;
}

void sdf_lora_free(sdf_lora *l) {
    if (!l) return;
    sdf_free(l->names);
    sdf_wstore_release(l->w);
    sdf_free(l);
}

size_t sdf_lora_count(const sdf_lora *l) { return l->n; }

static long lora_index(const sdf_lora *l, const char *name) {
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(l->names[mid], name);
        if (c == 0) return (long)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* ---------------- patch recognition ---------------- */

typedef enum ptype { P_LORA, P_LOHA, P_LOKR, P_DIFF, P_SET } ptype;

enum { T_MAX = 7 };

typedef struct patch {
    ptype           type;
    sdf_lora_target tgt;
    char            weight[512];  /* canonical target name */
    const char     *key;          /* key base (borrowed from the key map) */
    long            t[T_MAX];     /* LoRA tensor indices, -1 when absent */
    bool            has_alpha;
    double          alpha;
    long            dora;         /* index or -1 */
} patch;

/* LoRA: up, down, mid. LoHa: w1a, w1b, w2a, w2b, t1, t2. LoKr: w1, w2, w1a, w1b, w2a, w2b, t2.
 * Diff/Set: value. */

typedef struct matcher {
    const sdf_lora *l;
    unsigned char  *used;
    patch          *p;
    size_t          n, cap;
} matcher;

static long probe(matcher *m, const char *x, const char *suffix) {
    char name[1024];
    snprintf(name, sizeof name, "%s%s", x, suffix);
    return lora_index(m->l, name);
}

static void use(matcher *m, long i) {
    if (i >= 0) m->used[i] = 1;
}

/* Finds or appends the patch for (tgt, weight); a later recognition replaces an earlier one. */
static patch *slot_for(matcher *m, sdf_lora_target tgt, const char *weight, sdf_error *err) {
    for (size_t i = 0; i < m->n; i++)
        if (m->p[i].tgt == tgt && strcmp(m->p[i].weight, weight) == 0) return &m->p[i];
    if (m->n == m->cap) {
        size_t nc = m->cap ? 2 * m->cap : 256;
        patch *np = sdf_realloc(m->p, nc * sizeof *np);
        if (!np) { sdf_fail(err, SDF_ERR_NOMEM, "LoRA patches"); return NULL; }
        m->p = np;
        m->cap = nc;
    }
    patch *p = &m->p[m->n++];
    memset(p, 0, sizeof *p);
    p->tgt = tgt;
    snprintf(p->weight, sizeof p->weight, "%s", weight);
    return p;
}

static float scalar_of(const sdf_lora *l, long i) {
    sdf_error e;
    sdf_tensor *t = sdf_wstore_get_f32(l->w, l->names[i], &e);
    float v = t && sdf_tensor_numel(t) >= 1 ? sdf_tensor_f32p(t)[0] : 0.0f;
    sdf_tensor_release(t);
    return v;
}

static sdf_status set_patch(matcher *m, const sdf_lora_keymap_entry *e, const char *weight,
                            ptype type, const long *t, int nt, bool has_alpha, double alpha,
                            long dora, sdf_error *err) {
    patch *p = slot_for(m, e->target, weight, err);
    if (!p) return err->code;
    p->type = type;
    p->key = e->key;
    for (int i = 0; i < T_MAX; i++) p->t[i] = i < nt ? t[i] : -1;
    p->has_alpha = has_alpha;
    p->alpha = alpha;
    p->dora = dora;
    for (int i = 0; i < nt; i++) use(m, t[i]);
    return SDF_OK;
}

static sdf_status match_entry(matcher *m, const sdf_lora_keymap_entry *e, sdf_error *err) {
    const char *x = e->key;
    long ia = probe(m, x, ".alpha");
    bool has_alpha = ia >= 0;
    double alpha = has_alpha ? (double)scalar_of(m->l, ia) : 0.0;
    use(m, ia);
    long dora = probe(m, x, ".dora_scale");
    use(m, dora);
    sdf_status st = SDF_OK;
    /* LoRA forms, in ComfyUI's order */
    static const struct { const char *up, *down, *mid; } forms[] = {
        {".lora_up.weight", ".lora_down.weight", ".lora_mid.weight"},
        {"_lora.up.weight", "_lora.down.weight", NULL},
        {".lora_B.weight", ".lora_A.weight", NULL},
        {".lora.up.weight", ".lora.down.weight", NULL},
        {".lora_B", ".lora_A", NULL},
        {".lora_linear_layer.up.weight", ".lora_linear_layer.down.weight", NULL},
        {".lora_B.default.weight", ".lora_A.default.weight", NULL},
    };
    for (size_t f = 0; f < SDF_COUNTOF(forms); f++) {
        long up = probe(m, x, forms[f].up);
        if (up < 0) continue;
        long down = probe(m, x, forms[f].down);
        long mid = forms[f].mid ? probe(m, x, forms[f].mid) : -1;
        if (down < 0) { use(m, up); break; } /* incomplete pair: reported as skipped below */
        long t[3] = {up, down, mid};
        st = set_patch(m, e, e->weight, P_LORA, t, 3, has_alpha, alpha, dora, err);
        break;
    }
    if (st) return st;
    /* LoHa */
    long w1a = probe(m, x, ".hada_w1_a");
    if (w1a >= 0) {
        long t[6] = {w1a, probe(m, x, ".hada_w1_b"), probe(m, x, ".hada_w2_a"),
                     probe(m, x, ".hada_w2_b"), probe(m, x, ".hada_t1"), probe(m, x, ".hada_t2")};
        if (t[1] >= 0 && t[2] >= 0 && t[3] >= 0)
            st = set_patch(m, e, e->weight, P_LOHA, t, 6, has_alpha, alpha, dora, err);
    }
    if (st) return st;
    /* LoKr */
    long k[7] = {probe(m, x, ".lokr_w1"),   probe(m, x, ".lokr_w2"),   probe(m, x, ".lokr_w1_a"),
                 probe(m, x, ".lokr_w1_b"), probe(m, x, ".lokr_w2_a"), probe(m, x, ".lokr_w2_b"),
                 probe(m, x, ".lokr_t2")};
    if (k[0] >= 0 || k[1] >= 0 || k[2] >= 0 || k[4] >= 0)
        st = set_patch(m, e, e->weight, P_LOKR, k, 7, has_alpha, alpha, dora, err);
    if (st) return st;
    /* full-weight forms */
    char bias[600];
    size_t wl = strlen(e->weight);
    snprintf(bias, sizeof bias, "%.*s.bias", (int)(wl > 7 ? wl - 7 : wl), e->weight);
    long wn = probe(m, x, ".w_norm"), bn = probe(m, x, ".b_norm");
    if (wn >= 0) {
        if ((st = set_patch(m, e, e->weight, P_DIFF, &wn, 1, false, 0, -1, err))) return st;
        if (bn >= 0 && (st = set_patch(m, e, bias, P_DIFF, &bn, 1, false, 0, -1, err))) return st;
    }
    long d = probe(m, x, ".diff");
    if (d >= 0 && (st = set_patch(m, e, e->weight, P_DIFF, &d, 1, false, 0, -1, err))) return st;
    long db = probe(m, x, ".diff_b");
    if (db >= 0 && (st = set_patch(m, e, bias, P_DIFF, &db, 1, false, 0, -1, err))) return st;
    long sw = probe(m, x, ".set_weight");
    if (sw >= 0 && (st = set_patch(m, e, e->weight, P_SET, &sw, 1, false, 0, -1, err))) return st;
    return SDF_OK;
}

/* ---------------- arithmetic ---------------- */

typedef struct mat {
    sdf_tensor *t; /* f32 */
    float      *p;
    int         ndim;
    int64_t     shape[SDF_MAX_DIMS];
    int64_t     numel;
} mat;

static bool get_mat(const sdf_lora *l, long i, mat *m, sdf_error *err) {
    memset(m, 0, sizeof *m);
    if (i < 0) return false;
    m->t = sdf_wstore_get_f32(l->w, l->names[i], err);
    if (!m->t) return false;
    m->p = sdf_tensor_f32p(m->t);
    m->ndim = m->t->ndim;
    memcpy(m->shape, m->t->shape, sizeof m->shape);
    m->numel = sdf_tensor_numel(m->t);
    return true;
}

static void put_mat(mat *m) {
    sdf_tensor_release(m->t);
    m->t = NULL;
}

static int64_t rows(const mat *m) { return m->ndim ? m->shape[0] : 1; }
static int64_t cols(const mat *m) { return m->ndim ? m->numel / (m->shape[0] ? m->shape[0] : 1) : 1; }

/* C[M,N] = A[M,K] @ B[K,N] (row-major, f32). */
static void mm(const float *A, const float *B, float *C, int64_t M, int64_t K, int64_t N) {
    if (M == 0 || N == 0) return;
    if (K == 0) { memset(C, 0, (size_t)(M * N) * sizeof *C); return; }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, A,
                (int)K, B, (int)N, 0.0f, C, (int)N);
}

/* CP reconstruction m[p,r,k,l] = sum_{i,j} t[i,j,k,l] * b[j,r] * a[i,p]. */
static float *cp_expand(const mat *t, const mat *b, const mat *a, int64_t *P, int64_t *R,
                        int64_t *KL) {
    int64_t NI = t->shape[0], NJ = t->shape[1], kl = t->numel / (NI * NJ);
    int64_t r = b->shape[1], p = a->shape[1];
    float *tmp = sdf_calloc((size_t)(NI * r * kl), sizeof *tmp); /* [i, r, kl] */
    float *out = sdf_calloc((size_t)(p * r * kl), sizeof *out);
    if (!tmp || !out) { sdf_free(tmp); sdf_free(out); return NULL; }
    for (int64_t i = 0; i < NI; i++)
        for (int64_t j = 0; j < NJ; j++)
            for (int64_t rr = 0; rr < r; rr++) {
                float bv = b->p[j * r + rr];
                for (int64_t q = 0; q < kl; q++) tmp[(i * r + rr) * kl + q] += t->p[(i * NJ + j) * kl + q] * bv;
            }
    for (int64_t pp = 0; pp < p; pp++)
        for (int64_t i = 0; i < NI; i++) {
            float av = a->p[i * p + pp];
            for (int64_t q = 0; q < r * kl; q++) out[pp * r * kl + q] += tmp[i * r * kl + q] * av;
        }
    sdf_free(tmp);
    *P = p;
    *R = r;
    *KL = kl;
    return out;
}

/* Computes the delta of a LoRA/LoHa/LoKr patch (numel = W's) and its alpha factor. */
/* fuse_w: when non-NULL and the patch is a plain LoRA, W += f32(s*alpha/rank) * (up @ down) is
 * done in place by one GEMM (beta 1; no delta buffer) and fuse_w itself is returned. */
static float *patch_delta(const sdf_lora *l, const patch *p, int64_t wnumel, double *alpha_s,
                          float *fuse_w, double s, char *why, size_t whycap, sdf_error *err) {
    mat a, b, c, d, e, f, g;
    float *out = NULL;
    *alpha_s = 1.0;
    if (p->type == P_LORA) {
        if (!get_mat(l, p->t[0], &a, err) || !get_mat(l, p->t[1], &b, err)) {
            put_mat(&a);
            snprintf(why, whycap, "cannot read LoRA factors");
            return NULL;
        }
        if (p->has_alpha) *alpha_s = p->alpha / (double)rows(&b);
        float *down = b.p;
        float *down_mid = NULL;
        int64_t r = rows(&b), in = cols(&b);
        if (p->t[2] >= 0 && get_mat(l, p->t[2], &c, err)) {
            /* Tucker mid: down'[j, i, kh, kw] = sum_m down[m, i] * mid[m, j, kh, kw] */
            int64_t inn = b.ndim > 1 ? b.shape[1] : 1, rm = c.shape[0], rj = c.ndim > 1 ? c.shape[1] : 1;
            int64_t kk = c.numel / (rm * rj);
            down_mid = sdf_calloc((size_t)(rj * inn * kk), sizeof *down_mid);
            if (down_mid && rm == r)
                for (int64_t j = 0; j < rj; j++)
                    for (int64_t i = 0; i < inn; i++)
                        for (int64_t q = 0; q < kk; q++) {
                            float s = 0;
                            for (int64_t mm_ = 0; mm_ < rm; mm_++)
                                s += down[mm_ * in + i] * c.p[(mm_ * rj + j) * kk + q];
                            down_mid[(j * inn + i) * kk + q] = s;
                        }
            put_mat(&c);
            if (!down_mid || rm != r) {
                sdf_free(down_mid);
                put_mat(&a);
                put_mat(&b);
                snprintf(why, whycap, "lora_mid shape does not fit lora_down");
                return NULL;
            }
            down = down_mid;
            r = rj;
            in = inn * kk;
        }
        if (cols(&a) != r || rows(&a) * in != wnumel) {
            snprintf(why, whycap, "LoRA up [%lld x %lld] @ down [%lld x %lld] does not give the "
                     "weight's %lld elements", (long long)rows(&a), (long long)cols(&a),
                     (long long)r, (long long)in, (long long)wnumel);
        } else if (fuse_w) {
            float c = (float)(s * *alpha_s);
            if (rows(&a) > 0 && in > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows(&a), (int)in,
                            (int)r, c, a.p, (int)r, down, (int)in, 1.0f, fuse_w, (int)in);
            out = fuse_w;
        } else if ((out = sdf_malloc((size_t)wnumel * sizeof *out))) {
            mm(a.p, down, out, rows(&a), r, in);
        }
        sdf_free(down_mid);
        put_mat(&a);
        put_mat(&b);
        return out;
    }
    if (p->type == P_LOHA) {
        get_mat(l, p->t[0], &a, err); get_mat(l, p->t[1], &b, err);
        get_mat(l, p->t[2], &c, err); get_mat(l, p->t[3], &d, err);
        bool cp = get_mat(l, p->t[4], &e, err) & get_mat(l, p->t[5], &f, err);
        if (!a.t || !b.t || !c.t || !d.t) {
            snprintf(why, whycap, "cannot read LoHa factors");
            goto loha_done;
        }
        if (p->has_alpha) *alpha_s = p->alpha / (double)rows(&b);
        float *m1 = NULL, *m2 = NULL;
        int64_t n1, n2;
        if (cp && e.t && f.t && e.ndim >= 2 && f.ndim >= 2) {
            int64_t P1, R1, K1, P2, R2, K2;
            m1 = cp_expand(&e, &b, &a, &P1, &R1, &K1);
            m2 = cp_expand(&f, &d, &c, &P2, &R2, &K2);
            n1 = P1 * R1 * K1;
            n2 = P2 * R2 * K2;
        } else {
            n1 = rows(&a) * cols(&b);
            n2 = rows(&c) * cols(&d);
            if (cols(&a) == rows(&b) && cols(&c) == rows(&d)) {
                m1 = sdf_malloc((size_t)n1 * sizeof *m1);
                m2 = sdf_malloc((size_t)n2 * sizeof *m2);
                if (m1 && m2) {
                    mm(a.p, b.p, m1, rows(&a), cols(&a), cols(&b));
                    mm(c.p, d.p, m2, rows(&c), cols(&c), cols(&d));
                }
            }
        }
        if (!m1 || !m2 || n1 != wnumel || n2 != wnumel) {
            snprintf(why, whycap, "LoHa factors do not give the weight's %lld elements",
                     (long long)wnumel);
            sdf_free(m1);
            sdf_free(m2);
        } else {
            for (int64_t i = 0; i < wnumel; i++) m1[i] = m1[i] * m2[i];
            sdf_free(m2);
            out = m1;
        }
    loha_done:
        put_mat(&a); put_mat(&b); put_mat(&c); put_mat(&d); put_mat(&e); put_mat(&f);
        return out;
    }
    /* LoKr */
    get_mat(l, p->t[0], &a, err); get_mat(l, p->t[1], &b, err); get_mat(l, p->t[2], &c, err);
    get_mat(l, p->t[3], &d, err); get_mat(l, p->t[4], &e, err); get_mat(l, p->t[5], &f, err);
    get_mat(l, p->t[6], &g, err);
    float *w1 = NULL, *w2 = NULL;
    int64_t A1 = 0, B1 = 0, C2 = 0, D2 = 0, rest = 1;
    bool have_dim = false;
    double dim = 0;
    if (a.t) {
        A1 = rows(&a); B1 = cols(&a);
        w1 = sdf_malloc((size_t)(A1 * B1) * sizeof *w1);
        if (w1) memcpy(w1, a.p, (size_t)(A1 * B1) * sizeof *w1);
    } else if (c.t && d.t && cols(&c) == rows(&d)) {
        have_dim = true;
        dim = (double)rows(&d);
        A1 = rows(&c); B1 = cols(&d);
        w1 = sdf_malloc((size_t)(A1 * B1) * sizeof *w1);
        if (w1) mm(c.p, d.p, w1, A1, cols(&c), B1);
    }
    if (b.t) {
        C2 = rows(&b); D2 = b.ndim > 1 ? b.shape[1] : 1; rest = b.numel / (C2 * D2);
        w2 = sdf_malloc((size_t)b.numel * sizeof *w2);
        if (w2) memcpy(w2, b.p, (size_t)b.numel * sizeof *w2);
    } else if (e.t && f.t) {
        have_dim = true;
        dim = (double)rows(&f);
        if (g.t && g.ndim >= 2) {
            int64_t P, R, KL;
            w2 = cp_expand(&g, &f, &e, &P, &R, &KL);
            C2 = P; D2 = R; rest = KL;
        } else if (cols(&e) == rows(&f)) {
            C2 = rows(&e); D2 = cols(&f); rest = 1;
            w2 = sdf_malloc((size_t)(C2 * D2) * sizeof *w2);
            if (w2) mm(e.p, f.p, w2, C2, cols(&e), D2);
        }
    }
    if (p->has_alpha && have_dim) *alpha_s = p->alpha / dim;
    if (!w1 || !w2 || A1 * C2 * B1 * D2 * rest != wnumel) {
        snprintf(why, whycap, "LoKr factors do not give the weight's %lld elements",
                 (long long)wnumel);
    } else if ((out = sdf_malloc((size_t)wnumel * sizeof *out))) {
        int64_t ncol = B1 * D2;
        for (int64_t i = 0; i < A1; i++)
            for (int64_t j = 0; j < B1; j++) {
                float s = w1[i * B1 + j];
                for (int64_t pp = 0; pp < C2; pp++)
                    for (int64_t q = 0; q < D2; q++)
                        for (int64_t r = 0; r < rest; r++)
                            out[((i * C2 + pp) * ncol + (j * D2 + q)) * rest + r] =
                                s * w2[(pp * D2 + q) * rest + r];
            }
    }
    sdf_free(w1);
    sdf_free(w2);
    put_mat(&a); put_mat(&b); put_mat(&c); put_mat(&d); put_mat(&e); put_mat(&f); put_mat(&g);
    return out;
}

/* DoRA (weight_decompose): W <- as ComfyUI with f32 arithmetic. */
static bool dora_apply(float *W, const int64_t *wshape, int wndim, float *dW, int64_t n,
                       float alpha_s, const mat *ds, float s) {
    int64_t out = wshape[0], per = n / out, in = wndim > 1 ? wshape[1] : 1, kk = per / in;
    float *Wc = sdf_malloc((size_t)n * sizeof *Wc);
    if (!Wc) return false;
    for (int64_t i = 0; i < n; i++) {
        dW[i] = dW[i] * alpha_s;
        Wc[i] = W[i] + dW[i];
    }
    bool on_out = ds->shape[0] == out;
    if (on_out) {
        for (int64_t o = 0; o < out; o++) {
            double ss = 0;
            for (int64_t i = 0; i < per; i++) ss += (double)W[o * per + i] * W[o * per + i];
            float nrm = (float)sqrt(ss) + FLT_EPSILON;
            float sc = ds->p[o % ds->numel] / nrm;
            for (int64_t i = 0; i < per; i++) Wc[o * per + i] *= sc;
        }
    } else {
        for (int64_t j = 0; j < in; j++) {
            double ss = 0;
            for (int64_t o = 0; o < out; o++)
                for (int64_t q = 0; q < kk; q++) {
                    float v = Wc[(o * in + j) * kk + q];
                    ss += (double)v * v;
                }
            float nrm = (float)sqrt(ss) + FLT_EPSILON;
            float sc = ds->p[j % ds->numel] / nrm;
            for (int64_t o = 0; o < out; o++)
                for (int64_t q = 0; q < kk; q++) Wc[(o * in + j) * kk + q] *= sc;
        }
    }
    if (s != 1.0f) {
        for (int64_t i = 0; i < n; i++) {
            float d = Wc[i] - W[i];
            W[i] = W[i] + s * d;
        }
    } else {
        memcpy(W, Wc, (size_t)n * sizeof *W);
    }
    sdf_free(Wc);
    return true;
}

typedef struct msgbuf {
    char s[320];
} msgbuf;

static void add_msg(msgbuf *mb, const char *fmt, const char *a, const char *b) {
    snprintf(mb->s, sizeof mb->s, fmt, a, b);
}

/* New f32 tensor = patched copy of base weight, or NULL (skipped: message in *rep). */
static sdf_tensor *compute_patch(const sdf_lora *l, const patch *p, sdf_wstore *base, double s,
                                 msgbuf *rep, sdf_error *err) {
    sdf_error e2;
    sdf_error_clear(&e2);
    sdf_tensor *src = sdf_wstore_get(base, p->weight, &e2);
    if (!src) {
        add_msg(rep, "%s: the model has no weight '%s'", p->key, p->weight);
        return NULL;
    }
    sdf_tensor *W = sdf_tensor_to_f32(src, err);
    sdf_tensor_release(src);
    if (!W) return NULL;
    float *w = sdf_tensor_f32p(W);
    int64_t n = sdf_tensor_numel(W);
    char why[256] = "";
    if (p->type == P_DIFF || p->type == P_SET) {
        mat v;
        if (!get_mat(l, p->t[0], &v, &e2)) {
            add_msg(rep, "%s: cannot read %s", p->key, "its full-weight tensor");
            sdf_tensor_release(W);
            return NULL;
        }
        bool same = v.ndim == W->ndim && memcmp(v.shape, W->shape, sizeof(int64_t) * (size_t)W->ndim) == 0;
        if (!same && !(p->type == P_SET && v.numel == n)) {
            char a[64], b[64];
            sdf_shape_str(v.ndim, v.shape, a, sizeof a);
            sdf_shape_str(W->ndim, W->shape, b, sizeof b);
            snprintf(why, sizeof why, "%s: shape %s does not match the weight's %s", p->key, a, b);
            add_msg(rep, "%s%s", why, "");
            put_mat(&v);
            sdf_tensor_release(W);
            return NULL;
        }
        if (p->type == P_SET) memcpy(w, v.p, (size_t)n * sizeof *w);
        else {
            float sf = (float)s;
            for (int64_t i = 0; i < n; i++) w[i] = w[i] + sf * v.p[i];
        }
        put_mat(&v);
        return W;
    }
    double alpha_s;
    bool fuse = p->type == P_LORA && p->dora < 0;
    float *dW = patch_delta(l, p, n, &alpha_s, fuse ? w : NULL, s, why, sizeof why, &e2);
    if (!dW) {
        add_msg(rep, "%s: %s", p->key, why[0] ? why : "cannot compute the patch");
        sdf_tensor_release(W);
        return NULL;
    }
    if (p->dora >= 0) {
        mat ds;
        bool ok = get_mat(l, p->dora, &ds, &e2) && ds.numel > 0 &&
                  dora_apply(w, W->shape, W->ndim, dW, n, (float)alpha_s, &ds, (float)s);
        if (ds.t) put_mat(&ds);
        sdf_free(dW);
        if (!ok) {
            add_msg(rep, "%s: %s", p->key, "cannot apply dora_scale");
            sdf_tensor_release(W);
            return NULL;
        }
        return W;
    }
    if (dW == w) return W; /* fused LoRA */
    float c = (float)(s * alpha_s);
    for (int64_t i = 0; i < n; i++) {
        float d = c * dW[i];
        w[i] = w[i] + d;
    }
    sdf_free(dW);
    return W;
}

static sdf_tensor *to_f16(sdf_tensor *f, sdf_error *err) {
    sdf_tensor *h = sdf_tensor_new(SDF_DTYPE_F16, f->ndim, f->shape, err);
    if (!h) return NULL;
    const float *s = sdf_tensor_f32p(f);
    uint16_t *d = h->data;
    int64_t n = sdf_tensor_numel(f);
    for (int64_t i = 0; i < n; i++) d[i] = sdf_f32_to_f16(s[i]);
    return h;
}

typedef struct apply_work {
    const sdf_lora *l;
    const patch    *p;
    sdf_wstore     *mw, *cw;
    double          sm, sc;
    bool            fp32_te;
    sdf_tensor    **res;  /* per patch: the new weight, or NULL (skipped / strength 0) */
    msgbuf         *msg;  /* per patch: why it was skipped */
    sdf_status     *st;   /* per patch: hard errors (out of memory) */
    sdf_error      *errs;
} apply_work;

static void apply_range(void *ctx, size_t begin, size_t end, int slot) {
    (void)slot;
    apply_work *w = ctx;
    for (size_t i = begin; i < end; i++) {
        const patch *p = &w->p[i];
        bool u = p->tgt == SDF_LORA_UNET;
        double s = u ? w->sm : w->sc;
        if (s == 0.0) continue;
        sdf_error *err = &w->errs[i];
        sdf_error_clear(err);
        sdf_tensor *W = compute_patch(w->l, p, u ? w->mw : w->cw, s, &w->msg[i], err);
        if (!W) {
            w->st[i] = err->code;
            continue;
        }
        if (!u && !w->fp32_te) {
            sdf_tensor *h = to_f16(W, err);
            sdf_tensor_release(W);
            if (!h) { w->st[i] = err->code ? err->code : SDF_ERR_NOMEM; continue; }
            W = h;
        }
        w->res[i] = W;
    }
}

sdf_status sdf_lora_apply(const sdf_lora *l, sdf_model *model, sdf_clip *clip,
                          const sdf_lora_opts *opts, sdf_model **out_model, sdf_clip **out_clip,
                          sdf_lora_report *rep, sdf_error *err) {
    if (out_model) *out_model = NULL;
    if (out_clip) *out_clip = NULL;
    sdf_lora_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    rep->n_keys = (int)l->n;
    double sm = opts ? opts->strength_model : 1.0, sc = opts ? opts->strength_clip : 1.0;
    sdf_lora_keymap map;
    sdf_status st = sdf_lora_keymap_build(model, clip, &map, err);
    if (st) return st;
    matcher m = {.l = l, .used = sdf_calloc(l->n ? l->n : 1, 1)};
    if (!m.used) { sdf_lora_keymap_free(&map); return sdf_fail(err, SDF_ERR_NOMEM, "LoRA"); }
    for (size_t i = 0; i < map.n && !st; i++) st = match_entry(&m, &map.e[i], err);
    sdf_model *nm = NULL;
    sdf_clip *nc = NULL;
    if (st) goto done;
    for (size_t i = 0; i < l->n; i++)
        if (!m.used[i]) {
            if (rep->n_unmatched < SDF_LORA_REPORT_NAMES)
                snprintf(rep->unmatched[rep->n_unmatched], sizeof rep->unmatched[0], "%s",
                         l->names[i]);
            rep->n_unmatched++;
        }
    if (m.n == 0) {
        st = sdf_fail(err, SDF_ERR_INVALID,
                      "no key of the LoRA matches this %s %s (%zu keys, e.g. '%s'): is it for "
                      "another architecture?",
                      (model ? model->arch : clip ? clip->arch : SDF_ARCH_SD1) == SDF_ARCH_SD2 ? "SD2"
                                                                                                 : "SD1",
                      model && clip ? "model/text encoder" : model ? "model" : "text encoder", l->n,
                      l->n ? l->names[0] : "");
        goto done;
    }
    if (model) nm = sm != 0.0 ? sdf_model_clone(model, err) : sdf_model_retain(model);
    if (clip) nc = sc != 0.0 ? sdf_clip_clone(clip, err) : sdf_clip_retain(clip);
    if ((model && !nm) || (clip && !nc)) { st = err->code; goto done; }
    int applied = 0, attempted = 0;
    /* the per-weight work runs on the pool; results are installed in patch order after */
    apply_work wk = {.l = l, .p = m.p, .mw = model ? model->weights : NULL,
                     .cw = clip ? clip->weights : NULL, .sm = sm, .sc = sc,
                     .fp32_te = opts && opts->fp32_text_encoder};
    wk.res = sdf_calloc(m.n, sizeof *wk.res);
    wk.msg = sdf_calloc(m.n, sizeof *wk.msg);
    wk.st = sdf_calloc(m.n, sizeof *wk.st);
    wk.errs = sdf_calloc(m.n, sizeof *wk.errs);
    if (!wk.res || !wk.msg || !wk.st || !wk.errs) {
        st = sdf_fail(err, SDF_ERR_NOMEM, "LoRA");
    } else {
        sdf_pool_for(opts ? opts->pool : NULL, m.n, 1, apply_range, &wk);
    }
    for (size_t i = 0; i < m.n && !st; i++) {
        patch *p = &m.p[i];
        bool u = p->tgt == SDF_LORA_UNET;
        if ((u ? sm : sc) == 0.0) { applied++; continue; } /* W + 0*dW == W */
        attempted++;
        if (wk.st[i]) { st = wk.st[i]; *err = wk.errs[i]; break; }
        if (!wk.res[i]) {
            if (rep->n_skipped < SDF_LORA_REPORT_NAMES)
                snprintf(rep->skipped[rep->n_skipped], sizeof rep->skipped[0], "%s", wk.msg[i].s);
            rep->n_skipped++;
            continue;
        }
        st = sdf_wstore_put(u ? nm->weights : nc->weights, p->weight, wk.res[i], err);
        if (!st) {
            applied++;
            if (u) rep->patched_unet++;
            else rep->patched_clip++;
        }
    }
    for (size_t i = 0; wk.res && i < m.n; i++) sdf_tensor_release(wk.res[i]);
    sdf_free(wk.res);
    sdf_free(wk.msg);
    sdf_free(wk.st);
    sdf_free(wk.errs);
    if (!st && applied == 0 && attempted > 0)
        st = sdf_fail(err, SDF_ERR_SHAPE,
                      "none of the LoRA's %d matched weights could be applied (first: %s): the "
                      "LoRA is for another architecture", attempted,
                      rep->n_skipped ? rep->skipped[0] : "?");
done:
    sdf_free(m.used);
    sdf_free(m.p);
    sdf_lora_keymap_free(&map);
    if (st) {
        sdf_model_release(nm);
        sdf_clip_release(nc);
        return st;
    }
    if (out_model) *out_model = nm;
    else sdf_model_release(nm);
    if (out_clip) *out_clip = nc;
    else sdf_clip_release(nc);
    return SDF_OK;
}

/* ---------------- merging ---------------- */

static bool is_float(sdf_dtype d) {
    return d == SDF_DTYPE_F32 || d == SDF_DTYPE_F16 || d == SDF_DTYPE_BF16 || d == SDF_DTYPE_F64;
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* dst (overlay of w1) gets W1*sm + sp*W2 for each shared float weight; out dtype: f32, or w1's
 * dtype when keep_dtype. */
static sdf_status merge_stores(sdf_wstore *w1, sdf_wstore *w2, sdf_wstore *dst, double sp,
                               double smd, bool keep_dtype, bool skip_clip_extras,
                               sdf_error *err) {
    if (smd == 1.0 && sp == 0.0) return SDF_OK;
    float fm = (float)smd, fp = (float)sp;
    size_t n = sdf_wstore_count(w1);
    for (size_t i = 0; i < n; i++) {
        sdf_wstore_info a, b;
        sdf_wstore_info_at(w1, i, &a);
        if (!is_float(a.dtype) || !sdf_wstore_info_of(w2, a.name, &b) || !is_float(b.dtype)) continue;
        if (skip_clip_extras && (ends_with(a.name, ".position_ids") || ends_with(a.name, ".logit_scale")))
            continue;
        if (a.ndim != b.ndim || memcmp(a.shape, b.shape, sizeof(int64_t) * (size_t)a.ndim) != 0)
            continue; /* ComfyUI warns and skips */
        sdf_tensor *t1 = sdf_wstore_get(w1, a.name, err);
        if (!t1) return err->code;
        sdf_tensor *W = sdf_tensor_to_f32(t1, err);
        sdf_tensor_release(t1);
        if (!W) return err->code;
        sdf_tensor *t2 = sdf_wstore_get(w2, a.name, err);
        sdf_tensor *V = t2 ? sdf_tensor_to_f32(t2, err) : NULL;
        sdf_tensor_release(t2);
        if (!V) { sdf_tensor_release(W); return err->code; }
        float *w = sdf_tensor_f32p(W);
        const float *v = sdf_tensor_f32p(V);
        int64_t ne = sdf_tensor_numel(W);
        if (smd != 1.0)
            for (int64_t k = 0; k < ne; k++) w[k] = w[k] * fm;
        if (sp != 0.0)
            for (int64_t k = 0; k < ne; k++) {
                float d = fp * v[k];
                w[k] = w[k] + d;
            }
        sdf_tensor_release(V);
        sdf_tensor *store = W;
        if (keep_dtype && a.dtype == SDF_DTYPE_F16) {
            store = to_f16(W, err);
            sdf_tensor_release(W);
            if (!store) return err->code;
        }
        sdf_status st = sdf_wstore_put(dst, a.name, store, err);
        sdf_tensor_release(store);
        if (st) return st;
    }
    return SDF_OK;
}

sdf_status sdf_model_merge(sdf_model *m1, sdf_model *m2, double sp, double smd, sdf_pool *pool,
                           sdf_model **out, sdf_error *err) {
    (void)pool;
    *out = NULL;
    if (m1->arch != m2->arch)
        return sdf_fail(err, SDF_ERR_INVALID, "cannot merge an SD%d model with an SD%d model",
                        m1->arch == SDF_ARCH_SD1 ? 1 : 2, m2->arch == SDF_ARCH_SD1 ? 1 : 2);
    sdf_model *c = sdf_model_clone(m1, err);
    if (!c) return err->code;
    sdf_status st = merge_stores(m1->weights, m2->weights, c->weights, sp, smd, false, false, err);
    if (st) { sdf_model_release(c); return st; }
    *out = c;
    return SDF_OK;
}

sdf_status sdf_clip_merge(sdf_clip *c1, sdf_clip *c2, double sp, double smd, sdf_pool *pool,
                          sdf_clip **out, sdf_error *err) {
    (void)pool;
    *out = NULL;
    sdf_clip *c = sdf_clip_clone(c1, err);
    if (!c) return err->code;
    sdf_status st = merge_stores(c1->weights, c2->weights, c->weights, sp, smd, true, true, err);
    if (st) { sdf_clip_release(c); return st; }
    *out = c;
    return SDF_OK;
}
