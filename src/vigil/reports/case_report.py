"""The case report as one self-contained HTML file (inline CSS and SVG charts, a CSP that lets
nothing load, no script) or as JSON, both from `case_data.gather`. By default not one image
byte is written; blurred previews are small greyscale copies of the stored review thumbnails.
"""

from __future__ import annotations

import base64
import io
import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from PIL import Image, ImageFilter

from vigil.store import CaseStore

PREVIEW_SIDE = 48  # pixels: enough to tell a document from a photo, not to see a person
PREVIEW_BLUR = 3.0
PREVIEW_QUALITY = 40
MAX_BARS = 120  # timeline bars; more days are grouped by month, then by year
CHART_W, CHART_H = 900, 200
MAP_W = 900
_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 45, 90)

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["n"] = lambda value: f"{value:,}"


def _blurred(path: Path) -> str | None:
    try:
        with Image.open(path) as img:
            img.draft("L", (PREVIEW_SIDE * 2, PREVIEW_SIDE * 2))
            small = img.convert("L")
            small.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
            small = small.filter(ImageFilter.GaussianBlur(PREVIEW_BLUR))
            buf = io.BytesIO()
            small.save(buf, format="JPEG", quality=PREVIEW_QUALITY)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None  # missing or unreadable: the report says "no stored thumbnail"
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def blurred_previews(store: CaseStore, data: dict[str, Any]) -> dict[str, str]:
    """sha256 → data: URI of a blurred greyscale copy of the stored thumbnail, for the files
    the report's queue names. Never reads evidence: a content without a thumbnail gets none."""
    out: dict[str, str] = {}
    for item in data["queue"]["items"]:
        for named in item["files"]:
            sha256 = named.get("sha256")
            if not sha256 or sha256 in out:
                continue
            try:
                path = store.thumbnail_path(sha256)
            except ValueError:
                continue
            if (uri := _blurred(path)) is not None:
                out[sha256] = uri
    return out


def _buckets(days: list[dict[str, Any]]) -> tuple[str, list[tuple[str, int, int]]]:
    """Every day (or month, or year) from the first dated one to the last, empty ones too, so
    the bars' axis is linear in time; at most about `MAX_BARS` of them."""
    first, last = date.fromisoformat(days[0]["date"]), date.fromisoformat(days[-1]["date"])
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    if (last - first).days < MAX_BARS:
        unit, width = "day", 10
        keys = [
            date.fromordinal(o).isoformat() for o in range(first.toordinal(), last.toordinal() + 1)
        ]
    elif months <= MAX_BARS:
        unit, width = "month", 7
        start = first.year * 12 + first.month - 1
        keys = [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(start, start + months)]
    else:
        unit, width = "year", 4
        keys = [f"{y:04d}" for y in range(first.year, last.year + 1)]
    counts = {key: [0, 0] for key in keys}
    for day in days:
        counts[day["date"][:width]][0] += day["exif"]
        counts[day["date"][:width]][1] += day["mtime"]
    return unit, [(key, e, m) for key, (e, m) in counts.items()]


def timeline_chart(timeline: dict[str, Any]) -> dict[str, Any] | None:
    """Stacked bars (EXIF date below, mtime above) in CHART_W × CHART_H user units."""
    if not timeline["days"]:
        return None
    unit, buckets = _buckets(timeline["days"])
    top = max(e + m for _, e, m in buckets) or 1
    step = CHART_W / len(buckets)
    bars = []
    for i, (label, exif, mtime) in enumerate(buckets):
        h_exif, h_mtime = exif / top * CHART_H, mtime / top * CHART_H
        bars.append(
            {"label": label, "exif": exif, "mtime": mtime, "x": i * step, "w": max(step - 1, 0.5)}
            | {"h_exif": h_exif, "h_mtime": h_mtime, "y_exif": CHART_H - h_exif}
            | {"y_mtime": CHART_H - h_exif - h_mtime}
        )
    every = math.ceil(len(bars) / 8)
    ticks = [{"x": b["x"] + step / 2, "label": b["label"]} for b in bars[::every]]
    return {"unit": unit, "bars": bars, "ticks": ticks, "top": top, "w": CHART_W, "h": CHART_H}


def bar_rows(rows: list[dict[str, Any]], key: str, width: float = 140) -> list[dict[str, Any]]:
    """Horizontal bars for a counts table: each row's label, count and bar length."""
    top = max((r["files"] for r in rows), default=0) or 1
    return [
        {"label": str(r[key]), "files": r["files"], "w": r["files"] / top * width} for r in rows
    ]


def _step(span: float) -> float:
    return next((s for s in _STEPS if span / s <= 8), _STEPS[-1])


def _frame(points: list[dict[str, Any]]) -> tuple[float, float, float, float, float]:
    """West, north, longitude span, latitude span and height of an equirectangular frame
    around the points, true to shape at their middle latitude, 35–70 % as tall as wide."""
    lats, lons = [p["lat"] for p in points], [p["lon"] for p in points]
    lat_mid, lon_mid = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    lat_span = max(max(lats) - min(lats), 0.01) * 1.2
    lon_span = max(max(lons) - min(lons), 0.01) * 1.2
    squeeze = max(math.cos(math.radians(lat_mid)), 0.1)
    ratio = lat_span / (lon_span * squeeze)
    if ratio > 0.7:
        lon_span, ratio = lat_span / (0.7 * squeeze), 0.7
    elif ratio < 0.35:
        lat_span, ratio = 0.35 * lon_span * squeeze, 0.35
    return lon_mid - lon_span / 2, lat_mid + lat_span / 2, lon_span, lat_span, MAP_W * ratio


def map_chart(places: dict[str, Any]) -> dict[str, Any] | None:
    """The GPS points on a longitude/latitude graticule: no tiles, no coastlines."""
    points = places["points"]
    if not points:
        return None
    west, north, lon_span, lat_span, height = _frame(points)
    step = _step(max(lon_span, lat_span))
    digits = max(0, -math.floor(math.log10(step)))

    def x(lon: float) -> float:
        return (lon - west) / lon_span * MAP_W

    def y(lat: float) -> float:
        return (north - lat) / lat_span * height

    def lines(low: float, span: float) -> list[float]:
        first = math.ceil(low / step)
        return [k * step for k in range(first, math.floor((low + span) / step) + 1)]

    return {
        "w": MAP_W,
        "h": height,
        "meridians": [{"x": x(v), "label": f"{v:.{digits}f}°"} for v in lines(west, lon_span)],
        "parallels": [
            {"y": y(v), "label": f"{v:.{digits}f}°"} for v in lines(north - lat_span, lat_span)
        ],
        "dots": [{"x": x(p["lon"]), "y": y(p["lat"])} | p for p in points],
    }


def render_html(data: dict[str, Any], previews: dict[str, str] | None = None) -> str:
    """The report page. `previews` (sha256 → data: URI) None: no image at all."""
    return _ENV.get_template("report.html.j2").render(
        data=data,
        previews=previews,
        timeline=timeline_chart(data["timeline"]),
        map=map_chart(data["places"]),
        kinds=bar_rows(data["by_kind"], "kind"),
        statuses=bar_rows(data["by_status"], "status"),
        categories=bar_rows(data["by_category"], "label"),
    )


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
