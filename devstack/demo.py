"""``sfgw demo``: the whole flow on one machine, watched stage by stage, then verified.

It starts the stack (:mod:`devstack.stack`), closes N Opportunities in the mock org and
follows every notification through the four stages a reader cares about: sent by
Salesforce, acked by the gateway, order created in the ERP, Opportunity updated. It ends
with a summary and exits 0 only when the records prove the promise: exactly N orders,
one per Opportunity, and every Opportunity carries its own order's number.

The parts are separated the way the rest of the product is: pure functions decide
(:func:`stalled_stage`, :func:`verify`, :func:`histogram_quantile`, the summary rows) and
are tested without sockets; :func:`run_demo` is the thin shell that starts processes,
polls and prints. Signals: the first SIGINT/SIGTERM interrupts whatever the demo is
doing and every child is stopped; further signals during the shutdown are ignored, so a
second impatient Ctrl-C cannot leave half the stack running.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from devstack.stack import (
    CALLBACK_APIS,
    CONTRACTS,
    Stack,
    StackConfig,
    StackError,
    metric_total,
    prepare_stack,
    read_metrics,
)
from gateway.cli_support import CommandError, Subparsers, render_table

POLL_INTERVAL_S = 0.5
PLAIN_PROGRESS_EVERY_S = 5.0
DEFAULT_TIMEOUT_S = 180.0
SUMMARY_NOTE = (
    "Counts come from the mocks' own records (the org's delivery log, API usage and "
    "records; the ERP's order store).\nAck latency is the gateway's sfgw_intake_ack_seconds "
    "histogram (request start to Ack=true, after the durable enqueue), interpolated within "
    "its buckets."
)


def register(subparsers: Subparsers) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the whole flow locally and report",
        description=(
            "Start Redis (embedded unless SFGW_REDIS_URL is set), the gateway, the workers, "
            "the mock ERP and the mock Salesforce on free loopback ports, close N "
            "Opportunities, follow them through every stage and verify that each one "
            "carries its own ERP order number. Exit 0 only then."
        ),
    )
    demo.add_argument(
        "--opportunities", type=_positive_int, default=200, metavar="N", help="default 200"
    )
    demo.add_argument("--callback-api", choices=CALLBACK_APIS, default="rest")
    demo.add_argument("--contract", choices=CONTRACTS, default="opportunity_with_fields")
    demo.add_argument(
        "--session-ids",
        action="store_true",
        help="legacy mode: call back with the SessionId each message carries, not OAuth",
    )
    demo.add_argument(
        "--keep-running",
        action="store_true",
        help="leave the stack up after the summary (URLs and commands shown) until Ctrl-C",
    )
    demo.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help="give up when the flow has not finished after S seconds "
        f"(default {DEFAULT_TIMEOUT_S:.0f})",
    )
    demo.add_argument(
        "--workdir",
        type=Path,
        metavar="DIR",
        help="logs and databases go here (new or empty; default: a temporary directory, "
        "removed after a successful run)",
    )
    demo.set_defaults(handler=run_demo)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError("must be between 1 and 100000")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


# -- functional core ----------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where the N notifications are, counted from the mocks' own records."""

    total: int
    sent: int = 0  # in outbound messages Salesforce has tried at least once
    acked: int = 0  # in messages the gateway acknowledged
    orders: int = 0  # orders in the ERP's store
    updated: int = 0  # closed Opportunities that carry an order number
    dead_letters: int = 0

    @property
    def finished(self) -> bool:
        return self.updated >= self.total and self.orders >= self.total

    def line(self, elapsed: float) -> str:
        n = self.total
        text = (
            f"[{elapsed:6.1f}s] sent {self.sent}/{n}  acked {self.acked}/{n}  "
            f"orders {self.orders}/{n}  Salesforce updated {self.updated}/{n}"
        )
        if self.dead_letters:
            text += f"  dead letters {self.dead_letters}"
        return text


def stalled_stage(progress: Progress) -> tuple[str, str]:
    """``(part, what did not happen)`` for the first stage that is behind."""
    n = progress.total
    if progress.sent < n:
        return "mock Salesforce", f"sent only {progress.sent} of {n} notifications"
    if progress.acked < n:
        return "gateway", f"acked only {progress.acked} of {n} notifications"
    if progress.orders < n:
        return "workers", f"created only {progress.orders} of {n} orders in the ERP"
    return "workers", f"updated only {progress.updated} of {n} Opportunities in Salesforce"


@dataclass(frozen=True)
class OrderRecord:
    order_number: str
    external_reference: str


def verify(
    closed_ids: Sequence[str],
    opportunities: Sequence[Mapping[str, Any]],
    orders: Sequence[OrderRecord],
) -> list[str]:
    """Why the run does NOT prove the promise (empty when it does).

    The promise: exactly one ERP order per closed Opportunity, and each Opportunity
    carries the number of its own order (not just any number).
    """
    problems: list[str] = []
    wanted = set(closed_ids)
    by_reference: dict[str, list[str]] = {}
    for order in orders:
        by_reference.setdefault(order.external_reference, []).append(order.order_number)
    if len(orders) != len(wanted):
        problems.append(f"the ERP holds {len(orders)} orders for {len(wanted)} Opportunities")
    doubled = sorted(ref for ref, numbers in by_reference.items() if len(numbers) > 1)
    if doubled:
        problems.append(
            f"{len(doubled)} Opportunities have more than one order (e.g. {doubled[0]})"
        )
    strangers = sorted(set(by_reference) - wanted)
    if strangers:
        problems.append(
            f"{len(strangers)} orders belong to no closed Opportunity (e.g. {strangers[0]})"
        )
    records = {str(r["Id"]): r for r in opportunities}
    missing_order = [oid for oid in closed_ids if oid not in by_reference]
    if missing_order:
        problems.append(
            f"{len(missing_order)} Opportunities have no order (e.g. {missing_order[0]})"
        )
    wrong = []
    for oid in closed_ids:
        record = records.get(oid)
        numbers = by_reference.get(oid, [])
        if record is None or record.get("Order_Number__c") not in numbers:
            wrong.append(oid)
    if wrong:
        example = records.get(wrong[0], {}).get("Order_Number__c")
        problems.append(
            f"{len(wrong)} Opportunities do not carry their order's number "
            f"(e.g. {wrong[0]}: Order_Number__c={example!r})"
        )
    return problems


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus' ``histogram_quantile``: linear interpolation inside the bucket.

    ``buckets`` are ``(upper bound, cumulative count)``, including ``+Inf``. The result is
    an estimate whose error is at most the width of the bucket it falls in.
    """
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # beyond the last finite bucket: its bound is all we know
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def ack_buckets(samples: Sequence[tuple[str, dict[str, str], float]]) -> list[tuple[float, float]]:
    """The gateway's ``sfgw_intake_ack_seconds`` buckets, summed over contracts."""
    totals: dict[float, float] = {}
    for name, labels, value in samples:
        if name == "sfgw_intake_ack_seconds_bucket":
            bound = float(labels["le"])
            totals[bound] = totals.get(bound, 0.0) + value
    return sorted(totals.items())


@dataclass
class Summary:
    opportunities: int
    messages: int = 0
    delivery_attempts: int = 0
    acked: int = 0
    orders: int = 0
    updated: int = 0
    intake_duplicates: int = 0
    worker_skips: int = 0
    dead_letters: int = 0
    api_requests: int = 0
    token_requests: int = 0
    ack_p50_s: float | None = None
    ack_p99_s: float | None = None
    acked_messages: int = 0
    startup_s: float = 0.0
    flow_s: float = 0.0
    total_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    def rows(self, callback_api: str) -> list[tuple[str, str]]:
        n = self.opportunities
        per_k = f" ({1000 * self.api_requests / n:.0f} per 1,000 orders)" if n else ""
        rate = f" ({self.orders / self.flow_s:.1f} orders/s)" if self.flow_s > 0 else ""
        return [
            ("Opportunities closed won", str(n)),
            (
                "sent by Salesforce",
                f"{self.messages} messages, {self.delivery_attempts} delivery attempts",
            ),
            ("notifications acked by the gateway", f"{self.acked}/{n}"),
            ("orders created in the ERP", f"{self.orders}/{n}"),
            ("Opportunities updated in Salesforce", f"{self.updated}/{n}"),
            (
                "duplicates suppressed",
                f"{self.intake_duplicates} at intake, {self.worker_skips} skipped by workers",
            ),
            ("dead letters", str(self.dead_letters)),
            (
                f"Salesforce API calls ({callback_api})",
                f"{self.api_requests}{per_k}, token requests {self.token_requests}",
            ),
            (
                "ack latency p50 / p99 (gateway metrics)",
                f"{_ms(self.ack_p50_s)} / {_ms(self.ack_p99_s)} ({self.acked_messages} messages)",
            ),
            (
                "elapsed",
                f"{self.total_s:.1f} s (start-up {self.startup_s:.1f} s, "
                f"close won -> all updated {self.flow_s:.1f} s{rate})",
            ),
        ]


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms"


def inspect_commands(stack: Stack) -> list[str]:
    """Shell lines a reader can paste to look at the running stack."""
    env = " ".join(f"{k}={v}" for k, v in stack.cli_env().items())
    return [
        f"sfgw erp orders --db {stack.erp_db}",
        f"sfgw salesforce opportunities --db {stack.salesforce_db}",
        f"sfgw salesforce deliveries --all --db {stack.salesforce_db}",
        f"sfgw salesforce close-won --count 10 --db {stack.salesforce_db}",
        f"{env} sfgw status",
        f"{env} sfgw dlq list",
    ]


# -- the shell ----------------------------------------------------------------------


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; a BaseException so no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def signals_interrupt(program: str = "sfgw demo") -> Iterator[None]:
    """The first SIGINT/SIGTERM raises :class:`Interrupted`; later ones are ignored."""
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        if received:
            print(f"\n{program}: already stopping, please wait", file=sys.stderr, flush=True)
            return
        received.append(signum)
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


class Reporter:
    """Progress on a terminal (one line rewritten in place) or in a log (a line now and then)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last_plain = -math.inf
        self._last_text = ""
        self._open_line = False

    def restart(self) -> None:
        """A new flow begins and its elapsed time starts at 0 again: the next plain
        progress line is due at once (the benchmarks follow several flows in a row)."""
        self._last_plain = -math.inf
        self._last_text = ""

    def progress(self, progress: Progress, elapsed: float, *, force: bool = False) -> None:
        text = progress.line(elapsed)
        if self.tty:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._open_line = True
            return
        body = text.split("] ", 1)[-1]
        due = elapsed - self._last_plain >= PLAIN_PROGRESS_EVERY_S
        if force or (due and body != self._last_text) or (due and elapsed - self._last_plain > 30):
            self.say(text)
            self._last_plain = elapsed
            self._last_text = body

    def say(self, text: str) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False
        self.stream.write(text + "\n")
        self.stream.flush()


def run_demo(args: argparse.Namespace) -> int:
    workdir, temporary = _workdir(args.workdir)
    reporter = Reporter(sys.stdout)
    config = StackConfig(
        workdir=workdir,
        contract=args.contract,
        callback_api=args.callback_api,
        session_ids=args.session_ids,
        redis_url=os.environ.get("SFGW_REDIS_URL") or None,
    )
    succeeded = False
    stack: Stack | None = None
    with signals_interrupt():
        try:
            started = time.monotonic()
            where = (
                "Redis at SFGW_REDIS_URL (own key prefix)"
                if config.redis_url
                else "embedded Redis (append-only)"
            )
            reporter.say(
                f"sfgw demo: starting {where}, gateway, workers, mock ERP and mock Salesforce "
                f"(logs in {workdir})"
            )
            stack = prepare_stack(config)
            stack.start()
            summary = Summary(opportunities=args.opportunities)
            summary.startup_s = time.monotonic() - started
            reporter.say(
                f"stack up in {summary.startup_s:.1f} s; closing {args.opportunities} Opportunities"
            )
            run_flow(stack, args.opportunities, args.timeout, summary, reporter)
            summary.total_s = time.monotonic() - started
            reporter.say("")
            reporter.say(render_table(["summary", ""], summary.rows(args.callback_api)))
            reporter.say("\n" + SUMMARY_NOTE)
            if summary.problems:
                raise CommandError("demo failed verification: " + "; ".join(summary.problems))
            reporter.say(
                f"\nOK: all {args.opportunities} Opportunities carry their own order number "
                "(exactly one ERP order each)"
            )
            succeeded = True
            if args.keep_running:
                _keep_running(stack, reporter)
            return 0
        except Interrupted as interrupt:
            reporter.say(f"\nsfgw demo: {interrupt} received, stopping every process")
            # After a verified run, Ctrl-C is how --keep-running is meant to end.
            return 0 if succeeded else 128 + interrupt.signum
        except StackError as error:
            raise CommandError(f"demo failed: {error}") from None
        finally:
            stop_stack(stack, reporter)
            if temporary and succeeded:
                shutil.rmtree(workdir, ignore_errors=True)
            elif not succeeded:
                reporter.say(f"logs and databases kept in {workdir}")


def stop_stack(stack: Stack | None, reporter: Reporter) -> None:
    """Stop every part with SIGINT/SIGTERM ignored meanwhile; a failure is reported."""
    if stack is None:
        return
    # No signal may interrupt the shutdown itself: it is what keeps the machine clean.
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        stack.stop()
    except Exception as error:
        reporter.say(f"while stopping the stack: {error}")
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _workdir(requested: Path | None) -> tuple[Path, bool]:
    if requested is None:
        return Path(tempfile.mkdtemp(prefix="sfgw-demo-")), True
    if requested.exists() and (not requested.is_dir() or any(requested.iterdir())):
        raise CommandError(
            f"--workdir {requested} is not an empty directory; give a new or empty one "
            "(the mocks' databases must start empty for the counts to mean anything)"
        )
    requested.mkdir(parents=True, exist_ok=True)
    return requested.resolve(), False


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
    salesforce = Stack.need(stack.salesforce, "mock Salesforce")
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
            raise StackError("workers", _dead_letter_problem(stack), stack.log_of("workers"))
        if progress.finished:
            break
        if elapsed > timeout:
            reporter.progress(progress, elapsed, force=True)
            part, problem = stalled_stage(progress)
            hint = _last_delivery_error(stack) if part in ("gateway", "mock Salesforce") else ""
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
    from mock_erp.store import OrderStore

    salesforce = Stack.need(stack.salesforce, "mock Salesforce")
    messages = salesforce.deliveries(include_delivered=True)
    wanted = set(ids)
    updated = sum(
        1 for r in salesforce.opportunities() if r["Id"] in wanted and r.get("Order_Number__c")
    )
    store = OrderStore(stack.erp_db)
    try:
        orders = store.count()
    finally:
        store.close()
    return Progress(
        total=len(ids),
        sent=sum(m["notifications"] for m in messages if m["attempts"] > 0),
        acked=sum(m["notifications"] for m in messages if m["status"] == "delivered"),
        orders=orders,
        updated=updated,
        dead_letters=_dead_letter_count(stack),
    )


def _dead_letter_count(stack: Stack) -> int:
    from gateway.pipeline.stores import DeadLetters
    from gateway.settings import CoreSettings

    client = stack.redis_client()
    try:
        return DeadLetters(client, _core(stack, CoreSettings)).count()
    finally:
        client.close()


def _dead_letter_problem(stack: Stack) -> str:
    from gateway.pipeline.stores import DeadLetters
    from gateway.settings import CoreSettings

    client = stack.redis_client()
    try:
        letters = list(DeadLetters(client, _core(stack, CoreSettings)).iter())
    finally:
        client.close()
    if not letters:
        return "a job was dead-lettered"
    first = letters[0]
    env = " ".join(f"{k}={v}" for k, v in stack.cli_env().items())
    return (
        f"{len(letters)} job(s) dead-lettered; first at stage {first.stage}: "
        f"{first.reason[:200]} (see `{env} sfgw dlq list`)"
    )


def _core(stack: Stack, cls: Any) -> Any:
    env = dict(os.environ, **stack.cli_env())
    return cls.from_env(env)


def _last_delivery_error(stack: Stack) -> str:
    salesforce = stack.salesforce
    if salesforce is None:
        return ""
    errors = [m["last_error"] for m in salesforce.deliveries() if m.get("last_error")]
    return f" (last delivery error: {errors[-1]})" if errors else ""


def collect(stack: Stack, ids: Sequence[str], summary: Summary) -> None:
    """Fill the summary from the mocks' records and the processes' metrics, then verify."""
    from mock_erp.store import OrderStore

    salesforce = Stack.need(stack.salesforce, "mock Salesforce")
    gateway = Stack.need(stack.gateway, "gateway")
    workers = Stack.need(stack.workers, "workers")
    messages = salesforce.deliveries(include_delivered=True, attempts=True)
    summary.messages = len(messages)
    summary.delivery_attempts = sum(m["attempts"] for m in messages)
    summary.acked = sum(m["notifications"] for m in messages if m["status"] == "delivered")
    opportunities = salesforce.opportunities()
    wanted = set(ids)
    summary.updated = sum(
        1 for r in opportunities if r["Id"] in wanted and r.get("Order_Number__c")
    )
    store = OrderStore(stack.erp_db)
    try:
        stored = store.all_orders()
    finally:
        store.close()
    orders = [OrderRecord(o.order_number, o.external_reference) for o in stored]
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
    summary.dead_letters = _dead_letter_count(stack)
    summary.problems = verify(ids, opportunities, orders)


def _keep_running(stack: Stack, reporter: Reporter) -> None:
    gateway = Stack.need(stack.gateway, "gateway")
    erp = Stack.need(stack.erp, "mock ERP")
    salesforce = Stack.need(stack.salesforce, "mock Salesforce")
    workers = Stack.need(stack.workers, "workers")
    outbound = gateway.outbound_url(stack.config.contract)
    lines = [
        "",
        "The stack keeps running (Ctrl-C stops everything):",
        f"  gateway          {outbound}  (metrics {gateway.url}/metrics)",
        f"  workers metrics  {workers.metrics_url}",
        f"  mock ERP         {erp.url}  (WSDL {erp.wsdl_url})",
        f"  mock Salesforce  {salesforce.url}  (org {salesforce.org_id})",
        f"  Redis            {stack.redis_url}  (key prefix {stack.redis_prefix})",
        "",
        "Inspect it from another terminal (in this checkout, after `source .venv/bin/activate`):",
        *(f"  {line}" for line in inspect_commands(stack)),
    ]
    for line in lines:
        reporter.say(line)
    while True:
        stack.check_running()
        time.sleep(1.0)
