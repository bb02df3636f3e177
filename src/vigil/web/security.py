"""Rules every response and request of the review app follows, whatever route serves it:
strict headers (nothing cached, nothing framed, nothing loaded from elsewhere), a cap on
request bodies, and errors that say what was wrong without a stack trace."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigil.errors import ConfigError, StoreError
from vigil.web.deps import BreakDue, NotLoggedIn

MAX_BODY = 64 * 1024  # the largest request: a decision with a long note
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), autoplay=()",
}
log = logging.getLogger("vigil.web")


class Guard:
    """ASGI middleware: the headers above on every response (HSTS too under TLS), and a 413
    for a body over `MAX_BODY`, counted as it arrives since a client may send no length."""

    def __init__(self, app: ASGIApp, tls: bool = False) -> None:
        self.app = app
        self.extra = {"strict-transport-security": "max-age=31536000"} if tls else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > MAX_BODY:
            await _too_large(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > MAX_BODY:
                    raise _TooLarge()
            return message

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                raw = [(k, v) for k, v in message.get("headers", []) if k.decode() not in HEADERS]
                for k, v in {**HEADERS, **self.extra}.items():
                    raw.append((k.encode(), v.encode()))
                message = {**message, "headers": raw}
            await send(message)

        try:
            await self.app(scope, counted, with_headers)
        except _TooLarge:
            if not started:
                await _too_large(send)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    body = b'{"detail":"request body too large"}'
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    head += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
    await send({"type": "http.response.start", "status": 413, "headers": head})
    await send({"type": "http.response.body", "body": body})


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return request.method == "GET" and not path.startswith(("/api/", "/media/", "/static/"))


_TITLES = {400: "Refused", 403: "Not allowed", 404: "Not found", 422: "Not understood"}
_pages = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _error(request: Request, detail: str, status: int):
    """A page for a browser, JSON for the API: a person who follows a stale link reads why."""
    if _wants_page(request):
        title = _TITLES.get(status, "Something went wrong")
        context = {"status": status, "title": title, "detail": detail}
        return _pages.TemplateResponse(request, "error.html", context, status_code=status)
    return JSONResponse({"detail": detail}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, _exc: NotLoggedIn):
        if _wants_page(request):
            return RedirectResponse("/login", status_code=303)
        return JSONResponse({"detail": "log in first"}, status_code=401)

    @app.exception_handler(BreakDue)
    async def break_due(request: Request, exc: BreakDue):
        until = exc.until.isoformat() if exc.until else None
        if _wants_page(request):
            # The break page needs the case too when the session holds several.
            case = request.query_params.get("case")
            target = f"/break?{urlencode({'case': case})}" if case else "/break"
            return RedirectResponse(target, status_code=303)
        return JSONResponse(
            {"detail": "time for a break: reviewing resumes after it", "break_until": until},
            status_code=423,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        ]
        return _error(request, "; ".join(problems) or "invalid request", 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error(request, str(exc.detail), exc.status_code)

    @app.exception_handler(ConfigError)
    async def refused(request: Request, exc: ConfigError):
        return _error(request, str(exc), 400)

    @app.exception_handler(StoreError)
    async def store_down(_request: Request, exc: StoreError):
        log.error("store error: %s", exc)
        return JSONResponse({"detail": "the case database cannot be reached"}, status_code=503)

    @app.exception_handler(Exception)
    async def internal(_request: Request, exc: Exception):
        log.exception("internal error", exc_info=exc)
        return JSONResponse({"detail": "internal error (logged on the server)"}, 500)
