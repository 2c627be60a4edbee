#include "dtype.h"

#include <cpuid.h>
#include <immintrin.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "../base/error.h"

static const char *const names[] = {"F32", "F16", "BF16", "F64", "I64", "I32",
                                    "I16", "I8",  "U8",   "BOOL", "F8_E4M3", "F8_E5M2"};
static const size_t sizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1, 1, 1};
_Static_assert(SDF_COUNTOF(names) == SDF_DTYPE_COUNT, "dtype names drift");
_Static_assert(SDF_COUNTOF(sizes) == SDF_DTYPE_COUNT, "dtype sizes drift");

const char *sdf_dtype_name(sdf_dtype t) { return (unsigned)t < SDF_DTYPE_COUNT ? names[t] : "?"; }
size_t sdf_dtype_size(sdf_dtype t) { return (unsigned)t < SDF_DTYPE_COUNT ? sizes[t] : 0; }

int sdf_dtype_from_name(const char *name) {
    for (int i = 0; i < SDF_DTYPE_COUNT; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

float sdf_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0) {
        if (man == 0) return bits_f32(sign);
        float v = ldexpf((float)man, -24); /* subnormal */
        return sign ? -v : v;
    }
    if (exp == 31) return bits_f32(sign | 0x7f800000u | (man << 13));
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t sdf_f32_to_f16(float f) {
    uint32_t x = f32_bits(f), sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to >= 65520: inf */
    if (ax < 0x38800000u) { /* result subnormal or zero: scale so rounding happens in f32 */
        float v = bits_f32(ax) * 16777216.0f; /* 2^24: units of the smallest f16 subnormal */
        uint32_t r = (uint32_t)lrintf(v);      /* round half to even (default mode) */
        return (uint16_t)(sign | r);
    }
    uint32_t e = (ax >> 23) - 112, m = ax & 0x7fffff;
    uint32_t v = (e << 10) | (m >> 13);
    uint32_t rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (v & 1))) v++;
    return (uint16_t)(sign | v);
}

float sdf_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t sdf_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

float sdf_f8e4m3_to_f32(uint8_t v) { /* e4m3fn: bias 7, no inf, 0x7f/0xff = NaN */
    int s = v >> 7, e = (v >> 3) & 15, m = v & 7;
    float r;
    if (e == 15 && m == 7) return NAN;
    if (e == 0) r = ldexpf((float)m, -9);
    else r = ldexpf((float)(8 + m), e - 10);
    return s ? -r : r;
}

float sdf_f8e5m2_to_f32(uint8_t v) { /* the top byte of an f16 */
    return sdf_f16_to_f32((uint16_t)((uint16_t)v << 8));
}

/* F16C converts 8 halves per instruction, exactly (every f16 is an f32); checked at run time. */
__attribute__((target("avx,f16c"))) static size_t f16_to_f32_f16c(const unsigned char *p, float *dst,
                                                                   size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(p + 2 * i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    return i;
}

/* F16C and AVX present and enabled by the OS (CPUID leaf 1: OSXSAVE, AVX, F16C; XCR0 YMM state).
 * Written with cpuid.h because clang's __builtin_cpu_supports does not know "f16c". */
static bool cpu_has_f16c(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    if (!(c & (1u << 27)) || !(c & (1u << 28)) || !(c & (1u << 29))) return false;
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6u) == 6u;
}

static size_t bf16_to_f32_wide(const unsigned char *p, float *dst, size_t n) {
    /* a shift into the high half; written so the compiler vectorises it */
    uint32_t *d = (uint32_t *)(void *)dst;
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        d[i] = (uint32_t)h << 16;
    }
    return n;
}

void sdf_convert_to_f32(sdf_dtype t, const void *src, float *dst, size_t n) {
    const unsigned char *p = src;
    size_t done = 0;
    switch (t) {
    case SDF_DTYPE_F32: memcpy(dst, src, n * 4); break;
    case SDF_DTYPE_F16:
        if (cpu_has_f16c()) done = f16_to_f32_f16c(p, dst, n);
        for (size_t i = done; i < n; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); dst[i] = sdf_f16_to_f32(h); }
        break;
    case SDF_DTYPE_BF16: bf16_to_f32_wide(p, dst, n); break;
    case SDF_DTYPE_F64:
        for (size_t i = 0; i < n; i++) { double d; memcpy(&d, p + 8 * i, 8); dst[i] = (float)d; }
        break;
    case SDF_DTYPE_I64:
        for (size_t i = 0; i < n; i++) { int64_t d; memcpy(&d, p + 8 * i, 8); dst[i] = (float)d; }
        break;
    case SDF_DTYPE_I32:
        for (size_t i = 0; i < n; i++) { int32_t d; memcpy(&d, p + 4 * i, 4); dst[i] = (float)d; }
        break;
    case SDF_DTYPE_I16:
        for (size_t i = 0; i < n; i++) { int16_t d; memcpy(&d, p + 2 * i, 2); dst[i] = (float)d; }
        break;
    case SDF_DTYPE_I8: for (size_t i = 0; i < n; i++) dst[i] = (float)(int8_t)p[i]; break;
    case SDF_DTYPE_U8: for (size_t i = 0; i < n; i++) dst[i] = (float)p[i]; break;
    case SDF_DTYPE_BOOL: for (size_t i = 0; i < n; i++) dst[i] = p[i] ? 1.0f : 0.0f; break;
    case SDF_DTYPE_F8_E4M3: for (size_t i = 0; i < n; i++) dst[i] = sdf_f8e4m3_to_f32(p[i]); break;
    case SDF_DTYPE_F8_E5M2: for (size_t i = 0; i < n; i++) dst[i] = sdf_f8e5m2_to_f32(p[i]); break;
    default: memset(dst, 0, n * 4); break;
    }
}
