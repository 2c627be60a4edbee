/* make_model.h: random-weight Stable Diffusion checkpoints in the original single-file layout.
 *
 * Owns:      the full key/shape lists of SD1.5, SD1.5-inpainting, SD2.1 (512 eps and 768 v) and
 *            the tiny reference architecture, generated from the architecture description (they
 *            equal ../shared/reference/sd15-keys.tsv / sd21-keys.tsv and tiny-sd1's keys), and
 *            a streaming writer of seeded random weights: fan-in scaled (std 1/sqrt(fan_in)) so
 *            activations stay O(1), nonzero biases and norm parameters, the real DDPM buffers,
 *            position_ids 0..76, and for sd21-v a norm1.bias spread of output_blocks.11 above
 *            0.09 (below for sd21) so ComfyUI's v-prediction rule decides (decisions.md).
 *            Every tensor's values depend only on (seed, name), so files are reproducible.
 * Memory:    one tensor at a time (the largest is the token embedding).
 * Threads:   reentrant; generation runs on the caller's thread.
 */
#ifndef SDF_MAKE_MODEL_H
#define SDF_MAKE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"
#include "../tensor/dtype.h"
#include "../tensor/tensor.h"

typedef enum sdf_mm_arch {
    SDF_MM_SD15,
    SDF_MM_SD15_INPAINT,
    SDF_MM_SD21,
    SDF_MM_SD21_V,
    SDF_MM_TINY,
    SDF_MM_ARCH_COUNT
} sdf_mm_arch;

typedef struct sdf_mm_key {
    char      name[128];
    sdf_dtype dtype; /* F32 for floats (the file dtype is chosen at write time), I64 ids */
    int       ndim;
    int64_t   shape[4];
} sdf_mm_key;

/* "sd15", "sd15-inpaint", "sd21", "sd21-v", "tiny" -> arch; -1 when unknown. */
int         sdf_mm_arch_from_name(const char *name);
const char *sdf_mm_arch_name(sdf_mm_arch a);

/* Every tensor of the architecture (unsorted). *keys is sdf_malloc'd; free with sdf_free. */
sdf_status sdf_mm_keys(sdf_mm_arch a, sdf_mm_key **keys, size_t *n, sdf_error *err);

/* The f32 values make-model writes for one float tensor of the architecture (n = its element
 * count). For tests and tools that build partial files. */
sdf_status sdf_mm_tensor_values(sdf_mm_arch a, uint64_t seed, const char *name, float *out,
                                size_t n, sdf_error *err);

/* Writes the checkpoint (float tensors as dt: F16 or F32). */
sdf_status sdf_make_model(sdf_mm_arch a, uint64_t seed, sdf_dtype dt, const char *path,
                          sdf_error *err);

#endif
