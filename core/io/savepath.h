/* savepath.h: ComfyUI's folder_paths.get_save_image_path for output files.
 *
 * Owns:      %width%/%height%/%year%/%month%/%day%/%hour%/%minute%/%second% substitution (local
 *            time), splitting a prefix such as "sub/dir/name" into subfolder and file stem (the
 *            subfolder must stay inside the output directory), creating the folder, and the
 *            counter: one more than the largest N of entries named "<stem>_N..." (1 when none),
 *            so files never overwrite earlier runs' files.
 * Ownership: fills caller buffers. Threads: no shared state (two processes saving at once can
 *            still pick the same counter, as in ComfyUI; the writer's rename is atomic).
 */
#ifndef SDF_SAVEPATH_H
#define SDF_SAVEPATH_H

#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"

typedef struct sdf_save_path {
    char folder[4096];    /* output_dir/subfolder */
    char subfolder[1024]; /* "" or "sub/dir" */
    char filename[512];   /* the stem, may still hold %batch_num% */
    int64_t counter;
} sdf_save_path;

sdf_status sdf_save_path_get(const char *output_dir, const char *prefix, int64_t image_width,
                             int64_t image_height, sdf_save_path *out, sdf_error *err);

/* "<stem with %batch_num% = batch>_<counter:05>_.<ext>" inside folder. */
void sdf_save_path_file(const sdf_save_path *sp, int64_t batch, int64_t counter, const char *ext,
                        char *name, size_t name_cap, char *path, size_t path_cap);

#endif
