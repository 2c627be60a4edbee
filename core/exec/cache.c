/* cache.c: the content-addressed output cache. See cache.h. */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/alloc.h"
#include "../base/sha256.h"
#include "../graph/nodecall_int.h"
#include "valuefile.h"

typedef struct entry {
    uint8_t       key[32];
    int           n;
    sdf_value    *v[SDF_MAX_NODE_OUTPUTS];
    size_t        bytes;
    uint64_t      used; /* LRU clock */
    struct entry *next;
} entry;

struct sdf_cache {
    pthread_mutex_t mu;
    entry          *head; /* unordered list; caches hold tens to hundreds of entries */
    size_t          budget, bytes, n_entries;
    uint64_t        clock;
    char           *dir;
    uint64_t        disk_budget;
    sdf_cache_stats st;
};

void sdf_key_hex(const uint8_t key[32], char hex[65]) { sdf_sha256_hex(key, hex); }

sdf_status sdf_cache_new(size_t mem_budget, const char *disk_dir, uint64_t disk_budget,
                         sdf_cache **out, sdf_error *err) {
    sdf_cache *c = sdf_calloc(1, sizeof *c);
    if (!c) return sdf_fail(err, SDF_ERR_NOMEM, "cache");
    pthread_mutex_init(&c->mu, NULL);
    c->budget = mem_budget;
    c->disk_budget = disk_budget;
    if (disk_dir && disk_dir[0]) {
        if (mkdir(disk_dir, 0777) != 0 && errno != EEXIST) {
            sdf_fail(err, SDF_ERR_IO, "cannot create the cache directory: %s", strerror(errno));
            sdf_error_at_file(err, disk_dir);
            sdf_cache_free(c);
            return SDF_ERR_IO;
        }
        c->dir = sdf_strdup(disk_dir);
        if (!c->dir) {
            sdf_cache_free(c);
            return sdf_fail(err, SDF_ERR_NOMEM, "cache");
        }
    }
    *out = c;
    return SDF_OK;
}

static void entry_free(entry *e) {
    for (int i = 0; i < e->n; i++) sdf_value_release(e->v[i]);
    sdf_free(e);
}

void sdf_cache_free(sdf_cache *c) {
    if (!c) return;
    for (entry *e = c->head, *nx; e; e = nx) {
        nx = e->next;
        entry_free(e);
    }
    pthread_mutex_destroy(&c->mu);
    sdf_free(c->dir);
    sdf_free(c);
}

/* Drops least-recently-used entries until bytes <= budget. Caller holds mu. */
static void evict(sdf_cache *c) {
    while (c->bytes > c->budget && c->head) {
        entry **best = NULL;
        for (entry **p = &c->head; *p; p = &(*p)->next)
            if (!best || (*p)->used < (*best)->used) best = p;
        entry *e = *best;
        *best = e->next;
        c->bytes -= e->bytes;
        c->n_entries--;
        c->st.evictions++;
        entry_free(e);
    }
}

static void mem_put(sdf_cache *c, const uint8_t key[32], int n, sdf_value *const *values) {
    size_t bytes = 0;
    for (int i = 0; i < n; i++) bytes += sdf_value_bytes(values[i]);
    if (bytes > c->budget) return;
    for (entry *e = c->head; e; e = e->next)
        if (!memcmp(e->key, key, 32)) {
            e->used = ++c->clock;
            return;
        }
    entry *e = sdf_calloc(1, sizeof *e);
    if (!e) return;
    memcpy(e->key, key, 32);
    e->n = n;
    for (int i = 0; i < n; i++) e->v[i] = sdf_value_retain(values[i]);
    e->bytes = bytes;
    e->used = ++c->clock;
    e->next = c->head;
    c->head = e;
    c->bytes += bytes;
    c->n_entries++;
    evict(c);
}

/* ---- disk --------------------------------------------------------------------------------- */

static void disk_path(const sdf_cache *c, const uint8_t key[32], char *buf, size_t cap) {
    char hex[65];
    sdf_key_hex(key, hex);
    snprintf(buf, cap, "%s/%s.safetensors", c->dir, hex);
}

static bool disk_get(sdf_cache *c, const uint8_t key[32], int n, sdf_value **outs) {
    char path[4200];
    disk_path(c, key, path, sizeof path);
    if (access(path, R_OK) != 0) return false;
    sdf_st_file *f = NULL;
    sdf_error e;
    sdf_error_clear(&e);
    if (sdf_st_open(path, &f, &e)) return false;
    const char *cnt = sdf_st_meta_get(f, "sdflow.outputs");
    bool ok = cnt && atoi(cnt) == n;
    for (int i = 0; ok && i < n; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "o%d.", i);
        if (sdf_valuefile_read(f, prefix, &outs[i], &e)) ok = false;
    }
    sdf_st_close(f);
    if (!ok) {
        for (int i = 0; i < n; i++) {
            sdf_value_release(outs[i]);
            outs[i] = NULL;
        }
        return false;
    }
    utimensat(AT_FDCWD, path, NULL, 0); /* LRU: a hit makes it young */
    return true;
}

typedef struct dfile {
    char   *name;
    off_t   size;
    int64_t mtime_ns;
} dfile;

static int by_age(const void *a, const void *b) {
    const dfile *x = a, *y = b;
    return x->mtime_ns < y->mtime_ns ? -1 : x->mtime_ns > y->mtime_ns;
}

/* Deletes the oldest files until the directory's .safetensors fit the budget. */
static void disk_trim(sdf_cache *c) {
    if (!c->disk_budget) return;
    DIR *d = opendir(c->dir);
    if (!d) return;
    dfile *v = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 13 || strcmp(de->d_name + l - 12, ".safetensors")) continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", c->dir, de->d_name);
        struct stat sb;
        if (stat(p, &sb) != 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            dfile *nv = sdf_realloc(v, cap * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        v[n].name = sdf_strdup(de->d_name);
        v[n].size = sb.st_size;
        v[n].mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        if (!v[n].name) break;
        total += (uint64_t)sb.st_size;
        n++;
    }
    closedir(d);
    qsort(v, n, sizeof *v, by_age);
    for (size_t i = 0; i < n && total > c->disk_budget; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", c->dir, v[i].name);
        if (unlink(p) == 0) total -= (uint64_t)v[i].size;
    }
    for (size_t i = 0; i < n; i++) sdf_free(v[i].name);
    sdf_free(v);
}

static void disk_put(sdf_cache *c, const uint8_t key[32], int n, sdf_value *const *values) {
    for (int i = 0; i < n; i++)
        if (!sdf_value_is_storable(values[i])) return;
    char path[4200];
    disk_path(c, key, path, sizeof path);
    if (access(path, F_OK) == 0) return;
    sdf_st_writer *w = sdf_st_writer_new();
    if (!w) return;
    sdf_error e;
    sdf_error_clear(&e);
    char cnt[16];
    snprintf(cnt, sizeof cnt, "%d", n);
    sdf_status st = sdf_st_writer_meta(w, "sdflow.outputs", cnt, &e);
    for (int i = 0; !st && i < n; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "o%d.", i);
        st = sdf_valuefile_add(w, prefix, values[i], &e);
    }
    if (!st) st = sdf_st_writer_save(w, path, &e); /* temp file + rename */
    sdf_st_writer_free(w);
    if (!st) {
        pthread_mutex_lock(&c->mu);
        c->st.disk_writes++;
        pthread_mutex_unlock(&c->mu);
        disk_trim(c);
    }
}

/* ---- public ------------------------------------------------------------------------------- */

bool sdf_cache_get(sdf_cache *c, const uint8_t key[32], int n, sdf_value **outs) {
    if (!c) return false;
    pthread_mutex_lock(&c->mu);
    for (entry *e = c->head; e; e = e->next)
        if (!memcmp(e->key, key, 32) && e->n == n) {
            for (int i = 0; i < n; i++) outs[i] = sdf_value_retain(e->v[i]);
            e->used = ++c->clock;
            c->st.hits++;
            pthread_mutex_unlock(&c->mu);
            if (c->dir) { /* keep the disk copy young too: LRU across processes */
                char path[4200];
                disk_path(c, key, path, sizeof path);
                utimensat(AT_FDCWD, path, NULL, 0);
            }
            return true;
        }
    pthread_mutex_unlock(&c->mu);
    if (c->dir && disk_get(c, key, n, outs)) {
        pthread_mutex_lock(&c->mu);
        c->st.hits++;
        c->st.disk_hits++;
        mem_put(c, key, n, outs);
        pthread_mutex_unlock(&c->mu);
        return true;
    }
    pthread_mutex_lock(&c->mu);
    c->st.misses++;
    pthread_mutex_unlock(&c->mu);
    return false;
}

void sdf_cache_put(sdf_cache *c, const uint8_t key[32], int n, sdf_value *const *values) {
    if (!c || n > SDF_MAX_NODE_OUTPUTS) return;
    pthread_mutex_lock(&c->mu);
    mem_put(c, key, n, values);
    pthread_mutex_unlock(&c->mu);
    if (c->dir) disk_put(c, key, n, values);
}

void sdf_cache_stats_get(sdf_cache *c, sdf_cache_stats *s) {
    memset(s, 0, sizeof *s);
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    *s = c->st;
    s->bytes = c->bytes;
    s->entries = c->n_entries;
    pthread_mutex_unlock(&c->mu);
}
