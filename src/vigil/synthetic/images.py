"""Benign, seeded image generators: photo-like scenes, camera JPEGs with EXIF, every format
Vigil reads, and the edits (mirror, crop, caption, recompress) that near-duplicate tests need.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageDraw

# Shapes are drawn on a canvas at most this many pixels on the long side and then scaled up:
# they are smooth anyway, and it keeps a 12 MP scene to a few tenths of a second.
_WORK_SIZE = 1024
_TEXTURE_TILE = 509  # odd and prime, so the tiled grain does not line up with 8×8 JPEG blocks
_GRAIN = 10  # grain amplitude (±, in 8-bit levels): gives camera-like JPEG sizes

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_TAGS = {  # name → (IFD, tag); IFD 0 is the main image's
    "Make": (0, 0x010F),
    "Model": (0, 0x0110),
    "Orientation": (0, 0x0112),
    "Software": (0, 0x0131),
    "DateTime": (0, 0x0132),
    "DateTimeOriginal": (_EXIF_IFD, 0x9003),
    "BodySerialNumber": (_EXIF_IFD, 0xA431),
}

# Per-format save defaults; `encode(**kw)` overrides them.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 90},
    "PNG": {"compress_level": 1},  # level 6 is several times slower on noisy images
    "GIF": {},
    "WEBP": {"quality": 85, "method": 2},
    "BMP": {},
    "TIFF": {"compression": "tiff_deflate"},
    # x265's default preset takes ~2 s for 2 MP; ultrafast takes a tenth of that.
    "HEIF": {"quality": 80, "enc_params": {"preset": "ultrafast"}},
}
_ALIASES = {"JPG": "JPEG", "TIF": "TIFF", "HEIC": "HEIF"}
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIC")


def _colour(rng: np.random.Generator, lo: int = 0, hi: int = 256) -> tuple[int, int, int]:
    r, g, b = rng.integers(lo, hi, 3)
    return int(r), int(g), int(b)


def _backdrop(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """Sky and ground gradients split at a random horizon, tinted left to right, with blotches."""
    horizon = int(h * rng.uniform(0.3, 0.7))
    sky = np.linspace(rng.uniform(0, 255, 3), rng.uniform(0, 255, 3), horizon)
    ground = np.linspace(rng.uniform(0, 255, 3), rng.uniform(0, 255, 3), h - horizon)
    column = np.concatenate([sky, ground]).astype(np.float32)  # (h, 3)
    tint = np.linspace(-1, 1, w, dtype=np.float32)[:, None] * rng.uniform(-60, 60, 3)
    base = column[:, None, :] + tint[None, :, :].astype(np.float32)
    # Large soft blotches (clouds, fields): a coarse random grid scaled up smoothly.
    coarse = rng.integers(0, 256, (int(rng.integers(3, 7)), int(rng.integers(4, 9)), 3))
    blotch = Image.fromarray(coarse.astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
    base = 0.7 * base + 0.3 * np.asarray(blotch, dtype=np.float32)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def _ridge(rng: np.random.Generator, w: int, h: int, y0: float) -> list[tuple[float, float]]:
    """A mountain ridge: a random walk across the width, closed along the bottom edge."""
    xs = np.linspace(0, w, int(rng.integers(8, 30)))
    ys = y0 + np.cumsum(rng.normal(0, h * 0.05, len(xs)))
    return [(0.0, float(h)), *zip(xs.tolist(), ys.tolist(), strict=True), (float(w), float(h))]


def _draw_shapes(rng: np.random.Generator, img: Image.Image) -> None:
    w, h = img.size
    d = ImageDraw.Draw(img)
    r = rng.uniform(0.04, 0.12) * w
    cx, cy = rng.uniform(0, w), rng.uniform(0, h * 0.4)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_colour(rng, 150))  # sun or moon
    for _ in range(int(rng.integers(1, 4))):
        d.polygon(_ridge(rng, w, h, rng.uniform(0.3, 0.7) * h), fill=_colour(rng))
    for _ in range(int(rng.integers(3, 12))):  # buildings with a grid of windows
        bw, bh = rng.uniform(0.04, 0.15) * w, rng.uniform(0.1, 0.5) * h
        x0, base = rng.uniform(-0.05, 1) * w, rng.uniform(0.6, 1.05) * h
        d.rectangle((x0, base - bh, x0 + bw, base), fill=_colour(rng))
        window, step = _colour(rng), max(4.0, bw / rng.integers(3, 8))
        for wy in np.arange(base - bh + step / 2, base - step, step):
            for wx in np.arange(x0 + step / 4, x0 + bw - step / 2, step):
                d.rectangle((wx, wy, wx + step / 2, wy + step / 2), fill=window)
    for _ in range(int(rng.integers(3, 15))):  # trees: trunk and crown
        x, y, s = rng.uniform(0, w), rng.uniform(0.55, 1) * h, rng.uniform(0.02, 0.08) * w
        d.rectangle((x - s / 8, y - s, x + s / 8, y + s), fill=_colour(rng, 40, 120))
        d.ellipse((x - s, y - 2.2 * s, x + s, y - 0.4 * s), fill=_colour(rng, 0, 180))
    for _ in range(int(rng.integers(4, 12))):  # loose polygons and ellipses
        x, y, s = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.02, 0.2) * w
        if rng.random() < 0.5:
            angles = np.sort(rng.uniform(0, 2 * math.pi, int(rng.integers(3, 8))))
            radii = rng.uniform(0.4, 1, len(angles)) * s
            pts = np.column_stack([x + radii * np.cos(angles), y + radii * np.sin(angles)])
            d.polygon([(float(a), float(b)) for a, b in pts], fill=_colour(rng))
        else:
            d.ellipse((x - s, y - s / 2, x + s, y + s / 2), fill=_colour(rng))


def _grain(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """Fine sensor-like grain centred on `_GRAIN`, tiled from one small random block."""
    tile = rng.integers(0, 2 * _GRAIN + 1, (_TEXTURE_TILE, _TEXTURE_TILE, 3), dtype=np.uint8)
    block, grain = Image.fromarray(tile), Image.new("RGB", (w, h))
    for y in range(0, h, _TEXTURE_TILE):  # pasting in C beats np.tile's two full-size copies
        for x in range(0, w, _TEXTURE_TILE):
            grain.paste(block, (x, y))
    return grain


def scene(seed: int, width: int, height: int) -> Image.Image:
    """An RGB landscape-like scene (sky, ridges, buildings, trees, shapes, grain) for `seed`.

    Structure at every scale keeps PDQ quality high and makes different seeds hash far apart;
    the same seed and size always give the same pixels.
    """
    if width < 1 or height < 1:
        raise ValueError(f"scene size must be positive, got {width}×{height}")
    rng = np.random.default_rng(seed)
    scale = min(1.0, _WORK_SIZE / max(width, height))
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    img = _backdrop(rng, w, h)
    _draw_shapes(rng, img)
    if (w, h) != (width, height):
        img = img.resize((width, height), Image.Resampling.BILINEAR)
    return ImageChops.add(img, _grain(rng, width, height), offset=-_GRAIN)


def camera_exif(seed: int) -> dict[str, Any]:
    """Plausible, obviously fake camera metadata for `seed` (the keys `camera_jpeg` writes).

    GPS is signed decimal degrees; DateTimeOriginal falls in 2021–2024.
    """
    rng = np.random.default_rng([seed, 0xE71F])
    minutes = int(rng.integers(0, 4 * 365 * 24 * 60))
    day, minute = divmod(minutes, 24 * 60)
    year, doy = 2021 + day // 365, day % 365
    month, mday = 1 + doy // 31 % 12, 1 + doy % 28  # crude calendar; always a valid date
    stamp = f"{year:04d}:{month:02d}:{mday:02d} {minute // 60:02d}:{minute % 60:02d}:00"
    return {
        "Make": "Vigil Test Cameras",
        "Model": f"TC-{1 + seed % 3}",
        "BodySerialNumber": f"SN{seed:06d}",
        "Software": "vigil.synthetic",
        "DateTimeOriginal": stamp,
        "DateTime": stamp,
        "Orientation": 6 if seed % 10 == 9 else 1,
        # Around western Europe, away from any one address.
        "GPSLatitude": round(float(rng.uniform(43.0, 55.0)), 6),
        "GPSLongitude": round(float(rng.uniform(-5.0, 15.0)), 6),
    }


def _dms(value: float) -> tuple[float, float, float]:
    deg, rest = divmod(abs(value) * 3600, 3600)
    minutes, seconds = divmod(rest, 60)
    return (float(deg), float(minutes), round(seconds, 4))


def exif_bytes(values: dict[str, Any]) -> bytes:
    """Serialise `camera_exif`-style values into an EXIF block Pillow can save with a JPEG."""
    exif = Image.Exif()
    unknown = set(values) - set(_TAGS) - {"GPSLatitude", "GPSLongitude"}
    if unknown:
        raise ValueError(f"unsupported EXIF keys: {sorted(unknown)}")
    for name, (ifd, tag) in _TAGS.items():
        if name in values:
            (exif.get_ifd(ifd) if ifd else exif)[tag] = values[name]
    if "GPSLatitude" in values and "GPSLongitude" in values:
        lat, lon = values["GPSLatitude"], values["GPSLongitude"]
        gps = exif.get_ifd(_GPS_IFD)
        gps[0x0000] = b"\x02\x02\x00\x00"  # GPSVersionID 2.2
        gps[0x0001], gps[0x0002] = ("N" if lat >= 0 else "S"), _dms(lat)
        gps[0x0003], gps[0x0004] = ("E" if lon >= 0 else "W"), _dms(lon)
    return exif.tobytes()


def camera_jpeg(
    seed: int,
    width: int = 4000,
    height: int = 3000,
    quality: int = 90,
    exif: dict[str, Any] | None = None,
) -> bytes:
    """A camera-size JPEG of `scene(seed)`, with `exif` (see `camera_exif`) when given."""
    extra = {"exif": exif_bytes(exif)} if exif else {}
    return encode(scene(seed, width, height), "JPEG", quality=quality, **extra)


def encode(img: Image.Image, fmt: str, **kw: Any) -> bytes:
    """`img` saved as JPEG, PNG, GIF, WEBP, BMP, TIFF or HEIC, with `kw` passed to Pillow."""
    name = _ALIASES.get(fmt.upper(), fmt.upper())
    if name not in _DEFAULTS:
        raise ValueError(f"unsupported format {fmt!r}; choose from {', '.join(FORMATS)}")
    if name == "HEIF":
        _enable_heif()
    if name == "GIF" and img.mode not in ("P", "L", "1"):
        # Pillow's own RGB → palette conversion is ~30× slower than a fast octree.
        img = img.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    try:
        img.save(buf, name, **{**_DEFAULTS[name], **kw})
    except (KeyError, OSError) as exc:
        if name == "HEIF":
            raise RuntimeError(f"HEIC encoding is unavailable in pillow-heif: {exc}") from exc
        raise
    return buf.getvalue()


def _enable_heif() -> None:
    try:
        import pillow_heif
    except ImportError as exc:
        raise RuntimeError("HEIC needs pillow-heif: pip install pillow-heif") from exc
    if not pillow_heif.libheif_info().get("HEIF"):
        raise RuntimeError("this pillow-heif build has no HEVC encoder; HEIC cannot be written")
    pillow_heif.register_heif_opener()  # idempotent


def mirror(img: Image.Image) -> Image.Image:
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def rotate90(img: Image.Image) -> Image.Image:
    """Rotated a quarter turn anticlockwise (width and height swap)."""
    return img.transpose(Image.Transpose.ROTATE_90)


def crop(img: Image.Image, fraction: float) -> Image.Image:
    """The centre of `img`, with `fraction` of each dimension trimmed, half from each side."""
    if not 0 <= fraction < 1:
        raise ValueError(f"crop fraction must be in [0, 1), got {fraction}")
    w, h = img.size
    dx, dy = round(w * fraction / 2), round(h * fraction / 2)
    return img.crop((dx, dy, w - dx, h - dy))


def caption_bar(img: Image.Image, fraction: float = 0.15, seed: int = 0) -> Image.Image:
    """A copy with a solid bar over the bottom `fraction`, scribbled with text-like strokes
    (short lines in rows of "words"), as meme and chat apps add; no font is needed.
    """
    out = img.convert("RGB")
    w, h = out.size
    top = round(h * (1 - fraction))
    d = ImageDraw.Draw(out)
    d.rectangle((0, top, w, h), fill=(250, 250, 250))
    rng = np.random.default_rng(seed)
    size = max(4.0, (h - top) / 4)  # glyph height: two text rows fit in the bar
    stroke = max(1, round(size / 6))
    for row in range(2):
        y = top + size * (0.6 + 1.6 * row)
        x = w * 0.05
        while x < w * 0.95 - size:
            for _ in range(int(rng.integers(2, 8))):  # one "word" of glyphs
                gw = size * rng.uniform(0.4, 0.8)
                pts = [(x + gw * rng.random(), y + size * rng.random()) for _ in range(3)]
                d.line(pts, fill=(20, 20, 20), width=stroke)
                x += gw * 1.2
            x += size * 0.8
    return out


def recompress(jpeg_bytes: bytes, quality: int) -> bytes:
    """`jpeg_bytes` decoded and saved again at `quality`; metadata is dropped, as when an image
    is sent through a messaging app.
    """
    with Image.open(io.BytesIO(jpeg_bytes)) as img:
        return encode(img.convert("RGB"), "JPEG", quality=quality)
