"""The coalescer against real Redis and the real mock Salesforce, one flush at a time
(no worker threads), so each batch's outcome can be inspected."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from devstack.mocks import RunningSalesforce, start_mock_salesforce
from gateway.pipeline.actors import retry_policy
from gateway.pipeline.coalesce import CallbackCoalescer, CoalesceSettings, Flusher
from gateway.pipeline.messages import CallbackJob
from gateway.pipeline.settings import PipelineSettings
from gateway.pipeline.stores import DeadLetters
from gateway.pipeline.wiring import build_salesforce
from gateway.salesforce.callbacks import RecordUpdate
from gateway.secrets import SecretBox
from gateway.settings import CoreSettings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSalesforce]:
    sf = start_mock_salesforce(tmp_path_factory.mktemp("sf"), gateway_url=None)
    try:
        yield sf
    finally:
        sf.stop()


def _stack(
    org: RunningSalesforce, base_env: dict[str, str], client: redis.Redis, **extra: str
) -> tuple[Flusher, DeadLetters]:
    env = {
        **base_env,
        "SFGW_CALLBACK_API": extra.pop("api", "collections"),
        "SFGW_SF_LOGIN_URL": org.url,
        "SFGW_SF_CLIENT_ID": "sfgw-client",
        "SFGW_SF_CLIENT_SECRET": "sfgw-secret",
        "SFGW_RETRY_MIN_BACKOFF_MS": "10",
        "SFGW_RETRY_MAX_BACKOFF_MS": "100",
        **extra,
    }
    core = CoreSettings.from_env(env)
    settings = PipelineSettings.from_env(env)
    letters = DeadLetters(client, core)
    coalescer = CallbackCoalescer(
        client=client, core=core, coalesce=CoalesceSettings.from_env(env),
        policy=retry_policy(settings), dead_letters=letters,
    )  # fmt: skip
    salesforce = build_salesforce(settings, core, client, SecretBox(core.require_secret_key()))
    return Flusher(coalescer, lambda: salesforce, settings), letters


def _job(org: RunningSalesforce, oid: str, n: int) -> dict:
    return CallbackJob(
        organization_id=org.org_id, opportunity_id=oid, notification_id=f"04l{n:015d}",
        order_number=f"SO-{n:06d}", order_status="Created",
    ).to_dict()  # fmt: skip


def test_a_batch_is_one_call_and_each_record_is_settled_on_its_own(
    org: RunningSalesforce, base_env: dict[str, str], client: redis.Redis
) -> None:
    flusher, letters = _stack(org, base_env, client, SFGW_CALLBACK_MAX_WAIT_MS="60000")
    coalescer = flusher.coalescer
    ids = org.create_opportunities(200)
    bad = ids[::20]  # 10 records a validation rule rejects
    org.set_faults(validation_fail_ids=bad, lock_probability=0.2)
    try:
        for n, oid in enumerate(ids[:199]):
            coalescer.add(_job(org, oid, n))
        # 199 waiting, the oldest younger than the maximum wait: nothing to send yet
        assert flusher.flush_once(org.org_id)[0] == 0
        assert coalescer.add(_job(org, ids[199], 199)) == 200  # full: due at once
        before = org.api_usage()["api_requests"]
        member, records, _ = coalescer.claim(org.org_id)
        assert member is not None and len(records) == 200
        salesforce = flusher._salesforce()
        outcomes = salesforce.update(org.org_id, [
            RecordUpdate(
                r.job.opportunity_id,
                {"Order_Number__c": r.job.order_number, "Order_Status__c": "Created"})
            for r in records
        ])  # fmt: skip
        settled = coalescer.settle(member, org.org_id, records, outcomes)
        assert org.api_usage()["api_requests"] - before == 1  # one call for 200 records
        # no good record waits for a bad one: every record not locked is saved by this call
        assert settled.dead == 10
        assert settled.done + settled.retried + settled.dead == 200
        assert settled.retried > 0  # about 20 % locked
        saved = {o["Id"] for o in org.opportunities() if o["Order_Number__c"]}
        locked = {o.record_id for o in outcomes if o.code == "UNABLE_TO_LOCK_ROW"}
        assert saved == set(ids) - set(bad) - locked
        reasons = {letter.opportunity_id: letter.reason for letter in letters.iter()}
        assert set(reasons) == set(bad)
        assert all("FIELD_CUSTOM_VALIDATION_EXCEPTION" in r for r in reasons.values())
        # the locked ones are retried (with backoff) until saved
        deadline = time.monotonic() + 30
        while len(saved) < 190 and time.monotonic() < deadline:
            flusher.flush_once(org.org_id, force=True)
            time.sleep(0.05)
            saved = {o["Id"] for o in org.opportunities() if o["Order_Number__c"]}
        assert saved == set(ids) - set(bad)
        assert letters.count() == 10
    finally:
        org.set_faults(validation_fail_ids=[], lock_probability=0.0)


def test_a_claimed_batch_whose_flusher_died_is_sent_again_after_its_lease(
    org: RunningSalesforce, base_env: dict[str, str], client: redis.Redis
) -> None:
    flusher, _ = _stack(
        org, base_env, client, SFGW_CALLBACK_MAX_WAIT_MS="0", SFGW_CALLBACK_LEASE_MS="1000"
    )
    coalescer = flusher.coalescer
    ids = org.create_opportunities(30)
    for n, oid in enumerate(ids):
        coalescer.add(_job(org, oid, 1000 + n))
    member, records, _ = coalescer.claim(org.org_id)  # ... and the flusher dies here
    assert member is not None and len(records) == 30
    assert flusher.flush_once(org.org_id)[0] == 0  # claimed: no second flusher sends them
    assert coalescer.recover_expired() == 0  # lease still running
    time.sleep(1.2)
    assert coalescer.recover_expired() == 30
    assert flusher.flush_once(org.org_id)[0] == 30
    rows = {o["Id"]: o for o in org.opportunities()}
    assert all(rows[oid]["Order_Number__c"] == f"SO-{1000 + n:06d}" for n, oid in enumerate(ids))
    # the dead flusher's late settle finds its batch gone and changes nothing
    coalescer.settle(member, org.org_id, records, RuntimeError("late"))
    assert client.zcard(coalescer.pending_key(org.org_id)) == 0
