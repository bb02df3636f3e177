"""Two machines sharing one PostgreSQL case: the second writer is refused by the server, not
only by the case folder's flock (which a second copy of the folder, or NFS, does not share)."""

import shutil

import pytest

from tests.pipeline.test_ingest import NullProgress, make_collection
from vigil.config import Settings
from vigil.errors import StoreError
from vigil.pipeline.executor import InlineExecutor
from vigil.pipeline.ingest import ingest
from vigil.store import CaseStore, iter_files
from vigil.store.server_lock import ServerLock, lock_key
from vigil.store.writer import lock_case


@pytest.fixture
def two_machines(tmp_path, pg_url):
    """The same case opened from two folders, as two lab machines each with their own mount."""
    first = tmp_path / "machine-a" / "case"
    CaseStore.create(first, name="shared", db_url=pg_url).close()
    second = tmp_path / "machine-b" / "case"
    shutil.copytree(first, second)
    with CaseStore.open(first) as a, CaseStore.open(second) as b:
        yield a, b


@pytest.mark.postgres
def test_a_second_writer_on_another_machine_is_refused_until_the_first_ends(two_machines):
    a, b = two_machines
    held = lock_case(a)
    with pytest.raises(StoreError, match=r"another Vigil process is writing .* server process"):
        lock_case(b)
    held.close()
    lock_case(b).close()  # released with the first writer's session


@pytest.mark.postgres
def test_an_ingest_is_refused_while_another_machine_ingests(two_machines, tmp_path):
    a, b = two_machines
    source = make_collection(tmp_path / "evidence")
    held = ServerLock(a)
    with pytest.raises(StoreError, match="another Vigil process is writing"):
        ingest(b, [str(source)], Settings(), progress=NullProgress(), executor=InlineExecutor())
    held.close()
    ingest(b, [str(source)], Settings(), progress=NullProgress(), executor=InlineExecutor())
    assert len(list(iter_files(a))) == 15  # one store: machine a sees b's records


def test_the_key_is_the_cases_own_and_fits_a_bigint():
    keys = {lock_key(f"case-{i}") for i in range(1000)}
    assert len(keys) == 1000 and all(0 <= k < 2**63 for k in keys)
    assert lock_key("case-1") == lock_key("case-1")
