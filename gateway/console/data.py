"""What the console's pages show, read from Redis (and the workers' metrics), as data.

Everything here reuses the readers ``sfgw status`` and ``sfgw dlq`` use --
:func:`gateway.pipeline.status.read_status` (queues through
:class:`gateway.broker.QueueReader`, coalesced batches, workers),
:class:`gateway.pipeline.stores.Throughput` and :class:`~gateway.pipeline.stores.DeadLetters`
-- and only reads. The pages (:mod:`gateway.console.pages`) render these dataclasses;
tests build them by hand.

"API calls used today as far as we know": the console runs apart from the workers, so
it asks their Prometheus endpoint (``SFGW_WORKER_METRICS_HOST:PORT``) for the calls they
made since they started and the org's own count from the last ``Sforce-Limit-Info``;
when that endpoint cannot be reached the page says so instead of guessing.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from gateway.broker import CALLBACKS_QUEUE, ORDERS_QUEUE
from gateway.pipeline.reconcile import last_run_key
from gateway.pipeline.status import (
    SALESFORCE_WINDOW_S,
    CoalescedStatus,
    ContractStatus,
    read_status,
)
from gateway.pipeline.stores import DeadLetter, DeadLetters, Throughput
from gateway.salesforce.auth import cached_tokens
from gateway.settings import CoreSettings
from gateway.trail import CallbackWritten, OrderPlaced, Trail, TrailEvent, TrailSettings

CHART_MINUTES = 60
STAGES = (ORDERS_QUEUE, CALLBACKS_QUEUE)


@dataclass(frozen=True)
class StageRow:
    stage: str
    queued: int
    in_flight: int
    retrying: int
    dead_letters: int
    done_15m: int


@dataclass(frozen=True)
class ApiUsage:
    """``calls``: callbacks and reads the workers made since they started (by result);
    ``used``/``limit``: the org's own count from the last answer, all integrations."""

    calls: dict[str, int] = field(default_factory=dict)
    used: int | None = None
    limit: int | None = None
    problem: str | None = None

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


@dataclass(frozen=True)
class Overview:
    stages: list[StageRow]
    #: completed jobs per minute, oldest first, the current minute last
    series: dict[str, list[int]]
    oldest_age_s: float | None
    window_s: int
    coalesced: CoalescedStatus
    tokens: list[tuple[str, int]]
    api: ApiUsage
    reconcile: dict[str, Any] | None
    workers_alive: int
    dead_letters: int
    generated_at: float

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def parse_api_metrics(text: str) -> ApiUsage:
    """The Salesforce figures in a Prometheus text exposition (the workers')."""
    calls: Counter[str] = Counter()
    gauges: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith("sfgw_salesforce_api"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            number = int(float(value))
        except ValueError:
            continue
        if name.startswith("sfgw_salesforce_api_calls_total{"):
            result = name.partition('result="')[2].partition('"')[0] or "?"
            calls[result] += number
        elif name in ("sfgw_salesforce_api_usage", "sfgw_salesforce_api_limit"):
            gauges[name] = number
    return ApiUsage(
        calls=dict(calls),
        used=gauges.get("sfgw_salesforce_api_usage"),
        limit=gauges.get("sfgw_salesforce_api_limit"),
    )


def fetch_api_usage(url: str | None, timeout_s: float = 1.0) -> ApiUsage:
    if not url:
        return ApiUsage(problem="the workers' metrics are off (SFGW_WORKER_METRICS_PORT=0)")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - our own setting
            return parse_api_metrics(response.read().decode("utf-8", "replace"))
    except (OSError, ValueError) as error:
        name = type(error).__name__
        return ApiUsage(problem=f"the workers' metrics at {url} did not answer ({name})")


def stage_rows(status: Any, letters_by_stage: dict[str, int]) -> list[StageRow]:
    """Per queue (the pipeline's stages, then a contract's own queue); the callbacks'
    coalesced records count as queued (due now), retrying (waiting for a backoff) and in
    flight (in a claimed batch)."""
    rows = []
    coalesced = status.coalesced
    for queue in status.queues:
        queued, retrying, in_flight = queue.ready, queue.delayed, queue.in_flight
        if queue.queue == CALLBACKS_QUEUE:
            due = sum(o.due for o in coalesced.orgs)
            queued += due
            retrying += coalesced.pending - due
            in_flight += sum(o.batch_records for o in coalesced.orgs)
        letters = letters_by_stage.get(queue.queue, 0)
        done = queue.done_last_15_minutes
        rows.append(StageRow(queue.queue, queued, in_flight, retrying, letters, done))
    return rows


def read_overview(
    client: redis.Redis,
    core: CoreSettings,
    *,
    heartbeat_timeout_ms: int,
    api: Callable[[], ApiUsage],
    contracts: list[ContractStatus] | None = None,
) -> Overview:
    """``contracts``: their queues are rows too (a contract routed to its own queue)."""
    status = read_status(
        client,
        core,
        window_s=SALESFORCE_WINDOW_S,
        heartbeat_timeout_ms=heartbeat_timeout_ms,
        contracts=contracts,
    )
    letters = Counter(letter.stage for letter in DeadLetters(client, core).iter())
    throughput = Throughput(client, core)
    raw = client.get(last_run_key(core))
    return Overview(
        stages=stage_rows(status, dict(letters)),
        series={stage: throughput.series(stage, CHART_MINUTES) for stage in STAGES},
        oldest_age_s=status.oldest_age_s,
        window_s=status.window_s,
        coalesced=status.coalesced,
        tokens=cached_tokens(client, core),
        api=api(),
        reconcile=None if raw is None else json.loads(raw),
        workers_alive=status.workers_alive,
        dead_letters=status.dead_letters,
        generated_at=time.time(),
    )


@dataclass(frozen=True)
class OpportunityView:
    record: str
    events: list[TrailEvent]
    letters: list[DeadLetter]

    @property
    def order_number(self) -> str | None:
        """The order number the trail last saw, placed or written back."""
        for event in reversed(self.events):
            if isinstance(event, OrderPlaced | CallbackWritten) and event.order_number:
                return event.order_number
        return None

    @property
    def updated_in_salesforce(self) -> bool:
        return any(isinstance(e, CallbackWritten) and e.result == "saved" for e in self.events)


def read_opportunity(
    client: redis.Redis, core: CoreSettings, trail: TrailSettings, record18: str
) -> OpportunityView:
    events = Trail(client, core, TrailSettings(ttl_s=trail.ttl_s)).read(record18)
    letters = [d for d in DeadLetters(client, core).iter() if d.opportunity_id == record18]
    return OpportunityView(record18, events, letters)
