/* graph.h: a parsed workflow as a DAG, its validation against the node registry, and its order.
 *
 * Owns:      sdf_graph (nodes with their inputs: coerced literal values or links) built from an
 *            API-format JSON tree; sdf_diags, the list of every problem validation found
 *            (ComfyUI's node_errors, plus warnings); the execution plan (which nodes the chosen
 *            outputs need, in a deterministic topological order).
 * Flow:      sdf_graph_build (shape only; never fails on content) -> sdf_graph_validate
 *            (every problem at once; literals coerced like ComfyUI's validation) ->
 *            sdf_graph_plan (outputs whose ancestry is valid, the nodes they need, in order).
 * Ownership: the graph owns its JSON tree, node records and literal values (NEW references
 *            held until sdf_graph_free). Diags own their strings (sdf_diags_deinit).
 * Threads:   a validated graph is read-only and may be read from any thread.
 */
#ifndef SDF_GRAPH_H
#define SDF_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"
#include "../io/paths.h"
#include "nodecall_int.h" /* SDF_MAX_NODE_INPUTS */
#include "nodedef.h"

typedef struct sdf_graph sdf_graph;

/* ---- diagnostics ---- */

typedef enum sdf_diag_level { SDF_DIAG_ERROR, SDF_DIAG_WARNING } sdf_diag_level;

typedef struct sdf_diag {
    sdf_diag_level level;
    char  type[40];        /* ComfyUI error type: "required_input_missing", "value_not_in_list" */
    char  node_id[64];     /* "" for prompt-level problems */
    char  class_type[64];
    char  input[64];       /* "" when the problem is not about one input */
    char *message;         /* ComfyUI's short message ("Required input is missing") */
    char *details;         /* ComfyUI's details ("cfg") */
    char *text;            /* full sentence for people: expected vs found */
    char *received;        /* JSON text of the value found, or NULL */
} sdf_diag;

typedef struct sdf_diags {
    sdf_diag *v;
    int       n, cap;
    int       n_errors, n_warnings;
} sdf_diags;

void sdf_diags_init(sdf_diags *d);
void sdf_diags_deinit(sdf_diags *d);
/* Appends one diagnostic (strings copied; text printf-style). Ignores allocation failure
 * after counting it, so reporting never fails. */
void sdf_diags_add(sdf_diags *d, sdf_diag_level level, const char *type, const char *node_id,
                   const char *class_type, const char *input, const char *message,
                   const char *details, const char *received, const char *fmt, ...)
    SDF_PRINTF(10, 11);
/* One line: 'node "3" (KSampler) input 'cfg': ...' (prefix "warning: " for warnings). */
void sdf_diag_format(const sdf_diag *g, char *buf, size_t cap);
/* ComfyUI's shape: {"error": {...} | null, "node_errors": {id: {"errors": [...],
 * "class_type", "dependent_outputs": [...]}}, "warnings": [...]}. NEW tree. */
cJSON *sdf_diags_to_json(const sdf_diags *d, const sdf_graph *g);

/* ---- the graph ---- */

typedef struct sdf_graph_input {
    char        *name;
    const cJSON *json;       /* the value as written (borrowed from the graph's tree) */
    int          def_index;  /* index in the class's inputs, -1 for unknown names */
    bool         is_link;    /* a well-formed ["id", index] */
    char        *src_id;     /* link source id (is_link) */
    int64_t      src_out;    /* link output index */
    int          src_node;   /* index of the source node, -1 when missing */
} sdf_graph_input;

typedef struct sdf_graph_node {
    char               *id;
    char               *class_type; /* as written ("" when absent) */
    const sdf_node_def *def;        /* NULL for unknown classes */
    const cJSON        *json;       /* the node object */
    sdf_graph_input    *inputs;     /* as written, in file order */
    int                 n_inputs;
    /* filled by validation, by def input index: */
    sdf_value *literal[SDF_MAX_NODE_INPUTS]; /* coerced literal (NEW ref) or NULL */
    int        link_node[SDF_MAX_NODE_INPUTS]; /* source node index or -1 */
    int        link_out[SDF_MAX_NODE_INPUTS];
    bool       has_error;  /* its own problems */
    bool       bad;        /* it or an ancestor has a problem */
    bool       is_output;  /* an execution target */
} sdf_graph_node;

struct sdf_graph {
    cJSON              *root; /* owned */
    const sdf_registry *reg;
    sdf_graph_node     *nodes;
    int                 n_nodes;
};

/* Builds the graph from an API-format tree (takes ownership of root, also on error).
 * Only a root that is not a JSON object fails (SDF_ERR_INVALID); every other problem is left
 * to sdf_graph_validate. */
sdf_status sdf_graph_build(cJSON *root, const sdf_registry *reg, sdf_graph **out,
                           sdf_error *err);
void sdf_graph_free(sdf_graph *g); /* NULL-safe */
int  sdf_graph_find(const sdf_graph *g, const char *id); /* node index or -1 */

typedef struct sdf_validate_opts {
    const sdf_paths *paths;      /* to check file-kind COMBO values; NULL: not checked */
    const char *const *only;     /* execution targets instead of the output nodes, or NULL */
    int         n_only;
} sdf_validate_opts;

/* Checks every node and link and coerces literals; appends to d. Marks has_error / bad /
 * is_output. Returns SDF_OK even when problems were found (d->n_errors says so); fails only
 * on allocation failure. */
sdf_status sdf_graph_validate(sdf_graph *g, const sdf_validate_opts *o, sdf_diags *d,
                              sdf_error *err);

/* The targets that can run (is_output and not bad), and the count dropped. */
int sdf_graph_count_targets(const sdf_graph *g, int *n_dropped);

/* Nodes the runnable targets need, in a deterministic topological order (sources first; ties
 * by position in the file). order is sdf_malloc'd. Only valid nodes appear. */
sdf_status sdf_graph_plan(const sdf_graph *g, int **order, int *n, sdf_error *err);

/* Closest registry class name to `name` (edit distance, case-insensitive), or NULL. */
const char *sdf_registry_suggest(const sdf_registry *reg, const char *name);

/* The canonical API JSON of the graph: every node with inputs (coerced literals; INT and FLOAT
 * as cJSON_Raw items holding exact decimal text and Python's float repr, e.g. 20 and 8.0, as
 * ComfyUI writes them back after validation), class_type, and _meta when present. NEW tree. */
cJSON *sdf_graph_canonical(const sdf_graph *g);

#endif
