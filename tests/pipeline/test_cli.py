"""``sfgw dlq ...`` and ``sfgw status`` as a user runs them: real processes, real Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import redis
from dramatiq import Message
from dramatiq.common import dq_name

from gateway.broker import QueueKeys
from gateway.pipeline.stores import DeadLetters
from gateway.settings import CoreSettings


def sfgw(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


def _letter(letters: DeadLetters, stage: str, n: int, when: float) -> str:
    return letters.add(
        stage=stage,
        queue=stage,
        actor="process_notification" if stage == "orders" else "send_callback",
        organization_id="00D000000000001AAA",
        opportunity_id=f"0065g0000000{n:03d}AAA",
        notification_id=f"04l000000000{n:03d}AAA",
        reason=f"ERP ValidationFault TITLE_REQUIRED #{n}",
        attempts=n,
        payload={"notification_id": f"04l000000000{n:03d}AAA", "n": n},
        now=when,
    ).id


def test_dlq_list_show_replay_purge(
    base_env: dict[str, str], core: CoreSettings, client: redis.Redis
) -> None:
    letters = DeadLetters(client, core)
    empty = sfgw(base_env, "dlq", "list")
    assert empty.returncode == 0 and "no dead letters" in empty.stdout
    now = time.time()
    old = _letter(letters, "orders", 1, now - 7200)
    cb = _letter(letters, "callbacks", 2, now - 60)
    new = _letter(letters, "orders", 3, now - 30)

    table = sfgw(base_env, "dlq", "list")
    assert table.returncode == 0, table.stderr
    header, _rule, *rows = table.stdout.splitlines()
    for column in ("when", "stage", "opportunity", "notification", "attempts", "reason"):
        assert column in header
    assert [row.split()[0] for row in rows] == [old, cb, new]
    assert "TITLE_REQUIRED #1" in rows[0] and "0065g0000000001AAA" in rows[0]

    as_json = sfgw(base_env, "dlq", "list", "--json")
    assert [json.loads(line)["id"] for line in as_json.stdout.splitlines()] == [old, cb, new]

    shown = sfgw(base_env, "dlq", "show", cb)
    assert shown.returncode == 0 and json.loads(shown.stdout)["stage"] == "callbacks"
    missing = sfgw(base_env, "dlq", "show", "ord-000000000000")
    assert (
        missing.returncode == 1
        and missing.stderr.count("\n") == 1
        and "sfgw dlq list" in missing.stderr
    )

    usage = sfgw(base_env, "dlq", "replay")
    assert usage.returncode == 1 and "--all" in usage.stderr

    replayed = sfgw(base_env, "dlq", "replay", "--stage", "orders", "--since", "1h")
    assert replayed.returncode == 0 and "replayed 1 dead letter" in replayed.stdout
    keys = QueueKeys.of(core)
    (message_id,) = client.lrange(keys.ready("orders"), 0, -1)
    message = Message.decode(client.hget(keys.messages("orders"), message_id))
    assert message.actor_name == "process_notification" and message.args[0]["n"] == 3
    assert letters.get(new) is None and letters.count() == 2

    assert sfgw(base_env, "dlq", "replay", cb).returncode == 0
    assert client.llen(keys.ready("callbacks")) == 1

    refused = sfgw(base_env, "dlq", "purge")  # no terminal to ask on
    assert refused.returncode == 1 and "--yes" in refused.stderr and letters.count() == 1
    purged = sfgw(base_env, "dlq", "purge", "--yes")
    assert purged.returncode == 0 and "deleted 1" in purged.stdout and letters.count() == 0


def test_status_reports_depths_dead_letters_and_oldest_age(
    base_env: dict[str, str], core: CoreSettings, client: redis.Redis
) -> None:
    keys = QueueKeys.of(core)
    two_hours_ago = int((time.time() - 7200) * 1000)
    for i, queue in enumerate(["orders", "orders", "callbacks"]):
        message = Message(
            queue_name=queue,
            actor_name="x",
            args=(),
            kwargs={},
            options={},
            message_id=f"m{i}",
            message_timestamp=two_hours_ago + i,
        )
        client.hset(keys.messages(queue), f"m{i}", message.encode())
        client.rpush(keys.ready(queue), f"m{i}")
    delayed = Message(
        queue_name=dq_name("orders"),
        actor_name="x",
        args=(),
        kwargs={},
        options={},
        message_id="d",
        message_timestamp=two_hours_ago - 3600_000,
    )
    client.hset(keys.delayed_messages("orders"), "d", delayed.encode())
    client.sadd(keys.in_flight("worker-1", "callbacks"), "inflight")
    _letter(DeadLetters(client, core), "orders", 1, time.time())

    result = sfgw(base_env, "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    orders, callbacks = status["queues"]
    assert (orders["ready"], orders["delayed"], orders["in_flight"]) == (2, 1, 0)
    assert (callbacks["ready"], callbacks["in_flight"]) == (1, 1)
    assert status["dead_letters"] == 1
    assert 3 * 3600 - 120 < status["oldest_age_s"] < 3 * 3600 + 120  # the delayed retry

    text = sfgw(base_env, "status")
    assert text.returncode == 0
    assert "dead letters:   1" in text.stdout and "of the 24 h window" in text.stdout


def test_commands_fail_with_one_line_when_redis_is_unset(base_env: dict[str, str]) -> None:
    env = {k: v for k, v in base_env.items() if k != "SFGW_REDIS_URL"}
    env["SFGW_REDIS_URL"] = ""
    result = sfgw(env, "status")
    assert result.returncode == 1 and "SFGW_REDIS_URL" in result.stderr
    assert result.stderr.count("\n") == 1


def test_worker_refuses_to_start_with_a_bad_setting(base_env: dict[str, str]) -> None:
    result = sfgw({**base_env, "SFGW_SF_CLIENT_ID": "", "SFGW_SF_USE_SESSION_ID": ""}, "worker")
    assert result.returncode == 1 and "SFGW_SF_CLIENT_ID" in result.stderr
    assert result.stderr.count("\n") == 1
    bad = sfgw(
        {
            **base_env,
            "SFGW_SF_CLIENT_ID": "k",
            "SFGW_SF_CLIENT_SECRET": "s",
            "SFGW_CALLBACK_API": "x",
        },
        "worker",
    )
    assert bad.returncode == 1 and "SFGW_CALLBACK_API" in bad.stderr
