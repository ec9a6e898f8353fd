"""The demo's flow on a running stack: close N Opportunities, follow them, collect figures.

:func:`run_flow` is what ``sfgw demo`` and ``scripts/bench e2e`` both run: it closes the
Opportunities, polls the mocks' records until every one carries an order number (or a
dead letter, a dead process or the timeout ends it with a :class:`StackError` naming the
part at fault), then fills the :class:`~devstack.demo_report.Summary` from the records
and the processes' metrics and verifies the promise.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from devstack.config import GATEWAY, SALESFORCE, WORKERS
from devstack.demo_report import (
    OrderRecord,
    Progress,
    Reporter,
    Summary,
    ack_buckets,
    histogram_quantile,
    stalled_stage,
    verify,
)
from devstack.errors import StackError
from devstack.metrics import metric_total, read_metrics
from devstack.stack import Stack

POLL_INTERVAL_S = 0.5


def run_flow(
    stack: Stack,
    opportunities: int,
    timeout: float,
    summary: Summary,
    reporter: Reporter,
    *,
    poll_interval: float = POLL_INTERVAL_S,
) -> list[str]:
    """Close ``opportunities`` Opportunities won, follow them until every one carries an
    order number, then fill ``summary`` (:func:`collect`); returns the closed ids.

    Raises :class:`StackError` naming the part at fault on a dead letter, a dead process
    or when ``timeout`` seconds pass. The benchmarks use a longer ``poll_interval`` for
    big runs: each poll reads every Opportunity, which costs CPU the flow competes for.
    """
    salesforce = stack.need(stack.salesforce, SALESFORCE)
    reporter.restart()
    began = time.monotonic()
    ids = salesforce.close_won(opportunities)
    progress = Progress(total=len(ids))
    while True:
        stack.check_running()
        progress = observe(stack, ids)
        elapsed = time.monotonic() - began
        reporter.progress(progress, elapsed)
        if progress.dead_letters:
            reporter.progress(progress, elapsed, force=True)
            raise StackError(WORKERS, _dead_letter_problem(stack), stack.log_of(WORKERS))
        if progress.finished:
            break
        if elapsed > timeout:
            reporter.progress(progress, elapsed, force=True)
            part, problem = stalled_stage(progress)
            hint = _last_delivery_error(stack) if part in (GATEWAY, SALESFORCE) else ""
            raise StackError(
                part,
                f"timed out after {timeout:.0f} s: {problem}{hint}",
                stack.log_of(part),
            )
        time.sleep(poll_interval)
    summary.flow_s = time.monotonic() - began
    reporter.progress(progress, summary.flow_s, force=True)
    collect(stack, ids, summary)
    return ids


def observe(stack: Stack, ids: Sequence[str]) -> Progress:
    """Where the notifications of ``ids`` are, from the mocks' records and the dead letters."""
    salesforce = stack.need(stack.salesforce, SALESFORCE)
    messages = salesforce.deliveries(include_delivered=True)
    return Progress(
        total=len(ids),
        sent=sum(m["notifications"] for m in messages if m["attempts"] > 0),
        acked=sum(m["notifications"] for m in messages if m["status"] == "delivered"),
        orders=stack.erp_order_count(),
        updated=len(stack.order_numbers(ids)),
        dead_letters=len(stack.dead_letters()),
    )


def _dead_letter_problem(stack: Stack) -> str:
    letters = stack.dead_letters()
    if not letters:
        return "a job was dead-lettered"
    first = letters[0]
    env = " ".join(f"{k}={v}" for k, v in stack.cli_env().items())
    return (
        f"{len(letters)} job(s) dead-lettered; first at stage {first.stage}: "
        f"{first.reason[:200]} (see `{env} sfgw dlq list`)"
    )


def _last_delivery_error(stack: Stack) -> str:
    salesforce = stack.salesforce
    if salesforce is None:
        return ""
    errors = [m["last_error"] for m in salesforce.deliveries() if m.get("last_error")]
    return f" (last delivery error: {errors[-1]})" if errors else ""


def collect(stack: Stack, ids: Sequence[str], summary: Summary) -> None:
    """Fill the summary from the mocks' records and the processes' metrics, then verify."""
    salesforce = stack.need(stack.salesforce, SALESFORCE)
    gateway = stack.need(stack.gateway, GATEWAY)
    workers = stack.need(stack.workers, WORKERS)
    messages = salesforce.deliveries(include_delivered=True, attempts=True)
    summary.messages = len(messages)
    summary.delivery_attempts = sum(m["attempts"] for m in messages)
    summary.acked = sum(m["notifications"] for m in messages if m["status"] == "delivered")
    opportunities = list(stack.opportunities().values())
    summary.updated = len(stack.order_numbers(ids))
    orders = [
        OrderRecord(o.order_number, o.external_reference) for o in stack.erp_orders().values()
    ]
    summary.orders = len(orders)
    usage = salesforce.api_usage()
    summary.api_requests = int(usage.get("api_requests", 0))
    summary.token_requests = int(usage.get("token_requests", 0))
    gateway_samples = read_metrics(f"{gateway.url}/metrics")
    summary.intake_duplicates = int(
        metric_total(gateway_samples, "sfgw_intake_notifications_total", result="duplicate")
    )
    buckets = ack_buckets(gateway_samples)
    summary.ack_p50_s = histogram_quantile(0.5, buckets)
    summary.ack_p99_s = histogram_quantile(0.99, buckets)
    summary.acked_messages = int(buckets[-1][1]) if buckets else 0
    worker_samples = read_metrics(workers.metrics_url)
    summary.worker_skips = int(
        metric_total(worker_samples, "sfgw_pipeline_jobs_total", outcome="skipped")
    )
    summary.dead_letters = len(stack.dead_letters())
    summary.problems = verify(ids, opportunities, orders)
