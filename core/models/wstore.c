#include "wstore.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"

/* One weight; shared between a store and its overlays. */
typedef struct slot {
    atomic_int      refcount;
    sdf_st_file    *file;   /* retained, with entry; or NULL */
    const sdf_st_entry *entry;
    sdf_tensor     *tensor; /* in-memory source, retained; or NULL */
    sdf_tensor     *f32;    /* cached conversion; guarded by mu */
    pthread_mutex_t mu;
} slot;

typedef struct item {
    char *name;
    slot *s;
} item;

struct sdf_wstore {
    atomic_int refcount;
    item      *items; /* sorted by name when !dirty */
    size_t     n, cap;
    bool       dirty;
    pthread_mutex_t mu; /* guards sorting on first lookup after changes */
};

static slot *slot_new(void) {
    slot *s = sdf_calloc(1, sizeof *s);
    if (!s) return NULL;
    atomic_init(&s->refcount, 1);
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

static void slot_release(slot *s) {
    if (!s) return;
    if (atomic_fetch_sub(&s->refcount, 1) != 1) return;
    sdf_st_close(s->file);
    sdf_tensor_release(s->tensor);
    sdf_tensor_release(s->f32);
    pthread_mutex_destroy(&s->mu);
    sdf_free(s);
}

sdf_wstore *sdf_wstore_new(sdf_error *err) {
    sdf_wstore *w = sdf_calloc(1, sizeof *w);
    if (!w) {
        sdf_fail(err, SDF_ERR_NOMEM, "weight store");
        return NULL;
    }
    atomic_init(&w->refcount, 1);
    pthread_mutex_init(&w->mu, NULL);
    return w;
}

sdf_wstore *sdf_wstore_retain(sdf_wstore *w) {
    if (w) atomic_fetch_add(&w->refcount, 1);
    return w;
}

void sdf_wstore_release(sdf_wstore *w) {
    if (!w) return;
    int prev = atomic_fetch_sub(&w->refcount, 1);
    SDF_ASSERT(prev > 0);
    if (prev != 1) return;
    for (size_t i = 0; i < w->n; i++) {
        sdf_free(w->items[i].name);
        slot_release(w->items[i].s);
    }
    sdf_free(w->items);
    pthread_mutex_destroy(&w->mu);
    sdf_free(w);
}

static int cmp_item(const void *a, const void *b) {
    return strcmp(((const item *)a)->name, ((const item *)b)->name);
}

static void ensure_sorted(const sdf_wstore *cw) {
    sdf_wstore *w = (sdf_wstore *)cw;
    pthread_mutex_lock(&w->mu);
    if (w->dirty) {
        qsort(w->items, w->n, sizeof *w->items, cmp_item);
        w->dirty = false;
    }
    pthread_mutex_unlock(&w->mu);
}

static item *find(const sdf_wstore *w, const char *name) {
    ensure_sorted(w);
    size_t lo = 0, hi = w->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(w->items[mid].name, name);
        if (c == 0) return &w->items[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* Installs s under name (takes over the reference to s). */
static sdf_status install(sdf_wstore *w, const char *name, slot *s, sdf_error *err) {
    item *it = w->dirty ? NULL : find(w, name);
    if (!it && w->dirty) {
        for (size_t i = 0; i < w->n; i++)
            if (strcmp(w->items[i].name, name) == 0) { it = &w->items[i]; break; }
    }
    if (it) {
        slot_release(it->s);
        it->s = s;
        return SDF_OK;
    }
    if (w->n == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 256;
        item *ni = sdf_realloc(w->items, nc * sizeof *ni);
        if (!ni) { slot_release(s); return sdf_fail(err, SDF_ERR_NOMEM, "weight store"); }
        w->items = ni;
        w->cap = nc;
    }
    char *nm = sdf_strdup(name);
    if (!nm) { slot_release(s); return sdf_fail(err, SDF_ERR_NOMEM, "weight store"); }
    w->items[w->n].name = nm;
    w->items[w->n].s = s;
    w->n++;
    w->dirty = true;
    return SDF_OK;
}

sdf_status sdf_wstore_add_file(sdf_wstore *w, sdf_st_file *f, const char *strip_prefix,
                               const char *add_prefix, sdf_error *err) {
    size_t sl = strip_prefix ? strlen(strip_prefix) : 0;
    if (!add_prefix) add_prefix = "";
    for (size_t i = 0; i < sdf_st_count(f); i++) {
        const sdf_st_entry *e = sdf_st_entry_at(f, i);
        if (sl && strncmp(e->name, strip_prefix, sl) != 0) continue;
        char name[1024];
        snprintf(name, sizeof name, "%s%s", add_prefix, e->name + sl);
        slot *s = slot_new();
        if (!s) return sdf_fail(err, SDF_ERR_NOMEM, "weight store");
        s->file = sdf_st_retain(f);
        s->entry = e;
        sdf_status st = install(w, name, s, err);
        if (st) return st;
    }
    return SDF_OK;
}

sdf_status sdf_wstore_put(sdf_wstore *w, const char *name, sdf_tensor *t, sdf_error *err) {
    slot *s = slot_new();
    if (!s) return sdf_fail(err, SDF_ERR_NOMEM, "weight store");
    s->tensor = sdf_tensor_retain(t);
    return install(w, name, s, err);
}

sdf_status sdf_wstore_put_from(sdf_wstore *w, const char *name, sdf_wstore *src,
                               const char *src_name, sdf_error *err) {
    item *it = find(src, src_name);
    if (!it) return sdf_fail(err, SDF_ERR_NOT_FOUND, "weight '%s' not found", src_name);
    atomic_fetch_add(&it->s->refcount, 1);
    return install(w, name, it->s, err);
}

bool sdf_wstore_remove(sdf_wstore *w, const char *name) {
    item *it = find(w, name);
    if (!it) return false;
    size_t i = (size_t)(it - w->items);
    sdf_free(it->name);
    slot_release(it->s);
    memmove(&w->items[i], &w->items[i + 1], (w->n - i - 1) * sizeof *w->items);
    w->n--;
    return true;
}

sdf_wstore *sdf_wstore_overlay(sdf_wstore *base, sdf_error *err) {
    ensure_sorted(base);
    sdf_wstore *w = sdf_wstore_new(err);
    if (!w) return NULL;
    w->items = sdf_malloc((base->n ? base->n : 1) * sizeof *w->items);
    if (!w->items) {
        sdf_wstore_release(w);
        sdf_fail(err, SDF_ERR_NOMEM, "weight store overlay");
        return NULL;
    }
    w->cap = base->n ? base->n : 1;
    for (size_t i = 0; i < base->n; i++) {
        w->items[i].name = sdf_strdup(base->items[i].name);
        w->items[i].s = base->items[i].s;
        atomic_fetch_add(&w->items[i].s->refcount, 1);
        w->n++;
        if (!w->items[i].name) {
            sdf_wstore_release(w);
            sdf_fail(err, SDF_ERR_NOMEM, "weight store overlay");
            return NULL;
        }
    }
    return w;
}

size_t sdf_wstore_count(const sdf_wstore *w) { return w->n; }

static void fill_info(const item *it, sdf_wstore_info *out) {
    out->name = it->name;
    if (it->s->tensor) {
        out->dtype = it->s->tensor->dtype;
        out->ndim = it->s->tensor->ndim;
        memcpy(out->shape, it->s->tensor->shape, sizeof out->shape);
    } else {
        out->dtype = it->s->entry->dtype;
        out->ndim = it->s->entry->ndim;
        memcpy(out->shape, it->s->entry->shape, sizeof out->shape);
    }
}

bool sdf_wstore_info_at(const sdf_wstore *w, size_t i, sdf_wstore_info *out) {
    ensure_sorted(w);
    if (i >= w->n) return false;
    fill_info(&w->items[i], out);
    return true;
}

bool sdf_wstore_info_of(const sdf_wstore *w, const char *name, sdf_wstore_info *out) {
    item *it = find(w, name);
    if (!it) return false;
    fill_info(it, out);
    return true;
}

bool sdf_wstore_has(const sdf_wstore *w, const char *name) { return find(w, name) != NULL; }

bool sdf_wstore_same_slot(const sdf_wstore *a, const sdf_wstore *b, const char *name) {
    item *x = find(a, name), *y = find(b, name);
    return x && y && x->s == y->s;
}

static sdf_tensor *not_found(const char *name, sdf_error *err) {
    sdf_fail(err, SDF_ERR_NOT_FOUND, "weight '%s' missing from the model", name);
    return NULL;
}

sdf_tensor *sdf_wstore_get(sdf_wstore *w, const char *name, sdf_error *err) {
    item *it = find(w, name);
    if (!it) return not_found(name, err);
    if (it->s->tensor) return sdf_tensor_retain(it->s->tensor);
    return sdf_st_tensor(it->s->file, it->s->entry->name, err);
}

sdf_tensor *sdf_wstore_get_f32(sdf_wstore *w, const char *name, sdf_error *err) {
    item *it = find(w, name);
    if (!it) return not_found(name, err);
    slot *s = it->s;
    pthread_mutex_lock(&s->mu);
    if (!s->f32) {
        if (s->tensor) {
            s->f32 = s->tensor->dtype == SDF_DTYPE_F32 ? sdf_tensor_retain(s->tensor)
                                                       : sdf_tensor_to_f32(s->tensor, err);
        } else {
            s->f32 = sdf_st_tensor_f32(s->file, s->entry->name, err);
            /* an f16/bf16 source was copied: its file pages need not stay resident beside it */
            if (s->f32 && s->entry->dtype != SDF_DTYPE_F32) sdf_st_release_pages(s->file, s->entry);
        }
    }
    sdf_tensor *r = sdf_tensor_retain(s->f32);
    pthread_mutex_unlock(&s->mu);
    return r;
}

void sdf_wstore_drop_f32(sdf_wstore *w) {
    for (size_t i = 0; i < w->n; i++) {
        slot *s = w->items[i].s;
        pthread_mutex_lock(&s->mu);
        sdf_tensor_release(s->f32);
        s->f32 = NULL;
        pthread_mutex_unlock(&s->mu);
    }
}

size_t sdf_wstore_f32_bytes(const sdf_wstore *w) {
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++) {
        slot *s = w->items[i].s;
        pthread_mutex_lock(&s->mu);
        if (s->f32 && s->f32->owner == NULL) n += s->f32->nbytes; /* heap copy, not a file view */
        pthread_mutex_unlock(&s->mu);
    }
    return n;
}
