"""Where the case's pictures say they were taken: every EXIF GPS point, read in keyset pages,
and the GeoJSON (RFC 7946) and KML 2.2 exports of them, written point by point so a case with
millions of geotagged photos never holds its document in memory.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from xml.sax.saxutils import escape

from vigil.reports.atomic import atomic_output
from vigil.store import CaseStore
from vigil.store.queries import file_pages
from vigil.store.schema import files

PAGE = 5_000
FORMATS = ("geojson", "kml")
# XML 1.0 forbids most control characters even as references: a file name may hold them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class Place:
    source: str
    path: str
    sha256: str | None
    lat: float
    lon: float
    datetime: str | None
    make: str | None
    model: str | None


def _degrees(value: Any, limit: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and -limit <= number <= limit else None


def place_of(exif: dict[str, Any], *, source: str, path: str, sha256: str | None) -> Place | None:
    """The record's GPS point, or None when its EXIF has none that is a valid position."""
    gps = exif.get("gps")
    if not isinstance(gps, dict):
        return None
    lat, lon = _degrees(gps.get("lat"), 90.0), _degrees(gps.get("lon"), 180.0)
    if lat is None or lon is None:
        return None

    def text(key: str) -> str | None:
        value = exif.get(key)
        return value if isinstance(value, str) else None

    return Place(
        source, path, sha256, lat, lon, text("datetime_original"), text("make"), text("model")
    )


def iter_places(store: CaseStore, *, page: int = PAGE) -> Iterator[Place]:
    """Every record's GPS point in record order, one short read transaction per page."""
    # json.dumps writes the key with its quotes, so this skips the rows that cannot hold one
    # without parsing them; a string value "gps" still gets through and is checked below.
    wanted = files.c.exif.like('%"gps"%')
    columns = (files.c.path, files.c.sha256, files.c.exif)
    for rows, given in file_pages(store, columns, wanted, page=page):
        for row in rows:
            found = place_of(
                json.loads(row.exif), source=given[row.source_id], path=row.path, sha256=row.sha256
            )
            if found is not None:
                yield found


def _feature(place: Place, names: bool) -> dict[str, Any]:
    where = {"source": place.source, "path": place.path} if names else {}
    return {
        "type": "Feature",
        # RFC 7946 §3.1.1: longitude first
        "geometry": {"type": "Point", "coordinates": [place.lon, place.lat]},
        "properties": {
            **where,
            "sha256": place.sha256,
            "datetime": place.datetime,
            "make": place.make,
            "model": place.model,
        },
    }


def write_geojson(places: Iterable[Place], out: TextIO, *, names: bool = True) -> int:
    """A FeatureCollection of Points, one feature a line."""
    out.write('{"type": "FeatureCollection", "features": [')
    count = 0
    for place in places:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(_feature(place, names), ensure_ascii=False))
        count += 1
    out.write("\n]}\n")
    return count


def xml_text(value: object) -> str:
    """`value` as XML character data: markup escaped, characters XML cannot hold as `\\xNN`."""
    return escape(_NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value)))


def _placemark(place: Place, names: bool) -> str:
    name = place.path if names else (place.sha256 or "")
    data = {"source": place.source, "path": place.path} if names else {}
    data |= {"sha256": place.sha256, "make": place.make, "model": place.model}
    extended = "".join(
        f'<Data name="{key}"><value>{xml_text(value)}</value></Data>'
        for key, value in data.items()
        if value is not None
    )
    # EXIF's original time has no zone, which xsd:dateTime (KML's `when`) allows
    when = (
        f"<TimeStamp><when>{xml_text(place.datetime)}</when></TimeStamp>" if place.datetime else ""
    )
    return (
        f"<Placemark><name>{xml_text(name)}</name>{when}"
        f"<ExtendedData>{extended}</ExtendedData>"
        f"<Point><coordinates>{place.lon:.7f},{place.lat:.7f}</coordinates></Point></Placemark>\n"
    )


def write_kml(places: Iterable[Place], out: TextIO, *, title: str, names: bool = True) -> int:
    """A KML 2.2 document of Placemarks (coordinates `lon,lat`, as KML orders them)."""
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write('<kml xmlns="http://www.opengis.net/kml/2.2"><Document>\n')
    out.write(f"<name>{xml_text(title)}</name>\n")
    count = 0
    for place in places:
        out.write(_placemark(place, names))
        count += 1
    out.write("</Document></kml>\n")
    return count


def export_places(store: CaseStore, out_path: Path, fmt: str, *, names: bool = True) -> int:
    """Write every GPS point of the case as `fmt` (`FORMATS`); the file appears complete or
    not at all. Returns the number of points. Without `names`, only the content's SHA-256
    says which file a point is."""
    places = iter_places(store)
    with atomic_output(Path(out_path), "w", encoding="utf-8", newline="\n") as fh:
        if fmt == "geojson":
            return write_geojson(places, fh, names=names)
        title = f"Vigil places, case {store.meta().get('case_uuid')}"
        return write_kml(places, fh, title=title, names=names)
