/* dtype.h: element types of tensors and files, and scalar conversions to/from f32.
 *
 * Owns:      sdf_dtype, its names ("F32" as safetensors spells them) and sizes; f16, bf16 and
 *            fp8 (e4m3fn, e5m2) conversions, exact and round-to-nearest-even as torch does.
 * Threads:   pure functions.
 */
#ifndef SDF_DTYPE_H
#define SDF_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum sdf_dtype {
    SDF_DTYPE_F32,
    SDF_DTYPE_F16,
    SDF_DTYPE_BF16,
    SDF_DTYPE_F64,
    SDF_DTYPE_I64,
    SDF_DTYPE_I32,
    SDF_DTYPE_I16,
    SDF_DTYPE_I8,
    SDF_DTYPE_U8,
    SDF_DTYPE_BOOL,
    SDF_DTYPE_F8_E4M3,
    SDF_DTYPE_F8_E5M2,
    SDF_DTYPE_COUNT
} sdf_dtype;

const char *sdf_dtype_name(sdf_dtype t);          /* safetensors spelling: "F32", "BF16", ... */
int         sdf_dtype_from_name(const char *name); /* -1 when unknown */
size_t      sdf_dtype_size(sdf_dtype t);           /* bytes per element */

float    sdf_f16_to_f32(uint16_t h);
uint16_t sdf_f32_to_f16(float f);  /* round to nearest even, overflow to inf */
float    sdf_bf16_to_f32(uint16_t h);
uint16_t sdf_f32_to_bf16(float f); /* round to nearest even; NaN stays NaN */
float    sdf_f8e4m3_to_f32(uint8_t v);
float    sdf_f8e5m2_to_f32(uint8_t v);

/* Converts n elements of type t at src to f32 at dst (any supported dtype). */
void sdf_convert_to_f32(sdf_dtype t, const void *src, float *dst, size_t n);

#endif
