"""What ``sfgw status`` reports, read straight from Dramatiq's Redis structures.

Keys (namespace ``<prefix>:dramatiq``): ``<q>`` ready ids, ``<q>.msgs`` their bodies
(ready and in flight), ``<q>.DQ``/``<q>.DQ.msgs`` delayed (retries waiting for their
eta), ``__acks__.<worker>.<q>`` ids a worker fetched and has not acked (in flight).
The oldest message age counts from the message's first enqueue, which is what matters
against Salesforce's 24-hour window: a notification retried for a day is a day old.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import redis
from dramatiq import Message

from gateway.broker import broker_namespace
from gateway.pipeline.settings import CALLBACKS_QUEUE, ORDERS_QUEUE
from gateway.pipeline.stores import DeadLetters, Throughput
from gateway.settings import CoreSettings

QUEUES = (ORDERS_QUEUE, CALLBACKS_QUEUE)
SCAN_LIMIT = 50_000  # bodies inspected per queue for the oldest age


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
class PipelineStatus:
    queues: list[QueueStatus]
    dead_letters: int
    workers_alive: int
    oldest_age_s: float | None
    window_s: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _oldest_timestamp_ms(client: redis.Redis, key: str) -> int | None:
    oldest: int | None = None
    seen = 0
    for _, raw in client.hscan_iter(key, count=1000):
        seen += 1
        try:
            stamp = Message.decode(raw).message_timestamp
        except Exception:  # noqa: S112 - a foreign body must not break the status page
            continue
        if oldest is None or stamp < oldest:
            oldest = stamp
        if seen >= SCAN_LIMIT:
            break
    return oldest


def read_status(
    client: redis.Redis, core: CoreSettings, *, window_s: int, heartbeat_timeout_ms: int
) -> PipelineStatus:
    ns = broker_namespace(core)
    now_ms = int(time.time() * 1000)
    throughput = Throughput(client, core)
    alive = int(client.zcount(f"{ns}:__heartbeats__", now_ms - heartbeat_timeout_ms, "+inf"))
    queues = []
    overall: int | None = None
    for queue in QUEUES:
        ready = int(client.llen(f"{ns}:{queue}"))
        delayed = int(client.hlen(f"{ns}:{queue}.DQ.msgs"))
        in_flight = 0
        for key in client.scan_iter(match=f"{ns}:__acks__.*.{queue}", count=500):
            in_flight += int(client.scard(key))
        stamps = [
            s
            for s in (
                _oldest_timestamp_ms(client, f"{ns}:{queue}.msgs"),
                _oldest_timestamp_ms(client, f"{ns}:{queue}.DQ.msgs"),
            )
            if s is not None
        ]
        oldest = min(stamps) if stamps else None
        if oldest is not None and (overall is None or oldest < overall):
            overall = oldest
        queues.append(
            QueueStatus(
                queue=queue,
                ready=ready,
                in_flight=in_flight,
                delayed=delayed,
                oldest_age_s=None if oldest is None else max(0.0, (now_ms - oldest) / 1000),
                done_last_minute=throughput.recent(queue, 1),
                done_last_15_minutes=throughput.recent(queue, 15),
            )
        )
    return PipelineStatus(
        queues=queues,
        dead_letters=DeadLetters(client, core).count(),
        workers_alive=alive,
        oldest_age_s=None if overall is None else max(0.0, (now_ms - overall) / 1000),
        window_s=window_s,
    )
