"""Logging in and out. One login opens every served case in which the name exists and the
password is right (users are per case); the session holds those cases and no others."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vigil.store.audit import append
from vigil.store.users import MAX_PASSWORD, User, authenticate, enabled_user
from vigil.web.deps import Csrf, LoggedIn, now
from vigil.web.sessions import COOKIE, Session

router = APIRouter()
SLOW_FIRST = 0.25  # seconds a failed login waits, doubling with each failure in a row …
SLOW_LONGEST = 4.0  # … up to this; the account locks after `users.FAILED_LOGIN_LIMIT`
MAX_TRACKED = 100_000


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class Failures:
    """Failed logins in a row per (client, name), to slow the next answer: the account's
    own lock stops a guesser; this stops one from hammering the argon2 verifications."""

    def __init__(self) -> None:
        self._count: dict[tuple[str, str], int] = defaultdict(int)

    def delay(self, client: str, name: str) -> float:
        n = self._count.get((client, name), 0)
        return 0.0 if n == 0 else min(SLOW_FIRST * 2 ** (n - 1), SLOW_LONGEST)

    def failed(self, client: str, name: str) -> None:
        if len(self._count) >= MAX_TRACKED:  # a spray of names must not grow memory forever
            self._count.clear()
        self._count[(client, name)] += 1

    def succeeded(self, client: str, name: str) -> None:
        self._count.pop((client, name), None)


def _check(request: Request, body: Login, at: datetime) -> dict[str, User]:
    cases = request.app.state.cases
    holders = [key for key, case in cases.items() if enabled_user(case.store, body.username)]
    if not holders:  # still one verification and one audit entry, so timing tells nothing
        first = next(iter(cases.values()))
        authenticate(first.store, body.username, body.password, now=at)
        return {}
    granted = {}
    for key in holders:
        user = authenticate(cases[key].store, body.username, body.password, now=at)
        if user is not None:
            granted[key] = user
    return granted


@router.post("/api/login")
async def login(request: Request, body: Login) -> Response:
    state = request.app.state
    client = request.client.host if request.client else "?"
    wait = state.failures.delay(client, body.username)
    if wait:
        await state.sleep(wait)
    granted = await run_in_threadpool(_check, request, body, now(request))
    if not granted:
        state.failures.failed(client, body.username)
        return JSONResponse({"detail": "wrong name or password, or the account is locked"}, 401)
    state.failures.succeeded(client, body.username)
    session = state.sessions.start(body.username, granted, now(request))
    answer = JSONResponse(_me(session))
    answer.set_cookie(
        COOKIE,
        session.token,
        httponly=True,
        samesite="strict",
        secure=state.tls,
        path="/",
    )
    return answer


def _me(session: Session) -> dict:
    return {
        "csrf_token": session.csrf,
        "user": session.name,
        "cases": [{"key": key, "role": user.role} for key, user in session.users.items()],
    }


@router.post("/api/logout")
async def logout(request: Request, session: Csrf) -> Response:
    for key, user in session.users.items():
        case = request.app.state.cases[key]
        with case.store.engine.begin() as conn:
            append(conn, user.name, "logout", None, None)
    request.app.state.sessions.end(session.token)
    answer = JSONResponse({"detail": "logged out"})
    answer.delete_cookie(COOKIE, path="/")
    return answer


@router.get("/api/me")
async def me(current: LoggedIn) -> dict:
    """Who this session is, the cases it holds and its CSRF token."""
    return _me(current)
