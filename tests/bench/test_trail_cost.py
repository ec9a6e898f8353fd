"""``scripts/bench e2e --trail both``: the plan of runs and the verdict, from rows."""

from __future__ import annotations

from bench.e2e import Row
from bench.trail_cost import row_name, trail_plan, trail_verdicts


def row(setting: str, drain_s: float, cpu: float) -> Row:
    measured = Row(row_name("collections", setting), "pipeline", "collections", 1000,
                   drain_s=drain_s, updated=1000)  # fmt: skip
    measured.cpu_s = {"redis": cpu / 4, "gateway": cpu / 4, "workers": cpu / 2, "mock ERP": 9.0}
    return measured


def test_both_alternates_off_and_on() -> None:
    assert trail_plan("both", 2) == ["off", "on", "off", "on"]
    assert trail_plan("on", 1) == ["on"] and trail_plan("env", 2) == [None, None]


def test_the_verdict_compares_medians_and_the_budget() -> None:
    rows = [row("off", 10.0, 4.0), row("on", 10.4, 4.1), row("off", 12.0, 4.0),
            row("on", 10.2, 4.2), row("off", 10.1, 4.0), row("on", 30.0, 4.1)]  # fmt: skip
    (verdict,) = trail_verdicts(rows)
    # medians: off 10.1 s -> 99.0 orders/s, on 10.4 s -> 96.2 orders/s: 2.9 % fewer
    assert "99.0 orders/s off, 96.2 on" in verdict and "+2.9% fewer" in verdict
    assert "within the 5% budget" in verdict and "4.00 ms/order off, 4.10 on" in verdict
    (over,) = trail_verdicts([row("off", 10.0, 4.0), row("on", 11.0, 4.0)])
    assert "OVER" in over
    assert trail_verdicts([row("on", 10.0, 4.0)]) == []
