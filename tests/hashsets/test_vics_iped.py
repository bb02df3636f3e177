"""Vigil's VICS output against a model of IPED's reader (sepinf-inc/IPED
iped-engine/src/main/java/iped/engine/hashdb/HashDBTool.java: `isKnownJson`, `checkDataModel`,
`readProjectVIC`, `readNistCaid`), so an export a partner running IPED cannot read, or would
misread, fails here."""

from __future__ import annotations

import io
import json

import pytest

from tests.hashsets.conftest import digests
from vigil.errors import ConfigError
from vigil.hashsets import HashEntry, write_vics
from vigil.hashsets.vics_export import VERSIONS

# HashDBTool's constants; `checkDataModel` compares key and value with equalsIgnoreCase.
IPED_MODELS = {
    (
        "odata.metadata",
        "http://github.com/icmec/projectvic/datamodels/1.3.xml#media",
    ): "ProjectVIC",
    (
        "@odata.context",
        "http://github.com/vicsdatamodel/projectvic/datamodels/2.0.xml/default/$metadata#media",
    ): "ProjectVIC",
    ("odata.metadata", "http://github.com/icmec/projectvic/datamodels/1.2.xml#media"): "CAID",
}
VIC_STATUS = ["known", "pedo", "pedo"]  # vicStatusPropertyValues, by Category
VIC_TEXT = ("VictimIdentified", "OffenderIdentified", "IsDistributed", "Series")
VIC_TEXT += ("IsPrecategorized", "Tags")


class IpedRefuses(Exception):
    """Where HashDBTool throws ("Unknown ProjectVic JSON data model!" and the like)."""


def iped_reads(text: str) -> tuple[str, list[dict[str, str]]]:
    """(set, records) as HashDBTool would store them. The root must be exactly the metadata
    member then `value`; a record's `Category` is read only under that exact key and as a JSON
    integer; a record with no property at all is skipped; a CAID record is always "known"."""
    root = json.loads(text, object_pairs_hook=lambda pairs: pairs)
    if len(root) != 2 or root[1][0] != "value":
        raise IpedRefuses("Unexpected property")
    (key, url), _ = root
    kind = IPED_MODELS.get((key.lower(), str(url).lower()))
    if kind is None:
        raise IpedRefuses("Unknown JSON data model")
    records = []
    for media in json.loads(text)["value"]:
        props: dict[str, str] = {}
        hashes = {k.upper(): v.strip() for k, v in media.items() if k.upper() in ("MD5", "SHA1")}
        if kind == "CAID":
            props |= {"status": "known"}
            for mfile in media.get("MediaFiles", []):
                if mfile.get("FileName"):
                    props["caidFileName"] = mfile["FileName"]
        else:
            category = media.get("Category")
            if isinstance(category, int) and category >= 0:
                props["vicCategory"] = str(category)
                if category < len(VIC_STATUS):
                    props["status"] = VIC_STATUS[category]
            for name in VIC_TEXT:
                value = media.get(name)
                if isinstance(value, bool):
                    props["vic" + name] = str(value).lower()
                elif isinstance(value, str) and (value := value.replace("|", " ").strip()):
                    flag = value.lower() in ("true", "false")
                    props["vic" + name] = value.lower() if flag else value
        if hashes and props:
            records.append(hashes | props)
    return kind, records


def entries() -> list[HashEntry]:
    extra = (("is_precategorized", "true"), ("series", "TestSeriesA"))
    return [
        HashEntry(md5=digests(i)["md5"], sha1=digests(i)["sha1"], category=i, name=f"{i}.jpg")
        for i in range(5)
    ] + [HashEntry(md5=digests(9)["md5"], category=1, extra=extra)]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_offered_version_is_read_by_iped(version):
    out = io.BytesIO()
    write_vics(entries(), out, version=version)
    kind, records = iped_reads(out.getvalue().decode("utf-8"))
    assert kind == "ProjectVIC" and len(records) == 6
    for i, record in enumerate(records[:5]):
        assert record["MD5"] == digests(i)["md5"].upper()
        assert record["vicCategory"] == str(i)
        assert record.get("status") == (VIC_STATUS[i] if i < 3 else None)
    assert records[5]["vicIsPrecategorized"] == "true" and records[5]["vicSeries"] == "TestSeriesA"


def test_uk_codes_never_reach_iped_as_project_vic_codes():
    """IPED reads only region Default: a UK list, written with region UK as it must be, is
    refused there rather than read with Project VIC meanings."""
    out = io.BytesIO()
    write_vics(entries(), out, region="UK")
    with pytest.raises(IpedRefuses):
        iped_reads(out.getvalue().decode("utf-8"))


def test_why_1_2_is_not_offered():
    """A 1.2 `#Media` file is NIST's CAID set to IPED: every hash "known", its category lost."""
    text = json.dumps(
        {
            "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Media",
            "value": [{"MD5": digests(1)["md5"], "Category": 1, "MediaSize": "15"}],
        }
    )
    assert iped_reads(text) == ("CAID", [{"MD5": digests(1)["md5"], "status": "known"}])
    with pytest.raises(ConfigError, match="CAID"):
        write_vics(entries(), io.BytesIO(), version="1.2")
