"""The org's Opportunities: create, read, change (running the flows that send outbound
messages) and delete, and the server-side cursors that keep a query's result for its
later pages.

Custom fields of the org bundle are columns too (:meth:`OrgRecords.ensure_fields`), with
an index on each unique or external-id field: the save rules look values up there.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any

from mock_salesforce.schema import OPEN_STAGES, WON_STAGE, FieldSpec, stage_flags
from mock_salesforce.store.delivery_queue import Definition, DeliveryQueue

OPPORTUNITY_COLUMNS = frozenset(
    {
        "Id", "Name", "AccountId", "Amount", "CloseDate", "StageName", "IsClosed", "IsWon",
        "Order_Number__c", "Order_Status__c", "CreatedDate", "LastModifiedDate",
        "SystemModstamp", "IsDeleted", "update_count",
    }
)  # fmt: skip
_FLAG_COLUMNS = frozenset({"IsClosed", "IsWon", "IsDeleted"})
#: How a field kind is stored (datetimes as epoch seconds, dates as ISO text).
_SQL_TYPES = {"number": "REAL", "datetime": "REAL", "boolean": "INTEGER"}


class OrgRecords(DeliveryQueue):
    """Records, and the rule that queues a notification when one is won."""

    def create_opportunities(self, count: int, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        with self.tx():
            return self._create(count, now)

    def ensure_fields(self, fields: Sequence[FieldSpec]) -> None:
        """A column for each custom field, and an index for each unique or external-id
        one (case-insensitive unless the field is case-sensitive)."""
        self.ensure_columns(
            "opportunities", {f.name: _SQL_TYPES.get(f.kind, "TEXT") for f in fields}
        )
        for spec in fields:
            if spec.unique or spec.external_id:
                collate = "" if spec.case_sensitive else " COLLATE NOCASE"
                self.db.execute(
                    f"CREATE INDEX IF NOT EXISTS opportunities_{spec.name.lower()} "
                    f"ON opportunities ({spec.name}{collate})"
                )

    def find_ids(self, spec: FieldSpec, value: object) -> list[str]:
        """Live records whose ``spec`` field holds ``value`` (as the field compares)."""
        collate = "" if spec.case_sensitive or spec.kind != "string" else " COLLATE NOCASE"
        return [
            row["Id"]
            for row in self.db.execute(
                f"SELECT Id FROM opportunities WHERE {spec.name} = ?{collate} "  # noqa: S608 - a schema field name
                "AND IsDeleted = 0 ORDER BY CreatedDate, Id",
                (value,),
            )
        ]

    def insert(self, values: Mapping[str, object], now: float) -> str:
        """Create one record from checked values (call inside a transaction); the flows
        that run on create see it."""
        (oid,) = self.new_ids("006", 1)
        row = dict(values)
        closed, won = stage_flags(str(row.get("StageName")))
        row.update(Id=oid, IsClosed=int(closed), IsWon=int(won), CreatedDate=now,
                   LastModifiedDate=now, SystemModstamp=now)  # fmt: skip
        columns = ", ".join(row)
        self.db.execute(
            f"INSERT INTO opportunities ({columns}) VALUES ({', '.join('?' * len(row))})",  # noqa: S608 - checked names
            tuple(row.values()),
        )
        after = self.get(oid)
        if after is not None:
            self._queue_notifications(oid, now, None, after)
        return oid

    def _create(self, count: int, now: float) -> list[str]:
        ids = self.new_ids("006", count)
        accounts = self.new_ids("001", 1)
        n0 = self.db.execute("SELECT COUNT(*) FROM opportunities").fetchone()[0]
        definitions = [
            d for d in self.definitions(active_only=True) if any(t.on_create for t in d.triggers)
        ]
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
            if definitions:
                created = self.get(oid)
                if created is not None:
                    self._queue_notifications(oid, now, None, created, definitions)
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
            definitions = self.definitions(active_only=True)
            for oid in ids:
                self.apply_in_tx(oid, {"StageName": WON_STAGE}, now, definitions)
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
            self.apply_in_tx(oid, changes, time.time() if now is None else now)

    def apply_in_tx(
        self,
        oid: str,
        changes: Mapping[str, object],
        now: float,
        definitions: Sequence[Definition] | None = None,
    ) -> None:
        """Apply already-validated changes inside the caller's transaction; then the
        flows run. ``definitions``: the active ones, read once by a caller that saves
        many (else read here)."""
        definitions = self.definitions(active_only=True) if definitions is None else definitions
        before = self.get(oid) if definitions else None
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
        # The flows that send outbound messages run after the save, on the saved record.
        if before is not None:
            after = self.get(oid)
            if after is not None:
                self._queue_notifications(oid, now, before, after, definitions)

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


def _record(row: sqlite3.Row) -> dict[str, Any]:
    record = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite3.Row
    record["IsClosed"] = bool(record["IsClosed"])
    record["IsWon"] = bool(record["IsWon"])
    record["IsDeleted"] = bool(record["IsDeleted"])
    return record
