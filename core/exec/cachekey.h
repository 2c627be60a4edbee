/* cachekey.h: the content key of every node's outputs (issue 2 §6; spec §5.4 semantics).
 *
 * Owns:      sdf_cache_keys: key(n) = sha256 of a version tag, the runtime salt (options that
 *            change results, e.g. --fp32-text-enc), n's class_type, then for each declared
 *            input in table order: absent | literal (typed, exact) | link (key of the source +
 *            output index), and for every COMBO input with a file kind, the identity of the
 *            file it names (path, size, mtime, sha256: supplied by the caller, which hashes
 *            each file once). Keys are content-based: renumbering nodes or editing _meta
 *            changes nothing; changing one literal changes that node's key and its dependants'.
 *            Nodes flagged SDF_NODE_NOT_CACHEABLE mix in a per-run nonce.
 * Ownership: keys are written into caller storage indexed by graph node.
 * Threads:   pure apart from the file_identity callback.
 */
#ifndef SDF_CACHEKEY_H
#define SDF_CACHEKEY_H

#include <stddef.h>
#include <stdint.h>

#include "../graph/graph.h"

typedef struct sdf_keyctx {
    const sdf_paths *paths;
    const char      *salt;
    uint64_t         nonce;
    /* Writes the identity text of the file at path (e.g. "path|size|mtime|sha256"). */
    sdf_status (*file_identity)(void *user, const char *path, char *out, size_t cap,
                                sdf_error *err);
    void *user;
} sdf_keyctx;

/* Computes keys[i] for every node index in order[0..n) (sources before users). */
sdf_status sdf_cache_keys(const sdf_graph *g, const int *order, int n, const sdf_keyctx *kc,
                          uint8_t (*keys)[32], sdf_error *err);

#endif
