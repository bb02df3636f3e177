"""RecordWriter: batching, atomic flushes, idempotent replay, crash safety, thumbnails, runs."""

from __future__ import annotations

import json
import platform
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, create_engine, event, func, make_url, select

import vigil
from vigil.config import Settings
from vigil.errors import StoreError
from vigil.model import Entry, FileRecord, Kind, Status
from vigil.store import CaseStore, RecordWriter, done_tops, iter_files
from vigil.store.provenance import store_url
from vigil.store.schema import done, files, runs, sources, video_frames

MakeRecord = Callable[..., FileRecord]


def count(store: CaseStore, table: object = files) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def archive(make_record: MakeRecord, name: str, members: int) -> list[FileRecord]:
    """One archive task: the archive's own record plus its members."""
    top = make_record(name, mime="application/zip", kind="archive")
    return [top] + [make_record(name, f"m{i}.jpg") for i in range(members)]


def test_records_wait_for_batch_size(store: CaseStore, make_record: MakeRecord) -> None:
    with RecordWriter(store, batch_size=10) as writer:
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        for i in range(9):
            writer.add(sid, f"f{i}".encode(), [make_record(f"f{i}")])
        assert count(store) == 0 and writer.pending == 9
        writer.add(sid, b"f9", [make_record("f9")])
        assert count(store) == 10 and writer.pending == 0
        writer.add(sid, b"g", [make_record("g")])
        writer.flush()
        assert count(store) == 11
        writer.add(sid, b"h", [make_record("h")])
    assert count(store) == 12, "leaving the with block flushes"


def test_a_big_task_is_one_transaction(store: CaseStore, make_record: MakeRecord) -> None:
    with RecordWriter(store, batch_size=5) as writer:
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        writer.add(sid, b"big.zip", archive(make_record, "big.zip", 12))
        assert count(store) == 13 and count(store, done) == 1


def test_replaying_a_batch_adds_nothing(store: CaseStore, make_record: MakeRecord) -> None:
    def ingest() -> list[int]:
        seen: list[int] = []
        with RecordWriter(store, batch_size=7) as writer:
            writer.on_flush = lambda conn, ids: seen.extend(ids)
            sid = writer.source_id("src", "/evidence/src", single_file=False)
            writer.add(sid, b"a.zip", archive(make_record, "a.zip", 5))
            for i in range(10):
                writer.add(sid, f"f{i}".encode(), [make_record(f"f{i}")])
        return seen

    first = ingest()
    assert len(first) == count(store) == 16
    assert ingest() == [], "a replay inserts no row and reports no new id"
    assert count(store) == 16 and count(store, done) == 11


def test_duplicate_within_one_batch(store: CaseStore, make_record: MakeRecord) -> None:
    with RecordWriter(store) as writer:
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        writer.add(sid, b"a", [make_record("a"), make_record("a")])
        writer.add(sid, b"a", [make_record("a")])
    assert count(store) == 1 and count(store, done) == 1


def test_same_locator_in_two_sources_is_two_rows(store: CaseStore, make_record: MakeRecord) -> None:
    with RecordWriter(store) as writer:
        one = writer.source_id("one", "/evidence/one", single_file=False)
        two = writer.source_id("two", "/evidence/two", single_file=False)
        writer.add(one, b"a", [make_record("a")])
        writer.add(two, b"a", [make_record("a")])
    assert count(store) == 2


@pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)
def test_unflushed_records_vanish_with_the_writer(
    store: CaseStore, case_dir: Path, make_record: MakeRecord
) -> None:
    writer = RecordWriter(store, batch_size=100)
    sid = writer.source_id("src", "/evidence/src", single_file=False)
    writer.add(sid, b"done.jpg", [make_record("done.jpg")])
    writer.flush()
    writer.add(sid, b"lost.zip", archive(make_record, "lost.zip", 3))
    del writer  # "crash": never flushed, never closed
    with CaseStore.open(case_dir) as reader, reader.engine.connect() as conn:
        assert done_tops(conn, sid, [b"done.jpg", b"lost.zip"]) == {b"done.jpg"}
    assert count(store) == 1


def test_failing_flush_rolls_back_rows_and_marks(store: CaseStore, make_record: MakeRecord) -> None:
    def explode(conn: Connection, ids: list[int]) -> None:
        raise RuntimeError("matcher failed")

    with pytest.raises(RuntimeError), RecordWriter(store) as writer:
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        writer.on_flush = explode
        writer.add(sid, b"a.zip", archive(make_record, "a.zip", 3))
        writer.flush()
    assert count(store) == 0 and count(store, done) == 0


CRASHING_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from vigil.config import Settings
    from vigil.model import FileRecord, Locator
    from vigil.store import CaseStore, RecordWriter

    def recs(top, n):
        loc = Locator(top)
        return [FileRecord(loc, size=1)] + [FileRecord(loc.child(b"m%d" % i)) for i in range(n)]

    store = CaseStore.open(sys.argv[1])
    writer = RecordWriter(store, batch_size=1000)
    writer.start_run(["ingest"], settings=Settings())
    sid = writer.source_id("src", "/evidence/src", single_file=False)
    writer.add(sid, b"first.zip", recs(b"first.zip", 50))
    writer.flush()
    writer.add(sid, b"second.zip", recs(b"second.zip", 50))
    writer.on_flush = lambda conn, ids: os.kill(os.getpid(), signal.SIGKILL)
    writer.flush()
    """
)


def test_kill_9_inside_a_flush(store: CaseStore, case_dir: Path) -> None:
    """A real kill -9 after the INSERTs, before COMMIT: the archive is all or nothing."""
    proc = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, str(case_dir)], capture_output=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    with store.engine.connect() as conn:
        sid = conn.execute(select(sources.c.id)).scalar_one()
        assert done_tops(conn, sid, [b"first.zip", b"second.zip"]) == {b"first.zip"}
        tops = conn.execute(select(files.c.top, func.count()).group_by(files.c.top)).all()
        assert {bytes(top): n for top, n in tops} == {b"first.zip": 51}
        run = conn.execute(select(runs.c.status)).scalar_one()
        assert run == "running", "a killed run stays 'running' for the next run to see"


def test_partial_tasks_are_not_done_until_marked(store: CaseStore, make_record: MakeRecord) -> None:
    with RecordWriter(store, batch_size=2) as writer:
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        chunk = archive(make_record, "huge.zip", 5)
        writer.add(sid, b"huge.zip", chunk[:3], done=False)
        assert done_tops(store, sid, [b"huge.zip"]) == set()
        writer.add(sid, b"huge.zip", chunk, done=True)  # replayed start is ignored
    assert count(store) == 6 and done_tops(store, sid, [b"huge.zip"]) == {b"huge.zip"}


def test_source_identity(store: CaseStore) -> None:
    with RecordWriter(store) as writer:
        a = writer.source_id("./evidence", "/cases/evidence", single_file=False)
        assert writer.source_id("/cases/evidence/", "/cases/evidence", single_file=False) == a
        f1 = writer.source_id("phone/IMG_1.jpg", "/cases/phone", single_file=True)
        f2 = writer.source_id("/cases/phone/IMG_2.jpg", "/cases/phone", single_file=True)
        assert len({a, f1, f2}) == 3
        assert writer.source_id("IMG_1.jpg", "/cases/phone", single_file=True) == f1
        weird = writer.source_id("caf\udce9", "/cases/caf\udce9", single_file=False)
    with store.engine.connect() as conn:
        row = conn.execute(select(sources).where(sources.c.id == weird)).one()
    assert row.given == "caf\\xe9" and row.root == "/cases/caf\\xe9"
    assert bytes(row.root_raw) == b"/cases/caf\xe9"
    assert row.single_file is False


def test_thumbnails_written_once_with_relative_path(
    store: CaseStore, make_record: MakeRecord
) -> None:
    jpeg = b"\xff\xd8\xff\xe0fake-jpeg"
    a = make_record("a.jpg", thumbnail=jpeg)
    b = make_record("copy-of-a.jpg", sha256=a.sha256, thumbnail=jpeg)
    with RecordWriter(store) as writer:
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        writer.add(sid, b"a.jpg", [a])
        writer.add(sid, b"copy-of-a.jpg", [b])
        writer.add(sid, b"none.jpg", [make_record("none.jpg")])
    path = store.thumbnail_path(str(a.sha256))
    assert path.read_bytes() == jpeg
    assert [p.name for p in store.thumbs_dir.rglob("*")] == [path.parent.name, path.name]
    with store.engine.connect() as conn:
        stored = conn.execute(select(files.c.thumbnail).order_by(files.c.id)).scalars().all()
    expected = f"thumbs/{a.sha256[:2]}/{a.sha256}.jpg"
    assert stored == [expected, expected, None]
    assert (store.case_dir / expected).is_file()


def test_run_lifecycle(store: CaseStore) -> None:
    with RecordWriter(store) as writer:
        run_id = writer.start_run(["vigil", "ingest", "case", "/evidence/ü"], settings=Settings())
        writer.finish_run("completed", {"files": 3, "errors": 1})
    with pytest.raises(KeyboardInterrupt), RecordWriter(store) as writer:
        writer.start_run(["second"], settings=Settings())
        raise KeyboardInterrupt
    with pytest.raises(ValueError), RecordWriter(store) as writer:
        writer.start_run(["third"], settings=Settings())
        writer.finish_run("bogus", {})
    with store.engine.connect() as conn:
        rows = conn.execute(select(runs).order_by(runs.c.id)).all()
    assert rows[0].id == run_id
    assert json.loads(rows[0].argv) == ["vigil", "ingest", "case", "/evidence/ü"]
    assert json.loads(rows[0].counts) == {"files": 3, "errors": 1}
    assert rows[0].finished_at >= rows[0].started_at
    assert [r.status for r in rows] == ["completed", "interrupted", "failed"]


def test_run_records_its_provenance(store: CaseStore, db_url: str | None) -> None:
    settings = Settings(batch_size=7, pdq_threshold=20)
    with RecordWriter(store) as writer:
        writer.start_run(["vigil", "ingest"], settings=settings)
    with store.engine.connect() as conn:
        provenance = json.loads(conn.execute(select(runs.c.provenance)).scalar_one())
    assert provenance["versions"]["vigil"] == vigil.__version__
    assert provenance["versions"]["python"] == platform.python_version()
    assert {"pdqhash", "pillow", "libjpeg-turbo", "numpy", "sqlalchemy"} <= set(
        provenance["versions"]
    )
    assert provenance["host"] == socket.gethostname()
    assert provenance["user"] and provenance["platform"] == platform.platform()
    assert provenance["settings"]["batch_size"] == 7
    assert provenance["settings"]["pdq_threshold"] == 20
    assert provenance["settings"]["limits"]["pdq_decode_size"] == 512
    if db_url is None:
        assert provenance["store"] == f"sqlite:///{store.case_dir / 'case.db'}"
        assert provenance["database"].startswith("SQLite 3.")
    else:  # the case's URL as given, without the driver name
        assert provenance["store"] == db_url
        assert provenance["database"].startswith("PostgreSQL ")


def test_store_url_never_holds_a_password(tmp_path: Path) -> None:
    """Case URLs refuse a password at create and open; store_url drops one all the same."""
    url = make_url("postgresql+psycopg://investigator:secret@db.lab:5433/case7")
    engine = create_engine(url)
    try:
        shown = store_url(CaseStore(tmp_path, engine, url))
    finally:
        engine.dispose()
    assert shown == "postgresql://investigator@db.lab:5433/case7"


def test_records_carry_their_run(store: CaseStore, make_record: MakeRecord) -> None:
    with RecordWriter(store) as writer:
        run_id = writer.start_run(["ingest"], settings=Settings())
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        writer.add(sid, b"a", [make_record("a")])
        writer.finish_run("completed", {})
    with store.engine.connect() as conn:
        assert conn.execute(select(files.c.run_id)).scalar_one() == run_id


def test_hostile_names_and_text(store: CaseStore, make_record: MakeRecord) -> None:
    """5 kB member names (over PostgreSQL's btree limit), NUL and undecodable text."""
    long_member = b"d/" * 2500 + b"x.jpg"
    rec = make_record(
        b"bad\xff.zip",
        long_member,
        status=Status.ERROR,
        error="truncated: got \0 and \udcff",
        link_target="/tmp/\udce9\ud800",
        exif={"Comment": "a\0b\udcff", "Bytes": b"\x00\xfe", "Tuple": (1, 2)},
    )
    with RecordWriter(store) as writer:
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        writer.add(sid, b"bad\xff.zip", [rec])
        writer.add(sid, b"bad\xff.zip", [rec])
    (row,) = list(iter_files(store))
    assert row["path"] == "bad\\xff.zip!" + long_member.decode()
    assert row["error"] == "truncated: got \\x00 and \\xff"
    with store.engine.connect() as conn:
        assert conn.execute(select(files.c.link_target)).scalar() == "/tmp/\\xe9\\ud800"
    assert row["exif"] == {"Comment": "a\0b\udcff", "Bytes": "\x00\\xfe", "Tuple": [1, 2]}


def test_ten_thousand_records(store: CaseStore, make_record: MakeRecord) -> None:
    with RecordWriter(store, batch_size=500) as writer:
        writer.start_run(["bulk"], settings=Settings())
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        for i in range(10_000):
            name = f"dir{i % 37}/file{i}.jpg"
            writer.add(sid, name.encode(), [make_record(name, size=i)])
    assert count(store) == 10_000 and count(store, done) == 10_000
    with store.engine.connect() as conn:
        assert conn.execute(select(func.sum(files.c.size))).scalar_one() == sum(range(10_000))


def test_database_errors_become_store_errors(store: CaseStore, make_record: MakeRecord) -> None:
    with pytest.raises(StoreError, match=r"(?i)foreign key"), RecordWriter(store) as writer:
        writer.start_run(["ingest"], settings=Settings())
        writer.add(999, b"a", [make_record("a")])  # no such source
        writer.flush()
    assert count(store) == 0
    with store.engine.connect() as conn:
        assert conn.execute(select(runs.c.status)).scalar_one() == "failed"


def test_writer_needs_at_least_one_per_batch(store: CaseStore) -> None:
    with pytest.raises(ValueError):
        RecordWriter(store, batch_size=0)


def test_readers_see_committed_rows_while_writer_is_open(
    store: CaseStore, case_dir: Path, make_record: MakeRecord
) -> None:
    with RecordWriter(store) as writer, CaseStore.open(case_dir) as reader:
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        writer.add(sid, b"a", [make_record("a")])
        writer.flush()
        writer.add(sid, b"b", [make_record("b")])
        assert [r["path"] for r in iter_files(reader)] == ["a"]


def test_one_writer_per_case(store: CaseStore, case_dir: Path) -> None:
    with (
        RecordWriter(store),
        CaseStore.open(case_dir) as other,
        pytest.raises(StoreError, match="another Vigil process is writing"),
    ):
        RecordWriter(other)
    with RecordWriter(store):
        pass


def test_a_resumed_batch_reports_only_its_new_rows_in_order(
    store: CaseStore, make_record: MakeRecord
) -> None:
    """A batch mixing rows a killed run already stored with new ones, new rows first in the
    buffer: only the new ones are inserted, and on_flush gets their ids in buffer order."""
    with RecordWriter(store) as writer:
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        writer.add(sid, b"old.zip", archive(make_record, "old.zip", 3))
    seen: list[int] = []
    with RecordWriter(store) as writer:
        writer.on_flush = lambda conn, ids: seen.extend(ids)
        writer.add(sid, b"new2", [make_record("new2")])
        writer.add(sid, b"old.zip", archive(make_record, "old.zip", 3))
        writer.add(sid, b"new1", [make_record("new1")])
    with store.engine.connect() as conn:
        paths = {i: path for i, path in conn.execute(select(files.c.id, files.c.path))}
    assert [paths[i] for i in seen] == ["new2", "new1"] and seen == sorted(seen)
    assert count(store) == 6 and count(store, done) == 3


def test_a_failed_flush_leaves_nothing_behind_for_the_next(
    store: CaseStore, make_record: MakeRecord
) -> None:
    """The buffer survives a failed flush and the retry writes it once; nothing of the
    failed attempt (PostgreSQL's staged COPY rows included) leaks into a later flush."""
    failures = [RuntimeError("matcher failed")]

    def flaky(conn: Connection, ids: list[int]) -> None:
        if failures:
            raise failures.pop()

    with RecordWriter(store) as writer:
        sid = writer.source_id("src", "/evidence/src", single_file=False)
        writer.on_flush = flaky
        writer.add(sid, b"a.zip", archive(make_record, "a.zip", 3))
        with pytest.raises(RuntimeError):
            writer.flush()
        assert count(store) == 0 and writer.pending == 4
        writer.flush()
        writer.add(sid, b"b", [make_record("b")])
    assert count(store) == 5 and count(store, done) == 2


def _varied_records(make_record: MakeRecord) -> list[tuple[bytes, list[FileRecord]]]:
    """Tasks whose rows exercise every column type and COPY's text escapes."""
    frames = [(n, n / 25, 90 - n, f"{n:064x}") for n in range(40)]
    video = make_record(
        "clip.mp4",
        kind=Kind.VIDEO,
        mime="video/mp4",
        duration=1.6,
        fps=25.0,
        codec="h264",
        frames_hashed=40,
        frame_hashes=frames,
        vpdq_version="vpdq-test",
    )
    odd = make_record(
        b"odd\tab\t\n\\.zip",
        b"m\x00\xff\r\n",
        status=Status.ERROR,
        error="tab\there\nnewline \\N back\\slash \0 \udcff",
        link_target="\\N",
        exif={"make": " Cam\tera ", "model": "M\n1", "gps": {"lat": 51.5, "lon": -0.1}},
        warnings=["w\t1", "w\\2"],
        entry=Entry.SYMLINK,
        encrypted=True,
        deleted=True,
        inode=2**40,
        mtime=1.5e9,
        size=None,
        pdq_dihedral=("a" * 64,) * 8,
    )
    return [
        (b"clip.mp4", [video, make_record("copy.mp4", sha256=video.sha256, frame_hashes=frames)]),
        (b"odd\tab\t\n\\.zip", [make_record(b"odd\tab\t\n\\.zip"), odd, odd]),
        (b"plain.jpg", [make_record("plain.jpg")]),
    ]


@contextmanager
def _statements(store: CaseStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """What the writer sends: SQLAlchemy's statements (with executemany or not) and the
    COPY statements psycopg runs."""
    seen: dict[str, Any] = {"execute": [], "copy": []}
    real_copy = psycopg.Cursor.copy

    def copy(self: psycopg.Cursor[Any], statement: Any, *args: Any, **kwargs: Any) -> Any:
        seen["copy"].append(statement.as_string(self))
        return real_copy(self, statement, *args, **kwargs)

    def before(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        seen["execute"].append((statement, many))

    monkeypatch.setattr(psycopg.Cursor, "copy", copy)
    event.listen(store.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", before)


@pytest.mark.postgres
def test_postgresql_writes_the_big_tables_with_copy_and_the_same_rows(
    tmp_path: Path, pg_url: str, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = _varied_records(make_record)
    stored = []
    for name, db_url in (("lite", None), ("pg", pg_url)):
        with CaseStore.create(tmp_path / name, name=name, db_url=db_url) as store:
            with _statements(store, monkeypatch) as seen, RecordWriter(store) as writer:
                writer.start_run(["ingest"], settings=Settings())
                sid = writer.source_id("src", "/evidence/src", single_file=False)
                for top, records in tasks:
                    writer.add(sid, top, records)
                    writer.add(sid, top, records)  # replayed in the same batch
                writer.flush()
                writer.add(sid, tasks[0][0], tasks[0][1])  # replayed in a later batch
            with store.engine.connect() as conn:
                rows = conn.execute(select(files).order_by(files.c.id)).mappings().all()
                stored.append(
                    (
                        [{k: v for k, v in row.items() if k != "id"} for row in rows],
                        conn.execute(
                            select(video_frames).order_by(video_frames.c.frame_number)
                        ).all(),
                        sorted(tuple(row) for row in conn.execute(select(done))),
                    )
                )
        if db_url is None:
            assert seen["copy"] == [], "SQLite keeps its INSERTs"
            continue
        copied = " ".join(seen["copy"])
        assert all(f'_vigil_stage_{t}"' in copied for t in ("files", "done", "video_frames"))
        many = [sql for sql, executemany in seen["execute"] if executemany]
        assert not [sql for sql in many if "INTO files " in sql or "INTO done " in sql]
    lite, pg = stored
    assert len(lite[0]) == 5 and len(lite[1]) == 40 and len(lite[2]) == 3
    assert pg == lite
