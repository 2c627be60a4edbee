/* valuefile.h: node output values <-> safetensors (the disk cache and --save-intermediates).
 *
 * Owns:      the tensor naming of issue 2 §9: IMAGE "image" [B,H,W,C] f32, MASK "mask",
 *            LATENT "samples" (+ "noise_mask"), CONDITIONING "cond.<i>" and "pooled.<i>" (+
 *            "mask.<i>") per entry, SIGMAS "sigmas"; every name behind an optional prefix. The
 *            value's type, a latent's batch_index and conditioning options (area, strength,
 *            timestep range) go into __metadata__ under "<prefix>type", "<prefix>batch_index",
 *            "<prefix>cond" so a value read back equals the value written.
 * Ownership: add retains tensors in the writer; read returns a NEW value whose tensors view
 *            the (mmap'd) file.
 * Threads:   no shared state.
 */
#ifndef SDF_VALUEFILE_H
#define SDF_VALUEFILE_H

#include <stdbool.h>

#include "../graph/value.h"
#include "../io/safetensors.h"

/* Values made only of tensors (IMAGE, MASK, LATENT, CONDITIONING, SIGMAS). */
bool sdf_value_is_storable(const sdf_value *v);

sdf_status sdf_valuefile_add(sdf_st_writer *w, const char *prefix, const sdf_value *v,
                             sdf_error *err);
sdf_status sdf_valuefile_read(sdf_st_file *f, const char *prefix, sdf_value **out,
                              sdf_error *err);

#endif
