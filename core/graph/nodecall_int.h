/* nodecall_int.h: the inside of sdf_node_call, for the executor and tests only.
 *
 * Owns:      the host vtable through which a running node reaches the runtime, and the call
 *            record (resolved argument values per input index, output slots).
 * Ownership: args are borrowed from the executor; outputs hold one reference each, released by
 *            sdf_node_call_deinit unless the executor takes them (set the slot to NULL).
 */
#ifndef SDF_NODECALL_INT_H
#define SDF_NODECALL_INT_H

#include "nodedef.h"

typedef struct sdf_call_host {
    void *user;
    const sdf_paths *paths;
    sdf_pool        *pool;
    void *resources;
    const cJSON *prompt;
    const char  *workflow_text;
    bool         fp32_text_enc; /* --fp32-text-enc: keep text-encoder weights f32 */
    void (*progress)(void *user, const char *node_id, int64_t value, int64_t max);
    bool (*cancelled)(void *user);
    void (*warn)(void *user, const char *node_id, const char *msg);
    void (*note_input_file)(void *user, const char *node_id, const char *path, const char *role);
    void (*note_output_file)(void *user, const char *node_id, const char *path, int w, int h);
    void (*note)(void *user, const char *node_id, const char *key, const char *value);
    sdf_status (*file_sha256)(void *user, const char *path, char hex[65], sdf_error *err);
} sdf_call_host;

#define SDF_MAX_NODE_INPUTS 32
#define SDF_MAX_NODE_OUTPUTS 8

struct sdf_node_call {
    const sdf_node_def  *def;
    const char          *node_id;
    const sdf_call_host *host;
    sdf_value           *args[SDF_MAX_NODE_INPUTS];   /* borrowed, by input index */
    sdf_value           *outputs[SDF_MAX_NODE_OUTPUTS];
};

/* Runs def->run on the call, checking afterwards that every output was set with the declared
 * type. Fills err's node context. Outputs stay in call->outputs. */
sdf_status sdf_node_call_run(sdf_node_call *c, sdf_error *err);
void       sdf_node_call_deinit(sdf_node_call *c); /* releases unclaimed outputs */

#endif
