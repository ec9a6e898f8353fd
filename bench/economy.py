"""The callback stage's economy: Salesforce API calls per 1,000 orders and the callback latency,
for per-record REST, coalesced sObject Collections and coalesced SOAP, in one run.

Real processes: an embedded Redis, the mock Salesforce org and ``sfgw worker`` (2
processes x 8 threads) per mode. The callback stage is fed exactly what the order stage
hands it once an order exists (a ``send_callback`` job in REST mode, the coalescer's
``add`` otherwise), so the numbers are the callback stage's own: API calls and token
requests as the org counted them, and per record the time from "order exists" to the
Opportunity's ``LastModifiedDate`` (the org's own clock, same host).

``python -m bench economy [--records N]`` (``scripts/bench economy``). The stack is the
org and Redis only (:data:`devstack.config.ORG_ONLY`); each mode gets a worker group of
its own, under its own key prefix, fed through :meth:`devstack.stack.Stack.hand_over_callbacks`.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.common import host_facts, quantile, salesforce_time, shown, stamp, write_results
from devstack.config import ORG_ONLY, StackConfig
from devstack.stack import Stack, start_stack
from gateway.cli_support import print_table
from gateway.pipeline.callbacks.job import CallbackJob

MODES = ("rest", "collections", "soap")
PROCESSES = 2
THREADS = 8
TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ModeResult:
    mode: str
    records: int
    api_calls: int
    token_requests: int
    seconds: float
    latency_p50_ms: float
    latency_p99_ms: float

    @property
    def calls_per_1000(self) -> float:
        return (self.api_calls + self.token_requests) * 1000 / self.records

    def cells(self) -> list[object]:
        return [
            self.mode,
            self.records,
            self.api_calls,
            self.token_requests,
            f"{self.calls_per_1000:.1f}",
            f"{self.latency_p50_ms:.0f}",
            f"{self.latency_p99_ms:.0f}",
            f"{self.seconds:.1f}",
        ]


def measure_mode(stack: Stack, ids: list[str], mode: str) -> ModeResult:
    """One worker group in ``mode`` under a key prefix of its own, fed one completed order
    per Opportunity in ``ids``, until every Opportunity carries its number."""
    sf = stack.need(stack.salesforce, "mock Salesforce")
    prefix = f"{stack.redis_prefix}-{mode}"
    sf.reset_usage()
    workers = stack.start_worker_group(
        callback_api=mode, processes=PROCESSES, threads=THREADS, redis_prefix=prefix
    )
    run = uuid.uuid4().hex[:6]
    numbers = {oid: f"{mode[:4]}-{run}-{n}" for n, oid in enumerate(ids)}
    jobs = [
        CallbackJob(
            organization_id=sf.org_id,
            opportunity_id=oid,
            notification_id=f"bench-{number}",
            order_number=number,
            order_status="Created",
        )
        for oid, number in numbers.items()
    ]
    try:
        started = time.monotonic()
        handed = stack.hand_over_callbacks(jobs, callback_api=mode, redis_prefix=prefix)
        stack.wait_for(
            f"{mode}: every Opportunity carries its number",
            lambda: stack.order_numbers(ids) == numbers,
            timeout=TIMEOUT_S,
        )
        seconds = time.monotonic() - started
    finally:
        stack.stop_worker_group(workers)
    usage = sf.api_usage()
    rows = stack.opportunities()
    latencies = [
        max(0.0, (salesforce_time(rows[oid]["LastModifiedDate"]) - handed[oid]) * 1000)
        for oid in ids
    ]
    return ModeResult(
        mode=mode,
        records=len(ids),
        api_calls=usage["api_requests"],
        token_requests=usage["token_requests"],
        seconds=seconds,
        latency_p50_ms=quantile(latencies, 0.50),
        latency_p99_ms=quantile(latencies, 0.99),
    )


def measure_modes(workdir: Path, records: int = 1000) -> list[ModeResult]:
    """Every mode in turn on one org (and an embedded Redis): the callback stage alone,
    its workers pointed at an ERP they never call."""
    with start_stack(StackConfig(workdir=workdir, parts=ORG_ONLY, outbound="none")) as stack:
        ids = stack.need(stack.salesforce, "mock Salesforce").create_opportunities(records)
        return [measure_mode(stack, ids, mode) for mode in MODES]


def run(records: int = 1000) -> int:
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sfgw-bench-economy-") as tmp:
        rows = measure_modes(Path(tmp), records)
    print(
        f"sfgw callback economy: {records} completed orders per mode, 2 worker processes x 8 "
        "threads, mock Salesforce on the same host; latency = order handed to the callback "
        "stage -> Opportunity updated"
    )
    print_table(
        ["mode", "records", "API calls", "tokens", "calls/1000", "p50 ms", "p99 ms", "seconds"],
        [row.cells() for row in rows],
    )
    when = stamp()
    out = write_results(
        "economy",
        when,
        {
            "benchmark": "economy",
            "when": when,
            "host": host_facts(),
            "seconds_total": round(time.monotonic() - began, 1),
            "rows": [{**asdict(r), "calls_per_1000": r.calls_per_1000} for r in rows],
        },
    )
    print(f"wrote {shown(out)} in {time.monotonic() - began:.0f}s")
    return 0
