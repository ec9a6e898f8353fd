"""Acceptance: the gateway is down past Salesforce's (scaled) 24 hours; one
``sfgw reconcile`` afterwards brings every dropped Opportunity to exactly one ERP order
and an updated Opportunity. Real processes: mock Salesforce, mock ERP, ``sfgw worker``,
the ``sfgw`` CLI, Redis -- one :class:`devstack.stack.Stack` whose parts start as the
story needs them."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from devstack.config import ERP, ORG_ONLY, REDIS, WORKERS, StackConfig
from devstack.stack import Stack, start_stack
from gateway.broker import ORDERS_QUEUE, QueueReader

pytestmark = pytest.mark.slow

WON = 30
TIME_SCALE = 8640  # Salesforce's 24 h retention becomes 10 s
#: What ``sfgw worker`` and ``sfgw reconcile`` get besides the stack's wiring: short
#: retries, and no minimum age, so records won a moment ago count.
WORKER_ENV = {
    "SFGW_RETRY_MIN_BACKOFF_MS": "100",
    "SFGW_RETRY_MAX_BACKOFF_MS": "1000",
    "SFGW_RETRY_LIMIT_BACKOFF_MS": "1000",
    "SFGW_RECONCILE_MIN_AGE_S": "0",
}


def _config(tmp_path: Path, redis_url: str, redis_prefix: str, **settings: Any) -> StackConfig:
    defaults: dict[str, Any] = {"parts": ORG_ONLY, "worker_processes": 1, "worker_threads": 4}
    return StackConfig(
        workdir=tmp_path, redis_url=redis_url, redis_prefix=redis_prefix, **defaults | settings
    )


def _queued_records(stack: Stack) -> list[str]:
    client = stack.redis_client()
    try:
        return [
            m.args[0]["record_id"] for m in QueueReader(client, stack.core()).queued(ORDERS_QUEUE)
        ]
    finally:
        client.close()


def _dropped(stack: Stack) -> int:
    rows = stack.need(stack.salesforce, "mock Salesforce").deliveries()
    return sum(r["notifications"] for r in rows if r["status"] == "dropped")


def test_dropped_messages_are_recovered_by_one_reconcile_run(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    config = _config(
        tmp_path,
        redis_url,
        redis_prefix,
        outbound="nowhere",  # the gateway is down the whole time
        time_scale=TIME_SCALE,
        callback_api="collections",  # the order stage hands callbacks to the coalescer
        worker_env=WORKER_ENV,
    )
    with start_stack(config) as stack:
        sf = stack.need(stack.salesforce, "mock Salesforce")
        ids = sf.close_won(WON)
        stack.wait_for("Salesforce gave up on every message", lambda: _dropped(stack) == WON, 120)
        rows = sf.deliveries()
        assert {r["status"] for r in rows} == {"dropped"}, rows
        assert sum(r["notifications"] for r in rows) == WON
        assert not stack.order_numbers(ids)

        stack.start_part(ERP)
        # Two sweeps before any worker runs: the second finds the same records queued.
        first = stack.sfgw("reconcile", "--since", "1h", env="worker")
        assert first.returncode == 0, first.stderr
        print(first.stdout)
        assert f"found {WON} won Opportunities without an order number: {WON} enqueued" in (
            first.stdout
        )
        assert all(oid in first.stdout for oid in ids)
        second = stack.sfgw("reconcile", "--since", "1h", env="worker")
        assert second.returncode == 0, second.stderr
        assert f"0 enqueued, {WON} already queued" in second.stdout

        stack.start_part(WORKERS)
        numbers = stack.wait_settled(ids, timeout=120)
        orders = stack.erp_orders()
        assert stack.erp_order_count() == WON  # exactly one order per Opportunity
        assert set(orders) == set(ids)
        opportunities = stack.opportunities()
        for oid in ids:
            assert numbers[oid] == orders[oid].order_number
            assert opportunities[oid]["Order_Status__c"] == orders[oid].status

        third = stack.sfgw("reconcile", "--since", "1h", env="worker")
        assert third.returncode == 0, third.stderr
        assert "found 0 won Opportunities" in third.stdout


def _modified(row: dict[str, Any]) -> float:
    return datetime.strptime(row["LastModifiedDate"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def test_reconcile_follows_every_page_of_the_query(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    """450 dropped Opportunities and pages of 200: the sweep reads all three pages and
    enqueues each Opportunity exactly once; a second sweep enqueues nothing."""
    config = _config(
        tmp_path,
        redis_url,
        redis_prefix,
        outbound="none",  # no outbound message: Salesforce announces none of them
        worker_env={**WORKER_ENV, "SFGW_RECONCILE_BATCH_SIZE": "200"},
    )
    with start_stack(config) as stack:
        sf = stack.need(stack.salesforce, "mock Salesforce")
        ids = sf.close_won(450)
        # The sweep's upper bound is a whole-second SOQL literal (now, with min age 0):
        # records closed in the current second fall inside the window once it ends.
        latest = max(_modified(row) for oid, row in stack.opportunities().items() if oid in ids)
        stack.wait_for(
            "the second of the last close to end", lambda: time.time() >= int(latest) + 1
        )
        before = sf.api_usage()["api_requests"]
        first = stack.sfgw("reconcile", "--since", "1h", "--json", env="worker")
        assert first.returncode == 0, first.stderr
        found = [json.loads(line) for line in first.stdout.splitlines()]
        assert sorted(f["opportunity_id"] for f in found) == sorted(ids)
        assert {f["outcome"] for f in found} == {"enqueued"}
        assert sf.api_usage()["api_requests"] - before == 3  # pages of 200, 200 and 50

        queued = _queued_records(stack)
        assert len(queued) == 450 and set(queued) == set(ids)

        second = stack.sfgw("reconcile", "--since", "1h", env="worker")
        assert second.returncode == 0, second.stderr
        assert "found 450 won Opportunities without an order number: 0 enqueued, 450 already " \
            "queued" in second.stdout  # fmt: skip
        assert len(_queued_records(stack)) == 450


def test_reconcile_without_a_credential_says_what_to_set(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    config = _config(tmp_path, redis_url, redis_prefix, parts=frozenset({REDIS}))
    with start_stack(config) as stack:
        legacy = {"SFGW_SF_USE_SESSION_ID": "true", "SFGW_SALESFORCE_HOSTS": "*.my.salesforce.com"}
        result = stack.sfgw("reconcile", extra_env=legacy)
        assert result.returncode == 1
        assert "SFGW_SF_CLIENT_ID" in result.stderr and len(result.stderr.splitlines()) == 1
        bad = stack.sfgw("reconcile", "--since", "yesterday", extra_env=legacy)
        assert bad.returncode == 1 and "--since" in bad.stderr
