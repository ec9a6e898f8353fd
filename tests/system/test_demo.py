"""``sfgw demo`` end to end, as a newcomer runs it: a real subprocess, real children.

Three full runs (about 25 s each on the busy 2-core machine): one to the end, checking the
exit code and the summary; one interrupted with SIGINT while Opportunities are in flight;
one with ``--keep-running`` whose printed commands are run and whose workers are then
killed. Each checks that nothing it started is left running or listening.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.processes import free_port
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
    assert re.search(r"Salesforce API calls \(collections\)\s+[1-9]\d*", out), out
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


def test_keep_running_prints_commands_that_work_and_a_dying_part_stops_everything(
    tmp_path: Path,
) -> None:
    """``--keep-running``: the printed inspect commands run against the live stack (as a
    reader would paste them); then SIGKILL the workers' leader: exit 1, one line naming
    the workers and their log, and the whole stack (orphaned worker processes included)
    is stopped."""
    run = start_demo("--opportunities", "20", "--keep-running", workdir=tmp_path / "demo")
    try:
        assert run.wait_for_line("Inspect it from another terminal", timeout=240), run.output
        assert run.wait_for_line("sfgw dlq list", timeout=10), run.output
        results = _run_printed_commands(run.output)
        assert "no dead letters" in results["sfgw dlq list"], results
        assert "dead letters:" in results["sfgw status"], results
        assert results["sfgw erp orders"].count("SO-") == 20, results
        assert results["sfgw salesforce opportunities"].count("SO-") == 20, results
        leader = run.child_running("dramatiq gateway.pipeline.worker")
        os.kill(leader, signal.SIGKILL)
        code = run.wait(timeout=120)
    finally:
        if run.process.poll() is None:
            run.process.kill()
        _assert_nothing_left(run)
    out = run.output
    assert "OK: all 20 Opportunities carry their own order number" in out
    assert code == 1, out
    errors = [line for line in out.splitlines() if line.startswith("sfgw: error:")]
    assert len(errors) == 1, out
    assert "demo failed: workers: exited unexpectedly (exit code -9)" in errors[0]
    log = errors[0].rsplit("(log: ", 1)[1].rstrip(")")
    assert log.endswith("worker.log") and Path(log).is_file(), errors[0]


def _run_printed_commands(output: str) -> dict[str, str]:
    """Run every ``sfgw ...`` line the demo printed under "Inspect it", all at once."""
    block = output.split("Inspect it from another terminal", 1)[1]
    procs = {}
    for raw in block.splitlines():
        words = shlex.split(raw.strip()) if "sfgw " in raw else []
        if not words:
            continue
        env = dict(os.environ)
        while "=" in words[0]:
            name, value = words.pop(0).split("=", 1)
            env[name] = value
        assert words[0] == "sfgw", raw
        if words[1:3] == ["salesforce", "close-won"]:
            continue  # changes the org; the other commands only look
        key = " ".join(w for w in words if not w.startswith(("-", "/")))
        procs[key] = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", *words[1:]],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    results = {}
    for key, proc in procs.items():
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, (key, out)
        results[key] = out
    assert len(results) == 5, results
    return results


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


def test_sigterm_during_start_up_stops_what_was_starting(tmp_path: Path) -> None:
    """The hardest moment: parts are half-started in several threads. The demo lets the
    launchers finish, then stops everything; nothing may be left behind."""
    run = start_demo("--opportunities", "20", workdir=tmp_path / "demo")
    try:
        assert run.wait_for_ports(2, timeout=120), (run.ports, run.output)  # Redis + one
        run.process.send_signal(signal.SIGTERM)
        code = run.wait(timeout=120)
    finally:
        if run.process.poll() is None:
            run.process.kill()
        _assert_nothing_left(run)
    out = run.output
    assert code == 128 + signal.SIGTERM, out
    assert "SIGTERM received, stopping every process" in out
