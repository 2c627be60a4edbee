/* sched.c: the parallel executor. See sched.h for the contract. */
#include "sched.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../base/alloc.h"
#include "valuefile.h"

typedef struct slot {
    int        gi;           /* graph node index */
    bool       must_run;
    bool       hit;
    int        deps;         /* unfinished must_run sources */
    int        consumers;    /* must_run consumers that have not finished */
    sdf_value *out[SDF_MAX_NODE_OUTPUTS];
} slot;

typedef struct run {
    const sdf_sched_params *p;
    slot           *s;
    int             n;
    int            *pos; /* graph index -> slot index, -1 */
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    pthread_mutex_t ev_mu;
    int             running;
    bool            stop;
    struct timespec t0;
    const char    **executed; /* ids of executed nodes, for error events */
    int             n_executed;
} run;

/* ---- helpers ------------------------------------------------------------------------------ */

static double ms_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static double unix_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec * 1e3 + (double)(t.tv_nsec / 1000000);
}

static void emit(run *r, sdf_event *ev) {
    if (!r->p->sink.on_event) return;
    ev->prompt_id = r->p->prompt_id;
    ev->timestamp_ms = unix_ms();
    pthread_mutex_lock(&r->ev_mu);
    r->p->sink.on_event(r->p->sink.user, ev);
    pthread_mutex_unlock(&r->ev_mu);
}

static bool cancelled(run *r) {
    const sdf_call_host *h = r->p->host;
    return h && h->cancelled && h->cancelled(h->user);
}

static const sdf_graph_node *gnode(run *r, int k) { return &r->p->g->nodes[r->s[k].gi]; }

static bool is_target(const sdf_graph_node *n) { return n->is_output; }

static bool cacheable(run *r, const sdf_graph_node *n) {
    return r->p->keys && r->p->cache && !(n->def->flags & SDF_NODE_NOT_CACHEABLE) &&
           !(n->def->flags & SDF_NODE_OUTPUT);
}

/* ---- planning: what must run, what comes from the cache ------------------------------------ */

static void decide(run *r) {
    bool *wanted = sdf_calloc((size_t)r->n + 1, sizeof *wanted);
    for (int k = r->n - 1; k >= 0; k--) {
        slot *s = &r->s[k];
        const sdf_graph_node *n = gnode(r, k);
        if (!is_target(n) && !(wanted && wanted[k])) continue;
        if (!is_target(n) && cacheable(r, n) &&
            sdf_cache_get(r->p->cache, r->p->keys[s->gi], n->def->n_outputs, s->out)) {
            s->hit = true;
            continue;
        }
        s->must_run = true;
        for (int j = 0; j < SDF_MAX_NODE_INPUTS; j++) {
            int src = n->link_node[j] >= 0 ? r->pos[n->link_node[j]] : -1;
            if (src >= 0 && wanted) wanted[src] = true;
        }
    }
    sdf_free(wanted);
    for (int k = 0; k < r->n; k++) {
        if (!r->s[k].must_run) continue;
        const sdf_graph_node *n = gnode(r, k);
        for (int j = 0; j < SDF_MAX_NODE_INPUTS; j++) {
            int src = n->link_node[j] >= 0 ? r->pos[n->link_node[j]] : -1;
            if (src < 0) continue;
            r->s[src].consumers++;
            if (r->s[src].must_run) r->s[k].deps++;
        }
    }
}

/* ---- running one node --------------------------------------------------------------------- */

static void save_intermediates(run *r, const sdf_graph_node *n, slot *s) {
    const char *dir = r->p->intermediates_dir;
    if (!dir) return;
    mkdir(dir, 0777);
    for (int i = 0; i < n->def->n_outputs; i++) {
        if (!sdf_value_is_storable(s->out[i])) continue;
        char id[128], path[4400];
        snprintf(id, sizeof id, "%s", n->id);
        for (char *c = id; *c; c++)
            if (*c == '/' || *c == '\\') *c = '_';
        snprintf(path, sizeof path, "%s/%s.%d.safetensors", dir, id, i);
        sdf_st_writer *w = sdf_st_writer_new();
        sdf_error e;
        sdf_error_clear(&e);
        sdf_status st = w ? sdf_valuefile_add(w, "", s->out[i], &e) : SDF_ERR_NOMEM;
        if (!st) st = sdf_st_writer_save(w, path, &e);
        sdf_st_writer_free(w);
        if (st) {
            char msg[1400];
            snprintf(msg, sizeof msg, "could not save intermediate %s: %s", path, e.msg);
            sdf_event ev = {.kind = SDF_EV_WARNING, .node_id = n->id,
                            .class_type = n->def->class_type, .message = msg};
            emit(r, &ev);
        }
    }
}

/* Marks every must_run slot downstream of k as skipped. Caller holds mu. */
static void skip_downstream(run *r, int k) {
    for (int j = k + 1; j < r->n; j++) {
        slot *s = &r->s[j];
        sdf_node_result *res = &r->p->results[s->gi];
        if (!s->must_run || res->state != SDF_NODE_PENDING) continue;
        const sdf_graph_node *n = gnode(r, j);
        for (int q = 0; q < SDF_MAX_NODE_INPUTS; q++) {
            int src = n->link_node[q] >= 0 ? r->pos[n->link_node[q]] : -1;
            if (src < 0) continue;
            sdf_node_state st = r->p->results[r->s[src].gi].state;
            if (src == k || st == SDF_NODE_SKIPPED || st == SDF_NODE_FAILED ||
                st == SDF_NODE_CANCELLED) {
                res->state = SDF_NODE_SKIPPED;
                snprintf(res->err.msg, sizeof res->err.msg, "not run: input '%s' comes from "
                         "node \"%s\", which failed", n->def->inputs[q].name,
                         r->p->g->nodes[r->s[src].gi].id);
                break;
            }
        }
    }
}

static void release_inputs(run *r, int k) {
    const sdf_graph_node *n = gnode(r, k);
    for (int j = 0; j < SDF_MAX_NODE_INPUTS; j++) {
        int src = n->link_node[j] >= 0 ? r->pos[n->link_node[j]] : -1;
        if (src < 0) continue;
        if (--r->s[src].consumers == 0 && !is_target(gnode(r, src)))
            for (int i = 0; i < SDF_MAX_NODE_OUTPUTS; i++) {
                sdf_value_release(r->s[src].out[i]);
                r->s[src].out[i] = NULL;
            }
    }
}

static void execute(run *r, int k, int worker) {
    slot *s = &r->s[k];
    const sdf_graph_node *n = gnode(r, k);
    sdf_node_result *res = &r->p->results[s->gi];
    sdf_event ev = {.kind = SDF_EV_EXECUTING, .node_id = n->id, .class_type = n->def->class_type};
    emit(r, &ev);

    sdf_node_call call;
    memset(&call, 0, sizeof call);
    call.def = n->def;
    call.node_id = n->id;
    call.host = r->p->host;
    for (int j = 0; j < n->def->n_inputs && j < SDF_MAX_NODE_INPUTS; j++) {
        if (n->link_node[j] >= 0) {
            int src = r->pos[n->link_node[j]];
            int o = n->link_out[j];
            call.args[j] = (src >= 0 && o >= 0 && o < SDF_MAX_NODE_OUTPUTS) ? r->s[src].out[o]
                                                                              : NULL;
        } else {
            call.args[j] = n->literal[j];
        }
    }
    sdf_error e;
    sdf_error_clear(&e);
    res->worker = worker;
    res->start_unix_ms = unix_ms();
    res->start_ms = ms_since(&r->t0);
    sdf_status st = sdf_node_call_run(&call, &e);
    res->end_ms = ms_since(&r->t0);

    if (st == SDF_OK) {
        for (int i = 0; i < n->def->n_outputs && i < SDF_MAX_NODE_OUTPUTS; i++) {
            s->out[i] = call.outputs[i];
            call.outputs[i] = NULL;
        }
        if (cacheable(r, n)) sdf_cache_put(r->p->cache, r->p->keys[s->gi], n->def->n_outputs, s->out);
        save_intermediates(r, n, s);
    }
    sdf_node_call_deinit(&call);

    pthread_mutex_lock(&r->mu);
    if (st == SDF_OK) {
        res->state = SDF_NODE_EXECUTED;
        r->executed[r->n_executed++] = n->id;
        for (int j = k + 1; j < r->n; j++) {
            if (!r->s[j].must_run) continue;
            const sdf_graph_node *c = gnode(r, j);
            for (int q = 0; q < SDF_MAX_NODE_INPUTS; q++)
                if (c->link_node[q] == s->gi) r->s[j].deps--;
        }
    } else {
        res->state = st == SDF_ERR_CANCELLED ? SDF_NODE_CANCELLED : SDF_NODE_FAILED;
        res->err = e;
        if (st == SDF_ERR_CANCELLED) r->stop = true;
        skip_downstream(r, k);
    }
    release_inputs(r, k);
    if (is_target(n) && r->s[k].consumers == 0)
        for (int i = 0; i < SDF_MAX_NODE_OUTPUTS; i++) {
            sdf_value_release(s->out[i]);
            s->out[i] = NULL;
        }
    pthread_mutex_unlock(&r->mu);

    if (st == SDF_OK) {
        sdf_event done = {.kind = SDF_EV_EXECUTED, .node_id = n->id,
                          .class_type = n->def->class_type,
                          .duration_ms = res->end_ms - res->start_ms};
        emit(r, &done);
    } else {
        pthread_mutex_lock(&r->mu);
        int ne = r->n_executed;
        pthread_mutex_unlock(&r->mu);
        sdf_event fail = {.kind = st == SDF_ERR_CANCELLED ? SDF_EV_EXECUTION_INTERRUPTED
                                                          : SDF_EV_EXECUTION_ERROR,
                          .node_id = n->id, .class_type = n->def->class_type,
                          .nodes = r->executed, .n_nodes = ne, .error = &res->err};
        emit(r, &fail);
    }
}

/* ---- workers ------------------------------------------------------------------------------ */

typedef struct worker_arg {
    run *r;
    int  index;
} worker_arg;

static void *worker_main(void *arg) {
    worker_arg *w = arg;
    run *r = w->r;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        if (!r->stop && cancelled(r)) r->stop = true;
        if (r->stop) break;
        int pick = -1;
        for (int k = 0; k < r->n && pick < 0; k++)
            if (r->s[k].must_run && r->s[k].deps == 0 &&
                r->p->results[r->s[k].gi].state == SDF_NODE_PENDING)
                pick = k;
        if (pick < 0) {
            if (r->running == 0) break;
            pthread_cond_wait(&r->cv, &r->mu);
            continue;
        }
        r->p->results[r->s[pick].gi].state = SDF_NODE_RUNNING;
        r->running++;
        pthread_mutex_unlock(&r->mu);
        execute(r, pick, w->index);
        pthread_mutex_lock(&r->mu);
        r->running--;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

sdf_status sdf_sched_run(const sdf_sched_params *p, sdf_error *err) {
    const sdf_graph *g = p->g;
    for (int i = 0; i < g->n_nodes; i++) {
        memset(&p->results[i], 0, sizeof p->results[i]);
        p->results[i].state = SDF_NODE_NOT_NEEDED;
    }
    run r;
    memset(&r, 0, sizeof r);
    r.p = p;
    r.n = p->n_order;
    r.s = sdf_calloc((size_t)r.n + 1, sizeof *r.s);
    r.pos = sdf_malloc(((size_t)g->n_nodes + 1) * sizeof *r.pos);
    r.executed = sdf_calloc((size_t)r.n + 1, sizeof *r.executed);
    if (!r.s || !r.pos || !r.executed) {
        sdf_free(r.s); sdf_free(r.pos); sdf_free(r.executed);
        return sdf_fail(err, SDF_ERR_NOMEM, "scheduler");
    }
    for (int i = 0; i < g->n_nodes; i++) r.pos[i] = -1;
    for (int k = 0; k < r.n; k++) {
        r.s[k].gi = p->order[k];
        r.pos[p->order[k]] = k;
    }
    clock_gettime(CLOCK_MONOTONIC, &r.t0);
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    pthread_mutex_init(&r.ev_mu, NULL);

    decide(&r);
    const char **hits = sdf_calloc((size_t)r.n + 1, sizeof *hits);
    int n_hits = 0, n_run = 0;
    for (int k = 0; k < r.n; k++) {
        sdf_node_result *res = &p->results[r.s[k].gi];
        if (r.s[k].hit) {
            res->state = SDF_NODE_CACHED;
            if (hits) hits[n_hits++] = gnode(&r, k)->id;
        } else if (r.s[k].must_run) {
            res->state = SDF_NODE_PENDING;
            n_run++;
        }
    }
    sdf_event ev = {.kind = SDF_EV_EXECUTION_CACHED, .nodes = hits, .n_nodes = n_hits};
    emit(&r, &ev);
    sdf_free(hits);

    int nw = p->n_workers < 1 ? 1 : p->n_workers;
    if (nw > n_run) nw = n_run > 0 ? n_run : 1;
    pthread_t th[64];
    worker_arg args[65];
    if (nw > 65) nw = 65;
    int started = 0;
    for (int w = 1; w < nw; w++) {
        args[w] = (worker_arg){&r, w};
        if (pthread_create(&th[started], NULL, worker_main, &args[w]) == 0) started++;
    }
    args[0] = (worker_arg){&r, 0};
    worker_main(&args[0]);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);

    /* outcome */
    sdf_status st = SDF_OK;
    bool was_cancelled = r.stop;
    for (int k = 0; k < r.n; k++) {
        sdf_node_result *res = &p->results[r.s[k].gi];
        if (res->state == SDF_NODE_CANCELLED) was_cancelled = true;
        if (res->state == SDF_NODE_FAILED && st == SDF_OK) {
            st = res->err.code ? res->err.code : SDF_ERR_INTERNAL;
            if (err) *err = res->err;
        }
        for (int i = 0; i < SDF_MAX_NODE_OUTPUTS; i++) sdf_value_release(r.s[k].out[i]);
    }
    bool pending = false, node_cancelled = false;
    for (int k = 0; k < r.n; k++) {
        sdf_node_state ns = p->results[r.s[k].gi].state;
        if (ns == SDF_NODE_PENDING) pending = true;
        if (ns == SDF_NODE_CANCELLED) node_cancelled = true;
    }
    (void)was_cancelled;
    if (pending || node_cancelled) {
        if (!node_cancelled) { /* stopped between nodes: say so once */
            sdf_event iv = {.kind = SDF_EV_EXECUTION_INTERRUPTED, .nodes = r.executed,
                            .n_nodes = r.n_executed};
            emit(&r, &iv);
        }
        st = SDF_ERR_CANCELLED;
        sdf_fail(err, SDF_ERR_CANCELLED, "interrupted");
    }
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.ev_mu);
    sdf_free(r.s);
    sdf_free(r.pos);
    sdf_free(r.executed);
    return st;
}
