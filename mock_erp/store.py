"""The mock ERP's durable store: orders and the fault-injection settings, in SQLite.

Why SQLite in WAL mode: every gunicorn worker is its own process, so the one thing they
share is the file. The UNIQUE constraint on ``external_reference`` is what makes
CreateOrder idempotent under concurrency -- two workers racing for the same reference
both run ``INSERT ... ON CONFLICT DO NOTHING`` inside ``BEGIN IMMEDIATE``; SQLite
serialises the writers, exactly one insert lands, and both then read the same row. No
luck, no application-level lock. ``synchronous=FULL`` makes a committed order survive a
crash of the process or the machine, which is the promise the mock makes to its callers.

The fault settings live here too (table ``settings``) so that a change made through the
admin endpoint in one worker is seen by every worker and by the supervisor.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    external_reference TEXT NOT NULL UNIQUE,
    status             TEXT NOT NULL,
    customer_reference TEXT,
    title              TEXT,
    amount             TEXT,
    currency_code      TEXT,
    close_date         TEXT,
    created_at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def order_number(row_id: int) -> str:
    """Human-shaped order numbers: ``SO-000123`` (at least six digits, from the row id)."""
    return f"SO-{row_id:06d}"


def row_id_from_order_number(number: str) -> int | None:
    if not number.startswith("SO-") or not number[3:].isdigit():
        return None
    return int(number[3:])


@dataclass(frozen=True)
class NewOrder:
    """What CreateOrder asks for, already validated."""

    external_reference: str
    customer_reference: str | None = None
    title: str | None = None
    amount: Decimal | None = None
    currency_code: str | None = None
    close_date: date | None = None


@dataclass(frozen=True)
class StoredOrder:
    order_number: str
    external_reference: str
    status: str
    customer_reference: str | None
    title: str | None
    amount: Decimal | None
    currency_code: str | None
    close_date: date | None
    created_at: datetime


_COLUMNS = (
    "id, external_reference, status, customer_reference, title, amount, currency_code, "
    "close_date, created_at"
)


def _to_order(row: tuple[object, ...]) -> StoredOrder:
    (row_id, ref, status, customer, title, amount, currency, close, created) = row
    return StoredOrder(
        order_number=order_number(int(str(row_id))),
        external_reference=str(ref),
        status=str(status),
        customer_reference=None if customer is None else str(customer),
        title=None if title is None else str(title),
        amount=None if amount is None else Decimal(str(amount)),
        currency_code=None if currency is None else str(currency),
        close_date=None if close is None else date.fromisoformat(str(close)),
        created_at=datetime.fromisoformat(str(created)),
    )


class OrderStore:
    """One SQLite file; one connection per thread (sqlite3 connections are not shared)."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()

    def initialise(self) -> OrderStore:
        """Create the file and tables if needed and switch the file to WAL (persistent)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connection()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        return self

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            timeout_s = self.busy_timeout_ms / 1000
            conn = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def create_order(
        self, order: NewOrder, now: datetime | None = None
    ) -> tuple[StoredOrder, bool]:
        """Insert the order unless its reference has one; return (the order, newly created).

        One ``BEGIN IMMEDIATE`` transaction: the write lock is taken up front (waiting up to
        the busy timeout), so the insert and the read see the same state.
        """
        created_at = (now or datetime.now(UTC)).isoformat(timespec="milliseconds")
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = conn.execute(
                "INSERT INTO orders (external_reference, status, customer_reference, title, "
                "amount, currency_code, close_date, created_at) "
                "VALUES (?, 'Created', ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(external_reference) DO NOTHING",
                (
                    order.external_reference,
                    order.customer_reference,
                    order.title,
                    None if order.amount is None else str(order.amount),
                    order.currency_code,
                    None if order.close_date is None else order.close_date.isoformat(),
                    created_at,
                ),
            )
            created = cursor.rowcount == 1
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM orders WHERE external_reference = ?",  # noqa: S608
                (order.external_reference,),
            ).fetchone()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return _to_order(row), created

    def by_reference(self, external_reference: str) -> StoredOrder | None:
        row = (
            self._connection()
            .execute(
                f"SELECT {_COLUMNS} FROM orders WHERE external_reference = ?",  # noqa: S608
                (external_reference,),
            )
            .fetchone()
        )
        return None if row is None else _to_order(row)

    def by_number(self, number: str) -> StoredOrder | None:
        row_id = row_id_from_order_number(number)
        if row_id is None:
            return None
        row = (
            self._connection()
            .execute(f"SELECT {_COLUMNS} FROM orders WHERE id = ?", (row_id,))  # noqa: S608
            .fetchone()
        )
        return None if row is None else _to_order(row)

    def all_orders(self) -> list[StoredOrder]:
        rows = (
            self._connection()
            .execute(f"SELECT {_COLUMNS} FROM orders ORDER BY id")  # noqa: S608
            .fetchall()
        )
        return [_to_order(row) for row in rows]

    def count(self) -> int:
        (n,) = self._connection().execute("SELECT count(*) FROM orders").fetchone()
        return int(n)

    def get_setting(self, name: str) -> str | None:
        row = (
            self._connection()
            .execute("SELECT value FROM settings WHERE name = ?", (name,))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def put_setting(self, name: str, value: str) -> None:
        self._connection().execute(
            "INSERT INTO settings (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )
