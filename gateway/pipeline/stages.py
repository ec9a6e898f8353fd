"""One attempt of a stage, as Dramatiq runs it: timed, logged, counted, and decided.

Failure policy, explicit and computed from settings instead of Dramatiq's weeks-long
defaults: whatever an attempt raised goes to :func:`gateway.pipeline.policy.decide`. A
retryable failure inside the retry window is re-raised as :class:`StageRetry` carrying
the delay from our schedule; otherwise :class:`StageFailed` is raised, which the actors
declare in ``throws`` so Dramatiq fails the message at once, and the dead-letter
middleware (:mod:`gateway.pipeline.middleware`) stores it with the stage, reason,
attempts and redacted payload.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage

from gateway.broker import attempt_of
from gateway.pipeline import metrics
from gateway.pipeline.callbacks.per_record import RecordFailed
from gateway.pipeline.policy import Permanent, Retry, RetryPolicy, decide
from gateway.redis_failover import fenced_attempt
from gateway.secrets import redact

log = logging.getLogger("sfgw.pipeline")

#: One attempt's work: gets (attempt, first enqueue ms, now ms), returns (outcome, detail).
Work = Callable[[int, int, int], tuple[str, str]]


class StageRetry(dramatiq.Retry):
    """Retry this message after ``delay`` ms (our schedule, not Dramatiq's)."""

    def __init__(self, reason: str, delay: int) -> None:
        super().__init__(reason, delay=delay)
        self.reason = reason


class StageFailed(Exception):
    """Give up on this message: dead-letter it with ``reason``."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


def payload_ids(payload: dict[str, Any]) -> tuple[str, str, str]:
    """(org, opportunity, notification) of either stage's payload, for logs and letters."""
    org = str(payload.get("organization_id") or "")
    opp = str(payload.get("opportunity_id") or payload.get("record_id") or "")
    return org, opp, str(payload.get("notification_id") or "")


def _log_line(**fields: Any) -> str:
    return redact(json.dumps(fields, sort_keys=True, default=str))


def run_stage(stage: str, payload: dict[str, Any], work: Work, policy: RetryPolicy) -> None:
    """One attempt of a stage: time it, log it, count it, decide what a failure means."""
    message = CurrentMessage.get_current_message()
    attempt = attempt_of(message)
    now_ms = int(time.time() * 1000)
    first_ms = message.message_timestamp if message is not None else now_ms
    org, opp, notification = payload_ids(payload)
    started = time.monotonic()
    common = {
        "stage": stage,
        "org": org[:15],
        "opportunity": opp,
        "notification": notification,
        "attempt": attempt + 1,
    }
    try:
        with fenced_attempt():  # a failover during it makes it fail, to be redone
            outcome, detail = work(attempt, first_ms, now_ms)
    except Exception as error:
        elapsed = time.monotonic() - started
        metrics.LATENCY.labels(stage).observe(elapsed)
        decision: Retry | Permanent | None
        if isinstance(error, RecordFailed):
            decision = error.decision
        else:
            decision = decide(error, attempt, policy, first_ms=first_ms, now_ms=now_ms)
        if isinstance(decision, Retry):
            metrics.JOBS.labels(stage, "retried").inc()
            log.warning(
                _log_line(**common, outcome="retry", reason=decision.reason,
                          delay_ms=decision.delay_ms, ms=round(elapsed * 1000))
            )  # fmt: skip
            raise StageRetry(decision.reason, decision.delay_ms) from None
        reason = decision.reason if decision is not None else f"{type(error).__name__}"
        metrics.JOBS.labels(stage, "dead_lettered").inc()
        log.error(
            _log_line(**common, outcome="dead_letter", reason=reason, ms=round(elapsed * 1000))
        )
        raise StageFailed(reason, attempt + 1) from None
    elapsed = time.monotonic() - started
    metrics.LATENCY.labels(stage).observe(elapsed)
    metrics.END_TO_END.labels(stage).observe(max(0.0, time.time() - first_ms / 1000))
    metrics.JOBS.labels(stage, outcome).inc()
    log.info(_log_line(**common, outcome=outcome, detail=detail, ms=round(elapsed * 1000)))
