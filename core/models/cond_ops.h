/* cond_ops.h: ComfyUI's conditioning list operations (nodes.py Conditioning* nodes).
 *
 * Owns:      combine, average, concat, zero-out and the option setters (area in latent units
 *            (h, w, y, x) = pixels // 8, area as fractions, strength, mask, timestep range), each
 *            producing a NEW conditioning value; inputs are never modified.
 * Numerics:  float32 as torch: average = t1 * (float)s + t0 * (float)(1 - s).
 * Ownership: *out is a NEW value; tensors shared with the inputs are retained.
 * Threads:   pure functions.
 */
#ifndef SDF_COND_OPS_H
#define SDF_COND_OPS_H

#include <stdbool.h>

#include "../graph/value.h"

sdf_status sdf_cond_combine(const sdf_conditioning *a, const sdf_conditioning *b, sdf_value **out,
                            sdf_error *err);
/* Only from's first entry is used (*n_ignored tells how many were left out, for a warning). */
sdf_status sdf_cond_average(const sdf_conditioning *to, const sdf_conditioning *from,
                            double to_strength, sdf_value **out, int *n_ignored, sdf_error *err);
sdf_status sdf_cond_concat(const sdf_conditioning *to, const sdf_conditioning *from,
                           sdf_value **out, int *n_ignored, sdf_error *err);
sdf_status sdf_cond_zero_out(const sdf_conditioning *c, sdf_value **out, sdf_error *err);
/* ConditioningSetArea: pixel sizes; stored as (h//8, w//8, y//8, x//8). */
sdf_status sdf_cond_set_area(const sdf_conditioning *c, int64_t width, int64_t height, int64_t x,
                             int64_t y, double strength, sdf_value **out, sdf_error *err);
/* ConditioningSetAreaPercentage: fractions, stored as ("percentage", h, w, y, x). */
sdf_status sdf_cond_set_area_pct(const sdf_conditioning *c, double width, double height, double x,
                                 double y, double strength, sdf_value **out, sdf_error *err);
sdf_status sdf_cond_set_strength(const sdf_conditioning *c, double strength, sdf_value **out,
                                 sdf_error *err);
/* mask [H,W] or [B,H,W] (2-D is unsqueezed to [1,H,W]). */
sdf_status sdf_cond_set_mask(const sdf_conditioning *c, sdf_tensor *mask, double strength,
                             bool set_area_to_bounds, sdf_value **out, sdf_error *err);
sdf_status sdf_cond_set_timestep_range(const sdf_conditioning *c, double start, double end,
                                       sdf_value **out, sdf_error *err);

#endif
