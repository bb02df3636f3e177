"""HashKeeper `.hsh` CSV."""

from __future__ import annotations

import pytest

from tests.hashsets.conftest import digests
from vigil.errors import HashSetFormatError
from vigil.hashsets.hashkeeper import HashKeeperFormat

READ = HashKeeperFormat().read
HEADER = (
    '"file_id","hashset_id","file_name","directory","hash","file_size","date_modified",'
    '"time_modified","time_zone","comments","date_accessed","time_accessed"'
)
D1, D2 = digests(1), digests(2)


def test_reads_rows(write):
    text = (
        HEADER + "\r\n"
        f'1,10,"benign-1.jpg","C:\\samples","{D1["md5"].upper()}",15,01/02/2024,10:00:00,"UTC","test",01/02/2024,10:00:00\r\n'
        f'2,10,"r\xe9sum\xe9.doc",,"{D2["md5"]}",,,,,,,\r\n'
    )
    first, second = READ(write("set.hsh", text, encoding="latin-1"))
    assert (first.md5, first.name, first.size) == (D1["md5"], "benign-1.jpg", 15)
    assert first.extras() == {"directory": "C:\\samples", "hashset_id": "10", "comments": "test"}
    assert (second.md5, second.name, second.size) == (D2["md5"], "résumé.doc", None)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ('2,10,"b.jpg","","XYZ",1,,,,,,', "bad MD5"),
        ('2,10,"b.jpg","","",1,,,,,,', "no hash"),
        (f'2,10,"b.jpg","","{D2["md5"]}",lots,,,,,,', "file_size"),
        (f'2,10,"b.jpg","","{D2["md5"]}",1,"unterminated', "CSV"),
    ],
)
def test_malformed_row_is_named(write, row, reason):
    good = f'1,10,"a.jpg","","{D1["md5"]}",1,,,,,,'
    with pytest.raises(HashSetFormatError, match=reason) as info:
        list(READ(write("b.hsh", f"{HEADER}\n{good}\n{row}\n")))
    assert info.value.line == 3


def test_header_required(write):
    with pytest.raises(HashSetFormatError, match="header") as info:
        list(READ(write("b.hsh", f'1,10,"a.jpg","","{D1["md5"]}",1\n')))
    assert info.value.line == 1
    with pytest.raises(HashSetFormatError, match="no hash entries"):
        list(READ(write("h.hsh", HEADER + "\n")))
