"""Deterministic, seeded generator of captioned 64x64 RGB images of simple shapes.

Scenes: one object (shape, colour, size, position) on a plain background of another colour, or two
objects side by side / one above the other ("a red circle left of a blue square"). Captions come
from a small grammar with variation in wording; attributes a caption leaves out (size, position,
background) are random in its image. A fixed list of (colour, shape, background) triples and of
two-object pairs is held out of training (`held_out()`), for the tests that check composition.
"""
import json

import numpy as np

SIZE = 64
COLORS = {  # name -> sRGB; object colours are well apart in hue or lightness
    "red": (220, 30, 35), "orange": (245, 140, 20), "yellow": (245, 225, 40),
    "green": (40, 170, 60), "blue": (35, 75, 225), "purple": (135, 45, 190),
    "pink": (245, 120, 190), "white": (245, 245, 245),
}
BACKGROUNDS = dict(COLORS, black=(20, 20, 20), gray=(128, 128, 128))
SHAPES = ["circle", "square", "triangle"]
POSITIONS = {"left": (16, 32), "right": (48, 32), "top": (32, 16), "bottom": (32, 48), "centre": (32, 32)}
RADIUS = {"small": 7.0, "large": 13.0}
PAIR_RADIUS = 8.5
POS_WORDS = {
    "left": ["on the left", "at the left", "left"],
    "right": ["on the right", "at the right", "right"],
    "top": ["at the top", "on top", "top"],
    "bottom": ["at the bottom", "on the bottom", "bottom"],
    "centre": ["in the centre", "in the center", "in the middle", "centre"],
}
REL_WORDS = {"left": ["left of", "to the left of"], "right": ["right of", "to the right of"],
             "above": ["above", "over"], "below": ["below", "under"]}
BG_NAMES = {"gray": ["gray", "grey"]}


def held_out():
    """Combinations never rendered in training: 16 (colour, shape, background) triples for
    single objects and 8 ordered (colour, shape, colour, shape) pairs for two-object scenes."""
    rng = np.random.RandomState(4242)
    singles = []
    cols = list(COLORS)
    while len(singles) < 16:
        c = cols[rng.randint(len(cols))]
        s = SHAPES[rng.randint(3)]
        bgs = [b for b in BACKGROUNDS if b != c]
        b = bgs[rng.randint(len(bgs))]
        if (c, s, b) not in singles and all(x[0] != c or x[1] != s for x in singles):
            singles.append((c, s, b))
    pairs = []
    while len(pairs) < 8:
        c1, c2 = rng.choice(cols, 2, replace=False)
        s1, s2 = SHAPES[rng.randint(3)], SHAPES[rng.randint(3)]
        p = (str(c1), s1, str(c2), s2)
        if p not in pairs:
            pairs.append(p)
    return singles, pairs


_HELD_SINGLE, _HELD_PAIR = held_out()
_HELD_SINGLE_SET = set(_HELD_SINGLE)
_HELD_PAIR_SET = set(_HELD_PAIR) | {(p[2], p[3], p[0], p[1]) for p in _HELD_PAIR}


def _coverage(shape, cx, cy, r, ss=4):
    """Anti-aliased coverage mask [SIZE, SIZE] in [0,1] (ss x ss supersampling), evaluated only
    inside the object's bounding box."""
    out = np.zeros((SIZE, SIZE), np.float32)
    ext = r * 1.2 + 1
    x0, x1 = max(0, int(cx - ext)), min(SIZE, int(cx + ext) + 1)
    y0, y1 = max(0, int(cy - ext)), min(SIZE, int(cy + ext) + 1)
    X, Y = np.meshgrid((np.arange(x0 * ss, x1 * ss) + 0.5) / ss, (np.arange(y0 * ss, y1 * ss) + 0.5) / ss)
    if shape == "circle":
        m = (X - cx) ** 2 + (Y - cy) ** 2 <= r * r
    elif shape == "square":
        h = r * 0.86
        m = (np.abs(X - cx) <= h) & (np.abs(Y - cy) <= h)
    else:  # upward equilateral triangle inscribed in a circle of radius 1.15 r, centroid at (cx, cy)
        R = r * 1.15
        ang = np.deg2rad([-90, 30, 150])
        px, py = cx + R * np.cos(ang), cy + R * np.sin(ang)
        m = np.ones_like(X, dtype=bool)
        for i in range(3):
            xa, ya, xb, yb = px[i], py[i], px[(i + 1) % 3], py[(i + 1) % 3]
            m &= (xb - xa) * (Y - ya) - (yb - ya) * (X - xa) >= 0
    out[y0:y1, x0:x1] = m.reshape(y1 - y0, ss, x1 - x0, ss).mean(axis=(1, 3))
    return out


def render(scene):
    """scene dict -> uint8 [64, 64, 3] and float foreground coverage [64, 64] per object."""
    img = np.empty((SIZE, SIZE, 3), np.float32)
    img[:] = BACKGROUNDS[scene["bg"]]
    masks = []
    for o in scene["objects"]:
        cov = _coverage(o["shape"], o["cx"], o["cy"], o["r"])
        img = img * (1 - cov[..., None]) + np.array(COLORS[o["color"]], np.float32) * cov[..., None]
        masks.append(cov)
    return np.clip(np.round(img), 0, 255).astype(np.uint8), masks


def art(word):
    return ("an " if word[0] in "aeiou" else "a ") + word


def _pick(rng, seq):
    return seq[rng.randint(len(seq))]


def _bg_word(rng, b):
    return _pick(rng, BG_NAMES.get(b, [b]))


def single_caption(rng, color, shape, bg, pos, size, drop=True):
    """A caption from the grammar; with drop, size/position/background may be left out."""
    keep_size = not drop or rng.rand() < 0.7
    keep_pos = not drop or rng.rand() < 0.8
    keep_bg = not drop or rng.rand() < 0.8
    sz = size + " " if keep_size else ""
    pw = _pick(rng, POS_WORDS[pos])
    bgw = _bg_word(rng, bg)
    t = rng.randint(4)
    if t == 0:
        s = art(f"{sz}{color} {shape}")
        if keep_pos:
            s += " " + (pw if pw.count(" ") else POS_WORDS[pos][0])
        if keep_bg:
            s += f" on {art(bgw)} background"
    elif t == 1:
        parts = [f"{sz}{color} {shape}"]
        if keep_bg:
            parts.append(f"{bgw} background")
        if keep_pos:
            parts.append(pw)
        s = ", ".join(parts)
    elif t == 2:
        s = f"{sz}{color} {shape}"
        if keep_pos:
            s += " " + pw
        if keep_bg:
            s += f", {bgw} background"
    else:
        s = art(f"{sz}{color} {shape}")
        if keep_bg:
            s += f" on {bgw}"
        if keep_pos:
            s += ", " + pw
    return s, {"size": keep_size, "pos": keep_pos, "bg": keep_bg}


def pair_caption(rng, c1, s1, rel, c2, s2, bg, drop=True):
    keep_bg = not drop or rng.rand() < 0.7
    s = f"{art(c1)} {s1} {_pick(rng, REL_WORDS[rel])} {art(c2)} {s2}"
    if keep_bg:
        bgw = _bg_word(rng, bg)
        s += _pick(rng, [" on " + art(bgw), ", " + bgw]) + " background"
    return s


def canonical_single(color, shape, bg, pos, size):
    pw = {"left": "on the left", "right": "on the right", "top": "at the top",
          "bottom": "at the bottom", "centre": "in the centre"}[pos]
    return f"a {size} {color} {shape} {pw} on {art(bg)} background"


def canonical_pair(c1, s1, rel, c2, s2, bg):
    r = {"left": "left of", "right": "right of"}.get(rel, rel)
    return f"{art(c1)} {s1} {r} {art(c2)} {s2} on {art(bg)} background"


def place_pair(rng, rel, first, second):
    """The two objects ((shape, colour) each) of a pair scene, `first` `rel` `second`, with the
    training jitter of centres (+-2.5 px) and radii (+-10 %)."""
    j = lambda: rng.uniform(-2.5, 2.5)  # noqa: E731
    if rel in ("left", "right"):
        a, b = (17 + j(), 32 + j()), (47 + j(), 32 + j())
    else:
        a, b = (32 + j(), 17 + j()), (32 + j(), 47 + j())
    if rel in ("right", "below"):
        a, b = b, a
    r1, r2 = PAIR_RADIUS * rng.uniform(0.9, 1.1), PAIR_RADIUS * rng.uniform(0.9, 1.1)
    return [dict(shape=first[0], color=first[1], cx=a[0], cy=a[1], r=r1),
            dict(shape=second[0], color=second[1], cx=b[0], cy=b[1], r=r2)]


def place_single(rng, shape, color, pos, size):
    """One object at a nominal position and size with the training jitter (+-3 px small, +-2 px
    large; radius +-10 %)."""
    jit = 3.0 if size == "small" else 2.0
    cx, cy = POSITIONS[pos]
    cx += rng.uniform(-jit, jit)
    cy += rng.uniform(-jit, jit)
    return dict(shape=shape, color=color, cx=cx, cy=cy, r=RADIUS[size] * rng.uniform(0.9, 1.1))


def sample_scene(rng, pair_frac=0.25):
    """One training scene (never a held-out combination) with its caption."""
    cols = list(COLORS)
    while True:
        if rng.rand() < pair_frac:
            c1, c2 = _pick(rng, cols), _pick(rng, cols)
            s1, s2 = _pick(rng, SHAPES), _pick(rng, SHAPES)
            if c1 == c2 or (c1, s1, c2, s2) in _HELD_PAIR_SET:
                continue
            bg = _pick(rng, [b for b in BACKGROUNDS if b not in (c1, c2)])
            rel = _pick(rng, list(REL_WORDS))
            objs = place_pair(rng, rel, (s1, c1), (s2, c2))
            cap = pair_caption(rng, c1, s1, rel, c2, s2, bg)
            return dict(bg=bg, objects=objs, kind="pair", rel=rel), cap
        c, s = _pick(rng, cols), _pick(rng, SHAPES)
        bg = _pick(rng, [b for b in BACKGROUNDS if b != c])
        if (c, s, bg) in _HELD_SINGLE_SET:
            continue
        pos = _pick(rng, list(POSITIONS))
        size = _pick(rng, list(RADIUS))
        obj = place_single(rng, s, c, pos, size)
        cap, _ = single_caption(rng, c, s, bg, pos, size)
        return dict(bg=bg, objects=[obj], kind="single", pos=pos, size=size), cap


def make_dataset(n, seed):
    """n scenes rendered: uint8 [n, 64, 64, 3], list of captions, list of scenes."""
    rng = np.random.RandomState(seed)
    imgs = np.empty((n, SIZE, SIZE, 3), np.uint8)
    caps, scenes = [], []
    for i in range(n):
        sc, cap = sample_scene(rng)
        imgs[i] = render(sc)[0]
        caps.append(cap)
        scenes.append(sc)
    return imgs, caps, scenes


def caption_corpus(n, seed):
    """Captions only (for tokenizer training)."""
    rng = np.random.RandomState(seed)
    return [sample_scene(rng)[1] for _ in range(n)]


def held_out_cases():
    """The evaluation cases: every held-out single triple at each position and size, and every
    held-out pair with each relation; canonical wording, with what the image must show."""
    singles, pairs = held_out()
    cases = []
    for (c, s, b) in singles:
        for pos in POSITIONS:
            for size in RADIUS:
                cases.append(dict(kind="single", caption=canonical_single(c, s, b, pos, size),
                                  color=c, shape=s, bg=b, pos=pos, size=size,
                                  color_rgb=COLORS[c], bg_rgb=BACKGROUNDS[b],
                                  expected_centroid=POSITIONS[pos]))
    for (c1, s1, c2, s2) in pairs:
        bg = [x for x in ("gray", "black", "white") if x not in (c1, c2)][0]
        for rel in ("left", "above"):
            cases.append(dict(kind="pair", caption=canonical_pair(c1, s1, rel, c2, s2, bg),
                              color=c1, shape=s1, color2=c2, shape2=s2, rel=rel, bg=bg,
                              color_rgb=COLORS[c1], color2_rgb=COLORS[c2], bg_rgb=BACKGROUNDS[bg]))
    return cases


def write_held_out(path):
    singles, pairs = held_out()
    doc = {
        "about": "sdflow demo model: combinations never used in training (scripts/demo/data.py). "
                 "Image 64x64; centroids in pixels (x right, y down).",
        "palette": {k: list(v) for k, v in BACKGROUNDS.items()},
        "object_colors": list(COLORS), "shapes": SHAPES,
        "positions": {k: list(v) for k, v in POSITIONS.items()},
        "held_out_singles": [list(x) for x in singles],
        "held_out_pairs": [list(x) for x in pairs],
        "cases": held_out_cases(),
    }
    cases = doc.pop("cases")
    with open(path, "w") as f:  # one case per line, so diffs and C-side line readers stay simple
        f.write("{\n")
        for k, v in doc.items():
            f.write(f" {json.dumps(k)}: {json.dumps(v)},\n")
        f.write(' "cases": [\n')
        f.write(",\n".join("  " + json.dumps(c) for c in cases))
        f.write("\n ]\n}\n")


if __name__ == "__main__":
    import sys
    imgs, caps, scenes = make_dataset(16, 1)
    for c in caps:
        print(c)
    print(held_out())
    if len(sys.argv) > 1:
        write_held_out(sys.argv[1])
