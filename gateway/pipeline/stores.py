"""The pipeline's own state in Redis: which notifications are done, and the dead letters.

Crash safety comes from the order of the steps, not from transactions across systems:

* A notification is marked done only AFTER its order exists in the ERP and its callback
  job is on the queue. A worker killed between any two steps leaves it not-done, so the
  redelivered message runs again; the ERP's idempotency on the Opportunity Id returns the
  same order instead of creating a second one, and a repeated callback writes the same
  values again. The marker lives ``SFGW_DEDUPE_TTL_S`` (at least 7 days).
* A dead letter's id is derived from (stage, org, notification or record), so the same
  job dead-lettered twice (a crash between writing the letter and acking the message)
  overwrites its own letter instead of adding another, and a job that later succeeds
  (replayed, or redelivered after that crash) removes it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from redis.client import Pipeline as RedisPipeline

from gateway.secrets import redact
from gateway.settings import CoreSettings
from gateway.trail import DeadLettered, Purged, Replayed, Trail, now_ms


class DoneMarkers:
    """(org15, notification id) pairs whose work is complete."""

    def __init__(self, client: redis.Redis, core: CoreSettings, ttl_s: int) -> None:
        self._client = client
        self._core = core
        self._ttl = ttl_s

    def key(self, org15: str, notification_id: str) -> str:
        return self._core.key("pipeline", "done", org15, notification_id)

    def is_done(self, org15: str, notification_id: str) -> bool:
        return bool(self._client.exists(self.key(org15, notification_id)))

    def pipeline(self) -> RedisPipeline:
        """A MULTI/EXEC pipeline on this store's Redis: the end of a job (done marker,
        its dead letter resolved, the throughput count) costs one round trip, not four."""
        return self._client.pipeline(transaction=True)

    def mark_done(
        self,
        org15: str,
        notification_id: str,
        outcome: str,
        *,
        pipe: RedisPipeline | None = None,
    ) -> None:
        """Mark now, or as one command of ``pipe`` (the caller executes it)."""
        (pipe or self._client).set(self.key(org15, notification_id), outcome, ex=self._ttl)


def safe_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The job payload without secrets: the encrypted SessionId is dropped outright (it
    is useless after the session expired and must not outlive the job), and every text
    value passes through :func:`redact`."""
    cleaned = {k: v for k, v in payload.items() if k != "session_id_encrypted"}
    result: dict[str, Any] = json.loads(redact(json.dumps(cleaned, default=str)))
    return result


@dataclass(frozen=True)
class DeadLetter:
    id: str
    when: float
    stage: str
    queue: str
    actor: str
    organization_id: str
    opportunity_id: str
    notification_id: str
    reason: str
    attempts: int
    payload: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> DeadLetter:
        data = json.loads(raw)
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def letter_id(stage: str, organization_id: str, key: str) -> str:
    """Deterministic, short and copy-pasteable: the same job always gets the same id."""
    digest = hashlib.sha256(f"{stage}|{organization_id[:15]}|{key}".encode()).hexdigest()
    return f"{stage[:3]}-{digest[:12]}"


class DeadLetters:
    """Dead letters: a hash id -> JSON plus a sorted set id -> time for listing."""

    def __init__(self, client: redis.Redis, core: CoreSettings, trail: Trail | None = None) -> None:
        self._client = client
        self._hash = core.key("pipeline", "dlq")
        self._index = core.key("pipeline", "dlq", "index")
        #: with a trail, adding, replaying and discarding a letter is on its record's
        #: trail too, in the same MULTI/EXEC
        self._trail = trail

    def add(
        self,
        *,
        stage: str,
        queue: str,
        actor: str,
        organization_id: str,
        opportunity_id: str,
        notification_id: str,
        reason: str,
        attempts: int,
        payload: Mapping[str, Any],
        now: float | None = None,
        pipe: RedisPipeline | None = None,
    ) -> DeadLetter:
        """Store the letter (now, or as commands of ``pipe``, which the caller executes:
        a coalesced batch parks its failures in the round trip that settles it)."""
        key = notification_id if stage == "orders" else opportunity_id or notification_id
        letter = DeadLetter(
            id=letter_id(stage, organization_id, key),
            when=time.time() if now is None else now,
            stage=stage,
            queue=queue,
            actor=actor,
            organization_id=organization_id,
            opportunity_id=opportunity_id,
            notification_id=notification_id,
            reason=redact(reason)[:1000],
            attempts=attempts,
            payload=safe_payload(payload),
        )
        commands = self._client.pipeline(transaction=True) if pipe is None else pipe
        commands.hset(self._hash, letter.id, letter.to_json())
        commands.zadd(self._index, {letter.id: letter.when})
        if self._trail is not None:
            event = DeadLettered(
                int(letter.when * 1000), organization_id[:15], stage=stage, letter=letter.id,
                reason=letter.reason, attempts=attempts,
            )  # fmt: skip
            self._trail.record(commands, [(opportunity_id, event)])
        if pipe is None:
            commands.execute()
        return letter

    def get(self, letter_id_: str) -> DeadLetter | None:
        raw = self._client.hget(self._hash, letter_id_)
        return None if raw is None else DeadLetter.from_json(raw)

    def remove(self, letter_id_: str) -> bool:
        pipe = self._client.pipeline(transaction=True)
        pipe.hdel(self._hash, letter_id_)
        pipe.zrem(self._index, letter_id_)
        removed, _ = pipe.execute()
        return bool(removed)

    def replayed(self, letter: DeadLetter) -> bool:
        """Remove a letter that was just enqueued again (``sfgw dlq replay``, the console)."""
        return self._remove_with(letter, Replayed)

    def discard(self, letters: Iterable[DeadLetter]) -> int:
        """Delete these letters for good (the console's purge of a selection)."""
        return sum(self._remove_with(letter, Purged) for letter in letters)

    def _remove_with(self, letter: DeadLetter, kind: type[Replayed | Purged]) -> bool:
        """Remove ``letter`` only while its id still holds that letter: ids repeat (the
        same job failing again gets the same id), and a replayed job that fails again
        before this removal has written a NEWER letter under the id, which must stay.
        Optimistic (WATCH): a write to the store in between makes it look again."""
        while True:
            with self._client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(self._hash)  # type: ignore[no-untyped-call]
                    raw = pipe.hget(self._hash, letter.id)
                    if raw is None or DeadLetter.from_json(raw) != letter:
                        return False
                    pipe.multi()
                    pipe.hdel(self._hash, letter.id)
                    pipe.zrem(self._index, letter.id)
                    if self._trail is not None:
                        org = letter.organization_id[:15]
                        event = kind(now_ms(), org, stage=letter.stage, letter=letter.id)
                        self._trail.record(pipe, [(letter.opportunity_id, event)])
                    return bool(pipe.execute()[0])
                except redis.WatchError:
                    continue

    def resolve(
        self, stage: str, organization_id: str, key: str, *, pipe: RedisPipeline | None = None
    ) -> None:
        """The job succeeded after all: drop its letter if there is one (now, or as
        commands of ``pipe``, which the caller executes)."""
        if pipe is None:
            self.remove(letter_id(stage, organization_id, key))
            return
        self.resolve_many(stage, [(organization_id, key)], pipe=pipe)

    def resolve_many(self, stage: str, jobs: list[tuple[str, str]], *, pipe: RedisPipeline) -> None:
        """:meth:`resolve` for many (organization id, key) pairs as two commands of
        ``pipe`` (a coalesced batch settles up to 200 records at once)."""
        if not jobs:
            return
        ids = [letter_id(stage, organization_id, key) for organization_id, key in jobs]
        pipe.hdel(self._hash, *ids)
        pipe.zrem(self._index, *ids)

    def count(self) -> int:
        return int(self._client.zcard(self._index))

    def iter(
        self, *, stage: str | None = None, since: float | None = None, batch: int = 500
    ) -> Iterator[DeadLetter]:
        """Oldest first."""
        low: float | str = "-inf" if since is None else since
        offset = 0
        while True:
            found: Any = self._client.zrangebyscore(
                self._index, low, "+inf", start=offset, num=batch
            )
            ids: list[bytes] = list(found)
            if not ids:
                return
            offset += len(ids)
            for raw in self._client.hmget(self._hash, ids):
                if raw is None:
                    continue
                letter = DeadLetter.from_json(raw)
                if stage is None or letter.stage == stage:
                    yield letter

    def purge(self) -> int:
        pipe = self._client.pipeline(transaction=True)
        pipe.zcard(self._index)
        pipe.delete(self._hash, self._index)
        count, _ = pipe.execute()
        return int(count)


class Throughput:
    """Completed jobs per stage and minute, kept two hours, for ``sfgw status``.

    Prometheus has the precise numbers; this is what a person at a terminal needs
    without a Prometheus server.
    """

    RETENTION_S = 7200

    def __init__(self, client: redis.Redis, core: CoreSettings) -> None:
        self._client = client
        self._core = core

    def _key(self, stage: str, minute: int) -> str:
        return self._core.key("pipeline", "throughput", stage, str(minute))

    def record(
        self,
        stage: str,
        now: float | None = None,
        *,
        count: int = 1,
        pipe: RedisPipeline | None = None,
    ) -> None:
        """Count ``count`` completed jobs now, or as commands of ``pipe`` (the caller
        executes it)."""
        minute = int((time.time() if now is None else now) // 60)
        key = self._key(stage, minute)
        own = pipe is None
        target = self._client.pipeline(transaction=False) if pipe is None else pipe
        target.incrby(key, count)
        target.expire(key, self.RETENTION_S)
        if own:
            target.execute()

    def series(self, stage: str, minutes: int, now: float | None = None) -> list[int]:
        """Jobs completed per minute, the last ``minutes`` whole minutes then the current
        one (oldest first): the console's throughput chart."""
        current = int((time.time() if now is None else now) // 60)
        keys = [self._key(stage, current - i) for i in range(minutes, -1, -1)]
        return [int(v) if v is not None else 0 for v in self._client.mget(keys)]

    def recent(self, stage: str, minutes: int, now: float | None = None) -> int:
        """Jobs completed in the last ``minutes`` whole minutes plus the current one."""
        current = int((time.time() if now is None else now) // 60)
        keys = [self._key(stage, current - i) for i in range(minutes + 1)]
        return sum(int(v) for v in self._client.mget(keys) if v is not None)
