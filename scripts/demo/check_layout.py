"""Checks model.py against ../shared/reference: same keys/shapes as tiny-sd1.safetensors and the
same outputs as the golden UNet / VAE / CLIP cases. Run: /usr/bin/python3 scripts/demo/check_layout.py"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import model as M  # noqa: E402
import st  # noqa: E402

REF = os.environ.get("SDF_REFERENCE", os.path.join(os.path.dirname(__file__), "../../../shared/reference"))


def main():
    sd, meta = st.read(os.path.join(REF, "tiny-sd1.safetensors"))
    net = M.LatentDiffusion(json.loads(meta["ldm_config"]), json.loads(meta["clip_config"]))
    mine = net.state_dict()
    ref = {k: v for k, v in sd.items() if "." in k}
    missing = sorted(set(ref) - set(mine))
    extra = sorted(set(mine) - set(ref))
    bad = [k for k in ref if k in mine and tuple(ref[k].shape) != tuple(mine[k].shape)]
    print("missing", missing[:10], "extra", extra[:10], "shape mismatch", bad[:10])
    assert not missing and not extra and not bad
    net.load_state_dict({k: ref[k] for k in mine})
    net.eval()
    g = lambda n: st.read(os.path.join(REF, "golden", n))[0]
    with torch.no_grad():
        c = g("clip.safetensors")
        print("clip keys", list(c)[:8])
        u = g("unet_sq_t500.safetensors")
        print("unet keys", list(u)[:8])
        vd = g("vae_decode_8x8.safetensors")
        print("vae keys", list(vd))
        out = net.first_stage_model.decode(vd["z"])
        print("vae decode max err", (out - vd["decoded"]).abs().max().item())
        ve = g("vae_encode_32x32.safetensors")
        m = net.first_stage_model.moments(ve["image"])
        print("vae encode max err", (m - ve["moments"]).abs().max().item())
        ids = c["input_ids"]
        if ids is not None:
            h = net.cond_stage_model(ids.long().view(-1, 77))
            print("clip last_hidden_state max err", (h - c["last_hidden_state"]).abs().max().item())
        x = u.get("x"); t = u["timesteps"]; ctx = u.get("context")
        if x is not None:
            e = net.unet(x, t.float(), ctx)
            print("unet eps max err", (e - u["eps"]).abs().max().item(), u["eps"].abs().max().item())


if __name__ == "__main__":
    main()
