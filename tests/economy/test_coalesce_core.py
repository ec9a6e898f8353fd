"""The coalescer against real Redis and the real mock Salesforce, one flush at a time
(no worker threads), so each batch's outcome can be inspected."""

from __future__ import annotations

import time

import pytest
import redis

from devstack.mocks import RunningSalesforce
from gateway.http import requests_session
from gateway.pipeline.callbacks.coalescer import CallbackCoalescer
from gateway.pipeline.callbacks.flushers import Flusher
from gateway.pipeline.callbacks.job import CallbackJob
from gateway.pipeline.callbacks.settings import CallbackSettings
from gateway.pipeline.settings import WorkerSettings
from gateway.pipeline.stores import DeadLetters
from gateway.salesforce.api import RecordUpdate
from gateway.salesforce.client import SalesforceClient, build_client
from gateway.secrets import SecretBox

pytestmark = pytest.mark.slow


def _stack(
    org: RunningSalesforce, sf_env: dict[str, str], client: redis.Redis, **extra: str
) -> tuple[Flusher, SalesforceClient, DeadLetters]:
    env = {
        **sf_env,
        "SFGW_CALLBACK_API": extra.pop("api", "collections"),
        "SFGW_RETRY_MIN_BACKOFF_MS": "10",
        "SFGW_RETRY_MAX_BACKOFF_MS": "100",
        **extra,
    }
    settings = WorkerSettings.from_env(env)
    core = settings.core
    letters = DeadLetters(client, core)
    coalescer = CallbackCoalescer(
        client=client, core=core, coalesce=CallbackSettings.from_env(env),
        policy=settings.pipeline.retry_policy, dead_letters=letters,
    )  # fmt: skip
    salesforce = build_client(
        settings.salesforce, core=core, redis_client=client,
        http=requests_session(settings.proxies, pool_size=4),
        box=SecretBox(core.require_secret_key()),
        partner_wsdl=core.contracts_dir / "salesforce" / "partner.wsdl",
    )  # fmt: skip
    return Flusher(coalescer, lambda: salesforce, settings.salesforce), salesforce, letters


def _job(org: RunningSalesforce, oid: str, n: int) -> CallbackJob:
    return CallbackJob(
        organization_id=org.org_id, opportunity_id=oid, notification_id=f"04l{n:015d}",
        order_number=f"SO-{n:06d}", order_status="Created",
    )  # fmt: skip


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The counters that changed, by how much."""
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def test_a_batch_is_one_call_and_each_record_is_settled_on_its_own(
    mock_sf: RunningSalesforce, sf_env: dict[str, str], client: redis.Redis
) -> None:
    org = mock_sf
    flusher, salesforce, letters = _stack(org, sf_env, client, SFGW_CALLBACK_MAX_WAIT_MS="60000")
    coalescer = flusher.coalescer
    ids = org.create_opportunities(200)
    bad = ids[::20]  # 10 records a validation rule rejects
    locked = ids[5::10]  # 20 others locked for their next two saves
    org.set_faults(validation_fail_ids=bad, lock_ids=dict.fromkeys(locked, 2))
    fired = org.fired()
    for n, oid in enumerate(ids[:199]):
        coalescer.add(_job(org, oid, n))
    # 199 waiting, the oldest younger than the maximum wait: nothing to send yet
    assert flusher.flush_once(org.org_id)[0] == 0
    assert coalescer.add(_job(org, ids[199], 199)) == 200  # full: due at once
    before = org.api_usage()["api_requests"]
    member, records, _ = coalescer.claim(org.org_id)
    assert member is not None and len(records) == 200
    outcomes = salesforce.update(org.org_id, [
        RecordUpdate(
            r.job.opportunity_id,
            {"Order_Number__c": r.job.order_number, "Order_Status__c": "Created"})
        for r in records
    ])  # fmt: skip
    settled = coalescer.settle(member, org.org_id, records, outcomes)
    assert org.api_usage()["api_requests"] - before == 1  # one call for 200 records
    # no good record waits for a bad one: every record not locked is saved by this call
    assert (settled.done, settled.retried, settled.dead) == (170, 20, 10)
    saved = {o["Id"] for o in org.opportunities() if o["Order_Number__c"]}
    assert saved & set(ids) == set(ids) - set(bad) - set(locked)
    assert {o.record_id for o in outcomes if o.code == "UNABLE_TO_LOCK_ROW"} == set(locked)
    reasons = {letter.opportunity_id: letter.reason for letter in letters.iter()}
    assert set(reasons) == set(bad)
    assert all("FIELD_CUSTOM_VALIDATION_EXCEPTION" in r for r in reasons.values())
    # the locked ones are retried (with backoff) until saved: each was refused twice
    deadline = time.monotonic() + 30
    while len(saved & set(ids)) < 190 and time.monotonic() < deadline:
        flusher.flush_once(org.org_id, force=True)
        time.sleep(0.05)
        saved = {o["Id"] for o in org.opportunities() if o["Order_Number__c"]}
    assert saved & set(ids) == set(ids) - set(bad)
    assert letters.count() == 10
    assert moved(fired, org.fired()) == {"lock_error": 40, "validation_error": 10}
    assert org.faults()["lock_ids"] == {}


def test_a_claimed_batch_whose_flusher_died_is_sent_again_after_its_lease(
    mock_sf: RunningSalesforce, sf_env: dict[str, str], client: redis.Redis
) -> None:
    org = mock_sf
    flusher, _, _ = _stack(
        org, sf_env, client, SFGW_CALLBACK_MAX_WAIT_MS="0", SFGW_CALLBACK_LEASE_MS="1000"
    )
    coalescer = flusher.coalescer
    ids = org.create_opportunities(30)
    for n, oid in enumerate(ids):
        coalescer.add(_job(org, oid, 1000 + n))
    member, records, _ = coalescer.claim(org.org_id)  # ... and the flusher dies here
    assert member is not None and len(records) == 30
    assert flusher.flush_once(org.org_id)[0] == 0  # claimed: no second flusher sends them
    assert coalescer.recover_expired() == 0  # lease still running
    recovered, deadline = 0, time.monotonic() + 10
    while recovered == 0 and time.monotonic() < deadline:  # until the 1 s lease ran out
        time.sleep(0.05)
        recovered = coalescer.recover_expired()
    assert recovered == 30
    assert flusher.flush_once(org.org_id)[0] == 30
    rows = {o["Id"]: o for o in org.opportunities()}
    assert all(rows[oid]["Order_Number__c"] == f"SO-{1000 + n:06d}" for n, oid in enumerate(ids))
    # the dead flusher's late settle finds its batch gone and changes nothing
    coalescer.settle(member, org.org_id, records, RuntimeError("late"))
    assert client.zcard(coalescer.pending_key(org.org_id)) == 0
