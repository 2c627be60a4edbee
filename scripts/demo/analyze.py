"""Reads what a 64x64 demo image shows: background colour, object colour, foreground centroid,
size and shape, by nearest-palette classification. Pure numpy, deliberately simple so the same
rules can be written in C for sdflow's semantic end-to-end tests.

Rules (all on the uint8 RGB image):
1. every pixel gets the nearest palette colour (Euclidean RGB over data.BACKGROUNDS);
2. background = the most frequent class on the 2-pixel border frame;
3. foreground = pixels whose class differs from the background's;
4. object colour = the most frequent class in the foreground; centroid = mean (x, y) of the
   foreground; position = nearest of data.POSITIONS;
5. size = "large" if the foreground area exceeds the geometric mean of that shape's nominal small
   and large areas; shape: square if fill ratio = area / bounding-box area >= 0.88, else triangle if
   the foreground area in the top half of the box is < 0.78 x that in the bottom half, else
   circle; the box spans the rows and columns holding at least 2 foreground pixels.
"""
import numpy as np

import data

NAMES = list(data.BACKGROUNDS)
PAL = np.array([data.BACKGROUNDS[n] for n in NAMES], np.float32)
NOMINAL_AREA = {"circle": lambda r: np.pi * r * r, "square": lambda r: (1.72 * r) ** 2,
                "triangle": lambda r: 1.299 * (1.15 * r) ** 2}


def classify(img):
    d = ((img[:, :, None, :].astype(np.float32) - PAL[None, None]) ** 2).sum(-1)
    return d.argmin(-1)


def analyze(img, expect_shape=None):
    cls = classify(img)
    border = np.concatenate([cls[:2].ravel(), cls[-2:].ravel(), cls[:, :2].ravel(), cls[:, -2:].ravel()])
    bg = np.bincount(border, minlength=len(NAMES)).argmax()
    fg = cls != bg
    out = {"bg": NAMES[bg], "area": int(fg.sum())}
    if out["area"] < 4:
        out.update(color=None, centroid=None, pos=None, size=None, shape=None)
        return out
    col = np.bincount(cls[fg], minlength=len(NAMES)).argmax()
    ys, xs = np.nonzero(fg)
    cx, cy = float(xs.mean() + 0.5), float(ys.mean() + 0.5)
    pos = min(data.POSITIONS, key=lambda p: (data.POSITIONS[p][0] - cx) ** 2 + (data.POSITIONS[p][1] - cy) ** 2)
    cols = np.nonzero(fg.sum(0) >= 2)[0]
    rows = np.nonzero(fg.sum(1) >= 2)[0]
    box = (cols[-1] - cols[0] + 1) * (rows[-1] - rows[0] + 1) if len(cols) and len(rows) else out["area"]
    fill = out["area"] / max(1.0, box)
    top_bottom = 1.0
    if len(rows):
        mid = (rows[0] + rows[-1] + 1) / 2.0
        top, bot = fg[ys[ys < mid], xs[ys < mid]].sum(), fg[ys[ys >= mid], xs[ys >= mid]].sum()
        top_bottom = float(top) / max(1.0, float(bot))
    shape = "square" if fill >= 0.88 else ("triangle" if top_bottom < 0.78 else "circle")
    s = expect_shape or shape
    thr = np.sqrt(NOMINAL_AREA[s](data.RADIUS["small"]) * NOMINAL_AREA[s](data.RADIUS["large"]))
    out.update(color=NAMES[col], centroid=(cx, cy), pos=pos, size="large" if out["area"] > thr else "small",
               shape=shape, fill=float(fill), top_bottom=top_bottom)
    return out


def analyze_pair(img, c1, c2):
    """Centroids of the pixels classified as c1 and as c2 (None when fewer than 12 pixels)."""
    cls = classify(img)
    res = {}
    for key, c in (("a", c1), ("b", c2)):
        m = cls == NAMES.index(c)
        m[:2] = m[-2:] = False
        m[:, :2] = m[:, -2:] = False
        if m.sum() < 12:
            res[key] = None
        else:
            ys, xs = np.nonzero(m)
            res[key] = (float(xs.mean() + 0.5), float(ys.mean() + 0.5))
    return res


def score(case, img):
    """Per-criterion booleans for one held-out case."""
    if case["kind"] == "single":
        a = analyze(img, case["shape"])
        return {"bg": a["bg"] == case["bg"], "color": a["color"] == case["color"],
                "pos": a["pos"] == case["pos"], "size": a["size"] == case["size"],
                "shape": a["shape"] == case["shape"]}, a
    bgc = analyze(img)["bg"]
    p = analyze_pair(img, case["color"], case["color2"])
    ok = p["a"] is not None and p["b"] is not None
    if ok:
        if case["rel"] == "left":
            rel = p["a"][0] + 8 < p["b"][0]
        else:
            rel = p["a"][1] + 8 < p["b"][1]
    else:
        rel = False
    return {"bg": bgc == case["bg"], "color": ok, "pos": rel}, p
