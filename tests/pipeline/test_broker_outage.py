"""The broker's two Redis-outage fixes (gateway/broker.py), each against a real Redis that
the test SIGKILLs and restarts, and a real Dramatiq Worker in this process.

(a) A consumer that loses its connection drops the delayed messages it held in memory.
    Redis still lists them in this broker's ack set, and a live broker's ack set is never
    requeued -- unless the broker takes a new identity, so that the old one's heartbeat
    expires and maintenance hands its messages back.
(b) Dramatiq's ``Retries`` enqueues a failed message's retry and the worker then acks the
    original; if that enqueue fails, the retry is gone. ``DurableRetries`` waits for
    Redis (up to ``SFGW_BROKER_RETRY_ENQUEUE_S``) and otherwise fails the message, which
    is what the dead-letter middleware acts on.

Each test uses its own Redis (the session's server must not be killed) with append-only
persistence, as in production, so what Redis had acknowledged survives the kill.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.common import dq_name
from dramatiq.middleware import Middleware, Retries
from redis.backoff import NoBackoff
from redis.retry import Retry

from devstack.embedded_redis import EmbeddedRedis
from gateway.broker import BrokerSettings, QueueKeys, SfgwRedisBroker, make_broker
from gateway.settings import CoreSettings

QUEUE = "outage"
#: the smallest heartbeat timeout the settings allow, and maintenance on every call, so
#: an abandoned identity's messages come back within seconds
HEARTBEAT_MS = 2000


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(data_dir=tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Runs:
    """What the worker did: every run of the actor, and what the middleware after
    ``Retries`` saw (the same place the pipeline's dead-letter middleware looks)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    started: list[tuple[float, int | None]] = field(default_factory=list)  # (time, retries)
    after_retries: list[tuple[float, bool]] = field(default_factory=list)  # (time, failed)
    first_started: threading.Event = field(default_factory=threading.Event)
    release_first: threading.Event = field(default_factory=threading.Event)

    def retries_seen(self) -> list[int | None]:
        with self.lock:
            return [retries for _, retries in self.started]


class Recorder(Middleware):
    def __init__(self, runs: Runs) -> None:
        self.runs = runs

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        with self.runs.lock:
            self.runs.started.append((time.monotonic(), message.options.get("retries")))

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None,
        exception: BaseException | None = None,
    ) -> None:  # fmt: skip
        with self.runs.lock:
            self.runs.after_retries.append((time.monotonic(), bool(message.failed)))


@contextmanager
def worker_on(
    own_redis: EmbeddedRedis, redis_prefix: str, settings: BrokerSettings,
    actor: Callable[..., None], runs: Runs,
) -> Iterator[SfgwRedisBroker]:  # fmt: skip
    core = CoreSettings.from_env(
        {"SFGW_REDIS_URL": own_redis.url, "SFGW_REDIS_PREFIX": redis_prefix}
    )
    broker = make_broker(core, settings)
    assert isinstance(broker, SfgwRedisBroker)
    # placed before Retries: its after-hook runs after Retries', like DeadLetterMiddleware
    broker.add_middleware(Recorder(runs), before=Retries)
    dramatiq.actor(
        broker=broker, actor_name="probe", queue_name=QUEUE,
        max_retries=5, min_backoff=100, max_backoff=200,
    )(actor)  # fmt: skip
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        yield broker
    finally:
        runs.release_first.set()
        if own_redis.child is None:
            own_redis.start()
        worker.stop(timeout=5000)
        broker.close()


class DramatiqLog(logging.Handler):
    """What Dramatiq's consumer and worker threads logged: how a test knows that a
    consumer met the lost connection, or that a nack failed, instead of sleeping."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.getMessage()))  # under the handler's lock

    def seen(self, text: str, logger: str = "") -> bool:
        """Whether a logger whose name contains ``logger`` logged ``text``."""
        records = list(self.records)
        return any(logger in name and text in message for name, message in records)


@pytest.fixture
def dramatiq_log() -> Iterator[DramatiqLog]:
    handler = DramatiqLog()
    logger = logging.getLogger("dramatiq")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


#: what a consumer thread logs when it could not ack or nack (Redis away); it tries again
NACK_FAILED = "Failed to post_process_message"
#: what a consumer thread logs when it met the lost connection and dropped what it held
CONSUMER_LOST = "Consumer encountered a connection error"


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def count_failed_enqueues(broker: SfgwRedisBroker) -> list[float]:
    """Record (the time of) every enqueue on ``broker`` that raised: how often a retry
    was offered to a Redis that was away."""
    failed: list[float] = []
    enqueue = broker.enqueue

    def counting(message: Any, **options: Any) -> Any:
        try:
            return enqueue(message, **options)
        except Exception:
            failed.append(time.monotonic())
            raise

    broker.enqueue = counting  # type: ignore[method-assign]
    return failed


def _held_by(client: redis.Redis, pattern: str) -> dict[str, int]:
    return {key.decode(): int(client.scard(key)) for key in client.scan_iter(match=pattern)}


def test_delayed_messages_held_in_memory_come_back_after_a_lost_connection(
    own_redis: EmbeddedRedis, redis_prefix: str, dramatiq_log: DramatiqLog
) -> None:
    """(a) The delayed message sits in the delay consumer's memory (and in this broker's
    ack set in Redis) when Redis dies; the consumer forgets it. It must still run."""
    runs = Runs()
    settings = BrokerSettings(
        heartbeat_timeout_ms=HEARTBEAT_MS, maintenance_chance=1_000_000, retry_enqueue_s=30
    )

    def probe() -> None:
        pass

    with worker_on(own_redis, redis_prefix, settings, probe, runs) as broker:
        first_identity = broker.broker_id
        client = redis.Redis.from_url(own_redis.url)
        acks = QueueKeys(broker.namespace).in_flight_pattern(dq_name(QUEUE))
        broker.actors["probe"].send_with_options(delay=3000)
        assert wait_for(lambda: sum(_held_by(client, acks).values()) == 1, 5), (
            "the delay consumer never fetched the message"
        )
        client.close()
        assert runs.started == []  # held in memory, its eta (3 s) still ahead

        own_redis.kill()
        # the delay consumer polls, fails, and drops what it held in memory
        assert wait_for(lambda: dramatiq_log.seen(CONSUMER_LOST, f"({dq_name(QUEUE)})"), 10)
        own_redis.start()
        restarted_at = time.monotonic()

        assert wait_for(lambda: len(runs.started) >= 1, 12), (
            "the delayed message never ran; it is stranded in a live broker's ack set: "
            f"{_held_by(redis.Redis.from_url(own_redis.url), acks)}"
        )
        assert broker.broker_id != first_identity
        # it ran once its eta had passed and the old identity's heartbeat had expired
        assert runs.started[0][0] - restarted_at < 10


def test_a_retry_that_cannot_be_enqueued_waits_for_redis(
    own_redis: EmbeddedRedis, redis_prefix: str
) -> None:
    """(b) The first run fails while Redis is down for ~1.5 s: the retry is enqueued once
    Redis is back (a run with ``retries == 1`` follows) instead of being dropped."""
    runs = Runs()
    settings = BrokerSettings(
        heartbeat_timeout_ms=HEARTBEAT_MS, maintenance_chance=1_000_000, retry_enqueue_s=30
    )

    def probe() -> None:
        if len(runs.started) == 1:  # the first run: fail with Redis gone
            runs.first_started.set()
            runs.release_first.wait(10)
            raise RuntimeError("the ERP is down too")

    with worker_on(own_redis, redis_prefix, settings, probe, runs) as broker:
        failed_enqueues = count_failed_enqueues(broker)
        broker.actors["probe"].send()
        assert runs.first_started.wait(5)
        own_redis.kill()
        runs.release_first.set()
        # DurableRetries tries to enqueue the retry, fails, waits and tries again
        assert wait_for(lambda: len(failed_enqueues) >= 2, 10)
        assert runs.after_retries == []  # still waiting for Redis to take the retry
        restarting_at = time.monotonic()
        own_redis.start()

        assert wait_for(lambda: 1 in runs.retries_seen(), 12), (
            f"no retry ran; runs seen (retries option): {runs.retries_seen()}"
        )
        done_at, failed = runs.after_retries[0]
        assert failed is False and done_at >= restarting_at  # retried once Redis was back


def test_a_retry_that_cannot_be_enqueued_in_time_fails_the_message(
    own_redis: EmbeddedRedis, redis_prefix: str, dramatiq_log: DramatiqLog
) -> None:
    """(b) Redis stays away longer than the retry-enqueue deadline (1 s): the message is
    failed (what the dead-letter middleware acts on) instead of being acked as if its
    retry were queued -- and once Redis is back it is not lost."""
    runs = Runs()
    settings = BrokerSettings(
        heartbeat_timeout_ms=HEARTBEAT_MS, maintenance_chance=1_000_000, retry_enqueue_s=1.0
    )

    def probe() -> None:
        if len(runs.started) == 1:
            runs.first_started.set()
            runs.release_first.wait(10)
            raise RuntimeError("the ERP is down too")

    with worker_on(own_redis, redis_prefix, settings, probe, runs) as broker:
        broker.actors["probe"].send()
        assert runs.first_started.wait(5)
        own_redis.kill()
        released = time.monotonic()
        runs.release_first.set()
        assert wait_for(lambda: len(runs.after_retries) == 1, 5)
        gave_up_at, failed = runs.after_retries[0]
        assert failed is True, "the message was acked although its retry was never queued"
        # it tried for the whole deadline, and gave up while Redis was still down
        assert gave_up_at - released >= 0.9
        # ... and its nack met the dead connection too (the broker took a new identity)
        assert wait_for(lambda: dramatiq_log.seen(NACK_FAILED), 10)
        own_redis.start()
        # Not lost either: the broker took a new identity when its calls failed, so the
        # nack finds nothing to move and the old identity's ack set hands the original
        # back once its heartbeat expires: it runs again (or, had the nack gone through
        # under the old identity, it would sit in Dramatiq's own dead-letter set).
        client = redis.Redis.from_url(own_redis.url)
        xq = QueueKeys(broker.namespace).dead(QUEUE)
        assert wait_for(lambda: len(runs.started) >= 2 or client.zcard(xq) == 1, 12), (
            runs.retries_seen()
        )
        client.close()


def test_a_permanent_failure_during_an_outage_ends_as_a_dead_letter(
    own_redis: EmbeddedRedis, redis_prefix: str, dramatiq_log: DramatiqLog
) -> None:
    """A pipeline message fails permanently while Redis is down. The worker retries the
    nack until Redis is back; the dead letter must then be in our store (``sfgw dlq``),
    not lost. Storing the letter at failure time (Redis down) and then dropping
    Dramatiq's own dead-letter copy after the nack lost the message without a trace."""
    from gateway.broker import ORDERS_QUEUE, PROCESS_NOTIFICATION
    from gateway.pipeline.middleware import install_middleware
    from gateway.pipeline.stages import StageFailed
    from gateway.pipeline.stores import DeadLetters

    runs = Runs()
    core = CoreSettings.from_env(
        {"SFGW_REDIS_URL": own_redis.url, "SFGW_REDIS_PREFIX": redis_prefix}
    )
    settings = BrokerSettings(
        heartbeat_timeout_ms=HEARTBEAT_MS, maintenance_chance=1_000_000, retry_enqueue_s=1
    )
    broker = make_broker(core, settings)
    # No client-side retries: the outage below outlasts them, as a real one may (redis-py
    # would otherwise retry the letter's write 10 times with backoff and hide the window).
    client = redis.Redis.from_url(own_redis.url, retry=Retry(NoBackoff(), 0))
    install_middleware(broker, DeadLetters(client, core))

    def process(payload: dict[str, Any]) -> None:
        runs.first_started.set()
        runs.release_first.wait(10)
        raise StageFailed("ERP refused the order: credit hold", 1)

    dramatiq.actor(
        broker=broker, actor_name=PROCESS_NOTIFICATION, queue_name=ORDERS_QUEUE,
        max_retries=0, throws=(StageFailed,),
    )(process)  # fmt: skip
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        broker.actors[PROCESS_NOTIFICATION].send(
            {"organization_id": "00D000000000001AAA", "notification_id": "04l000000000009AAA"}
        )
        assert runs.first_started.wait(5)
        own_redis.kill()
        runs.release_first.set()
        # the failure is decided and the nack fails while Redis is away
        assert wait_for(lambda: dramatiq_log.seen(NACK_FAILED), 10)
        own_redis.start()
        letters = DeadLetters(redis.Redis.from_url(own_redis.url), core)
        assert wait_for(lambda: letters.count() == 1, 15), (
            "the permanently failed message is in no dead-letter store"
        )
        (letter,) = list(letters.iter())
        assert letter.stage == ORDERS_QUEUE
        assert letter.notification_id == "04l000000000009AAA"
        assert "credit hold" in letter.reason
        xq = redis.Redis.from_url(own_redis.url).zcard(
            QueueKeys(broker.namespace).dead(ORDERS_QUEUE)
        )
        assert xq == 0  # our store holds it; Dramatiq's copy was dropped only after that
    finally:
        runs.release_first.set()
        if own_redis.child is None:
            own_redis.start()
        worker.stop(timeout=5000)
        broker.close()
        client.close()


class _LetterWriteFailsOnce:
    """A dead-letter store whose first write meets a dropped connection: the tail of an
    outage, when the failure is decided with Redis away and the nack lands after it is
    back. Everything else is the real store on the real Redis."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.failed = False

    def add(self, **letter: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise redis.ConnectionError("Connection refused (injected)")
        return self.store.add(**letter)


def test_a_dead_letter_that_cannot_be_stored_keeps_dramatiqs_copy(
    own_redis: EmbeddedRedis, redis_prefix: str
) -> None:
    """If our letter cannot be written, Dramatiq's own dead-letter copy must survive: the
    failed message is then in one of the two dead-letter stores, never in neither."""
    from gateway.broker import ORDERS_QUEUE, PROCESS_NOTIFICATION
    from gateway.pipeline.middleware import DeadLetterMiddleware
    from gateway.pipeline.stages import StageFailed
    from gateway.pipeline.stores import DeadLetters

    core = CoreSettings.from_env(
        {"SFGW_REDIS_URL": own_redis.url, "SFGW_REDIS_PREFIX": redis_prefix}
    )
    settings = BrokerSettings(
        heartbeat_timeout_ms=HEARTBEAT_MS, maintenance_chance=1_000_000, retry_enqueue_s=1
    )
    broker = make_broker(core, settings)
    client = redis.Redis.from_url(own_redis.url)
    letters = DeadLetters(client, core)
    store: Any = _LetterWriteFailsOnce(letters)
    broker.add_middleware(DeadLetterMiddleware(store), before=Retries)
    done = threading.Event()

    def process(payload: dict[str, Any]) -> None:
        done.set()
        raise StageFailed("ERP refused the order: credit hold", 1)

    dramatiq.actor(
        broker=broker, actor_name=PROCESS_NOTIFICATION, queue_name=ORDERS_QUEUE,
        max_retries=0, throws=(StageFailed,),
    )(process)  # fmt: skip
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    xq = QueueKeys(broker.namespace).dead(ORDERS_QUEUE)
    try:
        broker.actors[PROCESS_NOTIFICATION].send({"notification_id": "04l000000000009AAA"})
        assert done.wait(5)
        worker.join()  # nothing else pending: the hooks have run
        assert store.failed
        assert wait_for(lambda: letters.count() + int(client.zcard(xq)) == 1, 3), (
            "the failed message is in neither dead-letter store"
        )
    finally:
        worker.stop(timeout=5000)
        broker.close()
        client.close()
