/* mask.h: ComfyUI's mask maths (comfy_extras/nodes_mask.py) on MASK tensors.
 *
 * Owns:      grow (grey dilation / erosion with a 3x3 cross or square footprint, SciPy's
 *            "reflect" border, |expand| iterations), feather (FeatherMask's ramps including its
 *            negative-index quirk: column/row 0 also takes the right/bottom ramp's first factor),
 *            threshold, invert, solid, crop and MaskComposite's six operations.
 * Shapes:    masks are read as [-1, H, W] (any leading dims fold into the batch, like ComfyUI's
 *            reshape); results are [B, H, W] f32.
 * Ownership: functions returning a tensor return a NEW reference; inputs are borrowed.
 * Threads:   pure functions.
 */
#ifndef SDF_IMAGE_MASK_H
#define SDF_IMAGE_MASK_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/error.h"
#include "../tensor/tensor.h"

/* [-1, H, W] view facts of a mask (ndim >= 2); false + error when not a mask. */
bool sdf_mask_dims(const sdf_tensor *m, int64_t *b, int64_t *h, int64_t *w, sdf_error *err);

sdf_tensor *sdf_mask_grow(const sdf_tensor *m, int64_t expand, bool tapered, sdf_error *err);
sdf_tensor *sdf_mask_feather(const sdf_tensor *m, int64_t left, int64_t top, int64_t right,
                             int64_t bottom, sdf_error *err);
sdf_tensor *sdf_mask_threshold(const sdf_tensor *m, double value, sdf_error *err);
/* 1 - m, keeping m's shape. */
sdf_tensor *sdf_mask_invert(const sdf_tensor *m, sdf_error *err);
sdf_tensor *sdf_mask_solid(double value, int64_t width, int64_t height, sdf_error *err);
/* mask[:, y:y+h, x:x+w] clipped to the mask; an empty result is an error. */
sdf_tensor *sdf_mask_crop(const sdf_tensor *m, int64_t x, int64_t y, int64_t width,
                          int64_t height, sdf_error *err);

typedef enum sdf_mask_op {
    SDF_MASK_MULTIPLY, SDF_MASK_ADD, SDF_MASK_SUBTRACT, SDF_MASK_AND, SDF_MASK_OR, SDF_MASK_XOR
} sdf_mask_op;
int sdf_mask_op_from_name(const char *name); /* -1 when unknown */
/* MaskComposite: source placed at (x, y) on destination with op, then everything clamped 0..1.
 * The source batch must be 1 or the destination's. */
sdf_tensor *sdf_mask_composite(const sdf_tensor *dst, const sdf_tensor *src, int64_t x, int64_t y,
                               sdf_mask_op op, sdf_error *err);

#endif
