"""A swept Opportunity goes through the same pipeline as a notification: a record whose
real notification is in flight at the same time still gets exactly one ERP order, and a
repeated sweep is a duplicate for the pipeline. Real Redis broker and Dramatiq worker."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from devstack.launch import start_workers
from devstack.mocks import start_mock_erp, start_mock_salesforce
from gateway.pipeline.reconcile import job_from_record
from gateway.pipeline.settings import PipelineSettings
from gateway.pipeline.stores import DoneMarkers
from gateway.settings import CoreSettings
from mock_erp.store import OrderStore
from tests.economy.stack import worker_env
from tests.pipeline.fake_salesforce import FakeSalesforce
from tests.pipeline.harness import notification, running_pipeline


def _swept(n: int) -> dict:
    job = notification(n)
    record = {"Id": job.record_id, **job.fields}
    return job_from_record(
        record,
        organization_id=job.organization_id,
        instance_url="https://acme.my.salesforce.com",
        api_version="62.0",
        now=time.time(),
    ).to_dict()


def test_in_flight_notification_and_sweep_make_one_order(
    core: CoreSettings,
    settings: PipelineSettings,
    client: redis.Redis,
    fake_sf: FakeSalesforce,
) -> None:
    for n in range(1, 6):
        job = notification(n)
        fake_sf.org.records[str(job.record_id)] = {"Id": job.record_id, **job.fields}
    with running_pipeline(core, settings) as harness:
        for n in range(1, 6):
            harness.send(notification(n))  # the real notification ...
            harness.actors.process_notification.send(_swept(n))  # ... and the sweep's job
        harness.drain()
        for n in range(1, 6):  # a second sweep of the same records: duplicates
            harness.actors.process_notification.send(_swept(n))
        harness.drain()
    assert len(harness.erp.orders) == 5  # one order per Opportunity
    assert harness.erp.calls == 10  # the second sweep never reached the ERP
    done = DoneMarkers(client, core, 1)
    assert all(done.is_done(notification(n).dedupe_key[0], _swept(n)["notification_id"])
               for n in range(1, 6))  # fmt: skip
    for n in range(1, 6):
        opp = notification(n).record_id
        assert fake_sf.org.records[opp]["Order_Number__c"] == harness.erp.orders[opp].order_number


@pytest.mark.slow
def test_periodic_sweep_in_the_workers_orders_what_no_message_announced(
    tmp_path: Path, redis_url: str, redis_prefix: str, secret_key: str
) -> None:
    """No outbound message at all (no definition points anywhere): only the periodic
    sweep of two worker processes can find these, and each is ordered once."""
    sf = start_mock_salesforce(tmp_path / "sf", gateway_url=None)
    erp = start_mock_erp(tmp_path / "erp")
    workers = None
    try:
        ids = sf.close_won(12)
        workers = start_workers(
            tmp_path / "workers",
            redis_url=redis_url,
            redis_prefix=redis_prefix,
            env=worker_env(
                secret_key, sf.url, erp.url, SFGW_RECONCILE_INTERVAL_S="2", SFGW_CALLBACK_API="soap"
            ),
            processes=2,
            threads=2,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if all(o["Order_Number__c"] for o in sf.opportunities()):
                break
            time.sleep(0.5)
        assert all(o["Order_Number__c"] for o in sf.opportunities()), workers.child.log_tail()
        time.sleep(4)  # two more intervals: more sweeps, nothing new to order
        orders = OrderStore(erp.db_path).all_orders()
        assert sorted(o.external_reference for o in orders) == sorted(ids)
    finally:
        if workers is not None:
            workers.stop()
        erp.stop()
        sf.stop()
