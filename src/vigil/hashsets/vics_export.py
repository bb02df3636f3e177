"""Write HashEntry values as a VICS JSON file (1.1–1.3 or 2.0), streamed record by record:
hashes and metadata only, never media. Vigil's own reader takes it back losslessly for
every field the chosen version carries (2.0 carries them all).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

from vigil.errors import ConfigError
from vigil.hashsets.entry import HashEntry
from vigil.hashsets.vics import FLAG_FIELDS, META_PREFIX, PATH_KEY, TEXT_FIELDS

VERSIONS = ("1.1", "1.2", "1.3", "2.0")
_STANDARD = {key for key, _ in (*TEXT_FIELDS.values(), *FLAG_FIELDS.values())} | {PATH_KEY}


def context_url(version: str, shape: str, region: str = "Default") -> str:
    if version == "2.0":
        return (
            f"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{region}"
            f"/$metadata#{shape}"
        )
    return f"http://github.com/ICMEC/ProjectVic/DataModels/{version}.xml#{shape}"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def media_object(entry: HashEntry, media_id: int, version: str) -> dict[str, Any]:
    """The VICS Media object for one entry (uppercase MD5/SHA1 as distributed sets have)."""
    if not entry.md5:
        raise ValueError("VICS needs an MD5 for every Media record")
    v2 = version == "2.0"
    md5 = entry.md5.upper()
    media: dict[str, Any] = {"MediaID": media_id}
    if entry.category is not None:  # absent = uncategorised; 0 is a verdict
        media["Category"] = entry.category
    media["MD5"] = md5
    if entry.sha1:
        media["SHA1"] = entry.sha1.upper()
    if entry.size is not None:
        media["MediaSize"] = entry.size if v2 else str(entry.size)
    extras = entry.extras()
    for member, (key, since) in (*TEXT_FIELDS.items(), *FLAG_FIELDS.items()):
        if key in extras and version >= since:
            media[member] = extras[key]
    path = extras.get(PATH_KEY)
    if version == "1.1":
        if entry.name is not None:
            media["Name"] = entry.name
    elif entry.name is not None or path is not None:
        mfile = {"MD5": md5}
        if entry.name is not None:
            mfile["FileName"] = entry.name
        if path is not None:
            mfile["FilePath"] = path
        media["MediaFiles"] = [mfile]
    alternatives = []
    if entry.sha256:
        alternatives.append({"MD5": md5, "HashName": "SHA256", "HashValue": entry.sha256.upper()})
    if entry.pdq:
        alternatives.append({"MD5": md5, "HashName": "PDQ", "HashValue": entry.pdq})
    if alternatives:
        media["AlternativeHashes"] = alternatives
    if v2:
        metadata = [
            {"PropertyName": META_PREFIX + key, "PropertyValue": value}
            for key, value in entry.extra
            if key not in _STANDARD
        ]
        if entry.pdq and entry.pdq_quality is not None:
            quality = str(entry.pdq_quality)
            metadata.append({"PropertyName": META_PREFIX + "pdq_quality", "PropertyValue": quality})
        if metadata:
            media["MediaMetadata"] = metadata
    return media


def write_vics(
    entries: Iterable[HashEntry],
    out: BinaryIO,
    *,
    version: str = "2.0",
    case_info: Mapping[str, Any] | None = None,
    region: str = "Default",
) -> int:
    """Stream `entries` to `out` as VICS; returns the number of Media records written.

    Without `case_info` the file is a `#Media` hash set; with it, a `#Cases` export whose one
    Case object holds `case_info`'s members (CaseID, CaseNumber, Contact…, SourceApplication…)
    and then `Media`. Every entry needs an MD5 (the VICS Media key). Version 1.1 keeps names
    as `Name`, 1.2+ as `MediaFiles[0]`; flags and Series need 1.3; extras VICS has no member
    for (and PDQ quality) travel in 2.0 `MediaMetadata` as `vigil.<key>`, and are dropped
    by 1.x. SHA-256 and PDQ go in `AlternativeHashes` (HashName `SHA256` / `PDQ`).
    """
    if version not in VERSIONS:
        raise ConfigError(f"unknown VICS version {version!r} (known: {', '.join(VERSIONS)})")
    key = "@odata.context" if version == "2.0" else "odata.metadata"
    shape = "Media" if case_info is None else "Cases"
    out.write(b"{" + _dumps(key) + b":" + _dumps(context_url(version, shape, region)))
    out.write(b',"value":[')
    if case_info is not None:
        case = {k: v for k, v in case_info.items() if k != "Media"}
        head = _dumps(case)
        out.write(head[:-1] + (b"," if case else b"") + b'"Media":[')
    count = 0
    for entry in entries:
        count += 1
        out.write((b"\n" if count == 1 else b",\n") + _dumps(media_object(entry, count, version)))
    if case_info is not None:
        out.write(b"]}")
    out.write(b"]}\n")
    return count
