/* brownian.c: BrownianTree / SeedSequence port (see brownian.h). */
#include "brownian.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"
#include "rng.h"

/* ---- numpy SeedSequence ---- */

#define SS_INIT_A 0x43b0d7e5u
#define SS_MULT_A 0x931e8875u
#define SS_INIT_B 0x8b51f9ddu
#define SS_MULT_B 0x58f38dedu
#define SS_MIX_L 0xca01f9ddu
#define SS_MIX_R 0x4973f715u

static uint32_t hashmix(uint32_t v, uint32_t *hc) {
    v ^= *hc;
    *hc *= SS_MULT_A;
    v *= *hc;
    v ^= v >> 16;
    return v;
}

static uint32_t mixw(uint32_t x, uint32_t y) {
    uint32_t r = SS_MIX_L * x - SS_MIX_R * y;
    r ^= r >> 16;
    return r;
}

static int int_words(uint64_t v, uint32_t *w) {
    int n = 0;
    if (v == 0) w[n++] = 0;
    while (v > 0) {
        w[n++] = (uint32_t)(v & 0xffffffffu);
        v >>= 32;
    }
    return n;
}

void sdf_seedseq_generate(uint64_t entropy, const uint64_t *spawn_key, int n_spawn,
                          int pool_size, uint32_t *out, int n_words) {
    uint32_t ent[128];
    int ne = int_words(entropy, ent);
    if (n_spawn > 0 && ne < pool_size)
        while (ne < pool_size) ent[ne++] = 0;
    for (int i = 0; i < n_spawn && ne < 120; i++) ne += int_words(spawn_key[i], ent + ne);
    uint32_t pool[64];
    if (pool_size > 64) pool_size = 64;
    uint32_t hc = SS_INIT_A;
    for (int i = 0; i < pool_size; i++) pool[i] = hashmix(i < ne ? ent[i] : 0u, &hc);
    for (int s = 0; s < pool_size; s++)
        for (int d = 0; d < pool_size; d++)
            if (s != d) pool[d] = mixw(pool[d], hashmix(pool[s], &hc));
    for (int s = pool_size; s < ne; s++)
        for (int d = 0; d < pool_size; d++) pool[d] = mixw(pool[d], hashmix(ent[s], &hc));
    uint32_t hb = SS_INIT_B;
    for (int i = 0; i < n_words; i++) {
        uint32_t v = pool[i % pool_size];
        v ^= hb;
        hb *= SS_MULT_B;
        v *= hb;
        v ^= v >> 16;
        out[i] = v;
    }
}

/* ---- the interval tree ---- */

typedef struct bt_node {
    double start, end, mid;
    bool   has_mid, is_left;
    struct bt_node *parent, *left, *right;
    uint64_t spawn_key;
    int      depth;
    uint32_t w_seed;
} bt_node;

struct sdf_brownian {
    uint64_t entropy;
    size_t   n;
    bt_node *root;
    float   *w_root;
    float   *noise;       /* scratch */
    float   *path[80];    /* scratch per depth */
    int      n_path;
    bt_node **list;       /* decomposition scratch */
    int      n_list, cap_list;
};

/* Python round(x, 6): the double nearest to the correctly rounded 6-decimal value. */
static double round6(double x) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.6f", x);
    return strtod(buf, NULL);
}

static bt_node *node_new(double start, double end, bt_node *parent, bool is_left) {
    bt_node *n = sdf_calloc(1, sizeof *n);
    if (!n) return NULL;
    n->start = round6(start);
    n->end = round6(end);
    n->parent = parent;
    n->is_left = is_left;
    return n;
}

static void node_free(bt_node *n) {
    if (!n) return;
    node_free(n->left);
    node_free(n->right);
    sdf_free(n);
}

static sdf_status split_exact(sdf_brownian *b, bt_node *n, double midway, sdf_error *err) {
    n->mid = round6(midway);
    n->has_mid = true;
    if (!n->parent) {
        n->spawn_key = 0;
        n->depth = 0;
    } else {
        n->spawn_key = 2 * n->parent->spawn_key + (n->is_left ? 0 : 1);
        n->depth = n->parent->depth + 1;
    }
    uint64_t key[2] = {n->spawn_key, (uint64_t)n->depth};
    uint32_t seeds[4];
    sdf_seedseq_generate(b->entropy, key, 2, 24, seeds, 4);
    n->w_seed = seeds[0];
    n->left = node_new(n->start, midway, n, true);
    n->right = node_new(midway, n->end, n, false);
    if (!n->left || !n->right) return sdf_fail(err, SDF_ERR_NOMEM, "brownian tree: out of memory");
    return SDF_OK;
}

static sdf_status split(sdf_brownian *b, bt_node *n, double target, sdf_error *err) {
    for (int guard = 0; guard < 200; guard++) {
        sdf_status st = split_exact(b, n, 0.5 * (n->end + n->start), err);
        if (st != SDF_OK) return st;
        if (target > n->mid) n = n->right;
        else if (target < n->mid) n = n->left;
        else return SDF_OK;
    }
    return sdf_fail(err, SDF_ERR_INTERNAL, "brownian tree: split did not converge");
}

static sdf_status push(sdf_brownian *b, bt_node *n, sdf_error *err) {
    if (b->n_list == b->cap_list) {
        int cap = b->cap_list ? b->cap_list * 2 : 8;
        bt_node **l = sdf_realloc(b->list, sizeof(bt_node *) * (size_t)cap);
        if (!l) return sdf_fail(err, SDF_ERR_NOMEM, "brownian tree: out of memory");
        b->list = l;
        b->cap_list = cap;
    }
    b->list[b->n_list++] = n;
    return SDF_OK;
}

static sdf_status decompose(sdf_brownian *b, bt_node *n, double ta, double tb, int depth,
                            sdf_error *err) {
    if (depth > 200) return sdf_fail(err, SDF_ERR_INTERNAL, "brownian tree: query too deep");
    if (ta == n->start && tb == n->end) return push(b, n, err);
    if (!n->has_mid) {
        sdf_status st = split(b, n, ta == n->start ? tb : ta, err);
        if (st != SDF_OK) return st;
    }
    if (tb <= n->mid) return decompose(b, n->left, ta, tb, depth + 1, err);
    if (ta >= n->mid) return decompose(b, n->right, ta, tb, depth + 1, err);
    sdf_status st = decompose(b, n->left, ta, n->mid, depth + 1, err);
    if (st != SDF_OK) return st;
    return decompose(b, n->right, n->mid, tb, depth + 1, err);
}

/* W of node n into out (recomputed from the root along the path). */
static sdf_status node_w(sdf_brownian *b, const bt_node *n, float *out, sdf_error *err) {
    const bt_node *chain[80];
    int d = 0;
    for (const bt_node *p = n; p->parent; p = p->parent) {
        if (d >= 80) return sdf_fail(err, SDF_ERR_INTERNAL, "brownian tree: too deep");
        chain[d++] = p;
    }
    memcpy(out, b->w_root, b->n * sizeof(float));
    for (int i = d - 1; i >= 0; i--) {
        const bt_node *c = chain[i], *p = c->parent;
        double h_rec = 1.0 / (p->end - p->start);
        double ld = p->mid - p->start, rd = p->end - p->mid;
        float fld = (float)ld, fh = (float)h_rec;
        float sv = (float)sqrt(ld * rd * h_rec);
        sdf_rng g;
        sdf_rng_seed(&g, p->w_seed);
        sdf_rng_randn_f32(&g, b->noise, b->n);
        for (size_t k = 0; k < b->n; k++) {
            float mean = (out[k] * fld) * fh;
            float lw = mean + sv * b->noise[k];
            out[k] = c->is_left ? lw : out[k] - lw;
        }
    }
    return SDF_OK;
}

sdf_status sdf_brownian_new(float t0, float t1, uint64_t seed, size_t n, sdf_brownian **out,
                            sdf_error *err) {
    *out = NULL;
    if (!(t0 < t1))
        return sdf_fail(err, SDF_ERR_INVALID, "brownian tree: t0 %g must be below t1 %g",
                        (double)t0, (double)t1);
    sdf_brownian *b = sdf_calloc(1, sizeof *b);
    if (!b) return sdf_fail(err, SDF_ERR_NOMEM, "brownian tree: out of memory");
    b->entropy = seed;
    b->n = n;
    b->root = node_new((double)t0, (double)t1, NULL, false);
    b->w_root = sdf_malloc(sizeof(float) * (n ? n : 1));
    b->noise = sdf_malloc(sizeof(float) * (n ? n : 1));
    b->path[0] = sdf_malloc(sizeof(float) * (n ? n : 1));
    if (!b->root || !b->w_root || !b->noise || !b->path[0]) {
        sdf_brownian_free(b);
        return sdf_fail(err, SDF_ERR_NOMEM, "brownian tree: out of memory");
    }
    uint32_t s3[3];
    sdf_seedseq_generate(seed, NULL, 0, 24, s3, 3);
    sdf_rng g;
    sdf_rng_seed(&g, s3[0]);
    sdf_rng_randn_f32(&g, b->w_root, n);
    float sc = (float)sqrt((double)t1 - (double)t0);
    for (size_t k = 0; k < n; k++) b->w_root[k] = b->w_root[k] * sc;
    *out = b;
    return SDF_OK;
}

void sdf_brownian_free(sdf_brownian *b) {
    if (!b) return;
    node_free(b->root);
    sdf_free(b->w_root);
    sdf_free(b->noise);
    sdf_free(b->path[0]);
    sdf_free(b->list);
    sdf_free(b);
}

sdf_status sdf_brownian_noise(sdf_brownian *b, float sigma, float sigma_next, float *out,
                              sdf_error *err) {
    float lo = sigma, hi = sigma_next;
    float sign = 1.0f;
    if (!(sigma < sigma_next)) {
        lo = sigma_next;
        hi = sigma;
        sign = -1.0f;
    }
    double ta = (double)lo, tb = (double)hi;
    if (ta < b->root->start) ta = b->root->start;
    if (tb < b->root->start) tb = b->root->start;
    if (ta > b->root->end) ta = b->root->end;
    if (tb > b->root->end) tb = b->root->end;
    float denom = sqrtf(fabsf(sigma_next - sigma));
    if (ta == tb) {
        for (size_t k = 0; k < b->n; k++) out[k] = (0.0f * sign) / denom;
        return SDF_OK;
    }
    b->n_list = 0;
    sdf_status st = decompose(b, b->root, round6(ta), round6(tb), 0, err);
    if (st != SDF_OK) return st;
    float *acc = out, *tmp = b->path[0];
    st = node_w(b, b->list[0], acc, err);
    for (int i = 1; i < b->n_list && st == SDF_OK; i++) {
        st = node_w(b, b->list[i], tmp, err);
        for (size_t k = 0; k < b->n; k++) acc[k] = acc[k] + tmp[k];
    }
    if (st != SDF_OK) return st;
    for (size_t k = 0; k < b->n; k++) out[k] = (acc[k] * sign) / denom;
    return SDF_OK;
}
