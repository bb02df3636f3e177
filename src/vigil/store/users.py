"""The people who may use a case in the review app: accounts, roles, what each role may do,
password checks with throttling, and an audit entry for every change and every login.

Users live in the case's own store. Each case has its own database (a SQLite file, or one
PostgreSQL database per case), so the user rows of a case *are* its grants: a user is granted
the case by having an enabled row in it, and revoked by `disable`, which keeps the row so the
audit's names stay resolvable. `grant` re-enables a user and sets the role. One person working
on several cases has an account in each, added by whoever holds those cases; nothing is
shared between cases that the law may keep apart.

Passwords are stored only as argon2id hashes (argon2-cffi's RFC 9106 low-memory profile).
"""

from __future__ import annotations

import functools
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from vigil.errors import ConfigError, StoreError
from vigil.store.audit import append
from vigil.store.case import CaseStore, now_iso
from vigil.store.schema import users

ROLES = ("admin", "investigator", "reviewer", "auditor")
PERMISSIONS = ("view_media", "decide", "manage_hashsets", "manage_users", "read_audit")
_ALLOWED = {
    "admin": frozenset(PERMISSIONS),
    "investigator": frozenset({"view_media", "decide", "manage_hashsets"}),
    "reviewer": frozenset({"view_media", "decide"}),
    "auditor": frozenset({"read_audit"}),
}
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; a cap keeps one login from costing megabytes
FAILED_LOGIN_LIMIT = 5  # failures in a row that lock the account
LOCK_FIRST = timedelta(minutes=1)  # doubled by every further lock until a login succeeds
LOCK_LONGEST = timedelta(hours=24)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")

HASHER = PasswordHasher()


@dataclass(frozen=True, slots=True)
class User:
    """An account as anything outside this module sees it: never the password hash."""

    id: int
    name: str
    role: str
    disabled: bool
    created_at: str
    failed_logins: int
    locked_until: str | None
    daily_reveals: int | None = None  # this user's reveal budget a day (None: the setting's)
    rendering: str | None = None  # the degraded rendering chosen in the review app


def can(role: str, permission: str) -> bool:
    """Whether `role` grants `permission` (both from `ROLES` and `PERMISSIONS`)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    return permission in _ALLOWED[check_role(role)]


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    return role


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"not a user name: {name!r} (1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit)"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ConfigError(f"a password holds at most {MAX_PASSWORD} characters")
    return password


def _user(row: Any) -> User:
    return User(
        row.id,
        row.name,
        row.role,
        bool(row.disabled),
        row.created_at,
        row.failed_logins,
        row.locked_until,
        row.daily_reveals,
        row.rendering,
    )


def add_user(store: CaseStore, name: str, password: str, role: str, *, actor: str) -> User:
    """Create an enabled account; a name already in the case is refused (see `grant`)."""
    check_name(name)
    check_role(role)
    password_hash = HASHER.hash(check_password(password))
    when = now_iso()
    try:
        with store.engine.begin() as conn:
            conn.execute(
                insert(users).values(
                    name=name,
                    password_hash=password_hash,
                    role=role,
                    disabled=False,
                    created_at=when,
                    password_changed_at=when,
                    failed_logins=0,
                    lockouts=0,
                )
            )
            append(conn, actor, "user_add", name, {"role": role})
            return _user(conn.execute(select(users).where(users.c.name == name)).one())
    except IntegrityError as exc:
        raise ConfigError(
            f"the case already has a user named {name!r}: `vigil user grant` re-enables one"
        ) from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot add the user to {store.describe_db()}: {exc}") from exc


def list_users(store: CaseStore) -> list[User]:
    try:
        with store.engine.connect() as conn:
            return [_user(r) for r in conn.execute(select(users).order_by(users.c.name))]
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the users of {store.describe_db()}: {exc}") from exc


def enabled_user(store: CaseStore, name: str) -> User | None:
    """The account `name` as it is now, or None when the case has none or it is disabled."""
    try:
        with store.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the users of {store.describe_db()}: {exc}") from exc
    return None if row is None or row.disabled else _user(row)


def _change(
    store: CaseStore,
    name: str,
    values: dict[str, Any],
    actor: str,
    action: str,
    detail: dict[str, Any] | None,
) -> User:
    """Update one named account and record it, in one transaction."""
    try:
        with store.engine.begin() as conn:
            row = conn.execute(
                update(users).where(users.c.name == name).values(**values).returning(*users.c)
            ).first()
            if row is None:
                raise ConfigError(f"the case has no user named {name!r}")
            append(conn, actor, action, name, detail)
            return _user(row)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot change the user in {store.describe_db()}: {exc}") from exc


def disable_user(store: CaseStore, name: str, *, actor: str) -> User:
    """Revoke `name`'s access to the case; the account stays, for the audit and `grant`."""
    return _change(store, name, {"disabled": True}, actor, "user_disable", None)


def grant(store: CaseStore, name: str, role: str, *, actor: str) -> User:
    """Give an existing user access to the case (again) with `role`."""
    check_role(role)
    return _change(
        store, name, {"disabled": False, "role": role}, actor, "user_grant", {"role": role}
    )


def set_password(store: CaseStore, name: str, password: str, *, actor: str) -> User:
    """Replace the password; also lifts a lock, the way an admin unlocks an account."""
    values = {
        "password_hash": HASHER.hash(check_password(password)),
        "password_changed_at": now_iso(),
        "failed_logins": 0,
        "lockouts": 0,
        "locked_until": None,
    }
    return _change(store, name, values, actor, "user_password", None)


@functools.cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def _matches(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(
    store: CaseStore, name: str, password: str, *, now: datetime | None = None
) -> User | None:
    """The user, if `name` may log in with `password` now; else None, saying no more why.

    Every attempt costs one argon2 verification, against a dummy hash for a name the case
    does not have, so the time taken does not tell names apart. `FAILED_LOGIN_LIMIT`
    failures in a row lock the account for `LOCK_FIRST`, doubling with each lock after it
    (up to `LOCK_LONGEST`) until a login succeeds. Each attempt is a `login` or
    `login_failed` audit entry with the reason."""
    now = now or datetime.now(UTC)
    try:
        with store.engine.connect() as conn:
            found = conn.execute(select(users).where(users.c.name == name)).first()
        correct = _matches(found.password_hash if found else _dummy_hash(), password)
        with store.engine.begin() as conn:
            return _settle(conn, name, password, found, correct, now)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot check the login in {store.describe_db()}: {exc}") from exc


def _refusal(row: Any, found: Any, correct: bool, now: datetime) -> str | None:
    """Why a login on this (freshly read) row fails, or None when it succeeds."""
    if row.disabled:
        return "disabled"
    if row.locked_until is not None and datetime.fromisoformat(row.locked_until) > now:
        return "locked"
    if not correct or row.password_hash != found.password_hash:  # changed while checking
        return "wrong password"
    return None


def _lock_span(lockouts: int) -> timedelta:
    return min(LOCK_FIRST * 2 ** min(lockouts, 16), LOCK_LONGEST)


def _settle(
    conn: Connection, name: str, password: str, found: Any, correct: bool, now: datetime
) -> User | None:
    """Record the attempt. The row is written before its counters are read, so concurrent
    attempts each see the others' failures (the same lock-first idea as `audit.append`)."""
    actor = name[:64] or "(no name)"
    if found is None:
        append(conn, actor, "login_failed", None, {"reason": "unknown user"})
        return None
    by_id = update(users).where(users.c.id == found.id)
    row = conn.execute(by_id.values(failed_logins=users.c.failed_logins).returning(*users.c)).one()
    reason = _refusal(row, found, correct, now)
    if reason is None:
        values: dict[str, Any] = {"failed_logins": 0, "lockouts": 0, "locked_until": None}
        if HASHER.check_needs_rehash(row.password_hash):
            values["password_hash"] = HASHER.hash(password)
        done = conn.execute(by_id.values(**values).returning(*users.c)).one()
        append(conn, actor, "login", None, {"role": row.role})
        return _user(done)
    detail: dict[str, Any] = {"reason": reason}
    if reason == "wrong password":
        values = {"failed_logins": row.failed_logins + 1}
        if values["failed_logins"] >= FAILED_LOGIN_LIMIT:
            until = (now + _lock_span(row.lockouts)).isoformat()
            values = {"failed_logins": 0, "lockouts": row.lockouts + 1, "locked_until": until}
            detail["locked_until"] = until
        conn.execute(by_id.values(**values))
    append(conn, actor, "login_failed", None, detail)
    return None
