"""``sfgw worker`` as a real process group (dramatiq CLI), started by the launcher."""

from __future__ import annotations

import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis
from dramatiq import Message

from gateway.broker import make_broker
from gateway.pipeline.stores import DeadLetters, DoneMarkers
from gateway.settings import CoreSettings
from tests.pipeline.harness import notification

pytestmark = pytest.mark.slow


def _enqueue(core: CoreSettings, payload: dict) -> None:
    broker = make_broker(core)
    try:
        broker.declare_queue("orders")
        broker.enqueue(
            Message(
                queue_name="orders",
                actor_name="process_notification",
                args=(payload,),
                kwargs={},
                options={},
                message_id=str(uuid.uuid4()),
                message_timestamp=int(time.time() * 1000),
            )
        )
    finally:
        broker.close()


def test_worker_processes_jobs_and_exports_metrics(
    sf_env: dict[str, str], core: CoreSettings, client: redis.Redis, tmp_path: Path
) -> None:
    from gateway.pipeline.launch import start_workers

    skipped = notification(1, fields=dict(notification(1).fields, Order_Number__c="SO-123456"))
    broken = notification(2, opp="0015g00000XyZaBAAR")  # an Account id: permanent
    workers = start_workers(
        tmp_path,
        redis_url=core.require_redis_url(),
        redis_prefix=core.redis_prefix,
        env={k: v for k, v in sf_env.items() if k not in ("SFGW_REDIS_URL", "SFGW_REDIS_PREFIX")},
        processes=2,
        threads=2,
    )
    try:
        _enqueue(core, skipped.to_dict())
        _enqueue(core, broken.to_dict())
        done = DoneMarkers(client, core, 1)
        letters = DeadLetters(client, core)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if done.is_done(*skipped.dedupe_key) and letters.count() == 1:
                break
            time.sleep(0.2)
        assert done.is_done(*skipped.dedupe_key), workers.child.log_tail()
        (letter,) = list(letters.iter())
        assert letter.stage == "orders" and "MALFORMED_ID" in letter.reason
        with urllib.request.urlopen(workers.metrics_url, timeout=10) as response:
            text = response.read().decode()
        assert 'sfgw_pipeline_jobs_total{outcome="skipped",stage="orders"} 1.0' in text
        assert 'sfgw_pipeline_jobs_total{outcome="dead_lettered",stage="orders"} 1.0' in text
        assert "dramatiq_messages_total" in text
    finally:
        workers.stop()
    assert not workers.child.running()
