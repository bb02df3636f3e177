"""PDQ window hashes: extra PDQ hashes of sub-windows of a picture, so that a cropped copy, or a
copy with a caption bar, logo or border, still lands within the match threshold of a known one.

A window is named by a label: "0.91" is the centred window of the same aspect covering 91% of
the width and of the height; "t0.82" is the full-width window of the top 82% of the height,
"b0.82" the bottom 82% (they dodge a caption bar at the other edge); "l…"/"r…" are the
full-height left/right windows. The text form stored in the case and in Vigil-made hash lists
is "label:hex" pairs joined by ",", in window order, e.g. "0.97:<64 hex>,t0.94:<64 hex>";
windows below `MIN_QUALITY` are left out (a flat sub-window, such as a patch of sky, hashes to
noise).

How to match (measured in benchmarks/crops.py): compare EVERY hash of a case picture (full and
windows) with EVERY hash of a known picture (full, plus windows when the list carries them) and
take the smallest distance (`closest_pair`). PDQ tolerates only about ±1.5% of reframing, so
no single window fits a crop; a pair of windows on the two sides whose scales divide to the
crop (0.91 / 0.97 ≈ 0.94) does, and the default scales are spaced so that these ratios step
about 3% apart: measured, they find centred crops of 4–20% and borders of 2–10%. Windows get
no dihedral variants: the full hash's dihedrals already find flipped/rotated copies, and
flip-plus-crop would cost 8× the window lookups (and 8× the chance of a false match).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from PIL import Image

from vigil.hashing.pdq import HASH_HEX, hamming, pdq_single

# The default windows, computed at ingest for every case picture and by Vigil for the lists it
# exports. Centred scales 6% apart (their pairwise ratios fill in the 3% steps) find centred
# crops and borders; the top/bottom windows find caption bars over up to ~18% of the picture
# and, against a known full hash, captions added on an extended canvas.
WINDOW_SCALES: tuple[float | str, ...] = (
    0.97,
    0.91,
    0.85,
    0.79,
    "t0.94",
    "b0.94",
    "t0.82",
    "b0.82",
)
# Names the window convention, persisted with window hashes: the labels' geometry (boxes
# rounded to whole pixels of the image PDQ hashes) and the quality floor.
WINDOW_VERSION = "windows-2/pow2-256/centre,t,b,l,r/q50"
# Windows are hashed from the PDQ image halved until its short side is below 256 px: eight
# windows then cost ~3 ms instead of ~90 ms on a 12 MP photo's 1000×750 decode. Both sides of
# a comparison use the same reduction; benchmarks/crops.py measured its recall (README).
WINDOW_REDUCE_BELOW = 256
MIN_QUALITY = 50  # PDQ quality below which a window hash is not stored or matched
FULL = "full"  # the label `closest_pair` uses for a picture's full PDQ hash

_ANCHORS = ("t", "b", "l", "r")


def window_label(window: float | str) -> str:
    """The canonical label of a window: 0.9 → "0.9", "t0.850" → "t0.85"."""
    anchor, scale = _parse_label(str(window))
    return f"{anchor}{scale:g}"


def _parse_label(label: str) -> tuple[str, float]:
    anchor = label[:1] if label[:1] in _ANCHORS else ""
    try:
        scale = float(label[len(anchor) :])
    except ValueError:
        raise ValueError(f"not a window label: {label!r}") from None
    if not 0.0 < scale < 1.0:
        raise ValueError(f"window scale must be in (0, 1), got {label!r}")
    return anchor, scale


def window_box(window: float | str, width: int, height: int) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) pixel box of `window` in a `width`×`height` image."""
    anchor, scale = _parse_label(str(window))
    if anchor == "":
        dx, dy = round(width * (1 - scale) / 2), round(height * (1 - scale) / 2)
        return dx, dy, width - dx, height - dy
    rows, cols = max(1, round(height * scale)), max(1, round(width * scale))
    return {
        "t": (0, 0, width, rows),
        "b": (0, height - rows, width, height),
        "l": (0, 0, cols, height),
        "r": (width - cols, 0, width, height),
    }[anchor]


def window_hashes(
    image: Image.Image, scales: Sequence[float | str] = WINDOW_SCALES
) -> tuple[tuple[float | str, str, int], ...]:
    """(window, hex PDQ hash, PDQ quality) for each window of `image`, in the given order.

    `image` is the RGB image PDQ hashes (`vigil.media.image.decode_for_hashing`), so window
    boxes follow the same reduced decode on both sides. The image is first halved until its
    short side is under `WINDOW_REDUCE_BELOW`; each window is one PDQ (no dihedrals) over a
    crop of that. Low-quality windows are returned too, with
    their quality; `format_windows` drops them. Raises `ImageError` as `pdq_hash` does.
    """
    if image.mode != "RGB":
        raise ValueError(f"window_hashes needs an RGB image, got mode {image.mode!r}")
    factor = 1
    while min(image.size) // factor >= WINDOW_REDUCE_BELOW:
        factor *= 2
    small = image.reduce(factor) if factor > 1 else image
    out = []
    for window in scales:
        hex_hash, quality = pdq_single(small.crop(window_box(window, *small.size)))
        out.append((window, hex_hash, quality))
    return tuple(out)


def format_windows(windows: Iterable[tuple[float | str, str, int]]) -> str:
    """The stored text form, "0.9:hex,0.8:hex"; windows below `MIN_QUALITY` are left out."""
    return ",".join(
        f"{window_label(window)}:{hex_hash}"
        for window, hex_hash, quality in windows
        if quality >= MIN_QUALITY
    )


def parse_windows(text: str) -> list[tuple[float | str, str]]:
    """The pairs of a `format_windows` text: a centred window's scale as a float, an anchored
    window as its label ("t0.85"); "" → []. ValueError for anything malformed."""
    out: list[tuple[float | str, str]] = []
    for item in text.split(",") if text else ():
        label, sep, hex_hash = item.partition(":")
        if not sep or len(hex_hash) != HASH_HEX:
            raise ValueError(f"not a window hash: {item!r}")
        try:
            bytes.fromhex(hex_hash)
        except ValueError:
            raise ValueError(f"not a window hash: {item!r}") from None
        anchor, scale = _parse_label(label)
        out.append((f"{anchor}{scale:g}" if anchor else scale, hex_hash.lower()))
    return out


def closest_pair(case: Mapping[str, str], known: Mapping[str, str]) -> tuple[int, str, str]:
    """(distance, case label, known label) of the closest pair of hashes of two pictures.

    Each mapping is label → hex hash: `FULL` for the full PDQ (leave it out when its quality is
    below `MIN_QUALITY`) and `window_label`s for the stored windows. This is the reference
    semantics for the matcher, which gets the same answer by querying the index of all known
    hashes (full and window) with every case hash; a match records both labels.
    """
    if not case or not known:
        raise ValueError("closest_pair needs at least one hash on each side")
    return min((hamming(a, b), la, lb) for la, a in case.items() for lb, b in known.items())
