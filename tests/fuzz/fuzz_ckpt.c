/* libFuzzer target: the torch checkpoint reader (zip directory + data-only pickle) must reject
 * any malformed input with an error, never read outside the buffer and never call anything
 * outside its allowlist. Tensors that load are read end to end. */
#include <stddef.h>
#include <stdint.h>

#include "../../core/io/ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sdf_error err;
    sdf_error_clear(&err);
    sdf_wstore *w = sdf_wstore_new(&err);
    if (!w) return 0;
    sdf_status st = sdf_ckpt_load_memory(data, size, "fuzz.ckpt", w, NULL, &err);
    if (st != SDF_OK && err.msg[0] == 0) __builtin_trap();
    volatile float sink = 0;
    for (size_t i = 0; i < sdf_wstore_count(w); i++) {
        sdf_wstore_info in;
        sdf_wstore_info_at(w, i, &in);
        sdf_tensor *t = sdf_wstore_get_f32(w, in.name, &err);
        if (t && sdf_tensor_numel(t) > 0) sink += sdf_tensor_f32p(t)[0] + sdf_tensor_f32p(t)[sdf_tensor_numel(t) - 1];
        sdf_tensor_release(t);
    }
    (void)sink;
    sdf_wstore_release(w);
    return 0;
}
