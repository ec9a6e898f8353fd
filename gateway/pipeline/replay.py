"""Sending dead letters back through the pipeline (``sfgw dlq replay``).

A letter goes back to the actor and queue of the stage it failed in, as a fresh message
(new id, retry count and window). It is enqueued first and removed from the store
second: a crash in between replays it twice, which is harmless (the ERP order is
idempotent on the Opportunity Id, the callback writes the same values), while the other
order could lose it. Under Sentinel the two are a fenced attempt
(:mod:`gateway.redis_failover`): a failover in between stops the replay with an error
before the removal, and the letter stays. The removal takes only the letter that was
read: if the replayed job has already failed again, its newer letter stays.
"""

from __future__ import annotations

from collections.abc import Iterable

import dramatiq

from gateway.broker import message_for
from gateway.pipeline.stores import DeadLetter, DeadLetters
from gateway.redis_failover import fenced_attempt


def replay(
    broker: dramatiq.Broker, dead_letters: DeadLetters, letters: Iterable[DeadLetter]
) -> int:
    count = 0
    for letter in letters:
        broker.declare_queue(letter.queue)
        message = message_for(letter.queue, letter.actor, letter.payload)
        # A failover between the two could lose the enqueue and keep the removal.
        with fenced_attempt():
            broker.enqueue(message)
            dead_letters.replayed(letter)  # and on its record's trail, with a trail
        count += 1
    return count
