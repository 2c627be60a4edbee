"""Trains the sdflow demo model (developer tool; sdflow never runs Python).

Stages: BPE vocabulary on the captions -> KL autoencoder (VAE) -> latent normalisation folded into
quant_conv/post_quant_conv (so raw latents x 0.18215 have unit variance, as an SD1 loader
assumes) -> encode a fixed data set -> UNet + text encoder together (eps objective, scaled-linear
betas 0.00085..0.012, 1000 steps, 10 % empty captions) with an EMA copy.
Deterministic for a given seed on one machine (one thread). Writes to --workdir: log, loss plot,
sample grid, checkpoints (ckpt_*.pt), final.pt; export.py turns a .pt into the .safetensors.

  nice -n 10 /usr/bin/python3 scripts/demo/train.py --workdir build-demo/run1
"""
import argparse
import copy
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import data  # noqa: E402
import model as M  # noqa: E402
import pngw  # noqa: E402
import sampling  # noqa: E402


def configs(vocab_size):
    unet = dict(attention_resolutions=[2, 4], channel_mult=[1, 2, 2], context_dim=64, image_size=16,
                in_channels=4, legacy=False, model_channels=32, num_heads=2, num_res_blocks=1,
                out_channels=4, transformer_depth=1, use_checkpoint=False,
                use_spatial_transformer=True)
    dd = dict(attn_resolutions=[], ch=32, ch_mult=[1, 2, 2], double_z=True, dropout=0.0,
              in_channels=3, num_res_blocks=1, out_ch=3, resolution=64, z_channels=4)
    ldm = {"model": {"base_learning_rate": 0.0001, "target": "ldm.models.diffusion.ddpm.LatentDiffusion",
                     "params": {
                         "linear_start": 0.00085, "linear_end": 0.012, "num_timesteps_cond": 1,
                         "log_every_t": 200, "timesteps": 1000, "first_stage_key": "jpg",
                         "cond_stage_key": "txt", "image_size": 16, "channels": 4,
                         "cond_stage_trainable": True, "conditioning_key": "crossattn",
                         "monitor": "val/loss_simple_ema", "scale_factor": 0.18215, "use_ema": False,
                         "unet_config": {"target": "ldm.modules.diffusionmodules.openaimodel.UNetModel",
                                         "params": unet},
                         "first_stage_config": {"target": "ldm.models.autoencoder.AutoencoderKL",
                                                "params": {"embed_dim": 4, "monitor": "val/rec_loss",
                                                           "ddconfig": dd,
                                                           "lossconfig": {"target": "torch.nn.Identity"}}},
                         "cond_stage_config": {"target": "ldm.modules.encoders.modules.FrozenCLIPEmbedder"}}}}
    clip = {"attention_dropout": 0.0, "bos_token_id": vocab_size - 2, "dropout": 0.0,
            "eos_token_id": vocab_size - 1, "hidden_act": "quick_gelu", "hidden_size": 64,
            "initializer_factor": 1.0, "initializer_range": 0.02, "intermediate_size": 256,
            "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "num_attention_heads": 2,
            "num_hidden_layers": 3, "pad_token_id": vocab_size - 1, "projection_dim": 64,
            "vocab_size": vocab_size}
    return ldm, clip


def lr_at(step, total, peak, warm):
    if step < warm:
        return peak * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def to_tensor(imgs):
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1


class Log:
    def __init__(self, path):
        self.f = open(path, "a")
        self.t0 = time.time()

    def __call__(self, msg):
        line = f"[{time.time() - self.t0:7.1f}s] {msg}"
        print(line, flush=True)
        self.f.write(line + "\n")
        self.f.flush()


def train_vae(net, args, log, rng):
    vae = net.vae
    opt = torch.optim.Adam(vae.parameters(), lr=args.vae_lr)
    losses = []
    n_full = args.vae_steps // 5
    for step in range(args.vae_steps):
        full = step >= args.vae_steps - n_full
        B = 8 if full else 16
        imgs = np.stack([data.render(data.sample_scene(rng)[0])[0] for _ in range(B)])
        x = to_tensor(imgs)
        if not full:
            ox, oy = rng.randint(0, 33, 2)
            x = x[:, :, oy:oy + 32, ox:ox + 32]
        for gp in opt.param_groups:
            gp["lr"] = lr_at(step, args.vae_steps, args.vae_lr, 100)
        mean, logvar = vae.moments(x).chunk(2, dim=1)
        logvar = logvar.clamp(-30, 20)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        rec = vae.decode(z)
        l_rec = F.mse_loss(rec, x) + 0.5 * (rec - x).abs().mean()
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).mean()
        loss = l_rec + args.kl_weight * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(l_rec))
        if step % 50 == 0 or step == args.vae_steps - 1:
            log(f"vae step {step}/{args.vae_steps} rec {np.mean(losses[-50:]):.5f} kl {float(kl):.3f}")
    return losses


@torch.no_grad()
def normalise_latents(net, rng, log, n=512):
    """Fold a per-channel affine map into quant_conv / post_quant_conv so that the encoder's mean
    has zero mean and std 1/scale_factor per channel; the decoder's output is unchanged."""
    vae = net.vae
    imgs = np.stack([data.render(data.sample_scene(rng)[0])[0] for _ in range(n)])
    mu = torch.cat([vae.encode_mean(to_tensor(imgs[i:i + 64])) for i in range(0, n, 64)])
    m = mu.mean(dim=(0, 2, 3)).double()
    s = mu.std(dim=(0, 2, 3)).double()
    k = 1.0 / (net.scale_factor * s)
    qc, pq = vae.quant_conv, vae.post_quant_conv
    W, b = qc.weight.double(), qc.bias.double()
    W[:4] *= k[:, None, None, None]
    b[:4] = (b[:4] - m) * k
    b[4:] += 2 * torch.log(k)
    qc.weight.copy_(W.float())
    qc.bias.copy_(b.float())
    W2, b2 = pq.weight.double(), pq.bias.double()
    b2 = b2 + (W2[:, :, 0, 0] @ m)
    W2 = W2 / k[None, :, None, None]
    pq.weight.copy_(W2.float())
    pq.bias.copy_(b2.float())
    mu2 = vae.encode_mean(to_tensor(imgs[:64])) * net.scale_factor
    log(f"latent stats before: mean {m.tolist()} std {s.tolist()}; after x0.18215: "
        f"mean {float(mu2.mean()):.3f} std {float(mu2.std()):.3f}")
    return {"mean": m.tolist(), "std": s.tolist()}


@torch.no_grad()
def encode_dataset(net, args, log):
    n = args.n_images
    lat = torch.empty(n, 4, 16, 16)
    scenes = []
    rng = np.random.RandomState(args.seed + 1)
    mse = []
    for i in range(0, n, 64):
        k = min(64, n - i)
        batch = [data.sample_scene(rng) for _ in range(k)]
        imgs = np.stack([data.render(sc)[0] for sc, _ in batch])
        x = to_tensor(imgs)
        mu = net.vae.encode_mean(x)
        lat[i:i + k] = mu * net.scale_factor
        scenes.extend(sc for sc, _ in batch)
        if i % 2048 == 0:
            mse.append(float(F.mse_loss(net.vae.decode(mu[:16]), x[:16])))
            log(f"encoded {i + k}/{n}, round-trip mse {mse[-1]:.5f}")
    return lat, scenes


def recaption(rng, sc):
    if sc["kind"] == "single":
        o = sc["objects"][0]
        return data.single_caption(rng, o["color"], o["shape"], sc["bg"], sc["pos"], sc["size"])[0]
    a, b = sc["objects"]
    return data.pair_caption(rng, a["color"], a["shape"], sc["rel"], b["color"], b["shape"], sc["bg"])


def eps_batch(drng, tok, lat, scenes, ac, B, offset_noise=0.0):
    """One batch of SD's eps objective: B random training latents, their re-worded captions (10 %
    empty, for classifier-free guidance), uniform t in 0..999, the noise (plus offset noise times a
    per-image, per-channel constant) and x_t. Returns (token ids, t, noise, x_t); the draws from
    drng are in a fixed order, so a run is deterministic for its seed."""
    idx = drng.randint(0, len(scenes), B)
    caps = ["" if drng.rand() < 0.1 else recaption(drng, scenes[i]) for i in idx]
    ids = torch.tensor([tok.encode77(c) for c in caps])
    x0 = lat[idx]
    t = torch.from_numpy(drng.randint(0, 1000, B))
    noise = torch.from_numpy(drng.randn(B, 4, 16, 16).astype(np.float32))
    if offset_noise:
        noise = noise + offset_noise * torch.from_numpy(drng.randn(B, 4, 1, 1).astype(np.float32))
    a = ac[t][:, None, None, None]
    return ids, t, noise, a.sqrt() * x0 + (1 - a).sqrt() * noise


def save_grid(net, tok, path, seed, cfg):
    prompts = ["a red circle on a blue background", "a large yellow square on the left on a black background",
               "a small green triangle at the top on a white background", "a blue circle left of a red square",
               "a purple square at the bottom, yellow background", "an orange triangle in the centre on a gray background",
               "a pink circle above a green triangle", "a white square on the right on a purple background"]
    cases = [c for c in data.held_out_cases()][::11][:8]
    prompts += [c["caption"] for c in cases]
    rows = []
    for r in range(2):
        ims = sampling.txt2img(net, tok, prompts, seed + r, steps=20, cfg=cfg)
        rows.append(ims)
    ims = torch.cat(rows)  # [2*16, 3, 64, 64]; grid 8 wide
    ims = (ims * 255).round().byte().permute(0, 2, 3, 1).numpy()
    n, H, W = ims.shape[0], 66, 66
    cols = 8
    grid = np.full(((n + cols - 1) // cols * H, cols * W, 3), 255, np.uint8)
    for i in range(n):
        y, x = (i // cols) * H + 1, (i % cols) * W + 1
        grid[y:y + 64, x:x + 64] = ims[i]
    pngw.write_png(path, grid)
    with open(path + ".txt", "w") as f:
        f.write(f"rows 1-2 seed {seed}, rows 3-4 seed {seed + 1}; euler, normal, 20 steps, cfg {cfg}\n")
        for i, p in enumerate(prompts):
            f.write(f"{i}: {p}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default="build-demo/run")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--vae-steps", type=int, default=2500)
    ap.add_argument("--vae-lr", type=float, default=5e-4)
    ap.add_argument("--kl-weight", type=float, default=1e-4)
    ap.add_argument("--n-images", type=int, default=20000)
    ap.add_argument("--unet-steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--ckpt-every", type=int, default=500)
    ap.add_argument("--cfg", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--offset-noise", type=float, default=0.0,
                    help="add this times a per-image, per-channel N(0,1) constant to the training noise "
                         "(offset noise), so the model can move a picture's mean colour: with plain noise "
                         "the mean of a 16x16 latent's noise decides the background and the prompt cannot")
    ap.add_argument("--init-from", default="",
                    help="start the UNet and text encoder from this snapshot's (EMA) weights: a second "
                         "stage that continues a first one with other settings (e.g. --offset-noise)")
    ap.add_argument("--mean-loss", type=float, default=0.0,
                    help="weight of an extra MSE on the per-channel spatial mean of the predicted noise: "
                         "the plain loss gives a picture's mean colour (the background) 1/256 of its weight "
                         "on a 16x16 latent, too little for the model to take it from the prompt at high t")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--stop-after", type=int, default=0,
                    help="end the UNet stage after this many steps (the learning-rate schedule stays "
                         "that of --unet-steps)")
    ap.add_argument("--vae-from", default="",
                    help="take the trained, normalised VAE from this checkpoint (a run of this script with the same "
                         "seed and VAE settings) instead of training it again")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log = Log(os.path.join(args.workdir, "train.log"))
    log(f"args {vars(args)}")
    t_start = time.time()

    caps = data.caption_corpus(20000, args.seed)
    merges = bpe.train(caps)
    vocab = bpe.build_vocab(merges)
    tok = bpe.Tokenizer(vocab, merges)
    log(f"bpe: {len(merges)} merges, vocab {len(vocab)}")
    ldm, clip = configs(len(vocab))
    net = M.LatentDiffusion(ldm, clip)
    n_par = {k: sum(p.numel() for p in m.parameters()) for k, m in
             [("unet", net.unet), ("vae", net.vae), ("clip", net.cond_stage_model)]}
    log(f"params {n_par}")

    rng = np.random.RandomState(args.seed)
    t0 = time.time()
    if args.vae_from:
        prev = torch.load(args.vae_from)
        assert prev["vocab"] == vocab and prev["merges"] == merges, "vocabulary differs from --vae-from's run"
        vae_sd = {k[len("first_stage_model."):]: v for k, v in prev["state_dict"].items()
                  if k.startswith("first_stage_model.")}
        net.vae.load_state_dict(vae_sd)
        vae_losses, stats, t_vae = prev["vae_losses"], prev["latent_stats"], prev["time_vae_s"]
        log(f"vae from {args.vae_from}: {len(vae_losses)} steps, final rec {np.mean(vae_losses[-100:]):.5f}")
    else:
        vae_losses = train_vae(net, args, log, rng)
        stats = normalise_latents(net, rng, log)
        t_vae = time.time() - t0
    net.vae.requires_grad_(False)
    net.vae.eval()
    lat, scenes = encode_dataset(net, args, log)
    log(f"latents: mean {float(lat.mean()):.3f} std {float(lat.std()):.3f}")

    if args.init_from:
        prev = torch.load(args.init_from)
        keep = {k: v for k, v in prev["state_dict"].items()
                if k.startswith("model.diffusion_model.") or k.startswith("cond_stage_model.")}
        missing = net.load_state_dict(keep, strict=False)
        assert not missing.unexpected_keys, missing.unexpected_keys
        log(f"unet + text encoder from {args.init_from} (step {prev['step']} of {prev['args']['unet_steps']}, "
            f"offset noise {prev['args'].get('offset_noise', 0.0)})")
    t1 = time.time()
    ac = M.scaled_linear_alphas_cumprod().float()
    params = list(net.unet.parameters()) + list(net.cond_stage_model.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    ema_unet = copy.deepcopy(net.unet).requires_grad_(False)
    ema_clip = copy.deepcopy(net.cond_stage_model).requires_grad_(False)
    ema_pairs = list(zip(list(ema_unet.parameters()) + list(ema_clip.parameters()), params))
    losses = []
    drng = np.random.RandomState(args.seed + 2)
    B = args.batch

    def snapshot(name, step):
        ema_net = copy.deepcopy(net)
        ema_net.model.diffusion_model = ema_unet
        ema_net.cond_stage_model = ema_clip
        torch.save({"state_dict": ema_net.state_dict(), "ldm_config": ldm, "clip_config": clip,
                    "vocab": vocab, "merges": merges, "step": step, "args": vars(args),
                    "vae_losses": vae_losses, "unet_losses": losses, "latent_stats": stats,
                    "time_vae_s": t_vae, "time_unet_s": time.time() - t1,
                    "time_total_s": time.time() - t_start},
                   os.path.join(args.workdir, name))
        return ema_net

    n_steps = min(args.unet_steps, args.stop_after) if args.stop_after else args.unet_steps
    for step in range(n_steps):
        ids, t, noise, xt = eps_batch(drng, tok, lat, scenes, ac, B, args.offset_noise)
        for gp in opt.param_groups:
            gp["lr"] = lr_at(step, args.unet_steps, args.lr, args.warmup)
        ctx = net.cond_stage_model(ids)
        eps = net.unet(xt, t.float(), ctx)
        loss = F.mse_loss(eps, noise)
        if args.mean_loss:
            loss = loss + args.mean_loss * F.mse_loss(eps.mean((2, 3)), noise.mean((2, 3)))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        d = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in ema_pairs:
                pe.mul_(d).add_(p.detach(), alpha=1 - d)
        losses.append(float(loss))
        if step % 50 == 0 or step == args.unet_steps - 1:
            el = time.time() - t1
            log(f"unet step {step}/{args.unet_steps} loss {np.mean(losses[-50:]):.5f} "
                f"lr {opt.param_groups[0]['lr']:.2e} {el / (step + 1):.3f}s/step")
        if (step + 1) % args.ckpt_every == 0:
            snapshot("ckpt_last.pt", step + 1)
            log(f"checkpoint at step {step + 1}")

    ema_net = snapshot("final.pt", n_steps)
    log(f"done: vae {t_vae:.0f}s, unet {time.time() - t1:.0f}s, total {time.time() - t_start:.0f}s; "
        f"final vae rec {np.mean(vae_losses[-100:]):.5f}, unet loss {np.mean(losses[-200:]):.5f}")
    sm = lambda v, k: [float(np.mean(v[max(0, i - k):i + 1])) for i in range(0, len(v), max(1, len(v) // 400))]
    pngw.plot(os.path.join(args.workdir, "loss.png"),
              [(sm(vae_losses, 50), (200, 60, 30)), (sm(losses, 100), (30, 80, 200))])
    ema_net.eval()
    save_grid(ema_net, tok, os.path.join(args.workdir, "samples.png"), 42, args.cfg)
    log("wrote loss.png and samples.png")


if __name__ == "__main__":
    main()
