"""A replicated Redis for tests of failover: a master, its replicas and three Sentinels.

Production runs Redis with replicas under Sentinel when an acknowledgement must survive
the loss of a machine (docs/deployment.md). The tests of that -- on loopback here, and
across network namespaces in tests/hosts -- need the same configuration, so it is written
once: :func:`server_argv` and :func:`sentinel_config` say how each server is configured
(wherever it runs), :class:`ReplicatedRedis` runs a group on loopback ports.

Every server has append-only persistence with ``appendfsync always``, as production
should; Sentinels decide quickly (``down_after_ms``) because tests wait for them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from devstack.embedded_redis import redis_server_binary
from devstack.processes import ChildProcess, free_port, wait_for_port

MASTER_NAME = "sfgw"


def server_argv(
    *,
    host: str,
    port: int,
    data_dir: Path,
    replica_of: tuple[str, int] | None = None,
    binary: str | None = None,
) -> list[str]:
    """``redis-server`` bound to ``host:port`` with its files in ``data_dir``."""
    argv = [binary or redis_server_binary(), "--port", str(port), "--bind", host]
    argv += ["--dir", str(data_dir), "--save", "", "--appendonly", "yes"]
    argv += ["--appendfsync", "always", "--protected-mode", "no", "--daemonize", "no"]
    # a replacement replica syncs at once: Valkey (and Redis 7) wait 5 s by default for
    # more replicas to share a diskless sync, which only delays the acks that need it
    argv += ["--repl-diskless-sync-delay", "0"]
    if replica_of is not None:
        argv += ["--replicaof", replica_of[0], str(replica_of[1])]
    return argv


def sentinel_id(name: str) -> str:
    """A fixed Sentinel run id per name: a rebuilt host keeps its Sentinel's identity, so
    the others do not count a vanished one against the failover majority."""
    return hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()


def sentinel_config(
    *,
    name: str,
    host: str,
    port: int,
    master: tuple[str, int],
    data_dir: Path,
    quorum: int = 2,
    down_after_ms: int = 1000,
    failover_timeout_ms: int = 5000,
) -> str:
    """The file a Sentinel starts from (it rewrites it as it learns the topology)."""
    return "\n".join(
        [
            f"port {port}",
            f"bind {host}",
            "protected-mode no",
            f"dir {data_dir}",
            f"sentinel myid {sentinel_id(name)}",
            f"sentinel monitor {MASTER_NAME} {master[0]} {master[1]} {quorum}",
            f"sentinel down-after-milliseconds {MASTER_NAME} {down_after_ms}",
            f"sentinel failover-timeout {MASTER_NAME} {failover_timeout_ms}",
            f"sentinel parallel-syncs {MASTER_NAME} 1",
            "",
        ]
    )


def sentinel_argv(config_path: Path, binary: str | None = None) -> list[str]:
    return [binary or redis_server_binary(), str(config_path), "--sentinel"]


def master_address(sentinels: Sequence[tuple[str, int]]) -> tuple[str, int] | None:
    """The master the first answering Sentinel names (``None``: none answers)."""
    for host, port in sentinels:
        client = redis.Redis(
            host, port, socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
        try:
            found = client.sentinel_get_master_addr_by_name(MASTER_NAME)
        except redis.RedisError:
            continue
        finally:
            client.close()
        if isinstance(found, (tuple, list)):
            address, number = found
            text = address.decode() if isinstance(address, bytes) else str(address)
            return text, int(number)
    return None


@dataclass
class ReplicatedRedis:
    """One master, ``replicas`` replicas and ``sentinels`` Sentinels (three, or none) on
    loopback ports."""

    data_dir: Path
    replicas: int = 1
    sentinel_count: int = 3
    down_after_ms: int = 1000
    host: str = "127.0.0.1"
    servers: dict[int, ChildProcess] = field(default_factory=dict)
    sentinels: dict[int, ChildProcess] = field(default_factory=dict)

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [(self.host, port) for port in self.sentinels]

    @property
    def env(self) -> dict[str, str]:
        """What an sfgw process needs to connect through these Sentinels."""
        listed = ",".join(f"{host}:{port}" for host, port in self.sentinel_addresses)
        return {"SFGW_REDIS_SENTINELS": listed, "SFGW_REDIS_SENTINEL_MASTER": MASTER_NAME}

    def start(self, timeout: float = 20.0) -> ReplicatedRedis:
        try:
            master = self.start_server()
            for _ in range(self.replicas):
                self.start_server(replica_of=(self.host, master))
            for index in range(self.sentinel_count):
                self._start_sentinel(index, master)
            self.wait_replicas(master, self.replicas, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def start_server(self, replica_of: tuple[str, int] | None = None) -> int:
        port = free_port(self.host)
        data = self.data_dir / f"redis-{port}"
        data.mkdir(parents=True, exist_ok=True)
        argv = server_argv(host=self.host, port=port, data_dir=data, replica_of=replica_of)
        child = ChildProcess(f"redis :{port}", argv, log_path=data / "redis.log").start()
        self.servers[port] = child
        wait_for_port(child, self.host, port)
        return port

    def _start_sentinel(self, index: int, master: int) -> None:
        port = free_port(self.host)
        data = self.data_dir / f"sentinel-{index}"
        data.mkdir(parents=True, exist_ok=True)
        config = data / "sentinel.conf"
        config.write_text(
            sentinel_config(
                name=f"sentinel-{index}",
                host=self.host,
                port=port,
                master=(self.host, master),
                data_dir=data,
                down_after_ms=self.down_after_ms,
            )
        )
        child = ChildProcess(
            f"sentinel :{port}", sentinel_argv(config), log_path=data / "sentinel.log"
        ).start()
        self.sentinels[port] = child
        wait_for_port(child, self.host, port)

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(
            self.host, port, socket_timeout=5, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
        )

    def wait_replicas(self, master: int, count: int, timeout: float = 20.0) -> None:
        """Until ``count`` replicas of ``master`` are in sync (``state=online``) and
        acknowledge writes (a replica that just finished its first sync may still be
        loading it: the master calls it online, a ``WAIT`` still times out)."""
        deadline = time.monotonic() + timeout
        client = self.client(master)
        try:
            while True:
                info = client.info("replication")
                online = sum(
                    1
                    for key, value in info.items()
                    if key.startswith("slave") and isinstance(value, dict)
                    and value.get("state") == "online"
                )  # fmt: skip
                if online >= count and _acknowledged(client, count):
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{online} of {count} replicas in sync after {timeout} s")
                time.sleep(0.05)
        finally:
            client.close()

    def master(self) -> int | None:
        """The port the Sentinels name as the master's now."""
        found = master_address(self.sentinel_addresses)
        return None if found is None else found[1]

    def stop(self) -> None:
        for child in [*self.sentinels.values(), *self.servers.values()]:
            child.stop()


def _acknowledged(client: redis.Redis, count: int) -> bool:
    """Whether ``count`` replicas confirm a write within 200 ms (a short-lived probe key
    of the test group's own)."""
    client.set("sfgw-replication-probe", "1", px=1000)
    return int(client.wait(count, 200)) >= count
