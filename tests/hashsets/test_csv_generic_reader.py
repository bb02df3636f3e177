"""Generic CSV with a header naming its columns."""

from __future__ import annotations

import pytest

from tests.hashsets.conftest import digests
from vigil.errors import HashSetFormatError
from vigil.hashsets import HashEntry
from vigil.hashsets.csv_generic import CsvFormat

READ = CsvFormat().read
D1, D2 = digests(1), digests(2)


def test_aliases_and_unknown_columns(write):
    text = (
        "File Name,Hash_MD5,SHA-1,sha256,PDQ,Quality,Category,Size,Notes\r\n"
        f'"a, b.jpg",{D1["md5"].upper()},{D1["sha1"]},{D1["sha256"]},{D1["pdq"]},90,0,15,x\r\n'
        f"c.jpg,{D2['md5']},,,,,,,\r\n"
    )
    assert list(READ(write("list.csv", text))) == [
        HashEntry(
            md5=D1["md5"],
            sha1=D1["sha1"],
            sha256=D1["sha256"],
            pdq=D1["pdq"],
            pdq_quality=90,
            category=0,
            name="a, b.jpg",
            size=15,
        ),
        HashEntry(md5=D2["md5"], name="c.jpg"),
    ]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters(write, delimiter):
    text = f"md5{delimiter}category\n{D1['md5']}{delimiter}2\n"
    assert list(READ(write("l.csv", text))) == [HashEntry(md5=D1["md5"], category=2)]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (f"{D2['md5']}1,x", "bad MD5"),
        (f"{D2['md5']},minus", "category"),
        (",3", "no hash"),
    ],
)
def test_malformed_row_is_named(write, row, reason):
    with pytest.raises(HashSetFormatError, match=reason) as info:
        list(READ(write("l.csv", f"md5,category\n{D1['md5']},1\n{row}\n")))
    assert info.value.line == 3


def test_header_must_name_a_hash(write):
    with pytest.raises(HashSetFormatError, match="no hash column") as info:
        list(READ(write("l.csv", f"name,size\na,{D1['md5']}\n")))
    assert info.value.line == 1
