"""Users of a case: argon2id hashes, roles and what they may do, grants as enabled rows,
throttled logins on an injected clock, and an audit entry for each change and attempt."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from vigil.errors import ConfigError
from vigil.store import CaseStore
from vigil.store import users as users_module
from vigil.store.audit import verify
from vigil.store.schema import audit, users
from vigil.store.users import (
    FAILED_LOGIN_LIMIT,
    LOCK_FIRST,
    add_user,
    authenticate,
    can,
    disable_user,
    grant,
    list_users,
    set_password,
)

PASSWORD = "correct horse battery"
T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


class CountingHasher(PasswordHasher):
    """argon2id at a test's cost, counting the verifications made and against which hash."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(str(hash))
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch) -> Iterator[CountingHasher]:
    counting = CountingHasher()
    monkeypatch.setattr(users_module, "HASHER", counting)
    users_module._dummy_hash.cache_clear()
    yield counting
    users_module._dummy_hash.cache_clear()


def stored(store: CaseStore, name: str):
    with store.engine.connect() as conn:
        return conn.execute(select(users).where(users.c.name == name)).one()


def entries(store: CaseStore) -> list[tuple]:
    with store.engine.connect() as conn:
        found = conn.execute(select(audit).order_by(audit.c.id)).all()
    return [(r.actor, r.action, r.subject, json.loads(r.detail or "null")) for r in found]


def test_passwords_are_stored_as_argon2id_only(store: CaseStore) -> None:
    user = add_user(store, "ana", PASSWORD, "admin", actor="cli:root")
    row = stored(store, "ana")
    # argon2-cffi's RFC 9106 low-memory profile
    assert row.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in row.password_hash
    assert not hasattr(user, "password_hash")
    assert list_users(store) == [user]
    assert authenticate(store, "ana", PASSWORD) == user


def test_the_roles_grant_exactly_these_permissions() -> None:
    table = {
        role: {p for p in users_module.PERMISSIONS if can(role, p)} for role in users_module.ROLES
    }
    assert table == {
        "admin": {"view_media", "decide", "manage_hashsets", "manage_users", "read_audit"},
        "investigator": {"view_media", "decide", "manage_hashsets"},
        "reviewer": {"view_media", "decide"},
        "auditor": {"read_audit"},
    }
    with pytest.raises(ValueError):
        can("admin", "delete_everything")
    with pytest.raises(ConfigError):
        can("root", "decide")


def test_wrong_and_unknown_are_refused_with_one_verification_each(store, hasher) -> None:
    add_user(store, "ana", PASSWORD, "reviewer", actor="cli:root")
    real = stored(store, "ana").password_hash
    assert authenticate(store, "ana", "not the password at all") is None
    assert hasher.verified == [real]
    assert authenticate(store, "nobody", PASSWORD) is None
    assert len(hasher.verified) == 2 and hasher.verified[1] != real
    assert hasher.verified[1] == users_module._dummy_hash()
    assert entries(store)[1:] == [
        ("ana", "login_failed", None, {"reason": "wrong password"}),
        ("nobody", "login_failed", None, {"reason": "unknown user"}),
    ]
    assert stored(store, "ana").failed_logins == 1


def test_failures_lock_for_a_growing_period_and_the_lock_ends(store, hasher) -> None:
    add_user(store, "ana", PASSWORD, "reviewer", actor="cli:root")
    for i in range(FAILED_LOGIN_LIMIT):
        assert (
            authenticate(store, "ana", "wrong guess number", now=T0 + timedelta(seconds=i)) is None
        )
    first_end = T0 + timedelta(seconds=FAILED_LOGIN_LIMIT - 1) + LOCK_FIRST
    assert stored(store, "ana").locked_until == first_end.isoformat()
    assert authenticate(store, "ana", PASSWORD, now=first_end - timedelta(seconds=1)) is None
    assert entries(store)[-1][3] == {"reason": "locked"}
    # a second lock in a row lasts twice as long
    later = first_end + timedelta(seconds=1)
    for _ in range(FAILED_LOGIN_LIMIT):
        assert authenticate(store, "ana", "wrong guess number", now=later) is None
    assert stored(store, "ana").locked_until == (later + 2 * LOCK_FIRST).isoformat()
    assert (
        authenticate(store, "ana", PASSWORD, now=later + 2 * LOCK_FIRST - timedelta(seconds=1))
        is None
    )
    user = authenticate(store, "ana", PASSWORD, now=later + 2 * LOCK_FIRST)
    assert user is not None and user.failed_logins == 0 and user.locked_until is None
    row = stored(store, "ana")
    assert (row.failed_logins, row.lockouts, row.locked_until) == (0, 0, None)
    assert entries(store)[-1] == ("ana", "login", None, {"role": "reviewer"})
    assert len(hasher.verified) == 2 * FAILED_LOGIN_LIMIT + 3  # locked attempts verify too


def test_disabled_users_cannot_log_in_until_granted_again(store, hasher) -> None:
    add_user(store, "ana", PASSWORD, "reviewer", actor="cli:root")
    disable_user(store, "ana", actor="cli:root")
    assert authenticate(store, "ana", PASSWORD) is None
    assert entries(store)[-1][3] == {"reason": "disabled"}
    user = grant(store, "ana", "investigator", actor="cli:root")
    assert (user.role, user.disabled) == ("investigator", False)
    assert authenticate(store, "ana", PASSWORD) == user


def test_a_new_password_replaces_the_old_and_lifts_a_lock(store, hasher) -> None:
    add_user(store, "ana", PASSWORD, "reviewer", actor="cli:root")
    for _ in range(FAILED_LOGIN_LIMIT):
        authenticate(store, "ana", "wrong guess number", now=T0)
    set_password(store, "ana", "a brand new passphrase", actor="cli:root")
    assert authenticate(store, "ana", PASSWORD, now=T0) is None
    assert authenticate(store, "ana", "a brand new passphrase", now=T0) is not None


def test_every_change_is_an_audit_entry_and_the_chain_holds(store, hasher) -> None:
    add_user(store, "ana", PASSWORD, "reviewer", actor="cli:root")
    disable_user(store, "ana", actor="cli:root")
    grant(store, "ana", "auditor", actor="cli:root")
    set_password(store, "ana", "a brand new passphrase", actor="cli:ops")
    assert entries(store) == [
        ("cli:root", "user_add", "ana", {"role": "reviewer"}),
        ("cli:root", "user_disable", "ana", None),
        ("cli:root", "user_grant", "ana", {"role": "auditor"}),
        ("cli:ops", "user_password", "ana", None),
    ]
    assert verify(store).entries == 4


def test_bad_names_roles_passwords_and_duplicates_change_nothing(store, hasher) -> None:
    add_user(store, "ana", PASSWORD, "reviewer", actor="cli:root")
    for name, password, role, message in [
        ("bo", "short", "reviewer", "at least 12 characters"),
        ("bo", PASSWORD, "boss", "unknown role"),
        ("cli:bo", PASSWORD, "reviewer", "not a user name"),
        ("ana", PASSWORD, "admin", "already has a user named 'ana'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            add_user(store, name, password, role, actor="cli:root")
    with pytest.raises(ConfigError, match="no user named 'bo'"):
        disable_user(store, "bo", actor="cli:root")
    with pytest.raises(ConfigError, match="at least 12"):
        set_password(store, "ana", "x" * 11, actor="cli:root")
    assert [u.name for u in list_users(store)] == ["ana"]
    assert len(entries(store)) == 1


def test_an_older_hash_is_upgraded_at_the_next_login(store, hasher, monkeypatch) -> None:
    add_user(store, "ana", PASSWORD, "reviewer", actor="cli:root")
    assert "m=1024,t=1,p=1" in stored(store, "ana").password_hash
    monkeypatch.setattr(users_module, "HASHER", PasswordHasher())
    assert authenticate(store, "ana", PASSWORD) is not None
    assert "m=65536,t=3,p=4" in stored(store, "ana").password_hash


def test_concurrent_failures_are_all_counted(store, hasher) -> None:
    add_user(store, "ana", PASSWORD, "reviewer", actor="cli:root")
    start = threading.Barrier(2)

    def attempts() -> None:
        start.wait()
        for _ in range(3):
            authenticate(store, "ana", "wrong guess number", now=T0)

    threads = [threading.Thread(target=attempts) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row = stored(store, "ana")
    assert (row.lockouts, row.failed_logins) == (1, 0)
    reasons = [e[3]["reason"] for e in entries(store) if e[1] == "login_failed"]
    assert sorted(reasons) == ["locked"] + ["wrong password"] * FAILED_LOGIN_LIMIT
