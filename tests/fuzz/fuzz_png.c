/* fuzz_png.c: libFuzzer target for the PNG reader (build with -DSDF_FUZZ=ON and clang). Decodes
 * the input with tight limits, reads a text chunk, and converts to ComfyUI tensors. */
#include <stddef.h>
#include <stdint.h>

#include "../../core/base/alloc.h"
#include "../../core/io/png.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sdf_error err = {0};
    sdf_png_limits lim = {.max_width = 4096, .max_height = 4096, .max_pixels = 1u << 22};
    sdf_png_pixels p;
    if (sdf_png_read_memory(data, size, "fuzz", &lim, &p, &err) == SDF_OK) {
        sdf_tensor *im = NULL, *mk = NULL;
        if (sdf_png_to_comfy_image(&p, &im, &mk, &err) == SDF_OK) {
            sdf_tensor_release(im);
            sdf_tensor_release(mk);
        }
        if (sdf_png_to_comfy_mask(&p, 3, &mk, &err) == SDF_OK) sdf_tensor_release(mk);
        sdf_png_pixels_free(&p);
    }
    char *v = NULL;
    if (sdf_png_read_text_memory(data, size, "fuzz", "prompt", &v, &err) == SDF_OK) sdf_free(v);
    return 0;
}
