"""The demo's decisions, without processes: verification, diagnosis, quantiles, output."""

from __future__ import annotations

import io
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devstack.demo_report import (
    OrderRecord,
    Progress,
    Reporter,
    Summary,
    histogram_quantile,
    stalled_stage,
    verify,
)
from devstack.metrics import iter_metric_samples, metric_total
from gateway.cli import build_parser

IDS = ["006000000000001AAA", "006000000000002AAA", "006000000000003AAA"]


def _records(numbers: dict[str, str | None]) -> list[dict[str, object]]:
    return [{"Id": oid, "Order_Number__c": number} for oid, number in numbers.items()]


def _good() -> tuple[list[dict[str, object]], list[OrderRecord]]:
    orders = [OrderRecord(f"SO-00000{i}", oid) for i, oid in enumerate(IDS, 1)]
    return _records({o.external_reference: o.order_number for o in orders}), orders


def test_verify_accepts_one_order_per_opportunity_with_its_own_number() -> None:
    records, orders = _good()
    assert verify(IDS, records, orders) == []


def test_verify_rejects_a_second_order_for_one_opportunity() -> None:
    records, orders = _good()
    problems = verify(IDS, records, [*orders, OrderRecord("SO-000009", IDS[0])])
    assert any("4 orders for 3" in p for p in problems)
    assert any("more than one order" in p and IDS[0] in p for p in problems)


def test_verify_rejects_swapped_order_numbers() -> None:
    """Every Opportunity has *a* number, but not its own: not good enough."""
    records, orders = _good()
    records[0]["Order_Number__c"], records[1]["Order_Number__c"] = (
        records[1]["Order_Number__c"],
        records[0]["Order_Number__c"],
    )
    (problem,) = verify(IDS, records, orders)
    assert "2 Opportunities do not carry their order's number" in problem


def test_verify_rejects_missing_orders_missing_updates_and_strangers() -> None:
    records, orders = _good()
    records[2]["Order_Number__c"] = None
    problems = verify(IDS, records, [*orders[:2], OrderRecord("SO-000007", "006000000000009AAA")])
    text = " | ".join(problems)
    assert "1 orders belong to no closed Opportunity" in text
    assert f"1 Opportunities have no order (e.g. {IDS[2]})" in text
    assert f"do not carry their order's number (e.g. {IDS[2]}: Order_Number__c=None)" in text


def test_verify_rejects_an_opportunity_the_org_does_not_return() -> None:
    records, orders = _good()
    assert verify(IDS, records[:2], orders)


@pytest.mark.parametrize(
    ("progress", "part", "words"),
    [
        (Progress(10, sent=4), "mock Salesforce", "sent only 4 of 10"),
        (Progress(10, sent=10, acked=7), "gateway", "acked only 7 of 10"),
        (Progress(10, sent=10, acked=10, orders=3), "workers", "created only 3 of 10 orders"),
        (Progress(10, 10, 10, 10, updated=9), "workers", "updated only 9 of 10 Opportunities"),
    ],
)
def test_stalled_stage_names_the_first_stage_behind(
    progress: Progress, part: str, words: str
) -> None:
    found_part, problem = stalled_stage(progress)
    assert found_part == part
    assert words in problem


def test_finished_needs_every_order_and_every_update() -> None:
    assert not Progress(5, 5, 5, 5, 4).finished
    assert not Progress(5, 5, 5, 4, 5).finished
    assert Progress(5, 5, 5, 5, 5).finished


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    buckets = [(0.1, 0.0), (0.25, 50.0), (0.5, 100.0), (math.inf, 100.0)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.25)
    assert histogram_quantile(0.25, buckets) == pytest.approx(0.175)
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.495)
    assert histogram_quantile(0.5, []) is None
    assert histogram_quantile(0.5, [(0.1, 0.0), (math.inf, 0.0)]) is None
    # Beyond the last finite bucket all we know is that bound.
    assert histogram_quantile(0.99, [(0.1, 1.0), (math.inf, 10.0)]) == 0.1


@given(
    st.lists(st.floats(0.001, 20, allow_nan=False), min_size=1, max_size=50),
    st.floats(0.01, 1.0),
)
def test_histogram_quantile_lands_in_the_bucket_of_the_true_quantile(
    values: list[float], q: float
) -> None:
    bounds = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, math.inf]
    buckets = [(b, float(sum(v <= b for v in values))) for b in bounds]
    estimate = histogram_quantile(q, buckets)
    assert estimate is not None
    ordered = sorted(values)
    true = ordered[max(0, math.ceil(q * len(ordered)) - 1)]
    upper = next(b for b in bounds if true <= b)
    lower = max([0.0, *(b for b in bounds if b < upper)])
    assert lower <= estimate <= (upper if not math.isinf(upper) else lower)


def test_metrics_are_summed_over_matching_labels() -> None:
    text = (
        "# TYPE sfgw_intake_notifications_total counter\n"
        'sfgw_intake_notifications_total{contract="a",result="duplicate"} 2.0\n'
        'sfgw_intake_notifications_total{contract="b",result="duplicate"} 3.0\n'
        'sfgw_intake_notifications_total{contract="b",result="new"} 7.0\n'
    )
    samples = list(iter_metric_samples(text))
    assert metric_total(samples, "sfgw_intake_notifications_total", result="duplicate") == 5
    assert metric_total(samples, "sfgw_intake_notifications_total") == 12


def test_summary_rows_show_every_figure_the_issue_asks_for() -> None:
    summary = Summary(
        opportunities=200, messages=2, delivery_attempts=3, acked=200, orders=200, updated=200,
        intake_duplicates=100, worker_skips=1, api_requests=5, token_requests=1,
        ack_p50_s=0.0421, ack_p99_s=0.25, acked_messages=3, startup_s=10, flow_s=8, total_s=18,
    )  # fmt: skip
    rows = dict(summary.rows("collections"))
    assert rows["orders created in the ERP"] == "200/200"
    assert rows["duplicates suppressed"] == "100 at intake, 1 skipped by workers"
    assert rows["Salesforce API calls (collections)"].startswith("5 (25 per 1,000 orders)")
    assert "token requests 1" in rows["Salesforce API calls (collections)"]
    assert rows["ack latency p50 / p99 (gateway metrics)"] == "42 ms / 250 ms (3 messages)"
    assert "25.0 orders/s" in rows["elapsed"]


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_line_on_a_terminal() -> None:
    stream = _Tty()
    reporter = Reporter(stream)
    reporter.progress(Progress(10, sent=1), 0.5)
    reporter.progress(Progress(10, sent=10), 1.0)
    reporter.say("done")
    out = stream.getvalue()
    assert out.count("\r\x1b[K") == 2
    assert out.endswith("Salesforce updated 0/10\ndone\n")


def test_progress_prints_plain_lines_now_and_then_in_a_log() -> None:
    stream = io.StringIO()
    reporter = Reporter(stream)
    for tick in range(40):  # 20 s of 0.5 s polls, progress changing every poll
        reporter.progress(Progress(40, sent=tick), tick * 0.5)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert 3 <= len(lines) <= 5  # one every 5 s, not one per poll
    reporter.progress(Progress(40, 40, 40, 40, 40), 20.1, force=True)
    assert stream.getvalue().splitlines()[-1].endswith("Salesforce updated 40/40")
    # a second flow's clock starts at 0 again: its progress must not wait for 20 s
    reporter.restart()
    reporter.progress(Progress(40, sent=1), 0.5)
    assert stream.getvalue().splitlines()[-1].startswith("[   0.5s] sent 1/40")


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--opportunities", "0"],
        ["demo", "--opportunities", "many"],
        ["demo", "--timeout", "-1"],
        ["demo", "--callback-api", "graphql"],
        ["demo", "--contract", "nope"],
    ],
)
def test_bad_arguments_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2


def test_a_non_empty_workdir_is_refused_withone_line(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from gateway.cli import main

    (tmp_path / "old.sqlite3").write_text("x")
    assert main(["demo", "--workdir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not an empty directory" in err[0]


def test_a_launchers_error_becomes_one_line_with_the_reason_from_the_log_tail() -> None:
    from devstack.wiring import one_line

    message = "sfgw worker exited during start-up:\nstarting\nsfgw: error: SFGW_X=5 is too low\n"
    assert one_line(message) == (
        "sfgw worker exited during start-up: sfgw: error: SFGW_X=5 is too low"
    )
    assert (
        one_line("gateway :1 did not listen within 60s") == "gateway :1 did not listen within 60s"
    )
    assert len(one_line("x" * 1000)) == 300
    assert one_line("  \n") == ""
