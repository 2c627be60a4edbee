/* embedding.c: finding and reading textual-inversion embeddings. */
#include "embedding.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/alloc.h"
#include "../io/ckpt.h"
#include "../io/safetensors.h"
#include "wstore.h"

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static bool is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Lexical normalisation of an absolute-or-relative path (Python os.path.normpath). */
static void normpath(const char *in, char *out, size_t cap) {
    const char *comp[512];
    size_t      clen[512];
    int         n = 0;
    bool        abs = in[0] == '/';
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t l = (size_t)(p - s);
        if (l == 1 && s[0] == '.')
            continue;
        if (l == 2 && s[0] == '.' && s[1] == '.') {
            if (n > 0 && !(clen[n - 1] == 2 && memcmp(comp[n - 1], "..", 2) == 0))
                n--;
            else if (!abs && n < 512)
                comp[n] = s, clen[n++] = l;
            continue;
        }
        if (n < 512)
            comp[n] = s, clen[n++] = l;
    }
    size_t k = 0;
    if (abs && k + 1 < cap)
        out[k++] = '/';
    for (int i = 0; i < n; i++) {
        if (i && k + 1 < cap)
            out[k++] = '/';
        for (size_t j = 0; j < clen[i] && k + 1 < cap; j++)
            out[k++] = comp[i][j];
    }
    if (k == 0 && cap > 1)
        out[k++] = '.';
    out[k] = '\0';
}

/* Concatenates (along rows) every tensor whose name has prefix and matches suffix. */
static sdf_tensor *bundled(sdf_st_file *f, const char *prefix, const char *suffix, sdf_error *err) {
    sdf_tensor *parts[256];
    int         np = 0;
    int64_t     rows = 0, dim = -1;
    for (size_t i = 0; i < sdf_st_count(f) && np < 256; i++) {
        const sdf_st_entry *e = sdf_st_entry_at(f, i);
        if (strncmp(e->name, prefix, strlen(prefix)) != 0 || !ends_with(e->name, suffix))
            continue;
        sdf_tensor *t = sdf_st_tensor_f32(f, e->name, err);
        if (!t)
            break;
        int64_t d = t->ndim ? t->shape[t->ndim - 1] : 1;
        if (dim >= 0 && d != dim) {
            sdf_tensor_release(t);
            continue;
        }
        dim = d;
        rows += d ? sdf_tensor_numel(t) / d : 0;
        parts[np++] = t;
    }
    if (np == 0)
        return NULL;
    sdf_tensor *out = sdf_tensor_f32(err, 2, rows, dim);
    size_t      off = 0;
    for (int i = 0; i < np; i++) {
        size_t n = (size_t)sdf_tensor_numel(parts[i]);
        if (out)
            memcpy(sdf_tensor_f32p(out) + off, sdf_tensor_f32p(parts[i]), n * sizeof(float));
        off += n;
        sdf_tensor_release(parts[i]);
    }
    return out;
}

/* Chooses the embedding tensor among a torch file's tensors (as ComfyUI's load_embed): A1111's
 * string_to_param (however the reader names the nested key), the family key, bundled
 * embeddings, else the first tensor. NEW f32 tensor or NULL. */
static sdf_tensor *pick_from_store(sdf_wstore *w, const char *key, sdf_error *err) {
    size_t          n = sdf_wstore_count(w);
    sdf_wstore_info in;
    for (size_t i = 0; i < n; i++)
        if (sdf_wstore_info_at(w, i, &in) &&
            (strstr(in.name, "string_to_param") != NULL || strcmp(in.name, "*") == 0))
            return sdf_wstore_get_f32(w, in.name, err);
    if (key && sdf_wstore_has(w, key))
        return sdf_wstore_get_f32(w, key, err);
    if (n > 0 && sdf_wstore_info_at(w, 0, &in))
        return sdf_wstore_get_f32(w, in.name, err);
    return NULL;
}

sdf_status sdf_embedding_read_file(const char *path, const char *key, sdf_tensor **out,
                                   sdf_error *err) {
    *out = NULL;
    sdf_tensor *t = NULL;
    if (!ends_with(path, ".safetensors") && !ends_with(path, ".SAFETENSORS")) {
        /* .pt / .bin: the non-executing torch reader */
        sdf_wstore *w = sdf_wstore_new(err);
        if (!w)
            return SDF_ERR_NOMEM;
        sdf_status st = sdf_ckpt_load_into(path, w, "", err);
        if (st == SDF_OK) {
            t = pick_from_store(w, key, err);
            if (!t && !(err && err->code))
                st = sdf_fail(err, SDF_ERR_PARSE, "%s: no tensors in the embedding file", path);
            else if (!t)
                st = err->code;
        }
        sdf_wstore_release(w);
        if (st != SDF_OK)
            return st;
    } else {
        sdf_st_file *f = NULL;
        sdf_status   st = sdf_st_open(path, &f, err);
        if (st != SDF_OK)
            return st;
        if (sdf_st_count(f) == 0) {
            sdf_st_close(f);
            return sdf_fail(err, SDF_ERR_PARSE, "%s: no tensors in the embedding file", path);
        }
        if (key && sdf_st_find(f, key))
            t = sdf_st_tensor_f32(f, key, err);
        else {
            char suf[64];
            t = bundled(f, "bundle_emb.", ".string_to_param.*", err);
            if (!t) {
                snprintf(suf, sizeof suf, ".%s", key ? key : "");
                t = bundled(f, "bundle_emb.", suf, err);
            }
            if (!t)
                t = sdf_st_tensor_f32(f, sdf_st_entry_at(f, 0)->name, err);
        }
        sdf_st_close(f);
        if (!t)
            return err && err->code ? err->code : SDF_ERR_PARSE;
    }
    if (t->ndim == 0 || sdf_tensor_numel(t) == 0) {
        sdf_tensor_release(t);
        return sdf_fail(err, SDF_ERR_SHAPE, "%s: the embedding tensor is empty", path);
    }
    if (t->ndim != 2) { /* 1-D: one vector; >2-D: rows of the last dimension */
        int64_t     d = t->shape[t->ndim - 1];
        int64_t     shape[2] = {sdf_tensor_numel(t) / d, d};
        sdf_tensor *r = sdf_tensor_reshape(t, 2, shape, err);
        sdf_tensor_release(t);
        if (!r)
            return err ? err->code : SDF_ERR_SHAPE;
        t = r;
    }
    *out = t;
    return SDF_OK;
}

/* Directories under base (base first, then sub-folders depth-first in name order). */
static void collect_dirs(const char *base, char ***list, int *n, int *cap, int depth) {
    if (depth > 16)
        return;
    if (*n == *cap) {
        int    nc = *cap ? *cap * 2 : 16;
        char **p = sdf_realloc(*list, (size_t)nc * sizeof *p);
        if (!p)
            return;
        *list = p;
        *cap = nc;
    }
    char *d = sdf_strdup(base);
    if (!d)
        return;
    (*list)[(*n)++] = d;
    struct dirent **ents = NULL;
    int             m = scandir(base, &ents, NULL, alphasort);
    for (int i = 0; i < m; i++) {
        const char *nm = ents[i]->d_name;
        if (strcmp(nm, ".") && strcmp(nm, "..")) {
            char        p[4096];
            struct stat sb;
            snprintf(p, sizeof p, "%s/%s", base, nm);
            if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
                collect_dirs(p, list, n, cap, depth + 1);
        }
        free(ents[i]);
    }
    free(ents);
}

sdf_status sdf_embedding_load(const sdf_paths *paths, const char *name, const char *key,
                              int64_t dim, sdf_prompt_warn_fn warn, void *warn_ctx,
                              sdf_tensor **out, sdf_error *err) {
    (void)dim;
    *out = NULL;
    if (!paths || !name[0])
        return SDF_OK;
    char found[4096] = "";
    for (int m = 0; m < paths->n_models_dirs && !found[0]; m++) {
        char base[4096];
        snprintf(base, sizeof base, "%s/%s", paths->models_dirs[m],
                 sdf_file_kind_folder(SDF_FILE_EMBEDDINGS));
        char **dirs = NULL;
        int    nd = 0, cap = 0;
        collect_dirs(base, &dirs, &nd, &cap, 0);
        for (int i = 0; i < nd && !found[0]; i++) {
            char dn[4096], joined[8192], pn[8192];
            normpath(dirs[i], dn, sizeof dn);
            if (name[0] == '/')
                snprintf(joined, sizeof joined, "%s", name);
            else
                snprintf(joined, sizeof joined, "%s/%s", dirs[i], name);
            normpath(joined, pn, sizeof pn);
            size_t dl = strlen(dn);
            if (strncmp(pn, dn, dl) != 0 || (pn[dl] != '/' && pn[dl] != '\0'))
                continue;
            static const char *const ext[] = {"", ".safetensors", ".pt", ".bin"};
            for (int e = 0; e < 4 && !found[0]; e++) {
                char cand[8300];
                snprintf(cand, sizeof cand, "%s%s", pn, ext[e]);
                if (is_file(cand))
                    snprintf(found, sizeof found, "%s", cand);
            }
        }
        for (int i = 0; i < nd; i++)
            sdf_free(dirs[i]);
        sdf_free(dirs);
    }
    if (!found[0])
        return SDF_OK;
    sdf_error  e2 = {0};
    sdf_status st = sdf_embedding_read_file(found, key, out, &e2);
    if (st == SDF_ERR_NOMEM) {
        if (err)
            *err = e2;
        return st;
    }
    if (st != SDF_OK && warn) {
        char msg[1400];
        snprintf(msg, sizeof msg, "error loading embedding, skipping loading: %s (%s)", name,
                 e2.msg);
        warn(warn_ctx, msg);
    }
    return SDF_OK;
}
