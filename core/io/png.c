/* png.c: libpng reader/writer; see png.h. Every libpng call that can fail runs inside a function
 * that owns the setjmp, and all memory it allocates is tracked through a state struct that lives
 * in the caller's frame, so a longjmp never leaks and never reads indeterminate locals. */
#include "png.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/alloc.h"

#define SDF_PNG_MAX_CHUNK (64u * 1024u * 1024u) /* largest ancillary chunk we accept */

/* ---- shared libpng plumbing ---- */

typedef struct png_msg {
    char msg[256];
} png_msg;

static void on_error(png_structp png, png_const_charp msg) {
    png_msg *m = png_get_error_ptr(png);
    if (m) snprintf(m->msg, sizeof m->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg; /* ancillary-chunk problems are not worth a failure; no printing from core/ */
}

static png_voidp on_malloc(png_structp png, png_alloc_size_t n) {
    (void)png;
    return sdf_malloc(n);
}

static void on_free(png_structp png, png_voidp p) {
    (void)png;
    sdf_free(p);
}

typedef struct rd_src {
    FILE          *f;
    const uint8_t *data;
    size_t         n, pos;
} rd_src;

static void on_read(png_structp png, png_bytep out, size_t len) {
    rd_src *s = png_get_io_ptr(png);
    if (s->f) {
        if (fread(out, 1, len, s->f) != len) png_error(png, "unexpected end of file (truncated)");
    } else {
        if (len > s->n - s->pos) png_error(png, "unexpected end of data (truncated)");
        memcpy(out, s->data + s->pos, len);
        s->pos += len;
    }
}

/* ---- text helpers ---- */

static char *latin1_to_utf8(const char *s, size_t n) {
    size_t cap;
    if (!sdf_mul_size(n, 2, &cap) || !sdf_add_size(cap, 1, &cap)) return NULL;
    char *o = sdf_malloc(cap);
    if (!o) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) o[k++] = (char)c;
        else {
            o[k++] = (char)(0xC0 | (c >> 6));
            o[k++] = (char)(0x80 | (c & 0x3F));
        }
    }
    o[k] = 0;
    return o;
}

static char *dup_n(const char *s, size_t n) {
    char *o = sdf_malloc(n + 1);
    if (!o) return NULL;
    if (n) memcpy(o, s, n);
    o[n] = 0;
    return o;
}

void sdf_png_texts_free(sdf_png_text *t, size_t n) {
    if (!t) return;
    for (size_t i = 0; i < n; i++) {
        sdf_free(t[i].key);
        sdf_free(t[i].value);
    }
    sdf_free(t);
}

void sdf_png_pixels_free(sdf_png_pixels *p) {
    if (!p) return;
    sdf_free(p->rgba);
    sdf_png_texts_free(p->texts, p->n_texts);
    memset(p, 0, sizeof *p);
}

/* ---- reading ---- */

typedef struct rd_state {
    png_msg      m;
    png_structp  png;
    png_infop    info, end;
    uint8_t     *raw;      /* decoded rows (after libpng transforms) */
    png_bytep   *rows;
    uint8_t     *rgba;
    sdf_png_text *texts;
    size_t        n_texts, cap_texts;
    bool          nomem;
    bool          bomb;
    char          bomb_msg[200];
    int           orientation; /* EXIF orientation 1..8 from an eXIf chunk, 0 when none */
} rd_state;

static bool collect_texts(rd_state *s, png_infop info) {
    png_textp tp = NULL;
    int n = 0;
    png_get_text(s->png, info, &tp, &n);
    for (int i = 0; i < n; i++) {
        if (s->n_texts == s->cap_texts) {
            size_t nc = s->cap_texts ? s->cap_texts * 2 : 4;
            sdf_png_text *t = sdf_realloc(s->texts, nc * sizeof *t);
            if (!t) return false;
            s->texts = t;
            s->cap_texts = nc;
        }
        sdf_png_text *t = &s->texts[s->n_texts];
        bool itxt = tp[i].compression == PNG_ITXT_COMPRESSION_NONE ||
                    tp[i].compression == PNG_ITXT_COMPRESSION_zTXt;
        const char *txt = tp[i].text ? tp[i].text : "";
        size_t len = itxt ? tp[i].itxt_length : tp[i].text_length;
        if (!tp[i].text) len = 0;
        t->key = latin1_to_utf8(tp[i].key, strlen(tp[i].key));
        t->value = itxt ? dup_n(txt, len) : latin1_to_utf8(txt, len);
        s->n_texts++;
        if (!t->key || !t->value) return false;
    }
    /* png_get_text returns all texts of this info; clear so a second call does not repeat them */
    png_free_data(s->png, info, PNG_FREE_TEXT, -1);
    return true;
}

static const char *find_text(const rd_state *s, const char *key) {
    for (size_t i = 0; i < s->n_texts; i++)
        if (strcmp(s->texts[i].key, key) == 0) return s->texts[i].value;
    return NULL;
}


/* EXIF Orientation (tag 0x0112) of a TIFF-format block, as Pillow's getexif reads it; 0 when
 * absent or malformed. */
static int exif_orientation(const uint8_t *d, size_t n) {
    if (n >= 6 && memcmp(d, "Exif\0\0", 6) == 0) {
        d += 6;
        n -= 6;
    }
    if (n < 8) return 0;
    bool le = d[0] == 'I' && d[1] == 'I';
    if (!le && !(d[0] == 'M' && d[1] == 'M')) return 0;
#define RD16(p) (le ? (unsigned)((p)[0] | (p)[1] << 8) : (unsigned)((p)[0] << 8 | (p)[1]))
#define RD32(p) (le ? ((uint32_t)(p)[0] | (uint32_t)(p)[1] << 8 | (uint32_t)(p)[2] << 16 | (uint32_t)(p)[3] << 24) \
                    : ((uint32_t)(p)[0] << 24 | (uint32_t)(p)[1] << 16 | (uint32_t)(p)[2] << 8 | (uint32_t)(p)[3]))
    if (RD16(d + 2) != 42) return 0;
    uint32_t off = RD32(d + 4);
    if (off > n || n - off < 2) return 0;
    unsigned cnt = RD16(d + off);
    for (unsigned i = 0; i < cnt; i++) {
        size_t e = (size_t)off + 2 + (size_t)i * 12;
        if (e + 12 > n) return 0;
        if (RD16(d + e) == 0x0112 && RD16(d + e + 2) == 3) {
            unsigned v = RD16(d + e + 8);
            return v >= 1 && v <= 8 ? (int)v : 0;
        }
    }
    return 0;
#undef RD16
#undef RD32
}

static void note_exif(rd_state *s, png_infop info) {
#ifdef PNG_eXIf_SUPPORTED
    png_uint_32 n = 0;
    png_bytep ex = NULL;
    if (!s->orientation && png_get_eXIf_1(s->png, info, &n, &ex) && ex)
        s->orientation = exif_orientation(ex, n);
#else
    (void)s;
    (void)info;
#endif
}

/* ImageOps.exif_transpose on the decoded RGBA (orientations 2..8); false on OOM. */
static bool apply_orientation(rd_state *s, uint32_t *wp, uint32_t *hp) {
    int o = s->orientation;
    if (o < 2 || o > 8) return true;
    uint32_t W = *wp, H = *hp;
    bool swap = o >= 5;
    uint32_t OW = swap ? H : W, OH = swap ? W : H;
    uint8_t *d = sdf_malloc((size_t)W * H * 4 + 1);
    if (!d) return false;
    for (uint32_t y = 0; y < OH; y++)
        for (uint32_t x = 0; x < OW; x++) {
            uint32_t sx, sy;
            switch (o) {
            case 2: sx = W - 1 - x; sy = y; break;
            case 3: sx = W - 1 - x; sy = H - 1 - y; break;
            case 4: sx = x; sy = H - 1 - y; break;
            case 5: sx = y; sy = x; break;
            case 6: sx = y; sy = H - 1 - x; break;
            case 7: sx = W - 1 - y; sy = H - 1 - x; break;
            default: sx = W - 1 - y; sy = x; break;
            }
            memcpy(d + ((size_t)y * OW + x) * 4, s->rgba + ((size_t)sy * W + sx) * 4, 4);
        }
    sdf_free(s->rgba);
    s->rgba = d;
    *wp = OW;
    *hp = OH;
    return true;
}

/* Runs under setjmp. mode: 0 = full decode, 1 = text only (stop early when key found). */
static int rd_body(rd_state *s, rd_src *src, const sdf_png_limits *lim, int mode,
                   const char *key, sdf_png_pixels *out) {
    uint32_t maxw = lim && lim->max_width ? lim->max_width : SDF_PNG_DEFAULT_MAX_DIM;
    uint32_t maxh = lim && lim->max_height ? lim->max_height : SDF_PNG_DEFAULT_MAX_DIM;
    uint64_t maxp = lim && lim->max_pixels ? lim->max_pixels : SDF_PNG_DEFAULT_MAX_PIXELS;
    png_set_read_fn(s->png, src, on_read);
    png_set_sig_bytes(s->png, 8);
    png_set_user_limits(s->png, 0x7fffffffu, 0x7fffffffu); /* we check ourselves, with a message */
    /* No chunk can be longer than the input holding it: a forged length must not make libpng
     * allocate (and clear) megabytes for a file of a few hundred bytes. */
    png_set_chunk_malloc_max(s->png, src->n && src->n < SDF_PNG_MAX_CHUNK ? (png_alloc_size_t)src->n
                                                                          : SDF_PNG_MAX_CHUNK);
    /* libpng reads "chunk data is too large" as a benign error, i.e. a warning, and then
     * allocates the announced length anyway: make benign errors fatal */
    png_set_benign_errors(s->png, 0);
    png_set_chunk_cache_max(s->png, 10000);
    png_read_info(s->png, s->info);

    png_uint_32 w = 0, h = 0;
    int depth = 0, ctype = 0, interlace = 0;
    png_get_IHDR(s->png, s->info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    if (w > maxw || h > maxh || (uint64_t)w * h > maxp) {
        s->bomb = true;
        snprintf(s->bomb_msg, sizeof s->bomb_msg,
                 "image is %ux%u (%llu pixels), above the limit of %ux%u and %llu pixels "
                 "(refusing a possible decompression bomb)",
                 (unsigned)w, (unsigned)h, (unsigned long long)w * h, maxw, maxh,
                 (unsigned long long)maxp);
        return 1;
    }
    if (!collect_texts(s, s->info)) { s->nomem = true; return 1; }
    if (mode == 1 && find_text(s, key)) return 0;

    bool has_trns = png_get_valid(s->png, s->info, PNG_INFO_tRNS) != 0;
    sdf_png_alpha alpha = SDF_PNG_ALPHA_NONE;
    if (ctype & PNG_COLOR_MASK_ALPHA) alpha = SDF_PNG_ALPHA_CHANNEL;
    else if (has_trns) alpha = ctype == PNG_COLOR_TYPE_PALETTE ? SDF_PNG_ALPHA_PALETTE_TRNS
                                                               : SDF_PNG_ALPHA_COLOR_TRNS;
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(s->png);
    if (has_trns) png_set_tRNS_to_alpha(s->png);
    if (!(ctype & PNG_COLOR_MASK_COLOR) && depth < 8) png_set_expand_gray_1_2_4_to_8(s->png);
    int passes = png_set_interlace_handling(s->png);
    png_read_update_info(s->png, s->info);
    size_t rowbytes = png_get_rowbytes(s->png, s->info);
    int ch = png_get_channels(s->png, s->info);
    int d = png_get_bit_depth(s->png, s->info);
    size_t total;
    if (!sdf_mul_size(rowbytes, h, &total)) { s->nomem = true; return 1; }

    if (mode == 1) { /* skip the pixels with one row of memory, then read the trailing chunks */
        s->raw = sdf_malloc(rowbytes ? rowbytes : 1);
        if (!s->raw) { s->nomem = true; return 1; }
        for (int p = 0; p < passes; p++)
            for (png_uint_32 y = 0; y < h; y++) png_read_row(s->png, s->raw, NULL);
        png_read_end(s->png, s->end);
        if (!collect_texts(s, s->end)) { s->nomem = true; return 1; }
        return 0;
    }

    s->raw = sdf_malloc(total ? total : 1);
    s->rows = sdf_malloc((size_t)h * sizeof *s->rows);
    size_t npx4;
    if (!sdf_mul_size((size_t)w * h, 4, &npx4)) { s->nomem = true; return 1; }
    s->rgba = sdf_malloc(npx4 ? npx4 : 1);
    if (!s->raw || !s->rows || !s->rgba) { s->nomem = true; return 1; }
    for (png_uint_32 y = 0; y < h; y++) s->rows[y] = s->raw + (size_t)y * rowbytes;
    png_read_image(s->png, s->rows);
    png_read_end(s->png, s->end);
    if (!collect_texts(s, s->end)) { s->nomem = true; return 1; }
    note_exif(s, s->info);
    note_exif(s, s->end);

    /* Convert to 8-bit RGBA like Pillow: 16-bit samples keep the high byte, except 16-bit gray
     * (mode "I"), which ComfyUI scales by 1/255 (truncating) before Pillow clips it to 255. */
    bool gray16_i = ctype == PNG_COLOR_TYPE_GRAY && depth == 16;
    int bps = d == 16 ? 2 : 1;
    for (png_uint_32 y = 0; y < h; y++) {
        const uint8_t *r = s->rows[y];
        uint8_t *o = s->rgba + (size_t)y * w * 4;
        for (png_uint_32 x = 0; x < w; x++, o += 4) {
            const uint8_t *p = r + (size_t)x * ch * bps;
            uint8_t v[4] = {0, 0, 0, 255};
            if (ch <= 2) {
                uint8_t g;
                if (gray16_i) {
                    unsigned u = ((unsigned)p[0] << 8) | p[1];
                    int iv = (int)((double)u * (1.0 / 255));
                    g = (uint8_t)(iv > 255 ? 255 : iv);
                } else {
                    g = p[0]; /* 8-bit, or the high byte of 16 */
                }
                v[0] = v[1] = v[2] = g;
                if (ch == 2) v[3] = p[bps];
            } else {
                v[0] = p[0];
                v[1] = p[bps];
                v[2] = p[2 * bps];
                if (ch == 4) v[3] = p[3 * bps];
            }
            memcpy(o, v, 4);
        }
    }
    if (!apply_orientation(s, &w, &h)) { s->nomem = true; return 1; }
    out->width = w;
    out->height = h;
    out->orientation = s->orientation;
    out->bit_depth = depth;
    out->color_type = ctype;
    out->alpha = alpha;
    return 0;
}

/* The setjmp lives here alone: after a longjmp nothing but the return value is used. */
typedef struct rd_args {
    rd_src *src;
    const sdf_png_limits *lim;
    int mode;
    const char *key;
    sdf_png_pixels *out;
} rd_args;

static int rd_run(rd_state *s, const rd_args *a) {
    if (setjmp(png_jmpbuf(s->png))) return 1;
    return rd_body(s, a->src, a->lim, a->mode, a->key, a->out);
}

static sdf_status rd_main(rd_src *src, const char *name, const sdf_png_limits *lim, int mode,
                          const char *key, sdf_png_pixels *out, char **value_out,
                          sdf_error *err) {
    const char *nm = name ? name : "(memory)";
    uint8_t sig[8];
    size_t got;
    if (src->f) got = fread(sig, 1, 8, src->f);
    else {
        got = src->n < 8 ? src->n : 8;
        memcpy(sig, src->data, got);
        src->pos = got;
    }
    if (got < 8 || png_sig_cmp(sig, 0, 8) != 0) {
        sdf_fail(err, SDF_ERR_PARSE, "%s is not a PNG file (bad signature)", nm);
        sdf_error_at_file(err, name);
        return SDF_ERR_PARSE;
    }
    rd_state s;
    memset(&s, 0, sizeof s);
    s.png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &s.m, on_error, on_warning, NULL,
                                     on_malloc, on_free);
    if (s.png) s.info = png_create_info_struct(s.png);
    if (s.png) s.end = png_create_info_struct(s.png);
    if (!s.png || !s.info || !s.end) {
        png_destroy_read_struct(s.png ? &s.png : NULL, s.info ? &s.info : NULL,
                                s.end ? &s.end : NULL);
        return sdf_fail(err, SDF_ERR_NOMEM, "reading %s", nm);
    }
    sdf_png_pixels tmp;
    memset(&tmp, 0, sizeof tmp);
    rd_args args = {src, lim, mode, key, &tmp};
    int bad = rd_run(&s, &args);
    png_destroy_read_struct(&s.png, &s.info, &s.end);
    sdf_free(s.raw);
    sdf_free(s.rows);
    sdf_status st = SDF_OK;
    if (bad) {
        if (s.nomem) st = sdf_fail(err, SDF_ERR_NOMEM, "out of memory reading %s", nm);
        else if (s.bomb) st = sdf_fail(err, SDF_ERR_INVALID, "%s: %s", nm, s.bomb_msg);
        else st = sdf_fail(err, SDF_ERR_PARSE, "%s: corrupt PNG: %s", nm,
                           s.m.msg[0] ? s.m.msg : "decode error");
        sdf_error_at_file(err, name);
        sdf_free(s.rgba);
        sdf_png_texts_free(s.texts, s.n_texts);
        return st;
    }
    if (mode == 1) {
        sdf_free(s.rgba);
        const char *v = find_text(&s, key);
        *value_out = NULL;
        if (v && !(*value_out = sdf_strdup(v))) st = sdf_fail(err, SDF_ERR_NOMEM, "text");
        sdf_png_texts_free(s.texts, s.n_texts);
        return st;
    }
    tmp.rgba = s.rgba;
    tmp.texts = s.texts;
    tmp.n_texts = s.n_texts;
    *out = tmp;
    return SDF_OK;
}

static sdf_status open_src(const char *path, rd_src *src, sdf_error *err) {
    memset(src, 0, sizeof *src);
    if (!path) return sdf_fail(err, SDF_ERR_INVALID, "no PNG path given");
    src->f = fopen(path, "rb");
    if (!src->f) {
        sdf_fail(err, SDF_ERR_IO, "cannot open %s", path);
        sdf_error_at_file(err, path);
        return SDF_ERR_IO;
    }
    /* the file size bounds every chunk (see rd_body) */
    if (fseek(src->f, 0, SEEK_END) == 0) {
        long sz = ftell(src->f);
        src->n = sz > 0 ? (size_t)sz : 0;
    }
    rewind(src->f);
    return SDF_OK;
}

sdf_status sdf_png_read(const char *path, const sdf_png_limits *limits, sdf_png_pixels *out,
                        sdf_error *err) {
    memset(out, 0, sizeof *out);
    rd_src src;
    sdf_status st = open_src(path, &src, err);
    if (st) return st;
    st = rd_main(&src, path, limits, 0, NULL, out, NULL, err);
    fclose(src.f);
    return st;
}

sdf_status sdf_png_read_memory(const void *data, size_t n, const char *name,
                               const sdf_png_limits *limits, sdf_png_pixels *out, sdf_error *err) {
    memset(out, 0, sizeof *out);
    rd_src src = {NULL, data, data ? n : 0, 0};
    return rd_main(&src, name, limits, 0, NULL, out, NULL, err);
}

sdf_status sdf_png_read_text(const char *path, const char *key, char **value_out, sdf_error *err) {
    *value_out = NULL;
    rd_src src;
    sdf_status st = open_src(path, &src, err);
    if (st) return st;
    st = rd_main(&src, path, NULL, 1, key, NULL, value_out, err);
    fclose(src.f);
    return st;
}

sdf_status sdf_png_read_text_memory(const void *data, size_t n, const char *name, const char *key,
                                    char **value_out, sdf_error *err) {
    *value_out = NULL;
    rd_src src = {NULL, data, data ? n : 0, 0};
    return rd_main(&src, name, NULL, 1, key, NULL, value_out, err);
}

/* ---- ComfyUI views of the pixels ---- */

sdf_status sdf_png_to_comfy_image(const sdf_png_pixels *p, sdf_tensor **image, sdf_tensor **mask,
                                  sdf_error *err) {
    *image = NULL;
    *mask = NULL;
    int64_t H = p->height, W = p->width;
    sdf_tensor *im = sdf_tensor_new(SDF_DTYPE_F32, 4, (int64_t[]){1, H, W, 3}, err);
    if (!im) return err ? err->code : SDF_ERR_NOMEM;
    float *d = sdf_tensor_f32p(im);
    size_t n = (size_t)H * (size_t)W;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) d[i * 3 + c] = (float)p->rgba[i * 4 + c] / 255.0f;
    sdf_tensor *mk;
    if (p->alpha == SDF_PNG_ALPHA_CHANNEL || p->alpha == SDF_PNG_ALPHA_PALETTE_TRNS) {
        mk = sdf_tensor_new(SDF_DTYPE_F32, 3, (int64_t[]){1, H, W}, err);
        if (mk) {
            float *m = sdf_tensor_f32p(mk);
            for (size_t i = 0; i < n; i++) m[i] = 1.0f - (float)p->rgba[i * 4 + 3] / 255.0f;
        }
    } else {
        mk = sdf_tensor_zeros(SDF_DTYPE_F32, 3, (int64_t[]){1, 64, 64}, err);
    }
    if (!mk) {
        sdf_tensor_release(im);
        return err ? err->code : SDF_ERR_NOMEM;
    }
    *image = im;
    *mask = mk;
    return SDF_OK;
}

sdf_status sdf_png_to_comfy_mask(const sdf_png_pixels *p, int channel, sdf_tensor **mask,
                                 sdf_error *err) {
    *mask = NULL;
    if (channel < 0 || channel > 3)
        return sdf_fail(err, SDF_ERR_INVALID, "channel %d is not 0..3", channel);
    int64_t H = p->height, W = p->width;
    sdf_tensor *mk = sdf_tensor_new(SDF_DTYPE_F32, 3, (int64_t[]){1, H, W}, err);
    if (!mk) return err ? err->code : SDF_ERR_NOMEM;
    float *m = sdf_tensor_f32p(mk);
    size_t n = (size_t)H * (size_t)W;
    for (size_t i = 0; i < n; i++) {
        float v = (float)p->rgba[i * 4 + channel] / 255.0f;
        m[i] = channel == 3 ? 1.0f - v : v;
    }
    *mask = mk;
    return SDF_OK;
}

sdf_status sdf_png_image_to_u8(const sdf_tensor *image, int64_t b, uint8_t **out,
                               int *channels_out, sdf_error *err) {
    *out = NULL;
    if (!image || image->dtype != SDF_DTYPE_F32 || image->ndim != 4 || b < 0 ||
        b >= image->shape[0])
        return sdf_fail(err, SDF_ERR_SHAPE, "expected an IMAGE [B,H,W,C] f32 with item %lld",
                        (long long)b);
    int64_t H = image->shape[1], W = image->shape[2], C = image->shape[3];
    if (C != 1 && C != 3 && C != 4)
        return sdf_fail(err, SDF_ERR_SHAPE, "cannot save an image with %lld channels", (long long)C);
    int oc = C == 4 ? 4 : 3;
    size_t n = (size_t)H * (size_t)W;
    uint8_t *o = sdf_malloc(n * (size_t)oc + 1);
    if (!o) return sdf_fail(err, SDF_ERR_NOMEM, "image bytes");
    const float *s = sdf_tensor_f32p(image) + (size_t)b * n * (size_t)C;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < oc; c++) {
            float v = 255.0f * s[i * (size_t)C + (C == 1 ? 0 : (size_t)c)];
            uint8_t u;
            if (!(v > 0.0f)) u = 0; /* also NaN */
            else if (v >= 255.0f) u = 255;
            else u = (uint8_t)v; /* truncation, like numpy astype(uint8) */
            o[i * (size_t)oc + (size_t)c] = u;
        }
    *out = o;
    *channels_out = oc;
    return SDF_OK;
}

/* ---- writing ---- */

typedef struct wr_buf {
    uint8_t *data;
    size_t   n, cap;
    bool     nomem;
} wr_buf;

static void on_write(png_structp png, png_bytep d, size_t len) {
    wr_buf *b = png_get_io_ptr(png);
    size_t need;
    if (!sdf_add_size(b->n, len, &need)) { b->nomem = true; png_error(png, "size overflow"); }
    if (need > b->cap) {
        size_t nc = b->cap ? b->cap : 65536;
        while (nc < need) nc *= 2;
        uint8_t *p = sdf_realloc(b->data, nc);
        if (!p) { b->nomem = true; png_error(png, "out of memory"); }
        b->data = p;
        b->cap = nc;
    }
    memcpy(b->data + b->n, d, len);
    b->n += len;
}

static void on_flush(png_structp png) { (void)png; }

/* UTF-8 -> Latin-1 when every code point is <= 0xFF; NULL otherwise (or on bad UTF-8). */
static char *utf8_to_latin1(const char *s) {
    size_t n = strlen(s);
    char *o = sdf_malloc(n + 1);
    if (!o) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) { o[k++] = (char)c; i++; }
        else if ((c == 0xC2 || c == 0xC3) && i + 1 < n &&
                 ((unsigned char)s[i + 1] & 0xC0) == 0x80) {
            o[k++] = (char)(((c & 0x1F) << 6) | ((unsigned char)s[i + 1] & 0x3F));
            i += 2;
        } else { sdf_free(o); return NULL; }
    }
    o[k] = 0;
    return o;
}

typedef struct wr_state {
    png_msg     m;
    png_structp png;
    png_infop   info;
    png_bytep  *rows;
    png_text   *tx;
    char      **owned; /* latin-1 conversions */
    size_t      n_owned;
} wr_state;

static int wr_body(wr_state *s, wr_buf *b, const uint8_t *px, uint32_t w, uint32_t h, int ch,
                   const sdf_png_write_opts *o) {
    png_set_write_fn(s->png, b, on_write, on_flush);
    png_set_compression_level(s->png, o && o->compress_level >= 0 && o->compress_level <= 9
                                          ? o->compress_level : 4);
    png_set_compression_buffer_size(s->png, 65536); /* IDAT chunks of 64 KiB, as Pillow */
    png_set_IHDR(s->png, s->info, w, h, 8, ch == 4 ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (o && o->n_texts) png_set_text(s->png, s->info, s->tx, (int)o->n_texts);
    png_write_info(s->png, s->info);
    for (uint32_t y = 0; y < h; y++) s->rows[y] = (png_bytep)(px + (size_t)y * w * (size_t)ch);
    png_write_image(s->png, s->rows);
    png_write_end(s->png, s->info);
    return 0;
}

typedef struct wr_args {
    wr_buf *b;
    const uint8_t *px;
    uint32_t w, h;
    int ch;
    const sdf_png_write_opts *o;
} wr_args;

static int wr_run(wr_state *s, const wr_args *a) {
    if (setjmp(png_jmpbuf(s->png))) return 1;
    return wr_body(s, a->b, a->px, a->w, a->h, a->ch, a->o);
}

static bool key_ok(const char *k) {
    size_t n = strlen(k);
    if (n < 1 || n > 79 || k[0] == ' ' || k[n - 1] == ' ') return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c < 32 || (c > 126 && c < 161)) return false;
    }
    return true;
}

sdf_status sdf_png_write_memory(const uint8_t *pixels, uint32_t width, uint32_t height,
                                int channels, const sdf_png_write_opts *opts, uint8_t **out_data,
                                size_t *out_n, sdf_error *err) {
    *out_data = NULL;
    *out_n = 0;
    if (channels != 3 && channels != 4)
        return sdf_fail(err, SDF_ERR_INVALID, "PNG writer takes 3 or 4 channels, not %d", channels);
    if (width == 0 || height == 0 || width > 0x7fffffffu || height > 0x7fffffffu)
        return sdf_fail(err, SDF_ERR_INVALID, "cannot write a %ux%u PNG", width, height);
    size_t nt = opts ? opts->n_texts : 0;
    for (size_t i = 0; i < nt; i++)
        if (!opts->texts[i].key || !key_ok(opts->texts[i].key) || !opts->texts[i].value)
            return sdf_fail(err, SDF_ERR_INVALID, "invalid PNG text key \"%s\" (1..79 Latin-1)",
                            opts->texts[i].key ? opts->texts[i].key : "(null)");
    wr_state s;
    memset(&s, 0, sizeof s);
    wr_buf b = {0};
    sdf_status st = SDF_OK;
    s.rows = sdf_malloc((size_t)height * sizeof *s.rows);
    s.tx = sdf_calloc(nt + 1, sizeof *s.tx);
    s.owned = sdf_calloc(nt + 1, sizeof *s.owned);
    if (!s.rows || !s.tx || !s.owned) { st = sdf_fail(err, SDF_ERR_NOMEM, "PNG writer"); goto done; }
    for (size_t i = 0; i < nt; i++) {
        char *l1 = utf8_to_latin1(opts->texts[i].value);
        s.tx[i].key = (png_charp)opts->texts[i].key;
        if (l1) {
            s.owned[s.n_owned++] = l1;
            s.tx[i].compression = PNG_TEXT_COMPRESSION_NONE;
            s.tx[i].text = l1;
            s.tx[i].text_length = strlen(l1);
        } else {
            s.tx[i].compression = PNG_ITXT_COMPRESSION_NONE;
            s.tx[i].text = (png_charp)opts->texts[i].value;
            s.tx[i].itxt_length = strlen(opts->texts[i].value);
            s.tx[i].lang = (png_charp) "";
            s.tx[i].lang_key = (png_charp) "";
        }
    }
    s.png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &s.m, on_error, on_warning, NULL,
                                      on_malloc, on_free);
    if (s.png) s.info = png_create_info_struct(s.png);
    if (!s.png || !s.info) { st = sdf_fail(err, SDF_ERR_NOMEM, "PNG writer"); goto done; }
    wr_args args = {&b, pixels, width, height, channels, opts};
    if (wr_run(&s, &args)) {
        st = b.nomem ? sdf_fail(err, SDF_ERR_NOMEM, "encoding PNG")
                     : sdf_fail(err, SDF_ERR_INTERNAL, "encoding PNG: %s", s.m.msg);
        goto done;
    }
    *out_data = b.data;
    *out_n = b.n;
    b.data = NULL;
done:
    if (s.png) png_destroy_write_struct(&s.png, s.info ? &s.info : NULL);
    for (size_t i = 0; i < s.n_owned; i++) sdf_free(s.owned[i]);
    sdf_free(s.owned);
    sdf_free(s.tx);
    sdf_free(s.rows);
    sdf_free(b.data);
    return st;
}

sdf_status sdf_png_write(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height,
                         int channels, const sdf_png_write_opts *opts, sdf_error *err) {
    uint8_t *data = NULL;
    size_t n = 0;
    sdf_status st = sdf_png_write_memory(pixels, width, height, channels, opts, &data, &n, err);
    if (st) {
        sdf_error_at_file(err, path);
        return st;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        sdf_free(data);
        st = sdf_fail(err, SDF_ERR_IO, "cannot create %s", tmp);
        sdf_error_at_file(err, path);
        return st;
    }
    bool ok = fwrite(data, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    sdf_free(data);
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        st = sdf_fail(err, SDF_ERR_IO, "cannot write %s", path);
        sdf_error_at_file(err, path);
        return st;
    }
    return SDF_OK;
}
