"""The order stage: one notification in, at most one ERP order, its callback handed on.

dedupe -> [read the Opportunity when the contract sent too few fields] -> ERP
``CreateOrder`` (idempotent on the Opportunity id) -> hand the callback to the
:class:`~gateway.pipeline.callbacks.job.CallbackSender` -> mark the notification done.

The decisions are :mod:`gateway.pipeline.policy`'s; this is the sequence around them,
and the order of the steps is what makes a crash anywhere harmless: the done marker is
written only after the callback is queued, so a job killed before it runs again, and
the ERP returns the same order instead of creating a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from gateway.broker import ORDERS_QUEUE
from gateway.jobs import FieldValue, NotificationJob
from gateway.lazy import Lazy
from gateway.orders import OrderRequest, PlacedOrder
from gateway.pipeline.callbacks.job import CallbackJob, CallbackSender
from gateway.pipeline.policy import (
    ORDER_FIELDS,
    PermanentJobError,
    PlaceOrder,
    ReadFirst,
    Skip,
    opportunity_id,
    plan_order,
)
from gateway.pipeline.stores import DeadLetters, DoneMarkers, Throughput
from gateway.salesforce.client import SalesforceClient
from gateway.salesforce.settings import SalesforceSettings
from gateway.trail import OrderPlaced, OrderSkipped, Trail, TrailEvent, now_ms


class OrderService(Protocol):
    """What the stage needs of the ERP (``gateway.erp.ErpClient``; tests bring their own)."""

    def create_order(self, request: OrderRequest) -> PlacedOrder:
        """Create the order for ``request.external_reference`` or return the existing one."""
        ...


@dataclass
class OrderStage:
    salesforce_settings: SalesforceSettings
    currency_code: str
    done: DoneMarkers
    dead_letters: DeadLetters
    erp: Lazy[OrderService]
    salesforce: Lazy[SalesforceClient]
    callbacks: CallbackSender
    throughput: Throughput | None = None
    trail: Trail | None = None

    def process(self, payload: dict[str, Any]) -> tuple[str, str]:
        """Returns (outcome, detail) for the job's log line."""
        job = NotificationJob.from_dict(payload)
        org15, notification = job.dedupe_key
        if self.done.is_done(org15, notification):
            return "duplicate", "already processed"
        sf = self.salesforce_settings
        fields: dict[str, FieldValue] = dict(job.fields)
        plan = plan_order(
            job.record_id,
            fields,
            order_number_field=sf.order_number_field,
            currency_code=self.currency_code,
        )
        if isinstance(plan, ReadFirst):
            client = self.salesforce.get()
            legacy = client.tokens.from_message(job.session_id_encrypted, job.partner_url)
            wanted = ("Id", *ORDER_FIELDS, sf.order_number_field)
            fields.update(
                client.read_opportunity(
                    job.organization_id, opportunity_id(job.record_id), wanted, legacy=legacy
                )
            )
            plan = plan_order(
                job.record_id,
                fields,
                order_number_field=sf.order_number_field,
                currency_code=self.currency_code,
                have_read=True,
            )
        if isinstance(plan, Skip):
            skipped = OrderSkipped(now_ms(), org15, notification=notification, reason=plan.reason)
            self._finish(org15, notification, "skipped", None, (job.record_id, skipped))
            return "skipped", plan.reason
        if not isinstance(plan, PlaceOrder):  # plan_order never reads twice
            raise PermanentJobError(f"cannot plan an order: {plan}")
        order = self.erp.get().create_order(plan.request)
        self.callbacks.submit(
            CallbackJob(
                organization_id=job.organization_id,
                opportunity_id=plan.request.external_reference,
                notification_id=job.notification_id,
                order_number=order.order_number,
                order_status=order.status,
                partner_url=job.partner_url,
                session_id_encrypted=job.session_id_encrypted if sf.use_session_id else None,
            )
        )
        # Only now, after the callback is queued: done, its old letter gone, counted.
        placed = OrderPlaced(
            now_ms(), org15, notification=notification, order_number=order.order_number,
            created=order.created,
        )  # fmt: skip
        self._finish(org15, notification, order.order_number, job, (job.record_id, placed))
        created = "created" if order.created else "existing"
        return "done", f"{created} order {order.order_number}"

    def _finish(
        self, org15: str, notification: str, outcome: str, job: NotificationJob | None,
        event: tuple[str | None, TrailEvent],
    ) -> None:  # fmt: skip
        """Done marker, the job's old dead letter resolved, the count, the trail event:
        one round trip (MULTI/EXEC); a crash before it leaves the job to run again."""
        pipe = self.done.pipeline()
        self.done.mark_done(org15, notification, outcome, pipe=pipe)
        if job is not None:
            self.dead_letters.resolve(
                ORDERS_QUEUE, job.organization_id, job.notification_id, pipe=pipe
            )
        if self.throughput is not None:
            self.throughput.record(ORDERS_QUEUE, pipe=pipe)
        record_id, trail_event = event
        if self.trail is not None and record_id:
            self.trail.record(pipe, [(record_id, trail_event)])
        pipe.execute()
