"""Generic CSV hash lists shaped exactly as real writers write them, with invented benign
records:

* PowerShell `Get-FileHash` (its v4/v5 source: `[BitConverter]::ToString(...) -replace
  '-',''` upper-case hex, `Algorithm = $Algorithm.ToUpperInvariant()`, type name
  `Microsoft.Powershell.Utility.FileHash`; v7 `Microsoft.PowerShell.Commands.FileHashInfo`)
  piped to `Export-Csv`: every field quoted, `#TYPE <type name>` first in Windows PowerShell
  5.1 unless `-NoTypeInformation`, none in PowerShell 7; CRLF.
* IPED's own import CSV, as `IcseToCsv` in sepinf-inc/IPED issue #1136 writes it
  (`MD5,SHA1,photoDNA,icseImageID,…,status,set`).
* Griffeye Analyze's CSV export (column list and sample values quoted in mkucenski's
  `processGriffeyeCSV`, a log2timeline-style C++ tool): `Category` holds the label text
  (`Child Exploitive (non-CAM) / Age Difficult`), beside `MD5`, `SHA-1`, `SHA-256`,
  `File Name`, `File Size`, `Directory Path`, `PhotoDNA`, …

"""

from __future__ import annotations

import pytest

from tests.hashsets.conftest import digests
from vigil.errors import HashSetFormatError
from vigil.hashsets import sniff_format
from vigil.hashsets.csv_generic import CsvFormat

FMT = CsvFormat()
D1, D2, D3 = digests(1), digests(2), digests(3)


def get_filehash_csv(type_line: str | None) -> str:
    rows = [
        ("SHA256", D1["sha256"].upper(), "C:\\Users\\test\\Pictures\\cat.jpg"),
        ("MD5", D2["md5"].upper(), "C:\\Users\\test\\Pictures\\dog, 2.jpg"),
        ("SHA1", D3["sha1"].upper(), "C:\\Users\\test\\Pictures\\bird.jpg"),
    ]
    lines = [] if type_line is None else [type_line]
    lines.append('"Algorithm","Hash","Path"')
    lines += ['"' + '","'.join(r) + '"' for r in rows]
    return "\r\n".join(lines) + "\r\n"


EXPECTED = [
    ("sha256", D1["sha256"], "C:\\Users\\test\\Pictures\\cat.jpg"),
    ("md5", D2["md5"], "C:\\Users\\test\\Pictures\\dog, 2.jpg"),
    ("sha1", D3["sha1"], "C:\\Users\\test\\Pictures\\bird.jpg"),
]


def digest_and_name(entry):
    (algo, value), *rest = [
        (a, getattr(entry, a)) for a in ("md5", "sha1", "sha256") if getattr(entry, a)
    ]
    assert not rest
    return algo, value, entry.name


@pytest.mark.parametrize(
    "type_line",
    [
        "#TYPE Microsoft.Powershell.Utility.FileHash",  # Windows PowerShell 5.1 default
        None,  # PowerShell 7, or 5.1 with -NoTypeInformation
    ],
)
def test_powershell_get_filehash_export_csv(write, type_line):
    path = write("hashes.csv", get_filehash_csv(type_line))
    assert sniff_format(path).name == "csv"
    assert [digest_and_name(e) for e in FMT.read(path)] == EXPECTED


def test_get_filehash_unknown_algorithm_is_named(write):
    text = f'"Algorithm","Hash","Path"\r\n"SHA512","{"AB" * 64}","C:\\x.jpg"\r\n'
    with pytest.raises(HashSetFormatError, match="SHA512") as info:
        list(FMT.read(write("h.csv", text)))
    assert info.value.line == 2


def test_iped_import_csv_from_icse_to_csv(write):
    header = (
        "MD5,SHA1,photoDNA,icseImageID,icseIsDistributed,icseVictimIdentified,"
        "icseOffenderIdentified,icseSeriesName,icseNumSubmissions,icseFileAvailable,"
        "icseMediaType,icseBaseline,status,set"
    )
    text = (
        header + "\n"
        f"{D1['md5']},{D1['sha1']},{'AB' * 144},IMG-1,N,N,N,TEST_SERIES,1,False,Image,No,"
        "pedo,ICSE\n"
        f"{D2['md5']},,,IMG-2,Y,N,N,,2,True,Video,Yes,pedo,ICSE\n"
    )
    path = write("icse_iped.csv", text)
    assert sniff_format(path).name == "csv"
    a, b = FMT.read(path)
    assert (a.md5, a.sha1, a.category, a.name) == (D1["md5"], D1["sha1"], None, None)
    assert (b.md5, b.sha1) == (D2["md5"], None)


GRIFFEYE_HEADER = (
    '"Binary Copies","Category","Created Date","Directory Path","File Name","File Size",'
    '"Initial Category","MD5","PhotoDNA","Series Name","SHA-1","SHA-256","Visual Copies"'
)


def griffeye_row(category: str) -> str:
    return (
        f'"3","{category}","1/10/2009 8:16:10 PM","Partition 1\\Users\\test","cat.jpg",'
        f'"37590","2","{D1["md5"].upper()}","","US/Test wall","{D1["sha1"].upper()}",'
        f'"{D1["sha256"].upper()}","6"'
    )


def test_griffeye_export_with_numeric_category(write):
    path = write("griffeye.csv", GRIFFEYE_HEADER + "\r\n" + griffeye_row("2") + "\r\n")
    assert sniff_format(path).name == "csv"
    (entry,) = FMT.read(path)
    assert (entry.md5, entry.sha1, entry.sha256) == (D1["md5"], D1["sha1"], D1["sha256"])
    assert (entry.name, entry.size, entry.category) == ("cat.jpg", 37590, 2)


def test_griffeye_export_category_label(write):
    """Griffeye writes the label text; it is Project VIC's, and the file says so."""
    rows = [griffeye_row("Child Exploitive (non-CAM) / Age Difficult"), griffeye_row("3")]
    path = write("griffeye.csv", GRIFFEYE_HEADER + "\r\n" + "\r\n".join(rows) + "\r\n")
    assert [e.category for e in FMT.read(path)] == [2, 3]
    assert FMT.category_scheme(path) == "projectvic"
    numeric = write("numeric.csv", GRIFFEYE_HEADER + "\r\n" + griffeye_row("2") + "\r\n")
    assert FMT.category_scheme(numeric) is None
    odd = write("odd.csv", GRIFFEYE_HEADER + "\r\n" + griffeye_row("Maybe later") + "\r\n")
    with pytest.raises(HashSetFormatError, match="neither a code nor a Project VIC label"):
        list(FMT.read(odd))
