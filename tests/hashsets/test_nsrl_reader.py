"""NSRL RDS v3 SQLite (minimal and full schemas) and RDS 2.x NSRLFile.txt."""

from __future__ import annotations

import sqlite3

import pytest

from tests.hashsets.conftest import digests
from vigil.errors import HashSetFormatError
from vigil.hashsets import sniff_format
from vigil.hashsets.nsrl import NsrlFormat

READ = NsrlFormat().read
D1, D2 = digests(1), digests(2)


def minimal_db(path, rows):
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL,"
            " md5 VARCHAR NOT NULL, crc32 VARCHAR NOT NULL, file_name VARCHAR NOT NULL,"
            " file_size INTEGER NOT NULL,"
            " package_id INTEGER NOT NULL)"
        )
        conn.executemany("INSERT INTO FILE VALUES (?,?,?,?,?,?,?)", rows)
        conn.execute("CREATE TABLE PKG (package_id INTEGER, name VARCHAR)")
        conn.execute(
            "CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5, crc32 FROM FILE"
        )
    conn.close()
    return path


def row(d, name="readme.txt", size=15, pkg=123456):
    return (d["sha256"].upper(), d["sha1"].upper(), d["md5"].upper(), "BD3A72E6", name, size, pkg)


def test_minimal_db(tmp_path):
    path = minimal_db(
        tmp_path / "RDS_2024.03.1_modern_minimal.db", [row(D1), row(D2, "b.dll", 7, 9)]
    )
    assert sniff_format(path).name == "nsrl"
    first, second = READ(path)
    assert (first.md5, first.sha1, first.sha256) == (D1["md5"], D1["sha1"], D1["sha256"])
    assert (first.name, first.size) == ("readme.txt", 15)
    assert first.extras() == {"crc32": "bd3a72e6", "package_id": "123456"}
    assert (second.name, second.size, second.extras()["package_id"]) == ("b.dll", 7, "9")


def test_full_db_view_without_crc(tmp_path):
    path = tmp_path / "RDS_2022.03.1_modern.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE METADATA (object_id INTEGER, file_name VARCHAR, extension VARCHAR,"
            " bytes INTEGER, crc32 VARCHAR, md5 VARCHAR, sha1 VARCHAR, sha256 VARCHAR)"
        )
        conn.execute("CREATE TABLE PACKAGE_OBJECT (package_id INTEGER, object_id INTEGER)")
        conn.execute(
            "INSERT INTO METADATA VALUES (1,'readme','txt',15,'bd3a72e6',?,?,?)",
            (D1["md5"], D1["sha1"], D1["sha256"]),
        )
        conn.execute("INSERT INTO PACKAGE_OBJECT VALUES (42, 1)")
        conn.execute(
            "CREATE VIEW FILE AS SELECT upper(sha256) AS sha256, upper(sha1) AS sha1,"
            " upper(md5) AS md5, file_name || '.' || extension AS file_name, bytes AS file_size,"
            " package_id FROM METADATA JOIN PACKAGE_OBJECT USING (object_id)"
        )
    conn.close()
    assert sniff_format(path).name == "nsrl"
    (entry,) = READ(path)
    assert entry.md5 == D1["md5"] and entry.name == "readme.txt"
    assert entry.extras() == {"package_id": "42"}


def test_db_is_opened_read_only(tmp_path):
    path = minimal_db(tmp_path / "rds.db", [row(D1)])
    path.chmod(0o444)
    before = path.read_bytes()
    assert len(list(READ(path))) == 1
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rds.db"]  # no journal left behind


def test_bad_row_names_the_record(tmp_path):
    bad = (*row(D2)[:2], "NOTHEX" * 5 + "AA", *row(D2)[3:])
    path = minimal_db(tmp_path / "rds.db", [row(D1), bad])
    with pytest.raises(HashSetFormatError, match="bad MD5") as info:
        list(READ(path))
    assert info.value.record == 2


def test_db_without_file_table_or_rows(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE things (x)")
    conn.close()
    with pytest.raises(HashSetFormatError, match="no FILE"):
        list(READ(path))
    with pytest.raises(HashSetFormatError, match="no hash entries"):
        list(READ(minimal_db(tmp_path / "empty.db", [])))


def test_corrupt_db(write):
    path = write("x.db", b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(HashSetFormatError):
        list(READ(path))


HEADER = '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"'


def test_rds2_text_with_crlf_and_latin1_names(write):
    lines = [
        HEADER,
        f'"{D1["sha1"].upper()}","{D1["md5"].upper()}","BD3A72E6","readme.txt",15,123456,"358",""',
        f'"{D2["sha1"].upper()}","{D2["md5"].upper()}","00000001","caf\xe9.txt",0,7,"358","M"',
    ]
    path = write("NSRLFile.txt", "\r\n".join(lines) + "\r\n", encoding="latin-1")
    assert sniff_format(path).name == "nsrl"
    first, second = READ(path)
    assert (first.sha1, first.md5, first.name, first.size) == (
        D1["sha1"],
        D1["md5"],
        "readme.txt",
        15,
    )
    assert first.extras() == {"crc32": "bd3a72e6", "product_code": "123456", "os_code": "358"}
    assert second.name == "café.txt" and second.extras()["special_code"] == "M"


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        (
            f'"{D1["sha1"]}","{D1["md5"]}","0","a",1,1,"1",""\n"zz","{D1["md5"]}","0","a",1,1,"1",""',
            3,
            "SHA1",
        ),
        (f'"{D1["sha1"]}","{D1["md5"]}","0","a",-1,1,"1",""', 2, "FileSize"),
        (f'"{D1["sha1"]}","{D1["md5"]}","0","a","big",1,"1",""', 2, "FileSize"),
        ('"","","0","a",1,1,"1",""', 2, "no SHA-1"),
    ],
)
def test_rds2_malformed(write, body, line, reason):
    path = write("NSRLFile.txt", HEADER + "\n" + body + "\n")
    with pytest.raises(HashSetFormatError, match=reason) as info:
        list(READ(path))
    assert info.value.line == line


def test_rds2_needs_its_header(write):
    with pytest.raises(HashSetFormatError, match="header") as info:
        list(READ(write("NSRLFile.txt", f'"{D1["sha1"]}","{D1["md5"]}"\n')))
    assert info.value.line == 1
