"""The org's SQLite database: schema, connection, transactions and record ids.

SQLite in WAL mode because the API runs in several gunicorn workers and the sender in
another thread/process: everyone sees one consistent org, restarts lose nothing, and
writes are serialised with ``BEGIN IMMEDIATE``. Every table of the org is created here,
so the parts of :class:`~mock_salesforce.store.OrgStore` that use them (records, the
delivery queue, sessions and usage, the fault document) share one connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import string
import time
from collections.abc import Iterator
from pathlib import Path

from gateway import sfid

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
    active INTEGER NOT NULL DEFAULT 1, fields TEXT, triggers TEXT);
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


def token_hash(token: str) -> str:
    """Sessions are kept as SHA-256 hashes of the token: the file holds no secret."""
    return hashlib.sha256(token.encode()).hexdigest()


def utc_day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


class Database:
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
        # A database made before definitions kept their fields and flows: add the columns
        # (NULL reads as "the contract's fields" and "the won rule").
        self.ensure_columns("definitions", {"fields": "TEXT", "triggers": "TEXT"})

    def ensure_columns(self, table: str, columns: dict[str, str]) -> None:
        """Add the columns ``table`` lacks (name -> SQL type), in one write transaction:
        two processes starting at once add each column once."""
        if set(columns) <= self._columns(table):
            return
        with self.tx():
            have = self._columns(table)
            for name, sql_type in columns.items():
                if name not in have:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")

    def _columns(self, table: str) -> set[str]:
        return {row["name"] for row in self.db.execute(f"PRAGMA table_info({table})")}

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

    @contextlib.contextmanager
    def in_tx(self) -> Iterator[sqlite3.Connection]:
        """The transaction already open on this connection, or a new one: a write that
        must commit (or roll back) with its caller's, such as a counter bumped by a save."""
        if self.db.in_transaction:
            yield self.db
            return
        with self.tx() as db:
            yield db

    def bump(self, kind: str, count: int = 1, now: float | None = None) -> None:
        """Add ``count`` to today's (UTC) counter ``kind``, inside the transaction that is
        open on this connection if there is one: the count commits with what it counts."""
        day = utc_day(time.time() if now is None else now)
        with self.in_tx():
            self.db.execute(
                "INSERT INTO api_usage (day, kind, count) VALUES (?, ?, ?) "
                "ON CONFLICT (day, kind) DO UPDATE SET count = count + excluded.count",
                (day, kind, count),
            )

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
