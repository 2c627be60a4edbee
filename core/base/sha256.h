/* sha256.h: SHA-256 (FIPS 180-4), streaming and whole-file.
 *
 * Owns:      sdf_sha256 context; hex formatting. Used for workflow hashes, file identities
 *            (checkpoints, LoRAs, images) and cache keys.
 * Kernels:   a portable scalar compression function (the reference) and one using the x86 SHA
 *            extensions (SHA-NI), chosen per context at init from the CPU's features; a multi-GB
 *            checkpoint is hashed at about 1.5-2 GB/s instead of 0.25.
 * Threads:   contexts are independent; no shared state.
 */
#ifndef SDF_SHA256_H
#define SDF_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct sdf_sha256 {
    uint32_t state[8];
    uint64_t n_bytes;
    uint8_t  buf[64];
    size_t   n_buf;
    int      use_shani; /* 1: SHA-NI compression (set by init when the CPU has it) */
} sdf_sha256;

void sdf_sha256_init(sdf_sha256 *c);
/* As init, always with the scalar reference compression (tests compare the two). */
void sdf_sha256_init_scalar(sdf_sha256 *c);
void sdf_sha256_update(sdf_sha256 *c, const void *data, size_t n);
void sdf_sha256_final(sdf_sha256 *c, uint8_t out[32]);
/* One call: digest of a buffer. */
void sdf_sha256_buf(const void *data, size_t n, uint8_t out[32]);
/* 64 lowercase hex chars + NUL. */
void sdf_sha256_hex(const uint8_t digest[32], char out[65]);
/* Digest of a whole file (mmap'd or streamed). */
sdf_status sdf_sha256_file(const char *path, char hex_out[65], sdf_error *err);

#endif
