/* resample.h: ComfyUI's resizing helpers (comfy.utils.common_upscale) reproduced bit for bit.
 *
 * Owns:      torch.nn.functional.interpolate (align_corners=False, antialias=False) for the modes
 *            nearest-exact, bilinear, bicubic (A = -0.75, unclamped source index, clamped taps) and
 *            area (adaptive average pooling) in float32 with torch's index and weight arithmetic;
 *            ComfyUI's bislerp (slerp over channel vectors); Pillow 9's 8-bit LANCZOS resize
 *            (fixed-point, horizontal pass first, RGBA premultiplied); the center crop rule.
 * Layouts:   "planes" are n contiguous [h, w] float planes (a [B,C,H,W] tensor has B*C planes).
 *            Tensors: common_upscale takes [B,C,H,W]; the image variant takes IMAGE [B,H,W,C].
 * Reference: sdf_interpolate_planes_ref evaluates each output pixel directly, the way torch's
 *            generic CPU kernel does; sdf_interpolate_planes is the separable, threaded path and
 *            gives identical bits (tests compare them on odd sizes).
 * Ownership: returned tensors are NEW references; inputs are borrowed.
 * Threads:   pure functions; work is split over the pool (may be NULL).
 */
#ifndef SDF_RESAMPLE_H
#define SDF_RESAMPLE_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/error.h"
#include "../base/threadpool.h"
#include "../tensor/tensor.h"

typedef enum sdf_resample {
    SDF_RS_NEAREST_EXACT,
    SDF_RS_BILINEAR,
    SDF_RS_AREA,
    SDF_RS_BICUBIC,
    SDF_RS_BISLERP,
    SDF_RS_LANCZOS,
    SDF_RS_COUNT
} sdf_resample;

/* "nearest-exact", "bilinear", "area", "bicubic", "bislerp", "lanczos" -> method; -1 unknown. */
int         sdf_resample_from_name(const char *name);
const char *sdf_resample_name(sdf_resample m);

/* Interpolates n planes [ih,iw] -> [oh,ow]; modes nearest-exact, bilinear, bicubic, area. */
sdf_status sdf_interpolate_planes(const float *src, int64_t n, int64_t ih, int64_t iw, float *dst,
                                  int64_t oh, int64_t ow, sdf_resample m, sdf_pool *pool,
                                  sdf_error *err);
sdf_status sdf_interpolate_planes_ref(const float *src, int64_t n, int64_t ih, int64_t iw,
                                      float *dst, int64_t oh, int64_t ow, sdf_resample m,
                                      sdf_error *err);

/* ComfyUI bislerp on [n, c, h, w] -> [n, c, oh, ow]. */
sdf_status sdf_bislerp(const float *src, int64_t n, int64_t c, int64_t ih, int64_t iw, float *dst,
                       int64_t oh, int64_t ow, sdf_error *err);

/* Pillow LANCZOS on 8-bit interleaved pixels (channels 1, 3 or 4; 4 is resized premultiplied). */
sdf_status sdf_lanczos_u8(const uint8_t *src, int64_t ih, int64_t iw, int channels, uint8_t *dst,
                          int64_t oh, int64_t ow, sdf_error *err);

/* common_upscale's "center" crop: the offsets x (columns) and y (rows) cut from each side. */
void sdf_center_crop_offsets(int64_t w, int64_t h, int64_t width, int64_t height, int64_t *x,
                             int64_t *y);

/* comfy.utils.common_upscale on s [B,C,H,W] (any method but lanczos, which needs images). */
sdf_tensor *sdf_common_upscale(const sdf_tensor *s, int64_t width, int64_t height, sdf_resample m,
                               bool center_crop, sdf_pool *pool, sdf_error *err);
/* The same for an IMAGE [B,H,W,C] (ComfyUI's movedim around common_upscale); lanczos allowed. */
sdf_tensor *sdf_common_upscale_image(const sdf_tensor *image, int64_t width, int64_t height,
                                     sdf_resample m, bool center_crop, sdf_pool *pool,
                                     sdf_error *err);

/* torch.nn.functional.interpolate(x, size, mode) on [B,C,H,W] (no crop). */
sdf_tensor *sdf_interpolate(const sdf_tensor *s, int64_t height, int64_t width, sdf_resample m,
                            sdf_pool *pool, sdf_error *err);

#endif
