"""Interpol ICSE hash-set CSV exports shaped as the export IPED's maintainers received (2022)
and as IPED reads it, with invented benign records:

* sepinf-inc/IPED issue #1136: the exact header `MD5;SHA1;ZZ40;PhotoDNA;Lace;Image ID;Is
  distributed;Victim identified;Offender identified;Series name;Investigation name;Agency;
  Number of submissions;File Available;Media Type;Baseline`, lower-case MD5/SHA1, upper-case
  ZZ40 (16 bytes) and PhotoDNA (144 bytes) hex, Lace as base64 (129 bytes), `Y`/`N`,
  `True`/`False`, `Yes`/`No`.
* sepinf-inc/IPED `iped-engine/src/main/java/iped/engine/hashdb/HashDBTool.java`
  (`setupIcse`): Commons CSV `DEFAULT` with `;`, so RFC 4180 quoting and CRLF records; columns
  matched by name, case-insensitively; flags y/yes/t/true and n/no/f/false.
"""

from __future__ import annotations

import base64

from tests.hashsets.conftest import digests
from vigil.hashsets import sniff_format
from vigil.hashsets.icse import IcseFormat

FMT = IcseFormat()
HEADER = (
    "MD5;SHA1;ZZ40;PhotoDNA;Lace;Image ID;Is distributed;Victim identified;Offender identified;"
    "Series name;Investigation name;Agency;Number of submissions;File Available;Media Type;Baseline"
)
D1, D2, D3 = digests(1), digests(2), digests(3)
ZZ40 = "0123456789ABCDEF" * 2
PDNA = "A1" * 144
LACE = base64.b64encode(bytes(range(129))).decode()


def test_icse_export_as_received(write):
    text = (
        HEADER + "\r\n"
        f"{D1['md5']};{D1['sha1']};{ZZ40};{PDNA};{LACE};IMG-0001;Y;N;N;"
        "TEST_SERIES;TEST OP;Test Agency;12;True;Image;Yes\r\n"
        f'{D2["md5"]};{D2["sha1"]};;;;IMG-0002;N;Y;Y;"Series; with semicolon";;'
        '"Agency ""Q""";1;False;Video;No\r\n'
        f";{D3['sha1']};;{PDNA};;IMG-0003;N;N;N;;;;3;False;Image;No\r\n"
    )
    path = write("icse_export.csv", text)
    assert sniff_format(path).name == "icse"
    a, b, c = FMT.read(path)
    assert (a.md5, a.sha1, a.category) == (D1["md5"], D1["sha1"], None)
    assert a.extras() == {
        "image_id": "IMG-0001",
        "is_distributed": "true",
        "victim_identified": "false",
        "offender_identified": "false",
        "series": "TEST_SERIES",
        "investigation": "TEST OP",
        "agency": "Test Agency",
        "submissions": "12",
        "file_available": "true",
        "media_type": "Image",
        "baseline": "true",
    }
    assert b.extras()["series"] == "Series; with semicolon"
    assert b.extras()["agency"] == 'Agency "Q"'
    assert b.extras()["media_type"] == "Video" and b.extras()["baseline"] == "false"
    assert (c.md5, c.sha1) == (None, D3["sha1"])


def test_icse_header_case_and_bom(write):
    """HashDBTool matches the columns case-insensitively; a BOM from a spreadsheet round trip."""
    text = (
        "\ufeff" + HEADER.upper() + "\n" + f"{D1['md5'].upper()};;;;;X;n;n;n;;;;1;false;Image;no\n"
    )
    path = write("icse.csv", text)
    assert sniff_format(path).name == "icse"
    (entry,) = FMT.read(path)
    assert entry.md5 == D1["md5"] and entry.extras()["baseline"] == "false"
