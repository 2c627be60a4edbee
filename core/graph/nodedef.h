/* nodedef.h: the node-definition table type and the API a node's run function sees.
 *
 * Owns:      sdf_input_def / sdf_output_def / sdf_node_def (static, const tables in nodes/),
 *            sdf_registry (the table handed to the runtime, with aliases), and sdf_node_call
 *            accessors. One table drives validation, `sdflow nodes` (/object_info), the JSON
 *            Schema and the run log's resolved inputs.
 * Calls:     a run function reads validated, typed arguments by input index (sdf_arg_*), writes
 *            outputs with sdf_out_set (transfers one reference), and reaches the runtime through
 *            sdf_call_* (paths, thread pool, progress, cancellation, warnings, run-log notes).
 *            Node files do no maths and no I/O beyond calling core/.
 * Ownership: argument values are BORROWED for the duration of run; retain what you keep.
 * Threads:   a call is used by one thread; sdf_call_pool() gives the shared pool for kernels.
 */
#ifndef SDF_NODEDEF_H
#define SDF_NODEDEF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"
#include "../base/threadpool.h"
#include "../io/paths.h"
#include "value.h"

typedef struct cJSON cJSON;

typedef struct sdf_input_def {
    const char *name;
    sdf_vtype   type;       /* SDF_VT_COMBO for choice lists and file names */
    bool        optional;
    bool        link_only;  /* forceInput: must be a link even for widget types */
    /* literal defaults and bounds (INT uses i*, FLOAT uses f*) */
    int64_t     def_i;
    int64_t     min_i;
    uint64_t    max_i;      /* unsigned so seeds can reach 2^64-1 */
    double      def_f, min_f, max_f, step_f; /* step_f doubles as INT step */
    bool        def_b;
    const char *def_s;      /* STRING default; COMBO default (NULL: first choice) */
    bool        multiline;
    bool        control_after_generate; /* UI adds a widget value after this one (seeds) */
    const char *const *choices; /* static COMBO choices */
    int         n_choices;
    sdf_file_kind file_kind; /* COMBO of file names in that folder (choices dynamic) */
    const char *tooltip;
} sdf_input_def;

typedef struct sdf_output_def {
    const char *name; /* ComfyUI output name, e.g. "MODEL" or "LATENT" */
    sdf_vtype   type;
} sdf_output_def;

enum {
    SDF_NODE_OUTPUT = 1u << 0,      /* an output node (SaveImage, PreviewImage, ...) */
    SDF_NODE_NOT_CACHEABLE = 1u << 1 /* always re-executes (e.g. reads the clock) */
};

typedef struct sdf_node_call sdf_node_call;
typedef sdf_status (*sdf_node_run_fn)(sdf_node_call *call, sdf_error *err);

typedef struct sdf_node_def {
    const char           *class_type;
    const char           *display_name;
    const char           *category;
    const char           *description;
    const sdf_input_def  *inputs;
    int                   n_inputs;
    const sdf_output_def *outputs;
    int                   n_outputs;
    unsigned              flags;
    sdf_node_run_fn       run; /* NULL: defined but not implemented yet -> clear error at run */
} sdf_node_def;

/* Table-building helpers (designated initialisers; use inside an array indexed by an enum). */
#define SDF_IN_LINK(n, t) {.name = (n), .type = (t)}
#define SDF_IN_LINK_OPT(n, t) {.name = (n), .type = (t), .optional = true}
#define SDF_IN_INT(n, d, lo, hi, st) \
    {.name = (n), .type = SDF_VT_INT, .def_i = (d), .min_i = (lo), .max_i = (uint64_t)(hi), .step_f = (st)}
#define SDF_IN_SEED(n) \
    {.name = (n), .type = SDF_VT_INT, .def_i = 0, .min_i = 0, .max_i = UINT64_MAX, .step_f = 1, \
     .control_after_generate = true}
#define SDF_IN_FLOAT(n, d, lo, hi, st) \
    {.name = (n), .type = SDF_VT_FLOAT, .def_f = (d), .min_f = (lo), .max_f = (hi), .step_f = (st)}
#define SDF_IN_STRING(n, d, ml) {.name = (n), .type = SDF_VT_STRING, .def_s = (d), .multiline = (ml)}
#define SDF_IN_BOOL(n, d) {.name = (n), .type = SDF_VT_BOOLEAN, .def_b = (d)}
#define SDF_IN_COMBO(n, list, d) \
    {.name = (n), .type = SDF_VT_COMBO, .choices = (list), .n_choices = (int)SDF_COUNTOF(list), .def_s = (d)}
#define SDF_IN_FILE(n, kind) {.name = (n), .type = SDF_VT_COMBO, .file_kind = (kind)}

/* The node table handed to the runtime (nodes/registry.c builds the built-in one). */
typedef struct sdf_node_alias {
    const char *alias;
    const char *class_type;
} sdf_node_alias;

typedef struct sdf_registry {
    const sdf_node_def *const *defs;
    size_t                     n_defs;
    const sdf_node_alias      *aliases;
    size_t                     n_aliases;
} sdf_registry;

/* Finds a class by name or alias; NULL when unknown. */
const sdf_node_def *sdf_registry_find(const sdf_registry *r, const char *class_type);
/* Index of the input called name, or -1. */
int sdf_node_input_index(const sdf_node_def *d, const char *name);

/* ---- what a run function uses ---- */

bool        sdf_arg_has(const sdf_node_call *c, int i);   /* optional input present */
sdf_value  *sdf_arg(const sdf_node_call *c, int i);       /* borrowed; NULL if absent */
int64_t     sdf_arg_int(const sdf_node_call *c, int i);
uint64_t    sdf_arg_u64(const sdf_node_call *c, int i);   /* seeds */
double      sdf_arg_float(const sdf_node_call *c, int i);
bool        sdf_arg_bool(const sdf_node_call *c, int i);
const char *sdf_arg_str(const sdf_node_call *c, int i);   /* STRING and COMBO */
sdf_tensor *sdf_arg_tensor(const sdf_node_call *c, int i); /* IMAGE, MASK, SIGMAS; borrowed */
const sdf_latent       *sdf_arg_latent(const sdf_node_call *c, int i);
const sdf_conditioning *sdf_arg_cond(const sdf_node_call *c, int i);
void       *sdf_arg_handle(const sdf_node_call *c, int i); /* MODEL, CLIP, VAE object; borrowed */

/* Sets output i; takes over the caller's reference to v (also on failure). */
sdf_status sdf_out_set(sdf_node_call *c, int i, sdf_value *v, sdf_error *err);

const char         *sdf_call_node_id(const sdf_node_call *c);
const sdf_node_def *sdf_call_def(const sdf_node_call *c);
const sdf_paths    *sdf_call_paths(const sdf_node_call *c);
sdf_pool           *sdf_call_pool(const sdf_node_call *c);
/* Resolves the file named by COMBO input i through its file_kind (see paths.h). */
sdf_status sdf_call_find_file(const sdf_node_call *c, int i, char *out, size_t cap, sdf_error *err);
/* Progress of a long node (sampler steps): value of max. */
void sdf_call_progress(sdf_node_call *c, int64_t value, int64_t max);
/* True once the user asked to stop (SIGINT): return SDF_ERR_CANCELLED at the next safe point. */
bool sdf_call_cancelled(const sdf_node_call *c);
void sdf_call_warn(sdf_node_call *c, const char *fmt, ...) SDF_PRINTF(2, 3);
/* Run-log notes: a file this node read (its sha256 is recorded) and a file it wrote. */
void sdf_call_note_input_file(sdf_node_call *c, const char *path, const char *role);
void sdf_call_note_output_file(sdf_node_call *c, const char *path, int width, int height);
/* sha256 (hex) of a file, computed once per (path, size, mtime) by the runtime's run log and
 * remembered; without a runtime it is computed directly. */
sdf_status sdf_call_file_sha256(sdf_node_call *c, const char *path, char hex[65], sdf_error *err);
/* Free-form key/value facts for the run log (e.g. "lora.unmatched_keys"). */
void sdf_call_note(sdf_node_call *c, const char *key, const char *value);
/* The canonical API prompt being executed (for SaveImage metadata), and the UI workflow text it
 * came from (NULL when the input was API format). Borrowed. */
const cJSON *sdf_call_prompt(const sdf_node_call *c);
const char  *sdf_call_workflow_text(const sdf_node_call *c);
/* --fp32-text-enc: loaders keep text-encoder weights in f32 instead of ComfyUI's f16 default. */
bool sdf_call_fp32_text_enc(const sdf_node_call *c);
/* Runtime-wide resources shared across nodes and runs (the model cache); opaque here. */
void *sdf_call_resources(const sdf_node_call *c);

#endif
