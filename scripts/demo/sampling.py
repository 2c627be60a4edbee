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
def txt2img(net, tok, prompts, seed, steps=20, cfg=5.0, size=64, negative=""):
    """Returns images in [0,1], [B,3,H,W]. Noise: torch.manual_seed(seed) randn like ComfyUI."""
    sch = Schedule()
    down = 2 ** (len(net.vae.encoder.down) - 1)
    B = len(prompts)
    ids = torch.tensor([tok.encode77(p) for p in prompts] + [tok.encode77(negative)] * B)
    ctx = net.cond_stage_model(ids)
    g = torch.manual_seed(seed)
    x = torch.randn((B, 4, size // down, size // down), generator=g)
    sig = sch.normal(steps)
    x = x * math.sqrt(1 + float(sig[0]) ** 2)
    for i in range(steps):
        s = float(sig[i])
        t = sch.timestep(s).expand(2 * B)
        xin = torch.cat([x, x]) / math.sqrt(s * s + 1)
        eps = net.unet(xin, t, ctx)
        e_c, e_u = eps[:B], eps[B:]
        eps = e_u + (e_c - e_u) * cfg
        den = x - s * eps
        d = (x - den) / s
        x = x + d * (float(sig[i + 1]) - s)
    img = net.vae.decode(x / net.scale_factor)
    return ((img + 1) / 2).clamp(0, 1)
