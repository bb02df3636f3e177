"""The hash-set flows every front end shares (CLI today, triage and the review app next):
import a list then match the case against it, remove a set then decide its files' categories
again. Thresholds come from the case's settings unless the caller passes others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vigil.categories import CategoryScheme, describe_list_scheme, load_category_map
from vigil.config import Settings, load_settings
from vigil.errors import ConfigError
from vigil.hashsets import HashSetFormat, VideoHashListFormat, get_format
from vigil.pipeline.categorise import resolve_all_categories
from vigil.pipeline.matcher import MatchSummary, match_case
from vigil.pipeline.video_matcher import match_case_videos
from vigil.store import CaseStore
from vigil.store.audit import cli_actor
from vigil.store.hashsets import HashSetInfo, ImportStats, import_hashset, remove_hashset
from vigil.store.video_lists import import_video_list, video_format


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    info: HashSetInfo
    stats: ImportStats
    summary: MatchSummary


def default_kind(fmt: HashSetFormat) -> str:
    """NSRL lists known software: matching one clears a file, it never raises an alert."""
    return "ignorable" if fmt.name == "nsrl" else "alert"


def import_and_match(
    store: CaseStore,
    path: Path,
    *,
    fmt: str | HashSetFormat = "auto",
    name: str | None = None,
    kind: str | None = None,
    category: int | None = None,
    category_map: Path | None = None,
    settings: Settings | None = None,
    on_progress: Callable[[int], None] | None = None,
    actor: str | None = None,
) -> ImportOutcome:
    """Import `path` as a new version of a set (`store.hashsets.import_hashset`), recorded in
    the audit in the same transaction (by `actor`, default `cli:<login>`), then match every
    file of the case against that version at the case's settings. A vPDQ list (format
    `vpdq` or `vpdq-json`, or sniffed as one) is imported as known videos and only the case's
    videos are matched against it."""
    path = Path(path)
    video = video_format(fmt, path) if isinstance(fmt, str) else None
    if video is not None:
        return _import_video_list(
            store, path, video, name, kind, category, category_map, settings, on_progress, actor
        )
    hash_format = get_format(fmt, path) if isinstance(fmt, str) else fmt
    codes = load_category_map(category_map, store.scheme) if category_map is not None else None
    settings = settings if settings is not None else load_settings(store.case_dir)
    stats = ImportStats()
    info = import_hashset(
        store,
        path,
        fmt=hash_format,
        name=name,
        kind=kind if kind is not None else default_kind(hash_format),
        category=category,
        category_codes=codes,
        category_map_source=str(category_map),
        stats=stats,
        on_progress=on_progress,
        actor=actor or cli_actor(),
    )
    summary = match_case(store, settings, hashset_ids=[info.id])
    return ImportOutcome(info, stats, summary)


def _import_video_list(
    store: CaseStore,
    path: Path,
    fmt: VideoHashListFormat,
    name: str | None,
    kind: str | None,
    category: int | None,
    category_map: Path | None,
    settings: Settings | None,
    on_progress: Callable[[int], None] | None,
    actor: str | None,
) -> ImportOutcome:
    """A vPDQ list: its videos imported (`store.video_lists`), then the case's videos
    matched against them (`video_matcher`); the picture files are not read again."""
    if category_map is not None:
        raise ConfigError("a vPDQ list carries no category codes: --category-map does not apply")
    settings = settings if settings is not None else load_settings(store.case_dir)
    info = import_video_list(
        store,
        path,
        fmt=fmt,
        name=name,
        kind=kind if kind is not None else "alert",
        category=category,
        on_progress=on_progress,
        actor=actor or cli_actor(),
    )
    started = time.monotonic()
    videos = match_case_videos(store, settings, hashset_ids=[info.id])
    summary = MatchSummary(
        files=videos.videos,
        found=videos.found,
        added=videos.added,
        removed=videos.removed,
        threshold=settings.pdq_threshold,
        seconds=time.monotonic() - started,
    )
    return ImportOutcome(info, ImportStats(), summary)


def import_notes(outcome: ImportOutcome, scheme: CategoryScheme) -> list[str]:
    """What the user must hear about an import beyond its counts."""
    info, stats = outcome.info, outcome.stats
    notes = []
    if info.category_map is not None:
        notes.append(f"categories: {describe_list_scheme(info.list_scheme)} codes mapped")
    elif info.list_scheme not in (None, scheme.name):
        notes.append(
            f"categories: the list is in the {describe_list_scheme(info.list_scheme)} scheme; "
            f"as a {info.kind} set its codes are kept but decide nothing in this "
            f"{scheme.name} case"
        )
    if stats.unmapped and info.kind == "alert":
        codes = ", ".join(f"{code} ({n:,} entries)" for code, n in sorted(stats.unmapped.items()))
        notes.append(
            f"categories {codes} have no meaning in the {scheme.name} scheme: kept as the "
            "list's own; files they match need a human (--category-map gives them one)"
        )
    if stats.list_rows > info.entries:
        notes.append(f"{stats.list_rows:,} list rows folded into {info.entries:,} distinct entries")
    if stats.empty_digest:
        notes.append(
            f"{stats.empty_digest:,} entries are digests of empty content: Vigil never matches "
            "empty files"
        )
    return notes


def remove_and_redecide(store: CaseStore, name: str, *, actor: str | None = None) -> list[int]:
    """Remove set `name` with its matches, recorded in the audit in the same transaction (by
    `actor`, default `cli:<login>`); the files it matched get their category decided again.
    Returns those files' ids."""
    affected = remove_hashset(store, name, actor=actor or cli_actor())
    resolve_all_categories(store, affected)
    return affected
