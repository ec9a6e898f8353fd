"""The two Dramatiq actors, declared on a given broker: thin shells around the stages.

``process_notification`` (queue ``orders``) runs :class:`~gateway.pipeline.orders.OrderStage`;
``send_callback`` (queue ``callbacks``) runs the per-record
:class:`~gateway.pipeline.callbacks.per_record.CallbackStage`. Both get their retry
options from the settings (:func:`actor_options`), never Dramatiq's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dramatiq

from gateway.broker import CALLBACKS_QUEUE, ORDERS_QUEUE, PROCESS_NOTIFICATION, SEND_CALLBACK
from gateway.pipeline.callbacks.per_record import CallbackStage
from gateway.pipeline.orders import OrderStage
from gateway.pipeline.policy import RetryPolicy
from gateway.pipeline.stages import StageFailed, StageRetry, run_stage


@dataclass(frozen=True)
class Actors:
    process_notification: dramatiq.Actor[..., None]
    send_callback: dramatiq.Actor[..., None]


def actor_options(policy: RetryPolicy, *, time_limit_ms: int) -> dict[str, Any]:
    """The retry policy as Dramatiq actor options (shared by both stages)."""
    max_retries = policy.max_retries()

    def retry_when(retries: int, error: BaseException) -> bool:
        if isinstance(error, StageRetry):
            return True  # run_stage already checked the window
        if isinstance(error, StageFailed):
            return False
        # Not seen by run_stage (a time limit, a worker shutting down): bounded count.
        return retries < max_retries

    return {
        "max_retries": max_retries,
        "min_backoff": policy.min_backoff_ms,
        "max_backoff": policy.max_backoff_ms,
        "retry_when": retry_when,
        "throws": (StageFailed,),
        "time_limit": time_limit_ms,
    }


def declare_actors(
    broker: dramatiq.Broker,
    policy: RetryPolicy,
    *,
    time_limit_ms: int,
    orders: OrderStage,
    callbacks: CallbackStage,
) -> Actors:
    """Declare both actors on ``broker`` (not the global one, so tests can own theirs)."""
    options = actor_options(policy, time_limit_ms=time_limit_ms)

    def process_notification(job: dict[str, Any]) -> None:
        run_stage(ORDERS_QUEUE, job, lambda attempt, first, now: orders.process(job), policy)

    def send_callback(job: dict[str, Any]) -> None:
        def work(attempt: int, first_ms: int, now_ms: int) -> tuple[str, str]:
            return "done", callbacks.send(job, attempt, first_ms, now_ms)

        run_stage(CALLBACKS_QUEUE, job, work, policy)

    return Actors(
        process_notification=dramatiq.actor(
            broker=broker, actor_name=PROCESS_NOTIFICATION, queue_name=ORDERS_QUEUE, **options
        )(process_notification),
        send_callback=dramatiq.actor(
            broker=broker, actor_name=SEND_CALLBACK, queue_name=CALLBACKS_QUEUE, **options
        )(send_callback),
    )
