"""The places exports: every GPS point of a generated collection, GeoJSON in RFC 7946 order
(longitude first) and KML 2.2 that parses as XML whatever a file name holds, both streamed
through keyset pages, with the provenance sidecar every export has."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.reports.test_case_report import HOSTILE, PHOTOS, build_case
from vigil.errors import ConfigError
from vigil.reports import export_case
from vigil.reports.places import Place, iter_places, write_kml
from vigil.reports.provenance import sidecar_path
from vigil.store import CaseStore

KML = "{http://www.opengis.net/kml/2.2}"
COPY = "copy of IMG_0001.JPG"


def planted() -> dict[str, tuple[float, float, str]]:
    """path → (lat, lon, EXIF date as recorded) for every geotagged file of the case."""
    out = {
        name: (lat, lon, when.replace(":", "-", 2).replace(" ", "T"))
        for name, (when, lat, lon) in PHOTOS.items()
    }
    return out | {COPY: out["DCIM/IMG_0001.JPG"]}


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_case(tmp_path_factory.mktemp("places"))


def export(case: Path, out: Path, fmt: str, **options: Any) -> int:
    with CaseStore.open(case) as store:
        return export_case(store, out, fmt=fmt, **options).records


def test_geojson_has_every_point_longitude_first(case: Path, tmp_path: Path) -> None:
    out = tmp_path / "places.geojson"
    assert export(case, out, "geojson") == 5
    doc = json.loads(out.read_text("utf-8"))
    assert doc["type"] == "FeatureCollection"
    got = {}
    for feature in doc["features"]:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        props = feature["properties"]
        got[props["path"]] = (round(lat, 5), round(lon, 5), props["datetime"])
        assert (props["make"], props["model"]) == ("Vigil Test Cameras", "TC-1")
        assert len(props["sha256"]) == 64 and props["source"].endswith("evidence")
    assert got == planted()


def test_kml_parses_and_keeps_hostile_names_as_text(case: Path, tmp_path: Path) -> None:
    out = tmp_path / "places.kml"
    assert export(case, out, "kml") == 5
    root = ET.parse(out).getroot()
    assert root.tag == f"{KML}kml"
    got = {}
    for mark in root.iter(f"{KML}Placemark"):
        lon, lat = map(float, mark.findtext(f"{KML}Point/{KML}coordinates").split(","))
        when = mark.findtext(f"{KML}TimeStamp/{KML}when")
        got[mark.findtext(f"{KML}name")] = (round(lat, 5), round(lon, 5), when)
    assert got == planted()
    assert HOSTILE in got and "<script>" not in out.read_text("utf-8")


def test_kml_holds_any_name_as_well_formed_xml() -> None:
    name = "dir/a\x01b\x1f&<c>\ufffe\"'.jpg"
    place = Place("ev", name, None, -10.5, 20.25, None, "Make & Co", None)
    buf = io.StringIO()
    write_kml([place], buf, title="case <1>")
    root = ET.fromstring(buf.getvalue())
    (mark,) = root.iter(f"{KML}Placemark")
    assert mark.findtext(f"{KML}name") == "dir/a\\x01b\\x1f&<c>\\xfffe\"'.jpg"
    assert mark.findtext(f"{KML}Point/{KML}coordinates") == "20.2500000,-10.5000000"
    assert root.findtext(f"{KML}Document/{KML}name") == "case <1>"
    assert mark.find(f"{KML}TimeStamp") is None


def test_without_names_only_the_content_hash_says_which_file(case: Path, tmp_path: Path) -> None:
    for fmt in ("geojson", "kml"):
        out = tmp_path / f"anonymous.{fmt}"
        export(case, out, fmt, names=False)
        text = out.read_text("utf-8")
        assert "IMG_0001" not in text and "evidence" not in text and "alert(1)" not in text
        sidecar = json.loads(sidecar_path(out).read_text("utf-8"))
        assert sidecar["names"] == "none" and sidecar["records"] == 5
    named = tmp_path / "named.kml"
    export(case, named, "kml")
    assert json.loads(sidecar_path(named).read_text("utf-8"))["names"] == "record paths"


def test_pages_of_one_give_the_same_points(case: Path) -> None:
    with CaseStore.open(case) as store:
        assert list(iter_places(store, page=1)) == list(iter_places(store))


def test_a_category_is_refused(case: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="every GPS point"):
        export(case, tmp_path / "x.geojson", "geojson", categories=[1])
    assert not (tmp_path / "x.geojson").exists()
