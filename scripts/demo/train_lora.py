"""Trains the demo "teal" LoRA (issue 8 §4): a new object colour word for sdflow-demo-v1.

The base model never saw the word "teal": the demo BPE vocabulary has no token for it, so it is
split into the byte-level pieces t, e, a, l</w> whose embeddings were never trained. This script
renders scenes with a teal object (RGB 0,128,128; in data.py's grammar and captions) mixed 50/50
with ordinary training scenes (so the other colours keep working), encodes them with the base
model's VAE (posterior mean x 0.18215, as train.py), and trains low-rank adapters on the frozen
base UNet (transformer proj_in/proj_out, attention q/k/v/out, feed-forward) and text encoder
(self-attention q/k/v/out, MLP fc1/fc2) with train.py's eps objective (scaled-linear betas, uniform
t in 0..999, 10 % empty captions, offset noise 0.1 as the base's last stage). The adapters are
written as a kohya-format LoRA (`lora_unet_<ldm key>` / `lora_te_text_model_encoder_layers_<b>_<m>`
with .lora_down.weight, .lora_up.weight, .alpha; fp16), the naming ComfyUI's loader (and
sdflow's) maps for SD1 original-layout checkpoints.

It then checks itself with the reference sampler: the exported file is merged into the base
weights as ComfyUI does (W += alpha/rank * up @ down) and teal and ordinary prompts are generated
with and without it; it prints the fraction of teal pixels and of images whose object is teal.
Deterministic for a seed on one machine (one thread). Developer tool: sdflow never runs Python.

  nice -n 15 /usr/bin/python3 scripts/demo/train_lora.py \
      --base models/checkpoints/sdflow-demo-v1.safetensors \
      --out models/loras/sdflow-demo-teal.safetensors --workdir build-demo/lora
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import data  # noqa: E402
import model as M  # noqa: E402
import sampling  # noqa: E402
import st  # noqa: E402
import train  # noqa: E402

TEAL = (0, 128, 128)
OBJ_COLORS = dict(data.COLORS, teal=TEAL)  # object colours as this script renders them
PALETTE = dict(data.BACKGROUNDS, teal=TEAL)  # what the checks classify pixels into

# ----------------------------------------------------------------------------- data


def render(scene):
    """data.render with teal as an extra object colour (same anti-aliased coverage)."""
    img = np.empty((data.SIZE, data.SIZE, 3), np.float32)
    img[:] = data.BACKGROUNDS[scene["bg"]]
    for o in scene["objects"]:
        cov = data._coverage(o["shape"], o["cx"], o["cy"], o["r"])[..., None]
        img = img * (1 - cov) + np.array(OBJ_COLORS[o["color"]], np.float32) * cov
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def teal_scene(rng, pair_frac=0.25):
    """A scene with a teal object, drawn like data.sample_scene (same positions, sizes, jitter,
    caption grammar); in two-object scenes the other object has one of the base colours."""
    pick = data._pick
    cols = list(data.COLORS)
    if rng.rand() < pair_frac:
        other = pick(rng, cols)
        c1, c2 = ("teal", other) if rng.rand() < 0.5 else (other, "teal")
        s1, s2 = pick(rng, data.SHAPES), pick(rng, data.SHAPES)
        bg = pick(rng, [b for b in data.BACKGROUNDS if b != other])
        rel = pick(rng, list(data.REL_WORDS))
        objs = data.place_pair(rng, rel, (s1, c1), (s2, c2))
        return dict(bg=bg, objects=objs, kind="pair", rel=rel)
    s = pick(rng, data.SHAPES)
    bg = pick(rng, list(data.BACKGROUNDS))
    pos = pick(rng, list(data.POSITIONS))
    size = pick(rng, list(data.RADIUS))
    return dict(bg=bg, objects=[data.place_single(rng, s, "teal", pos, size)], kind="single",
                pos=pos, size=size)


@torch.no_grad()
def encode_scenes(net, scenes, log):
    lat = torch.empty(len(scenes), 4, 16, 16)
    for i in range(0, len(scenes), 64):
        imgs = np.stack([render(sc) for sc in scenes[i:i + 64]])
        x = train.to_tensor(imgs)
        mu = net.vae.encode_mean(x)
        lat[i:i + len(imgs)] = mu * net.scale_factor
        if i == 0:
            log(f"vae round-trip mse on the first teal/plain batch "
                f"{float(F.mse_loss(net.vae.decode(mu), x)):.5f}")
    return lat

# ----------------------------------------------------------------------------- LoRA modules


class LoRA(nn.Module):
    """base(x) + alpha/rank * up(down(x)) for an nn.Linear or a 1x1 nn.Conv2d; base frozen.
    down: kaiming-uniform like kohya's, up: zeros (the adapter starts as the identity)."""

    def __init__(self, base, rank, alpha, gen):
        super().__init__()
        self.base = base
        self.conv = isinstance(base, nn.Conv2d)
        if self.conv:
            assert base.kernel_size == (1, 1)
            fin, fout = base.in_channels, base.out_channels
        else:
            fin, fout = base.in_features, base.out_features
        bound = 1.0 / math.sqrt(fin)
        self.down = nn.Parameter((torch.rand(rank, fin, generator=gen) * 2 - 1) * bound)
        self.up = nn.Parameter(torch.zeros(fout, rank))
        self.rank, self.alpha = rank, float(alpha)

    def forward(self, x):
        y = self.base(x)
        s = self.alpha / self.rank
        if self.conv:
            return y + s * F.conv2d(F.conv2d(x, self.down[:, :, None, None]), self.up[:, :, None, None])
        return y + s * F.linear(F.linear(x, self.down), self.up)


UNET_TARGETS = ("proj_in", "proj_out", "attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0",
                "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0", "ff.net.0.proj", "ff.net.2")
TE_TARGETS = {"self_attn.q_proj": "self_attn_q_proj", "self_attn.k_proj": "self_attn_k_proj",
              "self_attn.v_proj": "self_attn_v_proj", "self_attn.out_proj": "self_attn_out_proj",
              "mlp.fc1": "mlp_fc1", "mlp.fc2": "mlp_fc2"}


def kohya_name(part, name):
    """Module path -> kohya key base: lora_unet_<ldm key, '.'->'_'> (ComfyUI maps every UNet weight
    `diffusion_model.K.weight` so), lora_te_text_model_encoder_layers_<b>_<m> (LORA_CLIP_MAP)."""
    if part == "unet":
        return "lora_unet_" + name.replace(".", "_")
    pre = "transformer.text_model.encoder.layers."
    assert name.startswith(pre), name
    b, rest = name[len(pre):].split(".", 1)
    return f"lora_te_text_model_encoder_layers_{b}_{TE_TARGETS[rest]}"


def attach(net, rank, alpha, seed):
    """Wraps the targeted modules of net.unet and net.cond_stage_model; returns {key base: LoRA}."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for part, root in (("unet", net.unet), ("te", net.cond_stage_model)):
        names = [n for n, _ in root.named_modules()]
        for n in names:
            if part == "unet":
                hit = "transformer_blocks" in n and any(n.endswith("." + t) for t in UNET_TARGETS) or \
                    n.endswith(".proj_in") or n.endswith(".proj_out")
            else:
                hit = any(n.endswith("." + t) for t in TE_TARGETS) and ".layers." in n
            if not hit:
                continue
            parent_name, attr = n.rsplit(".", 1)
            parent = root.get_submodule(parent_name)
            mod = getattr(parent, attr)
            lo = LoRA(mod, rank, alpha, gen)
            setattr(parent, attr, lo)
            out[kohya_name(part, n)] = lo
    return out


def export(adapters, path, meta):
    tensors = {}
    for k, lo in adapters.items():
        d, u = lo.down.detach(), lo.up.detach()
        if lo.conv:
            d, u = d[:, :, None, None], u[:, :, None, None]
        tensors[k + ".lora_down.weight"] = d.to(torch.float16)
        tensors[k + ".lora_up.weight"] = u.to(torch.float16)
        tensors[k + ".alpha"] = torch.tensor(lo.alpha, dtype=torch.float16)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    st.write(path, tensors, meta)
    return len(tensors), os.path.getsize(path)

# ----------------------------------------------------------------------------- base model


def load_base(path):
    """The base model as sdflow sees it: the fp16 .safetensors, computed in float32."""
    sd, meta = st.read(path)
    net = M.LatentDiffusion(json.loads(meta["ldm_config"]), json.loads(meta["clip_config"]))
    net.load_state_dict({k: sd[k].float() if sd[k].is_floating_point() else sd[k] for k in net.state_dict()})
    vocab = json.loads(meta["sdflow.clip_vocab_json"])
    merges = [tuple(l.split(" ")) for l in meta["sdflow.clip_merges"].split("\n")[1:] if l]
    return net.eval().requires_grad_(False), bpe.Tokenizer(vocab, merges)


@torch.no_grad()
def merge_file(net, path, strength=1.0):
    """Applies a kohya LoRA file to a base net the way ComfyUI/sdflow do:
    W += strength * alpha/rank * (up.flatten(1) @ down.flatten(1)); returns the keys not used."""
    sd, _ = st.read(path)
    targets = {}
    for n, m in net.unet.named_modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            targets[kohya_name("unet", n)] = m
    for n, m in net.cond_stage_model.named_modules():
        if isinstance(m, nn.Linear) and ".layers." in n and any(n.endswith("." + t) for t in TE_TARGETS):
            targets[kohya_name("te", n)] = m
    used = set()
    for k in sd:
        if not k.endswith(".lora_down.weight"):
            continue
        base = k[:-len(".lora_down.weight")]
        if base not in targets:
            continue
        down, up = sd[k].float(), sd[base + ".lora_up.weight"].float()
        alpha = float(sd[base + ".alpha"]) if base + ".alpha" in sd else down.shape[0]
        W = targets[base].weight
        W += (strength * alpha / down.shape[0]) * (up.flatten(1) @ down.flatten(1)).reshape(W.shape)
        used |= {k, base + ".lora_up.weight", base + ".alpha"}
    return sorted(set(sd) - used)

# ----------------------------------------------------------------------------- checks

PAL_NAMES = list(PALETTE)
PAL_RGB = np.array([PALETTE[n] for n in PAL_NAMES], np.float32)
TEAL_I = PAL_NAMES.index("teal")

TEAL_PROMPTS = ["a teal circle on a white background", "a teal square on a black background",
                "a large teal triangle on a yellow background", "teal circle, gray background",
                "a small teal square at the top on a red background", "a teal circle left of a red square"]
PLAIN_PROMPTS = ["a red circle on a blue background", "a green square on a white background",
                 "a yellow triangle on a black background", "a blue circle on a gray background",
                 "a purple square on a yellow background", "a white circle on a red background"]
TEAL_PAIR = {"a teal circle left of a red square": "red"}


def read_image(img):
    """(background name, object colour name, teal pixel fraction) by nearest colour of PALETTE;
    background = commonest class on the 2-pixel border, object = commonest other class."""
    d = ((img[:, :, None, :].astype(np.float32) - PAL_RGB[None, None]) ** 2).sum(-1)
    cls = d.argmin(-1)
    border = np.concatenate([cls[:2].ravel(), cls[-2:].ravel(), cls[:, :2].ravel(), cls[:, -2:].ravel()])
    bg = np.bincount(border, minlength=len(PAL_NAMES)).argmax()
    fg = cls[cls != bg]
    obj = PAL_NAMES[np.bincount(fg, minlength=len(PAL_NAMES)).argmax()] if fg.size >= 4 else None
    return PAL_NAMES[bg], obj, float((cls == TEAL_I).mean())


def expected(prompt):
    words = prompt.replace(",", " ").split()
    cols = [w for w in words if w in PALETTE]
    return cols[0], (cols[-1] if "background" in words else None)


def check(net, tok, seeds, label, log):
    res = {}
    for group, prompts in (("teal", TEAL_PROMPTS), ("plain", PLAIN_PROMPTS)):
        rows = []
        for seed in seeds:
            ims = sampling.txt2img(net, tok, prompts, seed, steps=20, cfg=5.0)
            ims = (ims * 255).round().byte().permute(0, 2, 3, 1).numpy()
            for p, im in zip(prompts, ims):
                bg, obj, tf = read_image(im)
                col, bgw = expected(p)
                rows.append(dict(prompt=p, seed=seed, bg=bg, obj=obj, teal=tf,
                                 obj_ok=obj == col, bg_ok=bgw is None or bg == bgw))
        r = {"n": len(rows), "teal_px": round(float(np.mean([x["teal"] for x in rows])), 4),
             "object_colour_ok": round(float(np.mean([x["obj_ok"] for x in rows])), 3),
             "background_ok": round(float(np.mean([x["bg_ok"] for x in rows])), 3)}
        per = {}
        for p in prompts:
            rs = [x for x in rows if x["prompt"] == p]
            per[p] = {"teal_px": round(float(np.mean([x["teal"] for x in rs])), 4),
                      "object_ok": round(float(np.mean([x["obj_ok"] for x in rs])), 3),
                      "objects": [x["obj"] for x in rs]}
        r["per_prompt"] = per
        res[group] = r
        log(f"check {label} {group}: teal pixels {r['teal_px']:.4f}, object colour as prompted "
            f"{r['object_colour_ok']:.3f}, background {r['background_ok']:.3f} ({r['n']} images)")
        for p, v in per.items():
            log(f"    {p!r}: teal px {v['teal_px']:.4f} object ok {v['object_ok']:.2f} {v['objects']}")
    return res

# ----------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="models/checkpoints/sdflow-demo-v1.safetensors")
    ap.add_argument("--out", default="models/loras/sdflow-demo-teal.safetensors")
    ap.add_argument("--workdir", default="build-demo/lora")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=8.0)
    ap.add_argument("--n-teal", type=int, default=1536)
    ap.add_argument("--n-plain", type=int, default=1536)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--check-seeds", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--offset-noise", type=float, default=0.1,
                    help="as train.py's --offset-noise; the base's last stage was trained with 0.1")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log = train.Log(os.path.join(args.workdir, "train_lora.log"))
    log(f"args {vars(args)}")
    t0 = time.time()

    net, tok = load_base(args.base)
    inv = {i: t for t, i in tok.vocab.items()}
    log(f"'teal' tokenizes to {[inv[i] for i in tok.tokens('teal')]}")

    rng = np.random.RandomState(args.seed)
    scenes = [teal_scene(rng) for _ in range(args.n_teal)] + \
        [data.sample_scene(rng)[0] for _ in range(args.n_plain)]
    lat = encode_scenes(net, scenes, log)
    log(f"encoded {len(scenes)} scenes ({args.n_teal} teal); latents mean {float(lat.mean()):.3f} "
        f"std {float(lat.std()):.3f}; {time.time() - t0:.0f}s")

    adapters = attach(net, args.rank, args.alpha, args.seed)
    params = [p for lo in adapters.values() for p in (lo.down, lo.up)]
    n_par = sum(p.numel() for p in params)
    log(f"{len(adapters)} adapters ({sum(k.startswith('lora_te') for k in adapters)} text encoder), "
        f"{n_par} parameters")
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    ac = M.scaled_linear_alphas_cumprod().float()
    drng = np.random.RandomState(args.seed + 1)
    B = args.batch
    losses = []
    t1 = time.time()
    net.unet.train()
    for step in range(args.steps):
        ids, t, noise, xt = train.eps_batch(drng, tok, lat, scenes, ac, B, args.offset_noise)
        for gp in opt.param_groups:
            gp["lr"] = train.lr_at(step, args.steps, args.lr, 50)
        eps = net.unet(xt, t.float(), net.cond_stage_model(ids))
        loss = F.mse_loss(eps, noise)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(float(loss))
        if step % 50 == 0 or step == args.steps - 1:
            log(f"lora step {step}/{args.steps} loss {np.mean(losses[-50:]):.5f} "
                f"lr {opt.param_groups[0]['lr']:.2e} {(time.time() - t1) / (step + 1):.3f}s/step")
    t_train = time.time() - t1

    meta = {"ss_network_module": "networks.lora", "ss_network_dim": str(args.rank),
            "ss_network_alpha": str(args.alpha), "modelspec.title": "sdflow demo teal LoRA",
            "sdflow.lora_training": json.dumps({
                "script": "scripts/demo/train_lora.py", "base": os.path.basename(args.base),
                "base_sha256": __import__("hashlib").sha256(open(args.base, "rb").read()).hexdigest(),
                "seed": args.seed, "steps": args.steps, "batch": B, "lr": args.lr, "rank": args.rank,
                "n_teal": args.n_teal, "n_plain": args.n_plain,
                "offset_noise": args.offset_noise, "teal_rgb": list(TEAL),
                "final_loss": round(float(np.mean(losses[-100:])), 5), "train_seconds": round(t_train)},
                sort_keys=True)}
    n_t, size = export(adapters, args.out, meta)
    log(f"wrote {args.out}: {n_t} tensors, {size} bytes; training {t_train:.0f}s, "
        f"final loss {np.mean(losses[-100:]):.5f}, total so far {time.time() - t0:.0f}s")

    seeds = list(range(args.check_seeds))
    base, _ = load_base(args.base)
    res = {"without_lora": check(base, tok, seeds, "without LoRA", log)}
    unused = merge_file(base, args.out)
    log(f"merged {args.out} into the base: {len(unused)} key(s) unused {unused[:5]}")
    res["with_lora"] = check(base, tok, seeds, "with LoRA", log)
    res["settings"] = {"sampler": "euler", "scheduler": "normal", "steps": 20, "cfg": 5.0,
                       "seeds": seeds, "train_seconds": round(t_train), "unused_keys": unused}
    with open(os.path.join(args.workdir, "check.json"), "w") as f:
        json.dump(res, f, indent=1)
    log(f"done in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
