"""``scripts/bench e2e`` end to end with a tiny load: real stack, real baselines, and a
JSON whose numbers come from the run (every Opportunity updated, calls counted)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bench.e2e import run

pytestmark = pytest.mark.slow

OPPORTUNITIES = 40
SAMPLE = 20


def test_tiny_run_measures_a_coalesced_mode_and_the_baselines(tmp_path: Path) -> None:
    output = io.StringIO()
    code = run(
        opportunities=OPPORTUNITIES,
        modes=["collections"],
        baseline_sample=SAMPLE,
        timeout=60,
        stream=output,
        results_dir=tmp_path,
    )
    text = output.getvalue()
    assert code == 0, text
    (result,) = tmp_path.glob("e2e-*.json")
    document = json.loads(result.read_text())
    assert document["passed"] is True
    rows = {row["name"]: row for row in document["rows"]}
    assert [r["kind"] for r in document["rows"]] == ["baseline"] * 3 + ["pipeline"]

    pipeline = rows["sfgw collections"]
    assert pipeline["opportunities"] == pipeline["updated"] == pipeline["orders"] == OPPORTUNITIES
    assert pipeline["dead_letters"] == 0
    # coalesced: at least one Collections call and one token, far fewer than per record
    assert 1 <= pipeline["api_calls"] < OPPORTUNITIES / 2
    assert pipeline["token_requests"] >= 1
    assert pipeline["calls_per_1000"] == pytest.approx(pipeline["sf_calls"] * 1000 / 40)
    assert 0 < pipeline["drain_s"] < 60
    assert pipeline["orders_per_s"] == pytest.approx(OPPORTUNITIES / pipeline["drain_s"])
    assert 0 <= pipeline["callback_p50_ms"] <= pipeline["callback_p99_ms"]
    assert pipeline["callback_p99_ms"] < pipeline["drain_s"] * 1000
    assert pipeline["ack_p50_ms"] > 0
    # the flushers' own log: one batch per Collections call, every record in one batch
    assert len(pipeline["batch_sizes"]) == pipeline["api_calls"]
    assert sum(pipeline["batch_sizes"]) == OPPORTUNITIES
    assert pipeline["records_per_call"] == pytest.approx(OPPORTUNITIES / pipeline["api_calls"])
    kinds = {"redis", "gateway", "workers", "mock ERP", "mock Salesforce"}
    assert set(pipeline["peak_rss_mb"]) == kinds
    assert all(mb > 1 for mb in pipeline["peak_rss_mb"].values())
    # a gunicorn master and 2 workers, and the Dramatiq processes, weigh more than Redis
    assert pipeline["peak_rss_mb"]["workers"] > pipeline["peak_rss_mb"]["redis"]

    naive = next(r for name, r in rows.items() if name.startswith("naive"))
    # the naive peer asks for a token for every record and PATCHes each one
    assert naive["updated"] == SAMPLE
    assert naive["token_requests"] == SAMPLE and naive["api_calls"] == SAMPLE
    raw = [r for name, r in rows.items() if name.startswith("raw limit")]
    assert [r["updated"] for r in raw] == [SAMPLE, SAMPLE]
    assert [r["sf_calls"] for r in raw] == [SAMPLE + 1, 2]  # per record / one batch; 1 token
    assert all(r["orders_per_s"] > 0 for r in raw)
    assert set(naive["peak_rss_mb"]) == {"mock ERP", "mock Salesforce"}

    assert "sfgw collections" in text and "FAILED" not in text
    assert "sfgw collections: " in text and " batches, " in text
    assert "peak RSS MB" in text
