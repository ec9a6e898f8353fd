"""When the flusher threads send a batch: as soon as its oldest record has waited
SFGW_CALLBACK_MAX_WAIT_MS (not up to a poll interval later), and at once when the
order stage fills it, with one call per batch whatever the number of flushers.

Real Redis and the real coalescer and flusher threads; Salesforce is a stand-in that
records each call (when, how many records) and saves every record."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from gateway.pipeline.actors import retry_policy
from gateway.pipeline.coalesce import FlusherThreads, install_coalescing
from gateway.pipeline.messages import CallbackJob
from gateway.pipeline.settings import PipelineSettings
from gateway.pipeline.stores import DeadLetters
from gateway.salesforce.callbacks import RecordUpdate
from gateway.salesforce.errors import RecordOutcome
from gateway.settings import CoreSettings

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
    """Only what install_coalescing needs from a broker: somewhere to put middleware."""

    def __init__(self) -> None:
        self.middleware: list[Any] = []

    def add_middleware(self, middleware: Any) -> None:
        self.middleware.append(middleware)


@dataclass
class Running:
    add: Any
    salesforce: RecordingSalesforce


@pytest.fixture
def flushers(
    monkeypatch: pytest.MonkeyPatch,
    sf_env: dict[str, str],
    client: redis.Redis,
    request: pytest.FixtureRequest,
) -> Iterator[Running]:
    """Two processes' worth of flusher threads (4) with a long poll interval."""
    wait_ms, batch = request.param
    for name, value in {
        "SFGW_CALLBACK_MAX_WAIT_MS": str(wait_ms),
        "SFGW_CALLBACK_BATCH_SIZE": str(batch),
        "SFGW_CALLBACK_POLL_MS": "3000",
        "SFGW_CALLBACK_FLUSHERS": "4",
    }.items():
        monkeypatch.setenv(name, value)
    env = {**sf_env, "SFGW_CALLBACK_API": "collections"}
    core = CoreSettings.from_env(env)
    settings = PipelineSettings.from_env(env)
    salesforce = RecordingSalesforce()
    broker = _Broker()
    add = install_coalescing(
        broker,  # type: ignore[arg-type]
        core=core,
        settings=settings,
        client=client,
        dead_letters=DeadLetters(client, core),
        salesforce=lambda: salesforce,  # type: ignore[arg-type,return-value]
        policy=retry_policy(settings),
    )
    assert add is not None
    (threads,) = [m for m in broker.middleware if isinstance(m, FlusherThreads)]
    threads.after_worker_boot(broker, None)  # type: ignore[arg-type]
    time.sleep(0.3)  # every flusher has looked once and is now idle for a poll interval
    try:
        yield Running(add, salesforce)
    finally:
        threads.before_worker_shutdown(broker, None)  # type: ignore[arg-type]


def _job(n: int) -> dict[str, Any]:
    return CallbackJob(
        organization_id=ORG,
        opportunity_id=f"006{n:015d}",
        notification_id=f"04l{n:015d}",
        order_number=f"SO-{n:06d}",
        order_status="Created",
    ).to_dict()


def _wait_for_calls(salesforce: RecordingSalesforce, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while len(salesforce.calls) < count and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("flushers", [(400, 200)], indirect=True)
def test_a_batch_leaves_when_its_oldest_record_has_waited_not_a_poll_later(
    flushers: Running,
) -> None:
    first = time.monotonic()
    for n in range(30):
        flushers.add(_job(n))
        time.sleep(0.005)
    _wait_for_calls(flushers.salesforce, 1, timeout_s=5)
    ((sent_at, records),) = flushers.salesforce.calls
    # due 400 ms after the first record; the idle flushers poll only every 3 s
    assert 0.4 <= sent_at - first < 0.4 + 1.0
    assert records == 30  # one call carries every record of the batch
    time.sleep(0.6)
    assert len(flushers.salesforce.calls) == 1


@pytest.mark.parametrize("flushers", [(60_000, 20)], indirect=True)
def test_a_full_batch_leaves_at_once(flushers: Running) -> None:
    for n in range(20):
        flushers.add(_job(n))
    filled = time.monotonic()
    _wait_for_calls(flushers.salesforce, 1, timeout_s=5)
    ((sent_at, records),) = flushers.salesforce.calls
    assert records == 20
    assert sent_at - filled < 1.0  # not the 3 s poll, not the 60 s maximum wait
