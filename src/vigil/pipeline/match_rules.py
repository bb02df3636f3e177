"""The rule for what a match row says, in one place; the matcher, triage and the review app
read matches through it.

A case file is queried with each of its hashes: MD5, SHA-1 and SHA-256 (exact), and, when its
PDQ quality reaches `pdq_min_quality`, its eight dihedral PDQ hashes and its window hashes
(`vigil.hashing.windows`) against each known entry's full PDQ and windows (index variants,
`store.hashsets.index_id`). Empty content never matches: its digests say nothing about what a
file shows. Per (file, known entry, algorithm) one row is stored, the best hit:

0. a strong hit wins over a weak one (below);
1. a whole-picture hit (case full or dihedral hash against the known full hash) wins over any
   hit through a window, so a resized copy is not called a crop;
2. then the smaller distance;
3. then query order: the dihedral hashes in `DIHEDRAL_ORDER` ("original" first), then the
   case windows in stored order; then the known variant (full first).

Exact hits of identical content through several entries of one set (a list that repeats a
hash) are one row per (file, set, algorithm, implied category): the lowest entry id.

The category a match implies: an `ignorable` set's match says non-pertinent; a `reference`
set's says nothing; an `alert` set's match says the entry's category in the case's scheme, or,
for an entry whose list wrote no code at all, the set's category. A list code with no meaning
in the case gives no verdict: that file needs a human.

Weak matches: a near hit PDQ's rules refuse to categorise is kept as a `weak` row that never
implies a category but sends the file to review: a case picture whose quality is below
`pdq_min_quality` (whose PDQ alone is not trusted) at a distance ≤ `weak_low_quality_distance`,
or a good picture whose own hash (not a dihedral or window hash: the wider search costs about
12 times as much per query) lies just past the threshold, up to `weak_pdq_distance`.

A stored row is exactly what a fresh match at the current settings finds: re-matching updates
rows whose hit changed and deletes those that no longer hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vigil.categories import CategoryScheme
from vigil.hashing.pdq import DIHEDRAL_ORDER

CRYPTO = ("md5", "sha1", "sha256")
CRYPTO_VERSION = "hashlib/1"

# What the case file is, relative to the known image, when its dihedral hash `name` (the hash
# it would have after that transform) matches the known hash: the inverse transform. Pillow's
# ROTATE_90 is anticlockwise, so "rot90" is a quarter turn anticlockwise; "mirror" is a
# left-right flip, "flip" top-bottom, "transpose"/"transverse" the two diagonal flips.
TRANSFORM_OF: dict[str, str] = {
    "original": "original",
    "rot90": "rot270",
    "rot180": "rot180",
    "rot270": "rot90",
    "flipx": "flip",
    "flipy": "mirror",
    "flip_plus1": "transpose",
    "flip_minus1": "transverse",
}
DIHEDRAL_LABELS: tuple[str, ...] = tuple(TRANSFORM_OF[name] for name in DIHEDRAL_ORDER)


def scale_text(text: str) -> str:
    """A window scale as shown in a transform label ("0.970" → "0.97")."""
    try:
        return f"{float(text):g}"
    except ValueError:
        return text.strip()[:8]


def case_window_label(scale: str) -> str:
    return f"crop:{scale_text(scale)}"


def transform_label(query_label: str, variant: int, known_scales: Sequence[str]) -> str:
    """The `transform` of a PDQ hit: the case hash's label (a dihedral transform or
    "crop:<scale>" for a case window), joined with "crop:known-<scale>" when the hit was on
    the known picture's window `variant` (1-based, `store.hashsets.window_scales` order)."""
    if variant == 0:
        return query_label
    known = (
        f"crop:known-{scale_text(known_scales[variant - 1])}"
        if variant <= len(known_scales)
        else f"crop:known-w{variant}"
    )
    return known if query_label == "original" else f"{query_label}+{known}"


def weak_hits(
    distances: np.ndarray,
    low_quality: np.ndarray,
    threshold: int,
    weak_distance: int,
    weak_low_quality: int,
) -> np.ndarray:
    """Per PDQ hit: 0 strong, 1 weak, -1 no match (module docstring, "Weak matches")."""
    good = np.where(distances <= threshold, 0, np.where(distances <= weak_distance, 1, -1))
    return np.where(low_quality, np.where(distances <= weak_low_quality, 1, -1), good)


def best_hits(
    file_ids: np.ndarray,
    entry_ids: np.ndarray,
    distances: np.ndarray,
    queries: np.ndarray,
    variants: np.ndarray,
    via_window: np.ndarray,
    weak: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of the best hit per (file, entry), by the ranking in the module docstring."""
    if not len(file_ids):
        return np.zeros(0, dtype=np.int64)
    weak = np.zeros(len(file_ids), dtype=bool) if weak is None else weak
    order = np.lexsort((variants, queries, distances, via_window, weak, entry_ids, file_ids))
    pairs = np.stack([file_ids[order], entry_ids[order]], axis=1)
    first = np.ones(len(order), dtype=bool)
    first[1:] = (pairs[1:] != pairs[:-1]).any(axis=1)
    return order[first]


def match_category(
    scheme: CategoryScheme,
    kind: str,
    entry_category: int | None,
    list_category: int | None,
    set_category: int | None,
) -> int | None:
    """The category one match implies (module docstring)."""
    if kind == "ignorable":
        return scheme.non_pertinent
    if kind != "alert":
        return None
    if entry_category is not None:
        return entry_category
    return set_category if list_category is None else None


def algorithm_version(
    algorithm: str, pdq_version: str | None, windows_version: str | None, *, via_window: bool
) -> str:
    """What made the case-side hash of a match: the hashing conventions stored with the file,
    so a lab can tell which matches came from comparable hashes."""
    if algorithm != "pdq":
        return CRYPTO_VERSION
    version = pdq_version or "unrecorded"
    return f"{version}+{windows_version or 'unrecorded'}" if via_window else version
