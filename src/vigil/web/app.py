"""The review app: `create_app(case folders)` gives the FastAPI application `vigil serve`
runs. Everything it answers needs a session (deps.py) and carries the headers of
security.py; it loads nothing from elsewhere and sends nothing off the machine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from vigil import __version__
from vigil.web import api, auth, media, pages
from vigil.web.auth import Failures
from vigil.web.cases import open_cases
from vigil.web.deps import LoggedIn
from vigil.web.queue_cache import Queues
from vigil.web.security import Guard, install_error_handlers
from vigil.web.sessions import Sessions

STATIC = Path(__file__).parent / "static"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    case_dirs: list[Path],
    *,
    tls: bool = False,
    clock: Callable[[], datetime] = _utc_now,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> FastAPI:
    """The app serving these cases. `clock` and `sleep` are the app's only sense of time,
    so tests can move it (breaks, expiring URLs, slowed logins)."""
    cases = open_cases(case_dirs)
    app = FastAPI(
        title="Vigil review",
        version=__version__,
        docs_url=None,  # FastAPI's docs pages load scripts from a CDN; pages.py lists the API
        redoc_url=None,
        openapi_url=None,  # served below, behind a session like everything else
        lifespan=_lifespan,
    )
    idle = min(c.settings.session_idle_minutes for c in cases.values())
    app.state.cases = cases
    app.state.sessions = Sessions(timedelta(minutes=idle))
    app.state.failures = Failures()
    app.state.queues = Queues()
    app.state.clock = clock
    app.state.sleep = sleep
    app.state.tls = tls
    install_error_handlers(app)
    app.include_router(auth.router)
    app.include_router(api.router)
    app.include_router(media.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Guard, tls=tls)

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi(_current: LoggedIn) -> dict:
        return app.openapi()

    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    for case in app.state.cases.values():
        case.store.close()
