"""In-process harness for actor tests: the real RedisBroker on the test Redis, a real
Dramatiq Worker, the real Salesforce clients (against the loopback fake) and an ERP
stand-in with the ERP's contract: idempotent on the external reference."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from gateway.broker import make_broker
from gateway.jobs import NotificationJob
from gateway.pipeline.actors import Actors
from gateway.pipeline.erp_port import PlacedOrder
from gateway.pipeline.policy import OrderDraft
from gateway.pipeline.settings import PipelineSettings
from gateway.pipeline.wiring import setup_pipeline
from gateway.settings import CoreSettings


class ErpFault(Exception):
    def __init__(self, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass
class FakeErp:
    orders: dict[str, PlacedOrder] = field(default_factory=dict)
    drafts: dict[str, OrderDraft] = field(default_factory=dict)
    calls: int = 0
    #: raised (and consumed) before the next create_order, in order
    faults: list[ErpFault] = field(default_factory=list)
    #: external references that always fail validation
    invalid: set[str] = field(default_factory=set)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create_order(self, draft: OrderDraft) -> PlacedOrder:
        with self._lock:
            self.calls += 1
            if self.faults:
                raise self.faults.pop(0)
            if draft.external_reference in self.invalid:
                raise ErpFault("ValidationFault TITLE_REQUIRED: Title is required", False)
            existing = self.orders.get(draft.external_reference)
            if existing is not None:
                return PlacedOrder(existing.order_number, existing.status, created=False)
            order = PlacedOrder(f"SO-{next(self._numbers):06d}", "Created", created=True)
            self.orders[draft.external_reference] = order
            self.drafts[draft.external_reference] = draft
            return order


@dataclass
class Harness:
    broker: RedisBroker
    actors: Actors
    erp: FakeErp

    def send(self, job: NotificationJob) -> None:
        self.actors.process_notification.send(job.to_dict())

    def drain(self, timeout_s: float = 60) -> None:
        """Wait until both queues (ready, delayed and in flight) are empty."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.broker.join("orders", timeout=int(timeout_s * 1000))
            self.broker.join("callbacks", timeout=int(timeout_s * 1000))
            # a callback enqueued while we joined "callbacks" -> check both again
            if all(
                self.broker.client.hlen(f"{self.broker.namespace}:{k}") == 0
                for k in ("orders.msgs", "orders.DQ.msgs", "callbacks.msgs", "callbacks.DQ.msgs")
            ):
                return
        raise AssertionError("queues did not drain")


@contextmanager
def running_pipeline(
    core: CoreSettings, settings: PipelineSettings, erp: FakeErp | None = None
) -> Iterator[Harness]:
    broker = make_broker(core)
    erp = erp or FakeErp()
    actors, _ = setup_pipeline(broker, core, settings, erp_factory=lambda: erp)
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=4)
    worker.start()
    try:
        yield Harness(broker=broker, actors=actors, erp=erp)
    finally:
        worker.stop()
        broker.close()


def notification(
    n: int, *, fields: dict | None = None, opp: str | None = None, **extra: object
) -> NotificationJob:
    from gateway import sfid

    record = opp or sfid.to18(f"0065g0000{n:06d}")
    return NotificationJob(
        contract="opportunity_with_fields",
        organization_id="00D000000000001AAA",
        action_id="04k000000000001AAA",
        notification_id=f"04l{n:012d}AAA",
        object_type="Opportunity",
        record_id=record,
        fields=fields
        if fields is not None
        else {
            "Name": f"Deal {n}",
            "AccountId": "0015g00000XyZaB",
            "Amount": 100.0 + n,
            "CloseDate": "2026-11-27",
            "IsWon": True,
            "StageName": "Closed Won",
            "Order_Number__c": None,
        },
        partner_url="https://acme.my.salesforce.com/services/Soap/u/62.0/00D000000000001",
        **extra,  # type: ignore[arg-type]
    )
