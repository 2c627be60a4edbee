/* topo.c: the execution plan: the nodes that runnable targets need, sources first.
 *
 * Order: Kahn's algorithm; among ready nodes the one earliest in the file goes first, so the
 * order depends only on the workflow text (decisions.md: any deterministic order).
 */
#include <string.h>

#include "../base/alloc.h"
#include "graph.h"

static void need(const sdf_graph *g, int i, char *needed) {
    /* explicit stack: workflows can be long chains */
    int *stack = sdf_malloc(((size_t)g->n_nodes + 1) * sizeof *stack);
    if (!stack) return;
    int sp = 0;
    if (!needed[i]) { needed[i] = 1; stack[sp++] = i; }
    while (sp) {
        int x = stack[--sp];
        const sdf_graph_node *n = &g->nodes[x];
        for (int j = 0; j < SDF_MAX_NODE_INPUTS; j++) {
            int s = n->link_node[j];
            if (s >= 0 && !needed[s]) { needed[s] = 1; stack[sp++] = s; }
        }
    }
    sdf_free(stack);
}

sdf_status sdf_graph_plan(const sdf_graph *g, int **order, int *n_out, sdf_error *err) {
    int n = g->n_nodes;
    char *needed = sdf_calloc((size_t)n + 1, 1);
    int *deps = sdf_calloc((size_t)n + 1, sizeof *deps);
    int *out = sdf_malloc(((size_t)n + 1) * sizeof *out);
    if (!needed || !deps || !out) {
        sdf_free(needed); sdf_free(deps); sdf_free(out);
        return sdf_fail(err, SDF_ERR_NOMEM, "plan");
    }
    for (int i = 0; i < n; i++)
        if (g->nodes[i].is_output && !g->nodes[i].bad) need(g, i, needed);
    for (int i = 0; i < n; i++) {
        if (!needed[i]) continue;
        for (int j = 0; j < SDF_MAX_NODE_INPUTS; j++)
            if (g->nodes[i].link_node[j] >= 0) deps[i]++;
    }
    int cnt = 0;
    char *done = needed; /* needed: 1 pending, 2 done */
    for (;;) {
        int pick = -1;
        for (int i = 0; i < n && pick < 0; i++)
            if (done[i] == 1 && deps[i] == 0) pick = i;
        if (pick < 0) break;
        done[pick] = 2;
        out[cnt++] = pick;
        for (int i = 0; i < n; i++) {
            if (done[i] != 1) continue;
            for (int j = 0; j < SDF_MAX_NODE_INPUTS; j++)
                if (g->nodes[i].link_node[j] == pick) deps[i]--;
        }
    }
    bool stuck = false;
    for (int i = 0; i < n; i++)
        if (done[i] == 1) stuck = true;
    sdf_free(needed);
    sdf_free(deps);
    if (stuck) {
        sdf_free(out);
        return sdf_fail(err, SDF_ERR_INTERNAL, "plan: dependency cycle in a validated graph");
    }
    *order = out;
    *n_out = cnt;
    return SDF_OK;
}
