"""`vigil audit verify|export` through Typer's CliRunner: an intact chain says so, a broken
one names its first bad entry with the store error code (4), exports stream or land whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from typer.testing import CliRunner, Result

from vigil.cli.app import app
from vigil.store import CaseStore
from vigil.store.audit import FIELDS
from vigil.store.schema import audit

runner = CliRunner()
STORE_ERROR = 4


def vigil(*args: object, code: int = 0, stdin: str | None = None) -> Result:
    result = runner.invoke(app, [str(a) for a in args], input=stdin, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def case(tmp_path: Path) -> Path:
    """A case whose log holds three user changes."""
    c = tmp_path / "case"
    vigil("case", "create", c)
    vigil("user", "add", c, "ana", "--role", "admin", "--password-stdin", stdin="a" * 12)
    vigil("user", "disable", c, "ana")
    vigil("user", "grant", c, "ana", "--role", "auditor")
    return c


def tamper(case: Path, statement) -> None:
    with CaseStore.open(case) as store, store.engine.begin() as conn:
        conn.execute(statement)


def test_an_intact_log_verifies(tmp_path: Path, case: Path) -> None:
    vigil("case", "create", tmp_path / "empty")
    assert vigil("audit", "verify", tmp_path / "empty").stdout.startswith("intact: 0 entries,")
    out = vigil("audit", "verify", case).stdout.strip()
    assert out.startswith("intact: 3 entries, last hash ") and len(out.split()[-1]) == 64


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            update(audit).where(audit.c.id == 2).values(actor="cli:someone-else"),
            "audit log broken at entry 2: its fields do not match its hash: the entry was altered",
        ),
        (
            delete(audit).where(audit.c.id == 2),
            "audit log broken at entry 2: entry 2 is missing: the log goes from entry 1 to 3",
        ),
        (delete(audit).where(audit.c.id == 3), "audit log broken at entry 3: entry 3 is missing"),
    ],
    ids=["edited", "deleted", "cut"],
)
def test_a_broken_log_names_its_first_bad_entry(case: Path, statement, message) -> None:
    tamper(case, statement)
    result = vigil("audit", "verify", case, code=STORE_ERROR)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}")


def test_export_streams_to_stdout_or_lands_whole_in_a_file(tmp_path: Path, case: Path) -> None:
    streamed = vigil("audit", "export", case).stdout
    lines = [json.loads(line) for line in streamed.splitlines()]
    assert [line["id"] for line in lines] == [1, 2, 3]
    assert all(list(line) == list(FIELDS) for line in lines)
    assert [line["action"] for line in lines] == ["user_add", "user_disable", "user_grant"]
    out = tmp_path / "audit.jsonl"
    assert vigil("audit", "export", case, "-o", out).stdout.strip() == (
        f"wrote 3 audit entries to {out}"
    )
    assert out.read_text("utf-8") == streamed


def test_export_to_a_folder_that_is_not_there(tmp_path: Path, case: Path) -> None:
    out = tmp_path / "missing" / "audit.jsonl"
    result = vigil("audit", "export", case, "-o", out, code=1)
    assert "cannot write" in result.output and not out.parent.exists()
