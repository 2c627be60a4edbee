"""Byte-level BPE in CLIP's format, trained on the demo captions.

Pipeline (the one sdflow's tokenizer applies to any CLIP vocabulary, spec §4.4 / §10.6 item 7):
whitespace clean-up, lowercase, CLIP's pre-tokenisation regex, bytes -> CLIP's byte-to-unicode
symbols, `</w>` on each word's last symbol, merges applied by rank, vocab lookup.
vocab.json order follows CLIP: 256 byte symbols, the same with `</w>`, one entry per merge,
then `<|startoftext|>` and `<|endoftext|>` (so end-of-text is the highest id, as in CLIP).
merges.txt starts with a `#version: 0.2` line, one "a b" merge per line.
"""
import json
import re
from collections import Counter

# CLIP's pattern uses \p{L} / \p{N}; Python's re has no \p, so letters are [^\W\d_] and numbers \d
# (identical on the ASCII captions the vocabulary is trained on).
PAT = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+",
                 re.IGNORECASE)
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


B2U = bytes_to_unicode()


def words(text):
    text = " ".join(text.split()).lower()
    return ["".join(B2U[b] for b in w.encode("utf-8")) for w in PAT.findall(text)]


def train(captions, max_merges=2000):
    """Greedy BPE: merge the most frequent adjacent pair (ties: lexicographically smallest) until
    every training word is one symbol or max_merges is reached. Returns the merge list."""
    freq = Counter()
    for c in captions:
        freq.update(words(c))
    seqs = {w: tuple(w[:-1]) + (w[-1] + "</w>",) for w in freq}
    merges = []
    while len(merges) < max_merges:
        pairs = Counter()
        for w, s in seqs.items():
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += freq[w]
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        for w, s in seqs.items():
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = tuple(out)
    return merges


def build_vocab(merges):
    syms = list(B2U.values())
    vocab = syms + [s + "</w>" for s in syms] + ["".join(m) for m in merges] + [BOS, EOS]
    return {t: i for i, t in enumerate(vocab)}


def vocab_json(vocab):
    return json.dumps(vocab, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def merges_txt(merges):
    return "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)


class Tokenizer:
    """Encodes like CLIP's tokenizer with these files: [BOS] tokens [EOS], padded with EOS to 77."""

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.cache = {}
        self.bos, self.eos = vocab[BOS], vocab[EOS]

    def bpe(self, w):
        if w in self.cache:
            return self.cache[w]
        s = list(w[:-1]) + [w[-1] + "</w>"]
        while len(s) > 1:
            cand = [(self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(s, s[1:]))]
            r, _ = min(cand)
            if r == 1 << 30:
                break
            pair = next((a, b) for (a, b), (rr, _) in zip(zip(s, s[1:]), cand) if rr == r)
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == pair:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            s = out
        self.cache[w] = s
        return s

    def tokens(self, text):
        out = []
        for w in words(text):
            if w in (BOS, EOS):
                out.append(self.vocab[w])
            else:
                out.extend(self.vocab.get(t, self.eos) for t in self.bpe(w))
        return out

    def encode77(self, text):
        t = self.tokens(text)[:75]
        ids = [self.bos] + t + [self.eos]
        return ids + [self.eos] * (77 - len(ids))


if __name__ == "__main__":
    import data
    caps = data.caption_corpus(20000, 7)
    m = train(caps)
    v = build_vocab(m)
    tok = Tokenizer(v, m)
    inv = {i: t for t, i in v.items()}
    print(len(m), "merges, vocab", len(v))
    for c in caps[:5] + ["a red circle on a blue background", "A Teal circle!!"]:
        print(c, [inv[i] for i in tok.tokens(c)])
