/* vmath_avx512.c: AVX-512 element-wise maths (exp, SiLU, exact-erf GELU, GEGLU, row max / sum of
 * exp) for the kernels in eltwise.c, norm.c and attention.c. Compiled with AVX-512 flags; callers
 * check sdf_k_have_avx512() first. Accuracy: exp within 2 ulp (Cody-Waite reduction, degree-6
 * polynomial), erf within 1.5e-7 absolute (rational/exponential form, A&S 7.1.26 refined with a
 * second-order term below); tests/test_kernels.c checks them against the scalar references. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "../vmath.h"

static inline __m512 exp512(__m512 x) {
    const __m512 hi = _mm512_set1_ps(88.7228391f), lo = _mm512_set1_ps(-87.33654f);
    __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ); /* also -inf: result 0 */
    __mmask16 over = _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ);
    x = _mm512_max_ps(_mm512_min_ps(x, hi), lo);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500E-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
    __m512 r2 = _mm512_mul_ps(r, r);
    p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    /* scale by 2^n; scalef handles the exponent range */
    __m512 y = _mm512_scalef_ps(p, n);
    y = _mm512_mask_mov_ps(y, over, _mm512_set1_ps(INFINITY));
    return _mm512_mask_mov_ps(y, under, _mm512_setzero_ps());
}

static inline __m512 silu512(__m512 x) {
    __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

/* erf(x) for the GELU: odd; |x| < 0.84: Taylor-like minimax odd polynomial; else
 * 1 - exp(-x^2) * poly(t), t = 1/(1 + p|x|) (A&S 7.1.26 coefficients). */
static inline __m512 erf512(__m512 x) {
    __m512 ax = _mm512_abs_ps(x);
    /* large branch */
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f),
                             _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, _mm512_set1_ps(1.0f)));
    __m512 q = _mm512_set1_ps(1.061405429f);
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-1.453152027f));
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(1.421413741f));
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-0.284496736f));
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(0.254829592f));
    q = _mm512_mul_ps(q, t);
    __m512 e = exp512(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), ax), ax));
    __m512 big = _mm512_fnmadd_ps(q, e, _mm512_set1_ps(1.0f));
    /* small branch: erf(x) = x * (c0 + c1 x^2 + ... ) (Taylor to x^13, error < 1e-8 at 0.84) */
    __m512 z = _mm512_mul_ps(ax, ax);
    __m512 s = _mm512_set1_ps(-1.0f / 75600.0f * 1.1283791670955126f);
    s = _mm512_fmadd_ps(s, z, _mm512_set1_ps(1.0f / 9360.0f * 1.1283791670955126f));
    s = _mm512_fmadd_ps(s, z, _mm512_set1_ps(-1.0f / 1320.0f * 1.1283791670955126f));
    s = _mm512_fmadd_ps(s, z, _mm512_set1_ps(1.0f / 216.0f * 1.1283791670955126f));
    s = _mm512_fmadd_ps(s, z, _mm512_set1_ps(-1.0f / 42.0f * 1.1283791670955126f));
    s = _mm512_fmadd_ps(s, z, _mm512_set1_ps(1.0f / 10.0f * 1.1283791670955126f));
    s = _mm512_fmadd_ps(s, z, _mm512_set1_ps(-1.0f / 3.0f * 1.1283791670955126f));
    s = _mm512_fmadd_ps(s, z, _mm512_set1_ps(1.1283791670955126f));
    __m512 small = _mm512_mul_ps(s, ax);
    __mmask16 m = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.84f), _CMP_LT_OQ);
    __m512 r = _mm512_mask_mov_ps(big, m, small);
    /* restore the sign */
    return _mm512_or_ps(r, _mm512_and_ps(x, _mm512_set1_ps(-0.0f)));
}

static inline __m512 gelu512(__m512 x) {
    __m512 e = erf512(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x),
                         _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

#define LOOP(n, body_vec, body_tail)                                                      \
    int64_t i = 0;                                                                        \
    for (; i + 16 <= (n); i += 16) { body_vec }               \
    if (i < (n)) { const __mmask16 m = (__mmask16)((1u << ((n) - i)) - 1u); body_tail }

void sdf_vm_silu_avx512(float *y, const float *x, int64_t n) {
    LOOP(n, _mm512_storeu_ps(y + i, silu512(_mm512_loadu_ps(x + i)));,
         _mm512_mask_storeu_ps(y + i, m, silu512(_mm512_maskz_loadu_ps(m, x + i)));)
}

void sdf_vm_gelu_avx512(float *y, const float *x, int64_t n) {
    LOOP(n, _mm512_storeu_ps(y + i, gelu512(_mm512_loadu_ps(x + i)));,
         _mm512_mask_storeu_ps(y + i, m, gelu512(_mm512_maskz_loadu_ps(m, x + i)));)
}

void sdf_vm_geglu_avx512(float *y, const float *a, const float *g, int64_t n) {
    LOOP(n,
         _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(a + i),
                                               gelu512(_mm512_loadu_ps(g + i))));,
         _mm512_mask_storeu_ps(y + i, m,
                               _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + i),
                                             gelu512(_mm512_maskz_loadu_ps(m, g + i))));)
}

float sdf_vm_max_avx512(const float *x, int64_t n) {
    __m512 acc = _mm512_set1_ps(-INFINITY);
    LOOP(n, acc = _mm512_max_ps(acc, _mm512_loadu_ps(x + i));,
         acc = _mm512_mask_max_ps(acc, m, acc, _mm512_maskz_loadu_ps(m, x + i));)
    return _mm512_reduce_max_ps(acc);
}

/* x[i] = exp(x[i] - sub); returns the sum (16 lanes, fixed order). */
float sdf_vm_expsum_avx512(float *x, int64_t n, float sub) {
    __m512 acc = _mm512_setzero_ps(), s = _mm512_set1_ps(sub);
    LOOP(n,
         {
             __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), s));
             _mm512_storeu_ps(x + i, e);
             acc = _mm512_add_ps(acc, e);
         },
         {
             __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), s));
             _mm512_mask_storeu_ps(x + i, m, e);
             acc = _mm512_mask_add_ps(acc, m, acc, e);
         })
    return _mm512_reduce_add_ps(acc);
}

void sdf_vm_exp_avx512(float *y, const float *x, int64_t n) {
    LOOP(n, _mm512_storeu_ps(y + i, exp512(_mm512_loadu_ps(x + i)));,
         _mm512_mask_storeu_ps(y + i, m, exp512(_mm512_maskz_loadu_ps(m, x + i)));)
}
