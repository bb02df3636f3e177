"""Where batches of tasks run: inline, a local process pool, or a Dask cluster
(`dask_executor`), chosen by the `scheduler` setting (`executor_for`).

The interface is deliberately narrow — `map_unordered(fn, batches)` yielding each batch with
its result or the exception that killed it — so the orchestrator never knows whether its
workers are threads of this process, local processes or machines across a lab network.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Generic, Protocol, TypeVar

from vigil.config import Settings, parse_scheduler
from vigil.errors import VigilError

T = TypeVar("T")
R = TypeVar("R")


class WorkerDied(Exception):
    """The process running a one-task batch died (a decoder segfault, the OOM killer)."""


class Executor(Protocol, Generic[T, R]):
    def map_unordered(
        self, fn: Callable[[list[T]], R], batches: Iterable[list[T]]
    ) -> Iterator[tuple[list[T], R | BaseException]]: ...

    def close(self) -> None: ...


class InlineExecutor(Generic[T, R]):
    """Runs in the calling process: for `vigil hash`, tests and debugging."""

    def map_unordered(
        self, fn: Callable[[list[T]], R], batches: Iterable[list[T]]
    ) -> Iterator[tuple[list[T], R | BaseException]]:
        for batch in batches:
            yield batch, fn(batch)

    def close(self) -> None:
        pass

    def __enter__(self) -> InlineExecutor[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProcessExecutor(Generic[T, R]):
    """A local process pool fed from a bounded window of batches.

    Only `2 × workers` batches are ever in flight, so the walk of a 9M-file source never
    runs ahead of the hashing. If a worker process dies, the pool is rebuilt and every batch
    that was in flight is retried one task at a time, so the one task that kills a worker is
    isolated and reported (as `WorkerDied`) while its neighbours still get their records.

    The pool (and with it the forkserver, its preloads and multiprocessing's resource
    tracker) starts on the first batch: a run with nothing left to hash starts no process.
    """

    def __init__(self, workers: int, *, window: int | None = None) -> None:
        self.workers = workers
        self.window = window or 2 * workers
        self._ctx = multiprocessing.get_context("forkserver")
        # "__main__" first: children then skip re-importing the entry script (and with it the
        # CLI, store and web stacks) on every start; the worker module brings the decoders.
        self._ctx.set_forkserver_preload(["__main__", "vigil.pipeline.worker"])
        self._pool: ProcessPoolExecutor | None = None

    def _drop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def map_unordered(
        self, fn: Callable[[list[T]], R], batches: Iterable[list[T]]
    ) -> Iterator[tuple[list[T], R | BaseException]]:
        pending: dict[Future[R], tuple[list[T], bool]] = {}
        retry: list[list[T]] = []  # singletons split out of batches lost with a dead worker
        source = iter(batches)
        exhausted = False
        while True:
            if retry and not pending:
                # After a crash, suspects run alone so a second crash names its culprit.
                suspect = retry.pop()
                pending[self._submit(fn, suspect)] = (suspect, True)
            while not retry and not exhausted and len(pending) < self.window:
                if any(isolated for _, isolated in pending.values()):
                    break
                batch = next(source, None)
                if batch is None:
                    exhausted = True
                    break
                pending[self._submit(fn, batch)] = (batch, False)
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                # Every future of a broken pool finishes at once; settle them all together.
                wait(pending)
                done = set(pending)
                self._drop_pool()
            for future in done:
                batch, isolated = pending.pop(future)
                exc = future.exception()
                if exc is None:
                    yield batch, future.result()
                elif not isinstance(exc, BrokenProcessPool):
                    yield batch, exc
                elif isolated:
                    yield batch, WorkerDied("worker process died while processing this item")
                else:
                    retry.extend([t] for t in batch)

    def _submit(self, fn: Callable[[list[T]], R], batch: list[T]) -> Future[R]:
        try:
            return self._started_pool().submit(fn, batch)
        except BrokenProcessPool:
            # The pool broke between two results; one fresh pool, and if even that cannot
            # take work, the workers cannot start at all.
            self._drop_pool()
            try:
                return self._started_pool().submit(fn, batch)
            except BrokenProcessPool as exc:
                raise VigilError(f"worker processes cannot start: {exc}") from exc

    def _started_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=self._ctx)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> ProcessExecutor[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def executor_for(settings: Settings) -> Executor:
    """The executor the `scheduler` setting names; dask is imported only when it names one."""
    spec = parse_scheduler(settings.scheduler)
    if spec.workers is None and spec.address is None:
        return ProcessExecutor(settings.effective_workers)
    from vigil.pipeline.dask_executor import DaskExecutor

    return DaskExecutor(settings.scheduler)
