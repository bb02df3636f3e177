"""VICS writer: valid JSON of the requested version and shape, streamed, losslessly re-imported
by Vigil's own reader, never carrying a folder, and refusing versions and regions that readers
would misread."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hashsets.conftest import digests
from vigil.errors import ConfigError
from vigil.hashsets import HashEntry, write_vics
from vigil.hashsets.vics import VicsFormat

STANDARD_TEXT = [
    "series",
    "tags",
    "comments",
    "mime_type",
    "date_updated",
    "precategorization_source",
]
FLAGS = [
    "victim_identified",
    "offender_identified",
    "is_distributed",
    "is_suspected",
    "is_precategorized",
]
V2_ONLY = {"date_updated", "precategorization_source"}

text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
hex_of = {n: st.binary(min_size=n, max_size=n).map(bytes.hex) for n in (16, 20, 32)}
extras = st.builds(
    lambda texts, flags: texts | flags,
    st.dictionaries(
        st.sampled_from(STANDARD_TEXT) | st.from_regex(r"x_[a-z_]{1,10}", fullmatch=True),
        text,
        max_size=4,
    ),
    st.dictionaries(st.sampled_from(FLAGS), st.sampled_from(["true", "false"]), max_size=4),
)


@st.composite
def entries(draw):
    pdq = draw(st.none() | hex_of[32])
    extra = draw(extras)
    return HashEntry(
        md5=draw(hex_of[16]),
        sha1=draw(st.none() | hex_of[20]),
        sha256=draw(st.none() | hex_of[32]),
        pdq=pdq,
        pdq_quality=draw(st.none() | st.integers(0, 100)) if pdq else None,
        category=draw(st.none() | st.integers(0, 9)),
        name=draw(st.none() | text),
        size=draw(st.none() | st.integers(0, 2**63)),
        extra=tuple(sorted(extra.items())),
    )


def roundtrip(tmp_path, items, **kw):
    path = tmp_path / "out.json"
    with open(path, "wb") as out:
        count = write_vics(items, out, **kw)
    json.loads(path.read_text("utf-8"))  # valid JSON as a whole
    got = list(VicsFormat().read(path))
    assert count == len(got)
    return path, got


@settings(max_examples=60, deadline=None)
@given(st.lists(entries(), min_size=1, max_size=8), st.booleans())
def test_v2_roundtrip_is_lossless(tmp_path_factory, items, as_case):
    tmp = tmp_path_factory.mktemp("rt")
    case = {"CaseID": "00000000-0000-4000-8000-000000000001", "CaseNumber": "T-1"}
    _, got = roundtrip(tmp, items, case_info=case if as_case else None)
    assert got == items


def test_v1_3_keeps_what_the_version_carries(tmp_path):
    d = digests(1)
    extra = {
        "series": "S",
        "victim_identified": "true",
        "is_precategorized": "true",
        "date_updated": "2024",
        "x_k": "v",
    }
    entry = HashEntry(
        md5=d["md5"],
        sha1=d["sha1"],
        sha256=d["sha256"],
        pdq=d["pdq"],
        pdq_quality=90,
        category=0,
        name="n.jpg",
        size=15,
        extra=tuple(sorted(extra.items())),
    )
    path, (got,) = roundtrip(tmp_path, [entry], version="1.3")
    doc = json.loads(path.read_text())
    assert doc["odata.metadata"].endswith("/1.3.xml#Media")
    (media,) = doc["value"]
    assert media["MediaSize"] == "15"  # 1.x writers use strings
    assert media["IsPrecategorized"] == "true"
    assert (got.md5, got.sha1, got.sha256, got.pdq) == (d["md5"], d["sha1"], d["sha256"], d["pdq"])
    assert (got.category, got.name, got.size, got.pdq_quality) == (0, "n.jpg", 15, None)
    assert got.extras() == {"series": "S", "victim_identified": "true", "is_precategorized": "true"}


def test_no_folder_is_ever_written(tmp_path):
    """Every MediaFiles item has a `FilePath`, always empty: a `path` extra (a partner's folder)
    is not written, and the file reads back with no path."""
    d = digests(1)
    entry = HashEntry(md5=d["md5"], name="a.jpg", extra=(("path", "EXH-1\\Users\\t"),))
    for version in ("1.3", "2.0"):
        path, (got,) = roundtrip(tmp_path, [entry], version=version)
        (media,) = json.loads(path.read_text())["value"]
        assert media["MediaFiles"] == [
            {"MD5": d["md5"].upper(), "FileName": "a.jpg", "FilePath": ""}
        ]
        assert "Users" not in path.read_text() and got.extras() == {}
    path, (got,) = roundtrip(tmp_path, [HashEntry(md5=d["md5"])])
    assert "MediaFiles" not in path.read_text() and got.name is None


def test_shapes_and_encodings():
    d = digests(2)
    out = io.BytesIO()
    entries_ = [HashEntry(md5=d["md5"], sha1=d["sha1"], category=None, size=3, name="a")]
    n = write_vics(
        entries_, out, case_info={"CaseID": "c", "ContactName": "Examiner A"}, region="US"
    )
    doc = json.loads(out.getvalue())
    assert n == 1
    assert doc["@odata.context"].endswith("/2.0.xml/US/$metadata#Cases")
    (case,) = doc["value"]
    assert case["CaseID"] == "c" and case["ContactName"] == "Examiner A"
    (media,) = case["Media"]
    assert media["MD5"] == d["md5"].upper() and media["SHA1"] == d["sha1"].upper()
    assert "Category" not in media  # absent = uncategorised
    assert media["MediaSize"] == 3 and media["MediaFiles"] == [
        {"MD5": d["md5"].upper(), "FileName": "a", "FilePath": ""}
    ]


def test_empty_export_is_valid_json():
    out = io.BytesIO()
    assert write_vics([], out, case_info={}) == 0
    assert json.loads(out.getvalue())["value"] == [{"Media": []}]


def test_writer_streams():
    """Entries are written as they come: a consumer sees output before the input ends."""
    out = io.BytesIO()
    seen = []

    def feed():
        for i in range(3):
            seen.append(len(out.getvalue()))
            yield HashEntry(md5=digests(i)["md5"])

    write_vics(feed(), out)
    assert seen[0] < seen[1] < seen[2]


@pytest.mark.parametrize(
    ("version", "region", "reason"),
    [
        ("3.0", "Default", "unknown VICS version '3.0'"),
        ("1.2", "Default", "NIST's CAID set of known, ignorable files"),
        ("1.1", "Default", "no reader checked takes a 1.1"),
        ("1.3", "UK", "region UK is written as VICS 2.0 only"),
    ],
)
def test_versions_and_regions_readers_would_misread(version, region, reason):
    out = io.BytesIO()
    with pytest.raises(ConfigError, match=reason):
        write_vics(
            [HashEntry(md5=digests(1)["md5"], category=1)], out, version=version, region=region
        )
    assert out.getvalue() == b""


def test_missing_md5():
    with pytest.raises(ValueError, match="MD5"):
        write_vics([HashEntry(sha256=digests(1)["sha256"])], io.BytesIO())
