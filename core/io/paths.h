/* paths.h: where model files, input images and outputs live, and how names are resolved.
 *
 * Owns:      sdf_paths (borrowed strings, set up by the runtime from flags and environment) and
 *            name -> file resolution like ComfyUI's folder_paths: a name such as
 *            "v1-5-pruned-emaonly.safetensors" or "sub/x.safetensors" is looked up in
 *            <models dir>/<folder>/ for every models dir in order; a name that is itself an existing
 *            path (absolute, or relative to the current directory) is used as it is.
 *            A miss lists every place looked and the files that were there.
 * Threads:   read-only after set-up.
 */
#ifndef SDF_PATHS_H
#define SDF_PATHS_H

#include <stddef.h>

#include "../base/error.h"

typedef enum sdf_file_kind {
    SDF_FILE_NONE,
    SDF_FILE_CHECKPOINTS,
    SDF_FILE_LORAS,
    SDF_FILE_VAE,
    SDF_FILE_EMBEDDINGS,
    SDF_FILE_CLIP,           /* text encoders ("clip" / "text_encoders") */
    SDF_FILE_UPSCALE_MODELS,
    SDF_FILE_CONFIGS,
    SDF_FILE_CLIP_VOCAB,     /* folder holding vocab.json + merges.txt */
    SDF_FILE_INPUT,          /* images: the input directory */
    SDF_FILE_KIND_COUNT
} sdf_file_kind;

#define SDF_MAX_MODEL_DIRS 16

typedef struct sdf_paths {
    const char *models_dirs[SDF_MAX_MODEL_DIRS]; /* each holds checkpoints/, loras/, vae/, ... */
    int         n_models_dirs;
    const char *input_dir;      /* default "input" */
    const char *output_dir;     /* default "output" */
    const char *temp_dir;       /* default "temp" */
    const char *clip_vocab_dir; /* --clip-vocab, or NULL */
} sdf_paths;

void        sdf_paths_init_defaults(sdf_paths *p); /* models, input, output, temp */
const char *sdf_file_kind_folder(sdf_file_kind k); /* "checkpoints", "loras", ... */

/* Resolves name for kind into out (cap bytes). On a miss: SDF_ERR_NOT_FOUND with a message that
 * lists the directories searched and (up to 20) files found there. */
sdf_status sdf_paths_find(const sdf_paths *p, sdf_file_kind kind, const char *name, char *out,
                          size_t cap, sdf_error *err);

/* Lists the files (relative names, sorted, recursive) available for kind. *names is an
 * sdf_malloc'd array of sdf_malloc'd strings; free with sdf_paths_free_list. */
sdf_status sdf_paths_list(const sdf_paths *p, sdf_file_kind kind, char ***names, size_t *n,
                          sdf_error *err);
void sdf_paths_free_list(char **names, size_t n);

#endif
