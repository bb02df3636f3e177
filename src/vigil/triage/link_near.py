"""Near-duplicate pictures between two cases, for `links`: one case's pictures as compact
arrays in a `PdqIndex`, searched with another case's pictures page by page, each hit ranked
and labelled by the matcher's rules (`pipeline.match_rules`) as if that case were a list.

Only pictures hashed under the same conventions are compared (`hashing.conventions`): the
same `pdq_version`, and for a hit through a window also the same `windows_version`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError

from vigil.config import Settings
from vigil.errors import StoreError
from vigil.index import PdqIndex, hex_to_codes
from vigil.pipeline import match_rules as rules
from vigil.store import CaseStore
from vigil.store.hashsets import VARIANTS, split_index_id, window_scales, window_variants
from vigil.store.schema import files

PAGE = 2000

Conventions = dict[str | None, int]
"""Each `pdq_version` / `windows_version` text seen so far → the small code arrays hold."""


class Hit(NamedTuple):
    """The best hit between a picture of the searching case and one of the indexed case."""

    mine: str  # sha256
    theirs: str
    distance: int
    transform: str  # what `mine` is relative to `theirs`, as a match row says it


@contextmanager
def reading(store: CaseStore) -> Iterator[Connection]:
    try:
        with store.engine.connect() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read {store.describe_db()}: {exc}") from exc


@dataclass
class Pictures:
    """One file per distinct picture (arrays indexed by its position), and its hashes: full
    or dihedral (variant 0) and windows (variant k, in `window_scales()` order)."""

    shas: np.ndarray  # uint8[n, 32]
    quality: np.ndarray
    pdq_conv: np.ndarray  # `Conventions` code of the file's pdq_version
    win_conv: np.ndarray  # … of its windows_version; -1 without one
    codes: np.ndarray  # uint8[m, 32], one row per hash
    owner: np.ndarray  # the position each hash belongs to
    variant: np.ndarray
    labels: list[str]  # per hash, the case-side transform label (searching side only)

    def index(self) -> PdqIndex:
        return PdqIndex.build(self.owner * VARIANTS + self.variant, self.codes)

    @classmethod
    def joined(cls, parts: list[Pictures]) -> Pictures:
        starts = np.cumsum([0] + [len(p.shas) for p in parts])
        names = ("shas", "quality", "pdq_conv", "win_conv", "codes", "variant")
        arrays = {name: np.concatenate([getattr(p, name) for p in parts]) for name in names}
        owner = np.concatenate([p.owner + start for p, start in zip(parts, starts, strict=False)])
        return cls(**arrays, owner=owner, labels=[])


def conventions_of(store: CaseStore) -> tuple[set[str | None], set[str], int]:
    """The PDQ and the window conventions among the case's pictures, and how many it has."""
    with reading(store) as conn:
        rows = conn.execute(
            select(files.c.pdq_version, files.c.windows_version, func.count())
            .where(files.c.pdq.is_not(None))
            .group_by(files.c.pdq_version, files.c.windows_version)
        ).all()
    return {r[0] for r in rows}, {r[1] for r in rows if r[1]}, sum(r[2] for r in rows)


def picture_pages(store: CaseStore, floor: int) -> Iterator[list[Any]]:
    """Keyset pages of the files that stand for the case's distinct pictures of quality ≥
    `floor`: the lowest id of each content, since the same bytes have the same hashes."""
    other = files.alias("other")
    earlier = (
        select(other.c.id)
        .where(other.c.sha256 == files.c.sha256, other.c.id < files.c.id)
        .where(other.c.pdq.is_not(None), other.c.pdq_quality >= floor)
        .exists()
    )
    columns = ("id", "sha256", "pdq", "pdq_quality", "pdq_dihedral", "pdq_windows")
    last = 0
    while True:
        query = (
            select(*(files.c[c] for c in columns), files.c.pdq_version, files.c.windows_version)
            .where(files.c.id > last, files.c.pdq.is_not(None), files.c.pdq_quality >= floor)
            .where(files.c.size > 0, files.c.sha256.is_not(None), ~earlier)
            .order_by(files.c.id)
            .limit(PAGE)
        )
        with reading(store) as conn:
            page = conn.execute(query).all()
        if not page:
            return
        yield page
        last = page[-1].id


def pictures(rows: list[Any], conv: Conventions, *, searching: bool) -> Pictures:
    """The arrays of a page of `picture_pages`. The searching side brings each picture's eight
    dihedral hashes, the indexed side its full hash, as a case file and a list entry do."""
    scales = window_scales()
    hexes: list[str] = []
    owner: list[int] = []
    variant: list[int] = []
    labels: list[str] = []
    for pos, row in enumerate(rows):
        full = row.pdq_dihedral.split(",") if searching and row.pdq_dihedral else [row.pdq]
        windows = window_variants(row.pdq_windows, scales)
        hexes += full + [hexa for _, hexa in windows]
        owner += [pos] * (len(full) + len(windows))
        variant += [0] * len(full) + [k for k, _ in windows]
        if searching:
            labels += rules.DIHEDRAL_LABELS[: len(full)]
            labels += [rules.case_window_label(scales[k - 1]) for k, _ in windows]
    try:
        codes = hex_to_codes(hexes)
        shas = hex_to_codes([r.sha256 for r in rows])
    except ValueError as exc:
        raise StoreError(f"a file's hashes in the case are malformed: {exc}") from exc

    def code(version: str | None) -> int:
        return conv.setdefault(version, len(conv))

    return Pictures(
        shas=shas,
        quality=np.array([r.pdq_quality for r in rows], dtype=np.int16),
        pdq_conv=np.array([code(r.pdq_version) for r in rows], dtype=np.int16),
        win_conv=np.array(
            [-1 if r.windows_version is None else code(r.windows_version) for r in rows],
            dtype=np.int16,
        ),
        codes=codes,
        owner=np.array(owner, dtype=np.int64),
        variant=np.array(variant, dtype=np.int64),
        labels=labels,
    )


def near_hits(
    asked: Pictures, index: PdqIndex, known: Pictures, *, threshold: int, floor: int
) -> Iterator[Hit]:
    """The best hit per pair of different contents (`asked` searching `known`'s index); a
    pair with the same bytes is an exact link already and is left out."""
    hits = index.search(asked.codes, threshold=threshold)
    q, dist = hits["query"], hits["distance"]
    them, variant = split_index_id(hits["id"])
    mine = asked.owner[q]
    window = (asked.variant[q] > 0) | (variant > 0)
    keep = (asked.pdq_conv[mine] == known.pdq_conv[them]) & (known.quality[them] >= floor)
    same_windows = (asked.win_conv[mine] == known.win_conv[them]) & (asked.win_conv[mine] >= 0)
    keep &= ~window | same_windows
    keep &= (asked.shas[mine] != known.shas[them]).any(axis=1)
    (kept,) = np.nonzero(keep)
    best = rules.best_hits(mine[kept], them[kept], dist[kept], q[kept], variant[kept], window[kept])
    scales = window_scales()
    for h in kept[best]:
        yield Hit(
            asked.shas[mine[h]].tobytes().hex(),
            known.shas[them[h]].tobytes().hex(),
            int(dist[h]),
            rules.transform_label(asked.labels[q[h]], int(variant[h]), scales),
        )


def near_pairs(
    stores: Sequence[CaseStore],
    settings: Sequence[Settings],
    names: Sequence[str],
    note: Callable[[int, int, str], None],
) -> Iterator[tuple[int, int, Hit]]:
    """(searching case, indexed case, hit) for every pair of cases. Each case but the one with
    the most pictures is indexed in turn, once, and searched with the pictures of each case
    before it in that order, so one index is held at a time. A pair is compared at the
    stricter of its cases' `pdq_threshold` and `pdq_min_quality`; `note` is told where their
    conventions differ."""
    held = [conventions_of(store) for store in stores]
    order = sorted(range(len(stores)), key=lambda i: -held[i][2])
    conv: Conventions = {}
    for at, j in enumerate(order[1:], 1):
        pages = picture_pages(stores[j], settings[j].pdq_min_quality)
        parts = [pictures(page, conv, searching=False) for page in pages]
        if not parts:
            continue
        known = Pictures.joined(parts)
        index = known.index()
        for i in order[:at]:
            for what, k in (("PDQ", 0), ("window", 1)):
                if held[i][k] and held[j][k] and held[i][k] != held[j][k]:
                    shown = "; ".join(
                        f"{names[c]}: {', '.join(sorted(v or 'unrecorded' for v in held[c][k]))}"
                        for c in (i, j)
                    )
                    note(
                        i,
                        j,
                        f"{what} hashes made under different conventions ({shown}); "
                        "only pictures hashed the same way are compared",
                    )
            if not held[i][0] & held[j][0]:
                continue
            threshold = min(settings[i].pdq_threshold, settings[j].pdq_threshold)
            floor = max(settings[i].pdq_min_quality, settings[j].pdq_min_quality)
            for page in picture_pages(stores[i], floor):
                asked = pictures(page, conv, searching=True)
                for hit in near_hits(asked, index, known, threshold=threshold, floor=floor):
                    yield i, j, hit
