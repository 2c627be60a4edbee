/* rng.h: PyTorch's CPU random generator, bit for bit (ComfyUI's noise source).
 *
 * Owns:      sdf_rng (an MT19937 engine plus torch's cached normal samples) and the draws
 *            ComfyUI makes from it: randn float32 (the vectorised block-of-16 path for >= 16
 *            elements with the AVX2 kernel's exact arithmetic, spec §10.1, and the scalar double
 *            Box-Muller path below 16), randn float64, rand float32, and prepare_noise with an
 *            optional batch_index.
 * Seeding:   torch.manual_seed(seed) uses only the low 32 bits of the 64-bit seed for MT19937.
 * Ownership: sdf_rng is a plain value (no heap); output buffers belong to the caller.
 *            sdf_prepare_noise returns a NEW tensor.
 * Threads:   a generator is used by one thread at a time; no global state.
 */
#ifndef SDF_RNG_H
#define SDF_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"
#include "../tensor/tensor.h"

typedef struct sdf_rng {
    uint32_t state[624];
    int      next;            /* index of the next state word to temper */
    bool     has_next_double; /* torch's cached second Box-Muller value (double path) */
    double   next_double;
} sdf_rng;

/* torch.Generator().manual_seed(seed). */
void     sdf_rng_seed(sdf_rng *g, uint64_t seed);
uint32_t sdf_rng_u32(sdf_rng *g);
uint64_t sdf_rng_u64(sdf_rng *g);     /* random64(): first draw is the high word */
float    sdf_rng_uniform_f32(sdf_rng *g);  /* 24-bit */
double   sdf_rng_uniform_f64(sdf_rng *g);  /* 53-bit */

/* torch.randn(n, generator=g) into out (float32, contiguous). */
void sdf_rng_randn_f32(sdf_rng *g, float *out, size_t n);
/* torch.randn(n, dtype=float64, generator=g). */
void sdf_rng_randn_f64(sdf_rng *g, double *out, size_t n);
/* torch.rand(n, generator=g) (float32). */
void sdf_rng_rand_f32(sdf_rng *g, float *out, size_t n);

/* A new [ndim, shape] f32 tensor filled with torch.randn from g. */
sdf_tensor *sdf_rng_randn_tensor(sdf_rng *g, int ndim, const int64_t *shape, sdf_error *err);

/* ComfyUI comfy.sample.prepare_noise(latent, seed, batch_index): noise of latent shape
 * [B, ...]. Without batch_index (NULL / n_index 0) one randn of the whole shape; with it, one
 * [1, ...] draw per index 0..max(batch_index), each output row i taking the draw numbered
 * batch_index[i] (n_index must equal B). Negative indices are rejected. *out is NEW. */
sdf_status sdf_prepare_noise(int ndim, const int64_t *shape, uint64_t seed,
                             const int64_t *batch_index, int n_index, sdf_tensor **out,
                             sdf_error *err);

#endif
