"""Writes the input images the ready graphs load (graphs/input/), drawn by the demo data
renderer so they are scenes the demo model knows (developer tool; the PNGs are committed):
  example.png                  a large red circle in the centre on a blue background, 64x64 RGB
  example_with_alpha_mask.png  the same, RGBA, alpha 0 over a 28x28 box around the circle (LoadImage
                               gives mask = 1 - alpha there: the region inpaint.json redraws)
  /usr/bin/python3 scripts/demo/make_inputs.py
"""
import os
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import pngw  # noqa: E402


def write_rgba(path, img):
    h, w, _ = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "graphs", "input")
    os.makedirs(out, exist_ok=True)
    scene = dict(bg="blue", kind="single", pos="centre", size="large",
                 objects=[dict(shape="circle", color="red", cx=32.0, cy=32.0, r=data.RADIUS["large"])])
    img, _ = data.render(scene)
    pngw.write_png(os.path.join(out, "example.png"), img)
    alpha = np.full((64, 64, 1), 255, np.uint8)
    alpha[18:46, 18:46] = 0
    write_rgba(os.path.join(out, "example_with_alpha_mask.png"), np.concatenate([img, alpha], -1))


if __name__ == "__main__":
    main()
