/* cachekey.c: node output keys. See cachekey.h. */
#include "cachekey.h"

#include <stdio.h>
#include <string.h>

#include "../base/sha256.h"
#include "../io/workflow.h"

static void put_str(sdf_sha256 *h, const char *s) {
    uint64_t n = s ? strlen(s) : 0;
    sdf_sha256_update(h, &n, sizeof n); /* length-prefixed: no ambiguity between fields */
    if (n) sdf_sha256_update(h, s, (size_t)n);
}

static void put_u64(sdf_sha256 *h, uint64_t v) { sdf_sha256_update(h, &v, sizeof v); }

static void put_literal(sdf_sha256 *h, const sdf_value *v) {
    char buf[64];
    switch (v->type) {
    case SDF_VT_INT:
        buf[0] = 'i';
        sdf_int_text(v->u.integer.i, v->u.integer.is_u64, buf + 1, sizeof buf - 1);
        put_str(h, buf);
        break;
    case SDF_VT_FLOAT:
        snprintf(buf, sizeof buf, "f%a", v->u.f); /* exact bits */
        put_str(h, buf);
        break;
    case SDF_VT_BOOLEAN: put_str(h, v->u.b ? "b1" : "b0"); break;
    default:
        put_str(h, "s");
        put_str(h, v->u.s);
        break;
    }
}

sdf_status sdf_cache_keys(const sdf_graph *g, const int *order, int n, const sdf_keyctx *kc,
                          uint8_t (*keys)[32], sdf_error *err) {
    for (int k = 0; k < n; k++) {
        int i = order[k];
        const sdf_graph_node *node = &g->nodes[i];
        const sdf_node_def *d = node->def;
        sdf_sha256 h;
        sdf_sha256_init(&h);
        put_str(&h, "sdflow-key-1");
        put_str(&h, kc ? kc->salt : NULL);
        put_str(&h, d->class_type);
        if (d->flags & SDF_NODE_NOT_CACHEABLE) {
            put_u64(&h, kc ? kc->nonce : 0);
            put_str(&h, node->id);
        }
        for (int j = 0; j < d->n_inputs && j < SDF_MAX_NODE_INPUTS; j++) {
            const sdf_input_def *in = &d->inputs[j];
            put_str(&h, in->name);
            if (node->link_node[j] >= 0) {
                put_str(&h, "link");
                sdf_sha256_update(&h, keys[node->link_node[j]], 32);
                put_u64(&h, (uint64_t)node->link_out[j]);
            } else if (node->literal[j]) {
                put_str(&h, "lit");
                put_literal(&h, node->literal[j]);
                if (in->file_kind != SDF_FILE_NONE && kc && kc->paths && kc->file_identity) {
                    char path[4096], id[4096 + 256];
                    sdf_error e;
                    sdf_error_clear(&e);
                    const char *name = node->literal[j]->u.s;
                    if (sdf_paths_find(kc->paths, in->file_kind, name, path, sizeof path, &e) ==
                        SDF_OK) {
                        sdf_status st = kc->file_identity(kc->user, path, id, sizeof id, err);
                        if (st) {
                            sdf_error_at_node(err, node->id, d->class_type);
                            sdf_error_at_input(err, in->name);
                            return st;
                        }
                        put_str(&h, id);
                    } else {
                        put_str(&h, "missing-file");
                    }
                }
            } else {
                put_str(&h, "absent");
            }
        }
        sdf_sha256_final(&h, keys[i]);
    }
    return SDF_OK;
}
