"""Loss plot and sample grid from a training snapshot (final.pt or ckpt_last.pt), e.g. when the
run is exported before it finished.
  /usr/bin/python3 scripts/demo/finish.py build-demo/run1/ckpt_last.pt build-demo/run1
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import model as M  # noqa: E402
import pngw  # noqa: E402
import train  # noqa: E402


def main(ckpt, outdir, cfg=5.0):
    torch.set_num_threads(1)
    ck = torch.load(ckpt, map_location="cpu")
    net = M.LatentDiffusion(ck["ldm_config"], ck["clip_config"])
    net.load_state_dict(ck["state_dict"])
    net.eval()
    tok = bpe.Tokenizer(ck["vocab"], [tuple(m) for m in ck["merges"]])
    v, u = ck["vae_losses"], ck["unet_losses"]
    sm = lambda a, k: [float(np.mean(a[max(0, i - k):i + 1])) for i in range(0, len(a), max(1, len(a) // 400))]
    pngw.plot(os.path.join(outdir, "loss.png"), [(sm(v, 50), (200, 60, 30)), (sm(u, 100), (30, 80, 200))])
    train.save_grid(net, tok, os.path.join(outdir, "samples.png"), 42, cfg)
    print(f"step {ck['step']}: vae rec {np.mean(v[-100:]):.5f}, unet loss {np.mean(u[-200:]):.5f}, "
          f"vae {ck['time_vae_s']:.0f}s unet {ck['time_unet_s']:.0f}s total {ck['time_total_s']:.0f}s")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 5.0)
