"""Cross-case links: the content two or more cases share, as the same bytes (SHA-256) or as a
near-duplicate picture (PDQ with dihedral and window hashes, ranked and labelled as matching
does), with the files, camera bodies and series on each side; and the bodies seen in both.

Memory stays flat in the size of the cases: exact links merge each case's sorted stream of
distinct SHA-256 values; near links hold one case's hashes at a time in a `PdqIndex` built from
compact arrays (one file per distinct picture) and page the other cases through it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select

from vigil.config import load_settings
from vigil.errors import ConfigError, StoreError
from vigil.store import CaseStore
from vigil.store.schema import files
from vigil.triage.link_near import PAGE, near_pairs, reading

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
MAX_PATHS = 20
_DESCRIBE = 200  # links whose files are looked up per round of queries

SeriesLookup = Callable[[CaseStore, list[int]], list[str]]
"""(case, ids of a content's listed files) → the series or group labels they belong to."""


@dataclass(frozen=True, slots=True)
class Device:
    """A camera body as its EXIF names it; any part may be missing."""

    make: str | None
    model: str | None
    serial: str | None

    @property
    def key(self) -> tuple[str, ...]:
        """What two cases must agree on to hold the same body, spacing and letter case aside."""
        parts = (self.make, self.model, self.serial)
        return tuple(" ".join((v or "").split()).casefold() for v in parts)


@dataclass(frozen=True, slots=True)
class Side:
    """One case's files holding a linked content: `files` counts them all, the first
    `max_paths` (by id) are listed with their paths as `vigil files` prints them."""

    sha256: str
    files: int
    ids: list[int]
    paths: list[str]
    devices: list[Device]
    series: list[str]


@dataclass(frozen=True, slots=True)
class Link:
    """Content found in two or more cases. A near link joins two, and `transform` says what
    the other case's file is relative to the file in `relative_to` (as a match row says what a
    case file is relative to the known picture: "crop:known-…" names a window of that file)."""

    kind: str  # exact | near
    distance: int
    transform: str
    cases: dict[str, Side]
    relative_to: str | None = None

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": self.kind}
        if self.kind == "exact":
            doc["sha256"] = next(iter(self.cases.values())).sha256
        doc |= {"distance": self.distance, "transform": self.transform}
        if self.relative_to is not None:
            doc["relative_to"] = self.relative_to
        return doc | {"cases": {name: asdict(side) for name, side in self.cases.items()}}


@dataclass
class PairSummary:
    """What two cases share: contents exactly and near, camera bodies with a serial seen in
    both (each with its file count per case), and why some pictures were not compared."""

    cases: tuple[str, str]
    exact: int = 0
    near: int = 0
    devices: list[tuple[Device, int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Bare:
    """A link before its files are looked up: case position → content."""

    kind: str
    shas: dict[int, str]
    distance: int = 0
    transform: str = "original"
    relative_to: int | None = None


_CAMERA = (
    files.c.camera_make.label("make"),
    files.c.camera_model.label("model"),
    files.c.camera_serial.label("serial"),
)


def _distinct_sha256(store: CaseStore) -> Iterator[str]:
    """The case's distinct non-empty SHA-256 values in ascending order, by keyset pages."""
    last = ""
    while True:
        query = (
            select(files.c.sha256)
            .distinct()
            .where(files.c.sha256 > last, files.c.sha256 != EMPTY_SHA256, files.c.size > 0)
            .order_by(files.c.sha256)
            .limit(PAGE)
        )
        with reading(store) as conn:
            page = list(conn.execute(query).scalars())
        if not page:
            return
        # The merge compares as Python does; a collation that sorts hex otherwise would
        # silently lose links, so it is refused instead.
        if any(a >= b for a, b in itertools.pairwise([last, *page])):
            raise StoreError(f"{store.describe_db()} does not sort SHA-256 text bytewise")
        yield from page
        last = page[-1]


class CrossCase:
    """The links between two or more open cases, which reports name in the order given.

    Each pair is compared at the stricter of its two cases' `pdq_threshold` and
    `pdq_min_quality`, and only between pictures hashed under the same conventions.
    """

    def __init__(
        self,
        stores: Sequence[CaseStore],
        *,
        series: SeriesLookup | None = None,
        max_paths: int = MAX_PATHS,
    ) -> None:
        if len(stores) < 2:
            raise ConfigError("linking needs two or more cases")
        if max_paths < 1:
            raise ConfigError(f"max_paths must be at least 1, got {max_paths}")
        metas = [s.meta() for s in stores]
        seen: dict[str | None, CaseStore] = {}
        for store, meta in zip(stores, metas, strict=True):
            twin = seen.setdefault(meta.get("case_uuid"), store)
            if twin is not store:
                raise ConfigError(f"the same case twice: {twin.case_dir} and {store.case_dir}")
        names = [m.get("name") or s.case_dir.name for s, m in zip(stores, metas, strict=True)]
        self.names = [
            f"{n} ({s.case_dir})" if names.count(n) > 1 else n
            for n, s in zip(names, stores, strict=True)
        ]
        self.stores = list(stores)
        self.settings = [load_settings(s.case_dir) for s in stores]
        self.series = series
        self.max_paths = max_paths
        self.pairs = {
            (i, j): PairSummary((self.names[i], self.names[j]))
            for i, j in itertools.combinations(range(len(stores)), 2)
        }

    def links(self, limit: int | None = None) -> Iterator[Link]:
        """Exact links in SHA-256 order, then near ones; the first `limit` with their files.
        Counts every link into `pairs` either way (those of the last run through)."""
        for pair in self.pairs.values():
            pair.exact = pair.near = 0
            pair.notes.clear()
        shown = 0
        found = itertools.chain(self._exact(), self._near())
        while batch := list(itertools.islice(found, _DESCRIBE)):
            for bare in batch:
                for pair in itertools.combinations(sorted(bare.shas), 2):
                    setattr(self.pairs[pair], bare.kind, getattr(self.pairs[pair], bare.kind) + 1)
            wanted = batch if limit is None else batch[: max(0, limit - shown)]
            shown += len(wanted)
            yield from self._describe(wanted)

    def summary(self) -> list[PairSummary]:
        """Every pair with its counts from `links()` and the camera bodies both cases hold."""
        bodies = [self._bodies(store) for store in self.stores]
        for (i, j), pair in self.pairs.items():
            pair.devices = [
                (device, count, bodies[j][key][1])
                for key, (device, count) in bodies[i].items()
                if key in bodies[j]
            ]
        return list(self.pairs.values())

    # -- finding -------------------------------------------------------------------------

    def _exact(self) -> Iterator[_Bare]:
        streams = [
            zip(_distinct_sha256(store), itertools.repeat(i)) for i, store in enumerate(self.stores)
        ]
        for sha, held in itertools.groupby(heapq.merge(*streams), key=lambda pair: pair[0]):
            cases = [i for _, i in held]
            if len(cases) >= 2:
                yield _Bare("exact", dict.fromkeys(cases, sha))

    def _near(self) -> Iterator[_Bare]:
        def note(i: int, j: int, text: str) -> None:
            self.pairs[min(i, j), max(i, j)].notes.append(text)

        for i, j, hit in near_pairs(self.stores, self.settings, self.names, note):
            yield _Bare("near", {i: hit.mine, j: hit.theirs}, hit.distance, hit.transform, j)

    # -- describing ----------------------------------------------------------------------

    def _describe(self, batch: list[_Bare]) -> list[Link]:
        wanted: dict[int, set[str]] = {}
        for bare in batch:
            for i, sha in bare.shas.items():
                wanted.setdefault(i, set()).add(sha)
        sides = {
            (i, side.sha256): side for i, shas in wanted.items() for side in self._sides(i, shas)
        }
        return [
            Link(
                bare.kind,
                bare.distance,
                bare.transform,
                {self.names[i]: sides[i, bare.shas[i]] for i in sorted(bare.shas)},
                None if bare.relative_to is None else self.names[bare.relative_to],
            )
            for bare in batch
        ]

    def _sides(self, i: int, shas: set[str]) -> list[Side]:
        store = self.stores[i]
        with reading(store) as conn:
            by_content = {"partition_by": files.c.sha256}
            ranked = (
                select(
                    files.c.sha256,
                    files.c.id,
                    files.c.path,
                    *_CAMERA,
                    func.row_number().over(**by_content, order_by=files.c.id).label("rank"),
                    func.count().over(**by_content).label("total"),
                )
                .where(files.c.sha256.in_(sorted(shas)))
                .subquery()
            )
            rows = conn.execute(
                select(ranked)
                .where(ranked.c.rank <= self.max_paths)
                .order_by(ranked.c.sha256, ranked.c.rank)
            ).all()
        sides = []
        for sha, group in itertools.groupby(rows, key=lambda row: row.sha256):
            listed = list(group)
            ids = [row.id for row in listed]
            # The same bytes carry the same EXIF: the listed files name every body there is.
            devices = dict.fromkeys(
                Device(r.make, r.model, r.serial) for r in listed if r.make or r.model or r.serial
            )
            series = self.series(store, ids) if self.series is not None else []
            paths = [row.path for row in listed]
            sides.append(Side(sha, listed[0].total, ids, paths, list(devices), series))
        return sides

    def _bodies(self, store: CaseStore) -> dict[tuple[str, ...], tuple[Device, int]]:
        """Each camera body with a serial in the case, and how many files it made."""
        with reading(store) as conn:
            rows = conn.execute(
                select(*_CAMERA, func.count())
                .where(files.c.camera_serial.is_not(None), files.c.camera_serial != "")
                .group_by(files.c.camera_make, files.c.camera_model, files.c.camera_serial)
            ).all()
        bodies: dict[tuple[str, ...], tuple[Device, int]] = {}
        for make, model, serial, count in rows:
            device = Device(make, model, serial)
            first, total = bodies.get(device.key, (device, 0))
            bodies[device.key] = (first, total + count)
        return bodies
