"""The trail must never cost a notification: whatever happens to a trail write, what
was enqueued stays enqueued, the gateway's answer stays the same, and the workers'
done markers and dead letters are written.

A trail write is made to fail by planting a key of another type where the trail list
belongs (every command on it then fails with WRONGTYPE); if any trail write were made
with ``redis.call`` instead of ``pcall``, or moved before the queue writes, these tests
fail: the enqueue raises (the gateway answers a Fault after the markers were set) or
the messages are missing.
"""

from __future__ import annotations

import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.broker import QueueReader, QueueWriter, encode_messages
from gateway.intake.enqueue import DurableQueue
from gateway.pipeline.stores import DeadLetters
from gateway.routes import Route
from gateway.settings import CoreSettings
from gateway.trail import DeadLettered, Received, Trail, TrailSettings
from gateway.uuids import new_message_ids
from tests.console.conftest import ORG, ORG18, job, opportunity

ROUTE = Route("orders", "process_notification")


def poison(client: redis.Redis, trail: Trail, record: str) -> None:
    client.set(trail.key(record), "not a list")


def test_a_failing_trail_write_loses_no_notification_and_changes_no_answer(
    client: redis.Redis, core: CoreSettings, redis_url: str
) -> None:
    queue = DurableQueue(core, timeout_ms=2000, ready_timeout_ms=500, dedupe_ttl_s=604800,
                         trail=TrailSettings())  # fmt: skip
    trail = Trail(client, core, TrailSettings())
    jobs = [job(n) for n in range(1, 6)]
    for n in (1, 3):
        poison(client, trail, opportunity(n))
    result = queue.enqueue(jobs, ROUTE)  # no exception: the gateway acks
    assert (result.added, result.duplicates) == (5, 0)
    queued = [m.args[0]["notification_id"] for m in QueueReader(client, core).queued("orders")]
    assert queued == [j.notification_id for j in jobs]
    # the poisoned trails stay as they were; the others got their event
    assert client.get(trail.key(opportunity(1))) == b"not a list"
    assert [type(e) for e in trail.read(opportunity(2))] == [Received]
    # Salesforce's redelivery: duplicates, acked, nothing queued twice
    again = queue.enqueue(jobs, ROUTE)
    assert (again.added, again.duplicates) == (0, 5)
    assert len(QueueReader(client, core).queued("orders")) == 5
    assert [e.duplicate for e in trail.read(opportunity(2))] == [False, True]  # type: ignore[attr-defined]
    queue.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(st.lists(st.integers(1, 12), min_size=1, max_size=8), min_size=1, max_size=4),
    poisoned=st.sets(st.integers(1, 12)),
)
def test_enqueue_with_a_trail_is_the_enqueue_without_one(
    client: redis.Redis, core: CoreSettings, batches: list[list[int]], poisoned: set[int]
) -> None:
    """Model: a notification is enqueued exactly when its marker is new, whatever the
    trail's state; each healthy trail holds one event per delivery, in order."""
    prefix = f"{core.redis_prefix}-{new_message_ids(1)[0][:8]}"
    own = CoreSettings.from_env(
        {"SFGW_REDIS_URL": core.redis_url or "", "SFGW_REDIS_PREFIX": prefix}
    )
    trail = Trail(client, own, TrailSettings())
    writer = QueueWriter(client, own)
    for n in poisoned:
        poison(client, trail, opportunity(n))
    seen: set[int] = set()
    deliveries: dict[int, list[bool]] = {}
    try:
        for batch in batches:
            unique = list(dict.fromkeys(batch))  # one message never repeats a notification
            jobs = [job(n) for n in unique]
            ids = new_message_ids(len(jobs))
            flags = writer.enqueue(
                "orders",
                [own.key("intake", "dedupe", ORG, j.notification_id) for j in jobs],
                encode_messages("orders", "process_notification", [j.to_dict() for j in jobs], ids),
                ids,
                3600,
                trail=trail.received(
                    "orders", [(j.organization_id, j.notification_id, j.record_id) for j in jobs]
                ),
            )
            assert flags == [n not in seen for n in unique]
            for n in unique:
                deliveries.setdefault(n, []).append(n in seen)
                seen.add(n)
        queued = [m.args[0]["notification_id"] for m in QueueReader(client, own).queued("orders")]
        assert sorted(queued) == sorted(job(n).notification_id for n in seen)
        for n, duplicates in deliveries.items():
            if n in poisoned:
                assert client.type(trail.key(opportunity(n))) == b"string"
            else:
                events = trail.read(opportunity(n))
                assert [e.duplicate for e in events] == duplicates  # type: ignore[attr-defined]
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)


def test_a_dead_letter_is_stored_even_when_its_trail_write_fails(
    client: redis.Redis, core: CoreSettings
) -> None:
    trail = Trail(client, core, TrailSettings())
    letters = DeadLetters(client, core, trail)
    poison(client, trail, opportunity(7))
    letter = letters.add(
        stage="orders", queue="orders", actor="process_notification", organization_id=ORG18,
        opportunity_id=opportunity(7), notification_id="04l000000000007AAA",
        reason="ValidationFault", attempts=1, payload={"record_id": opportunity(7)},
    )  # fmt: skip
    assert letters.get(letter.id) == letter
    assert letters.replayed(letter)
    assert letters.get(letter.id) is None
    # a healthy trail gets the letter and its replay, in the same transactions
    letter = letters.add(
        stage="orders", queue="orders", actor="process_notification", organization_id=ORG18,
        opportunity_id=opportunity(8), notification_id="04l000000000008AAA",
        reason="ValidationFault", attempts=1, payload={},
    )  # fmt: skip
    letters.replayed(letter)
    kinds = [e.KIND for e in trail.read(opportunity(8))]
    assert kinds == ["dead_letter", "replay"]
    assert isinstance(trail.read(opportunity(8))[0], DeadLettered)
