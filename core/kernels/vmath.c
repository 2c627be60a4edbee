/* vmath.c: dispatch for vmath.h (AVX-512 when present, scalar libm otherwise). */
#include "vmath.h"

#include <math.h>

bool sdf_k_have_avx512(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}

void sdf_vm_silu(float *y, const float *x, int64_t n) {
    if (sdf_k_have_avx512()) {
        sdf_vm_silu_avx512(y, x, n);
        return;
    }
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
}

void sdf_vm_gelu(float *y, const float *x, int64_t n) {
    if (sdf_k_have_avx512()) {
        sdf_vm_gelu_avx512(y, x, n);
        return;
    }
    for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void sdf_vm_geglu(float *y, const float *a, const float *g, int64_t n) {
    if (sdf_k_have_avx512()) {
        sdf_vm_geglu_avx512(y, a, g, n);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] * (0.5f * g[i] * (1.0f + erff(g[i] * 0.70710678118654752f)));
}

void sdf_vm_exp(float *y, const float *x, int64_t n) {
    if (sdf_k_have_avx512()) {
        sdf_vm_exp_avx512(y, x, n);
        return;
    }
    for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

float sdf_vm_max(const float *x, int64_t n) {
    if (sdf_k_have_avx512()) return sdf_vm_max_avx512(x, n);
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (x[i] > m) m = x[i];
    return m;
}

float sdf_vm_expsum(float *x, int64_t n, float sub) {
    if (sdf_k_have_avx512()) return sdf_vm_expsum_avx512(x, n, sub);
    float s = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - sub);
        s += x[i];
    }
    return s;
}
