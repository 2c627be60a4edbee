/* vmath.h: vectorised element-wise maths behind the kernels (module-private to core/kernels).
 * sdf_vm_* pick the AVX-512 body when the CPU has it, else a scalar loop with libm; both are
 * checked against the double-precision references in tests/test_kernels.c.
 * Threads: pure functions. */
#ifndef SDF_VMATH_H
#define SDF_VMATH_H

#include <stdbool.h>
#include <stdint.h>

bool sdf_k_have_avx512(void);

void  sdf_vm_silu(float *y, const float *x, int64_t n);
void  sdf_vm_gelu(float *y, const float *x, int64_t n);
void  sdf_vm_geglu(float *y, const float *a, const float *g, int64_t n); /* a * gelu(g) */
void  sdf_vm_exp(float *y, const float *x, int64_t n);
float sdf_vm_max(const float *x, int64_t n);
float sdf_vm_expsum(float *x, int64_t n, float sub); /* x = exp(x - sub), returns the sum */

void  sdf_vm_silu_avx512(float *y, const float *x, int64_t n);
void  sdf_vm_gelu_avx512(float *y, const float *x, int64_t n);
void  sdf_vm_geglu_avx512(float *y, const float *a, const float *g, int64_t n);
void  sdf_vm_exp_avx512(float *y, const float *x, int64_t n);
float sdf_vm_max_avx512(const float *x, int64_t n);
float sdf_vm_expsum_avx512(float *x, int64_t n, float sub);

#endif
