"""Cost of the degraded review renderings (`vigil.media.renderings.render`) per mode, against
a plain sharp rendering measured in the same run: decode (DCT-scaled for JPEG, as `render`
decodes), Lanczos resize to the same long side and a JPEG q85 encode of the colour picture.

Inputs are benign generated scenes: a 256 px stored review thumbnail (what the grid renders
from), and a 12 MP camera JPEG rendered at thumbnail size (256 px) and at review resolution
(1600 px). Each figure is the median of --runs calls after one untimed call.

Usage: python benchmarks/renderings.py [--runs 9]     (about 10 s on 2 cores)
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

from PIL import Image

from vigil.media.renderings import RENDERINGS, render
from vigil.synthetic.images import camera_jpeg, encode, scene

SEED = 20260611


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def sharp(data: bytes, size: int) -> bytes:
    img = Image.open(io.BytesIO(data))
    scale = min(1.0, size / max(img.size))
    target = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    img.draft("RGB", target)
    small = img.convert("RGB").resize(target, Image.Resampling.LANCZOS, reducing_gap=1.5)
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    camera = camera_jpeg(SEED, 4000, 3000)
    cases = (
        ("256 px thumbnail -> 256", encode(scene(SEED, 256, 192), "JPEG", quality=80), 256),
        ("12 MP JPEG -> 256", camera, 256),
        ("12 MP JPEG -> 1600", camera, 1600),
    )
    modes = RENDERINGS.names()
    print(f"{'input -> long side':26} {'sharp ms':>9}" + "".join(f" {m:>20}" for m in modes))
    for label, data, size in cases:
        base = median_ms(lambda d=data, s=size: sharp(d, s), args.runs)
        cells = []
        for mode in modes:
            ms = median_ms(lambda d=data, m=mode, s=size: render(d, m, s), args.runs)
            cells.append(f" {ms:9.1f} ms ({ms / base:4.2f}x)")
        print(f"{label:26} {base:9.1f}" + "".join(cells))
    for mode in modes:
        sizes = [len(render(data, mode, size)) for _label, data, size in cases]
        rendering = RENDERINGS.get(mode)
        print(f"{mode}: {rendering.format}, bytes {sizes}, version {rendering.version}")


if __name__ == "__main__":
    main()
