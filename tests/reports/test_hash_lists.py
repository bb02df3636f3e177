"""md5sum, hashdeep and CSV writers: lines exactly as GNU md5sum and hashdeep write them, and
every list read back by Vigil's own reader of that format with the same hashes and names."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hashsets.conftest import digests
from vigil.categories import PROJECT_VIC, UK
from vigil.hashsets import HashEntry
from vigil.hashsets.csv_generic import CsvFormat
from vigil.hashsets.hashdeep import HashdeepFormat
from vigil.hashsets.md5sum import Md5sumFormat
from vigil.reports.hash_lists import (
    hashdeep_line,
    md5sum_line,
    write_csv,
    write_hashdeep,
    write_md5sum,
)

D1, D2 = digests(1), digests(2)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
hex_of = {n: st.binary(min_size=n, max_size=n).map(bytes.hex) for n in (16, 20, 32)}
# base names as `reports.vics_export.base_name` makes them: no folder separator, no NUL
names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\0"),
    min_size=1,
    max_size=30,
)


def entry(d: dict[str, str], name: str | None = "a.jpg", **more: object) -> HashEntry:
    return HashEntry(md5=d["md5"], sha1=d["sha1"], sha256=d["sha256"], size=15, name=name, **more)  # type: ignore[arg-type]


def written(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_md5sum_lines_are_gnu_md5sums():
    assert md5sum_line(entry(D1)) == f"{D1['md5']}  a.jpg"
    assert md5sum_line(entry(D1, name="x y, z.jpg")) == f"{D1['md5']}  x y, z.jpg"
    # coreutils escapes a name holding a backslash, LF or CR and marks the line with `\`
    assert md5sum_line(entry(D1, name="a\\b\nc\rd")) == f"\\{D1['md5']}  a\\\\b\\nc\\rd"
    assert md5sum_line(entry(D1, name=None)) == D1["md5"]


def test_hashdeep_banner_and_rows_are_hashdeeps():
    out = io.StringIO()
    count = write_hashdeep([entry(D1), entry(D2, name="b, c.jpg")], out, ["made by a test"])
    assert count == 2
    assert out.getvalue() == (
        "%%%% HASHDEEP-1.0\n"
        "%%%% size,md5,sha256,filename\n"
        "## made by a test\n"
        "## \n"
        f"15,{D1['md5']},{D1['sha256']},a.jpg\n"
        f"15,{D2['md5']},{D2['sha256']},b, c.jpg\n"
    )


def test_hashdeep_names_it_cannot_read_are_escaped_or_replaced():
    """hashdeep reads a record up to LF (CR is stripped) and drops an empty last field."""
    assert hashdeep_line(entry(D1, name="a\nb\rc.jpg")).endswith(",a\\x0ab\\x0dc.jpg")
    assert hashdeep_line(entry(D1, name=None)).endswith(f",{D1['md5']}")
    with pytest.raises(ValueError, match="size"):
        hashdeep_line(HashEntry(md5=D1["md5"], sha256=D1["sha256"]))


def test_csv_header_and_labels():
    out = io.StringIO()
    entries = [
        entry(D1, category=1, pdq=D1["pdq"], pdq_quality=88),
        entry(D2, name='say "cheese", ok.jpg', category=3),
    ]
    assert write_csv(entries, out, UK) == 2
    lines = out.getvalue().split("\r\n")
    assert lines[0] == "md5,sha1,sha256,pdq,pdq_quality,category,category_label,size,name"
    assert lines[1] == (
        f"{D1['md5']},{D1['sha1']},{D1['sha256']},{D1['pdq']},88,1,Category A,15,a.jpg"
    )
    assert lines[2].endswith(',,,3,Category C,15,"say ""cheese"", ok.jpg"')


@st.composite
def entries(draw: st.DrawFn, *, pdq: bool) -> HashEntry:
    has_pdq = pdq and draw(st.booleans())
    return HashEntry(
        md5=draw(hex_of[16]),
        sha1=draw(hex_of[20]),
        sha256=draw(hex_of[32]),
        pdq=draw(hex_of[32]) if has_pdq else None,
        pdq_quality=draw(st.integers(0, 100)) if has_pdq else None,
        category=draw(st.none() | st.sampled_from(sorted(PROJECT_VIC.labels))) if pdq else None,
        size=draw(st.integers(0, 2**63 - 1)),
        name=draw(st.none() | names),
    )


@SETTINGS
@given(st.lists(entries(pdq=False), min_size=1, max_size=6))
def test_md5sum_round_trip(tmp_path, listed):
    out = io.StringIO()
    write_md5sum(listed, out)
    back = list(Md5sumFormat().read(written(tmp_path, "list.md5", out.getvalue())))
    assert back == [HashEntry(md5=e.md5, name=e.name) for e in listed]


@SETTINGS
@given(st.lists(entries(pdq=False), min_size=1, max_size=6))
def test_hashdeep_round_trip(tmp_path, listed):
    out = io.StringIO()
    write_hashdeep(listed, out, ["a comment"])
    back = list(HashdeepFormat().read(written(tmp_path, "list.txt", out.getvalue())))
    shown = [
        e.md5 if e.name is None else e.name.replace("\n", "\\x0a").replace("\r", "\\x0d")
        for e in listed
    ]
    assert back == [
        HashEntry(md5=e.md5, sha256=e.sha256, size=e.size, name=name)
        for e, name in zip(listed, shown, strict=True)
    ]


@SETTINGS
@given(st.lists(entries(pdq=True), min_size=1, max_size=6))
def test_csv_round_trip(tmp_path, listed):
    out = io.StringIO(newline="")
    write_csv(listed, out, PROJECT_VIC)
    back = list(CsvFormat().read(written(tmp_path, "list.csv", out.getvalue())))
    assert back == [_as_read(e) for e in listed]


def _as_read(e: HashEntry) -> HashEntry:
    """The CSV reader strips cells (spreadsheets pad them) and reads line by line, so a CR
    before a LF inside a quoted name is taken for the line end."""
    name = (e.name or "").replace("\r\n", "\n").strip() or None
    return HashEntry(
        md5=e.md5,
        sha1=e.sha1,
        sha256=e.sha256,
        pdq=e.pdq,
        pdq_quality=e.pdq_quality,
        category=e.category,
        size=e.size,
        name=name,
    )
