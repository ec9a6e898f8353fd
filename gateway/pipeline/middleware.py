"""Dead letters for the pipeline's messages, written where no message can fall through.

The letter is written in ``after_nack``, not when the message fails: only once the nack
has reached Redis (Dramatiq retries it until Redis answers) is Redis known to be up, and
only once our letter is stored may Dramatiq's own copy be dropped
(:meth:`gateway.broker.SfgwRedisBroker.drop_dead_copy`). Writing at failure time lost
messages when Redis was down then: the write failed, Redis came back, the nack succeeded
and the copy was deleted with no letter anywhere. If the write still fails, Dramatiq's
copy stays (and is logged).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import CurrentMessage, Middleware, Retries

from gateway.broker import (
    CALLBACKS_QUEUE,
    ORDERS_QUEUE,
    PROCESS_NOTIFICATION,
    SEND_CALLBACK,
    SfgwRedisBroker,
    attempt_of,
)
from gateway.pipeline.stages import StageFailed, StageRetry, payload_ids
from gateway.pipeline.stores import DeadLetters
from gateway.trail import Retried, Trail, now_ms

log = logging.getLogger("sfgw.pipeline")

STAGE_OF_ACTOR = {PROCESS_NOTIFICATION: ORDERS_QUEUE, SEND_CALLBACK: CALLBACKS_QUEUE}
ACTOR_OF_STAGE = {stage: actor for actor, stage in STAGE_OF_ACTOR.items()}


class DeadLetterMiddleware(Middleware):
    """Stores failed pipeline messages as dead letters (hooks run after ``Retries``'s)."""

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
        """Store our letter, then drop Dramatiq's own copy."""
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
                "own dead letters of queue %s",
                message.message_id,
                message.queue_name,
                exc_info=True,
            )
            return
        if isinstance(broker, SfgwRedisBroker):
            broker.drop_dead_copy(message)


def dead_letter_of(message: MessageProxy, exception: BaseException | None) -> dict[str, Any]:
    """The :meth:`DeadLetters.add` arguments for a failed pipeline message."""
    payload = message.args[0] if message.args and isinstance(message.args[0], dict) else {}
    if isinstance(exception, StageFailed):
        reason, attempts = exception.reason, exception.attempts
    else:
        attempts = attempt_of(message)
        reason = f"gave up after {attempts} attempts"
        if exception is not None:
            reason += f": {type(exception).__name__}: {exception}"
    org, opp, notification = payload_ids(payload)
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


class RetryTrail(Middleware):
    """A retried attempt on its record's trail (:mod:`gateway.trail`).

    The only trail write that rides on no write of ours (Dramatiq enqueues the retry
    itself), so it costs a round trip of its own, on the rare retry path only; it is
    best effort (:meth:`gateway.trail.Trail.record_now` logs and drops a failure) and
    runs after the retry was decided, so it cannot change it. It runs before
    ``Retries`` counts the attempt (after-hooks run in reverse order), hence the ``+ 1``.
    """

    def __init__(self, trail: Trail) -> None:
        self.trail = trail

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if not isinstance(exception, StageRetry) or message.actor_name not in STAGE_OF_ACTOR:
            return
        payload = message.args[0] if message.args and isinstance(message.args[0], dict) else {}
        org, opp, _ = payload_ids(payload)
        event = Retried(
            now_ms(), org[:15], stage=STAGE_OF_ACTOR[message.actor_name],
            attempt=attempt_of(message) + 1, reason=exception.reason,
            delay_ms=exception.delay or 0,
        )  # fmt: skip
        self.trail.record_now([(opp, event)])


def install_middleware(
    broker: dramatiq.Broker, dead_letters: DeadLetters, trail: Trail | None = None
) -> None:
    """CurrentMessage (attempt number, first-enqueue time), the dead-letter store and,
    with a trail, the retries' trail events."""
    broker.add_middleware(CurrentMessage())
    if trail is not None:
        broker.add_middleware(RetryTrail(trail))
    # after_* hooks run in reverse order: placed before Retries, ours runs after it,
    # when Retries has already decided whether the message failed.
    broker.add_middleware(DeadLetterMiddleware(dead_letters), before=Retries)
