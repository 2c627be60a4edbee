/* nodes.h: the built-in node table (thin typed adapters over core/).
 *
 * Owns:      one family table per file (latent.c, image.c, mask.c, loaders.c, conditioning.c,
 *            vae.c, sampling.c, lora.c), each a const array of node definitions, and the alias
 *            list. sdf_builtin_registry() gathers them into caller-provided storage: nothing here
 *            is mutable or process-global.
 * Adding a node: define it in its family file and append it to that file's table.
 */
#ifndef SDF_NODES_H
#define SDF_NODES_H

#include <stddef.h>

#include "../core/graph/nodedef.h"

#define SDF_MAX_BUILTIN_NODES 512

typedef struct sdf_node_family {
    const char                *name;
    const sdf_node_def *const *defs;
    size_t                     n;
} sdf_node_family;

#define SDF_DECLARE_FAMILY(fam) extern const sdf_node_family sdf_family_##fam
SDF_DECLARE_FAMILY(latent);
SDF_DECLARE_FAMILY(image);
SDF_DECLARE_FAMILY(mask);
SDF_DECLARE_FAMILY(loaders);
SDF_DECLARE_FAMILY(conditioning);
SDF_DECLARE_FAMILY(vae);
SDF_DECLARE_FAMILY(sampling);
SDF_DECLARE_FAMILY(lora);

/* Storage for a registry; lives as long as the registry is used. */
typedef struct sdf_builtin_storage {
    const sdf_node_def *defs[SDF_MAX_BUILTIN_NODES];
} sdf_builtin_storage;

/* Fills *reg with every built-in node (defs point into *storage) and the aliases
 * (LoadCheckpoint, CLIPEncode, LoraApply, ConditioningAverage with a trailing space). */
void sdf_builtin_registry(sdf_builtin_storage *storage, sdf_registry *reg);

#endif
