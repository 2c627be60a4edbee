/* runlog_int.h: inside the run log, for runlog*.c and its tests only.
 *
 * Owns:      the embedded schema text (runlog_schema.c, generated from schema/runlog.sql).
 */
#ifndef SDF_RUNLOG_INT_H
#define SDF_RUNLOG_INT_H

extern const char sdf_runlog_schema_sql[];

#endif
