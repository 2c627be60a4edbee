/* ckpt.h: a NON-EXECUTING reader for PyTorch checkpoint files (.ckpt/.pt/.bin/.pth).
 *
 * Owns:      the torch zip container (archive/data.pkl + archive/data/<key> storages, stored
 *            uncompressed) parsed by our own zip reader, and a pickle interpreter that only
 *            builds data: dicts, lists, tuples, strings, numbers, and tensors through the global
 *            allowlist of spec §4.1 (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
 *            torch.*Storage, ...). No pickle code is ever executed: any other global, or an
 *            opcode outside protocol 0-5 data building, is an error naming it.
 * Result:    the state dict (unwrapped from "state_dict" or a single nested dict, as ComfyUI
 *            does) as tensors: contiguous views of the mmap'd file when the storage is
 *            contiguous, else contiguous copies.
 * Ownership: sdf_ckpt_load_into adds tensors to a store (which retains them); the file mapping
 *            lives as long as any tensor view of it.
 * Threads:   reentrant.
 */
#ifndef SDF_CKPT_H
#define SDF_CKPT_H

#include <stddef.h>

#include "../base/error.h"
#include "../models/wstore.h"

enum {
    SDF_CKPT_KIND_SAFETENSORS = 0,
    SDF_CKPT_KIND_ZIP = 1,    /* torch >= 1.6 zip format */
    SDF_CKPT_KIND_PICKLE = 2, /* legacy: bare pickle stream (not supported for tensors) */
};

/* File kind by its first bytes; -1 (errno set) when it cannot be read. */
int sdf_ckpt_sniff(const char *path);

/* Reads a torch file and adds every tensor of its state dict to w as add_prefix + key. */
sdf_status sdf_ckpt_load_into(const char *path, sdf_wstore *w, const char *add_prefix,
                              sdf_error *err);
/* The same on an in-memory image (copied); name is used in messages. For tests and fuzzing. */
sdf_status sdf_ckpt_load_memory(const void *data, size_t n, const char *name, sdf_wstore *w,
                                const char *add_prefix, sdf_error *err);

#endif
