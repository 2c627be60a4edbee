"""Writes the input images the ready graphs load (graphs/input/), drawn by the demo data
renderer so they are scenes the demo model knows (developer tool; the PNGs are committed):
  example.png                  a large red circle in the centre on a blue background, 64x64 RGB
  example_with_alpha_mask.png  the same, RGBA, alpha 0 over a 28x28 box around the circle (LoadImage
                               gives mask = 1 - alpha there: the region inpaint.json redraws)
  /usr/bin/python3 scripts/demo/make_inputs.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import pngw  # noqa: E402


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "graphs", "input")
    os.makedirs(out, exist_ok=True)
    scene = dict(bg="blue", kind="single", pos="centre", size="large",
                 objects=[dict(shape="circle", color="red", cx=32.0, cy=32.0, r=data.RADIUS["large"])])
    img, _ = data.render(scene)
    pngw.write_png(os.path.join(out, "example.png"), img)
    alpha = np.full((64, 64, 1), 255, np.uint8)
    alpha[18:46, 18:46] = 0
    pngw.write_png(os.path.join(out, "example_with_alpha_mask.png"), np.concatenate([img, alpha], -1))


if __name__ == "__main__":
    main()
