"""Helpers for tests: benign images made in code, and evidence snapshots."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def gradient_image(seed: int = 0, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A benign photo-like test picture: gradients, blocks and noise, distinct per seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack(
        [
            127 + 120 * np.sin(x / (7 + seed % 11) + seed),
            127 + 120 * np.cos(y / (9 + seed % 5) - seed),
            (x + y) * 255 / (w + h),
        ],
        axis=-1,
    )
    for _ in range(6):
        x0, y0 = rng.integers(0, w - 20), rng.integers(0, h - 20)
        base[y0 : y0 + rng.integers(10, h // 2), x0 : x0 + rng.integers(10, w // 2)] = rng.integers(
            0, 255, 3
        )
    base += rng.normal(0, 6, base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


def image_bytes(img: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def snapshot(root: Path) -> dict[bytes, tuple[int, int, bytes]]:
    """(mtime_ns, size, content) of every regular file below root, links not followed."""
    out = {}
    for dirpath, _dirs, names in os.walk(os.fsencode(root)):
        for name in names:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    out[path] = (st.st_mtime_ns, st.st_size, f.read())
    return out
