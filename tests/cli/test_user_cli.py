"""`vigil user add|list|disable|grant|password` through Typer's CliRunner: passwords from a
hidden prompt or stdin, clear refusals (exit 2), no hash ever printed, each change audited."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from vigil.cli.app import app
from vigil.store import CaseStore
from vigil.store.schema import audit, users
from vigil.store.users import authenticate

runner = CliRunner()
PASSWORD = "correct horse battery"


def vigil(*args: object, code: int = 0, stdin: str | None = None) -> Result:
    result = runner.invoke(app, [str(a) for a in args], input=stdin, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def case(tmp_path: Path) -> Path:
    vigil("case", "create", tmp_path / "case")
    return tmp_path / "case"


def login(case: Path, name: str, password: str) -> str | None:
    with CaseStore.open(case) as store:
        user = authenticate(store, name, password)
    return None if user is None else user.role


def test_add_asks_twice_without_echo_and_stores_only_an_argon2id_hash(case: Path) -> None:
    typed = f"{PASSWORD}\nsomething else entirely\n{PASSWORD}\n{PASSWORD}\n"
    result = vigil("user", "add", case, "ana", "--role", "admin", stdin=typed)
    assert "added ana (admin)" in result.stdout
    assert "do not match" in result.output and PASSWORD not in result.output
    with CaseStore.open(case) as store, store.engine.connect() as conn:
        [stored] = conn.execute(select(users.c.password_hash)).scalars()
    assert stored.startswith("$argon2id$")
    assert login(case, "ana", PASSWORD) == "admin"


def test_add_from_stdin_and_the_refusals(case: Path) -> None:
    vigil("user", "add", case, "ana", "--role", "reviewer", "--password-stdin", stdin=PASSWORD)
    short = vigil("user", "add", case, "bo", "--role", "reviewer", "--password-stdin",
                  stdin="eleven char\n", code=2)  # fmt: skip
    assert short.output.strip() == "error: a password needs at least 12 characters"
    role = vigil("user", "add", case, "bo", "--role", "boss", code=2)
    assert "unknown role 'boss'" in role.output and "Password" not in role.output
    again = vigil("user", "add", case, "ana", "--role", "admin", "--password-stdin",
                  stdin=PASSWORD, code=2)  # fmt: skip
    assert "already has a user named 'ana'" in again.output
    assert vigil("user", "disable", case, "bo", code=2).output.strip() == (
        "error: the case has no user named 'bo'"
    )
    listed = json.loads(vigil("user", "list", case, "--json").stdout)["users"]
    assert [(u["name"], u["role"]) for u in listed] == [("ana", "reviewer")]


def test_list_never_shows_a_hash(case: Path) -> None:
    assert vigil("user", "list", case).stdout.strip() == "no users"
    vigil("user", "add", case, "ana", "--role", "auditor", "--password-stdin", stdin=PASSWORD)
    table = vigil("user", "list", case).stdout
    as_json = vigil("user", "list", case, "--json").stdout
    assert "ana" in table and "auditor" in table and "granted" in table
    assert "argon2" not in table + as_json and PASSWORD not in table + as_json
    [user] = json.loads(as_json)["users"]
    assert set(user) == {"id", "name", "role", "disabled", "created_at", "failed_logins",
                         "locked_until", "daily_reveals", "rendering"}  # fmt: skip


def test_disable_grant_and_password_each_take_effect_and_are_audited(case: Path) -> None:
    vigil("user", "add", case, "ana", "--role", "reviewer", "--password-stdin", stdin=PASSWORD)
    assert vigil("user", "disable", case, "ana").stdout.strip() == "disabled ana"
    assert login(case, "ana", PASSWORD) is None
    result = vigil("user", "grant", case, "ana", "--role", "investigator")
    assert result.stdout.strip() == "ana may use the case as investigator"
    assert login(case, "ana", PASSWORD) == "investigator"
    vigil("user", "password", case, "ana", "--password-stdin", stdin="a brand new passphrase\n")
    assert login(case, "ana", PASSWORD) is None
    assert login(case, "ana", "a brand new passphrase") == "investigator"
    with CaseStore.open(case) as store, store.engine.connect() as conn:
        rows = conn.execute(select(audit.c.actor, audit.c.action).order_by(audit.c.id)).all()
    me = f"cli:{getpass.getuser()}"
    changes = [tuple(r) for r in rows if r.action.startswith("user_")]
    assert changes == [
        (me, "user_add"),
        (me, "user_disable"),
        (me, "user_grant"),
        (me, "user_password"),
    ]


def test_budget_sets_a_users_daily_reveals_and_is_audited(case: Path) -> None:
    vigil("user", "add", case, "ana", "--role", "reviewer", "--password-stdin", stdin=PASSWORD)
    assert "ana: 40 reveals a day" in vigil("user", "budget", case, "ana", "--reveals", "40").stdout
    vigil("user", "budget", case, "nobody", "--reveals", "4", code=2)
    assert (
        json.loads(vigil("user", "list", case, "--json").stdout)["users"][0]["daily_reveals"] == 40
    )
    vigil("user", "budget", case, "ana", "--reveals", "0")
    with CaseStore.open(case) as store, store.engine.connect() as conn:
        assert conn.execute(select(users.c.daily_reveals)).scalar() is None
        actions = list(conn.execute(select(audit.c.action).order_by(audit.c.id)).scalars())
    assert actions[-2:] == ["user_budget", "user_budget"]
