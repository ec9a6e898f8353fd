"""Dramatiq on Redis: the one module that knows how Dramatiq's Redis broker keeps its data.

Written against Dramatiq 2.x (checked with 2.2.1; ``tests/test_architecture.py`` fails on
an installed version outside :data:`SUPPORTED_DRAMATIQ`). Everything below is
Dramatiq's private layout, so an upgrade that changes it is fixed here and nowhere else;
a test fails when another module spells one of these keys.

Keys under ``<SFGW_REDIS_PREFIX>:dramatiq`` (the broker's namespace)::

    <q>                        LIST  ids ready to be fetched
    <q>.msgs                   HASH  id -> encoded message (ready and in flight)
    <q>.DQ / <q>.DQ.msgs       the same for delayed messages (retries waiting for their eta)
    <q>.XQ / <q>.XQ.msgs       Dramatiq's own dead letters (ZSET by time / HASH)
    __acks__.<broker id>.<q>   SET   ids a worker fetched and has not acked (in flight)
    __heartbeats__             ZSET  broker id -> last heartbeat (ms)

A message is the JSON of ``dramatiq.Message.asdict()``; its ``options.redis_message_id``
is the field it is stored under. sfgw writes such messages itself in two places -- the
gateway's intake and the reconciliation sweep -- with :class:`QueueWriter`: one Lua script
sets a dedupe marker per message (``SET NX EX``) and enqueues only the messages whose
marker was new, exactly as ``dispatch.lua`` enqueues (``HSET`` the bodies, ``RPUSH`` the
ids), atomically. Redis replies only after the script ran (with ``appendfsync always``,
after it reached the disk), so a caller acks only what Redis acknowledged -- and, with a
``ReplicaQuorum``, only what that many replicas confirmed (``WAIT``, see the script).

Three things differ from Dramatiq's defaults in :func:`make_broker`, all about not losing a
message:

* **Fast recovery after SIGKILL.** A 15 s heartbeat timeout and a 10 % maintenance chance
  (Dramatiq: 60 s and 0.1 %) bring a dead worker's messages back in seconds.
* **No messages stranded by a Redis outage.** After a lost connection a consumer drops
  the delayed messages it held in memory, expecting the broker to hand them back; Redis
  keeps them in this worker's ack set, which is never requeued while the worker
  heartbeats. :class:`_AbandoningConsumer` gives the process a new broker identity, so
  the old one expires and maintenance requeues what it held (possibly twice: the
  pipeline is idempotent); so does a failover (the new master may lack our last acks).
* **A retry is not lost when Redis is briefly away.** :class:`~gateway.retries.DurableRetries`
  waits for Redis to take a retry (``SFGW_BROKER_RETRY_ENQUEUE_S``) and otherwise fails
  the message, so it becomes a dead letter with its reason instead of vanishing.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.errors import BrokerConnectionError
from dramatiq.middleware import Retries

from gateway.config import Env, env_float, env_int
from gateway.redis_connection import ReplicaQuorum, call_and_wait, connect
from gateway.redis_failover import master_epoch, on_new_master
from gateway.retries import CONNECTION_ERRORS, DurableRetries
from gateway.settings import CoreSettings
from gateway.trail import ENQUEUE_TRAIL_LUA, TrailAppend
from gateway.uuids import new_message_ids

log = logging.getLogger("sfgw.broker")

#: The Dramatiq releases this module's layout was checked against: (major, minor) bounds.
SUPPORTED_DRAMATIQ = ((2, 0), (2, 2))

ORDERS_QUEUE = "orders"
CALLBACKS_QUEUE = "callbacks"
PROCESS_NOTIFICATION = "process_notification"
SEND_CALLBACK = "send_callback"


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


# -- the broker ------------------------------------------------------------------------


class _AbandoningConsumer(_RedisConsumer):
    """A Redis consumer that starts a new broker identity when its connection breaks."""

    def __next__(self) -> Any:
        try:
            message = super().__next__()  # type: ignore[no-untyped-call]
            if message is not None:
                message.sfgw_epoch = master_epoch()
            return message
        except BrokerConnectionError:
            self.broker.abandon_identity()
            raise
        except redis.TimeoutError as error:  # a host that stopped answering: the same
            self.broker.abandon_identity()
            raise BrokerConnectionError(str(error)) from None  # type: ignore[no-untyped-call]
        except Exception:
            # Dramatiq replaces a consumer that raised anything, and the messages it had
            # fetched (in this identity's ack set) would wait for an ack that never comes.
            self.broker.abandon_identity()
            raise

    def ack(self, message: Any) -> None:
        if self._from_another_master(message):
            return
        try:
            super().ack(message)  # type: ignore[no-untyped-call]
        except CONNECTION_ERRORS:
            self.broker.abandon_identity()
            raise

    def nack(self, message: Any) -> None:
        if self._from_another_master(message):
            return
        try:
            super().nack(message)  # type: ignore[no-untyped-call]
        except CONNECTION_ERRORS:
            self.broker.abandon_identity()
            raise

    def _from_another_master(self, message: Any) -> bool:
        """Fetched before a failover: what followed it (a retry's enqueue) may be lost
        with the old master, so it is not acked; it comes back when its identity expires.
        (It no longer counts against the prefetch either, as an ack would do.)"""
        if getattr(message, "sfgw_epoch", master_epoch()) == master_epoch():
            return False
        self.queued_message_ids.discard(message.message_id)
        return True


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

    def drop_dead_copy(self, message: dramatiq.broker.MessageProxy) -> None:
        """Remove a failed message from Dramatiq's own dead letters (``<q>.XQ``): sfgw
        keeps its own, with the reason, and that store is the one place to look."""
        message_id = message.options.get("redis_message_id")
        if message_id is None:
            return
        keys = QueueKeys(self.namespace)
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(keys.dead(message.queue_name), message_id)
        pipe.hdel(keys.dead_messages(message.queue_name), message_id)
        pipe.execute()


def attempt_of(message: dramatiq.Message[Any] | dramatiq.broker.MessageProxy | None) -> int:
    """How many times the message was retried so far (0 on its first run)."""
    return 0 if message is None else int(message.options.get("retries", 0))


def broker_namespace(core: CoreSettings) -> str:
    return core.key("dramatiq")


def make_broker(core: CoreSettings, settings: BrokerSettings) -> RedisBroker:
    middleware = [
        DurableRetries(retry_enqueue_s=settings.retry_enqueue_s) if isinstance(m, Retries) else m
        for m in (factory() for factory in dramatiq.middleware.default_middleware)
    ]
    # A third of the heartbeat timeout (<= 5 s) a call: a worker cut off gives up its identity
    # before the others presume it dead. No retries: a fetch sent twice strands messages.
    timeout = min(5.0, settings.heartbeat_timeout_ms / 3000)
    client = connect(core.require_redis(), timeout_s=timeout, retries=0, client_name="sfgw-broker")
    broker: SfgwRedisBroker = SfgwRedisBroker(  # type: ignore[no-untyped-call]
        client=client,
        namespace=broker_namespace(core),
        heartbeat_timeout=settings.heartbeat_timeout_ms,
        maintenance_chance=settings.maintenance_chance,
        middleware=middleware,
    )
    on_new_master(client, broker.abandon_identity)  # the module doc says why
    return broker


# -- the layout ------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueKeys:
    """The Redis keys of one broker namespace (see the module doc)."""

    namespace: str

    @classmethod
    def of(cls, core: CoreSettings) -> QueueKeys:
        return cls(broker_namespace(core))

    def ready(self, queue: str) -> str:
        return f"{self.namespace}:{queue}"

    def messages(self, queue: str) -> str:
        return f"{self.namespace}:{queue}.msgs"

    def delayed_messages(self, queue: str) -> str:
        return f"{self.namespace}:{queue}.DQ.msgs"

    def dead(self, queue: str) -> str:
        return f"{self.namespace}:{queue}.XQ"

    def dead_messages(self, queue: str) -> str:
        return f"{self.namespace}:{queue}.XQ.msgs"

    def in_flight_pattern(self, queue: str) -> str:
        return f"{self.namespace}:__acks__.*.{queue}"

    def in_flight(self, broker_id: str, queue: str) -> str:
        """The messages of ``queue`` that the broker ``broker_id`` holds unacked."""
        return f"{self.namespace}:__acks__.{broker_id}.{queue}"

    @property
    def heartbeats(self) -> str:
        return f"{self.namespace}:__heartbeats__"

    def all_message_hashes(self, queues: Sequence[str]) -> list[str]:
        """Where every message of ``queues`` that is not dead is stored."""
        return [key for q in queues for key in (self.messages(q), self.delayed_messages(q))]


_QUEUE_WRITES = """
-- KEYS: n dedupe markers, the queue list, the queue's message hash[, n trail lists].
-- ARGV: the marker TTL, n, whether a WAIT follows ("1" or "0"), n pairs (message id,
-- encoded Dramatiq message)[, the trail's].
local ttl = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local touch = ARGV[3] == "1"
local added = {}
local fields = {}
local ids = {}
for i = 1, n do
    local message_id = ARGV[2 * i + 2]
    if redis.call("set", KEYS[i], message_id, "NX", "EX", ttl) then
        fields[#fields + 1] = message_id
        fields[#fields + 1] = ARGV[2 * i + 3]
        ids[#ids + 1] = message_id
        added[i] = 1
    else
        if touch then
            -- Rewrite the marker unchanged: a write, so that the WAIT on this connection
            -- also covers the marker's first write, by whichever connection (one ordered
            -- stream). Without a WAIT it would only cost an fsync.
            redis.call("set", KEYS[i], redis.call("get", KEYS[i]), "KEEPTTL")
        end
        added[i] = 0
    end
end
if #ids > 0 then
    redis.call("hset", KEYS[n + 2], unpack(fields))
    redis.call("rpush", KEYS[n + 1], unpack(ids))
end
"""
_ENQUEUE = _QUEUE_WRITES + ENQUEUE_TRAIL_LUA + "return added\n"


class QueueWriter:
    """Atomic dedupe-and-enqueue of messages straight into a queue (module doc)."""

    def __init__(self, client: redis.Redis, core: CoreSettings) -> None:
        self._client = client
        self._keys = QueueKeys.of(core)
        self._script = client.register_script(_ENQUEUE)

    def enqueue(
        self, queue: str, markers: Sequence[str], messages: Sequence[bytes], ids: Sequence[str],
        marker_ttl_s: int, *, quorum: ReplicaQuorum | None = None,
        trail: TrailAppend | None = None,
    ) -> list[bool]:  # fmt: skip
        """Message ``i`` (stored under ``ids[i]``) is enqueued only if ``markers[i]`` was
        not set yet; returns which ones were. Raises ``redis.RedisError``; with ``quorum``
        also ``NotReplicated`` when too few replicas confirmed the write in time.
        ``trail``: events appended in the same script, best effort (:mod:`gateway.trail`)."""
        keys = [*markers, self._keys.ready(queue), self._keys.messages(queue)]
        args: list[str | bytes | int] = [marker_ttl_s, len(markers), int(quorum is not None)]
        for message_id, data in zip(ids, messages, strict=True):
            args += (message_id, data)
        if trail is not None:
            keys, args = keys + list(trail.keys), args + trail.script_args()
        if quorum is None:
            flags = self._script(keys=keys, args=args, client=self._client)
        else:
            flags = call_and_wait(self._client, self._script, keys, args, quorum)
        return [bool(int(flag)) for flag in flags]

    def load(self) -> None:
        """Load the script now, not on the first enqueue."""
        self._client.script_load(_ENQUEUE)


def message_for(
    queue: str, actor: str, payload: dict[str, Any], redis_message_id: str | None = None
) -> dramatiq.Message[Any]:
    """A Dramatiq message carrying one job (``payload``) for ``actor`` on ``queue``;
    with ``redis_message_id`` it can be written by :class:`QueueWriter`."""
    options = {} if redis_message_id is None else {"redis_message_id": redis_message_id}
    return dramatiq.Message(
        queue_name=queue,
        actor_name=actor,
        args=(payload,),
        kwargs={},
        options=options,
        message_id=str(uuid.uuid4()),
        message_timestamp=int(time.time() * 1000),
    )


#: ``json.dumps(value, separators=(",", ":"))``: what ``dramatiq.JSONEncoder`` applies to a
#: whole message, so fragments encoded with it concatenate to the same bytes.
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def encode_messages(
    queue: str, actor: str, payloads: Sequence[dict[str, Any]], redis_message_ids: Sequence[str]
) -> list[bytes]:
    """``message_for(queue, actor, payload, id).encode()`` for many payloads at once, byte
    for byte (tested), for the gateway's hot path.

    The keys common to every message are encoded once and only each payload is encoded
    per message (~3x less CPU than a ``Message`` and a deep copy each: 4 ms per
    100-notification message). The timestamp is taken once (they are enqueued in the
    same instant). A non-JSON Dramatiq encoder gets the generic path.
    """
    encoder = dramatiq.get_encoder()
    message_ids = new_message_ids(len(payloads))
    timestamp = int(time.time() * 1000)
    if type(encoder) is not dramatiq.JSONEncoder:
        return [
            encoder.encode(
                {**message_for(queue, actor, p, rid).asdict(), "message_id": mid,
                 "message_timestamp": timestamp}
            )
            for p, rid, mid in zip(payloads, redis_message_ids, message_ids, strict=True)
        ]  # fmt: skip
    head = f'{{"queue_name":{_dumps(queue)},"actor_name":{_dumps(actor)},"args":['
    middle = '],"kwargs":{},"options":{"redis_message_id":'
    tail = f',"message_timestamp":{timestamp}}}'
    return [
        f'{head}{_dumps(p)}{middle}{_dumps(rid)}}},"message_id":{_dumps(mid)}{tail}'.encode()
        for p, rid, mid in zip(payloads, redis_message_ids, message_ids, strict=True)
    ]


# -- reading, for status and tests -----------------------------------------------------


@dataclass(frozen=True)
class QueueCounts:
    ready: int
    in_flight: int
    delayed: int
    #: first-enqueue time (ms) of the oldest message, ready, in flight or delayed
    oldest_ms: int | None


class QueueReader:
    """Read-only views of a broker namespace (no script, no write)."""

    #: message bodies inspected per hash for the oldest message
    SCAN_LIMIT = 50_000

    def __init__(self, client: redis.Redis, core: CoreSettings) -> None:
        self._client = client
        self._keys = QueueKeys.of(core)

    def counts(self, queue: str) -> QueueCounts:
        keys = self._keys
        in_flight = sum(
            int(self._client.scard(key))
            for key in self._client.scan_iter(match=keys.in_flight_pattern(queue), count=500)
        )
        stamps = [
            stamp
            for stamp in (
                self._oldest_ms(keys.messages(queue)),
                self._oldest_ms(keys.delayed_messages(queue)),
            )
            if stamp is not None
        ]
        return QueueCounts(
            ready=int(self._client.llen(keys.ready(queue))),
            in_flight=in_flight,
            delayed=int(self._client.hlen(keys.delayed_messages(queue))),
            oldest_ms=min(stamps) if stamps else None,
        )

    def _oldest_ms(self, key: str) -> int | None:
        oldest: int | None = None
        for seen, (_, raw) in enumerate(self._client.hscan_iter(key, count=1000), start=1):
            try:
                stamp = dramatiq.Message.decode(raw).message_timestamp
            except Exception:  # noqa: S112 - a foreign body must not break the status
                continue
            oldest = stamp if oldest is None else min(oldest, stamp)
            if seen >= self.SCAN_LIMIT:
                break
        return oldest

    def live_brokers(self, since_ms: int) -> set[bytes]:
        """Broker identities (one per worker process) that heartbeat since ``since_ms``."""
        found: list[bytes] = self._client.zrangebyscore(  # type: ignore[assignment]
            self._keys.heartbeats, since_ms, "+inf"
        )
        return set(found)

    def queued(self, queue: str) -> list[dramatiq.Message[Any]]:
        """The messages waiting in ``queue`` (ready, not delayed), oldest first."""
        ids = self._client.lrange(self._keys.ready(queue), 0, -1)
        if not ids:
            return []
        found = self._client.hmget(self._keys.messages(queue), ids)
        return [dramatiq.Message.decode(data) for data in found if isinstance(data, bytes)]

    def stored(self, queues: Sequence[str]) -> list[dramatiq.Message[Any]]:
        """Every message of ``queues`` in Redis now, ready, in flight or delayed, read in
        one MULTI/EXEC so that a message moving between them is seen once."""
        pipe = self._client.pipeline(transaction=True)
        for key in self._keys.all_message_hashes(queues):
            pipe.hvals(key)
        bodies = [body for values in pipe.execute() for body in values]
        return [dramatiq.Message.decode(body) for body in bodies]
