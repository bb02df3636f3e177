import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import gradient_image, image_bytes, snapshot
from vigil.config import Settings
from vigil.pipeline.executor import InlineExecutor
from vigil.pipeline.ingest import ingest
from vigil.store import CaseStore, iter_files

VIGIL = str(Path(sys.executable).with_name("vigil"))


class NullProgress:
    def __init__(self):
        self.files = 0

    def totals(self, files, nbytes, final):
        self.total = files

    def advance(self, files, nbytes):
        self.files += files


def make_collection(root: Path, images: int = 6) -> Path:
    (root / "DCIM").mkdir(parents=True)
    for i in range(images):
        (root / "DCIM" / f"IMG_{i:04}.JPG").write_bytes(image_bytes(gradient_image(i), "JPEG"))
    (root / "copy.jpg").write_bytes((root / "DCIM" / "IMG_0000.JPG").read_bytes())
    with zipfile.ZipFile(root / "album.zip", "w") as z:
        z.writestr("a/one.png", image_bytes(gradient_image(50), "PNG"))
        z.writestr("b/two.gif", image_bytes(gradient_image(51), "GIF"))
    (root / "empty.bin").write_bytes(b"")
    (root / "broken.jpg").write_bytes(image_bytes(gradient_image(9), "JPEG")[:900])
    with open(os.path.join(os.fsencode(root), b"caf\xe9.png"), "wb") as f:
        f.write(image_bytes(gradient_image(60), "PNG"))
    os.symlink("/etc/hostname", root / "link-out")
    os.mkfifo(root / "pipe")
    return root


def run_ingest(case: Path, *sources: Path):
    with CaseStore.open(case) as store:
        return ingest(
            store,
            [str(s) for s in sources],
            Settings(),
            progress=NullProgress(),
            executor=InlineExecutor(),
        )


def rows(case: Path) -> list[dict]:
    with CaseStore.open(case) as store:
        return list(iter_files(store))


@pytest.fixture
def case(tmp_path, db_url) -> Path:
    """A case on SQLite and, in a second run of the test, on PostgreSQL."""
    path = tmp_path / "case"
    CaseStore.create(path, name="test", db_url=db_url).close()
    return path


@pytest.fixture
def sqlite_case(tmp_path) -> Path:
    path = tmp_path / "case"
    CaseStore.create(path, name="test").close()
    return path


def test_every_entry_gets_a_record_and_evidence_is_untouched(tmp_path, case):
    src = make_collection(tmp_path / "evidence")
    before = snapshot(src)
    summary = run_ingest(case, src)
    assert snapshot(src) == before
    by_path = {r["path"]: r for r in rows(case)}
    assert set(by_path) == {
        *(f"DCIM/IMG_{i:04}.JPG" for i in range(6)),
        "copy.jpg",
        "album.zip",
        "album.zip!a/one.png",
        "album.zip!b/two.gif",
        "empty.bin",
        "broken.jpg",
        "caf\\xe9.png",
        "link-out",
        "pipe",
    }
    assert summary.records == len(by_path)
    assert by_path["copy.jpg"]["sha256"] == by_path["DCIM/IMG_0000.JPG"]["sha256"]
    assert by_path["album.zip!b/two.gif"]["kind"] == "image"
    assert by_path["album.zip!b/two.gif"]["pdq"]
    assert by_path["broken.jpg"]["status"] == "error"
    assert by_path["empty.bin"]["status"] == "skipped"
    assert by_path["pipe"]["status"] == "skipped"
    assert by_path["link-out"]["status"] == "skipped"
    assert {r["source"] for r in by_path.values()} == {str(src)}


def test_reingesting_a_finished_source_adds_nothing(tmp_path, case):
    src = make_collection(tmp_path / "evidence")
    first = run_ingest(case, src)
    again = run_ingest(case, src)
    assert again.records == 0
    assert again.already_done == first.files_seen
    assert len(rows(case)) == first.records


def test_a_single_file_and_an_archive_can_be_sources(tmp_path, case):
    src = make_collection(tmp_path / "evidence")
    run_ingest(case, src / "album.zip", src / "copy.jpg")
    assert {r["path"] for r in rows(case)} == {
        "album.zip",
        "album.zip!a/one.png",
        "album.zip!b/two.gif",
        "copy.jpg",
    }


def _done(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("select count(*) from done").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def kill_9_part_way(cmd: list[str], env: dict, db: Path, *, after: int) -> int:
    """Run `cmd` and kill -9 it once `after` items are done; the done count at the kill.

    The run moves only in 5 ms slices between SIGCONT and SIGSTOP, and is stopped whenever
    the test looks: however fast the machine, it cannot finish between two looks, and the
    kill lands on a run known to be part-way."""
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        os.killpg(proc.pid, signal.SIGSTOP)
        if _done(db) >= after or proc.poll() is not None:
            break
        os.killpg(proc.pid, signal.SIGCONT)
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return _done(db)


@pytest.mark.slow
def test_kill_9_then_rerun_finishes_without_duplicates_or_rehashing(tmp_path, sqlite_case):
    case = sqlite_case
    src = tmp_path / "many"
    src.mkdir()
    for i in range(400):
        (src / f"{i:04}.png").write_bytes(image_bytes(gradient_image(i, (160, 120)), "PNG"))
    env = dict(os.environ, VIGIL_BATCH_SIZE="20")
    cmd = [VIGIL, "ingest", str(case), str(src), "--workers", "1"]
    done_at_kill = kill_9_part_way(cmd, env, case / "case.db", after=40)
    assert 0 < done_at_kill < 400, "the run was not interrupted mid-way"

    subprocess.run(cmd, env=env, check=True, capture_output=True)
    paths = Counter(r["path"] for r in rows(case))
    assert len(paths) == 400 and max(paths.values()) == 1
    with sqlite3.connect(case / "case.db") as conn:
        runs = conn.execute("select status, counts from runs order by id").fetchall()
    assert runs[0][0] == "interrupted"  # marked by the next run, which holds the writer lock

    second = json.loads(runs[1][1])
    assert runs[1][0] == "completed"
    assert second["already_done"] == done_at_kill
    assert second["records"] == 400 - done_at_kill
