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

from gateway.broker import ORDERS_QUEUE, BrokerSettings, make_broker
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
