"""``scripts/bench e2e``: won Opportunities through the whole stack, per callback mode.

For each callback mode (per-record REST, coalesced sObject Collections, coalesced SOAP)
a fresh stack (:mod:`devstack.stack`: embedded Redis, gateway, workers, mock ERP, mock
Salesforce) closes N Opportunities (default 10,000) in one burst and is followed the way
``sfgw demo`` follows it (:func:`devstack.demo.run_flow`) until every Opportunity carries
its order number; then the demo's verification must hold (exactly one ERP order per
Opportunity, each carrying its own order's number) and no job may be dead-lettered. A
mode that fails is a FAILED row and exit code 1, never a number.

Per mode: time to drain (close won -> the last Opportunity's ``LastModifiedDate``, the
org's own clock), orders/s, Salesforce API calls and token requests as the org counted
them, the added callback latency (ERP order ``created_at`` -> Opportunity
``LastModifiedDate``, per record, both mocks' own clocks on this host), the gateway's
ack latency (its histogram, as in the demo), and peak RSS and CPU per process kind
(:mod:`bench.processes`).

Baselines in the same run, on their own mock ERP + mock Salesforce (no gateway, no
queue, no workers), on a smaller sample:

* raw limit: the product's own ERP and Salesforce clients driven directly by 16 threads
  (the pipeline's 2 processes x 8 threads), per-record REST and Collections x200: what
  the external parts allow on this host with the same clients, i.e. the ceiling;
* naive peer: one record after the other, a new OAuth token for every record (no
  cache), one ERP create and one REST PATCH each -- what a straightforward synchronous
  handler does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TextIO

from bench.common import (
    RESULTS,
    host_facts,
    load_text,
    quantile,
    salesforce_time,
    shown,
    stamp,
    write_results,
)
from bench.processes import TreeSampler
from bench.trail_cost import row_name, trail_plan, trail_verdicts
from devstack.config import MOCKS_ONLY, StackConfig
from devstack.demo_flow import run_flow
from devstack.demo_report import OrderRecord, Reporter, Summary, verify
from devstack.envs import wired_variables
from devstack.errors import StackError
from devstack.signals import Interrupted, signals_interrupt, stop_stack
from devstack.stack import Stack, prepare_stack
from gateway.cli_support import render_table
from gateway.pipeline.callbacks.settings import APEX_BATCH_SIZE
from gateway.salesforce.api import MAX_RECORDS_PER_CALL
from gateway.salesforce.settings import APEX_APIS, CALLBACK_APIS

DEFAULT_OPPORTUNITIES = 10_000
DEFAULT_BASELINE_SAMPLE = 1_000
DEFAULT_TIMEOUT_S = 300.0
#: The budget of the coalesced modes: at most this many API calls (callbacks + tokens) for
#: 10,000 won Opportunities in a burst; the Apex service carries 1,000 records a call.
COALESCED_BUDGET = (10_000, 80)
APEX_BUDGET = 15
#: Records in a full batch, by mode (SFGW_CALLBACK_BATCH_SIZE's default).
FULL_BATCH = {"apex_soap": APEX_BATCH_SIZE, "apex_rest": APEX_BATCH_SIZE}
KINDS = ("redis", "gateway", "workers", "mock ERP", "mock Salesforce", "bench client")
PROGRAM = "scripts/bench e2e"
NOTES = (
    "raw limit: ERP create + Salesforce update by the product's own clients, {threads} "
    "threads (as many as the workers), one token, no gateway or queue; Collections: 200 "
    "orders per call.",
    "naive peer: one record after the other: ERP create, a new token, one REST PATCH.",
    "drain: close won -> last Opportunity updated (the org's LastModifiedDate); callback: "
    "ERP order created -> its Opportunity updated (both mocks' clocks);",
    "ack: the gateway's sfgw_intake_ack_seconds histogram (per message of up to 100); "
    "calls and tokens as the mock org counted them.",
    "RSS: peak of the sum over each part's process tree, sampled every 0.5 s; CPU s: "
    "user + system over the run (the mock org's includes the progress polls).",
)


# -- functional core ----------------------------------------------------------------


@dataclass
class Row:
    """One line of the report: a pipeline mode or a baseline, measured or FAILED."""

    name: str
    kind: Literal["pipeline", "baseline"]
    callback_api: str
    opportunities: int
    drain_s: float | None = None
    updated: int = 0
    orders: int = 0
    api_calls: int = 0
    token_requests: int = 0
    callback_p50_ms: float | None = None
    callback_p99_ms: float | None = None
    ack_p50_ms: float | None = None
    ack_p99_ms: float | None = None
    dead_letters: int = 0
    #: Records per coalesced call, from the workers' own "batch" log lines.
    batch_sizes: list[int] = field(default_factory=list)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def sf_calls(self) -> int:
        """What the org's daily allocation is charged for the callbacks, tokens included."""
        return self.api_calls + self.token_requests

    @property
    def orders_per_s(self) -> float | None:
        if not self.passed or not self.drain_s:
            return None
        return self.updated / self.drain_s

    @property
    def calls_per_1000(self) -> float | None:
        if not self.passed or not self.opportunities:
            return None
        return self.sf_calls * 1000 / self.opportunities

    @property
    def records_per_call(self) -> float | None:
        """Updated Opportunities per callback API call (tokens not counted)."""
        if not self.passed or not self.api_calls:
            return None
        return self.updated / self.api_calls

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "passed": self.passed,
            "sf_calls": self.sf_calls,
            "orders_per_s": self.orders_per_s,
            "calls_per_1000": self.calls_per_1000,
            "records_per_call": self.records_per_call,
        }


def batch_sizes(log_lines: Iterable[str]) -> list[int]:
    """Records per coalesced call, from the flushers' structured log lines
    (``{"outcome": "batch", "records": N, ...}``) in the order they were written."""
    sizes = []
    for line in log_lines:
        if '"outcome": "batch"' not in line or "{" not in line:
            continue
        try:
            entry = json.loads(line[line.index("{") :])
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("records"), int):
            sizes.append(entry["records"])
    return sizes


def batch_note(row: Row) -> str | None:
    """Why a coalesced mode made the calls it made: how full its batches were."""
    if not row.batch_sizes:
        return None
    full = FULL_BATCH.get(row.callback_api, MAX_RECORDS_PER_CALL)
    sizes = row.batch_sizes
    filled = sum(1 for n in sizes if n >= full)
    return (
        f"{row.name}: {len(sizes)} batches, {filled} full ({full}), mean "
        f"{sum(sizes) / len(sizes):.0f}, median {quantile([float(n) for n in sizes], 0.5):.0f} "
        "records; a batch that is not full left after SFGW_CALLBACK_MAX_WAIT_MS"
        + (" or SFGW_CALLBACK_IDLE_MS" if row.callback_api in APEX_APIS else "")
    )


def callback_latencies_ms(
    ids: Iterable[str],
    order_created: Mapping[str, float],
    opportunities: Iterable[Mapping[str, Any]],
) -> list[float]:
    """Per Opportunity: its order's creation in the ERP -> its update in Salesforce (ms).

    ``order_created`` maps the ERP's external reference (the Opportunity id) to the
    order's creation time (epoch s). Opportunities without an order number or an order
    are left out; the verification reports them.
    """
    records = {str(r["Id"]): r for r in opportunities}
    latencies = []
    for oid in ids:
        record = records.get(oid)
        created = order_created.get(oid)
        if record is None or created is None or not record.get("Order_Number__c"):
            continue
        updated = salesforce_time(str(record["LastModifiedDate"]))
        latencies.append(max(0.0, (updated - created) * 1000))
    return latencies


def drain_seconds(
    started_at: float, ids: Iterable[str], opportunities: Iterable[Mapping[str, Any]]
) -> float | None:
    """Close won (``started_at``, epoch s) -> the last of ``ids`` updated, by the org's
    ``LastModifiedDate``: exact, unlike the poll that noticed it. None if none is updated."""
    wanted = set(ids)
    last = [
        salesforce_time(str(r["LastModifiedDate"]))
        for r in opportunities
        if r["Id"] in wanted and r.get("Order_Number__c")
    ]
    return max(0.0, max(last) - started_at) if last else None


def baseline_threads() -> int:
    """The raw limit runs as many threads as the stack's workers (processes x threads)."""
    defaults = StackConfig(workdir=Path())
    return defaults.worker_processes * defaults.worker_threads


def poll_interval(opportunities: int) -> float:
    """Each progress poll reads every Opportunity (0.2 s of CPU at 10,000 on a 2-core
    host), CPU the measured flow competes for: poll less often for big runs."""
    return max(0.5, min(2.0, opportunities / 5000))


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pair(a: float | None, b: float | None) -> str:
    return f"{_num(a)} / {_num(b)}"


def summary_table(rows: Sequence[Row]) -> str:
    headers = [
        "run",
        "sample",
        "result",
        "drain s",
        "orders/s",
        "API calls",
        "tokens",
        "calls/1000",
        "records/call",
        "callback p50/p99 ms",
        "ack p50/p99 ms",
    ]
    cells = [
        [
            row.name,
            row.opportunities,
            "ok" if row.passed else "FAILED",
            _num(row.drain_s, 1),
            _num(row.orders_per_s, 1),
            row.api_calls,
            row.token_requests,
            _num(row.calls_per_1000, 1),
            _num(row.records_per_call, 1),
            _pair(row.callback_p50_ms, row.callback_p99_ms),
            "n/a" if row.kind == "baseline" else _pair(row.ack_p50_ms, row.ack_p99_ms),
        ]
        for row in rows
    ]
    return render_table(headers, cells)


def process_table(rows: Sequence[Row]) -> str:
    """Peak RSS MB (CPU s) per process kind; a kind a run did not have shows ``-``."""
    kinds = [k for k in KINDS if any(k in r.peak_rss_mb or k in r.cpu_s for r in rows)]

    def cell(row: Row, kind: str) -> str:
        if kind not in row.peak_rss_mb and kind not in row.cpu_s:
            return "-"
        rss = row.peak_rss_mb.get(kind)
        return f"{_num(rss)} ({_num(row.cpu_s.get(kind), 1)})"

    return render_table(
        ["peak RSS MB (CPU s)", *kinds],
        [[row.name, *(cell(row, k) for k in kinds)] for row in rows],
    )


def budget_verdicts(rows: Sequence[Row]) -> list[str]:
    """The API-call budget's verdict for each passed coalesced mode, when the run was the size it is
    stated for (10,000 Opportunities); empty otherwise."""
    size, coalesced = COALESCED_BUDGET
    verdicts = []
    for row in rows:
        if row.kind != "pipeline" or row.callback_api == "rest" or row.opportunities != size:
            continue
        if not row.passed:
            continue
        budget = APEX_BUDGET if row.callback_api in APEX_APIS else coalesced
        ok = "within" if row.sf_calls <= budget else "OVER"
        verdicts.append(
            f"{row.callback_api}: {row.sf_calls} calls for {size:,} orders, {ok} the "
            f"budget of {budget}"
        )
    return verdicts


_NEVER_SHOWN = ("SECRET", "KEY", "PASSWORD", "TOKEN", "USERNAME", "URL")


def drain_verdicts(rows: Sequence[Row]) -> list[str]:
    """Each passed Apex mode's drain time beside Collections' in the same run (the Apex
    service should save calls without draining slower)."""
    collections = next(
        (r for r in rows if r.kind == "pipeline" and r.callback_api == "collections"
         and r.passed and r.drain_s),
        None,
    )  # fmt: skip
    if collections is None or collections.drain_s is None:
        return []
    verdicts = []
    for row in rows:
        if row.kind != "pipeline" or row.callback_api not in APEX_APIS or not row.passed:
            continue
        if row.drain_s is None or row.opportunities != collections.opportunities:
            continue
        ratio = row.drain_s / collections.drain_s
        verdicts.append(
            f"{row.callback_api}: drained in {row.drain_s:.1f} s, {ratio:.2f} x collections' "
            f"{collections.drain_s:.1f} s, with {row.sf_calls} calls against "
            f"{collections.sf_calls}"
        )
    return verdicts


def settings_in_effect(env: Mapping[str, str]) -> dict[str, str]:
    """``SFGW_*`` variables from the environment that reach the stack's processes (e.g.
    ``SFGW_CALLBACK_MAX_WAIT_MS``): a run is only comparable with one that had the same.
    Credentials are never recorded."""
    wired = wired_variables()
    return {
        name: value
        for name, value in sorted(env.items())
        if name.startswith("SFGW_")
        and name not in wired
        and not any(word in name for word in _NEVER_SHOWN)
    }


def headline(opportunities: int, modes: Sequence[str], baseline_sample: int) -> str:
    baselines = f"baselines on {baseline_sample}" if baseline_sample else "no baselines"
    return (
        f"sfgw e2e: {opportunities} won Opportunities in one burst per mode "
        f"({', '.join(modes)}), {baselines}; {os.cpu_count()} CPUs"
    )


def report_document(
    rows: Sequence[Row],
    *,
    when: str,
    opportunities: int,
    baseline_sample: int,
    seconds_total: float,
    load_at_start: Sequence[float],
    settings: Mapping[str, str],
) -> dict[str, Any]:
    return {
        "benchmark": "e2e",
        "when": when,
        "host": {**host_facts(), "load_at_start": [round(x, 2) for x in load_at_start]},
        "settings": dict(settings),
        "opportunities": opportunities,
        "baseline_sample": baseline_sample,
        "seconds_total": round(seconds_total, 1),
        "passed": all(r.passed for r in rows),
        "coalesced_budget": {
            "opportunities": COALESCED_BUDGET[0],
            "max_calls": COALESCED_BUDGET[1],
            "max_calls_apex": APEX_BUDGET,
            "verdicts": budget_verdicts(rows),
        },
        "apex_drain": drain_verdicts(rows),
        "rows": [r.to_json() for r in rows],
    }


# -- the shell ----------------------------------------------------------------------


def _roots(stack: Stack) -> dict[str, int]:
    return {name: child.pid for name, child in stack.parts() if child.process is not None}


def _orders_created(stack: Stack, ids: Iterable[str]) -> tuple[dict[str, float], list[OrderRecord]]:
    """The ERP's orders for ``ids``: reference -> creation time, and the records."""
    wanted = set(ids)
    stored = [o for ref, o in stack.erp_orders().items() if ref in wanted]
    created = {o.external_reference: o.created_at.timestamp() for o in stored}
    return created, [OrderRecord(o.order_number, o.external_reference) for o in stored]


def _measure_records(row: Row, stack: Stack, ids: Sequence[str], started_at: float) -> None:
    """Drain, callback latency and verification, from the two mocks' own records."""
    wanted = set(ids)
    opportunities = [r for oid, r in stack.opportunities().items() if oid in wanted]
    created, orders = _orders_created(stack, ids)
    row.updated = sum(1 for r in opportunities if r.get("Order_Number__c"))
    row.orders = len(orders)
    row.drain_s = drain_seconds(started_at, ids, opportunities)
    latencies = callback_latencies_ms(ids, created, opportunities)
    row.callback_p50_ms = quantile(latencies, 0.50) if latencies else None
    row.callback_p99_ms = quantile(latencies, 0.99) if latencies else None
    row.problems += verify(ids, opportunities, orders)


def run_mode(
    mode: str, opportunities: int, workdir: Path, timeout: float, reporter: Reporter,
    *, trail: str | None = None,
) -> Row:  # fmt: skip
    """One fresh stack in ``mode``, one burst of ``opportunities``, verified;
    ``trail``: SFGW_TRAIL for the gateway and workers (:mod:`bench.trail_cost`)."""
    row = Row(row_name(mode, trail), "pipeline", mode, opportunities)
    began = time.monotonic()
    reporter.say(f"\n== {row.name}: starting the stack (logs in {workdir})")
    env = {} if trail is None else {"SFGW_TRAIL": trail}
    stack = prepare_stack(StackConfig(workdir=workdir, callback_api=mode, env=env))
    sampler: TreeSampler | None = None
    try:
        stack.start()
        reporter.say(
            f"stack up in {time.monotonic() - began:.1f} s; closing {opportunities} "
            "Opportunities won in one burst"
        )
        sampler = TreeSampler(_roots(stack)).start()
        summary = Summary(opportunities=opportunities)
        started_at = time.time()
        ids = run_flow(
            stack,
            opportunities,
            timeout,
            summary,
            reporter,
            poll_interval=poll_interval(opportunities),
        )
        sampler.stop()
        row.api_calls = summary.api_requests
        row.token_requests = summary.token_requests
        row.dead_letters = summary.dead_letters
        row.ack_p50_ms = None if summary.ack_p50_s is None else summary.ack_p50_s * 1000
        row.ack_p99_ms = None if summary.ack_p99_s is None else summary.ack_p99_s * 1000
        _measure_records(row, stack, ids, started_at)
        if summary.dead_letters:
            row.problems.append(f"{summary.dead_letters} job(s) dead-lettered")
    except StackError as error:
        row.problems.append(str(error))
    finally:
        if sampler is not None:
            sampler.stop()
            row.peak_rss_mb = sampler.peak_rss_mb()
            row.cpu_s = sampler.cpu_s()
        # the workers' log is complete once they stopped, but a stopped stack no longer
        # lists its parts: take the path first
        worker_log = stack.log_of("workers")
        stop_stack(stack, reporter)
    row.batch_sizes = _logged_batches(worker_log)
    verdict = "ok" if row.passed else "FAILED: " + "; ".join(row.problems)
    reporter.say(f"{row.name}: {verdict}")
    return row


def _logged_batches(log: Path | None) -> list[int]:
    if log is None or not log.exists():
        return []
    with log.open(encoding="utf-8", errors="replace") as lines:
        return batch_sizes(lines)


@dataclass
class Clients:
    """The product's own ERP and Salesforce clients, pointed at the baseline's mocks."""

    erp: Any
    rest: Any
    collections: Any
    org_id: str
    instance_url: str
    token: Callable[[], Any]


def _clients(stack: Stack, pool_size: int) -> Clients:
    from gateway.erp import ErpClient, ErpSettings
    from gateway.http import ProxySettings, requests_session
    from gateway.salesforce.api import CollectionsApi, RestApi
    from gateway.salesforce.auth import AccessToken
    from gateway.salesforce.settings import SalesforceSettings
    from gateway.settings import PROJECT_ROOT

    sf = stack.need(stack.salesforce, "mock Salesforce")
    # What a worker of this stack is given, so the clients are configured as the pipeline's.
    env = stack.worker_env(overrides={"SFGW_ERP_POOL_SIZE": "32"})
    erp_settings = ErpSettings.from_env(env, contracts_dir=PROJECT_ROOT / "contracts")
    sf_settings = SalesforceSettings.from_env(env)
    http = requests_session(ProxySettings(), pool_size=pool_size)

    def token() -> AccessToken:
        # A fresh token request on a fresh connection every time, as a peer without a
        # token cache does; the org counts each one.
        return AccessToken(sf.client_credentials_token(), sf.url)

    return Clients(
        erp=ErpClient(erp_settings),
        rest=RestApi(sf_settings, http),
        collections=CollectionsApi(sf_settings, http),
        org_id=sf.org_id,
        instance_url=sf.url,
        token=token,
    )


def _order_request(oid: str) -> Any:
    from gateway.orders import OrderRequest

    return OrderRequest(
        external_reference=oid,
        title=f"Opportunity {oid}",
        amount=Decimal("1000.00"),
        currency_code="USD",
    )


def _update(api: Any, token: Any, org_id: str, done: Sequence[tuple[str, Any]]) -> None:
    from gateway.salesforce.api import RecordUpdate

    updates = [
        RecordUpdate(oid, {"Order_Number__c": order.order_number, "Order_Status__c": order.status})
        for oid, order in done
    ]
    failed = [o for o in api.update(token, org_id, updates) if not o.ok]
    if failed:
        raise RuntimeError(f"Salesforce refused {len(failed)} update(s): {failed[0].reason}")


def raw_limit(clients: Clients, ids: Sequence[str], api: str, threads: int) -> None:
    """ERP create + Salesforce update for every id, ``threads`` at a time, one cached
    token; ``collections`` sends every 200 finished orders in one call."""
    token = clients.token()
    if api == "rest":

        def one(oid: str) -> None:
            order = clients.erp.create_order(_order_request(oid))
            _update(clients.rest, token, clients.org_id, [(oid, order)])

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, ids))
        return
    lock = threading.Lock()
    waiting: list[tuple[str, Any]] = []

    def create(oid: str) -> None:
        order = clients.erp.create_order(_order_request(oid))
        with lock:
            waiting.append((oid, order))
            batch = waiting[:] if len(waiting) >= 200 else []
            if batch:
                waiting.clear()
        if batch:
            _update(clients.collections, token, clients.org_id, batch)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(create, ids))
    if waiting:
        _update(clients.collections, token, clients.org_id, waiting)


def naive_peer(clients: Clients, ids: Sequence[str]) -> None:
    """One record after the other: ERP create, a new token, one REST PATCH."""
    for oid in ids:
        order = clients.erp.create_order(_order_request(oid))
        _update(clients.rest, clients.token(), clients.org_id, [(oid, order)])


def _baseline(
    stack: Stack, name: str, api: str, sample: int, drive: Callable[[list[str]], None]
) -> Row:
    sf = stack.need(stack.salesforce, "mock Salesforce")
    row = Row(name, "baseline", api, sample)
    ids = sf.create_opportunities(sample)
    sf.reset_usage()
    sampler = TreeSampler(_roots(stack)).start()
    client_cpu = time.process_time()
    started_at = time.time()
    try:
        drive(ids)
    except Exception as error:  # a measured failure is a FAILED row, not a crash
        row.problems.append(f"{type(error).__name__}: {error}")
    client_cpu = time.process_time() - client_cpu
    sampler.stop()
    usage = sf.api_usage()
    row.api_calls = int(usage.get("api_requests", 0))
    row.token_requests = int(usage.get("token_requests", 0))
    row.peak_rss_mb = sampler.peak_rss_mb()
    row.cpu_s = {**sampler.cpu_s(), "bench client": round(client_cpu, 2)}
    _measure_records(row, stack, ids, started_at)
    return row


def run_baselines(sample: int, workdir: Path, reporter: Reporter) -> list[Row]:
    """Raw limit (REST and Collections) and the naive peer on one mock ERP + org."""
    threads = baseline_threads()
    reporter.say(f"\n== baselines: {sample} Opportunities each, mock ERP + mock Salesforce only")
    stack = prepare_stack(StackConfig(workdir=workdir, parts=MOCKS_ONLY, outbound="none"))
    rows: list[Row] = []
    try:
        stack.start()
        clients = _clients(stack, pool_size=2 * threads)
        plans: list[tuple[str, str, Callable[[list[str]], None]]] = [
            (
                "raw limit, REST",
                "rest",
                lambda ids: raw_limit(clients, ids, "rest", threads),
            ),
            (
                "raw limit, Collections",
                "collections",
                lambda ids: raw_limit(clients, ids, "collections", threads),
            ),
            (
                "naive peer",
                "rest",
                lambda ids: naive_peer(clients, ids),
            ),
        ]
        for name, api, drive in plans:
            row = _baseline(stack, name, api, sample, drive)
            rows.append(row)
            rate = _num(row.orders_per_s, 1)
            result = "ok" if row.passed else "FAILED: " + "; ".join(row.problems)
            reporter.say(f"{name}: {rate} orders/s, {row.sf_calls} calls; {result}")
    finally:
        stop_stack(stack, reporter)
    return rows


def run(
    *,
    opportunities: int = DEFAULT_OPPORTUNITIES,
    modes: Sequence[str] = CALLBACK_APIS,
    baseline_sample: int = DEFAULT_BASELINE_SAMPLE,
    timeout: float = DEFAULT_TIMEOUT_S,
    stream: TextIO | None = None,
    results_dir: Path = RESULTS,
    trail: str = "env",
    repeat: int = 1,
) -> int:
    """Run the benchmark, print the tables, write the JSON; 0 only if every row passed."""
    reporter = Reporter(stream or sys.stdout)
    began = time.monotonic()
    load_at_start = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="sfgw-bench-e2e-"))
    settings = settings_in_effect(os.environ)
    title = headline(opportunities, modes, baseline_sample)
    if settings:
        title += "; " + " ".join(f"{k}={v}" for k, v in settings.items())
    reporter.say(f"{title}; load average {load_text()}")
    rows: list[Row] = []
    with signals_interrupt(PROGRAM):
        try:
            if baseline_sample:
                rows += run_baselines(baseline_sample, workdir / "baselines", reporter)
            for mode in modes:
                for run_number, setting in enumerate(trail_plan(trail, repeat), start=1):
                    where = workdir / f"{mode}-{run_number}"
                    row = run_mode(mode, opportunities, where, timeout, reporter, trail=setting)
                    rows.append(row)
        except Interrupted as interrupt:
            reporter.say(f"\n{PROGRAM}: {interrupt} received; stopped (logs in {workdir})")
            return 128 + interrupt.signum
    seconds = time.monotonic() - began
    reporter.say("")
    reporter.say(
        f"{title}; load average {load_text()} "
        f"(at start {' '.join(f'{x:.2f}' for x in load_at_start)})"
    )
    reporter.say(summary_table(rows))
    reporter.say("")
    reporter.say(process_table(rows))
    for line in verdict_lines(rows):
        reporter.say(line)
    when = stamp()
    document = report_document(
        rows,
        when=when,
        opportunities=opportunities,
        baseline_sample=baseline_sample,
        seconds_total=seconds,
        load_at_start=load_at_start,
        settings=settings,
    )
    out = write_results("e2e", when, document, results_dir)
    reporter.say(f"wrote {shown(out)} in {seconds:.0f} s")
    if document["passed"]:
        shutil.rmtree(workdir, ignore_errors=True)
        return 0
    reporter.say(f"logs and databases kept in {workdir}")
    return 1


def verdict_lines(rows: Sequence[Row]) -> list[str]:
    """What the tables mean: budgets, the Apex drain, the trail's cost, batch fill, notes
    and failures, in that order."""
    lines = [f"API-call budget: {verdict}" for verdict in budget_verdicts(rows)]
    lines += [f"Apex drain: {verdict}" for verdict in drain_verdicts(rows)]
    lines += trail_verdicts(rows)
    lines += [note for note in map(batch_note, rows) if note]
    lines += [line.format(threads=baseline_threads()) for line in NOTES]
    lines += [f"FAILED {row.name}: {problem}" for row in rows for problem in row.problems]
    return lines


def _modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in CALLBACK_APIS]
    if unknown or not modes:
        raise argparse.ArgumentTypeError(
            f"--modes takes a comma list of {', '.join(CALLBACK_APIS)}, not {text!r}"
        )
    return list(dict.fromkeys(modes))


def _count(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= 100_000:
            raise argparse.ArgumentTypeError(f"must be between {low} and 100000")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--opportunities",
        type=_count(1),
        default=DEFAULT_OPPORTUNITIES,
        metavar="N",
        help=f"won Opportunities per callback mode (default {DEFAULT_OPPORTUNITIES})",
    )
    parser.add_argument(
        "--modes",
        type=_modes,
        default=list(CALLBACK_APIS),
        metavar="LIST",
        help=f"callback modes to run, comma-separated (default {','.join(CALLBACK_APIS)})",
    )
    parser.add_argument(
        "--baseline-sample",
        type=_count(0),
        default=DEFAULT_BASELINE_SAMPLE,
        metavar="N",
        help=f"Opportunities per baseline (default {DEFAULT_BASELINE_SAMPLE}; 0 skips them)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"give up on a mode after S seconds (default {DEFAULT_TIMEOUT_S:.0f})",
    )
    parser.add_argument(
        "--trail",
        choices=("env", "on", "off", "both"),
        default="env",
        help="SFGW_TRAIL for the stacks; both: each mode with the trail off, then on, "
        "and the cost in orders/s (default: as the environment says)",
    )
    parser.add_argument(
        "--repeat", type=_count(1), default=1, metavar="N",
        help="runs per mode (with --trail both: N pairs, off then on; medians compared)",
    )  # fmt: skip
