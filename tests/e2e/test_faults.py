"""Fault tests against real processes: each ends with one ERP order per Opportunity,
every Opportunity updated, and no dead letters (the faults are all transient).

Most of them share one running stack (tests/e2e/conftest.py): the ERP's faults and the
workers' settings are switched per test. The mock org's chaos and a bigger ERP need a
stack of their own."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import E2eStack, StackFactory

pytestmark = pytest.mark.slow

N = 60


def _wait_some_done(stack: E2eStack, ids: list[str], at_least: int, timeout: float = 120) -> None:
    wanted = set(ids)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = sum(
            1
            for r in stack.salesforce.opportunities()
            if r["Id"] in wanted and r.get("Order_Number__c")
        )
        if done >= at_least:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {at_least} done after {timeout:.0f}s\n{stack.logs()}")


def test_redelivered_and_reordered_messages(stack_factory: StackFactory) -> None:
    stack = stack_factory(
        salesforce_env={
            "SFGW_MOCKSF_CHAOS_REDELIVER": "0.3",
            "SFGW_MOCKSF_CHAOS_REORDER": "0.5",
        }
    )
    messages_before = len(stack.salesforce.deliveries(include_delivered=True))
    ids = stack.salesforce.close_won(N)
    stack.wait_settled(ids)
    # let the redeliveries arrive too, then check nothing changed
    stack.salesforce.wait_delivered(timeout=120)
    time.sleep(2)
    stack.assert_final_state(ids)
    attempts = stack.salesforce.deliveries(include_delivered=True)
    assert len(attempts) > messages_before


def test_worker_sigkilled_mid_run(stack_factory: StackFactory) -> None:
    stack = stack_factory(
        worker_processes=1,
        worker_threads=4,
        worker_env={"SFGW_BROKER_HEARTBEAT_TIMEOUT_MS": "5000"},
        erp_faults={"latency": {"distribution": "fixed", "ms": 200}},
    )
    ids = stack.salesforce.close_won(N)
    _wait_some_done(stack, ids, 5)
    assert stack.stack.workers is not None
    stack.stack.kill_workers()
    stack.stack.start_workers()
    stack.wait_settled(ids, timeout=180)
    stack.assert_final_state(ids)


def test_redis_restarted_mid_run(stack_factory: StackFactory) -> None:
    stack = stack_factory(erp_faults={"latency": {"distribution": "fixed", "ms": 100}})
    ids = stack.salesforce.close_won(N)
    _wait_some_done(stack, ids, 5)
    stack.stack.restart_redis()
    stack.wait_settled(ids, timeout=180)
    stack.assert_final_state(ids)


def test_erp_down_for_twenty_seconds(stack_factory: StackFactory) -> None:
    stack = stack_factory()
    stack.erp.set_faults(down={"seconds": 20})
    started = time.monotonic()
    ids = stack.salesforce.close_won(N)
    stack.wait_settled(ids, timeout=180)
    assert time.monotonic() - started > 15  # nothing got through while it was down
    stack.assert_final_state(ids)


def test_erp_commits_then_drops_the_connection(stack_factory: StackFactory) -> None:
    stack = stack_factory(erp_faults={"drop_after_commit": {"rate": 0.3}})
    ids = stack.salesforce.close_won(N)
    stack.wait_settled(ids)
    stack.assert_final_state(ids)


def test_erp_slower_than_the_client_timeout(stack_factory: StackFactory) -> None:
    """A fifth of the ERP's answers come after the client gave up (1 s). Few worker
    threads and four ERP workers: the ERP keeps working on requests whose client left,
    so sixteen threads with a 2 s maximum backoff keep two sync ERP workers saturated
    forever (measured: no progress in 180 s). Production backoffs grow to minutes."""
    stack = stack_factory(
        worker_processes=1,
        worker_threads=3,
        worker_env={"SFGW_ERP_READ_TIMEOUT_S": "1"},
        erp_faults={"slow_response": {"rate": 0.2, "seconds": 2}},
        erp_workers=4,
    )
    ids = stack.salesforce.close_won(N)
    stack.wait_settled(ids)
    stack.assert_final_state(ids)


@pytest.mark.parametrize("session_ids", [False, True], ids=["token", "session-id"])
def test_credentials_expire_mid_run(stack_factory: StackFactory, session_ids: bool) -> None:
    stack = stack_factory(
        session_ids=session_ids,
        erp_faults={"latency": {"distribution": "fixed", "ms": 100}},
    )
    ids = stack.salesforce.close_won(N)
    _wait_some_done(stack, ids, 5)
    assert stack.salesforce.expire_sessions() > 0
    stack.wait_settled(ids)
    stack.assert_final_state(ids)


def test_unable_to_lock_row_on_a_fifth_of_callbacks(stack_factory: StackFactory) -> None:
    stack = stack_factory(callback_api="rest")
    stack.salesforce.set_faults(lock_probability=0.2)
    ids = stack.salesforce.close_won(N)
    stack.wait_settled(ids)
    stack.assert_final_state(ids)


def test_api_limit_reached_then_reset(stack_factory: StackFactory) -> None:
    stack = stack_factory(contract="opportunity_id_only")
    used = stack.salesforce.api_usage()["api_requests"]
    stack.salesforce.set_faults(daily_api_limit=used + 20)
    ids = stack.salesforce.close_won(N)
    time.sleep(8)
    pending = [
        r
        for r in stack.salesforce.opportunities()
        if r["Id"] in set(ids) and not r.get("Order_Number__c")
    ]
    assert pending, "the API limit should have held some callbacks back"
    stack.salesforce.reset_usage()
    stack.salesforce.set_faults(daily_api_limit=100_000)
    stack.wait_settled(ids)
    stack.assert_final_state(ids)
