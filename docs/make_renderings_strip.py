"""Rebuilds `docs/renderings.png`: one benign generated scene as the original (a sharp colour
thumbnail) and each degraded review rendering of it, side by side and labelled. Every tile
comes from `vigil.media.renderings.render` on the same camera-size JPEG, as the review app
would serve it.

    .venv/bin/python docs/make_renderings_strip.py [--out docs/renderings.png] [--size 320]
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from vigil.media.renderings import RENDERINGS, render
from vigil.synthetic.images import encode, scene

HERE = Path(__file__).resolve().parent
SEED = 1
GAP = 8
LABEL = 28


def tiles(size: int) -> list[tuple[str, Image.Image]]:
    data = encode(scene(SEED, 1600, 1200), "JPEG", quality=92)
    original = Image.open(io.BytesIO(data)).convert("RGB")
    original.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = [("original", original)]
    for mode in ("blur-grey", "line-drawing", "pixelate"):
        rendering = RENDERINGS.get(mode)
        img = Image.open(io.BytesIO(render(data, mode, size))).convert("RGB")
        out.append((f"{mode} (v{rendering.version.split('/')[0]})", img))
    return out


def strip(parts: list[tuple[str, Image.Image]]) -> Image.Image:
    width = sum(img.width for _, img in parts) + GAP * (len(parts) + 1)
    height = max(img.height for _, img in parts) + LABEL + 2 * GAP
    sheet = Image.new("RGB", (width, height), (40, 40, 40))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(16)
    x = GAP
    for label, img in parts:
        sheet.paste(img, (x, GAP))
        draw.text((x + 4, GAP + img.height + 6), label, fill=(235, 235, 235), font=font)
        x += img.width + GAP
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "renderings.png")
    parser.add_argument("--size", type=int, default=320)
    args = parser.parse_args()
    strip(tiles(args.size)).save(args.out, optimize=True)
    print(args.out)


if __name__ == "__main__":
    main()
