"""The e2e benchmark's arithmetic and reporting, without processes (except the sampler
test, which reads a real process tree)."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from bench.common import finite, quantile, salesforce_time, write_results
from bench.e2e import (
    APEX_BUDGET,
    COALESCED_BUDGET,
    Row,
    _count,
    _modes,
    batch_note,
    batch_sizes,
    budget_verdicts,
    callback_latencies_ms,
    drain_seconds,
    drain_verdicts,
    headline,
    poll_interval,
    process_table,
    report_document,
    settings_in_effect,
    summary_table,
)
from bench.processes import Sample, TreeSampler, cpu_between, peak_rss, sum_by_kind

T0 = salesforce_time("2026-11-27T10:00:00.000+0000")


def _sf(seconds_after_t0: float) -> str:
    """A Salesforce REST datetime ``seconds_after_t0`` after 10:00:00 UTC (ms precision)."""
    whole, ms = divmod(round(seconds_after_t0 * 1000), 1000)
    minutes, secs = divmod(whole, 60)
    return f"2026-11-27T10:{minutes:02d}:{secs:02d}.{ms:03d}+0000"


def test_quantile_is_nearest_rank_and_only_reports_measured_values() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # unordered input
    assert quantile(values, 0.5) == 50
    assert quantile(values, 0.99) == 99
    assert quantile(values, 1.0) == 100
    assert quantile(values, 0.0) == 1
    assert quantile([7.0], 0.99) == 7.0
    assert quantile([1.0, 2.0], 0.5) == 1.0
    assert quantile([1.0, 2.0, 10.0], 0.99) == 10.0
    assert math.isnan(quantile([], 0.5))
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        quantile([1.0], 99)


def test_salesforce_time_reads_the_mock_orgs_format() -> None:
    assert salesforce_time(_sf(1.234)) - T0 == pytest.approx(1.234)
    assert salesforce_time("1970-01-01T00:00:01.500+0000") == 1.5


def test_callback_latency_pairs_each_order_with_its_own_opportunity() -> None:
    opportunities = [
        {"Id": "A", "Order_Number__c": "SO-000001", "LastModifiedDate": _sf(1.5)},
        {"Id": "B", "Order_Number__c": "SO-000002", "LastModifiedDate": _sf(3.0)},
        {"Id": "C", "Order_Number__c": None, "LastModifiedDate": _sf(9.0)},  # not updated
        {"Id": "X", "Order_Number__c": "SO-9", "LastModifiedDate": _sf(50.0)},  # not ours
    ]
    created = {"A": T0 + 1.0, "B": T0 + 0.5, "C": T0 + 0.1, "D": T0}
    latencies = callback_latencies_ms(["A", "B", "C", "D"], created, opportunities)
    assert latencies == pytest.approx([500.0, 2500.0])
    # an update stamped before the order (clock granularity) is 0, never negative
    early = [{"Id": "A", "Order_Number__c": "SO-1", "LastModifiedDate": _sf(0.999)}]
    assert callback_latencies_ms(["A"], {"A": T0 + 1.0004}, early) == [0.0]


def test_drain_runs_to_the_last_updated_opportunity_of_the_run() -> None:
    opportunities = [
        {"Id": "A", "Order_Number__c": "SO-1", "LastModifiedDate": _sf(4.0)},
        {"Id": "B", "Order_Number__c": "SO-2", "LastModifiedDate": _sf(7.25)},
        {"Id": "C", "Order_Number__c": None, "LastModifiedDate": _sf(20.0)},
        {"Id": "Z", "Order_Number__c": "SO-3", "LastModifiedDate": _sf(30.0)},
    ]
    assert drain_seconds(T0 + 1.0, ["A", "B", "C"], opportunities) == pytest.approx(6.25)
    assert drain_seconds(T0, ["C"], opportunities) is None


def test_poll_interval_grows_with_the_run_within_bounds() -> None:
    assert poll_interval(40) == 0.5
    assert poll_interval(5000) == 1.0
    assert poll_interval(10_000) == 2.0
    assert poll_interval(100_000) == 2.0


def test_rss_is_summed_per_kind_and_the_peak_is_per_sample() -> None:
    first = sum_by_kind(
        [("gateway", 100, 1.0), ("gateway", 50, 0.5), ("workers", 300, 2.0), ("redis", 10, 0.1)]
    )
    assert first.rss == {"gateway": 150, "workers": 300, "redis": 10}
    second = Sample(rss={"gateway": 120, "workers": 400}, cpu={"gateway": 2.5, "workers": 1.0})
    # peaks come from one sample each, not a sum across samples
    assert peak_rss([first, second]) == {"gateway": 150, "workers": 400, "redis": 10}
    # a process that exited took its CPU time with it: never negative
    assert cpu_between(first, second) == {"gateway": 1.0, "workers": 0.0}


#: A child that waits for ``go``, burns 0.3 s of CPU, says so in ``burnt``, then idles.
BURNER = """
import pathlib, sys, time
go, burnt = map(pathlib.Path, sys.argv[1:])
while not go.exists():
    time.sleep(0.01)
began = time.process_time()
while time.process_time() - began < 0.3:
    pass
burnt.touch()
time.sleep(30)
"""


def _wait(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_sampler_sums_a_real_process_tree(tmp_path: Path) -> None:
    go, burnt = tmp_path / "go", tmp_path / "burnt"
    script = 'sleep 30 & "$0" -c "$1" "$2" "$3" & wait'
    child = subprocess.Popen(["sh", "-c", script, sys.executable, BURNER, str(go), str(burnt)])
    try:
        tree = psutil.Process(child.pid)
        _wait(lambda: len(tree.children(recursive=True)) >= 2, "the shell starts its children")
        members = [tree, *tree.children()]
        sampler = TreeSampler({"tree": child.pid}, every_s=0.05).start()
        go.touch()  # the CPU burn happens while the sampler watches
        _wait(lambda: burnt.exists() and len(sampler.samples) >= 3, "the burn and 3 samples")
        sampler.stop()
        peak = peak_rss(sampler.samples)["tree"]
        one = max(p.memory_info().rss for p in members)
        assert one < peak <= sum(p.memory_info().rss for p in members) * 2
        assert set(sampler.peak_rss_mb()) == {"tree"}
        assert sampler.cpu_s()["tree"] >= 0.25  # the burn, between the first and last sample
    finally:
        for process in psutil.Process(child.pid).children(recursive=True):
            process.kill()
        child.kill()
        child.wait()


def _passed(name: str, api: str, n: int, calls: int, kind: str = "pipeline") -> Row:
    return Row(
        name,
        "pipeline" if kind == "pipeline" else "baseline",
        api,
        n,
        drain_s=n / 100,
        updated=n,
        orders=n,
        api_calls=calls - 1,
        token_requests=1,
        callback_p50_ms=250.0,
        callback_p99_ms=900.0,
        ack_p50_ms=60.0,
        ack_p99_ms=240.0,
        peak_rss_mb={"gateway": 134.0, "workers": 171.4},
        cpu_s={"gateway": 3.0, "workers": 40.3},
    )


def test_rates_come_from_the_rows_and_failed_rows_report_none() -> None:
    row = _passed("sfgw collections", "collections", 10_000, 71)
    assert row.orders_per_s == pytest.approx(100.0)
    assert row.sf_calls == 71
    assert row.calls_per_1000 == pytest.approx(7.1)
    assert row.records_per_call == pytest.approx(10_000 / 70)
    failed = Row("sfgw soap", "pipeline", "soap", 10_000, drain_s=50.0, updated=9000)
    failed.problems.append("workers: timed out after 300 s: updated only 9000 of 10000")
    assert not failed.passed
    assert failed.orders_per_s is None and failed.calls_per_1000 is None
    assert failed.records_per_call is None


def test_batch_sizes_come_from_the_flushers_log_lines() -> None:
    log = [
        "2026-11-27 10:00:00,001 INFO sfgw.pipeline "
        '{"dead_lettered": 0, "done": 200, "outcome": "batch", "records": 200, "stage": "x"}',
        '2026-11-27 10:00:00,002 INFO sfgw.pipeline {"outcome": "done", "records": 9}',
        "2026-11-27 10:00:01,500 INFO sfgw.pipeline "
        '{"done": 57, "outcome": "batch", "records": 57}',
        'garbage {"outcome": "batch", "records": ',  # a torn last line
        "dramatiq started",
    ]
    assert batch_sizes(log) == [200, 57]
    row = _passed("sfgw soap", "soap", 457, 4)
    row.batch_sizes = [200, 200, 57]
    note = batch_note(row)
    assert note is not None
    assert "3 batches, 2 full (200), mean 152, median 200" in note
    assert batch_note(_passed("sfgw rest", "rest", 10, 11)) is None


def test_tables_show_every_row_and_mark_failures() -> None:
    ok = _passed("sfgw rest", "rest", 1000, 1001)
    bad = Row("sfgw soap", "pipeline", "soap", 1000, problems=["gateway: did not start"])
    base = _passed("naive peer", "rest", 100, 200, kind="baseline")
    base.cpu_s = {"bench client": 1.5}
    base.peak_rss_mb = {}
    text = summary_table([base, ok, bad])
    lines = text.splitlines()
    assert len(lines) == 5
    assert "FAILED" in lines[4] and "ok" in lines[3]
    assert "1001.0" in lines[3]  # 1,001 calls per 1,000 orders
    assert "250 / 900" in lines[3] and "60 / 240" in lines[3]
    assert "n/a" in lines[2]  # baselines have no gateway, hence no ack latency
    procs = process_table([base, ok, bad]).splitlines()
    assert procs[0].split()[-1] == "client"  # only kinds some run had, in fixed order
    assert "redis" not in procs[0]
    assert "134 (3.0)" in procs[3] and "171 (40.3)" in procs[3]
    assert "- (1.5)" in procs[2]


def test_budget_applies_to_passed_coalesced_runs_of_the_stated_size() -> None:
    size, budget = COALESCED_BUDGET
    rows = [
        _passed("sfgw rest", "rest", size, 10_001),
        _passed("sfgw collections", "collections", size, budget),
        _passed("sfgw soap", "soap", size, budget + 1),
        _passed("small", "collections", 500, 500),
    ]
    verdicts = budget_verdicts(rows)
    assert verdicts == [
        f"collections: {budget} calls for {size:,} orders, within the budget of {budget}",
        f"soap: {budget + 1} calls for {size:,} orders, OVER the budget of {budget}",
    ]
    apex = [
        _passed("sfgw apex_soap", "apex_soap", size, APEX_BUDGET),
        _passed("sfgw apex_rest", "apex_rest", size, APEX_BUDGET + 1),
    ]
    assert budget_verdicts(apex) == [
        f"apex_soap: {APEX_BUDGET} calls for {size:,} orders, within the budget of {APEX_BUDGET}",
        f"apex_rest: {APEX_BUDGET + 1} calls for {size:,} orders, OVER the budget of {APEX_BUDGET}",
    ]


def test_apex_drain_is_compared_with_collections_of_the_same_run() -> None:
    collections = _passed("sfgw collections", "collections", 1000, 7)
    collections.drain_s = 20.0
    apex = _passed("sfgw apex_rest", "apex_rest", 1000, 2)
    apex.drain_s = 19.0
    assert drain_verdicts([collections, apex]) == [
        "apex_rest: drained in 19.0 s, 0.95 x collections' 20.0 s, with 2 calls against 7"
    ]
    assert drain_verdicts([apex]) == []  # nothing to compare with


def test_an_apex_batch_is_full_at_1000() -> None:
    row = _passed("sfgw apex_soap", "apex_soap", 2000, 3)
    row.batch_sizes = [1000, 1000]
    note = batch_note(row)
    assert note is not None and "2 batches, 2 full (1000)" in note


def test_document_is_strict_json_with_the_verdict(tmp_path: Path) -> None:
    ok = _passed("sfgw collections", "collections", 200, 2)
    ok.callback_p99_ms = float("nan")
    bad = Row("sfgw soap", "pipeline", "soap", 200, problems=["mock ERP: did not start"])
    document = report_document(
        [ok, bad],
        when="20261127T100000Z",
        opportunities=200,
        baseline_sample=20,
        seconds_total=12.34,
        load_at_start=(1.0, 0.5, 0.25),
        settings={"SFGW_CALLBACK_MAX_WAIT_MS": "2000"},
    )
    out = write_results("e2e", "20261127T100000Z", document, tmp_path)
    loaded = json.loads(out.read_text())
    assert out.name == "e2e-20261127T100000Z.json"
    assert loaded["passed"] is False
    assert [r["passed"] for r in loaded["rows"]] == [True, False]
    assert loaded["rows"][0]["callback_p99_ms"] is None  # NaN is not JSON
    assert loaded["rows"][0]["calls_per_1000"] == 10.0
    assert loaded["rows"][1]["orders_per_s"] is None
    assert loaded["host"]["load_at_start"] == [1.0, 0.5, 0.25]
    assert loaded["settings"] == {"SFGW_CALLBACK_MAX_WAIT_MS": "2000"}
    assert finite({"a": [float("inf"), 1.0]}) == {"a": [None, 1.0]}


def test_options_name_what_is_wrong() -> None:
    assert _modes("soap, rest,soap") == ["soap", "rest"]
    with pytest.raises(argparse.ArgumentTypeError, match="--modes"):
        _modes("rest,bulk")
    assert _count(0)("0") == 0
    with pytest.raises(argparse.ArgumentTypeError, match="between 1"):
        _count(1)("0")
    with pytest.raises(argparse.ArgumentTypeError, match="whole number"):
        _count(1)("ten")


def test_settings_in_effect_are_recorded_without_credentials_or_what_the_stack_sets() -> None:
    env = {
        "SFGW_CALLBACK_MAX_WAIT_MS": "2000",
        "SFGW_RETRY_MIN_BACKOFF_MS": "100",
        "SFGW_SECRET_KEY": "x",
        "SFGW_SF_CLIENT_SECRET": "y",
        "SFGW_CALLBACK_API": "soap",  # the stack sets each mode itself
        "SFGW_REDIS_URL": "redis://:pw@host/0",
        "PATH": "/usr/bin",
    }
    assert settings_in_effect(env) == {
        "SFGW_CALLBACK_MAX_WAIT_MS": "2000",
        "SFGW_RETRY_MIN_BACKOFF_MS": "100",
    }
    assert "no baselines" in headline(10, ["soap"], 0)
    assert "baselines on 20" in headline(10, ["rest", "soap"], 20)
    assert "(rest, soap)" in headline(10, ["rest", "soap"], 20)
