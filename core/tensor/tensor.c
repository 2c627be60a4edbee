#include "tensor.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../base/alloc.h"

static bool shape_bytes(sdf_dtype dt, int ndim, const int64_t *shape, size_t *out, sdf_error *err) {
    if (ndim < 0 || ndim > SDF_MAX_DIMS) {
        sdf_fail(err, SDF_ERR_SHAPE, "tensor rank %d outside 0..%d", ndim, SDF_MAX_DIMS);
        return false;
    }
    if ((unsigned)dt >= SDF_DTYPE_COUNT) {
        sdf_fail(err, SDF_ERR_INVALID, "unknown dtype %d", (int)dt);
        return false;
    }
    size_t n = sdf_dtype_size(dt);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || !sdf_mul_size(n, (size_t)shape[i], &n)) {
            char s[160];
            sdf_shape_str(ndim, shape, s, sizeof s);
            sdf_fail(err, SDF_ERR_SHAPE, "invalid or too large tensor shape %s", s);
            return false;
        }
    }
    *out = n;
    return true;
}

static sdf_tensor *alloc_header(sdf_dtype dt, int ndim, const int64_t *shape, sdf_error *err) {
    sdf_tensor *t = sdf_calloc(1, sizeof *t);
    if (!t) {
        sdf_fail(err, SDF_ERR_NOMEM, "tensor header");
        return NULL;
    }
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    atomic_init(&t->refcount, 1);
    return t;
}

sdf_tensor *sdf_tensor_new(sdf_dtype dt, int ndim, const int64_t *shape, sdf_error *err) {
    size_t nb;
    if (!shape_bytes(dt, ndim, shape, &nb, err)) return NULL;
    sdf_tensor *t = alloc_header(dt, ndim, shape, err);
    if (!t) return NULL;
    t->data = sdf_malloc_aligned(nb ? nb : 1);
    if (!t->data) {
        sdf_free(t);
        char s[160];
        sdf_shape_str(ndim, shape, s, sizeof s);
        sdf_fail(err, SDF_ERR_NOMEM, "cannot allocate %zu bytes for tensor %s", nb, s);
        return NULL;
    }
    t->nbytes = nb;
    return t;
}

sdf_tensor *sdf_tensor_zeros(sdf_dtype dt, int ndim, const int64_t *shape, sdf_error *err) {
    sdf_tensor *t = sdf_tensor_new(dt, ndim, shape, err);
    if (t) memset(t->data, 0, t->nbytes);
    return t;
}

sdf_tensor *sdf_tensor_f32(sdf_error *err, int ndim, ...) {
    int64_t shape[SDF_MAX_DIMS] = {0};
    if (ndim < 0 || ndim > SDF_MAX_DIMS) {
        sdf_fail(err, SDF_ERR_SHAPE, "tensor rank %d outside 0..%d", ndim, SDF_MAX_DIMS);
        return NULL;
    }
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim; i++) shape[i] = va_arg(ap, int64_t);
    va_end(ap);
    return sdf_tensor_zeros(SDF_DTYPE_F32, ndim, shape, err);
}

sdf_tensor *sdf_tensor_wrap(sdf_dtype dt, int ndim, const int64_t *shape, void *data, void *owner,
                            sdf_owner_release_fn owner_release, sdf_error *err) {
    size_t nb;
    if (!shape_bytes(dt, ndim, shape, &nb, err)) return NULL;
    sdf_tensor *t = alloc_header(dt, ndim, shape, err);
    if (!t) return NULL;
    t->data = data;
    t->nbytes = nb;
    t->owner = owner;
    t->owner_release = owner_release;
    return t;
}

static void release_parent(void *p) { sdf_tensor_release(p); }

sdf_tensor *sdf_tensor_reshape(sdf_tensor *t, int ndim, const int64_t *shape, sdf_error *err) {
    size_t nb;
    if (!shape_bytes(t->dtype, ndim, shape, &nb, err)) return NULL;
    if (nb != t->nbytes) {
        char a[160], b[160];
        sdf_tensor_shape_str(t, a, sizeof a);
        sdf_shape_str(ndim, shape, b, sizeof b);
        sdf_fail(err, SDF_ERR_SHAPE, "cannot reshape %s to %s", a, b);
        return NULL;
    }
    sdf_tensor *v = sdf_tensor_wrap(t->dtype, ndim, shape, t->data, t, release_parent, err);
    if (v) sdf_tensor_retain(t);
    return v;
}

sdf_tensor *sdf_tensor_slice0(sdf_tensor *t, int64_t begin, int64_t end, sdf_error *err) {
    if (t->ndim < 1 || begin < 0 || end < begin || end > t->shape[0]) {
        char a[160];
        sdf_tensor_shape_str(t, a, sizeof a);
        sdf_fail(err, SDF_ERR_SHAPE, "slice [%lld,%lld) outside %s", (long long)begin,
                 (long long)end, a);
        return NULL;
    }
    int64_t shape[SDF_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    size_t row = t->shape[0] ? t->nbytes / (size_t)t->shape[0] : 0;
    shape[0] = end - begin;
    sdf_tensor *v = sdf_tensor_wrap(t->dtype, t->ndim, shape, (char *)t->data + row * (size_t)begin,
                                    t, release_parent, err);
    if (v) sdf_tensor_retain(t);
    return v;
}

sdf_tensor *sdf_tensor_retain(sdf_tensor *t) {
    if (t) atomic_fetch_add(&t->refcount, 1);
    return t;
}

void sdf_tensor_release(sdf_tensor *t) {
    if (!t) return;
    int prev = atomic_fetch_sub(&t->refcount, 1);
    SDF_ASSERT(prev > 0);
    if (prev != 1) return;
    if (t->owner || t->owner_release) {
        if (t->owner_release) t->owner_release(t->owner);
    } else {
        sdf_free(t->data);
    }
    sdf_free(t);
}

sdf_tensor *sdf_tensor_clone(const sdf_tensor *t, sdf_error *err) {
    sdf_tensor *c = sdf_tensor_new(t->dtype, t->ndim, t->shape, err);
    if (c) memcpy(c->data, t->data, t->nbytes);
    return c;
}

sdf_tensor *sdf_tensor_to_f32(const sdf_tensor *t, sdf_error *err) {
    sdf_tensor *c = sdf_tensor_new(SDF_DTYPE_F32, t->ndim, t->shape, err);
    if (c) sdf_convert_to_f32(t->dtype, t->data, c->data, (size_t)sdf_tensor_numel(t));
    return c;
}

int64_t sdf_tensor_numel(const sdf_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

bool sdf_tensor_same_shape(const sdf_tensor *a, const sdf_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

void sdf_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap) {
    size_t n = 0;
    if (!cap) return;
    buf[0] = 0;
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

void sdf_tensor_shape_str(const sdf_tensor *t, char *buf, size_t cap) {
    sdf_shape_str(t->ndim, t->shape, buf, cap);
    size_t n = strlen(buf);
    if (n < cap) snprintf(buf + n, cap - n, " %s", sdf_dtype_name(t->dtype));
}
