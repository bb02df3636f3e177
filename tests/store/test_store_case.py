"""CaseStore: creating, opening and refusing cases on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import vigil
from vigil.errors import CaseError
from vigil.store import CaseStore
from vigil.store.case import normalize_db_url


def test_create_writes_case_json_and_meta(case_dir: Path, db_url: str | None) -> None:
    with CaseStore.create(case_dir, name="Operation Ü", db_url=db_url) as store:
        meta = store.meta()
        assert store.thumbs_dir == case_dir.absolute() / "thumbs"
        assert store.thumbs_dir.is_dir()
    doc = json.loads((case_dir / "case.json").read_text("utf-8"))
    assert doc["format"] == 1
    assert doc["name"] == "Operation Ü"
    assert doc["case_uuid"] == meta["case_uuid"]
    if db_url is None:
        assert doc["db_url"] is None
        assert (case_dir / "case.db").is_file()
    else:
        assert doc["db_url"].startswith("postgresql+psycopg://")
        assert not (case_dir / "case.db").exists()
    assert meta["name"] == "Operation Ü"
    assert meta["vigil_version"] == vigil.__version__
    assert meta["created_at"].endswith("+00:00")


def test_name_defaults_to_folder_name(tmp_path: Path) -> None:
    with CaseStore.create(tmp_path / "op-kestrel") as store:
        assert store.meta()["name"] == "op-kestrel"


def test_reopen_sees_same_case(store: CaseStore, case_dir: Path) -> None:
    meta = store.meta()
    store.close()
    with CaseStore.open(case_dir) as again, CaseStore.open(case_dir) as reader:
        assert again.meta() == meta == reader.meta()


def test_create_in_existing_empty_folder(tmp_path: Path) -> None:
    with CaseStore.create(tmp_path, name="here"):
        pass
    assert (tmp_path / "case.json").is_file()


def test_create_refuses_an_existing_case(store: CaseStore, case_dir: Path) -> None:
    with pytest.raises(CaseError, match="already a Vigil case"):
        CaseStore.create(case_dir)


def test_create_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "evidence.jpg").write_bytes(b"x")
    with pytest.raises(CaseError, match="not an empty folder"):
        CaseStore.create(tmp_path)


@pytest.mark.parametrize("setup", ["missing", "empty", "other-files", "bad-json", "not-a-case"])
def test_open_refuses_what_is_not_a_case(tmp_path: Path, setup: str) -> None:
    folder = tmp_path / "x"
    if setup != "missing":
        folder.mkdir()
    if setup == "other-files":
        (folder / "notes.txt").write_text("hello")
    if setup == "bad-json":
        (folder / "case.json").write_text("{not json")
    if setup == "not-a-case":
        (folder / "case.json").write_text('{"hello": 1}')
    with pytest.raises(CaseError, match=r"not a Vigil case|cannot read"):
        CaseStore.open(folder)


def test_open_refuses_a_newer_case_format(store: CaseStore, case_dir: Path) -> None:
    doc = json.loads((case_dir / "case.json").read_text())
    (case_dir / "case.json").write_text(json.dumps({**doc, "format": 99}))
    with pytest.raises(CaseError, match="format 99"):
        CaseStore.open(case_dir)


def test_open_refuses_a_newer_schema(store: CaseStore, case_dir: Path) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    store.close()
    with pytest.raises(CaseError, match="newer than this Vigil"):
        CaseStore.open(case_dir)


def test_open_refuses_a_database_of_another_case(store: CaseStore, case_dir: Path) -> None:
    doc = json.loads((case_dir / "case.json").read_text())
    (case_dir / "case.json").write_text(json.dumps({**doc, "case_uuid": "someone-else"}))
    with pytest.raises(CaseError, match="holds a different case"):
        CaseStore.open(case_dir)


def test_open_refuses_missing_sqlite_file(tmp_path: Path) -> None:
    with CaseStore.create(tmp_path / "c"):
        pass
    (tmp_path / "c" / "case.db").unlink()
    with pytest.raises(CaseError, match="missing"):
        CaseStore.open(tmp_path / "c")


@pytest.mark.postgres
def test_second_case_in_same_postgres_database(pg_url: str, tmp_path: Path) -> None:
    with CaseStore.create(tmp_path / "first", name="First", db_url=pg_url):
        pass
    with pytest.raises(CaseError, match="already holds the Vigil case 'First'"):
        CaseStore.create(tmp_path / "second", db_url=pg_url)
    assert not (tmp_path / "second").exists(), "a failed create leaves nothing behind"
    CaseStore.open(tmp_path / "first").close()


@pytest.mark.postgres
def test_postgres_database_must_be_empty(pg_url: str, case_dir: Path) -> None:
    engine = create_engine(normalize_db_url(pg_url))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE unrelated (x int)"))
    engine.dispose()
    with pytest.raises(CaseError, match="not empty"):
        CaseStore.create(case_dir, db_url=pg_url)


def test_unreachable_postgres_is_a_case_error(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="cannot set up"):
        CaseStore.create(tmp_path / "c", db_url="postgresql://nobody@127.0.0.1:1/nothing")
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://u@db.example:5433/case1",
        "postgres://u@db.example:5433/case1",
        "postgresql+psycopg2://u@db.example:5433/case1",
    ],
)
def test_postgres_urls_use_psycopg3(given: str) -> None:
    url = normalize_db_url(given)
    assert url.render_as_string() == "postgresql+psycopg://u@db.example:5433/case1"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("postgresql://u:secret@h/db", "password"),
        ("sqlite:///x.db", "postgresql://… URLs only"),
        ("postgresql://u@h", "no database"),
        ("not a url", "not a database URL"),
    ],
)
def test_bad_db_urls_are_refused(tmp_path: Path, given: str, message: str) -> None:
    with pytest.raises(CaseError, match=message):
        CaseStore.create(tmp_path / "c", db_url=given)
    assert not (tmp_path / "c").exists()


def test_sqlite_pragmas_on_every_connection(tmp_path: Path) -> None:
    with CaseStore.create(tmp_path / "c") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0


def test_thumbnail_path(store: CaseStore) -> None:
    digest = "ab" + "0" * 62
    assert store.thumbnail_path(digest) == store.case_dir / "thumbs" / "ab" / f"{digest}.jpg"
    with pytest.raises(ValueError):
        store.thumbnail_path("../../etc/passwd")
