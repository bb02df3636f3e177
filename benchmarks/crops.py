"""Crops and overlays: recall of PDQ window hashes (vigil.hashing.windows) against their cost.

Known pictures are generated scenes (--scenes, several sizes and aspects) plus the benign
photos in ../shared/vectors/pdq. Each is saved as a JPEG (q92) and decoded the way ingest
does (`decode_for_hashing`); each case copy is the decoded known picture with one edit, saved
as a JPEG (q80) and decoded again. Every picture gets its full PDQ and the PDQ of every window
in SUPERSET; strategies then choose which (case hash, known hash) pairs are compared:

  A  case full    vs known full       (plain PDQ, any hash list)
  B  case windows vs known full       (any hash list: finds padded / canvas-extended copies)
  C  case full    vs known windows    (Vigil-made lists only: finds crops of a known picture)
  D  case windows vs known windows    (Vigil-made lists only: overlays inside the frame)

A copy is found when any compared pair is within THRESHOLD; hashes (full or window) of
quality < 50 are never compared. False matches: every copy (and the unedited copy) of every
picture against every hash of every OTHER known picture, under the same strategy; the
chosen default must have none (exit status 1 otherwise).

Usage: python benchmarks/crops.py [--scenes 40]     (about a minute on 2 cores)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vigil.config import Limits
from vigil.hashing.pdq import hex_to_bytes, pdq_hash
from vigil.hashing.windows import MIN_QUALITY, WINDOW_SCALES, window_hashes, window_label
from vigil.media.image import decode_for_hashing
from vigil.synthetic.images import caption_bar, crop, encode, scene

THRESHOLD = 31
SEED = 20240925
VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "pdq"
# Distinct benign photos among the PDQ vectors (the other files are edits of these or too small).
PHOTOS = (
    "pdq/data/reg-test-input/dih/bridge-1-original.jpg",
    "pdq/data/reg-test-input/exif-rotn/exif-rotn-1.jpg",
    "pdq/data/reg-test-input/pen-and-coaster.png",
    "pdq/data/misc-images/c.png",
    "pdq/data/misc-images/small.jpg",
    "pdq/data/reg-test-input/labelme-subset/q0122.jpg",
    "pdq/data/reg-test-input/labelme-subset/q0291.jpg",
    "pdq/data/reg-test-input/labelme-subset/q0746.jpg",
    "pdq/data/reg-test-input/labelme-subset/q1050.jpg",
    "pdq/data/reg-test-input/labelme-subset/q2821.jpg",
    "python-threatexchange/threatexchange/tests/hashing/resources/rgb.jpeg",
)
N_PLAIN = 6  # gradient pictures: hard negatives, mostly below quality 50
SIZES = ((768, 576), (900, 600), (600, 800), (1024, 576), (640, 640), (1200, 900))
# Every window any strategy below uses; index 0 is the full picture.
DEFAULT = tuple(window_label(s) for s in WINDOW_SCALES)
BRIEF_SETS = (("0.9",), ("0.9", "0.8"), ("0.85", "0.7"), ("0.9", "0.8", "0.7"))
CHEAPER = ("0.97", "0.91", "0.85", "0.79", "t0.82", "b0.82")  # the default less t/b0.94
# Every window any strategy below uses; index 0 is the full picture.
SUPERSET: tuple[str, ...] = ("full", *dict.fromkeys([*DEFAULT, *CHEAPER, *sum(BRIEF_SETS, ())]))


# -- edits -------------------------------------------------------------------------------------


def _box(img: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = img.size
    return img.crop(
        (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    )


def _one_side(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    side = [0.0] * 4
    side[int(rng.integers(4))] = 0.08
    return _box(img, *side)


def _off_centre(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    # 10-16 % off each axis, split unevenly (a quarter to three quarters on one side).
    out = []
    for _ in range(2):
        total, part = rng.uniform(0.10, 0.16), rng.uniform(0.25, 0.75)
        out += [total * part, total * (1 - part)]
    return _box(img, out[0], out[2], out[1], out[3])


def _flip(img: Image.Image) -> Image.Image:
    return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)


def _extend(img: Image.Image, fraction: float, rng: np.random.Generator, top: bool) -> Image.Image:
    """A caption bar added outside the picture: the canvas grows by `fraction` of its height."""
    w, h = img.size
    bar = round(h * fraction)
    canvas = Image.new("RGB", (w, h + bar))
    canvas.paste(img, (0, bar if top else 0))
    if top:
        return _flip(caption_bar(_flip(canvas), bar / (h + bar), int(rng.integers(1 << 30))))
    return caption_bar(canvas, bar / (h + bar), int(rng.integers(1 << 30)))


def _logo(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A watermark box (16 % × 10 %, 2 % in from the edges) in a random corner."""
    out = img.copy()
    w, h = out.size
    bw, bh, m = round(w * 0.16), round(h * 0.10), round(min(w, h) * 0.02)
    x = m if rng.random() < 0.5 else w - m - bw
    y = m if rng.random() < 0.5 else h - m - bh
    d = ImageDraw.Draw(out)
    d.rectangle((x, y, x + bw, y + bh), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    d.ellipse((x + bh * 0.15, y + bh * 0.15, x + bh * 0.85, y + bh * 0.85), fill=(255, 255, 255))
    d.line(
        (x + bh, y + bh / 2, x + bw - bh * 0.2, y + bh / 2), fill=(0, 0, 0), width=max(1, bh // 6)
    )
    return out


def _border(img: Image.Image, fraction: float, rng: np.random.Generator) -> Image.Image:
    w, h = img.size
    pad = round(min(w, h) * fraction)
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    canvas = Image.new("RGB", (w + 2 * pad, h + 2 * pad), colour)
    canvas.paste(img, (pad, pad))
    return canvas


Edit = Callable[[Image.Image, np.random.Generator], Image.Image]


def _one_side_any(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    side = [0.0] * 4
    side[int(rng.integers(4))] = rng.uniform(0.04, 0.15)
    return _box(img, *side)


CROPS: dict[str, Edit] = {
    "crop 8% one side": _one_side,
    "crop 4-15% one side": _one_side_any,
    "crop 4-20% centred": lambda img, rng: crop(img, rng.uniform(0.04, 0.20)),
    "crop 8% centred (4%/side)": lambda img, rng: crop(img, 0.08),
    "crop 8% all sides": lambda img, rng: crop(img, 0.16),
    "crop 15% centred": lambda img, rng: crop(img, 0.15),
    "crop off-centre 10-16%": _off_centre,
}
OVERLAYS: dict[str, Edit] = {
    "caption 10% bottom": lambda img, rng: caption_bar(img, 0.10, int(rng.integers(1 << 30))),
    "caption 15% bottom": lambda img, rng: caption_bar(img, 0.15, int(rng.integers(1 << 30))),
    "caption 20% bottom": lambda img, rng: caption_bar(img, 0.20, int(rng.integers(1 << 30))),
    "caption 15% top": lambda img, rng: _flip(
        caption_bar(_flip(img), 0.15, int(rng.integers(1 << 30)))
    ),
    "caption +10-25% below": lambda img, rng: _extend(img, rng.uniform(0.1, 0.25), rng, top=False),
    "caption +10-25% above": lambda img, rng: _extend(img, rng.uniform(0.1, 0.25), rng, top=True),
    "logo in a corner": _logo,
    "border 5%": lambda img, rng: _border(img, 0.05, rng),
    "border 2-10%": lambda img, rng: _border(img, rng.uniform(0.02, 0.10), rng),
}
EDITS: dict[str, Edit] = {"unedited copy": lambda img, rng: img, **CROPS, **OVERLAYS}


# -- hashing -----------------------------------------------------------------------------------


def plain(seed: int, width: int, height: int) -> Image.Image:
    """A hard negative: a smooth two-colour gradient in a random direction with faint grain
    (sky-like pictures look alike to PDQ, and their windows can be low quality)."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (np.cos(angle) * x / width + np.sin(angle) * y / height + 1) / 2
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    pixels = a + t[..., None] * (b - a) + rng.normal(0, 2, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def decoded(data: bytes) -> Image.Image:
    return decode_for_hashing(data, limits=Limits()).image


def hashes(img: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """(codes uint8[len(SUPERSET), 32], quality int[len(SUPERSET)]) of `img`."""
    full = pdq_hash(img)
    rows = [(full.hash, full.quality)] + [(h, q) for _, h, q in window_hashes(img, SUPERSET[1:])]
    codes = np.frombuffer(b"".join(hex_to_bytes(h) for h, _ in rows), np.uint8).reshape(-1, 32)
    return codes, np.array([q for _, q in rows])


@dataclass
class Corpus:
    names: list[str]  # known pictures
    known: np.ndarray  # uint8[n_known, L, 32]
    known_q: np.ndarray  # int[n_known, L]
    owner: np.ndarray  # int[n_items]: the known picture each case copy was made from
    edit: list[str]  # int[n_items]: its edit
    case: np.ndarray  # uint8[n_items, L, 32]
    case_q: np.ndarray


def build(n_scenes: int) -> Corpus:
    rng = np.random.default_rng(SEED)
    originals: list[tuple[str, Image.Image]] = []
    for i in range(n_scenes):
        w, h = SIZES[i % len(SIZES)]
        originals.append((f"scene {i}", decoded(encode(scene(SEED + i, w, h), "JPEG", quality=92))))
    for i in range(N_PLAIN):
        w, h = SIZES[i % len(SIZES)]
        originals.append((f"plain {i}", decoded(encode(plain(SEED - i, w, h), "JPEG", quality=92))))
    for rel in PHOTOS:
        if (VECTORS / rel).is_file():
            originals.append((Path(rel).name, decoded((VECTORS / rel).read_bytes())))
    names, known, known_q, owner, edits, case, case_q = [], [], [], [], [], [], []
    for k, (name, img) in enumerate(originals):
        names.append(name)
        codes, q = hashes(img)
        known.append(codes)
        known_q.append(q)
        for edit, fn in EDITS.items():
            copy = decoded(encode(fn(img, rng), "JPEG", quality=80))
            codes, q = hashes(copy)
            owner.append(k)
            edits.append(edit)
            case.append(codes)
            case_q.append(q)
    return Corpus(
        names,
        np.stack(known),
        np.stack(known_q),
        np.array(owner),
        edits,
        np.stack(case),
        np.stack(case_q),
    )


def distances(c: Corpus) -> np.ndarray:
    """int16[n_items, L, n_known, L]: Hamming distance, 256 where either hash has quality < 50."""
    n_items, n_known, L = len(c.case), len(c.known), len(SUPERSET)
    a = c.case.reshape(-1, 32).view(np.uint64)  # (n_items*L, 4)
    b = c.known.reshape(-1, 32).view(np.uint64)
    d = np.bitwise_count(a[:, None, :] ^ b[None, :, :]).sum(axis=2, dtype=np.int16)
    bad = (c.case_q.reshape(-1) < MIN_QUALITY)[:, None] | (c.known_q.reshape(-1) < MIN_QUALITY)[
        None, :
    ]
    d[bad] = 256
    return d.reshape(n_items, L, n_known, L)


# -- strategies --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Strategy:
    name: str
    case: tuple[str, ...]  # window labels computed on the case side
    known: tuple[str, ...]  # window labels stored with a Vigil-made list
    pairs: str  # which of A, B, C, D are compared

    def mask(self) -> np.ndarray:
        L = len(SUPERSET)
        m = np.zeros((L, L), bool)
        cw = [SUPERSET.index(w) for w in self.case]
        kw = [SUPERSET.index(w) for w in self.known]
        if "A" in self.pairs:
            m[0, 0] = True
        if "B" in self.pairs:
            m[cw, 0] = True
        if "C" in self.pairs:
            m[0, kw] = True
        if "D" in self.pairs:
            m[np.ix_(cw, kw)] = True
        return m

    def lookups(self) -> str:
        n_case = 1 + (len(self.case) if set(self.pairs) & {"B", "D"} else 0)
        n_known = 1 + (len(self.known) if set(self.pairs) & {"C", "D"} else 0)
        return f"{n_case}q/{n_known}h"


def evaluate(c: Corpus, d: np.ndarray, s: Strategy) -> tuple[dict[str, float], int, int]:
    """(recall per edit, false matches, smallest distance to another picture) for `s`."""
    m = s.mask()
    best = np.where(m[None, :, None, :], d, 256).min(axis=(1, 3))  # (n_items, n_known)
    own = best[np.arange(len(best)), c.owner]
    # Pictures that are themselves below quality 50 are never near-matched, windows or not.
    ok = c.known_q[c.owner, 0] >= MIN_QUALITY
    edit = np.array(c.edit)
    recall = {e: float(np.mean(own[(edit == e) & ok] <= THRESHOLD)) for e in EDITS}
    other = best.copy()
    other[np.arange(len(best)), c.owner] = 256
    return recall, int((other <= THRESHOLD).sum()), int(other.min())


def strategies() -> list[Strategy]:
    out = [Strategy("A  full only", (), (), "A")]
    for ws in BRIEF_SETS:
        out.append(Strategy("ABCD {" + ",".join(ws) + "}", ws, ws, "ABCD"))
    out.append(Strategy("ABCD default less t/b0.94", CHEAPER, CHEAPER, "ABCD"))
    for pairs in ("AB", "AC", "AD"):
        out.append(Strategy(f"{pairs:4s} default windows", DEFAULT, DEFAULT, pairs))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--cache", type=Path, help="save the hashes here, or load them if present")
    args = parser.parse_args()

    t0 = time.perf_counter()
    if args.cache and args.cache.is_file():  # for trying strategies without rehashing
        with np.load(args.cache) as z:
            if z["superset"].tolist() != list(SUPERSET):
                parser.error(f"{args.cache} holds other windows; delete it")
            corpus = Corpus(
                *(z[f].tolist() if f in ("names", "edit") else z[f] for f in Corpus.__annotations__)
            )
    else:
        corpus = build(args.scenes)
        if args.cache:
            np.savez(args.cache, superset=np.array(SUPERSET), **vars(corpus))
    build_s = time.perf_counter() - t0
    d = distances(corpus)
    n_known, n_items = len(corpus.known), len(corpus.case)
    print(
        f"{n_known} known pictures ({args.scenes} scenes, {N_PLAIN} gradients, "
        f"{n_known - args.scenes - N_PLAIN} photos), "
        f"{n_items} case copies ({len(EDITS)} each), built in {build_s:.0f} s; "
        f"threshold {THRESHOLD}"
    )
    low_known = int((corpus.known_q[:, 1:] < MIN_QUALITY).sum())
    low_case = int((corpus.case_q[:, 1:] < MIN_QUALITY).sum())
    print(
        f"windows below quality {MIN_QUALITY}: {low_known} known, {low_case} case (never compared)"
    )

    chosen = Strategy("ABCD default (chosen)", DEFAULT, DEFAULT, "ABCD")
    rows = [*strategies(), chosen]
    results = [evaluate(corpus, d, s) for s in rows]
    width = max(len(e) for e in EDITS)
    cols = [s.name for s in rows]
    print(
        "\nrecall (fraction of copies found) per edit × strategy; "
        "lookups = case queries / known hashes per picture"
    )
    for i, s in enumerate(rows):
        print(f"  [{i:2d}] {s.name:32s} lookups {s.lookups()}")
    print(" " * width + " " + "".join(f"{i:>5d}" for i in range(len(cols))))
    for e in EDITS:
        print(f"{e:{width}s} " + "".join(f"{r[0][e]:5.2f}" for r in results))
    print(f"{'false matches':{width}s} " + "".join(f"{r[1]:5d}" for r in results))
    print(f"{'min dist to other':{width}s} " + "".join(f"{r[2]:5d}" for r in results))

    img = decoded(encode(scene(SEED, 768, 576), "JPEG", quality=92))
    reps = 20
    t = time.perf_counter()
    for _ in range(reps):
        pdq_hash(img)
    full_ms = (time.perf_counter() - t) / reps * 1e3
    t = time.perf_counter()
    for _ in range(reps):
        window_hashes(img, WINDOW_SCALES)
    win_ms = (time.perf_counter() - t) / reps * 1e3
    print(
        f"\ncost on a 768×576 picture: full PDQ {full_ms:.1f} ms, default windows "
        f"{{{','.join(DEFAULT)}}} {win_ms:.1f} ms more; lookups {chosen.lookups()} per picture"
    )
    false = results[-1][1]
    print(f"chosen default: windows {{{','.join(DEFAULT)}}}, strategy ABCD; false matches {false}")
    return 1 if false else 0


if __name__ == "__main__":
    sys.exit(main())
