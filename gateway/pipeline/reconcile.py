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

Functional core: :func:`build_query`, :func:`job_from_record`, :func:`notification_id_for`,
:func:`parse_window`. Shell: :class:`Reconciler` (REST query with the shared OAuth token,
paging with ``nextRecordsUrl``, enqueue through Redis) and :class:`ReconcileLoop`, the
periodic run inside ``sfgw worker``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import dramatiq
import redis
import requests
from dramatiq.middleware import Middleware

from gateway import sfid
from gateway.config import ConfigError, Env, env_int
from gateway.jobs import FieldValue, NotificationJob
from gateway.pipeline.policy import ORDER_FIELDS
from gateway.pipeline.settings import ORDERS_QUEUE, PipelineSettings
from gateway.pipeline.stores import DeadLetters, DoneMarkers, letter_id
from gateway.salesforce.auth import AccessToken, TokenManager
from gateway.salesforce.errors import SalesforceError
from gateway.settings import CoreSettings

log = logging.getLogger("sfgw.reconcile")

RECONCILE_CONTRACT = "reconcile"
NOTIFICATION_PREFIX = "RECONCILE-"
DEFAULT_WINDOW_S = 25 * 3600  # Salesforce's 24 h retention plus an hour of overlap
PROCESS_NOTIFICATION = "process_notification"

_RELATIVE = re.compile(r"(\d+)\s*([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

#: Atomically: skip if the marker exists, else set it and enqueue the Dramatiq message
#: exactly as the broker's own enqueue does (hash of messages + list of ids).
_ENQUEUE = """
if redis.call("set", KEYS[1], ARGV[1], "NX", "EX", tonumber(ARGV[3])) then
    redis.call("hset", KEYS[3], ARGV[1], ARGV[2])
    redis.call("rpush", KEYS[2], ARGV[1])
    return 1
end
return 0
"""


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


def parse_window(value: str | None, now: float, default_s: int = DEFAULT_WINDOW_S) -> float:
    """``--since``: ``24h``/``90m``/``2d`` ago, or an ISO 8601 time (UTC without a zone)."""
    if value is None:
        return now - default_s
    match = _RELATIVE.fullmatch(value.strip())
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--since {value!r}: use an ISO time like 2026-11-27T18:00Z or 30m, 24h, 2d"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


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


class Reconciler:
    """One sweep: query Salesforce, enqueue what the pipeline has not seen."""

    def __init__(
        self,
        *,
        settings: PipelineSettings,
        reconcile: ReconcileSettings,
        core: CoreSettings,
        client: redis.Redis,
        tokens: TokenManager,
        http: requests.Session,
    ) -> None:
        self._settings = settings
        self._reconcile = reconcile
        self._core = core
        self._client = client
        self._tokens = tokens
        self._http = http
        self._done = DoneMarkers(client, core, settings.dedupe_ttl_s)
        self._letters = DeadLetters(client, core)
        self._enqueue = client.register_script(_ENQUEUE)
        self._queue_key = core.key("dramatiq", ORDERS_QUEUE)
        #: long enough to cover the job's whole retry window: after it the job is done
        #: (done marker) or dead-lettered (letter), which the sweep checks first
        self._marker_ttl = settings.retry_for_s + 3600

    @property
    def window_s(self) -> int:
        return self._reconcile.window_s

    def run(self, since: float, until: float | None = None) -> ReconcileReport:
        now = time.time()
        until = now - self._reconcile.min_age_s if until is None else until
        soql = build_query(since, until, self._settings.salesforce.order_number_field)
        token = self._tokens.get()
        org = token.org_id
        if not org:
            raise SalesforceError(
                "NO_ORG_ID", "the token response did not name the org (no 'id' URL)"
            )
        found = []
        for record in self._query(soql, token):
            job = job_from_record(
                record,
                organization_id=org,
                instance_url=token.instance_url,
                api_version=self._settings.salesforce.api_version,
                now=now,
            )
            outcome = self._submit(job)
            found.append(
                Found(
                    opportunity_id=job.record_id or "",
                    name=str(record.get("Name") or ""),
                    last_modified=str(record.get("LastModifiedDate") or ""),
                    outcome=outcome,
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
        message_id = str(uuid.uuid4())
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=ORDERS_QUEUE,
            actor_name=PROCESS_NOTIFICATION,
            args=(job.to_dict(),),
            kwargs={},
            options={"redis_message_id": message_id},
            message_id=str(uuid.uuid4()),
            message_timestamp=int(time.time() * 1000),
        )
        marker = self._core.key("reconcile", "queued", org15, opp)
        added = self._enqueue(
            keys=[marker, self._queue_key, f"{self._queue_key}.msgs"],
            args=[message_id, message.encode(), self._marker_ttl],
        )
        return "enqueued" if int(added) else "already queued"

    def _query(self, soql: str, token: AccessToken) -> Iterator[dict[str, Any]]:
        version = self._settings.salesforce.api_version
        path = f"/services/data/v{version}/query?q={quote(soql)}"
        refreshed = False
        while path:
            response = self._http.get(
                f"{token.instance_url}{path}",
                headers={
                    "Authorization": f"Bearer {token.value}",
                    "Accept": "application/json",
                    "Sforce-Query-Options": f"batchSize={self._reconcile.batch_size}",
                },
                timeout=self._settings.salesforce.timeout_s,
                allow_redirects=False,
            )
            if response.status_code == 401 and not refreshed:
                self._tokens.invalidate(token)
                token = self._tokens.get()
                refreshed = True
                continue
            if response.status_code != 200:
                raise SalesforceError(
                    _error_code(response),
                    "reconciliation query failed",
                    status=response.status_code,
                )
            body = response.json()
            records = body.get("records") if isinstance(body, dict) else None
            if not isinstance(records, list):
                raise SalesforceError("INVALID_RESPONSE", "query reply has no records list")
            yield from (r for r in records if isinstance(r, dict))
            next_url = body.get("nextRecordsUrl")
            path = next_url if isinstance(next_url, str) and not body.get("done", True) else ""


def _error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP_{response.status_code}"
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return str(body[0].get("errorCode") or f"HTTP_{response.status_code}")
    return f"HTTP_{response.status_code}"


def build_reconciler(
    settings: PipelineSettings, reconcile: ReconcileSettings, core: CoreSettings
) -> Reconciler:
    from gateway.salesforce.callbacks import make_http_session
    from gateway.secrets import SecretBox

    if not settings.salesforce.oauth_configured:
        raise ConfigError(
            "the reconciliation sweep queries Salesforce with OAuth: set SFGW_SF_CLIENT_ID "
            "(a message's SessionId is not available outside a notification)"
        )
    client = redis.Redis.from_url(
        core.require_redis_url(), socket_timeout=10, socket_connect_timeout=10
    )
    http = make_http_session(pool_size=2)
    box = SecretBox(core.require_secret_key())
    tokens = TokenManager(settings.salesforce, core, client, http, box=box)
    return Reconciler(
        settings=settings, reconcile=reconcile, core=core, client=client, tokens=tokens, http=http
    )


class ReconcileLoop(Middleware):
    """The periodic sweep, as a thread in every worker process.

    Why a loop and not a self-rescheduling actor: a chain of delayed messages is easy to
    lose (a purge) or to multiply (every worker start seeds one more). Here every worker
    process wakes up at the start of each interval and tries ``SET NX`` on that
    interval's slot key; exactly one process wins and sweeps, and when it dies another
    process wins the next slot. A failed sweep (Salesforce down) is simply repeated at
    the next interval; the sweep itself is idempotent.
    """

    def __init__(self, factory: Any, interval_s: int, client: redis.Redis, slot_key: str) -> None:
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
    broker: dramatiq.Broker, settings: PipelineSettings, core: CoreSettings
) -> ReconcileSettings:
    """The hook for ``gateway.pipeline.worker``: a no-op unless the interval is set."""
    reconcile = ReconcileSettings.from_env()
    if reconcile.interval_s > 0:
        client = redis.Redis.from_url(
            core.require_redis_url(), socket_timeout=10, socket_connect_timeout=10
        )
        broker.add_middleware(
            ReconcileLoop(
                lambda: build_reconciler(settings, reconcile, core),
                reconcile.interval_s,
                client,
                core.key("reconcile", "slot"),
            )
        )
    return reconcile
