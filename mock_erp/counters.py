"""What the mock ERP did, counted: requests and each fault that fired.

A fault test must be able to prove that its fault fired, from the server's own records,
rather than infer it from what the client saw (a retry that succeeded looks the same
whether or not the fault ever happened). Every gunicorn worker and the supervisor bump
the same ``counters`` table, so ``GET /__admin/faults`` shows the whole server.

The table lives in a SQLite file of its own beside the store (``erp.sqlite3`` ->
``erp.counters.sqlite3``): "the store is busy" must be countable while the store's write
lock is held by someone else, and counting must not queue behind the orders' writes.
Its connection runs with ``synchronous=NORMAL`` (in WAL mode a commit costs no fsync;
an order must survive a crash, a count need not). A request bumps everything it knows
in one transaction, before acting on it, so a client that saw the effect (a dropped
connection, a slow answer) finds it counted.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

#: Every counter, in the order ``fired`` lists them:
#:
#: requests           SOAP POSTs to /erp/orders (any body)
#: latency            requests delayed by the ``latency`` fault (a delay above 0)
#: error_unavailable  injected ``error`` answered as UnavailableFault
#: error_http503      injected ``error`` answered as HTTP 503
#: store_busy         the store stayed busy beyond its timeout (answered UnavailableFault)
#: drop_after_commit  connections shut down after a CreateOrder committed
#: slow_response      answers held back by ``slow_response`` after a commit
#: create_replayed    CreateOrder for a reference that already had its order
#: down_windows       times the supervisor took the server away for a ``down`` window
NAMES = (
    "requests",
    "latency",
    "error_unavailable",
    "error_http503",
    "store_busy",
    "drop_after_commit",
    "slow_response",
    "create_replayed",
    "down_windows",
)

_SCHEMA = "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
BUSY_TIMEOUT_S = 30.0


def counters_path(db_path: Path) -> Path:
    """Where the counters of the store at ``db_path`` are kept."""
    return db_path.with_name(f"{db_path.stem}.counters{db_path.suffix or '.sqlite3'}")


class Counters:
    """The counters of the store at ``db_path``; one connection per thread."""

    def __init__(self, db_path: Path) -> None:
        self.path = counters_path(Path(db_path))
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._local.conn = conn
        return conn

    def bump(self, names: Iterable[str]) -> None:
        """Add one to each counter named (a name twice adds two), in one transaction.

        A store busy for longer than its timeout costs the count, not the request: the
        request's own answer (often "the store is busy") matters more, and the loss is
        said on stderr, where the server's log keeps it.
        """
        wanted = list(names)
        unknown = set(wanted) - set(NAMES)
        if unknown:
            raise ValueError(f"unknown counter(s): {', '.join(sorted(unknown))}")
        if not wanted:
            return
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT INTO counters (name, value) VALUES (?, 1) "
                    "ON CONFLICT (name) DO UPDATE SET value = value + 1",
                    [(name,) for name in wanted],
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.OperationalError as error:
            print(f"[mock-erp] counters {wanted} not recorded: {error}", file=sys.stderr)

    def read(self) -> dict[str, int]:
        """Every counter (0 for one that never moved)."""
        totals = dict.fromkeys(NAMES, 0)
        for name, value in self._connection().execute("SELECT name, value FROM counters"):
            if name in totals:
                totals[str(name)] = int(value)
        return totals

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
