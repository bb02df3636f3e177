"""Pictures, as little of them as will do: the degraded thumbnail in the user's rendering,
and one undegraded item at review resolution through a logged, single-use, expiring URL.

Thumbnails are rendered from the case's stored thumbnail, so the browser never receives more
than the degraded picture. A reveal reads the picture again from the evidence (read-only) when
it is a file of a folder source and still holds the content it was hashed as; an archive
member, or a file changed or gone since, is shown from the stored thumbnail instead.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool

from vigil.errors import ImageError
from vigil.media.renderings import RENDERINGS, render, review_copy
from vigil.store.audit import append
from vigil.store.exposure import create_reveal, today, use_reveal
from vigil.store.schema import files, sources, users
from vigil.web.cases import ServedCase
from vigil.web.deps import Access, Csrf, MaySee, Viewing, now

router = APIRouter()
DEFAULT_RENDERING = "blur-grey"
THUMB_SIZE = 256
_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}


def rendering_of(access: Access) -> str:
    chosen = access.user.rendering
    return chosen if chosen in RENDERINGS.names() else DEFAULT_RENDERING


def _stored_thumbnail(case: ServedCase, file_id: int) -> bytes:
    with case.store.engine.connect() as conn:
        row = conn.execute(
            select(files.c.sha256, files.c.thumbnail).where(files.c.id == file_id)
        ).first()
    if row is None:
        raise HTTPException(404, f"no file {file_id} in this case")
    if row.thumbnail is None or not row.sha256:
        raise HTTPException(404, f"file {file_id} has no picture to show")
    try:
        return case.store.thumbnail_path(row.sha256).read_bytes()
    except OSError as exc:
        raise HTTPException(404, f"the thumbnail of file {file_id} is missing") from exc


def _image(data: bytes) -> Response:
    kind = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    return Response(data, media_type=kind, headers={"content-disposition": "inline"})


@router.get("/api/files/{file_id}/thumbnail")
async def thumbnail(
    file_id: Annotated[int, Path(ge=1)],
    access: Viewing,
    mode: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The file's degraded rendering, in `mode` or the user's chosen one."""
    chosen = mode or rendering_of(access)
    if chosen not in RENDERINGS.names():
        raise HTTPException(400, f"unknown rendering {chosen!r} ({', '.join(RENDERINGS.names())})")
    data = _stored_thumbnail(access.case, file_id)
    try:
        rendered = await run_in_threadpool(render, data, chosen, THUMB_SIZE)
    except ImageError as exc:
        raise HTTPException(422, f"the thumbnail cannot be rendered: {exc}") from exc
    return _image(rendered)


class RevealAnswer(BaseModel):
    reveal: int
    url: str
    expires_at: str
    show_seconds: int
    over_budget: bool
    reveals_today: int
    budget: int | None


@router.post("/api/files/{file_id}/reveal")
def reveal(
    request: Request,
    file_id: Annotated[int, Path(ge=1)],
    _session: Csrf,
    access: Viewing,
) -> RevealAnswer:
    """Record a look at this one item and hand out the URL that shows it, once."""
    case, at = access.case, now(request)
    valid = timedelta(seconds=case.settings.reveal_url_seconds)
    try:
        made = create_reveal(case.store, access.user.name, file_id, now=at, valid=valid)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    figures = today(case.store, access.user.name, at, case.settings)
    return RevealAnswer(
        reveal=made.id,
        url=f"/media/reveal/{made.token}?case={case.key}",
        expires_at=made.expires_at.isoformat(),
        show_seconds=case.settings.reveal_seconds,
        over_budget=figures["over_budget"],
        reveals_today=figures["reveals"],
        budget=figures["budget"],
    )


@router.get("/media/reveal/{token}")
async def revealed(
    request: Request,
    token: Annotated[str, Path(min_length=20, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    access: MaySee,
) -> Response:
    """The undegraded item, once: a second use, another user's URL or an expired one is 410."""
    case = access.case
    served = use_reveal(case.store, token, access.user.name, now=request.app.state.clock())
    if served is None:
        raise HTTPException(410, "this reveal URL has been used, has expired or is not yours")
    data = await run_in_threadpool(_review_bytes, case, served.file_id)
    return _image(data)


def _review_bytes(case: ServedCase, file_id: int) -> bytes:
    size = case.settings.review_size
    original = _evidence_bytes(case, file_id)
    if original is not None:
        try:
            return review_copy(original, size, limits=case.settings.limits)
        except ImageError:
            pass  # what ingest could decode it made a thumbnail of; show that
    try:
        return review_copy(_stored_thumbnail(case, file_id), size)
    except ImageError as exc:
        raise HTTPException(422, f"the picture cannot be shown: {exc}") from exc


def _evidence_bytes(case: ServedCase, file_id: int) -> bytes | None:
    """The file's bytes read again from a folder source, or None when it is an archive member
    or no longer holds the content it was hashed as."""
    with case.store.engine.connect() as conn:
        row = conn.execute(
            select(files.c.depth, files.c.top, files.c.sha256, files.c.size, sources.c.root_raw)
            .join(sources, sources.c.id == files.c.source_id)
            .where(files.c.id == file_id)
        ).first()
    limit = case.settings.limits.max_image_bytes
    if row is None or row.depth != 0 or not row.sha256 or (row.size or 0) > limit:
        return None
    path = os.path.join(bytes(row.root_raw), bytes(row.top))
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        fd = os.open(path, flags & ~getattr(os, "O_NOATIME", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if hashlib.sha256(data).hexdigest() != row.sha256:
        return None
    return data


class Rendering(BaseModel):
    mode: str


@router.post("/api/me/rendering")
def choose_rendering(
    body: Rendering,
    _session: Csrf,
    access: MaySee,
) -> dict[str, str]:
    """Choose the degraded rendering of every thumbnail this user is shown in this case."""
    if body.mode not in RENDERINGS.names():
        raise HTTPException(400, f"unknown rendering {body.mode!r}")
    with access.case.store.engine.begin() as conn:
        conn.execute(
            update(users).where(users.c.name == access.user.name).values(rendering=body.mode)
        )
        append(conn, access.user.name, "user_rendering", access.user.name, {"mode": body.mode})
    return {"rendering": body.mode}
