"""Done markers and dead letters on the real Redis server."""

from __future__ import annotations

import json

import redis

from gateway.pipeline.stores import DeadLetters, DoneMarkers, Throughput, safe_payload
from gateway.secrets import SecretBox
from gateway.settings import CoreSettings

TOKEN = "00D000000000001!AQ0abcdefghijklmnopqrstuvwxyz0123456789"


def test_done_markers_live_at_least_seven_days(client: redis.Redis, core: CoreSettings) -> None:
    done = DoneMarkers(client, core, ttl_s=7 * 86_400)
    assert not done.is_done("00D000000000001", "04l000000000001AAA")
    done.mark_done("00D000000000001", "04l000000000001AAA", "SO-000001")
    assert done.is_done("00D000000000001", "04l000000000001AAA")
    key = done.key("00D000000000001", "04l000000000001AAA")
    assert key.startswith(core.redis_prefix + ":pipeline:done:")
    assert client.ttl(key) > 7 * 86_400 - 60
    assert not done.is_done("00D000000000002", "04l000000000001AAA")  # per org


def _add(letters: DeadLetters, stage: str, n: int, now: float, payload: dict) -> str:
    return letters.add(
        stage=stage,
        queue=stage,
        actor="process_notification" if stage == "orders" else "send_callback",
        organization_id="00D000000000001AAA",
        opportunity_id=f"0065g00000AbC{n:02d}",
        notification_id=f"04l00000000{n:04d}",
        reason=f"ERP ValidationFault #{n}",
        attempts=n,
        payload=payload,
        now=now,
    ).id


def test_dead_letters_round_trip_without_secrets(client: redis.Redis, core: CoreSettings) -> None:
    letters = DeadLetters(client, core)
    box = SecretBox(core.require_secret_key())
    payload = {
        "notification_id": "04l000000000001",
        "session_id_encrypted": box.encrypt(TOKEN),
        "fields": {"Name": f"deal with {TOKEN} inside"},
    }
    first = _add(letters, "orders", 1, 1000.0, payload)
    second = _add(letters, "callbacks", 2, 2000.0, {"order_number": "SO-1"})
    assert letters.count() == 2
    stored = letters.get(first)
    assert stored is not None
    assert stored.stage == "orders" and stored.attempts == 1 and stored.when == 1000.0
    assert "session_id_encrypted" not in stored.payload
    raw = b"".join(v for v in client.hvals(core.key("pipeline", "dlq")))
    assert TOKEN.encode() not in raw
    assert payload["session_id_encrypted"].encode() not in raw
    assert [x.id for x in letters.iter()] == [first, second]
    assert [x.id for x in letters.iter(stage="callbacks")] == [second]
    assert [x.id for x in letters.iter(since=1500.0)] == [second]
    # the same job again overwrites its own letter
    assert _add(letters, "orders", 1, 3000.0, payload) == first
    assert letters.count() == 2
    assert letters.remove(first) and not letters.remove(first)
    assert letters.purge() == 1 and letters.count() == 0


def test_a_replay_or_purge_never_removes_a_newer_letter_under_the_same_id(
    client: redis.Redis, core: CoreSettings
) -> None:
    """A replayed job can fail again, and write its new letter under the same id, before
    the replay removes the letter it read: the newer one must stay."""
    letters = DeadLetters(client, core)
    old_id = _add(letters, "orders", 1, 1000.0, {"fields": {}})
    read = letters.get(old_id)
    assert read is not None
    assert _add(letters, "orders", 1, 2000.0, {"fields": {}}) == old_id  # failed again
    assert not letters.replayed(read)
    assert letters.discard([read]) == 0
    newer = letters.get(old_id)
    assert newer is not None and newer.when == 2000.0 and letters.count() == 1
    assert letters.replayed(newer) and letters.count() == 0
    assert not letters.replayed(newer)  # gone: nothing to remove


def test_safe_payload_is_json_and_redacted() -> None:
    cleaned = safe_payload({"session_id_encrypted": "gAAAA", "x": f"Bearer {TOKEN}", "n": 1})
    assert cleaned == json.loads(json.dumps(cleaned))
    assert "session_id_encrypted" not in cleaned and TOKEN not in json.dumps(cleaned)
    assert cleaned["n"] == 1


def test_throughput_counts_recent_minutes(client: redis.Redis, core: CoreSettings) -> None:
    throughput = Throughput(client, core)
    for _ in range(3):
        throughput.record("orders", now=600.0)
    throughput.record("orders", now=660.0)
    assert throughput.recent("orders", 1, now=660.0) == 4
    assert throughput.recent("orders", 0, now=660.0) == 1
    assert throughput.recent("callbacks", 15, now=660.0) == 0
