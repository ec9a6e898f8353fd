"""Dramatiq's retries, made so that a retry is not lost when Redis is briefly away.

Dramatiq's ``Retries`` enqueues a copy of a failed message and then the original is acked:
when the enqueue fails (Redis away), the retry is gone but the ack still comes. Here the
enqueue is tried again for ``SFGW_BROKER_RETRY_ENQUEUE_S``, and otherwise the message is
failed, so that it becomes a dead letter with its reason instead of vanishing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import dramatiq
import redis
from dramatiq.errors import BrokerConnectionError
from dramatiq.middleware import Retries

log = logging.getLogger("sfgw.broker")

#: what a lost or slow Redis raises, through redis-py or through Dramatiq's broker
CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError, BrokerConnectionError)


class DurableRetries(Retries):
    """Retries that does not let a failed retry-enqueue turn into a silent ack."""

    def __init__(self, *, retry_enqueue_s: float, **options: Any) -> None:
        super().__init__(**options)
        self.retry_enqueue_s = retry_enqueue_s

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        deadline = time.monotonic() + self.retry_enqueue_s
        retries_before = message.options.get("retries")
        while True:
            try:
                super().after_process_message(broker, message, result=result, exception=exception)  # type: ignore[no-untyped-call]
                return
            except CONNECTION_ERRORS as error:
                # super() counted this attempt before its enqueue failed; count it once.
                if retries_before is None:
                    message.options.pop("retries", None)
                else:
                    message.options["retries"] = retries_before
                if time.monotonic() >= deadline:
                    log.error(
                        "could not enqueue the retry of message %s (%s); failing it so it "
                        "is dead-lettered rather than lost",
                        message.message_id,
                        type(error).__name__,
                    )
                    message.fail()
                    return
                time.sleep(0.5)
