"""The reconciliation sweep: find won Opportunities Salesforce never told us about.

Salesforce drops an outbound message it could not deliver for 24 hours, so a gateway
that was down for a day misses those orders for good. The sweep asks Salesforce for
won Opportunities without an order number that were modified in a window, and feeds
each one into the SAME pipeline as a notification: a :class:`NotificationJob` on the
``orders`` queue, with the fields the order needs taken from the query (no extra read).

Why this cannot order anything twice:

* The job's notification id is synthetic but stable: ``RECONCILE-<18-char Opportunity
  Id>``. The pipeline's dedupe on (org, notification id) therefore makes a second sweep
  of the same Opportunity a no-op once the first one was processed.
* Before enqueueing, the sweep skips Opportunities whose synthetic notification is done
  or dead-lettered, and enqueues the rest with ``SET NX`` on a marker in the same atomic
  Lua script as the queue write (like the gateway's intake), so two sweeps running at
  once (the periodic one and an operator's ``sfgw reconcile``) enqueue it once.
* An Opportunity whose real notification is in flight at the same moment reaches the ERP
  twice at most, and the ERP is idempotent on the Opportunity Id: it returns the
  existing order. ``SFGW_RECONCILE_MIN_AGE_S`` keeps records modified in the last
  minutes out of the sweep, because their outbound message is most likely on its way.

Functional core: :func:`build_query`, :func:`job_from_record`, :func:`notification_id_for`.
Shell: :class:`Reconciler` (the query through
:meth:`gateway.salesforce.client.SalesforceClient.query`, with the same token rules as a
callback; the enqueue through :class:`gateway.broker.QueueWriter`, the same atomic
dedupe-and-enqueue as the gateway's intake) and :class:`ReconcileLoop`, the periodic run
inside ``sfgw worker``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dramatiq
import redis
from dramatiq.middleware import Middleware

from gateway import sfid
from gateway.broker import ORDERS_QUEUE, PROCESS_NOTIFICATION, QueueWriter, message_for
from gateway.config import ConfigError, Env, env_int
from gateway.jobs import FieldValue, NotificationJob
from gateway.pipeline.policy import ORDER_FIELDS
from gateway.pipeline.stores import DeadLetters, DoneMarkers, letter_id
from gateway.salesforce.client import SalesforceClient
from gateway.salesforce.settings import SalesforceSettings
from gateway.settings import CoreSettings
from gateway.uuids import new_message_ids as _new_ids

log = logging.getLogger("sfgw.reconcile")

RECONCILE_CONTRACT = "reconcile"
NOTIFICATION_PREFIX = "RECONCILE-"
DEFAULT_WINDOW_S = 25 * 3600  # Salesforce's 24 h retention plus an hour of overlap


@dataclass(frozen=True)
class ReconcileSettings:
    interval_s: int
    min_age_s: int
    window_s: int
    batch_size: int  # records per query page (Sforce-Query-Options: batchSize)

    @classmethod
    def from_env(cls, env: Env | None = None) -> ReconcileSettings:
        env = os.environ if env is None else env
        return cls(
            interval_s=env_int(env, "SFGW_RECONCILE_INTERVAL_S", 0, minimum=0, maximum=7 * 86400),
            min_age_s=env_int(env, "SFGW_RECONCILE_MIN_AGE_S", 300, minimum=0, maximum=86400),
            window_s=env_int(
                env, "SFGW_RECONCILE_WINDOW_S", DEFAULT_WINDOW_S, minimum=60, maximum=30 * 86400
            ),
            # Salesforce's documented range; it may still send smaller pages
            batch_size=env_int(env, "SFGW_RECONCILE_BATCH_SIZE", 2000, minimum=200, maximum=2000),
        )


# -- functional core -----------------------------------------------------------------


def soql_datetime(epoch: float) -> str:
    """SOQL dateTime literal (UTC, unquoted)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def query_fields(order_number_field: str) -> tuple[str, ...]:
    return ("Id", *ORDER_FIELDS, "StageName", order_number_field, "LastModifiedDate")


def build_query(since: float, until: float, order_number_field: str) -> str:
    """Won Opportunities without an order number, modified in [since, until].

    SOQL datetimes have whole seconds, so the window widens to whole seconds on both
    sides: ``since`` rounds down and ``until`` up. Rounding ``until`` down skipped a
    record modified earlier in the same second until the next sweep; a record seen by
    two sweeps is harmless (the pipeline dedupes on the Opportunity).
    """
    fields = ", ".join(query_fields(order_number_field))
    # Every part is ours: the field name is checked at start-up (an API name), the
    # datetimes are formatted here; nothing comes from a message or a user's text.
    return (
        f"SELECT {fields} FROM Opportunity WHERE IsWon = true "  # noqa: S608
        f"AND {order_number_field} = null "
        f"AND LastModifiedDate >= {soql_datetime(since)} "
        f"AND LastModifiedDate <= {soql_datetime(math.ceil(until))} "
        "ORDER BY LastModifiedDate ASC"
    )


def notification_id_for(opportunity_id: str) -> str:
    """Stable per Opportunity, so the pipeline's dedupe catches a repeated sweep."""
    return NOTIFICATION_PREFIX + sfid.to18(opportunity_id)


def job_from_record(
    record: Mapping[str, Any],
    *,
    organization_id: str,
    instance_url: str,
    api_version: str,
    now: float,
) -> NotificationJob:
    """The notification Salesforce would have sent, built from one query record."""
    raw_id = record.get("Id")
    if not isinstance(raw_id, str) or not sfid.is_valid(raw_id):
        raise ValueError(f"query record without a valid Id: {raw_id!r}")
    opp = sfid.to18(raw_id)
    fields: dict[str, FieldValue] = {
        name: value
        for name, value in record.items()
        if name not in ("attributes", "Id", "LastModifiedDate")
        and isinstance(value, str | int | float | bool | type(None))
    }
    org15 = organization_id[:15]
    return NotificationJob(
        contract=RECONCILE_CONTRACT,
        organization_id=organization_id,
        action_id="",
        notification_id=notification_id_for(opp),
        object_type="Opportunity",
        record_id=opp,
        fields=fields,
        enterprise_url=f"{instance_url}/services/Soap/c/{api_version}/{org15}",
        partner_url=f"{instance_url}/services/Soap/u/{api_version}/{org15}",
        session_id_encrypted=None,
        received_at=datetime.fromtimestamp(now, UTC).isoformat(),
    )


@dataclass(frozen=True)
class Found:
    opportunity_id: str
    name: str
    last_modified: str
    outcome: str  # enqueued | already queued | already processed | dead letter


@dataclass(frozen=True)
class ReconcileReport:
    since: float
    until: float
    found: tuple[Found, ...]

    def count(self, outcome: str) -> int:
        return sum(1 for f in self.found if f.outcome == outcome)

    @property
    def enqueued(self) -> int:
        return self.count("enqueued")


# -- shell -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReconcileTarget:
    """What the sweep writes and where: the field that means "ordered", the API version
    of the synthetic notification's URLs, and how long its markers live."""

    order_number_field: str
    api_version: str
    dedupe_ttl_s: int
    #: covers the job's whole retry window: after it the job is done (done marker) or
    #: dead-lettered (letter), which the sweep checks first
    marker_ttl_s: int


class Reconciler:
    """One sweep: query Salesforce, enqueue what the pipeline has not seen."""

    def __init__(
        self,
        *,
        reconcile: ReconcileSettings,
        target: ReconcileTarget,
        core: CoreSettings,
        client: redis.Redis,
        salesforce: SalesforceClient,
    ) -> None:
        self._reconcile = reconcile
        self._target = target
        self._core = core
        self._salesforce = salesforce
        self._done = DoneMarkers(client, core, target.dedupe_ttl_s)
        self._letters = DeadLetters(client, core)
        self._queue = QueueWriter(client, core)

    @property
    def window_s(self) -> int:
        return self._reconcile.window_s

    def run(self, since: float, until: float | None = None) -> ReconcileReport:
        now = time.time()
        until = now - self._reconcile.min_age_s if until is None else until
        soql = build_query(since, until, self._target.order_number_field)
        org, records = self._salesforce.query(soql, batch_size=self._reconcile.batch_size)
        instance_url = self._salesforce.tokens.get().instance_url
        found = []
        for record in records:
            job = job_from_record(
                record,
                organization_id=org,
                instance_url=instance_url,
                api_version=self._target.api_version,
                now=now,
            )
            found.append(
                Found(
                    opportunity_id=job.record_id or "",
                    name=str(record.get("Name") or ""),
                    last_modified=str(record.get("LastModifiedDate") or ""),
                    outcome=self._submit(job),
                )
            )
        report = ReconcileReport(since=since, until=until, found=tuple(found))
        log.info(
            "reconcile: found %d, enqueued %d (window %s .. %s)",
            len(found),
            report.enqueued,
            soql_datetime(since),
            soql_datetime(until),
        )
        return report

    def _submit(self, job: NotificationJob) -> str:
        org15, notification = job.dedupe_key
        opp = job.record_id or ""
        if self._done.is_done(org15, notification):
            return "already processed"
        for stage, key in (("orders", notification), ("callbacks", opp)):
            if self._letters.get(letter_id(stage, job.organization_id, key)) is not None:
                return "dead letter"
        (message_id,) = _new_ids(1)
        message = message_for(ORDERS_QUEUE, PROCESS_NOTIFICATION, job.to_dict(), message_id)
        marker = self._core.key("reconcile", "queued", org15, opp)
        (added,) = self._queue.enqueue(
            ORDERS_QUEUE, [marker], [message.encode()], [message_id], self._target.marker_ttl_s
        )
        return "enqueued" if added else "already queued"


class ReconcileLoop(Middleware):
    """The periodic sweep, as a thread in every worker process.

    Why a loop and not a self-rescheduling actor: a chain of delayed messages is easy to
    lose (a purge) or to multiply (every worker start seeds one more). Here every worker
    process wakes up at the start of each interval and tries ``SET NX`` on that
    interval's slot key; exactly one process wins and sweeps, and when it dies another
    process wins the next slot. A failed sweep (Salesforce down) is simply repeated at
    the next interval; the sweep itself is idempotent.
    """

    def __init__(
        self, factory: Callable[[], Reconciler], interval_s: int, client: redis.Redis, slot_key: str
    ) -> None:
        self._factory = factory
        self._interval = interval_s
        self._client = client
        self._slot_key = slot_key
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._thread = threading.Thread(target=self._loop, name="sfgw-reconcile", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()

    def _loop(self) -> None:
        reconciler: Reconciler | None = None
        while not self._stop.is_set():
            now = time.time()
            slot = int(now // self._interval)
            try:
                won = self._client.set(
                    f"{self._slot_key}:{slot}", str(os.getpid()), nx=True, ex=2 * self._interval
                )
                if won:
                    reconciler = reconciler or self._factory()
                    report = reconciler.run(now - reconciler.window_s)
                    log.info(
                        "periodic reconcile: found %d, enqueued %d",
                        len(report.found),
                        report.enqueued,
                    )
            except Exception:
                log.exception("periodic reconcile failed; trying again next interval")
            next_start = (slot + 1) * self._interval
            self._stop.wait(max(0.05, next_start - time.time()))


def install_reconcile_loop(
    broker: dramatiq.Broker,
    reconcile: ReconcileSettings,
    factory: Callable[[], Reconciler],
    client: redis.Redis,
    core: CoreSettings,
) -> None:
    """The periodic sweep in every worker process; nothing unless the interval is set."""
    if reconcile.interval_s > 0:
        broker.add_middleware(
            ReconcileLoop(factory, reconcile.interval_s, client, core.key("reconcile", "slot"))
        )


def require_oauth(settings: SalesforceSettings) -> None:
    """The sweep queries Salesforce with OAuth: a message's SessionId is not available
    outside a notification."""
    if not settings.oauth_configured:
        raise ConfigError(
            "the reconciliation sweep queries Salesforce with OAuth: set SFGW_SF_CLIENT_ID "
            "(a message's SessionId is not available outside a notification)"
        )
