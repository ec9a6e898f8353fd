"""End-to-end fixtures: the whole stack from :mod:`devstack.stack`, shared where it can be.

Starting the five parts costs ~10 s on the busy 2-core machine, more than most of these
tests spend on their Opportunities. So the package keeps one running stack and hands it
to every test whose settings it can switch to (:meth:`Stack.reconfigure`: contract,
SessionIds, callback API and worker settings, ERP faults); a test that needs a setting
only a start can give (the mock org's chaos, the ERP's size) gets a stack of its own,
stopped after it. A shared stack is replaced when a test using it failed, a part died or
a dead letter is left, so one failure does not cascade.

Each test sees its stack through :class:`E2eStack`, whose checks count only what happened
since the test began: the ERP orders created since (exactly one per won Opportunity, and
no other), the Opportunities it closed, and the dead letters (none are left over, or the
stack would not have been shared). Waiting and reading the parts' records is the stack's
own (:mod:`devstack.observe`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
import redis

from devstack.mocks import RunningErp, RunningSalesforce
from devstack.stack import Stack, StackConfig, start_stack, unswitchable_changes
from gateway.pipeline.stores import DeadLetter

#: Short backoffs so retries happen within a test's time (the defaults are minutes).
FAST_RETRIES = {
    "SFGW_RETRY_MIN_BACKOFF_MS": "100",
    "SFGW_RETRY_MAX_BACKOFF_MS": "2000",
    "SFGW_RETRY_LIMIT_BACKOFF_MS": "2000",
    "SFGW_SF_TIMEOUT_MS": "10000",
    "SFGW_ERP_READ_TIMEOUT_S": "10",
    "SFGW_ERP_CONNECT_TIMEOUT_S": "5",
}

#: The mock org runs 1000x faster than Salesforce (its retry schedule in milliseconds).
TIME_SCALE = 1000.0

_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember on the item whether any phase failed (the stack fixture reads it)."""
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


def e2e_config(
    workdir: Path, *, worker_env: Mapping[str, str] | None = None, **settings: Any
) -> StackConfig:
    """The e2e defaults (fast retries, fast mock clock, OAuth configured also in
    SessionId mode, as its fallback) with ``settings`` on top."""
    return StackConfig(
        workdir=workdir,
        time_scale=TIME_SCALE,
        oauth_fallback=True,
        worker_env={**FAST_RETRIES, **(worker_env or {})},
        startup_timeout=120,
        **settings,
    )


@dataclass
class E2eStack:
    """One test's view of a (maybe shared) stack, and the acceptance checks."""

    stack: Stack
    #: external references that had an ERP order before the test began
    orders_before: frozenset[str]

    @classmethod
    def begin(cls, stack: Stack) -> E2eStack:
        letters = stack.dead_letters()
        assert not letters, f"dead letters left before the test: {letters[:3]}"
        return cls(stack, frozenset(stack.erp_orders()))

    @property
    def salesforce(self) -> RunningSalesforce:
        return self.stack.need(self.stack.salesforce, "mock Salesforce")

    @property
    def erp(self) -> RunningErp:
        return self.stack.need(self.stack.erp, "mock ERP")

    def erp_orders(self) -> dict[str, tuple[str, str]]:
        """external_reference -> (order number, status) of the orders created since the
        test began, read from the ERP's own store."""
        return {
            ref: (order.order_number, order.status)
            for ref, order in self.stack.erp_orders().items()
            if ref not in self.orders_before
        }

    def erp_order_count(self) -> int:
        """ERP orders created since the test began."""
        return self.stack.erp_order_count() - len(self.orders_before)

    def dead_letters(self) -> list[DeadLetter]:
        return self.stack.dead_letters()

    def logs(self) -> str:
        return self.stack.logs()

    def wait_settled(self, ids: list[str], *, timeout: float = 180.0) -> dict[str, str]:
        """Until every Opportunity in ``ids`` carries an order number (or ``timeout``)."""
        return self.stack.wait_settled(ids, timeout=timeout)

    def assert_final_state(self, ids: list[str], *, dead_letters: int = 0) -> None:
        """One new ERP order per Opportunity in ``ids`` and no other new order (the
        ERP's UNIQUE external reference rules out a second one for the same record),
        every Opportunity carrying its order's number and status, and ``dead_letters``
        dead letters."""
        orders = self.erp_orders()
        missing = sorted(set(ids) - set(orders))[:5]
        extra = sorted(set(orders) - set(ids))[:5]
        assert set(orders) == set(ids), (
            f"ERP has {len(orders)} new orders for {len(ids)} Opportunities: "
            f"missing {missing}, extra {extra}"
        )
        assert self.erp_order_count() == len(ids)
        rows = {oid: r for oid, r in self.stack.opportunities().items() if oid in set(ids)}
        assert len(rows) == len(ids)
        wrong = [
            (oid, _order_number(row), row.get("Order_Status__c"), orders[oid])
            for oid, row in rows.items()
            if (_order_number(row), row.get("Order_Status__c")) != orders[oid]
        ]
        assert not wrong, f"{len(wrong)} Opportunities disagree with the ERP: {wrong[:5]}"
        letters = self.dead_letters()
        assert len(letters) == dead_letters, [(d.stage, d.reason) for d in letters]


def _order_number(row: Mapping[str, Any]) -> str | None:
    value = row.get("Order_Number__c")
    return str(value) if value else None


class StackFactory(Protocol):
    def __call__(self, **settings: Any) -> E2eStack: ...


class StackPool:
    """At most one shared stack, plus the dedicated stacks of the current test."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.shared: Stack | None = None
        self.dedicated: list[Stack] = []
        self._starts = 0

    def get(self, **settings: Any) -> Stack:
        if self.shared is not None:
            wanted = e2e_config(self.shared.config.workdir, **settings)
            if not unswitchable_changes(self.shared.config, wanted):
                self.shared.reset_faults()
                self.shared.reconfigure(wanted)
                return self.shared
            stack = self._start(**settings)
            self.dedicated.append(stack)
            return stack
        self.shared = self._start(**settings)
        return self.shared

    def _start(self, **settings: Any) -> Stack:
        self._starts += 1
        return start_stack(e2e_config(self.root / f"stack{self._starts}", **settings))

    def after_test(self, failed: bool) -> None:
        """Stop the test's own stacks; drop the shared one unless it is fit for reuse."""
        stacks, self.dedicated = self.dedicated, []
        for stack in stacks:
            stack.stop()
        if self.shared is not None and (failed or not _reusable(self.shared)):
            self.shared.stop()
            self.shared = None

    def close(self) -> None:
        self.after_test(failed=True)


def _reusable(stack: Stack) -> bool:
    """Every part still runs (the workers too), Redis answers, no dead letter is left."""
    try:
        stack.check_running()
        if stack.workers is None:
            return False
        return not stack.dead_letters()
    except (Exception, redis.RedisError):
        return False


@pytest.fixture(scope="package")
def stack_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackPool]:
    pool = StackPool(tmp_path_factory.mktemp("e2e"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def stack_factory(stack_pool: StackPool, request: pytest.FixtureRequest) -> Iterator[StackFactory]:
    """``stack_factory(callback_api=..., worker_env=..., ...)``: a running stack with
    those :class:`StackConfig` settings (and the e2e defaults), as an :class:`E2eStack`."""

    def make(**settings: Any) -> E2eStack:
        return E2eStack.begin(stack_pool.get(**settings))

    try:
        yield make
    finally:
        stack_pool.after_test(failed=request.node.stash.get(_FAILED, False))
