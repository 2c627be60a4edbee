/* lora.c: the "lora" node family. Definitions only call into core/. */
#include "nodes.h"

static const sdf_node_def *const defs[] = {NULL};

const sdf_node_family sdf_family_lora = {"lora", defs, 0};
