/* cache.h: node outputs by content key, in memory (LRU by bytes) and optionally on disk.
 *
 * Owns:      sdf_cache: key (32-byte hash, see cachekey.h) -> the node's output values.
 *            Memory: entries hold references; least recently used entries are dropped when the
 *            sum of sdf_value_bytes exceeds the budget (an entry larger than the budget is not
 *            kept). Disk (optional): entries whose outputs are all tensors (IMAGE, MASK, LATENT,
 *            CONDITIONING, SIGMAS) are also written as <dir>/<key hex>.safetensors (temp file +
 *            rename, so concurrent processes never see a partial file); a hit refreshes the
 *            file's mtime, and the directory is trimmed oldest-first to its byte budget.
 * Ownership: put retains the values; get returns NEW references.
 * Threads:   all functions are thread-safe (one mutex; disk I/O runs outside it).
 */
#ifndef SDF_CACHE_H
#define SDF_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../graph/value.h"

typedef struct sdf_cache sdf_cache;

typedef struct sdf_cache_stats {
    size_t  bytes, entries;
    int64_t hits, misses, disk_hits, disk_writes, evictions;
} sdf_cache_stats;

/* mem_budget 0 keeps nothing in memory. disk_dir NULL: no disk cache. disk_budget 0: no limit. */
sdf_status sdf_cache_new(size_t mem_budget, const char *disk_dir, uint64_t disk_budget,
                         sdf_cache **out, sdf_error *err);
void sdf_cache_free(sdf_cache *c); /* NULL-safe */

/* Fills outs[0..n) with NEW references and returns true on a hit (memory, then disk). */
bool sdf_cache_get(sdf_cache *c, const uint8_t key[32], int n, sdf_value **outs);
/* Stores the n values (retained). Writes the disk copy when every value is storable. */
void sdf_cache_put(sdf_cache *c, const uint8_t key[32], int n, sdf_value *const *values);
void sdf_cache_stats_get(sdf_cache *c, sdf_cache_stats *s);
void sdf_key_hex(const uint8_t key[32], char hex[65]);

#endif
