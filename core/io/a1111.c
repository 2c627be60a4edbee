/* a1111.c: A1111 "parameters" text from an API prompt (see a1111.h for the rules). */
#include "a1111.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"

/* ---- names ---------------------------------------------------------------------------------- */

static const char *const sampler_map[][2] = {
    {"euler", "Euler"},
    {"euler_ancestral", "Euler a"},
    {"heun", "Heun"},
    {"dpm_2", "DPM2"},
    {"dpm_2_ancestral", "DPM2 a"},
    {"lms", "LMS"},
    {"dpm_fast", "DPM fast"},
    {"dpm_adaptive", "DPM adaptive"},
    {"dpmpp_2s_ancestral", "DPM++ 2S a"},
    {"dpmpp_sde", "DPM++ SDE"},
    {"dpmpp_sde_gpu", "DPM++ SDE"},
    {"dpmpp_2m", "DPM++ 2M"},
    {"dpmpp_2m_sde", "DPM++ 2M SDE"},
    {"dpmpp_2m_sde_gpu", "DPM++ 2M SDE"},
    {"dpmpp_2m_sde_heun", "DPM++ 2M SDE Heun"},
    {"dpmpp_2m_sde_heun_gpu", "DPM++ 2M SDE Heun"},
    {"dpmpp_3m_sde", "DPM++ 3M SDE"},
    {"dpmpp_3m_sde_gpu", "DPM++ 3M SDE"},
    {"ddim", "DDIM"},
    {"ddpm", "DDPM"},
    {"lcm", "LCM"},
    {"uni_pc", "UniPC"},
    {"uni_pc_bh2", "UniPC"},
};

static const char *const scheduler_map[][2] = {
    {"simple", "Simple"},           {"sgm_uniform", "SGM Uniform"},
    {"karras", "Karras"},           {"exponential", "Exponential"},
    {"ddim_uniform", "DDIM"},       {"beta", "Beta"},
    {"normal", "Normal"},           {"linear_quadratic", "Linear Quadratic"},
    {"kl_optimal", "KL Optimal"},
};

const char *sdf_a1111_sampler_name(const char *n) {
    if (!n) return "";
    for (size_t i = 0; i < SDF_COUNTOF(sampler_map); i++)
        if (strcmp(n, sampler_map[i][0]) == 0) return sampler_map[i][1];
    return n;
}

const char *sdf_a1111_scheduler_name(const char *n) {
    if (!n) return "";
    for (size_t i = 0; i < SDF_COUNTOF(scheduler_map); i++)
        if (strcmp(n, scheduler_map[i][0]) == 0) return scheduler_map[i][1];
    return n;
}

/* ---- the prompt as a small graph ------------------------------------------------------------ */

typedef struct pnode {
    const char  *id;
    const char  *cls;
    const cJSON *inputs;
} pnode;

typedef struct graph {
    pnode *n;
    int    count;
} graph;

static int find(const graph *g, const char *id) {
    for (int i = 0; i < g->count; i++)
        if (strcmp(g->n[i].id, id) == 0) return i;
    return -1;
}

/* A link value: ["id", slot]. */
static bool is_link(const cJSON *v, const char **src, int *slot) {
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2) return false;
    const cJSON *a = v->child, *b = a->next;
    if (!cJSON_IsString(a)) return false;
    double s;
    if (cJSON_IsNumber(b)) s = b->valuedouble;
    else if (cJSON_IsRaw(b) && b->valuestring) s = strtod(b->valuestring, NULL);
    else return false;
    *src = a->valuestring;
    *slot = (int)s;
    return true;
}

static const cJSON *input(const graph *g, int node, const char *name) {
    return cJSON_GetObjectItemCaseSensitive(g->n[node].inputs, name);
}

/* Node index an input links to, or -1. */
static int input_src(const graph *g, int node, const char *name, int *slot) {
    const char *src;
    int s = 0;
    if (!is_link(input(g, node, name), &src, &s)) return -1;
    if (slot) *slot = s;
    return find(g, src);
}

static bool num_of(const cJSON *v, double *out) {
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return true;
    }
    if ((cJSON_IsRaw(v) || cJSON_IsString(v)) && v->valuestring) {
        char *end;
        double d = strtod(v->valuestring, &end);
        if (end == v->valuestring || *end) return false;
        *out = d;
        return true;
    }
    return false;
}

/* Ordering of ids: JS array indices (plain decimal) numerically first, then the rest by text. */
static int id_cmp(const char *a, const char *b) {
    bool da = *a && strspn(a, "0123456789") == strlen(a) && strlen(a) < 19;
    bool db = *b && strspn(b, "0123456789") == strlen(b) && strlen(b) < 19;
    if (da && db) {
        unsigned long long x = strtoull(a, NULL, 10), y = strtoull(b, NULL, 10);
        if (x != y) return x < y ? -1 : 1;
        return strcmp(a, b);
    }
    if (da != db) return da ? -1 : 1;
    return strcmp(a, b);
}

/* First sampler in a deterministic topological order of the ancestors of save (Kahn, smallest
 * ready id first). -1 when none. */
static int first_sampler(const graph *g, int save) {
    int n = g->count, found = -1;
    bool *anc = sdf_calloc((size_t)n, 1);
    int *stack = sdf_malloc((size_t)n * sizeof *stack);
    int *indeg = sdf_calloc((size_t)n, sizeof *indeg);
    bool *done = sdf_calloc((size_t)n, 1);
    if (!anc || !stack || !indeg || !done) goto out;
    int sp = 0;
    anc[save] = true;
    stack[sp++] = save;
    while (sp) {
        int v = stack[--sp];
        for (const cJSON *in = g->n[v].inputs ? g->n[v].inputs->child : NULL; in; in = in->next) {
            const char *src;
            int slot;
            if (!is_link(in, &src, &slot)) continue;
            int u = find(g, src);
            if (u >= 0 && !anc[u]) {
                anc[u] = true;
                stack[sp++] = u;
            }
        }
    }
    /* in-degree = number of linked inputs from ancestors (duplicates counted per link) */
    for (int v = 0; v < n; v++) {
        if (!anc[v]) continue;
        for (const cJSON *in = g->n[v].inputs ? g->n[v].inputs->child : NULL; in; in = in->next) {
            const char *src;
            int slot;
            if (is_link(in, &src, &slot) && find(g, src) >= 0) indeg[v]++;
        }
    }
    for (;;) {
        int best = -1;
        for (int v = 0; v < n; v++)
            if (anc[v] && !done[v] && indeg[v] == 0 &&
                (best < 0 || id_cmp(g->n[v].id, g->n[best].id) < 0))
                best = v;
        if (best < 0) break;
        done[best] = true;
        if (g->n[best].cls &&
            (strcmp(g->n[best].cls, "KSampler") == 0 ||
             strcmp(g->n[best].cls, "KSamplerAdvanced") == 0)) {
            found = best;
            break;
        }
        for (int v = 0; v < n; v++) {
            if (!anc[v] || done[v]) continue;
            for (const cJSON *in = g->n[v].inputs ? g->n[v].inputs->child : NULL; in;
                 in = in->next) {
                const char *src;
                int slot;
                if (is_link(in, &src, &slot) && strcmp(src, g->n[best].id) == 0) indeg[v]--;
            }
        }
    }
out:
    sdf_free(anc);
    sdf_free(stack);
    sdf_free(indeg);
    sdf_free(done);
    return found;
}

/* ---- text builder --------------------------------------------------------------------------- */

typedef struct sbuf {
    char  *p;
    size_t n, cap;
    bool   oom;
} sbuf;

static void sb_addn(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n + 1) nc *= 2;
        char *np = sdf_realloc(b->p, nc);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_add(sbuf *b, const char *s) { sb_addn(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) SDF_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_add(b, tmp);
}

/* ---- conditioning texts --------------------------------------------------------------------- */

typedef struct texts {
    sbuf  out;
    bool *seen;
    int   depth;
} texts;

static void add_text(texts *t, const char *s) {
    while (*s && isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) n--;
    if (!n) return;
    if (t->out.n) sb_add(&t->out, ", ");
    sb_addn(&t->out, s, n);
}

static void collect(const graph *g, int node, int slot, texts *t) {
    if (node < 0 || t->seen[node] || t->depth > 256) return;
    t->seen[node] = true;
    const char *cls = g->n[node].cls ? g->n[node].cls : "";
    if (strcmp(cls, "CLIPTextEncode") == 0) {
        const cJSON *txt = input(g, node, "text");
        if (cJSON_IsString(txt)) add_text(t, txt->valuestring);
        return;
    }
    if (strcmp(cls, "ConditioningZeroOut") == 0) return;
    t->depth++;
    /* nodes with positive/negative inputs and outputs (ControlNetApplyAdvanced,
     * InpaintModelConditioning, ...): follow the input matching the output used */
    if (input(g, node, "positive") && input(g, node, "negative")) {
        int s = 0;
        int src = input_src(g, node, slot == 1 ? "negative" : "positive", &s);
        collect(g, src, s, t);
    } else {
        for (const cJSON *in = g->n[node].inputs ? g->n[node].inputs->child : NULL; in;
             in = in->next) {
            const char *src;
            int s;
            if (!in->string || strncmp(in->string, "conditioning", 12) != 0) continue;
            if (is_link(in, &src, &s)) collect(g, find(g, src), s, t);
        }
    }
    t->depth--;
}

static char *cond_text(const graph *g, int sampler, const char *which) {
    texts t = {{0}, NULL, 0};
    t.seen = sdf_calloc((size_t)g->count, 1);
    if (!t.seen) return NULL;
    int s = 0;
    int src = input_src(g, sampler, which, &s);
    collect(g, src, s, &t);
    sdf_free(t.seen);
    if (t.out.oom) {
        sdf_free(t.out.p);
        return NULL;
    }
    if (!t.out.p) return sdf_strdup("");
    return t.out.p;
}

/* ---- size and model ------------------------------------------------------------------------- */

/* Pixel size of the latent a node outputs; false when unknown. */
static bool latent_size(const graph *g, int node, int depth, long *w, long *h) {
    if (node < 0 || depth > 64) return false;
    const char *cls = g->n[node].cls ? g->n[node].cls : "";
    double a, b;
    if (strcmp(cls, "EmptyLatentImage") == 0) {
        if (!num_of(input(g, node, "width"), &a) || !num_of(input(g, node, "height"), &b))
            return false;
        if (!(a >= 0 && a <= 1e6 && b >= 0 && b <= 1e6)) return false;
        *w = (long)a / 8 * 8;
        *h = (long)b / 8 * 8;
        return *w > 0 && *h > 0;
    }
    if (strcmp(cls, "LatentUpscale") == 0) {
        long uw = 0, uh = 0;
        if (!num_of(input(g, node, "width"), &a) || !num_of(input(g, node, "height"), &b))
            return false;
        if (!(a >= 0 && a <= 1e6 && b >= 0 && b <= 1e6)) return false;
        long tw = (long)a, th = (long)b;
        bool up = latent_size(g, input_src(g, node, "samples", NULL), depth + 1, &uw, &uh);
        if (tw == 0 && th == 0) {
            *w = uw;
            *h = uh;
            return up;
        }
        if (tw == 0 || th == 0) {
            if (!up || uw < 8 || uh < 8) return false;
            if (tw == 0) {
                th = th < 64 ? 64 : th;
                tw = lround((double)(uw / 8) * (double)th / (double)(uh / 8));
            } else {
                tw = tw < 64 ? 64 : tw;
                th = lround((double)(uh / 8) * (double)tw / (double)(uw / 8));
            }
        }
        tw = tw < 64 ? 64 : tw;
        th = th < 64 ? 64 : th;
        *w = tw / 8 * 8;
        *h = th / 8 * 8;
        return true;
    }
    if (strcmp(cls, "LatentUpscaleBy") == 0) {
        long uw, uh;
        if (!num_of(input(g, node, "scale_by"), &a) ||
            !latent_size(g, input_src(g, node, "samples", NULL), depth + 1, &uw, &uh))
            return false;
        /* Python round (half to even) of the latent size */
        if (!(a > 0 && a <= 64)) return false;
        *w = (long)nearbyint((double)(uw / 8) * a) * 8;
        *h = (long)nearbyint((double)(uh / 8) * a) * 8;
        return *w > 0 && *h > 0;
    }
    static const char *const through[][2] = {
        {"KSampler", "latent_image"},        {"KSamplerAdvanced", "latent_image"},
        {"SetLatentNoiseMask", "samples"},   {"RepeatLatentBatch", "samples"},
        {"LatentFromBatch", "samples"},      {"LatentBlend", "samples1"},
        {"LatentComposite", "samples_to"},   {"LatentCompositeMasked", "destination"},
    };
    for (size_t i = 0; i < SDF_COUNTOF(through); i++)
        if (strcmp(cls, through[i][0]) == 0)
            return latent_size(g, input_src(g, node, through[i][1], NULL), depth + 1, w, h);
    return false;
}

/* The ckpt_name reached through the model input, or NULL. */
static const char *checkpoint_of(const graph *g, int node) {
    for (int depth = 0; node >= 0 && depth < 256; depth++) {
        const cJSON *ck = input(g, node, "ckpt_name");
        if (cJSON_IsString(ck)) return ck->valuestring;
        int next = input_src(g, node, "model", NULL);
        if (next < 0) next = input_src(g, node, "model1", NULL);
        node = next;
    }
    return NULL;
}

static void add_stem(sbuf *b, const char *name) {
    const char *base = name;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\') base = p + 1;
    const char *dot = strrchr(base, '.');
    sb_addn(b, base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

/* Up to 6 significant digits, no exponent for ordinary values: 8 -> "8", 0.8700000000000001 ->
 * "0.87". */
static void add_number(sbuf *b, double v) { sb_printf(b, "%.6g", v); }

/* The seed exactly as the prompt holds it. */
static void add_seed(sbuf *b, const cJSON *v) {
    /* raw items, digit strings, and numbers that carry their literal text in valuestring (the
     * engine's sdf_json_parse keeps it there) */
    if ((cJSON_IsRaw(v) || cJSON_IsString(v) || cJSON_IsNumber(v)) && v->valuestring) {
        const char *s = v->valuestring;
        if (*s && strspn(s, "0123456789") == strlen(s)) {
            sb_add(b, s);
            return;
        }
        double d = strtod(s, NULL);
        sb_printf(b, "%.0f", d);
        return;
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : 0;
    sb_printf(b, "%.0f", d);
}

char *sdf_a1111_parameters(const cJSON *prompt, const char *save_node_id, int width, int height,
                           sdf_status (*ckpt_sha256)(void *user, const char *ckpt_name,
                                                     char hex[65]),
                           void *user) {
    if (!cJSON_IsObject(prompt) || !save_node_id) return NULL;
    graph g = {0};
    int n = cJSON_GetArraySize(prompt);
    if (n <= 0) return NULL;
    g.n = sdf_calloc((size_t)n, sizeof *g.n);
    if (!g.n) return NULL;
    for (const cJSON *e = prompt->child; e; e = e->next) {
        if (!cJSON_IsObject(e) || !e->string) continue;
        g.n[g.count].id = e->string;
        g.n[g.count].cls = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "class_type"));
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(e, "inputs");
        g.n[g.count].inputs = cJSON_IsObject(in) ? in : NULL;
        g.count++;
    }
    char *result = NULL, *pos = NULL, *neg = NULL;
    int save = find(&g, save_node_id);
    int ks = save >= 0 ? first_sampler(&g, save) : -1;
    if (ks < 0) goto out;
    bool adv = strcmp(g.n[ks].cls, "KSamplerAdvanced") == 0;
    pos = cond_text(&g, ks, "positive");
    neg = cond_text(&g, ks, "negative");
    if (!pos || !neg) goto out;

    sbuf b = {0};
    sb_add(&b, pos);
    if (*neg) {
        sb_add(&b, "\nNegative prompt: ");
        sb_add(&b, neg);
    }
    sb_add(&b, "\n");
    double v;
    sb_add(&b, "Steps: ");
    if (num_of(input(&g, ks, "steps"), &v)) sb_printf(&b, "%.0f", v);
    sb_add(&b, ", Sampler: ");
    sb_add(&b, sdf_a1111_sampler_name(
                   cJSON_GetStringValue(input(&g, ks, "sampler_name"))));
    sb_add(&b, ", Schedule type: ");
    sb_add(&b, sdf_a1111_scheduler_name(cJSON_GetStringValue(input(&g, ks, "scheduler"))));
    sb_add(&b, ", CFG scale: ");
    if (num_of(input(&g, ks, "cfg"), &v)) add_number(&b, v);
    sb_add(&b, ", Seed: ");
    add_seed(&b, input(&g, ks, adv ? "noise_seed" : "seed"));
    long w = width, h = height;
    latent_size(&g, input_src(&g, ks, "latent_image", NULL), 0, &w, &h);
    sb_printf(&b, ", Size: %ldx%ld", w, h);
    const char *ckpt = checkpoint_of(&g, input_src(&g, ks, "model", NULL));
    if (ckpt) {
        char hex[65] = {0};
        if (ckpt_sha256 && ckpt_sha256(user, ckpt, hex) == SDF_OK && strlen(hex) >= 10)
            sb_printf(&b, ", Model hash: %.10s", hex);
        sb_add(&b, ", Model: ");
        add_stem(&b, ckpt);
    }
    if (!adv && num_of(input(&g, ks, "denoise"), &v) && v < 1.0) {
        sb_add(&b, ", Denoising strength: ");
        add_number(&b, v);
    }
    if (b.oom) {
        sdf_free(b.p);
    } else {
        result = b.p;
        if (result[0] == '\n') memmove(result, result + 1, strlen(result)); /* A1111's strip() */
    }
out:
    sdf_free(pos);
    sdf_free(neg);
    sdf_free(g.n);
    return result;
}
