"""Known videos from vPDQ lists recognised in a case: a clip cut from a known video and a
lower-resolution copy of it match with the percentages the reference's rule gives and the
list's category; an unrelated video and a list of only low-quality frames match nothing; a
re-match (`vigil match`) finds the same rows and a video ingested after the list. Every video
is generated here (160×120, 10 frames a second, one frame hashed a second). SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select
from typer.testing import CliRunner

from tests.pipeline.test_video_ingest import run
from vigil.cli.app import app
from vigil.config import Settings
from vigil.hashing.vpdq import FrameHash, VpdqAlgorithm
from vigil.hashsets.video_entry import VideoHashRecord
from vigil.hashsets.vpdq_json import write_signals
from vigil.hashsets.vpdq_text import write_text
from vigil.pipeline import video_matcher
from vigil.pipeline.hashset_flows import import_and_match
from vigil.pipeline.matcher import match_case
from vigil.store import CaseStore
from vigil.store.schema import files, known_video_frames, known_videos, matches
from vigil.synthetic import videos as sv

FPS = 10
KNOWN_SECONDS = 12


@cache
def known() -> bytes:
    return sv.video(1, 160, 120, KNOWN_SECONDS, FPS)


@cache
def clip() -> bytes:
    """Seconds 4 to 8 of the known video, encoded again on their own."""
    return sv.encode(sv.cut(sv.moving_frames(1, 160, 120, KNOWN_SECONDS, FPS), FPS, 4, 8), fps=FPS)


@cache
def small_copy() -> bytes:
    return sv.video(1, 160, 120, KNOWN_SECONDS, FPS, edit=lambda f: sv.rescale(f, 96, 72))


@cache
def unrelated() -> bytes:
    return sv.video(7, 160, 120, 6, FPS)


def known_frames() -> tuple[FrameHash, ...]:
    return VpdqAlgorithm().hash_stream(io.BytesIO(known())).frames


def write_list(path: Path, frames: tuple[FrameHash, ...]) -> Path:
    with open(path, "w") as fh:
        write_text(frames, fh)
    return path


@pytest.fixture
def case(tmp_path: Path, db_url: str | None) -> Path:
    path = tmp_path / "case"
    CaseStore.create(path, name="test", db_url=db_url).close()
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "clip.mp4").write_bytes(clip())
    (evidence / "small.mp4").write_bytes(small_copy())
    (evidence / "other.mp4").write_bytes(unrelated())
    run(path, evidence)
    return path


def video_matches(case: Path) -> dict[str, dict]:
    with CaseStore.open(case) as store, store.engine.connect() as conn:
        rows = conn.execute(
            select(files.c.path, matches).join(files, files.c.id == matches.c.file_id)
        ).all()
    return {row.path: dict(row._mapping) for row in rows}


def categories(case: Path) -> dict[str, int | None]:
    with CaseStore.open(case) as store, store.engine.connect() as conn:
        return dict(conn.execute(select(files.c.path, files.c.category)).all())


def test_a_clip_and_a_small_copy_of_a_known_video_match_with_the_lists_category(
    case: Path, tmp_path: Path, compared: list[int]
) -> None:
    frames = known_frames()
    assert len(frames) == KNOWN_SECONDS and min(f.quality for f in frames) >= 50
    listed = write_list(tmp_path / "known-videos.txt", frames)
    with CaseStore.open(case) as store:
        outcome = import_and_match(store, listed, category=1)
        assert (outcome.info.format, outcome.info.kind, outcome.info.entries) == (
            "vpdq",
            "alert",
            1,
        )
        with store.engine.connect() as conn:
            assert conn.execute(select(known_videos.c.frames)).scalars().all() == [KNOWN_SECONDS]
            stored = conn.execute(
                select(known_video_frames.c.pdq).order_by(known_video_frames.c.position)
            ).scalars()
            assert list(stored) == [f.pdq for f in frames]
    assert outcome.summary.added == 2
    found = video_matches(case)
    assert set(found) == {"clip.mp4", "small.mp4"}
    cut = found["clip.mp4"]
    assert (cut["algorithm"], cut["category"], cut["strength"]) == ("vpdq", 1, "strong")
    # All four frames of the clip are in the known video, and four of its twelve in the clip:
    # its seconds 4 to 7 are the clip's 0 to 3.
    assert cut["query_match"] == 100.0
    assert cut["compared_match"] == pytest.approx(100 * 4 / 12, abs=0.001)
    assert json.loads(cut["time_ranges"]) == {"query": [[0.0, 3.0]], "compared": [[4.0, 7.0]]}
    copy = found["small.mp4"]
    assert copy["query_match"] >= 90.0 and copy["compared_match"] >= 90.0
    assert categories(case) == {"clip.mp4": 1, "small.mp4": 1, "other.mp4": None}
    # Only the candidates the frame index named were compared: not the unrelated video.
    assert compared == [1, 1]
    # `vigil files` shows the percentages and where the clip lies in the known video.
    listed_rows = CliRunner().invoke(app, ["files", str(case), "--format", "jsonl"]).stdout
    shown = {r["path"]: r["matches"] for r in map(json.loads, listed_rows.splitlines())}
    (clip_match,) = shown["clip.mp4"]
    assert clip_match["query_match"] == 100.0 and clip_match["algorithm"] == "vpdq"
    assert clip_match["time_ranges"] == {"query": [[0.0, 3.0]], "compared": [[4.0, 7.0]]}
    assert shown["other.mp4"] == []


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The known videos whose frames the video matcher read to compare, one per read."""
    seen: list[int] = []
    real = video_matcher.known_frames

    def counting(conn: Connection, entry_id: int) -> list[FrameHash]:
        seen.append(entry_id)
        return real(conn, entry_id)

    monkeypatch.setattr(video_matcher, "known_frames", counting)
    return seen


def test_the_compared_match_threshold_alone_refuses_a_clip(case: Path, tmp_path: Path) -> None:
    listed = write_list(tmp_path / "known.txt", known_frames())
    settings = replace(Settings(), video_query_match_percent=0)
    with CaseStore.open(case) as store:
        import_and_match(store, listed, category=1, settings=settings)
    assert set(video_matches(case)) == {"small.mp4"}
    with CaseStore.open(case) as store:
        summary = match_case(store, Settings())  # the defaults again: the clip's query match
    assert summary.added == 1 and summary.removed == 0
    assert set(video_matches(case)) == {"clip.mp4", "small.mp4"}


def test_a_list_of_only_low_quality_frames_matches_nothing(case: Path, tmp_path: Path) -> None:
    frames = tuple(replace(f, quality=49) for f in known_frames())
    listed = write_list(tmp_path / "flat.txt", frames)
    with CaseStore.open(case) as store:
        outcome = import_and_match(store, listed, fmt="vpdq", category=1)
    assert outcome.info.entries == 1 and outcome.summary.added == 0
    assert video_matches(case) == {}
    assert set(categories(case).values()) == {None}


def test_a_video_ingested_after_the_list_is_matched_by_the_ingest_and_again_by_vigil_match(
    tmp_path: Path, db_url: str | None
) -> None:
    case = tmp_path / "case"
    CaseStore.create(case, name="test", db_url=db_url).close()
    listed = write_list(tmp_path / "known.txt", known_frames())
    with CaseStore.open(case) as store:
        import_and_match(store, listed, category=1)
    later = tmp_path / "later"
    later.mkdir()
    (later / "clip.mp4").write_bytes(clip())
    run(case, later)
    assert categories(case) == {"clip.mp4": 1}  # matched at the end of the ingest
    with CaseStore.open(case) as store:
        summary = match_case(store)
    assert summary.found == {("known v1", "vpdq"): 1} and summary.added == 0
    assert categories(case) == {"clip.mp4": 1}


def test_vigil_hashset_import_of_a_vpdq_list_then_vigil_match(case: Path, tmp_path: Path) -> None:
    listed = write_list(tmp_path / "known.txt", known_frames())
    imported = CliRunner().invoke(
        app, ["hashset", "import", str(case), str(listed), "--category", "1"]
    )
    assert imported.exit_code == 0, imported.output
    assert "known version 1 (vpdq, alert): 1 videos" in imported.output
    assert "matched 3 case videos" in imported.output and "2 new matches" in imported.output
    again = CliRunner().invoke(app, ["match", str(case)])
    assert again.exit_code == 0, again.output
    assert "0 matches added, 0 updated, 0 removed" in again.output
    assert "known v1" in again.output and "vpdq" in again.output


def test_a_new_version_of_a_list_retires_the_old_videos_and_their_verdicts(
    case: Path, tmp_path: Path
) -> None:
    frames = known_frames()
    with CaseStore.open(case) as store:
        first = import_and_match(store, write_list(tmp_path / "known.txt", frames), category=1)
        flat = write_list(tmp_path / "flat.txt", tuple(replace(f, quality=0) for f in frames))
        second = import_and_match(store, flat, name="known", category=1)
        with store.engine.connect() as conn:
            kept = conn.execute(select(known_videos.c.hashset_id)).scalars().all()
            stored = conn.execute(select(func.count()).select_from(known_video_frames)).scalar()
    assert (first.info.version, second.info.version) == (1, 2)
    assert kept == [second.info.id] and stored == len(frames)
    assert set(categories(case).values()) == {None}  # version 1's rows are history only


def test_a_python_threatexchange_list_of_two_videos_is_sniffed_and_matched(
    case: Path, tmp_path: Path
) -> None:
    other = VpdqAlgorithm().hash_stream(io.BytesIO(sv.video(9, 160, 120, 6, FPS))).frames
    listed = tmp_path / "signals.txt"
    with open(listed, "w") as fh:
        write_signals([VideoHashRecord(other), VideoHashRecord(known_frames())], fh)
    with CaseStore.open(case) as store:
        outcome = import_and_match(store, listed, category=1)
        with store.engine.connect() as conn:
            sizes = dict(conn.execute(select(known_videos.c.entry_id, known_videos.c.frames)).all())
    assert (outcome.info.format, outcome.info.entries) == ("vpdq-json", 2)
    found = video_matches(case)
    assert set(found) == {"clip.mp4", "small.mp4"}
    assert {sizes[row["entry_id"]] for row in found.values()} == {KNOWN_SECONDS}
    assert found["clip.mp4"]["query_match"] == 100.0
