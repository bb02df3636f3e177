"""DaskExecutor on a real `local:2` cluster (started once for the module): every batch comes
back exactly once, within the window, with a poison task isolated and a killed worker survived."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tests.pipeline.test_ingest import NullProgress, make_collection
from vigil.cli.app import app
from vigil.config import SchedulerSpec, Settings, parse_scheduler
from vigil.errors import ConfigError
from vigil.pipeline.dask_executor import DaskExecutor
from vigil.pipeline.executor import InlineExecutor, WorkerDied
from vigil.pipeline.ingest import ingest
from vigil.store import CaseStore, iter_files

POISON = 13


def square_or_die(batch: list[int]) -> list[int]:
    for x in batch:
        if x == POISON:
            os._exit(9)  # what a decoder segfault looks like from the scheduler
    return [x * x for x in batch]


def square(batch: list[int]) -> list[int]:
    return [x * x for x in batch]


def square_or_raise(batch: list[int]) -> list[int]:
    if 7 in batch:
        raise ValueError("seven is corrupt")
    return [x * x for x in batch]


def slow_square(batch: list[int]) -> list[int]:
    time.sleep(0.05 * len(batch))
    return [x * x for x in batch]


@pytest.fixture(scope="module")
def executor() -> Iterator[DaskExecutor]:
    with DaskExecutor("local:2") as ex:
        yield ex


def _run(executor, fn, batches) -> dict[int, object]:
    """Item → result (or the batch's exception); fails on an item seen twice."""
    seen: list[int] = []
    out: dict[int, object] = {}
    for batch, result in executor.map_unordered(fn, batches):
        seen.extend(batch)
        if isinstance(result, BaseException):
            out.update({x: result for x in batch})
        else:
            out.update(zip(batch, result, strict=True))
    duplicates = [x for x, n in Counter(seen).items() if n > 1]
    assert not duplicates, f"items yielded more than once: {duplicates}"
    return out


def test_every_batch_comes_back_once_within_the_window(executor):
    pulled: list[int] = []

    def batches():
        for i in range(0, 200, 10):
            pulled.append(i)
            yield list(range(i, i + 10))

    assert executor.window == 4  # 2 × the cluster's 2 worker threads
    out: dict[int, int] = {}
    in_flight = []
    for yielded, (batch, result) in enumerate(executor.map_unordered(square, batches())):
        in_flight.append(len(pulled) - yielded)
        out.update(zip(batch, result, strict=True))
    assert in_flight[0] <= 4, "pulled past the window before the first result"
    assert max(in_flight) <= 4, f"ran ahead of its window: {in_flight}"
    assert out == {x: x * x for x in range(200)}


def test_an_exception_from_fn_is_yielded_not_raised(executor):
    out = _run(executor, square_or_raise, [[1, 2], [6, 7, 8], [9]])
    assert set(out) == {1, 2, 6, 7, 8, 9}
    assert all(isinstance(out[x], ValueError) for x in (6, 7, 8))
    assert (out[1], out[2], out[9]) == (1, 4, 81)


def test_a_task_that_kills_its_worker_is_isolated_and_the_rest_survive(executor):
    batches = (list(range(i, i + 5)) for i in range(0, 30, 5))
    out = _run(executor, square_or_die, batches)
    assert set(out) == set(range(30))
    assert isinstance(out[POISON], WorkerDied)
    assert {x: out[x] for x in range(30) if x != POISON} == {
        x: x * x for x in range(30) if x != POISON
    }


def test_a_worker_killed_mid_run_loses_nothing(executor):
    client = executor.client
    client.wait_for_workers(2, timeout=30)
    before = client.run(os.getpid)
    batches = (list(range(i, i + 4)) for i in range(0, 48, 4))
    out: dict[int, object] = {}
    seen: list[int] = []
    results = executor.map_unordered(slow_square, batches)
    for n, (batch, result) in enumerate(results):
        if n == 0:  # both workers still hold batches now
            os.kill(next(iter(before.values())), signal.SIGKILL)
        seen.extend(batch)
        out.update(zip(batch, result, strict=True))
    assert sorted(seen) == list(range(48))
    assert out == {x: x * x for x in range(48)}
    client.wait_for_workers(2, timeout=30)  # the nanny restarted the killed worker
    assert set(client.run(os.getpid).values()) != set(before.values())


def test_joins_an_existing_scheduler_and_leaves_it_running(executor):
    assert executor.dashboard_link and executor.dashboard_link.startswith("http://")
    address = executor.client.scheduler.address
    assert address.startswith("tcp://")
    with DaskExecutor(address) as joined:
        assert joined.dashboard_link and joined.dashboard_link.startswith("http")
        assert _run(joined, square_or_die, [[2], [3, 4]]) == {2: 4, 3: 9, 4: 16}
    assert _run(executor, square_or_die, [[5]]) == {5: 25}


def test_parse_scheduler_accepts_process_local_and_tcp():
    assert parse_scheduler(" process ") == SchedulerSpec()
    assert parse_scheduler("local:3") == SchedulerSpec(workers=3)
    assert parse_scheduler("tcp://10.0.0.5:8786") == SchedulerSpec(address="tcp://10.0.0.5:8786")


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "local",
        "local:",
        "local:0",
        "local:x",
        "local:-1",
        "http://host:8786",
        "tcp://",
        "tcp://host",
        "tcp://:8786",
        "tcp://host:0",
        "tcp://host:99999",
        "tcp://host:8786/x",
    ],
)
def test_parse_scheduler_rejects_a_bad_spec(spec):
    with pytest.raises(ValueError):
        parse_scheduler(spec)
    with pytest.raises(
        ConfigError, match=r"not a Dask scheduler: .* \(local:N or tcp://HOST:PORT\)"
    ):
        DaskExecutor(spec)


def test_the_process_pool_is_not_a_dask_scheduler():
    with pytest.raises(ConfigError, match="not a Dask scheduler: 'process'"):
        DaskExecutor("process")


def test_importing_the_module_loads_no_dask():
    probe = (
        "import sys, vigil.pipeline.dask_executor\n"
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def _by_content(case) -> list[tuple]:
    with CaseStore.open(case) as store:
        return sorted(
            (r["path"], r["status"], r["sha256"], r["pdq"], r["error"]) for r in iter_files(store)
        )


def test_an_ingest_on_the_cluster_gives_the_records_of_one_in_process(tmp_path, executor):
    source = make_collection(tmp_path / "evidence")
    for name, ex in (("inline", InlineExecutor()), ("dask", executor)):
        CaseStore.create(tmp_path / name, name=name).close()
        with CaseStore.open(tmp_path / name) as store:
            ingest(store, [str(source)], Settings(), progress=NullProgress(), executor=ex)
    dask_rows = _by_content(tmp_path / "dask")
    assert dask_rows == _by_content(tmp_path / "inline")
    assert len(dask_rows) == 15 and {r[1] for r in dask_rows} >= {"ok", "error"}


def test_vigil_ingest_with_a_local_dask_cluster(tmp_path):
    source = make_collection(tmp_path / "evidence")
    case = tmp_path / "case"
    runner = CliRunner()
    assert runner.invoke(app, ["case", "create", str(case)]).exit_code == 0
    result = runner.invoke(app, ["ingest", str(case), str(source), "--scheduler", "local:1"])
    assert result.exit_code == 0, result.output
    assert "Dask dashboard: http" in result.output
    assert len(_by_content(case)) == 15
    bad = runner.invoke(app, ["ingest", str(case), str(source), "--scheduler", "local:0"])
    assert bad.exit_code == 2 and "setting scheduler must be process, local:N" in bad.output
