"""The small review JPEG kept for every decoded image. It is stored sharp: the review UI
blurs at display time, so a reviewer can choose to unblur without re-reading evidence.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from vigil.errors import ImageError

QUALITY = 80
BACKGROUND = (255, 255, 255)  # transparent areas are shown on white, as a browser would
_RESAMPLE = Image.Resampling.LANCZOS
_REDUCING_GAP = 1.5  # box pre-reduction first: 4x cheaper than pure Lanczos, still sharp at 256 px

# EXIF orientation → the transposition that shows the stored picture upright
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def make_thumbnail(
    img: Image.Image, size: int, *, apply_orientation: bool = True, orientation: int | None = None
) -> bytes:
    """An RGB JPEG whose longest side is at most `size`, aspect kept, never upscaled.

    Does not modify `img` (unlike `Image.thumbnail`, which resizes in place; the caller still
    needs the full image for perceptual hashing). With `apply_orientation` the EXIF
    orientation is applied so reviewers see photos upright; it is a no-op on an image that
    was already transposed with `ImageOps.exif_transpose`. `orientation`, when given, is used
    instead of the tag in `img` (which a converted copy, or a TIFF Pillow loaded, no longer
    carries: the pipeline passes the value read from the file's headers). Pillow failures
    (a truncated file only noticed when pixels load) become `ImageError`.
    """
    if size < 1:
        raise ValueError(f"thumbnail size must be positive, got {size}")
    try:
        small = _resize(_to_resizable(img), size)
        if apply_orientation:
            small = _oriented(small, img, orientation)
        rgb = _to_rgb(small)
        buf = io.BytesIO()
        rgb.save(buf, format="JPEG", quality=QUALITY)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageError("thumbnail failed", str(exc)) from exc
    return buf.getvalue()


def _target(width: int, height: int, size: int) -> tuple[int, int]:
    if max(width, height) <= size:
        return width, height
    scale = size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize(img: Image.Image, size: int) -> Image.Image:
    target = _target(img.width, img.height, size)
    if target == img.size:
        return img
    return img.resize(target, _RESAMPLE, reducing_gap=_REDUCING_GAP)


def _to_resizable(img: Image.Image) -> Image.Image:
    """A mode Lanczos can resize: palettes and bit-level modes are expanded first, and
    16/32-bit greyscale is scaled to 8 bits (Pillow's own convert clips it to white)."""
    mode = img.mode
    if mode in ("1", "P", "PA"):
        has_alpha = mode == "PA" or "transparency" in img.info
        return img.convert("RGBA" if has_alpha else "RGB")
    if mode.startswith("I") or mode == "F":
        pixels = np.asarray(img, dtype=np.float64)
        if mode.startswith("I;16"):
            pixels = pixels / 257.0
        elif pixels.size and pixels.max() > 255:
            pixels = pixels * (255.0 / pixels.max())
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L")
    return img


def _oriented(small: Image.Image, original: Image.Image, orientation: int | None) -> Image.Image:
    # Same mapping as ImageOps.exif_transpose, applied to the small copy (cheaper than
    # rotating the full image) with the tag read from the original, as the copy has no EXIF.
    if orientation is None:
        try:
            orientation = original.getexif().get(0x0112)
        except Exception:  # corrupt EXIF only costs the rotation, never the thumbnail
            return small
    method = UPRIGHT.get(orientation if isinstance(orientation, int) else 1)
    return small.transpose(method) if method is not None else small


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "La", "RGBa") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, BACKGROUND)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return img.convert("RGB")
