/* libFuzzer target: PNG decoding (pixels and text chunks) and the conversion to ComfyUI tensors
 * must turn any byte string into pixels within the limits or an error naming the input; never a
 * crash, leak or oversized allocation. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../core/base/alloc.h"
#include "../../core/io/png.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sdf_png_limits lim = {.max_width = 4096, .max_height = 4096, .max_pixels = 1u << 20};
    sdf_png_pixels px;
    memset(&px, 0, sizeof px);
    sdf_error err;
    sdf_error_clear(&err);
    if (sdf_png_read_memory(data, size, "fuzz.png", &lim, &px, &err) == SDF_OK) {
        if (!px.rgba || px.width == 0 || px.height == 0 ||
            (uint64_t)px.width * px.height > lim.max_pixels)
            __builtin_trap();
        volatile uint8_t sink = px.rgba[(size_t)px.width * px.height * 4 - 1];
        (void)sink;
        for (size_t i = 0; i < px.n_texts; i++)
            if (!px.texts[i].key || !px.texts[i].value) __builtin_trap();
        sdf_tensor *im = NULL, *mk = NULL;
        if (sdf_png_to_comfy_image(&px, &im, &mk, &err) == SDF_OK) {
            sdf_tensor_release(im);
            sdf_tensor_release(mk);
        }
        mk = NULL;
        if (sdf_png_to_comfy_mask(&px, 3, &mk, &err) == SDF_OK) sdf_tensor_release(mk);
    } else if (err.msg[0] == 0) {
        __builtin_trap();
    }
    sdf_png_pixels_free(&px);
    char *text = NULL;
    sdf_error_clear(&err);
    if (sdf_png_read_text_memory(data, size, "fuzz.png", "prompt", &text, &err) != SDF_OK &&
        (text || err.msg[0] == 0))
        __builtin_trap();
    sdf_free(text);
    return 0;
}
