/* tokenizer.h: the CLIP byte-level BPE tokenizer (what SD1/SD2 text encoders read).
 *
 * Owns:      sdf_tokenizer: the vocabulary (vocab.json, token -> id), the merge ranks
 *            (merges.txt) and a per-word BPE cache. Behaviour is transformers' slow
 *            CLIPTokenizer without ftfy (spec §10.6 item 7): exact "<|startoftext|>" /
 *            "<|endoftext|>" split out first; C* characters (except \t \n \r), U+0000 and U+FFFD
 *            deleted; \t \n \r and Zs become spaces; CJK unified ideographs spaced; NFC; split on
 *            whitespace; lower-cased per word (Python str.lower: utf8proc simple mapping plus
 *            U+0130 -> "i\u0307" and the final-sigma rule; the Unicode version is utf8proc's);
 *            CLIP's split pattern; byte-to-unicode; BPE with "</w>" on the last symbol; unknown
 *            symbols map to <|endoftext|> (49407).
 * Ownership: sdf_tokenizer_load_* return a NEW tokenizer the caller frees with
 *            sdf_tokenizer_free. Encoded id arrays are sdf_malloc'd; the caller frees them.
 * Threads:   a loaded tokenizer is immutable except for its cache, which has its own lock:
 *            sdf_tokenizer_encode may run concurrently on one tokenizer.
 */
#ifndef SDF_TOKENIZER_H
#define SDF_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"

#define SDF_CLIP_BOS 49406
#define SDF_CLIP_EOS 49407

typedef struct sdf_tokenizer sdf_tokenizer;

/* Reads <dir>/vocab.json and <dir>/merges.txt. */
sdf_status sdf_tokenizer_load_dir(const char *dir, sdf_tokenizer **out, sdf_error *err);
/* From the two files' contents (e.g. a checkpoint's "sdflow.clip_vocab_json" and
 * "sdflow.clip_merges" metadata). `what` names the source in error messages. */
sdf_status sdf_tokenizer_load_strings(const char *vocab_json, size_t vocab_len, const char *merges,
                                      size_t merges_len, const char *what, sdf_tokenizer **out,
                                      sdf_error *err);
void       sdf_tokenizer_free(sdf_tokenizer *t); /* NULL-safe */

/* Token ids of text without BOS/EOS (transformers' `tokenizer(text).input_ids[1:-1]`).
 * *ids is sdf_malloc'd (NULL when *n == 0). Invalid UTF-8 bytes read as U+FFFD. */
sdf_status sdf_tokenizer_encode(sdf_tokenizer *t, const char *text, size_t len, int32_t **ids,
                                size_t *n, sdf_error *err);

/* id of a vocabulary entry (byte-encoded form, e.g. "cat</w>"), or -1. */
int32_t sdf_tokenizer_token_id(const sdf_tokenizer *t, const char *token);
size_t  sdf_tokenizer_vocab_size(const sdf_tokenizer *t);

#endif
