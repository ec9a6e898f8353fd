"""``sfgw demo`` end to end, as a newcomer runs it: a real subprocess, real children.

Three full runs (about 25 s each on the busy 2-core machine): one to the end, checking the
exit code, the summary and that nothing it started is left running or listening; one
interrupted with SIGINT while Opportunities are in flight; one whose workers are killed
mid-run. Each checks that nothing it started is left running or listening.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from gateway.processes import free_port
from tests.system.demo_watch import DemoRun, start_demo

pytestmark = pytest.mark.slow

N = 30


def _assert_nothing_left(run: DemoRun) -> None:
    assert run.seen, "the demo started no processes?"
    survivors = run.survivors()
    listening = run.still_listening()
    if survivors:
        run.kill_survivors()
    assert not survivors, f"left running: {survivors}"
    assert not listening, f"still listening: {sorted(listening)}"


def test_demo_closes_n_opportunities_verifies_them_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    run = start_demo("--opportunities", str(N), "--timeout", "120", workdir=tmp_path / "demo")
    try:
        code = run.wait(timeout=240)
    finally:
        _assert_nothing_left(run)
    out = run.output
    assert code == 0, out
    assert f"OK: all {N} Opportunities carry their own order number" in out
    assert re.search(rf"notifications acked by the gateway\s+{N}/{N}", out), out
    assert re.search(rf"orders created in the ERP\s+{N}/{N}", out), out
    assert re.search(rf"Opportunities updated in Salesforce\s+{N}/{N}", out), out
    assert re.search(r"duplicates suppressed\s+\d+ at intake, \d+ skipped by workers", out), out
    assert re.search(r"Salesforce API calls \(rest\)\s+[1-9]\d*", out), out
    assert re.search(r"ack latency p50 / p99 \(gateway metrics\)\s+\d+ ms / \d+ ms", out), out
    # at least the four processes and Redis: gateway, workers, ERP, Salesforce, redis
    assert len(run.ports) >= 5, run.ports


def test_sigint_mid_run_stops_every_process(tmp_path: Path) -> None:
    run = start_demo("--opportunities", "200", workdir=tmp_path / "demo")
    try:
        assert run.wait_for_line("closing 200 Opportunities", timeout=180), run.output
        # Redis, ERP, gateway, Salesforce, worker metrics: let the watcher see them all.
        assert run.wait_for_ports(5, timeout=10), (run.ports, run.output)
        ports_while_running = set(run.ports)
        run.process.send_signal(signal.SIGINT)
        code = run.wait(timeout=120)
    finally:
        if run.process.poll() is None:
            run.process.kill()
        _assert_nothing_left(run)
    out = run.output
    assert code == 128 + signal.SIGINT, out
    assert "SIGINT received, stopping every process" in out
    assert "OK: all" not in out
    assert not ports_while_running & run.still_listening()


def test_a_part_that_dies_fails_the_demo_with_one_line_naming_it_and_its_log(
    tmp_path: Path,
) -> None:
    """SIGKILL the workers' leader mid-run: exit 1, one line naming the workers and
    their log, and the stack (including the orphaned worker processes) is stopped."""
    run = start_demo("--opportunities", "200", workdir=tmp_path / "demo")
    try:
        assert run.wait_for_line("closing 200 Opportunities", timeout=180), run.output
        assert run.wait_for_ports(5, timeout=10), (run.ports, run.output)
        leader = run.child_running("dramatiq gateway.pipeline.worker")
        os.kill(leader, signal.SIGKILL)
        code = run.wait(timeout=120)
    finally:
        if run.process.poll() is None:
            run.process.kill()
        _assert_nothing_left(run)
    out = run.output
    assert code == 1, out
    errors = [line for line in out.splitlines() if line.startswith("sfgw: error:")]
    assert len(errors) == 1, out
    assert "demo failed: workers: exited unexpectedly (exit code -9)" in errors[0]
    log = errors[0].rsplit("(log: ", 1)[1].rstrip(")")
    assert log.endswith("worker.log") and Path(log).is_file(), errors[0]


def test_an_unreachable_redis_fails_at_once_with_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    run = start_demo(
        "--opportunities", "5", workdir=tmp_path / "demo", redis_url=f"redis://127.0.0.1:{port}/0"
    )
    code = run.wait(timeout=60)
    out = run.output
    assert code == 1, out
    errors = [line for line in out.splitlines() if line.startswith("sfgw: error:")]
    assert len(errors) == 1, out
    assert "demo failed: redis: cannot reach SFGW_REDIS_URL" in errors[0]
    assert not run.survivors()
