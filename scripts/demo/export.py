"""Writes the demo checkpoint: fp16 safetensors in the SD1 original single-file layout, with the
configuration and the BPE vocabulary in __metadata__ (spec §10.6 item 3).

  /usr/bin/python3 scripts/demo/export.py build-demo/run1/final.pt models/checkpoints/sdflow-demo-v1.safetensors
"""
import hashlib
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import model as M  # noqa: E402
import st  # noqa: E402


def export(ckpt_path, out_path):
    ck = torch.load(ckpt_path, map_location="cpu")
    sd = ck["state_dict"]
    tensors = {}
    for k, v in sd.items():
        if k.endswith("position_ids"):
            tensors[k] = v.to(torch.int64).reshape(1, -1)
        else:
            tensors[k] = v.to(torch.float16)
    # DDPM schedule buffers, as real SD1 files carry them (ComfyUI ignores them)
    ac = M.scaled_linear_alphas_cumprod()
    betas = 1 - ac / torch.cat([torch.ones(1, dtype=ac.dtype), ac[:-1]])
    acp = torch.cat([torch.ones(1, dtype=ac.dtype), ac[:-1]])
    post_var = betas * (1 - acp) / (1 - ac)
    bufs = {
        "betas": betas, "alphas_cumprod": ac, "alphas_cumprod_prev": acp,
        "sqrt_alphas_cumprod": ac.sqrt(), "sqrt_one_minus_alphas_cumprod": (1 - ac).sqrt(),
        "log_one_minus_alphas_cumprod": (1 - ac).log(), "sqrt_recip_alphas_cumprod": (1 / ac).sqrt(),
        "sqrt_recipm1_alphas_cumprod": (1 / ac - 1).sqrt(), "posterior_variance": post_var,
        "posterior_log_variance_clipped": torch.cat([post_var[1:2], post_var[1:]]).log(),
        "posterior_mean_coef1": betas * acp.sqrt() / (1 - ac),
        "posterior_mean_coef2": (1 - acp) * (1 - betas).sqrt() / (1 - ac),
    }
    for k, v in bufs.items():
        tensors[k] = v.float()
    vocab = ck["vocab"]
    merges = [tuple(m) for m in ck["merges"]]
    meta = {
        "format": "pt",
        "modelspec.title": "sdflow demo v1",
        "ldm_config": json.dumps(ck["ldm_config"], sort_keys=True),
        "clip_config": json.dumps(ck["clip_config"], sort_keys=True),
        "prediction_type": "epsilon",
        "sdflow.clip_vocab_json": bpe.vocab_json(vocab),
        "sdflow.clip_merges": bpe.merges_txt(merges),
        "sdflow.demo_training": json.dumps({"unet_steps": ck["step"], "seed": ck["args"]["seed"],
                                            "script": "scripts/demo/train.py"}, sort_keys=True),
    }
    st.write(out_path, tensors, meta)
    h = hashlib.sha256(open(out_path, "rb").read()).hexdigest()
    return h, os.path.getsize(out_path)


def check_roundtrip(out_path, ckpt_path):
    """Reload the written file into the torch model and compare with the fp32 checkpoint."""
    sd, meta = st.read(out_path)
    net = M.LatentDiffusion(json.loads(meta["ldm_config"]), json.loads(meta["clip_config"]))
    ref = torch.load(ckpt_path, map_location="cpu")["state_dict"]
    net.load_state_dict({k: sd[k].float() if sd[k].is_floating_point() else sd[k] for k in net.state_dict()})
    vocab = json.loads(meta["sdflow.clip_vocab_json"])
    lines = meta["sdflow.clip_merges"].split("\n")
    assert lines[0].startswith("#version")
    merges = [tuple(l.split(" ")) for l in lines[1:] if l]
    tok = bpe.Tokenizer(vocab, merges)
    worst = max(float((net.state_dict()[k].float() - ref[k].float()).abs().max()) for k in ref)
    return net, tok, worst


if __name__ == "__main__":
    h, n = export(sys.argv[1], sys.argv[2])
    _, _, worst = check_roundtrip(sys.argv[2], sys.argv[1])
    print(f"wrote {sys.argv[2]}: {n} bytes, sha256 {h}, max fp16 rounding {worst:.2e}")
