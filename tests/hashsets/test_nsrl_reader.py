"""NSRL RDS v3 SQLite (minimal and full schemas, plain or zipped) and RDS 1.x/2.x
NSRLFile.txt (plain or zipped). All records are invented (digests of benign strings)."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import tracemalloc
import zipfile

import pytest

from tests.hashsets.conftest import digests
from vigil.errors import HashSetFormatError
from vigil.hashsets import get_format, nsrl_v3, sniff_format
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
    assert first.extras() == {}
    assert (second.name, second.size) == ("b.dll", 7)


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
    assert entry.extras() == {}


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


# --- RDS 1.x / 1.5 text --------------------------------------------------------------------

HEADER_15 = (
    '"SHA-1","FileName","FileSize","ProductCode","OpSystemCode","MD4","MD5","CRC32","SpecialCode"'
)


def rds2hk_15(rds2: str) -> str:
    """What NIST's rds2hk.pl (5l1v3r1/rds2hk, rds2hk.pl; Douglas White, 2003) writes for
    `-f 1.5` from an RDS 2.x NSRLFile.txt: its header, then per line (header skipped) Perl's
    `split(/\\,/)` of the chomped line reordered to SHA-1, name, size, product, OS, a zero MD4,
    MD5, CRC32, special code. A name holding a comma is re-joined *without* the comma, as the
    script does; `chomp` leaves a CRLF file's CR on the last field."""
    out = [HEADER_15 + "\n"]
    for text in rds2.split("\n")[1:]:
        if not text:
            continue
        parts = text.split(",")
        while len(parts) - 1 > 7 and not parts[3].endswith('"'):
            parts[3] += parts[4]
            del parts[4]
        p = parts
        zero_md4 = '"' + "0" * 32 + '"'
        out.append(f"{p[0]},{p[3]},{p[4]},{p[5]},{p[6]},{zero_md4},{p[1]},{p[2]},{p[7]}\n")
    return "".join(out)


def rds2_line(d, crc, name, size, product, os_code, special):
    hashes = f'"{d["sha1"].upper()}","{d["md5"].upper()}","{crc}"'
    return f'{hashes},"{name}",{size},{product},"{os_code}","{special}"'


RDS2 = (
    "\r\n".join(
        [
            HEADER,
            rds2_line(D1, "BD3A72E6", "readme.txt", 15, 123456, "358", ""),
            rds2_line(D2, "00000001", "a,b.dll", 0, 7, "WIN", "M"),
        ]
    )
    + "\r\n"
)


def test_rds15_written_by_rds2hk_is_nsrl_and_maps_columns_by_name(write):
    path = write("NSRLFile.txt", rds2hk_15(RDS2))
    assert path.read_text().splitlines()[0] == HEADER_15
    assert sniff_format(path).name == "nsrl"  # was taken as a generic CSV alert list
    first, second = READ(path)
    assert (first.sha1, first.md5, first.name, first.size) == (
        D1["sha1"],
        D1["md5"],
        "readme.txt",
        15,
    )
    assert first.extras() == {"crc32": "bd3a72e6", "product_code": "123456", "os_code": "358"}
    assert (second.md5, second.name, second.size) == (D2["md5"], "ab.dll", 0)
    assert second.extras()["special_code"] == "M" and second.extras()["os_code"] == "WIN"


def test_rds15_and_rds2_give_the_same_entries(write):
    """The same records in both of NIST's column orders read alike (the 2.x name with a
    comma aside: rds2hk drops the comma)."""
    v2 = list(READ(write("v2.txt", RDS2.replace("a,b.dll", "ab.dll"))))
    assert list(READ(write("v15.txt", rds2hk_15(RDS2)))) == v2


def test_header_by_name_only_nsrl_columns(write):
    """A CSV naming SHA-1 and MD5 among other columns is no RDS: the generic reader takes it."""
    path = write(
        "list.csv", f'"SHA-1","MD5","FileName","Comment"\n"{D1["sha1"]}","{D1["md5"]}","a","x"\n'
    )
    assert sniff_format(path).name == "csv"
    with pytest.raises(HashSetFormatError, match="header") as info:
        list(READ(path))
    assert info.value.line == 1


# --- zipped RDS ----------------------------------------------------------------------------


def zip_of(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_nsrlfile_txt_zip_is_streamed(tmp_path, monkeypatch):
    """NSRLFile.txt.zip as the RDS 2.x ISOs carry it (IPED's HashDBTool looks for the entry
    `NSRLFile.txt` inside it): read through the archive, never unpacked or read whole."""
    path = zip_of(tmp_path / "NSRLFile.txt.zip", {"NSRLFile.txt": RDS2.encode("latin-1")})
    for method in ("read", "extract", "extractall"):
        monkeypatch.setattr(zipfile.ZipFile, method, lambda *a, **k: pytest.fail("unpacked"))
    assert sniff_format(path).name == "nsrl"
    assert [e.name for e in READ(path)] == ["readme.txt", "a,b.dll"]
    assert [e.name for e in get_format("nsrl").read(path)] == ["readme.txt", "a,b.dll"]


def test_zipped_text_memory_stays_flat(tmp_path):
    line = rds2_line(D1, "BD3A72E6", "readme.txt", 15, 1, "358", "") + "\r\n"
    body = (HEADER + "\r\n" + line * 100_000).encode()
    path = zip_of(tmp_path / "NSRLFile.txt.zip", {"NSRLFile.txt": body})
    tracemalloc.start()
    try:
        count = sum(1 for _ in READ(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert peak < len(body) / 2, f"peak {peak} for a {len(body)}-byte member"


def test_zip_errors_are_named(tmp_path):
    none = zip_of(tmp_path / "a.zip", {"readme.txt": b"x"})
    with pytest.raises(HashSetFormatError, match="found 0"):
        list(READ(none))
    two = zip_of(tmp_path / "b.zip", {"x/NSRLFile.txt": RDS2, "y/rds.db": b"x"})
    with pytest.raises(HashSetFormatError, match=r"found 2 \(x/NSRLFile.txt, y/rds.db\)"):
        list(READ(two))
    broken = tmp_path / "c.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(HashSetFormatError, match="not a readable zip"):
        list(READ(broken))


def test_zip_with_unsupported_compression_says_so(tmp_path):
    """A member packed with a method Python lacks (here the method field set to 9, Deflate64)
    fails with advice, not a traceback."""
    path = zip_of(tmp_path / "NSRLFile.txt.zip", {"NSRLFile.txt": RDS2}, zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    data[8:10] = (9).to_bytes(2, "little")  # local header
    central = data.index(b"PK\x01\x02")
    data[central + 10 : central + 12] = (9).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    assert sniff_format(path).name == "nsrl"
    with pytest.raises(HashSetFormatError, match="unzip it with another tool"):
        list(READ(path))


NIST_MINIMAL_DDL = (
    "CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL,"
    " crc32 VARCHAR NOT NULL, file_name VARCHAR NOT NULL, file_size INTEGER NOT NULL,"
    " package_id INTEGER NOT NULL, CONSTRAINT PK_FILE__FILE PRIMARY KEY (sha256, sha1, md5,"
    " crc32, file_name, file_size, package_id))"
)


def nist_minimal_db(path, rows):
    """The minimal DB's FILE table as NIST's RDS_…_minimal schema.sql defines it."""
    with sqlite3.connect(path) as conn:
        conn.execute(NIST_MINIMAL_DDL)
        conn.executemany("INSERT INTO FILE VALUES (?,?,?,?,?,?,?)", rows)
        conn.execute(
            "CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5, crc32 FROM FILE"
        )
    conn.close()
    return path


def rds_zip(tmp_path, rows):
    """RDS_YYYY.MM.1_modern_minimal.zip: a folder holding the .db and NIST's side files."""
    db = nist_minimal_db(tmp_path / "build.db", rows)
    folder = "RDS_2024.03.1_modern_minimal"
    members = {
        f"{folder}/RDS_2024.03.1_modern_minimal.db": db.read_bytes(),
        f"{folder}/RDS_2024.03.1_modern_minimal.schema.sql": NIST_MINIMAL_DDL,
        f"{folder}/readme.txt": "invented readme",
    }
    db.unlink()
    return zip_of(tmp_path / f"{folder}.zip", members)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """The temporary directory the extraction must use, and clean."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_rds_v3_zip_via_sniff_and_format(tmp_path, scratch):
    path = rds_zip(tmp_path, [row(D1), row(D2, "b.dll", 7, 9)])
    assert sniff_format(path).name == "nsrl"
    assert sorted(e.name for e in READ(path)) == ["b.dll", "readme.txt"]
    assert sorted(e.name for e in get_format("nsrl").read(path)) == ["b.dll", "readme.txt"]
    assert list(scratch.iterdir()) == []


def test_rds_v3_zip_extraction_is_removed_on_error_and_early_stop(tmp_path, scratch):
    bad = (*row(D2)[:2], "NOTHEX" * 5 + "AA", *row(D2)[3:])
    with pytest.raises(HashSetFormatError, match="bad MD5"):
        list(READ(rds_zip(tmp_path, [row(D1), bad])))
    assert list(scratch.iterdir()) == []
    entries = READ(rds_zip(tmp_path, [row(D1), row(D2)]))
    next(entries)
    (extraction,) = scratch.iterdir()
    assert extraction.name.startswith("vigil-rds-")
    entries.close()
    assert list(scratch.iterdir()) == []


def test_rds_v3_zip_needs_free_space(tmp_path, scratch, monkeypatch):
    path = rds_zip(tmp_path, [row(D1)])
    monkeypatch.setattr(
        nsrl_v3.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9, 1000)
    )
    with pytest.raises(HashSetFormatError, match=r"needs .* free in .*set TMPDIR"):
        list(READ(path))
    assert list(scratch.iterdir()) == []


def test_zipped_sqlite_without_file_table_is_not_nsrl(tmp_path):
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE things (x)")
    conn.close()
    path = zip_of(tmp_path / "other.zip", {"other.db": db.read_bytes()})
    with pytest.raises(HashSetFormatError, match="unrecognised"):
        sniff_format(path)


# --- v3: one entry per distinct hash ---------------------------------------------------------


def test_v3_folds_rows_of_one_hash(tmp_path):
    """One entry per (sha256, sha1, md5); count = FILE rows folded; the representative is the
    byte-order smallest name, with that row's size, package and CRC."""
    rows = [
        row(D1, "setup.exe", 15, 3),
        row(D1, "SETUP.EXE", 15, 1),
        row(D1, "a.dll", 15, 2),
        row(D2, "b.dll", 7, 9),
    ]
    path = nist_minimal_db(tmp_path / "RDS_2024.03.1_modern_minimal.db", rows)
    entries = {e.md5: e for e in READ(path)}
    assert len(entries) == 2
    one = entries[D1["md5"]]
    assert (one.count, one.name, one.size) == (3, "SETUP.EXE", 15)
    assert entries[D2["md5"]].count == 1
    assert sum(e.count for e in entries.values()) == len(rows)


def test_v3_groups_stream_in_index_order(tmp_path):
    """Over NIST's minimal schema the GROUP BY walks the primary-key index: no sort, no
    temporary B-tree, so memory does not grow with the database."""
    path = nist_minimal_db(tmp_path / "rds.db", [row(D1)])
    conn = sqlite3.connect(path)
    try:
        query = nsrl_v3.distinct_query(nsrl_v3.file_columns(conn))
        plan = " ".join(r[-1] for r in conn.execute(f"EXPLAIN QUERY PLAN {query}"))
    finally:
        conn.close()
    assert "COVERING INDEX" in plan and "TEMP B-TREE" not in plan, plan


def test_v3_full_view_folds_packages(tmp_path):
    path = tmp_path / "RDS_2022.03.1_modern.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE METADATA (object_id INTEGER, file_name VARCHAR, extension VARCHAR,"
            " bytes INTEGER, md5 VARCHAR, sha1 VARCHAR, sha256 VARCHAR)"
        )
        conn.execute("CREATE TABLE PACKAGE_OBJECT (package_id INTEGER, object_id INTEGER)")
        conn.execute(
            "INSERT INTO METADATA VALUES (1,'readme','txt',15,?,?,?)",
            (D1["md5"], D1["sha1"], D1["sha256"]),
        )
        conn.executemany("INSERT INTO PACKAGE_OBJECT VALUES (?, 1)", [(42,), (43,)])
        conn.execute(
            "CREATE VIEW FILE AS SELECT upper(sha256) AS sha256, upper(sha1) AS sha1,"
            " upper(md5) AS md5, file_name || '.' || extension AS file_name, bytes AS file_size,"
            " package_id FROM METADATA JOIN PACKAGE_OBJECT USING (object_id)"
        )
    conn.close()
    (entry,) = READ(path)
    assert (entry.count, entry.name, entry.sha256) == (2, "readme.txt", D1["sha256"])


def test_v3_name_in_a_stray_encoding_is_read_as_latin1(tmp_path):
    path = nist_minimal_db(tmp_path / "rds.db", [])
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO FILE VALUES (?,?,?,'0',CAST(x'636166e9' AS TEXT),1,1)",
            row(D1)[:3],
        )
    conn.close()
    (entry,) = READ(path)
    assert entry.name == "caf\xe9"


def test_nsrl_names_no_category_scheme(tmp_path):
    assert NsrlFormat().category_scheme(minimal_db(tmp_path / "rds.db", [row(D1)])) is None
