"""Login sessions of the review app, held in the server's memory only: a restart logs every
user out, and no session secret ever reaches a disk.

A session holds, per case, the account it authenticated as (users are per case) and one CSRF
token that every state-changing request must send back in `X-CSRF-Token`.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vigil.store.users import User

COOKIE = "vigil_session"
LONGEST = timedelta(hours=12)  # a session ends after this even when used all along


@dataclass
class Session:
    token: str
    csrf: str
    name: str
    users: dict[str, User]  # case key → the account in that case
    started: datetime
    last_seen: datetime
    rendering: dict[str, str] = field(default_factory=dict)  # case key → chosen mode

    def csrf_ok(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf.encode())


class Sessions:
    def __init__(self, idle: timedelta) -> None:
        self.idle = idle
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, name: str, users: dict[str, User], now: datetime) -> Session:
        session = Session(
            secrets.token_urlsafe(32), secrets.token_urlsafe(32), name, users, now, now
        )
        with self._lock:
            self._forget_stale(now)
            self._by_token[session.token] = session
        return session

    def _forget_stale(self, now: datetime) -> None:
        stale = [
            token
            for token, s in self._by_token.items()
            if now - s.last_seen > self.idle or now - s.started > LONGEST
        ]
        for token in stale:
            del self._by_token[token]

    def get(self, token: str | None, now: datetime) -> Session | None:
        """The live session of a cookie value, its idle clock reset; None when unknown,
        idle too long or too old (and then it is forgotten)."""
        if not token:
            return None
        with self._lock:
            session = self._by_token.get(token)
            if session is None:
                return None
            if now - session.last_seen > self.idle or now - session.started > LONGEST:
                del self._by_token[token]
                return None
            session.last_seen = now
            return session

    def end(self, token: str) -> None:
        with self._lock:
            self._by_token.pop(token, None)
