"""Interpol ICSE semicolon CSV export."""

from __future__ import annotations

import pytest

from tests.hashsets.conftest import digests
from vigil.errors import HashSetFormatError
from vigil.hashsets.icse import IcseFormat

READ = IcseFormat().read
HEADER = (
    "MD5;SHA1;ZZ40;PhotoDNA;Lace;Image ID;Is distributed;Victim identified;Offender identified;"
    "Series name;Investigation name;Agency;Number of submissions;File Available;Media Type;Baseline"
)
D1, D2 = digests(1), digests(2)


def test_reads_rows_and_normalises_flags(write):
    text = (
        "\ufeff" + HEADER + "\r\n"
        f"{D1['md5']};{D1['sha1']};;;;IMG-TEST-1;N;N;N;TEST_SERIES;TEST;LAB;1;False;Image;No\r\n"
        f"{D2['md5'].upper()};;{'AB' * 16};{'CD' * 144};QUJD;"
        "IMG-TEST-2;Y;yes;n;;;;3;True;Video;Yes\r\n"
        f";;;{'CD' * 144};;IMG-TEST-3;N;N;N;;;;1;False;Image;No\r\n"  # PhotoDNA only: skipped
    )
    first, second = READ(write("icse.csv", text))
    assert (first.md5, first.sha1, first.category) == (D1["md5"], D1["sha1"], None)
    assert first.extras() == {
        "image_id": "IMG-TEST-1",
        "is_distributed": "false",
        "victim_identified": "false",
        "offender_identified": "false",
        "series": "TEST_SERIES",
        "investigation": "TEST",
        "agency": "LAB",
        "submissions": "1",
        "file_available": "false",
        "media_type": "Image",
        "baseline": "false",
    }
    assert second.md5 == D2["md5"] and second.sha1 is None
    assert second.extras()["baseline"] == "true" and second.extras()["victim_identified"] == "true"


def test_columns_found_by_name_in_any_order(write):
    text = f"Image ID;Baseline;SHA1;MD5\nX1;Yes;{D1['sha1']};{D1['md5']}\n"
    (entry,) = READ(write("icse.csv", text))
    assert entry.md5 == D1["md5"] and entry.extras() == {"image_id": "X1", "baseline": "true"}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (f"{D2['md5']}x;;;;;I;N;N;N;;;;1;False;Image;No", "bad MD5"),
        (f";{D2['md5']};;;;I;N;N;N;;;;1;False;Image;No", "bad SHA1"),
        (";;;;;I;N;N;N;;;;1;False;Image;No", "no MD5 or SHA1"),
    ],
)
def test_malformed_row_is_named(write, row, reason):
    good = f"{D1['md5']};;;;;I;N;N;N;;;;1;False;Image;No"
    with pytest.raises(HashSetFormatError, match=reason) as info:
        list(READ(write("icse.csv", f"{HEADER}\n{good}\n\n{row}\n")))
    assert info.value.line == 4


def test_non_utf8_and_headerless(write):
    bad = (HEADER + "\n").encode() + f"{D1['md5']};;;;;caf\xe9\n".encode("latin-1")
    with pytest.raises(HashSetFormatError, match="UTF-8") as info:
        list(READ(write("icse.csv", bad)))
    assert info.value.line == 2
    with pytest.raises(HashSetFormatError, match="header"):
        list(READ(write("icse2.csv", f"{D1['md5']};x\n")))
