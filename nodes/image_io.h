/* image_io.h: helpers the image and mask node files share (not a node family).
 *
 * Owns:      resolving LoadImage/LoadImageMask names, including ComfyUI's annotated names
 *            ("x.png [output]", "clipspace/y.png [input]", "z.png [temp]"), and building the
 *            A1111 "parameters" text for SaveImage.
 * Ownership: strings returned are sdf_malloc'd (caller frees). Threads: no shared state.
 */
#ifndef SDF_NODES_IMAGE_IO_H
#define SDF_NODES_IMAGE_IO_H

#include <stddef.h>

#include "../core/graph/nodedef.h"

/* Path of the image named by COMBO input i (input folder unless annotated). */
sdf_status sdf_node_resolve_image(sdf_node_call *c, int i, char *out, size_t cap, sdf_error *err);

/* A1111-style parameters text for the image saved by this node, or NULL when there is none (no
 * sampler feeds it, or the builder is not available). */
char *sdf_node_a1111_parameters(sdf_node_call *c, int width, int height);

#endif
