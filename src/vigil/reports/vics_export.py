"""`vigil export --format vics`: the case's categorised media as a VICS `#Media` hash set.

Hashes and metadata only, never media bytes and never evidence paths: one Media record per
distinct MD5, streamed in MD5 order, written to a temporary file renamed into place. The
context says the case's scheme: Project VIC codes as region `Default` (the only region IPED
reads), UK codes as region `UK` (2.0 only), never UK codes under a Project VIC context.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from vigil.categories import CategoryScheme
from vigil.errors import ConfigError, StoreError
from vigil.hashsets import HashEntry, write_vics
from vigil.hashsets.vics_export import check_version
from vigil.model import Locator, display_name
from vigil.reports.atomic import atomic_output
from vigil.store import CaseStore
from vigil.store.schema import files

PAGE = 2_000  # distinct MD5s per query
REGIONS = {"projectvic": "Default", "uk": "UK"}  # case scheme → VICS 2.0 region
_SEPARATORS = re.compile(rb"[/\\]")
_COLUMNS = (
    files.c.id,
    files.c.md5,
    files.c.sha1,
    files.c.sha256,
    files.c.pdq,
    files.c.pdq_quality,
    files.c.pdq_windows,
    files.c.size,
    files.c.category,
    files.c.locator,
)


def base_name(locator: bytes) -> str:
    """The last component of the innermost name (`a.zip!dir/x.jpg` → `x.jpg`): the file name
    partners see in VICS, without the folders and archive chain, which can identify people,
    devices and places in the evidence."""
    name = Locator.from_raw(bytes(locator)).name
    return display_name(_SEPARATORS.split(name)[-1])


def _entry(rows: list[Any], scheme: CategoryScheme, names: bool) -> HashEntry:
    """One Media record for every occurrence of one MD5 (rows in id order). Occurrences of the
    same content normally agree; where review set them apart, the most severe category wins."""
    first = rows[0]
    codes = [r.category for r in rows]
    category = scheme.most_severe(codes)
    extra = (("pdq_windows", first.pdq_windows),) if first.pdq and first.pdq_windows else ()
    return HashEntry(
        md5=first.md5,
        sha1=first.sha1,
        sha256=first.sha256,
        pdq=first.pdq,
        pdq_quality=first.pdq_quality if first.pdq else None,
        category=category if category is not None else first.category,
        name=base_name(first.locator) if names else None,
        size=first.size,
        extra=extra,
    )


def categorised_media(
    store: CaseStore, *, names: bool = True, page: int = PAGE
) -> Iterator[HashEntry]:
    """One entry per distinct MD5 among files with a category, in MD5 order, by keyset pages
    (one short read transaction each, so a huge case holds neither memory nor a snapshot)."""
    scheme = store.scheme
    wanted = (files.c.category.is_not(None), files.c.md5.is_not(None))
    last = ""
    while True:
        keys = (
            select(files.c.md5)
            .where(*wanted, files.c.md5 > last)
            .group_by(files.c.md5)
            .order_by(files.c.md5)
            .limit(page)
        )
        try:
            with store.engine.connect() as conn:
                md5s = list(conn.execute(keys).scalars())
                if not md5s:
                    return
                rows = conn.execute(
                    select(*_COLUMNS)
                    .where(*wanted, files.c.md5.in_(md5s))
                    .order_by(files.c.md5, files.c.id)
                ).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the case database: {exc}") from exc
        group: list[Any] = []
        for row in rows:
            if group and row.md5 != group[0].md5:
                yield _entry(group, scheme, names)
                group = []
            group.append(row)
        if group:
            yield _entry(group, scheme, names)
        last = md5s[-1]


def export_vics(
    store: CaseStore,
    out_path: Path,
    *,
    version: str = "2.0",
    names: bool = True,
    categories: Collection[int] | None = None,
) -> int:
    """Write the case's categorised media to `out_path` as a VICS `#Media` hash set (the shape
    partners import as a list; a `#Cases` export would describe our case instead). Returns the
    number of Media records. Each carries MD5, SHA-1, SHA-256, PDQ, its quality and the
    file's centred-window PDQs (2.0 `MediaMetadata` `vigil.pdq_windows`), size, category and,
    unless `names` is false, the file's base name (with an empty `FilePath`). Region `UK` for
    a case on the UK scheme, which only 2.0 can say (ConfigError for 1.3, before any file is
    made). `categories` keeps only records whose category is one of them. The file appears
    complete or not at all."""
    out_path = Path(out_path)
    region = REGIONS.get(store.scheme.name)
    if region is None:
        raise ConfigError(f"no VICS region says the {store.scheme.name} category scheme")
    check_version(version, region)
    with atomic_output(out_path) as fh:
        entries = categorised_media(store, names=names)
        if categories is not None:
            entries = (e for e in entries if e.category in categories)
        count = write_vics(entries, fh, version=version, region=region)
    return count
