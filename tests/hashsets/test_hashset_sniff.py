"""`--format auto`: sniff_format picks the right reader and rejects junk."""

from __future__ import annotations

import json
import sqlite3
import zipfile

import pytest

from tests.hashsets.conftest import digests
from vigil.errors import ConfigError, HashSetFormatError
from vigil.hashsets import FORMATS, get_format, sniff_format

D = digests(1)
SAMPLES = {
    "vics": (
        "set.json",
        json.dumps(
            {
                "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
                "value": [{"MD5": D["md5"]}],
            }
        ),
    ),
    "nsrl": (
        "NSRLFile.txt",
        '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"\n'
        f'"{D["sha1"]}","{D["md5"]}","0","a",1,1,"1",""\n',
    ),
    "hashkeeper": (
        "set.hsh",
        '"file_id","hashset_id","file_name","directory","hash","file_size","date_modified",'
        '"time_modified","time_zone","comments","date_accessed","time_accessed"\n'
        f'1,1,"a","","{D["md5"]}",1,,,,,,\n',
    ),
    "icse": ("icse.csv", f"MD5;SHA1;Image ID;Baseline\n{D['md5']};;X;No\n"),
    "pdq": ("list.txt", f"{D['pdq']},100\n"),
    "md5sum": ("list.txt", f"{D['md5']}  a.jpg\n{D['sha256']}  b.jpg\n"),
    "csv": ("list.csv", f"filename,md5\na.jpg,{D['md5']}\n"),
    "hashdeep": (
        "known.txt",
        "%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## Invoked from: /home/x\n"
        f"## $ hashdeep -r a.jpg\n##\n15,{D['md5']},{D['sha256']},/home/x/a.jpg\n",
    ),
}


def test_registry_names_are_the_cli_choices():
    assert FORMATS.names() == [
        "vics",
        "nsrl",
        "hashkeeper",
        "icse",
        "hashdeep",
        "pdq",
        "md5sum",
        "csv",
    ]
    for fmt in FORMATS:
        assert fmt.name and fmt.version


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_format_is_recognised_and_read(write, name):
    filename, content = SAMPLES[name]
    path = write(filename, content)
    fmt = sniff_format(path)
    assert fmt.name == name
    assert len(list(fmt.read(path))) >= 1
    assert get_format("auto", path) is fmt and get_format(name) is fmt


def test_sqlite_rds_is_recognised(tmp_path):
    path = tmp_path / "rds.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE FILE (sha256, sha1, md5, crc32, file_name, file_size, package_id)"
        )
    conn.close()
    assert sniff_format(path).name == "nsrl"


def test_bom_and_crlf_do_not_confuse_sniffing(write):
    path = write("l.csv", f"\ufeffMD5;SHA1;Image ID\r\n{D['md5']};;X\r\n")
    assert sniff_format(path).name == "icse"


def test_bare_64_hex_is_ambiguous_without_a_name_hint(write):
    body = f"{D['sha256']}\n{D['pdq']}\n"
    with pytest.raises(HashSetFormatError, match="ambiguous"):
        sniff_format(write("list.txt", body))
    assert sniff_format(write("known.pdq.txt", body)).name == "pdq"
    assert sniff_format(write("files.sha256", body)).name == "md5sum"
    assert sniff_format(write("l.md5", f"{D['md5']}\n")).name == "md5sum"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"hello world\n",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        b'{"value": []}',
        b"a,b,c\n1,2,3\n",
    ],
)
def test_junk_is_rejected(write, content):
    with pytest.raises(HashSetFormatError):
        sniff_format(write("junk.bin", content))


def test_unrecognised_lists_what_was_tried(write):
    with pytest.raises(HashSetFormatError, match="tried: vics, nsrl"):
        sniff_format(write("x.txt", "nothing to see\n"))


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(HashSetFormatError, match="cannot read"):
        sniff_format(tmp_path / "absent.txt")
    with pytest.raises(ConfigError):
        get_format("encase")


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


NSRL_V2 = SAMPLES["nsrl"][1]
NSRL_15 = (
    '"SHA-1","FileName","FileSize","ProductCode","OpSystemCode","MD4","MD5","CRC32","SpecialCode"\n'
    f'"{D["sha1"]}","a",1,1,"1","{"0" * 32}","{D["md5"]}","0",""\n'
)


def test_every_nsrl_shape_is_nsrl_not_csv(write, tmp_path):
    """RDS 1.5 (rds2hk.pl -f 1.5 column order), 2.x, NSRLFile.txt.zip and a zipped v3 DB."""
    db = tmp_path / "RDS_2024.03.1_ios_minimal.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE FILE (sha256, sha1, md5, crc32, file_name, file_size, package_id)"
        )
        conn.execute(
            "INSERT INTO FILE VALUES (?,?,?,'0','a',1,1)", (D["sha256"], D["sha1"], D["md5"])
        )
    conn.close()
    paths = [
        write("NSRLFile.txt", NSRL_15),
        _zip(tmp_path / "NSRLFile.txt.zip", {"NSRLFile.txt": NSRL_V2}),
        _zip(tmp_path / "rds15.zip", {"RDS15/NSRLFILE.TXT": NSRL_15}),
        _zip(tmp_path / "RDS_2024.03.1_ios_minimal.zip", {f"x/{db.name}": db.read_bytes()}),
    ]
    for path in paths:
        fmt = sniff_format(path)
        assert fmt.name == "nsrl", path.name
        (entry,) = fmt.read(path)
        assert entry.md5 == D["md5"]


def test_pdq_header_lists_go_to_pdq_and_category_lists_to_csv(write):
    te = f"signal_type,signal_str,collab,category,tags\r\npdq,{D['pdq']},c,POSITIVE_CLASS,\r\n"
    assert sniff_format(write("te.csv", te)).name == "pdq"
    assert sniff_format(write("q.csv", f"pdq,quality\n{D['pdq']},90\n")).name == "pdq"
    assert sniff_format(write("c.csv", f"pdq,quality,category\n{D['pdq']},90,1\n")).name == "csv"
    assert sniff_format(write("m.csv", f"md5,pdq\n{D['md5']},{D['pdq']}\n")).name == "csv"


def test_zip_without_an_rds_is_unrecognised(tmp_path):
    path = _zip(tmp_path / "other.zip", {"readme.txt": "invented"})
    with pytest.raises(HashSetFormatError, match="unrecognised"):
        sniff_format(path)
