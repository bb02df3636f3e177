"""Write HashEntry values as a VICS JSON file (1.3 or 2.0), streamed record by record: hashes
and metadata only, never media and never evidence folders. Vigil's own reader takes it back
losslessly for every field the chosen version carries (2.0 carries them all), except paths.

Only the versions IPED reads are written (its HashDBTool accepts exactly
`…/1.3.xml#Media` under `odata.metadata` and `…/2.0.xml/Default/$metadata#Media` under
`@odata.context`, metadata member first, then `value`). It reads a `…/1.2.xml#Media` file as
NIST's CAID set and marks every hash "known" (ignorable), so categorised material written as
1.2 would be misread; no reader checked takes a 1.1 hash set.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

from vigil.errors import ConfigError
from vigil.hashsets.entry import HashEntry
from vigil.hashsets.vics import FLAG_FIELDS, META_PREFIX, PATH_KEY, TEXT_FIELDS

VERSIONS = ("1.3", "2.0")
_REFUSED = {
    "1.2": "; IPED reads a 1.2 #Media file as NIST's CAID set of known, ignorable files",
    "1.1": "; no reader checked takes a 1.1 hash set",
}
# MediaFiles.FilePath is the folder on the evidence (NIST's CAID set and Clees4All write the
# folder and the name apart). Vigil never shares folders, and the member is part of the
# MediaFiles key (`/MediaFiles(FileName=…,FilePath=…,MD5=…)`), so it is always present and
# empty: "no folder", which no reader can take for a real path (a base name could be).
NO_FOLDER = ""
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
    if entry.name is not None:
        media["MediaFiles"] = [{"MD5": md5, "FileName": entry.name, "FilePath": NO_FOLDER}]
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


def check_version(version: str, region: str = "Default") -> None:
    """ConfigError unless `version` is written and can say `region`: 1.x has no region, so its
    codes read as Project VIC's, and a list in another region's codes must be 2.0."""
    if version not in VERSIONS:
        raise ConfigError(
            f"unknown VICS version {version!r} to write (supported: {', '.join(VERSIONS)})"
            + _REFUSED.get(version, "")
        )
    if version != "2.0" and region != "Default":
        raise ConfigError(
            f"VICS {version} has no region, so readers take its categories as Project VIC's: "
            f"a list in region {region} is written as VICS 2.0 only"
        )


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
    and then `Media`. Every entry needs an MD5 (the VICS Media key). A name goes in
    `MediaFiles[0].FileName` with an empty `FilePath` (a `path` extra is never written); flags,
    `IsPrecategorized` and Series need 1.3; extras VICS has no member for (and PDQ quality)
    travel in 2.0 `MediaMetadata` as `vigil.<key>`, and are dropped by 1.3. SHA-256 and PDQ go
    in `AlternativeHashes` (HashName `SHA256` / `PDQ`, which IPED skips). `region` is the 2.0
    region the categories are in (`UK` for UK codes: never written under `Default`).
    """
    check_version(version, region)
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
