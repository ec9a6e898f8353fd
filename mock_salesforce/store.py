"""The org's data in SQLite: Opportunities, outbound-message definitions, the delivery
queue, sessions, API usage and injected faults.

SQLite in WAL mode because the API runs in several gunicorn workers and the sender in
another thread/process: everyone sees one consistent org, restarts lose nothing, and
writes are serialised with ``BEGIN IMMEDIATE``. Secrets are never stored: sessions are
kept as SHA-256 hashes of the token.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import sqlite3
import string
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway import sfid
from mock_salesforce.records import OPEN_STAGES, WON_STAGE, stage_flags

SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS opportunities (
    Id TEXT PRIMARY KEY, Name TEXT NOT NULL, AccountId TEXT, Amount REAL, CloseDate TEXT,
    StageName TEXT NOT NULL, IsClosed INTEGER NOT NULL, IsWon INTEGER NOT NULL,
    Order_Number__c TEXT, Order_Status__c TEXT, CreatedDate REAL NOT NULL,
    LastModifiedDate REAL NOT NULL, SystemModstamp REAL NOT NULL,
    IsDeleted INTEGER NOT NULL DEFAULT 0, update_count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS definitions (
    id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, contract TEXT NOT NULL,
    endpoint_url TEXT NOT NULL, include_session_id INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS notifications (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, definition_id TEXT NOT NULL,
    opportunity_id TEXT NOT NULL, created_at REAL NOT NULL, message_id TEXT);
CREATE INDEX IF NOT EXISTS notifications_unassigned ON notifications (message_id, seq);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, definition_id TEXT NOT NULL, created_at REAL NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    last_attempt_at REAL, next_attempt_at REAL NOT NULL, delivered_at REAL,
    notification_count INTEGER NOT NULL, redeliveries INTEGER NOT NULL DEFAULT 0,
    in_flight INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS messages_due ON messages (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS attempts (
    message_id TEXT NOT NULL, attempt INTEGER NOT NULL, at REAL NOT NULL, ok INTEGER NOT NULL,
    reason TEXT);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at REAL NOT NULL,
    expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS api_usage (day TEXT NOT NULL, kind TEXT NOT NULL,
    count INTEGER NOT NULL, PRIMARY KEY (day, kind));
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS locked_once (opportunity_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS sender_lease (id INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS query_cursors (id TEXT PRIMARY KEY, created_at REAL NOT NULL,
    batch_size INTEGER NOT NULL, records TEXT NOT NULL);
"""

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

DEFAULT_FAULTS: dict[str, Any] = {
    "lock_probability": 0.0,
    "lock_first_attempt": False,
    "unavailable_probability": 0.0,
    "validation_fail_ids": [],
    "daily_api_limit": None,
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def utc_day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


@dataclass(frozen=True)
class Definition:
    id: str
    name: str
    contract: str
    endpoint_url: str
    include_session_id: bool
    active: bool


class OrgStore:
    """One connection to the org database; create one per thread/process."""

    def __init__(self, path: Path, *, pod: str = "5g") -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.pod = pod
        for statement in SCHEMA.split(";"):
            if statement.strip():
                self.db.execute(statement)

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front (BEGIN IMMEDIATE): no upgrade deadlocks."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- ids ---------------------------------------------------------------------------
    def new_ids(self, prefix: str, count: int) -> list[str]:
        """Fresh 18-character ids with ``prefix`` (call inside a transaction)."""
        row = self.db.execute("SELECT value FROM counters WHERE name = ?", (prefix,)).fetchone()
        start = row["value"] if row else 0
        self.db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (prefix, start + count),
        )
        return [self._make_id(prefix, start + i + 1) for i in range(count)]

    def _make_id(self, prefix: str, number: int) -> str:
        digits = ""
        while number:
            number, rest = divmod(number, 62)
            digits = _BASE62[rest] + digits
        return sfid.to18(prefix + self.pod + digits.rjust(10, "0"))

    # -- definitions -------------------------------------------------------------------
    def set_definitions(self, specs: Sequence[Mapping[str, Any]]) -> list[Definition]:
        """Replace the outbound-message definitions (keeps ActionIds of same-named ones)."""
        with self.tx():
            existing = {r["name"]: r["id"] for r in self.db.execute("SELECT * FROM definitions")}
            self.db.execute("UPDATE definitions SET active = 0")
            for spec in specs:
                name = str(spec["name"])
                action_id = existing.get(name) or self.new_ids("04k", 1)[0]
                self.db.execute(
                    "INSERT INTO definitions (id, name, contract, endpoint_url, "
                    "include_session_id, active) VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (id) DO "
                    "UPDATE SET contract = excluded.contract, endpoint_url = excluded.endpoint_url,"
                    " include_session_id = excluded.include_session_id, active = 1",
                    (
                        action_id,
                        name,
                        str(spec["contract"]),
                        str(spec["endpoint_url"]),
                        int(bool(spec.get("include_session_id", False))),
                    ),
                )
        return self.definitions()

    def definitions(self, *, active_only: bool = False) -> list[Definition]:
        sql = "SELECT * FROM definitions WHERE active = 1 OR ? = 0"
        return [
            Definition(
                r["id"],
                r["name"],
                r["contract"],
                r["endpoint_url"],
                bool(r["include_session_id"]),
                bool(r["active"]),
            )
            for r in self.db.execute(sql + " ORDER BY name", (int(active_only),))
        ]

    def definition(self, action_id: str) -> Definition | None:
        return next((d for d in self.definitions() if d.id == action_id), None)

    # -- opportunities -----------------------------------------------------------------
    def create_opportunities(self, count: int, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        with self.tx():
            return self._create(count, now)

    def _create(self, count: int, now: float) -> list[str]:
        ids = self.new_ids("006", count)
        accounts = self.new_ids("001", 1)
        n0 = self.db.execute("SELECT COUNT(*) FROM opportunities").fetchone()[0]
        for i, oid in enumerate(ids):
            stage = OPEN_STAGES[(n0 + i) % len(OPEN_STAGES)]
            self.db.execute(
                "INSERT INTO opportunities (Id, Name, AccountId, Amount, CloseDate, StageName, "
                "IsClosed, IsWon, CreatedDate, LastModifiedDate, SystemModstamp) "
                "VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)",
                (
                    oid,
                    f"Deal {n0 + i + 1:05d}",
                    accounts[0],
                    float(1000 * ((n0 + i) % 97 + 1)),
                    time.strftime("%Y-%m-%d", time.gmtime(now)),
                    stage,
                    now,
                    now,
                    now,
                ),
            )
        return ids

    def close_won(self, count: int, now: float | None = None) -> list[str]:
        """Move ``count`` open Opportunities to Closed Won, creating any that are missing."""
        now = time.time() if now is None else now
        with self.tx():
            rows = self.db.execute(
                "SELECT Id FROM opportunities WHERE IsClosed = 0 AND IsDeleted = 0 "
                "ORDER BY CreatedDate, Id LIMIT ?",
                (count,),
            ).fetchall()
            ids = [r["Id"] for r in rows]
            if len(ids) < count:
                ids += self._create(count - len(ids), now)
            for oid in ids:
                self._apply(oid, {"StageName": WON_STAGE}, now)
        return ids

    def get(self, oid: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM opportunities WHERE Id = ?", (oid,)).fetchone()
        return _record(row) if row else None

    def get_many(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            for row in self.db.execute(
                f"SELECT * FROM opportunities WHERE Id IN ({marks})",  # noqa: S608 - placeholders only
                part,
            ):
                out[row["Id"]] = _record(row)
        return out

    def all_opportunities(self) -> list[dict[str, Any]]:
        return [
            _record(r)
            for r in self.db.execute("SELECT * FROM opportunities ORDER BY CreatedDate, Id")
        ]

    def opportunity_columns(self, columns: Sequence[str]) -> list[dict[str, Any]]:
        """Every Opportunity as :meth:`all_opportunities` gives it, ``columns`` only: the
        admin view reads all of them on each progress poll, at about half the cost."""
        unknown = set(columns) - OPPORTUNITY_COLUMNS
        if unknown:
            raise ValueError(f"unknown Opportunity column(s): {', '.join(sorted(unknown))}")
        flags = [i for i, name in enumerate(columns) if name in _FLAG_COLUMNS]
        cursor = self.db.cursor()
        cursor.row_factory = None  # plain tuples
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM opportunities ORDER BY CreatedDate, Id"  # noqa: S608 - checked names
        )
        out = []
        for row in cursor:
            values = list(row)
            for i in flags:
                values[i] = bool(values[i])
            out.append(dict(zip(columns, values, strict=True)))
        return out

    def delete(self, oid: str) -> bool:
        with self.tx():
            cursor = self.db.execute(
                "UPDATE opportunities SET IsDeleted = 1 WHERE Id = ? AND IsDeleted = 0", (oid,)
            )
        return cursor.rowcount == 1

    def update(self, oid: str, changes: Mapping[str, object], now: float | None = None) -> None:
        """Apply already-validated changes in their own transaction."""
        with self.tx():
            self._apply(oid, changes, time.time() if now is None else now)

    def apply_in_tx(self, oid: str, changes: Mapping[str, object], now: float) -> None:
        self._apply(oid, changes, now)

    def _apply(self, oid: str, changes: Mapping[str, object], now: float) -> None:
        before = self.db.execute(
            "SELECT StageName FROM opportunities WHERE Id = ?", (oid,)
        ).fetchone()
        sets = dict(changes)
        if "StageName" in sets:
            closed, won = stage_flags(str(sets["StageName"]))
            sets["IsClosed"], sets["IsWon"] = int(closed), int(won)
        sets["LastModifiedDate"] = now
        sets["SystemModstamp"] = now
        columns = ", ".join(f"{name} = ?" for name in sets)
        self.db.execute(
            f"UPDATE opportunities SET {columns}, update_count = update_count + 1 WHERE Id = ?",  # noqa: S608 - column names come from the field list
            (*sets.values(), oid),
        )
        # The workflow rule: AND(ISCHANGED(StageName), IsWon) queues one notification per
        # active outbound-message definition.
        if before is not None and sets.get("IsWon") == 1 and before["StageName"] != WON_STAGE:
            self._queue_notifications(oid, now)

    def _queue_notifications(self, oid: str, now: float) -> None:
        definitions = self.definitions(active_only=True)
        ids = self.new_ids("04l", len(definitions))
        seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM notifications").fetchone()[0]
        for i, (nid, definition) in enumerate(zip(ids, definitions, strict=True)):
            self.db.execute(
                "INSERT INTO notifications (id, seq, definition_id, opportunity_id, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (nid, seq + i + 1, definition.id, oid, now),
            )

    # -- delivery queue ----------------------------------------------------------------
    def unassigned_notifications(self) -> dict[str, list[tuple[str, str, float]]]:
        """Queued notifications not yet in a message, per definition, in queue order."""
        out: dict[str, list[tuple[str, str, float]]] = {}
        for r in self.db.execute(
            "SELECT id, definition_id, opportunity_id, created_at FROM notifications "
            "WHERE message_id IS NULL ORDER BY seq"
        ):
            out.setdefault(r["definition_id"], []).append(
                (r["id"], r["opportunity_id"], r["created_at"])
            )
        return out

    def create_message(
        self, definition_id: str, notification_ids: Sequence[str], now: float
    ) -> str:
        with self.tx():
            mid = self.new_ids("MSG", 1)[0]
            created = min(
                r[0]
                for r in self.db.execute(
                    f"SELECT created_at FROM notifications WHERE id IN ({','.join('?' * len(notification_ids))})",  # noqa: S608, E501
                    list(notification_ids),
                )
            )
            self.db.execute(
                "INSERT INTO messages (id, definition_id, created_at, status, next_attempt_at, "
                "notification_count) VALUES (?, ?, ?, 'pending', ?, ?)",
                (mid, definition_id, created, now, len(notification_ids)),
            )
            self.db.executemany(
                "UPDATE notifications SET message_id = ? WHERE id = ?",
                [(mid, nid) for nid in notification_ids],
            )
        return mid

    def due_messages(self, now: float, limit: int) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM messages WHERE status = 'pending' AND in_flight = 0 "
            "AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?",
            (now, limit),
        ).fetchall()

    def next_due(self) -> float | None:
        row = self.db.execute(
            "SELECT MIN(next_attempt_at) FROM messages WHERE status = 'pending' AND in_flight = 0"
        ).fetchone()
        return row[0] if row else None

    def claim(self, mid: str) -> bool:
        with self.tx():
            cursor = self.db.execute(
                "UPDATE messages SET in_flight = 1 WHERE id = ? AND in_flight = 0 "
                "AND status = 'pending'",
                (mid,),
            )
        return cursor.rowcount == 1

    def release_all(self) -> None:
        """At sender start-up: nothing is in flight any more (the old sender is gone)."""
        with self.tx():
            self.db.execute("UPDATE messages SET in_flight = 0 WHERE in_flight = 1")

    def message_notifications(self, mid: str) -> list[tuple[str, str]]:
        return [
            (r["id"], r["opportunity_id"])
            for r in self.db.execute(
                "SELECT id, opportunity_id FROM notifications WHERE message_id = ? ORDER BY seq",
                (mid,),
            )
        ]

    def record_attempt(
        self,
        mid: str,
        *,
        ok: bool,
        reason: str,
        now: float,
        next_attempt_at: float | None,
        drop: bool,
        redeliver_at: float | None = None,
    ) -> None:
        with self.tx():
            row = self.db.execute("SELECT attempts FROM messages WHERE id = ?", (mid,)).fetchone()
            attempt = row["attempts"] + 1
            self.db.execute(
                "INSERT INTO attempts (message_id, attempt, at, ok, reason) VALUES (?, ?, ?, ?, ?)",
                (mid, attempt, now, int(ok), reason or None),
            )
            if ok and redeliver_at is not None:
                self.db.execute(
                    "UPDATE messages SET attempts = ?, last_attempt_at = ?, last_error = NULL, "
                    "next_attempt_at = ?, redeliveries = redeliveries + 1, in_flight = 0 "
                    "WHERE id = ?",
                    (attempt, now, redeliver_at, mid),
                )
            elif ok:
                self.db.execute(
                    "UPDATE messages SET attempts = ?, last_attempt_at = ?, status = 'delivered', "
                    "delivered_at = ?, in_flight = 0 WHERE id = ?",
                    (attempt, now, now, mid),
                )
            else:
                self.db.execute(
                    "UPDATE messages SET attempts = ?, last_attempt_at = ?, last_error = ?, "
                    "status = ?, next_attempt_at = ?, in_flight = 0 WHERE id = ?",
                    (
                        attempt,
                        now,
                        reason,
                        "dropped" if drop else "pending",
                        next_attempt_at if next_attempt_at is not None else now,
                        mid,
                    ),
                )

    def drop_expired(self, cutoff: float) -> int:
        """Messages queued before ``cutoff`` that are still pending are dropped."""
        with self.tx():
            cursor = self.db.execute(
                "UPDATE messages SET status = 'dropped', last_error = COALESCE(last_error, '') || "
                "CASE WHEN last_error IS NULL THEN 'expired: not delivered within 24 hours' "
                "ELSE '' END WHERE status = 'pending' AND in_flight = 0 AND created_at < ?",
                (cutoff,),
            )
        return cursor.rowcount

    def messages(self, statuses: Sequence[str] | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT m.*, d.name AS definition FROM messages m "
            "JOIN definitions d ON d.id = m.definition_id"
        )
        params: list[str] = []
        if statuses:
            sql += f" WHERE m.status IN ({','.join('?' * len(statuses))})"
            params = list(statuses)
        rows = self.db.execute(sql + " ORDER BY m.created_at, m.id", params).fetchall()
        return [dict(r) for r in rows]

    def attempts_of(self, mid: str) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.db.execute(
                "SELECT * FROM attempts WHERE message_id = ? ORDER BY attempt", (mid,)
            )
        ]

    # -- sender lease ------------------------------------------------------------------
    def take_lease(self, owner: str, ttl: float, now: float | None = None) -> bool:
        """Become (or stay) the only sender for ``ttl`` seconds; False if another holds it."""
        now = time.time() if now is None else now
        with self.tx():
            row = self.db.execute("SELECT owner, expires_at FROM sender_lease").fetchone()
            if row is not None and row["owner"] != owner and row["expires_at"] > now:
                return False
            self.db.execute(
                "INSERT INTO sender_lease (id, owner, expires_at) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, "
                "expires_at = excluded.expires_at",
                (owner, now + ttl),
            )
        return True

    def give_up_lease(self, owner: str) -> None:
        with self.tx():
            self.db.execute("DELETE FROM sender_lease WHERE owner = ?", (owner,))

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

    def expire_sessions(self) -> int:
        with self.tx():
            return self.db.execute("UPDATE sessions SET expires_at = 0").rowcount

    # -- API usage ---------------------------------------------------------------------
    def count_call(
        self, limit: int, kind: str = "api", now: float | None = None
    ) -> tuple[bool, int]:
        """Count one call; returns (allowed, used). Over the limit nothing is counted."""
        day = utc_day(time.time() if now is None else now)
        with self.tx():
            row = self.db.execute(
                "SELECT count FROM api_usage WHERE day = ? AND kind = ?", (day, kind)
            ).fetchone()
            used = row["count"] if row else 0
            if kind == "api" and used >= limit:
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

    def reset_usage(self) -> None:
        with self.tx():
            self.db.execute("DELETE FROM api_usage")

    # -- query cursors (paging) --------------------------------------------------------
    def save_cursor(
        self, records: Sequence[Mapping[str, Any]], batch_size: int, ttl: float,
        now: float | None = None,
    ) -> str:  # fmt: skip
        """Keep a query's whole result for its later pages; the cursor's ``01g`` id."""
        now = time.time() if now is None else now
        with self.tx():
            self.db.execute("DELETE FROM query_cursors WHERE created_at < ?", (now - ttl,))
            (cursor,) = self.new_ids("01g", 1)
            self.db.execute(
                "INSERT INTO query_cursors (id, created_at, batch_size, records) "
                "VALUES (?, ?, ?, ?)",
                (cursor, now, batch_size, json.dumps(list(records))),
            )
        return cursor

    def cursor(
        self, cursor: str, ttl: float, now: float | None = None
    ) -> tuple[int, list[dict[str, Any]]] | None:
        """(batch size, records) of a live cursor; None when unknown or expired."""
        now = time.time() if now is None else now
        row = self.db.execute(
            "SELECT batch_size, records FROM query_cursors WHERE id = ? AND created_at >= ?",
            (cursor, now - ttl),
        ).fetchone()
        if row is None:
            return None
        return int(row["batch_size"]), json.loads(row["records"])

    # -- injected faults ---------------------------------------------------------------
    def faults(self) -> dict[str, Any]:
        row = self.db.execute("SELECT value FROM kv WHERE key = 'faults'").fetchone()
        merged = dict(DEFAULT_FAULTS)
        if row:
            merged.update(json.loads(row["value"]))
        return merged

    def set_faults(self, values: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(values) - set(DEFAULT_FAULTS)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        merged = {**self.faults(), **values}
        with self.tx():
            self.db.execute(
                "INSERT INTO kv (key, value) VALUES ('faults', ?) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value",
                (json.dumps(merged),),
            )
            if "lock_first_attempt" in values:
                self.db.execute("DELETE FROM locked_once")
        return merged

    def first_lock(self, oid: str) -> bool:
        """True the first time this record is seen (for "lock on first attempt only")."""
        cursor = self.db.execute("INSERT OR IGNORE INTO locked_once VALUES (?)", (oid,))
        return cursor.rowcount == 1


OPPORTUNITY_COLUMNS = frozenset(
    {
        "Id", "Name", "AccountId", "Amount", "CloseDate", "StageName", "IsClosed", "IsWon",
        "Order_Number__c", "Order_Status__c", "CreatedDate", "LastModifiedDate",
        "SystemModstamp", "IsDeleted", "update_count",
    }
)  # fmt: skip
_FLAG_COLUMNS = frozenset({"IsClosed", "IsWon", "IsDeleted"})


def _record(row: sqlite3.Row) -> dict[str, Any]:
    record = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite3.Row
    record["IsClosed"] = bool(record["IsClosed"])
    record["IsWon"] = bool(record["IsWon"])
    record["IsDeleted"] = bool(record["IsDeleted"])
    return record
