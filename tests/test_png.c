/* test_png.c: PNG decode/encode (core/io/png.h): every colour type and depth against the values
 * Pillow 9.4 gives (checked by hand with /usr/bin/python3: 16-bit samples keep the high byte,
 * 16-bit gray is mode "I" scaled by 1/255 with truncation), ComfyUI's LoadImage mask rule, text
 * chunks round trip, truncated / corrupted files and pixel bombs fail cleanly. */
#include <png.h>
#include <setjmp.h>

#include "../core/base/alloc.h"
#include "../core/io/png.h"
#include "testing.h"

/* ---- a test-side encoder for arbitrary PNG formats (libpng directly) ---- */
typedef struct mbuf {
    uint8_t *d;
    size_t n, cap;
} mbuf;

static void mb_write(png_structp png, png_bytep d, size_t len) {
    mbuf *b = png_get_io_ptr(png);
    if (b->n + len > b->cap) {
        b->cap = (b->n + len) * 2 + 1024;
        b->d = realloc(b->d, b->cap);
    }
    memcpy(b->d + b->n, d, len);
    b->n += len;
}
static void mb_flush(png_structp png) { (void)png; }

/* rows: h rows of raw bytes in PNG sample order (big-endian for 16-bit). */
static mbuf encode(int w, int h, int depth, int ctype, const uint8_t *raw, size_t rowbytes,
                   const png_color *pal, int npal, const uint8_t *trns, int ntrns,
                   const png_color_16 *trns_color, int interlace) {
    mbuf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) { fprintf(stderr, "encode failed\n"); exit(1); }
    png_set_write_fn(png, &b, mb_write, mb_flush);
    png_set_IHDR(png, info, w, h, depth, ctype, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(png, info, pal, npal);
    if (trns || trns_color) png_set_tRNS(png, info, trns, ntrns, trns_color);
    png_text t = {.compression = PNG_TEXT_COMPRESSION_zTXt, .key = "ztext", .text = "zipped words",
                  .text_length = 12};
    png_set_text(png, info, &t, 1);
    png_write_info(png, info);
    png_bytep *rows = malloc(sizeof *rows * (size_t)h);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)raw + (size_t)y * rowbytes;
    png_write_image(png, rows);
    /* an iTXt after IDAT: the reader must find text chunks on both sides of the pixels */
    png_text t2 = {.compression = PNG_ITXT_COMPRESSION_NONE, .key = "late", .text = "caf\xc3\xa9 \xe2\x82\xac",
                   .itxt_length = 9, .lang = "", .lang_key = ""};
    png_set_text(png, info, &t2, 1);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return b;
}

static sdf_status decode(const mbuf *b, sdf_png_pixels *px, sdf_error *err) {
    return sdf_png_read_memory(b->d, b->n, "test.png", NULL, px, err);
}

static const uint8_t *at(const sdf_png_pixels *p, int x, int y) {
    return p->rgba + ((size_t)y * p->width + (size_t)x) * 4;
}

static void test_rgb8_and_texts(void) {
    uint8_t raw[2 * 2 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
    mbuf b = encode(2, 2, 8, PNG_COLOR_TYPE_RGB, raw, 6, NULL, 0, NULL, 0, NULL, 0);
    sdf_png_pixels p;
    sdf_error err = {0};
    REQUIRE(decode(&b, &p, &err) == SDF_OK);
    CHECK(p.width == 2 && p.height == 2 && p.alpha == SDF_PNG_ALPHA_NONE);
    CHECK(memcmp(at(&p, 1, 1), (uint8_t[]){10, 20, 30, 255}, 4) == 0);
    REQUIRE(p.n_texts == 2);
    CHECK_STR(p.texts[0].key, "ztext");
    CHECK_STR(p.texts[0].value, "zipped words");
    CHECK_STR(p.texts[1].key, "late");
    CHECK_STR(p.texts[1].value, "caf\xc3\xa9 \xe2\x82\xac");
    sdf_tensor *im, *mk;
    REQUIRE(sdf_png_to_comfy_image(&p, &im, &mk, &err) == SDF_OK);
    CHECK(im->ndim == 4 && im->shape[0] == 1 && im->shape[1] == 2 && im->shape[2] == 2 &&
          im->shape[3] == 3);
    CHECK(sdf_tensor_f32p(im)[9] == 10.0f / 255.0f);
    /* no alpha: ComfyUI gives a 64x64 zero mask */
    CHECK(mk->ndim == 3 && mk->shape[0] == 1 && mk->shape[1] == 64 && mk->shape[2] == 64);
    CHECK(sdf_tensor_f32p(mk)[100] == 0.0f);
    sdf_tensor_release(im);
    sdf_tensor_release(mk);
    char *v = NULL;
    CHECK(sdf_png_read_text_memory(b.d, b.n, "t", "late", &v, &err) == SDF_OK);
    CHECK_STR(v, "caf\xc3\xa9 \xe2\x82\xac");
    sdf_free(v);
    CHECK(sdf_png_read_text_memory(b.d, b.n, "t", "absent", &v, &err) == SDF_OK && v == NULL);
    sdf_png_pixels_free(&p);
    free(b.d);
}

static void test_gray_and_16bit(void) {
    sdf_error err = {0};
    sdf_png_pixels p;
    /* 16-bit gray: Pillow mode "I"; ComfyUI: trunc(v/255) clipped to 255 (Pillow 9.4 gives
     * 0 0 1 1 2 3 255 254 for these) */
    uint16_t g16[8] = {0, 254, 382, 383, 510, 1000, 65535, 64898};
    uint8_t raw16[16];
    for (int i = 0; i < 8; i++) { raw16[2 * i] = (uint8_t)(g16[i] >> 8); raw16[2 * i + 1] = (uint8_t)g16[i]; }
    mbuf b = encode(8, 1, 16, PNG_COLOR_TYPE_GRAY, raw16, 16, NULL, 0, NULL, 0, NULL, 0);
    REQUIRE(decode(&b, &p, &err) == SDF_OK);
    const uint8_t want[8] = {0, 0, 1, 1, 2, 3, 255, 254};
    for (int i = 0; i < 8; i++) CHECKF(at(&p, i, 0)[0] == want[i] && at(&p, i, 0)[2] == want[i],
                                       "px %d: %d vs %d", i, at(&p, i, 0)[0], want[i]);
    sdf_png_pixels_free(&p);
    free(b.d);

    /* 16-bit RGB: high byte (Pillow rawmode RGB;16B): [0x1280,0x34FF,0x5601] -> 18,52,86 */
    uint8_t rgb16[12] = {0x12, 0x80, 0x34, 0xFF, 0x56, 0x01, 0xFF, 0xFF, 0x00, 0x00, 0x80, 0x80};
    b = encode(2, 1, 16, PNG_COLOR_TYPE_RGB, rgb16, 12, NULL, 0, NULL, 0, NULL, 0);
    REQUIRE(decode(&b, &p, &err) == SDF_OK);
    CHECK(memcmp(at(&p, 0, 0), (uint8_t[]){18, 52, 86, 255}, 4) == 0);
    CHECK(memcmp(at(&p, 1, 0), (uint8_t[]){255, 0, 128, 255}, 4) == 0);
    sdf_png_pixels_free(&p);
    free(b.d);

    /* 16-bit gray+alpha: Pillow RGBA [18,18,18,255], [171,171,171,0] */
    uint8_t la16[8] = {0x12, 0x34, 0xFF, 0x00, 0xAB, 0xCD, 0x00, 0xFF};
    b = encode(2, 1, 16, PNG_COLOR_TYPE_GRAY_ALPHA, la16, 8, NULL, 0, NULL, 0, NULL, 0);
    REQUIRE(decode(&b, &p, &err) == SDF_OK);
    CHECK(p.alpha == SDF_PNG_ALPHA_CHANNEL);
    CHECK(memcmp(at(&p, 0, 0), (uint8_t[]){18, 18, 18, 255}, 4) == 0);
    CHECK(memcmp(at(&p, 1, 0), (uint8_t[]){171, 171, 171, 0}, 4) == 0);
    sdf_tensor *im, *mk;
    REQUIRE(sdf_png_to_comfy_image(&p, &im, &mk, &err) == SDF_OK);
    CHECK(mk->shape[1] == 1 && mk->shape[2] == 2);
    CHECK(sdf_tensor_f32p(mk)[0] == 0.0f && sdf_tensor_f32p(mk)[1] == 1.0f);
    sdf_tensor_release(im);
    sdf_tensor_release(mk);
    sdf_png_pixels_free(&p);
    free(b.d);

    /* 2-bit gray: scaled by 85 like Pillow's L;2 */
    uint8_t g2[1] = {0x1B}; /* 00 01 10 11 */
    b = encode(4, 1, 2, PNG_COLOR_TYPE_GRAY, g2, 1, NULL, 0, NULL, 0, NULL, 0);
    REQUIRE(decode(&b, &p, &err) == SDF_OK);
    for (int i = 0; i < 4; i++) CHECK(at(&p, i, 0)[1] == 85 * i);
    sdf_png_pixels_free(&p);
    free(b.d);
}

static void test_palette_trns_and_interlace(void) {
    sdf_error err = {0};
    sdf_png_pixels p;
    png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    uint8_t trns[2] = {0, 128};
    uint8_t raw[3] = {0, 1, 2};
    mbuf b = encode(3, 1, 8, PNG_COLOR_TYPE_PALETTE, raw, 3, pal, 3, trns, 2, NULL, 0);
    REQUIRE(decode(&b, &p, &err) == SDF_OK);
    CHECK(p.alpha == SDF_PNG_ALPHA_PALETTE_TRNS);
    CHECK(memcmp(at(&p, 0, 0), (uint8_t[]){255, 0, 0, 0}, 4) == 0);
    CHECK(memcmp(at(&p, 1, 0), (uint8_t[]){0, 255, 0, 128}, 4) == 0);
    CHECK(memcmp(at(&p, 2, 0), (uint8_t[]){0, 0, 255, 255}, 4) == 0);
    sdf_tensor *im, *mk;
    REQUIRE(sdf_png_to_comfy_image(&p, &im, &mk, &err) == SDF_OK);
    CHECK(mk->shape[2] == 3);
    CHECK(sdf_tensor_f32p(mk)[0] == 1.0f);
    CHECK(sdf_tensor_f32p(mk)[1] == 1.0f - 128.0f / 255.0f);
    CHECK(sdf_tensor_f32p(mk)[2] == 0.0f);
    sdf_tensor_release(im);
    sdf_tensor_release(mk);
    /* LoadImageMask red channel and inverted alpha */
    REQUIRE(sdf_png_to_comfy_mask(&p, 0, &mk, &err) == SDF_OK);
    CHECK(sdf_tensor_f32p(mk)[0] == 1.0f && sdf_tensor_f32p(mk)[1] == 0.0f);
    sdf_tensor_release(mk);
    sdf_png_pixels_free(&p);
    free(b.d);

    /* RGB with a tRNS colour: Pillow keeps mode RGB, so LoadImage's mask is the 64x64 zeros */
    png_color_16 tc = {.red = 1, .green = 2, .blue = 3};
    uint8_t rgb[6] = {1, 2, 3, 4, 5, 6};
    b = encode(2, 1, 8, PNG_COLOR_TYPE_RGB, rgb, 6, NULL, 0, NULL, 0, &tc, 0);
    REQUIRE(decode(&b, &p, &err) == SDF_OK);
    CHECK(p.alpha == SDF_PNG_ALPHA_COLOR_TRNS);
    REQUIRE(sdf_png_to_comfy_image(&p, &im, &mk, &err) == SDF_OK);
    CHECK(mk->shape[1] == 64);
    sdf_tensor_release(im);
    sdf_tensor_release(mk);
    sdf_png_pixels_free(&p);
    free(b.d);

    /* Adam7 interlaced RGBA 9x7 */
    uint8_t big[9 * 7 * 4];
    for (int i = 0; i < 9 * 7 * 4; i++) big[i] = (uint8_t)(i * 7 + 3);
    b = encode(9, 7, 8, PNG_COLOR_TYPE_RGBA, big, 36, NULL, 0, NULL, 0, NULL, 1);
    REQUIRE(decode(&b, &p, &err) == SDF_OK);
    CHECK(memcmp(p.rgba, big, sizeof big) == 0);
    sdf_png_pixels_free(&p);
    free(b.d);
}

/* a 3x2 gray PNG with an eXIf chunk holding Orientation = o (big-endian TIFF: MM 42, IFD at 8,
 * one entry: 0x0112 SHORT count 1 value o) */
static mbuf encode_exif(int o, const uint8_t raw[6]) {
    uint8_t ex[26] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (uint8_t)o};
    mbuf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) { fprintf(stderr, "encode failed\n"); exit(1); }
    png_set_write_fn(png, &b, mb_write, mb_flush);
    png_set_IHDR(png, info, 3, 2, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_eXIf_1(png, info, sizeof ex, ex);
    png_write_info(png, info);
    png_bytep rows[2] = {(png_bytep)raw, (png_bytep)raw + 3};
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return b;
}

static void test_exif_orientation(void) {
    /* a 3x2 gray image [[0,10,20],[30,40,50]] with an eXIf Orientation; expected pixels are what
     * Pillow 9.4's ImageOps.exif_transpose returns for each orientation */
    const uint8_t raw[6] = {0, 10, 20, 30, 40, 50};
    const uint8_t want[9][6] = {{0}, {0}, {20, 10, 0, 50, 40, 30}, {50, 40, 30, 20, 10, 0},
                                {30, 40, 50, 0, 10, 20}, {0, 30, 10, 40, 20, 50},
                                {30, 0, 40, 10, 50, 20}, {50, 20, 40, 10, 30, 0},
                                {20, 50, 10, 40, 0, 30}};
    for (int o = 1; o <= 8; o++) {
        mbuf b = encode_exif(o, raw);
        sdf_png_pixels p;
        sdf_error err = {0};
        REQUIRE(decode(&b, &p, &err) == SDF_OK);
        CHECK(p.orientation == o);
        bool swap = o >= 5;
        CHECK(p.width == (swap ? 2u : 3u) && p.height == (swap ? 3u : 2u));
        for (int i = 0; i < 6; i++) {
            uint8_t w = o == 1 ? raw[i] : want[o][i];
            CHECKF(p.rgba[i * 4] == w, "orientation %d px %d: %d vs %d", o, i, p.rgba[i * 4], w);
        }
        sdf_png_pixels_free(&p);
        free(b.d);
    }
}

static void test_write_roundtrip(void) {
    sdf_error err = {0};
    uint8_t px[5 * 3 * 4];
    for (int i = 0; i < 60; i++) px[i] = (uint8_t)(i * 13);
    sdf_png_text t[3] = {{"prompt", "{\"3\": {\"class_type\": \"KSampler\"}}"},
                         {"workflow", "caf\xc3\xa9"},           /* Latin-1 -> tEXt */
                         {"parameters", "\xe7\x8c\xab, a cat"}}; /* not Latin-1 -> iTXt */
    sdf_png_write_opts o = {.compress_level = 4, .texts = t, .n_texts = 3};
    for (int ch = 3; ch <= 4; ch++) {
        uint8_t *d;
        size_t n;
        REQUIRE(sdf_png_write_memory(px, 5, 3, ch, &o, &d, &n, &err) == SDF_OK);
        /* chunk order: IHDR, then the text chunks, then IDAT */
        size_t off = 8;
        const char *order[6];
        int k = 0;
        while (off + 8 <= n && k < 6) {
            uint32_t len = (uint32_t)d[off] << 24 | (uint32_t)d[off + 1] << 16 | (uint32_t)d[off + 2] << 8 | d[off + 3];
            const char *type = (const char *)d + off + 4;
            order[k++] = !memcmp(type, "IHDR", 4) ? "IHDR" : !memcmp(type, "tEXt", 4) ? "tEXt"
                       : !memcmp(type, "iTXt", 4) ? "iTXt" : !memcmp(type, "IDAT", 4) ? "IDAT" : "?";
            off += 12 + len;
        }
        REQUIRE(k >= 5);
        CHECK_STR(order[0], "IHDR");
        CHECK_STR(order[1], "tEXt");
        CHECK_STR(order[2], "tEXt");
        CHECK_STR(order[3], "iTXt");
        CHECK_STR(order[4], "IDAT");
        sdf_png_pixels p;
        REQUIRE(sdf_png_read_memory(d, n, "rt", NULL, &p, &err) == SDF_OK);
        CHECK(p.width == 5 && p.height == 3 && p.bit_depth == 8);
        for (int i = 0; i < 15; i++)
            for (int c = 0; c < 4; c++) {
                uint8_t want = c < ch ? px[i * ch + c] : 255;
                CHECK(p.rgba[i * 4 + c] == want);
            }
        REQUIRE(p.n_texts == 3);
        for (int i = 0; i < 3; i++) {
            CHECK_STR(p.texts[i].key, t[i].key);
            CHECK_STR(p.texts[i].value, t[i].value);
        }
        sdf_png_pixels_free(&p);
        sdf_free(d);
    }
    /* files: atomic write, then read back the text without decoding into memory */
    const char *path = SDF_BINARY_DIR "/test_png_roundtrip.png";
    REQUIRE(sdf_png_write(path, px, 5, 3, 4, &o, &err) == SDF_OK);
    char *v = NULL;
    CHECK(sdf_png_read_text(path, "prompt", &v, &err) == SDF_OK);
    CHECK_STR(v, t[0].value);
    sdf_free(v);
    CHECK(sdf_png_read_text(path, "parameters", &v, &err) == SDF_OK);
    CHECK_STR(v, t[2].value);
    sdf_free(v);
    remove(path);
    /* bad keys are refused */
    sdf_png_text bad = {"", "x"};
    sdf_png_write_opts ob = {.compress_level = 1, .texts = &bad, .n_texts = 1};
    uint8_t *d;
    size_t n;
    CHECK(sdf_png_write_memory(px, 5, 3, 3, &ob, &d, &n, &err) == SDF_ERR_INVALID);
}

static void test_image_to_u8(void) {
    sdf_error err = {0};
    sdf_tensor *t = sdf_tensor_f32(&err, 4, 1, 1, 3, 3);
    float v[9] = {-0.5f, 0.0f, 1.0f / 255.0f, 0.5f, 0.99999f, 1.0f, 2.0f, NAN, 0.0039215f};
    memcpy(sdf_tensor_f32p(t), v, sizeof v);
    uint8_t *o;
    int ch;
    REQUIRE(sdf_png_image_to_u8(t, 0, &o, &ch, &err) == SDF_OK);
    CHECK(ch == 3);
    /* uint8(clip(255*x)) truncates: 0.5 -> 127, 0.99999 -> 254, 0.0039215*255 = 0.99998 -> 0 */
    const uint8_t want[9] = {0, 0, 1, 127, 254, 255, 255, 0, 0};
    for (int i = 0; i < 9; i++) CHECKF(o[i] == want[i], "%d: %d vs %d", i, o[i], want[i]);
    sdf_free(o);
    sdf_tensor_release(t);
}

static void test_truncated_and_corrupt(void) {
    uint8_t raw[16 * 16 * 3];
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = (uint8_t)(i * 31);
    mbuf b = encode(16, 16, 8, PNG_COLOR_TYPE_RGB, raw, 48, NULL, 0, NULL, 0, NULL, 0);
    sdf_error err = {0};
    sdf_png_pixels p;
    /* every truncation that cuts into the pixels must fail; none may crash */
    int fails = 0, n_cut = 0;
    for (size_t cut = 0; cut < b.n; cut++) {
        sdf_error_clear(&err);
        sdf_status st = sdf_png_read_memory(b.d, cut, "cut.png", NULL, &p, &err);
        if (st == SDF_OK) sdf_png_pixels_free(&p);
        else {
            fails++;
            if (cut > 8) CHECK(strstr(err.msg, "cut.png") != NULL);
        }
        n_cut++;
        char *v = NULL;
        if (sdf_png_read_text_memory(b.d, cut, "cut.png", "nope", &v, &err) == SDF_OK) sdf_free(v);
    }
    /* everything short of the IEND chunk (last 12 bytes) at least loses IDAT data */
    CHECK(fails >= n_cut - 12);
    /* flip each byte in turn: CRCs or zlib catch it, or the decode is merely different (tight
     * limits: a flipped IHDR may announce a large image, which is legal up to the limits) */
    sdf_png_limits lim = {.max_width = 256, .max_height = 256, .max_pixels = 4096};
    /* a flipped chunk length announces up to 1.5 GB: refused, never allocated (libpng would
     * otherwise treat "chunk data is too large" as a mere warning) */
    size_t live0 = sdf_alloc_live_bytes();
    sdf_alloc_reset_peak();
    for (size_t i = 8; i < b.n; i++) {
        uint8_t *c = malloc(b.n);
        memcpy(c, b.d, b.n);
        c[i] ^= 0x5A;
        sdf_error_clear(&err);
        if (sdf_png_read_memory(c, b.n, "flip.png", &lim, &p, &err) == SDF_OK) sdf_png_pixels_free(&p);
        else CHECK(err.code == SDF_ERR_PARSE || err.code == SDF_ERR_INVALID);
        free(c);
    }
    CHECK(sdf_alloc_peak_bytes() - live0 < 80u * 1024 * 1024);
    /* a byte flip inside IDAT data is a CRC error */
    uint8_t *c = malloc(b.n);
    memcpy(c, b.d, b.n);
    size_t idat = 8;
    while (memcmp(c + idat + 4, "IDAT", 4) != 0)
        idat += 12 + ((size_t)c[idat] << 24 | (size_t)c[idat + 1] << 16 | (size_t)c[idat + 2] << 8 | c[idat + 3]);
    c[idat + 8 + 5] ^= 1;
    CHECK(sdf_png_read_memory(c, b.n, "crc.png", NULL, &p, &err) == SDF_ERR_PARSE);
    CHECK(strstr(err.msg, "crc.png") != NULL);
    free(c);
    /* not a PNG at all */
    CHECK(sdf_png_read_memory("GIF89a......", 12, "x.gif", NULL, &p, &err) == SDF_ERR_PARSE);
    CHECK(strstr(err.msg, "not a PNG") != NULL);
    CHECK(sdf_png_read("/nonexistent/dir/x.png", NULL, &p, &err) == SDF_ERR_IO);
    free(b.d);
}

static uint32_t crc32_(const uint8_t *d, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= d[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static void test_pixel_bomb(void) {
    /* a valid header announcing 60000 x 60000 RGBA: must be refused before any allocation */
    uint8_t f[8 + 25 + 14 + 12];
    memcpy(f, "\x89PNG\r\n\x1a\n", 8);
    put32(f + 8, 13);
    memcpy(f + 12, "IHDR", 4);
    put32(f + 16, 60000);
    put32(f + 20, 60000);
    f[24] = 8; f[25] = 6; f[26] = 0; f[27] = 0; f[28] = 0;
    put32(f + 29, crc32_(f + 12, 17));
    put32(f + 33, 2); /* a 2-byte IDAT: the header is all png_read_info needs to see */
    memcpy(f + 37, "IDAT\x78\x9c", 6);
    put32(f + 43, crc32_(f + 37, 6));
    put32(f + 47, 0);
    memcpy(f + 51, "IEND", 4);
    put32(f + 55, crc32_(f + 51, 4));
    sdf_error err = {0};
    sdf_png_pixels p;
    size_t before = sdf_alloc_live_bytes();
    sdf_alloc_reset_peak();
    CHECK(sdf_png_read_memory(f, sizeof f, "bomb.png", NULL, &p, &err) == SDF_ERR_INVALID);
    fprintf(stderr, "  bomb: %s\n", err.msg);
    CHECK(strstr(err.msg, "bomb.png") && strstr(err.msg, "60000x60000"));
    CHECK(sdf_alloc_peak_bytes() - before < 1024 * 1024);
    /* tighter explicit limits refuse a small real image */
    uint8_t raw[12] = {0};
    mbuf b = encode(2, 2, 8, PNG_COLOR_TYPE_RGB, raw, 6, NULL, 0, NULL, 0, NULL, 0);
    sdf_png_limits lim = {.max_width = 100, .max_height = 100, .max_pixels = 3};
    CHECK(sdf_png_read_memory(b.d, b.n, "small.png", &lim, &p, &err) == SDF_ERR_INVALID);
    lim.max_pixels = 4;
    CHECK(sdf_png_read_memory(b.d, b.n, "small.png", &lim, &p, &err) == SDF_OK);
    sdf_png_pixels_free(&p);
    lim.max_width = 1;
    CHECK(sdf_png_read_memory(b.d, b.n, "small.png", &lim, &p, &err) == SDF_ERR_INVALID);
    free(b.d);
}

int main(void) {
    RUN(test_rgb8_and_texts);
    RUN(test_gray_and_16bit);
    RUN(test_palette_trns_and_interlace);
    RUN(test_exif_orientation);
    RUN(test_write_roundtrip);
    RUN(test_image_to_u8);
    RUN(test_truncated_and_corrupt);
    RUN(test_pixel_bomb);
    return test_summary();
}
