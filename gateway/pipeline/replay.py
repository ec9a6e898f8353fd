"""Sending dead letters back through the pipeline (``sfgw dlq replay``).

A letter goes back to the actor and queue of the stage it failed in, as a fresh message
(new id, retry count and window). It is enqueued first and removed from the store
second: a crash in between replays it twice, which is harmless (the ERP order is
idempotent on the Opportunity Id, the callback writes the same values), while the other
order could lose it. Under Sentinel the two are a fenced attempt
(:mod:`gateway.redis_failover`): a failover in between stops the replay with an error
before the removal, and the letter stays.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

import dramatiq

from gateway.pipeline.stores import DeadLetter, DeadLetters
from gateway.redis_failover import fenced_attempt


def replay(
    broker: dramatiq.Broker, dead_letters: DeadLetters, letters: Iterable[DeadLetter]
) -> int:
    count = 0
    for letter in letters:
        broker.declare_queue(letter.queue)
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=letter.queue,
            actor_name=letter.actor,
            args=(letter.payload,),
            kwargs={},
            options={},
            message_id=str(uuid.uuid4()),
            message_timestamp=int(time.time() * 1000),
        )
        # A failover between the two could lose the enqueue and keep the removal.
        with fenced_attempt():
            broker.enqueue(message)
            dead_letters.replayed(letter)  # and on its record's trail, with a trail
        count += 1
    return count
