"""Outbound messaging's side of the org: definitions, the notification queue, messages,
their attempts and the sender's lease.

A notification is queued when a save runs a flow that sends the message (the flows are
kept with each definition, :mod:`mock_salesforce.triggers`); the sender groups
queued notifications into messages, claims a message before it delivers it and records
every attempt. The lease row makes one sender the only one, even across processes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from mock_salesforce import triggers
from mock_salesforce.store.database import Database
from mock_salesforce.triggers import Trigger


@dataclass(frozen=True)
class Definition:
    id: str
    name: str
    contract: str
    endpoint_url: str
    include_session_id: bool
    active: bool
    #: The fields the message sends (the workflow's ``fields``); None: the contract's.
    fields: tuple[str, ...] | None = None
    #: The flows that send it (:mod:`mock_salesforce.triggers`).
    triggers: tuple[Trigger, ...] = field(default_factory=triggers.default_triggers)

    def view(self) -> dict[str, Any]:
        """As ``GET /admin/definitions`` shows it."""
        return {
            "id": self.id,
            "name": self.name,
            "contract": self.contract,
            "endpoint_url": self.endpoint_url,
            "include_session_id": self.include_session_id,
            "active": self.active,
            "fields": None if self.fields is None else list(self.fields),
            "triggers": [asdict(t) for t in self.triggers],
        }


def _triggers_of(spec: Mapping[str, Any]) -> tuple[Trigger, ...]:
    given = spec.get("triggers")
    if given is None:
        return triggers.default_triggers()
    return tuple(t if isinstance(t, Trigger) else triggers.from_specs([t])[0] for t in given)


class DeliveryQueue(Database):
    # -- definitions -------------------------------------------------------------------
    def set_definitions(self, specs: Sequence[Mapping[str, Any]]) -> list[Definition]:
        """Replace the outbound-message definitions (keeps ActionIds of same-named ones).

        A spec is ``{name, contract, endpoint_url, include_session_id, fields, triggers}``;
        without ``triggers`` the definition runs the won rule, without ``fields`` it
        sends the contract's fields."""
        with self.tx():
            existing = {r["name"]: r["id"] for r in self.db.execute("SELECT * FROM definitions")}
            self.db.execute("UPDATE definitions SET active = 0")
            for spec in specs:
                name = str(spec["name"])
                action_id = existing.get(name) or self.new_ids("04k", 1)[0]
                fields = spec.get("fields")
                self.db.execute(
                    "INSERT INTO definitions (id, name, contract, endpoint_url, "
                    "include_session_id, active, fields, triggers) VALUES (?, ?, ?, ?, ?, 1, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET contract = excluded.contract, "
                    "endpoint_url = excluded.endpoint_url, "
                    "include_session_id = excluded.include_session_id, active = 1, "
                    "fields = excluded.fields, triggers = excluded.triggers",
                    (
                        action_id,
                        name,
                        str(spec["contract"]),
                        str(spec["endpoint_url"]),
                        int(bool(spec.get("include_session_id", False))),
                        None if fields is None else json.dumps([str(f) for f in fields]),
                        triggers.to_json(_triggers_of(spec)),
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
                None if r["fields"] is None else tuple(json.loads(r["fields"])),
                triggers.from_json(r["triggers"]),
            )
            for r in self.db.execute(sql + " ORDER BY name", (int(active_only),))
        ]

    def definition(self, action_id: str) -> Definition | None:
        return next((d for d in self.definitions() if d.id == action_id), None)

    # -- the queue ---------------------------------------------------------------------
    def _queue_notifications(
        self,
        oid: str,
        now: float,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any],
        definitions: Sequence[Definition] | None = None,
    ) -> None:
        """One notification per flow that the save runs and per message the flow sends
        (call inside the save's transaction, with the record before and after it;
        ``before`` None for a created record)."""
        fired = [
            definition
            for definition in (
                self.definitions(active_only=True) if definitions is None else definitions
            )
            for trigger in definition.triggers
            if trigger.fires(before, after)
        ]
        if not fired:
            return
        ids = self.new_ids("04l", len(fired))
        seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM notifications").fetchone()[0]
        for i, (nid, definition) in enumerate(zip(ids, fired, strict=True)):
            self.db.execute(
                "INSERT INTO notifications (id, seq, definition_id, opportunity_id, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (nid, seq + i + 1, definition.id, oid, now),
            )

    def queued_notifications(self) -> int:
        """How many notifications the flows have queued so far (sent or not)."""
        return int(self.db.execute("SELECT COUNT(*) FROM notifications").fetchone()[0])

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
            self._keep_order(notification_ids)
        return mid

    def _keep_order(self, notification_ids: Sequence[str]) -> None:
        """A message lists its notifications in ``seq`` order; when the sender batched
        them in another order (chaos reorder), their ``seq`` values are handed out again
        in that order, so the message carries the order the sender chose."""
        marks = ",".join("?" * len(notification_ids))
        seq_of = {
            r["id"]: r["seq"]
            for r in self.db.execute(
                f"SELECT id, seq FROM notifications WHERE id IN ({marks})",  # noqa: S608 - placeholders only
                list(notification_ids),
            )
        }
        wanted = [seq_of[nid] for nid in notification_ids]
        if wanted != sorted(wanted):
            self.db.executemany(
                "UPDATE notifications SET seq = ? WHERE id = ?",
                list(zip(sorted(wanted), notification_ids, strict=True)),
            )

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
        """One delivery attempt; ``redeliver_at`` (chaos): acked, yet due again then."""
        with self.tx():
            row = self.db.execute("SELECT attempts FROM messages WHERE id = ?", (mid,)).fetchone()
            attempt = row["attempts"] + 1
            self.db.execute(
                "INSERT INTO attempts (message_id, attempt, at, ok, reason) VALUES (?, ?, ?, ?, ?)",
                (mid, attempt, now, int(ok), reason or None),
            )
            if ok and redeliver_at is not None:
                self.bump("chaos_redeliver")
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
