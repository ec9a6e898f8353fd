"""Acceptance: the gateway is down past Salesforce's (scaled) 24 hours; one
``sfgw reconcile`` afterwards brings every dropped Opportunity to exactly one ERP order
and an updated Opportunity. Real processes: mock Salesforce, mock ERP, ``sfgw worker``,
the ``sfgw`` CLI, Redis."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import redis
from dramatiq import Message

from devstack.launch import start_workers
from devstack.mocks import start_mock_erp, start_mock_salesforce
from devstack.processes import free_port
from mock_erp.store import OrderStore
from tests.economy.stack import run_sfgw, worker_env

pytestmark = pytest.mark.slow

WON = 30
TIME_SCALE = 8640  # Salesforce's 24 h retention becomes 10 s


def test_dropped_messages_are_recovered_by_one_reconcile_run(
    tmp_path: Path, redis_url: str, redis_prefix: str, secret_key: str
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # the gateway is down the whole time
    sf = start_mock_salesforce(tmp_path / "sf", gateway_url=nobody, time_scale=TIME_SCALE)
    erp = None
    workers = None
    try:
        ids = sf.close_won(WON)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            rows = sf.deliveries()
            dropped = sum(r["notifications"] for r in rows if r["status"] == "dropped")
            if dropped == WON:
                break
            time.sleep(0.5)
        rows = sf.deliveries()
        assert {r["status"] for r in rows} == {"dropped"}, rows
        assert sum(r["notifications"] for r in rows) == WON
        assert all(o["Order_Number__c"] is None for o in sf.opportunities())

        erp = start_mock_erp(tmp_path / "erp")
        env = {
            "SFGW_REDIS_URL": redis_url,
            "SFGW_REDIS_PREFIX": redis_prefix,
            # the order stage hands callbacks to the coalescer in this mode
            **worker_env(secret_key, sf.url, erp.url, SFGW_CALLBACK_API="collections"),
        }
        # Two sweeps before any worker runs: the second finds the same records queued.
        first = run_sfgw(["reconcile", "--since", "1h"], env, tmp_path)
        assert first.returncode == 0, first.stderr
        print(first.stdout)
        assert f"found {WON} won Opportunities without an order number: {WON} enqueued" in (
            first.stdout
        )
        assert all(oid in first.stdout for oid in ids)
        second = run_sfgw(["reconcile", "--since", "1h"], env, tmp_path)
        assert second.returncode == 0, second.stderr
        assert f"0 enqueued, {WON} already queued" in second.stdout

        workers = start_workers(
            tmp_path / "workers",
            redis_url=redis_url,
            redis_prefix=redis_prefix,
            env=worker_env(secret_key, sf.url, erp.url, SFGW_CALLBACK_API="collections"),
            processes=1,
            threads=4,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if all(o["Order_Number__c"] for o in sf.opportunities()):
                break
            time.sleep(0.5)
        opportunities = {o["Id"]: o for o in sf.opportunities()}
        assert all(o["Order_Number__c"] for o in opportunities.values()), workers.child.log_tail()

        orders = OrderStore(erp.db_path).all_orders()
        assert len(orders) == WON  # exactly one order per Opportunity
        by_opp = {order.external_reference: order for order in orders}
        assert set(by_opp) == set(ids)
        for oid in ids:
            assert opportunities[oid]["Order_Number__c"] == by_opp[oid].order_number
            assert opportunities[oid]["Order_Status__c"] == by_opp[oid].status

        third = run_sfgw(["reconcile", "--since", "1h"], env, tmp_path)
        assert third.returncode == 0, third.stderr
        assert "found 0 won Opportunities" in third.stdout
    finally:
        if workers is not None:
            workers.stop()
        if erp is not None:
            erp.stop()
        sf.stop()


def test_reconcile_follows_every_page_of_the_query(
    tmp_path: Path, redis_url: str, redis_prefix: str, secret_key: str, client: redis.Redis
) -> None:
    """450 dropped Opportunities and pages of 200: the sweep reads all three pages and
    enqueues each Opportunity exactly once; a second sweep enqueues nothing."""
    sf = start_mock_salesforce(tmp_path / "sf", gateway_url=None)
    try:
        ids = sf.close_won(450)
        # the sweep's upper bound is a whole-second SOQL literal (now, with min age 0):
        # let that second end so records closed in it fall inside the window
        time.sleep(1.1)
        env = {
            "SFGW_REDIS_URL": redis_url,
            "SFGW_REDIS_PREFIX": redis_prefix,
            **worker_env(secret_key, sf.url, f"http://127.0.0.1:{free_port()}",
                         SFGW_RECONCILE_BATCH_SIZE="200"),
        }  # fmt: skip
        before = sf.api_usage()["api_requests"]
        first = run_sfgw(["reconcile", "--since", "1h", "--json"], env, tmp_path)
        assert first.returncode == 0, first.stderr
        found = [json.loads(line) for line in first.stdout.splitlines()]
        assert sorted(f["opportunity_id"] for f in found) == sorted(ids)
        assert {f["outcome"] for f in found} == {"enqueued"}
        assert sf.api_usage()["api_requests"] - before == 3  # pages of 200, 200 and 50

        queue = f"{redis_prefix}:dramatiq:orders"
        queued = [
            Message.decode(client.hget(f"{queue}.msgs", mid)).args[0]["record_id"]
            for mid in client.lrange(queue, 0, -1)
        ]
        assert len(queued) == 450 and set(queued) == set(ids)

        second = run_sfgw(["reconcile", "--since", "1h"], env, tmp_path)
        assert second.returncode == 0, second.stderr
        assert "found 450 won Opportunities without an order number: 0 enqueued, 450 already " \
            "queued" in second.stdout  # fmt: skip
        assert client.llen(queue) == 450
    finally:
        sf.stop()


def test_reconcile_without_a_credential_says_what_to_set(
    tmp_path: Path, redis_url: str, redis_prefix: str, secret_key: str
) -> None:
    env = {
        "SFGW_REDIS_URL": redis_url,
        "SFGW_REDIS_PREFIX": redis_prefix,
        "SFGW_SECRET_KEY": secret_key,
        "SFGW_SF_USE_SESSION_ID": "true",
        "SFGW_SALESFORCE_HOSTS": "*.my.salesforce.com",
    }
    result = run_sfgw(["reconcile"], env, tmp_path)
    assert result.returncode == 1
    assert "SFGW_SF_CLIENT_ID" in result.stderr and len(result.stderr.splitlines()) == 1
    bad = run_sfgw(["reconcile", "--since", "yesterday"], env, tmp_path)
    assert bad.returncode == 1 and "--since" in bad.stderr
