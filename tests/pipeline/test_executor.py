import os

from vigil.pipeline.executor import InlineExecutor, ProcessExecutor, WorkerDied


def square_or_die(batch: list[int]) -> list[int]:
    for x in batch:
        if x == 13:
            os._exit(9)  # what a decoder segfault looks like from the parent
    return [x * x for x in batch]


def _run(executor, batches):
    out = {}
    for batch, result in executor.map_unordered(square_or_die, batches):
        if isinstance(result, BaseException):
            out.update({x: result for x in batch})
        else:
            out.update(dict(zip(batch, result, strict=True)))
    return out


def test_inline_executor_runs_every_batch():
    with InlineExecutor() as ex:
        assert _run(ex, [[1, 2], [3]]) == {1: 1, 2: 4, 3: 9}


def test_process_executor_runs_every_batch_with_a_bounded_window():
    pulled = []

    def batches():
        for i in range(100, 300, 10):
            pulled.append(i)
            yield list(range(i, i + 10))

    with ProcessExecutor(2, window=3) as ex:
        results = ex.map_unordered(square_or_die, batches())
        first = next(results)
        assert len(pulled) <= 4, "the executor ran ahead of its window"
        out = dict(zip(first[0], first[1], strict=True))
        for batch, result in results:
            out.update(zip(batch, result, strict=True))
    assert out == {x: x * x for x in range(100, 300)}


def test_a_task_that_kills_its_worker_is_isolated_and_the_rest_survive():
    batches = [list(range(i, i + 5)) for i in range(0, 30, 5)]
    with ProcessExecutor(2) as ex:
        out = _run(ex, batches)
    assert set(out) == set(range(30))
    assert isinstance(out[13], WorkerDied)
    assert all(out[x] == x * x for x in range(30) if x != 13)
