"""Read side: done_tops, iter_files (streamed export), case_summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, func, select

from vigil.config import Settings
from vigil.model import FileRecord, Kind, Status
from vigil.store import EXPORT_FIELDS, CaseStore, RecordWriter, case_summary, done_tops, iter_files
from vigil.store.queries import iter_frame_hashes, video_convention
from vigil.store.schema import video_frames

MakeRecord = Callable[..., FileRecord]

FIELDS = [
    "source",
    "path",
    "size",
    "md5",
    "sha1",
    "sha256",
    "mime",
    "kind",
    "status",
    "error",
    "width",
    "height",
    "pdq",
    "pdq_quality",
    "exif",
    "matches",
    "category",
    "category_source",
    "state",
    "review_reason",
    "group",
    "warnings",
    "deleted",
    "inode",
    "duration",
    "fps",
    "codec",
    "frames_hashed",
]


def test_done_tops(store: CaseStore, make_record: MakeRecord) -> None:
    with RecordWriter(store, batch_size=100) as writer:
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        other = writer.source_id("other", "/evidence/other", single_file=False)
        for i in range(0, 1000, 2):
            writer.add(sid, f"f{i}".encode(), [make_record(f"f{i}")])
        writer.add(other, b"f1", [make_record("f1")])
    asked = [f"f{i}".encode() for i in range(500)]
    with store.engine.connect() as conn:
        assert done_tops(conn, sid, asked) == {f"f{i}".encode() for i in range(0, 500, 2)}
        assert done_tops(conn, other, asked) == {b"f1"}
        assert done_tops(conn, sid, []) == set()
    assert done_tops(store, sid, [b"f998", b"nope"]) == {b"f998"}


def test_done_tops_is_an_index_lookup(store: CaseStore) -> None:
    """EXPLAIN the very statement done_tops sends, with its 500 parameters."""
    seen: list[tuple[str, Any]] = []

    def spy(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if "FROM done" in statement:
            seen.append((statement, parameters))

    with store.engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", spy)
        done_tops(conn, 1, [str(i).encode() for i in range(500)])
        event.remove(conn, "before_cursor_execute", spy)
        ((statement, parameters),) = seen
        if conn.dialect.name == "sqlite":
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            detail = " ".join(str(row[-1]) for row in plan)
            assert "SEARCH done USING PRIMARY KEY (source_id=? AND top_key=?)" in detail
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # the table is empty
            plan = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars().all()
            assert "pk_done" in " ".join(plan)


def fill(store: CaseStore, make_record: MakeRecord) -> None:
    with RecordWriter(store, batch_size=4) as writer:
        a = writer.source_id("./photos", "/evidence/photos", single_file=False)
        b = writer.source_id("phone.zip", "/evidence", single_file=True)
        writer.add(a, b"ok.jpg", [make_record("ok.jpg", size=100, exif={"Make": "Nikon"})])
        writer.add(
            b,
            b"phone.zip",
            [
                make_record("phone.zip", size=1000, mime="application/zip", kind=Kind.ARCHIVE),
                make_record("phone.zip", "DCIM/é.jpg", size=200, exif={"Artist": "Zoë 名前"}),
                make_record("phone.zip", "DCIM/\xff.jpg".encode("latin-1"), size=300),
            ],
        )
        writer.add(
            a, b"dup.jpg", [make_record("dup.jpg", size=100, sha256=make_record("ok.jpg").sha256)]
        )
        writer.add(
            a,
            b"bad.jpg",
            [
                make_record(
                    "bad.jpg", size=50, status=Status.ERROR, error="truncated image: 12 bytes"
                )
            ],
        )
        writer.add(
            a,
            b"bad2.jpg",
            [
                make_record(
                    "bad2.jpg", size=None, status=Status.ERROR, error="truncated image: 99 bytes"
                )
            ],
        )
        writer.add(
            a, b"enc.zip", [make_record("enc.zip", size=70, status=Status.ERROR, error="encrypted")]
        )
        writer.add(
            a,
            b"fifo",
            [make_record("fifo", size=5, status=Status.SKIPPED, error="fifo", sha256=None)],
        )


def test_iter_files_fields_and_order(store: CaseStore, make_record: MakeRecord) -> None:
    fill(store, make_record)
    rows = list(iter_files(store, batch=3))
    assert list(EXPORT_FIELDS) == FIELDS
    assert all(list(row) == FIELDS for row in rows)
    assert [r["path"] for r in rows] == [
        "ok.jpg",
        "phone.zip",
        "phone.zip!DCIM/é.jpg",
        "phone.zip!DCIM/\\xff.jpg",
        "dup.jpg",
        "bad.jpg",
        "bad2.jpg",
        "enc.zip",
        "fifo",
    ]
    assert [r["source"] for r in rows[:3]] == ["./photos", "phone.zip", "phone.zip"]
    first = rows[0]
    expected = make_record("ok.jpg", size=100)
    assert first["size"] == 100 and first["md5"] == expected.md5 and first["sha256"]
    assert (first["kind"], first["status"], first["error"]) == ("image", "ok", None)
    assert (first["width"], first["height"], first["pdq_quality"]) == (64, 48, 100)
    assert first["matches"] == [] and first["category"] is None
    assert rows[2]["exif"] == {"Artist": "Zoë 名前"}
    assert rows[1]["exif"] == {}
    back = json.loads(json.dumps(rows, ensure_ascii=False))
    assert back == rows


def test_iter_files_pages_with_keyset_queries(store: CaseStore, make_record: MakeRecord) -> None:
    fill(store, make_record)
    statements: list[str] = []

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM files" in statement:
            statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", spy)
    try:
        rows = iter_files(store, batch=4)
        assert next(rows)["path"] == "ok.jpg"
        assert len(statements) == 1, "the first page is fetched lazily, alone"
        assert len(list(rows)) == 8
    finally:
        event.remove(store.engine, "before_cursor_execute", spy)
    assert len(statements) == 4  # 4 + 4 + 1 rows, then an empty page
    assert all("files.id >" in s and "LIMIT" in s for s in statements)


def test_iter_files_matches_hook(store: CaseStore, make_record: MakeRecord) -> None:
    fill(store, make_record)

    def lookup(conn: Any, ids: list[int]) -> dict[int, list[Any]]:
        return {ids[0]: [{"hash_set": "demo", "distance": 0}]}

    rows = list(iter_files(store, batch=5, matches=lookup))
    assert rows[0]["matches"] == [{"hash_set": "demo", "distance": 0}]
    assert rows[5]["matches"] == [{"hash_set": "demo", "distance": 0}]
    assert rows[1]["matches"] == []


def test_iter_files_empty(store: CaseStore) -> None:
    assert list(iter_files(store)) == []


def test_case_summary(store: CaseStore, make_record: MakeRecord) -> None:
    fill(store, make_record)
    with RecordWriter(store) as writer:
        writer.start_run(["vigil", "ingest"], settings=Settings())
        writer.finish_run("completed", {"files": 9})
    summary = case_summary(store)
    assert summary["name"] == "Test case"
    assert summary["created_at"] == store.meta()["created_at"]
    assert summary["sources"] == [
        {"given": "./photos", "root": "/evidence/photos", "files": 6},
        {"given": "phone.zip", "root": "/evidence", "files": 3},
    ]
    assert summary["files"] == 9
    # ok: 100 + 1000 + 200 + 300 + 100 (duplicate counted again); error: 50 + 70; skipped: no
    assert summary["bytes"] == 1820
    assert summary["unique_sha256"] == 7  # 8 with a digest, one duplicate
    assert summary["by_kind"] == {"image": 8, "archive": 1}
    assert summary["by_status"] == {"ok": 5, "error": 3, "skipped": 1}
    assert summary["errors_by_reason"] == {"truncated image": 2, "encrypted": 1, "fifo": 1}
    assert list(summary["errors_by_reason"]) == ["truncated image", "encrypted", "fifo"]
    assert [r["status"] for r in summary["runs"]] == ["completed"]
    assert summary["runs"][0]["argv"] == ["vigil", "ingest"]
    assert summary["runs"][0]["counts"] == {"files": 9}
    provenance = summary["runs"][0]["provenance"]
    assert provenance["settings"]["batch_size"] == Settings().batch_size
    assert provenance["versions"]["vigil"] and provenance["host"] and provenance["database"]


def test_case_summary_of_empty_case(store: CaseStore) -> None:
    summary = case_summary(store)
    assert summary["files"] == 0 and summary["bytes"] == 0 and summary["sources"] == []
    assert summary["by_kind"] == {} and summary["errors_by_reason"] == {}


def frames_of(seed: int, count: int) -> list[tuple[int, float, int, str]]:
    return [(10 * i, float(i), 90, f"{seed:02x}{i:062x}") for i in range(count)]


def test_video_frames_are_stored_once_per_content_and_streamed_in_frame_order(
    store: CaseStore, make_record: MakeRecord, monkeypatch
) -> None:
    monkeypatch.setattr("vigil.store.writer.FRAME_BATCH", 25)
    monkeypatch.setattr("vigil.store.writer._FRAME_ROWS", 7)  # several INSERTs per video
    video = {"kind": Kind.VIDEO, "mime": "video/mp4", "vpdq_version": "vpdq-test/1"}
    long_one = frames_of(1, 30)
    with RecordWriter(store, batch_size=100) as writer:
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        writer.add(sid, b"a.mp4", [make_record("a.mp4", frame_hashes=long_one, **video)])
        # 30 frames pass FRAME_BATCH: flushed with 1 record of 100 buffered
        assert writer.pending == 0
        # a second copy of a.mp4's content (stored frames win), then two in one batch
        first = make_record("a.mp4")
        copy = make_record("b.mp4", frame_hashes=frames_of(9, 3), **video)
        copy.sha256 = first.sha256
        writer.add(sid, b"b.mp4", [copy])
        writer.add(sid, b"c.mp4", [make_record("c.mp4", frame_hashes=frames_of(2, 4), **video)])
        again = make_record("c2.mp4", frame_hashes=frames_of(3, 2), **video)
        again.sha256 = make_record("c.mp4").sha256
        writer.add(sid, b"c2.mp4", [again])
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(video_frames)).scalar_one() == 34
    assert list(iter_frame_hashes(store, str(first.sha256), batch=4)) == long_one
    c = make_record("c.mp4")
    assert list(iter_frame_hashes(store, str(c.sha256))) == frames_of(2, 4)
    assert video_convention(store, str(c.sha256)) == "vpdq-test/1"
    assert list(iter_frame_hashes(store, "0" * 64)) == []
    assert video_convention(store, "0" * 64) is None
