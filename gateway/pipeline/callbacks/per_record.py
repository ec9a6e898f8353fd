"""Per-record callbacks: one ``send_callback`` message, one Salesforce call, per order.

The mode for ``rest`` (one PATCH per record anyway) and for the legacy SessionId, which
belongs to one message: its callback cannot share a call with other messages' records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import dramatiq

from gateway.broker import CALLBACKS_QUEUE, SEND_CALLBACK, message_for
from gateway.lazy import Lazy
from gateway.pipeline.callbacks.job import CallbackJob, record_update
from gateway.pipeline.policy import Permanent, Retry, RetryPolicy, decide, opportunity_id
from gateway.pipeline.stores import DeadLetters, DoneMarkers, Throughput
from gateway.salesforce.client import SalesforceClient
from gateway.salesforce.settings import SalesforceSettings
from gateway.trail import CallbackWritten, Trail
from gateway.trail import now_ms as clock_ms


class PerRecordSender:
    """:class:`~gateway.pipeline.callbacks.job.CallbackSender`: a message per callback."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self._broker = broker

    def submit(self, job: CallbackJob) -> None:
        self._broker.enqueue(message_for(CALLBACKS_QUEUE, SEND_CALLBACK, job.to_dict()))


class RecordFailed(Exception):
    """Salesforce saved the call but not this record."""

    def __init__(self, decision: Retry | Permanent) -> None:
        super().__init__(decision.reason)
        self.decision = decision


@dataclass
class CallbackStage:
    """What the ``send_callback`` actor does with one message."""

    settings: SalesforceSettings
    salesforce: Lazy[SalesforceClient]
    done: DoneMarkers
    dead_letters: DeadLetters
    throughput: Throughput | None
    policy: RetryPolicy
    trail: Trail | None = None

    def send(self, payload: dict[str, object], attempt: int, first_ms: int, now_ms: int) -> str:
        """Write one record; returns the detail for the log line. A record Salesforce
        refused raises :class:`RecordFailed` with what to do about it."""
        job = CallbackJob.from_dict(dict(payload))
        # a replayed dead letter carries whatever was stored: check the id again
        update = record_update(
            replace(job, opportunity_id=opportunity_id(job.opportunity_id)), self.settings
        )
        client = self.salesforce.get()
        legacy = client.tokens.from_message(job.session_id_encrypted, job.partner_url)
        (outcome,) = client.update(job.organization_id, [update], legacy=legacy)
        decision = decide(outcome, attempt, self.policy, first_ms=first_ms, now_ms=now_ms)
        if decision is not None:
            raise RecordFailed(decision)
        pipe = self.done.pipeline()
        self.dead_letters.resolve(CALLBACKS_QUEUE, job.organization_id, update.record_id, pipe=pipe)
        if self.throughput is not None:
            self.throughput.record(CALLBACKS_QUEUE, pipe=pipe)
        if self.trail is not None:
            written = CallbackWritten(
                clock_ms(), job.organization_id[:15], mode=self.settings.callback_api,
                order_number=job.order_number,
            )  # fmt: skip
            self.trail.record(pipe, [(update.record_id, written)])
        pipe.execute()
        return f"{self.settings.order_number_field}={job.order_number}"
