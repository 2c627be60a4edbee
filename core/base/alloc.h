/* alloc.h: the one heap allocator, with live/peak byte accounting.
 *
 * Owns:      sdf_malloc/calloc/realloc/free and size arithmetic that cannot overflow.
 * Behaviour: returns NULL on failure, never aborts. Counts live and peak bytes process-wide
 *            (atomic counters; the only process-wide state in the library, like Redis' zmalloc
 *            accounting) so benchmarks and tests can assert on peak memory.
 *            sdf_alloc_fail_after(n) makes the n-th following allocation fail (tests only).
 * Threads:   all functions are thread-safe.
 */
#ifndef SDF_ALLOC_H
#define SDF_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *sdf_malloc(size_t n);
void *sdf_calloc(size_t count, size_t size);
void *sdf_realloc(void *p, size_t n);
void  sdf_free(void *p);
/* 64-byte aligned allocation, freed with sdf_free. */
void *sdf_malloc_aligned(size_t n);
char *sdf_strdup(const char *s);

size_t sdf_alloc_live_bytes(void);
size_t sdf_alloc_peak_bytes(void);
void   sdf_alloc_reset_peak(void); /* peak := live */
void   sdf_alloc_fail_after(long n); /* -1 disables */

/* Overflow-checked size arithmetic: false on overflow, *out untouched then. */
bool sdf_mul_size(size_t a, size_t b, size_t *out);
bool sdf_add_size(size_t a, size_t b, size_t *out);

#endif
