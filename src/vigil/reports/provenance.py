"""The provenance an export carries: which Vigil and libraries made it, on which host, by
which OS user, when, from which case, with which selection; as `##` lines where the format
has comments for them (hashdeep) and always as a sidecar `FILE.provenance.json` that names
the export by its SHA-256, so the two can be checked against each other.

An export goes to partners, so it says less than a run row: the case's id, never its name
(which can name a suspect or an operation), nor its folder or store URL (which name the lab's
machines and shares).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from vigil.categories import SCHEMES
from vigil.errors import StoreError
from vigil.provenance import host_and_user, versions
from vigil.store import CaseStore
from vigil.store.case import now_iso
from vigil.store.schema import files

SIDECAR_SUFFIX = ".provenance.json"
SIDECAR_FORMAT = 1


def sidecar_path(out_path: Path) -> Path:
    return out_path.with_name(out_path.name + SIDECAR_SUFFIX)


def _conventions(store: CaseStore, categories: Collection[int] | None) -> dict[str, list[str]]:
    """The PDQ and window conventions of the exported files: hashes compare only within one."""
    wanted = [files.c.category.is_not(None), files.c.md5.is_not(None)]
    if categories is not None:
        wanted.append(files.c.category.in_(sorted(categories)))
    out: dict[str, list[str]] = {}
    try:
        with store.engine.connect() as conn:
            for key, column in (("pdq", files.c.pdq_version), ("windows", files.c.windows_version)):
                query = select(column).distinct().where(*wanted, column.is_not(None))
                out[key] = sorted(conn.execute(query).scalars())
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the case database: {exc}") from exc
    return out


def export_provenance(
    store: CaseStore,
    *,
    fmt: str,
    names: bool,
    categories: Collection[int] | None,
    pdq: bool,
) -> dict[str, Any]:
    """What made this export and what it selects. `pdq`: the format carries PDQ hashes, so
    their conventions are said too."""
    meta = store.meta()
    scheme = store.scheme
    doc: dict[str, Any] = {
        "created_at": now_iso(),
        "format": fmt,
        "case_uuid": meta.get("case_uuid"),
        "category_scheme": scheme.name,
        "categories": None if categories is None else sorted(categories),
        "names": "base names" if names else "none",
        "versions": versions(),
        **host_and_user(),
    }
    if pdq:
        doc["hash_conventions"] = _conventions(store, categories)
    return doc


def _one_line(value: object) -> str:
    """OS-provided text (host, user) on one comment line, whatever it holds."""
    return "".join(c if c.isprintable() else "?" for c in str(value))


def versions_text(found: dict[str, str]) -> str:
    """`python 3.11.7, vigil 0.1.0, pdqhash 0.2.8, …` in the order `vigil.provenance` gives."""
    return ", ".join(f"{name} {value}" for name, value in found.items())


def comment_lines(doc: dict[str, Any]) -> Iterator[str]:
    """The provenance as readable lines (without a comment marker), for formats with comments."""
    version = doc["versions"].get("vigil", "?")
    yield f"Vigil {version} {doc['format']} export of case {doc['case_uuid']}"
    yield (
        f"made {doc['created_at']} by {_one_line(doc['user'])} on {_one_line(doc['host'])} "
        f"({_one_line(doc['platform'])})"
    )
    scheme = SCHEMES.get(doc["category_scheme"])
    codes = doc["categories"]
    chosen = (
        "all categorised" if codes is None else ", ".join(f"{c} {scheme.label(c)}" for c in codes)
    )
    yield f"categories ({scheme.name} scheme): {chosen}"
    yield f"names: {doc['names']}; never folders, never media"
    yield f"versions: {_one_line(versions_text(doc['versions']))}"


def write_sidecar(out_path: Path, doc: dict[str, Any], records: int) -> Path:
    """`FILE.provenance.json`: `doc` plus the export's file name, SHA-256 and record count.
    Written after the export is in place, so the digest is the digest of what is there."""
    digest = hashlib.sha256()
    with out_path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    sidecar = {
        "vigil_export_provenance": SIDECAR_FORMAT,
        "file": out_path.name,
        "sha256": digest.hexdigest(),
        "records": records,
        **doc,
    }
    path = sidecar_path(out_path)
    tmp = path.with_name(f".{path.name}.tmp")
    # ensure_ascii: host and user names come from the OS and may hold undecodable bytes
    tmp.write_text(json.dumps(sidecar, indent=2, ensure_ascii=True) + "\n", "utf-8")
    tmp.replace(path)
    return path
