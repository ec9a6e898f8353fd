"""The stateful model of the whole system (issue 7, point 2), on real processes.

``test_invariants_hold_under_faults`` runs :class:`InvariantMachine` against the real
gateway; ``test_model_catches_*`` run the same machine against a gateway with a planted
bug (``tests/system/planted_wsgi.py``, test-only) and require hypothesis to report a
failure, so the model is shown to have teeth. ``scripts/bench soak`` runs the same
machine with many more examples and steps.

Budget: the processes start once per module; examples are namespaced by fresh
Opportunities and notification ids. Override the size with ``SFGW_MODEL_EXAMPLES`` and
``SFGW_MODEL_STEPS``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.system.invariant_machine import RunStats, model_settings, run_model
from tests.system.invariant_stack import CONTRACT, Stack, running_stack

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("SFGW_MODEL_EXAMPLES", "3"))
STEPS = int(os.environ.get("SFGW_MODEL_STEPS", "10"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("model")) as running:
        yield running


@pytest.mark.timeout(600)
def test_invariants_hold_under_faults(stack: Stack) -> None:
    stats = RunStats()
    run_model(
        stack,
        stack.gateway.outbound_url(CONTRACT),
        model_settings(max_examples=EXAMPLES, steps=STEPS),
        stats,
    )
    print(f"model run: {stats}")
    assert stats.examples >= EXAMPLES
    # Not vacuous: the examples acked notifications and completed orders end to end.
    assert stats.acked_direct + stats.acked_by_salesforce > 0
    assert stats.ordered_and_updated > 0, stats


@pytest.mark.timeout(600)
@pytest.mark.parametrize("bug", ["ack_then_drop", "dedupe_ignores_org"])
def test_model_catches_planted_bug(
    stack: Stack, bug: str, capsys: pytest.CaptureFixture[str]
) -> None:
    planted_url = stack.start_planted_gateway(bug)
    stack.point_salesforce_at(planted_url)
    stats = RunStats()
    try:
        with pytest.raises(AssertionError) as caught:
            run_model(stack, planted_url, model_settings(max_examples=20, steps=STEPS), stats)
    finally:
        stack.point_salesforce_at(stack.gateway.outbound_url(CONTRACT))
    message = str(caught.value)
    print(f"planted bug {bug!r} caught after {stats.examples} example(s): {message[:300]}")
    assert "invariant 1" in message
