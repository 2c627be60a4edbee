/* image_io.c: see image_io.h. */
#include "image_io.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/base/alloc.h"
#include "../core/io/a1111.h"

sdf_status sdf_node_resolve_image(sdf_node_call *c, int i, char *out, size_t cap, sdf_error *err) {
    const char *name = sdf_arg_str(c, i);
    const char *input = sdf_call_def(c)->inputs[i].name;
    static const char *const tags[] = {" [input]", " [output]", " [temp]"};
    size_t n = strlen(name);
    for (int k = 0; k < 3; k++) {
        size_t tl = strlen(tags[k]);
        if (n <= tl || strcmp(name + n - tl, tags[k]) != 0) continue;
        char bare[2048];
        snprintf(bare, sizeof bare, "%.*s", (int)(n - tl), name);
        if (bare[0] == '/' || strstr(bare, "..")) {
            sdf_fail(err, SDF_ERR_INVALID, "image name \"%s\" leaves its folder", name);
            sdf_error_at_input(err, input);
            return SDF_ERR_INVALID;
        }
        sdf_paths defaults;
        const sdf_paths *p = sdf_call_paths(c);
        if (!p) {
            sdf_paths_init_defaults(&defaults);
            p = &defaults;
        }
        const char *dir = k == 0 ? p->input_dir : k == 1 ? p->output_dir : p->temp_dir;
        snprintf(out, cap, "%s/%s", dir ? dir : (k == 0 ? "input" : k == 1 ? "output" : "temp"), bare);
        struct stat sb;
        if (stat(out, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            sdf_fail(err, SDF_ERR_NOT_FOUND, "Invalid image file: %s (looked for %s)", name, out);
            sdf_error_at_input(err, input);
            return SDF_ERR_NOT_FOUND;
        }
        return SDF_OK;
    }
    return sdf_call_find_file(c, i, out, cap, err);
}

/* The checkpoint's sha256 through the runtime (hashed once per file and remembered). */
static sdf_status ckpt_hash(void *user, const char *ckpt_name, char hex[65]) {
    sdf_node_call *c = user;
    sdf_paths defaults;
    const sdf_paths *p = sdf_call_paths(c);
    if (!p) {
        sdf_paths_init_defaults(&defaults);
        p = &defaults;
    }
    char path[4096];
    sdf_error err = {0};
    sdf_status st = sdf_paths_find(p, SDF_FILE_CHECKPOINTS, ckpt_name, path, sizeof path, &err);
    if (st) return st;
    return sdf_call_file_sha256(c, path, hex, &err);
}

char *sdf_node_a1111_parameters(sdf_node_call *c, int width, int height) {
    const cJSON *prompt = sdf_call_prompt(c);
    if (!prompt || !sdf_call_node_id(c)) return NULL;
    return sdf_a1111_parameters(prompt, sdf_call_node_id(c), width, height, ckpt_hash, c);
}
