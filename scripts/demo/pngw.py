"""Tiny PNG writer (zlib only) and a line-plot rasteriser, so no matplotlib is needed."""
import struct
import zlib

import numpy as np


def write_png(path, img):
    """img: uint8 [H, W, 3] (RGB) or [H, W, 4] (RGBA)."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w, c = img.shape
    color_type = {3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def _line(img, x0, y0, x1, y1, col):
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    xs = np.linspace(x0, x1, n).round().astype(int)
    ys = np.linspace(y0, y1, n).round().astype(int)
    ok = (xs >= 0) & (xs < img.shape[1]) & (ys >= 0) & (ys < img.shape[0])
    img[ys[ok], xs[ok]] = col


def plot(path, series, w=640, h=360, logy=True):
    """series: list of (values, rgb). Plots each curve (x = index scaled to full width) on a log-y
    axis with light grid lines at powers of ten; white background."""
    img = np.full((h, w, 3), 255, np.uint8)
    m = 20
    allv = np.concatenate([np.asarray(v, float) for v, _ in series if len(v)])
    allv = allv[allv > 0] if logy else allv
    f = np.log10 if logy else (lambda a: np.asarray(a, float))
    lo, hi = f(allv.min()), f(allv.max())
    if hi - lo < 1e-9:
        hi = lo + 1
    if logy:
        for p in range(int(np.floor(lo)), int(np.ceil(hi)) + 1):
            y = h - m - (p - lo) / (hi - lo) * (h - 2 * m)
            if m <= y <= h - m:
                _line(img, m, y, w - m, y, (220, 220, 220))
    _line(img, m, h - m, w - m, h - m, (0, 0, 0))
    _line(img, m, m, m, h - m, (0, 0, 0))
    for vals, col in series:
        v = np.asarray(vals, float)
        if len(v) < 2:
            continue
        v = np.maximum(v, 1e-12) if logy else v
        xs = m + np.arange(len(v)) / (len(v) - 1) * (w - 2 * m)
        ys = h - m - (f(v) - lo) / (hi - lo) * (h - 2 * m)
        for i in range(len(v) - 1):
            _line(img, xs[i], ys[i], xs[i + 1], ys[i + 1], col)
    write_png(path, img)
