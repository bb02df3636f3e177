"""Groups (exact stacks, visual clusters, series), devices and the priority queue (issue 8), on
a generated collection with planted near-copies, camera bodies, a burst and a shared
thumbnail, ingested for real."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.helpers import image_bytes
from vigil.cli.app import app
from vigil.media.exif import build_exif_with_thumbnail
from vigil.store import CaseStore
from vigil.synthetic.images import caption_bar, crop, encode, exif_bytes, scene
from vigil.triage.devices import list_devices

runner = CliRunner()
MAKE = "Vigil Test Cameras"


def vigil(*args) -> str:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def records(case: Path) -> dict[str, dict]:
    return {r["path"]: r for r in map(json.loads, vigil("files", case).splitlines())}


def photo(seed: int, exif: dict | None = None, size=(640, 480), img=None) -> bytes:
    picture = img if img is not None else scene(seed, *size)
    extra = {"exif": exif_bytes(exif)} if exif else {}
    return encode(picture, "JPEG", quality=90, **extra)


def shot(model: str, when: str, serial: str | None = None) -> dict:
    values = {"Make": MAKE, "Model": model, "DateTimeOriginal": when}
    return values | ({"BodySerialNumber": serial} if serial else {})


def with_thumbnail(seed: int, thumb: bytes) -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = MAKE, "TC-7"
    return encode(
        scene(seed, 640, 480), "JPEG", quality=90, exif=build_exif_with_thumbnail(thumb, exif)
    )


def write(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("grouping")
    original = scene(10, 800, 600)
    thumb = image_bytes(scene(40, 160, 120), "JPEG", quality=80)
    evidence = write(
        tmp / "evidence",
        {
            "a/original.jpg": photo(10, img=original),
            "a/again.jpg": photo(10, img=original),  # identical bytes: one exact stack
            "b/smaller.jpg": photo(0, img=original.resize((400, 300))),
            "b/cropped.jpg": photo(0, img=crop(original, 0.16)),
            "b/captioned.jpg": photo(0, img=caption_bar(original, 0.15)),
            "c/unrelated.jpg": photo(11),
            "body/one.jpg": photo(20, shot("TC-1", "2024:05:01 10:00:00", "SN-BODY-1")),
            "elsewhere/two.jpg": photo(21, shot("TC-1", "2025:01:09 18:30:00", "SN-BODY-1")),
            "body/other.jpg": photo(22, shot("TC-1", "2024:05:01 10:00:30", "SN-OTHER")),
            "burst/1.jpg": photo(30, shot("TC-9", "2023:03:03 12:00:00")),
            "burst/2.jpg": photo(31, shot("TC-9", "2023:03:03 12:00:05")),
            "burst/3.jpg": photo(32, shot("TC-9", "2023:03:03 13:00:00")),
            "thumbs/x.jpg": with_thumbnail(50, thumb),
            "thumbs/y.jpg": with_thumbnail(51, thumb),
        },
    )
    known = tmp / "known.md5"
    known.write_bytes(
        f"{hashlib.md5((evidence / 'body/one.jpg').read_bytes()).hexdigest()}  one.jpg\n".encode()
    )
    c = tmp / "case"
    vigil("case", "create", c)
    vigil("hashset", "import", c, known, "--kind", "alert", "--category", "1", "--name", "known")
    vigil("ingest", c, evidence, "--workers", "1")
    return c


def test_exact_copies_and_near_copies_share_one_group(case: Path) -> None:
    rows = records(case)
    group = rows["a/original.jpg"]["group"]
    assert rows["a/again.jpg"]["group"] == group
    assert group.startswith("c")
    for near in ("b/smaller.jpg", "b/cropped.jpg", "b/captioned.jpg"):
        assert rows[near]["group"] == group, near
    assert rows["c/unrelated.jpg"]["group"] != group


def test_series_ties_camera_body_burst_and_thumbnail_and_nothing_else(case: Path) -> None:
    rows = records(case)
    body = rows["body/one.jpg"]["group"]
    assert body.startswith("s") and rows["elsewhere/two.jpg"]["group"] == body
    assert rows["body/other.jpg"]["group"] != body  # same model, another body
    burst = rows["burst/1.jpg"]["group"]
    assert burst.startswith("s") and rows["burst/2.jpg"]["group"] == burst
    assert rows["burst/3.jpg"]["group"] not in (burst, body)  # an hour later
    thumbs = rows["thumbs/x.jpg"]["group"]
    assert thumbs.startswith("s") and rows["thumbs/y.jpg"]["group"] == thumbs
    assert len({body, burst, thumbs}) == 3


def test_groups_are_incremental_with_stable_labels(case: Path, tmp_path: Path) -> None:
    before = {p: r["group"] for p, r in records(case).items()}
    later = write(
        tmp_path / "later",
        {"copy.jpg": photo(0, img=scene(10, 800, 600).resize((560, 420))), "new.jpg": photo(12)},
    )
    vigil("ingest", case, later, "--workers", "1")
    after = records(case)
    assert {p: after[p]["group"] for p in before} == before
    assert after["copy.jpg"]["group"] == before["a/original.jpg"]
    assert after["new.jpg"]["group"] not in before.values()


def test_devices_count_each_body_and_say_which_made_matched_material(case: Path) -> None:
    with CaseStore.open(case) as store:
        found = {(d["model"], d["serial"]): d for d in list_devices(store)}
    one = found[("TC-1", "SN-BODY-1")]
    assert (one["files"], one["matched"], one["unmatched"]) == (2, 1, 1)
    assert one["also_matched"] and (one["first"], one["last"]) == (
        "2024-05-01T10:00:00",
        "2025-01-09T18:30:00",
    )
    assert not found[("TC-1", "SN-OTHER")]["also_matched"]
    burst = found[("TC-9", None)]
    assert burst["files"] == 3 and not burst["one_body"]


def queue(case: Path, *extra) -> list[dict]:
    return [
        json.loads(line) for line in vigil("queue", case, "--format", "jsonl", *extra).splitlines()
    ]


def test_the_queue_puts_the_body_that_made_known_material_first(case: Path) -> None:
    items = queue(case, "--limit", "0")
    assert all(
        set(i) == {"group", "kind", "score", "reasons", "files", "file_count"} for i in items
    )
    top = items[0]
    rows = records(case)
    assert top["group"] == rows["body/one.jpg"]["group"] and top["kind"] == "series"
    assert any("also made matched material" in r for r in top["reasons"])
    assert sorted(top["files"]) == ["body/one.jpg", "elsewhere/two.jpg"]
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    listed = {p: i["group"] for i in items for p in i["files"]}
    review = {p for p, r in rows.items() if r["state"] == "review" and r["kind"] == "image"}
    assert review <= set(listed)  # every picture that needs a human is in the queue
    assert all(rows[p]["group"] == g for p, g in listed.items())  # with all of its group
    assert "body/one.jpg" in listed and rows["body/one.jpg"]["state"] == "matched"


def test_queue_weights_come_from_vigil_toml(case: Path) -> None:
    toml = case / "vigil.toml"
    toml.write_text("[triage.weights]\ndevice_with_matched = 0\nsize = 50\n")
    try:
        top = queue(case, "--limit", "1")[0]
        assert top["kind"] == "cluster" and top["file_count"] >= 5  # the biggest group now
        toml.write_text("[triage.weights]\nhurry = 3\n")
        result = runner.invoke(app, ["queue", str(case)])
        assert result.exit_code == 2 and "unknown triage weight(s) hurry" in result.output
    finally:
        toml.unlink()


def test_a_group_decision_empties_it_from_the_queue(case: Path) -> None:
    label = records(case)["burst/1.jpg"]["group"]
    assert label in {i["group"] for i in queue(case, "--limit", "0")}
    vigil("decide", case, "--group", label, "--category", "0", "--by", "ana")
    rows = records(case)
    assert rows["burst/2.jpg"]["state"] == "decided"
    assert label not in {i["group"] for i in queue(case, "--limit", "0")}
