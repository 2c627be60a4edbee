/* workflow_ui.h: ComfyUI's UI ("workflow") format -> API ("prompt") format.
 *
 * Owns:      the conversion ComfyUI's frontend performs in graphToPrompt (spec §1.4, corrected by
 *            §10.8): widgets_values mapped to input names through the node definitions of a
 *            registry (seed control slots, image-upload button, forceInput migration, defaults
 *            for missing trailing values), links resolved through Reroute, bypassed (mode 4)
 *            nodes and PrimitiveNode, muted (mode 2) nodes and frontend-only nodes (Note,
 *            MarkdownNote) dropped, dangling links removed, load-time renames applied.
 *            Virtual nodes of two common frontend extensions are understood too: "Reroute
 *            (rgthree)" and KJNodes' SetNode pass their input through, a GetNode resolves to the
 *            SetNode of the same name, rgthree's panels/labels (Fast Groups Muter, Label, ...)
 *            are dropped.
 *            Numbers are copied verbatim from the source text (seeds up to 2^64-1 stay exact).
 *            filename_prefix widgets get the frontend's "%Node.widget%" replacement (node found
 *            by its "Node name for S&R", then by title; '/' and '\' in the value become '_').
 *            Dynamic prompts ({a|b}) and "%date:...%" are left untouched (no frontend at run
 *            time, spec §10.8.6; %date%, %width% etc. are the saving node's business).
 *            Legacy group nodes and subgraphs are reported as unsupported.
 * Ownership: *api_text_out is sdf_malloc'd JSON text (object: id -> {inputs, class_type, _meta});
 *            the caller frees it with sdf_free. Nothing is kept.
 * Threads:   pure functions; the registry is only read. warn may be NULL.
 */
#ifndef SDF_WORKFLOW_UI_H
#define SDF_WORKFLOW_UI_H

#include <stdbool.h>
#include <stddef.h>

#include "../base/error.h"
#include "../graph/nodedef.h"

typedef struct cJSON cJSON;

/* True when root looks like a UI workflow: an object with a "nodes" array (and "links"), as
 * opposed to an API prompt (an object of id -> {class_type, inputs}). */
bool sdf_workflow_is_ui(const cJSON *root);

/* Converts ui_text (len bytes, need not be NUL-terminated) to API JSON text. Warnings (extra
 * widget values ignored, links to missing nodes dropped, ...) go to warn(user, msg). Errors:
 * SDF_ERR_PARSE for text that is not JSON or not a UI workflow (message with line/column),
 * SDF_ERR_NOT_FOUND for an active node whose class the registry lacks (err->node_id,
 * err->class_type set), SDF_ERR_INVALID for a circular reroute/bypass chain,
 * SDF_ERR_UNSUPPORTED for group nodes / subgraphs, SDF_ERR_NOMEM. */
sdf_status sdf_workflow_ui_to_api(const char *ui_text, size_t len, const sdf_registry *reg,
                                  void (*warn)(void *user, const char *msg), void *user,
                                  char **api_text_out, sdf_error *err);

#endif
