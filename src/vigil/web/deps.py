"""What every request needs before it does anything: a live session, one of the cases the
session holds, a role allowed to do the thing, and for a state change the CSRF token.

The account is read again on every request, so a user disabled or re-granted with another
role by `vigil user` loses (or gains) access at once, not at their next login.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request

from vigil.store.exposure import touch
from vigil.store.users import User, can, enabled_user
from vigil.web.cases import ServedCase
from vigil.web.sessions import COOKIE, Session

CSRF_HEADER = "X-CSRF-Token"


class NotLoggedIn(Exception):
    """No live session: the API answers 401, a page sends the browser to the login page."""


class BreakDue(Exception):
    def __init__(self, until: datetime | None) -> None:
        self.until = until


def now(request: Request) -> datetime:
    return request.app.state.clock()


def session(request: Request) -> Session:
    found = request.app.state.sessions.get(request.cookies.get(COOKIE), now(request))
    if found is None:
        raise NotLoggedIn()
    return found


LoggedIn = Annotated[Session, Depends(session)]


def csrf(request: Request, current: LoggedIn) -> Session:
    if not current.csrf_ok(request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return current


@dataclass(frozen=True, slots=True)
class Access:
    case: ServedCase
    user: User
    session: Session


def case_access(request: Request, current: Session, case: str | None) -> Access:
    """The case a request names (`?case=`, or the session's only case), as this session's
    user there. A case the session does not hold is answered like one that does not exist."""
    if case is None:
        if len(current.users) != 1:
            raise HTTPException(400, "this session holds several cases: say which (?case=)")
        case = next(iter(current.users))
    served = request.app.state.cases.get(case)
    account = current.users.get(case)
    if served is None or account is None:
        raise HTTPException(404, f"no case {case!r}")
    user = enabled_user(served.store, account.name)
    if user is None:
        del current.users[case]
        raise HTTPException(403, "your access to this case has been revoked")
    return Access(served, user, current)


def allowed(permission: str):
    """A dependency: the request's case access, refused (403) unless the role may do this."""

    def dependency(
        request: Request,
        current: LoggedIn,
        case: Annotated[str | None, Query(max_length=128)] = None,
    ) -> Access:
        access = case_access(request, current, case)
        if not can(access.user.role, permission):
            raise HTTPException(403, f"the {access.user.role} role may not do this")
        return access

    return dependency


def reviewing(permission: str):
    """Like `allowed`, and the request counts as reviewing time: refused while a break is due."""
    check = allowed(permission)

    def dependency(request: Request, access: Annotated[Access, Depends(check)]) -> Access:
        state = touch(access.case.store, access.user.name, now(request), access.case.settings)
        if state.due:
            raise BreakDue(state.until)
        return access

    return dependency


# What a route declares it needs, e.g. `access: Viewing`.
Csrf = Annotated[Session, Depends(csrf)]
Viewing = Annotated[Access, Depends(reviewing("view_media"))]
Deciding = Annotated[Access, Depends(reviewing("decide"))]
MaySee = Annotated[Access, Depends(allowed("view_media"))]
Managing = Annotated[Access, Depends(allowed("manage_users"))]
Auditing = Annotated[Access, Depends(allowed("read_audit"))]
