"""Review app latency on a large case: a grid page of a 1M-file case must answer well under a
second. Generated records (no images) are written through `RecordWriter` into a SQLite case,
states and categories set in bulk (85% matched, 10% review, 5% decided; some videos), then
grouped; the API is called in-process (FastAPI's TestClient, so no network in the figures).

Baseline, measured in the same run: the bare keyset query a grid page needs
(`SELECT … WHERE id > ? ORDER BY id LIMIT 100`) through SQLAlchemy. Each endpoint prints
p50/p95 in ms and p50 as a multiple of that baseline.

Usage: python benchmarks/web.py [--size 1000000] [--requests 50] [--keep DIR]
(`--keep DIR` reuses a case generated there by an earlier run.)
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from vigil.config import Settings
from vigil.model import FileRecord, Kind, Locator
from vigil.store import CaseStore, RecordWriter
from vigil.store.schema import files
from vigil.store.users import add_user
from vigil.triage.grouping import update_groups
from vigil.web import create_app

PASSWORD = "benchmark-password"


def generate(case: Path, size: int) -> None:
    store = CaseStore.create(case)
    rng = random.Random(7)
    with RecordWriter(store, batch_size=5000) as writer:
        source = writer.source_id("bench", "/bench", single_file=False)
        for i in range(size):
            kind = Kind.VIDEO if i % 20 == 0 else Kind.IMAGE
            pdq = f"{rng.getrandbits(256):064x}"
            rec = FileRecord(
                locator=Locator(f"d{i // 1000}/f{i}.jpg".encode()),
                size=1000 + i,
                sha256=f"{i:064x}",
                kind=kind,
                pdq=pdq if kind is Kind.IMAGE else None,
                pdq_quality=90 if kind is Kind.IMAGE else None,
                exif={"make": "Bench", "model": "B1", "serial": f"S{i % 50}"} if i % 7 == 0 else {},
            )
            writer.add(source, rec.locator.relpath, [rec])
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE files SET state = 'matched', category = 1 WHERE id % 20 < 17"))
        conn.execute(text("UPDATE files SET state = 'decided', category = 0 WHERE id % 20 = 17"))
    update_groups(store, Settings())
    add_user(store, "bench", PASSWORD, "admin", actor="bench")
    store.close()


def timed(call: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        case = (args.keep or Path(tmp)) / "case"
        if not case.exists():
            started = time.perf_counter()
            generate(case, args.size)
            print(f"generated {args.size:,} records in {time.perf_counter() - started:.0f} s")
        store = CaseStore.open(case)
        with store.engine.connect() as conn:
            last = conn.execute(select(files.c.id).order_by(files.c.id.desc()).limit(1)).scalar()
            middle = last // 2

            def bare() -> None:
                conn.execute(
                    select(files.c.id, files.c.path, files.c.state)
                    .where(files.c.id > middle)
                    .order_by(files.c.id)
                    .limit(100)
                ).all()

            baseline = statistics.median(timed(bare, args.requests))
        client = TestClient(create_app([case]))
        answer = client.post("/api/login", json={"username": "bench", "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        ids = [random.randint(1, last) for _ in range(args.requests)]
        group = client.get("/api/files", params={"state": "review"}).json()["items"][0]["group"]
        checks: list[tuple[str, Callable[[], object]]] = [
            ("grid, first page", lambda: client.get("/api/files")),
            ("grid, middle page", lambda: client.get("/api/files", params={"after": middle})),
            ("grid, state=review", lambda: client.get("/api/files", params={"state": "review"})),
            (
                "grid, state=review deep",
                lambda: client.get("/api/files", params={"state": "review", "after": middle}),
            ),
            ("grid, category=1", lambda: client.get("/api/files", params={"category": 1})),
            ("grid, kind=video", lambda: client.get("/api/files", params={"kind": "video"})),
            ("grid, one group", lambda: client.get("/api/files", params={"group": group})),
            ("grid page (HTML)", lambda: client.get("/grid")),
            ("detail, random id", lambda: client.get(f"/api/files/{ids.pop() if ids else 1}")),
        ]
        print(f"{last:,} files; baseline keyset query p50 {baseline:.2f} ms")
        for name, call in checks:
            call()  # warm
            ms = timed(call, args.requests)
            p50 = statistics.median(ms)
            p95 = statistics.quantiles(ms, n=20)[-1]
            print(f"{name:<26} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  {p50 / baseline:6.1f}x")
        started = time.perf_counter()
        client.get("/api/queue", params={"limit": 50})
        print(f"{'queue (built once)':<26} {(time.perf_counter() - started) * 1000:7.0f} ms")
        ms = timed(lambda: client.get("/api/queue", params={"limit": 50}), args.requests)
        print(f"{'queue (cached)':<26} p50 {statistics.median(ms):7.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
