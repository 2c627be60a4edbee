"""Small SD1-architecture model in plain torch, with the original single-file (LDM) key names.

Everything here mirrors ldm's openaimodel.UNetModel, ldm's AutoencoderKL and HF's CLIPTextModel
closely enough that `state_dict()` keys and tensor shapes are exactly those of an SD1 checkpoint
(`model.diffusion_model.*`, `first_stage_model.*`, `cond_stage_model.transformer.text_model.*`).
Numerics follow ../shared/spec/comfyui.md §10.10 (GroupNorm eps, GEGLU gate order, cos-first
timestep embedding, VAE asymmetric-pad downsample, nearest upsample).
Developer tool only: sdflow never runs Python.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def GN(c, eps):
    return nn.GroupNorm(32, c, eps=eps)


# ----------------------------------------------------------------------------- UNet

def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ResBlock(nn.Module):
    def __init__(self, cin, emb, cout):
        super().__init__()
        self.in_layers = nn.Sequential(GN(cin, 1e-5), nn.SiLU(), nn.Conv2d(cin, cout, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb, cout))
        self.out_layers = nn.Sequential(GN(cout, 1e-5), nn.SiLU(), nn.Dropout(0.0),
                                        nn.Conv2d(cout, cout, 3, padding=1))
        self.skip_connection = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x, emb, ctx):
        h = self.in_layers(x)
        h = h + self.emb_layers(emb)[:, :, None, None]
        h = self.out_layers(h)
        return self.skip_connection(x) + h


class Attention(nn.Module):
    def __init__(self, dim, ctx_dim, heads):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(ctx_dim, dim, bias=False)
        self.to_v = nn.Linear(ctx_dim, dim, bias=False)
        self.to_out = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(0.0))

    def forward(self, x, ctx=None):
        ctx = x if ctx is None else ctx
        B, N, C = x.shape
        M = ctx.shape[1]
        h = self.heads
        d = C // h
        q = self.to_q(x).view(B, N, h, d).transpose(1, 2)
        k = self.to_k(ctx).view(B, M, h, d).transpose(1, 2)
        v = self.to_v(ctx).view(B, M, h, d).transpose(1, 2)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
        o = (w @ v).transpose(1, 2).reshape(B, N, C)
        return self.to_out(o)


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        a, g = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(g)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.Sequential(GEGLU(dim, dim * 4), nn.Dropout(0.0), nn.Linear(dim * 4, dim))

    def forward(self, x):
        return self.net(x)


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, ctx_dim, heads):
        super().__init__()
        self.attn1 = Attention(dim, dim, heads)
        self.ff = FeedForward(dim)
        self.attn2 = Attention(dim, ctx_dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.norm3 = nn.LayerNorm(dim)

    def forward(self, x, ctx):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), ctx)
        x = x + self.ff(self.norm3(x))
        return x


class SpatialTransformer(nn.Module):
    def __init__(self, c, ctx_dim, heads, depth):
        super().__init__()
        self.norm = GN(c, 1e-6)
        self.proj_in = nn.Conv2d(c, c, 1)
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(c, ctx_dim, heads) for _ in range(depth)])
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x, emb, ctx):
        B, C, H, W = x.shape
        h = self.proj_in(self.norm(x))
        h = h.flatten(2).transpose(1, 2)
        for blk in self.transformer_blocks:
            h = blk(h, ctx)
        h = h.transpose(1, 2).reshape(B, C, H, W)
        return self.proj_out(h) + x


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.op = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x, emb, ctx):
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x, emb, ctx, size=None):
        x = F.interpolate(x, size=size, mode="nearest") if size is not None else \
            F.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv(x)


class ConvIn(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)

    def forward(self, x, emb, ctx):
        return self.conv(x)


class TESeq(nn.ModuleList):
    """TimestepEmbedSequential: children named 0, 1, 2 as in ldm."""

    def forward(self, x, emb, ctx, up_size=None):
        for m in self:
            if isinstance(m, Upsample):
                x = m(x, emb, ctx, up_size)
            else:
                x = m(x, emb, ctx)
        return x


class UNetModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        mc = cfg["model_channels"]
        mult = cfg["channel_mult"]
        nrb = cfg["num_res_blocks"]
        attn_res = cfg["attention_resolutions"]
        heads = cfg["num_heads"]
        ctx = cfg["context_dim"]
        depth = cfg["transformer_depth"]
        cin = cfg["in_channels"]
        emb = mc * 4
        self.mc = mc
        self.time_embed = nn.Sequential(nn.Linear(mc, emb), nn.SiLU(), nn.Linear(emb, emb))
        # input_blocks.0.0 is a bare conv in ldm (key input_blocks.0.0.weight)
        self.input_blocks = nn.ModuleList([TESeq([nn.Conv2d(cin, mc, 3, padding=1)])])
        chans = [mc]
        ch = mc
        ds = 1
        for level, m in enumerate(mult):
            for _ in range(nrb):
                layers = [ResBlock(ch, emb, m * mc)]
                ch = m * mc
                if ds in attn_res:
                    layers.append(SpatialTransformer(ch, ctx, heads, depth))
                self.input_blocks.append(TESeq(layers))
                chans.append(ch)
            if level != len(mult) - 1:
                self.input_blocks.append(TESeq([Downsample(ch)]))
                chans.append(ch)
                ds *= 2
        self.middle_block = TESeq([ResBlock(ch, emb, ch), SpatialTransformer(ch, ctx, heads, depth),
                                   ResBlock(ch, emb, ch)])
        self.output_blocks = nn.ModuleList()
        for level, m in list(enumerate(mult))[::-1]:
            for i in range(nrb + 1):
                skip = chans.pop()
                layers = [ResBlock(ch + skip, emb, m * mc)]
                ch = m * mc
                if ds in attn_res:
                    layers.append(SpatialTransformer(ch, ctx, heads, depth))
                if level and i == nrb:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(TESeq(layers))
        self.out = nn.Sequential(GN(ch, 1e-5), nn.SiLU(), nn.Conv2d(mc, cfg["out_channels"], 3, padding=1))

    def forward(self, x, t, ctx):
        emb = self.time_embed(timestep_embedding(t, self.mc))
        hs = []
        h = x
        for i, blk in enumerate(self.input_blocks):
            if i == 0:
                h = blk[0](h)
            else:
                h = blk(h, emb, ctx)
            hs.append(h)
        h = self.middle_block(h, emb, ctx)
        for blk in self.output_blocks:
            h = torch.cat([h, hs.pop()], dim=1)
            up = hs[-1].shape[-2:] if hs else None
            h = blk(h, emb, ctx, up)
        return self.out(h)


# ----------------------------------------------------------------------------- VAE

class VResnet(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1 = GN(cin, 1e-6)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = GN(cout, 1e-6)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)
        else:
            self.nin_shortcut = None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.nin_shortcut is None else self.nin_shortcut(x)) + h


class VAttn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = GN(c, 1e-6)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x):
        B, C, H, W = x.shape
        h = self.norm(x)
        q = self.q(h).flatten(2).transpose(1, 2)
        k = self.k(h).flatten(2)
        v = self.v(h).flatten(2).transpose(1, 2)
        w = torch.softmax(q @ k / math.sqrt(C), dim=-1)
        o = (w @ v).transpose(1, 2).reshape(B, C, H, W)
        return x + self.proj_out(o)


class VDown(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class VUp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class VMid(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.block_1 = VResnet(c, c)
        self.attn_1 = VAttn(c)
        self.block_2 = VResnet(c, c)

    def forward(self, x):
        return self.block_2(self.attn_1(self.block_1(x)))


class Encoder(nn.Module):
    def __init__(self, dd):
        super().__init__()
        ch, mult, nrb, z = dd["ch"], dd["ch_mult"], dd["num_res_blocks"], dd["z_channels"]
        self.conv_in = nn.Conv2d(dd["in_channels"], ch, 3, padding=1)
        self.down = nn.ModuleList()
        c = ch
        for i, m in enumerate(mult):
            lvl = nn.Module()
            lvl.block = nn.ModuleList()
            for _ in range(nrb):
                lvl.block.append(VResnet(c, ch * m))
                c = ch * m
            if i != len(mult) - 1:
                lvl.downsample = VDown(c)
            self.down.append(lvl)
        self.mid = VMid(c)
        self.norm_out = GN(c, 1e-6)
        self.conv_out = nn.Conv2d(c, 2 * z, 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for i, lvl in enumerate(self.down):
            for b in lvl.block:
                h = b(h)
            if hasattr(lvl, "downsample"):
                h = lvl.downsample(h)
        h = self.mid(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, dd):
        super().__init__()
        ch, mult, nrb, z = dd["ch"], dd["ch_mult"], dd["num_res_blocks"], dd["z_channels"]
        c = ch * mult[-1]
        self.conv_in = nn.Conv2d(z, c, 3, padding=1)
        self.mid = VMid(c)
        ups = []
        for i in reversed(range(len(mult))):
            lvl = nn.Module()
            lvl.block = nn.ModuleList()
            for _ in range(nrb + 1):
                lvl.block.append(VResnet(c, ch * mult[i]))
                c = ch * mult[i]
            if i != 0:
                lvl.upsample = VUp(c)
            ups.insert(0, lvl)
        self.up = nn.ModuleList(ups)
        self.norm_out = GN(c, 1e-6)
        self.conv_out = nn.Conv2d(c, dd["out_ch"], 3, padding=1)

    def forward(self, z):
        h = self.mid(self.conv_in(z))
        for i in reversed(range(len(self.up))):
            lvl = self.up[i]
            for b in lvl.block:
                h = b(h)
            if hasattr(lvl, "upsample"):
                h = lvl.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class AutoencoderKL(nn.Module):
    def __init__(self, dd, embed_dim):
        super().__init__()
        self.encoder = Encoder(dd)
        self.decoder = Decoder(dd)
        self.quant_conv = nn.Conv2d(2 * dd["z_channels"], 2 * embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(embed_dim, dd["z_channels"], 1)

    def moments(self, x):
        return self.quant_conv(self.encoder(x))

    def encode_mean(self, x):
        return self.moments(x).chunk(2, dim=1)[0]

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))


# ----------------------------------------------------------------------------- CLIP text

class CLIPAttn(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d)
        self.v_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)

    def forward(self, x, mask):
        B, N, C = x.shape
        h = self.heads
        dh = C // h
        q = (self.q_proj(x) * dh ** -0.5).view(B, N, h, dh).transpose(1, 2)
        k = self.k_proj(x).view(B, N, h, dh).transpose(1, 2)
        v = self.v_proj(x).view(B, N, h, dh).transpose(1, 2)
        w = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1)
        return self.out_proj((w @ v).transpose(1, 2).reshape(B, N, C))


class CLIPMLP(nn.Module):
    def __init__(self, d, inner):
        super().__init__()
        self.fc1 = nn.Linear(d, inner)
        self.fc2 = nn.Linear(inner, d)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))


class CLIPLayer(nn.Module):
    def __init__(self, d, heads, inner):
        super().__init__()
        self.self_attn = CLIPAttn(d, heads)
        self.layer_norm1 = nn.LayerNorm(d)
        self.mlp = CLIPMLP(d, inner)
        self.layer_norm2 = nn.LayerNorm(d)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class CLIPTextModel(nn.Module):
    """Keys: embeddings.*, encoder.layers.N.*, final_layer_norm.* (wrapped as text_model)."""

    def __init__(self, cc):
        super().__init__()
        d = cc["hidden_size"]
        self.embeddings = nn.Module()
        self.embeddings.token_embedding = nn.Embedding(cc["vocab_size"], d)
        self.embeddings.position_embedding = nn.Embedding(cc["max_position_embeddings"], d)
        self.embeddings.register_buffer(
            "position_ids", torch.arange(cc["max_position_embeddings"]).long()[None])
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList(
            [CLIPLayer(d, cc["num_attention_heads"], cc["intermediate_size"])
             for _ in range(cc["num_hidden_layers"])])
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, ids):
        N = ids.shape[1]
        x = self.embeddings.token_embedding(ids) + self.embeddings.position_embedding.weight[:N][None]
        mask = torch.full((N, N), float("-inf")).triu(1)
        for layer in self.encoder.layers:
            x = layer(x, mask)
        return self.final_layer_norm(x)


# ----------------------------------------------------------------------------- whole checkpoint

class Transformer(nn.Module):
    def __init__(self, cc):
        super().__init__()
        self.text_model = CLIPTextModel(cc)


class CondStage(nn.Module):
    def __init__(self, cc):
        super().__init__()
        self.transformer = Transformer(cc)

    def forward(self, ids):
        return self.transformer.text_model(ids)


class DiffusionWrapper(nn.Module):
    def __init__(self, ucfg):
        super().__init__()
        self.diffusion_model = UNetModel(ucfg)


class LatentDiffusion(nn.Module):
    """state_dict() gives model.diffusion_model.*, first_stage_model.*, cond_stage_model.*"""

    def __init__(self, ldm_config, clip_config):
        super().__init__()
        p = ldm_config["model"]["params"]
        self.model = DiffusionWrapper(p["unet_config"]["params"])
        fs = p["first_stage_config"]["params"]
        self.first_stage_model = AutoencoderKL(fs["ddconfig"], fs["embed_dim"])
        self.cond_stage_model = CondStage(clip_config)
        self.scale_factor = p["scale_factor"]

    @property
    def unet(self):
        return self.model.diffusion_model

    @property
    def vae(self):
        return self.first_stage_model


def scaled_linear_alphas_cumprod(start=0.00085, end=0.012, n=1000):
    betas = torch.linspace(start ** 0.5, end ** 0.5, n, dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, dim=0)
