"""A swept Opportunity goes through the same pipeline as a notification: a record whose
real notification is in flight at the same time still gets exactly one ERP order, and a
repeated sweep is a duplicate for the pipeline. Real Redis broker and Dramatiq worker,
the real mock org and mock ERP."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from devstack.launch import start_workers
from devstack.mocks import RunningErp, RunningSalesforce, start_mock_erp, start_mock_salesforce
from gateway.jobs import NotificationJob
from gateway.pipeline.reconcile import job_from_record
from gateway.pipeline.settings import WorkerSettings
from gateway.pipeline.stores import DoneMarkers
from mock_erp.store import OrderStore
from tests.pipeline.harness import notification, running_pipeline

pytestmark = pytest.mark.slow


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The counters that changed, by how much."""
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _swept(job: NotificationJob, instance_url: str) -> dict[str, Any]:
    """The job the sweep makes of the same Opportunity, in the same state."""
    record = {"Id": job.record_id, **job.fields}
    return job_from_record(
        record,
        organization_id=job.organization_id,
        instance_url=instance_url,
        api_version="62.0",
        now=time.time(),
    ).to_dict()


def test_in_flight_notification_and_sweep_make_one_order(
    settings: WorkerSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
    mock_erp: RunningErp,
) -> None:
    opps = mock_sf.create_opportunities(5)
    jobs = [notification(n, org=mock_sf.org_id, opp=opp) for n, opp in enumerate(opps, start=1)]
    before = mock_erp.fired()
    with running_pipeline(settings) as harness:
        for job in jobs:
            harness.send(job)  # the real notification ...
            harness.send(_swept(job, mock_sf.url))  # ... and the sweep's job
        harness.drain()
        # both reached the ERP for every Opportunity: one created it, one found it
        assert moved(before, mock_erp.fired()) == {"requests": 10, "create_replayed": 5}
        for job in jobs:  # a second sweep of the same records: duplicates
            harness.send(_swept(job, mock_sf.url))
        harness.drain()
    assert moved(before, mock_erp.fired()) == {"requests": 10, "create_replayed": 5}
    done = DoneMarkers(client, settings.core, 1)
    assert all(done.is_done(job.dedupe_key[0], _swept(job, mock_sf.url)["notification_id"])
               for job in jobs)  # fmt: skip
    store = OrderStore(mock_erp.db_path)
    rows = {r["Id"]: r for r in mock_sf.opportunities()}
    for opp in opps:
        order = store.by_reference(opp)
        assert order is not None and rows[opp]["Order_Number__c"] == order.order_number


def test_periodic_sweep_in_the_workers_orders_what_no_message_announced(
    tmp_path: Path, redis_url: str, redis_prefix: str, secret_key: str
) -> None:
    """No outbound message at all (no definition points anywhere): only the periodic
    sweep of two worker processes can find these, and each is ordered once; the sweeps
    that follow (each one query call) find nothing new to order."""
    sf = start_mock_salesforce(tmp_path / "sf", gateway_url=None)
    erp = start_mock_erp(tmp_path / "erp")
    workers = None
    try:
        ids = sf.close_won(12)
        env = {
            "SFGW_SECRET_KEY": secret_key,
            "SFGW_SF_LOGIN_URL": sf.url,
            "SFGW_SF_CLIENT_ID": sf.client_id,
            "SFGW_SF_CLIENT_SECRET": sf.client_secret,
            "SFGW_ERP_URL": erp.url,
            "SFGW_RETRY_MIN_BACKOFF_MS": "100",
            "SFGW_RETRY_MAX_BACKOFF_MS": "1000",
            "SFGW_RECONCILE_MIN_AGE_S": "0",
            "SFGW_RECONCILE_INTERVAL_S": "2",
            "SFGW_CALLBACK_API": "soap",
        }
        workers = start_workers(
            tmp_path / "workers", redis_url=redis_url, redis_prefix=redis_prefix, env=env,
            processes=2, threads=2,
        )  # fmt: skip
        ordered = wait_for(lambda: all(o["Order_Number__c"] for o in sf.opportunities()), 90)
        assert ordered, workers.child.log_tail()
        erp_after, queries = erp.fired(), sf.api_usage()["api_requests"]
        # two more intervals: two more sweeps (one query call each), nothing new to order
        more = wait_for(lambda: sf.api_usage()["api_requests"] >= queries + 2, 30)
        assert more, workers.child.log_tail()
        assert moved(erp_after, erp.fired()) == {}
        orders = OrderStore(erp.db_path).all_orders()
        assert sorted(o.external_reference for o in orders) == sorted(ids)
    finally:
        if workers is not None:
            workers.stop()
        erp.stop()
        sf.stop()
