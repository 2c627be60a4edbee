#include "ckpt.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int sdf_ckpt_sniff(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char b[9] = {0};
    size_t n = fread(b, 1, 9, f);
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    fclose(f);
    if (n == 9 && b[8] == '{') { /* safetensors: u64 header length that fits, then JSON */
        uint64_t hl = 0;
        for (int i = 7; i >= 0; i--) hl = (hl << 8) | b[i];
        if (size >= 0 && hl <= (uint64_t)size) return SDF_CKPT_KIND_SAFETENSORS;
    }
    if (n >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4) return SDF_CKPT_KIND_ZIP;
    if (n >= 2 && b[0] == 0x80 && b[1] <= 5) return SDF_CKPT_KIND_PICKLE;
    return SDF_CKPT_KIND_SAFETENSORS;
}

sdf_status sdf_ckpt_load_into(const char *path, sdf_wstore *w, const char *add_prefix,
                              sdf_error *err) {
    (void)w; (void)add_prefix;
    sdf_fail(err, SDF_ERR_NOT_IMPLEMENTED, "torch checkpoint reader");
    sdf_error_at_file(err, path);
    return SDF_ERR_NOT_IMPLEMENTED;
}
