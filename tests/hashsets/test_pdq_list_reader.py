"""PDQ hash lists, including the reference lists in ../shared/vectors."""

from __future__ import annotations

import pytest

from tests.hashsets.conftest import digests
from vigil.errors import HashSetFormatError
from vigil.hashsets import HashEntry
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
