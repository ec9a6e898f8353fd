"""What ``sfgw status`` reports: contracts, queues, coalesced callbacks, dead letters.

The queues are read through :class:`gateway.broker.QueueReader` (ready, in flight,
delayed, and the oldest message). The oldest message age counts from the message's first
enqueue, which is what matters against Salesforce's 24-hour window: a notification
retried for a day is a day old.

Coalesced callbacks (``collections``/``soap`` modes) never enter a Dramatiq queue: they
wait in ``<prefix>:cb:*`` (layout in :mod:`gateway.pipeline.callbacks.coalescer`). The status reads
those keys too -- per org the pending records (and how many are due now rather than
waiting for a retry's backoff), the age of the oldest since its order completed, and the
claimed batches with the age of their leases -- so records held back by a Salesforce
outage do not hide from the operator. Every read here is read-only (no script, no write).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any, cast

import redis

from gateway.bindings.outbound import load_outbound, use_generated_dir
from gateway.bindings.shape import read_outbound_shape
from gateway.broker import CALLBACKS_QUEUE, ORDERS_QUEUE, QueueReader
from gateway.contracts import ContractError, outbound_contracts
from gateway.pipeline.stores import DeadLetters, Throughput
from gateway.routes import Route, contract_route
from gateway.settings import CoreSettings

QUEUES = (ORDERS_QUEUE, CALLBACKS_QUEUE)
#: Salesforce retries an outbound message for 24 hours: older waiting work is at risk
SALESFORCE_WINDOW_S = 24 * 3600
SCAN_LIMIT = 50_000  # records inspected per org for the oldest pending callback


@dataclass(frozen=True)
class QueueStatus:
    queue: str
    ready: int
    in_flight: int
    delayed: int
    oldest_age_s: float | None
    done_last_minute: int
    done_last_15_minutes: int


@dataclass(frozen=True)
class CoalescedOrg:
    """One org's coalesced callbacks: waiting in its pending set, and claimed in batches."""

    org: str
    pending: int
    due: int  # of the pending, due now (the others wait for a retry's backoff)
    oldest_age_s: float | None  # the oldest pending record, since its order completed
    batches: int  # claimed batches: a flusher is writing them to Salesforce
    batch_records: int
    oldest_lease_age_s: float | None  # since the oldest batch was claimed
    expired_leases: int  # batches past their lease: any flusher will send them again


@dataclass(frozen=True)
class CoalescedStatus:
    orgs: list[CoalescedOrg]
    pending: int
    batches: int
    oldest_age_s: float | None
    oldest_lease_age_s: float | None


@dataclass(frozen=True)
class ContractStatus:
    """An outbound-message contract: its record type, where its notifications go, and
    why it cannot be served, if it cannot (the gateway would refuse to start)."""

    contract: str
    record_type: str  # ``Shipment__c / ShipmentC``
    queue: str
    actor: str
    problem: str | None


@dataclass(frozen=True)
class PipelineStatus:
    contracts: list[ContractStatus]
    queues: list[QueueStatus]
    coalesced: CoalescedStatus
    dead_letters: int
    workers_alive: int
    oldest_age_s: float | None
    window_s: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _oldest_first_ms(client: redis.Redis, key: str) -> int | None:
    """The earliest ``first_ms`` among an org's pending records (``cb:data:<org>``)."""
    oldest: int | None = None
    for seen, (_, raw) in enumerate(client.hscan_iter(key, count=1000), start=1):
        try:
            first = int(json.loads(raw)["first_ms"])
        except (ValueError, KeyError, TypeError):
            continue
        if oldest is None or first < oldest:
            oldest = first
        if seen >= SCAN_LIMIT:
            break
    return oldest


def _age_s(now_ms: int, stamp_ms: int | None) -> float | None:
    return None if stamp_ms is None else max(0.0, (now_ms - stamp_ms) / 1000)


def _max(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def read_coalesced(client: redis.Redis, core: CoreSettings, now_ms: int) -> CoalescedStatus:
    """Pending coalesced callbacks and claimed batches, per org (read-only)."""
    batches: dict[str, list[tuple[int, int | None, int]]] = {}  # org -> (expiry, claimed, n)
    leases = cast(
        "list[tuple[bytes, float]]", client.zrange(core.key("cb", "leases"), 0, -1, withscores=True)
    )
    for raw_member, expiry in leases:
        org, _, batch_id = _text(raw_member).partition("|")
        blob = client.get(core.key("cb", "batch", batch_id))
        if blob is None:  # settled a moment ago; its lease entry is about to go
            continue
        batch = json.loads(blob)
        claimed = batch.get("claimed_ms")
        batches.setdefault(org, []).append(
            (int(expiry), None if claimed is None else int(claimed), len(batch["records"]))
        )
    orgs = {_text(m) for m in client.smembers(core.key("cb", "orgs"))} | set(batches)
    rows = []
    for org in sorted(orgs):
        pending_key = core.key("cb", "pending", org)
        pending = int(client.zcard(pending_key))
        held = batches.get(org, [])
        if not pending and not held:
            continue  # an org a flusher has emptied but not yet dropped from the set
        claimed = [c for _, c, _ in held if c is not None]
        rows.append(
            CoalescedOrg(
                org=org,
                pending=pending,
                due=int(client.zcount(pending_key, "-inf", now_ms)),
                oldest_age_s=_age_s(now_ms, _oldest_first_ms(client, core.key("cb", "data", org))),
                batches=len(held),
                batch_records=sum(n for _, _, n in held),
                oldest_lease_age_s=_age_s(now_ms, min(claimed) if claimed else None),
                expired_leases=sum(1 for expiry, _, _ in held if expiry <= now_ms),
            )
        )
    return CoalescedStatus(
        orgs=rows,
        pending=sum(r.pending for r in rows),
        batches=sum(r.batches for r in rows),
        oldest_age_s=_max([r.oldest_age_s for r in rows]),
        oldest_lease_age_s=_max([r.oldest_lease_age_s for r in rows]),
    )


def read_contracts(core: CoreSettings, routes: dict[str, Route]) -> list[ContractStatus]:
    """Every outbound-message contract with its record type (found in its bindings by
    XML name, as the gateway finds it) and its route; no Redis involved."""
    use_generated_dir(core.generated_dir)
    rows = []
    for contract in outbound_contracts(core.contracts_dir):
        problem = None
        try:
            bindings = load_outbound(contract)
            object_name, record_type = bindings.shape.object_name, bindings.object_class_name
        except ContractError as error:
            problem = str(error).removeprefix(f"{contract.path}: ")
            try:
                object_name = read_outbound_shape(contract.path).object_name
            except ContractError:
                object_name = "?"
            record_type = object_name
        route = contract_route(contract.name, object_name, routes)
        rows.append(ContractStatus(contract.name, record_type, route.queue, route.actor, problem))
    return rows


def read_status(
    client: redis.Redis,
    core: CoreSettings,
    *,
    window_s: int,
    heartbeat_timeout_ms: int,
    contracts: list[ContractStatus] | None = None,
) -> PipelineStatus:
    """``contracts``: their queues are reported beside the pipeline's own."""
    reader = QueueReader(client, core)
    now_ms = int(time.time() * 1000)
    throughput = Throughput(client, core)
    alive = len(reader.live_brokers(now_ms - heartbeat_timeout_ms))
    queues = []
    overall: int | None = None
    names = list(dict.fromkeys([*QUEUES, *(c.queue for c in contracts or [])]))
    for queue in names:
        counts = reader.counts(queue)
        oldest = counts.oldest_ms
        if oldest is not None and (overall is None or oldest < overall):
            overall = oldest
        queues.append(
            QueueStatus(
                queue=queue,
                ready=counts.ready,
                in_flight=counts.in_flight,
                delayed=counts.delayed,
                oldest_age_s=_age_s(now_ms, oldest),
                done_last_minute=throughput.recent(queue, 1),
                done_last_15_minutes=throughput.recent(queue, 15),
            )
        )
    coalesced = read_coalesced(client, core, now_ms)
    return PipelineStatus(
        contracts=contracts or [],
        queues=queues,
        coalesced=coalesced,
        dead_letters=DeadLetters(client, core).count(),
        workers_alive=alive,
        # a coalesced record waiting for its callback is waiting work like a queued message
        oldest_age_s=_max([_age_s(now_ms, overall), coalesced.oldest_age_s]),
        window_s=window_s,
    )
