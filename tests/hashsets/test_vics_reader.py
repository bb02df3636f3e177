"""VICS JSON reader: 1.1–1.3 and 2.0, `#Media` and `#Cases`, the quirks of real writers,
malformed files, and flat memory on a large generated file."""

from __future__ import annotations

import json
import random
import tracemalloc

import pytest

from tests.hashsets.conftest import digests
from vigil.errors import HashSetFormatError
from vigil.hashsets import FORMATS, HashEntry, write_vics
from vigil.hashsets.vics import VicsFormat

V2 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{region}/$metadata#{shape}"
V1 = "http://github.com/ICMEC/ProjectVic/DataModels/{version}.xml#{shape}"
D1, D2, D3 = digests(1), digests(2), digests(3)
READ = VicsFormat().read


def doc(media: list, *, version: str = "2.0", shape: str = "Media", region: str = "Default"):
    if version == "2.0":
        head = {"@odata.context": V2.format(region=region, shape=shape)}
    else:
        head = {"odata.metadata": V1.format(version=version, shape=shape)}
    if shape == "Cases":
        return head | {"value": [{"CaseID": "{0000-TEST}", "CaseNumber": "T-1", "Media": media}]}
    return head | {"value": media}


def test_registered_under_its_persisted_name():
    assert FORMATS.get("vics").name == "vics"


def test_v2_hash_set_quirks(write):
    media = [
        {
            "MediaID": 1,
            "Category": 0,
            "MD5": D1["md5"].upper(),
            "SHA1": D1["sha1"].upper(),
            "MediaSize": 15,
            "DateUpdated": "2024-01-02T03:04:05.0000Z",
            "IsPrecategorized": "false",
            "PhotoDNA": "A" * 192,
        },
        {
            "MediaID": 2,
            "Category": 4,
            "MD5": D2["md5"].upper(),
            "MediaSize": "15",
            "Series": "TestSeriesA",
            "VictimIdentified": "True",
            "IsDistributed": True,
            "OffenderIdentified": "|false|",
            "Exifs": [{"MD5": D2["md5"], "PropertyName": "Software", "PropertyValue": "x"}],
        },
        {"MediaID": 3, "Category": None, "MD5": D3["md5"]},
        {"MediaID": 4, "MD5": digests(4)["md5"]},
    ]
    path = write("set.json", json.dumps(doc(media)))
    got = list(READ(path))
    assert got[0] == HashEntry(
        md5=D1["md5"],
        sha1=D1["sha1"],
        category=0,
        size=15,
        extra=(("date_updated", "2024-01-02T03:04:05.0000Z"), ("is_precategorized", "false")),
    )
    assert got[1].category == 4 and got[1].size == 15 and got[1].sha1 is None
    assert got[1].extras() == {
        "series": "TestSeriesA",
        "victim_identified": "true",
        "is_distributed": "true",
        "offender_identified": "false",
    }
    assert got[2].category is None and got[3].category is None  # null and absent: uncategorised


def test_v2_case_export_with_media_files(write):
    media = [
        {
            "MediaID": 1,
            "Category": 1,
            "MD5": D1["md5"].upper(),
            "MediaSize": 15,
            "MediaFiles": [
                {"MD5": D1["md5"], "FileName": "cat.jpg", "FilePath": "EXH-1\\Users\\t\\cat.jpg"},
                {"MD5": D1["md5"], "FileName": "copy.jpg", "FilePath": "EXH-1\\copy.jpg"},
            ],
            "MediaMetadata": [{"PropertyName": "DeviceType", "PropertyValue": "Phone"}],
        },
        {"MediaID": 2, "Category": 2, "MD5": D2["md5"]},
    ]
    path = write("case.json", json.dumps(doc(media, shape="Cases", region="US")))
    got = list(READ(path))
    assert [e.md5 for e in got] == [D1["md5"], D2["md5"]]
    assert got[0].name == "cat.jpg"
    assert got[0].extras() == {"path": "EXH-1\\Users\\t\\cat.jpg"}
    assert [e.category for e in got] == [1, 2]


@pytest.mark.parametrize("version", ["1.1", "1.2", "1.3"])
@pytest.mark.parametrize("shape", ["Media", "Cases"])
def test_v1_files(write, version, shape):
    media = [
        {
            "odata.id": f'Media("{D1["md5"].upper()}")',
            "MediaID": 1,
            "MD5": D1["md5"].upper(),
            "Name": "a.jpg",
            "MediaSize": "15",
            "Category": 3,
            "AlternativeHashes": [
                {"MD5": D1["md5"], "HashName": "SHA1", "HashValue": D1["sha1"].upper()},
                {"MD5": D1["md5"], "HashName": "PhotoDNA", "HashValue": "AAAA=="},
            ],
        },
        {"MediaID": 2, "MD5": D2["md5"], "MediaFiles": [{"MD5": D2["md5"], "FileName": "b.jpg"}]},
        {"MediaID": 3, "md5": D3["md5"], "victimidentified": "true"},  # key case varies
    ]
    path = write("v1.json", json.dumps(doc(media, version=version, shape=shape)))
    got = list(READ(path))
    assert got[0] == HashEntry(md5=D1["md5"], sha1=D1["sha1"], category=3, name="a.jpg", size=15)
    assert got[1].name == "b.jpg" and got[1].category is None
    assert got[2].extras() == {"victim_identified": "true"}


def test_sha256_and_pdq_through_alternative_hashes(write):
    media = [
        {
            "MD5": D1["md5"],
            "AlternativeHashes": [
                {"HashName": "SHA256", "HashValue": D1["sha256"].upper()},
                {"HashName": "PDQ", "HashValue": D1["pdq"]},
            ],
        },
        {"MD5": D2["md5"], "PDQ": D2["pdq"].upper()},
    ]
    got = list(READ(write("alt.json", json.dumps(doc(media)))))
    assert (got[0].sha256, got[0].pdq) == (D1["sha256"], D1["pdq"])
    assert got[1].pdq == D2["pdq"]


def test_bom_utf16_and_late_metadata(write):
    body = json.dumps(doc([{"MD5": D1["md5"], "Series": "Série"}]), ensure_ascii=False)
    (bom,) = READ(write("bom.json", b"\xef\xbb\xbf" + body.encode()))
    assert bom.md5 == D1["md5"]
    (utf16,) = READ(write("u16.json", b"\xff\xfe" + body.encode("utf-16-le")))
    assert utf16.extras() == {"series": "Série"}
    # metadata member after `value`: the case is known from its `Media` array
    late = {"value": [{"CaseID": "x", "Media": [{"MD5": D2["md5"]}]}], "odata.metadata": "?"}
    assert [e.md5 for e in READ(write("late.json", json.dumps(late)))] == [D2["md5"]]


@pytest.mark.parametrize("media_key", ["Media", "media", "MEDIA"])
def test_structure_wins_over_the_context(write, media_key):
    """A case under a `#Media` context (RECON's 2.0 export) and Media records under a `#Cases`
    context both read by what `value[0]` holds; the key's own spelling finds the records."""
    case = {"Agency": "Test Agency", "Case No.": "T-1", media_key: [{"MD5": D1["md5"]}]}
    as_media = {"@odata.context": V2.format(region="Default", shape="Media"), "value": [case]}
    assert [e.md5 for e in READ(write("c.json", json.dumps(as_media)))] == [D1["md5"]]
    items = [{"MD5": D1["md5"]}, {"MD5": D2["md5"], "MediaFiles": []}]
    as_cases = {"odata.metadata": V1.format(version="1.3", shape="Cases"), "value": items}
    assert [e.md5 for e in READ(write("m.json", json.dumps(as_cases)))] == [D1["md5"], D2["md5"]]
    not_a_case = [{"MD5": D3["md5"], "Media": "x"}]  # `Media` that is no array: a Media record
    assert [e.md5 for e in READ(write("n.json", json.dumps(doc(not_a_case))))] == [D3["md5"]]


def test_empty_file_path_is_no_path(write):
    """Vigil writes `FilePath: ""` (no folder shared): read back, it is no `path` extra."""
    media = [
        {"MD5": D1["md5"], "MediaFiles": [{"MD5": D1["md5"], "FileName": "a.jpg", "FilePath": ""}]}
    ]
    (entry,) = READ(write("e.json", json.dumps(doc(media))))
    assert entry.name == "a.jpg" and entry.extras() == {}


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        (V1.format(version="1.1", shape="Cases"), "projectvic"),
        (V1.format(version="1.2", shape="Media"), "projectvic"),
        (V1.format(version="1.3", shape="Media"), "projectvic"),
        (V2.format(region="Default", shape="Media"), "projectvic"),
        (V2.format(region="US", shape="Cases"), "projectvic"),
        (V2.format(region="UK", shape="Cases"), "uk"),
        (V2.format(region="uk", shape="Media"), "uk"),
        (V2.format(region="CUSTOM", shape="Media"), "vics-region:CUSTOM"),
        (V2.format(region="Canada", shape="Media"), "vics-region:Canada"),
    ],
)
def test_category_scheme_from_the_context(write, url, scheme):
    key = "@odata.context" if "/2.0.xml/" in url else "odata.metadata"
    path = write("s.json", json.dumps({key: url, "value": [{"MD5": D1["md5"], "Category": 1}]}))
    assert VicsFormat().category_scheme(path) == scheme
    assert [e.category for e in READ(path)] == [1]  # the code stays as the list writes it


def test_category_scheme_of_utf16_and_unnamed_files(write):
    body = json.dumps(doc([{"MD5": D1["md5"]}], region="UK"))
    assert (
        VicsFormat().category_scheme(write("u.json", b"\xff\xfe" + body.encode("utf-16-le")))
        == "uk"
    )
    late = json.dumps({"value": [{"MD5": D1["md5"]}]})
    assert VicsFormat().category_scheme(write("n.json", late)) is None
    with pytest.raises(HashSetFormatError, match="cannot read"):
        VicsFormat().category_scheme(write("x.json", "{}").with_name("missing.json"))


def test_photodna_only_record_is_skipped(write):
    media = [{"MediaID": 1, "PhotoDNA": "A" * 192}, {"MediaID": 2, "MD5": D1["md5"]}]
    assert [e.md5 for e in READ(write("p.json", json.dumps(doc(media))))] == [D1["md5"]]


@pytest.mark.parametrize(
    ("media", "record", "reason"),
    [
        ([{"MD5": D1["md5"]}, {"MD5": D2["md5"]}, {"MD5": "XYZ"}], 3, "bad MD5"),
        ([{"MD5": D1["md5"]}, {"MD5": D2["md5"][:-1]}], 2, "bad MD5"),
        ([{"MD5": D1["md5"], "SHA1": D1["md5"]}], 1, "bad SHA1"),
        ([{"MD5": D1["md5"]}, {"Category": 1}], 2, "no MD5"),
        ([{"MD5": D1["md5"]}, 17], 2, "not an object"),
        ([{"MD5": D1["md5"], "Category": "one"}], 1, "Category"),
        ([{"MD5": D1["md5"], "Category": -1}], 1, "Category"),
        ([{"MD5": D1["md5"], "MediaSize": True}], 1, "MediaSize"),
        ([{"MD5": 123}], 1, "not a string"),
    ],
)
def test_malformed_records_name_the_record(write, media, record, reason):
    path = write("bad.json", json.dumps(doc(media)))
    with pytest.raises(HashSetFormatError, match=reason) as info:
        list(READ(path))
    assert info.value.record == record


def test_truncated_json_names_the_next_record(write):
    text = json.dumps(doc([{"MD5": D1["md5"]}, {"MD5": D2["md5"]}, {"MD5": D3["md5"]}]))
    path = write("cut.json", text[: text.index(D3["md5"]) + 5])
    entries = []
    with pytest.raises(HashSetFormatError, match="invalid JSON") as info:
        entries.extend(READ(path))
    assert info.value.record == 3 and len(entries) == 2


@pytest.mark.parametrize(
    "content",
    [b"", b"{}", b'{"odata.metadata": "x#Media", "value": []}', b"not json at all", b"\xff\xfe"],
)
def test_empty_or_junk_files_fail(write, content):
    with pytest.raises(HashSetFormatError):
        list(READ(write("j.json", content)))


def test_memory_stays_flat_on_a_large_file(tmp_path):
    """~20 MB of VICS: the reader's Python heap peak stays far below the file size."""
    rnd = random.Random(7)
    note = "benign synthetic comment " * 40  # ~1 KB a record keeps the record count modest

    def entries():
        for i in range(17_000):
            yield HashEntry(
                md5=rnd.randbytes(16).hex(),
                sha1=rnd.randbytes(20).hex(),
                category=i % 5,
                size=i,
                name=f"file-{i}.jpg",
                extra=(("comments", note), ("series", f"S{i % 50}")),
            )

    path = tmp_path / "big.json"
    with open(path, "wb") as out:
        written = write_vics(entries(), out)
    size = path.stat().st_size
    assert size > 18_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in READ(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == written
    assert peak < 5_000_000, f"peak {peak} bytes for a {size} byte file"


def test_memory_stays_flat_on_a_large_case_under_a_media_context(tmp_path):
    """RECON's shape, ~10 MB: one case object under `#Media`, case keys before `Media`. The
    structure is found from parse events, so the case object is never built whole."""
    rnd = random.Random(8)
    note = "benign synthetic comment " * 40
    entries = (
        HashEntry(md5=rnd.randbytes(16).hex(), category=1, extra=(("comments", note),))
        for _ in range(9_000)
    )
    path = tmp_path / "case.json"
    with open(path, "wb") as out:
        written = write_vics(entries, out, case_info={"Agency": "Test Agency", "Case No.": "T"})
    data = path.read_bytes()
    path.write_bytes(data.replace(b"#Cases", b"#Media", 1))
    tracemalloc.start()
    try:
        count = sum(1 for _ in READ(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == written
    assert peak < 5_000_000, f"peak {peak} bytes for a {len(data)} byte file"
