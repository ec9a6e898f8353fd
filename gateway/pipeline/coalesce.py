"""Coalesced callbacks: one Salesforce call per up to 200 completed orders of an org.

In ``collections`` and ``soap`` modes the order stage does not enqueue one callback job
per record; it adds the record to its org's pending set in Redis. Flusher threads in
every worker process claim batches and write them with ONE sObject Collections / SOAP
``update`` call, when 200 records are waiting or when the oldest waiting one has waited
``SFGW_CALLBACK_MAX_WAIT_MS``.

Redis layout (all under ``<prefix>:cb``)::

    orgs               SET   orgs with pending records
    pending:<org>      ZSET  Opportunity id -> time (ms) it may be sent (now, or a retry's)
    data:<org>         HASH  Opportunity id -> {"job", "attempt", "first_ms"}
    batch:<id>         STRING a claimed batch: {"org", "claimed_ms", "records": [[id, data], ...]}
    leases             ZSET  batch id -> lease expiry (ms)

Crash safety: a claim moves up to 200 records from ``pending``/``data`` into a batch with
a lease, in one Lua script, so two flushers never claim the same record and the normal
path never sends the same update twice as separate successful calls. After
Salesforce's answer each record is settled on its own (success: done; retryable:
back into ``pending`` at now + backoff; permanent: a dead letter with its own reason)
and the batch is deleted, again in one script. A flusher SIGKILLed between claim and
settle leaves the batch and its lease; when the lease expires any flusher puts the
records back into ``pending`` (a repeat is harmless: the update is idempotent). The
lease (``SFGW_CALLBACK_LEASE_MS``) is longer than a Salesforce call may take.

Why threads and not a delayed "flush" actor: the flush condition is a property of data
in Redis (count and age), which a poll every few ms checks exactly, with no chain of
scheduled messages to lose or multiply across worker restarts; every worker process
runs flushers, so a dead process only costs its in-flight batch until the lease ends.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dramatiq
import redis
from dramatiq.middleware import Middleware

from gateway.config import Env, env_int
from gateway.pipeline import metrics
from gateway.pipeline.messages import CallbackJob
from gateway.pipeline.policy import Permanent, Retry, RetryPolicy, classify, classify_record
from gateway.pipeline.settings import CALLBACKS_QUEUE, PipelineSettings
from gateway.pipeline.stores import DeadLetters, Throughput
from gateway.salesforce.callbacks import MAX_RECORDS_PER_CALL, RecordUpdate, SalesforceClient
from gateway.salesforce.errors import RecordOutcome
from gateway.settings import CoreSettings

log = logging.getLogger("sfgw.pipeline")

COALESCED_APIS = ("collections", "soap")


@dataclass(frozen=True)
class CoalesceSettings:
    max_wait_ms: int
    batch_size: int
    lease_ms: int
    flushers: int
    poll_ms: int

    @classmethod
    def from_env(cls, env: Env | None = None) -> CoalesceSettings:
        env = os.environ if env is None else env
        return cls(
            max_wait_ms=env_int(env, "SFGW_CALLBACK_MAX_WAIT_MS", 1000, minimum=0, maximum=600_000),
            batch_size=env_int(
                env, "SFGW_CALLBACK_BATCH_SIZE", MAX_RECORDS_PER_CALL, minimum=1, maximum=200
            ),
            lease_ms=env_int(env, "SFGW_CALLBACK_LEASE_MS", 60_000, minimum=1_000),
            flushers=env_int(env, "SFGW_CALLBACK_FLUSHERS", 2, minimum=1, maximum=32),
            poll_ms=env_int(env, "SFGW_CALLBACK_POLL_MS", 50, minimum=5, maximum=5_000),
        )


_ADD = """
local pending, data, orgs = KEYS[1], KEYS[2], KEYS[3]
local id, record, now, org, size = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
redis.call("hset", data, id, record)
local current = redis.call("zscore", pending, id)
if (not current) or tonumber(current) > now then redis.call("zadd", pending, now, id) end
redis.call("sadd", orgs, org)
return redis.call("zcount", pending, "-inf", now)
"""

#: Claim up to `size` due records if the batch is full or the oldest has waited enough.
#: Returns JSON: {"batch": [...]} or {"next": ms when to look again or -1}.
_CLAIM = """
local pending, data, leases, batch_key, orgs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, wait, size = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local expiry, batch_id, org, force = tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7] == "1"
local due = redis.call("zrangebyscore", pending, "-inf", now, "WITHSCORES", "LIMIT", 0, size)
if #due == 0 then
    local first = redis.call("zrange", pending, 0, 0, "WITHSCORES")
    if #first == 0 then
        redis.call("srem", orgs, org)
        return cjson.encode({next = -1})
    end
    return cjson.encode({next = tonumber(first[2]) + wait})
end
local oldest = tonumber(due[2])
if (not force) and #due / 2 < size and oldest + wait > now then
    return cjson.encode({next = oldest + wait})
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


def decide(
    pending: Pending,
    outcome: RecordOutcome,
    policy: RetryPolicy,
    now_ms: int,
) -> Retry | Permanent | None:
    """None: saved. Retry: back into the set. Permanent: a dead letter (pure)."""
    decision = classify_record(outcome, pending.attempt, policy)
    if isinstance(decision, Retry) and not policy.within_window(pending.first_ms, now_ms):
        return Permanent(
            f"gave up after {pending.attempt + 1} attempts over the retry window: {decision.reason}"
        )
    return decision


class CallbackCoalescer:
    """The Redis side: add, claim, settle, recover; and one flush of one org."""

    def __init__(
        self,
        *,
        client: redis.Redis,
        core: CoreSettings,
        coalesce: CoalesceSettings,
        policy: RetryPolicy,
        dead_letters: DeadLetters,
        throughput: Throughput | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._core = core
        self.settings = coalesce
        self._policy = policy
        self._dead_letters = dead_letters
        self._throughput = throughput
        self._clock = clock
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

    def add(self, payload: Mapping[str, Any]) -> int:
        """Queue one callback (the order stage's hook); returns how many are due."""
        job = CallbackJob.from_dict(dict(payload))
        now = self.now_ms()
        record = Pending(job, attempt=0, first_ms=now)
        due = self._add(
            keys=[self.pending_key(job.organization_id), self.data_key(job.organization_id),
                  self.orgs_key],
            args=[job.opportunity_id, record.to_json(), now, job.organization_id,
                  self.settings.batch_size],
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
                  now + self.settings.lease_ms, f"{org}|{batch_id}", org, "1" if force else "0"],
        )  # fmt: skip
        reply = json.loads(raw)
        if "batch" not in reply:
            return None, [], int(reply.get("next", -1))
        records = [Pending.from_json(item[1]) for item in reply["batch"] or []]
        return f"{org}|{batch_id}", records, now

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
        outcomes: list[RecordOutcome] | BaseException,
    ) -> Settled:
        """Each record on its own; then the batch is gone (one script)."""
        now = self.now_ms()
        back: list[list[Any]] = []
        saved: list[tuple[str, str]] = []
        dead = 0
        for index, record in enumerate(records):
            if isinstance(outcomes, BaseException):
                decision: Retry | Permanent | None = classify(
                    outcomes, record.attempt, self._policy
                )
                if isinstance(decision, Retry) and not self._policy.within_window(
                    record.first_ms, now
                ):
                    decision = Permanent(f"gave up over the retry window: {decision.reason}")
            else:
                decision = decide(record, outcomes[index], self._policy, now)
            job = record.job
            if decision is None:
                saved.append((job.organization_id, job.opportunity_id))
                metrics.JOBS.labels(CALLBACKS_QUEUE, "done").inc()
                metrics.END_TO_END.labels(CALLBACKS_QUEUE).observe(
                    max(0.0, (now - record.first_ms) / 1000)
                )
            elif isinstance(decision, Retry):
                again = Pending(job, record.attempt + 1, record.first_ms)
                back.append([job.opportunity_id, again.to_json(), now + decision.delay_ms])
                metrics.JOBS.labels(CALLBACKS_QUEUE, "retried").inc()
            else:
                dead += 1
                self._dead_letters.add(
                    stage=CALLBACKS_QUEUE,
                    queue=CALLBACKS_QUEUE,
                    actor="send_callback",
                    organization_id=job.organization_id,
                    opportunity_id=job.opportunity_id,
                    notification_id=job.notification_id,
                    reason=decision.reason,
                    attempts=record.attempt + 1,
                    payload=job.to_dict(),
                )
                metrics.JOBS.labels(CALLBACKS_QUEUE, "dead_lettered").inc()
        if saved:
            # the saved records' old letters and their count: one round trip per batch
            pipe = self._client.pipeline(transaction=True)
            self._dead_letters.resolve_many(CALLBACKS_QUEUE, saved, pipe=pipe)
            if self._throughput is not None:
                self._throughput.record(CALLBACKS_QUEUE, count=len(saved), pipe=pipe)
            pipe.execute()
        self._release_batch(member, org, back, owned=True)
        return Settled(done=len(saved), retried=len(back), dead=dead)


class Flusher:
    """One flush of one org: claim, one Salesforce call, settle."""

    def __init__(
        self, coalescer: CallbackCoalescer, salesforce: Callable[[], SalesforceClient],
        settings: PipelineSettings,
    ) -> None:  # fmt: skip
        self.coalescer = coalescer
        self._salesforce = salesforce
        self._settings = settings

    def flush_once(self, org: str, *, force: bool = False) -> tuple[int, int]:
        """(records sent, next ms to look at this org)."""
        member, records, next_ms = self.coalescer.claim(org, force=force)
        if member is None:
            return 0, next_ms
        sf = self._settings.salesforce
        updates = [
            RecordUpdate(
                record_id=r.job.opportunity_id,
                fields={sf.order_number_field: r.job.order_number,
                        sf.order_status_field: r.job.order_status},
            )
            for r in records
        ]  # fmt: skip
        started = time.monotonic()
        outcomes: list[RecordOutcome] | BaseException
        try:
            outcomes = self._salesforce().update(org, updates)
        except Exception as error:
            outcomes = error
        settled = self.coalescer.settle(member, org, records, outcomes)
        metrics.LATENCY.labels(CALLBACKS_QUEUE).observe(time.monotonic() - started)
        log.info(
            json.dumps({
                "stage": CALLBACKS_QUEUE, "org": org[:15], "outcome": "batch",
                "records": len(records), "done": settled.done, "retried": settled.retried,
                "dead_lettered": settled.dead,
                "error": None if isinstance(outcomes, list) else type(outcomes).__name__,
                "ms": round((time.monotonic() - started) * 1000),
            }, sort_keys=True)
        )  # fmt: skip
        return len(records), next_ms


class FlusherThreads(Middleware):
    """Starts ``SFGW_CALLBACK_FLUSHERS`` flusher threads in each worker process.

    An idle flusher sleeps until the earliest moment a batch it saw becomes due (its
    oldest record's age reaching ``SFGW_CALLBACK_MAX_WAIT_MS``), at most one poll
    interval, so a batch leaves when it is due rather than up to a poll later. The
    order stage in this process wakes the flushers (:meth:`wake`) when it starts a
    batch (so they learn its due time) and when it fills one (so it leaves at once).
    Expired leases are looked for about once a second: a lease lasts far longer.
    """

    def __init__(
        self,
        flusher_factory: Callable[[], Flusher],
        count: int,
        poll_ms: int,
        *,
        recover_every_ms: int = 1000,
    ) -> None:
        self._factory = flusher_factory
        self._count = count
        self._poll_s = poll_ms / 1000
        self._recover_every_ms = recover_every_ms
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def wake(self) -> None:
        """Look for due batches now instead of at the next poll."""
        self._wake.set()

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        for n in range(self._count):
            thread = threading.Thread(target=self._loop, name=f"sfgw-flusher-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _loop(self) -> None:
        flusher: Flusher | None = None
        recovered_ms = 0
        while not self._stop.is_set():
            wait = self._poll_s
            try:
                flusher = flusher or self._factory()
                coalescer = flusher.coalescer
                now = coalescer.now_ms()
                if now - recovered_ms >= self._recover_every_ms:
                    coalescer.recover_expired()
                    recovered_ms = now
                wait = self._tick(flusher)
            except Exception:
                log.exception("callback flusher failed; retrying")
                wait = 1.0
            if wait > 0:
                self._wake.wait(wait)
                self._wake.clear()

    def _tick(self, flusher: Flusher) -> float:
        """Flush every org that is due; seconds to sleep before looking again."""
        sent = 0
        due_ms: int | None = None
        for org in flusher.coalescer.orgs():
            count, next_ms = flusher.flush_once(org)
            sent += count
            if not count and next_ms >= 0:
                due_ms = next_ms if due_ms is None else min(due_ms, next_ms)
        if sent:
            return 0.0  # there may be more due right away
        if due_ms is None:
            return self._poll_s
        # at least 1 ms: never a busy loop, whatever the clock says
        return min(self._poll_s, max(0.001, (due_ms - flusher.coalescer.now_ms()) / 1000))


def coalescing_enabled(settings: PipelineSettings) -> bool:
    """Coalesce in the batch APIs, with OAuth (a batch has no single message SessionId)."""
    sf = settings.salesforce
    return sf.callback_api in COALESCED_APIS and sf.oauth_configured


def install_coalescing(
    broker: dramatiq.Broker,
    *,
    core: CoreSettings,
    settings: PipelineSettings,
    client: redis.Redis,
    dead_letters: DeadLetters,
    salesforce: Callable[[], SalesforceClient],
    policy: RetryPolicy,
) -> Callable[[dict[str, Any]], None] | None:
    """The hook for ``gateway.pipeline.wiring``: flusher threads on ``broker`` and the
    function the order stage calls instead of enqueueing a callback job (None when the
    mode does not coalesce)."""
    if not coalescing_enabled(settings):
        return None
    coalesce = CoalesceSettings.from_env()
    coalescer = CallbackCoalescer(
        client=client, core=core, coalesce=coalesce, policy=policy,
        dead_letters=dead_letters, throughput=Throughput(client, core),
    )  # fmt: skip
    flushers = FlusherThreads(
        lambda: Flusher(coalescer, salesforce, settings), coalesce.flushers, coalesce.poll_ms
    )
    broker.add_middleware(flushers)

    def add(job: dict[str, Any]) -> None:
        due = coalescer.add(job)
        # the first record of a batch (flushers learn when it is due) or a full batch
        if due == 1 or due >= coalesce.batch_size:
            flushers.wake()

    return add
