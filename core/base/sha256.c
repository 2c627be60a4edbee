#include "sha256.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define SDF_HAVE_SHANI_CODE 1
#endif

#include "alloc.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress(uint32_t s[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

#ifdef SDF_HAVE_SHANI_CODE
/* SHA-NI: the state is kept as the two halves the instructions want, (A,B,E,F) and (C,D,G,H);
 * each sha256rnds2 does two rounds, msg1/msg2 extend the message schedule four words at a time. */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_shani(uint32_t s[8],
                                                                        const uint8_t *p,
                                                                        size_t n_blocks) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i t = _mm_loadu_si128((const __m128i *)&s[0]);   /* D C B A (high..low) */
    __m128i st1 = _mm_loadu_si128((const __m128i *)&s[4]); /* H G F E */
    t = _mm_shuffle_epi32(t, 0xB1);                        /* C D A B */
    st1 = _mm_shuffle_epi32(st1, 0x1B);                    /* E F G H */
    __m128i st0 = _mm_alignr_epi8(t, st1, 8);              /* A B E F */
    st1 = _mm_blend_epi16(st1, t, 0xF0);                   /* C D G H */
    for (; n_blocks; n_blocks--, p += 64) {
        __m128i save0 = st0, save1 = st1, m[4];
        for (int j = 0; j < 4; j++)
            m[j] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * j)), bswap);
        for (int i = 0; i < 16; i++) {
            if (i >= 4) { /* W[t..t+3] from W[t-16..t-1], t = 4i */
                __m128i w7 = _mm_alignr_epi8(m[(i + 3) & 3], m[(i + 2) & 3], 4);
                __m128i w = _mm_add_epi32(_mm_sha256msg1_epu32(m[i & 3], m[(i + 1) & 3]), w7);
                m[i & 3] = _mm_sha256msg2_epu32(w, m[(i + 3) & 3]);
            }
            __m128i msg = _mm_add_epi32(m[i & 3], _mm_loadu_si128((const __m128i *)&K[4 * i]));
            st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
            st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(msg, 0x0E));
        }
        st0 = _mm_add_epi32(st0, save0);
        st1 = _mm_add_epi32(st1, save1);
    }
    t = _mm_shuffle_epi32(st0, 0x1B);       /* F E B A */
    st1 = _mm_shuffle_epi32(st1, 0xB1);     /* D C H G */
    st0 = _mm_blend_epi16(t, st1, 0xF0);    /* D C B A */
    st1 = _mm_alignr_epi8(st1, t, 8);       /* H G F E */
    _mm_storeu_si128((__m128i *)&s[0], st0);
    _mm_storeu_si128((__m128i *)&s[4], st1);
}

static int cpu_has_shani(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3)) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 29) & 1; /* CPUID.7.0:EBX.SHA */
}
#endif

static void compress_blocks(sdf_sha256 *c, const uint8_t *p, size_t n_blocks) {
#ifdef SDF_HAVE_SHANI_CODE
    if (c->use_shani) {
        compress_shani(c->state, p, n_blocks);
        return;
    }
#endif
    for (; n_blocks; n_blocks--, p += 64) compress(c->state, p);
}

void sdf_sha256_init_scalar(sdf_sha256 *c) {
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->state, iv, sizeof iv);
    c->n_bytes = 0;
    c->n_buf = 0;
    c->use_shani = 0;
}

void sdf_sha256_init(sdf_sha256 *c) {
    sdf_sha256_init_scalar(c);
#ifdef SDF_HAVE_SHANI_CODE
    c->use_shani = cpu_has_shani();
#endif
}

void sdf_sha256_update(sdf_sha256 *c, const void *data, size_t n) {
    const uint8_t *p = data;
    c->n_bytes += n;
    if (c->n_buf) {
        size_t take = 64 - c->n_buf < n ? 64 - c->n_buf : n;
        memcpy(c->buf + c->n_buf, p, take);
        c->n_buf += take; p += take; n -= take;
        if (c->n_buf == 64) { compress_blocks(c, c->buf, 1); c->n_buf = 0; }
    }
    if (n >= 64) {
        compress_blocks(c, p, n / 64);
        p += n / 64 * 64;
        n %= 64;
    }
    if (n) { memcpy(c->buf, p, n); c->n_buf = n; }
}

void sdf_sha256_final(sdf_sha256 *c, uint8_t out[32]) {
    uint64_t bits = c->n_bytes * 8;
    uint8_t pad = 0x80;
    sdf_sha256_update(c, &pad, 1);
    uint8_t zero = 0;
    while (c->n_buf != 56) sdf_sha256_update(c, &zero, 1);
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
    sdf_sha256_update(c, len, 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->state[i] >> 24); out[4 * i + 1] = (uint8_t)(c->state[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->state[i] >> 8); out[4 * i + 3] = (uint8_t)c->state[i];
    }
}

void sdf_sha256_buf(const void *data, size_t n, uint8_t out[32]) {
    sdf_sha256 c;
    sdf_sha256_init(&c);
    sdf_sha256_update(&c, data, n);
    sdf_sha256_final(&c, out);
}

void sdf_sha256_hex(const uint8_t d[32], char out[65]) {
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) { out[2 * i] = hx[d[i] >> 4]; out[2 * i + 1] = hx[d[i] & 15]; }
    out[64] = 0;
}

sdf_status sdf_sha256_file(const char *path, char hex_out[65], sdf_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        sdf_fail(err, SDF_ERR_IO, "cannot open: %s", strerror(errno));
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = sdf_malloc(CHUNK);
    if (!buf) {
        fclose(f);
        return sdf_fail(err, SDF_ERR_NOMEM, "no memory to hash %s", path);
    }
    sdf_sha256 c;
    sdf_sha256_init(&c);
    size_t n;
    while ((n = fread(buf, 1, CHUNK, f)) > 0) sdf_sha256_update(&c, buf, n);
    int bad = ferror(f);
    fclose(f);
    sdf_free(buf);
    if (bad) {
        sdf_fail(err, SDF_ERR_IO, "read error while hashing");
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    uint8_t d[32];
    sdf_sha256_final(&c, d);
    sdf_sha256_hex(d, hex_out);
    return SDF_OK;
}
