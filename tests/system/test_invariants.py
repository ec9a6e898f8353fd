"""The stateful model of the whole system, on real processes.

``test_invariants_hold_under_faults`` runs :class:`InvariantMachine` against the real
gateway; ``test_model_catches_*`` run the same machine against a gateway with a planted
bug (``tests/system/planted_wsgi.py``, test-only) and require hypothesis to report a
failure, so the model is shown to have teeth. ``scripts/bench soak`` runs the same
machine with many more examples and steps.

Budget: the processes start once per module (a :class:`devstack.stack.Stack` with the
model's preset); examples are namespaced by fresh Opportunities and notification ids.
Override the size with ``SFGW_MODEL_EXAMPLES`` and ``SFGW_MODEL_STEPS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import Stack, start_stack
from tests.e2e.fired import fired_counts
from tests.system.invariant_machine import (
    CONTRACT,
    RunStats,
    model_config,
    model_settings,
    run_model,
)

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("SFGW_MODEL_EXAMPLES", "6"))
STEPS = int(os.environ.get("SFGW_MODEL_STEPS", "12"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with start_stack(model_config(tmp_path_factory.mktemp("model"))) as running:
        yield running


@pytest.mark.timeout(600)
def test_invariants_hold_under_faults(stack: Stack) -> None:
    stats = RunStats()
    counters = (fired_counts(stack, "salesforce"), fired_counts(stack, "erp"))
    run_model(
        stack,
        stack.need(stack.gateway, "gateway").outbound_url(CONTRACT),
        model_settings(max_examples=EXAMPLES, steps=STEPS),
        stats,
    )
    print(f"model run: {stats}")
    print(f"fault counters before: {counters}; after: {fired_counts(stack, 'salesforce')}, "
          f"{fired_counts(stack, 'erp')}")  # fmt: skip
    # Not vacuous: the examples acked notifications and completed orders end to end,
    # and faults struck (each one proven by the machine from the parts' records).
    assert stats.acked_direct + stats.acked_by_salesforce > 0
    assert stats.ordered_and_updated > 0, stats
    assert sum(stats.fired.values()) > 0, stats.steps
    # Every crash and restart the examples asked for happened (the rules assert each).
    for fault in ("kill_workers", "restart_redis"):
        assert stats.fired.get(fault, 0) == stats.steps.get(fault, 0), stats


def invariant_failures(error: BaseException) -> list[str]:
    """The AssertionError messages in ``error``, its causes and (for hypothesis's
    flakiness reports, which are exception groups) its members."""
    found: list[str] = []
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, AssertionError):
            found.append(str(current))
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return found


@pytest.mark.timeout(600)
@pytest.mark.parametrize("bug", ["ack_then_drop", "dedupe_ignores_org"])
def test_model_catches_planted_bug(stack: Stack, bug: str) -> None:
    """The same machine, POSTing to a gateway with a planted bug (the mock Salesforce
    keeps sending to the real one, so the failure surfaces at the step that caused it),
    must fail with invariant 1 naming a notification the bug dropped."""
    planted = stack.start_gateway(
        app="tests.system.planted_wsgi:build()", env={"SFGW_TEST_PLANTED_BUG": bug}
    )
    planted_url = planted.outbound_url(CONTRACT)
    stats = RunStats()
    config = model_settings(max_examples=10, steps=STEPS, seed_derandomize=True)
    with pytest.raises(BaseException) as caught:
        run_model(stack, planted_url, config, stats)
    messages = [m for m in invariant_failures(caught.value) if "invariant 1" in m]
    print(
        f"planted bug {bug!r}: hypothesis failed after {stats.examples} example(s), "
        f"steps {stats.steps}:"
    )
    print(messages[0][:1500] if messages else repr(caught.value)[:1500])
    assert messages, f"no invariant-1 failure reported: {caught.value!r}"
    # The dropped notification is one the bug is about, not some other loss.
    culprits = stats.direct_ids if bug == "ack_then_drop" else stats.two_org_ids
    assert any(nid in m for m in messages for nid in culprits), messages


@pytest.mark.timeout(600)
def test_bench_soak_command_runs_the_model(repo_root: Path) -> None:
    """``scripts/bench soak`` (here as ``python -m bench soak``, tiny) prints its table
    and writes its JSON; exit 0 means every invariant held."""
    before = set((repo_root / "bench" / "results").glob("soak-*.json"))
    result = subprocess.run(
        [sys.executable, "-m", "bench", "soak", "--examples", "2", "--steps", "5"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=500,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "every invariant held" in result.stdout
    assert "rule: " in result.stdout and "examples run" in result.stdout
    written = set((repo_root / "bench" / "results").glob("soak-*.json")) - before
    assert written, result.stdout
    report = json.loads(max(written).read_text())
    assert report["passed"] is True and report["stats"]["examples"] >= 2
