"""Flusher threads: claim due batches of coalesced callbacks and write each with one call.

Why threads and not a delayed "flush" actor: the flush condition is a property of data
in Redis (count and age), which a poll every few ms checks exactly, with no chain of
scheduled messages to lose or multiply across worker restarts; every worker process
runs flushers, so a dead process only costs its in-flight batch until its lease ends.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence

import dramatiq
from dramatiq.middleware import Middleware

from gateway.broker import CALLBACKS_QUEUE
from gateway.pipeline import metrics
from gateway.pipeline.callbacks.coalescer import CallbackCoalescer
from gateway.pipeline.callbacks.job import CallbackJob, record_update
from gateway.pipeline.callbacks.narrowing import send_narrowing
from gateway.salesforce.api import RecordUpdate
from gateway.salesforce.client import SalesforceClient
from gateway.salesforce.errors import RecordOutcome
from gateway.salesforce.settings import SalesforceSettings

log = logging.getLogger("sfgw.pipeline")


class Flusher:
    """One flush of one org: claim, one Salesforce call, settle."""

    def __init__(
        self, coalescer: CallbackCoalescer, salesforce: Callable[[], SalesforceClient],
        settings: SalesforceSettings,
    ) -> None:  # fmt: skip
        self.coalescer = coalescer
        self._salesforce = salesforce
        self._settings = settings

    def flush_once(self, org: str, *, force: bool = False) -> tuple[int, int]:
        """(records sent, next ms to look at this org)."""
        member, records, next_ms = self.coalescer.claim(org, force=force)
        if member is None:
            return 0, next_ms
        updates = [record_update(r.job, self._settings) for r in records]
        started = time.monotonic()
        calls = 0

        def call(batch: Sequence[RecordUpdate]) -> list[RecordOutcome]:
            nonlocal calls
            if calls:
                self.coalescer.extend_lease(member)
            calls += 1
            return self._salesforce().update(org, batch)

        outcomes = send_narrowing(call, updates, lambda update: update.record_id)
        settled = self.coalescer.settle(member, org, records, outcomes)
        metrics.LATENCY.labels(CALLBACKS_QUEUE).observe(time.monotonic() - started)
        log.info(
            json.dumps({
                "stage": CALLBACKS_QUEUE, "org": org[:15], "outcome": "batch",
                "records": len(records), "done": settled.done, "retried": settled.retried,
                "dead_lettered": settled.dead, "calls": calls,
                "error": _first_error(outcomes),
                "ms": round((time.monotonic() - started) * 1000),
            }, sort_keys=True)
        )  # fmt: skip
        return len(records), next_ms


def _first_error(outcomes: Sequence[RecordOutcome | BaseException]) -> str | None:
    """The name of the first whole-call exception among the outcomes, for the log."""
    return next((type(o).__name__ for o in outcomes if isinstance(o, BaseException)), None)


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


class CoalescedSender:
    """:class:`~gateway.pipeline.callbacks.job.CallbackSender` for the coalesced modes."""

    def __init__(self, coalescer: CallbackCoalescer, flushers: FlusherThreads) -> None:
        self._coalescer = coalescer
        self._flushers = flushers

    def submit(self, job: CallbackJob) -> None:
        due = self._coalescer.add(job)
        # the first record of a batch (flushers learn when it is due) or a full batch
        if due == 1 or due >= self._coalescer.settings.batch_size:
            self._flushers.wake()
