"""The case report: its data equals what a generated collection planted (counts, days, GPS
points, a single-file source's hash), its HTML holds no resource reference and no pixel unless
blurred previews are asked for, hostile names are escaped, and a browser renders it offline."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from vigil.cli.app import app
from vigil.reports.case_data import TriageFacts, gather
from vigil.reports.case_report import (
    PREVIEW_SIDE,
    blurred_previews,
    render_html,
    render_json,
)
from vigil.reports.places import iter_places
from vigil.store import CaseStore
from vigil.synthetic.images import camera_jpeg, encode, scene

HOSTILE = "<script>alert(1)</script>.jpg"
# name → (EXIF date, lat, lon); every photo is from one body and has GPS, south and west too
PHOTOS = {
    "DCIM/IMG_0001.JPG": ("2022:03:05 10:00:00", -33.865, 151.209),
    "DCIM/IMG_0002.JPG": ("2022:03:05 23:59:00", 51.5, -0.125),
    "DCIM/IMG_0003.JPG": ("2022:03:07 08:30:00", 48.85, 2.35),
    HOSTILE: ("2022:03:07 09:00:00", 45.0, 7.5),
}
PNG_MTIME = datetime(2023, 6, 1, 12, 0, tzinfo=UTC).timestamp()  # two PNGs without EXIF
EMPTY_MTIME = datetime(2023, 6, 2, 12, 0, tzinfo=UTC).timestamp()
runner = CliRunner()


def vigil(*args: object, code: int = 0) -> Any:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def exif(when: str, lat: float | None = None, lon: float | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "Make": "Vigil Test Cameras",
        "Model": "TC-1",
        "BodySerialNumber": "SN000001",
        "DateTimeOriginal": when,
    }
    if lat is not None:
        values |= {"GPSLatitude": lat, "GPSLongitude": lon}
    return values


def build_evidence(root: Path) -> Path:
    """Four geotagged photos (one under a hostile name) and a copy of the first, a photo with
    a date and no GPS, two PNGs known only by mtime, a note, an empty file."""
    root.mkdir(parents=True)
    for i, (name, (when, lat, lon)) in enumerate(PHOTOS.items()):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(camera_jpeg(i, 320, 240, exif=exif(when, lat, lon)))
    shutil.copyfile(root / "DCIM/IMG_0001.JPG", root / "copy of IMG_0001.JPG")
    (root / "DCIM/IMG_0005.JPG").write_bytes(
        camera_jpeg(5, 320, 240, exif=exif("2022:03:06 12:00:00"))
    )
    for i in (6, 7):
        png = root / f"Pictures/scan_{i}.png"
        png.parent.mkdir(exist_ok=True)
        png.write_bytes(encode(scene(i, 200, 150), "PNG"))
        os.utime(png, (PNG_MTIME, PNG_MTIME))
    (root / "notes.txt").write_text("a shopping list\n")
    (root / "empty.jpg").write_bytes(b"")
    os.utime(root / "empty.jpg", (EMPTY_MTIME, EMPTY_MTIME))
    return root


def build_case(tmp: Path, db_url: str | None = None) -> Path:
    """The evidence ingested, a single file as a second source, and a list naming IMG_0001."""
    evidence = build_evidence(tmp / "evidence")
    single = tmp / "loose.png"
    single.write_bytes(encode(scene(9, 120, 90), "PNG"))
    os.utime(single, (PNG_MTIME, PNG_MTIME))
    known = tmp / "partner.md5"
    known.write_text(
        f"{hashlib.md5((evidence / 'DCIM/IMG_0001.JPG').read_bytes()).hexdigest()}  x.jpg\n"
    )
    case = tmp / "case"
    db = ["--db", db_url] if db_url else []
    vigil("case", "create", case, "--name", "Operation Test", *db)
    as_cam = ("--format", "md5sum", "--name", "partner", "--kind", "alert", "--category", "1")
    vigil("hashset", "import", case, known, *as_cam)
    vigil("ingest", case, evidence, single, "--workers", "1")
    return case


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_case(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def data(case: Path) -> dict[str, Any]:
    with CaseStore.open(case) as store:
        return gather(store)


def test_counts_are_what_was_planted(data: dict[str, Any]) -> None:
    # 4 photos + copy + dated photo + 2 PNGs + loose.png = 9 images; a note; an empty file
    assert data["totals"]["files"] == 11
    assert {r["kind"]: r["files"] for r in data["by_kind"]}["image"] == 9
    assert {r["status"]: r["files"] for r in data["by_status"]} == {"ok": 10, "skipped": 1}
    assert data["errors"]["items"] == [{"reason": "empty file", "files": 1}]
    by_category = {r["category"]: (r["label"], r["files"]) for r in data["by_category"]}
    assert by_category[1] == ("Child Abuse Material (CAM)", 2)  # IMG_0001 and its copy
    assert by_category[0] == ("Non-Pertinent", 0)
    assert by_category[None] == ("uncategorised", 9)
    (partner,) = data["hashsets"]["items"]
    assert (partner["name"], partner["kind"], partner["files_matched"]) == ("partner", "alert", 2)
    assert data["case"]["name"] == "Operation Test"
    assert [c["code"] for c in data["case"]["category_scheme"]["labels"]] == [0, 1, 2, 3, 4]


def test_a_single_file_source_carries_its_hash(data: dict[str, Any], case: Path) -> None:
    folder, single = data["sources"]
    assert (folder["single_file"], folder["sha256"], folder["files"]) == (False, None, 10)
    raw = (case.parent / "loose.png").read_bytes()
    assert single["single_file"] and single["files"] == 1
    assert single["sha256"] == hashlib.sha256(raw).hexdigest()
    assert single["md5"] == hashlib.md5(raw).hexdigest()


def test_timeline_counts_exif_days_else_mtime(data: dict[str, Any]) -> None:
    assert data["timeline"]["days"] == [
        {"date": "2022-03-05", "exif": 3, "mtime": 0},  # IMG_0001, its copy, IMG_0002
        {"date": "2022-03-06", "exif": 1, "mtime": 0},
        {"date": "2022-03-07", "exif": 2, "mtime": 0},  # IMG_0003 and the hostile name
        {"date": "2023-06-01", "exif": 0, "mtime": 3},  # the two PNGs and loose.png
    ]  # not 2023-06-02: the empty .jpg is no picture, whatever its name says
    assert data["timeline"]["undated"] == 0


def test_places_are_the_planted_points(data: dict[str, Any]) -> None:
    got = sorted((p["path"], p["lat"], p["lon"]) for p in data["places"]["points"])
    want = sorted((name, lat, lon) for name, (_, lat, lon) in PHOTOS.items())
    want.append(("copy of IMG_0001.JPG", *PHOTOS["DCIM/IMG_0001.JPG"][1:]))
    assert [(p, round(la, 5), round(lo, 5)) for p, la, lo in got] == sorted(want)
    assert data["places"]["total"] == 5 and data["places"]["left_out"] == 0


def test_places_are_capped_with_the_number_left_out(case: Path) -> None:
    with CaseStore.open(case) as store:
        capped = gather(store, max_places=2)
    assert len(capped["places"]["points"]) == 2
    assert (capped["places"]["total"], capped["places"]["left_out"]) == (5, 3)


@pytest.mark.postgres
def test_postgresql_gives_the_same_data(data: dict[str, Any], tmp_path: Path, pg_url: str) -> None:
    with CaseStore.open(build_case(tmp_path, pg_url)) as store:
        other = gather(store)
        exported = [(p.path, p.lat, p.lon) for p in iter_places(store, page=2)]
    assert exported == [(p["path"], p["lat"], p["lon"]) for p in other["places"]["points"]]
    for key in ("totals", "by_kind", "by_status", "by_category", "errors", "timeline"):
        assert other[key] == data[key], key
    assert [h["files_matched"] for h in other["hashsets"]["items"]] == [2]
    assert [s["sha256"] for s in other["sources"]] == [s["sha256"] for s in data["sources"]]
    same = ("path", "lat", "lon", "sha256")
    assert [[p[k] for k in same] for p in other["places"]["points"]] == [
        [p[k] for k in same] for p in data["places"]["points"]
    ]


def test_json_carries_the_same_data(data: dict[str, Any]) -> None:
    assert json.loads(render_json(data)) == data


def test_html_fetches_nothing_and_holds_no_pixels(data: dict[str, Any]) -> None:
    html = render_html(data, None)
    assert "http://" not in html and "https://" not in html
    assert "<img" not in html and "data:image" not in html
    assert not re.search(r"\b(src|href|srcset|action)\s*=", html)
    assert "url(" not in html and "@import" not in html and "<script" not in html
    assert "default-src 'none'; style-src 'unsafe-inline'; img-src data:" in html
    assert html.count("<circle") == 5 and "No map tiles" in html


def test_hostile_names_are_escaped(data: dict[str, Any]) -> None:
    html = render_html(data, None)
    assert "alert(1)" in html  # the name is there …
    assert "<script>" not in html  # … as text only
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.jpg" in html


def queue_of(store: CaseStore, paths: list[str]) -> TriageFacts:
    from vigil.store import iter_files

    sha = {r["path"]: r["sha256"] for r in iter_files(store)}
    return TriageFacts(
        queue=[
            {"group": "S1", "kind": "series", "score": 0.9, "reasons": ["same camera"]}
            | {"files": [{"path": p, "sha256": sha[p]} for p in paths]}
        ]
    )


def test_blurred_previews_are_small_grey_and_only_from_thumbnails(case: Path) -> None:
    with CaseStore.open(case) as store:
        facts = queue_of(store, ["DCIM/IMG_0002.JPG", "DCIM/IMG_0003.JPG", "notes.txt"])
        data = gather(store, facts)
        previews = blurred_previews(store, data)
        photo = facts.queue[0]["files"][0]["sha256"]
        thumb = Image.open(store.thumbnail_path(photo)).convert("L")
    assert len(previews) == 2  # a note has no stored thumbnail, so no preview
    html = render_html(data, previews)
    assert html.count("<img") == 2 and "(no stored thumbnail)" in html
    uri = previews[photo]
    assert uri.startswith("data:image/jpeg;base64,")
    preview = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert preview.mode == "L" and max(preview.size) <= PREVIEW_SIDE < max(thumb.size)
    # blurred: neighbouring pixels differ far less than in the same-size sharp copy
    sharp = thumb.resize(preview.size)

    def roughness(img: Image.Image) -> float:
        return float(np.abs(np.diff(np.asarray(img, dtype=np.int16), axis=1)).mean())

    assert roughness(preview) < roughness(sharp) / 2


def test_triage_sections_are_bounded(case: Path) -> None:
    one = {"path": "x.jpg", "sha256": None}
    facts = TriageFacts(
        devices=[
            {"make": "M", "model": f"m{i}", "serial": None, "files": 1, "unmatched": 1}
            | {"matched": 0, "first": None, "last": None}
            for i in range(70)
        ],
        queue=[
            {"group": f"G{i}", "kind": "cluster", "score": i, "reasons": [], "files": [one] * 20}
            for i in range(150)
        ],
    )
    with CaseStore.open(case) as store:
        data = gather(store, facts)
    assert (data["devices"]["total"], len(data["devices"]["items"])) == (70, 50)
    assert (data["queue"]["total"], len(data["queue"]["items"])) == (150, 100)
    first = data["queue"]["items"][0]
    assert (len(first["files"]), first["files_total"]) == (12, 20)
    html = render_html(data, None)
    assert "and 8 more" in html and "50 of 70 devices shown" in html
    assert "The first 100 of 150 groups shown" in html
    assert "Triage has not run" not in html


def test_sections_say_when_triage_has_not_run(data: dict[str, Any]) -> None:
    assert render_html(data, None).count("Triage has not run on this case.") == 3


def test_a_browser_renders_it_offline(case: Path, tmp_path: Path) -> None:
    """With the page's CSP bypassed, every resource the page names would reach the router,
    so none must; with the CSP on, the browser must have nothing to block either."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.skip("no Chromium at /usr/bin/chromium (Debian package chromium)")
    with CaseStore.open(case) as store:
        data = gather(store, queue_of(store, ["DCIM/IMG_0002.JPG", HOSTILE]))
        html = render_html(data, blurred_previews(store, data))
    attempted: list[str] = []
    console: list[str] = []
    dialogs: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for bypass_csp in (True, False):
            context = browser.new_context(
                bypass_csp=bypass_csp, viewport={"width": 1100, "height": 900}
            )
            page = context.new_page()
            page.on("console", lambda message: console.append(message.text))
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.route("**/*", lambda route: (attempted.append(route.request.url), route.abort()))
            page.set_content(html, wait_until="load")
            circles = page.locator("svg circle").count()
            bars = page.locator("svg rect.exif").count()
            widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
            context.close()
            assert attempted == [] and console == [] and dialogs == [], (attempted, console)
            assert circles == 5 and bars >= 3
            assert len(widths) == 2 and all(0 < w <= PREVIEW_SIDE for w in widths)
        browser.close()
