"""``sfgw status`` shows coalesced callbacks: records waiting per org and claimed batches.

The records are put there by the real :class:`CallbackCoalescer` (its Lua scripts, real
Redis) with a clock set back in time, so the ages the status prints are known; then the
real ``sfgw status`` process reads them, and must not change a single key doing so.
"""

from __future__ import annotations

import json
import time

import redis

from gateway.pipeline.callbacks.coalescer import CallbackCoalescer
from gateway.pipeline.callbacks.job import CallbackJob
from gateway.pipeline.callbacks.settings import CallbackSettings
from gateway.pipeline.settings import PipelineSettings
from gateway.pipeline.stores import DeadLetters
from gateway.settings import CoreSettings
from tests.pipeline.test_cli import sfgw

ORG_A = "00D000000000001AAA"  # old records waiting, and a batch whose lease ran out
ORG_B = "00D000000000002AAA"  # records waiting for a retry's backoff, one due
ORG_C = "00D000000000003AAA"  # nothing waiting, one batch being written right now


def _job(org: str, n: int) -> CallbackJob:
    return CallbackJob(
        organization_id=org, opportunity_id=f"006{n:015d}", notification_id=f"04l{n:015d}",
        order_number=f"SO-{n:06d}", order_status="Created",
    )  # fmt: skip


def _snapshot(client: redis.Redis, prefix: str) -> dict[bytes, bytes | None]:
    return {key: client.dump(key) for key in client.scan_iter(match=f"{prefix}:*")}


def test_status_names_pending_updates_and_claimed_batches_per_org(
    base_env: dict[str, str], core: CoreSettings, client: redis.Redis, redis_prefix: str
) -> None:
    env = {**base_env, "SFGW_CALLBACK_API": "collections", "SFGW_RETRY_MIN_BACKOFF_MS": "600000",
           "SFGW_RETRY_MAX_BACKOFF_MS": "1200000", "SFGW_SF_CLIENT_ID": "key",
           "SFGW_SF_CLIENT_SECRET": "secret"}  # fmt: skip
    t0 = time.time()
    clock = [t0]
    coalescer = CallbackCoalescer(
        client=client, core=core, coalesce=CallbackSettings.from_env(env),  # lease 60 s
        policy=PipelineSettings.from_env(env).retry_policy,
        dead_letters=DeadLetters(client, core), clock=lambda: clock[0],
    )  # fmt: skip

    def at(ago_s: float) -> None:
        clock[0] = t0 - ago_s

    at(300)
    for n in range(3):
        coalescer.add(_job(ORG_A, n))
    at(90)  # claimed 90 s ago with a 60 s lease: expired, its flusher presumably dead
    member, records, _ = coalescer.claim(ORG_A, force=True)
    assert member is not None and len(records) == 3
    at(200)
    for n in range(10, 14):
        coalescer.add(_job(ORG_A, n))

    at(30)
    for n in range(20, 22):
        coalescer.add(_job(ORG_B, n))
    at(20)  # Salesforce unreachable: both go back, due in 10+ minutes
    member, records, _ = coalescer.claim(ORG_B, force=True)
    assert member is not None
    coalescer.settle(member, ORG_B, records, ConnectionError("refused"))
    at(0)
    coalescer.add(_job(ORG_B, 22))

    at(5)
    for n in range(30, 32):
        coalescer.add(_job(ORG_C, n))
    member, records, _ = coalescer.claim(ORG_C, force=True)
    assert member is not None and len(records) == 2

    before = _snapshot(client, redis_prefix)
    result = sfgw(env, "status", "--json")
    assert result.returncode == 0, result.stderr
    coalesced = json.loads(result.stdout)["coalesced"]
    orgs = {o["org"]: o for o in coalesced["orgs"]}
    assert sorted(orgs) == [ORG_A, ORG_B, ORG_C]
    a, b, c = orgs[ORG_A], orgs[ORG_B], orgs[ORG_C]
    assert (a["pending"], a["due"], a["batches"], a["batch_records"]) == (4, 4, 1, 3)
    assert a["expired_leases"] == 1 and 200 <= a["oldest_age_s"] < 230
    assert 90 <= a["oldest_lease_age_s"] < 120
    assert (b["pending"], b["due"], b["batches"], b["expired_leases"]) == (3, 1, 0, 0)
    assert 30 <= b["oldest_age_s"] < 60 and b["oldest_lease_age_s"] is None
    assert (c["pending"], c["due"], c["batches"], c["batch_records"]) == (0, 0, 1, 2)
    assert c["oldest_age_s"] is None and c["expired_leases"] == 0
    assert 5 <= c["oldest_lease_age_s"] < 35
    assert (coalesced["pending"], coalesced["batches"]) == (7, 2)
    assert 90 <= coalesced["oldest_lease_age_s"] < 120
    # a record waiting for its callback is the oldest work in the pipeline
    assert 200 <= json.loads(result.stdout)["oldest_age_s"] < 230

    text = sfgw(env, "status")
    assert text.returncode == 0, text.stderr
    assert "coalesced callbacks: 7 pending, 2 batches claimed" in text.stdout
    lines = text.stdout.splitlines()
    header = next(line for line in lines if line.startswith("org "))
    for column in ("pending", "due now", "oldest", "batches", "oldest lease", "lease expired"):
        assert column in header
    row_a = next(line for line in lines if line.startswith(ORG_A)).split()
    assert row_a[1:3] == ["4", "4"] and row_a[3] in ("3m", "4m")  # 200+ s
    assert row_a[4:6] == ["1", "3"] and row_a[6].endswith("s") and row_a[7] == "1"
    assert next(line for line in lines if line.startswith(ORG_C)).split()[1:3] == ["0", "0"]

    assert _snapshot(client, redis_prefix) == before  # status only reads


def test_status_says_when_nothing_is_coalesced(
    base_env: dict[str, str], client: redis.Redis, redis_prefix: str
) -> None:
    result = sfgw(base_env, "status", "--json")
    assert result.returncode == 0, result.stderr
    coalesced = json.loads(result.stdout)["coalesced"]
    assert coalesced["orgs"] == [] and (coalesced["pending"], coalesced["batches"]) == (0, 0)
    text = sfgw(base_env, "status")
    assert text.returncode == 0, text.stderr
    assert "coalesced callbacks: none pending, no batches claimed" in text.stdout
    assert list(client.scan_iter(match=f"{redis_prefix}:*")) == []  # and wrote nothing
