"""`vigil export`: the case's categorised media in each exchange format, each file with its
provenance sidecar (and, in hashdeep, the same provenance as `##` lines).

md5sum and hashdeep lists cannot say a record's category, and whoever imports one takes every
line as the same kind of known material: they are exported only for categories chosen by
name, never "everything categorised", which would mix non-pertinent files into an alert list.

geojson and kml are not hash lists: they carry every GPS point of the case, with the record's
path unless `names` is off (`reports/places.py`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.errors import ConfigError, VigilError
from vigil.reports.atomic import atomic_output
from vigil.reports.hash_lists import write_csv, write_hashdeep, write_md5sum
from vigil.reports.places import FORMATS as PLACE_FORMATS
from vigil.reports.places import export_places
from vigil.reports.provenance import comment_lines, export_provenance, write_sidecar
from vigil.reports.vics_export import categorised_media, export_vics
from vigil.store import CaseStore
from vigil.store.audit import cli_actor, record

FORMATS = ("vics", "md5sum", "hashdeep", "csv")  # the hash lists
EXPORT_FORMATS = (*FORMATS, *PLACE_FORMATS)
NO_CATEGORY = frozenset({"md5sum", "hashdeep"})  # formats that cannot say a category
_WITH_PDQ = frozenset({"vics", "csv"})


@dataclass(frozen=True, slots=True)
class Exported:
    records: int
    provenance: Path  # the sidecar


def _checked(
    store: CaseStore, fmt: str, categories: Collection[int] | None
) -> frozenset[int] | None:
    if fmt not in EXPORT_FORMATS:
        known = ", ".join(EXPORT_FORMATS)
        raise ConfigError(f"unknown export format {fmt!r} (known: {known})")
    if fmt in PLACE_FORMATS:
        if categories:
            raise ConfigError(f"{fmt} exports every GPS point; --category does not apply")
        return None
    if categories:
        for code in categories:
            store.scheme.check(code)
        return frozenset(categories)
    if fmt in NO_CATEGORY:
        raise ConfigError(
            f"{fmt} lists carry no category, so an importer reads every line as one kind of "
            "known material: choose the categories to export with --category (e.g. --category 1)"
        )
    return None


def _write_list(
    store: CaseStore,
    out_path: Path,
    fmt: str,
    *,
    names: bool,
    categories: frozenset[int] | None,
    doc: dict[str, Any],
) -> int:
    """Write to a temporary file renamed into place: the list appears complete or not at all."""
    entries = categorised_media(store, names=names)
    if categories is not None:
        entries = (e for e in entries if e.category in categories)
    # csv writes its own CRLF; md5sum and hashdeep lines end in LF on every OS
    newline = "" if fmt == "csv" else "\n"
    with atomic_output(out_path, "w", encoding="utf-8", newline=newline) as fh:
        if fmt == "md5sum":
            count = write_md5sum(entries, fh)
        elif fmt == "hashdeep":
            count = write_hashdeep(entries, fh, comment_lines(doc))
        else:
            count = write_csv(entries, fh, store.scheme)
    return count


def export_case(
    store: CaseStore,
    out_path: Path,
    *,
    fmt: str = "vics",
    version: str | None = None,
    names: bool = True,
    categories: Collection[int] | None = None,
    actor: str | None = None,
) -> Exported:
    """Export in `fmt` (`EXPORT_FORMATS`); `version` is VICS's (default 2.0) and only VICS's;
    `categories` (codes of the case's scheme) narrows the records, and is required for
    md5sum and hashdeep. Then writes `FILE.provenance.json` beside the export and records
    the export in the audit (by `actor`, default `cli:<login>`)."""
    out_path = Path(out_path)
    chosen = _checked(store, fmt, categories)
    if version is not None and fmt != "vics":
        raise ConfigError(f"--version is a VICS version; {fmt} lists have none")
    doc = export_provenance(store, fmt=fmt, names=names, categories=chosen, pdq=fmt in _WITH_PDQ)
    if fmt in PLACE_FORMATS:
        doc["names"] = "record paths" if names else "none"
        count = export_places(store, out_path, fmt, names=names)
    elif fmt == "vics":
        doc["vics_version"] = version or "2.0"
        count = export_vics(
            store, out_path, version=doc["vics_version"], names=names, categories=chosen
        )
    else:
        count = _write_list(store, out_path, fmt, names=names, categories=chosen, doc=doc)
    try:
        sidecar = write_sidecar(out_path, doc, count)
    except OSError as exc:
        raise VigilError(
            f"wrote {out_path} but not its provenance sidecar: {exc.strerror or exc}"
        ) from exc
    detail = {
        "format": fmt,
        "file": str(out_path.absolute()),
        "records": count,
        "categories": sorted(chosen) if chosen is not None else None,
        "names": names,
        "vics_version": doc.get("vics_version"),
    }
    record(store, actor or cli_actor(), "export", out_path.name, detail)
    return Exported(records=count, provenance=sidecar)
