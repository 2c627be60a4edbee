/* tensor.h: n-d tensors with refcounted storage.
 *
 * Owns:       sdf_tensor: dtype, shape, and a contiguous row-major buffer.
 * Layout:     shape[] is outermost-first like PyTorch ([N,C,H,W]; IMAGE is [B,H,W,C]). Data is
 *             always contiguous (no strides): a slice that is not contiguous is a copy.
 * Storage:    either owned heap memory (sdf_tensor_new*), or borrowed memory kept alive by an
 *             owner reference (sdf_tensor_wrap: an mmap'd file, or a parent tensor for a view).
 * Ownership:  *_new / *_wrap / *_clone / *_to_f32 return a NEW reference (refcount 1). Every other
 *             pointer argument is BORROWED. A function that keeps a tensor retains it and says so.
 *             A tensor published as a node output or to the cache is immutable.
 * Threads:    retain/release are atomic.
 */
#ifndef SDF_TENSOR_H
#define SDF_TENSOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"
#include "dtype.h"

#define SDF_MAX_DIMS 8

typedef void (*sdf_owner_release_fn)(void *owner);

typedef struct sdf_tensor {
    sdf_dtype  dtype;
    int        ndim;
    int64_t    shape[SDF_MAX_DIMS];
    void      *data;   /* contiguous, row-major; 64-byte aligned when heap-owned */
    size_t     nbytes;
    atomic_int refcount;
    void                *owner;         /* NULL: data is heap memory owned by this tensor */
    sdf_owner_release_fn owner_release; /* called once with owner when the tensor dies */
} sdf_tensor;

/* Uninitialised (new) or zero-filled (zeros) heap tensor. NULL + err on bad shape/overflow/OOM. */
sdf_tensor *sdf_tensor_new(sdf_dtype dt, int ndim, const int64_t *shape, sdf_error *err);
sdf_tensor *sdf_tensor_zeros(sdf_dtype dt, int ndim, const int64_t *shape, sdf_error *err);
/* Shorthands for f32: sdf_tensor_f32(err, 4, n, c, h, w) (zero-filled). */
sdf_tensor *sdf_tensor_f32(sdf_error *err, int ndim, ...);
/* Borrowed data kept alive by owner; owner_release(owner) runs when the tensor dies (may be NULL
 * when data outlives the tensor by other means). */
sdf_tensor *sdf_tensor_wrap(sdf_dtype dt, int ndim, const int64_t *shape, void *data, void *owner,
                            sdf_owner_release_fn owner_release, sdf_error *err);
/* A view sharing t's data: same bytes, another shape with the same element count (reshape),
 * or a contiguous range of the outermost dimension (slice). Retains t. */
sdf_tensor *sdf_tensor_reshape(sdf_tensor *t, int ndim, const int64_t *shape, sdf_error *err);
sdf_tensor *sdf_tensor_slice0(sdf_tensor *t, int64_t begin, int64_t end, sdf_error *err);

sdf_tensor *sdf_tensor_retain(sdf_tensor *t); /* returns t; NULL-safe */
void        sdf_tensor_release(sdf_tensor *t); /* NULL-safe */

sdf_tensor *sdf_tensor_clone(const sdf_tensor *t, sdf_error *err);  /* deep copy, same dtype */
sdf_tensor *sdf_tensor_to_f32(const sdf_tensor *t, sdf_error *err); /* converted copy */

int64_t sdf_tensor_numel(const sdf_tensor *t);
bool    sdf_tensor_same_shape(const sdf_tensor *a, const sdf_tensor *b);
static inline float *sdf_tensor_f32p(const sdf_tensor *t) { return (float *)t->data; }
/* "[2,4,64,64] F32" */
void sdf_tensor_shape_str(const sdf_tensor *t, char *buf, size_t cap);
void sdf_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap);

#endif
