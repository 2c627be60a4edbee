/* value.h: the values that flow along workflow links (ComfyUI's runtime types).
 *
 * Owns:      sdf_value, a refcounted tagged union; sdf_latent and sdf_conditioning payloads.
 * Types:     INT (int64, or uint64 above INT64_MAX for seeds), FLOAT (double), STRING (also
 *            COMBO choices), BOOLEAN, IMAGE [B,H,W,C] f32 0..1, MASK [B,H,W] f32, LATENT,
 *            CONDITIONING, and opaque handles (MODEL, CLIP, VAE, ...) with a small vtable.
 * Ownership: constructors RETAIN the tensors they are given (arguments are borrowed) and return a
 *            NEW value (refcount 1). sdf_value_release frees the payload with the last reference.
 *            A value published as a node output is immutable: copy before modifying.
 * Threads:   retain/release are atomic.
 */
#ifndef SDF_VALUE_H
#define SDF_VALUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"
#include "../tensor/tensor.h"

typedef enum sdf_vtype {
    SDF_VT_INT,
    SDF_VT_FLOAT,
    SDF_VT_STRING,
    SDF_VT_BOOLEAN,
    SDF_VT_COMBO, /* an input kind; its values are STRING */
    SDF_VT_IMAGE,
    SDF_VT_MASK,
    SDF_VT_LATENT,
    SDF_VT_CONDITIONING,
    SDF_VT_MODEL,
    SDF_VT_CLIP,
    SDF_VT_VAE,
    SDF_VT_CLIP_VISION,
    SDF_VT_CONTROL_NET,
    SDF_VT_UPSCALE_MODEL,
    SDF_VT_SIGMAS,
    SDF_VT_COUNT
} sdf_vtype;

const char *sdf_vtype_name(sdf_vtype t); /* ComfyUI spelling: "INT", "LATENT", ... */
int         sdf_vtype_from_name(const char *name); /* -1 when unknown */

typedef struct sdf_latent {
    sdf_tensor *samples;     /* [B,C,h,w] f32, unscaled VAE latent */
    sdf_tensor *noise_mask;  /* optional: [B?,1?,H',W'] f32, or NULL */
    int64_t    *batch_index; /* optional seed offsets, or NULL */
    int         n_batch_index;
} sdf_latent;

/* One conditioning entry: ComfyUI's [cond_tensor, options] pair. */
typedef struct sdf_cond_entry {
    sdf_tensor *cond;   /* [1,T,D] f32 */
    sdf_tensor *pooled; /* [1,D'] f32 or NULL */
    /* area (ConditioningSetArea*): h, w, y, x; latent units, or fractions when percentage */
    bool   has_area;
    bool   area_percentage;
    double area[4];
    bool   has_strength;
    double strength;            /* default 1.0 */
    sdf_tensor *mask;           /* [1,H,W] or NULL */
    double      mask_strength;  /* default 1.0 */
    bool        set_area_to_bounds;
    bool        has_timestep_range;
    double      start_percent, end_percent; /* default 0, 1 */
} sdf_cond_entry;

typedef struct sdf_conditioning {
    int             n;
    sdf_cond_entry *e;
} sdf_conditioning;

/* Opaque handle payloads (MODEL, CLIP, VAE, ...): the owning module supplies the vtable. */
typedef struct sdf_handle_type {
    const char *name;
    void (*release)(void *obj);           /* drop the reference the value holds */
    size_t (*bytes)(const void *obj);     /* memory attributable to this value (may be NULL) */
} sdf_handle_type;

typedef struct sdf_value {
    atomic_int refcount;
    sdf_vtype  type;
    union {
        struct {
            int64_t i;
            bool    is_u64; /* value is (uint64_t)i, above INT64_MAX */
        } integer;
        double           f;
        bool             b;
        char            *s;
        sdf_tensor      *tensor; /* IMAGE, MASK, SIGMAS */
        sdf_latent       latent;
        sdf_conditioning cond;
        struct {
            void                  *obj;
            const sdf_handle_type *ht;
        } handle;
    } u;
} sdf_value;

sdf_value *sdf_value_int(int64_t v);
sdf_value *sdf_value_u64(uint64_t v);
sdf_value *sdf_value_float(double v);
sdf_value *sdf_value_bool(bool v);
sdf_value *sdf_value_string(const char *s);
sdf_value *sdf_value_tensor(sdf_vtype type, sdf_tensor *t); /* IMAGE, MASK, SIGMAS; retains t */
/* LATENT; retains samples and noise_mask (may be NULL); copies batch_index. */
sdf_value *sdf_value_latent(sdf_tensor *samples, sdf_tensor *noise_mask, const int64_t *batch_index,
                            int n_batch_index);
/* CONDITIONING with n zeroed entries (strength/mask_strength 1, end_percent 1) for the caller to
 * fill while the value is still private; tensors put in entries are owned by the value. */
sdf_value *sdf_value_conditioning(int n);
/* Deep-copies entries (retaining their tensors) of src into a new value with room for extra. */
sdf_value *sdf_value_conditioning_copy(const sdf_conditioning *src, int extra);
/* Takes over the caller's reference to obj. */
sdf_value *sdf_value_handle(sdf_vtype type, void *obj, const sdf_handle_type *ht);

sdf_value *sdf_value_retain(sdf_value *v);  /* NULL-safe */
void       sdf_value_release(sdf_value *v); /* NULL-safe */
size_t     sdf_value_bytes(const sdf_value *v); /* tensor payload bytes, for cache budgets */
/* Short human description: "LATENT [1,4,64,64]". */
void sdf_value_describe(const sdf_value *v, char *buf, size_t cap);

#endif
