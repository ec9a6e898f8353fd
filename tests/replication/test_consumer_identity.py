"""A worker's consumer that fails for any reason gives up its broker identity, so what it
had fetched is redelivered once that identity's heartbeat expires.

Dramatiq replaces a consumer that raised, and the messages it had fetched stay in the
identity's ack set. Met in a failover: a fetch that ran on a demoted master failed inside
Dramatiq's script (not as a connection error), the identity kept heartbeating and 30
fetched messages waited for ever.
"""

from __future__ import annotations

import pytest
import redis

from gateway import broker as broker_module
from gateway.broker import (
    ORDERS_QUEUE,
    PROCESS_NOTIFICATION,
    BrokerSettings,
    QueueReader,
    make_broker,
    message_for,
)
from gateway.redis_failover import master_epoch
from gateway.settings import CoreSettings


@pytest.mark.parametrize(
    "error",
    [
        redis.ResponseError("Error running script: -READONLY You can't write against a replica"),
        redis.TimeoutError("Timeout reading from socket"),
        RuntimeError("anything else"),
    ],
)
def test_a_failed_fetch_abandons_the_identity(
    redis_url: str, redis_prefix: str, error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = CoreSettings.from_env({"SFGW_REDIS_URL": redis_url, "SFGW_REDIS_PREFIX": redis_prefix})
    broker = make_broker(core, BrokerSettings.from_env({}))
    broker.declare_queue(ORDERS_QUEUE)
    consumer = broker.consume(ORDERS_QUEUE, prefetch=4, timeout=100)
    before = broker.broker_id

    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(broker, "do_fetch", fail, raising=False)
    with pytest.raises(Exception):  # noqa: B017 - whatever it was, it goes on up
        next(consumer)
    assert broker.broker_id != before
    broker.close()


def test_a_message_fetched_before_a_failover_is_not_acked_after_it(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What followed its processing (a retry's enqueue, a callback handed on) may be lost
    with the old master: the message stays in flight and comes back, and it no longer
    holds a prefetch slot (the consumer would otherwise stop fetching)."""
    core = CoreSettings.from_env({"SFGW_REDIS_URL": redis_url, "SFGW_REDIS_PREFIX": redis_prefix})
    broker = make_broker(core, BrokerSettings.from_env({}))
    broker.declare_queue(ORDERS_QUEUE)
    broker.enqueue(message_for(ORDERS_QUEUE, PROCESS_NOTIFICATION, {"n": 1}))
    consumer = broker.consume(ORDERS_QUEUE, prefetch=1, timeout=100)
    message = next(consumer)
    assert message is not None
    epoch = master_epoch()
    monkeypatch.setattr(broker_module, "master_epoch", lambda: epoch + 1)  # a failover
    consumer.ack(message)
    assert message.message_id not in consumer.queued_message_ids
    client = redis.Redis.from_url(redis_url)
    assert QueueReader(client, core).counts(ORDERS_QUEUE).in_flight == 1
    client.close()
    broker.close()
