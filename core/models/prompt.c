/* prompt.c: ComfyUI prompt weighting, embeddings in prompts, and 77-token chunking. */
#include "prompt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "../base/alloc.h"

#define ESC_R 256       /* "\)" */
#define ESC_L 257       /* "\(" */
#define MAX_NESTING 900 /* Python's recursion limit makes ComfyUI fail near here too */

/* ---- Python float() ---- */

static bool py_space(int32_t c) {
    return (c >= 9 && c <= 13) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Decimal value of a Unicode Nd character (runs of Nd are whole multiples of 10 from a zero). */
static int nd_value(int32_t c) {
    int32_t b = c;
    while (b > 0 && utf8proc_category(b - 1) == UTF8PROC_CATEGORY_ND)
        b--;
    return (int)((c - b) % 10);
}

static bool ieq(const char *a, size_t n, const char *lit) {
    if (strlen(lit) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return false;
    }
    return true;
}

bool sdf_py_float(const char *s, size_t len, double *out) {
    /* 1. Unicode whitespace -> ' ', decimal digits -> ASCII, any other non-ASCII fails */
    char *a = sdf_malloc(len + 1);
    if (!a)
        return false;
    size_t                  n = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    bool                    ok = true;
    for (size_t i = 0; i < len && ok;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0) {
            ok = false;
            break;
        }
        i += (size_t)k;
        if (c < 128)
            a[n++] = (char)c;
        else if (py_space(c))
            a[n++] = ' ';
        else if (utf8proc_category(c) == UTF8PROC_CATEGORY_ND)
            a[n++] = (char)('0' + nd_value(c));
        else
            ok = false;
    }
    /* 2. underscores only between digits; removed */
    if (ok) {
        size_t m = 0;
        char   prev = 0;
        for (size_t i = 0; i < n && ok; i++) {
            char c = a[i];
            if (c == '_') {
                if (!(prev >= '0' && prev <= '9'))
                    ok = false;
            } else {
                if (prev == '_' && !(c >= '0' && c <= '9'))
                    ok = false;
                a[m++] = c;
            }
            prev = c;
        }
        if (prev == '_')
            ok = false;
        n = m;
    }
    /* 3. strip ASCII whitespace, then a full decimal / inf / nan literal */
    size_t b = 0, e = n;
    while (ok && b < e && (a[b] == ' ' || (a[b] >= 9 && a[b] <= 13)))
        b++;
    while (ok && e > b && (a[e - 1] == ' ' || (a[e - 1] >= 9 && a[e - 1] <= 13)))
        e--;
    if (ok && b == e)
        ok = false;
    if (ok) {
        const char *q = a + b;
        size_t      L = e - b, i = 0;
        bool        neg = false;
        if (q[0] == '+' || q[0] == '-') {
            neg = q[0] == '-';
            i = 1;
        }
        if (ieq(q + i, L - i, "inf") || ieq(q + i, L - i, "infinity")) {
            *out = neg ? -INFINITY : INFINITY;
        } else if (ieq(q + i, L - i, "nan")) {
            *out = neg ? -NAN : NAN;
        } else {
            size_t digits = 0;
            while (i < L && q[i] >= '0' && q[i] <= '9')
                i++, digits++;
            if (i < L && q[i] == '.') {
                i++;
                while (i < L && q[i] >= '0' && q[i] <= '9')
                    i++, digits++;
            }
            if (digits == 0)
                ok = false;
            if (ok && i < L && (q[i] == 'e' || q[i] == 'E')) {
                i++;
                if (i < L && (q[i] == '+' || q[i] == '-'))
                    i++;
                size_t ed = 0;
                while (i < L && q[i] >= '0' && q[i] <= '9')
                    i++, ed++;
                if (ed == 0)
                    ok = false;
            }
            if (ok && i != L)
                ok = false;
            if (ok) {
                a[e] = '\0';
                *out = strtod(q, NULL); /* correctly rounded (glibc), "C" locale */
            }
        }
    }
    sdf_free(a);
    return ok;
}

/* ---- weight parsing ---- */

typedef struct segvec {
    sdf_prompt_segment *v;
    size_t              n, cap;
} segvec;

void sdf_prompt_segments_free(sdf_prompt_segment *segs, size_t n) {
    for (size_t i = 0; i < n; i++)
        sdf_free(segs[i].text);
    sdf_free(segs);
}

static sdf_status seg_push(segvec *sv, const int *u, size_t b, size_t e, double w, sdf_error *err) {
    if (sv->n == sv->cap) {
        size_t              nc = sv->cap ? sv->cap * 2 : 16;
        sdf_prompt_segment *p = sdf_realloc(sv->v, nc * sizeof *p);
        if (!p)
            return sdf_fail(err, SDF_ERR_NOMEM, "prompt");
        sv->v = p;
        sv->cap = nc;
    }
    char *t = sdf_malloc(e - b + 1);
    if (!t)
        return sdf_fail(err, SDF_ERR_NOMEM, "prompt");
    size_t k = 0;
    for (size_t i = b; i < e; i++)
        t[k++] = u[i] == ESC_R ? ')' : u[i] == ESC_L ? '(' : (char)u[i];
    t[k] = '\0';
    sv->v[sv->n++] = (sdf_prompt_segment){t, w};
    return SDF_OK;
}

/* token_weights(u[b..e), w) */
static sdf_status token_weights(const int *u, size_t b, size_t e, double w, int depth, segvec *sv,
                                sdf_error *err) {
    if (depth > MAX_NESTING)
        return sdf_fail(err, SDF_ERR_INVALID, "prompt: parentheses nested deeper than %d levels",
                        MAX_NESTING);
    /* parse_parentheses: contiguous segments */
    size_t seg_b = b;
    long   level = 0;
    for (size_t i = b; i <= e; i++) {
        size_t sb = seg_b, se = 0;
        bool   emit = false;
        if (i == e) {
            if (i > seg_b) {
                se = e;
                emit = true;
            }
        } else if (u[i] == '(') {
            if (level == 0 && i > seg_b) {
                se = i;
                emit = true;
                seg_b = i;
            } else if (level == 0) {
                seg_b = i;
            }
            level++;
        } else if (u[i] == ')') {
            level--;
            if (level == 0) {
                se = i + 1;
                emit = true;
                seg_b = i + 1;
            }
        }
        if (!emit)
            continue;
        size_t len = se - sb;
        if (len >= 2 && u[sb] == '(' && u[se - 1] == ')') {
            size_t ib = sb + 1, ie = se - 1;
            double nw = w * 1.1;
            size_t colon = ie;
            for (size_t j = ie; j-- > ib;)
                if (u[j] == ':') {
                    colon = j;
                    break;
                }
            if (colon < ie && colon > ib) {
                size_t fl = ie - colon - 1;
                char  *fs = sdf_malloc(fl + 1);
                bool   plain = fs != NULL;
                for (size_t j = 0; plain && j < fl; j++) {
                    int c = u[colon + 1 + j];
                    if (c > 255)
                        plain = false;
                    else
                        fs[j] = (char)c;
                }
                double f;
                if (plain && sdf_py_float(fs, fl, &f)) {
                    nw = f;
                    ie = colon;
                }
                sdf_free(fs);
            }
            sdf_status st = token_weights(u, ib, ie, nw, depth + 1, sv, err);
            if (st != SDF_OK)
                return st;
        } else {
            sdf_status st = seg_push(sv, u, sb, se, w, err);
            if (st != SDF_OK)
                return st;
        }
    }
    return SDF_OK;
}

sdf_status sdf_prompt_parse_weights(const char *text, sdf_prompt_segment **segs, size_t *n,
                                    sdf_error *err) {
    *segs = NULL;
    *n = 0;
    size_t len = strlen(text);
    int   *u = sdf_malloc((len + 1) * sizeof *u);
    if (!u)
        return sdf_fail(err, SDF_ERR_NOMEM, "prompt");
    size_t m = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\\' && i + 1 < len && text[i + 1] == ')') {
            u[m++] = ESC_R;
            i++;
        } else if (text[i] == '\\' && i + 1 < len && text[i + 1] == '(') {
            u[m++] = ESC_L;
            i++;
        } else {
            u[m++] = (unsigned char)text[i];
        }
    }
    segvec     sv = {0};
    sdf_status st = token_weights(u, 0, m, 1.0, 0, &sv, err);
    sdf_free(u);
    if (st != SDF_OK) {
        sdf_prompt_segments_free(sv.v, sv.n);
        return st;
    }
    *segs = sv.v;
    *n = sv.n;
    return SDF_OK;
}

/* ---- tokenisation into groups, then chunks ---- */

typedef struct slotvec {
    sdf_prompt_slot *v;
    size_t           n, cap;
} slotvec;

static bool slot_push(slotvec *a, sdf_prompt_slot s) {
    if (a->n == a->cap) {
        size_t           nc = a->cap ? a->cap * 2 : 32;
        sdf_prompt_slot *p = sdf_realloc(a->v, nc * sizeof *p);
        if (!p)
            return false;
        a->v = p;
        a->cap = nc;
    }
    a->v[a->n++] = s;
    return true;
}

typedef struct groups {
    slotvec *g;
    size_t   n, cap;
} groups;

static slotvec *group_new(groups *gs) {
    if (gs->n == gs->cap) {
        size_t   nc = gs->cap ? gs->cap * 2 : 16;
        slotvec *p = sdf_realloc(gs->g, nc * sizeof *p);
        if (!p)
            return NULL;
        gs->g = p;
        gs->cap = nc;
    }
    gs->g[gs->n] = (slotvec){0};
    return &gs->g[gs->n++];
}

static void groups_free(groups *gs) {
    for (size_t i = 0; i < gs->n; i++)
        sdf_free(gs->g[i].v);
    sdf_free(gs->g);
}

void sdf_prompt_tokens_free(sdf_prompt_tokens *t) {
    if (!t)
        return;
    for (int i = 0; i < t->n_vecs; i++)
        sdf_tensor_release(t->vecs[i]);
    sdf_free(t->vecs);
    sdf_free(t->slots);
    memset(t, 0, sizeof *t);
}

static sdf_status keep_vec(sdf_prompt_tokens *out, sdf_tensor *v, sdf_error *err) {
    sdf_tensor **p = sdf_realloc(out->vecs, (size_t)(out->n_vecs + 1) * sizeof *p);
    if (!p) {
        sdf_tensor_release(v);
        return sdf_fail(err, SDF_ERR_NOMEM, "prompt");
    }
    out->vecs = p;
    out->vecs[out->n_vecs++] = v;
    return SDF_OK;
}

static void warnf(const sdf_prompt_opts *o, const char *fmt, const char *arg) {
    if (!o->warn)
        return;
    char buf[1200];
    snprintf(buf, sizeof buf, fmt, arg);
    o->warn(o->warn_ctx, buf);
}

/* Python str.split() (Unicode whitespace) over UTF-8: next word in s[*pos..len). */
static bool next_word(const char *s, size_t len, size_t *pos, size_t *wb, size_t *we) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t                  i = *pos;
    int32_t                 c;
    utf8proc_ssize_t        k;
    while (i < len) {
        k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0)
            k = 1, c = 0xFFFD;
        if (!py_space(c))
            break;
        i += (size_t)k;
    }
    if (i >= len) {
        *pos = i;
        return false;
    }
    *wb = i;
    while (i < len) {
        k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0)
            k = 1, c = 0xFFFD;
        if (py_space(c))
            break;
        i += (size_t)k;
    }
    *we = i;
    *pos = i;
    return true;
}

static sdf_status add_text_group(sdf_tokenizer *tok, const char *word, double w, groups *gs,
                                 sdf_error *err) {
    int32_t   *ids;
    size_t     n;
    sdf_status st = sdf_tokenizer_encode(tok, word, strlen(word), &ids, &n, err);
    if (st != SDF_OK)
        return st;
    slotvec *g = group_new(gs);
    bool     ok = g != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = slot_push(g, (sdf_prompt_slot){ids[i], NULL, 0, w});
    sdf_free(ids);
    return ok ? SDF_OK : sdf_fail(err, SDF_ERR_NOMEM, "prompt");
}

/* SDTokenizer._try_get_embedding + the group it adds; *leftover is sdf_malloc'd. */
static sdf_status embedding_word(const char *name_in, double w, const sdf_prompt_opts *o,
                                 groups *gs, sdf_prompt_tokens *out, char **leftover,
                                 sdf_error *err) {
    *leftover = NULL;
    size_t len = strlen(name_in), pos = 0, wb, we;
    if (!next_word(name_in, len, &pos, &wb, &we))
        return sdf_fail(err, SDF_ERR_INVALID,
                        "prompt: \"embedding:\" without a name (ComfyUI fails here too)");
    char *name = sdf_malloc(we - wb + 1);
    char *left = sdf_malloc(len + 4);
    if (!name || !left) {
        sdf_free(name);
        sdf_free(left);
        return sdf_fail(err, SDF_ERR_NOMEM, "prompt");
    }
    memcpy(name, name_in + wb, we - wb);
    name[we - wb] = '\0';
    /* leftover = ' '.join(rest words) */
    size_t ll = 0;
    while (next_word(name_in, len, &pos, &wb, &we)) {
        if (ll)
            left[ll++] = ' ';
        memcpy(left + ll, name_in + wb, we - wb);
        ll += we - wb;
    }
    left[ll] = '\0';
    sdf_tensor *emb = NULL;
    sdf_status  st = o->lookup(o->lookup_ctx, name, &emb, err);
    if (st == SDF_OK && !emb) {
        size_t nl = strlen(name), sb = 0, se = nl;
        while (sb < se && name[sb] == ',')
            sb++;
        while (se > sb && name[se - 1] == ',')
            se--;
        size_t sl = se - sb;
        if (sl < nl) {
            char *stripped = sdf_malloc(sl + 1);
            char *nleft = sdf_malloc((nl - sl) + 1 + ll + 1);
            if (!stripped || !nleft) {
                sdf_free(stripped);
                sdf_free(nleft);
                st = sdf_fail(err, SDF_ERR_NOMEM, "prompt");
            } else {
                memcpy(stripped, name + sb, sl);
                stripped[sl] = '\0';
                st = o->lookup(o->lookup_ctx, stripped, &emb, err);
                /* "{} {}".format(name[len(stripped):], leftover) */
                size_t k = nl - sl;
                memcpy(nleft, name + sl, k);
                nleft[k++] = ' ';
                memcpy(nleft + k, left, ll + 1);
                sdf_free(left);
                left = nleft;
                sdf_free(stripped);
            }
        }
    }
    if (st != SDF_OK) {
        sdf_free(name);
        sdf_free(left);
        return st;
    }
    if (!emb) {
        char msg[1100];
        snprintf(msg, sizeof msg, "%s", name_in);
        warnf(o, "embedding:%s does not exist, ignoring", msg);
    } else {
        st = keep_vec(out, emb, err);
        if (st == SDF_OK) {
            slotvec *g = group_new(gs);
            int64_t  rows = emb->ndim == 2 ? emb->shape[0] : 1;
            bool     ok = g != NULL;
            for (int64_t r = 0; ok && r < rows; r++)
                ok = slot_push(g, (sdf_prompt_slot){-1, emb, r, w});
            if (!ok)
                st = sdf_fail(err, SDF_ERR_NOMEM, "prompt");
        }
    }
    sdf_free(name);
    if (st != SDF_OK) {
        sdf_free(left);
        return st;
    }
    *leftover = left;
    return SDF_OK;
}

static sdf_status segment_groups(sdf_tokenizer *tok, const char *s, double w,
                                 const sdf_prompt_opts *o, groups *gs, sdf_prompt_tokens *out,
                                 sdf_error *err) {
    static const char ident[] = "embedding:";
    const size_t      il = sizeof ident - 1;
    size_t            len = strlen(s), pos = 0;
    bool              first = true;
    while (pos <= len) {
        /* re.split(' embedding:|\nembedding:') */
        size_t next = len, skip = 0;
        for (size_t i = pos; i + 1 + il <= len; i++)
            if ((s[i] == ' ' || s[i] == '\n') && memcmp(s + i + 1, ident, il) == 0) {
                next = i;
                skip = 1 + il;
                break;
            }
        /* the piece: (first ? "" : "embedding:") + s[pos..next) */
        size_t plen = next - pos + (first ? 0 : il);
        char  *word = sdf_malloc(plen + 1);
        if (!word)
            return sdf_fail(err, SDF_ERR_NOMEM, "prompt");
        size_t k = 0;
        if (!first) {
            memcpy(word, ident, il);
            k = il;
        }
        memcpy(word + k, s + pos, next - pos);
        word[plen] = '\0';
        sdf_status st = SDF_OK;
        if (plen > 0) {
            if (o->lookup && strncmp(word, ident, il) == 0) {
                /* .strip('\n') of the name */
                char  *nm = word + il;
                size_t nl = strlen(nm);
                while (nl && nm[nl - 1] == '\n')
                    nm[--nl] = '\0';
                while (*nm == '\n')
                    nm++;
                char *left = NULL;
                st = embedding_word(nm, w, o, gs, out, &left, err);
                if (st == SDF_OK && left[0])
                    st = add_text_group(tok, left, w, gs, err);
                sdf_free(left);
            } else {
                st = add_text_group(tok, word, w, gs, err);
            }
        }
        sdf_free(word);
        if (st != SDF_OK)
            return st;
        if (next == len)
            break;
        pos = next + skip;
        first = false;
    }
    return SDF_OK;
}

sdf_status sdf_prompt_tokenize(sdf_tokenizer *tok, const char *text, const sdf_prompt_opts *o,
                               sdf_prompt_tokens *out, sdf_error *err) {
    memset(out, 0, sizeof *out);
    const int L = o->max_length;
    if (L < 3)
        return sdf_fail(err, SDF_ERR_INVALID, "prompt: max_length %d is too small", L);
    sdf_prompt_segment *segs;
    size_t              ns;
    sdf_status          st = sdf_prompt_parse_weights(text, &segs, &ns, err);
    if (st != SDF_OK)
        return st;
    groups gs = {0};
    for (size_t i = 0; st == SDF_OK && i < ns; i++)
        st = segment_groups(tok, segs[i].text, segs[i].weight, o, &gs, out, err);
    sdf_prompt_segments_free(segs, ns);
    if (st != SDF_OK) {
        groups_free(&gs);
        sdf_prompt_tokens_free(out);
        return st;
    }
    /* chunking (max_word_length 8: shorter groups are not split across windows) */
    slotvec               all = {0};
    const sdf_prompt_slot bos = {o->start_token, NULL, 0, 1.0}, eos = {o->end_token, NULL, 0, 1.0},
                          pad = {o->pad_token, NULL, 0, 1.0};
    size_t batch_start = 0; /* index in all where the current batch begins */
    bool   ok = slot_push(&all, bos);
    for (size_t gi = 0; ok && gi < gs.n; gi++) {
        slotvec *g = &gs.g[gi];
        bool     is_large = g->n >= 8;
        size_t   gpos = 0;
        while (ok && gpos < g->n) {
            size_t left = g->n - gpos, blen = all.n - batch_start;
            if (left + blen > (size_t)(L - 1)) {
                size_t rem = (size_t)L - blen - 1;
                if (is_large) {
                    for (size_t j = 0; ok && j < rem; j++)
                        ok = slot_push(&all, g->v[gpos + j]);
                    gpos += rem;
                    if (ok)
                        ok = slot_push(&all, eos);
                } else {
                    ok = slot_push(&all, eos);
                    for (size_t j = 0; ok && j < rem; j++)
                        ok = slot_push(&all, pad);
                }
                batch_start = all.n;
                if (ok)
                    ok = slot_push(&all, bos);
            } else {
                for (size_t j = 0; ok && j < left; j++)
                    ok = slot_push(&all, g->v[gpos + j]);
                gpos = g->n;
            }
        }
    }
    if (ok)
        ok = slot_push(&all, eos);
    while (ok && all.n - batch_start < (size_t)L)
        ok = slot_push(&all, pad);
    groups_free(&gs);
    if (!ok) {
        sdf_free(all.v);
        sdf_prompt_tokens_free(out);
        return sdf_fail(err, SDF_ERR_NOMEM, "prompt");
    }
    SDF_ASSERT(all.n % (size_t)L == 0);
    out->slots = all.v;
    out->n_chunks = (int)(all.n / (size_t)L);
    out->max_length = L;
    return SDF_OK;
}
