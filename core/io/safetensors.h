/* safetensors.h: read (mmap, zero-copy, fully validated) and write .safetensors files.
 *
 * Owns:      sdf_st_file, a refcounted read-only mapping of one file plus its parsed header;
 *            sdf_st_writer, which collects tensors and writes a file atomically (temp + rename).
 * Format:    u64 little-endian header length N, N bytes of JSON {name: {dtype, shape,
 *            data_offsets:[begin,end)}, "__metadata__": {str: str}}, then the data area.
 * Checks:    before anything is used: N against the file size, N <= 100 MB, a well-formed JSON
 *            object, known dtypes, shape x dtype size == data span, offsets inside the data area,
 *            no overlapping spans, no duplicate names; all arithmetic overflow-checked. Every
 *            failure names the file (err->path) and, where there is one, the tensor.
 * Ownership: sdf_st_open returns a NEW reference; sdf_st_close releases it. Tensors returned by
 *            sdf_st_tensor are views that keep the mapping alive on their own, so the file may
 *            be closed while they live. Entry pointers are valid while the file is open.
 * Threads:   an open file is immutable and may be read from any thread.
 */
#ifndef SDF_SAFETENSORS_H
#define SDF_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"
#include "../tensor/tensor.h"

#define SDF_ST_MAX_HEADER (100u * 1024u * 1024u)

typedef struct sdf_st_file sdf_st_file;

typedef struct sdf_st_entry {
    const char *name;
    sdf_dtype   dtype;
    int         ndim;
    int64_t     shape[SDF_MAX_DIMS];
    size_t      offset; /* from the start of the data area */
    size_t      nbytes;
} sdf_st_entry;

sdf_status sdf_st_open(const char *path, sdf_st_file **out, sdf_error *err);
/* Parses a file image held in memory (copied); `name` is used in messages. For tests/fuzzing. */
sdf_status sdf_st_open_memory(const void *data, size_t n, const char *name, sdf_st_file **out,
                              sdf_error *err);
sdf_st_file *sdf_st_retain(sdf_st_file *f);
void         sdf_st_close(sdf_st_file *f); /* NULL-safe; releases one reference */

const char         *sdf_st_path(const sdf_st_file *f);
size_t              sdf_st_count(const sdf_st_file *f);
const sdf_st_entry *sdf_st_entry_at(const sdf_st_file *f, size_t i); /* sorted by name */
const sdf_st_entry *sdf_st_find(const sdf_st_file *f, const char *name); /* NULL if absent */
const void         *sdf_st_data(const sdf_st_file *f, const sdf_st_entry *e);
size_t              sdf_st_file_size(const sdf_st_file *f);

/* __metadata__: string values only (non-string values are kept as their JSON text). */
size_t      sdf_st_meta_count(const sdf_st_file *f);
const char *sdf_st_meta_key(const sdf_st_file *f, size_t i);
const char *sdf_st_meta_value(const sdf_st_file *f, size_t i);
const char *sdf_st_meta_get(const sdf_st_file *f, const char *key); /* NULL if absent */

/* Zero-copy view of a tensor in its stored dtype (copied when the data is misaligned).
 * NULL + SDF_ERR_NOT_FOUND when absent. */
sdf_tensor *sdf_st_tensor(sdf_st_file *f, const char *name, sdf_error *err);
/* The tensor as F32: a view when stored F32 and aligned, else a converted copy. */
sdf_tensor *sdf_st_tensor_f32(sdf_st_file *f, const char *name, sdf_error *err);

/* Tells the kernel the pages of e's data are not needed now (after converting them to f32): they
 * leave this process's resident set and are read again from the page cache if touched. No-op
 * for in-memory files. */
void sdf_st_release_pages(const sdf_st_file *f, const sdf_st_entry *e);

/* ---- writer ---- */
typedef struct sdf_st_writer sdf_st_writer;
/* Produces the bytes of a tensor at save time (streaming writers such as make-model). */
typedef sdf_status (*sdf_st_fill_fn)(void *ctx, void *dst, size_t nbytes, sdf_error *err);

sdf_st_writer *sdf_st_writer_new(void);
void           sdf_st_writer_free(sdf_st_writer *w);
/* Retains t until the writer is freed. */
sdf_status sdf_st_writer_add(sdf_st_writer *w, const char *name, sdf_tensor *t, sdf_error *err);
sdf_status sdf_st_writer_add_fn(sdf_st_writer *w, const char *name, sdf_dtype dt, int ndim,
                                const int64_t *shape, sdf_st_fill_fn fill, void *ctx,
                                sdf_error *err);
sdf_status sdf_st_writer_meta(sdf_st_writer *w, const char *key, const char *value,
                              sdf_error *err);
/* Writes path atomically (path.tmp.<pid> then rename). Tensors are sorted by name. */
sdf_status sdf_st_writer_save(sdf_st_writer *w, const char *path, sdf_error *err);

#endif
