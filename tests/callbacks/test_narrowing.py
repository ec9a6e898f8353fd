"""The narrowing of an Apex batch that throws: pure, no sockets."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.pipeline.callbacks.narrowing import (
    ISOLATED_CODE,
    failure_budget,
    send_narrowing,
)
from gateway.salesforce.errors import ApexCallFailed, RecordOutcome, SalesforceError


class FakeApex:
    """Throws when a call holds a poisoned id or more than ``row_limit`` records."""

    def __init__(
        self, *, poisoned: Collection[str] = (), row_limit: int = 10_000, throws_first: int = 0
    ) -> None:
        self.poisoned = set(poisoned)
        self.row_limit = row_limit
        self.throws_first = throws_first
        self.calls: list[list[str]] = []

    def __call__(self, batch: Sequence[str]) -> list[RecordOutcome]:
        self.calls.append(list(batch))
        if len(self.calls) <= self.throws_first:
            raise ApexCallFailed("APEX_ERROR", "System.CalloutException: transient")
        if len(batch) > self.row_limit:
            raise ApexCallFailed("APEX_ERROR", "System.LimitException: Too many DML rows")
        if self.poisoned & set(batch):
            raise ApexCallFailed("APEX_ERROR", "System.NullPointerException: in a trigger")
        return [RecordOutcome.success(record) for record in batch]


def ids(count: int) -> list[str]:
    return [f"006{n:015d}" for n in range(count)]


def narrow(apex: FakeApex, records: list[str]) -> list[RecordOutcome | BaseException]:
    return send_narrowing(apex, records, lambda record: record)


def test_a_batch_that_succeeds_is_one_call() -> None:
    apex = FakeApex()
    outcomes = narrow(apex, ids(1000))
    assert len(apex.calls) == 1
    assert all(isinstance(o, RecordOutcome) and o.ok for o in outcomes)


def test_a_transient_throw_is_retried_as_the_same_batch() -> None:
    apex = FakeApex(throws_first=1)
    outcomes = narrow(apex, ids(1000))
    assert [len(call) for call in apex.calls] == [1000, 1000]
    assert all(isinstance(o, RecordOutcome) and o.ok for o in outcomes)


def test_a_batch_above_the_row_limit_is_split_until_it_fits() -> None:
    apex = FakeApex(row_limit=300)
    records = ids(1000)
    outcomes = narrow(apex, records)
    assert [len(call) for call in apex.calls] == [1000, 1000, 500, 250, 250, 500, 250, 250]
    assert [o.record_id for o in outcomes if isinstance(o, RecordOutcome) and o.ok] == records


def test_one_poisoned_record_is_isolated_and_blamed_alone() -> None:
    records = ids(1000)
    apex = FakeApex(poisoned=[records[617]])
    outcomes = narrow(apex, records)
    bad = outcomes[617]
    assert isinstance(bad, RecordOutcome)
    assert (bad.kind, bad.code) == ("permanent", ISOLATED_CODE)
    assert "NullPointerException" in bad.message
    assert all(isinstance(o, RecordOutcome) and o.ok for i, o in enumerate(outcomes) if i != 617)
    # 2 whole-batch calls, then two calls per level of halving (1000 -> 1: 10 levels)
    assert len(apex.calls) <= 2 + 2 * 10


def test_an_apex_that_throws_for_everything_blames_no_record() -> None:
    """A broken deployment: nothing was saved, so every record backs off and retries with
    the call's exception, after a bounded number of calls."""
    records = ids(1000)
    apex = FakeApex(row_limit=0)
    outcomes = narrow(apex, records)
    assert all(isinstance(o, ApexCallFailed) for o in outcomes)
    assert len(apex.calls) <= 2 + 2 * failure_budget(1000)


def test_a_single_record_batch_that_throws_is_retried_not_dead_lettered() -> None:
    """Alone in its batch, a record that throws may be a transient Apex failure: there is
    no other record that was saved to prove otherwise."""
    apex = FakeApex(poisoned=["006000000000000001"])
    outcomes = narrow(apex, ["006000000000000001"])
    assert len(apex.calls) == 2
    assert isinstance(outcomes[0], ApexCallFailed)


def test_other_failures_are_not_split() -> None:
    """A session, limit or outage error is not about the records: no narrowing."""

    def call(batch: Sequence[str]) -> list[RecordOutcome]:
        raise SalesforceError("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded")

    outcomes = send_narrowing(call, ids(10), lambda record: record)
    assert all(isinstance(o, SalesforceError) and o.kind == "limit" for o in outcomes)


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=300),
    poisoned=st.sets(st.integers(min_value=0, max_value=299), max_size=3),
    row_limit=st.integers(min_value=1, max_value=400),
)
def test_every_record_gets_its_own_outcome_in_order(
    size: int, poisoned: set[int], row_limit: int
) -> None:
    records = ids(size)
    bad = {records[i] for i in poisoned if i < size}
    apex = FakeApex(poisoned=bad, row_limit=row_limit)
    outcomes = narrow(apex, records)
    assert len(outcomes) == size
    saved = {o.record_id for o in outcomes if isinstance(o, RecordOutcome) and o.ok}
    # a saved record was in a call that succeeded; a bad record is never reported saved
    assert not saved & bad
    for record, outcome in zip(records, outcomes, strict=True):
        if isinstance(outcome, RecordOutcome):
            assert outcome.record_id == record
    if saved:
        # when anything could be saved, every good record was, and only bad ones are blamed
        assert saved == set(records) - bad or len(apex.calls) >= failure_budget(size)
    blamed = {o.record_id for o in outcomes if isinstance(o, RecordOutcome) and not o.ok}
    assert blamed <= bad


@pytest.mark.parametrize("size", [1, 2, 200, 1000, 2000])
def test_the_budget_grows_with_the_depth_of_the_halving(size: int) -> None:
    assert failure_budget(size) >= 2 + 2 * max(1, (size - 1).bit_length())
