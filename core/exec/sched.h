/* sched.h: executing a validated plan: parallel branches, cache reuse, failure isolation.
 *
 * Owns:      one execution of a plan (graph + topological order + keys). Steps:
 *            1. Walk the plan from the targets back: a target always runs (output nodes write
 *               their files even on a fully cached re-run); a node some running node needs is
 *               looked up in the cache by key, and on a hit its ancestors are not needed at all.
 *            2. Worker threads (n_workers, the main thread being one) take ready nodes, earliest
 *               in the plan first; independent branches therefore overlap. A node's kernels use
 *               the runtime's one sdf_pool (host->pool), so branch threads and kernel threads
 *               share one budget: at most n_workers callers plus the pool's workers.
 *            3. A failing node marks everything downstream of it skipped; other branches go on.
 *               host->cancelled() is polled between nodes (nodes poll it too): once true no new
 *               node starts and the run ends SDF_ERR_CANCELLED.
 *            4. Outputs go to the cache (unless the class is not cacheable or is an output node)
 *               and, with intermediates_dir, to <dir>/<node id>.<output index>.safetensors. A
 *               node's outputs are released as soon as its last consumer has finished.
 * Events:    execution_cached, executing, executed, execution_error, execution_interrupted
 *            (events.h), serialised by the scheduler.
 * Ownership: results[] (caller storage, one per graph node) is filled; nothing else survives.
 * Threads:   call from one thread; it starts and joins its own workers.
 */
#ifndef SDF_SCHED_H
#define SDF_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "../graph/graph.h"
#include "../graph/nodecall_int.h"
#include "cache.h"
#include "events.h"

typedef enum sdf_node_state {
    SDF_NODE_NOT_NEEDED, /* not in the plan, or not needed thanks to a cached dependant */
    SDF_NODE_PENDING,    /* planned; never started (run interrupted) */
    SDF_NODE_RUNNING,
    SDF_NODE_CACHED,     /* outputs taken from the cache */
    SDF_NODE_EXECUTED,
    SDF_NODE_FAILED,
    SDF_NODE_SKIPPED,    /* an ancestor failed */
    SDF_NODE_CANCELLED   /* the node itself stopped on a cancellation request */
} sdf_node_state;

typedef struct sdf_node_result {
    sdf_node_state state;
    sdf_error      err;          /* FAILED / CANCELLED */
    double         start_ms;     /* monotonic, ms since the run started */
    double         end_ms;
    double         start_unix_ms;
    int            worker;       /* which worker thread ran it */
} sdf_node_result;

typedef struct sdf_sched_params {
    const sdf_graph     *g;
    const int           *order;     /* plan from sdf_graph_plan */
    int                  n_order;
    const uint8_t      (*keys)[32]; /* by graph node index, or NULL: no caching */
    sdf_cache           *cache;     /* may be NULL */
    const sdf_call_host *host;      /* passed to every node call */
    int                  n_workers; /* >= 1 */
    sdf_event_sink       sink;      /* on_event may be NULL */
    const char          *prompt_id;
    const char          *intermediates_dir; /* or NULL */
    sdf_node_result     *results;   /* g->n_nodes entries, filled */
} sdf_sched_params;

/* Runs the plan. Returns SDF_OK when every needed node executed or came from the cache;
 * SDF_ERR_CANCELLED when interrupted; otherwise the status of the first failed node in plan
 * order, with its error in *err. results[] is complete in every case. */
sdf_status sdf_sched_run(const sdf_sched_params *p, sdf_error *err);

#endif
