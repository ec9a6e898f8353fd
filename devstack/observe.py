"""Looking at a running stack from the outside: the mocks' records, Redis, the logs.

Tests, benchmarks and the demo judge a run by what the parts themselves recorded -- the
ERP's order store, the org's delivery log, sessions and records, the broker's queues, the
dead letters -- never by what the test thinks it caused. The observers read those records
read-only (SQLite files opened ``mode=ro``, Redis through the product's own readers:
Dramatiq's key layout is known to :mod:`gateway.broker` alone) and the waits poll them
for a condition instead of sleeping for a guessed time.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

import redis

from devstack.errors import NotSettled
from devstack.parts import StackParts
from gateway.broker import CALLBACKS_QUEUE, ORDERS_QUEUE, QueueKeys, QueueReader
from gateway.pipeline.status import read_coalesced
from gateway.pipeline.stores import DeadLetter, DeadLetters
from mock_erp.store import OrderStore, StoredOrder

POLL_S = 0.25
QUEUES = (ORDERS_QUEUE, CALLBACKS_QUEUE)


class StackObservers(StackParts):
    """The observers of :class:`~devstack.stack.Stack` (a mixin over its parts)."""

    # -- the mock org ------------------------------------------------------------------
    def opportunities(self) -> dict[str, dict[str, Any]]:
        """Every Opportunity in the org by id, as its admin view shows it."""
        salesforce = self.need(self.salesforce, "mock Salesforce")
        return {row["Id"]: row for row in salesforce.opportunities()}

    def order_numbers(self, ids: Iterable[str]) -> dict[str, str]:
        """Opportunity id -> ``Order_Number__c``, for those of ``ids`` that carry one."""
        wanted = set(ids)
        return {
            oid: str(row["Order_Number__c"])
            for oid, row in self.opportunities().items()
            if oid in wanted and row.get("Order_Number__c")
        }

    def salesforce_acked(self) -> set[tuple[str, str]]:
        """(notification id, Opportunity id) of every notification the org sent in a
        message that the gateway answered with Ack=true (at least once)."""
        rows = self._org_query(
            "SELECT n.id, n.opportunity_id FROM notifications n WHERE n.message_id IN "
            "(SELECT message_id FROM attempts WHERE ok = 1)"
        )
        return {(str(n), str(o)) for n, o in rows}

    def salesforce_pending(self) -> int:
        """Notifications the org still has to (re)deliver."""
        ((unassigned,),) = self._org_query(
            "SELECT COUNT(*) FROM notifications WHERE message_id IS NULL"
        )
        ((pending,),) = self._org_query("SELECT COUNT(*) FROM messages WHERE status = 'pending'")
        return int(unassigned) + int(pending)

    def salesforce_sessions(self, kind: str, since: float) -> int:
        """Sessions of ``kind`` (``oauth``: tokens the org issued; ``om``: SessionIds its
        outbound messages carried) created after ``since`` (epoch s)."""
        ((count,),) = self._org_query(
            "SELECT COUNT(*) FROM sessions WHERE kind = ? AND created_at > ?", (kind, since)
        )
        return int(count)

    def _org_query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return _read_only(self.salesforce_db, sql, args)

    # -- the mock ERP ------------------------------------------------------------------
    def erp_orders(self) -> dict[str, StoredOrder]:
        """External reference (the Opportunity id) -> its order, from the ERP's store."""
        store = OrderStore(self.erp_db)
        try:
            return {order.external_reference: order for order in store.all_orders()}
        finally:
            store.close()

    def erp_order_count(self) -> int:
        """Rows in the ERP's order table (compare with :meth:`erp_orders` to see doubles)."""
        store = OrderStore(self.erp_db)
        try:
            return store.count()
        finally:
            store.close()

    # -- Redis: queues, coalesced callbacks, dead letters --------------------------------
    def dead_letters(self) -> list[DeadLetter]:
        client = self.redis_client()
        try:
            return list(DeadLetters(client, self.core()).iter())
        finally:
            client.close()

    def queues_idle(self) -> bool:
        """No message stored in any queue (ready, in flight or delayed) and no coalesced
        callback waiting or claimed. Raises ``redis.RedisError``."""
        client = self.redis_client()
        try:
            core = self.core()
            if QueueReader(client, core).stored(QUEUES):
                return False
            coalesced = read_coalesced(client, core, int(time.time() * 1000))
            return coalesced.pending == 0 and coalesced.batches == 0
        finally:
            client.close()

    def in_flight(self) -> int:
        """Messages fetched by a worker and not acked yet, in every queue (a SIGKILLed
        group's stay there until its heartbeat expires)."""
        client = self.redis_client()
        try:
            reader = QueueReader(client, self.core())
            return sum(reader.counts(queue).in_flight for queue in QUEUES)
        finally:
            client.close()

    def redis_run_id(self) -> str:
        """The Redis server's ``run_id``: a new one proves the server was restarted."""
        client = self.redis_client()
        try:
            return str(client.info("server")["run_id"])
        finally:
            client.close()

    def queue_report(self) -> str:
        """Where the undrained work is: each queue's jobs (ready, in flight, delayed), the
        in-flight sets with their owner's last heartbeat, and coalesced callbacks."""
        client = self.redis_client()
        try:
            core = self.core()
            reader = QueueReader(client, core)
            keys = QueueKeys.of(core)
            lines = []
            for queue in QUEUES:
                counts = reader.counts(queue)
                jobs = [_job_line(m) for m in reader.stored([queue])]
                lines.append(
                    f"{queue}: ready {counts.ready}, in flight {counts.in_flight}, "
                    f"delayed {counts.delayed}; jobs {jobs}"
                )
            now_ms = time.time() * 1000
            heartbeats = cast(
                "list[tuple[bytes, float]]", client.zrange(keys.heartbeats, 0, -1, withscores=True)
            )
            beats = {member.decode(): round((now_ms - at) / 1000, 1) for member, at in heartbeats}
            for queue in QUEUES:
                for key in client.scan_iter(match=keys.in_flight_pattern(queue), count=500):
                    held = client.scard(key)
                    if held:
                        name = key.decode()
                        owner = next((b for b in beats if b in name), None)
                        age = beats.get(owner, "?") if owner else "?"
                        lines.append(f"{name}: {held} in flight (owner's heartbeat {age} s ago)")
            coalesced = read_coalesced(client, core, int(now_ms))
            lines.append(f"coalesced: {coalesced.pending} waiting, {coalesced.batches} batches")
            return "\n".join(lines)
        except redis.RedisError as error:
            return f"(Redis unreadable: {error})"
        finally:
            client.close()

    # -- waits -------------------------------------------------------------------------
    def wait_idle(self, timeout: float) -> bool:
        """Wait until the org has nothing left to send and :meth:`queues_idle`, twice in a
        row half a second apart (a message moving between two places is not missed);
        False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            try:
                idle = self.salesforce_pending() == 0 and self.queues_idle()
            except redis.RedisError:
                idle = False
            quiet = quiet + 1 if idle else 0
            if quiet >= 2:
                return True
            time.sleep(0.5)
        return False

    def wait_settled(self, ids: Iterable[str], *, timeout: float = 180.0) -> dict[str, str]:
        """Wait until every Opportunity in ``ids`` carries an order number; id -> number.

        Raises :class:`~devstack.errors.StackError` when a part exits meanwhile and
        :class:`~devstack.errors.NotSettled` (what is missing, the first dead letters
        and the logs) after ``timeout`` seconds."""
        wanted = set(ids)
        deadline = time.monotonic() + timeout
        while True:
            numbers = self.order_numbers(wanted)
            if len(numbers) == len(wanted):
                return numbers
            self.check_running()
            if time.monotonic() > deadline:
                reasons = [letter.reason for letter in self.dead_letters()][:5]
                raise NotSettled(
                    f"{len(wanted) - len(numbers)} of {len(wanted)} Opportunities without an "
                    f"order number after {timeout:.0f}s; dead letters: {reasons}\n{self.logs()}"
                )
            time.sleep(POLL_S)

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        """Poll ``condition`` until it holds; :class:`~devstack.errors.NotSettled` naming
        ``what`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise NotSettled(f"not within {timeout:.0f}s: {what}\n{self.logs()}")
            time.sleep(POLL_S)

    # -- logs --------------------------------------------------------------------------
    def log_count(self, part: str, text: str) -> int:
        """How many lines of ``part``'s log contain ``text`` (0 without a log)."""
        return count_in_log(self.log_of(part), text)


def count_in_log(path: Path | None, text: str) -> int:
    if path is None or not path.exists():
        return 0
    with path.open(encoding="utf-8", errors="replace") as lines:
        return sum(1 for line in lines if text in line)


def _read_only(db: Path, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


def _job_line(message: Any) -> str:
    """``actor org15/notification -> record (retries n)`` of one Dramatiq message."""
    try:
        job = message.args[0]
        record = job.get("record_id") or job.get("opportunity_id")
        org = str(job.get("organization_id"))[:15]
        retries = message.options.get("retries", 0)
        notification = job.get("notification_id")
        return f"{message.actor_name} {org}/{notification} -> {record} (retries {retries})"
    except (KeyError, IndexError, TypeError, AttributeError):
        return "(not a job)"
