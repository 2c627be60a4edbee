"""Held-out accuracy of the demo model, measured in Python with the reference euler sampler
(the C-side semantic tests through the sdflow CLI are issue 8 §4; they reuse analyze.py's rules).

  /usr/bin/python3 scripts/demo/evaluate.py models/checkpoints/sdflow-demo-v1.safetensors [--seeds 2] [--out x.json]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import analyze  # noqa: E402
import data  # noqa: E402
import export  # noqa: E402
import pngw  # noqa: E402
import sampling  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--ckpt", help="fp32 .pt (only to report fp16 rounding)")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--cfg", type=float, default=5.0)
    ap.add_argument("--out", default=None)
    ap.add_argument("--grid", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--samplers", default="euler,euler_ancestral,dpmpp_2m")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from st import read
    sd, meta = read(args.model)
    import model as M
    net = M.LatentDiffusion(json.loads(meta["ldm_config"]), json.loads(meta["clip_config"]))
    net.load_state_dict({k: sd[k].float() if sd[k].is_floating_point() else sd[k] for k in net.state_dict()})
    net.eval()
    vocab = json.loads(meta["sdflow.clip_vocab_json"])
    merges = [tuple(l.split(" ")) for l in meta["sdflow.clip_merges"].split("\n")[1:] if l]
    tok = export.bpe.Tokenizer(vocab, merges)
    cases = data.held_out_cases()
    if args.limit:
        cases = cases[::max(1, len(cases) // args.limit)]
    t0 = time.time()
    rows = []
    tiles = []
    for sampler in args.samplers.split(","):
        for seed in range(args.seeds):
            for i in range(0, len(cases), 32):
                chunk = cases[i:i + 32]
                ims = sampling.txt2img(net, tok, [c["caption"] for c in chunk], 1000 + seed,
                                       steps=args.steps, cfg=args.cfg, sampler=sampler)
                ims = (ims * 255).round().byte().permute(0, 2, 3, 1).numpy()
                for c, im in zip(chunk, ims):
                    ok, info = analyze.score(c, im)
                    rows.append({"caption": c["caption"], "kind": c["kind"], "sampler": sampler,
                                 "seed": 1000 + seed, "ok": ok})
                    if seed == 0 and len(tiles) < 64 and i % 64 == 0:
                        tiles.append(im)
    dt = time.time() - t0
    summary = {}
    for sampler in args.samplers.split(","):
        for kind in ("single", "pair"):
            rs = [r for r in rows if r["kind"] == kind and r["sampler"] == sampler]
            if not rs:
                continue
            d = {k: round(float(np.mean([r["ok"][k] for r in rs])), 4) for k in rs[0]["ok"]}
            d["n"] = len(rs)
            summary[f"{sampler}/{kind}"] = d
    summary["settings"] = {"scheduler": "normal", "steps": args.steps, "cfg": args.cfg,
                           "seeds": [1000 + s for s in range(args.seeds)], "seconds": round(dt, 1)}
    print(json.dumps(summary, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"summary": summary, "rows": rows}, f, indent=1)
    if args.grid and tiles:
        cols = 8
        g = np.full(((len(tiles) + cols - 1) // cols * 66, cols * 66, 3), 255, np.uint8)
        for i, im in enumerate(tiles):
            y, x = (i // cols) * 66 + 1, (i % cols) * 66 + 1
            g[y:y + 64, x:x + 64] = im
        pngw.write_png(args.grid, g)


if __name__ == "__main__":
    main()
