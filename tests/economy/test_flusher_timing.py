"""When the flusher threads send a batch: as soon as its oldest record has waited
SFGW_CALLBACK_MAX_WAIT_MS (not up to a poll interval later), and at once when the
order stage fills it, with one call per batch whatever the number of flushers.

Real Redis and the real coalescer and flusher threads; Salesforce is a stand-in that
records each call (when, how many records) and saves every record."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from gateway.lazy import Lazy
from gateway.pipeline.callbacks.coalescer import CallbackCoalescer
from gateway.pipeline.callbacks.flushers import FlusherThreads
from gateway.pipeline.callbacks.job import CallbackJob
from gateway.pipeline.callbacks.modes import build_callbacks
from gateway.pipeline.callbacks.settings import CallbackSettings
from gateway.pipeline.settings import WorkerSettings
from gateway.pipeline.stores import DeadLetters, Throughput
from gateway.salesforce.api import RecordUpdate
from gateway.salesforce.errors import RecordOutcome

ORG = "00D000000000001AAA"


@dataclass
class RecordingSalesforce:
    calls: list[tuple[float, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, org_id: str, records: Sequence[RecordUpdate]) -> list[RecordOutcome]:
        with self.lock:
            self.calls.append((time.monotonic(), len(records)))
        return [RecordOutcome.success(r.record_id) for r in records]


class _Broker:
    """Only what build_callbacks needs from a broker: somewhere to put middleware."""

    def __init__(self) -> None:
        self.middleware: list[Any] = []

    def add_middleware(self, middleware: Any) -> None:
        self.middleware.append(middleware)


@dataclass
class Running:
    submit: Any
    salesforce: RecordingSalesforce
    coalescer_keys: tuple[str, str]  # the org's pending set and the batch leases
    client: redis.Redis

    def settled(self) -> bool:
        """Nothing waiting and no batch claimed: no call can come any more."""
        pending, leases = self.coalescer_keys
        return self.client.zcard(pending) == 0 and self.client.zcard(leases) == 0


@dataclass
class Looks:
    """Which flusher threads have looked for due batches (CallbackCoalescer.orgs)."""

    threads: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def looks(monkeypatch: pytest.MonkeyPatch) -> Looks:
    seen = Looks()
    real = CallbackCoalescer.orgs

    def orgs(self: CallbackCoalescer) -> list[str]:
        found = real(self)
        with seen.lock:
            seen.threads.add(threading.current_thread().name)
        return found

    monkeypatch.setattr(CallbackCoalescer, "orgs", orgs)
    return seen


@pytest.fixture
def flushers(
    base_env: dict[str, str],
    client: redis.Redis,
    looks: Looks,
    request: pytest.FixtureRequest,
) -> Iterator[Running]:
    """Two processes' worth of flusher threads (4) with a long poll interval."""
    wait_ms, batch = request.param
    env = {
        **base_env,
        "SFGW_CALLBACK_API": "collections",
        "SFGW_SF_CLIENT_ID": "key",
        "SFGW_SF_CLIENT_SECRET": "secret",
        "SFGW_CALLBACK_MAX_WAIT_MS": str(wait_ms),
        "SFGW_CALLBACK_BATCH_SIZE": str(batch),
        "SFGW_CALLBACK_POLL_MS": "3000",
        "SFGW_CALLBACK_FLUSHERS": "4",
    }
    settings = WorkerSettings.from_env(env)
    core = settings.core
    salesforce = RecordingSalesforce()
    broker = _Broker()
    sender = build_callbacks(
        broker,  # type: ignore[arg-type]
        core=core,
        salesforce_settings=settings.salesforce,
        settings=CallbackSettings.from_env(env),
        client=client,
        policy=settings.pipeline.retry_policy,
        dead_letters=DeadLetters(client, core),
        throughput=Throughput(client, core),
        salesforce=Lazy(lambda: salesforce),  # type: ignore[arg-type,return-value]
    )
    (threads,) = [m for m in broker.middleware if isinstance(m, FlusherThreads)]
    threads.after_worker_boot(broker, None)  # type: ignore[arg-type]
    # every flusher has looked once (found nothing) and is now idle for a poll interval
    assert wait_for(lambda: len(looks.threads) == 4, 10), looks.threads
    keys = (core.key("cb", "pending", ORG), core.key("cb", "leases"))
    try:
        yield Running(sender.submit, salesforce, keys, client)
    finally:
        threads.before_worker_shutdown(broker, None)  # type: ignore[arg-type]


def _job(n: int) -> CallbackJob:
    return CallbackJob(
        organization_id=ORG,
        opportunity_id=f"006{n:015d}",
        notification_id=f"04l{n:015d}",
        order_number=f"SO-{n:06d}",
        order_status="Created",
    )


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _wait_for_calls(salesforce: RecordingSalesforce, count: int, timeout_s: float) -> None:
    wait_for(lambda: len(salesforce.calls) >= count, timeout_s)


@pytest.mark.parametrize("flushers", [(400, 200)], indirect=True)
def test_a_batch_leaves_when_its_oldest_record_has_waited_not_a_poll_later(
    flushers: Running,
) -> None:
    first = time.monotonic()
    for n in range(30):
        flushers.submit(_job(n))
        time.sleep(0.005)  # the records arrive over 150 ms, as an order stage adds them
    _wait_for_calls(flushers.salesforce, 1, timeout_s=5)
    ((sent_at, records),) = flushers.salesforce.calls
    # due 400 ms after the first record; the idle flushers poll only every 3 s
    assert 0.4 <= sent_at - first < 0.4 + 1.0
    assert records == 30  # one call carries every record of the batch
    # settled, with nothing left to send: that one call is the only one there will be
    assert wait_for(flushers.settled, 5)
    assert len(flushers.salesforce.calls) == 1


@pytest.mark.parametrize("flushers", [(60_000, 20)], indirect=True)
def test_a_full_batch_leaves_at_once(flushers: Running) -> None:
    for n in range(20):
        flushers.submit(_job(n))
    filled = time.monotonic()
    _wait_for_calls(flushers.salesforce, 1, timeout_s=5)
    ((sent_at, records),) = flushers.salesforce.calls
    assert records == 20
    assert sent_at - filled < 1.0  # not the 3 s poll, not the 60 s maximum wait
