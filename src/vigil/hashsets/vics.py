"""Project VIC VICS JSON 1.1–1.3 and 2.0, streamed: `#Media` hash sets (`value[*]`) and
`#Cases` exports (`value[*].Media[*]`). The shape comes from the content, not the context URL
(RECON Lab writes case objects under a `#Media` context). Keys are matched case-insensitively;
hashes, flags and numbers are normalised (uppercase hex, "True"/"true"/true, MediaSize as
string); `Category` null/absent stays None, distinct from 0. PhotoDNA is opaque and not kept.
The context URL says which category scheme the codes are in (`VicsFormat.category_scheme`).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

from vigil.errors import HashSetFormatError, VigilError
from vigil.hashsets.entry import (
    HashEntry,
    check_not_empty,
    no_entries,
    norm_flag,
    opt_hex,
    opt_int,
    read_head,
)

# VICS Media member → HashEntry.extra key, with the first version that carries it.
TEXT_FIELDS = {
    "Series": ("series", "1.3"),
    "Tags": ("tags", "1.3"),
    "Comments": ("comments", "1.3"),
    "MimeType": ("mime_type", "1.3"),
    "DateUpdated": ("date_updated", "2.0"),
    "PrecategorizationSource": ("precategorization_source", "2.0"),
}
FLAG_FIELDS = {
    "VictimIdentified": ("victim_identified", "1.3"),
    "OffenderIdentified": ("offender_identified", "1.3"),
    "IsDistributed": ("is_distributed", "1.3"),
    "IsSuspected": ("is_suspected", "1.3"),
    "IsPrecategorized": ("is_precategorized", "1.3"),
}
# AlternativeHashes HashName (lowercased) → HashEntry field. SHA-256 and PDQ have no
# standard Media member; formats.md suggests AlternativeHashes with an explicit HashName.
ALT_HASHES = {
    "sha1": "sha1",
    "sha-1": "sha1",
    "sha256": "sha256",
    "sha-256": "sha256",
    "sha2-256": "sha256",
    "sha2_256": "sha256",
    "pdq": "pdq",
}
# 2.0 MediaMetadata properties with this prefix carry Vigil extras that VICS has no member for.
META_PREFIX = "vigil."
PATH_KEY = "path"  # extra: MediaFiles[0].FilePath, when not empty
_LOWER_TEXT = {k.lower(): v[0] for k, v in TEXT_FIELDS.items()}
_LOWER_FLAGS = {k.lower(): v[0] for k, v in FLAG_FIELDS.items()}
_EXTRA_KEYS = frozenset(_LOWER_TEXT) | frozenset(_LOWER_FLAGS)
_CONTEXT = re.compile(rb'"@?odata\.(?:metadata|context)"\s*:\s*"([^"]{0,2000})"')
_REGION = re.compile(r"\.xml/([^/#$]+)/\$metadata", re.IGNORECASE)  # 2.0: …/2.0.xml/UK/$metadata
# 2.0 region (lowercased) → category scheme; Default and US are Project VIC's own numbering.
REGION_SCHEMES = {"default": "projectvic", "us": "projectvic", "uk": "uk"}
_BUF = 256 * 1024


def _ijson() -> tuple[ModuleType, type[Exception]]:
    """(parser backend, its error class). The C (yajl2) backend when present: several times
    the pure-Python one, which matters on 50M-record sets."""
    try:
        import ijson
    except ImportError as exc:
        raise VigilError("reading VICS needs the 'ijson' package (pip install ijson)") from exc
    try:
        backend = ijson.get_backend("yajl2_c")
    except ImportError:
        backend = ijson
    return backend, ijson.JSONError


class _Utf16ToUtf8:
    """Old Clees4All wrote UTF-16LE with a BOM; the parser wants UTF-8 bytes."""

    def __init__(self, raw: BinaryIO, encoding: str) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)("strict")

    def close(self) -> None:
        self._raw.close()

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes read(0) for bytes vs str
            return b""
        while True:
            chunk = self._raw.read(size if size > 0 else _BUF)
            text = self._decoder.decode(chunk, final=not chunk)
            if text or not chunk:
                return text.encode("utf-8")


def _open(path: Path) -> Any:
    """Binary stream of UTF-8 JSON, BOM removed (UTF-16 transcoded)."""
    fh = open(path, "rb")  # noqa: SIM115 - closed by the caller
    bom = fh.read(3)
    if bom.startswith(codecs.BOM_UTF8):
        return fh
    if bom[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        fh.seek(2)
        enc = "utf-16-le" if bom[:2] == codecs.BOM_UTF16_LE else "utf-16-be"
        return _Utf16ToUtf8(fh, enc)
    fh.seek(0)
    return fh


def _decoded_head(head: bytes) -> bytes:
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        enc = "utf-16-le" if head[:2] == codecs.BOM_UTF16_LE else "utf-16-be"
        return head[2 : len(head) & ~1].decode(enc, "replace").encode("utf-8")
    return head.removeprefix(codecs.BOM_UTF8)


def context(head: bytes) -> tuple[str | None, str | None, str | None]:
    """(context URL, model version, "Cases"/"Media") from the metadata member, if in the head."""
    match = _CONTEXT.search(_decoded_head(head))
    if match is None:
        return None, None, None
    url = match[1].decode("utf-8", "replace")
    version = re.search(r"/(\d+\.\d+)\.xml", url)
    shape = re.search(r"#(Cases|Media)\s*$", url, re.IGNORECASE)
    return (
        url,
        version[1] if version else None,
        shape[1].capitalize() if shape else None,
    )


def _media_prefix(path: Path, backend: ModuleType, error: type[Exception]) -> str:
    """The ijson prefix of the Media records, from the structure of `value[0]`: a member named
    `Media` (any case) holding an array makes it a Case object, whatever the context URL says
    (RECON's 2.0 export says `#Media` over a case; its case keys are not the standard ones).
    Only events are looked at, up to that member or the end of `value[0]`, so memory stays
    flat however large the case object is."""
    fh = _open(path)
    media_key = None
    try:
        for prefix, event, value in backend.parse(fh, buf_size=_BUF):
            if media_key is not None:
                if event == "start_array":
                    return f"value.item.{media_key}.item"
                media_key = None  # `Media` that is not an array: not a case
            if prefix == "value.item":
                if event != "map_key" and event != "start_map":
                    break  # the end of value[0], or value[0] is not an object
                if event == "map_key" and str(value).lower() == "media":
                    media_key = value
            elif prefix == "value" and event == "end_array":
                break
    except (error, UnicodeDecodeError) as exc:
        raise HashSetFormatError(f"invalid JSON: {exc}", record=1) from None
    finally:
        fh.close()
    return "value.item"


def _get(obj: dict[str, Any], key: str) -> Any:
    """Case-insensitive member lookup (writers differ: `SourceID` vs `sourceID`)."""
    if key in obj:
        return obj[key]
    low = key.lower()
    for k, v in obj.items():
        if k.lower() == low:
            return v
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text or None


def media_to_entry(obj: Any, record: int) -> HashEntry | None:
    """One Media object → entry; None for a record whose only hash is PhotoDNA."""
    if not isinstance(obj, dict):
        raise HashSetFormatError("Media record is not an object", record=record)
    low = {k.lower(): v for k, v in obj.items()}  # writers differ in key case
    get = low.get
    hashes: dict[str, str | None] = {
        "md5": opt_hex(get("md5"), "md5", record=record),
        "sha1": opt_hex(get("sha1"), "sha1", record=record),
        "sha256": opt_hex(get("sha256"), "sha256", record=record),
        "pdq": opt_hex(get("pdq"), "pdq", record=record),
    }
    photodna = bool(get("photodna"))
    alternatives = get("alternativehashes")
    for alt in alternatives if isinstance(alternatives, list) else ():
        if not isinstance(alt, dict):
            continue
        hash_name = str(_get(alt, "HashName") or "").strip().lower()
        field = ALT_HASHES.get(hash_name)
        if field is None:
            photodna = photodna or hash_name == "photodna"
            continue
        value = opt_hex(_get(alt, "HashValue"), field, record=record)
        if value is not None and hashes[field] is None:
            hashes[field] = value
    extra: dict[str, str] = {}
    for key in low.keys() & _EXTRA_KEYS:
        if key in _LOWER_FLAGS:
            if (flag := norm_flag(_text(low[key]))) is not None:
                extra[_LOWER_FLAGS[key]] = flag
        elif (text := _text(low[key])) is not None:
            extra[_LOWER_TEXT[key]] = text
    quality = None
    file_name = _text(get("name")) or _text(get("filename"))  # 1.1 / RECON 1.2–2.0
    files = get("mediafiles")
    if isinstance(files, list) and files and isinstance(files[0], dict):
        file_name = file_name or _text(_get(files[0], "FileName"))
        if (path := _text(_get(files[0], "FilePath"))) is not None:
            extra[PATH_KEY] = path
    metadata = get("mediametadata")
    for prop in metadata if isinstance(metadata, list) else ():
        if not isinstance(prop, dict):
            continue
        prop_name = _text(_get(prop, "PropertyName")) or ""
        if prop_name.startswith(META_PREFIX) and (text := _text(_get(prop, "PropertyValue"))):
            if prop_name == META_PREFIX + "pdq_quality":
                quality = opt_int(text, "pdq_quality", high=100, record=record)
            else:
                extra[prop_name[len(META_PREFIX) :]] = text
    entry = HashEntry(
        **hashes,
        pdq_quality=quality if hashes["pdq"] else None,
        category=opt_int(get("category"), "Category", record=record),
        name=file_name,
        size=opt_int(get("mediasize"), "MediaSize", record=record),
        extra=tuple(sorted(extra.items())),
    )
    if not entry.has_hash:
        if photodna:
            return None
        raise HashSetFormatError("Media record has no MD5 or SHA1", record=record)
    return entry


# RECON Lab writes its evidence-source number into `Category`, not a verdict, in every version;
# its case object is recognisable by its own keys, which Qt sorts before `Media`.
RECON_SOURCE = "recon-source"
_RECON_CASE = re.compile(rb'"Case No\.\s*"\s*:')


def scheme_of_context(url: str | None, version: str | None) -> str | None:
    """The category scheme a context URL names: 1.x (ICMEC) is Project VIC's numbering; 2.0
    says it by region (`Default`/`US` Project VIC, `UK` the UK scheme, any other region as
    "vics-region:<REGION>" as written, which the import refuses to read as a known scheme)."""
    if url is None:
        return None
    region = _REGION.search(url)
    if region is not None:
        return REGION_SCHEMES.get(region[1].lower(), f"vics-region:{region[1]}")
    return "projectvic" if version is not None and version.startswith("1.") else None


class VicsFormat:
    name = "vics"
    version = "1"

    def category_scheme(self, path: Path) -> str | None:
        try:
            head = read_head(path)
        except OSError as exc:
            raise HashSetFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
        if _RECON_CASE.search(_decoded_head(head)):
            return RECON_SOURCE
        url, version, _ = context(head)
        return scheme_of_context(url, version)

    def sniff(self, path: Path, head: bytes) -> bool:
        body = _decoded_head(head).lstrip()
        if not body.startswith(b"{"):
            return False
        url, _, shape = context(head)
        return url is not None and (shape is not None or "projectvic" in url.lower())

    def read(self, path: Path) -> Iterator[HashEntry]:
        check_not_empty(path)
        backend, error = _ijson()
        prefix = _media_prefix(path, backend, error)
        record = count = 0
        fh = _open(path)
        try:
            for obj in backend.items(fh, prefix, use_float=False, buf_size=_BUF):
                record += 1
                entry = media_to_entry(obj, record)
                if entry is not None:
                    count += 1
                    yield entry
        except error as exc:
            raise HashSetFormatError(f"invalid JSON: {exc}", record=record + 1) from None
        except UnicodeDecodeError as exc:
            raise HashSetFormatError(f"not valid text: {exc}", record=record + 1) from None
        finally:
            fh.close()
        if not count:
            raise no_entries()
