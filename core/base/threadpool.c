#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "alloc.h"

typedef struct job {
    sdf_range_fn fn;
    void        *ctx;
    size_t       n, grain, n_chunks;
    size_t       next_chunk;  /* guarded by pool->mu */
    size_t       done_chunks; /* guarded by pool->mu */
    int          participants; /* threads that joined (slot allocator), guarded by pool->mu */
    int          active;       /* threads currently holding a pointer to the job */
    struct job  *next;
} job;

struct sdf_pool {
    int             n_threads;
    pthread_t      *workers;
    int             n_workers;
    pthread_mutex_t mu;
    pthread_cond_t  work_cv; /* a job with unclaimed chunks appeared, or shutdown */
    pthread_cond_t  done_cv; /* some job finished a chunk */
    job            *jobs;    /* jobs that still have unclaimed chunks */
    bool            shutdown;
};

int sdf_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

int sdf_pool_threads(const sdf_pool *pool) { return pool ? pool->n_threads : 1; }

static void unlink_job(sdf_pool *p, job *j) {
    for (job **pp = &p->jobs; *pp; pp = &(*pp)->next) {
        if (*pp == j) { *pp = j->next; return; }
    }
}

/* Called with p->mu held; returns with it held. Claims and runs chunks until none is left. */
static void work_on(sdf_pool *p, job *j) {
    int slot = j->participants++;
    j->active++;
    while (j->next_chunk < j->n_chunks) {
        size_t c = j->next_chunk++;
        if (j->next_chunk == j->n_chunks) unlink_job(p, j);
        pthread_mutex_unlock(&p->mu);
        size_t b = c * j->grain, e = b + j->grain;
        if (e > j->n) e = j->n;
        j->fn(j->ctx, b, e, slot);
        pthread_mutex_lock(&p->mu);
        j->done_chunks++;
    }
    j->active--;
    pthread_cond_broadcast(&p->done_cv);
}

static void *worker_main(void *arg) {
    sdf_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->jobs && !p->shutdown) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->shutdown) break;
        job *j = p->jobs;
        if (j->participants >= p->n_threads) { /* cannot happen: slots are bounded */
            unlink_job(p, j);
            continue;
        }
        work_on(p, j);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

sdf_status sdf_pool_new(int n_threads, sdf_pool **out, sdf_error *err) {
    if (n_threads < 1) n_threads = 1;
    sdf_pool *p = sdf_calloc(1, sizeof *p);
    if (!p) return sdf_fail(err, SDF_ERR_NOMEM, "thread pool");
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (n_threads > 1) {
        p->workers = sdf_calloc((size_t)n_threads - 1, sizeof *p->workers);
        if (!p->workers) { sdf_pool_free(p); return sdf_fail(err, SDF_ERR_NOMEM, "thread pool"); }
        for (int i = 0; i < n_threads - 1; i++) {
            if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0) {
                sdf_pool_free(p);
                return sdf_fail(err, SDF_ERR_INTERNAL, "cannot start worker thread %d", i);
            }
            p->n_workers++;
        }
    }
    *out = p;
    return SDF_OK;
}

void sdf_pool_free(sdf_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->shutdown = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->workers[i], NULL);
    sdf_free(p->workers);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    sdf_free(p);
}

void sdf_pool_for(sdf_pool *p, size_t n, size_t grain, sdf_range_fn fn, void *ctx) {
    if (n == 0) return;
    int nt = sdf_pool_threads(p);
    if (grain == 0) {
        grain = n / ((size_t)nt * 4);
        if (grain == 0) grain = 1;
    }
    size_t n_chunks = (n + grain - 1) / grain;
    if (!p || nt == 1 || n_chunks == 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    job j = {.fn = fn, .ctx = ctx, .n = n, .grain = grain, .n_chunks = n_chunks};
    pthread_mutex_lock(&p->mu);
    j.next = p->jobs;
    p->jobs = &j;
    pthread_cond_broadcast(&p->work_cv);
    work_on(p, &j);
    while (j.done_chunks < j.n_chunks || j.active > 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
