"""Checks the teal LoRA through sdflow itself: runs graphs/txt2img_lora.json with the `sdflow` CLI
for teal and ordinary prompts over several seeds, with the LoRA (strength 1/1) and without it
(strength 0/0: LoraLoader passes its inputs through), reads the PNGs and prints the fraction of
teal pixels and how often the object has the prompted colour (train_lora.read_image's rules).
Also prints the LoRA notes sdflow recorded (patched weights, unmatched keys) from its run log.

  /usr/bin/python3 scripts/demo/check_lora_sdflow.py [--sdflow build/sdflow] [--models models] [--seeds 8]
"""
import argparse
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_lora as TL  # noqa: E402


def read_png(path):
    """8-bit RGB/RGBA, non-interlaced PNG -> uint8 [H, W, 3] (what SaveImage writes)."""
    with open(path, "rb") as f:
        b = f.read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, hdr = 8, b"", None
    while pos < len(b):
        n, typ = struct.unpack(">I4s", b[pos:pos + 8])
        body = b[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, hdr
    ch = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * ch
    out = np.zeros((h, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for x in range(stride):
            a = cur[x - ch] if x >= ch else 0
            c = prev[x - ch] if x >= ch else 0
            up = prev[x]
            if ft == 0:
                p = 0
            elif ft == 1:
                p = a
            elif ft == 2:
                p = up
            elif ft == 3:
                p = (a + up) // 2
            else:
                pa, pb, pc = abs(up - c), abs(a - c), abs(a + up - 2 * c)
                p = a if pa <= pb and pa <= pc else (up if pb <= pc else c)
            cur[x] = (line[x] + p) & 255
        out[y] = cur
        prev = cur
    return out.reshape(h, w, ch)[:, :, :3].astype(np.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sdflow", default="build/sdflow")
    ap.add_argument("--graph", default="graphs/txt2img_lora.json")
    ap.add_argument("--models", default="models")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--samplers", default="euler,dpmpp_2m,euler_ancestral,ddim",
                    help="samplers for the C-side test's prompt (TEAL_PROMPTS[0])")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="sdflow-lora-check-")
    db = os.path.join(tmp, "runs.db")
    res = {}
    for label, s in (("without_lora", 0.0), ("with_lora", 1.0)):
        res[label] = {}
        for group, prompts in (("teal", TL.TEAL_PROMPTS), ("plain", TL.PLAIN_PROMPTS)):
            rows = []
            for pi, p in enumerate(prompts):
                od = os.path.join(tmp, f"{label}-{group}-{pi}")
                cmd = [args.sdflow, "run", args.graph, "--models", args.models, "--output", od,
                       "--db", db, "--threads", "1", "--set", f"6.text={p}",
                       "--set", f"10.strength_model={s}", "--set", f"10.strength_clip={s}",
                       "--sweep", f"3.seed=0..{args.seeds - 1}"]
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                files = sorted(f for f in os.listdir(od) if f.endswith(".png"))
                assert len(files) == args.seeds, (od, files)
                col, bgw = TL.expected(p)
                for f in files:
                    bg, obj, tf = TL.read_image(read_png(os.path.join(od, f)))
                    rows.append(dict(prompt=p, bg=bg, obj=obj, teal=tf, obj_ok=obj == col,
                                     bg_ok=bgw is None or bg == bgw))
            r = {"n": len(rows), "teal_px": round(float(np.mean([x["teal"] for x in rows])), 4),
                 "object_colour_ok": round(float(np.mean([x["obj_ok"] for x in rows])), 3),
                 "background_ok": round(float(np.mean([x["bg_ok"] for x in rows])), 3),
                 "per_prompt": {}}
            for p in prompts:
                rs = [x for x in rows if x["prompt"] == p]
                r["per_prompt"][p] = {"teal_px": round(float(np.mean([x["teal"] for x in rs])), 4),
                                      "object_ok": round(float(np.mean([x["obj_ok"] for x in rs])), 3),
                                      "objects": [x["obj"] for x in rs]}
            res[label][group] = r
            print(f"sdflow {label} {group}: teal pixels {r['teal_px']:.4f}, object colour as prompted "
                  f"{r['object_colour_ok']:.3f}, background {r['background_ok']:.3f} ({r['n']} images)")
            for p, v in r["per_prompt"].items():
                print(f"    {p!r}: teal px {v['teal_px']:.4f} object ok {v['object_ok']:.2f} {v['objects']}")
    # the prompt of the C-side LoRA test, across samplers
    key = TL.TEAL_PROMPTS[0]
    res["samplers"] = {}
    for sampler in args.samplers.split(","):
        for label, s in (("without_lora", 0.0), ("with_lora", 1.0)):
            od = os.path.join(tmp, f"{label}-sampler-{sampler}")
            cmd = [args.sdflow, "run", args.graph, "--models", args.models, "--output", od,
                   "--db", db, "--threads", "1", "--set", f"6.text={key}",
                   "--set", f"3.sampler_name={sampler}",
                   "--set", f"10.strength_model={s}", "--set", f"10.strength_clip={s}",
                   "--sweep", f"3.seed=0..{args.seeds - 1}"]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            reads = [TL.read_image(read_png(os.path.join(od, f)))
                     for f in sorted(os.listdir(od)) if f.endswith(".png")]
            r = {"teal_px": round(float(np.mean([x[2] for x in reads])), 4),
                 "object_teal": round(float(np.mean([x[1] == "teal" for x in reads])), 3),
                 "background_white": round(float(np.mean([x[0] == "white" for x in reads])), 3)}
            res["samplers"][f"{sampler}/{label}"] = r
            print(f"sdflow {key!r} {sampler} {label}: teal pixels {r['teal_px']:.4f}, object teal "
                  f"{r['object_teal']:.3f}, background white {r['background_white']:.3f}")
    con = sqlite3.connect(db)
    notes = sorted(set(con.execute("select key, value from notes where key like 'lora.%'").fetchall()))
    warns = [d for (d,) in con.execute("select diagnostics from runs") if d and "LoRA" in d]
    res["sdflow_notes"] = notes
    res["settings"] = {"graph": args.graph, "seeds": list(range(args.seeds)), "sampler": "euler",
                       "scheduler": "normal", "steps": 20, "cfg": 5.0}
    print("sdflow LoRA notes:", notes, "warnings:", warns[:3])
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
