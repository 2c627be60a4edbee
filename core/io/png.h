/* png.h: PNG files in and out (libpng), the way ComfyUI's LoadImage / SaveImage see them.
 *
 * Owns:      decoding any PNG (1/2/4/8/16-bit gray, gray+alpha, RGB, RGBA, palette with or
 *            without tRNS) into 8-bit RGBA with Pillow's conversions (16-bit samples keep their
 *            high byte; 16-bit gray is Pillow mode "I", which ComfyUI scales by 1/255 with
 *            truncation and then clips to 255), reading text chunks (tEXt, zTXt, iTXt; tEXt/zTXt
 *            Latin-1 is returned as UTF-8), the EXIF orientation of an eXIf chunk (applied to the
 *            pixels as LoadImage's ImageOps.exif_transpose does), and writing 8-bit RGB/RGBA PNGs
 *            with tEXt chunks
 *            placed before IDAT (ComfyUI's order: IHDR, tEXt..., IDAT, IEND).
 * Safety:    width, height and width*height are checked against limits before any pixel memory
 *            is allocated (pixel bombs fail with a message naming the file); libpng errors
 *            (corrupt or truncated data, bad CRCs) are caught with setjmp/longjmp and returned
 *            as SDF_ERR_PARSE naming the file. Text chunks are capped in size.
 * Ownership: sdf_png_pixels.rgba and every string returned are sdf_malloc'd and owned by the
 *            caller (sdf_png_pixels_free, sdf_free). Tensors returned are NEW references.
 * Threads:   no shared state; any number of files may be read or written concurrently.
 */
#ifndef SDF_PNG_H
#define SDF_PNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"
#include "../tensor/tensor.h"

/* Defaults: Pillow refuses images above 2 * 89,478,485 pixels as decompression bombs. */
#define SDF_PNG_DEFAULT_MAX_DIM 65535u
#define SDF_PNG_DEFAULT_MAX_PIXELS 178956970ull

typedef struct sdf_png_limits {
    uint32_t max_width;  /* 0: SDF_PNG_DEFAULT_MAX_DIM */
    uint32_t max_height; /* 0: SDF_PNG_DEFAULT_MAX_DIM */
    uint64_t max_pixels; /* 0: SDF_PNG_DEFAULT_MAX_PIXELS */
} sdf_png_limits;

/* Where the alpha of the decoded RGBA came from (decides ComfyUI's LoadImage mask). */
typedef enum sdf_png_alpha {
    SDF_PNG_ALPHA_NONE,        /* opaque: A = 255 everywhere */
    SDF_PNG_ALPHA_CHANNEL,     /* gray+alpha or RGBA colour type: Pillow has an 'A' band */
    SDF_PNG_ALPHA_PALETTE_TRNS,/* palette + tRNS: Pillow mode P with "transparency" */
    SDF_PNG_ALPHA_COLOR_TRNS   /* gray/RGB + tRNS: only a conversion to RGBA sees it */
} sdf_png_alpha;

typedef struct sdf_png_text {
    char *key;
    char *value; /* UTF-8 */
} sdf_png_text;

typedef struct sdf_png_pixels {
    uint32_t width, height;
    int      bit_depth, color_type; /* as stored in IHDR */
    sdf_png_alpha alpha;
    int      orientation;           /* EXIF orientation found (eXIf chunk), 0 when none; the
                                       pixels are already transposed as ImageOps.exif_transpose
                                       does, width/height are those after it */
    uint8_t *rgba;                  /* width*height*4 bytes, row-major */
    sdf_png_text *texts;            /* every text chunk, in file order */
    size_t        n_texts;
} sdf_png_pixels;

void sdf_png_pixels_free(sdf_png_pixels *p); /* NULL-safe; frees members, not p */
void sdf_png_texts_free(sdf_png_text *t, size_t n);

/* Decodes a file or a memory image (name is used in messages; may be NULL). limits may be NULL. */
sdf_status sdf_png_read(const char *path, const sdf_png_limits *limits, sdf_png_pixels *out,
                        sdf_error *err);
sdf_status sdf_png_read_memory(const void *data, size_t n, const char *name,
                               const sdf_png_limits *limits, sdf_png_pixels *out, sdf_error *err);

/* The text of chunk `key` (first occurrence, before or after IDAT); *value_out is sdf_malloc'd,
 * NULL when absent (still SDF_OK). Does not keep pixel memory (rows are read one at a time). */
sdf_status sdf_png_read_text(const char *path, const char *key, char **value_out, sdf_error *err);
sdf_status sdf_png_read_text_memory(const void *data, size_t n, const char *name, const char *key,
                                    char **value_out, sdf_error *err);

/* ComfyUI LoadImage: image [1,H,W,3] f32 = rgb/255; mask = 1 - A/255 [1,H,W] when the PNG has
 * an alpha channel or a palette tRNS, else zeros [1,64,64]. */
sdf_status sdf_png_to_comfy_image(const sdf_png_pixels *p, sdf_tensor **image, sdf_tensor **mask,
                                  sdf_error *err);
/* ComfyUI LoadImageMask: channel 0..3 = R,G,B,A of the RGBA conversion, /255; alpha inverted
 * (1 - a). Output [1,H,W]. */
sdf_status sdf_png_to_comfy_mask(const sdf_png_pixels *p, int channel, sdf_tensor **mask,
                                 sdf_error *err);

/* ---- writing ---- */
typedef struct sdf_png_write_opts {
    int compress_level;              /* zlib level 0..9; ComfyUI SaveImage 4, PreviewImage 1 */
    const sdf_png_text *texts;       /* tEXt chunks, written before IDAT in this order */
    size_t n_texts;
} sdf_png_write_opts;

/* Writes an 8-bit PNG from interleaved bytes: channels 3 (RGB) or 4 (RGBA). Atomic: a temp file
 * in the same directory, then rename. Keys must be 1..79 printable Latin-1 characters; a value
 * that is not pure ASCII is written as an iTXt (UTF-8) chunk, as Pillow does. */
sdf_status sdf_png_write(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height,
                         int channels, const sdf_png_write_opts *opts, sdf_error *err);
/* Same into memory: *out_data is sdf_malloc'd. */
sdf_status sdf_png_write_memory(const uint8_t *pixels, uint32_t width, uint32_t height,
                                int channels, const sdf_png_write_opts *opts, uint8_t **out_data,
                                size_t *out_n, sdf_error *err);

/* ComfyUI's pixel conversion for saving: uint8(clip(255*x, 0, 255)) with truncation, from one
 * image of an IMAGE tensor [B,H,W,C] (C 3 or 4; 1 is expanded to gray RGB). *out is sdf_malloc'd
 * H*W*channels bytes; *channels_out is 3 or 4. */
sdf_status sdf_png_image_to_u8(const sdf_tensor *image, int64_t b, uint8_t **out,
                               int *channels_out, sdf_error *err);

#endif
