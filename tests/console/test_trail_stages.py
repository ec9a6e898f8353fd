"""The stages write their trail events in their own transactions: the order stage's
finish, the coalescer's settle, the retry middleware; a failing trail write changes
none of what the stage decides."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis

from gateway.lazy import Lazy
from gateway.orders import OrderRequest, PlacedOrder
from gateway.pipeline.callbacks.coalescer import CallbackCoalescer
from gateway.pipeline.callbacks.job import CallbackJob
from gateway.pipeline.callbacks.settings import CallbackSettings
from gateway.pipeline.orders import OrderStage
from gateway.pipeline.policy import RetryPolicy
from gateway.pipeline.stores import DeadLetters, DoneMarkers
from gateway.salesforce.errors import RecordOutcome
from gateway.salesforce.settings import SalesforceSettings
from gateway.settings import CoreSettings
from gateway.trail import CallbackWritten, OrderPlaced, OrderSkipped, Trail, TrailSettings
from tests.console.conftest import ORG, ORG18, job, opportunity

SF = SalesforceSettings.from_env({"SFGW_SF_CLIENT_ID": "id", "SFGW_SF_CLIENT_SECRET": "secret"})
POLICY = RetryPolicy(retry_for_ms=60_000, min_backoff_ms=10, max_backoff_ms=100,
                     limit_backoff_ms=100)  # fmt: skip


@dataclass
class Erp:
    orders: dict[str, PlacedOrder] = field(default_factory=dict)

    def create_order(self, request: OrderRequest) -> PlacedOrder:
        ref = request.external_reference
        existing = self.orders.get(ref)
        if existing is not None:
            return PlacedOrder(existing.order_number, existing.status, False, ref)
        self.orders[ref] = PlacedOrder(f"SO-{len(self.orders) + 1:06d}", "Created", True, ref)
        return self.orders[ref]


@dataclass
class Handed:
    jobs: list[CallbackJob] = field(default_factory=list)

    def submit(self, job: CallbackJob) -> None:
        self.jobs.append(job)


def stage(client: redis.Redis, core: CoreSettings, trail: Trail | None) -> OrderStage:
    def no_salesforce() -> object:
        raise AssertionError("the fields are in the message")

    return OrderStage(
        salesforce_settings=SF, currency_code="USD", done=DoneMarkers(client, core, 3600),
        dead_letters=DeadLetters(client, core, trail), erp=Lazy(Erp),
        salesforce=Lazy(no_salesforce),  # type: ignore[arg-type]
        callbacks=Handed(), trail=trail,
    )  # fmt: skip


def test_the_order_stage_records_the_order_in_its_finish(
    client: redis.Redis, core: CoreSettings
) -> None:
    trail = Trail(client, core, TrailSettings())
    orders = stage(client, core, trail)
    assert orders.process(job(1).to_dict()) == ("done", "created order SO-000001")
    ordered = job(2, fields={**job(2).fields, "Order_Number__c": "SO-777"})
    assert orders.process(ordered.to_dict())[0] == "skipped"
    (placed,) = trail.read(opportunity(1))
    assert placed == OrderPlaced(placed.at, ORG, notification=job(1).notification_id,
                                 order_number="SO-000001", created=True)  # fmt: skip
    (skipped,) = trail.read(opportunity(2)[:15])  # a 15-character id finds it too
    assert isinstance(skipped, OrderSkipped)


def test_a_failing_trail_write_still_marks_the_job_done(
    client: redis.Redis, core: CoreSettings
) -> None:
    trail = Trail(client, core, TrailSettings())
    client.set(trail.key(opportunity(3)), "not a list")
    orders = stage(client, core, trail)
    assert orders.process(job(3).to_dict())[0] == "done"
    assert DoneMarkers(client, core, 3600).is_done(*job(3).dedupe_key)
    assert orders.process(job(3).to_dict()) == ("duplicate", "already processed")


def test_without_a_trail_nothing_is_written(client: redis.Redis, core: CoreSettings) -> None:
    orders = stage(client, core, None)
    orders.process(job(4).to_dict())
    assert not list(client.scan_iter(match=core.key("trail", "*")))


def test_a_settled_batch_records_each_record_in_the_settle_transaction(
    client: redis.Redis, core: CoreSettings
) -> None:
    trail = Trail(client, core, TrailSettings())
    coalescer = CallbackCoalescer(
        client=client, core=core, policy=POLICY, dead_letters=DeadLetters(client, core, trail),
        coalesce=CallbackSettings(max_wait_ms=0, batch_size=200, lease_ms=60_000, flushers=1,
                                  poll_ms=50),
        trail=trail, mode="collections",
    )  # fmt: skip
    jobs = [
        CallbackJob(organization_id=ORG18, opportunity_id=opportunity(n),
                    notification_id=job(n).notification_id, order_number=f"SO-00000{n}",
                    order_status="Created", partner_url="")
        for n in (5, 6, 7)
    ]  # fmt: skip
    for callback in jobs:
        coalescer.add(callback)
    member, records, _ = coalescer.claim(ORG18, force=True)
    assert member is not None and len(records) == 3
    by_id = {r.job.opportunity_id: i for i, r in enumerate(records)}
    outcomes = [RecordOutcome(r.job.opportunity_id, "success") for r in records]
    outcomes[by_id[opportunity(6)]] = RecordOutcome(
        opportunity(6), "retry", "UNABLE_TO_LOCK_ROW", "locked"
    )
    outcomes[by_id[opportunity(7)]] = RecordOutcome(
        opportunity(7), "permanent", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "no"
    )
    settled = coalescer.settle(member, ORG18, records, outcomes)
    assert (settled.done, settled.retried, settled.dead) == (1, 1, 1)
    (saved,) = trail.read(opportunity(5))
    assert saved == CallbackWritten(saved.at, ORG, mode="collections", order_number="SO-000005",
                                    batch=3)  # fmt: skip
    (retry,) = trail.read(opportunity(6))
    assert isinstance(retry, CallbackWritten) and retry.result == "retry"
    assert [e.KIND for e in trail.read(opportunity(7))] == ["dead_letter"]
