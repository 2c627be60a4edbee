/* events.h: what the executor reports while a workflow runs (ComfyUI's websocket events).
 *
 * Owns:      sdf_event (one report) and sdf_event_sink (who receives them). Names and fields
 *            follow spec §6.1: execution_start, execution_cached, executing, progress, executed,
 *            execution_error, execution_interrupted, execution_success; plus "warning" for a
 *            node's warnings.
 * Ownership: every pointer in an event is BORROWED for the duration of the callback.
 * Threads:   the scheduler calls the sink from worker threads, never two calls at once for one
 *            run (it serialises them); a sink shared by runs must lock itself.
 */
#ifndef SDF_EVENTS_H
#define SDF_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/error.h"

typedef enum sdf_event_kind {
    SDF_EV_EXECUTION_START,
    SDF_EV_EXECUTION_CACHED,
    SDF_EV_EXECUTING,
    SDF_EV_PROGRESS,
    SDF_EV_EXECUTED,
    SDF_EV_EXECUTION_ERROR,
    SDF_EV_EXECUTION_INTERRUPTED,
    SDF_EV_EXECUTION_SUCCESS,
    SDF_EV_WARNING,
    SDF_EV_COUNT
} sdf_event_kind;

const char *sdf_event_name(sdf_event_kind k); /* "execution_start", ... */

typedef struct sdf_event {
    sdf_event_kind  kind;
    const char     *prompt_id;
    double          timestamp_ms;  /* Unix epoch milliseconds */
    const char     *node_id;       /* executing/progress/executed/error/interrupted/warning */
    const char     *class_type;
    int64_t         value, max;    /* progress */
    const char *const *nodes;      /* execution_cached: cached ids; error/interrupted: executed */
    int             n_nodes;
    const sdf_error *error;        /* execution_error */
    double          duration_ms;   /* executed */
    bool            cached;        /* executed: outputs came from the cache */
    const char     *message;       /* warning text */
    const char *const *files;      /* executed: files the node wrote (paths) */
    int             n_files;
} sdf_event;

typedef struct sdf_event_sink {
    void *user;
    void (*on_event)(void *user, const sdf_event *ev);
} sdf_event_sink;

#endif
