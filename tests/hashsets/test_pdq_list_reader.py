"""PDQ hash lists, including the reference lists in ../shared/vectors."""

from __future__ import annotations

import csv
import io

import pytest

from tests.hashsets.conftest import digests
from vigil.errors import HashSetFormatError
from vigil.hashsets import HashEntry, sniff_format
from vigil.hashsets.pdq_list import PdqListFormat

READ = PdqListFormat().read
P1, P2, P3 = digests(1)["pdq"], digests(2)["pdq"], digests(3)["pdq"]


def test_all_line_forms(write):
    text = (
        "# comment\n"
        f"{P1}\n"
        f"{P2.upper()},87\r\n"
        f"{P3} 50\n"
        f"{P1}\t100\n"
        f"{P2},100,benign-1, with comma.jpg\n"
        f"hash={P3},norm=128,delta=0,quality=99,filename=dir/a,b.jpg\n"
        f"pdq {P1}\n"
        "\n"
    )
    assert list(READ(write("hashes.pdq", text))) == [
        HashEntry(pdq=P1),
        HashEntry(pdq=P2, pdq_quality=87),
        HashEntry(pdq=P3, pdq_quality=50),
        HashEntry(pdq=P1, pdq_quality=100),
        HashEntry(pdq=P2, pdq_quality=100, name="benign-1, with comma.jpg"),
        HashEntry(pdq=P3, pdq_quality=99, name="dir/a,b.jpg"),
        HashEntry(pdq=P1),
    ]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (P1[:-1], "need 64 hex digits"),
        ("98893570108d24f8", "need 64 hex digits"),  # a 64-bit hash (the vectors' *64.dat)
        (f"{P1},101", "out of range"),
        (f"{P1},high", "whole number"),
        (f"video_md5 {digests(1)['md5']}", "not PDQ"),
        ("hash=,quality=1", "need 64 hex digits"),
        ("quality=1,filename=x", "need 64 hex digits"),
    ],
)
def test_malformed_line_is_named(write, bad, reason):
    with pytest.raises(HashSetFormatError, match=reason) as info:
        list(READ(write("h.pdq", f"{P1}\n# c\n{bad}\n{P2}\n")))
    assert info.value.line == 3


@pytest.mark.parametrize(
    ("name", "count"),
    [("needles.txt", 100), ("haystack.txt", 1350), ("long256.dat", 50), ("short256.dat", 6)],
)
def test_reference_lists_parse(vectors, name, count):
    path = vectors / "pdq" / "pdq" / "data" / "reg-test-input" / name
    entries = list(READ(path))
    assert len(entries) == count
    first = path.read_text().split()[0]
    assert entries[0] == HashEntry(pdq=first)


def test_reference_order_list(vectors):
    path = vectors / "pdq" / "pdq" / "data" / "reg-test-input" / "order256.dat"
    assert [e.pdq for e in READ(path)] == path.read_text().split()


def test_reference_64_bit_lists_are_rejected(vectors):
    with pytest.raises(HashSetFormatError) as info:
        list(READ(vectors / "pdq" / "pdq" / "data" / "reg-test-input" / "short64.dat"))
    assert info.value.line == 1


def test_photo_hasher_details_output(vectors):
    """pdq-photo-hasher -d output (hash=…,norm=…,delta=…,quality=…,filename=…)."""
    path = vectors / "pdq" / "expected" / "cpp_pdq-photo-hasher_HEAD_local_run.txt"
    entries = list(READ(path))
    assert entries and all(e.pdq and e.pdq_quality is not None and e.name for e in entries)
    assert entries[0].name.endswith("bridge-1-original.jpg")


# --- lists whose first line names the columns ------------------------------------------------


def te_dataset_csv(fieldnames, rows):
    """What `threatexchange dataset -P --csv` prints (facebook/ThreatExchange,
    python-threatexchange/threatexchange/cli/dataset_cmd.py): csv.DictWriter with the excel
    dialect (CRLF), header from `writeheader()`, category as the opinion's enum name, tags
    joined by spaces. Current releases order the columns signal_type, signal_str, collab,
    category, tags; older ones began with collab."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames)
    writer.writeheader()
    for signal_type, signal in rows:
        writer.writerow(
            {
                "signal_type": signal_type,
                "signal_str": signal,
                "collab": "Invented Collab, Test",
                "category": "POSITIVE_CLASS",
                "tags": "tag_a tag_b",
            }
        )
    return out.getvalue()


TE_NOW = ["signal_type", "signal_str", "collab", "category", "tags"]
TE_OLD = ["collab", "signal_type", "signal_str", "category", "tags"]


@pytest.mark.parametrize("fieldnames", [TE_NOW, TE_OLD])
def test_threatexchange_dataset_csv(write, fieldnames):
    path = write("collab.csv", te_dataset_csv(fieldnames, [("pdq", P1), ("pdq", P2.upper())]))
    assert sniff_format(path).name == "pdq"
    extra = (
        ("collab", "Invented Collab, Test"),
        ("tags", "tag_a tag_b"),
        ("te_category", "POSITIVE_CLASS"),
    )
    assert list(READ(path)) == [HashEntry(pdq=P1, extra=extra), HashEntry(pdq=P2, extra=extra)]


def test_threatexchange_dataset_csv_with_other_signal_types_is_refused(write):
    rows = [("pdq", P1), ("video_md5", digests(1)["md5"])]
    path = write("collab.csv", te_dataset_csv(TE_NOW, rows))
    with pytest.raises(HashSetFormatError, match="'video_md5' is not PDQ") as info:
        list(READ(path))
    assert info.value.line == 3


@pytest.mark.parametrize(
    ("header", "row", "entry"),
    [
        ("pdq,quality", f"{P1},87", HashEntry(pdq=P1, pdq_quality=87)),
        ("PDQ,Quality", f"{P1},87", HashEntry(pdq=P1, pdq_quality=87)),
        ("quality,hash", f"87,{P1}", HashEntry(pdq=P1, pdq_quality=87)),
        ("pdq\tquality", f"{P1}\t87", HashEntry(pdq=P1, pdq_quality=87)),
        ("signal", P1, HashEntry(pdq=P1)),
        ("pdq", P1, HashEntry(pdq=P1)),
        # pdq-photo-hasher's row shape (hash,quality,filename; the name unquoted) under a header
        (
            "hash,quality,filename",
            f"{P1},100,dir/a, b.jpg",
            HashEntry(pdq=P1, pdq_quality=100, name="dir/a, b.jpg"),
        ),
        ('"hash","quality","file name"', f'{P1},,"x.jpg"', HashEntry(pdq=P1, name="x.jpg")),
    ],
)
def test_header_line_names_the_columns(write, header, row, entry):
    """`--format pdq` used to stop at line 1 ("bad PDQ 'pdq'")."""
    assert list(READ(write("list.txt", f"# exported\n{header}\r\n{row}\r\n\n{row}\n"))) == [
        entry,
        entry,
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [(P1[:-1], "need 64 hex digits"), (f"{P1},101", "out of range"), (",50", "need 64 hex")],
)
def test_bad_row_after_a_header_is_named(write, row, reason):
    with pytest.raises(HashSetFormatError, match=reason) as info:
        list(READ(write("list.txt", f"pdq,quality\n{P2},50\n{row}\n{P3}\n")))
    assert info.value.line == 3


@pytest.mark.parametrize(
    "header", ["pdq,quality,category", "md5,pdq", "hash,sha256", "pdq,size", "pdq,hash"]
)
def test_headers_a_pdq_list_cannot_honour(write, header):
    """Categories (codes) and MD5/SHA columns belong to the generic CSV reader."""
    with pytest.raises(HashSetFormatError) as info:
        list(READ(write("list.txt", f"{header}\n{P1},1\n")))
    assert info.value.line == 1


def test_header_only_has_no_entries(write):
    with pytest.raises(HashSetFormatError, match="no hash entries"):
        list(READ(write("list.txt", "pdq,quality\n")))
