"""Mirrored and rotated copies: recall of PDQ's dihedral hashes, per transform and per size.

Known pictures are generated at long sides 256, 512, 1024, 2048 and 4000 px with mixed aspect
ratios, alternately a detailed scene (`vigil.synthetic.images.scene`) and a smooth picture (a
coarse random colour grid scaled up bicubically, like an out-of-focus photo: where the DCT
variants drift furthest), saved as JPEG (q92) and decoded the way
ingest does (`decode_for_hashing`); the known hash is their PDQ at Vigil's convention, as a
Vigil-made list holds it. Each case copy is the picture after one of Pillow's seven transposes
(or none: "reencode", the baseline), saved again (--format, JPEG q85 by default) and decoded
the same way. A copy is found when its dihedral hash for the inverse transform (the variant the
matcher turns into the record's `transform`) is within THRESHOLD of the known hash.

Methods for the case copy's eight dihedral hashes:

  dct    pdqhash.compute_dihedral: one PDQ, the seven variants by DCT sign flips (Vigil before)
  exact  vigil.hashing.pdq.pdq_hash: the image and its three flips really hashed, each call
         also giving its transpose exactly (4 PDQ computations)
  half   like exact, but the three flips hashed from the decode halved (`Image.reduce(2)`)
         when its short side is at least 512 px: a cheaper working size for the variants

"nearest other" is the smallest distance from any of a copy's eight hashes to any OTHER known
picture (a false match needs it ≤ THRESHOLD). Cost is the mean time of each method on the
decoded case images of that size.

Usage: python benchmarks/transforms.py [--per-size 8] [--format JPEG]  (~35 s on 2 cores)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pdqhash
from PIL import Image

from vigil.config import Limits
from vigil.hashing.pdq import DIHEDRAL_ORDER, hamming, pdq_hash
from vigil.media.image import decode_for_hashing
from vigil.synthetic.images import encode, scene

THRESHOLD = 31
MIN_QUALITY = 50  # the matcher's floor: lower-quality pictures are exact-matched only
SEED = 20250611
LIMITS = Limits()
LONG_SIDES = (256, 512, 1024, 2048, 4000)
ASPECTS = ((4, 3), (3, 4), (1, 1), (16, 9), (3, 2), (9, 16), (2, 3), (5, 4), (21, 9), (4, 5))

T = Image.Transpose
# Copy transform (what the case file is, relative to the known picture) → the DIHEDRAL_ORDER
# entry that undoes it: a quarter turn one way is undone by a quarter turn the other way.
TRANSFORMS: tuple[tuple[str, T | None, str], ...] = (
    ("reencode", None, "original"),
    ("mirror (FLIP_LEFT_RIGHT)", T.FLIP_LEFT_RIGHT, "flipy"),
    ("flip (FLIP_TOP_BOTTOM)", T.FLIP_TOP_BOTTOM, "flipx"),
    ("ROTATE_90", T.ROTATE_90, "rot270"),
    ("ROTATE_180", T.ROTATE_180, "rot180"),
    ("ROTATE_270", T.ROTATE_270, "rot90"),
    ("TRANSPOSE", T.TRANSPOSE, "flip_plus1"),
    ("TRANSVERSE", T.TRANSVERSE, "flip_minus1"),
)


def _hex(vector: np.ndarray) -> str:
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes().hex()


def dct(img: Image.Image) -> tuple[str, ...]:
    vectors, _quality = pdqhash.compute_dihedral(np.asarray(img))
    return tuple(_hex(v) for v in vectors)


def exact(img: Image.Image) -> tuple[str, ...]:
    return pdq_hash(img).dihedral


# (flip applied first, its own DIHEDRAL_ORDER index, its transpose's index), as in pdq.py.
_FLIPS = ((T.FLIP_LEFT_RIGHT, 5, 1), (T.FLIP_TOP_BOTTOM, 4, 3), (T.ROTATE_180, 2, 7))


def half(img: Image.Image) -> tuple[str, ...]:
    vectors, _quality = pdqhash.compute_dihedral(np.asarray(img))
    out = [""] * 8
    out[0], out[6] = _hex(vectors[0]), _hex(vectors[6])
    work = img.reduce(2) if min(img.size) >= 512 else img
    for op, own, transposed in _FLIPS:
        vectors, _quality = pdqhash.compute_dihedral(np.asarray(work.transpose(op)))
        out[own], out[transposed] = _hex(vectors[0]), _hex(vectors[6])
    return tuple(out)


METHODS: dict[str, Callable[[Image.Image], tuple[str, ...]]] = {
    "dct": dct,
    "exact": exact,
    "half": half,
}


def smooth(seed: int, width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (12, 16, 3)).astype(np.uint8)
    return Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)


def decoded(data: bytes) -> Image.Image:
    return decode_for_hashing(data, limits=LIMITS).image


def size_for(long_side: int, aspect: tuple[int, int]) -> tuple[int, int]:
    a, b = aspect
    if a >= b:
        return long_side, max(1, round(long_side * b / a))
    return max(1, round(long_side * a / b)), long_side


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-size", type=int, default=8, help="pictures per long side")
    parser.add_argument("--format", default="JPEG", help="case copies' format (JPEG, HEIC, …)")
    parser.add_argument("--sizes", default=",".join(map(str, LONG_SIDES)))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    methods = list(METHODS)
    t0 = time.perf_counter()

    known: list[str] = []  # known hash per picture
    # per picture: {transform name: {method: 8 hashes}}
    copies: list[dict[str, dict[str, tuple[str, ...]]]] = []
    size_of: list[int] = []
    cost: dict[tuple[int, str], list[float]] = {}
    low_quality = 0
    for long_side in sizes:
        for i in range(args.per_size):
            w, h = size_for(long_side, ASPECTS[i % len(ASPECTS)])
            seed = SEED + 1000 * long_side + i
            picture = (scene if i % 2 == 0 else smooth)(seed, w, h)
            reference = pdq_hash(decoded(encode(picture, "JPEG", quality=92)))
            if reference.quality < MIN_QUALITY:
                low_quality += 1
                continue
            per: dict[str, dict[str, tuple[str, ...]]] = {}
            for name, op, _undo in TRANSFORMS:
                copy = picture if op is None else picture.transpose(op)
                kw = {"quality": 85} if args.format.upper() in ("JPEG", "JPG") else {}
                img = decoded(encode(copy, args.format, **kw))
                per[name] = {}
                for m in methods:
                    t = time.perf_counter()
                    per[name][m] = METHODS[m](img)
                    cost.setdefault((long_side, m), []).append(time.perf_counter() - t)
            known.append(reference.hash)
            copies.append(per)
            size_of.append(long_side)
    build_s = time.perf_counter() - t0

    print(
        f"{len(known)} pictures ({args.per_size} per long side {sizes}, {low_quality} below "
        f"quality {MIN_QUALITY} left out), case copies as {args.format}; threshold {THRESHOLD}; "
        f"{build_s:.0f} s\n"
    )
    print("distance of the undoing variant to the known hash: recall% mean p90 max")
    header = f"{'transform':26s} {'px':>5s}  " + "  ".join(f"{m:^22s}" for m in methods)
    print(header)
    for name, _op, undo in TRANSFORMS:
        k = DIHEDRAL_ORDER.index(undo)
        for long_side in [*sizes, 0]:
            idx = [j for j in range(len(known)) if long_side in (0, size_of[j])]
            if not idx:
                continue
            cells = []
            for m in methods:
                d = np.array([hamming(copies[j][name][m][k], known[j]) for j in idx])
                cells.append(
                    f"{100 * np.mean(d <= THRESHOLD):5.0f}% {d.mean():4.1f} "
                    f"{np.percentile(d, 90):4.0f} {d.max():4d}"
                )
            label = "all" if long_side == 0 else str(long_side)
            print(f"{name if long_side == sizes[0] else '':26s} {label:>5s}  " + "  ".join(cells))
    print("\nall seven transforms together (reencode excluded): recall% mean p90 max")
    for long_side in [*sizes, 0]:
        idx = [j for j in range(len(known)) if long_side in (0, size_of[j])]
        cells = []
        for m in methods:
            d = np.array(
                [
                    hamming(copies[j][name][m][DIHEDRAL_ORDER.index(undo)], known[j])
                    for j in idx
                    for name, op, undo in TRANSFORMS
                    if op is not None
                ]
            )
            cells.append(
                f"{100 * np.mean(d <= THRESHOLD):5.0f}% {d.mean():4.1f} "
                f"{np.percentile(d, 90):4.0f} {d.max():4d}"
            )
        label = "all" if long_side == 0 else str(long_side)
        print(f"{'':26s} {label:>5s}  " + "  ".join(cells))

    print("\nnearest other picture (any of a copy's 8 hashes vs other known hashes):")
    for m in methods:
        nearest = min(
            hamming(v, known[o])
            for j in range(len(known))
            for name, _op, _undo in TRANSFORMS
            for v in copies[j][name][m]
            for o in range(len(known))
            if o != j
        )
        print(f"  {m:6s} {nearest} bits")

    print("\nhashing cost per image (ms, mean over the decoded case copies):")
    print(f"{'px':>5s} {'4:3 decode':>14s}  " + "".join(f"{m:>8s}" for m in methods))
    for long_side in sizes:
        w, h = size_for(long_side, ASPECTS[0])
        img = decoded(encode(scene(SEED, w, h), "JPEG", quality=92))
        ms = [1e3 * float(np.mean(cost[(long_side, m)])) for m in methods]
        size_text = f"{img.width}x{img.height}"
        print(f"{long_side:5d} {size_text:>14s}  " + "".join(f"{v:8.1f}" for v in ms))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
