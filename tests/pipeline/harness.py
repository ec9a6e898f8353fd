"""In-process harness for the pipeline's tests: the worker's own assembly
(:func:`gateway.pipeline.assembly.assemble`) on a RedisBroker on the test Redis, a real
Dramatiq Worker in this process, the real mock Salesforce org, and the real mock ERP --
or, where a test scripts what the ERP answers call by call, :class:`ScriptedErp` in
front of the real ERP client.

:meth:`Harness.drain` waits until the pipeline has nothing left to do, read from Redis
(see :meth:`Harness.idle`), never for a fixed time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from gateway import sfid
from gateway.broker import CALLBACKS_QUEUE, ORDERS_QUEUE, QueueKeys, make_broker
from gateway.erp import ErpError, ErpPermanentError
from gateway.http import requests_session
from gateway.jobs import FieldValue, NotificationJob
from gateway.orders import OrderRequest, PlacedOrder
from gateway.pipeline.actors import Actors
from gateway.pipeline.assembly import assemble
from gateway.pipeline.orders import OrderService
from gateway.pipeline.settings import WorkerSettings
from gateway.redis_connection import connect
from gateway.salesforce.client import SalesforceClient, build_client
from gateway.secrets import SecretBox

#: What :class:`ScriptedErp` answers for a refused reference, as the ERP would word it.
TITLE_REQUIRED = "ValidationFault TITLE_REQUIRED: Title is required"


@dataclass
class ScriptedErp:
    """The order stage's ERP: a script first, then the real ERP client.

    ``faults`` are raised one per call, in order, before the real ERP is asked;
    ``refuse`` names references that are refused permanently for as long as they are in
    it (a cause someone then fixes). ``calls`` counts every call, answered or not.
    """

    real: OrderService
    faults: list[ErpError] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create_order(self, request: OrderRequest) -> PlacedOrder:
        with self._lock:
            self.calls += 1
            fault = self.faults.pop(0) if self.faults else None
            refused = request.external_reference in self.refuse
        if fault is not None:
            raise fault
        if refused:
            raise ErpPermanentError(TITLE_REQUIRED)
        return self.real.create_order(request)


@dataclass
class Harness:
    broker: RedisBroker
    actors: Actors
    settings: WorkerSettings
    client: redis.Redis

    def send(self, job: NotificationJob | dict[str, Any]) -> None:
        payload = job.to_dict() if isinstance(job, NotificationJob) else job
        self.actors.process_notification.send(payload)

    def idle(self) -> bool:
        """Nothing ready, in flight, delayed or being dead-lettered in either queue, and
        no coalesced callback waiting or claimed.

        One look is enough: a stage enqueues what follows (a callback, a retry) before
        its message is acked; a dead letter is stored before Dramatiq's own copy (``XQ``)
        is dropped; a coalesced record is always in its org's pending set or in a
        claimed batch with a lease.
        """
        keys = QueueKeys(self.broker.namespace)
        core = self.settings.core
        pipe = self.client.pipeline(transaction=True)
        for queue in (ORDERS_QUEUE, CALLBACKS_QUEUE):
            pipe.hlen(keys.messages(queue))
            pipe.hlen(keys.delayed_messages(queue))
            pipe.zcard(keys.dead(queue))
        pipe.zcard(core.key("cb", "leases"))
        if any(pipe.execute()):
            return False
        pending = self.client.scan_iter(match=core.key("cb", "pending", "*"), count=1000)
        return all(self.client.zcard(key) == 0 for key in pending)

    def drain(self, timeout_s: float = 60) -> None:
        """Wait until :meth:`idle`."""
        deadline = time.monotonic() + timeout_s
        while not self.idle():
            if time.monotonic() > deadline:
                raise AssertionError(f"the pipeline did not drain within {timeout_s:.0f}s")
            time.sleep(0.02)


@contextmanager
def running_pipeline(
    settings: WorkerSettings,
    *,
    erp: OrderService | None = None,
    salesforce: SalesforceClient | None = None,
    threads: int = 4,
) -> Iterator[Harness]:
    """The pipeline as a worker process assembles it, run by ``threads`` worker threads
    in this process; ``erp``/``salesforce`` replace the clients the settings name."""
    broker = make_broker(settings.core, settings.broker)
    actors = assemble(
        broker,
        settings,
        erp=None if erp is None else (lambda: erp),
        salesforce=None if salesforce is None else (lambda: salesforce),
    )
    client = connect(settings.core.require_redis(), timeout_s=10)
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=threads)
    worker.start()
    try:
        yield Harness(broker=broker, actors=actors, settings=settings, client=client)
    finally:
        worker.stop()
        broker.close()
        client.close()


def deal_fields(n: int) -> dict[str, FieldValue]:
    """The fields the with-fields contract sends for deal ``n`` (won, not yet ordered)."""
    return {
        "Name": f"Deal {n}",
        "AccountId": "0015g00000XyZaB",
        "Amount": 100.0 + n,
        "CloseDate": "2026-11-27",
        "IsWon": True,
        "StageName": "Closed Won",
        "Order_Number__c": None,
    }


def notification(
    n: int,
    *,
    org: str,
    opp: str | None,
    fields: dict[str, FieldValue] | None = None,
    base_url: str = "https://acme.my.salesforce.com",
    **extra: Any,
) -> NotificationJob:
    """Notification ``n`` of ``org`` about Opportunity ``opp`` (use the org's own ids:
    the callback writes to that record, with that org's credential)."""
    return NotificationJob(
        contract="opportunity_with_fields",
        organization_id=org,
        action_id=sfid.to18("04k000000000001"),
        notification_id=sfid.to18(f"04l{n:012d}"),
        object_type="Opportunity",
        record_id=opp,
        fields=deal_fields(n) if fields is None else fields,
        partner_url=f"{base_url}/services/Soap/u/62.0/{org[:15]}",
        **extra,
    )


def salesforce_client(api: str, settings: WorkerSettings, client: redis.Redis) -> SalesforceClient:
    """The workers' Salesforce client on callback API ``api``, built as a worker builds it."""
    return build_client(
        replace(settings.salesforce, callback_api=api),
        core=settings.core,
        redis_client=client,
        http=requests_session(settings.proxies, pool_size=4),
        box=SecretBox(settings.core.require_secret_key()),
        partner_wsdl=settings.core.contracts_dir / "salesforce" / "partner.wsdl",
    )
