"""The two Dramatiq actors and the thin shell around the pipeline's decisions.

``process_notification`` (queue ``orders``): dedupe -> [read the Opportunity when the
contract sent only its Id] -> ERP ``CreateOrder`` (idempotent on the Opportunity Id) ->
enqueue the callback job -> mark the notification done.

``send_callback`` (queue ``callbacks``): write the order number and status onto the
Opportunity and handle the record's own outcome.

Failure policy, explicitly per actor and computed from settings instead of Dramatiq's
weeks-long defaults: every exception is classified (:func:`policy.classify`); a
retryable one is re-raised as :class:`StageRetry` carrying the delay from our schedule
for as long as the job is inside ``SFGW_RETRY_FOR_S`` (counted from its first enqueue);
after that, or for a permanent failure, :class:`StageFailed` is raised, which the actor
declares in ``throws`` so Dramatiq fails the message at once, and
:class:`DeadLetterMiddleware` stores it with the stage, reason, attempts and redacted
payload, then removes Dramatiq's own copy from its ``.XQ`` so the store is the one
place to look (``sfgw dlq``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage, Middleware, Retries
from redis.client import Pipeline as RedisPipeline

from gateway.jobs import FieldValue, NotificationJob
from gateway.pipeline import metrics
from gateway.pipeline.erp_port import OrderService
from gateway.pipeline.messages import CallbackJob
from gateway.pipeline.policy import (
    ORDER_FIELDS,
    Permanent,
    PermanentJobError,
    PlaceOrder,
    ReadFirst,
    Retry,
    RetryPolicy,
    Skip,
    classify,
    classify_record,
    opportunity_id,
    plan_order,
)
from gateway.pipeline.settings import CALLBACKS_QUEUE, ORDERS_QUEUE, PipelineSettings
from gateway.pipeline.stores import DeadLetters, DoneMarkers, Throughput
from gateway.salesforce.auth import AccessToken
from gateway.salesforce.callbacks import RecordUpdate, SalesforceClient
from gateway.secrets import SecretBox, redact

log = logging.getLogger("sfgw.pipeline")

PROCESS_NOTIFICATION = "process_notification"
SEND_CALLBACK = "send_callback"
STAGE_OF_ACTOR = {PROCESS_NOTIFICATION: ORDERS_QUEUE, SEND_CALLBACK: CALLBACKS_QUEUE}
ACTOR_OF_STAGE = {stage: actor for actor, stage in STAGE_OF_ACTOR.items()}


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


class RecordFailed(Exception):
    """Salesforce saved the call but not this record."""

    def __init__(self, decision: Retry | Permanent) -> None:
        super().__init__(decision.reason)
        self.decision = decision


@dataclass
class Pipeline:
    """What the actors do, with every dependency passed in (tests build their own)."""

    settings: PipelineSettings
    done: DoneMarkers
    dead_letters: DeadLetters
    erp: OrderService
    salesforce: SalesforceClient
    box: SecretBox | None
    enqueue_callback: Callable[[dict[str, Any]], None]
    throughput: Throughput | None = None

    # -- stage 1 ---------------------------------------------------------------------

    def process_notification(self, payload: dict[str, Any]) -> tuple[str, str]:
        """Returns (outcome, detail) for the job's log line."""
        job = NotificationJob.from_dict(payload)
        org15, notification = job.dedupe_key
        if self.done.is_done(org15, notification):
            return "duplicate", "already processed"
        sf = self.settings.salesforce
        fields: dict[str, FieldValue] = dict(job.fields)
        plan = plan_order(
            job.record_id,
            fields,
            order_number_field=sf.order_number_field,
            currency_code=self.settings.currency_code,
        )
        if isinstance(plan, ReadFirst):
            opp = opportunity_id(job.record_id)
            wanted = ("Id", *ORDER_FIELDS, sf.order_number_field)
            read = self.salesforce.read_opportunity(
                job.organization_id, opp, wanted, legacy=self._legacy(job)
            )
            fields.update(read)
            plan = plan_order(
                job.record_id,
                fields,
                order_number_field=sf.order_number_field,
                currency_code=self.settings.currency_code,
                have_read=True,
            )
        if isinstance(plan, Skip):
            pipe = self.done.pipeline()
            self.done.mark_done(org15, notification, "skipped", pipe=pipe)
            self._count(ORDERS_QUEUE, pipe)
            pipe.execute()
            return "skipped", plan.reason
        if not isinstance(plan, PlaceOrder):  # plan_order never reads twice
            raise PermanentJobError(f"cannot plan an order: {plan}")
        order = self.erp.create_order(plan.draft)
        callback = CallbackJob(
            organization_id=job.organization_id,
            opportunity_id=plan.draft.external_reference,
            notification_id=job.notification_id,
            order_number=order.order_number,
            order_status=order.status,
            partner_url=job.partner_url,
            session_id_encrypted=job.session_id_encrypted if sf.use_session_id else None,
        )
        self.enqueue_callback(callback.to_dict())
        # Only now, after the callback is queued: done, its old letter gone, counted (one
        # MULTI/EXEC round trip; a crash before it leaves the job to run again).
        pipe = self.done.pipeline()
        self.done.mark_done(org15, notification, order.order_number, pipe=pipe)
        self.dead_letters.resolve(ORDERS_QUEUE, job.organization_id, job.notification_id, pipe=pipe)
        self._count(ORDERS_QUEUE, pipe)
        pipe.execute()
        created = "created" if order.created else "existing"
        return "done", f"{created} order {order.order_number}"

    # -- stage 2 ---------------------------------------------------------------------

    def send_callback(self, payload: dict[str, Any], attempt: int) -> tuple[str, str]:
        job = CallbackJob.from_dict(payload)
        sf = self.settings.salesforce
        record = RecordUpdate(
            record_id=opportunity_id(job.opportunity_id),
            fields={
                sf.order_number_field: job.order_number,
                sf.order_status_field: job.order_status,
            },
        )
        legacy = self._legacy_from(job.session_id_encrypted, job.partner_url)
        (outcome,) = self.salesforce.update(job.organization_id, [record], legacy=legacy)
        decision = classify_record(outcome, attempt, self.policy)
        if decision is not None:
            raise RecordFailed(decision)
        pipe = self.done.pipeline()
        self.dead_letters.resolve(CALLBACKS_QUEUE, job.organization_id, record.record_id, pipe=pipe)
        self._count(CALLBACKS_QUEUE, pipe)
        pipe.execute()
        return "done", f"{sf.order_number_field}={job.order_number}"

    # -- helpers ---------------------------------------------------------------------

    def _count(self, stage: str, pipe: RedisPipeline) -> None:
        if self.throughput is not None:
            self.throughput.record(stage, pipe=pipe)

    @property
    def policy(self) -> RetryPolicy:
        return retry_policy(self.settings)

    def _legacy(self, job: NotificationJob) -> AccessToken | None:
        return self._legacy_from(job.session_id_encrypted, job.partner_url)

    def _legacy_from(self, encrypted: str | None, partner_url: str) -> AccessToken | None:
        """The message's SessionId, decrypted here and only here, when legacy mode is on."""
        if not self.settings.salesforce.use_session_id or not encrypted or self.box is None:
            return None
        session_id = self.box.decrypt(encrypted)
        if session_id is None or not partner_url:
            return None
        return self.salesforce.tokens.session_token(session_id, partner_url)


def retry_policy(settings: PipelineSettings) -> RetryPolicy:
    return RetryPolicy(
        retry_for_ms=settings.retry_for_s * 1000,
        min_backoff_ms=settings.min_backoff_ms,
        max_backoff_ms=settings.max_backoff_ms,
        limit_backoff_ms=settings.limit_backoff_ms,
    )


def _ids(payload: dict[str, Any]) -> tuple[str, str, str]:
    """(org, opportunity, notification) of either kind of payload, for logs and letters."""
    org = str(payload.get("organization_id") or "")
    opp = str(payload.get("opportunity_id") or payload.get("record_id") or "")
    return org, opp, str(payload.get("notification_id") or "")


def _log_line(**fields: Any) -> str:
    return redact(json.dumps(fields, sort_keys=True, default=str))


def run_stage(
    stage: str,
    payload: dict[str, Any],
    work: Callable[[int], tuple[str, str]],
    policy: RetryPolicy,
) -> None:
    """One attempt of a stage: time it, log it, count it, decide what a failure means."""
    message = CurrentMessage.get_current_message()
    attempt = int(message.options.get("retries", 0)) if message is not None else 0
    first_ms = message.message_timestamp if message is not None else int(time.time() * 1000)
    org, opp, notification = _ids(payload)
    started = time.monotonic()
    common = {
        "stage": stage,
        "org": org[:15],
        "opportunity": opp,
        "notification": notification,
        "attempt": attempt + 1,
    }
    try:
        outcome, detail = work(attempt)
    except Exception as error:
        elapsed = time.monotonic() - started
        metrics.LATENCY.labels(stage).observe(elapsed)
        if isinstance(error, RecordFailed):
            decision: Retry | Permanent = error.decision
        else:
            decision = classify(error, attempt, policy)
        now_ms = int(time.time() * 1000)
        if isinstance(decision, Retry) and policy.within_window(first_ms, now_ms):
            metrics.JOBS.labels(stage, "retried").inc()
            log.warning(
                _log_line(
                    **common,
                    outcome="retry",
                    reason=decision.reason,
                    delay_ms=decision.delay_ms,
                    ms=round(elapsed * 1000),
                )
            )
            raise StageRetry(decision.reason, decision.delay_ms) from None
        reason = decision.reason
        if isinstance(decision, Retry):
            reason = f"gave up after {attempt + 1} attempts over the retry window: {reason}"
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


class DeadLetterMiddleware(Middleware):
    """Stores failed pipeline messages as dead letters (hooks run after ``Retries``'s).

    The letter is written in ``after_nack``, not when the message fails: only once the
    nack has reached Redis (Dramatiq retries it until Redis answers) is Redis known to be
    up, and only once our letter is stored may Dramatiq's own copy in ``<queue>.XQ`` be
    dropped. Writing at failure time lost messages when Redis was down then: the write
    failed, Redis came back, the nack succeeded and the copy was deleted with no letter
    anywhere. If the write still fails, Dramatiq's copy stays (and is logged).
    """

    def __init__(self, dead_letters: DeadLetters) -> None:
        self.dead_letters = dead_letters
        self._letters: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if not message.failed or message.actor_name not in STAGE_OF_ACTOR:
            return
        letter = dead_letter_of(message, exception)
        with self._lock:
            self._letters[message.message_id] = letter

    def after_nack(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Store our letter, then drop Dramatiq's copy from ``<queue>.XQ``."""
        if message.actor_name not in STAGE_OF_ACTOR:
            return
        with self._lock:
            letter = self._letters.pop(message.message_id, None)
        if letter is None:
            letter = dead_letter_of(message, None)
        try:
            self.dead_letters.add(**letter)
        except Exception:
            log.critical(
                "could not store the dead letter of message %s; it stays in Dramatiq's "
                "dead-letter queue %s.XQ",
                message.message_id,
                message.queue_name,
                exc_info=True,
            )
            return
        message_id = message.options.get("redis_message_id")
        if message_id is None or not isinstance(broker, RedisBroker):
            return
        client = broker.client
        xq = f"{broker.namespace}:{message.queue_name}.XQ"
        pipe = client.pipeline(transaction=True)
        pipe.zrem(xq, message_id)
        pipe.hdel(f"{xq}.msgs", message_id)
        pipe.execute()


def dead_letter_of(message: MessageProxy, exception: BaseException | None) -> dict[str, Any]:
    """The :meth:`DeadLetters.add` arguments for a failed pipeline message."""
    payload = message.args[0] if message.args and isinstance(message.args[0], dict) else {}
    if isinstance(exception, StageFailed):
        reason, attempts = exception.reason, exception.attempts
    else:
        attempts = int(message.options.get("retries", 0))
        reason = f"gave up after {attempts} attempts"
        if exception is not None:
            reason += f": {type(exception).__name__}: {exception}"
    org, opp, notification = _ids(payload)
    return {
        "stage": STAGE_OF_ACTOR[message.actor_name],
        "queue": message.queue_name,
        "actor": message.actor_name,
        "organization_id": org,
        "opportunity_id": opp,
        "notification_id": notification,
        "reason": reason,
        "attempts": attempts,
        "payload": payload,
    }


class LazyPipeline:
    """Builds the pipeline on first use, in the worker process that uses it (zeep
    clients, HTTP pools and the ERP client are per process), once."""

    def __init__(self, factory: Callable[[], Pipeline]) -> None:
        self._factory = factory
        self._pipeline: Pipeline | None = None
        self._lock = threading.Lock()

    def get(self) -> Pipeline:
        if self._pipeline is None:
            with self._lock:
                if self._pipeline is None:
                    self._pipeline = self._factory()
        return self._pipeline


@dataclass(frozen=True)
class Actors:
    process_notification: dramatiq.Actor[..., None]
    send_callback: dramatiq.Actor[..., None]


def actor_options(settings: PipelineSettings) -> dict[str, Any]:
    """The retry policy as Dramatiq actor options (shared by both stages)."""
    policy = retry_policy(settings)
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
        "min_backoff": settings.min_backoff_ms,
        "max_backoff": settings.max_backoff_ms,
        "retry_when": retry_when,
        "throws": (StageFailed,),
        "time_limit": settings.actor_time_limit_ms,
    }


def declare_actors(
    broker: dramatiq.Broker, settings: PipelineSettings, pipeline: LazyPipeline
) -> Actors:
    """Declare both actors on ``broker`` (not the global one, so tests can own theirs)."""
    options = actor_options(settings)
    policy = retry_policy(settings)

    def process_notification(job: dict[str, Any]) -> None:
        run_stage(
            ORDERS_QUEUE, job, lambda attempt: pipeline.get().process_notification(job), policy
        )

    def send_callback(job: dict[str, Any]) -> None:
        run_stage(
            CALLBACKS_QUEUE, job, lambda attempt: pipeline.get().send_callback(job, attempt), policy
        )

    return Actors(
        process_notification=dramatiq.actor(
            broker=broker, actor_name=PROCESS_NOTIFICATION, queue_name=ORDERS_QUEUE, **options
        )(process_notification),
        send_callback=dramatiq.actor(
            broker=broker, actor_name=SEND_CALLBACK, queue_name=CALLBACKS_QUEUE, **options
        )(send_callback),
    )


def install_middleware(broker: dramatiq.Broker, dead_letters: DeadLetters) -> None:
    """CurrentMessage (attempt number, first-enqueue time) and the dead-letter store."""
    broker.add_middleware(CurrentMessage())
    # after_* hooks run in reverse order: placed before Retries, ours runs after it,
    # when Retries has already decided whether the message failed.
    broker.add_middleware(DeadLetterMiddleware(dead_letters), before=Retries)


__all__ = [
    "ACTOR_OF_STAGE",
    "PROCESS_NOTIFICATION",
    "SEND_CALLBACK",
    "STAGE_OF_ACTOR",
    "Actors",
    "DeadLetterMiddleware",
    "LazyPipeline",
    "PermanentJobError",
    "Pipeline",
    "StageFailed",
    "StageRetry",
    "declare_actors",
    "install_middleware",
]
