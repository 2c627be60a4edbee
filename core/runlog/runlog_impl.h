/* runlog_impl.h: the sdf_runlog struct and helpers shared by runlog.c and runlog_read.c.
 *
 * Owns:      the connection, its mutex, the host name used by the stale-row rule, counters.
 */
#ifndef SDF_RUNLOG_IMPL_H
#define SDF_RUNLOG_IMPL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>

#include "runlog.h"
#include "runlog_int.h"

struct sdf_runlog {
    sqlite3        *db;
    pthread_mutex_t mu;
    char           *path;
    char            host[256];
    int             stale_marked;
    long            hash_hits, hash_computed;
};

sdf_status sdf_runlog_fail_(sdf_runlog *rl, sdf_error *err, const char *what);
void       sdf_utc_now(char *buf, size_t cap);            /* "2026-11-23T15:00:00.123Z" */
void       sdf_utc_from_ms(double unix_ms, char *buf, size_t cap);
int64_t    sdf_proc_start_time(int pid);                  /* -1 when the process is gone */

#endif
