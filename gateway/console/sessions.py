"""Console sessions, kept server-side in Redis with an expiry.

The browser's cookie holds a random id; Redis holds ``<prefix>:console:session:<sha256
of the id>`` (so a Redis dump holds no usable cookie) with the CSRF token, whether the
session has logged in, and a one-shot message for the next page. A session expires
``SFGW_CONSOLE_SESSION_TTL_S`` after it was made; logging in makes a new one (the id a
browser had before the login is worthless afterwards).
"""

from __future__ import annotations

import hashlib
import json

import redis

from gateway.console.security import Session, new_secret
from gateway.settings import CoreSettings


class SessionStore:
    def __init__(self, client: redis.Redis, core: CoreSettings, ttl_s: int) -> None:
        self._client = client
        self._core = core
        self.ttl_s = ttl_s

    def _key(self, session_id: str) -> str:
        digest = hashlib.sha256(session_id.encode()).hexdigest()
        return self._core.key("console", "session", digest)

    def create(self, *, authenticated: bool) -> tuple[str, Session]:
        session_id = new_secret()
        session = Session(csrf=new_secret(), authenticated=authenticated)
        self._client.set(self._key(session_id), _dump(session), ex=self.ttl_s)
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id or len(session_id) > 100:
            return None
        raw = self._client.get(self._key(session_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return Session(data["csrf"], bool(data["authenticated"]), data.get("flash", ""))

    def delete(self, session_id: str) -> None:
        self._client.delete(self._key(session_id))

    def set_flash(self, session_id: str, session: Session, text: str) -> None:
        """A message for the next page (what an action did), keeping the expiry."""
        updated = Session(session.csrf, session.authenticated, text)
        self._client.set(self._key(session_id), _dump(updated), keepttl=True, xx=True)

    def pop_flash(self, session_id: str, session: Session) -> str:
        if session.flash:
            self.set_flash(session_id, session, "")
        return session.flash


def _dump(session: Session) -> str:
    return json.dumps(
        {"csrf": session.csrf, "authenticated": session.authenticated, "flash": session.flash}
    )
