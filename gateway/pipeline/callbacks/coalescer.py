"""Coalesced callbacks, the Redis side: one Salesforce call for a batch of an org's orders.

In the batch modes (``collections``, ``soap``, ``apex_soap``, ``apex_rest``) the order
stage does not enqueue one callback job per record; it adds the record to its org's
pending set in Redis. Flusher threads in every worker process claim batches and write
each with ONE call, when ``SFGW_CALLBACK_BATCH_SIZE`` records are waiting, when the
oldest waiting one has waited ``SFGW_CALLBACK_MAX_WAIT_MS``, or (with
``SFGW_CALLBACK_IDLE_MS``) when no record has joined for that long.

Redis layout (all under ``<prefix>:cb``)::

    orgs               SET   orgs with pending records
    pending:<org>      ZSET  Opportunity id -> time (ms) it may be sent (now, or a retry's)
    data:<org>         HASH  Opportunity id -> {"job", "attempt", "first_ms"}
    batch:<id>         STRING a claimed batch: {"org", "claimed_ms", "records": [[id, data], ...]}
    leases             ZSET  batch id -> lease expiry (ms)

Crash safety: a claim moves up to a batch of records from ``pending``/``data`` into a batch with
a lease, in one Lua script, so two flushers never claim the same record and the normal
path never sends the same update twice as separate successful calls. After
Salesforce's answer each record is settled on its own (success: done; retryable:
back into ``pending`` at now + backoff; permanent: a dead letter with its own reason)
and the batch is deleted, again in one script. A flusher SIGKILLed between claim and
settle leaves the batch and its lease; when the lease expires any flusher puts the
records back into ``pending`` (a repeat is harmless: the update is idempotent). The
lease (``SFGW_CALLBACK_LEASE_MS``) is longer than a Salesforce call may take, and a
flusher that makes several calls for one batch extends it before each.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import redis

from gateway.broker import CALLBACKS_QUEUE, SEND_CALLBACK
from gateway.pipeline import metrics
from gateway.pipeline.callbacks.job import CallbackJob
from gateway.pipeline.callbacks.settings import CallbackSettings
from gateway.pipeline.policy import Retry, RetryPolicy, decide
from gateway.pipeline.stores import DeadLetters, Throughput
from gateway.salesforce.errors import RecordOutcome
from gateway.settings import CoreSettings
from gateway.trail import CallbackWritten, Trail, TrailEvent

log = logging.getLogger("sfgw.pipeline")


_ADD = """
local pending, data, orgs = KEYS[1], KEYS[2], KEYS[3]
local id, record, now, org = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
redis.call("hset", data, id, record)
local current = redis.call("zscore", pending, id)
if (not current) or tonumber(current) > now then redis.call("zadd", pending, now, id) end
redis.call("sadd", orgs, org)
return redis.call("zcount", pending, "-inf", now)
"""

#: Claim up to `size` due records if the batch is full, the oldest has waited enough, or
#: (with an idle time) no record has become due for that long: the burst is over.
#: Returns JSON: {"batch": [...]} or {"next": ms when to look again or -1}.
_CLAIM = """
local pending, data, leases, batch_key, orgs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, wait, size = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local expiry, batch_id, org, force = tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7] == "1"
local idle = tonumber(ARGV[8])
local function quiet_after(t)
    if idle > 0 and idle < wait then return t + idle end
    return t + wait
end
local due = redis.call("zrangebyscore", pending, "-inf", now, "WITHSCORES", "LIMIT", 0, size)
if #due == 0 then
    local first = redis.call("zrange", pending, 0, 0, "WITHSCORES")
    if #first == 0 then
        redis.call("srem", orgs, org)
        return cjson.encode({next = -1})
    end
    return cjson.encode({next = quiet_after(tonumber(first[2]))})
end
local oldest, newest = tonumber(due[2]), tonumber(due[#due])
local ready = force or #due / 2 >= size or oldest + wait <= now
if (not ready) and idle > 0 and newest + idle <= now then ready = true end
if not ready then
    local at = oldest + wait
    if idle > 0 and newest + idle < at then at = newest + idle end
    return cjson.encode({next = at})
end
local records = {}
for i = 1, #due, 2 do
    local id = due[i]
    local record = redis.call("hget", data, id)
    redis.call("zrem", pending, id)
    redis.call("hdel", data, id)
    if record then table.insert(records, {id, record}) end
end
redis.call("set", batch_key, cjson.encode({org = org, claimed_ms = now, records = records}))
redis.call("zadd", leases, expiry, batch_id)
return cjson.encode({batch = records})
"""

#: Put records back (retries, or a whole expired batch) and drop the batch and its lease.
#: A record that was added again meanwhile keeps its newer data and the earlier time.
_RELEASE = """
local batch_key, leases, pending, data, orgs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local batch_id, org, owned = ARGV[1], ARGV[2], ARGV[4] == "1"
if owned and redis.call("exists", batch_key) == 0 then return 0 end
local back = cjson.decode(ARGV[3])
for _, item in ipairs(back) do
    local id, record, at = item[1], item[2], tonumber(item[3])
    if redis.call("hsetnx", data, id, record) == 1 then
        redis.call("zadd", pending, at, id)
    else
        local current = redis.call("zscore", pending, id)
        if (not current) or tonumber(current) > at then redis.call("zadd", pending, at, id) end
    end
    redis.call("sadd", orgs, org)
end
redis.call("del", batch_key)
redis.call("zrem", leases, batch_id)
return 1
"""


@dataclass(frozen=True)
class Pending:
    """One record waiting in a batch: the callback job, its attempt and first time."""

    job: CallbackJob
    attempt: int
    first_ms: int

    def to_json(self) -> str:
        return json.dumps(
            {"job": self.job.to_dict(), "attempt": self.attempt, "first_ms": self.first_ms},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, raw: str) -> Pending:
        data = json.loads(raw)
        return cls(CallbackJob.from_dict(data["job"]), int(data["attempt"]), int(data["first_ms"]))


@dataclass(frozen=True)
class Settled:
    done: int
    retried: int
    dead: int


class CallbackCoalescer:
    """The Redis side: add, claim, settle, recover; and one flush of one org."""

    def __init__(
        self,
        *,
        client: redis.Redis,
        core: CoreSettings,
        coalesce: CallbackSettings,
        policy: RetryPolicy,
        dead_letters: DeadLetters,
        throughput: Throughput | None = None,
        clock: Callable[[], float] = time.time,
        trail: Trail | None = None,
        mode: str = "",
    ) -> None:
        self._client = client
        self._core = core
        self.settings = coalesce
        self._policy = policy
        self._dead_letters = dead_letters
        self._throughput = throughput
        self._clock = clock
        self._trail = trail  # with ``mode``: what each settled record's trail says
        self._mode = mode
        self._add = client.register_script(_ADD)
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self.orgs_key = core.key("cb", "orgs")
        self.leases_key = core.key("cb", "leases")

    def now_ms(self) -> int:
        """The coalescer's clock (tests give it their own), in ms."""
        return int(self._clock() * 1000)

    def pending_key(self, org: str) -> str:
        return self._core.key("cb", "pending", org)

    def data_key(self, org: str) -> str:
        return self._core.key("cb", "data", org)

    def batch_key(self, batch_id: str) -> str:
        return self._core.key("cb", "batch", batch_id)

    # -- producer side -----------------------------------------------------------------

    def add(self, job: CallbackJob) -> int:
        """Queue one callback (the order stage's hook); returns how many are due."""
        now = self.now_ms()
        record = Pending(job, attempt=0, first_ms=now)
        due = self._add(
            keys=[self.pending_key(job.organization_id), self.data_key(job.organization_id),
                  self.orgs_key],
            args=[job.opportunity_id, record.to_json(), now, job.organization_id],
        )  # fmt: skip
        return int(due)

    # -- flusher side ------------------------------------------------------------------

    def orgs(self) -> list[str]:
        return sorted(m.decode() if isinstance(m, bytes) else str(m)
                      for m in self._client.smembers(self.orgs_key))  # fmt: skip

    def claim(self, org: str, *, force: bool = False) -> tuple[str | None, list[Pending], int]:
        """(batch id, records, next ms to look) -- records empty when nothing is due."""
        now = self.now_ms()
        batch_id = uuid.uuid4().hex
        raw = self._claim(
            keys=[self.pending_key(org), self.data_key(org), self.leases_key,
                  self.batch_key(batch_id), self.orgs_key],
            args=[now, self.settings.max_wait_ms, self.settings.batch_size,
                  now + self.settings.lease_ms, f"{org}|{batch_id}", org, "1" if force else "0",
                  self.settings.idle_ms],
        )  # fmt: skip
        reply = json.loads(raw)
        if "batch" not in reply:
            return None, [], int(reply.get("next", -1))
        records = [Pending.from_json(item[1]) for item in reply["batch"] or []]
        return f"{org}|{batch_id}", records, now

    def extend_lease(self, member: str) -> None:
        """Keep a claimed batch for another lease: its flusher is still working on it
        (an Apex batch narrowed down by halves makes several calls)."""
        self._client.zadd(
            self.leases_key, {member: self.now_ms() + self.settings.lease_ms}, xx=True
        )

    def recover_expired(self) -> int:
        """Put the records of batches whose lease ran out back into their org's set."""
        now = self.now_ms()
        expired = self._client.zrangebyscore(self.leases_key, "-inf", now)
        count = 0
        for raw in expired:
            member = raw.decode() if isinstance(raw, bytes) else str(raw)
            org, _, batch_id = member.partition("|")
            blob = self._client.get(self.batch_key(batch_id))
            records = json.loads(blob)["records"] if blob else []
            back = [[item[0], item[1], now] for item in records]
            # owned: only if the batch is still there (its flusher may have settled it
            # a moment ago, just after the lease ran out); a batch without a blob is
            # dropped from the leases either way
            if not blob:
                self._client.zrem(self.leases_key, member)
                continue
            if self._release_batch(member, org, back, owned=True):
                count += len(back)
                log.warning(
                    json.dumps({"stage": CALLBACKS_QUEUE, "org": org[:15],
                                "outcome": "lease_expired", "records": len(back)})
                )  # fmt: skip
        return count

    def _release_batch(self, member: str, org: str, back: list[list[Any]], *, owned: bool) -> bool:
        batch_id = member.partition("|")[2]
        result = self._release(
            keys=[self.batch_key(batch_id), self.leases_key, self.pending_key(org),
                  self.data_key(org), self.orgs_key],
            args=[member, org, json.dumps(back), "1" if owned else "0"],
        )  # fmt: skip
        return bool(int(result))

    def settle(
        self,
        member: str,
        org: str,
        records: list[Pending],
        outcomes: Sequence[RecordOutcome | BaseException] | BaseException,
    ) -> Settled:
        """Each record on its own, by its outcome (or the exception of the call that
        carried it): the saved records' old letters, the new letters, their count and
        the batch's trail events in one round trip; then the batch is gone (one script)."""
        now = self.now_ms()
        pipe = self._client.pipeline(transaction=True)
        back: list[list[Any]] = []
        saved: list[tuple[str, str]] = []
        events: list[tuple[str, TrailEvent]] = []
        dead = 0
        for index, record in enumerate(records):
            failure = outcomes if isinstance(outcomes, BaseException) else outcomes[index]
            decision = decide(
                failure, record.attempt, self._policy, first_ms=record.first_ms, now_ms=now
            )
            job = record.job
            written = CallbackWritten(
                now, job.organization_id[:15], mode=self._mode, order_number=job.order_number,
                batch=len(records),
            )  # fmt: skip
            if decision is None:
                saved.append((job.organization_id, job.opportunity_id))
                events.append((job.opportunity_id, written))
                metrics.JOBS.labels(CALLBACKS_QUEUE, "done").inc()
                metrics.END_TO_END.labels(CALLBACKS_QUEUE).observe(
                    max(0.0, (now - record.first_ms) / 1000)
                )
            elif isinstance(decision, Retry):
                again = Pending(job, record.attempt + 1, record.first_ms)
                back.append([job.opportunity_id, again.to_json(), now + decision.delay_ms])
                retry = replace(written, result="retry", reason=decision.reason)
                events.append((job.opportunity_id, retry))
                metrics.JOBS.labels(CALLBACKS_QUEUE, "retried").inc()
            else:
                dead += 1
                self._dead_letters.add(
                    stage=CALLBACKS_QUEUE,
                    queue=CALLBACKS_QUEUE,
                    actor=SEND_CALLBACK,
                    organization_id=job.organization_id,
                    opportunity_id=job.opportunity_id,
                    notification_id=job.notification_id,
                    reason=decision.reason,
                    attempts=record.attempt + 1,
                    payload=job.to_dict(),
                    pipe=pipe,
                )
                metrics.JOBS.labels(CALLBACKS_QUEUE, "dead_lettered").inc()
        if dead or saved or (events and self._trail is not None):
            self._dead_letters.resolve_many(CALLBACKS_QUEUE, saved, pipe=pipe)
            if self._throughput is not None and saved:
                self._throughput.record(CALLBACKS_QUEUE, count=len(saved), pipe=pipe)
            if self._trail is not None:
                self._trail.record(pipe, events)
            pipe.execute()
        self._release_batch(member, org, back, owned=True)
        return Settled(done=len(saved), retried=len(back), dead=dead)
