"""Jobs handed to the pipeline directly (as benchmarks and stage tests feed it) travel
exactly like delivered ones: a notification enqueued the way the intake writes it is
ordered and called back once, and handing it over again is a duplicate."""

from __future__ import annotations

import uuid

import pytest

from gateway import sfid
from gateway.jobs import NotificationJob
from tests.e2e.conftest import StackFactory

pytestmark = pytest.mark.slow


def test_a_fed_notification_is_processed_once_and_a_second_feed_is_a_duplicate(
    stack_factory: StackFactory,
) -> None:
    stack = stack_factory(contract="opportunity_id_only")
    sf = stack.salesforce
    sf.set_definitions([])  # won without an outbound message: only our feed announces them
    try:
        ids = sf.close_won(3)
    finally:
        stack.stack.define_outbound()
    org15 = sf.org_id[:15]
    jobs = [
        NotificationJob(
            contract="opportunity_id_only",
            organization_id=sf.org_id,
            action_id="",
            notification_id=sfid.to18("04l5g" + uuid.uuid4().hex[:10]),
            object_type="Opportunity",
            record_id=oid,
            enterprise_url=f"{sf.url}/services/Soap/c/62.0/{org15}",
            partner_url=f"{sf.url}/services/Soap/u/62.0/{org15}",
        )
        for oid in ids
    ]
    assert stack.stack.enqueue_notifications(jobs) == 3
    stack.wait_settled(ids, timeout=120)
    assert stack.stack.enqueue_notifications(jobs) == 0  # the intake's dedupe markers
    assert stack.stack.wait_idle(timeout=60), stack.stack.queue_report()
    stack.assert_final_state(ids)
