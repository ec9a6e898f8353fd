"""Who may call the org and how much they used: sessions, and the counters per UTC day
(API and token requests, and the faults that fired, see :data:`FIRED_KINDS`)."""

from __future__ import annotations

import secrets
import time

from mock_salesforce.faults import FIRED_KINDS
from mock_salesforce.store.database import Database, token_hash, utc_day


class Access(Database):
    # -- sessions ----------------------------------------------------------------------
    def new_session(self, kind: str, ttl: float, org15: str, now: float | None = None) -> str:
        now = time.time() if now is None else now
        token = f"{org15}!{secrets.token_urlsafe(48)}"
        with self.tx():
            self.db.execute(
                "INSERT INTO sessions (token_hash, kind, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (token_hash(token), kind, now, now + ttl),
            )
        return token

    def touch_session(self, token: str, ttl: float, now: float | None = None) -> bool:
        """True if the session is valid; each use extends it (inactivity timeout)."""
        now = time.time() if now is None else now
        with self.tx():
            cursor = self.db.execute(
                "UPDATE sessions SET expires_at = ? WHERE token_hash = ? AND expires_at > ?",
                (now + ttl, token_hash(token), now),
            )
        return cursor.rowcount == 1

    def expire_sessions(self, now: float | None = None) -> int:
        """Expire every session; returns how many were still live (0 proves nothing
        changed, so a test can tell that its expiry had something to expire)."""
        now = time.time() if now is None else now
        with self.tx():
            return self.db.execute(
                "UPDATE sessions SET expires_at = 0 WHERE expires_at > ?", (now,)
            ).rowcount

    # -- API usage ---------------------------------------------------------------------
    def count_call(
        self, limit: int | None, kind: str = "api", now: float | None = None
    ) -> tuple[bool, int]:
        """Count one call; returns (allowed, used). Over the limit nothing is counted;
        ``None``: no limit (token requests, and a call answered by an injected 503)."""
        day = utc_day(time.time() if now is None else now)
        with self.tx():
            row = self.db.execute(
                "SELECT count FROM api_usage WHERE day = ? AND kind = ?", (day, kind)
            ).fetchone()
            used = row["count"] if row else 0
            if limit is not None and used >= limit:
                return False, used
            self.db.execute(
                "INSERT INTO api_usage (day, kind, count) VALUES (?, ?, 1) ON CONFLICT (day, kind) "
                "DO UPDATE SET count = count + 1",
                (day, kind),
            )
        return True, used + 1

    def usage(self, kind: str = "api", now: float | None = None) -> int:
        day = utc_day(time.time() if now is None else now)
        row = self.db.execute(
            "SELECT count FROM api_usage WHERE day = ? AND kind = ?", (day, kind)
        ).fetchone()
        return int(row["count"]) if row else 0

    def fired(self) -> dict[str, int]:
        """How often each fault fired, summed over every day (every kind, 0 included)."""
        marks = ",".join("?" * len(FIRED_KINDS))
        totals = {kind: 0 for kind in FIRED_KINDS}
        for row in self.db.execute(
            f"SELECT kind, SUM(count) AS total FROM api_usage WHERE kind IN ({marks}) "  # noqa: S608 - placeholders only
            "GROUP BY kind",
            FIRED_KINDS,
        ):
            totals[row["kind"]] = int(row["total"])
        return totals

    def reset_usage(self) -> None:
        """Forget all counters: API and token requests and the faults that fired."""
        with self.tx():
            self.db.execute("DELETE FROM api_usage")
