/* wstore.h: a named weight store: the tensors of a model under canonical names.
 *
 * Owns:      name -> weight slots. A slot's source is a tensor in an mmap'd safetensors file (zero
 *            copy) or an in-memory tensor (.ckpt reader, patched weights). get_f32 converts a
 *            slot's source to f32 once and keeps that copy (a view when the file is f32); the
 *            UNet, VAE and CLIP read large f16/bf16 matrices with get instead and convert them
 *            at each use (models/nn.h), so no f32 copy of them is made.
 * Overlays:  sdf_wstore_overlay() makes a new store that shares every slot of its base (and so
 *            their f32 copies); sdf_wstore_put() in the overlay replaces a slot there only. This
 *            is the copy-on-write used by LoRA and model merging: the base is never modified.
 * Names:     canonical names are the original single-file checkpoint names with the component
 *            prefix removed, e.g. UNet "input_blocks.0.0.weight", VAE "decoder.conv_in.weight",
 *            CLIP "text_model.encoder.layers.0.mlp.fc1.weight" (see models/model.h).
 * Ownership: stores are refcounted; get/get_f32 return NEW tensor references.
 * Threads:   lookups and get_f32 are thread-safe; put is only for stores not yet shared.
 */
#ifndef SDF_WSTORE_H
#define SDF_WSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "../base/error.h"
#include "../base/threadpool.h"
#include "../io/safetensors.h"
#include "../tensor/tensor.h"

typedef struct sdf_wstore sdf_wstore;

typedef struct sdf_wstore_info {
    const char *name;
    sdf_dtype   dtype; /* stored dtype */
    int         ndim;
    int64_t     shape[SDF_MAX_DIMS];
} sdf_wstore_info;

sdf_wstore *sdf_wstore_new(sdf_error *err);
sdf_wstore *sdf_wstore_retain(sdf_wstore *w);
void        sdf_wstore_release(sdf_wstore *w); /* NULL-safe */

/* Adds every tensor of f whose name starts with strip_prefix, renamed to
 * add_prefix + (name without strip_prefix). Retains f. Later adds replace earlier ones. */
sdf_status sdf_wstore_add_file(sdf_wstore *w, sdf_st_file *f, const char *strip_prefix,
                               const char *add_prefix, sdf_error *err);
/* Adds or replaces one weight (retains t). Used by loaders, key converters and patches. */
sdf_status sdf_wstore_put(sdf_wstore *w, const char *name, sdf_tensor *t, sdf_error *err);
/* Adds or replaces one weight by aliasing a slot of another store under a new name. */
sdf_status sdf_wstore_put_from(sdf_wstore *w, const char *name, sdf_wstore *src,
                               const char *src_name, sdf_error *err);
bool       sdf_wstore_remove(sdf_wstore *w, const char *name);

sdf_wstore *sdf_wstore_overlay(sdf_wstore *base, sdf_error *err);

size_t sdf_wstore_count(const sdf_wstore *w);
/* i-th weight in name order (valid until the store changes). */
bool sdf_wstore_info_at(const sdf_wstore *w, size_t i, sdf_wstore_info *out);
bool sdf_wstore_info_of(const sdf_wstore *w, const char *name, sdf_wstore_info *out);
bool sdf_wstore_has(const sdf_wstore *w, const char *name);
/* Whether name's slot is shared with (is the same object as) the same name in other. */
bool sdf_wstore_same_slot(const sdf_wstore *a, const sdf_wstore *b, const char *name);

/* The weight in its stored dtype (view). NULL + SDF_ERR_NOT_FOUND naming the weight if absent. */
sdf_tensor *sdf_wstore_get(sdf_wstore *w, const char *name, sdf_error *err);
/* The weight as f32, converted once and cached in the slot. */
sdf_tensor *sdf_wstore_get_f32(sdf_wstore *w, const char *name, sdf_error *err);
/* Drops cached f32 copies (memory pressure); they are rebuilt on next use. */
void sdf_wstore_drop_f32(sdf_wstore *w);
/* Bytes of f32 copies this store holds beyond its sources (for cache accounting). */
size_t sdf_wstore_f32_bytes(const sdf_wstore *w);

#endif
