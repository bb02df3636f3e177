"""Degraded renderings for review: the only pixels of an item a browser gets unless a
reviewer reveals it. Three modes — blurred greyscale, line drawing, pixelated — each a small
class with a persisted `name` and `version`, and `render`, which turns image bytes into a
rendering's file bytes with nothing of the source's metadata.
"""

from __future__ import annotations

import io
import math
import warnings
from typing import Protocol

import numpy as np
from PIL import Image, ImageFilter

from vigil.config import Limits
from vigil.errors import ImageError
from vigil.media.image import decode_for_hashing, open_image
from vigil.media.thumbnail import UPRIGHT
from vigil.plugins import Registry

JPEG_QUALITY = 85
DEFAULT_MODE = "blur-grey"
_DCT_SCALED = frozenset({"JPEG", "MPO"})
_ORIENTATION = 0x0112
_RESAMPLE = Image.Resampling.LANCZOS
_REDUCING_GAP = 1.5  # as the review thumbnail: a box pre-reduction, then Lanczos


class Rendering(Protocol):
    """A way of showing a picture with less of it. `name` and `version` are stored with
    whatever is rendered, so a change of look is a new version, never a silent one."""

    name: str
    version: str
    format: str  # the Pillow format `render` writes: "JPEG" or "PNG"

    def apply(self, img: Image.Image, size: int) -> Image.Image:
        """A greyscale ("L") rendering of `img`, long side at most `size`, never larger
        than `img`."""
        ...


class BlurGrey:
    """Greyscale under a Gaussian blur whose radius is a fixed share of the long side, so a
    256 px thumbnail and a 1600 px view are equally soft: only shapes and masses remain."""

    name = "blur-grey"
    format = "JPEG"
    sigma = 0.025  # of the long side: about 6 px on a 256 px thumbnail
    version = f"1/sigma-{100 * sigma:g}pct/jpeg-q{JPEG_QUALITY}"

    def apply(self, img: Image.Image, size: int) -> Image.Image:
        grey = fit_grey(img, size)
        return grey.filter(ImageFilter.GaussianBlur(self.sigma * max(grey.size)))


class Pixelate:
    """A greyscale mosaic of at most `blocks` squares along the long side, each the mean of
    the pixels it covers. PNG: flat blocks are what PNG stores best, and JPEG would ring at
    every block edge."""

    name = "pixelate"
    format = "PNG"
    blocks = 16
    version = f"1/blocks-{blocks}/box-mean/png"

    def apply(self, img: Image.Image, size: int) -> Image.Image:
        grey = fit_grey(img, size)
        w, h = grey.size
        block = math.ceil(max(w, h) / self.blocks)
        # Rounded, not ceiled: blocks stay square on the short side too (long side <= blocks).
        across, down = max(1, round(w / block)), max(1, round(h / block))
        mosaic = grey.resize((across, down), Image.Resampling.BOX)
        return mosaic.resize((w, h), Image.Resampling.NEAREST)


class LineDrawing:
    """Dark outlines on white and nothing else: the edge-abstracted "drawing" look that, unlike
    blur, measurably lowered reviewers' distress while keeping images interpretable (arXiv
    2307.10334). Canny-style: the grey picture at a working size of at most `work` px, a light
    Gaussian blur, Sobel gradients, thinning to ridge lines, and hysteresis that keeps weak
    ridges only where they continue a strong one. The strong threshold adapts to the picture
    (a quantile of the ridge strengths) with a floor, so a flat or noisy picture draws little.
    Larger renderings scale the working drawing up, so the look is the same at every size.
    PNG: the result has two tones, which a 1-bit PNG holds exactly in a few kilobytes.
    """

    name = "line-drawing"
    format = "PNG"
    work = 512
    sigma = 1 / 320  # of the working long side, at least `min_sigma` px
    min_sigma = 1.0
    strong_quantile = 0.8  # of the ridge pixels' gradient magnitudes
    strong_floor = 40.0  # Sobel magnitude, 8-bit levels (a clean step of 10 levels gives 40)
    weak_ratio = 0.4
    version = (
        f"1/work-{work}/sigma-{100 * sigma:g}pct-min{min_sigma:g}px"
        f"/canny-q{strong_quantile:g}-f{strong_floor:g}-w{weak_ratio:g}/png-1bit"
    )

    def apply(self, img: Image.Image, size: int) -> Image.Image:
        grey = fit_grey(img, size)
        small = fit_grey(grey, self.work)
        blur = max(self.min_sigma, self.sigma * max(small.size))
        pixels = np.asarray(small.filter(ImageFilter.GaussianBlur(blur)), dtype=np.float32)
        lines = self._lines(pixels)
        drawing = Image.fromarray(np.where(lines, 0, 255).astype(np.uint8), "L")
        if drawing.size != grey.size:
            # Bilinear then re-threshold: smooth strokes rather than nearest-neighbour steps.
            drawing = drawing.resize(grey.size, Image.Resampling.BILINEAR).point(
                lambda v: 0 if v < 160 else 255
            )
        return drawing

    def _lines(self, pixels: np.ndarray) -> np.ndarray:
        gx, gy = _sobel(pixels)
        magnitude = np.hypot(gx, gy)
        ridge = magnitude * _is_ridge(magnitude, gx, gy)
        candidates = ridge[ridge > 0]
        if candidates.size == 0:
            return np.zeros(pixels.shape, dtype=bool)
        high = max(self.strong_floor, float(np.quantile(candidates, self.strong_quantile)))
        return _hysteresis(ridge >= high, ridge >= self.weak_ratio * high)


def _sobel(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.pad(pixels, 1, mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    return gx, gy


def _is_ridge(magnitude: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Non-maximum suppression: a pixel is on a line when no neighbour across the edge (along
    the gradient, quantised to 45°) is stronger; ties go to one side so lines stay 1 px."""
    m = np.pad(magnitude, 1)
    h, w = magnitude.shape

    def at(dy: int, dx: int) -> np.ndarray:
        return m[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]

    ax, ay = np.abs(gx), np.abs(gy)
    tan22 = math.tan(math.pi / 8)
    horizontal = ay <= tan22 * ax
    vertical = ax <= tan22 * ay
    rising = ~horizontal & ~vertical & (gx * gy > 0)
    falling = ~horizontal & ~vertical & ~rising
    keep = np.zeros_like(magnitude, dtype=bool)
    directions = ((horizontal, 0, 1), (vertical, 1, 0), (rising, 1, 1), (falling, 1, -1))
    for mask, dy, dx in directions:
        keep |= mask & (magnitude > at(-dy, -dx)) & (magnitude >= at(dy, dx))
    return keep & (magnitude > 0)


def _hysteresis(strong: np.ndarray, weak: np.ndarray, steps: int = 16) -> np.ndarray:
    """Weak ridge pixels reached from a strong one within `steps` pixels of weak ridge: the
    lines grow one ring (8-connected) per step inside the weak set. The cap bounds the cost;
    it still bridges the short weak stretches that break an outline into dashes."""
    lines = strong & weak
    for _ in range(steps):
        grown = lines.copy()
        grown[1:] |= lines[:-1]
        grown[:-1] |= lines[1:]
        ring = grown.copy()
        ring[:, 1:] |= grown[:, :-1]
        ring[:, :-1] |= grown[:, 1:]
        ring &= weak
        if np.array_equal(ring, lines):
            break
        lines = ring
    return lines


def fit_grey(img: Image.Image, size: int) -> Image.Image:
    """`img` as 8-bit greyscale, long side at most `size`, aspect kept, never enlarged.
    Transparent areas are shown on white (as the review thumbnail and a browser do), and
    16-bit or float greyscale is scaled to 8 bits rather than clipped to white."""
    if size < 1:
        raise ValueError(f"rendering size must be positive, got {size}")
    grey = _grey(img)
    target = _fitted(grey.size, size)
    if target == grey.size:
        return grey
    return grey.resize(target, _RESAMPLE, reducing_gap=_REDUCING_GAP)


def _fitted(dimensions: tuple[int, int], size: int) -> tuple[int, int]:
    w, h = dimensions
    if max(w, h) <= size:
        return w, h
    scale = size / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _grey(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode == "L":
        return img
    if mode.startswith("I") or mode == "F":
        pixels = np.asarray(img, dtype=np.float64)
        if mode.startswith("I;16"):
            pixels = pixels / 257.0
        elif pixels.size and pixels.max() > 255:
            pixels = pixels * (255.0 / pixels.max())
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")
    if mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in img.info:
        rgba = (img.convert("LA") if mode == "La" else img).convert("RGBA")
        canvas = Image.new("L", rgba.size, 255)
        canvas.paste(rgba.convert("L"), mask=rgba.getchannel("A"))
        return canvas
    return img.convert("L")


RENDERINGS: Registry[Rendering] = Registry("rendering mode")
for _mode in (BlurGrey(), LineDrawing(), Pixelate()):
    RENDERINGS.register(_mode.name, _mode)


def render(data: bytes, mode: str, size: int, *, limits: Limits | None = None) -> bytes:
    """The `mode` rendering (see `RENDERINGS`) of the image file `data`, upright (EXIF
    orientation applied), long side at most `size` and never more than the picture's own,
    as the mode's format (JPEG for blur-grey, PNG otherwise). The result is written from
    fresh pixels, so no EXIF, XMP, ICC profile or comment of the source can reach it.

    Decoding is bounded as for ingest: the declared pixel count is checked against
    `limits.max_image_pixels` before any pixel is decoded, and a JPEG is DCT-scaled inside
    libjpeg to the smallest size still at least the rendering's. Unreadable bytes raise
    `ImageError` with the reason ingest gives the same file ("truncated image", "corrupt
    image", …); an unknown mode raises `ConfigError`.
    """
    rendering = RENDERINGS.get(mode)
    if size < 1:
        raise ValueError(f"rendering size must be positive, got {size}")
    limits = limits or Limits()
    if not data:
        raise ImageError("empty image", "0 bytes")
    if len(data) > limits.max_image_bytes:
        raise ImageError("image too large", f"{len(data)} bytes > limit {limits.max_image_bytes}")
    try:
        with warnings.catch_warnings():
            # Our limit decides about bombs, as in `decode_for_hashing`.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return _encode(rendering.apply(_upright(data, size, limits), size), rendering.format)
    except ImageError:
        raise
    except Exception as exc:  # hostile bytes reach odd corners of every decoder
        raise _reason(data, limits, exc) from exc


def review_copy(data: bytes, size: int, *, limits: Limits | None = None) -> bytes:
    """The undegraded picture a reviewer asked to see: upright, colour, long side at most
    `size`, a JPEG written from fresh pixels (no metadata of the source), decoded within the
    same bounds as `render`."""
    limits = limits or Limits()
    if not data:
        raise ImageError("empty image", "0 bytes")
    if len(data) > limits.max_image_bytes:
        raise ImageError("image too large", f"{len(data)} bytes > limit {limits.max_image_bytes}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = _upright(data, size, limits, draft="RGB")
            fitted = _to_rgb(img)
            fitted = (
                fitted
                if fitted.size == _fitted(fitted.size, size)
                else fitted.resize(
                    _fitted(fitted.size, size), _RESAMPLE, reducing_gap=_REDUCING_GAP
                )
            )
            fresh = Image.frombytes("RGB", fitted.size, fitted.tobytes())
            buf = io.BytesIO()
            fresh.save(buf, "JPEG", quality=JPEG_QUALITY)
            return buf.getvalue()
    except ImageError:
        raise
    except Exception as exc:  # hostile bytes reach odd corners of every decoder
        raise _reason(data, limits, exc) from exc


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB with transparency shown on white, as the review thumbnail does."""
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA", "P") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
        return canvas
    if img.mode.startswith("I") or img.mode == "F":
        return _grey(img).convert("RGB")
    return img.convert("RGB")


def _upright(data: bytes, size: int, limits: Limits, *, draft: str = "L") -> Image.Image:
    img = open_image(data)
    w, h = img.size
    if w <= 0 or h <= 0:
        raise ImageError("empty image", f"{w}x{h} pixels")
    if w * h > limits.max_image_pixels:
        raise ImageError(
            "decompression bomb", f"{w}x{h} = {w * h} pixels > limit {limits.max_image_pixels}"
        )
    target = _fitted((w, h), size)
    if img.format in _DCT_SCALED:
        # libjpeg picks the largest of 1/2, 1/4, 1/8 keeping both sides at least the target.
        img.draft(draft, target)
    img.load()
    # Read after loading: Pillow's TIFF loader has already applied (and dropped) the tag.
    try:
        orientation = img.getexif().get(_ORIENTATION)
    except Exception:  # corrupt EXIF costs the rotation, never the rendering
        orientation = None
    if img.size != (w, h):
        # Sized from the stored dimensions: the scaled decode's rounding would skew slivers.
        img = img.resize(target, _RESAMPLE, reducing_gap=_REDUCING_GAP)
    method = UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return img if method is None else img.transpose(method)


def _encode(pixels: Image.Image, fmt: str) -> bytes:
    # A new image from the raw pixels: Pillow's savers copy `info` (ICC profile, comment)
    # of the image they save, and the source's could otherwise ride along.
    fresh = Image.frombytes("L", pixels.size, pixels.tobytes())
    buf = io.BytesIO()
    if fmt == "PNG":
        colours = fresh.getcolors(2) or []
        if colours and {value for _count, value in colours} <= {0, 255}:
            fresh = fresh.convert("1", dither=Image.Dither.NONE)
        fresh.save(buf, "PNG", optimize=True)
    else:
        fresh.save(buf, "JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def _reason(data: bytes, limits: Limits, exc: Exception) -> ImageError:
    """The stable reason ingest's decoder gives these bytes, so a file fails here as its
    record did; only if that decoder reads them does the failure get a reason of its own."""
    try:
        decode_for_hashing(data, limits=limits)
    except ImageError as known:
        return known
    return ImageError("rendering failed", f"{type(exc).__name__}: {exc}")
