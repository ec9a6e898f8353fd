"""When a coalesced batch leaves: full, waited long enough, or (Apex modes) the burst is
over. Real Redis, the coalescer's own clock, no Salesforce: only claims are made."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from gateway.pipeline.callbacks.coalescer import CallbackCoalescer
from gateway.pipeline.callbacks.job import CallbackJob
from gateway.pipeline.callbacks.settings import CallbackSettings
from gateway.pipeline.policy import RetryPolicy
from gateway.pipeline.stores import DeadLetters
from gateway.settings import CoreSettings

ORG = "00D000000000001AAA"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance_ms(self, ms: int) -> None:
        self.now += ms / 1000


@pytest.fixture
def client(redis_url: str, redis_prefix: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    keys = list(connection.scan_iter(f"{redis_prefix}:*"))
    if keys:
        connection.delete(*keys)
    connection.close()


def coalescer(
    client: redis.Redis, prefix: str, clock: Clock, settings: CallbackSettings
) -> CallbackCoalescer:
    core = CoreSettings.from_env({"SFGW_REDIS_PREFIX": prefix})
    policy = RetryPolicy(
        retry_for_ms=60_000, min_backoff_ms=10, max_backoff_ms=100, limit_backoff_ms=1000
    )
    return CallbackCoalescer(
        client=client, core=core, coalesce=settings, policy=policy,
        dead_letters=DeadLetters(client, core), clock=clock,
    )  # fmt: skip


def job(n: int) -> CallbackJob:
    return CallbackJob(
        organization_id=ORG, opportunity_id=f"006{n:015d}", notification_id=f"04l{n:015d}",
        order_number=f"SO-{n:06d}", order_status="Created",
    )  # fmt: skip


def apex_settings() -> CallbackSettings:
    return CallbackSettings.from_env({}, callback_api="apex_rest")


def test_the_apex_modes_batch_1000_wait_5_s_and_leave_after_250_ms_of_quiet() -> None:
    apex = apex_settings()
    assert (apex.batch_size, apex.max_wait_ms, apex.idle_ms) == (1000, 5000, 250)
    collections = CallbackSettings.from_env({}, callback_api="collections")
    assert (collections.batch_size, collections.max_wait_ms, collections.idle_ms) == (200, 1000, 0)


def test_the_batch_size_limit_depends_on_the_mode() -> None:
    env = {"SFGW_CALLBACK_BATCH_SIZE": "2000"}
    assert CallbackSettings.from_env(env, callback_api="apex_soap").batch_size == 2000
    with pytest.raises(
        Exception, match="SFGW_CALLBACK_BATCH_SIZE=2000 is above the maximum of 200"
    ):
        CallbackSettings.from_env(env, callback_api="collections")


def test_a_growing_batch_waits_and_leaves_once_the_burst_is_over(
    client: redis.Redis, redis_prefix: str
) -> None:
    clock = Clock()
    cb = coalescer(client, redis_prefix, clock, apex_settings())
    for n in range(30):  # a record every 100 ms: the batch keeps growing
        cb.add(job(n))
        member, records, next_ms = cb.claim(ORG)
        assert member is None and records == []
        # the flusher is told to look again when the quiet time would be over
        assert next_ms == cb.now_ms() + 250
        clock.advance_ms(100)
    clock.advance_ms(149)  # 249 ms after the last record: still growing, maybe
    assert cb.claim(ORG)[0] is None
    clock.advance_ms(1)
    member, records, _ = cb.claim(ORG)
    assert member is not None and len(records) == 30


def test_a_steady_stream_still_leaves_at_the_maximum_wait(
    client: redis.Redis, redis_prefix: str
) -> None:
    clock = Clock()
    cb = coalescer(client, redis_prefix, clock, apex_settings())
    first = cb.now_ms()
    n = 0
    while cb.now_ms() < first + 5000:
        cb.add(job(n))
        assert cb.claim(ORG)[0] is None
        n += 1
        clock.advance_ms(50)
    member, records, _ = cb.claim(ORG)
    assert member is not None and len(records) == n


def test_without_an_idle_time_only_size_and_wait_count(
    client: redis.Redis, redis_prefix: str
) -> None:
    clock = Clock()
    settings = CallbackSettings.from_env({}, callback_api="collections")
    cb = coalescer(client, redis_prefix, clock, settings)
    cb.add(job(1))
    clock.advance_ms(999)
    assert cb.claim(ORG)[0] is None
    clock.advance_ms(1)
    assert len(cb.claim(ORG)[1]) == 1


def test_a_lease_is_extended_while_its_flusher_works(
    client: redis.Redis, redis_prefix: str
) -> None:
    clock = Clock()
    cb = coalescer(client, redis_prefix, clock, apex_settings())
    cb.add(job(1))
    member, _, _ = cb.claim(ORG, force=True)
    assert member is not None
    clock.advance_ms(50_000)
    cb.extend_lease(member)
    clock.advance_ms(50_000)  # 100 s after the claim, 50 s after the extension
    assert cb.recover_expired() == 0
    clock.advance_ms(10_001)
    assert cb.recover_expired() == 1
