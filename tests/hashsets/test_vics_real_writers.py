"""VICS files shaped exactly as real writers write them (their public source code), with
invented benign records: Clees4All (UK), RECON Lab (1.3 and 2.0), NIST's CAID set (1.2)."""

from __future__ import annotations

import json

from tests.hashsets.conftest import digests
from vigil.hashsets.vics import VicsFormat

D1, D2 = digests(1), digests(2)
FMT = VicsFormat()


def test_clees4all_uk_case_export(write):
    """askclees/X-Ways-Clees4All src/VICS.cpp: `openVICSFile` prints the head by hand (CRLF and
    tabs, region UK, `#Cases`, CaseID in braces, `Media` last), each record is `cJSON_Print`
    output: Category only when not 0, flags as JSON `true` only when set, `IsPrecategorized`
    with its `PrecategorizationSource`, `MediaSize` and `PhysicalLocation` raw integers,
    `FilePath` the folder apart from `FileName`; `closeVICSFile` ends with tabs and CRLF."""
    head = (
        '{\r\n\t"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/'
        '2.0.xml/UK/$metadata#Cases",\r\n\t"value":[{"CaseID":"{0A1B2C3D-0000-4000-8000-'
        '00000000000F}",\r\n\t"CaseNumber":"TEST-1",\r\n\t"ContactOrganization":"Test Lab",\r\n\t'
        '"SourceApplicationName":"Clees4All",\r\n\t"SourceApplicationVersion":"1.51",\r\n\t'
        '"Media":['
    )
    first = {
        "MediaID": 1,
        "Category": 2,
        "MD5": D1["md5"].upper(),
        "SHA1": D1["sha1"].upper(),
        "VictimIdentified": True,
        "DateUpdated": "2024-01-02T03:04:05.000+01:00",
        "MediaSize": 15,
        "RelativeFilePath": "Pictures\\16\\16\\" + D1["md5"].upper() + ".jpg",
        "IsPrecategorized": True,
        "PrecategorizationSource": "LocalSet",
        "MimeType": "image/jpeg",
        "MediaFiles": [
            {
                "MD5": D1["md5"].upper(),
                "FileName": "cat.jpg",
                "FilePath": "Partition 1\\Users\\test\\Pictures",
                "Created": "2023-05-01T10:00:00.000Z",
                "Unallocated": True,
                "Deleted": True,
                "PhysicalLocation": 12345678901234567,
                "SourceID": "EXH-1",
            }
        ],
        "MediaMetadata": [{"PropertyName": "XWF Report Table", "PropertyValue": "Test"}],
    }
    second = {"MediaID": 2, "MD5": D2["md5"].upper(), "MediaSize": 15}  # category 0: omitted
    body = ",\r\n".join(json.dumps(m, indent="\t") for m in (first, second))
    path = write("VICS_Pictures_Results.json", head + body + "\t]\r\n\t}]\r\n\t}")
    assert FMT.sniff(path, path.read_bytes()) and FMT.category_scheme(path) == "uk"
    a, b = FMT.read(path)
    assert (a.md5, a.sha1, a.category, a.size, a.name) == (D1["md5"], D1["sha1"], 2, 15, "cat.jpg")
    assert a.extras() == {
        "victim_identified": "true",
        "is_precategorized": "true",
        "precategorization_source": "LocalSet",
        "date_updated": "2024-01-02T03:04:05.000+01:00",
        "mime_type": "image/jpeg",
        "path": "Partition 1\\Users\\test\\Pictures",
    }
    assert b.category is None  # Clees4All drops Category 0: it reads as uncategorised


def recon_media(version: str) -> dict:
    """One Media object as RECON's `export_hashes_for_vic_version_*` builds it: lowercase hex
    (`QByteArray::toHex`), `MediaSize` as a string, MediaID from 0, OData links, empty `Exifs`,
    SHA-1 repeated in AlternativeHashes, and `Category` set to RECON's source number."""
    md5 = D1["md5"]
    media = {
        "AlternativeHashes": [
            {
                "HashName": "SHA1",
                "HashValue": D1["sha1"],
                "MD5": md5,
                "Media@odata.navigationLinkUrl": (
                    f"AlternativeHashes(HashName='SHA1',MD5={md5})/Media"
                ),
            }
        ],
        "AlternativeHashes@odata.navigationLinkUrl": f"/Media({md5})/AlternativeHashes",
        "Category": "1",
        "Exifs": [],
        "Exifs@odata.navigationLinkUrl": f"/Media({md5})/Exifs",
        "MD5": md5,
        "MediaFiles@odata.navigationLinkUrl": f"/Media({md5})/MediaFiles",
        "MediaID": 0,
        "MediaSize": "15",
        "MimeType": "image/jpeg",
        "RelativeFilePath": "Users\\test\\Pictures\\a.jpg",
        "SHA1": D1["sha1"],
        "odata.id": f'Media("{md5}")',
    }
    link = f"/MediaFiles(FileName='a.jpg',FilePath='/Users/test/Pictures/a.jpg',MD5={md5})"
    if version == "1.3":  # times and FileName on the Media, the file's path as its SourceID
        media |= {"Accessed": "2024-01-02T03:04:05", "Change": "2024-01-02T03:04:05"}
        media["FileName"] = "a.jpg"
        media["MediaFiles"] = [
            {
                "FilePath": "/Users/test/Pictures/a.jpg",
                "MD5": md5,
                "Media@odata.navigationLinkUrl": link,
                "SourceID": "/Users/test/Pictures/a.jpg",
            }
        ]
    else:
        media["MediaFiles"] = [
            {
                "Accessed": "2024-01-02T03:04:05",
                "Change": "2024-01-02T03:04:05",
                "FileName": "a.jpg",
                "FilePath": "/Users/test/Pictures/a.jpg",
                "MD5": md5,
            }
        ]
    return media


def recon_file(version: str, context: str) -> str:
    """RECON's `write_data_in_json_format_according_to_version`: `#Cases` under 1.x but
    `CUSTOM/$metadata#Media` under 2.0, over the same case object with its non-standard keys;
    `QJsonDocument::toJson` writes every object's keys sorted, indented by four spaces."""
    key = "@odata.context" if version == "2.0" else "odata.metadata"
    case = {
        "Agency": "Test Agency",
        "Agency Address": "1 Test Street",
        "Case Name": "Test",
        "Case No.": "T-1",
        "Case Notes": "",
        "Examiner": "Examiner A",
        "Examiner Email": "a@example.org",
        "Examiner Phone": "",
        "Location": "",
        "Media": [recon_media(version)],
        "SourceApplicationName": "RECON LAB",
        "SourceApplicationVersion": "1.0",
        "TotalMediaFiles": "1",
    }
    return json.dumps({key: context, "value": [case]}, indent=4, sort_keys=True)


def test_recon_2_0_case_under_a_media_context(write):
    url = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Media"
    path = write("Test.json", recon_file("2.0", url))
    (entry,) = FMT.read(path)
    assert (entry.md5, entry.sha1, entry.size, entry.name) == (D1["md5"], D1["sha1"], 15, "a.jpg")
    assert entry.extras() == {"mime_type": "image/jpeg", "path": "/Users/test/Pictures/a.jpg"}
    # RECON's Category is its evidence-source number: never read as a Project VIC verdict
    assert entry.category == 1 and FMT.category_scheme(path) == "recon-source"


def test_recon_1_3_case(write):
    path = write(
        "Test.json",
        recon_file("1.3", "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases"),
    )
    (entry,) = FMT.read(path)
    assert (entry.md5, entry.sha1, entry.name) == (D1["md5"], D1["sha1"], "a.jpg")
    # 1.x names no region, but RECON's case keys say whose file it is: its source number
    # must not read as Project VIC's 1 (CAM)
    assert entry.category == 1 and FMT.category_scheme(path) == "recon-source"


def test_nist_caid_1_2_hash_set(write):
    """NIST's non-RDS CAID set, as IPED's `readNistCaid` takes it and the CASE/UCO project's
    NSRL-CAID converter documents a record: `…/1.2.xml#Media`, `odata.id` and nav links first,
    `MediaFiles` before the hashes, lowercase hex, `Category` 8, `MediaSize` a string,
    `FilePath` the folder without the name."""
    md5 = D1["md5"]
    record = {
        "odata.id": f'Media("{md5}")',
        "MediaFiles@odata.navigationLinkUrl": f"/Media({md5})/MediaFiles",
        "MediaFiles": [
            {
                "Media@odata.navigationLinkUrl": (
                    f"/MediaFiles(FileName='readme.txt',FilePath='Example App/data',MD5={md5})"
                ),
                "MD5": md5,
                "FileName": "readme.txt",
                "FilePath": "Example App/data",
            }
        ],
        "MediaID": 0,
        "MD5": md5,
        "SHA1": D1["sha1"],
        "Category": 8,
        "MediaSize": "488",
    }
    text = (
        '{\n  "odata.metadata":"http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Media",'
        f'"value":[\n    {json.dumps(record, separators=(",", ":"))}\n  ]\n}}'
    )
    path = write("NSRL-CAID-TEST.json", text)
    (entry,) = FMT.read(path)
    assert (entry.md5, entry.sha1, entry.size, entry.name) == (
        D1["md5"],
        D1["sha1"],
        488,
        "readme.txt",
    )
    assert entry.category == 8 and entry.extras() == {"path": "Example App/data"}
    assert (
        FMT.category_scheme(path) == "projectvic"
    )  # code 8 has no meaning there: the import says so
