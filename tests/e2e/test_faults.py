"""Fault tests against real processes: each ends with one ERP order per Opportunity,
every Opportunity updated, and no dead letters (the faults are all transient).

Each test also proves its fault fired, from what the parts recorded (a test that passes
when the fault never happened proves nothing): the org's redeliveries, the killed
group's exit code and its messages left in flight, a new Redis run id while work was
pending, the ERP supervisor's down window, new OAuth sessions, the API usage stopping at
the limit. Faults that leave no such record are checked through the mocks' fault counters
(tests/e2e/fired.py).

Most of them share one running stack (tests/e2e/conftest.py): the ERP's faults and the
workers' settings are switched per test. The mock org's chaos and a bigger ERP need a
stack of their own."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import E2eStack, StackFactory
from tests.e2e.fired import FaultCounters

pytestmark = pytest.mark.slow

N = 60
#: One worker process with few threads and a slow ERP: work is still queued and in
#: flight a while after the first Opportunities are done, when the fault strikes.
SLOW_PIPELINE = {
    "worker_processes": 1,
    "worker_threads": 4,
    "erp_faults": {"latency": {"distribution": "fixed", "ms": 200}},
}


def _wait_some_done(stack: E2eStack, ids: list[str], at_least: int, timeout: float = 120) -> None:
    stack.stack.wait_for(
        f"{at_least} of {len(ids)} Opportunities done",
        lambda: len(stack.stack.order_numbers(ids)) >= at_least,
        timeout,
    )


def _wait_in_messages(stack: E2eStack, notifications: int) -> None:
    """Until the org has put ``notifications`` notifications into outbound messages."""

    def sent() -> int:
        return sum(m["notifications"] for m in stack.salesforce.deliveries(include_delivered=True))

    stack.stack.wait_for(
        f"{notifications} notifications in messages", lambda: sent() >= notifications
    )


def test_redelivered_and_reordered_messages(stack_factory: StackFactory) -> None:
    stack = stack_factory(
        salesforce_env={
            "SFGW_MOCKSF_CHAOS_REDELIVER": "0.7",
            "SFGW_MOCKSF_CHAOS_REORDER": "0.5",
        }
    )
    counters = FaultCounters.now(stack.stack)
    before = {m["id"] for m in stack.salesforce.deliveries(include_delivered=True)}
    sent_before = sum(
        m["notifications"] for m in stack.salesforce.deliveries(include_delivered=True)
    )
    ids: list[str] = []
    # Six rounds, each sent as a message of its own: each delivery is redelivered with
    # probability 0.7, so the chance that none of six is redelivered is 0.3^6 (< 0.1 %).
    for _ in range(6):
        ids += stack.salesforce.close_won(N // 6)
        _wait_in_messages(stack, sent_before + len(ids))
    stack.wait_settled(ids)
    # the redeliveries arrive too; nothing may change because of them
    assert stack.stack.wait_idle(timeout=120), stack.stack.queue_report()
    stack.assert_final_state(ids)
    messages = [
        m for m in stack.salesforce.deliveries(include_delivered=True) if m["id"] not in before
    ]
    assert sum(m["redeliveries"] for m in messages) > 0, messages
    counters.assert_fired(stack.stack, "salesforce", "chaos_reorder")


def test_worker_sigkilled_mid_run(stack_factory: StackFactory) -> None:
    stack = stack_factory(**SLOW_PIPELINE, worker_env={"SFGW_BROKER_HEARTBEAT_TIMEOUT_MS": "5000"})
    ids = stack.salesforce.close_won(N)
    _wait_some_done(stack, ids, 5)
    killed = stack.stack.kill_workers()
    assert killed is not None and killed.exit_code == -9, killed
    # what it had fetched stays in its in-flight set until its heartbeat expires
    assert stack.stack.in_flight() > 0, stack.stack.queue_report()
    stack.stack.start_workers()
    stack.wait_settled(ids, timeout=180)
    stack.assert_final_state(ids)


def test_redis_restarted_mid_run(stack_factory: StackFactory) -> None:
    stack = stack_factory(**SLOW_PIPELINE)
    ids = stack.salesforce.close_won(N)
    _wait_some_done(stack, ids, 5)
    run_id = stack.stack.redis_run_id()
    assert len(stack.stack.order_numbers(ids)) < N  # the restart strikes mid-run
    stack.stack.restart_redis()
    assert stack.stack.redis_run_id() != run_id  # a new server process, same data
    stack.wait_settled(ids, timeout=180)
    stack.assert_final_state(ids)


def test_erp_down_for_twenty_seconds(stack_factory: StackFactory) -> None:
    stack = stack_factory()
    windows = stack.stack.log_count("mock ERP", "down window")
    stack.erp.set_faults(down={"seconds": 20})
    started = time.monotonic()
    ids = stack.salesforce.close_won(N)
    stack.wait_settled(ids, timeout=180)
    assert time.monotonic() - started > 15  # nothing got through while it was down
    stack.assert_final_state(ids)
    # its supervisor really took gunicorn down (connections refused), not just slow
    assert stack.stack.log_count("mock ERP", "down window") > windows


def test_erp_commits_then_drops_the_connection(stack_factory: StackFactory) -> None:
    stack = stack_factory(erp_faults={"drop_after_commit": {"rate": 0.3}})
    counters = FaultCounters.now(stack.stack)
    ids = stack.salesforce.close_won(N)
    stack.wait_settled(ids)
    stack.assert_final_state(ids)
    counters.assert_fired(stack.stack, "erp", "drop_after_commit")


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
    counters = FaultCounters.now(stack.stack)
    ids = stack.salesforce.close_won(N)
    stack.wait_settled(ids)
    stack.assert_final_state(ids)
    counters.assert_fired(stack.stack, "erp", "slow_response")


@pytest.mark.parametrize("session_ids", [False, True], ids=["token", "session-id"])
def test_credentials_expire_mid_run(stack_factory: StackFactory, session_ids: bool) -> None:
    stack = stack_factory(session_ids=session_ids, **SLOW_PIPELINE)
    ids = stack.salesforce.close_won(N)
    _wait_some_done(stack, ids, 5)
    expired_at = time.time()
    stack.salesforce.expire_sessions()
    stack.wait_settled(ids)
    stack.assert_final_state(ids)
    # The callbacks after the expiry were refused and the workers logged in again: the
    # org issued a new OAuth token (in SessionId mode: the fallback's).
    assert stack.stack.salesforce_sessions("oauth", since=expired_at) >= 1


def test_unable_to_lock_row_on_a_fifth_of_callbacks(stack_factory: StackFactory) -> None:
    stack = stack_factory(callback_api="rest")
    counters = FaultCounters.now(stack.stack)
    stack.salesforce.set_faults(lock_probability=0.2)
    ids = stack.salesforce.close_won(N)
    stack.wait_settled(ids)
    stack.assert_final_state(ids)
    counters.assert_fired(stack.stack, "salesforce", "lock_error")


def test_api_limit_reached_then_reset(stack_factory: StackFactory) -> None:
    stack = stack_factory(contract="opportunity_id_only")
    counters = FaultCounters.now(stack.stack)
    used = stack.salesforce.api_usage()["api_requests"]
    limit = used + 20
    stack.salesforce.set_faults(daily_api_limit=limit)
    ids = stack.salesforce.close_won(N)
    stack.stack.wait_for(
        "the workers used the API up to the limit",
        lambda: stack.salesforce.api_usage()["api_requests"] >= limit,
    )
    pending = set(ids) - set(stack.stack.order_numbers(ids))
    assert pending, "the API limit should have held some callbacks back"
    # refused calls are not counted: usage stops at the limit
    assert stack.salesforce.api_usage()["api_requests"] == limit
    counters.assert_fired(stack.stack, "salesforce", "limit_exceeded")
    stack.salesforce.reset_usage()
    stack.salesforce.set_faults(daily_api_limit=100_000)
    stack.wait_settled(ids)
    stack.assert_final_state(ids)
