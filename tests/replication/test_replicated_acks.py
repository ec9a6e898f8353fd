"""SFGW_REDIS_MIN_REPLICAS on a real master and replica: an ack waits for the replica, and
so does the ack of a redelivery whose dedupe markers a write on another connection set.

The replica is frozen with SIGSTOP: its connection to the master stays up but it confirms
nothing, the case ``WAIT`` is for (a replica that is slow, or on the losing side of a
partition that has not been noticed yet).

Measured on Redis 6.2 and 7.0: any command, even a read, moves the offset a later ``WAIT``
on that connection waits for, so there a redelivery's ``WAIT`` would cover the first
delivery's write even if the script wrote nothing. The documented contract promises only
the connection's own writes, so the script writes (tested below) and the duplicate test
holds on a server that keeps to the letter of it.
"""

from __future__ import annotations

import time

import falcon.testing
import redis
from lxml import etree

from devstack.sentinel import ReplicatedRedis
from gateway.broker import QueueKeys
from gateway.namespaces import SOAP11_ENVELOPE
from gateway.settings import CoreSettings
from tests.intake.messages import simple_message
from tests.replication.conftest import CONTRACT, intake, stopped

ROUTE = f"/salesforce/outbound/{CONTRACT}"
REPLICA_TIMEOUT_MS = 300


def post(client: falcon.testing.TestClient, body: bytes) -> tuple[bool, float]:
    """(acked?, seconds the reply took); anything else than an ack must be a SOAP fault."""
    started = time.monotonic()
    result = client.simulate_post(
        ROUTE, body=body, headers={"Content-Type": "text/xml; charset=UTF-8"}
    )
    took = time.monotonic() - started
    if result.status_code == 200 and b"<Ack>true</Ack>" in result.content:
        return True, took
    assert result.status_code == 500, result.text[:300]
    fault = etree.fromstring(result.content).find(f".//{{{SOAP11_ENVELOPE}}}Fault")
    assert fault is not None and fault.findtext("faultstring") == (
        "the queue is unavailable; retry later"
    )
    return False, took


def gateway_env(url: str, prefix: str, min_replicas: int) -> dict[str, str]:
    return {
        "SFGW_REDIS_URL": url,
        "SFGW_REDIS_PREFIX": prefix,
        "SFGW_REDIS_MIN_REPLICAS": str(min_replicas),
        "SFGW_REDIS_REPLICA_TIMEOUT_MS": str(REPLICA_TIMEOUT_MS),
    }


def markers(client: redis.Redis, prefix: str) -> set[bytes]:
    return set(client.scan_iter(match=f"{prefix}:intake:dedupe:*", count=1000))


def test_a_duplicate_is_acked_only_once_the_replica_holds_the_first_write(
    pair: ReplicatedRedis, prefix: str
) -> None:
    master, replica = list(pair.servers)
    url = f"redis://127.0.0.1:{master}/0"
    first_gateway = intake(gateway_env(url, prefix, 1))
    second_gateway = intake(gateway_env(url, prefix, 1))
    on_replica = pair.client(replica)

    acked, _ = post(first_gateway, simple_message(3, start=0).xml())
    assert acked, "with the replica in sync the first delivery is acked"
    assert post(second_gateway, simple_message(1, start=50).xml())[0]
    earlier = pair.client(master)
    earlier.set(f"{prefix}:earlier", 1)
    assert earlier.wait(1, REPLICA_TIMEOUT_MS) == 1

    message = simple_message(3, start=100).xml()
    with stopped(pair.servers[replica].pid):
        acked, took = post(first_gateway, message)
        assert not acked and took >= REPLICA_TIMEOUT_MS / 1000
        # The master holds the markers now; the replica does not.
        assert len(markers(pair.client(master), prefix)) == 7
        # The premise: WAIT counts a replica against the connection's own last write,
        # so a connection whose last write was replicated gets 1 at once, although the
        # frozen replica lacks the write above.
        assert earlier.wait(1, REPLICA_TIMEOUT_MS) == 1
        # Salesforce retries through the other gateway: its markers exist, nothing new
        # is enqueued, and still no ack, because the replica has not confirmed them.
        acked, took = post(second_gateway, message)
        assert not acked and took >= REPLICA_TIMEOUT_MS / 1000

    pair.wait_replicas(master, 1)
    acked, _ = post(second_gateway, message)
    assert acked, "once the replica holds the first write the duplicate is acked"
    assert len(markers(on_replica, prefix)) == 7
    keys = QueueKeys.of(CoreSettings.from_env({"SFGW_REDIS_PREFIX": prefix}))
    queued = pair.client(master).llen(keys.ready("orders"))
    assert queued == 7, "the duplicate enqueued nothing a second time"


def test_a_duplicate_writes_its_marker_unchanged(pair: ReplicatedRedis, prefix: str) -> None:
    """The redelivery's script writes (so a WAIT on its connection covers the first
    delivery's write by the documented contract, on any Redis), without changing what
    the marker says or how long it lives."""
    master = next(iter(pair.servers))
    client = pair.client(master)
    gateway = intake(gateway_env(f"redis://127.0.0.1:{master}/0", prefix, 1))
    message = simple_message(1, start=200).xml()
    assert post(gateway, message)[0]
    (key,) = markers(client, prefix)
    value, ttl = client.get(key), client.pttl(key)
    client.config_set("notify-keyspace-events", "K$")  # a "set" event per SET of a key
    events = client.pubsub()
    events.subscribe(f"__keyspace@0__:{key.decode()}")
    assert events.get_message(timeout=5)["type"] == "subscribe"  # type: ignore[index]
    time.sleep(0.05)  # let the lifetime run down measurably before the redelivery
    assert post(gateway, message)[0]
    event = events.get_message(timeout=5)
    assert event is not None and event["data"] == b"set", "the redelivery wrote nothing"
    assert client.get(key) == value
    assert 0 < client.pttl(key) <= ttl
    events.close()


def test_without_min_replicas_a_duplicate_writes_nothing(
    pair: ReplicatedRedis, prefix: str
) -> None:
    """No WAIT follows, so the rewrite would buy nothing and cost an fsync per marker."""
    master = next(iter(pair.servers))
    client = pair.client(master)
    gateway = intake(gateway_env(f"redis://127.0.0.1:{master}/0", prefix, 0))
    message = simple_message(1, start=250).xml()
    assert post(gateway, message)[0]
    (key,) = markers(client, prefix)
    client.config_set("notify-keyspace-events", "K$")
    events = client.pubsub()
    events.subscribe(f"__keyspace@0__:{key.decode()}")
    assert events.get_message(timeout=5)["type"] == "subscribe"  # type: ignore[index]
    assert post(gateway, message)[0]
    assert events.get_message(timeout=1) is None, "the redelivery wrote its marker"
    events.close()


def test_without_min_replicas_the_ack_does_not_wait(pair: ReplicatedRedis, prefix: str) -> None:
    master, replica = list(pair.servers)
    gateway = intake(gateway_env(f"redis://127.0.0.1:{master}/0", prefix, 0))
    with stopped(pair.servers[replica].pid):
        acked, took = post(gateway, simple_message(2, start=300).xml())
    assert acked and took < REPLICA_TIMEOUT_MS / 1000
