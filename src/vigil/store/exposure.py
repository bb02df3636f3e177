"""What each reviewer has looked at and for how long: reveals (every look at an undegraded
item, through a single-use URL), reviewing time with enforced breaks, and today's figures.

The evidence behind it (see README, "Review app"): exposure is what links to harm, so every
look is counted and each user sees their own count, time and share of the most severe
material; a stretch of reviewing ends in a break the app enforces, not one it suggests.

Times are UTC; "today" is the UTC day. Only the SHA-256 of a reveal URL's token is stored, so
neither the database nor a backup of it can replay a URL.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from vigil.config import Settings
from vigil.errors import ConfigError, StoreError
from vigil.store.audit import append
from vigil.store.case import CaseStore
from vigil.store.schema import decisions, files, reveals, review_time, users

QUIET = timedelta(seconds=15)  # requests closer than this to the last counted one write nothing
MAX_SHOWN_SECONDS = 600.0  # a page left open with an item revealed counts as this at most


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="microseconds")


def _day(t: datetime) -> str:
    return t.astimezone(UTC).date().isoformat()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Reveal:
    id: int
    token: str  # only in the answer to the reveal request; the store keeps its hash
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Served:
    """A reveal URL used once: which file to show."""

    id: int
    file_id: int


@contextmanager
def _guard(store: CaseStore, what: str) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot {what} in {store.describe_db()}: {exc}") from exc


def create_reveal(
    store: CaseStore, user: str, file_id: int, *, now: datetime, valid: timedelta
) -> Reveal:
    """Record a look at `file_id` by `user` with its audit entry; the URL token it returns
    works once, before `now + valid`. LookupError when there is no such file or it has no
    picture. The file's effective category then is kept, so the
    severe share stays right after a later decision."""
    token = secrets.token_urlsafe(32)
    severe_code = store.scheme.severity[0]
    with _guard(store, "record the reveal"), store.engine.begin() as conn:
        row = conn.execute(
            select(files.c.sha256, files.c.category, files.c.thumbnail).where(files.c.id == file_id)
        ).first()
        if row is None:
            raise LookupError(f"no file {file_id} in this case")
        if row.thumbnail is None:
            raise LookupError(f"file {file_id} has no picture to show")
        expires = now + valid
        reveal_id = conn.execute(
            insert(reveals)
            .values(
                user_name=user,
                file_id=file_id,
                sha256=row.sha256,
                category=row.category,
                severe=row.category == severe_code,
                token_hash=token_hash(token),
                created_at=_iso(now),
                expires_at=_iso(expires),
            )
            .returning(reveals.c.id)
        ).scalar_one()
        detail = {"file": file_id, "sha256": row.sha256, "category": row.category}
        append(conn, user, "reveal", str(file_id), detail)
    return Reveal(int(reveal_id), token, expires)


def use_reveal(store: CaseStore, token: str, user: str, *, now: datetime) -> Served | None:
    """Spend a reveal URL: the file it shows, or None when the token is unknown, another
    user's, used already or expired. One UPDATE decides, so two racing requests cannot both
    win."""
    with _guard(store, "use the reveal"), store.engine.begin() as conn:
        row = conn.execute(
            update(reveals)
            .where(
                reveals.c.token_hash == token_hash(token),
                reveals.c.user_name == user,
                reveals.c.served_at.is_(None),
                reveals.c.expires_at > _iso(now),
            )
            .values(served_at=_iso(now))
            .returning(reveals.c.id, reveals.c.file_id)
        ).first()
    return None if row is None else Served(int(row.id), int(row.file_id))


def end_reveal(store: CaseStore, reveal_id: int, user: str, seconds: float) -> bool:
    """Record how long a reveal stayed on screen (as the page measured it, capped); False
    when it is not this user's served reveal or was ended already."""
    shown = max(0.0, min(float(seconds), MAX_SHOWN_SECONDS))
    with _guard(store, "record the reveal's time"), store.engine.begin() as conn:
        done = conn.execute(
            update(reveals)
            .where(
                reveals.c.id == reveal_id,
                reveals.c.user_name == user,
                reveals.c.served_at.is_not(None),
                reveals.c.seconds.is_(None),
            )
            .values(seconds=shown)
        )
    return done.rowcount == 1


@dataclass(frozen=True, slots=True)
class BreakState:
    due: bool
    until: datetime | None  # when the break ends, if one is due
    stretch_seconds: float  # reviewing in the current stretch
    review_seconds_today: float


def _break_state(row: Any, now: datetime, settings: Settings) -> BreakState:
    pause = timedelta(minutes=settings.break_minutes)
    stretch = timedelta(minutes=settings.review_stretch_minutes)
    if row is None:
        return BreakState(False, None, 0.0, 0.0)
    last = datetime.fromisoformat(row.last_active_at)
    today = row.seconds if row.day == _day(now) else 0.0
    if now - last >= pause:  # rested long enough: the next request starts a new stretch
        return BreakState(False, None, 0.0, today)
    started = datetime.fromisoformat(row.stretch_started_at)
    spent = (last - started).total_seconds()
    if last - started >= stretch:
        return BreakState(True, last + pause, spent, today)
    return BreakState(False, None, spent, today)


def break_state(store: CaseStore, user: str, now: datetime, settings: Settings) -> BreakState:
    with _guard(store, "read the review time"), store.engine.connect() as conn:
        row = conn.execute(select(review_time).where(review_time.c.user_name == user)).first()
    return _break_state(row, now, settings)


def touch(store: CaseStore, user: str, now: datetime, settings: Settings) -> BreakState:
    """Count a reviewing request: extend the stretch (or start a new one after a pause of
    `break_minutes`) unless a break is due, in which case nothing is counted and the state
    says until when. A refused request does not move the break's end."""
    pause = timedelta(minutes=settings.break_minutes)
    with _guard(store, "read the review time"), store.engine.connect() as conn:
        row = conn.execute(select(review_time).where(review_time.c.user_name == user)).first()
    state = _break_state(row, now, settings)
    if state.due:
        return state
    if row is not None and timedelta(0) <= now - datetime.fromisoformat(row.last_active_at) < QUIET:
        # A page loads dozens of thumbnails at once: one write per QUIET is enough, since
        # the next write counts from the stored `last_active_at` and so loses nothing.
        seen = _Row(row.day, row.seconds, row.stretch_started_at, _iso(now))
        return _break_state(seen, now, settings)
    with _guard(store, "count the review time"), store.engine.begin() as conn:
        # Write first, so concurrent requests queue on the lock (SQLite cannot upgrade a
        # read to a write under a racing writer), then read the row as it is now.
        mine = review_time.c.user_name == user
        conn.execute(update(review_time).where(mine).values(user_name=review_time.c.user_name))
        row = conn.execute(select(review_time).where(mine)).first()
        state = _break_state(row, now, settings)
        if state.due:
            return state
        values = _advanced(row, now, pause)
        if row is None:
            conn.execute(insert(review_time).values(user_name=user, **values))
        else:
            conn.execute(update(review_time).where(mine).values(**values))
    return _break_state(_Row(**values), now, settings)


@dataclass(frozen=True, slots=True)
class _Row:
    day: str
    seconds: float
    stretch_started_at: str
    last_active_at: str


def _advanced(row: Any, now: datetime, pause: timedelta) -> dict[str, Any]:
    if row is None:
        return {"day": _day(now), "seconds": 0.0, "stretch_started_at": _iso(now),
                "last_active_at": _iso(now)}  # fmt: skip
    last = datetime.fromisoformat(row.last_active_at)
    gap = now - last
    seconds = row.seconds if row.day == _day(now) else 0.0
    if gap >= pause or gap.total_seconds() < 0:
        started = _iso(now)
    else:
        started = row.stretch_started_at
        seconds += gap.total_seconds()
    return {"day": _day(now), "seconds": seconds, "stretch_started_at": started,
            "last_active_at": _iso(now)}  # fmt: skip


def budget_of(conn: Connection, user: str, settings: Settings) -> int | None:
    own = conn.execute(select(users.c.daily_reveals).where(users.c.name == user)).scalar()
    if own:
        return int(own)
    return settings.daily_reveal_budget or None


def set_budget(store: CaseStore, name: str, reveals_a_day: int | None, *, actor: str) -> None:
    """An admin's daily reveal budget for `name` (None: the case's setting)."""
    with _guard(store, "set the budget"), store.engine.begin() as conn:
        done = conn.execute(
            update(users).where(users.c.name == name).values(daily_reveals=reveals_a_day)
        )
        if done.rowcount != 1:
            raise ConfigError(f"the case has no user named {name!r}")
        append(conn, actor, "user_budget", name, {"daily_reveals": reveals_a_day})


def today(store: CaseStore, user: str, now: datetime, settings: Settings) -> dict[str, Any]:
    """This user's exposure today: reveals, seconds on screen, the share of the scheme's most
    severe category, reviewing time, the budget and whether a break is due."""
    start = _iso(datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), UTC))
    with _guard(store, "read the exposure"), store.engine.connect() as conn:
        count, shown, severe = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(reveals.c.seconds), 0.0),
                func.coalesce(func.sum(case((reveals.c.severe, 1), else_=0)), 0),
            ).where(reveals.c.user_name == user, reveals.c.created_at >= start)
        ).one()
        budget = budget_of(conn, user, settings)
        row = conn.execute(select(review_time).where(review_time.c.user_name == user)).first()
    state = _break_state(row, now, settings)
    return {
        "day": _day(now),
        "reveals": int(count),
        "reveal_seconds": round(float(shown), 1),
        "severe_share": round(int(severe) / count, 3) if count else 0.0,
        "review_seconds": round(state.review_seconds_today, 1),
        "budget": budget,
        "over_budget": budget is not None and count >= budget,
        "near_budget": budget is not None and count >= 0.8 * budget,
        "break": {
            "due": state.due,
            "until": _iso(state.until) if state.until else None,
            "stretch_seconds": round(state.stretch_seconds, 1),
            "stretch_minutes": settings.review_stretch_minutes,
            "break_minutes": settings.break_minutes,
        },
    }


def reveals_per_decided(store: CaseStore) -> list[dict[str, Any]]:
    """Per user: reveals, contents they decided, and reveals per decided content — the figure
    the review app's design drives down (`vigil report`)."""
    with _guard(store, "read the reveals"), store.engine.connect() as conn:
        looked = dict(
            conn.execute(
                select(reveals.c.user_name, func.count()).group_by(reveals.c.user_name)
            ).all()
        )
        decided = dict(
            conn.execute(
                select(decisions.c.decided_by, func.count(func.distinct(decisions.c.sha256)))
                .where(decisions.c.category.is_not(None))
                .group_by(decisions.c.decided_by)
            ).all()
        )
    out = []
    for name in sorted(set(looked) | set(decided)):
        n, d = int(looked.get(name, 0)), int(decided.get(name, 0))
        out.append(
            {
                "user": name,
                "reveals": n,
                "decided": d,
                "reveals_per_decided": round(n / d, 3) if d else None,
            }
        )
    return out
