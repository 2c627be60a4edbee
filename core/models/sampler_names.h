/* sampler_names.h: ComfyUI's sampler and scheduler name lists (KSampler.SAMPLERS / SCHEDULERS).
 *
 * Owns:      the two static, const name tables, in ComfyUI's order (3cd7b32f), used by the
 *            KSampler node definitions and by the sampler dispatch. Nothing here is mutable.
 * Threads:   read-only data; safe from any thread.
 */
#ifndef SDF_SAMPLER_NAMES_H
#define SDF_SAMPLER_NAMES_H

#define SDF_N_SAMPLERS 44
#define SDF_N_SCHEDULERS 9

/* The names (static storage). */
extern const char *const sdf_sampler_names[SDF_N_SAMPLERS];
extern const char *const sdf_scheduler_names[SDF_N_SCHEDULERS];

/* Index of name in the list, or -1. */
int sdf_sampler_index(const char *name);
int sdf_scheduler_index(const char *name);

#endif
