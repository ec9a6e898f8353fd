"""Acceptance: won Opportunities end with exactly one ERP order each and every
Opportunity carrying its order number and status, for every callback API, both
contracts, SessionIds on and off.

500 Opportunities run once per callback API (the three big runs vary the contract and
the session mode between them); the remaining combinations run with 20 Opportunities,
which exercises the same code paths (batching up to 100 per message, Id-only reads,
legacy SessionId) in a fraction of the time.

The cases share one running stack (tests/e2e/conftest.py): the mock org's outbound
message switches contract and SessionIds between cases and the workers restart when the
callback API or the session mode changes, so the list is grouped by those two.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import StackFactory

pytestmark = pytest.mark.slow

MATRIX = [
    # (callback API, contract, SessionIds, Opportunities)
    ("rest", "opportunity_id_only", False, 500),
    ("rest", "opportunity_with_fields", False, 20),
    ("rest", "opportunity_id_only", True, 20),
    ("rest", "opportunity_with_fields", True, 20),
    ("collections", "opportunity_id_only", False, 20),
    ("collections", "opportunity_with_fields", False, 20),
    ("collections", "opportunity_with_fields", True, 500),
    ("collections", "opportunity_id_only", True, 20),
    ("soap", "opportunity_with_fields", False, 20),
    ("soap", "opportunity_id_only", False, 20),
    ("soap", "opportunity_id_only", True, 500),
    ("soap", "opportunity_with_fields", True, 20),
]


@pytest.mark.parametrize(
    ("callback_api", "contract", "session_ids", "count"),
    MATRIX,
    ids=[
        f"{a}-{c.removeprefix('opportunity_')}-{'sid' if s else 'oauth'}-{n}"
        for a, c, s, n in MATRIX
    ],
)
def test_won_opportunities_end_with_one_order_each(
    stack_factory: StackFactory, callback_api: str, contract: str, session_ids: bool, count: int
) -> None:
    stack = stack_factory(callback_api=callback_api, contract=contract, session_ids=session_ids)
    started = time.monotonic()
    ids = stack.salesforce.close_won(count)
    stack.wait_settled(ids, timeout=240)
    elapsed = time.monotonic() - started
    stack.assert_final_state(ids)
    print(f"{count} Opportunities via {callback_api}/{contract}: {elapsed:.1f}s")
