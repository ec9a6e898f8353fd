"""What ``sfgw demo`` reports and how it judges a run: pure functions, tested without sockets.

:class:`Progress` is where the N notifications are; :func:`stalled_stage` names the part
that is behind; :func:`verify` says why the records do not prove the promise (one ERP
order per Opportunity, each carrying its own order's number); :func:`histogram_quantile`
estimates the ack latency from the gateway's histogram; :class:`Summary` is the final
table and :class:`Reporter` writes progress to a terminal or a log.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from devstack.parts import StackParts

PLAIN_PROGRESS_EVERY_S = 5.0
SUMMARY_NOTE = (
    "Counts come from the mocks' own records (the org's delivery log, API usage and "
    "records; the ERP's order store).\nAck latency is the gateway's sfgw_intake_ack_seconds "
    "histogram (request start to Ack=true, after the durable enqueue), interpolated within "
    "its buckets."
)


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


def inspect_commands(stack: StackParts) -> list[str]:
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
