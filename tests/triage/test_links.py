"""Cross-case links on cases built by ingesting generated benign pictures: what two or three
cases share exactly and near-duplicate, what they never share (unique pictures, empty files),
and the camera bodies seen in both, on SQLite and with one case on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.pipeline.test_ingest import NullProgress
from vigil.config import Settings
from vigil.errors import ConfigError
from vigil.pipeline.executor import InlineExecutor
from vigil.pipeline.ingest import ingest
from vigil.store import CaseStore
from vigil.store.schema import files
from vigil.synthetic.images import (
    camera_exif,
    camera_jpeg,
    caption_bar,
    crop,
    encode,
    mirror,
    rotate90,
    scene,
)
from vigil.triage.links import CrossCase, Device, Link

W, H = 640, 480
NOTE = b"benign shared note\n"
BOTH_BODY = camera_exif(7)  # a camera body each case has its own pictures from


def photo(seed: int, quality: int = 90) -> bytes:
    return encode(scene(seed, W, H), "JPEG", quality=quality)


def edited(seed: int, edit) -> bytes:
    return encode(edit(scene(seed, W, H)), "JPEG", quality=85)


SHARED = camera_jpeg(1, W, H, exif=camera_exif(20))
CASE_A = {
    "DCIM/shared.jpg": SHARED,
    "copies/shared-again.jpg": SHARED,
    "notes.txt": NOTE,
    "DCIM/body.jpg": camera_jpeg(2, W, H, exif=BOTH_BODY),
    "DCIM/p4.jpg": photo(4),
    "DCIM/p5.jpg": photo(5),
    "DCIM/p6.jpg": photo(6),
    "DCIM/p12.jpg": photo(12),
    "DCIM/p13.jpg": photo(13),
    "only_a.png": encode(scene(10, W, H), "PNG"),
    "empty.bin": b"",
}
CASE_B = {
    "recv/shared.jpg": SHARED,
    "notes.txt": NOTE,
    "recv/body.jpg": camera_jpeg(3, W, H, exif=BOTH_BODY),
    "recv/other-body.jpg": camera_jpeg(8, W, H, exif=camera_exif(8)),
    "recv/resized.jpg": edited(4, lambda img: img.resize((400, 300))),
    "recv/captioned.jpg": edited(5, lambda img: caption_bar(img, 0.15)),
    "recv/cropped.jpg": edited(6, lambda img: crop(img, 0.1)),
    "recv/mirrored.jpg": edited(12, mirror),
    "recv/rotated.jpg": edited(13, rotate90),
    "only_b.png": encode(scene(11, W, H), "PNG"),
    "empty.bin": b"",
}
CASE_C = {"inbox/notes.txt": NOTE, "inbox/own.jpg": photo(30), "empty.bin": b""}
# (path in A, path in B) of every near-duplicate pair planted, and how each is edited.
NEAR = {
    ("DCIM/p4.jpg", "recv/resized.jpg"): "original",
    ("DCIM/p5.jpg", "recv/captioned.jpg"): "crop",
    ("DCIM/p6.jpg", "recv/cropped.jpg"): "crop",
    ("DCIM/p12.jpg", "recv/mirrored.jpg"): "mirror",
    ("DCIM/p13.jpg", "recv/rotated.jpg"): "rot",
}
NEVER = {"only_a.png", "only_b.png", "empty.bin", "DCIM/body.jpg", "recv/body.jpg"}


def make_case(tmp: Path, name: str, content: dict[str, bytes], db_url: str | None = None) -> Path:
    evidence = tmp / f"evidence-{name}"
    for rel, data in content.items():
        (evidence / rel).parent.mkdir(parents=True, exist_ok=True)
        (evidence / rel).write_bytes(data)
    case = tmp / name
    with CaseStore.create(case, name=name, db_url=db_url) as store:
        ingest(
            store, [str(evidence)], Settings(), progress=NullProgress(), executor=InlineExecutor()
        )
    return case


def run(cases: list[Path], **kw) -> tuple[list[Link], CrossCase]:
    stores = [CaseStore.open(case) for case in cases]
    try:
        linker = CrossCase(stores, **kw)
        return list(linker.links()), linker
    finally:
        for store in stores:
            store.close()


def paths(link: Link, name: str) -> list[str]:
    return link.cases[name].paths if name in link.cases else []


@pytest.fixture(scope="module")
def sqlite_cases(tmp_path_factory) -> Iterator[tuple[Path, Path, Path]]:
    tmp = tmp_path_factory.mktemp("links")
    yield make_case(tmp, "A", CASE_A), make_case(tmp, "B", CASE_B), make_case(tmp, "C", CASE_C)


def check_two_cases(links: list[Link], linker: CrossCase) -> None:
    exact = [link for link in links if link.kind == "exact"]
    assert sorted(paths(link, "A") for link in exact) == [
        ["DCIM/shared.jpg", "copies/shared-again.jpg"],
        ["notes.txt"],
    ]
    picture = next(link for link in exact if "DCIM/shared.jpg" in paths(link, "A"))
    assert picture.cases["A"].files == 2 and picture.cases["B"].paths == ["recv/shared.jpg"]
    body = Device("Vigil Test Cameras", "TC-3", "SN000020")
    assert picture.cases["A"].devices == picture.cases["B"].devices == [body]
    assert picture.distance == 0 and picture.transform == "original"

    near = {
        (paths(link, "A")[0], paths(link, "B")[0]): link for link in links if link.kind == "near"
    }
    assert set(near) == set(NEAR)
    for pair, edit in NEAR.items():
        link = near[pair]
        assert 0 <= link.distance <= 31 and link.transform.startswith(edit), (pair, link)
    # B's picture was turned a quarter anticlockwise: seen from A, A's is the other way round.
    rotated = near["DCIM/p13.jpg", "recv/rotated.jpg"]
    assert rotated.transform == ("rot90" if rotated.relative_to == "A" else "rot270")
    assert rotated.cases["A"].sha256 != rotated.cases["B"].sha256

    listed = {p for link in links for side in link.cases.values() for p in side.paths}
    assert not listed & NEVER
    (pair,) = linker.summary()
    assert (pair.cases, pair.exact, pair.near, pair.notes) == (("A", "B"), 2, 5, [])
    assert {(d.serial, a, b) for d, a, b in pair.devices} == {
        ("SN000007", 1, 1),  # no content in common, the same body
        ("SN000020", 2, 1),
    }


def test_two_sqlite_cases(sqlite_cases):
    links, linker = run(list(sqlite_cases[:2]))
    check_two_cases(links, linker)


def test_one_case_on_postgresql(tmp_path, pg_url):
    a = make_case(tmp_path, "A", CASE_A)
    b = make_case(tmp_path, "B", CASE_B, db_url=pg_url)
    links, linker = run([a, b])
    check_two_cases(links, linker)


def test_three_cases(sqlite_cases):
    links, linker = run(list(sqlite_cases))
    (note,) = [link for link in links if "notes.txt" in paths(link, "A")]
    assert set(note.cases) == {"A", "B", "C"} and note.cases["C"].paths == ["inbox/notes.txt"]
    assert not any("inbox/own.jpg" in paths(link, "C") for link in links)
    counts = {pair.cases: (pair.exact, pair.near) for pair in linker.summary()}
    assert counts == {("A", "B"): (2, 5), ("A", "C"): (1, 0), ("B", "C"): (1, 0)}


def test_limit_lists_fewer_links_but_counts_them_all(sqlite_cases):
    stores = [CaseStore.open(case) for case in sqlite_cases[:2]]
    try:
        linker = CrossCase(stores)
        assert len(list(linker.links(limit=3))) == 3
        (pair,) = linker.summary()
        assert (pair.exact, pair.near) == (2, 5)
    finally:
        for store in stores:
            store.close()


def test_paths_are_capped_and_series_come_from_the_hook(sqlite_cases):
    asked = []

    def series(store: CaseStore, ids: list[int]) -> list[str]:
        asked.append((store.case_dir.name, ids))
        return [f"series-{store.case_dir.name}-{len(ids)}"]

    links, _ = run(list(sqlite_cases[:2]), series=series, max_paths=1)
    picture = next(link for link in links if link.kind == "exact" and link.cases["A"].files == 2)
    assert picture.cases["A"].paths == ["DCIM/shared.jpg"] and len(picture.cases["A"].ids) == 1
    assert picture.cases["A"].series == ["series-A-1"]
    assert ("A", picture.cases["A"].ids) in asked


def test_pictures_hashed_another_way_are_not_compared(tmp_path):
    a = make_case(tmp_path, "A", CASE_A)
    b = make_case(tmp_path, "B", CASE_B)
    with CaseStore.open(b) as store, store.engine.begin() as conn:
        for path, column, value in (
            ("recv/resized.jpg", "pdq_version", "pdqhash-9.9/rgb-full/dihedral-dct"),
            ("recv/captioned.jpg", "windows_version", "windows-9/other"),
        ):
            conn.execute(update(files).where(files.c.path == path).values({column: value}))
    links, linker = run([a, b])
    near = {paths(link, "B")[0] for link in links if link.kind == "near"}
    assert near == {"recv/cropped.jpg", "recv/mirrored.jpg", "recv/rotated.jpg"}
    (pair,) = linker.summary()
    assert pair.exact == 2 and pair.near == 3
    pdq, window = pair.notes
    assert pdq.startswith("PDQ hashes made under different conventions") and "pdqhash-9.9" in pdq
    assert window.startswith("window hashes") and "windows-9/other" in window


def test_a_pair_is_compared_at_the_stricter_settings_of_its_cases(tmp_path):
    a = make_case(tmp_path, "A", CASE_A)
    b = make_case(tmp_path, "B", CASE_B)
    (a / "vigil.toml").write_text("pdq_threshold = 10\npdq_min_quality = 70\n", "utf-8")
    with CaseStore.open(b) as store, store.engine.begin() as conn:
        conn.execute(update(files).where(files.c.path == "recv/resized.jpg").values(pdq_quality=60))
    links, _ = run([a, b])
    near = {paths(link, "B")[0]: link.distance for link in links if link.kind == "near"}
    # resized: quality 60 is below A's floor; cropped: farther than A's threshold
    assert set(near) == {"recv/captioned.jpg", "recv/mirrored.jpg", "recv/rotated.jpg"}
    assert max(near.values()) <= 10


def test_the_same_case_twice_or_alone_is_refused(sqlite_cases):
    with CaseStore.open(sqlite_cases[0]) as one, CaseStore.open(sqlite_cases[0]) as again:
        with pytest.raises(ConfigError, match="the same case twice"):
            CrossCase([one, again])
        with pytest.raises(ConfigError, match="two or more"):
            CrossCase([one])
