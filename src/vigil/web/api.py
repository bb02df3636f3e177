"""The review API: files, the queue, decisions, exposure, outcomes and the audit. The pages
use it and so can automation; every route needs a session, a role that may, and for a change
the CSRF token (deps.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import desc, insert, select

from vigil.store.audit import FIELDS, append
from vigil.store.exposure import end_reveal, today
from vigil.store.schema import audit, outcomes
from vigil.triage.consensus import disagreements, vote
from vigil.triage.decisions import MAX_NOTE
from vigil.triage.undo import undo
from vigil.web.deps import Auditing, Csrf, Deciding, Managing, MaySee, Viewing, now
from vigil.web.listing import MAX_LIMIT, Filters, detail, page
from vigil.web.queue_cache import Queues

router = APIRouter(prefix="/api")
_Cursor = Annotated[str | None, Query(max_length=20, pattern=r"^\d+$")]


def filters(
    state: Annotated[str | None, Query(pattern="^(decided|matched|review)$")] = None,
    category: Annotated[str | None, Query(pattern=r"^(\d{1,3}|none)$")] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    group: Annotated[str | None, Query(max_length=24)] = None,
    hashset: Annotated[int | None, Query(ge=1)] = None,
    make: Annotated[str | None, Query(max_length=200)] = None,
    model: Annotated[str | None, Query(max_length=200)] = None,
    serial: Annotated[str | None, Query(max_length=200)] = None,
    captured_from: Annotated[str | None, Query(alias="from", max_length=32)] = None,
    captured_to: Annotated[str | None, Query(alias="to", max_length=32)] = None,
) -> Filters:
    device = None
    if make is not None or model is not None or serial is not None:
        device = (make or "", model or "", serial or "")
    return Filters(
        state=state,
        category=int(category) if category not in (None, "none") else None,
        uncategorised=category == "none",
        kind=kind,
        group=group,
        hashset=hashset,
        device=device,
        captured_from=captured_from,
        captured_to=captured_to,
    )


@router.get("/files")
def list_files(
    access: Viewing,
    chosen: Annotated[Filters, Depends(filters)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    after: _Cursor = None,
) -> dict[str, Any]:
    """A page of files under the filters, in id order; `next` is the cursor of the next page."""
    return page(access.case.store, chosen, limit=limit, after=int(after or 0))


@router.get("/files/{file_id}")
def one_file(file_id: int, access: Viewing) -> dict[str, Any]:
    found = detail(access.case.store, file_id)
    if found is None:
        raise HTTPException(404, f"no file {file_id} in this case")
    return found


@router.get("/queue")
def queue(
    request: Request,
    access: Viewing,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """The groups that most need a human, most urgent first (`vigil queue`)."""
    queues: Queues = request.app.state.queues
    return {"items": queues.get(access.case, now(request), limit)}


@router.get("/disagreements")
def disagreeing(
    access: Deciding,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    after: Annotated[str | None, Query(pattern="^[0-9a-f]{64}$")] = None,
) -> dict[str, Any]:
    """Contents whose reviewers disagree, while the case needs several to agree."""
    items = disagreements(access.case.store, limit=limit, after=after)
    return {"items": items, "next": items[-1]["sha256"] if len(items) == limit else None}


class Decision(BaseModel):
    sha256: str | None = Field(None, pattern="^[0-9a-fA-F]{64}$")
    group: str | None = Field(None, max_length=24)
    category: int = Field(ge=0, le=999)
    note: str | None = Field(None, max_length=MAX_NOTE)

    @model_validator(mode="after")
    def one_target(self) -> Decision:
        if (self.sha256 is None) == (self.group is None):
            raise ValueError("give exactly one of sha256 or group")
        return self


@router.post("/decisions")
def decide_route(
    body: Decision,
    request: Request,
    _session: Csrf,
    access: Deciding,
) -> dict[str, Any]:
    """One category for a content or a whole group; with `consensus_reviewers` > 1 it is a
    vote, and the decision follows when enough reviewers agree."""
    case = access.case
    outcome = vote(
        case.store,
        body.category,
        sha256=body.sha256.lower() if body.sha256 else None,
        group=body.group,
        note=body.note,
        by=access.user.name,
        needed=case.settings.consensus_reviewers,
    )
    request.app.state.queues.decided(case.key, group=body.group, sha256=_lower(body.sha256))
    return dataclasses.asdict(outcome)


def _lower(sha256: str | None) -> str | None:
    return sha256.lower() if sha256 else None


class Undo(BaseModel):
    sha256: str | None = Field(None, pattern="^[0-9a-fA-F]{64}$")
    group: str | None = Field(None, max_length=24)

    @model_validator(mode="after")
    def one_target(self) -> Undo:
        if (self.sha256 is None) == (self.group is None):
            raise ValueError("give exactly one of sha256 or group")
        return self


@router.post("/decisions/undo")
def undo_route(
    body: Undo,
    request: Request,
    _session: Csrf,
    access: Deciding,
) -> dict[str, Any]:
    """Take back the latest decision on a content or group: what was decided before counts
    again, or the matches if nothing was."""
    sha = body.sha256.lower() if body.sha256 else None
    result = undo(access.case.store, sha256=sha, group=body.group, by=access.user.name)
    request.app.state.queues.decided(access.case.key, group=body.group, sha256=sha)
    return result


class Shown(BaseModel):
    seconds: float = Field(ge=0, le=86_400)


@router.post("/reveals/{reveal_id}/end")
def reveal_ended(
    reveal_id: int,
    body: Shown,
    _session: Csrf,
    access: MaySee,
) -> dict[str, Any]:
    """The page says how long a revealed item stayed on screen."""
    if not end_reveal(access.case.store, reveal_id, access.user.name, body.seconds):
        raise HTTPException(404, f"no open reveal {reveal_id} of yours")
    return {"reveal": reveal_id, "seconds": body.seconds}


@router.get("/me/exposure")
def exposure(request: Request, access: MaySee) -> dict:
    """Today's reveals, time on screen, share of the most severe category, reviewing time,
    budget and break."""
    case = access.case
    return {"case": case.key, **today(case.store, access.user.name, now(request), case.settings)}


class Outcome(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


@router.get("/outcomes")
def list_outcomes(access: MaySee) -> dict[str, Any]:
    """What became of the case, newest first, as admins posted it."""
    with access.case.store.engine.connect() as conn:
        rows = conn.execute(select(outcomes).order_by(desc(outcomes.c.id)).limit(50)).mappings()
        return {"items": [dict(r) for r in rows]}


@router.post("/outcomes")
def post_outcome(
    body: Outcome,
    request: Request,
    _session: Csrf,
    access: Managing,
) -> dict[str, Any]:
    at = now(request).astimezone(UTC).isoformat()
    with access.case.store.engine.begin() as conn:
        new_id = conn.execute(
            insert(outcomes)
            .values(posted_by=access.user.name, posted_at=at, text=body.text)
            .returning(outcomes.c.id)
        ).scalar_one()
        append(conn, access.user.name, "outcome", str(new_id), {"text": body.text})
    return {"id": new_id, "posted_by": access.user.name, "posted_at": at, "text": body.text}


@router.get("/audit")
def read_audit(
    access: Auditing,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    before: _Cursor = None,
) -> dict[str, Any]:
    """Audit entries, newest first (keyset by id: `next` is the `before` of the next page)."""
    query = select(audit).order_by(desc(audit.c.id)).limit(limit)
    if before is not None:
        query = query.where(audit.c.id < int(before))
    with access.case.store.engine.connect() as conn:
        rows = [{f: r[f] for f in FIELDS} for r in conn.execute(query).mappings()]
    more = len(rows) == limit and rows[-1]["id"] > 1
    return {"items": rows, "next": str(rows[-1]["id"]) if more else None}
