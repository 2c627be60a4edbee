/* brownian.h: torchsde's BrownianTree (BrownianInterval with halfway_tree, tol 1e-6,
 * pool_size 24, no Levy area) and numpy's SeedSequence, as ComfyUI's BrownianTreeNoiseSampler
 * uses them for dpmpp_sde / dpmpp_2m_sde / dpmpp_3m_sde on the CPU.
 *
 * Owns:      sdf_brownian, the lazily split dyadic interval tree over [t0, t1] with node seeds
 *            from SeedSequence(entropy=seed, spawn_key=(key, depth), pool_size=24); each
 *            node's increment is drawn with a fresh torch CPU generator (rng.h).
 * Ownership: sdf_brownian_new returns a heap object freed by sdf_brownian_free.
 * Threads:   one object per sampling run; not shared.
 */
#ifndef SDF_BROWNIAN_H
#define SDF_BROWNIAN_H

#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"

/* numpy.random.SeedSequence(entropy, spawn_key, pool_size).generate_state(n_words) (uint32).
 * spawn_key may be NULL with n_spawn 0. Entropy is a non-negative integer up to 2^64-1. */
void sdf_seedseq_generate(uint64_t entropy, const uint64_t *spawn_key, int n_spawn,
                          int pool_size, uint32_t *out, int n_words);

typedef struct sdf_brownian sdf_brownian;

/* BrownianTree(t0, zeros(n), t1, entropy=seed) with t0 < t1 (float32 sigmas widened). */
sdf_status sdf_brownian_new(float t0, float t1, uint64_t seed, size_t n, sdf_brownian **out,
                            sdf_error *err);
void       sdf_brownian_free(sdf_brownian *b);

/* BrownianTreeNoiseSampler(sigma, sigma_next) (identity transform): the tree increment between
 * the two times divided by sqrt(|sigma_next - sigma|), n floats. */
sdf_status sdf_brownian_noise(sdf_brownian *b, float sigma, float sigma_next, float *out,
                              sdf_error *err);

#endif
