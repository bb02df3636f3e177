"""Property tests for the text readers: arbitrary input only ever fails with
HashSetFormatError, and generated valid entries round-trip through each text form."""

from __future__ import annotations

import csv
import io
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.errors import HashSetFormatError
from vigil.hashsets import FORMATS, HashEntry

SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HEADERS = {
    "vics": '{"odata.metadata":"http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media","value":[',
    "nsrl": '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode"\n',
    "hashkeeper": '"file_id","hashset_id","file_name","directory","hash","file_size"\n',
    "icse": "MD5;SHA1;PhotoDNA;Image ID;Victim identified\n",
    "pdq": "",
    "md5sum": "",
    "csv": "md5,sha1,sha256,pdq,quality,category,name,size\n",
}
_counter = itertools.count()
line_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
hexes = st.sampled_from("0123456789abcdefABCDEF")


def _read(tmp_path, name: str, data: bytes) -> list[HashEntry] | None:
    path = tmp_path / f"in-{next(_counter)}"
    path.write_bytes(data)
    try:
        return list(FORMATS.get(name).read(path))
    except HashSetFormatError:
        return None


@SETTINGS
@given(
    name=st.sampled_from(sorted(HEADERS)),
    lines=st.lists(
        line_text
        | st.builds(lambda h, t: h + t, st.text(hexes, min_size=30, max_size=66), line_text),
        max_size=6,
    ),
)
def test_random_lines_fail_only_cleanly(tmp_path, name, lines):
    _read(tmp_path, name, (HEADERS[name] + "\n".join(lines)).encode())


@SETTINGS
@given(name=st.sampled_from(sorted(HEADERS)), data=st.binary(max_size=300), bom=st.booleans())
def test_random_bytes_fail_only_cleanly(tmp_path, name, data, bom):
    _read(tmp_path, name, (b"\xef\xbb\xbf" if bom else b"") + HEADERS[name].encode() + data)


def hex_of(n: int) -> st.SearchStrategy[str]:
    return st.binary(min_size=n, max_size=n).map(bytes.hex)


name_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=30
).filter(lambda s: s == s.strip() and s.strip())


file_name = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), min_size=1, max_size=30
)
algos = st.sampled_from(["md5", "sha1", "sha256"])


@SETTINGS
@given(
    st.lists(st.tuples(algos, st.booleans(), st.none() | file_name), min_size=1, max_size=8),
    st.data(),
)
def test_md5sum_roundtrip(tmp_path, specs, data):
    size = {"md5": 16, "sha1": 20, "sha256": 32}
    entries, lines = [], []
    for algo, bsd, name in specs:
        digest = data.draw(hex_of(size[algo]))
        entries.append(HashEntry(**{algo: digest}, name=name))
        if name is None:
            lines.append(digest)
            continue
        escaped = name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        prefix = "\\" if escaped != name else ""
        if bsd:
            lines.append(f"{prefix}{algo.upper()} ({escaped}) = {digest.upper()}")
        else:
            lines.append(f"{prefix}{digest}  {escaped}")
    assert _read(tmp_path, "md5sum", ("\n".join(lines) + "\n").encode()) == entries


@SETTINGS
@given(
    st.lists(
        st.tuples(hex_of(32), st.none() | st.integers(0, 100), st.none() | name_text),
        min_size=1,
        max_size=8,
    )
)
def test_pdq_roundtrip(tmp_path, specs):
    entries, lines = [], []
    for pdq, quality, name in specs:
        name = name if quality is not None else None
        entries.append(HashEntry(pdq=pdq, pdq_quality=quality, name=name))
        lines.append(",".join(str(x) for x in (pdq, quality, name) if x is not None))
    assert _read(tmp_path, "pdq", ("\r\n".join(lines)).encode()) == entries


@st.composite
def csv_entries(draw):
    entry = HashEntry(
        md5=draw(st.none() | hex_of(16)),
        sha1=draw(st.none() | hex_of(20)),
        sha256=draw(st.none() | hex_of(32)),
        pdq=draw(st.none() | hex_of(32)),
        pdq_quality=draw(st.none() | st.integers(0, 100)),
        category=draw(st.none() | st.integers(0, 10)),
        name=draw(st.none() | name_text),
        size=draw(st.none() | st.integers(0, 2**63)),
    )
    return entry if entry.has_hash else HashEntry(md5=draw(hex_of(16)), name=entry.name)


@SETTINGS
@given(st.lists(csv_entries(), min_size=1, max_size=8), st.sampled_from([",", ";", "\t"]))
def test_generic_csv_roundtrip(tmp_path, entries, delimiter):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    fields = ["md5", "sha1", "sha256", "pdq", "quality", "category", "name", "size"]
    writer.writerow(["MD5", "SHA-1", "sha256", "PDQ", "Quality", "Category", "File Name", "Size"])
    for e in entries:
        values = [getattr(e, f if f != "quality" else "pdq_quality") for f in fields]
        writer.writerow(["" if v is None else v for v in values])
    assert _read(tmp_path, "csv", out.getvalue().encode()) == entries


@SETTINGS
@given(
    st.lists(
        st.tuples(hex_of(16), name_text, st.none() | name_text, st.none() | st.integers(0, 2**40)),
        min_size=1,
        max_size=6,
    )
)
def test_hashkeeper_roundtrip(tmp_path, specs):
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow(["file_id", "hashset_id", "file_name", "directory", "hash", "file_size"])
    entries = []
    for i, (md5, name, directory, size) in enumerate(specs):
        writer.writerow([i, 7, name, directory or "", md5.upper(), "" if size is None else size])
        extra = {"hashset_id": "7"} | ({"directory": directory} if directory else {})
        entries.append(HashEntry(md5=md5, name=name, size=size, extra=tuple(sorted(extra.items()))))
    assert _read(tmp_path, "hashkeeper", out.getvalue().encode()) == entries
