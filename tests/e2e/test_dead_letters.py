"""A permanent failure (a validation rule rejecting the callback) lands in
``sfgw dlq list`` with a readable reason; ``sfgw dlq replay`` completes it once the
cause is fixed, without a second ERP order."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import StackFactory
from tests.e2e.fired import FaultCounters

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("callback_api", ["rest", "soap"])
def test_rejected_callback_is_dead_lettered_and_replayed(
    stack_factory: StackFactory, callback_api: str
) -> None:
    stack = stack_factory(callback_api=callback_api)
    sfgw = stack.stack.sfgw
    counters = FaultCounters.now(stack.stack)
    ids = stack.salesforce.create_opportunities(20)
    rejected = ids[3]
    stack.salesforce.set_faults(validation_fail_ids=[rejected])
    assert sorted(stack.salesforce.close_won(20)) == sorted(ids)
    others = [oid for oid in ids if oid != rejected]
    stack.wait_settled(others)
    stack.stack.wait_for(
        "the rejected callback's dead letter", lambda: bool(stack.dead_letters()), timeout=120
    )
    counters.assert_fired(stack.stack, "salesforce", "validation_error")

    listing = sfgw("dlq", "list")
    assert listing.returncode == 0, listing.stderr
    assert rejected in listing.stdout and "callbacks" in listing.stdout, listing.stdout
    (letter,) = [json.loads(line) for line in sfgw("dlq", "list", "--json").stdout.splitlines()]
    assert letter["stage"] == "callbacks"
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in letter["reason"], letter
    assert stack.erp_order_count() == 20  # the order exists; only the write-back failed

    stack.salesforce.set_faults(validation_fail_ids=[])
    replayed = sfgw("dlq", "replay", "--all")
    assert replayed.returncode == 0, replayed.stderr
    stack.wait_settled(ids, timeout=120)
    stack.assert_final_state(ids)
    assert stack.erp_order_count() == 20
