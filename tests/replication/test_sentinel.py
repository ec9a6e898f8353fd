"""Every kind of sfgw client follows a Sentinel failover without a restart, and how long
that takes: the gateway's intake, Dramatiq's broker (the workers), the pipeline's stores
and the CLI, all built from ``SFGW_REDIS_SENTINELS`` the way their processes build them.

Two failovers: the master killed (Sentinel must first notice, ``down_after_ms``), and a
coordinated ``SENTINEL FAILOVER`` (the old master is demoted and answers ``READONLY``).
The times are printed (``-s``); docs/deployment.md quotes them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from devstack.sentinel import MASTER_NAME, ReplicatedRedis
from gateway.broker import (
    ORDERS_QUEUE,
    PROCESS_NOTIFICATION,
    BrokerSettings,
    QueueReader,
    make_broker,
    message_for,
)
from gateway.pipeline.assembly import redis_client
from gateway.pipeline.cli import _redis as cli_client
from gateway.redis_connection import RedisSettings, connect
from gateway.redis_failover import MasterChanged, fenced_attempt
from gateway.settings import CoreSettings
from tests.intake.messages import ORG, simple_message
from tests.replication.conftest import CONTRACT, intake

DOWN_AFTER_MS = 1000
#: Detection (down_after) + election + promotion + the clients' next connection.
FOLLOW_DEADLINE_S = 15.0

pytestmark = pytest.mark.slow


@pytest.fixture
def group(tmp_path: Path) -> Iterator[ReplicatedRedis]:
    running = ReplicatedRedis(tmp_path / "redis", replicas=1, down_after_ms=DOWN_AFTER_MS)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def coordinated_failover(group: ReplicatedRedis) -> None:
    """``SENTINEL FAILOVER``, again until the Sentinel accepts it (right after start-up
    it may not know the replica yet: NOGOODSLAVE)."""
    sentinel = redis.Redis(*group.sentinel_addresses[0], socket_timeout=5)
    deadline = time.monotonic() + 20
    try:
        while True:
            try:
                sentinel.execute_command("SENTINEL FAILOVER", MASTER_NAME)
                return
            except redis.ResponseError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        sentinel.close()


#: A write, then how to tell it landed on a given server.
Write = Callable[[int], Callable[[redis.Redis], bool]]


def clients(env: dict[str, str]) -> dict[str, Write]:
    """One write per kind of client; each raises while it cannot reach the master."""
    core = CoreSettings.from_env(env)
    gateway = intake({**env, "SFGW_ENQUEUE_TIMEOUT_MS": "500", "SFGW_READY_TIMEOUT_MS": "500"})
    broker = make_broker(core, BrokerSettings.from_env({}))
    broker.declare_queue(ORDERS_QUEUE)
    stores = redis_client(core)
    cli = cli_client(core)

    def ack(n: int) -> Callable[[redis.Redis], bool]:
        message = simple_message(1, start=n)
        result = gateway.simulate_post(
            f"/salesforce/outbound/{CONTRACT}",
            body=message.xml(),
            headers={"Content-Type": "text/xml"},
        )
        if b"<Ack>true</Ack>" not in result.content:
            raise RuntimeError(f"no ack: HTTP {result.status_code}")
        marker = core.key("intake", "dedupe", ORG[:15], message.records[0].notification_id)
        return lambda server: bool(server.exists(marker))

    def enqueue(n: int) -> Callable[[redis.Redis], bool]:
        sent = broker.enqueue(message_for(ORDERS_QUEUE, PROCESS_NOTIFICATION, {"n": n}))
        return lambda server: any(
            m.message_id == sent.message_id
            for m in QueueReader(server, core).stored([ORDERS_QUEUE])
        )

    def setter(client: redis.Redis, name: str) -> Write:
        def write(n: int) -> Callable[[redis.Redis], bool]:
            client.set(core.key("probe", name), n)
            return lambda server: server.get(core.key("probe", name)) == str(n).encode()

        return write

    return {
        "gateway ack": ack,
        "worker broker": enqueue,
        "worker stores": setter(stores, "stores"),
        "cli": setter(cli, "cli"),
    }


def follow_times(
    writes: dict[str, Write], fail: Callable[[], None], group: ReplicatedRedis
) -> tuple[float, dict[str, float]]:
    """Trigger the failover; returns (seconds until the Sentinels named the new master,
    {client: seconds until its first write that landed on the new master}), both from
    the trigger."""
    old = group.master()
    for write in writes.values():
        write(0)  # connected to the old master
    done: dict[str, float] = {}
    new_master: list[redis.Redis] = []
    started = time.monotonic()
    fail()

    def poll(name: str, write: Write) -> None:
        n = 1
        while time.monotonic() - started < FOLLOW_DEADLINE_S:
            n += 1
            try:
                landed = write(n * 1000)
            except Exception:
                time.sleep(0.05)
                continue
            if new_master and landed(new_master[0]):
                done[name] = time.monotonic() - started
                return
            time.sleep(0.02)  # the old master still took it: the switch is under way

    threads = [threading.Thread(target=poll, args=item) for item in writes.items()]
    for thread in threads:
        thread.start()
    switched = None
    while switched is None and time.monotonic() - started < FOLLOW_DEADLINE_S:
        port = group.master()
        if port not in (None, old):
            new_master.append(group.client(port))
            switched = time.monotonic() - started
        time.sleep(0.02)
    for thread in threads:
        thread.join()
    assert switched is not None, "the Sentinels named no new master"
    return switched, done


def check(switched: float, done: dict[str, float], what: str) -> None:
    print(f"\n{what}: Sentinels named the new master after {switched:.2f} s")
    for name, seconds in sorted(done.items()):
        print(f"  {name:14} wrote to it after {seconds:.2f} s ({seconds - switched:+.2f} s)")
    missing = {"gateway ack", "worker broker", "worker stores", "cli"} - set(done)
    assert not missing, f"{sorted(missing)} did not follow within {FOLLOW_DEADLINE_S} s"


def test_clients_follow_when_the_master_dies(group: ReplicatedRedis, prefix: str) -> None:
    env = {**group.env, "SFGW_REDIS_PREFIX": prefix}
    writes = clients(env)
    old = group.master()
    assert old is not None
    switched, done = follow_times(writes, group.servers[old].kill, group)
    check(switched, done, "master SIGKILLed")
    assert group.master() != old


def test_clients_leave_a_demoted_master(group: ReplicatedRedis, prefix: str) -> None:
    env = {**group.env, "SFGW_REDIS_PREFIX": prefix}
    writes = clients(env)
    old = group.master()
    assert old is not None

    switched, done = follow_times(writes, lambda: coordinated_failover(group), group)
    check(switched, done, "coordinated failover")


def test_a_broken_connection_reconnects_where_the_sentinels_say(group: ReplicatedRedis) -> None:
    """A connection that broke mid-command reconnects to the master the Sentinels name,
    not to its old address (where, after a failover, a replica may answer now)."""
    client = connect(RedisSettings.from_env(group.env), timeout_s=2, retries=0)
    master = group.master()
    replica = next(port for port in group.servers if port != master)
    connection = client.connection_pool.get_connection()
    connection.disconnect()
    connection.host, connection.port = "127.0.0.1", replica  # its address went stale
    connection.send_command("SET", "followed", "1")
    assert connection.read_response() == b"OK"
    assert connection.port == master
    client.connection_pool.release(connection)


def test_a_script_writing_on_a_replica_drops_the_connection(group: ReplicatedRedis) -> None:
    """On a demoted master a script's write fails inside the script's error; that too
    is a lost master, not a bad command: the connection goes, a ConnectionError says so."""
    client = connect(RedisSettings.from_env(group.env), timeout_s=2, retries=0)
    replica = next(port for port in group.servers if port != group.master())
    connection = client.connection_pool.get_connection()
    connection.disconnect()
    connection.connect_to(("127.0.0.1", replica))
    connection.send_command("EVAL", "return redis.call('set', KEYS[1], 'x')", 1, "k")
    # Redis wraps the refusal in the script's error, Valkey answers READONLY itself:
    # redis-py's own handling or ours, the connection goes either way
    with pytest.raises(redis.ConnectionError, match=r"replica|slave"):
        connection.read_response()
    assert connection._sock is None


def test_a_worker_takes_a_new_identity_on_a_new_master(group: ReplicatedRedis, prefix: str) -> None:
    """The new master may lack the worker's last acks (a message acked on the old one
    is in this identity's ack set again): the worker gives the identity up, so that
    maintenance hands such messages out again once its heartbeat expires."""
    core = CoreSettings.from_env({**group.env, "SFGW_REDIS_PREFIX": prefix})
    broker = make_broker(core, BrokerSettings.from_env({}))
    broker.declare_queue(ORDERS_QUEUE)
    broker.enqueue(message_for(ORDERS_QUEUE, PROCESS_NOTIFICATION, {"n": 0}))
    before = broker.broker_id
    old = group.master()
    coordinated_failover(group)
    deadline = time.monotonic() + FOLLOW_DEADLINE_S
    while group.master() in (None, old) or broker.broker_id == before:
        assert time.monotonic() < deadline, "no new identity after the failover"
        with contextlib.suppress(redis.RedisError):
            broker.enqueue(message_for(ORDERS_QUEUE, PROCESS_NOTIFICATION, {"n": 1}))
        time.sleep(0.05)
    broker.close()


def test_an_attempt_during_which_the_master_changes_fails(group: ReplicatedRedis) -> None:
    """Its writes before the change may be lost with the old master: the attempt's next
    command raises, so that the job is redone; commands outside attempts go on."""
    client = connect(RedisSettings.from_env(group.env), timeout_s=2, retries=0)
    client.set("fenced", 0)
    old = group.master()
    with fenced_attempt():
        client.set("fenced", 1)
        coordinated_failover(group)
        deadline = time.monotonic() + FOLLOW_DEADLINE_S
        raised: MasterChanged | None = None
        while raised is None and time.monotonic() < deadline:
            try:
                client.set("fenced", 2)
            except MasterChanged as error:
                raised = error
            except redis.ConnectionError:
                pass  # the old master, demoted: not yet noticed
            time.sleep(0.05)
        assert raised is not None, "the attempt went on across the failover"
    assert group.master() != old
    assert client.set("fenced", 3)
