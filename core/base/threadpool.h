/* threadpool.h: one fixed pthread pool per runtime, shared by the scheduler and the kernels.
 *
 * Owns:      worker threads and the queue of parallel-for jobs.
 * Model:     sdf_pool_for() splits [0, n) into chunks of `grain` items; the calling thread works
 *            on its own job too, and idle workers join in. Because the caller always makes
 *            progress by itself, nested or concurrent calls (two graph branches running kernels at
 *            the same time, a kernel inside a kernel) can never deadlock, and the total number of
 *            busy threads never exceeds the pool size plus the callers.
 * Slots:     fn receives `slot`, an index < sdf_pool_threads(pool) unique among the threads
 *            working on that one job: use it to index per-thread scratch.
 * Determinism: chunk boundaries depend only on n and grain, never on timing; kernels that
 *            write disjoint outputs per item give identical results for any thread count.
 * Threads:   sdf_pool_for is thread-safe. sdf_pool_free must not race with sdf_pool_for.
 */
#ifndef SDF_THREADPOOL_H
#define SDF_THREADPOOL_H

#include <stddef.h>

#include "error.h"

typedef struct sdf_pool sdf_pool;
typedef void (*sdf_range_fn)(void *ctx, size_t begin, size_t end, int slot);

/* n_threads >= 1 counts the caller: n_threads - 1 workers are started. */
sdf_status sdf_pool_new(int n_threads, sdf_pool **out, sdf_error *err);
void       sdf_pool_free(sdf_pool *pool); /* NULL-safe; joins the workers */
int        sdf_pool_threads(const sdf_pool *pool); /* 1 for a NULL pool */

/* Runs fn over [0, n) in chunks of grain items (grain 0: about 4 chunks per thread).
 * pool may be NULL (runs inline, slot 0). Returns when every chunk has finished. */
void sdf_pool_for(sdf_pool *pool, size_t n, size_t grain, sdf_range_fn fn, void *ctx);

/* Number of online CPUs (at least 1). */
int sdf_cpu_count(void);

#endif
