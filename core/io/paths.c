#include "paths.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/alloc.h"

static const char *const folders[] = {"",       "checkpoints",    "loras",   "vae",
                                      "embeddings", "clip",       "upscale_models",
                                      "configs", "clip_vocab",    "input"};
_Static_assert(SDF_COUNTOF(folders) == SDF_FILE_KIND_COUNT, "folder table drift");

const char *sdf_file_kind_folder(sdf_file_kind k) {
    return (unsigned)k < SDF_FILE_KIND_COUNT ? folders[k] : "";
}

void sdf_paths_init_defaults(sdf_paths *p) {
    memset(p, 0, sizeof *p);
    p->models_dirs[0] = "models";
    p->n_models_dirs = 1;
    p->input_dir = "input";
    p->output_dir = "output";
    p->temp_dir = "temp";
}

static int is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The directories searched for kind, in order. Returns the count. */
static int search_dirs(const sdf_paths *p, sdf_file_kind kind, char dirs[][1024], int max) {
    int n = 0;
    if (kind == SDF_FILE_INPUT) {
        snprintf(dirs[n++], 1024, "%s", p->input_dir ? p->input_dir : "input");
        return n;
    }
    if (kind == SDF_FILE_CLIP_VOCAB && p->clip_vocab_dir && n < max)
        snprintf(dirs[n++], 1024, "%s", p->clip_vocab_dir);
    for (int i = 0; i < p->n_models_dirs && n < max; i++) {
        snprintf(dirs[n++], 1024, "%s/%s", p->models_dirs[i], folders[kind]);
        if (kind == SDF_FILE_CLIP && n < max)
            snprintf(dirs[n++], 1024, "%s/text_encoders", p->models_dirs[i]);
    }
    return n;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct name_list {
    char **v;
    size_t n, cap;
    int    oom;
} name_list;

static void list_push(name_list *l, const char *s) {
    if (l->oom) return;
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 32;
        char **nv = sdf_realloc(l->v, nc * sizeof *nv);
        if (!nv) { l->oom = 1; return; }
        l->v = nv;
        l->cap = nc;
    }
    if (!(l->v[l->n] = sdf_strdup(s))) { l->oom = 1; return; }
    l->n++;
}

static void walk(const char *root, const char *rel, name_list *l, int depth) {
    char path[2048];
    snprintf(path, sizeof path, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d || depth > 8) { if (d) closedir(d); return; }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char r[1024], full[3072];
        snprintf(r, sizeof r, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        snprintf(full, sizeof full, "%s/%s", root, r);
        if (is_dir(full)) walk(root, r, l, depth + 1);
        else if (is_file(full)) list_push(l, r);
    }
    closedir(d);
}

sdf_status sdf_paths_list(const sdf_paths *p, sdf_file_kind kind, char ***names, size_t *n,
                          sdf_error *err) {
    char dirs[SDF_MAX_MODEL_DIRS * 2 + 2][1024];
    int nd = search_dirs(p, kind, dirs, (int)SDF_COUNTOF(dirs));
    name_list l = {0};
    for (int i = 0; i < nd; i++) walk(dirs[i], "", &l, 0);
    if (l.oom) {
        sdf_paths_free_list(l.v, l.n);
        return sdf_fail(err, SDF_ERR_NOMEM, "listing %s", folders[kind]);
    }
    if (l.n) qsort(l.v, l.n, sizeof *l.v, cmp_str);
    /* drop duplicates (the same name in two models dirs) */
    size_t w = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (w && strcmp(l.v[w - 1], l.v[i]) == 0) { sdf_free(l.v[i]); continue; }
        l.v[w++] = l.v[i];
    }
    *names = l.v;
    *n = w;
    return SDF_OK;
}

void sdf_paths_free_list(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) sdf_free(names[i]);
    sdf_free(names);
}

sdf_status sdf_paths_find(const sdf_paths *p, sdf_file_kind kind, const char *name, char *out,
                          size_t cap, sdf_error *err) {
    if (!name || !name[0]) return sdf_fail(err, SDF_ERR_INVALID, "empty file name");
    char dirs[SDF_MAX_MODEL_DIRS * 2 + 2][1024];
    int nd = search_dirs(p, kind, dirs, (int)SDF_COUNTOF(dirs));
    bool escapes = strstr(name, "..") != NULL;
    for (int i = 0; i < nd && !escapes; i++) {
        char cand[2048];
        snprintf(cand, sizeof cand, "%s/%s", dirs[i], name);
        if ((kind == SDF_FILE_CLIP_VOCAB ? is_dir(cand) : is_file(cand)) && strlen(cand) < cap) {
            snprintf(out, cap, "%s", cand);
            return SDF_OK;
        }
    }
    if ((kind == SDF_FILE_CLIP_VOCAB ? is_dir(name) : is_file(name)) && strlen(name) < cap) {
        snprintf(out, cap, "%s", name);
        return SDF_OK;
    }
    /* Build a helpful message: where we looked, and what was there. */
    char msg[900];
    size_t m = 0;
    m += (size_t)snprintf(msg + m, sizeof msg - m, "%s file \"%s\" not found; looked in",
                          kind == SDF_FILE_INPUT ? "input" : folders[kind], name);
    for (int i = 0; i < nd && m < sizeof msg; i++)
        m += (size_t)snprintf(msg + m, sizeof msg - m, "%s %s/", i ? "," : "", dirs[i]);
    char **names = NULL;
    size_t n = 0;
    if (m < sizeof msg && sdf_paths_list(p, kind, &names, &n, NULL) == SDF_OK) {
        if (n == 0) m += (size_t)snprintf(msg + m, sizeof msg - m, " (no files there)");
        else {
            m += (size_t)snprintf(msg + m, sizeof msg - m, "; available:");
            for (size_t i = 0; i < n && i < 20 && m < sizeof msg; i++)
                m += (size_t)snprintf(msg + m, sizeof msg - m, "%s %s", i ? "," : "", names[i]);
            if (n > 20 && m < sizeof msg) snprintf(msg + m, sizeof msg - m, ", ... (%zu files)", n);
        }
        sdf_paths_free_list(names, n);
    }
    return sdf_fail(err, SDF_ERR_NOT_FOUND, "%s", msg);
}
