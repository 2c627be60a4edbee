#include "nodes.h"

static const sdf_node_family *const families[] = {
    &sdf_family_latent,       &sdf_family_image, &sdf_family_mask,     &sdf_family_loaders,
    &sdf_family_conditioning, &sdf_family_vae,   &sdf_family_sampling, &sdf_family_lora,
};

static const sdf_node_alias aliases[] = {
    {"LoadCheckpoint", "CheckpointLoaderSimple"},
    {"CLIPEncode", "CLIPTextEncode"},
    {"LoraApply", "LoraLoader"},
    {"ConditioningAverage ", "ConditioningAverage"}, /* registry key of 2023 ComfyUI */
};

void sdf_builtin_registry(sdf_builtin_storage *storage, sdf_registry *reg) {
    size_t n = 0;
    for (size_t f = 0; f < SDF_COUNTOF(families); f++)
        for (size_t i = 0; i < families[f]->n; i++) {
            SDF_ASSERT(n < SDF_MAX_BUILTIN_NODES);
            storage->defs[n++] = families[f]->defs[i];
        }
    reg->defs = storage->defs;
    reg->n_defs = n;
    reg->aliases = aliases;
    reg->n_aliases = SDF_COUNTOF(aliases);
}
