"""The review app's pages: server-rendered from the same reads as the API (listing.py,
queue_cache.py, store.exposure), with one small script for keys, reveals and decisions.
Every page needs a session; a page asked for without one sends the browser to /login, and
one asked for during an enforced break to /break."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import desc, select

from vigil.media.renderings import RENDERINGS
from vigil.store.exposure import today
from vigil.store.schema import audit, outcomes
from vigil.store.users import can
from vigil.web.api import filters
from vigil.web.deps import Access, LoggedIn, MaySee, Viewing, allowed, case_access, now
from vigil.web.listing import Filters, detail, page
from vigil.web.media import rendering_of

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
GRID_PAGE = 60
QUEUE_GROUPS = 30


def _render(request: Request, name: str, access: Access | None, **context: Any) -> HTMLResponse:
    base: dict[str, Any] = {"access": access}
    if access is not None:
        case = access.case
        base.update(
            case=case,
            csrf=access.session.csrf,
            exposure=today(case.store, access.user.name, now(request), case.settings),
            outcome=_latest_outcome(access),
            modes=RENDERINGS.names(),
            mode=rendering_of(access),
            scheme=case.store.scheme,
            may_audit=can(access.user.role, "read_audit"),
            may_view=can(access.user.role, "view_media"),
            q=lambda **kw: urlencode({"case": case.key, **kw}),
        )
    return templates.TemplateResponse(request, name, {**base, **context})


def _latest_outcome(access: Access) -> Any:
    with access.case.store.engine.connect() as conn:
        return conn.execute(select(outcomes).order_by(desc(outcomes.c.id)).limit(1)).first()


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return _render(request, "login.html", None)


@router.get("/")
def home(request: Request, current: LoggedIn) -> Any:
    if len(current.users) == 1:
        key = next(iter(current.users))
        role = current.users[key].role
        target = "/queue" if can(role, "view_media") else "/audit"
        return RedirectResponse(f"{target}?case={key}", status_code=303)
    return templates.TemplateResponse(
        request, "cases.html", {"access": None, "cases": sorted(current.users.items())}
    )


@router.get("/queue")
def queue_page(request: Request, access: Viewing) -> HTMLResponse:
    items = request.app.state.queues.get(access.case, now(request), QUEUE_GROUPS)
    return _render(request, "queue.html", access, items=items)


@router.get("/grid")
def grid_page(
    request: Request,
    access: Viewing,
    after: Annotated[int, Query(ge=0)] = 0,
    state: Annotated[str | None, Query(pattern="^(decided|matched|review|all)$")] = "review",
) -> HTMLResponse:
    params = {k: v for k, v in request.query_params.items() if v}
    params["state"] = None if state == "all" else state
    category = params.get("category")
    if category is not None and not (category == "none" or category.isdigit()):
        raise HTTPException(422, "category must be a number or none")
    chosen: Filters = filters(
        **{k: params.get(k) for k in ("state", "category", "kind", "group")},
        hashset=int(params["hashset"]) if params.get("hashset", "").isdigit() else None,
        make=params.get("make") or None,
        model=params.get("model") or None,
        serial=params.get("serial") or None,
        captured_from=params.get("from") or None,
        captured_to=params.get("to") or None,
    )
    found = page(access.case.store, chosen, limit=GRID_PAGE, after=after)
    shown = {k: v for k, v in request.query_params.items() if k not in ("after", "case") and v}
    return _render(request, "grid.html", access, found=found, shown=shown, state=state or "all")


@router.get("/files/{file_id}")
def detail_page(request: Request, file_id: int, access: Viewing) -> HTMLResponse:
    found = detail(access.case.store, file_id)
    if found is None:
        raise HTTPException(404, f"no file {file_id} in this case")
    return _render(request, "detail.html", access, f=found)


@router.get("/break")
def break_page(request: Request, access: MaySee) -> HTMLResponse:
    return _render(request, "break.html", access)


@router.get("/keys")
def keys_page(request: Request, access: MaySee) -> HTMLResponse:
    return _render(request, "keys.html", access)


@router.get("/audit")
def audit_page(
    request: Request,
    current: LoggedIn,
    case: Annotated[str | None, Query(max_length=128)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    access = allowed("read_audit")(request, current, case)
    query = select(audit).order_by(desc(audit.c.id)).limit(100)
    if before is not None:
        query = query.where(audit.c.id < before)
    with access.case.store.engine.connect() as conn:
        entries = conn.execute(query).all()
    return _render(request, "audit.html", access, entries=entries)


@router.get("/api/docs")
def api_docs(request: Request, current: LoggedIn) -> HTMLResponse:
    """The API, listed from the generated OpenAPI description."""
    spec = request.app.openapi()
    rows = [
        (method.upper(), path, op.get("summary", ""), (op.get("description") or "").strip())
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    ]
    access = case_access(request, current, None) if len(current.users) == 1 else None
    return _render(request, "apidocs.html", access, rows=rows)
