"""The gateway's side of the queue: a whole message enqueued in ONE atomic Redis operation.

Why not ``actor.send()`` per notification: that is one round trip per notification and,
worse, the dedupe marker and the message would be two separate writes, so a crash in
between either loses a notification (marker written, message not) or duplicates it.
Instead :class:`gateway.broker.QueueWriter` runs one Lua script per message: a marker
``<prefix>:intake:dedupe:<org15>:<notification18>`` per notification (``SET NX EX``), and
the Dramatiq messages of the new ones only. Either all of a message's writes happen or
none does, and Redis replies only after they did, so the gateway acks only what Redis
acknowledged. A retry after a crash at any point finds the markers and enqueues nothing
twice. A timeout is answered with a fault; if the script did run after all, Salesforce's
retry is deduplicated and acked. The same script appends each notification's
"received" event to its record's trail, after the queue writes and best effort
(:mod:`gateway.trail`): a trail write cannot change what is enqueued or acked.

With ``SFGW_REDIS_MIN_REPLICAS=N`` "Redis acknowledged" means the master *and* N replicas:
the script and ``WAIT N`` share one pipeline, and fewer confirmations in
``SFGW_REDIS_REPLICA_TIMEOUT_MS`` are a fault like any other enqueue failure. That holds
for a redelivery whose markers exist too (see :class:`gateway.broker.QueueWriter`): its
ack also waits until the replicas hold the first delivery's write.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from gateway.broker import QueueWriter, encode_messages
from gateway.jobs import NotificationJob
from gateway.redis_connection import NotReplicated, connect
from gateway.routes import Route
from gateway.settings import CoreSettings
from gateway.trail import TrailSettings, build_trail
from gateway.uuids import new_message_ids


class EnqueueError(RuntimeError):
    """Redis did not acknowledge the writes (down, slow past the deadline, or an error)."""


@dataclass(frozen=True)
class EnqueueResult:
    added: int
    duplicates: int


class DurableQueue:
    """The Redis side of intake: atomic enqueue and a readiness probe, with deadlines."""

    def __init__(
        self,
        core: CoreSettings,
        *,
        timeout_ms: int,
        ready_timeout_ms: int,
        dedupe_ttl_s: int,
        trail: TrailSettings | None = None,
    ) -> None:
        settings = core.require_redis()
        self._core = core
        self._ttl = dedupe_ttl_s
        self._quorum = settings.quorum
        # No client-side retries: the deadline must hold, and Salesforce is the retrier.
        self._client = connect(
            settings, timeout_s=timeout_ms / 1000, retries=0, client_name="sfgw-intake"
        )
        self._probe = connect(
            settings, timeout_s=ready_timeout_ms / 1000, retries=0, client_name="sfgw-ready"
        )
        self._writer = QueueWriter(self._client, core)
        self._trail = build_trail(self._client, core, trail or TrailSettings(enabled=False))

    def dedupe_key(self, job: NotificationJob) -> str:
        org15, notification = job.dedupe_key
        return self._core.key("intake", "dedupe", org15, notification)

    def enqueue(self, jobs: Sequence[NotificationJob], route: Route) -> EnqueueResult:
        ids = new_message_ids(len(jobs))
        messages = encode_messages(route.queue, route.actor, [j.to_dict() for j in jobs], ids)
        trail = None
        if self._trail is not None:
            trail = self._trail.received(
                route.queue, [(j.organization_id, j.notification_id, j.record_id) for j in jobs]
            )
        try:
            flags = self._writer.enqueue(
                route.queue,
                [self.dedupe_key(j) for j in jobs],
                messages,
                ids,
                self._ttl,
                quorum=self._quorum,
                trail=trail,
            )
        except NotReplicated as error:
            raise EnqueueError(f"NotReplicated: {error}") from None
        except redis.RedisError as error:
            raise EnqueueError(type(error).__name__) from None
        added = sum(flags)
        return EnqueueResult(added=added, duplicates=len(jobs) - added)

    def warm_up(self) -> None:
        """Connect and load the script now, not on the first delivery (best effort)."""
        with contextlib.suppress(redis.RedisError):
            self._writer.load()

    def ready(self) -> bool:
        try:
            return bool(self._probe.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self._client.close()
        self._probe.close()
