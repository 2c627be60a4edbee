"""Reference sampler in torch (ComfyUI semantics: discrete SD1 schedule, "normal" scheduler,
k-diffusion euler, CFG on eps model). Used for the sample grid and the Python evaluator."""
import math

import torch

import model as M


class Schedule:
    def __init__(self):
        ac = M.scaled_linear_alphas_cumprod()
        s = ((1 - ac) / ac) ** 0.5
        self.sigmas = s.float()
        self.log_sigmas = s.log().float()

    def normal(self, steps):
        smax, smin = self.sigmas[-1], self.sigmas[0]
        t0 = int(torch.argmin((smax.log() - self.log_sigmas).abs()))
        t1 = int(torch.argmin((smin.log() - self.log_sigmas).abs()))
        ts = torch.linspace(t0, t1, steps)
        out = []
        for t in ts.tolist():
            lo, hi = math.floor(t), math.ceil(t)
            w = t - lo
            out.append(math.exp((1 - w) * float(self.log_sigmas[lo]) + w * float(self.log_sigmas[hi])))
        return torch.tensor(out + [0.0])

    def timestep(self, sigma):
        return torch.argmin((math.log(sigma) - self.log_sigmas).abs()).float()


@torch.no_grad()
def txt2img(net, tok, prompts, seed, steps=20, cfg=5.0, size=64, negative="", sampler="euler"):
    """Returns images in [0,1], [B,3,H,W]. Initial noise: torch.manual_seed(seed) randn, ancestral
    noise from a generator seeded seed+1 (ComfyUI's CPU behaviour). Samplers as k-diffusion's:
    euler, euler_ancestral (eta 1), dpmpp_2m."""
    sch = Schedule()
    down = 2 ** (len(net.vae.encoder.down) - 1)
    B = len(prompts)
    ids = torch.tensor([tok.encode77(p) for p in prompts] + [tok.encode77(negative)] * B)
    ctx = net.cond_stage_model(ids)
    g = torch.manual_seed(seed)
    x = torch.randn((B, 4, size // down, size // down), generator=g)
    g2 = torch.Generator().manual_seed(seed + 1)
    sig = sch.normal(steps)
    x = x * math.sqrt(1 + float(sig[0]) ** 2)

    def denoise(x, s):
        t = sch.timestep(s).expand(2 * B)
        eps = net.unet(torch.cat([x, x]) / math.sqrt(s * s + 1), t, ctx)
        e_c, e_u = eps[:B], eps[B:]
        return x - s * (e_u + (e_c - e_u) * cfg)

    old = None
    for i in range(steps):
        s, sn = float(sig[i]), float(sig[i + 1])
        den = denoise(x, s)
        if sampler == "euler":
            x = x + (x - den) / s * (sn - s)
        elif sampler == "euler_ancestral":
            su = min(sn, math.sqrt(max(0.0, sn * sn * (s * s - sn * sn) / (s * s))))
            sd = math.sqrt(max(0.0, sn * sn - su * su))
            x = x + (x - den) / s * (sd - s)
            if sn > 0:
                x = x + torch.randn(x.shape, generator=g2) * su
        elif sampler == "dpmpp_2m":
            if sn == 0:
                x = den
            else:
                t, tn = -math.log(s), -math.log(sn)
                h = tn - t
                if old is None:
                    x = (sn / s) * x - math.expm1(-h) * den
                else:
                    r = (t - (-math.log(float(sig[i - 1])))) / h
                    dd = (1 + 1 / (2 * r)) * den - (1 / (2 * r)) * old
                    x = (sn / s) * x - math.expm1(-h) * dd
            old = den
        else:
            raise ValueError(sampler)
    img = net.vae.decode(x / net.scale_factor)
    return ((img + 1) / 2).clamp(0, 1)
