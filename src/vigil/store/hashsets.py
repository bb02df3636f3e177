"""Hash sets in a case: import a list as a new version of a named set (one transaction, then
its PDQ index on disk), list them, remove them, and open a version's PDQ index.

A set name has versions 1, 2, …; only the newest is `active` and keeps its entries. Replaced
and removed versions keep their `hashsets` row, so old match rows still name the version
they came from. PDQ index ids pack the entry id and a variant (`index_id`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from vigil.categories import CategoryMap
from vigil.errors import ConfigError, HashSetFormatError, StoreError, VigilError
from vigil.hashing import windows
from vigil.hashsets import HashEntry, HashSetFormat
from vigil.index import PdqIndex, hex_to_codes
from vigil.store.audit import append
from vigil.store.case import CaseStore, now_iso
from vigil.store.schema import hash_entries, hashsets, matches
from vigil.store.writer import lock_case, safe_text

KINDS = ("alert", "ignorable", "reference")
BATCH = 10_000  # entries per executemany / COPY
# SQLite page cache for the connection of an import or removal while it runs: index updates
# on random hash keys thrash the case's small default cache once a case holds millions of
# entries (re-importing 1M over 1M entries: 29 s with 16 MiB, 19 s with 256 MiB).
BULK_CACHE_KIB = 256 * 1024
DEFER_INDEXES_AT = 200_000  # entries; see _IndexDeferral
VARIANTS = 16  # index_id = entry_id * VARIANTS + variant
_MAX_BIGINT = 2**63 - 1
_TMP_PREFIX = ".tmp-"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ENTRY_COLUMNS = (
    "hashset_id",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "pdq_quality",
    "category",
    "list_category",
    "rows",
    "name",
    "size",
    "extra",
)
# Digests of zero bytes: an empty file is never known material, and a list that carries one
# (a tool hashed empty files) must not categorise every empty file of a case.
EMPTY_DIGESTS = frozenset(
    {
        hashlib.md5(b"").hexdigest(),
        hashlib.sha1(b"").hexdigest(),
        hashlib.sha256(b"").hexdigest(),
    }
)


@dataclass(frozen=True, slots=True)
class HashSetInfo:
    """One `hashsets` row: one imported version of a named set."""

    id: int
    name: str
    version: int
    active: bool
    kind: str
    category: int | None
    format: str
    format_version: str
    source_file: str
    source_sha256: str
    entries: int
    pdq_entries: int
    imported_at: str
    list_scheme: str | None = None
    category_map: str | None = None  # JSON {list code: case code or null} when one was given


@dataclass
class ImportStats:
    """What an import noticed that the user should hear about."""

    list_rows: int = 0  # rows of the list (entries × their folded counts)
    unmapped: Counter[int] = field(default_factory=Counter)  # list codes with no case meaning
    empty_digest: int = 0  # entries whose only digests are those of empty content


_DIGEST_INDEXES = tuple(
    index
    for index in hash_entries.indexes
    if index.name in ("ix_hash_entries_md5", "ix_hash_entries_sha1", "ix_hash_entries_sha256")
)


# -- PDQ index ids -----------------------------------------------------------------------


def index_id(entry_id: int, variant: int = 0) -> int:
    """The PDQ index id of an entry's hash: variant 0 is the full-image PDQ, k ≥ 1 the k-th
    centred sub-window hash (in `window_scales()` order)."""
    if not 0 <= variant < VARIANTS:
        raise ValueError(f"variant {variant} out of range 0..{VARIANTS - 1}")
    return entry_id * VARIANTS + variant


def split_index_id(value: int) -> tuple[int, int]:
    """(entry id, variant) of a PDQ index id; works element-wise on NumPy int arrays too."""
    return value // VARIANTS, value % VARIANTS


def window_scales() -> tuple[str, ...]:
    """The window labels in variant order (variant k = labels[k - 1])."""
    return tuple(windows.window_label(w) for w in windows.WINDOW_SCALES)[: VARIANTS - 1]


def _scale_key(text: str) -> str:
    try:
        return windows.window_label(text.strip())
    except ValueError:
        return text.strip()


def window_variants(text: str | None, scales: tuple[str, ...]) -> list[tuple[int, str]]:
    """(variant, hex) pairs of a `pdq_windows` text ("scale:hex,scale:hex"). Scales compare
    by numeric value ("0.8" = "0.80"); unknown scales and bad hex are skipped (a window is a
    bonus, never a reason to fail an import)."""
    if not text or not scales:
        return []
    variants = {_scale_key(scale): k for k, scale in enumerate(scales, 1)}
    out = []
    for part in text.split(","):
        scale, sep, hexa = part.partition(":")
        hexa = hexa.strip().lower()
        variant = variants.get(_scale_key(scale))
        if sep and variant is not None and _HEX64.fullmatch(hexa):
            out.append((variant, hexa))
    return out


# -- reading -----------------------------------------------------------------------------


def _info(row: Any) -> HashSetInfo:
    return HashSetInfo(
        id=row.id,
        name=row.name,
        version=row.version,
        active=bool(row.active),
        kind=row.kind,
        category=row.category,
        format=row.format,
        format_version=row.format_version,
        source_file=row.source_file,
        source_sha256=row.source_sha256,
        entries=int(row.entries),
        pdq_entries=int(row.pdq_entries),
        imported_at=row.imported_at,
        list_scheme=row.list_scheme,
        category_map=row.category_map,
    )


def list_hashsets(store: CaseStore, *, include_inactive: bool = False) -> list[HashSetInfo]:
    """The case's sets ordered by name then version; only active versions unless asked."""
    query = select(hashsets).order_by(hashsets.c.name, hashsets.c.version)
    if not include_inactive:
        query = query.where(hashsets.c.active.is_(True))
    try:
        with store.engine.connect() as conn:
            return [_info(row) for row in conn.execute(query)]
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the hash sets: {exc}") from exc


def get_hashset(store: CaseStore, hashset_id: int) -> HashSetInfo:
    try:
        with store.engine.connect() as conn:
            row = conn.execute(select(hashsets).where(hashsets.c.id == hashset_id)).first()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the hash sets: {exc}") from exc
    if row is None:
        raise VigilError(f"no hash-set version with id {hashset_id}")
    return _info(row)


# -- importing ---------------------------------------------------------------------------


class _Sha256Thread:
    """SHA-256 of the list file, read in a thread beside the parse (hashlib releases the GIL
    on large blocks). It is a second read of the file, normally served by the page cache."""

    def __init__(self, path: Path) -> None:
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._future: Future[str] = self._pool.submit(self._run, path)

    def _run(self, path: Path) -> str:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while not self._stop.is_set() and (block := fh.read(1 << 20)):
                digest.update(block)
        return digest.hexdigest()

    def result(self) -> str:
        try:
            return self._future.result()
        except OSError as exc:
            raise HashSetFormatError(f"cannot read {exc.filename}: {exc.strerror}") from exc

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True)


def _rows(
    entries: Iterable[HashEntry],
    hashset_id: int,
    meaning: Callable[[int | None], int | None],
    stats: ImportStats,
) -> Iterator[tuple[Any, ...]]:
    """Entries as `hash_entries` tuples, checking what the database would otherwise refuse.
    `meaning` gives a list code's category in the case (and raises where none may be
    assumed); the list's own code is kept beside it."""
    for number, e in enumerate(entries, 1):
        try:
            category = meaning(e.category)
        except ConfigError as exc:
            raise HashSetFormatError(f"entry {number}: {exc}", record=number) from None
        if e.category is not None and category is None:
            stats.unmapped[e.category] += 1
        if e.size is not None and e.size > _MAX_BIGINT:
            raise HashSetFormatError(f"entry {number} has an impossible size", record=number)
        if e.count < 1:
            raise HashSetFormatError(f"entry {number} stands for {e.count} rows", record=number)
        digests = [d for d in (e.md5, e.sha1, e.sha256) if d]
        if digests and not e.pdq and all(d in EMPTY_DIGESTS for d in digests):
            stats.empty_digest += 1
        stats.list_rows += e.count
        extra = json.dumps(dict(e.extra), separators=(",", ":")) if e.extra else None
        yield (
            hashset_id,
            e.md5,
            e.sha1,
            e.sha256,
            e.pdq,
            e.pdq_quality,
            category,
            e.category,
            e.count,
            safe_text(e.name),
            e.size,
            extra,
        )


class _IndexDeferral:
    """On SQLite, a large import drops the digest indexes once it has inserted more entries
    than the table held (and at least `DEFER_INDEXES_AT`), and builds them again at the end
    inside the same transaction: one sort instead of millions of random B-tree inserts
    (measured: 3.3M entries with three digest indexes 2× faster). WAL readers keep their
    snapshot, indexes included. PostgreSQL keeps its indexes: dropping one would lock readers
    out of the table for the whole import."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._dropped = False
        self._enabled = conn.dialect.name == "sqlite"
        self._existing = (
            int(conn.execute(select(func.coalesce(func.max(hash_entries.c.id), 0))).scalar_one())
            if self._enabled
            else 0
        )

    def check(self, inserted: int) -> None:
        if (
            self._enabled
            and not self._dropped
            and inserted >= max(DEFER_INDEXES_AT, self._existing)
        ):
            for index in _DIGEST_INDEXES:
                index.drop(self._conn)
            self._dropped = True

    def finish(self) -> None:
        if self._dropped:
            for index in _DIGEST_INDEXES:
                index.create(self._conn)


def _no_meaning(code: int | None) -> None:
    return None


def _insert_batch(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Bulk insert: COPY on PostgreSQL (several times executemany), executemany on SQLite;
    both run inside the caller's transaction."""
    names = ", ".join(_ENTRY_COLUMNS)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY hash_entries ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in _ENTRY_COLUMNS)
        conn.exec_driver_sql(f"INSERT INTO hash_entries ({names}) VALUES ({marks})", rows)


@contextmanager
def _bulk_cache(conn: Connection) -> Iterator[None]:
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(previous)}")


def _pdq_arrays(conn: Connection, hashset_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(index ids, codes) of every PDQ of a version, windows included, streamed by pages."""
    scales = window_scales()
    query = (
        select(hash_entries.c.id, hash_entries.c.pdq, hash_entries.c.extra)
        .where(hash_entries.c.hashset_id == hashset_id, hash_entries.c.pdq.is_not(None))
        .order_by(hash_entries.c.id)
    )
    id_parts: list[np.ndarray] = []
    code_parts: list[np.ndarray] = []
    result = conn.execute(query, execution_options={"yield_per": 50_000})
    for page in result.partitions():
        ids: list[int] = []
        hexes: list[str] = []
        for entry_id, pdq, extra in page:
            ids.append(entry_id * VARIANTS)
            hexes.append(pdq)
            if scales and extra and "pdq_windows" in extra:
                text = json.loads(extra).get("pdq_windows")
                for variant, hexa in window_variants(text, scales):
                    ids.append(entry_id * VARIANTS + variant)
                    hexes.append(hexa)
        code_parts.append(hex_to_codes(hexes))
        id_parts.append(np.asarray(ids, dtype=np.int64))
    if not id_parts:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 32), dtype=np.uint8)
    return np.concatenate(id_parts), np.concatenate(code_parts)


def _index_root(store: CaseStore) -> Path:
    return store.index_dir(0).parent


def _clear_stale_temps(store: CaseStore) -> None:
    """Index folders left by a killed import; only called while holding the case lock."""
    root = _index_root(store)
    if root.is_dir():
        for child in root.iterdir():
            if child.name.startswith(_TMP_PREFIX):
                shutil.rmtree(child, ignore_errors=True)


def _db_errors(store: CaseStore) -> tuple[type[BaseException], ...]:
    dbapi = getattr(store.engine.dialect, "loaded_dbapi", None)
    error = getattr(dbapi, "Error", None)
    return (SQLAlchemyError, error) if isinstance(error, type) else (SQLAlchemyError,)


def import_hashset(
    store: CaseStore,
    path: Path,
    *,
    fmt: HashSetFormat,
    name: str | None = None,
    kind: str,
    category: int | None = None,
    category_codes: dict[int, int | None] | None = None,
    category_map_source: str = "the category map",
    stats: ImportStats | None = None,
    on_progress: Callable[[int], None] | None = None,
    actor: str | None = None,
) -> HashSetInfo:
    """Import the list at `path` as the next version of set `name` (default: the file stem).

    Each entry keeps the list's own category code, and gets the category it means in the
    case (`CategoryMap`): the same code when the list is in the case's scheme or names none,
    the `category_codes` map's code when one is given (from `category_map_source`). An alert
    list in another scheme without a map is refused: its codes would change meaning. For
    ignorable and reference lists categories decide nothing, so such a list imports with its
    codes kept and no case meaning. `stats` (if given) collects codes without a meaning and
    entries of empty content, which never match.

    All or nothing: one transaction inserts the `hashsets` row and every entry (streamed, in
    batches of `BATCH`), builds this version's PDQ index into a temporary folder, retires the
    older versions of the name (inactive, entries deleted, rows kept for the match history)
    and activates the new one. Only after the commit is the index moved into
    `store.index_dir(id)` and the replaced versions' indexes deleted. A parse error, a
    category outside the case's scheme (any entry's, with its entry number) or a database
    error leaves the case as it was. `on_progress(entries so far)` is called per batch. With
    an `actor`, the import's audit entry commits in the same transaction.
    """
    path = Path(path)
    if kind not in KINDS:
        raise ConfigError(f"hash-set kind must be one of {', '.join(KINDS)} (got {kind!r})")
    scheme = store.scheme
    scheme.check(category)
    cmap = CategoryMap(
        fmt.category_scheme(path), scheme, codes=category_codes, source=category_map_source
    )
    stats = stats if stats is not None else ImportStats()
    name = safe_text((name if name is not None else path.stem).strip())
    if not name:
        raise ConfigError("a hash set needs a non-empty name")
    lock = lock_case(store)
    sha: _Sha256Thread | None = None
    tmp_index = _index_root(store) / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
    try:
        _clear_stale_temps(store)
        sha = _Sha256Thread(path)
        with store.engine.begin() as conn, _bulk_cache(conn):
            info, replaced = _import_in(
                conn, path, fmt, name, kind, category, cmap, stats, sha, tmp_index, on_progress
            )
            if actor is not None:
                append(conn, actor, "hashset_import", info.name, _import_detail(info))
        if tmp_index.exists():
            final = store.index_dir(info.id)
            shutil.rmtree(final, ignore_errors=True)  # a stale folder from a reused id
            os.replace(tmp_index, final)
        for old in replaced:
            shutil.rmtree(store.index_dir(old), ignore_errors=True)
        return info
    except _db_errors(store) as exc:
        raise StoreError(f"cannot import the hash set {name!r}: {exc}") from exc
    finally:
        if sha is not None:
            sha.close()
        shutil.rmtree(tmp_index, ignore_errors=True)
        lock.close()


def _import_detail(info: HashSetInfo) -> dict[str, Any]:
    return {
        "version": info.version,
        "format": info.format,
        "kind": info.kind,
        "category": info.category,
        "entries": info.entries,
        "pdq_entries": info.pdq_entries,
        "source_file": info.source_file,
        "source_sha256": info.source_sha256,
    }


def insert_version(
    conn: Connection,
    path: Path,
    fmt: Any,
    name: str,
    kind: str,
    category: int | None,
    *,
    source_sha256: str,
    list_scheme: str | None = None,
    category_map: str | None = None,
) -> int:
    """A new, still inactive version of set `name` (the next number), its counts at 0; the
    id. The import fills it and activates it in the same transaction."""
    previous = conn.execute(
        select(func.max(hashsets.c.version)).where(hashsets.c.name == name)
    ).scalar()
    row = {
        "name": name,
        "version": (previous or 0) + 1,
        "active": False,
        "kind": kind,
        "category": category,
        "format": fmt.name,
        "format_version": fmt.version,
        "source_file": safe_text(str(path.absolute())),
        "source_sha256": source_sha256,
        "entries": 0,
        "pdq_entries": 0,
        "imported_at": now_iso(),
        "list_scheme": list_scheme,
        "category_map": category_map,
    }
    return conn.execute(hashsets.insert().returning(hashsets.c.id), row).scalar_one()


def _import_in(
    conn: Connection,
    path: Path,
    fmt: HashSetFormat,
    name: str,
    kind: str,
    category: int | None,
    cmap: CategoryMap,
    stats: ImportStats,
    sha: _Sha256Thread,
    tmp_index: Path,
    on_progress: Callable[[int], None] | None,
) -> tuple[HashSetInfo, list[int]]:
    new_id = insert_version(
        conn,
        path,
        fmt,
        name,
        kind,
        category,
        source_sha256="",
        list_scheme=cmap.list_scheme,
        category_map=cmap.as_json(),
    )
    count = pdq_count = 0
    batch: list[tuple[Any, ...]] = []
    if kind != "alert" and cmap.codes is None and not cmap.same_scheme:
        meaning: Callable[[int | None], int | None] = _no_meaning
    else:
        meaning = cmap.meaning
    deferral = _IndexDeferral(conn)
    for values in _rows(fmt.read(path), new_id, meaning, stats):
        batch.append(values)
        pdq_count += values[4] is not None
        if len(batch) >= BATCH:
            _insert_batch(conn, batch)
            count += len(batch)
            batch.clear()
            deferral.check(count)
            if on_progress:
                on_progress(count)
    if batch:
        _insert_batch(conn, batch)
        count += len(batch)
        if on_progress:
            on_progress(count)
    if count == 0:
        raise HashSetFormatError("no hash entries in file")
    if pdq_count:
        ids, codes = _pdq_arrays(conn, new_id)
        PdqIndex.build(ids, codes).save(tmp_index)
    replaced = list(
        conn.execute(
            select(hashsets.c.id).where(hashsets.c.name == name, hashsets.c.id != new_id)
        ).scalars()
    )
    if replaced:
        conn.execute(delete(hash_entries).where(hash_entries.c.hashset_id.in_(replaced)))
        conn.execute(update(hashsets).where(hashsets.c.id.in_(replaced)).values(active=False))
    deferral.finish()
    final = {"active": True, "entries": count, "pdq_entries": pdq_count}
    final["source_sha256"] = sha.result()
    conn.execute(update(hashsets).where(hashsets.c.id == new_id).values(**final))
    stored = conn.execute(select(hashsets).where(hashsets.c.id == new_id)).one()
    return _info(stored), replaced


# -- removing ----------------------------------------------------------------------------


def remove_hashset(store: CaseStore, name: str, *, actor: str | None = None) -> list[int]:
    """Remove set `name`: its entries and every match of any of its versions are deleted,
    its versions are marked inactive (rows kept), its indexes deleted. Returns the ids of
    the files that had matches, whose category must now be decided again. With an `actor`,
    the removal's audit entry commits in the same transaction."""
    lock = lock_case(store)
    try:
        with store.engine.begin() as conn, _bulk_cache(conn):
            versions = conn.execute(
                select(hashsets.c.id, hashsets.c.active).where(hashsets.c.name == name)
            ).all()
            if not versions:
                known = conn.execute(
                    select(hashsets.c.name).where(hashsets.c.active.is_(True)).distinct()
                ).scalars()
                shown = ", ".join(sorted(known)) or "none"
                raise VigilError(f"no hash set named {name!r} in this case (sets: {shown})")
            if not any(active for _, active in versions):
                raise VigilError(f"the hash set {name!r} was already removed")
            ids = [v for v, _ in versions]
            affected = sorted(
                conn.execute(
                    select(matches.c.file_id).where(matches.c.hashset_id.in_(ids)).distinct()
                ).scalars()
            )
            conn.execute(delete(matches).where(matches.c.hashset_id.in_(ids)))
            conn.execute(delete(hash_entries).where(hash_entries.c.hashset_id.in_(ids)))
            conn.execute(update(hashsets).where(hashsets.c.id.in_(ids)).values(active=False))
            if actor is not None:
                append(conn, actor, "hashset_remove", name, {"files": len(affected)})
        for version_id in ids:
            shutil.rmtree(store.index_dir(version_id), ignore_errors=True)
        return affected
    except _db_errors(store) as exc:
        raise StoreError(f"cannot remove the hash set {name!r}: {exc}") from exc
    finally:
        lock.close()


# -- the PDQ index of a version ------------------------------------------------------------


def pdq_index(store: CaseStore, hashset_id: int) -> PdqIndex | None:
    """The saved PDQ index of a version (memory-mapped), or None when it has no PDQ entries.
    A missing folder (a crash between commit and move) is rebuilt from the entries and saved."""
    info = get_hashset(store, hashset_id)
    if info.pdq_entries == 0 or not info.active:
        return None
    directory = store.index_dir(hashset_id)
    if directory.is_dir() and (directory / "index.json").is_file():
        return PdqIndex.load(directory)
    try:
        with store.engine.connect() as conn:
            ids, codes = _pdq_arrays(conn, hashset_id)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the entries of hash set {hashset_id}: {exc}") from exc
    index = PdqIndex.build(ids, codes)
    tmp = _index_root(store) / f".rebuild-{uuid.uuid4().hex}"
    try:
        index.save(tmp)
        shutil.rmtree(directory, ignore_errors=True)
        os.replace(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return PdqIndex.load(directory)
