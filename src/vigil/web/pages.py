"""The review app's pages, rendered on the server: the queue, the grid, one file, the break,
the keys, the API list and the audit. Each needs a session; the only pictures in them are
degraded thumbnails, and static/review.js adds the keys that decide and reveal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import desc, select

from vigil.media.renderings import RENDERINGS
from vigil.store.audit import FIELDS, verify
from vigil.store.exposure import today
from vigil.store.schema import audit, files, hashsets, outcomes
from vigil.store.users import can
from vigil.web import api
from vigil.web.deps import Access, Auditing, LoggedIn, MaySee, Viewing, case_access, now
from vigil.web.listing import MAX_LIMIT, detail, page
from vigil.web.media import rendering_of
from vigil.web.sessions import Session

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.trim_blocks = templates.env.lstrip_blocks = True
QUEUE_GROUPS = 50
GRID_PAGE = 60
AUDIT_PAGE = 100
_Case = Annotated[str | None, Query(max_length=128)]


def _link(case_key: str | None):
    """`link(path, **params)` for the templates: the URL with this page's case carried."""

    def link(path: str, **params: Any) -> str:
        given = {"case": case_key, **params}
        query = urlencode({k: v for k, v in given.items() if v is not None and v != ""})
        return f"{path}?{query}" if query else path

    return link


def _latest_outcome(access: Access) -> dict[str, Any] | None:
    with access.case.store.engine.connect() as conn:
        row = conn.execute(select(outcomes).order_by(desc(outcomes.c.id)).limit(1)).mappings()
        return next((dict(r) for r in row), None)


def _frame(request: Request, session: Session, access: Access | None) -> dict[str, Any]:
    """What the header of every page shows: the case, the user, today's exposure and the
    latest outcome of the case."""
    frame: dict[str, Any] = {
        "session": session,
        "cases": [(key, user.role) for key, user in session.users.items()],
        "access": access,
        "link": _link(access.case.key if access else None),
        "exposure": None,
        "outcome": None,
        "may_view": False,
        "may_audit": False,
    }
    if access is None:
        return frame
    case, role = access.case, access.user.role
    frame.update(
        may_view=can(role, "view_media"),
        may_audit=can(role, "read_audit"),
        outcome=_latest_outcome(access),
        labels=case.store.scheme.labels,
        renderings=RENDERINGS.names(),
        rendering=rendering_of(access),
    )
    if frame["may_view"]:
        frame["exposure"] = today(case.store, access.user.name, now(request), case.settings)
    return frame


def _render(
    request: Request, name: str, session: Session, access: Access | None, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {**_frame(request, session, access), **context}
    )


def _tiles(access: Access, ids: list[int]) -> dict[int, dict[str, Any]]:
    """id → what a tile of that file needs that the queue and the detail's members lack."""
    if not ids:
        return {}
    with access.case.store.engine.connect() as conn:
        rows = conn.execute(
            select(
                files.c.id,
                files.c.sha256,
                files.c.path,
                files.c.state,
                files.c.category,
                files.c.thumbnail.is_not(None).label("has_thumbnail"),
            ).where(files.c.id.in_(ids))
        ).all()
    return {r.id: r._asdict() for r in rows}


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {})


@router.get("/")
def home(request: Request, current: LoggedIn) -> Response:
    """Straight to the work when the session holds one case; a chooser when several."""
    if len(current.users) == 1:
        key, user = next(iter(current.users.items()))
        start = "/queue" if can(user.role, "view_media") else "/audit"
        return RedirectResponse(_link(key)(start), status_code=303)
    return _render(request, "cases.html", current, None)


@router.get("/queue")
def queue_page(request: Request, access: Viewing) -> HTMLResponse:
    """The groups that most need a human. Files the hash sets resolved are left out of the
    thumbnails: the queue is for what nobody has decided yet."""
    groups = request.app.state.queues.get(access.case, now(request), QUEUE_GROUPS)
    found = _tiles(access, [i for g in groups for i in g["file_ids"]])
    rows = []
    for g in groups:
        shown = [found[i] for i in g["file_ids"] if i in found]
        tiles = [t for t in shown if t["state"] != "matched"]
        rows.append({**g, "tiles": tiles, "known": len(shown) - len(tiles)})
    return _render(request, "queue.html", access.session, access, groups=rows)


def _blank_is_absent(value: Any) -> Any:
    return None if value == "" else value


class GridQuery(BaseModel):
    """The grid's filters as its form sends them: an empty field means no filter."""

    state: Literal["review", "matched", "decided", "any"] = "review"
    category: str | None = Field(None, pattern=r"^(\d{1,3}|none)$")
    kind: str | None = Field(None, max_length=16)
    group: str | None = Field(None, max_length=24)
    hashset: int | None = Field(None, ge=1)
    make: str | None = Field(None, max_length=200)
    model: str | None = Field(None, max_length=200)
    serial: str | None = Field(None, max_length=200)
    date_from: str | None = Field(None, alias="from", max_length=32)
    date_to: str | None = Field(None, alias="to", max_length=32)
    after: int = Field(0, ge=0)
    limit: int = Field(GRID_PAGE, ge=1, le=MAX_LIMIT)

    _blank = field_validator("*", mode="before")(_blank_is_absent)


@router.get("/grid")
def grid_page(
    request: Request, access: Viewing, query: Annotated[GridQuery, Query()]
) -> HTMLResponse:
    """Files under filters, a page at a time; by default only those still to review, so
    known material stays out of sight unless asked for."""
    chosen = api.filters(
        state=None if query.state == "any" else query.state,
        category=query.category,
        kind=query.kind,
        group=query.group,
        hashset=query.hashset,
        make=query.make,
        model=query.model,
        serial=query.serial,
        captured_from=query.date_from,
        captured_to=query.date_to,
    )
    found = page(access.case.store, chosen, limit=query.limit, after=query.after)
    carried = query.model_dump(by_alias=True, exclude={"after"}, exclude_defaults=True)
    with access.case.store.engine.connect() as conn:
        sets = conn.execute(
            select(hashsets.c.id, hashsets.c.name, hashsets.c.version)
            .where(hashsets.c.active.is_(True))
            .order_by(hashsets.c.name)
        ).all()
    return _render(
        request,
        "grid.html",
        access.session,
        access,
        items=found["items"],
        next_after=found["next"],
        first_page=query.after > 0,
        query=query,
        carried=carried,
        hashsets=sets,
    )


@router.get("/files/{file_id}")
def file_page(request: Request, file_id: int, access: Viewing) -> HTMLResponse:
    """Everything known about one file, so a decision rarely needs a reveal; the group's
    other members are its similar items."""
    found = detail(access.case.store, file_id)
    if found is None:
        raise HTTPException(404, f"no file {file_id} in this case")
    members = _tiles(access, [m["id"] for m in found["members"]])
    tiles = [members[m["id"]] for m in found["members"] if m["id"] in members]
    return _render(
        request,
        "detail.html",
        access.session,
        access,
        file=found,
        members=[t for t in tiles if t["state"] != "matched"],
        known_members=[t for t in tiles if t["state"] == "matched"],
    )


@router.get("/break")
def break_page(request: Request, access: MaySee) -> HTMLResponse:
    state = today(access.case.store, access.user.name, now(request), access.case.settings)
    return _render(
        request,
        "break.html",
        access.session,
        access,
        pause=state["break"],
        server_now=now(request).isoformat(),
    )


def _maybe_access(request: Request, current: Session, case: str | None) -> Access | None:
    """The case's access for pages that need none (the keys, the API list), when the
    request or the session names one case."""
    if case is None and len(current.users) != 1:
        return None
    return case_access(request, current, case)


@router.get("/keys")
def keys_page(request: Request, current: LoggedIn, case: _Case = None) -> HTMLResponse:
    return _render(request, "keys.html", current, _maybe_access(request, current, case))


@router.get("/api/docs")
def api_docs(request: Request, current: LoggedIn, case: _Case = None) -> HTMLResponse:
    """The API as its OpenAPI schema describes it (FastAPI's own pages load a CDN)."""
    routes = []
    for path, operations in sorted(request.app.openapi()["paths"].items()):
        for method, op in operations.items():
            params = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
            routes.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "query": [p for p in params if p != "case"],
                    "body": "requestBody" in op,
                }
            )
    access = _maybe_access(request, current, case)
    return _render(request, "apidocs.html", current, access, routes=routes)


@router.get("/audit")
def audit_page(
    request: Request,
    access: Auditing,
    before: Annotated[int | None, Query(ge=1)] = None,
    check: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """The audit log, newest first; `check=1` verifies the whole chain as well."""
    query = select(audit).order_by(desc(audit.c.id)).limit(AUDIT_PAGE)
    if before is not None:
        query = query.where(audit.c.id < before)
    with access.case.store.engine.connect() as conn:
        entries = [{f: r[f] for f in FIELDS} for r in conn.execute(query).mappings()]
    older = entries[-1]["id"] if len(entries) == AUDIT_PAGE and entries[-1]["id"] > 1 else None
    return _render(
        request,
        "audit.html",
        access.session,
        access,
        entries=entries,
        older=older,
        verified=verify(access.case.store) if check else None,
    )
