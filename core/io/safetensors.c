#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/alloc.h"

struct sdf_st_file {
    atomic_int     refcount;
    char          *path;
    unsigned char *base;   /* whole file image */
    size_t         size;
    bool           mapped; /* base from mmap (else heap) */
    size_t         data_off; /* 8 + header length */
    sdf_st_entry  *entries;
    size_t         n_entries;
    char         **meta; /* key, value pairs */
    size_t         n_meta;
};

static sdf_status fail_file(sdf_error *err, const char *path, sdf_status code, const char *fmt, ...)
    SDF_PRINTF(4, 5);
static sdf_status fail_file(sdf_error *err, const char *path, sdf_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sdf_failv(err, code, fmt, ap);
    va_end(ap);
    sdf_error_at_file(err, path);
    return code;
}

static void file_free(sdf_st_file *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n_entries; i++) sdf_free((char *)f->entries[i].name);
    sdf_free(f->entries);
    for (size_t i = 0; i < 2 * f->n_meta; i++) sdf_free(f->meta[i]);
    sdf_free(f->meta);
    if (f->base) {
        if (f->mapped) munmap(f->base, f->size);
        else sdf_free(f->base);
    }
    sdf_free(f->path);
    sdf_free(f);
}

sdf_st_file *sdf_st_retain(sdf_st_file *f) {
    if (f) atomic_fetch_add(&f->refcount, 1);
    return f;
}

void sdf_st_close(sdf_st_file *f) {
    if (!f) return;
    int prev = atomic_fetch_sub(&f->refcount, 1);
    SDF_ASSERT(prev > 0);
    if (prev == 1) file_free(f);
}

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp(((const sdf_st_entry *)a)->name, ((const sdf_st_entry *)b)->name);
}
static int cmp_entry_off(const void *a, const void *b) {
    const sdf_st_entry *x = *(const sdf_st_entry *const *)a, *y = *(const sdf_st_entry *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* A JSON number that is a non-negative integer exactly representable (<= 2^53). */
static bool json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || floor(d) != d) return false;
    *out = (uint64_t)d;
    return true;
}

static sdf_status parse_entry(sdf_st_file *f, const cJSON *item, sdf_st_entry *e, size_t data_size,
                              sdf_error *err) {
    const char *name = item->string;
    const char *p = f->path;
    if (!cJSON_IsObject(item))
        return fail_file(err, p, SDF_ERR_PARSE, "tensor '%s': entry is not a JSON object", name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dt))
        return fail_file(err, p, SDF_ERR_PARSE, "tensor '%s': missing or non-string dtype", name);
    int d = sdf_dtype_from_name(dt->valuestring);
    if (d < 0)
        return fail_file(err, p, SDF_ERR_UNSUPPORTED, "tensor '%s': unknown dtype \"%s\"", name,
                         dt->valuestring);
    if (!cJSON_IsArray(sh))
        return fail_file(err, p, SDF_ERR_PARSE, "tensor '%s': missing or non-array shape", name);
    int nd = cJSON_GetArraySize(sh);
    if (nd > SDF_MAX_DIMS)
        return fail_file(err, p, SDF_ERR_UNSUPPORTED, "tensor '%s': rank %d above %d", name, nd,
                         SDF_MAX_DIMS);
    e->dtype = (sdf_dtype)d;
    e->ndim = nd;
    size_t nbytes = sdf_dtype_size(e->dtype);
    for (int i = 0; i < nd; i++) {
        uint64_t v;
        if (!json_uint(cJSON_GetArrayItem(sh, i), &v) || v > (uint64_t)INT64_MAX)
            return fail_file(err, p, SDF_ERR_PARSE,
                             "tensor '%s': shape[%d] is not a non-negative integer", name, i);
        e->shape[i] = (int64_t)v;
        if (!sdf_mul_size(nbytes, (size_t)v, &nbytes))
            return fail_file(err, p, SDF_ERR_PARSE, "tensor '%s': shape size overflows", name);
    }
    uint64_t b, en;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
        !json_uint(cJSON_GetArrayItem(off, 0), &b) || !json_uint(cJSON_GetArrayItem(off, 1), &en))
        return fail_file(err, p, SDF_ERR_PARSE,
                         "tensor '%s': data_offsets must be two non-negative integers", name);
    if (en < b)
        return fail_file(err, p, SDF_ERR_PARSE, "tensor '%s': data_offsets [%llu, %llu) reversed",
                         name, (unsigned long long)b, (unsigned long long)en);
    if (en > data_size)
        return fail_file(err, p, SDF_ERR_PARSE,
                         "tensor '%s': data offsets [%llu, %llu) past end of data area (%zu bytes)",
                         name, (unsigned long long)b, (unsigned long long)en, data_size);
    if (en - b != nbytes) {
        char s[160];
        sdf_shape_str(nd, e->shape, s, sizeof s);
        return fail_file(err, p, SDF_ERR_PARSE,
                         "tensor '%s': %s %s needs %zu bytes but data_offsets span %llu", name,
                         dt->valuestring, s, nbytes, (unsigned long long)(en - b));
    }
    e->offset = (size_t)b;
    e->nbytes = nbytes;
    e->name = sdf_strdup(name);
    if (!e->name) return fail_file(err, p, SDF_ERR_NOMEM, "out of memory");
    return SDF_OK;
}

static sdf_status parse_header(sdf_st_file *f, sdf_error *err) {
    const char *p = f->path;
    if (f->size < 8)
        return fail_file(err, p, SDF_ERR_PARSE, "file of %zu bytes is too short for a header",
                         f->size);
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n |= (uint64_t)f->base[i] << (8 * i);
    if (n > SDF_ST_MAX_HEADER)
        return fail_file(err, p, SDF_ERR_PARSE, "header length %llu above the 100 MB limit",
                         (unsigned long long)n);
    if (n > f->size - 8)
        return fail_file(err, p, SDF_ERR_PARSE,
                         "header length %llu past end of file (%zu bytes); file truncated?",
                         (unsigned long long)n, f->size);
    f->data_off = 8 + (size_t)n;
    size_t data_size = f->size - f->data_off;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)f->base + 8, (size_t)n, &end, false);
    if (!root)
        return fail_file(err, p, SDF_ERR_PARSE, "header is not valid JSON (near byte %zu)",
                         end ? (size_t)(end - (const char *)f->base) : (size_t)8);
    sdf_status st = SDF_OK;
    if (!cJSON_IsObject(root)) {
        st = fail_file(err, p, SDF_ERR_PARSE, "header is not a JSON object");
        goto done;
    }
    for (const char *q = end; q < (const char *)f->base + 8 + n; q++) {
        if (*q != ' ' && *q != '\n' && *q != '\r' && *q != '\t' && *q != 0) {
            st = fail_file(err, p, SDF_ERR_PARSE, "trailing bytes after the header JSON");
            goto done;
        }
    }
    size_t count = 0;
    for (cJSON *it = root->child; it; it = it->next) count++;
    f->entries = sdf_calloc(count ? count : 1, sizeof *f->entries);
    f->meta = sdf_calloc(1, sizeof *f->meta);
    if (!f->entries || !f->meta) { st = fail_file(err, p, SDF_ERR_NOMEM, "out of memory"); goto done; }
    for (cJSON *it = root->child; it; it = it->next) {
        if (!it->string) continue;
        if (strcmp(it->string, "__metadata__") == 0) {
            if (f->n_meta) { st = fail_file(err, p, SDF_ERR_PARSE, "duplicate __metadata__"); goto done; }
            if (!cJSON_IsObject(it)) {
                st = fail_file(err, p, SDF_ERR_PARSE, "__metadata__ is not an object");
                goto done;
            }
            size_t nm = 0;
            for (cJSON *m = it->child; m; m = m->next) nm++;
            sdf_free(f->meta);
            f->meta = sdf_calloc(2 * nm + 1, sizeof *f->meta);
            if (!f->meta) { st = fail_file(err, p, SDF_ERR_NOMEM, "out of memory"); goto done; }
            for (cJSON *m = it->child; m; m = m->next) {
                char *val = cJSON_IsString(m) ? sdf_strdup(m->valuestring) : NULL;
                if (!cJSON_IsString(m)) {
                    char *txt = cJSON_PrintUnformatted(m);
                    val = sdf_strdup(txt ? txt : "");
                    free(txt);
                }
                f->meta[2 * f->n_meta] = sdf_strdup(m->string);
                f->meta[2 * f->n_meta + 1] = val;
                f->n_meta++;
                if (!f->meta[2 * f->n_meta - 2] || !val) {
                    st = fail_file(err, p, SDF_ERR_NOMEM, "out of memory");
                    goto done;
                }
            }
            continue;
        }
        st = parse_entry(f, it, &f->entries[f->n_entries], data_size, err);
        if (st) goto done;
        f->n_entries++;
    }
    qsort(f->entries, f->n_entries, sizeof *f->entries, cmp_entry_name);
    for (size_t i = 1; i < f->n_entries; i++) {
        if (strcmp(f->entries[i - 1].name, f->entries[i].name) == 0) {
            st = fail_file(err, p, SDF_ERR_PARSE, "tensor '%s' appears twice in the header",
                           f->entries[i].name);
            goto done;
        }
    }
    if (f->n_entries > 1) {
        const sdf_st_entry **by_off = sdf_malloc(f->n_entries * sizeof *by_off);
        if (!by_off) { st = fail_file(err, p, SDF_ERR_NOMEM, "out of memory"); goto done; }
        for (size_t i = 0; i < f->n_entries; i++) by_off[i] = &f->entries[i];
        qsort(by_off, f->n_entries, sizeof *by_off, cmp_entry_off);
        for (size_t i = 1; i < f->n_entries; i++) {
            const sdf_st_entry *a = by_off[i - 1], *b = by_off[i];
            if (b->offset < a->offset + a->nbytes && b->nbytes && a->nbytes) {
                st = fail_file(err, p, SDF_ERR_PARSE,
                               "tensor '%s' [%zu, %zu) overlaps tensor '%s' [%zu, %zu)", b->name,
                               b->offset, b->offset + b->nbytes, a->name, a->offset,
                               a->offset + a->nbytes);
                break;
            }
        }
        sdf_free(by_off);
    }
done:
    cJSON_Delete(root);
    return st;
}

static sdf_st_file *file_new(const char *path, sdf_error *err) {
    sdf_st_file *f = sdf_calloc(1, sizeof *f);
    if (!f || !(f->path = sdf_strdup(path))) {
        sdf_free(f);
        fail_file(err, path, SDF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&f->refcount, 1);
    return f;
}

sdf_status sdf_st_open(const char *path, sdf_st_file **out, sdf_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_file(err, path, errno == ENOENT ? SDF_ERR_NOT_FOUND : SDF_ERR_IO,
                                 "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return fail_file(err, path, SDF_ERR_IO, "not a regular file");
    }
    sdf_st_file *f = file_new(path, err);
    if (!f) { close(fd); return SDF_ERR_NOMEM; }
    f->size = (size_t)sb.st_size;
    if (f->size > 0) {
        void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            close(fd);
            file_free(f);
            return fail_file(err, path, SDF_ERR_IO, "mmap failed: %s", strerror(errno));
        }
        f->base = m;
        f->mapped = true;
    }
    close(fd);
    sdf_status st = parse_header(f, err);
    if (st) { file_free(f); return st; }
    *out = f;
    return SDF_OK;
}

sdf_status sdf_st_open_memory(const void *data, size_t n, const char *name, sdf_st_file **out,
                              sdf_error *err) {
    sdf_st_file *f = file_new(name ? name : "<memory>", err);
    if (!f) return SDF_ERR_NOMEM;
    f->base = sdf_malloc(n ? n : 1);
    if (!f->base) { file_free(f); return fail_file(err, name, SDF_ERR_NOMEM, "out of memory"); }
    if (n) memcpy(f->base, data, n);
    f->size = n;
    sdf_status st = parse_header(f, err);
    if (st) { file_free(f); return st; }
    *out = f;
    return SDF_OK;
}

const char *sdf_st_path(const sdf_st_file *f) { return f->path; }
size_t sdf_st_count(const sdf_st_file *f) { return f->n_entries; }
size_t sdf_st_file_size(const sdf_st_file *f) { return f->size; }
const sdf_st_entry *sdf_st_entry_at(const sdf_st_file *f, size_t i) {
    return i < f->n_entries ? &f->entries[i] : NULL;
}

const sdf_st_entry *sdf_st_find(const sdf_st_file *f, const char *name) {
    size_t lo = 0, hi = f->n_entries;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(f->entries[mid].name, name);
        if (c == 0) return &f->entries[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const void *sdf_st_data(const sdf_st_file *f, const sdf_st_entry *e) {
    return f->base + f->data_off + e->offset;
}

size_t sdf_st_meta_count(const sdf_st_file *f) { return f->n_meta; }
const char *sdf_st_meta_key(const sdf_st_file *f, size_t i) { return i < f->n_meta ? f->meta[2 * i] : NULL; }
const char *sdf_st_meta_value(const sdf_st_file *f, size_t i) {
    return i < f->n_meta ? f->meta[2 * i + 1] : NULL;
}
const char *sdf_st_meta_get(const sdf_st_file *f, const char *key) {
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[2 * i], key) == 0) return f->meta[2 * i + 1];
    return NULL;
}

static void release_file(void *owner) { sdf_st_close(owner); }

sdf_tensor *sdf_st_tensor(sdf_st_file *f, const char *name, sdf_error *err) {
    const sdf_st_entry *e = sdf_st_find(f, name);
    if (!e) {
        fail_file(err, f->path, SDF_ERR_NOT_FOUND, "tensor '%s' not in file", name);
        return NULL;
    }
    const unsigned char *src = sdf_st_data(f, e);
    size_t align = sdf_dtype_size(e->dtype);
    if (((uintptr_t)src % align) != 0) {
        sdf_tensor *t = sdf_tensor_new(e->dtype, e->ndim, e->shape, err);
        if (t) memcpy(t->data, src, e->nbytes);
        return t;
    }
    sdf_tensor *t = sdf_tensor_wrap(e->dtype, e->ndim, e->shape, (void *)src, f, release_file, err);
    if (t) sdf_st_retain(f);
    return t;
}

sdf_tensor *sdf_st_tensor_f32(sdf_st_file *f, const char *name, sdf_error *err) {
    const sdf_st_entry *e = sdf_st_find(f, name);
    if (!e) {
        fail_file(err, f->path, SDF_ERR_NOT_FOUND, "tensor '%s' not in file", name);
        return NULL;
    }
    if (e->dtype == SDF_DTYPE_F32) return sdf_st_tensor(f, name, err);
    sdf_tensor *t = sdf_tensor_new(SDF_DTYPE_F32, e->ndim, e->shape, err);
    if (t) sdf_convert_to_f32(e->dtype, sdf_st_data(f, e), t->data, (size_t)sdf_tensor_numel(t));
    return t;
}

void sdf_st_release_pages(const sdf_st_file *f, const sdf_st_entry *e) {
    if (!f->mapped || !e->nbytes) return;
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t b = (uintptr_t)sdf_st_data(f, e), end = b + e->nbytes;
    b = (b + pg - 1) & ~(pg - 1); /* whole pages inside the tensor only */
    end &= ~(pg - 1);
    if (end > b) madvise((void *)b, end - b, MADV_DONTNEED);
}

/* ---------------- writer ---------------- */

typedef struct wentry {
    char          *name;
    sdf_dtype      dtype;
    int            ndim;
    int64_t        shape[SDF_MAX_DIMS];
    size_t         nbytes;
    sdf_tensor    *tensor; /* retained, or NULL with fill */
    sdf_st_fill_fn fill;
    void          *ctx;
} wentry;

struct sdf_st_writer {
    wentry *e;
    size_t  n, cap;
    cJSON  *meta;
};

sdf_st_writer *sdf_st_writer_new(void) { return sdf_calloc(1, sizeof(sdf_st_writer)); }

void sdf_st_writer_free(sdf_st_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) {
        sdf_free(w->e[i].name);
        sdf_tensor_release(w->e[i].tensor);
    }
    sdf_free(w->e);
    cJSON_Delete(w->meta);
    sdf_free(w);
}

static wentry *push(sdf_st_writer *w, const char *name, sdf_error *err) {
    if (!w) { sdf_fail(err, SDF_ERR_NOMEM, "safetensors writer"); return NULL; }
    if (!name || !name[0] || strcmp(name, "__metadata__") == 0) {
        sdf_fail(err, SDF_ERR_INVALID, "invalid tensor name \"%s\"", name ? name : "");
        return NULL;
    }
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->e[i].name, name) == 0) {
            sdf_fail(err, SDF_ERR_INVALID, "tensor '%s' added twice", name);
            return NULL;
        }
    if (w->n == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 64;
        wentry *ne = sdf_realloc(w->e, nc * sizeof *ne);
        if (!ne) { sdf_fail(err, SDF_ERR_NOMEM, "safetensors writer"); return NULL; }
        w->e = ne;
        w->cap = nc;
    }
    wentry *e = &w->e[w->n];
    memset(e, 0, sizeof *e);
    e->name = sdf_strdup(name);
    if (!e->name) { sdf_fail(err, SDF_ERR_NOMEM, "safetensors writer"); return NULL; }
    w->n++;
    return e;
}

sdf_status sdf_st_writer_add(sdf_st_writer *w, const char *name, sdf_tensor *t, sdf_error *err) {
    wentry *e = push(w, name, err);
    if (!e) return err ? err->code : SDF_ERR_INVALID;
    e->dtype = t->dtype;
    e->ndim = t->ndim;
    memcpy(e->shape, t->shape, sizeof e->shape);
    e->nbytes = t->nbytes;
    e->tensor = sdf_tensor_retain(t);
    return SDF_OK;
}

sdf_status sdf_st_writer_add_fn(sdf_st_writer *w, const char *name, sdf_dtype dt, int ndim,
                                const int64_t *shape, sdf_st_fill_fn fill, void *ctx,
                                sdf_error *err) {
    if (ndim < 0 || ndim > SDF_MAX_DIMS) return sdf_fail(err, SDF_ERR_SHAPE, "bad rank %d", ndim);
    size_t nb = sdf_dtype_size(dt);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || !sdf_mul_size(nb, (size_t)shape[i], &nb))
            return sdf_fail(err, SDF_ERR_SHAPE, "tensor '%s': bad shape", name);
    wentry *e = push(w, name, err);
    if (!e) return err ? err->code : SDF_ERR_INVALID;
    e->dtype = dt;
    e->ndim = ndim;
    memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
    e->nbytes = nb;
    e->fill = fill;
    e->ctx = ctx;
    return SDF_OK;
}

sdf_status sdf_st_writer_meta(sdf_st_writer *w, const char *key, const char *value, sdf_error *err) {
    if (!w->meta && !(w->meta = cJSON_CreateObject())) return sdf_fail(err, SDF_ERR_NOMEM, "metadata");
    cJSON_DeleteItemFromObjectCaseSensitive(w->meta, key);
    if (!cJSON_AddStringToObject(w->meta, key, value)) return sdf_fail(err, SDF_ERR_NOMEM, "metadata");
    return SDF_OK;
}

static int cmp_wentry(const void *a, const void *b) {
    return strcmp(((const wentry *)a)->name, ((const wentry *)b)->name);
}

sdf_status sdf_st_writer_save(sdf_st_writer *w, const char *path, sdf_error *err) {
    qsort(w->e, w->n, sizeof *w->e, cmp_wentry);
    cJSON *root = cJSON_CreateObject();
    if (!root) return sdf_fail(err, SDF_ERR_NOMEM, "header");
    if (w->meta) cJSON_AddItemToObject(root, "__metadata__", cJSON_Duplicate(w->meta, true));
    size_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        wentry *e = &w->e[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(root, e->name, o);
        cJSON_AddStringToObject(o, "dtype", sdf_dtype_name(e->dtype));
        cJSON *sh = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < e->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)e->shape[d]));
        cJSON *of = cJSON_AddArrayToObject(o, "data_offsets");
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + e->nbytes)));
        off += e->nbytes;
    }
    char *js = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!js) return sdf_fail(err, SDF_ERR_NOMEM, "header");
    size_t jl = strlen(js), pad = (8 - (jl % 8)) % 8; /* data area 8-byte aligned */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        free(js);
        sdf_fail(err, SDF_ERR_IO, "cannot create: %s", strerror(errno));
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    unsigned char len[8];
    uint64_t hl = jl + pad;
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(hl >> (8 * i));
    bool ok = fwrite(len, 1, 8, fp) == 8 && fwrite(js, 1, jl, fp) == jl;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', fp) != EOF;
    free(js);
    sdf_status st = SDF_OK;
    for (size_t i = 0; ok && st == SDF_OK && i < w->n; i++) {
        wentry *e = &w->e[i];
        if (e->tensor) {
            ok = fwrite(e->tensor->data, 1, e->nbytes, fp) == e->nbytes;
        } else if (e->nbytes) {
            void *buf = sdf_malloc(e->nbytes);
            if (!buf) { st = sdf_fail(err, SDF_ERR_NOMEM, "tensor '%s'", e->name); break; }
            st = e->fill(e->ctx, buf, e->nbytes, err);
            if (st == SDF_OK) ok = fwrite(buf, 1, e->nbytes, fp) == e->nbytes;
            sdf_free(buf);
        }
    }
    if (fclose(fp) != 0) ok = false;
    if (st == SDF_OK && !ok) st = sdf_fail(err, SDF_ERR_IO, "write failed: %s", strerror(errno));
    if (st == SDF_OK && rename(tmp, path) != 0)
        st = sdf_fail(err, SDF_ERR_IO, "cannot rename into place: %s", strerror(errno));
    if (st != SDF_OK) {
        unlink(tmp);
        sdf_error_at_file(err, path);
    }
    return st;
}
