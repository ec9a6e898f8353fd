"""The record trail: a short, bounded history per Opportunity, for the operator.

"What happened to Opportunity 006...?" used to take ``sfgw status``, ``sfgw dlq list``,
the logs and Redis by hand. Every stage therefore appends one small event to a Redis
list per record, ``<prefix>:trail:<18-char record id>``: notification received (and
whether it was a duplicate), picked up by a reconcile sweep, ERP order placed (number,
created or already there), order skipped, callback written (mode, result), retried,
dead-lettered, replayed, purged. ``sfgw trail ID`` and the console read it back.

Why this shape:

* **Bounded.** An event is a compact JSON object of at most :data:`MAX_EVENT_BYTES`
  (free text is cut); the list keeps the newest :data:`MAX_EVENTS` (``LTRIM``) and
  expires ``SFGW_TRAIL_TTL_S`` (7 days by default, never less) after its last event.
* **No extra round trip.** Events ride on writes the pipeline makes anyway: the intake's
  and the reconcile sweep's enqueue script (:class:`TrailAppend`, inside
  :class:`gateway.broker.QueueWriter`'s Lua), the order stage's and the callbacks'
  settle ``MULTI/EXEC``, the dead-letter store's writes (:meth:`Trail.record` adds one
  ``EVAL`` to the caller's pipeline). Only retries of a Dramatiq message, which make no
  write of ours, cost a write of their own (:meth:`Trail.record_now`).
* **Best effort, never a condition.** Every trail write runs through ``redis.pcall``
  after the writes that matter, so a failing trail write (a foreign key of another type,
  a bug in an event) can neither prevent, undo nor fail an enqueue, an ack, a done
  marker or a dead letter. The trail is an observation, not state anything decides on;
  docs/console.md says why it is not made part of the atomic enqueue's outcome.

Functional core: the event dataclasses, :func:`encode` and :func:`decode`,
:func:`describe`; no socket is needed to test them.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import redis
from redis.client import Pipeline as RedisPipeline

from gateway import sfid
from gateway.config import ConfigError, Env, env_choice, env_int
from gateway.settings import CoreSettings

log = logging.getLogger("sfgw.trail")

DAY_S = 24 * 3600
#: Events kept per record: a normal life is 3-4 events; retries and replays add more.
MAX_EVENTS = 50
#: No encoded event is longer (free text is cut to fit).
MAX_EVENT_BYTES = 400
#: Free text (reasons, details) is cut to this many characters first.
MAX_TEXT = 200

#: Append events to lists, best effort: every write is a ``pcall`` (an error is a value,
#: never a failed script or transaction), the list is trimmed to its cap and its expiry
#: renewed. KEYS: the lists; ARGV: TTL, cap, then one event per key.
APPEND_LUA = """
local ttl, cap = tonumber(ARGV[1]), tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
    local length = redis.pcall("rpush", key, ARGV[i + 2])
    if type(length) == "number" then
        if length > cap then redis.pcall("ltrim", key, -cap, -1) end
        redis.pcall("expire", key, ttl)
    end
end
return 0
"""

#: The same, as the tail of :mod:`gateway.broker`'s enqueue script, which has set ``n``
#: (messages) and ``added[i]`` (1: enqueued, 0: duplicate) by then. KEYS after the queue's
#: two: one list per message; ARGV after the messages: TTL, cap, then per message the
#: event if enqueued and the event if a duplicate ("" appends nothing). It runs after the
#: queue writes and only through pcall: it cannot undo or fail the enqueue.
ENQUEUE_TRAIL_LUA = """
if #KEYS > n + 2 then
    local base = 2 * n + 3
    local trail_ttl, cap = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
    for i = 1, n do
        local event = ARGV[base + 1 + 2 * i + (1 - added[i])]
        if event ~= "" then
            local key = KEYS[n + 2 + i]
            local length = redis.pcall("rpush", key, event)
            if type(length) == "number" then
                if length > cap then redis.pcall("ltrim", key, -cap, -1) end
                redis.pcall("expire", key, trail_ttl)
            end
        end
    end
end
"""


@dataclass(frozen=True)
class TrailSettings:
    """``SFGW_TRAIL`` (``on``/``off``) and ``SFGW_TRAIL_TTL_S``."""

    enabled: bool = True
    ttl_s: int = 7 * DAY_S

    @classmethod
    def from_env(cls, env: Env | None = None) -> TrailSettings:
        env = os.environ if env is None else env
        return cls(
            enabled=env_choice(env, "SFGW_TRAIL", "on", ("on", "off")) == "on",
            ttl_s=env_int(env, "SFGW_TRAIL_TTL_S", 7 * DAY_S, minimum=7 * DAY_S,
                          maximum=90 * DAY_S),
        )  # fmt: skip


# -- the events ----------------------------------------------------------------------


@dataclass(frozen=True)
class TrailEvent:
    """One step in a record's life. ``at``: epoch milliseconds; ``org``: 15 characters."""

    KIND: ClassVar[str] = ""
    at: int
    org: str

    def describe(self) -> str:
        return self.KIND


@dataclass(frozen=True)
class Received(TrailEvent):
    """The gateway accepted a notification; a duplicate was acked and not queued again."""

    KIND: ClassVar[str] = "received"
    notification: str = ""
    duplicate: bool = False
    queue: str = ""

    def describe(self) -> str:
        if self.duplicate:
            return f"notification {self.notification} received again (duplicate, not queued)"
        return f"notification {self.notification} received, queued on {self.queue}"


@dataclass(frozen=True)
class Reconciled(TrailEvent):
    """A reconcile sweep found the record without an order number and queued it (or
    found it queued by an earlier sweep)."""

    KIND: ClassVar[str] = "reconcile"
    notification: str = ""
    queued: bool = True

    def describe(self) -> str:
        state = "queued" if self.queued else "already queued by an earlier sweep"
        return f"reconcile sweep picked it up ({state})"


@dataclass(frozen=True)
class OrderPlaced(TrailEvent):
    KIND: ClassVar[str] = "order"
    notification: str = ""
    order_number: str = ""
    created: bool = True

    def describe(self) -> str:
        how = "created" if self.created else "already existed, same order returned"
        return f"ERP order {self.order_number} {how}"


@dataclass(frozen=True)
class OrderSkipped(TrailEvent):
    KIND: ClassVar[str] = "skipped"
    notification: str = ""
    reason: str = ""

    def describe(self) -> str:
        return f"no order placed: {self.reason}"


@dataclass(frozen=True)
class CallbackWritten(TrailEvent):
    """Salesforce answered a callback for the record: ``result`` is ``saved`` or ``retry``
    (a refusal for good is a :class:`DeadLettered`)."""

    KIND: ClassVar[str] = "callback"
    mode: str = ""
    result: str = "saved"
    order_number: str = ""
    batch: int = 1
    reason: str = ""

    def describe(self) -> str:
        batch = f", batch of {self.batch}" if self.batch > 1 else ""
        if self.result == "saved":
            return f"Salesforce updated with {self.order_number} ({self.mode}{batch})"
        return f"callback ({self.mode}{batch}) {self.result}: {self.reason}"


@dataclass(frozen=True)
class Retried(TrailEvent):
    KIND: ClassVar[str] = "retry"
    stage: str = ""
    attempt: int = 0
    reason: str = ""
    delay_ms: int = 0

    def describe(self) -> str:
        return (
            f"{self.stage} attempt {self.attempt} failed, retry in "
            f"{self.delay_ms / 1000:.1f} s: {self.reason}"
        )


@dataclass(frozen=True)
class DeadLettered(TrailEvent):
    KIND: ClassVar[str] = "dead_letter"
    stage: str = ""
    letter: str = ""
    reason: str = ""
    attempts: int = 0

    def describe(self) -> str:
        return f"dead letter {self.letter} ({self.stage}, {self.attempts} attempts): {self.reason}"


@dataclass(frozen=True)
class Replayed(TrailEvent):
    KIND: ClassVar[str] = "replay"
    stage: str = ""
    letter: str = ""

    def describe(self) -> str:
        return f"dead letter {self.letter} replayed into {self.stage}"


@dataclass(frozen=True)
class Purged(TrailEvent):
    KIND: ClassVar[str] = "purged"
    stage: str = ""
    letter: str = ""

    def describe(self) -> str:
        return f"dead letter {self.letter} ({self.stage}) purged"


EVENT_TYPES: dict[str, type[TrailEvent]] = {
    cls.KIND: cls
    for cls in (Received, Reconciled, OrderPlaced, OrderSkipped, CallbackWritten, Retried,
                DeadLettered, Replayed, Purged)
}  # fmt: skip

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode(event: TrailEvent) -> str:
    """Compact JSON; fields at their default are left out, free text is cut so that the
    whole event stays under :data:`MAX_EVENT_BYTES`."""
    doc: dict[str, Any] = {"k": event.KIND, "t": event.at, "o": event.org[:15]}
    for spec in fields(event):
        if spec.name in ("at", "org"):
            continue
        value = getattr(event, spec.name)
        if value == spec.default:
            continue
        if isinstance(value, str):
            value = value[:MAX_TEXT]
        doc[spec.name] = value
    text = _dumps(doc)
    while len(text.encode()) > MAX_EVENT_BYTES:
        longest = max((k for k, v in doc.items() if isinstance(v, str)), key=lambda k: len(doc[k]))
        doc[longest] = doc[longest][: len(doc[longest]) // 2]
        text = _dumps(doc)
    return text


def decode(raw: str | bytes) -> TrailEvent | None:
    """The event, or None for anything this version does not know (skipped, not fatal)."""
    try:
        doc = json.loads(raw)
        cls = EVENT_TYPES[doc.pop("k")]
        known = {f.name for f in fields(cls)} - {"at", "org"}
        extra = {k: v for k, v in doc.items() if k in known}
        return cls(at=int(doc["t"]), org=str(doc["o"]), **extra)
    except (ValueError, KeyError, TypeError):
        return None


def describe(event: TrailEvent) -> str:
    """One line for a person: what happened, with the numbers that matter."""
    return event.describe()


def now_ms() -> int:
    return int(time.time() * 1000)


def record_key(record_id: str) -> str | None:
    """The canonical 18-character id a trail is kept under, or None when ``record_id``
    is not a Salesforce id (a record deleted before delivery has none)."""
    try:
        return sfid.to18(record_id)
    except sfid.InvalidSalesforceId:
        return None


# -- the Redis side ------------------------------------------------------------------


@dataclass(frozen=True)
class TrailAppend:
    """Trail events riding on :meth:`gateway.broker.QueueWriter.enqueue`: per message its
    record's list and the event to append when the message was enqueued or when its
    marker showed it as a duplicate (an empty event appends nothing)."""

    keys: Sequence[str]
    if_new: Sequence[str]
    if_duplicate: Sequence[str]
    ttl_s: int
    cap: int = MAX_EVENTS

    def script_args(self) -> list[str | bytes | int]:
        """The script's arguments after the messages' (:data:`ENQUEUE_TRAIL_LUA`)."""
        args: list[str | bytes | int] = [self.ttl_s, self.cap]
        for if_new, if_duplicate in zip(self.if_new, self.if_duplicate, strict=True):
            args += (if_new, if_duplicate)
        return args


class Trail:
    """Writes and reads the trails under one key prefix."""

    def __init__(self, client: redis.Redis, core: CoreSettings, settings: TrailSettings) -> None:
        if not settings.enabled:
            raise ConfigError("the trail is off (SFGW_TRAIL=off): build no Trail")
        self._client = client
        self._core = core
        self.settings = settings

    def key(self, record18: str) -> str:
        return self._core.key("trail", record18)

    def record(self, pipe: RedisPipeline, events: Iterable[tuple[str, TrailEvent]]) -> None:
        """Append ``(record id, event)`` pairs as one command of ``pipe`` (the caller's
        transaction, which it executes). Ids that are not Salesforce ids are skipped."""
        keys: list[str] = []
        encoded: list[str] = []
        for record_id, event in events:
            record18 = record_key(record_id)
            if record18 is not None:
                keys.append(self.key(record18))
                encoded.append(encode(event))
        if keys:
            pipe.eval(APPEND_LUA, len(keys), *keys, self.settings.ttl_s, MAX_EVENTS, *encoded)

    def record_now(self, events: Iterable[tuple[str, TrailEvent]]) -> None:
        """:meth:`record` in a round trip of its own, for the rare writes that ride on
        nothing (a retry); a failure is logged and dropped."""
        try:
            pipe = self._client.pipeline(transaction=False)
            self.record(pipe, events)
            pipe.execute()
        except redis.RedisError as error:
            log.warning("trail not written (%s)", type(error).__name__)

    def append_for(
        self, record_ids: Sequence[str | None], if_new: Sequence[str], if_duplicate: Sequence[str]
    ) -> TrailAppend:
        """The :class:`TrailAppend` of a batch of messages (a message without a record
        appends nothing)."""
        keys, new, duplicate = [], [], []
        for record_id, a, b in zip(record_ids, if_new, if_duplicate, strict=True):
            record18 = record_key(record_id) if record_id else None
            keys.append(self.key(record18 or "-"))
            new.append(a if record18 else "")
            duplicate.append(b if record18 else "")
        return TrailAppend(keys, new, duplicate, self.settings.ttl_s)

    def received(
        self,
        queue: str,
        notifications: Sequence[tuple[str, str, str | None]],
        at: int | None = None,
    ) -> TrailAppend:
        """The intake's :class:`Received` events for ``(org, notification id, record id)``
        triples: :func:`encode`'s output byte for byte (tested), built from one prefix
        per org because the gateway builds 200 of them per 100-notification message."""
        at = now_ms() if at is None else at
        tail = f',"queue":{_dumps(queue)}}}'
        prefixes: dict[str, str] = {}
        ids, new, duplicate = [], [], []
        for org, notification, record_id in notifications:
            org15 = org[:15]
            prefix = prefixes.get(org15)
            if prefix is None:
                prefix = f'{{"k":"received","t":{at},"o":{_dumps(org15)},"notification":'
                prefixes[org15] = prefix
            head = prefix + _dumps(notification[:MAX_TEXT])
            ids.append(record_id)
            new.append(head + tail)
            duplicate.append(head + ',"duplicate":true' + tail)
        return self.append_for(ids, new, duplicate)

    def read(self, record_id: str, org: str | None = None) -> list[TrailEvent]:
        """A record's events, oldest first (optionally only one org's). Raises
        :class:`gateway.sfid.InvalidSalesforceId` for an id that is not one."""
        raw = self._client.lrange(self.key(sfid.to18(record_id)), 0, -1)
        events = [e for e in map(decode, raw) if e is not None]
        if org:
            events = [e for e in events if e.org == org[:15]]
        return sorted(events, key=lambda e: e.at)


def build_trail(client: redis.Redis, core: CoreSettings, settings: TrailSettings) -> Trail | None:
    """The trail, or None when ``SFGW_TRAIL=off``: every hook takes ``None`` as "write
    nothing" (what ``scripts/bench e2e --trail both`` compares against)."""
    return Trail(client, core, settings) if settings.enabled else None
