"""A permanent failure (a validation rule rejecting the callback) lands in
``sfgw dlq list`` with a readable reason; ``sfgw dlq replay`` completes it once the
cause is fixed, without a second ERP order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.e2e.conftest import E2eStack, StackFactory

pytestmark = pytest.mark.slow


def _sfgw(stack: E2eStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **stack.core_env())
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("callback_api", ["rest", "soap"])
def test_rejected_callback_is_dead_lettered_and_replayed(
    stack_factory: StackFactory, callback_api: str
) -> None:
    stack = stack_factory(callback_api=callback_api)
    ids = stack.salesforce.create_opportunities(20)
    rejected = ids[3]
    stack.salesforce.set_faults(validation_fail_ids=[rejected])
    assert sorted(stack.salesforce.close_won(20)) == sorted(ids)
    others = [oid for oid in ids if oid != rejected]
    stack.wait_settled(others)
    deadline = time.monotonic() + 120
    while not stack.dead_letters() and time.monotonic() < deadline:
        time.sleep(0.5)

    listing = _sfgw(stack, "dlq", "list")
    assert listing.returncode == 0, listing.stderr
    assert rejected in listing.stdout and "callbacks" in listing.stdout, listing.stdout
    (letter,) = [
        json.loads(line) for line in _sfgw(stack, "dlq", "list", "--json").stdout.splitlines()
    ]
    assert letter["stage"] == "callbacks"
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in letter["reason"], letter
    assert stack.erp_order_count() == 20  # the order exists; only the write-back failed

    stack.salesforce.set_faults(validation_fail_ids=[])
    replayed = _sfgw(stack, "dlq", "replay", "--all")
    assert replayed.returncode == 0, replayed.stderr
    stack.wait_settled(ids, timeout=120)
    stack.assert_final_state(ids)
    assert stack.erp_order_count() == 20
