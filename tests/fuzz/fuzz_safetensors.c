/* libFuzzer target: the safetensors header parser/validator must reject any malformed file with
 * an error and never read outside the buffer. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../core/io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sdf_st_file *f = NULL;
    sdf_error err;
    sdf_error_clear(&err);
    if (sdf_st_open_memory(data, size, "fuzz.safetensors", &f, &err) != SDF_OK) {
        if (f || err.msg[0] == 0) __builtin_trap();
        return 0;
    }
    /* touch every tensor's bytes and metadata so out-of-range spans would be caught by ASan */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < sdf_st_count(f); i++) {
        const sdf_st_entry *e = sdf_st_entry_at(f, i);
        const uint8_t *p = sdf_st_data(f, e);
        if (e->nbytes) sink ^= p[0] ^ p[e->nbytes - 1];
        sdf_tensor *t = sdf_st_tensor(f, e->name, &err);
        sdf_tensor_release(t);
    }
    for (size_t i = 0; i < sdf_st_meta_count(f); i++)
        sink ^= (uint8_t)strlen(sdf_st_meta_key(f, i)) ^ (uint8_t)strlen(sdf_st_meta_value(f, i));
    (void)sink;
    sdf_st_close(f);
    return 0;
}
