"""The Dramatiq Redis broker, configured the one way every sfgw process uses it.

Three things differ from Dramatiq's defaults, all about not losing a message:

* **Fast recovery after SIGKILL.** Dramatiq recovers a dead worker's messages only after a
  60 s heartbeat timeout plus a maintenance run that happens on 0.1 % of broker calls, i.e.
  minutes. We use a 15 s heartbeat timeout and a 10 % maintenance chance, so it takes
  seconds (libraries.md section 4.2).
* **No messages stranded by a Redis outage.** When a consumer loses its Redis connection,
  Dramatiq drops the delayed messages it held in memory (``_ConsumerThread`` resets its
  delay queue) and may lose acks it had not yet flushed, expecting the broker to hand them
  back. Redis does not: they stay in this worker's "acks" set, and because the worker is
  alive and keeps heartbeating, maintenance never requeues them. Our consumer therefore
  gives the process a new broker identity after a connection error; the old identity stops
  heartbeating, so maintenance (in any worker) requeues everything it held. Messages still
  being processed then run twice, which the pipeline tolerates (at-least-once delivery,
  idempotent stages).
* **A retry is not lost when Redis is briefly away.** Dramatiq's ``Retries`` enqueues the
  retry copy and then the original is acked; if that enqueue fails, ``emit_after`` only
  logs it and the original is acked anyway. :class:`DurableRetries` waits for Redis to come
  back (up to ``SFGW_BROKER_RETRY_ENQUEUE_S``) and otherwise fails the message, so it ends as
  a dead letter with its reason instead of vanishing.

Keys live under ``<SFGW_REDIS_PREFIX>:dramatiq``. ``tests/pipeline/test_broker_outage.py``
proves both outage fixes with a Redis it kills and restarts (each test fails when its fix
is reverted).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.errors import BrokerConnectionError
from dramatiq.middleware import Retries

from gateway.config import Env, env_float, env_int
from gateway.settings import CoreSettings

log = logging.getLogger("sfgw.broker")

_CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError, BrokerConnectionError)


@dataclass(frozen=True)
class BrokerSettings:
    heartbeat_timeout_ms: int
    maintenance_chance: int
    retry_enqueue_s: float

    @classmethod
    def from_env(cls, env: Env | None = None) -> BrokerSettings:
        env = os.environ if env is None else env
        return cls(
            heartbeat_timeout_ms=env_int(
                env, "SFGW_BROKER_HEARTBEAT_TIMEOUT_MS", 15_000, minimum=2_000
            ),
            maintenance_chance=env_int(
                env, "SFGW_BROKER_MAINTENANCE_CHANCE", 100_000, minimum=1, maximum=1_000_000
            ),
            retry_enqueue_s=env_float(
                env, "SFGW_BROKER_RETRY_ENQUEUE_S", 60.0, minimum=0.0, maximum=3600.0
            ),
        )


class _AbandoningConsumer(_RedisConsumer):
    """A Redis consumer that starts a new broker identity when its connection breaks."""

    def __next__(self) -> Any:
        try:
            return super().__next__()  # type: ignore[no-untyped-call]
        except BrokerConnectionError:
            self.broker.abandon_identity()
            raise

    def ack(self, message: Any) -> None:
        try:
            super().ack(message)  # type: ignore[no-untyped-call]
        except _CONNECTION_ERRORS:
            self.broker.abandon_identity()
            raise

    def nack(self, message: Any) -> None:
        try:
            super().nack(message)  # type: ignore[no-untyped-call]
        except _CONNECTION_ERRORS:
            self.broker.abandon_identity()
            raise


class SfgwRedisBroker(RedisBroker):
    """RedisBroker whose consumers hand their messages back after a lost connection."""

    _identity_lock = threading.Lock()

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return _AbandoningConsumer

    def abandon_identity(self) -> None:
        with self._identity_lock:
            old = self.broker_id
            self.broker_id = str(uuid.uuid4())
        log.warning(
            "lost the Redis connection: messages held by broker %s will be redelivered "
            "once its heartbeat expires",
            old,
        )


class DurableRetries(Retries):
    """Retries that does not let a failed retry-enqueue turn into a silent ack."""

    def __init__(self, *, retry_enqueue_s: float, **options: Any) -> None:
        super().__init__(**options)
        self.retry_enqueue_s = retry_enqueue_s

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        deadline = time.monotonic() + self.retry_enqueue_s
        retries_before = message.options.get("retries")
        while True:
            try:
                super().after_process_message(broker, message, result=result, exception=exception)  # type: ignore[no-untyped-call]
                return
            except _CONNECTION_ERRORS as error:
                # super() counted this attempt before its enqueue failed; count it once.
                if retries_before is None:
                    message.options.pop("retries", None)
                else:
                    message.options["retries"] = retries_before
                if time.monotonic() >= deadline:
                    log.error(
                        "could not enqueue the retry of message %s (%s); failing it so it "
                        "is dead-lettered rather than lost",
                        message.message_id,
                        type(error).__name__,
                    )
                    message.fail()
                    return
                time.sleep(0.5)


def broker_namespace(core: CoreSettings) -> str:
    return core.key("dramatiq")


def make_broker(core: CoreSettings, settings: BrokerSettings | None = None) -> RedisBroker:
    settings = settings or BrokerSettings.from_env()
    middleware = [
        DurableRetries(retry_enqueue_s=settings.retry_enqueue_s) if isinstance(m, Retries) else m
        for m in (factory() for factory in dramatiq.middleware.default_middleware)
    ]
    broker: RedisBroker = SfgwRedisBroker(  # type: ignore[no-untyped-call]
        url=core.require_redis_url(),
        namespace=broker_namespace(core),
        heartbeat_timeout=settings.heartbeat_timeout_ms,
        maintenance_chance=settings.maintenance_chance,
        middleware=middleware,
    )
    return broker
