"""What ingest does with a video: probe facts and vPDQ frame hashes on the record, the frames
stored once per content and equal to `vigil.hashing.vpdq` run on the file itself, a contact
sheet as the review thumbnail, and broken or hostile videos ending in a reason. Every video
is generated here (a few seconds at 160×120)."""

from __future__ import annotations

import io
import zipfile
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.evidence.test_disk_helpers import fat
from tests.pipeline.test_ingest import NullProgress, rows
from vigil.config import Limits, Settings
from vigil.hashing.vpdq import VpdqAlgorithm
from vigil.media import video as mv
from vigil.pipeline.executor import InlineExecutor
from vigil.pipeline.imaging import video_algorithm
from vigil.pipeline.ingest import IngestSummary, ingest
from vigil.store import CaseStore
from vigil.store.queries import iter_frame_hashes, video_convention
from vigil.store.schema import files, video_frames, video_hashes
from vigil.synthetic import videos as sv

FPS = 10


@cache
def clip(seed: int, seconds: float = 5.0, container: str = "mp4", **kw: object) -> bytes:
    return sv.video(seed, 160, 120, seconds, FPS, container=container, **kw)


def reference(data: bytes) -> list[tuple[int, float, int, str]]:
    """vPDQ run directly on the bytes, as ingest's defaults run it."""
    result = VpdqAlgorithm().hash_stream(io.BytesIO(data))
    return [(f.frame_number or 0, f.timestamp, f.quality, f.pdq) for f in result.frames]


def run(case: Path, source: Path, settings: Settings | None = None) -> IngestSummary:
    with CaseStore.open(case) as store:
        return ingest(
            store,
            [str(source)],
            settings or Settings(),
            progress=NullProgress(),
            executor=InlineExecutor(),
        )


def stored_frames(case: Path, sha256: str) -> list[tuple[int, float, int, str]]:
    with CaseStore.open(case) as store:
        return list(iter_frame_hashes(store, sha256, batch=3))  # pages of 3: keyset works


def table_counts(case: Path) -> tuple[int, int, int]:
    with CaseStore.open(case) as store, store.engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (files, video_hashes, video_frames)
        )  # type: ignore[return-value]


@pytest.fixture
def case(tmp_path: Path, db_url: str | None) -> Path:
    path = tmp_path / "case"
    CaseStore.create(path, name="test", db_url=db_url).close()
    return path


@pytest.fixture
def sqlite_case(tmp_path: Path) -> Path:
    path = tmp_path / "case"
    CaseStore.create(path, name="test").close()
    return path


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    root = tmp_path / "evidence"
    root.mkdir()
    (root / "clip.mp4").write_bytes(clip(1))
    (root / "copy of clip.mp4").write_bytes(clip(1))
    with zipfile.ZipFile(root / "clips.zip", "w") as z:
        z.writestr("inner/b.mkv", clip(2, 4.0, "matroska"))
    half = clip(3, 6.0, "matroska")
    (root / "cut.mkv").write_bytes(half[: len(half) // 2])
    mp4 = clip(3, 6.0)
    (root / "cut.mp4").write_bytes(mp4[: len(mp4) // 2])  # its index was at the end
    (root / "voice.m4a").write_bytes(sv.audio_only(1.0))
    (root / "empty.mp4").write_bytes(b"")
    (root / "noise.mp4").write_bytes(bytes(range(256)) * 8)
    return root


def test_videos_in_a_folder_and_a_zip_get_probe_facts_and_stored_frame_hashes(
    case: Path, evidence: Path
) -> None:
    run(case, evidence)
    by_path = {r["path"]: r for r in rows(case)}
    mp4, member = by_path["clip.mp4"], by_path["clips.zip!inner/b.mkv"]
    assert (mp4["kind"], mp4["status"], mp4["error"]) == ("video", "ok", None)
    assert (mp4["codec"], mp4["fps"], mp4["width"], mp4["height"]) == ("h264", 10.0, 160, 120)
    assert mp4["duration"] == pytest.approx(5.0, abs=0.15)
    assert mp4["frames_hashed"] == 5  # one a second: frames 0, 10, 20, 30, 40
    assert (member["status"], member["codec"], member["frames_hashed"]) == ("ok", "h264", 4)
    assert member["duration"] == pytest.approx(4.0, abs=0.15)
    for row, data in ((mp4, clip(1)), (member, clip(2, 4.0, "matroska"))):
        frames = stored_frames(case, row["sha256"])
        assert frames == reference(data)
        assert [f[0] for f in frames] == [10 * i for i in range(len(frames))]
        with CaseStore.open(case) as store:
            assert video_convention(store, row["sha256"]) == video_algorithm(Limits()).convention
    # two copies of one content: one header, its frames once
    assert by_path["copy of clip.mp4"]["sha256"] == mp4["sha256"]
    assert by_path["copy of clip.mp4"]["frames_hashed"] == 5
    assert table_counts(case)[1:] == (3, 5 + 4 + by_path["cut.mkv"]["frames_hashed"])
    # non-videos have no video fields
    assert by_path["clips.zip"]["frames_hashed"] is None
    assert by_path["clips.zip"]["duration"] is None


def test_the_contact_sheet_is_the_review_thumbnail(case: Path, evidence: Path) -> None:
    run(case, evidence)
    with CaseStore.open(case) as store, store.engine.connect() as conn:
        sha256, thumb = conn.execute(
            select(files.c.sha256, files.c.thumbnail).where(files.c.path == "clip.mp4")
        ).one()
        sheet = Image.open(store.thumbnail_path(sha256))
    assert thumb is not None and sheet.format == "JPEG"
    # 5 frames hashed: a row of 4 cells as wide as an image's thumbnail, then one more row
    assert sheet.width == 4 * Limits().thumbnail_size and sheet.height > 2 * 192


def test_broken_silent_empty_and_fake_videos_get_reasons_and_the_run_goes_on(
    case: Path, evidence: Path
) -> None:
    summary = run(case, evidence)
    by_path = {r["path"]: r for r in rows(case)}
    assert summary.records == len(by_path) == 9
    cut = by_path["cut.mkv"]
    assert cut["status"] == "error" and cut["error"].split(":")[0] in (
        "truncated video",
        "corrupt video",
    )
    assert 1 <= cut["frames_hashed"] < 6  # what decoded before the cut is kept
    assert stored_frames(case, cut["sha256"]) == reference(
        evidence.joinpath("cut.mkv").read_bytes()
    )
    index_gone = by_path["cut.mp4"]
    assert index_gone["status"] == "error" and index_gone["error"].startswith("unreadable video")
    assert index_gone["frames_hashed"] == 0 and index_gone["sha256"]
    voice = by_path["voice.m4a"]
    assert (voice["kind"], voice["status"], voice["error"]) == (
        "video",
        "skipped",
        "no video stream",
    )
    assert by_path["empty.mp4"]["error"] == "empty file"
    assert by_path["empty.mp4"]["frames_hashed"] is None
    assert by_path["noise.mp4"]["error"] == "unrecognised content: the name claims video"
    assert by_path["clip.mp4"]["status"] == "ok"


def test_a_rerun_adds_nothing(case: Path, evidence: Path) -> None:
    run(case, evidence)
    before = table_counts(case)
    again = run(case, evidence)
    assert again.records == 0 and again.already_done == again.files_seen
    assert table_counts(case) == before


def test_the_frame_budget_setting_stops_hashing_and_says_so(case: Path, tmp_path: Path) -> None:
    root = tmp_path / "long"
    root.mkdir()
    (root / "clip.mp4").write_bytes(clip(1))
    run(case, root, Settings(limits=Limits(video_max_frames=2)))
    (row,) = rows(case)
    assert row["status"] == "error" and row["error"].startswith("frame budget")
    assert row["frames_hashed"] == 2
    assert stored_frames(case, row["sha256"]) == reference(clip(1))[:2]


def test_the_time_budget_setting_stops_decoding_and_says_so(
    sqlite_case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = reference(clip(1))
    ticks = iter(range(10**6))  # the video module's clock: a second passes at every look
    monkeypatch.setattr(mv, "time", SimpleNamespace(monotonic=lambda: float(next(ticks))))
    root = tmp_path / "slow"
    root.mkdir()
    (root / "clip.mp4").write_bytes(clip(1))
    run(sqlite_case, root, Settings(limits=Limits(video_max_seconds=65)))
    (row,) = rows(sqlite_case)
    assert row["status"] == "error" and row["error"] == "time budget: 65 s"
    assert 1 <= row["frames_hashed"] < 5  # about one look at the clock per packet
    assert stored_frames(sqlite_case, row["sha256"]) == expected[: row["frames_hashed"]]


def test_a_video_inside_a_disk_image_is_hashed_through_the_image(
    sqlite_case: Path, tmp_path: Path
) -> None:
    root = tmp_path / "seized"
    root.mkdir()
    fat(root / "usb.img", {"DCIM/MOV_0001.MP4": clip(4, 3.0)})
    run(sqlite_case, root)
    (row,) = [r for r in rows(sqlite_case) if r["path"].endswith("MOV_0001.MP4")]
    assert (row["status"], row["codec"], row["frames_hashed"]) == ("ok", "h264", 3)
    assert stored_frames(sqlite_case, row["sha256"]) == reference(clip(4, 3.0))


def test_a_video_member_over_member_max_bytes_is_hashed_but_not_decoded(
    sqlite_case: Path, tmp_path: Path
) -> None:
    root = tmp_path / "big"
    root.mkdir()
    data = clip(1)
    with zipfile.ZipFile(root / "a.zip", "w") as z:
        z.writestr("big.mp4", data)
    run(sqlite_case, root, Settings(limits=Limits(member_max_bytes=len(data) - 1)))
    member = {r["path"]: r for r in rows(sqlite_case)}["a.zip!big.mp4"]
    assert member["status"] == "skipped" and member["sha256"]
    assert member["error"] == f"video larger than member_max_bytes ({len(data) - 1}): not decoded"
    assert member["frames_hashed"] is None
